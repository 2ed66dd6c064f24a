//! Command-line interface: runs the command the arguments name ([`args`] defines them).

mod alerts;
mod args;
mod triage;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::NaiveDate;

pub use args::{AlertFormat, Cli, Command, Format};

use crate::actions::{self, ActionError};
use crate::demo::{self, DemoOptions};
use crate::import::ImportOptions;
use crate::policy::Policy;
use crate::store::{OpenMode, Store, read};

/// Resolved global settings every command needs.
pub struct Settings {
    pub db: PathBuf,
    pub db_explicit: bool,
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

pub fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = cli.context()?;
    dispatch(&cli, &ctx).map_err(|e| explain_write_failure(e, &cli, &ctx))
}

fn dispatch(cli: &Cli, ctx: &Settings) -> Result<ExitCode> {
    match &cli.command {
        None => {
            crate::tui::check_terminal()?;
            // A broken rules file (or a warning about one) is printed before the screen
            // switches; nothing is written to stderr once it has.
            let rules = load_rules(cli)?;
            // Open (and on first run create) before the screen switches, so errors print
            // plainly.
            let store = open_for_reading(ctx)?;
            drop(store);
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            crate::tui::run(crate::tui::Options {
                db: ctx.db.clone(),
                as_of: ctx.as_of,
                policy: ctx.policy.clone(),
                rules,
                color: !(cli.no_color || no_color),
                mask: cli.mask,
                actor: actor(cli),
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Demo(args::DemoArgs { cases, seed, force })) => {
            let opts = DemoOptions {
                cases: *cases,
                seed: *seed,
                anchor: ctx.as_of,
            };
            let start = std::time::Instant::now();
            let stats = demo::build(&ctx.db, &opts, *force)?;
            eprintln!(
                "casewatch: built demo database {} in {:.1}s: {} PDUs, {} practitioners, {} cases, {} contacts, {} oversight records (synthetic; seed {}, as of {})",
                ctx.db.display(),
                start.elapsed().as_secs_f64(),
                stats.pdus,
                stats.practitioners,
                stats.cases,
                stats.contacts,
                stats.oversight,
                opts.seed,
                crate::domain::fmt_date(opts.anchor)
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Init) => {
            init(&ctx.db)?;
            eprintln!("casewatch: created empty database {}", ctx.db.display());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Allocate(a)) => triage::allocate(cli, ctx, a),
        Some(Command::Oversight(a)) => triage::oversight(cli, ctx, a),
        Some(Command::Note(a)) => triage::note(cli, ctx, a),
        Some(Command::Audit(a)) => triage::audit(ctx, a),
        Some(Command::Alerts(a)) => alerts::alerts(cli, ctx, a),
        Some(Command::Silence(a)) => alerts::silence(cli, ctx, a),
        Some(Command::Silences(a)) => alerts::silences(ctx, a),
        Some(Command::Unsilence(a)) => alerts::unsilence(cli, ctx, a),
        Some(Command::Review(a)) => alerts::review(cli, ctx, a),
        Some(Command::Ack(a)) => triage::ack(cli, ctx, a),
        Some(Command::Backup(args::BackupArgs { path })) => {
            if !ctx.db.exists() {
                return Err(crate::store::StoreError::Missing(ctx.db.clone()).into());
            }
            let start = std::time::Instant::now();
            let pages = crate::store::maintenance::backup(&ctx.db, path)?;
            eprintln!(
                "casewatch: backed up {} to {} ({pages} pages, checked) in {:.1}s",
                ctx.db.display(),
                path.display(),
                start.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Check(args::CheckArgs { format })) => {
            let r = crate::store::maintenance::check(&ctx.db)?;
            let text = match format {
                Format::Json => format!("{}\n", serde_json::to_string_pretty(&r)?),
                Format::Text => {
                    let integrity = r
                        .integrity
                        .iter()
                        .map(|l| crate::text::sanitize(l).into_owned())
                        .collect::<Vec<_>>()
                        .join("; ");
                    format!(
                        "database: {}\ncasewatch file: {}\nschema: version {} (this casewatch knows up to {}){}\nintegrity: {}\nforeign keys: {}\njournal: {}\nresult: {}\n",
                        r.path.display(),
                        if r.casewatch_file { "yes" } else { "NO" },
                        r.schema_version,
                        r.schema_supported,
                        if r.schema_version > r.schema_supported {
                            " NEWER: upgrade casewatch"
                        } else if r.schema_version < r.schema_supported {
                            " older: the next write migrates it"
                        } else {
                            ""
                        },
                        integrity,
                        if r.foreign_key_problems == 0 {
                            "ok".to_string()
                        } else {
                            format!("{} dangling references", r.foreign_key_problems)
                        },
                        r.journal_mode,
                        if r.healthy() {
                            "healthy"
                        } else {
                            "PROBLEMS FOUND"
                        }
                    )
                }
            };
            write_stdout(&text)?;
            Ok(if r.healthy() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Some(Command::Import(args::ImportArgs {
            file,
            kind,
            format,
            dry_run,
            ignore_unknown,
        })) => {
            let opts = ImportOptions {
                kind: *kind,
                format: *format,
                dry_run: *dry_run,
                ignore_unknown: *ignore_unknown,
                actor: actor(cli),
            };
            import(ctx, file, &opts)
        }
        Some(Command::Export(args::ExportArgs {
            view,
            pdu,
            format,
            out,
        })) => {
            let rules = load_rules(cli)?;
            let store = open_for_reading(ctx)?;
            let text = crate::export::export(
                store.conn(),
                &ctx.policy,
                &rules,
                ctx.as_of,
                *view,
                pdu.as_deref(),
                *format,
            )?;
            match out {
                Some(path) => {
                    crate::export::write_private(path, text.as_bytes())
                        .map_err(|e| file_write_error(path, e))?;
                    eprintln!("casewatch: wrote {}", path.display());
                }
                None => write_stdout(&text)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Summary(args::SummaryArgs { format, region })) => {
            let rules = load_rules(cli)?;
            let store = open_for_reading(ctx)?;
            summary(ctx, &store, &rules, *format, region.as_deref())
        }
    }
}

/// The rules in force: defaults, overridden by the user's file. A broken file stops the run
/// with its line number; nothing is evaluated with half a rule set.
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
    let store = open_for_reading(ctx)?;
    if store.is_read_only() {
        return Err(ActionError::ReadOnly.into());
    }
    Ok(store)
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
            | Command::Audit(_)
            | Command::Check(_)
            | Command::Export(_)
            | Command::Silences(_)
            | Command::Review(_)
            | Command::Alerts(args::AlertsArgs { record: false, .. }),
        ) => return e,
        Some(Command::Backup(args::BackupArgs { path })) => (path.as_path(), "no backup was kept"),
        Some(Command::Demo(_)) if ctx.db.exists() => {
            (ctx.db.as_path(), "the existing database is unchanged")
        }
        Some(Command::Demo(args::DemoArgs { .. })) => (ctx.db.as_path(), "no database was created"),
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

/// Runs an import and reports it. A rejected file lists its problems and exits with 2.
fn import(ctx: &Settings, file: &Path, opts: &ImportOptions) -> Result<ExitCode> {
    use std::io::IsTerminal;
    // An unreadable file must not leave a new empty database behind.
    std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let db = ctx.db.display().to_string();
    let db = crate::text::sanitize(&db);
    // The store is kept for its connection; an in-memory one serves a dry run with no file.
    let mut created = false;
    let mut store = None;
    let mut conn = if ctx.db.exists() {
        let s = Store::open(&ctx.db, OpenMode::Existing)?;
        if s.is_read_only() {
            // A dry run writes too, then rolls back.
            anyhow::bail!(
                "import refused, nothing was imported: {}{}",
                ActionError::ReadOnly,
                if opts.dry_run {
                    " (a dry run needs write access too: it writes, then rolls back)"
                } else {
                    ""
                }
            );
        }
        store = Some(s);
        None
    } else if opts.dry_run {
        eprintln!("casewatch: no database at {db}; dry run against an empty one (nothing created)");
        let mut c = rusqlite::Connection::open_in_memory()?;
        crate::store::migrate(&mut c, 0)?;
        c.execute_batch("PRAGMA foreign_keys = ON;")?;
        Some(c)
    } else {
        store = Some(Store::open(&ctx.db, OpenMode::CreateIfMissing)?);
        created = true;
        eprintln!("casewatch: no database at {db}; created an empty one (schema only)");
        None
    };
    let conn_ref = match (&mut conn, &mut store) {
        (Some(c), _) => c,
        (None, Some(s)) => s.conn_mut(),
        (None, None) => anyhow::bail!("internal error: no database connection"),
    };
    let bar = (std::io::stderr().is_terminal()).then(|| {
        let b =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} importing {bytes}/{total_bytes} [{bar:30}] {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut progress = |done: u64, total: u64| {
        // Small files finish before a bar would be seen.
        if let Some(b) = bar.as_ref().filter(|_| total > 4 << 20) {
            b.set_length(total);
            b.set_position(done);
        }
    };
    let started = std::time::Instant::now();
    let result = import_retrying(conn_ref, file, opts, &mut progress, actions::WRITE_ATTEMPTS);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    // Closed before the time is taken: closing checkpoints the WAL into the file (after a
    // large load, hundreds of megabytes), and the user waits for that too.
    drop(conn);
    drop(store);
    let elapsed = started.elapsed();
    let result = match result {
        Ok(r) => r,
        // Another writer kept the lock through every attempt: nothing was written.
        Err(e) => {
            if created {
                remove_database_files(&ctx.db);
            }
            anyhow::bail!("import not done: {e}");
        }
    };
    let shown = file.display().to_string();
    let shown = crate::text::sanitize(&shown);
    match result {
        Ok(c) => {
            let what = if opts.dry_run {
                "dry run, nothing written; would import"
            } else {
                "imported"
            };
            write_stdout(&format!(
                "{what} {} {} rows from {shown} in {:.1}s: {} inserted, {} updated, {} unchanged, {} skipped\n",
                c.rows,
                opts.kind.name(),
                elapsed.as_secs_f64(),
                c.inserted,
                c.updated,
                c.unchanged,
                c.skipped
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ crate::import::ImportError::Invalid { .. }) => {
            for line in e.report_lines() {
                eprintln!("{line}");
            }
            let mut note = "the database is unchanged";
            if created {
                // The file was rejected: leave no trace of the database made for it.
                remove_database_files(&ctx.db);
                note = "the empty database created for it was removed";
            }
            eprintln!(
                "casewatch: rejected {shown}: {}; nothing was imported and {note}",
                match &e {
                    crate::import::ImportError::Invalid { errors, .. } if errors.len() == 1 =>
                        "1 problem".to_string(),
                    crate::import::ImportError::Invalid { errors, .. } =>
                        format!("{} problems", errors.len()),
                    _ => String::new(),
                }
            );
            Ok(ExitCode::from(2))
        }
        Err(e) => {
            if created {
                // A write failed (a full disk, say): leave no trace of the database made
                // for the file either.
                remove_database_files(&ctx.db);
            }
            Err(e.into())
        }
    }
}

/// Imports `file`, trying again while another writer (the nightly run, another import, a
/// triage action) holds the lock past the busy timeout: `attempts` tries in all, as for the
/// triage writes. `Err` only when the lock never came; the import then wrote nothing (its
/// transaction starts by taking the lock): [`ActionError::Busy`].
fn import_retrying(
    conn: &mut rusqlite::Connection,
    file: &Path,
    opts: &ImportOptions,
    progress: crate::import::Progress<'_>,
    attempts: u32,
) -> Result<Result<crate::import::Counts, crate::import::ImportError>, ActionError> {
    use crate::import::ImportError;
    actions::with_retry(attempts, || {
        match crate::import::import_file(conn, file, opts, &mut *progress) {
            Err(ImportError::Sqlite(e)) if is_busy(&e) => Err(ActionError::Sqlite(e)),
            r => Ok(r),
        }
    })
}

/// Another connection held the write lock past the busy timeout.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn remove_database_files(db: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

fn init(path: &Path) -> Result<()> {
    // A directory, an empty file or a foreign one is refused as such, not as "exists".
    if crate::store::inspect_file(path)? != crate::store::FileState::Missing {
        anyhow::bail!(
            "{} already exists; init only creates new databases",
            path.display()
        );
    }
    Store::open(path, OpenMode::CreateIfMissing)?;
    Ok(())
}

/// Refuses a PDU code the database does not hold, in words.
fn known_pdu(store: &Store, code: &str) -> Result<()> {
    let known = crate::alerts::pdu_exists(store.conn(), code)
        .map_err(|e| crate::store::classify(store.path(), e))?;
    if !known {
        anyhow::bail!("no PDU '{}'", crate::text::quote_value(code, 40));
    }
    Ok(())
}

fn summary(
    ctx: &Settings,
    store: &Store,
    rules: &crate::rules::Rules,
    format: Format,
    region: Option<&str>,
) -> Result<ExitCode> {
    let (mut pdus, alerts) =
        crate::alerts::evaluate_cached(store.conn(), &ctx.policy, rules, ctx.as_of, region)
            .map_err(|e| crate::store::classify(store.path(), e))?;
    let statuses = crate::alerts::statuses_of(&pdus, &alerts, rules);
    let level = |code: &str| {
        statuses
            .iter()
            .find(|s| s.pdu == code)
            .map_or(crate::rules::Level::Ok, |s| s.status)
    };
    // Worst first, so that the unit in trouble is the first line anyone reads.
    pdus.sort_by(|a, b| {
        level(&b.code)
            .cmp(&level(&a.code))
            .then_with(|| a.code.cmp(&b.code))
    });
    let statuses: Vec<_> = pdus
        .iter()
        .filter_map(|p| statuses.iter().find(|s| s.pdu == p.code).cloned())
        .collect();
    if let Some(r) = region
        && pdus.is_empty()
    {
        anyhow::bail!("no PDUs in region '{}'", crate::text::quote_value(r, 60));
    }
    let regions = read::region_totals(&pdus);
    let db = store.path().display().to_string();
    let text = match format {
        Format::Text => crate::report::summary_text(ctx.as_of, &db, &regions, &pdus, &statuses),
        Format::Json => {
            let doc = crate::report::SummaryDoc {
                as_of: crate::domain::fmt_date(ctx.as_of),
                database: db,
                regions: &regions,
                pdus: pdus
                    .iter()
                    .zip(&statuses)
                    .map(|(summary, s)| crate::report::PduWithStatus {
                        summary,
                        status: s.status,
                        status_reasons: &s.status_reasons,
                    })
                    .collect(),
            };
            let mut s = serde_json::to_string_pretty(&doc)?;
            s.push('\n');
            s
        }
    };
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_date;
    use crate::import::Kind;

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
            .conn()
            .busy_timeout(std::time::Duration::from_millis(20))
            .unwrap();
        let other = rusqlite::Connection::open(&db).unwrap();
        other.execute_batch("BEGIN IMMEDIATE;").unwrap();
        (dir, store, other)
    }

    pub(super) fn count(s: &Store, sql: &str) -> i64 {
        s.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn an_import_blocked_by_another_writer_gives_up_clearly_and_writes_nothing() {
        let (dir, mut s, other) = locked_store();
        let crn: String = s
            .conn()
            .query_row("SELECT min(crn) FROM cases", [], |r| r.get(0))
            .unwrap();
        let file = dir.path().join("contacts.csv");
        std::fs::write(
            &file,
            format!("crn,date,kind,staff_code\n{crn},2026-10-30,telephone,LOCKTEST\n"),
        )
        .unwrap();
        let opts = ImportOptions {
            kind: Kind::Contacts,
            format: None,
            dry_run: false,
            ignore_unknown: false,
            actor: "t".into(),
        };
        let contacts = count(&s, "SELECT count(*) FROM contacts");
        let e = import_retrying(s.conn_mut(), &file, &opts, &mut |_, _| {}, 2).unwrap_err();
        assert!(matches!(e, ActionError::Busy(2)), "{e}");
        let said = format!("import not done: {e}");
        assert!(said.contains("nothing was written") && !said.contains("database is locked"));
        assert_eq!(count(&s, "SELECT count(*) FROM contacts"), contacts);
        assert_eq!(count(&s, "SELECT count(*) FROM audit"), 0);
        other.execute_batch("ROLLBACK;").unwrap();
        let done = import_retrying(s.conn_mut(), &file, &opts, &mut |_, _| {}, 2)
            .unwrap()
            .unwrap();
        assert_eq!(done.inserted, 1);
        assert_eq!(count(&s, "SELECT count(*) FROM contacts"), contacts + 1);
    }
}
