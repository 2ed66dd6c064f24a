//! End-to-end tests of the headless commands: the real binary on real SQLite files.

use std::process::Command;

mod common;
use common::{casewatch, stderr};

#[test]
fn demo_then_summary_json_shows_hfkcw_as_published() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let db = db.to_str().unwrap();
    let o = casewatch(&["--as-of", "2026-11-23", "demo", "--db", db], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("synthetic"));
    let o = casewatch(
        &[
            "--db",
            db,
            "--as-of",
            "2026-11-23",
            "summary",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["as_of"], "2026-11-23");
    let pdus = doc["pdus"].as_array().unwrap();
    assert_eq!(pdus.len(), 18);
    let h = pdus.iter().find(|p| p["code"] == "HFKCW").unwrap();
    assert_eq!(h["unallocated_mappa"], 58);
    assert!((h["vacancy_rate"].as_f64().unwrap() - 0.43).abs() < 0.02);
    assert_eq!(h["rating"], "inadequate");
    let mut rated: Vec<(&str, &str)> = pdus
        .iter()
        .filter(|p| !p["rating"].is_null())
        .map(|p| (p["code"].as_str().unwrap(), p["rating"].as_str().unwrap()))
        .collect();
    // The summary lists the worst status first; compare as a set.
    rated.sort();
    assert_eq!(
        rated,
        vec![
            ("BDH", "requires_improvement"),
            ("EAH", "inadequate"),
            ("HFKCW", "inadequate"),
            ("LAB", "inadequate"),
            ("LAM", "inadequate"),
            ("NEW", "requires_improvement"),
        ]
    );
}

#[test]
fn first_run_creates_the_default_database_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let o = casewatch(&["summary"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("creating a demo database"),
        "{}",
        stderr(&o)
    );
    assert!(dir.path().join("data/casewatch/casewatch.db").exists());
    // The second run is quiet.
    let o = casewatch(&["summary"], dir.path());
    assert!(o.status.success());
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn a_bad_as_of_is_a_one_line_error_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let o = casewatch(&["--as-of", "2026-13-01", "summary"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("2026-13-01"), "{e}");
    assert!(!dir.path().join("data").exists());
}

#[test]
fn a_missing_explicit_database_is_an_error_not_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("missing.db");
    let o = casewatch(&["--db", db.to_str().unwrap(), "summary"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("no database at"), "{e}");
    assert!(!db.exists());
}

#[test]
fn a_corrupt_database_is_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("corrupt.db");
    std::fs::write(
        &db,
        b"SQLite format 3\0 but then garbage follows".repeat(100),
    )
    .unwrap();
    let before = std::fs::read(&db).unwrap();
    let o = casewatch(&["--db", db.to_str().unwrap(), "summary"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("corrupt.db"), "{e}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn a_database_from_a_newer_version_is_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("future.db");
    let o = casewatch(&["init", "--db", db.to_str().unwrap()], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA user_version = 999;")
            .unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    let o = casewatch(&["--db", db.to_str().unwrap(), "summary"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("schema version 999"), "{e}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn demo_refuses_to_replace_a_database_that_is_not_a_demo() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("real.db");
    let db_s = db.to_str().unwrap();
    assert!(
        casewatch(&["init", "--db", db_s], dir.path())
            .status
            .success()
    );
    let o = casewatch(&["demo", "--db", db_s, "--cases", "1000"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    let o = casewatch(
        &["demo", "--db", db_s, "--cases", "1000", "--force"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn the_db_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("env.db");
    let o = Command::new(env!("CARGO_BIN_EXE_casewatch"))
        .args(["demo", "--cases", "1000"])
        .env("CASEWATCH_DB", &db)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(db.exists());
}

#[test]
fn an_unknown_flag_is_refused_with_usage() {
    let dir = tempfile::tempdir().unwrap();
    let o = casewatch(&["summary", "--frobnicate"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--frobnicate"));
}
