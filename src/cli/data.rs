//! The commands that make, load, copy, check and read out the database: `demo`, `init`,
//! `import`, `export`, `backup`, `check` and `summary`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::args::{BackupArgs, CheckArgs, DemoArgs, ExportArgs, Format, ImportArgs, SummaryArgs};
use super::{Cli, Settings, actor, evaluation, file_write_error, open_for_reading, write_stdout};
use crate::actions::{self, ActionError};
use crate::demo::{self, DemoOptions};
use crate::import::{Counts, ImportError, ImportOptions};
use crate::store::{OpenMode, Store, read};

/// `casewatch demo`: (re)builds the demo database of synthetic data.
pub(super) fn demo(ctx: &Settings, a: &DemoArgs) -> Result<ExitCode> {
    let opts = DemoOptions {
        cases: a.cases,
        seed: a.seed,
        anchor: ctx.as_of,
    };
    let start = std::time::Instant::now();
    if let Some(url) = ctx.db.to_str().filter(|d| crate::store::pg::is_url(d)) {
        return demo_on_server(url, &opts, start);
    }
    let stats = demo::build(&ctx.db, &opts, a.force)?;
    eprintln!(
        "casewatch: built demo database {} in {:.1}s: {} PDUs, {} practitioners, {} cases, {} contacts, {} oversight records, {} enquiries, {} assessments (synthetic; seed {}, as of {})",
        ctx.db.display(),
        start.elapsed().as_secs_f64(),
        stats.pdus,
        stats.practitioners,
        stats.cases,
        stats.contacts,
        stats.oversight,
        stats.enquiries,
        stats.assessments,
        opts.seed,
        crate::domain::fmt_date(opts.anchor)
    );
    Ok(ExitCode::SUCCESS)
}

/// `casewatch --db URL demo`: the demo built in a private temporary file, copied into the
/// server (initialised by `pg-init`, empty), and the file removed. The data is synthetic.
fn demo_on_server(url: &str, opts: &DemoOptions, start: std::time::Instant) -> Result<ExitCode> {
    /// Removes the temporary file (and its journal) however the copy ends.
    struct Scratch(std::path::PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = self.0.as_os_str().to_owned();
                p.push(suffix);
                let _ = std::fs::remove_file(std::path::PathBuf::from(p));
            }
        }
    }
    // Refused before minutes of building when the server is not ready for it.
    let mut pg = crate::store::pg::PgStore::connect(url)?;
    pg.ready_for_copy()?;
    let scratch =
        Scratch(std::env::temp_dir().join(format!("casewatch-demo-{}.db", std::process::id())));
    // The name is this process's own: a file left there by a killed one is replaced.
    let stats = demo::build(&scratch.0, opts, true)?;
    let file = Store::open(&scratch.0, OpenMode::Existing)?;
    let copied = pg.copy_from(file.db())?;
    let rows: u64 = copied.iter().map(|t| t.rows_to).sum();
    eprintln!(
        "casewatch: built the demo and copied it to {} in {:.1}s: {} PDUs, {} practitioners, {} cases ({} rows in {} tables, each compared; synthetic; seed {}, as of {})",
        pg.url(),
        start.elapsed().as_secs_f64(),
        stats.pdus,
        stats.practitioners,
        stats.cases,
        rows,
        copied.len(),
        opts.seed,
        crate::domain::fmt_date(opts.anchor)
    );
    Ok(ExitCode::SUCCESS)
}

/// `casewatch init`: creates an empty database (schema only), never over an existing file.
pub(super) fn init(ctx: &Settings) -> Result<ExitCode> {
    let path = &ctx.db;
    // A directory, an empty file or a foreign one is refused as such, not as "exists".
    if crate::store::inspect_file(path)? != crate::store::FileState::Missing {
        anyhow::bail!(
            "{} already exists; init only creates new databases",
            path.display()
        );
    }
    Store::open(path, OpenMode::CreateIfMissing)?;
    eprintln!("casewatch: created empty database {}", ctx.db.display());
    Ok(ExitCode::SUCCESS)
}

/// `casewatch backup`: writes a checked, consistent copy of the database.
pub(super) fn backup(ctx: &Settings, a: &BackupArgs) -> Result<ExitCode> {
    if let Some(url) = ctx.db.to_str().filter(|d| crate::store::pg::is_url(d)) {
        // The server's own tool copies a live database consistently, roles aside.
        anyhow::bail!(
            "{} is a PostgreSQL database: back it up with PostgreSQL's own tool, as the \
             schema's owner: pg_dump --format=custom --file {} 'URL' (restore with \
             pg_restore into a database prepared by `casewatch pg-init`; see the README)",
            crate::store::pg::redacted(url),
            crate::text::quote_value(&a.path.display().to_string(), 80)
        );
    }
    if !ctx.db.exists() {
        return Err(crate::store::StoreError::Missing(ctx.db.clone()).into());
    }
    let start = std::time::Instant::now();
    let pages = crate::store::maintenance::backup(&ctx.db, &a.path)?;
    eprintln!(
        "casewatch: backed up {} to {} ({pages} pages, checked) in {:.1}s",
        ctx.db.display(),
        a.path.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// `casewatch check`: reports the database's health; exit 1 when it has problems.
pub(super) fn check(ctx: &Settings, a: &CheckArgs) -> Result<ExitCode> {
    if let Some(url) = ctx.db.to_str().filter(|d| crate::store::pg::is_url(d)) {
        let r = crate::store::pg::PgStore::connect(url)?.check()?;
        let text = match a.format {
            Format::Json => format!("{}\n", serde_json::to_string_pretty(&r)?),
            Format::Text => crate::report::pg_check_text(&r),
        };
        write_stdout(&text)?;
        return Ok(if r.healthy() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let r = crate::store::maintenance::check(&ctx.db)?;
    let text = match a.format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&r)?),
        Format::Text => crate::report::check_text(&r),
    };
    write_stdout(&text)?;
    Ok(if r.healthy() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `casewatch export`: writes a list as CSV or JSON Lines, to standard output or a file.
pub(super) fn export(cli: &Cli, ctx: &Settings, a: &ExportArgs) -> Result<ExitCode> {
    let eval = evaluation(cli, ctx)?;
    let store = open_for_reading(ctx)?;
    let text = crate::export::export(store.db(), &eval, a.view, a.pdu.as_deref(), a.format)?;
    match &a.out {
        Some(path) => {
            crate::export::write_private(path, text.as_bytes())
                .map_err(|e| file_write_error(path, e))?;
            eprintln!("casewatch: wrote {}", path.display());
        }
        None => write_stdout(&text)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `casewatch summary`: the per-PDU summary, worst status first.
pub(super) fn summary(cli: &Cli, ctx: &Settings, a: &SummaryArgs) -> Result<ExitCode> {
    let eval = evaluation(cli, ctx)?;
    let store = open_for_reading(ctx)?;
    let region = a.region.as_deref();
    let (mut pdus, alerts) = crate::alerts::evaluate_cached(store.db(), &eval, region)
        .map_err(|e| crate::store::classify(store.path(), e))?;
    let statuses = crate::alerts::statuses_of(&pdus, &alerts, &eval.rules);
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
    let text = match a.format {
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

/// `casewatch import`: imports a file, all or nothing, and reports it. A rejected file lists
/// its problems and exits with 2.
pub(super) fn import(cli: &Cli, ctx: &Settings, a: &ImportArgs) -> Result<ExitCode> {
    let opts = ImportOptions {
        kind: a.kind,
        format: a.format,
        dry_run: a.dry_run,
        ignore_unknown: a.ignore_unknown,
        actor: actor(cli),
        // Not `--as-of`: an enquiry or assessment is a record of something done, so none
        // can be dated after the real today, as no triage write can.
        today: actions::machine_today(),
    };
    let file = a.file.as_path();
    // An unreadable file must not leave a new empty database behind.
    std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    if let Some(url) = ctx.db.to_str().filter(|d| crate::store::pg::is_url(d)) {
        return import_pg(ctx, url, file, &opts);
    }
    let mut target = ImportTarget::open(ctx, opts.dry_run)?;
    let store = &mut target.store;
    let bar = progress_bar();
    let mut progress = |done: u64, total: u64| import_progress(bar.as_ref(), done, total);
    let started = std::time::Instant::now();
    let result = import_retrying(store, file, &opts, &mut progress, actions::WRITE_ATTEMPTS);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    // Closed before the time is taken: closing checkpoints the WAL into the file (after a
    // large load, hundreds of megabytes), and the user waits for that too.
    let created = target.created;
    drop(target);
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
    import_outcome(ctx, file, &opts, created, elapsed, result)
}

/// `casewatch import` on PostgreSQL: one transaction on the server, the login's row-level
/// security deciding which cases it may write.
fn import_pg(ctx: &Settings, url: &str, file: &Path, opts: &ImportOptions) -> Result<ExitCode> {
    let mut pg = crate::store::pg::PgStore::open(url)?;
    let bar = progress_bar();
    let mut progress = |done: u64, total: u64| import_progress(bar.as_ref(), done, total);
    let started = std::time::Instant::now();
    let result = crate::import::import_file_pg(&mut pg, file, opts, &mut progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    import_outcome(ctx, file, opts, false, started.elapsed(), result)
}

/// What an import writes into: the database file, or, for a dry run with no database yet, an
/// empty one in memory (nothing created). `created` when the import made the file.
struct ImportTarget {
    store: Store,
    created: bool,
}

impl ImportTarget {
    /// Opens (or creates) the database an import writes into, saying on stderr when there
    /// was none; a read-only database is refused, for a dry run too.
    fn open(ctx: &Settings, dry_run: bool) -> Result<ImportTarget> {
        let db = ctx.db.display().to_string();
        let db = crate::text::sanitize(&db);
        if ctx.db.exists() {
            let s = Store::open(&ctx.db, OpenMode::Existing)?;
            if s.is_read_only() {
                // A dry run writes too, then rolls back.
                anyhow::bail!(
                    "import refused, nothing was imported: {}{}",
                    ActionError::ReadOnly,
                    if dry_run {
                        " (a dry run needs write access too: it writes, then rolls back)"
                    } else {
                        ""
                    }
                );
            }
            Ok(ImportTarget {
                store: s,
                created: false,
            })
        } else if dry_run {
            eprintln!(
                "casewatch: no database at {db}; dry run against an empty one (nothing created)"
            );
            Ok(ImportTarget {
                store: crate::store::empty_in_memory()?,
                created: false,
            })
        } else {
            let s = Store::open(&ctx.db, OpenMode::CreateIfMissing)?;
            eprintln!("casewatch: no database at {db}; created an empty one (schema only)");
            Ok(ImportTarget {
                store: s,
                created: true,
            })
        }
    }
}

/// An import's progress on the bar, for files large enough (small ones finish before a bar
/// would be seen).
fn import_progress(bar: Option<&indicatif::ProgressBar>, done: u64, total: u64) {
    if let Some(b) = bar.filter(|_| total > 4 << 20) {
        b.set_length(total);
        b.set_position(done);
    }
}

/// A progress bar on stderr when it is a terminal.
fn progress_bar() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    (std::io::stderr().is_terminal()).then(|| {
        let b =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} importing {bytes}/{total_bytes} [{bar:30}] {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    })
}

/// Reports an import that ran: its counts, or a rejected file's problems (exit 2). A database
/// created for a file that did not go in is removed.
fn import_outcome(
    ctx: &Settings,
    file: &Path,
    opts: &ImportOptions,
    created: bool,
    elapsed: std::time::Duration,
    result: Result<Counts, ImportError>,
) -> Result<ExitCode> {
    let shown = file.display().to_string();
    let shown = crate::text::sanitize(&shown);
    match result {
        Ok(c) => {
            write_stdout(&crate::report::import_text(
                opts.dry_run,
                opts.kind.name(),
                &file.display().to_string(),
                elapsed.as_secs_f64(),
                &c,
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ ImportError::Invalid { .. }) => {
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
                    ImportError::Invalid { errors, .. } if errors.len() == 1 =>
                        "1 problem".to_string(),
                    ImportError::Invalid { errors, .. } => format!("{} problems", errors.len()),
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
pub(super) fn import_retrying(
    store: &mut Store,
    file: &Path,
    opts: &ImportOptions,
    progress: crate::import::Progress<'_>,
    attempts: u32,
) -> Result<Result<Counts, ImportError>, ActionError> {
    actions::with_retry(attempts, || {
        match crate::import::import_file(store, file, opts, &mut *progress) {
            Err(ImportError::Sqlite(e)) if crate::store::triage::sqlite_busy(&e) => {
                Err(ActionError::Sqlite(e))
            }
            r => Ok(r),
        }
    })
}

fn remove_database_files(db: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// `casewatch pg-init URL`: creates casewatch's schema and roles on a PostgreSQL database,
/// or brings them up to date; refuses a schema newer than this casewatch.
pub(super) fn pg_init(a: &super::args::PgInitArgs) -> Result<ExitCode> {
    use crate::store::pg::PgStore;
    let mut pg = PgStore::connect(&a.url)?;
    let (before, after) = pg.migrate()?;
    if before == after {
        println!(
            "casewatch: {} already has casewatch schema version {after}; nothing to do",
            pg.url()
        );
    } else {
        println!(
            "casewatch: {} now has casewatch schema version {after} (was {before}), with the \
             roles casewatch_spo (their PDUs' cases only, listed in pdu_access) and \
             casewatch_head (every case)",
            pg.url()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `casewatch copy SQLITE URL`: the SQLite database's case data, notes, audit and recorded
/// runs into an empty PostgreSQL database, compared table by table; `casewatch copy URL
/// FILE`: what the login may read of a PostgreSQL database into a new SQLite file.
pub(super) fn copy(a: &super::args::CopyArgs) -> Result<ExitCode> {
    use crate::store::pg::{PgStore, is_url};
    let (copied, note) = match (is_url(&a.from), is_url(&a.to)) {
        (false, true) => {
            let from = Store::open(Path::new(&a.from), OpenMode::Existing)?;
            let mut pg = PgStore::connect(&a.to)?;
            let copied = pg.copy_from(from.db())?;
            let head = format!("casewatch: copied {} to {}\n", a.from, pg.url());
            (
                copied,
                (
                    head,
                    "The overview tallies were counted afresh on the server; the risk \
                 checks' memos and the overview cache are the file's own",
                ),
            )
        }
        (true, false) => {
            let mut pg = PgStore::open(&a.from)?;
            let pulled = pull_to_file(&mut pg, Path::new(&a.to))?;
            let head = format!(
                "casewatch: copied {} to {} (the cases of {} of its PDUs, as this login may read them)\n",
                pg.url(),
                a.to,
                pulled.readable.len()
            );
            (
                pulled.tables,
                (
                    head,
                    "The overview tallies are the server's (every case of the region)",
                ),
            )
        }
        (true, true) => anyhow::bail!(
            "copy goes between a SQLite file and PostgreSQL: give a file path on one side"
        ),
        (false, false) => anyhow::bail!(
            "copy goes between a SQLite file and PostgreSQL: give a postgres:// URL on one side \
             (`casewatch backup FILE` copies a SQLite file)"
        ),
    };
    let mut out = note.0;
    out.push_str(&format!(
        "{:<16} {:>10} {:>10}  {:<16} {:<16}\n",
        "table", "read", "arrived", "checksum read", "checksum arrived"
    ));
    for t in &copied {
        out.push_str(&format!(
            "{:<16} {:>10} {:>10}  {:016x} {:016x}\n",
            t.table, t.rows_from, t.rows_to, t.sum_from, t.sum_to
        ));
    }
    out.push_str(&format!("every table matches. {}\n", note.1));
    write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Pulls into memory, then writes a new SQLite file whole (see `Store::write_to_new`).
fn pull_to_file(
    pg: &mut crate::store::pg::PgStore,
    path: &Path,
) -> Result<crate::store::pg::Pulled> {
    if path.exists() {
        return Err(crate::store::StoreError::Exists(path.to_path_buf()).into());
    }
    let mut store = crate::store::empty_in_memory()
        .map_err(|e| anyhow::anyhow!("cannot make the copy in memory: {e}"))?;
    let pulled = pg.pull_into(&mut store)?;
    store.write_to_new(path)?;
    Ok(pulled)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{count, locked_store};
    use super::*;
    use crate::import::Kind;

    #[test]
    fn an_import_blocked_by_another_writer_gives_up_clearly_and_writes_nothing() {
        let (dir, mut s, other) = locked_store();
        let crn: String = s
            .db()
            .sql()
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
            today: actions::machine_today(),
        };
        let contacts = count(&s, "SELECT count(*) FROM contacts");
        let e = import_retrying(&mut s, &file, &opts, &mut |_, _| {}, 2).unwrap_err();
        assert!(matches!(e, ActionError::Busy(2)), "{e}");
        let said = format!("import not done: {e}");
        assert!(said.contains("nothing was written") && !said.contains("database is locked"));
        assert_eq!(count(&s, "SELECT count(*) FROM contacts"), contacts);
        assert_eq!(count(&s, "SELECT count(*) FROM audit"), 0);
        other.execute_batch("ROLLBACK;").unwrap();
        let done = import_retrying(&mut s, &file, &opts, &mut |_, _| {}, 2)
            .unwrap()
            .unwrap();
        assert_eq!(done.inserted, 1);
        assert_eq!(count(&s, "SELECT count(*) FROM contacts"), contacts + 1);
    }
}
