//! The nightly alert review: gathers metrics from the read models, evaluates the rules,
//! compares with the last recorded run (new, ongoing, resolved), records runs, and handles
//! acknowledgements. Evaluation itself is in `rules` and is pure.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde_json::json;

use crate::actions::{ActionError, record_audit};
use crate::domain::{Grade, Rosh, fmt_date};
use crate::policy::Policy;
use crate::rules::{Alert, Rules, Scope, Severity, Subject, evaluate};
use crate::store::read::{self, PduSummary};

/// Everything a run needs: the PDU summaries (also the trend snapshot) and the subjects.
pub struct Gathered {
    pub pdus: Vec<PduSummary>,
    pub subjects: Vec<Subject>,
}

fn rosh_level(r: Option<Rosh>) -> f64 {
    match r {
        None => 0.0,
        Some(Rosh::Low) => 1.0,
        Some(Rosh::Medium) => 2.0,
        Some(Rosh::High) => 3.0,
        Some(Rosh::VeryHigh) => 4.0,
    }
}

fn b(v: bool) -> f64 {
    if v { 1.0 } else { 0.0 }
}

/// Reads the metrics of every PDU, practitioner and candidate case (of one region, or all).
pub fn gather(
    conn: &Connection,
    policy: &Policy,
    as_of: NaiveDate,
    region: Option<&str>,
) -> rusqlite::Result<Gathered> {
    let (pdus, practitioners) = read::pdu_summaries_and_practitioners(conn, policy, as_of, region)?;
    let regions: HashMap<String, Option<f64>> = read::region_totals(&pdus)
        .into_iter()
        .map(|r| (r.region, r.vacancy_rate))
        .collect();
    let mut subjects = Vec::new();
    for p in &pdus {
        let region_vac = regions.get(&p.region).copied().flatten().unwrap_or(0.0);
        let vac = p.vacancy_rate.unwrap_or(0.0);
        let metrics: BTreeMap<&'static str, f64> = [
            ("cases", p.cases as f64),
            ("unallocated", p.unallocated as f64),
            ("unallocated_share", p.unallocated_share()),
            ("unallocated_mappa", p.unallocated_mappa as f64),
            ("unallocated_high_rosh", p.unallocated_high_rosh as f64),
            ("no_rosh", p.no_rosh as f64),
            ("vacancy_rate", vac),
            ("region_vacancy_rate", region_vac),
            ("vacancy_above_region", vac - region_vac),
            ("oversight_required", p.oversight_required as f64),
            ("oversight_overdue", p.oversight_overdue as f64),
            ("oversight_overdue_share", p.oversight_overdue_share()),
            ("contacts_overdue", p.contacts_overdue as f64),
            (
                "high_risk_contacts_overdue",
                p.high_risk_contacts_overdue as f64,
            ),
            ("over_capacity", p.over_capacity as f64),
        ]
        .into_iter()
        .collect();
        subjects.push(Subject {
            scope: Scope::Pdu,
            pdu: p.code.clone(),
            crn: None,
            staff_code: None,
            metrics,
        });
    }
    for p in practitioners {
        let Some(cap) = p.capacity_pct else { continue };
        subjects.push(Subject {
            scope: Scope::Practitioner,
            pdu: p.pdu.clone(),
            crn: None,
            staff_code: Some(p.staff_code.clone()),
            metrics: [
                ("capacity_pct", (cap * 10.0).round() / 10.0),
                ("caseload", p.caseload as f64),
                ("high_risk_cases", p.high_risk_cases as f64),
                ("trainee", b(matches!(p.grade, Grade::Pqip | Grade::Nqo))),
            ]
            .into_iter()
            .collect(),
        });
    }
    for c in read::case_alert_rows(conn, policy, as_of, region)? {
        let days = |d: Option<NaiveDate>| d.map_or(0.0, |d| (as_of - d).num_days().max(0) as f64);
        subjects.push(Subject {
            scope: Scope::Case,
            pdu: c.pdu.clone(),
            crn: Some(c.crn.clone()),
            staff_code: None,
            metrics: [
                ("unallocated", b(!c.allocated)),
                (
                    "days_unallocated",
                    if c.allocated {
                        0.0
                    } else {
                        days(c.unallocated_since)
                    },
                ),
                ("mappa_category", f64::from(c.mappa.category)),
                ("mappa_level", f64::from(c.mappa.level)),
                ("multi_agency", b(c.mappa.is_multi_agency())),
                ("rosh_level", rosh_level(c.rosh)),
                ("no_rosh", b(c.rosh.is_none())),
                (
                    "high_risk",
                    b(c.rosh.is_some_and(Rosh::is_high) || c.mappa.is_mappa()),
                ),
                ("contact_overdue_days", days(c.contact_due)),
                ("oversight_overdue_days", days(c.oversight_due)),
            ]
            .into_iter()
            .collect(),
        });
    }
    Ok(Gathered { pdus, subjects })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Ongoing,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Ongoing => "ongoing",
            Status::Resolved => "resolved",
        }
    }
}

/// An alert as the review reports it. The JSON field names are a stable contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewedAlert {
    pub key: String,
    pub rule: String,
    pub severity: Severity,
    pub scope: Scope,
    pub pdu: String,
    pub crn: Option<String>,
    pub staff_code: Option<String>,
    pub status: Status,
    pub first_seen: String,
    pub message: String,
    pub metrics: BTreeMap<String, f64>,
    pub acknowledged: bool,
    /// Acknowledged before, but a metric has since got worse.
    pub reopened: bool,
}

/// A whole review: what `casewatch alerts` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub as_of: String,
    pub run_id: Option<i64>,
    /// The recorded run compared against, if any.
    pub previous: Option<String>,
    pub counts: Counts,
    pub alerts: Vec<ReviewedAlert>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub critical: u64,
    pub high: u64,
    pub warning: u64,
    pub new: u64,
    pub new_critical: u64,
    pub resolved: u64,
    pub acknowledged: u64,
}

impl Review {
    pub fn has_new_critical(&self) -> bool {
        self.counts.new_critical > 0
    }
}

fn severity_of(s: &str) -> Severity {
    match s {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        _ => Severity::Warning,
    }
}

fn scope_of(s: &str) -> Scope {
    match s {
        "case" => Scope::Case,
        "practitioner" => Scope::Practitioner,
        _ => Scope::Pdu,
    }
}

/// A recorded run: its id, its as-of date, and each open alert's key and first-seen date.
type PreviousRun = (i64, String, HashMap<String, String>);

/// The latest recorded run strictly before `as_of`: its id, date, and the first-seen date of
/// each of its open (not resolved) alerts (of one region's PDUs, or all). Only keys are read
/// here: most alerts carry on, and the few that resolved are read whole by [`resolved_alert`].
fn previous_run(
    conn: &Connection,
    as_of: &str,
    region: Option<&str>,
) -> rusqlite::Result<Option<PreviousRun>> {
    let Some((id, prev_as_of)) = conn
        .query_row(
            "SELECT id, as_of FROM alert_runs WHERE as_of < ?1 ORDER BY as_of DESC LIMIT 1",
            [as_of],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?
    else {
        return Ok(None);
    };
    // Two shapes, so that a region's review seeks its PDUs in the covering index instead of
    // testing every alert of the run.
    let mut stmt = match region {
        Some(_) => conn.prepare_cached(
            "SELECT key, first_seen FROM run_alerts
              WHERE run_id = ?1 AND status <> 'resolved'
                AND pdu IN (SELECT code FROM pdus WHERE region = ?2)",
        )?,
        None => conn.prepare_cached(
            "SELECT key, first_seen FROM run_alerts
              WHERE run_id = ?1 AND status <> 'resolved' AND ?2 IS NULL",
        )?,
    };
    let rows = stmt.query_map(params![id, region], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(Some((
        id,
        prev_as_of,
        rows.collect::<rusqlite::Result<_>>()?,
    )))
}

/// An alert of run `run_id` that is no longer raised, as the review lists it.
fn resolved_alert(conn: &Connection, run_id: i64, key: &str) -> rusqlite::Result<ReviewedAlert> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, rule, severity, scope, pdu, crn, staff_code, first_seen, message, metrics
           FROM run_alerts WHERE run_id = ?1 AND key = ?2",
    )?;
    stmt.query_row(params![run_id, key], |r| {
        Ok(ReviewedAlert {
            key: r.get(0)?,
            rule: r.get(1)?,
            severity: severity_of(r.get_ref(2)?.as_str()?),
            scope: scope_of(r.get_ref(3)?.as_str()?),
            pdu: r.get(4)?,
            crn: r.get(5)?,
            staff_code: r.get(6)?,
            status: Status::Resolved,
            first_seen: r.get(7)?,
            message: r.get(8)?,
            metrics: serde_json::from_str(r.get_ref(9)?.as_str()?).unwrap_or_default(),
            acknowledged: false,
            reopened: false,
        })
    })
}

/// The latest acknowledgement of each key, with the metric values it was given at.
fn acks(conn: &Connection) -> rusqlite::Result<HashMap<String, BTreeMap<String, f64>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, metrics FROM alert_acks a
          WHERE id = (SELECT max(id) FROM alert_acks b WHERE b.key = a.key)",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = HashMap::new();
    for row in rows {
        let (k, m) = row?;
        out.insert(k, serde_json::from_str(&m).unwrap_or_default());
    }
    Ok(out)
}

/// Whether any metric got worse since the acknowledgement (a count or rate grew).
fn worsened(now: &BTreeMap<String, f64>, then: &BTreeMap<String, f64>) -> bool {
    now.iter()
        .any(|(k, v)| then.get(k).is_some_and(|t| *v > *t + 1e-9))
}

/// Compares current alerts (of one region, or all) with the same scope of the previous run
/// and the acknowledgements.
pub fn review(
    conn: &Connection,
    as_of: NaiveDate,
    alerts: Vec<Alert>,
    region: Option<&str>,
) -> rusqlite::Result<Review> {
    let prev = previous_run(conn, &fmt_date(as_of), region)?;
    review_against(conn, as_of, alerts, prev)
}

/// [`review`] with the previous run already read.
fn review_against(
    conn: &Connection,
    as_of: NaiveDate,
    alerts: Vec<Alert>,
    prev: Option<PreviousRun>,
) -> rusqlite::Result<Review> {
    let as_of_s = fmt_date(as_of);
    let acks = acks(conn)?;
    let (run_id, previous, mut prev_alerts) = match prev {
        Some((id, d, m)) => (Some(id), Some(d), m),
        None => (None, None, HashMap::new()),
    };
    let mut out = Vec::with_capacity(alerts.len());
    for a in alerts {
        let (status, first_seen) = match prev_alerts.remove(&a.key) {
            Some(first_seen) => (Status::Ongoing, first_seen),
            None => (Status::New, as_of_s.clone()),
        };
        let (acknowledged, reopened) = match acks.get(&a.key) {
            Some(then) if worsened(&a.metrics, then) => (false, true),
            Some(_) => (true, false),
            None => (false, false),
        };
        out.push(ReviewedAlert {
            key: a.key,
            rule: a.rule,
            severity: a.severity,
            scope: a.scope,
            pdu: a.pdu,
            crn: a.crn,
            staff_code: a.staff_code,
            status,
            first_seen,
            message: a.message,
            metrics: a.metrics,
            acknowledged,
            reopened,
        });
    }
    let mut resolved = Vec::with_capacity(prev_alerts.len());
    if let Some(run_id) = run_id {
        for key in prev_alerts.keys() {
            resolved.push(resolved_alert(conn, run_id, key)?);
        }
    }
    resolved.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.pdu.cmp(&b.pdu))
            .then_with(|| a.key.cmp(&b.key))
    });
    out.extend(resolved);
    let mut counts = Counts::default();
    for a in &out {
        if a.status == Status::Resolved {
            counts.resolved += 1;
            continue;
        }
        match a.severity {
            Severity::Critical => counts.critical += 1,
            Severity::High => counts.high += 1,
            Severity::Warning => counts.warning += 1,
        }
        if a.status == Status::New {
            counts.new += 1;
            if a.severity == Severity::Critical {
                counts.new_critical += 1;
            }
        }
        if a.acknowledged {
            counts.acknowledged += 1;
        }
    }
    Ok(Review {
        as_of: as_of_s,
        run_id: None,
        previous,
        counts,
        alerts: out,
    })
}

/// What the overview cache holds for one as-of date, policy, rules and region.
#[derive(Clone, Serialize, serde::Deserialize)]
struct Cached {
    pdus: Vec<PduSummary>,
    alerts: Vec<Alert>,
}

/// A stable fingerprint (FNV-1a) of what the cached figures depend on besides the data.
fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// The overview cache's key: the version, as-of date, region and what else the figures
/// depend on besides the data.
fn cache_key(policy: &Policy, rules: &Rules, as_of: NaiveDate, region: Option<&str>) -> String {
    format!(
        "{}|{}|{}|{}",
        env!("CARGO_PKG_VERSION"),
        fmt_date(as_of),
        region.unwrap_or("*"),
        fingerprint(&[&format!("{policy:?}"), &format!("{rules:?}")])
    )
}

/// Figures computed for a region that the overview cache does not hold yet. The screen's
/// worker answers first and stores them after, so the first frame does not wait for a
/// write of several megabytes.
pub struct CacheFill {
    key: String,
    cached: Cached,
}

impl CacheFill {
    /// Writes the figures into the overview cache. A read-only file or a busy writer just
    /// means no cache this time: a reader (the screen, `alerts --region`) must not wait out
    /// the busy timeout behind a long import or nightly run for a cache, so the write is
    /// tried once, without waiting.
    pub fn store(self, conn: &Connection) {
        let Ok(body) = serde_json::to_string(&self.cached) else {
            return;
        };
        let wait: i64 = conn
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .unwrap_or(0);
        if conn.pragma_update(None, "busy_timeout", 0).is_ok() {
            let _ = conn.execute(
                "INSERT OR REPLACE INTO overview_cache (key, body) VALUES (?1, ?2)",
                params![self.key, body],
            );
            let _ = conn.pragma_update(None, "busy_timeout", wait);
        }
    }
}

/// From the cache, or computed; computed figures of a region come with what to cache.
fn evaluate_or_cached(
    conn: &Connection,
    policy: &Policy,
    rules: &Rules,
    as_of: NaiveDate,
    region: Option<&str>,
) -> rusqlite::Result<(Vec<PduSummary>, Vec<Alert>, Option<CacheFill>)> {
    let key = cache_key(policy, rules, as_of, region);
    let hit: Option<String> = conn
        .query_row(
            "SELECT body FROM overview_cache WHERE key = ?1",
            [&key],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(c) = hit.and_then(|b| serde_json::from_str::<Cached>(&b).ok()) {
        return Ok((c.pdus, c.alerts, None));
    }
    let g = gather(conn, policy, as_of, region)?;
    let alerts = evaluate(&g.subjects, rules);
    // Only a region's figures (the screen's) are kept: the national scope is the nightly
    // run's, computed once a day, and at a million cases writing its hundred thousand
    // alerts into the cache would cost that run more than a later read could save.
    let fill = region.is_some().then(|| CacheFill {
        key,
        cached: Cached {
            pdus: g.pdus.clone(),
            alerts: alerts.clone(),
        },
    });
    Ok((g.pdus, alerts, fill))
}

/// The PDU summaries and evaluated alerts, from the overview cache when the data has not
/// changed since they were computed, else computed and (for a region, where the file is
/// writable) cached.
pub fn evaluate_cached(
    conn: &Connection,
    policy: &Policy,
    rules: &Rules,
    as_of: NaiveDate,
    region: Option<&str>,
) -> rusqlite::Result<(Vec<PduSummary>, Vec<Alert>)> {
    let (pdus, alerts, fill) = evaluate_or_cached(conn, policy, rules, as_of, region)?;
    if let Some(fill) = fill {
        fill.store(conn);
    }
    Ok((pdus, alerts))
}

/// Gathers, evaluates and reviews in one go.
pub fn run(
    conn: &Connection,
    policy: &Policy,
    rules: &Rules,
    as_of: NaiveDate,
    region: Option<&str>,
) -> rusqlite::Result<(Review, Vec<PduSummary>)> {
    let (review, pdus, fill) = run_deferring_cache(conn, policy, rules, as_of, region)?;
    if let Some(fill) = fill {
        fill.store(conn);
    }
    Ok((review, pdus))
}

/// [`run`], leaving the overview-cache write (if any) to the caller, to do once it has
/// answered.
pub fn run_deferring_cache(
    conn: &Connection,
    policy: &Policy,
    rules: &Rules,
    as_of: NaiveDate,
    region: Option<&str>,
) -> rusqlite::Result<(Review, Vec<PduSummary>, Option<CacheFill>)> {
    let as_of_s = fmt_date(as_of);
    // The last run's keys do not depend on today's data: read them on a second connection
    // while this one gathers and evaluates (the machine has two cores; the nightly run at a
    // million cases reads a hundred thousand keys).
    let path = conn
        .path()
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from);
    let (evaluated, prefetched) = std::thread::scope(|s| {
        let prefetch = path.map(|p| {
            let as_of_s = &as_of_s;
            s.spawn(move || -> rusqlite::Result<Option<PreviousRun>> {
                let c = Connection::open_with_flags(
                    p,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                previous_run(&c, as_of_s, region)
            })
        });
        let evaluated = evaluate_or_cached(conn, policy, rules, as_of, region);
        (evaluated, prefetch.and_then(|h| h.join().ok()))
    });
    let (pdus, alerts, fill) = evaluated?;
    let prev = match prefetched {
        Some(Ok(prev)) => prev,
        // No second connection (an in-memory database) or it failed: read it here.
        _ => previous_run(conn, &as_of_s, region)?,
    };
    Ok((review_against(conn, as_of, alerts, prev)?, pdus, fill))
}

/// Records a review as the run for its as-of date, in one transaction. Recording the same
/// date again replaces that date's run, so nothing is ever duplicated.
pub fn record(
    conn: &mut Connection,
    review: &mut Review,
    pdus: &[PduSummary],
    actor: &str,
) -> rusqlite::Result<i64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute("DELETE FROM alert_runs WHERE as_of = ?1", [&review.as_of])?;
    tx.execute(
        "INSERT INTO alert_runs (as_of, recorded_at, actor) VALUES (?1, ?2, ?3)",
        params![
            review.as_of,
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            actor
        ],
    )?;
    let run_id = tx.last_insert_rowid();
    {
        let mut ins =
            tx.prepare("INSERT INTO run_pdu_metrics (run_id, pdu, metrics) VALUES (?1, ?2, ?3)")?;
        for p in pdus {
            let m = json!({
                "unallocated": p.unallocated,
                "unallocated_mappa": p.unallocated_mappa,
                "unallocated_high_rosh": p.unallocated_high_rosh,
                "vacancy_rate": p.vacancy_rate,
                "oversight_overdue": p.oversight_overdue,
                "oversight_required": p.oversight_required,
                "high_risk_contacts_overdue": p.high_risk_contacts_overdue,
                "cases": p.cases,
            });
            ins.execute(params![run_id, p.code, m.to_string()])?;
        }
        // In key order: appends to the clustered table instead of page splits all over it;
        // and many rows per statement, since each statement has a fixed cost.
        let mut by_key: Vec<&ReviewedAlert> = review.alerts.iter().collect();
        by_key.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        const ROWS: usize = 64;
        let insert = |n: usize| {
            let one = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
            format!(
                "INSERT INTO run_alerts (run_id, key, rule, severity, scope, pdu, crn, staff_code,
                                         status, first_seen, message, metrics)
                 VALUES {}",
                vec![one; n].join(", ")
            )
        };
        let mut full = tx.prepare(&insert(ROWS))?;
        for chunk in by_key.chunks(ROWS) {
            let metrics: Vec<String> = chunk
                .iter()
                .map(|a| serde_json::to_string(&a.metrics).unwrap_or_else(|_| "{}".into()))
                .collect();
            let labels: Vec<[&str; 3]> = chunk
                .iter()
                .map(|a| [a.severity.as_str(), a.scope.as_str(), a.status.as_str()])
                .collect();
            let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() * 12);
            for ((a, m), l) in chunk.iter().zip(&metrics).zip(&labels) {
                values.extend([
                    &run_id as &dyn rusqlite::ToSql,
                    &a.key,
                    &a.rule,
                    &l[0],
                    &l[1],
                    &a.pdu,
                    &a.crn,
                    &a.staff_code,
                    &l[2],
                    &a.first_seen,
                    &a.message,
                    m,
                ]);
            }
            if chunk.len() == ROWS {
                full.execute(values.as_slice())?;
            } else {
                tx.prepare(&insert(chunk.len()))?
                    .execute(values.as_slice())?;
            }
        }
    }
    tx.commit()?;
    review.run_id = Some(run_id);
    Ok(run_id)
}

/// Acknowledges an alert of the latest recorded run with a note. It stays listed, marked,
/// until a metric gets worse.
pub fn acknowledge(
    conn: &mut Connection,
    actor: &str,
    key: &str,
    note: &str,
) -> Result<i64, ActionError> {
    let note = note.trim();
    if note.is_empty() {
        return Err(ActionError::EmptyNote);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT a.metrics, a.crn FROM run_alerts a
               JOIN alert_runs r ON r.id = a.run_id
              WHERE a.key = ?1 AND a.status <> 'resolved'
              ORDER BY r.as_of DESC LIMIT 1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((metrics, crn)) = found else {
        return Err(ActionError::UnknownAlert);
    };
    tx.execute(
        "INSERT INTO alert_acks (key, at, actor, note, metrics) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            key,
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            actor,
            note,
            metrics
        ],
    )?;
    let after = json!({"note": note, "metrics": serde_json::from_str::<serde_json::Value>(&metrics).unwrap_or_default()});
    let id = record_audit(
        &tx,
        actor,
        "acknowledge",
        crn.as_deref(),
        Some(key),
        None,
        Some(&after),
        None,
    )?;
    tx.commit()?;
    Ok(id)
}

/// Recorded values of one PDU over the runs, oldest first, for trend lines.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Trend {
    pub as_of: Vec<String>,
    pub unallocated: Vec<f64>,
    pub unallocated_mappa: Vec<f64>,
    pub vacancy_rate: Vec<f64>,
    pub oversight_overdue: Vec<f64>,
}

/// Trends of every PDU over the last `runs` recorded runs.
pub fn trends(conn: &Connection, runs: u32) -> rusqlite::Result<HashMap<String, Trend>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.as_of, m.pdu, m.metrics FROM run_pdu_metrics m
           JOIN alert_runs r ON r.id = m.run_id
          WHERE r.id IN (SELECT id FROM alert_runs ORDER BY as_of DESC LIMIT ?1)
          ORDER BY r.as_of",
    )?;
    let rows = stmt.query_map([runs], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out: HashMap<String, Trend> = HashMap::new();
    for row in rows {
        let (as_of, pdu, m) = row?;
        let v: serde_json::Value = serde_json::from_str(&m).unwrap_or_default();
        let t = out.entry(pdu).or_default();
        let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
        t.as_of.push(as_of);
        t.unallocated.push(f("unallocated"));
        t.unallocated_mappa.push(f("unallocated_mappa"));
        t.vacancy_rate.push(f("vacancy_rate"));
        t.oversight_overdue.push(f("oversight_overdue"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{DemoOptions, build};
    use crate::store::{OpenMode, Store};

    #[test]
    fn the_overview_cache_is_used_until_the_data_changes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.db");
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        build(
            &p,
            &DemoOptions {
                cases: 2000,
                seed: 4,
                anchor: as_of,
            },
            false,
        )
        .unwrap();
        let s = Store::open(&p, OpenMode::Existing).unwrap();
        let (policy, rules) = (Policy::defaults(), Rules::defaults());
        let count = |s: &Store| -> i64 {
            s.conn()
                .query_row("SELECT count(*) FROM overview_cache", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(count(&s), 0);
        let (pdus, alerts) =
            evaluate_cached(s.conn(), &policy, &rules, as_of, Some("London")).unwrap();
        assert_eq!(count(&s), 1);
        let again = evaluate_cached(s.conn(), &policy, &rules, as_of, Some("London")).unwrap();
        for (a, b) in pdus.iter().zip(&again.0) {
            assert_eq!(a, b);
        }
        for (a, b) in alerts.iter().zip(&again.1) {
            assert_eq!(a, b);
        }
        assert_eq!((pdus.len(), alerts.len()), (again.0.len(), again.1.len()));
        let hfkcw = |p: &[PduSummary]| p.iter().find(|p| p.code == "HFKCW").unwrap().unallocated;
        // Any write to the data empties the cache, and the next read sees the change.
        let changed = s
            .conn()
            .execute(
                "UPDATE cases SET allocated_to = NULL, allocated_on = NULL, unallocated_since = '2026-10-30'
                  WHERE crn = (SELECT crn FROM cases WHERE pdu = 'HFKCW' AND allocated_to IS NOT NULL LIMIT 1)",
                [],
            )
            .unwrap();
        assert_eq!(changed, 1);
        assert_eq!(count(&s), 0);
        let (after, _) = evaluate_cached(s.conn(), &policy, &rules, as_of, Some("London")).unwrap();
        assert_eq!(hfkcw(&after), hfkcw(&pdus) + 1);
        // Another as-of date is another entry.
        let next = as_of.succ_opt().unwrap();
        evaluate_cached(s.conn(), &policy, &rules, next, Some("London")).unwrap();
        assert_eq!(count(&s), 2);
    }

    #[test]
    fn a_region_review_compares_with_that_region_of_the_last_run_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.db");
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let opts = DemoOptions {
            cases: 2000,
            seed: 4,
            anchor: as_of,
        };
        build(&p, &opts, false).unwrap();
        let mut s = Store::open(&p, OpenMode::Existing).unwrap();
        // A PDU in another region with an unallocated MAPPA case: alerts of its own.
        s.conn()
            .execute_batch(
                "INSERT INTO pdus (code, name, region) VALUES ('NRT', 'North Town', 'North');
                 INSERT INTO cases (crn, name, pdu, tier, rosh, mappa_category, mappa_level,
                                    case_type, sentence_date, unallocated_since)
                 VALUES ('N000001', 'N', 'NRT', 'A3', 'HIGH', 1, 2, 'LICENCE', '2026-01-01',
                         '2026-09-01');",
            )
            .unwrap();
        let (policy, rules) = (Policy::defaults(), Rules::defaults());
        let (mut national, pdus) = run(s.conn(), &policy, &rules, as_of, None).unwrap();
        assert!(national.alerts.iter().any(|a| a.pdu == "NRT"));
        record(s.conn_mut(), &mut national, &pdus, "t").unwrap();
        // Stored in statements of many rows: every alert once, whatever the remainder.
        assert!(national.alerts.len() > 64 && national.alerts.len() % 64 != 0);
        let stored: usize = s
            .conn()
            .query_row("SELECT count(DISTINCT key) FROM run_alerts", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(stored, national.alerts.len());
        let next = as_of + chrono::Duration::days(1);
        let (london, _) = run(s.conn(), &policy, &rules, next, Some("London")).unwrap();
        assert!(!london.alerts.is_empty());
        assert!(
            london.alerts.iter().all(|a| a.pdu != "NRT"),
            "another region's alerts are neither listed nor resolved"
        );
        assert!(london.alerts.iter().any(|a| a.status == Status::Ongoing));
    }
}
