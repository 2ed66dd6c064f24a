//! The schema, as versioned migrations. `PRAGMA user_version` holds the version reached;
//! `PRAGMA application_id` marks the file as casewatch's.

/// Marks a casewatch database in the SQLite header ("CsWt").
pub const APPLICATION_ID: i32 = 0x4373_5774;

/// Migration `i` takes a database from version `i` to `i + 1`.
pub const MIGRATIONS: &[&[&str]] = &[
    &[V1_TABLES, V1_INDEXES],
    &[V_ACTIONS],
    &[V_ALERTS],
    &[V_OVERVIEW_CACHE],
];

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1, split so that a bulk load (the demo generator) can create the tables, fill them,
/// and only then build indexes and triggers, which is several times faster.
pub const V1_TABLES: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE pdus (
    code         TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    region       TEXT NOT NULL,
    ppf_status   TEXT CHECK (ppf_status IN ('red', 'amber', 'green')),
    rating       TEXT CHECK (rating IN ('inadequate', 'requires_improvement', 'good', 'outstanding')),
    score        INTEGER,
    score_max    INTEGER,
    inspected_on TEXT
) STRICT;

CREATE TABLE teams (
    code TEXT PRIMARY KEY,
    pdu  TEXT NOT NULL REFERENCES pdus(code),
    name TEXT NOT NULL
) STRICT;

CREATE TABLE practitioners (
    staff_code       TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    grade            TEXT NOT NULL CHECK (grade IN ('SPO', 'PO', 'PSO', 'PQiP', 'NQO')),
    pdu              TEXT NOT NULL REFERENCES pdus(code),
    team             TEXT,
    contracted_hours REAL NOT NULL CHECK (contracted_hours >= 0),
    start_date       TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('in_post', 'long_term_sick', 'detached_in', 'left'))
) STRICT;

CREATE TABLE establishment (
    pdu        TEXT NOT NULL REFERENCES pdus(code),
    grade      TEXT NOT NULL CHECK (grade IN ('SPO', 'PO', 'PSO', 'PQiP', 'NQO')),
    target_fte REAL NOT NULL CHECK (target_fte >= 0),
    PRIMARY KEY (pdu, grade)
) STRICT;

-- last_contact and last_oversight are kept by triggers on contacts and oversight, so that
-- overdue checks read one row per case. risk_rank orders lists "risk first".
CREATE TABLE cases (
    crn               TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    pdu               TEXT NOT NULL REFERENCES pdus(code),
    team              TEXT,
    tier              TEXT NOT NULL,
    rosh              TEXT CHECK (rosh IN ('LOW', 'MEDIUM', 'HIGH', 'VERY_HIGH')),
    mappa_category    INTEGER NOT NULL DEFAULT 0 CHECK (mappa_category BETWEEN 0 AND 4),
    mappa_level       INTEGER NOT NULL DEFAULT 0 CHECK (mappa_level BETWEEN 0 AND 3),
    case_type         TEXT NOT NULL CHECK (case_type IN ('COMMUNITY', 'LICENCE', 'CUSTODY')),
    sentence_date     TEXT NOT NULL,
    release_date      TEXT,
    allocated_to      TEXT REFERENCES practitioners(staff_code),
    allocated_on      TEXT,
    unallocated_since TEXT,
    last_contact      TEXT,
    last_oversight    TEXT,
    risk_rank         INTEGER GENERATED ALWAYS AS (
        (CASE rosh WHEN 'VERY_HIGH' THEN 40 WHEN 'HIGH' THEN 30 WHEN 'MEDIUM' THEN 20
                   WHEN 'LOW' THEN 10 ELSE 25 END)
        + (CASE WHEN mappa_category > 0 THEN 1 + 2 * mappa_level ELSE 0 END)
    ) VIRTUAL,
    CHECK ((allocated_to IS NULL) = (allocated_on IS NULL))
) STRICT;

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    crn        TEXT NOT NULL REFERENCES cases(crn),
    date       TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('face_to_face', 'telephone', 'video', 'home_visit')),
    staff_code TEXT
) STRICT;

CREATE TABLE oversight (
    id             INTEGER PRIMARY KEY,
    crn            TEXT NOT NULL REFERENCES cases(crn),
    date           TEXT NOT NULL,
    spo_staff_code TEXT NOT NULL,
    kind           TEXT NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    sensitive      INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Past allocations of a case; the current one is on the case row.
CREATE TABLE allocations (
    id         INTEGER PRIMARY KEY,
    crn        TEXT NOT NULL REFERENCES cases(crn),
    staff_code TEXT NOT NULL,
    from_date  TEXT NOT NULL,
    to_date    TEXT NOT NULL,
    reason     TEXT NOT NULL
) STRICT;
"#;

pub const V1_INDEXES: &str = r#"
CREATE INDEX practitioners_pdu ON practitioners(pdu);
CREATE INDEX cases_pdu_risk ON cases(pdu, risk_rank DESC, crn);
CREATE INDEX cases_unallocated ON cases(pdu, risk_rank DESC, unallocated_since, crn)
    WHERE allocated_to IS NULL;
CREATE INDEX cases_mappa ON cases(pdu, risk_rank DESC, crn) WHERE mappa_category > 0;
CREATE INDEX cases_allocated_to ON cases(allocated_to, tier) WHERE allocated_to IS NOT NULL;
CREATE INDEX contacts_crn ON contacts(crn, date);
CREATE INDEX oversight_crn ON oversight(crn, date);
CREATE INDEX allocations_crn ON allocations(crn, from_date);

CREATE TRIGGER contacts_ai AFTER INSERT ON contacts BEGIN
    UPDATE cases SET last_contact = NEW.date
     WHERE crn = NEW.crn AND (last_contact IS NULL OR last_contact < NEW.date);
END;
CREATE TRIGGER contacts_ad AFTER DELETE ON contacts BEGIN
    UPDATE cases SET last_contact = (SELECT max(date) FROM contacts WHERE crn = OLD.crn)
     WHERE crn = OLD.crn;
END;
CREATE TRIGGER contacts_au AFTER UPDATE OF crn, date ON contacts BEGIN
    UPDATE cases SET last_contact = (SELECT max(date) FROM contacts WHERE crn = cases.crn)
     WHERE crn IN (OLD.crn, NEW.crn);
END;
CREATE TRIGGER oversight_ai AFTER INSERT ON oversight BEGIN
    UPDATE cases SET last_oversight = NEW.date
     WHERE crn = NEW.crn AND (last_oversight IS NULL OR last_oversight < NEW.date);
END;
CREATE TRIGGER oversight_ad AFTER DELETE ON oversight BEGIN
    UPDATE cases SET last_oversight = (SELECT max(date) FROM oversight WHERE crn = OLD.crn)
     WHERE crn = OLD.crn;
END;
CREATE TRIGGER oversight_au AFTER UPDATE OF crn, date ON oversight BEGIN
    UPDATE cases SET last_oversight = (SELECT max(date) FROM oversight WHERE crn = cases.crn)
     WHERE crn IN (OLD.crn, NEW.crn);
END;
"#;

/// Triage actions: an append-only audit trail and case notes. The triggers make the audit
/// table refuse updates and deletes from any client, the `sqlite3` shell included.
pub const V_ACTIONS: &str = r#"
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    crn     TEXT,
    subject TEXT,
    before  TEXT,
    after   TEXT,
    reason  TEXT
) STRICT;
CREATE INDEX audit_crn ON audit(crn, id);
CREATE INDEX audit_at ON audit(at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: rows cannot be changed');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: rows cannot be deleted');
END;

CREATE TABLE notes (
    id        INTEGER PRIMARY KEY,
    crn       TEXT NOT NULL REFERENCES cases(crn),
    at        TEXT NOT NULL,
    author    TEXT NOT NULL,
    text      TEXT NOT NULL,
    sensitive INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX notes_crn ON notes(crn, id);
"#;

/// Recorded nightly runs: a snapshot of every PDU's metrics and the alerts with their status
/// against the run before, and acknowledgements (which outlive runs).
pub const V_ALERTS: &str = r#"
CREATE TABLE alert_runs (
    id          INTEGER PRIMARY KEY,
    as_of       TEXT NOT NULL UNIQUE,
    recorded_at TEXT NOT NULL,
    actor       TEXT NOT NULL
) STRICT;

CREATE TABLE run_pdu_metrics (
    run_id  INTEGER NOT NULL REFERENCES alert_runs(id) ON DELETE CASCADE,
    pdu     TEXT NOT NULL,
    metrics TEXT NOT NULL,
    PRIMARY KEY (run_id, pdu)
) STRICT;

CREATE TABLE run_alerts (
    run_id     INTEGER NOT NULL REFERENCES alert_runs(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    rule       TEXT NOT NULL,
    severity   TEXT NOT NULL,
    scope      TEXT NOT NULL,
    pdu        TEXT NOT NULL,
    crn        TEXT,
    staff_code TEXT,
    status     TEXT NOT NULL CHECK (status IN ('new', 'ongoing', 'resolved')),
    first_seen TEXT NOT NULL,
    message    TEXT NOT NULL,
    metrics    TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) STRICT;
CREATE INDEX run_alerts_pdu ON run_alerts(run_id, pdu);

CREATE TABLE alert_acks (
    id      INTEGER PRIMARY KEY,
    key     TEXT NOT NULL,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    note    TEXT NOT NULL,
    metrics TEXT NOT NULL
) STRICT;
CREATE INDEX alert_acks_key ON alert_acks(key, id);
"#;

/// The overview and its alerts, computed once per as-of date, policy and rules, and thrown
/// away by any change to the data they come from. At a million cases the live aggregate takes
/// about a second; reading this takes milliseconds. Deleting from an empty table costs next
/// to nothing, so the triggers barely touch bulk writes.
pub const V_OVERVIEW_CACHE: &str = r#"
CREATE TABLE overview_cache (
    key  TEXT PRIMARY KEY,
    body TEXT NOT NULL
) STRICT;
CREATE TRIGGER overview_cache_pdus_insert AFTER INSERT ON pdus BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_pdus_update AFTER UPDATE ON pdus BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_pdus_delete AFTER DELETE ON pdus BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_establishment_insert AFTER INSERT ON establishment BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_establishment_update AFTER UPDATE ON establishment BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_establishment_delete AFTER DELETE ON establishment BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_practitioners_insert AFTER INSERT ON practitioners BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_practitioners_update AFTER UPDATE ON practitioners BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_practitioners_delete AFTER DELETE ON practitioners BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_cases_insert AFTER INSERT ON cases BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_cases_update AFTER UPDATE ON cases BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_cases_delete AFTER DELETE ON cases BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_contacts_insert AFTER INSERT ON contacts BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_contacts_update AFTER UPDATE ON contacts BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_contacts_delete AFTER DELETE ON contacts BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_oversight_insert AFTER INSERT ON oversight BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_oversight_update AFTER UPDATE ON oversight BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_oversight_delete AFTER DELETE ON oversight BEGIN DELETE FROM overview_cache; END;
"#;
