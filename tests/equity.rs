//! Disproportionality end to end: the intervals agree with a reference computation done
//! another way (solving the Wilson score equation as a quadratic), no shown cell counts
//! fewer than ten people, and no suppressed cell can be worked out from the rest.

#[path = "common/backend.rs"]
mod backend;
mod common;
#[path = "common/pg.rs"]
mod pg;

use backend::{Backend, Kind};

/// The Wilson interval as the roots of (p̂ − p)² = z² p (1 − p) / n.
fn wilson_by_quadratic(met: f64, n: f64) -> (f64, f64) {
    let z2 = 1.959_964_f64.powi(2);
    let ph = met / n;
    let a = 1.0 + z2 / n;
    let b = -(2.0 * ph + z2 / n);
    let c = ph * ph;
    let d = (b * b - 4.0 * a * c).max(0.0).sqrt();
    ((-b - d) / (2.0 * a), (-b + d) / (2.0 * a))
}

on_both!(intervals_agree_with_a_reference_and_small_cells_never_show);

fn intervals_agree_with_a_reference_and_small_cells_never_show(kind: Kind) {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = Backend::demo_seeded(kind, dir.path(), "3000", "5");
    let db_arg = b.db.as_str();
    // Every region, and a small PDU (with its region) where small cells are bound to be.
    let mut reports = Vec::new();
    for extra in [&[][..], &["--pdu", "BRH"][..]] {
        let mut args = vec![
            "--as-of",
            "2026-11-01",
            "--db",
            db_arg,
            "equity",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let o = common::casewatch(&args, dir.path());
        assert!(o.status.success(), "{}", common::stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        reports.extend(v.as_array().expect("an array of scopes").iter().cloned());
    }
    assert!(reports.len() >= 3);
    let (mut shown, mut suppressed) = (0, 0);
    for r in &reports {
        for t in r["tables"].as_array().expect("tables") {
            let overall = t["overall"].as_f64();
            let people = t["people"].as_u64().expect("people");
            let mut sum_shown = 0;
            let mut hidden = 0;
            for g in t["groups"].as_array().expect("groups") {
                let cell = &g[1];
                match cell["shown"].as_str() {
                    Some("shown") => {
                        shown += 1;
                        let n = cell["people"].as_u64().expect("n");
                        let met = cell["met"].as_u64().expect("met");
                        assert!(n >= 10, "a cell of {n} people is shown: {t}");
                        sum_shown += n;
                        let (lo, hi) = wilson_by_quadratic(met as f64, n as f64);
                        let (low, high) = (
                            cell["low"].as_f64().unwrap(),
                            cell["high"].as_f64().unwrap(),
                        );
                        assert!(
                            (lo - low).abs() < 1e-6 && (hi - high).abs() < 1e-6,
                            "{lo} {hi} vs {cell}"
                        );
                        let o = overall.expect("an overall rate beside a shown cell");
                        let flag = cell["flag"].as_str();
                        let expected = if high < o {
                            Some("below")
                        } else if low > o {
                            Some("above")
                        } else {
                            None
                        };
                        assert_eq!(flag, expected, "{cell} against {o}");
                    }
                    Some("suppressed") => {
                        suppressed += 1;
                        hidden += 1;
                        let keys: Vec<&String> = cell.as_object().unwrap().keys().collect();
                        assert_eq!(
                            keys,
                            vec!["shown"],
                            "a suppressed cell carries no numbers: {cell}"
                        );
                    }
                    other => panic!("unexpected cell {other:?}"),
                }
            }
            // One hidden cell of 1 to 9 people would be the total less the rest.
            let rest = people - sum_shown;
            assert!(
                !(hidden == 1 && (1..10).contains(&rest)),
                "a lone suppressed cell of {rest} can be worked out: {t}"
            );
        }
    }
    assert!(
        shown > 0 && suppressed > 0,
        "{shown} shown, {suppressed} suppressed"
    );

    // The text never prints a suppressed cell's numbers either, and an unknown PDU is an
    // error that says which.
    let o = common::casewatch(
        &[
            "--as-of",
            "2026-11-01",
            "--db",
            db_arg,
            "equity",
            "--pdu",
            "HFKCW",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Disproportionality in HFKCW"), "{text}");
    assert!(text.contains("Disproportionality in London"), "{text}");
    for line in text.lines().filter(|l| l.contains("suppressed (")) {
        let (group, rest) = line.split_once("suppressed").expect("the word");
        assert!(!rest.chars().any(|c| c.is_ascii_digit()), "{line}");
        // Before it, the group's name alone (some names have digits: 18-24, 55+).
        assert_eq!(
            group.split_whitespace().count(),
            if group.contains("not recorded") { 2 } else { 1 },
            "{line}"
        );
    }
    let o = common::casewatch(&["--db", db_arg, "equity", "--pdu", "NOPE"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        common::stderr(&o).contains("NOPE"),
        "{}",
        common::stderr(&o)
    );
}
