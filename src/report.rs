//! Headless reports: what the commands print, built from data as text (pure functions, no
//! I/O). The per-PDU summary, the nightly alerts, the morning worklist, the database check,
//! the audit trail, the silences and an import's counts; JSON output is the serde of the
//! commands' own structs and of the documents defined here.

use chrono::NaiveDate;
use serde::Serialize;

use crate::incidents::PduStatus;
use crate::rules::Level;
use crate::store::read::{PduSummary, RegionSummary};
use crate::text::sanitize;

mod equity;
mod support;
pub use equity::equity_text;
pub use support::support_section;

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

/// `casewatch forecast` as text: each PDU with an outlook or a worsening figure, the PDUs
/// in the order of their status (worst first), then by how soon their first rule fires.
pub fn forecast_text(
    as_of: NaiveDate,
    f: &crate::forecast::Forecasts,
    statuses: &[PduStatus],
) -> String {
    let mut out = format!(
        "Forecasts as of {}: the trend of each figure a PDU rule tests over the last {} \
         recorded nights, and when each rule not yet firing would fire at this rate.\n",
        crate::domain::fmt_date(as_of),
        crate::forecast::WINDOW_DAYS
    );
    let mut pdus: Vec<&str> = statuses.iter().map(|s| s.pdu.as_str()).collect();
    let soonest = |p: &str| f.outlook_of(p).map(|o| o.in_days).min().unwrap_or(i64::MAX);
    pdus.sort_by_key(|p| {
        let level = statuses.iter().find(|s| s.pdu == *p).map(|s| s.status);
        (std::cmp::Reverse(level), soonest(p))
    });
    let mut shown = 0;
    for pdu in pdus {
        let outlook: Vec<_> = f.outlook_of(pdu).collect();
        let worse: Vec<_> = f
            .trends_of(pdu)
            .filter(|t| t.direction == "worsening")
            .collect();
        if outlook.is_empty() && worse.is_empty() {
            continue;
        }
        shown += 1;
        out.push_str(&format!("\n{}\n", sanitize(pdu)));
        for o in &outlook {
            out.push_str(&format!("  {} (on {})\n", sanitize(&o.message), o.on));
        }
        if !worse.is_empty() {
            let list: Vec<String> = worse.iter().map(|t| t.describe()).collect();
            out.push_str(&format!("  worsening: {}\n", list.join("; ")));
        }
    }
    if shown == 0 {
        out.push_str(
            "\nNo PDU has a figure getting worse, or too few nights are recorded \
                      (a trend needs a week).\n",
        );
    }
    out
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
    if pdus.iter().any(|p| p.risk.is_some()) {
        s.push_str(&risk_table(pdus));
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

/// The summary's second table: the inspection's other checks per PDU, as shares with their
/// counts (`-` where there was nothing to count).
fn risk_table(pdus: &[PduSummary]) -> String {
    use std::fmt::Write;
    let share = |f: &crate::risk_checks::ShareFigure| match f.share {
        Some(v) => format!("{:.0}% {}/{}", v * 100.0, f.count, f.of),
        None => "-".into(),
    };
    let mut s = String::from(
        "\nrisk checks (enquiries made of those due; assessments on time; releases in the last 12 weeks)\n",
    );
    let _ = writeln!(
        s,
        "{:<7} {:>16} {:>16} {:>16} {:>8} {:>15} {:>15} {:>8}",
        "PDU",
        "DA enquiries",
        "all enquiries",
        "assess on time",
        "custody",
        "release contact",
        "pre-rel assess",
        "handover"
    );
    let _ = writeln!(
        s,
        "{:<7} {:>16} {:>16} {:>16} {:>8} {:>15} {:>15} {:>8}",
        "", "made", "made", "", "backlog", "", "", "overdue"
    );
    for p in pdus {
        let Some(r) = &p.risk else { continue };
        let _ = writeln!(
            s,
            "{:<7} {:>16} {:>16} {:>16} {:>8} {:>15} {:>15} {:>8}",
            sanitize(&p.code),
            share(&r.domestic_abuse_enquiries_made),
            share(&r.enquiries_made),
            share(&r.assessments_on_time),
            r.custody_assessment_backlog,
            share(&r.releases_with_contact),
            share(&r.releases_with_pre_release_assessment),
            r.handover_overdue_cases
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
                sanitize(&a.message()),
                status_word(a),
                sanitize(&a.key())
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

/// "117 allocate, 158 see, ...": every task, in the order the lines come in.
fn totals_words(p: &PduReview) -> String {
    crate::incidents::totals_in_task_order(&p.totals)
        .into_iter()
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
    for o in &p.outlook {
        let _ = writeln!(s, "Outlook: {}.", md(o));
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
    for p in worst_first(reviews) {
        s.push_str(&pdu_section_markdown(p, 10));
    }
    s
}

/// The PDUs' worklists, worst status first, then by PDU code.
pub fn worst_first(reviews: &[PduReview]) -> Vec<&PduReview> {
    let mut order: Vec<&PduReview> = reviews.iter().collect();
    order.sort_by(|a, b| b.status.cmp(&a.status).then_with(|| a.pdu.cmp(&b.pdu)));
    order
}

/// Every PDU's worklist as plain text, worst status first, a blank line between PDUs.
pub fn reviews_text(reviews: &[PduReview]) -> String {
    worst_first(reviews)
        .into_iter()
        .map(review_text)
        .collect::<Vec<_>>()
        .join("\n")
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
    for o in &p.outlook {
        let _ = writeln!(s, "  outlook: {}", sanitize(o));
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

/// What `casewatch check` found, one line per check, then the verdict.
pub fn check_text(r: &crate::store::maintenance::CheckReport) -> String {
    let integrity = r
        .integrity
        .iter()
        .map(|l| sanitize(l).into_owned())
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "database: {}\ncasewatch file: {}\nschema: version {} (this casewatch knows up to {}){}\nintegrity: {}\nforeign keys: {}\njournal: {}\nresult: {}\n",
        r.path.display(),
        if r.casewatch_file { "yes" } else { "NO" },
        r.schema_version,
        r.schema_supported,
        if r.schema_version > r.schema_supported {
            " NEWER: upgrade casewatch"
        } else if r.schema_version < r.schema_supported {
            " older: the next write migrates it"
        } else {
            ""
        },
        integrity,
        if r.foreign_key_problems == 0 {
            "ok".to_string()
        } else {
            format!("{} dangling references", r.foreign_key_problems)
        },
        r.journal_mode,
        if r.healthy() {
            "healthy"
        } else {
            "PROBLEMS FOUND"
        }
    )
}

/// The audit trail, one line per entry: id, time, actor, CRN and what was done.
pub fn audit_text(rows: &[crate::actions::AuditRow]) -> String {
    let mut s = String::new();
    for r in rows {
        // On a shared server the login that wrote it, beside the name the client gave.
        let login = r
            .db_user
            .as_deref()
            .map(|u| format!(" (login {})", sanitize(u)))
            .unwrap_or_default();
        s.push_str(&format!(
            "#{} {} {}{} {} {}\n",
            r.id,
            r.at,
            sanitize(&r.actor),
            login,
            r.crn.as_deref().unwrap_or("-"),
            sanitize(&r.describe())
        ));
    }
    if rows.is_empty() {
        s.push_str("no audit entries\n");
    }
    s
}

/// `casewatch check` of a PostgreSQL database, one finding a line, the verdict last.
pub fn pg_check_text(r: &crate::store::pg::PgCheckReport) -> String {
    let mut t = format!("database: {}\n", r.url);
    t.push_str(&format!(
        "schema version: {} (this casewatch knows {}){}\n",
        r.schema_version,
        r.schema_supported,
        match r.schema_version.cmp(&r.schema_supported) {
            std::cmp::Ordering::Less => " older: run `casewatch pg-init URL` as the schema's owner",
            std::cmp::Ordering::Greater => " newer: upgrade casewatch",
            std::cmp::Ordering::Equal => "",
        }
    ));
    let list = |v: &[String]| {
        if v.is_empty() {
            "ok".to_string()
        } else {
            v.join(", ")
        }
    };
    t.push_str(&format!(
        "row-level security off on: {}\n",
        list(&r.without_row_security)
    ));
    t.push_str(&format!(
        "audit guards missing: {}\n",
        list(&r.audit_unguarded)
    ));
    t.push_str(&format!(
        "change log triggers missing or off: {}\n",
        list(&r.changes_unlogged)
    ));
    match &r.kept_drift {
        None => t.push_str(
            "kept figures: not counted (only a head or the owner may count every case)\n",
        ),
        Some(d) => {
            for (what, n) in d {
                t.push_str(&format!(
                    "kept {what}: {}\n",
                    if *n == 0 {
                        "equals a recount".to_string()
                    } else {
                        format!("{n} differ from a recount")
                    }
                ));
            }
        }
    }
    t.push_str(if r.healthy() {
        "result: OK\n"
    } else {
        "result: PROBLEMS FOUND\n"
    });
    t
}

/// The silences, one line each, with whether each is in force on `as_of`.
pub fn silences_text(list: &[crate::incidents::Silence], as_of: NaiveDate) -> String {
    let as_of = crate::domain::fmt_date(as_of);
    let mut t = String::new();
    if list.is_empty() {
        t.push_str("no silences in force\n");
    }
    for s in list {
        let state = if s.active_on(&as_of) {
            "in force"
        } else if s.until.as_str() <= as_of.as_str() {
            "expired"
        } else {
            "not started"
        };
        t.push_str(&format!(
            "#{} {} until {} ({state}) by {}: {}\n",
            s.id,
            sanitize(&s.matchers()),
            s.until,
            sanitize(&s.created_by),
            sanitize(&s.reason)
        ));
    }
    t
}

/// What an import did (or, for a dry run, would do): one line with the counts. `file` is
/// shown as given (sanitised here); `kind` names what the file holds.
pub fn import_text(
    dry_run: bool,
    kind: &str,
    file: &str,
    seconds: f64,
    c: &crate::import::Counts,
) -> String {
    let what = if dry_run {
        "dry run, nothing written; would import"
    } else {
        "imported"
    };
    format!(
        "{what} {} {kind} rows from {} in {seconds:.1}s: {} inserted, {} updated, {} unchanged, {} skipped\n",
        c.rows,
        sanitize(file),
        c.inserted,
        c.updated,
        c.unchanged,
        c.skipped
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_date;

    fn day(s: &str) -> NaiveDate {
        parse_date("d", s).unwrap()
    }

    fn check_report() -> crate::store::maintenance::CheckReport {
        crate::store::maintenance::CheckReport {
            path: "/data/c.db".into(),
            casewatch_file: true,
            schema_version: 5,
            schema_supported: 5,
            integrity: vec!["ok".into()],
            foreign_key_problems: 0,
            journal_mode: "wal".into(),
        }
    }

    #[test]
    fn a_healthy_check_says_so_line_by_line() {
        assert_eq!(
            check_text(&check_report()),
            "database: /data/c.db\ncasewatch file: yes\nschema: version 5 (this casewatch knows up to 5)\nintegrity: ok\nforeign keys: ok\njournal: wal\nresult: healthy\n"
        );
    }

    #[test]
    fn a_check_with_problems_names_each_and_says_problems_found() {
        let mut r = check_report();
        r.casewatch_file = false;
        r.schema_version = 6;
        r.integrity = vec!["row 3 missing\x1b[31m".into(), "page 7".into()];
        r.foreign_key_problems = 2;
        let t = check_text(&r);
        assert!(t.contains("casewatch file: NO\n"), "{t}");
        assert!(t.contains("version 6 (this casewatch knows up to 5) NEWER: upgrade casewatch\n"));
        assert!(
            t.contains("integrity: row 3 missing\u{241b}[31m; page 7\n"),
            "{t}"
        );
        assert!(t.contains("foreign keys: 2 dangling references\n"));
        assert!(t.ends_with("result: PROBLEMS FOUND\n"));
        r.schema_version = 4;
        assert!(
            check_text(&r)
                .contains("(this casewatch knows up to 5) older: the next write migrates it\n")
        );
    }

    #[test]
    fn the_audit_trail_is_one_line_an_entry_or_says_it_is_empty() {
        assert_eq!(audit_text(&[]), "no audit entries\n");
        let row = crate::actions::AuditRow {
            id: 7,
            at: "2026-11-01T09:00:00Z".into(),
            actor: "ann\x07".into(),
            action: "note".into(),
            crn: None,
            subject: None,
            before: serde_json::Value::Null,
            after: serde_json::json!({"note": "called"}),
            reason: None,
            db_user: None,
        };
        assert_eq!(
            audit_text(std::slice::from_ref(&row)),
            "#7 2026-11-01T09:00:00Z ann\u{2407} - note: called\n"
        );
        let on_server = crate::actions::AuditRow {
            db_user: Some("spo_a".into()),
            ..row
        };
        assert_eq!(
            audit_text(&[on_server]),
            "#7 2026-11-01T09:00:00Z ann\u{2407} (login spo_a) - note: called\n"
        );
    }

    fn silence(id: i64, starts: &str, until: &str) -> crate::incidents::Silence {
        crate::incidents::Silence {
            id,
            rule: Some("pdu-vacancy-critical".into()),
            pdu: Some("BAR".into()),
            crn: None,
            starts: starts.into(),
            until: until.into(),
            reason: "known".into(),
            created_by: "spo".into(),
            created_at: "2026-10-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn silences_are_listed_with_their_state_on_the_day() {
        assert_eq!(
            silences_text(&[], day("2026-11-01")),
            "no silences in force\n"
        );
        let list = [
            silence(1, "2026-10-01", "2026-11-10"),
            silence(2, "2026-10-01", "2026-11-01"),
            silence(3, "2026-11-05", "2026-11-10"),
        ];
        assert_eq!(
            silences_text(&list, day("2026-11-01")),
            "#1 rule=pdu-vacancy-critical pdu=BAR until 2026-11-10 (in force) by spo: known\n\
             #2 rule=pdu-vacancy-critical pdu=BAR until 2026-11-01 (expired) by spo: known\n\
             #3 rule=pdu-vacancy-critical pdu=BAR until 2026-11-10 (not started) by spo: known\n"
        );
    }

    #[test]
    fn an_import_reports_its_counts_and_a_dry_run_says_nothing_was_written() {
        let c = crate::import::Counts {
            rows: 10,
            inserted: 4,
            updated: 3,
            unchanged: 2,
            skipped: 1,
        };
        assert_eq!(
            import_text(false, "contacts", "in.csv", 1.24, &c),
            "imported 10 contacts rows from in.csv in 1.2s: 4 inserted, 3 updated, 2 unchanged, 1 skipped\n"
        );
        assert_eq!(
            import_text(true, "cases", "a\rb.csv", 0.0, &c),
            "dry run, nothing written; would import 10 cases rows from a\u{240d}b.csv in 0.0s: 4 inserted, 3 updated, 2 unchanged, 1 skipped\n"
        );
    }

    fn review(pdu: &str, status: Level) -> PduReview {
        PduReview {
            as_of: "2026-11-01".into(),
            pdu: pdu.into(),
            name: format!("{pdu} name"),
            region: "London".into(),
            status,
            status_reasons: vec![],
            incidents: vec![],
            actions: vec![],
            totals: Default::default(),
            outlook: vec![],
            more: 0,
        }
    }

    #[test]
    fn worklists_come_worst_first_then_by_pdu_a_blank_line_apart() {
        let reviews = [
            review("CCC", Level::Warning),
            review("AAA", Level::Ok),
            review("BBB", Level::Critical),
            review("ABB", Level::Warning),
        ];
        let t = reviews_text(&reviews);
        let heads: Vec<&str> = t
            .lines()
            .filter(|l| l.ends_with("(as of 2026-11-01)"))
            .map(|l| &l[..3])
            .collect();
        assert_eq!(heads, ["BBB", "ABB", "CCC", "AAA"]);
        let [b, a, c, o] = [&reviews[2], &reviews[3], &reviews[0], &reviews[1]].map(review_text);
        assert_eq!(t, [b, a, c, o].join("\n"));
        assert_eq!(reviews_text(&[]), "");
    }

    /// The risk-check tasks read as days overdue, and the totals come in the order of the
    /// classes, every task named.
    #[test]
    fn the_morning_section_reads_the_risk_check_tasks_in_class_order() {
        use crate::incidents::{task_counts, worklist};
        use crate::rules::{Scope, Subject, SubjectMetrics};
        let case = |crn: &str, m: (&'static str, f64)| Subject {
            scope: Scope::Case,
            pdu: "P".into(),
            crn: Some(crn.into()),
            staff_code: None,
            metrics: SubjectMetrics::of(Scope::Case, [("rosh_level", 4.0), ("high_risk", 1.0), m]),
        };
        let actions = worklist(
            &[
                case("X000001", ("enquiry_overdue_days", 30.0)),
                case("X000002", ("assessment_overdue_days", 12.0)),
                case("X000003", ("pre_release_contact_missing_days", 5.0)),
            ],
            &[],
        );
        let mut p = review("P", Level::Warning);
        p.totals = task_counts(&actions);
        p.actions = actions;
        let md = pdu_section_markdown(&p, 10);
        let tail: Vec<&str> = md.lines().skip_while(|l| !l.starts_with("Top")).collect();
        assert_eq!(
            tail,
            [
                "Top 3 of 3 actions (0 allocate, 1 see, 1 assess, 0 oversee, 1 enquire, 0 staffing):",
                "1. **see** X000003: see them (not seen before release); RoSH VERY\\_HIGH; released with no contact in the weeks before release (5 days overdue)",
                "2. **assess** X000002: complete the risk assessment; RoSH VERY\\_HIGH; risk assessment overdue (12 days overdue)",
                "3. **enquire** X000001: request or chase enquiries; RoSH VERY\\_HIGH; a domestic-abuse or child-safeguarding enquiry overdue (30 days overdue)",
            ]
        );
        let text = review_text(&p);
        assert!(
            text.contains("Today: 3 of 3 actions (0 allocate, 1 see, 1 assess, 0 oversee, 1 enquire, 0 staffing)"),
            "{text}"
        );
        assert!(
            text.contains("  2. assess   X000002    12d  complete the risk assessment: RoSH VERY_HIGH; risk assessment overdue"),
            "{text}"
        );
    }
}
