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
use super::{TableCopy, canonical_sql, copy_field, sqlite_text};
use crate::store::Db;
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

/// A server error of a copy, pull or catch-up, naming the server (password hidden).
fn fails_on(url: &str) -> impl Fn(postgres::Error) -> CopyError + Copy + '_ {
    move |e| CopyError::Pg(PgError::server(url, &e))
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
    /// One read-only snapshot of the server: every table read in it agrees with the others.
    fn snapshot(&mut self) -> Result<postgres::Transaction<'_>, postgres::Error> {
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        // Compiling these scans costs more than running them.
        tx.batch_execute("SET LOCAL jit = off")?;
        Ok(tx)
    }

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
        let fail = fails_on(&url);
        let mut from = self.snapshot().map_err(fail)?;
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
        // The tallies are the server's, written before the triggers that keep them return.
        let set_aside = SetAside::Tallies;
        let tx = load::begin(dest, Some(set_aside)).map_err(CopyError::Sqlite)?;
        let conn = tx.db().conn();
        // The cases arrive with their risk-check columns as the server keeps them: nothing to
        // work out again for every enquiry and assessment.
        conn.execute_batch(crate::store::schema::RISK_TRIGGERS_DROP)
            .map_err(CopyError::Sqlite)?;
        conn.execute_batch("DELETE FROM meta; DELETE FROM tally_pdu; DELETE FROM tally_contact; DELETE FROM tally_oversight; DELETE FROM tally_caseload;")
            .map_err(CopyError::Sqlite)?;
        let mut tables = Vec::new();
        for &(table, cols, key) in COPIED.iter().chain(TALLIES) {
            // Row-level security would find the same rows; naming the PDUs lets the server
            // read them by index instead of judging every row of the region.
            let only = if head { None } else { of_pdus(table) };
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> = match only {
                Some(_) => vec![&readable],
                None => vec![],
            };
            let (n_from, sum_from) = copy_rows(
                &mut from,
                conn,
                (table, cols, key),
                only.unwrap_or(""),
                params,
                &fail,
            )?;
            let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
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
        let mark = CopyMark::read(&mut from).map_err(fail)?;
        from.commit().map_err(fail)?;
        mark.write(conn).map_err(CopyError::Sqlite)?;
        conn.execute_batch(crate::store::schema::RISK_TRIGGERS)
            .map_err(CopyError::Sqlite)?;
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

/// Where a working copy stands against its server: which server, which login, and the
/// snapshot it was last read in. Kept in the copy's own table `working_copy`, which a file
/// database does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CopyMark {
    server: String,
    login: String,
    snapshot: String,
}

impl CopyMark {
    fn read(from: &mut postgres::Transaction<'_>) -> Result<CopyMark, postgres::Error> {
        let r = from.query_one(
            "SELECT (SELECT server_id FROM change_log), session_user::text,
                    pg_current_snapshot()::text",
            &[],
        )?;
        Ok(CopyMark {
            server: r.get(0),
            login: r.get(1),
            snapshot: r.get(2),
        })
    }

    fn write(&self, conn: &rusqlite::Connection) -> rusqlite::Result<()> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS working_copy (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        )?;
        for (k, v) in [
            ("server", &self.server),
            ("login", &self.login),
            ("snapshot", &self.snapshot),
        ] {
            conn.execute(
                "INSERT INTO working_copy (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [k, v.as_str()],
            )?;
        }
        Ok(())
    }

    /// Whether a database is a working copy of a server (marked, or once marked): a file
    /// made any other way is a database of its own.
    fn is_copy(conn: &rusqlite::Connection) -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'working_copy'",
            [],
            |r| r.get(0),
        )
    }

    /// The mark of a copy (`None`: not a working copy, or one made before the change log).
    fn of(conn: &rusqlite::Connection) -> rusqlite::Result<Option<CopyMark>> {
        if !Self::is_copy(conn)? {
            return Ok(None);
        }
        let get = |k: &str| -> rusqlite::Result<Option<String>> {
            use rusqlite::OptionalExtension;
            conn.query_row("SELECT value FROM working_copy WHERE key = ?1", [k], |r| {
                r.get(0)
            })
            .optional()
        };
        Ok(match (get("server")?, get("login")?, get("snapshot")?) {
            (Some(server), Some(login), Some(snapshot)) => Some(CopyMark {
                server,
                login,
                snapshot,
            }),
            _ => None,
        })
    }
}

/// Makes a kept working copy one that cannot be caught up: the next run reads it afresh.
/// (For a copy that no longer mirrors its server: a run recorded in it that the server
/// refused.)
pub fn forget_mark(dest: &Store) -> rusqlite::Result<()> {
    let conn = dest.db().conn();
    if CopyMark::of(conn)?.is_some() {
        conn.execute("DELETE FROM working_copy", [])?;
    }
    Ok(())
}

/// More changed cases than this in one PDU, and the PDU is read whole: one scan by PDU
/// costs less than thousands of lookups by CRN.
const WHOLE_PDU_FROM: usize = 2_000;

/// What a catch-up read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaughtUp {
    /// The PDUs whose cases or staffing changed (the login's or not: their tallies are the
    /// region's).
    pub pdus: Vec<String>,
    /// The changed cases read again (those the login may read).
    pub cases: usize,
}

impl PgStore {
    /// Brings a working copy made by [`PgStore::pull_into`] up to date from the server's
    /// change log: the cases changed since the copy's snapshot are read again (a PDU with
    /// thousands of them, or loaded whole, is read whole), with the changed PDUs' tallies,
    /// the staffing if it changed, and what names no PDU; in one snapshot of the server and
    /// one transaction of the copy. `Ok(None)`: the copy cannot be caught up (another server
    /// or login, made before the log, or older than the log reaches back), so read it afresh.
    pub fn catch_up(&mut self, dest: &mut Store) -> Result<Option<CaughtUp>, CopyError> {
        let url = self.url.clone();
        let fail = fails_on(&url);
        let sqlite = CopyError::Sqlite;
        let Some(before) = CopyMark::of(dest.db().conn()).map_err(sqlite)? else {
            return Ok(None);
        };
        if self.schema_version()? != PG_SCHEMA_VERSION {
            return Ok(None);
        }
        let mut from = self.snapshot().map_err(fail)?;
        let now = CopyMark::read(&mut from).map_err(fail)?;
        if now.server != before.server || now.login != before.login {
            return Ok(None);
        }
        let changes = from
            .query(
                "SELECT what, pdu, crn, casewatch_may_see(pdu)
                   FROM casewatch_changes_since($1::text::pg_snapshot)",
                &[&before.snapshot],
            )
            .map_err(fail)?;
        let mut by_pdu: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let (mut whole, mut staff) = (std::collections::BTreeSet::new(), false);
        for r in &changes {
            let what: &str = r.get(0);
            let pdu: Option<String> = r.get(1);
            let crn: Option<String> = r.get(2);
            let seen: Option<bool> = r.get(3);
            let Some(pdu) = pdu else {
                // 'all': the log no longer reaches back to the copy's snapshot.
                return Ok(None);
            };
            let crns = by_pdu.entry(pdu.clone()).or_default();
            match what {
                "staff" => staff = true,
                "pdu" if seen == Some(true) => {
                    whole.insert(pdu);
                }
                _ => crns.extend(crn),
            }
        }
        let mut crns = Vec::new();
        for (pdu, changed) in &by_pdu {
            if changed.len() > WHOLE_PDU_FROM {
                whole.insert(pdu.clone());
            } else if !whole.contains(pdu) {
                crns.extend(changed.iter().cloned());
            }
        }
        crns.sort();
        crns.dedup();
        let whole: Vec<String> = whole.into_iter().collect();
        let pdus: Vec<String> = by_pdu.into_keys().collect();
        let tx = dest.immediate().map_err(sqlite)?;
        let conn = tx.db().conn();
        // Staff rows go and come before the cases that name them: checked at the commit.
        conn.execute_batch("PRAGMA defer_foreign_keys = ON")
            .map_err(sqlite)?;
        conn.execute_batch(crate::store::schema::BULK_TRIGGERS_DROP)
            .map_err(sqlite)?;
        conn.execute_batch(crate::store::schema::RISK_TRIGGERS_DROP)
            .map_err(sqlite)?;
        if staff {
            for &(table, cols, key) in COPIED {
                if STAFF.contains(&table) {
                    conn.execute(&format!("DELETE FROM {table}"), [])
                        .map_err(sqlite)?;
                    copy_rows(&mut from, conn, (table, cols, key), "", vec![], &fail)?;
                }
            }
        }
        let cases = swap_cases(&mut from, conn, Cases::OfPdus(&whole), &fail)?
            + swap_cases(&mut from, conn, Cases::Named(&crns), &fail)?;
        tallies_of(&mut from, conn, &pdus, &fail)?;
        conn.execute_batch(crate::store::schema::RISK_TRIGGERS)
            .map_err(sqlite)?;
        conn.execute_batch(crate::store::schema::BULK_TRIGGERS_RESTORE)
            .map_err(sqlite)?;
        unscoped(&mut from, conn, &fail)?;
        now.write(conn).map_err(sqlite)?;
        from.commit().map_err(fail)?;
        tx.commit().map_err(sqlite)?;
        Ok(Some(CaughtUp {
            pdus,
            cases: cases as usize,
        }))
    }
}

/// A working copy kept in a file between runs, and how it was brought up to date.
pub struct Kept {
    pub store: Store,
    pub how: KeptHow,
    /// The PDUs whose cases the login may read.
    pub readable: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeptHow {
    /// Caught up from the change log.
    CaughtUp(CaughtUp),
    /// There was none: read whole into a new file.
    New,
    /// The file could not be caught up (another server or login, or older than the change
    /// log reaches back, or not a working copy): read whole into a new file put in its place.
    Afresh,
}

impl PgStore {
    /// The PDUs whose cases this login may read.
    pub fn readable(&mut self) -> Result<Vec<String>, PgError> {
        let rows = self
            .client
            .query(
                "SELECT code FROM pdus WHERE casewatch_may_see(code) ORDER BY code",
                &[],
            )
            .map_err(|e| self.server_error(e))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// The working copy kept in the file `kept`: caught up from the change log, or, when it
    /// cannot be, read whole into a new file (readable by its owner only) that then takes
    /// its place; a failure leaves the old file as it was. A file that is not a working copy
    /// is refused, never replaced.
    pub fn kept_copy(&mut self, kept: &std::path::Path) -> Result<Kept, CopyError> {
        let mut how = KeptHow::New;
        if kept.exists() {
            let mut store = Store::open(kept, crate::store::OpenMode::Existing)?;
            // Never replace a database that is not a working copy: it is somebody's data.
            if !CopyMark::is_copy(store.db().conn()).map_err(CopyError::Sqlite)? {
                return Err(CopyError::NotACopy(kept.to_path_buf()));
            }
            if let Some(caught) = self.catch_up(&mut store)? {
                return Ok(Kept {
                    store,
                    how: KeptHow::CaughtUp(caught),
                    readable: self.readable()?,
                });
            }
            how = KeptHow::Afresh;
        }
        let mut store = crate::store::empty_in_memory().map_err(CopyError::Sqlite)?;
        let pulled = self.pull_into(&mut store)?;
        let fresh = crate::store::beside(kept, "fresh");
        let _ = std::fs::remove_file(&fresh);
        store.write_to_new(&fresh)?;
        drop(store);
        // The old file's journal, if a crash left one, belongs to the file being replaced:
        // SQLite would replay it into the new one.
        for end in ["-wal", "-shm", "-journal"] {
            let mut side = kept.as_os_str().to_owned();
            side.push(end);
            let _ = std::fs::remove_file(side);
        }
        if let Err(e) = std::fs::rename(&fresh, kept) {
            let _ = std::fs::remove_file(&fresh);
            return Err(CopyError::Place {
                path: kept.to_path_buf(),
                reason: e.to_string(),
            });
        }
        Ok(Kept {
            store: Store::open(kept, crate::store::OpenMode::Existing)?,
            how,
            readable: pulled.readable,
        })
    }
}

/// The staffing tables, readable by every login and read whole when any changed.
const STAFF: &[&str] = &["pdus", "teams", "practitioners", "establishment"];

impl PgStore {
    /// Reads the PDUs named afresh into a working copy made by [`PgStore::pull_into`]: their
    /// cases and records, with their tallies, and what names no PDU (new audit entries and
    /// recorded runs, every acknowledgement and silence), in one snapshot of the server and
    /// one transaction of the copy. Gives the cases read. (A catch-up,
    /// [`PgStore::catch_up`], reads only what changed.)
    pub fn refresh_into(&mut self, dest: &mut Store, pdus: &[String]) -> Result<u64, CopyError> {
        let url = self.url.clone();
        let fail = fails_on(&url);
        let sqlite = CopyError::Sqlite;
        let mut from = self.snapshot().map_err(fail)?;
        let tx = dest.immediate().map_err(sqlite)?;
        let conn = tx.db().conn();
        conn.execute_batch(crate::store::schema::BULK_TRIGGERS_DROP)
            .map_err(sqlite)?;
        conn.execute_batch(crate::store::schema::RISK_TRIGGERS_DROP)
            .map_err(sqlite)?;
        let cases = swap_cases(&mut from, conn, Cases::OfPdus(pdus), &fail)?;
        tallies_of(&mut from, conn, pdus, &fail)?;
        conn.execute_batch(crate::store::schema::RISK_TRIGGERS)
            .map_err(sqlite)?;
        conn.execute_batch(crate::store::schema::BULK_TRIGGERS_RESTORE)
            .map_err(sqlite)?;
        unscoped(&mut from, conn, &fail)?;
        from.commit().map_err(fail)?;
        tx.commit().map_err(sqlite)?;
        Ok(cases)
    }
}

/// Which cases [`swap_cases`] reads again.
#[derive(Clone, Copy)]
enum Cases<'a> {
    /// Every case of these PDUs.
    OfPdus(&'a [String]),
    /// These CRNs.
    Named(&'a [String]),
}

/// The copy's rows of some cases and their records go and come again as the server holds
/// them (a case the login may no longer read does not come back). What the copy's triggers
/// keep is the server's to say (the tallies, the cases' kept columns arrive with the rows),
/// so the caller sets those triggers aside for the swap: half of a refresh at a million
/// cases went on them. The memos' triggers stay, so these cases' memos go with their rows.
/// Gives the cases read.
fn swap_cases(
    from: &mut postgres::Transaction<'_>,
    conn: &rusqlite::Connection,
    which: Cases<'_>,
    fail: &dyn Fn(postgres::Error) -> CopyError,
) -> Result<u64, CopyError> {
    let (names, mine) = match which {
        Cases::OfPdus(p) => (p, "pdu IN (SELECT value FROM json_each(?1))"),
        Cases::Named(c) => (c, "crn IN (SELECT value FROM json_each(?1))"),
    };
    if names.is_empty() {
        return Ok(0);
    }
    let sqlite = CopyError::Sqlite;
    let named = serde_json::to_string(names).unwrap_or_else(|_| "[]".into());
    for table in [
        "notes",
        "assessments",
        "enquiries",
        "allocations",
        "oversight",
        "contacts",
    ] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE crn IN (SELECT crn FROM cases WHERE {mine})"),
            [&named],
        )
        .map_err(sqlite)?;
    }
    conn.execute(&format!("DELETE FROM cases WHERE {mine}"), [&named])
        .map_err(sqlite)?;
    let mut cases = 0;
    for &(table, cols, key) in COPIED {
        let Some(of_pdus) = of_pdus(table) else {
            continue;
        };
        let theirs = match which {
            Cases::OfPdus(_) => of_pdus,
            Cases::Named(_) => "WHERE crn = ANY($1)",
        };
        let (n, _) = copy_rows(from, conn, (table, cols, key), theirs, vec![&names], fail)?;
        if table == "cases" {
            cases = n;
        }
    }
    Ok(cases)
}

/// The tallies of these PDUs as the server counts them (every case, not only the login's).
fn tallies_of(
    from: &mut postgres::Transaction<'_>,
    conn: &rusqlite::Connection,
    pdus: &[String],
    fail: &dyn Fn(postgres::Error) -> CopyError,
) -> Result<(), CopyError> {
    if pdus.is_empty() {
        return Ok(());
    }
    let sqlite = CopyError::Sqlite;
    let named = serde_json::to_string(pdus).unwrap_or_else(|_| "[]".into());
    conn.execute_batch("SAVEPOINT tallies").map_err(sqlite)?;
    for &(table, cols, key) in TALLIES {
        let (mine, theirs) = if table == "tally_caseload" {
            (
                "staff_code IN (SELECT staff_code FROM practitioners
                                 WHERE pdu IN (SELECT value FROM json_each(?1)))",
                "WHERE staff_code IN (SELECT staff_code FROM practitioners WHERE pdu = ANY($1))",
            )
        } else {
            (
                "pdu IN (SELECT value FROM json_each(?1))",
                "WHERE pdu = ANY($1)",
            )
        };
        conn.execute(&format!("DELETE FROM {table} WHERE {mine}"), [&named])
            .map_err(sqlite)?;
        copy_rows(from, conn, (table, cols, key), theirs, vec![&pdus], fail)?;
    }
    conn.execute_batch("RELEASE tallies").map_err(sqlite)?;
    Ok(())
}

/// What names no PDU: the audit only grows, so its new rows are read; a run is added, or
/// replaced by a run of the same date recorded again (under a new id), so the copy drops the
/// runs the server no longer holds and reads the new; acknowledgements and silences are
/// few, and a silence can be lifted, so they are read whole.
fn unscoped(
    from: &mut postgres::Transaction<'_>,
    conn: &rusqlite::Connection,
    fail: &dyn Fn(postgres::Error) -> CopyError,
) -> Result<(), CopyError> {
    let sqlite = CopyError::Sqlite;
    conn.execute_batch("DELETE FROM alert_acks; DELETE FROM silences;")
        .map_err(sqlite)?;
    let held: Vec<i64> = from
        .query("SELECT id FROM alert_runs", &[])
        .map_err(fail)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let held = serde_json::Value::from(held).to_string();
    for (table, id) in [
        ("run_incidents", "run_id"),
        ("run_pdu_metrics", "run_id"),
        ("alert_runs", "id"),
    ] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE {id} NOT IN (SELECT value FROM json_each(?1))"),
            [&held],
        )
        .map_err(sqlite)?;
    }
    let last = |table: &str| -> Result<i64, CopyError> {
        conn.query_row(
            &format!("SELECT coalesce(max(id), 0) FROM {table}"),
            [],
            |r| r.get(0),
        )
        .map_err(sqlite)
    };
    let (audit, runs) = (last("audit")?, last("alert_runs")?);
    for &(table, cols, key) in COPIED {
        let (only, after) = match table {
            "audit" => ("WHERE id > $1", audit),
            "alert_runs" => ("WHERE id > $1", runs),
            "run_pdu_metrics" | "run_incidents" => ("WHERE run_id > $1", runs),
            "alert_acks" | "silences" => ("", 0),
            _ => continue,
        };
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = if only.is_empty() {
            vec![]
        } else {
            vec![&after]
        };
        copy_rows(from, conn, (table, cols, key), only, params, fail)?;
    }
    Ok(())
}

impl PgStore {
    /// A new id for a run, from the server's sequence: the working copy records its run
    /// under it, so that the copy and the server name the run alike and a kept copy need
    /// not renumber a night's incidents (tens of megabytes at 1M) after writing them.
    pub fn reserve_run_id(&mut self) -> Result<i64, CopyError> {
        let fail = fails_on(&self.url);
        let id = self
            .client
            .query_one(
                "SELECT nextval(pg_get_serial_sequence('alert_runs', 'id'))",
                &[],
            )
            .map_err(fail)?
            .get(0);
        Ok(id)
    }

    /// Writes the run `run_id` recorded in a working copy to the server under that id (one
    /// from [`Self::reserve_run_id`]), in one transaction: it replaces a run the server holds
    /// for the same date, as on a file. Only a head may record (the server's grants).
    pub fn push_run(&mut self, copy: Db<'_>, run_id: i64) -> Result<(), CopyError> {
        let url = self.url.clone();
        let fail = fails_on(&url);
        let conn = copy.conn();
        let (as_of, recorded_at, actor): (String, String, String) = conn
            .query_row(
                "SELECT as_of, recorded_at, actor FROM alert_runs WHERE id = ?1",
                [run_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(CopyError::Sqlite)?;
        let mut tx = self.client.transaction().map_err(fail)?;
        tx.execute(
            "DELETE FROM alert_runs WHERE as_of = $1::text::date",
            &[&as_of],
        )
        .map_err(fail)?;
        tx.execute(
            "INSERT INTO alert_runs (id, as_of, recorded_at, actor)
             VALUES ($4, $1::text::date, $2::text::timestamptz, $3)",
            &[&as_of, &recorded_at, &actor, &run_id],
        )
        .map_err(fail)?;
        for &(table, cols, key) in COPIED {
            if !matches!(table, "run_pdu_metrics" | "run_incidents") {
                continue;
            }
            // The run's id is the server's; every other column goes as written.
            let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
            let list = names.join(", ");
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {list} FROM {table} WHERE run_id = ?1 ORDER BY {key}"
                ))
                .map_err(CopyError::Sqlite)?;
            let mut rows = stmt.query([run_id]).map_err(CopyError::Sqlite)?;
            // PostgreSQL refuses COPY into a table where row-level security applies (a
            // head's login): the rows then go by COPY into a temporary table first, and on
            // by one INSERT, which the policies check.
            let guarded: bool = tx
                .query_one(&format!("SELECT row_security_active('{table}')"), &[])
                .map_err(fail)?
                .get(0);
            let target = if guarded {
                tx.batch_execute(&format!(
                    "CREATE TEMP TABLE casewatch_push ON COMMIT DROP AS
                     SELECT {list} FROM {table} WITH NO DATA"
                ))
                .map_err(fail)?;
                "casewatch_push"
            } else {
                table
            };
            let mut writer = tx
                .copy_in(&format!("COPY {target} ({list}) FROM STDIN"))
                .map_err(fail)?;
            let mut line = String::new();
            while let Some(r) = rows.next().map_err(CopyError::Sqlite)? {
                line.clear();
                for (i, &(col, kind)) in cols.iter().enumerate() {
                    if i > 0 {
                        line.push('\t');
                    }
                    if col == "run_id" {
                        line.push_str(&run_id.to_string());
                        continue;
                    }
                    let v = sqlite_text(r.get_ref(i).map_err(CopyError::Sqlite)?);
                    copy_field(&mut line, v.as_deref(), kind);
                }
                line.push('\n');
                std::io::Write::write_all(&mut writer, line.as_bytes()).map_err(|e| {
                    CopyError::Pg(PgError::Server {
                        url: url.clone(),
                        reason: e.to_string(),
                    })
                })?;
            }
            writer.finish().map_err(fail)?;
            if guarded {
                tx.batch_execute(&format!(
                    "INSERT INTO {table} ({list}) SELECT {list} FROM casewatch_push;
                     DROP TABLE casewatch_push"
                ))
                .map_err(fail)?;
            }
        }
        // The change log forgets what no nightly copy needs: a copy older than this is read
        // afresh.
        tx.batch_execute(&format!(
            "SELECT casewatch_changes_prune('{CHANGES_KEPT_DAYS} days')"
        ))
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        Ok(())
    }
}

/// How long the change log keeps a change: a week of nights and a day to spare.
const CHANGES_KEPT_DAYS: u32 = 8;

/// The condition that keeps a table's rows to those of the PDUs `$1` names, for the tables
/// that hold cases and their records.
fn of_pdus(table: &str) -> Option<&'static str> {
    match table {
        "cases" => Some("WHERE pdu = ANY($1)"),
        "contacts" | "oversight" | "allocations" | "enquiries" | "assessments" | "notes" => {
            Some("WHERE crn IN (SELECT crn FROM cases WHERE pdu = ANY($1))")
        }
        _ => None,
    }
}

/// Copies the rows of `table` that `only` keeps (a `WHERE` clause over `params`) from the
/// server into SQLite, in key order; gives their number and checksum as read.
fn copy_rows(
    from: &mut postgres::Transaction<'_>,
    conn: &rusqlite::Connection,
    (table, cols, key): CopiedTable,
    only: &str,
    params: Vec<&(dyn postgres::types::ToSql + Sync)>,
    fail: &dyn Fn(postgres::Error) -> CopyError,
) -> Result<(u64, Sum), CopyError> {
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
    let mut rows = from
        .query_raw(
            &format!(
                "SELECT {} FROM {table} {only} ORDER BY {key}",
                select.join(", ")
            ),
            params,
        )
        .map_err(fail)?;
    let (mut n, mut sum) = (0u64, Sum::default());
    let mut values = Vec::with_capacity(cols.len());
    while let Some(r) = rows.next().map_err(fail)? {
        values.clear();
        for (i, &(_, kind)) in cols.iter().enumerate() {
            let v: Option<String> = if kind == Kind::Real {
                r.get::<_, Option<f64>>(i).map(|f| f.to_string())
            } else {
                r.get(i)
            };
            sum.add(v.as_deref());
            values.push(sqlite_value(v, kind));
        }
        insert
            .execute(rusqlite::params_from_iter(values.iter()))
            .map_err(CopyError::Sqlite)?;
        n += 1;
    }
    Ok((n, sum))
}
