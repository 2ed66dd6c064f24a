//! Triage actions (allocate, record oversight, add a note, undo) and the audit trail.
//!
//! Every write records an audit row in the same transaction as the change: when, who, what,
//! before and after. The audit table refuses updates and deletes (triggers in the schema), so
//! the trail is append-only even for other SQLite clients.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::{AllocationReason, Grade, OversightKind, PractitionerStatus, fmt_date};
use crate::eligibility::{CaseRisk, Officer};
use crate::policy::Policy;
use crate::store::Db;
use crate::store::triage::{self as db, Added, AuditEntry, Fault, Triage, TriageStore};
pub use crate::store::triage::{AuditRow, CaseFacts, NoteRow};

/// What sensitive text shows as where it is not asked for.
pub const SENSITIVE_HIDDEN: &str = "[sensitive: hidden]";

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
    #[error("{0}; nothing was written")]
    Changed(Changed),
    #[error(
        "the case is already allocated to {0}: an initial allocation is for an unallocated case; give the reason for reallocating (see --reason)"
    )]
    NotInitial(String),
    #[error(
        "an allocation needs its rationale (--note TEXT): why this officer, so the decision is on record"
    )]
    RationaleNeeded,
    #[error(
        "the write would be dated {as_of}, after today ({today}); check --as-of (writes are dated with it)"
    )]
    FutureDate { as_of: NaiveDate, today: NaiveDate },
    #[error("{what} {why} at character {at}; type plain text")]
    BadText {
        what: String,
        why: String,
        at: usize,
    },
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
    #[error("PostgreSQL: {}", crate::store::pg::reason(.0))]
    Pg(postgres::Error),
    /// What this backend cannot do yet, and what to do instead; nothing was written.
    #[error("{0}")]
    Unsupported(&'static str),
}

impl From<Fault> for ActionError {
    fn from(f: Fault) -> ActionError {
        match f {
            Fault::Sqlite(e) => ActionError::Sqlite(e),
            Fault::Pg(e) => ActionError::Pg(e),
        }
    }
}

impl ActionError {
    /// Another connection held the write lock past the busy timeout, or the server rolled
    /// the write back for another to finish: nothing was written, and trying again may work.
    pub fn is_busy(&self) -> bool {
        match self {
            ActionError::Sqlite(e) => crate::store::triage::sqlite_busy(e),
            ActionError::Pg(e) => crate::store::triage::pg_busy(e),
            _ => false,
        }
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

/// Appends one audit row, stamped now. Call inside the transaction that makes the change.
pub fn record_audit(conn: Db<'_>, entry: &AuditEntry<'_>) -> rusqlite::Result<i64> {
    db::append_audit(conn, &now(), entry)
}

/// [`record_audit`] on either backend.
pub fn record_audit_in(db: &mut dyn Triage, entry: &AuditEntry<'_>) -> Result<i64, Fault> {
    db.append_audit(&now(), entry)
}

/// Checks free text typed by a user (notes, rationales, acknowledgements, silence reasons):
/// the same rules as imported text, so nothing stored can act on someone's terminal later.
pub fn check_text(what: &str, text: &str) -> Result<String, ActionError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(ActionError::EmptyNote);
    }
    if t.chars().count() > MAX_NOTE {
        return Err(ActionError::NoteTooLong(MAX_NOTE));
    }
    if let Err(why) = crate::import::check_text(t, MAX_NOTE, true) {
        let at = t
            .chars()
            .position(|c| crate::text::is_unsafe(c) && !matches!(c, '\n' | '\t'))
            .map_or(0, |p| p + 1);
        return Err(ActionError::BadText {
            what: what.to_string(),
            why,
            at,
        });
    }
    Ok(t.to_string())
}

fn check_note(text: &str) -> Result<String, ActionError> {
    check_text("the note", text)
}

/// The machine's today: no write may be dated after it, whatever `--as-of` says.
pub fn machine_today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// Refuses a write dated after the machine's today (a mistyped `--as-of` would otherwise
/// hide a case's next oversight for years).
pub fn check_write_date(as_of: NaiveDate) -> Result<(), ActionError> {
    let today = machine_today();
    if as_of > today {
        return Err(ActionError::FutureDate { as_of, today });
    }
    Ok(())
}

/// Who holds a case, as a form or the command line read it. A write that states what it
/// expects is refused when the case no longer matches, so nobody's change is overwritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holding {
    pub allocated_to: Option<String>,
    pub allocated_on: Option<NaiveDate>,
}

impl Holding {
    pub fn unallocated() -> Holding {
        Holding {
            allocated_to: None,
            allocated_on: None,
        }
    }

    /// Only the holder (for `--was` on the command line, which knows no dates).
    pub fn held_by(staff_code: &str) -> Holding {
        Holding {
            allocated_to: Some(staff_code.to_string()),
            allocated_on: None,
        }
    }

    /// Whether the case as it is now still matches this expectation (a missing date
    /// matches any date).
    pub fn matches(&self, now: &Holding) -> bool {
        let same_holder = match (&self.allocated_to, &now.allocated_to) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            (None, None) => true,
            _ => false,
        };
        same_holder && (self.allocated_on.is_none() || self.allocated_on == now.allocated_on)
    }

    pub fn words(&self) -> String {
        match (&self.allocated_to, self.allocated_on) {
            (Some(s), Some(on)) => format!("allocated to {s} since {}", fmt_date(on)),
            (Some(s), None) => format!("allocated to {s}"),
            (None, _) => "unallocated".into(),
        }
    }
}

/// The latest change to a case's allocation, from the audit: who, when, what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub expected: String,
    pub now: Holding,
    /// "alice at 2026-12-04T17:20:03Z (allocate, initial_allocation)", or how else it changed.
    pub by: String,
}

impl std::fmt::Display for Changed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the case changed since it was read: it was {}, it is now {} ({})",
            self.expected,
            self.now.words(),
            self.by
        )
    }
}

/// Who last changed the case's allocation, in words, from the audit trail. An import or
/// another program leaves no per-case audit row; say so rather than guess.
pub fn last_change_words(conn: Db<'_>, crn: &str) -> Result<String, ActionError> {
    let mut conn = conn;
    last_change_words_in(&mut conn, crn)
}

fn last_change_words_in(db: &mut dyn Triage, crn: &str) -> Result<String, ActionError> {
    Ok(match db.last_allocation_change(crn)? {
        Some(db::LastChange {
            actor,
            login,
            at,
            action,
            reason,
        }) => format!(
            "by {}{} at {}: {}{}",
            crate::text::quote_value(&actor, 40),
            // On a server, the login is who it was; the actor is what they called themselves.
            login
                .filter(|l| *l != actor)
                .map(|l| format!(" (login {})", crate::text::quote_value(&l, 40)))
                .unwrap_or_default(),
            at,
            action,
            reason
                .map(|r| format!(", {}", crate::text::quote_value(&r, 40)))
                .unwrap_or_default()
        ),
        None => "changed by an import or another program; no audit entry names who".into(),
    })
}

/// The case, read inside the write's transaction, refused when it no longer matches what
/// the caller stated it read.
fn case_as_expected(
    db: &mut dyn Triage,
    crn: &str,
    expect: Option<&Holding>,
) -> Result<CaseFacts, ActionError> {
    let case = db.case_facts(crn)?.ok_or(ActionError::UnknownCase)?;
    if let Some(expect) = expect
        && !expect.matches(&case.holding())
    {
        return Err(ActionError::Changed(Changed {
            expected: expect.words(),
            now: case.holding(),
            by: last_change_words_in(db, crn)?,
        }));
    }
    Ok(case)
}

impl CaseFacts {
    pub fn is_high_risk(&self) -> bool {
        self.risk().is_high_risk()
    }

    pub fn risk(&self) -> CaseRisk {
        CaseRisk {
            tier: self.tier,
            rosh: self.rosh,
            mappa: self.mappa,
        }
    }

    pub fn holding(&self) -> Holding {
        Holding {
            allocated_to: self.allocated_to.clone(),
            allocated_on: self.allocated_on,
        }
    }
}

pub fn case_facts(conn: Db<'_>, crn: &str) -> Result<CaseFacts, ActionError> {
    db::case_facts(conn, crn)?.ok_or(ActionError::UnknownCase)
}

/// One practitioner a case could go to, with capacity now and after taking it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub staff_code: String,
    pub name: String,
    pub grade: Grade,
    pub team: Option<String>,
    pub status: PractitionerStatus,
    pub contracted_hours: f64,
    pub caseload: u64,
    pub high_risk_cases: u64,
    pub capacity_now: Option<f64>,
    pub capacity_after: Option<f64>,
    /// Why the allocation rules say this officer should not hold this case; empty when
    /// suitable.
    pub not_suitable: Vec<String>,
    /// Reasons to think twice, in words; empty when none.
    pub warnings: Vec<String>,
    /// The date this officer stopped managing the case, when they managed it before.
    pub previously_managed_until: Option<NaiveDate>,
}

impl Candidate {
    pub fn is_suitable(&self) -> bool {
        self.not_suitable.is_empty()
    }

    /// Everything an SPO must confirm before this allocation is written.
    pub fn to_confirm(&self) -> Vec<String> {
        self.not_suitable
            .iter()
            .chain(&self.warnings)
            .cloned()
            .collect()
    }
}

/// The allocation picker's content: the case as read, who holds it now, and the officers
/// of its PDU it could go to: suitable ones first (best fit first), then the rest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Picker {
    pub case: CaseFacts,
    /// The current holder, on a reallocation (not offered again).
    pub holder: Option<Candidate>,
    pub candidates: Vec<Candidate>,
    /// How many candidates at the front are suitable.
    pub suitable: usize,
    /// Whether the allocation must carry a rationale (`allocation.rationale_required`).
    pub rationale_required: bool,
}

/// Every practitioner of the case's PDU who works cases, judged against the allocation
/// rules: suitable officers first (a previous holder of the case first, then least loaded
/// after taking it), then the rest (least serious reason first, then least loaded). Grades
/// never offered cases (SPOs) are left out.
pub fn candidates(
    conn: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    case: &CaseFacts,
) -> Result<Picker, ActionError> {
    let all = assess_all(&mut { conn }, policy, as_of, case)?;
    let previous = db::previous_holders(conn, &case.crn)?;
    let mut holder = None;
    let mut list = Vec::new();
    for c in all {
        if case.allocated_to.as_deref() == Some(c.staff_code.as_str()) {
            holder = Some(c);
        } else if policy.allocation.offered(c.grade) {
            list.push(c);
        }
    }
    for c in &mut list {
        c.previously_managed_until = previous
            .iter()
            .find(|(s, _)| *s == c.staff_code)
            .map(|(_, d)| *d);
    }
    let load = |c: &Candidate| c.capacity_after.unwrap_or(f64::MAX);
    list.sort_by(|a, b| {
        b.is_suitable()
            .cmp(&a.is_suitable())
            .then_with(|| {
                b.previously_managed_until
                    .is_some()
                    .cmp(&a.previously_managed_until.is_some())
            })
            .then_with(|| a.not_suitable.len().cmp(&b.not_suitable.len()))
            .then_with(|| load(a).total_cmp(&load(b)))
            .then_with(|| a.staff_code.cmp(&b.staff_code))
    });
    let suitable = list.iter().take_while(|c| c.is_suitable()).count();
    Ok(Picker {
        case: case.clone(),
        holder,
        candidates: list,
        suitable,
        rationale_required: policy.allocation.rationale_required,
    })
}

/// Every working practitioner of the case's PDU (any grade), assessed for this case.
fn assess_all(
    db: &mut dyn Triage,
    policy: &Policy,
    as_of: NaiveDate,
    case: &CaseFacts,
) -> Result<Vec<Candidate>, ActionError> {
    let points = case.tier.map_or(0.0, |t| policy.case_points(t));
    let rows = db.practitioners_of(policy, as_of, &case.pdu)?;
    let risk = case.risk();
    Ok(rows
        .into_iter()
        .filter(|p| p.status.works_cases())
        .map(|p| {
            let available =
                policy.available_points(p.grade, p.contracted_hours, p.start_date, as_of);
            let capacity_after = available
                .filter(|a| *a > 0.0)
                .map(|a| (p.points + points) / a * 100.0);
            let verdict = policy.allocation.assess(
                &risk,
                &Officer {
                    staff_code: &p.staff_code,
                    grade: p.grade,
                    caseload: p.caseload,
                    capacity_now: p.capacity_pct,
                    capacity_after,
                },
            );
            Candidate {
                staff_code: p.staff_code,
                name: p.name,
                grade: p.grade,
                team: p.team,
                status: p.status,
                contracted_hours: p.contracted_hours,
                caseload: p.caseload,
                high_risk_cases: p.high_risk_cases,
                capacity_now: p.capacity_pct,
                capacity_after,
                not_suitable: verdict.not_suitable,
                warnings: verdict.warnings,
                previously_managed_until: None,
            }
        })
        .collect())
}

/// Whether the oversight form should start on kind `allocation`: the case was (re)allocated
/// within the high-risk oversight interval and no allocation oversight is recorded since.
pub fn allocation_oversight_due(
    conn: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    case: &CaseFacts,
) -> Result<bool, ActionError> {
    let Some(on) = case.allocated_on else {
        return Ok(false);
    };
    if (as_of - on).num_days() > i64::from(policy.oversight.high_risk_interval_days) {
        return Ok(false);
    }
    Ok(!db::allocation_oversight_since(conn, &case.crn, on)?)
}

/// The result of a write: the audit row that records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Done {
    pub audit_id: i64,
}

/// One allocation, as the screen or the command line asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    pub crn: String,
    pub staff_code: String,
    pub reason: AllocationReason,
    /// The rationale (HMPPS's "allocation notes and SPO oversight"), kept as a note on the
    /// case and in the audit.
    pub note: Option<String>,
    pub sensitive: bool,
    /// Who held the case when the form opened (or as `--was` states); `None` states nothing.
    pub expect: Option<Holding>,
    /// The SPO has seen and accepted the warnings.
    pub confirmed: bool,
}

/// The staff code as stored, matched case-insensitively (like CRNs).
pub fn resolve_staff_code(conn: Db<'_>, code: &str) -> Result<String, ActionError> {
    resolve_staff_code_in(&mut { conn }, code)
}

fn resolve_staff_code_in(db: &mut dyn Triage, code: &str) -> Result<String, ActionError> {
    db.staff_code_as_stored(code.trim())?
        .ok_or_else(|| ActionError::UnknownPractitioner(crate::text::quote_value(code, 20)))
}

/// The officer an allocation names, as stored, once it is known that they can take this
/// case at all: same PDU, working, not already its holder, and the reason fits the case.
fn officer_for(
    db: &mut dyn Triage,
    case: &CaseFacts,
    typed: &str,
    reason: AllocationReason,
) -> Result<String, ActionError> {
    let staff_code = resolve_staff_code_in(db, typed)?;
    let (staff_pdu, status, _) = db.practitioner_post(&staff_code)?.ok_or_else(|| {
        ActionError::UnknownPractitioner(crate::text::quote_value(&staff_code, 20))
    })?;
    if staff_pdu != case.pdu {
        return Err(ActionError::OtherPdu {
            staff: staff_code,
            staff_pdu,
            case_pdu: case.pdu.clone(),
        });
    }
    let status: PractitionerStatus = status
        .parse()
        .map_err(|_| ActionError::NotAvailable(staff_code.clone(), PractitionerStatus::Left))?;
    if !status.works_cases() {
        return Err(ActionError::NotAvailable(staff_code, status));
    }
    if case.allocated_to.as_deref() == Some(staff_code.as_str()) {
        return Err(ActionError::AlreadyAllocated(staff_code));
    }
    if let (AllocationReason::InitialAllocation, Some(holder)) = (reason, &case.allocated_to) {
        return Err(ActionError::NotInitial(holder.clone()));
    }
    Ok(staff_code)
}

/// Allocates (or reallocates) a case. Refuses unknown cases and practitioners, practitioners
/// of another PDU or unavailable ones, a case that no longer matches what the caller read
/// (`expect`), an initial allocation of a case someone holds, and a write dated after today.
/// When the officer is not suitable or the allocation raises warnings, `confirmed` must be
/// set or nothing is written.
pub fn allocate(
    store: &mut impl TriageStore,
    policy: &Policy,
    as_of: NaiveDate,
    actor: &str,
    req: &Allocation,
) -> Result<Done, ActionError> {
    check_write_date(as_of)?;
    let note = req
        .note
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .map(|n| check_text("the rationale", n))
        .transpose()?;
    if note.is_none()
        && (policy.allocation.rationale_required || req.reason == AllocationReason::Other)
    {
        return Err(ActionError::RationaleNeeded);
    }
    store.in_write(|db| allocate_in(db, policy, as_of, actor, req, note))
}

fn allocate_in(
    db: &mut dyn Triage,
    policy: &Policy,
    as_of: NaiveDate,
    actor: &str,
    req: &Allocation,
    note: Option<String>,
) -> Result<Done, ActionError> {
    let crn = req.crn.as_str();
    let case = case_as_expected(db, crn, req.expect.as_ref())?;
    let staff_code = officer_for(db, &case, &req.staff_code, req.reason)?;
    let staff_code = staff_code.as_str();
    let assessed = assess_all(db, policy, as_of, &case)?;
    let chosen = assessed.iter().find(|c| c.staff_code == staff_code);
    let to_confirm = chosen.map(Candidate::to_confirm).unwrap_or_default();
    if !to_confirm.is_empty() && !req.confirmed {
        return Err(ActionError::NeedsConfirmation(to_confirm.join("; ")));
    }
    let on = fmt_date(as_of);
    let mut history_id = None;
    if let (Some(prev), Some(prev_on)) = (&case.allocated_to, case.allocated_on) {
        history_id = Some(db.close_allocation(crn, prev, prev_on, as_of, req.reason.as_str())?);
    }
    db.set_holder(crn, Some(staff_code), Some(&on), None)?;
    let note_id = note
        .as_deref()
        .map(|text| db.insert_note(crn, &now(), actor, text, req.sensitive))
        .transpose()?;
    let before = json!({
        "allocated_to": case.allocated_to,
        "allocated_on": case.allocated_on.map(fmt_date),
        "unallocated_since": case.unallocated_since.map(fmt_date),
    });
    let after = json!({
        "allocated_to": staff_code,
        "allocated_on": on,
        "unallocated_since": null,
        "history_id": history_id,
        "note_id": note_id,
        "note": note,
        "sensitive": note.is_some() && req.sensitive,
        "grade": chosen.map(|c| c.grade.as_str()),
        "not_suitable": chosen.map(|c| c.not_suitable.clone()).unwrap_or_default(),
        "warnings": chosen.map(|c| c.warnings.clone()).unwrap_or_default(),
        "confirmed": !to_confirm.is_empty(),
    });
    let action = if case.allocated_to.is_some() {
        "reallocate"
    } else {
        "allocate"
    };
    let audit_id = record_audit_in(
        db,
        &AuditEntry {
            actor,
            action,
            crn: Some(crn),
            subject: Some(staff_code),
            before: Some(&before),
            after: Some(&after),
            reason: Some(req.reason.as_str()),
        },
    )?;
    Ok(Done { audit_id })
}

/// One management-oversight entry, as the screen or the command line asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct OversightEntry {
    pub crn: String,
    /// Staff code of the SPO (matched case-insensitively).
    pub by: String,
    pub kind: OversightKind,
    pub note: String,
    pub sensitive: bool,
    /// Who held the case when the form opened; `None` states nothing.
    pub expect: Option<Holding>,
}

/// Records an SPO's management oversight of a case, dated `as_of` (never after today).
pub fn record_oversight(
    store: &mut impl TriageStore,
    as_of: NaiveDate,
    actor: &str,
    e: &OversightEntry,
) -> Result<Done, ActionError> {
    check_write_date(as_of)?;
    let note = check_note(&e.note)?;
    store.in_write(|db| oversight_in(db, as_of, actor, e, note))
}

fn oversight_in(
    db: &mut dyn Triage,
    as_of: NaiveDate,
    actor: &str,
    e: &OversightEntry,
    note: String,
) -> Result<Done, ActionError> {
    let crn = e.crn.as_str();
    let case = case_as_expected(db, crn, e.expect.as_ref())?;
    let by = resolve_staff_code_in(db, &e.by)?;
    let (pdu, grade) = db
        .practitioner_post(&by)?
        .filter(|(_, status, _)| status != "left")
        .map(|(pdu, _, grade)| (pdu, grade))
        .ok_or_else(|| ActionError::UnknownPractitioner(crate::text::quote_value(&by, 20)))?;
    let grade: Grade = grade.parse().unwrap_or(Grade::Pso);
    if grade != Grade::Spo {
        return Err(ActionError::NotSpo(by, grade));
    }
    if pdu != case.pdu {
        return Err(ActionError::OtherPdu {
            staff: by,
            staff_pdu: pdu,
            case_pdu: case.pdu,
        });
    }
    let date = fmt_date(as_of);
    let kind = e.kind;
    let id = db.insert_oversight(&db::NewOversight {
        crn,
        date: as_of,
        by: &by,
        kind: kind.as_str(),
        note: &note,
        sensitive: e.sensitive,
    })?;
    let after = json!({"oversight_id": id, "date": date, "by": by, "kind": kind.as_str(),
                       "note": note, "sensitive": e.sensitive});
    let audit_id = record_audit_in(
        db,
        &AuditEntry {
            actor,
            action: "oversight",
            crn: Some(crn),
            subject: Some(&by),
            before: None,
            after: Some(&after),
            reason: None,
        },
    )?;
    Ok(Done { audit_id })
}

/// Adds a note to a case.
pub fn add_note(
    store: &mut impl TriageStore,
    actor: &str,
    crn: &str,
    text: &str,
    sensitive: bool,
) -> Result<Done, ActionError> {
    let text = check_note(text)?;
    store.in_write(|db| {
        db.case_facts(crn)?.ok_or(ActionError::UnknownCase)?;
        let id = db.insert_note(crn, &now(), actor, &text, sensitive)?;
        let after = json!({"note_id": id, "note": text, "sensitive": sensitive});
        let audit_id = record_audit_in(
            db,
            &AuditEntry {
                actor,
                action: "note",
                crn: Some(crn),
                subject: None,
                before: None,
                after: Some(&after),
                reason: None,
            },
        )?;
        Ok(Done { audit_id })
    })
}

/// Reverses the action recorded by `audit_id` (allocation, oversight or note), if it is
/// recent and not already undone. The undo is itself audited.
pub fn undo(store: &mut impl TriageStore, actor: &str, audit_id: i64) -> Result<Done, ActionError> {
    store.in_write(|db| {
        let Some((at, action, crn, before, after)) = db.audit_core(audit_id)? else {
            return Err(ActionError::NothingToUndo);
        };
        if db.is_undone(audit_id)? {
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
                // Only while the case is still as this action left it: a later allocation
                // (by another user, or an import) must not be silently thrown away. The
                // holder is read first: on PostgreSQL that locks the case against writers.
                let now = db.holder_as_stored(&crn)?;
                let changed_later = db.allocated_again_after(&crn, audit_id)?;
                if changed_later
                    || now.0.as_deref() != after["allocated_to"].as_str()
                    || now.1.as_deref() != after["allocated_on"].as_str()
                {
                    return Err(ActionError::ChangedSince);
                }
                db.set_holder(
                    &crn,
                    before["allocated_to"].as_str(),
                    before["allocated_on"].as_str(),
                    before["unallocated_since"].as_str(),
                )?;
                if let Some(h) = after["history_id"].as_i64() {
                    db.delete_added(Added::AllocationHistory, h, audit_id)?;
                }
                if let Some(n) = after["note_id"].as_i64() {
                    db.delete_added(Added::Note, n, audit_id)?;
                }
            }
            "oversight" => {
                if let Some(id) = after["oversight_id"].as_i64() {
                    db.delete_added(Added::Oversight, id, audit_id)?;
                }
            }
            "note" => {
                if let Some(id) = after["note_id"].as_i64() {
                    db.delete_added(Added::Note, id, audit_id)?;
                }
            }
            _ => return Err(ActionError::NothingToUndo),
        }
        let undo_id = record_audit_in(
            db,
            &AuditEntry {
                actor,
                action: "undo",
                crn: Some(&crn),
                subject: Some(&audit_id.to_string()),
                before: Some(&after),
                after: Some(&before),
                reason: Some(&action),
            },
        )?;
        Ok(Done { audit_id: undo_id })
    })
}

impl AuditRow {
    /// Hides the text of sensitive notes unless asked.
    pub fn redact(mut self, show_sensitive: bool) -> AuditRow {
        if !show_sensitive {
            // An undo carries the undone action's values in `before`: hide both sides.
            for v in [&mut self.before, &mut self.after] {
                if v["sensitive"].as_bool() == Some(true) && v.get("note").is_some() {
                    v["note"] = Value::String(SENSITIVE_HIDDEN.into());
                }
            }
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

/// Notes on a case, newest first.
pub fn notes(conn: Db<'_>, crn: &str) -> rusqlite::Result<Vec<NoteRow>> {
    db::notes(conn, crn)
}

/// The audit trail, oldest first, optionally for one case and from a date.
pub fn audit_log(
    conn: Db<'_>,
    crn: Option<&str>,
    since: Option<NaiveDate>,
) -> rusqlite::Result<Vec<AuditRow>> {
    db::audit_log(conn, crn, since)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::read;
    use crate::store::{OpenMode, Store};
    use rusqlite::Connection;

    fn d(s: &str) -> NaiveDate {
        crate::domain::parse_date("d", s).unwrap()
    }

    /// Two PDUs; P has an SPO, a PO, a PSO and a leaver; Q has a PO. One unallocated MAPPA
    /// case and one allocated low-risk case in P.
    fn fixture() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("a.db"), OpenMode::CreateIfMissing).unwrap();
        s.db().sql()
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
        s.db().sql().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn req(crn: &str, staff: &str, reason: AllocationReason, confirmed: bool) -> Allocation {
        Allocation {
            crn: crn.into(),
            staff_code: staff.into(),
            reason,
            note: Some("why this officer".into()),
            sensitive: false,
            expect: None,
            confirmed,
        }
    }

    fn entry(crn: &str, by: &str, note: &str, sensitive: bool) -> OversightEntry {
        OversightEntry {
            crn: crn.into(),
            by: by.into(),
            kind: OversightKind::Periodic,
            note: note.into(),
            sensitive,
            expect: None,
        }
    }

    const ON: &str = "2026-11-01";

    #[test]
    fn allocating_an_unallocated_mappa_case_is_audited_in_the_same_transaction() {
        let (_d, mut s) = fixture();
        let p = Policy::defaults();
        let mut r = req("X000001", "PO1", AllocationReason::InitialAllocation, false);
        r.note = Some("urgent".into());
        let done = allocate(&mut s, &p, d(ON), "alice", &r).unwrap();
        let (to, on): (String, String) = s
            .db()
            .sql()
            .query_row(
                "SELECT allocated_to, allocated_on FROM cases WHERE crn = 'X000001'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((to.as_str(), on.as_str()), ("PO1", ON));
        let log = audit_log(s.db(), Some("X000001"), None).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].id, done.audit_id);
        assert_eq!(log[0].actor, "alice");
        assert_eq!(log[0].action, "allocate");
        assert_eq!(log[0].before["allocated_to"], Value::Null);
        assert_eq!(log[0].after["allocated_to"], "PO1");
        assert_eq!(log[0].after["note"], "urgent");
        assert_eq!(log[0].reason.as_deref(), Some("initial_allocation"));
        assert_eq!(count(&s, "SELECT count(*) FROM notes"), 1);
    }

    #[test]
    fn an_allocation_needs_its_rationale() {
        let (_d, mut s) = fixture();
        let p = Policy::defaults();
        let mut r = req("X000001", "PO1", AllocationReason::InitialAllocation, false);
        r.note = None;
        let e = allocate(&mut s, &p, d(ON), "a", &r).unwrap_err();
        assert!(matches!(e, ActionError::RationaleNeeded), "{e}");
        assert_eq!(count(&s, "SELECT count(*) FROM audit"), 0);
    }

    #[test]
    fn a_high_risk_case_to_a_pso_needs_confirming_and_writes_nothing_until_then() {
        let (_d, mut s) = fixture();
        let p = Policy::defaults();
        let r = req(
            "X000001",
            "PSO1",
            AllocationReason::InitialAllocation,
            false,
        );
        let e = allocate(&mut s, &p, d(ON), "a", &r).unwrap_err();
        assert!(
            matches!(&e, ActionError::NeedsConfirmation(w) if w.contains("MAPPA")),
            "{e}"
        );
        assert_eq!(count(&s, "SELECT count(*) FROM audit"), 0);
        assert_eq!(
            count(&s, "SELECT count(*) FROM cases WHERE allocated_to IS NULL"),
            1
        );
        let r = req("X000001", "PSO1", AllocationReason::InitialAllocation, true);
        allocate(&mut s, &p, d(ON), "a", &r).unwrap();
        let log = audit_log(s.db(), Some("X000001"), None).unwrap();
        assert_eq!(log[0].after["confirmed"], true);
        assert!(
            log[0].after["not_suitable"][0]
                .as_str()
                .unwrap()
                .contains("MAPPA")
        );
    }

    #[test]
    fn an_spo_is_never_offered_and_the_command_line_must_confirm_one() {
        let (_d, mut s) = fixture();
        let p = Policy::defaults();
        let case = case_facts(s.db(), "X000002").unwrap();
        let picker = candidates(s.db(), &p, d(ON), &case).unwrap();
        assert!(picker.candidates.iter().all(|c| c.staff_code != "SPO1"));
        let r = req(
            "X000002",
            "spo1",
            AllocationReason::CaseloadAdjustment,
            false,
        );
        let e = allocate(&mut s, &p, d(ON), "a", &r).unwrap_err();
        assert!(
            matches!(&e, ActionError::NeedsConfirmation(w) if w.contains("do not hold cases")),
            "{e}"
        );
    }

    #[test]
    fn rejected_allocations_write_nothing() {
        let (_d, mut s) = fixture();
        let p = Policy::defaults();
        let mut try_alloc = |crn: &str, staff: &str| {
            allocate(
                &mut s,
                &p,
                d(ON),
                "a",
                &req(crn, staff, AllocationReason::Other, true),
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
    fn a_write_that_expects_an_older_state_is_refused_and_says_who_changed_it() {
        let (_d, mut s) = fixture();
        let p = Policy::defaults();
        // The form opened while the case was unallocated; a colleague allocated it since.
        let seen = case_facts(s.db(), "X000001").unwrap().holding();
        allocate(
            &mut s,
            &p,
            d(ON),
            "colleague",
            &req("X000001", "PO1", AllocationReason::InitialAllocation, false),
        )
        .unwrap();
        let mut mine = req("X000001", "PSO1", AllocationReason::InitialAllocation, true);
        mine.expect = Some(seen);
        let e = allocate(&mut s, &p, d(ON), "me", &mine).unwrap_err();
        let ActionError::Changed(c) = &e else {
            panic!("{e}");
        };
        assert_eq!(c.now.allocated_to.as_deref(), Some("PO1"));
        let words = e.to_string();
        assert!(
            words.contains("colleague") && words.contains("PO1"),
            "{words}"
        );
        assert_eq!(count(&s, "SELECT count(*) FROM audit"), 1);
        // Without a stated expectation, an initial allocation of a held case is refused too.
        mine.expect = None;
        let e = allocate(&mut s, &p, d(ON), "me", &mine).unwrap_err();
        assert!(
            matches!(e, ActionError::NotInitial(ref h) if h == "PO1"),
            "{e}"
        );
        // Oversight states the holder it saw as well.
        let mut ov = entry("X000001", "SPO1", "reviewed", false);
        ov.expect = Some(Holding::unallocated());
        let e = record_oversight(&mut s, d(ON), "me", &ov).unwrap_err();
        assert!(matches!(e, ActionError::Changed(_)), "{e}");
        assert_eq!(count(&s, "SELECT count(*) FROM audit"), 1);
    }

    #[test]
    fn writes_dated_after_today_and_hostile_text_are_refused() {
        let (_d, mut s) = fixture();
        let p = Policy::defaults();
        let future = machine_today() + chrono::Duration::days(1);
        let e = record_oversight(&mut s, future, "a", &entry("X000002", "SPO1", "ok", false))
            .unwrap_err();
        assert!(matches!(e, ActionError::FutureDate { .. }), "{e}");
        let r = req("X000001", "PO1", AllocationReason::InitialAllocation, false);
        let e = allocate(&mut s, &p, future, "a", &r).unwrap_err();
        assert!(matches!(e, ActionError::FutureDate { .. }), "{e}");
        for bad in ["evil \u{1b}[2J", "text \u{202e}reversed", "bell\u{7}"] {
            let e = add_note(&mut s, "a", "X000001", bad, false).unwrap_err();
            assert!(
                matches!(&e, ActionError::BadText { at, .. } if *at > 0),
                "{bad:?}: {e}"
            );
        }
        assert_eq!(count(&s, "SELECT count(*) FROM audit"), 0);
        // Staff codes match whatever their case, like CRNs.
        record_oversight(
            &mut s,
            d(ON),
            "a",
            &entry("X000002", "spo1", "multi-line\nnote", false),
        )
        .unwrap();
    }

    #[test]
    fn reallocation_keeps_the_history_and_undo_restores_it() {
        let (_d, mut s) = fixture();
        let p = Policy::defaults();
        let done = allocate(
            &mut s,
            &p,
            d(ON),
            "a",
            &req(
                "X000002",
                "PO1",
                AllocationReason::CaseloadAdjustment,
                false,
            ),
        )
        .unwrap();
        let detail = read::case_detail(s.db(), &p, "X000002").unwrap().unwrap();
        assert_eq!(detail.allocations.len(), 2, "current and previous");
        assert_eq!(detail.allocations[1].staff_code, "PSO1");
        assert_eq!(detail.allocations[1].reason, "caseload_adjustment");
        // The previous holder is offered first when the case comes round again.
        let case = case_facts(s.db(), "X000002").unwrap();
        let picker = candidates(s.db(), &p, d(ON), &case).unwrap();
        assert_eq!(picker.holder.as_ref().unwrap().staff_code, "PO1");
        assert_eq!(picker.candidates[0].staff_code, "PSO1");
        assert!(picker.candidates[0].previously_managed_until.is_some());
        undo(&mut s, "a", done.audit_id).unwrap();
        let back: String = s
            .db()
            .sql()
            .query_row(
                "SELECT allocated_to FROM cases WHERE crn = 'X000002'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(back, "PSO1");
        assert_eq!(count(&s, "SELECT count(*) FROM allocations"), 0);
        assert!(matches!(
            undo(&mut s, "a", done.audit_id),
            Err(ActionError::AlreadyUndone)
        ));
        let log = audit_log(s.db(), Some("X000002"), None).unwrap();
        assert_eq!(
            log.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
            ["reallocate", "undo"]
        );
    }

    #[test]
    fn oversight_must_be_by_an_spo_and_updates_last_oversight() {
        let (_d, mut s) = fixture();
        let e =
            record_oversight(&mut s, d(ON), "a", &entry("X000002", "PO1", "n", false)).unwrap_err();
        assert!(matches!(e, ActionError::NotSpo(..)));
        record_oversight(
            &mut s,
            d(ON),
            "a",
            &entry("X000002", "SPO1", "reviewed", true),
        )
        .unwrap();
        let last: String = s
            .db()
            .sql()
            .query_row(
                "SELECT last_oversight FROM cases WHERE crn = 'X000002'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(last, ON);
        let log = audit_log(s.db(), None, None).unwrap();
        let hidden = log[0].clone().redact(false);
        assert_eq!(hidden.after["note"], SENSITIVE_HIDDEN);
        assert_eq!(log[0].clone().redact(true).after["note"], "reviewed");
    }

    #[test]
    fn an_undone_sensitive_note_stays_hidden_on_both_sides_of_the_undo() {
        let (_d, mut s) = fixture();
        let done = add_note(&mut s, "a", "X000001", "secret words", true).unwrap();
        undo(&mut s, "a", done.audit_id).unwrap();
        let log = audit_log(s.db(), Some("X000001"), None).unwrap();
        let shown =
            serde_json::to_string(&log.into_iter().map(|r| r.redact(false)).collect::<Vec<_>>())
                .unwrap();
        assert!(!shown.contains("secret words"), "{shown}");
    }

    #[test]
    fn a_write_blocked_by_another_writer_gives_up_clearly_and_writes_nothing() {
        let (dir, mut s) = fixture();
        s.db()
            .sql()
            .busy_timeout(std::time::Duration::from_millis(20))
            .unwrap();
        let other = Connection::open(dir.path().join("a.db")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE;").unwrap();
        let e = with_retry(2, || add_note(&mut s, "a", "X000001", "blocked", false)).unwrap_err();
        assert!(matches!(e, ActionError::Busy(2)), "{e}");
        assert!(e.to_string().contains("nothing was written"));
        other.execute_batch("ROLLBACK;").unwrap();
        assert_eq!(count(&s, "SELECT count(*) FROM notes"), 0);
        with_retry(2, || add_note(&mut s, "a", "X000001", "now", false)).unwrap();
        assert_eq!(count(&s, "SELECT count(*) FROM notes"), 1);
    }

    #[test]
    fn the_audit_trail_refuses_updates_and_deletes() {
        let (_d, mut s) = fixture();
        add_note(&mut s, "a", "X000001", "called the hostel", false).unwrap();
        let e = s.db().sql().execute("DELETE FROM audit", []).unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
        let e = s
            .db()
            .sql()
            .execute("UPDATE audit SET actor = 'mallory'", [])
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
        assert_eq!(count(&s, "SELECT count(*) FROM audit"), 1);
    }

    #[test]
    fn suitable_officers_come_first_and_the_rest_say_why_not() {
        let (_d, s) = fixture();
        let p = Policy::defaults();
        let case = case_facts(s.db(), "X000001").unwrap();
        let picker = candidates(s.db(), &p, d(ON), &case).unwrap();
        let codes: Vec<&str> = picker
            .candidates
            .iter()
            .map(|c| c.staff_code.as_str())
            .collect();
        assert_eq!(codes, ["PO1", "PSO1"], "no leaver, no other PDU, no SPO");
        assert_eq!(picker.suitable, 1);
        let pso = &picker.candidates[1];
        assert!(
            pso.not_suitable.iter().any(|w| w.contains("MAPPA")),
            "{pso:?}"
        );
        assert!(picker.candidates[0].is_suitable());
    }
}
