//! The figures behind "who needs support" (`crate::outliers`): one pass over a region's
//! allocated cases, grouped by practitioner, with the overdue tests the case lists use; and
//! one practitioner's caseload for the drill-in.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{
    PractitionerSort, Result, bind_named, bind_thresholds, contact_overdue_sql,
    oversight_overdue_sql, oversight_required_sql, practitioners_in,
};
use crate::domain::{Grade, PractitionerStatus, Tier, fmt_date};
use crate::outliers::{Figures, Ratio, Report};
use crate::policy::{Policy, months_between};
use crate::store::Db;

/// SQL: the day a case's wait for a practitioner began: its sentence, or the end of the
/// allocation before the current one.
pub(super) const WAIT_FROM: &str =
    "max(c.sentence_date, COALESCE((SELECT max(a.to_date) FROM allocations a
     WHERE a.crn = c.crn AND a.to_date <= c.allocated_on), c.sentence_date))";

/// The one statement [`support_report`] runs over the region's cases (named parameters: the
/// overdue thresholds, `:since` and `:region`). Public so that benchmarks can run exactly
/// this work in the `sqlite3` shell.
pub fn figures_sql() -> String {
    format!(
        "SELECT c.allocated_to,
                sum(NOT (:custody_exempt AND c.case_type = 'CUSTODY')),
                sum({contact_overdue}),
                sum({oversight_required}),
                sum({oversight_overdue}),
                sum(c.allocated_on >= :since),
                sum(CASE WHEN c.allocated_on >= :since
                         THEN max(0, julianday(c.allocated_on) - julianday({WAIT_FROM})) END)
           FROM cases c
          WHERE c.allocated_to IS NOT NULL
            AND c.pdu IN (SELECT code FROM pdus WHERE region = :region)
          GROUP BY c.allocated_to",
        contact_overdue = contact_overdue_sql(),
        oversight_required = oversight_required_sql(),
        oversight_overdue = oversight_overdue_sql(),
    )
}

/// Case counts per practitioner: (needing contact, contact overdue, needing oversight,
/// oversight overdue, taken on in the window, days they waited).
type CaseCounts = (f64, f64, f64, f64, f64, f64);

/// Every practitioner of `region` who works cases, compared ([`Report::of`]).
pub fn support_report(
    db: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    region: &str,
) -> Result<Report> {
    let conn = db.conn();
    let since = policy_window_start(policy, as_of);
    let mut stmt = conn.prepare_cached(&figures_sql())?;
    bind_thresholds(&mut stmt, &policy.thresholds(as_of))?;
    bind_named(&mut stmt, ":since", &fmt_date(since))?;
    bind_named(&mut stmt, ":region", &region)?;
    let mut counts: HashMap<String, CaseCounts> = HashMap::new();
    let mut rows = stmt.raw_query();
    while let Some(r) = rows.next()? {
        let n = |i| -> Result<f64> { Ok(r.get::<_, Option<f64>>(i)?.unwrap_or(0.0)) };
        counts.insert(r.get(0)?, (n(1)?, n(2)?, n(3)?, n(4)?, n(5)?, n(6)?));
    }
    let people = practitioners_in(
        conn,
        policy,
        as_of,
        None,
        Some(region),
        PractitionerSort::Name,
    )?;
    let figures = people
        .into_iter()
        .filter(|p| p.status.works_cases())
        .map(|p| {
            let (need_c, over_c, need_o, over_o, taken, waited) =
                counts.get(&p.staff_code).copied().unwrap_or_default();
            let available = policy
                .available_points(p.grade, p.contracted_hours, p.start_date, as_of)
                .unwrap_or(0.0);
            Figures {
                months_in_post: months_between(p.start_date, as_of),
                staff_code: p.staff_code,
                name: p.name,
                grade: p.grade,
                pdu: p.pdu,
                team: p.team,
                cases: p.caseload,
                high_risk_cases: p.high_risk_cases,
                contact: Ratio {
                    num: need_c - over_c,
                    den: need_c,
                },
                oversight: Ratio {
                    num: need_o - over_o,
                    den: need_o,
                },
                capacity: Ratio {
                    num: p.points,
                    den: available,
                },
                wait: Ratio {
                    num: waited,
                    den: taken,
                },
            }
        })
        .collect();
    Ok(Report::of(region, figures, &policy.support))
}

/// The first day of the window the allocation wait counts cases taken on in.
pub fn policy_window_start(policy: &Policy, as_of: NaiveDate) -> NaiveDate {
    as_of
        .checked_sub_months(chrono::Months::new(policy.support.window_months))
        .unwrap_or(as_of)
}

/// One overdue case of a practitioner's caseload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverdueCase {
    pub crn: String,
    pub tier: String,
    pub rosh: Option<String>,
    pub mappa_category: i64,
    pub contact_overdue: bool,
    pub oversight_overdue: bool,
    /// The day the case was allocated to them.
    pub allocated_on: Option<String>,
}

/// A practitioner's caseload, for the drill-in from "who needs support".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Caseload {
    pub staff_code: String,
    pub name: String,
    pub grade: Grade,
    pub status: PractitionerStatus,
    pub contracted_hours: f64,
    pub start_date: NaiveDate,
    /// Cases per tier, highest tier first.
    pub tiers: Vec<(String, u64)>,
    pub cases: u64,
    pub high_risk_cases: u64,
    /// The share of contracted hours the policy takes off for their grade and time in
    /// post, with the months it lasts (`None`: no reduction applies).
    pub reduction: Option<(f64, u32)>,
    pub points: f64,
    pub available_points: Option<f64>,
    pub contact_overdue: u64,
    pub oversight_overdue: u64,
    /// Their overdue cases, highest risk first, at most `limit`.
    pub overdue: Vec<OverdueCase>,
}

/// One practitioner's caseload, or `None` for an unknown staff code.
pub fn caseload(
    db: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    staff_code: &str,
    limit: usize,
) -> Result<Option<Caseload>> {
    let conn = db.conn();
    let pdu: Option<String> = conn
        .query_row(
            "SELECT pdu FROM practitioners WHERE staff_code = ?1",
            [staff_code],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let Some(pdu) = pdu else {
        return Ok(None);
    };
    let Some(p) = practitioners_in(
        conn,
        policy,
        as_of,
        Some(&pdu),
        None,
        PractitionerSort::Name,
    )?
    .into_iter()
    .find(|p| p.staff_code == staff_code) else {
        return Ok(None);
    };
    let mut tiers: Vec<(String, u64)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT tier, sum(n) FROM tally_caseload WHERE staff_code = ?1 GROUP BY tier",
        )?;
        let rows = stmt.query_map([staff_code], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
        })?;
        rows.collect::<Result<_>>()?
    };
    // Highest tier first: A3 before A0 before B3, as the tier list reads.
    tiers.sort_by_key(|(t, _)| {
        let rank = t.parse::<Tier>().map_or(-1, |t| i16::from(t.rank()));
        (std::cmp::Reverse(rank), t.clone())
    });
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.crn, c.tier, c.rosh, c.mappa_category, {contact} AS co, {oversight} AS oo,
                c.allocated_on
           FROM cases c
          WHERE c.allocated_to = :staff AND ({contact} OR {oversight})
          ORDER BY c.risk_rank DESC, c.crn",
        contact = contact_overdue_sql(),
        oversight = oversight_overdue_sql(),
    ))?;
    bind_thresholds(&mut stmt, &policy.thresholds(as_of))?;
    bind_named(&mut stmt, ":staff", &staff_code)?;
    let mut rows = stmt.raw_query();
    let (mut contact_overdue, mut oversight_overdue) = (0, 0);
    let mut overdue = Vec::new();
    while let Some(r) = rows.next()? {
        let co: bool = r.get(4)?;
        let oo: bool = r.get(5)?;
        contact_overdue += u64::from(co);
        oversight_overdue += u64::from(oo);
        if overdue.len() < limit {
            overdue.push(OverdueCase {
                crn: r.get(0)?,
                tier: r.get(1)?,
                rosh: r.get(2)?,
                mappa_category: r.get(3)?,
                contact_overdue: co,
                oversight_overdue: oo,
                allocated_on: r.get(6)?,
            });
        }
    }
    let reduction = policy
        .reduction(p.grade, p.start_date, as_of)
        .map(|r| (r.fraction, r.months));
    Ok(Some(Caseload {
        available_points: policy.available_points(p.grade, p.contracted_hours, p.start_date, as_of),
        staff_code: p.staff_code,
        name: p.name,
        grade: p.grade,
        status: p.status,
        contracted_hours: p.contracted_hours,
        start_date: p.start_date,
        tiers,
        cases: p.caseload,
        high_risk_cases: p.high_risk_cases,
        reduction,
        points: p.points,
        contact_overdue,
        oversight_overdue,
        overdue,
    }))
}
