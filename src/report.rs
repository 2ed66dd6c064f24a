//! Headless reports: the per-PDU summary as text or JSON.

use chrono::NaiveDate;
use serde::Serialize;

use crate::incidents::PduStatus;
use crate::rules::Level;
use crate::store::read::{PduSummary, RegionSummary};
use crate::text::sanitize;

/// The JSON document `casewatch summary --format json` prints. Field names are stable.
#[derive(Debug, Serialize)]
pub struct SummaryDoc<'a> {
    pub as_of: String,
    pub database: String,
    pub regions: &'a [RegionSummary],
    pub pdus: Vec<PduWithStatus<'a>>,
}

/// A PDU's summary with its place on the status ladder and the reasons, in words.
#[derive(Debug, Serialize)]
pub struct PduWithStatus<'a> {
    #[serde(flatten)]
    pub summary: &'a PduSummary,
    pub status: Level,
    pub status_reasons: &'a [String],
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
    statuses: &[PduStatus],
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
        "{:<12} {:<7} {:>6} {:>6} {:>5} {:>5} {:>5} {:>12} {:>9} {:>5} {:<5} rating",
        "status",
        "PDU",
        "cases",
        "unall",
        "MAPPA",
        "highR",
        "vac",
        "oversight",
        "contacts",
        "over",
        "PPF",
    );
    let _ = writeln!(
        s,
        "{:<12} {:<7} {:>6} {:>6} {:>5} {:>5} {:>5} {:>12} {:>9} {:>5} {:<5}",
        "", "", "", "", "unall", "unall", "", "overdue/req", "HR ovrd", ">100%", ""
    );
    for p in pdus {
        let rating = match (p.rating, p.score, p.score_max) {
            (Some(r), Some(a), Some(b)) => format!("{} {a}/{b}", r.label()),
            (Some(r), _, _) => r.label().to_string(),
            _ => "not inspected".into(),
        };
        let level = statuses
            .iter()
            .find(|x| x.pdu == p.code)
            .map_or(Level::Ok, |x| x.status);
        let _ = writeln!(
            s,
            "{:<12} {:<7} {:>6} {:>6} {:>5} {:>5} {:>5} {:>12} {:>9} {:>5} {:<5} {}",
            level.label(),
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

use crate::alerts::{Review, ReviewedAlert, Status};
use crate::rules::{Scope, Severity};

fn status_word(a: &ReviewedAlert) -> String {
    let mut s = match a.status {
        Status::New => "NEW".to_string(),
        Status::Ongoing => format!("since {}", a.first_seen),
        Status::Resolved => "RESOLVED".to_string(),
    };
    if a.acknowledged {
        s.push_str(", acknowledged");
    }
    if a.reopened {
        s.push_str(", REOPENED (worse since acknowledged)");
    }
    s
}

fn subject(a: &ReviewedAlert) -> &str {
    a.crn.as_deref().or(a.staff_code.as_deref()).unwrap_or("")
}

/// One line per alert, critical first; then the counts.
pub fn alerts_text(r: &Review) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "casewatch alerts as of {}{}",
        r.as_of,
        r.previous
            .as_deref()
            .map(|p| format!(" (compared with the run of {p})"))
            .unwrap_or_else(|| " (no earlier recorded run)".into())
    );
    for a in &r.alerts {
        let _ = writeln!(
            s,
            "{:<8} {:<7} {:<28} {:<9} {} [{}] key={}",
            a.severity.as_str().to_uppercase(),
            sanitize(&a.pdu),
            a.rule,
            sanitize(subject(a)),
            sanitize(&a.message),
            status_word(a),
            sanitize(&a.key)
        );
    }
    let c = &r.counts;
    let _ = writeln!(
        s,
        "{} critical ({} new), {} high, {} warning; {} new in all, {} resolved, {} acknowledged",
        c.critical, c.new_critical, c.high, c.warning, c.new, c.resolved, c.acknowledged
    );
    s
}

/// The morning report: headline counts, organisational alerts first, then PDU by PDU.
pub fn alerts_markdown(r: &Review, pdus: &[PduSummary]) -> String {
    use std::collections::BTreeMap;
    use std::fmt::Write;
    let md = |t: &str| sanitize(t).replace('|', "\\|");
    let name = |code: &str| {
        pdus.iter()
            .find(|p| p.code == code)
            .map(|p| md(&p.name))
            .unwrap_or_default()
    };
    let mut s = String::new();
    let c = &r.counts;
    let _ = writeln!(s, "# casewatch morning review, {}\n", r.as_of);
    let _ = writeln!(
        s,
        "**{} critical** ({} new), **{} high**, {} warning; {} resolved since {}; {} acknowledged.\n",
        c.critical,
        c.new_critical,
        c.high,
        c.warning,
        c.resolved,
        r.previous.as_deref().unwrap_or("the first recorded run"),
        c.acknowledged
    );
    let _ = writeln!(s, "## Organisational alerts\n");
    let org: Vec<&ReviewedAlert> = r
        .alerts
        .iter()
        .filter(|a| a.rule == "organisational-alert")
        .collect();
    if org.is_empty() {
        let _ = writeln!(s, "None.\n");
    }
    for a in org {
        let _ = writeln!(
            s,
            "- **{}** {}: {} ({})",
            md(&a.pdu),
            name(&a.pdu),
            md(&a.message),
            status_word(a)
        );
    }
    let mut by_pdu: BTreeMap<&str, Vec<&ReviewedAlert>> = BTreeMap::new();
    for a in &r.alerts {
        by_pdu.entry(a.pdu.as_str()).or_default().push(a);
    }
    // Worst PDUs first.
    let mut order: Vec<(&str, Vec<&ReviewedAlert>)> = by_pdu.into_iter().collect();
    let weight = |v: &Vec<&ReviewedAlert>| {
        let crit = v
            .iter()
            .filter(|a| a.severity == Severity::Critical && a.status != Status::Resolved)
            .count();
        let high = v
            .iter()
            .filter(|a| a.severity == Severity::High && a.status != Status::Resolved)
            .count();
        (std::cmp::Reverse(crit), std::cmp::Reverse(high))
    };
    order.sort_by_key(|(code, v)| (weight(v), code.to_string()));
    let _ = writeln!(s, "\n## By PDU\n");
    for (code, list) in order {
        let _ = writeln!(s, "### {} {}\n", md(code), name(code));
        let _ = writeln!(s, "| severity | rule | open | new | resolved |");
        let _ = writeln!(s, "|---|---|---:|---:|---:|");
        let mut rules: BTreeMap<(std::cmp::Reverse<Severity>, &str), (u64, u64, u64)> =
            BTreeMap::new();
        for a in &list {
            let e = rules
                .entry((std::cmp::Reverse(a.severity), a.rule.as_str()))
                .or_default();
            match a.status {
                Status::Resolved => e.2 += 1,
                Status::New => {
                    e.0 += 1;
                    e.1 += 1
                }
                Status::Ongoing => e.0 += 1,
            }
        }
        for ((sev, rule), (open, new, resolved)) in rules {
            let _ = writeln!(
                s,
                "| {} | {} | {open} | {new} | {resolved} |",
                sev.0.as_str(),
                md(rule)
            );
        }
        let mut critical_cases: Vec<&&ReviewedAlert> = list
            .iter()
            .filter(|a| {
                a.scope == Scope::Case
                    && a.severity == Severity::Critical
                    && a.status != Status::Resolved
            })
            .collect();
        // Unallocated MAPPA first, then unallocated high RoSH, then the rest.
        critical_cases.sort_by_key(|a| {
            (
                a.rule != "unallocated-mappa",
                a.rule != "unallocated-high-rosh",
                a.rule.clone(),
                a.key.clone(),
            )
        });
        if !critical_cases.is_empty() {
            let _ = writeln!(s, "\nCritical cases:\n");
            for a in critical_cases.iter().take(60) {
                let _ = writeln!(
                    s,
                    "- {} {} ({})",
                    md(subject(a)),
                    md(&a.message),
                    status_word(a)
                );
            }
            if critical_cases.len() > 60 {
                let _ = writeln!(
                    s,
                    "- … and {} more: `casewatch alerts --format json`",
                    critical_cases.len() - 60
                );
            }
        }
        let _ = writeln!(s);
    }
    s
}
