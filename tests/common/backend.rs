//! One integration test, two backends: the same steps through the real binary on a SQLite
//! file and on a PostgreSQL server of the test's own (`pg::Server`), with the few direct
//! reads and writes a test makes (a case allocated behind casewatch's back, a count) sent
//! to whichever holds the data. Include with `#[path = "common/backend.rs"] mod backend;`
//! beside `#[path = "common/pg.rs"] mod pg;`, and name the tests with [`on_both!`].

#![allow(dead_code)] // each test file uses a different part

use std::path::Path;

use crate::pg::Server;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Server,
}

/// A casewatch database on one backend: what `--db` is given, and a way in for the test's
/// own SQL.
pub struct Backend {
    /// The `--db` argument: the file's path or the server's URL (as its owner).
    pub db: String,
    server: Option<Server>,
}

/// Makes `on_sqlite` and `on_postgresql` tests of each named function, which takes a
/// [`Kind`]: `on_both!(a_test, another)` gives `a_test::on_sqlite`, `a_test::on_postgresql`.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn on_sqlite() {
                    super::$name($crate::backend::Kind::File)
                }
                #[test]
                fn on_postgresql() {
                    super::$name($crate::backend::Kind::Server)
                }
            }
        )*
    };
}

/// `sql` with each `?N` replaced by the `N`th of `params` as a quoted literal: the test's
/// own values, so that one text serves both backends (PostgreSQL types an untyped literal
/// by its column, where a bound text parameter would not be taken for a date).
fn inline(sql: &str, params: &[&str]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            let mut n = 0usize;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = n * 10 + d as usize;
                chars.next();
            }
            let v = params[n - 1];
            out.push('\'');
            out.push_str(&v.replace('\'', "''"));
            out.push('\'');
        } else {
            out.push(c);
        }
    }
    out
}

impl Backend {
    /// An empty database: a file in `dir` (made by the first command that opens it), or a
    /// new server with the schema made by `pg-init`.
    pub fn empty(kind: Kind, dir: &Path) -> Backend {
        match kind {
            Kind::File => Backend {
                db: dir.join("casewatch.db").to_str().unwrap().to_string(),
                server: None,
            },
            Kind::Server => {
                let server = Server::start();
                let db = server.url("postgres");
                let o = crate::common::casewatch(&["pg-init", &db], dir);
                assert!(o.status.success(), "{}", crate::common::stderr(&o));
                Backend {
                    db,
                    server: Some(server),
                }
            }
        }
    }

    /// The demo of `cases` cases as of `as_of`, built by `casewatch demo` on the backend.
    pub fn demo(kind: Kind, dir: &Path, cases: &str, as_of: &str) -> Backend {
        Backend::demo_with(kind, dir, &["--as-of", as_of, "demo", "--cases", cases])
    }

    /// The demo of `cases` cases from `seed`, as of 2026-11-01 (`common::build_demo`'s).
    pub fn demo_seeded(kind: Kind, dir: &Path, cases: &str, seed: &str) -> Backend {
        Backend::demo_with(kind, dir, &crate::common::demo_args(cases, seed))
    }

    fn demo_with(kind: Kind, dir: &Path, args: &[&str]) -> Backend {
        let b = Backend::empty(kind, dir);
        let mut all = vec!["--db", b.db.as_str()];
        all.extend_from_slice(args);
        let o = crate::common::casewatch(&all, dir);
        assert!(o.status.success(), "{}", crate::common::stderr(&o));
        b
    }

    pub fn kind(&self) -> Kind {
        if self.server.is_some() {
            Kind::Server
        } else {
            Kind::File
        }
    }

    fn sqlite(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(&self.db).unwrap();
        c.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        c
    }

    fn pg(&self) -> postgres::Client {
        self.server.as_ref().unwrap().connect("postgres")
    }

    /// Runs a statement (`?N` for the `N`th of `params`); how many rows it changed.
    pub fn exec(&self, sql: &str, params: &[&str]) -> u64 {
        self.try_exec(sql, params)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// [`Self::exec`], giving the database's refusal instead of failing the test.
    pub fn try_exec(&self, sql: &str, params: &[&str]) -> Result<u64, String> {
        let sql = inline(sql, params);
        match &self.server {
            None => self
                .sqlite()
                .execute(&sql, [])
                .map(|n| n as u64)
                .map_err(|e| e.to_string()),
            Some(_) => self
                .pg()
                .execute(sql.as_str(), &[])
                .map_err(|e| e.to_string()),
        }
    }

    /// The first column of each row, as text (NULL as the empty string).
    pub fn texts(&self, sql: &str, params: &[&str]) -> Vec<String> {
        let sql = inline(sql, params);
        match &self.server {
            None => {
                let c = self.sqlite();
                let mut st = c.prepare(&sql).unwrap();
                st.query_map([], |r| r.get::<_, Option<String>>(0))
                    .unwrap()
                    .map(|v| v.unwrap().unwrap_or_default())
                    .collect()
            }
            Some(_) => self
                .pg()
                .query(sql.as_str(), &[])
                .unwrap()
                .iter()
                .map(|r| r.get::<_, Option<String>>(0).unwrap_or_default())
                .collect(),
        }
    }

    /// The one text value `sql` gives.
    pub fn text(&self, sql: &str, params: &[&str]) -> String {
        let all = self.texts(sql, params);
        assert_eq!(all.len(), 1, "{sql}: {all:?}");
        all.into_iter().next().unwrap()
    }

    /// The one whole number `sql` gives (a count, say).
    pub fn int(&self, sql: &str, params: &[&str]) -> i64 {
        let sql = inline(sql, params);
        match &self.server {
            None => self.sqlite().query_row(&sql, [], |r| r.get(0)).unwrap(),
            Some(_) => self.pg().query_one(sql.as_str(), &[]).unwrap().get(0),
        }
    }

    /// What a write would change, to compare before and after: the file byte for byte, or
    /// on the server every case row and the number of rows of each table a write adds to.
    pub fn held(&self) -> Vec<u8> {
        match self.kind() {
            Kind::File => std::fs::read(&self.db).unwrap(),
            Kind::Server => {
                let mut all = self.texts(
                    "SELECT md5(string_agg(c::text, ',' ORDER BY crn)) FROM cases c",
                    &[],
                );
                for table in [
                    "audit",
                    "allocations",
                    "notes",
                    "oversight",
                    "contacts",
                    "alert_acks",
                    "silences",
                ] {
                    let n = self.int(&format!("SELECT count(*) FROM {table}"), &[]);
                    all.push(format!("{table} {n}"));
                }
                all.join("\n").into_bytes()
            }
        }
    }

    /// How many alerts the recorded runs hold, open and resolved (the members of their
    /// incidents).
    pub fn recorded_alerts(&self) -> i64 {
        match self.kind() {
            Kind::File => self.int("SELECT count(*) FROM run_alerts", &[]),
            Kind::Server => self.int(
                "SELECT coalesce(sum(json_array_length(members::json)), 0)::bigint
                   FROM run_incidents",
                &[],
            ),
        }
    }
}
