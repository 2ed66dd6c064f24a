//! Drawing the frame: the header, the breadcrumbs, the status line and the key hints, with
//! the screen on top in between (each screen draws itself), then a form or the help over
//! it. Reads the model, never changes it, never queries. Every string from the database
//! goes through [`crate::text::sanitize`] before it reaches the terminal.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{Input, Model, Screen};
use super::keymap;
use super::widgets::{DrawCtx, Theme, clean};
use crate::domain::fmt_date;

/// Below this the screen shows only a one-line message.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;
/// At or above this the full layout is used; between, columns collapse.
pub const FULL_WIDTH: u16 = 110;

/// Draws the whole screen.
pub fn view(m: &Model, f: &mut Frame<'_>) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "Terminal too small ({}x{}): casewatch needs {MIN_WIDTH}x{MIN_HEIGHT}. q quits.",
            area.width, area.height
        );
        f.render_widget(
            Paragraph::new(msg).wrap(Wrap { trim: true }),
            Rect {
                height: area.height.min(2),
                ..area
            },
        );
        return;
    }
    let dc = DrawCtx {
        theme: Theme { color: m.color },
        mask: m.mask,
        region: &m.region,
        as_of: m.as_of,
        size: m.size,
    };
    let [header, crumbs, body, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let theme = &dc.theme;
    draw_header(m, f, header, theme);
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("» ", theme.dim()),
            Span::raw(m.breadcrumbs()),
        ])),
        crumbs,
    );
    match m.screen() {
        Screen::Overview => m.overview.draw(f, body, &dc),
        Screen::Pdu { code, name } => m.pdu.draw(code, name, f, body, &dc),
        Screen::Case { .. } => m.case.draw(f, body, &dc),
        Screen::Alerts => m.alerts.draw(f, body, &dc),
        Screen::Members { incident } => m.members.draw(incident, f, body, &dc),
    }
    draw_status(m, f, status, theme);
    draw_hints(m, f, hints, theme);
    if let Some(p) = &m.popup {
        p.draw(f, area, &dc);
    }
    if let Some(h) = &m.help {
        h.draw(m.context_for_hints(), f, area, theme);
    }
}

fn loading(m: &Model) -> bool {
    match m.screen() {
        Screen::Overview => m.region.loading,
        Screen::Pdu { .. } => m.pdu.loading(),
        Screen::Case { .. } => m.case.loading,
        Screen::Alerts | Screen::Members { .. } => m.region.loading,
    }
}

fn draw_header(m: &Model, f: &mut Frame<'_>, area: Rect, theme: &Theme) {
    let region = m
        .region
        .data
        .as_ref()
        .map(|o| clean(&o.region))
        .unwrap_or_else(|| "…".into());
    let mut spans = vec![
        Span::styled("casewatch", theme.header()),
        Span::raw(format!(" │ {region} │ as of {} │ ", fmt_date(m.as_of))),
        Span::styled(clean(&m.db_label), theme.dim()),
    ];
    if m.read_only {
        spans.push(Span::styled(" │ READ-ONLY", theme.bad()));
    }
    if m.mask {
        spans.push(Span::raw(" │ names masked"));
    }
    if loading(m) {
        spans.push(Span::raw(" │ loading…"));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_status(m: &Model, f: &mut Frame<'_>, area: Rect, theme: &Theme) {
    let table = match m.screen() {
        Screen::Pdu { .. } => m.pdu.filter_status(),
        _ => None,
    };
    let text = match m.screen() {
        Screen::Overview => m.overview.filter.clone(),
        Screen::Alerts => m.alerts.filter.clone(),
        _ => table.map(|(t, _)| t.to_string()).unwrap_or_default(),
    };
    // A term that cannot be read is said in words, and the rows are those of the last
    // filter that could.
    let error = table.and_then(|(_, e)| e);
    let line = if m.input == Input::Filter {
        let mut spans = vec![
            Span::styled("filter: ", theme.header()),
            Span::raw(clean(&text)),
            Span::styled("█", theme.dim()),
        ];
        // The error, if any, is on the hint line below, where it has the whole width.
        if error.is_none() && text.is_empty() && table.is_some() {
            spans.push(Span::styled(
                "  e.g. smith rosh:high+ mappa:2 tier:A team:x unallocated",
                theme.dim(),
            ));
        }
        Line::from(spans)
    } else if let Some(msg) = &m.message {
        Line::from(Span::styled(clean(msg), theme.dim()))
    } else if let Some(e) = error {
        // The error first: on a narrow screen the end of the line is cut.
        Line::from(vec![
            Span::styled(format!("✗ {}", clean(e)), theme.bad()),
            Span::raw(format!(" · filter: {}", clean(&text))),
        ])
    } else if text.is_empty() {
        Line::default()
    } else {
        Line::from(format!("filter: {} (Esc clears)", clean(&text)))
    };
    f.render_widget(Paragraph::new(line), area);
}

fn draw_hints(m: &Model, f: &mut Frame<'_>, area: Rect, theme: &Theme) {
    let mut spans = Vec::new();
    let filter_error = match m.screen() {
        Screen::Pdu { .. } => m.pdu.filter_status().and_then(|(_, e)| e),
        _ => None,
    };
    if m.input == Input::Filter
        && let Some(e) = filter_error
    {
        spans.push(Span::styled(format!("✗ {}", clean(e)), theme.bad()));
    } else if m.input == Input::Filter {
        spans.push(Span::raw(
            "typing a filter: Enter keep · Esc clear · Backspace delete",
        ));
    } else if m.popup.is_some() {
        spans.push(Span::raw("a form is open: Esc cancels without writing"));
    } else {
        // Help and quit always show; the rest as far as the width allows.
        let mut hints: Vec<&keymap::Binding> = keymap::bindings_for(m.context_for_hints())
            .filter(|b| b.hint)
            .collect();
        // On the incidents, `!` would lead where the screen already is.
        if matches!(m.screen(), Screen::Alerts | Screen::Members { .. }) {
            hints.retain(|b| b.action != keymap::Action::ShowAlerts);
        }
        hints.sort_by_key(|b| !matches!(b.action, keymap::Action::Help | keymap::Action::Quit));
        let mut used = 0usize;
        for b in hints {
            let text = format!("{} {}", b.label, b.short());
            let need = text.chars().count() + if used > 0 { 3 } else { 0 };
            if used + need > area.width as usize {
                break;
            }
            if used > 0 {
                spans.push(Span::styled(" · ", theme.dim()));
            }
            spans.push(Span::styled(b.label, theme.header()));
            spans.push(Span::raw(format!(" {}", b.short())));
            used += need;
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
