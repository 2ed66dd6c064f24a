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

/// The number after "row N of " on the screen.
fn rows_of(screen: &str) -> u64 {
    let line = screen
        .lines()
        .find(|l| l.starts_with("row "))
        .expect("a row count");
    let at = line.find(" of ").expect("a row count");
    line[at + 4..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a row count")
}

/// A column filter narrows the table in the real binary; `e` writes exactly those rows, in
/// the screen's order, with names masked when the screen masks them; Esc clears the filter
/// before it leaves the PDU.
#[test]
fn a_filtered_masked_table_exports_as_shown_and_esc_clears_the_filter_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path(), "4000");
    let mut screen = open_screen(&db, dir.path());
    screen.wait_for("18 PDUs");
    screen.send(b"\r");
    screen.wait_for("more not shown");
    screen.send(b"2");
    let all = rows_of(&screen.wait_for("row 1 of"));

    screen.send(b"/");
    screen.send(b"rosh:high+ foo:bar");
    let s = screen.wait_for("'foo:bar' not applied: unknown key");
    assert!(s.contains("filter: rosh:high+ foo:bar"), "{s}");
    for _ in 0.." foo:bar".len() {
        screen.send(b"\x7f");
    }
    screen.send(b"\r");
    let s = screen.wait_for("(Esc clears)");
    let shown = rows_of(&s);
    assert!(0 < shown && shown < all, "{shown} of {all}");

    screen.send(b"m");
    screen.send(b"e");
    let s = screen.wait_for("exported");
    assert!(
        s.contains(&format!(
            "exported {shown} rows (initials) to ./casewatch-HFKCW-unallocated-2026-11-01.csv"
        )),
        "{s}"
    );
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "csv"))
        .expect("the export in the working directory");
    let masked = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        masked.lines().count() as u64,
        shown + 1,
        "a header and the rows"
    );

    // The same list unmasked, from the command line: same rows, same order, no full name.
    let o = common::casewatch(
        &[
            "--as-of",
            "2026-11-01",
            "--db",
            db.to_str().unwrap(),
            "export",
            "unallocated",
            "--pdu",
            "HFKCW",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let full = String::from_utf8(o.stdout).unwrap();
    let crns = |text: &str| -> Vec<String> {
        text.lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap_or("").to_string())
            .collect()
    };
    let names: std::collections::HashMap<String, String> = full
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cells = l.split(',');
            Some((cells.next()?.to_string(), cells.next()?.to_string()))
        })
        .collect();
    let got = crns(&masked);
    let all_crns = crns(&full);
    let mut in_order = all_crns.iter().filter(|c| got.contains(c));
    assert!(
        got.iter().all(|c| in_order.next() == Some(c)),
        "the screen's order"
    );
    for crn in &got {
        let name = &names[crn];
        assert!(!masked.contains(name.as_str()), "{name} written in full");
    }

    // Esc clears the filter and stays; the next Esc leaves.
    screen.send(b"\x1b");
    let s = screen.wait_for("filter cleared");
    assert_eq!(rows_of(&s), all, "{s}");
    screen.send(b"\x1b");
    screen.wait_for("18 PDUs");
    screen.send(b"q");
    let status = screen.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}
