//! The Support tab, for heads of PDU: who needs support. Each practitioner's timely
//! contact, oversight done, capacity and allocation wait against the region's benchmark
//! (met, near or far by one interquartile range; see `crate::outliers`), team patterns
//! first, sortable; Enter drills into one practitioner's caseload (cases, tier mix,
//! high-risk cases, reductions, what is overdue), and Enter there opens a case.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use crate::equity::{Cell as EquityCell, Flag, Report as EquityReport};
use crate::outliers::{Band, Measure, Person, Report, Standing};
use crate::store::read::support::Caseload;
use crate::tui::app::{Gens, Slot};
use crate::tui::view::FULL_WIDTH;
use crate::tui::widgets::{DrawCtx, Theme, clean, error_block, fit};
use crate::tui::worker::{Failure, Request};

/// The orders `s` steps through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SupportSort {
    /// Most measures far, then near: who needs support first.
    #[default]
    Concern,
    /// Worst on one measure first.
    By(Measure),
    Name,
}

impl SupportSort {
    fn next(self) -> SupportSort {
        match self {
            SupportSort::Concern => SupportSort::By(Measure::TimelyContact),
            SupportSort::By(Measure::TimelyContact) => SupportSort::By(Measure::OversightDone),
            SupportSort::By(Measure::OversightDone) => SupportSort::By(Measure::Capacity),
            SupportSort::By(Measure::Capacity) => SupportSort::By(Measure::AllocationWait),
            SupportSort::By(Measure::AllocationWait) => SupportSort::Name,
            SupportSort::Name => SupportSort::Concern,
        }
    }

    pub fn words(self) -> String {
        match self {
            SupportSort::Concern => "sorted: most measures far first".into(),
            SupportSort::By(m) => format!("sorted: worst {} first", m.label()),
            SupportSort::Name => "sorted: by name".into(),
        }
    }
}

/// One practitioner's caseload, opened from the list.
#[derive(Debug, Clone, Default)]
pub struct Drill {
    pub staff_code: String,
    pub data: Option<Caseload>,
    pub loading: bool,
    pub error: Option<String>,
    /// The overdue case selected.
    pub selected: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Support {
    /// The region's comparison; the tab shows its PDU's people.
    pub data: Option<Arc<Report>>,
    pub selected: usize,
    pub sort: SupportSort,
    pub loading: bool,
    pub error: Option<String>,
    pub drill: Option<Drill>,
    /// `v`: disproportionality by group instead of the people.
    pub groups_mode: bool,
    /// The PDU's tables and its region's.
    pub groups: Option<Arc<(EquityReport, EquityReport)>>,
    pub groups_loading: bool,
    pub groups_error: Option<String>,
    /// The line selected in the groups view (it scrolls).
    pub groups_row: usize,
}

/// How many overdue cases the drill-in lists.
pub const DRILL_LIMIT: usize = 200;

impl Support {
    pub fn request(&mut self, pdu: &str, gens: &mut Gens) -> Request {
        let generation = gens.stamp(Slot::Support);
        self.loading = true;
        Request::Support {
            generation,
            pdu: pdu.to_string(),
        }
    }

    pub fn loaded(&mut self, result: Result<Arc<Report>, Failure>) {
        self.loading = false;
        match result {
            Ok(d) => {
                self.error = None;
                self.data = Some(d);
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    pub fn request_groups(&mut self, pdu: &str, gens: &mut Gens) -> Request {
        let generation = gens.stamp(Slot::Equity);
        self.groups_loading = true;
        Request::Equity {
            generation,
            pdu: pdu.to_string(),
        }
    }

    /// `v`: the groups view or the people, and what to ask for.
    pub fn toggle_groups(&mut self, pdu: &str, gens: &mut Gens) -> (&'static str, Option<Request>) {
        self.groups_mode = !self.groups_mode;
        self.drill = None;
        if !self.groups_mode {
            return ("who needs support; v shows service by group", None);
        }
        let req =
            (self.groups.is_none() && !self.groups_loading).then(|| self.request_groups(pdu, gens));
        (
            "service by ethnic group, sex and age band; v goes back",
            req,
        )
    }

    pub fn groups_loaded(&mut self, result: Result<Arc<(EquityReport, EquityReport)>, Failure>) {
        self.groups_loading = false;
        match result {
            Ok(g) => {
                self.groups_error = None;
                self.groups = Some(g);
            }
            Err(e) => self.groups_error = Some(e.to_string()),
        }
    }

    /// How many lines the groups view has.
    pub fn groups_rows(&self) -> usize {
        self.groups
            .as_ref()
            .map_or(0, |g| g.0.tables.iter().map(|t| t.groups.len() + 1).sum())
    }

    /// The PDU's people in the order chosen.
    pub fn rows<'a>(&'a self, pdu: &'a str) -> Vec<&'a Person> {
        let Some(r) = &self.data else {
            return Vec::new();
        };
        let mut v: Vec<&Person> = r.of_pdu(pdu).collect();
        match self.sort {
            SupportSort::Concern => {}
            SupportSort::Name => v.sort_by(|a, b| a.figures.name.cmp(&b.figures.name)),
            SupportSort::By(m) => v.sort_by(|a, b| {
                let worse = |p: &Person| {
                    p.standing(m)
                        .and_then(|s| s.value)
                        .map(|x| if m.higher_is_better() { -x } else { x })
                };
                // Worst first; those with nothing to measure last.
                match (worse(a), worse(b)) {
                    (Some(x), Some(y)) => y.total_cmp(&x),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                }
            }),
        }
        v
    }

    pub fn row_count(&self, pdu: &str) -> usize {
        self.data.as_ref().map_or(0, |r| r.of_pdu(pdu).count())
    }

    /// `s`: the next order, from the top.
    pub fn next_sort(&mut self) -> String {
        self.sort = self.sort.next();
        self.selected = 0;
        self.sort.words()
    }

    /// Enter on the list: the selected practitioner's caseload.
    pub fn open(&mut self, pdu: &str, gens: &mut Gens) -> Option<Request> {
        let staff_code = self
            .rows(pdu)
            .get(self.selected)?
            .figures
            .staff_code
            .clone();
        let generation = gens.stamp(Slot::Caseload);
        self.drill = Some(Drill {
            staff_code: staff_code.clone(),
            loading: true,
            ..Drill::default()
        });
        Some(Request::Caseload {
            generation,
            staff_code,
        })
    }

    pub fn caseload_loaded(&mut self, result: Result<Option<Caseload>, Failure>) {
        let Some(d) = &mut self.drill else {
            return;
        };
        d.loading = false;
        match result {
            Ok(Some(c)) => d.data = Some(c),
            Ok(None) => d.error = Some("this practitioner is no longer on record".into()),
            Err(e) => d.error = Some(e.to_string()),
        }
    }

    /// The overdue case selected in the drill-in, to open.
    pub fn drill_crn(&self) -> Option<String> {
        let d = self.drill.as_ref()?;
        Some(d.data.as_ref()?.overdue.get(d.selected)?.crn.clone())
    }

    pub fn draw(&self, pdu: &str, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
        let theme = &dc.theme;
        if let Some(e) = &self.error {
            return error_block(f, area, e, theme);
        }
        let Some(r) = &self.data else {
            f.render_widget(Paragraph::new("Loading who needs support…"), area);
            return;
        };
        if self.groups_mode {
            return self.draw_groups(f, area, dc);
        }
        if let Some(d) = &self.drill {
            return draw_drill(d, r, f, area, dc);
        }
        let people = self.rows(pdu);
        let compared = people.iter().filter(|p| p.excluded.is_none()).count();
        let wide = area.width >= FULL_WIDTH;
        let mut head = vec![Line::from(vec![
            Span::styled("Who needs support", theme.header()),
            Span::raw(if wide {
                format!(
                    " · against {}'s rate; far: over one IQR worse · {compared} compared, {} not (few cases or new)",
                    clean(&r.region),
                    people.len() - compared
                )
            } else {
                format!(
                    " vs {}: {compared} compared, {} not",
                    clean(&r.region),
                    people.len() - compared
                )
            }),
        ])];
        if self.sort != SupportSort::Concern {
            head[0].spans.push(Span::styled(
                format!(" · {}", self.sort.words()),
                theme.dim(),
            ));
        }
        head.push(patterns_line(r, pdu, theme, wide));
        for m in Measure::ALL {
            head.push(measure_line(r, pdu, m, wide));
        }
        let head_rows = head.len() as u16;
        let [top, table] =
            Layout::vertical([Constraint::Length(head_rows), Constraint::Min(2)]).areas(area);
        let head: Vec<Line> = head
            .into_iter()
            .map(|l| {
                let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
                if text.chars().count() > usize::from(area.width) {
                    Line::styled(fit(&text, usize::from(area.width)), l.spans[0].style)
                } else {
                    l
                }
            })
            .collect();
        f.render_widget(Paragraph::new(head), top);
        let rows: Vec<Row> = people.iter().map(|p| person_row(p, wide, dc)).collect();
        let mut titles = vec![];
        let mut widths = vec![];
        if wide {
            titles.push("Staff");
            widths.push(Constraint::Length(10));
        }
        titles.extend(["Name", "Grade", "Cases"]);
        widths.extend([
            Constraint::Min(10),
            Constraint::Length(5),
            Constraint::Length(5),
        ]);
        if wide {
            titles.push("Team");
            widths.push(Constraint::Length(10));
        }
        titles.extend(["Contact", "Oversight", "Capacity", "Wait", "Support"]);
        let w = if wide { 11 } else { 9 };
        widths.extend([
            Constraint::Length(w),
            Constraint::Length(w),
            Constraint::Length(w),
            Constraint::Length(w),
            Constraint::Length(if wide { 16 } else { 9 }),
        ]);
        let mut state = TableState::default().with_selected(Some(self.selected));
        f.render_stateful_widget(
            Table::new(rows, widths)
                .header(Row::new(titles).style(theme.header()))
                .row_highlight_style(theme.selected())
                .highlight_symbol("▶")
                .column_spacing(1),
            table,
            &mut state,
        );
    }
}

impl Support {
    /// Disproportionality: each table's overall rates (PDU and region), then each group's
    /// people, rate, 95% interval and flag in both; small cells said as such, no numbers.
    fn draw_groups(&self, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
        let theme = &dc.theme;
        if let Some(e) = &self.groups_error {
            return error_block(f, area, e, theme);
        }
        let Some(g) = &self.groups else {
            f.render_widget(Paragraph::new("Loading service by group…"), area);
            return;
        };
        let (unit, wide_scope) = (&g.0, &g.1);
        let wide = area.width >= FULL_WIDTH;
        let flagged: Vec<String> =
            unit.tables
                .iter()
                .chain(&wide_scope.tables)
                .zip(std::iter::repeat_n(&unit.scope, unit.tables.len()).chain(
                    std::iter::repeat_n(&wide_scope.scope, wide_scope.tables.len()),
                ))
                .flat_map(|(t, scope)| {
                    t.below().map(move |grp| {
                        format!("{grp} in {} ({})", clean(scope), t.measure.label())
                    })
                })
                .collect();
        let head = vec![
            Line::from(vec![
                Span::styled("Service by group", theme.header()),
                Span::raw(format!(
                    " · {} and {} · people, rate (95% interval) · ▼/▲ wholly below/above overall · under {} people suppressed · v back",
                    clean(&unit.scope),
                    clean(&wide_scope.scope),
                    crate::equity::MIN_CELL
                )),
            ]),
            if flagged.is_empty() {
                Line::styled(
                    "No group served worse than overall beyond chance",
                    theme.dim(),
                )
            } else {
                Line::styled(
                    format!("▼ Served worse: {}", flagged.join("; ")),
                    theme.bad(),
                )
            },
        ];
        let [top, table] =
            Layout::vertical([Constraint::Length(2), Constraint::Min(2)]).areas(area);
        let head: Vec<Line> = head
            .into_iter()
            .map(|l| {
                let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
                Line::styled(fit(&text, usize::from(area.width)), l.spans[0].style)
            })
            .collect();
        f.render_widget(Paragraph::new(head), top);
        let cell_text = |c: &EquityCell| -> (String, Style) {
            match c {
                EquityCell::Shown {
                    people,
                    rate,
                    low,
                    high,
                    flag,
                    ..
                } => {
                    let mark = match flag {
                        Some(Flag::Below) => " ▼",
                        Some(Flag::Above) => " ▲",
                        None => "",
                    };
                    let text = if wide {
                        format!(
                            "{people:>6} {:>5.1}% ({:.0}–{:.0}){mark}",
                            rate * 100.0,
                            low * 100.0,
                            high * 100.0
                        )
                    } else {
                        format!(
                            "{people:>5} {:>3.0}% ({:.0}–{:.0}){mark}",
                            rate * 100.0,
                            low * 100.0,
                            high * 100.0
                        )
                    };
                    let style = if *flag == Some(Flag::Below) {
                        theme.bad()
                    } else {
                        Style::new()
                    };
                    (text, style)
                }
                EquityCell::Suppressed => ("  suppressed".to_string(), theme.dim()),
            }
        };
        let mut rows: Vec<Row> = Vec::new();
        for (t, r) in unit.tables.iter().zip(&wide_scope.tables) {
            let overall = |x: Option<f64>, n: u64| {
                x.map_or("-".to_string(), |v| {
                    if wide {
                        format!("{n:>6} {:>5.1}%", v * 100.0)
                    } else {
                        format!("{n:>5} {:>3.0}%", v * 100.0)
                    }
                })
            };
            rows.push(
                Row::new(vec![
                    Cell::from(format!("{} by {}", t.measure.label(), t.dimension.label())),
                    Cell::from(overall(t.overall, t.people)),
                    Cell::from(overall(r.overall, r.people)),
                ])
                .style(theme.header()),
            );
            for ((name, a), (_, b)) in t.groups.iter().zip(&r.groups) {
                let (ta, sa) = cell_text(a);
                let (tb, sb) = cell_text(b);
                rows.push(Row::new(vec![
                    Cell::from(format!("  {name}")),
                    Cell::from(ta).style(sa),
                    Cell::from(tb).style(sb),
                ]));
            }
        }
        let w = if wide { 26 } else { 21 };
        let mut state = TableState::default().with_selected(Some(self.groups_row));
        f.render_stateful_widget(
            Table::new(
                rows,
                [
                    Constraint::Min(14),
                    Constraint::Length(w),
                    Constraint::Length(w),
                ],
            )
            .header(
                Row::new(vec![
                    "Measure, group".to_string(),
                    clean(&unit.scope),
                    clean(&wide_scope.scope),
                ])
                .style(theme.header()),
            )
            .row_highlight_style(theme.selected())
            .column_spacing(1),
            table,
            &mut state,
        );
    }
}

fn band_style(b: Option<Band>, theme: &Theme) -> Style {
    match b {
        Some(Band::Far) => theme.bad(),
        Some(Band::Near) => theme.status(crate::rules::Level::Warning),
        _ => Style::new(),
    }
}

/// A measure's cell: the value and its band in words (`72% far`), so the band never rests on
/// colour alone.
fn standing_cell(s: Option<&Standing>, theme: &Theme) -> Cell<'static> {
    let Some(s) = s else {
        return Cell::from("-");
    };
    let value = match (s.value, s.measure) {
        (None, _) => "-".to_string(),
        (Some(v), Measure::AllocationWait) => format!("{v:.0}d"),
        (Some(v), _) => format!("{v:.0}%"),
    };
    let band = s.band.map_or("", Band::word);
    Cell::from(format!("{value} {band}")).style(band_style(s.band, theme))
}

fn person_row(p: &Person, wide: bool, dc: &DrawCtx) -> Row<'static> {
    let f = &p.figures;
    let mut cells = Vec::new();
    if wide {
        cells.push(Cell::from(clean(&f.staff_code)));
    }
    cells.extend([
        Cell::from(dc.person(&f.name)),
        Cell::from(f.grade.as_str()),
        Cell::from(f.cases.to_string()),
    ]);
    if wide {
        cells.push(Cell::from(f.team.as_deref().map_or(String::new(), clean)));
    }
    for m in Measure::ALL {
        cells.push(standing_cell(p.standing(m), &dc.theme));
    }
    let (far, near) = p.concern();
    let summary = match p.excluded {
        Some(crate::outliers::Exclusion::FewCases(_)) => "few cases".to_string(),
        Some(crate::outliers::Exclusion::NewInPost(_)) => "new in post".to_string(),
        None if far > 0 && wide => format!("far on {far}, near {near}"),
        None if far > 0 => format!("{far} far"),
        None if near > 0 && wide => format!("near on {near}"),
        None if near > 0 => format!("{near} near"),
        None => "met".to_string(),
    };
    let style = if far > 0 {
        dc.theme.bad()
    } else {
        Style::new()
    };
    cells.push(Cell::from(summary).style(style));
    Row::new(cells)
}

/// The team patterns of the PDU in one line: a whole unit's pattern said as such.
fn patterns_line(r: &Report, pdu: &str, theme: &Theme, wide: bool) -> Line<'static> {
    let (by_team, all_teams) = r.team_patterns_by_team(pdu);
    if by_team.is_empty() {
        return Line::styled("Team patterns: none", theme.dim());
    }
    let teams: Vec<(&str, Vec<&str>)> = by_team
        .iter()
        .map(|(t, ps)| (*t, ps.iter().map(|p| p.measure.label()).collect()))
        .collect();
    let text = if teams.len() == all_teams && all_teams > 1 {
        let mut measures: Vec<&str> = teams.iter().flat_map(|(_, m)| m.clone()).collect();
        measures.sort_unstable();
        measures.dedup();
        if wide {
            format!(
                "▲ Team pattern in every team ({all_teams}): {}. Look at the unit's conditions before its people",
                measures.join(", ")
            )
        } else {
            format!(
                "▲ Every team ({all_teams}) far on {}: the unit",
                measures.join(", ")
            )
        }
    } else {
        let list: Vec<String> = teams
            .iter()
            .map(|(t, m)| format!("{} ({})", clean(t), m.join(", ")))
            .collect();
        format!(
            "▲ Team patterns in {} of {all_teams} teams: {}",
            teams.len(),
            list.join("; ")
        )
    };
    Line::styled(text, theme.bad())
}

/// One measure: the region's rate and threshold, the PDU's rate, and how many are far,
/// near and met.
fn measure_line(r: &Report, pdu: &str, m: Measure, wide: bool) -> Line<'static> {
    let Some(b) = r.benchmark(m) else {
        return Line::raw(format!("{:<15} no one to compare", m.label()));
    };
    let (far, near, met) = r.band_counts(pdu, m);
    let unit = r
        .pdu_spread(pdu, m)
        .map_or("-".to_string(), |u| m.show(u.rate));
    if !wide {
        let sign = if m.higher_is_better() { '<' } else { '>' };
        let far_at = match b.far_words() {
            Some(_) => format!("far {sign}{}", m.show(b.threshold)),
            None => "none can be far".to_string(),
        };
        return Line::raw(format!(
            "{:<9} {} {} ({far_at}) {} {unit}: {far} far {near} near {met} met",
            m.short(),
            clean(&r.region),
            m.show(b.rate),
            clean(pdu),
        ));
    }
    let far_at = b
        .far_words()
        .unwrap_or_else(|| "IQR too wide for anyone to be far".to_string());
    Line::raw(format!(
        "{:<15} {} {} · {far_at} · {} {unit} · {far} far, {near} near, {met} met",
        m.label(),
        clean(&r.region),
        m.show(b.rate),
        clean(pdu),
    ))
}

fn draw_drill(d: &Drill, r: &Report, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
    let theme = &dc.theme;
    if let Some(e) = &d.error {
        return error_block(f, area, e, theme);
    }
    let Some(c) = &d.data else {
        f.render_widget(Paragraph::new("Loading the caseload…"), area);
        return;
    };
    let width = usize::from(area.width);
    let person = r
        .people
        .iter()
        .find(|p| p.figures.staff_code == c.staff_code);
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("Caseload of {}", dc.person(&c.name)),
            theme.header(),
        ),
        Span::raw(if width >= usize::from(FULL_WIDTH) {
            format!(
                " ({}, {}, {}, {:.1} hours, in post since {}) · Esc back",
                clean(&c.staff_code),
                c.grade.as_str(),
                c.status.as_str(),
                c.contracted_hours,
                c.start_date
            )
        } else {
            format!(
                " ({}, {}, {:.1}h, since {})",
                clean(&c.staff_code),
                c.grade.as_str(),
                c.contracted_hours,
                c.start_date
            )
        }),
    ])];
    // Tier bands first (A is the most demanding), each with its levels.
    let mut bands: Vec<(char, u64, Vec<String>)> = Vec::new();
    for (t, n) in &c.tiers {
        let band = t.chars().next().unwrap_or('?');
        match bands.iter_mut().find(|(b, _, _)| *b == band) {
            Some((_, total, parts)) => {
                *total += n;
                parts.push(format!("{} {n}", clean(t)));
            }
            None => bands.push((band, *n, vec![format!("{} {n}", clean(t))])),
        }
    }
    let tiers: Vec<String> = bands
        .iter()
        .map(|(b, n, parts)| {
            if width >= usize::from(FULL_WIDTH) + 40 {
                format!("{} {n} ({})", clean(&b.to_string()), parts.join(", "))
            } else {
                format!("{} {n}", clean(&b.to_string()))
            }
        })
        .collect();
    lines.push(Line::raw(fit(
        &format!(
            "{} cases, {} high risk (HIGH/VERY_HIGH RoSH or MAPPA) · tiers: {}",
            c.cases,
            c.high_risk_cases,
            if tiers.is_empty() {
                "none".to_string()
            } else {
                tiers.join(" · ")
            }
        ),
        width,
    )));
    let load = match c.available_points {
        Some(a) if a > 0.0 => format!(
            "workload {:.0} points of the {a:.0} they can carry ({:.0}%)",
            c.points,
            c.points / a * 100.0
        ),
        _ => format!(
            "workload {:.0} points (no nominal target for the grade)",
            c.points
        ),
    };
    let reduction = match c.reduction {
        Some((share, months)) => format!(
            "reduction: {:.0}% of hours off in the first {months} months in post",
            share * 100.0
        ),
        None => "reduction: none".to_string(),
    };
    lines.push(Line::raw(fit(&format!("{load} · {reduction}"), width)));
    if let Some(p) = person {
        let mut spans = vec![];
        match p.excluded {
            Some(e) => spans.push(Span::styled(
                format!("not compared: {}", e.words()),
                theme.dim(),
            )),
            None => {
                for (i, s) in p.standings.iter().enumerate() {
                    if i > 0 {
                        spans.push(Span::raw(" · "));
                    }
                    let v = s.value.map_or("-".to_string(), |v| s.measure.show(v));
                    let label = if width >= usize::from(FULL_WIDTH) {
                        s.measure.label()
                    } else {
                        s.measure.short()
                    };
                    let v = match (s.value, width >= usize::from(FULL_WIDTH)) {
                        (Some(x), false) if s.measure == Measure::AllocationWait => {
                            format!("{x:.0}d")
                        }
                        (Some(x), false) => format!("{x:.0}%"),
                        _ => v,
                    };
                    spans.push(Span::styled(
                        format!("{label} {v} {}", s.band.map_or("", Band::word)),
                        band_style(s.band, theme),
                    ));
                }
            }
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::styled(
        format!(
            "Overdue: {} contacts, {} oversight checks; highest risk first{}",
            c.contact_overdue,
            c.oversight_overdue,
            if width >= usize::from(FULL_WIDTH) {
                " (Enter opens the case)"
            } else {
                ""
            }
        ),
        theme.header(),
    ));
    let head_rows = lines.len() as u16;
    let [top, table] =
        Layout::vertical([Constraint::Length(head_rows), Constraint::Min(2)]).areas(area);
    f.render_widget(Paragraph::new(lines), top);
    let rows: Vec<Row> = c
        .overdue
        .iter()
        .map(|o| {
            let what = match (o.contact_overdue, o.oversight_overdue) {
                (true, true) => "contact, oversight",
                (true, false) => "contact",
                _ => "oversight",
            };
            Row::new(vec![
                Cell::from(clean(&o.crn)),
                Cell::from(clean(&o.tier)),
                Cell::from(o.rosh.as_deref().map_or("none".to_string(), clean)),
                Cell::from(if o.mappa_category > 0 {
                    format!("cat {}", o.mappa_category)
                } else {
                    String::new()
                }),
                Cell::from(what).style(theme.bad()),
                Cell::from(o.allocated_on.as_deref().map_or(String::new(), clean)),
            ])
        })
        .collect();
    let mut state = TableState::default().with_selected(Some(d.selected));
    f.render_stateful_widget(
        Table::new(
            rows,
            [
                Constraint::Length(9),
                Constraint::Length(5),
                Constraint::Length(10),
                Constraint::Length(6),
                Constraint::Length(19),
                Constraint::Length(11),
            ],
        )
        .header(
            Row::new(["CRN", "Tier", "RoSH", "MAPPA", "Overdue", "Allocated"])
                .style(theme.header()),
        )
        .row_highlight_style(theme.selected())
        .highlight_symbol("▶")
        .column_spacing(1),
        table,
        &mut state,
    );
}
