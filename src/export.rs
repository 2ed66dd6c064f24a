//! Exports of the lists the screens show, as CSV or JSON Lines.
//!
//! Rows come from the same read models as the screens (same selection, same order). Field
//! names are the import contract's where they overlap, and case lists carry every case field,
//! so an exported list re-imports with `--kind cases` (or `practitioners`, `pdus`) unchanged;
//! the extra read-only columns (`days`, `due`, counts) are ignored by import.

use std::path::Path;

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use crate::domain::fmt_date;
use crate::policy::Policy;
use crate::store::read::{self, CaseList, PageQuery, PractitionerSort};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum View {
    Unallocated,
    Mappa,
    OversightOverdue,
    ContactsOverdue,
    Practitioners,
    Summary,
    /// The alerts of a review at the as-of date, against the last recorded run.
    Alerts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
    /// JSON Lines: one object a line, the same format import reads.
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no PDU with code '{0}'")]
    UnknownPdu(String),
    #[error("database error during export: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot format the export: {0}")]
    Csv(#[from] csv::Error),
}

/// Columns of case-list exports: the `cases` import contract, then read-only columns.
pub const CASE_COLUMNS: &[&str] = &[
    "crn",
    "name",
    "pdu",
    "team",
    "tier",
    "rosh",
    "mappa_category",
    "mappa_level",
    "case_type",
    "sentence_date",
    "release_date",
    "allocated_to",
    "allocated_on",
    "unallocated_since",
    "last_contact",
    "last_oversight",
    "days",
    "due",
];

pub const PRACTITIONER_COLUMNS: &[&str] = &[
    "staff_code",
    "name",
    "grade",
    "pdu",
    "team",
    "contracted_hours",
    "start_date",
    "status",
    "caseload",
    "high_risk_cases",
    "points",
    "capacity_pct",
];

pub const ALERT_COLUMNS: &[&str] = &[
    "key",
    "rule",
    "severity",
    "scope",
    "pdu",
    "crn",
    "staff_code",
    "status",
    "first_seen",
    "acknowledged",
    "message",
];

pub const SUMMARY_COLUMNS: &[&str] = &[
    "code",
    "name",
    "region",
    "ppf_status",
    "rating",
    "score",
    "score_max",
    "inspected_on",
    "cases",
    "unallocated",
    "unallocated_mappa",
    "unallocated_high_rosh",
    "mappa_cases",
    "no_rosh",
    "oversight_required",
    "oversight_overdue",
    "contacts_overdue",
    "high_risk_contacts_overdue",
    "target_fte",
    "in_post_fte",
    "vacancy_rate",
    "practitioners",
    "over_capacity",
];

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}
fn os(v: Option<impl Into<String>>) -> Value {
    v.map_or(Value::Null, s)
}
fn date(v: Option<NaiveDate>) -> Value {
    os(v.map(fmt_date))
}
fn num(v: f64) -> Value {
    // Two decimals are plenty for FTE, hours and percentages.
    serde_json::Number::from_f64((v * 100.0).round() / 100.0).map_or(Value::Null, Value::Number)
}
fn int(v: impl Into<i64>) -> Value {
    Value::from(v.into())
}

type Table = (&'static [&'static str], Vec<Vec<Value>>);

/// Builds the export of `view` and formats it.
#[allow(clippy::too_many_arguments)]
pub fn export(
    conn: &Connection,
    policy: &Policy,
    rules: &crate::rules::Rules,
    as_of: NaiveDate,
    view: View,
    pdu: Option<&str>,
    format: ExportFormat,
) -> Result<String, ExportError> {
    let codes: Vec<String> = {
        let mut stmt = conn.prepare("SELECT code FROM pdus ORDER BY code")?;
        let all = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        match pdu {
            Some(p) if !all.iter().any(|c| c == p) => {
                return Err(ExportError::UnknownPdu(crate::text::quote_value(p, 40)));
            }
            Some(p) => vec![p.to_string()],
            None => all,
        }
    };
    let table = match view {
        View::Unallocated => cases(conn, policy, as_of, &codes, CaseList::Unallocated)?,
        View::Mappa => cases(conn, policy, as_of, &codes, CaseList::Mappa)?,
        View::OversightOverdue => cases(conn, policy, as_of, &codes, CaseList::OversightOverdue)?,
        View::ContactsOverdue => cases(conn, policy, as_of, &codes, CaseList::ContactsOverdue)?,
        View::Practitioners => practitioners(conn, policy, as_of, pdu)?,
        View::Summary => summary(conn, policy, as_of, pdu)?,
        View::Alerts => alerts(conn, policy, rules, as_of, pdu)?,
    };
    match format {
        ExportFormat::Csv => to_csv(&table),
        ExportFormat::Json => Ok(to_jsonl(&table)),
    }
}

fn cases(
    conn: &Connection,
    policy: &Policy,
    as_of: NaiveDate,
    codes: &[String],
    list: CaseList,
) -> Result<Table, ExportError> {
    let q = PageQuery {
        limit: i64::MAX as u64,
        ..PageQuery::default()
    };
    let mut rows = Vec::new();
    let mut extra = conn.prepare_cached(
        "SELECT sentence_date, release_date, last_contact, last_oversight FROM cases WHERE crn = ?1",
    )?;
    for code in codes {
        for r in read::case_list_rows(conn, policy, as_of, code, list, &q)? {
            type Extra = (String, Option<String>, Option<String>, Option<String>);
            let e: Option<Extra> = extra
                .query_row([&r.crn], |x| {
                    Ok((x.get(0)?, x.get(1)?, x.get(2)?, x.get(3)?))
                })
                .optional()?;
            let Some((sentence, release, last_contact, last_oversight)) = e else {
                continue;
            };
            rows.push(vec![
                s(r.crn),
                s(r.name),
                s(r.pdu),
                os(r.team),
                s(r.tier),
                os(r.rosh.map(|x| x.as_str())),
                int(r.mappa.category),
                int(r.mappa.level),
                os(r.case_type.map(|x| x.as_str())),
                s(sentence),
                os(release),
                os(r.allocated_to),
                date(r.allocated_on),
                date(r.unallocated_since),
                os(last_contact),
                os(last_oversight),
                r.days.map_or(Value::Null, Value::from),
                date(r.due),
            ]);
        }
    }
    Ok((CASE_COLUMNS, rows))
}

fn alerts(
    conn: &Connection,
    policy: &Policy,
    rules: &crate::rules::Rules,
    as_of: NaiveDate,
    pdu: Option<&str>,
) -> Result<Table, ExportError> {
    let (review, _) = crate::alerts::run(conn, policy, rules, as_of, None)?;
    let rows = review
        .alerts
        .into_iter()
        .filter(|a| pdu.is_none_or(|p| a.pdu == p))
        .map(|a| {
            vec![
                s(a.key),
                s(a.rule),
                s(a.severity.as_str()),
                s(a.scope.as_str()),
                s(a.pdu),
                os(a.crn),
                os(a.staff_code),
                s(a.status.as_str()),
                s(a.first_seen),
                Value::Bool(a.acknowledged),
                s(a.message),
            ]
        })
        .collect();
    Ok((ALERT_COLUMNS, rows))
}

fn practitioners(
    conn: &Connection,
    policy: &Policy,
    as_of: NaiveDate,
    pdu: Option<&str>,
) -> Result<Table, ExportError> {
    let rows = read::practitioners(conn, policy, as_of, pdu, PractitionerSort::Capacity)?
        .into_iter()
        .map(|p| {
            vec![
                s(p.staff_code),
                s(p.name),
                s(p.grade.as_str()),
                s(p.pdu),
                os(p.team),
                num(p.contracted_hours),
                s(fmt_date(p.start_date)),
                s(p.status.as_str()),
                Value::from(p.caseload),
                Value::from(p.high_risk_cases),
                num(p.points),
                p.capacity_pct.map_or(Value::Null, num),
            ]
        })
        .collect();
    Ok((PRACTITIONER_COLUMNS, rows))
}

fn summary(
    conn: &Connection,
    policy: &Policy,
    as_of: NaiveDate,
    pdu: Option<&str>,
) -> Result<Table, ExportError> {
    let rows = read::pdu_summaries(conn, policy, as_of, None)?
        .into_iter()
        .filter(|p| pdu.is_none_or(|c| c == p.code))
        .map(|p| {
            vec![
                s(p.code),
                s(p.name),
                s(p.region),
                os(p.ppf_status.map(|x| x.as_str())),
                os(p.rating.map(|x| x.as_str())),
                p.score.map_or(Value::Null, Value::from),
                p.score_max.map_or(Value::Null, Value::from),
                date(p.inspected_on),
                Value::from(p.cases),
                Value::from(p.unallocated),
                Value::from(p.unallocated_mappa),
                Value::from(p.unallocated_high_rosh),
                Value::from(p.mappa_cases),
                Value::from(p.no_rosh),
                Value::from(p.oversight_required),
                Value::from(p.oversight_overdue),
                Value::from(p.contacts_overdue),
                Value::from(p.high_risk_contacts_overdue),
                num(p.target_fte),
                num(p.in_post_fte),
                p.vacancy_rate.map_or(Value::Null, |v| {
                    Value::from((v * 10_000.0).round() / 10_000.0)
                }),
                Value::from(p.practitioners),
                Value::from(p.over_capacity),
            ]
        })
        .collect();
    Ok((SUMMARY_COLUMNS, rows))
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn to_csv((cols, rows): &Table) -> Result<String, ExportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cols.iter())?;
    for r in rows {
        w.write_record(r.iter().map(cell))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    // Every cell came from a `String`, so the bytes are UTF-8.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn to_jsonl((cols, rows): &Table) -> String {
    let mut out = String::new();
    for r in rows {
        // Written by hand to keep the column order of the CSV.
        out.push('{');
        for (i, (c, v)) in cols.iter().zip(r).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&Value::from(*c).to_string());
            out.push(':');
            out.push_str(&v.to_string());
        }
        out.push_str("}\n");
    }
    out
}

/// Writes `bytes` to `path`, readable by its owner only (exports hold people's details).
///
/// A file is written beside `path` and renamed into place once it is complete and synced, so
/// a full disk or a failed write leaves the old file (or none), never half a file. A device
/// or pipe (`/dev/stdout`, a FIFO) is written directly: there is nothing to rename (and a
/// terminal gets what standard output would, see [`crate::text::TerminalSafe`]).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_private_with(path, |w| w.write_all(bytes))
}

/// [`write_private`] of what `write` writes, streamed (a national run's JSON is tens of
/// megabytes: it is not built in memory first).
pub fn write_private_with(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write;
    let target = match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            // `--out /dev/tty` is a terminal too: shown as standard output would be.
            let f = std::fs::OpenOptions::new().write(true).open(path)?;
            let mut w = crate::text::TerminalSafe::to(&f, std::io::BufWriter::new(&f));
            write(&mut w)?;
            return w.flush();
        }
        // Through a symbolic link to the file it names, as writing in place would.
        Ok(_) => std::fs::canonicalize(path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => path.to_path_buf(),
        Err(e) => return Err(e),
    };
    let name = target
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let tmp = target.with_file_name(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = opts.open(&tmp).and_then(|f| {
        let mut w = std::io::BufWriter::new(f);
        write(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &target)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
