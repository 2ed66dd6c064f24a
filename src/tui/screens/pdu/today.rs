//! The Today tab: the PDU's ranked worklist, what to do first this morning.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use crate::incidents::WorkItem;
use crate::tui::app::{Gens, Slot};
use crate::tui::view::FULL_WIDTH;
use crate::tui::widgets::{DrawCtx, clean, error_block};
use crate::tui::worker::{Request, TodayData};

/// The Today tab: the PDU's ranked worklist.
#[derive(Debug, Clone, Default)]
pub struct Today {
    pub data: Option<TodayData>,
    pub selected: usize,
    pub loading: bool,
    pub error: Option<String>,
}

impl Today {
    pub fn request(&mut self, pdu: &str, gens: &mut Gens) -> Request {
        let generation = gens.stamp(Slot::Today);
        self.loading = true;
        Request::Today {
            generation,
            pdu: pdu.to_string(),
        }
    }

    pub fn loaded(&mut self, result: Result<Option<TodayData>, crate::tui::worker::Failure>) {
        self.loading = false;
        match result {
            Ok(Some(d)) => {
                self.error = None;
                let n = d.actions.len();
                self.data = Some(d);
                self.selected = self.selected.min(n.saturating_sub(1));
            }
            Ok(None) => self.error = Some("this PDU is no longer in the database".into()),
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// How many lines the worklist has.
    pub fn row_count(&self) -> usize {
        self.data.as_ref().map_or(0, |d| d.actions.len())
    }

    pub fn selected_item(&self) -> Option<&WorkItem> {
        self.data.as_ref()?.actions.get(self.selected)
    }

    /// The ranked worklist, then what else is waiting, per task, and the selected line in
    /// full.
    pub fn draw(&self, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
        let theme = &dc.theme;
        if let Some(e) = &self.error {
            return error_block(f, area, e, theme);
        }
        let Some(d) = &self.data else {
            f.render_widget(Paragraph::new("Loading this morning's worklist…"), area);
            return;
        };
        // What is not on screen, per task.
        let mut rest = Vec::new();
        for (task, total) in &d.totals {
            let shown = d
                .actions
                .iter()
                .filter(|w| w.task.as_str() == *task)
                .count() as u64;
            rest.push(format!("{task} {}", total.saturating_sub(shown)));
        }
        let rest = format!("{} more not shown: {}", d.more, rest.join(" · "));
        // Six tasks do not fit one line of a narrow terminal: the line gets a second row
        // rather than taking the selected line's second row away.
        let rest_rows = rest
            .chars()
            .count()
            .div_ceil(usize::from(area.width.max(1)))
            .clamp(1, 2) as u16;
        let [table_area, foot] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(rest_rows + 2)]).areas(area);
        if d.actions.is_empty() {
            f.render_widget(
                Paragraph::new("Nothing on the worklist: no unallocated high-risk case; on high-risk cases no contact, risk assessment, oversight or enquiry overdue; nobody over capacity."),
                table_area,
            );
        } else {
            self.draw_table(d, f, table_area, dc);
        }
        let (what, why) = self
            .selected_item()
            .map(|w| (clean(&w.what), clean(&w.why)))
            .unwrap_or_default();
        f.render_widget(
            Paragraph::new(vec![
                Line::styled(rest, theme.dim()),
                Line::raw(format!("▶ {what}: {why}")),
            ])
            .wrap(Wrap { trim: false }),
            foot,
        );
    }

    fn draw_table(&self, d: &TodayData, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
        let theme = &dc.theme;
        let wide = area.width >= FULL_WIDTH;
        let rows: Vec<Row> = d
            .actions
            .iter()
            .enumerate()
            .map(|(i, w)| {
                Row::new(vec![
                    Cell::from(format!("{:>2}", i + 1)),
                    Cell::from(w.task.as_str()),
                    Cell::from(clean(
                        w.crn.as_deref().or(w.staff_code.as_deref()).unwrap_or("-"),
                    )),
                    Cell::from(clean(&w.what)),
                    Cell::from(clean(&w.why)),
                    Cell::from(w.days.to_string()),
                ])
            })
            .collect();
        let what = d
            .actions
            .iter()
            .map(|w| w.what.chars().count())
            .max()
            .unwrap_or(4)
            .clamp(4, 34) as u16;
        let widths = [
            Constraint::Length(2),
            Constraint::Length(8),
            Constraint::Length(9),
            if wide {
                Constraint::Length(what)
            } else {
                Constraint::Fill(2)
            },
            Constraint::Fill(3),
            Constraint::Length(4),
        ];
        let mut state = TableState::default().with_selected(Some(self.selected));
        f.render_stateful_widget(
            Table::new(rows, widths)
                .header(
                    Row::new(["#", "Task", "Subject", "What", "Why", "Days"]).style(theme.header()),
                )
                .row_highlight_style(theme.selected())
                .highlight_symbol("▶")
                .column_spacing(1),
            area,
            &mut state,
        );
    }
}
