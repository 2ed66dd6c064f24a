//! The Staffing tab: vacancy per grade, and each practitioner's caseload and capacity.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use crate::report::pct;
use crate::store::read::{GradeStaffing, PractitionerRow};
use crate::tui::app::{Gens, Slot};
use crate::tui::view::FULL_WIDTH;
use crate::tui::widgets::{DrawCtx, Theme, clean, error_block};
use crate::tui::worker::{Request, StaffingData};

/// A text bar: `██████░░░░` for a fraction of `width` cells.
pub fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

#[derive(Debug, Clone, Default)]
pub struct Staffing {
    pub data: Option<StaffingData>,
    pub selected: usize,
    pub loading: bool,
    pub error: Option<String>,
}

impl Staffing {
    pub fn request(&mut self, pdu: &str, gens: &mut Gens) -> Request {
        let generation = gens.stamp(Slot::Staffing);
        self.loading = true;
        Request::Staffing {
            generation,
            pdu: pdu.to_string(),
        }
    }

    pub fn loaded(&mut self, result: Result<StaffingData, crate::tui::worker::Failure>) {
        self.loading = false;
        match result {
            Ok(d) => {
                self.error = None;
                let n = d.practitioners.len();
                self.data = Some(d);
                self.selected = self.selected.min(n.saturating_sub(1));
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// How many practitioners are listed.
    pub fn row_count(&self) -> usize {
        self.data.as_ref().map_or(0, |d| d.practitioners.len())
    }

    /// Vacancy per grade above, the practitioners below.
    pub fn draw(&self, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
        let theme = &dc.theme;
        if let Some(e) = &self.error {
            return error_block(f, area, e, theme);
        }
        let Some(d) = &self.data else {
            f.render_widget(Paragraph::new("Loading staffing…"), area);
            return;
        };
        let grade_rows = d.grades.len() as u16 + 1;
        let [grades_area, people_area] =
            Layout::vertical([Constraint::Length(grade_rows + 1), Constraint::Min(3)]).areas(area);
        let bar_w = if area.width >= FULL_WIDTH { 30 } else { 14 };
        draw_grades(&d.grades, bar_w, f, grades_area, theme);
        let wide = area.width >= FULL_WIDTH;
        let people: Vec<Row> = d
            .practitioners
            .iter()
            .map(|p| practitioner_row(p, wide, dc))
            .collect();
        let mut head = vec!["Staff", "Name", "Grade", "Status", "Cases", "Cap", "Over"];
        let mut widths = vec![
            Constraint::Length(9),
            Constraint::Min(12),
            Constraint::Length(5),
            Constraint::Length(14),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(4),
        ];
        if wide {
            head.push("High-risk");
            widths.push(Constraint::Length(9));
        }
        let mut state = TableState::default().with_selected(Some(self.selected));
        f.render_stateful_widget(
            Table::new(people, widths)
                .header(Row::new(head).style(theme.header()))
                .row_highlight_style(theme.selected())
                .highlight_symbol("▶")
                .column_spacing(1),
            people_area,
            &mut state,
        );
    }
}

fn draw_grades(
    grades: &[GradeStaffing],
    bar_w: usize,
    f: &mut Frame<'_>,
    area: Rect,
    theme: &Theme,
) {
    let rows: Vec<Row> = grades
        .iter()
        .map(|g| {
            let v = g.vacancy_rate.unwrap_or(0.0);
            Row::new(vec![
                Cell::from(g.grade.as_str()),
                Cell::from(format!("{:.1}", g.target_fte)),
                Cell::from(format!("{:.1}", g.in_post_fte)),
                Cell::from(format!("{} {}", bar(v, bar_w), pct(g.vacancy_rate)))
                    .style(if v >= 0.3 { theme.bad() } else { Style::new() }),
                Cell::from(format!("{:.1}", g.detached_in_fte)),
            ])
        })
        .collect();
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(5),
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Length(bar_w as u16 + 6),
                Constraint::Length(9),
            ],
        )
        .header(
            Row::new(["Grade", "Target", "In post", "Vacancy", "Detached"]).style(theme.header()),
        )
        .column_spacing(1),
        area,
    );
}

fn practitioner_row(p: &PractitionerRow, wide: bool, dc: &DrawCtx) -> Row<'static> {
    let cap = p.capacity_pct;
    let over = cap.is_some_and(|c| c > 100.0);
    let mut cells = vec![
        Cell::from(clean(&p.staff_code)),
        Cell::from(dc.person(&p.name)),
        Cell::from(p.grade.as_str()),
        Cell::from(p.status.as_str()),
        Cell::from(p.caseload.to_string()),
        Cell::from(
            cap.map(|c| format!("{c:.0}%"))
                .unwrap_or_else(|| "-".into()),
        ),
        Cell::from(if over { "OVER" } else { "" }).style(dc.theme.bad()),
    ];
    if wide {
        cells.push(Cell::from(p.high_risk_cases.to_string()));
    }
    Row::new(cells)
}
