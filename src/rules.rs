//! Alert rules: parsing and checking a rules file, and evaluating rules against metrics.
//!
//! Evaluation is a pure function from metrics to alerts: the same metrics and rules always give
//! the same alerts in the same order. Gathering metrics from the database is `alerts`' job.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config::line_col;
use crate::text::sanitize;

pub const DEFAULT_RULES: &str = include_str!("../assets/rules.toml");

/// The rule in the spirit of the inspectorate's HFKCW alert; reports put it first.
pub const ORGANISATIONAL: &str = "organisational-alert";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Warning => "warning",
        }
    }
    fn parse(s: &str) -> Option<Severity> {
        match s {
            "critical" => Some(Severity::Critical),
            "high" => Some(Severity::High),
            "warning" => Some(Severity::Warning),
            _ => None,
        }
    }
}

/// A PDU's place on the status ladder, worst last so that `max` picks the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    #[serde(rename = "ok")]
    Ok,
    #[serde(rename = "warning")]
    Warning,
    #[serde(rename = "critical")]
    Critical,
    #[serde(rename = "organisational-alert")]
    OrganisationalAlert,
}

impl Level {
    pub const ALL: [Level; 4] = [
        Level::OrganisationalAlert,
        Level::Critical,
        Level::Warning,
        Level::Ok,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Critical => "critical",
            Level::OrganisationalAlert => "organisational-alert",
        }
    }
    /// The word and glyph every output shows, so that a level never rests on colour.
    pub fn label(self) -> &'static str {
        match self {
            Level::OrganisationalAlert => "▲▲ ORG ALERT",
            Level::Critical => "▲ CRITICAL",
            Level::Warning => "● WARN",
            Level::Ok => "✓ OK",
        }
    }
    fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Case,
    Practitioner,
    Pdu,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Case => "case",
            Scope::Practitioner => "practitioner",
            Scope::Pdu => "pdu",
        }
    }
    fn parse(s: &str) -> Option<Scope> {
        match s {
            "case" => Some(Scope::Case),
            "practitioner" => Some(Scope::Practitioner),
            "pdu" => Some(Scope::Pdu),
            _ => None,
        }
    }

    /// The metrics a rule of this scope may test.
    pub fn metrics(self) -> &'static [&'static str] {
        match self {
            Scope::Case => &[
                "unallocated",
                "days_unallocated",
                "mappa_category",
                "mappa_level",
                "multi_agency",
                "rosh_level",
                "no_rosh",
                "high_risk",
                "contact_overdue_days",
                "oversight_overdue_days",
                "enquiry_overdue_days",
                "assessment_overdue_days",
                "handover_overdue_days",
                "pre_release_contact_missing_days",
                "pre_release_assessment_missing_days",
            ],
            Scope::Practitioner => &["capacity_pct", "caseload", "high_risk_cases", "trainee"],
            Scope::Pdu => &[
                "cases",
                "unallocated",
                "unallocated_share",
                "unallocated_mappa",
                "unallocated_high_rosh",
                "no_rosh",
                "vacancy_rate",
                "region_vacancy_rate",
                "vacancy_above_region",
                "oversight_required",
                "oversight_overdue",
                "oversight_overdue_share",
                "contacts_overdue",
                "high_risk_contacts_overdue",
                "over_capacity",
                "oldest_unallocated_mappa_days",
                "unallocated_high_rosh_waiting",
                "oldest_unallocated_high_rosh_days",
                "enquiries_made_share",
                "domestic_abuse_enquiries_made_share",
                "assessments_on_time_share",
                "custody_assessment_backlog",
                "recent_releases",
                "releases_with_contact_share",
                "releases_with_pre_release_assessment_share",
                "enquiry_overdue_cases",
                "handover_overdue_cases",
            ],
        }
    }

    fn metric(self, name: &str) -> Option<&'static str> {
        self.metrics().iter().copied().find(|m| *m == name)
    }

    fn metric_index(self, name: &str) -> Option<usize> {
        self.metrics().iter().position(|m| *m == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        match s {
            ">" => Some(Op::Gt),
            ">=" => Some(Op::Ge),
            "<" => Some(Op::Lt),
            "<=" => Some(Op::Le),
            "==" | "=" => Some(Op::Eq),
            _ => None,
        }
    }
    /// As written in a rule: `>`, `>=`, `<`, `<=`, `==`.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "==",
        }
    }

    pub fn test(self, a: f64, b: f64) -> bool {
        match self {
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Eq => (a - b).abs() < 1e-9,
        }
    }
}

/// A condition: a test of one metric, or all / any of several conditions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Cond {
    Test {
        metric: &'static str,
        /// The metric's place in its scope's list (see [`SubjectMetrics`]).
        index: usize,
        op: Op,
        value: f64,
    },
    All(Vec<Cond>),
    Any(Vec<Cond>),
}

impl Cond {
    fn holds(&self, m: &SubjectMetrics) -> bool {
        match self {
            Cond::Test {
                index, op, value, ..
            } => m.at(*index).is_some_and(|v| op.test(v, *value)),
            Cond::All(cs) => cs.iter().all(|c| c.holds(m)),
            Cond::Any(cs) => cs.iter().any(|c| c.holds(m)),
        }
    }
    fn metrics(&self, out: &mut Vec<&'static str>) {
        match self {
            Cond::Test { metric, .. } => {
                if !out.contains(metric) {
                    out.push(metric)
                }
            }
            Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| c.metrics(out)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub id: String,
    /// What one alert of the rule is about, as a plural noun phrase ("unallocated MAPPA
    /// cases"): an incident reads "58 unallocated MAPPA cases".
    pub title: String,
    pub severity: Severity,
    /// For a PDU-scope rule: the status its firing puts the PDU at, at least.
    pub status: Option<Level>,
    pub scope: Scope,
    pub message: String,
    pub enabled: bool,
    pub cond: Cond,
}

/// A checked set of rules, in file order (defaults first, then the user's additions).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rules {
    pub rules: Vec<Rule>,
    pub lifecycle: Lifecycle,
}

/// When an acknowledged incident reopens and when an open one is escalated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// A rate (a share or a vacancy rate) reopens an acknowledgement only when it has risen
    /// by at least this much (0.02 = 2 percentage points): never on the jitter of a share
    /// whose denominator moved.
    #[serde(default = "default_margin")]
    pub reopen_rate_margin: f64,
    /// A critical incident open this many recorded nights in a row is escalated to the head
    /// of PDU, acknowledged or not.
    #[serde(default = "default_escalate")]
    pub escalate_after_nights: u32,
}

fn default_margin() -> f64 {
    0.02
}
fn default_escalate() -> u32 {
    3
}

impl Default for Lifecycle {
    fn default() -> Lifecycle {
        Lifecycle {
            reopen_rate_margin: default_margin(),
            escalate_after_nights: default_escalate(),
        }
    }
}

/// Whether a metric is a rate or share (a fraction) rather than a count or a number of days.
/// Whether a larger value of the metric is better (a share of checks done): such a metric
/// worsens as it falls.
pub fn higher_is_better(name: &str) -> bool {
    name.ends_with("_made_share")
        || name.ends_with("_on_time_share")
        || name.starts_with("releases_with_")
}

pub fn is_rate(name: &str) -> bool {
    name.ends_with("_rate") || name.ends_with("_share") || name == "vacancy_above_region"
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct RulesError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    lifecycle: Option<Spanned<Lifecycle>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    title: Option<String>,
    severity: Spanned<String>,
    scope: Spanned<String>,
    status: Option<Spanned<String>>,
    message: String,
    #[serde(default)]
    enabled: Option<bool>,
    all: Option<Vec<Spanned<RawCond>>>,
    any: Option<Vec<Spanned<RawCond>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCond {
    metric: Option<Spanned<String>>,
    op: Option<Spanned<String>>,
    value: Option<Spanned<toml::Value>>,
    all: Option<Vec<Spanned<RawCond>>>,
    any: Option<Vec<Spanned<RawCond>>>,
}

struct Parser<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, at: usize, message: String) -> RulesError {
        let (line, column) = line_col(self.text, at);
        RulesError {
            path: self.path.to_path_buf(),
            line,
            column,
            message,
        }
    }

    fn conds(
        &self,
        scope: Scope,
        list: Vec<Spanned<RawCond>>,
        at: usize,
    ) -> Result<Vec<Cond>, RulesError> {
        if list.is_empty() {
            return Err(self.err(at, "an empty all/any list".into()));
        }
        list.into_iter().map(|c| self.cond(scope, c)).collect()
    }

    fn cond(&self, scope: Scope, c: Spanned<RawCond>) -> Result<Cond, RulesError> {
        let at = c.span().start;
        let c = c.into_inner();
        match (c.metric, c.all, c.any) {
            (Some(metric), None, None) => {
                let name = scope.metric(metric.get_ref()).ok_or_else(|| {
                    self.err(
                        metric.span().start,
                        format!(
                            "unknown metric '{}' for a {} rule; known: {}",
                            sanitize(metric.get_ref()),
                            scope.as_str(),
                            scope.metrics().join(", ")
                        ),
                    )
                })?;
                let op =
                    c.op.ok_or_else(|| self.err(at, format!("the test of {name} has no op")))?;
                let op_v = Op::parse(op.get_ref()).ok_or_else(|| {
                    self.err(
                        op.span().start,
                        format!("unknown op '{}'; use > >= < <= ==", sanitize(op.get_ref())),
                    )
                })?;
                let value = c
                    .value
                    .ok_or_else(|| self.err(at, format!("the test of {name} has no value")))?;
                let v = match value.get_ref() {
                    toml::Value::Integer(i) => *i as f64,
                    toml::Value::Float(f) if f.is_finite() => *f,
                    other => {
                        return Err(self.err(
                            value.span().start,
                            format!(
                                "bad threshold for {name}: expected a number, got {}",
                                sanitize(&other.to_string())
                            ),
                        ));
                    }
                };
                Ok(Cond::Test {
                    metric: name,
                    index: scope.metric_index(name).unwrap_or(0),
                    op: op_v,
                    value: v,
                })
            }
            (None, Some(all), None) => Ok(Cond::All(self.conds(scope, all, at)?)),
            (None, None, Some(any)) => Ok(Cond::Any(self.conds(scope, any, at)?)),
            _ => Err(self.err(
                at,
                "a test needs exactly one of: metric (with op and value), all, any".into(),
            )),
        }
    }

    fn parse(&self) -> Result<(Vec<Rule>, Option<Lifecycle>), RulesError> {
        let raw: RawFile = toml::from_str(self.text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            self.err(at, sanitize(e.message()).into_owned())
        })?;
        let lifecycle = raw.lifecycle.map(|l| self.lifecycle(l)).transpose()?;
        let mut seen: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        for r in raw.rule {
            out.push(self.rule(r, &mut seen)?);
        }
        Ok((out, lifecycle))
    }

    fn lifecycle(&self, l: Spanned<Lifecycle>) -> Result<Lifecycle, RulesError> {
        let at = l.span().start;
        let l = l.into_inner();
        if !(l.reopen_rate_margin.is_finite() && (0.0..=1.0).contains(&l.reopen_rate_margin)) {
            return Err(self.err(
                at,
                "lifecycle.reopen_rate_margin must be a fraction from 0 to 1 (0.02 = 2 points)"
                    .into(),
            ));
        }
        if l.escalate_after_nights == 0 {
            return Err(self.err(
                at,
                "lifecycle.escalate_after_nights must be at least 1".into(),
            ));
        }
        Ok(l)
    }

    /// One rule, checked: its id (unique), severity, scope, status, tests and message.
    fn rule(&self, r: Spanned<RawRule>, seen: &mut HashSet<String>) -> Result<Rule, RulesError> {
        let at = r.span().start;
        let r = r.into_inner();
        let id = r.id.get_ref().trim().to_string();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(self.err(
                r.id.span().start,
                format!(
                    "rule id '{}' must be letters, digits, '-' or '_'",
                    sanitize(&id)
                ),
            ));
        }
        if !seen.insert(id.clone()) {
            return Err(self.err(r.id.span().start, format!("duplicate rule id '{id}'")));
        }
        let severity = Severity::parse(r.severity.get_ref()).ok_or_else(|| {
            self.err(
                r.severity.span().start,
                format!(
                    "unknown severity '{}'; use critical, high or warning",
                    sanitize(r.severity.get_ref())
                ),
            )
        })?;
        let scope = Scope::parse(r.scope.get_ref()).ok_or_else(|| {
            self.err(
                r.scope.span().start,
                format!(
                    "unknown scope '{}'; use case, practitioner or pdu",
                    sanitize(r.scope.get_ref())
                ),
            )
        })?;
        let status = self.status(r.status, scope, &id)?;
        let cond = match (r.all, r.any) {
            (Some(all), None) => Cond::All(self.conds(scope, all, at)?),
            (None, Some(any)) => Cond::Any(self.conds(scope, any, at)?),
            _ => {
                return Err(self.err(
                    at,
                    format!("rule '{id}' needs exactly one of `all` or `any`"),
                ));
            }
        };
        // Placeholders must name metrics of the scope, so a typo shows now, not at 3 a.m.
        for name in placeholders(&r.message) {
            if scope.metric(name).is_none() {
                return Err(self.err(
                    at,
                    format!(
                        "rule '{id}': message placeholder {{{}}} is not a {} metric",
                        sanitize(name),
                        scope.as_str()
                    ),
                ));
            }
        }
        let title = r
            .title
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        Ok(Rule {
            title: title.unwrap_or_else(|| id.clone()),
            id,
            severity,
            status,
            scope,
            message: r.message,
            enabled: r.enabled.unwrap_or(true),
            cond,
        })
    }

    /// The status a PDU rule puts its PDU at, if it says one; only PDU rules may.
    fn status(
        &self,
        status: Option<Spanned<String>>,
        scope: Scope,
        id: &str,
    ) -> Result<Option<Level>, RulesError> {
        match status {
            None => Ok(None),
            Some(st) if scope == Scope::Pdu => Level::parse(st.get_ref())
                .filter(|l| *l != Level::Ok)
                .map(Some)
                .ok_or_else(|| {
                    self.err(
                        st.span().start,
                        format!(
                            "unknown status '{}'; use organisational-alert, critical or warning",
                            sanitize(st.get_ref())
                        ),
                    )
                }),
            Some(st) => Err(self.err(
                st.span().start,
                format!("rule '{id}': only a pdu rule can set a PDU's status"),
            )),
        }
    }
}

fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
}

impl Rules {
    /// Parses one rules file's text.
    pub fn parse(path: &Path, text: &str) -> Result<Vec<Rule>, RulesError> {
        Parser { path, text }.parse().map(|(rules, _)| rules)
    }

    /// The shipped defaults, overridden and extended by the user's file if given.
    pub fn load(user: Option<&Path>) -> Result<Rules, RulesError> {
        let (mut rules, lifecycle) = Parser {
            path: Path::new("assets/rules.toml"),
            text: DEFAULT_RULES,
        }
        .parse()?;
        let mut lifecycle = lifecycle.unwrap_or_default();
        if let Some(path) = user {
            let text = std::fs::read_to_string(path).map_err(|e| RulesError {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!("cannot read: {e}"),
            })?;
            let (user_rules, user_lifecycle) = Parser { path, text: &text }.parse()?;
            for r in user_rules {
                match rules.iter_mut().find(|d| d.id == r.id) {
                    Some(d) => *d = r,
                    None => rules.push(r),
                }
            }
            if let Some(l) = user_lifecycle {
                lifecycle = l;
            }
        }
        Ok(Rules { rules, lifecycle })
    }

    pub fn defaults() -> Rules {
        // The embedded file is checked by a unit test.
        Rules::load(None).unwrap_or_else(|e| panic!("embedded rules.toml is invalid: {e}"))
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Whether the rule `id` holds for these metrics (of its scope).
    pub fn holds<'a>(&self, id: &str, metrics: impl IntoIterator<Item = (&'a str, f64)>) -> bool {
        self.rule(id)
            .is_some_and(|r| r.enabled && r.cond.holds(&SubjectMetrics::of(r.scope, metrics)))
    }

    /// A PDU's status from the PDU-scope alerts it has now (`(rule, message)` pairs): the
    /// worst level any of their rules sets, and the messages of the rules at that level, in
    /// words. Case and practitioner alerts never move it: they are the worklist.
    pub fn pdu_status<'a>(
        &self,
        fired: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (Level, Vec<String>) {
        let mut level = Level::Ok;
        let mut reasons: Vec<(Level, String)> = Vec::new();
        for (rule, message) in fired {
            let Some(l) = self.rule(rule).and_then(|r| r.status) else {
                continue;
            };
            level = level.max(l);
            reasons.push((l, message.to_string()));
        }
        // Worst first; the lesser reasons still say what else is wrong.
        reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
        (level, reasons.into_iter().map(|(_, m)| m).collect())
    }
}

/// Something rules are evaluated for: a case, a practitioner or a PDU, with its metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    pub scope: Scope,
    pub pdu: String,
    pub crn: Option<compact_str::CompactString>,
    pub staff_code: Option<String>,
    pub metrics: SubjectMetrics,
}

/// The most metrics any scope has.
const MAX_METRICS: usize = 28;

/// A subject's metric values, by their place in its scope's list ([`Scope::metrics`]); a
/// metric not given is absent (NaN inside, which no test holds for). Inline, not a map: a
/// national run holds a hundred and seventy thousand subjects.
#[derive(Debug, Clone)]
pub struct SubjectMetrics {
    names: &'static [&'static str],
    values: [f64; MAX_METRICS],
}

impl SubjectMetrics {
    /// The metrics given, as an alert carries them.
    pub fn to_metrics(&self) -> Metrics {
        let mut m: Vec<(&'static str, f64)> = self
            .names
            .iter()
            .zip(&self.values)
            .filter(|(_, v)| !v.is_nan())
            .map(|(k, v)| (*k, *v))
            .collect();
        m.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Metrics(m)
    }
    /// The given metrics of `scope`; names the scope does not have are ignored.
    pub fn of<'a>(scope: Scope, given: impl IntoIterator<Item = (&'a str, f64)>) -> SubjectMetrics {
        let mut m = SubjectMetrics {
            names: scope.metrics(),
            values: [f64::NAN; MAX_METRICS],
        };
        // Metrics are mostly given in the scope's order: each name is first tried at the
        // place after the last one's, so that a case's fifteen cost fifteen comparisons
        // rather than a search each (a national night makes a million cases' metrics).
        let mut next = 0;
        for (name, v) in given {
            let at = match m.names.get(next) {
                Some(n) if *n == name => Some(next),
                _ => scope.metric_index(name),
            };
            if let Some(i) = at {
                m.values[i] = v;
                next = i + 1;
            }
        }
        m
    }
    fn at(&self, index: usize) -> Option<f64> {
        self.values.get(index).copied().filter(|v| !v.is_nan())
    }
    pub fn get(&self, name: &str) -> Option<f64> {
        self.at(self.names.iter().position(|n| *n == name)?)
    }
    /// The name as the scope spells it (static), with its value.
    #[cfg(test)]
    fn get_key_value(&self, name: &str) -> Option<(&'static str, f64)> {
        let i = self.names.iter().position(|n| *n == name)?;
        Some((self.names[i], self.at(i)?))
    }
}

impl PartialEq for SubjectMetrics {
    fn eq(&self, other: &SubjectMetrics) -> bool {
        self.names == other.names
            && self
                .values
                .iter()
                .zip(&other.values)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

/// Metric values by name, as an alert carries them: a short list kept sorted by name (a map
/// node for every alert cost a national run 48 MB), written as a JSON object. Names are the
/// scopes' own static names, so an entry is a pointer and a value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metrics(Vec<(&'static str, f64)>);

impl Metrics {
    pub fn get(&self, name: &str) -> Option<&f64> {
        self.0
            .binary_search_by(|(k, _)| (*k).cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// Sets a value, replacing the one of the same name.
    pub fn insert(&mut self, name: &str, value: f64) {
        match self.0.binary_search_by(|(k, _)| (*k).cmp(name)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (static_name(name), value)),
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &f64)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The static copy of a metric's name: a scope's own, or one kept for the process (names
/// read back from a recorded run or a file that no scope knows; there are few of them).
fn static_name(name: &str) -> &'static str {
    for scope in [Scope::Case, Scope::Practitioner, Scope::Pdu] {
        if let Some(m) = scope.metric(name) {
            return m;
        }
    }
    if let Some(m) = ["count"].into_iter().find(|m| *m == name) {
        return m;
    }
    static OTHERS: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut others = OTHERS.lock().unwrap_or_else(|e| e.into_inner());
    match others.get(name) {
        Some(m) => m,
        None => {
            let m: &'static str = Box::leak(name.into());
            others.insert(m);
            m
        }
    }
}

impl<K: AsRef<str>> FromIterator<(K, f64)> for Metrics {
    fn from_iter<I: IntoIterator<Item = (K, f64)>>(iter: I) -> Metrics {
        let mut m = Metrics::default();
        for (k, v) in iter {
            m.insert(k.as_ref(), v);
        }
        m
    }
}

impl Serialize for Metrics {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Metrics {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Metrics, D::Error> {
        let map = BTreeMap::<String, f64>::deserialize(d)?;
        Ok(Metrics(
            map.into_iter().map(|(k, v)| (static_name(&k), v)).collect(),
        ))
    }
}

/// An alert's message. A run's alerts keep their rule's template and are filled from their
/// own metrics when shown or written (a national run has hundreds of thousands, and a
/// rendered copy each cost it about 40 MB); a message read back from a recorded run or the
/// cache is kept as written.
#[derive(Debug, Clone)]
pub enum Message {
    Template(Arc<str>),
    Text(Box<str>),
}

impl Message {
    /// The message, filled from `metrics` when it is a template.
    pub fn render<'a>(&'a self, metrics: &Metrics) -> Cow<'a, str> {
        match self {
            Message::Template(_) => Cow::Owned(self.with(metrics).to_string()),
            Message::Text(t) => Cow::Borrowed(t),
        }
    }
    /// The message with `metrics`, to be written (to JSON or a terminal) without a copy.
    pub fn with<'a>(&'a self, metrics: &'a Metrics) -> Rendered<'a> {
        Rendered(self, metrics)
    }
}

/// See [`Message::with`]: shown as text, and written to JSON as a string.
#[derive(Clone, Copy)]
pub struct Rendered<'a>(&'a Message, &'a Metrics);

impl std::fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Message::Template(t) => render_into(f, t, |name| {
                let m = &self.1.0;
                m.iter().find(|(k, _)| *k == name).map(|(k, v)| (*k, *v))
            }),
            Message::Text(t) => f.write_str(t),
        }
    }
}

impl Serialize for Rendered<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl From<String> for Message {
    fn from(s: String) -> Message {
        Message::Text(s.into())
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Message {
        Message::Text(s.into())
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Message, D::Error> {
        Ok(Message::Text(Box::<str>::deserialize(d)?))
    }
}

/// An alert's key, stable across runs: `rule:pdu:who`, where who is the CRN, the staff code
/// or `-` (see [`Alert::key`]). Written without a copy.
#[derive(Clone, Copy)]
pub struct Key<'a> {
    pub rule: &'a str,
    pub pdu: &'a str,
    pub who: &'a str,
}

impl std::fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.rule, self.pdu, self.who)
    }
}

impl Serialize for Key<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Who an alert is about in its key: the CRN, the staff code, or `-` for a PDU.
pub fn who<'a>(crn: Option<&'a str>, staff_code: Option<&'a str>) -> &'a str {
    crn.or(staff_code).unwrap_or("-")
}

/// A rule that holds for a subject. Its key is made from its rule, PDU and who, not held
/// (a national night has hundreds of thousands: a copy each cost it 25 MB).
#[derive(Debug, Clone, Deserialize)]
pub struct Alert {
    /// Shared by all of the rule's alerts (a national run has hundreds of thousands).
    pub rule: Arc<str>,
    pub severity: Severity,
    pub scope: Scope,
    /// Shared by all of the PDU's alerts of a run.
    pub pdu: Arc<str>,
    /// Held inline (a CRN is a few bytes): no allocation for each of a night's alerts.
    pub crn: Option<compact_str::CompactString>,
    pub staff_code: Option<String>,
    /// See [`Alert::message`].
    #[serde(rename = "message")]
    pub text: Message,
    /// The values of the metrics the rule tested and its message names.
    pub metrics: Metrics,
}

impl Alert {
    /// What the alert says, in words.
    pub fn message(&self) -> Cow<'_, str> {
        self.text.render(&self.metrics)
    }
    /// Stable across runs: `rule:pdu:crn-or-staff-code` (see [`Key`]).
    pub fn key(&self) -> String {
        self.key_parts().to_string()
    }
    pub fn key_parts(&self) -> Key<'_> {
        Key {
            rule: &self.rule,
            pdu: &self.pdu,
            who: who(self.crn.as_deref(), self.staff_code.as_deref()),
        }
    }
}

/// Alerts are equal when they say the same, however their messages are held.
impl PartialEq for Alert {
    fn eq(&self, o: &Alert) -> bool {
        self.rule == o.rule
            && self.severity == o.severity
            && self.scope == o.scope
            && self.pdu == o.pdu
            && self.crn == o.crn
            && self.staff_code == o.staff_code
            && self.metrics == o.metrics
            && self.message() == o.message()
    }
}

impl Serialize for Alert {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Alert", 9)?;
        st.serialize_field("key", &self.key_parts())?;
        st.serialize_field("rule", &self.rule)?;
        st.serialize_field("severity", &self.severity)?;
        st.serialize_field("scope", &self.scope)?;
        st.serialize_field("pdu", &self.pdu)?;
        st.serialize_field("crn", &self.crn)?;
        st.serialize_field("staff_code", &self.staff_code)?;
        st.serialize_field("message", &self.text.with(&self.metrics))?;
        st.serialize_field("metrics", &self.metrics)?;
        st.end()
    }
}

/// Formats a metric for a message: rates and shares as percentages, counts as integers.
pub fn format_metric(name: &str, v: f64) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_metric(&mut out, name, v);
    out
}

fn write_metric(w: &mut impl std::fmt::Write, name: &str, v: f64) -> std::fmt::Result {
    if is_rate(name) {
        let pct = v * 100.0;
        match whole(pct.round()).filter(|_| (pct.fract().abs() - 0.5).abs() > 1e-9) {
            // Rounded as `{:.0}` would (which takes a half to even), as an integer: a
            // national run writes hundreds of thousands of these.
            Some(n) if n != 0 || pct.is_sign_positive() => write!(w, "{n}%"),
            _ => write!(w, "{pct:.0}%"),
        }
    } else if v.fract() == 0.0 {
        match whole(v) {
            Some(n) if n != 0 || v.is_sign_positive() => write!(w, "{n}"),
            _ => write!(w, "{v:.0}"),
        }
    } else {
        write!(w, "{v:.1}")
    }
}

/// `v` as an integer when it is a whole number an `i64` holds exactly.
fn whole(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64)
}

/// Fills `{metric}` placeholders in one pass (the nightly run renders one message per alert,
/// a hundred thousand at national scale); unknown names stay as written.
#[cfg(test)]
fn render(template: &str, m: &SubjectMetrics) -> String {
    let mut out = String::new();
    let _ = render_into(&mut out, template, |name| m.get_key_value(name));
    out
}

/// [`render`] into `w`, with the metric looked up by `value` (its static name and value,
/// `None` when it has none).
fn render_into(
    w: &mut impl std::fmt::Write,
    template: &str,
    value: impl Fn(&str) -> Option<(&'static str, f64)>,
) -> std::fmt::Result {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        w.write_str(&rest[..open])?;
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match value(name) {
                    Some((k, v)) => write_metric(w, k, v)?,
                    None => w.write_str(&rest[open..open + close + 2])?,
                }
                rest = &after[close + 1..];
            }
            None => {
                w.write_str(&rest[open..])?;
                rest = "";
            }
        }
    }
    w.write_str(rest)
}

/// Evaluates every enabled rule against every subject of its scope. Pure and deterministic:
/// alerts come sorted by severity (critical first), PDU, rule and key.
pub fn evaluate(subjects: &[Subject], rules: &Rules) -> Vec<Alert> {
    let mut out = evaluate_unsorted(subjects, rules);
    sort_alerts(&mut out);
    out
}

/// [`evaluate`] without the final order: for evaluating in parts, sorted once at the end with
/// [`sort_alerts`].
pub fn evaluate_unsorted(subjects: &[Subject], rules: &Rules) -> Vec<Alert> {
    // A national run has over a hundred thousand subjects: halve them across the two cores.
    // The sort makes the result the same either way.
    if subjects.len() >= 20_000 {
        let (a, b) = subjects.split_at(subjects.len() / 2);
        std::thread::scope(|s| {
            let other = s.spawn(|| fire(b, rules));
            let mut out = fire(a, rules);
            match other.join() {
                Ok(more) => out.extend(more),
                Err(_) => out.extend(fire(b, rules)),
            }
            out
        })
    } else {
        fire(subjects, rules)
    }
}

/// Critical first; within a severity the organisational alert, then PDU-wide alerts, then
/// practitioners, then cases; then PDU, rule and key. A key raised twice is kept once.
pub fn sort_alerts(out: &mut Vec<Alert>) {
    let order = sorted_order(out);
    permute(out, order);
    out.dedup_by(|a, b| same_key(a.key_parts(), b.key_parts()));
}

fn same_key(a: Key<'_>, b: Key<'_>) -> bool {
    (a.rule, a.pdu, a.who) == (b.rule, b.pdu, b.who)
}

/// The order [`sort_alerts`] puts `alerts` in, as indexes. Each alert's place is packed into
/// two integers first (its severity, kind, PDU and rule by rank, and the first eight bytes
/// of who it is about, which is what follows them in its key), so that the sort compares
/// integers and reads who in full only on a tie: a national night sorts hundreds of
/// thousands of alerts, whose strings lie all over the heap. Ties keep the alerts' given
/// order, as a stable sort would.
fn sorted_order(alerts: &[Alert]) -> Vec<usize> {
    /// Each distinct name's place in name order, and a look-up that remembers the last
    /// name asked for: a run's alerts come a PDU and a rule at a time, sharing one copy.
    fn ranks<'a>(names: impl Iterator<Item = &'a str>) -> impl FnMut(&str) -> u64 {
        let mut distinct = rustc_hash::FxHashSet::default();
        let mut last: Option<&str> = None;
        for n in names {
            if last.is_none_or(|l| !std::ptr::eq(l, n)) {
                distinct.insert(n);
                last = Some(n);
            }
        }
        let mut all: Vec<&str> = distinct.into_iter().collect();
        all.sort_unstable();
        let ranks: rustc_hash::FxHashMap<&str, u64> = all.into_iter().zip(0..).collect();
        let mut last: (*const str, u64) = ("", 0);
        move |n: &str| {
            if !std::ptr::eq(last.0, n) {
                last = (n, ranks.get(n).copied().unwrap_or(0));
            }
            last.1
        }
    }
    let mut pdu_rank = ranks(alerts.iter().map(|a| &*a.pdu));
    let mut rule_rank = ranks(alerts.iter().map(|a| &*a.rule));
    let mut packed: Vec<(u64, u64, usize)> = alerts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let severity = 2 - a.severity as u64;
            let organisational = u64::from(&*a.rule != ORGANISATIONAL);
            let scope = 2 - a.scope as u64;
            // Fewer than 2^24 PDUs and rules: the ranks fit beside the rest.
            let group = severity << 56
                | organisational << 54
                | scope << 52
                | (pdu_rank(&a.pdu) & 0xFF_FFFF) << 24
                | (rule_rank(&a.rule) & 0xFF_FFFF);
            let mut eight = [0u8; 8];
            let who = a.key_parts().who.as_bytes();
            let n = who.len().min(8);
            eight[..n].copy_from_slice(&who[..n]);
            (group, u64::from_be_bytes(eight), i)
        })
        .collect();
    packed.sort_unstable_by(|x, y| {
        (x.0, x.1)
            .cmp(&(y.0, y.1))
            .then_with(|| {
                let (a, b) = (alerts[x.2].key_parts(), alerts[y.2].key_parts());
                (a.rule, a.pdu, a.who).cmp(&(b.rule, b.pdu, b.who))
            })
            .then(x.2.cmp(&y.2))
    });
    packed.into_iter().map(|(_, _, i)| i).collect()
}

/// Puts `items` in `order` (the index of the item for each place) by swaps, in place: a
/// second list of a national night's alerts would cost tens of megabytes.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    const DONE: usize = usize::MAX;
    for start in 0..order.len() {
        let mut place = start;
        loop {
            let from = std::mem::replace(&mut order[place], DONE);
            if from == DONE || from == start {
                break;
            }
            items.swap(place, from);
            place = from;
        }
    }
}

impl Rules {
    /// Whether any enabled rule of `scope` holds for these metrics (no alert is made).
    pub fn any_holds(&self, scope: Scope, metrics: &SubjectMetrics) -> bool {
        self.rules
            .iter()
            .any(|r| r.enabled && r.scope == scope && r.cond.holds(metrics))
    }
}

/// The alerts every enabled rule raises for these subjects, unsorted.
fn fire(subjects: &[Subject], rules: &Rules) -> Vec<Alert> {
    let mut out = Vec::new();
    // One copy of each PDU's code for all its alerts.
    let mut pdus: std::collections::HashMap<&str, Arc<str>> = Default::default();
    for rule in rules.rules.iter().filter(|r| r.enabled) {
        let id: Arc<str> = rule.id.as_str().into();
        let template: Arc<str> = rule.message.as_str().into();
        let mut names = Vec::new();
        rule.cond.metrics(&mut names);
        names.extend(placeholders(&rule.message).filter_map(|p| rule.scope.metric(p)));
        // In the order `Metrics` keeps, so that each alert's list is built by pushing.
        names.sort_unstable();
        names.dedup();
        for s in subjects.iter().filter(|s| s.scope == rule.scope) {
            if !rule.cond.holds(&s.metrics) {
                continue;
            }
            out.push(Alert {
                rule: id.clone(),
                severity: rule.severity,
                scope: rule.scope,
                pdu: pdus
                    .entry(s.pdu.as_str())
                    .or_insert_with(|| s.pdu.as_str().into())
                    .clone(),
                crn: s.crn.clone(),
                staff_code: s.staff_code.clone(),
                text: Message::Template(template.clone()),
                metrics: Metrics({
                    let mut m = Vec::with_capacity(names.len());
                    m.extend(
                        names
                            .iter()
                            .filter_map(|n| s.metrics.get(n).map(|v| (*n, v))),
                    );
                    m
                }),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order `sort_alerts` documents, compared field by field, keys as text.
    fn sorted_by_fields(mut v: Vec<Alert>) -> Vec<Alert> {
        v.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| (&*a.rule != ORGANISATIONAL).cmp(&(&*b.rule != ORGANISATIONAL)))
                .then_with(|| b.scope.cmp(&a.scope))
                .then_with(|| a.pdu.cmp(&b.pdu))
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.key().cmp(&b.key()))
        });
        v.dedup_by(|a, b| a.key() == b.key());
        v
    }

    #[test]
    fn alerts_sort_as_their_fields_and_keys_say() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let rules = [
            ORGANISATIONAL,
            "unallocated-case",
            "unallocated",
            "enquiry-overdue",
        ];
        let pdus = ["HFKCW", "BDH", "B", "HFK"];
        let whos = [
            Some("X1"),
            Some("X10"),
            Some("X100000000"),
            Some("X100000001"),
            Some("X1000000010"),
            Some(""),
            Some("N07A"),
            None,
        ];
        let alerts: Vec<Alert> = (0..800)
            .map(|i| {
                let who = whos[next(8) as usize];
                let staff = next(2) == 0;
                Alert {
                    rule: rules[next(4) as usize].into(),
                    severity: [Severity::Warning, Severity::High, Severity::Critical]
                        [next(3) as usize],
                    scope: [Scope::Case, Scope::Practitioner, Scope::Pdu][next(3) as usize],
                    pdu: pdus[next(4) as usize].into(),
                    crn: who.filter(|_| !staff).map(Into::into),
                    staff_code: who.filter(|_| staff).map(String::from),
                    text: Message::from(format!("alert {i}")),
                    metrics: Metrics::default(),
                }
            })
            .collect();
        let mut sorted = alerts.clone();
        sort_alerts(&mut sorted);
        let expected = sorted_by_fields(alerts);
        assert!(expected.len() < 800, "some keys are raised twice");
        let texts = |v: &[Alert]| {
            v.iter()
                .map(|a| a.message().into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(texts(&sorted), texts(&expected));
    }

    #[test]
    fn metrics_given_in_any_order_land_in_their_places() {
        let names = Scope::Case.metrics();
        let given: Vec<(&str, f64)> = names
            .iter()
            .zip(1..)
            .map(|(n, v)| (*n, f64::from(v)))
            .collect();
        let in_order = SubjectMetrics::of(Scope::Case, given.iter().copied());
        let backwards = SubjectMetrics::of(Scope::Case, given.iter().rev().copied());
        let shuffled = SubjectMetrics::of(
            Scope::Case,
            given
                .iter()
                .step_by(2)
                .chain(given.iter().skip(1).step_by(2))
                .copied(),
        );
        for (n, v) in &given {
            assert_eq!(in_order.get(n), Some(*v), "{n}");
        }
        assert_eq!(in_order, backwards);
        assert_eq!(in_order, shuffled);
        let some = SubjectMetrics::of(
            Scope::Case,
            [("no_such", 9.0), (names[3], 4.0), (names[1], 2.0)],
        );
        assert_eq!(
            (some.get(names[1]), some.get(names[3]), some.get(names[2])),
            (Some(2.0), Some(4.0), None)
        );
    }

    #[test]
    fn a_permutation_puts_each_item_in_its_place() {
        let mut items = vec!['a', 'b', 'c', 'd', 'e', 'f'];
        permute(&mut items, vec![3, 0, 1, 2, 5, 4]);
        assert_eq!(items, vec!['d', 'a', 'b', 'c', 'f', 'e']);
    }

    fn subject(scope: Scope, pdu: &str, crn: Option<&str>, m: &[(&'static str, f64)]) -> Subject {
        Subject {
            scope,
            pdu: pdu.into(),
            crn: crn.map(Into::into),
            staff_code: None,
            metrics: SubjectMetrics::of(scope, m.iter().copied()),
        }
    }

    fn case(m: &[(&'static str, f64)]) -> Vec<Alert> {
        let mut all: Vec<(&'static str, f64)> =
            Scope::Case.metrics().iter().map(|k| (*k, 0.0)).collect();
        for (k, v) in m {
            all.retain(|(n, _)| n != k);
            all.push((k, *v));
        }
        evaluate(
            &[subject(Scope::Case, "P", Some("X000001"), &all)],
            &Rules::defaults(),
        )
    }

    #[test]
    fn a_large_evaluation_split_across_threads_gives_the_same_alerts() {
        let subjects: Vec<Subject> = (0..30_000u32)
            .map(|i| {
                let mut m: Vec<(&'static str, f64)> =
                    Scope::Case.metrics().iter().map(|k| (*k, 0.0)).collect();
                for (k, v) in m.iter_mut() {
                    *v = f64::from((i.wrapping_mul(2_654_435_761) >> (k.len() % 13)) % 9);
                }
                let crn = format!("X{i:06}");
                subject(
                    Scope::Case,
                    ["P1", "P2", "P3"][(i % 3) as usize],
                    Some(&crn),
                    &m,
                )
            })
            .collect();
        let rules = Rules::defaults();
        let together = evaluate(&subjects, &rules);
        assert!(together.len() > 1000);
        // Each half alone stays under the threshold, so runs on one thread.
        let (a, b) = subjects.split_at(15_000);
        let mut apart = evaluate(a, &rules);
        apart.extend(evaluate(b, &rules));
        sort_alerts(&mut apart);
        assert_eq!(together, apart);
    }

    #[test]
    fn metrics_are_written_as_the_standard_formatting_writes_them() {
        let mut values = vec![
            0.0, -0.0, 0.005, 0.125, 0.135, 0.245, 0.5, 1.0, 2.5, -0.003, 1e17,
        ];
        values.extend((0..2000).map(|i| f64::from(i) / 1000.0));
        values.extend((0..2000).map(|i| f64::from(i) * 7.0 - 3000.0));
        for v in values {
            assert_eq!(
                format_metric("vacancy_rate", v),
                format!("{:.0}%", v * 100.0),
                "{v}"
            );
            let slow = if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            };
            assert_eq!(format_metric("unallocated", v), slow, "{v}");
        }
    }

    #[test]
    fn messages_fill_known_placeholders_and_keep_the_rest_as_written() {
        let m = SubjectMetrics::of(Scope::Pdu, [("unallocated", 58.0), ("vacancy_rate", 0.43)]);
        assert_eq!(
            render(
                "{unallocated} cases, vacancy {vacancy_rate}{unallocated}",
                &m
            ),
            "58 cases, vacancy 43%58"
        );
        assert_eq!(
            render("{nope} and {unallocated", &m),
            "{nope} and {unallocated"
        );
        assert_eq!(render("}{}{", &m), "}{}{");
        assert_eq!(render("", &m), "");
    }

    fn rules_fired(a: &[Alert]) -> Vec<&str> {
        a.iter().map(|a| a.rule.as_ref()).collect()
    }

    #[test]
    fn every_scope_fits_the_inline_metric_values() {
        for scope in [Scope::Case, Scope::Practitioner, Scope::Pdu] {
            assert!(scope.metrics().len() <= MAX_METRICS, "{scope:?}");
            // Every metric round-trips, and one not given is absent.
            let m = SubjectMetrics::of(
                scope,
                scope
                    .metrics()
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (*n, i as f64)),
            );
            for (i, n) in scope.metrics().iter().enumerate() {
                assert_eq!(m.get(n), Some(i as f64));
            }
            assert_eq!(SubjectMetrics::of(scope, []).get(scope.metrics()[0]), None);
            assert_eq!(m.get("no_such_metric"), None);
        }
    }

    #[test]
    fn the_embedded_rules_parse() {
        let r = Rules::defaults();
        assert_eq!(r.rules.len(), 23);
        assert_eq!(
            r.rule("organisational-alert").unwrap().status,
            Some(Level::OrganisationalAlert)
        );
        assert_eq!(
            r.rule("unallocated-mappa").unwrap().title,
            "unallocated MAPPA cases"
        );
        assert_eq!(r.lifecycle, Lifecycle::default());
        // Every PDU rule places the PDU on the ladder; no other scope may.
        for rule in &r.rules {
            assert_eq!(
                rule.status.is_some(),
                rule.scope == Scope::Pdu,
                "{}",
                rule.id
            );
        }
    }

    #[test]
    fn unallocated_mappa_case_raises_critical_alert() {
        let a = case(&[
            ("unallocated", 1.0),
            ("mappa_category", 2.0),
            ("mappa_level", 1.0),
        ]);
        assert_eq!(rules_fired(&a), ["unallocated-mappa"]);
        assert_eq!(a[0].severity, Severity::Critical);
        assert_eq!(a[0].key(), "unallocated-mappa:P:X000001");
        assert!(a[0].message().contains("category 2"));
    }

    #[test]
    fn unallocated_high_rosh_case_is_critical_only_after_two_days() {
        assert!(
            case(&[
                ("unallocated", 1.0),
                ("rosh_level", 3.0),
                ("days_unallocated", 2.0)
            ])
            .is_empty()
        );
        let a = case(&[
            ("unallocated", 1.0),
            ("rosh_level", 4.0),
            ("days_unallocated", 3.0),
        ]);
        assert_eq!(rules_fired(&a), ["unallocated-high-rosh"]);
    }

    #[test]
    fn overdue_contact_on_a_high_risk_or_mappa_level_two_case_is_critical() {
        let a = case(&[("contact_overdue_days", 4.0), ("rosh_level", 3.0)]);
        assert_eq!(rules_fired(&a), ["high-risk-contact-overdue"]);
        let a = case(&[
            ("contact_overdue_days", 4.0),
            ("rosh_level", 1.0),
            ("multi_agency", 1.0),
        ]);
        assert_eq!(rules_fired(&a), ["high-risk-contact-overdue"]);
        assert!(case(&[("contact_overdue_days", 4.0), ("rosh_level", 2.0)]).is_empty());
    }

    #[test]
    fn a_case_with_no_rosh_assessment_is_high() {
        let a = case(&[("no_rosh", 1.0)]);
        assert_eq!(rules_fired(&a), ["no-rosh-assessment"]);
        assert_eq!(a[0].severity, Severity::High);
    }

    #[test]
    fn overdue_oversight_on_a_high_risk_case_is_high() {
        let a = case(&[("oversight_overdue_days", 10.0), ("high_risk", 1.0)]);
        assert_eq!(rules_fired(&a), ["high-risk-oversight-overdue"]);
        assert!(case(&[("oversight_overdue_days", 10.0)]).is_empty());
    }

    fn pdu(m: &[(&'static str, f64)]) -> Vec<Alert> {
        let mut all: Vec<(&'static str, f64)> =
            Scope::Pdu.metrics().iter().map(|k| (*k, 0.0)).collect();
        for (k, v) in m {
            all.retain(|(n, _)| n != k);
            all.push((k, *v));
        }
        evaluate(&[subject(Scope::Pdu, "P", None, &all)], &Rules::defaults())
    }

    #[test]
    fn pdu_unallocated_share_above_two_percent_warns() {
        assert_eq!(
            rules_fired(&pdu(&[("unallocated_share", 0.021)])),
            ["pdu-unallocated-share"]
        );
        assert!(pdu(&[("unallocated_share", 0.02)]).is_empty());
    }

    fn status_of(m: &[(&'static str, f64)]) -> (Level, Vec<String>) {
        let fired = pdu(m);
        let messages: Vec<_> = fired.iter().map(|a| a.message()).collect();
        Rules::defaults().pdu_status(
            fired
                .iter()
                .zip(&messages)
                .map(|(a, m)| (a.rule.as_ref(), m.as_ref())),
        )
    }

    #[test]
    fn the_ladder_takes_the_worst_pdu_rule_and_says_why_worst_first() {
        assert_eq!(status_of(&[]), (Level::Ok, vec![]));
        let (l, why) = status_of(&[("vacancy_rate", 0.25), ("oversight_overdue_share", 0.5)]);
        assert_eq!(l, Level::Warning);
        assert_eq!(why.len(), 2);
        let (l, why) = status_of(&[
            ("vacancy_rate", 0.25),
            ("unallocated_mappa", 3.0),
            ("oldest_unallocated_mappa_days", 1.0),
        ]);
        assert_eq!(l, Level::Critical);
        assert!(why[0].starts_with("3 MAPPA cases unallocated"), "{why:?}");
        assert_eq!(why[1], "vacancy rate 25%");
        let (l, why) = status_of(&[
            ("unallocated_mappa", 58.0),
            ("vacancy_rate", 0.43),
            ("vacancy_above_region", 0.20),
            ("oversight_overdue_share", 0.83),
        ]);
        assert_eq!(l, Level::OrganisationalAlert);
        assert!(
            why[0].starts_with("ORGANISATIONAL ALERT: 58 MAPPA"),
            "{why:?}"
        );
    }

    #[test]
    fn one_mappa_case_waiting_a_day_or_two_leaves_the_pdu_ok_then_warns_then_is_critical() {
        let at = |days: f64| {
            status_of(&[
                ("unallocated_mappa", 1.0),
                ("oldest_unallocated_mappa_days", days),
            ])
            .0
        };
        assert_eq!(at(2.0), Level::Ok);
        assert_eq!(at(3.0), Level::Warning);
        assert_eq!(at(7.0), Level::Warning);
        assert_eq!(at(8.0), Level::Critical);
    }

    #[test]
    fn a_status_on_a_case_rule_and_an_unknown_status_are_refused() {
        let e = err_of(
            "[[rule]]\nid = \"x\"\nseverity = \"high\"\nscope = \"case\"\nstatus = \"critical\"\nmessage = \"m\"\nall = [{ metric = \"unallocated\", op = \"==\", value = 1 }]\n",
        );
        assert!(e.message.contains("only a pdu rule"), "{e}");
        assert_eq!(e.line, 5);
        let e = err_of(
            "[[rule]]\nid = \"x\"\nseverity = \"high\"\nscope = \"pdu\"\nstatus = \"ok\"\nmessage = \"m\"\nall = [{ metric = \"cases\", op = \">\", value = 1 }]\n",
        );
        assert!(e.message.contains("unknown status 'ok'"), "{e}");
        let e = err_of("[lifecycle]\nescalate_after_nights = 0\n");
        assert!(e.message.contains("at least 1"), "{e}");
    }

    #[test]
    fn vacancy_above_twenty_warns_and_above_forty_is_critical() {
        assert_eq!(
            rules_fired(&pdu(&[("vacancy_rate", 0.21)])),
            ["pdu-vacancy-high"]
        );
        assert_eq!(
            rules_fired(&pdu(&[("vacancy_rate", 0.43)])),
            ["pdu-vacancy-critical"]
        );
        assert!(pdu(&[("vacancy_rate", 0.20)]).is_empty());
    }

    #[test]
    fn organisational_alert_needs_all_three_conditions() {
        let hfkcw = [
            ("unallocated_mappa", 58.0),
            ("vacancy_above_region", 0.20),
            ("oversight_overdue_share", 0.8),
        ];
        assert!(rules_fired(&pdu(&hfkcw)).contains(&"organisational-alert"));
        for drop in 0..3 {
            let mut m = hfkcw.to_vec();
            m[drop].1 = 0.0;
            assert!(
                !rules_fired(&pdu(&m)).contains(&"organisational-alert"),
                "fired without {}",
                m[drop].0
            );
        }
        let high_rosh = [
            ("unallocated_high_rosh", 5.0),
            ("vacancy_above_region", 0.15),
            ("oversight_overdue_share", 0.6),
        ];
        assert!(rules_fired(&pdu(&high_rosh)).contains(&"organisational-alert"));
    }

    #[test]
    fn practitioners_over_120_or_trainees_over_100_warn() {
        let p = |m: &[(&'static str, f64)]| {
            evaluate(
                &[Subject {
                    scope: Scope::Practitioner,
                    pdu: "P".into(),
                    crn: None,
                    staff_code: Some("S1".into()),
                    metrics: SubjectMetrics::of(Scope::Practitioner, m.iter().copied()),
                }],
                &Rules::defaults(),
            )
        };
        assert_eq!(
            p(&[
                ("capacity_pct", 121.0),
                ("trainee", 0.0),
                ("caseload", 30.0)
            ])
            .len(),
            1
        );
        assert!(
            p(&[
                ("capacity_pct", 110.0),
                ("trainee", 0.0),
                ("caseload", 30.0)
            ])
            .is_empty()
        );
        let t = p(&[
            ("capacity_pct", 101.0),
            ("trainee", 1.0),
            ("caseload", 10.0),
        ]);
        assert_eq!(t[0].severity, Severity::Warning);
        assert_eq!(t[0].key(), "practitioner-over-capacity:P:S1");
    }

    fn err_of(text: &str) -> RulesError {
        Rules::parse(Path::new("user.toml"), text).unwrap_err()
    }

    #[test]
    fn an_unknown_metric_is_refused_with_its_line() {
        let e = err_of(
            "[[rule]]\nid = \"x\"\nseverity = \"high\"\nscope = \"pdu\"\nmessage = \"m\"\nall = [\n  { metric = \"vacancy\", op = \">\", value = 1 },\n]\n",
        );
        assert_eq!(e.line, 7, "{e}");
        assert!(e.message.contains("unknown metric 'vacancy'"), "{e}");
        assert!(e.to_string().starts_with("user.toml:7:"));
    }

    #[test]
    fn a_bad_threshold_a_duplicate_id_and_a_bad_severity_are_refused() {
        let base = |extra: &str| {
            format!(
                "[[rule]]\nid = \"x\"\nseverity = \"high\"\nscope = \"pdu\"\nmessage = \"m\"\nall = [{{ metric = \"cases\", op = \">\", value = {extra} }}]\n"
            )
        };
        let e = err_of(&base("\"lots\""));
        assert!(e.message.contains("bad threshold"), "{e}");
        assert_eq!(e.line, 6);
        let twice = format!("{}{}", base("1"), base("2"));
        let e = err_of(&twice);
        assert!(e.message.contains("duplicate rule id 'x'"), "{e}");
        assert_eq!(e.line, 8);
        let e = err_of(&base("1").replace("\"high\"", "\"urgent\""));
        assert!(e.message.contains("unknown severity"), "{e}");
        let e = err_of(&base("1").replace("message = \"m\"", "message = \"{vacancy}\""));
        assert!(e.message.contains("placeholder"), "{e}");
    }

    #[test]
    fn a_user_file_overrides_by_id_and_adds_rules() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rules.toml");
        std::fs::write(
            &p,
            "[[rule]]\nid = \"pdu-vacancy-high\"\nseverity = \"high\"\nscope = \"pdu\"\nmessage = \"v\"\nenabled = false\nall = [{ metric = \"vacancy_rate\", op = \">\", value = 0.3 }]\n\n[[rule]]\nid = \"mine\"\nseverity = \"warning\"\nscope = \"pdu\"\nmessage = \"{cases} cases\"\nall = [{ metric = \"cases\", op = \">\", value = 10 }]\n",
        )
        .unwrap();
        let r = Rules::load(Some(&p)).unwrap();
        assert_eq!(r.rules.len(), 24);
        assert!(
            !r.rules
                .iter()
                .find(|r| r.id == "pdu-vacancy-high")
                .unwrap()
                .enabled
        );
        let a = evaluate(
            &[subject(
                Scope::Pdu,
                "P",
                None,
                &[("cases", 11.0), ("vacancy_rate", 0.35)],
            )],
            &r,
        );
        assert_eq!(rules_fired(&a), ["mine"]);
        assert_eq!(a[0].message(), "11 cases");
    }

    #[test]
    fn evaluation_is_sorted_critical_first_then_by_pdu_and_keyed_stably() {
        let subjects = vec![
            subject(Scope::Pdu, "B", None, &[("vacancy_rate", 0.35)]),
            subject(Scope::Pdu, "A", None, &[("vacancy_rate", 0.45)]),
            subject(Scope::Pdu, "C", None, &[("vacancy_rate", 0.25)]),
        ];
        let keys = |a: &[Alert]| -> Vec<(String, Severity)> {
            a.iter().map(|a| (a.key(), a.severity)).collect()
        };
        let expected = vec![
            ("pdu-vacancy-critical:A:-".to_string(), Severity::Critical),
            ("pdu-vacancy-high:B:-".to_string(), Severity::High),
            ("pdu-vacancy-high:C:-".to_string(), Severity::High),
        ];
        assert_eq!(keys(&evaluate(&subjects, &Rules::defaults())), expected);
        // The order of the input does not matter.
        let mut reversed = subjects.clone();
        reversed.reverse();
        assert_eq!(keys(&evaluate(&reversed, &Rules::defaults())), expected);
    }
}
