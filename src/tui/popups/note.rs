//! The note form: a note on a case, sensitive or not.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::text::Line;

use super::{Form, push_text};
use crate::tui::event::{Ctx, EventState};
use crate::tui::widgets::{DrawCtx, clean};
use crate::tui::worker::{Act, Request};

#[derive(Debug, Clone, PartialEq)]
pub struct NotePopup {
    pub crn: String,
    pub text: String,
    pub sensitive: bool,
}

impl NotePopup {
    pub fn new(crn: String) -> NotePopup {
        NotePopup {
            crn,
            text: String::new(),
            sensitive: false,
        }
    }

    /// Typing writes the note; Tab marks it sensitive; Enter saves. Esc is not taken.
    pub fn key(&mut self, k: KeyEvent, cx: &mut Ctx) -> EventState {
        match k.code {
            KeyCode::Esc => return EventState::NotConsumed,
            KeyCode::Tab => self.sensitive = !self.sensitive,
            KeyCode::Backspace => {
                self.text.pop();
            }
            KeyCode::Char(c) => push_text(&mut self.text, c, k.modifiers),
            KeyCode::Enter if self.text.trim().is_empty() => cx.say("type a note first"),
            KeyCode::Enter => cx.ask([Request::Act(Act::Note {
                crn: self.crn.clone(),
                text: self.text.clone(),
                sensitive: self.sensitive,
            })]),
            _ => {}
        }
        EventState::Consumed
    }

    pub fn form(&self, dc: &DrawCtx) -> Form {
        let theme = &dc.theme;
        let mut form = Form::new(" Add a note ");
        form.head.push(Line::raw(format!(
            "Case {} · sensitive (Tab): {}",
            clean(&self.crn),
            if self.sensitive { "yes" } else { "no" }
        )));
        form.note_field(&self.text, theme);
        form.foot
            .push(Line::raw("type the note · Enter save · Esc cancel"));
        form
    }
}
