//! The contract of each kind of file: its columns in documented order, each required or
//! optional, and the read-only columns `casewatch export` writes after them.
//!
//! The one place the field names of an extract are written. Import reads by these names;
//! export writes by them where it writes the same kinds ([`CASES_EXPORT`],
//! [`PRACTITIONERS_EXPORT`], [`PDUS_EXPORT`], [`ENQUIRIES_EXPORT`], [`ASSESSMENTS_EXPORT`]
//! are its headers), so a column renamed here is renamed in both.

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Kind {
    Pdus,
    Establishment,
    Practitioners,
    Cases,
    Contacts,
    Oversight,
    Enquiries,
    Assessments,
}

/// A column of a file: its name, and whether every row must hold a value in it.
pub type Column = (&'static str, bool);

pub const PDUS: &[Column] = &[
    ("code", true),
    ("name", true),
    ("region", true),
    ("ppf_status", false),
    ("rating", false),
    ("score", false),
    ("score_max", false),
    ("inspected_on", false),
];

pub const ESTABLISHMENT: &[Column] = &[("pdu", true), ("grade", true), ("target_fte", true)];

pub const PRACTITIONERS: &[Column] = &[
    ("staff_code", true),
    ("name", true),
    ("grade", true),
    ("pdu", true),
    ("team", false),
    ("contracted_hours", true),
    ("start_date", true),
    ("status", true),
];

pub const CASES: &[Column] = &[
    ("crn", true),
    ("name", true),
    ("pdu", true),
    ("team", false),
    ("tier", true),
    ("rosh", false),
    ("mappa_category", false),
    ("mappa_level", false),
    ("case_type", true),
    ("sentence_date", true),
    ("release_date", false),
    ("allocated_to", false),
    ("allocated_on", false),
    ("unallocated_since", false),
    // Last, and optional: extracts written before they existed still import.
    ("custody_kind", false),
    ("ethnicity", false),
    ("sex", false),
    ("age_band", false),
];

pub const CONTACTS: &[Column] = &[
    ("crn", true),
    ("date", true),
    ("kind", true),
    ("staff_code", false),
];

pub const OVERSIGHT: &[Column] = &[
    ("crn", true),
    ("date", true),
    ("spo_staff_code", true),
    ("kind", true),
    ("note", false),
];

pub const ENQUIRIES: &[Column] = &[
    ("crn", true),
    ("kind", true),
    ("requested_on", true),
    ("returned_on", false),
    ("outcome", false),
];

pub const ASSESSMENTS: &[Column] = &[
    ("crn", true),
    ("kind", true),
    ("completed_on", true),
    ("rosh", true),
];

/// Read-only columns a case list's export writes after [`CASES`]: the dates the triggers
/// keep, and the days and due date of the list.
pub const CASES_READ_ONLY: &[&str] = &["last_contact", "last_oversight", "days", "due"];

/// Read-only columns the practitioners' export writes after [`PRACTITIONERS`].
pub const PRACTITIONERS_READ_ONLY: &[&str] =
    &["caseload", "high_risk_cases", "points", "capacity_pct"];

/// Read-only columns the summary's export writes after [`PDUS`].
pub const PDUS_READ_ONLY: &[&str] = &[
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

/// The fields of a PDU summary in JSON (`casewatch summary --format json`) that are not in
/// [`PDUS`]: the summary's export columns and the vacancy by grade.
const PDUS_IGNORED: &[&str] =
    &names::<{ PDUS_READ_ONLY.len() + 1 }>(&[], &[PDUS_READ_ONLY, &["vacancy_by_grade"]]);

/// The header of a case list's export: [`CASES`], then [`CASES_READ_ONLY`].
pub const CASES_EXPORT: &[&str] =
    &names::<{ CASES.len() + CASES_READ_ONLY.len() }>(CASES, &[CASES_READ_ONLY]);

/// The header of the practitioners' export: [`PRACTITIONERS`], then
/// [`PRACTITIONERS_READ_ONLY`].
pub const PRACTITIONERS_EXPORT: &[&str] = &names::<
    { PRACTITIONERS.len() + PRACTITIONERS_READ_ONLY.len() },
>(PRACTITIONERS, &[PRACTITIONERS_READ_ONLY]);

/// The header of the summary's export: [`PDUS`], then [`PDUS_READ_ONLY`].
pub const PDUS_EXPORT: &[&str] =
    &names::<{ PDUS.len() + PDUS_READ_ONLY.len() }>(PDUS, &[PDUS_READ_ONLY]);

/// The header of the enquiries' export: [`ENQUIRIES`] alone.
pub const ENQUIRIES_EXPORT: &[&str] = &names::<{ ENQUIRIES.len() }>(ENQUIRIES, &[]);

/// The header of the assessments' export: [`ASSESSMENTS`] alone.
pub const ASSESSMENTS_EXPORT: &[&str] = &names::<{ ASSESSMENTS.len() }>(ASSESSMENTS, &[]);

/// The names of `columns`, then those of `then`, as an array for a constant (`N` is their
/// number: a wrong one fails the build).
const fn names<const N: usize>(columns: &[Column], then: &[&[&'static str]]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut n = 0;
    while n < columns.len() {
        out[n] = columns[n].0;
        n += 1;
    }
    let mut i = 0;
    while i < then.len() {
        let mut j = 0;
        while j < then[i].len() {
            out[n] = then[i][j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(n == N, "N is not the number of names");
    out
}

impl Kind {
    /// The header contract, in documented order: (column, value required).
    pub fn columns(self) -> &'static [Column] {
        match self {
            Kind::Pdus => PDUS,
            Kind::Establishment => ESTABLISHMENT,
            Kind::Practitioners => PRACTITIONERS,
            Kind::Cases => CASES,
            Kind::Contacts => CONTACTS,
            Kind::Oversight => OVERSIGHT,
            Kind::Enquiries => ENQUIRIES,
            Kind::Assessments => ASSESSMENTS,
        }
    }

    /// Read-only columns that `casewatch export` adds to rows of this kind (counts, due
    /// dates). Import ignores them, so an export re-imports without `--ignore-unknown`.
    pub fn derived_columns(self) -> &'static [&'static str] {
        match self {
            Kind::Pdus => PDUS_IGNORED,
            Kind::Practitioners => PRACTITIONERS_READ_ONLY,
            Kind::Cases => CASES_READ_ONLY,
            _ => &[],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Pdus => "pdus",
            Kind::Establishment => "establishment",
            Kind::Practitioners => "practitioners",
            Kind::Cases => "cases",
            Kind::Contacts => "contacts",
            Kind::Oversight => "oversight",
            Kind::Enquiries => "enquiries",
            Kind::Assessments => "assessments",
        }
    }

    /// The kinds whose rows name a case, checked against the stored cases row by row (on
    /// the connection, so on the writing thread).
    pub fn refers_to_cases(self) -> bool {
        matches!(
            self,
            Kind::Contacts | Kind::Oversight | Kind::Enquiries | Kind::Assessments
        )
    }

    /// Keyed kinds are upserts; the others are appended with exact duplicates skipped.
    pub fn is_keyed(self) -> bool {
        !matches!(self, Kind::Contacts | Kind::Oversight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    fn names(kind: Kind) -> Vec<&'static str> {
        kind.columns().iter().map(|(c, _)| *c).collect()
    }

    #[test]
    fn an_export_header_is_the_contract_then_columns_import_ignores() {
        for (kind, header) in [
            (Kind::Cases, CASES_EXPORT),
            (Kind::Practitioners, PRACTITIONERS_EXPORT),
            (Kind::Pdus, PDUS_EXPORT),
            (Kind::Enquiries, ENQUIRIES_EXPORT),
            (Kind::Assessments, ASSESSMENTS_EXPORT),
        ] {
            let cols = names(kind);
            assert_eq!(header[..cols.len()], cols[..], "{kind:?}");
            for c in &header[cols.len()..] {
                assert!(kind.derived_columns().contains(c), "{kind:?}: {c}");
            }
        }
    }

    #[test]
    fn every_kind_fits_the_rows_mask_of_columns_given() {
        // `Row` tells the columns a file gave apart with one bit each of a u64.
        for &kind in Kind::value_variants() {
            assert!(kind.columns().len() <= 64, "{kind:?}");
        }
    }

    #[test]
    fn no_name_is_both_read_and_ignored_or_given_twice() {
        for &kind in Kind::value_variants() {
            let mut all = names(kind);
            all.extend(kind.derived_columns());
            let n = all.len();
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), n, "{kind:?}");
        }
    }
}
