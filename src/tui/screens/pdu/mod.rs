//! A PDU: its header, status and trend, and nine tabs (the Today worklist, four case
//! lists, staffing, the two risk lists: risk checks, custody and release; and who needs
//! support, for heads of PDU).

pub mod cases;
pub mod chart;
pub mod list;
pub mod release;
pub mod risk;
pub mod staffing;
pub mod support;
pub mod today;

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::overview::rating_text;
use super::{move_delta, step, step_index, visible_rows};
use crate::report::pct;
use crate::risk_lists::{CheckRow, ReleaseRow, RiskList};
use crate::rules::Level;
use crate::store::read::{CaseList, PageQuery};
use crate::tui::app::{Gens, Slot};
use crate::tui::event::{Ctx, EventState, Go};
use crate::tui::keymap::Action;
use crate::tui::view::FULL_WIDTH;
use crate::tui::widgets::{DrawCtx, Theme, clean, fit};
use crate::tui::worker::Request;
use cases::CaseTable;
use list::ListTable;
use staffing::Staffing;
use support::Support;
use today::Today;

/// The PDU view's tabs: what to do first this morning, the four case lists, staffing, and
/// the inspection's other checks (enquiries and assessments; custody and release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    /// The PDU's ranked worklist.
    #[default]
    Today,
    Unallocated,
    Mappa,
    OversightOverdue,
    ContactsOverdue,
    Staffing,
    /// Cases with an enquiry or an assessment overdue.
    RiskChecks,
    /// Custody and licence cases around release.
    Release,
    /// Who needs support: practitioners against the region's benchmark.
    Support,
}

impl Tab {
    pub const ALL: [Tab; 9] = [
        Tab::Today,
        Tab::Unallocated,
        Tab::Mappa,
        Tab::OversightOverdue,
        Tab::ContactsOverdue,
        Tab::Staffing,
        Tab::RiskChecks,
        Tab::Release,
        Tab::Support,
    ];

    /// Its place in the row of tabs, from 0 (its number key is one more).
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(i: usize) -> Option<Tab> {
        Tab::ALL.get(i).copied()
    }

    pub fn title(self) -> &'static str {
        match self {
            Tab::Today => "Today",
            Tab::Staffing => "Staffing",
            Tab::RiskChecks => RiskList::Checks.title(),
            Tab::Release => RiskList::Release.title(),
            Tab::Support => "Support",
            t => t.list().map_or("", CaseList::title),
        }
    }

    /// The title when the full ones do not fit on one line.
    pub fn mid_title(self) -> &'static str {
        match self {
            Tab::OversightOverdue => "Oversight",
            Tab::ContactsOverdue => "Contacts",
            Tab::RiskChecks => "Risk",
            Tab::Release => "Custody",
            t => t.title(),
        }
    }

    /// The title on a narrow screen.
    pub fn short_title(self) -> &'static str {
        match self {
            Tab::Today => "Today",
            Tab::Unallocated => "Unal",
            Tab::Mappa => "MAPPA",
            Tab::OversightOverdue => "Ovsgt",
            Tab::ContactsOverdue => "Cont",
            Tab::Staffing => "Staff",
            Tab::RiskChecks => "Risk",
            Tab::Release => "Cust",
            Tab::Support => "Supp",
        }
    }

    /// The case list the tab shows, if it shows one.
    pub fn list(self) -> Option<CaseList> {
        match self {
            Tab::Unallocated => Some(CaseList::Unallocated),
            Tab::Mappa => Some(CaseList::Mappa),
            Tab::OversightOverdue => Some(CaseList::OversightOverdue),
            Tab::ContactsOverdue => Some(CaseList::ContactsOverdue),
            Tab::Today | Tab::Staffing | Tab::RiskChecks | Tab::Release | Tab::Support => None,
        }
    }

    /// The risk list the tab shows, if it shows one.
    pub fn risk_list(self) -> Option<RiskList> {
        match self {
            Tab::RiskChecks => Some(RiskList::Checks),
            Tab::Release => Some(RiskList::Release),
            _ => None,
        }
    }

    pub fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    pub fn prev(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }
}

/// Where a case list's table is kept in [`Pdu::tables`].
pub fn list_index(list: CaseList) -> usize {
    match list {
        CaseList::Unallocated => 0,
        CaseList::Mappa => 1,
        CaseList::OversightOverdue => 2,
        CaseList::ContactsOverdue => 3,
    }
}

/// The PDU screen's own state: the tab, and what each tab shows.
#[derive(Debug, Clone, Default)]
pub struct Pdu {
    pub tab: Tab,
    pub today: Today,
    /// The four case lists' tables, in [`CaseList::ALL`] order.
    pub tables: [CaseTable; 4],
    /// The PDU `tables` belong to.
    pub tables_pdu: Option<String>,
    /// Other PDUs' tables as they were left (filter, sort, toggle, place), for this session.
    pub kept_tables: HashMap<String, [CaseTable; 4]>,
    pub staffing: Staffing,
    pub support: Support,
    /// `c`: the chart of the PDU's tested figures, over whichever tab.
    pub chart: chart::ChartView,
    /// The risk lists of the PDU `tables` belong to.
    pub checks: ListTable<CheckRow>,
    pub release: ListTable<ReleaseRow>,
    /// Other PDUs' risk lists as they were left (filter, place).
    pub kept_lists: HashMap<String, (ListTable<CheckRow>, ListTable<ReleaseRow>)>,
}

impl Pdu {
    /// The PDU `code` is opened on `tab`: its tables as this session left them, the rest
    /// afresh.
    pub fn enter(&mut self, code: &str, tab: Tab, gens: &mut Gens) {
        self.show_tables_of(code, gens);
        self.tab = tab;
        self.today = Today::default();
        self.staffing = Staffing::default();
        self.support = Support::default();
        self.chart = chart::ChartView::default();
    }

    /// Brings in the case tables of `pdu`: as this session left them if it was open
    /// before, else fresh. The tables on screen are kept for their own PDU.
    fn show_tables_of(&mut self, pdu: &str, gens: &mut Gens) {
        if self.tables_pdu.as_deref() == Some(pdu) {
            return;
        }
        let incoming = self.kept_tables.remove(pdu).unwrap_or_default();
        let outgoing = std::mem::replace(&mut self.tables, incoming);
        let (checks, release) = self.kept_lists.remove(pdu).unwrap_or_default();
        let lists_out = (
            std::mem::replace(&mut self.checks, checks),
            std::mem::replace(&mut self.release, release),
        );
        if let Some(prev) = self.tables_pdu.replace(pdu.to_string()) {
            self.kept_tables
                .insert(prev.clone(), outgoing.map(CaseTable::kept));
            self.kept_lists
                .insert(prev, (lists_out.0.kept(), lists_out.1.kept()));
        }
        // An answer still on its way is for the other PDU's tables.
        gens.forget_pages();
    }

    pub fn table_mut(&mut self, list: CaseList) -> &mut CaseTable {
        &mut self.tables[list_index(list)]
    }

    /// The table the tab shows, if it shows one.
    pub fn table(&self) -> Option<&CaseTable> {
        self.tab.list().map(|l| &self.tables[list_index(l)])
    }

    /// Whether what the tab shows is being read.
    pub fn loading(&self) -> bool {
        match (self.tab.list(), self.tab) {
            (Some(l), _) => self.tables[list_index(l)].loading,
            (None, Tab::Staffing) => self.staffing.loading,
            (None, Tab::Support) => self.support.loading,
            (None, Tab::RiskChecks) => self.checks.loading,
            (None, Tab::Release) => self.release.loading,
            (None, _) => self.today.loading,
        }
    }

    /// The typed filter of the tab's table, if it has one.
    pub fn filter_text(&mut self) -> Option<&mut String> {
        match (self.tab.list(), self.tab) {
            (Some(list), _) => Some(&mut self.table_mut(list).filter),
            (None, Tab::RiskChecks) => Some(&mut self.checks.filter),
            (None, Tab::Release) => Some(&mut self.release.filter),
            (None, _) => None,
        }
    }

    /// The tab's filter as typed and, if a term cannot be read, why: for the status line.
    pub fn filter_status(&self) -> Option<(&str, Option<&str>)> {
        match (self.tab.list(), self.tab) {
            (Some(list), _) => {
                let t = &self.tables[list_index(list)];
                Some((&t.filter, t.filter_error.as_deref()))
            }
            (None, Tab::RiskChecks) => {
                Some((&self.checks.filter, self.checks.filter_error.as_deref()))
            }
            (None, Tab::Release) => {
                Some((&self.release.filter, self.release.filter_error.as_deref()))
            }
            (None, _) => None,
        }
    }

    /// The case an action applies to: the selected line of the worklist or of a table.
    pub fn focused_crn(&self) -> Option<String> {
        match (self.tab.list(), self.tab) {
            (Some(_), _) => self.table()?.selected_row().map(|r| r.crn.clone()),
            (None, Tab::Today) => self.today.selected_item()?.crn.clone(),
            (None, Tab::RiskChecks) => self.checks.selected_crn(),
            (None, Tab::Release) => self.release.selected_crn(),
            (None, _) => None,
        }
    }

    /// The requests needed to show the tab from scratch.
    pub fn refresh(&mut self, code: &str, gens: &mut Gens, height: u16) -> Vec<Request> {
        match (self.tab.list(), self.tab) {
            (Some(list), _) => self
                .request_page(code, list, true, gens, height)
                .into_iter()
                .collect(),
            (None, Tab::Staffing) => vec![self.staffing.request(code, gens)],
            (None, Tab::Support) => {
                let mut v = vec![self.support.request(code, gens)];
                if self.support.groups_mode {
                    v.push(self.support.request_groups(code, gens));
                }
                v
            }
            (None, Tab::RiskChecks | Tab::Release) => self
                .request_list(code, true, gens, height)
                .into_iter()
                .collect(),
            (None, _) => vec![self.today.request(code, gens)],
        }
    }

    /// Asks for the window of the tab's risk list, as [`Pdu::request_page`] does for a case
    /// table.
    fn request_list(
        &mut self,
        code: &str,
        force: bool,
        gens: &mut Gens,
        height: u16,
    ) -> Option<Request> {
        match self.tab.risk_list()? {
            RiskList::Checks => self
                .checks
                .request(code, RiskList::Checks, force, gens, height),
            RiskList::Release => self
                .release
                .request(code, RiskList::Release, force, gens, height),
        }
    }

    /// Whether the tab's risk list is waiting for rows.
    fn list_loading(&self) -> bool {
        match self.tab.risk_list() {
            Some(RiskList::Checks) => self.checks.loading,
            Some(RiskList::Release) => self.release.loading,
            None => false,
        }
    }

    /// Asks for the window around the visible rows of a case table, if it is not loaded
    /// (or always, with `force`). One page above and one below are fetched too, so that
    /// scrolling a page shows rows at once.
    pub fn request_page(
        &mut self,
        code: &str,
        list: CaseList,
        force: bool,
        gens: &mut Gens,
        height: u16,
    ) -> Option<Request> {
        let page = visible_rows(height);
        let t = self.table_mut(list);
        let want_end = t.scroll + page;
        let have_end = t.loaded_offset + t.rows.len() as u64;
        let covered = t.scroll >= t.loaded_offset
            && (want_end <= have_end || t.total.is_some_and(|n| have_end >= n));
        if covered && !force && t.total.is_some() {
            return None;
        }
        let generation = gens.stamp(Slot::Page(list));
        t.loading = true;
        Some(Request::Page {
            generation,
            pdu: code.to_string(),
            list,
            query: PageQuery {
                sort: t.sort,
                reverse: t.reverse,
                filter: t.query_filter(list),
                offset: t.scroll.saturating_sub(page),
                limit: page * 3,
            },
        })
    }

    /// Asks for the rows the tab's table needs on screen, if it lacks them and is not
    /// already waiting for them.
    pub fn page_if_needed(&mut self, code: &str, gens: &mut Gens, height: u16) -> Vec<Request> {
        match self.tab.list() {
            Some(list) if !self.table_mut(list).loading => self
                .request_page(code, list, false, gens, height)
                .into_iter()
                .collect(),
            None if self.tab.risk_list().is_some() && !self.list_loading() => self
                .request_list(code, false, gens, height)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Takes in a page of a case list.
    pub fn page_loaded(
        &mut self,
        list: CaseList,
        result: Result<
            crate::store::read::Page<crate::store::read::CaseRow>,
            crate::tui::worker::Failure,
        >,
    ) {
        let t = self.table_mut(list);
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
            Err(e) => t.error = Some(e.to_string()),
        }
    }

    /// Keeps each table's selected row on a screen `height` high.
    pub fn clamp_scroll(&mut self, height: u16) {
        let page = visible_rows(height);
        for t in &mut self.tables {
            t.clamp_scroll(page);
        }
        self.checks.clamp_scroll(page);
        self.release.clamp_scroll(page);
    }

    /// The typed filter changed: the tab's table reads the terms that parse and, if they
    /// changed, starts again from its first row.
    pub fn filter_changed(&mut self, code: &str, gens: &mut Gens, height: u16) -> Vec<Request> {
        if let Some(list) = self.tab.risk_list() {
            // A bad term is named in the filter line and not applied.
            let changed = match list {
                RiskList::Checks => from_the_top_if_changed(&mut self.checks),
                RiskList::Release => from_the_top_if_changed(&mut self.release),
            };
            if !changed {
                return Vec::new();
            }
            return self
                .request_list(code, true, gens, height)
                .into_iter()
                .collect();
        }
        let Some(list) = self.tab.list() else {
            return Vec::new();
        };
        let t = self.table_mut(list);
        // A bad term is named in the filter line and not applied.
        if !t.apply_filter() {
            return Vec::new();
        }
        t.selected = 0;
        t.scroll = 0;
        self.request_page(code, list, true, gens, height)
            .into_iter()
            .collect()
    }

    /// The PDU's keys: move, open, the tabs, sort, the MAPPA toggle, export, and Esc, which
    /// first clears a kept filter.
    pub fn act(&mut self, action: Action, code: &str, cx: &mut Ctx) -> EventState {
        if self.chart.open {
            // The chart takes the keys while open: moves step through the metrics.
            match action {
                Action::Chart | Action::Back => {
                    self.chart.open = false;
                    return EventState::Consumed;
                }
                a => {
                    if let Some(delta) = move_delta(a, cx.size.1) {
                        self.chart.step(delta);
                        return EventState::Consumed;
                    }
                }
            }
        }
        if action == Action::Chart {
            let req = self.chart.show(code, cx.gens);
            cx.say("chart: j/k the next figure, c or Esc closes it");
            cx.ask(vec![req]);
            return EventState::Consumed;
        }
        if let Some(delta) = move_delta(action, cx.size.1) {
            let reqs = self.move_by(delta, code, cx);
            cx.ask(reqs);
            return EventState::Consumed;
        }
        let height = cx.size.1;
        let reqs = match action {
            Action::Open => self.open(code, cx),
            Action::Tab(i) => match Tab::from_index(usize::from(i)) {
                Some(tab) => self.set_tab(tab, code, cx.gens, height),
                None => Vec::new(),
            },
            Action::NextTab => self.set_tab(self.tab.next(), code, cx.gens, height),
            Action::PrevTab => self.set_tab(self.tab.prev(), code, cx.gens, height),
            Action::Sort | Action::ReverseSort => match self.tab.list() {
                Some(list) => {
                    let words = self.table_mut(list).sort(action == Action::ReverseSort);
                    cx.say(words);
                    self.request_page(code, list, true, cx.gens, height)
                        .into_iter()
                        .collect()
                }
                None if self.tab == Tab::Support
                    && self.support.drill.is_none()
                    && !self.support.groups_mode =>
                {
                    cx.say(self.support.next_sort());
                    Vec::new()
                }
                None => {
                    if self.tab.risk_list().is_some() || self.tab == Tab::Support {
                        cx.say("this list has one order: worst first");
                    }
                    Vec::new()
                }
            },
            Action::UnallocatedOnly => self.toggle_unallocated_only(code, cx),
            Action::Groups => {
                if self.tab != Tab::Support {
                    cx.say("v works on the Support tab (9)");
                    Vec::new()
                } else {
                    let (words, req) = self.support.toggle_groups(code, cx.gens);
                    cx.say(words);
                    req.into_iter().collect()
                }
            }
            Action::Export => {
                let req = self.export_request(code, cx.mask);
                if req.is_some() {
                    cx.say("exporting…");
                }
                req.into_iter().collect()
            }
            Action::Back if self.tab == Tab::Support && self.support.drill.is_some() => {
                self.support.drill = None;
                Vec::new()
            }
            Action::Back if self.tab == Tab::Support && self.support.groups_mode => {
                self.support.groups_mode = false;
                Vec::new()
            }
            Action::Back => match (self.tab.list(), self.tab.risk_list()) {
                (Some(list), _) if self.table_mut(list).clear_filter() => {
                    cx.say("filter cleared; Esc again goes back");
                    self.request_page(code, list, true, cx.gens, height)
                        .into_iter()
                        .collect()
                }
                (None, Some(list))
                    if match list {
                        RiskList::Checks => self.checks.clear_filter(),
                        RiskList::Release => self.release.clear_filter(),
                    } =>
                {
                    cx.say("filter cleared; Esc again goes back");
                    self.request_list(code, true, cx.gens, height)
                        .into_iter()
                        .collect()
                }
                _ => return EventState::NotConsumed,
            },
            _ => return EventState::NotConsumed,
        };
        cx.ask(reqs);
        EventState::Consumed
    }

    fn set_tab(&mut self, tab: Tab, code: &str, gens: &mut Gens, height: u16) -> Vec<Request> {
        self.tab = tab;
        self.refresh(code, gens, height)
    }

    fn move_by(&mut self, delta: i64, code: &str, cx: &mut Ctx) -> Vec<Request> {
        match self.tab.list() {
            Some(list) => {
                let t = self.table_mut(list);
                t.selected = step(t.selected, t.total.unwrap_or(0), delta);
                self.clamp_scroll(cx.size.1);
                self.page_if_needed(code, cx.gens, cx.size.1)
            }
            None if self.tab.risk_list().is_some() => {
                let (selected, total) = match self.tab.risk_list() {
                    Some(RiskList::Checks) => (&mut self.checks.selected, self.checks.total),
                    _ => (&mut self.release.selected, self.release.total),
                };
                *selected = step(*selected, total.unwrap_or(0), delta);
                self.clamp_scroll(cx.size.1);
                self.page_if_needed(code, cx.gens, cx.size.1)
            }
            None if self.tab == Tab::Staffing => {
                let n = self.staffing.row_count();
                self.staffing.selected = step_index(self.staffing.selected, n, delta);
                Vec::new()
            }
            None if self.tab == Tab::Support => {
                let s = &mut self.support;
                if s.groups_mode {
                    s.groups_row = step_index(s.groups_row, s.groups_rows(), delta);
                    return Vec::new();
                }
                match &mut s.drill {
                    Some(d) => {
                        let n = d.data.as_ref().map_or(0, |c| c.overdue.len());
                        d.selected = step_index(d.selected, n, delta);
                    }
                    None => s.selected = step_index(s.selected, s.row_count(code), delta),
                }
                Vec::new()
            }
            None => {
                let n = self.today.row_count();
                self.today.selected = step_index(self.today.selected, n, delta);
                Vec::new()
            }
        }
    }

    /// Enter: the case of the selected line; a staffing line of the worklist shows the
    /// Staffing tab.
    fn open(&mut self, code: &str, cx: &mut Ctx) -> Vec<Request> {
        if self.tab == Tab::Today {
            let Some(w) = self.today.selected_item() else {
                return Vec::new();
            };
            match w.crn.clone() {
                Some(crn) => cx.go = Some(Go::Case(crn)),
                // A staffing line: the Staffing tab shows the practitioner.
                None => return self.set_tab(Tab::Staffing, code, cx.gens, cx.size.1),
            }
        } else if self.tab == Tab::Support {
            if self.support.groups_mode {
                return Vec::new();
            }
            if self.support.drill.is_some() {
                if let Some(crn) = self.support.drill_crn() {
                    cx.go = Some(Go::Case(crn));
                }
            } else {
                return self.support.open(code, cx.gens).into_iter().collect();
            }
        } else if let Some(crn) = self.focused_crn() {
            cx.go = Some(Go::Case(crn));
        }
        Vec::new()
    }

    /// `U` on the MAPPA tab: only the unallocated MAPPA cases, or all of them again.
    fn toggle_unallocated_only(&mut self, code: &str, cx: &mut Ctx) -> Vec<Request> {
        if self.tab != Tab::Mappa {
            cx.say("U works on the MAPPA tab (3)");
            return Vec::new();
        }
        let t = self.table_mut(CaseList::Mappa);
        t.unallocated_only = !t.unallocated_only;
        t.selected = 0;
        t.scroll = 0;
        cx.say(if t.unallocated_only {
            "MAPPA: unallocated cases only; U shows all"
        } else {
            "MAPPA: all cases, unallocated first; U shows only those"
        });
        self.request_page(code, CaseList::Mappa, true, cx.gens, cx.size.1)
            .into_iter()
            .collect()
    }

    /// What `e` writes: the tab's case list as shown (filter, toggle, sort and order), or
    /// the practitioners, with names masked when the screen masks them.
    fn export_request(&self, code: &str, mask: bool) -> Option<Request> {
        match self.tab.list() {
            Some(list) => Some(Request::ExportCases {
                pdu: code.to_string(),
                list,
                query: self.tables[list_index(list)].whole_query(list),
                mask,
            }),
            None if self.tab == Tab::Staffing => Some(Request::Export {
                view: crate::export::View::Practitioners,
                pdu: Some(code.to_string()),
                mask,
            }),
            None if self.tab == Tab::Support => Some(Request::Export {
                view: crate::export::View::Support,
                pdu: Some(code.to_string()),
                mask,
            }),
            None => {
                let list = self.tab.risk_list()?;
                let filter = match list {
                    RiskList::Checks => self.checks.applied.clone(),
                    RiskList::Release => self.release.applied.clone(),
                };
                Some(Request::ExportList {
                    pdu: code.to_string(),
                    list,
                    filter,
                    mask,
                })
            }
        }
    }

    /// The PDU's header, status, trend and tabs, then the tab.
    pub fn draw(&self, code: &str, name: &str, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
        let [head, status, trend, outlook, tabs, body] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(1),
        ])
        .areas(area);
        let theme = &dc.theme;
        f.render_widget(Paragraph::new(trend_line(dc, code, theme)), trend);
        f.render_widget(Paragraph::new(outlook_line(dc, code, theme)), outlook);
        let summary = dc.region.summary(code);
        let wide = area.width >= FULL_WIDTH;
        let title = if wide {
            format!("{} {}", clean(code), clean(name))
        } else {
            clean(code)
        };
        let mut spans = vec![Span::styled(title, theme.header())];
        if let Some(p) = summary {
            let (crit, high, warn) = dc.region.pdu_alert_counts(&p.code);
            spans.push(Span::raw(format!(
                " │ alerts {crit} critical, {high} high, {warn} warning │ vacancy {} │ {}",
                pct(p.vacancy_rate),
                rating_text(p, wide)
            )));
        }
        f.render_widget(Paragraph::new(Line::from(spans)), head);
        if summary.is_some() {
            f.render_widget(Paragraph::new(status_line(dc, code, area.width)), status);
        }
        f.render_widget(Paragraph::new(self.tabs_line(area.width, theme)), tabs);
        if self.chart.open {
            return self.chart.draw(code, f, body, dc);
        }
        match (self.tab.list(), self.tab) {
            (Some(list), _) => self.tables[list_index(list)].draw(list, f, body, dc),
            (None, Tab::Staffing) => self.staffing.draw(f, body, dc),
            (None, Tab::Support) => self.support.draw(code, f, body, dc),
            (None, Tab::RiskChecks) => risk::draw(&self.checks, f, body, dc),
            (None, Tab::Release) => release::draw(&self.release, f, body, dc),
            (None, _) => self.today.draw(f, body, dc),
        }
    }

    /// The tabs, numbered, the one on screen marked; a list's with its count. The full
    /// titles when they fit `width`, else shorter ones, then the counts of the tab on
    /// screen only, then only its title: every number always shows.
    fn tabs_line(&self, width: u16, theme: &Theme) -> Line<'static> {
        let wide = width >= FULL_WIDTH;
        // The last two step with one space between tabs instead of two.
        let tiers: [(Title, TabDetail, bool); 6] = [
            (Tab::title, TabDetail::Counts, false),
            (Tab::mid_title, TabDetail::Counts, false),
            (Tab::short_title, TabDetail::Counts, false),
            (Tab::short_title, TabDetail::CountOnScreen, false),
            (Tab::short_title, TabDetail::CountOnScreen, true),
            (Tab::short_title, TabDetail::NumbersOnly, true),
        ];
        let mut last = Line::default();
        for (title, detail, tight) in tiers {
            let l = self.tabs_line_with(title, detail, wide, tight, theme);
            if l.width() <= usize::from(width) {
                return l;
            }
            last = l;
        }
        last
    }

    fn tabs_line_with(
        &self,
        title: Title,
        detail: TabDetail,
        wide: bool,
        tight: bool,
        theme: &Theme,
    ) -> Line<'static> {
        let mut tab_spans = Vec::new();
        for tab in Tab::ALL {
            let table = tab.list().map(|l| &self.tables[list_index(l)]);
            let total = match (table, tab) {
                (Some(t), _) => t.total,
                (None, Tab::RiskChecks) => self.checks.total,
                (None, Tab::Release) => self.release.total,
                (None, _) => None,
            };
            let on_screen = tab == self.tab;
            let count = match detail {
                TabDetail::Counts => total,
                _ if on_screen => total,
                _ => None,
            }
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
            let t = if detail == TabDetail::NumbersOnly && !on_screen {
                ""
            } else {
                title(tab)
            };
            // The MAPPA toggle in words on the tab itself, so the count reads right.
            let only = match table {
                Some(k) if k.unallocated_only && tab == Tab::Mappa => {
                    if wide {
                        " unallocated only"
                    } else {
                        " unal"
                    }
                }
                _ => "",
            };
            let mut label = if t.is_empty() {
                format!(" {} ", tab.index() + 1)
            } else {
                format!(" {} {t}{only}{count} ", tab.index() + 1)
            };
            if tight {
                // One space after each tab, none before.
                label = format!("{} ", label.trim());
            }
            if tab == self.tab {
                tab_spans.push(Span::styled(
                    format!("[{}]", label.trim()),
                    theme.selected(),
                ));
                if tight {
                    tab_spans.push(Span::raw(" "));
                }
            } else {
                tab_spans.push(Span::raw(label));
            }
        }
        Line::from(tab_spans)
    }
}

/// The PDU's status on a line of its own, with the first reason, cut to the width.
fn status_line(dc: &DrawCtx, code: &str, width: u16) -> Line<'static> {
    let theme = &dc.theme;
    let st = dc.region.pdu_status(code);
    let label = st.label();
    let reason = dc.region.pdu_reason(code).unwrap_or(match st {
        Level::Ok => "no PDU rule holds",
        _ => "",
    });
    let room = usize::from(width).saturating_sub(label.chars().count() + 3);
    if st == Level::OrganisationalAlert {
        // The rule's message already says ORGANISATIONAL ALERT.
        let reason = reason
            .strip_prefix("ORGANISATIONAL ALERT: ")
            .unwrap_or(reason);
        Line::from(vec![
            Span::styled(label, theme.status(st)),
            Span::styled(format!(": {}", fit(reason, room)), theme.bad()),
        ])
    } else {
        Line::from(vec![
            Span::styled(label, theme.status(st)),
            Span::raw(format!(": {}", fit(reason, room))),
        ])
    }
}

/// A sparkline in text: one block character per value, scaled between the series' min and max.
pub fn spark(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (lo, hi) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    values
        .iter()
        .map(|v| {
            if hi - lo < 1e-9 {
                BARS[3]
            } else {
                BARS[(((v - lo) / (hi - lo)) * 7.0).round() as usize]
            }
        })
        .collect()
}

/// The PDU's trends over the recorded nightly runs.
fn trend_line(dc: &DrawCtx, code: &str, theme: &Theme) -> Line<'static> {
    let trend = dc.region.data.as_ref().and_then(|o| o.trends.get(code));
    let Some(t) = trend.filter(|t| !t.as_of.is_empty()) else {
        return Line::styled(
            "trends: none recorded yet (`casewatch alerts --record` nightly)",
            theme.dim(),
        );
    };
    let last = |v: &[f64]| v.last().copied().unwrap_or(0.0);
    Line::from(vec![
        Span::styled(format!("trend ({} runs) ", t.as_of.len()), theme.dim()),
        Span::raw(format!(
            "unallocated {} {:.0} · MAPPA {} {:.0} · vacancy {} {:.0}% · oversight overdue {} {:.0}",
            spark(&t.unallocated),
            last(&t.unallocated),
            spark(&t.unallocated_mappa),
            last(&t.unallocated_mappa),
            spark(&t.vacancy_rate),
            last(&t.vacancy_rate) * 100.0,
            spark(&t.oversight_overdue),
            last(&t.oversight_overdue),
        )),
    ])
}

/// Where the PDU's figures are heading (see [`crate::forecast`]): the soonest worst rule it
/// would reach at this rate, else its worsening figures, in words.
fn outlook_line(dc: &DrawCtx, code: &str, theme: &Theme) -> Line<'static> {
    let Some((night, f)) = dc.region.data.as_ref().and_then(|o| o.forecasts.as_ref()) else {
        return Line::styled(
            "outlook: none yet (a trend needs a week of recorded nights)",
            theme.dim(),
        );
    };
    let outlook: Vec<_> = f.outlook_of(code).collect();
    if let Some(first) = outlook.first() {
        let mut spans = vec![Span::styled(
            format!("▲ outlook: {} (on {})", clean(&first.message), first.on),
            theme.status(first.status.unwrap_or(Level::Warning)),
        )];
        if outlook.len() > 1 {
            spans.push(Span::raw(format!(
                " · {} more rules ahead",
                outlook.len() - 1
            )));
        }
        return Line::from(spans);
    }
    let worse: Vec<String> = f
        .trends_of(code)
        .filter(|t| t.direction == "worsening")
        .map(|t| t.describe())
        .collect();
    if worse.is_empty() {
        return Line::styled(
            format!(
                "outlook: no tested figure getting worse (nights to {})",
                crate::domain::fmt_date(*night)
            ),
            theme.dim(),
        );
    }
    Line::from(vec![
        Span::styled("outlook: getting worse: ", theme.dim()),
        Span::raw(worse.join("; ")),
    ])
}

/// One of a tab's titles: [`Tab::title`], [`Tab::mid_title`] or [`Tab::short_title`].
type Title = fn(Tab) -> &'static str;

/// How much of each tab the row of tabs says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TabDetail {
    Counts,
    /// The count of the tab on screen only.
    CountOnScreen,
    /// The title and count of the tab on screen; the others by number.
    NumbersOnly,
}

/// Applies a risk list's typed filter; when what it keeps changed, back to the first row.
fn from_the_top_if_changed<T>(t: &mut ListTable<T>) -> bool {
    if !t.apply_filter() {
        return false;
    }
    t.selected = 0;
    t.scroll = 0;
    true
}
