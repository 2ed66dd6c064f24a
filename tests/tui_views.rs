//! Snapshot tests of every view at 80x24 and 120x40, on a small fixture database, through the
//! real query path (the worker's `answer`) and the real update and view functions.

use std::path::{Path, PathBuf};

use casewatch::demo::{DemoOptions, build};
use casewatch::policy::Policy;
use casewatch::store::{OpenMode, Store};
use casewatch::tui::app::{Model, Msg};
use casewatch::tui::view::view;
use casewatch::tui::worker::{Env, Request, answer};
use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
}

fn fixture(dir: &Path) -> PathBuf {
    let p = dir.join("fixture.db");
    build(
        &p,
        &DemoOptions {
            cases: 2000,
            seed: 11,
            anchor: as_of(),
        },
        false,
    )
    .unwrap();
    // A hostile name: an escape sequence that would clear the screen, and a bidi override.
    let c = rusqlite::Connection::open(&p).unwrap();
    c.execute(
        "UPDATE cases SET name = ?1 WHERE crn = (SELECT crn FROM cases WHERE pdu = 'HFKCW'
           AND allocated_to IS NULL ORDER BY risk_rank DESC, unallocated_since, crn LIMIT 1)",
        ["Evil\u{1b}[2J\u{1b}]0;owned\u{7}\u{202e}eman"],
    )
    .unwrap();
    p
}

/// Feeds a message, then runs every request it produced through the store and feeds the
/// answers back, as the event loop does.
fn env() -> Env {
    Env {
        policy: Policy::defaults(),
        rules: casewatch::rules::Rules::defaults(),
        as_of: as_of(),
    }
}

fn drive(m: &mut Model, store: &Store, msg: Msg) {
    let env = env();
    let mut pending: Vec<Request> = m.update(msg);
    while let Some(r) = pending.pop() {
        let resp = answer(store, &env, r);
        pending.extend(m.update(Msg::Loaded(resp)));
    }
}

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn start(store: &Store, w: u16, h: u16) -> Model {
    let mut m = Model::new("fixture.db".into(), as_of(), false, (w, h));
    let env = env();
    let mut pending = m.refresh();
    while let Some(r) = pending.pop() {
        pending.extend(m.update(Msg::Loaded(answer(store, &env, r))));
    }
    m
}

fn render(m: &Model) -> String {
    let (w, h) = m.size;
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view(m, f)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn screens(w: u16, h: u16) -> Vec<(&'static str, String)> {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture(dir.path());
    let store = Store::open(&db, OpenMode::Existing).unwrap();
    let mut m = start(&store, w, h);
    let mut out = vec![("overview", render(&m))];
    drive(&mut m, &store, key(KeyCode::Enter));
    out.push(("pdu_today", render(&m)));
    drive(&mut m, &store, key(KeyCode::Char('2')));
    out.push(("pdu_unallocated", render(&m)));
    drive(&mut m, &store, key(KeyCode::Char('3')));
    out.push(("pdu_mappa", render(&m)));
    drive(&mut m, &store, key(KeyCode::Char('4')));
    out.push(("pdu_oversight", render(&m)));
    drive(&mut m, &store, key(KeyCode::Char('5')));
    out.push(("pdu_contacts", render(&m)));
    drive(&mut m, &store, key(KeyCode::Char('6')));
    out.push(("pdu_staffing", render(&m)));
    drive(&mut m, &store, key(KeyCode::Char('2')));
    drive(&mut m, &store, key(KeyCode::Enter));
    out.push(("case_detail", render(&m)));
    drive(&mut m, &store, key(KeyCode::Char('?')));
    out.push(("help", render(&m)));
    drive(&mut m, &store, key(KeyCode::Char('x')));
    // From a case of HFKCW: HFKCW's incidents; w widens to the region.
    drive(&mut m, &store, key(KeyCode::Char('!')));
    out.push(("alerts", render(&m)));
    drive(&mut m, &store, key(KeyCode::Char('w')));
    // The fifth: HFKCW's unallocated MAPPA cases, an incident of many alerts.
    for _ in 0..4 {
        drive(&mut m, &store, key(KeyCode::Char('j')));
    }
    out.push(("alerts_region", render(&m)));
    drive(&mut m, &store, key(KeyCode::Enter));
    out.push(("incident_members", render(&m)));
    drive(&mut m, &store, key(KeyCode::Esc));
    drive(&mut m, &store, key(KeyCode::Char('S')));
    for c in "agreed with the ACO".chars() {
        drive(&mut m, &store, key(KeyCode::Char(c)));
    }
    out.push(("silence_form", render(&m)));
    out
}

#[test]
fn views_at_120x40() {
    for (name, screen) in screens(120, 40) {
        insta::assert_snapshot!(format!("120x40_{name}"), screen);
    }
}

#[test]
fn views_at_80x24() {
    for (name, screen) in screens(80, 24) {
        insta::assert_snapshot!(format!("80x24_{name}"), screen);
    }
}

#[test]
fn overview_has_18_pdus_with_hfkcw_flagged_first() {
    let s = &screens(120, 40)[0].1;
    let first_row = s.lines().nth(3).unwrap();
    assert!(
        first_row.contains("ORG ALERT") && first_row.contains("HFKCW"),
        "{s}"
    );
    let rows = s
        .lines()
        .filter(|l| {
            ["✓ OK", "● WARN", "▲ CRITICAL", "▲▲ ORG ALERT"]
                .iter()
                .any(|w| l.contains(w))
        })
        .count();
    assert_eq!(rows, 18, "{s}");
}

#[test]
fn hostile_text_is_shown_as_harmless_placeholders() {
    for (name, s) in screens(120, 40) {
        assert!(
            !s.chars()
                .filter(|c| *c != '\n')
                .any(casewatch::text::is_unsafe),
            "{name} contains a raw control character"
        );
        if name == "pdu_unallocated" || name == "case_detail" {
            assert!(s.contains("Evil␛[2J"), "{name}: {s}");
        }
    }
}

#[test]
fn a_tiny_terminal_gets_a_one_line_message_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture(dir.path());
    let store = Store::open(&db, OpenMode::Existing).unwrap();
    for (w, h) in [(20, 5), (1, 1), (39, 30), (120, 9)] {
        let m = start(&store, w, h);
        let s = render(&m);
        assert!(s.contains("small") || w < 10, "{w}x{h}: {s}");
    }
}

#[test]
fn monochrome_still_says_every_status_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture(dir.path());
    let store = Store::open(&db, OpenMode::Existing).unwrap();
    let m = start(&store, 120, 40);
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    t.draw(|f| view(&m, f)).unwrap();
    let buf = t.backend().buffer();
    for cell in buf.content() {
        assert_eq!(
            cell.fg,
            ratatui::style::Color::Reset,
            "colour used with color off"
        );
    }
}
