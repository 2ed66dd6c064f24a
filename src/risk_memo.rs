//! What the risk checks found of one case, kept so that a run need not judge every case
//! again: the case's part of its PDU's tally, the date each overdue measure is counted from,
//! and the days over which both hold. Pure: the store keeps memos (`store::read::risk`) and
//! drops a case's memo whenever the case, its contacts, enquiries or assessments change.
//!
//! A case's checks change with the date only where the date crosses one of the case's own
//! dates (a due date passing, a release coming within a window or leaving the recent
//! releases, a record dated ahead of the as-of date becoming known). [`Memo::of`] takes
//! the nearest such crossing after the as-of date as the end of the memo's days; between
//! them the tally stays the same and each overdue measure grows by a day a day. The tests
//! hold this to judging every day afresh.

use chrono::NaiveDate;

use crate::domain::EnquiryKind;
use crate::policy::Policy;
use crate::risk_checks::{CaseChecks, CaseInput, CaseRiskMetrics, RECENT_RELEASE_DAYS, RiskTally};

/// The most days a memo holds for, whatever its case's dates: a bound on what a mistake in
/// the crossings could cost, and on how stale a memo made under the same policy can get.
pub const MAX_DAYS: i64 = 91;

/// One case's findings, holding on the days `from..until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memo {
    pub from: NaiveDate,
    /// The first day the findings may differ (exclusive end).
    pub until: NaiveDate,
    /// The case's part of its PDU's tally, packed (see [`tally_bits`]).
    pub tally: u32,
    /// Per measure of [`CaseRiskMetrics::named`], the day its days overdue count from, when
    /// overdue: on a day `d` of the memo the measure is `d - since`.
    pub since: [Option<NaiveDate>; 5],
}

impl Memo {
    /// The memo of a case judged at `as_of` (`checks` and `metrics` are that judgement).
    pub fn of(
        policy: &Policy,
        case: &CaseInput<'_>,
        checks: &CaseChecks,
        metrics: &CaseRiskMetrics,
    ) -> Memo {
        let as_of = checks.as_of;
        let since = metrics.named().map(|(_, days)| {
            (days > 0.0)
                .then(|| as_of.checked_sub_signed(chrono::Duration::days(days as i64)))
                .flatten()
        });
        Memo {
            from: as_of,
            until: until(policy, case, checks),
            tally: tally_bits(checks, metrics),
            since,
        }
    }

    /// Whether the memo stands on `day`.
    pub fn holds_on(&self, day: NaiveDate) -> bool {
        self.from <= day && day < self.until
    }

    /// The case's measures on `day` (one of the memo's days).
    pub fn metrics_on(&self, day: NaiveDate) -> CaseRiskMetrics {
        let m = self
            .since
            .map(|s| s.map_or(0.0, |s| (day - s).num_days() as f64));
        CaseRiskMetrics {
            enquiry_overdue_days: m[0],
            assessment_overdue_days: m[1],
            handover_overdue_days: m[2],
            pre_release_contact_missing_days: m[3],
            pre_release_assessment_missing_days: m[4],
        }
    }

    /// Whether any measure is overdue (the case is a subject of the nightly run's rules).
    pub fn any_overdue(&self) -> bool {
        self.since.iter().any(Option::is_some)
    }
}

/// The first day after `checks.as_of` on which the case's checks may differ: the nearest of
/// the case's dates, and of the dates its checks derive from them, at each offset at which
/// the checks compare a date with the as-of date; at most [`MAX_DAYS`] ahead.
fn until(policy: &Policy, case: &CaseInput<'_>, checks: &CaseChecks) -> NaiveDate {
    let as_of = checks.as_of;
    let within = i64::from(policy.enquiries.custody_release_within_days);
    let mut end = as_of + chrono::Duration::days(MAX_DAYS);
    let mut at = |d: NaiveDate, offset: i64| {
        if let Some(c) = d.checked_add_signed(chrono::Duration::days(offset))
            && c > as_of
            && c < end
        {
            end = c;
        }
    };
    // A record dated ahead of the as-of date becomes known on its date.
    at(case.sentence_date, 0);
    case.rosh_changed_on.into_iter().for_each(|d| at(d, 0));
    case.allocated_on.into_iter().for_each(|d| at(d, 0));
    for e in case.enquiries {
        at(e.requested_on, 0);
        e.returned_on.into_iter().for_each(|d| at(d, 0));
    }
    for a in case.assessments {
        at(a.completed_on, 0);
    }
    for &c in case.contacts {
        at(c, 0);
    }
    // A release comes, leaves the recent releases, and brings a CUSTODY case within the
    // enquiries' reach.
    if let Some(r) = case.release_date {
        at(r, 0);
        at(r, i64::from(RECENT_RELEASE_DAYS) + 1);
        at(r, -within);
    }
    // A check falls overdue the day after its due date.
    for c in &checks.checks {
        at(c.due.date, 1);
    }
    if let Some(h) = &checks.handover {
        at(h.date, 1);
    }
    end
}

/// Where each part of a case's tally sits in [`Memo::tally`].
mod bits {
    /// Per enquiry kind (domestic abuse, then child safeguarding), two bits: 0 not counted,
    /// 1 needed and not made, 2 made.
    pub const ENQUIRY: [u32; 2] = [0, 2];
    /// Assessments counted (0-2), and of them on time (0-2).
    pub const ASSESSED: u32 = 4;
    pub const ON_TIME: u32 = 6;
    pub const BACKLOG: u32 = 8;
    /// A recent release, two bits each: 0 not counted, 1 missed, 2 met.
    pub const RELEASE_CONTACT: u32 = 9;
    pub const RELEASE_ASSESSMENT: u32 = 11;
    pub const ENQUIRY_OVERDUE: u32 = 13;
    pub const HANDOVER_OVERDUE: u32 = 14;
}

fn kind_index(kind: EnquiryKind) -> usize {
    match kind {
        EnquiryKind::DomesticAbuse => 0,
        EnquiryKind::ChildSafeguarding => 1,
    }
}

/// A case's part of its PDU's [`RiskTally`] (what `RiskTally::add` adds), packed.
pub fn tally_bits(checks: &CaseChecks, metrics: &CaseRiskMetrics) -> u32 {
    let mut one = RiskTally::default();
    one.add(checks, metrics);
    let s = &one.shares;
    let mut out = 0;
    for (kind, share) in &s.enquiries_made {
        // One request check per kind: at most one counted.
        out |= (share.of.min(1) as u32 + share.count.min(1) as u32)
            << bits::ENQUIRY[kind_index(*kind)];
    }
    out |= (s.assessments_on_time.of.min(3) as u32) << bits::ASSESSED;
    out |= (s.assessments_on_time.count.min(3) as u32) << bits::ON_TIME;
    out |= (s.custody_backlog.min(1) as u32) << bits::BACKLOG;
    let release = |sh: crate::risk_checks::Share| sh.of.min(1) as u32 + sh.count.min(1) as u32;
    out |= release(s.releases_with_contact) << bits::RELEASE_CONTACT;
    out |= release(s.releases_with_assessment) << bits::RELEASE_ASSESSMENT;
    out |= (one.enquiry_overdue_cases.min(1) as u32) << bits::ENQUIRY_OVERDUE;
    out |= (one.handover_overdue_cases.min(1) as u32) << bits::HANDOVER_OVERDUE;
    out
}

impl RiskTally {
    /// Adds `n` cases whose part is `tally` ([`tally_bits`]): the same as adding each case.
    pub fn add_bits(&mut self, tally: u32, n: u64) {
        let field = |at: u32| u64::from((tally >> at) & 3);
        let s = &mut self.shares;
        for (kind, at) in [
            (EnquiryKind::DomesticAbuse, bits::ENQUIRY[0]),
            (EnquiryKind::ChildSafeguarding, bits::ENQUIRY[1]),
        ] {
            match field(at) {
                0 => {}
                v => {
                    let e = s.enquiries_made.entry(kind).or_default();
                    e.of += n;
                    e.count += n * u64::from(v == 2);
                }
            }
        }
        s.assessments_on_time.of += n * field(bits::ASSESSED);
        s.assessments_on_time.count += n * field(bits::ON_TIME);
        s.custody_backlog += n * ((u64::from(tally) >> bits::BACKLOG) & 1);
        for (share, at) in [
            (&mut s.releases_with_contact, bits::RELEASE_CONTACT),
            (&mut s.releases_with_assessment, bits::RELEASE_ASSESSMENT),
        ] {
            if field(at) > 0 {
                share.of += n;
                share.count += n * u64::from(field(at) == 2);
            }
        }
        self.enquiry_overdue_cases += n * ((u64::from(tally) >> bits::ENQUIRY_OVERDUE) & 1);
        self.handover_overdue_cases += n * ((u64::from(tally) >> bits::HANDOVER_OVERDUE) & 1);
    }
}

/// What a memo is valid for besides its days: the periods of the policy the checks read. A
/// memo made under other periods is not used (the whole store of memos is made again).
pub fn policy_key(policy: &Policy) -> String {
    format!(
        "v1 {:?} {:?} {:?} {:?} recent={RECENT_RELEASE_DAYS}",
        policy.enquiries, policy.assessments, policy.handover, policy.release
    )
}

/// A check in words, for the tests' failures.
#[cfg(test)]
fn describe(c: &crate::risk_checks::Check) -> String {
    use crate::risk_checks::Status;
    let state = match c.status {
        Status::Met { on } => format!("met {on}"),
        Status::Due => "due".into(),
        Status::Overdue { days } => format!("overdue {days}"),
    };
    format!("{} due {} {state}", c.kind, c.due.date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Assessment, AssessmentKind, CaseType, CustodyKind, Enquiry, EnquiryOutcome, Rosh,
        parse_date,
    };
    use crate::risk_checks::evaluate_dates;
    use crate::risk_checks::owned_case::Case;
    use rand::{Rng, SeedableRng};

    fn d(s: &str) -> NaiveDate {
        parse_date("d", s).expect("a test date")
    }

    /// A case with dates scattered around `around`, some ahead of it.
    fn random_case(rng: &mut rand_chacha::ChaCha8Rng, around: NaiveDate) -> Case {
        let day = |rng: &mut rand_chacha::ChaCha8Rng, lo: i64, hi: i64| {
            around + chrono::Duration::days(rng.random_range(lo..=hi))
        };
        let case_type = match rng.random_range(0..3) {
            0 => CaseType::Community,
            1 => CaseType::Custody,
            _ => CaseType::Licence,
        };
        let sentence = day(rng, -900, 20);
        let release = match case_type {
            CaseType::Community => None,
            _ if rng.random_bool(0.1) => None,
            CaseType::Custody => Some(day(rng, -10, 500)),
            _ => Some(day(rng, -200, 5)),
        }
        .map(|r: NaiveDate| r.max(sentence));
        let custody_kind = match rng.random_range(0..3) {
            0 => CustodyKind::Standard,
            1 => CustodyKind::ParoleEligible,
            _ => CustodyKind::Indeterminate,
        };
        let rosh_changed_on = rng.random_bool(0.3).then(|| day(rng, -300, 30));
        let allocated_on = rng.random_bool(0.7).then(|| day(rng, -400, 30));
        let mut enquiries = Vec::new();
        for kind in [EnquiryKind::DomesticAbuse, EnquiryKind::ChildSafeguarding] {
            for _ in 0..rng.random_range(0..3) {
                let requested_on = day(rng, -600, 30);
                let returned_on = rng
                    .random_bool(0.5)
                    .then(|| requested_on + chrono::Duration::days(rng.random_range(0..60)));
                enquiries.push(Enquiry {
                    kind,
                    requested_on,
                    returned_on,
                    outcome: returned_on.map(|_| EnquiryOutcome::NoRecord),
                });
            }
        }
        let mut assessments = Vec::new();
        for _ in 0..rng.random_range(0..4) {
            let kind = match rng.random_range(0..3) {
                0 => AssessmentKind::Initial,
                1 => AssessmentKind::Review,
                _ => AssessmentKind::PreRelease,
            };
            assessments.push(Assessment {
                kind,
                completed_on: day(rng, -800, 40),
                rosh: Rosh::High,
            });
        }
        let contacts = (0..rng.random_range(0..3))
            .map(|_| day(rng, -300, 40))
            .collect();
        Case {
            case_type,
            sentence,
            release,
            custody_kind,
            rosh_changed_on,
            allocated_on,
            enquiries,
            assessments,
            contacts,
        }
    }

    #[test]
    fn a_memo_gives_what_judging_afresh_gives_on_each_of_its_days_and_no_later() {
        let policy = Policy::defaults();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        let around = d("2026-06-01");
        let mut ended_by_a_crossing = 0;
        let mut total_days = 0;
        for _ in 0..3000 {
            let owned = random_case(&mut rng, around);
            let case = owned.input();
            let as_of = around + chrono::Duration::days(rng.random_range(-30..30));
            let checks = evaluate_dates(&policy, &case, as_of);
            let metrics = CaseRiskMetrics::of(&checks);
            let memo = Memo::of(&policy, &case, &checks, &metrics);
            assert!(memo.until > as_of && memo.holds_on(as_of));
            total_days += (memo.until - as_of).num_days();
            let mut day = as_of;
            while day < memo.until {
                let c = evaluate_dates(&policy, &case, day);
                let m = CaseRiskMetrics::of(&c);
                assert_eq!(
                    (memo.tally, memo.metrics_on(day)),
                    (tally_bits(&c, &m), m),
                    "judged {as_of}, memo to {}, differs on {day}: {:?}",
                    memo.until,
                    c.checks.iter().map(describe).collect::<Vec<_>>()
                );
                day = day.succ_opt().unwrap();
            }
            // The end is a real crossing, not only the bound: the next day differs.
            if memo.until < as_of + chrono::Duration::days(MAX_DAYS) {
                let c = evaluate_dates(&policy, &case, memo.until);
                let m = CaseRiskMetrics::of(&c);
                let later = Memo::of(&policy, &case, &c, &m);
                ended_by_a_crossing += usize::from(
                    later.tally != memo.tally
                        || later.since != memo.since
                        || m != memo.metrics_on(memo.until),
                );
            }
        }
        // Most memos end where something changes (the crossings are not far too many).
        assert!(ended_by_a_crossing > 500, "{ended_by_a_crossing}");
        // And memos last: a case is judged again every few weeks, not every night (the
        // random cases here have far more dates near the as-of date than real ones).
        assert!(
            total_days / 3000 >= 30,
            "{} days on average",
            total_days / 3000
        );
    }

    #[test]
    fn adding_a_cases_bits_is_adding_the_case() {
        let policy = Policy::defaults();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let around = d("2026-03-01");
        let mut by_case = RiskTally::default();
        let mut by_bits = RiskTally::default();
        for _ in 0..2000 {
            let owned = random_case(&mut rng, around);
            let case = owned.input();
            let checks = evaluate_dates(&policy, &case, around);
            let metrics = CaseRiskMetrics::of(&checks);
            by_case.add(&checks, &metrics);
            by_bits.add_bits(tally_bits(&checks, &metrics), 1);
        }
        assert_eq!(by_case.figures(), by_bits.figures());
        assert_eq!(by_case.shares, by_bits.shares);
        assert!(by_case.figures().enquiries_made.of > 100);
        assert!(by_case.figures().releases_with_contact.of > 10);
        // And n alike at once.
        let mut three = RiskTally::default();
        three.add_bits(0b111_1111_1111_1010, 3);
        let mut one = RiskTally::default();
        for _ in 0..3 {
            one.add_bits(0b111_1111_1111_1010, 1);
        }
        assert_eq!(three.shares, one.shares);
    }

    #[test]
    fn the_policy_key_changes_with_the_periods_the_checks_read() {
        let a = Policy::defaults();
        let mut b = Policy::defaults();
        assert_eq!(policy_key(&a), policy_key(&b));
        b.assessments.review_interval_days += 1;
        assert_ne!(policy_key(&a), policy_key(&b));
        let mut c = Policy::defaults();
        c.contact.high += 1;
        assert_eq!(
            policy_key(&a),
            policy_key(&c),
            "contact periods are not the memo's"
        );
    }

    #[test]
    fn a_memo_with_nothing_overdue_has_no_measures() {
        let policy = Policy::defaults();
        let case = CaseInput {
            case_type: CaseType::Community,
            sentence_date: d("2026-05-30"),
            release_date: None,
            custody_kind: CustodyKind::Standard,
            rosh: None,
            rosh_changed_on: None,
            allocated_on: None,
            enquiries: &[],
            assessments: &[],
            contacts: &[],
        };
        let checks = evaluate_dates(&policy, &case, d("2026-06-01"));
        let memo = Memo::of(&policy, &case, &checks, &CaseRiskMetrics::of(&checks));
        assert!(!memo.any_overdue());
        // The enquiries fall due 10 days after sentence: the memo ends by the day after.
        assert!(memo.until <= d("2026-06-10"), "{}", memo.until);
    }
}
