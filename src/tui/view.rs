//! Drawing: reads the model, never changes it, never queries. Every string from the database
//! goes through [`crate::text::sanitize`] before it reaches the terminal.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::app::{AllocateFocus, AllocatePopup, Input, Model, Popup, Screen, SilenceField};
use super::keymap;
use super::widgets::{DrawCtx, Theme, clean, popup_rect};
use crate::actions;
use crate::domain::fmt_date;
use crate::rules::Level;

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
    let theme = Theme { color: m.color };
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
    draw_header(m, f, header, &theme);
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
    draw_status(m, f, status, &theme);
    draw_hints(m, f, hints, &theme);
    draw_popup(m, f, area, &theme);
    if m.help {
        draw_help(m, f, area, &theme);
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
        Screen::Pdu { .. } => m.pdu.table(),
        _ => None,
    };
    let text = match m.screen() {
        Screen::Overview => m.overview.filter.clone(),
        Screen::Alerts => m.alerts.filter.clone(),
        _ => table.map(|t| t.filter.clone()).unwrap_or_default(),
    };
    // A term that cannot be read is said in words, and the rows are those of the last
    // filter that could.
    let error = table.and_then(|t| t.filter_error.as_deref());
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
        Screen::Pdu { .. } => m.pdu.table().and_then(|t| t.filter_error.as_deref()),
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

/// A person's name as the screen may show it: sanitised, and initials only when masked.
fn person(m: &Model, name: &str) -> String {
    if m.mask {
        crate::text::masked_name(name)
    } else {
        clean(name)
    }
}

/// Where the "not suitable" divider goes among the visible rows, if anywhere.
fn divider_at(p: &AllocatePopup, picker: &actions::Picker) -> Option<usize> {
    let visible = p.visible();
    let first_unsuitable = visible.iter().position(|&i| i >= picker.suitable)?;
    Some(first_unsuitable)
}

/// A capacity figure, already in percent.
fn cap_pct(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0}%")).unwrap_or_else(|| "-".into())
}

/// The allocation form: the case and its holder, the officers (suitable first, then the
/// rest below a divider with their reason), the reason, the rationale and the keys.
#[allow(clippy::too_many_arguments)]
fn allocate_form<'a>(
    m: &Model,
    p: &'a AllocatePopup,
    wide: bool,
    theme: &Theme,
    head: &mut Vec<Line<'a>>,
    list: &mut Vec<Line<'a>>,
    foot: &mut Vec<Line<'a>>,
) {
    let (name_w, team_w) = if wide { (20, 14) } else { (12, 8) };
    let on = |f: AllocateFocus| if p.focus == f { "▶ " } else { "  " };
    match &p.picker {
        Some(pk) => {
            let c = &pk.case;
            let risk = format!(
                "tier {}, RoSH {}{}",
                c.tier.map(|t| t.as_str()).unwrap_or("-"),
                c.rosh.map(|r| r.as_str()).unwrap_or("none"),
                if c.mappa.is_mappa() {
                    format!(", MAPPA cat {} level {}", c.mappa.category, c.mappa.level)
                } else {
                    String::new()
                }
            );
            head.push(Line::raw(format!("Case {} · {risk}", clean(&c.crn))));
            head.push(Line::raw(match (&pk.holder, &c.allocated_to) {
                (Some(h), _) => format!(
                    "Held by {} {} ({}, {} cases, {}) since {}: this is a REALLOCATION",
                    clean(&h.staff_code),
                    person(m, &h.name),
                    h.grade,
                    h.caseload,
                    cap_pct(h.capacity_now),
                    c.allocated_on
                        .map(crate::domain::fmt_date)
                        .unwrap_or_else(|| "-".into())
                ),
                (None, Some(code)) => format!("Held by {}: this is a REALLOCATION", clean(code)),
                (None, None) => format!(
                    "Unallocated since {}",
                    c.unallocated_since
                        .map(crate::domain::fmt_date)
                        .unwrap_or_else(|| "-".into())
                ),
            }));
        }
        None => head.push(Line::raw(format!("Case {}", clean(&p.crn)))),
    }
    head.push(Line::raw(format!(
        "Reason (←/→): {}",
        p.reason.as_str().replace('_', " ")
    )));
    head.push(Line::raw(format!(
        "{}Find (/): {}",
        on(AllocateFocus::Filter),
        clean(&p.filter)
    )));
    head.push(Line::styled(
        format!(
            "   {:<9} {:<name_w$} {:<5} {:<team_w$} {:>5} {:>5} {:>4} {:>5} {:>5}",
            "Staff", "Name", "Grade", "Team", "Hours", "Cases", "High", "Now", "After"
        ),
        theme.header(),
    ));
    let Some(pk) = &p.picker else {
        list.push(Line::raw("loading practitioners…"));
        return;
    };
    let visible = p.visible();
    if visible.is_empty() {
        list.push(Line::raw(if pk.candidates.is_empty() {
            "no practitioner of this PDU can take cases"
        } else {
            "no officer matches the filter"
        }));
    }
    let divider = divider_at(p, pk);
    if divider == Some(0) {
        list.push(Line::styled(
            "── no suitable officer: every one below breaks a rule (see why) ──",
            theme.bad(),
        ));
    }
    for (row, &i) in visible.iter().enumerate() {
        let Some(c) = pk.candidates.get(i) else {
            continue;
        };
        if divider == Some(row) && row > 0 {
            list.push(Line::styled(
                "── not suitable under the allocation rules ──",
                theme.dim(),
            ));
        }
        let mark = if !c.is_suitable() {
            "✗"
        } else if c.previously_managed_until.is_some() {
            "↺"
        } else if !c.warnings.is_empty() {
            "!"
        } else {
            " "
        };
        let name: String = person(m, &c.name).chars().take(name_w).collect();
        let team: String = clean(c.team.as_deref().unwrap_or("-"))
            .chars()
            .take(team_w)
            .collect();
        // The pointer says which row is chosen without relying on the highlight's colour.
        let pointer = if row == p.selected { "▶" } else { " " };
        let line = format!(
            "{pointer}{mark} {:<9} {:<name_w$} {:<5} {:<team_w$} {:>5.1} {:>5} {:>4} {:>5} {:>5}",
            clean(&c.staff_code),
            name,
            c.grade.as_str(),
            team,
            c.contracted_hours,
            c.caseload,
            c.high_risk_cases,
            cap_pct(c.capacity_now),
            cap_pct(c.capacity_after)
        );
        list.push(if row == p.selected {
            Line::styled(line, theme.selected())
        } else if c.is_suitable() {
            Line::raw(line)
        } else {
            Line::styled(line, theme.dim())
        });
    }
    if let Some(changed) = &p.changed {
        // Said first, in full (the foot wraps): nothing was written and the list below is
        // the case as it is now.
        foot.push(Line::styled(
            format!("CHANGED, nothing written: {}", clean(changed)),
            theme.bad(),
        ));
    }
    if let Some(c) = p.chosen() {
        if let Some(until) = c.previously_managed_until {
            foot.push(Line::raw(format!(
                "Previously managed by {} (until {})",
                clean(&c.staff_code),
                crate::domain::fmt_date(until)
            )));
        }
        for w in &c.not_suitable {
            foot.push(Line::styled(
                format!("NOT SUITABLE: {}", clean(w)),
                theme.bad(),
            ));
        }
        for w in &c.warnings {
            foot.push(Line::styled(format!("WARNING: {}", clean(w)), theme.bad()));
        }
    }
    foot.push(Line::from(vec![
        Span::styled(
            format!("{}Rationale (Tab): ", on(AllocateFocus::Rationale)),
            theme.header(),
        ),
        Span::raw(clean(&p.note)),
        Span::styled(
            if p.focus == AllocateFocus::Rationale {
                "█"
            } else {
                ""
            },
            theme.dim(),
        ),
        Span::raw(format!(
            "  · sensitive (s): {}",
            if p.sensitive { "yes" } else { "no" }
        )),
    ]));
    if let Some(e) = &p.error {
        foot.push(Line::styled(
            format!("Not allocated: {}", clean(e)),
            theme.bad(),
        ));
    }
    foot.push(Line::raw(if p.confirming {
        "Enter again to allocate despite the above · Esc cancel"
    } else {
        match p.focus {
            AllocateFocus::List => {
                "j/k g/G PgUp/PgDn choose · / find · ←/→ reason · Tab rationale · s sensitive · Enter allocate · Esc cancel"
            }
            AllocateFocus::Filter => "type to find · Enter back to the list · Esc clear",
            AllocateFocus::Rationale => {
                "type the rationale · ↑/↓ choose · ←/→ reason · Tab back to the list · Enter allocate · Esc cancel"
            }
        }
    }));
}

fn draw_popup(m: &Model, f: &mut Frame<'_>, area: Rect, theme: &Theme) {
    let Some(popup) = &m.popup else { return };
    // A form is a head (what and how), a list that scrolls, and a foot (warnings, keys)
    // that always stays in view.
    let mut head: Vec<Line> = Vec::new();
    let mut list: Vec<Line> = Vec::new();
    let mut foot: Vec<Line> = Vec::new();
    // The picker's columns need more than 78 columns; other forms keep to 78.
    let wide = matches!(popup, Popup::Allocate(_)) && area.width >= 100;
    let (title, selected) = match popup {
        Popup::Allocate(p) => {
            allocate_form(m, p, wide, theme, &mut head, &mut list, &mut foot);
            let sel = p.selected
                + usize::from(
                    p.picker
                        .as_ref()
                        .is_some_and(|pk| divider_at(p, pk).is_some_and(|d| p.selected >= d)),
                );
            (" Allocate ", sel)
        }
        Popup::Oversight(p) => {
            head.push(Line::raw(format!(
                "Case {}. Kind (←/→): {} · sensitive (Tab): {}",
                clean(&p.crn),
                p.kind,
                if p.sensitive { "yes" } else { "no" }
            )));
            head.push(Line::styled("Recorded by (↑/↓):", theme.header()));
            match &p.spos {
                None => list.push(Line::raw("loading SPOs…")),
                Some(s) if s.is_empty() => list.push(Line::raw("this PDU has no SPO in post")),
                Some(s) => {
                    for (i, (code, name)) in s.iter().enumerate() {
                        let line = format!(" {} {}", clean(code), person(m, name));
                        list.push(if i == p.selected {
                            Line::styled(line, theme.selected())
                        } else {
                            Line::raw(line)
                        });
                    }
                }
            }
            foot.push(Line::from(vec![
                Span::styled("Note: ", theme.header()),
                Span::raw(clean(&p.note)),
                Span::styled("█", theme.dim()),
            ]));
            if let Some(e) = &p.error {
                foot.push(Line::styled(
                    format!("Not recorded: {}", clean(e)),
                    theme.bad(),
                ));
            }
            foot.push(Line::raw(
                "type the note · ↑/↓ SPO · ←/→ kind · Tab sensitive · Enter record · Esc cancel",
            ));
            (" Record management oversight ", p.selected)
        }
        Popup::Ack(p) => {
            head.push(Line::raw(clean(&p.what)));
            foot.push(Line::from(vec![
                Span::styled("Note: ", theme.header()),
                Span::raw(clean(&p.note)),
                Span::styled("█", theme.dim()),
            ]));
            if let Some(e) = &p.error {
                foot.push(Line::styled(
                    format!("Not acknowledged: {}", clean(e)),
                    theme.bad(),
                ));
            }
            foot.push(Line::raw(
                "it stays listed, marked, until it gets worse · Enter acknowledge · Esc cancel",
            ));
            (" Acknowledge ", 0)
        }
        Popup::Silence(p) => {
            head.push(Line::raw(match &p.crn {
                Some(crn) => format!(
                    "Rule {} in PDU {}, case {} only",
                    clean(&p.rule),
                    clean(&p.pdu),
                    clean(crn)
                ),
                None => format!(
                    "Rule {} in PDU {} (the whole incident)",
                    clean(&p.rule),
                    clean(&p.pdu)
                ),
            }));
            let field = |label: &str, value: &str, on: bool| {
                let mut spans = vec![
                    Span::styled(if on { "▶ " } else { "  " }, theme.header()),
                    Span::styled(label.to_string(), theme.header()),
                    Span::raw(clean(value)),
                ];
                if on {
                    spans.push(Span::styled("█", theme.dim()));
                }
                Line::from(spans)
            };
            foot.push(field(
                "Until (YYYY-MM-DD): ",
                &p.until,
                p.field == SilenceField::Until,
            ));
            foot.push(field(
                "Reason: ",
                &p.reason,
                p.field == SilenceField::Reason,
            ));
            if let Some(e) = &p.error {
                foot.push(Line::styled(
                    format!("Not silenced: {}", clean(e)),
                    theme.bad(),
                ));
            }
            foot.push(Line::raw(
                "still listed and counted, marked SILENCED; it wakes nobody until then (90 days at most)",
            ));
            foot.push(Line::raw("Tab next field · Enter silence · Esc cancel"));
            (" Silence ", 0)
        }
        Popup::Note(p) => {
            head.push(Line::raw(format!(
                "Case {} · sensitive (Tab): {}",
                clean(&p.crn),
                if p.sensitive { "yes" } else { "no" }
            )));
            foot.push(Line::from(vec![
                Span::styled("Note: ", theme.header()),
                Span::raw(clean(&p.text)),
                Span::styled("█", theme.dim()),
            ]));
            foot.push(Line::raw("type the note · Enter save · Esc cancel"));
            (" Add a note ", 0)
        }
    };
    let width = if wide { 112 } else { 78 }.min(area.width.saturating_sub(2));
    let inner_w = usize::from(width.saturating_sub(2)).max(1);
    // Rows a wrapped line takes.
    let rows = |ls: &[Line]| -> u16 {
        ls.iter()
            .map(|l| l.width().max(1).div_ceil(inner_w) as u16)
            .sum()
    };
    let foot_rows = rows(&foot);
    let total = head.len() as u16 + list.len() as u16 + foot_rows + 2;
    let rect = popup_rect(area, width, total);
    f.render_widget(Clear, rect);
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let [head_area, list_area, foot_area] = Layout::vertical([
        Constraint::Length(head.len() as u16),
        Constraint::Min(1),
        Constraint::Length(foot_rows),
    ])
    .areas(inner);
    // Keep the selected row of the list in view.
    let scroll = (selected + 1).saturating_sub(list_area.height as usize) as u16;
    f.render_widget(Paragraph::new(head), head_area);
    f.render_widget(Paragraph::new(list).scroll((scroll, 0)), list_area);
    f.render_widget(Paragraph::new(foot).wrap(Wrap { trim: false }), foot_area);
}

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
fn help_lines(ctx: keymap::Context, theme: &Theme, scrolls: bool) -> Vec<Line<'static>> {
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
    if ctx == keymap::Context::Pdu {
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

/// How many lines the help overlay of `ctx` has (the model scrolls it when the screen is
/// shorter).
pub fn help_line_count(ctx: keymap::Context) -> usize {
    help_lines(ctx, &Theme { color: false }, false).len()
}

fn draw_help(m: &Model, f: &mut Frame<'_>, area: Rect, theme: &Theme) {
    let ctx = m.context_for_hints();
    let scrolls = super::app::help_overflow(ctx, area.height) > 0;
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
    let scroll = m.help_scroll.min(total.saturating_sub(shown));
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

#[cfg(test)]
mod tests {
    use super::*;
    use keymap::Context;

    /// The model scrolls the help by its line count, so no line may wrap: each fits the
    /// overlay's 70 inner columns.
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
