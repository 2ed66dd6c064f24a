//! What the end-to-end tests share: running the real binary in a private home.

#![allow(dead_code)] // each test file uses a different part

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

/// The real binary, with the user's own data and config dirs kept out of it.
pub fn cmd(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_casewatch"));
    c.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("CASEWATCH_DB");
    c
}

/// Runs casewatch with `args` and waits for it.
pub fn casewatch(args: &[&str], home: &Path) -> Output {
    cmd(home).args(args).output().expect("run casewatch")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The arguments of `casewatch demo` for `cases` synthetic cases from `seed`, as of
/// 2026-11-01.
pub fn demo_args<'a>(cases: &'a str, seed: &'a str) -> [&'a str; 7] {
    [
        "--as-of",
        "2026-11-01",
        "demo",
        "--cases",
        cases,
        "--seed",
        seed,
    ]
}

/// Builds a demo database of `cases` synthetic cases (as of 2026-11-01) at `db`.
pub fn build_demo(home: &Path, db: &Path, cases: &str, seed: &str) {
    let o = cmd(home)
        .args(demo_args(cases, seed))
        .arg("--db")
        .arg(db)
        .output()
        .expect("run casewatch demo");
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The real binary in a pseudo-terminal, read through a terminal emulator. Keeps the whole
/// byte stream and every distinct line ever drawn, so a test can ask what the screen showed
/// at any moment, not only what it shows now.
pub struct Screen {
    parser: std::sync::Arc<std::sync::Mutex<vt100::Parser>>,
    seen: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    raw: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    writer: Box<dyn std::io::Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    exited: bool,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Screen {
    /// Starts casewatch with `args` in a `cols` x `rows` pseudo-terminal (TERM=xterm-256color),
    /// with HOME and the XDG directories in `home`.
    pub fn open(home: &Path, args: &[&std::ffi::OsStr], cols: u16, rows: u16) -> Screen {
        use std::sync::{Arc, Mutex};
        let pty = portable_pty::native_pty_system()
            .openpty(portable_pty::PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut c = portable_pty::CommandBuilder::new(env!("CARGO_BIN_EXE_casewatch"));
        c.args(args);
        c.env("TERM", "xterm-256color");
        c.env("HOME", home);
        c.env("XDG_DATA_HOME", home.join("data"));
        c.env("XDG_CONFIG_HOME", home.join("config"));
        c.env_remove("CASEWATCH_DB");
        c.env_remove("NO_COLOR");
        c.cwd(home);
        let child = pty
            .slave
            .spawn_command(c)
            .expect("start casewatch in the pty");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let writer = pty.master.take_writer().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let seen = Arc::new(Mutex::new(std::collections::HashSet::new()));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (p, s, r) = (parser.clone(), seen.clone(), raw.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = std::io::Read::read(&mut reader, &mut buf) {
                if n == 0 {
                    break;
                }
                r.lock().unwrap().extend_from_slice(&buf[..n]);
                let text = {
                    let mut p = p.lock().unwrap();
                    p.process(&buf[..n]);
                    p.screen().contents()
                };
                let mut s = s.lock().unwrap();
                for line in text.lines() {
                    if !s.contains(line) {
                        s.insert(line.to_string());
                    }
                }
            }
        });
        Screen {
            parser,
            seen,
            raw,
            writer,
            child,
            exited: false,
            _master: pty.master,
        }
    }

    /// What the screen shows now.
    pub fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Whether any line ever drawn contained `needle`.
    pub fn ever_showed(&self, needle: &str) -> bool {
        self.seen.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    /// Every byte the program wrote to the terminal so far.
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Waits up to `limit` until the screen satisfies `ok`; the screen it was satisfied by,
    /// or what it showed last.
    pub fn wait_until(
        &self,
        limit: std::time::Duration,
        ok: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let start = std::time::Instant::now();
        loop {
            let t = self.text();
            if ok(&t) {
                return Ok(t);
            }
            if start.elapsed() > limit {
                return Err(t);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Waits until the screen shows `needle`, or fails with what it showed.
    pub fn wait_for(&self, needle: &str) -> String {
        self.wait_until(std::time::Duration::from_secs(20), |t| t.contains(needle))
            .unwrap_or_else(|t| panic!("timed out waiting for {needle:?}; screen:\n{t}"))
    }

    /// Types `bytes` and gives the program a moment, so that an Esc is not read as the start
    /// of an escape sequence together with what follows.
    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(150));
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("the screen's process id")
    }

    /// Whether the program is still running.
    pub fn running(&mut self) -> bool {
        let done = self.child.try_wait().unwrap().is_some();
        self.exited |= done;
        !done
    }

    /// Waits up to `limit` for the program to exit; its status.
    pub fn wait_exit(&mut self, limit: std::time::Duration) -> portable_pty::ExitStatus {
        let start = std::time::Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                self.exited = true;
                return st;
            }
            assert!(start.elapsed() < limit, "the screen did not exit");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        // A failed test must not leave the program running.
        if !self.exited && self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// From the overview: opens `pdu`'s unallocated cases, filters them to `crn`, and opens the
/// allocation form on it; gives the screen with the form ready.
pub fn open_allocation_form(screen: &mut Screen, pdu: &str, crn: &str) -> String {
    use std::time::Duration;
    screen.wait_for(pdu);
    screen.send(format!("/{pdu}\r\r").as_bytes());
    screen.wait_for(&format!("Overview › {pdu} › Today"));
    screen.send(b"2");
    screen.wait_for("row 1 of");
    screen.send(format!("/{crn}\r").as_bytes());
    screen
        .wait_until(Duration::from_secs(20), |t| t.contains("row 1 of 1 "))
        .unwrap_or_else(|t| panic!("the filter did not apply:\n{t}"));
    screen.send(b"a");
    screen
        .wait_until(Duration::from_secs(20), |t| {
            t.contains(&format!("Case {crn} ·")) && !t.contains("loading practitioners")
        })
        .unwrap_or_else(|t| panic!("no picker:\n{t}"))
}

/// In the allocation form: a rationale, then Enter (and Enter again when the form asks).
pub fn allocate_with_rationale(screen: &mut Screen, rationale: &str) {
    screen.send(b"\t");
    screen.send(rationale.as_bytes());
    screen.wait_for(rationale);
    screen.send(b"\r");
    std::thread::sleep(std::time::Duration::from_millis(300));
    if screen.text().contains("Enter again to allocate") {
        screen.send(b"\r");
    }
}
