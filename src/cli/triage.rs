//! The triage writes and their trail: `allocate`, `oversight`, `note`, `ack` and `audit`.

use std::process::ExitCode;

use anyhow::Result;

use super::args::{AckArgs, AllocateArgs, AuditArgs, Format, NoteArgs, OversightArgs};
use super::{
    Cli, Settings, action_error, actor, fault_error, open_any_for_reading, open_for_triage,
    write_stdout,
};
use crate::actions;

/// `casewatch allocate`: allocates (or reallocates) a case to a practitioner.
pub(super) fn allocate(cli: &Cli, ctx: &Settings, a: &AllocateArgs) -> Result<ExitCode> {
    let mut store = open_for_triage(ctx)?;
    let who = actor(cli);
    let req = actions::Allocation {
        crn: a.crn.clone(),
        staff_code: a.staff_code.clone(),
        reason: a.reason,
        note: a.note.clone(),
        sensitive: a.sensitive,
        expect: a.was.as_deref().map(|w| {
            if w.trim().eq_ignore_ascii_case("unallocated") {
                actions::Holding::unallocated()
            } else {
                actions::Holding::held_by(w.trim())
            }
        }),
        confirmed: a.yes,
    };
    let done = actions::with_retry(actions::WRITE_ATTEMPTS, || {
        actions::allocate(&mut store, &ctx.policy, ctx.as_of, &who, &req)
    })
    .map_err(|e| action_error(e, "allocate"))?;
    eprintln!("casewatch: allocated (audit #{})", done.audit_id);
    Ok(ExitCode::SUCCESS)
}

/// `casewatch oversight`: records an SPO's management oversight, dated as of the run.
pub(super) fn oversight(cli: &Cli, ctx: &Settings, a: &OversightArgs) -> Result<ExitCode> {
    let mut store = open_for_triage(ctx)?;
    let who = actor(cli);
    let entry = actions::OversightEntry {
        crn: a.crn.clone(),
        by: a.by.clone(),
        kind: a.kind,
        note: a.note.clone(),
        sensitive: a.sensitive,
        expect: None,
    };
    let done = actions::with_retry(actions::WRITE_ATTEMPTS, || {
        actions::record_oversight(&mut store, ctx.as_of, &who, &entry)
    })
    .map_err(|e| action_error(e, "oversight"))?;
    eprintln!("casewatch: oversight recorded (audit #{})", done.audit_id);
    Ok(ExitCode::SUCCESS)
}

/// `casewatch note`: adds a note to a case.
pub(super) fn note(cli: &Cli, ctx: &Settings, a: &NoteArgs) -> Result<ExitCode> {
    let mut store = open_for_triage(ctx)?;
    let who = actor(cli);
    let done = actions::with_retry(actions::WRITE_ATTEMPTS, || {
        actions::add_note(&mut store, &who, &a.crn, &a.text, a.sensitive)
    })
    .map_err(|e| action_error(e, "note"))?;
    eprintln!("casewatch: note added (audit #{})", done.audit_id);
    Ok(ExitCode::SUCCESS)
}

/// `casewatch ack`: acknowledges an open incident or alert of the last recorded run.
pub(super) fn ack(cli: &Cli, ctx: &Settings, a: &AckArgs) -> Result<ExitCode> {
    let mut store = open_for_triage(ctx)?;
    let who = actor(cli);
    let id = actions::with_retry(actions::WRITE_ATTEMPTS, || {
        crate::alerts::acknowledge(&mut store, &who, &a.key, &a.note)
    })
    .map_err(|e| action_error(e, "acknowledge"))?;
    eprintln!("casewatch: acknowledged (audit #{id})");
    Ok(ExitCode::SUCCESS)
}

/// `casewatch audit`: prints the audit trail, sensitive notes hidden unless asked for.
pub(super) fn audit(ctx: &Settings, a: &AuditArgs) -> Result<ExitCode> {
    let mut store = open_any_for_reading(ctx)?;
    let rows: Vec<actions::AuditRow> = store
        .audit_log(a.crn.as_deref(), a.since)
        .map_err(|e| fault_error(ctx, e))?
        .into_iter()
        .map(|r| r.redact(a.show_sensitive))
        .collect();
    let text = match a.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&rows)?;
            s.push('\n');
            s
        }
        Format::Text => crate::report::audit_text(&rows),
    };
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}
