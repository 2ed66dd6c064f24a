//! Queries run here, off the draw loop: one blocking task owns its own connection, takes
//! requests, answers with messages, and watches `PRAGMA data_version` for writes by other
//! processes. Bursts of requests (a held-down key) are coalesced to the newest per slot.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use chrono::NaiveDate;
use tokio::sync::mpsc::UnboundedSender;

use std::collections::HashMap;

use crate::actions;
use crate::alerts::{CacheFill, ReviewedAlert, Trend};
use crate::filter::CaseFilter;
use crate::risk_lists::{CheckRow, ReleaseRow, RiskList, RiskLists};

use crate::incidents::{Incident, PduStatus, WorkItem};
use crate::rules::Level;
use crate::store::read::{
    self, CaseDetail, CaseList, CaseRow, GradeStaffing, Page, PageQuery, PduSummary,
    PractitionerRow, PractitionerSort,
};
use crate::store::{OpenMode, Store};

/// How often the worker looks for writes by other processes.
pub const CHANGE_POLL: Duration = Duration::from_millis(1000);

#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Overview {
        generation: u64,
        region: Option<String>,
    },
    Page {
        generation: u64,
        pdu: String,
        list: CaseList,
        query: PageQuery,
    },
    Staffing {
        generation: u64,
        pdu: String,
    },
    Case {
        generation: u64,
        crn: String,
    },
    /// Who could take this case, for the allocation picker.
    Candidates {
        generation: u64,
        crn: String,
    },
    /// The SPOs of a PDU and the case as it is, for recording oversight.
    Spos {
        generation: u64,
        pdu: String,
        crn: String,
    },
    /// The morning worklist of a PDU (the Today tab).
    Today {
        generation: u64,
        pdu: String,
    },
    /// Who needs support: the comparison of the PDU's region (the Support tab).
    Support {
        generation: u64,
        pdu: String,
    },
    /// A PDU's tested metrics over its recorded nights (the chart).
    Chart {
        generation: u64,
        pdu: String,
    },
    /// Disproportionality of a PDU and of its region (the Support tab's groups view).
    Equity {
        generation: u64,
        pdu: String,
    },
    /// One practitioner's caseload (the Support tab's drill-in).
    Caseload {
        generation: u64,
        staff_code: String,
    },
    /// A window of one of a PDU's risk lists (the Risk checks and Custody & release tabs),
    /// with the case tables' filter.
    ListPage {
        generation: u64,
        pdu: String,
        list: RiskList,
        filter: CaseFilter,
        offset: u64,
        limit: u64,
    },
    /// A write. Never coalesced or dropped.
    Act(Act),
    /// Export a table to a CSV file in the working directory.
    Export {
        view: crate::export::View,
        pdu: Option<String>,
        /// Names as initials, as mask mode shows them.
        mask: bool,
    },
    /// Export the overview as the screen shows it: these PDUs, in this order.
    ExportSummary {
        codes: Vec<String>,
    },
    /// Export a case table as the screen shows it: same list, filter, sort and order.
    ExportCases {
        pdu: String,
        list: CaseList,
        query: PageQuery,
        mask: bool,
    },
    /// Export a risk list as the screen shows it: same filter and order.
    ExportList {
        pdu: String,
        list: RiskList,
        filter: CaseFilter,
        mask: bool,
    },
}

/// A triage action from the screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Act {
    Allocate(actions::Allocation),
    Oversight(actions::OversightEntry),
    Note {
        crn: String,
        text: String,
        sensitive: bool,
    },
    Undo {
        audit_id: i64,
    },
    Ack {
        key: String,
        note: String,
    },
    /// A silence of an incident (rule and PDU), or of one case's alert of it.
    Silence {
        rule: String,
        pdu: String,
        crn: Option<String>,
        until: NaiveDate,
        reason: String,
    },
}

impl Act {
    /// What the write is, in words, for the status line and for `u` to say what it undoes.
    pub fn what(&self) -> String {
        match self {
            Act::Allocate(a) => format!("allocation of {} to {}", a.crn, a.staff_code),
            Act::Oversight(o) => format!("oversight of {} by {}", o.crn, o.by),
            Act::Note { crn, .. } => format!("note on {crn}"),
            Act::Undo { audit_id } => format!("undo of audit #{audit_id}"),
            Act::Ack { key, .. } => format!("acknowledgement of {key}"),
            Act::Silence { rule, pdu, .. } => format!("silence of {rule}:{pdu}"),
        }
    }

    fn done_words(&self) -> &'static str {
        match self {
            Act::Allocate(_) => "allocated",
            Act::Oversight(_) => "oversight recorded",
            Act::Note { .. } => "note added",
            Act::Undo { .. } => "undone",
            Act::Ack { .. } => "acknowledged",
            Act::Silence { .. } => "silenced",
        }
    }
}

/// A case with its notes and audit history, for the detail screen.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseView {
    /// The inspection's other checks on the case, and the records they were judged on.
    pub risk: Option<(
        crate::risk_checks::CaseChecks,
        crate::store::read::risk::CaseRecords,
    )>,
    pub detail: CaseDetail,
    /// The case-scope alert rules that fire on it today, worst first.
    pub alerts: Vec<crate::rules::Alert>,
    /// How often the case must be seen, and the rule in words (said even while unallocated).
    pub contact_rule: (u32, &'static str),
    pub notes: Vec<actions::NoteRow>,
    pub history: Vec<actions::AuditRow>,
}

impl Request {
    /// Requests in the same slot supersede each other.
    fn slot(&self) -> Option<(u8, Option<CaseList>)> {
        match self {
            Request::Overview { .. } => Some((0, None)),
            Request::Page { list, .. } => Some((1, Some(*list))),
            Request::Staffing { .. } => Some((2, None)),
            Request::Case { .. } => Some((3, None)),
            Request::Candidates { .. } => Some((4, None)),
            Request::Spos { .. } => Some((5, None)),
            Request::Today { .. } => Some((6, None)),
            Request::ListPage { list, .. } => Some((7 + list.index() as u8, None)),
            Request::Support { .. } => Some((9, None)),
            Request::Caseload { .. } => Some((10, None)),
            Request::Equity { .. } => Some((11, None)),
            Request::Chart { .. } => Some((12, None)),
            Request::Act(_)
            | Request::Export { .. }
            | Request::ExportSummary { .. }
            | Request::ExportCases { .. }
            | Request::ExportList { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverviewData {
    pub region: String,
    pub regions: Vec<String>,
    pub pdus: Vec<PduSummary>,
    /// The region's alerts, reviewed against the last recorded run.
    pub alerts: Vec<ReviewedAlert>,
    /// Each PDU's place on the status ladder, worst first.
    pub statuses: Vec<PduStatus>,
    /// The region's alerts grouped by PDU and rule, worst first.
    pub incidents: Vec<Incident>,
    /// Recorded runs per PDU, oldest first.
    pub trends: HashMap<String, Trend>,
    /// Where each PDU's figures are heading, as of the last recorded night (if any).
    pub forecasts: Option<(chrono::NaiveDate, crate::forecast::Forecasts)>,
    /// The login reads only some of the region's PDUs (an SPO on PostgreSQL): `pdus` are
    /// those, and totals over them are not the region's.
    pub some_pdus: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StaffingData {
    pub grades: Vec<GradeStaffing>,
    pub practitioners: Vec<PractitionerRow>,
}

/// A PDU's morning worklist, as the Today tab shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TodayData {
    pub pdu: String,
    pub status: Level,
    pub status_reasons: Vec<String>,
    /// The first actions, ranked.
    pub actions: Vec<WorkItem>,
    /// How many actions of each task there are in all.
    pub totals: Vec<(&'static str, u64)>,
    /// Actions not shown.
    pub more: u64,
}

/// How many worklist lines the Today tab asks for.
pub const TODAY_LIMIT: usize = 20;

/// Answers, carrying the generation of the request so stale ones can be dropped.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Overview(u64, Result<Arc<OverviewData>, Failure>),
    Page(u64, CaseList, Result<Page<CaseRow>, Failure>),
    Staffing(u64, Result<StaffingData, Failure>),
    Case(u64, Result<Option<Box<CaseView>>, Failure>),
    Candidates(u64, Result<Box<actions::Picker>, Failure>),
    Spos(u64, Result<Box<SpoForm>, Failure>),
    Today(u64, Result<Option<TodayData>, Failure>),
    Support(u64, Result<Arc<crate::outliers::Report>, Failure>),
    Caseload(u64, Result<Option<read::support::Caseload>, Failure>),
    Chart(u64, Result<Vec<crate::chart::Series>, Failure>),
    /// The PDU's tables, then its region's.
    Equity(
        u64,
        Result<Arc<(crate::equity::Report, crate::equity::Report)>, Failure>,
    ),
    /// A window of the Risk checks list.
    Checks(u64, Result<Page<CheckRow>, Failure>),
    /// A window of the Custody & release list.
    Releases(u64, Result<Page<ReleaseRow>, Failure>),
    /// A write finished: the audit id and what was done, or why nothing was written.
    Acted(Result<Acted, Failure>),
    /// A write found the case changed since its form opened: nothing was written; what
    /// changed and who did it, in words.
    Conflict(String),
    /// A silence was recorded (its id), or why not, in words.
    Silenced(Result<i64, Failure>),
    /// An export finished: where it went, or why not.
    Exported(Result<Exported, Failure>),
    /// Another process wrote the database.
    DataChanged,
    /// The working copy of a PostgreSQL database was read afresh: why, in words; the screen
    /// refreshes.
    Refreshed(Option<String>),
    /// The connection to the PostgreSQL server, in words (lost, still trying).
    Live(String),
    /// The worker could not open the database at all.
    Fatal(String),
    /// The database file could only be opened for reading.
    ReadOnly,
}

/// A finished write.
#[derive(Debug, Clone, PartialEq)]
pub struct Acted {
    pub audit_id: i64,
    /// "allocated", "note added"...
    pub words: &'static str,
    pub undoable: bool,
    /// What was written, for `u` to say what it undoes.
    pub what: String,
}

/// What the oversight form opens on.
#[derive(Debug, Clone, PartialEq)]
pub struct SpoForm {
    /// Staff code and name of each SPO of the PDU who works.
    pub spos: Vec<(String, String)>,
    pub case: actions::CaseFacts,
    /// The acting user's staff code (`[me]` in the policy), when they are one of `spos`.
    pub me: Option<String>,
    /// The case was allocated within the high-risk oversight interval and has no
    /// allocation oversight since: the form starts on kind `allocation`.
    pub allocation_due: bool,
}

/// A written export, for the status line.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    /// The file, as an absolute path when it can be resolved.
    pub path: String,
    pub rows: u64,
    /// Whether names were written as initials; `None` when the table holds no names.
    pub masked: Option<bool>,
}

/// What the worker needs to know.
pub struct Config {
    pub db: PathBuf,
    pub env: Env,
    /// Who is acting, for the audit trail.
    pub actor: String,
    /// On PostgreSQL, the file the working copy is kept in between runs, if any.
    pub working_copy: Option<PathBuf>,
}

/// What every query needs besides the database.
#[derive(Debug, Clone)]
pub struct Env {
    pub eval: crate::context::Evaluation,
    /// The acting user's staff code, from `[me]` in the policy.
    pub me: Option<String>,
    /// On PostgreSQL, the PDUs whose cases the login may read, the only ones the overview
    /// lists (the others' figures would lack their cases); `None` for every PDU.
    pub readable: Option<Vec<String>>,
}

/// How many recorded runs the trend lines show.
pub const TREND_RUNS: u32 = 30;

/// Runs the worker loop until the request channel closes.
pub fn run(cfg: Config, requests: Receiver<Request>, responses: UnboundedSender<Response>) {
    let Config {
        db,
        env,
        actor,
        working_copy,
    } = cfg;
    if let Some(url) = db.to_str().filter(|d| crate::store::pg::is_url(d)) {
        let on = super::live::On {
            url: url.to_string(),
            kept: working_copy,
        };
        return super::live::run(on, env, actor, requests, responses);
    }
    let mut store = match Store::open(&db, OpenMode::Existing) {
        Ok(s) => s,
        Err(e) => {
            let _ = responses.send(Response::Fatal(e.to_string()));
            return;
        }
    };
    if store.is_read_only() && responses.send(Response::ReadOnly).is_err() {
        return;
    }
    let mut version = store.data_version().ok();
    let mut lists = Lists::default();
    loop {
        let first = match requests.recv_timeout(CHANGE_POLL) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => {
                let now = store.data_version().ok();
                if now != version {
                    version = now;
                    if responses.send(Response::DataChanged).is_err() {
                        return;
                    }
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        for r in coalesced(first, &requests) {
            let answer = match r {
                Request::Act(act) => {
                    let res = perform(&mut store, &env, &actor, act);
                    // Our own write changes data_version too; the screen refreshes itself.
                    version = store.data_version().ok();
                    // Our own write leaves our data_version as it was: the lists go by hand.
                    lists.clear();
                    res
                }
                r => {
                    let (answer, fill) = answer_first(&store, &env, &mut lists, r);
                    if responses.send(answer).is_err() {
                        return;
                    }
                    // The screen draws while the cache is written.
                    if let Some(fill) = fill {
                        fill.store(store.db());
                    }
                    continue;
                }
            };
            if responses.send(answer).is_err() {
                return;
            }
        }
    }
}

/// `first` and the requests already waiting behind it, keeping only the newest request of
/// each slot (a held-down key asks for many pages; only the last is worth reading).
pub(super) fn coalesced(first: Request, requests: &Receiver<Request>) -> Vec<Request> {
    let mut batch = vec![first];
    while let Ok(r) = requests.try_recv() {
        if r.slot().is_some() {
            batch.retain(|b| b.slot() != r.slot());
        }
        batch.push(r);
    }
    batch
}

fn err(store: &Store, e: rusqlite::Error) -> Failure {
    Failure::Database(crate::store::classify(store.path(), e).to_string())
}

/// Why a request came back without its answer. Each says, in words the status line can
/// show, what happened; the kind lets the screen tell a refusal from a failing database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The database could not be read or written (locked, corrupt, gone): said with the file.
    #[error("{0}")]
    Database(String),
    /// The action was refused by its rules (or needs confirming); nothing was written.
    #[error("{0}")]
    Refused(String),
    /// A file could not be written (an export).
    #[error("{0}")]
    File(String),
}

impl From<actions::ActionError> for Failure {
    fn from(e: actions::ActionError) -> Failure {
        match e {
            actions::ActionError::Sqlite(_)
            | actions::ActionError::Pg(_)
            | actions::ActionError::Busy(_) => Failure::Database(e.to_string()),
            e => Failure::Refused(e.to_string()),
        }
    }
}

impl From<crate::export::ExportError> for Failure {
    fn from(e: crate::export::ExportError) -> Failure {
        Failure::Database(e.to_string())
    }
}

/// Runs one request against the store (the risk lists built afresh).
pub fn answer(store: &Store, env: &Env, r: Request) -> Response {
    answer_with(store, env, &mut Lists::default(), r)
}

/// [`answer`] with the risk lists kept between requests, as the worker keeps them.
pub fn answer_with(store: &Store, env: &Env, lists: &mut Lists, r: Request) -> Response {
    let (response, fill) = answer_first(store, env, lists, r);
    if let Some(fill) = fill {
        fill.store(store.db());
    }
    response
}

/// A PDU's risk lists as last built, so that paging, filtering and exporting them read no
/// case again: one PDU at a time, keyed by the PDU, the as-of date and the database's
/// `data_version` (another process's write changes it; the worker's own writes do not, and
/// clear the lists instead).
#[derive(Debug, Default)]
pub struct Lists {
    key: Option<(String, NaiveDate, i64)>,
    lists: RiskLists,
    /// Per list, the last filter asked for and the rows it keeps (indexes into the list).
    filtered: [Option<(CaseFilter, Vec<u32>)>; 2],
}

impl Lists {
    pub fn clear(&mut self) {
        *self = Lists::default();
    }

    /// The lists of `pdu`, built unless they are already.
    fn of(&mut self, store: &Store, env: &Env, pdu: &str) -> Result<&RiskLists, Failure> {
        let version = store
            .data_version()
            .map_err(|e| Failure::Database(e.to_string()))?;
        let as_of = env.eval.as_of;
        let fresh = self
            .key
            .as_ref()
            .is_some_and(|(p, a, v)| p == pdu && *a == as_of && *v == version);
        if !fresh {
            self.key = None;
            self.lists = crate::risk_lists::build(store.db(), &env.eval.policy, pdu, as_of)
                .map_err(|e| err(store, e))?;
            self.filtered = Default::default();
            self.key = Some((pdu.to_string(), as_of, version));
        }
        Ok(&self.lists)
    }

    /// The rows of `list` that `filter` keeps, as indexes; `None` for all of them.
    fn kept(
        &mut self,
        store: &Store,
        env: &Env,
        pdu: &str,
        list: RiskList,
        filter: &CaseFilter,
    ) -> Result<Option<&[u32]>, Failure> {
        self.of(store, env, pdu)?;
        if filter.is_empty() {
            return Ok(None);
        }
        let i = list.index();
        if self.filtered[i].as_ref().is_none_or(|(f, _)| f != filter) {
            let keep = |m: &mut dyn Iterator<Item = bool>| -> Vec<u32> {
                m.enumerate()
                    .filter_map(|(i, yes)| yes.then_some(i as u32))
                    .collect()
            };
            let rows = match list {
                RiskList::Checks => {
                    keep(&mut self.lists.checks.iter().map(|r| r.case.matches(filter)))
                }
                RiskList::Release => {
                    keep(&mut self.lists.release.iter().map(|r| r.case.matches(filter)))
                }
            };
            self.filtered[i] = Some((filter.clone(), rows));
        }
        Ok(self.filtered[i].as_ref().map(|(_, rows)| rows.as_slice()))
    }

    /// A window of a list: `limit` rows from `offset`, after the filter.
    fn page(
        &mut self,
        store: &Store,
        env: &Env,
        pdu: &str,
        list: RiskList,
        filter: &CaseFilter,
        (offset, limit): (u64, u64),
    ) -> Result<ListWindow, Failure> {
        let kept = self
            .kept(store, env, pdu, list, filter)?
            .map(<[u32]>::to_vec);
        let lists = &self.lists;
        Ok(match list {
            RiskList::Checks => {
                ListWindow::Checks(window(&lists.checks, kept.as_deref(), offset, limit))
            }
            RiskList::Release => {
                ListWindow::Releases(window(&lists.release, kept.as_deref(), offset, limit))
            }
        })
    }
}

/// A window of either list.
enum ListWindow {
    Checks(Page<CheckRow>),
    Releases(Page<ReleaseRow>),
}

/// `limit` rows from `offset` of `rows`, or of those `kept` names.
fn window<T: Clone>(rows: &[T], kept: Option<&[u32]>, offset: u64, limit: u64) -> Page<T> {
    let total = kept.map_or(rows.len(), <[u32]>::len);
    let from = usize::try_from(offset).unwrap_or(usize::MAX).min(total);
    let to = from
        .saturating_add(usize::try_from(limit).unwrap_or(usize::MAX))
        .min(total);
    let rows = match kept {
        Some(k) => k[from..to]
            .iter()
            .map(|&i| rows[i as usize].clone())
            .collect(),
        None => rows[from..to].to_vec(),
    };
    Page {
        total: total as u64,
        offset: from as u64,
        rows,
    }
}

/// An overview computed afresh, to write into the overview cache once the screen has it
/// (shared with the screen, not copied).
pub(super) struct CacheWrite(CacheFill, Arc<OverviewData>);

impl CacheWrite {
    pub(super) fn store(self, db: crate::store::Db<'_>) {
        let CacheWrite(fill, data) = self;
        fill.store(db, &data.pdus, &data.alerts);
    }
}

/// Runs one request; an overview computed afresh comes with the cache write to do once the
/// screen has it.
pub(super) fn answer_first(
    store: &Store,
    env: &Env,
    lists: &mut Lists,
    r: Request,
) -> (Response, Option<CacheWrite>) {
    let conn = store.db();
    match r {
        Request::Overview { generation, region } => {
            let mut fill = None;
            let result = (|| {
                let mut regions: Vec<String> =
                    read::regions(conn)?.into_iter().map(|r| r.0).collect();
                if let Some(readable) = &env.readable {
                    let mut theirs = Vec::new();
                    for pdu in readable {
                        theirs.extend(crate::store::runs::region_of(conn, pdu)?);
                    }
                    regions.retain(|r| theirs.contains(r));
                }
                let region = region
                    .filter(|r| regions.contains(r))
                    .or_else(|| regions.first().cloned())
                    .unwrap_or_default();
                let (mut review, mut pdus, to_cache) =
                    crate::alerts::run_deferring_cache(conn, &env.eval, Some(&region))?;
                let listed = pdus.len();
                if let Some(readable) = &env.readable {
                    let ours = |p: &str| readable.iter().any(|r| r == p);
                    pdus.retain(|p| ours(&p.code));
                    review.alerts.retain(|a| ours(&a.pdu));
                    review.statuses.retain(|s| ours(&s.pdu));
                    review.incidents.retain(|i| ours(&i.pdu));
                }
                let some_pdus = pdus.len() < listed;
                let data = Arc::new(OverviewData {
                    region,
                    regions,
                    pdus,
                    alerts: review.alerts,
                    statuses: review.statuses,
                    incidents: review.incidents,
                    trends: crate::alerts::trends(conn, TREND_RUNS)?,
                    forecasts: crate::alerts::forecasts_recorded(
                        conn,
                        &env.eval.rules,
                        env.eval.as_of,
                    )?,
                    some_pdus,
                });
                fill = to_cache.map(|f| CacheWrite(f, Arc::clone(&data)));
                Ok(data)
            })()
            .map_err(|e| err(store, e));
            (Response::Overview(generation, result), fill)
        }
        Request::ListPage {
            generation,
            pdu,
            list,
            filter,
            offset,
            limit,
        } => {
            let page = lists.page(store, env, &pdu, list, &filter, (offset, limit));
            let response = match (list, page) {
                (_, Ok(ListWindow::Checks(p))) => Response::Checks(generation, Ok(p)),
                (_, Ok(ListWindow::Releases(p))) => Response::Releases(generation, Ok(p)),
                (RiskList::Checks, Err(e)) => Response::Checks(generation, Err(e)),
                (RiskList::Release, Err(e)) => Response::Releases(generation, Err(e)),
            };
            (response, None)
        }
        Request::ExportList {
            pdu,
            list,
            filter,
            mask,
        } => (
            Response::Exported(export_list_to_file(
                store, env, lists, &pdu, list, &filter, mask,
            )),
            None,
        ),
        r => (answer_other(store, env, r), None),
    }
}

// Long: one short arm per kind of request, a flat dispatch best read in one place.
fn answer_other(store: &Store, env: &Env, r: Request) -> Response {
    let conn = store.db();
    let (policy, as_of) = (&env.eval.policy, env.eval.as_of);
    match r {
        Request::Overview { .. } | Request::ListPage { .. } | Request::ExportList { .. } => {
            answer(store, env, r)
        }
        Request::Page {
            generation,
            pdu,
            list,
            query,
        } => Response::Page(
            generation,
            list,
            read::case_list_page(conn, policy, as_of, &pdu, list, &query)
                .map_err(|e| err(store, e)),
        ),
        Request::Staffing { generation, pdu } => {
            let result = (|| {
                let grades = read::staffing(conn, policy, Some(&pdu))?
                    .remove(&pdu)
                    .unwrap_or_default();
                let practitioners = read::practitioners(
                    conn,
                    policy,
                    as_of,
                    Some(&pdu),
                    PractitionerSort::Capacity,
                )?;
                Ok(StaffingData {
                    grades,
                    practitioners,
                })
            })()
            .map_err(|e| err(store, e));
            Response::Staffing(generation, result)
        }
        Request::Case { generation, crn } => {
            let result = (|| {
                let Some(detail) = read::case_detail(conn, policy, &crn)? else {
                    return Ok(None);
                };
                let risk = crate::alerts::case_risk(conn, policy, &detail, as_of)?;
                let metrics = risk
                    .as_ref()
                    .map(|(c, _)| crate::risk_checks::CaseRiskMetrics::of(c))
                    .unwrap_or_default();
                Ok(Some(Box::new(CaseView {
                    alerts: crate::alerts::case_alerts(&detail, metrics, &env.eval.rules, as_of),
                    risk,
                    contact_rule: policy.contact_interval(detail.rosh, detail.mappa),
                    detail,
                    notes: actions::notes(conn, &crn)?,
                    history: actions::audit_log(conn, Some(&crn), None)?,
                })))
            })()
            .map_err(|e| err(store, e));
            Response::Case(generation, result)
        }
        Request::Candidates { generation, crn } => Response::Candidates(
            generation,
            actions::case_facts(conn, &crn)
                .and_then(|c| actions::candidates(conn, policy, as_of, &c))
                .map(Box::new)
                .map_err(Failure::from),
        ),
        Request::Spos {
            generation,
            pdu,
            crn,
        } => {
            let result = (|| -> Result<Box<SpoForm>, actions::ActionError> {
                let spos = crate::store::read::working_spos(conn, &pdu)?;
                let case = actions::case_facts(conn, &crn)?;
                let me = env.me.as_ref().and_then(|m| {
                    spos.iter()
                        .find(|(code, _)| code.eq_ignore_ascii_case(m))
                        .map(|(code, _)| code.clone())
                });
                let allocation_due = actions::allocation_oversight_due(conn, policy, as_of, &case)?;
                Ok(Box::new(SpoForm {
                    spos,
                    case,
                    me,
                    allocation_due,
                }))
            })()
            .map_err(Failure::from);
            Response::Spos(generation, result)
        }
        Request::Today { generation, pdu } => Response::Today(
            generation,
            crate::alerts::review_pdu(conn, &env.eval, &pdu, TODAY_LIMIT)
                .map(|r| {
                    r.map(|r| TodayData {
                        pdu: r.pdu,
                        status: r.status,
                        status_reasons: r.status_reasons,
                        actions: r.actions,
                        totals: crate::incidents::totals_in_task_order(&r.totals),
                        more: r.more,
                    })
                })
                .map_err(|e| err(store, e)),
        ),
        Request::Support { generation, pdu } => Response::Support(
            generation,
            (|| {
                let region = crate::store::runs::region_of(conn, &pdu)?.unwrap_or_default();
                read::support::support_report(conn, policy, as_of, &region).map(Arc::new)
            })()
            .map_err(|e| err(store, e)),
        ),
        Request::Chart { generation, pdu } => Response::Chart(
            generation,
            crate::alerts::recorded_history(conn, &pdu, as_of)
                .map(|h| crate::chart::series(&env.eval.rules, &h))
                .map_err(|e| err(store, e)),
        ),
        Request::Equity { generation, pdu } => Response::Equity(
            generation,
            (|| {
                use read::risk::RiskScope;
                let region = crate::store::runs::region_of(conn, &pdu)?.unwrap_or_default();
                let unit = read::equity::equity_report(conn, policy, as_of, RiskScope::Pdu(&pdu))?;
                let wide =
                    read::equity::equity_report(conn, policy, as_of, RiskScope::Region(&region))?;
                Ok(Arc::new((unit, wide)))
            })()
            .map_err(|e| err(store, e)),
        ),
        Request::Caseload {
            generation,
            staff_code,
        } => Response::Caseload(
            generation,
            read::support::caseload(
                conn,
                policy,
                as_of,
                &staff_code,
                crate::tui::screens::pdu::support::DRILL_LIMIT,
            )
            .map_err(|e| err(store, e)),
        ),
        Request::Act(_) => {
            Response::Acted(Err(Failure::Refused("writes go through perform".into())))
        }
        Request::Export { view, pdu, mask } => {
            Response::Exported(export_to_file(store, env, view, pdu, mask))
        }
        Request::ExportSummary { codes } => {
            Response::Exported(export_summary_to_file(store, env, &codes))
        }
        Request::ExportCases {
            pdu,
            list,
            query,
            mask,
        } => Response::Exported(export_cases_to_file(store, env, &pdu, list, &query, mask)),
    }
}

/// Writes a CSV of `view` next to where casewatch was started, never over an existing file.
fn export_to_file(
    store: &Store,
    env: &Env,
    view: crate::export::View,
    pdu: Option<String>,
    mask: bool,
) -> Result<Exported, Failure> {
    use crate::export::View;
    let (text, rows) = crate::export::export_names(
        store.db(),
        &env.eval,
        &crate::export::Request {
            view,
            pdu: pdu.as_deref(),
            format: crate::export::ExportFormat::Csv,
            mask,
        },
    )?;
    let path = free_export_path(env, pdu.as_deref(), &view_name(view))?;
    crate::export::write_private(&path, text.as_bytes())
        .map_err(|e| Failure::File(format!("cannot write {}: {e}", path.display())))?;
    Ok(Exported {
        path: shown_path(path),
        rows,
        masked: matches!(view, View::Practitioners).then_some(mask),
    })
}

/// Writes the overview's PDUs, as the screen lists them, next to where casewatch was started.
fn export_summary_to_file(store: &Store, env: &Env, codes: &[String]) -> Result<Exported, Failure> {
    let (text, rows) =
        crate::export::summary_csv(store.db(), &env.eval.policy, env.eval.as_of, codes)?;
    let path = free_export_path(env, None, &view_name(crate::export::View::Summary))?;
    crate::export::write_private(&path, text.as_bytes())
        .map_err(|e| Failure::File(format!("cannot write {}: {e}", path.display())))?;
    Ok(Exported {
        path: shown_path(path),
        rows,
        masked: None,
    })
}

/// Writes a PDU's case table as the screen shows it, streamed row by row from SQLite.
fn export_cases_to_file(
    store: &Store,
    env: &Env,
    pdu: &str,
    list: CaseList,
    query: &PageQuery,
    mask: bool,
) -> Result<Exported, Failure> {
    use crate::export::View;
    let view = match list {
        CaseList::Unallocated => View::Unallocated,
        CaseList::Mappa => View::Mappa,
        CaseList::OversightOverdue => View::OversightOverdue,
        CaseList::ContactsOverdue => View::ContactsOverdue,
    };
    let path = free_export_path(env, Some(pdu), &view_name(view))?;
    let mut rows = 0;
    crate::export::write_private_with(&path, |w| {
        rows = crate::export::write_case_list(
            store.db(),
            &env.eval,
            &crate::export::CaseListRequest {
                pdu,
                list,
                query,
                mask,
            },
            w,
        )
        .map_err(std::io::Error::other)?;
        Ok(())
    })
    .map_err(|e| Failure::File(format!("cannot write {}: {e}", path.display())))?;
    Ok(Exported {
        path: shown_path(path),
        rows,
        masked: Some(mask),
    })
}

/// Writes a PDU's risk list as the screen shows it (filter and order), from the lists the
/// worker keeps.
fn export_list_to_file(
    store: &Store,
    env: &Env,
    lists: &mut Lists,
    pdu: &str,
    list: RiskList,
    filter: &CaseFilter,
    mask: bool,
) -> Result<Exported, Failure> {
    let kept = lists
        .kept(store, env, pdu, list, filter)?
        .map(<[u32]>::to_vec);
    let path = free_export_path(env, Some(pdu), list.file_name())?;
    let l = &lists.lists;
    let mut rows = 0;
    crate::export::write_private_with(&path, |w| {
        rows = match (list, kept) {
            (RiskList::Checks, None) => crate::export::write_risk_checks(&l.checks, mask, w),
            (RiskList::Checks, Some(k)) => {
                crate::export::write_risk_checks(k.iter().map(|&i| &l.checks[i as usize]), mask, w)
            }
            (RiskList::Release, None) => crate::export::write_releases(&l.release, mask, w),
            (RiskList::Release, Some(k)) => {
                crate::export::write_releases(k.iter().map(|&i| &l.release[i as usize]), mask, w)
            }
        }
        .map_err(std::io::Error::other)?;
        Ok(())
    })
    .map_err(|e| Failure::File(format!("cannot write {}: {e}", path.display())))?;
    Ok(Exported {
        path: shown_path(path),
        rows,
        masked: Some(mask),
    })
}

/// The name an export of `view` carries: its name on the command line.
fn view_name(view: crate::export::View) -> String {
    use clap::ValueEnum;
    view.to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_else(|| "export".into())
}

/// `casewatch-PDU-VIEW-DATE.csv` in the working directory, numbered past any that exist.
fn free_export_path(env: &Env, pdu: Option<&str>, view_name: &str) -> Result<PathBuf, Failure> {
    let stem = format!(
        "casewatch-{}-{}-{}",
        pdu.unwrap_or("all"),
        view_name,
        crate::domain::fmt_date(env.eval.as_of)
    );
    for n in 0..100 {
        let name = if n == 0 {
            format!("{stem}.csv")
        } else {
            format!("{stem}-{n}.csv")
        };
        let path = PathBuf::from(&name);
        if !path.exists() {
            return Ok(path);
        }
    }
    Err(Failure::File(
        "too many exports with the same name here; move some away".into(),
    ))
}

fn shown_path(path: PathBuf) -> String {
    std::fs::canonicalize(&path)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A refusal worded for the command line (`--until DATE`), reworded for the form's fields.
fn form_words(e: &str) -> String {
    e.replace("--until DATE", "an until date")
        .replace("--until ", "until ")
        .replace("--reason TEXT", "a reason")
}

/// Runs one write against the store.
pub fn perform(store: &mut Store, env: &Env, actor: &str, act: Act) -> Response {
    if store.is_read_only() {
        return Response::Acted(Err(actions::ActionError::ReadOnly.into()));
    }
    perform_on(store, env, actor, act, |s, actor, id| {
        actions::undo(s, actor, id)
    })
}

/// [`perform`] on either backend; `undo` is the backend's own.
pub(super) fn perform_on<S: crate::store::triage::TriageStore>(
    store: &mut S,
    env: &Env,
    actor: &str,
    act: Act,
    undo: impl Fn(&mut S, &str, i64) -> Result<actions::Done, actions::ActionError>,
) -> Response {
    let (policy, as_of) = (&env.eval.policy, env.eval.as_of);
    if let Act::Silence {
        rule,
        pdu,
        crn,
        until,
        reason,
    } = act
    {
        let req = crate::alerts::SilenceRequest {
            rule: Some(rule),
            pdu: Some(pdu),
            crn,
            until: Some(until),
            reason,
        };
        return Response::Silenced(
            crate::alerts::add_silence(store, &env.eval.rules, actor, as_of, &req).map_err(|e| {
                match e {
                    crate::alerts::SilenceError::Sqlite(_) | crate::alerts::SilenceError::Pg(_) => {
                        Failure::Database(e.to_string())
                    }
                    e => Failure::Refused(form_words(&e.to_string())),
                }
            }),
        );
    }
    let words = act.done_words();
    let what = act.what();
    let undoable = !matches!(act, Act::Undo { .. } | Act::Ack { .. });
    // Another writer (the nightly job, an import) may hold the lock for a moment.
    let result = actions::with_retry(actions::WRITE_ATTEMPTS, || match act.clone() {
        Act::Allocate(a) => actions::allocate(&mut *store, policy, as_of, actor, &a),
        Act::Oversight(o) => actions::record_oversight(&mut *store, as_of, actor, &o),
        Act::Note {
            crn,
            text,
            sensitive,
        } => actions::add_note(&mut *store, actor, &crn, &text, sensitive),
        Act::Undo { audit_id } => undo(&mut *store, actor, audit_id),
        Act::Ack { key, note } => crate::alerts::acknowledge(&mut *store, actor, &key, &note)
            .map(|audit_id| actions::Done { audit_id }),
        Act::Silence { .. } => unreachable!("silences are recorded above"),
    });
    match result {
        Ok(d) => Response::Acted(Ok(Acted {
            audit_id: d.audit_id,
            words,
            undoable,
            what,
        })),
        Err(actions::ActionError::Changed(c)) => Response::Conflict(c.to_string()),
        Err(e) => Response::Acted(Err(e.into())),
    }
}
