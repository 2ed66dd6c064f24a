//! Triage actions through the real binary: allocate, refuse, audit.

use std::path::Path;
use std::process::Output;

mod common;
use common::casewatch;

fn err(o: &Output) -> String {
    common::stderr(o)
}

fn unallocated_mappa(db: &str, home: &Path) -> u64 {
    let o = casewatch(
        &[
            "--db",
            db,
            "--as-of",
            "2026-11-01",
            "summary",
            "--format",
            "json",
        ],
        home,
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    doc["pdus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "HFKCW")
        .unwrap()["unallocated_mappa"]
        .as_u64()
        .unwrap()
}

#[test]
fn allocating_an_unallocated_mappa_case_is_counted_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("a.db");
    let db = db_path.to_str().unwrap();
    let o = casewatch(
        &[
            "--as-of",
            "2026-11-01",
            "demo",
            "--cases",
            "4000",
            "--db",
            db,
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    let conn = rusqlite::Connection::open(&db_path).unwrap();
    let crn: String = conn
        .query_row(
            "SELECT crn FROM cases WHERE pdu = 'HFKCW' AND allocated_to IS NULL
               AND mappa_category > 0 ORDER BY crn LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let po: String = conn
        .query_row(
            "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'PO'
               AND status = 'in_post' ORDER BY staff_code LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let other: String = conn
        .query_row(
            "SELECT staff_code FROM practitioners WHERE pdu = 'LAM' AND grade = 'PO' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let before = unallocated_mappa(db, dir.path());

    // Another PDU's practitioner: refused, nothing written.
    let o = casewatch(
        &[
            "--db",
            db,
            "allocate",
            &crn,
            &other,
            "--reason",
            "initial_allocation",
            "--yes",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("nothing written"), "{}", err(&o));
    assert!(
        !err(&o).contains(&crn),
        "the CRN is not echoed: {}",
        err(&o)
    );
    let audits: i64 = conn
        .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
        .unwrap();
    assert_eq!(audits, 0);

    let o = casewatch(
        &[
            "--db",
            db,
            "--as-of",
            "2026-11-01",
            "--as",
            "spo.alice",
            "allocate",
            &crn,
            &po,
            "--reason",
            "initial_allocation",
            "--yes",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(unallocated_mappa(db, dir.path()), before - 1);

    let o = casewatch(
        &["--db", db, "audit", "--format", "json", "--crn", &crn],
        dir.path(),
    );
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["actor"], "spo.alice");
    assert_eq!(rows[0]["action"], "allocate");
    assert_eq!(rows[0]["after"]["allocated_to"], po.as_str());

    // The trail cannot be edited, even with another SQLite client.
    assert!(conn.execute("DELETE FROM audit", []).is_err());
    assert!(conn.execute("UPDATE audit SET actor = 'x'", []).is_err());
}

#[test]
fn unknown_reasons_and_crns_are_refused_by_the_argument_parser() {
    let dir = tempfile::tempdir().unwrap();
    let o = casewatch(
        &["allocate", "X000001", "S1", "--reason", "because"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("initial_allocation"), "{}", err(&o));
    let o = casewatch(&["note", "123", "--text", "x"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("six digits"), "{}", err(&o));
}

#[test]
fn oversight_from_the_command_line_clears_the_case_from_the_overdue_list() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("o.db");
    let db = db_path.to_str().unwrap();
    let o = casewatch(
        &[
            "--as-of",
            "2026-11-01",
            "demo",
            "--cases",
            "4000",
            "--db",
            db,
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    let overdue = |home: &Path| -> Vec<String> {
        let o = casewatch(
            &[
                "--db",
                db,
                "--as-of",
                "2026-11-01",
                "export",
                "oversight-overdue",
                "--pdu",
                "HFKCW",
                "--format",
                "json",
            ],
            home,
        );
        assert!(o.status.success(), "{}", err(&o));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["crn"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let before = overdue(dir.path());
    let crn = before.first().expect("HFKCW has overdue oversight").clone();
    let spo: String = rusqlite::Connection::open(&db_path)
        .unwrap()
        .query_row(
            "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'SPO' AND status = 'in_post' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let o = casewatch(
        &[
            "--db",
            db,
            "--as-of",
            "2026-11-01",
            "oversight",
            &crn,
            "--by",
            &spo,
            "--kind",
            "periodic",
            "--note",
            "reviewed",
            "--sensitive",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    let after = overdue(dir.path());
    assert_eq!(after.len(), before.len() - 1);
    assert!(!after.contains(&crn));
    // A practitioner who is not an SPO is refused, with nothing written.
    let po: String = rusqlite::Connection::open(&db_path)
        .unwrap()
        .query_row(
            "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'PO' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let o = casewatch(
        &[
            "--db",
            db,
            "oversight",
            &after[0],
            "--by",
            &po,
            "--kind",
            "periodic",
            "--note",
            "x",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("SPO"), "{}", err(&o));
    // The sensitive note does not show in the audit output unless asked for.
    let o = casewatch(&["--db", db, "audit", "--crn", &crn], dir.path());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("[sensitive: hidden]") && !text.contains("reviewed"),
        "{text}"
    );
}
