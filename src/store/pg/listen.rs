//! Live refresh, the client's half: a connection that listens on `casewatch` and hands back
//! the PDU codes the server's notifications name (`*` for a change that names none).

use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::{PgError, PgStore, reason};

/// A connection kept for `LISTEN casewatch`, and nothing else.
pub struct Listener {
    store: PgStore,
}

impl Listener {
    /// Connects and starts listening: notifications sent before this returns are not heard,
    /// so a caller that has been away reads afresh after it (see `tui::worker`).
    pub fn start(url: &str) -> Result<Listener, PgError> {
        let mut store = PgStore::connect(url)?;
        store
            .client
            .batch_execute("LISTEN casewatch")
            .map_err(|e| store.server_error(e))?;
        Ok(Listener { store })
    }

    /// Waits up to `wait` for notifications, then takes every one that has arrived: the PDU
    /// codes they name, each once. An error means the connection is gone.
    pub fn next(&mut self, wait: Duration) -> Result<Vec<String>, PgError> {
        let url = self.store.url.clone();
        let fail = |e: postgres::Error| PgError::Server {
            url: url.clone(),
            reason: reason(&e),
        };
        let mut codes: Vec<String> = Vec::new();
        let first = {
            let mut n = self.store.client.notifications();
            n.timeout_iter(wait).next().map_err(fail)?
        };
        if let Some(first) = first {
            codes.push(first.payload().to_string());
            // What came with it, without waiting again.
            let mut n = self.store.client.notifications();
            let mut rest = n.iter();
            while let Some(m) = rest.next().map_err(fail)? {
                codes.push(m.payload().to_string());
            }
        }
        if self.store.client.is_closed() {
            return Err(PgError::Server {
                url,
                reason: "the connection was closed".into(),
            });
        }
        codes.sort();
        codes.dedup();
        Ok(codes)
    }
}
