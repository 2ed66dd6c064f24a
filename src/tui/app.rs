//! The model and its update function: every key and every query answer becomes a message,
//! and `update` is the only place the model changes. It never touches SQLite: it returns the
//! requests it wants run.

use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::event::{Ctx, Go};
use super::keymap::{self, Action, Context};
use super::popups::{
    AckPopup, AllocatePopup, Help, NotePopup, OversightPopup, Popup, SilencePopup,
};
use super::region::Region;
use super::screens::alerts::Alerts;
use super::screens::case::Case;
use super::screens::members::{self, Members};
use super::screens::overview::Overview;
use super::screens::pdu::{Pdu, list_index};
use super::worker::{Act, Request, Response};
use crate::actions::UNDO_WINDOW;
use crate::alerts::ReviewedAlert;
use crate::incidents::Incident;
use crate::store::read::CaseList;

pub use super::screens::{CHROME_ROWS, visible_rows};

/// Messages into the update function.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Resize(u16, u16),
    Loaded(Response),
}

/// Screens, stacked: the stack is the breadcrumb trail.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Overview,
    Pdu {
        code: String,
        name: String,
    },
    Case {
        crn: String,
    },
    /// Incidents, of one PDU or the whole region (see `Model::alerts_scope`).
    Alerts,
    /// The member alerts of one incident.
    Members {
        incident: String,
    },
}

/// Which text field the keyboard is typing into, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Normal,
    Filter,
}

#[derive(Debug, Clone)]
pub struct Model {
    pub db_label: String,
    pub as_of: NaiveDate,
    pub color: bool,
    pub size: (u16, u16),
    pub stack: Vec<Screen>,
    pub input: Input,
    /// The help overlay, when open.
    pub help: Option<Help>,
    pub quit: bool,
    pub message: Option<String>,
    /// The region as last read, which every screen shows part of.
    pub region: Region,
    pub overview: Overview,
    pub pdu: Pdu,
    /// The incidents, then one incident's members.
    pub alerts: Alerts,
    pub members: Members,
    // Actions
    pub popup: Option<Popup>,
    pub mask: bool,
    /// The database could only be opened for reading: actions are refused.
    pub read_only: bool,
    /// The audit id of this session's last action, when it was done and what it was, for
    /// undo.
    pub last_action: Option<(i64, std::time::Instant, String)>,
    /// `u` was pressed once and asked; `u` again undoes, any other key keeps the action.
    pub undo_armed: bool,
    pub case: Case,
    gens: Gens,
}

/// A kind of request of which only the newest answer is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Overview,
    Page(CaseList),
    Staffing,
    Today,
    Case,
    /// What the open form needs (officers, SPOs).
    Popup,
}

/// The generation of the newest request per slot; the answer to an older one is dropped.
#[derive(Debug, Clone, Default)]
pub struct Gens {
    next: u64,
    overview: u64,
    pages: [u64; 4],
    staffing: u64,
    today: u64,
    case: u64,
    popup: u64,
}

impl Gens {
    fn slot_mut(&mut self, slot: Slot) -> &mut u64 {
        match slot {
            Slot::Overview => &mut self.overview,
            Slot::Page(list) => &mut self.pages[list_index(list)],
            Slot::Staffing => &mut self.staffing,
            Slot::Today => &mut self.today,
            Slot::Case => &mut self.case,
            Slot::Popup => &mut self.popup,
        }
    }

    /// A new generation, from now on the newest of `slot`.
    pub fn stamp(&mut self, slot: Slot) -> u64 {
        self.next += 1;
        let generation = self.next;
        *self.slot_mut(slot) = generation;
        generation
    }

    /// Whether an answer of this generation is for the newest request of `slot`.
    pub fn is_current(&self, slot: Slot, generation: u64) -> bool {
        let newest = match slot {
            Slot::Overview => self.overview,
            Slot::Page(list) => self.pages[list_index(list)],
            Slot::Staffing => self.staffing,
            Slot::Today => self.today,
            Slot::Case => self.case,
            Slot::Popup => self.popup,
        };
        newest == generation
    }

    /// Drops the case tables' answers still on their way: they are for another PDU.
    pub fn forget_pages(&mut self) {
        self.pages = [0; 4];
    }
}

/// The status line's words for a finished export: how many rows, whether names were masked,
/// and where: the whole path when it fits `width`, else the file's name in the working
/// directory (where exports are always written), so that the line is never cut.
pub fn exported_words(x: &super::worker::Exported, width: u16) -> String {
    let rows = if x.rows == 1 { "row" } else { "rows" };
    let names = match x.masked {
        Some(true) => ", names masked as initials,",
        Some(false) => ", full names,",
        None => "",
    };
    let long = format!("exported {} {rows}{names} to {}", x.rows, x.path);
    if long.chars().count() <= usize::from(width) {
        return long;
    }
    let name = std::path::Path::new(&x.path)
        .file_name()
        .map_or_else(|| x.path.clone(), |n| n.to_string_lossy().into_owned());
    let names = match x.masked {
        Some(true) => " (initials)",
        Some(false) => " (full names)",
        None => "",
    };
    format!("exported {} {rows}{names} to ./{name}", x.rows)
}

impl Model {
    pub fn new(db_label: String, as_of: NaiveDate, color: bool, size: (u16, u16)) -> Model {
        Model {
            db_label,
            as_of,
            color,
            size,
            stack: vec![Screen::Overview],
            input: Input::Normal,
            help: None,
            quit: false,
            message: None,
            region: Region::default(),
            overview: Overview::default(),
            pdu: Pdu::default(),
            alerts: Alerts::default(),
            members: Members::default(),
            popup: None,
            mask: false,
            read_only: false,
            last_action: None,
            undo_armed: false,
            case: Case::default(),
            gens: Gens::default(),
        }
    }

    pub fn screen(&self) -> &Screen {
        self.stack.last().unwrap_or(&Screen::Overview)
    }

    fn context(&self) -> Context {
        match self.screen() {
            Screen::Overview => Context::Overview,
            Screen::Pdu { .. } => Context::Pdu,
            Screen::Case { .. } => Context::Case,
            Screen::Alerts => Context::Alerts,
            Screen::Members { .. } => Context::Members,
        }
    }

    pub fn current_pdu(&self) -> Option<(&str, &str)> {
        self.stack.iter().rev().find_map(|s| match s {
            Screen::Pdu { code, name } => Some((code.as_str(), name.as_str())),
            _ => None,
        })
    }

    /// The incident on screen: the selected one, or the one whose members are listed.
    pub fn selected_incident(&self) -> Option<&Incident> {
        match self.screen() {
            Screen::Members { incident } => members::incident(&self.region, incident),
            _ => self.alerts.selected_incident(&self.region),
        }
    }

    /// The member alerts of the incident on screen, if its members are.
    pub fn member_rows(&self) -> Vec<usize> {
        match self.screen() {
            Screen::Members { incident } => members::rows(&self.region, incident),
            _ => Vec::new(),
        }
    }

    /// The member alert selected, if an incident's members are on screen.
    pub fn selected_member(&self) -> Option<&ReviewedAlert> {
        match self.screen() {
            Screen::Members { incident } => self.members.selected_member(&self.region, incident),
            _ => None,
        }
    }

    /// The requests needed to show the current screen from scratch.
    pub fn refresh(&mut self) -> Vec<Request> {
        let mut out = Vec::new();
        match self.screen().clone() {
            Screen::Overview => out.push(self.region.request(&mut self.gens)),
            Screen::Pdu { code, .. } => {
                out.extend(self.pdu.refresh(&code, &mut self.gens, self.size.1))
            }
            Screen::Case { crn } => out.push(self.case.request(&crn, &mut self.gens)),
            Screen::Alerts | Screen::Members { .. } => {
                out.push(self.region.request(&mut self.gens))
            }
        }
        out
    }

    /// After a write (this screen's or another process's): the current screen, and the
    /// overview's figures too, which the header, status and trend line of a PDU show.
    fn refresh_all(&mut self) -> Vec<Request> {
        let mut out = self.refresh();
        if !matches!(
            self.screen(),
            Screen::Overview | Screen::Alerts | Screen::Members { .. }
        ) {
            out.push(self.region.request(&mut self.gens));
        }
        out
    }

    /// Applies one message; returns the queries to run.
    pub fn update(&mut self, msg: Msg) -> Vec<Request> {
        match msg {
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.pdu.clamp_scroll(h);
                self.page_if_needed()
            }
            Msg::Loaded(r) => self.loaded(r),
            Msg::Key(k) => self.key(k),
        }
    }

    fn loaded(&mut self, r: Response) -> Vec<Request> {
        match r {
            Response::Overview(generation, result)
                if self.gens.is_current(Slot::Overview, generation) =>
            {
                self.region.loaded(result);
                if self.region.error.is_none() {
                    self.overview.clamp(&self.region);
                    self.alerts.clamp(&self.region);
                    let n = self.member_rows().len();
                    self.members.selected = self.members.selected.min(n.saturating_sub(1));
                }
            }
            Response::Page(generation, list, result)
                if self.gens.is_current(Slot::Page(list), generation) =>
            {
                self.pdu.page_loaded(list, result);
                self.pdu.clamp_scroll(self.size.1);
                return self.page_if_needed();
            }
            Response::Staffing(generation, result)
                if self.gens.is_current(Slot::Staffing, generation) =>
            {
                self.pdu.staffing.loaded(result)
            }
            Response::Today(generation, result)
                if self.gens.is_current(Slot::Today, generation) =>
            {
                self.pdu.today.loaded(result)
            }
            Response::Case(generation, result) if self.gens.is_current(Slot::Case, generation) => {
                self.case.loaded(result)
            }
            Response::Candidates(generation, result)
                if self.gens.is_current(Slot::Popup, generation) =>
            {
                if let Some(Popup::Allocate(p)) = &mut self.popup {
                    p.candidates_loaded(result);
                }
            }
            Response::Spos(generation, result) if self.gens.is_current(Slot::Popup, generation) => {
                if let Some(Popup::Oversight(p)) = &mut self.popup {
                    match result {
                        Ok(form) => p.spos_loaded(*form),
                        Err(e) => {
                            self.message = Some(e);
                            self.popup = None;
                        }
                    }
                }
            }
            Response::Conflict(what) => return self.conflict(what),
            Response::Acted(result) => return self.acted(result),
            Response::Silenced(result) => return self.silenced(result),
            Response::Exported(result) => {
                self.message = Some(match result {
                    Ok(x) => exported_words(&x, self.size.0),
                    Err(e) => format!("export failed: {e}"),
                });
            }
            Response::DataChanged => {
                self.message = Some("database changed: refreshed".into());
                return self.refresh_all();
            }
            Response::ReadOnly => {
                self.read_only = true;
                self.message = Some("the database is read-only: you can look, not act".into());
            }
            Response::Fatal(e) => {
                self.region.error = Some(e);
                self.region.loading = false;
            }
            // A stale answer: a newer request is on its way.
            _ => {}
        }
        Vec::new()
    }

    /// A write found the case changed since its form opened: nothing was written. Say what
    /// changed and reopen the form on the case as it is now, keeping what was typed.
    fn conflict(&mut self, what: String) -> Vec<Request> {
        let generation = self.gens.stamp(Slot::Popup);
        self.message = Some(format!("nothing written: {what}"));
        let mut reqs = self.refresh_all();
        let pdu = self.current_pdu().map(|(code, _)| code.to_string());
        if let Some(p) = &mut self.popup {
            reqs.extend(p.conflict(what, generation, pdu));
        }
        reqs
    }

    /// A write finished: say what was done (and that `u` undoes it), or why nothing was
    /// written, in the form that sent it.
    fn acted(&mut self, result: Result<super::worker::Acted, String>) -> Vec<Request> {
        match result {
            Ok(done) => {
                self.popup = None;
                self.undo_armed = false;
                let (audit_id, words) = (done.audit_id, done.words);
                self.message = Some(if done.undoable {
                    format!("{words} (audit #{audit_id}); u undoes")
                } else {
                    format!("{words} (audit #{audit_id})")
                });
                self.last_action = done
                    .undoable
                    .then(|| (audit_id, std::time::Instant::now(), done.what));
            }
            Err(e) => {
                if let Some(p) = &mut self.popup {
                    p.refused(&e);
                }
                self.message = Some(format!("nothing written: {e}"));
            }
        }
        // Counts, lists and the case all change with a write.
        self.refresh_all()
    }

    /// A silence was recorded, or why not, in the silence form.
    fn silenced(&mut self, result: Result<i64, String>) -> Vec<Request> {
        match result {
            Ok(id) => {
                let until = match &self.popup {
                    Some(Popup::Silence(p)) => p.until.clone(),
                    _ => String::new(),
                };
                self.popup = None;
                self.message = Some(format!(
                    "silenced until {until} (silence #{id}): still listed and counted"
                ));
                self.refresh_all()
            }
            Err(e) => {
                if let Some(Popup::Silence(p)) = &mut self.popup {
                    p.error = Some(e.clone());
                }
                self.message = Some(format!("nothing written: {e}"));
                Vec::new()
            }
        }
    }

    fn key(&mut self, k: KeyEvent) -> Vec<Request> {
        if k.kind == crossterm::event::KeyEventKind::Release {
            return Vec::new();
        }
        // Ctrl-c always quits, even while typing.
        if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return Vec::new();
        }
        if self.popup.is_some() {
            return self.popup_key(k);
        }
        if self.input == Input::Filter {
            return self.filter_key(k);
        }
        let ctx = self.context();
        if let Some(help) = &mut self.help {
            if !help.key(&k, ctx, self.size.1).is_consumed() {
                // The key closes the help and is not also a move; q still quits.
                self.help = None;
                if keymap::action_for(&k, ctx) == Some(Action::Quit) {
                    self.quit = true;
                }
            }
            return Vec::new();
        }
        self.message = None;
        let Some(action) = keymap::action_for(&k, self.context()) else {
            self.undo_armed = false;
            return Vec::new();
        };
        if action != Action::Undo {
            self.undo_armed = false;
        }
        self.act(action)
    }

    fn filter_text(&mut self) -> Option<&mut String> {
        match self.screen() {
            Screen::Overview => Some(&mut self.overview.filter),
            Screen::Pdu { .. } => self.pdu.filter_text(),
            Screen::Alerts => Some(&mut self.alerts.filter),
            _ => None,
        }
    }

    fn filter_key(&mut self, k: KeyEvent) -> Vec<Request> {
        let mut changed = false;
        match k.code {
            KeyCode::Enter => self.input = Input::Normal,
            KeyCode::Esc => {
                self.input = Input::Normal;
                if let Some(f) = self.filter_text() {
                    changed = !f.is_empty();
                    f.clear();
                }
            }
            KeyCode::Backspace => {
                if let Some(f) = self.filter_text() {
                    changed = f.pop().is_some();
                }
            }
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                if let Some(f) = self.filter_text()
                    && f.chars().count() < 64
                    && !crate::text::is_unsafe(c)
                {
                    f.push(c);
                    changed = true;
                }
            }
            _ => {}
        }
        if changed {
            self.filter_changed()
        } else {
            Vec::new()
        }
    }

    fn filter_changed(&mut self) -> Vec<Request> {
        match self.screen().clone() {
            Screen::Overview => {
                self.overview.filter_changed();
                Vec::new()
            }
            Screen::Pdu { code, .. } => self.pdu.filter_changed(&code, &mut self.gens, self.size.1),
            Screen::Alerts => {
                self.alerts.filter_changed();
                Vec::new()
            }
            Screen::Case { .. } | Screen::Members { .. } => Vec::new(),
        }
    }

    fn act(&mut self, action: Action) -> Vec<Request> {
        match action {
            Action::Quit => {
                self.quit = true;
                Vec::new()
            }
            Action::Help => {
                self.help = Some(Help::default());
                Vec::new()
            }
            Action::Refresh => {
                self.message = Some("refreshed".into());
                self.refresh()
            }
            Action::Filter => {
                if self.filter_text().is_some() {
                    self.input = Input::Filter;
                }
                Vec::new()
            }
            Action::Allocate | Action::Oversight | Action::Note | Action::Undo
                if self.read_only =>
            {
                self.message = Some("read-only database: actions are refused".into());
                Vec::new()
            }
            Action::Acknowledge | Action::Silence if self.read_only => {
                self.message = Some("read-only database: actions are refused".into());
                Vec::new()
            }
            Action::ShowAlerts => {
                if !matches!(self.screen(), Screen::Alerts | Screen::Members { .. }) {
                    let home = self.current_pdu().map(|(code, _)| code.to_string());
                    self.alerts.show(home);
                    self.stack.push(Screen::Alerts);
                }
                self.refresh()
            }
            Action::Acknowledge => {
                self.open_ack();
                Vec::new()
            }
            Action::Silence => {
                self.open_silence();
                Vec::new()
            }
            Action::Allocate => self.open_allocate(),
            Action::Oversight => self.open_oversight(),
            Action::Note => {
                if let Some(crn) = self.focused_crn() {
                    self.popup = Some(Popup::Note(NotePopup::new(crn)));
                }
                Vec::new()
            }
            Action::Undo => self.undo(),
            Action::Mask => {
                self.mask = !self.mask;
                self.message = Some(if self.mask {
                    "names masked as initials".into()
                } else {
                    "names shown".into()
                });
                Vec::new()
            }
            _ => self.screen_act(action),
        }
    }

    /// An action of the screen on top: the screen's own, and Back, when the screen does not
    /// take it, goes back a screen.
    fn screen_act(&mut self, action: Action) -> Vec<Request> {
        let screen = self.screen().clone();
        let mut cx = Ctx::new(
            &mut self.gens,
            &mut self.message,
            self.size,
            self.mask,
            self.as_of,
        );
        let state = match &screen {
            Screen::Overview => self.overview.act(action, &mut self.region, &mut cx),
            Screen::Pdu { code, .. } => self.pdu.act(action, code, &mut cx),
            Screen::Case { .. } => self.case.act(action, &mut cx),
            Screen::Alerts => self.alerts.act(action, &self.region, &mut cx),
            Screen::Members { incident } => {
                self.members.act(action, incident, &self.region, &mut cx)
            }
        };
        let Ctx {
            mut requests, go, ..
        } = cx;
        if !state.is_consumed() && action == Action::Back {
            requests.extend(self.pop());
        }
        if let Some(go) = go {
            requests.extend(self.go(go));
        }
        requests
    }

    /// Opens a screen over the current one, as a screen asked.
    fn go(&mut self, go: Go) -> Vec<Request> {
        match go {
            Go::Pdu { code, name, tab } => {
                self.pdu.enter(&code, tab, &mut self.gens);
                self.stack.push(Screen::Pdu { code, name });
                self.refresh()
            }
            Go::Case(crn) => {
                self.stack.push(Screen::Case { crn });
                self.case.open();
                self.refresh()
            }
            // The incidents are loaded: the members show at once.
            Go::Members(incident) => {
                self.stack.push(Screen::Members { incident });
                self.members.selected = 0;
                Vec::new()
            }
        }
    }

    /// Back a screen, if there is one under this.
    fn pop(&mut self) -> Vec<Request> {
        if self.stack.len() <= 1 {
            return Vec::new();
        }
        // Back from an incident's members is instant: the incidents are loaded.
        let instant = matches!(self.screen(), Screen::Members { .. });
        self.stack.pop();
        self.case.scroll = 0;
        if instant {
            return Vec::new();
        }
        self.refresh()
    }

    /// The case an action applies to: the open case, or the selected row of a case table.
    pub fn focused_crn(&self) -> Option<String> {
        match self.screen() {
            Screen::Case { crn } => Some(crn.clone()),
            Screen::Members { .. } => self.selected_member().and_then(|a| a.crn.clone()),
            Screen::Pdu { .. } => self.pdu.focused_crn(),
            _ => None,
        }
    }

    /// Opens the acknowledgement form for the selected incident (or member).
    fn open_ack(&mut self) {
        let form = match self.screen() {
            Screen::Alerts => self.selected_incident().map(AckPopup::incident),
            Screen::Members { .. } => self.selected_member().map(AckPopup::member),
            _ => None,
        };
        match form {
            Some(Ok(p)) => self.popup = Some(Popup::Ack(p)),
            Some(Err(why)) => self.message = Some(why.into()),
            None => {}
        }
    }

    /// Opens the silence form for the selected incident, or for the selected member's case.
    fn open_silence(&mut self) {
        let (rule, pdu, crn) = match self.screen() {
            Screen::Alerts => match self.selected_incident() {
                Some(i) => (i.rule.clone(), i.pdu.clone(), None),
                None => return,
            },
            Screen::Members { .. } => match self.selected_member() {
                Some(a) => (a.rule.clone(), a.pdu.clone(), a.crn.clone()),
                None => return,
            },
            _ => return,
        };
        self.popup = Some(Popup::Silence(SilencePopup::new(
            rule, pdu, crn, self.as_of,
        )));
    }

    /// Opens the allocation form on the focused case and asks for its officers.
    fn open_allocate(&mut self) -> Vec<Request> {
        let Some(crn) = self.focused_crn() else {
            return Vec::new();
        };
        let generation = self.gens.stamp(Slot::Popup);
        self.popup = Some(Popup::Allocate(AllocatePopup::new(crn.clone())));
        vec![Request::Candidates { generation, crn }]
    }

    /// Opens the oversight form on the focused case and asks for the PDU's SPOs.
    fn open_oversight(&mut self) -> Vec<Request> {
        let (Some(crn), Some((pdu, _))) = (self.focused_crn(), self.current_pdu()) else {
            return Vec::new();
        };
        let pdu = pdu.to_string();
        let generation = self.gens.stamp(Slot::Popup);
        self.popup = Some(Popup::Oversight(OversightPopup::new(crn.clone())));
        vec![Request::Spos {
            generation,
            pdu,
            crn,
        }]
    }

    fn undo(&mut self) -> Vec<Request> {
        match self.last_action.take() {
            Some((audit_id, at, what))
                if at.elapsed() < UNDO_WINDOW.to_std().unwrap_or_default() =>
            {
                if !self.undo_armed {
                    // Say what would be undone and ask once.
                    self.message = Some(format!(
                        "undo the {what}? u again undoes; any other key keeps it"
                    ));
                    self.undo_armed = true;
                    self.last_action = Some((audit_id, at, what));
                    return Vec::new();
                }
                self.undo_armed = false;
                vec![Request::Act(Act::Undo { audit_id })]
            }
            Some(_) => {
                self.message = Some("too late to undo".into());
                Vec::new()
            }
            None => {
                self.message = Some("nothing to undo".into());
                Vec::new()
            }
        }
    }

    /// A key for the open form. Esc the form does not take closes it, writing nothing.
    fn popup_key(&mut self, k: KeyEvent) -> Vec<Request> {
        let Some(popup) = &mut self.popup else {
            return Vec::new();
        };
        let mut cx = Ctx::new(
            &mut self.gens,
            &mut self.message,
            self.size,
            self.mask,
            self.as_of,
        );
        let state = popup.key(k, &mut cx);
        let requests = cx.requests;
        if !state.is_consumed() && k.code == KeyCode::Esc {
            self.popup = None;
            self.message = Some("cancelled; nothing written".into());
        }
        requests
    }

    /// Asks for the rows the PDU's table on screen lacks.
    fn page_if_needed(&mut self) -> Vec<Request> {
        match self.screen().clone() {
            Screen::Pdu { code, .. } => self.pdu.page_if_needed(&code, &mut self.gens, self.size.1),
            _ => Vec::new(),
        }
    }

    /// Breadcrumbs, e.g. `Overview › HFKCW › Unallocated › X123456`.
    pub fn breadcrumbs(&self) -> String {
        let mut parts = Vec::new();
        for s in &self.stack {
            match s {
                Screen::Overview => parts.push("Overview".to_string()),
                Screen::Pdu { code, .. } => {
                    parts.push(code.clone());
                    parts.push(self.pdu.tab.title().to_string());
                }
                Screen::Case { crn } => parts.push(crn.clone()),
                Screen::Alerts => parts.push(match &self.alerts.scope {
                    Some(p) => format!("Alerts of {p}"),
                    None => "Alerts (region)".to_string(),
                }),
                Screen::Members { incident } => parts.push(incident.clone()),
            }
        }
        crate::text::sanitize(&parts.join(" › ")).into_owned()
    }

    pub fn context_for_hints(&self) -> Context {
        self.context()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{self, Candidate};
    use crate::alerts::{ReviewedAlert, Status as AlertStatus};
    use crate::domain::{AllocationReason, OversightKind};
    use crate::filter::CaseFilter;
    use crate::rules::{Level, Severity};
    use crate::store::read::{CaseRow, CaseSort, Page, PduSummary};
    use crate::tui::popups::help::help_overflow;
    use crate::tui::popups::{AllocateFocus, SilenceField};
    use crate::tui::screens::overview::OverviewSort;
    use crate::tui::worker::OverviewData;

    fn key(c: char) -> Msg {
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }
    fn code(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn summary(code: &str, mappa: u64, vac: f64) -> PduSummary {
        PduSummary {
            code: code.into(),
            name: format!("{code} name"),
            region: "London".into(),
            ppf_status: None,
            rating: None,
            score: None,
            score_max: None,
            inspected_on: None,
            cases: 100,
            unallocated: mappa * 3,
            unallocated_mappa: mappa,
            unallocated_high_rosh: 0,
            mappa_cases: 10,
            no_rosh: 0,
            oversight_required: 10,
            oversight_overdue: 1,
            contacts_overdue: 0,
            high_risk_contacts_overdue: 0,
            target_fte: 10.0,
            in_post_fte: 10.0 * (1.0 - vac),
            vacancy_rate: Some(vac),
            vacancy_by_grade: vec![],
            practitioners: 5,
            over_capacity: 0,
        }
    }

    fn alert(pdu: &str, severity: Severity) -> ReviewedAlert {
        ReviewedAlert {
            key: format!("r:{pdu}:-"),
            rule: "r".into(),
            severity,
            scope: crate::rules::Scope::Pdu,
            pdu: pdu.into(),
            crn: None,
            staff_code: None,
            status: AlertStatus::New,
            first_seen: "2026-01-01".into(),
            message: "m".into(),
            metrics: Default::default(),
            acknowledged: false,
            reopened: false,
            silenced_until: None,
        }
    }

    fn incident(pdu: &str, rule: &str, severity: Severity, members: &[&str]) -> Incident {
        Incident {
            key: format!("{rule}:{pdu}"),
            rule: rule.into(),
            severity,
            scope: crate::rules::Scope::Case,
            pdu: pdu.into(),
            status: AlertStatus::New,
            count: members.len() as u64,
            new_members: members.len() as u64,
            resolved_members: 0,
            first_seen: "2026-01-01".into(),
            nights: 1,
            oldest_days: 3,
            acknowledged: false,
            reopened: false,
            acknowledged_by: None,
            ack_note: None,
            silenced_until: None,
            escalated: false,
            message: format!("{rule} in {pdu}"),
            worst: None,
            members: members.iter().map(|m| m.to_string()).collect(),
            metrics: Default::default(),
        }
    }

    fn status(pdu: &str, status: Level, reason: &str) -> crate::incidents::PduStatus {
        crate::incidents::PduStatus {
            pdu: pdu.into(),
            status,
            status_reasons: vec![reason.into()],
        }
    }

    fn model_with_overview() -> Model {
        let mut m = Model::new("t.db".into(), NaiveDate::default(), false, (120, 40));
        let reqs = m.refresh();
        let generation = match &reqs[0] {
            Request::Overview { generation, .. } => *generation,
            r => panic!("{r:?}"),
        };
        m.update(Msg::Loaded(Response::Overview(
            generation,
            Ok(OverviewData {
                region: "London".into(),
                regions: vec!["London".into()],
                pdus: vec![
                    summary("AAA", 0, 0.1),
                    summary("HFKCW", 58, 0.43),
                    summary("BBB", 0, 0.35),
                ],
                alerts: vec![
                    alert("HFKCW", Severity::Critical),
                    alert("BBB", Severity::High),
                    // A critical case alert in AAA: it does not make AAA critical.
                    ReviewedAlert {
                        key: "case-rule:AAA:X000009".into(),
                        crn: Some("X000009".into()),
                        scope: crate::rules::Scope::Case,
                        ..alert("AAA", Severity::Critical)
                    },
                ],
                statuses: vec![
                    status(
                        "HFKCW",
                        Level::OrganisationalAlert,
                        "ORGANISATIONAL ALERT: 58 MAPPA",
                    ),
                    status("BBB", Level::Warning, "vacancy 35%"),
                    crate::incidents::PduStatus {
                        pdu: "AAA".into(),
                        status: Level::Ok,
                        status_reasons: vec![],
                    },
                ],
                incidents: vec![
                    incident(
                        "AAA",
                        "case-rule",
                        Severity::Critical,
                        &["case-rule:AAA:X000009"],
                    ),
                    incident("BBB", "r", Severity::High, &["r:BBB:-"]),
                    incident("HFKCW", "r", Severity::Critical, &["r:HFKCW:-"]),
                ],
                trends: Default::default(),
            }),
        )));
        m
    }

    #[test]
    fn overview_sorts_worst_first_and_s_cycles_the_column() {
        let mut m = model_with_overview();
        let codes = |m: &Model| -> Vec<String> {
            let o = m.region.data.as_ref().unwrap();
            m.overview
                .rows(&m.region)
                .iter()
                .map(|&i| o.pdus[i].code.clone())
                .collect()
        };
        assert_eq!(codes(&m), ["HFKCW", "BBB", "AAA"]);
        m.update(key('s'));
        assert_eq!(m.overview.sort, OverviewSort::Pdu);
        assert_eq!(codes(&m), ["AAA", "BBB", "HFKCW"]);
        m.update(key('S'));
        assert_eq!(codes(&m), ["HFKCW", "BBB", "AAA"]);
    }

    #[test]
    fn enter_opens_the_selected_pdu_on_today_and_2_asks_for_the_first_page() {
        let mut m = model_with_overview();
        let reqs = m.update(code(KeyCode::Enter));
        assert_eq!(m.current_pdu().map(|p| p.0), Some("HFKCW"));
        assert!(
            matches!(&reqs[..], [Request::Today { pdu, .. }] if pdu == "HFKCW"),
            "{reqs:?}"
        );
        assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Today");
        let reqs = m.update(key('2'));
        assert!(matches!(
            &reqs[..],
            [Request::Page { list: CaseList::Unallocated, query, .. }] if query.offset == 0
        ));
        assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Unallocated");
        m.update(key('4'));
        assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Oversight overdue");
        m.update(code(KeyCode::Esc));
        assert_eq!(m.screen(), &Screen::Overview);
    }

    #[test]
    fn stale_answers_are_dropped() {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
        m.update(key('2'));
        let old = m.gens.pages[0];
        // A newer request supersedes the first.
        let reqs = m.update(key('s'));
        assert_eq!(reqs.len(), 1);
        m.update(Msg::Loaded(Response::Page(
            old,
            CaseList::Unallocated,
            Ok(Page {
                total: 99,
                offset: 0,
                rows: vec![],
            }),
        )));
        assert_eq!(
            m.pdu.tables[0].total, None,
            "the stale page must not be shown"
        );
    }

    #[test]
    fn while_filtering_letters_are_text_not_commands() {
        let mut m = model_with_overview();
        m.update(key('/'));
        assert_eq!(m.input, Input::Filter);
        for c in "hfq".chars() {
            m.update(key(c));
        }
        assert!(!m.quit, "q typed into the filter must not quit");
        assert_eq!(m.overview.filter, "hfq");
        m.update(code(KeyCode::Backspace));
        m.update(code(KeyCode::Enter));
        assert_eq!(m.input, Input::Normal);
        assert_eq!(m.overview.rows(&m.region).len(), 1);
        m.update(key('/'));
        m.update(code(KeyCode::Esc));
        assert_eq!(m.overview.filter, "");
        assert_eq!(m.overview.rows(&m.region).len(), 3);
    }

    #[test]
    fn help_opens_with_question_mark_and_any_key_closes_it() {
        let mut m = model_with_overview();
        m.update(key('?'));
        assert!(m.help.is_some());
        m.update(key('j'));
        assert!(m.help.is_none());
        assert_eq!(m.overview.selected, 0, "the closing key is not also a move");
        m.update(key('q'));
        assert!(m.quit);
    }

    #[test]
    fn moving_past_the_loaded_window_asks_for_the_next_page() {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
        let reqs = m.update(key('2'));
        let Request::Page {
            generation, query, ..
        } = &reqs[0]
        else {
            panic!()
        };
        let rows: Vec<CaseRow> = (0..query.limit)
            .map(|i| CaseRow {
                crn: format!("X{i:06}"),
                name: "n".into(),
                pdu: "HFKCW".into(),
                team: None,
                tier: "A1".into(),
                rosh: None,
                mappa: crate::domain::Mappa::NONE,
                case_type: None,
                allocated_to: None,
                allocated_on: None,
                unallocated_since: None,
                days: Some(1),
                due: None,
            })
            .collect();
        let n = rows.len() as u64;
        m.update(Msg::Loaded(Response::Page(
            *generation,
            CaseList::Unallocated,
            Ok(Page {
                total: 10_000,
                offset: 0,
                rows,
            }),
        )));
        assert!(m.update(key('j')).is_empty(), "row 1 is loaded");
        let mut asked = Vec::new();
        for _ in 0..n {
            asked.extend(m.update(code(KeyCode::PageDown)));
            if !asked.is_empty() {
                break;
            }
        }
        assert!(
            matches!(&asked[..], [Request::Page { query, .. }] if query.offset > 0),
            "{asked:?}"
        );
        m.update(key('G'));
        assert_eq!(m.pdu.tables[0].selected, 9_999);
    }

    fn candidate(code: &str, not_suitable: &[&str]) -> Candidate {
        Candidate {
            staff_code: code.into(),
            name: "N".into(),
            grade: crate::domain::Grade::Po,
            team: Some("North A".into()),
            status: crate::domain::PractitionerStatus::InPost,
            contracted_hours: 37.0,
            caseload: 1,
            high_risk_cases: 0,
            capacity_now: Some(50.0),
            capacity_after: Some(60.0),
            not_suitable: not_suitable.iter().map(|w| w.to_string()).collect(),
            warnings: Vec::new(),
            previously_managed_until: None,
        }
    }

    fn picker(allocated_to: Option<&str>, list: Vec<Candidate>) -> Box<actions::Picker> {
        let suitable = list.iter().take_while(|c| c.is_suitable()).count();
        Box::new(actions::Picker {
            case: actions::CaseFacts {
                crn: "X000001".into(),
                pdu: "P".into(),
                team: None,
                tier: "A2".parse().ok(),
                rosh: Some(crate::domain::Rosh::VeryHigh),
                mappa: crate::domain::Mappa::new(1, 2).unwrap(),
                allocated_to: allocated_to.map(str::to_string),
                allocated_on: allocated_to.map(|_| NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
                unallocated_since: None,
            },
            holder: None,
            candidates: list,
            suitable,
            rationale_required: true,
        })
    }

    fn model_on_a_case() -> Model {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
        m.stack.push(Screen::Case {
            crn: "X000001".into(),
        });
        m
    }

    fn open_picker(m: &mut Model, p: Box<actions::Picker>) {
        let reqs = m.update(key('a'));
        let Some(Request::Candidates { generation, crn }) = reqs.first().cloned() else {
            panic!("{reqs:?}")
        };
        assert_eq!(crn, "X000001");
        m.update(Msg::Loaded(Response::Candidates(generation, Ok(p))));
    }

    fn type_text(m: &mut Model, text: &str) {
        for c in text.chars() {
            m.update(key(c));
        }
    }

    #[test]
    fn the_rationale_is_asked_for_and_an_unsuitable_choice_needs_a_second_enter() {
        let mut m = model_on_a_case();
        open_picker(
            &mut m,
            picker(
                None,
                vec![candidate("PO1", &[]), candidate("PSO1", &["a PSO"])],
            ),
        );
        // Enter without a rationale asks for it and moves the typing there.
        assert!(m.update(code(KeyCode::Enter)).is_empty());
        assert!(
            matches!(&m.popup, Some(Popup::Allocate(p)) if p.focus == AllocateFocus::Rationale)
        );
        type_text(&mut m, "knows the family; jk");
        // Letters went into the rationale, not the list.
        assert!(matches!(&m.popup, Some(Popup::Allocate(p)) if p.selected == 0));
        m.update(code(KeyCode::Down));
        assert!(
            m.update(code(KeyCode::Enter)).is_empty(),
            "first Enter on an unsuitable officer only asks"
        );
        let reqs = m.update(code(KeyCode::Enter));
        assert!(
            matches!(&reqs[..], [Request::Act(Act::Allocate(a))]
                if a.staff_code == "PSO1" && a.confirmed
                    && a.note.as_deref() == Some("knows the family; jk")
                    && a.expect == Some(actions::Holding::unallocated())),
            "{reqs:?}"
        );
        // A suitable officer goes on the first Enter.
        m.update(code(KeyCode::Up));
        let reqs = m.update(code(KeyCode::Enter));
        assert!(
            matches!(&reqs[..], [Request::Act(Act::Allocate(a))] if a.staff_code == "PO1" && !a.confirmed),
            "{reqs:?}"
        );
    }

    #[test]
    fn the_oversight_form_starts_on_me_and_on_allocation_when_that_is_due() {
        let mut m = model_on_a_case();
        let reqs = m.update(key('o'));
        let Some(Request::Spos {
            generation, crn, ..
        }) = reqs.first().cloned()
        else {
            panic!("{reqs:?}")
        };
        let case = picker(Some("PO1"), Vec::new()).case;
        m.update(Msg::Loaded(Response::Spos(
            generation,
            Ok(Box::new(super::super::worker::SpoForm {
                spos: vec![("SPO1".into(), "A".into()), ("SPO2".into(), "B".into())],
                case,
                me: Some("SPO2".into()),
                allocation_due: true,
            })),
        )));
        let Some(Popup::Oversight(p)) = &m.popup else {
            panic!("no form")
        };
        assert_eq!(crn, "X000001");
        assert_eq!(p.selected, 1, "the acting SPO is chosen");
        assert_eq!(p.kind, OversightKind::Allocation);
        type_text(&mut m, "reviewed the plan");
        let reqs = m.update(code(KeyCode::Enter));
        assert!(
            matches!(&reqs[..], [Request::Act(Act::Oversight(o))]
                if o.by == "SPO2" && o.expect.as_ref().and_then(|h| h.allocated_to.as_deref()) == Some("PO1")),
            "{reqs:?}"
        );
    }

    #[test]
    fn the_picker_filters_pages_and_esc_leaves_the_filter_before_the_form() {
        let mut m = model_on_a_case();
        let list: Vec<Candidate> = (0..30)
            .map(|i| candidate(&format!("PO{i:02}"), &[]))
            .collect();
        open_picker(&mut m, picker(None, list));
        m.update(code(KeyCode::PageDown));
        m.update(key('G'));
        assert!(matches!(&m.popup, Some(Popup::Allocate(p)) if p.selected == 29));
        m.update(key('/'));
        type_text(&mut m, "po2");
        assert!(matches!(&m.popup, Some(Popup::Allocate(p)) if p.visible().len() == 10));
        m.update(code(KeyCode::Esc));
        assert!(
            matches!(&m.popup, Some(Popup::Allocate(p)) if p.filter.is_empty() && p.focus == AllocateFocus::List)
        );
        m.update(code(KeyCode::Esc));
        assert!(m.popup.is_none());
    }

    #[test]
    fn a_conflict_keeps_the_form_open_says_what_changed_and_reloads_the_case() {
        let mut m = model_on_a_case();
        open_picker(&mut m, picker(None, vec![candidate("PO1", &[])]));
        m.update(code(KeyCode::Tab));
        type_text(&mut m, "why");
        let reqs = m.update(code(KeyCode::Enter));
        assert!(matches!(&reqs[..], [Request::Act(Act::Allocate(_))]));
        let reqs = m.update(Msg::Loaded(Response::Conflict(
            "the case changed since it was read: it was unallocated, it is now allocated to PO9 (by bob)".into(),
        )));
        let Some(Popup::Allocate(p)) = &m.popup else {
            panic!("the form stays open")
        };
        assert!(p.changed.as_deref().unwrap_or("").contains("bob"));
        assert!(p.picker.is_none() && p.note == "why");
        let Some(Request::Candidates { generation, .. }) = reqs
            .iter()
            .find(|r| matches!(r, Request::Candidates { .. }))
            .cloned()
        else {
            panic!("{reqs:?}")
        };
        // On the fresh state the form is a reallocation and the reason is no longer initial.
        m.update(Msg::Loaded(Response::Candidates(
            generation,
            Ok(picker(Some("PO9"), vec![candidate("PO1", &[])])),
        )));
        assert!(matches!(&m.popup, Some(Popup::Allocate(p))
            if p.reason != AllocationReason::InitialAllocation && p.picker.is_some()));
    }

    #[test]
    fn esc_cancels_a_form_and_letters_typed_in_it_are_text() {
        let mut m = model_on_a_case();
        m.update(key('n'));
        for c in "q a o".chars() {
            assert!(m.update(key(c)).is_empty());
        }
        assert!(!m.quit);
        assert!(matches!(&m.popup, Some(Popup::Note(p)) if p.text == "q a o"));
        m.update(code(KeyCode::Esc));
        assert!(m.popup.is_none());
    }

    #[test]
    fn a_done_action_can_be_undone_once() {
        let mut m = model_on_a_case();
        assert!(m.update(key('u')).is_empty(), "nothing to undo yet");
        m.update(Msg::Loaded(Response::Acted(Ok(
            super::super::worker::Acted {
                audit_id: 7,
                words: "allocated",
                undoable: true,
                what: "allocation of X000001 to PO1".into(),
            },
        ))));
        assert!(m.message.as_deref().unwrap_or("").contains("audit #7"));
        // The first u says what it would undo and asks.
        assert!(m.update(key('u')).is_empty());
        assert!(
            m.message
                .as_deref()
                .unwrap_or("")
                .contains("allocation of X000001 to PO1"),
            "{:?}",
            m.message
        );
        let reqs = m.update(key('u'));
        assert!(
            matches!(&reqs[..], [Request::Act(Act::Undo { audit_id: 7 })]),
            "{reqs:?}"
        );
        assert!(m.update(key('u')).is_empty(), "only once");
    }

    #[test]
    fn bang_opens_alerts_from_anywhere_and_a_acknowledges_with_a_note() {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
        m.update(key('!'));
        assert_eq!(m.screen(), &Screen::Alerts);
        assert_eq!(
            m.breadcrumbs(),
            "Overview › HFKCW › Today › Alerts of HFKCW"
        );
        m.update(key('A'));
        for c in "briefed".chars() {
            m.update(key(c));
        }
        let reqs = m.update(code(KeyCode::Enter));
        assert!(
            matches!(&reqs[..], [Request::Act(Act::Ack { key, note })] if key == "r:HFKCW" && note == "briefed"),
            "{reqs:?}"
        );
        // A refusal stays in the form, in words.
        m.update(Msg::Loaded(Response::Acted(Err("no open alert".into()))));
        assert!(
            matches!(&m.popup, Some(Popup::Ack(p)) if p.error.as_deref() == Some("no open alert"))
        );
    }

    #[test]
    fn overview_status_comes_from_the_review_statuses_not_from_any_critical_alert() {
        let m = model_with_overview();
        // AAA has an open critical case alert, and no PDU rule holds for it.
        assert_eq!(m.region.pdu_status("AAA"), Level::Ok);
        assert_eq!(m.region.pdu_status("HFKCW"), Level::OrganisationalAlert);
        assert_eq!(m.region.pdu_status("BBB"), Level::Warning);
        assert_eq!(m.region.pdu_alert_counts("AAA"), (1, 0, 0));
        assert_eq!(m.region.pdu_reason("BBB"), Some("vacancy 35%"));
        assert_eq!(
            m.region.level_counts(),
            [
                (Level::OrganisationalAlert, 1),
                (Level::Critical, 0),
                (Level::Warning, 1),
                (Level::Ok, 1)
            ]
        );
    }

    fn incident_keys(m: &Model) -> Vec<String> {
        let o = m.region.data.as_ref().unwrap();
        m.alerts
            .rows(&m.region)
            .iter()
            .map(|&i| o.incidents[i].key.clone())
            .collect()
    }

    #[test]
    fn alerts_from_a_pdu_show_its_incidents_and_w_widens_to_the_region_worst_first() {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
        m.update(key('!'));
        assert_eq!(m.alerts.scope.as_deref(), Some("HFKCW"));
        assert_eq!(incident_keys(&m), ["r:HFKCW"]);
        m.update(key('w'));
        assert_eq!(m.alerts.scope, None);
        // The PDU's status first: AAA's critical incident comes after BBB's high one,
        // because BBB is at WARN and AAA is OK.
        assert_eq!(incident_keys(&m), ["r:HFKCW", "r:BBB", "case-rule:AAA"]);
        m.update(key('w'));
        assert_eq!(incident_keys(&m), ["r:HFKCW"]);
        // From the overview there is no PDU: the whole region, and w says so.
        let mut m = model_with_overview();
        m.update(key('!'));
        assert_eq!(m.alerts.scope, None);
        assert_eq!(incident_keys(&m).len(), 3);
        m.update(key('w'));
        assert_eq!(incident_keys(&m).len(), 3);
        assert!(m.message.as_deref().unwrap_or("").contains("whole region"));
    }

    #[test]
    fn enter_on_an_incident_lists_its_members_and_esc_goes_back() {
        let mut m = model_with_overview();
        m.update(key('!'));
        m.update(key('G'));
        assert_eq!(m.selected_incident().unwrap().key, "case-rule:AAA");
        let reqs = m.update(code(KeyCode::Enter));
        assert!(reqs.is_empty(), "the members are already loaded");
        assert_eq!(
            m.screen(),
            &Screen::Members {
                incident: "case-rule:AAA".into()
            }
        );
        assert_eq!(
            m.breadcrumbs(),
            "Overview › Alerts (region) › case-rule:AAA"
        );
        assert_eq!(m.selected_member().unwrap().key, "case-rule:AAA:X000009");
        assert_eq!(m.focused_crn().as_deref(), Some("X000009"));
        // A acknowledges the member, not the incident.
        m.update(key('A'));
        assert!(matches!(&m.popup, Some(Popup::Ack(p)) if p.key == "case-rule:AAA:X000009"));
        m.update(code(KeyCode::Esc));
        // Enter on a member opens its case.
        m.update(code(KeyCode::Enter));
        assert_eq!(
            m.screen(),
            &Screen::Case {
                crn: "X000009".into()
            }
        );
        m.update(code(KeyCode::Esc));
        m.update(code(KeyCode::Esc));
        assert_eq!(m.screen(), &Screen::Alerts);
        assert_eq!(m.selected_incident().unwrap().key, "case-rule:AAA");
    }

    #[test]
    fn s_silences_the_selected_incident_with_a_date_and_a_reason() {
        let mut m = model_with_overview();
        m.as_of = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        m.update(key('!'));
        m.update(key('S'));
        let Some(Popup::Silence(p)) = &m.popup else {
            panic!("{:?}", m.popup)
        };
        assert_eq!(
            (p.until.as_str(), p.field),
            ("2026-11-08", SilenceField::Reason)
        );
        // No reason: refused in the form, nothing sent.
        assert!(m.update(code(KeyCode::Enter)).is_empty());
        assert!(matches!(&m.popup, Some(Popup::Silence(p)) if p.error.is_some()));
        for c in "agreed with ACO".chars() {
            m.update(key(c));
        }
        // A bad date: refused in the form.
        m.update(code(KeyCode::Tab));
        for _ in 0..3 {
            m.update(code(KeyCode::Backspace));
        }
        assert!(m.update(code(KeyCode::Enter)).is_empty());
        assert!(
            matches!(&m.popup, Some(Popup::Silence(p)) if p.error.as_deref().unwrap_or("").contains("date"))
        );
        for c in "-20".chars() {
            m.update(key(c));
        }
        let reqs = m.update(code(KeyCode::Enter));
        assert!(
            matches!(&reqs[..], [Request::Act(Act::Silence { rule, pdu, crn: None, until, reason })]
                if rule == "r" && pdu == "HFKCW" && until.to_string() == "2026-11-20" && reason == "agreed with ACO"),
            "{reqs:?}"
        );
        // The library's refusal is shown in the form.
        m.update(Msg::Loaded(Response::Silenced(Err("too far".into()))));
        assert!(
            matches!(&m.popup, Some(Popup::Silence(p)) if p.error.as_deref() == Some("too far"))
        );
        let reqs = m.update(Msg::Loaded(Response::Silenced(Ok(4))));
        assert!(m.popup.is_none());
        assert!(m.message.as_deref().unwrap_or("").contains("silence #4"));
        assert!(matches!(&reqs[..], [Request::Overview { .. }]), "{reqs:?}");
    }

    #[test]
    fn a_write_by_another_process_refreshes_the_list_and_the_figures_above_it() {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
        m.update(key('2'));
        let reqs = m.update(Msg::Loaded(Response::DataChanged));
        assert!(
            matches!(
                &reqs[..],
                [
                    Request::Page {
                        list: CaseList::Unallocated,
                        ..
                    },
                    Request::Overview {
                        region: Some(_),
                        ..
                    }
                ]
            ),
            "{reqs:?}"
        );
        m.stack.truncate(1);
        let reqs = m.update(Msg::Loaded(Response::DataChanged));
        assert!(matches!(&reqs[..], [Request::Overview { .. }]), "{reqs:?}");
        m.update(key('!'));
        let reqs = m.update(Msg::Loaded(Response::DataChanged));
        assert!(matches!(&reqs[..], [Request::Overview { .. }]), "{reqs:?}");
    }

    fn typed(m: &mut Model, text: &str) -> Vec<Request> {
        let mut reqs = Vec::new();
        for c in text.chars() {
            reqs.extend(m.update(key(c)));
        }
        reqs
    }

    /// The filter of the one page request in `reqs`.
    fn asked_filter(reqs: &[Request]) -> Option<CaseFilter> {
        match reqs {
            [Request::Page { query, .. }] => Some(query.filter.clone()),
            _ => None,
        }
    }

    fn parsed(text: &str) -> CaseFilter {
        crate::filter::parse(text).unwrap()
    }

    #[test]
    fn a_filter_with_a_bad_term_is_said_in_words_and_not_applied() {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
        m.update(key('2'));
        m.update(key('/'));
        let reqs = typed(&mut m, "rosh:high+");
        assert_eq!(
            asked_filter(&reqs[reqs.len() - 1..]),
            Some(parsed("rosh:high+"))
        );
        // An unknown key: the error in words, and only the good terms asked for.
        let reqs = typed(&mut m, " foo:bar");
        assert_eq!(
            asked_filter(&reqs[reqs.len() - 1..]),
            Some(parsed("rosh:high+")),
            "{reqs:?}"
        );
        let t = &m.pdu.tables[0];
        assert!(
            t.filter_error
                .as_deref()
                .is_some_and(|e| e.contains("foo:bar") && e.contains("unknown key")),
            "{:?}",
            t.filter_error
        );
        assert_eq!(t.applied, parsed("rosh:high+"));
        // Mended, it applies.
        for _ in 0..8 {
            m.update(code(KeyCode::Backspace));
        }
        let reqs = typed(&mut m, " mappa:2");
        assert_eq!(
            asked_filter(&reqs[reqs.len() - 1..]),
            Some(parsed("rosh:high+ mappa:2"))
        );
        assert_eq!(m.pdu.tables[0].filter_error, None);
    }

    #[test]
    fn esc_clears_a_kept_filter_then_leaves_the_view() {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
        m.update(key('2'));
        m.update(key('/'));
        typed(&mut m, "unallocated");
        m.update(code(KeyCode::Enter));
        assert_eq!(m.input, Input::Normal);
        let reqs = m.update(code(KeyCode::Esc));
        assert_eq!(asked_filter(&reqs), Some(CaseFilter::default()), "{reqs:?}");
        assert!(matches!(m.screen(), Screen::Pdu { .. }), "still on the PDU");
        assert_eq!(m.pdu.tables[0].filter, "");
        m.update(code(KeyCode::Esc));
        assert_eq!(m.screen(), &Screen::Overview);
        // The same on the incidents: the first Esc clears the filter.
        m.update(key('!'));
        m.update(key('/'));
        typed(&mut m, "hf");
        m.update(code(KeyCode::Enter));
        m.update(code(KeyCode::Esc));
        assert_eq!(
            (m.screen(), m.alerts.filter.as_str()),
            (&Screen::Alerts, "")
        );
        m.update(code(KeyCode::Esc));
        assert_eq!(m.screen(), &Screen::Overview);
    }

    #[test]
    fn each_tab_keeps_its_filter_sort_and_place_and_each_pdu_its_tabs() {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
        m.update(key('2'));
        m.update(key('/'));
        typed(&mut m, "tier:A");
        m.update(code(KeyCode::Enter));
        m.update(key('3'));
        m.update(key('s'));
        m.update(key('S'));
        m.pdu.tables[1].selected = 4;
        // Back to 2: its own filter, the default sort.
        let reqs = m.update(key('2'));
        let [Request::Page { query, .. }] = &reqs[..] else {
            panic!("{reqs:?}")
        };
        assert_eq!(
            (query.filter.clone(), query.sort, query.reverse),
            (parsed("tier:A"), CaseSort::Risk, false)
        );
        // And 3: its sort, reversed, no filter, its row.
        let reqs = m.update(key('3'));
        let [Request::Page { query, .. }] = &reqs[..] else {
            panic!("{reqs:?}")
        };
        assert_eq!(
            (query.filter.clone(), query.sort, query.reverse),
            (CaseFilter::default(), CaseSort::Days, true)
        );
        assert_eq!(m.pdu.tables[1].selected, 4);
        // Another PDU starts afresh...
        m.update(code(KeyCode::Esc));
        assert_eq!(m.screen(), &Screen::Overview);
        m.update(key('j'));
        m.update(code(KeyCode::Enter));
        assert_eq!(m.current_pdu().map(|p| p.0), Some("BBB"));
        assert_eq!(m.pdu.tables[0].filter, "");
        assert_eq!(m.pdu.tables[1].sort, CaseSort::Risk);
        // ...and the first comes back as it was left, without its old rows.
        m.update(code(KeyCode::Esc));
        m.update(key('k'));
        m.update(code(KeyCode::Enter));
        assert_eq!(m.current_pdu().map(|p| p.0), Some("HFKCW"));
        assert_eq!(
            (m.pdu.tables[0].filter.as_str(), &m.pdu.tables[0].applied),
            ("tier:A", &parsed("tier:A"))
        );
        assert_eq!(
            (
                m.pdu.tables[1].sort,
                m.pdu.tables[1].reverse,
                m.pdu.tables[1].selected
            ),
            (CaseSort::Days, true, 4)
        );
        assert_eq!(m.pdu.tables[0].total, None);
    }

    #[test]
    fn an_answer_for_the_last_pdu_does_not_land_in_the_next() {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
        let reqs = m.update(key('2'));
        let [Request::Page { generation, .. }] = &reqs[..] else {
            panic!("{reqs:?}")
        };
        let generation = *generation;
        m.update(code(KeyCode::Esc));
        m.update(key('j'));
        m.update(code(KeyCode::Enter));
        m.update(Msg::Loaded(Response::Page(
            generation,
            CaseList::Unallocated,
            Ok(Page {
                total: 7,
                offset: 0,
                rows: vec![],
            }),
        )));
        assert_eq!(m.pdu.tables[0].total, None);
    }

    #[test]
    fn capital_u_shows_only_unallocated_mappa_cases_and_back() {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
        m.update(key('2'));
        assert!(m.update(key('U')).is_empty(), "not on the MAPPA tab");
        assert!(m.message.as_deref().unwrap_or("").contains("MAPPA tab"));
        m.update(key('3'));
        m.update(key('/'));
        typed(&mut m, "rosh:high");
        m.update(code(KeyCode::Enter));
        let reqs = m.update(key('U'));
        assert_eq!(
            asked_filter(&reqs),
            Some(parsed("rosh:high unallocated")),
            "the toggle adds to the filter"
        );
        assert!(m.pdu.tables[1].unallocated_only);
        assert!(
            m.message
                .as_deref()
                .unwrap_or("")
                .contains("unallocated cases only")
        );
        let reqs = m.update(key('U'));
        assert_eq!(asked_filter(&reqs), Some(parsed("rosh:high")));
    }

    #[test]
    fn e_exports_the_case_table_as_shown_and_masked_when_the_screen_is() {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
        m.update(key('3'));
        m.update(key('/'));
        typed(&mut m, "tier:A");
        m.update(code(KeyCode::Enter));
        m.update(key('U'));
        m.update(key('s'));
        m.update(key('m'));
        let reqs = m.update(key('e'));
        let [
            Request::ExportCases {
                pdu,
                list,
                query,
                mask,
            },
        ] = &reqs[..]
        else {
            panic!("{reqs:?}")
        };
        assert_eq!(
            (pdu.as_str(), *list, *mask),
            ("HFKCW", CaseList::Mappa, true)
        );
        assert_eq!(query.filter, parsed("tier:A unallocated"));
        assert_eq!(
            (query.sort, query.offset, query.limit),
            (CaseSort::Days, 0, u64::MAX)
        );
        // The staffing tab exports its practitioners, masked too.
        m.update(key('6'));
        let reqs = m.update(key('e'));
        assert!(
            matches!(&reqs[..], [Request::Export { view: crate::export::View::Practitioners, pdu: Some(p), mask: true }] if p == "HFKCW"),
            "{reqs:?}"
        );
        // The status line says how many rows, whether masked, and where.
        m.update(Msg::Loaded(Response::Exported(Ok(
            super::super::worker::Exported {
                path: "/tmp/x.csv".into(),
                rows: 65,
                masked: Some(true),
            },
        ))));
        assert_eq!(
            m.message.as_deref(),
            Some("exported 65 rows, names masked as initials, to /tmp/x.csv")
        );
        // On a narrow screen the file's name, in the working directory, so nothing is cut.
        let x = super::super::worker::Exported {
            path: "/home/spo/some/long/folder/casewatch-HFKCW-practitioners-2026-11-01.csv".into(),
            rows: 105,
            masked: Some(false),
        };
        let words = exported_words(&x, 80);
        assert_eq!(
            words,
            "exported 105 rows (full names) to ./casewatch-HFKCW-practitioners-2026-11-01.csv"
        );
        assert!(words.chars().count() <= 80);
    }

    #[test]
    fn e_on_the_overview_exports_its_pdus_as_filtered_and_sorted() {
        let mut m = model_with_overview();
        m.update(key('s'));
        let reqs = m.update(key('e'));
        assert!(
            matches!(&reqs[..], [Request::ExportSummary { codes }] if codes == &["AAA", "BBB", "HFKCW"]),
            "{reqs:?}"
        );
        m.update(key('/'));
        typed(&mut m, "b");
        m.update(code(KeyCode::Enter));
        let reqs = m.update(key('e'));
        assert!(
            matches!(&reqs[..], [Request::ExportSummary { codes }] if codes == &["BBB"]),
            "{reqs:?}"
        );
    }

    #[test]
    fn a_help_taller_than_the_screen_scrolls_and_other_keys_close_it() {
        let mut m = model_with_overview();
        m.update(Msg::Resize(80, 24));
        m.update(code(KeyCode::Enter));
        m.update(key('?'));
        assert!(
            help_overflow(Context::Pdu, 24) > 0,
            "the PDU help is taller than 24 lines"
        );
        m.update(key('j'));
        assert!(m.help.is_some());
        assert_eq!(m.help.as_ref().map(|h| h.scroll), Some(1));
        m.update(key('G'));
        assert!(m.help.is_none(), "keys other than moves close it");
        // At 120x40 it fits, and any key closes it, as before.
        m.update(Msg::Resize(120, 40));
        assert_eq!(help_overflow(Context::Pdu, 40), 0);
        m.update(key('?'));
        m.update(key('j'));
        assert!(m.help.is_none());
    }

    #[test]
    fn m_masks_names() {
        let mut m = model_with_overview();
        assert!(!m.mask);
        m.update(key('m'));
        assert!(m.mask);
    }
}
