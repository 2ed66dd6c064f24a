//! A table's CHECK constraints, read from its own schema, and a search for rows that break
//! them.
//!
//! A bulk import writes with SQLite's CHECKs off (every row was validated before it was
//! written, and evaluating the CHECKs again took a sixth of a million-row load) and then
//! asks [`first_violation`] once, before its commit, whether any row breaks one. The
//! expressions come from `sqlite_master`, so they are never restated here and a migration
//! that adds a CHECK is covered without a change.

use crate::store::Db;
use rusqlite::OptionalExtension;

/// A row that breaks a CHECK constraint of its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rowid: i64,
    /// The constraint's expression as the schema writes it.
    pub check: String,
}

/// The expressions of `table`'s CHECK constraints (column and table constraints alike), in
/// the order the schema writes them. A table that does not exist has none.
pub fn clauses(db: Db<'_>, table: &str) -> rusqlite::Result<Vec<String>> {
    let conn = db.conn();
    let sql: Option<String> = conn
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .optional()?;
    Ok(sql.map(|s| check_expressions(&s)).unwrap_or_default())
}

/// The first row of `table` with a rowid above `after_rowid` that breaks one of its CHECK
/// constraints, and which one. (A CHECK is broken when its expression is false; NULL passes.)
pub fn first_violation(
    db: Db<'_>,
    table: &str,
    after_rowid: i64,
) -> rusqlite::Result<Option<Violation>> {
    let conn = db.conn();
    let checks = clauses(Db::new(conn), table)?;
    if checks.is_empty() {
        return Ok(None);
    }
    // `IS FALSE` is the CHECK's own test: NULL passes, and text counts as its number.
    let broken = |e: &str| format!("({e}) IS FALSE");
    let any = checks
        .iter()
        .map(|e| broken(e))
        .collect::<Vec<_>>()
        .join(" OR ");
    let table_q = super::quote_ident(table);
    let rowid: Option<i64> = conn
        .query_row(
            &format!("SELECT rowid FROM {table_q} WHERE rowid > ?1 AND ({any}) LIMIT 1"),
            [after_rowid],
            |r| r.get(0),
        )
        .optional()?;
    let Some(rowid) = rowid else {
        return Ok(None);
    };
    for check in &checks {
        let fails: bool = conn.query_row(
            &format!("SELECT {} FROM {table_q} WHERE rowid = ?1", broken(check)),
            [rowid],
            |r| r.get(0),
        )?;
        if fails {
            return Ok(Some(Violation {
                rowid,
                check: check.clone(),
            }));
        }
    }
    // Only an expression that answers differently when asked again gets here.
    Ok(Some(Violation {
        rowid,
        check: checks.join(" AND "),
    }))
}

/// The text inside each `CHECK ( ... )` of a `CREATE TABLE` statement. Strings, quoted
/// names and comments are skipped, so a `CHECK` or a parenthesis inside them is not taken
/// for one.
fn check_expressions(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if let Some(end) = skip_quoted_or_comment(b, i) {
            i = end;
        } else if is_word(b[i]) {
            let start = i;
            while i < b.len() && is_word(b[i]) {
                i += 1;
            }
            if sql[start..i].eq_ignore_ascii_case("check") {
                let open = skip_space(b, i);
                if b.get(open) == Some(&b'(') {
                    let close = matching_paren(b, open);
                    out.push(sql[open + 1..close].trim().to_string());
                    i = (close + 1).min(b.len());
                }
            }
        } else {
            i += 1;
        }
    }
    out
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// Where a string, quoted name or comment starting at `i` ends (one past it), if one does.
fn skip_quoted_or_comment(b: &[u8], i: usize) -> Option<usize> {
    match b[i] {
        // A doubled quote inside ends one string and starts the next: the same text.
        q @ (b'\'' | b'"' | b'`') => Some(past(b, i + 1, &[q])),
        b'[' => Some(past(b, i + 1, b"]")),
        _ => skip_comment(b, i),
    }
}

fn skip_comment(b: &[u8], i: usize) -> Option<usize> {
    match (b[i], b.get(i + 1)) {
        (b'-', Some(b'-')) => Some(past(b, i + 2, b"\n")),
        (b'/', Some(b'*')) => Some(past(b, i + 2, b"*/")),
        _ => None,
    }
}

/// One past the first `pat` at or after `from` (the end of the text if there is none).
fn past(b: &[u8], from: usize, pat: &[u8]) -> usize {
    b[from..]
        .windows(pat.len())
        .position(|w| w == pat)
        .map_or(b.len(), |p| from + p + pat.len())
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if let Some(end) = skip_comment(b, i) {
            i = end;
        } else {
            break;
        }
    }
    i
}

/// The index of the parenthesis closing the one at `open` (or the end of the text).
fn matching_paren(b: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        if let Some(end) = skip_quoted_or_comment(b, i) {
            i = end;
            continue;
        }
        match b[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn expressions_are_found_past_strings_names_and_comments() {
        let sql = r#"CREATE TABLE t (
            a TEXT CHECK (a IN ('(', ')', 'check (x)')),
            "check" INTEGER, -- a CHECK (in a comment) is not one
            [b)] INTEGER /* nor CHECK (here) */ check(
                "check" BETWEEN 0 AND 4),
            c TEXT,
            CONSTRAINT pair CHECK ((a IS NULL) = (c IS NULL))
        )"#;
        assert_eq!(
            check_expressions(sql),
            [
                "a IN ('(', ')', 'check (x)')",
                "\"check\" BETWEEN 0 AND 4",
                "(a IS NULL) = (c IS NULL)",
            ]
        );
        assert!(check_expressions("CREATE TABLE t (checked INTEGER, x_check TEXT)").is_empty());
    }

    #[test]
    fn every_check_of_the_cases_table_is_read_from_its_schema() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(
            &dir.path().join("c.db"),
            crate::store::OpenMode::CreateIfMissing,
        )
        .unwrap();
        let checks = clauses(Db::new(store.conn()), "cases").unwrap();
        assert_eq!(checks.len(), 9, "{checks:?}");
        assert!(checks[0].starts_with("rosh IN ("));
        assert!(checks[4].starts_with("custody_kind IN ("));
        assert!(checks[5].starts_with("ethnicity IN ("));
        assert_eq!(checks[8], "(allocated_to IS NULL) = (allocated_on IS NULL)");
        assert_eq!(clauses(Db::new(store.conn()), "contacts").unwrap().len(), 1);
        assert!(
            clauses(Db::new(store.conn()), "no_such_table")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn rows_written_past_the_checks_are_found_and_the_broken_check_named() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (
                a TEXT CHECK (a IN ('x', 'y')),
                n INTEGER CHECK (n BETWEEN 0 AND 4),
                m INTEGER,
                CHECK ((a IS NULL) = (m IS NULL))
             );
             INSERT INTO t VALUES ('x', 1, 1), (NULL, NULL, NULL), ('y', 4, 0);
             PRAGMA ignore_check_constraints = ON;",
        )
        .unwrap();
        assert_eq!(first_violation(Db::new(&conn), "t", 0).unwrap(), None);
        // Each CHECK broken on its own row, after a good one.
        for (row, broken) in [
            ("('z', 1, 1)", "a IN ('x', 'y')"),
            ("('x', 5, 1)", "n BETWEEN 0 AND 4"),
            ("('x', 1, NULL)", "(a IS NULL) = (m IS NULL)"),
        ] {
            conn.execute_batch(&format!("INSERT INTO t VALUES ('x', 2, 2), {row}"))
                .unwrap();
            let rowid = conn.last_insert_rowid();
            let v = first_violation(Db::new(&conn), "t", rowid - 2)
                .unwrap()
                .unwrap();
            assert_eq!(
                v,
                Violation {
                    rowid,
                    check: broken.into()
                }
            );
            // Rows before the bound are not looked at.
            assert_eq!(first_violation(Db::new(&conn), "t", rowid).unwrap(), None);
            conn.execute("DELETE FROM t WHERE rowid = ?1", [rowid])
                .unwrap();
        }
        assert_eq!(first_violation(Db::new(&conn), "t", 0).unwrap(), None);
    }

    #[test]
    fn a_row_is_reported_exactly_when_sqlite_itself_would_refuse_it() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (v ANY CHECK (v))")
            .unwrap();
        for v in [
            "'abc'", "'1'", "'0'", "' 2'", "'0.0'", "NULL", "0", "2", "-0.5", "x'00'",
        ] {
            conn.execute_batch("PRAGMA ignore_check_constraints = OFF")
                .unwrap();
            let refused = conn
                .execute_batch(&format!("INSERT INTO t VALUES ({v})"))
                .is_err();
            conn.execute_batch(&format!(
                "DELETE FROM t; PRAGMA ignore_check_constraints = ON; INSERT INTO t VALUES ({v});"
            ))
            .unwrap();
            let found = first_violation(Db::new(&conn), "t", 0).unwrap().is_some();
            assert_eq!(found, refused, "{v}");
            conn.execute_batch("DELETE FROM t").unwrap();
        }
    }
}
