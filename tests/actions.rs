//! Triage actions through the real binary: allocate, refuse, audit (on a SQLite file and on
//! PostgreSQL), and undo through the library (on the file).

use std::path::Path;
use std::process::Output;

#[path = "common/backend.rs"]
mod backend;
mod common;
#[path = "common/pg.rs"]
mod pg;

use backend::{Backend, Kind};
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

on_both!(
    allocating_an_unallocated_mappa_case_is_counted_and_audited,
    oversight_from_the_command_line_clears_the_case_from_the_overdue_list,
);

fn allocating_an_unallocated_mappa_case_is_counted_and_audited(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = Backend::demo(kind, dir.path(), "4000", "2026-11-01");
    let db = b.db.as_str();
    let crn = b.text(
        "SELECT crn FROM cases WHERE pdu = 'HFKCW' AND allocated_to IS NULL
           AND mappa_category > 0 ORDER BY crn LIMIT 1",
        &[],
    );
    let po = b.text(
        "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'PO'
           AND status = 'in_post' ORDER BY staff_code LIMIT 1",
        &[],
    );
    let other = b.text(
        "SELECT staff_code FROM practitioners WHERE pdu = 'LAM' AND grade = 'PO'
          ORDER BY staff_code LIMIT 1",
        &[],
    );
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
            "--note",
            "rationale",
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
    assert_eq!(b.int("SELECT count(*) FROM audit", &[]), 0);

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
            "--note",
            "rationale",
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

    // The trail cannot be edited, even with another client of the database.
    assert!(b.try_exec("DELETE FROM audit", &[]).is_err());
    assert!(b.try_exec("UPDATE audit SET actor = 'x'", &[]).is_err());
    assert_eq!(b.int("SELECT count(*) FROM audit", &[]), 1);
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

fn oversight_from_the_command_line_clears_the_case_from_the_overdue_list(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = Backend::demo(kind, dir.path(), "4000", "2026-11-01");
    let db = b.db.as_str();
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
    let spo = b.text(
        "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'SPO'
           AND status = 'in_post' ORDER BY staff_code LIMIT 1",
        &[],
    );
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
    let po = b.text(
        "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'PO'
          ORDER BY staff_code LIMIT 1",
        &[],
    );
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

/// Undo, through the library the screen's `u` calls.
mod undo {
    use casewatch::actions::{self, ActionError, UNDO_WINDOW};
    use casewatch::domain::{AllocationReason, OversightKind};
    use casewatch::policy::Policy;
    use casewatch::store::{OpenMode, Store};
    use chrono::NaiveDate;
    use rusqlite::{Connection, OptionalExtension};

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// One PDU with an SPO and two POs; case X000001 unallocated, X000002 allocated to PO1
    /// and last overseen on 2026-09-01.
    fn fixture() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("u.db"), OpenMode::CreateIfMissing).unwrap();
        sql(&s)
            .execute_batch(
                "INSERT INTO pdus (code, name, region) VALUES ('P', 'P', 'R');
                 INSERT INTO practitioners VALUES
                   ('SPO1', 'S One', 'SPO', 'P', NULL, 37, '2015-01-01', 'in_post'),
                   ('PO1', 'P One', 'PO', 'P', NULL, 37, '2015-01-01', 'in_post'),
                   ('PO2', 'P Two', 'PO', 'P', NULL, 37, '2015-01-01', 'in_post');
                 INSERT INTO cases (crn, name, pdu, tier, rosh, case_type, sentence_date, unallocated_since)
                   VALUES ('X000001', 'N', 'P', 'D1', 'LOW', 'COMMUNITY', '2026-01-01', '2026-10-01');
                 INSERT INTO cases (crn, name, pdu, tier, rosh, case_type, sentence_date, allocated_to, allocated_on)
                   VALUES ('X000002', 'M', 'P', 'D1', 'LOW', 'COMMUNITY', '2026-01-01', 'PO1', '2026-02-01');
                 INSERT INTO oversight (crn, date, spo_staff_code, kind, note, sensitive)
                   VALUES ('X000002', '2026-09-01', 'SPO1', 'periodic', 'earlier', 0);",
            )
            .unwrap();
        (dir, s)
    }

    /// A connection of the test's own to the store's file, for SQL that sets up or checks rows.
    fn sql(s: &Store) -> Connection {
        Connection::open(s.path()).unwrap()
    }

    fn one<T: rusqlite::types::FromSql>(c: &Connection, sql: &str) -> T {
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn undos(c: &Connection) -> i64 {
        one(c, "SELECT count(*) FROM audit WHERE action = 'undo'")
    }

    #[test]
    fn undoing_a_note_removes_it_once_and_is_audited() {
        let (_d, mut s) = fixture();
        let done = actions::add_note(&mut s, "a", "X000002", "a note", false).unwrap();
        assert_eq!(one::<i64>(&sql(&s), "SELECT count(*) FROM notes"), 1);
        actions::undo(&mut s, "a", done.audit_id).unwrap();
        assert_eq!(one::<i64>(&sql(&s), "SELECT count(*) FROM notes"), 0);
        assert_eq!(undos(&sql(&s)), 1);
        assert!(matches!(
            actions::undo(&mut s, "a", done.audit_id),
            Err(ActionError::AlreadyUndone)
        ));
        assert_eq!(undos(&sql(&s)), 1, "a refused undo is not audited");
    }

    /// Undoing an oversight record deletes it, and the case's last oversight date goes back
    /// to the one before it (the `oversight_ad` trigger), not to nothing and not to the
    /// undone date.
    #[test]
    fn undoing_an_oversight_restores_the_cases_last_oversight_date() {
        let (_d, mut s) = fixture();
        let last = |s: &Store| -> Option<String> {
            one(
                &sql(s),
                "SELECT last_oversight FROM cases WHERE crn = 'X000002'",
            )
        };
        assert_eq!(last(&s).as_deref(), Some("2026-09-01"));
        let done = actions::record_oversight(
            &mut s,
            day("2026-11-01"),
            "a",
            &actions::OversightEntry {
                crn: "X000002".into(),
                by: "SPO1".into(),
                kind: OversightKind::Periodic,
                note: "reviewed".into(),
                sensitive: false,
                expect: None,
            },
        )
        .unwrap();
        assert_eq!(last(&s).as_deref(), Some("2026-11-01"));
        actions::undo(&mut s, "a", done.audit_id).unwrap();
        assert_eq!(
            one::<i64>(&sql(&s), "SELECT count(*) FROM oversight"),
            1,
            "the undone record is still there"
        );
        assert_eq!(
            last(&s).as_deref(),
            Some("2026-09-01"),
            "the case still counts the undone oversight"
        );
        assert_eq!(undos(&sql(&s)), 1);
    }

    /// An action can be undone for `UNDO_WINDOW` after it was made, and not after: an
    /// expired undo changes nothing and is not audited.
    #[test]
    fn an_undo_after_the_window_is_refused_and_changes_nothing() {
        let (_d, mut s) = fixture();
        // Two notes whose audit rows say they were written 1 minute short of the window
        // and 1 minute past it (the trail takes inserts; only its rows cannot change).
        let mut ids = Vec::new();
        for (text, age) in [
            ("recent", UNDO_WINDOW - chrono::Duration::minutes(1)),
            ("old", UNDO_WINDOW + chrono::Duration::minutes(1)),
        ] {
            let c = &sql(&s);
            c.execute(
                "INSERT INTO notes (crn, at, author, text, sensitive)
                 VALUES ('X000002', '2026-11-01T00:00:00Z', 'a', ?1, 0)",
                [text],
            )
            .unwrap();
            let note = c.last_insert_rowid();
            let at = (chrono::Utc::now() - age).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            c.execute(
                "INSERT INTO audit (at, actor, action, crn, after) VALUES (?1, 'a', 'note', 'X000002', ?2)",
                rusqlite::params![at, serde_json::json!({"note_id": note, "note": text}).to_string()],
            )
            .unwrap();
            ids.push(c.last_insert_rowid());
        }
        assert!(matches!(
            actions::undo(&mut s, "a", ids[1]),
            Err(ActionError::UndoExpired)
        ));
        assert_eq!(undos(&sql(&s)), 0);
        assert_eq!(
            one::<i64>(&sql(&s), "SELECT count(*) FROM notes WHERE text = 'old'"),
            1,
            "an expired undo removed the note"
        );
        actions::undo(&mut s, "a", ids[0]).unwrap();
        assert_eq!(
            one::<i64>(&sql(&s), "SELECT count(*) FROM notes WHERE text = 'recent'"),
            0
        );
    }

    /// Someone allocates a case; another user (another connection) then reallocates it; the
    /// first one's undo must not silently throw the second allocation away: it is refused
    /// and the case, its history and the trail stay as the second user left them.
    #[test]
    fn undo_after_another_writer_changed_the_case_does_not_undo_their_change() {
        let (d, mut s) = fixture();
        let p = Policy::defaults();
        let mine = actions::allocate(
            &mut s,
            &p,
            day("2026-11-01"),
            "me",
            &actions::Allocation {
                crn: "X000001".into(),
                staff_code: "PO1".into(),
                reason: AllocationReason::InitialAllocation,
                note: Some("rationale".into()),
                sensitive: false,
                expect: None,
                confirmed: true,
            },
        )
        .unwrap();
        let mut other = Store::open(&d.path().join("u.db"), OpenMode::Existing).unwrap();
        actions::allocate(
            &mut other,
            &p,
            day("2026-11-01"),
            "someone else",
            &actions::Allocation {
                crn: "X000001".into(),
                staff_code: "PO2".into(),
                reason: AllocationReason::CaseloadAdjustment,
                note: Some("rationale".into()),
                sensitive: false,
                expect: None,
                confirmed: true,
            },
        )
        .unwrap();
        let state = |c: &Connection| -> (Option<String>, i64) {
            (
                c.query_row(
                    "SELECT allocated_to FROM cases WHERE crn = 'X000001'",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .unwrap()
                .flatten(),
                one(c, "SELECT count(*) FROM allocations WHERE crn = 'X000001'"),
            )
        };
        let before = state(&sql(&s));
        assert_eq!(before, (Some("PO2".into()), 1));
        let r = actions::undo(&mut s, "me", mine.audit_id);
        assert!(
            matches!(r, Err(ActionError::ChangedSince)),
            "the undo went through over another user's later change: {r:?}"
        );
        assert_eq!(
            state(&sql(&s)),
            before,
            "the other user's allocation was undone"
        );
        assert_eq!(undos(&sql(&s)), 0);
        // Once the other user's change is undone, the case is as this action left it again,
        // and this action can be undone.
        let theirs: i64 = one(
            &sql(&s),
            "SELECT max(id) FROM audit WHERE action = 'reallocate'",
        );
        actions::undo(&mut other, "someone else", theirs).unwrap();
        actions::undo(&mut s, "me", mine.audit_id).unwrap();
        assert_eq!(state(&sql(&s)), (None, 0));
    }
}
