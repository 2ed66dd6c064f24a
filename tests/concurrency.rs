//! The issue's concurrency scenario with real processes on one database file: the triage
//! screen open in a pseudo-terminal and making an allocation with its keys, the nightly
//! `alerts --record`, an import, and command-line allocations and notes, all started at the
//! same moment, round after round. Every write lands exactly once, no "database is locked"
//! reaches anyone, and the open screen shows what the other processes wrote.

mod common;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::Screen;
use rusqlite::{Connection, params};

/// The date the allocations (screen and command line) are made on.
const AS_OF: &str = "2026-11-01";
/// The PDU the screen is open on: the demo's one with many unallocated cases.
const PDU: &str = "HFKCW";
const ROUNDS: usize = 5;
/// Command-line allocations of unallocated cases of the PDU per round (besides one
/// reallocation elsewhere and the screen's allocation).
const CLI_ALLOCATIONS: usize = 3;
const NOTES: usize = 2;
/// Rows of each round's contacts file: enough that the import holds the write lock for a
/// while (some tens of milliseconds here).
const CONTACT_ROWS: usize = 800;
/// In odd rounds the test itself holds the write lock this long as the processes start, as
/// a long nightly job would: every writer then has to wait for it (well within the 5 s busy
/// timeout).
const HOLD: Duration = Duration::from_millis(1200);
/// When the screen's Enter is pressed after the processes are let go, round by round: at
/// once, or while the import (some tens of milliseconds) or the held lock is under way, so
/// that the screen's write meets the others at different points.
const ENTER_AFTER: [Duration; 5] = [
    Duration::ZERO,
    Duration::from_millis(300),
    Duration::from_millis(25),
    Duration::from_millis(900),
    Duration::from_millis(50),
];
/// How long to wait for the open screen to show a write made by another process. It looks
/// for changes every second, so it shows one within a second or two; the bound is generous
/// so that a debug build on a busy two-core machine does not fail the test, and the
/// latencies seen are printed.
const SHOWN_WITHIN: Duration = Duration::from_secs(30);

type CaseState = (Option<String>, Option<String>, Option<String>);
type History = Vec<(String, String, String, String)>;

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn with_db(db: &Path, args: &[&str]) -> Vec<OsString> {
    let mut v = vec![OsString::from("--db"), db.as_os_str().to_owned()];
    v.extend(os(args));
    v
}

fn count(c: &Connection, sql: &str, p: impl rusqlite::Params) -> i64 {
    c.query_row(sql, p, |r| r.get(0)).unwrap()
}

fn strings(c: &Connection, sql: &str, p: impl rusqlite::Params) -> Vec<String> {
    let mut st = c.prepare(sql).unwrap();
    st.query_map(p, |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn case_state(c: &Connection, crn: &str) -> CaseState {
    c.query_row(
        "SELECT allocated_to, allocated_on, unallocated_since FROM cases WHERE crn = ?1",
        [crn],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

fn history(c: &Connection, crn: &str) -> History {
    let mut st = c
        .prepare(
            "SELECT staff_code, from_date, to_date, reason FROM allocations WHERE crn = ?1
              ORDER BY id",
        )
        .unwrap();
    st.query_map([crn], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn unallocated_in_pdu(c: &Connection) -> i64 {
    count(
        c,
        "SELECT count(*) FROM cases WHERE pdu = ?1 AND allocated_to IS NULL",
        [PDU],
    )
}

/// The audit id in a line such as `casewatch: allocated (audit #12)`.
fn audit_id_in(text: &str) -> Option<i64> {
    let at = text.find("(audit #")? + "(audit #".len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// One allocation (or reallocation), by the screen or the command line, and what the case
/// held before it.
#[derive(Debug, Clone)]
struct Allocation {
    crn: String,
    staff: String,
    actor: &'static str,
    reason: &'static str,
    note: Option<String>,
    before: CaseState,
    history_before: History,
}

impl Allocation {
    fn new(
        c: &Connection,
        crn: &str,
        staff: &str,
        actor: &'static str,
        reason: &'static str,
        note: Option<String>,
    ) -> Allocation {
        Allocation {
            crn: crn.into(),
            staff: staff.into(),
            actor,
            reason,
            note,
            before: case_state(c, crn),
            history_before: history(c, crn),
        }
    }

    fn args(&self, db: &Path) -> Vec<OsString> {
        let mut v = with_db(
            db,
            &[
                "--as-of",
                AS_OF,
                "--as",
                self.actor,
                "allocate",
                &self.crn,
                &self.staff,
                "--reason",
                self.reason,
                "--yes",
            ],
        );
        if let Some(n) = &self.note {
            v.extend(os(&["--note", n]));
        }
        v
    }

    /// The case is allocated as the action writes it: the practitioner and date on the case,
    /// exactly one audit row, the previous allocation in the history (for a reallocation)
    /// and the note, once each. Returns the audit id.
    fn assert_landed(&self, c: &Connection, who: &str) -> i64 {
        let crn = &self.crn;
        assert_eq!(
            case_state(c, crn),
            (Some(self.staff.clone()), Some(AS_OF.into()), None),
            "{who}: the case is not allocated as the allocation wrote it"
        );
        let mut st = c
            .prepare(
                "SELECT id, action, actor, subject, reason, after FROM audit
                  WHERE crn = ?1 AND action IN ('allocate', 'reallocate')",
            )
            .unwrap();
        type Row = (i64, String, String, String, String, String);
        let audits: Vec<Row> = st
            .query_map([crn], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            audits.len(),
            1,
            "{who}: {} audit rows for one allocation",
            audits.len()
        );
        let (id, action, actor, subject, reason, after) = &audits[0];
        let realloc = self.before.0.is_some();
        assert_eq!(
            action,
            if realloc { "reallocate" } else { "allocate" },
            "{who}"
        );
        assert_eq!(
            (actor.as_str(), subject.as_str(), reason.as_str()),
            (self.actor, self.staff.as_str(), self.reason),
            "{who}: the audit row is not this allocation's"
        );
        let after: serde_json::Value = serde_json::from_str(after).unwrap();
        assert_eq!(after["allocated_to"], self.staff.as_str(), "{who}");
        assert_eq!(after["note"].as_str(), self.note.as_deref(), "{who}");
        let mut expected = self.history_before.clone();
        if let (Some(prev), Some(prev_on)) = (&self.before.0, &self.before.1) {
            expected.push((
                prev.clone(),
                prev_on.clone(),
                AS_OF.into(),
                self.reason.into(),
            ));
        }
        assert_eq!(
            history(c, crn),
            expected,
            "{who}: the allocation history is not as the allocation writes it"
        );
        let notes = match &self.note {
            Some(n) => count(
                c,
                "SELECT count(*) FROM notes WHERE crn = ?1 AND text = ?2 AND author = ?3",
                params![crn, n, self.actor],
            ),
            None => 0,
        };
        assert_eq!(
            notes,
            i64::from(self.note.is_some()),
            "{who}: the allocation's note"
        );
        *id
    }

    /// A write that gave up left the case, its history and the trail as they were.
    fn assert_absent(&self, c: &Connection, who: &str) {
        assert_eq!(
            case_state(c, &self.crn),
            self.before,
            "{who} gave up but wrote"
        );
        assert_eq!(history(c, &self.crn), self.history_before, "{who}");
        assert_eq!(
            count(
                c,
                "SELECT count(*) FROM audit WHERE crn = ?1 AND actor = ?2",
                params![self.crn, self.actor],
            ),
            0,
            "{who} gave up but left an audit row"
        );
    }
}

/// A write started with the others, and how to check it.
enum Write {
    Allocate(Allocation),
    Note {
        crn: String,
        text: String,
    },
    /// An import of `CONTACT_ROWS` contacts whose staff code is `tag`.
    Import {
        file: String,
        tag: String,
    },
    /// The nightly run for `as_of`, whose previous run is `previous`.
    Alerts {
        as_of: String,
        previous: Option<String>,
    },
}

/// A process of the real binary that ran, and when (from the start of its round).
struct Ran {
    what: String,
    write: Write,
    out: Output,
    started: Instant,
    ended: Instant,
}

/// Whether a process's write went through or gave up after its bounded retry. A lock error
/// must never reach the user in SQLite's words, only as the clear one-line refusal.
fn outcome(r: &Ran) -> bool {
    let err = common::stderr(&r.out);
    let what = &r.what;
    if err.contains("locked") {
        assert!(
            err.contains("stayed locked")
                && err.contains("nothing was written")
                && err.trim_end().lines().count() == 1
                && r.out.status.code() == Some(2),
            "{what}: a lock error reached the user, not as the clear refusal: {err}"
        );
        return false;
    }
    let ok: &[i32] = match r.write {
        // 3 is "a new critical alert": a result, not a failure.
        Write::Alerts { .. } => &[0, 3],
        _ => &[0],
    };
    assert!(
        r.out.status.code().is_some_and(|c| ok.contains(&c)),
        "{what}: {:?}: {err}",
        r.out.status
    );
    true
}

/// Checks that `r`'s write landed exactly once; returns the id, action and actor of the
/// audit row it added (the nightly run is recorded in its own tables, not the trail).
fn assert_landed(c: &Connection, r: &Ran, pdus: i64) -> Option<(i64, String, String)> {
    let what = &r.what;
    let err = common::stderr(&r.out);
    let stdout = String::from_utf8_lossy(&r.out.stdout);
    match &r.write {
        Write::Allocate(a) => {
            let id = a.assert_landed(c, what);
            assert_eq!(
                audit_id_in(&err),
                Some(id),
                "{what}: said {err:?}, but its audit row is #{id}"
            );
            let action = if a.before.0.is_some() {
                "reallocate"
            } else {
                "allocate"
            };
            Some((id, action.into(), a.actor.into()))
        }
        Write::Note { crn, text } => {
            let ids = strings(
                c,
                "SELECT CAST(id AS TEXT) FROM audit WHERE action = 'note' AND crn = ?1
                   AND json_extract(after, '$.note') = ?2 AND actor = 'conc-cli'",
                params![crn, text],
            );
            assert_eq!(ids.len(), 1, "{what}: {} audit rows", ids.len());
            let id: i64 = ids[0].parse().unwrap();
            assert_eq!(audit_id_in(&err), Some(id), "{what}: {err}");
            assert_eq!(
                count(
                    c,
                    "SELECT count(*) FROM notes WHERE crn = ?1 AND text = ?2",
                    params![crn, text]
                ),
                1,
                "{what}: the note is not there exactly once"
            );
            Some((id, "note".into(), "conc-cli".into()))
        }
        Write::Import { file, tag } => {
            let n = CONTACT_ROWS;
            assert!(
                stdout.starts_with(&format!("imported {n} contacts rows from "))
                    && stdout.contains(&format!(
                        ": {n} inserted, 0 updated, 0 unchanged, 0 skipped"
                    )),
                "{what}: {stdout}"
            );
            let (rows, distinct): (i64, i64) = c
                .query_row(
                    "SELECT count(*), count(DISTINCT crn || date || kind) FROM contacts
                      WHERE staff_code = ?1",
                    [tag],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!(
                (rows, distinct),
                (n as i64, n as i64),
                "{what}: imported rows lost or doubled"
            );
            let audits = strings(
                c,
                "SELECT CAST(id AS TEXT) || ' ' || after FROM audit
                  WHERE action = 'import' AND actor = 'conc-import'
                    AND json_extract(after, '$.file') LIKE '%' || ?1",
                [file],
            );
            assert_eq!(
                audits.len(),
                1,
                "{what}: {} import audit rows",
                audits.len()
            );
            let (id, after) = audits[0].split_once(' ').unwrap();
            let after: serde_json::Value = serde_json::from_str(after).unwrap();
            assert_eq!(after["inserted"], n, "{what}: {after}");
            Some((id.parse().unwrap(), "import".into(), "conc-import".into()))
        }
        Write::Alerts { as_of, previous } => {
            let doc: serde_json::Value = serde_json::from_slice(&r.out.stdout)
                .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {err}"));
            assert_eq!(doc["as_of"], as_of.as_str(), "{what}");
            assert_eq!(
                doc["previous"].as_str(),
                previous.as_deref(),
                "{what}: compared with the wrong run"
            );
            let alerts = doc["alerts"].as_array().unwrap();
            let new_critical = doc["counts"]["new_critical"].as_u64().unwrap();
            assert_eq!(
                r.out.status.code(),
                Some(if new_critical > 0 { 3 } else { 0 }),
                "{what}: exit code and new critical alerts disagree"
            );
            let runs: Vec<(i64, String)> = {
                let mut st = c
                    .prepare("SELECT id, actor FROM alert_runs WHERE as_of = ?1")
                    .unwrap();
                st.query_map([as_of], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            };
            assert_eq!(
                runs.len(),
                1,
                "{what}: {} recorded runs for the date",
                runs.len()
            );
            let (id, actor) = &runs[0];
            assert_eq!(doc["run_id"].as_i64(), Some(*id), "{what}");
            assert_eq!(actor, "conc-nightly");
            let (stored, keys): (i64, i64) = c
                .query_row(
                    "SELECT count(*), count(DISTINCT key) FROM run_alerts WHERE run_id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert!(!alerts.is_empty());
            assert_eq!(
                (stored, keys),
                (alerts.len() as i64, alerts.len() as i64),
                "{what}: the run's alerts are not all stored exactly once"
            );
            assert_eq!(
                count(
                    c,
                    "SELECT count(*) FROM run_pdu_metrics WHERE run_id = ?1",
                    [id]
                ),
                pdus,
                "{what}: one metrics snapshot per PDU"
            );
            None
        }
    }
}

/// A write that gave up after its bounded retry wrote nothing.
fn assert_absent(c: &Connection, r: &Ran) {
    let what = &r.what;
    match &r.write {
        Write::Allocate(a) => a.assert_absent(c, what),
        Write::Note { crn, text } => assert_eq!(
            count(
                c,
                "SELECT count(*) FROM notes WHERE crn = ?1 AND text = ?2",
                params![crn, text]
            ),
            0,
            "{what} gave up but wrote"
        ),
        Write::Import { tag, .. } => assert_eq!(
            count(
                c,
                "SELECT count(*) FROM contacts WHERE staff_code = ?1",
                [tag]
            ),
            0,
            "{what} gave up but wrote"
        ),
        Write::Alerts { as_of, .. } => assert_eq!(
            count(
                c,
                "SELECT count(*) FROM alert_runs WHERE as_of = ?1",
                [as_of]
            ),
            0,
            "{what} gave up but wrote"
        ),
    }
}

/// Writes a contacts file of `CONTACT_ROWS` distinct rows (each case once, on `date`) whose
/// staff code is `tag`, which the demo never uses.
fn contacts_file(path: &Path, crns: &[String], date: &str, tag: &str) {
    use std::io::Write as _;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "crn,date,kind,staff_code").unwrap();
    let kinds = ["face_to_face", "telephone", "video", "home_visit"];
    for (i, crn) in crns.iter().take(CONTACT_ROWS).enumerate() {
        writeln!(w, "{crn},{date},{},{tag}", kinds[i % kinds.len()]).unwrap();
    }
    w.flush().unwrap();
}

/// The count the screen shows on its Unallocated tab, e.g. `[2 Unallocated (57)]`.
fn tab_count(screen: &str) -> Option<i64> {
    let at = screen.find("2 Unallocated (")? + "2 Unallocated (".len();
    let digits: String = screen[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The PDU's trend line: how many recorded runs it shows and its latest unallocated figure,
/// from `trend (3 runs) unallocated ▁▃█ 52 · ...`.
fn trend(screen: &str) -> Option<(usize, i64)> {
    let at = screen.find("trend (")? + "trend (".len();
    let rest = &screen[at..];
    let runs: usize = rest.split(' ').next()?.parse().ok()?;
    let rest = &rest[rest.find(") unallocated ")? + ") unallocated ".len()..];
    let mut words = rest.split_whitespace();
    words.next()?; // the sparkline
    Some((runs, words.next()?.parse().ok()?))
}

/// The staff code on the first (selected) line of the allocation picker.
fn first_candidate(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.contains("Staff") && l.contains("Grade") && l.contains("After"))
        .unwrap_or_else(|| panic!("no picker on screen:\n{screen}"));
    lines[head + 1..]
        .iter()
        .find(|l| !l.contains("──"))
        .unwrap_or_else(|| panic!("no candidate on screen:\n{screen}"))
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("no candidate on screen:\n{screen}"))
        .to_string()
}

/// Starts every job at the same moment (with the screen's Enter, sent by `go`), each as a
/// process of the real binary; with `hold`, the test holds the write lock for `HOLD` from
/// before they start. Returns what ran, and when the held lock was let go.
fn run_together(
    home: &Path,
    db: &Path,
    jobs: Vec<(String, Vec<OsString>, Write)>,
    hold: bool,
    go: impl FnOnce(),
) -> (Vec<Ran>, Option<Instant>) {
    let barrier = Arc::new(Barrier::new(jobs.len() + 1 + usize::from(hold)));
    let holder = hold.then(|| {
        let c = Connection::open(db).unwrap();
        c.busy_timeout(Duration::from_secs(5)).unwrap();
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        let b = barrier.clone();
        std::thread::spawn(move || {
            b.wait();
            std::thread::sleep(HOLD);
            c.execute_batch("ROLLBACK").unwrap();
            Instant::now()
        })
    });
    let threads: Vec<_> = jobs
        .into_iter()
        .map(|(what, args, write)| {
            let mut cmd = common::cmd(home);
            cmd.args(&args).stdin(Stdio::null());
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                let started = Instant::now();
                let out = cmd.output().unwrap();
                Ran {
                    what,
                    write,
                    out,
                    started,
                    ended: Instant::now(),
                }
            })
        })
        .collect();
    barrier.wait();
    go();
    let ran = threads.into_iter().map(|t| t.join().unwrap()).collect();
    (ran, holder.map(|h| h.join().unwrap()))
}

/// Waits until the database shows `crn` allocated (the screen's write): `true`; or the
/// screen says it gave up after its bounded retry, which it must say in the clear words
/// only: `false`.
fn wait_for_screen_write(c: &Connection, screen: &Screen, crn: &str) -> bool {
    let start = Instant::now();
    loop {
        if case_state(c, crn).0.is_some() {
            return true;
        }
        let t = screen.text();
        if t.contains("Not allocated") || t.contains("nothing written") {
            assert!(
                t.contains("stayed locked by another writer") && !t.contains("database is locked"),
                "the screen's allocation failed:\n{t}"
            );
            return false;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the screen's allocation never landed:\n{t}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The issue's scenario: in each round the screen allocates a case with its keys while the
/// nightly run records a new date, a contacts file is imported, and the command line
/// allocates three cases of the same PDU, reallocates one elsewhere and adds two notes, all
/// started at the same moment (in odd rounds behind a write lock the test holds for 1.2 s).
/// After each round: every process exited 0 (3 for the nightly run when it says there is a
/// new critical alert), none saw a lock error, every write is there exactly once with its
/// audit row and nothing else was written; then the open screen shows the new unallocated
/// count and trend, and a case allocated afterwards by another process leaves its list
/// within `SHOWN_WITHIN`.
#[test]
fn the_screen_the_nightly_run_an_import_and_allocations_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("conc.db");
    common::build_demo(home, &db, "3000", "31");
    let c = Connection::open(&db).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    // The rounds count their own nightly runs from none: without the demo's history.
    c.execute_batch("PRAGMA foreign_keys = ON; DELETE FROM alert_runs;")
        .unwrap();
    let pdus = count(&c, "SELECT count(*) FROM pdus", []);
    let all_crns = strings(&c, "SELECT crn FROM cases ORDER BY crn", []);
    assert!(all_crns.len() >= CONTACT_ROWS);
    let unallocated_at_start = unallocated_in_pdu(&c);
    assert!(
        unallocated_at_start as usize > ROUNDS * (CLI_ALLOCATIONS + 2) + 5,
        "{PDU} has too few unallocated cases ({unallocated_at_start})"
    );
    // Practitioners of the PDU a case can be given to from the command line.
    let pos = strings(
        &c,
        "SELECT staff_code FROM practitioners WHERE pdu = ?1 AND grade = 'PO'
           AND status IN ('in_post', 'detached_in') ORDER BY staff_code",
        [PDU],
    );
    assert!(pos.len() >= 2, "{PDU} needs two POs");
    // Reallocations: allocated cases of another PDU, and its POs.
    let other_pdu = "LAB";
    let realloc_crns = strings(
        &c,
        "SELECT crn FROM cases WHERE pdu = ?1 AND allocated_to IS NOT NULL
           AND allocated_on IS NOT NULL ORDER BY crn LIMIT ?2",
        params![other_pdu, ROUNDS as i64],
    );
    let other_pos = strings(
        &c,
        "SELECT staff_code FROM practitioners WHERE pdu = ?1 AND grade = 'PO'
           AND status IN ('in_post', 'detached_in') ORDER BY staff_code",
        [other_pdu],
    );
    assert!(realloc_crns.len() == ROUNDS && other_pos.len() >= 2);
    let note_crn = strings(
        &c,
        "SELECT crn FROM cases WHERE pdu = ?1 AND allocated_to IS NOT NULL ORDER BY crn LIMIT 1",
        [PDU],
    )
    .remove(0);
    let contacts_at_start = count(&c, "SELECT count(*) FROM contacts", []);
    let audit_at_start = count(&c, "SELECT count(*) FROM audit", []);
    assert_eq!(audit_at_start, 0);

    // The screen, masked (initials only), on the PDU's Unallocated tab.
    let args = [
        "--as-of",
        AS_OF,
        "--as",
        "conc-screen",
        "--mask",
        "--db",
        db.to_str().unwrap(),
    ]
    .map(OsStr::new);
    let mut screen = Screen::open(home, &args, 120, 40);
    screen.wait_for(PDU);
    screen.send(format!("/{PDU}\r").as_bytes());
    screen.send(b"\r");
    // The PDU opens on Today; 2 is the unallocated list.
    screen.wait_for(&format!("Overview › {PDU} › Today"));
    screen.send(b"2");
    screen.wait_for(&format!("Overview › {PDU} › Unallocated"));
    let s = screen.wait_for("row 1 of");
    assert_eq!(tab_count(&s), Some(unallocated_at_start), "{s}");

    let alerts_date = |r: usize| format!("2026-11-{:02}", 2 + r);
    let mut allocated_in_pdu = 0i64;
    let mut audit_expected = 0i64;
    let mut latencies = Vec::new();
    let started = Instant::now();
    for round in 0..ROUNDS {
        let hold = round % 2 == 1;
        let round_start = Instant::now();
        let audit_before: i64 = count(&c, "SELECT coalesce(max(id), 0) FROM audit", []);
        let free = strings(
            &c,
            "SELECT crn FROM cases WHERE pdu = ?1 AND allocated_to IS NULL ORDER BY crn",
            [PDU],
        );
        // The screen's case: the last of the PDU's unallocated cases by CRN; the command
        // line's: the first ones.
        let screen_crn = free.last().unwrap().clone();

        // On the screen: filter the list to that case, open the picker, take its first
        // (least loaded) practitioner, and confirm a warning if there is one, so that the
        // next Enter writes.
        screen.send(format!("/{screen_crn}\r").as_bytes());
        screen
            .wait_until(Duration::from_secs(20), |t| {
                t.contains("row 1 of 1 ") && t.contains(&screen_crn)
            })
            .unwrap_or_else(|t| panic!("round {round}: the filter did not apply:\n{t}"));
        screen.send(b"a");
        let picker = screen
            .wait_until(Duration::from_secs(20), |t| {
                t.contains(&format!("Case {screen_crn} ·"))
                    && t.contains("Enter allocate")
                    && !t.contains("loading practitioners")
            })
            .unwrap_or_else(|t| panic!("round {round}: no allocation picker:\n{t}"));
        let screen_staff = first_candidate(&picker);
        // The rationale first (Tab, type it), then a confirmation if the choice needs one.
        let rationale = format!("screen rationale {round}");
        screen.send(b"\t");
        screen.send(rationale.as_bytes());
        screen.wait_for(&rationale);
        let warned = picker.contains("WARNING:") || picker.contains("NOT SUITABLE:");
        if warned {
            screen.send(b"\r");
            screen.wait_for("Enter again to allocate despite the above");
        }
        let screen_alloc = Allocation::new(
            &c,
            &screen_crn,
            &screen_staff,
            "conc-screen",
            "initial_allocation",
            Some(rationale),
        );
        assert_eq!(screen_alloc.before.0, None);

        // Everything else of the round.
        let mut jobs: Vec<(String, Vec<OsString>, Write)> = Vec::new();
        let as_of = alerts_date(round);
        jobs.push((
            format!("round {round}: alerts --record --as-of {as_of}"),
            with_db(
                &db,
                &[
                    "--as-of",
                    &as_of,
                    "--as",
                    "conc-nightly",
                    "alerts",
                    "--record",
                    "--format",
                    "json",
                ],
            ),
            Write::Alerts {
                as_of: as_of.clone(),
                previous: round.checked_sub(1).map(alerts_date),
            },
        ));
        let file = format!("contacts-r{round}.csv");
        let tag = format!("CONC-R{round}");
        contacts_file(
            &home.join(&file),
            &all_crns,
            &format!("2026-10-{:02}", 10 + round),
            &tag,
        );
        jobs.push((
            format!("round {round}: import {file}"),
            with_db(
                &db,
                &[
                    "--as",
                    "conc-import",
                    "import",
                    home.join(&file).to_str().unwrap(),
                    "--kind",
                    "contacts",
                ],
            ),
            Write::Import { file, tag },
        ));
        let cli_staff: Vec<&String> = pos.iter().filter(|s| **s != screen_staff).collect();
        for (i, crn) in free.iter().take(CLI_ALLOCATIONS).enumerate() {
            assert_ne!(*crn, screen_crn);
            let a = Allocation::new(
                &c,
                crn,
                cli_staff[(round + i) % cli_staff.len()],
                "conc-cli",
                "initial_allocation",
                Some(format!("concurrency round {round} allocation {i}")),
            );
            jobs.push((
                format!("round {round}: allocate {i}"),
                a.args(&db),
                Write::Allocate(a),
            ));
        }
        let crn = &realloc_crns[round];
        let current = case_state(&c, crn).0.unwrap();
        let to = other_pos.iter().find(|s| **s != current).unwrap();
        let a = Allocation::new(
            &c,
            crn,
            to,
            "conc-cli",
            "caseload_adjustment",
            Some(format!("concurrency round {round} reallocation")),
        );
        jobs.push((
            format!("round {round}: reallocate"),
            a.args(&db),
            Write::Allocate(a),
        ));
        for i in 0..NOTES {
            let text = format!("concurrency round {round} note {i}");
            jobs.push((
                format!("round {round}: note {i}"),
                with_db(
                    &db,
                    &["--as", "conc-cli", "note", &note_crn, "--text", &text],
                ),
                Write::Note {
                    crn: note_crn.clone(),
                    text,
                },
            ));
        }
        let processes = jobs.len();

        // All at once, the screen's Enter with them.
        let mut entered = None;
        let (ran, released) = run_together(home, &db, jobs, hold, || {
            std::thread::sleep(ENTER_AFTER[round % ENTER_AFTER.len()]);
            entered = Some(Instant::now());
            screen.send(b"\r");
        });
        let entered = entered.unwrap();
        let screen_landed = wait_for_screen_write(&c, &screen, &screen_crn);

        // Every process: exit 0 (or 3), no lock error; every write there exactly once.
        let mut gave_up = Vec::new();
        if !screen_landed {
            screen_alloc.assert_absent(&c, "the screen's allocation");
            gave_up.push("the screen's allocation".to_string());
        }
        let mut audit_rows: BTreeMap<(String, String), i64> = BTreeMap::new();
        let mut commit_order = Vec::new();
        for r in &ran {
            if outcome(r) {
                if let Some((id, action, actor)) = assert_landed(&c, r, pdus) {
                    *audit_rows.entry((action, actor)).or_default() += 1;
                    commit_order.push((
                        id,
                        r.what
                            .trim_start_matches(&format!("round {round}: "))
                            .to_string(),
                    ));
                }
            } else {
                assert_absent(&c, r);
                gave_up.push(r.what.clone());
            }
        }
        assert!(
            gave_up.is_empty(),
            "round {round}: these writes gave up after their bounded retry (clearly, writing \
             nothing), though no lock was held anywhere near the 5 s busy timeout: {gave_up:?}"
        );
        let screen_audit = screen_alloc.assert_landed(&c, "the screen's allocation");
        assert!(
            screen.ever_showed(&format!("allocated (audit #{screen_audit})")),
            "round {round}: the screen never said it allocated (audit #{screen_audit})"
        );
        *audit_rows
            .entry(("allocate".into(), "conc-screen".into()))
            .or_default() += 1;
        commit_order.push((screen_audit, "SCREEN".into()));
        commit_order.sort();
        // Nothing else was written: the trail grew by exactly these rows.
        let mut st = c
            .prepare(
                "SELECT action, actor, count(*) FROM audit WHERE id > ?1 GROUP BY action, actor",
            )
            .unwrap();
        let grown: BTreeMap<(String, String), i64> = st
            .query_map([audit_before], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            grown, audit_rows,
            "round {round}: the audit trail grew otherwise"
        );
        // (The nightly run is recorded in its own table, not the trail.)
        let added: i64 = audit_rows.values().sum();
        assert_eq!(
            added as usize,
            1 + CLI_ALLOCATIONS + 1 + NOTES + 1,
            "round {round}"
        );
        allocated_in_pdu += 1 + CLI_ALLOCATIONS as i64;
        assert_eq!(
            unallocated_in_pdu(&c),
            unallocated_at_start - allocated_in_pdu,
            "round {round}: allocations in {PDU} lost or doubled"
        );
        assert_eq!(
            count(&c, "SELECT count(*) FROM contacts", []),
            contacts_at_start + ((round + 1) * CONTACT_ROWS) as i64,
            "round {round}: contacts lost or doubled"
        );
        assert_eq!(
            count(
                &c,
                "SELECT count(*) FROM alert_runs WHERE actor <> 'demo'",
                []
            ),
            round as i64 + 1
        );
        let integrity: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok", "round {round}");
        if let Some(released) = released {
            for r in &ran {
                assert!(
                    r.ended > released,
                    "{}: finished while the test held the write lock",
                    r.what
                );
            }
        }
        assert!(screen.running(), "round {round}: the screen exited");

        // The screen shows the new state: the PDU's count as the database has it, and this
        // round's nightly run in its trend line.
        screen.send(b"/");
        screen.send(b"\x1b");
        let remaining = unallocated_in_pdu(&c);
        let run_unallocated: i64 = c
            .query_row(
                "SELECT json_extract(m.metrics, '$.unallocated') FROM run_pdu_metrics m
                   JOIN alert_runs r ON r.id = m.run_id WHERE r.as_of = ?1 AND m.pdu = ?2",
                params![as_of, PDU],
                |r| r.get(0),
            )
            .unwrap();
        let s = screen
            .wait_until(SHOWN_WITHIN, |t| {
                tab_count(t) == Some(remaining)
                    && trend(t) == Some((round + 1, run_unallocated))
                    && t.contains("row 1 of")
            })
            .unwrap_or_else(|t| {
                panic!(
                    "round {round}: the screen does not show {remaining} unallocated and \
                     {} runs (the last with {run_unallocated}):\n{t}",
                    round + 1
                )
            });

        // A write by another process with the screen just sitting there: a case on screen
        // allocated from the command line leaves the list within a couple of seconds.
        let probe = free
            .iter()
            .filter(|crn| case_state(&c, crn).0.is_none())
            .find(|crn| s.contains(crn.as_str()))
            .unwrap_or_else(|| panic!("round {round}: no unallocated case on screen:\n{s}"))
            .clone();
        let a = Allocation::new(
            &c,
            &probe,
            cli_staff[round % cli_staff.len()],
            "conc-probe",
            "initial_allocation",
            Some(format!("probe rationale {round}")),
        );
        let o = common::cmd(home).args(a.args(&db)).output().unwrap();
        assert!(o.status.success(), "{}", common::stderr(&o));
        let written = Instant::now();
        a.assert_landed(&c, "the probe allocation");
        allocated_in_pdu += 1;
        let s = screen
            .wait_until(SHOWN_WITHIN, |t| {
                !t.contains(probe.as_str()) && tab_count(t) == Some(remaining - 1)
            })
            .unwrap_or_else(|t| {
                panic!(
                    "round {round}: {SHOWN_WITHIN:?} after another process allocated a case \
                     on screen, the screen still shows it or not {} unallocated:\n{t}",
                    remaining - 1
                )
            });
        let shown_after = written.elapsed();
        assert_eq!(trend(&s).map(|t| t.0), Some(round + 1), "{s}");
        latencies.push(shown_after);
        audit_expected += added + 1; // and the probe's

        let t0 = ran.iter().map(|r| r.started).fold(entered, Instant::min);
        let ms = |t: Instant| (t - t0).as_millis();
        let spans: Vec<String> = ran
            .iter()
            .map(|r| {
                format!(
                    "{} {}..{}",
                    r.what.trim_start_matches(&format!("round {round}: ")),
                    ms(r.started),
                    ms(r.ended)
                )
            })
            .collect();
        let overlap = ran.iter().map(|r| r.started).max().unwrap()
            < ran.iter().map(|r| r.ended).min().unwrap();
        eprintln!(
            "round {round}{}: {processes} processes and the screen, in ms from the first start: \
             screen Enter at {}{}, {}; all {processes} running at once: {overlap}; commit order: \
             {}; the screen showed the probe allocation after {} ms; round {:.1} s",
            if hold { " (write lock held 1.2 s)" } else { "" },
            ms(entered),
            if warned {
                " (confirming a warning)"
            } else {
                ""
            },
            spans.join(", "),
            commit_order
                .iter()
                .map(|(_, w)| w.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            shown_after.as_millis(),
            round_start.elapsed().as_secs_f64()
        );
    }

    // The nightly run with the screen just sitting on the PDU: its trend line takes it in.
    let as_of = alerts_date(ROUNDS);
    let o = common::casewatch(
        &with_db(
            &db,
            &[
                "--as-of",
                &as_of,
                "--as",
                "conc-nightly",
                "alerts",
                "--record",
            ],
        )
        .iter()
        .map(|a| a.to_str().unwrap())
        .collect::<Vec<_>>(),
        home,
    );
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "{}",
        common::stderr(&o)
    );
    screen
        .wait_until(SHOWN_WITHIN, |t| {
            trend(t).is_some_and(|(runs, _)| runs == ROUNDS + 1)
        })
        .unwrap_or_else(|t| {
            panic!(
                "{SHOWN_WITHIN:?} after a nightly run by another process, the PDU's trend line \
                 does not show it:\n{t}"
            )
        });

    screen.send(b"q");
    let status = screen.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "the screen: {status:?}");
    for word in ["locked", "Not allocated", "nothing written"] {
        assert!(!screen.ever_showed(word), "the screen showed {word:?}");
    }
    assert!(
        screen.ever_showed("database changed: refreshed"),
        "the screen never noticed another process's write"
    );
    assert!(!String::from_utf8_lossy(&screen.raw()).contains("locked"));

    assert_eq!(
        count(&c, "SELECT count(*) FROM audit", []),
        audit_expected,
        "the whole trail"
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM alert_runs WHERE actor = 'conc-nightly'",
            []
        ),
        ROUNDS as i64 + 1
    );
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    assert_eq!(
        count(&c, "SELECT count(*) FROM pragma_foreign_key_check", []),
        0
    );
    eprintln!(
        "{ROUNDS} rounds in {:.1}s; the screen showed another process's write after {:?}",
        started.elapsed().as_secs_f64(),
        latencies
            .iter()
            .map(|d| format!("{} ms", d.as_millis()))
            .collect::<Vec<_>>()
    );
}

/// Reading never waits for a writer: while another process holds the write lock (a long
/// import or nightly run), the screen opens with its figures and the reading commands
/// answer at once, instead of after the 5 s busy timeout. Each is timed with the lock free
/// first, and with it held must not take the busy timeout longer: a generous margin for a
/// busy machine that still catches a reader that waits.
#[test]
fn readers_do_not_wait_for_a_writer() {
    let at_once = casewatch::store::BUSY_TIMEOUT.mul_f64(0.75);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("r.db");
    common::build_demo(home, &db, "3000", "32");
    let open_screen = || {
        let args = ["--as-of", AS_OF, "--mask", "--db", db.to_str().unwrap()].map(OsStr::new);
        let screen = Screen::open(home, &args, 120, 40);
        let started = Instant::now();
        screen
            .wait_until(Duration::from_secs(30), |t| t.contains("18 PDUs"))
            .unwrap_or_else(|t| panic!("the overview never showed:\n{t}"));
        (screen, started.elapsed())
    };
    let (mut screen, screen_free) = open_screen();
    screen.send(b"q");
    assert!(screen.wait_exit(Duration::from_secs(10)).success());
    let writer = Connection::open(&db).unwrap();
    const CLEAR_AND_LOCK: &str = "DELETE FROM overview_cache; BEGIN IMMEDIATE;";

    for (what, args) in [
        ("summary", vec!["summary", "--format", "json"]),
        (
            "alerts --region London",
            vec!["alerts", "--region", "London", "--format", "json"],
        ),
        ("export unallocated", vec!["export", "unallocated"]),
    ] {
        let mut all = vec!["--db", db.to_str().unwrap(), "--as-of", AS_OF];
        all.extend(args);
        let timed = || {
            let started = Instant::now();
            let o = common::casewatch(&all, home);
            let took = started.elapsed();
            assert!(
                matches!(o.status.code(), Some(0 | 3)),
                "{what}: {}",
                common::stderr(&o)
            );
            took
        };
        let free = timed();
        // The free run may have cached the overview; without it, a reader has one to write.
        writer.execute_batch(CLEAR_AND_LOCK).unwrap();
        let took = timed();
        writer.execute_batch("ROLLBACK").unwrap();
        assert!(
            took.saturating_sub(free) < at_once,
            "{what} took {took:?} while another process held the write lock ({free:?} without)"
        );
    }

    writer.execute_batch(CLEAR_AND_LOCK).unwrap();
    let (mut screen, took) = open_screen();
    assert!(
        took.saturating_sub(screen_free) < at_once,
        "the screen took {took:?} to show the overview while another process held the write \
         lock ({screen_free:?} without)"
    );
    writer.execute_batch("ROLLBACK").unwrap();
    screen.send(b"q");
    assert!(screen.wait_exit(Duration::from_secs(10)).success());
}

/// The overview cache is written by readers (the screen, `alerts --region`); while another
/// process holds the write lock it is skipped at once, and the connection keeps its busy
/// timeout for the writes that follow.
#[test]
fn the_overview_cache_is_skipped_not_waited_for_while_another_process_writes() {
    use casewatch::store::{OpenMode, Store};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    common::build_demo(dir.path(), &db, "3000", "33");
    let store = Store::open(&db, OpenMode::Existing).unwrap();
    let (policy, rules) = (
        casewatch::policy::Policy::defaults(),
        casewatch::rules::Rules::defaults(),
    );
    let as_of = casewatch::domain::parse_date("as_of", AS_OF).unwrap();
    let busy_timeout = |s: &Store| -> u128 { s.busy_timeout().unwrap().as_millis() };
    assert_eq!(busy_timeout(&store), 5000);
    let cached = |db: &std::path::Path| {
        count(
            &Connection::open(db).unwrap(),
            "SELECT count(*) FROM overview_cache",
            [],
        )
    };

    // A minute's busy timeout for this test: waiting for the lock would take that long, far
    // past the generous bound below, which no slow machine comes near without waiting.
    store.set_busy_timeout(Duration::from_secs(60)).unwrap();
    let writer = Connection::open(&db).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let (pdus, _) = casewatch::alerts::evaluate_cached(
        store.db(),
        &casewatch::context::Evaluation::new(policy.clone(), rules.clone(), as_of),
        Some("London"),
    )
    .unwrap();
    let took = started.elapsed();
    assert_eq!(pdus.len(), 18);
    assert!(
        took < Duration::from_secs(30),
        "waited {took:?} for a cache"
    );
    assert_eq!(cached(&db), 0, "no cache while another process writes");
    assert_eq!(busy_timeout(&store), 60_000, "the busy timeout is kept");
    writer.execute_batch("ROLLBACK").unwrap();

    casewatch::alerts::evaluate_cached(
        store.db(),
        &casewatch::context::Evaluation::new(policy.clone(), rules.clone(), as_of),
        Some("London"),
    )
    .unwrap();
    assert_eq!(cached(&db), 1, "cached once the file is free");
    assert_eq!(busy_timeout(&store), 60_000);
}
