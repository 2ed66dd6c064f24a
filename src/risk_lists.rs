//! A PDU's two risk lists, worst first, as the screen's tabs show them and their exports
//! write them: the cases with an enquiry or an assessment overdue (Risk checks), and the
//! custody and licence cases around release (Custody & release).
//!
//! Both come from one pass over the PDU's cases (`store::read::risk::each_labelled`), each
//! judged by `risk_checks::evaluate_dates`: the same dates and states as the nightly run and
//! the case detail. [`rows_of`] and the orders are pure; [`build`] reads the store.
//!
//! # Decisions
//! - **Risk checks** lists a case once, with every enquiry and assessment check overdue on it
//!   (not requested, not returned, initial, review), worst first; the case's days are its
//!   worst check's. Order: most days overdue, then high-risk (HIGH or VERY_HIGH RoSH, or
//!   MAPPA) before others, then CRN.
//! - **Custody & release** lists the CUSTODY and LICENCE cases released in the last
//!   [`RECENT_RELEASE_DAYS`] or due for release in the next as many (the as-of date and both
//!   ends included), and any case past its handover date with no practitioner, whatever its
//!   release date. Order: handover overdue first, the release nearest the as-of date first
//!   (released yesterday or out in three days with nobody holding the case is today's
//!   work; a release years back is already on the unallocated list), released before
//!   ahead at equal distance; then releases ahead with something not yet done (contact,
//!   assessment or a community offender manager), soonest first; then releases past with a
//!   pre-release check missed, most recent first; then the rest, ahead before past.
//!   High-risk first at equal dates, then CRN.

use chrono::NaiveDate;

use crate::domain::{CaseType, EnquiryKind, Mappa, Rosh};
use crate::filter::{CaseFilter, Fields};
use crate::policy::Policy;
use crate::risk_checks::{CheckGroup, CheckKind, RECENT_RELEASE_DAYS, Status};
use crate::store::Db;
use crate::store::read::risk::{self, CaseLabel, RiskRow};

/// Which of the two lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RiskList {
    /// Enquiries and assessments overdue.
    Checks,
    /// Custody and licence cases around release.
    Release,
}

impl RiskList {
    pub const ALL: [RiskList; 2] = [RiskList::Checks, RiskList::Release];

    /// Its place in [`RiskList::ALL`].
    pub fn index(self) -> usize {
        match self {
            RiskList::Checks => 0,
            RiskList::Release => 1,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            RiskList::Checks => "Risk checks",
            RiskList::Release => "Custody & release",
        }
    }

    /// The name its export files carry.
    pub fn file_name(self) -> &'static str {
        match self {
            RiskList::Checks => "risk-checks",
            RiskList::Release => "custody-release",
        }
    }
}

/// A case as a row of either list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub crn: String,
    pub name: String,
    pub tier: String,
    pub team: Option<String>,
    pub rosh: Option<Rosh>,
    pub mappa: Mappa,
    pub case_type: CaseType,
    /// The practitioner's staff code, while allocated.
    pub allocated_to: Option<String>,
    /// The practitioner's name, when on record.
    pub practitioner: Option<String>,
}

impl Listed {
    fn of(row: &RiskRow, label: CaseLabel) -> Listed {
        Listed {
            crn: row.crn.clone(),
            name: label.name,
            tier: label.tier,
            team: label.team,
            rosh: row.rosh,
            mappa: row.mappa,
            case_type: row.case_type,
            allocated_to: label.allocated_to,
            practitioner: label.practitioner,
        }
    }

    /// HIGH or VERY_HIGH RoSH, or a MAPPA case: first at equal days.
    pub fn high_risk(&self) -> bool {
        self.rosh.is_some_and(Rosh::is_high) || self.mappa.is_mappa()
    }

    /// What the case tables' filter reads of the case.
    pub fn fields(&self) -> Fields<'_> {
        Fields {
            crn: &self.crn,
            name: &self.name,
            team: self.team.as_deref(),
            tier: &self.tier,
            rosh: self.rosh,
            mappa: self.mappa,
            allocated: self.allocated_to.is_some(),
        }
    }

    pub fn matches(&self, filter: &CaseFilter) -> bool {
        filter.matches(&self.fields())
    }
}

/// One overdue enquiry or assessment check of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overdue {
    pub kind: CheckKind,
    pub due: NaiveDate,
    pub days: i64,
}

/// What is overdue, in the words an SPO uses ("DA enquiry not requested").
pub fn overdue_words(kind: CheckKind) -> &'static str {
    use EnquiryKind::{ChildSafeguarding as Cs, DomesticAbuse as Da};
    match kind {
        CheckKind::EnquiryRequest { kind: Da } => "DA enquiry not requested",
        CheckKind::EnquiryRequest { kind: Cs } => "safeguarding enquiry not requested",
        CheckKind::EnquiryReturn { kind: Da } => "DA enquiry not returned",
        CheckKind::EnquiryReturn { kind: Cs } => "safeguarding enquiry not returned",
        CheckKind::InitialAssessment => "initial assessment",
        CheckKind::ReviewAssessment => "review assessment",
        CheckKind::PreReleaseAssessment => "pre-release assessment",
        CheckKind::Handover => "handover",
        CheckKind::PreReleaseContact => "pre-release contact",
    }
}

/// A case of the Risk checks list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRow {
    pub case: Listed,
    /// Each enquiry and assessment check overdue, most days first.
    pub overdue: Vec<Overdue>,
}

impl CheckRow {
    /// The worst check's days overdue.
    pub fn days(&self) -> i64 {
        self.overdue.first().map_or(0, |o| o.days)
    }

    /// What is overdue, worst first, one phrase each; the two enquiries in one phrase when
    /// both are in the same state (and, `with_days`, by the same days).
    pub fn phrases(&self, with_days: bool) -> Vec<String> {
        let mut out = Vec::with_capacity(self.overdue.len());
        let mut used = vec![false; self.overdue.len()];
        for (i, o) in self.overdue.iter().enumerate() {
            if used[i] {
                continue;
            }
            used[i] = true;
            let pair = match o.kind {
                CheckKind::EnquiryRequest { kind } => Some((
                    CheckKind::EnquiryRequest { kind: other(kind) },
                    "DA & safeguarding enquiries not requested",
                )),
                CheckKind::EnquiryReturn { kind } => Some((
                    CheckKind::EnquiryReturn { kind: other(kind) },
                    "DA & safeguarding enquiries not returned",
                )),
                _ => None,
            };
            let partner = pair.and_then(|(k, words)| {
                let j = self.overdue.iter().enumerate().position(|(j, p)| {
                    !used[j] && p.kind == k && (!with_days || p.days == o.days)
                })?;
                Some((j, words))
            });
            let words = match partner {
                Some((j, words)) => {
                    used[j] = true;
                    words
                }
                None => overdue_words(o.kind),
            };
            out.push(if with_days {
                format!("{words} {}", days_words(o.days))
            } else {
                words.to_string()
            });
        }
        out
    }
}

fn other(kind: EnquiryKind) -> EnquiryKind {
    match kind {
        EnquiryKind::DomesticAbuse => EnquiryKind::ChildSafeguarding,
        EnquiryKind::ChildSafeguarding => EnquiryKind::DomesticAbuse,
    }
}

/// "1 day", "12 days".
pub fn days_words(days: i64) -> String {
    if days == 1 {
        "1 day".into()
    } else {
        format!("{days} days")
    }
}

/// One check around release: when it falls due and where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    pub due: NaiveDate,
    pub status: Status,
}

impl Stage {
    pub fn done(&self) -> bool {
        matches!(self.status, Status::Met { .. })
    }
}

/// A case of the Custody & release list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRow {
    pub case: Listed,
    pub release: NaiveDate,
    /// Days from the as-of date to release: negative once released.
    pub days_to_release: i64,
    /// The handover date and whether a practitioner was allocated by it.
    pub handover: Option<Stage>,
    /// A contact in the weeks before release.
    pub contact: Stage,
    /// A pre-release assessment in the weeks before release.
    pub assessment: Stage,
}

impl ReleaseRow {
    /// Past the handover date with no practitioner.
    pub fn handover_overdue(&self) -> bool {
        self.handover
            .is_some_and(|h| matches!(h.status, Status::Overdue { .. }))
    }

    /// Something before release not done: contact, assessment, or a community offender
    /// manager.
    pub fn gap(&self) -> bool {
        !self.contact.done() || !self.assessment.done() || self.handover.is_some_and(|h| !h.done())
    }
}

/// A PDU's two lists at one date, each worst first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RiskLists {
    pub checks: Vec<CheckRow>,
    pub release: Vec<ReleaseRow>,
}

/// Reads every case of `pdu` once and builds both lists.
pub fn build(
    db: Db<'_>,
    policy: &Policy,
    pdu: &str,
    as_of: NaiveDate,
) -> rusqlite::Result<RiskLists> {
    let mut lists = RiskLists::default();
    risk::each_labelled(db, pdu, as_of, |row, label| {
        let (check, release) = rows_of(policy, as_of, row, label);
        lists.checks.extend(check);
        lists.release.extend(release);
    })?;
    sort_checks(&mut lists.checks);
    sort_release(&mut lists.release);
    Ok(lists)
}

/// The rows one case gives: on the Risk checks list when an enquiry or assessment is
/// overdue, on the Custody & release list when released or due for release within the
/// span, or past its handover date with no practitioner.
pub fn rows_of(
    policy: &Policy,
    as_of: NaiveDate,
    row: &RiskRow,
    label: CaseLabel,
) -> (Option<CheckRow>, Option<ReleaseRow>) {
    let checks = crate::risk_checks::evaluate_dates(policy, &row.input(), as_of);
    let mut overdue: Vec<Overdue> = checks
        .checks
        .iter()
        .filter(|c| matches!(c.kind.group(), CheckGroup::Enquiry | CheckGroup::Assessment))
        .filter_map(|c| match c.status {
            Status::Overdue { days } => Some(Overdue {
                kind: c.kind,
                due: c.due.date,
                days,
            }),
            _ => None,
        })
        .collect();
    overdue.sort_by_key(|o| (-o.days, o.kind));
    let stage = |kind| {
        checks.get(kind).map(|c| Stage {
            due: c.due.date,
            status: c.status,
        })
    };
    let release = match (row.release_date, row.case_type) {
        (Some(release), CaseType::Custody | CaseType::Licence) => {
            let days_to_release = (release - as_of).num_days();
            let handover = stage(CheckKind::Handover);
            let near = days_to_release.abs() <= i64::from(RECENT_RELEASE_DAYS);
            let overdue_handover =
                handover.is_some_and(|h| matches!(h.status, Status::Overdue { .. }));
            match (
                stage(CheckKind::PreReleaseContact),
                stage(CheckKind::PreReleaseAssessment),
            ) {
                (Some(contact), Some(assessment)) if near || overdue_handover => {
                    Some((release, days_to_release, handover, contact, assessment))
                }
                _ => None,
            }
        }
        _ => None,
    };
    if overdue.is_empty() && release.is_none() {
        return (None, None);
    }
    let case = Listed::of(row, label);
    let release = release.map(
        |(release, days_to_release, handover, contact, assessment)| ReleaseRow {
            case: case.clone(),
            release,
            days_to_release,
            handover,
            contact,
            assessment,
        },
    );
    let check = (!overdue.is_empty()).then_some(CheckRow { case, overdue });
    (check, release)
}

/// High-risk cases (HIGH/VERY_HIGH RoSH or MAPPA) first, where a missing enquiry or
/// assessment leaves a risk of serious harm unassessed; within each, most days overdue
/// first; then CRN. (By days alone, old gaps on low-risk cases filled the first screens.)
pub fn sort_checks(rows: &mut [CheckRow]) {
    rows.sort_by(|a, b| {
        b.case
            .high_risk()
            .cmp(&a.case.high_risk())
            .then_with(|| b.days().cmp(&a.days()))
            .then_with(|| a.case.crn.cmp(&b.case.crn))
    });
}

/// See the module's decisions.
pub fn sort_release(rows: &mut [ReleaseRow]) {
    let key = |r: &ReleaseRow| -> (u8, i64, bool) {
        let d = r.days_to_release;
        if r.handover_overdue() {
            (0, d.abs(), d >= 0)
        } else if d >= 0 && r.gap() {
            (1, d, true)
        } else if d < 0 && r.gap() {
            (2, -d, false)
        } else if d >= 0 {
            (3, d, true)
        } else {
            (4, -d, false)
        }
    };
    rows.sort_by(|a, b| {
        key(a)
            .cmp(&key(b))
            .then_with(|| b.case.high_risk().cmp(&a.case.high_risk()))
            .then_with(|| a.case.crn.cmp(&b.case.crn))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Assessment, AssessmentKind, CustodyKind, Enquiry, parse_date};

    fn d(s: &str) -> NaiveDate {
        parse_date("d", s).expect("a test date")
    }

    const AS_OF: &str = "2026-11-01";

    fn risk_row(crn: &str, case_type: CaseType, sentence: &str) -> RiskRow {
        RiskRow {
            crn: crn.into(),
            pdu: "P".into(),
            case_type,
            sentence_date: d(sentence),
            release_date: None,
            custody_kind: CustodyKind::Standard,
            rosh: Some(Rosh::Medium),
            rosh_changed_on: None,
            mappa: Mappa::NONE,
            allocated_on: None,
            unallocated_since: Some(d(sentence)),
            enquiries: Vec::new(),
            assessments: Vec::new(),
            contacts: Vec::new(),
        }
    }

    fn label(name: &str) -> CaseLabel {
        CaseLabel {
            name: name.into(),
            tier: "B2".into(),
            team: None,
            allocated_to: None,
            practitioner: None,
        }
    }

    fn rows(r: &RiskRow) -> (Option<CheckRow>, Option<ReleaseRow>) {
        rows_of(&Policy::defaults(), d(AS_OF), r, label("Ann Example"))
    }

    /// A community case with both enquiries requested and returned and an assessment on
    /// time: on neither list.
    fn well_run(crn: &str) -> RiskRow {
        let sentence = d("2026-10-01");
        let asked = |kind| Enquiry {
            kind,
            requested_on: d("2026-10-02"),
            returned_on: Some(d("2026-10-10")),
            outcome: None,
        };
        RiskRow {
            enquiries: vec![
                asked(EnquiryKind::DomesticAbuse),
                asked(EnquiryKind::ChildSafeguarding),
            ],
            assessments: vec![Assessment {
                kind: AssessmentKind::Initial,
                completed_on: sentence,
                rosh: Rosh::Medium,
            }],
            ..risk_row(crn, CaseType::Community, "2026-10-01")
        }
    }

    #[test]
    fn a_well_run_case_is_on_neither_list() {
        assert_eq!(rows(&well_run("X1")), (None, None));
    }

    #[test]
    fn overdue_enquiries_and_assessments_are_said_in_words_worst_first() {
        // Sentenced 100 days ago, nothing done: both enquiries (90 days) and the initial
        // assessment (85 days) overdue.
        let r = risk_row("X1", CaseType::Community, "2026-07-24");
        let (check, release) = rows(&r);
        assert!(release.is_none(), "a community case has no release");
        let check = check.expect("on the risk checks list");
        assert_eq!(check.days(), 90);
        assert_eq!(
            check.phrases(false),
            [
                "DA & safeguarding enquiries not requested",
                "initial assessment"
            ]
        );
        assert_eq!(
            check.phrases(true),
            [
                "DA & safeguarding enquiries not requested 90 days",
                "initial assessment 85 days"
            ]
        );
        // One enquiry requested and not returned in 28 days; the other never requested.
        let r = RiskRow {
            enquiries: vec![Enquiry {
                kind: EnquiryKind::ChildSafeguarding,
                requested_on: d("2026-07-25"),
                returned_on: None,
                outcome: None,
            }],
            ..well_run("X2")
        };
        let r = RiskRow {
            sentence_date: d("2026-07-24"),
            ..r
        };
        let check = rows(&r).0.unwrap();
        assert_eq!(
            check.phrases(false),
            [
                "DA enquiry not requested",
                "safeguarding enquiry not returned"
            ]
        );
    }

    fn custody(crn: &str, release: &str) -> RiskRow {
        RiskRow {
            release_date: Some(d(release)),
            ..well_run(crn)
        }
        .with_type(CaseType::Custody, "2025-01-01")
    }

    impl RiskRow {
        fn with_type(self, case_type: CaseType, sentence: &str) -> RiskRow {
            RiskRow {
                case_type,
                sentence_date: d(sentence),
                ..self
            }
        }
    }

    fn release_of(r: &RiskRow) -> Option<ReleaseRow> {
        rows(r).1
    }

    #[test]
    fn releases_twelve_weeks_either_side_are_listed_and_others_only_when_handover_is_overdue() {
        let held = |case_type, release: &str| {
            RiskRow {
                release_date: Some(d(release)),
                allocated_on: Some(d("2025-01-02")),
                ..well_run("H")
            }
            .with_type(case_type, "2025-01-01")
        };
        // 84 days ahead and 84 back are in (the as-of date is 2026-11-01); 85 are out.
        assert!(release_of(&held(CaseType::Custody, "2027-01-24")).is_some());
        assert!(release_of(&held(CaseType::Custody, "2027-01-25")).is_none());
        assert!(release_of(&held(CaseType::Licence, "2026-08-09")).is_some());
        assert!(release_of(&held(CaseType::Licence, "2026-08-08")).is_none());
        // Release far ahead, handover passed, nobody allocated: listed, overdue.
        let far = custody("F", "2027-06-01");
        let row = release_of(&far).expect("handover overdue, listed whatever the release");
        assert!(row.handover_overdue());
        assert!(release_of(&held(CaseType::Custody, "2027-06-01")).is_none());
    }

    #[test]
    fn the_release_list_puts_handover_overdue_first_then_gaps_soonest_first() {
        let allocated = |r: RiskRow| RiskRow {
            allocated_on: Some(d("2025-01-02")),
            ..r
        };
        let mut done = allocated(custody("DONE", "2026-11-05"));
        done.contacts = vec![d("2026-10-20")];
        done.assessments.push(Assessment {
            kind: AssessmentKind::PreRelease,
            completed_on: d("2026-10-20"),
            rosh: Rosh::Medium,
        });
        let cases = [
            done,
            allocated(custody("SOON", "2026-11-10")),
            allocated(custody("LATER", "2026-12-20")),
            allocated(custody("PAST", "2026-10-01")),
            custody("NOCOM", "2027-06-01"),
            RiskRow {
                release_date: Some(d("2026-10-31")),
                ..well_run("NOCOMOUT")
            }
            .with_type(CaseType::Licence, "2025-01-01"),
            RiskRow {
                release_date: Some(d("2023-01-01")),
                ..well_run("NOCOMLONG")
            }
            .with_type(CaseType::Licence, "2020-01-01"),
            RiskRow {
                mappa: Mappa {
                    category: 1,
                    level: 1,
                },
                ..allocated(custody("SOONMAPPA", "2026-11-10"))
            },
        ];
        let mut list: Vec<ReleaseRow> = cases.iter().filter_map(release_of).collect();
        sort_release(&mut list);
        let order: Vec<&str> = list.iter().map(|r| r.case.crn.as_str()).collect();
        assert_eq!(
            order,
            [
                "NOCOMOUT",
                "NOCOM",
                "NOCOMLONG",
                "SOONMAPPA",
                "SOON",
                "LATER",
                "PAST",
                "DONE"
            ]
        );
        let past = list.iter().find(|r| r.case.crn == "PAST").unwrap();
        assert_eq!(past.days_to_release, -31);
        assert!(matches!(past.contact.status, Status::Overdue { .. }));
    }

    #[test]
    fn the_risk_list_puts_high_risk_first_then_most_days() {
        let high = RiskRow {
            rosh: Some(Rosh::High),
            ..risk_row("B", CaseType::Community, "2026-07-24")
        };
        let cases = [
            risk_row("A", CaseType::Community, "2026-07-24"),
            high,
            risk_row("C", CaseType::Community, "2026-05-01"),
        ];
        let mut list: Vec<CheckRow> = cases.iter().filter_map(|r| rows(r).0).collect();
        sort_checks(&mut list);
        let order: Vec<&str> = list.iter().map(|r| r.case.crn.as_str()).collect();
        assert_eq!(order, ["B", "C", "A"]);
    }
}
