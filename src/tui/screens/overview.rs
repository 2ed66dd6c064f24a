//! The overview: the region's PDUs, worst first, with the figures that put them there.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::pdu::Tab;
use super::{move_delta, step_index};
use crate::report::pct;
use crate::rules::Level;
use crate::store::read::PduSummary;
use crate::tui::event::{Ctx, EventState, Go};
use crate::tui::keymap::Action;
use crate::tui::region::Region;
use crate::tui::view::FULL_WIDTH;
use crate::tui::widgets::{DrawCtx, clean, error_block};
use crate::tui::worker::Request;

/// Overview sort columns, cycled with `s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverviewSort {
    Status,
    Pdu,
    Cases,
    Unallocated,
    Mappa,
    HighRosh,
    Vacancy,
    Oversight,
    Contacts,
    /// Domestic-abuse enquiries made: the lowest share first.
    DaEnquiries,
    /// Recent releases with contact before release: the lowest share first.
    ReleaseContact,
    /// The start-of-custody assessment backlog: the largest first.
    CustodyBacklog,
}

impl OverviewSort {
    pub const ALL: [OverviewSort; 12] = [
        OverviewSort::Status,
        OverviewSort::Pdu,
        OverviewSort::Cases,
        OverviewSort::Unallocated,
        OverviewSort::Mappa,
        OverviewSort::HighRosh,
        OverviewSort::Vacancy,
        OverviewSort::Oversight,
        OverviewSort::Contacts,
        OverviewSort::DaEnquiries,
        OverviewSort::ReleaseContact,
        OverviewSort::CustodyBacklog,
    ];
    pub fn label(self) -> &'static str {
        match self {
            OverviewSort::Status => "status",
            OverviewSort::Pdu => "PDU",
            OverviewSort::Cases => "cases",
            OverviewSort::Unallocated => "unallocated",
            OverviewSort::Mappa => "MAPPA",
            OverviewSort::HighRosh => "high RoSH",
            OverviewSort::Vacancy => "vacancy",
            OverviewSort::Oversight => "oversight",
            OverviewSort::Contacts => "contacts",
            OverviewSort::DaEnquiries => "domestic-abuse enquiries made",
            OverviewSort::ReleaseContact => "releases with contact",
            OverviewSort::CustodyBacklog => "start-of-custody backlog",
        }
    }
}

/// The overview's own state: the selected row, the sort and the filter.
#[derive(Debug, Clone)]
pub struct Overview {
    pub selected: usize,
    pub sort: OverviewSort,
    pub reverse: bool,
    pub filter: String,
}

impl Default for Overview {
    fn default() -> Self {
        Overview {
            selected: 0,
            sort: OverviewSort::Status,
            reverse: false,
            filter: String::new(),
        }
    }
}

impl Overview {
    /// Rows after filter and sort, as indexes into the region's PDUs.
    pub fn rows(&self, region: &Region) -> Vec<usize> {
        let Some(o) = &region.data else {
            return Vec::new();
        };
        let f = self.filter.to_lowercase();
        let mut idx: Vec<usize> = (0..o.pdus.len())
            .filter(|&i| {
                f.is_empty()
                    || o.pdus[i].code.to_lowercase().contains(&f)
                    || o.pdus[i].name.to_lowercase().contains(&f)
            })
            .collect();
        let key = |p: &PduSummary| -> (i64, i64, i64) {
            let vac = (p.vacancy_rate.unwrap_or(0.0) * 1000.0) as i64;
            // A share missing is nothing to judge: after every share, however low.
            let short = |s: Option<f64>| s.map_or(-1, |s| 1000 - (s * 1000.0) as i64);
            let risk = p.risk.as_ref();
            match self.sort {
                OverviewSort::Status => (
                    region.pdu_status(&p.code) as i64,
                    p.unallocated_mappa as i64,
                    p.unallocated as i64,
                ),
                OverviewSort::Pdu => (0, 0, 0),
                OverviewSort::Cases => (p.cases as i64, 0, 0),
                OverviewSort::Unallocated => (p.unallocated as i64, 0, 0),
                OverviewSort::Mappa => (p.unallocated_mappa as i64, p.unallocated as i64, 0),
                OverviewSort::HighRosh => (p.unallocated_high_rosh as i64, 0, 0),
                OverviewSort::Vacancy => (vac, 0, 0),
                OverviewSort::Oversight => (p.oversight_overdue as i64, 0, 0),
                OverviewSort::Contacts => (p.high_risk_contacts_overdue as i64, 0, 0),
                OverviewSort::DaEnquiries => (
                    short(risk.and_then(|r| r.domestic_abuse_enquiries_made.share)),
                    0,
                    0,
                ),
                OverviewSort::ReleaseContact => (
                    short(risk.and_then(|r| r.releases_with_contact.share)),
                    0,
                    0,
                ),
                OverviewSort::CustodyBacklog => (
                    risk.map_or(-1, |r| r.custody_assessment_backlog as i64),
                    0,
                    0,
                ),
            }
        };
        // Worst (largest) first; PDU code ascending; ties broken by code.
        idx.sort_by(|&a, &b| {
            let (pa, pb) = (&o.pdus[a], &o.pdus[b]);
            let ord = if self.sort == OverviewSort::Pdu {
                pa.code.cmp(&pb.code)
            } else {
                key(pb).cmp(&key(pa)).then_with(|| pa.code.cmp(&pb.code))
            };
            if self.reverse { ord.reverse() } else { ord }
        });
        idx
    }

    /// Keeps the selection within the rows, after the region changed.
    pub fn clamp(&mut self, region: &Region) {
        let n = self.rows(region).len();
        self.selected = self.selected.min(n.saturating_sub(1));
    }

    /// The filter changed: back to the first row.
    pub fn filter_changed(&mut self) {
        self.selected = 0;
    }

    /// The overview's keys: open a PDU, move, sort, the next region, export, and Esc, which
    /// clears a kept filter.
    pub fn act(&mut self, action: Action, region: &mut Region, cx: &mut Ctx) -> EventState {
        if let Some(delta) = move_delta(action, cx.size.1) {
            let n = self.rows(region).len();
            self.selected = step_index(self.selected, n, delta);
            return EventState::Consumed;
        }
        match action {
            Action::Open => {
                let rows = self.rows(region);
                if let (Some(o), Some(&i)) = (&region.data, rows.get(self.selected)) {
                    let p = &o.pdus[i];
                    cx.go = Some(Go::Pdu {
                        code: p.code.clone(),
                        name: p.name.clone(),
                        tab: Tab::Today,
                    });
                }
            }
            Action::Sort | Action::ReverseSort => self.sort(action == Action::ReverseSort, cx),
            Action::NextRegion => self.next_region(region, cx),
            Action::Export => {
                // The PDUs as shown: after the filter, in the screen's order.
                if let Some(o) = &region.data {
                    let codes = self
                        .rows(region)
                        .into_iter()
                        .map(|i| o.pdus[i].code.clone())
                        .collect();
                    cx.say("exporting…");
                    cx.ask([Request::ExportSummary { codes }]);
                }
            }
            // On the overview, Esc clears a kept filter.
            Action::Back => self.filter.clear(),
            _ => return EventState::NotConsumed,
        }
        EventState::Consumed
    }

    fn sort(&mut self, reverse: bool, cx: &mut Ctx) {
        if reverse {
            self.reverse = !self.reverse;
        } else {
            let i = OverviewSort::ALL
                .iter()
                .position(|s| *s == self.sort)
                .unwrap_or(0);
            self.sort = OverviewSort::ALL[(i + 1) % OverviewSort::ALL.len()];
            self.reverse = false;
        }
        cx.say(format!(
            "sorted by {}{}",
            self.sort.label(),
            if self.reverse { " (reversed)" } else { "" }
        ));
    }

    fn next_region(&mut self, region: &mut Region, cx: &mut Ctx) {
        let Some(o) = &region.data else {
            return;
        };
        let i = o.regions.iter().position(|r| *r == o.region).unwrap_or(0);
        let Some(next) = o.regions.get((i + 1) % o.regions.len().max(1)).cloned() else {
            return;
        };
        cx.say(format!("region: {next}"));
        self.selected = 0;
        let r = region.request_of(cx.gens, Some(next));
        cx.ask([r]);
    }

    /// The PDUs' table, then a line of PDUs per level and the region's totals.
    pub fn draw(&self, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
        let theme = &dc.theme;
        if let Some(e) = &dc.region.error {
            return error_block(f, area, e, theme);
        }
        let Some(o) = &dc.region.data else {
            f.render_widget(Paragraph::new("Loading the overview…"), area);
            return;
        };
        let fit = Fit::of(area.width);
        let wide = fit != Fit::Narrow;
        let shown = self.rows(dc.region);
        // The legend, when the table leaves room for it: the new shares' columns in words.
        let legend = legend(&o.pdus, o.some_pdus, fit, dc);
        let foot_rows = if shown.len() + 1 + 1 + legend.len() <= usize::from(area.height) {
            1 + legend.len() as u16
        } else {
            1
        };
        let [table_area, foot] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(foot_rows)]).areas(area);
        let rows: Vec<Row> = shown
            .iter()
            .map(|&i| pdu_row(&o.pdus[i], fit, dc))
            .collect();
        let table = Table::new(rows, widths(fit))
            .header(Row::new(self.head(fit)).style(theme.header()))
            .row_highlight_style(theme.selected())
            .highlight_symbol("▶")
            .column_spacing(1);
        let mut state = TableState::default().with_selected(Some(self.selected));
        f.render_stateful_widget(table, table_area, &mut state);
        let mut lines = vec![footer(&o.pdus, wide, dc)];
        if foot_rows > 1 {
            lines.extend(legend);
        }
        f.render_widget(Paragraph::new(lines), foot);
    }

    /// The column titles, the sorted one marked with its direction.
    fn head(&self, fit: Fit) -> Vec<String> {
        let roomy = fit == Fit::Roomy;
        let wide = fit != Fit::Narrow;
        let sort_mark = |label: &str, s: OverviewSort| -> String {
            if self.sort == s {
                format!("{label}{}", if self.reverse { "↑" } else { "↓" })
            } else {
                label.to_string()
            }
        };
        use OverviewSort as S;
        let mut head = vec![sort_mark("Status", S::Status), sort_mark("PDU", S::Pdu)];
        if wide {
            head.push("Name".into());
        }
        head.extend([
            sort_mark("Cases", S::Cases),
            sort_mark(if roomy { "Unalloc" } else { "Unal" }, S::Unallocated),
            sort_mark("MAPPA", S::Mappa),
            sort_mark(if roomy { "HighR" } else { "HiR" }, S::HighRosh),
            sort_mark("Vac", S::Vacancy),
            sort_mark(if roomy { "Oversight" } else { "Ovsgt" }, S::Oversight),
            sort_mark(if roomy { "HR cont" } else { "Cont" }, S::Contacts),
        ]);
        if wide {
            head.extend(["PPF".into(), "Rating".into()]);
        }
        let [da, rel, backlog] = share_labels(fit);
        head.extend([
            sort_mark(da, S::DaEnquiries),
            sort_mark(rel, S::ReleaseContact),
            sort_mark(backlog, S::CustodyBacklog),
        ]);
        head
    }
}

/// How much of the overview fits the width: everything at 150 columns and more; from
/// `FULL_WIDTH` the names with short headings and ratings; below, no names, PPF or rating
/// (the PDU's header shows its rating).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    Roomy,
    Wide,
    Narrow,
}

impl Fit {
    pub const ROOMY_WIDTH: u16 = 150;

    pub fn of(width: u16) -> Fit {
        if width >= Fit::ROOMY_WIDTH {
            Fit::Roomy
        } else if width >= FULL_WIDTH {
            Fit::Wide
        } else {
            Fit::Narrow
        }
    }
}

/// The headings of the three shares, as the legend names them.
fn share_labels(fit: Fit) -> [&'static str; 3] {
    if fit == Fit::Narrow {
        ["DA", "Rel", "Bklg"]
    } else {
        ["DA enq", "Rel cont", "Backlog"]
    }
}

fn pdu_row(p: &PduSummary, fit: Fit, dc: &DrawCtx) -> Row<'static> {
    let roomy = fit == Fit::Roomy;
    let wide = fit != Fit::Narrow;
    let st = dc.region.pdu_status(&p.code);
    let mut cells = vec![
        Cell::from(st.label()).style(dc.theme.status(st)),
        Cell::from(clean(&p.code)),
    ];
    if wide {
        cells.push(Cell::from(clean(&p.name)));
    }
    cells.extend([
        Cell::from(count(p.cases, 6)),
        Cell::from(count(p.unallocated, if roomy { 7 } else { 5 })),
        Cell::from(count(p.unallocated_mappa, 5)),
        Cell::from(count(p.unallocated_high_rosh, if roomy { 5 } else { 4 })),
        Cell::from(pct(p.vacancy_rate)),
        Cell::from(if roomy {
            format!("{}/{}", p.oversight_overdue, p.oversight_required)
        } else {
            format!("{:.0}%", p.oversight_overdue_share() * 100.0)
        }),
        Cell::from(count(
            p.high_risk_contacts_overdue,
            if roomy { 7 } else { 4 },
        )),
    ]);
    if wide {
        cells.extend([
            Cell::from(p.ppf_status.map(|s| s.as_str()).unwrap_or("-")),
            Cell::from(rating_text(p, roomy)),
        ]);
    }
    // Shares as numbers, never a colour: "-" where there was nothing to count.
    let risk = p.risk.as_ref();
    cells.extend([
        Cell::from(pct(risk.and_then(|r| r.domestic_abuse_enquiries_made.share))),
        Cell::from(pct(risk.and_then(|r| r.releases_with_contact.share))),
        Cell::from(risk.map_or("-".into(), |r| count(r.custody_assessment_backlog, 5))),
    ]);
    Row::new(cells)
}

/// A count in a column `width` wide: whole when it fits, else in thousands ("300k") or
/// millions, else "#" across the column. Never cut: 300361 cut to five places would read
/// as 30036.
fn count(n: u64, width: usize) -> String {
    let whole = n.to_string();
    if whole.len() <= width {
        return whole;
    }
    for (unit, size) in [("k", 1_000), ("M", 1_000_000)] {
        let short = format!("{}{unit}", n / size);
        if short.len() <= width {
            return short;
        }
    }
    "#".repeat(width)
}

fn widths(fit: Fit) -> Vec<Constraint> {
    let roomy = fit == Fit::Roomy;
    let wide = fit != Fit::Narrow;
    let mut widths = vec![Constraint::Length(12), Constraint::Length(6)];
    if wide {
        // The name takes what is left, at least the first word or so.
        widths.push(if roomy {
            Constraint::Min(16)
        } else {
            Constraint::Min(10)
        });
    }
    widths.extend([
        Constraint::Length(6),
        Constraint::Length(if roomy { 7 } else { 5 }),
        Constraint::Length(5),
        Constraint::Length(if roomy { 5 } else { 4 }),
        Constraint::Length(4),
        Constraint::Length(if roomy { 9 } else { 5 }),
        Constraint::Length(if roomy { 7 } else { 4 }),
    ]);
    if wide {
        widths.extend([
            Constraint::Length(5),
            Constraint::Length(if roomy { 25 } else { 9 }),
        ]);
    }
    let [da, rel, backlog] = share_labels(fit);
    // Each at least "100%" (or the backlog's digits) and its heading with a sort mark.
    let w = |label: &str, least: u16| Constraint::Length((label.len() as u16 + 1).max(least));
    widths.extend([w(da, 4), w(rel, 4), w(backlog, 5)]);
    widths
}

/// The three shares' columns in words, with the region's figures (or, for a login that reads
/// only some PDUs, theirs: the region's would need the cases it may not read): one line each.
fn legend(pdus: &[PduSummary], some_pdus: bool, fit: Fit, dc: &DrawCtx) -> Vec<Line<'static>> {
    let whose = if some_pdus { "your PDUs" } else { "region" };
    let totals = crate::store::read::region_totals(pdus);
    let risk = totals.first().and_then(|t| t.risk.as_ref());
    let share = |s: Option<&crate::risk_checks::ShareFigure>| match s {
        Some(s) if s.of > 0 => format!("{} ({} of {})", pct(s.share), s.count, s.of),
        Some(_) => "none to count yet".into(),
        None => "-".into(),
    };
    let [da, rel, backlog] = share_labels(fit);
    let lines = [
        format!(
            "{da}: domestic-abuse enquiries made, of those due: {whose} {}",
            share(risk.map(|r| &r.domestic_abuse_enquiries_made))
        ),
        format!(
            "{rel}: releases in the last 12 weeks with contact in the 12 weeks before: {whose} {}",
            share(risk.map(|r| &r.releases_with_contact))
        ),
        format!(
            "{backlog}: start-of-custody backlog, custody cases with the initial assessment \
             overdue: {whose} {}",
            risk.map_or("-".into(), |r| r.custody_assessment_backlog.to_string())
        ),
    ];
    let width = usize::from(dc.size.0);
    lines
        .into_iter()
        .map(|l| Line::styled(crate::tui::widgets::fit(&l, width), dc.theme.dim()))
        .collect()
}

/// PDUs per level first, in words (the one line a reader of the screen needs), then the
/// region's totals.
fn footer(pdus: &[PduSummary], wide: bool, dc: &DrawCtx) -> Line<'static> {
    let theme = &dc.theme;
    let mut spans = Vec::new();
    for (i, (level, n)) in dc.region.level_counts().into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.dim()));
        }
        let word = match level {
            Level::OrganisationalAlert => "org alert",
            Level::Critical => "critical",
            Level::Warning => "warn",
            Level::Ok => "ok",
        };
        let style = if n > 0 {
            theme.status(level)
        } else {
            theme.dim()
        };
        spans.push(Span::styled(format!("{n} {word}"), style));
    }
    let totals = crate::store::read::region_totals(pdus);
    if let Some(t) = totals.first() {
        let rest = if wide {
            format!(
                " │ {} PDUs · {} cases · {} unallocated ({} MAPPA) · vacancy {} · oversight overdue {}/{}",
                t.pdus,
                t.cases,
                t.unallocated,
                t.unallocated_mappa,
                pct(t.vacancy_rate),
                t.oversight_overdue,
                t.oversight_required
            )
        } else {
            format!(
                " │ {} PDUs · {} unalloc ({} MAPPA) · vac {}",
                t.pdus,
                t.unallocated,
                t.unallocated_mappa,
                pct(t.vacancy_rate)
            )
        };
        spans.push(Span::styled(rest, theme.dim()));
    }
    Line::from(spans)
}

/// A PDU's inspection rating and score, short on a narrow screen.
pub fn rating_text(p: &PduSummary, wide: bool) -> String {
    match (p.rating, p.score, p.score_max) {
        (Some(r), Some(a), Some(b)) if wide => format!("{} {a}/{b}", r.label()),
        (Some(r), Some(a), Some(b)) => {
            let short = match r {
                crate::domain::Rating::Inadequate => "Inad",
                crate::domain::Rating::RequiresImprovement => "RI",
                crate::domain::Rating::Good => "Good",
                crate::domain::Rating::Outstanding => "Outst",
            };
            format!("{short} {a}/{b}")
        }
        (Some(r), _, _) => r.label().into(),
        _ if wide => "not inspected".into(),
        _ => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Fit, count, legend};
    use crate::tui::region::Region;
    use crate::tui::widgets::{DrawCtx, Theme};

    #[test]
    fn the_legend_says_whose_totals_it_gives() {
        let region = Region::default();
        let dc = DrawCtx {
            theme: Theme { color: false },
            mask: false,
            region: &region,
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
            size: (200, 40),
        };
        let text = |some_pdus| {
            legend(&[], some_pdus, Fit::Roomy, &dc)
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let (whole, theirs) = (text(false), text(true));
        assert_eq!(whole.matches(": region ").count(), 3, "{whole}");
        assert_eq!(theirs.matches(": your PDUs ").count(), 3, "{theirs}");
        assert!(!theirs.contains("region"), "{theirs}");
    }

    #[test]
    fn a_count_too_wide_for_its_column_is_shortened_never_cut() {
        assert_eq!(count(30036, 5), "30036");
        assert_eq!(count(300361, 5), "300k");
        assert_eq!(count(300361, 6), "300361");
        assert_eq!(count(12345, 4), "12k");
        assert_eq!(count(123_456_789, 4), "123M");
        assert_eq!(count(1_234_567_890, 4), "####");
    }
}
