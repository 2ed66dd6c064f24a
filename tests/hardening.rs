//! Faults and concurrency, with real processes on a real database file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::OptionalExtension;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_casewatch");

/// Keeps a command away from the user's own config and data.
fn isolate(c: &mut Command) -> &mut Command {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hardening-home");
    c.env_remove("CASEWATCH_DB")
        .env("XDG_CONFIG_HOME", scratch.join("config"))
        .env("XDG_DATA_HOME", scratch.join("data"))
}

/// The real binary.
fn bin() -> Command {
    let mut c = Command::new(BIN);
    isolate(&mut c);
    c
}

fn build_demo(db: &Path, seed: &str, cases: &str) {
    let o = bin()
        .args(common::demo_args(cases, seed))
        .arg("--db")
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

/// A demo rebuild killed at moments spread over its whole run (scaled to how long a whole
/// rebuild takes here, up to its last steps: closing and renaming the new file into place)
/// leaves the old database whole, or the new one complete: never a mixture, never a corrupt
/// file, and never the half-built `.NAME.building-PID` file in the target's place.
#[test]
fn a_killed_demo_rebuild_leaves_a_whole_database() {
    const CASES: &str = "20000";
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    build_demo(&db, "1", "2000");
    let demo = |db: &Path, seed: &str| {
        let mut c = bin();
        c.args(["--as-of", "2026-11-01", "demo", "--cases", CASES, "--seed"])
            .arg(seed)
            .arg("--db")
            .arg(db);
        c
    };
    let whole = time_whole_run(3, |i| demo(&dir.path().join(format!("timing{i}.db")), "99"));
    for i in 0..3 {
        std::fs::remove_file(dir.path().join(format!("timing{i}.db"))).unwrap();
    }
    let leftovers = || -> Vec<String> {
        listing(dir.path())
            .into_iter()
            .filter(|f| f.starts_with(".k.db.building-"))
            .collect()
    };
    let mut old_seed = "1".to_string();
    let (mut kept_old, mut replaced, mut mid_build) = (0, 0, 0);
    // Late ones too: past the measured run, so that on a slower moment the rebuild still
    // completes at least once.
    let fractions = [
        0.05, 0.2, 0.4, 0.6, 0.75, 0.85, 0.9, 0.95, 1.0, 1.05, 1.5, 3.0,
    ];
    for (i, f) in fractions.into_iter().enumerate() {
        let seed = (100 + i).to_string();
        let delay = whole.mul_f64(f);
        let mut child = demo(&db, &seed)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        std::thread::sleep(delay);
        let running = child.try_wait().unwrap().is_none();
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let what = format!("kill {i} at {f} of the run ({delay:?}), running {running}");
        assert_eq!(integrity(&db), "ok", "{what}");
        let c = rusqlite::Connection::open(&db).unwrap();
        let (in_place, cases): (String, i64) = c
            .query_row(
                "SELECT (SELECT value FROM meta WHERE key = 'demo_seed'), (SELECT count(*) FROM cases)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap_or_else(|e| panic!("{what}: the target is not a whole demo database: {e}"));
        drop(c);
        let mine = format!(".k.db.building-{pid}");
        if in_place == seed {
            assert_eq!(cases, CASES.parse::<i64>().unwrap(), "{what}: incomplete");
            assert!(
                !leftovers().contains(&mine),
                "{what}: the new database is in place but its building file is left too"
            );
            replaced += 1;
            old_seed = seed;
        } else {
            assert_eq!(
                in_place, old_seed,
                "{what}: neither the old nor the new database"
            );
            let expected = if old_seed == "1" { 2000 } else { 20000 };
            assert_eq!(
                cases, expected,
                "{what}: seed {in_place} with {cases} cases is a mixture"
            );
            assert!(
                running,
                "{what}: the rebuild exited without replacing the database"
            );
            kept_old += 1;
            // Its half-built file, under its own name: the kill fell inside the build.
            mid_build += i32::from(leftovers().contains(&mine));
        }
        // Whatever a killed build left behind is under its own name, never the target's.
        for f in leftovers() {
            let _ = std::fs::remove_file(dir.path().join(f));
        }
    }
    eprintln!(
        "demo rebuild: {} kills over 0..{:?}: {kept_old} kept the old database ({mid_build} \
         inside the build), {replaced} found the new one in place",
        fractions.len(),
        whole.mul_f64(3.0)
    );
    assert!(
        kept_old >= 2,
        "only {kept_old} kills landed before the rename: the interrupted build was hardly tested"
    );
    assert!(
        mid_build >= 1,
        "no kill fell inside the build (none left its building file)"
    );
    assert!(
        replaced >= 1,
        "no rebuild completed: the rename step was never reached"
    );
}

/// The nightly run killed at moments spread over its whole run (scaled to how long a whole
/// run takes here): the database stays whole, and the run for the day is either absent or
/// complete, never half recorded.
#[test]
fn a_killed_nightly_run_records_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.db");
    build_demo(&db, "9", "20000");
    let nightly = |db: &Path| {
        let mut c = bin();
        c.args([
            "--as-of",
            "2026-11-01",
            "alerts",
            "--record",
            "--format",
            "json",
            "--db",
        ])
        .arg(db);
        c
    };
    let count = |p: &Path| -> (i64, i64) {
        let c = rusqlite::Connection::open(p).unwrap();
        c.query_row(
            // The demo's own history (actor 'demo') is not the run under test.
            "SELECT (SELECT count(*) FROM alert_runs WHERE actor <> 'demo'),
                    (SELECT count(*) FROM run_alerts
                      WHERE run_id IN (SELECT id FROM alert_runs WHERE actor <> 'demo'))",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let pristine = copy_db(&db, &dir.path().join("pristine.db"));
    // The reference: complete runs recorded on copies, timed.
    let mut times = Vec::new();
    let mut full = 0;
    for i in 0..3 {
        let reference = copy_db(&db, &dir.path().join(format!("ref{i}.db")));
        let started = Instant::now();
        let o = nightly(&reference).output().unwrap();
        times.push(started.elapsed());
        assert!(matches!(o.status.code(), Some(0 | 3)));
        full = count(&reference).1;
    }
    times.sort();
    let whole = times[1];
    assert!(full > 0);
    let (mut before_commit, mut recorded) = (0, 0);
    let fractions = [0.1, 0.3, 0.5, 0.7, 0.85, 0.95, 1.3, 3.0];
    for f in fractions {
        let delay = whole.mul_f64(f);
        let running = kill_after(nightly(&db), delay);
        assert_eq!(integrity(&db), "ok", "after a kill at {delay:?}");
        let (runs, alerts) = count(&db);
        assert!(
            (runs, alerts) == (0, 0) || (runs, alerts) == (1, full),
            "kill at {delay:?} left {runs} runs with {alerts} alerts (a whole run has {full})"
        );
        if runs == 0 && running {
            before_commit += 1;
        }
        if runs == 1 {
            recorded += 1;
            // Start the next kill from no recorded run (the file and its WAL replaced).
            for side in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{side}", db.display()));
            }
            copy_db(&pristine, &db);
        }
    }
    eprintln!(
        "nightly: {} kills over 0..{:?}: {before_commit} before the commit, {recorded} found \
         the run recorded",
        fractions.len(),
        whole.mul_f64(3.0)
    );
    assert!(
        before_commit >= 1,
        "no kill landed before the nightly run committed: nothing was tested"
    );
    assert!(
        recorded >= 1,
        "no nightly run completed: 'all' was not tested"
    );
}

/// A small deterministic generator (splitmix64), so every kill schedule is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A delay in `0..=max`, with microsecond resolution.
    fn delay(&mut self, max: Duration) -> Duration {
        let us = max.as_micros().max(1) as u64;
        Duration::from_micros(self.next() % (us + 1))
    }
}

/// Starts `cmd`, sends SIGKILL after `delay`, reaps it. Returns whether the kill reached a
/// process that was still running (otherwise it had already finished on its own).
fn kill_after(mut cmd: Command, delay: Duration) -> bool {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill(); // SIGKILL: no destructors, no rollback
    let _ = child.wait();
    running
}

/// The median of `runs` complete runs of `cmd`, which must succeed: one slow or fast run on a
/// shared machine does not skew where the kills fall.
fn time_whole_run(runs: usize, mut cmd: impl FnMut(usize) -> Command) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|i| {
            let started = Instant::now();
            let o = cmd(i).output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            started.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn count(c: &rusqlite::Connection, sql: &str, p: impl rusqlite::Params) -> i64 {
    c.query_row(sql, p, |r| r.get(0)).unwrap()
}

/// Copies a closed database file (no `-wal` beside it) to `to`.
fn copy_db(from: &Path, to: &Path) -> PathBuf {
    std::fs::copy(from, to).unwrap();
    to.to_path_buf()
}

const KILL_AS_OF: &str = "2026-11-01";

fn allocate_cmd(db: &Path, crn: &str, staff: &str, reason: &str, note: &str) -> Command {
    let mut c = bin();
    c.arg("--db")
        .arg(db)
        .args([
            "--as-of", KILL_AS_OF, "--as", "killtest", "allocate", crn, staff,
        ])
        .args(["--reason", reason, "--note", note, "--yes"]);
    c
}

/// `casewatch allocate` killed with SIGKILL at 20 reproducible random moments across its run,
/// alternately allocating an unallocated case and reallocating an allocated one. After every
/// kill the file passes `integrity_check`, and the case is moved if and only if its audit row,
/// its note and (for a reallocation) its history row are there, each exactly once; a case
/// that did not move is exactly as it was.
#[test]
fn a_killed_allocation_is_all_or_nothing() {
    const KILLS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    build_demo(&db, "11", "20000");
    let c = rusqlite::Connection::open(&db).unwrap();
    // The PDU with the most unallocated cases; the target is one of its POs.
    let (pdu, staff): (String, String) = c
        .query_row(
            "SELECT pdu, min(staff_code) FROM practitioners
              WHERE status = 'in_post' AND grade = 'PO'
                AND pdu = (SELECT pdu FROM cases WHERE allocated_to IS NULL
                            GROUP BY pdu ORDER BY count(*) DESC, pdu LIMIT 1)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let crns = |sql: &str| -> Vec<String> {
        let mut st = c.prepare(sql).unwrap();
        st.query_map(rusqlite::params![pdu, staff], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let unallocated = crns(
        "SELECT crn FROM cases WHERE pdu = ?1 AND allocated_to IS NULL AND ?2 IS NOT NULL
          ORDER BY crn LIMIT 12",
    );
    let allocated = crns(
        "SELECT crn FROM cases WHERE pdu = ?1 AND allocated_to IS NOT NULL AND allocated_to <> ?2
          ORDER BY crn LIMIT 12",
    );
    assert!(unallocated.len() == 12 && allocated.len() == 12);
    drop(c);

    // How long a whole allocation takes here, on a copy, so the kills spread over it.
    let copy = copy_db(&db, &dir.path().join("timing.db"));
    let whole = time_whole_run(3, |i| {
        let (crn, reason) = match i {
            0 => (&unallocated[10], "initial_allocation"),
            1 => (&allocated[10], "caseload_adjustment"),
            _ => (&unallocated[11], "initial_allocation"),
        };
        allocate_cmd(&copy, crn, &staff, reason, "timing")
    });

    let mut rng = Rng(0xA110_C0DE);
    let (mut landed, mut committed, mut after_commit) = (0, 0, 0);
    for i in 0..KILLS {
        let realloc = i % 2 == 1;
        let (crn, reason) = if realloc {
            (&allocated[i / 2], "caseload_adjustment")
        } else {
            (&unallocated[i / 2], "initial_allocation")
        };
        let case_row =
            |c: &rusqlite::Connection| -> (Option<String>, Option<String>, Option<String>) {
                c.query_row(
                "SELECT allocated_to, allocated_on, unallocated_since FROM cases WHERE crn = ?1",
                [crn],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
            };
        let before = case_row(&rusqlite::Connection::open(&db).unwrap());
        let note = format!("kill test {i}");
        let delay = rng.delay(whole.mul_f64(1.3));
        let running = kill_after(allocate_cmd(&db, crn, &staff, reason, &note), delay);
        landed += i32::from(running);

        assert_eq!(integrity(&db), "ok", "kill {i} at {delay:?}");
        let c = rusqlite::Connection::open(&db).unwrap();
        let after = case_row(&c);
        let moved = after.0.as_deref() == Some(staff.as_str());
        let audits = count(
            &c,
            "SELECT count(*) FROM audit WHERE crn = ?1 AND action IN ('allocate', 'reallocate')",
            [crn],
        );
        let notes = count(
            &c,
            "SELECT count(*) FROM notes WHERE crn = ?1 AND text = ?2",
            rusqlite::params![crn, note],
        );
        let history = count(
            &c,
            "SELECT count(*) FROM allocations WHERE crn = ?1 AND to_date = ?2",
            [crn.as_str(), KILL_AS_OF],
        );
        let m = i64::from(moved);
        assert_eq!(
            (audits, notes, history),
            (m, m, if realloc { m } else { 0 }),
            "kill {i} at {delay:?}: moved {moved} but audit/note/history rows disagree"
        );
        if moved {
            committed += 1;
            after_commit += i32::from(running);
            let audit_after: String = c
                .query_row(
                    "SELECT after FROM audit WHERE crn = ?1 AND action IN ('allocate', 'reallocate')",
                    [crn],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(
                audit_after.contains(&note),
                "kill {i}: the audit row is not this allocation's"
            );
            assert_eq!(after.1.as_deref(), Some(KILL_AS_OF));
            assert_eq!(after.2, None);
        } else {
            assert_eq!(after, before, "kill {i} at {delay:?}: a half-changed case");
        }
        // Nothing else was written: the whole trail holds exactly the committed allocations.
        assert_eq!(count(&c, "SELECT count(*) FROM audit", []), committed);
        assert_eq!(count(&c, "SELECT count(*) FROM notes", []), committed);
    }
    // One more allocation, not killed: on a loaded machine every random kill may land before
    // a commit, and "all" must be tested whatever the timing.
    let last = &unallocated[11];
    let o = allocate_cmd(&db, last, &staff, "initial_allocation", "kill test last")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "the last allocation: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(integrity(&db), "ok");
    let c = rusqlite::Connection::open(&db).unwrap();
    let holder: Option<String> = c
        .query_row(
            "SELECT allocated_to FROM cases WHERE crn = ?1",
            [last],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(holder.as_deref(), Some(staff.as_str()));
    assert_eq!(count(&c, "SELECT count(*) FROM audit", []), committed + 1);
    assert_eq!(count(&c, "SELECT count(*) FROM notes", []), committed + 1);
    eprintln!(
        "allocate: {KILLS} kills over 0..{:?}; {landed} reached a running process ({} before \
         the commit, {after_commit} after it); {committed} allocations committed",
        whole.mul_f64(1.3),
        landed - after_commit
    );
    assert!(
        landed - after_commit >= 1,
        "no kill reached an allocation before it committed: the all-or-nothing promise was not tested"
    );
}

/// Writes a cases file of `rows` new cases for `pdu`, with CRNs `{letter}{batch:02}{n:04}`.
fn cases_file(path: &Path, letter: char, batch: usize, rows: usize, pdu: &str) {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        w,
        "crn,name,pdu,tier,rosh,mappa_category,mappa_level,case_type,sentence_date,unallocated_since"
    )
    .unwrap();
    for n in 0..rows {
        let (rosh, cat, level) = [("HIGH", 1, 2), ("LOW", 0, 0), ("", 0, 0)][n % 3];
        writeln!(
            w,
            "{letter}{batch:02}{n:04},Test Person {n},{pdu},B2,{rosh},{cat},{level},COMMUNITY,2026-01-01,2026-01-02"
        )
        .unwrap();
    }
}

/// `casewatch import` of a 5,000-row cases file killed with SIGKILL at 20 reproducible random
/// moments across its run, a new file each time. After every kill the file passes
/// `integrity_check` and holds all of that file's rows with one audit row, or none of them and
/// no audit row; the earlier imports are all still there.
#[test]
fn a_killed_import_is_all_or_nothing() {
    const KILLS: usize = 20;
    const ROWS: usize = 5000;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    build_demo(&db, "12", "20000");
    let c = rusqlite::Connection::open(&db).unwrap();
    let base = count(&c, "SELECT count(*) FROM cases", []);
    let pdu: String = c
        .query_row("SELECT min(code) FROM pdus", [], |r| r.get(0))
        .unwrap();
    // A CRN letter the demo does not use, so the imported rows are all new.
    let letter = ('A'..='Z')
        .rev()
        .find(|l| {
            c.query_row(
                "SELECT 1 FROM cases WHERE substr(crn, 1, 1) = ?1 LIMIT 1",
                [l.to_string()],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .unwrap()
            .is_none()
        })
        .unwrap();
    drop(c);
    let import_cmd = |db: &Path, file: &Path| {
        let mut c = bin();
        c.arg("--db")
            .arg(db)
            .args(["--as", "killtest", "import"])
            .arg(file)
            .args(["--kind", "cases"]);
        c
    };
    let files: Vec<PathBuf> = (0..=KILLS)
        .map(|i| {
            let f = dir.path().join(format!("cases{i}.csv"));
            cases_file(&f, letter, i, ROWS, &pdu);
            f
        })
        .collect();
    let whole = time_whole_run(3, |i| {
        let copy = copy_db(&db, &dir.path().join(format!("timing{i}.db")));
        import_cmd(&copy, &files[KILLS])
    });

    let mut rng = Rng(0x1A9_0127);
    let (mut landed, mut committed, mut after_commit) = (0i64, 0i64, 0i64);
    for (i, file) in files[..KILLS].iter().enumerate() {
        let delay = rng.delay(whole.mul_f64(1.3));
        let running = kill_after(import_cmd(&db, file), delay);
        landed += i64::from(running);
        assert_eq!(integrity(&db), "ok", "kill {i} at {delay:?}");
        let c = rusqlite::Connection::open(&db).unwrap();
        let prefix = format!("{letter}{i:02}%");
        let here = count(
            &c,
            "SELECT count(*) FROM cases WHERE crn LIKE ?1",
            [&prefix],
        );
        assert!(
            here == 0 || here == ROWS as i64,
            "kill {i} at {delay:?} left {here} of {ROWS} rows"
        );
        let imported = here == ROWS as i64;
        committed += i64::from(imported);
        after_commit += i64::from(imported && running);
        let audits = count(&c, "SELECT count(*) FROM audit WHERE action = 'import'", []);
        assert_eq!(
            audits, committed,
            "kill {i} at {delay:?}: audit rows vs imports"
        );
        assert_eq!(
            count(&c, "SELECT count(*) FROM cases", []),
            base + committed * ROWS as i64,
            "kill {i} at {delay:?}: earlier imports changed"
        );
        let origin: String = c
            .query_row("SELECT value FROM meta WHERE key = 'origin'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(
            origin == "import",
            committed > 0,
            "kill {i}: origin {origin}"
        );
    }
    // One more import, not killed: on a loaded machine every random kill may land before a
    // commit, and "all" must be tested whatever the timing. It lands whole, after the
    // killed ones, with its one audit row.
    let o = import_cmd(&db, &files[KILLS]).output().unwrap();
    assert!(
        o.status.success(),
        "the last import: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(integrity(&db), "ok");
    let c = rusqlite::Connection::open(&db).unwrap();
    let prefix = format!("{letter}{KILLS:02}%");
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM cases WHERE crn LIKE ?1",
            [&prefix]
        ),
        ROWS as i64
    );
    let finished = committed + 1;
    assert_eq!(
        count(&c, "SELECT count(*) FROM audit WHERE action = 'import'", []),
        finished
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM cases", []),
        base + finished * ROWS as i64,
        "the earlier imports are all still there"
    );
    eprintln!(
        "import: {KILLS} kills over 0..{:?}; {landed} reached a running process ({} before \
         the commit, {after_commit} after it); {committed} imports committed",
        whole.mul_f64(1.3),
        landed - after_commit
    );
    assert!(
        landed - after_commit >= 1,
        "no kill reached an import before it committed: the all-or-nothing promise was not tested"
    );
}

/// The unit of `ulimit -f` in this `sh` (512 bytes in POSIX shells), measured: a file written
/// under a limit of 2 units stops at 2 units, and the write past it fails.
fn ulimit_unit(dir: &Path) -> u64 {
    let probe = dir.join("probe");
    let o = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 2; head -c 100000 /dev/zero > \"$0\"")
        .arg(&probe)
        .output()
        .unwrap();
    let len = std::fs::metadata(&probe).unwrap().len();
    std::fs::remove_file(&probe).unwrap();
    assert!(
        !o.status.success() && len > 0 && len < 100_000 && len.is_multiple_of(2),
        "ulimit -f did not limit a write here (wrote {len} bytes, {:?}); the full-disk test needs it",
        o.status
    );
    len / 2
}

/// Runs casewatch with `args` in a process that may write no file past `limit` bytes:
/// SIGXFSZ is ignored (which survives exec), so a write past it fails with EFBIG, as a write
/// to a full disk fails with ENOSPC.
fn with_file_limit(unit: u64, limit: u64, args: &[&std::ffi::OsStr]) -> std::process::Output {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {}; exec \"$0\" \"$@\"",
            limit / unit
        ))
        .arg(BIN)
        .args(args);
    isolate(&mut c).output().unwrap()
}

/// The database's content (every table's rows and the schema version), whatever SQLite did
/// to the file's bytes.
fn fingerprint(db: &Path) -> Vec<(String, i64, u64)> {
    casewatch::fuzzcheck::fingerprint_file(db).unwrap()
}

fn listing(dir: &Path) -> std::collections::BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Checks a failed write: exit 2, one line on stderr that names `file` and says the disk is
/// full or the write failed, and nothing new in `dir` but the database's own `-wal`/`-shm`.
fn assert_failed_write(
    what: &str,
    o: &std::process::Output,
    file: &Path,
    dir: &Path,
    before: &std::collections::BTreeSet<String>,
) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{what}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{what}: not one line: {err}"
    );
    let named = format!("casewatch: error: cannot write {}: ", file.display());
    assert!(
        err.starts_with(&named),
        "{what}: does not name the file: {err}"
    );
    assert!(
        err.contains("is full") || err.contains("write failed") || err.contains("size limit"),
        "{what}: does not say why: {err}"
    );
    let new: Vec<String> = listing(dir)
        .difference(before)
        .filter(|f| !f.ends_with(".db-wal") && !f.ends_with(".db-shm"))
        .cloned()
        .collect();
    assert!(new.is_empty(), "{what} left {new:?} behind");
}

/// A full disk, simulated with a file-size limit on the real process, during every kind of
/// write: each fails with exit 2 and one line naming the file, the database passes
/// `integrity_check` and holds exactly what it held, and no half-written file is left.
#[test]
fn a_full_disk_fails_clearly_and_leaves_everything_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let unit = ulimit_unit(d);
    let db = d.join("f.db");
    build_demo(&db, "13", "20000");
    let c = rusqlite::Connection::open(&db).unwrap();
    let (crn, staff): (String, String) = c
        .query_row(
            "SELECT c.crn, p.staff_code FROM cases c JOIN practitioners p ON p.pdu = c.pdu
              WHERE c.allocated_to IS NULL AND p.status = 'in_post' AND p.grade = 'PO'
              ORDER BY c.crn, p.staff_code LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let pdu: String = c
        .query_row("SELECT min(code) FROM pdus", [], |r| r.get(0))
        .unwrap();
    drop(c);
    let big = d.join("big.csv");
    cases_file(&big, 'Z', 0, 5000, &pdu);
    let held = fingerprint(&db);
    let db_size = std::fs::metadata(&db).unwrap().len();
    // SQLite's shared-memory index beside a WAL database is 32 KiB; the limits leave room
    // for it (and nothing much more), far below what each write needs.
    const SMALL: u64 = 40 << 10;

    let os = |v: &[&str]| -> Vec<std::ffi::OsString> { v.iter().map(Into::into).collect() };
    let with_db = |rest: &[&str]| -> Vec<std::ffi::OsString> {
        let mut v = os(&["--db"]);
        v.push(db.clone().into_os_string());
        v.extend(os(&["--as-of", "2026-11-01", "--as", "fulltest"]));
        v.extend(os(rest));
        v
    };
    let big_s = big.to_str().unwrap();
    let new_db = d.join("new.db");
    let backup = d.join("copy.db");
    let out = d.join("overdue.csv");
    let cases: Vec<(&str, Vec<std::ffi::OsString>, &Path, u64)> = vec![
        (
            "import",
            with_db(&["import", big_s, "--kind", "cases"]),
            &db,
            SMALL,
        ),
        (
            "alerts --record",
            with_db(&["alerts", "--record", "--format", "json"]),
            &db,
            SMALL,
        ),
        (
            "allocate",
            with_db(&[
                "allocate",
                &crn,
                &staff,
                "--reason",
                "initial_allocation",
                "--note",
                "full disk",
                "--yes",
            ]),
            &db,
            SMALL,
        ),
        (
            "demo rebuild",
            with_db(&["demo", "--cases", "20000", "--seed", "14"]),
            &db,
            db_size / 2,
        ),
        (
            "demo into a new file",
            {
                let mut v = os(&["--as-of", "2026-11-01", "demo", "--cases", "20000", "--db"]);
                v.push(new_db.clone().into_os_string());
                v
            },
            &new_db,
            db_size / 2,
        ),
        (
            "backup",
            {
                let mut v = with_db(&["backup"]);
                v.push(backup.clone().into_os_string());
                v
            },
            &backup,
            db_size / 2,
        ),
        (
            "export --out",
            {
                let mut v = with_db(&["export", "oversight-overdue", "--out"]);
                v.push(out.clone().into_os_string());
                v
            },
            &out,
            // The export is about 350 KiB.
            SMALL,
        ),
    ];
    for (what, args, file, limit) in &cases {
        let before = listing(d);
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let o = with_file_limit(unit, *limit, &args);
        assert_failed_write(what, &o, file, d, &before);
        assert_eq!(integrity(&db), "ok", "{what}");
        assert!(fingerprint(&db) == held, "{what} changed the database");
    }
    assert!(!new_db.exists() && !backup.exists() && !out.exists());

    // An export over an existing file that fails half way keeps the old file whole.
    std::fs::write(&out, "the old export\n").unwrap();
    let before = listing(d);
    let mut args = with_db(&["export", "oversight-overdue", "--out"]);
    args.push(out.clone().into_os_string());
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let o = with_file_limit(unit, SMALL, &args);
    assert_failed_write("export over a file", &o, &out, d, &before);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "the old export\n");

    // The same commands without the limit succeed: the limit, not the command, failed them.
    let o = bin()
        .arg("--db")
        .arg(&db)
        .args(["--as-of", "2026-11-01", "import", big_s, "--kind", "cases"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(fingerprint(&db) != held);
}

/// Writing an export to a device that is always full (`/dev/full`), as a file or as
/// standard output, is a clear one-line error with exit 2.
#[test]
fn an_export_to_a_full_device_is_a_clear_error() {
    let full = Path::new("/dev/full");
    assert!(
        full.exists(),
        "no /dev/full here: this test needs Linux's always-full device and cannot check anything without it"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    build_demo(&db, "15", "2000");
    let o = bin()
        .arg("--db")
        .arg(&db)
        .args(["--as-of", "2026-11-01", "export", "unallocated", "--out"])
        .arg(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        "casewatch: error: cannot write /dev/full: the disk is full; nothing was written there"
    );
    assert!(full.exists(), "/dev/full was replaced");
    let o = bin()
        .arg("--db")
        .arg(&db)
        .args(["--as-of", "2026-11-01", "export", "unallocated"])
        .stdout(std::fs::File::create(full).unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        "casewatch: error: cannot write to standard output: the disk is full"
    );
}

/// A config dir whose `casewatch/policy.toml` and `casewatch/rules.toml` are links to files
/// that are gone.
fn dangling_config(dir: &Path) -> PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(config.join("casewatch")).unwrap();
    for name in ["policy.toml", "rules.toml"] {
        std::os::unix::fs::symlink(
            dir.join(format!("deleted-{name}")),
            config.join("casewatch").join(name),
        )
        .unwrap();
    }
    config
}

/// A user override in the XDG config dir that is a dangling link gives one warning line per
/// file on stderr and the built-in defaults: the output is exactly that of a run with no
/// user files. An explicit `--policy` or `--rules` that does not exist is an error, and a
/// nightly run given one records nothing.
#[test]
fn a_missing_user_file_warns_and_uses_the_defaults_but_an_explicit_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("p.db");
    build_demo(&db, "16", "2000");
    let config = dangling_config(d);
    let run = |config: Option<&Path>, args: &[&str]| {
        let mut c = bin();
        if let Some(config) = config {
            c.env("XDG_CONFIG_HOME", config);
        }
        c.arg("--db")
            .arg(&db)
            .args(["--as-of", "2026-11-01"])
            .args(args)
            .output()
            .unwrap()
    };
    let warning = |name: &str| {
        format!(
            "casewatch: warning: {}: not found; using built-in defaults",
            config.join("casewatch").join(name).display()
        )
    };
    let summary = ["summary", "--format", "json"];
    let plain = run(None, &summary);
    assert!(plain.status.success());
    assert!(plain.stderr.is_empty());
    let o = run(Some(&config), &summary);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // summary sets each PDU's status, so it reads the rules too.
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("{}\n{}\n", warning("policy.toml"), warning("rules.toml"))
    );
    assert_eq!(o.stdout, plain.stdout, "not the defaults");

    let alerts = ["alerts", "--format", "json"];
    let plain = run(None, &alerts);
    assert!(matches!(plain.status.code(), Some(0 | 3)));
    let o = run(Some(&config), &alerts);
    assert_eq!(o.status.code(), plain.status.code());
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("{}\n{}\n", warning("policy.toml"), warning("rules.toml"))
    );
    assert_eq!(o.stdout, plain.stdout, "not the default rules");

    // Named explicitly, a missing file stops the run before anything is read or written.
    let held = fingerprint(&db);
    for (flag, name) in [("--policy", "policy.toml"), ("--rules", "rules.toml")] {
        let missing = d.join(format!("no-{name}"));
        let missing = missing.to_str().unwrap();
        let o = run(None, &[flag, missing, "alerts", "--record"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert_eq!(
            err,
            format!(
                "casewatch: error: {missing}: not found (given with {flag}); an explicit file must exist, so nothing was done\n"
            )
        );
        assert!(o.stdout.is_empty());
    }
    assert!(
        fingerprint(&db) == held,
        "a refused run wrote to the database"
    );
}

/// In a terminal, the warning about a missing user file is printed before the triage
/// screen takes over the terminal, and never inside it.
#[test]
fn the_warning_comes_before_the_screen_and_never_inside_it() {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    build_demo(&db, "17", "2000");
    let config = dangling_config(dir.path());
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(BIN);
    cmd.args(["--as-of", "2026-11-01", "--db"]);
    cmd.arg(&db);
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", dir.path());
    cmd.env("XDG_CONFIG_HOME", &config);
    cmd.env_remove("CASEWATCH_DB");
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let mut writer = pty.master.take_writer().unwrap();
    let raw = Arc::new(Mutex::new(Vec::new()));
    let sink = raw.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let started = Instant::now();
    while find(&raw.lock().unwrap(), b"HFKCW").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the screen never showed the overview"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    writer.write_all(b"q").unwrap();
    writer.flush().unwrap();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "did not quit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(200));
    let raw = raw.lock().unwrap().clone();
    let enter = find(&raw, b"\x1b[?1049h").expect("the screen never entered the alternate screen");
    let warning = b"policy.toml: not found; using built-in defaults";
    let at = find(&raw, warning).expect("no warning in the terminal");
    assert!(
        at < enter,
        "the warning was printed after the screen started"
    );
    assert!(
        find(&raw[enter..], b"warning").is_none(),
        "a warning was written inside the screen"
    );
    assert!(find(&raw, b"rules.toml: not found").is_some_and(|r| r < enter));
}

/// How to run casewatch as a user that file modes apply to: the program and its first
/// arguments. Root ignores file modes, so as root it is `setpriv` running casewatch as
/// `nobody` (uid 65534), with `dir` and `db` handed to that user; `None` when that is not
/// possible here. Makes `db` mode 0400 first.
fn unprivileged(dir: &Path, db: &Path) -> Option<Vec<String>> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(db, std::fs::Permissions::from_mode(0o400)).unwrap();
    // Still writable after chmod 0400: this process is root (or has CAP_DAC_OVERRIDE).
    if std::fs::OpenOptions::new().append(true).open(db).is_err() {
        return Some(vec![BIN.to_string()]);
    }
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    const NOBODY: u32 = 65534;
    for p in [dir, db] {
        std::os::unix::fs::chown(p, Some(NOBODY), Some(NOBODY)).ok()?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let prefix: Vec<String> = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        .map(String::from)
        .to_vec();
    // The directories above must let nobody through, and nobody must not be able to write.
    let test = |flag: &str| {
        Command::new(&prefix[0])
            .args(&prefix[1..])
            .args(["test", flag])
            .arg(db)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !test("-r") || test("-w") {
        return None;
    }
    Some([prefix, vec![BIN.to_string()]].concat())
}

/// A database file made read-only (chmod 0400; as root, run as an unprivileged user): every
/// write command refuses in words with exit 2 and leaves the file byte for byte as it was,
/// and the reading commands still work.
#[test]
fn a_read_only_database_refuses_writes_in_words_and_stays_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ro");
    std::fs::create_dir(&dir).unwrap();
    let db = dir.join("ro.db");
    build_demo(&db, "18", "2000");
    let c = rusqlite::Connection::open(&db).unwrap();
    let (crn, staff): (String, String) = c
        .query_row(
            "SELECT c.crn, p.staff_code FROM cases c JOIN practitioners p ON p.pdu = c.pdu
              WHERE c.allocated_to IS NULL AND p.status = 'in_post' AND p.grade = 'PO'
              ORDER BY c.crn, p.staff_code LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let spo: String = c
        .query_row(
            "SELECT min(staff_code) FROM practitioners WHERE grade = 'SPO' AND status = 'in_post'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(c);
    let held = fingerprint(&db);
    let csv = tmp.path().join("more.csv");
    cases_file(&csv, 'Z', 0, 10, "LAM");
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(&csv, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let prefix = unprivileged(&dir, &db).unwrap_or_else(|| {
        panic!(
            "this process is root and cannot run casewatch as an unprivileged user here (it needs \
             `setpriv` from util-linux, which `.ci/run` installs, and a path `nobody` can \
             reach), so a file mode cannot make the database read-only: nothing was checked"
        )
    });
    let run = |args: &[&str]| {
        let mut c = Command::new(&prefix[0]);
        c.args(&prefix[1..]).arg("--db").arg(&db).args(args);
        isolate(&mut c)
            .env("HOME", "/nonexistent")
            .output()
            .unwrap()
    };
    let bytes = std::fs::read(&db).unwrap();
    let as_of = ["--as-of", "2026-11-01"];
    let writes: Vec<(&str, Vec<&str>)> = vec![
        ("note", vec!["note", &crn, "--text", "read-only test"]),
        (
            "allocate",
            vec![
                "allocate",
                &crn,
                &staff,
                "--reason",
                "initial_allocation",
                "--note",
                "rationale",
                "--yes",
            ],
        ),
        (
            "oversight",
            vec![
                "oversight",
                &crn,
                "--by",
                &spo,
                "--kind",
                "periodic",
                "--note",
                "x",
            ],
        ),
        (
            "alerts --record",
            vec!["alerts", "--record", "--format", "json"],
        ),
        (
            "import",
            vec!["import", csv.to_str().unwrap(), "--kind", "cases"],
        ),
        (
            "import --dry-run",
            vec![
                "import",
                csv.to_str().unwrap(),
                "--kind",
                "cases",
                "--dry-run",
            ],
        ),
    ];
    for (what, args) in &writes {
        let o = run(&[&as_of[..], args].concat());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err}");
        assert!(err.contains("read-only"), "{what} does not say why: {err}");
        assert!(
            err.contains("no change was made") || err.contains("nothing was"),
            "{what} does not say nothing was written: {err}"
        );
    }
    let o = run(&[&as_of[..], &["summary", "--format", "json"]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["pdus"].as_array().unwrap().len(), 18);
    let o = run(&[&as_of[..], &["alerts", "--format", "json"]].concat());
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // The screen says READ-ONLY and refuses an action in words.
    {
        use portable_pty::{CommandBuilder, PtySize, native_pty_system};
        use std::io::{Read, Write};
        use std::sync::{Arc, Mutex};
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 100,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(&prefix[0]);
        cmd.args(&prefix[1..]);
        cmd.args(["--as-of", "2026-11-01", "--db"]);
        cmd.arg(&db);
        cmd.env("TERM", "xterm-256color");
        cmd.cwd("/");
        cmd.env("HOME", "/nonexistent");
        cmd.env("XDG_CONFIG_HOME", "/nonexistent/config");
        cmd.env_remove("CASEWATCH_DB");
        let mut child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let mut writer = pty.master.take_writer().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(24, 100, 0)));
        let p2 = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p2.lock().unwrap().process(&buf[..n]);
            }
        });
        let started = Instant::now();
        let wait_for = |needle: &str| loop {
            let text = parser.lock().unwrap().screen().contents();
            if text.contains(needle) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the screen never showed {needle:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        wait_for("READ-ONLY");
        wait_for("HFKCW");
        // Into the first PDU (it opens on Today), its unallocated cases, then "add a note".
        writer.write_all(b"\r").unwrap();
        writer.flush().unwrap();
        wait_for("› Today");
        writer.write_all(b"2").unwrap();
        writer.flush().unwrap();
        wait_for("row 1 of");
        writer.write_all(b"n").unwrap();
        writer.flush().unwrap();
        wait_for("read-only database: actions are refused");
        writer.write_all(b"q").unwrap();
        writer.flush().unwrap();
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "did not quit");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "{status:?}");
    }

    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "the read-only file changed"
    );
    // Back to writable for the checks (as root or owner).
    std::fs::set_permissions(&db, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    assert!(fingerprint(&db) == held);
}

/// With no terminal (a pipe, cron) or `TERM=dumb`, the bare command refuses with a clear
/// message and exit 2 before touching anything, and the headless commands still work.
#[test]
fn no_terminal_or_a_dumb_one_refuses_the_screen_but_summary_works() {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    use std::io::Read;

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let run = |term: &str, args: &[&str]| {
        let mut c = bin();
        c.env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("TERM", term)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    for term in ["xterm-256color", "dumb"] {
        let o = run(term, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert_eq!(
            err,
            "casewatch: error: the triage screen needs a terminal; for scripts use `casewatch summary` (see --help)\n"
        );
        assert!(o.stdout.is_empty());
        assert!(
            !home.join("data").exists(),
            "a refused screen created a database"
        );
    }
    // In a real terminal that says it is dumb.
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(BIN);
    cmd.env("TERM", "dumb");
    cmd.env("HOME", home);
    cmd.env("XDG_DATA_HOME", home.join("data"));
    cmd.env("XDG_CONFIG_HOME", home.join("config"));
    cmd.env_remove("CASEWATCH_DB");
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let out = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        all
    });
    let started = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.exit_code(), 2);
    drop(pty.master);
    let shown = String::from_utf8_lossy(&out.join().unwrap()).into_owned();
    assert!(
        shown.contains("TERM=dumb cannot show the triage screen; use `casewatch summary`"),
        "{shown:?}"
    );
    assert!(
        !shown.contains("\u{1b}[?1049h"),
        "entered the alternate screen"
    );
    assert!(!home.join("data").exists());

    // The headless commands work the same with no terminal and TERM=dumb.
    let o = run("dumb", &["--as-of", "2026-11-01", "summary"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("HFKCW"));
}
