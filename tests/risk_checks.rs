//! The inspection's other checks end to end: a region imported from files (a badly run PDU
//! and a well-run one), the nightly alerts and the summary's shares, through the binary, on
//! a SQLite file and on PostgreSQL.

#[path = "common/backend.rs"]
mod backend;
mod common;
#[path = "common/pg.rs"]
mod pg;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use backend::{Backend, Kind};
use common::{casewatch, stderr};

const AS_OF: &str = "2026-11-01";

/// The rules of the inspection's other checks.
const RISK_RULES: [&str; 5] = [
    "handover-overdue",
    "pre-release-contact-missing",
    "pre-release-assessment-missing",
    "enquiry-overdue",
    "high-risk-assessment-overdue",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/risk")
        .join(name)
}

/// A database with the `tests/data/risk` region imported, kind by kind.
fn region(kind: Kind, home: &Path) -> Backend {
    let b = Backend::empty(kind, home);
    let db = &b.db;
    for (table, file) in [
        ("pdus", "pdus.csv"),
        ("establishment", "establishment.csv"),
        ("practitioners", "practitioners.csv"),
        ("cases", "cases.csv"),
        ("enquiries", "enquiries.csv"),
        ("assessments", "assessments.csv"),
        ("contacts", "contacts.csv"),
        ("oversight", "oversight.csv"),
    ] {
        let path = fixture(file);
        let o = casewatch(
            &[
                "--db",
                db,
                "import",
                path.to_str().unwrap(),
                "--kind",
                table,
            ],
            home,
        );
        assert!(o.status.success(), "{table}: {}", stderr(&o));
    }
    b
}

/// Each risk rule's alerts, as the CRNs they name, by PDU.
fn risk_alerts(home: &Path, db: &str) -> BTreeMap<(String, String), BTreeSet<String>> {
    let o = casewatch(
        &["--db", db, "--as-of", AS_OF, "alerts", "--format", "json"],
        home,
    );
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(3),
        "{}",
        stderr(&o)
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for a in doc["alerts"].as_array().unwrap() {
        let rule = a["rule"].as_str().unwrap();
        if !RISK_RULES.contains(&rule) || a["status"] == "resolved" {
            continue;
        }
        out.entry((a["pdu"].as_str().unwrap().into(), rule.into()))
            .or_default()
            .insert(a["crn"].as_str().unwrap().into());
    }
    out
}

on_both!(
    an_imported_region_gives_the_expected_case_alerts_and_none_for_the_well_run_pdu,
    the_summary_gives_each_pdus_shares,
    a_return_recorded_later_clears_the_enquiry_alert,
);

fn an_imported_region_gives_the_expected_case_alerts_and_none_for_the_well_run_pdu(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = region(kind, dir.path());
    let found = risk_alerts(dir.path(), &b.db);
    let want: BTreeMap<(String, String), BTreeSet<String>> = [
        ("enquiry-overdue", vec!["Z000001", "Z000004"]),
        ("handover-overdue", vec!["Z000002"]),
        ("pre-release-contact-missing", vec!["Z000003"]),
    ]
    .into_iter()
    .map(|(rule, crns)| {
        (
            ("ZZB".to_string(), rule.to_string()),
            crns.into_iter().map(String::from).collect(),
        )
    })
    .collect();
    assert_eq!(found, want, "no risk alert at ZZG, and these at ZZB");
}

fn the_summary_gives_each_pdus_shares(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = region(kind, dir.path());
    let o = casewatch(
        &[
            "--db", &b.db, "--as-of", AS_OF, "summary", "--format", "json",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pdu = |code: &str| {
        doc["pdus"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["code"] == code)
            .unwrap()["risk"]
            .clone()
    };
    let (bad, good) = (pdu("ZZB"), pdu("ZZG"));
    // ZZB: of the 8 enquiries due (two for each case; Z000002's from when its release came
    // within a year), Z000001's two were never requested.
    assert_eq!(bad["enquiries_made"]["count"], 6);
    assert_eq!(bad["enquiries_made"]["of"], 8);
    assert_eq!(bad["enquiries_made"]["share"], 0.75);
    assert_eq!(bad["releases_with_contact"]["count"], 0);
    assert_eq!(bad["releases_with_contact"]["of"], 1);
    assert_eq!(bad["handover_overdue_cases"], 1);
    assert_eq!(good["enquiries_made"]["share"], 1.0);
    assert_eq!(good["releases_with_contact"]["share"], 1.0);
    assert_eq!(good["releases_with_pre_release_assessment"]["share"], 1.0);
    assert_eq!(good["handover_overdue_cases"], 0);
    assert_eq!(good["custody_assessment_backlog"], 0);
    let region = &doc["regions"][0]["risk"];
    assert_eq!(region["enquiries_made"]["of"], 14);
    assert_eq!(region["enquiries_made"]["count"], 12);
}

/// An enquiry's return arrives in a later file: the same request is updated, and its alert
/// goes.
fn a_return_recorded_later_clears_the_enquiry_alert(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = region(kind, dir.path());
    let late = dir.path().join("returns.csv");
    std::fs::write(
        &late,
        "crn,kind,requested_on,returned_on,outcome\nZ000004,domestic_abuse,2026-08-01,2026-10-30,concerns\n",
    )
    .unwrap();
    let o = casewatch(
        &[
            "--db",
            &b.db,
            "import",
            late.to_str().unwrap(),
            "--kind",
            "enquiries",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let found = risk_alerts(dir.path(), &b.db);
    let enquiry = &found[&("ZZB".to_string(), "enquiry-overdue".to_string())];
    assert_eq!(
        enquiry.iter().map(String::as_str).collect::<Vec<_>>(),
        ["Z000001"]
    );
}
