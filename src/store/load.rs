//! The statements that load reference data and cases: shared by `import` (real extracts) and
//! `demo` (synthetic data), so the two write the very same rows.

/// A PDU, every column.
pub const INSERT_PDU: &str =
    "INSERT INTO pdus (code, name, region, ppf_status, rating, score, score_max, inspected_on)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// The same values as [`INSERT_PDU`]; changes nothing (0 rows) when nothing differs.
pub const UPDATE_PDU_IF_CHANGED: &str =
    "UPDATE pdus SET name = ?2, region = ?3, ppf_status = ?4, rating = ?5, score = ?6,
            score_max = ?7, inspected_on = ?8
      WHERE code = ?1
        AND (name, region, ppf_status, rating, score, score_max, inspected_on)
            IS NOT (?2, ?3, ?4, ?5, ?6, ?7, ?8)";

pub const INSERT_TEAM: &str = "INSERT INTO teams (code, pdu, name) VALUES (?1, ?2, ?3)";

pub const INSERT_ESTABLISHMENT: &str =
    "INSERT INTO establishment (pdu, grade, target_fte) VALUES (?1, ?2, ?3)";

pub const UPDATE_ESTABLISHMENT_IF_CHANGED: &str = "UPDATE establishment SET target_fte = ?3
      WHERE pdu = ?1 AND grade = ?2 AND target_fte IS NOT ?3";

/// A practitioner, every column.
pub const INSERT_PRACTITIONER: &str = "INSERT INTO practitioners
        (staff_code, name, grade, pdu, team, contracted_hours, start_date, status)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// The same values as [`INSERT_PRACTITIONER`]; 0 rows when nothing differs.
pub const UPDATE_PRACTITIONER_IF_CHANGED: &str =
    "UPDATE practitioners SET name = ?2, grade = ?3, pdu = ?4, team = ?5,
            contracted_hours = ?6, start_date = ?7, status = ?8
      WHERE staff_code = ?1
        AND (name, grade, pdu, team, contracted_hours, start_date, status)
            IS NOT (?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// The columns of a case as an extract carries them (the key first), for `BatchInsert`.
pub const CASE_COLUMNS: &str = "crn, name, pdu, team, tier, rosh, mappa_category, mappa_level, case_type, \
     sentence_date, release_date, allocated_to, allocated_on, unallocated_since";

/// [`CASE_COLUMNS`] and the dates the triggers keep, for a generator that writes them
/// directly.
pub const CASE_COLUMNS_WITH_LAST: &str = "crn, name, pdu, team, tier, rosh, mappa_category, mappa_level, case_type, \
     sentence_date, release_date, allocated_to, allocated_on, unallocated_since, \
     last_contact, last_oversight";

/// The values of [`CASE_COLUMNS`] as `?1`..`?14`; 0 rows when nothing differs.
pub const UPDATE_CASE_IF_CHANGED: &str =
    "UPDATE cases SET name = ?2, pdu = ?3, team = ?4, tier = ?5, rosh = ?6,
            mappa_category = ?7, mappa_level = ?8, case_type = ?9,
            sentence_date = ?10, release_date = ?11, allocated_to = ?12,
            allocated_on = ?13, unallocated_since = ?14
      WHERE crn = ?1
        AND (name, pdu, team, tier, rosh, mappa_category, mappa_level, case_type,
             sentence_date, release_date, allocated_to, allocated_on,
             unallocated_since)
            IS NOT (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

pub const CONTACT_COLUMNS: &str = "crn, date, kind, staff_code";

pub const OVERSIGHT_COLUMNS: &str = "crn, date, spo_staff_code, kind, note";

pub const ALLOCATION_COLUMNS: &str = "crn, staff_code, from_date, to_date, reason";
