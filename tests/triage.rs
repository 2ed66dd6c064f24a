//! The triage writes an SPO must be able to trust, end to end with the real binary: a form
//! left open while a colleague allocates the case, the officer the picker offers first, the
//! command line's refusals, and sensitive text after an undo.

#[path = "common/backend.rs"]
mod backend;
mod common;
#[path = "common/pg.rs"]
mod pg;

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use backend::{Backend, Kind};
use common::{Screen, casewatch, stderr};
use rusqlite::Connection;

const AS_OF: &str = "2026-11-01";

fn demo(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("triage.db");
    common::build_demo(dir, &db, "4000", "2022");
    db
}

fn one<T: rusqlite::types::FromSql>(db: &Path, sql: &str) -> T {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// The worst unallocated case of HFKCW: VERY_HIGH RoSH and MAPPA, longest waiting.
const WORST_UNALLOCATED_MAPPA: &str = "SELECT crn FROM cases WHERE pdu = 'HFKCW'
   AND allocated_to IS NULL AND mappa_category > 0 AND rosh = 'VERY_HIGH'
 ORDER BY unallocated_since, crn LIMIT 1";

fn worst_unallocated_mappa(db: &Path) -> String {
    one(db, WORST_UNALLOCATED_MAPPA)
}

fn run(dir: &Path, db: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--db", db.to_str().unwrap(), "--as-of", AS_OF];
    all.extend_from_slice(args);
    casewatch(&all, dir)
}

/// The reproduction: the picker is open on an unallocated MAPPA case; another process
/// allocates it; Enter on the screen writes nothing, says who changed it, and the form
/// reopens on the case as it is now (a reallocation). The colleague's allocation stands.
#[test]
fn a_form_left_open_while_a_colleague_allocates_writes_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let crn = worst_unallocated_mappa(&db);
    let args = [
        OsStr::new("--as-of"),
        OsStr::new(AS_OF),
        OsStr::new("--as"),
        OsStr::new("spo.screen"),
        OsStr::new("--db"),
        db.as_os_str(),
    ];
    let mut screen = Screen::open(dir.path(), &args, 120, 40);
    let picker = common::open_allocation_form(&mut screen, "HFKCW", &crn);
    // The officer preselected for a VERY_HIGH MAPPA case is a probation officer.
    let chosen = picker
        .lines()
        .find(|l| l.contains("▶") && l.contains("HFKCW0"))
        .unwrap_or_else(|| panic!("no chosen row:\n{picker}"));
    assert!(chosen.contains(" PO "), "preselected: {chosen}");

    // A colleague, from another shell, allocates the case to someone else.
    let colleague: String = one(
        &db,
        "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'PO'
           AND status = 'in_post' ORDER BY staff_code DESC LIMIT 1",
    );
    let o = run(
        dir.path(),
        &db,
        &[
            "--as",
            "colleague.bob",
            "allocate",
            &crn,
            &colleague.to_lowercase(),
            "--reason",
            "initial_allocation",
            "--note",
            "bob's call",
            "--yes",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));

    // Back on the screen: the rationale, then Enter (and Enter again to confirm).
    common::allocate_with_rationale(&mut screen, "knows the area");
    let s = screen
        .wait_until(Duration::from_secs(20), |t| {
            t.contains("CHANGED, nothing written") && t.contains("REALLOCATION")
        })
        .unwrap_or_else(|t| panic!("the conflict was not shown:\n{t}"));
    assert!(s.contains("colleague.bob"), "says who changed it:\n{s}");
    assert!(s.contains(&format!("Held by {colleague}")), "{s}");
    let holder: String = one(
        &db,
        &format!("SELECT allocated_to FROM cases WHERE crn = '{crn}'"),
    );
    assert_eq!(holder, colleague, "the colleague's allocation stands");
    let writes: i64 = one(&db, "SELECT count(*) FROM audit");
    assert_eq!(writes, 1, "only the colleague's allocation was written");
    screen.send(b"\x1b");
    screen.send(b"q");
    screen.wait_exit(Duration::from_secs(10));
}

on_both!(the_command_line_refuses_a_stale_or_mislabelled_allocation_and_a_future_date);

fn the_command_line_refuses_a_stale_or_mislabelled_allocation_and_a_future_date(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = Backend::demo_seeded(kind, dir.path(), "4000", "2022");
    let db = std::path::PathBuf::from(&b.db);
    let crn = b.text(WORST_UNALLOCATED_MAPPA, &[]);
    let pos = b.texts(
        "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'PO'
           AND status = 'in_post' ORDER BY staff_code LIMIT 2",
        &[],
    );
    let o = run(
        dir.path(),
        &db,
        &[
            "allocate",
            &crn,
            &pos[0],
            "--reason",
            "initial_allocation",
            "--note",
            "first",
            "--yes",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let before = b.held();
    let refused = |args: &[&str], needle: &str| {
        let o = run(dir.path(), &db, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
        assert!(e.contains(needle), "{args:?}: {e}");
        assert!(e.contains("nothing"), "{e}");
    };
    // Labelled as an initial allocation: the case is held.
    refused(
        &[
            "allocate",
            &crn,
            &pos[1],
            "--reason",
            "initial_allocation",
            "--note",
            "x",
            "--yes",
        ],
        "already allocated",
    );
    // --was states what the caller read; the case has moved on.
    refused(
        &[
            "allocate",
            &crn,
            &pos[1],
            "--reason",
            "caseload_adjustment",
            "--note",
            "x",
            "--was",
            "unallocated",
            "--yes",
        ],
        "changed since it was read",
    );
    // No rationale.
    refused(
        &[
            "allocate",
            &crn,
            &pos[1],
            "--reason",
            "caseload_adjustment",
            "--yes",
        ],
        "rationale",
    );
    // A write dated after today, whatever --as-of says.
    let spo = b.text(
        "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'SPO'
           AND status = 'in_post' ORDER BY staff_code LIMIT 1",
        &[],
    );
    let o = casewatch(
        &[
            "--db",
            db.to_str().unwrap(),
            "--as-of",
            "2030-01-01",
            "oversight",
            &crn,
            "--by",
            &spo,
            "--kind",
            "periodic",
            "--note",
            "typo",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("after today"), "{}", stderr(&o));
    // Hostile text from the command line is refused like imported text.
    refused(
        &["note", &crn, "--text", "hello \u{1b}[2J world"],
        "control character",
    );
    refused(
        &["ack", "organisational-alert:HFKCW", "--note", "ok \u{202e}"],
        "formatting character",
    );
    assert!(b.held() == before, "nothing was written");
    // A reallocation that states the holder it read goes through, whatever the case of the
    // staff codes.
    let o = run(
        dir.path(),
        &db,
        &[
            "allocate",
            &crn,
            &pos[1].to_lowercase(),
            "--reason",
            "caseload_adjustment",
            "--note",
            "balance",
            "--was",
            &pos[0].to_lowercase(),
            "--yes",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn an_undone_sensitive_note_never_shows_without_show_sensitive() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let crn = worst_unallocated_mappa(&db);
    let o = run(
        dir.path(),
        &db,
        &["note", &crn, "--text", "disclosed a secret", "--sensitive"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let id: i64 = one(&db, "SELECT max(id) FROM audit");
    // Undo through the library (the screen's `u`), as the same database sees it.
    let mut s = casewatch::store::Store::open(&db, casewatch::store::OpenMode::Existing).unwrap();
    casewatch::actions::undo(&mut s, "tester", id).unwrap();
    for format in ["json", "text"] {
        let o = run(
            dir.path(),
            &db,
            &["audit", "--crn", &crn, "--format", format],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(!out.contains("disclosed a secret"), "{format}: {out}");
        assert!(out.contains("undo"), "{format}: {out}");
    }
    let o = run(
        dir.path(),
        &db,
        &[
            "audit",
            "--crn",
            &crn,
            "--format",
            "json",
            "--show-sensitive",
        ],
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("disclosed a secret"));
}
