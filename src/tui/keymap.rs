//! The keymap as data: the same table decides what a key does, draws the key-hint bar and
//! generates the help overlay, so they cannot disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the user asked for, independent of which key they pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Open,
    Back,
    Filter,
    Refresh,
    NextTab,
    PrevTab,
    Tab(u8),
    Sort,
    ReverseSort,
    NextRegion,
    Allocate,
    Oversight,
    Note,
    Undo,
    Mask,
    ShowAlerts,
    Acknowledge,
    Silence,
    Widen,
    Export,
    /// The MAPPA tab: only unallocated cases, or all.
    UnallocatedOnly,
    /// The Support tab: people, or disproportionality by group.
    Groups,
    /// A chart of the PDU's tested figures over the recorded nights.
    Chart,
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Overview,
    Pdu,
    Case,
    Alerts,
    /// One incident's member alerts.
    Members,
}

#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}
const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}
const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

pub struct Binding {
    pub keys: &'static [Key],
    /// How the keys are written in help and hints.
    pub label: &'static str,
    pub action: Action,
    /// The screens where the binding works.
    pub context: &'static [Context],
    pub help: &'static str,
    /// Shown in the one-line hint bar.
    pub hint: bool,
}

const ALL: &[Context] = &[
    Context::Overview,
    Context::Pdu,
    Context::Case,
    Context::Alerts,
    Context::Members,
];
/// Lists filtered by text alone (a PDU's case tables take column terms too).
const TEXT_LISTS: &[Context] = &[Context::Overview, Context::Alerts];
const OPENABLE: &[Context] = &[
    Context::Overview,
    Context::Pdu,
    Context::Alerts,
    Context::Members,
];
const TABLES: &[Context] = &[Context::Overview, Context::Pdu];
const ALERTS: &[Context] = &[Context::Alerts, Context::Members];
const INCIDENTS: &[Context] = &[Context::Alerts];
const PDU: &[Context] = &[Context::Pdu];
const OVERVIEW: &[Context] = &[Context::Overview];
const CASES: &[Context] = &[Context::Pdu, Context::Case];

pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[code(KeyCode::Down), k('j')],
        label: "j/↓",
        action: Action::Down,
        context: ALL,
        help: "move down",
        hint: false,
    },
    Binding {
        keys: &[code(KeyCode::Up), k('k')],
        label: "k/↑",
        action: Action::Up,
        context: ALL,
        help: "move up",
        hint: false,
    },
    Binding {
        keys: &[k('g'), code(KeyCode::Home)],
        label: "g",
        action: Action::Top,
        context: ALL,
        help: "first row",
        hint: false,
    },
    Binding {
        keys: &[k('G'), code(KeyCode::End)],
        label: "G",
        action: Action::Bottom,
        context: ALL,
        help: "last row",
        hint: false,
    },
    Binding {
        keys: &[code(KeyCode::PageDown), ctrl('d')],
        label: "PgDn",
        action: Action::PageDown,
        context: ALL,
        help: "page down",
        hint: false,
    },
    Binding {
        keys: &[code(KeyCode::PageUp), ctrl('u')],
        label: "PgUp",
        action: Action::PageUp,
        context: ALL,
        help: "page up",
        hint: false,
    },
    Binding {
        keys: &[code(KeyCode::Enter)],
        label: "Enter",
        action: Action::Open,
        context: OPENABLE,
        help: "open the selected PDU, case, or an incident's alerts",
        hint: true,
    },
    Binding {
        keys: &[code(KeyCode::Esc), code(KeyCode::Backspace)],
        label: "Esc",
        action: Action::Back,
        context: ALL,
        help: "back (or clear the filter)",
        hint: true,
    },
    Binding {
        keys: &[
            k('1'),
            k('2'),
            k('3'),
            k('4'),
            k('5'),
            k('6'),
            k('7'),
            k('8'),
            k('9'),
        ],
        label: "1-9",
        action: Action::Tab(0),
        context: PDU,
        help: "the PDU's tabs, as numbered below",
        hint: true,
    },
    Binding {
        keys: &[code(KeyCode::Tab)],
        label: "Tab",
        action: Action::NextTab,
        context: PDU,
        help: "next tab",
        hint: false,
    },
    Binding {
        keys: &[code(KeyCode::BackTab)],
        label: "S-Tab",
        action: Action::PrevTab,
        context: PDU,
        help: "previous tab",
        hint: false,
    },
    Binding {
        keys: &[k('/')],
        label: "/",
        action: Action::Filter,
        context: TEXT_LISTS,
        help: "filter; Enter keeps it, Esc clears it",
        hint: true,
    },
    Binding {
        keys: &[k('/')],
        label: "/",
        action: Action::Filter,
        context: PDU,
        help: "filter the cases (terms below); Enter keeps it, Esc clears it",
        hint: true,
    },
    Binding {
        keys: &[k('v')],
        label: "v",
        action: Action::Groups,
        context: PDU,
        help: "Support: by group",
        hint: false,
    },
    Binding {
        keys: &[k('c')],
        label: "c",
        action: Action::Chart,
        context: PDU,
        help: "chart the PDU's figures",
        hint: false,
    },
    Binding {
        keys: &[k('U')],
        label: "U",
        action: Action::UnallocatedOnly,
        context: PDU,
        help: "MAPPA tab: unallocated cases only, or all",
        hint: false,
    },
    Binding {
        keys: &[k('s')],
        label: "s",
        action: Action::Sort,
        context: TABLES,
        help: "next sort column",
        hint: true,
    },
    Binding {
        keys: &[k('S')],
        label: "S",
        action: Action::ReverseSort,
        context: TABLES,
        help: "reverse the sort",
        hint: false,
    },
    Binding {
        keys: &[k('R')],
        label: "R",
        action: Action::NextRegion,
        context: OVERVIEW,
        help: "next region (when the database holds more than one)",
        hint: false,
    },
    Binding {
        keys: &[k('a')],
        label: "a",
        action: Action::Allocate,
        context: CASES,
        help: "allocate or reallocate the case",
        hint: true,
    },
    Binding {
        keys: &[k('o')],
        label: "o",
        action: Action::Oversight,
        context: CASES,
        help: "record management oversight of the case",
        hint: true,
    },
    Binding {
        keys: &[k('n')],
        label: "n",
        action: Action::Note,
        context: CASES,
        help: "add a note to the case",
        hint: true,
    },
    Binding {
        keys: &[k('u')],
        label: "u",
        action: Action::Undo,
        context: ALL,
        help: "undo your last action (for 10 minutes)",
        hint: false,
    },
    Binding {
        keys: &[k('m')],
        label: "m",
        action: Action::Mask,
        context: ALL,
        help: "mask names as initials (shared spaces)",
        hint: false,
    },
    Binding {
        keys: &[k('!')],
        label: "!",
        action: Action::ShowAlerts,
        context: ALL,
        help: "incidents, worst first (of this PDU when opened from one)",
        hint: true,
    },
    Binding {
        keys: &[k('w')],
        label: "w",
        action: Action::Widen,
        context: INCIDENTS,
        help: "widen to the whole region, or back to the PDU",
        hint: true,
    },
    Binding {
        keys: &[k('A')],
        label: "A",
        action: Action::Acknowledge,
        context: ALERTS,
        help: "acknowledge the selected incident or alert with a note",
        hint: true,
    },
    Binding {
        keys: &[k('S')],
        label: "S",
        action: Action::Silence,
        context: ALERTS,
        help: "silence the incident (or the case's alert) until a date",
        hint: true,
    },
    Binding {
        keys: &[k('e')],
        label: "e",
        action: Action::Export,
        context: TABLES,
        help: "export the table as shown (filter, sort, masking) to a CSV",
        hint: false,
    },
    Binding {
        keys: &[k('r'), code(KeyCode::F(5))],
        label: "r",
        action: Action::Refresh,
        context: ALL,
        help: "refresh from the database",
        hint: false,
    },
    Binding {
        keys: &[k('?'), code(KeyCode::F(1))],
        label: "?",
        action: Action::Help,
        context: ALL,
        help: "this help",
        hint: true,
    },
    Binding {
        keys: &[k('q'), ctrl('c')],
        label: "q",
        action: Action::Quit,
        context: ALL,
        help: "quit (Ctrl-c too)",
        hint: true,
    },
];

impl Binding {
    /// One word for the key-hint bar, which must fit 80 columns.
    pub fn short(&self) -> &'static str {
        match self.action {
            Action::Open => "open",
            Action::Back => "back",
            Action::Tab(_) => "tabs",
            Action::Filter => "filter",
            Action::Sort => "sort",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::Allocate => "allocate",
            Action::Oversight => "oversight",
            Action::Note => "note",
            Action::ShowAlerts => "alerts",
            Action::Acknowledge => "ack",
            Action::Silence => "silence",
            Action::Widen => "widen",
            _ => self.help,
        }
    }
}

fn matches(key: &Key, ev: &KeyEvent) -> bool {
    // Shift arrives with upper-case letters on some terminals and not on others.
    let mods = ev.modifiers - KeyModifiers::SHIFT;
    let want = key.mods - KeyModifiers::SHIFT;
    key.code == ev.code && mods == want
}

/// The action a key stands for in this context, if any.
pub fn action_for(ev: &KeyEvent, ctx: Context) -> Option<Action> {
    for b in BINDINGS {
        if !b.context.contains(&ctx) {
            continue;
        }
        if let Some(i) = b.keys.iter().position(|key| matches(key, ev)) {
            return Some(match b.action {
                Action::Tab(_) => Action::Tab(i as u8),
                a => a,
            });
        }
    }
    None
}

/// Bindings that apply in a context, in table order.
pub fn bindings_for(ctx: Context) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.context.contains(&ctx))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn number_keys_pick_their_tab_only_in_a_pdu() {
        assert_eq!(
            action_for(&ev(KeyCode::Char('3')), Context::Pdu),
            Some(Action::Tab(2))
        );
        assert_eq!(action_for(&ev(KeyCode::Char('3')), Context::Overview), None);
        // The risk lists' tabs.
        assert_eq!(
            action_for(&ev(KeyCode::Char('8')), Context::Pdu),
            Some(Action::Tab(7))
        );
        assert_eq!(
            action_for(&ev(KeyCode::Char('9')), Context::Pdu),
            Some(Action::Tab(8))
        );
        assert_eq!(action_for(&ev(KeyCode::Char('0')), Context::Pdu), None);
    }

    #[test]
    fn capital_u_toggles_unallocated_only_and_small_u_still_undoes() {
        let shifted = KeyEvent::new(KeyCode::Char('U'), KeyModifiers::SHIFT);
        assert_eq!(
            action_for(&shifted, Context::Pdu),
            Some(Action::UnallocatedOnly)
        );
        assert_eq!(
            action_for(&ev(KeyCode::Char('u')), Context::Pdu),
            Some(Action::Undo)
        );
        // Where U means nothing, it does nothing.
        assert_eq!(action_for(&shifted, Context::Overview), None);
    }

    #[test]
    fn no_key_means_two_things_on_one_screen() {
        for ctx in [
            Context::Overview,
            Context::Pdu,
            Context::Case,
            Context::Alerts,
            Context::Members,
        ] {
            let keys: Vec<(KeyCode, KeyModifiers)> = bindings_for(ctx)
                .flat_map(|b| {
                    b.keys
                        .iter()
                        .map(|k| (k.code, k.mods - KeyModifiers::SHIFT))
                })
                .collect();
            for (i, a) in keys.iter().enumerate() {
                assert!(!keys[i + 1..].contains(a), "{ctx:?}: {a:?} is bound twice");
            }
        }
    }

    #[test]
    fn ctrl_c_quits_and_plain_c_does_nothing() {
        let cc = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(&cc, Context::Overview), Some(Action::Quit));
        assert_eq!(action_for(&ev(KeyCode::Char('c')), Context::Overview), None);
    }

    #[test]
    fn capital_g_works_with_or_without_shift_reported() {
        let shifted = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(action_for(&shifted, Context::Pdu), Some(Action::Bottom));
        assert_eq!(
            action_for(&ev(KeyCode::Char('G')), Context::Pdu),
            Some(Action::Bottom)
        );
    }
}
