//! The triage screen. This module alone owns the terminal (raw mode and the alternate screen,
//! held by a guard that puts them back when dropped) and runs the event loop; `app` holds the
//! model and update, `view` draws, `worker` queries.

pub mod app;
pub mod event;
pub mod keymap;
pub mod live;
pub mod popups;
pub mod region;
pub mod screens;
pub mod view;
pub mod widgets;
pub mod worker;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use crossterm::event::Event;
use crossterm::{cursor, execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;

use app::{Model, Msg};

/// What the TUI needs to start.
pub struct Options {
    pub db: PathBuf,
    pub eval: crate::context::Evaluation,
    pub color: bool,
    /// Names shown as initials.
    pub mask: bool,
    /// Who is acting, for the audit trail.
    pub actor: String,
    /// On PostgreSQL, the file the working copy is kept in between runs, if any.
    pub working_copy: Option<PathBuf>,
}

/// Puts the terminal back: raw mode off, alternate screen left, cursor shown. Safe to call
/// more than once.
pub fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let mut out = std::io::stdout();
    let _ = execute!(out, terminal::LeaveAlternateScreen, cursor::Show);
    let _ = out.flush();
}

/// The terminal in raw mode on the alternate screen, for as long as the guard lives: dropping
/// it puts the terminal back, on every way out of [`run`] (a quit, a signal, an error, a
/// panic unwinding). The panic hook restores too, before the message is printed.
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> Result<TerminalGuard> {
        terminal::enable_raw_mode().context("cannot switch the terminal to raw mode")?;
        // From here on, whatever fails, the drop restores.
        let guard = TerminalGuard;
        execute!(
            std::io::stdout(),
            terminal::EnterAlternateScreen,
            cursor::Hide
        )
        .context("cannot enter the alternate screen")?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Whether this process can run a full-screen UI at all.
pub fn check_terminal() -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "the triage screen needs a terminal; for scripts use `casewatch summary` (see --help)"
        );
    }
    if std::env::var("TERM").is_ok_and(|t| t == "dumb") {
        anyhow::bail!(
            "TERM=dumb cannot show the triage screen; use `casewatch summary` or another terminal"
        );
    }
    Ok(())
}

/// Runs the TUI until the user quits or a signal arrives.
pub fn run(opts: Options) -> Result<()> {
    check_terminal()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Restore the terminal before any panic message is printed.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        default_hook(info);
    }));
    let guard = TerminalGuard::enter()?;
    let result = rt.block_on(event_loop(opts));
    // The terminal first, then the runtime.
    drop(guard);
    // Dropping the runtime would wait for the blocked key reader; leave it to process exit.
    rt.shutdown_background();
    result
}

async fn event_loop(opts: Options) -> Result<()> {
    let backend = CrosstermBackend::new(std::io::stdout());
    let mut terminal = Terminal::new(backend).context("cannot draw on this terminal")?;
    let size = terminal.size().context("cannot read the terminal size")?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();

    // Keys and resizes: crossterm's read blocks, so it gets its own thread.
    let key_tx = tx.clone();
    std::thread::spawn(move || {
        loop {
            match crossterm::event::read() {
                Ok(Event::Key(k)) => {
                    if key_tx.send(Msg::Key(k)).is_err() {
                        return;
                    }
                }
                Ok(Event::Resize(w, h)) => {
                    if key_tx.send(Msg::Resize(w, h)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });

    // Queries: a blocking task with its own connection.
    let (req_tx, req_rx) = std::sync::mpsc::channel::<worker::Request>();
    let (resp_tx, mut resp_rx) = mpsc::unbounded_channel();
    let cfg = worker::Config {
        db: opts.db.clone(),
        env: worker::Env {
            me: opts.eval.policy.staff_code_of(&opts.actor),
            readable: None,
            eval: opts.eval.clone(),
        },
        actor: opts.actor.clone(),
        working_copy: opts.working_copy.clone(),
    };
    let worker = tokio::task::spawn_blocking(move || {
        worker::run(cfg, req_rx, resp_tx);
    });
    let fwd_tx = tx.clone();
    tokio::spawn(async move {
        while let Some(r) = resp_rx.recv().await {
            if fwd_tx.send(Msg::Loaded(r)).is_err() {
                return;
            }
        }
    });

    // SIGTERM and SIGHUP end the session cleanly, like q.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;

    let mut model = Model::new(
        // A URL is shown without its password.
        crate::store::pg::redacted(&opts.db.display().to_string()),
        opts.eval.as_of,
        opts.color,
        (size.width, size.height),
    );
    model.mask = opts.mask;
    for r in model.refresh() {
        let _ = req_tx.send(r);
    }
    terminal.draw(|f| view::view(&model, f))?;
    loop {
        let msg = tokio::select! {
            m = rx.recv() => m,
            _ = term.recv() => break,
            _ = hup.recv() => break,
        };
        let Some(msg) = msg else { break };
        let mut requests = model.update(msg);
        // Apply everything already waiting before drawing once.
        while let Ok(m) = rx.try_recv() {
            requests.extend(model.update(m));
        }
        for r in requests {
            let _ = req_tx.send(r);
        }
        if model.quit {
            break;
        }
        terminal.draw(|f| view::view(&model, f))?;
    }
    drop(req_tx);
    worker.abort();
    Ok(())
}
