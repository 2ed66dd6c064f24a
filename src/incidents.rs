//! Incidents: the alerts of one rule in one PDU grouped into one thing to work through
//! (Alertmanager's grouping), with their lifecycle (acknowledged, reopened only on material
//! worsening, silenced, escalated), the PDU status ladder, and the morning worklist.
//!
//! Everything here is pure: the nightly run (`alerts`) reads what it needs from the database
//! and hands it in.

use std::borrow::Cow;
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
        // (Most nights few alerts are acknowledged: a key is only written out when some are.)
        let ack = (!cx.acks.is_empty())
            .then(|| cx.ack(&a.key(), &a.first_seen))
            .flatten();
        let (acknowledged, reopened) = match ack {
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
            prev.map_or_else(|| first.first_seen.to_string(), |p| p.first_seen.clone()),
            prev.map_or(0, |p| p.nights),
        ),
        (_, Some(p)) => (Status::Ongoing, p.first_seen.clone(), p.nights + 1),
        (_, None) => {
            let earliest = open
                .iter()
                .map(|(a, _)| a.first_seen.as_ref())
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
        // One rule and PDU: the keys differ in who alone.
        open.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.who().cmp(b.0.who())));
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
                Some((a, _)) => (a.message().into_owned(), a.metrics.clone()),
                None => (first.message().into_owned(), Metrics::default()),
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
                    .then(|| cx.ack(&first.key(), &first_seen))
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
            worst: open.first().map(|(a, _)| a.message().into_owned()),
            members: open.iter().map(|(a, _)| a.key()).collect(),
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
    fired_pdu_alerts: impl IntoIterator<Item = (&'a str, &'a str, Cow<'a, str>)>,
    rules: &Rules,
) -> Vec<PduStatus> {
    let mut fired: HashMap<&str, Vec<(&str, Cow<'a, str>)>> = HashMap::new();
    for (pdu, rule, message) in fired_pdu_alerts {
        fired.entry(pdu).or_default().push((rule, message));
    }
    pdus.into_iter()
        .map(|pdu| {
            let (status, status_reasons) = rules.pdu_status(
                fired
                    .get(pdu)
                    .into_iter()
                    .flatten()
                    .map(|(r, m)| (*r, m.as_ref())),
            );
            PduStatus {
                pdu: pdu.to_string(),
                status,
                status_reasons,
            }
        })
        .collect()
}

/// What the worklist asks someone to do, in the order of the classes (see [`priority`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Allocate,
    See,
    /// Complete a risk assessment that is overdue, or assess someone released without one.
    Assess,
    Oversee,
    /// Request or chase a domestic-abuse or child-safeguarding enquiry.
    Enquire,
    Staffing,
}

impl Task {
    /// Every task, in the order of their classes: totals are shown in this order.
    pub const ALL: [Task; 6] = [
        Task::Allocate,
        Task::See,
        Task::Assess,
        Task::Oversee,
        Task::Enquire,
        Task::Staffing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Task::Allocate => "allocate",
            Task::See => "see",
            Task::Assess => "assess",
            Task::Oversee => "oversee",
            Task::Enquire => "enquire",
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

/// The rank of a worklist line: a class, then age within it:
///
/// | class | task | base |
/// |---|---|---|
/// | an unallocated MAPPA case | allocate | 5000 |
/// | an unallocated case more than 14 days past its handover date | allocate | 4500 |
/// | an unallocated HIGH/VERY_HIGH RoSH case | allocate | 4000 |
/// | a high-risk case whose contact is overdue, or released with no contact before release | see | 3000 |
/// | a high-risk case whose risk assessment is overdue, or released with no pre-release assessment | assess | 2500 |
/// | a high-risk or MAPPA case whose oversight is overdue | oversee | 2000 |
/// | a high-risk case with a domestic-abuse or safeguarding enquiry overdue | enquire | 1500 |
/// | staffing: a practitioner over capacity (by points over 100%) | staffing | 1000 |
///
/// "High-risk" is RoSH HIGH/VERY_HIGH or MAPPA, and only allocated cases get the lines below
/// allocate (an unallocated one's first action is its allocation).
///
/// The age counts up to [`AGE_CAP`] days: the classes are 500 apart, so a 600-day-old
/// enquiry must not pass a day-old oversight. Older lines still come oldest first within
/// their class ([`rank`] breaks ties by days). Within a class, the riskier case first when
/// the age is equal (MAPPA level, then RoSH).
pub fn priority(base: u32, days: i64) -> u32 {
    base + days.clamp(0, AGE_CAP) as u32
}

/// The most days [`priority`] counts: one less than the gap between two classes.
pub const AGE_CAP: i64 = 499;

fn rosh_word(level: f64) -> &'static str {
    match level as i64 {
        4 => "VERY_HIGH",
        3 => "HIGH",
        2 => "MEDIUM",
        1 => "LOW",
        _ => "no RoSH",
    }
}

/// When a pre-release window closed, as the case rules say it.
fn closed(days: i64) -> String {
    format!("(window closed {days} days ago)")
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
        let crn = s.crn.as_deref().map(String::from);
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
        let line = |task: Task, base: u32, what: &str, why: String, days: i64| WorkItem {
            task,
            pdu: s.pdu.clone(),
            crn: crn.clone(),
            staff_code: None,
            what: what.into(),
            why,
            days,
            priority: priority(base, days),
            risk: risk_rank,
        };
        // Two gaps that one visit or one assessment closes are one line: the SPO asks one
        // practitioner for one thing. It ranks by the older gap (merging never ranks a case
        // lower than either gap alone would), and the why gives each gap its days, since
        // the days column can show only one.
        let contact = g("contact_overdue_days") as i64;
        let unseen = g("pre_release_contact_missing_days") as i64;
        let unseen_words = "released with no contact in the weeks before release";
        let see = match (contact > 0, unseen > 0) {
            (true, false) => Some(("see them (contact due)", risk.clone(), contact)),
            (false, true) => Some((
                "see them (not seen before release)",
                format!("{risk}; {unseen_words}"),
                unseen,
            )),
            (true, true) => Some((
                "see them (contact due)",
                format!(
                    "{risk}; contact {contact} days overdue; {unseen_words} {}",
                    closed(unseen)
                ),
                contact.max(unseen),
            )),
            (false, false) => None,
        };
        if let Some((what, why, days)) = see {
            out.push(line(Task::See, 3000, what, why, days));
        }
        // Whether the overdue assessment is the initial one or a review, the metric does
        // not say; completing one meets either. A pre-release assessment can no longer be
        // done once they are out (the metric counts only releases already past): what is
        // left is to assess the risk now.
        let assessment = g("assessment_overdue_days") as i64;
        let unassessed = g("pre_release_assessment_missing_days") as i64;
        let unassessed_words = "released with no pre-release risk assessment";
        let assess = match (assessment > 0, unassessed > 0) {
            (true, false) => Some((
                "complete the risk assessment",
                format!("{risk}; risk assessment overdue"),
                assessment,
            )),
            (false, true) => Some((
                "assess risk (none before release)",
                format!("{risk}; {unassessed_words}"),
                unassessed,
            )),
            (true, true) => Some((
                "complete the risk assessment",
                format!(
                    "{risk}; risk assessment {assessment} days overdue; {unassessed_words} {}",
                    closed(unassessed)
                ),
                assessment.max(unassessed),
            )),
            (false, false) => None,
        };
        if let Some((what, why, days)) = assess {
            out.push(line(Task::Assess, 2500, what, why, days));
        }
        let oversight = g("oversight_overdue_days") as i64;
        if oversight > 0 {
            out.push(line(
                Task::Oversee,
                2000,
                "record oversight",
                risk.clone(),
                oversight,
            ));
        }
        // The metric is the most overdue of the case's enquiries, of either kind, requested
        // or not: the words say no more than that.
        let enquiry = g("enquiry_overdue_days") as i64;
        if enquiry > 0 {
            out.push(line(
                Task::Enquire,
                1500,
                "request or chase enquiries",
                format!("{risk}; a domestic-abuse or child-safeguarding enquiry overdue"),
                enquiry,
            ));
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

/// Orders worklist lines by priority, then days (past [`AGE_CAP`], where the priority stops
/// counting), then risk, then CRN or staff code.
pub fn rank(items: &mut [WorkItem]) {
    items.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| b.days.cmp(&a.days))
            .then_with(|| b.risk.cmp(&a.risk))
            .then_with(|| a.crn.cmp(&b.crn))
            .then_with(|| a.staff_code.cmp(&b.staff_code))
    });
}

/// How many lines of each task a worklist holds.
pub fn task_counts(items: &[WorkItem]) -> BTreeMap<&'static str, u64> {
    let mut out: BTreeMap<&'static str, u64> =
        Task::ALL.into_iter().map(|t| (t.as_str(), 0)).collect();
    for w in items {
        *out.entry(w.task.as_str()).or_default() += 1;
    }
    out
}

/// A worklist's totals (see [`task_counts`]) in the order of the classes, allocate first:
/// the order the lines come in, not the alphabet's.
pub fn totals_in_task_order(totals: &BTreeMap<&'static str, u64>) -> Vec<(&'static str, u64)> {
    let rank = |name: &str| Task::ALL.iter().position(|t| t.as_str() == name);
    let mut out: Vec<(&'static str, u64)> = totals.iter().map(|(k, v)| (*k, *v)).collect();
    // A name no task has (none today) goes last, in the map's order: shown, not dropped.
    out.sort_by_key(|(k, _)| rank(k).unwrap_or(Task::ALL.len()));
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

    fn case(crn: &str, m: &[(&'static str, f64)]) -> Subject {
        Subject {
            scope: Scope::Case,
            pdu: "P".into(),
            crn: Some(crn.into()),
            staff_code: None,
            metrics: crate::rules::SubjectMetrics::of(Scope::Case, m.iter().copied()),
        }
    }

    /// An allocated RoSH HIGH case with the given metrics besides.
    fn high(crn: &str, m: &[(&'static str, f64)]) -> Subject {
        let mut all = vec![("rosh_level", 3.0), ("high_risk", 1.0)];
        all.extend_from_slice(m);
        case(crn, &all)
    }

    fn lines<'a>(items: &'a [WorkItem], crn: &str) -> Vec<&'a WorkItem> {
        items
            .iter()
            .filter(|w| w.crn.as_deref() == Some(crn))
            .collect()
    }

    /// One line of each class, the lower classes far older, come in the order of the
    /// classes: age counts only within a class.
    #[test]
    fn the_classes_come_in_order_whatever_the_age() {
        let subjects = [
            high("ENQ", &[("enquiry_overdue_days", 900.0)]),
            high("OVS", &[("oversight_overdue_days", 1.0)]),
            high("ASS", &[("assessment_overdue_days", 700.0)]),
            high("SEE", &[("contact_overdue_days", 1.0)]),
            case(
                "ROSH",
                &[
                    ("unallocated", 1.0),
                    ("rosh_level", 4.0),
                    ("high_risk", 1.0),
                    ("days_unallocated", 2.0),
                ],
            ),
            case(
                "HAND",
                &[
                    ("unallocated", 1.0),
                    ("rosh_level", 1.0),
                    ("days_unallocated", 1.0),
                    ("handover_overdue_days", 15.0),
                ],
            ),
            case(
                "MAPPA",
                &[
                    ("unallocated", 1.0),
                    ("mappa_category", 2.0),
                    ("mappa_level", 1.0),
                    ("high_risk", 1.0),
                    ("days_unallocated", 1.0),
                ],
            ),
            high("RELEASED", &[("pre_release_contact_missing_days", 800.0)]),
        ];
        let items = worklist(&subjects, &[("S1", "P", "over capacity", 900.0)]);
        let order: Vec<(&str, &str)> = items
            .iter()
            .map(|w| {
                (
                    w.task.as_str(),
                    w.crn.as_deref().or(w.staff_code.as_deref()).unwrap_or("-"),
                )
            })
            .collect();
        assert_eq!(
            order,
            [
                ("allocate", "MAPPA"),
                ("allocate", "HAND"),
                ("allocate", "ROSH"),
                ("see", "RELEASED"),
                ("see", "SEE"),
                ("assess", "ASS"),
                ("oversee", "OVS"),
                ("enquire", "ENQ"),
                ("staffing", "S1"),
            ]
        );
        let days: Vec<i64> = items.iter().map(|w| w.days).collect();
        assert_eq!(
            days,
            [1, 1, 2, 800, 1, 700, 1, 900, 800],
            "days are days overdue"
        );
    }

    /// Past the age the priority counts, the older line still comes first in its class.
    #[test]
    fn past_the_cap_the_oldest_still_comes_first() {
        let subjects = [
            high("A", &[("enquiry_overdue_days", 600.0)]),
            high("B", &[("enquiry_overdue_days", 800.0)]),
            high("C", &[("enquiry_overdue_days", 30.0)]),
        ];
        let items = worklist(&subjects, &[]);
        let order: Vec<_> = items.iter().map(|w| w.crn.as_deref().unwrap()).collect();
        assert_eq!(order, ["B", "A", "C"]);
        assert_eq!(items[0].priority, items[1].priority, "both at the cap");
    }

    /// Contact overdue and no contact before release are one visit: one See line, ranked
    /// by the older gap, with both gaps in words.
    #[test]
    fn a_released_case_not_seen_is_one_see_line() {
        let items = worklist(
            &[
                high(
                    "BOTH",
                    &[
                        ("contact_overdue_days", 3.0),
                        ("pre_release_contact_missing_days", 40.0),
                    ],
                ),
                high("RELEASED", &[("pre_release_contact_missing_days", 12.0)]),
                high("DUE", &[("contact_overdue_days", 5.0)]),
            ],
            &[],
        );
        let both = lines(&items, "BOTH");
        assert_eq!(both.len(), 1, "{both:?}");
        assert_eq!(both[0].task, Task::See);
        assert_eq!(both[0].days, 40);
        assert_eq!(both[0].priority, 3040);
        assert_eq!(both[0].what, "see them (contact due)");
        assert_eq!(
            both[0].why,
            "RoSH HIGH; contact 3 days overdue; released with no contact in the weeks before \
             release (window closed 40 days ago)"
        );
        let released = lines(&items, "RELEASED");
        assert_eq!(released.len(), 1);
        assert_eq!(released[0].task, Task::See);
        assert_eq!(released[0].what, "see them (not seen before release)");
        assert_eq!(
            released[0].why,
            "RoSH HIGH; released with no contact in the weeks before release"
        );
        assert_eq!(released[0].days, 12);
        let due = lines(&items, "DUE");
        assert_eq!(
            (due[0].what.as_str(), due[0].why.as_str()),
            ("see them (contact due)", "RoSH HIGH"),
            "the contact line reads as before"
        );
        assert_eq!(task_counts(&items)["see"], 3);
    }

    /// An overdue assessment and none before release are one Assess line; each alone says
    /// only what it knows.
    #[test]
    fn assessment_gaps_are_one_assess_line_between_see_and_oversee() {
        let items = worklist(
            &[
                high(
                    "BOTH",
                    &[
                        ("assessment_overdue_days", 20.0),
                        ("pre_release_assessment_missing_days", 9.0),
                    ],
                ),
                high("OVERDUE", &[("assessment_overdue_days", 12.0)]),
                high("RELEASED", &[("pre_release_assessment_missing_days", 7.0)]),
            ],
            &[],
        );
        assert!(items.iter().all(|w| w.task == Task::Assess), "{items:?}");
        assert_eq!(items.len(), 3);
        let both = lines(&items, "BOTH");
        assert_eq!((both[0].days, both[0].priority), (20, 2520));
        assert_eq!(both[0].what, "complete the risk assessment");
        assert!(
            both[0].why.ends_with(
                "risk assessment 20 days overdue; released with no pre-release risk \
                 assessment (window closed 9 days ago)"
            ),
            "{}",
            both[0].why
        );
        let overdue = lines(&items, "OVERDUE");
        assert_eq!(overdue[0].why, "RoSH HIGH; risk assessment overdue");
        let released = lines(&items, "RELEASED");
        assert_eq!(released[0].what, "assess risk (none before release)");
        assert_eq!(released[0].days, 7);
    }

    /// The enquiry metric does not say which kind is overdue, nor whether it was requested:
    /// neither do the words.
    #[test]
    fn an_overdue_enquiry_is_an_enquire_line_that_names_neither_kind_alone() {
        let items = worklist(&[high("E", &[("enquiry_overdue_days", 30.0)])], &[]);
        assert_eq!(items.len(), 1);
        let w = &items[0];
        assert_eq!((w.task, w.days, w.priority), (Task::Enquire, 30, 1530));
        assert_eq!(w.what, "request or chase enquiries");
        assert_eq!(
            w.why,
            "RoSH HIGH; a domestic-abuse or child-safeguarding enquiry overdue"
        );
    }

    /// The new lines are for high-risk cases (RoSH HIGH/VERY_HIGH or MAPPA) only.
    #[test]
    fn low_risk_cases_get_none_of_the_risk_check_lines() {
        let gaps = [
            ("enquiry_overdue_days", 30.0),
            ("assessment_overdue_days", 30.0),
            ("pre_release_contact_missing_days", 30.0),
            ("pre_release_assessment_missing_days", 30.0),
            ("contact_overdue_days", 30.0),
            ("oversight_overdue_days", 30.0),
        ];
        let mut medium = vec![("rosh_level", 2.0)];
        medium.extend_from_slice(&gaps);
        let mut mappa = vec![
            ("rosh_level", 2.0),
            ("mappa_category", 1.0),
            ("mappa_level", 1.0),
            ("high_risk", 1.0),
        ];
        mappa.extend_from_slice(&gaps);
        let items = worklist(&[case("MED", &medium), case("MAPPA", &mappa)], &[]);
        assert!(lines(&items, "MED").is_empty(), "{items:?}");
        let tasks: Vec<Task> = lines(&items, "MAPPA").iter().map(|w| w.task).collect();
        assert_eq!(
            tasks,
            [Task::See, Task::Assess, Task::Oversee, Task::Enquire],
            "a MAPPA case on a MEDIUM RoSH is high-risk"
        );
    }

    /// An unallocated case's first action is its allocation: the checks wait for it.
    #[test]
    fn unallocated_cases_get_only_their_allocation() {
        let gaps = [
            ("unallocated", 1.0),
            ("days_unallocated", 4.0),
            ("enquiry_overdue_days", 30.0),
            ("assessment_overdue_days", 30.0),
            ("pre_release_contact_missing_days", 30.0),
            ("pre_release_assessment_missing_days", 30.0),
        ];
        let items = worklist(&[high("U", &gaps)], &[]);
        let tasks: Vec<Task> = items.iter().map(|w| w.task).collect();
        assert_eq!(tasks, [Task::Allocate]);
        let mut low = vec![("rosh_level", 1.0)];
        low.extend_from_slice(&gaps);
        assert!(worklist(&[case("L", &low)], &[]).is_empty());
    }

    /// The totals name every task, even at 0, and read in the order of the classes.
    #[test]
    fn totals_name_every_task_in_the_order_of_the_classes() {
        let items = worklist(&[high("E", &[("enquiry_overdue_days", 3.0)])], &[]);
        let totals = task_counts(&items);
        assert_eq!(
            totals_in_task_order(&totals),
            [
                ("allocate", 0),
                ("see", 0),
                ("assess", 0),
                ("oversee", 0),
                ("enquire", 1),
                ("staffing", 0),
            ]
        );
    }
}
