//! Headless reports: the per-PDU summary as text or JSON.

use chrono::NaiveDate;
use serde::Serialize;

use crate::store::read::{PduSummary, RegionSummary};
use crate::text::sanitize;

/// The JSON document `casewatch summary --format json` prints. Field names are stable.
#[derive(Debug, Serialize)]
pub struct SummaryDoc<'a> {
    pub as_of: String,
    pub database: String,
    pub regions: &'a [RegionSummary],
    pub pdus: &'a [PduSummary],
}

pub fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.0}%", v * 100.0))
        .unwrap_or_else(|| "-".into())
}

/// A plain-text table, one line per PDU, then the region totals.
pub fn summary_text(
    as_of: NaiveDate,
    database: &str,
    regions: &[RegionSummary],
    pdus: &[PduSummary],
) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "casewatch summary as of {} ({})",
        crate::domain::fmt_date(as_of),
        sanitize(database)
    );
    let _ = writeln!(
        s,
        "{:<7} {:>6} {:>6} {:>5} {:>5} {:>5} {:>12} {:>9} {:>5} {:<5} rating",
        "PDU", "cases", "unall", "MAPPA", "highR", "vac", "oversight", "contacts", "over", "PPF",
    );
    let _ = writeln!(
        s,
        "{:<7} {:>6} {:>6} {:>5} {:>5} {:>5} {:>12} {:>9} {:>5} {:<5}",
        "", "", "", "unall", "unall", "", "overdue/req", "HR ovrd", ">100%", ""
    );
    for p in pdus {
        let rating = match (p.rating, p.score, p.score_max) {
            (Some(r), Some(a), Some(b)) => format!("{} {a}/{b}", r.label()),
            (Some(r), _, _) => r.label().to_string(),
            _ => "not inspected".into(),
        };
        let _ = writeln!(
            s,
            "{:<7} {:>6} {:>6} {:>5} {:>5} {:>5} {:>12} {:>9} {:>5} {:<5} {}",
            sanitize(&p.code),
            p.cases,
            p.unallocated,
            p.unallocated_mappa,
            p.unallocated_high_rosh,
            pct(p.vacancy_rate),
            format!("{}/{}", p.oversight_overdue, p.oversight_required),
            p.high_risk_contacts_overdue,
            p.over_capacity,
            p.ppf_status.map(|x| x.as_str()).unwrap_or("-"),
            rating
        );
    }
    for r in regions {
        let _ = writeln!(
            s,
            "{}: {} PDUs, {} cases, {} unallocated ({} MAPPA, {} HIGH/VERY_HIGH), vacancy {}, oversight overdue {}/{}",
            sanitize(&r.region),
            r.pdus,
            r.cases,
            r.unallocated,
            r.unallocated_mappa,
            r.unallocated_high_rosh,
            pct(r.vacancy_rate),
            r.oversight_overdue,
            r.oversight_required
        );
    }
    s
}
