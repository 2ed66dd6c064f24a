//! Imports on PostgreSQL: the checked rows of a file streamed by `COPY` into a temporary
//! table, then merged into their table by two set-based statements (an UPDATE of the rows
//! that differ, an INSERT of the new ones), all in one transaction with the audit row. The
//! statement triggers keep the tallies and the cases' columns as for any other write, and
//! row-level security decides what the login may write. A refused file, a dry run, or a
//! client killed half way leave the server exactly as it was.
//!
//! The schema owner's first load of cases, into an empty table, goes straight into `cases`
//! by `COPY` with its secondary indexes, foreign keys and triggers set aside and made again
//! once at the end, as SQLite's bulk path does (a million cases in about the time SQLite
//! takes, where the merge takes three times as long).

use std::io::Write;

use postgres::error::SqlState;
use rustc_hash::FxHashSet as HashSet;

use super::triage::PgTx;
use super::{PgError, PgStore, copy_field_text, reason};
use crate::store::tally::{self, Tallies};
use crate::store::triage::Triage;

/// A table an import writes to on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loaded {
    Pdus,
    Establishment,
    Practitioners,
    Cases,
    Contacts,
    Oversight,
    Enquiries,
    Assessments,
}

/// A column of a loaded table: its name, its PostgreSQL type, and whether it may be NULL.
type Col = (&'static str, &'static str, bool);

/// How a table is loaded: its columns (the key's first), how many make the key (0: rows are
/// appended once, an exact copy of a stored row skipped), and the optional columns a file may
/// leave out, each with the staged flag saying whether it gave them.
struct Spec {
    table: &'static str,
    cols: &'static [Col],
    key: usize,
    optional: &'static [(&'static str, &'static str)],
}

const T: &str = "text";
const D: &str = "date";

impl Loaded {
    fn spec(self) -> Spec {
        let (table, cols, key, optional): (_, &'static [Col], _, &'static [_]) = match self {
            Loaded::Pdus => (
                "pdus",
                &[
                    ("code", T, false),
                    ("name", T, false),
                    ("region", T, false),
                    ("ppf_status", T, true),
                    ("rating", T, true),
                    ("score", "integer", true),
                    ("score_max", "integer", true),
                    ("inspected_on", D, true),
                ],
                1,
                &[],
            ),
            Loaded::Establishment => (
                "establishment",
                &[
                    ("pdu", T, false),
                    ("grade", T, false),
                    ("target_fte", "float8", false),
                ],
                2,
                &[],
            ),
            Loaded::Practitioners => (
                "practitioners",
                &[
                    ("staff_code", T, false),
                    ("name", T, false),
                    ("grade", T, false),
                    ("pdu", T, false),
                    ("team", T, true),
                    ("contracted_hours", "float8", false),
                    ("start_date", D, false),
                    ("status", T, false),
                ],
                1,
                &[],
            ),
            Loaded::Cases => (
                "cases",
                &[
                    ("crn", T, false),
                    ("name", T, false),
                    ("pdu", T, false),
                    ("team", T, true),
                    ("tier", T, false),
                    ("rosh", T, true),
                    ("mappa_category", "integer", false),
                    ("mappa_level", "integer", false),
                    ("case_type", T, false),
                    ("sentence_date", D, false),
                    ("release_date", D, true),
                    ("allocated_to", T, true),
                    ("allocated_on", D, true),
                    ("unallocated_since", D, true),
                    ("custody_kind", T, true),
                    ("ethnicity", T, true),
                    ("sex", T, true),
                    ("age_band", T, true),
                ],
                1,
                &[
                    ("custody_kind", "given_custody_kind"),
                    ("ethnicity", "given_ethnicity"),
                    ("sex", "given_sex"),
                    ("age_band", "given_age_band"),
                ],
            ),
            Loaded::Contacts => (
                "contacts",
                &[
                    ("crn", T, false),
                    ("date", D, false),
                    ("kind", T, false),
                    ("staff_code", T, true),
                ],
                0,
                &[],
            ),
            Loaded::Oversight => (
                "oversight",
                &[
                    ("crn", T, false),
                    ("date", D, false),
                    ("spo_staff_code", T, false),
                    ("kind", T, false),
                    ("note", T, false),
                ],
                0,
                &[],
            ),
            Loaded::Enquiries => (
                "enquiries",
                &[
                    ("crn", T, false),
                    ("kind", T, false),
                    ("requested_on", D, false),
                    ("returned_on", D, true),
                    ("outcome", T, true),
                ],
                3,
                &[],
            ),
            Loaded::Assessments => (
                "assessments",
                &[
                    ("crn", T, false),
                    ("kind", T, false),
                    ("completed_on", D, false),
                    ("rosh", T, false),
                ],
                3,
                &[],
            ),
        };
        Spec {
            table,
            cols,
            key,
            optional,
        }
    }

    /// How many values a staged row carries: the table's columns, then one flag (`t` or `f`)
    /// per optional column, in the order of [`Loaded::columns`].
    pub fn width(self) -> usize {
        let s = self.spec();
        s.cols.len() + s.optional.len()
    }

    /// The staged columns, in order: the table's, then the flags of the optional ones.
    pub fn columns(self) -> Vec<&'static str> {
        let s = self.spec();
        s.cols
            .iter()
            .map(|c| c.0)
            .chain(s.optional.iter().map(|o| o.1))
            .collect()
    }
}

/// The staging table's name (temporary, dropped at the commit).
const STAGE: &str = "casewatch_stage";

/// A merge that meets a deadlock or a serialization failure is tried this many times.
const MERGE_ATTEMPTS: u32 = 5;

/// One import in progress: its transaction and the table it loads.
pub struct PgLoad<'s> {
    t: PgTx<'s>,
    loaded: Loaded,
    url: String,
    /// Set when the rows go straight into an empty `cases` table (see [`set_aside`]).
    bulk: Option<SetAside>,
    /// The tallies of the rows loaded by the bulk path, counted as they were read.
    tallies: Option<Tallies>,
}

/// What a first load of cases set aside, to be made again over the whole table.
struct SetAside {
    /// Secondary indexes: name, definition.
    indexes: Vec<(String, String)>,
    /// Foreign keys: name, definition.
    keys: Vec<(String, String)>,
}

/// What a merge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Merged {
    pub inserted: u64,
    pub updated: u64,
}

/// Why a load stopped.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Pg(#[from] PgError),
    /// Rows whose PDU the login may not write, by line: (line, PDU).
    #[error("rows for PDUs this login may not write")]
    Refused(Vec<(u64, String)>),
}

impl PgStore {
    /// Opens an import of `loaded`: a transaction, and an empty staging table in it.
    pub fn begin_load(&mut self, loaded: Loaded) -> Result<PgLoad<'_>, PgError> {
        let url = self.url.clone();
        let fail = |e: postgres::Error| PgError::server(&url, &e);
        let mut tx = self.client.transaction().map_err(fail)?;
        let bulk = if loaded == Loaded::Cases && bulk_ready(&mut tx).map_err(fail)? {
            Some(set_aside(&mut tx).map_err(fail)?)
        } else {
            let spec = loaded.spec();
            let cols: Vec<String> = spec
                .cols
                .iter()
                .map(|(c, t, _)| format!("{c} {t}"))
                .chain(spec.optional.iter().map(|(_, f)| format!("{f} boolean")))
                .collect();
            tx.batch_execute(&format!(
                "CREATE TEMP TABLE {STAGE} (line bigint NOT NULL, {}) ON COMMIT DROP",
                cols.join(", ")
            ))
            .map_err(fail)?;
            None
        };
        Ok(PgLoad {
            t: PgTx::new(tx),
            loaded,
            url,
            bulk,
            tallies: None,
        })
    }
}

/// Whether cases may be loaded by the bulk path: `cases` is empty and this login owns it (so
/// row-level security does not apply, and it may set the indexes aside). The table is then
/// locked against everyone until the commit, which a first load into an empty table can
/// afford; it is looked at again under the lock, as another import may have filled it
/// meanwhile.
fn bulk_ready(tx: &mut postgres::Transaction<'_>) -> Result<bool, postgres::Error> {
    let owner_and_empty: bool = tx
        .query_one(
            "SELECT NOT row_security_active('cases')
                    AND pg_has_role(current_user, c.relowner, 'USAGE')
                    AND NOT EXISTS (SELECT 1 FROM cases)
               FROM pg_class c WHERE c.oid = 'cases'::regclass",
            &[],
        )?
        .get(0);
    if !owner_and_empty {
        return Ok(false);
    }
    tx.batch_execute("LOCK TABLE cases IN ACCESS EXCLUSIVE MODE")?;
    Ok(tx
        .query_one("SELECT NOT EXISTS (SELECT 1 FROM cases)", &[])?
        .get(0))
}

/// Sets aside what makes a million single-row inserts slow, as SQLite's bulk path does: the
/// secondary indexes and foreign keys of `cases` (made again over the whole table: a sort and
/// one join instead of a million probes) and its statement triggers (what they keep is
/// counted once). The definitions come from the catalogue, so this follows the migrations.
/// It is all in the import's transaction: a failure or a kill leaves the table as it was.
fn set_aside(tx: &mut postgres::Transaction<'_>) -> Result<SetAside, postgres::Error> {
    let pairs = |rows: Vec<postgres::Row>| -> Vec<(String, String)> {
        rows.iter().map(|r| (r.get(0), r.get(1))).collect()
    };
    let indexes = pairs(tx.query(
        "SELECT format('%I', c.relname), pg_get_indexdef(i.indexrelid)
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = 'cases'::regclass
            AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
          ORDER BY 1",
        &[],
    )?);
    let keys = pairs(tx.query(
        "SELECT format('%I', conname), pg_get_constraintdef(oid) FROM pg_constraint
          WHERE conrelid = 'cases'::regclass AND contype = 'f' ORDER BY 1",
        &[],
    )?);
    let mut before = String::from("SET LOCAL maintenance_work_mem = '256MB';");
    for (name, _) in &indexes {
        before.push_str(&format!("DROP INDEX {name};"));
    }
    for (name, _) in &keys {
        before.push_str(&format!("ALTER TABLE cases DROP CONSTRAINT {name};"));
    }
    before.push_str("ALTER TABLE cases DISABLE TRIGGER USER;");
    tx.batch_execute(&before)?;
    Ok(SetAside { indexes, keys })
}

/// Which keys a load reads before its rows, to check them against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadKeys {
    Pdus,
    Practitioners,
    /// The CRNs of the cases the login may see.
    Cases,
}

impl<'s> PgLoad<'s> {
    fn fail(&self, e: postgres::Error) -> PgError {
        PgError::server(&self.url, &e)
    }

    /// The keys of `which` the login may see, read by `COPY` (a million CRNs in a fraction
    /// of a second).
    pub fn keys(&mut self, which: LoadKeys) -> Result<HashSet<String>, PgError> {
        let query = match which {
            LoadKeys::Pdus => "SELECT code FROM pdus",
            LoadKeys::Practitioners => "SELECT staff_code FROM practitioners",
            LoadKeys::Cases => "SELECT crn FROM cases",
        };
        let mut text = Vec::new();
        let url = self.url.clone();
        let mut reader = self
            .t
            .tx
            .copy_out(&format!("COPY ({query}) TO STDOUT"))
            .map_err(|e| PgError::server(&url, &e))?;
        std::io::Read::read_to_end(&mut reader, &mut text)
            .map_err(|e| PgError::stream(&url, &e))?;
        // Keys are codes and CRNs: no tab, newline or backslash to unescape.
        Ok(text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect())
    }

    /// Whether the rows go straight into an empty `cases` table (the bulk path), whose
    /// tallies the caller may count as it reads them (see [`PgLoad::counted`]).
    pub fn is_bulk(&self) -> bool {
        self.bulk.is_some()
    }

    /// The tallies of every row staged on the bulk path, counted by the caller: loaded as
    /// they are instead of counted again from the table.
    pub fn counted(&mut self, tallies: Tallies) {
        self.tallies = Some(tallies);
    }

    /// Starts streaming rows into the staging table (or, on the bulk path, into `cases`).
    pub fn stage(&mut self) -> Result<Stage<'_>, PgError> {
        let bulk = self.bulk.is_some();
        let copy = if bulk {
            let spec = self.loaded.spec();
            let list: Vec<&str> = spec.cols.iter().map(|c| c.0).collect();
            format!("COPY {} ({}) FROM STDIN", spec.table, list.join(", "))
        } else {
            format!(
                "COPY {STAGE} (line, {}) FROM STDIN",
                self.loaded.columns().join(", ")
            )
        };
        let url = self.url.clone();
        let writer = self
            .t
            .tx
            .copy_in(&copy)
            .map_err(|e| PgError::server(&url, &e))?;
        Ok(Stage {
            writer,
            width: self.loaded.width(),
            // The table's own columns only: no line, no flags of what the file gave (a
            // column left out of a new row is NULL either way).
            direct: bulk.then(|| self.loaded.spec().cols.len()),
            line: String::new(),
            url,
        })
    }

    /// The staged rows whose PDU the login may not write (row-level security would refuse
    /// them), by line; none for a login it does not apply to. Only cases carry a PDU that
    /// decides access: a case's records are checked by their CRN as they are read.
    fn refused(&mut self) -> Result<Vec<(u64, String)>, PgError> {
        if self.loaded != Loaded::Cases {
            return Ok(Vec::new());
        }
        let rows = self
            .t
            .tx
            .query(
                &format!(
                    "SELECT line, pdu FROM {STAGE}
                      WHERE row_security_active('cases')
                        AND pdu NOT IN (SELECT code FROM pdus WHERE casewatch_may_see(code))
                      ORDER BY line"
                ),
                &[],
            )
            .map_err(|e| self.fail(e))?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
            .collect())
    }

    /// Merges the staged rows into their table: changed rows updated, new rows inserted,
    /// exact copies of stored contacts and oversight skipped. The table is locked against
    /// other writers for the merge (they wait, a second or so at a million rows), and a
    /// deadlock or serialization failure is tried again from the staged rows.
    pub fn merge(&mut self) -> Result<Merged, LoadError> {
        if let Some(aside) = self.bulk.take() {
            return Ok(self.make_again(aside)?);
        }
        let refused = self.refused()?;
        if !refused.is_empty() {
            return Err(LoadError::Refused(refused));
        }
        let statements = merge_statements(self.loaded);
        let table = self.loaded.spec().table;
        // Statistics for the planner: the staged rows may be a handful or a million.
        self.t
            .tx
            .batch_execute(&format!("ANALYZE {STAGE}"))
            .map_err(|e| self.fail(e))?;
        let mut attempt = 1;
        loop {
            let mut sp = self
                .t
                .tx
                .savepoint("merge")
                .map_err(|e| PgError::server(&self.url, &e))?;
            let result = (|| -> Result<Merged, postgres::Error> {
                sp.batch_execute(&format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))?;
                let mut merged = Merged::default();
                if let Some(update) = &statements.update {
                    merged.updated = sp.execute(update.as_str(), &[])?;
                }
                merged.inserted = sp.execute(statements.insert.as_str(), &[])?;
                Ok(merged)
            })();
            match result {
                Ok(merged) => {
                    sp.commit().map_err(|e| PgError::server(&self.url, &e))?;
                    return Ok(merged);
                }
                Err(e) if is_retryable(&e) && attempt < MERGE_ATTEMPTS => {
                    drop(sp);
                    std::thread::sleep(std::time::Duration::from_millis(20 * u64::from(attempt)));
                    attempt += 1;
                }
                Err(e) => {
                    return Err(PgError::Server {
                        url: self.url.clone(),
                        reason: merge_reason(&e),
                    }
                    .into());
                }
            }
        }
    }

    /// Ends a bulk load: the indexes, keys and triggers set aside made again over the whole
    /// table, the tallies loaded as counted by the caller (or else counted again from the
    /// table, `casewatch_tally_rebuild`), each PDU's screens told once, and the table's
    /// statistics taken for the planner.
    fn make_again(&mut self, aside: SetAside) -> Result<Merged, PgError> {
        let url = self.url.clone();
        let fail = |e: postgres::Error| PgError::Server {
            url: url.clone(),
            reason: merge_reason(&e),
        };
        // One statement at a time, so that the server's log times each.
        let after = aside
            .indexes
            .into_iter()
            .map(|(_, def)| def)
            .chain(
                aside
                    .keys
                    .into_iter()
                    .map(|(name, def)| format!("ALTER TABLE cases ADD CONSTRAINT {name} {def}")),
            )
            .chain(std::iter::once(
                "ALTER TABLE cases ENABLE TRIGGER USER".to_string(),
            ));
        for statement in after {
            self.t.tx.batch_execute(&statement).map_err(fail)?;
        }
        match self.tallies.take() {
            Some(t) => self.load_tallies(&t)?,
            None => self
                .t
                .tx
                .batch_execute("SELECT casewatch_tally_rebuild()")
                .map_err(fail)?,
        }
        for statement in [
            "SELECT pg_notify('casewatch', pdu) FROM (SELECT DISTINCT pdu FROM cases) p",
            super::LOG_WHOLE_PDUS,
            "ANALYZE cases",
        ] {
            self.t.tx.batch_execute(statement).map_err(fail)?;
        }
        let inserted: i64 = self
            .t
            .tx
            .query_one("SELECT count(*) FROM cases", &[])
            .map_err(fail)?
            .get(0);
        Ok(Merged {
            inserted: inserted as u64,
            updated: 0,
        })
    }

    /// Replaces the tallies with `t` by `COPY`, their keys made once after the rows.
    fn load_tallies(&mut self, t: &Tallies) -> Result<(), PgError> {
        let url = self.url.clone();
        let fail = |e: postgres::Error| PgError::server(&url, &e);
        self.t
            .tx
            .batch_execute("SELECT casewatch_tally_clear()")
            .map_err(fail)?;
        for (i, (table, columns)) in tally::TABLES.iter().enumerate() {
            let mut writer = self
                .t
                .tx
                .copy_in(&format!("COPY {table} ({columns}) FROM STDIN"))
                .map_err(fail)?;
            let mut text = String::new();
            let mut written = Ok(());
            t.each_row(i, |values| {
                for (j, v) in values.iter().enumerate() {
                    if j > 0 {
                        text.push('\t');
                    }
                    copy_field_text(&mut text, Some(v));
                }
                text.push('\n');
                if text.len() > 1 << 16 && written.is_ok() {
                    written = writer.write_all(text.as_bytes());
                    text.clear();
                }
            });
            written
                .and_then(|()| writer.write_all(text.as_bytes()))
                .map_err(|e| PgError::stream(&url, &e))?;
            writer.finish().map_err(fail)?;
        }
        self.t
            .tx
            .batch_execute("SELECT casewatch_tally_keys_again()")
            .map_err(fail)
    }

    /// The transaction, for the audit row that goes in with the rows it describes.
    pub fn triage(&mut self) -> &mut dyn Triage {
        &mut self.t
    }

    pub fn commit(self) -> Result<(), PgError> {
        let url = self.url;
        self.t.tx.commit().map_err(|e| PgError::server(&url, &e))
    }

    pub fn rollback(self) -> Result<(), PgError> {
        let url = self.url;
        self.t.tx.rollback().map_err(|e| PgError::server(&url, &e))
    }
}

fn is_retryable(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

/// A merge's error in words: a new case whose CRN is already held, out of the login's sight,
/// is said without naming it (the login may not know of that case).
fn merge_reason(e: &postgres::Error) -> String {
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => {
            "a row of the file is new to this login but already held on the server, in a PDU \
             it may not see (or written by another import at the same moment); nothing was \
             imported"
                .to_string()
        }
        _ => reason(e),
    }
}

/// The statements merging the staging table into its table.
struct MergeStatements {
    update: Option<String>,
    insert: String,
}

fn merge_statements(loaded: Loaded) -> MergeStatements {
    let spec = loaded.spec();
    let table = spec.table;
    let names: Vec<&str> = spec.cols.iter().map(|c| c.0).collect();
    let list = names.join(", ");
    let matches = |cols: &[Col]| -> String {
        cols.iter()
            .map(|(c, _, nullable)| {
                if *nullable {
                    format!("t.{c} IS NOT DISTINCT FROM s.{c}")
                } else {
                    format!("t.{c} = s.{c}")
                }
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let s_list: Vec<String> = names.iter().map(|c| format!("s.{c}")).collect();
    if spec.key == 0 {
        // Appended once: a row equal to one stored (or to an earlier one of the file) is
        // skipped; the rest go in in the file's order.
        return MergeStatements {
            update: None,
            insert: format!(
                "INSERT INTO {table} ({list})
                 SELECT {s} FROM {STAGE} s
                  WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {m})
                  GROUP BY {s} ORDER BY min(s.line)",
                s = s_list.join(", "),
                m = matches(spec.cols),
            ),
        };
    }
    let (key, rest) = spec.cols.split_at(spec.key);
    // An optional column the row did not give keeps the stored value.
    let value = |c: &str| match spec.optional.iter().find(|o| o.0 == c) {
        Some((_, flag)) => format!("CASE WHEN s.{flag} THEN s.{c} ELSE t.{c} END"),
        None => format!("s.{c}"),
    };
    let set: Vec<String> = rest
        .iter()
        .map(|(c, ..)| format!("{c} = {}", value(c)))
        .collect();
    let old: Vec<String> = rest.iter().map(|(c, ..)| format!("t.{c}")).collect();
    let new: Vec<String> = rest.iter().map(|(c, ..)| value(c)).collect();
    MergeStatements {
        update: Some(format!(
            "UPDATE {table} t SET {set} FROM {STAGE} s
              WHERE {k} AND ({old}) IS DISTINCT FROM ({new})",
            set = set.join(", "),
            k = matches(key),
            old = old.join(", "),
            new = new.join(", "),
        )),
        insert: format!(
            "INSERT INTO {table} ({list})
             SELECT {s} FROM {STAGE} s
              WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {k})
              ORDER BY s.line",
            s = s_list.join(", "),
            k = matches(key),
        ),
    }
}

/// Rows on their way into the staging table (COPY's text format).
pub struct Stage<'a> {
    writer: postgres::CopyInWriter<'a>,
    width: usize,
    /// Straight into the table: only its first this many values, and no line number.
    direct: Option<usize>,
    line: String,
    url: String,
}

impl Stage<'_> {
    /// Stages one row of the file's line `line`: its values in the order of
    /// [`Loaded::columns`], `None` for NULL.
    pub fn row(&mut self, line: u64, values: &[Option<&str>]) -> Result<(), PgError> {
        debug_assert_eq!(values.len(), self.width, "a staged row has every column");
        self.line.clear();
        let values = match self.direct {
            Some(n) => &values[..n],
            None => {
                self.line.push_str(&line.to_string());
                self.line.push('\t');
                values
            }
        };
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.line.push('\t');
            }
            copy_field_text(&mut self.line, *v);
        }
        self.line.push('\n');
        self.writer
            .write_all(self.line.as_bytes())
            .map_err(|e| PgError::stream(&self.url, &e))
    }

    /// Ends the stream; the number of rows staged.
    pub fn finish(self) -> Result<u64, PgError> {
        let url = self.url;
        self.writer.finish().map_err(|e| PgError::server(&url, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyed_merge_updates_what_differs_and_keeps_what_the_file_left_out() {
        let m = merge_statements(Loaded::Cases);
        let update = m.update.unwrap();
        assert!(update.contains("custody_kind = CASE WHEN s.given_custody_kind THEN s.custody_kind ELSE t.custody_kind END"), "{update}");
        assert!(
            update.contains("WHERE t.crn = s.crn AND (t.name"),
            "{update}"
        );
        assert!(
            m.insert
                .contains("WHERE NOT EXISTS (SELECT 1 FROM cases t WHERE t.crn = s.crn)")
        );
        assert_eq!(Loaded::Cases.width(), 22);
        assert_eq!(Loaded::Cases.columns()[18], "given_custody_kind");
    }

    #[test]
    fn an_appended_table_skips_exact_copies_with_nulls_equal() {
        let m = merge_statements(Loaded::Contacts);
        assert!(m.update.is_none());
        assert!(
            m.insert
                .contains("t.staff_code IS NOT DISTINCT FROM s.staff_code")
        );
        assert!(m.insert.contains("t.crn = s.crn"));
        assert!(
            m.insert
                .contains("GROUP BY s.crn, s.date, s.kind, s.staff_code")
        );
    }
}
