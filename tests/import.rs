//! End-to-end tests of `casewatch import` and `casewatch export`: the real binary on real
//! files, with the database bytes compared before and after every rejected import.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{casewatch, cmd};

const AS_OF: &str = "2026-11-23";
const KINDS: [&str; 8] = [
    "pdus",
    "establishment",
    "practitioners",
    "cases",
    "contacts",
    "oversight",
    "enquiries",
    "assessments",
];

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn data(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
        .to_str()
        .unwrap()
        .to_string()
}

fn import(db: &str, file: &str, kind: &str, home: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["--db", db, "import", file, "--kind", kind];
    args.extend_from_slice(extra);
    casewatch(&args, home)
}

/// A database holding the tiny two-PDU region of `tests/data/region`.
fn region(dir: &Path) -> String {
    let db = dir.join("region.db").to_str().unwrap().to_string();
    for kind in KINDS {
        let o = import(&db, &data(&format!("region/{kind}.csv")), kind, dir, &[]);
        assert!(o.status.success(), "{kind}: {}", text(&o.stderr));
    }
    db
}

fn summary(db: &str, home: &Path) -> serde_json::Value {
    let o = casewatch(
        &["--db", db, "--as-of", AS_OF, "summary", "--format", "json"],
        home,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn pdu<'a>(doc: &'a serde_json::Value, code: &str) -> &'a serde_json::Value {
    doc["pdus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == code)
        .unwrap()
}

#[test]
fn a_hand_written_region_imports_into_a_new_database_and_the_summary_matches() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("region.db");
    let o = import(
        db.to_str().unwrap(),
        &data("region/pdus.csv"),
        "pdus",
        dir.path(),
        &[],
    );
    assert!(
        text(&o.stderr).contains("created an empty one"),
        "{}",
        text(&o.stderr)
    );
    let db = region(dir.path());
    let o = import(
        &db,
        &data("region/contacts.jsonl"),
        "contacts",
        dir.path(),
        &[],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("2 inserted"),
        "{}",
        text(&o.stdout)
    );

    let doc = summary(&db, dir.path());
    assert_eq!(doc["pdus"].as_array().unwrap().len(), 2);
    let lam = pdu(&doc, "LAM");
    assert_eq!(lam["cases"], 4);
    assert_eq!(lam["unallocated"], 2);
    assert_eq!(lam["unallocated_mappa"], 1);
    assert_eq!(lam["unallocated_high_rosh"], 1);
    assert_eq!(lam["no_rosh"], 1);
    assert_eq!(lam["rating"], "inadequate");
    assert_eq!(lam["ppf_status"], "red");
    assert_eq!(lam["score"], 3);
    assert_eq!(lam["target_fte"], 8.0);
    // 37 + 37 + 18.5 hours in post against 8 posts of 37 hours.
    assert!((lam["in_post_fte"].as_f64().unwrap() - 2.5).abs() < 1e-9);
    // X100002 (HIGH) last overseen in February: overdue.
    assert_eq!(lam["oversight_required"], 1);
    assert_eq!(lam["oversight_overdue"], 1);
    // X100003 (LOW) last seen 2026-10-01, more than 42 days before the as-of date.
    assert_eq!(lam["contacts_overdue"], 1);
    let new = pdu(&doc, "NEW");
    assert_eq!(new["cases"], 3);
    assert_eq!(new["unallocated_mappa"], 1);
    assert_eq!(new["mappa_cases"], 2);
    assert_eq!(new["oversight_overdue"], 2);
    // The SPO, the NQO and the long-term sick PO fill posts: 3 of 6.
    assert!((new["vacancy_rate"].as_f64().unwrap() - 0.5).abs() < 1e-9);
    assert_eq!(new["high_risk_contacts_overdue"], 1);
}

/// Imports a file that must be rejected; checks exit code 2, the message, and that the
/// database file is byte for byte what it was.
fn rejected(db: &str, file: &str, kind: &str, home: &Path, expect: &[&str]) -> String {
    let before = std::fs::read(db).unwrap();
    let o = import(db, file, kind, home, &[]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for e in expect {
        assert!(err.contains(e), "expected {e:?} in:\n{err}");
    }
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(
        std::fs::read(db).unwrap(),
        before,
        "{file} changed the database"
    );
    err
}

#[test]
fn bad_files_are_rejected_with_their_line_and_leave_the_database_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = region(home);
    let bad = |f: &str| data(&format!("bad/{f}"));
    rejected(
        &db,
        &bad("bad_date.csv"),
        "cases",
        home,
        &["bad_date.csv:3:sentence_date:", "(got '2026-02-30')"],
    );
    rejected(
        &db,
        &bad("unknown_grade.csv"),
        "practitioners",
        home,
        &["unknown_grade.csv:3:grade:", "(got 'ACO')"],
    );
    rejected(
        &db,
        &bad("crn_twice.csv"),
        "cases",
        home,
        &["crn_twice.csv:4:crn:", "also on line 2", "X300001"],
    );
    rejected(
        &db,
        &bad("dangling_practitioner.csv"),
        "cases",
        home,
        &[
            "dangling_practitioner.csv:2:allocated_to:",
            "no such practitioner",
        ],
    );
    rejected(
        &db,
        &bad("truncated.csv"),
        "cases",
        home,
        &["truncated.csv:3:", "found 9"],
    );
    rejected(
        &db,
        &bad("wrong_header.csv"),
        "cases",
        home,
        &[
            "wrong_header.csv:1:full_name: unknown column",
            "wrong_header.csv:1:name: required column is missing",
        ],
    );
    let err = rejected(
        &db,
        &bad("control_chars.csv"),
        "cases",
        home,
        &[
            "control_chars.csv:2:name: contains a control character (U+001B)",
            "control_chars.csv:3:name:",
            "(got 'Hal␛[2J Price')",
        ],
    );
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{202E}'),
        "{err:?}"
    );
    // A contact for a case nobody imported.
    let orphan = home.join("orphan.csv");
    std::fs::write(&orphan, "crn,date,kind\nX999999,2026-01-01,video\n").unwrap();
    rejected(
        &db,
        orphan.to_str().unwrap(),
        "contacts",
        home,
        &["orphan.csv:2:crn: no such case"],
    );
}

#[test]
fn windows_line_endings_and_a_byte_order_mark_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let db = region(dir.path());
    let o = import(&db, &data("ok/bom_crlf.csv"), "cases", dir.path(), &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("2 inserted"),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(pdu(&summary(&db, dir.path()), "NEW")["cases"], 4);
}

#[test]
fn re_importing_the_same_files_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = region(dir.path());
    let before = std::fs::read(&db).unwrap();
    for kind in KINDS {
        let o = import(
            &db,
            &data(&format!("region/{kind}.csv")),
            kind,
            dir.path(),
            &[],
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(out.contains("0 inserted, 0 updated"), "{kind}: {out}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn a_changed_row_is_an_update_and_a_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = region(dir.path());
    let changed = dir.path().join("pdus.csv");
    let src = std::fs::read_to_string(data("region/pdus.csv")).unwrap();
    std::fs::write(
        &changed,
        src.replace("Lambeth,London,red", "Lambeth,London,amber"),
    )
    .unwrap();
    let before = std::fs::read(&db).unwrap();
    let o = import(
        &db,
        changed.to_str().unwrap(),
        "pdus",
        dir.path(),
        &["--dry-run"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("would import"), "{out}");
    assert!(out.contains("1 updated, 1 unchanged"), "{out}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
    let o = import(&db, changed.to_str().unwrap(), "pdus", dir.path(), &[]);
    assert!(text(&o.stdout).contains("1 updated"));
    assert_eq!(pdu(&summary(&db, dir.path()), "LAM")["ppf_status"], "amber");
}

#[test]
fn a_rejected_import_into_a_new_path_leaves_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let o = import(
        db.to_str().unwrap(),
        &data("bad/wrong_header.csv"),
        "cases",
        dir.path(),
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!db.exists());
}

#[test]
fn exports_re_import_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = region(home);
    for (view, kind) in [
        ("unallocated", "cases"),
        ("mappa", "cases"),
        ("oversight-overdue", "cases"),
        ("contacts-overdue", "cases"),
        ("practitioners", "practitioners"),
        ("summary", "pdus"),
    ] {
        for (format, ext) in [("csv", "csv"), ("json", "jsonl")] {
            let out = home.join(format!("{view}.{ext}"));
            let o = casewatch(
                &[
                    "--db",
                    &db,
                    "--as-of",
                    AS_OF,
                    "export",
                    view,
                    "--format",
                    format,
                    "--out",
                    out.to_str().unwrap(),
                ],
                home,
            );
            assert!(o.status.success(), "{view}: {}", text(&o.stderr));
            let before = std::fs::read(&db).unwrap();
            let o = import(&db, out.to_str().unwrap(), kind, home, &[]);
            let stdout = text(&o.stdout);
            assert!(o.status.success(), "{view} {format}: {}", text(&o.stderr));
            assert!(stdout.contains("0 inserted, 0 updated"), "{view}: {stdout}");
            assert!(!stdout.contains(" 0 unchanged"), "{view}: {stdout}");
            assert_eq!(std::fs::read(&db).unwrap(), before);
        }
    }
    let o = casewatch(
        &[
            "--db",
            &db,
            "--as-of",
            AS_OF,
            "export",
            "unallocated",
            "--pdu",
            "LAM",
        ],
        home,
    );
    let csv = text(&o.stdout);
    assert!(csv.starts_with("crn,name,pdu,team,tier,rosh,"), "{csv}");
    // Highest risk first, as on screen.
    let crns: Vec<&str> = csv.lines().skip(1).map(|l| &l[..7]).collect();
    assert_eq!(crns, ["X100001", "X100004"]);
}

/// Writes a cases file of `n` rows for PDU LAM.
fn big_cases(path: &Path, n: u32) {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        w,
        "crn,name,pdu,tier,case_type,sentence_date,unallocated_since"
    )
    .unwrap();
    for i in 0..n {
        writeln!(
            w,
            "Y{i:06},Test Person,LAM,B2,COMMUNITY,2026-01-01,2026-01-02"
        )
        .unwrap();
    }
}

/// Where a SIGKILL found an import.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Killed {
    /// Still running, its transaction not committed: the database must be as it was.
    BeforeCommit,
    /// Still running (closing the file) but committed: the whole file must be there.
    AfterCommit,
    /// Already exited: the kill tested nothing.
    AfterExit,
}

/// The database's logical content: every table's rows (in a fixed order) and the schema
/// version. In WAL mode an interrupted write leaves the main file's bytes alone whatever it
/// did, so the bytes prove nothing; the rows do.
fn content(db: &str) -> Vec<(String, i64, u64)> {
    casewatch::fuzzcheck::fingerprint_file(std::path::Path::new(db)).unwrap()
}

/// Every table, index and trigger, with its SQL, in name order.
fn schema(db: &str) -> Vec<(String, String, Option<String>)> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut st = c
        .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY type, name")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn integrity(db: &str) -> String {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// Imports `file` into `db` and SIGKILLs the process at each fraction of the time a whole
/// import of it takes here (measured on a copy), each time on a fresh copy of `pristine`.
/// `check` is run on the database after every kill that reached a running process, and says
/// whether the import had committed. Returns, per kill, the fraction and its outcome.
fn kill_imports_at(
    home: &Path,
    pristine: &str,
    file: &Path,
    fractions: &[f64],
    check: impl Fn(f64, &str) -> bool,
) -> Vec<(f64, Killed)> {
    let db = home.join("killed.db").to_str().unwrap().to_string();
    let copy = home.join("timing.db");
    let mut times: Vec<std::time::Duration> = (0..3)
        .map(|_| {
            std::fs::copy(pristine, &copy).unwrap();
            let started = std::time::Instant::now();
            let o = import(
                copy.to_str().unwrap(),
                file.to_str().unwrap(),
                "cases",
                home,
                &[],
            );
            assert!(o.status.success(), "{}", text(&o.stderr));
            started.elapsed()
        })
        .collect();
    times.sort();
    let full = times[1];
    fractions
        .iter()
        .map(|&f| {
            for side in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{db}{side}"));
            }
            std::fs::copy(pristine, &db).unwrap();
            let mut child = cmd(home)
                .args([
                    "--db",
                    &db,
                    "import",
                    file.to_str().unwrap(),
                    "--kind",
                    "cases",
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(full.mul_f64(f));
            let running = child.try_wait().unwrap().is_none();
            // SIGKILL: no destructors, no rollback; only SQLite's journal protects the file.
            child.kill().unwrap();
            child.wait().unwrap();
            let outcome = if !running {
                Killed::AfterExit
            } else if check(f, &db) {
                Killed::AfterCommit
            } else {
                Killed::BeforeCommit
            };
            (f, outcome)
        })
        .collect()
}

#[test]
fn a_kill_mid_import_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = region(home);
    let file: PathBuf = home.join("big.csv");
    big_cases(&file, 200_000);
    let before = content(&db);
    let cases = |db: &str| -> i64 {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
            .unwrap()
    };
    let base = cases(&db);
    let outcomes = kill_imports_at(home, &db, &file, &[0.3, 0.5, 0.7, 0.9], |f, killed| {
        assert_eq!(integrity(killed), "ok", "kill at {f} of the run");
        match cases(killed) - base {
            // Compared row by row: the file's bytes would match whatever the import wrote
            // to the WAL beside it.
            0 => {
                assert!(
                    content(killed) == before,
                    "a kill at {f} of the run changed the database"
                );
                // Reopening recovers: the region is intact and none of the big file is there.
                assert_eq!(pdu(&summary(killed, home), "LAM")["cases"], 4);
                false
            }
            200_000 => true,
            n => panic!("a kill at {f} of the run left {n} new cases: a part of the import"),
        }
    });
    eprintln!("kills mid-import (fraction of the run, outcome): {outcomes:?}");
    assert!(
        outcomes.iter().any(|&(_, k)| k == Killed::BeforeCommit),
        "no kill landed before the import committed ({outcomes:?}): nothing was tested"
    );
}

/// A large (over 4 MB) import into an empty cases table takes the bulk path, which drops
/// the table's indexes and triggers and builds them again at the end, all in one
/// transaction. Killed at any moment, the database keeps every index and trigger, holds no
/// case, and passes `integrity_check`.
#[test]
fn a_kill_during_a_bulk_import_into_an_empty_table_keeps_the_indexes_and_adds_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("empty.db").to_str().unwrap().to_string();
    for kind in ["pdus", "establishment", "practitioners"] {
        let o = import(&db, &data(&format!("region/{kind}.csv")), kind, home, &[]);
        assert!(o.status.success(), "{kind}: {}", text(&o.stderr));
    }
    let file: PathBuf = home.join("bulk.csv");
    big_cases(&file, 100_000);
    assert!(
        std::fs::metadata(&file).unwrap().len() >= 4 << 20,
        "the file is under 4 MB: the bulk path is not taken"
    );
    let shape = schema(&db);
    assert!(
        shape
            .iter()
            .any(|(t, _, sql)| t == "index" && sql.as_deref().is_some_and(|s| s.contains("cases"))),
        "no index on cases to lose: {shape:?}"
    );
    let before = content(&db);
    let outcomes = kill_imports_at(
        home,
        &db,
        &file,
        &[0.2, 0.4, 0.6, 0.75, 0.85],
        |f, killed| {
            assert_eq!(integrity(killed), "ok", "kill at {f} of the run");
            let now = schema(killed);
            let lost: Vec<&str> = shape
                .iter()
                .filter(|x| !now.contains(x))
                .map(|x| x.1.as_str())
                .collect();
            let gained: Vec<&str> = now
                .iter()
                .filter(|x| !shape.contains(x))
                .map(|x| x.1.as_str())
                .collect();
            assert!(
                lost.is_empty() && gained.is_empty(),
                "kill at {f}: the schema lost {lost:?} and gained {gained:?}"
            );
            let cases: i64 = rusqlite::Connection::open(killed)
                .unwrap()
                .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
                .unwrap();
            match cases {
                0 => {
                    assert!(
                        content(killed) == before,
                        "kill at {f} changed the database"
                    );
                    false
                }
                100_000 => true,
                n => panic!("kill at {f} left {n} cases: a part of the import"),
            }
        },
    );
    eprintln!("kills mid-bulk-import (fraction of the run, outcome): {outcomes:?}");
    let before_commit = outcomes
        .iter()
        .filter(|&&(_, k)| k == Killed::BeforeCommit)
        .count();
    assert!(
        before_commit >= 2,
        "only {before_commit} kills landed before the import committed ({outcomes:?}): too few to test"
    );
}

#[test]
fn json_lines_problems_are_located_and_a_header_alone_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = region(home);
    let f = home.join("contacts.jsonl");
    std::fs::write(
        &f,
        "{\"crn\":\"X100002\",\"date\":\"2026-11-21\",\"kind\":\"video\"}\n\
         {\"crn\":\"X100002\",\"date\":\"2026-11-22\",\"kind\":\"carrier_pigeon\"}\n\
         {\"crn\":\"X100002\",\"da",
    )
    .unwrap();
    rejected(
        &db,
        f.to_str().unwrap(),
        "contacts",
        home,
        &[
            "contacts.jsonl:2:kind: expected one of face_to_face",
            "(got 'carrier_pigeon')",
            "contacts.jsonl:3:-: not a JSON object",
        ],
    );
    let h = home.join("header.csv");
    std::fs::write(&h, "crn,date,kind,staff_code\r\n").unwrap();
    let before = std::fs::read(&db).unwrap();
    let o = import(&db, h.to_str().unwrap(), "contacts", home, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("imported 0 contacts rows"));
    assert_eq!(std::fs::read(&db).unwrap(), before);
    // A missing file is an error that creates no database.
    let nodb = home.join("none.db");
    let o = import(
        nodb.to_str().unwrap(),
        "/nonexistent.csv",
        "pdus",
        home,
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!nodb.exists());
}

/// Team names as real extracts spell them.
const TEAMS: [&str; 6] = [
    "North A",
    "Hackney & City 2",
    "O'Brien's",
    "Team 3 (Court)",
    "St. Mary's/West",
    "Court, North \"B\"",
];

/// The `team` of each row of an export, by its key (the first column), read as CSV or JSON
/// Lines.
fn teams_in(export: &[u8], json: bool) -> Vec<(String, String)> {
    if json {
        text(export)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let key = v.get("crn").or_else(|| v.get("staff_code")).unwrap();
                (
                    key.as_str().unwrap().to_string(),
                    v["team"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    } else {
        let mut r = csv::Reader::from_reader(export);
        let col = r
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "team")
            .unwrap();
        r.records()
            .map(|rec| {
                let rec = rec.unwrap();
                (rec[0].to_string(), rec[col].to_string())
            })
            .collect()
    }
}

/// A team is a name: spaces and punctuation (commas and quotes too) are accepted in both the
/// practitioners and the cases file, surrounding spaces trimmed, and they come back out of
/// `export` (CSV and JSON Lines) as imported, and re-import unchanged.
#[test]
fn team_names_with_spaces_and_punctuation_import_and_round_trip_through_export() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = region(home);
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut staff =
        String::from("staff_code,name,grade,pdu,team,contracted_hours,start_date,status\n");
    let mut cases = String::from(
        "crn,name,pdu,team,tier,rosh,mappa_category,mappa_level,case_type,sentence_date,\
         release_date,allocated_to,allocated_on,unallocated_since\n",
    );
    for (i, team) in TEAMS.iter().enumerate() {
        // Surrounding spaces are not part of the name.
        let padded = quote(&format!("  {team} "));
        staff.push_str(&format!(
            "LAMT{i},Staff {i},PO,LAM,{padded},37,2020-01-01,in_post\n"
        ));
        cases.push_str(&format!(
            "X77000{i},Case {i},LAM,{padded},B2,HIGH,,,COMMUNITY,2026-01-01,,,,2026-10-01\n"
        ));
    }
    let (staff_file, cases_file) = (home.join("staff.csv"), home.join("cases.csv"));
    std::fs::write(&staff_file, staff).unwrap();
    std::fs::write(&cases_file, cases).unwrap();
    for (file, kind) in [(&staff_file, "practitioners"), (&cases_file, "cases")] {
        let o = import(&db, file.to_str().unwrap(), kind, home, &[]);
        assert!(o.status.success(), "{kind}: {}", text(&o.stderr));
        assert!(
            text(&o.stdout).contains("6 inserted"),
            "{}",
            text(&o.stdout)
        );
    }
    for (view, kind, prefix) in [
        ("practitioners", "practitioners", "LAMT"),
        ("unallocated", "cases", "X77000"),
    ] {
        for (format, ext) in [("csv", "csv"), ("json", "jsonl")] {
            let out = home.join(format!("{view}.{ext}"));
            let o = casewatch(
                &[
                    "--db",
                    &db,
                    "--as-of",
                    AS_OF,
                    "export",
                    view,
                    "--pdu",
                    "LAM",
                    "--format",
                    format,
                    "--out",
                    out.to_str().unwrap(),
                ],
                home,
            );
            assert!(o.status.success(), "{view}: {}", text(&o.stderr));
            let mut got: Vec<(String, String)> =
                teams_in(&std::fs::read(&out).unwrap(), format == "json")
                    .into_iter()
                    .filter(|(k, _)| k.starts_with(prefix))
                    .collect();
            got.sort();
            let want: Vec<(String, String)> = TEAMS
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("{prefix}{i}"), t.to_string()))
                .collect();
            assert_eq!(got, want, "{view} {format}");
            let o = import(&db, out.to_str().unwrap(), kind, home, &[]);
            assert!(o.status.success(), "{view} {format}: {}", text(&o.stderr));
            assert!(
                text(&o.stdout).contains("0 inserted, 0 updated"),
                "{view} {format}: {}",
                text(&o.stdout)
            );
        }
    }
}

/// A team holding an escape sequence is refused like a name: its line and column, the value
/// shown with the escape made visible, and nothing imported.
#[test]
fn a_team_with_an_escape_character_is_refused_with_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = region(home);
    let staff = home.join("staff.csv");
    std::fs::write(
        &staff,
        "staff_code,name,grade,pdu,team,contracted_hours,start_date,status\n\
         LAMT1,Staff One,PO,LAM,North A,37,2020-01-01,in_post\n\
         LAMT2,Staff Two,PO,LAM,North\u{1b}[2J B,37,2020-01-01,in_post\n",
    )
    .unwrap();
    let err = rejected(
        &db,
        staff.to_str().unwrap(),
        "practitioners",
        home,
        &[
            "staff.csv:3:team: contains a control character (U+001B), not allowed (got 'North␛[2J B')",
        ],
    );
    assert!(!err.contains('\u{1b}'), "{err:?}");
    let cases = home.join("cases.csv");
    std::fs::write(
        &cases,
        "crn,name,pdu,team,tier,rosh,mappa_category,mappa_level,case_type,sentence_date,\
         release_date,allocated_to,allocated_on,unallocated_since\n\
         X200001,Case One,LAM,North\u{202E}A,B2,HIGH,,,COMMUNITY,2026-01-01,,,,2026-10-01\n",
    )
    .unwrap();
    rejected(
        &db,
        cases.to_str().unwrap(),
        "cases",
        home,
        &["cases.csv:2:team: contains an invisible or bidirectional formatting character (U+202E)"],
    );
}

/// `casewatch export VIEW` of `db` with `extra` arguments, as text.
fn export(db: &str, home: &Path, view: &str, extra: &[&str]) -> String {
    let mut args = vec!["--db", db, "--as-of", AS_OF, "export", view];
    args.extend_from_slice(extra);
    let o = casewatch(&args, home);
    assert!(o.status.success(), "{view}: {}", text(&o.stderr));
    text(&o.stdout)
}

/// The lines of a CSV after its header, sorted.
fn body_sorted(csv: &str) -> Vec<String> {
    let mut lines: Vec<String> = csv.lines().skip(1).map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn enquiries_and_assessments_import_and_round_trip_through_export() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = region(home);
    for kind in ["enquiries", "assessments"] {
        let file = std::fs::read_to_string(data(&format!("region/{kind}.csv"))).unwrap();
        let csv = export(&db, home, kind, &[]);
        // The import's header, then every row of the example as written (in key order).
        assert_eq!(csv.lines().next(), file.lines().next(), "{kind}");
        assert_eq!(body_sorted(&csv), body_sorted(&file), "{kind}");
        for (format, ext) in [("csv", "csv"), ("json", "jsonl")] {
            let out = home.join(format!("{kind}-export.{ext}"));
            export(
                &db,
                home,
                kind,
                &["--format", format, "--out", out.to_str().unwrap()],
            );
            let before = std::fs::read(&db).unwrap();
            let o = import(&db, out.to_str().unwrap(), kind, home, &[]);
            let stdout = text(&o.stdout);
            assert!(o.status.success(), "{kind} {format}: {}", text(&o.stderr));
            assert!(stdout.contains("0 inserted, 0 updated"), "{kind}: {stdout}");
            assert!(!stdout.contains(" 0 unchanged"), "{kind}: {stdout}");
            assert_eq!(std::fs::read(&db).unwrap(), before, "{kind} {format}");
        }
    }
    // One PDU's rows only; an unreturned enquiry is null in JSON Lines.
    let json = export(
        &db,
        home,
        "enquiries",
        &["--pdu", "LAM", "--format", "json"],
    );
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|r| r["crn"].as_str().unwrap().starts_with("X1"))
    );
    assert_eq!(
        rows[2],
        serde_json::json!({"crn": "X100002", "kind": "child_safeguarding",
            "requested_on": "2026-02-04", "returned_on": null, "outcome": null})
    );
    // The case lists carry custody_kind, as stored, and re-import it unchanged (above, and
    // in exports_re_import_cleanly).
    let csv = export(&db, home, "unallocated", &["--pdu", "LAM"]);
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let col = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "custody_kind")
        .unwrap();
    let kinds: Vec<(String, String)> = r
        .records()
        .map(|x| {
            let x = x.unwrap();
            (x[0].to_string(), x[col].to_string())
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("X100001".to_string(), String::new()),
            ("X100004".to_string(), "parole_eligible".to_string())
        ]
    );
}

#[test]
fn a_second_enquiries_file_adds_a_return() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = region(home);
    let later = home.join("enquiries-later.csv");
    std::fs::write(
        &later,
        "crn,kind,requested_on,returned_on,outcome\n\
         X100002,child_safeguarding,2026-02-04,2026-03-02,no_concerns\n\
         X100003,domestic_abuse,2026-07-03,,\n",
    )
    .unwrap();
    let o = import(&db, later.to_str().unwrap(), "enquiries", home, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("0 inserted, 1 updated, 1 unchanged"), "{out}");
    let csv = export(&db, home, "enquiries", &["--pdu", "LAM"]);
    assert!(
        csv.contains("X100002,child_safeguarding,2026-02-04,2026-03-02,no_concerns\n"),
        "{csv}"
    );
    // The case row's copy, kept by the triggers, has the return too.
    let returned: Option<String> = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT cs_last_returned FROM cases WHERE crn = 'X100002'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(returned.as_deref(), Some("2026-03-02"));
}

#[test]
fn bad_enquiry_and_assessment_files_are_refused_with_their_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = region(home);
    let before = content(&db);
    let bad = |f: &str| data(&format!("bad/{f}"));
    for (file, kind, expect) in [
        (
            "enquiry_unknown_kind.csv",
            "enquiries",
            &[
                "enquiry_unknown_kind.csv:3:kind: expected one of domestic_abuse, child_safeguarding",
                "(got 'probation_check')",
            ][..],
        ),
        (
            "enquiry_returned_before_requested.csv",
            "enquiries",
            &[
                "enquiry_returned_before_requested.csv:3:returned_on: expected a date on or after requested_on (got '2026-04-30')",
            ],
        ),
        (
            "enquiry_future_date.csv",
            "enquiries",
            &[
                "enquiry_future_date.csv:3:requested_on: a date after today (",
                "): this records something already done (got '2099-07-03')",
            ],
        ),
        (
            "assessment_future_date.csv",
            "assessments",
            &["assessment_future_date.csv:2:completed_on: a date after today ("],
        ),
        (
            "assessment_unknown_crn.csv",
            "assessments",
            &[
                "assessment_unknown_crn.csv:4:crn: no such case in the database (import cases first) (got 'X999999')",
            ],
        ),
    ] {
        let err = rejected(&db, &bad(file), kind, home, expect);
        assert!(err.contains("1 problem;"), "{file}: {err}");
        assert!(content(&db) == before, "{file} changed the database");
    }
}

/// A large enquiries file takes the bulk path: the risk triggers set aside and put back, and
/// every case's risk-check columns recomputed, all in the import's transaction. A file bad
/// at its last line leaves the database, triggers included, exactly as it was.
#[test]
fn a_bulk_enquiries_load_puts_the_triggers_back_and_a_bad_one_changes_nothing() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = region(home);
    let crns = [
        "X100001", "X100002", "X100003", "X100004", "X200001", "X200002", "X200003",
    ];
    let write = |path: &Path, bad_last: bool| {
        let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        writeln!(w, "crn,kind,requested_on,returned_on,outcome").unwrap();
        let start = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
        for day in 0..7000 {
            let on = start + chrono::Duration::days(day);
            for crn in crns {
                for kind in ["domestic_abuse", "child_safeguarding"] {
                    writeln!(w, "{crn},{kind},{on},{on},no_record").unwrap();
                }
            }
        }
        if bad_last {
            writeln!(w, "X100001,domestic_abuse,2001-01-01,2000-12-31,concerns").unwrap();
        }
    };
    let file = home.join("big-enquiries.csv");
    write(&file, true);
    assert!(
        std::fs::metadata(&file).unwrap().len() >= 4 << 20,
        "the file is under 4 MB: the bulk path is not taken"
    );
    let shape = schema(&db);
    let before = content(&db);
    rejected(
        &db,
        file.to_str().unwrap(),
        "enquiries",
        home,
        &["big-enquiries.csv:98002:returned_on: expected a date on or after requested_on"],
    );
    assert!(content(&db) == before);
    assert_eq!(schema(&db), shape);
    write(&file, false);
    let o = import(&db, file.to_str().unwrap(), "enquiries", home, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("98000 inserted, 0 updated, 0 unchanged"),
        "{out}"
    );
    assert_eq!(schema(&db), shape, "the triggers are back as they were");
    assert_eq!(integrity(&db), "ok");
    let c = rusqlite::Connection::open(&db).unwrap();
    let last = |sql: &str| -> Vec<Option<String>> {
        let mut st = c.prepare(sql).unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    // Recomputed for every case by the load: the first requests are the file's, the latest
    // the region's own.
    assert_eq!(
        last("SELECT da_first_requested FROM cases WHERE cs_first_requested = da_first_requested"),
        vec![Some("2000-01-01".to_string()); 7]
    );
    let stale: i64 = c
        .query_row(
            "SELECT count(*) FROM cases c
              WHERE da_last_requested IS NOT (SELECT max(requested_on) FROM enquiries e
                                               WHERE e.crn = c.crn AND e.kind = 'domestic_abuse')
                 OR cs_last_requested IS NOT (SELECT max(requested_on) FROM enquiries e
                                               WHERE e.crn = c.crn AND e.kind = 'child_safeguarding')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stale, 0);
    // ...and kept by the triggers again after it.
    c.execute(
        "INSERT INTO enquiries (crn, kind, requested_on) VALUES ('X100001', 'domestic_abuse', '2026-11-01')",
        [],
    )
    .unwrap();
    assert_eq!(
        last("SELECT da_last_requested FROM cases WHERE crn = 'X100001'"),
        [Some("2026-11-01".to_string())]
    );
}
