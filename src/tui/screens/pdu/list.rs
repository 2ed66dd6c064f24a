//! A window of one of a PDU's risk lists, paged from the worker (which keeps the list built,
//! see `worker::Lists`), with the case tables' filter and its own place. The two tabs that
//! show one (`risk.rs`, `release.rs`) draw its rows.

use crate::filter::CaseFilter;
use crate::risk_lists::{CheckRow, Listed, ReleaseRow, RiskList};
use crate::store::read::Page;
use crate::tui::app::{Gens, Slot};
use crate::tui::screens::visible_rows;
use crate::tui::worker::{Failure, Request};

/// A row of a risk list: the case it is about.
pub trait ListRow {
    fn case(&self) -> &Listed;
}

impl ListRow for CheckRow {
    fn case(&self) -> &Listed {
        &self.case
    }
}

impl ListRow for ReleaseRow {
    fn case(&self) -> &Listed {
        &self.case
    }
}

/// A window of a risk list.
#[derive(Debug, Clone)]
pub struct ListTable<T> {
    pub total: Option<u64>,
    /// Absolute index of the selected row.
    pub selected: u64,
    /// Absolute index of the first row on screen.
    pub scroll: u64,
    /// The rows loaded, starting at `loaded_offset`.
    pub loaded_offset: u64,
    pub rows: Vec<T>,
    /// The filter as typed.
    pub filter: String,
    /// The terms of `filter` that parse: what the rows show.
    pub applied: CaseFilter,
    /// The first term of `filter` that does not parse, and why, in words.
    pub filter_error: Option<String>,
    pub loading: bool,
    pub error: Option<String>,
}

impl<T> Default for ListTable<T> {
    fn default() -> Self {
        ListTable {
            total: None,
            selected: 0,
            scroll: 0,
            loaded_offset: 0,
            rows: Vec::new(),
            filter: String::new(),
            applied: CaseFilter::default(),
            filter_error: None,
            loading: false,
            error: None,
        }
    }
}

impl<T: ListRow> ListTable<T> {
    /// Asks for the window around the visible rows, unless it is loaded (or always, with
    /// `force`): a page above and a page below too, so that a page's move shows at once.
    pub fn request(
        &mut self,
        pdu: &str,
        list: RiskList,
        force: bool,
        gens: &mut Gens,
        height: u16,
    ) -> Option<Request> {
        let page = visible_rows(height);
        let want_end = self.scroll + page;
        let have_end = self.loaded_offset + self.rows.len() as u64;
        let covered = self.scroll >= self.loaded_offset
            && (want_end <= have_end || self.total.is_some_and(|n| have_end >= n));
        if covered && !force && self.total.is_some() {
            return None;
        }
        let generation = gens.stamp(Slot::List(list));
        self.loading = true;
        Some(Request::ListPage {
            generation,
            pdu: pdu.to_string(),
            list,
            filter: self.applied.clone(),
            offset: self.scroll.saturating_sub(page),
            limit: page * 3,
        })
    }

    pub fn loaded(&mut self, result: Result<Page<T>, Failure>) {
        self.loading = false;
        match result {
            Ok(p) => {
                self.error = None;
                self.total = Some(p.total);
                self.loaded_offset = p.offset;
                self.rows = p.rows;
                if self.selected >= p.total {
                    self.selected = p.total.saturating_sub(1);
                }
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    pub fn row(&self, i: u64) -> Option<&T> {
        i.checked_sub(self.loaded_offset)
            .and_then(|k| self.rows.get(k as usize))
    }

    pub fn selected_row(&self) -> Option<&T> {
        self.row(self.selected)
    }

    pub fn selected_crn(&self) -> Option<String> {
        self.selected_row().map(|r| r.case().crn.clone())
    }
}

impl<T> ListTable<T> {
    /// Keeps the selected row among the `page` rows on screen.
    pub fn clamp_scroll(&mut self, page: u64) {
        if self.selected < self.scroll {
            self.scroll = self.selected;
        } else if self.selected >= self.scroll + page {
            self.scroll = self.selected + 1 - page;
        }
    }

    /// What is kept while its PDU is not on screen: the filter and the place, not the rows.
    pub fn kept(self) -> ListTable<T> {
        ListTable {
            selected: self.selected,
            scroll: self.scroll,
            filter: self.filter,
            applied: self.applied,
            filter_error: self.filter_error,
            ..ListTable::default()
        }
    }

    /// Reads the typed filter: applies the terms that parse, names the first that does not.
    /// Whether the applied filter changed.
    pub fn apply_filter(&mut self) -> bool {
        super::cases::apply_typed_filter(&self.filter, &mut self.applied, &mut self.filter_error)
    }

    /// Clears the filter; whether there was one to clear.
    pub fn clear_filter(&mut self) -> bool {
        let had = !self.filter.is_empty() || !self.applied.is_empty();
        self.filter.clear();
        self.filter_error = None;
        if !self.applied.is_empty() {
            self.applied = CaseFilter::default();
            self.selected = 0;
            self.scroll = 0;
        }
        had
    }

    /// Why the list is empty, in words.
    pub fn empty_words(&self, none: &str) -> String {
        if self.applied.is_empty() {
            none.to_string()
        } else if self.filter_error.is_some() {
            "No cases match the filter's good terms (see the filter line).".into()
        } else {
            format!(
                "No cases match the filter '{}'.",
                crate::tui::widgets::clean(&self.filter)
            )
        }
    }
}
