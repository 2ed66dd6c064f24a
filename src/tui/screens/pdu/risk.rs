//! The Risk checks tab: the PDU's cases with an enquiry or an assessment overdue, most days
//! first, what is overdue in words.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::list::ListTable;
use crate::risk_lists::{CheckRow, Listed};
use crate::tui::screens::visible_rows;
use crate::tui::view::FULL_WIDTH;
use crate::tui::widgets::{DrawCtx, Theme, clean, error_block, fit};

/// The rows on screen, the place and the selected case's checks in full below them; or why
/// there are none.
pub fn draw(t: &ListTable<CheckRow>, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
    let theme = &dc.theme;
    if let Some(e) = &t.error {
        return error_block(f, area, e, theme);
    }
    let Some(total) = t.total else {
        f.render_widget(
            Paragraph::new("Checking every case of the PDU for enquiries and assessments overdue…"),
            area,
        );
        return;
    };
    if total == 0 {
        f.render_widget(
            Paragraph::new(t.empty_words("No case has an enquiry or an assessment overdue.")),
            area,
        );
        return;
    }
    let wide = area.width >= FULL_WIDTH;
    let mut widths: Vec<u16> = vec![7, if wide { 16 } else { 12 }, 9, 5];
    let mut head = vec!["CRN", "Name", "RoSH", "MAPPA"];
    if wide {
        widths.extend([4, 15]);
        head.extend(["Tier", "Practitioner"]);
    }
    widths.push(5);
    head.extend(["Days↓", "Overdue (worst first)"]);
    // The words take what is left: the columns, a space between each, the marker.
    let used: u16 = widths.iter().sum::<u16>() + widths.len() as u16 + 1;
    let words_w = area.width.saturating_sub(used).max(10);
    widths.push(words_w);
    let page = visible_rows(dc.size.1);
    let end = (t.scroll + page).min(total);
    let rows: Vec<Row> = (t.scroll..end)
        .map(|i| match t.row(i) {
            Some(r) => check_row(r, wide, usize::from(words_w), dc),
            None => Row::new(vec![Cell::from("…"), Cell::from("loading")]),
        })
        .collect();
    let [table_area, foot] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let table = Table::new(rows, widths.into_iter().map(Constraint::Length))
        .header(Row::new(head).style(theme.header()))
        .row_highlight_style(theme.selected())
        .highlight_symbol("▶")
        .column_spacing(1);
    let mut state =
        TableState::default().with_selected(Some((t.selected - t.scroll.min(t.selected)) as usize));
    f.render_stateful_widget(table, table_area, &mut state);
    let mut line = format!("row {} of {total}", t.selected + 1);
    if let Some(r) = t.selected_row() {
        line.push_str(&format!(" · ▶ {}", r.phrases(true).join(", ")));
    }
    f.render_widget(
        Paragraph::new(fit(&line, usize::from(area.width))).style(theme.dim()),
        foot,
    );
}

fn check_row(r: &CheckRow, wide: bool, words_w: usize, dc: &DrawCtx) -> Row<'static> {
    let theme = &dc.theme;
    let c = &r.case;
    let mut cells = vec![
        Cell::from(clean(&c.crn)),
        Cell::from(dc.person(&c.name)),
        rosh_cell(c, theme),
        Cell::from(c.mappa.to_string()),
    ];
    if wide {
        cells.push(Cell::from(clean(&c.tier)));
        cells.push(practitioner_cell(c, dc));
    }
    cells.push(Cell::from(r.days().to_string()));
    cells.push(Cell::from(fit_phrases(&r.phrases(false), words_w)));
    Row::new(cells)
}

/// The RoSH level in words, marked when high or unknown (the words say which).
pub fn rosh_cell(c: &Listed, theme: &Theme) -> Cell<'static> {
    let text = c.rosh.map(|r| r.as_str()).unwrap_or("NO ROSH");
    Cell::from(text).style(if c.rosh.is_none_or(|x| x.is_high()) {
        theme.bad()
    } else {
        Style::new()
    })
}

/// Who holds the case: the practitioner's name (initials when masked), or UNALLOCATED.
pub fn practitioner_cell(c: &Listed, dc: &DrawCtx) -> Cell<'static> {
    match (&c.practitioner, &c.allocated_to) {
        (Some(name), _) => Cell::from(dc.person(name)),
        (None, Some(code)) => Cell::from(clean(code)),
        (None, None) => Cell::from("UNALLOCATED").style(dc.theme.bad()),
    }
}

/// The phrases joined within `width` characters: in full; else without the word
/// "enquiry" ("DA not requested", which the column's other phrases make plain); else as
/// many as fit and how many more (the line under the table has them all).
fn fit_phrases(phrases: &[String], width: usize) -> String {
    let fits = |s: &String| s.chars().count() <= width;
    let all = phrases.join(", ");
    if fits(&all) {
        return all;
    }
    let short: Vec<String> = phrases
        .iter()
        .map(|p| {
            p.replace(" enquiries not ", " not ")
                .replace(" enquiry not ", " not ")
        })
        .collect();
    let joined = short.join(", ");
    if fits(&joined) {
        return joined;
    }
    for more in [" more)", ")"] {
        for n in (1..short.len()).rev() {
            let some = format!("{} (+{}{more}", short[..n].join(", "), short.len() - n);
            if fits(&some) {
                return some;
            }
        }
    }
    fit(&joined, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_that_do_not_fit_are_shortened_then_say_how_many_more() {
        let p = [
            "DA & safeguarding enquiries not requested".to_string(),
            "initial assessment".into(),
        ];
        assert_eq!(
            fit_phrases(&p, 61),
            "DA & safeguarding enquiries not requested, initial assessment"
        );
        assert_eq!(
            fit_phrases(&p, 51),
            "DA & safeguarding not requested, initial assessment"
        );
        assert_eq!(
            fit_phrases(&p, 45),
            "DA & safeguarding not requested (+1 more)"
        );
        assert_eq!(fit_phrases(&p, 36), "DA & safeguarding not requested (+1)");
        assert_eq!(fit_phrases(&p, 10).chars().count(), 10);
    }
}
