//! A PDU: its header, status and trend, and six tabs (the Today worklist, four case lists,
//! staffing).

use crate::store::read::CaseList;

/// The PDU view's tabs: what to do first this morning, the four case lists, staffing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    /// The PDU's ranked worklist.
    #[default]
    Today,
    Unallocated,
    Mappa,
    OversightOverdue,
    ContactsOverdue,
    Staffing,
}

impl Tab {
    pub const ALL: [Tab; 6] = [
        Tab::Today,
        Tab::Unallocated,
        Tab::Mappa,
        Tab::OversightOverdue,
        Tab::ContactsOverdue,
        Tab::Staffing,
    ];

    /// Its place in the row of tabs, from 0 (its number key is one more).
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(i: usize) -> Option<Tab> {
        Tab::ALL.get(i).copied()
    }

    pub fn title(self) -> &'static str {
        match self {
            Tab::Today => "Today",
            Tab::Staffing => "Staffing",
            t => t.list().map_or("", CaseList::title),
        }
    }

    /// The title on a narrow screen.
    pub fn short_title(self) -> &'static str {
        match self {
            Tab::Today => "Today",
            Tab::Unallocated => "Unal",
            Tab::Mappa => "MAPPA",
            Tab::OversightOverdue => "Ovsgt",
            Tab::ContactsOverdue => "Cont",
            Tab::Staffing => "Staff",
        }
    }

    /// The case list the tab shows, if it shows one.
    pub fn list(self) -> Option<CaseList> {
        match self {
            Tab::Unallocated => Some(CaseList::Unallocated),
            Tab::Mappa => Some(CaseList::Mappa),
            Tab::OversightOverdue => Some(CaseList::OversightOverdue),
            Tab::ContactsOverdue => Some(CaseList::ContactsOverdue),
            Tab::Today | Tab::Staffing => None,
        }
    }

    pub fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    pub fn prev(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }
}

/// Where a case list's table is kept in [`crate::tui::app::Model`]'s tables.
pub fn list_index(list: CaseList) -> usize {
    match list {
        CaseList::Unallocated => 0,
        CaseList::Mappa => 1,
        CaseList::OversightOverdue => 2,
        CaseList::ContactsOverdue => 3,
    }
}
