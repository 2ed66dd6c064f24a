//! The statements around building a database file from nothing (the demo generator): the
//! settings of a private, one-writer build, stamping the schema, and telling what people
//! wrote into a file from what a generator did.

use std::path::Path;

use crate::store::{Db, Reader, Store, StoreError, classify, schema, tally};
use rusqlite::{Connection, Result};

use super::{APPLICATION_ID, SCHEMA_VERSION};

/// Opens a new, empty file (made private by the caller) to build a database in: no checks
/// and no migrations, since there is nothing in it yet.
pub fn open_new(path: &Path) -> std::result::Result<Store, StoreError> {
    let conn = Connection::open(path).map_err(|e| classify(path, e))?;
    Ok(Store {
        conn,
        path: path.to_path_buf(),
        read_only: false,
    })
}

/// Opens a file read-only to look at before replacing it, whatever schema it has.
pub fn open_to_inspect(path: &Path) -> Result<Reader> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(super::BUSY_TIMEOUT)?;
    Ok(Reader { conn })
}

/// The tables of a new file, without indexes or triggers (see [`index`]): version 1's and
/// the later ones a build writes rows to (`schema::BUILT_WITH_V1_TABLES`).
pub fn create_tables(db: Db<'_>) -> Result<()> {
    let conn = db.conn();
    conn.execute_batch(schema::V1_TABLES)?;
    for sql in schema::BUILT_WITH_V1_TABLES {
        conn.execute_batch(sql)?;
    }
    Ok(())
}

/// Indexes, triggers and tallies, built once over the written rows (faster than keeping
/// them up to date row by row).
pub fn index(db: Db<'_>) -> Result<()> {
    let conn = db.conn();
    conn.execute_batch(schema::V1_INDEXES)?;
    // Later migrations apply to the fresh file as they would to an old one, but for the
    // tables [`create_tables`] made already.
    for batches in &schema::MIGRATIONS[1..] {
        for sql in batches
            .iter()
            .filter(|sql| !schema::BUILT_WITH_V1_TABLES.contains(sql))
        {
            conn.execute_batch(sql)?;
        }
    }
    tally::rebuild(db)
}

/// The tables a build writes rows into, in the order it writes them.
pub const BUILT_TABLES: [&str; 10] = [
    "pdus",
    "teams",
    "establishment",
    "practitioners",
    "cases",
    "contacts",
    "oversight",
    "allocations",
    "enquiries",
    "assessments",
];

/// Rows written with SQLite's CHECKs off (see [`fast_private_build`]), checked once: the
/// first that breaks a check fails the build, naming its table, row and check.
pub fn check_rows(db: Db<'_>) -> Result<()> {
    for table in BUILT_TABLES {
        if let Some(v) = super::checks::first_violation(db, table, i64::MIN)? {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_CHECK),
                Some(format!(
                    "demo row {} of {table} breaks its check `{}`",
                    v.rowid, v.check
                )),
            ));
        }
    }
    Ok(())
}

/// A build writes a new private file that nobody else reads until it is renamed into place:
/// no journal, no syncs, one lock; the rows are checked once at the end, not per statement.
pub fn fast_private_build(db: Db<'_>) -> Result<()> {
    let conn = db.conn();
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE;
         PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;
         PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON;",
    )
}

/// Marks the file as casewatch's, at this binary's schema version.
pub fn stamp(db: Db<'_>) -> Result<()> {
    let conn = db.conn();
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
    ))
}

/// Statistics for the query planner, sampled.
pub fn analyze(db: Db<'_>) -> Result<()> {
    let conn = db.conn();
    conn.execute_batch("PRAGMA analysis_limit = 1000; ANALYZE;")
}

/// Leaves the build's settings for the file's working ones (readers beside one writer).
pub fn into_service(db: Db<'_>) -> Result<()> {
    let conn = db.conn();
    conn.execute_batch("PRAGMA journal_mode = WAL;")
}

/// The file's application id (casewatch's is [`APPLICATION_ID`]).
pub fn application_id(db: Db<'_>) -> Result<i32> {
    let conn = db.conn();
    conn.query_row("PRAGMA application_id", [], |r| r.get(0))
}

/// The id of the latest recorded run, if any.
pub fn last_run_id(db: Db<'_>) -> Result<Option<i64>> {
    let conn = db.conn();
    conn.query_row("SELECT max(id) FROM alert_runs", [], |r| r.get(0))
}

/// What people wrote into a casewatch database, as a rebuild would lose it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserWrites {
    pub audit: u64,
    pub acks: u64,
    /// Nightly runs not recorded by the demo generator.
    pub runs: u64,
}

/// Counts audit entries, acknowledgements and the nightly runs recorded after `generated
/// through` (a generator's last run id) or by another actor than `generator`. Tables an
/// older schema lacks count 0.
pub fn user_writes(db: Db<'_>, generator: &str, generated_through: i64) -> Result<UserWrites> {
    let conn = db.conn();
    let count = |table: &str, sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<u64> {
        if !has_table(Db::new(conn), table)? {
            return Ok(0);
        }
        conn.query_row(sql, p, |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
    };
    Ok(UserWrites {
        audit: count("audit", "SELECT count(*) FROM audit", &[])?,
        acks: count("alert_acks", "SELECT count(*) FROM alert_acks", &[])?,
        runs: count(
            "alert_runs",
            "SELECT count(*) FROM alert_runs WHERE actor <> ?1 OR id > ?2",
            &[&generator, &generated_through],
        )?,
    })
}

/// Whether the file has a table of this name (an older schema may lack one).
pub fn has_table(db: Db<'_>, table: &str) -> Result<bool> {
    let conn = db.conn();
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
        [table],
        |r| r.get(0),
    )
}
