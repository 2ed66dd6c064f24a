//! casewatch on a real PostgreSQL server, started by the tests: `initdb` and `pg_ctl` from
//! the distribution's packages in a temporary directory, listening on a Unix socket only (as
//! the `postgres` user when the tests run as root: PostgreSQL refuses to run as root). A
//! machine without PostgreSQL fails these tests rather than skipping them; `.ci/run`
//! installs it.

mod common;
#[path = "common/pg.rs"]
mod pg;

use pg::Server;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use casewatch::store::pg::PG_SCHEMA_VERSION as LATEST;

fn casewatch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_casewatch"))
        .args(args)
        .env("HOME", "/nonexistent")
        .env_remove("CASEWATCH_DB")
        .output()
        .unwrap()
}

/// The server's message for an error.
fn msg(e: &postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_string())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn pg_init_creates_the_schema_once_and_refuses_a_newer_one() {
    let server = Server::start();
    let url = server.url("postgres");
    let o = casewatch(&["pg-init", &url]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains(&format!(
            "now has casewatch schema version {LATEST} (was 0)"
        )),
        "{}",
        text(&o.stdout)
    );
    let o = casewatch(&["pg-init", &url]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("nothing to do"),
        "{}",
        text(&o.stdout)
    );

    let mut db = server.connect("postgres");
    let tables: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'
               AND tablename IN ('cases', 'audit', 'pdu_access', 'enquiries', 'assessments')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 5);
    // A newer casewatch's schema: refused, and left as it was.
    db.execute(
        "INSERT INTO casewatch_schema (version, name) VALUES ($1, 'future')",
        &[&(casewatch::store::pg::PG_SCHEMA_VERSION + 1)],
    )
    .unwrap();
    let o = casewatch(&["pg-init", &url]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!(
            "has casewatch schema version {}, newer than this casewatch knows ({LATEST})",
            LATEST + 1
        )),
        "{err}"
    );
    let versions: i64 = db
        .query_one("SELECT count(*) FROM casewatch_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(versions, i64::from(LATEST) + 1);
}

/// Two PDUs, a case in each, an SPO of the first and a head of region.
fn two_pdus(server: &Server) -> postgres::Client {
    let o = casewatch(&["pg-init", &server.url("postgres")]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut db = server.connect("postgres");
    db.batch_execute(
        "INSERT INTO pdus (code, name, region) VALUES ('AAA', 'A Town', 'London'),
                                                      ('BBB', 'B Town', 'London');
         INSERT INTO cases (crn, name, pdu, tier, case_type, sentence_date)
         VALUES ('A000001', 'Person A', 'AAA', 'A1', 'COMMUNITY', '2026-01-01'),
                ('B000001', 'Person B', 'BBB', 'A1', 'COMMUNITY', '2026-01-01');
         CREATE ROLE spo_a LOGIN IN ROLE casewatch_spo;
         CREATE ROLE head LOGIN IN ROLE casewatch_head;
         INSERT INTO pdu_access (db_user, pdu) VALUES ('spo_a', 'AAA');",
    )
    .unwrap();
    db
}

#[test]
fn an_spo_sees_and_writes_only_their_pdus_cases_and_a_head_sees_all() {
    let server = Server::start();
    let _owner = two_pdus(&server);
    let mut spo = server.connect("spo_a");
    let seen: Vec<String> = spo
        .query("SELECT crn FROM cases ORDER BY crn", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(seen, ["A000001"]);
    // Another PDU's case cannot be changed, moved into, or written about.
    let n = spo
        .execute("UPDATE cases SET tier = 'B1' WHERE crn = 'B000001'", &[])
        .unwrap();
    assert_eq!(n, 0);
    let moved = spo.execute("UPDATE cases SET pdu = 'BBB' WHERE crn = 'A000001'", &[]);
    assert!(moved.is_err(), "a case moved out of sight");
    let e = spo
        .execute(
            "INSERT INTO cases (crn, name, pdu, tier, case_type, sentence_date)
             VALUES ('B000002', 'X', 'BBB', 'A1', 'COMMUNITY', '2026-01-01')",
            &[],
        )
        .unwrap_err();
    assert!(msg(&e).contains("row-level security"), "{e}");
    let e = spo
        .execute(
            "INSERT INTO contacts (crn, date, kind) VALUES ('B000001', '2026-02-01', 'video')",
            &[],
        )
        .unwrap_err();
    assert!(msg(&e).contains("row-level security"), "{e}");
    spo.execute(
        "INSERT INTO contacts (crn, date, kind) VALUES ('A000001', '2026-02-01', 'video')",
        &[],
    )
    .unwrap();
    let access: i64 = spo
        .query_one("SELECT count(*) FROM pdu_access", &[])
        .unwrap()
        .get(0);
    assert_eq!(access, 1);

    let mut head = server.connect("head");
    let all: i64 = head
        .query_one("SELECT count(*) FROM cases", &[])
        .unwrap()
        .get(0);
    assert_eq!(all, 2);
    assert_eq!(
        head.execute("UPDATE cases SET tier = 'B1' WHERE crn = 'B000001'", &[])
            .unwrap(),
        1
    );
}

#[test]
fn recorded_incidents_acknowledgements_and_silences_follow_their_pdu() {
    let server = Server::start();
    let mut owner = two_pdus(&server);
    owner
        .batch_execute(
            "INSERT INTO alert_runs (id, as_of, recorded_at, actor)
             VALUES (1, '2026-11-01', '2026-11-01T02:30:00Z', 'nightly');
             INSERT INTO run_pdu_metrics (run_id, pdu, metrics)
             VALUES (1, 'AAA', '{}'), (1, 'BBB', '{}');
             INSERT INTO run_incidents (run_id, key, rule, severity, scope, pdu, count,
                                        first_seen, nights, message, metrics, members)
             VALUES (1, 'r:AAA', 'r', 'high', 'case', 'AAA', 1, '2026-11-01', 1, '', '{}',
                     '[[\"A000001\"]]'),
                    (1, 'r:BBB', 'r', 'high', 'case', 'BBB', 1, '2026-11-01', 1, '', '{}',
                     '[[\"B000001\"]]');
             INSERT INTO alert_acks (key, at, actor, note, metrics)
             VALUES ('r:AAA:A000001', now(), 'x', 'seen', '{}'),
                    ('r:BBB:B000001', now(), 'x', 'seen', '{}');
             INSERT INTO silences (rule, pdu, crn, starts, until, reason, created_by, created_at)
             VALUES (NULL, NULL, 'B000001', '2026-11-01', '2026-11-08', 'why', 'x', now()),
                    ('r', NULL, NULL, '2026-11-01', '2026-11-08', 'why', 'x', now());",
        )
        .unwrap();
    let mut spo = server.connect("spo_a");
    let keys = |db: &mut postgres::Client, sql: &str| -> Vec<String> {
        db.query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    // The PDU figures are counts, seen by all; the incidents list CRNs, and follow the PDU.
    assert_eq!(
        keys(&mut spo, "SELECT pdu FROM run_pdu_metrics ORDER BY pdu"),
        ["AAA", "BBB"]
    );
    assert_eq!(
        keys(&mut spo, "SELECT key FROM run_incidents ORDER BY key"),
        ["r:AAA"]
    );
    assert_eq!(
        keys(&mut spo, "SELECT key FROM alert_acks ORDER BY key"),
        ["r:AAA:A000001"]
    );
    // The silence of another PDU's case is not listed; the one of a rule everywhere is.
    assert_eq!(
        keys(
            &mut spo,
            "SELECT coalesce(crn, rule) FROM silences ORDER BY id"
        ),
        ["r"]
    );
    let e = spo
        .execute(
            "INSERT INTO alert_acks (key, at, actor, note, metrics)
             VALUES ('r:BBB:B000001', now(), 'x', 'mine now', '{}')",
            &[],
        )
        .unwrap_err();
    assert!(msg(&e).contains("row-level security"), "{e}");
    let e = spo
        .execute(
            "INSERT INTO silences (rule, starts, until, reason, created_by, created_at)
             VALUES ('r', '2026-11-01', '2026-11-08', 'quiet', 'x', now())",
            &[],
        )
        .unwrap_err();
    assert!(msg(&e).contains("row-level security"), "{e}");
    // Recording a night is not an SPO's.
    assert!(
        spo.execute("DELETE FROM alert_runs", &[]).is_err(),
        "an SPO deleted the runs' history"
    );
    let mut head = server.connect("head");
    assert_eq!(
        keys(&mut head, "SELECT key FROM run_incidents ORDER BY key"),
        ["r:AAA", "r:BBB"]
    );
}

#[test]
fn a_change_to_a_case_or_a_triage_write_notifies_its_pdu_and_names_no_one() {
    let server = Server::start();
    let _owner = two_pdus(&server);
    let mut listener = server.connect("spo_a");
    listener.batch_execute("LISTEN casewatch").unwrap();
    let mut head = server.connect("head");
    let started = std::time::Instant::now();
    head.execute("UPDATE cases SET tier = 'B2' WHERE crn = 'A000001'", &[])
        .unwrap();
    head.execute(
        "INSERT INTO audit (actor, action, crn) VALUES ('someone', 'note', 'B000001')",
        &[],
    )
    .unwrap();
    head.execute(
        "INSERT INTO audit (actor, action) VALUES ('someone', 'silence')",
        &[],
    )
    .unwrap();
    let mut got = Vec::new();
    let mut notes = listener.notifications();
    let mut it = notes.timeout_iter(std::time::Duration::from_secs(1));
    while got.len() < 3 {
        match postgres::fallible_iterator::FallibleIterator::next(&mut it).unwrap() {
            Some(n) => got.push((n.channel().to_string(), n.payload().to_string())),
            None => break,
        }
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(
        got,
        [
            ("casewatch".to_string(), "AAA".to_string()),
            ("casewatch".to_string(), "BBB".to_string()),
            ("casewatch".to_string(), "*".to_string()),
        ]
    );
}

#[test]
fn the_audit_is_append_only_and_records_the_database_user() {
    let server = Server::start();
    let mut owner = two_pdus(&server);
    let mut spo = server.connect("spo_a");
    // Whatever user the client claims, the session's is recorded.
    spo.execute(
        "INSERT INTO audit (actor, action, crn, db_user) VALUES ('jo', 'note', 'A000001', 'head')",
        &[],
    )
    .unwrap();
    let who: String = owner
        .query_one("SELECT db_user FROM audit", &[])
        .unwrap()
        .get(0);
    assert_eq!(who, "spo_a");
    let e = spo
        .execute("UPDATE audit SET actor = 'x'", &[])
        .unwrap_err();
    assert!(msg(&e).contains("permission denied"), "{e}");
    let e = spo.execute("DELETE FROM audit", &[]).unwrap_err();
    assert!(msg(&e).contains("permission denied"), "{e}");
    // Not even the schema's owner.
    let e = owner.execute("DELETE FROM audit", &[]).unwrap_err();
    assert!(msg(&e).contains("append-only"), "{e:?}");
    let e = owner.batch_execute("TRUNCATE audit").unwrap_err();
    assert!(msg(&e).contains("append-only"), "{e:?}");
    // An entry about another PDU's case cannot be written by the SPO of this one.
    assert!(
        spo.execute(
            "INSERT INTO audit (actor, action, crn) VALUES ('jo', 'note', 'B000001')",
            &[],
        )
        .is_err()
    );
}

#[test]
fn errors_are_one_line_and_never_show_the_password() {
    let server = Server::start();
    let socket = server.dir.path().display().to_string();
    // No such login.
    let url = format!(
        "postgres://nobody:hunter2@/casewatch?host={socket}&port={}",
        server.port
    );
    let o = casewatch(&["pg-init", &url]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("refused the login"), "{err}");
    assert!(
        !err.contains("hunter2") && err.trim().lines().count() == 1,
        "{err}"
    );
    // Malformed.
    let o = casewatch(&["pg-init", "postgres://spo:hunter2@host:port/db"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("is not a usable PostgreSQL URL"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    // A report reads the server as the login: refused, on one line.
    let o = casewatch(&["--db", &url, "summary"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("refused the login") && !err.contains("hunter2"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // `init` makes a file: on a server it says what does the same there.
    let o = casewatch(&["--db", &url, "init"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("pg-init") && !err.contains("hunter2"), "{err}");
    // A backup is PostgreSQL's own tool's to make: said how, on one line.
    let o = casewatch(&["--db", &url, "backup", "/tmp/never-written.dump"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("pg_dump --format=custom") && !err.contains("hunter2"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!std::path::Path::new("/tmp/never-written.dump").exists());
    // The server stopped.
    server.stop();
    let o = casewatch(&["pg-init", &server.url("postgres")]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("cannot reach the PostgreSQL server"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn copy_moves_a_sqlite_database_and_compares_counts_and_checksums() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.db");
    let f = file.to_str().unwrap();
    let o = casewatch(&[
        "--db",
        f,
        "--as-of",
        "2026-11-01",
        "demo",
        "--cases",
        "2000",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let crn: String = rusqlite::Connection::open(&file)
        .unwrap()
        .query_row("SELECT crn FROM cases ORDER BY crn LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    // A note with a tab, a newline and a backslash: COPY's escapes.
    let o = casewatch(&["--db", f, "note", &crn, "--text", "seen\tat home\\office"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // A recorded night, an acknowledgement and a silence: the history moves too.
    let o = casewatch(&["--db", f, "--as-of", "2026-11-01", "alerts", "--record"]);
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "{}",
        text(&o.stderr)
    );
    let sqlite = rusqlite::Connection::open(&file).unwrap();
    let incident: String = sqlite
        .query_row(
            "SELECT key FROM run_incidents WHERE scope = 'case' ORDER BY key LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let o = casewatch(&["--db", f, "ack", &incident, "--note", "in hand"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = casewatch(&[
        "--db",
        f,
        "--as-of",
        "2026-11-01",
        "silence",
        &format!("crn={crn}"),
        "--until",
        "2026-11-15",
        "--reason",
        "moving area",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let count = |sql: &str| -> i64 { sqlite.query_row(sql, [], |r| r.get(0)).unwrap() };
    let runs = count("SELECT count(*) FROM alert_runs");
    let incidents = count("SELECT count(*) FROM run_incidents");
    let with_ethnicity = count("SELECT count(*) FROM cases WHERE ethnicity IS NOT NULL");
    assert!(runs > 1 && incidents > 0 && with_ethnicity > 0);
    let url = server.url("postgres");
    // Not yet initialised: refused.
    let o = casewatch(&["copy", f, &url]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("run `casewatch pg-init URL` first"));
    assert!(casewatch(&["pg-init", &url]).status.success());
    let o = casewatch(&["copy", f, &url]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let report = text(&o.stdout);
    assert!(report.contains("every table matches"), "{report}");
    let cases_line = report.lines().find(|l| l.starts_with("cases ")).unwrap();
    assert!(cases_line.contains(" 2000       2000 "), "{cases_line}");
    // The planner has the copied tables' statistics before anyone reads them.
    let unanalysed: Vec<String> = server
        .connect("postgres")
        .query(
            "SELECT relname::text FROM pg_stat_user_tables
              WHERE relname IN ('cases', 'contacts', 'audit', 'run_incidents', 'tally_pdu')
                AND last_analyze IS NULL",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(unanalysed.is_empty(), "{unanalysed:?}");
    for table in ["alert_runs", "run_incidents", "alert_acks", "silences"] {
        assert!(
            report.lines().any(|l| l.starts_with(&format!("{table} "))),
            "{table} not copied: {report}"
        );
    }
    let mut db = server.connect("postgres");
    let pg_count =
        |db: &mut postgres::Client, sql: &str| -> i64 { db.query_one(sql, &[]).unwrap().get(0) };
    assert_eq!(pg_count(&mut db, "SELECT count(*) FROM alert_runs"), runs);
    assert_eq!(
        pg_count(&mut db, "SELECT count(*) FROM run_incidents"),
        incidents
    );
    assert_eq!(
        pg_count(
            &mut db,
            "SELECT count(*) FROM cases WHERE ethnicity IS NOT NULL"
        ),
        with_ethnicity
    );
    let silenced: String = db
        .query_one("SELECT crn FROM silences", &[])
        .unwrap()
        .get(0);
    assert_eq!(silenced, crn);
    let acked: String = db
        .query_one("SELECT key FROM alert_acks", &[])
        .unwrap()
        .get(0);
    assert_eq!(acked, incident);
    let note: String = db
        .query_one("SELECT text FROM notes WHERE crn = $1", &[&crn])
        .unwrap()
        .get(0);
    assert_eq!(note, "seen\tat home\\office");
    let audit: i64 = db
        .query_one("SELECT count(*) FROM audit WHERE crn = $1", &[&crn])
        .unwrap()
        .get(0);
    assert_eq!(audit, 2, "the note and the silence");
    // New rows after the copy get new ids.
    db.execute(
        "INSERT INTO contacts (crn, date, kind) VALUES ($1, '2026-11-02', 'video')",
        &[&crn],
    )
    .unwrap();
    // A second copy into the now full database is refused, and changes nothing.
    let o = casewatch(&["copy", f, &url]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("copy into an empty casewatch database"));
    let cases: i64 = db
        .query_one("SELECT count(*) FROM cases", &[])
        .unwrap()
        .get(0);
    assert_eq!(cases, 2000);
}

/// `n` unallocated community cases in PDU AAA and four POs to take them.
fn staffed(server: &Server, n: usize) -> postgres::Client {
    let mut db = two_pdus(server);
    let mut sql = String::from(
        "INSERT INTO practitioners (staff_code, name, grade, pdu, contracted_hours, start_date, status)
         VALUES ('AAA01', 'One', 'PO', 'AAA', 37, '2020-01-01', 'in_post'),
                ('AAA02', 'Two', 'PO', 'AAA', 37, '2020-01-01', 'in_post'),
                ('AAA03', 'Three', 'PO', 'AAA', 37, '2020-01-01', 'in_post'),
                ('AAA04', 'Four', 'PO', 'AAA', 37, '2020-01-01', 'in_post'),
                ('BBB01', 'Bee', 'PO', 'BBB', 37, '2020-01-01', 'in_post');
         UPDATE cases SET unallocated_since = '2026-10-01';",
    );
    for i in 0..n {
        sql.push_str(&format!(
            "INSERT INTO cases (crn, name, pdu, tier, rosh, case_type, sentence_date, unallocated_since)
             VALUES ('A1{i:05}', 'Person', 'AAA', 'C2', 'MEDIUM', 'COMMUNITY', '2026-09-01', '2026-10-01');"
        ));
    }
    db.batch_execute(&sql).unwrap();
    db
}

fn allocation(crn: &str, staff: &str) -> casewatch::actions::Allocation {
    casewatch::actions::Allocation {
        crn: crn.into(),
        staff_code: staff.into(),
        reason: casewatch::domain::AllocationReason::InitialAllocation,
        note: Some("nearest office".into()),
        sensitive: false,
        expect: Some(casewatch::actions::Holding::unallocated()),
        confirmed: true,
    }
}

#[test]
fn the_triage_writes_run_on_postgresql_as_the_login_may() {
    let server = Server::start();
    let _owner = staffed(&server, 1);
    let url = server.url("spo_a");
    let as_of = "2026-11-02";
    let o = casewatch(&[
        "--db",
        &url,
        "--as-of",
        as_of,
        "--as",
        "jo.spo",
        "allocate",
        "A100000",
        "AAA01",
        "--reason",
        "initial_allocation",
        "--note",
        "nearest office",
        "--was",
        "unallocated",
        "--yes",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Another PDU's case does not exist for this login.
    let o = casewatch(&[
        "--db",
        &url,
        "--as-of",
        as_of,
        "allocate",
        "B000001",
        "BBB01",
        "--reason",
        "initial_allocation",
        "--note",
        "x",
        "--yes",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no case with that CRN"),
        "{}",
        text(&o.stderr)
    );
    // A stale form: refused, saying who changed it.
    let o = casewatch(&[
        "--db",
        &url,
        "--as-of",
        as_of,
        "allocate",
        "A100000",
        "AAA02",
        "--reason",
        "caseload_adjustment",
        "--note",
        "x",
        "--was",
        "unallocated",
        "--yes",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("it is now allocated to AAA01"), "{err}");
    assert!(
        err.contains("by \"jo.spo\"") || err.contains("by jo.spo"),
        "{err}"
    );
    let o = casewatch(&["--db", &url, "note", "A100000", "--text", "phoned"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = casewatch(&[
        "--db",
        &url,
        "--as-of",
        as_of,
        "oversight",
        "A100000",
        "--by",
        "AAA01",
        "--kind",
        "allocation",
        "--note",
        "agreed",
    ]);
    assert_eq!(o.status.code(), Some(2), "a PO is not an SPO");
    assert!(text(&o.stderr).contains("must be recorded by an SPO"));

    let mut head = server.connect("head");
    let rows: Vec<(String, String, String)> = head
        .query("SELECT db_user, actor, action FROM audit ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[0],
        ("spo_a".into(), "jo.spo".into(), "allocate".into())
    );
    assert_eq!(rows[1].2, "note");
    let (holder, on, since): (Option<String>, Option<String>, Option<String>) = {
        let r = head
            .query_one(
                "SELECT allocated_to, allocated_on::text, unallocated_since::text
                   FROM cases WHERE crn = 'A100000'",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(holder.as_deref(), Some("AAA01"));
    assert_eq!(on.as_deref(), Some(as_of));
    assert_eq!(since, None);
    // The trail, as the SPO may read it: the name they gave and their login.
    head.execute(
        "INSERT INTO audit (actor, action, crn) VALUES ('someone', 'note', 'B000001')",
        &[],
    )
    .unwrap();
    let o = casewatch(&["--db", &url, "audit"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let trail = text(&o.stdout);
    assert!(
        trail.contains("jo.spo (login spo_a) A100000 allocate"),
        "{trail}"
    );
    assert!(
        !trail.contains("B000001"),
        "another PDU's entry shown: {trail}"
    );
    let o = casewatch(&["--db", &url, "audit", "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows[0]["db_user"], "spo_a");
    // Down or unknown: one line, nothing written.
    let o = casewatch(&[
        "--db",
        &server.url_of("nobody", "postgres"),
        "note",
        "A100000",
        "--text",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o.stderr).trim().lines().count(),
        1,
        "{}",
        text(&o.stderr)
    );
}

/// Twenty connections at once: nine allocate every case from the same stale form, nine add
/// a note to every case, one records the nightly run and one imports a contacts file for
/// every case. Nothing is lost, nothing is written twice, and no raw deadlock or
/// serialization error reaches anyone.
#[test]
fn twenty_connections_allocating_noting_running_the_night_and_importing_lose_nothing() {
    use casewatch::actions::{self, ActionError};
    use casewatch::store::pg::PgStore;
    const CASES: usize = 12;
    const WRITERS: usize = 9;
    let server = Server::start();
    let mut owner = staffed(&server, CASES);
    let url = server.url("head");
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    let policy = casewatch::policy::Policy::defaults();
    let crns: Vec<String> = (0..CASES).map(|i| format!("A1{i:05}")).collect();
    let dir = tempfile::tempdir().unwrap();
    let contacts = dir.path().join("contacts.csv");
    let mut csv = String::from("crn,date,kind,staff_code\n");
    for crn in &crns {
        csv.push_str(&format!(
            "{crn},2026-10-20,face_to_face,\n{crn},2026-10-27,home_visit,\n"
        ));
    }
    std::fs::write(&contacts, csv).unwrap();
    let no_raw_error = |what: &str, o: &std::process::Output| {
        let err = text(&o.stderr).to_lowercase();
        assert!(
            !err.contains("deadlock") && !err.contains("serializ") && !err.contains("could not"),
            "{what}: {err}"
        );
    };
    let (outcomes, night, import) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2 * WRITERS)
            .map(|t| {
                let (url, policy, crns) = (&url, &policy, &crns);
                s.spawn(move || {
                    let mut store = PgStore::open(url).unwrap();
                    crns.iter()
                        .map(|crn| {
                            let done = actions::with_retry(actions::WRITE_ATTEMPTS, || {
                                if t < WRITERS {
                                    let staff = format!("AAA0{}", 1 + t % 4);
                                    actions::allocate(
                                        &mut store,
                                        policy,
                                        as_of,
                                        &format!("writer{t}"),
                                        &allocation(crn, &staff),
                                    )
                                } else {
                                    actions::add_note(
                                        &mut store,
                                        &format!("writer{t}"),
                                        crn,
                                        &format!("note from {t}"),
                                        false,
                                    )
                                }
                            });
                            match done {
                                Ok(d) => Ok(d.audit_id),
                                Err(ActionError::Changed(_)) => Err("changed".into()),
                                Err(e) => Err(e.to_string()),
                            }
                        })
                        .collect::<Vec<Result<i64, String>>>()
                })
            })
            .collect();
        let night =
            s.spawn(|| casewatch(&["--db", &url, "--as-of", "2026-11-02", "alerts", "--record"]));
        let import = s.spawn(|| {
            casewatch(&[
                "--db",
                &url,
                "import",
                contacts.to_str().unwrap(),
                "--kind",
                "contacts",
            ])
        });
        (
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .collect::<Vec<_>>(),
            night.join().unwrap(),
            import.join().unwrap(),
        )
    });
    for (t, results) in outcomes.iter().enumerate() {
        for r in results {
            if let Err(e) = r {
                assert!(
                    t < WRITERS && e == "changed",
                    "writer {t} failed other than by a stale form: {e}"
                );
            }
        }
    }
    assert!(
        matches!(night.status.code(), Some(0 | 3)),
        "{}",
        text(&night.stderr)
    );
    no_raw_error("the nightly run", &night);
    assert!(import.status.success(), "{}", text(&import.stderr));
    no_raw_error("the import", &import);
    assert!(
        text(&import.stdout).contains(&format!("{} inserted", 2 * CASES)),
        "{}",
        text(&import.stdout)
    );
    let runs: i64 = owner
        .query_one("SELECT count(*) FROM alert_runs", &[])
        .unwrap()
        .get(0);
    assert_eq!(runs, 1, "the night was recorded once");
    for (i, crn) in crns.iter().enumerate() {
        let winners: Vec<usize> = (0..WRITERS).filter(|&t| outcomes[t][i].is_ok()).collect();
        assert_eq!(winners.len(), 1, "{crn}: {winners:?}");
        let row = owner
            .query_one(
                "SELECT allocated_to, to_char(last_contact, 'YYYY-MM-DD'),
                        (SELECT count(*) FROM contacts WHERE crn = $1)
                   FROM cases WHERE crn = $1",
                &[crn],
            )
            .unwrap();
        let (holder, last_contact, contacts): (String, String, i64) =
            (row.get(0), row.get(1), row.get(2));
        assert_eq!(holder, format!("AAA0{}", 1 + winners[0] % 4), "{crn}");
        assert_eq!(
            (last_contact.as_str(), contacts),
            ("2026-10-27", 2),
            "{crn}"
        );
        let counts = owner
            .query_one(
                "SELECT count(*) FILTER (WHERE action = 'allocate'),
                        count(*) FILTER (WHERE action = 'note'),
                        (SELECT count(*) FROM notes WHERE crn = $1)
                   FROM audit WHERE crn = $1",
                &[crn],
            )
            .unwrap();
        let (allocs, notes, note_rows): (i64, i64, i64) =
            (counts.get(0), counts.get(1), counts.get(2));
        // One allocation (its rationale is a note too) and nine notes: none lost, none twice.
        assert_eq!(
            (allocs, notes, note_rows),
            (1, WRITERS as i64, WRITERS as i64 + 1),
            "{crn}"
        );
    }
    // The kept figures are what a recount gives.
    let o = casewatch(&["--db", &server.url("postgres"), "check"]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
}

/// Every tally row, and every case's kept columns, in one comparable text.
fn kept(db: &mut impl postgres::GenericClient) -> (String, String) {
    let row = db
        .query_one(
            "SELECT concat_ws(' | ',
                (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM tally_pdu t
                  WHERE cases <> 0 OR unallocated <> 0),
                (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM tally_contact t),
                (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM tally_oversight t),
                (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM tally_caseload t)),
                    (SELECT string_agg(concat_ws(',', crn, last_contact, last_oversight,
                       da_first_requested, da_last_requested, da_last_returned,
                       cs_first_requested, cs_last_requested, cs_last_returned,
                       first_assessed, last_assessed, pre_release_assessed), ';' ORDER BY crn)
               FROM cases)",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

#[test]
fn the_tallies_and_kept_columns_follow_every_write_as_on_sqlite() {
    let server = Server::start();
    let mut db = staffed(&server, 30);
    // A fixed pseudo-random walk over the writes a deployment makes, as one login would.
    let mut seed: u64 = 0x5eed;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    for _ in 0..400 {
        let crn = format!("A1{:05}", next(30));
        let day = format!("2026-{:02}-{:02}", 1 + next(11), 1 + next(28));
        let sql = match next(12) {
            0 => format!(
                "UPDATE cases SET allocated_to = 'AAA0{}', allocated_on = '{day}',
                        unallocated_since = NULL WHERE crn = '{crn}'",
                1 + next(4)
            ),
            1 => format!(
                "UPDATE cases SET allocated_to = NULL, allocated_on = NULL,
                        unallocated_since = '{day}' WHERE crn = '{crn}'"
            ),
            2 => format!(
                "INSERT INTO contacts (crn, date, kind) VALUES ('{crn}', '{day}', 'video')"
            ),
            3 => format!(
                "DELETE FROM contacts
                  WHERE id = (SELECT id FROM contacts WHERE crn = '{crn}' ORDER BY date DESC LIMIT 1)"
            ),
            4 => format!(
                "INSERT INTO oversight (crn, date, spo_staff_code, kind)
                 VALUES ('{crn}', '{day}', 'AAA01', 'allocation')"
            ),
            5 => format!(
                "UPDATE cases SET rosh = '{}', mappa_category = {}, mappa_level = {}
                  WHERE crn = '{crn}'",
                ["LOW", "MEDIUM", "HIGH", "VERY_HIGH"][next(4) as usize],
                next(4),
                next(4)
            ),
            6 => format!(
                "INSERT INTO enquiries (crn, kind, requested_on, returned_on, outcome)
                 VALUES ('{crn}', '{}', '{day}', NULL, NULL) ON CONFLICT DO NOTHING",
                ["domestic_abuse", "child_safeguarding"][next(2) as usize]
            ),
            7 => format!(
                "UPDATE enquiries SET returned_on = requested_on + 3, outcome = 'no_concerns'
                  WHERE id = (SELECT max(id) FROM enquiries WHERE crn = '{crn}')"
            ),
            8 => format!(
                "INSERT INTO assessments (crn, kind, completed_on, rosh)
                 VALUES ('{crn}', '{}', '{day}', 'HIGH') ON CONFLICT DO NOTHING",
                ["initial", "review", "pre_release"][next(3) as usize]
            ),
            9 => format!(
                "UPDATE cases SET case_type = 'CUSTODY', release_date = '{day}',
                        sentence_date = '2026-0{}-01' WHERE crn = '{crn}'",
                1 + next(5)
            ),
            10 => format!(
                "UPDATE cases SET pdu = '{}', allocated_to = NULL, allocated_on = NULL
                  WHERE crn = '{crn}'",
                ["AAA", "BBB"][next(2) as usize]
            ),
            _ => format!(
                "UPDATE contacts SET date = '{day}'
                  WHERE id = (SELECT max(id) FROM contacts WHERE crn = '{crn}')"
            ),
        };
        db.batch_execute(&sql).unwrap();
    }
    // A bulk statement over many cases at once, as an import makes.
    db.batch_execute(
        "INSERT INTO contacts (crn, date, kind)
         SELECT crn, '2026-01-02', 'home_visit' FROM cases WHERE pdu = 'AAA'",
    )
    .unwrap();
    let (tallies, columns) = kept(&mut db);
    assert!(tallies.contains("AAA"), "{tallies}");
    let mut tx = db.transaction().unwrap();
    tx.batch_execute(
        "SELECT casewatch_tally_rebuild();
         UPDATE cases c SET
             last_contact = (SELECT max(date) FROM contacts x WHERE x.crn = c.crn),
             last_oversight = (SELECT max(date) FROM oversight x WHERE x.crn = c.crn);
         SELECT casewatch_risk_recompute(ARRAY(SELECT crn FROM cases));",
    )
    .unwrap();
    let counted = kept(&mut tx);
    tx.rollback().unwrap();
    assert_eq!(tallies, counted.0, "the kept tallies differ from a recount");
    assert_eq!(columns, counted.1, "the kept columns differ from a recount");
    // A RoSH change is dated.
    db.batch_execute("UPDATE cases SET rosh = 'LOW' WHERE crn = 'A000001'; UPDATE cases SET rosh = 'HIGH' WHERE crn = 'A000001'")
        .unwrap();
    let changed: bool = db
        .query_one(
            "SELECT rosh_changed_on = current_date FROM cases WHERE crn = 'A000001'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(changed);
}

#[test]
fn check_reports_the_guarantees_and_the_kept_figures_and_fails_when_one_is_broken() {
    let server = Server::start();
    let mut owner = staffed(&server, 5);
    owner
        .batch_execute(
            "UPDATE cases SET allocated_to = 'AAA01', allocated_on = '2026-10-02',
                    unallocated_since = NULL WHERE crn = 'A100001';
             INSERT INTO contacts (crn, date, kind) VALUES ('A100001', '2026-10-09', 'video');",
        )
        .unwrap();
    let owner_url = server.url("postgres");
    let o = casewatch(&["--db", &owner_url, "check"]);
    let report = text(&o.stdout);
    assert!(o.status.success(), "{report}{}", text(&o.stderr));
    assert!(report.contains("row-level security off on: ok"), "{report}");
    assert!(report.contains("audit guards missing: ok"), "{report}");
    assert!(
        report.contains("change log triggers missing or off: ok"),
        "{report}"
    );
    assert!(
        report.contains("kept tally_contact: equals a recount"),
        "{report}"
    );
    assert!(report.ends_with("result: OK\n"), "{report}");
    // An SPO may not count every case: said, not failed.
    let o = casewatch(&["--db", &server.url("spo_a"), "check"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("kept figures: not counted"));
    // Broken four ways: each is named, and the check fails.
    owner
        .batch_execute(
            "ALTER TABLE notes DISABLE ROW LEVEL SECURITY;
             GRANT DELETE ON audit TO casewatch_head;
             ALTER TABLE cases DISABLE TRIGGER tally_cases_update;
             UPDATE cases SET allocated_to = NULL, allocated_on = NULL WHERE crn = 'A100001';
             ALTER TABLE cases ENABLE TRIGGER tally_cases_update;
             ALTER TABLE notes DISABLE TRIGGER notes_log_insert;",
        )
        .unwrap();
    let o = casewatch(&["--db", &owner_url, "check", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["without_row_security"], serde_json::json!(["notes"]));
    assert_eq!(
        r["audit_unguarded"],
        serde_json::json!(["role casewatch_head may DELETE audit entries"])
    );
    assert_eq!(
        r["changes_unlogged"],
        serde_json::json!(["notes_log_insert"])
    );
    let drift: std::collections::HashMap<String, i64> = r["kept_drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d[0].as_str().unwrap().to_string(), d[1].as_i64().unwrap()))
        .collect();
    assert!(
        drift["tally_pdu"] > 0 && drift["tally_caseload"] > 0,
        "{drift:?}"
    );
    assert_eq!(drift["cases.last_contact"], 0);
}

#[test]
fn acknowledgements_and_silences_are_made_on_postgresql_where_the_login_may() {
    let server = Server::start();
    let mut owner = two_pdus(&server);
    owner
        .batch_execute(
            "INSERT INTO alert_runs (id, as_of, recorded_at, actor)
             VALUES (1, '2026-11-01', '2026-11-01T02:30:00Z', 'nightly');
             INSERT INTO run_incidents (run_id, key, rule, severity, scope, pdu, count,
                                        first_seen, nights, message, metrics, members)
             VALUES (1, 'unallocated-mappa:AAA', 'unallocated-mappa', 'critical', 'case', 'AAA',
                     1, '2026-11-01', 1, '', '{\"n\": 1}',
                     '[[\"A000001\", \"2026-11-01\", \"new\", \"x\", {}]]'),
                    (1, 'unallocated-mappa:BBB', 'unallocated-mappa', 'critical', 'case', 'BBB',
                     1, '2026-11-01', 1, '', '{\"n\": 1}',
                     '[[\"B000001\", \"2026-11-01\", \"new\", \"x\", {}]]');",
        )
        .unwrap();
    let url = server.url("spo_a");
    let run = |args: &[&str]| {
        let mut all = vec!["--db", url.as_str(), "--as-of", "2026-11-02"];
        all.extend_from_slice(args);
        casewatch(&all)
    };
    let o = run(&["ack", "unallocated-mappa:AAA:A000001", "--note", "in hand"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Another PDU's incident is not there for this login.
    let o = run(&["ack", "unallocated-mappa:BBB", "--note", "mine now"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no open incident"),
        "{}",
        text(&o.stderr)
    );
    let o = run(&[
        "silence",
        "crn=A000001",
        "--until",
        "2026-11-09",
        "--reason",
        "in hospital",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = run(&[
        "silence",
        "crn=B000001",
        "--until",
        "2026-11-09",
        "--reason",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no case B000001"),
        "{}",
        text(&o.stderr)
    );
    // A silence of a rule in every PDU is a head's to make: refused in one line.
    let o = run(&[
        "silence",
        "rule=unallocated-mappa",
        "--until",
        "2026-11-09",
        "--reason",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("row-level security"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let id: i64 = owner
        .query_one("SELECT id FROM silences WHERE crn = 'A000001'", &[])
        .unwrap()
        .get(0);
    // Listed to the SPO with its dates as the file gives them; the head's silence of
    // another PDU's case is not.
    owner
        .batch_execute(
            "INSERT INTO silences (crn, starts, until, reason, created_by, created_at)
             VALUES ('B000001', '2026-11-01', '2026-11-05', 'theirs', 'x', now())",
        )
        .unwrap();
    let o = run(&["silences", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["crn"], "A000001");
    assert_eq!(listed[0]["until"], "2026-11-09");
    assert!(listed[0]["created_at"].as_str().unwrap().ends_with('Z'));
    let o = run(&["unsilence", &id.to_string()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let rows: Vec<(String, String)> = owner
        .query("SELECT db_user, action FROM audit ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let actions: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(actions, ["acknowledge", "silence", "unsilence"]);
    assert!(rows.iter().all(|r| r.0 == "spo_a"), "{rows:?}");
    let acks: i64 = owner
        .query_one(
            "SELECT count(*) FROM alert_acks WHERE as_of = '2026-11-01'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(acks, 1);
}

/// A 2,000-case demo copied into the server; the file's path.
fn demo_on_server(server: &Server, dir: &std::path::Path) -> PathBuf {
    let file = dir.join("demo.db");
    let f = file.to_str().unwrap();
    let o = casewatch(&[
        "--db",
        f,
        "--as-of",
        "2026-11-01",
        "demo",
        "--cases",
        "2000",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let url = server.url("postgres");
    assert!(casewatch(&["pg-init", &url]).status.success());
    let o = casewatch(&["copy", f, &url]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    server
        .connect("postgres")
        .batch_execute(
            "CREATE ROLE spo_h LOGIN IN ROLE casewatch_spo;
             INSERT INTO pdu_access (db_user, pdu) VALUES ('spo_h', 'HFKCW');",
        )
        .unwrap();
    file
}

/// Every row of `table`, each value as SQLite gives it, in an order that depends on the
/// rows alone.
fn dump(db: &rusqlite::Connection, table: &str) -> Vec<String> {
    let n = db
        .prepare(&format!("SELECT * FROM {table}"))
        .unwrap()
        .column_count();
    let order: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    let mut stmt = db
        .prepare(&format!(
            "SELECT * FROM {table} ORDER BY {}",
            order.join(", ")
        ))
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        let vals: Vec<String> = (0..n)
            .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
            .collect();
        out.push(vals.join("|"));
    }
    out
}

#[test]
fn copy_back_to_a_file_brings_what_the_login_may_read_and_nothing_else() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = demo_on_server(&server, dir.path());
    let original = rusqlite::Connection::open(&file).unwrap();
    let hfkcw: i64 = original
        .query_row("SELECT count(*) FROM cases WHERE pdu = 'HFKCW'", [], |r| {
            r.get(0)
        })
        .unwrap();

    // A head's copy is the file's, table for table.
    let back = dir.path().join("back.db");
    let o = casewatch(&["copy", &server.url("postgres"), back.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let report = text(&o.stdout);
    assert!(report.contains("every table matches"), "{report}");
    let back_db = rusqlite::Connection::open(&back).unwrap();
    for table in [
        "cases",
        "contacts",
        "oversight",
        "enquiries",
        "assessments",
        "tally_pdu",
    ] {
        assert_eq!(dump(&original, table), dump(&back_db, table), "{table}");
    }
    let o = casewatch(&["--db", back.to_str().unwrap(), "check"]);
    assert!(o.status.success(), "{}", text(&o.stdout));

    // An SPO's copy holds their PDU's cases only, with the region's tallies.
    let spo = dir.path().join("spo.db");
    let o = casewatch(&["copy", &server.url("spo_h"), spo.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("the cases of 1 of its PDUs"));
    let spo_db = rusqlite::Connection::open(&spo).unwrap();
    let count = |sql: &str| -> i64 { spo_db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM cases"), hfkcw);
    assert_eq!(count("SELECT count(*) FROM cases WHERE pdu <> 'HFKCW'"), 0);
    assert_eq!(
        count("SELECT count(*) FROM contacts WHERE crn NOT IN (SELECT crn FROM cases)"),
        0
    );
    assert_eq!(dump(&original, "tally_pdu"), dump(&spo_db, "tally_pdu"));

    // The reports run on what the login may read: its own PDU's cases, no other's.
    let url = server.url("spo_h");
    let o = casewatch(&["--db", &url, "--as-of", "2026-11-01", "summary"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("HFKCW"), "{}", text(&o.stdout));
    assert!(text(&o.stderr).contains("reads the cases of 1 of the 18 PDUs (HFKCW)"));
    let export = |pdu: &str| {
        let o = casewatch(&["--db", &url, "export", "unallocated", "--pdu", pdu]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout).lines().count()
    };
    assert!(export("HFKCW") > 1, "HFKCW's unallocated cases are listed");
    assert_eq!(export("LAB"), 1, "LAB's are not: the header alone");
    // An import by the SPO: HFKCW's case is written, and a file holding a LAB case is
    // refused by its line, nothing of it written.
    let header = "crn,name,pdu,team,tier,rosh,mappa_category,mappa_level,case_type,sentence_date,release_date,allocated_to,allocated_on,unallocated_since\n";
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        format!(
            "{header}Z900001,New Person,HFKCW,,B2,MEDIUM,0,0,COMMUNITY,2026-11-20,,,,2026-11-20\n"
        ),
    )
    .unwrap();
    let o = casewatch(&[
        "--db",
        &url,
        "import",
        good.to_str().unwrap(),
        "--kind",
        "cases",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("1 inserted"),
        "{}",
        text(&o.stdout)
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "{header}Z900002,Other,HFKCW,,B2,MEDIUM,0,0,COMMUNITY,2026-11-20,,,,2026-11-20\n\
             Z900003,Other,LAB,,B2,MEDIUM,0,0,COMMUNITY,2026-11-20,,,,2026-11-20\n"
        ),
    )
    .unwrap();
    let o = casewatch(&[
        "--db",
        &url,
        "import",
        bad.to_str().unwrap(),
        "--kind",
        "cases",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("bad.csv:3:pdu: this login may not write the cases of this PDU"),
        "{}",
        text(&o.stderr)
    );
    let mut head = postgres::Client::connect(&server.url("postgres"), postgres::NoTls).unwrap();
    let held: Vec<String> = head
        .query(
            "SELECT crn FROM cases WHERE crn LIKE 'Z9%' ORDER BY crn",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(held, ["Z900001"], "the refused file wrote nothing");
    // The demo goes only into an empty server: refused here, in words, before any work.
    let o = casewatch(&["--db", &url, "demo"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("copy into an empty casewatch database"),
        "{}",
        text(&o.stderr)
    );

    // An existing file is never overwritten.
    let before = std::fs::read(&spo).unwrap();
    let o = casewatch(&["copy", &server.url("postgres"), spo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("already exists"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(std::fs::read(&spo).unwrap(), before);
}

#[test]
fn a_working_copy_read_afresh_for_two_pdus_equals_a_new_copy() {
    use casewatch::store::pg::PgStore;
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    demo_on_server(&server, dir.path());
    let mut pg = PgStore::open(&server.url("postgres")).unwrap();
    let mut copy = casewatch::store::empty_in_memory().unwrap();
    pg.pull_into(&mut copy).unwrap();

    // Another user changes two PDUs: an allocation, a contact, a note, an audit entry.
    let mut other = server.connect("postgres");
    let crn: String = other
        .query_one(
            "SELECT min(crn) FROM cases WHERE pdu = 'HFKCW' AND allocated_to IS NULL",
            &[],
        )
        .unwrap()
        .get(0);
    other
        .execute(
            "UPDATE cases SET allocated_to = (SELECT min(staff_code) FROM practitioners
                                               WHERE pdu = 'HFKCW' AND grade = 'PO'),
                              allocated_on = '2026-11-01', unallocated_since = NULL
              WHERE crn = $1",
            &[&crn],
        )
        .unwrap();
    other
        .batch_execute(&format!(
            "INSERT INTO notes (crn, at, author, text, sensitive)
             VALUES ('{crn}', now(), 'other', 'seen today', false);
             INSERT INTO audit (at, actor, action, crn) VALUES (now(), 'other', 'note', '{crn}');
             INSERT INTO contacts (crn, date, kind)
             SELECT min(crn), '2026-11-01', 'video' FROM cases WHERE pdu = 'LAB';"
        ))
        .unwrap();
    let n = pg
        .refresh_into(&mut copy, &["HFKCW".to_string(), "LAB".to_string()])
        .unwrap();
    assert!(n > 0);
    let mut fresh = casewatch::store::empty_in_memory().unwrap();
    pg.pull_into(&mut fresh).unwrap();
    let (a, b) = (dir.path().join("refreshed.db"), dir.path().join("fresh.db"));
    copy.write_to_new(&a).unwrap();
    fresh.write_to_new(&b).unwrap();
    let (a, b) = (
        rusqlite::Connection::open(&a).unwrap(),
        rusqlite::Connection::open(&b).unwrap(),
    );
    let holder: Option<String> = a
        .query_row(
            "SELECT allocated_to FROM cases WHERE crn = ?1",
            [&crn],
            |r| r.get(0),
        )
        .unwrap();
    assert!(holder.is_some(), "the allocation reached the copy");
    for table in [
        "cases",
        "contacts",
        "notes",
        "audit",
        "allocations",
        "tally_pdu",
        "tally_contact",
        "tally_oversight",
        "tally_caseload",
        "alert_acks",
        "silences",
    ] {
        assert_eq!(dump(&a, table), dump(&b, table), "{table}");
    }
    // The copy's triggers, set aside while the PDUs were read again, are all back.
    let triggers = |db: &rusqlite::Connection| -> Vec<String> {
        db.prepare(
            "SELECT name || ' ' || sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    assert!(triggers(&a).len() > 20);
    assert_eq!(triggers(&a), triggers(&b));
}

/// Every table of a working copy but the copy's own mark, each as `dump` gives it.
fn copy_tables(copy: &casewatch::store::Store, at: &std::path::Path) -> Vec<(String, Vec<String>)> {
    copy.write_to_new(at).unwrap();
    let db = rusqlite::Connection::open(at).unwrap();
    let names: Vec<String> = db
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name <> 'working_copy'
               AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    names
        .into_iter()
        .map(|t| {
            let rows = dump(&db, &t);
            (t, rows)
        })
        .collect()
}

#[test]
fn a_working_copy_caught_up_from_the_change_log_equals_a_new_copy() {
    use casewatch::store::pg::PgStore;
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    demo_on_server(&server, dir.path());
    // The owner reads every case; the SPO of HFKCW reads HFKCW's alone.
    let logins = ["postgres", "spo_h"];
    let mut stores: Vec<PgStore> = logins
        .iter()
        .map(|l| PgStore::open(&server.url(l)).unwrap())
        .collect();
    let mut copies: Vec<casewatch::store::Store> = stores
        .iter_mut()
        .map(|pg| {
            let mut c = casewatch::store::empty_in_memory().unwrap();
            pg.pull_into(&mut c).unwrap();
            c
        })
        .collect();
    let mut n = 0;
    let mut same_as_new = |stores: &mut Vec<PgStore>, copies: &mut Vec<casewatch::store::Store>| {
        for (i, (pg, copy)) in stores.iter_mut().zip(copies.iter_mut()).enumerate() {
            let caught = pg
                .catch_up(copy)
                .unwrap()
                .expect("caught up, not read afresh");
            assert!(caught.cases < 10, "{caught:?}: the changed cases only");
            let mut fresh = casewatch::store::empty_in_memory().unwrap();
            pg.pull_into(&mut fresh).unwrap();
            n += 1;
            let a = copy_tables(copy, &dir.path().join(format!("caught{n}.db")));
            let b = copy_tables(&fresh, &dir.path().join(format!("fresh{n}.db")));
            assert_eq!(a.len(), b.len());
            for ((t, x), (_, y)) in a.iter().zip(&b) {
                assert!(x == y, "{}: table {t} differs from a new copy", logins[i]);
            }
        }
    };
    let mut other = server.connect("postgres");
    let mut slow = server.connect("postgres");
    let pick =
        |db: &mut postgres::Client, sql: &str| -> String { db.query_one(sql, &[]).unwrap().get(0) };
    let (a, b, c) = (
        pick(&mut other, "SELECT min(crn) FROM cases WHERE pdu = 'HFKCW'"),
        pick(
            &mut other,
            "SELECT min(crn) FROM cases WHERE pdu = 'HFKCW' AND allocated_to IS NULL",
        ),
        pick(&mut other, "SELECT max(crn) FROM cases WHERE pdu = 'HFKCW'"),
    );
    // A writer that began first (its transaction id the lower) and commits last. (A note:
    // it takes no lock the others wait for.)
    slow.batch_execute(&format!(
        "BEGIN; INSERT INTO notes (crn, at, author, text, sensitive)
                VALUES ('{a}', now(), 'slow', 'written before, committed after', false);"
    ))
    .unwrap();
    // Meanwhile: an allocation with its note and audit, a case moved to LAB, a contact in
    // LAB, a practitioner joining LAB, an enquiry returned.
    other
        .batch_execute(&format!(
            "UPDATE cases SET allocated_to = (SELECT min(staff_code) FROM practitioners
                                               WHERE pdu = 'HFKCW' AND grade = 'PO'),
                              allocated_on = '2026-11-01', unallocated_since = NULL
              WHERE crn = '{b}';
             INSERT INTO notes (crn, at, author, text, sensitive)
             VALUES ('{b}', now(), 'other', 'seen today', false);
             INSERT INTO audit (at, actor, action, crn) VALUES (now(), 'other', 'note', '{b}');
             UPDATE cases SET pdu = 'LAB', team = (SELECT min(code) FROM teams WHERE pdu = 'LAB'),
                              allocated_to = NULL, allocated_on = NULL,
                              unallocated_since = '2026-11-01'
              WHERE crn = '{c}';
             INSERT INTO contacts (crn, date, kind)
             SELECT min(crn), '2026-11-01', 'video' FROM cases WHERE pdu = 'LAB';
             INSERT INTO practitioners (staff_code, name, grade, pdu, team, contracted_hours,
                                        start_date, status)
             VALUES ('ZZNEW1', 'New Starter', 'PO', 'LAB', NULL, 37, '2026-10-01', 'in_post');
             UPDATE enquiries SET returned_on = '2026-10-31', outcome = 'no_concerns'
              WHERE id = (SELECT min(e.id) FROM enquiries e JOIN cases k ON k.crn = e.crn
                           WHERE k.pdu = 'HFKCW' AND e.returned_on IS NULL);"
        ))
        .unwrap();
    same_as_new(&mut stores, &mut copies);
    let mut k = 0;
    let mut as_file = |copy: &casewatch::store::Store| -> rusqlite::Connection {
        k += 1;
        let at = dir.path().join(format!("look{k}.db"));
        copy.write_to_new(&at).unwrap();
        rusqlite::Connection::open(at).unwrap()
    };
    let held = |db: rusqlite::Connection, crn: &str| -> bool {
        db.query_row("SELECT count(*) FROM cases WHERE crn = ?1", [crn], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
            > 0
    };
    assert!(
        !held(as_file(&copies[1]), &c),
        "a case moved out of the SPO's PDU leaves the copy"
    );
    assert!(held(as_file(&copies[0]), &c));
    // The first writer commits now: its change was not in the snapshot caught up to, and
    // arrives with the next catch-up.
    slow.batch_execute("COMMIT").unwrap();
    same_as_new(&mut stores, &mut copies);
    let contact: i64 = as_file(&copies[1])
        .query_row(
            "SELECT count(*) FROM notes WHERE crn = ?1 AND author = 'slow'",
            [&a],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(contact, 1, "the late commit reached the SPO's copy");
    // Nothing changed: nothing read.
    let caught = stores[1].catch_up(&mut copies[1]).unwrap().unwrap();
    assert_eq!(caught, Default::default());

    // The log forgets what is older than a copy's snapshot: that copy is read afresh.
    other
        .batch_execute(
            "INSERT INTO contacts (crn, date, kind) VALUES ('{a}', '2026-10-29', 'telephone')"
                .replace("{a}", &a)
                .as_str(),
        )
        .unwrap();
    let pruned: i64 = other
        .query_one("SELECT casewatch_changes_prune('0 seconds')", &[])
        .unwrap()
        .get(0);
    assert!(pruned > 0);
    assert!(stores[1].catch_up(&mut copies[1]).unwrap().is_none());
    // As is a copy of another server, or of another login.
    let mut fresh = casewatch::store::empty_in_memory().unwrap();
    stores[1].pull_into(&mut fresh).unwrap();
    assert!(
        stores[0].catch_up(&mut fresh).unwrap().is_none(),
        "another login's copy"
    );
    assert!(stores[1].catch_up(&mut fresh).unwrap().is_some());
    other
        .batch_execute("UPDATE change_log SET server_id = 'another'")
        .unwrap();
    assert!(
        stores[1].catch_up(&mut fresh).unwrap().is_none(),
        "another server's copy"
    );
    // A login cannot read the log itself.
    let mut spo = server.connect("spo_h");
    assert!(spo.query("SELECT * FROM case_changes", &[]).is_err());
}

/// The overview's unallocated cases of HFKCW: the second figure of its row (cases, then
/// unallocated).
fn hfkcw_unallocated(s: &str) -> Option<i64> {
    let row = s.lines().find(|l| l.contains("HFKCW"))?;
    let after = row.split("HFKCW").nth(1)?;
    after
        .split_whitespace()
        .filter_map(|w| w.parse::<i64>().ok())
        .nth(1)
}

/// Another user allocates HFKCW's first unallocated case.
const ALLOCATE_ONE_IN_HFKCW: &str =
    "UPDATE cases SET allocated_to = (SELECT min(staff_code) FROM practitioners
                                       WHERE pdu = 'HFKCW' AND grade = 'PO'),
                      allocated_on = '2026-11-01', unallocated_since = NULL
      WHERE crn = (SELECT min(crn) FROM cases WHERE pdu = 'HFKCW' AND allocated_to IS NULL)";

/// The screen as of 2026-11-01 on `url` (with `more` arguments), 120 wide and `rows` tall.
fn screen_on(
    dir: &std::path::Path,
    url: &str,
    more: &[&std::ffi::OsStr],
    rows: u16,
) -> common::Screen {
    let start = ["--as-of", "2026-11-01", "--db", url];
    let mut args: Vec<&std::ffi::OsStr> = start.iter().map(std::ffi::OsStr::new).collect();
    args.extend_from_slice(more);
    common::Screen::open(dir, &args, 120, rows)
}

#[test]
fn the_screen_on_postgresql_shows_another_users_change_and_rides_out_a_restart() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    demo_on_server(&server, dir.path());
    let url = server.url("spo_h");
    let mut screen = screen_on(dir.path(), &url, &[], 30);
    let s = screen
        .wait_until(Duration::from_secs(20), |t| hfkcw_unallocated(t).is_some())
        .unwrap_or_else(|t| panic!("no overview; screen:\n{t}"));
    // The SPO's overview lists their PDU alone.
    assert!(!s.contains("LAB "), "{s}");
    let before = hfkcw_unallocated(&s).unwrap();

    // A head allocates one of the PDU's cases from another connection.
    let mut other = server.connect("postgres");
    other.batch_execute(ALLOCATE_ONE_IN_HFKCW).unwrap();
    let s = screen
        .wait_until(Duration::from_secs(5), |t| {
            t.contains("changed on the server (HFKCW)") && hfkcw_unallocated(t) != Some(before)
        })
        .unwrap_or_else(|t| panic!("the change did not show; screen:\n{t}"));
    assert_eq!(hfkcw_unallocated(&s), Some(before - 1), "{s}");
    // Another PDU's change is not this SPO's news: the region's figures are read again
    // without a word.
    screen.send(b"j");
    other
        .batch_execute(
            "UPDATE cases SET tier = 'D0' WHERE crn = (SELECT min(crn) FROM cases WHERE pdu = 'LAB')",
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !screen.text().contains("changed on the server"),
        "{}",
        screen.text()
    );

    // The server stops under the open screen, and comes back; a change made as soon as it
    // is back, perhaps before the screen listens again, arrives by the change log.
    server.stop();
    screen.wait_for("lost the connection to the server");
    server.boot();
    server
        .connect("postgres")
        .batch_execute(ALLOCATE_ONE_IN_HFKCW)
        .unwrap();
    screen
        .wait_until(Duration::from_secs(10), |t| {
            t.contains("reconnected to the server: caught up")
        })
        .unwrap_or_else(|t| panic!("did not catch up; screen:\n{t}"));
    let s = screen
        .wait_until(Duration::from_secs(5), |t| {
            hfkcw_unallocated(t) == Some(before - 2)
        })
        .unwrap_or_else(|t| panic!("the change made meanwhile did not show; screen:\n{t}"));
    assert!(s.contains("HFKCW"));
    screen.send(b"q");
    let status = screen.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_kept_working_copy_catches_up_each_night_and_reports_as_the_file_does() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = demo_on_server(&server, dir.path());
    let f = file.to_str().unwrap();
    let url = server.url("postgres");
    let kept = dir.path().join("kept.db");
    let k = kept.to_str().unwrap();
    let mut db = server.connect("postgres");
    let crns: Vec<String> = db
        .query(
            "SELECT crn FROM cases WHERE pdu = 'HFKCW' AND allocated_to IS NULL ORDER BY crn
              LIMIT 3",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Ids the server gave and never used (a rolled-back night): its next run's id is not
    // the copy's next.
    db.batch_execute(
        "SELECT nextval(pg_get_serial_sequence('alert_runs', 'id')) FROM generate_series(1, 5)",
    )
    .unwrap();
    let staff: String = db
        .query_one(
            "SELECT min(staff_code) FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'PO'
                AND status = 'in_post'",
            &[],
        )
        .unwrap()
        .get(0);
    for (night, day) in ["2026-11-02", "2026-11-03", "2026-11-04"]
        .iter()
        .enumerate()
    {
        if night > 0 {
            // The same allocation on both, between nights.
            for target in [f, url.as_str()] {
                let o = casewatch(&[
                    "--db",
                    target,
                    "--as-of",
                    day,
                    "allocate",
                    &crns[night],
                    &staff,
                    "--reason",
                    "initial_allocation",
                    "--note",
                    "taken on",
                    "--yes",
                ]);
                assert!(o.status.success(), "{}", text(&o.stderr));
            }
        }
        let on_file = casewatch(&["--db", f, "--as-of", day, "alerts", "--record"]);
        let on_pg = casewatch(&[
            "--db",
            &url,
            "--working-copy",
            k,
            "--as-of",
            day,
            "alerts",
            "--record",
        ]);
        for o in [&on_file, &on_pg] {
            assert!(
                matches!(o.status.code(), Some(0 | 3)),
                "{}",
                text(&o.stderr)
            );
        }
        assert_eq!(text(&on_file.stdout), text(&on_pg.stdout), "night {day}");
        assert_eq!(
            text(&on_pg.stderr).contains("caught up from the server"),
            night > 0,
            "{}",
            text(&on_pg.stderr)
        );
    }
    // Another job records the last night again, without the kept copy: the server's run
    // of that date is replaced (a new id), and the kept copy drops the old one when it
    // catches up.
    let o = casewatch(&["--db", &url, "--as-of", "2026-11-04", "alerts", "--record"]);
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "{}",
        text(&o.stderr)
    );
    let o = casewatch(&["--db", &url, "--working-copy", k, "summary"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("caught up from the server"),
        "{}",
        text(&o.stderr)
    );
    // The kept copy holds the server's runs under the server's ids, and the cases as a new
    // copy does.
    let on_server: Vec<String> = db
        .query("SELECT id || ' ' || as_of FROM alert_runs ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let copy = rusqlite::Connection::open(&kept).unwrap();
    let in_copy: Vec<String> = copy
        .prepare("SELECT id || ' ' || as_of FROM alert_runs ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(on_server.iter().any(|r| r.ends_with(" 2026-11-04")));
    assert_eq!(in_copy, on_server);
    let fresh = dir.path().join("fresh.db");
    let o = casewatch(&["copy", &url, fresh.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let fresh = rusqlite::Connection::open(&fresh).unwrap();
    for table in [
        "cases",
        "allocations",
        "notes",
        "audit",
        "tally_pdu",
        "run_incidents",
    ] {
        assert_eq!(dump(&copy, table), dump(&fresh, table), "{table}");
    }
    drop(copy);

    // A database that is not a working copy is refused as one, and left as it was.
    let before = std::fs::read(&file).unwrap();
    let o = casewatch(&["--db", &url, "--working-copy", f, "summary"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("not a working copy of a server"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // An SPO's kept copy: the server refuses the SPO's night, so the copy, which recorded
    // it, no longer mirrors the server and is read afresh next time.
    let spo_kept = dir.path().join("spo.db");
    let s = spo_kept.to_str().unwrap();
    let spo = server.url("spo_h");
    let o = casewatch(&["--db", &spo, "--working-copy", s, "summary"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = casewatch(&[
        "--db",
        &spo,
        "--working-copy",
        s,
        "--as-of",
        "2026-11-05",
        "alerts",
        "--record",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let o = casewatch(&["--db", &spo, "--working-copy", s, "summary"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("could not be caught up"),
        "{}",
        text(&o.stderr)
    );
    let o = casewatch(&["--db", &spo, "--working-copy", s, "summary"]);
    assert!(
        text(&o.stderr).contains("caught up from the server"),
        "{}",
        text(&o.stderr)
    );
}

/// The triage issue's reproduction on the server: the allocation form is open on a case as
/// an SPO's screen read it; a head allocates the case meanwhile; Enter writes nothing, says
/// who changed it, and the head's allocation stands.
#[test]
fn a_form_left_open_on_postgresql_while_a_head_allocates_writes_nothing_and_says_so() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    demo_on_server(&server, dir.path());
    let mut owner = server.connect("postgres");
    owner
        .batch_execute("CREATE ROLE head_b LOGIN IN ROLE casewatch_head")
        .unwrap();
    let crn: String = owner
        .query_one(
            "SELECT min(crn) FROM cases WHERE pdu = 'HFKCW' AND allocated_to IS NULL",
            &[],
        )
        .unwrap()
        .get(0);
    let url = server.url("spo_h");
    let mut screen = screen_on(dir.path(), &url, &[], 40);
    common::open_allocation_form(&mut screen, "HFKCW", &crn);
    // A head allocates the case from another shell.
    let colleague: String = owner
        .query_one(
            "SELECT max(staff_code) FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'PO'
                AND status = 'in_post'",
            &[],
        )
        .unwrap()
        .get(0);
    let o = casewatch(&[
        "--db",
        &server.url("head_b"),
        "--as-of",
        "2026-11-01",
        "allocate",
        &crn,
        &colleague,
        "--reason",
        "initial_allocation",
        "--note",
        "the head's call",
        "--yes",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Back on the screen: the rationale, then Enter (and Enter again to confirm).
    common::allocate_with_rationale(&mut screen, "knows the area");
    let s = screen
        .wait_until(Duration::from_secs(20), |t| {
            t.contains("CHANGED, nothing written") && t.contains("REALLOCATION")
        })
        .unwrap_or_else(|t| panic!("the conflict was not shown:\n{t}"));
    assert!(s.contains("head_b"), "says who changed it:\n{s}");
    assert!(s.contains(&format!("Held by {colleague}")), "{s}");
    let holder: String = owner
        .query_one("SELECT allocated_to FROM cases WHERE crn = $1", &[&crn])
        .unwrap()
        .get(0);
    assert_eq!(holder, colleague, "the head's allocation stands");
    let writes: i64 = owner
        .query_one("SELECT count(*) FROM audit WHERE action = 'allocate'", &[])
        .unwrap()
        .get(0);
    assert_eq!(writes, 1, "only the head's allocation was written");
    screen.send(b"\x1b");
    screen.send(b"\x1b");
    screen.send(b"q");
    let _ = screen.wait_exit(Duration::from_secs(10));
}

#[test]
fn a_screen_with_a_kept_working_copy_opens_on_it_and_catches_up() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    demo_on_server(&server, dir.path());
    let url = server.url("spo_h");
    let kept = dir.path().join("screen.db");
    let keep = [std::ffi::OsStr::new("--working-copy"), kept.as_os_str()];
    let mut screen = screen_on(dir.path(), &url, &keep, 30);
    let s = screen
        .wait_until(Duration::from_secs(20), |t| hfkcw_unallocated(t).is_some())
        .unwrap_or_else(|t| panic!("no overview; screen:\n{t}"));
    let before = hfkcw_unallocated(&s).unwrap();
    screen.send(b"q");
    assert!(screen.wait_exit(Duration::from_secs(10)).success());
    assert!(kept.exists(), "the copy is kept");
    // While no screen is open, a head allocates one of the PDU's cases.
    server
        .connect("postgres")
        .batch_execute(ALLOCATE_ONE_IN_HFKCW)
        .unwrap();
    let mut screen = screen_on(dir.path(), &url, &keep, 30);
    screen
        .wait_until(Duration::from_secs(20), |t| {
            hfkcw_unallocated(t) == Some(before - 1)
        })
        .unwrap_or_else(|t| panic!("the copy did not catch up; screen:\n{t}"));
    screen.send(b"q");
    assert!(screen.wait_exit(Duration::from_secs(10)).success());
    // The kept file is the SPO's copy: HFKCW's cases alone.
    let db = rusqlite::Connection::open(&kept).unwrap();
    let pdus: Vec<String> = db
        .prepare("SELECT DISTINCT pdu FROM cases")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(pdus, ["HFKCW"]);
}

#[test]
fn the_nightly_run_on_postgresql_records_what_it_records_on_the_file() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = demo_on_server(&server, dir.path());
    let f = file.to_str().unwrap();
    let on_file = casewatch(&["--db", f, "--as-of", "2026-11-02", "alerts", "--record"]);
    assert!(
        matches!(on_file.status.code(), Some(0 | 3)),
        "{}",
        text(&on_file.stderr)
    );
    let url = server.url("postgres");
    let on_pg = casewatch(&["--db", &url, "--as-of", "2026-11-02", "alerts", "--record"]);
    assert!(
        matches!(on_pg.status.code(), Some(0 | 3)),
        "{}",
        text(&on_pg.stderr)
    );
    assert_eq!(text(&on_file.stdout), text(&on_pg.stdout));
    let incidents = "SELECT key || '|' || count || '|' || nights || '|' || members
                       FROM run_incidents
                      WHERE run_id = (SELECT id FROM alert_runs WHERE as_of = '2026-11-02')
                      ORDER BY key";
    let sqlite = rusqlite::Connection::open(&file).unwrap();
    let mut stmt = sqlite.prepare(incidents).unwrap();
    let want: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let got: Vec<String> = server
        .connect("postgres")
        .query(incidents, &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(want, got);
    // Recording the same night again replaces it, as on a file.
    let again = casewatch(&["--db", &url, "--as-of", "2026-11-02", "alerts", "--record"]);
    assert!(
        matches!(again.status.code(), Some(0 | 3)),
        "{}",
        text(&again.stderr)
    );
    let runs: i64 = server
        .connect("postgres")
        .query_one(
            "SELECT count(*) FROM alert_runs WHERE as_of = '2026-11-02'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(runs, 1);
    // An SPO may not record a night: the server refuses, nothing is written.
    let o = casewatch(&[
        "--db",
        &server.url("spo_h"),
        "--as-of",
        "2026-11-03",
        "alerts",
        "--record",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("permission denied"),
        "{}",
        text(&o.stderr)
    );
}

/// PDUs AAA and BBB and their practitioners, and no case: a database ready for a first load.
fn references_only(server: &Server, db_name: &str) -> postgres::Client {
    let url = server.url_of("postgres", db_name);
    let o = casewatch(&["pg-init", &url]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    db.batch_execute(
        "INSERT INTO pdus (code, name, region) VALUES ('AAA', 'A Town', 'London'),
                                                      ('BBB', 'B Town', 'London');
         INSERT INTO practitioners (staff_code, name, grade, pdu, contracted_hours, start_date, status)
         VALUES ('AAA01', 'One', 'PO', 'AAA', 37, '2020-01-01', 'in_post'),
                ('AAA02', 'Two', 'PSO', 'AAA', 37, '2020-01-01', 'in_post'),
                ('BBB01', 'Bee', 'PO', 'BBB', 37, '2020-01-01', 'in_post');",
    )
    .unwrap();
    db
}

/// `rows` cases over AAA and BBB: some allocated, some not, some MAPPA, some in custody.
fn cases_csv(path: &std::path::Path, rows: usize) {
    let mut out = String::from(
        "crn,name,pdu,team,tier,rosh,mappa_category,mappa_level,case_type,sentence_date,release_date,allocated_to,allocated_on,unallocated_since,custody_kind\n",
    );
    for i in 0..rows {
        let pdu = if i % 3 == 0 { "BBB" } else { "AAA" };
        let rosh = ["LOW", "MEDIUM", "HIGH", "VERY_HIGH", ""][i % 5];
        let (mappa_c, mappa_l) = if i % 17 == 0 { (1, 2) } else { (0, 0) };
        let (kind, release, custody) = if i % 7 == 0 {
            ("CUSTODY", "2027-06-01", "standard")
        } else {
            ("COMMUNITY", "", "")
        };
        let alloc = match (i % 4, pdu) {
            (0, _) => ",,2026-10-01".to_string(),
            (1, "AAA") => "AAA01,2026-09-01,".to_string(),
            (2, "AAA") => "AAA02,2026-09-02,".to_string(),
            _ if pdu == "BBB" => "BBB01,2026-08-01,".to_string(),
            _ => ",,2026-10-15".to_string(),
        };
        out.push_str(&format!(
            "C{i:06},Person {i},{pdu},,B2,{rosh},{mappa_c},{mappa_l},{kind},2026-05-01,{release},{alloc},{custody}\n"
        ));
    }
    std::fs::write(path, out).unwrap();
}

/// The indexes, constraints and triggers of `cases`, in one comparable text.
fn cases_shape(db: &mut postgres::Client) -> String {
    db.query_one(
        "SELECT concat_ws(E'\\n',
            (SELECT string_agg(indexdef, E'\\n' ORDER BY indexname) FROM pg_indexes
              WHERE tablename = 'cases'),
            (SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), E'\\n' ORDER BY conname)
               FROM pg_constraint WHERE conrelid = 'cases'::regclass),
            (SELECT string_agg(tgname || ' ' || tgenabled::text, E'\\n' ORDER BY tgname)
               FROM pg_trigger WHERE tgrelid = 'cases'::regclass AND NOT tgisinternal))",
        &[],
    )
    .unwrap()
    .get(0)
}

/// Every case row, in one comparable text.
fn all_cases(db: &mut postgres::Client) -> String {
    db.query_one(
        "SELECT string_agg(c::text, E'\\n' ORDER BY crn) FROM cases c",
        &[],
    )
    .unwrap()
    .get(0)
}

/// The schema owner's first load of cases into an empty table takes the bulk path (indexes
/// and keys made once after the rows). Killed with SIGKILL at moments across its run, it
/// leaves the server as it was: no case, no audit row, every index, key and trigger back,
/// no session left behind. Run to the end, it writes what a row-by-row merge (a head's
/// import of the same file) writes: the same rows, tallies and kept columns.
#[test]
fn a_first_load_by_the_owner_is_all_or_nothing_when_killed_and_equals_a_merge() {
    use std::process::Stdio;
    const ROWS: usize = 60_000;
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.csv");
    cases_csv(&file, ROWS);
    let f = file.to_str().unwrap();

    // The reference: a head's import, merged row by row (row-level security applies to it).
    server
        .admin()
        .batch_execute("CREATE DATABASE merged")
        .unwrap();
    let mut merged = references_only(&server, "merged");
    merged
        .batch_execute("CREATE ROLE head LOGIN IN ROLE casewatch_head")
        .unwrap();
    let o = casewatch(&[
        "--db",
        &server.url_of("head", "merged"),
        "import",
        f,
        "--kind",
        "cases",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // How long the owner's first load takes whole, where the kills below are to land.
    server
        .admin()
        .batch_execute("CREATE DATABASE timing")
        .unwrap();
    references_only(&server, "timing");
    let started = std::time::Instant::now();
    let timed = casewatch(&[
        "--db",
        &server.url_of("postgres", "timing"),
        "import",
        f,
        "--kind",
        "cases",
    ]);
    let whole = started.elapsed();
    assert!(timed.status.success(), "{}", text(&timed.stderr));
    assert!(
        text(&o.stdout).contains(&format!("{ROWS} inserted")),
        "{}",
        text(&o.stdout)
    );

    let mut db = references_only(&server, "casewatch");
    let shape = cases_shape(&mut db);
    let url = server.url("postgres");
    let import = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_casewatch"));
        c.args(["--db", &url, "import", f, "--kind", "cases"])
            .env("HOME", "/nonexistent")
            .env_remove("CASEWATCH_DB")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    let mut killed_running = 0;
    for fraction in [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 1.2] {
        let delay = whole.mul_f64(fraction);
        let mut child = import().spawn().unwrap();
        std::thread::sleep(delay);
        let running = child.try_wait().unwrap().is_none();
        let _ = child.kill();
        let _ = child.wait();
        // The server ends the killed client's session (and its transaction) on its own.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let left: i64 = db
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                      WHERE datname = 'casewatch' AND pid <> pg_backend_pid()
                        AND backend_type = 'client backend'",
                    &[],
                )
                .unwrap()
                .get(0);
            if left == 0 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "a session was left");
            std::thread::sleep(Duration::from_millis(50));
        }
        let (cases, audit): (i64, i64) = {
            let r = db
                .query_one(
                    "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM audit)",
                    &[],
                )
                .unwrap();
            (r.get(0), r.get(1))
        };
        if cases == ROWS as i64 {
            // This kill came after the commit: the import is whole, with its audit row.
            assert_eq!(audit, 1, "kill at {delay:?}");
            break;
        }
        assert_eq!((cases, audit), (0, 0), "kill at {delay:?} left rows");
        assert_eq!(cases_shape(&mut db), shape, "kill at {delay:?}");
        killed_running += i32::from(running);
    }
    assert!(
        killed_running >= 3,
        "only {killed_running} kills landed while the import ran (whole run {whole:?})"
    );

    let held: i64 = db
        .query_one("SELECT count(*) FROM cases", &[])
        .unwrap()
        .get(0);
    if held == 0 {
        let o = casewatch(&["--db", &url, "import", f, "--kind", "cases"]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert!(
            text(&o.stdout).contains(&format!("{ROWS} inserted")),
            "{}",
            text(&o.stdout)
        );
    }
    // The bulk path analysed the table it filled; a merge leaves that to autovacuum.
    let analysed: bool = db
        .query_one(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'cases'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(analysed, "the owner's first load took the bulk path");
    assert_eq!(cases_shape(&mut db), shape);
    assert_eq!(all_cases(&mut db), all_cases(&mut merged));
    assert_eq!(kept(&mut db), kept(&mut merged));
    let o = casewatch(&["--db", &url, "check"]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    // A second load of the same file finds every row as it is, by the merge.
    let o = casewatch(&["--db", &url, "import", f, "--kind", "cases"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains(&format!("{ROWS} unchanged")),
        "{}",
        text(&o.stdout)
    );
}

/// An undo on the server reverses the login's own write: the case as it was, the rows the
/// write added removed, an undo entry in the audit. Another login may not undo it, and no
/// login may delete a record by hand; a second undo is refused.
#[test]
fn an_undo_on_postgresql_reverses_the_logins_own_write_and_nothing_else() {
    use casewatch::actions::{self, ActionError};
    use casewatch::store::pg::PgStore;
    let server = Server::start();
    let mut owner = staffed(&server, 2);
    owner
        .batch_execute(
            "CREATE ROLE spo_a2 LOGIN IN ROLE casewatch_spo;
             INSERT INTO pdu_access (db_user, pdu) VALUES ('spo_a2', 'AAA');",
        )
        .unwrap();
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    let policy = casewatch::policy::Policy::defaults();
    let mut spo = PgStore::open(&server.url("spo_a")).unwrap();
    let allocated = actions::allocate(
        &mut spo,
        &policy,
        as_of,
        "jo",
        &allocation("A100000", "AAA01"),
    )
    .unwrap();
    let noted = actions::add_note(&mut spo, "jo", "A100001", "phoned", false).unwrap();
    let holder = |db: &mut postgres::Client| -> (Option<String>, Option<String>, i64) {
        let r = db
            .query_one(
                "SELECT allocated_to, unallocated_since::text,
                        (SELECT count(*) FROM notes WHERE crn = 'A100000')
                   FROM cases WHERE crn = 'A100000'",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(holder(&mut owner), (Some("AAA01".into()), None, 1));

    // Another SPO of the same PDU may not undo jo's write: nothing changes.
    let mut other = PgStore::open(&server.url("spo_a2")).unwrap();
    let e = actions::undo(&mut other, "sam", allocated.audit_id).unwrap_err();
    assert!(
        e.to_string()
            .contains("only a row added by this login's own action"),
        "{e}"
    );
    assert_eq!(holder(&mut owner), (Some("AAA01".into()), None, 1));
    // No login may remove a record by hand.
    let e = server
        .connect("spo_a")
        .execute("DELETE FROM notes WHERE crn = 'A100000'", &[])
        .unwrap_err();
    assert!(msg(&e).contains("permission denied"), "{}", msg(&e));

    // jo's own undo: unallocated again since the date it was, the rationale note gone.
    let undone = actions::undo(&mut spo, "jo", allocated.audit_id).unwrap();
    assert_eq!(holder(&mut owner), (None, Some("2026-10-01".into()), 0));
    let (action, subject, db_user): (String, String, String) = {
        let r = owner
            .query_one(
                "SELECT action, subject, db_user FROM audit WHERE id = $1",
                &[&undone.audit_id],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!(
        (action.as_str(), subject, db_user.as_str()),
        ("undo", allocated.audit_id.to_string(), "spo_a")
    );
    assert!(matches!(
        actions::undo(&mut spo, "jo", allocated.audit_id),
        Err(ActionError::AlreadyUndone)
    ));
    actions::undo(&mut spo, "jo", noted.audit_id).unwrap();
    // An undo racing another writer: jo allocates again, and while jo's undo runs, another
    // session holds the case mid-reallocation. The undo waits for it, sees the change, and
    // refuses; the other session's allocation stands.
    let again = actions::allocate(
        &mut spo,
        &policy,
        as_of,
        "jo",
        &allocation("A100000", "AAA01"),
    )
    .unwrap();
    let mut racer = server.connect("postgres");
    let mut tx = racer.transaction().unwrap();
    tx.batch_execute("UPDATE cases SET allocated_to = 'AAA02' WHERE crn = 'A100000';")
        .unwrap();
    let undo = std::thread::spawn(move || actions::undo(&mut spo, "jo", again.audit_id));
    std::thread::sleep(Duration::from_millis(300));
    tx.commit().unwrap();
    assert!(
        matches!(undo.join().unwrap(), Err(ActionError::ChangedSince)),
        "the undo did not see the other writer"
    );
    let holder_now: Option<String> = owner
        .query_one("SELECT allocated_to FROM cases WHERE crn = 'A100000'", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        holder_now.as_deref(),
        Some("AAA02"),
        "the other writer's change was lost"
    );
    let notes: i64 = owner
        .query_one("SELECT count(*) FROM notes WHERE crn = 'A100001'", &[])
        .unwrap()
        .get(0);
    assert_eq!(notes, 0);
    // The kept tallies followed the undo.
    let o = casewatch(&["--db", &server.url("postgres"), "check"]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
}

/// Every report, on the server, says what it says on the file it was copied from: the
/// same bytes, exit code included, but for the name of the database.
#[test]
fn every_report_on_the_server_reads_as_on_the_file() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = demo_on_server(&server, dir.path());
    let f = file.to_str().unwrap();
    let url = server.url("postgres");
    let mut reports: Vec<Vec<&str>> = vec![
        vec!["summary"],
        vec!["summary", "--format", "json"],
        vec!["review"],
        vec!["alerts"],
        vec!["alerts", "--format", "json"],
        vec!["forecast", "--format", "json"],
        vec!["equity", "--format", "json"],
        vec!["chart", "--pdu", "HFKCW"],
    ];
    for view in [
        "unallocated",
        "mappa",
        "oversight-overdue",
        "contacts-overdue",
        "practitioners",
        "summary",
        "alerts",
        "enquiries",
        "assessments",
        "support",
    ] {
        reports.push(vec!["export", view]);
    }
    for args in &reports {
        let run = |db: &str| {
            let mut all = vec!["--db", db, "--as-of", "2026-11-02"];
            all.extend(args);
            let o = casewatch(&all);
            (o.status.code(), text(&o.stdout).replace(db, "DB"))
        };
        let (on_file, on_server) = (run(f), run(&url));
        assert!(
            matches!(on_file.0, Some(0 | 3)),
            "{args:?} on the file: {on_file:?}"
        );
        assert!(on_file.1.len() > 100, "{args:?} says little: {}", on_file.1);
        assert!(on_file == on_server, "{args:?} differs on the server");
    }
}

/// The same triage writes, made on the file and on the server copied from it, leave the
/// same cases, caseloads, overview and audit (but for each entry's time and login).
#[test]
fn the_same_writes_on_the_server_and_on_the_file_leave_the_same_records() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = demo_on_server(&server, dir.path());
    let f = file.to_str().unwrap();
    let url = server.url("postgres");
    let sqlite = rusqlite::Connection::open(&file).unwrap();
    let pick = |sql: &str| -> String { sqlite.query_row(sql, [], |r| r.get(0)).unwrap() };
    let crn = pick(
        "SELECT crn FROM cases WHERE pdu = 'HFKCW' AND allocated_to IS NULL
          AND case_type = 'COMMUNITY' ORDER BY crn LIMIT 1",
    );
    let po = pick(
        "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'PO'
          AND status = 'in_post' ORDER BY staff_code LIMIT 1",
    );
    let spo = pick(
        "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'SPO'
          AND status = 'in_post' ORDER BY staff_code LIMIT 1",
    );
    drop(sqlite);
    let writes: Vec<Vec<&str>> = vec![
        vec![
            "allocate",
            &crn,
            &po,
            "--reason",
            "initial_allocation",
            "--note",
            "nearest office",
            "--was",
            "unallocated",
            "--yes",
        ],
        vec!["note", &crn, "--text", "phoned; no answer"],
        vec![
            "oversight",
            &crn,
            "--by",
            &spo,
            "--kind",
            "allocation",
            "--note",
            "agreed",
        ],
    ];
    for db in [f, url.as_str()] {
        for w in &writes {
            let mut all = vec!["--db", db, "--as-of", "2026-11-02", "--as", "jo"];
            all.extend(w);
            let o = casewatch(&all);
            assert!(o.status.success(), "{w:?} on {db}: {}", text(&o.stderr));
        }
    }
    let read = |db: &str, args: &[&str]| -> String {
        let mut all = vec!["--db", db, "--as-of", "2026-11-02"];
        all.extend(args);
        let o = casewatch(&all);
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        text(&o.stdout).replace(db, "DB")
    };
    for args in [
        &["export", "unallocated", "--pdu", "HFKCW"][..],
        &["export", "oversight-overdue", "--pdu", "HFKCW"],
        &["export", "practitioners", "--pdu", "HFKCW"],
        &["summary", "--format", "json"],
    ] {
        assert!(read(f, args) == read(&url, args), "{args:?} differs");
    }
    let audit = |db: &str| -> serde_json::Value {
        let mut rows: serde_json::Value =
            serde_json::from_str(&read(db, &["audit", "--crn", &crn, "--format", "json"])).unwrap();
        for r in rows.as_array_mut().unwrap() {
            let r = r.as_object_mut().unwrap();
            r.remove("at");
            r.remove("db_user");
        }
        rows
    };
    let on_file = audit(f);
    assert_eq!(on_file.as_array().unwrap().len(), 3, "{on_file}");
    assert_eq!(on_file, audit(&url));
}

/// `casewatch --db URL demo` builds the demo and copies it into an empty server: the server
/// then reads as a demo file built with the same settings, and no temporary file is left.
#[test]
fn the_demo_builds_into_an_empty_server_as_into_a_file() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("postgres");
    let demo = ["--as-of", "2026-11-01", "demo", "--cases", "2000"];
    let o = casewatch(&[&["--db", url.as_str()][..], &demo].concat());
    assert_eq!(o.status.code(), Some(2), "not initialised yet");
    assert!(text(&o.stderr).contains("pg-init"), "{}", text(&o.stderr));
    assert!(casewatch(&["pg-init", &url]).status.success());
    let o = casewatch(&[&["--db", url.as_str()][..], &demo].concat());
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("copied it to"),
        "{}",
        text(&o.stderr)
    );
    let file = dir.path().join("demo.db");
    let f = file.to_str().unwrap();
    let o = casewatch(&[&["--db", f][..], &demo].concat());
    assert!(o.status.success(), "{}", text(&o.stderr));
    for args in [
        &["summary", "--format", "json"][..],
        &["export", "unallocated"],
    ] {
        let read = |db: &str| {
            let o = casewatch(&[&["--db", db, "--as-of", "2026-11-02"][..], args].concat());
            assert!(o.status.success(), "{}", text(&o.stderr));
            text(&o.stdout).replace(db, "DB")
        };
        assert!(read(f) == read(&url), "{args:?} differs");
    }
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("casewatch-demo-")
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Every bad file of the import tests is refused on the server as on the file: exit 2, the
/// same `FILE:LINE:COLUMN` places, and nothing written on either.
#[test]
fn bad_files_are_refused_on_the_server_at_the_same_places_as_on_the_file() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = demo_on_server(&server, dir.path());
    let f = file.to_str().unwrap();
    let url = server.url("postgres");
    let held = || -> Vec<i64> {
        let mut db = server.connect("postgres");
        [
            "cases",
            "practitioners",
            "enquiries",
            "assessments",
            "audit",
        ]
        .iter()
        .map(|t| {
            db.query_one(&format!("SELECT count(*) FROM {t}"), &[])
                .unwrap()
                .get(0)
        })
        .collect()
    };
    let before = held();
    let file_bytes = std::fs::read(&file).unwrap();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad");
    let mut files: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.len() >= 12, "{files:?}");
    for name in &files {
        let kind = match name.split('_').next().unwrap() {
            "enquiry" => "enquiries",
            "assessment" => "assessments",
            "unknown" => "practitioners",
            _ => "cases",
        };
        let path = data.join(name);
        let places = |db: &str| -> Vec<String> {
            let o = casewatch(&["--db", db, "import", path.to_str().unwrap(), "--kind", kind]);
            assert_eq!(
                o.status.code(),
                Some(2),
                "{name} on {db}: {}",
                text(&o.stderr)
            );
            let err = text(&o.stderr);
            let places: Vec<String> = err
                .lines()
                .filter_map(|l| l.find(name.as_str()).map(|i| &l[i..]))
                .map(|at| at.splitn(4, ':').take(3).collect::<Vec<_>>().join(":"))
                .collect();
            assert!(!places.is_empty(), "{name} on {db}: {err}");
            places
        };
        assert_eq!(places(f), places(&url), "{name}");
    }
    assert_eq!(held(), before, "the server changed");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        file_bytes,
        "the file changed"
    );
}
