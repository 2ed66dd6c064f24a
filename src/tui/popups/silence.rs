//! The silence form: an incident, or one case's alert of it, wakes nobody until a date, for a
//! reason; it stays listed and counted.

use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::text::{Line, Span};

use super::{Form, push_text};
use crate::tui::event::{Ctx, EventState};
use crate::tui::widgets::{DrawCtx, clean};
use crate::tui::worker::{Act, Request};

/// Which field of the silence form takes the typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceField {
    Until,
    Reason,
}

/// The silence form: an incident (rule and PDU), or one case's alert of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SilencePopup {
    pub rule: String,
    pub pdu: String,
    pub crn: Option<String>,
    /// YYYY-MM-DD, as typed.
    pub until: String,
    pub reason: String,
    pub field: SilenceField,
    /// Why the last attempt wrote nothing, in words.
    pub error: Option<String>,
}

/// The date a silence lasts to unless changed: a week after `as_of`.
fn week_after(as_of: NaiveDate) -> String {
    crate::domain::fmt_date(as_of + chrono::Duration::days(7))
}

impl SilencePopup {
    /// The form for `rule` in `pdu` (one case's alert with `crn`), until a week after
    /// `as_of`, the reason to type.
    pub fn new(rule: String, pdu: String, crn: Option<String>, as_of: NaiveDate) -> Self {
        SilencePopup {
            rule,
            pdu,
            crn,
            until: week_after(as_of),
            reason: String::new(),
            field: SilenceField::Reason,
            error: None,
        }
    }

    /// Tab and the arrows change field; typing fills it (the date takes digits and
    /// dashes); Enter silences. Esc is not taken.
    pub fn key(&mut self, k: KeyEvent, cx: &mut Ctx) -> EventState {
        match k.code {
            KeyCode::Esc => return EventState::NotConsumed,
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => {
                self.field = match self.field {
                    SilenceField::Until => SilenceField::Reason,
                    SilenceField::Reason => SilenceField::Until,
                };
            }
            KeyCode::Backspace => {
                match self.field {
                    SilenceField::Until => self.until.pop(),
                    SilenceField::Reason => self.reason.pop(),
                };
            }
            KeyCode::Char(c) => match self.field {
                SilenceField::Until => {
                    if (c.is_ascii_digit() || c == '-') && self.until.len() < 10 {
                        self.until.push(c);
                    }
                }
                SilenceField::Reason => push_text(&mut self.reason, c, k.modifiers),
            },
            KeyCode::Enter => cx.ask(self.submit(cx.as_of)),
            _ => {}
        }
        EventState::Consumed
    }

    /// Enter: a date and a reason, or says which is missing.
    fn submit(&mut self, as_of: NaiveDate) -> Option<Request> {
        let Ok(until) = NaiveDate::parse_from_str(self.until.trim(), "%Y-%m-%d") else {
            self.error = Some(format!("until must be a date like {}", week_after(as_of)));
            self.field = SilenceField::Until;
            return None;
        };
        if self.reason.trim().is_empty() {
            self.error = Some("type a reason: why nobody need be woken until then".into());
            self.field = SilenceField::Reason;
            return None;
        }
        self.error = None;
        Some(Request::Act(Act::Silence {
            rule: self.rule.clone(),
            pdu: self.pdu.clone(),
            crn: self.crn.clone(),
            until,
            reason: self.reason.clone(),
        }))
    }

    pub fn form(&self, dc: &DrawCtx) -> Form {
        let theme = &dc.theme;
        let mut form = Form::new(" Silence ");
        form.head.push(Line::raw(match &self.crn {
            Some(crn) => format!(
                "Rule {} in PDU {}, case {} only",
                clean(&self.rule),
                clean(&self.pdu),
                clean(crn)
            ),
            None => format!(
                "Rule {} in PDU {} (the whole incident)",
                clean(&self.rule),
                clean(&self.pdu)
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
        form.foot.push(field(
            "Until (YYYY-MM-DD): ",
            &self.until,
            self.field == SilenceField::Until,
        ));
        form.foot.push(field(
            "Reason: ",
            &self.reason,
            self.field == SilenceField::Reason,
        ));
        form.refusal("Not silenced", self.error.as_deref(), theme);
        form.foot.push(Line::raw(
            "still listed and counted, marked SILENCED; it wakes nobody until then (90 days at most)",
        ));
        form.foot
            .push(Line::raw("Tab next field · Enter silence · Esc cancel"));
        form
    }
}
