//! The heads' section of the morning review: who needs support in a PDU.

use super::md;
use crate::text::sanitize;

/// "Who needs support" in one PDU, for heads of PDU (`review --for head`): team patterns
/// first (a team's conditions before its people), then each measure against the region's
/// benchmark, then the people `far` on at least one measure, most measures first. Plain
/// text, or Markdown with `markdown`. Names as initials with `mask`.
pub fn support_section(
    r: &crate::outliers::Report,
    pdu: &str,
    limit: usize,
    mask: bool,
    markdown: bool,
) -> String {
    use crate::outliers::{Band, Measure};
    use std::fmt::Write;
    let esc = |t: &str| {
        if markdown {
            md(t)
        } else {
            sanitize(t).into_owned()
        }
    };
    let people: Vec<_> = r.of_pdu(pdu).collect();
    let compared = people.iter().filter(|p| p.excluded.is_none()).count();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}Who needs support in {}, against {}: {compared} practitioners compared, {} not (under {} cases or {} months in post)",
        if markdown { "### " } else { "" },
        esc(pdu),
        esc(&r.region),
        people.len() - compared,
        r.policy_min_cases,
        r.policy_min_months,
    );
    let bullet = if markdown { "- " } else { "  " };
    // One line per team, its measures together.
    let (teams, all_teams) = r.team_patterns_by_team(pdu);
    if teams.is_empty() {
        let _ = writeln!(s, "{bullet}Team patterns: none.");
    } else {
        let _ = writeln!(
            s,
            "{bullet}Team patterns in {} of {all_teams} teams (at least {:.0}% of a team far on one measure):{}",
            teams.len(),
            r.policy_team_share * 100.0,
            if teams.len() == all_teams && all_teams > 1 {
                " every team, so look at the unit's conditions (allocation, vacancies, caseloads) before its people"
            } else {
                " look at those teams' conditions before their people"
            }
        );
        for (team, patterns) in teams {
            let what: Vec<String> = patterns
                .iter()
                .map(|t| format!("{} {} of {} far", t.measure.label(), t.far, t.compared))
                .collect();
            let _ = writeln!(s, "{bullet}  {}: {}", esc(team), what.join("; "));
        }
    }
    for m in Measure::ALL {
        let Some(b) = r.benchmark(m) else {
            continue;
        };
        let (far, near, met) = r.band_counts(pdu, m);
        let unit = r
            .pdu_spread(pdu, m)
            .map_or("no rate".to_string(), |u| m.show(u.rate));
        let far_at = b
            .far_words()
            .unwrap_or_else(|| "too wide for anyone to be far".to_string());
        let _ = writeln!(
            s,
            "{bullet}{}: {} rate {} (IQR {}; {far_at}); {} {unit}; {far} far, {near} near, {met} met",
            m.label(),
            esc(&r.region),
            m.show(b.rate),
            m.show_gap(b.iqr),
            esc(pdu),
        );
    }
    let far: Vec<_> = people.iter().filter(|p| p.concern().0 > 0).collect();
    if far.is_empty() {
        let _ = writeln!(s, "{bullet}Nobody is far from the benchmark.");
        return s;
    }
    let _ = writeln!(
        s,
        "{bullet}Practitioners far from the benchmark, most measures first ({}):",
        far.len()
    );
    for p in far.iter().take(limit) {
        let f = &p.figures;
        let name = if mask {
            crate::text::masked_name(&f.name)
        } else {
            esc(&f.name)
        };
        let list = |band| {
            p.standings
                .iter()
                .filter(|s| s.band == Some(band))
                .filter_map(|s| {
                    s.value
                        .map(|v| format!("{} {}", s.measure.label(), s.measure.show(v)))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let near = list(Band::Near);
        let _ = writeln!(
            s,
            "{bullet}  {name} ({}, {}, {}, {} cases): far on {}{}",
            esc(&f.staff_code),
            f.grade.as_str(),
            f.team.as_deref().map_or("no team".to_string(), esc),
            f.cases,
            list(Band::Far),
            if near.is_empty() {
                String::new()
            } else {
                format!("; near on {near}")
            }
        );
    }
    if far.len() > limit {
        let _ = writeln!(s, "{bullet}  … and {} more.", far.len() - limit);
    }
    s
}
