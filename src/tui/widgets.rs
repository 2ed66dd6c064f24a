//! What every screen's and popup's drawing shares: the theme, what a view may read besides its
//! own state, and the small pieces (sanitised text, the error block, the detail pane).

use chrono::NaiveDate;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::region::Region;
use crate::rules::{Level, Severity};
use crate::text::sanitize;

/// A string from the database, made safe for the terminal.
pub fn clean(s: &str) -> String {
    sanitize(s).into_owned()
}

/// `s` sanitised and cut to `width` characters, with `…` when cut.
pub fn fit(s: &str, width: usize) -> String {
    crate::text::quote_value(s, width.saturating_sub(1).max(1))
}

pub fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn status(&self, s: Level) -> Style {
        if !self.color {
            return match s {
                Level::OrganisationalAlert | Level::Critical => {
                    Style::new().add_modifier(Modifier::BOLD)
                }
                _ => Style::new(),
            };
        }
        match s {
            Level::OrganisationalAlert => Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            Level::Critical => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            Level::Warning => Style::new().fg(Color::Yellow),
            Level::Ok => Style::new().fg(Color::Green),
        }
    }
    pub fn severity(&self, s: Severity) -> Style {
        self.status(match s {
            Severity::Critical => Level::Critical,
            Severity::High => Level::Warning,
            Severity::Warning => Level::Ok,
        })
    }
    pub fn header(&self) -> Style {
        let s = Style::new().add_modifier(Modifier::BOLD);
        if self.color { s.fg(Color::Cyan) } else { s }
    }
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn bad(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Red)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }
}

/// What a view may read besides its own state: the theme, whether names are masked, the
/// region, the date and the size of the screen.
pub struct DrawCtx<'a> {
    pub theme: Theme,
    pub mask: bool,
    pub region: &'a Region,
    pub as_of: NaiveDate,
    pub size: (u16, u16),
}

impl DrawCtx<'_> {
    /// A person's name as the screen may show it: sanitised, and initials only when masked.
    pub fn person(&self, name: &str) -> String {
        if self.mask {
            crate::text::masked_name(name)
        } else {
            clean(name)
        }
    }
}

pub fn error_block(f: &mut Frame<'_>, area: Rect, e: &str, theme: &Theme) {
    f.render_widget(
        Paragraph::new(vec![
            Line::styled("Could not load this view:", theme.bad()),
            Line::raw(clean(e)),
            Line::raw("Press r to try again."),
        ])
        .wrap(Wrap { trim: true }),
        area,
    );
}

/// Rows a paragraph of these lines takes when wrapped to `width` (a little generous: word
/// wrap can leave a line short).
fn wrapped_rows(lines: &[String], width: u16) -> u16 {
    let w = usize::from(width.max(1));
    lines
        .iter()
        .map(|l| {
            // Greedy word wrap, as the paragraph does it; a word longer than the width
            // breaks over rows of its own.
            let (mut rows, mut used) = (1u16, 0usize);
            for word in l.split(' ') {
                let n = word.chars().count();
                let need = if used == 0 { n } else { used + 1 + n };
                if need <= w {
                    used = need;
                    continue;
                }
                if used > 0 {
                    rows += 1;
                }
                rows += (n.div_ceil(w) as u16).saturating_sub(1);
                used = if n % w == 0 { w } else { n % w };
            }
            rows
        })
        .sum()
}

/// A pane under a list with the selected item in full: a top border with a title, then the
/// lines wrapped. Takes at most half of `area`; returns what is left above it.
pub fn detail_pane(
    f: &mut Frame<'_>,
    area: Rect,
    title: &str,
    lines: Vec<String>,
    theme: &Theme,
) -> Rect {
    let want = wrapped_rows(&lines, area.width) + 1;
    let h = want.min(area.height / 2).max(2);
    let [top, pane] = Layout::vertical([Constraint::Min(1), Constraint::Length(h)]).areas(area);
    let text: Vec<Line> = lines.into_iter().map(Line::raw).collect();
    f.render_widget(
        Paragraph::new(text)
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(Span::styled(title.to_string(), theme.header())),
            )
            .wrap(Wrap { trim: false }),
        pane,
    );
    top
}

/// A box of `w` by `h` in the middle of `area`, leaving a cell around it.
pub fn popup_rect(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
