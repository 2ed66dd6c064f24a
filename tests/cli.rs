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

/// The mode bits of `p`.
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Runs casewatch with `args` under `umask 022`, which alone would make new files
/// world-readable: a file that comes out 0600 does so because casewatch made it so.
fn with_open_umask(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    let o = Command::new("sh")
        .arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_casewatch"))
        .args(args)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("CASEWATCH_DB")
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "{args:?}: {}",
        stderr(&o)
    );
    o
}

/// The database, exports, reports (`alerts --out`), backups and, while the database is open,
/// its `-wal` and `-shm` files are all created readable by their owner only, whatever the
/// umask: they hold the names and risk levels of people under supervision.
#[test]
fn every_file_casewatch_writes_is_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let p = |name: &str| home.join(name).to_str().unwrap().to_string();
    let db = p("m.db");
    with_open_umask(
        home,
        &[
            "--as-of",
            "2026-11-01",
            "demo",
            "--cases",
            "2000",
            "--db",
            &db,
        ],
    );
    let (export, report, backup) = (p("e.csv"), p("r.json"), p("b.db"));
    let with_db = |rest: &[&str]| -> Vec<String> {
        ["--db", &db, "--as-of", "2026-11-01"]
            .iter()
            .chain(rest)
            .map(|s| s.to_string())
            .collect()
    };
    for args in [
        with_db(&["export", "unallocated", "--out", &export]),
        with_db(&["alerts", "--format", "json", "--out", &report]),
        with_db(&["backup", &backup]),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        with_open_umask(home, &args);
    }
    for f in [&db, &export, &report, &backup] {
        assert_eq!(mode(std::path::Path::new(f)), 0o600, "{f}");
    }
    assert!(std::fs::metadata(&report).unwrap().len() > 0);

    // The -wal and -shm files exist while a connection is open: the screen keeps one.
    let probe = home.join("umask-probe");
    std::fs::File::create(&probe).unwrap();
    assert_ne!(
        mode(&probe) & 0o044,
        0,
        "this test's umask already hides new files from others, so it cannot tell whether \
         casewatch does: run it under umask 022"
    );
    let args = ["--as-of", "2026-11-01", "--db", &db].map(std::ffi::OsStr::new);
    let mut screen = common::Screen::open(home, &args, 120, 40);
    screen.wait_for("18 PDUs");
    for side in ["-wal", "-shm"] {
        let f = std::path::PathBuf::from(format!("{db}{side}"));
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    screen.send(b"q");
    assert!(
        screen
            .wait_exit(std::time::Duration::from_secs(10))
            .success()
    );
}

/// `casewatch check` exits 0 and says "healthy" on a sound database, and exits 1 naming the
/// problem when a reference dangles (written by another SQLite client with foreign keys off).
#[test]
fn check_exits_0_on_a_healthy_database_and_1_on_a_dangling_reference() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    common::build_demo(dir.path(), &db, "2000", "3");
    let check = || casewatch(&["--db", db.to_str().unwrap(), "check"], dir.path());
    let o = check();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("result: healthy"), "{out}");
    assert!(out.contains("foreign keys: ok"), "{out}");

    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "PRAGMA foreign_keys = OFF;
         UPDATE cases SET allocated_to = 'NOBODY1'
           WHERE crn = (SELECT min(crn) FROM cases WHERE allocated_to IS NOT NULL);",
    )
    .unwrap();
    drop(c);
    let o = check();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(out.contains("result: PROBLEMS FOUND"), "{out}");
    assert!(out.contains("1 dangling references"), "{out}");
}
