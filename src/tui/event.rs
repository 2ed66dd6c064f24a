//! The contract between the app and its parts (screens and popups): whether a part used an
//! event, and what it asks of the app besides changing its own state.

use chrono::NaiveDate;

use super::app::Gens;
use super::screens::pdu::Tab;
use super::worker::Request;

/// Whether a part used an event. One it did not use is the app's to handle: Esc that a form
/// does not take closes it, Back that a screen does not take goes back a screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventState {
    Consumed,
    NotConsumed,
}

impl EventState {
    pub fn is_consumed(self) -> bool {
        self == EventState::Consumed
    }
}

/// A screen a part asks the app to open over the current one.
#[derive(Debug, Clone, PartialEq)]
pub enum Go {
    Pdu {
        code: String,
        name: String,
        tab: Tab,
    },
    Case(String),
    Members(String),
}

/// What a part's update may use besides its own state (the request generations, the size
/// of the screen, whether names are masked, the date, the status line), and what it asks of
/// the app: queries, a screen to open.
pub struct Ctx<'a> {
    pub gens: &'a mut Gens,
    pub message: &'a mut Option<String>,
    pub size: (u16, u16),
    pub mask: bool,
    pub as_of: NaiveDate,
    pub requests: Vec<Request>,
    pub go: Option<Go>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        gens: &'a mut Gens,
        message: &'a mut Option<String>,
        size: (u16, u16),
        mask: bool,
        as_of: NaiveDate,
    ) -> Self {
        Ctx {
            gens,
            message,
            size,
            mask,
            as_of,
            requests: Vec::new(),
            go: None,
        }
    }

    /// Puts words on the status line.
    pub fn say(&mut self, words: impl Into<String>) {
        *self.message = Some(words.into());
    }

    /// Queues queries to run.
    pub fn ask(&mut self, requests: impl IntoIterator<Item = Request>) {
        self.requests.extend(requests);
    }
}
