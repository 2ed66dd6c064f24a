//! Faults and concurrency, with real processes on a real database file.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_casewatch"));
    c.env_remove("CASEWATCH_DB");
    c
}

fn build_demo(db: &Path, seed: &str, cases: &str) {
    let o = bin()
        .args([
            "--as-of",
            "2026-11-01",
            "demo",
            "--cases",
            cases,
            "--seed",
            seed,
            "--db",
        ])
        .arg(db)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn integrity(db: &Path) -> String {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// Several processes write notes at the same moment while another reads the summary: every
/// write lands exactly once and nobody sees "database is locked".
#[test]
fn concurrent_writers_lose_nothing_and_never_report_a_lock() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    build_demo(&db, "5", "2000");
    let crn: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT crn FROM cases ORDER BY crn LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    const WRITERS: usize = 4;
    const NOTES: usize = 15;
    let mut children = Vec::new();
    for w in 0..WRITERS {
        let db = db.clone();
        let crn = crn.clone();
        children.push(std::thread::spawn(move || {
            for n in 0..NOTES {
                let o = bin()
                    .arg("--db")
                    .arg(&db)
                    .args(["--as", &format!("writer{w}"), "note", &crn, "--text"])
                    .arg(format!("w{w}-n{n}"))
                    .output()
                    .unwrap();
                let err = String::from_utf8_lossy(&o.stderr).into_owned();
                assert!(o.status.success(), "writer {w} note {n}: {err}");
                assert!(!err.contains("locked"), "{err}");
            }
        }));
    }
    let reader = {
        let db = db.clone();
        std::thread::spawn(move || {
            for _ in 0..10 {
                let o = bin()
                    .arg("--db")
                    .arg(&db)
                    .args(["--as-of", "2026-11-01", "summary", "--format", "json"])
                    .output()
                    .unwrap();
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            }
        })
    };
    for c in children {
        c.join().unwrap();
    }
    reader.join().unwrap();
    let c = rusqlite::Connection::open(&db).unwrap();
    let (notes, distinct): (i64, i64) = c
        .query_row(
            "SELECT count(*), count(DISTINCT text) FROM notes",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(notes, (WRITERS * NOTES) as i64);
    assert_eq!(distinct, notes, "a note landed twice");
    let audits: i64 = c
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'note'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audits, notes, "every note has its audit row");
    assert_eq!(integrity(&db), "ok");
}

/// A demo rebuild killed at random moments leaves the old database whole, or the new one
/// complete: never a mixture, never a corrupt file.
#[test]
fn a_killed_demo_rebuild_leaves_a_whole_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    build_demo(&db, "1", "2000");
    for (i, delay_ms) in [5u64, 40, 120, 300, 700].into_iter().enumerate() {
        let mut child = bin()
            .args([
                "--as-of",
                "2026-11-01",
                "demo",
                "--cases",
                "60000",
                "--seed",
            ])
            .arg((100 + i).to_string())
            .arg("--db")
            .arg(&db)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        assert_eq!(integrity(&db), "ok", "after a kill at {delay_ms} ms");
        let c = rusqlite::Connection::open(&db).unwrap();
        let (seed, cases): (String, i64) = c
            .query_row(
                "SELECT (SELECT value FROM meta WHERE key = 'demo_seed'), (SELECT count(*) FROM cases)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let expected: i64 = if seed == "1" { 2000 } else { 60000 };
        assert_eq!(
            cases, expected,
            "seed {seed} with {cases} cases is a mixture"
        );
    }
}

/// The nightly run killed at random moments: the database stays whole, and the run for the
/// day is either absent or complete, never half recorded.
#[test]
fn a_killed_nightly_run_records_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.db");
    build_demo(&db, "9", "20000");
    // The reference: a complete run recorded on a copy.
    let reference = dir.path().join("ref.db");
    std::fs::copy(&db, &reference).unwrap();
    let o = bin()
        .args([
            "--as-of",
            "2026-11-01",
            "alerts",
            "--record",
            "--format",
            "json",
            "--db",
        ])
        .arg(&reference)
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0 | 3)));
    let count = |p: &Path| -> (i64, i64) {
        let c = rusqlite::Connection::open(p).unwrap();
        c.query_row(
            "SELECT (SELECT count(*) FROM alert_runs), (SELECT count(*) FROM run_alerts)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let (_, full) = count(&reference);
    assert!(full > 0);
    for delay_ms in [20u64, 60, 120, 200, 350] {
        let mut child = bin()
            .args([
                "--as-of",
                "2026-11-01",
                "alerts",
                "--record",
                "--format",
                "json",
                "--db",
            ])
            .arg(&db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(integrity(&db), "ok", "after a kill at {delay_ms} ms");
        let (runs, alerts) = count(&db);
        assert!(
            (runs, alerts) == (0, 0) || (runs, alerts) == (1, full),
            "kill at {delay_ms} ms left {runs} runs with {alerts} alerts (a whole run has {full})"
        );
    }
}
