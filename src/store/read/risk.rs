//! What the inspection's other checks read of a case (`risk_checks`): the case row's
//! risk-check columns, kept by the schema's triggers, streamed one row per case; and a
//! case's full enquiries, assessments and contacts around release, for its detail.

use chrono::NaiveDate;
use rusqlite::types::ValueRef;
use rusqlite::{OptionalExtension, Result, Row};

use crate::domain::{
    Assessment, AssessmentKind, CaseType, CustodyKind, Enquiry, EnquiryKind, EnquiryOutcome, Mappa,
    Rosh,
};
use crate::risk_checks::CaseInput;
use crate::store::Db;

/// One case as the risk checks see it. Its enquiries and assessments are the ones the
/// checks read (the first and the latest request of each kind, the latest one's return; the
/// first and the latest assessment since sentence, the latest pre-release one before
/// release), not the whole history: [`case_records`] has that.
#[derive(Debug, Clone)]
pub struct RiskRow {
    pub crn: String,
    pub pdu: String,
    pub case_type: CaseType,
    pub sentence_date: NaiveDate,
    pub release_date: Option<NaiveDate>,
    pub custody_kind: CustodyKind,
    pub rosh: Option<Rosh>,
    pub rosh_changed_on: Option<NaiveDate>,
    pub mappa: Mappa,
    pub allocated_on: Option<NaiveDate>,
    pub unallocated_since: Option<NaiveDate>,
    pub enquiries: Vec<Enquiry>,
    pub assessments: Vec<Assessment>,
    /// The latest contact before release, read only for a release near the as-of date (see
    /// [`each`]).
    pub contacts: Vec<NaiveDate>,
}

impl RiskRow {
    pub fn input(&self) -> CaseInput<'_> {
        CaseInput {
            case_type: self.case_type,
            sentence_date: self.sentence_date,
            release_date: self.release_date,
            custody_kind: self.custody_kind,
            rosh: self.rosh,
            rosh_changed_on: self.rosh_changed_on,
            allocated_on: self.allocated_on,
            enquiries: &self.enquiries,
            assessments: &self.assessments,
            contacts: &self.contacts,
        }
    }
}

/// Which cases [`each`] reads.
#[derive(Debug, Clone, Copy)]
pub enum RiskScope<'a> {
    All,
    Region(&'a str),
    Pdu(&'a str),
}

/// How far either side of the as-of date a release has its last contact before release
/// read: the pre-release contact check judges releases in the recent past and the window
/// now open (`risk_checks::RECENT_RELEASE_DAYS` and the policy's window are both 84 days by
/// default; this covers windows up to a year).
pub const RELEASE_CONTACT_SPAN_DAYS: i64 = 366;

const COLUMNS: &str = "c.crn, c.pdu, c.case_type, c.sentence_date, c.release_date, c.custody_kind,
    c.rosh, c.rosh_changed_on, c.mappa_category, c.mappa_level, c.allocated_on,
    c.unallocated_since, c.da_first_requested, c.da_last_requested, c.da_last_returned,
    c.cs_first_requested, c.cs_last_requested, c.cs_last_returned, c.first_assessed,
    c.last_assessed, c.pre_release_assessed,
    CASE WHEN c.release_date BETWEEN :lo AND :hi
         THEN (SELECT max(k.date) FROM contacts k
                WHERE k.crn = c.crn AND k.date < c.release_date) END";

/// Calls `f` with every case of the scope, in no particular order. The row handed to `f` is
/// one buffer refilled for each case, and dates are read without allocating: a million rows
/// at the nightly run cost no allocation past the first.
pub fn each(
    db: Db<'_>,
    scope: RiskScope<'_>,
    as_of: NaiveDate,
    f: impl FnMut(&RiskRow),
) -> Result<()> {
    each_in(db, scope, as_of, None, f)
}

/// The range of row ids the cases occupy (`None` with no cases), for [`each_in`]'s parts.
pub fn case_rowids(db: Db<'_>) -> Result<Option<(i64, i64)>> {
    db.conn()
        .query_row("SELECT min(rowid), max(rowid) FROM cases", [], |r| {
            Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?))
        })
}

/// [`each`] of the cases whose row id lies in `rowids` (inclusive), when given: one part of
/// a scan shared between connections (a range of row ids is a range of the table's b-tree).
pub fn each_in(
    db: Db<'_>,
    scope: RiskScope<'_>,
    as_of: NaiveDate,
    rowids: Option<(i64, i64)>,
    mut f: impl FnMut(&RiskRow),
) -> Result<()> {
    let mut conds: Vec<&str> = Vec::new();
    let join = match scope {
        RiskScope::All => "",
        RiskScope::Region(_) => {
            conds.push("p.region = :scope");
            "JOIN pdus p ON p.code = c.pdu"
        }
        RiskScope::Pdu(_) => {
            conds.push("c.pdu = :scope");
            ""
        }
    };
    if rowids.is_some() {
        conds.push("c.rowid BETWEEN :from AND :to");
    }
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let sql = format!("SELECT {COLUMNS} FROM cases c {join} {filter}");
    let scope = match scope {
        RiskScope::All => None,
        RiskScope::Region(s) | RiskScope::Pdu(s) => Some(s),
    };
    let mut row = RiskRow::empty();
    stream(db, &sql, scope, rowids, as_of, |r| {
        if fill_risk_row(r, &mut row)? {
            f(&row);
        }
        Ok(())
    })
}

/// [`each`] of the named cases (a CRN no case has is skipped): the few a run judges afresh
/// when the others' memos hold (`store::memo`).
pub fn each_named(
    db: Db<'_>,
    crns: &[String],
    as_of: NaiveDate,
    mut f: impl FnMut(&RiskRow),
) -> Result<()> {
    let conn = db.conn();
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM cases c WHERE c.crn = :crn"))?;
    let span = chrono::Duration::days(RELEASE_CONTACT_SPAN_DAYS);
    let lo = crate::domain::fmt_date(as_of - span);
    let hi = crate::domain::fmt_date(as_of + span);
    super::bind_named(&mut stmt, ":lo", &lo)?;
    super::bind_named(&mut stmt, ":hi", &hi)?;
    let mut row = RiskRow::empty();
    for crn in crns {
        super::bind_named(&mut stmt, ":crn", crn)?;
        let mut rows = stmt.raw_query();
        while let Some(r) = rows.next()? {
            if fill_risk_row(r, &mut row)? {
                f(&row);
            }
        }
    }
    Ok(())
}

/// [`each`] of a scope's cases with `extra` SQL columns after the checks' own, which `f`
/// reads from index [`EXTRA_AT`] of the row (the disproportionality view's groups and dates).
pub fn each_with(
    db: Db<'_>,
    scope: RiskScope<'_>,
    as_of: NaiveDate,
    extra: &str,
    mut f: impl FnMut(&RiskRow, &Row<'_>) -> Result<()>,
) -> Result<()> {
    let (join, filter, scope) = match scope {
        RiskScope::All => ("", "", None),
        RiskScope::Region(s) => (
            "JOIN pdus p ON p.code = c.pdu",
            "WHERE p.region = :scope",
            Some(s),
        ),
        RiskScope::Pdu(s) => ("", "WHERE c.pdu = :scope", Some(s)),
    };
    let sql = format!("SELECT {COLUMNS}, {extra} FROM cases c {join} {filter}");
    let mut row = RiskRow::empty();
    stream(db, &sql, scope, None, as_of, |r| {
        if fill_risk_row(r, &mut row)? {
            f(&row, r)?;
        }
        Ok(())
    })
}

/// Where [`each_with`]'s extra columns start.
pub const EXTRA_AT: usize = COLUMN_COUNT;

/// What a PDU's risk lists show of a case besides what the checks read: who it is and who
/// holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLabel {
    pub name: String,
    pub tier: String,
    pub team: Option<String>,
    /// The practitioner's staff code, while allocated.
    pub allocated_to: Option<String>,
    /// The practitioner's name, when the staff code names one on record.
    pub practitioner: Option<String>,
}

/// [`each`] of one PDU's cases, each with its [`CaseLabel`]: what the screen's risk-check
/// and custody-and-release tabs are built from, in one pass.
pub fn each_labelled(
    db: Db<'_>,
    pdu: &str,
    as_of: NaiveDate,
    mut f: impl FnMut(&RiskRow, CaseLabel),
) -> Result<()> {
    let sql = format!(
        "SELECT {COLUMNS}, c.name, c.tier, c.team, c.allocated_to, pr.name
           FROM cases c LEFT JOIN practitioners pr ON pr.staff_code = c.allocated_to
          WHERE c.pdu = :scope"
    );
    let at = COLUMN_COUNT;
    let mut row = RiskRow::empty();
    stream(db, &sql, Some(pdu), None, as_of, |r| {
        if fill_risk_row(r, &mut row)? {
            let label = CaseLabel {
                name: r.get(at)?,
                tier: r.get(at + 1)?,
                team: r.get(at + 2)?,
                allocated_to: r.get(at + 3)?,
                practitioner: r.get(at + 4)?,
            };
            f(&row, label);
        }
        Ok(())
    })
}

/// How many columns [`COLUMNS`] reads.
const COLUMN_COUNT: usize = 22;

/// Runs `sql` (which reads [`COLUMNS`] first) with the release span around `as_of`, the
/// scope and the row-id range bound, handing each row to `f`.
fn stream(
    db: Db<'_>,
    sql: &str,
    scope: Option<&str>,
    rowids: Option<(i64, i64)>,
    as_of: NaiveDate,
    mut f: impl FnMut(&Row<'_>) -> Result<()>,
) -> Result<()> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(sql)?;
    let span = chrono::Duration::days(RELEASE_CONTACT_SPAN_DAYS);
    let lo = crate::domain::fmt_date(as_of - span);
    let hi = crate::domain::fmt_date(as_of + span);
    super::bind_named(&mut stmt, ":lo", &lo)?;
    super::bind_named(&mut stmt, ":hi", &hi)?;
    if let Some(s) = scope {
        super::bind_named(&mut stmt, ":scope", &s)?;
    }
    if let Some((from, to)) = rowids {
        super::bind_named(&mut stmt, ":from", &from)?;
        super::bind_named(&mut stmt, ":to", &to)?;
    }
    let mut rows = stmt.raw_query();
    while let Some(r) = rows.next()? {
        f(r)?;
    }
    Ok(())
}

impl RiskRow {
    /// A buffer for [`fill_risk_row`].
    fn empty() -> RiskRow {
        RiskRow {
            crn: String::new(),
            pdu: String::new(),
            case_type: CaseType::Community,
            sentence_date: NaiveDate::MIN,
            release_date: None,
            custody_kind: CustodyKind::default(),
            rosh: None,
            rosh_changed_on: None,
            mappa: Mappa::NONE,
            allocated_on: None,
            unallocated_since: None,
            enquiries: Vec::with_capacity(4),
            assessments: Vec::with_capacity(3),
            contacts: Vec::with_capacity(1),
        }
    }
}

/// Fills `out` from a row of [`COLUMNS`], reusing its buffers; `false` for a case whose type
/// or sentence date cannot be read (the schema's checks keep them out; `check` reports any
/// that got in).
fn fill_risk_row(r: &Row<'_>, out: &mut RiskRow) -> Result<bool> {
    let Some(case_type) = text(r, 2)?.and_then(|s| s.parse::<CaseType>().ok()) else {
        return Ok(false);
    };
    let Some(sentence_date) = date(r, 3)? else {
        return Ok(false);
    };
    out.enquiries.clear();
    for (kind, first, last, returned) in [
        (EnquiryKind::DomesticAbuse, 12, 13, 14),
        (EnquiryKind::ChildSafeguarding, 15, 16, 17),
    ] {
        let (first, last, returned) = (date(r, first)?, date(r, last)?, date(r, returned)?);
        if let Some(first) = first.filter(|f| Some(*f) != last) {
            out.enquiries.push(Enquiry {
                kind,
                requested_on: first,
                returned_on: None,
                outcome: None,
            });
        }
        if let Some(last) = last {
            out.enquiries.push(Enquiry {
                kind,
                requested_on: last,
                returned_on: returned,
                // The checks read whether and when a request came back, not what it said.
                outcome: returned.map(|_| EnquiryOutcome::NoRecord),
            });
        }
    }
    let rosh = text(r, 6)?.and_then(|s| s.parse::<Rosh>().ok());
    out.assessments.clear();
    for (kind, i) in [
        (AssessmentKind::Initial, 18),
        (AssessmentKind::Review, 19),
        (AssessmentKind::PreRelease, 20),
    ] {
        if let Some(completed_on) = date(r, i)? {
            out.assessments.push(Assessment {
                kind,
                completed_on,
                // Not read by the checks (they name the case's current level).
                rosh: rosh.unwrap_or(Rosh::Low),
            });
        }
    }
    out.crn.clear();
    out.crn.push_str(text(r, 0)?.unwrap_or_default());
    out.pdu.clear();
    out.pdu.push_str(text(r, 1)?.unwrap_or_default());
    out.case_type = case_type;
    out.sentence_date = sentence_date;
    out.release_date = date(r, 4)?;
    out.custody_kind = text(r, 5)?
        .and_then(|s| s.parse::<CustodyKind>().ok())
        .unwrap_or_default();
    out.rosh = rosh;
    out.rosh_changed_on = date(r, 7)?;
    out.mappa = Mappa::new(r.get(8)?, r.get(9)?).unwrap_or(Mappa::NONE);
    out.allocated_on = date(r, 10)?;
    out.unallocated_since = date(r, 11)?;
    out.contacts.clear();
    out.contacts.extend(date(r, 21)?);
    Ok(true)
}

pub(in crate::store) fn text<'r>(r: &'r Row<'_>, i: usize) -> Result<Option<&'r str>> {
    Ok(match r.get_ref(i)? {
        ValueRef::Text(t) => std::str::from_utf8(t).ok(),
        _ => None,
    })
}

/// A stored `YYYY-MM-DD` date, parsed without allocating.
pub(in crate::store) fn date(r: &Row<'_>, i: usize) -> Result<Option<NaiveDate>> {
    let Some(t) = text(r, i)? else {
        return Ok(None);
    };
    let b = t.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Ok(NaiveDate::parse_from_str(t, "%Y-%m-%d").ok());
    }
    let num = |s: &[u8]| -> Option<u32> {
        s.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    Ok(match (num(&b[0..4]), num(&b[5..7]), num(&b[8..10])) {
        (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y as i32, m, d),
        _ => None,
    })
}

/// A case's whole record for the checks and its detail: every enquiry and assessment
/// (oldest first) and every contact date since a year before its release (or none without
/// one). `None` for an unknown CRN.
pub fn case_records(db: Db<'_>, crn: &str) -> Result<Option<CaseRecords>> {
    let conn = db.conn();
    let release: Option<Option<String>> = conn
        .query_row(
            "SELECT release_date FROM cases WHERE crn = ?1",
            [crn],
            |r| r.get(0),
        )
        .optional()?;
    let Some(release) = release else {
        return Ok(None);
    };
    let mut out = CaseRecords::default();
    let mut stmt = conn.prepare_cached(
        "SELECT kind, requested_on, returned_on, outcome FROM enquiries WHERE crn = ?1
          ORDER BY requested_on, kind",
    )?;
    let mut rows = stmt.query([crn])?;
    while let Some(r) = rows.next()? {
        let (Some(kind), Some(requested_on)) = (
            text(r, 0)?.and_then(|s| s.parse::<EnquiryKind>().ok()),
            date(r, 1)?,
        ) else {
            continue;
        };
        out.enquiries.push(Enquiry {
            kind,
            requested_on,
            returned_on: date(r, 2)?,
            outcome: text(r, 3)?.and_then(|s| s.parse().ok()),
        });
    }
    let mut stmt = conn.prepare_cached(
        "SELECT kind, completed_on, rosh FROM assessments WHERE crn = ?1
          ORDER BY completed_on, kind",
    )?;
    let mut rows = stmt.query([crn])?;
    while let Some(r) = rows.next()? {
        let (Some(kind), Some(completed_on), Some(rosh)) = (
            text(r, 0)?.and_then(|s| s.parse::<AssessmentKind>().ok()),
            date(r, 1)?,
            text(r, 2)?.and_then(|s| s.parse::<Rosh>().ok()),
        ) else {
            continue;
        };
        out.assessments.push(Assessment {
            kind,
            completed_on,
            rosh,
        });
    }
    if let Some(release) = release {
        let mut stmt = conn.prepare_cached(
            "SELECT date FROM contacts WHERE crn = ?1 AND date >= date(?2, '-1 year')
              ORDER BY date",
        )?;
        let mut rows = stmt.query(rusqlite::params![crn, release])?;
        while let Some(r) = rows.next()? {
            if let Some(d) = date(r, 0)? {
                out.contacts_near_release.push(d);
            }
        }
    }
    Ok(Some(out))
}

/// See [`case_records`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseRecords {
    pub enquiries: Vec<Enquiry>,
    pub assessments: Vec<Assessment>,
    pub contacts_near_release: Vec<NaiveDate>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OpenMode, Store};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("r.db"), OpenMode::CreateIfMissing).unwrap();
        s.db()
            .sql()
            .execute_batch(
                "INSERT INTO pdus (code, name, region) VALUES ('P', 'P', 'R');
                 INSERT INTO cases (crn, name, pdu, tier, rosh, case_type, sentence_date,
                                    release_date, unallocated_since)
                   VALUES ('X000001', 'N', 'P', 'C1', 'HIGH', 'CUSTODY', '2026-01-05',
                           '2026-12-20', '2026-01-05');
                 INSERT INTO enquiries (crn, kind, requested_on, returned_on, outcome) VALUES
                   ('X000001', 'domestic_abuse', '2026-01-06', '2026-01-20', 'concerns'),
                   ('X000001', 'domestic_abuse', '2026-06-01', NULL, NULL),
                   ('X000001', 'child_safeguarding', '2026-01-07', NULL, NULL);
                 INSERT INTO assessments (crn, kind, completed_on, rosh) VALUES
                   ('X000001', 'initial', '2025-12-01', 'MEDIUM'),
                   ('X000001', 'initial', '2026-01-15', 'HIGH'),
                   ('X000001', 'review', '2026-07-01', 'HIGH'),
                   ('X000001', 'pre_release', '2026-11-30', 'HIGH');
                 INSERT INTO contacts (crn, date, kind) VALUES
                   ('X000001', '2026-10-01', 'video'), ('X000001', '2026-12-22', 'face_to_face');",
            )
            .unwrap();
        (dir, s)
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn rows(s: &Store, scope: RiskScope<'_>, as_of: &str) -> Vec<RiskRow> {
        let mut out = Vec::new();
        each(s.db(), scope, d(as_of), |r| out.push(r.clone())).unwrap();
        out
    }

    /// The triggers keep what the checks read, and the row gives it back as enquiries and
    /// assessments the checks understand.
    #[test]
    fn the_case_row_keeps_the_first_and_latest_of_each_and_the_checks_read_it() {
        let (_d, s) = store();
        let r = &rows(&s, RiskScope::All, "2026-12-01")[0];
        assert_eq!(r.case_type, CaseType::Custody);
        let da: Vec<_> = r
            .enquiries
            .iter()
            .filter(|e| e.kind == EnquiryKind::DomesticAbuse)
            .map(|e| (e.requested_on, e.returned_on))
            .collect();
        assert_eq!(
            da,
            [(d("2026-01-06"), None), (d("2026-06-01"), None)],
            "the first request, then the latest with its (missing) return"
        );
        let done: Vec<_> = r
            .assessments
            .iter()
            .map(|a| (a.kind, a.completed_on))
            .collect();
        assert_eq!(
            done,
            [
                (AssessmentKind::Initial, d("2026-01-15")),
                (AssessmentKind::Review, d("2026-11-30")),
                (AssessmentKind::PreRelease, d("2026-11-30")),
            ],
            "first and latest since sentence (the one before does not count), and the \
             latest pre-release one"
        );
        assert_eq!(
            r.contacts,
            [d("2026-10-01")],
            "the last contact before release"
        );
        // Far from the release, the contact is not read.
        assert!(
            rows(&s, RiskScope::Pdu("P"), "2024-01-01")[0]
                .contacts
                .is_empty()
        );
        assert_eq!(rows(&s, RiskScope::Region("R"), "2026-12-01").len(), 1);
        assert!(rows(&s, RiskScope::Region("Q"), "2026-12-01").is_empty());

        // A return arrives: the trigger moves it onto the case.
        s.db()
            .sql()
            .execute(
                "UPDATE enquiries SET returned_on = '2026-06-10', outcome = 'no_record'
                  WHERE kind = 'domestic_abuse' AND requested_on = '2026-06-01'",
                [],
            )
            .unwrap();
        let r = &rows(&s, RiskScope::All, "2026-12-01")[0];
        assert!(
            r.enquiries
                .iter()
                .any(|e| e.returned_on == Some(d("2026-06-10")))
        );
    }

    /// The labelled stream reads the same rows, with the case's name and tier and its
    /// practitioner's name once allocated.
    #[test]
    fn the_labelled_rows_name_the_case_and_its_practitioner() {
        let (_d, s) = store();
        let labelled = |s: &Store| {
            let mut out = Vec::new();
            each_labelled(s.db(), "P", d("2026-12-01"), |r, l| {
                out.push((r.crn.clone(), l))
            })
            .unwrap();
            out
        };
        let rows = labelled(&s);
        assert_eq!(rows.len(), 1);
        let (crn, label) = &rows[0];
        assert_eq!(crn, "X000001");
        assert_eq!(
            (label.name.as_str(), label.tier.as_str()),
            ("N", "C1"),
            "{label:?}"
        );
        assert_eq!((&label.allocated_to, &label.practitioner), (&None, &None));
        s.db()
            .sql()
            .execute_batch(
                "INSERT INTO practitioners (staff_code, name, grade, pdu, contracted_hours,
                                            start_date, status)
                   VALUES ('P001', 'Pat Officer', 'PO', 'P', 37, '2020-01-01', 'in_post');
                 UPDATE cases SET allocated_to = 'P001', allocated_on = '2026-02-01',
                                  unallocated_since = NULL, team = 'T1';",
            )
            .unwrap();
        let (_, label) = labelled(&s).remove(0);
        assert_eq!(label.allocated_to.as_deref(), Some("P001"));
        assert_eq!(label.practitioner.as_deref(), Some("Pat Officer"));
        assert_eq!(label.team.as_deref(), Some("T1"));
        assert!(
            labelled_of(&s, "Q").is_empty(),
            "another PDU's cases are not read"
        );
    }

    fn labelled_of(s: &Store, pdu: &str) -> Vec<String> {
        let mut out = Vec::new();
        each_labelled(s.db(), pdu, d("2026-12-01"), |r, _| out.push(r.crn.clone())).unwrap();
        out
    }

    /// The checks give the same answer on the case row as on the whole record.
    #[test]
    fn the_checks_agree_on_the_case_row_and_the_whole_record() {
        let (_d, s) = store();
        let policy = crate::policy::Policy::defaults();
        for as_of in [
            "2026-01-10",
            "2026-02-01",
            "2026-06-20",
            "2026-12-01",
            "2027-01-15",
        ] {
            let as_of = d(as_of);
            let r = rows(&s, RiskScope::All, &crate::domain::fmt_date(as_of)).remove(0);
            let full = case_records(s.db(), "X000001").unwrap().unwrap();
            let whole = CaseInput {
                enquiries: &full.enquiries,
                assessments: &full.assessments,
                contacts: &full.contacts_near_release,
                ..r.input()
            };
            let a = crate::risk_checks::evaluate(&policy, &r.input(), as_of);
            let b = crate::risk_checks::evaluate(&policy, &whole, as_of);
            let brief = |c: &crate::risk_checks::CaseChecks| -> Vec<_> {
                c.checks
                    .iter()
                    .map(|c| (c.kind, c.due.date, c.is_overdue()))
                    .collect()
            };
            assert_eq!(brief(&a), brief(&b), "at {as_of}");
        }
        assert!(case_records(s.db(), "X999999").unwrap().is_none());
    }

    use proptest::prelude::*;

    /// A random case and its records, every date within two years of 2026-01-01 (offsets in
    /// days), so that the sentence, release, requests and contacts fall around each other.
    #[derive(Debug, Clone)]
    struct World {
        case_type: usize,
        sentence: i64,
        release: Option<i64>,
        custody_kind: usize,
        enquiries: Vec<(bool, i64, Option<i64>)>,
        assessments: Vec<(usize, i64)>,
        contacts: Vec<i64>,
        rosh_changed: Option<i64>,
        allocated: Option<i64>,
        as_of: i64,
    }

    fn world() -> impl Strategy<Value = World> {
        (
            (
                0usize..3,
                0i64..400,
                proptest::option::of(0i64..700),
                0usize..3,
            ),
            proptest::collection::vec(
                (any::<bool>(), 0i64..600, proptest::option::of(0i64..60)),
                0..5,
            ),
            proptest::collection::vec((0usize..3, 0i64..700), 0..5),
            proptest::collection::vec(0i64..700, 0..6),
            (
                proptest::option::of(0i64..600),
                proptest::option::of(0i64..600),
                0i64..730,
            ),
        )
            .prop_map(
                |((t, sentence, release, k), enquiries, assessments, contacts, (rc, al, as_of))| {
                    World {
                        case_type: t,
                        sentence,
                        release: release.map(|r| sentence + r),
                        custody_kind: k,
                        enquiries: enquiries
                            .into_iter()
                            .map(|(da, at, back)| (da, at, back.map(|b| at + b)))
                            .collect(),
                        assessments,
                        contacts,
                        rosh_changed: rc,
                        allocated: al,
                        as_of,
                    }
                },
            )
    }

    fn day(offset: i64) -> String {
        crate::domain::fmt_date(d("2026-01-01") + chrono::Duration::days(offset))
    }

    /// Writes the world as one case (through the triggers, as an import of each file would)
    /// and evaluates the checks on the case row and on the whole record. Records dated after
    /// the as-of date are left out: the case row keeps the latest of each, whatever the date
    /// (the nightly run judges the data as it stands).
    fn agree(w: &World) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("p.db"), OpenMode::CreateIfMissing).unwrap();
        let sql = s.db().sql();
        let as_of = w.as_of;
        let ct = ["COMMUNITY", "LICENCE", "CUSTODY"][w.case_type];
        let ck = ["standard", "parole_eligible", "indeterminate"][w.custody_kind];
        sql.execute_batch(
            "INSERT INTO pdus (code, name, region) VALUES ('P', 'P', 'R');
             INSERT INTO practitioners VALUES
               ('PO1', 'P One', 'PO', 'P', NULL, 37, '2015-01-01', 'in_post');",
        )
        .unwrap();
        let allocated = w.allocated.filter(|a| *a <= as_of).map(day);
        sql.execute(
            "INSERT INTO cases (crn, name, pdu, tier, rosh, case_type, sentence_date,
                                release_date, custody_kind, allocated_to, allocated_on,
                                unallocated_since)
             VALUES ('X000001', 'N', 'P', 'C1', 'HIGH', ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                ct,
                day(w.sentence),
                w.release.map(day),
                ck,
                allocated.as_ref().map(|_| "PO1"),
                allocated,
                allocated.is_none().then(|| day(w.sentence)),
            ],
        )
        .unwrap();
        if let Some(rc) = w.rosh_changed.filter(|r| *r <= as_of) {
            sql.execute(
                "UPDATE cases SET rosh_changed_on = ?1 WHERE crn = 'X000001'",
                [day(rc)],
            )
            .unwrap();
        }
        for (da, at, back) in &w.enquiries {
            if *at > as_of {
                continue;
            }
            let back = back.filter(|b| *b <= as_of);
            sql.execute(
                "INSERT OR IGNORE INTO enquiries (crn, kind, requested_on, returned_on, outcome)
                 VALUES ('X000001', ?1, ?2, ?3, ?4)",
                rusqlite::params![
                    if *da {
                        "domestic_abuse"
                    } else {
                        "child_safeguarding"
                    },
                    day(*at),
                    back.map(day),
                    back.map(|_| "no_concerns"),
                ],
            )
            .unwrap();
        }
        for (k, at) in w.assessments.iter().filter(|(_, at)| *at <= as_of) {
            sql.execute(
                "INSERT OR IGNORE INTO assessments (crn, kind, completed_on, rosh)
                 VALUES ('X000001', ?1, ?2, 'HIGH')",
                rusqlite::params![["initial", "review", "pre_release"][*k], day(*at)],
            )
            .unwrap();
        }
        for c in w.contacts.iter().filter(|c| **c <= as_of) {
            sql.execute(
                "INSERT INTO contacts (crn, date, kind) VALUES ('X000001', ?1, 'video')",
                [day(*c)],
            )
            .unwrap();
        }
        let as_of_date = d("2026-01-01") + chrono::Duration::days(as_of);
        let row = rows(&s, RiskScope::All, &crate::domain::fmt_date(as_of_date)).remove(0);
        let full = case_records(s.db(), "X000001").unwrap().unwrap();
        let whole = CaseInput {
            enquiries: &full.enquiries,
            assessments: &full.assessments,
            contacts: &full.contacts_near_release,
            ..row.input()
        };
        let policy = crate::policy::Policy::defaults();
        let a = crate::risk_checks::evaluate_dates(&policy, &row.input(), as_of_date);
        let b = crate::risk_checks::evaluate(&policy, &whole, as_of_date);
        // The state and whether it was on time, not the day a check was met: the row keeps
        // the latest pre-release assessment and contact, the whole record finds the first
        // in the window (both inside it, or neither).
        // The row reads the last contact before release only for a release within
        // RELEASE_CONTACT_SPAN_DAYS of the as-of date; an older one's pre-release contact is
        // no one's alert or share (both look back 12 weeks), so it is not compared.
        let span = chrono::Duration::days(RELEASE_CONTACT_SPAN_DAYS);
        let contact_read = row
            .release_date
            .is_some_and(|r| r >= as_of_date - span && r <= as_of_date + span);
        let brief = |c: &crate::risk_checks::CaseChecks| -> Vec<_> {
            c.checks
                .iter()
                .filter(|c| {
                    contact_read || c.kind != crate::risk_checks::CheckKind::PreReleaseContact
                })
                .map(|c| {
                    let met = matches!(c.status, crate::risk_checks::Status::Met { .. });
                    (c.kind, c.due.date, c.is_overdue(), met, c.on_time())
                })
                .collect()
        };
        prop_assert_eq!(brief(&a), brief(&b), "{:?}", w);
        prop_assert_eq!(
            crate::risk_checks::CaseRiskMetrics::of(&a),
            crate::risk_checks::CaseRiskMetrics::of(&b)
        );
        Ok(())
    }

    /// Found by the property test: a release 367 days before the as-of date, a contact in
    /// the window before it. The row does not read it; nothing depends on it.
    #[test]
    fn a_release_older_than_the_span_agrees_on_everything_read() {
        let w = World {
            case_type: 1,
            sentence: 154,
            release: Some(205),
            custody_kind: 0,
            enquiries: Vec::new(),
            assessments: Vec::new(),
            contacts: vec![121],
            rosh_changed: None,
            allocated: None,
            as_of: 572,
        };
        agree(&w).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 96,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// What the nightly run and the lists read (the case row, kept by triggers) and what
        /// the case detail reads (every record) give the checks the same answer.
        #[test]
        fn the_case_row_and_the_whole_record_agree_on_random_cases(w in world()) {
            agree(&w)?;
        }
    }
}
