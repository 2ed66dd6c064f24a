//! Validated, all-or-nothing import of CSV and JSON Lines files.
//!
//! Every row is parsed through the domain types and checked against the database inside one
//! transaction. Rows are written as they pass, but the transaction is committed only if the
//! whole file was clean (and this is not a dry run): a rejected file, a dry run, or a process
//! killed half way all leave the database exactly as it was.

// Keys are CRNs and codes from the file: Fx hashing is several times cheaper than SipHash,
// and a file can only slow its own import.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rusqlite::{Connection, Transaction, params};

use crate::domain::{
    Case, CaseType, Contact, Crn, Establishment, Grade, Mappa, OversightKind, OversightRecord,
    ParseError, Pdu, PpfStatus, Practitioner, PractitionerStatus, Rating, Rosh, Tier, fmt_date,
    parse_code, parse_date,
};
use crate::store::batch::BatchInsert;
use crate::store::load;
use crate::store::tally::{CaseKeys, Tallies};
use crate::text::{is_unsafe, quote_value};

pub mod contract;
mod read;

pub use contract::Kind;
pub use read::FileFormat;

use read::Item;

/// How many problems a rejected import lists before "... and N more".
pub const MAX_REPORTED: usize = 20;

/// Longest accepted name, note or region, in characters.
const MAX_TEXT: usize = 200;
/// Team names are short ("North A", "Hackney & City 2"): longer is a column mix-up.
const MAX_TEAM: usize = 60;
const MAX_NOTE: usize = 4000;

/// One problem in a file, located by line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    /// A column name, or `-` for the line as a whole.
    pub column: String,
    pub message: String,
    /// The offending value, raw; sanitised when displayed.
    pub value: Option<String>,
}

impl RowError {
    fn new(line: u64, column: &str, message: impl Into<String>, value: Option<&str>) -> Self {
        RowError {
            line,
            column: column.to_string(),
            message: message.into(),
            value: value.map(str::to_string),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}",
            self.line,
            quote_value(&self.column, 40),
            self.message
        )?;
        if let Some(v) = &self.value {
            write!(f, " (got '{}')", quote_value(v, 60))?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// The file was rejected; nothing was written.
    #[error("{} problem(s) in {}; nothing was imported", .errors.len(), .file.display())]
    Invalid {
        file: PathBuf,
        errors: Vec<RowError>,
    },
    #[error("database error during import: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Rows of `table` would refer to rows of `parent` that do not exist.
    #[error(
        "the import would leave {rows} row(s) of {table} referring to a missing row of {parent}; nothing was imported"
    )]
    BrokenReference {
        table: &'static str,
        parent: String,
        rows: u64,
    },
    /// Every row is validated before it is written, so this is a bug in that validation.
    #[error(
        "the import would leave row {rowid} of {table} breaking its check `{check}`; nothing was imported (casewatch let the row through: please report this)"
    )]
    BrokenCheck {
        table: &'static str,
        check: String,
        rowid: i64,
    },
}

impl ImportError {
    /// The report for a rejected file: up to [`MAX_REPORTED`] lines `FILE:LINE:COLUMN: ...`,
    /// then a count of the rest.
    pub fn report_lines(&self) -> Vec<String> {
        let ImportError::Invalid { file, errors } = self else {
            return vec![crate::text::sanitize(&self.to_string()).into_owned()];
        };
        let f = crate::text::sanitize(&file.display().to_string()).into_owned();
        let mut out: Vec<String> = errors
            .iter()
            .take(MAX_REPORTED)
            .map(|e| format!("{f}:{e}"))
            .collect();
        if errors.len() > MAX_REPORTED {
            out.push(format!("... and {} more", errors.len() - MAX_REPORTED));
        }
        out
    }
}

/// What an import did (or, for a dry run, would do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Exact duplicates of contacts or oversight already recorded.
    pub skipped: u64,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub kind: Kind,
    pub format: Option<FileFormat>,
    pub dry_run: bool,
    pub ignore_unknown: bool,
    /// Who is importing, for the audit trail.
    pub actor: String,
}

/// Called with (bytes read, total bytes) now and then, for a progress bar.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// A parsed, checked row, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Pdu(Pdu),
    Establishment(Establishment),
    Practitioner(Practitioner),
    Case(Case),
    Contact(Contact),
    Oversight(OversightRecord),
}

impl Record {
    /// The key a file may hold only once, for keyed kinds.
    fn key(&self) -> Option<String> {
        match self {
            Record::Pdu(p) => Some(p.code.clone()),
            Record::Establishment(e) => Some(format!("{} {}", e.pdu, e.grade)),
            Record::Practitioner(p) => Some(p.staff_code.clone()),
            Record::Case(c) => Some(c.crn.to_string()),
            Record::Contact(_) | Record::Oversight(_) => None,
        }
    }
}

/// The cells of one row, aligned with [`Kind::columns`], plus the problems found so far.
pub struct Row<'a> {
    kind: Kind,
    line: u64,
    vals: Vec<&'a str>,
    errors: Vec<RowError>,
}

impl<'a> Row<'a> {
    pub fn new(kind: Kind, line: u64, vals: Vec<&'a str>) -> Row<'a> {
        Row {
            kind,
            line,
            vals,
            errors: Vec::new(),
        }
    }

    fn raw(&self, col: &str) -> &'a str {
        self.kind
            .columns()
            .iter()
            .position(|(c, _)| *c == col)
            .and_then(|i| self.vals.get(i).copied())
            .unwrap_or("")
    }

    fn fail(&mut self, col: &str, message: impl Into<String>, value: &str) {
        let v = (!value.is_empty()).then_some(value);
        self.errors
            .push(RowError::new(self.line, col, message.into(), v));
    }

    fn parse_err(&mut self, col: &str, e: ParseError) {
        self.fail(col, format!("expected {}", e.expected), &e.value);
    }

    /// A required value: empty is an error.
    fn req<T>(
        &mut self,
        col: &str,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Option<T> {
        let v = self.raw(col);
        if v.trim().is_empty() {
            self.fail(col, "a value is required", "");
            return None;
        }
        match parse(v) {
            Ok(t) => Some(t),
            Err(e) => {
                self.parse_err(col, e);
                None
            }
        }
    }

    /// An optional value: empty is `None`; `Err(())` marks a bad value already reported.
    fn opt<T>(
        &mut self,
        col: &str,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<Option<T>, ()> {
        let v = self.raw(col);
        if v.trim().is_empty() {
            return Ok(None);
        }
        match parse(v) {
            Ok(t) => Ok(Some(t)),
            Err(e) => {
                self.parse_err(col, e);
                Err(())
            }
        }
    }

    /// The optional `team` column: a name, not a code. Extracts name teams with spaces and
    /// punctuation ("North A", "Hackney & City 2", "St. Mary's/West"), so anything a name may
    /// hold is accepted, trimmed, up to [`MAX_TEAM`] characters; control, bidi and invisible
    /// characters are refused as in names. Empty is none.
    fn team(&mut self) -> Result<Option<String>, ()> {
        match self.text("team", false, MAX_TEAM, false) {
            Some(t) if t.is_empty() => Ok(None),
            Some(t) => Ok(Some(t)),
            None => Err(()),
        }
    }

    fn text(
        &mut self,
        col: &'static str,
        required: bool,
        max: usize,
        newlines: bool,
    ) -> Option<String> {
        let v = self.raw(col);
        let t = v.trim();
        if t.is_empty() {
            if required {
                self.fail(col, "a value is required", "");
                return None;
            }
            return Some(String::new());
        }
        match check_text(t, max, newlines) {
            Ok(()) => Some(t.to_string()),
            Err(why) => {
                self.fail(col, why, v);
                None
            }
        }
    }
}

/// Rejects what a name must not hold. The data contract is UTF-8 text: C0 and C1 control
/// characters (terminal escape sequences start with one), bidirectional overrides and
/// invisible format characters are refused rather than stored, because every screen, report
/// and export would otherwise carry them to someone's terminal or spreadsheet.
pub fn check_text(s: &str, max_chars: usize, allow_newlines: bool) -> Result<(), String> {
    if let Some(c) = s
        .chars()
        .find(|&c| is_unsafe(c) && !(allow_newlines && matches!(c, '\n' | '\t')))
    {
        let what = if c.is_control() {
            "a control character"
        } else {
            "an invisible or bidirectional formatting character"
        };
        return Err(format!("contains {what} (U+{:04X}), not allowed", c as u32));
    }
    if s.chars().count() > max_chars {
        return Err(format!("longer than {max_chars} characters"));
    }
    Ok(())
}

fn err(field: &'static str, value: &str, expected: &'static str) -> ParseError {
    ParseError {
        field,
        value: value.to_string(),
        expected,
    }
}

fn parse_fte(
    field: &'static str,
    s: &str,
    max: f64,
    expected: &'static str,
) -> Result<f64, ParseError> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=max).contains(&v) => Ok(v),
        _ => Err(err(field, s, expected)),
    }
}

fn parse_u32(field: &'static str, s: &str) -> Result<u32, ParseError> {
    s.trim()
        .parse::<u32>()
        .map_err(|_| err(field, s, "a whole number 0 or more"))
}

/// What the database already holds that rows refer to.
pub struct Refs {
    pdus: HashSet<String>,
    practitioners: HashSet<String>,
}

impl Refs {
    pub fn load(conn: &Connection) -> rusqlite::Result<Refs> {
        Ok(Refs {
            pdus: load::keys(conn, load::Keyed::Pdus)?,
            practitioners: load::keys(conn, load::Keyed::Practitioners)?,
        })
    }
}

/// Parses and checks one row. `Err` holds every problem found in it.
pub fn validate(
    row: &mut Row<'_>,
    conn: &Connection,
    refs: &Refs,
) -> Result<Record, Vec<RowError>> {
    let rec = match row.kind {
        Kind::Contacts => validate_contact(row, conn).map_err(|e| vec![db_problem(row.line, e)]),
        Kind::Oversight => validate_oversight(row, conn).map_err(|e| vec![db_problem(row.line, e)]),
        _ => return validate_offline(row, refs).expect("every other kind is checked offline"),
    };
    finish(row, rec)
}

/// Parses and checks a row of a kind checked against the references alone, without the
/// database (so on another thread); `None` for the kinds that need it.
fn validate_offline(row: &mut Row<'_>, refs: &Refs) -> Option<Result<Record, Vec<RowError>>> {
    let rec = match row.kind {
        Kind::Pdus => validate_pdu(row),
        Kind::Establishment => validate_establishment(row, refs),
        Kind::Practitioners => validate_practitioner(row, refs),
        Kind::Cases => validate_case(row, refs),
        Kind::Contacts | Kind::Oversight => return None,
    };
    Some(finish(row, rec))
}

fn finish(row: &mut Row<'_>, rec: Checked) -> Result<Record, Vec<RowError>> {
    match (rec, row.errors.is_empty()) {
        (Ok(Some(r)), true) => Ok(r),
        (Err(e), _) => Err(e),
        _ => Err(std::mem::take(&mut row.errors)),
    }
}

fn db_problem(line: u64, e: rusqlite::Error) -> RowError {
    RowError::new(line, "-", format!("database error: {e}"), None)
}

type Checked = Result<Option<Record>, Vec<RowError>>;

fn validate_pdu(row: &mut Row<'_>) -> Checked {
    let code = row.req("code", |s| parse_code("code", s));
    let name = row.text("name", true, MAX_TEXT, false);
    let region = row.text("region", true, MAX_TEXT, false);
    let ppf = row.opt("ppf_status", str::parse::<PpfStatus>);
    let rating = row.opt("rating", str::parse::<Rating>);
    let score = row.opt("score", |s| parse_u32("score", s));
    let score_max = row.opt("score_max", |s| parse_u32("score_max", s));
    let inspected_on = row.opt("inspected_on", |s| parse_date("inspected_on", s));
    if let (Ok(Some(s)), Ok(Some(m))) = (score, score_max)
        && s > m
    {
        let v = row.raw("score");
        row.fail("score", format!("greater than score_max {m}"), v);
    }
    let (
        Some(code),
        Some(name),
        Some(region),
        Ok(ppf_status),
        Ok(rating),
        Ok(score),
        Ok(score_max),
        Ok(inspected_on),
    ) = (
        code,
        name,
        region,
        ppf,
        rating,
        score,
        score_max,
        inspected_on,
    )
    else {
        return Ok(None);
    };
    Ok(Some(Record::Pdu(Pdu {
        code,
        name,
        region,
        ppf_status,
        rating,
        score,
        score_max,
        inspected_on,
    })))
}

fn pdu_ref(row: &mut Row<'_>, refs: &Refs, col: &'static str) -> Option<String> {
    let code = row.req(col, |s| parse_code(col, s))?;
    if refs.pdus.contains(&code) {
        Some(code)
    } else {
        let v = row.raw(col);
        row.fail(col, "no such PDU in the database (import pdus first)", v);
        None
    }
}

fn validate_establishment(row: &mut Row<'_>, refs: &Refs) -> Checked {
    let pdu = pdu_ref(row, refs, "pdu");
    let grade = row.req("grade", str::parse::<Grade>);
    let target = row.req("target_fte", |s| {
        parse_fte(
            "target_fte",
            s,
            10_000.0,
            "a number of posts (FTE) from 0 to 10000",
        )
    });
    let (Some(pdu), Some(grade), Some(target_fte)) = (pdu, grade, target) else {
        return Ok(None);
    };
    Ok(Some(Record::Establishment(Establishment {
        pdu,
        grade,
        target_fte,
    })))
}

fn validate_practitioner(row: &mut Row<'_>, refs: &Refs) -> Checked {
    let staff_code = row.req("staff_code", |s| parse_code("staff_code", s));
    let name = row.text("name", true, MAX_TEXT, false);
    let grade = row.req("grade", str::parse::<Grade>);
    let pdu = pdu_ref(row, refs, "pdu");
    let team = row.team();
    let hours = row.req("contracted_hours", |s| {
        parse_fte("contracted_hours", s, 100.0, "weekly hours from 0 to 100")
    });
    let start = row.req("start_date", |s| parse_date("start_date", s));
    let status = row.req("status", str::parse::<PractitionerStatus>);
    let (
        Some(staff_code),
        Some(name),
        Some(grade),
        Some(pdu),
        Ok(team),
        Some(contracted_hours),
        Some(start_date),
        Some(status),
    ) = (staff_code, name, grade, pdu, team, hours, start, status)
    else {
        return Ok(None);
    };
    Ok(Some(Record::Practitioner(Practitioner {
        staff_code,
        name,
        grade,
        pdu,
        team,
        contracted_hours,
        start_date,
        status,
    })))
}

fn validate_case(row: &mut Row<'_>, refs: &Refs) -> Checked {
    let crn = row.req("crn", str::parse::<Crn>);
    let name = row.text("name", true, MAX_TEXT, false);
    let pdu = pdu_ref(row, refs, "pdu");
    let team = row.team();
    let tier = row.req("tier", str::parse::<Tier>);
    let rosh = match Rosh::parse_optional(row.raw("rosh")) {
        Ok(r) => Ok(r),
        Err(e) => {
            row.parse_err("rosh", e);
            Err(())
        }
    };
    let mappa = match Mappa::parse(row.raw("mappa_category"), row.raw("mappa_level")) {
        Ok(m) => Some(m),
        Err(e) => {
            let col = e.field;
            let v = if col == "mappa_category" {
                row.raw("mappa_category")
            } else {
                row.raw("mappa_level")
            };
            row.fail(col, format!("expected {}", e.expected), v);
            None
        }
    };
    let case_type = row.req("case_type", str::parse::<CaseType>);
    let sentence = row.req("sentence_date", |s| parse_date("sentence_date", s));
    let release = row.opt("release_date", |s| parse_date("release_date", s));
    let allocated_to = match row.opt("allocated_to", |s| parse_code("allocated_to", s)) {
        Ok(Some(code)) if !refs.practitioners.contains(&code) => {
            let v = row.raw("allocated_to");
            row.fail(
                "allocated_to",
                "no such practitioner in the database (import practitioners first)",
                v,
            );
            Err(())
        }
        other => other,
    };
    let allocated_on = row.opt("allocated_on", |s| parse_date("allocated_on", s));
    let unallocated_since = row.opt("unallocated_since", |s| parse_date("unallocated_since", s));
    let (
        Some(crn),
        Some(name),
        Some(pdu),
        Ok(team),
        Some(tier),
        Ok(rosh),
        Some(mappa),
        Some(case_type),
        Some(sentence_date),
        Ok(release_date),
        Ok(allocated_to),
        Ok(allocated_on),
        Ok(unallocated_since),
    ) = (
        crn,
        name,
        pdu,
        team,
        tier,
        rosh,
        mappa,
        case_type,
        sentence,
        release,
        allocated_to,
        allocated_on,
        unallocated_since,
    )
    else {
        return Ok(None);
    };
    let case = Case {
        crn,
        name,
        pdu,
        team,
        tier,
        rosh,
        mappa,
        case_type,
        sentence_date,
        release_date,
        allocated_to,
        allocated_on,
        unallocated_since,
    };
    if let Err(e) = case.check_allocation() {
        let v = row.raw(e.field);
        row.fail(e.field, format!("expected {}", e.expected), v);
        return Ok(None);
    }
    Ok(Some(Record::Case(case)))
}

fn crn_ref(row: &mut Row<'_>, conn: &Connection) -> rusqlite::Result<Option<Crn>> {
    let Some(crn) = row.req("crn", str::parse::<Crn>) else {
        return Ok(None);
    };
    if load::case_exists(conn, crn.as_str())? {
        Ok(Some(crn))
    } else {
        let v = row.raw("crn");
        row.fail(
            "crn",
            "no such case in the database (import cases first)",
            v,
        );
        Ok(None)
    }
}

fn validate_contact(row: &mut Row<'_>, conn: &Connection) -> rusqlite::Result<Option<Record>> {
    let crn = crn_ref(row, conn)?;
    let date = row.req("date", |s| parse_date("date", s));
    let kind = row.req("kind", str::parse::<crate::domain::ContactKind>);
    let staff = row.opt("staff_code", |s| parse_code("staff_code", s));
    let (Some(crn), Some(date), Some(kind), Ok(staff_code)) = (crn, date, kind, staff) else {
        return Ok(None);
    };
    Ok(Some(Record::Contact(Contact {
        crn,
        date,
        kind,
        staff_code,
    })))
}

fn validate_oversight(row: &mut Row<'_>, conn: &Connection) -> rusqlite::Result<Option<Record>> {
    let crn = crn_ref(row, conn)?;
    let date = row.req("date", |s| parse_date("date", s));
    let spo = row.req("spo_staff_code", |s| parse_code("spo_staff_code", s));
    let kind = row.req("kind", str::parse::<OversightKind>);
    let note = row.text("note", false, MAX_NOTE, true);
    let (Some(crn), Some(date), Some(spo_staff_code), Some(kind), Some(note)) =
        (crn, date, spo, kind, note)
    else {
        return Ok(None);
    };
    Ok(Some(Record::Oversight(OversightRecord {
        crn,
        date,
        spo_staff_code,
        kind,
        note,
    })))
}

enum Outcome {
    Inserted,
    Updated,
    Unchanged,
    Skipped,
}

fn d(date: NaiveDate) -> String {
    fmt_date(date)
}

fn od(date: Option<NaiveDate>) -> Option<String> {
    date.map(fmt_date)
}

/// Inserts a keyed row, or updates it when any value differs. `vals` binds `?1..?n` in both
/// statements, the key first.
///
/// Plain INSERT and UPDATE rather than `ON CONFLICT DO UPDATE`: an upsert makes SQLite copy
/// every page it touches into a statement journal, which made a million-row import ten times
/// slower.
fn upsert(
    tx: &Transaction<'_>,
    existed: bool,
    insert_sql: &str,
    update_sql: &str,
    vals: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Outcome> {
    if !existed {
        tx.prepare_cached(insert_sql)?.execute(vals)?;
        return Ok(Outcome::Inserted);
    }
    match tx.prepare_cached(update_sql)?.execute(vals)? {
        0 => Ok(Outcome::Unchanged),
        _ => Ok(Outcome::Updated),
    }
}

/// Writes one record; upserts report whether anything changed.
fn write(tx: &Transaction<'_>, rec: &Record, existed: bool) -> rusqlite::Result<Outcome> {
    match rec {
        Record::Pdu(p) => upsert(
            tx,
            existed,
            load::INSERT_PDU,
            load::UPDATE_PDU_IF_CHANGED,
            params![
                p.code,
                p.name,
                p.region,
                p.ppf_status.map(|s| s.as_str()),
                p.rating.map(|r| r.as_str()),
                p.score,
                p.score_max,
                od(p.inspected_on),
            ],
        ),
        Record::Establishment(e) => upsert(
            tx,
            existed,
            load::INSERT_ESTABLISHMENT,
            load::UPDATE_ESTABLISHMENT_IF_CHANGED,
            params![e.pdu, e.grade.as_str(), e.target_fte],
        ),
        Record::Practitioner(p) => upsert(
            tx,
            existed,
            load::INSERT_PRACTITIONER,
            load::UPDATE_PRACTITIONER_IF_CHANGED,
            params![
                p.staff_code,
                p.name,
                p.grade.as_str(),
                p.pdu,
                p.team,
                p.contracted_hours,
                d(p.start_date),
                p.status.as_str(),
            ],
        ),
        Record::Case(c) if !existed => {
            let mut insert = case_inserts(tx);
            with_case_values(c, |values| insert.push(values))?;
            insert.flush()?;
            Ok(Outcome::Inserted)
        }
        Record::Case(c) => with_case_values(c, |values| {
            let changed = tx
                .prepare_cached(load::UPDATE_CASE_IF_CHANGED)?
                .execute(values)?;
            Ok(if changed == 0 {
                Outcome::Unchanged
            } else {
                Outcome::Updated
            })
        }),
        Record::Contact(c) => {
            let date = d(c.date);
            let row = load::ContactRow {
                crn: c.crn.as_str(),
                date: &date,
                kind: c.kind.as_str(),
                staff_code: c.staff_code.as_deref(),
            };
            Ok(if load::insert_contact_once(tx, &row)? {
                Outcome::Inserted
            } else {
                Outcome::Skipped
            })
        }
        Record::Oversight(o) => {
            let date = d(o.date);
            let row = load::OversightRow {
                crn: o.crn.as_str(),
                date: &date,
                spo_staff_code: &o.spo_staff_code,
                kind: o.kind.as_str(),
                note: &o.note,
            };
            Ok(if load::insert_oversight_once(tx, &row)? {
                Outcome::Inserted
            } else {
                Outcome::Skipped
            })
        }
    }
}

/// Drives validation and writing over a file, row by row.
struct Run<'t, 'c, 'r> {
    kind: Kind,
    tx: &'t Transaction<'c>,
    refs: &'r Refs,
    seen: HashMap<String, u64>,
    /// Keys already in the database, in the form of [`Record::key`].
    existing: HashSet<String>,
    errors: Vec<RowError>,
    counts: Counts,
    /// New cases not yet written, held for a multi-row statement.
    new_cases: BatchInsert<'t>,
    /// The tallies when they were counted from the rows as they were read instead of being
    /// recounted from the table afterwards (see [`load_csv_in_parallel`]).
    tallies: Option<Tallies>,
}

impl Run<'_, '_, '_> {
    /// Writes the new cases held back, unless the file turned out bad.
    fn flush(&mut self) -> rusqlite::Result<()> {
        if self.errors.is_empty() {
            self.new_cases.flush()?;
        }
        Ok(())
    }

    /// What the load found, letting go of the transaction for the commit or rollback.
    fn finish(self) -> (Vec<RowError>, Counts, Option<Tallies>) {
        (self.errors, self.counts, self.tallies)
    }

    fn row(&mut self, mut row: Row<'_>) -> rusqlite::Result<()> {
        let checked = validate(&mut row, self.tx, self.refs);
        self.accept(row.line, checked)
    }

    /// Takes a checked row: a key given twice is a problem; a good row is written unless the
    /// file is already known to be bad.
    fn accept(
        &mut self,
        line: u64,
        checked: Result<Record, Vec<RowError>>,
    ) -> rusqlite::Result<()> {
        self.counts.rows += 1;
        match checked {
            Err(es) => self.errors.extend(es),
            Ok(rec) => {
                let mut existed = false;
                if let Some(key) = rec.key() {
                    if let Some(first) = self.seen.get(&key) {
                        let col = self.kind.columns()[0].0;
                        self.errors.push(RowError::new(
                            line,
                            col,
                            format!(
                                "duplicate key: also on line {first}; a file may hold each key once"
                            ),
                            Some(&key),
                        ));
                        return Ok(());
                    }
                    existed = self.existing.contains(&key);
                    self.seen.insert(key, line);
                }
                // Once the file is known to be bad, writing is wasted work: keep validating.
                if !self.errors.is_empty() {
                    return Ok(());
                }
                match rec {
                    Record::Case(case) if !existed => {
                        with_case_values(&case, |values| self.new_cases.push(values))?;
                        self.counts.inserted += 1;
                    }
                    rec => match write(self.tx, &rec, existed)? {
                        Outcome::Inserted => self.counts.inserted += 1,
                        Outcome::Updated => self.counts.updated += 1,
                        Outcome::Unchanged => self.counts.unchanged += 1,
                        Outcome::Skipped => self.counts.skipped += 1,
                    },
                }
            }
        }
        Ok(())
    }
}

/// New cases, written many to a statement once [`BatchInsert::flush`] is called.
fn case_inserts<'t>(tx: &'t Transaction<'_>) -> BatchInsert<'t> {
    BatchInsert::new(tx, "cases", load::CASE_COLUMNS)
}

/// Calls `f` with a case's values in the order of [`case_inserts`]'s columns (the key
/// first), its tier and dates as the text stored.
fn with_case_values<R>(c: &Case, f: impl FnOnce(&[&dyn rusqlite::ToSql]) -> R) -> R {
    f(params![
        c.crn.as_str(),
        c.name,
        c.pdu,
        c.team,
        c.tier.as_str(),
        c.rosh.map(|r| r.as_str()),
        c.mappa.category,
        c.mappa.level,
        c.case_type.as_str(),
        d(c.sentence_date),
        od(c.release_date),
        c.allocated_to,
        od(c.allocated_on),
        od(c.unallocated_since),
    ])
}

/// The keys of a keyed kind already stored, read once: cheaper than a lookup per row.
fn existing_keys(conn: &Connection, kind: Kind) -> rusqlite::Result<HashSet<String>> {
    let table = match kind {
        Kind::Pdus => load::Keyed::Pdus,
        Kind::Establishment => load::Keyed::Establishment,
        Kind::Practitioners => load::Keyed::Practitioners,
        Kind::Cases => load::Keyed::Cases,
        Kind::Contacts | Kind::Oversight => return Ok(HashSet::default()),
    };
    load::keys(conn, table)
}

/// The table a kind that may be loaded in bulk is written to.
fn bulk_table(kind: Kind) -> Option<load::BulkTable> {
    match kind {
        Kind::Cases => Some(load::BulkTable::Cases),
        Kind::Contacts => Some(load::BulkTable::Contacts),
        Kind::Oversight => Some(load::BulkTable::Oversight),
        _ => None,
    }
}

/// SQLite's foreign-key check of the table a bulk load wrote, which it skipped row by row.
fn check_references(tx: &Transaction<'_>, kind: Kind) -> Result<(), ImportError> {
    let Some(table) = bulk_table(kind) else {
        return Ok(());
    };
    match load::broken_reference(tx, table)? {
        None => Ok(()),
        Some((parent, rows)) => Err(ImportError::BrokenReference {
            table: table.name(),
            parent,
            rows,
        }),
    }
}

/// SQLite's CHECK constraints over the rows a bulk load wrote, which it skipped row by row:
/// rows with a rowid above `after_rowid`, or every row if some were updated in place.
fn check_constraints(
    tx: &Transaction<'_>,
    kind: Kind,
    after_rowid: i64,
    counts: &Counts,
) -> Result<(), ImportError> {
    let Some(table) = bulk_table(kind) else {
        return Ok(());
    };
    let after_rowid = if counts.updated > 0 {
        i64::MIN
    } else {
        after_rowid
    };
    match crate::store::checks::first_violation(tx, table.name(), after_rowid)? {
        None => Ok(()),
        Some(v) => Err(ImportError::BrokenCheck {
            table: table.name(),
            check: v.check,
            rowid: v.rowid,
        }),
    }
}

/// Files from this size up are loaded with the tallies recounted once at the end (about
/// 40,000 case rows; below it the row-by-row triggers cost less than a recount).
/// (Unit tests take the bulk path for every file; the binary's tests take the other.)
const BULK_BYTES: u64 = if cfg!(test) { 1 } else { 4 << 20 };

/// Imports `path` into `conn` in one transaction. Returns the counts, or `Invalid` with every
/// problem found (and nothing written).
pub fn import_file(
    conn: &mut Connection,
    path: &Path,
    opts: &ImportOptions,
    progress: Progress<'_>,
) -> Result<Counts, ImportError> {
    let (file, total) = read::open(path)?;
    // A large load into cases (or their contacts and oversight) would update the tallies
    // and empty the overview cache row by row (and make SQLite journal each statement);
    // dropping those triggers and recounting once at the end is several times faster.
    let bulk = total >= BULK_BYTES
        && !opts.dry_run
        && matches!(opts.kind, Kind::Cases | Kind::Contacts | Kind::Oversight);
    if !bulk {
        return import_opened(conn, path, file, total, opts, progress, false);
    }
    // SQLite checks a foreign key per statement, which makes every multi-row INSERT keep a
    // statement journal (a third of a large import). Every row's references are checked
    // before it is written, against references read under the write lock, and the whole
    // table is checked once before the commit; so the per-statement check goes for the load.
    // (The pragma cannot change inside a transaction, hence out here.)
    // Likewise SQLite's CHECK constraints, a sixth of the load: every row was validated
    // against stricter rules, and the rows written are checked against them once at the end.
    load::per_row_checks(conn, false)?;
    let result = import_opened(conn, path, file, total, opts, progress, true);
    let restored = load::per_row_checks(conn, true);
    let counts = result?;
    restored?;
    Ok(counts)
}

fn import_opened(
    conn: &mut Connection,
    path: &Path,
    file: File,
    total: u64,
    opts: &ImportOptions,
    progress: Progress<'_>,
    bulk: bool,
) -> Result<Counts, ImportError> {
    let reader = read::buffered(path, file)?;
    let format = opts.format.unwrap_or_else(|| FileFormat::from_path(path));
    // A large file touches most of the cases table and its indexes; the default 2 MB page
    // cache makes every lookup a read, and each upsert writes a statement journal, which
    // belongs in memory rather than a temporary file. Memory is only taken as it is used.
    load::large_load_cache(conn)?;
    // Immediate: take the write lock first, so the references loaded below cannot change
    // under the import.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Dropped and recounted inside this transaction, so a failure or a kill leaves the
    // triggers and tallies exactly as they were.
    if bulk {
        tx.execute_batch(crate::store::schema::BULK_TRIGGERS_DROP)?;
    }
    let refs = Refs::load(&tx)?;
    let existing = existing_keys(&tx, opts.kind)?;
    // Cases loaded in bulk into an empty table are all new: their indexes are built once from
    // the rows at the end, and their tallies counted from the rows on the reading thread,
    // sparing the recount's pass over the table. (Any other load recounts from the table.)
    let into_empty = bulk && opts.kind == Kind::Cases && existing.is_empty();
    let deferred = if into_empty {
        Some(crate::store::batch::DeferredIndexes::drop_all(
            &tx, "cases",
        )?)
    } else {
        None
    };
    // Rows above this one are the load's own, for the checks before the commit.
    let last_rowid_before = match bulk_table(opts.kind) {
        Some(table) if bulk => load::last_rowid(&tx, table)?,
        _ => 0,
    };
    let mut run = Run {
        kind: opts.kind,
        tx: &tx,
        refs: &refs,
        // Sized once for the rows the file can hold (no keyed row is under 64 bytes), rather
        // than grown and rehashed twenty times over a national file.
        seen: HashMap::with_capacity_and_hasher(
            if bulk && opts.kind == Kind::Cases {
                (total / 64) as usize
            } else {
                0
            },
            Default::default(),
        ),
        new_cases: case_inserts(&tx),
        tallies: None,
        existing,
        errors: Vec::new(),
        counts: Counts::default(),
    };
    match format {
        FileFormat::Csv if matches!(opts.kind, Kind::Contacts | Kind::Oversight) => {
            load_csv(&mut run, reader, opts, total, progress)?
        }
        FileFormat::Csv => {
            load_csv_in_parallel(&mut run, path, reader, opts, total, progress, into_empty)?
        }
        FileFormat::Jsonl => load_jsonl(&mut run, path, reader, opts, total, progress)?,
    }
    run.flush()?;
    // Problems with the file itself are collected apart from those of its rows: report them
    // all in line order.
    run.errors.sort_by_key(|e| e.line);
    let (errors, counts, tallies) = run.finish();
    if !errors.is_empty() {
        tx.rollback()?;
        return Err(ImportError::Invalid {
            file: path.to_path_buf(),
            errors,
        });
    }
    if opts.dry_run || counts.inserted + counts.updated == 0 {
        // Nothing to change: leave even the file's change counter alone.
        tx.rollback()?;
    } else {
        // Marks the database as holding real data, so `demo` will not replace it unasked.
        crate::store::set_meta(&tx, "origin", "import")?;
        if bulk {
            check_references(&tx, opts.kind)?;
            check_constraints(&tx, opts.kind, last_rowid_before, &counts)?;
            if let Some(indexes) = deferred {
                indexes.rebuild(&tx)?;
            }
            match tallies {
                Some(counted) => counted.write(&tx)?,
                None => crate::store::tally::rebuild(&tx)?,
            }
            tx.execute_batch(crate::store::schema::BULK_TRIGGERS_RESTORE)?;
        }
        // The audit row goes in with the rows it describes, or not at all.
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let after = serde_json::json!({
            "file": file_name,
            "kind": opts.kind.name(),
            "rows": counts.rows,
            "inserted": counts.inserted,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "skipped": counts.skipped,
        });
        crate::actions::record_audit(
            &tx,
            &crate::store::triage::AuditEntry {
                actor: &opts.actor,
                action: "import",
                crn: None,
                subject: Some(opts.kind.name()),
                before: None,
                after: Some(&after),
                reason: None,
            },
        )?;
        tx.commit()?;
    }
    Ok(counts)
}

/// Progress is reported every this many rows.
const PROGRESS_ROWS: u64 = 16384;

/// A CSV file of a kind that needs the connection to check its rows (contacts and
/// oversight refer to stored cases): read, checked and written on this thread.
fn load_csv(
    run: &mut Run<'_, '_, '_>,
    reader: impl std::io::Read,
    opts: &ImportOptions,
    total: u64,
    progress: Progress<'_>,
) -> Result<(), ImportError> {
    let mut file_errors = Vec::new();
    read::read_csv(run.kind, reader, opts.ignore_unknown, &mut |item| {
        match item {
            Item::Problem(e) => file_errors.push(e),
            Item::Row(row, pos) => {
                run.row(row)?;
                if run.counts.rows.is_multiple_of(PROGRESS_ROWS) {
                    progress(pos, total);
                }
            }
        }
        Ok(())
    })?;
    run.errors.extend(file_errors);
    progress(total, total);
    Ok(())
}

/// A JSON Lines file: read, checked and written on this thread. A line's own problems count
/// at once, so no row after it is written.
fn load_jsonl(
    run: &mut Run<'_, '_, '_>,
    path: &Path,
    reader: impl std::io::BufRead,
    opts: &ImportOptions,
    total: u64,
    progress: Progress<'_>,
) -> Result<(), ImportError> {
    read::read_jsonl(path, run.kind, reader, opts.ignore_unknown, &mut |item| {
        match item {
            Item::Problem(e) => run.errors.push(e),
            Item::Row(row, bytes) => {
                run.row(row)?;
                if run.counts.rows.is_multiple_of(PROGRESS_ROWS) {
                    progress(bytes.min(total), total);
                }
            }
        }
        Ok(())
    })?;
    progress(total, total);
    Ok(())
}

/// Checked rows handed from the reading thread to the writing one, this many at a time.
const HANDOFF_ROWS: usize = 1024;

type Handoff = Vec<(u64, Result<Record, Vec<RowError>>, u64)>;

/// A CSV file of a kind checked against the references alone: one thread reads and checks
/// the rows while this one writes them, so parsing overlaps SQLite's work (a quarter of a
/// million-row import). Rows are written in file order, as on one thread.
fn load_csv_in_parallel(
    run: &mut Run<'_, '_, '_>,
    path: &Path,
    reader: impl std::io::Read + Send,
    opts: &ImportOptions,
    total: u64,
    progress: Progress<'_>,
    count_tallies: bool,
) -> Result<(), ImportError> {
    let (kind, refs) = (run.kind, run.refs);
    let mut tallies = count_tallies.then(Tallies::default);
    std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::sync_channel::<Handoff>(8);
        let reading = scope.spawn(move || {
            let mut errors = Vec::new();
            let mut batch = Handoff::with_capacity(HANDOFF_ROWS);
            let read = read::read_csv(kind, reader, opts.ignore_unknown, &mut |item| {
                let (mut row, pos) = match item {
                    Item::Problem(e) => {
                        errors.push(e);
                        return Ok(());
                    }
                    Item::Row(row, pos) => (row, pos),
                };
                let checked = validate_offline(&mut row, refs)
                    .expect("only kinds checked offline are read in parallel");
                // Counted even if the file turns out bad: then nothing is written at all.
                if let (Some(t), Ok(Record::Case(c))) = (tallies.as_mut(), &checked) {
                    let tier = c.tier.as_str();
                    let allocated_on = c.allocated_on.map(fmt_date).unwrap_or_default();
                    t.add(&CaseKeys::of_new_case(c, tier, &allocated_on));
                }
                batch.push((row.line, checked, pos));
                if batch.len() == HANDOFF_ROWS {
                    let full = std::mem::replace(&mut batch, Handoff::with_capacity(HANDOFF_ROWS));
                    // The writer has stopped on an error of its own, which it reports.
                    send.send(full).map_err(|_| {
                        ImportError::Io(path.to_path_buf(), std::io::Error::other("writer stopped"))
                    })?;
                }
                Ok(())
            });
            if read.is_ok() && !batch.is_empty() {
                let _ = send.send(batch);
            }
            read.map(|()| (errors, tallies))
        });
        let mut written = Ok(());
        'batches: for batch in receive.iter() {
            for (line, checked, pos) in batch {
                if let Err(e) = run.accept(line, checked) {
                    written = Err(e);
                    break 'batches;
                }
                if run.counts.rows.is_multiple_of(PROGRESS_ROWS) {
                    progress(pos, total);
                }
            }
        }
        // Hanging up stops the reader at its next batch.
        drop(receive);
        let read = reading
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        written?;
        let (errors, tallies) = read?;
        run.errors.extend(errors);
        run.tallies = tallies;
        progress(total, total);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OpenMode, Store};

    /// The columns of a cases file, as a first line.
    const CASES_HEADER: &str = "crn,name,pdu,team,tier,rosh,mappa_category,mappa_level,case_type,sentence_date,release_date,allocated_to,allocated_on,unallocated_since\n";

    /// A real (not dry-run) import of `kind`.
    fn opts(kind: Kind) -> ImportOptions {
        ImportOptions {
            kind,
            format: None,
            dry_run: false,
            ignore_unknown: false,
            actor: "t".into(),
        }
    }

    fn db() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("t.db"), OpenMode::CreateIfMissing).unwrap();
        s.conn()
            .execute_batch(
                "INSERT INTO pdus (code, name, region) VALUES ('P1', 'One', 'R');
                 INSERT INTO practitioners VALUES ('S1', 'Ann', 'PO', 'P1', NULL, 37, '2020-01-01', 'in_post');",
            )
            .unwrap();
        (dir, s)
    }

    fn check(s: &Store, kind: Kind, vals: &[&str]) -> Result<Record, Vec<RowError>> {
        let refs = Refs::load(s.conn()).unwrap();
        let mut row = Row::new(kind, 2, vals.to_vec());
        validate(&mut row, s.conn(), &refs)
    }

    const CASE: [&str; 14] = [
        "x000001",
        "Ann Example",
        "P1",
        "",
        "b2",
        "high",
        "",
        "",
        "COMMUNITY",
        "2026-01-01",
        "",
        "S1",
        "2026-01-05",
        "",
    ];

    #[test]
    fn a_good_case_row_parses_to_canonical_values() {
        let (_d, s) = db();
        let Record::Case(c) = check(&s, Kind::Cases, &CASE).unwrap() else {
            panic!()
        };
        assert_eq!(c.crn.as_str(), "X000001");
        assert_eq!(c.tier.to_string(), "B2");
        assert_eq!(c.rosh, Some(Rosh::High));
        assert_eq!(c.allocated_to.as_deref(), Some("S1"));
    }

    #[test]
    fn every_bad_cell_of_a_row_is_reported_with_its_column() {
        let (_d, s) = db();
        let mut v = CASE;
        v[4] = "E9";
        v[9] = "2026-02-30";
        v[11] = "NOBODY";
        let errs = check(&s, Kind::Cases, &v).unwrap_err();
        let cols: Vec<&str> = errs.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(cols, ["tier", "sentence_date", "allocated_to"]);
        assert!(errs[2].to_string().contains("no such practitioner"));
        assert!(errs[1].to_string().starts_with("2:sentence_date:"));
        assert!(errs[1].to_string().ends_with("(got '2026-02-30')"));
    }

    #[test]
    fn allocation_fields_must_agree_and_pdu_must_exist() {
        let (_d, s) = db();
        let mut v = CASE;
        v[12] = "";
        let errs = check(&s, Kind::Cases, &v).unwrap_err();
        assert_eq!(errs[0].column, "allocated_on");
        let mut v = CASE;
        v[2] = "NOPE";
        let errs = check(&s, Kind::Cases, &v).unwrap_err();
        assert_eq!(errs[0].column, "pdu");
    }

    #[test]
    fn control_characters_and_bidi_overrides_in_names_are_rejected() {
        let (_d, s) = db();
        for bad in ["Ann\u{1b}[31m", "Ann\u{202E}", "Ann\u{9b}", "A\nB"] {
            let mut v = CASE;
            v[1] = bad;
            let errs = check(&s, Kind::Cases, &v).unwrap_err();
            assert_eq!(errs[0].column, "name", "{bad:?}");
            let shown = errs[0].to_string();
            assert!(!shown.chars().any(is_unsafe), "{shown:?}");
        }
        let mut v = CASE;
        v[1] = "Zoë O'Brien-Ng";
        assert!(check(&s, Kind::Cases, &v).is_ok());
    }

    #[test]
    fn teams_are_names_with_spaces_and_punctuation_trimmed() {
        let (_d, s) = db();
        for (given, stored) in [
            ("North A", Some("North A")),
            ("  Hackney & City 2 ", Some("Hackney & City 2")),
            ("O'Brien's", Some("O'Brien's")),
            ("Team 3 (Court)", Some("Team 3 (Court)")),
            ("St. Mary's/West", Some("St. Mary's/West")),
            ("Court, North", Some("Court, North")),
            ("   ", None),
        ] {
            let mut v = CASE;
            v[3] = given;
            let Record::Case(c) = check(&s, Kind::Cases, &v).unwrap() else {
                panic!()
            };
            assert_eq!(c.team.as_deref(), stored, "{given:?}");
            let p = ["S2", "Bo", "PO", "P1", given, "37", "2020-01-01", "in_post"];
            let Record::Practitioner(p) = check(&s, Kind::Practitioners, &p).unwrap() else {
                panic!()
            };
            assert_eq!(p.team.as_deref(), stored, "{given:?}");
        }
    }

    #[test]
    fn a_team_with_control_or_bidi_characters_or_too_long_is_rejected_like_a_name() {
        let (_d, s) = db();
        let long = "T".repeat(MAX_TEAM + 1);
        for (bad, why) in [
            (
                "North\u{1b}[2J",
                "contains a control character (U+001B), not allowed",
            ),
            (
                "North\u{202E}A",
                "contains an invisible or bidirectional formatting character",
            ),
            ("North\tA", "contains a control character (U+0009)"),
            (long.as_str(), "longer than 60 characters"),
        ] {
            let mut v = CASE;
            v[3] = bad;
            let errs = check(&s, Kind::Cases, &v).unwrap_err();
            assert_eq!(errs.len(), 1, "{bad:?}");
            let shown = errs[0].to_string();
            assert!(shown.starts_with("2:team: "), "{shown}");
            assert!(shown.contains(why), "{shown}");
            assert!(!shown.chars().any(is_unsafe), "{shown:?}");
            let p = ["S2", "Bo", "PO", "P1", bad, "37", "2020-01-01", "in_post"];
            let errs = check(&s, Kind::Practitioners, &p).unwrap_err();
            assert_eq!(errs[0].column, "team", "{bad:?}");
        }
        let mut v = CASE;
        v[3] = &long[1..];
        assert!(
            check(&s, Kind::Cases, &v).is_ok(),
            "60 characters are enough"
        );
    }

    #[test]
    fn unknown_grades_and_negative_fte_are_rejected() {
        let (_d, s) = db();
        let errs = check(&s, Kind::Establishment, &["P1", "ACO", "-1"]).unwrap_err();
        let cols: Vec<&str> = errs.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(cols, ["grade", "target_fte"]);
        assert!(check(&s, Kind::Establishment, &["P1", "pso", "12.5"]).is_ok());
    }

    #[test]
    fn contacts_need_a_known_case() {
        let (_d, s) = db();
        let errs = check(&s, Kind::Contacts, &["X999999", "2026-01-01", "video", ""]).unwrap_err();
        assert!(errs[0].message.contains("no such case"));
    }

    #[test]
    fn reports_stop_at_twenty_and_count_the_rest() {
        let errors = (1..=25)
            .map(|i| RowError::new(i, "crn", "bad", Some("\u{1b}x")))
            .collect();
        let e = ImportError::Invalid {
            file: "f.csv".into(),
            errors,
        };
        let lines = e.report_lines();
        assert_eq!(lines.len(), 21);
        assert_eq!(lines[0], "f.csv:1:crn: bad (got '␛x')");
        assert_eq!(lines[20], "... and 5 more");
    }

    #[test]
    fn a_bulk_load_recounts_the_tallies_and_puts_their_triggers_back() {
        let (dir, mut s) = db();
        let triggers = |s: &Store| -> (i64, i64) {
            s.conn()
                .query_row(
                    "SELECT sum(name LIKE 'tally_%'), sum(name LIKE 'overview_cache_%')
                       FROM sqlite_schema WHERE type = 'trigger'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
        let header = CASES_HEADER;
        let cases = dir.path().join("cases.csv");
        std::fs::write(
            &cases,
            format!(
                "{header}X000001,A,P1,,B2,HIGH,1,2,COMMUNITY,2026-01-01,,S1,2026-01-05,\n\
                 X000002,B,P1,,C1,,0,0,LICENCE,2026-02-01,,,,2026-03-01\n\
                 X000003,C,P1,,A3,VERY_HIGH,0,0,CUSTODY,2025-01-01,,S1,2025-02-01,\n"
            ),
        )
        .unwrap();
        import_file(s.conn_mut(), &cases, &opts(Kind::Cases), &mut |_, _| {}).unwrap();
        let contacts = dir.path().join("contacts.csv");
        std::fs::write(&contacts, "crn,date,kind\nX000001,2026-10-01,home_visit\n").unwrap();
        import_file(
            s.conn_mut(),
            &contacts,
            &opts(Kind::Contacts),
            &mut |_, _| {},
        )
        .unwrap();
        // A rejected file changes nothing, triggers included.
        std::fs::write(&contacts, "crn,date,kind\nX000001,not-a-date,home_visit\n").unwrap();
        assert!(
            import_file(
                s.conn_mut(),
                &contacts,
                &opts(Kind::Contacts),
                &mut |_, _| {}
            )
            .is_err()
        );
        assert_eq!(triggers(&s), (3, 18));
        let policy = crate::policy::Policy::defaults();
        let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let counts = |sql: String| {
            crate::store::read::pdu_counts(s.conn(), &sql, &policy, as_of, None).unwrap()
        };
        let tally = counts(crate::store::read::pdu_summary_sql(false));
        assert_eq!(
            tally,
            counts(crate::store::read::pdu_summary_live_sql(false))
        );
        assert_eq!(tally["P1"][..3], [3, 1, 0]);
        // And the triggers work again after the load.
        s.conn()
            .execute(
                "UPDATE cases SET allocated_to = NULL, allocated_on = NULL WHERE crn = 'X000003'",
                [],
            )
            .unwrap();
        let tally = counts(crate::store::read::pdu_summary_sql(false));
        assert_eq!(tally["P1"][..3], [3, 2, 0]);
        // The load turned SQLite's per-statement key check off; it is on again, after a
        // good file and after a rejected one.
        let fk: i64 = s
            .conn()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        // So are its CHECK constraints.
        let e = s
            .conn()
            .execute("UPDATE cases SET rosh = 'BAD' WHERE crn = 'X000002'", [])
            .unwrap_err();
        assert!(e.to_string().contains("CHECK constraint failed"), "{e}");
    }

    #[test]
    fn a_row_breaking_a_check_behind_the_validation_refuses_the_commit() {
        let (dir, mut s) = db();
        let header = CASES_HEADER;
        let cases = dir.path().join("cases.csv");
        std::fs::write(
            &cases,
            format!(
                "{header}X000001,A,P1,,B2,HIGH,1,2,COMMUNITY,2026-01-01,,S1,2026-01-05,\n\
                 X000002,B,P1,,C1,,0,0,LICENCE,2026-02-01,,,,2026-03-01\n"
            ),
        )
        .unwrap();
        let opts = opts(Kind::Cases);
        // Stands in for a validation bug: a value the CHECKs refuse reaches the table. (A
        // change of temp_store would drop the trigger: set it first as the import sets it.)
        s.conn()
            .execute_batch(
                "PRAGMA temp_store = MEMORY;
                 CREATE TEMP TRIGGER forge AFTER INSERT ON main.cases WHEN NEW.crn = 'X000002'
                 BEGIN UPDATE cases SET mappa_level = 9 WHERE rowid = NEW.rowid; END;",
            )
            .unwrap();
        let state = |s: &Store| -> [i64; 5] {
            s.conn()
                .query_row(
                    "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM audit),
                            (SELECT count(*) FROM tally_pdu),
                            (SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'),
                            (SELECT count(*) FROM sqlite_schema WHERE type = 'index')",
                    [],
                    |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]),
                )
                .unwrap()
        };
        let before = state(&s);
        assert_eq!(before[0], 0);
        let e = import_file(s.conn_mut(), &cases, &opts, &mut |_, _| {}).unwrap_err();
        assert!(
            matches!(&e, ImportError::BrokenCheck { table: "cases", check, .. }
                if check == "mappa_level BETWEEN 0 AND 3"),
            "{e}"
        );
        assert_eq!(state(&s), before);
        s.conn().execute_batch("DROP TRIGGER forge").unwrap();
        import_file(s.conn_mut(), &cases, &opts, &mut |_, _| {}).unwrap();
        let after = state(&s);
        assert_eq!(after[0], 2);
        // The indexes dropped for the load into the empty table are back, and measured.
        assert_eq!(after[4], before[4]);
        let measured: i64 = s
            .conn()
            .query_row(
                "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'cases' AND stat LIKE '2 %'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(measured >= 3, "{measured}");
    }

    #[test]
    fn only_rows_the_load_wrote_are_checked_unless_it_updated_some() {
        let (_dir, s) = db();
        s.conn()
            .execute_batch(
                "PRAGMA ignore_check_constraints = ON;
                 INSERT INTO cases (crn, name, pdu, tier, case_type, sentence_date, unallocated_since)
                 VALUES ('X000001', 'A', 'P1', 'C1', 'ELSEWHERE', '2026-01-01', '2026-01-02');",
            )
            .unwrap();
        let rowid = s.conn().last_insert_rowid();
        let tx = s.conn().unchecked_transaction().unwrap();
        let mut counts = Counts::default();
        assert!(check_constraints(&tx, Kind::Cases, rowid, &counts).is_ok());
        let e = check_constraints(&tx, Kind::Cases, rowid - 1, &counts).unwrap_err();
        assert!(
            e.to_string().contains(&format!(
                "row {rowid} of cases breaking its check `case_type IN ("
            )),
            "{e}"
        );
        counts.updated = 1;
        assert!(check_constraints(&tx, Kind::Cases, rowid, &counts).is_err());
        assert!(check_constraints(&tx, Kind::Contacts, 0, &counts).is_ok());
    }

    #[test]
    fn new_cases_go_in_batches_and_every_row_lands_once() {
        let (dir, mut s) = db();
        let header = CASES_HEADER;
        // Rows handed between the threads in two full handoffs and a remainder, written in
        // full batches and a remainder, with an update of a stored case in between.
        const N: usize = 2 * HANDOFF_ROWS + 5;
        s.conn()
            .execute_batch(
                "INSERT INTO cases (crn, name, pdu, tier, case_type, sentence_date, unallocated_since)
                 VALUES ('X900000', 'Old', 'P1', 'C1', 'COMMUNITY', '2026-01-01', '2026-01-02')",
            )
            .unwrap();
        let mut body = String::from(header);
        for i in 0..N {
            body.push_str(&format!(
                "X{i:06},N{i},P1,,B2,MEDIUM,0,0,COMMUNITY,2026-01-01,,S1,2026-01-05,\n"
            ));
            if i == HANDOFF_ROWS + 3 {
                body.push_str("X900000,New,P1,,C1,,0,0,COMMUNITY,2026-01-01,,,,2026-01-02\n");
            }
        }
        let path = dir.path().join("cases.csv");
        std::fs::write(&path, body).unwrap();
        let opts = opts(Kind::Cases);
        let counts = import_file(s.conn_mut(), &path, &opts, &mut |_, _| {}).unwrap();
        assert_eq!((counts.inserted, counts.updated), (N as u64, 1));
        let (n, distinct, last, old): (i64, i64, String, String) = s
            .conn()
            .query_row(
                "SELECT count(*), count(DISTINCT crn), max(crn),
                        (SELECT name FROM cases WHERE crn = 'X900000')
                   FROM cases WHERE crn < 'X900000'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!((n, distinct), (N as i64, n));
        assert_eq!(last, format!("X{:06}", N - 1));
        assert_eq!(old, "New");
    }

    #[test]
    fn problems_found_on_both_threads_are_reported_in_line_order_and_nothing_is_written() {
        let (dir, mut s) = db();
        let header = CASES_HEADER;
        let mut body = String::from(header);
        for i in 0..2500 {
            let line = i + 2;
            body.push_str(&match line {
                10 => "X000010,N,P1,,Z9,MEDIUM,0,0,COMMUNITY,2026-01-01,,,,2026-01-02\n".into(),
                2000 => "X002000,N,P1\n".into(),
                2400 => "X000003,N,P1,,B2,MEDIUM,0,0,COMMUNITY,2026-01-01,,,,2026-01-02\n".into(),
                _ => format!("X{i:06},N,P1,,B2,MEDIUM,0,0,COMMUNITY,2026-01-01,,,,2026-01-02\n"),
            });
        }
        let path = dir.path().join("cases.csv");
        std::fs::write(&path, body).unwrap();
        let opts = opts(Kind::Cases);
        let Err(ImportError::Invalid { errors, .. }) =
            import_file(s.conn_mut(), &path, &opts, &mut |_, _| {})
        else {
            panic!("the file should be refused");
        };
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [10, 2000, 2400]);
        assert!(
            errors[2].message.contains("also on line 5"),
            "{}",
            errors[2]
        );
        let n: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn tallies_counted_from_new_rows_equal_a_recount_from_the_table() {
        use rand::{Rng, SeedableRng};
        let (dir, mut s) = db();
        s.conn()
            .execute_batch(
                "INSERT INTO pdus (code, name, region) VALUES ('P2', 'Two', 'R');
                 INSERT INTO practitioners VALUES ('S2', 'Bo', 'PSO', 'P2', NULL, 37, '2020-01-01', 'in_post');",
            )
            .unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut body = String::from(
            "crn,name,pdu,team,tier,rosh,mappa_category,mappa_level,case_type,sentence_date,release_date,allocated_to,allocated_on,unallocated_since\n",
        );
        for i in 0..3000 {
            let (pdu, staff) = [("P1", "S1"), ("P2", "S2")][rng.random_range(0..2)];
            let rosh = ["", "LOW", "MEDIUM", "HIGH", "VERY_HIGH"][rng.random_range(0..5)];
            let category = rng.random_range(0..5);
            let level = if category > 0 {
                rng.random_range(1..4)
            } else {
                0
            };
            let tier = ["A0", "A3", "B2", "C1", "D3", "D0S"][rng.random_range(0..6)];
            let kind = ["COMMUNITY", "LICENCE", "CUSTODY"][rng.random_range(0..3)];
            let day = format!(
                "2026-{:02}-{:02}",
                rng.random_range(1..13),
                rng.random_range(1..29)
            );
            let (to, on, since) = if rng.random_bool(0.7) {
                (staff, day.as_str(), "")
            } else {
                ("", "", day.as_str())
            };
            body.push_str(&format!(
                "X{i:06},N,{pdu},,{tier},{rosh},{category},{level},{kind},2025-01-01,,{to},{on},{since}\n"
            ));
        }
        let path = dir.path().join("cases.csv");
        std::fs::write(&path, body).unwrap();
        let opts = opts(Kind::Cases);
        import_file(s.conn_mut(), &path, &opts, &mut |_, _| {}).unwrap();
        let dump = |s: &Store| -> Vec<String> {
            [
                "tally_pdu",
                "tally_contact",
                "tally_oversight",
                "tally_caseload",
            ]
            .iter()
            .flat_map(|t| {
                let mut stmt = s.conn().prepare(&format!("SELECT * FROM {t}")).unwrap();
                let n = stmt.column_count();
                stmt.query_map([], |r| {
                    let cells: Vec<String> = (0..n)
                        .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                        .collect();
                    Ok(format!("{t} {}", cells.join(" ")))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
            })
            .collect()
        };
        let counted = dump(&s);
        assert!(counted.len() > 100, "{}", counted.len());
        crate::store::tally::rebuild(s.conn()).unwrap();
        assert_eq!(counted, dump(&s));
    }

    #[test]
    fn a_reference_broken_behind_the_checks_refuses_the_commit() {
        let (_dir, s) = db();
        s.conn()
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO cases (crn, name, pdu, tier, case_type, sentence_date, unallocated_since)
                 VALUES ('X000001', 'A', 'NOPE', 'C1', 'COMMUNITY', '2026-01-01', '2026-01-02');",
            )
            .unwrap();
        let tx = s.conn().unchecked_transaction().unwrap();
        let e = check_references(&tx, Kind::Cases).unwrap_err();
        assert!(
            e.to_string()
                .contains("1 row(s) of cases referring to a missing row of pdus"),
            "{e}"
        );
        assert!(check_references(&tx, Kind::Contacts).is_ok());
    }
}
