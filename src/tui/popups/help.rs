//! The help overlay: the keys of the screen on top (from the keymap, so it cannot disagree
//! with what the keys do), the case tables' filter terms, the status ladder. It scrolls when
//! taller than the screen.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::rules::Level;
use crate::tui::event::EventState;
use crate::tui::keymap::{self, Action, Context};
use crate::tui::widgets::Theme;

/// The help overlay, open, and how far it is scrolled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Help {
    /// First line shown, when the help is taller than the screen.
    pub scroll: u16,
}

impl Help {
    /// Moves scroll a help taller than the screen. Any other key is not taken: it closes
    /// the help, and is not also what it would be on the screen (q still quits).
    pub fn key(&mut self, k: &KeyEvent, ctx: Context, height: u16) -> EventState {
        let most = help_overflow(ctx, height);
        let page = height.saturating_sub(6).max(1);
        let step: Option<i32> = match keymap::action_for(k, ctx) {
            Some(Action::Down) => Some(1),
            Some(Action::Up) => Some(-1),
            Some(Action::PageDown) => Some(i32::from(page)),
            Some(Action::PageUp) => Some(-i32::from(page)),
            _ => None,
        };
        match step {
            Some(step) if most > 0 => {
                let s = (i32::from(self.scroll) + step).clamp(0, i32::from(most));
                self.scroll = s as u16;
                EventState::Consumed
            }
            _ => EventState::NotConsumed,
        }
    }

    /// The keys of `ctx` in a box in the middle of `area`, with where it is when it scrolls.
    pub fn draw(&self, ctx: Context, f: &mut Frame<'_>, area: Rect, theme: &Theme) {
        let scrolls = help_overflow(ctx, area.height) > 0;
        let lines = help_lines(ctx, theme, scrolls);
        let total = lines.len() as u16;
        let w = area.width.saturating_sub(4).min(72);
        let hgt = (total + 2).min(area.height.saturating_sub(2));
        let popup = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + (area.height.saturating_sub(hgt)) / 2,
            width: w,
            height: hgt,
        };
        let shown = hgt.saturating_sub(2);
        let scroll = self.scroll.min(total.saturating_sub(shown));
        let mut block = Block::default()
            .borders(Borders::ALL)
            .title(" Help: keys ")
            .title_alignment(Alignment::Center);
        if total > shown {
            // Taller than the screen: say where we are and how to see the rest, in words.
            let more = if scroll + shown < total {
                format!(" j/↓ more ({}-{} of {total}) ", scroll + 1, scroll + shown)
            } else {
                format!(" k/↑ back ({}-{} of {total}) ", scroll + 1, scroll + shown)
            };
            block = block.title_bottom(Line::from(more).alignment(Alignment::Center));
        }
        f.render_widget(Clear, popup);
        f.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false })
                .scroll((scroll, 0)),
            popup,
        );
    }
}

/// How many lines the help overlay of `ctx` is taller than a screen `height` high can show.
pub fn help_overflow(ctx: Context, height: u16) -> u16 {
    let lines = help_line_count(ctx);
    // Two border lines, and the popup leaves a line above and below.
    let room = usize::from(height.saturating_sub(4));
    lines.saturating_sub(room).min(usize::from(u16::MAX)) as u16
}

/// How many lines the help overlay of `ctx` has (it scrolls when the screen is shorter).
pub fn help_line_count(ctx: Context) -> usize {
    help_lines(ctx, &Theme { color: false }, false).len()
}

/// The overview's columns of the inspection's other checks, wide and narrow headings.
const SHARES_HELP: [&str; 3] = [
    "  DA enq, DA     domestic-abuse enquiries made, of those due",
    "  Rel cont, Rel  releases in the last 12 weeks with contact before",
    "  Backlog, Bklg  custody cases with the initial assessment overdue",
];

/// A PDU's tabs by number, for the help overlay (each line under 70 characters).
const TAB_HELP: [&str; 3] = [
    "  1 Today  2 Unallocated  3 MAPPA  4 Oversight overdue  5 Contacts",
    "  6 Staffing  7 Risk checks  8 Custody & release (7, 8: worst first)",
    "  9 Support: who needs support; Enter a caseload, v service by group",
];

/// The filter terms of a PDU's case tables, for the help overlay (each line under 70
/// characters, so no line wraps and the overlay's height is its line count).
const FILTER_HELP: [&str; 5] = [
    "  words        each must be in the CRN, name or team (any case)",
    "  rosh:high    or low, medium, very_high; high+ is high or above; none",
    "  mappa:2      level 2 (2+ is 2 or 3); mappa:c1 category 1; any; none",
    "  tier:A       band A; tier:A3 (with A3S); team:north team contains it",
    "  unallocated  allocated    e.g.  rosh:high+ mappa:any unallocated",
];

/// The help overlay's lines for a screen: its keys (only those that work there, two short
/// ones to a line), the case tables' filter terms on a PDU, the status ladder.
fn help_lines(ctx: Context, theme: &Theme, scrolls: bool) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = Vec::new();
    let all: Vec<&keymap::Binding> = keymap::bindings_for(ctx).collect();
    let short = |b: &keymap::Binding| b.help.chars().count() <= 24;
    let mut i = 0;
    while i < all.len() {
        let b = all[i];
        let mut spans = vec![
            Span::styled(format!("{:<8}", b.label), theme.header()),
            Span::raw(b.help.to_string()),
        ];
        i += 1;
        if short(b)
            && let Some(next) = all.get(i).filter(|n| short(n))
        {
            spans[1] = Span::raw(format!("{:<26}", b.help));
            spans.push(Span::styled(format!("{:<8}", next.label), theme.header()));
            spans.push(Span::raw(next.help.to_string()));
            i += 1;
        }
        lines.push(Line::from(spans));
    }
    if ctx == Context::Overview {
        lines.push(Line::styled(
            "The inspection's other checks, per PDU (- when none to count):",
            theme.header(),
        ));
        lines.extend(SHARES_HELP.iter().map(|l| Line::raw(*l)));
    }
    if ctx == Context::Pdu {
        lines.push(Line::styled(
            "Tabs (1-9; Tab and S-Tab step through them):",
            theme.header(),
        ));
        lines.extend(TAB_HELP.iter().map(|l| Line::raw(*l)));
        lines.push(Line::styled(
            "Filter terms, all must hold (\"quotes\" keep spaces):",
            theme.header(),
        ));
        lines.extend(FILTER_HELP.iter().map(|l| Line::raw(*l)));
    }
    lines.push(Line::styled("PDU status, worst first:", theme.header()));
    for (level, words) in [
        (
            Level::OrganisationalAlert,
            "the unit cannot keep people safe: act now",
        ),
        (Level::Critical, "a PDU rule says act today"),
        (Level::Warning, "a gap to watch"),
        (Level::Ok, "no PDU rule holds (case alerts never set it)"),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<14}", level.label()), theme.status(level)),
            Span::raw(words),
        ]));
    }
    lines.push(Line::raw(if scrolls {
        "j/k scroll; any other key closes this help."
    } else {
        "Any key closes this help."
    }));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The help scrolls by its line count, so no line may wrap: each fits the overlay's 70
    /// inner columns.
    #[test]
    fn no_help_line_wraps() {
        for ctx in [
            Context::Overview,
            Context::Pdu,
            Context::Case,
            Context::Alerts,
            Context::Members,
        ] {
            for scrolls in [false, true] {
                for line in help_lines(ctx, &Theme { color: false }, scrolls) {
                    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
                    assert!(
                        unicode_width::UnicodeWidthStr::width(text.trim_end()) <= 70,
                        "{ctx:?}: {text}"
                    );
                }
            }
        }
    }
}
