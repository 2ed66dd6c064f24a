//! The model and its update function: every key and every query answer becomes a message,
//! and `update` is the only place the model changes. It never touches SQLite: it returns the
//! requests it wants run.

use std::collections::HashMap;

use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keymap::{self, Action, Context};
use super::worker::{Act, CaseView, OverviewData, Request, Response, StaffingData};
use crate::actions::{Candidate, UNDO_WINDOW};
use crate::alerts::{ReviewedAlert, Status as AlertStatus};
use crate::domain::{AllocationReason, OversightKind};
use crate::rules::Severity;
use crate::store::read::{CaseList, CaseRow, CaseSort, PageQuery, PduSummary};

/// Messages into the update function.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Resize(u16, u16),
    Loaded(Response),
}

/// The PDU view's tabs.
pub const TABS: [&str; 5] = [
    "Unallocated",
    "MAPPA",
    "Oversight overdue",
    "Contacts overdue",
    "Staffing",
];

/// Screens, stacked: the stack is the breadcrumb trail.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Overview,
    Pdu { code: String, name: String },
    Case { crn: String },
    Alerts,
}

/// PDU status on the overview, in words (and a glyph), never by colour alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Warn,
    Alert,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Alert => "ALERT",
            Status::Warn => "WARN",
            Status::Ok => "OK",
        }
    }
    pub fn glyph(self) -> &'static str {
        match self {
            Status::Alert => "▲",
            Status::Warn => "●",
            Status::Ok => "✓",
        }
    }
}

/// A PDU's status from its open alerts: ALERT with any critical alert (someone may be at
/// risk now), WARN with any high one, OK otherwise (warnings alone do not change it).
pub fn status_from_alerts(alerts: &[ReviewedAlert], pdu: &str) -> Status {
    alerts
        .iter()
        .filter(|a| a.pdu == pdu && a.status != AlertStatus::Resolved)
        .map(|a| match a.severity {
            Severity::Critical => Status::Alert,
            Severity::High => Status::Warn,
            Severity::Warning => Status::Ok,
        })
        .max()
        .unwrap_or(Status::Ok)
}

/// Open alerts of a PDU by severity: (critical, high, warning).
pub fn alert_counts(alerts: &[ReviewedAlert], pdu: &str) -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for a in alerts
        .iter()
        .filter(|a| a.pdu == pdu && a.status != AlertStatus::Resolved)
    {
        match a.severity {
            Severity::Critical => c.0 += 1,
            Severity::High => c.1 += 1,
            Severity::Warning => c.2 += 1,
        }
    }
    c
}

/// Overview sort columns, cycled with `s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverviewSort {
    Status,
    Pdu,
    Cases,
    Unallocated,
    Mappa,
    HighRosh,
    Vacancy,
    Oversight,
    Contacts,
}

impl OverviewSort {
    pub const ALL: [OverviewSort; 9] = [
        OverviewSort::Status,
        OverviewSort::Pdu,
        OverviewSort::Cases,
        OverviewSort::Unallocated,
        OverviewSort::Mappa,
        OverviewSort::HighRosh,
        OverviewSort::Vacancy,
        OverviewSort::Oversight,
        OverviewSort::Contacts,
    ];
    pub fn label(self) -> &'static str {
        match self {
            OverviewSort::Status => "status",
            OverviewSort::Pdu => "PDU",
            OverviewSort::Cases => "cases",
            OverviewSort::Unallocated => "unallocated",
            OverviewSort::Mappa => "MAPPA",
            OverviewSort::HighRosh => "high RoSH",
            OverviewSort::Vacancy => "vacancy",
            OverviewSort::Oversight => "oversight",
            OverviewSort::Contacts => "contacts",
        }
    }
}

/// A window of a case list, paged from SQL.
#[derive(Debug, Clone, Default)]
pub struct CaseTable {
    pub total: Option<u64>,
    /// Absolute index of the selected row.
    pub selected: u64,
    /// Absolute index of the first row on screen.
    pub scroll: u64,
    /// The rows loaded, starting at `loaded_offset`.
    pub loaded_offset: u64,
    pub rows: Vec<CaseRow>,
    pub sort: CaseSort,
    pub reverse: bool,
    pub filter: String,
    pub loading: bool,
    pub error: Option<String>,
}

impl CaseTable {
    pub fn row(&self, i: u64) -> Option<&CaseRow> {
        i.checked_sub(self.loaded_offset)
            .and_then(|k| self.rows.get(k as usize))
    }
    pub fn selected_row(&self) -> Option<&CaseRow> {
        self.row(self.selected)
    }
}

#[derive(Debug, Clone, Default)]
pub struct StaffingView {
    pub data: Option<StaffingData>,
    pub selected: usize,
    pub loading: bool,
    pub error: Option<String>,
}

/// The allocation picker.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocatePopup {
    pub crn: String,
    pub candidates: Option<Vec<Candidate>>,
    pub selected: usize,
    pub reason: AllocationReason,
    /// Set after the first Enter on a choice that raises warnings: Enter again allocates.
    pub confirming: bool,
    pub error: Option<String>,
}

/// The oversight form: which SPO, what kind, the note.
#[derive(Debug, Clone, PartialEq)]
pub struct OversightPopup {
    pub crn: String,
    pub spos: Option<Vec<(String, String)>>,
    pub selected: usize,
    pub kind: OversightKind,
    pub note: String,
    pub sensitive: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NotePopup {
    pub crn: String,
    pub text: String,
    pub sensitive: bool,
}

/// A form over the current screen; it takes every key until closed.
#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Allocate(AllocatePopup),
    Oversight(OversightPopup),
    Note(NotePopup),
    Ack(AckPopup),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AckPopup {
    pub key: String,
    pub note: String,
}

fn cycle<T: Copy + PartialEq>(all: &[T], cur: T, step: i64) -> T {
    let i = all.iter().position(|x| *x == cur).unwrap_or(0) as i64;
    let n = all.len() as i64;
    all[((i + step).rem_euclid(n)) as usize]
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
    pub help: bool,
    pub quit: bool,
    pub message: Option<String>,
    // Overview
    pub overview: Option<OverviewData>,
    /// Per PDU: status and open alerts by severity, counted once when the overview arrives
    /// (a national region has tens of thousands of alerts; sorting and drawing look these up).
    pub pdu_alerts: HashMap<String, (Status, (usize, usize, usize))>,
    pub overview_loading: bool,
    pub overview_error: Option<String>,
    pub overview_selected: usize,
    pub overview_sort: OverviewSort,
    pub overview_reverse: bool,
    pub overview_filter: String,
    // PDU view
    pub tab: usize,
    pub tables: [CaseTable; 4],
    pub staffing: StaffingView,
    // Alerts view
    pub alerts_selected: usize,
    pub alerts_filter: String,
    // Actions
    pub popup: Option<Popup>,
    pub mask: bool,
    /// The database could only be opened for reading: actions are refused.
    pub read_only: bool,
    /// The audit id of this session's last action and when it was done, for undo.
    pub last_action: Option<(i64, std::time::Instant)>,
    // Case view
    pub case: Option<Box<CaseView>>,
    pub case_loading: bool,
    pub case_error: Option<String>,
    pub case_scroll: u16,
    // Generations of the newest request per slot; older answers are dropped.
    next_gen: u64,
    gen_overview: u64,
    gen_pages: [u64; 4],
    gen_staffing: u64,
    gen_case: u64,
    gen_popup: u64,
}

/// Adds a typed character to a text field, refusing control characters and runaway length.
fn push_text(field: &mut String, c: char, mods: KeyModifiers) {
    if !mods.contains(KeyModifiers::CONTROL)
        && !crate::text::is_unsafe(c)
        && field.chars().count() < crate::actions::MAX_NOTE
    {
        field.push(c);
    }
}

fn list_index(list: CaseList) -> usize {
    match list {
        CaseList::Unallocated => 0,
        CaseList::Mappa => 1,
        CaseList::OversightOverdue => 2,
        CaseList::ContactsOverdue => 3,
    }
}

/// Lines of the screen that are not table rows (header, tabs, table header, hint bar...).
pub const CHROME_ROWS: u16 = 9;

/// How many table rows fit on a screen of this height.
pub fn visible_rows(height: u16) -> u64 {
    u64::from(height.saturating_sub(CHROME_ROWS).max(1))
}

impl Model {
    /// A PDU's status from its open alerts (OK when it has none).
    pub fn pdu_status(&self, pdu: &str) -> Status {
        self.pdu_alerts.get(pdu).map_or(Status::Ok, |a| a.0)
    }

    /// A PDU's open alerts by severity: (critical, high, warning).
    pub fn pdu_alert_counts(&self, pdu: &str) -> (usize, usize, usize) {
        self.pdu_alerts.get(pdu).map_or((0, 0, 0), |a| a.1)
    }

    pub fn new(db_label: String, as_of: NaiveDate, color: bool, size: (u16, u16)) -> Model {
        Model {
            db_label,
            as_of,
            color,
            size,
            stack: vec![Screen::Overview],
            pdu_alerts: HashMap::new(),
            input: Input::Normal,
            help: false,
            quit: false,
            message: None,
            overview: None,
            overview_loading: false,
            overview_error: None,
            overview_selected: 0,
            overview_sort: OverviewSort::Status,
            overview_reverse: false,
            overview_filter: String::new(),
            tab: 0,
            tables: Default::default(),
            staffing: StaffingView::default(),
            alerts_selected: 0,
            alerts_filter: String::new(),
            popup: None,
            mask: false,
            read_only: false,
            last_action: None,
            case: None,
            case_loading: false,
            case_error: None,
            case_scroll: 0,
            next_gen: 0,
            gen_overview: 0,
            gen_pages: [0; 4],
            gen_staffing: 0,
            gen_case: 0,
            gen_popup: 0,
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
        }
    }

    fn next_generation(&mut self) -> u64 {
        self.next_gen += 1;
        self.next_gen
    }

    pub fn current_pdu(&self) -> Option<(&str, &str)> {
        self.stack.iter().rev().find_map(|s| match s {
            Screen::Pdu { code, name } => Some((code.as_str(), name.as_str())),
            _ => None,
        })
    }

    /// Overview rows after filter and sort, as indexes into `overview.pdus`.
    pub fn overview_rows(&self) -> Vec<usize> {
        let Some(o) = &self.overview else {
            return Vec::new();
        };
        let f = self.overview_filter.to_lowercase();
        let mut idx: Vec<usize> = (0..o.pdus.len())
            .filter(|&i| {
                f.is_empty()
                    || o.pdus[i].code.to_lowercase().contains(&f)
                    || o.pdus[i].name.to_lowercase().contains(&f)
            })
            .collect();
        let key = |p: &PduSummary| -> (i64, i64, i64) {
            let vac = (p.vacancy_rate.unwrap_or(0.0) * 1000.0) as i64;
            match self.overview_sort {
                OverviewSort::Status => (
                    self.pdu_status(&p.code) as i64,
                    p.unallocated_mappa as i64,
                    p.unallocated as i64,
                ),
                OverviewSort::Pdu => (0, 0, 0),
                OverviewSort::Cases => (p.cases as i64, 0, 0),
                OverviewSort::Unallocated => (p.unallocated as i64, 0, 0),
                OverviewSort::Mappa => (p.unallocated_mappa as i64, p.unallocated as i64, 0),
                OverviewSort::HighRosh => (p.unallocated_high_rosh as i64, 0, 0),
                OverviewSort::Vacancy => (vac, 0, 0),
                OverviewSort::Oversight => (p.oversight_overdue as i64, 0, 0),
                OverviewSort::Contacts => (p.high_risk_contacts_overdue as i64, 0, 0),
            }
        };
        // Worst (largest) first; PDU code ascending; ties broken by code.
        idx.sort_by(|&a, &b| {
            let (pa, pb) = (&o.pdus[a], &o.pdus[b]);
            let ord = if self.overview_sort == OverviewSort::Pdu {
                pa.code.cmp(&pb.code)
            } else {
                key(pb).cmp(&key(pa)).then_with(|| pa.code.cmp(&pb.code))
            };
            if self.overview_reverse {
                ord.reverse()
            } else {
                ord
            }
        });
        idx
    }

    /// Alerts view rows after the filter, as indexes into `overview.alerts`.
    pub fn alert_rows(&self) -> Vec<usize> {
        let Some(o) = &self.overview else {
            return Vec::new();
        };
        let f = self.alerts_filter.to_lowercase();
        (0..o.alerts.len())
            .filter(|&i| {
                let a = &o.alerts[i];
                f.is_empty()
                    || a.key.to_lowercase().contains(&f)
                    || a.message.to_lowercase().contains(&f)
            })
            .collect()
    }

    fn selected_alert(&self) -> Option<&ReviewedAlert> {
        let o = self.overview.as_ref()?;
        let rows = self.alert_rows();
        rows.get(self.alerts_selected).map(|&i| &o.alerts[i])
    }

    /// The requests needed to show the current screen from scratch.
    pub fn refresh(&mut self) -> Vec<Request> {
        let mut out = Vec::new();
        match self.screen().clone() {
            Screen::Overview => out.push(self.request_overview()),
            Screen::Pdu { code, .. } => {
                if self.tab == 4 {
                    out.push(self.request_staffing(&code));
                } else {
                    out.extend(self.request_page(&code, self.tab, true));
                }
            }
            Screen::Case { crn } => out.push(self.request_case(&crn)),
            Screen::Alerts => out.push(self.request_overview()),
        }
        out
    }

    /// After a write (this screen's or another process's): the current screen, and the
    /// overview's figures too, which the header, status and trend line of a PDU show.
    fn refresh_all(&mut self) -> Vec<Request> {
        let mut out = self.refresh();
        if !matches!(self.screen(), Screen::Overview | Screen::Alerts) {
            out.push(self.request_overview());
        }
        out
    }

    fn request_overview(&mut self) -> Request {
        let generation = self.next_generation();
        self.gen_overview = generation;
        self.overview_loading = true;
        Request::Overview {
            generation,
            region: self.overview.as_ref().map(|o| o.region.clone()),
        }
    }

    fn request_staffing(&mut self, pdu: &str) -> Request {
        let generation = self.next_generation();
        self.gen_staffing = generation;
        self.staffing.loading = true;
        Request::Staffing {
            generation,
            pdu: pdu.to_string(),
        }
    }

    fn request_case(&mut self, crn: &str) -> Request {
        let generation = self.next_generation();
        self.gen_case = generation;
        self.case_loading = true;
        Request::Case {
            generation,
            crn: crn.to_string(),
        }
    }

    /// Asks for the window around the visible rows of a case table, if it is not loaded
    /// (or always, with `force`). One page above and one below are fetched too, so that
    /// scrolling a page shows rows at once.
    fn request_page(&mut self, pdu: &str, tab: usize, force: bool) -> Option<Request> {
        let page = visible_rows(self.size.1);
        let t = &self.tables[tab];
        let want_end = t.scroll + page;
        let have_end = t.loaded_offset + t.rows.len() as u64;
        let covered = t.scroll >= t.loaded_offset
            && (want_end <= have_end || t.total.is_some_and(|n| have_end >= n));
        if covered && !force && t.total.is_some() {
            return None;
        }
        let generation = self.next_generation();
        self.gen_pages[tab] = generation;
        let t = &mut self.tables[tab];
        t.loading = true;
        let list = CaseList::ALL[tab];
        Some(Request::Page {
            generation,
            pdu: pdu.to_string(),
            list,
            query: PageQuery {
                sort: t.sort,
                reverse: t.reverse,
                filter: t.filter.clone(),
                offset: t.scroll.saturating_sub(page),
                limit: page * 3,
            },
        })
    }

    /// Applies one message; returns the queries to run.
    pub fn update(&mut self, msg: Msg) -> Vec<Request> {
        match msg {
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.clamp_scroll();
                self.page_if_needed()
            }
            Msg::Loaded(r) => self.loaded(r),
            Msg::Key(k) => self.key(k),
        }
    }

    fn loaded(&mut self, r: Response) -> Vec<Request> {
        match r {
            Response::Overview(generation, result) if generation == self.gen_overview => {
                self.overview_loading = false;
                match result {
                    Ok(d) => {
                        self.overview_error = None;
                        self.pdu_alerts = d
                            .pdus
                            .iter()
                            .map(|p| {
                                let st = status_from_alerts(&d.alerts, &p.code);
                                (p.code.clone(), (st, alert_counts(&d.alerts, &p.code)))
                            })
                            .collect();
                        self.overview = Some(d);
                        let n = self.overview_rows().len();
                        self.overview_selected = self.overview_selected.min(n.saturating_sub(1));
                    }
                    Err(e) => self.overview_error = Some(e),
                }
            }
            Response::Page(generation, list, result)
                if generation == self.gen_pages[list_index(list)] =>
            {
                let t = &mut self.tables[list_index(list)];
                t.loading = false;
                match result {
                    Ok(p) => {
                        t.error = None;
                        t.total = Some(p.total);
                        t.loaded_offset = p.offset;
                        t.rows = p.rows;
                        if t.selected >= p.total {
                            t.selected = p.total.saturating_sub(1);
                        }
                    }
                    Err(e) => t.error = Some(e),
                }
                self.clamp_scroll();
                return self.page_if_needed();
            }
            Response::Staffing(generation, result) if generation == self.gen_staffing => {
                self.staffing.loading = false;
                match result {
                    Ok(d) => {
                        self.staffing.error = None;
                        let n = d.practitioners.len();
                        self.staffing.data = Some(d);
                        self.staffing.selected = self.staffing.selected.min(n.saturating_sub(1));
                    }
                    Err(e) => self.staffing.error = Some(e),
                }
            }
            Response::Case(generation, result) if generation == self.gen_case => {
                self.case_loading = false;
                match result {
                    Ok(Some(d)) => {
                        self.case_error = None;
                        self.case = Some(d);
                    }
                    Ok(None) => {
                        self.case_error = Some("this case is no longer in the database".into())
                    }
                    Err(e) => self.case_error = Some(e),
                }
            }
            Response::Candidates(generation, result) if generation == self.gen_popup => {
                if let Some(Popup::Allocate(p)) = &mut self.popup {
                    match result {
                        Ok(c) => p.candidates = Some(c),
                        Err(e) => p.error = Some(e),
                    }
                }
            }
            Response::Spos(generation, result) if generation == self.gen_popup => {
                if let Some(Popup::Oversight(p)) = &mut self.popup {
                    match result {
                        Ok(s) => p.spos = Some(s),
                        Err(e) => {
                            self.message = Some(e);
                            self.popup = None;
                        }
                    }
                }
            }
            Response::Acted(result) => {
                match result {
                    Ok((audit_id, words, undoable)) => {
                        self.popup = None;
                        self.last_action = undoable.then(|| (audit_id, std::time::Instant::now()));
                        self.message = Some(if undoable {
                            format!("{words} (audit #{audit_id}); u undoes")
                        } else {
                            format!("{words} (audit #{audit_id})")
                        });
                    }
                    Err(e) => {
                        if let Some(Popup::Allocate(p)) = &mut self.popup {
                            p.error = Some(e.clone());
                            p.confirming = false;
                        }
                        self.message = Some(format!("nothing written: {e}"));
                    }
                }
                // Counts, lists and the case all change with a write.
                return self.refresh_all();
            }
            Response::Exported(result) => {
                self.message = Some(match result {
                    Ok(path) => format!("exported to {path}"),
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
                self.overview_error = Some(e);
                self.overview_loading = false;
            }
            // A stale answer: a newer request is on its way.
            _ => {}
        }
        Vec::new()
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
        if self.help {
            // Any key closes help; q still quits.
            self.help = false;
            if keymap::action_for(&k, self.context()) == Some(Action::Quit) {
                self.quit = true;
            }
            return Vec::new();
        }
        self.message = None;
        let Some(action) = keymap::action_for(&k, self.context()) else {
            return Vec::new();
        };
        self.act(action)
    }

    fn filter_text(&mut self) -> Option<&mut String> {
        match self.screen() {
            Screen::Overview => Some(&mut self.overview_filter),
            Screen::Pdu { .. } if self.tab < 4 => Some(&mut self.tables[self.tab].filter),
            Screen::Alerts => Some(&mut self.alerts_filter),
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
                self.overview_selected = 0;
                Vec::new()
            }
            Screen::Pdu { code, .. } => {
                let t = &mut self.tables[self.tab];
                t.selected = 0;
                t.scroll = 0;
                self.request_page(&code, self.tab, true)
                    .into_iter()
                    .collect()
            }
            Screen::Alerts => {
                self.alerts_selected = 0;
                Vec::new()
            }
            Screen::Case { .. } => Vec::new(),
        }
    }

    fn act(&mut self, action: Action) -> Vec<Request> {
        match action {
            Action::Quit => {
                self.quit = true;
                Vec::new()
            }
            Action::Help => {
                self.help = true;
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
            Action::Back => self.back(),
            Action::Open => self.open(),
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(visible_rows(self.size.1) as i64)),
            Action::PageDown => self.move_by(visible_rows(self.size.1) as i64),
            Action::Top => self.move_by(i64::MIN / 2),
            Action::Bottom => self.move_by(i64::MAX / 2),
            Action::Tab(i) => self.set_tab(usize::from(i)),
            Action::NextTab => self.set_tab((self.tab + 1) % TABS.len()),
            Action::PrevTab => self.set_tab((self.tab + TABS.len() - 1) % TABS.len()),
            Action::Sort | Action::ReverseSort => self.sort(action == Action::ReverseSort),
            Action::NextRegion => self.next_region(),
            Action::Allocate | Action::Oversight | Action::Note | Action::Undo
                if self.read_only =>
            {
                self.message = Some("read-only database: actions are refused".into());
                Vec::new()
            }
            Action::Acknowledge if self.read_only => {
                self.message = Some("read-only database: actions are refused".into());
                Vec::new()
            }
            Action::ShowAlerts => {
                if self.screen() != &Screen::Alerts {
                    self.stack.push(Screen::Alerts);
                    self.alerts_selected = 0;
                }
                self.refresh()
            }
            Action::Acknowledge => {
                match self.selected_alert() {
                    Some(a) if a.status == AlertStatus::Resolved => {
                        self.message = Some("a resolved alert needs no acknowledgement".into());
                    }
                    Some(a) => {
                        let key = a.key.clone();
                        self.popup = Some(Popup::Ack(AckPopup {
                            key,
                            note: String::new(),
                        }));
                    }
                    None => {}
                }
                Vec::new()
            }
            Action::Export => {
                use crate::export::View;
                let req = match self.screen() {
                    Screen::Overview => Some(Request::Export {
                        view: View::Summary,
                        pdu: None,
                    }),
                    Screen::Pdu { code, .. } => Some(Request::Export {
                        view: [
                            View::Unallocated,
                            View::Mappa,
                            View::OversightOverdue,
                            View::ContactsOverdue,
                            View::Practitioners,
                        ][self.tab.min(4)],
                        pdu: Some(code.clone()),
                    }),
                    _ => None,
                };
                if req.is_some() {
                    self.message = Some("exporting…".into());
                }
                req.into_iter().collect()
            }
            Action::Allocate => self.open_allocate(),
            Action::Oversight => self.open_oversight(),
            Action::Note => {
                if let Some(crn) = self.focused_crn() {
                    self.popup = Some(Popup::Note(NotePopup {
                        crn,
                        text: String::new(),
                        sensitive: false,
                    }));
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
        }
    }

    /// The case an action applies to: the open case, or the selected row of a case table.
    pub fn focused_crn(&self) -> Option<String> {
        match self.screen() {
            Screen::Case { crn } => Some(crn.clone()),
            Screen::Alerts => self.selected_alert().and_then(|a| a.crn.clone()),
            Screen::Pdu { .. } if self.tab < 4 => {
                self.tables[self.tab].selected_row().map(|r| r.crn.clone())
            }
            _ => None,
        }
    }

    fn open_allocate(&mut self) -> Vec<Request> {
        let Some(crn) = self.focused_crn() else {
            return Vec::new();
        };
        let generation = self.next_generation();
        self.gen_popup = generation;
        self.popup = Some(Popup::Allocate(AllocatePopup {
            crn: crn.clone(),
            candidates: None,
            selected: 0,
            reason: AllocationReason::InitialAllocation,
            confirming: false,
            error: None,
        }));
        vec![Request::Candidates { generation, crn }]
    }

    fn open_oversight(&mut self) -> Vec<Request> {
        let (Some(crn), Some((pdu, _))) = (self.focused_crn(), self.current_pdu()) else {
            return Vec::new();
        };
        let pdu = pdu.to_string();
        let generation = self.next_generation();
        self.gen_popup = generation;
        self.popup = Some(Popup::Oversight(OversightPopup {
            crn,
            spos: None,
            selected: 0,
            kind: OversightKind::Periodic,
            note: String::new(),
            sensitive: false,
        }));
        vec![Request::Spos { generation, pdu }]
    }

    fn undo(&mut self) -> Vec<Request> {
        match self.last_action.take() {
            Some((audit_id, at)) if at.elapsed() < UNDO_WINDOW.to_std().unwrap_or_default() => {
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

    fn popup_key(&mut self, k: KeyEvent) -> Vec<Request> {
        let Some(popup) = &mut self.popup else {
            return Vec::new();
        };
        if k.code == KeyCode::Esc {
            self.popup = None;
            self.message = Some("cancelled; nothing written".into());
            return Vec::new();
        }
        match popup {
            Popup::Allocate(p) => {
                let n = p.candidates.as_ref().map_or(0, Vec::len);
                match k.code {
                    KeyCode::Down | KeyCode::Char('j') if n > 0 => {
                        p.selected = (p.selected + 1).min(n - 1);
                        p.confirming = false;
                    }
                    KeyCode::Up | KeyCode::Char('k') => {
                        p.selected = p.selected.saturating_sub(1);
                        p.confirming = false;
                    }
                    KeyCode::Right | KeyCode::Tab | KeyCode::Char('l') => {
                        p.reason = cycle(AllocationReason::ALL, p.reason, 1);
                    }
                    KeyCode::Left | KeyCode::BackTab | KeyCode::Char('h') => {
                        p.reason = cycle(AllocationReason::ALL, p.reason, -1);
                    }
                    KeyCode::Enter => {
                        let Some(c) = p.candidates.as_ref().and_then(|c| c.get(p.selected)) else {
                            return Vec::new();
                        };
                        if !c.warnings.is_empty() && !p.confirming {
                            p.confirming = true;
                            return Vec::new();
                        }
                        return vec![Request::Act(Act::Allocate {
                            crn: p.crn.clone(),
                            staff_code: c.staff_code.clone(),
                            reason: p.reason,
                            confirmed: p.confirming,
                        })];
                    }
                    _ => {}
                }
            }
            Popup::Oversight(p) => {
                let n = p.spos.as_ref().map_or(0, Vec::len);
                match k.code {
                    KeyCode::Down if n > 0 => p.selected = (p.selected + 1).min(n - 1),
                    KeyCode::Up => p.selected = p.selected.saturating_sub(1),
                    KeyCode::Right => p.kind = cycle(OversightKind::ALL, p.kind, 1),
                    KeyCode::Left => p.kind = cycle(OversightKind::ALL, p.kind, -1),
                    KeyCode::Tab => p.sensitive = !p.sensitive,
                    KeyCode::Backspace => {
                        p.note.pop();
                    }
                    KeyCode::Char(c) => push_text(&mut p.note, c, k.modifiers),
                    KeyCode::Enter => {
                        let Some((by, _)) = p.spos.as_ref().and_then(|s| s.get(p.selected)) else {
                            return Vec::new();
                        };
                        if p.note.trim().is_empty() {
                            self.message = Some("type a note first".into());
                            return Vec::new();
                        }
                        return vec![Request::Act(Act::Oversight {
                            crn: p.crn.clone(),
                            by: by.clone(),
                            kind: p.kind,
                            note: p.note.clone(),
                            sensitive: p.sensitive,
                        })];
                    }
                    _ => {}
                }
            }
            Popup::Ack(p) => match k.code {
                KeyCode::Backspace => {
                    p.note.pop();
                }
                KeyCode::Char(c) => push_text(&mut p.note, c, k.modifiers),
                KeyCode::Enter => {
                    if p.note.trim().is_empty() {
                        self.message = Some("type a note first".into());
                        return Vec::new();
                    }
                    return vec![Request::Act(Act::Ack {
                        key: p.key.clone(),
                        note: p.note.clone(),
                    })];
                }
                _ => {}
            },
            Popup::Note(p) => match k.code {
                KeyCode::Tab => p.sensitive = !p.sensitive,
                KeyCode::Backspace => {
                    p.text.pop();
                }
                KeyCode::Char(c) => push_text(&mut p.text, c, k.modifiers),
                KeyCode::Enter => {
                    if p.text.trim().is_empty() {
                        self.message = Some("type a note first".into());
                        return Vec::new();
                    }
                    return vec![Request::Act(Act::Note {
                        crn: p.crn.clone(),
                        text: p.text.clone(),
                        sensitive: p.sensitive,
                    })];
                }
                _ => {}
            },
        }
        Vec::new()
    }

    fn next_region(&mut self) -> Vec<Request> {
        let Some(o) = &self.overview else {
            return Vec::new();
        };
        let i = o.regions.iter().position(|r| *r == o.region).unwrap_or(0);
        let Some(next) = o.regions.get((i + 1) % o.regions.len().max(1)).cloned() else {
            return Vec::new();
        };
        self.message = Some(format!("region: {next}"));
        self.overview_selected = 0;
        let generation = self.next_generation();
        self.gen_overview = generation;
        self.overview_loading = true;
        vec![Request::Overview {
            generation,
            region: Some(next),
        }]
    }

    fn sort(&mut self, reverse: bool) -> Vec<Request> {
        match self.screen().clone() {
            Screen::Overview => {
                if reverse {
                    self.overview_reverse = !self.overview_reverse;
                } else {
                    let i = OverviewSort::ALL
                        .iter()
                        .position(|s| *s == self.overview_sort)
                        .unwrap_or(0);
                    self.overview_sort = OverviewSort::ALL[(i + 1) % OverviewSort::ALL.len()];
                    self.overview_reverse = false;
                }
                self.message = Some(format!(
                    "sorted by {}{}",
                    self.overview_sort.label(),
                    if self.overview_reverse {
                        " (reversed)"
                    } else {
                        ""
                    }
                ));
                Vec::new()
            }
            Screen::Pdu { code, .. } if self.tab < 4 => {
                let t = &mut self.tables[self.tab];
                if reverse {
                    t.reverse = !t.reverse;
                } else {
                    let i = CaseSort::ALL.iter().position(|s| *s == t.sort).unwrap_or(0);
                    t.sort = CaseSort::ALL[(i + 1) % CaseSort::ALL.len()];
                    t.reverse = false;
                }
                t.selected = 0;
                t.scroll = 0;
                self.message = Some(format!(
                    "sorted by {}{}",
                    t.sort.label(),
                    if t.reverse { " (reversed)" } else { "" }
                ));
                self.request_page(&code, self.tab, true)
                    .into_iter()
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    fn set_tab(&mut self, tab: usize) -> Vec<Request> {
        if !matches!(self.screen(), Screen::Pdu { .. }) || tab >= TABS.len() {
            return Vec::new();
        }
        self.tab = tab;
        self.refresh()
    }

    fn back(&mut self) -> Vec<Request> {
        if self.stack.len() > 1 {
            self.stack.pop();
            self.case_scroll = 0;
            return self.refresh();
        }
        // On the overview, Esc clears a kept filter.
        if !self.overview_filter.is_empty() {
            self.overview_filter.clear();
        }
        Vec::new()
    }

    fn open(&mut self) -> Vec<Request> {
        match self.screen().clone() {
            Screen::Overview => {
                let rows = self.overview_rows();
                let (Some(o), Some(&i)) = (&self.overview, rows.get(self.overview_selected)) else {
                    return Vec::new();
                };
                let p = &o.pdus[i];
                self.stack.push(Screen::Pdu {
                    code: p.code.clone(),
                    name: p.name.clone(),
                });
                self.tab = 0;
                self.tables = Default::default();
                self.staffing = StaffingView::default();
                self.refresh()
            }
            Screen::Alerts => {
                let Some(a) = self.selected_alert().cloned() else {
                    return Vec::new();
                };
                if let Some(crn) = a.crn.clone() {
                    self.stack.push(Screen::Case { crn });
                    self.case = None;
                    self.case_scroll = 0;
                } else {
                    let code = a.pdu.clone();
                    let name = self
                        .overview
                        .as_ref()
                        .and_then(|o| o.pdus.iter().find(|p| p.code == code))
                        .map(|p| p.name.clone())
                        .unwrap_or_default();
                    self.stack.push(Screen::Pdu { code, name });
                    self.tab = if a.staff_code.is_some() { 4 } else { 0 };
                    self.tables = Default::default();
                    self.staffing = StaffingView::default();
                }
                self.refresh()
            }
            Screen::Pdu { .. } if self.tab < 4 => {
                let Some(crn) = self.tables[self.tab].selected_row().map(|r| r.crn.clone()) else {
                    return Vec::new();
                };
                self.stack.push(Screen::Case { crn });
                self.case = None;
                self.case_scroll = 0;
                self.refresh()
            }
            _ => Vec::new(),
        }
    }

    fn move_by(&mut self, delta: i64) -> Vec<Request> {
        let step = |cur: u64, len: u64| -> u64 {
            if len == 0 {
                return 0;
            }
            (cur as i64).saturating_add(delta).clamp(0, len as i64 - 1) as u64
        };
        match self.screen().clone() {
            Screen::Overview => {
                let n = self.overview_rows().len() as u64;
                self.overview_selected = step(self.overview_selected as u64, n) as usize;
                Vec::new()
            }
            Screen::Pdu { .. } if self.tab == 4 => {
                let n = self
                    .staffing
                    .data
                    .as_ref()
                    .map_or(0, |d| d.practitioners.len()) as u64;
                self.staffing.selected = step(self.staffing.selected as u64, n) as usize;
                Vec::new()
            }
            Screen::Pdu { .. } => {
                let t = &mut self.tables[self.tab];
                let n = t.total.unwrap_or(0);
                t.selected = step(t.selected, n);
                self.clamp_scroll();
                self.page_if_needed()
            }
            Screen::Alerts => {
                let n = self.alert_rows().len() as u64;
                self.alerts_selected = step(self.alerts_selected as u64, n) as usize;
                Vec::new()
            }
            Screen::Case { .. } => {
                let s = i64::from(self.case_scroll).saturating_add(delta.clamp(-1000, 1000));
                self.case_scroll = s.clamp(0, 500) as u16;
                Vec::new()
            }
        }
    }

    /// Keeps the selected row on screen.
    fn clamp_scroll(&mut self) {
        let page = visible_rows(self.size.1);
        for t in &mut self.tables {
            if t.selected < t.scroll {
                t.scroll = t.selected;
            } else if t.selected >= t.scroll + page {
                t.scroll = t.selected + 1 - page;
            }
        }
    }

    fn page_if_needed(&mut self) -> Vec<Request> {
        if let Screen::Pdu { code, .. } = self.screen().clone()
            && self.tab < 4
            && !self.tables[self.tab].loading
        {
            return self
                .request_page(&code, self.tab, false)
                .into_iter()
                .collect();
        }
        Vec::new()
    }

    /// Breadcrumbs, e.g. `Overview › HFKCW › Unallocated › X123456`.
    pub fn breadcrumbs(&self) -> String {
        let mut parts = Vec::new();
        for s in &self.stack {
            match s {
                Screen::Overview => parts.push("Overview".to_string()),
                Screen::Pdu { code, .. } => {
                    parts.push(code.clone());
                    parts.push(TABS[self.tab].to_string());
                }
                Screen::Case { crn } => parts.push(crn.clone()),
                Screen::Alerts => parts.push("Alerts".to_string()),
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
    use crate::store::read::Page;

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
            let o = m.overview.as_ref().unwrap();
            m.overview_rows()
                .iter()
                .map(|&i| o.pdus[i].code.clone())
                .collect()
        };
        assert_eq!(codes(&m), ["HFKCW", "BBB", "AAA"]);
        m.update(key('s'));
        assert_eq!(m.overview_sort, OverviewSort::Pdu);
        assert_eq!(codes(&m), ["AAA", "BBB", "HFKCW"]);
        m.update(key('S'));
        assert_eq!(codes(&m), ["HFKCW", "BBB", "AAA"]);
    }

    #[test]
    fn enter_opens_the_selected_pdu_and_asks_for_its_first_page() {
        let mut m = model_with_overview();
        let reqs = m.update(code(KeyCode::Enter));
        assert_eq!(m.current_pdu().map(|p| p.0), Some("HFKCW"));
        assert!(matches!(
            &reqs[..],
            [Request::Page { list: CaseList::Unallocated, query, .. }] if query.offset == 0
        ));
        assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Unallocated");
        m.update(key('3'));
        assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Oversight overdue");
        m.update(code(KeyCode::Esc));
        assert_eq!(m.screen(), &Screen::Overview);
    }

    #[test]
    fn stale_answers_are_dropped() {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
        let old = m.gen_pages[0];
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
        assert_eq!(m.tables[0].total, None, "the stale page must not be shown");
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
        assert_eq!(m.overview_filter, "hfq");
        m.update(code(KeyCode::Backspace));
        m.update(code(KeyCode::Enter));
        assert_eq!(m.input, Input::Normal);
        assert_eq!(m.overview_rows().len(), 1);
        m.update(key('/'));
        m.update(code(KeyCode::Esc));
        assert_eq!(m.overview_filter, "");
        assert_eq!(m.overview_rows().len(), 3);
    }

    #[test]
    fn help_opens_with_question_mark_and_any_key_closes_it() {
        let mut m = model_with_overview();
        m.update(key('?'));
        assert!(m.help);
        m.update(key('j'));
        assert!(!m.help);
        assert_eq!(m.overview_selected, 0, "the closing key is not also a move");
        m.update(key('q'));
        assert!(m.quit);
    }

    #[test]
    fn moving_past_the_loaded_window_asks_for_the_next_page() {
        let mut m = model_with_overview();
        let reqs = m.update(code(KeyCode::Enter));
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
        assert_eq!(m.tables[0].selected, 9_999);
    }

    fn candidate(code: &str, warnings: &[&str]) -> Candidate {
        Candidate {
            staff_code: code.into(),
            name: "N".into(),
            grade: crate::domain::Grade::Po,
            status: crate::domain::PractitionerStatus::InPost,
            caseload: 1,
            capacity_now: Some(50.0),
            capacity_after: Some(60.0),
            warnings: warnings.iter().map(|w| w.to_string()).collect(),
        }
    }

    fn model_on_a_case() -> Model {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
        m.stack.push(Screen::Case {
            crn: "X000001".into(),
        });
        m
    }

    #[test]
    fn a_warning_needs_a_second_enter_before_anything_is_written() {
        let mut m = model_on_a_case();
        let reqs = m.update(key('a'));
        let Some(Request::Candidates { generation, crn }) = reqs.first().cloned() else {
            panic!("{reqs:?}")
        };
        assert_eq!(crn, "X000001");
        m.update(Msg::Loaded(Response::Candidates(
            generation,
            Ok(vec![candidate("PSO1", &["a PSO"]), candidate("PO1", &[])]),
        )));
        assert!(
            m.update(code(KeyCode::Enter)).is_empty(),
            "first Enter only warns"
        );
        let reqs = m.update(code(KeyCode::Enter));
        assert!(
            matches!(&reqs[..], [Request::Act(Act::Allocate { staff_code, confirmed: true, .. })] if staff_code == "PSO1"),
            "{reqs:?}"
        );
        // Moving to a choice without warnings allocates on the first Enter.
        m.update(key('j'));
        let reqs = m.update(code(KeyCode::Enter));
        assert!(
            matches!(&reqs[..], [Request::Act(Act::Allocate { staff_code, confirmed: false, .. })] if staff_code == "PO1"),
            "{reqs:?}"
        );
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
        m.update(Msg::Loaded(Response::Acted(Ok((7, "allocated", true)))));
        assert!(m.message.as_deref().unwrap_or("").contains("audit #7"));
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
        assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Unallocated › Alerts");
        m.update(key('A'));
        for c in "briefed".chars() {
            m.update(key(c));
        }
        let reqs = m.update(code(KeyCode::Enter));
        assert!(
            matches!(&reqs[..], [Request::Act(Act::Ack { key, note })] if key == "r:HFKCW:-" && note == "briefed"),
            "{reqs:?}"
        );
        assert_eq!(
            status_from_alerts(&m.overview.as_ref().unwrap().alerts, "BBB"),
            Status::Warn
        );
        assert_eq!(
            status_from_alerts(&m.overview.as_ref().unwrap().alerts, "AAA"),
            Status::Ok
        );
    }

    #[test]
    fn a_write_by_another_process_refreshes_the_list_and_the_figures_above_it() {
        let mut m = model_with_overview();
        m.update(code(KeyCode::Enter));
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

    #[test]
    fn m_masks_names() {
        let mut m = model_with_overview();
        assert!(!m.mask);
        m.update(key('m'));
        assert!(m.mask);
    }
}
