//! Backups and health checks: `casewatch backup` and `casewatch check`.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::{
    APPLICATION_ID, Db, FileState, SCHEMA_VERSION, StoreError, classify, create_private_file,
    inspect_file,
};

/// Copies the live database to `dest` with SQLite's online backup, which gives a consistent
/// copy while other processes keep reading and writing. The copy is written beside `dest`
/// and renamed into place, readable by its owner only, and checked before it is kept.
pub fn backup(src: &Path, dest: &Path) -> Result<u64, StoreError> {
    if inspect_file(src)? == FileState::Missing {
        return Err(StoreError::Missing(src.to_path_buf()));
    }
    if dest.exists() {
        return Err(StoreError::Create(
            dest.to_path_buf(),
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "the file exists; choose a new name (backups never overwrite)",
            ),
        ));
    }
    let conn = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| classify(src, e))?;
    conn.busy_timeout(super::BUSY_TIMEOUT)
        .map_err(|e| classify(src, e))?;
    // A backup is of a casewatch database; another program's file is not copied as one.
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| classify(src, e))?;
    if super::is_foreign(&conn, app_id).map_err(|e| classify(src, e))? {
        return Err(StoreError::NotCasewatch(src.to_path_buf()));
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup.db".into());
    let tmp = dest.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    create_private_file(&tmp)?;
    let result = (|| {
        let mut out = Connection::open(&tmp).map_err(|e| classify(&tmp, e))?;
        {
            let b =
                rusqlite::backup::Backup::new(&conn, &mut out).map_err(|e| classify(&tmp, e))?;
            // Small steps with pauses let writers in while a large database is copied.
            b.run_to_completion(4096, Duration::from_millis(5), None)
                .map_err(|e| classify(src, e))?;
        }
        let ok: String = out
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| classify(&tmp, e))?;
        if ok != "ok" {
            return Err(StoreError::NotADatabase(tmp.clone(), ok));
        }
        let pages: i64 = out
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .map_err(|e| classify(&tmp, e))?;
        out.execute_batch("PRAGMA journal_mode = DELETE;")
            .map_err(|e| classify(&tmp, e))?;
        Ok(pages.max(0) as u64)
    })();
    match result {
        Ok(pages) => {
            std::fs::rename(&tmp, dest).map_err(|e| StoreError::Create(dest.to_path_buf(), e))?;
            Ok(pages)
        }
        Err(e) => {
            // A failed write (a full disk) can leave the copy's journal behind as well.
            for suffix in ["", "-journal", "-wal", "-shm"] {
                let mut side = tmp.as_os_str().to_owned();
                side.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(side));
            }
            Err(e)
        }
    }
}

/// What `casewatch check` found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub path: PathBuf,
    pub casewatch_file: bool,
    pub schema_version: i64,
    pub schema_supported: i64,
    pub integrity: Vec<String>,
    pub foreign_key_problems: u64,
    pub journal_mode: String,
}

impl CheckReport {
    pub fn healthy(&self) -> bool {
        self.casewatch_file
            && self.schema_version <= self.schema_supported
            && self.integrity == ["ok"]
            && self.foreign_key_problems == 0
    }
}

/// Runs the integrity, schema and reference checks, reading only.
pub fn check(path: &Path) -> Result<CheckReport, StoreError> {
    // A SQLite file of another program is reported ("casewatch file: NO"), not refused.
    match inspect_file(path) {
        Ok(FileState::Missing) => return Err(StoreError::Missing(path.to_path_buf())),
        Ok(FileState::Sqlite) | Err(StoreError::NotCasewatch(_)) => {}
        Err(e) => return Err(e),
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| classify(path, e))?;
    conn.busy_timeout(super::BUSY_TIMEOUT)
        .map_err(|e| classify(path, e))?;
    let err = |e| classify(path, e);
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(err)?;
    let schema_version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    let mut stmt = conn.prepare("PRAGMA integrity_check").map_err(err)?;
    let integrity = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(err)?
        .take(20)
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(err)?;
    let mut stmt = conn.prepare("PRAGMA foreign_key_check").map_err(err)?;
    let foreign_key_problems = stmt.query_map([], |_| Ok(())).map_err(err)?.count() as u64;
    let journal_mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(err)?;
    Ok(CheckReport {
        path: path.to_path_buf(),
        casewatch_file: app_id == APPLICATION_ID,
        schema_version,
        schema_supported: SCHEMA_VERSION,
        integrity,
        foreign_key_problems,
        journal_mode,
    })
}

/// Every table's rows, hashed in the order of all their columns, with the schema version: equal fingerprints
/// mean equal content, whatever SQLite did to the file's bytes.
pub fn fingerprint(db: Db<'_>) -> rusqlite::Result<Vec<(String, i64, u64)>> {
    let conn = db.conn();
    let mut tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
              ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    tables.push("PRAGMA user_version".into());
    tables
        .into_iter()
        .map(|t| {
            let sql = if t.starts_with("PRAGMA") {
                t.clone()
            } else {
                // Every column as the order: some tables have no rowid (WITHOUT ROWID).
                let n = conn
                    .prepare(&format!("SELECT * FROM \"{t}\""))?
                    .column_count();
                let order: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
                format!("SELECT * FROM \"{t}\" ORDER BY {}", order.join(", "))
            };
            let mut st = conn.prepare(&sql)?;
            let cols = st.column_count();
            let mut h = std::collections::hash_map::DefaultHasher::new();
            let mut n = 0i64;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                n += 1;
                for i in 0..cols {
                    format!("{:?}", r.get_ref(i)?).hash(&mut h);
                }
            }
            Ok((t, n, h.finish()))
        })
        .collect()
}

/// [`fingerprint`] of the file at `path`, whatever its schema. Opened read-write, so that
/// closing it checkpoints and removes the WAL and shared-memory files as the last
/// connection should (a read-only one would leave them behind, owned by whoever ran this).
pub fn fingerprint_file(path: &Path) -> Result<Vec<(String, i64, u64)>, StoreError> {
    let conn = Connection::open(path).map_err(|e| classify(path, e))?;
    fingerprint(Db::new(&conn)).map_err(|e| classify(path, e))
}

/// Rows in `table` (one of the schema's own tables).
pub fn rows(db: Db<'_>, table: &str) -> rusqlite::Result<i64> {
    db.conn().query_row(
        &format!("SELECT count(*) FROM {}", super::quote_ident(table)),
        [],
        |r| r.get(0),
    )
}

/// SQLite's `integrity_check` verdict ("ok" when sound) and the number of rows whose
/// reference points nowhere (`foreign_key_check`).
pub fn integrity(db: Db<'_>) -> rusqlite::Result<(String, i64)> {
    let conn = db.conn();
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    let dangling: i64 =
        conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?;
    Ok((ok, dangling))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OpenMode, Store};

    #[test]
    fn a_backup_is_a_checked_private_copy_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src.db");
        let s = Store::open(&src, OpenMode::CreateIfMissing).unwrap();
        s.conn()
            .execute(
                "INSERT INTO pdus (code, name, region) VALUES ('P', 'P', 'R')",
                [],
            )
            .unwrap();
        let dest = dir.path().join("copy.db");
        assert!(backup(&src, &dest).unwrap() > 0);
        let copy = Store::open(&dest, OpenMode::Existing).unwrap();
        let n: i64 = copy
            .conn()
            .query_row("SELECT count(*) FROM pdus", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(&dest).unwrap().permissions().mode();
            assert_eq!(m & 0o777, 0o600);
        }
        assert!(backup(&src, &dest).is_err());
        let report = check(&dest).unwrap();
        assert!(report.healthy(), "{report:?}");
    }

    #[test]
    fn check_reports_a_broken_reference() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.db");
        let s = Store::open(&p, OpenMode::CreateIfMissing).unwrap();
        s.conn()
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO teams (code, pdu, name) VALUES ('T', 'NOPE', 'T');",
            )
            .unwrap();
        let r = check(&p).unwrap();
        assert_eq!(r.foreign_key_problems, 1);
        assert!(!r.healthy());
    }
}
