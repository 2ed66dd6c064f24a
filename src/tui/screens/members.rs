//! One incident's member alerts, oldest first, with the selected one in full below.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::alerts::incident_word;
use super::pdu::Tab;
use super::{move_delta, step_index};
use crate::alerts::{ReviewedAlert, Status as AlertStatus};
use crate::incidents::Incident;
use crate::tui::event::{Ctx, EventState, Go};
use crate::tui::keymap::Action;
use crate::tui::region::Region;
use crate::tui::widgets::{DrawCtx, clean, detail_pane, fit, yes_no};

/// A member alert's state in one word.
pub fn member_word(a: &ReviewedAlert) -> &'static str {
    if a.status == AlertStatus::Resolved {
        "✓ resolved"
    } else if a.reopened {
        "↺ REOPENED"
    } else if a.silenced_until.is_some() {
        "◌ SILENCED"
    } else if a.acknowledged {
        "✎ ACK"
    } else if a.status == AlertStatus::New {
        "● NEW"
    } else {
        "  ongoing"
    }
}

/// The incident of this key, if the region still has it.
pub fn incident<'r>(region: &'r Region, key: &str) -> Option<&'r Incident> {
    region
        .data
        .as_ref()?
        .incidents
        .iter()
        .find(|i| i.key == key)
}

/// The member alerts of an incident, oldest first, as indexes into the region's alerts.
pub fn rows(region: &Region, incident_key: &str) -> Vec<usize> {
    let Some(i) = incident(region, incident_key) else {
        return Vec::new();
    };
    i.members
        .iter()
        .filter_map(|k| region.alert_index.get(k).copied())
        .collect()
}

/// The members screen's own state: the selected row (the incident is the screen's).
#[derive(Debug, Clone, Default)]
pub struct Members {
    pub selected: usize,
}

impl Members {
    pub fn selected_member<'r>(
        &self,
        region: &'r Region,
        incident_key: &str,
    ) -> Option<&'r ReviewedAlert> {
        let o = region.data.as_ref()?;
        let rows = rows(region, incident_key);
        rows.get(self.selected).map(|&i| &o.alerts[i])
    }

    /// The members' keys: move, and open the member's case (or its PDU, on the Staffing tab
    /// for a practitioner's alert).
    pub fn act(
        &mut self,
        action: Action,
        incident_key: &str,
        region: &Region,
        cx: &mut Ctx,
    ) -> EventState {
        if let Some(delta) = move_delta(action, cx.size.1) {
            let n = rows(region, incident_key).len();
            self.selected = step_index(self.selected, n, delta);
            return EventState::Consumed;
        }
        if action != Action::Open {
            return EventState::NotConsumed;
        }
        let Some(a) = self.selected_member(region, incident_key) else {
            return EventState::Consumed;
        };
        cx.go = Some(match &a.crn {
            Some(crn) => Go::Case(crn.to_string()),
            None => Go::Pdu {
                code: a.pdu.to_string(),
                name: region
                    .summary(&a.pdu)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                tab: if a.staff_code.is_some() {
                    Tab::Staffing
                } else {
                    Tab::Today
                },
            },
        });
        EventState::Consumed
    }

    /// The incident in a line, its members, the selected one in full, and a line of keys.
    pub fn draw(&self, incident_key: &str, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
        let theme = &dc.theme;
        let Some(o) = &dc.region.data else {
            f.render_widget(Paragraph::new("Loading alerts…"), area);
            return;
        };
        let Some(inc) = incident(dc.region, incident_key) else {
            f.render_widget(
                Paragraph::new("This incident is no longer open. Esc goes back."),
                area,
            );
            return;
        };
        let rows_idx = rows(dc.region, incident_key);
        let top = match self.selected_member(dc.region, incident_key) {
            Some(a) => detail_pane(
                f,
                area,
                &format!(" {} ", fit(&a.key(), usize::from(area.width / 2))),
                member_detail(a),
                theme,
            ),
            None => area,
        };
        let [head_area, table_area, foot] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(top);
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(incident_word(inc), theme.bad()),
                Span::raw(format!(
                    " {} {} in {}: {} open, oldest {} days",
                    inc.severity.as_str().to_uppercase(),
                    clean(&inc.rule),
                    clean(&inc.pdu),
                    inc.count,
                    inc.oldest_days
                )),
            ])),
            head_area,
        );
        let rows: Vec<Row> = rows_idx.iter().map(|&k| member_row(&o.alerts[k])).collect();
        let mut state = TableState::default().with_selected(Some(self.selected));
        f.render_stateful_widget(
            Table::new(
                rows,
                [
                    Constraint::Length(11),
                    Constraint::Length(9),
                    Constraint::Length(10),
                    Constraint::Min(10),
                ],
            )
            .header(Row::new(["Status", "Subject", "First seen", "Message"]).style(theme.header()))
            .row_highlight_style(theme.selected())
            .highlight_symbol("▶")
            .column_spacing(1),
            table_area,
            &mut state,
        );
        f.render_widget(
            Paragraph::new(format!(
                "{} alert{}, oldest first · Enter opens the case · A acknowledges this one · S silences it",
                rows_idx.len(),
                if rows_idx.len() == 1 { "" } else { "s" }
            ))
            .style(theme.dim()),
            foot,
        );
    }
}

/// The selected member in full.
fn member_detail(a: &ReviewedAlert) -> Vec<String> {
    let mut lines = vec![clean(&a.message())];
    lines.push(format!(
        "{} · first seen {} · acknowledged: {}{} · {}",
        clean(
            a.crn
                .as_deref()
                .or(a.staff_code.as_deref())
                .unwrap_or("the PDU")
        ),
        clean(&a.first_seen),
        yes_no(a.acknowledged),
        if a.reopened {
            " (REOPENED: worse since)"
        } else {
            ""
        },
        match &a.silenced_until {
            Some(d) => format!("silenced until {}", clean(d)),
            None => "not silenced".into(),
        },
    ));
    lines
}

fn member_row(a: &ReviewedAlert) -> Row<'static> {
    Row::new(vec![
        Cell::from(member_word(a)),
        Cell::from(clean(
            a.crn
                .as_deref()
                .or(a.staff_code.as_deref())
                .unwrap_or("PDU"),
        )),
        Cell::from(clean(&a.first_seen)),
        Cell::from(clean(&a.message())),
    ])
}
