//! Each tested PDU metric's recorded history against its rules' thresholds, as series (for
//! the screen's chart) and as an SVG for a briefing. Pure: the caller reads the nights.

use std::fmt::Write;

use chrono::NaiveDate;
use serde::Serialize;

use crate::forecast::{History, metric_words};
use crate::rules::{Cond, Op, Rules, Scope, format_metric};

/// One rule's test of a metric: the line drawn across the chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    pub rule: String,
    pub op: &'static str,
    pub value: f64,
    #[serde(skip)]
    pub test: Op,
}

impl Threshold {
    /// The rule's test holds for this value.
    pub fn holds(&self, v: f64) -> bool {
        self.test.test(v, self.value)
    }
}

/// One metric's nights, oldest first, and the thresholds its rules test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub metric: String,
    pub points: Vec<(NaiveDate, f64)>,
    pub thresholds: Vec<Threshold>,
}

impl Series {
    /// The least and greatest of the values and thresholds, a little apart when all equal.
    pub fn bounds(&self) -> (f64, f64) {
        let all = self
            .points
            .iter()
            .map(|p| p.1)
            .chain(self.thresholds.iter().map(|t| t.value));
        let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if lo > hi {
            (0.0, 1.0)
        } else if hi - lo < 1e-9 {
            (lo - 1.0, hi + 1.0)
        } else {
            (lo, hi)
        }
    }
}

fn tests<'r>(c: &'r Cond, out: &mut Vec<(&'r str, Op, f64)>) {
    match c {
        Cond::Test {
            metric, op, value, ..
        } => out.push((metric, *op, *value)),
        Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| tests(c, out)),
    }
}

/// Every metric a PDU rule tests that has a recorded value, in the order of the rules.
pub fn series(rules: &Rules, history: &History<'_>) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for rule in rules
        .rules
        .iter()
        .filter(|r| r.enabled && r.scope == Scope::Pdu)
    {
        let mut t = Vec::new();
        tests(&rule.cond, &mut t);
        for (metric, op, value) in t {
            let th = Threshold {
                rule: rule.id.clone(),
                op: op.symbol(),
                value,
                test: op,
            };
            if let Some(s) = out.iter_mut().find(|s| s.metric == metric) {
                s.thresholds.push(th);
                continue;
            }
            let points: Vec<(NaiveDate, f64)> = history
                .iter()
                .filter_map(|(d, m)| m.get(metric).map(|v| (*d, *v)))
                .collect();
            if !points.is_empty() {
                out.push(Series {
                    metric: metric.to_string(),
                    points,
                    thresholds: vec![th],
                });
            }
        }
    }
    out
}

/// Text made safe inside SVG (XML) text and attributes.
fn xml(s: &str) -> String {
    crate::text::sanitize(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const WIDTH: f64 = 760.0;
const PANEL: f64 = 170.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 210.0;

/// One panel per metric: the nights as a line with a dot each, each rule's threshold as a
/// dashed line named at its end, the first and last night under it, the range beside it.
pub fn svg(pdu: &str, as_of: NaiveDate, series: &[Series]) -> String {
    let height = 40.0 + PANEL * series.len().max(1) as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="100%" height="100%" fill="white"/><text x="10" y="22" font-size="15" font-weight="bold">{} : recorded nights to {as_of}, against the rules' thresholds</text>"#,
        xml(pdu)
    );
    if series.is_empty() {
        let _ = writeln!(
            s,
            r#"<text x="10" y="50">No nights recorded yet (casewatch alerts --record nightly).</text>"#
        );
    }
    for (i, se) in series.iter().enumerate() {
        let top = 40.0 + PANEL * i as f64;
        let (y0, y1) = (top + 24.0, top + PANEL - 30.0);
        let (x0, x1) = (LEFT, WIDTH - RIGHT);
        let (lo, hi) = se.bounds();
        let (first, last) = (
            se.points.first().map(|p| p.0),
            se.points.last().map(|p| p.0),
        );
        let span = match (first, last) {
            (Some(a), Some(b)) => ((b - a).num_days() as f64).max(1.0),
            _ => 1.0,
        };
        let x =
            |d: NaiveDate| x0 + (x1 - x0) * (first.map_or(0, |f| (d - f).num_days()) as f64 / span);
        let y = |v: f64| y1 - (y1 - y0) * (v - lo) / (hi - lo);
        let _ = writeln!(
            s,
            r#"<text x="10" y="{:.1}" font-weight="bold">{}</text>"#,
            top + 14.0,
            xml(metric_words(&se.metric))
        );
        let _ = writeln!(
            s,
            r##"<rect x="{x0}" y="{y0:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#bbb"/>"##,
            x1 - x0,
            y1 - y0
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            x0 - 6.0,
            y0 + 10.0,
            xml(&format_metric(&se.metric, hi)),
            x0 - 6.0,
            y1,
            xml(&format_metric(&se.metric, lo))
        );
        if let (Some(a), Some(b)) = (first, last) {
            let _ = writeln!(
                s,
                r#"<text x="{x0}" y="{:.1}">{a}</text><text x="{x1}" y="{:.1}" text-anchor="end">{b}</text>"#,
                y1 + 16.0,
                y1 + 16.0
            );
        }
        // Labels of thresholds close together are stacked, not drawn over each other.
        let mut order: Vec<&Threshold> = se.thresholds.iter().collect();
        order.sort_by(|a, b| b.value.total_cmp(&a.value));
        let mut label_y = f64::MIN;
        for t in order {
            let ty = y(t.value);
            label_y = (ty + 4.0).max(label_y + 13.0);
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" y1="{ty:.1}" x2="{x1}" y2="{ty:.1}" stroke="#c00" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" fill="#c00">{} {} {}</text>"##,
                x1 + 6.0,
                label_y,
                xml(&t.rule),
                xml(t.op),
                xml(&format_metric(&se.metric, t.value))
            );
        }
        let pts: Vec<String> = se
            .points
            .iter()
            .map(|(d, v)| format!("{:.1},{:.1}", x(*d), y(*v)))
            .collect();
        let _ = writeln!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#036" stroke-width="2"/>"##,
            pts.join(" ")
        );
        for (d, v) in &se.points {
            let _ = writeln!(
                s,
                r##"<circle cx="{:.1}" cy="{:.1}" r="2" fill="#036"><title>{d}: {}</title></circle>"##,
                x(*d),
                y(*v),
                xml(&format_metric(&se.metric, *v))
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn every_tested_metric_gets_its_nights_and_thresholds_and_the_svg_escapes_text() {
        let rules = Rules::defaults();
        let d = |n: u32| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
        let night = |n: u32, v: f64| {
            let mut m = BTreeMap::new();
            m.insert("unallocated_mappa".to_string(), v);
            (d(n), m)
        };
        let history = vec![night(1, 10.0), night(2, 20.0), night(3, 58.0)];
        let s = series(&rules, &history);
        let mappa = s
            .iter()
            .find(|s| s.metric == "unallocated_mappa")
            .expect("a rule tests unallocated MAPPA cases");
        assert_eq!(mappa.points.len(), 3);
        assert!(!mappa.thresholds.is_empty());
        // Metrics with no recorded value are left out.
        assert!(s.iter().all(|s| !s.points.is_empty()));
        let svg = svg("<HF&K>", d(3), &s);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("&lt;HF&amp;K&gt;"), "{svg}");
        assert!(svg.contains("stroke-dasharray"), "a threshold line");
        assert!(svg.contains("<polyline"));
        // Every `<` opens a tag: no text (a rule's `<`, a name) leaks markup.
        let bytes = svg.as_bytes();
        for (i, _) in svg.match_indices('<') {
            let next = bytes.get(i + 1).copied().unwrap_or(b' ');
            assert!(
                next.is_ascii_alphabetic() || next == b'/',
                "raw < at {i}: {}",
                &svg[i.saturating_sub(40)..(i + 10).min(svg.len())]
            );
        }
    }
}
