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
use crate::risk_lists::RiskList;
use crate::store::read::CaseList;

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
    /// Incidents, of one PDU or the whole region (see [`Alerts::scope`]).
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
    /// The last news of the server the status line gave (PostgreSQL), so that later news
    /// replaces it but never a write's own words.
    pub live_said: Option<String>,
    /// The region as last read, which every screen shows part of.
    pub region: Region,
    // Each screen's own state, kept while it is under another.
    pub overview: Overview,
    pub pdu: Pdu,
    pub case: Case,
    /// The incidents, then one incident's members.
    pub alerts: Alerts,
    pub members: Members,
    /// The form open over the screen, which takes every key.
    pub popup: Option<Popup>,
    pub mask: bool,
    /// The database could only be opened for reading: actions are refused.
    pub read_only: bool,
    /// The audit id of this session's last action, when it was done and what it was, for
    /// undo.
    pub last_action: Option<(i64, std::time::Instant, String)>,
    /// `u` was pressed once and asked; `u` again undoes, any other key keeps the action.
    pub undo_armed: bool,
    /// The newest request per slot, so that stale answers are dropped.
    gens: Gens,
}

/// A kind of request of which only the newest answer is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Overview,
    Page(CaseList),
    /// A window of a risk list (the Risk checks and Custody & release tabs).
    List(RiskList),
    Staffing,
    /// The Support tab's comparison, and its drill-in.
    Support,
    Caseload,
    Equity,
    Chart,
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
    lists: [u64; 2],
    staffing: u64,
    support: u64,
    caseload: u64,
    equity: u64,
    chart: u64,
    today: u64,
    case: u64,
    popup: u64,
}

impl Gens {
    fn slot_mut(&mut self, slot: Slot) -> &mut u64 {
        match slot {
            Slot::Overview => &mut self.overview,
            Slot::Page(list) => &mut self.pages[list_index(list)],
            Slot::List(list) => &mut self.lists[list.index()],
            Slot::Staffing => &mut self.staffing,
            Slot::Support => &mut self.support,
            Slot::Caseload => &mut self.caseload,
            Slot::Equity => &mut self.equity,
            Slot::Chart => &mut self.chart,
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
            Slot::List(list) => self.lists[list.index()],
            Slot::Staffing => self.staffing,
            Slot::Support => self.support,
            Slot::Caseload => self.caseload,
            Slot::Equity => self.equity,
            Slot::Chart => self.chart,
            Slot::Today => self.today,
            Slot::Case => self.case,
            Slot::Popup => self.popup,
        };
        newest == generation
    }

    /// Drops the case tables' and risk lists' answers still on their way: they are for
    /// another PDU.
    pub fn forget_pages(&mut self) {
        self.pages = [0; 4];
        self.lists = [0; 2];
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
            live_said: None,
            region: Region::default(),
            overview: Overview::default(),
            pdu: Pdu::default(),
            alerts: Alerts::default(),
            members: Members::default(),
            case: Case::default(),
            popup: None,
            mask: false,
            read_only: false,
            last_action: None,
            undo_armed: false,
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
                self.region_loaded(result)
            }
            Response::Page(generation, list, result)
                if self.gens.is_current(Slot::Page(list), generation) =>
            {
                self.pdu.page_loaded(list, result);
                self.pdu.clamp_scroll(self.size.1);
                return self.page_if_needed();
            }
            Response::Checks(generation, result)
                if self
                    .gens
                    .is_current(Slot::List(RiskList::Checks), generation) =>
            {
                self.pdu.checks.loaded(result);
                self.pdu.clamp_scroll(self.size.1);
                return self.page_if_needed();
            }
            Response::Releases(generation, result)
                if self
                    .gens
                    .is_current(Slot::List(RiskList::Release), generation) =>
            {
                self.pdu.release.loaded(result);
                self.pdu.clamp_scroll(self.size.1);
                return self.page_if_needed();
            }
            Response::Staffing(generation, result)
                if self.gens.is_current(Slot::Staffing, generation) =>
            {
                self.pdu.staffing.loaded(result)
            }
            Response::Support(generation, result)
                if self.gens.is_current(Slot::Support, generation) =>
            {
                self.pdu.support.loaded(result)
            }
            Response::Caseload(generation, result)
                if self.gens.is_current(Slot::Caseload, generation) =>
            {
                self.pdu.support.caseload_loaded(result)
            }
            Response::Chart(generation, result)
                if self.gens.is_current(Slot::Chart, generation) =>
            {
                self.pdu.chart.loaded(result)
            }
            Response::Equity(generation, result)
                if self.gens.is_current(Slot::Equity, generation) =>
            {
                self.pdu.support.groups_loaded(result)
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
                            self.message = Some(e.to_string());
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
            Response::Refreshed(why) => {
                // A write's own words ("allocated ...") stay until the next key; news of the
                // server replaces news of the server. (No words: only other PDUs changed.)
                if let Some(why) = why
                    && (self.message.is_none() || self.message == self.live_said)
                {
                    self.message = Some(why);
                    self.live_said.clone_from(&self.message);
                }
                return self.refresh_all();
            }
            Response::Live(what) => {
                self.message = Some(what);
                self.live_said.clone_from(&self.message);
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

    /// The region arrived: each screen's selection stays within its rows.
    fn region_loaded(
        &mut self,
        result: Result<std::sync::Arc<super::worker::OverviewData>, crate::tui::worker::Failure>,
    ) {
        if !self.region.loaded(result) {
            return;
        }
        self.overview.clamp(&self.region);
        self.alerts.clamp(&self.region);
        let n = self.member_rows().len();
        self.members.selected = self.members.selected.min(n.saturating_sub(1));
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
    fn acted(
        &mut self,
        result: Result<super::worker::Acted, crate::tui::worker::Failure>,
    ) -> Vec<Request> {
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
                    p.refused(&e.to_string());
                }
                self.message = Some(format!("nothing written: {e}"));
            }
        }
        // Counts, lists and the case all change with a write.
        self.refresh_all()
    }

    /// A silence was recorded, or why not, in the silence form.
    fn silenced(&mut self, result: Result<i64, crate::tui::worker::Failure>) -> Vec<Request> {
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
                    p.error = Some(e.to_string());
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
            Screen::Members { .. } => self
                .selected_member()
                .and_then(|a| a.crn.as_deref().map(String::from)),
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
                Some(a) => (
                    a.rule.to_string(),
                    a.pdu.to_string(),
                    a.crn.as_deref().map(String::from),
                ),
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
mod tests;
