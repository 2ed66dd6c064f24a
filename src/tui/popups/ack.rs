//! The acknowledgement form: an incident or one alert is seen, with a note; it stays listed,
//! marked, until it gets worse.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::text::Line;

use super::{Form, push_text};
use crate::alerts::{ReviewedAlert, Status as AlertStatus};
use crate::incidents::Incident;
use crate::tui::event::{Ctx, EventState};
use crate::tui::widgets::{DrawCtx, clean};
use crate::tui::worker::{Act, Request};

#[derive(Debug, Clone, PartialEq)]
pub struct AckPopup {
    pub key: String,
    /// What is acknowledged, in words.
    pub what: String,
    pub note: String,
    /// Why the last attempt wrote nothing.
    pub error: Option<String>,
}

/// Why a resolved alert gets no form.
const RESOLVED: &str = "a resolved alert needs no acknowledgement";

impl AckPopup {
    fn new(key: String, what: String) -> AckPopup {
        AckPopup {
            key,
            what,
            note: String::new(),
            error: None,
        }
    }

    /// The form for an incident, or why there is none.
    pub fn incident(i: &Incident) -> Result<AckPopup, &'static str> {
        if i.status == AlertStatus::Resolved {
            return Err(RESOLVED);
        }
        Ok(AckPopup::new(
            i.key.clone(),
            format!("incident {} ({} open)", i.key, i.count),
        ))
    }

    /// The form for one member alert, or why there is none.
    pub fn member(a: &ReviewedAlert) -> Result<AckPopup, &'static str> {
        if a.status == AlertStatus::Resolved {
            return Err(RESOLVED);
        }
        Ok(AckPopup::new(a.key(), format!("alert {}", a.key())))
    }

    /// Typing writes the note; Enter acknowledges. Esc is not taken.
    pub fn key(&mut self, k: KeyEvent, cx: &mut Ctx) -> EventState {
        match k.code {
            KeyCode::Esc => return EventState::NotConsumed,
            KeyCode::Backspace => {
                self.note.pop();
            }
            KeyCode::Char(c) => push_text(&mut self.note, c, k.modifiers),
            KeyCode::Enter if self.note.trim().is_empty() => {
                self.error = Some("type a note first".into());
                cx.say("type a note first");
            }
            KeyCode::Enter => cx.ask([Request::Act(Act::Ack {
                key: self.key.clone(),
                note: self.note.clone(),
            })]),
            _ => {}
        }
        EventState::Consumed
    }

    pub fn form(&self, dc: &DrawCtx) -> Form {
        let theme = &dc.theme;
        let mut form = Form::new(" Acknowledge ");
        form.head.push(Line::raw(clean(&self.what)));
        form.note_field(&self.note, theme);
        form.refusal("Not acknowledged", self.error.as_deref(), theme);
        form.foot.push(Line::raw(
            "it stays listed, marked, until it gets worse · Enter acknowledge · Esc cancel",
        ));
        form
    }
}
