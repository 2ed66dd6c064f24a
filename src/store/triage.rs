//! The statements behind the triage actions (allocate, oversight, notes, undo) and the audit
//! trail. `actions` decides; this module only reads and writes rows, inside whatever
//! transaction the caller holds (a `Transaction` derefs to a `Connection`). A second backend
//! implements the same functions.

use crate::store::Db;
use chrono::NaiveDate;
use rusqlite::{OptionalExtension, Result, params};
use serde::Serialize;
use serde_json::Value;

use crate::domain::{Mappa, Rosh, Tier, fmt_date};

/// What the case is, as an allocation needs it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseFacts {
    pub crn: String,
    pub pdu: String,
    pub team: Option<String>,
    pub tier: Option<Tier>,
    pub rosh: Option<Rosh>,
    pub mappa: Mappa,
    pub allocated_to: Option<String>,
    pub allocated_on: Option<NaiveDate>,
    pub unallocated_since: Option<NaiveDate>,
}

/// One audit row, as `casewatch audit` and the case detail show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub crn: Option<String>,
    pub subject: Option<String>,
    pub before: Value,
    pub after: Value,
    pub reason: Option<String>,
    /// The database login that wrote it, where the backend records one (PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_user: Option<String>,
}

/// A note on a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteRow {
    pub id: i64,
    pub at: String,
    pub author: String,
    pub text: String,
    pub sensitive: bool,
}

/// One audit entry to append: who did what to which case, the values before and after.
#[derive(Debug, Clone, Copy)]
pub struct AuditEntry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub crn: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub before: Option<&'a Value>,
    pub after: Option<&'a Value>,
    pub reason: Option<&'a str>,
}

fn parse_date_opt(s: Option<String>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
}

/// Appends one audit row, stamped `at` (UTC, RFC 3339); returns its id.
pub fn append_audit(db: Db<'_>, at: &str, e: &AuditEntry<'_>) -> Result<i64> {
    let conn = db.conn();
    conn.execute(
        "INSERT INTO audit (at, actor, action, crn, subject, before, after, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            at,
            e.actor,
            e.action,
            e.crn,
            e.subject,
            e.before.map(Value::to_string),
            e.after.map(Value::to_string),
            e.reason
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Who last changed a case's allocation, from the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastChange {
    pub actor: String,
    /// On PostgreSQL, the database login that wrote it (the actor is what `--as` said).
    pub login: Option<String>,
    pub at: String,
    pub action: String,
    pub reason: Option<String>,
}

/// The latest allocation change of a case in the audit.
pub fn last_allocation_change(db: Db<'_>, crn: &str) -> Result<Option<LastChange>> {
    let conn = db.conn();
    conn.query_row(
        "SELECT actor, at, action, reason FROM audit
          WHERE crn = ?1 AND action IN ('allocate', 'reallocate', 'undo')
          ORDER BY id DESC LIMIT 1",
        [crn],
        |r| {
            Ok(LastChange {
                actor: r.get(0)?,
                login: None,
                at: r.get(1)?,
                action: r.get(2)?,
                reason: r.get(3)?,
            })
        },
    )
    .optional()
}

pub fn case_facts(db: Db<'_>, crn: &str) -> Result<Option<CaseFacts>> {
    let conn = db.conn();
    conn.query_row(
        "SELECT crn, pdu, team, tier, rosh, mappa_category, mappa_level, allocated_to,
                allocated_on, unallocated_since FROM cases WHERE crn = ?1",
        [crn],
        |r| {
            Ok(CaseFacts {
                crn: r.get(0)?,
                pdu: r.get(1)?,
                team: r.get(2)?,
                tier: r.get::<_, String>(3)?.parse().ok(),
                rosh: r.get::<_, Option<String>>(4)?.and_then(|s| s.parse().ok()),
                mappa: Mappa::new(r.get(5)?, r.get(6)?).unwrap_or(Mappa::NONE),
                allocated_to: r.get(7)?,
                allocated_on: parse_date_opt(r.get(8)?),
                unallocated_since: parse_date_opt(r.get(9)?),
            })
        },
    )
    .optional()
}

/// Staff who managed the case before, with the date each stopped (latest first).
pub fn previous_holders(db: Db<'_>, crn: &str) -> Result<Vec<(String, NaiveDate)>> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT staff_code, max(to_date) FROM allocations WHERE crn = ?1
          GROUP BY staff_code ORDER BY max(to_date) DESC",
    )?;
    let rows = stmt.query_map([crn], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (s, d) = r?;
        if let Some(d) = parse_date_opt(Some(d)) {
            out.push((s, d));
        }
    }
    Ok(out)
}

/// Whether an allocation oversight of the case is recorded on or after `since`.
pub fn allocation_oversight_since(db: Db<'_>, crn: &str, since: NaiveDate) -> Result<bool> {
    let conn = db.conn();
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM oversight
                         WHERE crn = ?1 AND kind = 'allocation' AND date >= ?2)",
        params![crn, fmt_date(since)],
        |r| r.get(0),
    )
}

/// The staff code as stored, matched case-insensitively (an exact match first).
pub fn staff_code_as_stored(db: Db<'_>, code: &str) -> Result<Option<String>> {
    let conn = db.conn();
    conn.query_row(
        "SELECT staff_code FROM practitioners WHERE staff_code = ?1 COLLATE NOCASE
          ORDER BY staff_code = ?1 DESC LIMIT 1",
        [code],
        |r| r.get(0),
    )
    .optional()
}

/// A practitioner's PDU, status and grade as stored.
pub fn practitioner_post(db: Db<'_>, staff_code: &str) -> Result<Option<(String, String, String)>> {
    let conn = db.conn();
    conn.query_row(
        "SELECT pdu, status, grade FROM practitioners WHERE staff_code = ?1",
        [staff_code],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
}

/// Records a past allocation in the case's history; returns its id.
pub fn close_allocation(
    db: Db<'_>,
    crn: &str,
    staff_code: &str,
    from: NaiveDate,
    to: NaiveDate,
    reason: &str,
) -> Result<i64> {
    let conn = db.conn();
    conn.execute(
        "INSERT INTO allocations (crn, staff_code, from_date, to_date, reason)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![crn, staff_code, fmt_date(from), fmt_date(to), reason],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Sets who holds a case (all three as stored text; `None` clears).
pub fn set_holder(
    db: Db<'_>,
    crn: &str,
    allocated_to: Option<&str>,
    allocated_on: Option<&str>,
    unallocated_since: Option<&str>,
) -> Result<()> {
    let conn = db.conn();
    conn.execute(
        "UPDATE cases SET allocated_to = ?2, allocated_on = ?3, unallocated_since = ?4
          WHERE crn = ?1",
        params![crn, allocated_to, allocated_on, unallocated_since],
    )
    .map(drop)
}

/// Adds a note to a case; returns its id.
pub fn insert_note(
    db: Db<'_>,
    crn: &str,
    at: &str,
    author: &str,
    text: &str,
    sensitive: bool,
) -> Result<i64> {
    let conn = db.conn();
    conn.execute(
        "INSERT INTO notes (crn, at, author, text, sensitive) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![crn, at, author, text, sensitive],
    )?;
    Ok(conn.last_insert_rowid())
}

/// One oversight record to add.
#[derive(Debug, Clone, Copy)]
pub struct NewOversight<'a> {
    pub crn: &'a str,
    pub date: NaiveDate,
    pub by: &'a str,
    pub kind: &'a str,
    pub note: &'a str,
    pub sensitive: bool,
}

/// Adds an oversight record; returns its id.
pub fn insert_oversight(db: Db<'_>, o: &NewOversight<'_>) -> Result<i64> {
    let conn = db.conn();
    conn.execute(
        "INSERT INTO oversight (crn, date, spo_staff_code, kind, note, sensitive)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![o.crn, fmt_date(o.date), o.by, o.kind, o.note, o.sensitive],
    )?;
    Ok(conn.last_insert_rowid())
}

/// What an undo needs of an audit row: at, action, crn, before and after (JSON text).
pub type AuditCore = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

pub fn audit_core(db: Db<'_>, id: i64) -> Result<Option<AuditCore>> {
    let conn = db.conn();
    conn.query_row(
        "SELECT at, action, crn, before, after FROM audit WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )
    .optional()
}

/// Whether the audit row `id` has been undone.
pub fn is_undone(db: Db<'_>, id: i64) -> Result<bool> {
    let conn = db.conn();
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM audit WHERE action = 'undo' AND subject = ?1)",
        [id.to_string()],
        |r| r.get(0),
    )
}

/// Whether a later allocation of the case (not itself undone) follows audit row `id`.
pub fn allocated_again_after(db: Db<'_>, crn: &str, id: i64) -> Result<bool> {
    let conn = db.conn();
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM audit a WHERE a.crn = ?1 AND a.id > ?2
           AND a.action IN ('allocate', 'reallocate')
           AND NOT EXISTS (SELECT 1 FROM audit u
                            WHERE u.action = 'undo' AND u.subject = CAST(a.id AS TEXT)))",
        params![crn, id],
        |r| r.get(0),
    )
}

/// The case's holder and allocation date as stored.
pub fn holder_as_stored(db: Db<'_>, crn: &str) -> Result<(Option<String>, Option<String>)> {
    let conn = db.conn();
    conn.query_row(
        "SELECT allocated_to, allocated_on FROM cases WHERE crn = ?1",
        [crn],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Removes a row an undone action added: an allocation history row, a note or an oversight
/// record.
pub fn delete_added(db: Db<'_>, what: Added, id: i64) -> Result<()> {
    let conn = db.conn();
    let sql = match what {
        Added::AllocationHistory => "DELETE FROM allocations WHERE id = ?1",
        Added::Note => "DELETE FROM notes WHERE id = ?1",
        Added::Oversight => "DELETE FROM oversight WHERE id = ?1",
    };
    conn.execute(sql, [id]).map(drop)
}

/// The kinds of row an action adds and its undo removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    AllocationHistory,
    Note,
    Oversight,
}

/// Notes on a case, newest first.
pub fn notes(db: Db<'_>, crn: &str) -> Result<Vec<NoteRow>> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, author, text, sensitive FROM notes WHERE crn = ?1 ORDER BY id DESC",
    )?;
    let rows = stmt.query_map([crn], |r| {
        Ok(NoteRow {
            id: r.get(0)?,
            at: r.get(1)?,
            author: r.get(2)?,
            text: r.get(3)?,
            sensitive: r.get::<_, i64>(4)? != 0,
        })
    })?;
    rows.collect()
}

/// The audit trail, oldest first, optionally for one case and from a date.
pub fn audit_log(db: Db<'_>, crn: Option<&str>, since: Option<NaiveDate>) -> Result<Vec<AuditRow>> {
    let conn = db.conn();
    let since = since.map(fmt_date);
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, action, crn, subject, before, after, reason FROM audit
          WHERE (?1 IS NULL OR crn = ?1) AND (?2 IS NULL OR at >= ?2) ORDER BY id",
    )?;
    let rows = stmt.query_map(params![crn, since], |r| {
        let json = |s: Option<String>| {
            s.and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or(Value::Null)
        };
        Ok(AuditRow {
            id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            crn: r.get(4)?,
            subject: r.get(5)?,
            before: json(r.get(6)?),
            after: json(r.get(7)?),
            reason: r.get(8)?,
            db_user: None,
        })
    })?;
    rows.collect()
}

/// A failed statement, on either backend.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", super::pg::reason(.0))]
    Pg(#[from] postgres::Error),
}

/// SQLite: another connection held the write lock past the busy timeout.
pub fn sqlite_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// PostgreSQL: the server rolled this transaction back so that another could finish.
pub fn pg_busy(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::LOCK_NOT_AVAILABLE
    })
}

/// The triage writes' statements, as `actions` uses them inside one write transaction.
/// Implemented by the SQLite handle ([`Db`], the functions above) and by a PostgreSQL
/// transaction (`store::pg::PgTx`); `actions` decides, the same on both.
pub trait Triage {
    /// The case as an allocation needs it. On PostgreSQL the row is locked until the
    /// transaction ends, so that two writers to one case take turns and the second reads
    /// what the first wrote (SQLite's write transaction holds the whole file).
    fn case_facts(&mut self, crn: &str) -> std::result::Result<Option<CaseFacts>, Fault>;
    fn last_allocation_change(
        &mut self,
        crn: &str,
    ) -> std::result::Result<Option<LastChange>, Fault>;
    fn staff_code_as_stored(&mut self, code: &str) -> std::result::Result<Option<String>, Fault>;
    /// PDU, status and grade.
    fn practitioner_post(
        &mut self,
        staff_code: &str,
    ) -> std::result::Result<Option<(String, String, String)>, Fault>;
    /// The PDU's practitioners (leavers left out) with caseload and capacity, most loaded
    /// first.
    fn practitioners_of(
        &mut self,
        policy: &crate::policy::Policy,
        as_of: NaiveDate,
        pdu: &str,
    ) -> std::result::Result<Vec<super::read::PractitionerRow>, Fault>;
    fn close_allocation(
        &mut self,
        crn: &str,
        staff_code: &str,
        from: NaiveDate,
        to: NaiveDate,
        reason: &str,
    ) -> std::result::Result<i64, Fault>;
    fn set_holder(
        &mut self,
        crn: &str,
        allocated_to: Option<&str>,
        allocated_on: Option<&str>,
        unallocated_since: Option<&str>,
    ) -> std::result::Result<(), Fault>;
    fn insert_note(
        &mut self,
        crn: &str,
        at: &str,
        author: &str,
        text: &str,
        sensitive: bool,
    ) -> std::result::Result<i64, Fault>;
    fn insert_oversight(&mut self, o: &NewOversight<'_>) -> std::result::Result<i64, Fault>;
    /// Appends one audit row stamped `at` (UTC, RFC 3339); returns its id.
    fn append_audit(&mut self, at: &str, e: &AuditEntry<'_>) -> std::result::Result<i64, Fault>;
    /// The latest recorded nightly run (acknowledgements are of it).
    fn latest_run(&mut self) -> std::result::Result<Option<super::runs::RunHead>, Fault>;
    /// An open incident of a run, by its key (`rule:pdu`).
    fn open_incident(
        &mut self,
        run_id: i64,
        key: &str,
    ) -> std::result::Result<Option<super::runs::OpenIncident>, Fault>;
    fn insert_ack(&mut self, a: &super::runs::NewAck<'_>) -> std::result::Result<(), Fault>;
    fn pdu_exists(&mut self, code: &str) -> std::result::Result<bool, Fault>;
    fn case_exists(&mut self, crn: &str) -> std::result::Result<bool, Fault>;
    /// Records a silence; returns its id.
    fn insert_silence(&mut self, s: &crate::incidents::Silence) -> std::result::Result<i64, Fault>;
    /// Ends a silence in force: `None` when there is none with that id, else the CRN it
    /// covered (if any).
    fn remove_silence(
        &mut self,
        id: i64,
        by: &str,
        at: &str,
    ) -> std::result::Result<Option<Option<String>>, Fault>;
    /// The audit trail as the login may read it, oldest first, optionally for one case and
    /// from a date.
    fn audit_log(
        &mut self,
        crn: Option<&str>,
        since: Option<NaiveDate>,
    ) -> std::result::Result<Vec<AuditRow>, Fault>;
    /// The silences not removed, as the login may read them (soonest to end first).
    fn silences(&mut self) -> std::result::Result<Vec<crate::incidents::Silence>, Fault>;
    /// What an undo needs of audit row `id`, if the login may read it.
    fn audit_core(&mut self, id: i64) -> std::result::Result<Option<AuditCore>, Fault>;
    /// Whether audit row `id` has been undone.
    fn is_undone(&mut self, id: i64) -> std::result::Result<bool, Fault>;
    /// Whether a later allocation of the case (not itself undone) follows audit row `id`.
    fn allocated_again_after(&mut self, crn: &str, id: i64) -> std::result::Result<bool, Fault>;
    /// The case's holder and allocation date as stored. On PostgreSQL the case's row is
    /// locked until the transaction ends, as by [`Triage::case_facts`].
    fn holder_as_stored(
        &mut self,
        crn: &str,
    ) -> std::result::Result<(Option<String>, Option<String>), Fault>;
    /// Removes row `id` of `what`, which the action of audit row `entry` added (its undo).
    fn delete_added(&mut self, what: Added, id: i64, entry: i64) -> std::result::Result<(), Fault>;
}

/// A store the triage writes run on: each write is one transaction, committed when `f`
/// succeeds and rolled back (nothing written) when it fails.
pub trait TriageStore {
    fn in_write<T, E: From<Fault>>(
        &mut self,
        f: impl FnOnce(&mut dyn Triage) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>;
}

impl TriageStore for super::Store {
    fn in_write<T, E: From<Fault>>(
        &mut self,
        f: impl FnOnce(&mut dyn Triage) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let tx = self.immediate().map_err(Fault::from)?;
        let mut db = tx.db();
        let out = f(&mut db)?;
        tx.commit().map_err(Fault::from)?;
        Ok(out)
    }
}

impl Triage for Db<'_> {
    fn case_facts(&mut self, crn: &str) -> std::result::Result<Option<CaseFacts>, Fault> {
        Ok(case_facts(*self, crn)?)
    }
    fn last_allocation_change(
        &mut self,
        crn: &str,
    ) -> std::result::Result<Option<LastChange>, Fault> {
        Ok(last_allocation_change(*self, crn)?)
    }
    fn staff_code_as_stored(&mut self, code: &str) -> std::result::Result<Option<String>, Fault> {
        Ok(staff_code_as_stored(*self, code)?)
    }
    fn practitioner_post(
        &mut self,
        staff_code: &str,
    ) -> std::result::Result<Option<(String, String, String)>, Fault> {
        Ok(practitioner_post(*self, staff_code)?)
    }
    fn practitioners_of(
        &mut self,
        policy: &crate::policy::Policy,
        as_of: NaiveDate,
        pdu: &str,
    ) -> std::result::Result<Vec<super::read::PractitionerRow>, Fault> {
        Ok(super::read::practitioners(
            *self,
            policy,
            as_of,
            Some(pdu),
            super::read::PractitionerSort::Capacity,
        )?)
    }
    fn close_allocation(
        &mut self,
        crn: &str,
        staff_code: &str,
        from: NaiveDate,
        to: NaiveDate,
        reason: &str,
    ) -> std::result::Result<i64, Fault> {
        Ok(close_allocation(*self, crn, staff_code, from, to, reason)?)
    }
    fn set_holder(
        &mut self,
        crn: &str,
        allocated_to: Option<&str>,
        allocated_on: Option<&str>,
        unallocated_since: Option<&str>,
    ) -> std::result::Result<(), Fault> {
        Ok(set_holder(
            *self,
            crn,
            allocated_to,
            allocated_on,
            unallocated_since,
        )?)
    }
    fn insert_note(
        &mut self,
        crn: &str,
        at: &str,
        author: &str,
        text: &str,
        sensitive: bool,
    ) -> std::result::Result<i64, Fault> {
        Ok(insert_note(*self, crn, at, author, text, sensitive)?)
    }
    fn insert_oversight(&mut self, o: &NewOversight<'_>) -> std::result::Result<i64, Fault> {
        Ok(insert_oversight(*self, o)?)
    }
    fn append_audit(&mut self, at: &str, e: &AuditEntry<'_>) -> std::result::Result<i64, Fault> {
        Ok(append_audit(*self, at, e)?)
    }
    fn audit_log(
        &mut self,
        crn: Option<&str>,
        since: Option<NaiveDate>,
    ) -> std::result::Result<Vec<AuditRow>, Fault> {
        Ok(audit_log(*self, crn, since)?)
    }
    fn latest_run(&mut self) -> std::result::Result<Option<super::runs::RunHead>, Fault> {
        Ok(super::runs::latest_run(*self)?)
    }
    fn open_incident(
        &mut self,
        run_id: i64,
        key: &str,
    ) -> std::result::Result<Option<super::runs::OpenIncident>, Fault> {
        Ok(super::runs::open_incident(*self, run_id, key)?)
    }
    fn insert_ack(&mut self, a: &super::runs::NewAck<'_>) -> std::result::Result<(), Fault> {
        Ok(super::runs::insert_ack(*self, a)?)
    }
    fn pdu_exists(&mut self, code: &str) -> std::result::Result<bool, Fault> {
        Ok(super::runs::pdu_exists(*self, code)?)
    }
    fn case_exists(&mut self, crn: &str) -> std::result::Result<bool, Fault> {
        Ok(super::load::case_exists(*self, crn)?)
    }
    fn insert_silence(&mut self, s: &crate::incidents::Silence) -> std::result::Result<i64, Fault> {
        Ok(super::runs::insert_silence(*self, s)?)
    }
    fn remove_silence(
        &mut self,
        id: i64,
        by: &str,
        at: &str,
    ) -> std::result::Result<Option<Option<String>>, Fault> {
        Ok(super::runs::remove_silence(*self, id, by, at)?)
    }
    fn silences(&mut self) -> std::result::Result<Vec<crate::incidents::Silence>, Fault> {
        Ok(super::runs::silences(*self)?)
    }
    fn audit_core(&mut self, id: i64) -> std::result::Result<Option<AuditCore>, Fault> {
        Ok(audit_core(*self, id)?)
    }
    fn is_undone(&mut self, id: i64) -> std::result::Result<bool, Fault> {
        Ok(is_undone(*self, id)?)
    }
    fn allocated_again_after(&mut self, crn: &str, id: i64) -> std::result::Result<bool, Fault> {
        Ok(allocated_again_after(*self, crn, id)?)
    }
    fn holder_as_stored(
        &mut self,
        crn: &str,
    ) -> std::result::Result<(Option<String>, Option<String>), Fault> {
        Ok(holder_as_stored(*self, crn)?)
    }
    fn delete_added(
        &mut self,
        what: Added,
        id: i64,
        _entry: i64,
    ) -> std::result::Result<(), Fault> {
        Ok(delete_added(*self, what, id)?)
    }
}

/// A store of either backend, for the triage writes (`--db` a file or a `postgres://` URL).
pub enum AnyStore {
    Sqlite(super::Store),
    Postgres(super::pg::PgStore),
}

impl AnyStore {
    /// The audit trail (see [`Triage::audit_log`]), read without taking a write lock.
    pub fn audit_log(
        &mut self,
        crn: Option<&str>,
        since: Option<NaiveDate>,
    ) -> std::result::Result<Vec<AuditRow>, Fault> {
        match self {
            AnyStore::Sqlite(s) => Ok(audit_log(s.db(), crn, since)?),
            AnyStore::Postgres(p) => p.in_read(|t| t.audit_log(crn, since)),
        }
    }

    /// The silences not removed (see [`Triage::silences`]), read without a write lock.
    pub fn silences(&mut self) -> std::result::Result<Vec<crate::incidents::Silence>, Fault> {
        match self {
            AnyStore::Sqlite(s) => Ok(super::runs::silences(s.db())?),
            AnyStore::Postgres(p) => p.in_read(|t| t.silences()),
        }
    }
}

impl TriageStore for AnyStore {
    fn in_write<T, E: From<Fault>>(
        &mut self,
        f: impl FnOnce(&mut dyn Triage) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        match self {
            AnyStore::Sqlite(s) => s.in_write(f),
            AnyStore::Postgres(p) => p.in_write(f),
        }
    }
}
