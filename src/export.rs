//! Exports of the lists the screens show, as CSV or JSON Lines.
//!
//! Rows come from the same read models as the screens (same selection, same order). Field
//! names are the import contract's where they overlap, and case lists carry every case field,
//! so an exported list re-imports with `--kind cases` (or `practitioners`, `pdus`) unchanged;
//! the extra read-only columns (`days`, `due`, counts) are ignored by import.

use std::path::Path;

use chrono::NaiveDate;
use serde_json::Value;

use crate::context::Evaluation;
use crate::domain::fmt_date;
use crate::policy::Policy;
use crate::store::Db;
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
    /// Domestic-abuse and child-safeguarding enquiries, as imported.
    Enquiries,
    /// Risk assessments, as imported.
    Assessments,
    /// Who needs support: each practitioner's standing on every measure against the
    /// region's benchmark (one row per practitioner and measure).
    Support,
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
pub const CASE_COLUMNS: &[&str] = crate::import::contract::CASES_EXPORT;

/// Columns of the practitioners' export: the `practitioners` import contract, then
/// read-only columns.
pub const PRACTITIONER_COLUMNS: &[&str] = crate::import::contract::PRACTITIONERS_EXPORT;

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

/// Columns of the summary's export: the `pdus` import contract, then read-only columns.
pub const SUMMARY_COLUMNS: &[&str] = crate::import::contract::PDUS_EXPORT;

/// Columns of the support export: enough to recompute every band by hand.
pub const SUPPORT_COLUMNS: &[&str] = &[
    "region",
    "pdu",
    "team",
    "staff_code",
    "name",
    "grade",
    "cases",
    "months_in_post",
    "excluded",
    "measure",
    "numerator",
    "denominator",
    "value",
    "band",
    "region_rate",
    "region_q1",
    "region_q3",
    "region_iqr",
    "threshold",
    "team_pattern",
];

/// Columns of the enquiries' export: the `enquiries` import contract.
pub const ENQUIRY_COLUMNS: &[&str] = crate::import::contract::ENQUIRIES_EXPORT;

/// Columns of the assessments' export: the `assessments` import contract.
pub const ASSESSMENT_COLUMNS: &[&str] = crate::import::contract::ASSESSMENTS_EXPORT;

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

/// What to export: a list, of one PDU or all, in a format, names as stored or masked.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub view: View,
    pub pdu: Option<&'a str>,
    pub format: ExportFormat,
    /// People's names as the screen's initials (its mask mode, for shared spaces).
    pub mask: bool,
}

/// Builds the export of `view` and formats it.
pub fn export(
    conn: Db<'_>,
    ev: &Evaluation,
    view: View,
    pdu: Option<&str>,
    format: ExportFormat,
) -> Result<String, ExportError> {
    let req = Request {
        view,
        pdu,
        format,
        mask: false,
    };
    export_names(conn, ev, &req).map(|(text, _)| text)
}

/// [`export`] of a [`Request`] (names masked when it says so), and the number of rows.
pub fn export_names(
    conn: Db<'_>,
    ev: &Evaluation,
    req: &Request<'_>,
) -> Result<(String, u64), ExportError> {
    let (policy, as_of) = (&ev.policy, ev.as_of);
    let Request {
        view,
        pdu,
        format,
        mask,
    } = *req;
    let codes: Vec<String> = {
        let all = read::pdu_codes(conn)?;
        match pdu {
            Some(p) if !all.iter().any(|c| c == p) => {
                return Err(ExportError::UnknownPdu(crate::text::quote_value(p, 40)));
            }
            Some(p) => vec![p.to_string()],
            None => all,
        }
    };
    let list = |l| cases(conn, policy, as_of, &codes, l, mask);
    let table = match view {
        View::Unallocated => list(CaseList::Unallocated)?,
        View::Mappa => list(CaseList::Mappa)?,
        View::OversightOverdue => list(CaseList::OversightOverdue)?,
        View::ContactsOverdue => list(CaseList::ContactsOverdue)?,
        View::Practitioners => practitioners(conn, policy, as_of, pdu, mask)?,
        View::Summary => summary(conn, policy, as_of, pdu.map(|p| vec![p.to_string()]))?,
        View::Alerts => alerts(conn, ev, pdu)?,
        View::Enquiries => enquiries(conn, pdu)?,
        View::Assessments => assessments(conn, pdu)?,
        View::Support => support(conn, policy, as_of, pdu, mask)?,
    };
    let n = table.1.len() as u64;
    let text = match format {
        ExportFormat::Csv => to_csv(&table)?,
        ExportFormat::Json => to_jsonl(&table),
    };
    Ok((text, n))
}

/// Who needs support, per region (the region of `pdu`, or every region), one row per
/// practitioner and measure, worst first.
fn support(
    conn: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    pdu: Option<&str>,
    mask: bool,
) -> Result<Table, ExportError> {
    let regions: Vec<String> = match pdu {
        Some(p) => crate::store::runs::region_of(conn, p)?
            .into_iter()
            .collect(),
        None => read::regions(conn)?.into_iter().map(|(r, _)| r).collect(),
    };
    let mut rows = Vec::new();
    for region in regions {
        let report = read::support::support_report(conn, policy, as_of, &region)?;
        let people = report
            .people
            .iter()
            .filter(|p| pdu.is_none_or(|code| p.figures.pdu == code));
        for p in people {
            let f = &p.figures;
            for st in &p.standings {
                let b = report.benchmark(st.measure);
                let pattern = f.team.as_deref().is_some_and(|team| {
                    report
                        .team_patterns
                        .iter()
                        .any(|t| t.pdu == f.pdu && t.team == team && t.measure == st.measure)
                });
                let bn = |get: fn(&crate::outliers::Benchmark) -> f64| {
                    b.map_or(Value::Null, |b| num(get(b)))
                };
                rows.push(vec![
                    s(region.clone()),
                    s(f.pdu.clone()),
                    os(f.team.clone()),
                    s(f.staff_code.clone()),
                    name(f.name.clone(), mask),
                    s(f.grade.as_str()),
                    Value::from(f.cases),
                    int(f.months_in_post),
                    os(p.excluded.map(|e| e.words())),
                    s(st.measure.key()),
                    num(st.ratio.num),
                    num(st.ratio.den),
                    st.value.map_or(Value::Null, num),
                    os(st.band.map(|b| b.word())),
                    bn(|b| b.rate),
                    bn(|b| b.q1),
                    bn(|b| b.q3),
                    bn(|b| b.iqr),
                    bn(|b| b.threshold),
                    Value::Bool(pattern),
                ]);
            }
        }
    }
    Ok((SUPPORT_COLUMNS, rows))
}

/// A person's name as written to a file: as stored, or masked as the screen masks it.
fn name(n: String, mask: bool) -> Value {
    if mask {
        s(crate::text::masked_name(&n))
    } else {
        s(n)
    }
}

/// One case-list row as export cells, in [`CASE_COLUMNS`] order.
fn case_cells(r: read::CaseRow, e: read::CaseExtra, mask: bool) -> Vec<Value> {
    vec![
        s(r.crn),
        name(r.name, mask),
        s(r.pdu),
        os(r.team),
        s(r.tier),
        os(r.rosh.map(|x| x.as_str())),
        int(r.mappa.category),
        int(r.mappa.level),
        os(r.case_type.map(|x| x.as_str())),
        os(e.sentence_date),
        os(e.release_date),
        os(r.allocated_to),
        date(r.allocated_on),
        date(r.unallocated_since),
        os(e.custody_kind),
        // Like names, kept off files written for shared spaces.
        if mask { Value::Null } else { os(e.ethnicity) },
        if mask { Value::Null } else { os(e.sex) },
        if mask { Value::Null } else { os(e.age_band) },
        os(e.last_contact),
        os(e.last_oversight),
        r.days.map_or(Value::Null, Value::from),
        date(r.due),
    ]
}

fn cases(
    conn: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    codes: &[String],
    list: CaseList,
    mask: bool,
) -> Result<Table, ExportError> {
    let q = PageQuery {
        limit: i64::MAX as u64,
        ..PageQuery::default()
    };
    let mut rows = Vec::new();
    for code in codes {
        read::case_list_each(conn, policy, as_of, code, list, &q, |r, e| {
            rows.push(case_cells(r, e, mask));
            Ok::<_, ExportError>(())
        })?;
    }
    Ok((CASE_COLUMNS, rows))
}

/// The overview as the screen shows it: the summary of these PDUs, in this order, as CSV,
/// and the number of rows.
pub fn summary_csv(
    conn: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    codes: &[String],
) -> Result<(String, u64), ExportError> {
    let table = summary(conn, policy, as_of, Some(codes.to_vec()))?;
    Ok((to_csv(&table)?, table.1.len() as u64))
}

/// One PDU's case table as a screen shows it: the list, its query (filter, sort, order) and
/// whether names are masked.
#[derive(Debug, Clone, Copy)]
pub struct CaseListRequest<'a> {
    pub pdu: &'a str,
    pub list: CaseList,
    pub query: &'a PageQuery,
    pub mask: bool,
}

/// Writes one PDU's case list as CSV to `out`, row by row as SQLite reads it: exactly the
/// rows a screen with this query shows (list, filter, sort and order), names masked as the
/// screen masks them when asked. Returns how many rows were written.
pub fn write_case_list(
    conn: Db<'_>,
    ev: &Evaluation,
    req: &CaseListRequest<'_>,
    out: &mut dyn std::io::Write,
) -> Result<u64, ExportError> {
    let (policy, as_of) = (&ev.policy, ev.as_of);
    let CaseListRequest {
        pdu,
        list,
        query: q,
        mask,
    } = *req;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CASE_COLUMNS.iter())?;
    let q = PageQuery {
        offset: 0,
        limit: i64::MAX as u64,
        ..q.clone()
    };
    let mut n = 0u64;
    read::case_list_each(conn, policy, as_of, pdu, list, &q, |r, e| {
        w.write_record(case_cells(r, e, mask).iter().map(cell))?;
        n += 1;
        Ok::<_, ExportError>(())
    })?;
    w.flush().map_err(csv::Error::from)?;
    Ok(n)
}

/// Columns of the Risk checks tab's export.
pub const RISK_CHECK_COLUMNS: &[&str] = &[
    "crn",
    "name",
    "tier",
    "rosh",
    "mappa_category",
    "mappa_level",
    "case_type",
    "team",
    "allocated_to",
    "practitioner",
    "overdue",
    "days",
];

/// Columns of the Custody & release tab's export.
pub const RELEASE_COLUMNS: &[&str] = &[
    "crn",
    "name",
    "tier",
    "rosh",
    "mappa_category",
    "mappa_level",
    "case_type",
    "team",
    "allocated_to",
    "practitioner",
    "handover_date",
    "handover",
    "release_date",
    "days_to_release",
    "pre_release_contact",
    "pre_release_assessment",
];

/// The cells every risk list's row starts with, in [`RISK_CHECK_COLUMNS`] order.
fn listed_cells(c: &crate::risk_lists::Listed, mask: bool) -> Vec<Value> {
    vec![
        s(c.crn.clone()),
        name(c.name.clone(), mask),
        s(c.tier.clone()),
        os(c.rosh.map(|x| x.as_str())),
        int(c.mappa.category),
        int(c.mappa.level),
        s(c.case_type.as_str()),
        os(c.team.clone()),
        os(c.allocated_to.clone()),
        match &c.practitioner {
            Some(p) => name(p.clone(), mask),
            None => Value::Null,
        },
    ]
}

/// A check around release in one word: done, due or missing (overdue).
fn stage_word(s: &crate::risk_lists::Stage) -> &'static str {
    use crate::risk_checks::Status;
    match s.status {
        Status::Met { .. } => "done",
        Status::Due => "due",
        Status::Overdue { .. } => "missing",
    }
}

/// Writes a PDU's Risk checks list as CSV, the rows and order the tab shows (names masked
/// as the screen masks them when asked); the number of rows.
pub fn write_risk_checks<'a>(
    rows: impl IntoIterator<Item = &'a crate::risk_lists::CheckRow>,
    mask: bool,
    out: &mut dyn std::io::Write,
) -> Result<u64, ExportError> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(RISK_CHECK_COLUMNS.iter())?;
    let mut n = 0;
    for r in rows {
        let mut cells = listed_cells(&r.case, mask);
        cells.push(s(r.phrases(true).join("; ")));
        cells.push(Value::from(r.days()));
        w.write_record(cells.iter().map(cell))?;
        n += 1;
    }
    w.flush().map_err(csv::Error::from)?;
    Ok(n)
}

/// Writes a PDU's Custody & release list as CSV, as [`write_risk_checks`] does.
pub fn write_releases<'a>(
    rows: impl IntoIterator<Item = &'a crate::risk_lists::ReleaseRow>,
    mask: bool,
    out: &mut dyn std::io::Write,
) -> Result<u64, ExportError> {
    use crate::risk_checks::Status;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(RELEASE_COLUMNS.iter())?;
    let mut n = 0;
    for r in rows {
        let mut cells = listed_cells(&r.case, mask);
        cells.push(date(r.handover.map(|h| h.due)));
        cells.push(match r.handover.map(|h| h.status) {
            Some(Status::Met { .. }) => s("allocated"),
            Some(Status::Due) => s("due"),
            Some(Status::Overdue { .. }) => s("overdue"),
            None => Value::Null,
        });
        cells.push(s(fmt_date(r.release)));
        cells.push(Value::from(r.days_to_release));
        cells.push(s(stage_word(&r.contact)));
        cells.push(s(stage_word(&r.assessment)));
        w.write_record(cells.iter().map(cell))?;
        n += 1;
    }
    w.flush().map_err(csv::Error::from)?;
    Ok(n)
}

fn alerts(conn: Db<'_>, ev: &Evaluation, pdu: Option<&str>) -> Result<Table, ExportError> {
    let (review, _) = crate::alerts::run(conn, ev, None)?;
    let rows = review
        .alerts
        .into_iter()
        .filter(|a| pdu.is_none_or(|p| &*a.pdu == p))
        .map(|a| {
            let message = a.message().into_owned();
            vec![
                s(a.key()),
                s(&*a.rule),
                s(a.severity.as_str()),
                s(a.scope.as_str()),
                s(&*a.pdu),
                os(a.crn),
                os(a.staff_code),
                s(a.status.as_str()),
                s(&*a.first_seen),
                Value::Bool(a.acknowledged),
                s(message),
            ]
        })
        .collect();
    Ok((ALERT_COLUMNS, rows))
}

/// Enquiries about the cases of `pdu` (or every PDU), in key order. They hold no names; their
/// CRNs are written as every view writes them, as stored.
fn enquiries(conn: Db<'_>, pdu: Option<&str>) -> Result<Table, ExportError> {
    let rows = read::enquiries(conn, pdu)?
        .into_iter()
        .map(|e| {
            vec![
                s(e.crn),
                s(e.kind),
                s(e.requested_on),
                os(e.returned_on),
                os(e.outcome),
            ]
        })
        .collect();
    Ok((ENQUIRY_COLUMNS, rows))
}

/// Assessments of the cases of `pdu` (or every PDU), in key order.
fn assessments(conn: Db<'_>, pdu: Option<&str>) -> Result<Table, ExportError> {
    let rows = read::assessments(conn, pdu)?
        .into_iter()
        .map(|a| vec![s(a.crn), s(a.kind), s(a.completed_on), s(a.rosh)])
        .collect();
    Ok((ASSESSMENT_COLUMNS, rows))
}

fn practitioners(
    conn: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    pdu: Option<&str>,
    mask: bool,
) -> Result<Table, ExportError> {
    let rows = read::practitioners(conn, policy, as_of, pdu, PractitionerSort::Capacity)?
        .into_iter()
        .map(|p| {
            vec![
                s(p.staff_code),
                name(p.name, mask),
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

/// The summary of the PDUs `codes` names, in that order (every PDU, in code order, for
/// `None`).
fn summary(
    conn: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    codes: Option<Vec<String>>,
) -> Result<Table, ExportError> {
    let mut all = read::pdu_summaries(conn, policy, as_of, None)?;
    if let Some(codes) = codes {
        let place: std::collections::HashMap<&str, usize> = codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        all.retain(|p| place.contains_key(p.code.as_str()));
        all.sort_by_key(|p| place.get(p.code.as_str()).copied());
    }
    let rows = all
        .into_iter()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{DemoOptions, build};
    use crate::store::read::CaseSort;
    use crate::store::{OpenMode, Store};

    fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
    }

    fn demo() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.db");
        let opts = DemoOptions {
            cases: 3000,
            seed: 11,
            anchor: as_of(),
        };
        build(&p, &opts, false).unwrap();
        let s = Store::open(&p, OpenMode::Existing).unwrap();
        (dir, s)
    }

    /// The CSV's records, without the header.
    fn records(bytes: &[u8]) -> Vec<csv::StringRecord> {
        let mut r = csv::Reader::from_reader(bytes);
        assert_eq!(
            r.headers().unwrap().iter().collect::<Vec<_>>(),
            CASE_COLUMNS
        );
        r.records().map(|x| x.unwrap()).collect()
    }

    fn write(s: &Store, list: CaseList, q: &PageQuery, mask: bool) -> (u64, Vec<u8>) {
        let mut out = Vec::new();
        let n = write_case_list(
            s.db(),
            &Evaluation::defaults(as_of()),
            &CaseListRequest {
                pdu: "HFKCW",
                list,
                query: q,
                mask,
            },
            &mut out,
        )
        .unwrap();
        (n, out)
    }

    #[test]
    fn a_filtered_export_has_exactly_the_rows_the_screen_shows_in_its_order() {
        let (_dir, s) = demo();
        let q = PageQuery {
            sort: CaseSort::Days,
            reverse: true,
            filter: crate::filter::parse("rosh:high+ tier:A").unwrap(),
            // The screen's window: the export takes the whole table, not the page.
            offset: 5,
            limit: 10,
        };
        for list in CaseList::ALL {
            let whole = PageQuery {
                offset: 0,
                limit: u64::MAX,
                ..q.clone()
            };
            let want: Vec<String> =
                read::case_list_rows(s.db(), &Policy::defaults(), as_of(), "HFKCW", list, &whole)
                    .unwrap()
                    .into_iter()
                    .map(|r| r.crn)
                    .collect();
            let (n, bytes) = write(&s, list, &q, false);
            let got: Vec<String> = records(&bytes).iter().map(|r| r[0].to_string()).collect();
            assert_eq!(got, want, "{list:?}");
            assert_eq!(n, want.len() as u64);
            let unfiltered = write(&s, list, &PageQuery::default(), false).0;
            assert!(n < unfiltered, "{list:?}: the filter must bite");
        }
    }

    #[test]
    fn a_masked_export_writes_initials_and_no_full_name() {
        let (_dir, s) = demo();
        let (_, plain) = write(&s, CaseList::Mappa, &PageQuery::default(), false);
        let (n, masked) = write(&s, CaseList::Mappa, &PageQuery::default(), true);
        let plain = records(&plain);
        assert!(n > 10);
        assert_eq!(plain.len() as u64, n);
        let text = String::from_utf8(masked.clone()).unwrap();
        for (full, m) in plain.iter().zip(records(&masked)) {
            assert_eq!(full[0], m[0], "same rows, same order");
            assert_eq!(&m[1], crate::text::masked_name(&full[1]));
            assert!(!text.contains(&full[1]), "{} leaked", &full[1]);
            // Only the name and the equality columns differ: those are left empty.
            let equality = |i: usize| ["ethnicity", "sex", "age_band"].contains(&CASE_COLUMNS[i]);
            for i in (0..CASE_COLUMNS.len()).filter(|i| *i != 1 && !equality(*i)) {
                assert_eq!(full[i], m[i]);
            }
            for i in (0..CASE_COLUMNS.len()).filter(|i| equality(*i)) {
                assert_eq!(&m[i], "", "{} is written under masking", CASE_COLUMNS[i]);
            }
        }
    }

    #[test]
    fn the_overview_export_has_the_pdus_on_screen_in_their_order() {
        let (_dir, s) = demo();
        let codes: Vec<String> = ["LAM", "HFKCW", "BAR"].map(String::from).to_vec();
        let (csv, n) = summary_csv(s.db(), &Policy::defaults(), as_of(), &codes).unwrap();
        assert_eq!(n, 3);
        let got: Vec<String> = csv::Reader::from_reader(csv.as_bytes())
            .records()
            .map(|r| r.unwrap()[0].to_string())
            .collect();
        assert_eq!(got, codes);
    }

    #[test]
    fn masked_practitioner_exports_write_initials() {
        let (_dir, s) = demo();
        let ev = Evaluation::defaults(as_of());
        let run = |mask| {
            export_names(
                s.db(),
                &ev,
                &Request {
                    view: View::Practitioners,
                    pdu: Some("HFKCW"),
                    format: ExportFormat::Csv,
                    mask,
                },
            )
            .unwrap()
        };
        let ((plain, n), (masked, m)) = (run(false), run(true));
        assert_eq!(n, m);
        let names: Vec<String> = csv::Reader::from_reader(plain.as_bytes())
            .records()
            .map(|r| r.unwrap()[1].to_string())
            .collect();
        assert_eq!(names.len() as u64, n);
        for name in names {
            assert!(!masked.contains(&name), "{name} leaked");
        }
    }
}
