//! `c` on a PDU: one tested figure over the recorded nights (ratatui's Chart), with each
//! rule's threshold as a line across it, named and valued under the chart so that it never
//! rests on colour; j/k step through the figures. `casewatch chart` writes the same as SVG.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

use crate::chart::Series;
use crate::forecast::metric_words;
use crate::rules::format_metric;
use crate::tui::app::{Gens, Slot};
use crate::tui::widgets::{DrawCtx, clean, error_block, fit};
use crate::tui::worker::{Failure, Request};

#[derive(Debug, Clone, Default)]
pub struct ChartView {
    pub open: bool,
    pub series: Option<Vec<Series>>,
    /// The figure on screen.
    pub index: usize,
    pub loading: bool,
    pub error: Option<String>,
}

impl ChartView {
    /// Opens the chart and asks for the PDU's nights afresh.
    pub fn show(&mut self, pdu: &str, gens: &mut Gens) -> Request {
        self.open = true;
        self.loading = true;
        Request::Chart {
            generation: gens.stamp(Slot::Chart),
            pdu: pdu.to_string(),
        }
    }

    pub fn loaded(&mut self, result: Result<Vec<Series>, Failure>) {
        self.loading = false;
        match result {
            Ok(s) => {
                self.error = None;
                self.index = self.index.min(s.len().saturating_sub(1));
                self.series = Some(s);
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// The next (or previous) figure, round.
    pub fn step(&mut self, delta: i64) {
        let n = self.series.as_ref().map_or(0, Vec::len) as i64;
        if n > 0 {
            self.index = (self.index as i64 + delta.signum()).rem_euclid(n) as usize;
        }
    }

    pub fn draw(&self, pdu: &str, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
        let theme = &dc.theme;
        if let Some(e) = &self.error {
            return error_block(f, area, e, theme);
        }
        let Some(all) = &self.series else {
            f.render_widget(Paragraph::new("Loading the chart…"), area);
            return;
        };
        let Some(s) = all.get(self.index) else {
            f.render_widget(
                Paragraph::new(
                    "No nights recorded yet: `casewatch alerts --record` nightly (c or Esc closes)",
                ),
                area,
            );
            return;
        };
        let width = usize::from(area.width);
        let [head, body, foot] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(4),
            Constraint::Length(s.thresholds.len().min(4) as u16 + 1),
        ])
        .areas(area);
        let now = s.points.last().map(|p| format_metric(&s.metric, p.1));
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(
                    format!("{} {}", clean(pdu), metric_words(&s.metric)),
                    theme.header(),
                ),
                Span::raw(fit(
                    &format!(
                        " · now {} · {} nights · figure {} of {} (j/k next, c or Esc closes)",
                        now.unwrap_or_default(),
                        s.points.len(),
                        self.index + 1,
                        all.len()
                    ),
                    width.saturating_sub(metric_words(&s.metric).len() + pdu.len() + 1),
                )),
            ])),
            head,
        );
        let first = s.points.first().map(|p| p.0);
        let x = |d: chrono::NaiveDate| first.map_or(0, |f| (d - f).num_days()) as f64;
        let data: Vec<(f64, f64)> = s.points.iter().map(|(d, v)| (x(*d), *v)).collect();
        let span = data.last().map_or(1.0, |p| p.0.max(1.0));
        let lines: Vec<Vec<(f64, f64)>> = s
            .thresholds
            .iter()
            .map(|t| vec![(0.0, t.value), (span, t.value)])
            .collect();
        let (lo, hi) = s.bounds();
        let pad = (hi - lo) * 0.05;
        let colour = |c: Color| {
            if theme.color {
                Style::new().fg(c)
            } else {
                Style::new()
            }
        };
        let mut sets = vec![
            Dataset::default()
                .name(metric_words(&s.metric).to_string())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(colour(Color::Cyan))
                .data(&data),
        ];
        for (t, l) in s.thresholds.iter().zip(&lines) {
            sets.push(
                Dataset::default()
                    .name(format!(
                        "{} {} {}",
                        clean(&t.rule),
                        t.op,
                        format_metric(&s.metric, t.value)
                    ))
                    .marker(Marker::Dot)
                    .graph_type(GraphType::Line)
                    .style(colour(Color::Red))
                    .data(l),
            );
        }
        let dates = |d: Option<chrono::NaiveDate>| d.map_or(String::new(), |d| d.to_string());
        let chart = Chart::new(sets)
            .x_axis(
                Axis::default()
                    .bounds([0.0, span])
                    .labels([dates(first), dates(s.points.last().map(|p| p.0))]),
            )
            .y_axis(
                Axis::default()
                    .bounds([lo - pad, hi + pad])
                    .labels([format_metric(&s.metric, lo), format_metric(&s.metric, hi)]),
            )
            .legend_position(None);
        f.render_widget(chart, body);
        // The thresholds in words: which rule, which side, and whether it holds now.
        let last = s.points.last().map(|p| p.1);
        let mut text = vec![Line::styled("Thresholds (the lines across):", theme.dim())];
        for t in s.thresholds.iter().take(4) {
            let holds = last.is_some_and(|v| t.holds(v));
            text.push(Line::from(vec![
                Span::raw(fit(
                    &format!(
                        "  {} {} {}",
                        clean(&t.rule),
                        t.op,
                        format_metric(&s.metric, t.value)
                    ),
                    width.saturating_sub(16),
                )),
                if holds {
                    Span::styled("  HOLDS NOW", theme.bad())
                } else {
                    Span::styled("  not now", theme.dim())
                },
            ]));
        }
        f.render_widget(Paragraph::new(text), foot);
    }
}
