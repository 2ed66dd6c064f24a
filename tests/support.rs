//! "Who needs support" end to end: the export's bands, benchmarks and team patterns
//! recomputed from its own numerators and denominators, as a head checking one PDU by hand
//! would (pooled region rate, quartiles by linear interpolation, one IQR beyond).

#[path = "common/backend.rs"]
mod backend;
mod common;
#[path = "common/pg.rs"]
mod pg;

use backend::{Backend, Kind};

use std::collections::BTreeMap;

struct Row {
    region: String,
    pdu: String,
    team: String,
    excluded: bool,
    measure: String,
    num: f64,
    den: f64,
    value: Option<f64>,
    band: String,
    rate: f64,
    q1: f64,
    q3: f64,
    iqr: f64,
    pattern: bool,
}

fn read(csv_text: &str) -> Vec<Row> {
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let h = r.headers().expect("headers").clone();
    let col = |name: &str| h.iter().position(|c| c == name).expect(name);
    let f = |s: &str| s.parse::<f64>().ok();
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            let g = |name: &str| rec[col(name)].to_string();
            Row {
                region: g("region"),
                pdu: g("pdu"),
                team: g("team"),
                excluded: !g("excluded").is_empty(),
                measure: g("measure"),
                num: f(&g("numerator")).unwrap_or(0.0),
                den: f(&g("denominator")).unwrap_or(0.0),
                value: f(&g("value")),
                band: g("band"),
                rate: f(&g("region_rate")).unwrap_or(f64::NAN),
                q1: f(&g("region_q1")).unwrap_or(f64::NAN),
                q3: f(&g("region_q3")).unwrap_or(f64::NAN),
                iqr: f(&g("region_iqr")).unwrap_or(f64::NAN),
                pattern: g("team_pattern") == "true",
            }
        })
        .collect()
}

fn quartile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

on_both!(the_bands_and_team_patterns_agree_with_a_recomputation_from_the_export);

fn the_bands_and_team_patterns_agree_with_a_recomputation_from_the_export(kind: Kind) {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = Backend::demo_seeded(kind, dir.path(), "20000", "2022");
    let db_arg = b.db.as_str();
    let export = |extra: &[&str]| {
        let mut args = vec!["--as-of", "2026-11-01", "--db", db_arg, "export", "support"];
        args.extend_from_slice(extra);
        let o = common::casewatch(&args, dir.path());
        assert!(o.status.success(), "{}", common::stderr(&o));
        read(&String::from_utf8(o.stdout).expect("utf-8"))
    };
    let all = export(&[]);
    let london: Vec<&Row> = all.iter().filter(|r| r.region == "London").collect();
    assert!(london.len() > 400, "{} rows", london.len());
    let measures = [
        "timely_contact",
        "oversight_done",
        "capacity",
        "allocation_wait",
    ];
    // The region's benchmark from every practitioner compared.
    let mut bench: BTreeMap<&str, (f64, f64, f64)> = BTreeMap::new();
    for m in measures {
        let scale = if m == "allocation_wait" { 1.0 } else { 100.0 };
        let rows: Vec<&&Row> = london
            .iter()
            .filter(|r| r.measure == m && !r.excluded && r.den > 0.0)
            .collect();
        let rate = rows.iter().map(|r| r.num).sum::<f64>()
            / rows.iter().map(|r| r.den).sum::<f64>()
            * scale;
        let mut v: Vec<f64> = rows.iter().map(|r| r.num / r.den * scale).collect();
        v.sort_by(f64::total_cmp);
        let (q1, q3) = (quartile(&v, 0.25), quartile(&v, 0.75));
        for r in &rows {
            // The export rounds to two decimals.
            assert!((r.rate - rate).abs() < 0.01, "{m}: {} vs {rate}", r.rate);
            assert!((r.q1 - q1).abs() < 0.01 && (r.q3 - q3).abs() < 0.01, "{m}");
        }
        bench.insert(m, (rate, q1, q3));
    }
    // One PDU, as exported for it alone: every band from its value and the benchmark.
    let hfkcw = export(&["--pdu", "HFKCW"]);
    assert!(hfkcw.iter().all(|r| r.pdu == "HFKCW"));
    let mut far = 0;
    let mut teams: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    for r in &hfkcw {
        let (rate, q1, q3) = bench[r.measure.as_str()];
        assert!((r.iqr - (q3 - q1)).abs() < 0.02);
        let expected = match (r.excluded, r.value) {
            (false, Some(v)) => {
                let worse = if matches!(r.measure.as_str(), "timely_contact" | "oversight_done") {
                    rate - v
                } else {
                    v - rate
                };
                if worse <= 0.0 {
                    "met"
                } else if worse <= q3 - q1 {
                    "near"
                } else {
                    "far"
                }
            }
            _ => "",
        };
        assert_eq!(
            r.band,
            expected,
            "{} {}",
            r.measure,
            r.value.unwrap_or(-1.0)
        );
        if !expected.is_empty() {
            let e = teams.entry((&r.team, &r.measure)).or_default();
            e.0 += usize::from(expected == "far");
            e.1 += 1;
            far += usize::from(expected == "far");
        }
    }
    assert!(
        far > 0,
        "HFKCW has practitioners far from London's benchmark"
    );
    // Team patterns: at least three compared and at least 60% of them far.
    let mut patterns = 0;
    for r in &hfkcw {
        let (f, n) = teams
            .get(&(r.team.as_str(), r.measure.as_str()))
            .copied()
            .unwrap_or_default();
        let expected = n >= 3 && f as f64 >= 0.6 * n as f64;
        assert_eq!(r.pattern, expected, "{} {}: {f} of {n}", r.team, r.measure);
        patterns += usize::from(expected);
    }
    assert!(patterns > 0, "HFKCW's teams show the unit's pattern");

    // The heads' morning section names it, worst first, in words.
    let o = common::casewatch(
        &[
            "--as-of",
            "2026-11-01",
            "--db",
            db_arg,
            "review",
            "--for",
            "head",
            "--pdu",
            "HFKCW",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("Who needs support in HFKCW, against London"),
        "{text}"
    );
    assert!(text.contains("Team patterns in"), "{text}");
    // An SPO's review has no such section.
    let o = common::casewatch(
        &[
            "--as-of",
            "2026-11-01",
            "--db",
            db_arg,
            "review",
            "--pdu",
            "HFKCW",
        ],
        dir.path(),
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Who needs support"));

    // The chart for a briefing: an SVG of the demo's recorded nights, one panel a figure.
    let svg = dir.path().join("hfkcw.svg");
    let svg_arg = svg.to_str().expect("utf-8 path");
    let o = common::casewatch(
        &[
            "--as-of",
            "2026-11-01",
            "--db",
            db_arg,
            "chart",
            "--pdu",
            "HFKCW",
            "--out",
            svg_arg,
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let text = std::fs::read_to_string(&svg).expect("the svg");
    assert!(text.starts_with("<svg") && text.contains("MAPPA cases unallocated"));
    assert!(text.matches("<polyline").count() > 3, "a line per figure");
    let o = common::casewatch(
        &[
            "--db", db_arg, "chart", "--pdu", "HFKCW", "--metric", "nope",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
}
