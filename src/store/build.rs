//! The statements around building a database file from nothing (the demo generator): the
//! settings of a private, one-writer build, stamping the schema, and telling what people
//! wrote into a file from what a generator did.

use rusqlite::{Connection, Result};

use super::{APPLICATION_ID, SCHEMA_VERSION};

/// A build writes a new private file that nobody else reads until it is renamed into place:
/// no journal, no syncs, one lock; the rows are checked once at the end, not per statement.
pub fn fast_private_build(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE;
         PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;
         PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON;",
    )
}

/// Marks the file as casewatch's, at this binary's schema version.
pub fn stamp(conn: &Connection) -> Result<()> {
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
    ))
}

/// Statistics for the query planner, sampled.
pub fn analyze(conn: &Connection) -> Result<()> {
    conn.execute_batch("PRAGMA analysis_limit = 1000; ANALYZE;")
}

/// Leaves the build's settings for the file's working ones (readers beside one writer).
pub fn into_service(conn: &Connection) -> Result<()> {
    conn.execute_batch("PRAGMA journal_mode = WAL;")
}

/// The file's application id (casewatch's is [`APPLICATION_ID`]).
pub fn application_id(conn: &Connection) -> Result<i32> {
    conn.query_row("PRAGMA application_id", [], |r| r.get(0))
}

/// The id of the latest recorded run, if any.
pub fn last_run_id(conn: &Connection) -> Result<Option<i64>> {
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
pub fn user_writes(
    conn: &Connection,
    generator: &str,
    generated_through: i64,
) -> Result<UserWrites> {
    let count = |table: &str, sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<u64> {
        if !has_table(conn, table)? {
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
pub fn has_table(conn: &Connection, table: &str) -> Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
        [table],
        |r| r.get(0),
    )
}
