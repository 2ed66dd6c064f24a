//! The oversight form: which SPO records it, what kind, the note, whether it is sensitive.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::text::Line;

use super::{Form, cycle, push_text};
use crate::actions;
use crate::domain::OversightKind;
use crate::tui::event::{Ctx, EventState};
use crate::tui::widgets::{DrawCtx, clean};
use crate::tui::worker::{Act, Request, SpoForm};

/// The oversight form: which SPO, what kind, the note.
#[derive(Debug, Clone, PartialEq)]
pub struct OversightPopup {
    pub crn: String,
    pub spos: Option<Vec<(String, String)>>,
    /// The case as read when the form (re)opened.
    pub case: Option<Box<actions::CaseFacts>>,
    pub selected: usize,
    pub kind: OversightKind,
    pub note: String,
    pub sensitive: bool,
    /// Why the last attempt wrote nothing, or what changed since the form opened.
    pub error: Option<String>,
}

impl OversightPopup {
    /// The form for `crn`, before the PDU's SPOs are read.
    pub fn new(crn: String) -> OversightPopup {
        OversightPopup {
            crn,
            spos: None,
            case: None,
            selected: 0,
            kind: OversightKind::Periodic,
            note: String::new(),
            sensitive: false,
            error: None,
        }
    }

    /// The SPOs and the case arrived: the acting SPO is chosen, and the kind is allocation
    /// when that is due.
    pub fn spos_loaded(&mut self, form: SpoForm) {
        self.selected = form
            .me
            .as_ref()
            .and_then(|me| form.spos.iter().position(|(c, _)| c == me))
            .unwrap_or(0);
        if form.allocation_due {
            self.kind = OversightKind::Allocation;
        }
        self.spos = Some(form.spos);
        self.case = Some(Box::new(form.case));
    }

    /// The case changed since the form opened: say what, and read the SPOs and the case
    /// afresh (when the PDU is known).
    pub fn conflict(
        &mut self,
        what: String,
        generation: u64,
        pdu: Option<String>,
    ) -> Option<Request> {
        self.error = Some(what);
        self.spos = None;
        self.case = None;
        Some(Request::Spos {
            generation,
            pdu: pdu?,
            crn: self.crn.clone(),
        })
    }

    /// Typing writes the note; arrows choose the SPO and the kind; Tab marks it sensitive;
    /// Enter records. Esc is not taken.
    pub fn key(&mut self, k: KeyEvent, cx: &mut Ctx) -> EventState {
        let n = self.spos.as_ref().map_or(0, Vec::len);
        match k.code {
            KeyCode::Esc => return EventState::NotConsumed,
            KeyCode::Down if n > 0 => self.selected = (self.selected + 1).min(n - 1),
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Right => self.kind = cycle(OversightKind::ALL, self.kind, 1),
            KeyCode::Left => self.kind = cycle(OversightKind::ALL, self.kind, -1),
            KeyCode::Tab => self.sensitive = !self.sensitive,
            KeyCode::Backspace => {
                self.note.pop();
            }
            KeyCode::Char(c) => push_text(&mut self.note, c, k.modifiers),
            KeyCode::Enter => self.submit(cx),
            _ => {}
        }
        EventState::Consumed
    }

    fn submit(&mut self, cx: &mut Ctx) {
        let Some((by, _)) = self.spos.as_ref().and_then(|s| s.get(self.selected)) else {
            return;
        };
        if self.note.trim().is_empty() {
            self.error = Some("type a note first".into());
            cx.say("type a note first");
            return;
        }
        cx.ask([Request::Act(Act::Oversight(actions::OversightEntry {
            crn: self.crn.clone(),
            by: by.clone(),
            kind: self.kind,
            note: self.note.clone(),
            sensitive: self.sensitive,
            expect: self.case.as_ref().map(|c| c.holding()),
        }))]);
    }

    pub fn form(&self, dc: &DrawCtx) -> Form {
        let theme = &dc.theme;
        let mut form = Form::new(" Record management oversight ");
        form.head.push(Line::raw(format!(
            "Case {}. Kind (←/→): {} · sensitive (Tab): {}",
            clean(&self.crn),
            self.kind,
            if self.sensitive { "yes" } else { "no" }
        )));
        form.head
            .push(Line::styled("Recorded by (↑/↓):", theme.header()));
        match &self.spos {
            None => form.list.push(Line::raw("loading SPOs…")),
            Some(s) if s.is_empty() => form.list.push(Line::raw("this PDU has no SPO in post")),
            Some(s) => {
                for (i, (code, name)) in s.iter().enumerate() {
                    let line = format!(" {} {}", clean(code), dc.person(name));
                    form.list.push(if i == self.selected {
                        Line::styled(line, theme.selected())
                    } else {
                        Line::raw(line)
                    });
                }
            }
        }
        form.note_field(&self.note, theme);
        form.refusal("Not recorded", self.error.as_deref(), theme);
        form.foot.push(Line::raw(
            "type the note · ↑/↓ SPO · ←/→ kind · Tab sensitive · Enter record · Esc cancel",
        ));
        form.selected = self.selected;
        form
    }
}
