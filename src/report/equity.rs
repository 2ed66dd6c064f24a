//! The disproportionality tables in words, for the terminal.

use crate::equity::{Cell, Flag, Report, Table};
use crate::text::sanitize;

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// One table: the overall rate, then each group (count, rate, 95% interval, flag), and a
/// suppressed cell as such, with none of its numbers.
fn table_text(t: &Table, scope: &str, s: &mut String) {
    use std::fmt::Write;
    let _ = writeln!(
        s,
        "  {} by {}: {} overall {} of {} people",
        t.measure.label(),
        t.dimension.label(),
        sanitize(scope),
        t.overall.map_or("-".to_string(), pct),
        t.people
    );
    for (g, c) in &t.groups {
        match c {
            Cell::Shown {
                people,
                rate,
                low,
                high,
                flag,
                ..
            } => {
                let flag = match flag {
                    Some(Flag::Below) => "  ▼ BELOW the overall rate",
                    Some(Flag::Above) => "  ▲ above the overall rate",
                    None => "",
                };
                let _ = writeln!(
                    s,
                    "    {g:<13} {people:>7}  {:>6}  (95% {}–{}){flag}",
                    pct(*rate),
                    pct(*low),
                    pct(*high)
                );
            }
            Cell::Suppressed => {
                let _ = writeln!(
                    s,
                    "    {g:<13}  suppressed (a small cell, or one that would reveal it)"
                );
            }
        }
    }
}

/// A scope's tables, the flagged ones named first in a line of their own.
pub fn equity_text(r: &Report, as_of: chrono::NaiveDate) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Disproportionality in {} as of {as_of}: rates by group with 95% Wilson intervals; a group is flagged where its whole interval lies away from the overall rate; cells under {} people are suppressed",
        sanitize(&r.scope),
        crate::equity::MIN_CELL
    );
    let flagged: Vec<String> = r
        .tables
        .iter()
        .flat_map(|t| {
            t.below()
                .map(move |g| format!("{g} ({} by {})", t.measure.label(), t.dimension.label()))
        })
        .collect();
    if flagged.is_empty() {
        let _ = writeln!(
            s,
            "No group is served worse than the overall rate beyond chance."
        );
    } else {
        let _ = writeln!(
            s,
            "▼ Served worse than overall beyond chance: {}",
            flagged.join("; ")
        );
    }
    for t in &r.tables {
        table_text(t, &r.scope, &mut s);
    }
    s
}
