//! The inspection's other checks on one case: domestic-abuse and child-safeguarding
//! enquiries, risk assessments, the prison-to-probation handover and contact before release;
//! and the per-PDU shares built from them. Pure: no I/O, no SQL, no clock. The periods come
//! from the policy's `[enquiries]`, `[assessments]`, `[handover]` and `[release]` sections.
//!
//! [`evaluate`] takes one case ([`CaseInput`]) and an as-of date and returns every check that
//! applies ([`CaseChecks`]): which check, its due date and the rule in words (a
//! [`policy::Due`]), and its [`Status`]. [`PduShares`] folds many cases into the shares the
//! inspection reports.
//!
//! # Decisions at the edges
//! - **Overdue** means the as-of date is strictly after the due date, as
//!   [`policy::Due::is_overdue`]: a case sentenced today, or ten days ago, is *due*, not
//!   overdue.
//! - **Records dated after the as-of date** (enquiries requested or returned, assessments,
//!   contacts, the allocation, a RoSH change) are ignored: the answer at a date uses only what
//!   was known by then.
//! - **Enquiries** apply to every COMMUNITY and LICENCE case, counted from the sentence date,
//!   and to a CUSTODY case once its release is at most `custody_release_within_days` away:
//!   counted from the later of the sentence date and the day release came that close. A
//!   CUSTODY case released further ahead, or with no release date, needs none yet (a
//!   [`Note`] says so). A request made at any date counts, pre-sentence ones included (the
//!   letter asks for pre-sentence enquiries). A request still out is chased whatever the
//!   case's scope: the return check follows the latest request of each kind.
//! - **Assessments** count from the sentence date: one completed before it belongs to an
//!   earlier sentence or the court stage. The initial check is met by the first assessment of
//!   any kind (the kind says why it was done, not whether one was). The review is periodic,
//!   so it is never *met*: it is due at the earlier of the latest assessment plus
//!   `review_interval_days` and, when the RoSH changed on or after the sentence date with no
//!   assessment completed on or after the change, the change plus `after_rosh_change_days`.
//!   A RoSH change with no known date gives no review.
//! - **Release**: the handover and both pre-release checks apply to CUSTODY and LICENCE cases
//!   with a release date, whether it is ahead or past. A past release judges what happened
//!   before it: the pre-release windows end the day before release (a contact on the release
//!   day is the first community appointment, not contact with the prisoner), so they are due
//!   the day before release and, once missed, stay overdue, counting days since (a rule
//!   decides how long after release to keep alerting). A case with no release
//!   date has no handover date (an indeterminate sentence before its tariff is set): a
//!   [`Note`] says so and none of these checks apply. COMMUNITY cases have none of them.
//! - **Handover** is [`handover_date`]: release minus the period for the kind of sentence,
//!   or the sentence date when release is `due_at_once_within_months` or less after it, and
//!   never before the sentence date. It is met by the current allocation (only that one is
//!   known: an allocation dated after the handover is met late, which may understate a case
//!   reallocated since). It is overdue from the day after the handover date; it is an alert
//!   ([`Check::is_alert`]) `grace_days` after.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;

use crate::domain::{
    Assessment, AssessmentKind, CaseType, CustodyKind, Enquiry, EnquiryKind, Rosh, fmt_date,
};
use crate::policy::{self, Due, Policy, minus_days, plus_days};

/// The rule in words, or nothing when they are not wanted (see [`evaluate_dates`]).
macro_rules! words {
    ($on:expr, $($t:tt)*) => {
        if $on { format!($($t)*) } else { String::new() }
    };
}

/// Everything the checks need to know about one case.
#[derive(Debug, Clone, Copy)]
pub struct CaseInput<'a> {
    pub case_type: CaseType,
    pub sentence_date: NaiveDate,
    /// The (earliest) release date: ahead for a CUSTODY case, past for a LICENCE case.
    pub release_date: Option<NaiveDate>,
    pub custody_kind: CustodyKind,
    /// The case's current RoSH level; named in the words of a RoSH-change review.
    pub rosh: Option<Rosh>,
    /// When the case's RoSH last changed, if known.
    pub rosh_changed_on: Option<NaiveDate>,
    /// When the current allocation began; `None` while unallocated.
    pub allocated_on: Option<NaiveDate>,
    pub enquiries: &'a [Enquiry],
    pub assessments: &'a [Assessment],
    /// Contact dates in any order. All of them, or only those from
    /// `release_date - contact_window_days` on: only those decide the pre-release check.
    pub contacts: &'a [NaiveDate],
}

/// Which check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckKind {
    /// The enquiry of this kind has been requested.
    EnquiryRequest { kind: EnquiryKind },
    /// The latest request of this kind has been answered.
    EnquiryReturn { kind: EnquiryKind },
    /// The first assessment after sentence.
    InitialAssessment,
    /// The next review of the risk assessment.
    ReviewAssessment,
    /// A `pre_release` assessment in the weeks before release.
    PreReleaseAssessment,
    /// A community offender manager allocated by the handover date.
    Handover,
    /// A contact in the weeks before release.
    PreReleaseContact,
}

/// The per-case measures the issue names, each a group of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckGroup {
    /// Enquiry requests and returns.
    Enquiry,
    /// Initial and review assessments.
    Assessment,
    PreReleaseAssessment,
    Handover,
    PreReleaseContact,
}

impl CheckKind {
    /// The measure this check counts towards.
    pub fn group(self) -> CheckGroup {
        match self {
            CheckKind::EnquiryRequest { .. } | CheckKind::EnquiryReturn { .. } => {
                CheckGroup::Enquiry
            }
            CheckKind::InitialAssessment | CheckKind::ReviewAssessment => CheckGroup::Assessment,
            CheckKind::PreReleaseAssessment => CheckGroup::PreReleaseAssessment,
            CheckKind::Handover => CheckGroup::Handover,
            CheckKind::PreReleaseContact => CheckGroup::PreReleaseContact,
        }
    }
}

impl fmt::Display for CheckKind {
    /// "domestic-abuse enquiry requested", "initial assessment", "handover", ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckKind::EnquiryRequest { kind } => write!(f, "{} enquiry requested", kind.label()),
            CheckKind::EnquiryReturn { kind } => write!(f, "{} enquiry returned", kind.label()),
            CheckKind::InitialAssessment => f.write_str("initial assessment"),
            CheckKind::ReviewAssessment => f.write_str("review assessment"),
            CheckKind::PreReleaseAssessment => f.write_str("pre-release assessment"),
            CheckKind::Handover => f.write_str("handover"),
            CheckKind::PreReleaseContact => f.write_str("pre-release contact"),
        }
    }
}

/// Where a check stands at the as-of date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Done on this date (never after the as-of date; possibly after the due date: see
    /// [`Check::met_on_time`]).
    Met { on: NaiveDate },
    /// Not done, and the due date is today or ahead.
    Due,
    /// Not done, and the due date passed this many days ago (1 or more).
    Overdue { days: i64 },
}

/// One check on one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub kind: CheckKind,
    /// The due date and the rule that set it, in words.
    pub due: Due,
    pub status: Status,
}

impl Check {
    pub fn is_overdue(&self) -> bool {
        matches!(self.status, Status::Overdue { .. })
    }

    /// Days overdue, 0 when not overdue (the shape of the rules' `*_overdue_days` metrics).
    pub fn overdue_days(&self) -> i64 {
        match self.status {
            Status::Overdue { days } => days,
            _ => 0,
        }
    }

    /// Met on or before the due date.
    pub fn met_on_time(&self) -> bool {
        matches!(self.status, Status::Met { on } if on <= self.due.date)
    }

    /// Not failing: met on time, or not due yet.
    pub fn on_time(&self) -> bool {
        self.status == Status::Due || self.met_on_time()
    }

    /// Overdue enough to alert: any overdue check, except a handover, which alerts only
    /// `handover.grace_days` after its date (HMPPS's reminder 14 days after).
    pub fn is_alert(&self, policy: &Policy) -> bool {
        let grace = match self.kind {
            CheckKind::Handover => i64::from(policy.handover.grace_days),
            _ => 0,
        };
        self.overdue_days() > grace
    }
}

/// Why a check that might be expected is not in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// A CUSTODY or LICENCE case with no release date: no handover date can be computed and
    /// the pre-release checks wait for a release date.
    NoHandoverDate,
    /// A CUSTODY case's enquiries are not required yet: from `from` (when release is
    /// `within_days` away), or, with no release date, not until one is known.
    EnquiriesNotYetRequired {
        from: Option<NaiveDate>,
        within_days: u32,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::NoHandoverDate => f.write_str(
                "no handover date: no release date on record (as for an indeterminate sentence \
                 before its tariff is set); the pre-release checks wait for one",
            ),
            Note::EnquiriesNotYetRequired {
                from: Some(from),
                within_days,
            } => write!(
                f,
                "enquiries not yet required: from {}, when release is {within_days} days away",
                fmt_date(*from)
            ),
            Note::EnquiriesNotYetRequired {
                from: None,
                within_days,
            } => write!(
                f,
                "enquiries not yet required: no release date on record (required once release \
                 is {within_days} days away)"
            ),
        }
    }
}

/// The checks of one case at one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseChecks {
    pub as_of: NaiveDate,
    pub case_type: CaseType,
    pub release_date: Option<NaiveDate>,
    /// The handover date and its rule, for CUSTODY and LICENCE cases with a release date.
    pub handover: Option<Due>,
    /// Each check that applies, at most one of each kind, in [`CheckKind`] order.
    pub checks: Vec<Check>,
    /// Why expected checks are absent.
    pub notes: Vec<Note>,
}

impl CaseChecks {
    /// The check of this kind, if it applies.
    pub fn get(&self, kind: CheckKind) -> Option<&Check> {
        self.checks.iter().find(|c| c.kind == kind)
    }

    /// The most days any check of the group is overdue; 0 when none is.
    pub fn overdue_days(&self, group: CheckGroup) -> i64 {
        self.checks
            .iter()
            .filter(|c| c.kind.group() == group)
            .map(Check::overdue_days)
            .max()
            .unwrap_or(0)
    }

    /// Whether any check of the group is an alert ([`Check::is_alert`]).
    pub fn alerts(&self, group: CheckGroup, policy: &Policy) -> bool {
        self.checks
            .iter()
            .any(|c| c.kind.group() == group && c.is_alert(policy))
    }
}

fn status(due: NaiveDate, met: Option<NaiveDate>, as_of: NaiveDate) -> Status {
    match met {
        Some(on) => Status::Met { on },
        None if due < as_of => Status::Overdue {
            days: (as_of - due).num_days(),
        },
        None => Status::Due,
    }
}

fn check(kind: CheckKind, due: Due, met: Option<NaiveDate>, as_of: NaiveDate) -> Check {
    Check {
        kind,
        status: status(due.date, met, as_of),
        due,
    }
}

/// The date the prison-to-probation handover falls, and the rule in words; `None` without a
/// release date (no handover date can be computed). For CUSTODY and LICENCE cases; the
/// caller decides whether a case has one.
pub fn handover_date(
    policy: &Policy,
    custody_kind: CustodyKind,
    sentence_date: NaiveDate,
    release_date: Option<NaiveDate>,
) -> Option<Due> {
    handover_date_with(policy, custody_kind, sentence_date, release_date, true)
}

fn handover_date_with(
    policy: &Policy,
    custody_kind: CustodyKind,
    sentence_date: NaiveDate,
    release_date: Option<NaiveDate>,
    words: bool,
) -> Option<Due> {
    let release = release_date?;
    let h = &policy.handover;
    let at_once = policy::MonthsDays {
        months: h.due_at_once_within_months,
        days: 0,
    };
    // "Within 10 months" is inclusive: HMPPS has no handover at 10 months or less.
    if h.due_at_once_within_months > 0 && at_once.before(release) <= sentence_date {
        return Some(Due {
            date: sentence_date,
            rule: words!(
                words,
                "community offender manager allocated at once: release ({}) is {} or less \
                 after sentence ({})",
                fmt_date(release),
                at_once,
                fmt_date(sentence_date)
            ),
        });
    }
    let before = h.before_release(custody_kind);
    let date = before.before(release);
    let kind = match custody_kind {
        CustodyKind::Standard => "a standard sentence",
        CustodyKind::ParoleEligible => "a parole-eligible sentence",
        CustodyKind::Indeterminate => "an indeterminate sentence",
    };
    let mut rule = words!(
        words,
        "community offender manager allocated by the handover: release ({}) minus {before} \
         for {kind}",
        fmt_date(release)
    );
    // A long period before a short sentence (12 months before a release 11 months after
    // sentence) would fall before the case existed.
    if date < sentence_date {
        rule.push_str(&words!(
            words,
            ", not before sentence ({})",
            fmt_date(sentence_date)
        ));
        return Some(Due {
            date: sentence_date,
            rule,
        });
    }
    Some(Due { date, rule })
}

/// Every check that applies to the case at `as_of`; see the module's notes for the edges.
pub fn evaluate(policy: &Policy, case: &CaseInput<'_>, as_of: NaiveDate) -> CaseChecks {
    evaluate_with(policy, case, as_of, true)
}

/// [`evaluate`] without the rules in words (each [`Due::rule`] is empty): the same dates
/// and states at a fraction of the cost, for the nightly run's million cases.
pub fn evaluate_dates(policy: &Policy, case: &CaseInput<'_>, as_of: NaiveDate) -> CaseChecks {
    evaluate_with(policy, case, as_of, false)
}

fn evaluate_with(
    policy: &Policy,
    case: &CaseInput<'_>,
    as_of: NaiveDate,
    words: bool,
) -> CaseChecks {
    let mut out = CaseChecks {
        as_of,
        case_type: case.case_type,
        release_date: case.release_date,
        handover: None,
        checks: Vec::new(),
        notes: Vec::new(),
    };
    enquiry_checks(policy, case, as_of, words, &mut out);
    assessment_checks(policy, case, as_of, words, &mut out);
    if case.case_type != CaseType::Community {
        match case.release_date {
            Some(release) => release_checks(policy, case, release, as_of, words, &mut out),
            None => out.notes.push(Note::NoHandoverDate),
        }
    }
    out.checks.sort_by_key(|c| c.kind);
    out
}

/// From when the case needs its enquiries, and the words for it; `Err` with a note when it
/// does not need them yet.
fn enquiries_from(
    policy: &Policy,
    case: &CaseInput<'_>,
    as_of: NaiveDate,
    words: bool,
) -> Result<(NaiveDate, String), Note> {
    let sentence = (
        case.sentence_date,
        words!(words, "sentence ({})", fmt_date(case.sentence_date)),
    );
    if case.case_type != CaseType::Custody {
        return Ok(sentence);
    }
    let within_days = policy.enquiries.custody_release_within_days;
    let Some(release) = case.release_date else {
        return Err(Note::EnquiriesNotYetRequired {
            from: None,
            within_days,
        });
    };
    let from = minus_days(release, within_days);
    if from > as_of {
        Err(Note::EnquiriesNotYetRequired {
            from: Some(from),
            within_days,
        })
    } else if from <= case.sentence_date {
        Ok(sentence)
    } else {
        Ok((
            from,
            words!(
                words,
                "release ({}) coming within {within_days} days ({})",
                fmt_date(release),
                fmt_date(from)
            ),
        ))
    }
}

fn enquiry_checks(
    policy: &Policy,
    case: &CaseInput<'_>,
    as_of: NaiveDate,
    words: bool,
    out: &mut CaseChecks,
) {
    let q = &policy.enquiries;
    if q.required.is_empty() {
        return;
    }
    let scope = enquiries_from(policy, case, as_of, words);
    if let Err(note) = scope {
        out.notes.push(note);
    }
    for &kind in &q.required {
        let requests = || {
            case.enquiries
                .iter()
                .filter(move |e| e.kind == kind && e.requested_on <= as_of)
        };
        if let Ok((from, from_words)) = &scope {
            let due = Due {
                date: plus_days(*from, q.request_within_days),
                rule: words!(
                    words,
                    "{} enquiry requested within {} days of {from_words}",
                    kind.label(),
                    q.request_within_days
                ),
            };
            let first = requests().map(|e| e.requested_on).min();
            out.checks
                .push(check(CheckKind::EnquiryRequest { kind }, due, first, as_of));
        }
        // The latest request is the one to chase; on a tie, the one already answered.
        let returned = |e: &Enquiry| e.returned_on.filter(|r| *r <= as_of);
        if let Some(latest) = requests().max_by_key(|e| (e.requested_on, returned(e).is_some())) {
            let due = Due {
                date: plus_days(latest.requested_on, q.return_within_days),
                rule: words!(
                    words,
                    "{} enquiry returned within {} days of its request ({})",
                    kind.label(),
                    q.return_within_days,
                    fmt_date(latest.requested_on)
                ),
            };
            out.checks.push(check(
                CheckKind::EnquiryReturn { kind },
                due,
                returned(latest),
                as_of,
            ));
        }
    }
}

fn assessment_checks(
    policy: &Policy,
    case: &CaseInput<'_>,
    as_of: NaiveDate,
    words: bool,
    out: &mut CaseChecks,
) {
    let a = &policy.assessments;
    let sentence = case.sentence_date;
    let done = || {
        case.assessments
            .iter()
            .map(|x| x.completed_on)
            .filter(move |d| (sentence..=as_of).contains(d))
    };
    out.checks.push(check(
        CheckKind::InitialAssessment,
        Due {
            date: plus_days(sentence, a.initial_within_days),
            rule: words!(
                words,
                "initial assessment within {} days of sentence ({})",
                a.initial_within_days,
                fmt_date(sentence)
            ),
        },
        done().min(),
        as_of,
    ));

    let periodic = done().max().map(|latest| Due {
        date: plus_days(latest, a.review_interval_days),
        rule: words!(
            words,
            "review assessment every {} days after the latest assessment ({})",
            a.review_interval_days,
            fmt_date(latest)
        ),
    });
    let after_change = case
        .rosh_changed_on
        .filter(|c| (sentence..=as_of).contains(c))
        .filter(|c| !done().any(|d| d >= *c))
        .map(|c| Due {
            date: plus_days(c, a.after_rosh_change_days),
            rule: words!(
                words,
                "review assessment within {} days of the RoSH change{} ({})",
                a.after_rosh_change_days,
                case.rosh
                    .map(|r| words!(words, " to {r}"))
                    .unwrap_or_default(),
                fmt_date(c)
            ),
        });
    let review = match (periodic, after_change) {
        (Some(p), Some(c)) => Some(if c.date < p.date { c } else { p }),
        (p, c) => p.or(c),
    };
    if let Some(due) = review {
        out.checks
            .push(check(CheckKind::ReviewAssessment, due, None, as_of));
    }
}

/// The window `[release - days, release - 1]`: the days before release, first and last.
fn window_before(release: NaiveDate, days: u32) -> (NaiveDate, NaiveDate) {
    (minus_days(release, days), minus_days(release, 1))
}

fn release_checks(
    policy: &Policy,
    case: &CaseInput<'_>,
    release: NaiveDate,
    as_of: NaiveDate,
    words: bool,
    out: &mut CaseChecks,
) {
    let window_days = policy.assessments.pre_release_window_days;
    let (start, end) = window_before(release, window_days);
    let met = case
        .assessments
        .iter()
        .filter(|x| x.kind == AssessmentKind::PreRelease)
        .map(|x| x.completed_on)
        .filter(|d| (start..=end).contains(d) && *d <= as_of)
        .min();
    out.checks.push(check(
        CheckKind::PreReleaseAssessment,
        Due {
            date: end,
            rule: words!(
                words,
                "pre-release assessment in the {window_days} days before release ({})",
                fmt_date(release)
            ),
        },
        met,
        as_of,
    ));

    let window_days = policy.release.contact_window_days;
    let (start, end) = window_before(release, window_days);
    let met = case
        .contacts
        .iter()
        .copied()
        .filter(|d| (start..=end).contains(d) && *d <= as_of)
        .min();
    out.checks.push(check(
        CheckKind::PreReleaseContact,
        Due {
            date: end,
            rule: words!(
                words,
                "at least one contact in the {window_days} days before release ({})",
                fmt_date(release)
            ),
        },
        met,
        as_of,
    ));

    if let Some(handover) = handover_date_with(
        policy,
        case.custody_kind,
        case.sentence_date,
        Some(release),
        words,
    ) {
        let grace = policy.handover.grace_days;
        let due = Due {
            date: handover.date,
            rule: words!(
                words,
                "{}; an alert when none is {grace} days after ({})",
                handover.rule,
                fmt_date(plus_days(handover.date, grace))
            ),
        };
        let allocated = case.allocated_on.filter(|d| *d <= as_of);
        out.checks
            .push(check(CheckKind::Handover, due, allocated, as_of));
        out.handover = Some(handover);
    }
}

/// Releases this many days back (12 weeks) count in the release shares: long enough to
/// gather a PDU's releases, short enough to show the current practice, and the same span
/// as the pre-release contact window and the screen's next 12 weeks of releases.
pub const RECENT_RELEASE_DAYS: u32 = 84;

/// `count` of `of` cases or checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Share {
    pub count: u64,
    pub of: u64,
}

impl Share {
    /// The fraction (0.36 = 36%), or `None` of nothing.
    pub fn fraction(self) -> Option<f64> {
        (self.of > 0).then(|| self.count as f64 / self.of as f64)
    }

    fn add(&mut self, hit: bool) {
        self.of += 1;
        self.count += u64::from(hit);
    }

    fn merge(&mut self, other: Share) {
        self.count += other.count;
        self.of += other.of;
    }
}

/// The per-PDU shares of the inspection's checks, folded from [`CaseChecks`] of one as-of
/// date.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PduShares {
    /// Per kind: requests made, of the cases that needed one by now (requested, or overdue;
    /// a case still inside its request period counts in neither).
    pub enquiries_made: BTreeMap<EnquiryKind, Share>,
    /// Initial and review assessments on time ([`Check::on_time`]), of all such checks: the
    /// "timely contact" shape, `(required - late) / required`, where late is overdue or met
    /// after the due date.
    pub assessments_on_time: Share,
    /// CUSTODY cases whose initial assessment is overdue: the start-of-custody backlog.
    pub custody_backlog: u64,
    /// Releases in the last [`RECENT_RELEASE_DAYS`] (as-of date included) with a contact in
    /// the window before release, of those releases.
    pub releases_with_contact: Share,
    /// The same releases with a `pre_release` assessment in its window.
    pub releases_with_assessment: Share,
}

impl PduShares {
    /// Folds many cases.
    pub fn from_cases<'a>(cases: impl IntoIterator<Item = &'a CaseChecks>) -> PduShares {
        let mut s = PduShares::default();
        for c in cases {
            s.add(c);
        }
        s
    }

    /// Counts one case.
    pub fn add(&mut self, case: &CaseChecks) {
        let recent_release = case
            .release_date
            .is_some_and(|r| r <= case.as_of && r >= minus_days(case.as_of, RECENT_RELEASE_DAYS));
        for c in &case.checks {
            match c.kind {
                // Not yet due: in neither the count nor the whole.
                CheckKind::EnquiryRequest { kind } if c.status != Status::Due => {
                    let met = matches!(c.status, Status::Met { .. });
                    self.enquiries_made.entry(kind).or_default().add(met);
                }
                CheckKind::InitialAssessment | CheckKind::ReviewAssessment => {
                    self.assessments_on_time.add(c.on_time());
                    if c.kind == CheckKind::InitialAssessment
                        && case.case_type == CaseType::Custody
                        && c.is_overdue()
                    {
                        self.custody_backlog += 1;
                    }
                }
                CheckKind::PreReleaseContact if recent_release => {
                    self.releases_with_contact
                        .add(matches!(c.status, Status::Met { .. }));
                }
                CheckKind::PreReleaseAssessment if recent_release => {
                    self.releases_with_assessment
                        .add(matches!(c.status, Status::Met { .. }));
                }
                _ => {}
            }
        }
    }

    /// Adds another PDU's counts (a region's figures from its PDUs').
    pub fn merge(&mut self, other: &PduShares) {
        for (k, v) in &other.enquiries_made {
            self.enquiries_made.entry(*k).or_default().merge(*v);
        }
        self.assessments_on_time.merge(other.assessments_on_time);
        self.custody_backlog += other.custody_backlog;
        self.releases_with_contact
            .merge(other.releases_with_contact);
        self.releases_with_assessment
            .merge(other.releases_with_assessment);
    }

    /// Requests of this kind made, of those needed by now.
    pub fn enquiries_made(&self, kind: EnquiryKind) -> Share {
        self.enquiries_made.get(&kind).copied().unwrap_or_default()
    }

    /// Requests of every kind made, of those needed by now, each enquiry counted once.
    pub fn enquiries_made_total(&self) -> Share {
        let mut t = Share::default();
        for v in self.enquiries_made.values() {
            t.merge(*v);
        }
        t
    }
}

/// One case's risk-check metrics for the alert rules: days overdue, 0 when not (the shape
/// of `contact_overdue_days`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CaseRiskMetrics {
    /// The most days any required enquiry is overdue (not requested, or not returned).
    pub enquiry_overdue_days: f64,
    /// The initial or review assessment, whichever is more overdue.
    pub assessment_overdue_days: f64,
    /// Days past the handover date with no practitioner allocated, for a CUSTODY case or
    /// one released in the last [`RECENT_RELEASE_DAYS`].
    pub handover_overdue_days: f64,
    /// Released in the last [`RECENT_RELEASE_DAYS`] with no contact in the window before
    /// release: days since the window closed (0 otherwise, and for older releases).
    pub pre_release_contact_missing_days: f64,
    /// The same for the pre-release assessment.
    pub pre_release_assessment_missing_days: f64,
}

impl CaseRiskMetrics {
    pub fn of(case: &CaseChecks) -> CaseRiskMetrics {
        let days = |g| case.overdue_days(g) as f64;
        let recent_release = case
            .release_date
            .is_some_and(|r| r <= case.as_of && r >= minus_days(case.as_of, RECENT_RELEASE_DAYS));
        let release = |g| if recent_release { days(g) } else { 0.0 };
        // A handover concerns someone still in prison or just out: a licence case released
        // long ago with no practitioner is an unallocated case, which other rules list.
        let handover = if case.case_type == CaseType::Custody {
            days(CheckGroup::Handover)
        } else {
            release(CheckGroup::Handover)
        };
        CaseRiskMetrics {
            enquiry_overdue_days: days(CheckGroup::Enquiry),
            assessment_overdue_days: days(CheckGroup::Assessment),
            handover_overdue_days: handover,
            pre_release_contact_missing_days: release(CheckGroup::PreReleaseContact),
            pre_release_assessment_missing_days: release(CheckGroup::PreReleaseAssessment),
        }
    }

    /// Whether any check is overdue (a case worth a subject in the nightly run).
    pub fn any(&self) -> bool {
        self.enquiry_overdue_days > 0.0
            || self.assessment_overdue_days > 0.0
            || self.handover_overdue_days > 0.0
            || self.pre_release_contact_missing_days > 0.0
            || self.pre_release_assessment_missing_days > 0.0
    }

    /// The metrics by the names the rules use.
    pub fn named(&self) -> [(&'static str, f64); 5] {
        [
            ("enquiry_overdue_days", self.enquiry_overdue_days),
            ("assessment_overdue_days", self.assessment_overdue_days),
            ("handover_overdue_days", self.handover_overdue_days),
            (
                "pre_release_contact_missing_days",
                self.pre_release_contact_missing_days,
            ),
            (
                "pre_release_assessment_missing_days",
                self.pre_release_assessment_missing_days,
            ),
        ]
    }
}

/// A share as reports print it: the count, the whole and the fraction (`null` of nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShareFigure {
    pub count: u64,
    pub of: u64,
    pub share: Option<f64>,
}

impl From<Share> for ShareFigure {
    fn from(s: Share) -> ShareFigure {
        ShareFigure {
            count: s.count,
            of: s.of,
            share: s.fraction().map(|f| (f * 10_000.0).round() / 10_000.0),
        }
    }
}

/// A PDU's (or a region's) risk-check figures as the summary, the overview and the rules
/// read them: the inspection's shares and the counts of cases behind the case alerts.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RiskFigures {
    /// Enquiries of both kinds made, of those needed by now.
    pub enquiries_made: ShareFigure,
    pub domestic_abuse_enquiries_made: ShareFigure,
    pub child_safeguarding_enquiries_made: ShareFigure,
    /// Initial and review assessments on time.
    pub assessments_on_time: ShareFigure,
    /// CUSTODY cases whose initial assessment is overdue.
    pub custody_assessment_backlog: u64,
    /// Releases in the last 12 weeks with a contact in the window before release.
    pub releases_with_contact: ShareFigure,
    /// The same releases with a pre-release assessment.
    pub releases_with_pre_release_assessment: ShareFigure,
    /// Cases with an enquiry overdue.
    pub enquiry_overdue_cases: u64,
    /// Cases past their handover date with no practitioner allocated.
    pub handover_overdue_cases: u64,
}

impl ShareFigure {
    fn merge(&mut self, other: &ShareFigure) {
        self.count += other.count;
        self.of += other.of;
        *self = Share {
            count: self.count,
            of: self.of,
        }
        .into();
    }
}

impl RiskFigures {
    /// Adds another PDU's figures (a region's from its PDUs').
    pub fn merge(&mut self, o: &RiskFigures) {
        self.enquiries_made.merge(&o.enquiries_made);
        self.domestic_abuse_enquiries_made
            .merge(&o.domestic_abuse_enquiries_made);
        self.child_safeguarding_enquiries_made
            .merge(&o.child_safeguarding_enquiries_made);
        self.assessments_on_time.merge(&o.assessments_on_time);
        self.custody_assessment_backlog += o.custody_assessment_backlog;
        self.releases_with_contact.merge(&o.releases_with_contact);
        self.releases_with_pre_release_assessment
            .merge(&o.releases_with_pre_release_assessment);
        self.enquiry_overdue_cases += o.enquiry_overdue_cases;
        self.handover_overdue_cases += o.handover_overdue_cases;
    }
}

/// Folds cases into [`RiskFigures`]: [`PduShares`] plus the case counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RiskTally {
    pub shares: PduShares,
    pub enquiry_overdue_cases: u64,
    pub handover_overdue_cases: u64,
}

impl RiskTally {
    pub fn add(&mut self, case: &CaseChecks, metrics: &CaseRiskMetrics) {
        self.shares.add(case);
        self.enquiry_overdue_cases += u64::from(metrics.enquiry_overdue_days > 0.0);
        self.handover_overdue_cases += u64::from(metrics.handover_overdue_days > 0.0);
    }

    pub fn merge(&mut self, other: &RiskTally) {
        self.shares.merge(&other.shares);
        self.enquiry_overdue_cases += other.enquiry_overdue_cases;
        self.handover_overdue_cases += other.handover_overdue_cases;
    }

    pub fn figures(&self) -> RiskFigures {
        let s = &self.shares;
        RiskFigures {
            enquiries_made: s.enquiries_made_total().into(),
            domestic_abuse_enquiries_made: s.enquiries_made(EnquiryKind::DomesticAbuse).into(),
            child_safeguarding_enquiries_made: s
                .enquiries_made(EnquiryKind::ChildSafeguarding)
                .into(),
            assessments_on_time: s.assessments_on_time.into(),
            custody_assessment_backlog: s.custody_backlog,
            releases_with_contact: s.releases_with_contact.into(),
            releases_with_pre_release_assessment: s.releases_with_assessment.into(),
            enquiry_overdue_cases: self.enquiry_overdue_cases,
            handover_overdue_cases: self.handover_overdue_cases,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EnquiryOutcome, parse_date};

    fn d(s: &str) -> NaiveDate {
        parse_date("d", s).expect("a test date")
    }

    const DA: EnquiryKind = EnquiryKind::DomesticAbuse;
    const CS: EnquiryKind = EnquiryKind::ChildSafeguarding;

    fn case(case_type: CaseType, sentence: &str) -> CaseInput<'static> {
        CaseInput {
            case_type,
            sentence_date: d(sentence),
            release_date: None,
            custody_kind: CustodyKind::Standard,
            rosh: Some(Rosh::Medium),
            rosh_changed_on: None,
            allocated_on: None,
            enquiries: &[],
            assessments: &[],
            contacts: &[],
        }
    }

    fn asked(kind: EnquiryKind, on: &str, back: Option<&str>) -> Enquiry {
        Enquiry {
            kind,
            requested_on: d(on),
            returned_on: back.map(d),
            outcome: back.map(|_| EnquiryOutcome::NoConcerns),
        }
    }

    fn assessed(kind: AssessmentKind, on: &str) -> Assessment {
        Assessment {
            kind,
            completed_on: d(on),
            rosh: Rosh::Medium,
        }
    }

    fn run(c: &CaseInput<'_>, as_of: &str) -> CaseChecks {
        evaluate(&Policy::defaults(), c, d(as_of))
    }

    fn status(r: &CaseChecks, kind: CheckKind) -> Status {
        r.get(kind)
            .unwrap_or_else(|| panic!("{kind} should apply: {r:#?}"))
            .status
    }

    const REQ_DA: CheckKind = CheckKind::EnquiryRequest { kind: DA };
    const RET_DA: CheckKind = CheckKind::EnquiryReturn { kind: DA };

    #[test]
    fn enquiries_are_due_ten_days_after_sentence_and_overdue_the_day_after() {
        let c = case(CaseType::Community, "2026-03-01");
        // Sentenced today: due, not overdue.
        let today = run(&c, "2026-03-01");
        assert_eq!(status(&today, REQ_DA), Status::Due);
        let check = today.get(REQ_DA).unwrap();
        assert_eq!(check.due.date, d("2026-03-11"));
        assert_eq!(
            check.due.rule,
            "domestic-abuse enquiry requested within 10 days of sentence (2026-03-01)"
        );
        assert_eq!(status(&run(&c, "2026-03-11"), REQ_DA), Status::Due);
        assert_eq!(
            status(&run(&c, "2026-03-12"), REQ_DA),
            Status::Overdue { days: 1 }
        );
        // Both kinds are required by default; no request, so nothing to chase yet.
        let r = run(&c, "2026-03-12");
        assert!(r.get(CheckKind::EnquiryRequest { kind: CS }).is_some());
        assert!(r.get(RET_DA).is_none());
        assert_eq!(r.overdue_days(CheckGroup::Enquiry), 1);
    }

    #[test]
    fn a_request_meets_the_check_even_late_or_before_sentence() {
        let late = [asked(DA, "2026-03-20", None)];
        let c = CaseInput {
            enquiries: &late,
            ..case(CaseType::Licence, "2026-03-01")
        };
        let r = run(&c, "2026-03-25");
        let check = r.get(REQ_DA).unwrap();
        assert_eq!(
            check.status,
            Status::Met {
                on: d("2026-03-20")
            }
        );
        assert!(!check.met_on_time() && !check.on_time());
        // Pre-sentence enquiries count, and on time.
        let early = [asked(DA, "2026-02-01", Some("2026-02-10"))];
        let c = CaseInput {
            enquiries: &early,
            ..c
        };
        let r = run(&c, "2026-03-25");
        assert!(r.get(REQ_DA).unwrap().met_on_time());
        assert_eq!(
            status(&r, RET_DA),
            Status::Met {
                on: d("2026-02-10")
            }
        );
    }

    #[test]
    fn a_request_not_returned_after_28_days_is_overdue() {
        let out = [asked(DA, "2026-03-05", None)];
        let c = CaseInput {
            enquiries: &out,
            ..case(CaseType::Community, "2026-03-01")
        };
        let r = run(&c, "2026-04-02");
        let ret = r.get(RET_DA).unwrap();
        assert_eq!(ret.due.date, d("2026-04-02"));
        assert_eq!(ret.status, Status::Due);
        assert_eq!(
            ret.due.rule,
            "domestic-abuse enquiry returned within 28 days of its request (2026-03-05)"
        );
        assert_eq!(
            status(&run(&c, "2026-04-05"), RET_DA),
            Status::Overdue { days: 3 }
        );
        // A reply dated after the as-of date is not known yet.
        let later = [asked(DA, "2026-03-05", Some("2026-04-10"))];
        let c = CaseInput {
            enquiries: &later,
            ..c
        };
        assert_eq!(
            status(&run(&c, "2026-04-05"), RET_DA),
            Status::Overdue { days: 3 }
        );
        assert_eq!(
            status(&run(&c, "2026-04-10"), RET_DA),
            Status::Met {
                on: d("2026-04-10")
            }
        );
    }

    #[test]
    fn the_latest_request_is_the_one_chased_and_future_requests_are_ignored() {
        let qs = [
            asked(DA, "2026-01-05", Some("2026-01-20")),
            asked(DA, "2026-03-01", None),
            asked(DA, "2026-06-01", None),
        ];
        let c = CaseInput {
            enquiries: &qs,
            ..case(CaseType::Community, "2026-01-01")
        };
        let r = run(&c, "2026-04-01");
        let ret = r.get(RET_DA).unwrap();
        assert_eq!(ret.due.date, d("2026-03-29"));
        assert_eq!(ret.status, Status::Overdue { days: 3 });
        assert_eq!(
            status(&r, REQ_DA),
            Status::Met {
                on: d("2026-01-05")
            }
        );
        // Before any request was made, the future ones do not count.
        let r = run(&c, "2026-01-04");
        assert_eq!(status(&r, REQ_DA), Status::Due);
        assert!(r.get(RET_DA).is_none());
    }

    #[test]
    fn custody_cases_need_enquiries_once_release_is_within_a_year() {
        let far = CaseInput {
            release_date: Some(d("2029-01-01")),
            ..case(CaseType::Custody, "2026-01-01")
        };
        // Released more than 365 days ahead: not yet required, and the note says from when.
        let r = run(&far, "2026-06-01");
        assert!(r.get(REQ_DA).is_none());
        assert_eq!(
            r.notes,
            [Note::EnquiriesNotYetRequired {
                from: Some(d("2028-01-02")),
                within_days: 365
            }]
        );
        assert!(r.notes[0].to_string().contains("from 2028-01-02"));
        // Once in scope, due ten days after release came within the year.
        let r = run(&far, "2028-01-02");
        let req = r.get(REQ_DA).unwrap();
        assert_eq!(req.due.date, d("2028-01-12"));
        assert!(
            req.due
                .rule
                .contains("release (2029-01-01) coming within 365 days (2028-01-02)"),
            "{}",
            req.due.rule
        );
        assert!(r.notes.is_empty());
        // Released within the year of sentence: counted from sentence.
        let near = CaseInput {
            release_date: Some(d("2026-09-01")),
            ..far
        };
        assert_eq!(
            run(&near, "2026-01-01").get(REQ_DA).unwrap().due.date,
            d("2026-01-11")
        );
        // No release date: none, and the notes say why.
        let none = CaseInput {
            release_date: None,
            ..far
        };
        let r = run(&none, "2026-06-01");
        assert!(r.get(REQ_DA).is_none());
        assert!(r.notes.contains(&Note::EnquiriesNotYetRequired {
            from: None,
            within_days: 365
        }));
        assert!(r.notes.contains(&Note::NoHandoverDate));
    }

    #[test]
    fn a_request_already_out_is_chased_before_the_case_is_in_scope() {
        let out = [asked(CS, "2026-02-01", None)];
        let c = CaseInput {
            release_date: Some(d("2029-01-01")),
            enquiries: &out,
            ..case(CaseType::Custody, "2026-01-01")
        };
        let r = run(&c, "2026-06-01");
        assert!(r.get(CheckKind::EnquiryRequest { kind: CS }).is_none());
        assert!(
            r.get(CheckKind::EnquiryReturn { kind: CS })
                .unwrap()
                .is_overdue()
        );
    }

    #[test]
    fn only_the_required_kinds_are_checked() {
        let mut p = Policy::defaults();
        p.enquiries.required = vec![CS];
        let c = case(CaseType::Community, "2026-01-01");
        let r = evaluate(&p, &c, d("2026-06-01"));
        assert!(r.get(REQ_DA).is_none());
        assert!(r.get(CheckKind::EnquiryRequest { kind: CS }).is_some());
        p.enquiries.required.clear();
        let r = evaluate(&p, &c, d("2026-06-01"));
        assert_eq!(r.overdue_days(CheckGroup::Enquiry), 0);
        assert!(
            r.checks
                .iter()
                .all(|c| c.kind.group() != CheckGroup::Enquiry)
        );
    }

    #[test]
    fn the_initial_assessment_is_due_15_days_after_sentence() {
        let c = case(CaseType::Custody, "2026-03-01");
        let r = run(&c, "2026-03-16");
        let init = r.get(CheckKind::InitialAssessment).unwrap();
        assert_eq!(init.due.date, d("2026-03-16"));
        assert_eq!(init.status, Status::Due);
        assert_eq!(
            init.due.rule,
            "initial assessment within 15 days of sentence (2026-03-01)"
        );
        assert!(r.get(CheckKind::ReviewAssessment).is_none());
        assert_eq!(
            status(&run(&c, "2026-03-20"), CheckKind::InitialAssessment),
            Status::Overdue { days: 4 }
        );
        // One before sentence belongs to an earlier sentence; one after as-of is not known.
        let xs = [
            assessed(AssessmentKind::Initial, "2026-02-20"),
            assessed(AssessmentKind::Initial, "2026-04-01"),
        ];
        let c = CaseInput {
            assessments: &xs,
            ..c
        };
        assert_eq!(
            status(&run(&c, "2026-03-20"), CheckKind::InitialAssessment),
            Status::Overdue { days: 4 }
        );
        // Any kind meets it: the first after sentence.
        let xs = [
            assessed(AssessmentKind::Review, "2026-03-10"),
            assessed(AssessmentKind::Initial, "2026-03-12"),
        ];
        let c = CaseInput {
            assessments: &xs,
            ..c
        };
        let r = run(&c, "2026-03-20");
        assert_eq!(
            status(&r, CheckKind::InitialAssessment),
            Status::Met {
                on: d("2026-03-10")
            }
        );
        assert!(r.get(CheckKind::InitialAssessment).unwrap().met_on_time());
    }

    #[test]
    fn a_review_is_due_26_weeks_after_the_latest_assessment() {
        let xs = [
            assessed(AssessmentKind::Initial, "2026-01-10"),
            assessed(AssessmentKind::Review, "2026-07-01"),
        ];
        let c = CaseInput {
            assessments: &xs,
            ..case(CaseType::Community, "2026-01-01")
        };
        let r = run(&c, "2026-07-02");
        let rev = r.get(CheckKind::ReviewAssessment).unwrap();
        assert_eq!(rev.due.date, d("2026-12-30"));
        assert_eq!(rev.status, Status::Due);
        assert!(rev.due.rule.contains("every 182 days"), "{}", rev.due.rule);
        // Seen from before the review, the initial assessment is the latest.
        let r = run(&c, "2026-06-30");
        assert_eq!(
            r.get(CheckKind::ReviewAssessment).unwrap().due.date,
            d("2026-07-11")
        );
        assert_eq!(
            status(&run(&c, "2027-01-01"), CheckKind::ReviewAssessment),
            Status::Overdue { days: 2 }
        );
    }

    #[test]
    fn a_rosh_change_needs_a_review_within_10_days_unless_assessed_since() {
        let xs = [assessed(AssessmentKind::Initial, "2026-01-10")];
        let c = CaseInput {
            assessments: &xs,
            rosh: Some(Rosh::High),
            rosh_changed_on: Some(d("2026-03-01")),
            ..case(CaseType::Community, "2026-01-01")
        };
        let r = run(&c, "2026-03-20");
        let rev = r.get(CheckKind::ReviewAssessment).unwrap();
        assert_eq!(rev.due.date, d("2026-03-11"));
        assert_eq!(rev.status, Status::Overdue { days: 9 });
        assert_eq!(
            rev.due.rule,
            "review assessment within 10 days of the RoSH change to HIGH (2026-03-01)"
        );
        // Known only from the as-of date on.
        assert_eq!(
            run(&c, "2026-02-28")
                .get(CheckKind::ReviewAssessment)
                .unwrap()
                .due
                .date,
            d("2026-07-11")
        );
        // An assessment on the day of the change answers it.
        let xs = [
            assessed(AssessmentKind::Initial, "2026-01-10"),
            assessed(AssessmentKind::Review, "2026-03-01"),
        ];
        let c2 = CaseInput {
            assessments: &xs,
            ..c
        };
        assert_eq!(
            run(&c2, "2026-03-20")
                .get(CheckKind::ReviewAssessment)
                .unwrap()
                .due
                .date,
            d("2026-08-30")
        );
        // A change before sentence is the initial assessment's to pick up.
        let c3 = CaseInput {
            rosh_changed_on: Some(d("2025-12-01")),
            assessments: &[],
            ..c
        };
        let r = run(&c3, "2026-03-20");
        assert!(r.get(CheckKind::ReviewAssessment).is_none());
        // A change with no assessment since sentence: the review is due from the change.
        let c4 = CaseInput {
            assessments: &[],
            ..c
        };
        let r = run(&c4, "2026-03-05");
        assert_eq!(
            r.get(CheckKind::ReviewAssessment).unwrap().due.date,
            d("2026-03-11")
        );
    }

    fn custody(release: &str, kind: CustodyKind) -> CaseInput<'static> {
        CaseInput {
            release_date: Some(d(release)),
            custody_kind: kind,
            ..case(CaseType::Custody, "2025-01-10")
        }
    }

    #[test]
    fn handover_is_release_minus_8_months_14_days_across_month_ends() {
        let p = Policy::defaults();
        let h = |kind, sentence: &str, release: &str| {
            handover_date(&p, kind, d(sentence), Some(d(release))).expect("a release date")
        };
        let std = h(CustodyKind::Standard, "2025-01-10", "2027-01-31");
        assert_eq!(std.date, d("2026-05-17"));
        assert_eq!(
            std.rule,
            "community offender manager allocated by the handover: release (2027-01-31) minus \
             8 months 14 days for a standard sentence"
        );
        // 31 October minus 8 months has no 30/31 February: 28 (or 29) February, then 14 days.
        assert_eq!(
            h(CustodyKind::Standard, "2025-01-10", "2026-10-31").date,
            d("2026-02-14")
        );
        assert_eq!(
            h(CustodyKind::Standard, "2023-01-10", "2024-10-31").date,
            d("2024-02-15")
        );
        assert_eq!(
            h(CustodyKind::Standard, "2025-01-10", "2026-03-10").date,
            d("2025-06-26")
        );
        for kind in [CustodyKind::ParoleEligible, CustodyKind::Indeterminate] {
            assert_eq!(h(kind, "2025-01-10", "2027-01-31").date, d("2026-01-31"));
            assert_eq!(h(kind, "2025-01-10", "2028-02-29").date, d("2027-02-28"));
        }
        assert!(handover_date(&p, CustodyKind::Indeterminate, d("2025-01-10"), None).is_none());
    }

    #[test]
    fn a_release_within_10_months_of_sentence_is_due_at_once() {
        let p = Policy::defaults();
        let at_once = handover_date(
            &p,
            CustodyKind::Standard,
            d("2026-01-31"),
            Some(d("2026-11-30")),
        )
        .unwrap();
        // 10 months to the day (31 January + 10 months = 30 November): still at once.
        assert_eq!(at_once.date, d("2026-01-31"));
        assert!(at_once.rule.contains("at once"), "{}", at_once.rule);
        let later = handover_date(
            &p,
            CustodyKind::Standard,
            d("2026-01-31"),
            Some(d("2026-12-01")),
        )
        .unwrap();
        assert_eq!(later.date, d("2026-03-18"));
        // A year's period before an 11-month sentence would fall before sentence.
        let parole = handover_date(
            &p,
            CustodyKind::ParoleEligible,
            d("2026-01-31"),
            Some(d("2026-12-31")),
        )
        .unwrap();
        assert_eq!(parole.date, d("2026-01-31"));
        assert!(
            parole.rule.contains("not before sentence"),
            "{}",
            parole.rule
        );
    }

    #[test]
    fn handover_is_met_by_an_allocation_and_alerts_14_days_after() {
        let p = Policy::defaults();
        let c = custody("2027-01-31", CustodyKind::Standard);
        let r = run(&c, "2026-05-17");
        assert_eq!(r.handover.as_ref().unwrap().date, d("2026-05-17"));
        let hand = r.get(CheckKind::Handover).unwrap();
        assert_eq!(hand.status, Status::Due);
        assert!(
            hand.due
                .rule
                .ends_with("an alert when none is 14 days after (2026-05-31)")
        );
        let r = run(&c, "2026-05-31");
        let hand = r.get(CheckKind::Handover).unwrap();
        assert_eq!(hand.status, Status::Overdue { days: 14 });
        assert!(!hand.is_alert(&p));
        let r = run(&c, "2026-06-01");
        assert!(r.get(CheckKind::Handover).unwrap().is_alert(&p));
        assert!(r.alerts(CheckGroup::Handover, &p));
        assert_eq!(r.overdue_days(CheckGroup::Handover), 15);
        // Allocated, or allocated only after the as-of date.
        let c = CaseInput {
            allocated_on: Some(d("2026-05-20")),
            ..c
        };
        let hand = run(&c, "2026-06-01");
        let hand = hand.get(CheckKind::Handover).unwrap();
        assert_eq!(
            hand.status,
            Status::Met {
                on: d("2026-05-20")
            }
        );
        assert!(!hand.met_on_time());
        assert!(
            run(&c, "2026-05-19")
                .get(CheckKind::Handover)
                .unwrap()
                .is_overdue()
        );
    }

    #[test]
    fn custody_with_no_release_date_has_no_handover_and_says_so() {
        let c = CaseInput {
            custody_kind: CustodyKind::Indeterminate,
            ..case(CaseType::Custody, "2020-01-01")
        };
        let r = run(&c, "2026-06-01");
        assert!(r.handover.is_none());
        for k in [
            CheckKind::Handover,
            CheckKind::PreReleaseContact,
            CheckKind::PreReleaseAssessment,
        ] {
            assert!(r.get(k).is_none(), "{k}");
        }
        assert!(r.notes.contains(&Note::NoHandoverDate));
        assert!(
            r.notes
                .iter()
                .any(|n| n.to_string().starts_with("no handover date")),
            "{:?}",
            r.notes
        );
        // Community cases have none of these and need no note.
        let r = run(&case(CaseType::Community, "2026-01-01"), "2026-06-01");
        assert!(r.notes.is_empty() && r.handover.is_none());
        assert!(r.get(CheckKind::PreReleaseContact).is_none());
    }

    #[test]
    fn a_contact_in_the_12_weeks_before_release_meets_the_check() {
        let release = "2026-06-01";
        let c = custody(release, CustodyKind::Standard);
        let r = run(&c, "2026-05-01");
        let pc = r.get(CheckKind::PreReleaseContact).unwrap();
        assert_eq!(pc.due.date, d("2026-05-31"));
        assert_eq!(pc.status, Status::Due);
        assert_eq!(
            pc.due.rule,
            "at least one contact in the 84 days before release (2026-06-01)"
        );
        // First day of the window counts; the day before it and release day do not.
        for (on, met) in [
            ("2026-03-09", true),
            ("2026-03-08", false),
            ("2026-05-31", true),
            ("2026-06-01", false),
        ] {
            let contacts = [d(on)];
            let c = CaseInput {
                contacts: &contacts,
                ..c
            };
            let r = run(&c, "2026-06-10");
            let s = status(&r, CheckKind::PreReleaseContact);
            assert_eq!(matches!(s, Status::Met { .. }), met, "{on}: {s:?}");
            if !met {
                assert_eq!(s, Status::Overdue { days: 10 }, "{on}");
            }
        }
        // A contact after the as-of date is not known yet.
        let contacts = [d("2026-05-20")];
        let c = CaseInput {
            contacts: &contacts,
            ..c
        };
        assert_eq!(
            status(&run(&c, "2026-05-19"), CheckKind::PreReleaseContact),
            Status::Due
        );
    }

    #[test]
    fn a_pre_release_assessment_must_be_of_that_kind_in_the_8_weeks_before() {
        let xs = [
            assessed(AssessmentKind::Review, "2026-05-01"),
            assessed(AssessmentKind::PreRelease, "2026-04-05"),
        ];
        let c = CaseInput {
            assessments: &xs,
            ..custody("2026-06-01", CustodyKind::Standard)
        };
        // The window opens 2026-04-06: the one a day earlier and the review do not count.
        let r = run(&c, "2026-06-01");
        let pa = r.get(CheckKind::PreReleaseAssessment).unwrap();
        assert_eq!(pa.status, Status::Overdue { days: 1 });
        assert_eq!(
            pa.due.rule,
            "pre-release assessment in the 56 days before release (2026-06-01)"
        );
        let xs = [assessed(AssessmentKind::PreRelease, "2026-04-06")];
        let c = CaseInput {
            assessments: &xs,
            ..c
        };
        assert_eq!(
            status(&run(&c, "2026-06-01"), CheckKind::PreReleaseAssessment),
            Status::Met {
                on: d("2026-04-06")
            }
        );
    }

    #[test]
    fn a_past_release_is_judged_on_what_happened_before_it() {
        // Released a month ago, allocated two weeks after release, no contact before.
        let contacts = [d("2026-06-01"), d("2026-06-15")];
        let xs = [assessed(AssessmentKind::PreRelease, "2026-05-20")];
        let c = CaseInput {
            release_date: Some(d("2026-06-01")),
            allocated_on: Some(d("2026-06-15")),
            contacts: &contacts,
            assessments: &xs,
            ..case(CaseType::Licence, "2025-01-10")
        };
        let r = run(&c, "2026-07-01");
        assert_eq!(
            status(&r, CheckKind::PreReleaseContact),
            Status::Overdue { days: 31 }
        );
        assert!(
            r.get(CheckKind::PreReleaseAssessment)
                .unwrap()
                .met_on_time()
        );
        let hand = r.get(CheckKind::Handover).unwrap();
        assert_eq!(hand.due.date, d("2025-09-17"));
        assert_eq!(
            hand.status,
            Status::Met {
                on: d("2026-06-15")
            }
        );
        assert!(!hand.met_on_time());
        // The enquiries still apply to a licence case.
        assert!(r.get(REQ_DA).unwrap().is_overdue());
    }

    #[test]
    fn the_pdu_shares_count_what_the_inspection_counted() {
        let as_of = "2026-07-01";
        let da = [asked(DA, "2026-01-05", Some("2026-01-20"))];
        let pre = [d("2026-05-01")];
        let cases = [
            // Enquiries made (one kind), assessed on time, released recently with contact.
            CaseInput {
                enquiries: &da,
                release_date: Some(d("2026-06-01")),
                contacts: &pre,
                assessments: &[],
                ..case(CaseType::Licence, "2026-01-01")
            },
            // Custody, no initial assessment: the backlog; release far ahead.
            CaseInput {
                release_date: Some(d("2030-01-01")),
                ..case(CaseType::Custody, "2026-05-01")
            },
            // Sentenced yesterday: enquiries not yet due count in neither figure.
            case(CaseType::Community, "2026-06-30"),
            // Released long ago: not a recent release.
            CaseInput {
                release_date: Some(d("2025-01-01")),
                ..case(CaseType::Licence, "2024-01-01")
            },
        ];
        let results: Vec<CaseChecks> = cases.iter().map(|c| run(c, as_of)).collect();
        let s = PduShares::from_cases(&results);
        assert_eq!(s.enquiries_made(DA), Share { count: 1, of: 2 });
        assert_eq!(s.enquiries_made(CS), Share { count: 0, of: 2 });
        assert_eq!(s.enquiries_made_total(), Share { count: 1, of: 4 });
        assert_eq!(s.custody_backlog, 1);
        // Initial checks: overdue (case 1, 2 and 4) and due (case 3).
        assert_eq!(s.assessments_on_time, Share { count: 1, of: 4 });
        assert_eq!(s.releases_with_contact, Share { count: 1, of: 1 });
        assert_eq!(s.releases_with_assessment, Share { count: 0, of: 1 });
        assert_eq!(s.releases_with_contact.fraction(), Some(1.0));
        assert_eq!(Share::default().fraction(), None);
        // A region's figures are its PDUs' added.
        let mut region = s.clone();
        region.merge(&s);
        assert_eq!(region.enquiries_made(DA), Share { count: 2, of: 4 });
        assert_eq!(region.custody_backlog, 2);
    }

    #[test]
    fn a_release_on_the_as_of_date_or_84_days_back_is_recent() {
        let share = |release: &str| {
            let c = CaseInput {
                release_date: Some(d(release)),
                ..case(CaseType::Licence, "2025-01-01")
            };
            PduShares::from_cases([&run(&c, "2026-07-01")]).releases_with_contact
        };
        assert_eq!(share("2026-07-01").of, 1);
        assert_eq!(share("2026-04-08").of, 1);
        assert_eq!(share("2026-04-07").of, 0);
        assert_eq!(share("2026-07-02").of, 0);
    }
}

/// A case's records owned, for tests that make many ([`CaseInput`] borrows them).
#[cfg(test)]
pub(crate) mod owned_case {
    use super::*;

    #[derive(Debug, Clone)]
    pub(crate) struct Case {
        pub case_type: CaseType,
        pub sentence: NaiveDate,
        pub release: Option<NaiveDate>,
        pub custody_kind: CustodyKind,
        pub rosh_changed_on: Option<NaiveDate>,
        pub allocated_on: Option<NaiveDate>,
        pub enquiries: Vec<Enquiry>,
        pub assessments: Vec<Assessment>,
        pub contacts: Vec<NaiveDate>,
    }

    impl Case {
        pub(crate) fn input(&self) -> CaseInput<'_> {
            CaseInput {
                case_type: self.case_type,
                sentence_date: self.sentence,
                release_date: self.release,
                custody_kind: self.custody_kind,
                rosh: None,
                rosh_changed_on: self.rosh_changed_on,
                allocated_on: self.allocated_on,
                enquiries: &self.enquiries,
                assessments: &self.assessments,
                contacts: &self.contacts,
            }
        }
    }
}

#[cfg(test)]
mod properties {
    use super::owned_case::Case;
    use super::*;
    use crate::domain::EnquiryOutcome;
    use proptest::prelude::*;

    fn base() -> NaiveDate {
        NaiveDate::from_ymd_opt(2020, 1, 1).expect("a real date")
    }

    fn day() -> impl Strategy<Value = NaiveDate> {
        (0u64..3000).prop_map(|n| base() + chrono::Days::new(n))
    }

    fn enquiry() -> impl Strategy<Value = Enquiry> {
        (
            prop::sample::select(EnquiryKind::ALL),
            day(),
            prop::option::of(day()),
            prop::option::of(prop::sample::select(EnquiryOutcome::ALL)),
        )
            .prop_map(|(kind, requested_on, returned_on, outcome)| Enquiry {
                kind,
                requested_on,
                returned_on,
                outcome,
            })
    }

    fn assessment() -> impl Strategy<Value = Assessment> {
        (
            prop::sample::select(AssessmentKind::ALL),
            day(),
            prop::sample::select(Rosh::ALL),
        )
            .prop_map(|(kind, completed_on, rosh)| Assessment {
                kind,
                completed_on,
                rosh,
            })
    }

    prop_compose! {
        fn any_case()(
            case_type in prop::sample::select(CaseType::ALL),
            sentence in day(),
            release in prop::option::of(day()),
            custody_kind in prop::sample::select(CustodyKind::ALL),
            rosh_changed_on in prop::option::of(day()),
            allocated_on in prop::option::of(day()),
            enquiries in prop::collection::vec(enquiry(), 0..5),
            assessments in prop::collection::vec(assessment(), 0..5),
            contacts in prop::collection::vec(day(), 0..6),
        ) -> Case {
            Case {
                case_type, sentence, release, custody_kind, rosh_changed_on, allocated_on,
                enquiries, assessments, contacts,
            }
        }
    }

    /// Worst first, so that "never worse" is `>=`.
    fn rank(s: Status) -> u8 {
        match s {
            Status::Overdue { .. } => 0,
            Status::Due => 1,
            Status::Met { .. } => 2,
        }
    }

    proptest! {
        #[test]
        fn every_check_agrees_with_its_due_date_and_the_as_of_date(
            case in any_case(),
            as_of in day(),
        ) {
            let r = evaluate(&Policy::defaults(), &case.input(), as_of);
            let mut kinds: Vec<CheckKind> = r.checks.iter().map(|c| c.kind).collect();
            kinds.dedup();
            prop_assert_eq!(kinds.len(), r.checks.len(), "one check of each kind");
            for c in &r.checks {
                match c.status {
                    Status::Met { on } => prop_assert!(on <= as_of, "{:?}", c),
                    Status::Due => prop_assert!(!c.due.is_overdue(as_of), "{:?}", c),
                    Status::Overdue { days } => {
                        prop_assert!(c.due.date < as_of, "{:?}", c);
                        prop_assert_eq!(days, c.due.days_overdue(as_of));
                    }
                }
                prop_assert!(!c.due.rule.is_empty());
                if c.kind.group() == CheckGroup::Handover {
                    prop_assert!(c.due.date >= case.sentence, "{:?}", c);
                }
            }
            prop_assert_eq!(r.handover.is_some(), r.get(CheckKind::Handover).is_some());
        }

        #[test]
        fn a_later_contact_never_makes_the_pre_release_contact_worse(
            case in any_case(),
            as_of in day(),
            after in 0u64..200,
        ) {
            let p = Policy::defaults();
            let before = evaluate(&p, &case.input(), as_of);
            let latest = case.contacts.iter().copied().max().unwrap_or(base());
            let mut more = case.clone();
            more.contacts.push(latest + chrono::Days::new(after));
            let after = evaluate(&p, &more.input(), as_of);
            let was = before.get(CheckKind::PreReleaseContact).map(|c| c.status);
            let now = after.get(CheckKind::PreReleaseContact).map(|c| c.status);
            prop_assert_eq!(was.is_some(), now.is_some());
            if let (Some(was), Some(now)) = (was, now) {
                prop_assert!(rank(now) >= rank(was), "{:?} -> {:?}", was, now);
                if let Status::Met { .. } = was {
                    prop_assert_eq!(now, was, "the first contact in the window stays the one");
                }
            }
        }

        #[test]
        fn the_shares_never_count_more_than_their_whole(
            cases in prop::collection::vec(any_case(), 0..8),
            as_of in day(),
        ) {
            let p = Policy::defaults();
            let results: Vec<CaseChecks> =
                cases.iter().map(|c| evaluate(&p, &c.input(), as_of)).collect();
            let s = PduShares::from_cases(&results);
            for share in s.enquiries_made.values().copied().chain([
                s.assessments_on_time,
                s.releases_with_contact,
                s.releases_with_assessment,
            ]) {
                prop_assert!(share.count <= share.of);
            }
            prop_assert!(s.custody_backlog <= cases.len() as u64);
        }
    }
}
