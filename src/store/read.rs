//! Read models: the per-PDU summary, the paged case lists, staffing and case detail.
//!
//! One query per question, shared by the TUI, the alert rules, the reports and the exports,
//! so that a number is computed in one place. Everything that depends on "today" takes an
//! as-of date; overdue checks push the policy into SQL as threshold dates.

use crate::store::Db;
use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rusqlite::types::Value;
use rusqlite::{Connection, Row, Statement, ToSql};
use serde::Serialize;

use crate::domain::{
    CaseType, Grade, Mappa, PpfStatus, PractitionerStatus, Rating, Rosh, Tier, fmt_date,
};
use crate::filter::{CaseFilter, MappaTerm, Term};
use crate::policy::{Due, Policy, Thresholds};

type Result<T> = rusqlite::Result<T>;

/// SQL: the case is high risk (HIGH/VERY_HIGH RoSH or MAPPA).
const HIGH_RISK: &str = "(COALESCE(c.rosh, '') IN ('HIGH', 'VERY_HIGH') OR c.mappa_category > 0)";

/// SQL: the partial index `cases_alert_candidates` covers these cases; repeated word for word
/// so that SQLite sees the query needs no other row.
const ALERT_CANDIDATE: &str =
    "allocated_to IS NULL OR rosh IS NULL OR rosh IN ('HIGH', 'VERY_HIGH') OR mappa_category > 0";

/// SQL: the threshold date for this case's contact interval.
const CONTACT_THRESHOLD: &str = "(CASE
    WHEN c.rosh = 'VERY_HIGH' OR (c.mappa_category > 0 AND c.mappa_level >= 2) THEN :c_vh
    WHEN c.rosh = 'HIGH' THEN :c_h
    WHEN c.rosh = 'MEDIUM' THEN :c_m
    WHEN c.rosh = 'LOW' THEN :c_l
    ELSE :c_u END)";

/// SQL: the date contact is counted from (last contact since allocation, else allocation).
const CONTACT_BASE: &str = "max(COALESCE(c.last_contact, ''), c.allocated_on)";

// The SQL below (with `CaseList::day_sql`, `Policy::thresholds` and the tally keys in
// `schema`) says again what `Policy::contact_due` and `Policy::oversight_due` say in Rust.
// The property test `due_dates::the_sql_and_the_rust_rule_agree_on_every_due_date` holds the
// two to the same answer: change one, and it fails until the other says the same.

fn contact_overdue_sql() -> String {
    format!(
        "(c.allocated_to IS NOT NULL AND NOT (:custody_exempt AND c.case_type = 'CUSTODY')
          AND {CONTACT_BASE} < {CONTACT_THRESHOLD})"
    )
}

fn oversight_required_sql() -> String {
    format!(
        "(c.allocated_to IS NOT NULL AND (COALESCE(c.last_oversight, '') < c.allocated_on OR {HIGH_RISK}))"
    )
}

fn oversight_overdue_sql() -> String {
    format!(
        "(c.allocated_to IS NOT NULL AND (
            (COALESCE(c.last_oversight, '') < c.allocated_on AND c.allocated_on < :o_alloc)
         OR (c.last_oversight >= c.allocated_on AND {HIGH_RISK} AND c.last_oversight < :o_hr)))"
    )
}

/// Binds whichever threshold parameters a statement uses.
fn bind_thresholds(stmt: &mut Statement<'_>, t: &Thresholds) -> Result<()> {
    let pairs: [(&str, &dyn ToSql); 8] = [
        (":c_vh", &t.contact_very_high),
        (":c_h", &t.contact_high),
        (":c_m", &t.contact_medium),
        (":c_l", &t.contact_low),
        (":c_u", &t.contact_unknown),
        (":custody_exempt", &t.custody_exempt),
        (":o_alloc", &t.oversight_after_allocation),
        (":o_hr", &t.oversight_high_risk),
    ];
    for (name, value) in pairs {
        if let Some(i) = stmt.parameter_index(name)? {
            stmt.raw_bind_parameter(i, value)?;
        }
    }
    Ok(())
}

pub(in crate::store) fn bind_named(
    stmt: &mut Statement<'_>,
    name: &str,
    value: &dyn ToSql,
) -> Result<()> {
    if let Some(i) = stmt.parameter_index(name)? {
        stmt.raw_bind_parameter(i, value)?;
    }
    Ok(())
}

pub(in crate::store) fn date_col<I: rusqlite::RowIndex>(
    row: &Row<'_>,
    idx: I,
) -> Result<Option<NaiveDate>> {
    let s: Option<String> = row.get(idx)?;
    Ok(s.and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()))
}

pub(in crate::store) fn parse_col<T: std::str::FromStr, I: rusqlite::RowIndex>(
    row: &Row<'_>,
    idx: I,
) -> Result<Option<T>> {
    let s: Option<String> = row.get(idx)?;
    Ok(s.and_then(|s| s.parse().ok()))
}

/// Staffing of one grade in one PDU.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct GradeStaffing {
    pub grade: Grade,
    pub target_fte: f64,
    /// FTE filling funded posts (in post or long-term sick).
    pub in_post_fte: f64,
    /// FTE on detached duty from elsewhere: relief, not filled posts.
    pub detached_in_fte: f64,
    pub long_term_sick_fte: f64,
    /// `1 - in_post / target`, never below 0; `None` when there is no target.
    pub vacancy_rate: Option<f64>,
}

fn vacancy(target: f64, in_post: f64) -> Option<f64> {
    (target > 0.0).then(|| (1.0 - in_post / target).max(0.0))
}

/// Everything the overview and the PDU-scope alert rules need about one PDU.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct PduSummary {
    pub code: String,
    pub name: String,
    pub region: String,
    pub ppf_status: Option<PpfStatus>,
    pub rating: Option<Rating>,
    pub score: Option<u32>,
    pub score_max: Option<u32>,
    pub inspected_on: Option<NaiveDate>,
    pub cases: u64,
    pub unallocated: u64,
    pub unallocated_mappa: u64,
    pub unallocated_high_rosh: u64,
    pub mappa_cases: u64,
    pub no_rosh: u64,
    pub oversight_required: u64,
    pub oversight_overdue: u64,
    pub contacts_overdue: u64,
    pub high_risk_contacts_overdue: u64,
    pub target_fte: f64,
    pub in_post_fte: f64,
    pub vacancy_rate: Option<f64>,
    pub vacancy_by_grade: Vec<GradeStaffing>,
    pub practitioners: u64,
    pub over_capacity: u64,
    /// The inspection's other checks (enquiries, assessments, handover, release), when
    /// they were evaluated (`alerts::gather` does; the tallies alone do not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<crate::risk_checks::RiskFigures>,
}

impl PduSummary {
    pub fn unallocated_share(&self) -> f64 {
        ratio(self.unallocated, self.cases)
    }
    pub fn oversight_overdue_share(&self) -> f64 {
        ratio(self.oversight_overdue, self.oversight_required)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Totals over a region's PDUs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionSummary {
    pub region: String,
    pub pdus: u64,
    pub cases: u64,
    pub unallocated: u64,
    pub unallocated_mappa: u64,
    pub unallocated_high_rosh: u64,
    pub oversight_required: u64,
    pub oversight_overdue: u64,
    pub high_risk_contacts_overdue: u64,
    pub target_fte: f64,
    pub in_post_fte: f64,
    pub vacancy_rate: Option<f64>,
    /// The region's risk-check figures, summed from its PDUs' when they were evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<crate::risk_checks::RiskFigures>,
}

/// Sums PDU summaries into one line per region, in name order.
pub fn region_totals(pdus: &[PduSummary]) -> Vec<RegionSummary> {
    let mut by: BTreeMap<&str, RegionSummary> = BTreeMap::new();
    for p in pdus {
        let r = by.entry(&p.region).or_insert_with(|| RegionSummary {
            region: p.region.clone(),
            pdus: 0,
            cases: 0,
            unallocated: 0,
            unallocated_mappa: 0,
            unallocated_high_rosh: 0,
            oversight_required: 0,
            oversight_overdue: 0,
            high_risk_contacts_overdue: 0,
            target_fte: 0.0,
            in_post_fte: 0.0,
            vacancy_rate: None,
            risk: None,
        });
        r.pdus += 1;
        r.cases += p.cases;
        r.unallocated += p.unallocated;
        r.unallocated_mappa += p.unallocated_mappa;
        r.unallocated_high_rosh += p.unallocated_high_rosh;
        r.oversight_required += p.oversight_required;
        r.oversight_overdue += p.oversight_overdue;
        r.high_risk_contacts_overdue += p.high_risk_contacts_overdue;
        r.target_fte += p.target_fte;
        r.in_post_fte += p.in_post_fte;
        if let Some(f) = &p.risk {
            r.risk.get_or_insert_with(Default::default).merge(f);
        }
    }
    by.into_values()
        .map(|mut r| {
            r.vacancy_rate = vacancy(r.target_fte, r.in_post_fte);
            r
        })
        .collect()
}

/// SQL: the row's `pdu` is in scope: `?1` one PDU, `?2` one region, both NULL for all.
/// Written as one `IN` list so that SQLite walks the PDU index for just those PDUs.
const SCOPE: &str = "pdu IN (SELECT code FROM pdus WHERE (?1 IS NULL OR code = ?1) AND (?2 IS NULL OR region = ?2))";

fn establishment_sql() -> String {
    format!("SELECT pdu, grade, target_fte FROM establishment WHERE {SCOPE}")
}

fn staff_hours_sql() -> String {
    format!(
        "SELECT pdu, grade, status, sum(contracted_hours) FROM practitioners
          WHERE {SCOPE} AND status <> 'left'
          GROUP BY pdu, grade, status"
    )
}

fn caseload_sql() -> String {
    format!(
        "SELECT t.staff_code, t.tier, t.n, t.high
           FROM practitioners p JOIN tally_caseload t ON t.staff_code = p.staff_code
          WHERE {SCOPE}"
    )
}

fn people_sql() -> String {
    format!(
        "SELECT staff_code, pdu, grade, status, contracted_hours, start_date
           FROM practitioners WHERE {SCOPE} AND status <> 'left'"
    )
}

const PDUS_SQL: &str =
    "SELECT code, name, region, ppf_status, rating, score, score_max, inspected_on
   FROM pdus WHERE (?1 IS NULL OR region = ?1) ORDER BY code";

/// Every statement [`pdu_summaries`] runs for one region, in order, with its parameters
/// still to bind: the tally counts (named, `:region`), then staffing, caseloads,
/// practitioners (`?1` PDU, `?2` region) and the PDUs (`?1` region). Public so that
/// benchmarks can run exactly this work in the `sqlite3` shell.
pub fn overview_statements() -> Vec<String> {
    vec![
        pdu_summary_sql(true),
        establishment_sql(),
        staff_hours_sql(),
        caseload_sql(),
        people_sql(),
        PDUS_SQL.replace("?1", "?2"),
    ]
}

/// Staffing per PDU and establishment grade, from the establishment and practitioners.
pub fn staffing(
    db: Db<'_>,
    policy: &Policy,
    pdu: Option<&str>,
) -> Result<BTreeMap<String, Vec<GradeStaffing>>> {
    let conn = db.conn();
    staffing_in(conn, policy, pdu, None)
}

fn staffing_in(
    conn: &Connection,
    policy: &Policy,
    pdu: Option<&str>,
    region: Option<&str>,
) -> Result<BTreeMap<String, Vec<GradeStaffing>>> {
    let hours = policy.capacity.default_hours;
    let mut out: BTreeMap<String, BTreeMap<Grade, GradeStaffing>> = BTreeMap::new();
    let blank = |grade| GradeStaffing {
        grade,
        target_fte: 0.0,
        in_post_fte: 0.0,
        detached_in_fte: 0.0,
        long_term_sick_fte: 0.0,
        vacancy_rate: None,
    };
    let mut stmt = conn.prepare_cached(&establishment_sql())?;
    let mut rows = stmt.query([pdu, region])?;
    while let Some(r) = rows.next()? {
        let Some(grade) = r.get::<_, String>(1)?.parse::<Grade>().ok() else {
            continue;
        };
        let g = out
            .entry(r.get(0)?)
            .or_default()
            .entry(grade.establishment_grade())
            .or_insert_with(|| blank(grade.establishment_grade()));
        g.target_fte += r.get::<_, f64>(2)?;
    }
    let mut stmt = conn.prepare_cached(&staff_hours_sql())?;
    let mut rows = stmt.query([pdu, region])?;
    while let Some(r) = rows.next()? {
        let (Some(grade), Some(status)) = (
            r.get::<_, String>(1)?.parse::<Grade>().ok(),
            r.get::<_, String>(2)?.parse::<PractitionerStatus>().ok(),
        ) else {
            continue;
        };
        let fte = r.get::<_, f64>(3)? / hours;
        let g = out
            .entry(r.get(0)?)
            .or_default()
            .entry(grade.establishment_grade())
            .or_insert_with(|| blank(grade.establishment_grade()));
        if status.fills_post() {
            g.in_post_fte += fte;
        }
        match status {
            PractitionerStatus::DetachedIn => g.detached_in_fte += fte,
            PractitionerStatus::LongTermSick => g.long_term_sick_fte += fte,
            _ => {}
        }
    }
    Ok(out
        .into_iter()
        .map(|(pdu, grades)| {
            let v = grades
                .into_values()
                .map(|mut g| {
                    g.vacancy_rate = vacancy(g.target_fte, g.in_post_fte);
                    g
                })
                .collect();
            (pdu, v)
        })
        .collect())
}

/// One practitioner with caseload and capacity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PractitionerRow {
    pub staff_code: String,
    pub name: String,
    pub grade: Grade,
    pub pdu: String,
    pub team: Option<String>,
    pub status: PractitionerStatus,
    pub contracted_hours: f64,
    pub start_date: NaiveDate,
    pub caseload: u64,
    pub high_risk_cases: u64,
    pub points: f64,
    /// `None` for grades with no nominal target (SPOs) or no available hours.
    pub capacity_pct: Option<f64>,
}

/// Sort orders for the practitioner list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PractitionerSort {
    /// Most loaded first.
    #[default]
    Capacity,
    Name,
    Grade,
    Caseload,
}

/// Caseload points per practitioner, from the caseload tally (cases per practitioner and tier).
fn caseloads(
    conn: &Connection,
    policy: &Policy,
    pdu: Option<&str>,
    region: Option<&str>,
) -> Result<HashMap<String, (u64, u64, f64)>> {
    let points: HashMap<String, f64> = policy.all_tier_points().into_iter().collect();
    // Two shapes: an `OR` between "everyone" and "these practitioners" would make SQLite
    // test every tally row against the scope instead of seeking each practitioner's rows.
    let mut stmt = if pdu.is_none() && region.is_none() {
        conn.prepare_cached(
            "SELECT staff_code, tier, n, high FROM tally_caseload WHERE ?1 IS NULL AND ?2 IS NULL",
        )?
    } else {
        conn.prepare_cached(&caseload_sql())?
    };
    let mut rows = stmt.query([pdu, region])?;
    let mut out: HashMap<String, (u64, u64, f64)> = HashMap::new();
    // Rows come grouped by practitioner: add up one practitioner, then store it once, so
    // that tens of thousands of tally rows cost no allocation each.
    let mut current: Option<(String, (u64, u64, f64))> = None;
    while let Some(r) = rows.next()? {
        let staff = r.get_ref(0)?.as_str()?;
        let tier = r.get_ref(1)?.as_str()?;
        let n = r.get::<_, i64>(2)?.max(0) as u64;
        let high = r.get::<_, i64>(3)?.max(0) as u64;
        if current.as_ref().is_none_or(|(s, _)| s != staff) {
            if let Some((s, v)) = current.take() {
                add_load(out.entry(s).or_default(), v);
            }
            current = Some((staff.to_string(), (0, 0, 0.0)));
        }
        if let Some((_, v)) = current.as_mut() {
            add_load(
                v,
                (n, high, points.get(tier).copied().unwrap_or(0.0) * n as f64),
            );
        }
    }
    if let Some((s, v)) = current {
        add_load(out.entry(s).or_default(), v);
    }
    Ok(out)
}

fn add_load(to: &mut (u64, u64, f64), v: (u64, u64, f64)) {
    to.0 += v.0;
    to.1 += v.1;
    to.2 += v.2;
}

/// Practitioners of a PDU (or every PDU) with their caseload and capacity %, leavers left out.
pub fn practitioners(
    db: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    pdu: Option<&str>,
    sort: PractitionerSort,
) -> Result<Vec<PractitionerRow>> {
    let conn = db.conn();
    practitioners_in(conn, policy, as_of, pdu, None, sort)
}

fn practitioners_in(
    conn: &Connection,
    policy: &Policy,
    as_of: NaiveDate,
    pdu: Option<&str>,
    region: Option<&str>,
    sort: PractitionerSort,
) -> Result<Vec<PractitionerRow>> {
    let loads = caseloads(conn, policy, pdu, region)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT staff_code, name, grade, pdu, team, status, contracted_hours, start_date
           FROM practitioners WHERE {SCOPE} AND status <> 'left'"
    ))?;
    let mut rows = stmt.query([pdu, region])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        // Columns by position (see the SELECT above).
        let (Some(grade), Some(status), Some(start_date)) = (
            parse_col::<Grade, _>(r, 2)?,
            parse_col::<PractitionerStatus, _>(r, 5)?,
            date_col(r, 7)?,
        ) else {
            continue;
        };
        let staff_code: String = r.get(0)?;
        let load = loads.get(&staff_code).copied().unwrap_or_default();
        out.push(PractitionerRow::with_load(
            policy,
            as_of,
            PractitionerPost {
                staff_code,
                name: r.get(1)?,
                grade,
                pdu: r.get(3)?,
                team: r.get(4)?,
                status,
                contracted_hours: r.get(6)?,
                start_date,
            },
            load,
        ));
    }
    sort_practitioners(&mut out, sort);
    Ok(out)
}

/// A practitioner's post as stored, before their caseload is counted.
pub(in crate::store) struct PractitionerPost {
    pub staff_code: String,
    pub name: String,
    pub grade: Grade,
    pub pdu: String,
    pub team: Option<String>,
    pub status: PractitionerStatus,
    pub contracted_hours: f64,
    pub start_date: NaiveDate,
}

impl PractitionerRow {
    /// The row of a post with its load (cases, high-risk cases, points), capacity worked out
    /// under `policy` on `as_of`: the same on either backend.
    pub(in crate::store) fn with_load(
        policy: &Policy,
        as_of: NaiveDate,
        p: PractitionerPost,
        (caseload, high_risk_cases, points): (u64, u64, f64),
    ) -> PractitionerRow {
        let capacity_pct = capacity_pct(
            policy,
            p.grade,
            p.status,
            p.contracted_hours,
            p.start_date,
            as_of,
            points,
        );
        PractitionerRow {
            staff_code: p.staff_code,
            name: p.name,
            grade: p.grade,
            pdu: p.pdu,
            team: p.team,
            status: p.status,
            contracted_hours: p.contracted_hours,
            start_date: p.start_date,
            caseload,
            high_risk_cases,
            points,
            capacity_pct,
        }
    }
}

/// Puts practitioners in the order asked for.
pub(in crate::store) fn sort_practitioners(out: &mut [PractitionerRow], sort: PractitionerSort) {
    match sort {
        PractitionerSort::Capacity => out.sort_by(|a, b| {
            b.capacity_pct
                .unwrap_or(-1.0)
                .total_cmp(&a.capacity_pct.unwrap_or(-1.0))
                .then_with(|| a.staff_code.cmp(&b.staff_code))
        }),
        PractitionerSort::Name => out.sort_by(|a, b| a.name.cmp(&b.name)),
        PractitionerSort::Grade => {
            out.sort_by(|a, b| a.grade.cmp(&b.grade).then(a.name.cmp(&b.name)))
        }
        PractitionerSort::Caseload => out.sort_by_key(|p| std::cmp::Reverse(p.caseload)),
    }
}

/// A practitioner's load as a share of what they can carry, `None` for grades with no
/// nominal target (SPOs), no available hours, or not working cases.
fn capacity_pct(
    policy: &Policy,
    grade: Grade,
    status: PractitionerStatus,
    contracted_hours: f64,
    start_date: NaiveDate,
    as_of: NaiveDate,
    points: f64,
) -> Option<f64> {
    policy
        .available_points(grade, contracted_hours, start_date, as_of)
        .filter(|a| *a > 0.0 && status.works_cases())
        .map(|a| points / a * 100.0)
}

/// Per PDU: practitioners working cases, and how many of them are over capacity. The
/// overview's share of [`practitioners_in`], without names or sorting.
fn pdu_people(
    conn: &Connection,
    policy: &Policy,
    as_of: NaiveDate,
    region: Option<&str>,
) -> Result<People> {
    let loads = caseloads(conn, policy, None, region)?;
    let mut stmt = conn.prepare_cached(&people_sql())?;
    let mut rows = stmt.query([None, region])?;
    let mut out = People::new();
    while let Some(r) = rows.next()? {
        let text = |i| -> Result<&str> { Ok(r.get_ref(i)?.as_str()?) };
        let (Ok(grade), Ok(status), Ok(start_date)) = (
            text(2)?.parse::<Grade>(),
            text(3)?.parse::<PractitionerStatus>(),
            NaiveDate::parse_from_str(text(5)?, "%Y-%m-%d"),
        ) else {
            continue;
        };
        let points = loads.get(text(0)?).map_or(0.0, |l| l.2);
        let over = capacity_pct(policy, grade, status, r.get(4)?, start_date, as_of, points)
            .is_some_and(|c| c > 100.0);
        let pdu = text(1)?;
        let e = match out.get_mut(pdu) {
            Some(e) => e,
            None => out.entry(pdu.to_string()).or_default(),
        };
        e.0 += u64::from(status.works_cases());
        e.1 += u64::from(over);
    }
    Ok(out)
}

/// The per-PDU counts behind [`pdu_summaries`], read from the tallies the store keeps with
/// every write (see `schema::V_TALLIES`): a few rows per PDU and day instead of every case.
/// Named parameters (`:region` only when `by_region`). Public so that benchmarks can run the
/// very same SQL in the `sqlite3` shell.
pub fn pdu_summary_sql(by_region: bool) -> String {
    format!(
        "SELECT t.pdu AS pdu, t.cases, t.unallocated, t.unallocated_mappa, t.unallocated_high,
                t.mappa, t.no_rosh,
                (SELECT sum(o.n) FROM tally_oversight o
                  WHERE o.pdu = t.pdu AND (o.pending OR o.high)) AS oversight_required,
                (SELECT sum(o.n) FROM tally_oversight o
                  WHERE o.pdu = t.pdu
                    AND o.since < (CASE WHEN o.pending THEN :o_alloc WHEN o.high THEN :o_hr
                                        ELSE '' END)) AS oversight_overdue,
                (SELECT sum(k.n) FROM tally_contact k
                  WHERE k.pdu = t.pdu AND NOT (:custody_exempt AND k.custody)
                    AND k.since < {band}) AS contacts_overdue,
                (SELECT sum(k.n) FROM tally_contact k
                  WHERE k.pdu = t.pdu AND k.high AND NOT (:custody_exempt AND k.custody)
                    AND k.since < {band}) AS hr_contacts_overdue
           FROM tally_pdu t
          {scope}",
        band = "(CASE k.band WHEN 'vh' THEN :c_vh WHEN 'h' THEN :c_h WHEN 'm' THEN :c_m
                             WHEN 'l' THEN :c_l ELSE :c_u END)",
        scope = if by_region {
            "WHERE t.pdu IN (SELECT code FROM pdus WHERE region = :region)"
        } else {
            ""
        },
    )
}

/// The same counts as [`pdu_summary_sql`], aggregated live from every case row: the
/// definition the tallies must agree with (tests compare them), and the "before" of the
/// benchmarks.
pub fn pdu_summary_live_sql(by_region: bool) -> String {
    format!(
        "SELECT c.pdu AS pdu,
                count(*) AS cases,
                sum(c.allocated_to IS NULL) AS unallocated,
                sum(c.allocated_to IS NULL AND c.mappa_category > 0) AS unallocated_mappa,
                sum(c.allocated_to IS NULL AND c.rosh IN ('HIGH', 'VERY_HIGH')) AS unallocated_high,
                sum(c.mappa_category > 0) AS mappa,
                sum(c.rosh IS NULL) AS no_rosh,
                sum({req}) AS oversight_required,
                sum({ovd}) AS oversight_overdue,
                sum({cod}) AS contacts_overdue,
                sum({cod} AND (COALESCE(c.rosh, '') IN ('HIGH', 'VERY_HIGH') OR c.mappa_level >= 2)) AS hr_contacts_overdue
           FROM cases c
          {scope}
          GROUP BY c.pdu",
        // A literal "no filter" lets SQLite search the PDU index for one region instead
        // of scanning every case (an `:region IS NULL OR` defeats the index).
        scope = if by_region {
            "WHERE c.pdu IN (SELECT code FROM pdus WHERE region = :region)"
        } else {
            ""
        },
        req = oversight_required_sql(),
        ovd = oversight_overdue_sql(),
        cod = contact_overdue_sql(),
    )
}

/// Runs either summary SQL: PDU code to its ten counts.
pub fn pdu_counts(
    db: Db<'_>,
    sql: &str,
    policy: &Policy,
    as_of: NaiveDate,
    region: Option<&str>,
) -> Result<HashMap<String, [u64; 10]>> {
    let conn = db.conn();
    let t = policy.thresholds(as_of);
    let mut counts = HashMap::new();
    let mut stmt = conn.prepare_cached(sql)?;
    bind_thresholds(&mut stmt, &t)?;
    bind_named(&mut stmt, ":region", &region)?;
    let mut rows = stmt.raw_query();
    while let Some(r) = rows.next()? {
        let mut v = [0u64; 10];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = r.get::<_, Option<i64>>(i + 1)?.unwrap_or(0).max(0) as u64;
        }
        counts.insert(r.get(0)?, v);
    }
    Ok(counts)
}

/// The per-PDU summary for every PDU (or one region), in PDU code order.
pub fn pdu_summaries(
    db: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    region: Option<&str>,
) -> Result<Vec<PduSummary>> {
    let conn = db.conn();
    let people = pdu_people(conn, policy, as_of, region)?;
    summaries_with(conn, policy, as_of, region, &people)
}

/// The per-PDU summaries and every practitioner in scope (most loaded first), reading the
/// practitioners once: what the nightly run needs.
pub fn pdu_summaries_and_practitioners(
    db: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    region: Option<&str>,
) -> Result<(Vec<PduSummary>, Vec<PractitionerRow>)> {
    summaries_and_practitioners_of(db, policy, as_of, region, None)
}

/// [`pdu_summaries_and_practitioners`] with the practitioners of one PDU only, when `pdu`
/// names one: the other PDUs' summaries then count no practitioners (0 working cases, 0
/// over capacity), and their staffing, cases and vacancy are as usual. One PDU's review
/// needs the region's vacancy, not the region's caseloads.
pub fn summaries_and_practitioners_of(
    db: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    region: Option<&str>,
    pdu: Option<&str>,
) -> Result<(Vec<PduSummary>, Vec<PractitionerRow>)> {
    let conn = db.conn();
    let practitioners =
        practitioners_in(conn, policy, as_of, pdu, region, PractitionerSort::Capacity)?;
    let mut people: HashMap<String, (u64, u64)> = HashMap::new();
    for p in &practitioners {
        let e = people.entry(p.pdu.clone()).or_default();
        e.0 += u64::from(p.status.works_cases());
        e.1 += u64::from(p.capacity_pct.is_some_and(|c| c > 100.0));
    }
    let pdus = summaries_with(conn, policy, as_of, region, &people)?;
    Ok((pdus, practitioners))
}

/// Per PDU: (practitioners working cases, over capacity).
type People = HashMap<String, (u64, u64)>;

fn summaries_with(
    conn: &Connection,
    policy: &Policy,
    as_of: NaiveDate,
    region: Option<&str>,
    people: &People,
) -> Result<Vec<PduSummary>> {
    let counts = pdu_counts(
        Db::new(conn),
        &pdu_summary_sql(region.is_some()),
        policy,
        as_of,
        region,
    )?;
    let staffing = staffing_in(conn, policy, None, region)?;
    let mut stmt = conn.prepare_cached(PDUS_SQL)?;
    let mut rows = stmt.query([region])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let code: String = r.get("code")?;
        let c = counts.get(&code).copied().unwrap_or_default();
        let grades = staffing.get(&code).cloned().unwrap_or_default();
        let target_fte: f64 = grades.iter().map(|g| g.target_fte).sum();
        let in_post_fte: f64 = grades.iter().map(|g| g.in_post_fte).sum();
        let (practitioners, over_capacity) = people.get(code.as_str()).copied().unwrap_or_default();
        out.push(PduSummary {
            name: r.get("name")?,
            region: r.get("region")?,
            ppf_status: parse_col(r, "ppf_status")?,
            rating: parse_col(r, "rating")?,
            score: r.get("score")?,
            score_max: r.get("score_max")?,
            inspected_on: date_col(r, "inspected_on")?,
            cases: c[0],
            unallocated: c[1],
            unallocated_mappa: c[2],
            unallocated_high_rosh: c[3],
            mappa_cases: c[4],
            no_rosh: c[5],
            oversight_required: c[6],
            oversight_overdue: c[7],
            contacts_overdue: c[8],
            high_risk_contacts_overdue: c[9],
            target_fte,
            in_post_fte,
            vacancy_rate: vacancy(target_fte, in_post_fte),
            vacancy_by_grade: grades,
            practitioners,
            over_capacity,
            risk: None,
            code,
        });
    }
    Ok(out)
}

/// The case lists of a PDU panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaseList {
    Unallocated,
    Mappa,
    OversightOverdue,
    ContactsOverdue,
}

impl CaseList {
    pub const ALL: [CaseList; 4] = [
        CaseList::Unallocated,
        CaseList::Mappa,
        CaseList::OversightOverdue,
        CaseList::ContactsOverdue,
    ];

    pub fn title(self) -> &'static str {
        match self {
            CaseList::Unallocated => "Unallocated",
            CaseList::Mappa => "MAPPA",
            CaseList::OversightOverdue => "Oversight overdue",
            CaseList::ContactsOverdue => "Contacts overdue",
        }
    }

    fn condition(self) -> String {
        match self {
            CaseList::Unallocated => "c.allocated_to IS NULL".into(),
            CaseList::Mappa => "c.mappa_category > 0".into(),
            CaseList::OversightOverdue => oversight_overdue_sql(),
            CaseList::ContactsOverdue => contact_overdue_sql(),
        }
    }

    /// SQL for the date the "days" column counts from (unallocated since, or due date).
    fn day_sql(self) -> String {
        match self {
            CaseList::Unallocated => "c.unallocated_since".into(),
            CaseList::Mappa => "COALESCE(c.unallocated_since, c.allocated_on)".into(),
            CaseList::OversightOverdue => "(CASE WHEN COALESCE(c.last_oversight, '') < c.allocated_on
                       THEN date(c.allocated_on, '+' || :o_alloc_days || ' days')
                       ELSE date(c.last_oversight, '+' || :o_hr_days || ' days') END)"
                .into(),
            CaseList::ContactsOverdue => format!(
                "date({CONTACT_BASE}, '+' || (CASE
                    WHEN c.rosh = 'VERY_HIGH' OR (c.mappa_category > 0 AND c.mappa_level >= 2) THEN :d_vh
                    WHEN c.rosh = 'HIGH' THEN :d_h WHEN c.rosh = 'MEDIUM' THEN :d_m
                    WHEN c.rosh = 'LOW' THEN :d_l ELSE :d_u END) || ' days')"
            ),
        }
    }
}

/// Sort columns of the case lists, pushed into SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CaseSort {
    /// Highest risk first, then longest waiting / most overdue.
    #[default]
    Risk,
    Days,
    Crn,
    Name,
    Tier,
}

impl CaseSort {
    pub const ALL: [CaseSort; 5] = [
        CaseSort::Risk,
        CaseSort::Days,
        CaseSort::Crn,
        CaseSort::Name,
        CaseSort::Tier,
    ];
    pub fn label(self) -> &'static str {
        match self {
            CaseSort::Risk => "risk",
            CaseSort::Days => "days",
            CaseSort::Crn => "CRN",
            CaseSort::Name => "name",
            CaseSort::Tier => "tier",
        }
    }
}

/// One page request: sort, filter, window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageQuery {
    pub sort: CaseSort,
    pub reverse: bool,
    /// Every term must hold (see [`crate::filter`]); empty for none.
    pub filter: CaseFilter,
    pub offset: u64,
    pub limit: u64,
}

/// One row of a case list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseRow {
    pub crn: String,
    pub name: String,
    pub pdu: String,
    pub team: Option<String>,
    pub tier: String,
    pub rosh: Option<Rosh>,
    pub mappa: Mappa,
    pub case_type: Option<CaseType>,
    pub allocated_to: Option<String>,
    pub allocated_on: Option<NaiveDate>,
    pub unallocated_since: Option<NaiveDate>,
    /// Unallocated lists: days unallocated; overdue lists: days overdue; MAPPA: days since
    /// allocation or since unallocated.
    pub days: Option<i64>,
    /// The due date behind `days` on overdue lists.
    pub due: Option<NaiveDate>,
}

/// A page of rows and the total number of matching rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub total: u64,
    pub offset: u64,
    pub rows: Vec<T>,
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
pub fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

fn bind_list_params(
    stmt: &mut Statement<'_>,
    policy: &Policy,
    t: &Thresholds,
    pdu: &str,
) -> Result<()> {
    bind_thresholds(stmt, t)?;
    bind_named(stmt, ":pdu", &pdu)?;
    let c = &policy.contact;
    bind_named(stmt, ":d_vh", &c.very_high)?;
    bind_named(stmt, ":d_h", &c.high)?;
    bind_named(stmt, ":d_m", &c.medium)?;
    bind_named(stmt, ":d_l", &c.low)?;
    bind_named(stmt, ":d_u", &c.unknown)?;
    bind_named(
        stmt,
        ":o_alloc_days",
        &policy.oversight.after_allocation_days,
    )?;
    bind_named(
        stmt,
        ":o_hr_days",
        &policy.oversight.high_risk_interval_days,
    )?;
    Ok(())
}

/// The SQL of a filter (`1` for none) and the values of its parameters, `:f0`, `:f1`, ... in
/// order. Only the shape of the filter reaches the SQL text; every value typed is bound, so
/// no text from the user is ever part of a statement.
fn filter_sql(filter: &CaseFilter) -> (String, Vec<Value>) {
    let mut values: Vec<Value> = Vec::new();
    let mut param = |v: Value| {
        values.push(v);
        format!(":f{}", values.len() - 1)
    };
    let mut parts = Vec::new();
    for term in &filter.terms {
        parts.push(match term {
            Term::Text(w) => {
                let p = param(Value::Text(like_pattern(w)));
                format!(
                    "(c.crn LIKE {p} ESCAPE '\\' OR c.name LIKE {p} ESCAPE '\\'
                      OR COALESCE(c.team, '') LIKE {p} ESCAPE '\\')"
                )
            }
            Term::Team(w) => {
                let p = param(Value::Text(like_pattern(w)));
                format!("COALESCE(c.team, '') LIKE {p} ESCAPE '\\'")
            }
            Term::Rosh(levels) => {
                let mut any = Vec::new();
                let named: Vec<String> = levels
                    .iter()
                    .flatten()
                    .map(|r| param(Value::Text(r.as_str().to_string())))
                    .collect();
                if !named.is_empty() {
                    any.push(format!("c.rosh IN ({})", named.join(", ")));
                }
                if levels.contains(&None) {
                    any.push("c.rosh IS NULL".to_string());
                }
                if any.is_empty() {
                    "0".to_string()
                } else {
                    format!("({})", any.join(" OR "))
                }
            }
            Term::Mappa(m) => match *m {
                MappaTerm::Any => "c.mappa_category > 0".to_string(),
                MappaTerm::None => "c.mappa_category = 0".to_string(),
                MappaTerm::Level(n) => format!(
                    "(c.mappa_category > 0 AND c.mappa_level = {})",
                    param(Value::Integer(n.into()))
                ),
                MappaTerm::LevelAtLeast(n) => format!(
                    "(c.mappa_category > 0 AND c.mappa_level >= {})",
                    param(Value::Integer(n.into()))
                ),
                MappaTerm::Category(n) => {
                    format!("c.mappa_category = {}", param(Value::Integer(n.into())))
                }
            },
            Term::Tier(t) => {
                // `A` and `A3` are prefixes (band; level with its unsupervised `S`), `A3S` is
                // a whole tier. The parser admits only A-D, 0-3 and S: nothing to escape.
                let pattern = if t.len() == 3 {
                    t.clone()
                } else {
                    format!("{t}%")
                };
                format!("c.tier LIKE {}", param(Value::Text(pattern)))
            }
            Term::Allocated(true) => "c.allocated_to IS NOT NULL".to_string(),
            Term::Allocated(false) => "c.allocated_to IS NULL".to_string(),
        });
    }
    let sql = if parts.is_empty() {
        "1".to_string()
    } else {
        parts.join(" AND ")
    };
    (sql, values)
}

fn bind_filter(stmt: &mut Statement<'_>, values: &[Value]) -> Result<()> {
    for (i, v) in values.iter().enumerate() {
        bind_named(stmt, &format!(":f{i}"), v)?;
    }
    Ok(())
}

/// Counts the rows of a list (with its filter).
pub fn case_list_count(
    db: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    pdu: &str,
    list: CaseList,
    filter: &CaseFilter,
) -> Result<u64> {
    let conn = db.conn();
    let t = policy.thresholds(as_of);
    let (filter_sql, values) = filter_sql(filter);
    let sql = format!(
        "SELECT count(*) FROM cases c WHERE c.pdu = :pdu AND {} AND {filter_sql}",
        list.condition()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    bind_list_params(&mut stmt, policy, &t, pdu)?;
    bind_filter(&mut stmt, &values)?;
    let mut rows = stmt.raw_query();
    match rows.next()? {
        Some(r) => Ok(r.get::<_, i64>(0)?.max(0) as u64),
        None => Ok(0),
    }
}

/// One page of a PDU's case list, sorted and filtered in SQL so only the rows on screen are
/// read.
pub fn case_list_page(
    db: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    pdu: &str,
    list: CaseList,
    q: &PageQuery,
) -> Result<Page<CaseRow>> {
    let conn = db.conn();
    let total = case_list_count(Db::new(conn), policy, as_of, pdu, list, &q.filter)?;
    let rows = case_list_rows(Db::new(conn), policy, as_of, pdu, list, q)?;
    Ok(Page {
        total,
        offset: q.offset,
        rows,
    })
}

/// The rows of one page, without the count.
pub fn case_list_rows(
    db: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    pdu: &str,
    list: CaseList,
    q: &PageQuery,
) -> Result<Vec<CaseRow>> {
    let conn = db.conn();
    let mut out = Vec::new();
    case_list_each(Db::new(conn), policy, as_of, pdu, list, q, |row, _| {
        out.push(row);
        Ok::<_, rusqlite::Error>(())
    })?;
    Ok(out)
}

/// The case fields a list row does not carry, which exports write, as stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseExtra {
    pub sentence_date: Option<String>,
    pub release_date: Option<String>,
    pub last_contact: Option<String>,
    pub last_oversight: Option<String>,
    pub custody_kind: Option<String>,
    /// The equality columns, as stored: written to files, never shown on a screen.
    pub ethnicity: Option<String>,
    pub sex: Option<String>,
    pub age_band: Option<String>,
}

/// Hands each row of a page (with [`CaseExtra`]) to `each` as SQLite reads it, so that an
/// export of a whole list never holds it in memory. Same selection and order as
/// [`case_list_rows`]; the MAPPA list puts unallocated cases first, whatever the sort.
pub fn case_list_each<E: From<rusqlite::Error>>(
    db: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    pdu: &str,
    list: CaseList,
    q: &PageQuery,
    mut each: impl FnMut(CaseRow, CaseExtra) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let conn = db.conn();
    let t = policy.thresholds(as_of);
    let (asc, desc) = if q.reverse {
        ("DESC", "ASC")
    } else {
        ("ASC", "DESC")
    };
    // "days" grows as the day date gets older, so most days first = oldest date first.
    let order = match q.sort {
        CaseSort::Risk => format!("c.risk_rank {desc}, day {asc}, c.crn {asc}"),
        CaseSort::Days => format!("day {asc}, c.risk_rank {desc}, c.crn {asc}"),
        CaseSort::Crn => format!("c.crn {asc}"),
        CaseSort::Name => format!("c.name {asc}, c.crn {asc}"),
        CaseSort::Tier => format!("c.tier {asc}, c.risk_rank {desc}, c.crn {asc}"),
    };
    // An unallocated MAPPA case is the gap the list exists for: it leads in every sort.
    let first = if list == CaseList::Mappa {
        "(c.allocated_to IS NULL) DESC, "
    } else {
        ""
    };
    let (filter_sql, values) = filter_sql(&q.filter);
    let sql = format!(
        "SELECT c.crn, c.name, c.pdu, c.team, c.tier, c.rosh, c.mappa_category, c.mappa_level,
                c.case_type, c.allocated_to, c.allocated_on, c.unallocated_since, {day} AS day,
                c.sentence_date, c.release_date, c.last_contact, c.last_oversight,
                c.custody_kind, c.ethnicity, c.sex, c.age_band
           FROM cases c
          WHERE c.pdu = :pdu AND {cond} AND {filter_sql}
          ORDER BY {first}{order}
          LIMIT :limit OFFSET :offset",
        day = list.day_sql(),
        cond = list.condition(),
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    bind_list_params(&mut stmt, policy, &t, pdu)?;
    bind_filter(&mut stmt, &values)?;
    bind_named(&mut stmt, ":limit", &(q.limit.min(i64::MAX as u64) as i64))?;
    bind_named(
        &mut stmt,
        ":offset",
        &(q.offset.min(i64::MAX as u64) as i64),
    )?;
    let mut rows = stmt.raw_query();
    let overdue_list = matches!(list, CaseList::OversightOverdue | CaseList::ContactsOverdue);
    while let Some(r) = rows.next()? {
        // Columns by position (see the SELECT above).
        let day = date_col(r, 12)?;
        let row = CaseRow {
            crn: r.get(0)?,
            name: r.get(1)?,
            pdu: r.get(2)?,
            team: r.get(3)?,
            tier: r.get(4)?,
            rosh: parse_col(r, 5)?,
            mappa: Mappa::new(r.get(6)?, r.get(7)?).unwrap_or(Mappa::NONE),
            case_type: parse_col(r, 8)?,
            allocated_to: r.get(9)?,
            allocated_on: date_col(r, 10)?,
            unallocated_since: date_col(r, 11)?,
            days: day.map(|d| (as_of - d).num_days()),
            due: if overdue_list { day } else { None },
        };
        let extra = CaseExtra {
            sentence_date: r.get(13)?,
            release_date: r.get(14)?,
            last_contact: r.get(15)?,
            last_oversight: r.get(16)?,
            custody_kind: r.get(17)?,
            ethnicity: r.get(18)?,
            sex: r.get(19)?,
            age_band: r.get(20)?,
        };
        each(row, extra)?;
    }
    Ok(())
}

/// A contact on record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactRow {
    pub date: NaiveDate,
    pub kind: String,
    pub staff_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OversightRow {
    pub date: NaiveDate,
    pub spo_staff_code: String,
    pub kind: String,
    pub note: String,
    pub sensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocationRow {
    pub staff_code: String,
    pub practitioner: Option<String>,
    pub from_date: NaiveDate,
    pub to_date: Option<NaiveDate>,
    pub reason: String,
}

/// Everything known about one case, with what is due and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseDetail {
    pub crn: String,
    pub name: String,
    pub pdu: String,
    pub team: Option<String>,
    pub tier: Option<Tier>,
    pub rosh: Option<Rosh>,
    pub mappa: Mappa,
    pub case_type: Option<CaseType>,
    pub sentence_date: Option<NaiveDate>,
    pub release_date: Option<NaiveDate>,
    /// `None` reads as standard.
    pub custody_kind: Option<crate::domain::CustodyKind>,
    pub rosh_changed_on: Option<NaiveDate>,
    pub allocated_to: Option<String>,
    pub practitioner_name: Option<String>,
    pub practitioner_grade: Option<Grade>,
    pub allocated_on: Option<NaiveDate>,
    pub unallocated_since: Option<NaiveDate>,
    pub last_contact: Option<NaiveDate>,
    pub last_oversight: Option<NaiveDate>,
    #[serde(skip)]
    pub contact_due: Option<Due>,
    #[serde(skip)]
    pub oversight_due: Option<Due>,
    /// Newest first, the current allocation included.
    pub allocations: Vec<AllocationRow>,
    /// Newest first.
    pub contacts: Vec<ContactRow>,
    /// Newest first.
    pub oversight: Vec<OversightRow>,
}

/// How many contacts and oversight records the detail view shows.
pub const DETAIL_HISTORY: u64 = 12;

/// Case detail, or `None` for an unknown CRN.
pub fn case_detail(db: Db<'_>, policy: &Policy, crn: &str) -> Result<Option<CaseDetail>> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT c.*, p.name AS practitioner_name, p.grade AS practitioner_grade
           FROM cases c LEFT JOIN practitioners p ON p.staff_code = c.allocated_to
          WHERE c.crn = ?1",
    )?;
    let mut rows = stmt.query([crn])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    let rosh: Option<Rosh> = parse_col(r, "rosh")?;
    let mappa = Mappa::new(r.get("mappa_category")?, r.get("mappa_level")?).unwrap_or(Mappa::NONE);
    let case_type: Option<CaseType> = parse_col(r, "case_type")?;
    let allocated_on = date_col(r, "allocated_on")?;
    let last_contact = date_col(r, "last_contact")?;
    let last_oversight = date_col(r, "last_oversight")?;
    let high_risk = rosh.is_some_and(Rosh::is_high) || mappa.is_mappa();
    let mut d = CaseDetail {
        crn: r.get("crn")?,
        name: r.get("name")?,
        pdu: r.get("pdu")?,
        team: r.get("team")?,
        tier: parse_col(r, "tier")?,
        rosh,
        mappa,
        case_type,
        sentence_date: date_col(r, "sentence_date")?,
        release_date: date_col(r, "release_date")?,
        custody_kind: parse_col(r, "custody_kind")?,
        rosh_changed_on: date_col(r, "rosh_changed_on")?,
        allocated_to: r.get("allocated_to")?,
        practitioner_name: r.get("practitioner_name")?,
        practitioner_grade: parse_col(r, "practitioner_grade")?,
        allocated_on,
        unallocated_since: date_col(r, "unallocated_since")?,
        last_contact,
        last_oversight,
        contact_due: case_type
            .and_then(|ct| policy.contact_due(ct, rosh, mappa, allocated_on, last_contact)),
        oversight_due: policy.oversight_due(high_risk, allocated_on, last_oversight),
        allocations: Vec::new(),
        contacts: Vec::new(),
        oversight: Vec::new(),
    };
    drop(rows);
    if let (Some(staff), Some(from)) = (&d.allocated_to, d.allocated_on) {
        d.allocations.push(AllocationRow {
            staff_code: staff.clone(),
            practitioner: d.practitioner_name.clone(),
            from_date: from,
            to_date: None,
            reason: "current".into(),
        });
    }
    d.allocations.extend(past_allocations(conn, crn)?);
    d.contacts = recent_contacts(conn, crn)?;
    d.oversight = recent_oversight(conn, crn)?;
    Ok(Some(d))
}

/// A case's past allocations, newest first.
fn past_allocations(conn: &Connection, crn: &str) -> Result<Vec<AllocationRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.staff_code, p.name, a.from_date, a.to_date, a.reason
           FROM allocations a LEFT JOIN practitioners p ON p.staff_code = a.staff_code
          WHERE a.crn = ?1 ORDER BY a.from_date DESC, a.id DESC",
    )?;
    let mut rows = stmt.query([crn])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let (Some(from_date), to_date) = (date_col(r, "from_date")?, date_col(r, "to_date")?)
        else {
            continue;
        };
        out.push(AllocationRow {
            staff_code: r.get(0)?,
            practitioner: r.get(1)?,
            from_date,
            to_date,
            reason: r.get(4)?,
        });
    }
    Ok(out)
}

/// A case's latest contacts ([`DETAIL_HISTORY`] at most), newest first.
fn recent_contacts(conn: &Connection, crn: &str) -> Result<Vec<ContactRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT date, kind, staff_code FROM contacts WHERE crn = ?1
          ORDER BY date DESC, id DESC LIMIT ?2",
    )?;
    let mut rows = stmt.query(rusqlite::params![crn, DETAIL_HISTORY as i64])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        if let Some(date) = date_col(r, "date")? {
            out.push(ContactRow {
                date,
                kind: r.get(1)?,
                staff_code: r.get(2)?,
            });
        }
    }
    Ok(out)
}

/// A case's latest oversight records ([`DETAIL_HISTORY`] at most), newest first.
fn recent_oversight(conn: &Connection, crn: &str) -> Result<Vec<OversightRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT date, spo_staff_code, kind, note, sensitive FROM oversight WHERE crn = ?1
          ORDER BY date DESC, id DESC LIMIT ?2",
    )?;
    let mut rows = stmt.query(rusqlite::params![crn, DETAIL_HISTORY as i64])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        if let Some(date) = date_col(r, "date")? {
            out.push(OversightRow {
                date,
                spo_staff_code: r.get(1)?,
                kind: r.get(2)?,
                note: r.get(3)?,
                sensitive: r.get::<_, i64>(4)? != 0,
            });
        }
    }
    Ok(out)
}

/// The SPOs of a PDU who are working (in post or detached in): staff code and name, by code.
pub fn working_spos(db: Db<'_>, pdu: &str) -> Result<Vec<(String, String)>> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT staff_code, name FROM practitioners
          WHERE pdu = ?1 AND grade = 'SPO' AND status IN ('in_post', 'detached_in')
          ORDER BY staff_code",
    )?;
    let rows = stmt.query_map([pdu], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Every PDU code, in order.
pub fn pdu_codes(db: Db<'_>) -> Result<Vec<String>> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached("SELECT code FROM pdus ORDER BY code")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// Regions present in the database, largest first (the default region is the first).
pub fn regions(db: Db<'_>) -> Result<Vec<(String, u64)>> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT p.region, count(*) FROM pdus p GROUP BY p.region ORDER BY (p.region = 'London') DESC, count(*) DESC, p.region",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    rows.collect()
}

/// Formats an optional date for tables ("-" when absent).
pub fn date_or_dash(d: Option<NaiveDate>) -> String {
    d.map(fmt_date).unwrap_or_else(|| "-".into())
}

/// A case that some case-scope alert rule could fire for, with its overdue dates.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseAlertRow {
    /// Held inline (a CRN is a few bytes): a national night holds half a million rows.
    pub crn: compact_str::CompactString,
    pub pdu: String,
    pub unallocated_since: Option<NaiveDate>,
    pub allocated: bool,
    pub mappa: Mappa,
    pub rosh: Option<Rosh>,
    /// Due date of the contact, only when it is overdue.
    pub contact_due: Option<NaiveDate>,
    /// Due date of the oversight check, only when it is overdue.
    pub oversight_due: Option<NaiveDate>,
    /// The risk checks' overdue days (all 0 until `alerts` evaluates them).
    pub risk: crate::risk_checks::CaseRiskMetrics,
}

/// The SQL behind [`case_alert_rows`] (`:region` only when `by_region`).
#[cfg(test)]
fn case_alert_sql(by_region: bool) -> String {
    case_alert_sql_within(if by_region {
        Within::Region
    } else {
        Within::All
    })
}

/// Which cases a case-alert read covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Within {
    All,
    Region,
    Pdu,
}

fn case_alert_sql_within(within: Within) -> String {
    let cod = contact_overdue_sql();
    let ovd = oversight_overdue_sql();
    format!(
        "SELECT c.crn, c.pdu, c.unallocated_since, c.allocated_to IS NOT NULL AS allocated,
                c.mappa_category, c.mappa_level, c.rosh,
                CASE WHEN {cod} THEN {contact_day} END AS contact_due,
                CASE WHEN {ovd} THEN {oversight_day} END AS oversight_due
           FROM cases c
          WHERE ({scope})
            AND ({ALERT_CANDIDATE})
            AND (c.allocated_to IS NULL OR c.rosh IS NULL
                 OR ({HIGH_RISK} AND ({cod} OR {ovd})))
          ORDER BY c.pdu, c.crn",
        contact_day = CaseList::ContactsOverdue.day_sql(),
        oversight_day = CaseList::OversightOverdue.day_sql(),
        scope = match within {
            Within::Region => "c.pdu IN (SELECT code FROM pdus WHERE region = :region)",
            Within::Pdu => "c.pdu = :pdu",
            Within::All => "1",
        },
    )
}

/// The cases the case-scope rules look at: unallocated, without a RoSH assessment, or high
/// risk with an overdue contact or oversight check. One pass over the cases table, so the
/// nightly run never loads every case.
pub fn case_alert_rows(
    db: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    region: Option<&str>,
) -> Result<Vec<CaseAlertRow>> {
    let conn = db.conn();
    case_alert_rows_within(conn, policy, as_of, region, None)
}

/// [`case_alert_rows`] of one PDU only (the morning worklist of `review --pdu`).
pub fn case_alert_rows_of_pdu(
    db: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    pdu: &str,
) -> Result<Vec<CaseAlertRow>> {
    let conn = db.conn();
    case_alert_rows_within(conn, policy, as_of, None, Some(pdu))
}

/// A text column as a string held inline when short (a CRN), as strictly as `get`.
fn compact_text(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<compact_str::CompactString> {
    let v = r.get_ref(i)?;
    v.as_str()
        .map(Into::into)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, v.data_type(), Box::new(e)))
}

fn case_alert_rows_within(
    conn: &Connection,
    policy: &Policy,
    as_of: NaiveDate,
    region: Option<&str>,
    pdu: Option<&str>,
) -> Result<Vec<CaseAlertRow>> {
    let t = policy.thresholds(as_of);
    let within = match (pdu, region) {
        (Some(_), _) => Within::Pdu,
        (None, Some(_)) => Within::Region,
        (None, None) => Within::All,
    };
    let sql = case_alert_sql_within(within);
    let mut stmt = conn.prepare_cached(&sql)?;
    bind_list_params(&mut stmt, policy, &t, "")?;
    match within {
        Within::Pdu => bind_named(&mut stmt, ":pdu", &pdu)?,
        Within::Region => bind_named(&mut stmt, ":region", &region)?,
        Within::All => {}
    }
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        // By position: tens of thousands of rows, and a lookup by name costs a string
        // compare per column per row.
        out.push(CaseAlertRow {
            crn: compact_text(r, 0)?,
            pdu: r.get(1)?,
            unallocated_since: date_col(r, 2)?,
            allocated: r.get(3)?,
            mappa: Mappa::new(r.get(4)?, r.get(5)?).unwrap_or(Mappa::NONE),
            rosh: parse_col(r, 6)?,
            contact_due: date_col(r, 7)?,
            oversight_due: date_col(r, 8)?,
            risk: Default::default(),
        });
    }
    Ok(out)
}

pub mod equity;
pub mod risk;
pub mod support;

/// An enquiry as stored (canonical text, dates `YYYY-MM-DD`), for export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEnquiry {
    pub crn: String,
    pub kind: String,
    pub requested_on: String,
    pub returned_on: Option<String>,
    pub outcome: Option<String>,
}

/// Every enquiry about the cases of `pdu` (of every PDU for `None`), in key order: CRN,
/// kind, date requested.
pub fn enquiries(db: Db<'_>, pdu: Option<&str>) -> Result<Vec<StoredEnquiry>> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT e.crn, e.kind, e.requested_on, e.returned_on, e.outcome
           FROM enquiries e JOIN cases c ON c.crn = e.crn
          WHERE ?1 IS NULL OR c.pdu = ?1
          ORDER BY e.crn, e.kind, e.requested_on",
    )?;
    let rows = stmt.query_map([pdu], |r| {
        Ok(StoredEnquiry {
            crn: r.get(0)?,
            kind: r.get(1)?,
            requested_on: r.get(2)?,
            returned_on: r.get(3)?,
            outcome: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// An assessment as stored, for export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAssessment {
    pub crn: String,
    pub kind: String,
    pub completed_on: String,
    pub rosh: String,
}

/// Every assessment of the cases of `pdu` (of every PDU for `None`), in key order: CRN,
/// kind, date completed.
pub fn assessments(db: Db<'_>, pdu: Option<&str>) -> Result<Vec<StoredAssessment>> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT a.crn, a.kind, a.completed_on, a.rosh
           FROM assessments a JOIN cases c ON c.crn = a.crn
          WHERE ?1 IS NULL OR c.pdu = ?1
          ORDER BY a.crn, a.kind, a.completed_on",
    )?;
    let rows = stmt.query_map([pdu], |r| {
        Ok(StoredAssessment {
            crn: r.get(0)?,
            kind: r.get(1)?,
            completed_on: r.get(2)?,
            rosh: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// Holds the SQL definitions of "due" above to `Policy::contact_due` and
/// `Policy::oversight_due` (a property test over random cases, dates and policies).
#[cfg(test)]
mod due_dates;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{DemoOptions, build};
    use crate::store::{OpenMode, Store, schema};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rusqlite::params;

    fn anchor() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
    }

    fn demo(cases: u64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.db");
        let opts = DemoOptions {
            cases,
            seed: 11,
            anchor: anchor(),
        };
        build(&p, &opts, false).unwrap();
        let s = Store::open(&p, OpenMode::Existing).unwrap();
        (dir, s)
    }

    fn non_zero(m: HashMap<String, [u64; 10]>) -> BTreeMap<String, [u64; 10]> {
        m.into_iter()
            .filter(|(_, v)| v.iter().any(|n| *n > 0))
            .collect()
    }

    /// Every row of a query as text; unbound parameters are NULL.
    fn table(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next().unwrap() {
            let cells: Vec<String> = (0..n)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    v => format!("{v:?}"),
                })
                .collect();
            out.push(cells.join("|"));
        }
        out
    }

    const LIVE_CASELOAD: &str = "SELECT allocated_to, tier, count(*),
            sum(COALESCE(rosh, '') IN ('HIGH', 'VERY_HIGH') OR mappa_category > 0)
       FROM cases WHERE allocated_to IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2";
    const TALLY_CASELOAD: &str =
        "SELECT staff_code, tier, n, high FROM tally_caseload ORDER BY 1, 2";

    /// The tallies give every count the live aggregate gives, for several dates and scopes.
    fn assert_tallies_agree(conn: &Connection, policy: &Policy, when: &str) {
        for days in [-40i64, 0, 25] {
            let as_of = anchor() + chrono::Duration::days(days);
            for region in [None, Some("London")] {
                let r = region.is_some();
                let tally =
                    pdu_counts(Db::new(conn), &pdu_summary_sql(r), policy, as_of, region).unwrap();
                let live = pdu_counts(
                    Db::new(conn),
                    &pdu_summary_live_sql(r),
                    policy,
                    as_of,
                    region,
                )
                .unwrap();
                assert!(!live.is_empty());
                assert_eq!(
                    non_zero(tally),
                    non_zero(live),
                    "{when}: as of {as_of}, region {region:?}"
                );
            }
        }
        assert_eq!(
            table(conn, TALLY_CASELOAD),
            table(conn, LIVE_CASELOAD),
            "{when}"
        );
        let empty: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM tally_contact WHERE n <= 0)
                      + (SELECT count(*) FROM tally_oversight WHERE n <= 0)
                      + (SELECT count(*) FROM tally_caseload WHERE n <= 0)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(empty, 0, "{when}: emptied buckets are pruned");
    }

    fn random_date(rng: &mut ChaCha8Rng) -> String {
        fmt_date(anchor() - chrono::Duration::days(rng.random_range(0..400)))
    }

    /// One random write of the kinds casewatch and other tools make to cases.
    fn random_write(conn: &Connection, rng: &mut ChaCha8Rng, staff: &[String], pdus: &[String]) {
        let crn: String = conn
            .query_row(
                "SELECT crn FROM cases ORDER BY rowid LIMIT 1 OFFSET ?1",
                [rng.random_range(0..2000)],
                |r| r.get(0),
            )
            .unwrap();
        let rosh = [
            None,
            Some("LOW"),
            Some("MEDIUM"),
            Some("HIGH"),
            Some("VERY_HIGH"),
        ];
        let mappa = [(0, 0), (1, 1), (1, 2), (2, 3), (3, 1), (4, 2)];
        match rng.random_range(0..10) {
            0 => {
                let r = rosh[rng.random_range(0..rosh.len())];
                conn.execute("UPDATE cases SET rosh = ?2 WHERE crn = ?1", params![crn, r])
            }
            1 => {
                let (c, l) = mappa[rng.random_range(0..mappa.len())];
                conn.execute(
                    "UPDATE cases SET mappa_category = ?2, mappa_level = ?3 WHERE crn = ?1",
                    params![crn, c, l],
                )
            }
            2 => {
                let s = &staff[rng.random_range(0..staff.len())];
                conn.execute(
                    "UPDATE cases SET allocated_to = ?2, allocated_on = ?3, unallocated_since = NULL
                      WHERE crn = ?1",
                    params![crn, s, random_date(rng)],
                )
            }
            3 => conn.execute(
                "UPDATE cases SET allocated_to = NULL, allocated_on = NULL, unallocated_since = ?2
                  WHERE crn = ?1",
                params![crn, random_date(rng)],
            ),
            4 => conn.execute(
                "INSERT INTO contacts (crn, date, kind) VALUES (?1, ?2, 'face_to_face')",
                params![crn, random_date(rng)],
            ),
            5 => conn.execute(
                "INSERT INTO oversight (crn, date, spo_staff_code, kind) VALUES (?1, ?2, 'X', 'review')",
                params![crn, random_date(rng)],
            ),
            6 => conn.execute(
                "DELETE FROM contacts WHERE id = (SELECT max(id) FROM contacts WHERE crn = ?1)",
                params![crn],
            ),
            7 => {
                let t = ["A3", "B2S", "C1", "D0", "A0S"][rng.random_range(0..5)];
                let k = ["COMMUNITY", "LICENCE", "CUSTODY"][rng.random_range(0..3)];
                conn.execute(
                    "UPDATE cases SET tier = ?2, case_type = ?3 WHERE crn = ?1",
                    params![crn, t, k],
                )
            }
            8 => {
                let p = &pdus[rng.random_range(0..pdus.len())];
                conn.execute("UPDATE cases SET pdu = ?2 WHERE crn = ?1", params![crn, p])
            }
            _ => {
                // A case leaves (with its history) and a new one arrives unallocated.
                for t in [
                    "contacts",
                    "oversight",
                    "allocations",
                    "notes",
                    "enquiries",
                    "assessments",
                ] {
                    conn.execute(&format!("DELETE FROM {t} WHERE crn = ?1"), [&crn])
                        .unwrap();
                }
                conn.execute("DELETE FROM cases WHERE crn = ?1", [&crn]).unwrap();
                let p = &pdus[rng.random_range(0..pdus.len())];
                conn.execute(
                    "INSERT INTO cases (crn, name, pdu, tier, rosh, case_type, sentence_date,
                                        unallocated_since)
                     VALUES (?1, 'N', ?2, 'B1', ?3, 'COMMUNITY', '2026-01-01', ?4)",
                    params![
                        format!("Z{:06}", rng.random_range(0..1_000_000)),
                        p,
                        rosh[rng.random_range(0..rosh.len())],
                        random_date(rng)
                    ],
                )
            }
        }
        .unwrap();
    }

    #[test]
    fn the_overviews_practitioner_counts_agree_with_the_practitioners_list() {
        let (_dir, s) = demo(3000);
        let conn = s.conn();
        let policy = Policy::defaults();
        // A practitioner with no cases (no tally rows: the join's empty side), and a leaver.
        conn.execute_batch(
            "INSERT INTO practitioners (staff_code, name, grade, pdu, contracted_hours,
                                        start_date, status)
             SELECT 'ZZ-NEW', 'New Starter', 'PO', pdu, 37, '2026-10-01', 'in_post'
               FROM practitioners LIMIT 1;
             UPDATE practitioners SET status = 'left'
              WHERE staff_code = (SELECT staff_code FROM practitioners ORDER BY rowid LIMIT 1);",
        )
        .unwrap();
        for region in [None, Some("London")] {
            let listed = practitioners_in(
                conn,
                &policy,
                anchor(),
                None,
                region,
                PractitionerSort::Capacity,
            )
            .unwrap();
            let mut want: People = People::new();
            for p in &listed {
                let e = want.entry(p.pdu.clone()).or_default();
                e.0 += u64::from(p.status.works_cases());
                e.1 += u64::from(p.capacity_pct.is_some_and(|c| c > 100.0));
            }
            let got = pdu_people(conn, &policy, anchor(), region).unwrap();
            assert_eq!(got, want, "{region:?}");
            assert!(got.values().any(|(_, over)| *over > 0), "{got:?}");
        }
    }

    #[test]
    fn the_tallies_agree_with_the_live_aggregate_through_every_kind_of_write() {
        let (_dir, s) = demo(3000);
        let conn = s.conn();
        let policy = Policy::defaults();
        assert_tallies_agree(conn, &policy, "freshly built");
        let column = |sql: &str| -> Vec<String> {
            let mut stmt = conn.prepare(sql).unwrap();
            let v = stmt.query_map([], |r| r.get(0)).unwrap();
            v.map(|r| r.unwrap()).collect()
        };
        let staff = column("SELECT staff_code FROM practitioners ORDER BY rowid LIMIT 40");
        let pdus = column("SELECT code FROM pdus ORDER BY code LIMIT 4");
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for round in 0..6 {
            for _ in 0..60 {
                random_write(conn, &mut rng, &staff, &pdus);
            }
            assert_tallies_agree(conn, &policy, &format!("after round {round}"));
        }
        // A rebuild from scratch gives the very rows the triggers kept.
        let tallies = |conn: &Connection| -> Vec<Vec<String>> {
            [
                "SELECT * FROM tally_pdu WHERE cases > 0 ORDER BY 1",
                "SELECT * FROM tally_contact ORDER BY 1, 2, 3, 4, 5",
                "SELECT * FROM tally_oversight ORDER BY 1, 2, 3, 4",
                TALLY_CASELOAD,
            ]
            .iter()
            .map(|q| table(conn, q))
            .collect()
        };
        let before = tallies(conn);
        crate::store::tally::rebuild(Db::new(conn)).unwrap();
        let after = tallies(conn);
        assert_eq!(before, after);
    }

    fn all_rows(s: &Store, pdu: &str, list: CaseList, q: &PageQuery) -> Vec<CaseRow> {
        let q = PageQuery {
            limit: u64::MAX,
            offset: 0,
            ..q.clone()
        };
        case_list_rows(
            Db::new(s.conn()),
            &Policy::defaults(),
            anchor(),
            pdu,
            list,
            &q,
        )
        .unwrap()
    }

    fn filtered(text: &str) -> PageQuery {
        PageQuery {
            filter: crate::filter::parse(text).unwrap(),
            ..PageQuery::default()
        }
    }

    /// Each column term selects in SQL exactly the rows a plain Rust test of the unfiltered
    /// list selects, in the same order, and the count agrees.
    #[test]
    fn every_filter_term_selects_what_it_says_in_sql() {
        let (_dir, s) = demo(3000);
        let policy = Policy::defaults();
        type Pred = fn(&CaseRow) -> bool;
        let cases: [(&str, Pred); 14] = [
            ("rosh:VERY_HIGH", |r| r.rosh == Some(Rosh::VeryHigh)),
            ("rosh:high+", |r| r.rosh.is_some_and(Rosh::is_high)),
            ("rosh:none", |r| r.rosh.is_none()),
            ("mappa:2", |r| r.mappa.is_mappa() && r.mappa.level == 2),
            ("mappa:2+", |r| r.mappa.is_mappa() && r.mappa.level >= 2),
            ("mappa:c1", |r| r.mappa.category == 1),
            ("mappa:any", |r| r.mappa.is_mappa()),
            ("mappa:none", |r| !r.mappa.is_mappa()),
            ("tier:a", |r| r.tier.starts_with('A')),
            ("tier:B2", |r| r.tier.starts_with("B2")),
            ("team:t1", |r| {
                r.team
                    .as_deref()
                    .is_some_and(|t| t.to_lowercase().contains("t1"))
            }),
            ("unallocated", |r| r.allocated_to.is_none()),
            ("allocated", |r| r.allocated_to.is_some()),
            ("rosh:high+ unallocated tier:A", |r| {
                r.rosh.is_some_and(Rosh::is_high)
                    && r.allocated_to.is_none()
                    && r.tier.starts_with('A')
            }),
        ];
        let pdu = "HFKCW";
        for list in CaseList::ALL {
            let every = all_rows(&s, pdu, list, &PageQuery::default());
            for (text, keep) in &cases {
                let want: Vec<&str> = every
                    .iter()
                    .filter(|r| keep(r))
                    .map(|r| r.crn.as_str())
                    .collect();
                let q = filtered(text);
                let got = all_rows(&s, pdu, list, &q);
                let got: Vec<&str> = got.iter().map(|r| r.crn.as_str()).collect();
                assert_eq!(got, want, "{list:?} {text}");
                let n = case_list_count(Db::new(s.conn()), &policy, anchor(), pdu, list, &q.filter)
                    .unwrap();
                assert_eq!(n, want.len() as u64, "{list:?} {text}");
            }
        }
        // The demo has rows for the terms that matter most, or the test proves little.
        let unal = all_rows(
            &s,
            pdu,
            CaseList::Unallocated,
            &filtered("rosh:high+ mappa:any"),
        );
        assert!(!unal.is_empty());
    }

    #[test]
    fn filter_words_are_bound_text_never_sql() {
        let (_dir, s) = demo(1000);
        let q = all_rows(&s, "HFKCW", CaseList::Unallocated, &PageQuery::default());
        let first = &q[0];
        // A word matches the CRN, any part of the name, or the team, in any case.
        let surname = first.name.split_whitespace().last().unwrap().to_lowercase();
        for word in [first.crn.to_lowercase(), surname] {
            let got = all_rows(&s, "HFKCW", CaseList::Unallocated, &filtered(&word));
            assert!(got.iter().any(|r| r.crn == first.crn), "{word}");
        }
        // Quotes, wildcards and SQL are looked for literally, and find nothing.
        for hostile in [
            "%",
            "_",
            "x' OR '1'='1",
            "\"'; DROP TABLE cases; --\"",
            "team:%",
        ] {
            let got = all_rows(&s, "HFKCW", CaseList::Unallocated, &filtered(hostile));
            assert!(got.is_empty(), "{hostile}: {}", got.len());
        }
        let n: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1000);
    }

    #[test]
    fn the_mappa_list_puts_unallocated_cases_first_in_every_sort() {
        let (_dir, s) = demo(3000);
        for sort in CaseSort::ALL {
            for reverse in [false, true] {
                let q = PageQuery {
                    sort,
                    reverse,
                    ..PageQuery::default()
                };
                let rows = all_rows(&s, "HFKCW", CaseList::Mappa, &q);
                let flags: Vec<bool> = rows.iter().map(|r| r.allocated_to.is_none()).collect();
                let unal = flags.iter().filter(|u| **u).count();
                assert!(unal > 0 && unal < flags.len(), "both kinds in the demo");
                assert!(
                    flags[..unal].iter().all(|u| *u),
                    "{sort:?} reverse {reverse}"
                );
                // Within the unallocated cases, the chosen sort still holds.
                let plain = all_rows(
                    &s,
                    "HFKCW",
                    CaseList::Mappa,
                    &PageQuery {
                        filter: crate::filter::parse("unallocated").unwrap(),
                        ..q.clone()
                    },
                );
                let a: Vec<&str> = rows[..unal].iter().map(|r| r.crn.as_str()).collect();
                let b: Vec<&str> = plain.iter().map(|r| r.crn.as_str()).collect();
                assert_eq!(a, b, "{sort:?} reverse {reverse}");
            }
        }
    }

    #[test]
    fn the_nightly_case_scan_reads_only_the_candidate_index() {
        let (_dir, s) = demo(1000);
        assert!(schema::V_ALERT_CANDIDATES.contains(&format!("WHERE {ALERT_CANDIDATE};")));
        for by_region in [false, true] {
            let plan = table(
                s.conn(),
                &format!("EXPLAIN QUERY PLAN {}", case_alert_sql(by_region)),
            )
            .join("\n");
            assert!(
                plan.contains("COVERING INDEX cases_alert_candidates")
                    && !plan.contains("TEMP B-TREE"),
                "{plan}"
            );
        }
    }
}
