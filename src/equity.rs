//! Disproportionality: the quality of service by ethnic group, sex and age band, as the
//! London letter asks ("management information … to analyse and consider any potential
//! disproportionality in the quality of service delivery to people on probation from ethnic
//! minority backgrounds"). For each group: how many people a measure counts, the rate, a 95%
//! Wilson score interval, and a flag where the interval lies wholly away from the overall
//! rate. A cell of fewer than [`MIN_CELL`] people is suppressed, and so is the next smallest
//! cell of its measure when it is the only one (else it could be worked out from the
//! total). Pure: the store counts the cases.

use serde::Serialize;

/// Cells counting fewer people than this are never shown: neither count nor rate.
pub const MIN_CELL: u64 = 10;

/// The normal quantile for a 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// A characteristic people are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Ethnicity,
    Sex,
    AgeBand,
}

impl Dimension {
    pub const ALL: [Dimension; 3] = [Dimension::Ethnicity, Dimension::Sex, Dimension::AgeBand];

    pub fn label(self) -> &'static str {
        match self {
            Dimension::Ethnicity => "ethnic group",
            Dimension::Sex => "sex",
            Dimension::AgeBand => "age band",
        }
    }

    /// The groups in the order they are listed; "not recorded" last.
    pub fn groups(self) -> &'static [&'static str] {
        match self {
            Dimension::Ethnicity => &["white", "mixed", "asian", "black", "other", "not recorded"],
            Dimension::Sex => &["female", "male", "not recorded"],
            Dimension::AgeBand => &["18-24", "25-34", "35-44", "45-54", "55+", "not recorded"],
        }
    }
}

/// What is compared between groups; every one a share where higher is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Cases taken on in the window (or still waiting past the limit) allocated within the
    /// policy's days.
    PromptAllocation,
    TimelyContact,
    OversightDone,
    AssessmentsOnTime,
}

impl Measure {
    pub const ALL: [Measure; 4] = [
        Measure::PromptAllocation,
        Measure::TimelyContact,
        Measure::OversightDone,
        Measure::AssessmentsOnTime,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Measure::PromptAllocation => "allocated promptly",
            Measure::TimelyContact => "timely contact",
            Measure::OversightDone => "oversight done",
            Measure::AssessmentsOnTime => "assessments on time",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Measure::PromptAllocation => "prompt_allocation",
            Measure::TimelyContact => "timely_contact",
            Measure::OversightDone => "oversight_done",
            Measure::AssessmentsOnTime => "assessments_on_time",
        }
    }
}

/// Successes of trials, one group's (or everyone's) count for one measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Count {
    pub met: u64,
    pub of: u64,
}

impl Count {
    pub fn add(&mut self, met: bool) {
        self.met += u64::from(met);
        self.of += 1;
    }

    pub fn rate(self) -> Option<f64> {
        (self.of > 0).then(|| self.met as f64 / self.of as f64)
    }
}

/// The 95% Wilson score interval of `met` out of `of`, `None` for none.
pub fn wilson(c: Count) -> Option<(f64, f64)> {
    let p = c.rate()?;
    let n = c.of as f64;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Where a group's interval lies against the overall rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// The whole interval is below the overall rate: worse served.
    Below,
    /// The whole interval is above it.
    Above,
}

/// One group's cell: shown in full, or suppressed with nothing of its numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "shown", rename_all = "snake_case")]
pub enum Cell {
    Shown {
        people: u64,
        met: u64,
        rate: f64,
        low: f64,
        high: f64,
        flag: Option<Flag>,
    },
    /// Fewer than [`MIN_CELL`] people, or the cell that would give such a cell away.
    Suppressed,
}

/// One measure for one characteristic: the overall rate and each group's cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub dimension: Dimension,
    pub measure: Measure,
    pub overall: Option<f64>,
    /// People counted overall (shown: the scope is never one small cell).
    pub people: u64,
    pub groups: Vec<(String, Cell)>,
}

impl Table {
    /// From the overall count and each group's, in [`Dimension::groups`] order.
    pub fn of(dimension: Dimension, measure: Measure, overall: Count, groups: &[Count]) -> Table {
        let rate = overall.rate();
        let small = |c: &Count| c.of > 0 && c.of < MIN_CELL;
        let mut hide: Vec<bool> = groups.iter().map(|c| c.of < MIN_CELL).collect();
        // One small cell alone could be worked out from the total and the others: hide the
        // next smallest shown cell with it.
        if groups.iter().filter(|c| small(c)).count() == 1
            && let Some(i) = groups
                .iter()
                .enumerate()
                .filter(|(i, _)| !hide[*i])
                .min_by_key(|(_, c)| c.of)
                .map(|(i, _)| i)
        {
            hide[i] = true;
        }
        let cells = groups
            .iter()
            .zip(dimension.groups())
            .zip(hide)
            .map(|((c, name), hidden)| {
                let cell = match (hidden, c.rate(), wilson(*c)) {
                    (false, Some(r), Some((low, high))) => Cell::Shown {
                        people: c.of,
                        met: c.met,
                        rate: r,
                        low,
                        high,
                        flag: rate.and_then(|o| {
                            if high < o {
                                Some(Flag::Below)
                            } else if low > o {
                                Some(Flag::Above)
                            } else {
                                None
                            }
                        }),
                    },
                    _ => Cell::Suppressed,
                };
                (name.to_string(), cell)
            })
            .collect();
        Table {
            dimension,
            measure,
            overall: rate,
            people: overall.of,
            groups: cells,
        }
    }

    /// The groups flagged below the overall rate.
    pub fn below(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().filter_map(|(g, c)| match c {
            Cell::Shown {
                flag: Some(Flag::Below),
                ..
            } => Some(g.as_str()),
            _ => None,
        })
    }
}

/// Every table for one scope (a PDU or a region).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The PDU code or region name.
    pub scope: String,
    pub tables: Vec<Table>,
}

/// One case as the comparison sees it: its groups and whether it met each measure (`None`:
/// the measure does not count it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaseOutcome {
    /// Index into [`Dimension::groups`] per dimension, in [`Dimension::ALL`] order.
    pub groups: [usize; 3],
    pub met: [Option<bool>; 4],
}

/// Counts cases into tables.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// [dimension][measure] -> (overall, per group)
    counts: Vec<Vec<(Count, Vec<Count>)>>,
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            counts: Dimension::ALL
                .iter()
                .map(|d| {
                    Measure::ALL
                        .iter()
                        .map(|_| (Count::default(), vec![Count::default(); d.groups().len()]))
                        .collect()
                })
                .collect(),
        }
    }

    pub fn add(&mut self, c: &CaseOutcome) {
        for (di, per_measure) in self.counts.iter_mut().enumerate() {
            for (mi, (overall, groups)) in per_measure.iter_mut().enumerate() {
                if let Some(met) = c.met[mi] {
                    overall.add(met);
                    if let Some(g) = groups.get_mut(c.groups[di]) {
                        g.add(met);
                    }
                }
            }
        }
    }

    pub fn report(&self, scope: &str) -> Report {
        let mut tables = Vec::new();
        for (di, d) in Dimension::ALL.iter().enumerate() {
            for (mi, m) in Measure::ALL.iter().enumerate() {
                let (overall, groups) = &self.counts[di][mi];
                tables.push(Table::of(*d, *m, *overall, groups));
            }
        }
        Report {
            scope: scope.to_string(),
            tables,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_agrees_with_the_published_formula() {
        // 81 of 263: Wilson 95% 0.2553 to 0.3662 (Newcombe 1998's worked example style).
        let (lo, hi) = wilson(Count { met: 81, of: 263 }).unwrap();
        assert!(
            (lo - 0.2553).abs() < 1e-4 && (hi - 0.3662).abs() < 1e-4,
            "{lo} {hi}"
        );
        // All or nothing stays inside [0, 1].
        let (lo, hi) = wilson(Count { met: 10, of: 10 }).unwrap();
        assert!(hi <= 1.0 && lo > 0.69 && lo < 0.73, "{lo}");
        assert_eq!(wilson(Count::default()), None);
    }

    #[test]
    fn a_small_cell_is_suppressed_with_the_next_smallest_and_flags_need_the_whole_interval() {
        let groups = [
            Count { met: 900, of: 1000 },
            Count { met: 5, of: 7 },
            Count { met: 40, of: 100 },
            Count { met: 30, of: 50 },
            Count { met: 0, of: 0 },
            Count { met: 20, of: 20 },
        ];
        let overall = Count { met: 995, of: 1177 };
        let t = Table::of(
            Dimension::Ethnicity,
            Measure::TimelyContact,
            overall,
            &groups,
        );
        let shown = |i: usize| matches!(t.groups[i].1, Cell::Shown { .. });
        assert!(!shown(1), "7 people: suppressed");
        assert!(!shown(4), "nobody: nothing to show");
        assert!(!shown(5), "the next smallest goes with the lone small cell");
        assert!(shown(0) && shown(2) && shown(3));
        let flag = |i: usize| match &t.groups[i].1 {
            Cell::Shown { flag, .. } => *flag,
            Cell::Suppressed => None,
        };
        // Overall 84.5%: 40% of 100 and 60% of 50 lie wholly below; 90% of 1000 wholly above.
        assert_eq!(flag(2), Some(Flag::Below));
        assert_eq!(flag(3), Some(Flag::Below));
        assert_eq!(flag(0), Some(Flag::Above));
        assert_eq!(t.below().collect::<Vec<_>>(), vec!["asian", "black"]);
        // No number of a suppressed cell is written anywhere.
        let json = serde_json::to_string(&t).unwrap();
        assert!(
            !json.contains("\"people\":7") && !json.contains("\"people\":20"),
            "{json}"
        );
    }
}
