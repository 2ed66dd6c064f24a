//! Checking rows: each field parsed through the domain types, the checks across fields
//! (score and maximum, allocation), the references to rows already stored, and the rules of
//! imported text. A checked row is a typed [`Record`]; a rejected one, every problem in it.

use crate::store::Db;
use chrono::NaiveDate;
use rustc_hash::FxHashSet as HashSet;

use super::{Kind, RowError};
use crate::domain::{
    Assessment, AssessmentKind, Case, CaseType, Contact, Crn, CustodyKind, Enquiry, EnquiryKind,
    EnquiryOutcome, Establishment, Grade, Mappa, OversightKind, OversightRecord, ParseError, Pdu,
    PpfStatus, Practitioner, PractitionerStatus, Rating, Rosh, Tier, fmt_date, parse_code,
    parse_date,
};
use crate::store::load;
use crate::text::is_unsafe;

/// Longest accepted name, note or region, in characters.
const MAX_TEXT: usize = 200;
/// Team names are short ("North A", "Hackney & City 2"): longer is a column mix-up.
const MAX_TEAM: usize = 60;
const MAX_NOTE: usize = 4000;

/// A parsed, checked row, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Pdu(Pdu),
    Establishment(Establishment),
    Practitioner(Practitioner),
    /// A case, and which optional trailing columns its row gave at all: a file without one
    /// (written before it existed) leaves the stored value alone.
    Case(Case, crate::domain::CaseColumnsGiven),
    Contact(Contact),
    Oversight(OversightRecord),
    Enquiry {
        crn: Crn,
        enquiry: Enquiry,
    },
    Assessment {
        crn: Crn,
        assessment: Assessment,
    },
}

impl Record {
    /// The key a file may hold only once, for keyed kinds.
    pub(super) fn key(&self) -> Option<String> {
        match self {
            Record::Pdu(p) => Some(p.code.clone()),
            Record::Establishment(e) => Some(format!("{} {}", e.pdu, e.grade)),
            Record::Practitioner(p) => Some(p.staff_code.clone()),
            Record::Case(c, _) => Some(c.crn.to_string()),
            Record::Contact(_) | Record::Oversight(_) => None,
            Record::Enquiry { crn, enquiry: e } => Some(format!(
                "{} {} {}",
                crn.as_str(),
                e.kind.as_str(),
                fmt_date(e.requested_on)
            )),
            Record::Assessment { crn, assessment: a } => Some(format!(
                "{} {} {}",
                crn.as_str(),
                a.kind.as_str(),
                fmt_date(a.completed_on)
            )),
        }
    }
}

/// The cells of one row, aligned with [`Kind::columns`], plus the problems found so far.
pub struct Row<'a> {
    kind: Kind,
    pub(super) line: u64,
    vals: Vec<&'a str>,
    /// Bit `i` set when the file gave column `i` (in its header, or as a field of the JSON
    /// object); a column left out reads as empty, but may mean "keep what is stored".
    given: u64,
    errors: Vec<RowError>,
}

impl<'a> Row<'a> {
    /// A row whose file gave every column.
    pub fn new(kind: Kind, line: u64, vals: Vec<&'a str>) -> Row<'a> {
        Row {
            kind,
            line,
            vals,
            given: u64::MAX,
            errors: Vec::new(),
        }
    }

    /// The row with only the columns of `given` (bit `i` for column `i`) given by the file.
    pub(super) fn with_given(mut self, given: u64) -> Row<'a> {
        self.given = given;
        self
    }

    /// Whether the file gave column `col` at all (empty or not).
    fn given(&self, col: &str) -> bool {
        self.kind
            .columns()
            .iter()
            .position(|(c, _)| *c == col)
            .is_some_and(|i| self.given & (1 << i) != 0)
    }

    pub(super) fn raw(&self, col: &str) -> &'a str {
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

/// What rows are checked against: what the database already holds that they refer to,
/// and today.
pub struct Refs {
    pdus: HashSet<String>,
    practitioners: HashSet<String>,
    /// Enquiries and assessments record things done: none can be dated after this.
    today: NaiveDate,
}

impl Refs {
    pub fn load(conn: Db<'_>, today: NaiveDate) -> rusqlite::Result<Refs> {
        Ok(Refs {
            pdus: load::keys(conn, load::Keyed::Pdus)?,
            practitioners: load::keys(conn, load::Keyed::Practitioners)?,
            today,
        })
    }

    /// References read elsewhere (from a server).
    pub fn new(pdus: HashSet<String>, practitioners: HashSet<String>, today: NaiveDate) -> Refs {
        Refs {
            pdus,
            practitioners,
            today,
        }
    }
}

/// Parses and checks one row. `Err` holds every problem found in it.
/// Where the case a row refers to is looked up.
#[derive(Clone, Copy)]
pub enum Cases<'a> {
    /// The database being written (SQLite, inside the import's transaction).
    Stored(Db<'a>),
    /// The CRNs read beforehand from a server, as many as the login may see.
    Seen(&'a HashSet<String>),
}

impl Cases<'_> {
    fn exists(self, crn: &str) -> rusqlite::Result<bool> {
        match self {
            Cases::Stored(db) => load::case_exists(db, crn),
            Cases::Seen(crns) => Ok(crns.contains(crn)),
        }
    }

    fn missing(self) -> &'static str {
        match self {
            Cases::Stored(_) => "no such case in the database (import cases first)",
            Cases::Seen(_) => {
                "no such case among those this login may see (import cases first, or ask for \
                 access to its PDU)"
            }
        }
    }
}

pub fn validate(row: &mut Row<'_>, conn: Cases<'_>, refs: &Refs) -> Result<Record, Vec<RowError>> {
    let rec = match row.kind {
        Kind::Contacts => validate_contact(row, conn).map_err(|e| vec![db_problem(row.line, e)]),
        Kind::Oversight => validate_oversight(row, conn).map_err(|e| vec![db_problem(row.line, e)]),
        Kind::Enquiries => {
            validate_enquiry(row, conn, refs.today).map_err(|e| vec![db_problem(row.line, e)])
        }
        Kind::Assessments => {
            validate_assessment(row, conn, refs.today).map_err(|e| vec![db_problem(row.line, e)])
        }
        _ => return validate_offline(row, refs).expect("every other kind is checked offline"),
    };
    finish(row, rec)
}

/// Parses and checks a row of a kind checked against the references alone, without the
/// database (so on another thread); `None` for the kinds that need it.
pub(super) fn validate_offline(
    row: &mut Row<'_>,
    refs: &Refs,
) -> Option<Result<Record, Vec<RowError>>> {
    let rec = match row.kind {
        Kind::Pdus => validate_pdu(row),
        Kind::Establishment => validate_establishment(row, refs),
        Kind::Practitioners => validate_practitioner(row, refs),
        Kind::Cases => validate_case(row, refs),
        Kind::Contacts | Kind::Oversight | Kind::Enquiries | Kind::Assessments => return None,
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

/// The optional `rosh`; `Err(())` marks a bad value already reported.
fn rosh(row: &mut Row<'_>) -> Result<Option<Rosh>, ()> {
    match Rosh::parse_optional(row.raw("rosh")) {
        Ok(r) => Ok(r),
        Err(e) => {
            row.parse_err("rosh", e);
            Err(())
        }
    }
}

/// `mappa_category` and `mappa_level`, checked together; a problem names the one at fault.
fn mappa(row: &mut Row<'_>) -> Option<Mappa> {
    match Mappa::parse(row.raw("mappa_category"), row.raw("mappa_level")) {
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
    }
}

/// An optional staff code that must name a stored practitioner; `Err(())` marks a bad value
/// already reported.
fn practitioner_ref(
    row: &mut Row<'_>,
    refs: &Refs,
    col: &'static str,
) -> Result<Option<String>, ()> {
    match row.opt(col, |s| parse_code(col, s)) {
        Ok(Some(code)) if !refs.practitioners.contains(&code) => {
            let v = row.raw(col);
            row.fail(
                col,
                "no such practitioner in the database (import practitioners first)",
                v,
            );
            Err(())
        }
        other => other,
    }
}

fn validate_case(row: &mut Row<'_>, refs: &Refs) -> Checked {
    let crn = row.req("crn", str::parse::<Crn>);
    let name = row.text("name", true, MAX_TEXT, false);
    let pdu = pdu_ref(row, refs, "pdu");
    let team = row.team();
    let tier = row.req("tier", str::parse::<Tier>);
    let rosh = rosh(row);
    let mappa = mappa(row);
    let case_type = row.req("case_type", str::parse::<CaseType>);
    let sentence = row.req("sentence_date", |s| parse_date("sentence_date", s));
    let release = row.opt("release_date", |s| parse_date("release_date", s));
    let allocated_to = practitioner_ref(row, refs, "allocated_to");
    let allocated_on = row.opt("allocated_on", |s| parse_date("allocated_on", s));
    let unallocated_since = row.opt("unallocated_since", |s| parse_date("unallocated_since", s));
    // Empty is standard, stored as NULL; only a value given is stored as given.
    let custody_kind = row.opt("custody_kind", str::parse::<CustodyKind>);
    let ethnicity = row.opt("ethnicity", str::parse::<crate::domain::Ethnicity>);
    let sex = row.opt("sex", str::parse::<crate::domain::Sex>);
    let age_band = row.opt("age_band", str::parse::<crate::domain::AgeBand>);
    let given = crate::domain::CaseColumnsGiven {
        custody_kind: row.given("custody_kind"),
        ethnicity: row.given("ethnicity"),
        sex: row.given("sex"),
        age_band: row.given("age_band"),
    };
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
        Ok(custody_kind),
        Ok(ethnicity),
        Ok(sex),
        Ok(age_band),
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
        custody_kind,
        ethnicity,
        sex,
        age_band,
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
        custody_kind,
        ethnicity,
        sex,
        age_band,
    };
    if let Err(e) = case.check_allocation() {
        let v = row.raw(e.field);
        row.fail(e.field, format!("expected {}", e.expected), v);
        return Ok(None);
    }
    Ok(Some(Record::Case(case, given)))
}

fn crn_ref(row: &mut Row<'_>, conn: Cases<'_>) -> rusqlite::Result<Option<Crn>> {
    let Some(crn) = row.req("crn", str::parse::<Crn>) else {
        return Ok(None);
    };
    if conn.exists(crn.as_str())? {
        Ok(Some(crn))
    } else {
        let v = row.raw("crn");
        row.fail("crn", conn.missing(), v);
        Ok(None)
    }
}

fn validate_contact(row: &mut Row<'_>, conn: Cases<'_>) -> rusqlite::Result<Option<Record>> {
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

fn validate_oversight(row: &mut Row<'_>, conn: Cases<'_>) -> rusqlite::Result<Option<Record>> {
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

/// A date of something done, `col` (required when `required`): refused when after `today`.
/// `Err(())` marks a bad value already reported.
fn done_on(
    row: &mut Row<'_>,
    col: &'static str,
    required: bool,
    today: NaiveDate,
) -> Result<Option<NaiveDate>, ()> {
    let date = if required {
        row.req(col, |s| parse_date(col, s)).ok_or(())?
    } else {
        match row.opt(col, |s| parse_date(col, s))? {
            Some(d) => d,
            None => return Ok(None),
        }
    };
    if date > today {
        let v = row.raw(col);
        row.fail(
            col,
            format!(
                "a date after today ({}): this records something already done",
                fmt_date(today)
            ),
            v,
        );
        return Err(());
    }
    Ok(Some(date))
}

fn validate_enquiry(
    row: &mut Row<'_>,
    conn: Cases<'_>,
    today: NaiveDate,
) -> rusqlite::Result<Option<Record>> {
    let crn = crn_ref(row, conn)?;
    let kind = row.req("kind", str::parse::<EnquiryKind>);
    let requested = done_on(row, "requested_on", true, today);
    let returned = done_on(row, "returned_on", false, today);
    let outcome = row.opt("outcome", str::parse::<EnquiryOutcome>);
    let (Some(crn), Some(kind), Ok(Some(requested_on)), Ok(returned_on), Ok(outcome)) =
        (crn, kind, requested, returned, outcome)
    else {
        return Ok(None);
    };
    let enquiry = Enquiry {
        kind,
        requested_on,
        returned_on,
        outcome,
    };
    if let Err(e) = enquiry.check() {
        let v = row.raw(e.field);
        row.fail(e.field, format!("expected {}", e.expected), v);
        return Ok(None);
    }
    Ok(Some(Record::Enquiry { crn, enquiry }))
}

fn validate_assessment(
    row: &mut Row<'_>,
    conn: Cases<'_>,
    today: NaiveDate,
) -> rusqlite::Result<Option<Record>> {
    let crn = crn_ref(row, conn)?;
    let kind = row.req("kind", str::parse::<AssessmentKind>);
    let completed = done_on(row, "completed_on", true, today);
    // The level the assessment found: required, so "UNKNOWN" (no assessment) is no level.
    let rosh = row.req("rosh", |s| {
        s.parse::<Rosh>().map_err(|e| ParseError {
            expected: "one of LOW, MEDIUM, HIGH, VERY_HIGH (the level the assessment found)",
            ..e
        })
    });
    let (Some(crn), Some(kind), Ok(Some(completed_on)), Some(rosh)) = (crn, kind, completed, rosh)
    else {
        return Ok(None);
    };
    Ok(Some(Record::Assessment {
        crn,
        assessment: Assessment {
            kind,
            completed_on,
            rosh,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::tests::db;
    use crate::store::Store;

    /// The import's today in these tests.
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    fn check(s: &Store, kind: Kind, vals: &[&str]) -> Result<Record, Vec<RowError>> {
        let refs = Refs::load(s.db(), today()).unwrap();
        let mut row = Row::new(kind, 2, vals.to_vec());
        validate(&mut row, Cases::Stored(s.db()), &refs)
    }

    /// The problems of a row, as `column: message`.
    fn problems(s: &Store, kind: Kind, vals: &[&str]) -> Vec<String> {
        check(s, kind, vals)
            .unwrap_err()
            .iter()
            .map(|e| format!("{}: {}", e.column, e.message))
            .collect()
    }

    /// The test database with case X000001 stored.
    fn with_a_case() -> (tempfile::TempDir, Store) {
        let (d, s) = db();
        s.db()
            .sql()
            .execute_batch(
                "INSERT INTO cases (crn, name, pdu, tier, case_type, sentence_date, unallocated_since)
                 VALUES ('X000001', 'A', 'P1', 'C1', 'COMMUNITY', '2026-01-01', '2026-01-02')",
            )
            .unwrap();
        (d, s)
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
        let Record::Case(c, _) = check(&s, Kind::Cases, &CASE).unwrap() else {
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
            let Record::Case(c, _) = check(&s, Kind::Cases, &v).unwrap() else {
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
    fn custody_kind_is_optional_empty_is_standard_and_a_missing_column_is_told_apart() {
        let (_d, s) = db();
        let kind = |v: &str| {
            let mut vals = CASE.to_vec();
            vals.push(v);
            match check(&s, Kind::Cases, &vals) {
                Ok(Record::Case(c, given)) => Ok((c.custody_kind, given.custody_kind)),
                Ok(other) => panic!("{other:?}"),
                Err(e) => Err(e[0].to_string()),
            }
        };
        assert_eq!(kind(""), Ok((None, true)));
        assert_eq!(
            kind("Parole_Eligible"),
            Ok((Some(CustodyKind::ParoleEligible), true))
        );
        assert_eq!(kind("standard"), Ok((Some(CustodyKind::Standard), true)));
        let e = kind("life").unwrap_err();
        assert!(
            e.starts_with("2:custody_kind: expected one of standard"),
            "{e}"
        );
        // A file without the column: the same empty cell, but not given.
        let refs = Refs::load(s.db(), today()).unwrap();
        let custody = Kind::Cases
            .columns()
            .iter()
            .position(|(c, _)| *c == "custody_kind")
            .unwrap();
        let mut row = Row::new(Kind::Cases, 2, CASE.to_vec()).with_given(!(1 << custody));
        let Ok(Record::Case(c, given)) = validate(&mut row, Cases::Stored(s.db()), &refs) else {
            panic!("the row is good")
        };
        assert_eq!((c.custody_kind, given.custody_kind), (None, false));
    }

    #[test]
    fn a_good_enquiry_parses_returned_or_not() {
        let (_d, s) = with_a_case();
        let Record::Enquiry { crn, enquiry } = check(
            &s,
            Kind::Enquiries,
            &[
                "x000001",
                "Domestic_Abuse",
                "2026-02-01",
                "2026-02-20",
                "CONCERNS",
            ],
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(crn.as_str(), "X000001");
        assert_eq!(enquiry.kind, EnquiryKind::DomesticAbuse);
        assert_eq!(enquiry.outcome, Some(EnquiryOutcome::Concerns));
        let rec = check(
            &s,
            Kind::Enquiries,
            &["X000001", "child_safeguarding", "2026-12-01", "", ""],
        )
        .unwrap();
        assert_eq!(
            rec.key().as_deref(),
            Some("X000001 child_safeguarding 2026-12-01")
        );
        let Record::Enquiry { enquiry, .. } = rec else {
            panic!()
        };
        assert_eq!((enquiry.returned_on, enquiry.outcome), (None, None));
    }

    #[test]
    fn enquiries_refuse_unknown_values_impossible_returns_future_dates_and_unknown_cases() {
        let (_d, s) = with_a_case();
        let q = |vals: [&str; 5]| problems(&s, Kind::Enquiries, &vals);
        let one = |vals: [&str; 5]| {
            let p = q(vals);
            assert_eq!(p.len(), 1, "{p:?}");
            p[0].clone()
        };
        assert!(
            one(["X000001", "police", "2026-02-01", "", ""])
                .starts_with("kind: expected one of domestic_abuse, child_safeguarding")
        );
        assert!(
            one([
                "X000001",
                "domestic_abuse",
                "2026-02-01",
                "2026-02-03",
                "fine"
            ])
            .starts_with("outcome: expected one of no_concerns")
        );
        assert_eq!(
            one([
                "X000001",
                "domestic_abuse",
                "2026-02-01",
                "2026-01-31",
                "concerns"
            ]),
            "returned_on: expected a date on or after requested_on"
        );
        assert!(
            one(["X000001", "domestic_abuse", "2026-02-01", "", "concerns"])
                .starts_with("returned_on: expected a date when outcome is set")
        );
        assert!(
            one(["X000001", "domestic_abuse", "2026-02-01", "2026-02-03", ""])
                .starts_with("outcome: expected one of no_concerns, concerns, no_record when")
        );
        assert_eq!(
            one(["X000001", "domestic_abuse", "2026-12-02", "", ""]),
            "requested_on: a date after today (2026-12-01): this records something already done"
        );
        assert!(
            one([
                "X000001",
                "domestic_abuse",
                "2026-11-02",
                "2027-01-01",
                "no_record"
            ])
            .starts_with("returned_on: a date after today")
        );
        assert_eq!(
            one(["X999999", "domestic_abuse", "2026-02-01", "", ""]),
            "crn: no such case in the database (import cases first)"
        );
        assert_eq!(
            one(["X000001", "domestic_abuse", "", "", ""]),
            "requested_on: a value is required"
        );
        // Every bad cell of a row is told at once.
        let p = q(["X999999", "police", "2099-01-01", "", ""]);
        let cols: Vec<&str> = p.iter().map(|p| &p[..p.find(':').unwrap()]).collect();
        assert_eq!(cols, ["crn", "kind", "requested_on"]);
    }

    #[test]
    fn assessments_need_a_known_case_kind_level_and_a_date_not_after_today() {
        let (_d, s) = with_a_case();
        let Record::Assessment { assessment, .. } = check(
            &s,
            Kind::Assessments,
            &["X000001", "Pre_Release", "2026-12-01", "very high"],
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(assessment.kind, AssessmentKind::PreRelease);
        assert_eq!(assessment.rosh, Rosh::VeryHigh);
        let p = problems(
            &s,
            Kind::Assessments,
            &["X000001", "annual", "2026-12-02", "UNKNOWN"],
        );
        let cols: Vec<&str> = p.iter().map(|p| &p[..p.find(':').unwrap()]).collect();
        assert_eq!(cols, ["kind", "completed_on", "rosh"], "{p:?}");
        assert!(p[2].contains("the level the assessment found"), "{p:?}");
        let p = problems(
            &s,
            Kind::Assessments,
            &["X000002", "review", "2026-03-01", ""],
        );
        assert_eq!(
            p,
            [
                "crn: no such case in the database (import cases first)",
                "rosh: a value is required"
            ]
        );
    }
}
