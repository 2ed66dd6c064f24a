//! `cargo bench`: casewatch's performance figures, each the median of several runs, with the
//! `sqlite3` shell running the same work in the same run as the reference where one exists.
//!
//! Sizes: `CASEWATCH_BENCH_SIZES` (default `10000,100000,1000000`). Demo databases are built
//! once into `target/bench-data/` and reused. Benchmarks print figures; none fails on a
//! timing.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use casewatch::policy::Policy;
use casewatch::rules::Rules;
use casewatch::store::read::{self, CaseList, PageQuery};
use casewatch::store::{OpenMode, Store};
use casewatch::tui::app::{Model, Msg};
use casewatch::tui::worker::{Env, Request, answer};
use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const AS_OF: &str = "2026-11-23";

fn as_of() -> NaiveDate {
    NaiveDate::parse_from_str(AS_OF, "%Y-%m-%d").unwrap()
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_casewatch")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn have_sqlite3() -> bool {
    Command::new("sqlite3").arg("--version").output().is_ok()
}

struct Row {
    size: u64,
    what: &'static str,
    value: String,
    reference: String,
}

fn data_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The demo database of `size` cases, built (and timed) unless it is already there.
fn demo_db(size: u64, rows: &mut Vec<Row>) -> PathBuf {
    let path = data_dir().join(format!("demo-{size}.db"));
    let runs = if size >= 1_000_000 { 1 } else { 3 };
    if !path.exists() || std::env::var_os("CASEWATCH_BENCH_REBUILD").is_some() {
        let tmp = data_dir().join(format!("gen-{size}.db"));
        let d = time(runs, || {
            let o = Command::new(bin())
                .args(["--as-of", AS_OF, "demo", "--force", "--cases"])
                .arg(size.to_string())
                .arg("--db")
                .arg(&tmp)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        });
        std::fs::rename(&tmp, &path).unwrap();
        rows.push(Row {
            size,
            what: "demo generation (process)",
            value: ms(d),
            reference: format!("median of {runs}; target < 10 s at 1M"),
        });
    }
    path
}

/// The overview SQL with its parameters written in, for the sqlite3 shell.
fn overview_sql_for_shell(policy: &Policy) -> String {
    let t = policy.thresholds(as_of());
    read::pdu_summary_sql(true)
        .replace(":c_vh", &format!("'{}'", t.contact_very_high))
        .replace(":c_h", &format!("'{}'", t.contact_high))
        .replace(":c_m", &format!("'{}'", t.contact_medium))
        .replace(":c_l", &format!("'{}'", t.contact_low))
        .replace(":c_u", &format!("'{}'", t.contact_unknown))
        .replace(":custody_exempt", if t.custody_exempt { "1" } else { "0" })
        .replace(":o_alloc", &format!("'{}'", t.oversight_after_allocation))
        .replace(":o_hr", &format!("'{}'", t.oversight_high_risk))
        .replace(":region", "'London'")
}

fn shell_time(db: &Path, sql: &str, runs: usize) -> Option<Duration> {
    if !have_sqlite3() {
        return None;
    }
    // The shell's own timer, so process start-up is not counted against it.
    let script = format!(".timer on\n{sql};\n");
    let times: Vec<Duration> = (0..runs)
        .filter_map(|_| {
            let mut child = Command::new("sqlite3")
                .arg(db)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .ok()?;
            child.stdin.take()?.write_all(script.as_bytes()).ok()?;
            let out = child.wait_with_output().ok()?;
            let text = String::from_utf8_lossy(&out.stdout);
            let real = text
                .lines()
                .rev()
                .find(|l| l.starts_with("Run Time: real"))?
                .split_whitespace()
                .nth(3)?
                .parse::<f64>()
                .ok()?;
            Some(Duration::from_secs_f64(real))
        })
        .collect();
    (!times.is_empty()).then(|| median(times))
}

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// Feeds one key, runs the queries it asks for, and draws: query + render time.
fn key_to_frame(m: &mut Model, store: &Store, env: &Env, term: &mut Terminal<TestBackend>, k: Msg) {
    let mut pending: Vec<Request> = m.update(k);
    while let Some(r) = pending.pop() {
        pending.extend(m.update(Msg::Loaded(answer(store, env, r))));
    }
    term.draw(|f| casewatch::tui::view::view(m, f)).unwrap();
}

fn screen_ops(size: u64, db: &Path, rows: &mut Vec<Row>) {
    let policy = Policy::defaults();
    let store = Store::open(db, OpenMode::Existing).unwrap();
    let conn = store.conn();

    let d = time(5, || {
        read::pdu_summaries(conn, &policy, as_of(), Some("London")).unwrap()
    });
    let shell = shell_time(db, &overview_sql_for_shell(&policy), 5);
    rows.push(Row {
        size,
        what: "overview refresh (London: case aggregate + staffing + capacity)",
        value: ms(d),
        reference: match shell {
            Some(s) => format!(
                "sqlite3 shell, the same case-aggregate SQL alone: {}; ratio {:.2}",
                ms(s),
                d.as_secs_f64() / s.as_secs_f64()
            ),
            None => "sqlite3 not installed".into(),
        },
    });

    // The largest unallocated table.
    let largest = read::pdu_summaries(conn, &policy, as_of(), None)
        .unwrap()
        .into_iter()
        .max_by_key(|p| p.unallocated)
        .unwrap();
    let env = Env {
        policy: policy.clone(),
        rules: Rules::defaults(),
        as_of: as_of(),
    };
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut m = Model::new("bench".into(), as_of(), false, (120, 40));
    let mut pending = m.refresh();
    while let Some(r) = pending.pop() {
        pending.extend(m.update(Msg::Loaded(answer(&store, &env, r))));
    }
    // Select the largest PDU and open it.
    let idx = m
        .overview_rows()
        .iter()
        .position(|&i| m.overview.as_ref().unwrap().pdus[i].code == largest.code);
    let Some(idx) = idx else {
        // Not in the default region: open its list directly.
        let q = PageQuery {
            limit: 31,
            ..PageQuery::default()
        };
        let d = time(20, || {
            read::case_list_page(
                conn,
                &policy,
                as_of(),
                &largest.code,
                CaseList::Unallocated,
                &q,
            )
            .unwrap()
        });
        rows.push(Row {
            size,
            what: "page of the largest unallocated table (query only)",
            value: ms(d),
            reference: "target < 16 ms".into(),
        });
        return;
    };
    m.overview_selected = idx;
    key_to_frame(&mut m, &store, &env, &mut term, key(KeyCode::Enter));
    let mut downs = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        key_to_frame(&mut m, &store, &env, &mut term, key(KeyCode::PageDown));
        downs.push(t.elapsed());
    }
    let worst = downs.iter().max().copied().unwrap_or_default();
    rows.push(Row {
        size,
        what: "page-down, largest unallocated table (query + render)",
        value: ms(median(downs)),
        reference: format!(
            "slowest of 20 (a fresh window from SQL) {}; {} ({} unallocated); target < 16 ms",
            ms(worst),
            largest.code,
            largest.unallocated
        ),
    });
    key_to_frame(&mut m, &store, &env, &mut term, key(KeyCode::Char('g')));
    key_to_frame(&mut m, &store, &env, &mut term, key(KeyCode::Char('/')));
    let mut keys = Vec::new();
    for c in "quellbyxx".chars() {
        let t = Instant::now();
        key_to_frame(&mut m, &store, &env, &mut term, key(KeyCode::Char(c)));
        keys.push(t.elapsed());
    }
    rows.push(Row {
        size,
        what: "filter keystroke (query + render)",
        value: ms(median(keys)),
        reference: "target < 16 ms".into(),
    });
}

fn nightly(size: u64, db: &Path, rows: &mut Vec<Row>) {
    let copy = data_dir().join(format!("nightly-{size}.db"));
    let _ = std::fs::remove_file(&copy);
    let o = Command::new(bin())
        .arg("--db")
        .arg(db)
        .arg("backup")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let d = time(3, || {
        // Each run starts as the nightly job does after a day of writes: nothing cached.
        clear_cache(&copy);
        Command::new(bin())
            .args([
                "--as-of", AS_OF, "alerts", "--record", "--format", "json", "--db",
            ])
            .arg(&copy)
            .output()
            .unwrap()
    });
    rows.push(Row {
        size,
        what: "nightly `alerts --record` (process)",
        value: ms(d),
        reference: "target < 2 s at 1M".into(),
    });
    let _ = std::fs::remove_file(&copy);
}

fn clear_cache(db: &Path) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    let _ = c.execute("DELETE FROM overview_cache", []);
}

/// Process start to the first overview frame with data, in a real pseudo-terminal; and the
/// TUI's peak memory after paging the largest table. The first run starts with an empty
/// overview cache (as after a write); the others find it filled (as after the nightly run).
fn cold_start(size: u64, db: &Path, rows: &mut Vec<Row>) {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    let mut starts = Vec::new();
    let mut peak_kb = 0u64;
    clear_cache(db);
    for _ in 0..4 {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(bin());
        cmd.args(["--as-of", AS_OF, "--db"]);
        cmd.arg(db);
        cmd.env("TERM", "xterm-256color");
        let t = Instant::now();
        let mut child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let pid = child.process_id();
        let mut reader = pty.master.try_clone_reader().unwrap();
        let mut writer = pty.master.take_writer().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(40, 120, 0)));
        let p2 = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p2.lock().unwrap().process(&buf[..n]);
            }
        });
        let first = loop {
            if parser
                .lock()
                .unwrap()
                .screen()
                .contents()
                .contains("PDUs ·")
            {
                break t.elapsed();
            }
            if t.elapsed() > Duration::from_secs(60) {
                break Duration::from_secs(60);
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        starts.push(first);
        // Open the worst PDU and page through it before reading peak memory.
        let _ = writer.write_all(b"\r");
        std::thread::sleep(Duration::from_millis(500));
        for _ in 0..10 {
            let _ = writer.write_all(b"\x1b[6~");
            std::thread::sleep(Duration::from_millis(30));
        }
        std::thread::sleep(Duration::from_millis(300));
        if let Some(pid) = pid
            && let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(kb) = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        let _ = writer.write_all(b"q");
        let _ = child.wait();
    }
    let uncached = starts.remove(0);
    rows.push(Row {
        size,
        what: "cold start to first complete overview (pty), overview cached",
        value: ms(median(starts)),
        reference: format!(
            "median of 3; with the cache empty (first open after a write): {}; target < 200 ms at 1M",
            ms(uncached)
        ),
    });
    rows.push(Row {
        size,
        what: "TUI peak resident memory",
        value: format!("{:.0} MB", peak_kb as f64 / 1024.0),
        reference: "target < 150 MB at 1M".into(),
    });
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing useful: run small.
    let sizes: Vec<u64> = std::env::var("CASEWATCH_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let mut rows = Vec::new();
    for &size in &sizes {
        eprintln!("casewatch bench: {size} cases…");
        let db = demo_db(size, &mut rows);
        screen_ops(size, &db, &mut rows);
        nightly(size, &db, &mut rows);
        cold_start(size, &db, &mut rows);
    }
    println!("\n| cases | measure | median | reference |");
    println!("|---:|---|---:|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} |",
            r.size, r.what, r.value, r.reference
        );
    }
    println!(
        "\nmachine: {} cores; sqlite3 shell: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        Command::new("sqlite3")
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .next()
                .unwrap_or("?")
                .to_string())
            .unwrap_or_else(|_| "not installed".into())
    );
}
