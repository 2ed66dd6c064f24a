//! When contacts and management-oversight checks fall due, and how workload is counted; the
//! periods of the enquiry, assessment, handover and pre-release checks that
//! [`crate::risk_checks`] applies.
//!
//! Defaults ship in `assets/policy.toml` (embedded in the binary); a user file overrides them
//! key by key. Everything that depends on "today" takes an explicit as-of date.

use std::collections::BTreeMap;
use std::path::Path;

use std::fmt;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Deserialize;

use crate::config::{self, ConfigError};
use crate::domain::{CaseType, CustodyKind, EnquiryKind, Grade, Mappa, Rosh, Tier};

pub const DEFAULT_POLICY: &str = include_str!("../assets/policy.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub contact: ContactPolicy,
    pub oversight: OversightPolicy,
    pub capacity: CapacityPolicy,
    pub allocation: crate::eligibility::AllocationPolicy,
    pub enquiries: EnquiryPolicy,
    pub assessments: AssessmentPolicy,
    pub handover: HandoverPolicy,
    pub release: ReleasePolicy,
    pub support: crate::outliers::SupportPolicy,
    pub equity: EquityPolicy,
    /// Operating-system user -> staff code (`[me]`): who is acting, for forms' defaults.
    #[serde(default)]
    pub me: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactPolicy {
    pub very_high: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
    pub unknown: u32,
    pub custody_exempt: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OversightPolicy {
    pub after_allocation_days: u32,
    pub high_risk_interval_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityPolicy {
    pub default_hours: f64,
    pub unsupervised_factor: f64,
    pub nominal_target: BTreeMap<String, f64>,
    pub tier_points: BTreeMap<String, f64>,
    #[serde(default)]
    pub reductions: Vec<Reduction>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reduction {
    pub grade: String,
    pub months: u32,
    pub fraction: f64,
}

/// `[equity]`: the disproportionality view's one setting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EquityPolicy {
    pub prompt_allocation_days: u32,
}

/// `[enquiries]`: domestic-abuse and child-safeguarding enquiries to the police and
/// children's services.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnquiryPolicy {
    /// Each required enquiry is requested within this many days of the sentence date (for a
    /// custody case, of its release coming within `custody_release_within_days`).
    pub request_within_days: u32,
    /// A request not returned this many days after it was made is overdue.
    pub return_within_days: u32,
    /// A CUSTODY case needs enquiries once its release date is at most this many days away.
    pub custody_release_within_days: u32,
    /// The kinds every case in scope needs; empty switches the enquiry checks off.
    pub required: Vec<EnquiryKind>,
}

/// `[assessments]`: risk assessments (OASys).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentPolicy {
    /// The first assessment is due this many days after the sentence date.
    pub initial_within_days: u32,
    /// A review is due this many days after the latest assessment.
    pub review_interval_days: u32,
    /// A review is due this many days after a RoSH change not assessed since.
    pub after_rosh_change_days: u32,
    /// A `pre_release` assessment is due in this many days before the release date.
    pub pre_release_window_days: u32,
}

/// A calendar period counted back from a date: months first, then days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthsDays {
    pub months: u32,
    #[serde(default)]
    pub days: u32,
}

impl MonthsDays {
    /// `date` minus the months (on the calendar: a day the month lacks becomes its last day,
    /// so 31 May minus 3 months is 28 or 29 February) then minus the days. Saturates at the
    /// earliest date chrono knows rather than failing.
    pub fn before(self, date: NaiveDate) -> NaiveDate {
        date.checked_sub_months(Months::new(self.months))
            .map_or(NaiveDate::MIN, |d| minus_days(d, self.days))
    }
}

impl fmt::Display for MonthsDays {
    /// "8 months 14 days", "12 months", "1 month 1 day".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = |n: u32, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
        match (self.months, self.days) {
            (m, 0) => f.write_str(&unit(m, "month")),
            (0, d) => f.write_str(&unit(d, "day")),
            (m, d) => write!(f, "{} {}", unit(m, "month"), unit(d, "day")),
        }
    }
}

/// `[handover]`: when a custody case passes from the prison to the community offender
/// manager, who must be allocated by then.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoverPolicy {
    /// Before release, for a standard determinate sentence.
    pub standard: MonthsDays,
    /// Before release, for a parole-eligible sentence.
    pub parole_eligible: MonthsDays,
    /// Before release (the earliest release the case has on record), for an indeterminate
    /// sentence.
    pub indeterminate: MonthsDays,
    /// A case released this many months or less after sentence is due at once (on the
    /// sentence date); 0 switches this off.
    pub due_at_once_within_months: u32,
    /// An unallocated case this many days past its handover date is an alert.
    pub grace_days: u32,
}

impl HandoverPolicy {
    /// How long before release the handover falls for this kind of sentence.
    pub fn before_release(&self, kind: CustodyKind) -> MonthsDays {
        match kind {
            CustodyKind::Standard => self.standard,
            CustodyKind::ParoleEligible => self.parole_eligible,
            CustodyKind::Indeterminate => self.indeterminate,
        }
    }
}

/// `[release]`: contact with a person in prison before their release.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleasePolicy {
    /// At least one contact in this many days before the release date.
    pub contact_window_days: u32,
}

/// A date something falls due and the policy rule that set it, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub date: NaiveDate,
    pub rule: String,
}

impl Due {
    /// Days past due at `as_of` (0 or less when not overdue).
    pub fn days_overdue(&self, as_of: NaiveDate) -> i64 {
        (as_of - self.date).num_days()
    }
    pub fn is_overdue(&self, as_of: NaiveDate) -> bool {
        self.date < as_of
    }
}

/// Threshold dates for overdue checks pushed into SQL: a case is overdue when its base date
/// is before the threshold for its risk (`base + interval < as_of`).
#[derive(Debug, Clone)]
pub struct Thresholds {
    pub contact_very_high: String,
    pub contact_high: String,
    pub contact_medium: String,
    pub contact_low: String,
    pub contact_unknown: String,
    pub custody_exempt: bool,
    pub oversight_after_allocation: String,
    pub oversight_high_risk: String,
}

pub(crate) fn minus_days(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_sub_days(Days::new(u64::from(n)))
        .unwrap_or(NaiveDate::MIN)
}

pub(crate) fn plus_days(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_days(Days::new(u64::from(n)))
        .unwrap_or(NaiveDate::MAX)
}

const TIERS: [&str; 16] = [
    "A3", "A2", "A1", "A0", "B3", "B2", "B1", "B0", "C3", "C2", "C1", "C0", "D3", "D2", "D1", "D0",
];

impl Policy {
    /// The shipped defaults.
    pub fn defaults() -> Policy {
        // The embedded file is checked by a unit test, so this cannot fail at run time.
        Policy::load(None).unwrap_or_else(|e| panic!("embedded policy.toml is invalid: {e}"))
    }

    /// Defaults merged with a user's file, then checked for sense.
    pub fn load(user: Option<&Path>) -> Result<Policy, ConfigError> {
        let p: Policy = config::load_layered("assets/policy.toml", DEFAULT_POLICY, user)?;
        p.validate().map_err(|message| ConfigError::Invalid {
            path: user
                .unwrap_or(Path::new("assets/policy.toml"))
                .to_path_buf(),
            line: 1,
            column: 1,
            message,
        })?;
        Ok(p)
    }

    fn validate(&self) -> Result<(), String> {
        let c = &self.contact;
        for (k, v) in [
            ("contact.very_high", c.very_high),
            ("contact.high", c.high),
            ("contact.medium", c.medium),
            ("contact.low", c.low),
            ("contact.unknown", c.unknown),
            (
                "oversight.after_allocation_days",
                self.oversight.after_allocation_days,
            ),
            (
                "oversight.high_risk_interval_days",
                self.oversight.high_risk_interval_days,
            ),
        ] {
            if !(1..=3650).contains(&v) {
                return Err(format!("{k} = {v}: expected 1 to 3650 days"));
            }
        }
        let s = &self.support;
        if !(s.team_pattern_share > 0.0 && s.team_pattern_share <= 1.0) {
            return Err(format!(
                "support.team_pattern_share = {}: expected a share above 0 and at most 1",
                s.team_pattern_share
            ));
        }
        if s.min_months_in_post < 0 || !(1..=120).contains(&s.window_months) {
            return Err(
                "support: min_months_in_post must be 0 or more and window_months 1 to 120".into(),
            );
        }
        let cap = &self.capacity;
        if !(cap.default_hours > 0.0 && cap.default_hours <= 168.0) {
            return Err("capacity.default_hours: expected more than 0 and at most 168".into());
        }
        if !(0.0..=1.0).contains(&cap.unsupervised_factor) {
            return Err("capacity.unsupervised_factor: expected 0 to 1".into());
        }
        for t in TIERS {
            match cap.tier_points.get(t) {
                Some(v) if v.is_finite() && *v >= 0.0 => {}
                Some(_) => return Err(format!("capacity.tier_points.{t}: expected 0 or more")),
                None => return Err(format!("capacity.tier_points: {t} is missing")),
            }
        }
        if let Some(k) = cap
            .tier_points
            .keys()
            .find(|k| !TIERS.contains(&k.as_str()))
        {
            return Err(format!(
                "capacity.tier_points.{}: not a tier (A3..D0)",
                crate::text::sanitize(k)
            ));
        }
        for (k, v) in &cap.nominal_target {
            k.parse::<Grade>()
                .map_err(|e| format!("capacity.nominal_target: {e}"))?;
            if !(v.is_finite() && *v >= 0.0) {
                return Err(format!("capacity.nominal_target.{k}: expected 0 or more"));
            }
        }
        self.allocation.validate()?;
        self.validate_risk_checks()?;
        for r in &cap.reductions {
            r.grade
                .parse::<Grade>()
                .map_err(|e| format!("capacity.reductions: {e}"))?;
            if !(0.0..=1.0).contains(&r.fraction) {
                return Err("capacity.reductions: fraction must be 0 to 1".into());
            }
        }
        Ok(())
    }

    /// The enquiry, assessment, handover and release sections.
    fn validate_risk_checks(&self) -> Result<(), String> {
        let (q, a) = (&self.enquiries, &self.assessments);
        for (k, v) in [
            ("enquiries.request_within_days", q.request_within_days),
            ("enquiries.return_within_days", q.return_within_days),
            (
                "enquiries.custody_release_within_days",
                q.custody_release_within_days,
            ),
            ("assessments.initial_within_days", a.initial_within_days),
            ("assessments.review_interval_days", a.review_interval_days),
            (
                "assessments.after_rosh_change_days",
                a.after_rosh_change_days,
            ),
            (
                "assessments.pre_release_window_days",
                a.pre_release_window_days,
            ),
            (
                "release.contact_window_days",
                self.release.contact_window_days,
            ),
        ] {
            if !(1..=3650).contains(&v) {
                return Err(format!("{k} = {v}: expected 1 to 3650 days"));
            }
        }
        for (i, k) in q.required.iter().enumerate() {
            if q.required[..i].contains(k) {
                return Err(format!("enquiries.required: {k} is listed twice"));
            }
        }
        let h = &self.handover;
        for (k, span) in [
            ("handover.standard", h.standard),
            ("handover.parole_eligible", h.parole_eligible),
            ("handover.indeterminate", h.indeterminate),
        ] {
            // A handover on the release day itself, or decades before it, is a typo.
            if span.months > 120 || span.days > 3650 || (span.months == 0 && span.days == 0) {
                return Err(format!(
                    "{k} = {{ months = {}, days = {} }}: expected up to 120 months and 3650 \
                     days, not both 0",
                    span.months, span.days
                ));
            }
        }
        if h.due_at_once_within_months > 120 {
            return Err(format!(
                "handover.due_at_once_within_months = {}: expected 0 to 120 months",
                h.due_at_once_within_months
            ));
        }
        if h.grace_days > 365 {
            return Err(format!(
                "handover.grace_days = {}: expected 0 to 365 days",
                h.grace_days
            ));
        }
        Ok(())
    }

    /// The staff code `[me]` maps this operating-system user (or `--as` name) to.
    pub fn staff_code_of(&self, user: &str) -> Option<String> {
        self.me
            .iter()
            .find(|(u, _)| u.eq_ignore_ascii_case(user.trim()))
            .map(|(_, code)| code.trim().to_string())
            .filter(|c| !c.is_empty())
    }

    /// Days allowed between contacts for a case of this risk, and the rule in words.
    pub fn contact_interval(&self, rosh: Option<Rosh>, mappa: Mappa) -> (u32, &'static str) {
        let c = &self.contact;
        if rosh == Some(Rosh::VeryHigh) {
            (c.very_high, "VERY_HIGH RoSH")
        } else if mappa.is_multi_agency() {
            (c.very_high, "MAPPA level 2/3")
        } else {
            match rosh {
                Some(Rosh::High) => (c.high, "HIGH RoSH"),
                Some(Rosh::Medium) => (c.medium, "MEDIUM RoSH"),
                Some(Rosh::Low) => (c.low, "LOW RoSH"),
                Some(Rosh::VeryHigh) => (c.very_high, "VERY_HIGH RoSH"),
                None => (c.unknown, "no RoSH assessment"),
            }
        }
    }

    /// When the next contact is due. `None` when no contact is due: the case is unallocated
    /// (the allocation itself is the gap) or in custody (exempt by default).
    ///
    /// The case lists, counts, overview and nightly run ask the same in SQL (`store::read`);
    /// `store::read::due_dates::the_sql_and_the_rust_rule_agree_on_every_due_date` holds the
    /// two (and [`Policy::oversight_due`]'s) to the same answer.
    pub fn contact_due(
        &self,
        case_type: CaseType,
        rosh: Option<Rosh>,
        mappa: Mappa,
        allocated_on: Option<NaiveDate>,
        last_contact: Option<NaiveDate>,
    ) -> Option<Due> {
        if case_type == CaseType::Custody && self.contact.custody_exempt {
            return None;
        }
        let allocated_on = allocated_on?;
        let (days, why) = self.contact_interval(rosh, mappa);
        let (base, from) = match last_contact {
            Some(d) if d >= allocated_on => (d, "last contact"),
            _ => (allocated_on, "allocation (no contact since)"),
        };
        Some(Due {
            date: plus_days(base, days),
            rule: format!("contact every {days} days for {why}, counted from {from}"),
        })
    }

    /// When the next management-oversight check is due, or `None` when none is required.
    pub fn oversight_due(
        &self,
        high_risk: bool,
        allocated_on: Option<NaiveDate>,
        last_oversight: Option<NaiveDate>,
    ) -> Option<Due> {
        let allocated_on = allocated_on?;
        let o = &self.oversight;
        match last_oversight {
            Some(last) if last >= allocated_on => high_risk.then(|| Due {
                date: plus_days(last, o.high_risk_interval_days),
                rule: format!(
                    "oversight every {} days for HIGH/VERY_HIGH RoSH and MAPPA cases",
                    o.high_risk_interval_days
                ),
            }),
            _ => Some(Due {
                date: plus_days(allocated_on, o.after_allocation_days),
                rule: format!(
                    "oversight within {} days of allocation (none recorded since)",
                    o.after_allocation_days
                ),
            }),
        }
    }

    /// The threshold dates the store binds into its overdue queries.
    pub fn thresholds(&self, as_of: NaiveDate) -> Thresholds {
        let c = &self.contact;
        let f = |n| crate::domain::fmt_date(minus_days(as_of, n));
        Thresholds {
            contact_very_high: f(c.very_high),
            contact_high: f(c.high),
            contact_medium: f(c.medium),
            contact_low: f(c.low),
            contact_unknown: f(c.unknown),
            custody_exempt: c.custody_exempt,
            oversight_after_allocation: f(self.oversight.after_allocation_days),
            oversight_high_risk: f(self.oversight.high_risk_interval_days),
        }
    }

    /// Workload points of one case.
    pub fn case_points(&self, tier: Tier) -> f64 {
        let base = self
            .capacity
            .tier_points
            .get(&tier.base())
            .copied()
            .unwrap_or(0.0);
        if tier.unsupervised() {
            base * self.capacity.unsupervised_factor
        } else {
            base
        }
    }

    /// Points per tier as SQL-friendly pairs (`"A3S"` included), for aggregate queries.
    pub fn all_tier_points(&self) -> Vec<(String, f64)> {
        let mut v = Vec::with_capacity(32);
        for t in TIERS {
            if let Ok(tier) = t.parse::<Tier>() {
                v.push((t.to_string(), self.case_points(tier)));
                if let Some(s) = Tier::new(tier.band(), tier.level(), true) {
                    v.push((s.to_string(), self.case_points(s)));
                }
            }
        }
        v
    }

    /// Workload points a practitioner can carry at `as_of`, or `None` for a grade with no
    /// nominal target (SPOs).
    pub fn available_points(
        &self,
        grade: Grade,
        contracted_hours: f64,
        start_date: NaiveDate,
        as_of: NaiveDate,
    ) -> Option<f64> {
        let cap = &self.capacity;
        let target = cap
            .nominal_target
            .iter()
            .find(|(k, _)| k.parse::<Grade>().ok() == Some(grade))
            .map(|(_, v)| *v)
            .unwrap_or(0.0);
        if target <= 0.0 {
            return None;
        }
        let fraction = self
            .reduction(grade, start_date, as_of)
            .map_or(0.0, |r| r.fraction);
        let hours = contracted_hours * (1.0 - fraction);
        Some(target * hours / cap.default_hours)
    }

    /// The workload reduction a practitioner of this grade has at `as_of` (the shortest one
    /// whose months in post they are still within), if any.
    pub fn reduction(
        &self,
        grade: Grade,
        start_date: NaiveDate,
        as_of: NaiveDate,
    ) -> Option<&Reduction> {
        let months = months_between(start_date, as_of);
        self.capacity
            .reductions
            .iter()
            .filter(|r| r.grade.parse::<Grade>().ok() == Some(grade))
            .filter(|r| months < i64::from(r.months))
            .min_by_key(|r| r.months)
    }
}

/// Whole months from `from` to `to` (negative if `to` is earlier).
pub fn months_between(from: NaiveDate, to: NaiveDate) -> i64 {
    let mut m =
        i64::from(to.year() - from.year()) * 12 + i64::from(to.month()) - i64::from(from.month());
    if to.day() < from.day() {
        m -= 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::domain::parse_date("d", s).unwrap()
    }

    #[test]
    fn embedded_defaults_parse_and_validate() {
        let p = Policy::defaults();
        assert_eq!(p.contact.very_high, 7);
        assert_eq!(p.oversight.after_allocation_days, 15);
        assert_eq!(p.case_points("A3".parse().unwrap()), 206.0);
        assert_eq!(p.case_points("D0".parse().unwrap()), 29.0);
    }

    #[test]
    fn mappa_level_two_is_seen_weekly_whatever_the_rosh() {
        let p = Policy::defaults();
        let (days, why) = p.contact_interval(Some(Rosh::Low), Mappa::new(2, 2).unwrap());
        assert_eq!(days, 7);
        assert!(why.contains("MAPPA"));
        assert_eq!(p.contact_interval(Some(Rosh::High), Mappa::NONE).0, 14);
        assert_eq!(p.contact_interval(None, Mappa::NONE).0, 14);
    }

    #[test]
    fn contact_due_counts_from_allocation_when_there_is_no_contact_since() {
        let p = Policy::defaults();
        let due = p
            .contact_due(
                CaseType::Community,
                Some(Rosh::Medium),
                Mappa::NONE,
                Some(d("2026-01-10")),
                Some(d("2025-12-01")),
            )
            .unwrap();
        assert_eq!(due.date, d("2026-02-07"));
        assert!(due.rule.contains("allocation"));
        assert_eq!(due.days_overdue(d("2026-02-10")), 3);
        assert!(
            p.contact_due(
                CaseType::Custody,
                Some(Rosh::High),
                Mappa::NONE,
                Some(d("2026-01-10")),
                None
            )
            .is_none()
        );
        assert!(
            p.contact_due(
                CaseType::Community,
                Some(Rosh::High),
                Mappa::NONE,
                None,
                None
            )
            .is_none()
        );
    }

    #[test]
    fn oversight_is_due_after_allocation_then_periodically_for_high_risk() {
        let p = Policy::defaults();
        let first = p.oversight_due(false, Some(d("2026-01-01")), None).unwrap();
        assert_eq!(first.date, d("2026-01-16"));
        assert!(
            p.oversight_due(false, Some(d("2026-01-01")), Some(d("2026-01-05")))
                .is_none()
        );
        let periodic = p
            .oversight_due(true, Some(d("2026-01-01")), Some(d("2026-01-05")))
            .unwrap();
        assert_eq!(periodic.date, d("2026-04-05"));
        // An oversight from before a reallocation does not count.
        let realloc = p
            .oversight_due(true, Some(d("2026-02-01")), Some(d("2026-01-05")))
            .unwrap();
        assert_eq!(realloc.date, d("2026-02-16"));
    }

    #[test]
    fn trainee_reductions_shrink_available_points() {
        let p = Policy::defaults();
        let full = p
            .available_points(Grade::Po, 37.0, d("2020-01-01"), d("2026-01-01"))
            .unwrap();
        assert_eq!(full, 2176.0);
        let pqip = p
            .available_points(Grade::Pqip, 37.0, d("2025-10-01"), d("2026-01-01"))
            .unwrap();
        assert!((pqip - 2176.0 * 0.2).abs() < 1e-9);
        let pqip_later = p
            .available_points(Grade::Pqip, 37.0, d("2025-01-01"), d("2026-01-01"))
            .unwrap();
        assert!((pqip_later - 2176.0 * 0.6).abs() < 1e-9);
        assert!(
            p.available_points(Grade::Spo, 37.0, d("2020-01-01"), d("2026-01-01"))
                .is_none()
        );
    }

    #[test]
    fn thresholds_are_as_of_minus_interval() {
        let t = Policy::defaults().thresholds(d("2026-03-01"));
        assert_eq!(t.contact_very_high, "2026-02-22");
        assert_eq!(t.oversight_after_allocation, "2026-02-14");
    }

    #[test]
    fn the_risk_check_defaults_are_the_issue_s() {
        let p = Policy::defaults();
        let q = &p.enquiries;
        assert_eq!(
            (
                q.request_within_days,
                q.return_within_days,
                q.custody_release_within_days
            ),
            (10, 28, 365)
        );
        assert_eq!(
            q.required,
            [EnquiryKind::DomesticAbuse, EnquiryKind::ChildSafeguarding]
        );
        let a = &p.assessments;
        assert_eq!(
            (
                a.initial_within_days,
                a.review_interval_days,
                a.after_rosh_change_days,
                a.pre_release_window_days
            ),
            (15, 182, 10, 56)
        );
        let h = &p.handover;
        assert_eq!(
            h.before_release(CustodyKind::Standard),
            MonthsDays {
                months: 8,
                days: 14
            }
        );
        for k in [CustodyKind::ParoleEligible, CustodyKind::Indeterminate] {
            assert_eq!(
                h.before_release(k),
                MonthsDays {
                    months: 12,
                    days: 0
                }
            );
        }
        assert_eq!((h.due_at_once_within_months, h.grace_days), (10, 14));
        assert_eq!(p.release.contact_window_days, 84);
    }

    #[test]
    fn months_are_counted_on_the_calendar_then_days() {
        let std = MonthsDays {
            months: 8,
            days: 14,
        };
        // 31 May exists: 2026-05-31 minus 14 days.
        assert_eq!(std.before(d("2027-01-31")), d("2026-05-17"));
        // 31 February does not: the month's last day, then 14 days.
        assert_eq!(std.before(d("2026-10-31")), d("2026-02-14"));
        assert_eq!(std.before(d("2024-10-31")), d("2024-02-15"));
        let year = MonthsDays {
            months: 12,
            days: 0,
        };
        assert_eq!(year.before(d("2028-02-29")), d("2027-02-28"));
        assert_eq!(std.before(NaiveDate::MIN), NaiveDate::MIN);
        assert_eq!(std.to_string(), "8 months 14 days");
        assert_eq!(year.to_string(), "12 months");
        assert_eq!(
            MonthsDays { months: 1, days: 1 }.to_string(),
            "1 month 1 day"
        );
        assert_eq!(MonthsDays { months: 0, days: 9 }.to_string(), "9 days");
    }

    #[test]
    fn a_user_file_without_the_new_sections_loads_and_overrides_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        // A file written before these sections existed.
        std::fs::write(&f, "[contact]\nhigh = 10\n").unwrap();
        let p = Policy::load(Some(&f)).unwrap();
        assert_eq!(p.contact.high, 10);
        assert_eq!(p.enquiries.request_within_days, 10);
        assert_eq!(p.handover.grace_days, 14);
        // One key of a section, and one key of a period, keep the rest.
        std::fs::write(
            &f,
            "[handover]\ngrace_days = 7\n[handover.standard]\ndays = 0\n\
             [enquiries]\nrequired = [\"domestic_abuse\"]\n",
        )
        .unwrap();
        let p = Policy::load(Some(&f)).unwrap();
        assert_eq!(p.handover.grace_days, 7);
        assert_eq!(p.handover.standard, MonthsDays { months: 8, days: 0 });
        assert_eq!(p.handover.due_at_once_within_months, 10);
        assert_eq!(p.enquiries.required, [EnquiryKind::DomesticAbuse]);
        assert_eq!(p.enquiries.return_within_days, 28);
    }

    #[test]
    fn nonsense_risk_check_periods_are_refused_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        for (text, key) in [
            (
                "[enquiries]\nreturn_within_days = 0\n",
                "enquiries.return_within_days",
            ),
            (
                "[assessments]\nreview_interval_days = 99999\n",
                "assessments.review_interval_days",
            ),
            (
                "[release]\ncontact_window_days = 0\n",
                "release.contact_window_days",
            ),
            ("[handover]\ngrace_days = 400\n", "handover.grace_days"),
            (
                "[handover]\ndue_at_once_within_months = 121\n",
                "handover.due_at_once_within_months",
            ),
            (
                "[handover]\nstandard = { months = 0, days = 0 }\n",
                "handover.standard",
            ),
            (
                "[enquiries]\nrequired = [\"domestic_abuse\", \"domestic_abuse\"]\n",
                "listed twice",
            ),
            ("[enquiries]\nrequired = [\"police\"]\n", "police"),
            ("[handover.indeterminate]\nyears = 1\n", "years"),
        ] {
            std::fs::write(&f, text).unwrap();
            let e = Policy::load(Some(&f)).unwrap_err().to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
    }

    #[test]
    fn a_nonsense_user_policy_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(&f, "[contact]\nhigh = 0\n").unwrap();
        let e = Policy::load(Some(&f)).unwrap_err().to_string();
        assert!(e.contains("contact.high"), "{e}");
        std::fs::write(&f, "[contact]\nhgih = 3\n").unwrap();
        let e = Policy::load(Some(&f)).unwrap_err().to_string();
        assert!(e.contains("hgih"), "{e}");
    }
}
