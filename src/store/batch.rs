//! Bulk writes: many rows to one INSERT statement.
//!
//! SQLite sets up every statement afresh: the `IN` lists of CHECK constraints become small
//! temporary tables, cursors are opened on the table and each index, foreign-key counters
//! are checked. For a one-row INSERT that costs about as much as the row itself; for the
//! million-row loads of `import` and `demo` it was a fifth of the time.

use crate::store::Db;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{CachedStatement, Connection, ToSql};

/// One value held back: text and blobs live in the batch's arena, so that holding a row
/// allocates nothing.
#[derive(Clone, Copy)]
enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(usize, usize),
    Blob(usize, usize),
}

/// Rows held back and written [`BatchInsert::ROWS`] to a statement.
///
/// The statement is `INSERT OR FAIL`: a failing row leaves the rows before it in place
/// instead of undoing the statement, so SQLite keeps no statement journal. Callers write
/// inside a transaction that they roll back on any error, so nothing partial survives.
pub struct BatchInsert<'c> {
    conn: &'c Connection,
    /// `INSERT OR FAIL INTO table (columns) VALUES `
    head: String,
    /// `(?,?,…)` for one row.
    row: String,
    columns: usize,
    cells: Vec<Cell>,
    arena: Vec<u8>,
    /// The statement for a full batch, taken from the connection's statement cache once
    /// (and given back when the batch is dropped, for the next batch of the same shape).
    full: Option<CachedStatement<'c>>,
}

impl<'c> BatchInsert<'c> {
    /// Rows to a statement: 64 rows of 16 columns bind 1,024 parameters, well inside
    /// SQLite's limit of 32,766, and a larger batch saved nothing measurable.
    pub const ROWS: usize = 64;

    /// `columns` as written in the INSERT, comma-separated.
    pub fn new(db: Db<'c>, table: &str, columns: &str) -> BatchInsert<'c> {
        let conn = db.conn();
        let n = columns.split(',').count();
        BatchInsert {
            conn,
            head: format!("INSERT OR FAIL INTO {table} ({columns}) VALUES "),
            row: format!("({})", vec!["?"; n].join(",")),
            columns: n,
            cells: Vec::with_capacity(n * Self::ROWS),
            arena: Vec::new(),
            full: None,
        }
    }

    /// Adds one row: as many values as columns, in their order.
    pub fn push(&mut self, row: &[&dyn ToSql]) -> rusqlite::Result<()> {
        if row.len() != self.columns {
            return Err(rusqlite::Error::InvalidParameterCount(
                row.len(),
                self.columns,
            ));
        }
        for v in row {
            let out = v.to_sql()?;
            let value = match &out {
                ToSqlOutput::Borrowed(r) => *r,
                ToSqlOutput::Owned(v) => ValueRef::from(v),
                other => {
                    // Zero-filled blobs and the like: not used by casewatch's tables.
                    return Err(rusqlite::Error::ToSqlConversionFailure(
                        format!("unsupported value for a batch: {other:?}").into(),
                    ));
                }
            };
            let mut stash = |bytes: &[u8]| {
                let start = self.arena.len();
                self.arena.extend_from_slice(bytes);
                (start, self.arena.len())
            };
            let cell = match value {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(i) => Cell::Integer(i),
                ValueRef::Real(f) => Cell::Real(f),
                ValueRef::Text(t) => {
                    let (a, b) = stash(t);
                    Cell::Text(a, b)
                }
                ValueRef::Blob(t) => {
                    let (a, b) = stash(t);
                    Cell::Blob(a, b)
                }
            };
            self.cells.push(cell);
        }
        if self.cells.len() == self.columns * Self::ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the rows held back. Call it once at the end; dropping a batch with rows in it
    /// does not write them.
    pub fn flush(&mut self) -> rusqlite::Result<()> {
        let rows = self.cells.len() / self.columns;
        if rows == 0 {
            return Ok(());
        }
        let sql = || {
            let mut sql = String::with_capacity(self.head.len() + rows * (self.row.len() + 1));
            sql.push_str(&self.head);
            for i in 0..rows {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&self.row);
            }
            sql
        };
        let mut partial;
        let stmt = if rows == Self::ROWS {
            if self.full.is_none() {
                self.full = Some(self.conn.prepare_cached(&sql())?);
            }
            self.full.as_mut().expect("prepared just above")
        } else {
            partial = self.conn.prepare(&sql())?;
            &mut partial
        };
        for (i, cell) in self.cells.iter().enumerate() {
            let value = match *cell {
                Cell::Null => ValueRef::Null,
                Cell::Integer(n) => ValueRef::Integer(n),
                Cell::Real(f) => ValueRef::Real(f),
                // Bytes of a `&str` or `String` pushed above, so still UTF-8.
                Cell::Text(a, b) => ValueRef::Text(&self.arena[a..b]),
                Cell::Blob(a, b) => ValueRef::Blob(&self.arena[a..b]),
            };
            stmt.raw_bind_parameter(i + 1, ToSqlOutput::Borrowed(value))?;
        }
        self.cells.clear();
        self.arena.clear();
        stmt.raw_execute()?;
        Ok(())
    }
}

/// A table's own indexes (not those behind its UNIQUE and PRIMARY KEY constraints), dropped
/// for a load into the empty table and built again from the rows at the end: SQLite then
/// sorts each index once instead of inserting into it row by row, which costs less whatever
/// the rows' order (1M cases in the demo's order 3.2 → 2.7 s in the shell, shuffled
/// 5.9 → 4.1 s). Call it inside the load's transaction: a rollback puts them back as well.
#[must_use = "the indexes must be built again with `rebuild`"]
pub struct DeferredIndexes {
    table: String,
    /// Each index's `CREATE INDEX` as the schema holds it.
    sql: Vec<String>,
}

impl DeferredIndexes {
    pub fn drop_all(db: Db<'_>, table: &str) -> rusqlite::Result<DeferredIndexes> {
        let conn = db.conn();
        let indexes: Vec<(String, String)> = conn
            .prepare(
                "SELECT name, sql FROM sqlite_schema
                  WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name",
            )?
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (name, _) in &indexes {
            conn.execute_batch(&format!("DROP INDEX {}", super::quote_ident(name)))?;
        }
        Ok(DeferredIndexes {
            table: table.to_owned(),
            sql: indexes.into_iter().map(|(_, sql)| sql).collect(),
        })
    }

    /// Builds the indexes again, and the table's statistics with them (dropping an index
    /// drops its statistics; these are measured as `demo` measures them, so that the query
    /// planner sees an imported database as it sees a demo one).
    pub fn rebuild(self, db: Db<'_>) -> rusqlite::Result<()> {
        let conn = db.conn();
        for sql in &self.sql {
            conn.execute_batch(sql)?;
        }
        conn.execute_batch(&format!(
            "PRAGMA analysis_limit = 1000; ANALYZE {};",
            super::quote_ident(&self.table)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deferred_indexes_come_back_as_they_were_with_statistics() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a TEXT UNIQUE, b INTEGER, c INTEGER);
             CREATE INDEX t_b ON t(b DESC, a) WHERE c > 0;
             CREATE INDEX \"t c\" ON t(c);
             CREATE TABLE u (x); CREATE INDEX u_x ON u(x);",
        )
        .unwrap();
        let schema = |conn: &Connection| -> Vec<(String, Option<String>)> {
            conn.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' ORDER BY name")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let before = schema(&conn);
        let deferred = DeferredIndexes::drop_all(Db::new(&conn), "t").unwrap();
        // The unique key stays, to refuse a duplicate during the load; the other table's
        // index is not touched.
        let names: Vec<String> = schema(&conn).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["sqlite_autoindex_t_1", "u_x"]);
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
             INSERT INTO t SELECT 'k' || i, i % 7, i % 3 FROM n;",
        )
        .unwrap();
        deferred.rebuild(Db::new(&conn)).unwrap();
        assert_eq!(schema(&conn), before);
        let stats: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 't' AND stat LIKE '500 %'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stats, 2, "t c and the unique key, measured over 500 rows");
        assert_eq!(
            conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
                .unwrap(),
            "ok"
        );
    }

    #[test]
    fn every_row_is_written_once_across_full_batches_and_the_rest() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER NOT NULL, b TEXT, c REAL) STRICT")
            .unwrap();
        let mut batch = BatchInsert::new(Db::new(&conn), "t", "a, b, c");
        let n = 2 * BatchInsert::ROWS + 7;
        for i in 0..n {
            let b = (i % 3 != 0).then(|| format!("r{i}"));
            batch.push(&[&(i as i64), &b, &(i as f64 / 2.0)]).unwrap();
        }
        batch.flush().unwrap();
        batch.flush().unwrap(); // nothing left: writes nothing
        let (count, sum, nulls, last): (i64, i64, i64, String) = conn
            .query_row(
                "SELECT count(*), sum(a), sum(b IS NULL), max(b) FROM t",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        let n = n as i64;
        assert_eq!((count, sum), (n, n * (n - 1) / 2));
        assert_eq!(nulls, (n + 2) / 3);
        assert_eq!(last, "r98");
    }

    #[test]
    fn a_row_of_the_wrong_width_or_breaking_a_constraint_is_an_error() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER NOT NULL CHECK (a IN (1, 2, 3)))")
            .unwrap();
        let mut batch = BatchInsert::new(Db::new(&conn), "t", "a");
        assert!(batch.push(&[&1, &2]).is_err());
        batch.push(&[&1]).unwrap();
        batch.push(&[&9]).unwrap();
        assert!(batch.flush().is_err());
    }
}
