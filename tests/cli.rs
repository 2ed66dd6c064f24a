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
fn forecast_names_hfkcws_worsening_figures_and_the_backtest_states_its_figure() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let db = db.to_str().unwrap();
    let at = ["--as-of", "2026-11-23", "--db", db];
    let o = casewatch(
        &[&at[..], &["demo", "--cases", "3000"]].concat(),
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = casewatch(
        &[&at[..], &["forecast", "--pdu", "HFKCW"]].concat(),
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("HFKCW\n"), "{text}");
    assert!(
        text.contains("getting worse") || text.contains("worsening"),
        "{text}"
    );
    assert!(text.contains("vacancy 4"), "{text}");
    let o = casewatch(
        &[&at[..], &["forecast", "--backtest", "--format", "json"]].concat(),
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["nights"], 60);
    let share = doc["share_within_a_week"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&share));
    let hfkcw = doc["pdus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pdu"] == "HFKCW")
        .unwrap();
    assert!(hfkcw["backtest"]["forecasts"].as_u64().unwrap() > 0);
    // An unknown region is an error, not an empty forecast.
    for extra in [&[][..], &["--backtest"]] {
        let o = casewatch(
            &[&at[..], &["forecast", "--region", "Nowhere"], extra].concat(),
            dir.path(),
        );
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains("no PDUs in region 'Nowhere'"),
            "{}",
            stderr(&o)
        );
    }
    // The alerts JSON carries the same forecasts.
    let o = casewatch(
        &[&at[..], &["alerts", "--format", "json"]].concat(),
        dir.path(),
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        doc["forecasts"]["trends"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["pdu"] == "HFKCW" && t["metric"] == "vacancy_rate")
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

/// The database (built by `demo`, rebuilt over an old one, or made on a first run), exports,
/// reports (`alerts --out`), backups and, while the database is open, its `-wal` and `-shm`
/// files are all created readable by their owner only, whatever the umask: they hold the
/// names and risk levels of people under supervision.
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
    // A demo rebuilt over the database (built beside it and renamed into place) and the
    // default database of a first run, in a data directory made for the owner only.
    with_open_umask(
        home,
        &[
            "--as-of",
            "2026-11-01",
            "demo",
            "--cases",
            "1000",
            "--seed",
            "9",
            "--db",
            &db,
        ],
    );
    assert_eq!(mode(std::path::Path::new(&db)), 0o600);
    with_open_umask(home, &["--as-of", "2026-11-01", "summary"]);
    let default_db = home.join("data/casewatch/casewatch.db");
    assert_eq!(mode(&default_db), 0o600);
    assert_eq!(mode(&home.join("data/casewatch")), 0o700);
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

/// A file's bytes, mode and modification time: what "left exactly as it was" means.
fn snapshot(p: &std::path::Path) -> (Vec<u8>, u32, std::time::SystemTime) {
    let m = std::fs::metadata(p).unwrap();
    (std::fs::read(p).unwrap(), mode(p), m.modified().unwrap())
}

/// A demo database somebody has used (a note and an oversight record, two recorded nights and
/// an acknowledgement) is not replaced by another `demo` without `--force`: the refusal says
/// what would be lost and leaves the file as it was. A fresh demo database (its own synthetic
/// nights are not a user's) is replaced without asking, and `--force` replaces a used one.
#[test]
fn demo_refuses_to_replace_a_database_holding_user_writes_and_says_what_would_be_lost() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("used.db");
    let db_s = db.to_str().unwrap();
    let demo = |extra: &[&str]| {
        let mut args = vec![
            "--as-of",
            "2026-11-01",
            "demo",
            "--cases",
            "1000",
            "--db",
            db_s,
        ];
        args.extend_from_slice(extra);
        casewatch(&args, home)
    };
    let ok = |o: &std::process::Output| assert!(o.status.success(), "{}", stderr(o));
    ok(&demo(&[]));
    // A second demo over a fresh one: no user writes, no --force needed.
    let o = demo(&["--seed", "5"]);
    ok(&o);
    assert!(stderr(&o).contains("built demo database"), "{}", stderr(&o));

    let crn: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT min(crn) FROM cases", [], |r| r.get(0))
        .unwrap();
    let on = |day: &str, rest: &[&str]| {
        let mut args = vec!["--db", db_s, "--as-of", day, "--as", "spo1"];
        args.extend_from_slice(rest);
        casewatch(&args, home)
    };
    let with_db = |rest: &[&str]| on("2026-11-01", rest);
    ok(&with_db(&["note", &crn, "--text", "seen at court"]));
    // Recorded again for a night the demo covered, then for today: both are the user's.
    for day in ["2026-10-31", "2026-11-01"] {
        let o = on(day, &["alerts", "--record"]);
        assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
    }
    let o = with_db(&["alerts", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let key = doc["incidents"][0]["key"].as_str().unwrap().to_string();
    ok(&with_db(&["ack", &key, "--note", "taken to the PDU head"]));

    let before = snapshot(&db);
    let o = demo(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "casewatch: error: {db_s} holds 2 audit entries, 1 acknowledgement and 2 recorded \
             nightly runs that would be lost; pass --force to replace it\n"
        )
    );
    assert_eq!(snapshot(&db), before, "a refused demo changed the file");

    let o = demo(&["--force"]);
    ok(&o);
    let c = rusqlite::Connection::open(&db).unwrap();
    let (audit, acks, runs): (i64, i64, i64) = c
        .query_row(
            "SELECT (SELECT count(*) FROM audit), (SELECT count(*) FROM alert_acks),
                    (SELECT count(*) FROM alert_runs WHERE actor <> 'demo')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((audit, acks, runs), (0, 0, 0));
    drop(c);
    assert_eq!(mode(&db), 0o600);
    // And it is fresh again: the next demo goes ahead unasked.
    ok(&demo(&[]));
}

/// `demo` does not overwrite a file it does not own: a foreign SQLite database, a text file,
/// an empty file or an imported database, each left as it was; `--force` replaces a file, but
/// never a directory.
#[test]
fn demo_refuses_files_it_does_not_own_and_never_replaces_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let foreign = home.join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let text = home.join("notes.txt");
    std::fs::write(&text, "shopping list\n").unwrap();
    let empty = home.join("empty.db");
    std::fs::File::create(&empty).unwrap();
    let imported = home.join("imported.db");
    let pdus = home.join("pdus.csv");
    std::fs::write(&pdus, "code,name,region\nPDU1,One,R\n").unwrap();
    let o = casewatch(
        &[
            "--db",
            imported.to_str().unwrap(),
            "import",
            pdus.to_str().unwrap(),
            "--kind",
            "pdus",
        ],
        home,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for (file, why) in [
        (&foreign, "it is a SQLite database but not a casewatch one"),
        (&text, "it is not a SQLite database"),
        (&empty, "it is empty (0 bytes), not a casewatch database"),
        (
            &imported,
            "it is a casewatch database but not a demo one (origin: import) and holds 1 audit \
             entry, 0 acknowledgements and 0 recorded nightly runs that would be lost",
        ),
    ] {
        let before = snapshot(file);
        let o = casewatch(
            &["demo", "--cases", "1000", "--db", file.to_str().unwrap()],
            home,
        );
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(
            e.starts_with(&format!(
                "casewatch: error: refusing to replace {}: {why}",
                file.display()
            )),
            "{e}"
        );
        assert!(e.ends_with("; pass --force to replace it\n"), "{e}");
        assert_eq!(snapshot(file), before, "{}", file.display());
    }
    let o = casewatch(
        &[
            "demo",
            "--cases",
            "1000",
            "--force",
            "--db",
            text.to_str().unwrap(),
        ],
        home,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(mode(&text), 0o600);

    let sub = home.join("a-directory");
    std::fs::create_dir(&sub).unwrap();
    let o = casewatch(
        &[
            "demo",
            "--cases",
            "1000",
            "--force",
            "--db",
            sub.to_str().unwrap(),
        ],
        home,
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "casewatch: error: {} is a directory, not a database file\n",
            sub.display()
        )
    );
    assert!(sub.is_dir());
}

/// The commands that take `--db`, each with what else it needs.
fn every_db_command(home: &std::path::Path) -> Vec<Vec<String>> {
    let csv = home.join("pdus.csv");
    std::fs::write(&csv, "code,name,region\nPDU1,One,R\n").unwrap();
    let backup = home.join("never.db");
    [
        &["summary"][..],
        &["init"],
        &["import", csv.to_str().unwrap(), "--kind", "pdus"],
        &[
            "import",
            csv.to_str().unwrap(),
            "--kind",
            "pdus",
            "--dry-run",
        ],
        &["allocate", "X000001", "AB1", "--reason", "other"],
        &["note", "X000001", "--text", "t"],
        &["alerts", "--record"],
        &["review"],
        &["export", "unallocated"],
        &["audit"],
        &["silences"],
        &["forecast"],
        &["check"],
        &["backup", backup.to_str().unwrap()],
    ]
    .iter()
    .map(|a| a.iter().map(|s| s.to_string()).collect())
    .collect()
}

/// A 0-byte file is not an empty database to write a schema into: every command refuses it
/// in one line naming it, and the file keeps its bytes (none), mode and modification time.
/// The triage screen refuses it before the screen starts.
#[test]
fn an_empty_file_as_db_is_refused_by_every_command_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("empty.db");
    std::fs::File::create(&db).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let before = snapshot(&db);
    let said = format!(
        "casewatch: error: {} is empty (0 bytes): not a casewatch database; remove it or give \
         another --db\n",
        db.display()
    );
    for args in every_db_command(home) {
        let mut all = vec!["--db".to_string(), db.to_str().unwrap().to_string()];
        all.extend(args.iter().cloned());
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let o = casewatch(&all, home);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), said, "{args:?}");
        assert_eq!(snapshot(&db), before, "{args:?} changed the file");
    }
    assert!(!home.join("never.db").exists());
    let listing = |suffix: &str| home.join(format!("empty.db{suffix}")).exists();
    assert!(!listing("-wal") && !listing("-shm") && !listing("-journal"));

    let args = ["--db", db.to_str().unwrap()].map(std::ffi::OsStr::new);
    let mut screen = common::Screen::open(home, &args, 250, 30);
    // The message is read from the terminal by another thread: wait for it, then the exit.
    screen.wait_for("not a casewatch database");
    let status = screen.wait_exit(std::time::Duration::from_secs(20));
    assert_eq!(status.exit_code(), 2);
    let shown = String::from_utf8_lossy(&screen.raw()).into_owned();
    assert!(
        shown.contains("is empty (0 bytes): not a casewatch database"),
        "{shown:?}"
    );
    assert!(
        !shown.contains("\u{1b}[?1049h"),
        "the screen started: {shown:?}"
    );
    assert_eq!(snapshot(&db), before, "the screen changed the file");
}

/// `--db` naming a directory says so, for every command, instead of "disk I/O error".
#[test]
fn a_directory_as_db_is_named_as_one_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("cases.db");
    std::fs::create_dir(&db).unwrap();
    let said = format!(
        "casewatch: error: {} is a directory, not a database file\n",
        db.display()
    );
    let mut commands = every_db_command(home);
    commands.push(vec!["demo".into(), "--cases".into(), "1000".into()]);
    for args in commands {
        let mut all = vec!["--db".to_string(), db.to_str().unwrap().to_string()];
        all.extend(args.iter().cloned());
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let o = casewatch(&all, home);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), said, "{args:?}");
    }
    assert_eq!(std::fs::read_dir(&db).unwrap().count(), 0);
}

/// A file that is not a casewatch database (text, or another program's SQLite file) is
/// refused by the commands that would write to it, and left as it was.
#[test]
fn a_file_that_is_not_a_casewatch_database_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let text = home.join("readme.db");
    std::fs::write(&text, "not a database at all\n").unwrap();
    let foreign = home.join("other-app.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    for (db, said) in [
        (&text, "is not a SQLite database"),
        (&foreign, "is a SQLite database but not a casewatch one"),
    ] {
        let before = snapshot(db);
        for args in every_db_command(home) {
            // `check` reports on any SQLite file (exit 1, "casewatch file: NO"); `init`
            // refuses any existing file.
            if args[0] == "check" || (args[0] == "init" && db == &foreign) {
                continue;
            }
            let mut all = vec!["--db".to_string(), db.to_str().unwrap().to_string()];
            all.extend(args.iter().cloned());
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            let o = casewatch(&all, home);
            let e = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
            assert!(
                e.contains(&format!("{} {said}", db.display())),
                "{args:?}: {e}"
            );
            assert_eq!(snapshot(db), before, "{args:?} changed {}", db.display());
        }
    }
}

/// A demo database in which another SQLite client wrote an escape sequence and a bidi
/// override into a case's name and a bidi override into HFKCW's name; the case's CRN.
fn hostile_names(home: &std::path::Path) -> (std::path::PathBuf, String) {
    let db = home.join("hostile.db");
    common::build_demo(home, &db, "1000", "4");
    let c = rusqlite::Connection::open(&db).unwrap();
    let crn: String = c
        .query_row(
            "SELECT min(crn) FROM cases WHERE allocated_to IS NULL AND pdu = 'HFKCW'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    c.execute(
        "UPDATE cases SET name = ?1 WHERE crn = ?2",
        rusqlite::params![HOSTILE_CASE_NAME, crn],
    )
    .unwrap();
    c.execute(
        "UPDATE pdus SET name = ?1 WHERE code = 'HFKCW'",
        [HOSTILE_PDU_NAME],
    )
    .unwrap();
    (db, crn)
}

const HOSTILE_CASE_NAME: &str = "Ann\u{1b}[2J\u{1b}]0;owned\u{7}Lee\u{202E}cba";
const HOSTILE_PDU_NAME: &str = "Hammersmith\u{202E}retsnimtseW";

/// The headless outputs that show the planted names, with the text each must hold written
/// to a pipe (as stored: CSV raw, JSON with its own escapes) and to a terminal.
fn hostile_outputs(db: &str) -> Vec<(Vec<String>, &'static str, &'static str)> {
    let args = |rest: &[&str]| -> Vec<String> {
        ["--db", db, "--as-of", "2026-11-01"]
            .iter()
            .chain(rest)
            .map(|s| s.to_string())
            .collect()
    };
    vec![
        (
            args(&["export", "unallocated", "--pdu", "HFKCW"]),
            HOSTILE_CASE_NAME,
            "Ann␛[2J␛]0;owned␇Lee\u{FFFD}cba",
        ),
        (
            args(&[
                "export",
                "unallocated",
                "--pdu",
                "HFKCW",
                "--format",
                "json",
            ]),
            "Ann\\u001b[2J\\u001b]0;owned\\u0007Lee\u{202E}cba",
            "Ann\\u001b[2J\\u001b]0;owned\\u0007Lee\u{FFFD}cba",
        ),
        (
            args(&["summary", "--format", "json"]),
            HOSTILE_PDU_NAME,
            "Hammersmith\u{FFFD}retsnimtseW",
        ),
        (
            args(&["review", "--pdu", "HFKCW", "--format", "json"]),
            HOSTILE_PDU_NAME,
            "Hammersmith\u{FFFD}retsnimtseW",
        ),
    ]
}

/// To a pipe (or a file), headless outputs are the stored bytes: an export of a name holding
/// an escape sequence and a bidi override carries them as stored, so CSV and JSON round-trip.
#[test]
fn headless_outputs_to_a_pipe_keep_stored_strings_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let (db, crn) = hostile_names(home);
    for (args, piped, _) in hostile_outputs(db.to_str().unwrap()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = casewatch(&args, home);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(out.contains(piped), "{args:?}: {out}");
    }
    // The CSV parses back to the stored name.
    let o = casewatch(
        &[
            "--db",
            db.to_str().unwrap(),
            "--as-of",
            "2026-11-01",
            "export",
            "unallocated",
        ],
        home,
    );
    let mut rows = csv::Reader::from_reader(&o.stdout[..]);
    let names: Vec<String> = rows
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[0] == crn.as_str())
        .map(|r| r[1].to_string())
        .collect();
    assert_eq!(names, [HOSTILE_CASE_NAME]);
}

/// To a terminal, the same outputs show the stored strings with control characters, escape
/// sequences and bidi overrides made visible, as the screen does: not one ESC, BEL or
/// override reaches the terminal.
#[test]
fn headless_outputs_to_a_terminal_make_stored_control_characters_visible() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let (db, _) = hostile_names(home);
    for (args, _, shown) in hostile_outputs(db.to_str().unwrap()) {
        let os: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        let mut screen = common::Screen::open(home, &os, 250, 50);
        let status = screen.wait_exit(std::time::Duration::from_secs(20));
        assert_eq!(status.exit_code(), 0, "{args:?}");
        // The output is read from the terminal by another thread: give it time to arrive.
        let start = std::time::Instant::now();
        let raw = loop {
            let raw = String::from_utf8_lossy(&screen.raw()).into_owned();
            if raw.contains(shown) || start.elapsed() > std::time::Duration::from_secs(10) {
                break raw;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(raw.contains(shown), "{args:?}: {raw:?}");
        for bad in ['\u{1b}', '\u{7}', '\u{202E}'] {
            assert!(
                !raw.contains(bad),
                "{args:?}: {bad:?} reached the terminal: {raw:?}"
            );
        }
    }
}
