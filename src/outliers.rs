//! Who needs support: each practitioner's timely contact, oversight done, capacity and the
//! allocation wait of the cases they took on, against the region the way Recidiviz's
//! supervisor tools compare officers. The benchmark is the region's rate (pooled over the
//! practitioners compared); the threshold lies one interquartile range of their rates beyond
//! it; a practitioner has `met` the benchmark, is `near` it (worse by no more than one IQR)
//! or `far` from it. People with few cases or new in post are left out of the comparison,
//! and a team where most are `far` on one measure is a team pattern. Pure: the store reads
//! the figures.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::Grade;

/// `[support]` in `policy.toml`: who is compared, and when a team shows a pattern.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupportPolicy {
    pub min_cases: u64,
    pub min_months_in_post: i64,
    pub window_months: u32,
    pub team_pattern_share: f64,
    pub team_pattern_min_people: usize,
}

/// What is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Cases needing contact that are not overdue, as a share of those needing contact.
    TimelyContact,
    /// Cases needing oversight that are not overdue, as a share of those needing it.
    OversightDone,
    /// Workload points held as a share of what the practitioner can carry.
    Capacity,
    /// Mean days the cases they took on in the window waited without a practitioner.
    AllocationWait,
}

impl Measure {
    pub const ALL: [Measure; 4] = [
        Measure::TimelyContact,
        Measure::OversightDone,
        Measure::Capacity,
        Measure::AllocationWait,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Measure::TimelyContact => "timely_contact",
            Measure::OversightDone => "oversight_done",
            Measure::Capacity => "capacity",
            Measure::AllocationWait => "allocation_wait",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Measure::TimelyContact => "timely contact",
            Measure::OversightDone => "oversight done",
            Measure::Capacity => "capacity",
            Measure::AllocationWait => "allocation wait",
        }
    }

    /// The label in a word, for narrow screens.
    pub fn short(self) -> &'static str {
        match self {
            Measure::TimelyContact => "contact",
            Measure::OversightDone => "oversight",
            Measure::Capacity => "capacity",
            Measure::AllocationWait => "wait",
        }
    }

    /// Whether a higher value is the better one.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Measure::TimelyContact | Measure::OversightDone)
    }

    /// The value from a numerator and a denominator: a percentage, or days.
    fn scale(self) -> f64 {
        match self {
            Measure::AllocationWait => 1.0,
            _ => 100.0,
        }
    }

    /// A value in words: `87.5%` or `12.3 days`.
    pub fn show(self, v: f64) -> String {
        match self {
            Measure::AllocationWait => format!("{v:.1} days"),
            _ => format!("{v:.1}%"),
        }
    }

    /// An interquartile range (or any difference) in words: `6.1 pts` or `4.0 days`.
    pub fn show_gap(self, v: f64) -> String {
        match self {
            Measure::AllocationWait => format!("{v:.1} days"),
            _ => format!("{v:.1} pts"),
        }
    }
}

/// How a practitioner stands against the region's benchmark on one measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Met,
    Near,
    Far,
}

impl Band {
    pub fn word(self) -> &'static str {
        match self {
            Band::Met => "met",
            Band::Near => "near",
            Band::Far => "far",
        }
    }
}

/// A numerator over a denominator (counts, or days over cases).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Ratio {
    pub num: f64,
    pub den: f64,
}

impl Ratio {
    fn value(self, m: Measure) -> Option<f64> {
        (self.den > 0.0).then(|| self.num / self.den * m.scale())
    }
}

/// One practitioner's figures, as the store reads them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub staff_code: String,
    pub name: String,
    pub grade: Grade,
    pub pdu: String,
    pub team: Option<String>,
    pub cases: u64,
    pub high_risk_cases: u64,
    pub months_in_post: i64,
    /// Cases needing contact (den) and those not overdue (num).
    pub contact: Ratio,
    /// Cases needing oversight (den) and those not overdue (num).
    pub oversight: Ratio,
    /// Workload points held (num) and what they can carry (den); zero den for SPOs.
    pub capacity: Ratio,
    /// Days waited (num) by the cases taken on in the window (den).
    pub wait: Ratio,
}

impl Figures {
    pub fn ratio(&self, m: Measure) -> Ratio {
        match m {
            Measure::TimelyContact => self.contact,
            Measure::OversightDone => self.oversight,
            Measure::Capacity => self.capacity,
            Measure::AllocationWait => self.wait,
        }
    }

    pub fn value(&self, m: Measure) -> Option<f64> {
        self.ratio(m).value(m)
    }
}

/// Why a practitioner is not compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "value")]
pub enum Exclusion {
    /// Fewer cases than the policy's least.
    FewCases(u64),
    /// In post for fewer months than the policy's least.
    NewInPost(i64),
}

impl Exclusion {
    pub fn words(self) -> String {
        match self {
            Exclusion::FewCases(n) => format!("{n} cases: too few to compare"),
            Exclusion::NewInPost(m) => format!("{m} months in post: too new to compare"),
        }
    }
}

/// The region's benchmark on one measure, and the spread of the practitioners compared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Benchmark {
    pub measure: Measure,
    /// The pooled rate of the practitioners compared.
    pub rate: f64,
    pub q1: f64,
    pub q3: f64,
    pub iqr: f64,
    /// One IQR on the worse side of the rate: beyond it is `far`.
    pub threshold: f64,
    /// How many practitioners the rate and quartiles are over.
    pub people: usize,
}

impl Benchmark {
    /// Where a value stands against the benchmark.
    pub fn band(&self, v: f64) -> Band {
        let worse_by = if self.measure.higher_is_better() {
            self.rate - v
        } else {
            v - self.rate
        };
        if worse_by <= 0.0 {
            Band::Met
        } else if worse_by <= self.iqr {
            Band::Near
        } else {
            Band::Far
        }
    }

    /// Where `far` begins, in words ("far below 81.6%"); `None` when the IQR is so wide that
    /// nobody can be far (a share threshold under 0%).
    pub fn far_words(&self) -> Option<String> {
        if self.measure.higher_is_better() && self.threshold < 0.0 {
            return None;
        }
        let side = if self.measure.higher_is_better() {
            "below"
        } else {
            "above"
        };
        Some(format!("far {side} {}", self.measure.show(self.threshold)))
    }

    /// From the values and ratios of the practitioners compared; `None` when there are none.
    fn of(measure: Measure, ratios: &[Ratio]) -> Option<Benchmark> {
        let (num, den) = ratios
            .iter()
            .fold((0.0, 0.0), |(n, d), r| (n + r.num, d + r.den));
        let rate = Ratio { num, den }.value(measure)?;
        let mut values: Vec<f64> = ratios.iter().filter_map(|r| r.value(measure)).collect();
        values.sort_by(f64::total_cmp);
        let q1 = quantile(&values, 0.25)?;
        let q3 = quantile(&values, 0.75)?;
        let iqr = q3 - q1;
        let threshold = if measure.higher_is_better() {
            rate - iqr
        } else {
            rate + iqr
        };
        Some(Benchmark {
            measure,
            rate,
            q1,
            q3,
            iqr,
            threshold,
            people: values.len(),
        })
    }
}

/// The `p` quantile of sorted values by linear interpolation between closest ranks (the
/// method of R's default, numpy's default and Excel's QUARTILE.INC), so that a head can
/// check a figure with a spreadsheet.
pub fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = last as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(last);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// One practitioner's standing on one measure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Standing {
    pub measure: Measure,
    pub ratio: Ratio,
    pub value: Option<f64>,
    /// `None` when excluded, or with nothing to measure (no cases needing it).
    pub band: Option<Band>,
}

/// One practitioner, their standings and, if left out, why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    #[serde(flatten)]
    pub figures: Figures,
    pub excluded: Option<Exclusion>,
    pub standings: Vec<Standing>,
}

impl Person {
    pub fn standing(&self, m: Measure) -> Option<&Standing> {
        self.standings.iter().find(|s| s.measure == m)
    }

    /// How many measures are `far`, then `near`: the order of "who needs support".
    pub fn concern(&self) -> (usize, usize) {
        let n = |b| self.standings.iter().filter(|s| s.band == Some(b)).count();
        (n(Band::Far), n(Band::Near))
    }
}

/// A team where at least the policy's share of those compared are `far` on one measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamPattern {
    pub pdu: String,
    pub team: String,
    pub measure: Measure,
    pub far: usize,
    pub compared: usize,
}

/// The comparison for a region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub region: String,
    /// The policy's least caseload and months in post for a comparison.
    pub policy_min_cases: u64,
    pub policy_min_months: i64,
    pub policy_team_share: f64,
    pub benchmarks: Vec<Benchmark>,
    /// Worst first: most `far`, then most `near`, then by staff code.
    pub people: Vec<Person>,
    pub team_patterns: Vec<TeamPattern>,
}

impl Report {
    /// Compares every practitioner of a region.
    pub fn of(region: &str, figures: Vec<Figures>, policy: &SupportPolicy) -> Report {
        let excluded = |f: &Figures| {
            if f.cases < policy.min_cases {
                Some(Exclusion::FewCases(f.cases))
            } else if f.months_in_post < policy.min_months_in_post {
                Some(Exclusion::NewInPost(f.months_in_post))
            } else {
                None
            }
        };
        let benchmarks: Vec<Benchmark> = Measure::ALL
            .iter()
            .filter_map(|&m| {
                let ratios: Vec<Ratio> = figures
                    .iter()
                    .filter(|f| excluded(f).is_none())
                    .map(|f| f.ratio(m))
                    .filter(|r| r.den > 0.0)
                    .collect();
                Benchmark::of(m, &ratios)
            })
            .collect();
        let mut people: Vec<Person> = figures
            .into_iter()
            .map(|f| {
                let out = excluded(&f);
                let standings = Measure::ALL
                    .iter()
                    .map(|&m| {
                        let value = f.value(m);
                        let band = match (out, value) {
                            (None, Some(v)) => benchmarks
                                .iter()
                                .find(|b| b.measure == m)
                                .map(|b| b.band(v)),
                            _ => None,
                        };
                        Standing {
                            measure: m,
                            ratio: f.ratio(m),
                            value,
                            band,
                        }
                    })
                    .collect();
                Person {
                    figures: f,
                    excluded: out,
                    standings,
                }
            })
            .collect();
        people.sort_by(|a, b| {
            b.concern()
                .cmp(&a.concern())
                .then_with(|| a.figures.staff_code.cmp(&b.figures.staff_code))
        });
        let team_patterns = team_patterns(&people, policy);
        Report {
            region: region.to_string(),
            policy_min_cases: policy.min_cases,
            policy_min_months: policy.min_months_in_post,
            policy_team_share: policy.team_pattern_share,
            benchmarks,
            people,
            team_patterns,
        }
    }

    pub fn benchmark(&self, m: Measure) -> Option<&Benchmark> {
        self.benchmarks.iter().find(|b| b.measure == m)
    }

    /// The people of one PDU, worst first.
    pub fn of_pdu<'a>(&'a self, pdu: &'a str) -> impl Iterator<Item = &'a Person> + 'a {
        self.people.iter().filter(move |p| p.figures.pdu == pdu)
    }

    /// One PDU's pooled rate and quartiles on a measure, over its people compared: the
    /// PDU's spread beside the region's.
    pub fn pdu_spread(&self, pdu: &str, m: Measure) -> Option<Benchmark> {
        let ratios: Vec<Ratio> = self
            .of_pdu(pdu)
            .filter(|p| p.excluded.is_none())
            .map(|p| p.figures.ratio(m))
            .filter(|r| r.den > 0.0)
            .collect();
        Benchmark::of(m, &ratios)
    }

    /// How many of a PDU's people are far, near and met on a measure.
    pub fn band_counts(&self, pdu: &str, m: Measure) -> (usize, usize, usize) {
        let n = |band| {
            self.of_pdu(pdu)
                .filter(|p| p.standing(m).and_then(|s| s.band) == Some(band))
                .count()
        };
        (n(Band::Far), n(Band::Near), n(Band::Met))
    }

    /// A PDU's team patterns grouped by team (in team order), and how many of its teams
    /// have anyone compared: when every team shows a pattern, the unit does.
    pub fn team_patterns_by_team<'a>(
        &'a self,
        pdu: &'a str,
    ) -> (Vec<(&'a str, Vec<&'a TeamPattern>)>, usize) {
        let mut teams: Vec<(&str, Vec<&TeamPattern>)> = Vec::new();
        for t in self.patterns_of(pdu) {
            match teams.iter_mut().find(|(name, _)| *name == t.team) {
                Some((_, v)) => v.push(t),
                None => teams.push((&t.team, vec![t])),
            }
        }
        let compared = self
            .of_pdu(pdu)
            .filter(|p| p.excluded.is_none())
            .filter_map(|p| p.figures.team.as_deref())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        (teams, compared)
    }

    /// This PDU's team patterns.
    pub fn patterns_of<'a>(&'a self, pdu: &'a str) -> impl Iterator<Item = &'a TeamPattern> + 'a {
        self.team_patterns.iter().filter(move |t| t.pdu == pdu)
    }
}

/// One PDU's part of a [`Report`], as `review --for head --format json` writes it.
#[derive(Debug, Clone, Serialize)]
pub struct PduSupport<'a> {
    pub pdu: &'a str,
    pub region: &'a str,
    /// The region's benchmarks.
    pub benchmarks: &'a [Benchmark],
    /// The PDU's own pooled rates and quartiles, beside the region's.
    pub pdu_spread: Vec<Benchmark>,
    pub team_patterns: Vec<&'a TeamPattern>,
    pub people: Vec<&'a Person>,
}

impl Report {
    pub fn pdu_view<'a>(&'a self, pdu: &'a str) -> PduSupport<'a> {
        PduSupport {
            pdu,
            region: &self.region,
            benchmarks: &self.benchmarks,
            pdu_spread: Measure::ALL
                .iter()
                .filter_map(|&m| self.pdu_spread(pdu, m))
                .collect(),
            team_patterns: self.patterns_of(pdu).collect(),
            people: self.of_pdu(pdu).collect(),
        }
    }
}

fn team_patterns(people: &[Person], policy: &SupportPolicy) -> Vec<TeamPattern> {
    // (pdu, team, measure) -> (far, compared)
    let mut tally: BTreeMap<(&str, &str, Measure), (usize, usize)> = BTreeMap::new();
    for p in people {
        let Some(team) = p.figures.team.as_deref() else {
            continue;
        };
        for s in &p.standings {
            if let Some(band) = s.band {
                let e = tally
                    .entry((p.figures.pdu.as_str(), team, s.measure))
                    .or_default();
                e.0 += usize::from(band == Band::Far);
                e.1 += 1;
            }
        }
    }
    tally
        .into_iter()
        .filter(|(_, (far, compared))| {
            *compared >= policy.team_pattern_min_people.max(1)
                && *far as f64 >= policy.team_pattern_share * *compared as f64
        })
        .map(|((pdu, team, measure), (far, compared))| TeamPattern {
            pdu: pdu.to_string(),
            team: team.to_string(),
            measure,
            far,
            compared,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SupportPolicy {
        SupportPolicy {
            min_cases: 10,
            min_months_in_post: 3,
            window_months: 12,
            team_pattern_share: 0.6,
            team_pattern_min_people: 3,
        }
    }

    fn person(code: &str, team: &str, seen: f64, needing: f64) -> Figures {
        Figures {
            staff_code: code.into(),
            name: format!("Officer {code}"),
            grade: Grade::Po,
            pdu: "P1".into(),
            team: Some(team.into()),
            cases: 20,
            high_risk_cases: 2,
            months_in_post: 24,
            contact: Ratio {
                num: seen,
                den: needing,
            },
            oversight: Ratio::default(),
            capacity: Ratio::default(),
            wait: Ratio::default(),
        }
    }

    #[test]
    fn quartiles_interpolate_between_ranks_as_a_spreadsheet_does() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.25), Some(1.75));
        assert_eq!(quantile(&v, 0.75), Some(3.25));
        assert_eq!(quantile(&[5.0], 0.75), Some(5.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn bands_are_met_near_or_far_by_one_iqr_on_the_worse_side() {
        // Rates 50, 80, 90, 100 (per 10 cases): pooled 80%, Q1 72.5, Q3 92.5, IQR 20.
        let f = vec![
            person("A", "T1", 5.0, 10.0),
            person("B", "T1", 8.0, 10.0),
            person("C", "T1", 9.0, 10.0),
            person("D", "T2", 10.0, 10.0),
        ];
        let r = Report::of("R", f, &policy());
        let b = r.benchmark(Measure::TimelyContact).copied().unwrap();
        assert_eq!(
            (b.rate, b.q1, b.q3, b.iqr, b.threshold),
            (80.0, 72.5, 92.5, 20.0, 60.0)
        );
        let band = |code: &str| {
            r.people
                .iter()
                .find(|p| p.figures.staff_code == code)
                .and_then(|p| p.standing(Measure::TimelyContact))
                .and_then(|s| s.band)
        };
        assert_eq!(band("A"), Some(Band::Far));
        assert_eq!(band("B"), Some(Band::Met));
        assert_eq!(band("D"), Some(Band::Met));
        // Worst first.
        assert_eq!(r.people[0].figures.staff_code, "A");
        // Lower is better for capacity: above the rate by more than the IQR is far.
        let cap = Benchmark {
            measure: Measure::Capacity,
            rate: 100.0,
            q1: 90.0,
            q3: 110.0,
            iqr: 20.0,
            threshold: 120.0,
            people: 4,
        };
        assert_eq!(cap.band(95.0), Band::Met);
        assert_eq!(cap.band(120.0), Band::Near);
        assert_eq!(cap.band(121.0), Band::Far);
    }

    #[test]
    fn few_cases_or_new_in_post_are_left_out_of_the_benchmark_and_unbanded() {
        let mut new = person("N", "T1", 0.0, 10.0);
        new.months_in_post = 2;
        let mut few = person("F", "T1", 0.0, 9.0);
        few.cases = 9;
        let f = vec![person("A", "T1", 9.0, 10.0), new, few];
        let r = Report::of("R", f, &policy());
        let b = r.benchmark(Measure::TimelyContact).unwrap();
        assert_eq!((b.rate, b.people), (90.0, 1));
        for code in ["N", "F"] {
            let p = r
                .people
                .iter()
                .find(|p| p.figures.staff_code == code)
                .unwrap();
            assert!(p.excluded.is_some());
            assert!(p.standings.iter().all(|s| s.band.is_none()));
        }
    }

    #[test]
    fn a_team_with_at_least_sixty_percent_far_shows_a_pattern() {
        // Rates of 20% and 100% only, the IQR is 80 points: nobody is far, so no pattern.
        let f = vec![
            person("A", "T1", 2.0, 10.0),
            person("B", "T1", 2.0, 10.0),
            person("C", "T1", 2.0, 10.0),
            person("D", "T1", 10.0, 10.0),
            person("E", "T2", 2.0, 10.0),
            person("G", "T2", 10.0, 10.0),
            person("H", "T2", 10.0, 10.0),
            person("I", "T3", 2.0, 10.0),
            person("J", "T3", 2.0, 10.0),
        ];
        let r = Report::of("R", f, &policy());
        let b = r.benchmark(Measure::TimelyContact).unwrap();
        // Rates: 20 x6, 100 x3; pooled 46.7; Q1 20, Q3 100: IQR 80, so nobody is far.
        assert!(r.team_patterns.is_empty(), "{b:?}");
        let mut f2: Vec<Figures> = (0..12)
            .map(|i| person(&format!("X{i:02}"), "T9", 10.0, 10.0))
            .collect();
        f2.extend([
            person("A", "T1", 2.0, 10.0),
            person("B", "T1", 2.0, 10.0),
            person("C", "T1", 2.0, 10.0),
            person("D", "T1", 10.0, 10.0),
            person("E", "T2", 2.0, 10.0),
            person("G", "T2", 10.0, 10.0),
            person("H", "T2", 10.0, 10.0),
        ]);
        let r = Report::of("R", f2, &policy());
        let t: Vec<(&str, usize, usize)> = r
            .team_patterns
            .iter()
            .map(|t| (t.team.as_str(), t.far, t.compared))
            .collect();
        assert_eq!(t, vec![("T1", 3, 4)]);
    }
}
