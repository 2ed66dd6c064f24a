//! The SQLite store: opening and checking the file, migrations, and the read models every
//! screen, alert and report uses.

pub mod batch;
pub mod build;
pub mod checks;
pub mod load;
pub mod maintenance;
pub mod memo;
pub mod pg;
pub mod read;
pub mod runs;
pub mod schema;
pub mod tally;
pub mod triage;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};

pub use schema::{APPLICATION_ID, SCHEMA_VERSION};

/// `name` as an SQL identifier, quoted.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// How long a statement waits for another process's write lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no database at {0} (create one with `casewatch demo --db PATH` or `casewatch init --db PATH`)"
    )]
    Missing(PathBuf),
    #[error("{0} is not a SQLite database or is corrupt ({1})")]
    NotADatabase(PathBuf, String),
    #[error("{0} is a SQLite database but not a casewatch one; refusing to touch it")]
    NotCasewatch(PathBuf),
    #[error("{0} is a directory, not a database file")]
    Directory(PathBuf),
    #[error("{0} is not a regular file (a device, pipe or socket), not a database file")]
    NotAFile(PathBuf),
    #[error("{0} is empty (0 bytes): not a casewatch database; remove it or give another --db")]
    Empty(PathBuf),
    #[error("cannot read {0}: {1}")]
    Unreadable(PathBuf, std::io::Error),
    #[error(
        "{path} has schema version {found}, newer than this casewatch knows ({supported}); upgrade casewatch. The file was not modified"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{0} is locked by another process and stayed locked for {1:?}; try again")]
    Locked(PathBuf, Duration),
    #[error("cannot create {0}: {1}")]
    Create(PathBuf, std::io::Error),
    #[error("{0} already exists: give a new file (an existing one is never overwritten)")]
    Exists(PathBuf),
    #[error("database error in {0}: {1}")]
    Sqlite(PathBuf, rusqlite::Error),
}

/// The open database as every module outside `store` sees it: a handle to pass to the
/// store's typed queries and writes, never a connection. Only `store` can reach the SQLite
/// connection behind it, which keeps every SQL statement here and makes this the seam a
/// second backend implements (see ARCHITECTURE.md).
#[derive(Clone, Copy)]
pub struct Db<'c> {
    conn: &'c Connection,
}

impl<'c> Db<'c> {
    pub(in crate::store) fn new(conn: &'c Connection) -> Db<'c> {
        Db { conn }
    }
    pub(in crate::store) fn conn(self) -> &'c Connection {
        self.conn
    }
    /// The connection, for unit tests that set up or inspect rows with SQL of their own.
    #[cfg(test)]
    pub(crate) fn sql(self) -> &'c Connection {
        self.conn
    }
}

impl Db<'_> {
    /// SQLite's `PRAGMA data_version`: it differs between two readings on this connection
    /// when another connection has committed in between.
    pub fn data_version(self) -> rusqlite::Result<i64> {
        self.conn.query_row("PRAGMA data_version", [], |r| r.get(0))
    }

    /// A read-only connection of its own to the same file, for a read on another thread
    /// alongside this one's work; `None` for an in-memory database or when it cannot be had.
    pub fn second_reader(self) -> Option<Reader> {
        let path = self.conn.path().filter(|p| !p.is_empty())?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ok()?;
        // A reader of a WAL database does not wait for writers; it is only ever busy behind
        // an exclusive lock (the demo build's), and then the caller reads on its own
        // connection.
        conn.busy_timeout(Duration::from_millis(50)).ok()?;
        Some(Reader { conn })
    }

    /// Leaves this connection's commits to return without copying the write-ahead log into
    /// the file (SQLite's automatic checkpoint). A nightly run writes tens of megabytes in one
    /// commit: [`Db::checkpointer`] copies them on another thread while the report is
    /// written, and closing the connection copies what is left.
    pub fn defer_checkpoints(self) -> rusqlite::Result<()> {
        self.conn.execute_batch("PRAGMA wal_autocheckpoint = 0")
    }

    /// A checkpoint of the write-ahead log into the file, to run on another thread on a
    /// connection of its own; `None` for an in-memory database. It copies what no reader
    /// still needs and never waits: what it cannot copy stays in the log, which stays valid.
    pub fn checkpointer(self) -> Option<impl FnOnce() + Send + 'static> {
        let path = self.conn.path().filter(|p| !p.is_empty())?.to_owned();
        Some(move || {
            if let Ok(conn) = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            ) {
                let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
            }
        })
    }
}

/// See [`Db::second_reader`].
pub struct Reader {
    conn: Connection,
}

impl Reader {
    pub fn db(&self) -> Db<'_> {
        Db::new(&self.conn)
    }
}

impl std::fmt::Debug for Db<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

/// A write transaction taken with SQLite's write lock up front (`BEGIN IMMEDIATE`), so a
/// check made inside it still holds when its write lands. Dropped without [`Tx::commit`], it
/// rolls back.
pub struct Tx<'c> {
    tx: rusqlite::Transaction<'c>,
}

impl Tx<'_> {
    pub fn db(&self) -> Db<'_> {
        Db::new(&self.tx)
    }
    pub fn commit(self) -> rusqlite::Result<()> {
        self.tx.commit()
    }
    pub fn rollback(self) -> rusqlite::Result<()> {
        self.tx.rollback()
    }
}

/// Whether opening may create a new, empty database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// The file must exist and be a casewatch database.
    Existing,
    /// Create an empty (schema-only) database if there is no file.
    CreateIfMissing,
}

/// An open casewatch database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    read_only: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Creates an empty file readable by its owner only: the data is about real people. Missing
/// parent directories are created for the owner only too (existing ones are left alone).
pub fn create_private_file(path: &Path) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(dir)
            .map_err(|e| StoreError::Create(dir.to_path_buf(), e))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .map(drop)
        .map_err(|e| StoreError::Create(path.to_path_buf(), e))
}

/// The 16 bytes every SQLite database file starts with.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// What [`inspect_file`] found at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// Nothing there (a new database may be created).
    Missing,
    /// A regular file with a SQLite header, and no application id other than casewatch's
    /// (an older or freshly created casewatch file may still have none).
    Sqlite,
}

/// Looks at `path` before SQLite does, reading at most its first 100 bytes and writing
/// nothing: a directory, a device or pipe, an empty (0-byte) file, a file that is not SQLite
/// at all (a text file, say) or a SQLite file stamped with another program's application id
/// is refused with a plain message naming it. SQLite itself would take a 0-byte file for an
/// empty database and write a schema into it, and says only "disk I/O error" of a directory.
pub fn inspect_file(path: &Path) -> Result<FileState, StoreError> {
    use std::io::Read;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Missing),
        Err(e) => return Err(StoreError::Unreadable(path.to_path_buf(), e)),
    };
    if meta.is_dir() {
        return Err(StoreError::Directory(path.to_path_buf()));
    }
    if !meta.is_file() {
        return Err(StoreError::NotAFile(path.to_path_buf()));
    }
    if meta.len() == 0 {
        return Err(StoreError::Empty(path.to_path_buf()));
    }
    let mut header = Vec::with_capacity(100);
    std::fs::File::open(path)
        .and_then(|f| f.take(100).read_to_end(&mut header))
        .map_err(|e| StoreError::Unreadable(path.to_path_buf(), e))?;
    if !header.starts_with(SQLITE_MAGIC) {
        return Err(StoreError::NotADatabase(
            path.to_path_buf(),
            "it does not start with the SQLite file header".into(),
        ));
    }
    // The application id is bytes 68-71, big-endian. Zero is checked again once SQLite has
    // the file (the tables tell a foreign file from a new one).
    if let Some(id) = header.get(68..72) {
        let id = i32::from_be_bytes([id[0], id[1], id[2], id[3]]);
        if id != 0 && id != APPLICATION_ID {
            return Err(StoreError::NotCasewatch(path.to_path_buf()));
        }
    }
    Ok(FileState::Sqlite)
}

/// Maps a SQLite error to the message a user should see.
pub fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
            StoreError::NotADatabase(path.to_path_buf(), e.to_string())
        }
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
            StoreError::Locked(path.to_path_buf(), BUSY_TIMEOUT)
        }
        _ => StoreError::Sqlite(path.to_path_buf(), e),
    }
}

impl Store {
    /// Opens `path`, checks it is a casewatch database this binary can read, and brings an
    /// older schema up to date. A newer schema or a foreign file is refused unmodified.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Store, StoreError> {
        if inspect_file(path)? == FileState::Missing {
            match mode {
                OpenMode::Existing => return Err(StoreError::Missing(path.to_path_buf())),
                OpenMode::CreateIfMissing => create_private_file(path)?,
            }
        }
        let rw = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let (conn, read_only) = match Connection::open_with_flags(path, rw) {
            Ok(c) => (c, false),
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::ReadOnly) || is_cant_open(&e) => {
                let ro = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let c = Connection::open_with_flags(path, ro).map_err(|e| classify(path, e))?;
                (c, true)
            }
            Err(e) => return Err(classify(path, e)),
        };
        // SQLite quietly opens a write-protected file read-only even when asked for
        // read-write: ask it what it did.
        let read_only = read_only
            || conn
                .is_readonly(rusqlite::MAIN_DB)
                .map_err(|e| classify(path, e))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            read_only,
        };
        store
            .conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| classify(path, e))?;
        store.check_and_migrate()?;
        Ok(store)
    }

    /// Reads the header fields without writing anything, then decides.
    fn check_and_migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |e| classify(&path, e);
        let app_id: i32 = self
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(err)?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        if is_foreign(&self.conn, app_id).map_err(err)? {
            return Err(StoreError::NotCasewatch(path));
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path,
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        self.conn
            .execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(err)?;
        if self.read_only {
            return Ok(());
        }
        self.conn
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(err)?;
        if version < SCHEMA_VERSION {
            migrate(&mut self.conn, version).map_err(err)?;
        }
        Ok(())
    }

    #[cfg(test)]
    pub(in crate::store) fn conn(&self) -> &Connection {
        &self.conn
    }
    pub fn db(&self) -> Db<'_> {
        Db::new(&self.conn)
    }
    /// Begins a write transaction (see [`Tx`]).
    pub fn immediate(&mut self) -> rusqlite::Result<Tx<'_>> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        Ok(Tx { tx })
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// How long a statement waits for another process's write lock ([`BUSY_TIMEOUT`] unless
    /// changed).
    pub fn busy_timeout(&self) -> rusqlite::Result<Duration> {
        let ms: i64 = self
            .conn
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
        Ok(Duration::from_millis(ms.max(0) as u64))
    }
    pub fn set_busy_timeout(&self, wait: Duration) -> rusqlite::Result<()> {
        self.conn.busy_timeout(wait)
    }
    /// A copy of this database in memory (references enforced), for work on a scratch copy.
    pub fn copy_in_memory(&self) -> rusqlite::Result<Store> {
        let mut conn = Connection::open_in_memory()?;
        rusqlite::backup::Backup::new(&self.conn, &mut conn)?.run_to_completion(
            i32::MAX,
            Duration::ZERO,
            None,
        )?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        Ok(Store {
            conn,
            path: PathBuf::from(":memory:"),
            read_only: false,
        })
    }
    /// This store, named as `name` in its messages (a working copy in memory is named by
    /// the server's URL, password hidden).
    pub fn named(mut self, name: &str) -> Store {
        self.path = PathBuf::from(name);
        self
    }

    /// Writes this database to a new file at `dest` (private to its owner), built beside it
    /// and renamed into place once whole: a failure or a kill leaves nothing under the name,
    /// and an existing file is never replaced.
    pub fn write_to_new(&self, dest: &Path) -> Result<(), StoreError> {
        if dest.exists() {
            return Err(StoreError::Exists(dest.to_path_buf()));
        }
        let tmp = beside(dest, "partial");
        let _ = std::fs::remove_file(&tmp);
        create_private_file(&tmp)?;
        let result = (|| {
            let mut out = Connection::open(&tmp).map_err(|e| classify(&tmp, e))?;
            rusqlite::backup::Backup::new(&self.conn, &mut out)
                .and_then(|b| b.run_to_completion(i32::MAX, Duration::ZERO, None))
                .map_err(|e| classify(&tmp, e))?;
            out.close().map_err(|(_, e)| classify(&tmp, e))?;
            if dest.exists() {
                return Err(StoreError::Exists(dest.to_path_buf()));
            }
            std::fs::rename(&tmp, dest).map_err(|e| StoreError::Create(dest.to_path_buf(), e))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
    /// Closes the file, reporting what SQLite could not finish (dropping it would not).
    pub fn close(self) -> Result<(), StoreError> {
        let path = self.path;
        self.conn.close().map_err(|(_, e)| classify(&path, e))
    }
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// A value from the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        meta(Db::new(&self.conn), key).map_err(|e| classify(&self.path, e))
    }

    /// Changes whenever another connection commits a write (cheap; for live refresh).
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| classify(&self.path, e))
    }
}

/// Whether an open SQLite file belongs to another program: stamped with another application
/// id, or with none but holding tables (a new casewatch file has neither).
pub(crate) fn is_foreign(conn: &Connection, app_id: i32) -> rusqlite::Result<bool> {
    if app_id == APPLICATION_ID {
        return Ok(false);
    }
    if app_id != 0 {
        return Ok(true);
    }
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table')",
        [],
        |r| r.get(0),
    )
}

fn is_cant_open(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::CannotOpen)
}

pub fn meta(db: Db<'_>, key: &str) -> rusqlite::Result<Option<String>> {
    let conn = db.conn();
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

pub fn set_meta(db: Db<'_>, key: &str, value: &str) -> rusqlite::Result<()> {
    let conn = db.conn();
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
    .map(drop)
}

/// A hidden file beside `path` for this process to write before it takes `path`'s place:
/// `.NAME.TAG-PID`.
pub fn beside(path: &Path, tag: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "copy.db".into());
    path.with_file_name(format!(".{name}.{tag}-{}", std::process::id()))
}

/// An empty casewatch database in memory (schema only, references enforced), for a dry run
/// with no file to run against.
pub fn empty_in_memory() -> rusqlite::Result<Store> {
    let mut conn = Connection::open_in_memory()?;
    migrate(&mut conn, 0)?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    Ok(Store {
        conn,
        path: PathBuf::from(":memory:"),
        read_only: false,
    })
}

/// Applies every migration after `from`, each in its own transaction together with the new
/// `user_version`, so a crash leaves the file at a whole version.
pub fn migrate(conn: &mut Connection, from: i64) -> rusqlite::Result<()> {
    for (i, batches) in schema::MIGRATIONS.iter().enumerate() {
        let to = i as i64 + 1;
        if to <= from {
            continue;
        }
        let tx = conn.transaction()?;
        for sql in batches.iter() {
            tx.execute_batch(sql)?;
        }
        if to == 1 {
            tx.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID};"))?;
            set_meta(Db::new(&tx), "origin", "empty")?;
        }
        if to == schema::TALLIES_VERSION {
            tally::rebuild(Db::new(&tx))?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {to};"))?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_gets_the_current_schema_and_owner_only_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/new.db");
        let s = Store::open(&p, OpenMode::CreateIfMissing).unwrap();
        let v: i64 = s
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        assert_eq!(s.meta("origin").unwrap().as_deref(), Some("empty"));
        let mode: String = s
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(m & 0o777, 0o600);
        }
    }

    #[test]
    fn a_deferred_checkpoint_leaves_the_commit_in_the_log_until_the_checkpointer_copies_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("night.db");
        let mut s = Store::open(&p, OpenMode::CreateIfMissing).unwrap();
        let file_size = || std::fs::metadata(&p).unwrap().len();
        s.db().defer_checkpoints().unwrap();
        let before = file_size();
        // About 2,000 pages in one commit: twice what SQLite's automatic checkpoint allows.
        let tx = s.immediate().unwrap();
        tx.db()
            .conn()
            .execute(
                "INSERT INTO meta (key, value) VALUES ('night', ?1)",
                ["x".repeat(8 << 20)],
            )
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(
            file_size(),
            before,
            "the commit copied its log into the file"
        );
        let checkpoint = s.db().checkpointer().unwrap();
        std::thread::spawn(checkpoint).join().unwrap();
        assert!(
            file_size() > before + (8 << 20),
            "{} {}",
            before,
            file_size()
        );
        // Read again through another connection: the value is whole.
        let other = Connection::open(&p).unwrap();
        let n: i64 = other
            .query_row(
                "SELECT length(value) FROM meta WHERE key = 'night'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 8 << 20);
        assert!(empty_in_memory().unwrap().db().checkpointer().is_none());
    }

    #[test]
    fn a_missing_file_is_not_created_when_it_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope.db");
        let e = Store::open(&p, OpenMode::Existing).unwrap_err();
        assert!(matches!(e, StoreError::Missing(_)));
        assert!(!p.exists());
    }

    #[test]
    fn a_newer_schema_is_refused_and_left_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new.db");
        drop(Store::open(&p, OpenMode::CreateIfMissing).unwrap());
        {
            let c = Connection::open(&p).unwrap();
            c.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA user_version = 99;")
                .unwrap();
        }
        let before = std::fs::read(&p).unwrap();
        let e = Store::open(&p, OpenMode::Existing).unwrap_err();
        assert!(
            matches!(e, StoreError::NewerSchema { found: 99, .. }),
            "{e}"
        );
        assert_eq!(std::fs::read(&p).unwrap(), before);
    }

    #[test]
    fn garbage_and_foreign_databases_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, vec![b'x'; 8192]).unwrap();
        let e = Store::open(&junk, OpenMode::Existing).unwrap_err();
        assert!(matches!(e, StoreError::NotADatabase(..)), "{e}");
        assert_eq!(std::fs::read(&junk).unwrap(), vec![b'x'; 8192]);

        let other = dir.path().join("other.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        let e = Store::open(&other, OpenMode::Existing).unwrap_err();
        assert!(matches!(e, StoreError::NotCasewatch(_)), "{e}");
    }

    #[test]
    fn an_empty_file_a_directory_and_a_text_file_are_refused_before_sqlite_sees_them() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.db");
        std::fs::File::create(&empty).unwrap();
        for mode in [OpenMode::Existing, OpenMode::CreateIfMissing] {
            let e = Store::open(&empty, mode).unwrap_err();
            assert!(matches!(e, StoreError::Empty(_)), "{e}");
            assert!(e.to_string().contains("empty.db is empty (0 bytes)"), "{e}");
        }
        assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
        assert!(!dir.path().join("empty.db-wal").exists());

        let e = Store::open(dir.path(), OpenMode::CreateIfMissing).unwrap_err();
        assert!(matches!(e, StoreError::Directory(_)), "{e}");
        assert!(
            e.to_string()
                .ends_with("is a directory, not a database file")
        );

        let text = dir.path().join("text.db");
        std::fs::write(&text, "hello\n").unwrap();
        let e = Store::open(&text, OpenMode::Existing).unwrap_err();
        assert!(matches!(e, StoreError::NotADatabase(..)), "{e}");

        // Another program's application id is read from the header, without opening it.
        let other = dir.path().join("other.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("PRAGMA application_id = 1234;")
            .unwrap();
        let e = Store::open(&other, OpenMode::Existing).unwrap_err();
        assert!(matches!(e, StoreError::NotCasewatch(_)), "{e}");
        assert_eq!(
            inspect_file(&dir.path().join("none.db")).unwrap(),
            FileState::Missing
        );
    }

    #[test]
    fn triggers_keep_last_contact_and_last_oversight() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("t.db"), OpenMode::CreateIfMissing).unwrap();
        s.conn()
            .execute_batch(
                "INSERT INTO pdus (code, name, region) VALUES ('P', 'P', 'R');
                 INSERT INTO cases (crn, name, pdu, tier, case_type, sentence_date, unallocated_since)
                   VALUES ('X000001', 'N', 'P', 'B2', 'COMMUNITY', '2026-01-01', '2026-01-01');
                 INSERT INTO contacts (crn, date, kind) VALUES ('X000001', '2026-02-01', 'video');
                 INSERT INTO contacts (crn, date, kind) VALUES ('X000001', '2026-01-15', 'video');
                 INSERT INTO oversight (crn, date, spo_staff_code, kind) VALUES ('X000001', '2026-02-03', 'S', 'other');",
            )
            .unwrap();
        let (c, o): (String, String) = s
            .conn()
            .query_row("SELECT last_contact, last_oversight FROM cases", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((c.as_str(), o.as_str()), ("2026-02-01", "2026-02-03"));
        s.conn()
            .execute("DELETE FROM contacts WHERE date = '2026-02-01'", [])
            .unwrap();
        let c: String = s
            .conn()
            .query_row("SELECT last_contact FROM cases", [], |r| r.get(0))
            .unwrap();
        assert_eq!(c, "2026-01-15");
    }
}
