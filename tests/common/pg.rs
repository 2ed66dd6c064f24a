//! A PostgreSQL server of a test's or a bench's own: `initdb` and `pg_ctl` from the
//! distribution's packages in a temporary directory, listening on a Unix socket only (as the
//! `postgres` user when running as root: PostgreSQL refuses to run as root).

#![allow(dead_code)] // the tests and the bench use different parts

use std::path::PathBuf;
use std::process::Command;

/// A PostgreSQL server of the test's own, stopped when dropped.
pub struct Server {
    pub dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    as_postgres: bool,
}

pub fn pg_bin() -> PathBuf {
    if let Some(b) = std::env::var_os("CASEWATCH_PG_BIN") {
        return b.into();
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists())
        .collect();
    found.sort();
    if let Some(b) = found.pop() {
        return b;
    }
    let o = Command::new("pg_config").arg("--bindir").output().expect(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin, no pg_config): \
         apt-get install postgresql, or set CASEWATCH_PG_BIN",
    );
    PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Server {
    pub fn start() -> Server {
        let bin = pg_bin();
        let as_postgres = is_root();
        let dir = tempfile::tempdir().unwrap();
        // A port per test process and server: the socket's name carries it.
        let port = 20_000 + (std::process::id() % 20_000) as u16 + {
            use std::sync::atomic::{AtomicU16, Ordering};
            static NEXT: AtomicU16 = AtomicU16::new(0);
            NEXT.fetch_add(1, Ordering::Relaxed) * 7
        };
        if as_postgres {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown of the server's directory failed");
        }
        let s = Server {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = s.data();
        s.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        s.boot();
        s.admin()
            .batch_execute("CREATE DATABASE casewatch")
            .unwrap();
        s
    }

    /// Starts the server on its data directory (again, after [`Server::stop`]).
    pub fn boot(&self) {
        let data = self.data();
        let opts = format!(
            "-k {} -p {} -c listen_addresses='' -c fsync=off",
            self.dir.path().display(),
            self.port
        );
        let log = self.dir.path().join("log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let o = c.args(args).output().unwrap();
        assert!(
            o.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// The URL of database `db` as `user`.
    pub fn url_of(&self, user: &str, db: &str) -> String {
        format!(
            "postgres://{user}@/{db}?host={}&port={}",
            self.dir.path().display(),
            self.port
        )
    }

    pub fn url(&self, user: &str) -> String {
        self.url_of(user, "casewatch")
    }

    pub fn connect(&self, user: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(user), postgres::NoTls).unwrap()
    }

    pub fn admin(&self) -> postgres::Client {
        postgres::Client::connect(&self.url_of("postgres", "postgres"), postgres::NoTls).unwrap()
    }

    pub fn stop(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.data();
        let exe = self.bin.join("pg_ctl");
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let _ = c
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
    }
}
