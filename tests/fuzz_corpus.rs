//! The fuzz corpus as a regression suite: every file kept in `tests/fuzz/corpus/<target>/`
//! (minimised fuzzer finds, past crashes and hand-made hostile inputs) goes through the same
//! checks as the fuzz target of that name (`casewatch::fuzzcheck`), on the stable toolchain.

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every corpus file of `target`, naming the file that fails.
fn run(target: &str, min_files: usize, check: fn(&[u8])) {
    let files = corpus(target);
    assert!(
        files.len() >= min_files,
        "{target}: only {} corpus files",
        files.len()
    );
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{target}: {} fails: {why}", f.display());
        }
    }
    eprintln!("{target}: {} corpus files pass", files.len());
}

#[test]
fn sanitize_corpus() {
    run("sanitize", 10, casewatch::fuzzcheck::sanitize);
}

#[test]
fn import_cases_corpus() {
    run("import_cases", 10, |d| {
        casewatch::fuzzcheck::import_cases(d);
    });
}

/// The hand-made seeds do what they were made for, so the corpus exercises both the
/// accepting and the refusing paths.
#[test]
fn import_seeds_are_accepted_or_refused_as_intended() {
    use casewatch::fuzzcheck::{Imported, import_cases};
    let seed = |name: &str| {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz/corpus/import_cases")
            .join(format!("seed-{name}"));
        import_cases(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
    };
    for (name, inserted) in [
        ("ok-one-row", 1),
        ("bom-crlf", 2),
        ("update-existing", 0),
        ("header-only", 0),
        ("blank-lines", 1),
        ("lowercase-enums", 1),
    ] {
        assert_eq!(seed(name), Imported::Accepted { inserted }, "{name}");
    }
    for name in [
        "nul-in-name",
        "esc-in-name",
        "rlo-in-name",
        "tag-in-name",
        "esc-in-crn-and-header",
        "very-long-field",
        "quotes-and-newlines",
        "huge-numbers",
        "invalid-utf8",
        "empty",
        "duplicate-crn",
        "truncated",
        "bad-dates",
        "dangling-refs",
        "allocation-disagrees",
        "duplicate-header",
        "nul-bytes-only",
    ] {
        assert!(
            matches!(seed(name), Imported::Rejected { problems } if problems > 0),
            "{name} was not refused: {:?}",
            seed(name)
        );
    }
}

#[test]
fn rules_parser_corpus() {
    run("rules_parser", 10, casewatch::fuzzcheck::rules_parser);
}

/// The oracle itself: it knows the characters the sanitiser must stop, and lets ordinary text
/// through, so a corpus that passes means something.
#[test]
fn the_oracle_catches_what_it_must() {
    use casewatch::fuzzcheck::must_not_reach_a_terminal as bad;
    for c in [
        '\u{0}',
        '\u{1b}',
        '\u{7f}',
        '\u{9b}',
        '\u{202e}',
        '\u{2066}',
        '\u{200b}',
        '\u{feff}',
        '\u{2028}',
        '\u{e0041}',
    ] {
        assert!(bad(c), "U+{:04X}", c as u32);
    }
    for c in ['a', 'é', 'ß', 'Ω', 'ק', '中', '😀', '\u{fffd}', '␛', ' '] {
        assert!(!bad(c), "U+{:04X}", c as u32);
    }
    assert_eq!(
        casewatch::fuzzcheck::first_unsafe("a\u{1b}[2J"),
        Some('\u{1b}')
    );
    assert_eq!(casewatch::fuzzcheck::first_unsafe("Zoë ␛[2J"), None);
}
