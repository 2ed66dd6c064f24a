//! Incidents: the alerts of one rule in one PDU grouped into one thing to work through
//! (Alertmanager's grouping), with their lifecycle (acknowledged, reopened only on material
//! worsening, silenced, escalated), the PDU status ladder, and the morning worklist.
//!
//! Everything here is pure: the nightly run (`alerts`) reads what it needs from the database
//! and hands it in.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use crate::alerts::{ReviewedAlert, Status};
use crate::domain::parse_date;
use crate::rules::{Level, Metrics, Rules, Scope, Severity, Subject, SubjectMetrics, is_rate};

/// An incident's key: `rule:pdu`.
pub fn incident_key(rule: &str, pdu: &str) -> String {
    format!("{rule}:{pdu}")
}

/// What the previous recorded run said of an incident that was open then.
#[derive(Debug, Clone, PartialEq)]
pub struct PrevIncident {
    pub first_seen: String,
    pub nights: u32,
}

/// The latest acknowledgement of a key: the metric values it was given at, and the as-of
/// date of the run it acknowledged (absent for acknowledgements older than incidents).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ack {
    pub metrics: Metrics,
    pub as_of: Option<String>,
    /// Who acknowledged it (who owns it now), and their note.
    pub by: String,
    pub note: String,
}

/// A silence: matchers (absent = any) and the date it ends (exclusive).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Silence {
    pub id: i64,
    pub rule: Option<String>,
    pub pdu: Option<String>,
    pub crn: Option<String>,
    pub starts: String,
    pub until: String,
    pub reason: String,
    pub created_by: String,
    pub created_at: String,
}

impl Silence {
    /// Whether this silence covers an alert of `rule` in `pdu` about `crn`.
    pub fn matches(&self, rule: &str, pdu: &str, crn: Option<&str>) -> bool {
        self.rule.as_deref().is_none_or(|r| r == rule)
            && self.pdu.as_deref().is_none_or(|p| p == pdu)
            && self.crn.as_deref().is_none_or(|c| Some(c) == crn)
    }
    /// Whether it covers the whole incident (no CRN matcher).
    pub fn matches_incident(&self, rule: &str, pdu: &str) -> bool {
        self.crn.is_none() && self.matches(rule, pdu, None)
    }
    /// Active on `as_of`: started, not yet ended (a silence ends at the start of `until`).
    pub fn active_on(&self, as_of: &str) -> bool {
        self.starts.as_str() <= as_of && as_of < self.until.as_str()
    }
    /// The matchers in the form `silence` takes them.
    pub fn matchers(&self) -> String {
        let mut m = Vec::new();
        if let Some(r) = &self.rule {
            m.push(format!("rule={r}"));
        }
        if let Some(p) = &self.pdu {
            m.push(format!("pdu={p}"));
        }
        if let Some(c) = &self.crn {
            m.push(format!("crn={c}"));
        }
        m.join(" ")
    }
}

/// The latest `until` of the active silences that cover something, if any.
pub fn silenced_until<'a>(
    silences: impl IntoIterator<Item = &'a Silence>,
    covers: impl Fn(&Silence) -> bool,
) -> Option<String> {
    silences
        .into_iter()
        .filter(|s| covers(s))
        .map(|s| s.until.clone())
        .max()
}

/// Whether `now` is materially worse than `then` (the values at an acknowledgement): a count
/// or level went up by at least one, a rate (share, vacancy) by at least `margin`, a
/// percentage of capacity by at least `margin` x 100 points. Days waiting or overdue only
/// say the same problem has aged, not that it has grown, and float jitter never counts.
pub fn materially_worse(now: &Metrics, then: &Metrics, margin: f64) -> bool {
    now.iter().any(|(k, v)| {
        if is_days(k) {
            return false;
        }
        let Some(t) = then.get(k) else { return false };
        let step = if is_rate(k) {
            margin
        } else if k.ends_with("_pct") {
            margin * 100.0
        } else {
            1.0
        };
        let worse_by = if crate::rules::higher_is_better(k) {
            *t - *v
        } else {
            *v - *t
        };
        worse_by >= step - 1e-9
    })
}

/// Whether a metric counts days (waiting, overdue): an age, not a size.
fn is_days(name: &str) -> bool {
    name.starts_with("days_") || name.ends_with("_days")
}

/// How long an alert's problem has lasted: the largest `*_days` metric it carries (days
/// unallocated, overdue), else the days since it was first seen.
pub fn member_age(a: &ReviewedAlert, as_of: NaiveDate) -> i64 {
    let days = a
        .metrics
        .iter()
        .filter(|(k, _)| is_days(k))
        .map(|(_, v)| *v as i64)
        .max();
    days.unwrap_or_else(|| {
        parse_date("first_seen", &a.first_seen)
            .map(|d| (as_of - d).num_days().max(0))
            .unwrap_or(0)
    })
}

/// Alerts of one rule in one PDU, worked as one. The JSON field names are a stable contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub key: String,
    pub rule: String,
    pub severity: Severity,
    pub scope: Scope,
    pub pdu: String,
    pub status: Status,
    /// Open members now (0 once resolved).
    pub count: u64,
    pub new_members: u64,
    pub resolved_members: u64,
    pub first_seen: String,
    /// Recorded nights in a row it has been open, this one included.
    pub nights: u32,
    pub oldest_days: i64,
    pub acknowledged: bool,
    /// Acknowledged before, and materially worse since.
    pub reopened: bool,
    /// Who acknowledged it last (its owner) and their note, while that acknowledgement covers
    /// it (also once reopened, so that the owner is asked first).
    pub acknowledged_by: Option<String>,
    pub ack_note: Option<String>,
    pub silenced_until: Option<String>,
    pub escalated: bool,
    pub message: String,
    /// The message of the oldest member, as the worst example.
    pub worst: Option<String>,
    /// Open members' keys, oldest first.
    pub members: Vec<String>,
    /// The values an acknowledgement is measured against: the count, and for a PDU-scope
    /// rule the metrics it tested.
    #[serde(skip)]
    pub metrics: Metrics,
}

/// Everything the grouping needs besides the alerts.
pub struct Context<'a> {
    pub as_of: NaiveDate,
    pub rules: &'a Rules,
    pub previous: &'a HashMap<String, PrevIncident>,
    pub acks: &'a HashMap<String, Ack>,
    pub silences: &'a [Silence],
}

impl Context<'_> {
    /// The acknowledgement of `key` if it covers an incident first seen on `first_seen`: one
    /// given before an incident resolved does not cover its return.
    fn ack(&self, key: &str, first_seen: &str) -> Option<&Ack> {
        self.acks
            .get(key)
            .filter(|a| a.as_of.as_deref().is_none_or(|d| d >= first_seen))
    }
}

/// Marks each alert acknowledged, reopened or silenced by the lifecycle rules.
pub fn mark_members(alerts: &mut [ReviewedAlert], cx: &Context<'_>) {
    let as_of = crate::domain::fmt_date(cx.as_of);
    let active: Vec<&Silence> = cx.silences.iter().filter(|s| s.active_on(&as_of)).collect();
    let margin = cx.rules.lifecycle.reopen_rate_margin;
    for a in alerts.iter_mut() {
        if a.status == Status::Resolved {
            continue;
        }
        let (acknowledged, reopened) = match cx.ack(&a.key, &a.first_seen) {
            Some(then) if materially_worse(&a.metrics, &then.metrics, margin) => (false, true),
            Some(_) => (true, false),
            None => (false, false),
        };
        a.acknowledged = acknowledged;
        a.reopened = reopened;
        a.silenced_until = silenced_until(active.iter().copied(), |s| {
            s.matches(&a.rule, &a.pdu, a.crn.as_deref())
        });
    }
}

/// An incident's status, first-seen date and nights open, from its open members (oldest
/// first) and the same incident in the previous run.
fn lifecycle_of(
    prev: Option<&PrevIncident>,
    open: &[(&ReviewedAlert, i64)],
    first: &ReviewedAlert,
    new_members: u64,
    as_of: &str,
) -> (Status, String, u32) {
    let count = open.len() as u64;
    match (count, prev) {
        (0, _) => (
            Status::Resolved,
            prev.map_or_else(|| first.first_seen.clone(), |p| p.first_seen.clone()),
            prev.map_or(0, |p| p.nights),
        ),
        (_, Some(p)) => (Status::Ongoing, p.first_seen.clone(), p.nights + 1),
        (_, None) => {
            let earliest = open
                .iter()
                .map(|(a, _)| a.first_seen.as_str())
                .min()
                .unwrap_or(as_of)
                .to_string();
            let status = if new_members == count {
                Status::New
            } else {
                Status::Ongoing
            };
            (status, earliest, 1)
        }
    }
}

/// Groups reviewed alerts (open and resolved) into incidents, worst first: severity, then
/// the organisational alert, then PDU-wide, then the most members.
pub fn group(alerts: &[ReviewedAlert], cx: &Context<'_>) -> Vec<Incident> {
    let as_of = crate::domain::fmt_date(cx.as_of);
    let active: Vec<&Silence> = cx.silences.iter().filter(|s| s.active_on(&as_of)).collect();
    let mut groups: BTreeMap<(&str, &str), Vec<&ReviewedAlert>> = BTreeMap::new();
    for a in alerts {
        groups.entry((&a.pdu, &a.rule)).or_default().push(a);
    }
    let lifecycle = cx.rules.lifecycle;
    let mut out = Vec::with_capacity(groups.len());
    for ((pdu, rule), members) in groups {
        let key = incident_key(rule, pdu);
        let mut open: Vec<(&ReviewedAlert, i64)> = members
            .iter()
            .filter(|a| a.status != Status::Resolved)
            .map(|a| (*a, member_age(a, cx.as_of)))
            .collect();
        open.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.key.cmp(&b.0.key)));
        let resolved_members = (members.len() - open.len()) as u64;
        let new_members = open.iter().filter(|(a, _)| a.status == Status::New).count() as u64;
        let first = members[0];
        let prev = cx.previous.get(&key);
        let count = open.len() as u64;
        let (status, first_seen, nights) = lifecycle_of(prev, &open, first, new_members, &as_of);
        let title = cx
            .rules
            .rule(rule)
            .map_or_else(|| rule.to_string(), |r| r.title.clone());
        let oldest_days = open.first().map_or(0, |(_, d)| *d);
        let (message, mut metrics) = if first.scope == Scope::Pdu {
            match open.first() {
                Some((a, _)) => (a.message.clone(), a.metrics.clone()),
                None => (first.message.clone(), Metrics::default()),
            }
        } else {
            let mut m = format!("{count} {title}");
            if count > 0 {
                m.push_str(&format!("; oldest {oldest_days} days"));
            }
            if new_members > 0 || resolved_members > 0 {
                m.push_str(&format!(
                    "; {new_members} new, {resolved_members} resolved since the last run"
                ));
            }
            (m, Metrics::default())
        };
        metrics.insert("count", count as f64);
        let ack = if count == 0 {
            None
        } else {
            // A PDU-wide alert can be acknowledged by its own key or the incident's.
            cx.ack(&key, &first_seen).or_else(|| {
                (first.scope == Scope::Pdu)
                    .then(|| cx.ack(&first.key, &first_seen))
                    .flatten()
            })
        };
        let reopened = ack
            .is_some_and(|a| materially_worse(&metrics, &a.metrics, lifecycle.reopen_rate_margin));
        let silenced = if count == 0 {
            None
        } else {
            silenced_until(active.iter().copied(), |s| s.matches_incident(rule, pdu))
        };
        out.push(Incident {
            key,
            rule: rule.to_string(),
            severity: first.severity,
            scope: first.scope,
            pdu: pdu.to_string(),
            status,
            count,
            new_members,
            resolved_members,
            first_seen,
            nights,
            oldest_days,
            acknowledged: ack.is_some() && !reopened,
            reopened,
            acknowledged_by: ack.map(|a| a.by.clone()),
            ack_note: ack.map(|a| a.note.clone()),
            silenced_until: silenced,
            escalated: first.severity == Severity::Critical
                && count > 0
                && nights >= lifecycle.escalate_after_nights,
            message,
            worst: open.first().map(|(a, _)| a.message.clone()),
            members: open.iter().map(|(a, _)| a.key.clone()).collect(),
            metrics,
        });
    }
    out
}

/// Open first; then the worst PDU first (`pdu_level`), the PDU, the status rank of the
/// rule, severity, PDU-wide before grouped, the most members, and rule.
pub fn sort_incidents(out: &mut [Incident], rules: &Rules, pdu_level: impl Fn(&str) -> Level) {
    let level = |i: &Incident| rules.rule(&i.rule).and_then(|r| r.status);
    out.sort_by(|a, b| {
        (a.status == Status::Resolved)
            .cmp(&(b.status == Status::Resolved))
            .then_with(|| pdu_level(&b.pdu).cmp(&pdu_level(&a.pdu)))
            .then_with(|| a.pdu.cmp(&b.pdu))
            .then_with(|| level(b).cmp(&level(a)))
            .then_with(|| b.severity.cmp(&a.severity))
            .then_with(|| b.scope.cmp(&a.scope))
            .then_with(|| b.count.cmp(&a.count))
            .then_with(|| a.pdu.cmp(&b.pdu))
            .then_with(|| a.rule.cmp(&b.rule))
    });
}

/// A PDU's place on the status ladder, with the rules that put it there in words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PduStatus {
    pub pdu: String,
    pub status: Level,
    pub status_reasons: Vec<String>,
}

/// The status of each PDU (in the order given) from its open PDU-scope alerts, given as
/// `(pdu, rule, message)`.
pub fn pdu_statuses<'a>(
    pdus: impl IntoIterator<Item = &'a str>,
    fired_pdu_alerts: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    rules: &Rules,
) -> Vec<PduStatus> {
    let mut fired: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for (pdu, rule, message) in fired_pdu_alerts {
        fired.entry(pdu).or_default().push((rule, message));
    }
    pdus.into_iter()
        .map(|pdu| {
            let (status, status_reasons) =
                rules.pdu_status(fired.get(pdu).into_iter().flatten().copied());
            PduStatus {
                pdu: pdu.to_string(),
                status,
                status_reasons,
            }
        })
        .collect()
}

/// What the worklist asks someone to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Allocate,
    See,
    Oversee,
    Staffing,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Allocate => "allocate",
            Task::See => "see",
            Task::Oversee => "oversee",
            Task::Staffing => "staffing",
        }
    }
}

/// One line of the morning worklist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkItem {
    pub task: Task,
    pub pdu: String,
    pub crn: Option<String>,
    pub staff_code: Option<String>,
    /// What to do, in words.
    pub what: String,
    /// Why, in words (risk, MAPPA, grade).
    pub why: String,
    /// How long: days unallocated or overdue; for staffing, capacity % over 100.
    pub days: i64,
    /// The documented rank (see [`priority`]); higher first.
    pub priority: u32,
    /// Ties within a rank: MAPPA level x 10 + RoSH level.
    #[serde(skip)]
    pub risk: u32,
}

/// The rank of a worklist line: a class, then age within it (capped at 999 days):
///
/// | class | base |
/// |---|---|
/// | allocate an unallocated MAPPA case | 5000 |
/// | allocate an unallocated HIGH/VERY_HIGH RoSH case | 4000 |
/// | see a high-risk case whose contact is overdue | 3000 |
/// | oversee a high-risk or MAPPA case whose oversight is overdue | 2000 |
/// | staffing: a practitioner over capacity (by points over 100%) | 1000 |
///
/// Within a class, the riskier case first when the age is equal (MAPPA level, then RoSH).
pub fn priority(base: u32, days: i64) -> u32 {
    base + days.clamp(0, 999) as u32
}

fn rosh_word(level: f64) -> &'static str {
    match level as i64 {
        4 => "VERY_HIGH",
        3 => "HIGH",
        2 => "MEDIUM",
        1 => "LOW",
        _ => "no RoSH",
    }
}

fn risk_words(m: &SubjectMetrics) -> String {
    let g = |k: &str| m.get(k).unwrap_or(0.0);
    let rosh = g("rosh_level");
    let mut s = if rosh > 0.0 {
        format!("RoSH {}", rosh_word(rosh))
    } else {
        "no RoSH assessment".to_string()
    };
    if g("mappa_category") > 0.0 {
        s.push_str(&format!(
            ", MAPPA cat {} level {}",
            g("mappa_category") as i64,
            g("mappa_level") as i64
        ));
    }
    s
}

/// The ordered worklist of the given subjects (one PDU's, or more) and the practitioners
/// the practitioner-scope rules flagged (`staffing`: staff code, PDU, message, capacity %).
pub fn worklist<'a>(
    subjects: impl IntoIterator<Item = &'a Subject>,
    staffing: &[(&str, &str, &str, f64)],
) -> Vec<WorkItem> {
    let mut out = Vec::new();
    for s in subjects.into_iter().filter(|s| s.scope == Scope::Case) {
        let m = &s.metrics;
        let g = |k: &str| m.get(k).unwrap_or(0.0);
        let crn = s.crn.clone();
        let risk_rank = (g("mappa_level") * 10.0 + g("rosh_level")) as u32;
        let high_risk = g("high_risk") > 0.0;
        let risk = risk_words(m);
        if g("unallocated") > 0.0 {
            let days = g("days_unallocated") as i64;
            let handover = g("handover_overdue_days") as i64;
            // Someone leaving (or just out of) prison with nobody to meet them comes after
            // MAPPA cases and before other high-RoSH ones: 14 days past the handover date is
            // when HMPPS reminds, and when the case rule fires.
            let (base, what, why) = if g("mappa_category") > 0.0 {
                (
                    5000,
                    "name a practitioner",
                    "no named practitioner".to_string(),
                )
            } else if handover > 14 {
                (
                    4500,
                    "name a community offender manager",
                    format!("{handover} days past the handover date"),
                )
            } else if g("rosh_level") >= 3.0 {
                (
                    4000,
                    "name a practitioner",
                    "no named practitioner".to_string(),
                )
            } else {
                continue;
            };
            out.push(WorkItem {
                task: Task::Allocate,
                pdu: s.pdu.clone(),
                crn,
                staff_code: None,
                what: what.into(),
                why: format!("{risk}; {why}"),
                days,
                priority: priority(base, days),
                risk: risk_rank,
            });
            continue;
        }
        if !high_risk {
            continue;
        }
        let contact = g("contact_overdue_days") as i64;
        if contact > 0 {
            out.push(WorkItem {
                task: Task::See,
                pdu: s.pdu.clone(),
                crn: crn.clone(),
                staff_code: None,
                what: "see them (contact due)".into(),
                why: risk.clone(),
                days: contact,
                priority: priority(3000, contact),
                risk: risk_rank,
            });
        }
        let oversight = g("oversight_overdue_days") as i64;
        if oversight > 0 {
            out.push(WorkItem {
                task: Task::Oversee,
                pdu: s.pdu.clone(),
                crn,
                staff_code: None,
                what: "record oversight".into(),
                why: risk,
                days: oversight,
                priority: priority(2000, oversight),
                risk: risk_rank,
            });
        }
    }
    for (staff, pdu, message, pct) in staffing {
        let over = (pct - 100.0).max(0.0) as i64;
        out.push(WorkItem {
            task: Task::Staffing,
            pdu: pdu.to_string(),
            crn: None,
            staff_code: Some(staff.to_string()),
            what: "review caseload".into(),
            why: message.to_string(),
            days: over,
            priority: priority(1000, over),
            risk: 0,
        });
    }
    rank(&mut out);
    out
}

/// Orders worklist lines by priority, then risk, then CRN or staff code.
pub fn rank(items: &mut [WorkItem]) {
    items.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| b.risk.cmp(&a.risk))
            .then_with(|| a.crn.cmp(&b.crn))
            .then_with(|| a.staff_code.cmp(&b.staff_code))
    });
}

/// How many lines of each task a worklist holds.
pub fn task_counts(items: &[WorkItem]) -> BTreeMap<&'static str, u64> {
    let mut out: BTreeMap<&'static str, u64> =
        [Task::Allocate, Task::See, Task::Oversee, Task::Staffing]
            .into_iter()
            .map(|t| (t.as_str(), 0))
            .collect();
    for w in items {
        *out.entry(w.task.as_str()).or_default() += 1;
    }
    out
}

#[cfg(test)]
mod worklist_tests {
    use super::*;

    /// Someone past the handover date with nobody allocated is an allocation for the
    /// morning, after the MAPPA cases and before other high-RoSH ones.
    #[test]
    fn a_handover_past_its_grace_is_an_allocation_between_mappa_and_high_rosh() {
        let case = |crn: &str, m: &[(&'static str, f64)]| Subject {
            scope: Scope::Case,
            pdu: "P".into(),
            crn: Some(crn.into()),
            staff_code: None,
            metrics: crate::rules::SubjectMetrics::of(Scope::Case, m.iter().copied()),
        };
        let subjects = [
            case(
                "X1",
                &[
                    ("unallocated", 1.0),
                    ("rosh_level", 3.0),
                    ("days_unallocated", 30.0),
                ],
            ),
            case(
                "X2",
                &[
                    ("unallocated", 1.0),
                    ("rosh_level", 2.0),
                    ("days_unallocated", 5.0),
                    ("handover_overdue_days", 20.0),
                ],
            ),
            case(
                "X3",
                &[
                    ("unallocated", 1.0),
                    ("rosh_level", 2.0),
                    ("handover_overdue_days", 10.0),
                ],
            ),
            case(
                "X4",
                &[
                    ("unallocated", 1.0),
                    ("mappa_category", 1.0),
                    ("days_unallocated", 1.0),
                ],
            ),
        ];
        let mut items = worklist(&subjects, &[]);
        rank(&mut items);
        let order: Vec<_> = items.iter().map(|w| w.crn.as_deref().unwrap()).collect();
        assert_eq!(order, ["X4", "X2", "X1"], "within the grace, X3 waits");
        assert_eq!(items[1].what, "name a community offender manager");
        assert!(
            items[1].why.ends_with("20 days past the handover date"),
            "{}",
            items[1].why
        );
    }
}
