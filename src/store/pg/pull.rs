//! A working copy of a PostgreSQL database in SQLite: every table `copy` moves, read in one
//! snapshot as the login may read it (row-level security decides which cases, records and
//! incidents arrive), with the server's overview tallies, which count the whole region.
//!
//! The screen and the read commands run on such a copy, so that every read model is the one
//! the SQLite file uses; writes go to the server (`TriageStore for PgStore`), and a
//! notification brings a fresh copy. `casewatch copy URL FILE` writes one to a file.

use postgres::IsolationLevel;
use postgres::fallible_iterator::FallibleIterator;
use rusqlite::types::Value;

use super::{COPIED, CopiedTable, CopyError, Kind, PG_SCHEMA_VERSION, PgError, PgStore, Sum};
use super::{TableCopy, canonical_sql, reason, sqlite_text};
use crate::store::Store;
use crate::store::load::{self, SetAside};

/// The overview tallies: the server's counts of every case, readable by every role, so that
/// the region's figures are the region's whatever cases the login may read.
const TALLIES: &[CopiedTable] = {
    use Kind::*;
    &[
        (
            "tally_pdu",
            &[
                ("pdu", Text),
                ("cases", Int),
                ("unallocated", Int),
                ("unallocated_mappa", Int),
                ("unallocated_high", Int),
                ("mappa", Int),
                ("no_rosh", Int),
            ],
            "pdu",
        ),
        (
            "tally_contact",
            &[
                ("pdu", Text),
                ("band", Text),
                ("custody", Bool),
                ("high", Bool),
                ("since", Date),
                ("n", Int),
            ],
            "pdu, band, custody, high, since",
        ),
        (
            "tally_oversight",
            &[
                ("pdu", Text),
                ("pending", Bool),
                ("high", Bool),
                ("since", Date),
                ("n", Int),
            ],
            "pdu, pending, high, since",
        ),
        (
            "tally_caseload",
            &[
                ("staff_code", Text),
                ("tier", Text),
                ("n", Int),
                ("high", Int),
            ],
            "staff_code, tier",
        ),
    ]
};

/// What a pull brought: each table's rows and checksums on both sides, and the PDUs whose
/// cases the login may read (the others' cases stayed on the server).
#[derive(Debug, Clone)]
pub struct Pulled {
    pub tables: Vec<TableCopy>,
    pub readable: Vec<String>,
}

/// A value of PostgreSQL's canonical text as SQLite stores it.
fn sqlite_value(v: Option<String>, kind: Kind) -> Value {
    let Some(v) = v else { return Value::Null };
    match kind {
        Kind::Int | Kind::Bool => v.parse().map_or(Value::Text(v), Value::Integer),
        Kind::Real => v.parse().map_or(Value::Text(v), Value::Real),
        Kind::Text | Kind::Date | Kind::Stamp => Value::Text(v),
    }
}

impl PgStore {
    /// Reads every table into `dest` (a new, empty casewatch database) in one snapshot, and
    /// compares each table's rows and checksum on both sides. Nothing is committed to
    /// `dest` unless every table matches.
    pub fn pull_into(&mut self, dest: &mut Store) -> Result<Pulled, CopyError> {
        let version = self.schema_version()?;
        if version != PG_SCHEMA_VERSION {
            return Err(CopyError::NotInitialised {
                url: self.url.clone(),
                found: version,
            });
        }
        let url = self.url.clone();
        let fail = |e: postgres::Error| {
            CopyError::Pg(PgError::Server {
                url: url.clone(),
                reason: reason(&e),
            })
        };
        let mut from = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(fail)?;
        let readable: Vec<String> = from
            .query(
                "SELECT code FROM pdus WHERE casewatch_may_see(code) ORDER BY code",
                &[],
            )
            .map_err(fail)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        // Asked once: a head reads every case, so no case is worth looking up by PDU.
        let head: bool = from
            .query_one("SELECT casewatch_is_head()", &[])
            .map_err(fail)?
            .get(0);
        // Compiling these scans costs more than running them.
        from.batch_execute("SET LOCAL jit = off").map_err(fail)?;
        // The tallies are the server's, written before the triggers that keep them return.
        let set_aside = SetAside::Tallies;
        let tx = load::begin(dest, Some(set_aside)).map_err(CopyError::Sqlite)?;
        let conn = tx.db().conn();
        conn.execute_batch("DELETE FROM meta; DELETE FROM tally_pdu; DELETE FROM tally_contact; DELETE FROM tally_oversight; DELETE FROM tally_caseload;")
            .map_err(CopyError::Sqlite)?;
        let mut tables = Vec::new();
        for &(table, cols, key) in COPIED.iter().chain(TALLIES) {
            let select: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(i, &(c, k))| format!("{} AS v{i}", canonical_sql(c, k)))
                .collect();
            let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
            let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
            let mut insert = conn
                .prepare(&format!(
                    "INSERT INTO {table} ({}) VALUES ({})",
                    names.join(", "),
                    marks.join(", ")
                ))
                .map_err(CopyError::Sqlite)?;
            // Row-level security would find the same rows; naming the PDUs lets the server
            // read them by index instead of judging every row of the region.
            let only = match table {
                _ if head => "",
                "cases" => "WHERE pdu = ANY($1)",
                "contacts" | "oversight" | "allocations" | "enquiries" | "assessments"
                | "notes" => "WHERE crn IN (SELECT crn FROM cases WHERE pdu = ANY($1))",
                _ => "",
            };
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> = if only.is_empty() {
                vec![]
            } else {
                vec![&readable]
            };
            let mut rows = from
                .query_raw(
                    &format!(
                        "SELECT {} FROM {table} {only} ORDER BY {key}",
                        select.join(", ")
                    ),
                    params,
                )
                .map_err(fail)?;
            let (mut n_from, mut sum_from) = (0u64, Sum::default());
            let mut values = Vec::with_capacity(cols.len());
            while let Some(r) = rows.next().map_err(fail)? {
                values.clear();
                for (i, &(_, kind)) in cols.iter().enumerate() {
                    let v: Option<String> = if kind == Kind::Real {
                        r.get::<_, Option<f64>>(i).map(|f| f.to_string())
                    } else {
                        r.get(i)
                    };
                    sum_from.add(v.as_deref());
                    values.push(sqlite_value(v, kind));
                }
                insert
                    .execute(rusqlite::params_from_iter(values.iter()))
                    .map_err(CopyError::Sqlite)?;
                n_from += 1;
            }
            drop(rows);
            let mut back = conn
                .prepare(&format!(
                    "SELECT {} FROM {table} ORDER BY {key}",
                    names.join(", ")
                ))
                .map_err(CopyError::Sqlite)?;
            let mut rows = back.query([]).map_err(CopyError::Sqlite)?;
            let (mut n_to, mut sum_to) = (0u64, Sum::default());
            while let Some(r) = rows.next().map_err(CopyError::Sqlite)? {
                for i in 0..cols.len() {
                    sum_to.add(sqlite_text(r.get_ref(i).map_err(CopyError::Sqlite)?).as_deref());
                }
                n_to += 1;
            }
            tables.push(TableCopy {
                table,
                rows_from: n_from,
                rows_to: n_to,
                sum_from: sum_from.0,
                sum_to: sum_to.0,
            });
        }
        from.commit().map_err(fail)?;
        load::restore(tx.db(), set_aside).map_err(CopyError::Sqlite)?;
        if tables.iter().all(TableCopy::matches) {
            tx.commit().map_err(CopyError::Sqlite)?;
            Ok(Pulled { tables, readable })
        } else {
            // Dropped without a commit: `dest` is as it was.
            Err(CopyError::Differs(tables))
        }
    }
}
