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
    // Then `store::tally::rebuild` fills the tallies (see `migrate`).
    &[V_TALLIES, V_ALERT_CANDIDATES, V_RUN_ALERTS_CLUSTERED],
    &[V_INCIDENTS],
    // Then the risk-check columns are filled from the (new, empty) tables: nothing to do.
    &[V_RISK_CHECKS, V_RISK_CHECKS_INDEXES, RISK_TRIGGERS],
    // The memos start empty: the next nightly run fills them.
    &[V_RISK_MEMO, RISK_MEMO_TRIGGERS],
    // Empty on every case until an extract gives them.
    &[V_EQUALITY],
    &[V_COMPACT_MEMBERS],
];

/// Later migrations' tables and columns that a build from nothing (the demo) creates with
/// version 1's, before it writes its rows, so that it writes the rows whole (filling the
/// risk-check columns after the rows would rewrite every case); `store::build::index`
/// applies the rest of the migrations without them.
pub const BUILT_WITH_V1_TABLES: &[&str] = &[V_RISK_CHECKS, V_EQUALITY];

/// The version that introduced the tallies: reaching it fills them from the cases.
pub const TALLIES_VERSION: i64 = 5;

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

/// The overview-cache triggers on the tables bulk loads write (dropped and put back by
/// them, like the tally triggers).
macro_rules! overview_cache_bulk_triggers {
    () => {
        "CREATE TRIGGER overview_cache_cases_insert AFTER INSERT ON cases BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_cases_update AFTER UPDATE ON cases BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_cases_delete AFTER DELETE ON cases BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_contacts_insert AFTER INSERT ON contacts BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_contacts_update AFTER UPDATE ON contacts BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_contacts_delete AFTER DELETE ON contacts BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_oversight_insert AFTER INSERT ON oversight BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_oversight_update AFTER UPDATE ON oversight BEGIN DELETE FROM overview_cache; END;
CREATE TRIGGER overview_cache_oversight_delete AFTER DELETE ON oversight BEGIN DELETE FROM overview_cache; END;
"
    };
}

/// The overview and its alerts, computed once per as-of date, policy and rules, and thrown
/// away by any change to the data they come from. At a million cases the live aggregate takes
/// about a second; reading this takes milliseconds. Deleting from an empty table costs next
/// to nothing, so the triggers barely touch bulk writes.
pub const V_OVERVIEW_CACHE: &str = concat!(
    r#"
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
"#,
    overview_cache_bulk_triggers!()
);

/// The tally keys of one case row `c` (a table alias or a subquery over `NEW`/`OLD`): which
/// per-PDU counters, contact and oversight buckets and caseload it counts towards. The
/// expressions mirror the live definitions in `store::read` (tested against them, and the
/// overview they sum to against the Rust rule in `store::read::due_dates`), and
/// `store::tally::CaseKeys::of_new_case` repeats them for new cases (tested against these).
macro_rules! tally_keys {
    () => {
        "SELECT c.pdu AS pdu, c.allocated_to AS allocated_to, c.tier AS tier,
                c.allocated_to IS NULL AS unallocated,
                c.allocated_to IS NULL AND c.mappa_category > 0 AS unallocated_mappa,
                c.allocated_to IS NULL AND COALESCE(c.rosh, '') IN ('HIGH', 'VERY_HIGH') AS unallocated_high,
                c.mappa_category > 0 AS mappa,
                c.rosh IS NULL AS no_rosh,
                CASE WHEN c.rosh = 'VERY_HIGH' OR (c.mappa_category > 0 AND c.mappa_level >= 2) THEN 'vh'
                     WHEN c.rosh = 'HIGH' THEN 'h' WHEN c.rosh = 'MEDIUM' THEN 'm'
                     WHEN c.rosh = 'LOW' THEN 'l' ELSE 'u' END AS band,
                c.case_type = 'CUSTODY' AS custody,
                COALESCE(c.rosh, '') IN ('HIGH', 'VERY_HIGH') OR c.mappa_level >= 2 AS contact_high,
                max(COALESCE(c.last_contact, ''), c.allocated_on) AS contact_since,
                COALESCE(c.last_oversight, '') < c.allocated_on AS pending,
                COALESCE(c.rosh, '') IN ('HIGH', 'VERY_HIGH') OR c.mappa_category > 0 AS high_risk,
                CASE WHEN COALESCE(c.last_oversight, '') < c.allocated_on THEN c.allocated_on
                     ELSE c.last_oversight END AS oversight_since"
    };
}

/// One case row as a subquery named `c`, from a trigger's `NEW` or `OLD`.
macro_rules! trigger_row {
    ($r:literal) => {
        concat!(
            "(SELECT ",
            $r,
            ".pdu AS pdu, ",
            $r,
            ".tier AS tier, ",
            $r,
            ".rosh AS rosh, ",
            $r,
            ".mappa_category AS mappa_category, ",
            $r,
            ".mappa_level AS mappa_level, ",
            $r,
            ".case_type AS case_type, ",
            $r,
            ".allocated_to AS allocated_to, ",
            $r,
            ".allocated_on AS allocated_on, ",
            $r,
            ".last_contact AS last_contact, ",
            $r,
            ".last_oversight AS last_oversight) AS c"
        )
    };
}

/// Adds (`$sign` = `1`) or takes away (`-1`) one case row's counts.
macro_rules! tally_apply {
    ($r:literal, $sign:literal) => {
        concat!(
            "INSERT INTO tally_pdu (pdu, cases, unallocated, unallocated_mappa, unallocated_high, mappa, no_rosh)
             SELECT pdu, ", $sign, ", ", $sign, " * unallocated, ", $sign, " * unallocated_mappa, ",
                    $sign, " * unallocated_high, ", $sign, " * mappa, ", $sign, " * no_rosh
               FROM (", tally_keys!(), " FROM ", trigger_row!($r), ") WHERE true
             ON CONFLICT (pdu) DO UPDATE SET cases = cases + excluded.cases,
                unallocated = unallocated + excluded.unallocated,
                unallocated_mappa = unallocated_mappa + excluded.unallocated_mappa,
                unallocated_high = unallocated_high + excluded.unallocated_high,
                mappa = mappa + excluded.mappa, no_rosh = no_rosh + excluded.no_rosh;
             INSERT INTO tally_contact (pdu, band, custody, high, since, n)
             SELECT pdu, band, custody, contact_high, contact_since, ", $sign, "
               FROM (", tally_keys!(), " FROM ", trigger_row!($r), ") WHERE allocated_to IS NOT NULL
             ON CONFLICT DO UPDATE SET n = n + excluded.n;
             INSERT INTO tally_oversight (pdu, pending, high, since, n)
             SELECT pdu, pending, high_risk, oversight_since, ", $sign, "
               FROM (", tally_keys!(), " FROM ", trigger_row!($r), ") WHERE allocated_to IS NOT NULL
             ON CONFLICT DO UPDATE SET n = n + excluded.n;
             INSERT INTO tally_caseload (staff_code, tier, n, high)
             SELECT allocated_to, tier, ", $sign, ", ", $sign, " * high_risk
               FROM (", tally_keys!(), " FROM ", trigger_row!($r), ") WHERE allocated_to IS NOT NULL
             ON CONFLICT DO UPDATE SET n = n + excluded.n, high = high + excluded.high;"
        )
    };
}

/// Drops the buckets a removal emptied, so that the tallies stay as small as the data.
macro_rules! tally_prune {
    ($r:literal) => {
        concat!(
            "DELETE FROM tally_contact WHERE n = 0 AND (pdu, band, custody, high, since) IN
               (SELECT pdu, band, custody, contact_high, contact_since FROM (",
            tally_keys!(),
            " FROM ",
            trigger_row!($r),
            "));
             DELETE FROM tally_oversight WHERE n = 0 AND (pdu, pending, high, since) IN
               (SELECT pdu, pending, high_risk, oversight_since FROM (",
            tally_keys!(),
            " FROM ",
            trigger_row!($r),
            "));
             DELETE FROM tally_caseload WHERE n = 0 AND (staff_code, tier) IN
               (SELECT allocated_to, tier FROM (",
            tally_keys!(),
            " FROM ",
            trigger_row!($r),
            "));"
        )
    };
}

/// The three triggers that keep the tallies with every write to `cases`.
macro_rules! tally_triggers {
    () => {
        concat!(
            "CREATE TRIGGER tally_cases_insert AFTER INSERT ON cases BEGIN ",
            tally_apply!("NEW", "1"),
            " END;
            CREATE TRIGGER tally_cases_delete AFTER DELETE ON cases BEGIN ",
            tally_apply!("OLD", "-1"),
            tally_prune!("OLD"),
            " END;
            CREATE TRIGGER tally_cases_update AFTER UPDATE OF pdu, tier, rosh, mappa_category,
                mappa_level, case_type, allocated_to, allocated_on, last_contact, last_oversight
                ON cases BEGIN ",
            tally_apply!("OLD", "-1"),
            tally_prune!("OLD"),
            tally_apply!("NEW", "1"),
            " END;"
        )
    };
}

/// Counters kept with every write to `cases`, so that the overview and the nightly run read a
/// few thousand tally rows instead of every case: per-PDU counts, and histograms of the date
/// each allocated case's contact and oversight clocks run from. "Overdue" depends on the as-of
/// date and the policy, so it is not stored: it is the sum of the buckets older than the
/// threshold, computed at read time.
pub const V_TALLIES: &str = concat!(
    "CREATE TABLE tally_pdu (
        pdu               TEXT PRIMARY KEY,
        cases             INTEGER NOT NULL,
        unallocated       INTEGER NOT NULL,
        unallocated_mappa INTEGER NOT NULL,
        unallocated_high  INTEGER NOT NULL,
        mappa             INTEGER NOT NULL,
        no_rosh           INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE tally_contact (
        pdu     TEXT NOT NULL,
        band    TEXT NOT NULL,
        custody INTEGER NOT NULL,
        high    INTEGER NOT NULL,
        since   TEXT NOT NULL,
        n       INTEGER NOT NULL,
        PRIMARY KEY (pdu, band, custody, high, since)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE tally_oversight (
        pdu     TEXT NOT NULL,
        pending INTEGER NOT NULL,
        high    INTEGER NOT NULL,
        since   TEXT NOT NULL,
        n       INTEGER NOT NULL,
        PRIMARY KEY (pdu, pending, high, since)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE tally_caseload (
        staff_code TEXT NOT NULL,
        tier       TEXT NOT NULL,
        n          INTEGER NOT NULL,
        high       INTEGER NOT NULL,
        PRIMARY KEY (staff_code, tier)
    ) STRICT, WITHOUT ROWID;
    ",
    tally_triggers!()
);

/// Drops the triggers a bulk load would otherwise fire for every row: the tallies' and the
/// overview cache's on cases, contacts and oversight. The load then calls
/// `store::tally::rebuild` and [`BULK_TRIGGERS_RESTORE`] in the same transaction.
pub const BULK_TRIGGERS_DROP: &str = "DROP TRIGGER tally_cases_insert;
    DROP TRIGGER tally_cases_delete;
    DROP TRIGGER tally_cases_update;
    DROP TRIGGER overview_cache_cases_insert;
    DROP TRIGGER overview_cache_cases_update;
    DROP TRIGGER overview_cache_cases_delete;
    DROP TRIGGER overview_cache_contacts_insert;
    DROP TRIGGER overview_cache_contacts_update;
    DROP TRIGGER overview_cache_contacts_delete;
    DROP TRIGGER overview_cache_oversight_insert;
    DROP TRIGGER overview_cache_oversight_update;
    DROP TRIGGER overview_cache_oversight_delete;";

/// Puts back what [`BULK_TRIGGERS_DROP`] took away, emptying the cache the load made stale.
pub const BULK_TRIGGERS_RESTORE: &str = concat!(
    "DELETE FROM overview_cache;\n",
    tally_triggers!(),
    "\n",
    overview_cache_bulk_triggers!()
);

/// Every case row with its tally keys, for `store::tally::rebuild`: the very expressions the
/// triggers use.
pub const TALLY_KEYS: &str = concat!(tally_keys!(), " FROM cases c");

/// The cases the nightly rules look at one by one (unallocated, no RoSH, or high risk), with
/// every column they read, so that the run walks this index alone instead of every case.
/// Its `WHERE` must stay word for word the one `store::read::case_alert_rows` repeats.
pub const V_ALERT_CANDIDATES: &str = "
CREATE INDEX cases_alert_candidates ON cases(pdu, crn, allocated_to, allocated_on, last_contact,
    last_oversight, rosh, mappa_category, mappa_level, case_type, unallocated_since)
    WHERE allocated_to IS NULL OR rosh IS NULL OR rosh IN ('HIGH', 'VERY_HIGH') OR mappa_category > 0;
-- Without statistics for it SQLite would keep walking the older, analysed PDU index.
ANALYZE cases_alert_candidates;
";

/// Run alerts stored in key order without a separate rowid table: the nightly run writes a
/// hundred thousand of them at national scale, and each now costs two B-tree inserts, not three.
pub const V_RUN_ALERTS_CLUSTERED: &str = "
CREATE TABLE run_alerts_clustered (
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
) STRICT, WITHOUT ROWID;
INSERT INTO run_alerts_clustered
     SELECT run_id, key, rule, severity, scope, pdu, crn, staff_code, status, first_seen,
            message, metrics
       FROM run_alerts;
DROP TABLE run_alerts;
ALTER TABLE run_alerts_clustered RENAME TO run_alerts;
-- Covers what a region's review reads of the last run (the key comes with the table's key).
CREATE INDEX run_alerts_pdu ON run_alerts(run_id, pdu, status, first_seen);
";

/// Version 6: a run's alerts are stored inside their incidents (alerts grouped by PDU and
/// rule), one row per incident with its members as JSON: a national run has a hundred and
/// fifty thousand alerts in seven hundred incidents, and writing seven hundred rows is
/// several times cheaper than a hundred and fifty thousand (see BENCHMARKS.md). The old
/// per-alert table's runs are carried over, and a view of the same name and columns reads
/// members as rows for ad hoc SQL. Also silences, and the run an acknowledgement was given
/// against (so an acknowledgement of an incident that has since resolved does not cover its
/// return).
pub const V_INCIDENTS: &str = "
CREATE TABLE run_incidents (
    run_id     INTEGER NOT NULL REFERENCES alert_runs(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    rule       TEXT NOT NULL,
    severity   TEXT NOT NULL,
    scope      TEXT NOT NULL,
    pdu        TEXT NOT NULL,
    count      INTEGER NOT NULL CHECK (count >= 0),
    first_seen TEXT NOT NULL,
    nights     INTEGER NOT NULL CHECK (nights >= 0),
    message    TEXT NOT NULL,
    metrics    TEXT NOT NULL,
    -- [[who, first_seen, status, message, metrics], ...]: who is the CRN, the staff code or '-'
    members    TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) STRICT, WITHOUT ROWID;

INSERT INTO run_incidents (run_id, key, rule, severity, scope, pdu, count, first_seen, nights,
                           message, metrics, members)
SELECT run_id, rule || ':' || pdu, rule, max(severity), max(scope), pdu,
       sum(status <> 'resolved'), min(first_seen), 1, '', '{}',
       json_group_array(json_array(coalesce(crn, staff_code, '-'), first_seen, status, message,
                                   json(metrics)))
  FROM run_alerts GROUP BY run_id, rule, pdu;
DROP TABLE run_alerts;

CREATE VIEW run_alerts AS
SELECT i.run_id,
       i.rule || ':' || i.pdu || ':' || json_extract(m.value, '$[0]') AS key,
       i.rule, i.severity, i.scope, i.pdu,
       CASE i.scope WHEN 'case' THEN json_extract(m.value, '$[0]') END AS crn,
       CASE i.scope WHEN 'practitioner' THEN json_extract(m.value, '$[0]') END AS staff_code,
       json_extract(m.value, '$[2]') AS status,
       json_extract(m.value, '$[1]') AS first_seen,
       json_extract(m.value, '$[3]') AS message,
       json(json_extract(m.value, '$[4]')) AS metrics
  FROM run_incidents i, json_each(i.members) m;

CREATE TABLE silences (
    id         INTEGER PRIMARY KEY,
    rule       TEXT,
    pdu        TEXT,
    crn        TEXT,
    starts     TEXT NOT NULL,
    until      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    removed_by TEXT,
    removed_at TEXT,
    CHECK (rule IS NOT NULL OR pdu IS NOT NULL OR crn IS NOT NULL),
    CHECK (until > starts)
) STRICT;

ALTER TABLE alert_acks ADD COLUMN as_of TEXT;
";

/// The optional equality columns of a case (version 9), for the disproportionality view
/// (`crate::equity`): ethnic group (ONS 5 groups), sex and age band.
pub const V_EQUALITY: &str = "
ALTER TABLE cases ADD COLUMN ethnicity TEXT
    CHECK (ethnicity IN ('white', 'mixed', 'asian', 'black', 'other'));
ALTER TABLE cases ADD COLUMN sex TEXT CHECK (sex IN ('female', 'male'));
ALTER TABLE cases ADD COLUMN age_band TEXT
    CHECK (age_band IN ('18-24', '25-34', '35-44', '45-54', '55+'));
";

/// The inspection's other checks: domestic-abuse and child-safeguarding enquiries, risk
/// assessments, and what the handover date needs (the kind of custodial sentence). The case
/// row keeps what the checks read of them (first and latest request of each kind, the latest
/// request's return, first and latest assessment since sentence, the latest pre-release
/// assessment before release), kept by [`RISK_TRIGGERS`], so that the lists and the nightly
/// run read one row per case, as they do for the last contact.
pub const V_RISK_CHECKS: &str = "
ALTER TABLE cases ADD COLUMN custody_kind TEXT
    CHECK (custody_kind IN ('standard', 'parole_eligible', 'indeterminate'));
-- When the case's RoSH last changed, as casewatch saw it (set by a trigger; NULL: unknown).
ALTER TABLE cases ADD COLUMN rosh_changed_on TEXT;
ALTER TABLE cases ADD COLUMN da_first_requested TEXT;
ALTER TABLE cases ADD COLUMN da_last_requested TEXT;
ALTER TABLE cases ADD COLUMN da_last_returned TEXT;
ALTER TABLE cases ADD COLUMN cs_first_requested TEXT;
ALTER TABLE cases ADD COLUMN cs_last_requested TEXT;
ALTER TABLE cases ADD COLUMN cs_last_returned TEXT;
ALTER TABLE cases ADD COLUMN first_assessed TEXT;
ALTER TABLE cases ADD COLUMN last_assessed TEXT;
ALTER TABLE cases ADD COLUMN pre_release_assessed TEXT;

CREATE TABLE enquiries (
    id           INTEGER PRIMARY KEY,
    crn          TEXT NOT NULL REFERENCES cases(crn),
    kind         TEXT NOT NULL CHECK (kind IN ('domestic_abuse', 'child_safeguarding')),
    requested_on TEXT NOT NULL,
    returned_on  TEXT,
    outcome      TEXT CHECK (outcome IN ('no_concerns', 'concerns', 'no_record')),
    CHECK ((returned_on IS NULL) = (outcome IS NULL)),
    CHECK (returned_on IS NULL OR returned_on >= requested_on),
    UNIQUE (crn, kind, requested_on)
) STRICT;

CREATE TABLE assessments (
    id           INTEGER PRIMARY KEY,
    crn          TEXT NOT NULL REFERENCES cases(crn),
    kind         TEXT NOT NULL CHECK (kind IN ('initial', 'review', 'pre_release')),
    completed_on TEXT NOT NULL,
    rosh         TEXT NOT NULL CHECK (rosh IN ('LOW', 'MEDIUM', 'HIGH', 'VERY_HIGH')),
    UNIQUE (crn, kind, completed_on)
) STRICT;
";

/// Version 7's index, apart from its tables (see [`BUILT_WITH_V1_TABLES`]).
pub const V_RISK_CHECKS_INDEXES: &str =
    "CREATE INDEX cases_release ON cases(pdu, release_date) WHERE release_date IS NOT NULL;";

/// Recomputes the risk-check columns of the cases `WHERE` selects (an SQL condition on
/// `cases`), from the enquiries and assessments.
macro_rules! risk_recompute {
    ($where:literal) => {
        concat!(
            "UPDATE cases SET
    da_first_requested = (SELECT min(requested_on) FROM enquiries e
                           WHERE e.crn = cases.crn AND e.kind = 'domestic_abuse'),
    da_last_requested = (SELECT max(requested_on) FROM enquiries e
                          WHERE e.crn = cases.crn AND e.kind = 'domestic_abuse'),
    da_last_returned = (SELECT returned_on FROM enquiries e
                         WHERE e.crn = cases.crn AND e.kind = 'domestic_abuse'
                         ORDER BY requested_on DESC, returned_on IS NULL LIMIT 1),
    cs_first_requested = (SELECT min(requested_on) FROM enquiries e
                           WHERE e.crn = cases.crn AND e.kind = 'child_safeguarding'),
    cs_last_requested = (SELECT max(requested_on) FROM enquiries e
                          WHERE e.crn = cases.crn AND e.kind = 'child_safeguarding'),
    cs_last_returned = (SELECT returned_on FROM enquiries e
                         WHERE e.crn = cases.crn AND e.kind = 'child_safeguarding'
                         ORDER BY requested_on DESC, returned_on IS NULL LIMIT 1),
    first_assessed = (SELECT min(completed_on) FROM assessments a
                       WHERE a.crn = cases.crn AND a.completed_on >= cases.sentence_date),
    last_assessed = (SELECT max(completed_on) FROM assessments a
                      WHERE a.crn = cases.crn AND a.completed_on >= cases.sentence_date),
    pre_release_assessed = (SELECT max(completed_on) FROM assessments a
                             WHERE a.crn = cases.crn AND a.kind = 'pre_release'
                               AND a.completed_on < cases.release_date)
 WHERE ",
            $where,
            ";"
        )
    };
}

/// Every case's risk-check columns recomputed: after a load that set the triggers aside.
pub const RISK_RECOMPUTE_ALL: &str = risk_recompute!("1");

/// Keep the risk-check columns of a case as its enquiries, assessments, sentence and release
/// dates change, and note when its RoSH changes.
pub const RISK_TRIGGERS: &str = concat!(
    "CREATE TRIGGER enquiries_ai AFTER INSERT ON enquiries BEGIN ",
    risk_recompute!("crn = NEW.crn"),
    " END;
CREATE TRIGGER enquiries_au AFTER UPDATE ON enquiries BEGIN ",
    risk_recompute!("crn IN (OLD.crn, NEW.crn)"),
    " END;
CREATE TRIGGER enquiries_ad AFTER DELETE ON enquiries BEGIN ",
    risk_recompute!("crn = OLD.crn"),
    " END;
CREATE TRIGGER assessments_ai AFTER INSERT ON assessments BEGIN ",
    risk_recompute!("crn = NEW.crn"),
    " END;
CREATE TRIGGER assessments_au AFTER UPDATE ON assessments BEGIN ",
    risk_recompute!("crn IN (OLD.crn, NEW.crn)"),
    " END;
CREATE TRIGGER assessments_ad AFTER DELETE ON assessments BEGIN ",
    risk_recompute!("crn = OLD.crn"),
    " END;
CREATE TRIGGER cases_risk_dates AFTER UPDATE OF sentence_date, release_date ON cases BEGIN ",
    risk_recompute!("crn = NEW.crn"),
    " END;
CREATE TRIGGER cases_rosh_changed AFTER UPDATE OF rosh ON cases
 WHEN OLD.rosh IS NOT NEW.rosh AND NEW.rosh_changed_on IS OLD.rosh_changed_on BEGIN
    UPDATE cases SET rosh_changed_on = date('now') WHERE crn = NEW.crn;
END;
"
);

/// The risk triggers set aside for a bulk load ([`RISK_RECOMPUTE_ALL`] after it).
pub const RISK_TRIGGERS_DROP: &str = "DROP TRIGGER enquiries_ai; DROP TRIGGER enquiries_au;
DROP TRIGGER enquiries_ad; DROP TRIGGER assessments_ai; DROP TRIGGER assessments_au;
DROP TRIGGER assessments_ad; DROP TRIGGER cases_risk_dates; DROP TRIGGER cases_rosh_changed;";

/// The risk checks' memos (`risk_memo`): per case, what its checks found, its part of its
/// PDU's tally, and the days that holds for, so that a run judges afresh only the cases
/// whose memo has run out or gone. The case fields a nightly rule reads are copied in, so
/// that the overdue cases are read from here alone; [`RISK_MEMO_TRIGGERS`] drop a case's
/// memo whenever its row, its contacts, enquiries or assessments change. Days are counted
/// from 0001-01-01 (`num_days_from_ce`). `meta.risk_memo_policy` names the policy the memos
/// were judged under.
pub const V_RISK_MEMO: &str = "
CREATE TABLE case_risk (
    crn               TEXT PRIMARY KEY,
    pdu               TEXT NOT NULL,
    from_day          INTEGER NOT NULL,
    until_day         INTEGER NOT NULL,
    tally             INTEGER NOT NULL,
    allocated         INTEGER NOT NULL,
    unallocated_since TEXT,
    mappa_category    INTEGER,
    mappa_level       INTEGER,
    rosh              TEXT,
    enquiry_since     INTEGER,
    assessment_since  INTEGER,
    handover_since    INTEGER,
    contact_since     INTEGER,
    prerelease_since  INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX case_risk_tally ON case_risk(pdu, tally, from_day, until_day);
CREATE INDEX case_risk_until ON case_risk(until_day);
";

/// Drop a case's memo when anything its checks read changes. Enquiries and assessments
/// change the case row (through [`RISK_TRIGGERS`]), so the case row's trigger covers them;
/// a contact changes the case row only when it is the latest, so contacts have their own.
pub const RISK_MEMO_TRIGGERS: &str = "
CREATE TRIGGER case_risk_cases_au AFTER UPDATE ON cases BEGIN
    DELETE FROM case_risk WHERE crn IN (OLD.crn, NEW.crn);
END;
CREATE TRIGGER case_risk_cases_ad AFTER DELETE ON cases BEGIN
    DELETE FROM case_risk WHERE crn = OLD.crn;
END;
CREATE TRIGGER case_risk_contacts_ai AFTER INSERT ON contacts BEGIN
    DELETE FROM case_risk WHERE crn = NEW.crn;
END;
CREATE TRIGGER case_risk_contacts_au AFTER UPDATE ON contacts BEGIN
    DELETE FROM case_risk WHERE crn IN (OLD.crn, NEW.crn);
END;
CREATE TRIGGER case_risk_contacts_ad AFTER DELETE ON contacts BEGIN
    DELETE FROM case_risk WHERE crn = OLD.crn;
END;
";

/// The memos' triggers set aside by a bulk load, which empties the memos instead.
pub const RISK_MEMO_TRIGGERS_DROP: &str = "DROP TRIGGER case_risk_cases_au;
DROP TRIGGER case_risk_cases_ad; DROP TRIGGER case_risk_contacts_ai;
DROP TRIGGER case_risk_contacts_au; DROP TRIGGER case_risk_contacts_ad;
DELETE FROM case_risk;";

/// Version 10: a run's members are stored without their messages, `[who, first_seen, status,
/// metrics]` (see `alerts::member`); runs recorded before keep `[who, first_seen, status,
/// message, metrics]`. Nothing is rewritten. The view reads both: its message is NULL for
/// the members stored without one, and its metrics are a member's last part.
pub const V_COMPACT_MEMBERS: &str = "
DROP VIEW run_alerts;
CREATE VIEW run_alerts AS
SELECT i.run_id,
       i.rule || ':' || i.pdu || ':' || json_extract(m.value, '$[0]') AS key,
       i.rule, i.severity, i.scope, i.pdu,
       CASE i.scope WHEN 'case' THEN json_extract(m.value, '$[0]') END AS crn,
       CASE i.scope WHEN 'practitioner' THEN json_extract(m.value, '$[0]') END AS staff_code,
       json_extract(m.value, '$[2]') AS status,
       json_extract(m.value, '$[1]') AS first_seen,
       CASE json_array_length(m.value) WHEN 5 THEN json_extract(m.value, '$[3]') END AS message,
       json(json_extract(m.value, '$[#-1]')) AS metrics
  FROM run_incidents i, json_each(i.members) m;
";
