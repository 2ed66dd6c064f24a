//! casewatch on a shared PostgreSQL server: what a `postgres://` URL names, connecting with
//! errors in words (the password never shown), and creating the schema and roles
//! (`casewatch pg-init`). The schema is versioned like SQLite's, with its own migrations
//! (`assets/postgres/`); a server holding a newer version is refused.

use std::time::Duration;

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
];

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
        let client = config
            .connect(postgres::NoTls)
            .map_err(|e| classify_connect(&shown, &e))?;
        Ok(PgStore { client, url: shown })
    }

    /// The URL, password hidden.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn server_error(&self, e: postgres::Error) -> PgError {
        PgError::Server {
            url: self.url.clone(),
            reason: reason(&e),
        }
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

/// The server's message for an error, without its internals.
fn reason(e: &postgres::Error) -> String {
    match e.as_db_error() {
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
