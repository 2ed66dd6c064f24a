//! The incidents: the region's alerts grouped by PDU and rule, of one PDU or the whole
//! region, with the selected one in full below the list.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::{move_delta, step_index};
use crate::alerts::Status as AlertStatus;
use crate::incidents::Incident;
use crate::tui::event::{Ctx, EventState, Go};
use crate::tui::keymap::Action;
use crate::tui::region::Region;
use crate::tui::view::FULL_WIDTH;
use crate::tui::widgets::{DrawCtx, clean, detail_pane, error_block, fit, yes_no};

/// The incident's state in one word (with a glyph), the most pressing first: never colour
/// alone.
pub fn incident_word(i: &Incident) -> &'static str {
    use AlertStatus as S;
    if i.status == S::Resolved {
        "✓ resolved"
    } else if i.escalated {
        "▲ ESCALATED"
    } else if i.reopened {
        "↺ REOPENED"
    } else if i.silenced_until.is_some() {
        "◌ SILENCED"
    } else if i.acknowledged {
        "✎ ACK"
    } else if i.status == S::New {
        "● NEW"
    } else {
        "  ongoing"
    }
}

/// The incidents screen's own state: the selected row, the filter, and the scope.
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    pub selected: usize,
    pub filter: String,
    /// The PDU the incidents are limited to; None for the whole region.
    pub scope: Option<String>,
    /// The PDU the screen was opened from, which `w` goes back to.
    pub home: Option<String>,
}

impl Alerts {
    /// The screen opens from `home` (a PDU, or None from the overview), limited to it.
    pub fn show(&mut self, home: Option<String>) {
        self.scope = home.clone();
        self.home = home;
        self.selected = 0;
    }

    /// Incident rows after scope and filter, as indexes into the region's incidents: open
    /// before resolved, then the PDU's place on the status ladder, then severity (the
    /// review's own order breaks ties).
    pub fn rows(&self, region: &Region) -> Vec<usize> {
        let Some(o) = &region.data else {
            return Vec::new();
        };
        let f = self.filter.to_lowercase();
        let mut idx: Vec<usize> = (0..o.incidents.len())
            .filter(|&i| {
                let a = &o.incidents[i];
                self.scope.as_ref().is_none_or(|p| *p == a.pdu)
                    && (f.is_empty()
                        || a.key.to_lowercase().contains(&f)
                        || a.message.to_lowercase().contains(&f))
            })
            .collect();
        let resolved = |i: &Incident| i.status == AlertStatus::Resolved;
        idx.sort_by(|&a, &b| {
            let (a, b) = (&o.incidents[a], &o.incidents[b]);
            resolved(a)
                .cmp(&resolved(b))
                .then_with(|| region.pdu_status(&b.pdu).cmp(&region.pdu_status(&a.pdu)))
                .then_with(|| b.severity.cmp(&a.severity))
        });
        idx
    }

    pub fn selected_incident<'r>(&self, region: &'r Region) -> Option<&'r Incident> {
        let o = region.data.as_ref()?;
        let rows = self.rows(region);
        rows.get(self.selected).map(|&i| &o.incidents[i])
    }

    /// Keeps the selection within the rows, after the region changed.
    pub fn clamp(&mut self, region: &Region) {
        let n = self.rows(region).len();
        self.selected = self.selected.min(n.saturating_sub(1));
    }

    /// The filter changed: back to the first row.
    pub fn filter_changed(&mut self) {
        self.selected = 0;
    }

    /// The incidents' keys: move, open an incident's alerts, widen to the region and back,
    /// and Esc, which first clears a kept filter.
    pub fn act(&mut self, action: Action, region: &Region, cx: &mut Ctx) -> EventState {
        if let Some(delta) = move_delta(action, cx.size.1) {
            let n = self.rows(region).len();
            self.selected = step_index(self.selected, n, delta);
            return EventState::Consumed;
        }
        match action {
            Action::Open => {
                if let Some(i) = self.selected_incident(region) {
                    cx.go = Some(Go::Members(i.key.clone()));
                }
            }
            Action::Widen => self.widen(cx),
            Action::Back if !self.filter.is_empty() => {
                self.filter.clear();
                self.selected = 0;
                cx.say("filter cleared; Esc again goes back");
            }
            _ => return EventState::NotConsumed,
        }
        EventState::Consumed
    }

    /// `w`: the whole region, or back to the PDU the screen was opened from.
    fn widen(&mut self, cx: &mut Ctx) {
        let words = match (&self.scope, &self.home) {
            (Some(_), _) => {
                self.scope = None;
                "all incidents of the region; w again for this PDU only".into()
            }
            (None, Some(home)) => {
                self.scope = Some(home.clone());
                format!(
                    "incidents of {} only; w widens",
                    crate::text::sanitize(home)
                )
            }
            (None, None) => "already the whole region (opened from the overview)".into(),
        };
        cx.say(words);
        self.selected = 0;
    }

    /// The list, the selected incident in full below it, and a line of counts.
    pub fn draw(&self, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
        let theme = &dc.theme;
        if let Some(e) = &dc.region.error {
            return error_block(f, area, e, theme);
        }
        let Some(o) = &dc.region.data else {
            f.render_widget(Paragraph::new("Loading alerts…"), area);
            return;
        };
        let rows_idx = self.rows(dc.region);
        let wide = area.width >= FULL_WIDTH;
        // The selected incident in full, so that no message is ever cut short for good.
        let top = match self.selected_incident(dc.region) {
            Some(i) => detail_pane(
                f,
                area,
                &format!(" {} ", fit(&i.key, usize::from(area.width / 2))),
                incident_detail(i, dc.region),
                theme,
            ),
            None => area,
        };
        let rows: Vec<Row> = rows_idx
            .iter()
            .map(|&k| incident_row(&o.incidents[k], wide, dc))
            .collect();
        let mut head = vec!["Status", "Severity", "PDU"];
        let mut widths = vec![
            Constraint::Length(11),
            Constraint::Length(8),
            Constraint::Length(6),
        ];
        if wide {
            head.push("PDU status");
            widths.push(Constraint::Length(12));
        }
        head.extend(["Open", "+new/-res", "Days", "Message"]);
        widths.extend([
            Constraint::Length(4),
            Constraint::Length(9),
            Constraint::Length(4),
            Constraint::Min(10),
        ]);
        let [table_area, foot] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(top);
        let mut state = TableState::default().with_selected(Some(self.selected));
        f.render_stateful_widget(
            Table::new(rows, widths)
                .header(Row::new(head).style(theme.header()))
                .row_highlight_style(theme.selected())
                .highlight_symbol("▶")
                .column_spacing(1),
            table_area,
            &mut state,
        );
        let shown: Vec<_> = rows_idx.iter().map(|&k| &o.incidents[k]).collect();
        let new = shown
            .iter()
            .filter(|i| i.status == AlertStatus::New)
            .count();
        let escalated = shown.iter().filter(|i| i.escalated).count();
        let scope = match &self.scope {
            Some(p) => clean(p),
            None => format!("all {}", clean(&o.region)),
        };
        f.render_widget(
            Paragraph::new(format!(
                "{} incidents · {scope} · {new} new · {escalated} escalated · Enter shows its alerts",
                rows_idx.len(),
            ))
            .style(theme.dim()),
            foot,
        );
    }
}

/// The selected incident in full: its message, its history, who acknowledged it and why.
fn incident_detail(i: &Incident, region: &Region) -> Vec<String> {
    let mut lines = vec![clean(&i.message)];
    lines.push(format!(
        "first seen {} · {} night{} · oldest {} days · {} open, +{} new, -{} resolved",
        clean(&i.first_seen),
        i.nights,
        if i.nights == 1 { "" } else { "s" },
        i.oldest_days,
        i.count,
        i.new_members,
        i.resolved_members
    ));
    lines.push(format!(
        "escalated: {} · acknowledged: {}{}{} · {} · PDU status {}",
        yes_no(i.escalated),
        yes_no(i.acknowledged),
        match (&i.acknowledged_by, &i.ack_note) {
            (Some(by), Some(note)) => format!(" by {}: {}", clean(by), clean(note)),
            _ => String::new(),
        },
        if i.reopened {
            " (REOPENED: worse since)"
        } else {
            ""
        },
        match &i.silenced_until {
            Some(d) => format!("silenced until {}", clean(d)),
            None => "not silenced".into(),
        },
        region.pdu_status(&i.pdu).label()
    ));
    if let Some(w) = i.worst.as_ref().filter(|w| **w != i.message) {
        lines.push(format!("oldest: {}", clean(w)));
    }
    lines
}

fn incident_row(i: &Incident, wide: bool, dc: &DrawCtx) -> Row<'static> {
    let theme = &dc.theme;
    let mut cells = vec![
        Cell::from(incident_word(i)).style(if i.escalated || i.reopened {
            theme.bad()
        } else {
            Style::new()
        }),
        Cell::from(i.severity.as_str().to_uppercase()).style(theme.severity(i.severity)),
        Cell::from(clean(&i.pdu)),
    ];
    if wide {
        let st = dc.region.pdu_status(&i.pdu);
        cells.push(Cell::from(st.label()).style(theme.status(st)));
    }
    cells.extend([
        Cell::from(i.count.to_string()),
        Cell::from(format!("+{}/-{}", i.new_members, i.resolved_members)),
        Cell::from(i.oldest_days.to_string()),
        Cell::from(clean(&i.message)),
    ]);
    Row::new(cells)
}
