//! End to end: the real binary in a pseudo-terminal, read through a terminal emulator.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }
    /// Waits until the screen shows `needle`, or fails with what it showed.
    fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let t = self.text();
            if t.contains(needle) {
                return t;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {needle:?}; screen:\n{t}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Builds a demo database of `cases` cases in `dir`.
fn demo_db(dir: &std::path::Path, cases: &str) -> std::path::PathBuf {
    let db = dir.join("screen.db");
    let built = std::process::Command::new(env!("CARGO_BIN_EXE_casewatch"))
        .args(["--as-of", "2026-11-01", "demo", "--cases", cases, "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(built.status.success());
    db
}

type Child = Box<dyn portable_pty::Child + Send + Sync>;
type Master = Box<dyn portable_pty::MasterPty + Send>;

/// Starts the screen on `db` in an 80x24 pseudo-terminal.
fn open_screen(db: &std::path::Path, home: &std::path::Path) -> (Child, Master) {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_casewatch"));
    cmd.args(["--as-of", "2026-11-01", "--db"]);
    cmd.arg(db);
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", home);
    let child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    (child, pty.master)
}

#[test]
fn overview_drill_into_hfkcw_help_and_quit() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), "4000");
    let (mut child, master) = open_screen(&db, dir.path());
    let mut reader = master.try_clone_reader().unwrap();
    let mut writer = master.take_writer().unwrap();
    let parser = Arc::new(Mutex::new(vt100::Parser::new(24, 80, 0)));
    let p2 = parser.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            p2.lock().unwrap().process(&buf[..n]);
        }
    });
    let screen = Screen { parser };
    let mut send = |b: &[u8]| {
        writer.write_all(b).unwrap();
        writer.flush().unwrap();
        // Give the app a moment so that Esc is not read as the start of a sequence.
        std::thread::sleep(Duration::from_millis(150));
    };

    let s = screen.wait_for("HFKCW");
    assert!(s.contains("18 PDUs"), "{s}");
    let first = s.lines().find(|l| l.contains("HFKCW")).unwrap();
    assert!(first.contains("ALERT"), "HFKCW must be flagged: {first}");

    send(b"\r");
    let s = screen.wait_for("row 1 of");
    assert!(s.contains("Overview › HFKCW › Unallocated"), "{s}");
    assert!(s.contains("[1 Unalloc"), "{s}");

    send(b"?");
    let s = screen.wait_for("Help: keys");
    assert!(s.contains("quit"), "{s}");
    send(b"x");
    screen.wait_for("row 1 of");

    send(b"q");
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "did not quit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

/// SIGTERM and SIGHUP end the screen cleanly: the alternate screen is left, the cursor shown,
/// and the process exits instead of hanging or dying with the terminal in raw mode.
#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), "2000");
    for signal in ["TERM", "HUP"] {
        let (mut child, master) = open_screen(&db, dir.path());
        let mut reader = master.try_clone_reader().unwrap();
        let raw = Arc::new(Mutex::new(Vec::<u8>::new()));
        let r2 = raw.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                r2.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let start = Instant::now();
        while !String::from_utf8_lossy(&raw.lock().unwrap()).contains("HFKCW") {
            assert!(start.elapsed() < Duration::from_secs(20), "never drew");
            std::thread::sleep(Duration::from_millis(50));
        }
        let pid = child.process_id().unwrap();
        let ok = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let start = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "SIG{signal} did not end it"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "SIG{signal}: {status:?}");
        std::thread::sleep(Duration::from_millis(100));
        let out = raw.lock().unwrap().clone();
        let tail = String::from_utf8_lossy(&out);
        let left = tail.rfind("\x1b[?1049l").expect("alternate screen left");
        let entered = tail.rfind("\x1b[?1049h").expect("alternate screen entered");
        assert!(
            left > entered,
            "SIG{signal}: left the alternate screen last"
        );
        assert!(
            tail.rfind("\x1b[?25h") > tail.rfind("\x1b[?25l"),
            "SIG{signal}: the cursor is shown again"
        );
    }
}
