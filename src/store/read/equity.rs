//! What the disproportionality view (`crate::equity`) counts: one pass over a PDU's or a
//! region's cases, each with its groups and whether it met each measure, by the same rules
//! as the case lists (`Policy::contact_due`, `Policy::oversight_due`) and the risk checks.

use chrono::NaiveDate;
use rusqlite::Result;

use super::date_col;
use super::risk::{EXTRA_AT, RiskScope, each_with};
use super::support::{WAIT_FROM, policy_window_start};
use crate::domain::Rosh;
use crate::equity::{CaseOutcome, Dimension, Report, Tally};
use crate::policy::Policy;
use crate::risk_checks::CheckKind;
use crate::store::Db;

/// The disproportionality tables of a PDU (`Pdu`) or a region (`Region`).
pub fn equity_report(
    db: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    scope: RiskScope<'_>,
) -> Result<Report> {
    let since = policy_window_start(policy, as_of);
    let limit = i64::from(policy.equity.prompt_allocation_days);
    let extra = format!(
        "c.ethnicity, c.sex, c.age_band, c.last_contact, c.last_oversight,
         CASE WHEN c.allocated_on IS NOT NULL THEN {WAIT_FROM} END"
    );
    let mut tally = Tally::new();
    each_with(db, scope, as_of, &extra, |row, r| {
        let group = |i: usize, d: Dimension| -> Result<usize> {
            let v: Option<String> = r.get(EXTRA_AT + i)?;
            let groups = d.groups();
            Ok(v.and_then(|v| groups.iter().position(|g| *g == v))
                .unwrap_or(groups.len() - 1))
        };
        let last_contact = date_col(r, EXTRA_AT + 3)?;
        let last_oversight = date_col(r, EXTRA_AT + 4)?;
        let wait_from = date_col(r, EXTRA_AT + 5)?;
        let prompt = match (row.allocated_on, row.unallocated_since) {
            (Some(on), _) if on >= since => {
                Some((on - wait_from.unwrap_or(row.sentence_date)).num_days() <= limit)
            }
            (Some(_), _) => None,
            // Still waiting: counted once past the limit; until then, not yet known.
            (None, Some(from)) => ((as_of - from).num_days() > limit).then_some(false),
            (None, None) => None,
        };
        let contact = policy
            .contact_due(
                row.case_type,
                row.rosh,
                row.mappa,
                row.allocated_on,
                last_contact,
            )
            .map(|d| !d.is_overdue(as_of));
        let high = row.rosh.is_some_and(Rosh::is_high) || row.mappa.category > 0;
        let oversight = policy
            .oversight_due(high, row.allocated_on, last_oversight)
            .map(|d| !d.is_overdue(as_of));
        let checks = crate::risk_checks::evaluate(policy, &row.input(), as_of);
        let mut assessments: Option<bool> = None;
        for c in checks.checks.iter().filter(|c| {
            matches!(
                c.kind,
                CheckKind::InitialAssessment | CheckKind::ReviewAssessment
            )
        }) {
            assessments = Some(assessments.unwrap_or(true) && c.on_time());
        }
        tally.add(&CaseOutcome {
            groups: [
                group(0, Dimension::Ethnicity)?,
                group(1, Dimension::Sex)?,
                group(2, Dimension::AgeBand)?,
            ],
            met: [prompt, contact, oversight, assessments],
        });
        Ok(())
    })?;
    let name = match scope {
        RiskScope::All => "all",
        RiskScope::Region(s) | RiskScope::Pdu(s) => s,
    };
    Ok(tally.report(name))
}
