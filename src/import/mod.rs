//! Validated, all-or-nothing import of CSV and JSON Lines files.
//!
//! Every row is parsed through the domain types and checked against the database inside one
//! transaction. Rows are written as they pass, but the transaction is committed only if the
//! whole file was clean (and this is not a dry run): a rejected file, a dry run, or a process
//! killed half way all leave the database exactly as it was.

// Keys are CRNs and codes from the file: Fx hashing is several times cheaper than SipHash,
// and a file can only slow its own import.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rusqlite::{Connection, Transaction, params};

use crate::domain::{Case, fmt_date};
use crate::store::batch::BatchInsert;
use crate::store::load;
use crate::store::tally::{CaseKeys, Tallies};
use crate::text::quote_value;

pub mod contract;
mod read;
mod validate;

pub use contract::Kind;
pub use read::FileFormat;
pub use validate::{Record, Refs, Row, check_text, validate};

use read::Item;

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
}

/// Called with (bytes read, total bytes) now and then, for a progress bar.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

enum Outcome {
    Inserted,
    Updated,
    Unchanged,
    Skipped,
}

fn d(date: NaiveDate) -> String {
    fmt_date(date)
}

fn od(date: Option<NaiveDate>) -> Option<String> {
    date.map(fmt_date)
}

/// Inserts a keyed row, or updates it when any value differs. `vals` binds `?1..?n` in both
/// statements, the key first.
///
/// Plain INSERT and UPDATE rather than `ON CONFLICT DO UPDATE`: an upsert makes SQLite copy
/// every page it touches into a statement journal, which made a million-row import ten times
/// slower.
fn upsert(
    tx: &Transaction<'_>,
    existed: bool,
    insert_sql: &str,
    update_sql: &str,
    vals: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Outcome> {
    if !existed {
        tx.prepare_cached(insert_sql)?.execute(vals)?;
        return Ok(Outcome::Inserted);
    }
    match tx.prepare_cached(update_sql)?.execute(vals)? {
        0 => Ok(Outcome::Unchanged),
        _ => Ok(Outcome::Updated),
    }
}

/// Writes one record; upserts report whether anything changed.
fn write(tx: &Transaction<'_>, rec: &Record, existed: bool) -> rusqlite::Result<Outcome> {
    match rec {
        Record::Pdu(p) => upsert(
            tx,
            existed,
            load::INSERT_PDU,
            load::UPDATE_PDU_IF_CHANGED,
            params![
                p.code,
                p.name,
                p.region,
                p.ppf_status.map(|s| s.as_str()),
                p.rating.map(|r| r.as_str()),
                p.score,
                p.score_max,
                od(p.inspected_on),
            ],
        ),
        Record::Establishment(e) => upsert(
            tx,
            existed,
            load::INSERT_ESTABLISHMENT,
            load::UPDATE_ESTABLISHMENT_IF_CHANGED,
            params![e.pdu, e.grade.as_str(), e.target_fte],
        ),
        Record::Practitioner(p) => upsert(
            tx,
            existed,
            load::INSERT_PRACTITIONER,
            load::UPDATE_PRACTITIONER_IF_CHANGED,
            params![
                p.staff_code,
                p.name,
                p.grade.as_str(),
                p.pdu,
                p.team,
                p.contracted_hours,
                d(p.start_date),
                p.status.as_str(),
            ],
        ),
        Record::Case(c) if !existed => {
            let mut insert = case_inserts(tx);
            with_case_values(c, |values| insert.push(values))?;
            insert.flush()?;
            Ok(Outcome::Inserted)
        }
        Record::Case(c) => with_case_values(c, |values| {
            let changed = tx
                .prepare_cached(load::UPDATE_CASE_IF_CHANGED)?
                .execute(values)?;
            Ok(if changed == 0 {
                Outcome::Unchanged
            } else {
                Outcome::Updated
            })
        }),
        Record::Contact(c) => {
            let date = d(c.date);
            let row = load::ContactRow {
                crn: c.crn.as_str(),
                date: &date,
                kind: c.kind.as_str(),
                staff_code: c.staff_code.as_deref(),
            };
            Ok(if load::insert_contact_once(tx, &row)? {
                Outcome::Inserted
            } else {
                Outcome::Skipped
            })
        }
        Record::Oversight(o) => {
            let date = d(o.date);
            let row = load::OversightRow {
                crn: o.crn.as_str(),
                date: &date,
                spo_staff_code: &o.spo_staff_code,
                kind: o.kind.as_str(),
                note: &o.note,
            };
            Ok(if load::insert_oversight_once(tx, &row)? {
                Outcome::Inserted
            } else {
                Outcome::Skipped
            })
        }
    }
}

/// Drives validation and writing over a file, row by row.
struct Run<'t, 'c, 'r> {
    kind: Kind,
    tx: &'t Transaction<'c>,
    refs: &'r Refs,
    seen: HashMap<String, u64>,
    /// Keys already in the database, in the form of [`Record::key`].
    existing: HashSet<String>,
    errors: Vec<RowError>,
    counts: Counts,
    /// New cases not yet written, held for a multi-row statement.
    new_cases: BatchInsert<'t>,
    /// The tallies when they were counted from the rows as they were read instead of being
    /// recounted from the table afterwards (see [`load_csv_in_parallel`]).
    tallies: Option<Tallies>,
}

impl Run<'_, '_, '_> {
    /// Writes the new cases held back, unless the file turned out bad.
    fn flush(&mut self) -> rusqlite::Result<()> {
        if self.errors.is_empty() {
            self.new_cases.flush()?;
        }
        Ok(())
    }

    /// What the load found, letting go of the transaction for the commit or rollback.
    fn finish(self) -> (Vec<RowError>, Counts, Option<Tallies>) {
        (self.errors, self.counts, self.tallies)
    }

    fn row(&mut self, mut row: Row<'_>) -> rusqlite::Result<()> {
        let checked = validate(&mut row, self.tx, self.refs);
        self.accept(row.line, checked)
    }

    /// Takes a checked row: a key given twice is a problem; a good row is written unless the
    /// file is already known to be bad.
    fn accept(
        &mut self,
        line: u64,
        checked: Result<Record, Vec<RowError>>,
    ) -> rusqlite::Result<()> {
        self.counts.rows += 1;
        match checked {
            Err(es) => self.errors.extend(es),
            Ok(rec) => {
                let mut existed = false;
                if let Some(key) = rec.key() {
                    if let Some(first) = self.seen.get(&key) {
                        let col = self.kind.columns()[0].0;
                        self.errors.push(RowError::new(
                            line,
                            col,
                            format!(
                                "duplicate key: also on line {first}; a file may hold each key once"
                            ),
                            Some(&key),
                        ));
                        return Ok(());
                    }
                    existed = self.existing.contains(&key);
                    self.seen.insert(key, line);
                }
                // Once the file is known to be bad, writing is wasted work: keep validating.
                if !self.errors.is_empty() {
                    return Ok(());
                }
                match rec {
                    Record::Case(case) if !existed => {
                        with_case_values(&case, |values| self.new_cases.push(values))?;
                        self.counts.inserted += 1;
                    }
                    rec => match write(self.tx, &rec, existed)? {
                        Outcome::Inserted => self.counts.inserted += 1,
                        Outcome::Updated => self.counts.updated += 1,
                        Outcome::Unchanged => self.counts.unchanged += 1,
                        Outcome::Skipped => self.counts.skipped += 1,
                    },
                }
            }
        }
        Ok(())
    }
}

/// New cases, written many to a statement once [`BatchInsert::flush`] is called.
fn case_inserts<'t>(tx: &'t Transaction<'_>) -> BatchInsert<'t> {
    BatchInsert::new(tx, "cases", load::CASE_COLUMNS)
}

/// Calls `f` with a case's values in the order of [`case_inserts`]'s columns (the key
/// first), its tier and dates as the text stored.
fn with_case_values<R>(c: &Case, f: impl FnOnce(&[&dyn rusqlite::ToSql]) -> R) -> R {
    f(params![
        c.crn.as_str(),
        c.name,
        c.pdu,
        c.team,
        c.tier.as_str(),
        c.rosh.map(|r| r.as_str()),
        c.mappa.category,
        c.mappa.level,
        c.case_type.as_str(),
        d(c.sentence_date),
        od(c.release_date),
        c.allocated_to,
        od(c.allocated_on),
        od(c.unallocated_since),
    ])
}

/// The keys of a keyed kind already stored, read once: cheaper than a lookup per row.
fn existing_keys(conn: &Connection, kind: Kind) -> rusqlite::Result<HashSet<String>> {
    let table = match kind {
        Kind::Pdus => load::Keyed::Pdus,
        Kind::Establishment => load::Keyed::Establishment,
        Kind::Practitioners => load::Keyed::Practitioners,
        Kind::Cases => load::Keyed::Cases,
        Kind::Contacts | Kind::Oversight => return Ok(HashSet::default()),
    };
    load::keys(conn, table)
}

/// The table a kind that may be loaded in bulk is written to.
fn bulk_table(kind: Kind) -> Option<load::BulkTable> {
    match kind {
        Kind::Cases => Some(load::BulkTable::Cases),
        Kind::Contacts => Some(load::BulkTable::Contacts),
        Kind::Oversight => Some(load::BulkTable::Oversight),
        _ => None,
    }
}

/// SQLite's foreign-key check of the table a bulk load wrote, which it skipped row by row.
fn check_references(tx: &Transaction<'_>, kind: Kind) -> Result<(), ImportError> {
    let Some(table) = bulk_table(kind) else {
        return Ok(());
    };
    match load::broken_reference(tx, table)? {
        None => Ok(()),
        Some((parent, rows)) => Err(ImportError::BrokenReference {
            table: table.name(),
            parent,
            rows,
        }),
    }
}

/// SQLite's CHECK constraints over the rows a bulk load wrote, which it skipped row by row:
/// rows with a rowid above `after_rowid`, or every row if some were updated in place.
fn check_constraints(
    tx: &Transaction<'_>,
    kind: Kind,
    after_rowid: i64,
    counts: &Counts,
) -> Result<(), ImportError> {
    let Some(table) = bulk_table(kind) else {
        return Ok(());
    };
    let after_rowid = if counts.updated > 0 {
        i64::MIN
    } else {
        after_rowid
    };
    match crate::store::checks::first_violation(tx, table.name(), after_rowid)? {
        None => Ok(()),
        Some(v) => Err(ImportError::BrokenCheck {
            table: table.name(),
            check: v.check,
            rowid: v.rowid,
        }),
    }
}

/// Files from this size up are loaded with the tallies recounted once at the end (about
/// 40,000 case rows; below it the row-by-row triggers cost less than a recount).
/// (Unit tests take the bulk path for every file; the binary's tests take the other.)
const BULK_BYTES: u64 = if cfg!(test) { 1 } else { 4 << 20 };

/// Imports `path` into `conn` in one transaction. Returns the counts, or `Invalid` with every
/// problem found (and nothing written).
pub fn import_file(
    conn: &mut Connection,
    path: &Path,
    opts: &ImportOptions,
    progress: Progress<'_>,
) -> Result<Counts, ImportError> {
    let (file, total) = read::open(path)?;
    // A large load into cases (or their contacts and oversight) would update the tallies
    // and empty the overview cache row by row (and make SQLite journal each statement);
    // dropping those triggers and recounting once at the end is several times faster.
    let bulk = total >= BULK_BYTES
        && !opts.dry_run
        && matches!(opts.kind, Kind::Cases | Kind::Contacts | Kind::Oversight);
    if !bulk {
        return import_opened(conn, path, file, total, opts, progress, false);
    }
    // SQLite checks a foreign key per statement, which makes every multi-row INSERT keep a
    // statement journal (a third of a large import). Every row's references are checked
    // before it is written, against references read under the write lock, and the whole
    // table is checked once before the commit; so the per-statement check goes for the load.
    // (The pragma cannot change inside a transaction, hence out here.)
    // Likewise SQLite's CHECK constraints, a sixth of the load: every row was validated
    // against stricter rules, and the rows written are checked against them once at the end.
    load::per_row_checks(conn, false)?;
    let result = import_opened(conn, path, file, total, opts, progress, true);
    let restored = load::per_row_checks(conn, true);
    let counts = result?;
    restored?;
    Ok(counts)
}

fn import_opened(
    conn: &mut Connection,
    path: &Path,
    file: File,
    total: u64,
    opts: &ImportOptions,
    progress: Progress<'_>,
    bulk: bool,
) -> Result<Counts, ImportError> {
    let reader = read::buffered(path, file)?;
    let format = opts.format.unwrap_or_else(|| FileFormat::from_path(path));
    // A large file touches most of the cases table and its indexes; the default 2 MB page
    // cache makes every lookup a read, and each upsert writes a statement journal, which
    // belongs in memory rather than a temporary file. Memory is only taken as it is used.
    load::large_load_cache(conn)?;
    // Immediate: take the write lock first, so the references loaded below cannot change
    // under the import.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Dropped and recounted inside this transaction, so a failure or a kill leaves the
    // triggers and tallies exactly as they were.
    if bulk {
        tx.execute_batch(crate::store::schema::BULK_TRIGGERS_DROP)?;
    }
    let refs = Refs::load(&tx)?;
    let existing = existing_keys(&tx, opts.kind)?;
    // Cases loaded in bulk into an empty table are all new: their indexes are built once from
    // the rows at the end, and their tallies counted from the rows on the reading thread,
    // sparing the recount's pass over the table. (Any other load recounts from the table.)
    let into_empty = bulk && opts.kind == Kind::Cases && existing.is_empty();
    let deferred = if into_empty {
        Some(crate::store::batch::DeferredIndexes::drop_all(
            &tx, "cases",
        )?)
    } else {
        None
    };
    // Rows above this one are the load's own, for the checks before the commit.
    let last_rowid_before = match bulk_table(opts.kind) {
        Some(table) if bulk => load::last_rowid(&tx, table)?,
        _ => 0,
    };
    let mut run = Run {
        kind: opts.kind,
        tx: &tx,
        refs: &refs,
        // Sized once for the rows the file can hold (no keyed row is under 64 bytes), rather
        // than grown and rehashed twenty times over a national file.
        seen: HashMap::with_capacity_and_hasher(
            if bulk && opts.kind == Kind::Cases {
                (total / 64) as usize
            } else {
                0
            },
            Default::default(),
        ),
        new_cases: case_inserts(&tx),
        tallies: None,
        existing,
        errors: Vec::new(),
        counts: Counts::default(),
    };
    match format {
        FileFormat::Csv if matches!(opts.kind, Kind::Contacts | Kind::Oversight) => {
            load_csv(&mut run, reader, opts, total, progress)?
        }
        FileFormat::Csv => {
            load_csv_in_parallel(&mut run, path, reader, opts, total, progress, into_empty)?
        }
        FileFormat::Jsonl => load_jsonl(&mut run, path, reader, opts, total, progress)?,
    }
    run.flush()?;
    // Problems with the file itself are collected apart from those of its rows: report them
    // all in line order.
    run.errors.sort_by_key(|e| e.line);
    let (errors, counts, tallies) = run.finish();
    if !errors.is_empty() {
        tx.rollback()?;
        return Err(ImportError::Invalid {
            file: path.to_path_buf(),
            errors,
        });
    }
    if opts.dry_run || counts.inserted + counts.updated == 0 {
        // Nothing to change: leave even the file's change counter alone.
        tx.rollback()?;
    } else {
        // Marks the database as holding real data, so `demo` will not replace it unasked.
        crate::store::set_meta(&tx, "origin", "import")?;
        if bulk {
            check_references(&tx, opts.kind)?;
            check_constraints(&tx, opts.kind, last_rowid_before, &counts)?;
            if let Some(indexes) = deferred {
                indexes.rebuild(&tx)?;
            }
            match tallies {
                Some(counted) => counted.write(&tx)?,
                None => crate::store::tally::rebuild(&tx)?,
            }
            tx.execute_batch(crate::store::schema::BULK_TRIGGERS_RESTORE)?;
        }
        // The audit row goes in with the rows it describes, or not at all.
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let after = serde_json::json!({
            "file": file_name,
            "kind": opts.kind.name(),
            "rows": counts.rows,
            "inserted": counts.inserted,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "skipped": counts.skipped,
        });
        crate::actions::record_audit(
            &tx,
            &crate::store::triage::AuditEntry {
                actor: &opts.actor,
                action: "import",
                crn: None,
                subject: Some(opts.kind.name()),
                before: None,
                after: Some(&after),
                reason: None,
            },
        )?;
        tx.commit()?;
    }
    Ok(counts)
}

/// Progress is reported every this many rows.
const PROGRESS_ROWS: u64 = 16384;

/// A CSV file of a kind that needs the connection to check its rows (contacts and
/// oversight refer to stored cases): read, checked and written on this thread.
fn load_csv(
    run: &mut Run<'_, '_, '_>,
    reader: impl std::io::Read,
    opts: &ImportOptions,
    total: u64,
    progress: Progress<'_>,
) -> Result<(), ImportError> {
    let mut file_errors = Vec::new();
    read::read_csv(run.kind, reader, opts.ignore_unknown, &mut |item| {
        match item {
            Item::Problem(e) => file_errors.push(e),
            Item::Row(row, pos) => {
                run.row(row)?;
                if run.counts.rows.is_multiple_of(PROGRESS_ROWS) {
                    progress(pos, total);
                }
            }
        }
        Ok(())
    })?;
    run.errors.extend(file_errors);
    progress(total, total);
    Ok(())
}

/// A JSON Lines file: read, checked and written on this thread. A line's own problems count
/// at once, so no row after it is written.
fn load_jsonl(
    run: &mut Run<'_, '_, '_>,
    path: &Path,
    reader: impl std::io::BufRead,
    opts: &ImportOptions,
    total: u64,
    progress: Progress<'_>,
) -> Result<(), ImportError> {
    read::read_jsonl(path, run.kind, reader, opts.ignore_unknown, &mut |item| {
        match item {
            Item::Problem(e) => run.errors.push(e),
            Item::Row(row, bytes) => {
                run.row(row)?;
                if run.counts.rows.is_multiple_of(PROGRESS_ROWS) {
                    progress(bytes.min(total), total);
                }
            }
        }
        Ok(())
    })?;
    progress(total, total);
    Ok(())
}

/// Checked rows handed from the reading thread to the writing one, this many at a time.
const HANDOFF_ROWS: usize = 1024;

type Handoff = Vec<(u64, Result<Record, Vec<RowError>>, u64)>;

/// A CSV file of a kind checked against the references alone: one thread reads and checks
/// the rows while this one writes them, so parsing overlaps SQLite's work (a quarter of a
/// million-row import). Rows are written in file order, as on one thread.
fn load_csv_in_parallel(
    run: &mut Run<'_, '_, '_>,
    path: &Path,
    reader: impl std::io::Read + Send,
    opts: &ImportOptions,
    total: u64,
    progress: Progress<'_>,
    count_tallies: bool,
) -> Result<(), ImportError> {
    let (kind, refs) = (run.kind, run.refs);
    let mut tallies = count_tallies.then(Tallies::default);
    std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::sync_channel::<Handoff>(8);
        let reading = scope.spawn(move || {
            let mut errors = Vec::new();
            let mut batch = Handoff::with_capacity(HANDOFF_ROWS);
            let read = read::read_csv(kind, reader, opts.ignore_unknown, &mut |item| {
                let (mut row, pos) = match item {
                    Item::Problem(e) => {
                        errors.push(e);
                        return Ok(());
                    }
                    Item::Row(row, pos) => (row, pos),
                };
                let checked = validate::validate_offline(&mut row, refs)
                    .expect("only kinds checked offline are read in parallel");
                // Counted even if the file turns out bad: then nothing is written at all.
                if let (Some(t), Ok(Record::Case(c))) = (tallies.as_mut(), &checked) {
                    let tier = c.tier.as_str();
                    let allocated_on = c.allocated_on.map(fmt_date).unwrap_or_default();
                    t.add(&CaseKeys::of_new_case(c, tier, &allocated_on));
                }
                batch.push((row.line, checked, pos));
                if batch.len() == HANDOFF_ROWS {
                    let full = std::mem::replace(&mut batch, Handoff::with_capacity(HANDOFF_ROWS));
                    // The writer has stopped on an error of its own, which it reports.
                    send.send(full).map_err(|_| {
                        ImportError::Io(path.to_path_buf(), std::io::Error::other("writer stopped"))
                    })?;
                }
                Ok(())
            });
            if read.is_ok() && !batch.is_empty() {
                let _ = send.send(batch);
            }
            read.map(|()| (errors, tallies))
        });
        let mut written = Ok(());
        'batches: for batch in receive.iter() {
            for (line, checked, pos) in batch {
                if let Err(e) = run.accept(line, checked) {
                    written = Err(e);
                    break 'batches;
                }
                if run.counts.rows.is_multiple_of(PROGRESS_ROWS) {
                    progress(pos, total);
                }
            }
        }
        // Hanging up stops the reader at its next batch.
        drop(receive);
        let read = reading
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        written?;
        let (errors, tallies) = read?;
        run.errors.extend(errors);
        run.tallies = tallies;
        progress(total, total);
        Ok(())
    })
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
        }
    }

    pub(super) fn db() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("t.db"), OpenMode::CreateIfMissing).unwrap();
        s.conn()
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
            s.conn()
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
        import_file(s.conn_mut(), &cases, &opts(Kind::Cases), &mut |_, _| {}).unwrap();
        let contacts = dir.path().join("contacts.csv");
        std::fs::write(&contacts, "crn,date,kind\nX000001,2026-10-01,home_visit\n").unwrap();
        import_file(
            s.conn_mut(),
            &contacts,
            &opts(Kind::Contacts),
            &mut |_, _| {},
        )
        .unwrap();
        // A rejected file changes nothing, triggers included.
        std::fs::write(&contacts, "crn,date,kind\nX000001,not-a-date,home_visit\n").unwrap();
        assert!(
            import_file(
                s.conn_mut(),
                &contacts,
                &opts(Kind::Contacts),
                &mut |_, _| {}
            )
            .is_err()
        );
        assert_eq!(triggers(&s), (3, 18));
        let policy = crate::policy::Policy::defaults();
        let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let counts = |sql: String| {
            crate::store::read::pdu_counts(s.conn(), &sql, &policy, as_of, None).unwrap()
        };
        let tally = counts(crate::store::read::pdu_summary_sql(false));
        assert_eq!(
            tally,
            counts(crate::store::read::pdu_summary_live_sql(false))
        );
        assert_eq!(tally["P1"][..3], [3, 1, 0]);
        // And the triggers work again after the load.
        s.conn()
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
            .conn()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        // So are its CHECK constraints.
        let e = s
            .conn()
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
        s.conn()
            .execute_batch(
                "PRAGMA temp_store = MEMORY;
                 CREATE TEMP TRIGGER forge AFTER INSERT ON main.cases WHEN NEW.crn = 'X000002'
                 BEGIN UPDATE cases SET mappa_level = 9 WHERE rowid = NEW.rowid; END;",
            )
            .unwrap();
        let state = |s: &Store| -> [i64; 5] {
            s.conn()
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
        let e = import_file(s.conn_mut(), &cases, &opts, &mut |_, _| {}).unwrap_err();
        assert!(
            matches!(&e, ImportError::BrokenCheck { table: "cases", check, .. }
                if check == "mappa_level BETWEEN 0 AND 3"),
            "{e}"
        );
        assert_eq!(state(&s), before);
        s.conn().execute_batch("DROP TRIGGER forge").unwrap();
        import_file(s.conn_mut(), &cases, &opts, &mut |_, _| {}).unwrap();
        let after = state(&s);
        assert_eq!(after[0], 2);
        // The indexes dropped for the load into the empty table are back, and measured.
        assert_eq!(after[4], before[4]);
        let measured: i64 = s
            .conn()
            .query_row(
                "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'cases' AND stat LIKE '2 %'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(measured >= 3, "{measured}");
    }

    #[test]
    fn only_rows_the_load_wrote_are_checked_unless_it_updated_some() {
        let (_dir, s) = db();
        s.conn()
            .execute_batch(
                "PRAGMA ignore_check_constraints = ON;
                 INSERT INTO cases (crn, name, pdu, tier, case_type, sentence_date, unallocated_since)
                 VALUES ('X000001', 'A', 'P1', 'C1', 'ELSEWHERE', '2026-01-01', '2026-01-02');",
            )
            .unwrap();
        let rowid = s.conn().last_insert_rowid();
        let tx = s.conn().unchecked_transaction().unwrap();
        let mut counts = Counts::default();
        assert!(check_constraints(&tx, Kind::Cases, rowid, &counts).is_ok());
        let e = check_constraints(&tx, Kind::Cases, rowid - 1, &counts).unwrap_err();
        assert!(
            e.to_string().contains(&format!(
                "row {rowid} of cases breaking its check `case_type IN ("
            )),
            "{e}"
        );
        counts.updated = 1;
        assert!(check_constraints(&tx, Kind::Cases, rowid, &counts).is_err());
        assert!(check_constraints(&tx, Kind::Contacts, 0, &counts).is_ok());
    }

    #[test]
    fn new_cases_go_in_batches_and_every_row_lands_once() {
        let (dir, mut s) = db();
        let header = CASES_HEADER;
        // Rows handed between the threads in two full handoffs and a remainder, written in
        // full batches and a remainder, with an update of a stored case in between.
        const N: usize = 2 * HANDOFF_ROWS + 5;
        s.conn()
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
            if i == HANDOFF_ROWS + 3 {
                body.push_str("X900000,New,P1,,C1,,0,0,COMMUNITY,2026-01-01,,,,2026-01-02\n");
            }
        }
        let path = dir.path().join("cases.csv");
        std::fs::write(&path, body).unwrap();
        let opts = opts(Kind::Cases);
        let counts = import_file(s.conn_mut(), &path, &opts, &mut |_, _| {}).unwrap();
        assert_eq!((counts.inserted, counts.updated), (N as u64, 1));
        let (n, distinct, last, old): (i64, i64, String, String) = s
            .conn()
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
            import_file(s.conn_mut(), &path, &opts, &mut |_, _| {})
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
            .conn()
            .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn tallies_counted_from_new_rows_equal_a_recount_from_the_table() {
        use rand::{Rng, SeedableRng};
        let (dir, mut s) = db();
        s.conn()
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
        import_file(s.conn_mut(), &path, &opts, &mut |_, _| {}).unwrap();
        let dump = |s: &Store| -> Vec<String> {
            [
                "tally_pdu",
                "tally_contact",
                "tally_oversight",
                "tally_caseload",
            ]
            .iter()
            .flat_map(|t| {
                let mut stmt = s.conn().prepare(&format!("SELECT * FROM {t}")).unwrap();
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
        crate::store::tally::rebuild(s.conn()).unwrap();
        assert_eq!(counted, dump(&s));
    }

    #[test]
    fn a_reference_broken_behind_the_checks_refuses_the_commit() {
        let (_dir, s) = db();
        s.conn()
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO cases (crn, name, pdu, tier, case_type, sentence_date, unallocated_since)
                 VALUES ('X000001', 'A', 'NOPE', 'C1', 'COMMUNITY', '2026-01-01', '2026-01-02');",
            )
            .unwrap();
        let tx = s.conn().unchecked_transaction().unwrap();
        let e = check_references(&tx, Kind::Cases).unwrap_err();
        assert!(
            e.to_string()
                .contains("1 row(s) of cases referring to a missing row of pdus"),
            "{e}"
        );
        assert!(check_references(&tx, Kind::Contacts).is_ok());
    }
}
