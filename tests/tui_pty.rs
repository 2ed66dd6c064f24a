//! End to end: the real binary in a pseudo-terminal, read through a terminal emulator.

mod common;

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use common::Screen;

/// Builds a demo database of `cases` cases in `dir`.
fn demo_db(dir: &std::path::Path, cases: &str) -> std::path::PathBuf {
    let db = dir.join("screen.db");
    common::build_demo(dir, &db, cases, "2022");
    db
}

/// Starts the screen on `db` in an 80x24 pseudo-terminal.
fn open_screen(db: &std::path::Path, home: &std::path::Path) -> Screen {
    let args = [
        OsStr::new("--as-of"),
        OsStr::new("2026-11-01"),
        OsStr::new("--db"),
        db.as_os_str(),
    ];
    Screen::open(home, &args, 80, 24)
}

#[test]
fn overview_drill_into_hfkcw_help_and_quit() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), "4000");
    let mut screen = open_screen(&db, dir.path());

    // The footer is written after the table rows: wait for both, not a frame half drawn.
    let s = screen
        .wait_until(std::time::Duration::from_secs(20), |t| {
            t.contains("HFKCW") && t.contains("18 PDUs")
        })
        .unwrap_or_else(|t| panic!("timed out waiting for the overview; screen:\n{t}"));
    let first = s.lines().find(|l| l.contains("HFKCW")).unwrap();
    assert!(
        first.contains("▲▲ ORG ALERT"),
        "HFKCW must be flagged: {first}"
    );
    assert!(
        s.contains("org alert ·"),
        "the footer counts PDUs per level: {s}"
    );

    // Enter opens the PDU on Today, its ranked worklist; 2 is the unallocated list.
    screen.send(b"\r");
    let s = screen.wait_for("more not shown");
    assert!(s.contains("Overview › HFKCW › Today"), "{s}");
    assert!(s.contains("[1 Today]"), "{s}");
    screen.send(b"2");
    let s = screen.wait_for("row 1 of");
    assert!(s.contains("Overview › HFKCW › Unallocated"), "{s}");
    assert!(s.contains("[2 Unal"), "{s}");

    // ! lists HFKCW's incidents; Enter lists the first one's alerts; Esc goes back.
    screen.send(b"!");
    let s = screen.wait_for("incidents · HFKCW");
    assert!(s.contains("Alerts of HFKCW"), "{s}");
    screen.send(b"\r");
    screen.wait_for("oldest first");
    screen.send(b"\x1b");
    screen.wait_for("incidents · HFKCW");
    screen.send(b"\x1b");
    screen.wait_for("row 1 of");

    screen.send(b"?");
    let s = screen.wait_for("Help: keys");
    assert!(s.contains("quit"), "{s}");
    screen.send(b"x");
    screen.wait_for("row 1 of");

    screen.send(b"q");
    let status = screen.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}

/// SIGTERM and SIGHUP end the screen cleanly: the alternate screen is left, the cursor shown,
/// and the process exits instead of hanging or dying with the terminal in raw mode.
#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), "2000");
    for signal in ["TERM", "HUP"] {
        let mut screen = open_screen(&db, dir.path());
        let start = Instant::now();
        while !String::from_utf8_lossy(&screen.raw()).contains("HFKCW") {
            assert!(start.elapsed() < Duration::from_secs(20), "never drew");
            std::thread::sleep(Duration::from_millis(50));
        }
        let ok = std::process::Command::new("kill")
            .args([format!("-{signal}"), screen.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let status = screen.wait_exit(Duration::from_secs(10));
        assert!(status.success(), "SIG{signal}: {status:?}");
        std::thread::sleep(Duration::from_millis(100));
        let out = screen.raw();
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
