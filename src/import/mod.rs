//! Validated, all-or-nothing import of CSV and JSON Lines files.
//!
//! Every row is parsed through the domain types and checked against the database inside one
//! transaction. Rows are written as they pass, but the transaction is committed only if the
//! whole file was clean (and this is not a dry run): a rejected file, a dry run, or a process
//! killed half way all leave the database exactly as it was.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::store::Store;

use crate::text::quote_value;

pub mod contract;
mod pg;
mod read;
mod validate;
mod write;

pub use pg::import_file_pg;

pub use contract::Kind;
pub use read::FileFormat;
pub use validate::{Cases, Record, Refs, Row, check_text, validate};

/// How many problems a rejected import lists before "... and N more".
pub const MAX_REPORTED: usize = 20;

/// One problem in a file, located by line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    /// A column name, or `-` for the line as a whole.
    pub column: String,
    pub message: String,
    /// The offending value, raw; sanitised when displayed.
    pub value: Option<String>,
}

impl RowError {
    fn new(line: u64, column: &str, message: impl Into<String>, value: Option<&str>) -> Self {
        RowError {
            line,
            column: column.to_string(),
            message: message.into(),
            value: value.map(str::to_string),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}",
            self.line,
            quote_value(&self.column, 40),
            self.message
        )?;
        if let Some(v) = &self.value {
            write!(f, " (got '{}')", quote_value(v, 60))?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// The file was rejected; nothing was written.
    #[error("{} problem(s) in {}; nothing was imported", .errors.len(), .file.display())]
    Invalid {
        file: PathBuf,
        errors: Vec<RowError>,
    },
    #[error("database error during import: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Pg(#[from] crate::store::pg::PgError),
    #[error("database error during import: {0}")]
    Fault(#[from] crate::store::triage::Fault),
    /// Rows of `table` would refer to rows of `parent` that do not exist.
    #[error(
        "the import would leave {rows} row(s) of {table} referring to a missing row of {parent}; nothing was imported"
    )]
    BrokenReference {
        table: &'static str,
        parent: String,
        rows: u64,
    },
    /// Every row is validated before it is written, so this is a bug in that validation.
    #[error(
        "the import would leave row {rowid} of {table} breaking its check `{check}`; nothing was imported (casewatch let the row through: please report this)"
    )]
    BrokenCheck {
        table: &'static str,
        check: String,
        rowid: i64,
    },
}

impl ImportError {
    /// The report for a rejected file: up to [`MAX_REPORTED`] lines `FILE:LINE:COLUMN: ...`,
    /// then a count of the rest.
    pub fn report_lines(&self) -> Vec<String> {
        let ImportError::Invalid { file, errors } = self else {
            return vec![crate::text::sanitize(&self.to_string()).into_owned()];
        };
        let f = crate::text::sanitize(&file.display().to_string()).into_owned();
        let mut out: Vec<String> = errors
            .iter()
            .take(MAX_REPORTED)
            .map(|e| format!("{f}:{e}"))
            .collect();
        if errors.len() > MAX_REPORTED {
            out.push(format!("... and {} more", errors.len() - MAX_REPORTED));
        }
        out
    }
}

/// What an import did (or, for a dry run, would do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Exact duplicates of contacts or oversight already recorded.
    pub skipped: u64,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub kind: Kind,
    pub format: Option<FileFormat>,
    pub dry_run: bool,
    pub ignore_unknown: bool,
    /// Who is importing, for the audit trail.
    pub actor: String,
    /// The machine's today: enquiries and assessments dated after it are refused (they
    /// record things done).
    pub today: chrono::NaiveDate,
}

/// Called with (bytes read, total bytes) now and then, for a progress bar.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Imports `path` into `conn` in one transaction. Returns the counts, or `Invalid` with every
/// problem found (and nothing written).
pub fn import_file(
    store: &mut Store,
    path: &Path,
    opts: &ImportOptions,
    progress: Progress<'_>,
) -> Result<Counts, ImportError> {
    let (file, total) = read::open(path)?;
    if !write::is_bulk(total, opts) {
        return import_opened(store, path, file, total, opts, progress, false);
    }
    write::without_per_row_checks(store, |store| {
        import_opened(store, path, file, total, opts, progress, true)
    })
}

/// Reads, checks and writes the `total` bytes of `file` in one transaction, committed only
/// if every row is good.
fn import_opened(
    store: &mut Store,
    path: &Path,
    file: File,
    total: u64,
    opts: &ImportOptions,
    progress: Progress<'_>,
    bulk: bool,
) -> Result<Counts, ImportError> {
    let reader = read::buffered(path, file)?;
    let format = opts.format.unwrap_or_else(|| FileFormat::from_path(path));
    let tx = write::begin(store, opts.kind, bulk)?;
    let refs = Refs::load(tx.db(), opts.today)?;
    let existing = write::existing_keys(tx.db(), opts.kind)?;
    // Cases loaded in bulk into an empty table are all new: their indexes are built once from
    // the rows at the end, and their tallies counted from the rows on the reading thread,
    // sparing the recount's pass over the table. (Any other load recounts from the table.)
    let into_empty = bulk && opts.kind == Kind::Cases && existing.is_empty();
    let bulk = if bulk {
        Some(write::Bulk::start(tx.db(), opts.kind, into_empty)?)
    } else {
        None
    };
    // Sized once for the rows the file can hold (no keyed row is under 64 bytes), rather
    // than grown and rehashed twenty times over a national file.
    let rows = if bulk.is_some() && opts.kind == Kind::Cases {
        (total / 64) as usize
    } else {
        0
    };
    let mut run = write::Run::new(tx.db(), &refs, opts.kind, existing, rows);
    match format {
        FileFormat::Csv if opts.kind.refers_to_cases() => {
            write::load_csv(&mut run, reader, opts, total, progress)?
        }
        FileFormat::Csv => {
            write::load_csv_in_parallel(&mut run, path, reader, opts, total, progress, into_empty)?
        }
        FileFormat::Jsonl => write::load_jsonl(&mut run, path, reader, opts, total, progress)?,
    }
    let (errors, counts, tallies) = run.end()?;
    if !errors.is_empty() {
        tx.rollback()?;
        return Err(ImportError::Invalid {
            file: path.to_path_buf(),
            errors,
        });
    }
    write::commit(tx, path, opts, &counts, bulk, tallies)?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OpenMode, Store};

    /// The columns of a cases file, as a first line.
    const CASES_HEADER: &str = "crn,name,pdu,team,tier,rosh,mappa_category,mappa_level,case_type,sentence_date,release_date,allocated_to,allocated_on,unallocated_since\n";

    /// A real (not dry-run) import of `kind`.
    fn opts(kind: Kind) -> ImportOptions {
        ImportOptions {
            kind,
            format: None,
            dry_run: false,
            ignore_unknown: false,
            actor: "t".into(),
            today: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        }
    }

    pub(super) fn db() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("t.db"), OpenMode::CreateIfMissing).unwrap();
        s.db().sql()
            .execute_batch(
                "INSERT INTO pdus (code, name, region) VALUES ('P1', 'One', 'R');
                 INSERT INTO practitioners VALUES ('S1', 'Ann', 'PO', 'P1', NULL, 37, '2020-01-01', 'in_post');",
            )
            .unwrap();
        (dir, s)
    }

    #[test]
    fn reports_stop_at_twenty_and_count_the_rest() {
        let errors = (1..=25)
            .map(|i| RowError::new(i, "crn", "bad", Some("\u{1b}x")))
            .collect();
        let e = ImportError::Invalid {
            file: "f.csv".into(),
            errors,
        };
        let lines = e.report_lines();
        assert_eq!(lines.len(), 21);
        assert_eq!(lines[0], "f.csv:1:crn: bad (got '␛x')");
        assert_eq!(lines[20], "... and 5 more");
    }

    #[test]
    fn a_bulk_load_recounts_the_tallies_and_puts_their_triggers_back() {
        let (dir, mut s) = db();
        let triggers = |s: &Store| -> (i64, i64) {
            s.db()
                .sql()
                .query_row(
                    "SELECT sum(name LIKE 'tally_%'), sum(name LIKE 'overview_cache_%')
                       FROM sqlite_schema WHERE type = 'trigger'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
        let header = CASES_HEADER;
        let cases = dir.path().join("cases.csv");
        std::fs::write(
            &cases,
            format!(
                "{header}X000001,A,P1,,B2,HIGH,1,2,COMMUNITY,2026-01-01,,S1,2026-01-05,\n\
                 X000002,B,P1,,C1,,0,0,LICENCE,2026-02-01,,,,2026-03-01\n\
                 X000003,C,P1,,A3,VERY_HIGH,0,0,CUSTODY,2025-01-01,,S1,2025-02-01,\n"
            ),
        )
        .unwrap();
        import_file(&mut s, &cases, &opts(Kind::Cases), &mut |_, _| {}).unwrap();
        let contacts = dir.path().join("contacts.csv");
        std::fs::write(&contacts, "crn,date,kind\nX000001,2026-10-01,home_visit\n").unwrap();
        import_file(&mut s, &contacts, &opts(Kind::Contacts), &mut |_, _| {}).unwrap();
        // A rejected file changes nothing, triggers included.
        std::fs::write(&contacts, "crn,date,kind\nX000001,not-a-date,home_visit\n").unwrap();
        assert!(import_file(&mut s, &contacts, &opts(Kind::Contacts), &mut |_, _| {}).is_err());
        assert_eq!(triggers(&s), (3, 18));
        let policy = crate::policy::Policy::defaults();
        let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let counts = |sql: String| {
            crate::store::read::pdu_counts(s.db(), &sql, &policy, as_of, None).unwrap()
        };
        let tally = counts(crate::store::read::pdu_summary_sql(false));
        assert_eq!(
            tally,
            counts(crate::store::read::pdu_summary_live_sql(false))
        );
        assert_eq!(tally["P1"][..3], [3, 1, 0]);
        // And the triggers work again after the load.
        s.db()
            .sql()
            .execute(
                "UPDATE cases SET allocated_to = NULL, allocated_on = NULL WHERE crn = 'X000003'",
                [],
            )
            .unwrap();
        let tally = counts(crate::store::read::pdu_summary_sql(false));
        assert_eq!(tally["P1"][..3], [3, 2, 0]);
        // The load turned SQLite's per-statement key check off; it is on again, after a
        // good file and after a rejected one.
        let fk: i64 = s
            .db()
            .sql()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        // So are its CHECK constraints.
        let e = s
            .db()
            .sql()
            .execute("UPDATE cases SET rosh = 'BAD' WHERE crn = 'X000002'", [])
            .unwrap_err();
        assert!(e.to_string().contains("CHECK constraint failed"), "{e}");
    }

    #[test]
    fn a_row_breaking_a_check_behind_the_validation_refuses_the_commit() {
        let (dir, mut s) = db();
        let header = CASES_HEADER;
        let cases = dir.path().join("cases.csv");
        std::fs::write(
            &cases,
            format!(
                "{header}X000001,A,P1,,B2,HIGH,1,2,COMMUNITY,2026-01-01,,S1,2026-01-05,\n\
                 X000002,B,P1,,C1,,0,0,LICENCE,2026-02-01,,,,2026-03-01\n"
            ),
        )
        .unwrap();
        let opts = opts(Kind::Cases);
        // Stands in for a validation bug: a value the CHECKs refuse reaches the table. (A
        // change of temp_store would drop the trigger: set it first as the import sets it.)
        s.db()
            .sql()
            .execute_batch(
                "PRAGMA temp_store = MEMORY;
                 CREATE TEMP TRIGGER forge AFTER INSERT ON main.cases WHEN NEW.crn = 'X000002'
                 BEGIN UPDATE cases SET mappa_level = 9 WHERE rowid = NEW.rowid; END;",
            )
            .unwrap();
        let state = |s: &Store| -> [i64; 5] {
            s.db()
                .sql()
                .query_row(
                    "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM audit),
                            (SELECT count(*) FROM tally_pdu),
                            (SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'),
                            (SELECT count(*) FROM sqlite_schema WHERE type = 'index')",
                    [],
                    |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]),
                )
                .unwrap()
        };
        let before = state(&s);
        assert_eq!(before[0], 0);
        let e = import_file(&mut s, &cases, &opts, &mut |_, _| {}).unwrap_err();
        assert!(
            matches!(&e, ImportError::BrokenCheck { table: "cases", check, .. }
                if check == "mappa_level BETWEEN 0 AND 3"),
            "{e}"
        );
        assert_eq!(state(&s), before);
        s.db().sql().execute_batch("DROP TRIGGER forge").unwrap();
        import_file(&mut s, &cases, &opts, &mut |_, _| {}).unwrap();
        let after = state(&s);
        assert_eq!(after[0], 2);
        // The indexes dropped for the load into the empty table are back, and measured.
        assert_eq!(after[4], before[4]);
        let measured: i64 = s
            .db()
            .sql()
            .query_row(
                "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'cases' AND stat LIKE '2 %'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(measured >= 3, "{measured}");
    }

    #[test]
    fn new_cases_go_in_batches_and_every_row_lands_once() {
        let (dir, mut s) = db();
        let header = CASES_HEADER;
        // Rows handed between the threads in two full handoffs and a remainder, written in
        // full batches and a remainder, with an update of a stored case in between.
        const N: usize = 2 * write::HANDOFF_ROWS + 5;
        s.db().sql()
            .execute_batch(
                "INSERT INTO cases (crn, name, pdu, tier, case_type, sentence_date, unallocated_since)
                 VALUES ('X900000', 'Old', 'P1', 'C1', 'COMMUNITY', '2026-01-01', '2026-01-02')",
            )
            .unwrap();
        let mut body = String::from(header);
        for i in 0..N {
            body.push_str(&format!(
                "X{i:06},N{i},P1,,B2,MEDIUM,0,0,COMMUNITY,2026-01-01,,S1,2026-01-05,\n"
            ));
            if i == write::HANDOFF_ROWS + 3 {
                body.push_str("X900000,New,P1,,C1,,0,0,COMMUNITY,2026-01-01,,,,2026-01-02\n");
            }
        }
        let path = dir.path().join("cases.csv");
        std::fs::write(&path, body).unwrap();
        let opts = opts(Kind::Cases);
        let counts = import_file(&mut s, &path, &opts, &mut |_, _| {}).unwrap();
        assert_eq!((counts.inserted, counts.updated), (N as u64, 1));
        let (n, distinct, last, old): (i64, i64, String, String) = s
            .db()
            .sql()
            .query_row(
                "SELECT count(*), count(DISTINCT crn), max(crn),
                        (SELECT name FROM cases WHERE crn = 'X900000')
                   FROM cases WHERE crn < 'X900000'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!((n, distinct), (N as i64, n));
        assert_eq!(last, format!("X{:06}", N - 1));
        assert_eq!(old, "New");
    }

    #[test]
    fn problems_found_on_both_threads_are_reported_in_line_order_and_nothing_is_written() {
        let (dir, mut s) = db();
        let header = CASES_HEADER;
        let mut body = String::from(header);
        for i in 0..2500 {
            let line = i + 2;
            body.push_str(&match line {
                10 => "X000010,N,P1,,Z9,MEDIUM,0,0,COMMUNITY,2026-01-01,,,,2026-01-02\n".into(),
                2000 => "X002000,N,P1\n".into(),
                2400 => "X000003,N,P1,,B2,MEDIUM,0,0,COMMUNITY,2026-01-01,,,,2026-01-02\n".into(),
                _ => format!("X{i:06},N,P1,,B2,MEDIUM,0,0,COMMUNITY,2026-01-01,,,,2026-01-02\n"),
            });
        }
        let path = dir.path().join("cases.csv");
        std::fs::write(&path, body).unwrap();
        let opts = opts(Kind::Cases);
        let Err(ImportError::Invalid { errors, .. }) =
            import_file(&mut s, &path, &opts, &mut |_, _| {})
        else {
            panic!("the file should be refused");
        };
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [10, 2000, 2400]);
        assert!(
            errors[2].message.contains("also on line 5"),
            "{}",
            errors[2]
        );
        let n: i64 = s
            .db()
            .sql()
            .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn tallies_counted_from_new_rows_equal_a_recount_from_the_table() {
        use rand::{Rng, SeedableRng};
        let (dir, mut s) = db();
        s.db().sql()
            .execute_batch(
                "INSERT INTO pdus (code, name, region) VALUES ('P2', 'Two', 'R');
                 INSERT INTO practitioners VALUES ('S2', 'Bo', 'PSO', 'P2', NULL, 37, '2020-01-01', 'in_post');",
            )
            .unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut body = String::from(
            "crn,name,pdu,team,tier,rosh,mappa_category,mappa_level,case_type,sentence_date,release_date,allocated_to,allocated_on,unallocated_since\n",
        );
        for i in 0..3000 {
            let (pdu, staff) = [("P1", "S1"), ("P2", "S2")][rng.random_range(0..2)];
            let rosh = ["", "LOW", "MEDIUM", "HIGH", "VERY_HIGH"][rng.random_range(0..5)];
            let category = rng.random_range(0..5);
            let level = if category > 0 {
                rng.random_range(1..4)
            } else {
                0
            };
            let tier = ["A0", "A3", "B2", "C1", "D3", "D0S"][rng.random_range(0..6)];
            let kind = ["COMMUNITY", "LICENCE", "CUSTODY"][rng.random_range(0..3)];
            let day = format!(
                "2026-{:02}-{:02}",
                rng.random_range(1..13),
                rng.random_range(1..29)
            );
            let (to, on, since) = if rng.random_bool(0.7) {
                (staff, day.as_str(), "")
            } else {
                ("", "", day.as_str())
            };
            body.push_str(&format!(
                "X{i:06},N,{pdu},,{tier},{rosh},{category},{level},{kind},2025-01-01,,{to},{on},{since}\n"
            ));
        }
        let path = dir.path().join("cases.csv");
        std::fs::write(&path, body).unwrap();
        let opts = opts(Kind::Cases);
        import_file(&mut s, &path, &opts, &mut |_, _| {}).unwrap();
        let dump = |s: &Store| -> Vec<String> {
            [
                "tally_pdu",
                "tally_contact",
                "tally_oversight",
                "tally_caseload",
            ]
            .iter()
            .flat_map(|t| {
                let mut stmt = s.db().sql().prepare(&format!("SELECT * FROM {t}")).unwrap();
                let n = stmt.column_count();
                stmt.query_map([], |r| {
                    let cells: Vec<String> = (0..n)
                        .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                        .collect();
                    Ok(format!("{t} {}", cells.join(" ")))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
            })
            .collect()
        };
        let counted = dump(&s);
        assert!(counted.len() > 100, "{}", counted.len());
        crate::store::tally::rebuild(s.db()).unwrap();
        assert_eq!(counted, dump(&s));
    }

    /// The risk checks' triggers in the schema, by name.
    fn risk_triggers(s: &Store) -> Vec<String> {
        let mut stmt = s
            .db()
            .sql()
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'trigger'
                   AND (name LIKE 'enquiries_%' OR name LIKE 'assessments_%'
                        OR name IN ('cases_risk_dates', 'cases_rosh_changed'))
                 ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Two stored cases, X000001 and X000002.
    fn two_cases(dir: &Path, s: &mut Store) {
        let cases = dir.join("cases.csv");
        std::fs::write(
            &cases,
            format!(
                "{CASES_HEADER}X000001,A,P1,,B2,HIGH,0,0,CUSTODY,2026-01-01,2026-09-01,S1,2026-01-05,\n\
                 X000002,B,P1,,C1,,0,0,LICENCE,2026-02-01,,,,2026-03-01\n"
            ),
        )
        .unwrap();
        import_file(s, &cases, &opts(Kind::Cases), &mut |_, _| {}).unwrap();
    }

    #[test]
    fn a_later_enquiries_file_adds_the_return_and_the_cases_risk_columns_follow() {
        let (dir, mut s) = db();
        two_cases(dir.path(), &mut s);
        let all = risk_triggers(&s);
        assert_eq!(all.len(), 8, "{all:?}");
        let f = dir.path().join("enquiries.csv");
        let import = |s: &mut Store, body: &str| {
            std::fs::write(
                &f,
                format!("crn,kind,requested_on,returned_on,outcome\n{body}"),
            )
            .unwrap();
            import_file(s, &f, &opts(Kind::Enquiries), &mut |_, _| {})
        };
        let c = import(
            &mut s,
            "X000001,domestic_abuse,2026-01-05,,\n\
             X000001,child_safeguarding,2026-01-06,2026-01-20,no_concerns\n\
             X000002,domestic_abuse,2026-02-03,,\n",
        )
        .unwrap();
        assert_eq!((c.rows, c.inserted, c.updated), (3, 3, 0));
        let columns = |s: &Store, crn: &str| -> [Option<String>; 3] {
            s.db()
                .sql()
                .query_row(
                    "SELECT da_last_requested, da_last_returned, cs_last_returned
                       FROM cases WHERE crn = ?1",
                    [crn],
                    |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?]),
                )
                .unwrap()
        };
        let day = |d: &str| Some(d.to_string());
        assert_eq!(
            columns(&s, "X000001"),
            [day("2026-01-05"), None, day("2026-01-20")]
        );
        // The bulk load (every file, in unit tests) set the triggers aside and put them back.
        assert_eq!(risk_triggers(&s), all);
        let c = import(
            &mut s,
            "X000001,domestic_abuse,2026-01-05,2026-01-30,concerns\n\
             X000001,child_safeguarding,2026-01-06,2026-01-20,no_concerns\n",
        )
        .unwrap();
        assert_eq!((c.inserted, c.updated, c.unchanged), (0, 1, 1));
        assert_eq!(
            columns(&s, "X000001"),
            [day("2026-01-05"), day("2026-01-30"), day("2026-01-20")]
        );
        // A rejected file changes nothing, the triggers included; they keep the columns after.
        let Err(ImportError::Invalid { errors, .. }) = import(
            &mut s,
            "X000002,domestic_abuse,2026-02-03,2026-02-10,no_record\n\
             X000002,domestic_abuse,2026-02-03,2026-02-11,no_record\n",
        ) else {
            panic!("a key twice is refused")
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 3);
        assert!(
            errors[0].message.contains("also on line 2"),
            "{}",
            errors[0]
        );
        assert_eq!(columns(&s, "X000002")[1], None);
        assert_eq!(risk_triggers(&s), all);
        s.db()
            .sql()
            .execute(
                "UPDATE enquiries SET returned_on = '2026-02-09', outcome = 'concerns'
                  WHERE crn = 'X000002'",
                [],
            )
            .unwrap();
        assert_eq!(columns(&s, "X000002")[1], day("2026-02-09"));
    }

    #[test]
    fn assessments_upsert_their_level_and_a_bulk_load_recomputes_every_case() {
        let (dir, mut s) = db();
        two_cases(dir.path(), &mut s);
        let f = dir.path().join("assessments.jsonl");
        let import = |s: &mut Store, body: &str| {
            std::fs::write(&f, body).unwrap();
            import_file(s, &f, &opts(Kind::Assessments), &mut |_, _| {})
        };
        let c = import(
            &mut s,
            "{\"crn\":\"X000001\",\"kind\":\"initial\",\"completed_on\":\"2026-01-10\",\"rosh\":\"HIGH\"}\n\
             {\"crn\":\"X000001\",\"kind\":\"pre_release\",\"completed_on\":\"2026-08-01\",\"rosh\":\"MEDIUM\"}\n",
        )
        .unwrap();
        assert_eq!(c.inserted, 2);
        let c = import(
            &mut s,
            "{\"crn\":\"X000001\",\"kind\":\"initial\",\"completed_on\":\"2026-01-10\",\"rosh\":\"VERY_HIGH\"}\n",
        )
        .unwrap();
        assert_eq!((c.inserted, c.updated), (0, 1));
        let (first, pre, rosh): (String, String, String) = s
            .db()
            .sql()
            .query_row(
                "SELECT first_assessed, pre_release_assessed,
                        (SELECT rosh FROM assessments WHERE kind = 'initial')
                   FROM cases WHERE crn = 'X000001'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            (&*first, &*pre, &*rosh),
            ("2026-01-10", "2026-08-01", "VERY_HIGH")
        );
        let e = import(
            &mut s,
            "{\"crn\":\"X000002\",\"kind\":\"review\",\"completed_on\":\"2027-01-01\",\"rosh\":\"LOW\"}\n",
        )
        .unwrap_err();
        assert!(
            e.report_lines()[0].ends_with(
                "assessments.jsonl:1:completed_on: a date after today (2026-12-01): this records something already done (got '2027-01-01')"
            ),
            "{:?}",
            e.report_lines()
        );
    }

    #[test]
    fn a_cases_file_without_custody_kind_keeps_the_stored_one_and_an_empty_cell_clears_it() {
        let (dir, mut s) = db();
        let f = dir.path().join("cases.csv");
        let row = "X000001,A,P1,,B2,HIGH,0,0,CUSTODY,2026-01-01,2026-09-01,S1,2026-01-05,";
        let import = |s: &mut Store, body: String| {
            std::fs::write(&f, body).unwrap();
            import_file(s, &f, &opts(Kind::Cases), &mut |_, _| {}).unwrap()
        };
        let stored = |s: &Store| -> Option<String> {
            s.db()
                .sql()
                .query_row("SELECT custody_kind FROM cases", [], |r| r.get(0))
                .unwrap()
        };
        let with = CASES_HEADER.replace('\n', ",custody_kind\n");
        import(&mut s, format!("{with}{row},indeterminate\n"));
        assert_eq!(stored(&s).as_deref(), Some("indeterminate"));
        // An older extract, without the column: the case is unchanged.
        let c = import(&mut s, format!("{CASES_HEADER}{row}\n"));
        assert_eq!((c.updated, c.unchanged), (0, 1));
        assert_eq!(stored(&s).as_deref(), Some("indeterminate"));
        // With other changes, the stored kind is still kept.
        let c = import(
            &mut s,
            format!("{CASES_HEADER}{}\n", row.replace("HIGH", "LOW")),
        );
        assert_eq!(c.updated, 1);
        assert_eq!(stored(&s).as_deref(), Some("indeterminate"));
        // The column given empty: standard, stored as NULL.
        let c = import(&mut s, format!("{with}{row},\n"));
        assert_eq!(c.updated, 1);
        assert_eq!(stored(&s), None);
    }

    #[test]
    fn the_equality_columns_import_are_kept_when_absent_and_a_bad_group_is_an_error() {
        let (dir, mut s) = db();
        let f = dir.path().join("cases.csv");
        let row = "X000001,A,P1,,B2,HIGH,0,0,COMMUNITY,2026-01-01,,S1,2026-01-05,";
        let import = |s: &mut Store, body: String| {
            std::fs::write(&f, body).unwrap();
            import_file(s, &f, &opts(Kind::Cases), &mut |_, _| {})
        };
        let stored = |s: &Store| -> (Option<String>, Option<String>, Option<String>) {
            s.db()
                .sql()
                .query_row("SELECT ethnicity, sex, age_band FROM cases", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .unwrap()
        };
        let with = CASES_HEADER.replace('\n', ",custody_kind,ethnicity,sex,age_band\n");
        import(&mut s, format!("{with}{row},,Black,female,25-34\n")).unwrap();
        let want = (
            Some("black".to_string()),
            Some("female".to_string()),
            Some("25-34".to_string()),
        );
        assert_eq!(stored(&s), want);
        // An extract without them changes nothing.
        let c = import(&mut s, format!("{CASES_HEADER}{row}\n")).unwrap();
        assert_eq!((c.updated, c.unchanged), (0, 1));
        assert_eq!(stored(&s), want);
        // A group outside the ONS five is refused with its place, and nothing changes.
        let e = import(&mut s, format!("{with}{row},,british,female,25-34\n")).unwrap_err();
        let line = &e.report_lines()[0];
        assert!(
            line.contains("cases.csv:2:")
                && line.contains("ethnicity: expected one of white, mixed, asian, black, other"),
            "{line}"
        );
        assert_eq!(stored(&s), want);
        // Given empty: not recorded.
        import(&mut s, format!("{with}{row},,,,\n")).unwrap();
        assert_eq!(stored(&s), (None, None, None));
    }
}
