//! Command-line interface: runs the command the arguments name.
//!
//! [`args`] defines the arguments; one function per command does the work, grouped by theme
//! in `triage` (allocate, oversight, note, ack, audit), `alerts` (alerts, review, silence,
//! silences, unsilence) and `data` (demo, init, import, export, backup, check, summary).
//! The commands gather data, have [`crate::report`] turn it into text, and write it. This
//! module holds what they share: the resolved [`Settings`], opening the database for reading
//! or writing, the one writer to standard output, who is acting, and the words for a failed
//! write.

mod alerts;
pub mod args;
mod data;
mod triage;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use chrono::NaiveDate;

pub use args::{AlertFormat, Cli, Command, Format};

use crate::actions::{self, ActionError};
use crate::demo::{self, DemoOptions};
use crate::policy::Policy;
use crate::store::{OpenMode, Store};

/// Resolved global settings every command needs.
pub struct Settings {
    pub db: PathBuf,
    pub db_explicit: bool,
    /// Where a PostgreSQL database's working copy is kept between runs, if anywhere.
    pub working_copy: Option<PathBuf>,
    pub as_of: NaiveDate,
    pub policy: Policy,
}

impl Cli {
    fn context(&self) -> Result<Settings> {
        let policy_path = crate::config::user_override(
            self.policy.as_deref(),
            "--policy",
            "policy.toml",
            &mut warn,
        )?;
        let policy = Policy::load(policy_path.as_deref())?;
        Ok(Settings {
            db: self
                .db
                .clone()
                .unwrap_or_else(crate::config::default_db_path),
            db_explicit: self.db.is_some(),
            working_copy: self.working_copy.clone(),
            as_of: self
                .as_of
                .unwrap_or_else(|| chrono::Local::now().date_naive()),
            policy,
        })
    }
}

/// Opens the database for reading commands. The default database is created with demo
/// data on first run; an explicit path must exist.
pub fn open_for_reading(ctx: &Settings) -> Result<Store> {
    if let Some(url) = ctx.db.to_str().filter(|d| crate::store::pg::is_url(d)) {
        // What the login may read, copied into memory in one snapshot: every report then
        // reads the same models as on a file (see `store::pg::pull`).
        let mut pg = crate::store::pg::PgStore::open(url)?;
        if let Some(kept) = &ctx.working_copy {
            return kept_copy(&mut pg, kept);
        }
        let mut copy = crate::store::empty_in_memory()
            .map_err(|e| anyhow::anyhow!("cannot make the working copy in memory: {e}"))?;
        let pulled = pg.pull_into(&mut copy)?;
        say_readable(&copy, &pulled.readable);
        return Ok(copy.named(pg.url()));
    }
    if !ctx.db_explicit && !ctx.db.exists() {
        let opts = DemoOptions {
            cases: demo::DEFAULT_CASES,
            seed: demo::DEFAULT_SEED,
            anchor: ctx.as_of,
        };
        eprintln!(
            "casewatch: no database yet; creating a demo database of {} synthetic cases at {}",
            opts.cases,
            ctx.db.display()
        );
        demo::build(&ctx.db, &opts, false)?;
    }
    Ok(Store::open(&ctx.db, OpenMode::Existing)?)
}

/// Tells a login that reads only some PDUs' cases what the others show.
fn say_readable(copy: &Store, readable: &[String]) {
    let all = crate::store::read::regions(copy.db())
        .map(|r| r.iter().map(|x| x.1 as usize).sum::<usize>())
        .unwrap_or(0);
    if readable.len() < all {
        eprintln!(
            "casewatch: this login reads the cases of {} of the {all} PDUs ({}); the others \
             show the region's counts only, without their case-level checks",
            readable.len(),
            readable.join(", ")
        );
    }
}

/// The working copy kept in the file `kept` (see `PgStore::kept_copy`), saying on stderr
/// how it was brought up to date.
fn kept_copy(pg: &mut crate::store::pg::PgStore, kept: &Path) -> Result<Store> {
    use crate::store::pg::KeptHow;
    let copy = pg.kept_copy(kept)?;
    match &copy.how {
        KeptHow::CaughtUp(caught) => eprintln!(
            "casewatch: working copy {} caught up from the server: {} cases read again, \
             {} PDUs changed",
            kept.display(),
            caught.cases,
            caught.pdus.len()
        ),
        KeptHow::Afresh => eprintln!(
            "casewatch: working copy {} could not be caught up (another server or login, or \
             older than the server's change log): read afresh",
            kept.display()
        ),
        KeptHow::New => eprintln!("casewatch: working copy {} made", kept.display()),
    }
    if !matches!(copy.how, KeptHow::CaughtUp(_)) {
        say_readable(&copy.store, &copy.readable);
    }
    Ok(copy.store.named(pg.url()))
}

/// Writes a headless command's output to standard output: every command's goes through
/// here. On a terminal, strings from the database are shown with control characters, escape
/// sequences and bidi overrides made visible (as on the screen); to a file or a pipe they are
/// written as stored, byte for byte, so that CSV and JSON round-trip ([`TerminalSafe`]).
///
/// [`TerminalSafe`]: crate::text::TerminalSafe
fn to_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = crate::text::TerminalSafe::to(&stdout, std::io::BufWriter::new(stdout.lock()));
    match write(&mut out).and_then(|()| out.flush()) {
        // A closed pipe (`| head`) is not an error worth reporting.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| anyhow::anyhow!("cannot write to standard output: {}", io_why(&e))),
    }
}

fn write_stdout(s: &str) -> Result<()> {
    to_stdout(|w| w.write_all(s.as_bytes()))
}

/// Runs the command `cli` names (the triage screen if none) and gives its exit code; a failed
/// database write is said with the file and what it left behind.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = cli.context()?;
    dispatch(&cli, &ctx).map_err(|e| explain_write_failure(e, &cli, &ctx))
}

/// One function per command; with none, the triage screen.
fn dispatch(cli: &Cli, ctx: &Settings) -> Result<ExitCode> {
    if let Some(url) = ctx.db.to_str().filter(|d| crate::store::pg::is_url(d))
        && matches!(cli.command, Some(Command::Init))
    {
        anyhow::bail!(
            "{} is a PostgreSQL database: `init` creates a SQLite file; on a server, \
             `casewatch pg-init URL` creates the schema and roles",
            crate::store::pg::redacted(url)
        );
    }
    match &cli.command {
        None => screen(cli, ctx),
        Some(Command::Demo(a)) => data::demo(ctx, a),
        Some(Command::Init) => data::init(ctx),
        Some(Command::Allocate(a)) => triage::allocate(cli, ctx, a),
        Some(Command::Oversight(a)) => triage::oversight(cli, ctx, a),
        Some(Command::Note(a)) => triage::note(cli, ctx, a),
        Some(Command::Audit(a)) => triage::audit(ctx, a),
        Some(Command::Alerts(a)) => alerts::alerts(cli, ctx, a),
        Some(Command::Ack(a)) => triage::ack(cli, ctx, a),
        Some(Command::Silence(a)) => alerts::silence(cli, ctx, a),
        Some(Command::Silences(a)) => alerts::silences(ctx, a),
        Some(Command::Unsilence(a)) => alerts::unsilence(cli, ctx, a),
        Some(Command::Review(a)) => alerts::review(cli, ctx, a),
        Some(Command::Backup(a)) => data::backup(ctx, a),
        Some(Command::Check(a)) => data::check(ctx, a),
        Some(Command::Import(a)) => data::import(cli, ctx, a),
        Some(Command::Export(a)) => data::export(cli, ctx, a),
        Some(Command::Summary(a)) => data::summary(cli, ctx, a),
        Some(Command::Forecast(a)) => alerts::forecast(cli, ctx, a),
        Some(Command::Equity(a)) => alerts::equity(ctx, a),
        Some(Command::Chart(a)) => alerts::chart(cli, ctx, a),
        Some(Command::PgInit(a)) => data::pg_init(a),
        Some(Command::Copy(a)) => data::copy(a),
    }
}

/// With no command: the triage screen on the database.
fn screen(cli: &Cli, ctx: &Settings) -> Result<ExitCode> {
    crate::tui::check_terminal()?;
    // A broken rules file (or a warning about one) is printed before the screen
    // switches; nothing is written to stderr once it has.
    let eval = evaluation(cli, ctx)?;
    // Open (and on first run create) before the screen switches, so errors print
    // plainly.
    match ctx.db.to_str().filter(|d| crate::store::pg::is_url(d)) {
        Some(url) => drop(crate::store::pg::PgStore::open(url)?),
        None => drop(open_for_reading(ctx)?),
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    crate::tui::run(crate::tui::Options {
        db: ctx.db.clone(),
        eval,
        color: !(cli.no_color || no_color),
        mask: cli.mask,
        actor: actor(cli),
        working_copy: ctx.working_copy.clone(),
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The rules in force: defaults, overridden by the user's file. A broken file stops the run
/// with its line number; nothing is evaluated with half a rule set.
/// The policy, the rules in force and the as-of date, as one value.
fn evaluation(cli: &Cli, ctx: &Settings) -> Result<crate::context::Evaluation> {
    Ok(crate::context::Evaluation::new(
        ctx.policy.clone(),
        load_rules(cli)?,
        ctx.as_of,
    ))
}

fn load_rules(cli: &Cli) -> Result<crate::rules::Rules> {
    let user =
        crate::config::user_override(cli.rules.as_deref(), "--rules", "rules.toml", &mut warn)?;
    Ok(crate::rules::Rules::load(user.as_deref())?)
}

/// A warning on stderr, one line; only ever called before the triage screen starts.
fn warn(message: &str) {
    eprintln!("casewatch: warning: {message}");
}

fn actor(cli: &Cli) -> String {
    cli.actor
        .clone()
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(actions::os_user)
}

/// Opens an existing database for a write, refusing a read-only one up front.
fn open_for_writing(ctx: &Settings) -> Result<Store> {
    if let Some(url) = ctx.db.to_str().filter(|d| crate::store::pg::is_url(d)) {
        anyhow::bail!(
            "{}: this command writes a SQLite file only so far",
            crate::store::pg::redacted(url)
        );
    }
    let store = open_for_reading(ctx)?;
    if store.is_read_only() {
        return Err(ActionError::ReadOnly.into());
    }
    Ok(store)
}

/// Opens the database `--db` names for a triage write: a SQLite file (as
/// [`open_for_writing`]) or a PostgreSQL URL, the login's row-level security deciding which
/// cases it may write.
fn open_for_triage(ctx: &Settings) -> Result<crate::store::triage::AnyStore> {
    use crate::store::triage::AnyStore;
    match ctx.db.to_str().filter(|d| crate::store::pg::is_url(d)) {
        Some(url) => Ok(AnyStore::Postgres(crate::store::pg::PgStore::open(url)?)),
        None => Ok(AnyStore::Sqlite(open_for_writing(ctx)?)),
    }
}

/// Opens the database `--db` names for reading, on either backend.
fn open_any_for_reading(ctx: &Settings) -> Result<crate::store::triage::AnyStore> {
    use crate::store::triage::AnyStore;
    match ctx.db.to_str().filter(|d| crate::store::pg::is_url(d)) {
        Some(url) => Ok(AnyStore::Postgres(crate::store::pg::PgStore::open(url)?)),
        None => Ok(AnyStore::Sqlite(open_for_reading(ctx)?)),
    }
}

/// A failed statement said with the file (SQLite) or the server's words (PostgreSQL).
fn fault_error(ctx: &Settings, e: crate::store::triage::Fault) -> anyhow::Error {
    match e {
        crate::store::triage::Fault::Sqlite(e) => crate::store::classify(&ctx.db, e).into(),
        e => e.into(),
    }
}

fn action_error(e: ActionError, what: &str) -> anyhow::Error {
    match e {
        // Said with the file by `explain_write_failure`.
        ActionError::Sqlite(s) if write_failure(&s).is_some() => s.into(),
        ActionError::NeedsConfirmation(w) => {
            anyhow::anyhow!("{what} not done, nothing written: {w}. Pass --yes to go ahead")
        }
        e => anyhow::anyhow!("{what} refused, nothing written: {e}"),
    }
}

/// What kind of failed write a SQLite error is, if it is one: a full disk (or a quota or
/// file-size limit), or an I/O error other than a failed read.
fn write_failure(e: &rusqlite::Error) -> Option<&'static str> {
    let rusqlite::Error::SqliteFailure(f, _) = e else {
        return None;
    };
    match f.code {
        rusqlite::ErrorCode::DiskFull => {
            Some("the disk is full (or a quota or file size limit was reached)")
        }
        rusqlite::ErrorCode::SystemIoFailure
            if !matches!(
                f.extended_code,
                rusqlite::ffi::SQLITE_IOERR_READ | rusqlite::ffi::SQLITE_IOERR_SHORT_READ
            ) =>
        {
            Some(
                "the write failed (disk I/O error: the disk may be full, over a quota or file size limit, or failing)",
            )
        }
        _ => None,
    }
}

/// The SQLite error behind `e`, looking through the error types commands return.
fn sqlite_error(e: &anyhow::Error) -> Option<&rusqlite::Error> {
    use crate::store::StoreError;
    e.chain().find_map(|c| {
        if let Some(s) = c.downcast_ref::<rusqlite::Error>() {
            Some(s)
        } else if let Some(StoreError::Sqlite(_, s)) = c.downcast_ref::<StoreError>() {
            Some(s)
        } else if let Some(crate::demo::DemoError::Store(StoreError::Sqlite(_, s))) =
            c.downcast_ref()
        {
            Some(s)
        } else if let Some(crate::import::ImportError::Sqlite(s)) = c.downcast_ref() {
            Some(s)
        } else if let Some(ActionError::Sqlite(s)) = c.downcast_ref() {
            Some(s)
        } else if let Some(crate::export::ExportError::Sqlite(s)) = c.downcast_ref() {
            Some(s)
        } else {
            None
        }
    })
}

/// A database write that failed for lack of space or an I/O error, said in one line with
/// the file it was writing and what that left behind; any other error passes unchanged.
fn explain_write_failure(e: anyhow::Error, cli: &Cli, ctx: &Settings) -> anyhow::Error {
    let Some(why) = sqlite_error(&e).and_then(write_failure) else {
        return e;
    };
    let (file, left) = match &cli.command {
        // Reading commands: an I/O error there is not a failed write of theirs.
        None
        | Some(
            Command::Summary(_)
            | Command::Forecast(_)
            | Command::Equity(_)
            | Command::Chart(_)
            | Command::Audit(_)
            | Command::Check(_)
            | Command::Export(_)
            | Command::Silences(_)
            | Command::Review(_)
            | Command::Alerts(args::AlertsArgs { record: false, .. }),
        ) => return e,
        Some(Command::Backup(a)) => (a.path.as_path(), "no backup was kept"),
        Some(Command::Demo(_)) if ctx.db.exists() => {
            (ctx.db.as_path(), "the existing database is unchanged")
        }
        Some(Command::Demo(_)) => (ctx.db.as_path(), "no database was created"),
        // An import that created the database removes it again when it fails.
        _ if !ctx.db.exists() => (ctx.db.as_path(), "nothing was written"),
        _ => (
            ctx.db.as_path(),
            "nothing was written; the database holds what it held before",
        ),
    };
    anyhow::anyhow!("cannot write {}: {why}; {left}", file.display())
}

/// Why a write failed, in words: a full disk, a quota or size limit, or what the system said.
fn io_why(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::StorageFull => "the disk is full".into(),
        ErrorKind::FileTooLarge => "the file size limit was reached".into(),
        ErrorKind::QuotaExceeded => "the disk quota is exhausted".into(),
        _ => format!("the write failed ({e})"),
    }
}

/// A file that could not be written, in one line; `write_private` leaves no half file.
fn file_write_error(path: &Path, e: std::io::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot write {}: {}; nothing was written there",
        path.display(),
        io_why(&e)
    )
}

/// What the commands' tests share.
#[cfg(test)]
mod test_support {
    use super::*;
    use crate::demo::{self, DemoOptions};
    use crate::domain::parse_date;

    /// A small demo database, opened with a short busy timeout, and a second connection to
    /// the same file holding the write lock, as a long import or nightly run would.
    pub(super) fn locked_store() -> (tempfile::TempDir, Store, rusqlite::Connection) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("l.db");
        let opts = DemoOptions {
            cases: 1000,
            seed: 3,
            anchor: parse_date("d", "2026-11-01").unwrap(),
        };
        demo::build(&db, &opts, false).unwrap();
        let store = Store::open(&db, OpenMode::Existing).unwrap();
        store
            .db()
            .sql()
            .busy_timeout(std::time::Duration::from_millis(20))
            .unwrap();
        let other = rusqlite::Connection::open(&db).unwrap();
        other.execute_batch("BEGIN IMMEDIATE;").unwrap();
        (dir, store, other)
    }

    pub(super) fn count(s: &Store, sql: &str) -> i64 {
        s.db().sql().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}
