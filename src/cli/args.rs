//! The command line: the global options, the commands and their arguments, and the parsers
//! of the values they take.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::demo;
use crate::domain::parse_date;
use crate::domain::{AllocationReason, OversightKind};
use crate::export::{ExportFormat, View};
use crate::import::{FileFormat, Kind};

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

    /// On a PostgreSQL database: keep the working copy of what the login may read in this
    /// SQLite file between runs, and bring it up to date from the server's change log rather
    /// than reading everything again (for the nightly job)
    #[arg(
        long,
        global = true,
        env = "CASEWATCH_WORKING_COPY",
        value_name = "PATH"
    )]
    pub working_copy: Option<PathBuf>,

    /// The date to evaluate "overdue" against, YYYY-MM-DD [default: today]
    #[arg(long, global = true, value_name = "DATE", value_parser = parse_as_of)]
    pub as_of: Option<NaiveDate>,

    /// Policy overrides (TOML) [default: $XDG_CONFIG_HOME/casewatch/policy.toml if present]
    #[arg(long, global = true, value_name = "PATH")]
    pub policy: Option<PathBuf>,

    /// Monochrome screen (also when NO_COLOR is set); statuses are always shown in words
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Show people's names as initials (for working in shared spaces)
    #[arg(long, global = true)]
    pub mask: bool,

    /// Alert rules overriding or adding to the defaults by id
    /// [default: $XDG_CONFIG_HOME/casewatch/rules.toml if present]
    #[arg(long, global = true, value_name = "PATH")]
    pub rules: Option<PathBuf>,

    /// Who is acting, for the audit trail [default: the operating-system user]
    #[arg(long = "as", global = true, value_name = "USER")]
    pub actor: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

fn parse_as_of(s: &str) -> Result<NaiveDate, String> {
    parse_date("--as-of", s).map_err(|e| crate::text::sanitize(&e.to_string()).into_owned())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// (Re)build a demo database of synthetic London probation data
    Demo(DemoArgs),
    /// Create an empty database (schema only) for loading your own data
    Init,
    /// Allocate (or reallocate) a case to a practitioner of its PDU
    Allocate(AllocateArgs),
    /// Record an SPO's management oversight of a case (dated --as-of)
    Oversight(OversightArgs),
    /// Add a note to a case
    Note(NoteArgs),
    /// Show the audit trail of every write
    Audit(AuditArgs),
    /// Evaluate the alert rules: the nightly review. Exit 0, or 3 when there is a new
    /// critical alert, 2 on error
    Alerts(AlertsArgs),
    /// Acknowledge an open incident (rule:PDU) or alert (rule:PDU:CRN) of the last recorded
    /// run with a note
    Ack(AckArgs),
    /// Silence incidents or alerts until a date (at most 90 days ahead): still counted and
    /// listed, shown as silenced, and they wake nobody (exit 3) until then
    Silence(SilenceArgs),
    /// List the silences in force (and, with --all, expired ones not removed)
    Silences(SilencesArgs),
    /// Remove a silence before its end (audited)
    Unsilence(UnsilenceArgs),
    /// The morning worklist: each PDU's status, incidents and ordered actions
    Review(ReviewArgs),
    /// Write a consistent copy of the database (safe while others use it)
    Backup(BackupArgs),
    /// Check the database: integrity, schema version, references
    Check(CheckArgs),
    /// Import a CSV or JSON Lines file; all or nothing (see README, "Import and export")
    Import(ImportArgs),
    /// Export a list as CSV or JSON Lines, in the import field names
    Export(ExportArgs),
    /// Print the per-PDU summary
    Summary(SummaryArgs),
    /// Where each PDU's figures are heading: the trend of every metric a PDU rule tests over
    /// the last 28 recorded nights, and when each rule would fire at this rate
    Forecast(ForecastArgs),
    /// Disproportionality: allocation, contact, oversight and assessments by ethnic group,
    /// sex and age band, with 95% intervals; small cells suppressed
    Equity(EquityArgs),
    /// A PDU's recorded nights of every metric its rules test, against their thresholds,
    /// as an SVG for a briefing
    Chart(ChartArgs),
    /// Create (or bring up to date) casewatch's schema and roles on a PostgreSQL database
    #[command(name = "pg-init")]
    PgInit(PgInitArgs),
    /// Copy a SQLite database's cases, notes and audit into an empty PostgreSQL database
    /// prepared by pg-init, or a PostgreSQL database (what the login may read) into a new
    /// SQLite file; counts and checksums are compared
    Copy(CopyArgs),
}

/// The arguments of `casewatch copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// What to copy from: a SQLite file, or a PostgreSQL URL
    pub from: String,
    /// Where to copy to: a PostgreSQL URL (an empty database prepared by pg-init), or a
    /// new SQLite file (never an existing one)
    pub to: String,
}

/// The arguments of `casewatch pg-init`.
#[derive(Debug, Args)]
pub struct PgInitArgs {
    /// The database, as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (a Unix socket:
    /// postgres://USER@/DATABASE?host=/run/postgresql); the user needs to create tables
    /// and roles
    pub url: String,
}

/// The arguments of `casewatch demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of cases; above 60,000 the other regions of England and Wales are added
    #[arg(long, default_value_t = demo::DEFAULT_CASES)]
    pub cases: u64,
    /// Random seed: the same seed and as-of date give the same content
    #[arg(long, default_value_t = demo::DEFAULT_SEED)]
    pub seed: u64,
    /// Replace an existing file that is not an untouched demo database: one holding
    /// audit entries, acknowledgements or recorded runs, a database of another origin, or
    /// a file that is not casewatch's (a directory is never replaced)
    #[arg(long)]
    pub force: bool,
}

/// The arguments of `casewatch allocate`.
#[derive(Debug, Args)]
pub struct AllocateArgs {
    /// Case reference number, e.g. X123456
    #[arg(value_parser = parse_crn)]
    pub crn: String,
    /// Staff code of the practitioner
    pub staff_code: String,
    /// initial_allocation (an unallocated case), transfer_in, officer_left,
    /// caseload_adjustment, change_in_tier_or_risk, risk_to_staff, change_of_address or
    /// other (needs --note)
    #[arg(long, value_parser = parse_reason)]
    pub reason: AllocationReason,
    /// The allocation rationale, kept as a note on the case and in the audit
    #[arg(long)]
    pub note: Option<String>,
    /// The rationale is sensitive: hidden in lists and outputs unless asked for
    #[arg(long, requires = "note")]
    pub sensitive: bool,
    /// Who you expect holds the case now (a staff code, or `unallocated`); if it has
    /// changed, nothing is written
    #[arg(long, value_name = "STAFF|unallocated")]
    pub was: Option<String>,
    /// Allocate even when the officer is not suitable under the allocation rules or it
    /// raises a warning (over 100% of capacity)
    #[arg(long)]
    pub yes: bool,
}

/// The arguments of `casewatch oversight`.
#[derive(Debug, Args)]
pub struct OversightArgs {
    #[arg(value_parser = parse_crn)]
    pub crn: String,
    /// Staff code of the SPO
    #[arg(long)]
    pub by: String,
    /// allocation, periodic, risk_change, transfer or other
    #[arg(long, value_parser = parse_oversight_kind)]
    pub kind: OversightKind,
    #[arg(long)]
    pub note: String,
    /// Hide the note in lists and exports unless asked for
    #[arg(long)]
    pub sensitive: bool,
}

/// The arguments of `casewatch note`.
#[derive(Debug, Args)]
pub struct NoteArgs {
    #[arg(value_parser = parse_crn)]
    pub crn: String,
    #[arg(long)]
    pub text: String,
    #[arg(long)]
    pub sensitive: bool,
}

/// The arguments of `casewatch audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[arg(long, value_parser = parse_crn)]
    pub crn: Option<String>,
    /// Only entries on or after this date (YYYY-MM-DD)
    #[arg(long, value_parser = parse_since)]
    pub since: Option<NaiveDate>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Include the text of sensitive notes
    #[arg(long)]
    pub show_sensitive: bool,
}

/// The arguments of `casewatch alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[arg(long, value_enum, default_value_t = AlertFormat::Text)]
    pub format: AlertFormat,
    /// Write the report to this file (owner-readable only) instead of standard output
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Store this run (metrics snapshot and alerts) for comparison and trends
    #[arg(long)]
    pub record: bool,
    /// Only this region
    #[arg(long)]
    pub region: Option<String>,
    /// Show only this PDU's statuses, incidents and alerts (a recorded run still covers
    /// every PDU evaluated)
    #[arg(long, value_name = "CODE")]
    pub pdu: Option<String>,
    /// Text output: list every alert instead of one line per incident
    #[arg(long)]
    pub members: bool,
}

/// The arguments of `casewatch ack`.
#[derive(Debug, Args)]
pub struct AckArgs {
    pub key: String,
    #[arg(long)]
    pub note: String,
}

/// The arguments of `casewatch silence`.
#[derive(Debug, Args)]
pub struct SilenceArgs {
    /// One or more of rule=ID, pdu=CODE, crn=CRN (all must match)
    #[arg(required = true, value_name = "MATCHER")]
    pub matchers: Vec<String>,
    /// The first day the silence no longer applies, YYYY-MM-DD
    #[arg(long, value_name = "DATE", value_parser = parse_until)]
    pub until: Option<NaiveDate>,
    /// Why (required; audited)
    #[arg(long)]
    pub reason: Option<String>,
}

/// The arguments of `casewatch silences`.
#[derive(Debug, Args)]
pub struct SilencesArgs {
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The arguments of `casewatch unsilence`.
#[derive(Debug, Args)]
pub struct UnsilenceArgs {
    pub id: i64,
}

/// The arguments of `casewatch review`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// Only this PDU (fast: reads only its cases)
    #[arg(long, value_name = "CODE")]
    pub pdu: Option<String>,
    /// Only this region
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long, value_enum, default_value_t = AlertFormat::Text)]
    pub format: AlertFormat,
    /// Actions listed per PDU
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Who reads it: `head` adds each PDU's "who needs support" (practitioners against
    /// the region's benchmark, and team patterns)
    #[arg(long = "for", value_enum, default_value_t = Audience::Spo)]
    pub audience: Audience,
}

/// Who a report is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Audience {
    /// Senior probation officers: the worklist.
    Spo,
    /// Heads of PDU: the worklist, and who needs support.
    Head,
}

/// The arguments of `casewatch backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy; an existing file is never overwritten
    pub path: PathBuf,
}

/// The arguments of `casewatch check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The arguments of `casewatch import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import (.csv, or .jsonl/.ndjson/.json for JSON Lines)
    pub file: PathBuf,
    /// What the file holds
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// File format [default: from the extension; CSV unless .jsonl/.ndjson/.json]
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,
    /// Check everything and report what would change; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Skip columns that are not part of the contract instead of rejecting the file
    #[arg(long)]
    pub ignore_unknown: bool,
}

/// The arguments of `casewatch export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(value_enum)]
    pub view: View,
    /// Only this PDU
    #[arg(long, value_name = "CODE")]
    pub pdu: Option<String>,
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
    /// Write to this file (created owner-readable only) instead of standard output
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The arguments of `casewatch summary`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Only this region (e.g. London)
    #[arg(long)]
    pub region: Option<String>,
}

/// The arguments of `casewatch chart`.
#[derive(Debug, Args)]
pub struct ChartArgs {
    /// The PDU
    #[arg(long, value_name = "CODE")]
    pub pdu: String,
    /// Only this metric (as the rules name it, e.g. unallocated_mappa)
    #[arg(long)]
    pub metric: Option<String>,
    /// Write the SVG to this file (created owner-readable only) instead of standard output
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The arguments of `casewatch equity`.
#[derive(Debug, Args)]
pub struct EquityArgs {
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// One PDU (its region follows it, for comparison)
    #[arg(long, value_name = "CODE")]
    pub pdu: Option<String>,
    /// One region [default: every region]
    #[arg(long)]
    pub region: Option<String>,
}

/// The arguments of `casewatch forecast`.
#[derive(Debug, Args)]
pub struct ForecastArgs {
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Only this region (e.g. London)
    #[arg(long)]
    pub region: Option<String>,
    /// Only this PDU (its code)
    #[arg(long)]
    pub pdu: Option<String>,
    /// Replay the recorded nights instead: how often a forecast came true within a week
    #[arg(long)]
    pub backtest: bool,
}

pub(super) fn parse_crn(s: &str) -> Result<String, String> {
    s.parse::<crate::domain::Crn>()
        .map(|c| c.as_str().to_string())
        .map_err(|e| crate::text::sanitize(&e.to_string()).into_owned())
}

fn parse_reason(s: &str) -> Result<AllocationReason, String> {
    s.parse()
        .map_err(|e: crate::domain::ParseError| crate::text::sanitize(&e.to_string()).into_owned())
}

fn parse_oversight_kind(s: &str) -> Result<OversightKind, String> {
    s.parse()
        .map_err(|e: crate::domain::ParseError| crate::text::sanitize(&e.to_string()).into_owned())
}

fn parse_until(s: &str) -> Result<NaiveDate, String> {
    parse_date("--until", s).map_err(|e| crate::text::sanitize(&e.to_string()).into_owned())
}

fn parse_since(s: &str) -> Result<NaiveDate, String> {
    parse_date("--since", s).map_err(|e| crate::text::sanitize(&e.to_string()).into_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlertFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}
