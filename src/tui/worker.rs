//! Queries run here, off the draw loop: one blocking task owns its own connection, takes
//! requests, answers with messages, and watches `PRAGMA data_version` for writes by other
//! processes. Bursts of requests (a held-down key) are coalesced to the newest per slot.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use chrono::NaiveDate;
use tokio::sync::mpsc::UnboundedSender;

use crate::policy::Policy;
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
}

impl Request {
    /// Requests in the same slot supersede each other.
    fn slot(&self) -> (u8, Option<CaseList>) {
        match self {
            Request::Overview { .. } => (0, None),
            Request::Page { list, .. } => (1, Some(*list)),
            Request::Staffing { .. } => (2, None),
            Request::Case { .. } => (3, None),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverviewData {
    pub region: String,
    pub regions: Vec<String>,
    pub pdus: Vec<PduSummary>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StaffingData {
    pub grades: Vec<GradeStaffing>,
    pub practitioners: Vec<PractitionerRow>,
}

/// Answers, carrying the generation of the request so stale ones can be dropped.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Overview(u64, Result<OverviewData, String>),
    Page(u64, CaseList, Result<Page<CaseRow>, String>),
    Staffing(u64, Result<StaffingData, String>),
    Case(u64, Result<Option<Box<CaseDetail>>, String>),
    /// Another process wrote the database.
    DataChanged,
    /// The worker could not open the database at all.
    Fatal(String),
}

/// Runs the worker loop until the request channel closes.
pub fn run(
    db: PathBuf,
    policy: Policy,
    as_of: NaiveDate,
    requests: Receiver<Request>,
    responses: UnboundedSender<Response>,
) {
    let store = match Store::open(&db, OpenMode::Existing) {
        Ok(s) => s,
        Err(e) => {
            let _ = responses.send(Response::Fatal(e.to_string()));
            return;
        }
    };
    let mut version = store.data_version().ok();
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
        // Coalesce: keep only the newest request of each slot.
        let mut batch = vec![first];
        while let Ok(r) = requests.try_recv() {
            batch.retain(|b| b.slot() != r.slot());
            batch.push(r);
        }
        for r in batch {
            let answer = answer(&store, &policy, as_of, r);
            if responses.send(answer).is_err() {
                return;
            }
        }
    }
}

fn err(store: &Store, e: rusqlite::Error) -> String {
    crate::store::classify(store.path(), e).to_string()
}

/// Runs one request against the store.
pub fn answer(store: &Store, policy: &Policy, as_of: NaiveDate, r: Request) -> Response {
    let conn = store.conn();
    match r {
        Request::Overview { generation, region } => {
            let result = (|| {
                let regions: Vec<String> = read::regions(conn)?.into_iter().map(|r| r.0).collect();
                let region = region
                    .filter(|r| regions.contains(r))
                    .or_else(|| regions.first().cloned())
                    .unwrap_or_default();
                let pdus = read::pdu_summaries(conn, policy, as_of, Some(&region))?;
                Ok(OverviewData {
                    region,
                    regions,
                    pdus,
                })
            })()
            .map_err(|e| err(store, e));
            Response::Overview(generation, result)
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
        Request::Case { generation, crn } => Response::Case(
            generation,
            read::case_detail(conn, policy, &crn)
                .map(|d| d.map(Box::new))
                .map_err(|e| err(store, e)),
        ),
    }
}
