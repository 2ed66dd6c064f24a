//! The statements that load reference data and cases: shared by `import` (real extracts) and
//! `demo` (synthetic data), so the two write the very same rows; and the few reads an import
//! needs around them.

use crate::store::batch::BatchInsert;
use crate::store::{Db, Store, Tx};
use rusqlite::{OptionalExtension, Result, Statement, ToSql, params};

/// Prepared inserts for every table a generator fills, in the columns' order of the
/// `INSERT_*` statements and `*_COLUMNS` lists below: one statement each for the small
/// tables, a batch of many rows to a statement for the large ones (flushed by
/// [`Inserts::flush`]).
pub struct Inserts<'t> {
    pub pdu: Statement<'t>,
    pub team: Statement<'t>,
    pub establishment: Statement<'t>,
    pub practitioner: Statement<'t>,
    pub cases: BatchInsert<'t>,
    pub contacts: BatchInsert<'t>,
    pub oversight: BatchInsert<'t>,
    pub allocations: BatchInsert<'t>,
    pub enquiries: BatchInsert<'t>,
    pub assessments: BatchInsert<'t>,
}

impl<'t> Inserts<'t> {
    pub fn new(db: Db<'t>) -> Result<Inserts<'t>> {
        let conn = db.conn();
        Ok(Inserts {
            pdu: conn.prepare(INSERT_PDU)?,
            team: conn.prepare(INSERT_TEAM)?,
            establishment: conn.prepare(INSERT_ESTABLISHMENT)?,
            practitioner: conn.prepare(INSERT_PRACTITIONER)?,
            cases: BatchInsert::new(db, "cases", CASE_COLUMNS_BUILT),
            contacts: BatchInsert::new(db, "contacts", CONTACT_COLUMNS),
            oversight: BatchInsert::new(db, "oversight", OVERSIGHT_COLUMNS),
            allocations: BatchInsert::new(db, "allocations", ALLOCATION_COLUMNS),
            enquiries: BatchInsert::new(db, "enquiries", ENQUIRY_COLUMNS),
            assessments: BatchInsert::new(db, "assessments", ASSESSMENT_COLUMNS),
        })
    }

    /// Writes the rows still held back in the batches.
    pub fn flush(&mut self) -> Result<()> {
        for batch in [
            &mut self.cases,
            &mut self.contacts,
            &mut self.oversight,
            &mut self.allocations,
            &mut self.enquiries,
            &mut self.assessments,
        ] {
            batch.flush()?;
        }
        Ok(())
    }
}

/// New cases from an import (columns [`CASE_COLUMNS`]), many to a statement once
/// [`BatchInsert::flush`] is called.
pub fn case_inserts(db: Db<'_>) -> BatchInsert<'_> {
    BatchInsert::new(db, "cases", CASE_COLUMNS)
}

/// A keyed table an import upserts row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Pdu,
    Establishment,
    Practitioner,
    /// Keyed by (crn, kind, requested_on): a later file adds the return of a request.
    Enquiry,
    /// Keyed by (crn, kind, completed_on).
    Assessment,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Inserted,
    Updated,
    Unchanged,
}

/// Inserts a keyed row (`existed` false), or updates it when any value differs. `vals` binds
/// `?1..?n` in both statements, the key first, in the columns' order of `INSERT_*`.
///
/// Plain INSERT and UPDATE rather than `ON CONFLICT DO UPDATE`: an upsert makes SQLite copy
/// every page it touches into a statement journal, which made a million-row import ten times
/// slower.
pub fn upsert(db: Db<'_>, table: Upsert, existed: bool, vals: &[&dyn ToSql]) -> Result<Upserted> {
    let (insert, update) = match table {
        Upsert::Pdu => (INSERT_PDU, UPDATE_PDU_IF_CHANGED),
        Upsert::Establishment => (INSERT_ESTABLISHMENT, UPDATE_ESTABLISHMENT_IF_CHANGED),
        Upsert::Practitioner => (INSERT_PRACTITIONER, UPDATE_PRACTITIONER_IF_CHANGED),
        Upsert::Enquiry => (INSERT_ENQUIRY, UPDATE_ENQUIRY_IF_CHANGED),
        Upsert::Assessment => (INSERT_ASSESSMENT, UPDATE_ASSESSMENT_IF_CHANGED),
    };
    let conn = db.conn();
    if !existed {
        conn.prepare_cached(insert)?.execute(vals)?;
        return Ok(Upserted::Inserted);
    }
    Ok(match conn.prepare_cached(update)?.execute(vals)? {
        0 => Upserted::Unchanged,
        _ => Upserted::Updated,
    })
}

/// Updates a case from an import's values (in [`CASE_COLUMNS`]' order) when any differs.
/// An optional trailing column the file did not have (`given`) keeps the stored value,
/// whatever the value in its place.
pub fn update_case(
    db: Db<'_>,
    vals: &[&dyn ToSql],
    given: crate::domain::CaseColumnsGiven,
) -> Result<Upserted> {
    let mut all: Vec<&dyn ToSql> = Vec::with_capacity(vals.len() + 4);
    all.extend_from_slice(vals);
    all.push(&given.custody_kind);
    all.push(&given.ethnicity);
    all.push(&given.sex);
    all.push(&given.age_band);
    Ok(
        match db
            .conn()
            .prepare_cached(UPDATE_CASE_IF_CHANGED)?
            .execute(&all[..])?
        {
            0 => Upserted::Unchanged,
            _ => Upserted::Updated,
        },
    )
}

/// The triggers a bulk load sets aside, to put back (and make good) once before its commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetAside {
    /// The tallies' and the overview cache's, for cases, contacts and oversight: recounted
    /// by `store::tally` and put back by [`restore`].
    Tallies,
    /// The risk checks' on enquiries and assessments: every case's risk-check columns are
    /// recomputed by [`restore`].
    RiskChecks,
}

/// Opens an import's write transaction: the write lock first, so the references an import
/// reads cannot change under it. A bulk load drops the triggers it sets aside (`set_aside`)
/// inside the transaction, so a failure or a kill leaves them exactly as they were;
/// [`restore`] puts them back before the commit.
pub fn begin(store: &mut Store, set_aside: Option<SetAside>) -> Result<Tx<'_>> {
    // A large file touches most of the cases table and its indexes; the default 2 MB page
    // cache makes every lookup a read, and each upsert writes a statement journal, which
    // belongs in memory rather than a temporary file. Memory is only taken as it is used.
    large_load_cache(store.db())?;
    let tx = store.immediate()?;
    if let Some(set_aside) = set_aside {
        let conn = tx.db().conn();
        conn.execute_batch(match set_aside {
            SetAside::Tallies => crate::store::schema::BULK_TRIGGERS_DROP,
            SetAside::RiskChecks => crate::store::schema::RISK_TRIGGERS_DROP,
        })?;
        // A bulk load may change any case: the memos go, and the next nightly run judges
        // every case afresh.
        conn.execute_batch(crate::store::schema::RISK_MEMO_TRIGGERS_DROP)?;
    }
    Ok(tx)
}

/// Puts back what [`begin`] set aside: the tallies' triggers (the tallies themselves are
/// the caller's to write first), or the risk checks' after recomputing what they keep.
pub fn restore(db: Db<'_>, set_aside: SetAside) -> Result<()> {
    let conn = db.conn();
    match set_aside {
        SetAside::Tallies => conn.execute_batch(crate::store::schema::BULK_TRIGGERS_RESTORE)?,
        SetAside::RiskChecks => {
            conn.execute_batch(crate::store::schema::RISK_RECOMPUTE_ALL)?;
            conn.execute_batch(crate::store::schema::RISK_TRIGGERS)?;
        }
    }
    conn.execute_batch(crate::store::schema::RISK_MEMO_TRIGGERS)
}

/// A PDU, every column.
pub const INSERT_PDU: &str =
    "INSERT INTO pdus (code, name, region, ppf_status, rating, score, score_max, inspected_on)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// The same values as [`INSERT_PDU`]; changes nothing (0 rows) when nothing differs.
pub const UPDATE_PDU_IF_CHANGED: &str =
    "UPDATE pdus SET name = ?2, region = ?3, ppf_status = ?4, rating = ?5, score = ?6,
            score_max = ?7, inspected_on = ?8
      WHERE code = ?1
        AND (name, region, ppf_status, rating, score, score_max, inspected_on)
            IS NOT (?2, ?3, ?4, ?5, ?6, ?7, ?8)";

pub const INSERT_TEAM: &str = "INSERT INTO teams (code, pdu, name) VALUES (?1, ?2, ?3)";

pub const INSERT_ESTABLISHMENT: &str =
    "INSERT INTO establishment (pdu, grade, target_fte) VALUES (?1, ?2, ?3)";

pub const UPDATE_ESTABLISHMENT_IF_CHANGED: &str = "UPDATE establishment SET target_fte = ?3
      WHERE pdu = ?1 AND grade = ?2 AND target_fte IS NOT ?3";

/// A practitioner, every column.
pub const INSERT_PRACTITIONER: &str = "INSERT INTO practitioners
        (staff_code, name, grade, pdu, team, contracted_hours, start_date, status)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// The same values as [`INSERT_PRACTITIONER`]; 0 rows when nothing differs.
pub const UPDATE_PRACTITIONER_IF_CHANGED: &str =
    "UPDATE practitioners SET name = ?2, grade = ?3, pdu = ?4, team = ?5,
            contracted_hours = ?6, start_date = ?7, status = ?8
      WHERE staff_code = ?1
        AND (name, grade, pdu, team, contracted_hours, start_date, status)
            IS NOT (?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// The columns of a case as an extract carries them (the key first), for `BatchInsert`.
pub const CASE_COLUMNS: &str = "crn, name, pdu, team, tier, rosh, mappa_category, mappa_level, case_type, \
     sentence_date, release_date, allocated_to, allocated_on, unallocated_since, custody_kind, \
     ethnicity, sex, age_band";

/// The columns a generator writes: [`CASE_COLUMNS`] (custody kind included), then
/// `rosh_changed_on` and what the triggers keep (the last contact and oversight, and the
/// risk-check columns that `schema::RISK_TRIGGERS` recompute from the enquiries and
/// assessments), which it writes directly.
pub const CASE_COLUMNS_BUILT: &str = "crn, name, pdu, team, tier, rosh, mappa_category, mappa_level, case_type, \
     sentence_date, release_date, allocated_to, allocated_on, unallocated_since, \
     custody_kind, rosh_changed_on, last_contact, last_oversight, \
     da_first_requested, da_last_requested, da_last_returned, \
     cs_first_requested, cs_last_requested, cs_last_returned, \
     first_assessed, last_assessed, pre_release_assessed, ethnicity, sex, age_band";

/// The values of [`CASE_COLUMNS`] as `?1`..`?18`, and `?19`..`?22` true when the file gave
/// `custody_kind`, `ethnicity`, `sex`, `age_band` (`?15`..`?18`) at all; 0 rows when
/// nothing differs.
pub const UPDATE_CASE_IF_CHANGED: &str =
    "UPDATE cases SET name = ?2, pdu = ?3, team = ?4, tier = ?5, rosh = ?6,
            mappa_category = ?7, mappa_level = ?8, case_type = ?9,
            sentence_date = ?10, release_date = ?11, allocated_to = ?12,
            allocated_on = ?13, unallocated_since = ?14,
            custody_kind = CASE WHEN ?19 THEN ?15 ELSE custody_kind END,
            ethnicity = CASE WHEN ?20 THEN ?16 ELSE ethnicity END,
            sex = CASE WHEN ?21 THEN ?17 ELSE sex END,
            age_band = CASE WHEN ?22 THEN ?18 ELSE age_band END
      WHERE crn = ?1
        AND (name, pdu, team, tier, rosh, mappa_category, mappa_level, case_type,
             sentence_date, release_date, allocated_to, allocated_on,
             unallocated_since, custody_kind, ethnicity, sex, age_band)
            IS NOT (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                    CASE WHEN ?19 THEN ?15 ELSE custody_kind END,
                    CASE WHEN ?20 THEN ?16 ELSE ethnicity END,
                    CASE WHEN ?21 THEN ?17 ELSE sex END,
                    CASE WHEN ?22 THEN ?18 ELSE age_band END)";

/// An enquiry, every column (the key first: crn, kind, requested_on).
pub const INSERT_ENQUIRY: &str =
    "INSERT INTO enquiries (crn, kind, requested_on, returned_on, outcome)
     VALUES (?1, ?2, ?3, ?4, ?5)";

/// The same values as [`INSERT_ENQUIRY`]: the return of a request already stored; 0 rows
/// when nothing differs.
pub const UPDATE_ENQUIRY_IF_CHANGED: &str = "UPDATE enquiries SET returned_on = ?4, outcome = ?5
      WHERE crn = ?1 AND kind = ?2 AND requested_on = ?3
        AND (returned_on, outcome) IS NOT (?4, ?5)";

/// An assessment, every column (the key first: crn, kind, completed_on).
pub const INSERT_ASSESSMENT: &str =
    "INSERT INTO assessments (crn, kind, completed_on, rosh) VALUES (?1, ?2, ?3, ?4)";

/// The same values as [`INSERT_ASSESSMENT`]; 0 rows when nothing differs.
pub const UPDATE_ASSESSMENT_IF_CHANGED: &str = "UPDATE assessments SET rosh = ?4
      WHERE crn = ?1 AND kind = ?2 AND completed_on = ?3 AND rosh IS NOT ?4";

pub const CONTACT_COLUMNS: &str = "crn, date, kind, staff_code";

pub const OVERSIGHT_COLUMNS: &str = "crn, date, spo_staff_code, kind, note";

pub const ALLOCATION_COLUMNS: &str = "crn, staff_code, from_date, to_date, reason";

pub const ENQUIRY_COLUMNS: &str = "crn, kind, requested_on, returned_on, outcome";

pub const ASSESSMENT_COLUMNS: &str = "crn, kind, completed_on, rosh";

/// A table whose keys an import reads once, to tell new rows from updates and to check
/// references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyed {
    Pdus,
    /// `pdu grade`, one space between.
    Establishment,
    Practitioners,
    Cases,
    /// `crn kind requested_on`, one space between.
    Enquiries,
    /// `crn kind completed_on`, one space between.
    Assessments,
}

/// Every key of a table, read once: cheaper than a lookup per row.
pub fn keys<S: FromIterator<String>>(db: Db<'_>, table: Keyed) -> Result<S> {
    let conn = db.conn();
    let sql = match table {
        Keyed::Pdus => "SELECT code FROM pdus",
        Keyed::Establishment => "SELECT pdu || ' ' || grade FROM establishment",
        Keyed::Practitioners => "SELECT staff_code FROM practitioners",
        Keyed::Cases => "SELECT crn FROM cases",
        Keyed::Enquiries => "SELECT crn || ' ' || kind || ' ' || requested_on FROM enquiries",
        Keyed::Assessments => "SELECT crn || ' ' || kind || ' ' || completed_on FROM assessments",
    };
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// Whether a case with this CRN is stored (an import asks per row: the statement is cached).
pub fn case_exists(db: Db<'_>, crn: &str) -> Result<bool> {
    let conn = db.conn();
    conn.prepare_cached("SELECT 1 FROM cases WHERE crn = ?1")?
        .query_row([crn], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
}

/// One contact as an extract carries it (dates as stored text).
#[derive(Debug, Clone, Copy)]
pub struct ContactRow<'a> {
    pub crn: &'a str,
    pub date: &'a str,
    pub kind: &'a str,
    pub staff_code: Option<&'a str>,
}

/// Adds a contact unless the very same one is stored; `false` when it was (skipped).
pub fn insert_contact_once(db: Db<'_>, c: &ContactRow<'_>) -> Result<bool> {
    let conn = db.conn();
    let seen = conn
        .prepare_cached(
            "SELECT 1 FROM contacts WHERE crn = ?1 AND date = ?2 AND kind = ?3 AND staff_code IS ?4",
        )?
        .query_row(params![c.crn, c.date, c.kind, c.staff_code], |_| Ok(()))
        .optional()?
        .is_some();
    if seen {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO contacts (crn, date, kind, staff_code) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![c.crn, c.date, c.kind, c.staff_code])?;
    Ok(true)
}

/// One oversight record as an extract carries it (dates as stored text).
#[derive(Debug, Clone, Copy)]
pub struct OversightRow<'a> {
    pub crn: &'a str,
    pub date: &'a str,
    pub spo_staff_code: &'a str,
    pub kind: &'a str,
    pub note: &'a str,
}

/// Adds an oversight record unless the very same one is stored; `false` when it was.
pub fn insert_oversight_once(db: Db<'_>, o: &OversightRow<'_>) -> Result<bool> {
    let conn = db.conn();
    let seen = conn
        .prepare_cached(
            "SELECT 1 FROM oversight WHERE crn = ?1 AND date = ?2 AND spo_staff_code = ?3
               AND kind = ?4 AND note = ?5",
        )?
        .query_row(
            params![o.crn, o.date, o.spo_staff_code, o.kind, o.note],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if seen {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO oversight (crn, date, spo_staff_code, kind, note) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![o.crn, o.date, o.spo_staff_code, o.kind, o.note])?;
    Ok(true)
}

/// A table a bulk load writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkTable {
    Cases,
    Contacts,
    Oversight,
    Enquiries,
    Assessments,
}

impl BulkTable {
    pub fn name(self) -> &'static str {
        match self {
            BulkTable::Cases => "cases",
            BulkTable::Contacts => "contacts",
            BulkTable::Oversight => "oversight",
            BulkTable::Enquiries => "enquiries",
            BulkTable::Assessments => "assessments",
        }
    }

    /// The triggers a bulk load into this table sets aside.
    pub fn set_aside(self) -> SetAside {
        match self {
            BulkTable::Cases | BulkTable::Contacts | BulkTable::Oversight => SetAside::Tallies,
            BulkTable::Enquiries | BulkTable::Assessments => SetAside::RiskChecks,
        }
    }
}

/// The highest rowid of a table (0 when empty): rows above it are a load's own.
pub fn last_rowid(db: Db<'_>, table: BulkTable) -> Result<i64> {
    let conn = db.conn();
    conn.query_row(
        &format!("SELECT coalesce(max(rowid), 0) FROM {}", table.name()),
        [],
        |r| r.get(0),
    )
}

/// SQLite's foreign-key check of a table a bulk load wrote: the first parent table with
/// missing rows and how many rows point at it.
pub fn broken_reference(db: Db<'_>, table: BulkTable) -> Result<Option<(String, u64)>> {
    let conn = db.conn();
    let mut stmt = conn.prepare(&format!("PRAGMA foreign_key_check({})", table.name()))?;
    let mut parents = std::collections::BTreeMap::<String, u64>::new();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        *parents.entry(r.get::<_, String>(2)?).or_default() += 1;
    }
    Ok(parents.into_iter().next())
}

/// Turns SQLite's per-statement foreign-key and CHECK enforcement off for a bulk load whose
/// rows are checked before they are written and once again, whole, before the commit (see
/// `import`); `on` turns them back. Outside any transaction: the pragmas cannot change
/// inside one.
pub fn per_row_checks(db: Db<'_>, on: bool) -> Result<()> {
    let conn = db.conn();
    conn.execute_batch(if on {
        "PRAGMA foreign_keys = ON; PRAGMA ignore_check_constraints = OFF;"
    } else {
        "PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON;"
    })
}

/// A large load touches most of the cases table and its indexes: a 256 MB page cache (taken
/// only as used) and statement journals in memory.
pub fn large_load_cache(db: Db<'_>) -> Result<()> {
    let conn = db.conn();
    conn.execute_batch("PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;")
}
