//! The worker on a PostgreSQL database: the screen reads a working copy in memory of what
//! the login may read (`PgStore::pull_into`), so that every view is the one the SQLite file
//! gets; writes go to the server, in its transactions and under its row-level security; and
//! a notification from the server wakes the worker to catch up: the server's change log says
//! which cases changed since the copy's snapshot, and only those are read again
//! (`PgStore::catch_up`). A second thread listens; when its connection drops it says so,
//! keeps trying, and once back the worker catches up the same way, so that changes made
//! while no notification could be heard are not missed.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::worker::{Env, Failure, Lists, Request, Response, answer_first, coalesced, perform_on};
use crate::store::Store;
use crate::store::pg::{Listener, PgStore};

/// How often the worker looks for news from the listener between requests.
const LIVE_POLL: Duration = Duration::from_millis(100);
/// How long the listener waits for a notification before looking at its connection again.
const LISTEN_WAIT: Duration = Duration::from_millis(500);
/// How long the listener waits between attempts to reconnect.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// What the listener tells the worker.
#[derive(Debug)]
enum News {
    /// Something changed on the server (the change log says what).
    Changed,
    /// The connection dropped: why, in words.
    Lost(String),
    /// Connected again: whatever happened meanwhile was not heard.
    Back,
}

/// The server the worker runs on, and the file its working copy is kept in, if any.
pub struct On {
    pub url: String,
    pub kept: Option<std::path::PathBuf>,
}

/// A working copy read afresh (in memory), or the kept one brought up to date: the copy,
/// and the PDUs the login may read.
fn pull(pg: &mut PgStore, on: &On) -> Result<(Store, Vec<String>), String> {
    if let Some(kept) = &on.kept {
        let copy = pg.kept_copy(kept).map_err(|e| e.to_string())?;
        return Ok((copy.store.named(pg.url()), copy.readable));
    }
    let mut store = crate::store::empty_in_memory().map_err(|e| e.to_string())?;
    let pulled = pg.pull_into(&mut store).map_err(|e| e.to_string())?;
    Ok((store.named(pg.url()), pulled.readable))
}

/// The worker's own connection, opened again if it was lost.
fn connected<'a>(pg: &'a mut Option<PgStore>, url: &str) -> Result<&'a mut PgStore, String> {
    if pg.as_mut().is_none_or(PgStore::is_gone) {
        *pg = None;
        *pg = Some(PgStore::open(url).map_err(|e| e.reason())?);
    }
    pg.as_mut().ok_or_else(|| "not connected".to_string())
}

/// Runs the worker on the server `on` names until the request channel closes.
pub fn run(
    on: On,
    mut env: Env,
    actor: String,
    requests: Receiver<Request>,
    responses: UnboundedSender<Response>,
) {
    // Listening starts before the first read, so no change falls between the two.
    let (news_tx, news) = std::sync::mpsc::channel();
    {
        let url = on.url.clone();
        std::thread::spawn(move || listen(&url, &news_tx));
    }
    let mut pg = None;
    let first = connected(&mut pg, &on.url).and_then(|pg| pull(pg, &on));
    let mut store = match first {
        Ok((store, readable)) => {
            env.readable = Some(readable);
            store
        }
        Err(e) => {
            let _ = responses.send(Response::Fatal(e));
            return;
        }
    };
    let mut lists = Lists::default();
    loop {
        let first = match requests.recv_timeout(LIVE_POLL) {
            Ok(r) => Some(r),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // Anything heard (a change anywhere: the region's tallies are every login's), or
        // back after a drop: catch up from the server's change log.
        let mut heard = false;
        let mut back = false;
        while let Ok(n) = news.try_recv() {
            match n {
                News::Changed => heard = true,
                News::Lost(e) => {
                    let said = format!(
                        "lost the connection to the server: showing what was last read; \
                         reconnecting ({e})"
                    );
                    if responses.send(Response::Live(said)).is_err() {
                        return;
                    }
                }
                News::Back => back = true,
            }
        }
        if heard || back {
            let started = Instant::now();
            let result = catch_up(&mut pg, &on, &mut store, &mut env);
            // Another PDU's change is not this login's news: only the region's figures move,
            // so the views are read again without a word.
            let why = match (&result, back) {
                (_, true) => Some("reconnected to the server: caught up".to_string()),
                (Ok(pdus), false) => {
                    let ours: Vec<&str> = pdus
                        .iter()
                        .filter(|c| env.readable.as_ref().is_none_or(|r| r.contains(c)))
                        .map(String::as_str)
                        .collect();
                    match (ours.is_empty(), pdus.is_empty()) {
                        (false, _) => Some(format!(
                            "changed on the server ({}): refreshed",
                            ours.join(", ")
                        )),
                        (true, true) => Some("changed on the server: refreshed".to_string()),
                        (true, false) => None,
                    }
                }
                (Err(_), false) => None,
            };
            let took = started.elapsed().as_millis();
            let said = match result {
                Ok(_) => {
                    lists.clear();
                    Response::Refreshed(why.map(|why| format!("{why} in {took} ms")))
                }
                Err(e) => Response::Live(format!(
                    "cannot read the server: {e}; showing what was last read"
                )),
            };
            if responses.send(said).is_err() {
                return;
            }
        }
        let Some(first) = first else { continue };
        for r in coalesced(first, &requests) {
            let answer = match r {
                Request::Act(act) => act_on_server(&mut pg, &on, &mut env, &actor, act, &mut store),
                r => {
                    let (answer, fill) = answer_first(&store, &env, &mut lists, r);
                    if responses.send(answer).is_err() {
                        return;
                    }
                    if let Some(fill) = fill {
                        fill.store(store.db());
                    }
                    continue;
                }
            };
            // What the screen reads next must show the write: the copy is read afresh
            // before the answer goes back.
            lists.clear();
            if responses.send(answer).is_err() {
                return;
            }
        }
    }
}

/// One write on the server; on success the working copy is read afresh.
fn act_on_server(
    pg: &mut Option<PgStore>,
    on: &On,
    env: &mut Env,
    actor: &str,
    act: super::worker::Act,
    store: &mut Store,
) -> Response {
    let server = match connected(pg, &on.url) {
        Ok(p) => p,
        Err(e) => return Response::Acted(Err(Failure::Database(format!("nothing written: {e}")))),
    };
    let answer = perform_on(server, env, actor, act, |s, actor, id| {
        crate::actions::undo(s, actor, id)
    });
    let wrote = matches!(answer, Response::Acted(Ok(_)) | Response::Silenced(Ok(_)));
    if wrote {
        // The write (and whatever else changed) comes back by the change log.
        let _ = catch_up(pg, on, store, env);
    }
    answer
}

/// Brings the working copy up to date from the server's change log, or reads it afresh when
/// it cannot be caught up. Gives the PDUs that changed.
fn catch_up(
    pg: &mut Option<PgStore>,
    on: &On,
    store: &mut Store,
    env: &mut Env,
) -> Result<Vec<String>, String> {
    let server = connected(pg, &on.url)?;
    match server.catch_up(store).map_err(|e| e.to_string())? {
        Some(caught) => Ok(caught.pdus),
        None => {
            if on.kept.is_some() {
                // The kept file is about to be replaced: its connection goes first.
                *store = crate::store::empty_in_memory().map_err(|e| e.to_string())?;
            }
            let (fresh, readable) = pull(server, on)?;
            *store = fresh;
            env.readable = Some(readable);
            Ok(Vec::new())
        }
    }
}

/// Listens for the server's notifications and passes them on, reconnecting when the
/// connection drops; returns once the worker has gone.
fn listen(url: &str, news: &Sender<News>) {
    let mut listener: Option<Listener> = None;
    let mut lost = false;
    loop {
        let Some(l) = listener.as_mut() else {
            match Listener::start(url) {
                Ok(l) => {
                    listener = Some(l);
                    if std::mem::take(&mut lost) && news.send(News::Back).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    if !std::mem::replace(&mut lost, true)
                        && news.send(News::Lost(e.reason())).is_err()
                    {
                        return;
                    }
                    std::thread::sleep(RECONNECT_EVERY);
                }
            }
            continue;
        };
        match l.next(LISTEN_WAIT) {
            Ok(codes) if codes.is_empty() => {}
            Ok(_) => {
                if news.send(News::Changed).is_err() {
                    return;
                }
            }
            Err(e) => {
                listener = None;
                lost = true;
                if news.send(News::Lost(e.reason())).is_err() {
                    return;
                }
            }
        }
    }
}
