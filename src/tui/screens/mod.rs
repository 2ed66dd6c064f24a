//! One module per screen, each owning its state, its keys and its drawing. The app keeps the
//! stack of screens and routes messages; a screen asks for what it cannot do itself (a query,
//! another screen) through [`super::event::Ctx`].

pub mod alerts;
pub mod case;
pub mod members;
pub mod overview;
pub mod pdu;

use super::keymap::Action;

/// Lines of the screen that are not table rows (header, status, tabs, table header, hint
/// bar...).
pub const CHROME_ROWS: u16 = 10;

/// How many table rows fit on a screen of this height.
pub fn visible_rows(height: u16) -> u64 {
    u64::from(height.saturating_sub(CHROME_ROWS).max(1))
}

/// How far a move goes, in rows, on a screen `height` high; None for an action that is not a
/// move.
pub fn move_delta(action: Action, height: u16) -> Option<i64> {
    Some(match action {
        Action::Up => -1,
        Action::Down => 1,
        Action::PageUp => -(visible_rows(height) as i64),
        Action::PageDown => visible_rows(height) as i64,
        Action::Top => i64::MIN / 2,
        Action::Bottom => i64::MAX / 2,
        _ => return None,
    })
}

/// Row `cur` moved by `delta` within a list of `len` rows.
pub fn step(cur: u64, len: u64, delta: i64) -> u64 {
    if len == 0 {
        return 0;
    }
    (cur as i64).saturating_add(delta).clamp(0, len as i64 - 1) as u64
}

/// [`step`] for a list indexed by `usize`.
pub fn step_index(cur: usize, len: usize, delta: i64) -> usize {
    step(cur as u64, len as u64, delta) as usize
}
