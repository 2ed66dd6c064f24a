//! A PDU's case list as a table: a window of rows paged from SQL, with its own filter, sort,
//! place and (on MAPPA) the "unallocated only" toggle.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use crate::filter::{CaseFilter, Term};
use crate::store::read::{CaseList, CaseRow, CaseSort, PageQuery};
use crate::tui::screens::visible_rows;
use crate::tui::view::FULL_WIDTH;
use crate::tui::widgets::{DrawCtx, clean, error_block};

/// A window of a case list, paged from SQL.
#[derive(Debug, Clone, Default)]
pub struct CaseTable {
    pub total: Option<u64>,
    /// Absolute index of the selected row.
    pub selected: u64,
    /// Absolute index of the first row on screen.
    pub scroll: u64,
    /// The rows loaded, starting at `loaded_offset`.
    pub loaded_offset: u64,
    pub rows: Vec<CaseRow>,
    pub sort: CaseSort,
    pub reverse: bool,
    /// The filter as typed.
    pub filter: String,
    /// The terms of `filter` that parse: what the rows show.
    pub applied: CaseFilter,
    /// The first term of `filter` that does not parse, and why, in words: it is not applied.
    pub filter_error: Option<String>,
    /// MAPPA tab: only the unallocated cases (`U`).
    pub unallocated_only: bool,
    pub loading: bool,
    pub error: Option<String>,
}

impl CaseTable {
    /// The filter the rows of `list` are read with: the applied filter, and the MAPPA tab's
    /// "unallocated only" toggle.
    pub fn query_filter(&self, list: CaseList) -> CaseFilter {
        if list == CaseList::Mappa && self.unallocated_only {
            self.applied.clone().and(Term::Allocated(false))
        } else {
            self.applied.clone()
        }
    }

    /// The query of the whole table as the screen orders it, for an export.
    pub fn whole_query(&self, list: CaseList) -> PageQuery {
        PageQuery {
            sort: self.sort,
            reverse: self.reverse,
            filter: self.query_filter(list),
            offset: 0,
            limit: u64::MAX,
        }
    }

    /// What is kept of a table while its PDU is not on screen: filter, sort, toggle and
    /// place, not the rows (they are read afresh on return).
    pub fn kept(self) -> CaseTable {
        CaseTable {
            selected: self.selected,
            scroll: self.scroll,
            sort: self.sort,
            reverse: self.reverse,
            filter: self.filter,
            applied: self.applied,
            filter_error: self.filter_error,
            unallocated_only: self.unallocated_only,
            ..CaseTable::default()
        }
    }

    /// Reads the typed filter: applies the terms that parse, names the first that does not.
    /// Whether the applied filter changed.
    pub fn apply_filter(&mut self) -> bool {
        apply_typed_filter(&self.filter, &mut self.applied, &mut self.filter_error)
    }

    /// Clears the filter; whether there was one to clear.
    pub fn clear_filter(&mut self) -> bool {
        let had = !self.filter.is_empty() || !self.applied.is_empty();
        self.filter.clear();
        self.filter_error = None;
        let changed = !self.applied.is_empty();
        self.applied = CaseFilter::default();
        if changed {
            self.selected = 0;
            self.scroll = 0;
        }
        had
    }

    /// `s` cycles the sort column, `S` reverses it; back to the first row. The status
    /// line's words.
    pub fn sort(&mut self, reverse: bool) -> String {
        if reverse {
            self.reverse = !self.reverse;
        } else {
            let i = CaseSort::ALL
                .iter()
                .position(|s| *s == self.sort)
                .unwrap_or(0);
            self.sort = CaseSort::ALL[(i + 1) % CaseSort::ALL.len()];
            self.reverse = false;
        }
        self.selected = 0;
        self.scroll = 0;
        format!(
            "sorted by {}{}",
            self.sort.label(),
            if self.reverse { " (reversed)" } else { "" }
        )
    }

    /// Keeps the selected row among the `page` rows on screen.
    pub fn clamp_scroll(&mut self, page: u64) {
        if self.selected < self.scroll {
            self.scroll = self.selected;
        } else if self.selected >= self.scroll + page {
            self.scroll = self.selected + 1 - page;
        }
    }

    pub fn row(&self, i: u64) -> Option<&CaseRow> {
        i.checked_sub(self.loaded_offset)
            .and_then(|k| self.rows.get(k as usize))
    }
    pub fn selected_row(&self) -> Option<&CaseRow> {
        self.row(self.selected)
    }

    /// The rows on screen (loading ones marked), the place and the sort below them; or why
    /// there are none.
    pub fn draw(&self, list: CaseList, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
        let theme = &dc.theme;
        if let Some(e) = &self.error {
            return error_block(f, area, e, theme);
        }
        let wide = area.width >= FULL_WIDTH;
        let page = visible_rows(dc.size.1);
        let total = self.total.unwrap_or(0);
        if self.total == Some(0) {
            f.render_widget(Paragraph::new(self.empty_words(list)), area);
            return;
        }
        // Narrow screens drop the "Allocated to" column; the MAPPA list, which puts
        // unallocated cases first, shows allocation in place of the case type.
        let alloc_for_type = list == CaseList::Mappa && !wide;
        let end = (self.scroll + page).min(total);
        let rows: Vec<Row> = (self.scroll..end)
            .map(|i| match self.row(i) {
                Some(r) => case_row(r, wide, alloc_for_type, dc),
                None => Row::new(vec![Cell::from("…"), Cell::from("loading")]),
            })
            .collect();
        let mut widths = vec![
            Constraint::Length(7),
            Constraint::Min(12),
            Constraint::Length(4),
            Constraint::Length(9),
            Constraint::Length(5),
            Constraint::Length(9),
            Constraint::Length(9),
        ];
        if wide {
            widths.extend([Constraint::Length(10), Constraint::Length(12)]);
        }
        let [table_area, foot] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        let table = Table::new(rows, widths)
            .header(Row::new(self.head(list, wide, alloc_for_type)).style(theme.header()))
            .row_highlight_style(theme.selected())
            .highlight_symbol("▶")
            .column_spacing(1);
        let mut state = TableState::default().with_selected(Some(
            (self.selected - self.scroll.min(self.selected)) as usize,
        ));
        f.render_stateful_widget(table, table_area, &mut state);
        let mappa = match list {
            CaseList::Mappa if self.unallocated_only => " · unallocated only (U: all)",
            CaseList::Mappa => " · unallocated first (U: only those)",
            _ => "",
        };
        f.render_widget(
            Paragraph::new(format!(
                "row {} of {} · sorted by {}{}{mappa}",
                if total == 0 { 0 } else { self.selected + 1 },
                total,
                self.sort.label(),
                if self.reverse { " (reversed)" } else { "" }
            ))
            .style(theme.dim()),
            foot,
        );
    }

    /// Why the table is empty, in words.
    fn empty_words(&self, list: CaseList) -> String {
        let only = if list == CaseList::Mappa && self.unallocated_only {
            " (unallocated only; U shows all)"
        } else {
            ""
        };
        if self.applied.is_empty() {
            format!("No cases in {}{only}.", list.title())
        } else if self.filter_error.is_some() {
            format!("No cases match the filter's good terms{only} (see the filter line).")
        } else {
            format!("No cases match the filter '{}'{only}.", clean(&self.filter))
        }
    }

    /// The column titles, the sorted one marked with its direction.
    fn head(&self, list: CaseList, wide: bool, alloc_for_type: bool) -> Vec<String> {
        let days_label = match list {
            CaseList::Unallocated => "Days unal",
            CaseList::Mappa => "Days",
            _ => "Days over",
        };
        let sort_mark = |label: &str, s| {
            if self.sort == s {
                format!("{label}{}", if self.reverse { "↑" } else { "↓" })
            } else {
                label.to_string()
            }
        };
        use CaseSort as C;
        let mut head = vec![
            sort_mark("CRN", C::Crn),
            sort_mark("Name", C::Name),
            sort_mark("Tier", C::Tier),
            sort_mark("RoSH", C::Risk),
            "MAPPA".into(),
            if alloc_for_type { "Allocated" } else { "Type" }.into(),
            sort_mark(days_label, C::Days),
        ];
        if wide {
            head.extend(["Team".into(), "Allocated to".into()]);
        }
        head
    }
}

fn rosh_text(r: &CaseRow) -> &'static str {
    r.rosh.map(|r| r.as_str()).unwrap_or("NO ROSH")
}

fn case_row(r: &CaseRow, wide: bool, alloc_for_type: bool, dc: &DrawCtx) -> Row<'static> {
    let theme = &dc.theme;
    let mut cells = vec![
        Cell::from(clean(&r.crn)),
        Cell::from(dc.person(&r.name)),
        Cell::from(clean(&r.tier)),
        Cell::from(rosh_text(r)).style(if r.rosh.is_none_or(|x| x.is_high()) {
            theme.bad()
        } else {
            Style::new()
        }),
        Cell::from(r.mappa.to_string()),
        if alloc_for_type {
            match &r.allocated_to {
                Some(s) => Cell::from(clean(s)),
                None => Cell::from("UNALLOC").style(theme.bad()),
            }
        } else {
            Cell::from(r.case_type.map(|c| c.as_str()).unwrap_or("-"))
        },
        Cell::from(r.days.map(|d| d.to_string()).unwrap_or_else(|| "-".into())),
    ];
    if wide {
        cells.push(Cell::from(clean(r.team.as_deref().unwrap_or("-"))));
        cells.push(Cell::from(clean(
            r.allocated_to.as_deref().unwrap_or("UNALLOCATED"),
        )));
    }
    Row::new(cells)
}

/// Parses `typed` leniently into `applied` (the terms that parse) and `error` (the first that
/// does not, in words), for every table with a `/` filter. Whether `applied` changed.
pub fn apply_typed_filter(
    typed: &str,
    applied: &mut CaseFilter,
    error: &mut Option<String>,
) -> bool {
    let (f, e) = crate::filter::parse_lenient(typed);
    *error = e.map(|e| e.to_string());
    if f == *applied {
        return false;
    }
    *applied = f;
    true
}
