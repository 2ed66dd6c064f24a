//! The Custody & release tab: the PDU's custody and licence cases around release (the last
//! and the next 12 weeks, and any past its handover date with no practitioner), worst
//! first: the handover date and who holds the case, the release, and the contact and
//! assessment before it.

use chrono::NaiveDate;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::list::ListTable;
use super::risk::{practitioner_cell, rosh_cell};
use crate::domain::fmt_date;
use crate::risk_checks::Status;
use crate::risk_lists::{ReleaseRow, Stage, days_words};
use crate::tui::screens::visible_rows;
use crate::tui::view::FULL_WIDTH;
use crate::tui::widgets::{DrawCtx, clean, error_block, fit};

/// Width of the offender manager column: "HANDOVER OVERDUE 9999d" (one less on a narrow
/// screen, where days past 999 are cut).
const COM_WIDTH: u16 = 22;

/// The rows on screen, the place and the selected case's release checks in full below them;
/// or why there are none.
pub fn draw(t: &ListTable<ReleaseRow>, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
    let theme = &dc.theme;
    if let Some(e) = &t.error {
        return error_block(f, area, e, theme);
    }
    let Some(total) = t.total else {
        f.render_widget(
            Paragraph::new("Checking the custody and licence cases around release…"),
            area,
        );
        return;
    };
    if total == 0 {
        f.render_widget(
            Paragraph::new(t.empty_words(
                "No release in the last or the next 12 weeks, and no case past its handover \
                 date without a practitioner.",
            )),
            area,
        );
        return;
    }
    let wide = area.width >= FULL_WIDTH;
    // The name takes what the other columns leave; None marks it.
    let (mut widths, head): (Vec<Option<u16>>, Vec<&str>) = if wide {
        (
            vec![
                Some(7),
                None,
                Some(9),
                Some(5),
                Some(10),
                Some(COM_WIDTH),
                Some(10),
                Some(9),
                Some(7),
                Some(10),
            ],
            vec![
                "CRN",
                "Name",
                "RoSH",
                "MAPPA",
                "Handover",
                "Offender manager",
                "Release",
                "When",
                "Contact",
                "Assessment",
            ],
        )
    } else {
        (
            vec![
                Some(7),
                None,
                Some(COM_WIDTH - 1),
                Some(10),
                Some(8),
                Some(7),
                Some(7),
            ],
            vec![
                "CRN",
                "Name",
                "Offender manager",
                "Release",
                "When",
                "Contact",
                "Assess",
            ],
        )
    };
    let used: u16 = widths.iter().flatten().sum::<u16>() + widths.len() as u16 + 1;
    let name_w = area.width.saturating_sub(used).max(6);
    for w in &mut widths {
        w.get_or_insert(name_w);
    }
    let page = visible_rows(dc.size.1);
    let end = (t.scroll + page).min(total);
    let rows: Vec<Row> = (t.scroll..end)
        .map(|i| match t.row(i) {
            Some(r) => release_row(r, wide, dc),
            None => Row::new(vec![Cell::from("…"), Cell::from("loading")]),
        })
        .collect();
    let [table_area, foot] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let table = Table::new(rows, widths.into_iter().flatten().map(Constraint::Length))
        .header(Row::new(head).style(theme.header()))
        .row_highlight_style(theme.selected())
        .highlight_symbol("▶")
        .column_spacing(1);
    let mut state =
        TableState::default().with_selected(Some((t.selected - t.scroll.min(t.selected)) as usize));
    f.render_stateful_widget(table, table_area, &mut state);
    let mut line = format!("row {} of {total}", t.selected + 1);
    if let Some(r) = t.selected_row() {
        line.push_str(&format!(" · ▶ {}", detail(r, dc.as_of)));
    }
    f.render_widget(
        Paragraph::new(fit(&line, usize::from(area.width))).style(theme.dim()),
        foot,
    );
}

fn release_row(r: &ReleaseRow, wide: bool, dc: &DrawCtx) -> Row<'static> {
    let c = &r.case;
    let mut cells = vec![Cell::from(clean(&c.crn)), Cell::from(dc.person(&c.name))];
    if wide {
        cells.push(rosh_cell(c, &dc.theme));
        cells.push(Cell::from(c.mappa.to_string()));
        cells.push(Cell::from(
            r.handover
                .map(|h| fmt_date(h.due))
                .unwrap_or_else(|| "-".into()),
        ));
    }
    cells.push(manager_cell(r, dc));
    cells.push(Cell::from(fmt_date(r.release)));
    cells.push(Cell::from(when(r.days_to_release)));
    cells.push(stage_cell(&r.contact, dc));
    cells.push(stage_cell(&r.assessment, dc));
    Row::new(cells)
}

/// Who holds the case at handover: HANDOVER OVERDUE in words when nobody does past the
/// date, how long until it falls due when it has not yet, else the practitioner.
fn manager_cell(r: &ReleaseRow, dc: &DrawCtx) -> Cell<'static> {
    match r.handover.map(|h| (h.status, h.due)) {
        Some((Status::Overdue { days }, _)) => {
            Cell::from(format!("HANDOVER OVERDUE {days}d")).style(dc.theme.bad())
        }
        Some((Status::Due, due)) if r.case.allocated_to.is_none() => Cell::from(format!(
            "none yet, due {}",
            in_days((due - dc.as_of).num_days())
        )),
        _ => practitioner_cell(&r.case, dc),
    }
}

/// done, due, or MISSING (marked, and said in capitals: never by colour alone).
fn stage_cell(s: &Stage, dc: &DrawCtx) -> Cell<'static> {
    match s.status {
        Status::Met { .. } => Cell::from("done"),
        Status::Due => Cell::from("due"),
        Status::Overdue { .. } => Cell::from("MISSING").style(dc.theme.bad()),
    }
}

/// "in 12d", "today", "5d ago".
fn when(days: i64) -> String {
    match days {
        0 => "today".into(),
        d if d > 0 => format!("in {d}d"),
        d => format!("{}d ago", -d),
    }
}

fn in_days(days: i64) -> String {
    match days {
        0 => "today".into(),
        d => format!("in {d}d"),
    }
}

/// The selected case's handover and pre-release checks in words, with the dates the row
/// does not show, for the line below.
fn detail(r: &ReleaseRow, as_of: NaiveDate) -> String {
    let mut parts = Vec::new();
    if let Some(h) = r.handover {
        let date = fmt_date(h.due);
        parts.push(match h.status {
            Status::Overdue { days } => format!(
                "handover {date}: OVERDUE by {}, no practitioner",
                days_words(days)
            ),
            Status::Due => format!(
                "handover {date}: no practitioner yet, {} to go",
                days_words((h.due - as_of).num_days())
            ),
            Status::Met { on } if on <= h.due => format!("handover {date}: allocated"),
            Status::Met { on } => format!("handover {date}: allocated late, {}", fmt_date(on)),
        });
    }
    for (what, s) in [("contact", &r.contact), ("assessment", &r.assessment)] {
        parts.push(match s.status {
            Status::Met { on } => format!("{what} {}", fmt_date(on)),
            Status::Due => format!("{what} due by {}", fmt_date(s.due)),
            Status::Overdue { .. } => format!("{what} MISSING"),
        });
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_to_release_read_as_words() {
        assert_eq!(when(0), "today");
        assert_eq!(when(12), "in 12d");
        assert_eq!(when(-5), "5d ago");
    }
}
