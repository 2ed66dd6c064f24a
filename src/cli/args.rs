//! The command line: the global options, the commands and their arguments, and the parsers
//! of the values they take.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};

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
    Demo {
        /// Number of cases; above 60,000 the other regions of England and Wales are added
        #[arg(long, default_value_t = demo::DEFAULT_CASES)]
        cases: u64,
        /// Random seed: the same seed and as-of date give the same content
        #[arg(long, default_value_t = demo::DEFAULT_SEED)]
        seed: u64,
        /// Replace an existing file that is not an untouched demo database: one holding
        /// audit entries, acknowledgements or recorded runs, a database of another origin, or
        /// a file that is not casewatch's (a directory is never replaced)
        #[arg(long)]
        force: bool,
    },
    /// Create an empty database (schema only) for loading your own data
    Init,
    /// Allocate (or reallocate) a case to a practitioner of its PDU
    Allocate {
        /// Case reference number, e.g. X123456
        #[arg(value_parser = parse_crn)]
        crn: String,
        /// Staff code of the practitioner
        staff_code: String,
        /// initial_allocation (an unallocated case), transfer_in, officer_left,
        /// caseload_adjustment, change_in_tier_or_risk, risk_to_staff, change_of_address or
        /// other (needs --note)
        #[arg(long, value_parser = parse_reason)]
        reason: AllocationReason,
        /// The allocation rationale, kept as a note on the case and in the audit
        #[arg(long)]
        note: Option<String>,
        /// The rationale is sensitive: hidden in lists and outputs unless asked for
        #[arg(long, requires = "note")]
        sensitive: bool,
        /// Who you expect holds the case now (a staff code, or `unallocated`); if it has
        /// changed, nothing is written
        #[arg(long, value_name = "STAFF|unallocated")]
        was: Option<String>,
        /// Allocate even when the officer is not suitable under the allocation rules or it
        /// raises a warning (over 100% of capacity)
        #[arg(long)]
        yes: bool,
    },
    /// Record an SPO's management oversight of a case (dated --as-of)
    Oversight {
        #[arg(value_parser = parse_crn)]
        crn: String,
        /// Staff code of the SPO
        #[arg(long)]
        by: String,
        /// allocation, periodic, risk_change, transfer or other
        #[arg(long, value_parser = parse_oversight_kind)]
        kind: OversightKind,
        #[arg(long)]
        note: String,
        /// Hide the note in lists and exports unless asked for
        #[arg(long)]
        sensitive: bool,
    },
    /// Add a note to a case
    Note {
        #[arg(value_parser = parse_crn)]
        crn: String,
        #[arg(long)]
        text: String,
        #[arg(long)]
        sensitive: bool,
    },
    /// Show the audit trail of every write
    Audit {
        #[arg(long, value_parser = parse_crn)]
        crn: Option<String>,
        /// Only entries on or after this date (YYYY-MM-DD)
        #[arg(long, value_parser = parse_since)]
        since: Option<NaiveDate>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Include the text of sensitive notes
        #[arg(long)]
        show_sensitive: bool,
    },
    /// Evaluate the alert rules: the nightly review. Exit 0, or 3 when there is a new
    /// critical alert, 2 on error
    Alerts {
        #[arg(long, value_enum, default_value_t = AlertFormat::Text)]
        format: AlertFormat,
        /// Write the report to this file (owner-readable only) instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Store this run (metrics snapshot and alerts) for comparison and trends
        #[arg(long)]
        record: bool,
        /// Only this region
        #[arg(long)]
        region: Option<String>,
        /// Show only this PDU's statuses, incidents and alerts (a recorded run still covers
        /// every PDU evaluated)
        #[arg(long, value_name = "CODE")]
        pdu: Option<String>,
        /// Text output: list every alert instead of one line per incident
        #[arg(long)]
        members: bool,
    },
    /// Acknowledge an open incident (rule:PDU) or alert (rule:PDU:CRN) of the last recorded
    /// run with a note
    Ack {
        key: String,
        #[arg(long)]
        note: String,
    },
    /// Silence incidents or alerts until a date (at most 90 days ahead): still counted and
    /// listed, shown as silenced, and they wake nobody (exit 3) until then
    Silence {
        /// One or more of rule=ID, pdu=CODE, crn=CRN (all must match)
        #[arg(required = true, value_name = "MATCHER")]
        matchers: Vec<String>,
        /// The first day the silence no longer applies, YYYY-MM-DD
        #[arg(long, value_name = "DATE", value_parser = parse_until)]
        until: Option<NaiveDate>,
        /// Why (required; audited)
        #[arg(long)]
        reason: Option<String>,
    },
    /// List the silences in force (and, with --all, expired ones not removed)
    Silences {
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Remove a silence before its end (audited)
    Unsilence { id: i64 },
    /// The morning worklist: each PDU's status, incidents and ordered actions
    Review {
        /// Only this PDU (fast: reads only its cases)
        #[arg(long, value_name = "CODE")]
        pdu: Option<String>,
        /// Only this region
        #[arg(long)]
        region: Option<String>,
        #[arg(long, value_enum, default_value_t = AlertFormat::Text)]
        format: AlertFormat,
        /// Actions listed per PDU
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Write a consistent copy of the database (safe while others use it)
    Backup {
        /// Where to write the copy; an existing file is never overwritten
        path: PathBuf,
    },
    /// Check the database: integrity, schema version, references
    Check {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
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
