//! The checks behind the fuzz targets in `tests/fuzz` and the corpus regression test
//! (`tests/fuzz_corpus.rs`): one place, so a corpus file is checked in `cargo test` exactly as
//! the fuzzer checked it. Each function takes arbitrary bytes and panics when casewatch breaks
//! a promise on them; a panic is what the fuzzer reports.
//!
//! Not part of the public interface.

use crate::store::Store;
use std::cell::RefCell;
use std::path::{Path, PathBuf};

use crate::import::{FileFormat, ImportError, ImportOptions, Kind};
use crate::rules::{Rules, Scope, Subject};
use crate::text;

/// Characters the sanitiser promises never to pass through: control characters (Cc, which
/// start every escape sequence), format characters (Cf: bidi embeddings, overrides, isolates
/// and marks, zero-width and other invisible characters, tags) and the line and paragraph
/// separators (Zl, Zp). Written out from Unicode 16's `DerivedGeneralCategory.txt` rather
/// than taken from `text`, so that the oracle does not share the code it checks.
pub fn must_not_reach_a_terminal(c: char) -> bool {
    matches!(
        c as u32,
        // Cc
        0x00..=0x1F | 0x7F..=0x9F
        // Cf
        | 0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
        // Zl, Zp
        | 0x2028 | 0x2029
    )
}

/// The first character of `shown` that could act on a terminal or hide text from the reader.
pub fn first_unsafe(shown: &str) -> Option<char> {
    shown.chars().find(|&c| must_not_reach_a_terminal(c))
}

/// Panics if `shown` could act on a terminal or hide text from the reader.
pub fn assert_terminal_safe(what: &str, shown: &str) {
    if let Some(c) = first_unsafe(shown) {
        panic!(
            "{what} holds U+{:04X}: {:?}",
            c as u32,
            shown.chars().take(200).collect::<String>()
        );
    }
}

/// The sanitiser on arbitrary text (invalid UTF-8 becomes U+FFFD, as a lossy reader would
/// give it): nothing unsafe comes out, one character out for each in, safe characters are
/// kept, and quoted values and initials are safe and short too.
pub fn sanitize(data: &[u8]) {
    let input = String::from_utf8_lossy(data);
    let out = text::sanitize(&input);
    assert_terminal_safe("sanitize output", &out);
    assert_eq!(
        out.chars().count(),
        input.chars().count(),
        "a character was dropped or added"
    );
    for (i, o) in input.chars().zip(out.chars()) {
        if !must_not_reach_a_terminal(i) && !text::is_unsafe(i) {
            assert_eq!(i, o, "a safe character was changed");
        }
    }
    for max in [0, 1, 7, 60] {
        let q = text::quote_value(&input, max);
        assert_terminal_safe("quote_value output", &q);
        assert!(q.chars().count() <= max + 1, "quote_value too long");
    }
    assert_terminal_safe("initials", &text::initials(&input));
}

/// A scratch file of its own, for code that reads from a path (tests run in threads).
fn scratch(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("casewatch-fuzz-{}-{n}-{name}", std::process::id()))
}

pub use crate::store::maintenance::{fingerprint, fingerprint_file};

/// The two-PDU region of `tests/data/region`, loaded once per thread by the importer itself.
const REGION: [(Kind, &str); 4] = [
    (Kind::Pdus, include_str!("../tests/data/region/pdus.csv")),
    (
        Kind::Establishment,
        include_str!("../tests/data/region/establishment.csv"),
    ),
    (
        Kind::Practitioners,
        include_str!("../tests/data/region/practitioners.csv"),
    ),
    (Kind::Cases, include_str!("../tests/data/region/cases.csv")),
];

fn options(kind: Kind) -> ImportOptions {
    ImportOptions {
        kind,
        format: Some(FileFormat::Csv),
        dry_run: false,
        ignore_unknown: false,
        actor: "fuzz".into(),
        today: crate::actions::machine_today(),
    }
}

fn import_bytes(store: &mut Store, kind: Kind, bytes: &[u8]) -> Result<u64, ImportError> {
    let path = scratch("import.csv");
    std::fs::write(&path, bytes).map_err(|e| ImportError::Io(path.clone(), e))?;
    let r = crate::import::import_file(store, &path, &options(kind), &mut |_, _| {});
    let _ = std::fs::remove_file(&path);
    r.map(|c| c.inserted)
}

fn template() -> Store {
    let mut c = crate::store::empty_in_memory().expect("in-memory database");
    for (kind, csv) in REGION {
        import_bytes(&mut c, kind, csv.as_bytes()).expect("the region fixture imports");
    }
    c
}

thread_local! {
    static TEMPLATE: RefCell<Option<Store>> = const { RefCell::new(None) };
}

/// A fresh in-memory copy of the small region database.
fn small_database() -> Store {
    TEMPLATE.with(|t| {
        let mut t = t.borrow_mut();
        let t = t.get_or_insert_with(template);
        t.copy_in_memory().expect("copy of the template")
    })
}

/// What an import of fuzz input did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    /// Accepted, with this many new cases.
    Accepted { inserted: u64 },
    /// Rejected with this many problems (0 for a failure that is not about the file).
    Rejected { problems: usize },
}

/// Arbitrary bytes as a cases CSV imported into a small database: no panic; a rejected file
/// leaves the content exactly as it was, and every line of its report is safe to print; an
/// accepted one leaves a database that passes `integrity_check` and `foreign_key_check`,
/// with the counted rows inserted.
pub fn import_cases(data: &[u8]) -> Imported {
    let mut store = small_database();
    let before = fingerprint(store.db()).expect("fingerprint");
    let cases =
        |s: &Store| -> i64 { crate::store::maintenance::rows(s.db(), "cases").expect("count") };
    let cases_before = cases(&store);
    match import_bytes(&mut store, Kind::Cases, data) {
        Err(e) => {
            for line in e.report_lines() {
                assert_terminal_safe("import report", &line);
            }
            if let ImportError::Invalid { errors, .. } = &e {
                assert!(!errors.is_empty(), "rejected with no reason");
                for er in errors {
                    assert!(er.line >= 1, "line 0 in {er}");
                }
            }
            assert!(
                fingerprint(store.db()).expect("fingerprint") == before,
                "a rejected import changed the database: {e}"
            );
            Imported::Rejected {
                problems: match &e {
                    ImportError::Invalid { errors, .. } => errors.len(),
                    _ => 0,
                },
            }
        }
        Ok(inserted) => {
            let (ok, dangling) =
                crate::store::maintenance::integrity(store.db()).expect("integrity_check");
            assert_eq!(ok, "ok");
            assert_eq!(dangling, 0, "an import left a dangling reference");
            assert_eq!(cases(&store), cases_before + inserted as i64);
            Imported::Accepted { inserted }
        }
    }
}

/// Arbitrary bytes as a user's rules file: no panic; a refusal points into the file; an
/// accepted file merges with the defaults and evaluates against every scope's metrics at
/// ordinary and extreme values without panicking.
pub fn rules_parser(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = Rules::parse(Path::new("fuzz.toml"), &text) {
        let lines = text.split('\n').count();
        assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}", e.line);
        assert!(e.column >= 1, "column {}", e.column);
        assert!(!e.message.is_empty());
    }
    let path = scratch("rules.toml");
    std::fs::write(&path, data).expect("scratch file");
    let loaded = Rules::load(Some(&path));
    let _ = std::fs::remove_file(&path);
    let Ok(rules) = loaded else { return };
    for v in [0.0, 0.5, 1.0, 3.0, 1e9, -1.0, f64::NAN, f64::INFINITY] {
        let subjects: Vec<Subject> = [Scope::Case, Scope::Practitioner, Scope::Pdu]
            .into_iter()
            .map(|scope| Subject {
                scope,
                pdu: "P".into(),
                crn: (scope == Scope::Case).then(|| "X000001".into()),
                staff_code: (scope == Scope::Practitioner).then(|| "S1".into()),
                metrics: crate::rules::SubjectMetrics::of(
                    scope,
                    scope.metrics().iter().map(|&m| (m, v)),
                ),
            })
            .collect();
        let alerts = crate::rules::evaluate(&subjects, &rules);
        assert!(alerts.len() <= rules.rules.len() * subjects.len());
    }
}
