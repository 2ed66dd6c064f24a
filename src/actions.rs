//! Triage actions (allocate, record oversight, add a note, undo) and the audit trail.
//!
//! Every write records an audit row in the same transaction as the change: when, who, what,
//! before and after. The audit table refuses updates and deletes (triggers in the schema), so
//! the trail is append-only even for other SQLite clients.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::{
    AllocationReason, Grade, Mappa, OversightKind, PractitionerStatus, Rosh, Tier,
};
use crate::policy::Policy;
use crate::store::read;

/// How long after an action the TUI still offers to undo it.
pub const UNDO_WINDOW: chrono::Duration = chrono::Duration::minutes(10);

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no case with that CRN in the database")]
    UnknownCase,
    #[error("no practitioner with staff code '{0}'")]
    UnknownPractitioner(String),
    #[error(
        "practitioner {staff} belongs to PDU {staff_pdu}, but the case is in PDU {case_pdu}; allocate within the case's PDU (transfer the case first)"
    )]
    OtherPdu {
        staff: String,
        staff_pdu: String,
        case_pdu: String,
    },
    #[error("practitioner {0} cannot take cases: status is {1}")]
    NotAvailable(String, PractitionerStatus),
    #[error("the case is already allocated to {0}")]
    AlreadyAllocated(String),
    #[error("management oversight must be recorded by an SPO; {0} is a {1}")]
    NotSpo(String, Grade),
    #[error("the note is empty")]
    EmptyNote,
    #[error("the note is longer than {0} characters")]
    NoteTooLong(usize),
    #[error(
        "no open incident or alert with that key in the last recorded run (see `casewatch alerts`)"
    )]
    UnknownAlert,
    #[error("there is nothing to undo")]
    NothingToUndo,
    #[error("that action was already undone")]
    AlreadyUndone,
    #[error("too late to undo: actions can be undone for {} minutes", UNDO_WINDOW.num_minutes())]
    UndoExpired,
    #[error(
        "the case's allocation has changed since that action (another user or an import); undoing it would overwrite that change, so nothing was undone"
    )]
    ChangedSince,
    #[error("this action needs confirming: {0}")]
    NeedsConfirmation(String),
    #[error("the database is open read-only; no change was made")]
    ReadOnly,
    #[error(
        "the database stayed locked by another writer through {0} attempts; nothing was written, try again"
    )]
    Busy(u32),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

impl ActionError {
    /// Another connection held the write lock past the busy timeout.
    pub fn is_busy(&self) -> bool {
        matches!(self, ActionError::Sqlite(e) if matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        ))
    }
}

/// Runs a write, retrying a bounded number of times while another writer holds the lock
/// (each attempt already waits for the connection's busy timeout). A write that still cannot
/// get the lock fails with [`ActionError::Busy`], having written nothing.
pub fn with_retry<T>(
    attempts: u32,
    mut write: impl FnMut() -> Result<T, ActionError>,
) -> Result<T, ActionError> {
    let attempts = attempts.max(1);
    for attempt in 1..=attempts {
        match write() {
            Err(e) if e.is_busy() => {
                if attempt < attempts {
                    std::thread::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)));
                }
            }
            other => return other,
        }
    }
    Err(ActionError::Busy(attempts))
}

/// How many times the command line tries a write before giving up.
pub const WRITE_ATTEMPTS: u32 = 3;

/// Notes longer than this are refused (they belong in the case management system).
pub const MAX_NOTE: usize = 4000;

/// Who is acting: `--as USER` where a deployment sets it, else the operating-system user.
pub fn os_user() -> String {
    whoami::username()
        .ok()
        .filter(|u| !u.trim().is_empty())
        .or_else(|| {
            ["USER", "LOGNAME"]
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        })
        .unwrap_or_else(|| "unknown".into())
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Appends one audit row. Call inside the transaction that makes the change.
#[allow(clippy::too_many_arguments)]
pub fn record_audit(
    tx: &Transaction<'_>,
    actor: &str,
    action: &str,
    crn: Option<&str>,
    subject: Option<&str>,
    before: Option<&Value>,
    after: Option<&Value>,
    reason: Option<&str>,
) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO audit (at, actor, action, crn, subject, before, after, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            now(),
            actor,
            action,
            crn,
            subject,
            before.map(Value::to_string),
            after.map(Value::to_string),
            reason
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

fn check_note(text: &str) -> Result<String, ActionError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(ActionError::EmptyNote);
    }
    if t.chars().count() > MAX_NOTE {
        return Err(ActionError::NoteTooLong(MAX_NOTE));
    }
    Ok(t.to_string())
}

/// What the case is, as an allocation needs it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseFacts {
    pub crn: String,
    pub pdu: String,
    pub tier: Option<Tier>,
    pub rosh: Option<Rosh>,
    pub mappa: Mappa,
    pub allocated_to: Option<String>,
    pub allocated_on: Option<NaiveDate>,
    pub unallocated_since: Option<NaiveDate>,
}

impl CaseFacts {
    pub fn is_high_risk(&self) -> bool {
        self.rosh.is_some_and(Rosh::is_high) || self.mappa.is_mappa()
    }
}

fn parse_date_opt(s: Option<String>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
}

pub fn case_facts(conn: &Connection, crn: &str) -> Result<CaseFacts, ActionError> {
    conn.query_row(
        "SELECT crn, pdu, tier, rosh, mappa_category, mappa_level, allocated_to, allocated_on,
                unallocated_since FROM cases WHERE crn = ?1",
        [crn],
        |r| {
            Ok(CaseFacts {
                crn: r.get(0)?,
                pdu: r.get(1)?,
                tier: r.get::<_, String>(2)?.parse().ok(),
                rosh: r.get::<_, Option<String>>(3)?.and_then(|s| s.parse().ok()),
                mappa: Mappa::new(r.get(4)?, r.get(5)?).unwrap_or(Mappa::NONE),
                allocated_to: r.get(6)?,
                allocated_on: parse_date_opt(r.get(7)?),
                unallocated_since: parse_date_opt(r.get(8)?),
            })
        },
    )
    .optional()?
    .ok_or(ActionError::UnknownCase)
}

/// One practitioner a case could go to, with capacity now and after taking it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub staff_code: String,
    pub name: String,
    pub grade: Grade,
    pub status: PractitionerStatus,
    pub caseload: u64,
    pub capacity_now: Option<f64>,
    pub capacity_after: Option<f64>,
    /// Reasons to think twice, in words; empty when none.
    pub warnings: Vec<String>,
}

/// Practitioners of the case's PDU who can take cases, least loaded first, with the warnings
/// an allocation to each would raise.
pub fn candidates(
    conn: &Connection,
    policy: &Policy,
    as_of: NaiveDate,
    case: &CaseFacts,
) -> Result<Vec<Candidate>, ActionError> {
    let points = case.tier.map_or(0.0, |t| policy.case_points(t));
    let rows = read::practitioners(
        conn,
        policy,
        as_of,
        Some(&case.pdu),
        read::PractitionerSort::Capacity,
    )?;
    let mut out: Vec<Candidate> = rows
        .into_iter()
        .filter(|p| p.status.works_cases())
        .map(|p| {
            let available =
                policy.available_points(p.grade, p.contracted_hours, p.start_date, as_of);
            let capacity_after = available
                .filter(|a| *a > 0.0)
                .map(|a| (p.points + points) / a * 100.0);
            let mut c = Candidate {
                staff_code: p.staff_code,
                name: p.name,
                grade: p.grade,
                status: p.status,
                caseload: p.caseload,
                capacity_now: p.capacity_pct,
                capacity_after,
                warnings: Vec::new(),
            };
            c.warnings = allocation_warnings(case, &c);
            c
        })
        .collect();
    out.sort_by(|a, b| {
        a.capacity_now
            .unwrap_or(f64::MAX)
            .total_cmp(&b.capacity_now.unwrap_or(f64::MAX))
            .then_with(|| a.staff_code.cmp(&b.staff_code))
    });
    Ok(out)
}

/// Warnings, in words, for giving this case to this practitioner.
pub fn allocation_warnings(case: &CaseFacts, c: &Candidate) -> Vec<String> {
    let mut w = Vec::new();
    if case.is_high_risk() && matches!(c.grade, Grade::Pso | Grade::Pqip) {
        let what = if case.mappa.is_mappa() {
            format!("a MAPPA category {} case", case.mappa.category)
        } else {
            format!(
                "a {} RoSH case",
                case.rosh.map(Rosh::as_str).unwrap_or("high")
            )
        };
        w.push(format!(
            "this is {what} and {} is a {}: high-risk cases are for probation officers",
            c.staff_code, c.grade
        ));
    }
    if let Some(after) = c.capacity_after
        && after > 100.0
    {
        w.push(format!(
            "{} would be at {after:.0}% of capacity (now {})",
            c.staff_code,
            c.capacity_now
                .map(|n| format!("{n:.0}%"))
                .unwrap_or_else(|| "-".into())
        ));
    }
    w
}

/// The result of a write: the audit row that records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Done {
    pub audit_id: i64,
}

/// Allocates (or reallocates) a case. Refuses unknown cases and practitioners, practitioners
/// of another PDU or unavailable ones. When the allocation raises warnings, `confirmed` must
/// be set or nothing is written.
#[allow(clippy::too_many_arguments)]
pub fn allocate(
    conn: &mut Connection,
    policy: &Policy,
    as_of: NaiveDate,
    actor: &str,
    crn: &str,
    staff_code: &str,
    reason: AllocationReason,
    note: Option<&str>,
    confirmed: bool,
) -> Result<Done, ActionError> {
    let note = note.map(check_note).transpose()?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let case = case_facts(&tx, crn)?;
    let (staff_pdu, status): (String, String) = tx
        .query_row(
            "SELECT pdu, status FROM practitioners WHERE staff_code = ?1",
            [staff_code],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| {
            ActionError::UnknownPractitioner(crate::text::quote_value(staff_code, 20))
        })?;
    if staff_pdu != case.pdu {
        return Err(ActionError::OtherPdu {
            staff: staff_code.into(),
            staff_pdu,
            case_pdu: case.pdu,
        });
    }
    let status: PractitionerStatus = status
        .parse()
        .map_err(|_| ActionError::NotAvailable(staff_code.into(), PractitionerStatus::Left))?;
    if !status.works_cases() {
        return Err(ActionError::NotAvailable(staff_code.into(), status));
    }
    if case.allocated_to.as_deref() == Some(staff_code) {
        return Err(ActionError::AlreadyAllocated(staff_code.into()));
    }
    let cands = candidates(&tx, policy, as_of, &case)?;
    let warnings = cands
        .iter()
        .find(|c| c.staff_code == staff_code)
        .map(|c| c.warnings.clone())
        .unwrap_or_default();
    if !warnings.is_empty() && !confirmed {
        return Err(ActionError::NeedsConfirmation(warnings.join("; ")));
    }
    let on = crate::domain::fmt_date(as_of);
    let mut history_id = None;
    if let (Some(prev), Some(prev_on)) = (&case.allocated_to, case.allocated_on) {
        tx.execute(
            "INSERT INTO allocations (crn, staff_code, from_date, to_date, reason)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                crn,
                prev,
                crate::domain::fmt_date(prev_on),
                on,
                reason.as_str()
            ],
        )?;
        history_id = Some(tx.last_insert_rowid());
    }
    tx.execute(
        "UPDATE cases SET allocated_to = ?2, allocated_on = ?3, unallocated_since = NULL
          WHERE crn = ?1",
        params![crn, staff_code, on],
    )?;
    let mut note_id = None;
    if let Some(text) = &note {
        tx.execute(
            "INSERT INTO notes (crn, at, author, text, sensitive) VALUES (?1, ?2, ?3, ?4, 0)",
            params![crn, now(), actor, text],
        )?;
        note_id = Some(tx.last_insert_rowid());
    }
    let before = json!({
        "allocated_to": case.allocated_to,
        "allocated_on": case.allocated_on.map(crate::domain::fmt_date),
        "unallocated_since": case.unallocated_since.map(crate::domain::fmt_date),
    });
    let after = json!({
        "allocated_to": staff_code,
        "allocated_on": on,
        "unallocated_since": null,
        "history_id": history_id,
        "note_id": note_id,
        "note": note,
        "warnings": warnings,
    });
    let action = if case.allocated_to.is_some() {
        "reallocate"
    } else {
        "allocate"
    };
    let audit_id = record_audit(
        &tx,
        actor,
        action,
        Some(crn),
        Some(staff_code),
        Some(&before),
        Some(&after),
        Some(reason.as_str()),
    )?;
    tx.commit()?;
    Ok(Done { audit_id })
}

/// Records an SPO's management oversight of a case, dated `as_of`.
#[allow(clippy::too_many_arguments)]
pub fn record_oversight(
    conn: &mut Connection,
    as_of: NaiveDate,
    actor: &str,
    crn: &str,
    by: &str,
    kind: OversightKind,
    note: &str,
    sensitive: bool,
) -> Result<Done, ActionError> {
    let note = check_note(note)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let case = case_facts(&tx, crn)?;
    let (grade, pdu): (String, String) = tx
        .query_row(
            "SELECT grade, pdu FROM practitioners WHERE staff_code = ?1 AND status <> 'left'",
            [by],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| ActionError::UnknownPractitioner(crate::text::quote_value(by, 20)))?;
    let grade: Grade = grade.parse().unwrap_or(Grade::Pso);
    if grade != Grade::Spo {
        return Err(ActionError::NotSpo(by.into(), grade));
    }
    if pdu != case.pdu {
        return Err(ActionError::OtherPdu {
            staff: by.into(),
            staff_pdu: pdu,
            case_pdu: case.pdu,
        });
    }
    let date = crate::domain::fmt_date(as_of);
    tx.execute(
        "INSERT INTO oversight (crn, date, spo_staff_code, kind, note, sensitive)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![crn, date, by, kind.as_str(), note, sensitive],
    )?;
    let id = tx.last_insert_rowid();
    let after = json!({"oversight_id": id, "date": date, "by": by, "kind": kind.as_str(),
                       "note": note, "sensitive": sensitive});
    let audit_id = record_audit(
        &tx,
        actor,
        "oversight",
        Some(crn),
        Some(by),
        None,
        Some(&after),
        None,
    )?;
    tx.commit()?;
    Ok(Done { audit_id })
}

/// Adds a note to a case.
pub fn add_note(
    conn: &mut Connection,
    actor: &str,
    crn: &str,
    text: &str,
    sensitive: bool,
) -> Result<Done, ActionError> {
    let text = check_note(text)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    case_facts(&tx, crn)?;
    tx.execute(
        "INSERT INTO notes (crn, at, author, text, sensitive) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![crn, now(), actor, text, sensitive],
    )?;
    let id = tx.last_insert_rowid();
    let after = json!({"note_id": id, "note": text, "sensitive": sensitive});
    let audit_id = record_audit(
        &tx,
        actor,
        "note",
        Some(crn),
        None,
        None,
        Some(&after),
        None,
    )?;
    tx.commit()?;
    Ok(Done { audit_id })
}

/// at, action, crn, before, after
type AuditCore = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Reverses the action recorded by `audit_id` (allocation, oversight or note), if it is
/// recent and not already undone. The undo is itself audited.
pub fn undo(conn: &mut Connection, actor: &str, audit_id: i64) -> Result<Done, ActionError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let row: Option<AuditCore> = tx
        .query_row(
            "SELECT at, action, crn, before, after FROM audit WHERE id = ?1",
            [audit_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((at, action, crn, before, after)) = row else {
        return Err(ActionError::NothingToUndo);
    };
    let undone: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM audit WHERE action = 'undo' AND subject = ?1)",
        [audit_id.to_string()],
        |r| r.get(0),
    )?;
    if undone {
        return Err(ActionError::AlreadyUndone);
    }
    let when = DateTime::parse_from_rfc3339(&at).map_err(|_| ActionError::NothingToUndo)?;
    if Utc::now().signed_duration_since(when) > UNDO_WINDOW {
        return Err(ActionError::UndoExpired);
    }
    let before: Value = before
        .and_then(|b| serde_json::from_str(&b).ok())
        .unwrap_or(Value::Null);
    let after: Value = after
        .and_then(|a| serde_json::from_str(&a).ok())
        .unwrap_or(Value::Null);
    let crn = crn.ok_or(ActionError::NothingToUndo)?;
    match action.as_str() {
        "allocate" | "reallocate" => {
            // Only while the case is still as this action left it: a later allocation (by
            // another user, or an import) must not be silently thrown away.
            let changed_later: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM audit a WHERE a.crn = ?1 AND a.id > ?2
                   AND a.action IN ('allocate', 'reallocate')
                   AND NOT EXISTS (SELECT 1 FROM audit u
                                    WHERE u.action = 'undo' AND u.subject = CAST(a.id AS TEXT)))",
                params![crn, audit_id],
                |r| r.get(0),
            )?;
            let now: (Option<String>, Option<String>) = tx.query_row(
                "SELECT allocated_to, allocated_on FROM cases WHERE crn = ?1",
                [&crn],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if changed_later
                || now.0.as_deref() != after["allocated_to"].as_str()
                || now.1.as_deref() != after["allocated_on"].as_str()
            {
                return Err(ActionError::ChangedSince);
            }
            tx.execute(
                "UPDATE cases SET allocated_to = ?2, allocated_on = ?3, unallocated_since = ?4
                  WHERE crn = ?1",
                params![
                    crn,
                    before["allocated_to"].as_str(),
                    before["allocated_on"].as_str(),
                    before["unallocated_since"].as_str()
                ],
            )?;
            if let Some(h) = after["history_id"].as_i64() {
                tx.execute("DELETE FROM allocations WHERE id = ?1", [h])?;
            }
            if let Some(n) = after["note_id"].as_i64() {
                tx.execute("DELETE FROM notes WHERE id = ?1", [n])?;
            }
        }
        "oversight" => {
            if let Some(id) = after["oversight_id"].as_i64() {
                tx.execute("DELETE FROM oversight WHERE id = ?1", [id])?;
            }
        }
        "note" => {
            if let Some(id) = after["note_id"].as_i64() {
                tx.execute("DELETE FROM notes WHERE id = ?1", [id])?;
            }
        }
        _ => return Err(ActionError::NothingToUndo),
    }
    let audit_id = record_audit(
        &tx,
        actor,
        "undo",
        Some(&crn),
        Some(&audit_id.to_string()),
        Some(&after),
        Some(&before),
        Some(&action),
    )?;
    tx.commit()?;
    Ok(Done { audit_id })
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
}

impl AuditRow {
    /// Hides the text of sensitive notes unless asked.
    pub fn redact(mut self, show_sensitive: bool) -> AuditRow {
        if !show_sensitive && self.after["sensitive"].as_bool() == Some(true) {
            self.after["note"] = Value::String("[sensitive: hidden]".into());
        }
        self
    }

    /// A one-line summary of what changed.
    pub fn describe(&self) -> String {
        let a = &self.after;
        match self.action.as_str() {
            "allocate" | "reallocate" => format!(
                "{} to {} ({}){}",
                self.action,
                a["allocated_to"].as_str().unwrap_or("?"),
                self.reason.as_deref().unwrap_or("-"),
                match self.before["allocated_to"].as_str() {
                    Some(p) => format!(", was {p}"),
                    None => ", was unallocated".into(),
                }
            ),
            "oversight" => format!(
                "oversight by {} ({}): {}",
                a["by"].as_str().unwrap_or("?"),
                a["kind"].as_str().unwrap_or("?"),
                a["note"].as_str().unwrap_or("")
            ),
            "note" => format!("note: {}", a["note"].as_str().unwrap_or("")),
            "import" => format!(
                "import of {} ({}): {} inserted, {} updated",
                a["file"].as_str().unwrap_or("?"),
                a["kind"].as_str().unwrap_or("?"),
                a["inserted"],
                a["updated"]
            ),
            "acknowledge" => format!(
                "acknowledged alert {}: {}",
                self.subject.as_deref().unwrap_or("?"),
                a["note"].as_str().unwrap_or("")
            ),
            "undo" => format!(
                "undo of #{} ({})",
                self.subject.as_deref().unwrap_or("?"),
                self.reason.as_deref().unwrap_or("?")
            ),
            other => format!("{other} {}", self.subject.as_deref().unwrap_or_default()),
        }
    }
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

/// Notes on a case, newest first.
pub fn notes(conn: &Connection, crn: &str) -> rusqlite::Result<Vec<NoteRow>> {
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
pub fn audit_log(
    conn: &Connection,
    crn: Option<&str>,
    since: Option<NaiveDate>,
) -> rusqlite::Result<Vec<AuditRow>> {
    let since = since.map(crate::domain::fmt_date);
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
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OpenMode, Store};

    fn d(s: &str) -> NaiveDate {
        crate::domain::parse_date("d", s).unwrap()
    }

    /// Two PDUs; P has an SPO, a PO, a PSO and a leaver; Q has a PO. One unallocated MAPPA
    /// case and one allocated low-risk case in P.
    fn fixture() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("a.db"), OpenMode::CreateIfMissing).unwrap();
        s.conn()
            .execute_batch(
                "INSERT INTO pdus (code, name, region) VALUES ('P', 'P', 'R'), ('Q', 'Q', 'R');
                 INSERT INTO practitioners VALUES
                   ('SPO1', 'S One', 'SPO', 'P', NULL, 37, '2015-01-01', 'in_post'),
                   ('PO1', 'P One', 'PO', 'P', NULL, 37, '2015-01-01', 'in_post'),
                   ('PSO1', 'P Two', 'PSO', 'P', NULL, 37, '2015-01-01', 'in_post'),
                   ('GONE', 'G One', 'PO', 'P', NULL, 37, '2015-01-01', 'left'),
                   ('QPO', 'Q One', 'PO', 'Q', NULL, 37, '2015-01-01', 'in_post');
                 INSERT INTO cases (crn, name, pdu, tier, rosh, mappa_category, mappa_level, case_type,
                                    sentence_date, unallocated_since)
                   VALUES ('X000001', 'N', 'P', 'A2', 'HIGH', 2, 1, 'LICENCE', '2026-01-01', '2026-10-01');
                 INSERT INTO cases (crn, name, pdu, tier, rosh, case_type, sentence_date, allocated_to, allocated_on)
                   VALUES ('X000002', 'M', 'P', 'D1', 'LOW', 'COMMUNITY', '2026-01-01', 'PSO1', '2026-02-01');",
            )
            .unwrap();
        (dir, s)
    }

    fn count(s: &Store, sql: &str) -> i64 {
        s.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn allocating_an_unallocated_mappa_case_is_audited_in_the_same_transaction() {
        let (_d, mut s) = fixture();
        let p = Policy::defaults();
        let done = allocate(
            s.conn_mut(),
            &p,
            d("2026-11-01"),
            "alice",
            "X000001",
            "PO1",
            AllocationReason::InitialAllocation,
            Some("urgent"),
            false,
        )
        .unwrap();
        let (to, on): (String, String) = s
            .conn()
            .query_row(
                "SELECT allocated_to, allocated_on FROM cases WHERE crn = 'X000001'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((to.as_str(), on.as_str()), ("PO1", "2026-11-01"));
        let log = audit_log(s.conn(), Some("X000001"), None).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].id, done.audit_id);
        assert_eq!(log[0].actor, "alice");
        assert_eq!(log[0].action, "allocate");
        assert_eq!(log[0].before["allocated_to"], Value::Null);
        assert_eq!(log[0].after["allocated_to"], "PO1");
        assert_eq!(log[0].reason.as_deref(), Some("initial_allocation"));
        assert_eq!(count(&s, "SELECT count(*) FROM notes"), 1);
    }

    #[test]
    fn a_high_risk_case_to_a_pso_needs_confirming_and_writes_nothing_until_then() {
        let (_d, mut s) = fixture();
        let p = Policy::defaults();
        let e = allocate(
            s.conn_mut(),
            &p,
            d("2026-11-01"),
            "a",
            "X000001",
            "PSO1",
            AllocationReason::InitialAllocation,
            None,
            false,
        )
        .unwrap_err();
        assert!(
            matches!(&e, ActionError::NeedsConfirmation(w) if w.contains("MAPPA")),
            "{e}"
        );
        assert_eq!(count(&s, "SELECT count(*) FROM audit"), 0);
        assert_eq!(
            count(&s, "SELECT count(*) FROM cases WHERE allocated_to IS NULL"),
            1
        );
        allocate(
            s.conn_mut(),
            &p,
            d("2026-11-01"),
            "a",
            "X000001",
            "PSO1",
            AllocationReason::InitialAllocation,
            None,
            true,
        )
        .unwrap();
    }

    #[test]
    fn rejected_allocations_write_nothing() {
        let (_d, mut s) = fixture();
        let p = Policy::defaults();
        let mut try_alloc = |crn: &str, staff: &str| {
            allocate(
                s.conn_mut(),
                &p,
                d("2026-11-01"),
                "a",
                crn,
                staff,
                AllocationReason::Other,
                None,
                true,
            )
            .unwrap_err()
        };
        assert!(matches!(
            try_alloc("X999999", "PO1"),
            ActionError::UnknownCase
        ));
        assert!(matches!(
            try_alloc("X000001", "QPO"),
            ActionError::OtherPdu { .. }
        ));
        assert!(matches!(
            try_alloc("X000001", "GONE"),
            ActionError::NotAvailable(..)
        ));
        assert!(matches!(
            try_alloc("X000001", "NOPE"),
            ActionError::UnknownPractitioner(_)
        ));
        assert!(matches!(
            try_alloc("X000002", "PSO1"),
            ActionError::AlreadyAllocated(_)
        ));
        assert_eq!(count(&s, "SELECT count(*) FROM audit"), 0);
        assert_eq!(count(&s, "SELECT count(*) FROM allocations"), 0);
    }

    #[test]
    fn reallocation_keeps_the_history_and_undo_restores_it() {
        let (_d, mut s) = fixture();
        let p = Policy::defaults();
        let done = allocate(
            s.conn_mut(),
            &p,
            d("2026-11-01"),
            "a",
            "X000002",
            "PO1",
            AllocationReason::CaseloadAdjustment,
            None,
            false,
        )
        .unwrap();
        let detail = read::case_detail(s.conn(), &p, "X000002").unwrap().unwrap();
        assert_eq!(detail.allocations.len(), 2, "current and previous");
        assert_eq!(detail.allocations[1].staff_code, "PSO1");
        assert_eq!(detail.allocations[1].reason, "caseload_adjustment");
        undo(s.conn_mut(), "a", done.audit_id).unwrap();
        let back: String = s
            .conn()
            .query_row(
                "SELECT allocated_to FROM cases WHERE crn = 'X000002'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(back, "PSO1");
        assert_eq!(count(&s, "SELECT count(*) FROM allocations"), 0);
        assert!(matches!(
            undo(s.conn_mut(), "a", done.audit_id),
            Err(ActionError::AlreadyUndone)
        ));
        let log = audit_log(s.conn(), Some("X000002"), None).unwrap();
        assert_eq!(
            log.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
            ["reallocate", "undo"]
        );
    }

    #[test]
    fn oversight_must_be_by_an_spo_and_updates_last_oversight() {
        let (_d, mut s) = fixture();
        let e = record_oversight(
            s.conn_mut(),
            d("2026-11-01"),
            "a",
            "X000002",
            "PO1",
            OversightKind::Periodic,
            "n",
            false,
        )
        .unwrap_err();
        assert!(matches!(e, ActionError::NotSpo(..)));
        record_oversight(
            s.conn_mut(),
            d("2026-11-01"),
            "a",
            "X000002",
            "SPO1",
            OversightKind::Periodic,
            "reviewed",
            true,
        )
        .unwrap();
        let last: String = s
            .conn()
            .query_row(
                "SELECT last_oversight FROM cases WHERE crn = 'X000002'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(last, "2026-11-01");
        let log = audit_log(s.conn(), None, None).unwrap();
        let hidden = log[0].clone().redact(false);
        assert_eq!(hidden.after["note"], "[sensitive: hidden]");
        assert_eq!(log[0].clone().redact(true).after["note"], "reviewed");
    }

    #[test]
    fn a_write_blocked_by_another_writer_gives_up_clearly_and_writes_nothing() {
        let (dir, mut s) = fixture();
        s.conn()
            .busy_timeout(std::time::Duration::from_millis(20))
            .unwrap();
        let other = Connection::open(dir.path().join("a.db")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE;").unwrap();
        let e = with_retry(2, || {
            add_note(s.conn_mut(), "a", "X000001", "blocked", false)
        })
        .unwrap_err();
        assert!(matches!(e, ActionError::Busy(2)), "{e}");
        assert!(e.to_string().contains("nothing was written"));
        other.execute_batch("ROLLBACK;").unwrap();
        assert_eq!(count(&s, "SELECT count(*) FROM notes"), 0);
        with_retry(2, || add_note(s.conn_mut(), "a", "X000001", "now", false)).unwrap();
        assert_eq!(count(&s, "SELECT count(*) FROM notes"), 1);
    }

    #[test]
    fn the_audit_trail_refuses_updates_and_deletes() {
        let (_d, mut s) = fixture();
        add_note(s.conn_mut(), "a", "X000001", "called the hostel", false).unwrap();
        let e = s.conn().execute("DELETE FROM audit", []).unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
        let e = s
            .conn()
            .execute("UPDATE audit SET actor = 'mallory'", [])
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
        assert_eq!(count(&s, "SELECT count(*) FROM audit"), 1);
    }

    #[test]
    fn candidates_are_least_loaded_first_with_warnings_in_words() {
        let (_d, s) = fixture();
        let p = Policy::defaults();
        let case = case_facts(s.conn(), "X000001").unwrap();
        let c = candidates(s.conn(), &p, d("2026-11-01"), &case).unwrap();
        let codes: Vec<&str> = c.iter().map(|c| c.staff_code.as_str()).collect();
        assert!(!codes.contains(&"GONE") && !codes.contains(&"QPO"));
        assert_eq!(codes[0], "PO1");
        let pso = c.iter().find(|c| c.staff_code == "PSO1").unwrap();
        assert!(
            pso.warnings
                .iter()
                .any(|w| w.contains("probation officers"))
        );
        assert!(
            c.iter()
                .find(|c| c.staff_code == "PO1")
                .unwrap()
                .warnings
                .is_empty()
        );
    }
}
