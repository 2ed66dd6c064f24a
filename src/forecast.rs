//! Where each PDU's figures are heading: a robust trend (Theil–Sen) of every metric a PDU
//! rule tests, over the nights recorded in the last four weeks and today, and the day each
//! rule would fire if the trends hold ("at this rate HFKCW reaches the organisational alert in
//! about 12 days"). Pure: the caller reads the history.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::fmt_date;
use crate::rules::{Cond, Level, Op, Rules, Scope, format_metric, higher_is_better};

/// The nights a trend is taken over, today included.
pub const WINDOW_DAYS: i64 = 28;
/// Fewer nights than this (today included) give no trend: a week is the least that says
/// more than the night's noise.
pub const MIN_NIGHTS: usize = 7;
/// A crossing further off than this is not forecast: four weeks of history say little about
/// next season.
pub const HORIZON_DAYS: i64 = 90;

/// A straight line through the points that one wild night cannot tilt: the median of the
/// slopes between every pair of points, and the median of what each point leaves over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// Change per day.
    pub slope: f64,
    /// The line's value at x = 0.
    pub intercept: f64,
}

/// Theil–Sen on `(x, y)` points; `None` for fewer than two distinct x.
pub fn theil_sen(points: &[(f64, f64)]) -> Option<Line> {
    let mut slopes = Vec::with_capacity(points.len() * points.len() / 2);
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            if b.0 != a.0 {
                slopes.push((b.1 - a.1) / (b.0 - a.0));
            }
        }
    }
    let slope = median(&mut slopes)?;
    let mut rest: Vec<f64> = points.iter().map(|(x, y)| y - slope * x).collect();
    Some(Line {
        slope,
        intercept: median(&mut rest)?,
    })
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// A night's recorded values of one PDU, by metric name.
pub type Night = (NaiveDate, BTreeMap<String, f64>);

/// One PDU's recorded nights, oldest first.
pub type History<'a> = [Night];

/// A tested metric's trend in one PDU, and when each rule's threshold on it would be crossed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricTrend {
    pub pdu: String,
    pub metric: String,
    /// Nights the trend is taken over (today included).
    pub nights: usize,
    pub now: f64,
    /// The trend's change per week, in the metric's own units.
    pub per_week: f64,
    /// `worsening`, `improving` or `steady`, by which way the metric's rules point.
    pub direction: &'static str,
    pub thresholds: Vec<Crossing>,
}

/// One rule's test of a metric, and when the trend crosses it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Crossing {
    pub rule: String,
    pub op: &'static str,
    pub threshold: f64,
    /// The test holds today.
    pub holds: bool,
    /// Days from today until it would hold, if the trend holds and it is within the horizon.
    pub in_days: Option<i64>,
    pub on: Option<String>,
}

/// A PDU rule that does not fire today but would within [`HORIZON_DAYS`] at this rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outlook {
    pub pdu: String,
    pub rule: String,
    pub title: String,
    /// The PDU status the rule sets when it fires.
    pub status: Option<Level>,
    pub in_days: i64,
    pub on: String,
    /// In words, for the header and the review.
    pub message: String,
}

/// Every trend and outlook of the PDUs, worst outlook first (status, then soonest).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Forecasts {
    pub outlook: Vec<Outlook>,
    pub trends: Vec<MetricTrend>,
}

impl Forecasts {
    /// The outlook of one PDU, soonest worst first.
    pub fn outlook_of<'a>(&'a self, pdu: &'a str) -> impl Iterator<Item = &'a Outlook> + 'a {
        self.outlook.iter().filter(move |o| o.pdu == pdu)
    }
    pub fn trends_of<'a>(&'a self, pdu: &'a str) -> impl Iterator<Item = &'a MetricTrend> + 'a {
        self.trends.iter().filter(move |t| t.pdu == pdu)
    }
    /// Keeps one PDU's.
    pub fn retain_pdu(&mut self, pdu: &str) {
        self.outlook.retain(|o| o.pdu == pdu);
        self.trends.retain(|t| t.pdu == pdu);
    }
}

/// The forecasts of every PDU in `histories` (each PDU's nights, oldest first, today last,
/// today being `as_of`).
pub fn forecasts<'a>(
    rules: &Rules,
    as_of: NaiveDate,
    histories: impl IntoIterator<Item = (&'a str, &'a History<'a>)>,
) -> Forecasts {
    let pdu_rules: Vec<_> = rules
        .rules
        .iter()
        .filter(|r| r.enabled && r.scope == Scope::Pdu)
        .collect();
    let mut out = Forecasts::default();
    for (pdu, history) in histories {
        let lines = trends_in(history, as_of);
        if lines.is_empty() {
            continue;
        }
        let now = |m: &str| history.last().and_then(|(_, v)| v.get(m).copied());
        let mut tested: BTreeMap<&'static str, Vec<Crossing>> = BTreeMap::new();
        for rule in &pdu_rules {
            let mut tests = Vec::new();
            each_test(&rule.cond, &mut tests);
            for (metric, op, threshold) in tests {
                let (Some(line), Some(v)) = (lines.get(metric), now(metric)) else {
                    continue;
                };
                let in_days = days_to(op, threshold, v, line.0.slope, metric);
                let holds = in_days == Some(0);
                let soon = in_days.filter(|d| *d > 0 && *d <= HORIZON_DAYS);
                tested.entry(metric).or_default().push(Crossing {
                    rule: rule.id.clone(),
                    op: op.symbol(),
                    threshold,
                    holds,
                    in_days: soon,
                    on: soon.map(|d| fmt_date(as_of + chrono::Duration::days(d))),
                });
            }
            let fires_in = rule_days(&rule.cond, &|metric, op, threshold| {
                let v = now(metric)?;
                days_to(op, threshold, v, lines.get(metric)?.0.slope, metric)
            });
            if let Some(d) = fires_in.filter(|d| *d > 0 && *d <= HORIZON_DAYS) {
                out.outlook.push(Outlook {
                    pdu: pdu.to_string(),
                    rule: rule.id.clone(),
                    title: rule.title.clone(),
                    status: rule.status,
                    in_days: d,
                    on: fmt_date(as_of + chrono::Duration::days(d)),
                    message: format!(
                        "at this rate {pdu} reaches {} in about {}",
                        reaches(rule.status, &rule.title),
                        about_days(d)
                    ),
                });
            }
        }
        for (metric, thresholds) in tested {
            let (Some(line), Some(v)) = (lines.get(metric), now(metric)) else {
                continue;
            };
            out.trends.push(MetricTrend {
                pdu: pdu.to_string(),
                metric: metric.to_string(),
                nights: line.1,
                now: v,
                per_week: line.0.slope * 7.0,
                direction: direction(metric, line.0.slope, v),
                thresholds,
            });
        }
    }
    // Each PDU's figures in the order the scope lists them: the counts an SPO reads first
    // (unallocated, MAPPA, high RoSH, vacancy) lead.
    let place = |m: &str| Scope::Pdu.metrics().iter().position(|n| *n == m);
    out.trends.sort_by(|a, b| {
        a.pdu
            .cmp(&b.pdu)
            .then_with(|| place(&a.metric).cmp(&place(&b.metric)))
    });
    out.outlook.sort_by(|a, b| {
        b.status
            .cmp(&a.status)
            .then(a.in_days.cmp(&b.in_days))
            .then_with(|| a.pdu.cmp(&b.pdu))
            .then_with(|| a.rule.cmp(&b.rule))
    });
    out
}

/// Each metric's line over the window ending `as_of`, with the nights it was taken over;
/// metrics with fewer than [`MIN_NIGHTS`] values have none.
fn trends_in(history: &History<'_>, as_of: NaiveDate) -> BTreeMap<&'static str, (Line, usize)> {
    let since = as_of - chrono::Duration::days(WINDOW_DAYS - 1);
    let mut points: BTreeMap<&'static str, Vec<(f64, f64)>> = BTreeMap::new();
    for (day, values) in history.iter().filter(|(d, _)| *d >= since && *d <= as_of) {
        let x = (*day - as_of).num_days() as f64;
        for name in Scope::Pdu.metrics() {
            if let Some(v) = values.get(*name).filter(|v| v.is_finite()) {
                points.entry(name).or_default().push((x, *v));
            }
        }
    }
    points
        .into_iter()
        .filter(|(_, p)| p.len() >= MIN_NIGHTS)
        .filter_map(|(m, p)| Some((m, (theil_sen(&p)?, p.len()))))
        .collect()
}

/// A change this small over the window is no change (rates wobble in the last digit).
fn steady(metric: &str, slope: f64, now: f64) -> bool {
    let scale = if crate::rules::is_rate(metric) {
        0.01
    } else {
        now.abs().max(1.0) * 0.01
    };
    (slope * WINDOW_DAYS as f64).abs() < scale
}

fn direction(metric: &str, slope: f64, now: f64) -> &'static str {
    if steady(metric, slope, now) {
        "steady"
    } else if (slope > 0.0) != higher_is_better(metric) {
        "worsening"
    } else {
        "improving"
    }
}

fn each_test(c: &Cond, out: &mut Vec<(&'static str, Op, f64)>) {
    match c {
        Cond::Test {
            metric, op, value, ..
        } => out.push((metric, *op, *value)),
        Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| each_test(c, out)),
    }
}

/// Days from today until `now` moving by `slope` a day passes the test: 0 when it holds
/// today, `None` when the trend does not lead there (or is steady).
fn days_to(op: Op, threshold: f64, now: f64, slope: f64, metric: &str) -> Option<i64> {
    if op.test(now, threshold) {
        return Some(0);
    }
    // Only a test on the worse side moves towards firing: the upper bound of a band (the
    // `<= 40%` of the vacancy warning) is reached by getting better.
    let towards_worse = matches!(op, Op::Gt | Op::Ge) != higher_is_better(metric);
    if steady(metric, slope, now) || op == Op::Eq || !towards_worse {
        return None;
    }
    let d = (threshold - now) / slope;
    if !d.is_finite() || d <= 0.0 || d > 100_000.0 {
        return None;
    }
    let n = d.ceil().max(1.0) as i64;
    // A strict test crossed exactly on a whole day holds the day after.
    Some(if op.test(now + slope * n as f64, threshold) {
        n
    } else {
        n + 1
    })
}

/// Days until a condition holds: a test as [`days_to`], all of several when the last of
/// them holds, any of several when the first does.
fn rule_days(c: &Cond, test: &impl Fn(&str, Op, f64) -> Option<i64>) -> Option<i64> {
    match c {
        Cond::Test {
            metric, op, value, ..
        } => test(metric, *op, *value),
        Cond::All(cs) => cs
            .iter()
            .map(|c| rule_days(c, test))
            .try_fold(0, |acc, d| Some(acc.max(d?))),
        Cond::Any(cs) => cs.iter().filter_map(|c| rule_days(c, test)).min(),
    }
}

fn reaches(status: Option<Level>, title: &str) -> String {
    match status {
        Some(Level::OrganisationalAlert) => "the organisational alert".to_string(),
        Some(Level::Critical) => format!("CRITICAL ({title})"),
        Some(Level::Warning) => format!("a warning ({title})"),
        _ => title.to_string(),
    }
}

fn about_days(d: i64) -> String {
    match d {
        1 => "a day".to_string(),
        2..=13 => format!("{d} days"),
        _ => format!("{} weeks", (d as f64 / 7.0).round() as i64),
    }
}

impl MetricTrend {
    /// "vacancy 38% (+2% a week)".
    pub fn describe(&self) -> String {
        let sign = if self.per_week >= 0.0 { "+" } else { "-" };
        format!(
            "{} {} ({sign}{} a week)",
            metric_words(&self.metric),
            format_metric(&self.metric, self.now),
            format_metric(&self.metric, self.per_week.abs()),
        )
    }
}

/// A PDU metric as an SPO would say it.
pub fn metric_words(metric: &str) -> &str {
    match metric {
        "unallocated" => "cases unallocated",
        "unallocated_share" => "share of cases unallocated",
        "unallocated_mappa" => "MAPPA cases unallocated",
        "unallocated_high_rosh" => "high-RoSH cases unallocated",
        "no_rosh" => "cases with no RoSH assessment",
        "vacancy_rate" => "vacancy",
        "vacancy_above_region" => "vacancy above the region's",
        "oversight_overdue" => "oversight overdue",
        "oversight_overdue_share" => "share of oversight overdue",
        "contacts_overdue" => "contacts overdue",
        "high_risk_contacts_overdue" => "high-risk contacts overdue",
        "over_capacity" => "practitioners over capacity",
        "oldest_unallocated_mappa_days" => "longest MAPPA wait (days)",
        "unallocated_high_rosh_waiting" => "high-RoSH cases waiting over 2 days",
        "oldest_unallocated_high_rosh_days" => "longest high-RoSH wait (days)",
        "enquiries_made_share" => "enquiries made",
        "domestic_abuse_enquiries_made_share" => "domestic-abuse enquiries made",
        "assessments_on_time_share" => "assessments on time",
        "custody_assessment_backlog" => "start-of-custody assessment backlog",
        "releases_with_contact_share" => "releases with contact before",
        "releases_with_pre_release_assessment_share" => "releases with a pre-release assessment",
        "enquiry_overdue_cases" => "cases with an enquiry overdue",
        "handover_overdue_cases" => "cases past handover",
        other => other,
    }
}

/// How often the forecasts made from a history came true: for every night with a full
/// window behind it, each rule forecast to fire within `horizon` days, against the night it
/// first fired in the history that followed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Backtest {
    /// Forecasts whose day fell inside the recorded history.
    pub forecasts: usize,
    /// Of those, the rule first fired within a week of the forecast day.
    pub within_a_week: usize,
    /// Of those, the rule did not fire at all by the end of the history.
    pub never_fired: usize,
}

impl Backtest {
    pub fn share(&self) -> Option<f64> {
        (self.forecasts > 0).then(|| self.within_a_week as f64 / self.forecasts as f64)
    }
}

/// Replays `history` night by night (see [`Backtest`]). `fired(rule, values)` says whether a
/// rule fired on a night's recorded values.
pub fn backtest(
    rules: &Rules,
    history: &History<'_>,
    pdu: &str,
    fired: &impl Fn(&str, &BTreeMap<String, f64>) -> bool,
) -> Backtest {
    let mut out = Backtest::default();
    let Some(last) = history.last().map(|(d, _)| *d) else {
        return out;
    };
    for (i, (day, _)) in history.iter().enumerate() {
        let upto = &history[..=i];
        if upto.len() < MIN_NIGHTS || *day + chrono::Duration::days(7) > last {
            continue;
        }
        let f = forecasts(rules, *day, [(pdu, upto)]);
        for o in f.outlook {
            let Ok(on) = NaiveDate::parse_from_str(&o.on, "%Y-%m-%d") else {
                continue;
            };
            if on > last {
                continue;
            }
            out.forecasts += 1;
            let first = history[i + 1..]
                .iter()
                .find(|(_, v)| fired(&o.rule, v))
                .map(|(d, _)| *d);
            match first {
                Some(d) if (d - on).num_days().abs() <= 7 => out.within_a_week += 1,
                Some(_) => {}
                None => out.never_fired += 1,
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap() + chrono::Duration::days(n)
    }

    fn nights(values: &[(&str, &[f64])]) -> Vec<(NaiveDate, BTreeMap<String, f64>)> {
        let n = values[0].1.len();
        (0..n)
            .map(|i| {
                let m = values
                    .iter()
                    .map(|(k, v)| (k.to_string(), v[i]))
                    .collect::<BTreeMap<_, _>>();
                (day(i as i64), m)
            })
            .collect()
    }

    #[test]
    fn theil_sen_ignores_a_wild_night_that_least_squares_would_follow() {
        let mut p: Vec<(f64, f64)> = (0..20).map(|x| (x as f64, 2.0 * x as f64 + 5.0)).collect();
        p[10].1 = 500.0;
        let l = theil_sen(&p).unwrap();
        assert!((l.slope - 2.0).abs() < 1e-9, "{l:?}");
        assert!((l.intercept - 5.0).abs() < 1e-9, "{l:?}");
        // Hand-checked: slopes of (0,1),(1,3),(2,2) are 2, 0.5, -1: median 0.5; residuals
        // 1, 2.5, 1: median 1.
        let l = theil_sen(&[(0.0, 1.0), (1.0, 3.0), (2.0, 2.0)]).unwrap();
        assert_eq!((l.slope, l.intercept), (0.5, 1.0));
        assert_eq!(theil_sen(&[(1.0, 1.0)]), None);
    }

    #[test]
    fn a_rising_vacancy_rate_is_forecast_to_cross_the_critical_line() {
        // From 30% rising 0.6 points a night: 38.4% on the last of 15 nights, past 40% in
        // 3 days (40.2%).
        let v: Vec<f64> = (0..15).map(|i| 0.30 + 0.006 * i as f64).collect();
        let h = nights(&[("vacancy_rate", &v)]);
        let f = forecasts(&Rules::defaults(), day(14), [("P", &h[..])]);
        let crit = f
            .outlook
            .iter()
            .find(|o| o.rule == "pdu-vacancy-critical")
            .expect("an outlook for the critical vacancy rule");
        assert_eq!(crit.in_days, 3, "{crit:?}");
        assert_eq!(crit.on, "2026-11-18");
        assert!(
            crit.message.contains("P reaches CRITICAL"),
            "{}",
            crit.message
        );
        let t = f
            .trends_of("P")
            .find(|t| t.metric == "vacancy_rate")
            .unwrap();
        assert_eq!(t.direction, "worsening");
        assert!((t.per_week - 0.042).abs() < 1e-9);
        // The warning already holds: no outlook for it, and its crossing says so.
        assert!(f.outlook.iter().all(|o| o.rule != "pdu-vacancy-high"));
        assert!(
            t.thresholds
                .iter()
                .any(|c| c.rule == "pdu-vacancy-high" && c.holds && c.threshold == 0.20)
        );
    }

    #[test]
    fn a_falling_or_flat_figure_and_a_short_history_forecast_nothing() {
        let down: Vec<f64> = (0..15).map(|i| 0.35 - 0.005 * i as f64).collect();
        let flat = vec![0.35; 15];
        for v in [&down, &flat] {
            let h = nights(&[("vacancy_rate", v)]);
            let f = forecasts(&Rules::defaults(), day(14), [("P", &h[..])]);
            assert!(f.outlook.is_empty(), "{f:?}");
        }
        let up: Vec<f64> = (0..6).map(|i| 0.30 + 0.02 * i as f64).collect();
        let h = nights(&[("vacancy_rate", &up)]);
        assert_eq!(
            forecasts(&Rules::defaults(), day(5), [("P", &h[..])]),
            Forecasts::default()
        );
    }

    #[test]
    fn all_of_several_tests_waits_for_the_last_and_any_takes_the_first() {
        let lines: BTreeMap<&str, (f64, f64)> =
            [("a", (0.0, 1.0)), ("b", (0.0, 0.5))].into_iter().collect();
        let test = |m: &str, op: Op, t: f64| {
            let (now, slope) = lines[m];
            days_to(op, t, now, slope, m)
        };
        let a = Cond::Test {
            metric: "a",
            index: 0,
            op: Op::Ge,
            value: 10.0,
        };
        let b = Cond::Test {
            metric: "b",
            index: 0,
            op: Op::Ge,
            value: 10.0,
        };
        assert_eq!(rule_days(&a, &test), Some(10));
        assert_eq!(rule_days(&b, &test), Some(20));
        assert_eq!(
            rule_days(&Cond::All(vec![a.clone(), b.clone()]), &test),
            Some(20)
        );
        assert_eq!(rule_days(&Cond::Any(vec![a, b]), &test), Some(10));
    }

    #[test]
    fn the_backtest_counts_a_steady_climb_as_right() {
        let v: Vec<f64> = (0..40).map(|i| 0.30 + 0.005 * i as f64).collect();
        let h = nights(&[("vacancy_rate", &v)]);
        let fired = |rule: &str, m: &BTreeMap<String, f64>| {
            rule == "pdu-vacancy-critical" && m["vacancy_rate"] > 0.40
        };
        let b = backtest(&Rules::defaults(), &h, "P", &fired);
        assert!(b.forecasts > 0);
        assert_eq!(b.within_a_week, b.forecasts, "{b:?}");
        // A climb that stops short: every forecast of it was wrong.
        let mut stalls = v.clone();
        for x in stalls.iter_mut().skip(18) {
            *x = 0.39;
        }
        let h = nights(&[("vacancy_rate", &stalls)]);
        let b = backtest(&Rules::defaults(), &h, "P", &fired);
        assert!(b.forecasts > 0);
        assert_eq!(b.within_a_week, 0, "{b:?}");
        assert_eq!(b.never_fired, b.forecasts);
    }
}
