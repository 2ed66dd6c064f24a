//! Writing a checked file: one immediate transaction, rows written as they pass (upserts by
//! key, contacts and oversight appended once), new cases many to a statement, and for a bulk
//! load the triggers and indexes set aside and the tallies, references and CHECKs put right
//! before the commit, which carries the audit row. The statements are in `store::load`.

// Keys are CRNs and codes from the file: Fx hashing is several times cheaper than SipHash,
// and a file can only slow its own import.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::path::Path;

use chrono::NaiveDate;
use rusqlite::params;

use super::read::{self, Item};
use super::validate::{self, Record, Refs, Row};
use super::{Counts, ImportError, ImportOptions, Kind, Progress, RowError};
use crate::domain::{Case, fmt_date};
use crate::store::batch::{BatchInsert, DeferredIndexes};
use crate::store::tally::{CaseKeys, Tallies};
use crate::store::{Db, Store, Tx, load};

/// Files from this size up are loaded with the tallies recounted once at the end (about
/// 40,000 case rows; below it the row-by-row triggers cost less than a recount).
/// (Unit tests take the bulk path for every file; the binary's tests take the other.)
const BULK_BYTES: u64 = if cfg!(test) { 1 } else { 4 << 20 };

/// Whether a file of `total` bytes is loaded in bulk. A large load into cases (or their
/// contacts and oversight) would update the tallies and empty the overview cache row by row
/// (and make SQLite journal each statement); dropping those triggers and recounting once at
/// the end is several times faster. Likewise a large load of enquiries or assessments would
/// recompute its case's risk-check columns for every row, where one pass over the cases at
/// the end does it once.
pub(super) fn is_bulk(total: u64, opts: &ImportOptions) -> bool {
    total >= BULK_BYTES && !opts.dry_run && bulk_table(opts.kind).is_some()
}

/// Runs a bulk load `f` with SQLite's per-row checks off, and on again after it, whatever
/// its outcome.
///
/// SQLite checks a foreign key per statement, which makes every multi-row INSERT keep a
/// statement journal (a third of a large import). Every row's references are checked
/// before it is written, against references read under the write lock, and the whole
/// table is checked once before the commit; so the per-statement check goes for the load.
/// (The pragma cannot change inside a transaction, hence out here.)
/// Likewise SQLite's CHECK constraints, a sixth of the load: every row was validated
/// against stricter rules, and the rows written are checked against them once at the end.
pub(super) fn without_per_row_checks<T>(
    store: &mut Store,
    f: impl FnOnce(&mut Store) -> Result<T, ImportError>,
) -> Result<T, ImportError> {
    load::per_row_checks(store.db(), false)?;
    let result = f(store);
    let restored = load::per_row_checks(store.db(), true);
    let t = result?;
    restored?;
    Ok(t)
}

/// Opens the import's transaction, for a bulk load of `kind` with its triggers set aside
/// (see [`load::begin`]).
pub(super) fn begin(store: &mut Store, kind: Kind, bulk: bool) -> Result<Tx<'_>, ImportError> {
    let set_aside = bulk_table(kind)
        .filter(|_| bulk)
        .map(load::BulkTable::set_aside);
    Ok(load::begin(store, set_aside)?)
}

/// The keys of a keyed kind already stored, read once: cheaper than a lookup per row.
pub(super) fn existing_keys(conn: Db<'_>, kind: Kind) -> rusqlite::Result<HashSet<String>> {
    let table = match kind {
        Kind::Pdus => load::Keyed::Pdus,
        Kind::Establishment => load::Keyed::Establishment,
        Kind::Practitioners => load::Keyed::Practitioners,
        Kind::Cases => load::Keyed::Cases,
        Kind::Enquiries => load::Keyed::Enquiries,
        Kind::Assessments => load::Keyed::Assessments,
        Kind::Contacts | Kind::Oversight => return Ok(HashSet::default()),
    };
    load::keys(conn, table)
}

/// A file's keys seen so far, with the line each was first on.
#[derive(Default)]
pub(super) struct FileKeys {
    seen: HashMap<String, u64>,
}

impl FileKeys {
    pub(super) fn with_capacity(rows: usize) -> FileKeys {
        FileKeys {
            seen: HashMap::with_capacity_and_hasher(rows, Default::default()),
        }
    }

    /// Notes the `key` of a row on `line`; a key given twice is a problem on the later line.
    pub(super) fn first(&mut self, kind: Kind, line: u64, key: String) -> Result<(), RowError> {
        if let Some(first) = self.seen.get(&key) {
            return Err(RowError::new(
                line,
                kind.columns()[0].0,
                format!("duplicate key: also on line {first}; a file may hold each key once"),
                Some(&key),
            ));
        }
        self.seen.insert(key, line);
        Ok(())
    }
}

/// Drives validation and writing over a file, row by row.
pub(super) struct Run<'t, 'r> {
    kind: Kind,
    tx: Db<'t>,
    refs: &'r Refs,
    keys: FileKeys,
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

impl<'t, 'r> Run<'t, 'r> {
    /// A run over a file of `kind` in `tx`, against `refs` and the keys already stored
    /// (`existing`), expecting about `rows` keyed rows.
    pub(super) fn new(
        tx: Db<'t>,
        refs: &'r Refs,
        kind: Kind,
        existing: HashSet<String>,
        rows: usize,
    ) -> Self {
        Run {
            kind,
            tx,
            refs,
            keys: FileKeys::with_capacity(rows),
            new_cases: case_inserts(tx),
            tallies: None,
            existing,
            errors: Vec::new(),
            counts: Counts::default(),
        }
    }

    /// What the load found, once the new cases held back are written (unless the file
    /// turned out bad), letting go of the transaction for the commit or rollback. Problems
    /// with the file itself are collected apart from those of its rows: all are in line
    /// order.
    pub(super) fn end(mut self) -> rusqlite::Result<(Vec<RowError>, Counts, Option<Tallies>)> {
        if self.errors.is_empty() {
            self.new_cases.flush()?;
        }
        self.errors.sort_by_key(|e| e.line);
        Ok((self.errors, self.counts, self.tallies))
    }

    fn row(&mut self, mut row: Row<'_>) -> rusqlite::Result<()> {
        let checked = validate::validate(&mut row, validate::Cases::Stored(self.tx), self.refs);
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
                    existed = self.existing.contains(&key);
                    if let Err(e) = self.keys.first(self.kind, line, key) {
                        self.errors.push(e);
                        return Ok(());
                    }
                }
                // Once the file is known to be bad, writing is wasted work: keep validating.
                if !self.errors.is_empty() {
                    return Ok(());
                }
                match rec {
                    Record::Case(case, _) if !existed => {
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

/// Progress is reported every this many rows.
const PROGRESS_ROWS: u64 = 16384;

/// A CSV file of a kind that needs the connection to check its rows (contacts and
/// oversight refer to stored cases): read, checked and written on this thread.
pub(super) fn load_csv(
    run: &mut Run<'_, '_>,
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
pub(super) fn load_jsonl(
    run: &mut Run<'_, '_>,
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
pub(super) const HANDOFF_ROWS: usize = 1024;

type Handoff = Vec<(u64, Result<Record, Vec<RowError>>, u64)>;

/// A CSV file of a kind checked against the references alone: one thread reads and checks
/// the rows while this one writes them, so parsing overlaps SQLite's work (a quarter of a
/// million-row import). Rows are written in file order, as on one thread.
pub(super) fn load_csv_in_parallel(
    run: &mut Run<'_, '_>,
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
                if let (Some(t), Ok(Record::Case(c, _))) = (tallies.as_mut(), &checked) {
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

/// What writing one record did.
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

fn upserted(u: load::Upserted) -> Outcome {
    match u {
        load::Upserted::Inserted => Outcome::Inserted,
        load::Upserted::Updated => Outcome::Updated,
        load::Upserted::Unchanged => Outcome::Unchanged,
    }
}

/// Writes one record; upserts report whether anything changed.
fn write(tx: Db<'_>, rec: &Record, existed: bool) -> rusqlite::Result<Outcome> {
    match rec {
        Record::Pdu(p) => load::upsert(
            tx,
            load::Upsert::Pdu,
            existed,
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
        )
        .map(upserted),
        Record::Establishment(e) => load::upsert(
            tx,
            load::Upsert::Establishment,
            existed,
            params![e.pdu, e.grade.as_str(), e.target_fte],
        )
        .map(upserted),
        Record::Practitioner(p) => load::upsert(
            tx,
            load::Upsert::Practitioner,
            existed,
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
        )
        .map(upserted),
        Record::Case(c, _) if !existed => {
            let mut insert = case_inserts(tx);
            with_case_values(c, |values| insert.push(values))?;
            insert.flush()?;
            Ok(Outcome::Inserted)
        }
        Record::Case(c, given) => {
            { with_case_values(c, |values| load::update_case(tx, values, *given)) }.map(upserted)
        }
        Record::Enquiry { crn, enquiry: e } => load::upsert(
            tx,
            load::Upsert::Enquiry,
            existed,
            params![
                crn.as_str(),
                e.kind.as_str(),
                d(e.requested_on),
                od(e.returned_on),
                e.outcome.map(|o| o.as_str()),
            ],
        )
        .map(upserted),
        Record::Assessment { crn, assessment: a } => load::upsert(
            tx,
            load::Upsert::Assessment,
            existed,
            params![
                crn.as_str(),
                a.kind.as_str(),
                d(a.completed_on),
                a.rosh.as_str(),
            ],
        )
        .map(upserted),
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

fn case_inserts(db: Db<'_>) -> BatchInsert<'_> {
    load::case_inserts(db)
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
        c.custody_kind.map(|k| k.as_str()),
        c.ethnicity.map(|k| k.as_str()),
        c.sex.map(|k| k.as_str()),
        c.age_band.map(|k| k.as_str()),
    ])
}

/// What a bulk load set aside at its start, put back and checked before the commit.
pub(super) struct Bulk {
    kind: Kind,
    /// Rows above this one are the load's own, for the checks before the commit.
    last_rowid_before: i64,
    /// The indexes of cases, dropped for a load into the empty table.
    deferred: Option<DeferredIndexes>,
}

impl Bulk {
    /// Notes where the load's rows start; for cases loaded into an empty table (`into_empty`),
    /// drops their indexes, to be built once from the rows at the end.
    pub(super) fn start(tx: Db<'_>, kind: Kind, into_empty: bool) -> rusqlite::Result<Bulk> {
        let deferred = if into_empty {
            Some(DeferredIndexes::drop_all(tx, "cases")?)
        } else {
            None
        };
        let last_rowid_before = match bulk_table(kind) {
            Some(table) => load::last_rowid(tx, table)?,
            None => 0,
        };
        Ok(Bulk {
            kind,
            last_rowid_before,
            deferred,
        })
    }

    /// Checks the references and CHECKs SQLite skipped row by row, builds the indexes set
    /// aside, writes the tallies (`counted` from the rows, or recounted from the table) or
    /// recomputes the cases' risk-check columns, and puts the triggers back.
    fn finish(
        self,
        tx: Db<'_>,
        counts: &Counts,
        counted: Option<Tallies>,
    ) -> Result<(), ImportError> {
        check_references(tx, self.kind)?;
        check_constraints(tx, self.kind, self.last_rowid_before, counts)?;
        if let Some(indexes) = self.deferred {
            indexes.rebuild(tx)?;
        }
        let Some(table) = bulk_table(self.kind) else {
            return Ok(());
        };
        let set_aside = table.set_aside();
        if set_aside == load::SetAside::Tallies {
            match counted {
                Some(counted) => counted.write(tx)?,
                None => crate::store::tally::rebuild(tx)?,
            }
        }
        load::restore(tx, set_aside)?;
        Ok(())
    }
}

/// The table a kind that may be loaded in bulk is written to.
fn bulk_table(kind: Kind) -> Option<load::BulkTable> {
    match kind {
        Kind::Cases => Some(load::BulkTable::Cases),
        Kind::Contacts => Some(load::BulkTable::Contacts),
        Kind::Oversight => Some(load::BulkTable::Oversight),
        Kind::Enquiries => Some(load::BulkTable::Enquiries),
        Kind::Assessments => Some(load::BulkTable::Assessments),
        _ => None,
    }
}

/// SQLite's foreign-key check of the table a bulk load wrote, which it skipped row by row.
fn check_references(tx: Db<'_>, kind: Kind) -> Result<(), ImportError> {
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
    tx: Db<'_>,
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

/// Ends a clean load of `path`: rolled back for a dry run or when nothing changed; otherwise
/// a bulk load's work finished, the audit row added and the whole committed.
pub(super) fn commit(
    tx: Tx<'_>,
    path: &Path,
    opts: &ImportOptions,
    counts: &Counts,
    bulk: Option<Bulk>,
    tallies: Option<Tallies>,
) -> Result<(), ImportError> {
    if opts.dry_run || counts.inserted + counts.updated == 0 {
        // Nothing to change: leave even the file's change counter alone.
        tx.rollback()?;
        return Ok(());
    }
    // Marks the database as holding real data, so `demo` will not replace it unasked.
    crate::store::set_meta(tx.db(), "origin", "import")?;
    if let Some(bulk) = bulk {
        bulk.finish(tx.db(), counts, tallies)?;
    }
    // The audit row goes in with the rows it describes, or not at all.
    audit(tx.db(), path, opts, counts)?;
    tx.commit()?;
    Ok(())
}

/// The audit row of an import: the file's name, its kind and the counts.
fn audit(tx: Db<'_>, path: &Path, opts: &ImportOptions, counts: &Counts) -> rusqlite::Result<()> {
    let after = audit_after(path, opts, counts);
    crate::actions::record_audit(tx, &audit_entry(opts, &after))?;
    Ok(())
}

/// What an import's audit row records: the file's name (not its path), kind and counts.
pub(super) fn audit_after(path: &Path, opts: &ImportOptions, counts: &Counts) -> serde_json::Value {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    serde_json::json!({
        "file": file_name,
        "kind": opts.kind.name(),
        "rows": counts.rows,
        "inserted": counts.inserted,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "skipped": counts.skipped,
    })
}

/// An import's audit row, `after` as [`audit_after`] gives it.
pub(super) fn audit_entry<'a>(
    opts: &'a ImportOptions,
    after: &'a serde_json::Value,
) -> crate::store::triage::AuditEntry<'a> {
    crate::store::triage::AuditEntry {
        actor: &opts.actor,
        action: "import",
        crn: None,
        subject: Some(opts.kind.name()),
        before: None,
        after: Some(after),
        reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::tests::db;

    #[test]
    fn only_rows_the_load_wrote_are_checked_unless_it_updated_some() {
        let (_dir, s) = db();
        s.db().sql()
            .execute_batch(
                "PRAGMA ignore_check_constraints = ON;
                 INSERT INTO cases (crn, name, pdu, tier, case_type, sentence_date, unallocated_since)
                 VALUES ('X000001', 'A', 'P1', 'C1', 'ELSEWHERE', '2026-01-01', '2026-01-02');",
            )
            .unwrap();
        let rowid = s.db().sql().last_insert_rowid();
        let _tx = s.db().sql().unchecked_transaction().unwrap();
        let mut counts = Counts::default();
        assert!(check_constraints(s.db(), Kind::Cases, rowid, &counts).is_ok());
        let e = check_constraints(s.db(), Kind::Cases, rowid - 1, &counts).unwrap_err();
        assert!(
            e.to_string().contains(&format!(
                "row {rowid} of cases breaking its check `case_type IN ("
            )),
            "{e}"
        );
        counts.updated = 1;
        assert!(check_constraints(s.db(), Kind::Cases, rowid, &counts).is_err());
        assert!(check_constraints(s.db(), Kind::Contacts, 0, &counts).is_ok());
    }

    #[test]
    fn a_reference_broken_behind_the_checks_refuses_the_commit() {
        let (_dir, s) = db();
        s.db().sql()
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO cases (crn, name, pdu, tier, case_type, sentence_date, unallocated_since)
                 VALUES ('X000001', 'A', 'NOPE', 'C1', 'COMMUNITY', '2026-01-01', '2026-01-02');",
            )
            .unwrap();
        let _tx = s.db().sql().unchecked_transaction().unwrap();
        let e = check_references(s.db(), Kind::Cases).unwrap_err();
        assert!(
            e.to_string()
                .contains("1 row(s) of cases referring to a missing row of pdus"),
            "{e}"
        );
        assert!(check_references(s.db(), Kind::Contacts).is_ok());
    }
}
