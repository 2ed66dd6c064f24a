//! Forms over the current screen, one file each, each owning its state, its keys and its
//! drawing. A form takes every key while open; Esc it does not take closes it (see
//! [`EventState`]). The help overlay is here too.

pub mod ack;
pub mod allocate;
pub mod help;
pub mod note;
pub mod oversight;
pub mod silence;

use crossterm::event::{KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::event::{Ctx, EventState};
use super::widgets::{DrawCtx, popup_rect};
use super::worker::Request;
pub use ack::AckPopup;
pub use allocate::{AllocateFocus, AllocatePopup, PICKER_PAGE};
pub use help::Help;
pub use note::NotePopup;
pub use oversight::OversightPopup;
pub use silence::{SilenceField, SilencePopup};

/// A form over the current screen; it takes every key until closed.
#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Allocate(AllocatePopup),
    Oversight(OversightPopup),
    Note(NotePopup),
    Ack(AckPopup),
    Silence(SilencePopup),
}

impl Popup {
    /// A key for the form. Esc, when the form does not take it, is the app's: it closes the
    /// form. Every other key is the form's.
    pub fn key(&mut self, k: KeyEvent, cx: &mut Ctx) -> EventState {
        match self {
            Popup::Allocate(p) => p.key(k, cx),
            Popup::Oversight(p) => p.key(k, cx),
            Popup::Note(p) => p.key(k, cx),
            Popup::Ack(p) => p.key(k, cx),
            Popup::Silence(p) => p.key(k, cx),
        }
    }

    /// A write this form sent was refused: why, shown in the form.
    pub fn refused(&mut self, why: &str) {
        match self {
            Popup::Allocate(p) => p.refused(why),
            Popup::Oversight(p) => p.error = Some(why.to_string()),
            Popup::Ack(p) => p.error = Some(why.to_string()),
            Popup::Note(_) | Popup::Silence(_) => {}
        }
    }

    /// The case changed since the form opened and nothing was written: the form says what
    /// changed and asks for the case as it is now (`generation` for that answer), keeping
    /// what was typed. `pdu` is the PDU on screen, whose SPOs the oversight form lists.
    pub fn conflict(
        &mut self,
        what: String,
        generation: u64,
        pdu: Option<String>,
    ) -> Option<Request> {
        match self {
            Popup::Allocate(p) => Some(p.conflict(what, generation)),
            Popup::Oversight(p) => p.conflict(what, generation, pdu),
            _ => None,
        }
    }

    /// Draws the form in the middle of `area`.
    pub fn draw(&self, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
        // The picker's columns need more than 78 columns; other forms keep to 78.
        let wide = matches!(self, Popup::Allocate(_)) && area.width >= 100;
        let form = match self {
            Popup::Allocate(p) => p.form(wide, dc),
            Popup::Oversight(p) => p.form(dc),
            Popup::Note(p) => p.form(dc),
            Popup::Ack(p) => p.form(dc),
            Popup::Silence(p) => p.form(dc),
        };
        form.draw(f, area, wide);
    }
}

/// A form as drawn: a head (what and how), a list that scrolls, and a foot (warnings,
/// keys) that always stays in view.
pub struct Form {
    pub title: &'static str,
    pub head: Vec<Line<'static>>,
    pub list: Vec<Line<'static>>,
    pub foot: Vec<Line<'static>>,
    /// The row of `list` to keep in view.
    pub selected: usize,
}

impl Form {
    pub fn new(title: &'static str) -> Form {
        Form {
            title,
            head: Vec::new(),
            list: Vec::new(),
            foot: Vec::new(),
            selected: 0,
        }
    }

    /// The note being typed, with its cursor, at the foot.
    pub fn note_field(&mut self, note: &str, theme: &super::widgets::Theme) {
        self.foot.push(Line::from(vec![
            Span::styled("Note: ", theme.header()),
            Span::raw(super::widgets::clean(note)),
            Span::styled("█", theme.dim()),
        ]));
    }

    /// Why the last attempt wrote nothing ("Not recorded: ..."), at the foot, if it did not.
    pub fn refusal(&mut self, what: &str, error: Option<&str>, theme: &super::widgets::Theme) {
        if let Some(e) = error {
            self.foot.push(Line::styled(
                format!("{what}: {}", super::widgets::clean(e)),
                theme.bad(),
            ));
        }
    }

    fn draw(self, f: &mut Frame<'_>, area: Rect, wide: bool) {
        let width = if wide { 112 } else { 78 }.min(area.width.saturating_sub(2));
        let inner_w = usize::from(width.saturating_sub(2)).max(1);
        // Rows a wrapped line takes.
        let rows = |ls: &[Line]| -> u16 {
            ls.iter()
                .map(|l| l.width().max(1).div_ceil(inner_w) as u16)
                .sum()
        };
        let foot_rows = rows(&self.foot);
        let total = self.head.len() as u16 + self.list.len() as u16 + foot_rows + 2;
        let rect = popup_rect(area, width, total);
        f.render_widget(Clear, rect);
        let block = Block::default().borders(Borders::ALL).title(self.title);
        let inner = block.inner(rect);
        f.render_widget(block, rect);
        let [head_area, list_area, foot_area] = Layout::vertical([
            Constraint::Length(self.head.len() as u16),
            Constraint::Min(1),
            Constraint::Length(foot_rows),
        ])
        .areas(inner);
        // Keep the selected row of the list in view.
        let scroll = (self.selected + 1).saturating_sub(list_area.height as usize) as u16;
        f.render_widget(Paragraph::new(self.head), head_area);
        f.render_widget(Paragraph::new(self.list).scroll((scroll, 0)), list_area);
        f.render_widget(
            Paragraph::new(self.foot).wrap(Wrap { trim: false }),
            foot_area,
        );
    }
}

/// Adds a typed character to a text field, refusing control characters and runaway length.
pub fn push_text(field: &mut String, c: char, mods: KeyModifiers) {
    if !mods.contains(KeyModifiers::CONTROL)
        && !crate::text::is_unsafe(c)
        && field.chars().count() < crate::actions::MAX_NOTE
    {
        field.push(c);
    }
}

/// The value `step` places from `cur` in `all`, wrapping round.
pub fn cycle<T: Copy + PartialEq>(all: &[T], cur: T, step: i64) -> T {
    let i = all.iter().position(|x| *x == cur).unwrap_or(0) as i64;
    let n = all.len() as i64;
    all[((i + step).rem_euclid(n)) as usize]
}
