//! casewatch on a shared PostgreSQL server: what a `postgres://` URL names, connecting with
//! errors in words (the password never shown), and creating the schema and roles
//! (`casewatch pg-init`). The schema is versioned like SQLite's, with its own migrations
//! (`assets/postgres/`); a server holding a newer version is refused.

use std::time::Duration;

mod listen;
mod load;
mod pull;
mod triage;

pub use listen::Listener;
pub use load::{LoadError, LoadKeys, Loaded, Merged, PgLoad, Stage};
pub use pull::{CaughtUp, Kept, KeptHow, Pulled, forget_mark};
pub use triage::PgTx;

/// The migrations, in order: migration `i` takes the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "001_schema.sql",
        include_str!("../../assets/postgres/001_schema.sql"),
    ),
    (
        "002_access.sql",
        include_str!("../../assets/postgres/002_access.sql"),
    ),
    (
        "003_runs.sql",
        include_str!("../../assets/postgres/003_runs.sql"),
    ),
    (
        "004_maintained.sql",
        include_str!("../../assets/postgres/004_maintained.sql"),
    ),
    (
        "005_policies.sql",
        include_str!("../../assets/postgres/005_policies.sql"),
    ),
    (
        "006_rebuild.sql",
        include_str!("../../assets/postgres/006_rebuild.sql"),
    ),
    (
        "007_undo.sql",
        include_str!("../../assets/postgres/007_undo.sql"),
    ),
    (
        "008_tally_load.sql",
        include_str!("../../assets/postgres/008_tally_load.sql"),
    ),
    (
        "009_changes.sql",
        include_str!("../../assets/postgres/009_changes.sql"),
    ),
    (
        "010_compact_members.sql",
        include_str!("../../assets/postgres/010_compact_members.sql"),
    ),
];

/// Tells the change log every PDU's cases and staff changed: after a load that set its
/// triggers aside.
const LOG_WHOLE_PDUS: &str = "INSERT INTO case_changes (what, pdu)
     SELECT w, code FROM pdus, (VALUES ('pdu'), ('staff')) v(w)";

/// The newest PostgreSQL schema version this binary knows.
pub const PG_SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// How long a connection attempt may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `--db` names a PostgreSQL database rather than a SQLite file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// The URL with its password, if any, replaced by `***`: the form every message shows.
pub fn redacted(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    // The user information ends at the last '@' before the path.
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

/// What went wrong reaching or using the server, in words; the URL is always redacted.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("{url} is not a usable PostgreSQL URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot reach the PostgreSQL server of {url}: {reason}; is it running?")]
    Unreachable { url: String, reason: String },
    #[error("the PostgreSQL server of {url} refused the login: {reason}")]
    LoginRefused { url: String, reason: String },
    #[error(
        "{url} has casewatch schema version {found}, newer than this casewatch knows ({supported}); upgrade casewatch. Nothing was changed"
    )]
    NewerSchema {
        url: String,
        found: i32,
        supported: i32,
    },
    #[error("PostgreSQL error on {url}: {reason}")]
    Server { url: String, reason: String },
    #[error(
        "{url} has casewatch schema version {found}, not {PG_SCHEMA_VERSION}: run `casewatch pg-init URL` to bring it up to date"
    )]
    Older { url: String, found: i32 },
}

impl PgError {
    /// A statement of the server at `url` failed.
    pub(crate) fn server(url: &str, e: &postgres::Error) -> PgError {
        PgError::Server {
            url: url.to_string(),
            reason: reason(e),
        }
    }

    /// The stream to or from the server at `url` (a `COPY`) broke.
    pub(crate) fn stream(url: &str, e: &std::io::Error) -> PgError {
        PgError::Server {
            url: url.to_string(),
            reason: e.to_string(),
        }
    }

    /// What went wrong without the URL, for a line that already names the database (the
    /// screen's header does).
    pub fn reason(&self) -> String {
        match self {
            PgError::Unreachable { reason, .. } => format!("cannot reach the server: {reason}"),
            PgError::BadUrl { reason, .. }
            | PgError::LoginRefused { reason, .. }
            | PgError::Server { reason, .. } => reason.clone(),
            e => e.to_string(),
        }
    }
}

/// A connection to a casewatch database on PostgreSQL.
pub struct PgStore {
    client: postgres::Client,
    url: String,
}

impl PgStore {
    /// Connects to the database the URL names (TLS is not used: a Unix socket or a
    /// trusted network, as a region's server is reached today).
    pub fn connect(url: &str) -> Result<PgStore, PgError> {
        let shown = redacted(url);
        let mut config: postgres::Config =
            url.parse().map_err(|e: postgres::Error| PgError::BadUrl {
                url: shown.clone(),
                reason: e.to_string(),
            })?;
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("casewatch");
        let mut client = config
            .connect(postgres::NoTls)
            .map_err(|e| classify_connect(&shown, &e))?;
        // A night's incidents are tens of megabytes of JSON text: lz4 compresses them for
        // storage five times as fast as the default (pglz), for a fifth more room. A server
        // without lz4 (or before PostgreSQL 14) refuses the setting and keeps its default.
        let _ = client.batch_execute("SET default_toast_compression = lz4");
        Ok(PgStore { client, url: shown })
    }

    /// Connects to a casewatch database whose schema is this binary's: an older one is to be
    /// brought up to date by `pg-init` (run by whoever owns the schema, not by each user), a
    /// newer one is refused.
    pub fn open(url: &str) -> Result<PgStore, PgError> {
        let mut store = PgStore::connect(url)?;
        let found = store.schema_version()?;
        if found > PG_SCHEMA_VERSION {
            return Err(PgError::NewerSchema {
                url: store.url,
                found,
                supported: PG_SCHEMA_VERSION,
            });
        }
        if found < PG_SCHEMA_VERSION {
            return Err(PgError::Older {
                url: store.url,
                found,
            });
        }
        Ok(store)
    }

    /// Whether the connection is gone (the server restarted or went away): asks the server,
    /// so a connection that dropped while idle is found before a write is tried on it.
    pub fn is_gone(&mut self) -> bool {
        self.client.is_closed() || self.client.is_valid(CONNECT_TIMEOUT).is_err()
    }

    /// The URL, password hidden.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn server_error(&self, e: postgres::Error) -> PgError {
        PgError::server(&self.url, &e)
    }

    /// The casewatch schema version on the server (0: none yet).
    pub fn schema_version(&mut self) -> Result<i32, PgError> {
        let exists: bool = self
            .client
            .query_one("SELECT to_regclass('casewatch_schema') IS NOT NULL", &[])
            .map_err(|e| self.server_error(e))?
            .get(0);
        if !exists {
            return Ok(0);
        }
        let v: Option<i32> = self
            .client
            .query_one("SELECT max(version) FROM casewatch_schema", &[])
            .map_err(|e| self.server_error(e))?
            .get(0);
        Ok(v.unwrap_or(0))
    }

    /// Brings the schema to [`PG_SCHEMA_VERSION`], each migration in its own transaction
    /// (a failure leaves the versions before it). Returns the versions (before, after).
    pub fn migrate(&mut self) -> Result<(i32, i32), PgError> {
        let before = self.schema_version()?;
        if before > PG_SCHEMA_VERSION {
            return Err(PgError::NewerSchema {
                url: self.url.clone(),
                found: before,
                supported: PG_SCHEMA_VERSION,
            });
        }
        let url = self.url.clone();
        let fail = |e: postgres::Error| PgError::Server {
            url: url.clone(),
            reason: reason(&e),
        };
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
            let to = i as i32 + 1;
            if to <= before {
                continue;
            }
            let mut tx = self.client.transaction().map_err(fail)?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS casewatch_schema (
                     version    integer PRIMARY KEY,
                     name       text NOT NULL,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 );
                 -- Two pg-inits at once: the second waits here, then finds the work done.
                 LOCK TABLE casewatch_schema IN EXCLUSIVE MODE;",
            )
            .map_err(fail)?;
            let done: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM casewatch_schema WHERE version = $1)",
                    &[&to],
                )
                .map_err(fail)?
                .get(0);
            if done {
                continue;
            }
            tx.batch_execute(sql).map_err(|e| PgError::Server {
                url: url.clone(),
                reason: format!("in migration {name}: {}", reason(&e)),
            })?;
            tx.execute(
                "INSERT INTO casewatch_schema (version, name) VALUES ($1, $2)",
                &[&to, name],
            )
            .map_err(fail)?;
            tx.commit().map_err(fail)?;
        }
        Ok((before, PG_SCHEMA_VERSION))
    }
}

/// What `casewatch check` finds on a PostgreSQL database: the schema, the guarantees a shared
/// deployment rests on, and how far the kept figures are from a recount.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PgCheckReport {
    pub url: String,
    pub schema_version: i32,
    pub schema_supported: i32,
    /// Tables holding people's data without row-level security switched on.
    pub without_row_security: Vec<String>,
    /// The audit's guards that are missing: its triggers, or a role that may change it.
    pub audit_unguarded: Vec<String>,
    /// The change log's triggers that are missing or disabled: a working copy would not
    /// hear of what their table's writes change.
    pub changes_unlogged: Vec<String>,
    /// Each kept figure with how many buckets or cases differ from a recount (`None` when
    /// the login may not count every case: only a head or the owner may).
    pub kept_drift: Option<Vec<(String, i64)>>,
}

impl PgCheckReport {
    pub fn healthy(&self) -> bool {
        self.schema_version == self.schema_supported
            && self.without_row_security.is_empty()
            && self.audit_unguarded.is_empty()
            && self.changes_unlogged.is_empty()
            && self
                .kept_drift
                .as_ref()
                .is_none_or(|d| d.iter().all(|(_, n)| *n == 0))
    }
}

/// The tables that hold people's data or say what happened to them.
const GUARDED: &[&str] = &[
    "cases",
    "contacts",
    "oversight",
    "allocations",
    "enquiries",
    "assessments",
    "notes",
    "audit",
    "run_incidents",
    "alert_acks",
    "silences",
];

/// The tables whose writes the change log records (schema 9).
const LOGGED: &[&str] = &[
    "cases",
    "contacts",
    "oversight",
    "allocations",
    "enquiries",
    "assessments",
    "notes",
    "pdus",
    "teams",
    "practitioners",
    "establishment",
];

impl PgStore {
    /// Checks the schema, the row-level security, the audit's guards and the kept figures,
    /// reading only (in one read-only transaction).
    pub fn check(&mut self) -> Result<PgCheckReport, PgError> {
        let schema_version = self.schema_version()?;
        let url = self.url.clone();
        let fail = |e: postgres::Error| PgError::Server {
            url: url.clone(),
            reason: reason(&e),
        };
        let mut tx = self
            .client
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(fail)?;
        let mut report = PgCheckReport {
            url: url.clone(),
            schema_version,
            schema_supported: PG_SCHEMA_VERSION,
            without_row_security: Vec::new(),
            audit_unguarded: Vec::new(),
            changes_unlogged: Vec::new(),
            kept_drift: None,
        };
        if schema_version < PG_SCHEMA_VERSION {
            return Ok(report);
        }
        for r in tx
            .query(
                "SELECT t FROM unnest($1::text[]) t
                  WHERE NOT coalesce((SELECT relrowsecurity FROM pg_class
                                       WHERE oid = to_regclass(t)), false)
                  ORDER BY t",
                &[&GUARDED],
            )
            .map_err(fail)?
        {
            report.without_row_security.push(r.get(0));
        }
        for r in tx
            .query(
                "SELECT 'trigger ' || t FROM unnest(ARRAY['audit_no_change', 'audit_no_truncate',
                                                          'audit_db_user']) t
                  WHERE NOT EXISTS (SELECT 1 FROM pg_trigger
                                     WHERE tgrelid = 'audit'::regclass AND tgname = t
                                       AND tgenabled <> 'D')
                 UNION ALL
                 SELECT 'role ' || r || ' may ' || p || ' audit entries'
                   FROM unnest(ARRAY['casewatch_spo', 'casewatch_head']) r,
                        unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) p
                  WHERE has_table_privilege(r, 'audit', p)",
                &[],
            )
            .map_err(fail)?
        {
            report.audit_unguarded.push(r.get(0));
        }
        for r in tx
            .query(
                "SELECT t || '_log_' || op FROM unnest($1::text[]) t,
                        unnest(ARRAY['insert', 'update', 'delete']) op
                  WHERE NOT EXISTS (SELECT 1 FROM pg_trigger
                                     WHERE tgrelid = to_regclass(t)
                                       AND tgname = t || '_log_' || op AND tgenabled <> 'D')
                  ORDER BY 1",
                &[&LOGGED],
            )
            .map_err(fail)?
        {
            report.changes_unlogged.push(r.get(0));
        }
        let may_count: bool = tx
            .query_one(
                "SELECT has_function_privilege('casewatch_kept_drift()', 'EXECUTE')",
                &[],
            )
            .map_err(fail)?
            .get(0);
        if may_count {
            let drift = tx
                .query("SELECT what, differing FROM casewatch_kept_drift()", &[])
                .map_err(fail)?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            report.kept_drift = Some(drift);
        }
        tx.commit().map_err(fail)?;
        Ok(report)
    }
}

/// How a column is stored on each side, for copying and for comparing what arrived.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    Real,
    Date,
    /// SQLite's 0/1, PostgreSQL's boolean.
    Bool,
    /// SQLite's RFC 3339 text to the second, PostgreSQL's timestamptz.
    Stamp,
}

/// A table `copy` moves: its name, its columns, and the order its rows are compared in.
type CopiedTable = (&'static str, &'static [(&'static str, Kind)], &'static str);

/// The tables `copy` moves, parents first.
const COPIED: &[CopiedTable] = {
    use Kind::*;
    &[
        ("meta", &[("key", Text), ("value", Text)], "key"),
        (
            "pdus",
            &[
                ("code", Text),
                ("name", Text),
                ("region", Text),
                ("ppf_status", Text),
                ("rating", Text),
                ("score", Int),
                ("score_max", Int),
                ("inspected_on", Date),
            ],
            "code",
        ),
        (
            "teams",
            &[("code", Text), ("pdu", Text), ("name", Text)],
            "code",
        ),
        (
            "practitioners",
            &[
                ("staff_code", Text),
                ("name", Text),
                ("grade", Text),
                ("pdu", Text),
                ("team", Text),
                ("contracted_hours", Real),
                ("start_date", Date),
                ("status", Text),
            ],
            "staff_code",
        ),
        (
            "establishment",
            &[("pdu", Text), ("grade", Text), ("target_fte", Real)],
            "pdu, grade",
        ),
        (
            "cases",
            &[
                ("crn", Text),
                ("name", Text),
                ("pdu", Text),
                ("team", Text),
                ("tier", Text),
                ("rosh", Text),
                ("mappa_category", Int),
                ("mappa_level", Int),
                ("case_type", Text),
                ("sentence_date", Date),
                ("release_date", Date),
                ("custody_kind", Text),
                ("allocated_to", Text),
                ("allocated_on", Date),
                ("unallocated_since", Date),
                ("last_contact", Date),
                ("last_oversight", Date),
                ("rosh_changed_on", Date),
                ("ethnicity", Text),
                ("sex", Text),
                ("age_band", Text),
                ("da_first_requested", Date),
                ("da_last_requested", Date),
                ("da_last_returned", Date),
                ("cs_first_requested", Date),
                ("cs_last_requested", Date),
                ("cs_last_returned", Date),
                ("first_assessed", Date),
                ("last_assessed", Date),
                ("pre_release_assessed", Date),
            ],
            "crn",
        ),
        (
            "contacts",
            &[
                ("id", Int),
                ("crn", Text),
                ("date", Date),
                ("kind", Text),
                ("staff_code", Text),
            ],
            "id",
        ),
        (
            "oversight",
            &[
                ("id", Int),
                ("crn", Text),
                ("date", Date),
                ("spo_staff_code", Text),
                ("kind", Text),
                ("note", Text),
                ("sensitive", Bool),
            ],
            "id",
        ),
        (
            "allocations",
            &[
                ("id", Int),
                ("crn", Text),
                ("staff_code", Text),
                ("from_date", Date),
                ("to_date", Date),
                ("reason", Text),
            ],
            "id",
        ),
        (
            "enquiries",
            &[
                ("id", Int),
                ("crn", Text),
                ("kind", Text),
                ("requested_on", Date),
                ("returned_on", Date),
                ("outcome", Text),
            ],
            "id",
        ),
        (
            "assessments",
            &[
                ("id", Int),
                ("crn", Text),
                ("kind", Text),
                ("completed_on", Date),
                ("rosh", Text),
            ],
            "id",
        ),
        (
            "notes",
            &[
                ("id", Int),
                ("crn", Text),
                ("at", Stamp),
                ("author", Text),
                ("text", Text),
                ("sensitive", Bool),
            ],
            "id",
        ),
        (
            "audit",
            &[
                ("id", Int),
                ("at", Stamp),
                ("actor", Text),
                ("action", Text),
                ("crn", Text),
                ("subject", Text),
                ("before", Text),
                ("after", Text),
                ("reason", Text),
            ],
            "id",
        ),
        (
            "alert_runs",
            &[
                ("id", Int),
                ("as_of", Date),
                ("recorded_at", Stamp),
                ("actor", Text),
            ],
            "id",
        ),
        (
            "run_pdu_metrics",
            &[("run_id", Int), ("pdu", Text), ("metrics", Text)],
            "run_id, pdu",
        ),
        (
            "run_incidents",
            &[
                ("run_id", Int),
                ("key", Text),
                ("rule", Text),
                ("severity", Text),
                ("scope", Text),
                ("pdu", Text),
                ("count", Int),
                ("first_seen", Date),
                ("nights", Int),
                ("message", Text),
                ("metrics", Text),
                ("members", Text),
            ],
            "run_id, key",
        ),
        (
            "alert_acks",
            &[
                ("id", Int),
                ("key", Text),
                ("at", Stamp),
                ("actor", Text),
                ("note", Text),
                ("metrics", Text),
                ("as_of", Date),
            ],
            "id",
        ),
        (
            "silences",
            &[
                ("id", Int),
                ("rule", Text),
                ("pdu", Text),
                ("crn", Text),
                ("starts", Date),
                ("until", Date),
                ("reason", Text),
                ("created_by", Text),
                ("created_at", Stamp),
                ("removed_by", Text),
                ("removed_at", Stamp),
            ],
            "id",
        ),
    ]
};

/// One table as copied: rows and a checksum of their values on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    pub table: &'static str,
    pub rows_from: u64,
    pub rows_to: u64,
    pub sum_from: u64,
    pub sum_to: u64,
}

impl TableCopy {
    pub fn matches(&self) -> bool {
        self.rows_from == self.rows_to && self.sum_from == self.sum_to
    }
}

/// A checksum of rows in order: each value's canonical text, NULL apart from any text.
#[derive(Default)]
struct Sum(u64);

impl Sum {
    fn add(&mut self, v: Option<&str>) {
        // FNV-1a: stable across runs and machines (the figures are printed).
        let mut h = self.0 ^ 0xcbf2_9ce4_8422_2325;
        let mut eat = |b: u8| {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        };
        match v {
            None => eat(0xff),
            Some(t) => {
                t.bytes().for_each(&mut eat);
                eat(0x1f);
            }
        }
        self.0 = h;
    }
}

/// A SQLite value as the canonical text both sides are compared in.
fn sqlite_text(v: rusqlite::types::ValueRef<'_>) -> Option<std::borrow::Cow<'_, str>> {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string().into()),
        ValueRef::Real(f) => Some(f.to_string().into()),
        // Borrowed: a night's members are tens of megabytes of text.
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t)),
    }
}

/// A value in PostgreSQL's COPY text format.
fn copy_field(out: &mut String, v: Option<&str>, kind: Kind) {
    let Some(v) = v else {
        out.push_str("\\N");
        return;
    };
    if kind == Kind::Bool {
        out.push_str(if v == "0" { "f" } else { "t" });
        return;
    }
    // The text between escapes goes in whole: the escaped bytes are ASCII, so each is a
    // character boundary.
    let mut from = 0;
    for (i, b) in v.bytes().enumerate() {
        let escaped = match b {
            b'\\' => "\\\\",
            b'\t' => "\\t",
            b'\n' => "\\n",
            b'\r' => "\\r",
            _ => continue,
        };
        out.push_str(&v[from..i]);
        out.push_str(escaped);
        from = i + 1;
    }
    out.push_str(&v[from..]);
}

/// A text value in PostgreSQL's COPY text format (`None` for NULL).
fn copy_field_text(out: &mut String, v: Option<&str>) {
    copy_field(out, v, Kind::Text)
}

/// How PostgreSQL gives a column back in the canonical text.
fn canonical_sql(col: &str, kind: Kind) -> String {
    match kind {
        Kind::Text => col.to_string(),
        Kind::Int => format!("{col}::bigint::text"),
        // Read as a float and printed as SQLite's side is (below).
        Kind::Real => format!("{col}::float8"),
        Kind::Date => format!("to_char({col}, 'YYYY-MM-DD')"),
        Kind::Bool => format!("CASE WHEN {col} THEN '1' WHEN NOT {col} THEN '0' END"),
        Kind::Stamp => {
            format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
        }
    }
}

/// Whether the database holds PDUs, cases, audit entries or recorded runs.
fn holds_data(db: &mut impl postgres::GenericClient) -> Result<bool, postgres::Error> {
    Ok(db
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pdus) OR EXISTS (SELECT 1 FROM cases)
                 OR EXISTS (SELECT 1 FROM audit) OR EXISTS (SELECT 1 FROM alert_runs)",
            &[],
        )?
        .get(0))
}

impl PgStore {
    /// Refuses, as [`PgStore::copy_from`] would, a database that is not initialised by this
    /// casewatch or not empty: asked before work that would be wasted.
    pub fn ready_for_copy(&mut self) -> Result<(), CopyError> {
        let version = self.schema_version()?;
        if version != PG_SCHEMA_VERSION {
            return Err(CopyError::NotInitialised {
                url: self.url.clone(),
                found: version,
            });
        }
        if holds_data(&mut self.client).map_err(|e| PgError::Server {
            url: self.url.clone(),
            reason: reason(&e),
        })? {
            return Err(CopyError::NotEmpty {
                url: self.url.clone(),
            });
        }
        Ok(())
    }

    /// Copies a SQLite database's case data, notes, audit, recorded nightly runs,
    /// acknowledgements and silences into this (empty, initialised) database, in one
    /// transaction, and compares each table's rows and checksum on both sides; any
    /// difference rolls everything back.
    pub fn copy_from(&mut self, sqlite: super::Db<'_>) -> Result<Vec<TableCopy>, CopyError> {
        let version = self.schema_version()?;
        if version != PG_SCHEMA_VERSION {
            return Err(CopyError::NotInitialised {
                url: self.url.clone(),
                found: version,
            });
        }
        let url = self.url.clone();
        let fail = |e: postgres::Error| {
            CopyError::Pg(PgError::Server {
                url: url.clone(),
                reason: reason(&e),
            })
        };
        let mut tx = self.client.transaction().map_err(fail)?;
        if holds_data(&mut tx).map_err(fail)? {
            return Err(CopyError::NotEmpty { url: url.clone() });
        }
        let conn = sqlite.conn();
        // The rows arrive with what the triggers keep (last contact, risk columns) already
        // worked out by the file; the tallies are counted once at the end, not per table.
        // (Only the schema's owner may do this, as only it may copy.)
        for &(table, ..) in COPIED {
            tx.batch_execute(&format!("ALTER TABLE {table} DISABLE TRIGGER USER"))
                .map_err(fail)?;
        }
        let mut out = Vec::new();
        for &(table, cols, key) in COPIED {
            let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
            let list = names.join(", ");
            let mut stmt = conn
                .prepare(&format!("SELECT {list} FROM {table} ORDER BY {key}"))
                .map_err(CopyError::Sqlite)?;
            let mut rows = stmt.query([]).map_err(CopyError::Sqlite)?;
            let mut writer = tx
                .copy_in(&format!("COPY {table} ({list}) FROM STDIN"))
                .map_err(fail)?;
            let (mut n_from, mut sum_from) = (0u64, Sum::default());
            let mut line = String::new();
            while let Some(r) = rows.next().map_err(CopyError::Sqlite)? {
                line.clear();
                for (i, &(_, kind)) in cols.iter().enumerate() {
                    let v = sqlite_text(r.get_ref(i).map_err(CopyError::Sqlite)?);
                    sum_from.add(v.as_deref());
                    if i > 0 {
                        line.push('\t');
                    }
                    copy_field(&mut line, v.as_deref(), kind);
                }
                line.push('\n');
                std::io::Write::write_all(&mut writer, line.as_bytes()).map_err(|e| {
                    CopyError::Pg(PgError::Server {
                        url: url.clone(),
                        reason: e.to_string(),
                    })
                })?;
                n_from += 1;
            }
            writer.finish().map_err(fail)?;
            // Named apart from the columns, which ORDER BY would otherwise take them for.
            let select: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(i, &(c, k))| format!("{} AS v{i}", canonical_sql(c, k)))
                .collect();
            // Streamed: the runs' members alone are tens of megabytes a night.
            let mut back = tx
                .query_raw(
                    &format!("SELECT {} FROM {table} ORDER BY {key}", select.join(", ")),
                    std::iter::empty::<i32>(),
                )
                .map_err(fail)?;
            let (mut n_to, mut sum_to) = (0u64, Sum::default());
            while let Some(r) =
                postgres::fallible_iterator::FallibleIterator::next(&mut back).map_err(fail)?
            {
                for (i, &(_, kind)) in cols.iter().enumerate() {
                    let v: Option<String> = if kind == Kind::Real {
                        r.get::<_, Option<f64>>(i).map(|f| f.to_string())
                    } else {
                        r.get(i)
                    };
                    sum_to.add(v.as_deref());
                }
                n_to += 1;
            }
            drop(back);
            if names.contains(&"id") {
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                                       coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
                    ),
                    &[],
                )
                .map_err(fail)?;
            }
            out.push(TableCopy {
                table,
                rows_from: n_from,
                rows_to: n_to,
                sum_from: sum_from.0,
                sum_to: sum_to.0,
            });
        }
        for &(table, ..) in COPIED {
            tx.batch_execute(&format!("ALTER TABLE {table} ENABLE TRIGGER USER"))
                .map_err(fail)?;
        }
        tx.batch_execute("SELECT casewatch_tally_rebuild()")
            .map_err(fail)?;
        // The change log's triggers were set aside with the others: a working copy read
        // before (of the empty server) reads every PDU afresh.
        tx.batch_execute(LOG_WHOLE_PDUS).map_err(fail)?;
        // Statistics for the planner, before anyone reads: without them the row-security
        // policies are planned for empty tables, and an SPO's first read at a million cases
        // took 17 s instead of 3 s. (Rows this transaction wrote count as live.)
        let analysed: Vec<&str> = COPIED
            .iter()
            .map(|t| t.0)
            .chain(crate::store::tally::TABLES.iter().map(|t| t.0))
            .collect();
        tx.batch_execute(&format!("ANALYZE {}", analysed.join(", ")))
            .map_err(fail)?;
        if out.iter().all(TableCopy::matches) {
            tx.commit().map_err(fail)?;
            Ok(out)
        } else {
            // Dropped without a commit: nothing was copied.
            Err(CopyError::Differs(out))
        }
    }
}

/// Why a copy did not happen; in each case nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Pg(#[from] PgError),
    #[error("reading the SQLite database: {0}")]
    Sqlite(rusqlite::Error),
    #[error(
        "{url} has casewatch schema version {found}, not {PG_SCHEMA_VERSION}: run `casewatch pg-init URL` first"
    )]
    NotInitialised { url: String, found: i32 },
    #[error(
        "{url} already holds PDUs, cases, audit entries or recorded runs: copy into an empty casewatch database"
    )]
    NotEmpty { url: String },
    #[error("the copy differed from the original ({}); nothing was copied", differing(.0))]
    Differs(Vec<TableCopy>),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(
        "{} is a casewatch database, not a working copy of a server: name a new file for \
         --working-copy (this one is left as it is)",
        .0.display()
    )]
    NotACopy(std::path::PathBuf),
    #[error("cannot put the working copy in place at {}: {reason}", .path.display())]
    Place {
        path: std::path::PathBuf,
        reason: String,
    },
}

fn differing(t: &[TableCopy]) -> String {
    t.iter()
        .filter(|t| !t.matches())
        .map(|t| {
            format!(
                "{}: {} rows read, {} arrived, checksum {:016x} read, {:016x} arrived",
                t.table, t.rows_from, t.rows_to, t.sum_from, t.sum_to
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The server's message for an error, without its internals.
pub(crate) fn reason(e: &postgres::Error) -> String {
    match e.as_db_error() {
        // Row-level security or a missing grant refusing a write: say what decides it.
        Some(db) if *db.code() == postgres::error::SqlState::INSUFFICIENT_PRIVILEGE => format!(
            "{} (what a login may write is set by its role and its PDUs in pdu_access)",
            db.message()
        ),
        Some(db) => db.message().to_string(),
        None => {
            // The source error says what happened at the socket (refused, timed out).
            let mut s = e.to_string();
            if let Some(src) = std::error::Error::source(e) {
                s = format!("{s}: {src}");
            }
            s
        }
    }
}

fn classify_connect(url: &str, e: &postgres::Error) -> PgError {
    use postgres::error::SqlState;
    let url = url.to_string();
    match e.code() {
        Some(c)
            if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            PgError::LoginRefused {
                url,
                reason: reason(e),
            }
        }
        Some(_) => PgError::Server {
            url,
            reason: reason(e),
        },
        None => PgError::Unreachable {
            url,
            reason: reason(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_only_what_copy_reads_as_special() {
        let field = |v: Option<&str>, kind| {
            let mut out = String::from(">");
            copy_field(&mut out, v, kind);
            out
        };
        assert_eq!(
            field(Some("a\\b\tc\nd\re"), Kind::Text),
            ">a\\\\b\\tc\\nd\\re"
        );
        assert_eq!(
            field(Some("\\Mrs Ó'Brien «x»\n"), Kind::Text),
            ">\\\\Mrs Ó'Brien «x»\\n"
        );
        assert_eq!(field(Some(""), Kind::Text), ">");
        assert_eq!(field(None, Kind::Text), ">\\N");
        assert_eq!(field(Some("0"), Kind::Bool), ">f");
        assert_eq!(field(Some("1"), Kind::Bool), ">t");
    }

    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            redacted("postgres://spo:s3cret@db.example:5432/casewatch"),
            "postgres://spo:***@db.example:5432/casewatch"
        );
        assert_eq!(
            redacted("postgresql://spo:p@ss@word@host/db?sslmode=disable"),
            "postgresql://spo:***@host/db?sslmode=disable"
        );
        assert_eq!(redacted("postgres://spo@host/db"), "postgres://spo@host/db");
        assert_eq!(
            redacted("postgres:///db?host=/tmp"),
            "postgres:///db?host=/tmp"
        );
        assert!(is_url("postgresql://x/y") && !is_url("/var/casewatch.db"));
    }

    #[test]
    fn a_malformed_url_is_refused_in_words_and_without_its_password() {
        let e = PgStore::connect("postgres://spo:hunter2@host:notaport/db")
            .err()
            .unwrap();
        let s = e.to_string();
        assert!(matches!(e, PgError::BadUrl { .. }), "{s}");
        assert!(!s.contains("hunter2"), "{s}");
        assert!(s.contains("postgres://spo:***@host:notaport/db"), "{s}");
    }

    #[test]
    fn a_server_that_is_not_there_is_said_in_one_line() {
        // Port 1 on this machine: nothing listens there.
        let e = PgStore::connect("postgres://spo:hunter2@127.0.0.1:1/db")
            .err()
            .unwrap();
        let s = e.to_string();
        assert!(matches!(e, PgError::Unreachable { .. }), "{s}");
        assert!(!s.contains("hunter2") && !s.contains('\n'), "{s}");
    }
}
