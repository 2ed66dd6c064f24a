//! Plain types of the probation domain and their parsing from text.
//!
//! No I/O here: the store, the importer and the CLI all parse through these types, so one
//! spelling of every code (tier, RoSH, grade, ...) is accepted everywhere and every rejection
//! reads the same.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Why a value could not be parsed: which field, what was given, what was expected.
///
/// `value` is kept raw; whoever shows it on a terminal sanitises it (see [`crate::text`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field} '{value}': expected {expected}")]
pub struct ParseError {
    pub field: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl ParseError {
    fn new(field: &'static str, value: &str, expected: &'static str) -> Self {
        Self {
            field,
            value: value.to_string(),
            expected,
        }
    }
}

/// Parses an ISO date `YYYY-MM-DD`, and nothing looser.
pub fn parse_date(field: &'static str, s: &str) -> Result<NaiveDate, ParseError> {
    let t = s.trim();
    // chrono accepts "2024-1-5"; a data contract should not.
    let shape_ok = t.len() == 10
        && t.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(ParseError::new(field, s, "a date YYYY-MM-DD"));
    }
    // The shape is checked, so the digits are read directly: `parse_from_str` interprets
    // its pattern on every call, and an import parses millions of dates.
    let num = |r: std::ops::Range<usize>| {
        t.as_bytes()[r]
            .iter()
            .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'))
    };
    i32::try_from(num(0..4))
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, num(5..7), num(8..10)))
        .ok_or_else(|| ParseError::new(field, s, "a real calendar date YYYY-MM-DD"))
}

/// Formats a date the one way the database and files store it.
pub fn fmt_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    // Not `format("%Y-%m-%d")`: that parses the pattern on every call, and bulk writes
    // format millions of dates. Years outside 0..=9999 keep chrono's own spelling.
    if (0..=9999).contains(&d.year()) {
        let (y, m, day) = (d.year() as u32, d.month(), d.day());
        let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
        let mut s = String::with_capacity(10);
        s.extend([
            digit(y / 1000),
            digit(y / 100),
            digit(y / 10),
            digit(y),
            '-',
            digit(m / 10),
            digit(m),
            '-',
            digit(day / 10),
            digit(day),
        ]);
        s
    } else {
        d.format("%Y-%m-%d").to_string()
    }
}

macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $field:literal, $expected:literal {
            $($variant:ident => $text:literal $(| $alias:literal)*),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(
                #[serde(rename = $text)]
                $variant
            ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical spelling, as stored and exported.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                let t = s.trim();
                $(
                    if t.eq_ignore_ascii_case($text) $(|| t.eq_ignore_ascii_case($alias))* {
                        return Ok($name::$variant);
                    }
                )+
                Err(ParseError::new($field, s, $expected))
            }
        }
    };
}

text_enum! {
    /// Practitioner grade.
    Grade, "grade", "one of SPO, PO, PSO, PQiP, NQO" {
        Spo => "SPO",
        Po => "PO",
        Pso => "PSO",
        Pqip => "PQiP",
        Nqo => "NQO",
    }
}

impl Grade {
    /// The establishment line a practitioner of this grade fills. Newly qualified officers
    /// hold probation officer posts.
    pub fn establishment_grade(self) -> Grade {
        match self {
            Grade::Nqo => Grade::Po,
            g => g,
        }
    }

    /// Whether the grade may hold high-risk (HIGH/VERY_HIGH RoSH or MAPPA) cases without a
    /// warning.
    pub fn holds_high_risk(self) -> bool {
        matches!(self, Grade::Po | Grade::Nqo | Grade::Spo)
    }
}

text_enum! {
    /// Whether a practitioner is available to hold cases and fills a funded post.
    PractitionerStatus, "status", "one of in_post, long_term_sick, detached_in, left" {
        InPost => "in_post",
        LongTermSick => "long_term_sick",
        DetachedIn => "detached_in",
        Left => "left",
    }
}

impl PractitionerStatus {
    /// Counts against the PDU's establishment (fills a funded post). Staff on detached duty
    /// from elsewhere relieve the workload but the post here stays vacant.
    pub fn fills_post(self) -> bool {
        matches!(
            self,
            PractitionerStatus::InPost | PractitionerStatus::LongTermSick
        )
    }

    /// Available to take and work cases.
    pub fn works_cases(self) -> bool {
        matches!(
            self,
            PractitionerStatus::InPost | PractitionerStatus::DetachedIn
        )
    }
}

text_enum! {
    /// Risk of serious harm level from the OASys assessment.
    Rosh, "rosh", "one of LOW, MEDIUM, HIGH, VERY_HIGH (empty or UNKNOWN for no assessment)" {
        Low => "LOW",
        Medium => "MEDIUM",
        High => "HIGH",
        VeryHigh => "VERY_HIGH" | "VERY HIGH" | "VERYHIGH",
    }
}

impl Rosh {
    /// Parses a RoSH cell where empty or `UNKNOWN` means no assessment.
    pub fn parse_optional(s: &str) -> Result<Option<Rosh>, ParseError> {
        let t = s.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("UNKNOWN") {
            Ok(None)
        } else {
            t.parse().map(Some)
        }
    }

    pub fn is_high(self) -> bool {
        matches!(self, Rosh::High | Rosh::VeryHigh)
    }
}

text_enum! {
    CaseType, "case_type", "one of COMMUNITY, LICENCE, CUSTODY" {
        Community => "COMMUNITY",
        Licence => "LICENCE" | "LICENSE",
        Custody => "CUSTODY",
    }
}

text_enum! {
    /// Prioritising Probation Framework status of a PDU.
    PpfStatus, "ppf_status", "one of red, amber, green (or empty)" {
        Red => "red",
        Amber => "amber",
        Green => "green",
    }
}

text_enum! {
    /// HM Inspectorate of Probation rating.
    Rating, "rating", "one of inadequate, requires_improvement, good, outstanding (or empty)" {
        Inadequate => "inadequate",
        RequiresImprovement => "requires_improvement" | "requires improvement",
        Good => "good",
        Outstanding => "outstanding",
    }
}

impl Rating {
    /// Human wording for screens and reports.
    pub fn label(self) -> &'static str {
        match self {
            Rating::Inadequate => "Inadequate",
            Rating::RequiresImprovement => "Requires improvement",
            Rating::Good => "Good",
            Rating::Outstanding => "Outstanding",
        }
    }
}

text_enum! {
    ContactKind, "kind", "one of face_to_face, telephone, video, home_visit" {
        FaceToFace => "face_to_face",
        Telephone => "telephone",
        Video => "video",
        HomeVisit => "home_visit",
    }
}

text_enum! {
    /// What a management-oversight record was for.
    OversightKind, "kind", "one of allocation, periodic, risk_change, transfer, other" {
        Allocation => "allocation",
        Periodic => "periodic",
        RiskChange => "risk_change",
        Transfer => "transfer",
        Other => "other",
    }
}

text_enum! {
    /// Why a case was allocated (or reallocated), as HMPPS's allocation service records it.
    AllocationReason, "reason", "one of initial_allocation, transfer_in, officer_left, caseload_adjustment, change_in_tier_or_risk, risk_to_staff, change_of_address, other" {
        InitialAllocation => "initial_allocation",
        TransferIn => "transfer_in",
        OfficerLeft => "officer_left",
        ChangeInTierOrRisk => "change_in_tier_or_risk",
        CaseloadAdjustment => "caseload_adjustment",
        RiskToStaff => "risk_to_staff",
        ChangeOfAddress => "change_of_address",
        Other => "other",
    }
}

/// Case tier, `A3` (highest) to `D0`, with a trailing `S` for an unsupervised case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tier {
    /// `b'A'..=b'D'`
    band: u8,
    /// `0..=3`
    level: u8,
    unsupervised: bool,
}

impl Tier {
    pub fn new(band: char, level: u8, unsupervised: bool) -> Option<Tier> {
        let band = u8::try_from(band).ok()?;
        ((b'A'..=b'D').contains(&band) && level <= 3).then_some(Tier {
            band,
            level,
            unsupervised,
        })
    }

    pub fn band(self) -> char {
        char::from(self.band)
    }
    pub fn level(self) -> u8 {
        self.level
    }
    pub fn unsupervised(self) -> bool {
        self.unsupervised
    }

    /// The tier without its `S` marker, e.g. `B2`: the key for tier points.
    pub fn base(self) -> String {
        format!("{}{}", self.band(), self.level)
    }

    /// The tier as written, e.g. `B2` or `B2S`, without formatting (bulk writes name
    /// millions of tiers).
    pub fn as_str(self) -> &'static str {
        const NAMES: [&str; 32] = [
            "A0", "A1", "A2", "A3", "B0", "B1", "B2", "B3", "C0", "C1", "C2", "C3", "D0", "D1",
            "D2", "D3", "A0S", "A1S", "A2S", "A3S", "B0S", "B1S", "B2S", "B3S", "C0S", "C1S",
            "C2S", "C3S", "D0S", "D1S", "D2S", "D3S",
        ];
        let i = usize::from(self.band - b'A') * 4 + usize::from(self.level);
        NAMES[i + if self.unsupervised { 16 } else { 0 }]
    }

    /// 15 for A3 down to 0 for D0: higher is more demanding.
    pub fn rank(self) -> u8 {
        (b'D' - self.band) * 4 + self.level
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Tier, ParseError> {
        let err = || ParseError::new("tier", s, "A3..D0 with an optional trailing S");
        let t = s.trim().as_bytes();
        let (core, unsupervised) = match t {
            [a, b] => ([*a, *b], false),
            [a, b, s] if s.eq_ignore_ascii_case(&b'S') => ([*a, *b], true),
            _ => return Err(err()),
        };
        let band = core[0].to_ascii_uppercase();
        if !core[1].is_ascii_digit() {
            return Err(err());
        }
        Tier::new(char::from(band), core[1] - b'0', unsupervised).ok_or_else(err)
    }
}

impl Serialize for Tier {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Tier {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Tier, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// MAPPA category (0 = not a MAPPA case, 1-4) and management level (0, or 1-3 for a MAPPA case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Mappa {
    pub category: u8,
    pub level: u8,
}

impl Mappa {
    pub const NONE: Mappa = Mappa {
        category: 0,
        level: 0,
    };

    /// Checks the pair: a MAPPA case has a level 1-3, a non-MAPPA case has level 0.
    pub fn new(category: u8, level: u8) -> Result<Mappa, ParseError> {
        // Written out only for an error: every case read passes through here.
        let value = || format!("{category}/{level}");
        if category > 4 {
            return Err(ParseError::new("mappa_category", &value(), "0 to 4"));
        }
        match (category, level) {
            (0, 0) | (1..=4, 1..=3) => Ok(Mappa { category, level }),
            (0, _) => Err(ParseError::new(
                "mappa_level",
                &value(),
                "level 0 when the category is 0 (not a MAPPA case)",
            )),
            _ => Err(ParseError::new(
                "mappa_level",
                &value(),
                "level 1 to 3 for a MAPPA case (category 1-4)",
            )),
        }
    }

    /// Parses the two cells of a row; empty means 0.
    pub fn parse(category: &str, level: &str) -> Result<Mappa, ParseError> {
        let num = |field: &'static str, s: &str, expected: &'static str| {
            let t = s.trim();
            if t.is_empty() {
                Ok(0)
            } else {
                t.parse::<u8>()
                    .map_err(|_| ParseError::new(field, s, expected))
            }
        };
        Mappa::new(
            num("mappa_category", category, "0 to 4")?,
            num("mappa_level", level, "0 to 3")?,
        )
    }

    pub fn is_mappa(self) -> bool {
        self.category > 0
    }

    /// Level 2 or 3: managed through multi-agency meetings.
    pub fn is_multi_agency(self) -> bool {
        self.category > 0 && self.level >= 2
    }
}

impl fmt::Display for Mappa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_mappa() {
            write!(f, "C{}/L{}", self.category, self.level)
        } else {
            f.write_str("-")
        }
    }
}

/// Case reference number: one letter and six digits, e.g. `X123456`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Crn(String);

impl Crn {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Crn {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Crn, ParseError> {
        let t = s.trim().as_bytes();
        if t.len() == 7 && t[0].is_ascii_alphabetic() && t[1..].iter().all(u8::is_ascii_digit) {
            let mut c = String::from_utf8_lossy(t).into_owned();
            c[..1].make_ascii_uppercase();
            Ok(Crn(c))
        } else {
            Err(ParseError::new(
                "crn",
                s,
                "a letter and six digits, e.g. X123456",
            ))
        }
    }
}

impl TryFrom<String> for Crn {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Crn, ParseError> {
        s.parse()
    }
}

impl From<Crn> for String {
    fn from(c: Crn) -> String {
        c.0
    }
}

impl fmt::Display for Crn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a code (PDU code, staff code): 1-20 of `A-Z a-z 0-9 _ -`. Teams are names, not
/// codes (see `import`).
pub fn parse_code(field: &'static str, s: &str) -> Result<String, ParseError> {
    let t = s.trim();
    if !t.is_empty()
        && t.len() <= 20
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(t.to_string())
    } else {
        Err(ParseError::new(
            field,
            s,
            "1 to 20 letters, digits, '-' or '_'",
        ))
    }
}

/// Probation Delivery Unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pdu {
    pub code: String,
    pub name: String,
    pub region: String,
    pub ppf_status: Option<PpfStatus>,
    pub rating: Option<Rating>,
    pub score: Option<u32>,
    pub score_max: Option<u32>,
    pub inspected_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    pub code: String,
    pub pdu: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Practitioner {
    pub staff_code: String,
    pub name: String,
    pub grade: Grade,
    pub pdu: String,
    pub team: Option<String>,
    pub contracted_hours: f64,
    pub start_date: NaiveDate,
    pub status: PractitionerStatus,
}

/// Funded posts of one grade in one PDU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Establishment {
    pub pdu: String,
    pub grade: Grade,
    pub target_fte: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub crn: Crn,
    pub name: String,
    pub pdu: String,
    pub team: Option<String>,
    pub tier: Tier,
    /// `None`: no RoSH assessment on record, itself a gap to show.
    pub rosh: Option<Rosh>,
    pub mappa: Mappa,
    pub case_type: CaseType,
    pub sentence_date: NaiveDate,
    pub release_date: Option<NaiveDate>,
    pub allocated_to: Option<String>,
    pub allocated_on: Option<NaiveDate>,
    pub unallocated_since: Option<NaiveDate>,
    /// The kind of custodial sentence as the extract states it; `None` (stored NULL) reads
    /// as [`CustodyKind::Standard`].
    pub custody_kind: Option<CustodyKind>,
    /// The equality columns: optional, for the disproportionality view only.
    #[serde(default)]
    pub ethnicity: Option<Ethnicity>,
    #[serde(default)]
    pub sex: Option<Sex>,
    #[serde(default)]
    pub age_band: Option<AgeBand>,
}

/// Which of a case row's optional trailing columns the file had at all: a file without one
/// (written before it existed) leaves the stored value alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaseColumnsGiven {
    pub custody_kind: bool,
    pub ethnicity: bool,
    pub sex: bool,
    pub age_band: bool,
}

impl Case {
    /// HIGH/VERY_HIGH RoSH or any MAPPA case: the cases that need periodic oversight.
    pub fn is_high_risk(&self) -> bool {
        self.rosh.is_some_and(Rosh::is_high) || self.mappa.is_mappa()
    }

    /// Checks the allocation fields agree with each other.
    pub fn check_allocation(&self) -> Result<(), ParseError> {
        match (
            &self.allocated_to,
            self.allocated_on,
            self.unallocated_since,
        ) {
            (Some(_), Some(_), None) | (None, None, Some(_)) => Ok(()),
            (Some(_), None, _) => Err(ParseError::new(
                "allocated_on",
                "",
                "a date when allocated_to is set",
            )),
            (Some(_), Some(_), Some(d)) => Err(ParseError::new(
                "unallocated_since",
                &fmt_date(d),
                "empty when the case is allocated",
            )),
            (None, Some(d), _) => Err(ParseError::new(
                "allocated_on",
                &fmt_date(d),
                "empty when allocated_to is empty",
            )),
            (None, None, None) => Err(ParseError::new(
                "unallocated_since",
                "",
                "a date when the case has no allocated practitioner",
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub crn: Crn,
    pub date: NaiveDate,
    pub kind: ContactKind,
    pub staff_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OversightRecord {
    pub crn: Crn,
    pub date: NaiveDate,
    pub spo_staff_code: String,
    pub kind: OversightKind,
    pub note: String,
}

text_enum! {
    /// An enquiry to another agency that informs the risk assessment: the police (domestic
    /// abuse call-outs and intelligence) or children's services (safeguarding).
    EnquiryKind, "kind", "one of domestic_abuse, child_safeguarding" {
        DomesticAbuse => "domestic_abuse",
        ChildSafeguarding => "child_safeguarding",
    }
}

impl EnquiryKind {
    /// Human wording for screens and rules: "domestic-abuse", "child-safeguarding".
    pub fn label(self) -> &'static str {
        match self {
            EnquiryKind::DomesticAbuse => "domestic-abuse",
            EnquiryKind::ChildSafeguarding => "child-safeguarding",
        }
    }
}

text_enum! {
    /// What a returned enquiry said.
    EnquiryOutcome, "outcome", "one of no_concerns, concerns, no_record (empty while not returned)" {
        NoConcerns => "no_concerns",
        Concerns => "concerns",
        NoRecord => "no_record",
    }
}

impl EnquiryOutcome {
    /// Parses an outcome cell where empty means the enquiry has not been returned.
    pub fn parse_optional(s: &str) -> Result<Option<EnquiryOutcome>, ParseError> {
        let t = s.trim();
        if t.is_empty() {
            Ok(None)
        } else {
            t.parse().map(Some)
        }
    }
}

text_enum! {
    /// Why a risk assessment (OASys) was completed.
    AssessmentKind, "kind", "one of initial, review, pre_release" {
        Initial => "initial",
        Review => "review",
        PreRelease => "pre_release",
    }
}

text_enum! {
    /// The kind of custodial sentence, which sets the prison-to-probation handover date.
    CustodyKind, "custody_kind", "one of standard, parole_eligible, indeterminate (empty = standard)" {
        Standard => "standard",
        ParoleEligible => "parole_eligible",
        Indeterminate => "indeterminate",
    }
}

impl Default for CustodyKind {
    /// Most custodial sentences are standard determinate ones.
    fn default() -> Self {
        CustodyKind::Standard
    }
}

impl CustodyKind {
    /// Parses the optional `custody_kind` cell of a case: empty means `standard`.
    pub fn parse_optional(s: &str) -> Result<CustodyKind, ParseError> {
        if s.trim().is_empty() {
            Ok(CustodyKind::Standard)
        } else {
            s.parse()
        }
    }
}

text_enum! {
    /// Ethnic group: the five high-level groups of the Office for National Statistics'
    /// census question (England and Wales). Optional on a case; never shown on case lists.
    Ethnicity, "ethnicity", "one of white, mixed, asian, black, other (the ONS 5 groups; empty = not recorded)" {
        White => "white",
        Mixed => "mixed" | "mixed_or_multiple",
        Asian => "asian" | "asian_or_asian_british",
        Black => "black" | "black_or_black_british",
        Other => "other" | "other_ethnic_group",
    }
}

text_enum! {
    /// Sex as recorded on the case. Optional; never shown on case lists.
    Sex, "sex", "one of female, male (empty = not recorded)" {
        Female => "female",
        Male => "male",
    }
}

text_enum! {
    /// Age band at the as-of date of the extract. Optional; never shown on case lists.
    AgeBand, "age_band", "one of 18-24, 25-34, 35-44, 45-54, 55+ (empty = not recorded)" {
        From18 => "18-24",
        From25 => "25-34",
        From35 => "35-44",
        From45 => "45-54",
        From55 => "55+",
    }
}

/// One domestic-abuse or child-safeguarding enquiry about a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enquiry {
    pub kind: EnquiryKind,
    pub requested_on: NaiveDate,
    /// `None` while the other agency has not replied.
    pub returned_on: Option<NaiveDate>,
    /// What the reply said; set exactly when `returned_on` is.
    pub outcome: Option<EnquiryOutcome>,
}

impl Enquiry {
    /// Checks the dates and the outcome agree: a reply cannot come before its request, and
    /// a reply has both a date and an outcome. Dates in the future are the importer's to
    /// refuse, since that needs an as-of date.
    pub fn check(&self) -> Result<(), ParseError> {
        match (self.returned_on, self.outcome) {
            (Some(r), _) if r < self.requested_on => Err(ParseError::new(
                "returned_on",
                &fmt_date(r),
                "a date on or after requested_on",
            )),
            (Some(_), Some(_)) | (None, None) => Ok(()),
            (None, Some(_)) => Err(ParseError::new(
                "returned_on",
                "",
                "a date when outcome is set (an outcome comes with the reply)",
            )),
            (Some(_), None) => Err(ParseError::new(
                "outcome",
                "",
                "one of no_concerns, concerns, no_record when returned_on is set",
            )),
        }
    }
}

/// One completed risk assessment (OASys) of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub kind: AssessmentKind,
    pub completed_on: NaiveDate,
    /// The RoSH level the assessment found.
    pub rosh: Rosh,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_as_chrono_reads_them() {
        for t in [
            "2026-01-09",
            "0000-01-01",
            "2024-02-29",
            "2023-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "9999-12-31",
            " 2026-01-09 ",
        ] {
            assert_eq!(
                parse_date("d", t).ok(),
                NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok(),
                "{t}"
            );
        }
    }

    #[test]
    fn dates_are_written_as_chrono_writes_them() {
        for (y, m, d) in [
            (2026, 1, 9),
            (1, 12, 31),
            (999, 2, 28),
            (9999, 12, 31),
            (2024, 2, 29),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(fmt_date(date), date.format("%Y-%m-%d").to_string());
        }
        let far = NaiveDate::from_ymd_opt(12345, 1, 1).unwrap();
        assert_eq!(fmt_date(far), far.format("%Y-%m-%d").to_string());
        let first = NaiveDate::from_ymd_opt(0, 1, 1).unwrap();
        for date in first.iter_days().step_by(97).take(40_000) {
            assert_eq!(fmt_date(date), date.format("%Y-%m-%d").to_string());
        }
    }

    #[test]
    fn tier_parses_every_band_level_and_unsupervised_marker() {
        let t: Tier = "a3".parse().unwrap();
        assert_eq!(t.to_string(), "A3");
        assert_eq!(t.rank(), 15);
        let d: Tier = "D0S".parse().unwrap();
        assert_eq!(d.to_string(), "D0S");
        assert!(d.unsupervised());
        assert_eq!(d.rank(), 0);
        assert_eq!(d.base(), "D0");
        for bad in ["E1", "A4", "A", "A3X", "", "33", "A3SS"] {
            assert!(bad.parse::<Tier>().is_err(), "{bad} should be rejected");
        }
        // Every tier's name is its band, level and marker, and reads back as that tier.
        for band in ['A', 'B', 'C', 'D'] {
            for level in 0..=3 {
                for unsupervised in [false, true] {
                    let t = Tier::new(band, level, unsupervised).unwrap();
                    let s = if unsupervised { "S" } else { "" };
                    assert_eq!(t.as_str(), format!("{band}{level}{s}"));
                    assert_eq!(t.as_str().parse::<Tier>().unwrap(), t);
                }
            }
        }
    }

    #[test]
    fn rosh_empty_or_unknown_means_no_assessment() {
        assert_eq!(Rosh::parse_optional("").unwrap(), None);
        assert_eq!(Rosh::parse_optional("unknown").unwrap(), None);
        assert_eq!(
            Rosh::parse_optional("very_high").unwrap(),
            Some(Rosh::VeryHigh)
        );
        let e = Rosh::parse_optional("SEVERE").unwrap_err();
        assert_eq!(e.field, "rosh");
        assert!(e.to_string().contains("'SEVERE'"));
    }

    #[test]
    fn mappa_pairs_are_checked() {
        assert_eq!(Mappa::parse("", "").unwrap(), Mappa::NONE);
        assert!(Mappa::parse("2", "3").unwrap().is_multi_agency());
        assert!(Mappa::parse("1", "1").unwrap().is_mappa());
        assert!(Mappa::parse("0", "2").is_err());
        assert!(Mappa::parse("1", "0").is_err());
        assert!(Mappa::parse("5", "1").is_err());
        assert!(Mappa::parse("x", "1").is_err());
    }

    #[test]
    fn crn_is_a_letter_and_six_digits() {
        assert_eq!("x123456".parse::<Crn>().unwrap().as_str(), "X123456");
        for bad in ["X12345", "1234567", "XX23456", "X1234567", "X12345a"] {
            assert!(bad.parse::<Crn>().is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_must_be_strict_iso() {
        assert_eq!(
            parse_date("d", "2022-08-01").unwrap(),
            NaiveDate::from_ymd_opt(2022, 8, 1).unwrap()
        );
        for bad in ["2022-8-1", "01/08/2022", "2022-02-30", "", "2022-08-01T00"] {
            assert!(parse_date("d", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grades_and_statuses_parse_case_insensitively() {
        assert_eq!("pqip".parse::<Grade>().unwrap(), Grade::Pqip);
        assert_eq!(Grade::Pqip.to_string(), "PQiP");
        assert_eq!(Grade::Nqo.establishment_grade(), Grade::Po);
        assert!("ACO".parse::<Grade>().is_err());
        assert!(
            "detached_in"
                .parse::<PractitionerStatus>()
                .unwrap()
                .works_cases()
        );
        assert!(!PractitionerStatus::DetachedIn.fills_post());
        assert!(PractitionerStatus::LongTermSick.fills_post());
    }

    #[test]
    fn allocation_fields_must_agree() {
        let mut c = Case {
            crn: "X000001".parse().unwrap(),
            name: "A".into(),
            pdu: "P".into(),
            team: None,
            tier: "B2".parse().unwrap(),
            rosh: Some(Rosh::Low),
            mappa: Mappa::NONE,
            case_type: CaseType::Community,
            sentence_date: NaiveDate::from_ymd_opt(2022, 1, 1).unwrap(),
            release_date: None,
            allocated_to: None,
            allocated_on: None,
            unallocated_since: NaiveDate::from_ymd_opt(2022, 1, 2),
            custody_kind: None,
            ethnicity: None,
            sex: None,
            age_band: None,
        };
        assert!(c.check_allocation().is_ok());
        c.allocated_to = Some("S1".into());
        assert!(c.check_allocation().is_err());
        c.allocated_on = c.unallocated_since.take();
        assert!(c.check_allocation().is_ok());
    }

    #[test]
    fn risk_check_codes_parse_in_their_one_spelling() {
        assert_eq!(
            "Domestic_Abuse".parse::<EnquiryKind>().unwrap(),
            EnquiryKind::DomesticAbuse
        );
        assert_eq!(
            EnquiryKind::ChildSafeguarding.as_str(),
            "child_safeguarding"
        );
        assert_eq!(EnquiryKind::DomesticAbuse.label(), "domestic-abuse");
        let e = "police".parse::<EnquiryKind>().unwrap_err();
        assert_eq!(e.field, "kind");
        assert_eq!(EnquiryOutcome::parse_optional(" ").unwrap(), None);
        assert_eq!(
            EnquiryOutcome::parse_optional("no_record").unwrap(),
            Some(EnquiryOutcome::NoRecord)
        );
        assert_eq!(
            EnquiryOutcome::parse_optional("maybe").unwrap_err().field,
            "outcome"
        );
        assert_eq!(
            "pre_release".parse::<AssessmentKind>().unwrap(),
            AssessmentKind::PreRelease
        );
        assert!("annual".parse::<AssessmentKind>().is_err());
        assert_eq!(
            CustodyKind::parse_optional("").unwrap(),
            CustodyKind::Standard
        );
        assert_eq!(CustodyKind::default(), CustodyKind::Standard);
        assert_eq!(
            CustodyKind::parse_optional("PAROLE_ELIGIBLE").unwrap(),
            CustodyKind::ParoleEligible
        );
        assert_eq!(
            CustodyKind::parse_optional("life").unwrap_err().field,
            "custody_kind"
        );
    }

    #[test]
    fn an_enquiry_reply_has_a_date_not_before_its_request_and_an_outcome() {
        let day = |s| parse_date("d", s).unwrap();
        let mut q = Enquiry {
            kind: EnquiryKind::DomesticAbuse,
            requested_on: day("2026-03-10"),
            returned_on: None,
            outcome: None,
        };
        assert!(q.check().is_ok(), "outstanding");
        q.returned_on = Some(day("2026-03-10"));
        q.outcome = Some(EnquiryOutcome::Concerns);
        assert!(q.check().is_ok(), "returned the same day");
        q.returned_on = Some(day("2026-03-09"));
        let e = q.check().unwrap_err();
        assert_eq!((e.field, e.value.as_str()), ("returned_on", "2026-03-09"));
        q.returned_on = None;
        assert_eq!(q.check().unwrap_err().field, "returned_on");
        q.returned_on = Some(day("2026-03-20"));
        q.outcome = None;
        assert_eq!(q.check().unwrap_err().field, "outcome");
    }

    #[test]
    fn codes_reject_spaces_and_control_characters() {
        assert!(parse_code("pdu", "HFKCW").is_ok());
        assert!(parse_code("pdu", "HF KCW").is_err());
        assert!(parse_code("pdu", "HF\u{1b}").is_err());
        assert!(parse_code("pdu", "").is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Parsers see every cell of every import file: they must refuse, never panic.
        #[test]
        fn parsers_never_panic(s in any::<String>(), t in any::<String>()) {
            let _ = s.parse::<Tier>();
            let _ = s.parse::<Crn>();
            let _ = s.parse::<Grade>();
            let _ = Rosh::parse_optional(&s);
            let _ = Mappa::parse(&s, &t);
            let _ = parse_date("d", &s);
            let _ = parse_code("c", &s);
        }

        #[test]
        fn every_valid_tier_round_trips(band in 0u8..4, level in 0u8..4, s in any::<bool>()) {
            let t = Tier::new(char::from(b'A' + band), level, s).unwrap();
            prop_assert_eq!(t.to_string().parse::<Tier>().unwrap(), t);
        }
    }
}
