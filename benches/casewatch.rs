//! `cargo bench`: casewatch's performance figures, each the median of several runs, with the
//! `sqlite3` shell running the same work in the same run as the reference where one exists.
//!
//! Sizes: `CASEWATCH_BENCH_SIZES` (default `10000,40000,100000,1000000` under `cargo bench`,
//! and 2,000 cases alone under `cargo test --benches`, which only checks it runs). Parts:
//! `CASEWATCH_BENCH_PARTS` (default all: `screen,risk,support,nightly,cold,viewer,import,pg`). Demo databases are
//! built (and timed) into `target/bench-data/` on every run, or reused with
//! `CASEWATCH_BENCH_REUSE=1`. Benchmarks print figures; none fails on a timing.

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
use casewatch::tui::worker::{Env, Lists, Request, answer, answer_with};
use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[path = "../tests/common/pg.rs"]
mod pg;

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
    let runs = 3;
    // Reused only when asked (CASEWATCH_BENCH_REUSE), so that every run prints a generation time.
    if !path.exists() || std::env::var_os("CASEWATCH_BENCH_REUSE").is_none() {
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

/// Binds the overview's parameters in the sqlite3 shell (`.param set`), for London.
fn shell_params(policy: &Policy) -> String {
    let t = policy.thresholds(as_of());
    let mut p = String::new();
    for (k, v) in [
        (":c_vh", &t.contact_very_high),
        (":c_h", &t.contact_high),
        (":c_m", &t.contact_medium),
        (":c_l", &t.contact_low),
        (":c_u", &t.contact_unknown),
        (":o_alloc", &t.oversight_after_allocation),
        (":o_hr", &t.oversight_high_risk),
    ] {
        p.push_str(&format!(".param set {k} '{v}'\n"));
    }
    p.push_str(&format!(
        ".param set :custody_exempt {}\n.param set :region 'London'\n.param set ?1 NULL\n.param set ?2 'London'\n",
        i32::from(t.custody_exempt)
    ));
    p
}

fn shell_time(db: &Path, sql: &str, runs: usize) -> Option<Duration> {
    if !have_sqlite3() {
        return None;
    }
    // The shell's own timer, so process start-up is not counted against it; rows are
    // formatted and written to /dev/null; the figure is the sum over the statements.
    let script = format!(".timer on\n.output /dev/null\n{sql}\n");
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
            Some(timer_sum(&String::from_utf8_lossy(&out.stdout)))
        })
        .collect();
    (!times.is_empty()).then(|| median(times))
}

/// Who needs support for London (the Support tab's request and `review --for head`'s
/// section), against the shell running its one statement over the region's cases.
fn support(size: u64, db: &Path, rows: &mut Vec<Row>) {
    let policy = Policy::defaults();
    let store = Store::open(db, OpenMode::Existing).unwrap();
    let d = time(5, || {
        read::support::support_report(store.db(), &policy, as_of(), "London").unwrap()
    });
    let since = read::support::policy_window_start(&policy, as_of());
    let sql = format!(
        "{}.param set :since '{}'\n{};",
        shell_params(&policy),
        casewatch::domain::fmt_date(since),
        read::support::figures_sql()
    );
    let shell = shell_time(db, &sql, 5);
    rows.push(Row {
        size,
        what: "who needs support (London: every practitioner's four measures, benchmarks, bands)",
        value: ms(d),
        reference: match shell {
            Some(s) => format!(
                "sqlite3 shell, its per-practitioner statement alone: {}; ratio {:.2}",
                ms(s),
                d.as_secs_f64() / s.as_secs_f64()
            ),
            None => "sqlite3 not installed".into(),
        },
    });
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

/// What the screen measures are called in the table, on a file or on PostgreSQL.
struct ScreenLabels {
    overview: &'static str,
    page_down: &'static str,
    filter: &'static str,
}

const ON_FILE: ScreenLabels = ScreenLabels {
    overview: "overview refresh (London, every per-PDU metric)",
    page_down: "page-down, largest unallocated table (query + render)",
    filter: "filter keystroke (query + render)",
};

const ON_POSTGRES: ScreenLabels = ScreenLabels {
    overview: "PostgreSQL: overview refresh on a head's working copy",
    page_down: "PostgreSQL: page-down, largest unallocated table, a head's working copy",
    filter: "PostgreSQL: filter keystroke, a head's working copy",
};

fn screen_ops(size: u64, db: &Path, rows: &mut Vec<Row>) {
    let store = Store::open(db, OpenMode::Existing).unwrap();
    screen_ops_on(size, &store, Some(db), &ON_FILE, rows);
}

/// The overview, page-down and filter on `store`: a file (`file` given, with the sqlite3
/// shell's reference) or a working copy read from PostgreSQL.
fn screen_ops_on(
    size: u64,
    store: &Store,
    file: Option<&Path>,
    labels: &ScreenLabels,
    rows: &mut Vec<Row>,
) {
    let policy = Policy::defaults();
    let conn = store.db();

    let d = time(7, || {
        read::pdu_summaries(conn, &policy, as_of(), Some("London")).unwrap()
    });
    let reference = match file {
        None => "the working copy in memory that the screen reads (the server's tallies, the \
                 login's PDUs' cases); the file's figure is the row of the same name"
            .to_string(),
        Some(db) => {
            let params = shell_params(&policy);
            let same: String = read::overview_statements()
                .iter()
                .map(|q| format!("{q};\n"))
                .collect();
            let shell = shell_time(db, &format!("{params}{same}"), 7);
            let live = shell_time(
                db,
                &format!("{params}{};", read::pdu_summary_live_sql(true)),
                3,
            );
            match (shell, live) {
                (Some(s), Some(l)) => format!(
                    "sqlite3 shell, the same {} statements: {}; ratio {:.2}; before (live aggregate of the case counts alone, in the shell): {}",
                    read::overview_statements().len(),
                    ms(s),
                    d.as_secs_f64() / s.as_secs_f64(),
                    ms(l)
                ),
                _ => "sqlite3 not installed".into(),
            }
        }
    };
    rows.push(Row {
        size,
        what: labels.overview,
        value: ms(d),
        reference,
    });

    // The largest unallocated table.
    let largest = read::pdu_summaries(conn, &policy, as_of(), None)
        .unwrap()
        .into_iter()
        .max_by_key(|p| p.unallocated)
        .unwrap();
    let env = Env {
        eval: casewatch::context::Evaluation::new(policy.clone(), Rules::defaults(), as_of()),
        me: None,
        readable: None,
    };
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut m = Model::new("bench".into(), as_of(), false, (120, 40));
    let mut pending = m.refresh();
    while let Some(r) = pending.pop() {
        pending.extend(m.update(Msg::Loaded(answer(store, &env, r))));
    }
    // Select the largest PDU and open it.
    let idx = m
        .overview
        .rows(&m.region)
        .iter()
        .position(|&i| m.region.data.as_ref().unwrap().pdus[i].code == largest.code);
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
    m.overview.selected = idx;
    key_to_frame(&mut m, store, &env, &mut term, key(KeyCode::Enter));
    let mut downs = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        key_to_frame(&mut m, store, &env, &mut term, key(KeyCode::PageDown));
        downs.push(t.elapsed());
    }
    let worst = downs.iter().max().copied().unwrap_or_default();
    rows.push(Row {
        size,
        what: labels.page_down,
        value: ms(median(downs)),
        reference: format!(
            "slowest of 20 (a fresh window from SQL) {}; {} ({} unallocated); target < 16 ms",
            ms(worst),
            largest.code,
            largest.unallocated
        ),
    });
    key_to_frame(&mut m, store, &env, &mut term, key(KeyCode::Char('g')));
    key_to_frame(&mut m, store, &env, &mut term, key(KeyCode::Char('/')));
    let mut keys = Vec::new();
    for c in "quellbyxx".chars() {
        let t = Instant::now();
        key_to_frame(&mut m, store, &env, &mut term, key(KeyCode::Char(c)));
        keys.push(t.elapsed());
    }
    rows.push(Row {
        size,
        what: labels.filter,
        value: ms(median(keys)),
        reference: "target < 16 ms".into(),
    });
}

/// The risk tabs of the opening region's PDU with the most cases: building its two lists
/// (every case read and judged once, on the first visit and after a change), then page-down
/// on each tab from the lists the worker keeps (query + render).
fn risk_tabs(size: u64, db: &Path, rows: &mut Vec<Row>) {
    let policy = Policy::defaults();
    let store = Store::open(db, OpenMode::Existing).unwrap();
    let env = Env {
        eval: casewatch::context::Evaluation::new(policy.clone(), Rules::defaults(), as_of()),
        me: None,
        readable: None,
    };
    let mut lists = Lists::default();
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut m = Model::new("bench".into(), as_of(), false, (120, 40));
    let mut step = |m: &mut Model, lists: &mut Lists, k: Option<Msg>| {
        let mut pending: Vec<Request> = match k {
            Some(k) => m.update(k),
            None => m.refresh(),
        };
        while let Some(r) = pending.pop() {
            pending.extend(m.update(Msg::Loaded(answer_with(&store, &env, lists, r))));
        }
        term.draw(|f| casewatch::tui::view::view(m, f)).unwrap();
    };
    step(&mut m, &mut lists, None);
    let pdus = &m.region.data.as_ref().unwrap().pdus;
    let largest = pdus.iter().max_by_key(|p| p.cases).unwrap().clone();
    let built = time(3, || {
        casewatch::risk_lists::build(store.db(), &policy, &largest.code, as_of()).unwrap()
    });
    let now = casewatch::risk_lists::build(store.db(), &policy, &largest.code, as_of()).unwrap();
    rows.push(Row {
        size,
        what: "risk lists of the largest PDU built (first visit to its risk tabs)",
        value: ms(built),
        reference: format!(
            "{} ({} cases: {} with a check overdue, {} around release)",
            largest.code,
            largest.cases,
            now.checks.len(),
            now.release.len()
        ),
    });
    m.overview.selected = m
        .overview
        .rows(&m.region)
        .iter()
        .position(|&i| m.region.data.as_ref().unwrap().pdus[i].code == largest.code)
        .unwrap_or(0);
    step(&mut m, &mut lists, Some(key(KeyCode::Enter)));
    for (tab, what) in [
        (
            '7',
            "page-down, largest PDU's risk checks tab (query + render)",
        ),
        (
            '8',
            "page-down, largest PDU's custody & release tab (query + render)",
        ),
    ] {
        step(&mut m, &mut lists, Some(key(KeyCode::Char(tab))));
        let mut downs = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            step(&mut m, &mut lists, Some(key(KeyCode::PageDown)));
            downs.push(t.elapsed());
        }
        rows.push(Row {
            size,
            what,
            value: ms(median(downs.clone())),
            reference: format!(
                "slowest of 20 {}; the lists kept on the worker; target < 16 ms",
                ms(downs.iter().max().copied().unwrap_or_default())
            ),
        });
    }
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
    let night = |day: NaiveDate| {
        Command::new(bin())
            .args([
                "--as-of",
                &day.to_string(),
                "alerts",
                "--record",
                "--format",
                "json",
                "--db",
            ])
            .arg(&copy)
            .output()
            .unwrap()
    };
    // The morning after a night on record: each timed run records the next night, compared
    // with the one before (as the cron job does), after a day of writes (nothing cached).
    // Under GNU time when it is installed, for each night's peak memory.
    night(as_of() - chrono::Duration::days(1));
    let gnu_time = Path::new("/usr/bin/time").exists();
    let mut runs = Vec::new();
    let mut peaks = Vec::new();
    for n in 0..3 {
        clear_cache(&copy);
        let day = (as_of() + chrono::Duration::days(n)).to_string();
        let mut c = if gnu_time {
            let mut c = Command::new("/usr/bin/time");
            c.args(["-f", "%M", bin()]);
            c
        } else {
            Command::new(bin())
        };
        c.args([
            "--as-of", &day, "alerts", "--record", "--format", "json", "--db",
        ])
        .arg(&copy)
        .stdout(std::process::Stdio::null());
        let t = Instant::now();
        let o = c.output().unwrap();
        runs.push(t.elapsed());
        assert!(o.status.code().is_some_and(|c| c == 0 || c == 3));
        if gnu_time {
            peaks.extend(
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .and_then(|l| l.trim().parse::<u64>().ok()),
            );
        }
    }
    let d = median(runs);
    rows.push(Row {
        size,
        what: "nightly `alerts --record` (process)",
        value: ms(d),
        reference: "three consecutive nights from the demo's as-of date, each after the one before it; target <= 1.5 s at 1M"
            .into(),
    });
    rows.push(Row {
        size,
        what: "nightly `alerts --record` peak memory",
        value: peaks
            .first()
            .map_or_else(|| "n/a (no /usr/bin/time)".into(), |kb| format!("{} MB", kb / 1024)),
        reference: format!(
            "maximum resident set on the as-of date's night; the most of the three nights (more overdue each night on this static demo): {}; target <= 150 MB at 1M",
            peaks
                .iter()
                .max()
                .map_or_else(|| "n/a".into(), |kb| format!("{} MB", kb / 1024))
        ),
    });
    // The morning worklist of the PDU in trouble.
    let mut reviews = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let o = Command::new(bin())
            .args([
                "--as-of",
                &as_of().to_string(),
                "review",
                "--pdu",
                "HFKCW",
                "--db",
            ])
            .arg(&copy)
            .output()
            .unwrap();
        reviews.push(t.elapsed());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    rows.push(Row {
        size,
        what: "`review --pdu HFKCW` (process)",
        value: ms(median(reviews)),
        reference: "median of 5; target <= 100 ms at 1M".into(),
    });
    let _ = std::fs::remove_file(&copy);
}

fn clear_cache(db: &Path) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    let _ = c.execute("DELETE FROM overview_cache", []);
}

/// Process start to the first overview frame with data, in a real pseudo-terminal, with the
/// previous night's run recorded; and the TUI's peak memory after paging the largest table.
/// Three runs start with an empty overview cache (as after a write), three find it filled.
type Screen = Arc<Mutex<vt100::Parser>>;

/// Starts `cmd` in a 120x40 pseudo-terminal whose output a thread feeds to a terminal
/// emulator; returns the child, the emulated screen, the keyboard, and the start time.
fn spawn_in_pty(
    mut cmd: portable_pty::CommandBuilder,
) -> (
    Box<dyn portable_pty::Child + Send + Sync>,
    Screen,
    Box<dyn Write + Send>,
    Instant,
) {
    use portable_pty::{PtySize, native_pty_system};
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    cmd.env("TERM", "xterm-256color");
    let t = Instant::now();
    let child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let writer = pty.master.take_writer().unwrap();
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
    (child, parser, writer, t)
}

/// Peak resident memory of a process so far, in kB.
fn peak_rss_kb(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Waits up to `limit` for the screen to satisfy `done`; the time since `t`, or `None`.
fn wait_for(
    screen: &Screen,
    t: Instant,
    limit: Duration,
    done: impl Fn(&str) -> bool,
) -> Option<Duration> {
    loop {
        if done(&screen.lock().unwrap().screen().contents()) {
            return Some(t.elapsed());
        }
        if t.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn cold_start(size: u64, db: &Path, rows: &mut Vec<Row>) {
    use portable_pty::CommandBuilder;
    let mut starts = Vec::new();
    let mut peak_kb = 0u64;
    // The morning state: last night's run is recorded, so the screen also compares with it.
    let day_before = (as_of() - chrono::Duration::days(1)).to_string();
    let o = Command::new(bin())
        .args([
            "--as-of",
            &day_before,
            "alerts",
            "--record",
            "--format",
            "json",
            "--db",
        ])
        .arg(db)
        .output()
        .unwrap();
    assert!(o.status.code().is_some_and(|c| c == 0 || c == 3));
    let mut cold = Vec::new();
    for run in 0..6 {
        // Even runs find the cache emptied (as after a write), odd ones filled by the run
        // before (as on any later open).
        if run % 2 == 0 {
            clear_cache(db);
        }
        let mut cmd = CommandBuilder::new(bin());
        cmd.args(["--as-of", AS_OF, "--db"]);
        cmd.arg(db);
        let (mut child, parser, mut writer, t) = spawn_in_pty(cmd);
        let pid = child.process_id();
        let first = wait_for(&parser, t, Duration::from_secs(60), |s| {
            s.contains("PDUs ·")
        })
        .unwrap_or(Duration::from_secs(60));
        if run % 2 == 0 {
            cold.push(first);
        } else {
            starts.push(first);
        }
        // Open the worst PDU and page through it before reading peak memory.
        let _ = writer.write_all(b"\r");
        std::thread::sleep(Duration::from_millis(500));
        for _ in 0..10 {
            let _ = writer.write_all(b"\x1b[6~");
            std::thread::sleep(Duration::from_millis(30));
        }
        std::thread::sleep(Duration::from_millis(300));
        peak_kb = peak_kb.max(peak_rss_kb(pid).unwrap_or(0));
        let _ = writer.write_all(b"q");
        let _ = child.wait();
    }
    rows.push(Row {
        size,
        what: "cold start to first complete overview (pty), overview cached",
        value: ms(median(starts)),
        reference: "median of 3; target < 200 ms at 1M".into(),
    });
    rows.push(Row {
        size,
        what: "cold start to first complete overview (pty), first open after a write",
        value: ms(median(cold)),
        reference: "median of 3, the overview cache empty; a \"loading…\" frame comes at once; target < 200 ms at 1M".into(),
    });
    rows.push(Row {
        size,
        what: "TUI peak resident memory",
        value: format!("{:.0} MB", peak_kb as f64 / 1024.0),
        reference: "target < 150 MB at 1M".into(),
    });
}

/// Another terminal viewer of the same file, where installed: VisiData (`pip install
/// visidata`), which opens a SQLite file as its list of tables and reads every table in the
/// background to count its rows. Measured in the same pseudo-terminal: its first screen,
/// the moment it has read every case, and its peak memory by then.
fn other_viewer(size: u64, db: &Path, rows: &mut Vec<Row>) {
    let version = Command::new("vd")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let Some(version) = version else {
        rows.push(Row {
            size,
            what: "VisiData, the same file (pty)",
            value: "-".into(),
            reference: "not installed (`pip install visidata`)".into(),
        });
        return;
    };
    let runs = 3;
    let (mut first, mut all, mut peak_kb) = (Vec::new(), Vec::new(), 0u64);
    let count = size.to_string();
    for _ in 0..runs {
        let mut cmd = portable_pty::CommandBuilder::new("vd");
        cmd.arg(db);
        let (mut child, screen, _keys, t) = spawn_in_pty(cmd);
        let limit = Duration::from_secs(300);
        first.push(
            wait_for(&screen, t, limit, |s| {
                s.lines().any(|l| l.trim_start().starts_with("cases "))
            })
            .unwrap_or(limit),
        );
        // Its list of tables gives each one's row count, growing as it reads.
        all.push(
            wait_for(&screen, t, limit, |s| {
                // ` cases  ║ 1000000 │ 18 │ …`: the first column after the name.
                s.lines().any(|l| {
                    l.trim_start().starts_with("cases ")
                        && l.split(['║', '│']).nth(1).map(str::trim) == Some(count.as_str())
                })
            })
            .unwrap_or(limit),
        );
        peak_kb = peak_kb.max(peak_rss_kb(child.process_id()).unwrap_or(0));
        let _ = child.kill();
        let _ = child.wait();
    }
    let median_of = format!("median of {runs}");
    rows.push(Row {
        size,
        what: "VisiData, the same file (pty): first screen, its list of tables",
        value: ms(median(first)),
        reference: format!(
            "{version}; compare casewatch's first complete overview above; {median_of}"
        ),
    });
    rows.push(Row {
        size,
        what: "VisiData: every case read (its row count of `cases` complete)",
        value: ms(median(all)),
        reference: format!("casewatch reads only the rows on screen; {median_of}"),
    });
    rows.push(Row {
        size,
        what: "VisiData: peak resident memory by then",
        value: format!("{:.0} MB", peak_kb as f64 / 1024.0),
        reference: "compare casewatch's TUI peak memory above".into(),
    });
}

/// Writes one query's rows as a CSV file with a header.
fn write_csv(conn: &rusqlite::Connection, sql: &str, path: &Path) {
    let mut stmt = conn.prepare(sql).unwrap();
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(&names).unwrap();
    let mut rows = stmt.raw_query();
    while let Some(r) = rows.next().unwrap() {
        let cells: Vec<String> = (0..names.len())
            .map(|i| match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => String::new(),
                rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                rusqlite::types::ValueRef::Real(f) => f.to_string(),
                v => v.as_str().unwrap().to_string(),
            })
            .collect();
        w.write_record(&cells).unwrap();
    }
    w.flush().unwrap();
}

fn process(args: &[&std::ffi::OsStr]) -> Duration {
    process_output(args).0
}

/// A process's wall time and what it wrote to stdout.
fn process_output(args: &[&std::ffi::OsStr]) -> (Duration, String) {
    let t = Instant::now();
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
    let d = t.elapsed();
    assert!(
        o.status.success(),
        "{:?}: {}",
        args,
        String::from_utf8_lossy(&o.stderr)
    );
    (d, String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The sum of the sqlite3 shell's `.timer` lines in its output.
fn timer_sum(out: &str) -> Duration {
    Duration::from_secs_f64(
        out.lines()
            .filter(|l| l.starts_with("Run Time: real"))
            .filter_map(|l| l.split_whitespace().nth(3)?.parse::<f64>().ok())
            .sum(),
    )
}

/// `casewatch import` of every case of the demo database as CSV into a database holding its
/// PDUs and practitioners, against the sqlite3 shell's `.import` of the same file.
fn import(size: u64, db: &Path, rows: &mut Vec<Row>) {
    let dir = data_dir().join(format!("import-{size}"));
    std::fs::create_dir_all(&dir).unwrap();
    let conn = rusqlite::Connection::open(db).unwrap();
    let (pdus, staff, cases) = (
        dir.join("pdus.csv"),
        dir.join("practitioners.csv"),
        dir.join("cases.csv"),
    );
    write_csv(
        &conn,
        "SELECT code, name, region, ppf_status, rating, score, score_max, inspected_on FROM pdus",
        &pdus,
    );
    write_csv(
        &conn,
        "SELECT staff_code, name, grade, pdu, team, contracted_hours, start_date, status FROM practitioners",
        &staff,
    );
    write_csv(
        &conn,
        "SELECT crn, name, pdu, team, tier, rosh, mappa_category, mappa_level, case_type, sentence_date, release_date, allocated_to, allocated_on, unallocated_since FROM cases",
        &cases,
    );
    let base = dir.join("base.db");
    let target = dir.join("target.db");
    for f in [&base, &target] {
        let _ = std::fs::remove_file(f);
    }
    let b = std::ffi::OsStr::new(bin());
    let os = |p: &Path| p.as_os_str().to_owned();
    for (file, kind) in [(&pdus, "pdus"), (&staff, "practitioners")] {
        process(&[
            b,
            "--db".as_ref(),
            &os(&base),
            "import".as_ref(),
            &os(file),
            "--kind".as_ref(),
            kind.as_ref(),
        ]);
    }
    let runs = if size >= 1_000_000 { 3 } else { 5 };
    // The same rows in another order: the demo writes them grouped by PDU, CRNs ascending,
    // the order its indexes like best; an extract from elsewhere need not be.
    let shuffled = dir.join("cases-shuffled.csv");
    {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        let text = std::fs::read_to_string(&cases).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        let header = lines.remove(0);
        lines.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(7));
        let mut out = String::with_capacity(text.len());
        for l in std::iter::once(header).chain(lines) {
            out.push_str(l);
            out.push('\n');
        }
        std::fs::write(&shuffled, out).unwrap();
    }
    // The bulk path builds the case indexes after the rows when the table starts empty; the
    // shell's like-for-like load does the same.
    let indexes: Vec<(String, String)> = rusqlite::Connection::open(&base)
        .unwrap()
        .prepare(
            "SELECT name, sql FROM sqlite_schema
              WHERE type = 'index' AND tbl_name = 'cases' AND sql IS NOT NULL",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let drop_indexes: String = indexes
        .iter()
        .map(|(name, _)| format!("DROP INDEX {name};\n"))
        .collect();
    let create_indexes: String = indexes.iter().map(|(_, sql)| format!("{sql};\n")).collect();
    let mut sqlite_cases = None;
    for (file, what) in [
        (&cases, "import of every case row from CSV (process)"),
        (
            &shuffled,
            "import of the same rows in shuffled order (process)",
        ),
    ] {
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        // PERF-NOTES' reference: `.import` into a table keyed by the CRN, as any import of
        // cases must at least find a CRN given twice.
        let mut keyed = Vec::new();
        let mut like = Vec::new();
        // Within that load, SQLite writing the staged rows into the schema, building the
        // indexes and committing: no CSV to read and nothing to check, the least any
        // importer into this schema pays.
        let mut floor = Vec::new();
        // The shell loading the same file into casewatch's own schema with the settings of
        // casewatch's bulk path (foreign keys, CHECKs and the same triggers off, indexes
        // built after the rows, one transaction), with no validation, no checks afterwards
        // and no tally recount: what SQLite itself costs for these rows and indexes.
        let script = dir.join("load.sql");
        std::fs::write(
            &script,
            format!(
                "PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON;
PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;
BEGIN;
{drop}
{drop_indexes}
.import --csv --schema temp {csv} stage
.timer on
INSERT INTO cases (crn, name, pdu, team, tier, rosh, mappa_category, mappa_level, case_type,
    sentence_date, release_date, allocated_to, allocated_on, unallocated_since)
SELECT crn, name, pdu, nullif(team, ''), tier, nullif(rosh, ''), mappa_category, mappa_level,
    case_type, sentence_date, nullif(release_date, ''), nullif(allocated_to, ''),
    nullif(allocated_on, ''), nullif(unallocated_since, '') FROM temp.stage;
{create_indexes}
.timer off
{restore}
.timer on
COMMIT;
",
                drop = casewatch::store::schema::BULK_TRIGGERS_DROP,
                csv = file.display(),
                restore = casewatch::store::schema::BULK_TRIGGERS_RESTORE,
            ),
        )
        .unwrap();
        for _ in 0..runs {
            std::fs::copy(&base, &target).unwrap();
            ours.push(process(&[
                b,
                "--db".as_ref(),
                &os(&target),
                "import".as_ref(),
                &os(file),
                "--kind".as_ref(),
                "cases".as_ref(),
            ]));
            if !have_sqlite3() {
                continue;
            }
            let raw = dir.join("raw.db");
            if file == &cases {
                let _ = std::fs::remove_file(&raw);
                let cmd = format!(".import --csv {} cases_raw", file.display());
                theirs.push(process(&["sqlite3".as_ref(), &os(&raw), cmd.as_ref()]));
            }
            let _ = std::fs::remove_file(&raw);
            process(&[
                "sqlite3".as_ref(),
                &os(&raw),
                "CREATE TABLE cases_raw (crn TEXT PRIMARY KEY, name, pdu, team, tier, rosh, \
                 mappa_category, mappa_level, case_type, sentence_date, release_date, \
                 allocated_to, allocated_on, unallocated_since)"
                    .as_ref(),
            ]);
            let cmd = format!(".import --csv --skip 1 {} cases_raw", file.display());
            keyed.push(process(&["sqlite3".as_ref(), &os(&raw), cmd.as_ref()]));
            std::fs::copy(&base, &target).unwrap();
            let read = format!(".read {}", script.display());
            let (d, out) = process_output(&[
                "sqlite3".as_ref(),
                "-bail".as_ref(),
                &os(&target),
                read.as_ref(),
            ]);
            like.push(d);
            floor.push(timer_sum(&out));
        }
        let d = median(ours);
        if file == &cases {
            sqlite_cases = Some(d);
        }
        let ratio = |s: Duration| d.as_secs_f64() / s.as_secs_f64();
        let reference = if keyed.is_empty() {
            "sqlite3 not installed".into()
        } else {
            let bare = if theirs.is_empty() {
                String::new()
            } else {
                let s = median(theirs);
                format!(
                    "sqlite3 shell `.import --csv` of the same file into a new table (process): {}; ratio {:.2}. ",
                    ms(s),
                    ratio(s)
                )
            };
            let (k, l, f) = (median(keyed), median(like), median(floor));
            format!(
                "{bare}`.import` of the same file into a table keyed by the CRN: {}; ratio {:.2}. \
                 The shell loading it into casewatch's schema with the bulk path's settings (same triggers, foreign keys and CHECKs off, indexes built after the rows; no validation, no checks after, no tally recount): {}; ratio {:.2}; \
                 of which its INSERT from the staged rows, index builds and COMMIT alone (shell timer): {}; median of {runs}",
                ms(k),
                ratio(k),
                ms(l),
                ratio(l),
                ms(f)
            )
        };
        rows.push(Row {
            size,
            what,
            value: ms(d),
            reference,
        });
    }
    if let Some(sqlite) = sqlite_cases {
        import_pg(size, runs, [&pdus, &staff, &cases], sqlite, rows);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// casewatch on PostgreSQL beside the file: the demo copied to a server of the bench's own
/// (started as the tests start one); the screen's first read and its refresh after another
/// user's change, for an SPO of HFKCW and for a head; the overview, page-down and filter on
/// the head's working copy; and the nightly run recorded on the server by a head.
fn on_postgres(size: u64, db: &Path, rows: &mut Vec<Row>) {
    const COPY: &str = "PostgreSQL: `copy` of the demo into an initialised server (process)";
    if !have_postgres() {
        rows.push(Row {
            size,
            what: COPY,
            value: "-".into(),
            reference: "PostgreSQL is not installed (apt-get install postgresql)".into(),
        });
        return;
    }
    let server = pg::Server::start();
    let url = server.url("postgres");
    let b = std::ffi::OsStr::new(bin());
    process(&[b, "pg-init".as_ref(), url.as_ref()]);
    let d = process(&[b, "copy".as_ref(), db.as_os_str(), url.as_ref()]);
    rows.push(Row {
        size,
        what: COPY,
        value: ms(d),
        reference: "every table, audit and recorded nights included, read back and compared; once"
            .into(),
    });
    server
        .connect("postgres")
        .batch_execute(
            "CREATE ROLE head LOGIN IN ROLE casewatch_head;
             CREATE ROLE spo LOGIN IN ROLE casewatch_spo;
             INSERT INTO pdu_access (db_user, pdu) VALUES ('spo', 'HFKCW');",
        )
        .unwrap();
    let mut head_copy = None;
    for (user, first, refresh) in [
        (
            "spo",
            "PostgreSQL: the screen's first read, an SPO of HFKCW",
            "PostgreSQL: refresh after another user's change in HFKCW, an SPO of HFKCW",
        ),
        (
            "head",
            "PostgreSQL: the screen's first read, a head (every PDU)",
            "PostgreSQL: refresh after another user's change in HFKCW, a head",
        ),
    ] {
        let mut server_store = casewatch::store::pg::PgStore::open(&server.url(user)).unwrap();
        let mut firsts = Vec::new();
        let mut copy = None;
        for _ in 0..3 {
            let mut s = casewatch::store::empty_in_memory().unwrap();
            let t = Instant::now();
            server_store.pull_into(&mut s).unwrap();
            firsts.push(t.elapsed());
            copy = Some(s);
        }
        let mut copy = copy.unwrap();
        // Another user records a contact with a case of HFKCW (a different case each time);
        // the copy catches up from the change log.
        let mut other = server.connect("postgres");
        let mut refreshes = Vec::new();
        for i in 0..5i64 {
            other
                .execute(
                    "INSERT INTO contacts (crn, date, kind)
                     SELECT crn, '2026-11-20', 'telephone' FROM cases WHERE pdu = 'HFKCW'
                      ORDER BY crn OFFSET $1 LIMIT 1",
                    &[&(i + if user == "head" { 10 } else { 0 })],
                )
                .unwrap();
            let t = Instant::now();
            let caught = server_store.catch_up(&mut copy).unwrap();
            refreshes.push(t.elapsed());
            assert!(caught.is_some_and(|c| c.cases <= 1 || user == "head"));
        }
        rows.push(Row {
            size,
            what: first,
            value: ms(median(firsts)),
            reference: "everything the login may read, in one snapshot, into a working copy in memory; median of 3".into(),
        });
        rows.push(Row {
            size,
            what: refresh,
            value: ms(median(refreshes)),
            reference: "a contact recorded by another user; the copy catches up from the change log (the changed case, HFKCW's tallies, new audit entries and runs, in one snapshot: what a notification costs before the screen redraws); median of 5".into(),
        });
        if user == "head" {
            head_copy = Some(copy);
        }
    }
    if let Some(copy) = head_copy {
        screen_ops_on(size, &copy, None, &ON_POSTGRES, rows);
    }
    let head = server.url("head");
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept.db");
    // One night as a head, its working copy read whole or (`keep`) kept between nights.
    let night_kept = |day: NaiveDate, keep: bool| {
        let mut night = Command::new(bin());
        night.args(["--db", &head, "--as-of", &day.to_string()]);
        if keep {
            night.arg("--working-copy").arg(&kept);
        }
        let o = night
            .args(["alerts", "--record", "--format", "json"])
            .stdout(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            o.status.code().is_some_and(|c| c == 0 || c == 3),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let night = |day| night_kept(day, false);
    night(as_of() - chrono::Duration::days(1));
    let nights: Vec<Duration> = (0..3)
        .map(|n| {
            let t = Instant::now();
            night(as_of() + chrono::Duration::days(n));
            t.elapsed()
        })
        .collect();
    rows.push(Row {
        size,
        what: "PostgreSQL: nightly `alerts --record` by a head (process)",
        value: ms(median(nights)),
        reference: "three consecutive nights, as on the file (the row `nightly `alerts --record` (process)`), the working copy read whole each night; target <= 3 s at 1M".into(),
    });
    // The same nights with the job's working copy kept between them (`--working-copy`),
    // 50 contacts recorded on the server before each.
    let kept_night = |day| night_kept(day, true);
    let mut other = server.connect("postgres");
    kept_night(as_of() - chrono::Duration::days(1));
    let nights: Vec<Duration> = (0..3)
        .map(|n| {
            let day = as_of() + chrono::Duration::days(n);
            other
                .execute(
                    "INSERT INTO contacts (crn, date, kind)
                     SELECT crn, $1::text::date, 'home_visit' FROM cases
                      ORDER BY crn OFFSET $2 LIMIT 50",
                    &[&day.to_string(), &(n * 1000)],
                )
                .unwrap();
            let t = Instant::now();
            kept_night(day);
            t.elapsed()
        })
        .collect();
    rows.push(Row {
        size,
        what: "PostgreSQL: nightly `alerts --record` by a head, working copy kept (process)",
        value: ms(median(nights)),
        reference: "the same three nights with `--working-copy`: the copy caught up from the change log (50 contacts recorded before each night), then evaluated, recorded, written to the server; target <= 3 s at 1M".into(),
    });
}

/// Whether PostgreSQL's server programs are installed (the tests' way of finding them).
fn have_postgres() -> bool {
    std::env::var_os("CASEWATCH_PG_BIN").is_some()
        || std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.path().join("bin/initdb").exists())
}

/// The same cases file imported into PostgreSQL (a server of the bench's own, as the tests
/// start one) by the schema's owner, into a new database holding the same PDUs and
/// practitioners, against casewatch's SQLite import of the file in this run.
fn import_pg(
    size: u64,
    runs: usize,
    [pdus, staff, cases]: [&Path; 3],
    sqlite: Duration,
    rows: &mut Vec<Row>,
) {
    let what = "import of every case row from CSV into PostgreSQL (process; the schema's owner, an empty cases table)";
    if !have_postgres() {
        rows.push(Row {
            size,
            what,
            value: "-".into(),
            reference: "PostgreSQL is not installed (apt-get install postgresql)".into(),
        });
        return;
    }
    let server = pg::Server::start();
    let mut admin = server.admin();
    let version: String = admin.query_one("SHOW server_version", &[]).unwrap().get(0);
    let b = std::ffi::OsStr::new(bin());
    let os = |p: &Path| p.as_os_str().to_owned();
    let mut times = Vec::new();
    for i in 0..runs {
        let name = format!("load{i}");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url = server.url_of("postgres", &name);
        process(&[b, "pg-init".as_ref(), url.as_ref()]);
        for (file, kind) in [(pdus, "pdus"), (staff, "practitioners"), (cases, "cases")] {
            let d = process(&[
                b,
                "--db".as_ref(),
                url.as_ref(),
                "import".as_ref(),
                &os(file),
                "--kind".as_ref(),
                kind.as_ref(),
            ]);
            if kind == "cases" {
                times.push(d);
            }
        }
        admin
            .batch_execute(&format!("DROP DATABASE {name}"))
            .unwrap();
    }
    let d = median(times);
    rows.push(Row {
        size,
        what,
        value: ms(d),
        reference: format!(
            "casewatch's import of the same file into a SQLite file with the same PDUs and practitioners, this run: {}; ratio {:.2}; median of {runs} (PostgreSQL {version} on a Unix socket, fsync off)",
            ms(sqlite),
            d.as_secs_f64() / sqlite.as_secs_f64()
        ),
    });
}

/// The sizes run as a test (`cargo test --benches`, which passes no `--bench`).
const TEST_SIZES: &str = "2000";

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not: there the bench only
    // has to show that it runs, so it runs one tiny size (seconds, not the minutes a million
    // cases take in a debug build). CASEWATCH_BENCH_SIZES chooses the sizes either way.
    let benching = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<u64> = std::env::var("CASEWATCH_BENCH_SIZES")
        .unwrap_or_else(|_| {
            if benching {
                "10000,40000,100000,1000000".into()
            } else {
                TEST_SIZES.into()
            }
        })
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let parts = std::env::var("CASEWATCH_BENCH_PARTS")
        .unwrap_or_else(|_| "screen,risk,support,nightly,cold,viewer,import,pg".into());
    let part = |p: &str| parts.split(',').any(|x| x.trim() == p);
    let mut rows = Vec::new();
    for &size in &sizes {
        eprintln!("casewatch bench: {size} cases…");
        let db = demo_db(size, &mut rows);
        if part("screen") {
            screen_ops(size, &db, &mut rows);
        }
        if part("risk") {
            risk_tabs(size, &db, &mut rows);
        }
        if part("support") {
            support(size, &db, &mut rows);
        }
        if part("nightly") {
            nightly(size, &db, &mut rows);
        }
        if part("cold") {
            cold_start(size, &db, &mut rows);
        }
        if part("viewer") {
            other_viewer(size, &db, &mut rows);
        }
        if part("import") {
            import(size, &db, &mut rows);
        }
        if part("pg") {
            on_postgres(size, &db, &mut rows);
        }
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
