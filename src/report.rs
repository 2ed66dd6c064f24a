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

use crate::alerts::{PduReview, Review, ReviewedAlert, Status};
use crate::incidents::{Incident, Task, WorkItem};
use crate::rules::ORGANISATIONAL;

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

/// The lifecycle state of an incident in words.
pub fn incident_state(i: &Incident) -> String {
    let mut w = vec![match i.status {
        Status::New => "NEW".to_string(),
        Status::Ongoing => format!("since {}, {} nights", i.first_seen, i.nights),
        Status::Resolved => "RESOLVED".to_string(),
    }];
    if i.escalated {
        w.push("ESCALATED".into());
    }
    if i.acknowledged {
        w.push(match &i.acknowledged_by {
            Some(by) => format!("acknowledged by {}", sanitize(by)),
            None => "acknowledged".into(),
        });
    }
    if i.reopened {
        w.push("REOPENED (worse since acknowledged)".into());
    }
    if let Some(u) = &i.silenced_until {
        w.push(format!("silenced until {u}"));
    }
    w.join(", ")
}

/// How many PDUs stand at each level, worst first: "1 org alert · 3 critical · 6 warning · 8 ok".
pub fn level_counts(statuses: &[PduStatus]) -> String {
    Level::ALL
        .iter()
        .map(|l| {
            let n = statuses.iter().filter(|s| s.status == *l).count();
            let word = match l {
                Level::OrganisationalAlert => "org alert",
                other => other.as_str(),
            };
            format!("{n} {word}")
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn header(r: &Review) -> String {
    format!(
        "as of {}{}",
        r.as_of,
        r.previous
            .as_deref()
            .map(|p| format!(" (compared with the run of {p})"))
            .unwrap_or_else(|| " (no earlier recorded run)".into())
    )
}

/// Incidents one a line, worst first (or with `members`, every alert); then the counts.
pub fn alerts_text(r: &Review, members: bool) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "casewatch alerts {}", header(r));
    match &r.statuses[..] {
        [one] => {
            let _ = writeln!(s, "{}: {}", sanitize(&one.pdu), one.status.label());
        }
        all => {
            let _ = writeln!(s, "PDUs: {}", level_counts(all));
        }
    }
    if members {
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
    } else {
        for i in &r.incidents {
            let _ = writeln!(
                s,
                "{:<8} {:<7} {} [{}] key={}",
                i.severity.as_str().to_uppercase(),
                sanitize(&i.pdu),
                sanitize(&i.message),
                incident_state(i),
                sanitize(&i.key)
            );
        }
    }
    let c = &r.counts;
    let _ = writeln!(
        s,
        "{} incidents ({} new, {} escalated, {} silenced) of {} alerts: {} critical ({} new), {} high, {} warning; {} resolved, {} acknowledged",
        c.incidents,
        c.new_incidents,
        c.escalated,
        c.silenced,
        c.critical + c.high + c.warning,
        c.critical,
        c.new_critical,
        c.high,
        c.warning,
        c.resolved,
        c.acknowledged
    );
    s
}

fn md(t: &str) -> String {
    sanitize(t)
        .replace('|', "\\|")
        .replace('*', "\\*")
        .replace('_', "\\_")
}

fn action_line(n: usize, w: &WorkItem) -> String {
    let who = w.crn.as_deref().or(w.staff_code.as_deref()).unwrap_or("-");
    let how_long = match w.task {
        Task::Allocate => format!("waiting {} days", w.days),
        Task::Staffing => format!("{} points over", w.days),
        _ => format!("{} days overdue", w.days),
    };
    format!(
        "{n}. **{}** {}: {}; {} ({how_long})",
        w.task.as_str(),
        md(who),
        w.what,
        md(&w.why)
    )
}

fn totals_words(p: &PduReview) -> String {
    p.totals
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One PDU's section of the morning report: its status and why, its open incidents one a
/// line, and its top actions. Fits a 40-line screen.
pub fn pdu_section_markdown(p: &PduReview, actions: usize) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n### {} {}: {}",
        md(&p.pdu),
        md(&p.name),
        p.status.label()
    );
    if p.status_reasons.is_empty() {
        let _ = writeln!(s, "No PDU rule holds.");
    } else {
        let reasons: Vec<String> = p.status_reasons.iter().map(|r| md(r)).collect();
        let _ = writeln!(s, "Why: {}.", reasons.join("; "));
    }
    for i in p.incidents.iter().filter(|i| i.status != Status::Resolved) {
        let _ = writeln!(
            s,
            "- {} {} ({})",
            i.severity.as_str(),
            md(&i.message),
            incident_state(i)
        );
    }
    let shown = p.actions.len().min(actions);
    let total = shown as u64 + p.more + (p.actions.len() - shown) as u64;
    if total == 0 {
        let _ = writeln!(s, "No actions.");
    } else {
        let _ = writeln!(s, "Top {shown} of {total} actions ({}):", totals_words(p));
        for (n, w) in p.actions.iter().take(actions).enumerate() {
            let _ = writeln!(s, "{}", action_line(n + 1, w));
        }
    }
    s
}

/// The morning report: organisational alerts and escalations first, then PDU by PDU, worst
/// status first, each with its incidents and its top 10 actions.
pub fn morning_markdown(r: &Review, reviews: &[PduReview]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let c = &r.counts;
    let _ = writeln!(s, "# casewatch morning review, {}\n", r.as_of);
    let _ = writeln!(
        s,
        "PDUs: **{}**. {} open incidents ({} new, {} escalated, {} silenced); {} resolved alerts since {}.\n",
        level_counts(&r.statuses),
        c.incidents,
        c.new_incidents,
        c.escalated,
        c.silenced,
        c.resolved,
        r.previous.as_deref().unwrap_or("no earlier run"),
    );
    let _ = writeln!(s, "## Organisational alerts and escalations\n");
    let mut any = false;
    for i in r
        .incidents
        .iter()
        .filter(|i| i.status != Status::Resolved && i.rule == ORGANISATIONAL)
    {
        any = true;
        let _ = writeln!(
            s,
            "- **{}** {} ({})",
            md(&i.pdu),
            md(&i.message),
            incident_state(i)
        );
    }
    // Escalations, one line for all PDUs (worst first); each is spelled out in its PDU's
    // section below.
    let mut escalated: Vec<(&str, usize)> = Vec::new();
    for i in r
        .incidents
        .iter()
        .filter(|i| i.status != Status::Resolved && i.escalated)
    {
        match escalated.iter_mut().find(|(p, _)| *p == i.pdu) {
            Some(e) => e.1 += 1,
            None => escalated.push((&i.pdu, 1)),
        }
    }
    if !escalated.is_empty() {
        any = true;
        let list: Vec<String> = escalated
            .iter()
            .map(|(p, n)| format!("{} {n}", md(p)))
            .collect();
        let _ = writeln!(
            s,
            "- Escalated (critical, open {}+ nights), incidents by PDU: {}",
            r.incidents
                .iter()
                .filter(|i| i.escalated)
                .map(|i| i.nights)
                .min()
                .unwrap_or(0),
            list.join(", ")
        );
    }
    if !any {
        let _ = writeln!(s, "None.");
    }
    let _ = writeln!(s, "\n## By PDU, worst first");
    let mut order: Vec<&PduReview> = reviews.iter().collect();
    order.sort_by(|a, b| b.status.cmp(&a.status).then_with(|| a.pdu.cmp(&b.pdu)));
    for p in order {
        s.push_str(&pdu_section_markdown(p, 10));
    }
    s
}

/// The worklist of one PDU as plain text, for the terminal.
pub fn review_text(p: &PduReview) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} {}: {} (as of {})",
        sanitize(&p.pdu),
        sanitize(&p.name),
        p.status.label(),
        p.as_of
    );
    for r in &p.status_reasons {
        let _ = writeln!(s, "  because {}", sanitize(r));
    }
    let open: Vec<&Incident> = p
        .incidents
        .iter()
        .filter(|i| i.status != Status::Resolved)
        .collect();
    let _ = writeln!(s, "Incidents ({}):", open.len());
    for i in open {
        let _ = writeln!(
            s,
            "  {:<8} {} [{}] key={}",
            i.severity.as_str().to_uppercase(),
            sanitize(&i.message),
            incident_state(i),
            sanitize(&i.key)
        );
    }
    let total: u64 = p.totals.values().sum();
    let _ = writeln!(
        s,
        "Today: {} of {} actions ({})",
        p.actions.len(),
        total,
        totals_words(p)
    );
    for (n, w) in p.actions.iter().enumerate() {
        let who = w.crn.as_deref().or(w.staff_code.as_deref()).unwrap_or("-");
        let _ = writeln!(
            s,
            "{:>3}. {:<8} {:<8} {:>4}d  {}: {}",
            n + 1,
            w.task.as_str(),
            sanitize(who),
            w.days,
            w.what,
            sanitize(&w.why)
        );
    }
    if p.more > 0 {
        let _ = writeln!(s, "  … and {} more (--limit N shows more)", p.more);
    }
    s
}
