//! Who is suitable to hold a case: the allocation rules of `assets/policy.toml`
//! (`[allocation]`), applied to one case and one practitioner. Pure: no I/O.
//!
//! Two kinds of finding, kept apart because they mean different things to an SPO:
//! - *not suitable*: the rules say this officer should not hold this case (a trainee offered
//!   a MAPPA case, a newly qualified officer past their protected caseload). The picker lists
//!   them below a divider with the reason; choosing one needs a second confirmation.
//! - *warnings*: suitable, but think twice (over 100% of capacity). In a PDU with a deep
//!   vacancy every officer may be over capacity; the case must still go to someone.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::{Grade, Mappa, Rosh, Tier};

/// `[allocation]` in the policy file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationPolicy {
    /// Grades never offered a case: they manage rather than hold caseloads.
    pub not_offered: Vec<String>,
    /// Grades that may hold MAPPA cases and HIGH or VERY_HIGH RoSH cases.
    pub high_risk_grades: Vec<String>,
    /// Above this capacity after the allocation, an otherwise suitable officer gets a warning.
    pub warn_capacity_after: f64,
    /// Every allocation records why (the allocation rationale); `other` always needs one.
    pub rationale_required: bool,
    /// Limits for grades still in training or in their first year, by grade.
    #[serde(default)]
    pub limits: BTreeMap<String, GradeLimits>,
}

/// Limits on what one grade is offered.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradeLimits {
    /// The highest tier band offered (`"A"` highest .. `"D"` lowest): `"C"` offers C and D.
    pub highest_tier: Option<String>,
    /// Not suitable when the allocation would take them above this capacity (%).
    pub max_capacity_after: Option<f64>,
    /// A protected caseload: not suitable once they hold this many cases.
    pub max_cases: Option<u64>,
}

/// What the rules need to know of the case.
#[derive(Debug, Clone, Copy)]
pub struct CaseRisk {
    pub tier: Option<Tier>,
    pub rosh: Option<Rosh>,
    pub mappa: Mappa,
}

impl CaseRisk {
    pub fn is_high_risk(&self) -> bool {
        self.rosh.is_some_and(Rosh::is_high) || self.mappa.is_mappa()
    }

    /// "a MAPPA category 1 level 2 case", "a VERY_HIGH RoSH case".
    pub fn high_risk_words(&self) -> String {
        if self.mappa.is_mappa() {
            format!(
                "a MAPPA category {} level {} case",
                self.mappa.category, self.mappa.level
            )
        } else {
            format!(
                "a {} RoSH case",
                self.rosh.map(Rosh::as_str).unwrap_or("high")
            )
        }
    }
}

/// What the rules need to know of the practitioner.
#[derive(Debug, Clone, Copy)]
pub struct Officer<'a> {
    pub staff_code: &'a str,
    pub grade: Grade,
    pub caseload: u64,
    pub capacity_now: Option<f64>,
    pub capacity_after: Option<f64>,
}

/// The verdict for one officer and one case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Suitability {
    /// Why the rules say this officer should not hold this case; empty when suitable.
    pub not_suitable: Vec<String>,
    /// Reasons to think twice that do not make the officer unsuitable.
    pub warnings: Vec<String>,
}

impl Suitability {
    pub fn is_suitable(&self) -> bool {
        self.not_suitable.is_empty()
    }
}

/// "a PO", "an NQO", "an SPO": the article as the letters are said.
fn a(grade: Grade) -> String {
    let g = grade.as_str();
    let article = if matches!(grade, Grade::Nqo | Grade::Spo) {
        "an"
    } else {
        "a"
    };
    format!("{article} {g}")
}

fn has_grade(list: &[String], grade: Grade) -> bool {
    list.iter().any(|g| g.parse::<Grade>().ok() == Some(grade))
}

fn pct(v: Option<f64>) -> String {
    v.map(|n| format!("{n:.0}%")).unwrap_or_else(|| "-".into())
}

impl AllocationPolicy {
    /// Whether a grade is offered cases at all.
    pub fn offered(&self, grade: Grade) -> bool {
        !has_grade(&self.not_offered, grade)
    }

    fn limits_of(&self, grade: Grade) -> Option<&GradeLimits> {
        self.limits
            .iter()
            .find(|(k, _)| k.parse::<Grade>().ok() == Some(grade))
            .map(|(_, v)| v)
    }

    /// Applies the rules, in words.
    pub fn assess(&self, case: &CaseRisk, o: &Officer<'_>) -> Suitability {
        let mut s = Suitability::default();
        if !self.offered(o.grade) {
            s.not_suitable.push(format!(
                "{} is {}: {}s do not hold cases",
                o.staff_code,
                a(o.grade),
                o.grade
            ));
        }
        if case.is_high_risk() && !has_grade(&self.high_risk_grades, o.grade) {
            s.not_suitable.push(format!(
                "this is {} and {} is {}: high-risk cases go to {} or above",
                case.high_risk_words(),
                o.staff_code,
                a(o.grade),
                self.high_risk_grades
                    .iter()
                    .filter_map(|g| g.parse::<Grade>().ok())
                    .map(a)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
        if let Some(l) = self.limits_of(o.grade) {
            if let (Some(band), Some(tier)) = (l.highest_tier.as_deref(), case.tier)
                && let Some(b) = band.chars().next().map(|c| c.to_ascii_uppercase())
                && tier.band() < b
            {
                s.not_suitable.push(format!(
                    "tier {} is above what {} is offered (tier {b} and below)",
                    tier.as_str(),
                    a(o.grade)
                ));
            }
            if let (Some(max), Some(after)) = (l.max_capacity_after, o.capacity_after)
                && after > max
            {
                s.not_suitable.push(format!(
                    "{} would be at {after:.0}% of capacity (now {}); {} is kept under {max:.0}%",
                    o.staff_code,
                    pct(o.capacity_now),
                    a(o.grade)
                ));
            }
            if let Some(max) = l.max_cases
                && o.caseload >= max
            {
                s.not_suitable.push(format!(
                    "{} holds {} cases: {}'s protected caseload is at most {max}",
                    o.staff_code,
                    o.caseload,
                    a(o.grade)
                ));
            }
        }
        if s.not_suitable.is_empty()
            && let Some(after) = o.capacity_after
            && after > self.warn_capacity_after
        {
            s.warnings.push(format!(
                "{} would be at {after:.0}% of capacity (now {})",
                o.staff_code,
                pct(o.capacity_now)
            ));
        }
        s
    }

    /// Checks the section for sense; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        for g in self.not_offered.iter().chain(&self.high_risk_grades) {
            g.parse::<Grade>().map_err(|e| format!("allocation: {e}"))?;
        }
        if !(self.warn_capacity_after.is_finite() && self.warn_capacity_after > 0.0) {
            return Err("allocation.warn_capacity_after: expected more than 0".into());
        }
        for (k, l) in &self.limits {
            k.parse::<Grade>()
                .map_err(|e| format!("allocation.limits: {e}"))?;
            if let Some(b) = &l.highest_tier
                && !matches!(b.as_str(), "A" | "B" | "C" | "D")
            {
                return Err(format!(
                    "allocation.limits.{k}.highest_tier: expected one of A, B, C, D"
                ));
            }
            if l.max_capacity_after
                .is_some_and(|m| !(m.is_finite() && m > 0.0))
            {
                return Err(format!(
                    "allocation.limits.{k}.max_capacity_after: expected more than 0"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn case(tier: &str, rosh: Option<Rosh>, mappa: Mappa) -> CaseRisk {
        CaseRisk {
            tier: tier.parse().ok(),
            rosh,
            mappa,
        }
    }

    fn officer(grade: Grade, caseload: u64, after: f64) -> Officer<'static> {
        Officer {
            staff_code: "X0001",
            grade,
            caseload,
            capacity_now: Some(after - 5.0),
            capacity_after: Some(after),
        }
    }

    #[test]
    fn a_mappa_case_is_for_a_probation_officer_by_default() {
        let rules = Policy::defaults().allocation;
        let mappa = case(
            "A2",
            Some(Rosh::VeryHigh),
            Mappa::new(1, 2).expect("valid MAPPA"),
        );
        assert!(
            rules
                .assess(&mappa, &officer(Grade::Po, 30, 80.0))
                .is_suitable()
        );
        for g in [Grade::Pso, Grade::Pqip, Grade::Nqo, Grade::Spo] {
            let s = rules.assess(&mappa, &officer(g, 5, 40.0));
            assert!(!s.is_suitable(), "{g} should not be offered a MAPPA case");
            assert!(
                s.not_suitable
                    .iter()
                    .any(|r| r.contains("MAPPA") || r.contains("do not hold cases")),
                "{s:?}"
            );
        }
    }

    #[test]
    fn trainees_and_new_officers_have_tier_capacity_and_caseload_limits() {
        let rules = Policy::defaults().allocation;
        let low = case("C1", Some(Rosh::Medium), Mappa::NONE);
        let a_tier = case("A1", Some(Rosh::Medium), Mappa::NONE);
        assert!(
            rules
                .assess(&low, &officer(Grade::Pqip, 3, 40.0))
                .is_suitable()
        );
        let s = rules.assess(&a_tier, &officer(Grade::Pqip, 3, 40.0));
        assert!(s.not_suitable[0].contains("tier A1"), "{s:?}");
        let s = rules.assess(&low, &officer(Grade::Pqip, 3, 99.0));
        assert!(s.not_suitable[0].contains("99%"), "{s:?}");
        let s = rules.assess(&low, &officer(Grade::Nqo, 400, 50.0));
        assert!(
            s.not_suitable
                .iter()
                .any(|r| r.contains("protected caseload")),
            "{s:?}"
        );
    }

    #[test]
    fn an_over_capacity_officer_is_suitable_with_a_warning() {
        let rules = Policy::defaults().allocation;
        let mappa = case("A2", Some(Rosh::High), Mappa::new(1, 1).expect("valid"));
        let s = rules.assess(&mappa, &officer(Grade::Po, 40, 180.0));
        assert!(s.is_suitable());
        assert_eq!(s.warnings.len(), 1);
        assert!(s.warnings[0].contains("180%"), "{s:?}");
    }
}
