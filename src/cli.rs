//! Command-line interface: argument definitions and the headless commands.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};

use crate::demo::{self, DemoOptions};
use crate::domain::parse_date;
use crate::export::{ExportFormat, View};
use crate::import::{FileFormat, ImportOptions, Kind};
use crate::policy::Policy;
use crate::store::{OpenMode, Store, read};

/// casewatch: keeps probation cases from falling through the cracks.
///
/// With no command, opens the triage screen on the database. The default database lives in
/// the XDG data directory and is created with synthetic demo data on first run.
#[derive(Debug, Parser)]
#[command(name = "casewatch", version, about, long_about)]
pub struct Cli {
    /// SQLite database to use [default: $XDG_DATA_HOME/casewatch/casewatch.db]
    #[arg(long, global = true, env = "CASEWATCH_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// The date to evaluate "overdue" against, YYYY-MM-DD [default: today]
    #[arg(long, global = true, value_name = "DATE", value_parser = parse_as_of)]
    pub as_of: Option<NaiveDate>,

    /// Policy overrides (TOML) [default: $XDG_CONFIG_HOME/casewatch/policy.toml if present]
    #[arg(long, global = true, value_name = "PATH")]
    pub policy: Option<PathBuf>,

    /// Monochrome screen (also when NO_COLOR is set); statuses are always shown in words
    #[arg(long, global = true)]
    pub no_color: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

fn parse_as_of(s: &str) -> Result<NaiveDate, String> {
    parse_date("--as-of", s).map_err(|e| crate::text::sanitize(&e.to_string()).into_owned())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// (Re)build a demo database of synthetic London probation data
    Demo {
        /// Number of cases; above 60,000 the other regions of England and Wales are added
        #[arg(long, default_value_t = demo::DEFAULT_CASES)]
        cases: u64,
        /// Random seed: the same seed and as-of date give the same content
        #[arg(long, default_value_t = demo::DEFAULT_SEED)]
        seed: u64,
        /// Replace a database that is not a demo database
        #[arg(long)]
        force: bool,
    },
    /// Create an empty database (schema only) for loading your own data
    Init,
    /// Import a CSV or JSON Lines file; all or nothing (see README, "Import and export")
    Import {
        /// The file to import (.csv, or .jsonl/.ndjson/.json for JSON Lines)
        file: PathBuf,
        /// What the file holds
        #[arg(long, value_enum)]
        kind: Kind,
        /// File format [default: from the extension; CSV unless .jsonl/.ndjson/.json]
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
        /// Check everything and report what would change; write nothing
        #[arg(long)]
        dry_run: bool,
        /// Skip columns that are not part of the contract instead of rejecting the file
        #[arg(long)]
        ignore_unknown: bool,
    },
    /// Export a list as CSV or JSON Lines, in the import field names
    Export {
        #[arg(value_enum)]
        view: View,
        /// Only this PDU
        #[arg(long, value_name = "CODE")]
        pdu: Option<String>,
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Write to this file (created owner-readable only) instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print the per-PDU summary
    Summary {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Only this region (e.g. London)
        #[arg(long)]
        region: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Resolved global settings every command needs.
pub struct Settings {
    pub db: PathBuf,
    pub db_explicit: bool,
    pub as_of: NaiveDate,
    pub policy: Policy,
}

impl Cli {
    fn context(&self) -> Result<Settings> {
        let policy_path = self
            .policy
            .clone()
            .or_else(|| crate::config::user_config_file("policy.toml"));
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

fn write_stdout(s: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`| head`) is not an error worth reporting.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("cannot write to standard output"),
    }
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = cli.context()?;
    match &cli.command {
        None => {
            let store = open_for_reading(&ctx)?;
            summary(&ctx, &store, Format::Text, None)
        }
        Some(Command::Demo { cases, seed, force }) => {
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
        Some(Command::Import {
            file,
            kind,
            format,
            dry_run,
            ignore_unknown,
        }) => {
            let opts = ImportOptions {
                kind: *kind,
                format: *format,
                dry_run: *dry_run,
                ignore_unknown: *ignore_unknown,
            };
            import(&ctx, file, &opts)
        }
        Some(Command::Export {
            view,
            pdu,
            format,
            out,
        }) => {
            let store = open_for_reading(&ctx)?;
            let text = crate::export::export(
                store.conn(),
                &ctx.policy,
                ctx.as_of,
                *view,
                pdu.as_deref(),
                *format,
            )?;
            match out {
                Some(path) => {
                    crate::export::write_private(path, text.as_bytes())
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("casewatch: wrote {}", path.display());
                }
                None => write_stdout(&text)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Summary { format, region }) => {
            let store = open_for_reading(&ctx)?;
            summary(&ctx, &store, *format, region.as_deref())
        }
    }
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
        store = Some(Store::open(&ctx.db, OpenMode::Existing)?);
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
    let result = crate::import::import_file(conn_ref, file, opts, &mut progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
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
                started.elapsed().as_secs_f64(),
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
            drop(store);
            let mut note = "the database is unchanged";
            if created {
                // The file was rejected: leave no trace of the database made for it.
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = ctx.db.as_os_str().to_owned();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
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
        Err(e) => Err(e.into()),
    }
}

fn init(path: &Path) -> Result<()> {
    if path.exists() {
        anyhow::bail!(
            "{} already exists; init only creates new databases",
            path.display()
        );
    }
    Store::open(path, OpenMode::CreateIfMissing)?;
    Ok(())
}

fn summary(
    ctx: &Settings,
    store: &Store,
    format: Format,
    region: Option<&str>,
) -> Result<ExitCode> {
    let pdus = read::pdu_summaries(store.conn(), &ctx.policy, ctx.as_of, region)
        .map_err(|e| crate::store::classify(store.path(), e))?;
    if let Some(r) = region
        && pdus.is_empty()
    {
        anyhow::bail!("no PDUs in region '{}'", crate::text::quote_value(r, 60));
    }
    let regions = read::region_totals(&pdus);
    let db = store.path().display().to_string();
    let text = match format {
        Format::Text => crate::report::summary_text(ctx.as_of, &db, &regions, &pdus),
        Format::Json => {
            let doc = crate::report::SummaryDoc {
                as_of: crate::domain::fmt_date(ctx.as_of),
                database: db,
                regions: &regions,
                pdus: &pdus,
            };
            let mut s = serde_json::to_string_pretty(&doc)?;
            s.push('\n');
            s
        }
    };
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}
