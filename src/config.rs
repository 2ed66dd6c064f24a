//! Where casewatch keeps its files, and how defaults embedded in the binary merge with a
//! user's TOML overrides.

use std::path::{Path, PathBuf};

use directories::ProjectDirs;
use serde::de::DeserializeOwned;

/// A user's configuration file could not be read or did not fit.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {why} (given with {flag}); an explicit file must exist, so nothing was done")]
    Unusable {
        path: PathBuf,
        flag: String,
        why: String,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

fn project_dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "casewatch")
}

/// The default database: `$XDG_DATA_HOME/casewatch/casewatch.db` (or the platform's
/// equivalent), falling back to the working directory when no home is known.
pub fn default_db_path() -> PathBuf {
    project_dirs()
        .map(|d| d.data_dir().join("casewatch.db"))
        .unwrap_or_else(|| PathBuf::from("casewatch.db"))
}

/// The user override file to read for `name` (`policy.toml`, `rules.toml`).
///
/// A path given with `flag` must be a readable file: a nightly job pointed at a policy must
/// not quietly run on the defaults. Otherwise the file in the XDG config dir is used if there
/// is one; an entry there that cannot be read (a dangling link, a directory, no permission)
/// is passed to `warn` as one line and skipped, so the built-in defaults apply. Nothing there
/// at all is the normal case and says nothing.
pub fn user_override(
    explicit: Option<&Path>,
    flag: &str,
    name: &str,
    warn: &mut dyn FnMut(&str),
) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(path) = explicit {
        return match readable_file(path) {
            Ok(()) => Ok(Some(path.to_path_buf())),
            Err(why) => Err(ConfigError::Unusable {
                path: path.to_path_buf(),
                flag: flag.to_string(),
                why,
            }),
        };
    }
    let Some(path) = project_dirs().map(|d| d.config_dir().join(name)) else {
        return Ok(None);
    };
    Ok(xdg_override(&path, warn))
}

/// The XDG override at `path` if it can be read; a warning and `None` if an entry is there
/// that cannot be; `None` if there is nothing there.
fn xdg_override(path: &Path, warn: &mut dyn FnMut(&str)) -> Option<PathBuf> {
    // Not even a dangling link: no override, the usual case.
    std::fs::symlink_metadata(path).ok()?;
    match readable_file(path) {
        Ok(()) => Some(path.to_path_buf()),
        Err(why) => {
            let shown = crate::text::sanitize(&path.display().to_string()).into_owned();
            warn(&format!("{shown}: {why}; using built-in defaults"));
            None
        }
    }
}

/// Whether `path` (through any links) is a regular file this process can open for reading;
/// if not, why, in words.
fn readable_file(path: &Path) -> Result<(), String> {
    let words = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => "not found".to_string(),
        std::io::ErrorKind::PermissionDenied => "cannot be read (permission denied)".to_string(),
        _ => format!("cannot be read ({e})"),
    };
    let meta = std::fs::metadata(path).map_err(words)?;
    if !meta.is_file() {
        return Err("not a file".into());
    }
    std::fs::File::open(path).map(drop).map_err(words)
}

/// Converts a byte offset in `text` to a 1-based line and column.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn invalid(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message: crate::text::sanitize(e.message()).into_owned(),
    }
}

/// Deep-merges `over` into `base`: tables merge key by key, anything else is replaced.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Parses the embedded defaults, merges the user's file over them (if any) and deserialises
/// the result. Errors name the user's file and the line; the defaults are tested to parse.
pub fn load_layered<T: DeserializeOwned>(
    default_name: &str,
    default_text: &str,
    user: Option<&Path>,
) -> Result<T, ConfigError> {
    let default_path = Path::new(default_name);
    let mut table: toml::Table =
        toml::from_str(default_text).map_err(|e| invalid(default_path, default_text, &e))?;
    let mut blame = (default_path.to_path_buf(), default_text.to_string());
    if let Some(path) = user {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let over: toml::Table = toml::from_str(&text).map_err(|e| invalid(path, &text, &e))?;
        merge(&mut table, over);
        blame = (path.to_path_buf(), text);
    }
    // Re-serialise so that type errors in the merged result carry a position; the position
    // is only meaningful for the defaults, so errors after a merge are reported against the
    // user's file with the key path toml gives.
    let merged = toml::to_string(&table).unwrap_or_default();
    toml::from_str::<T>(&merged).map_err(|e| {
        let message = crate::text::sanitize(e.message()).into_owned();
        let (line, column) = find_key_position(&blame.1, &merged, e.span());
        ConfigError::Invalid {
            path: blame.0.clone(),
            line,
            column,
            message,
        }
    })
}

/// Best effort: map an error span in the merged text back to the same key in the source.
fn find_key_position(
    source: &str,
    merged: &str,
    span: Option<std::ops::Range<usize>>,
) -> (usize, usize) {
    let Some(span) = span else { return (1, 1) };
    let start = span.start.min(merged.len());
    let line_start = merged[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = merged[line_start..].lines().next().unwrap_or("");
    let key = line.split('=').next().unwrap_or("").trim();
    if !key.is_empty() {
        for (i, l) in source.lines().enumerate() {
            let k = l.split('=').next().unwrap_or("").trim();
            if k == key && l.contains('=') {
                return (i + 1, 1);
            }
        }
    }
    (1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn user_values_override_defaults_key_by_key() {
        #[derive(serde::Deserialize)]
        struct T {
            a: A,
        }
        #[derive(serde::Deserialize)]
        struct A {
            x: i64,
            y: i64,
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("u.toml");
        std::fs::write(&p, "[a]\ny = 5\n").unwrap();
        let t: T = load_layered("d.toml", "[a]\nx = 1\ny = 2\n", Some(&p)).unwrap();
        assert_eq!((t.a.x, t.a.y), (1, 5));
    }

    #[test]
    fn an_explicit_file_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let mut warned = Vec::new();
        let e = user_override(Some(&missing), "--policy", "policy.toml", &mut |w| {
            warned.push(w.to_string())
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("nope.toml: not found (given with --policy)"),
            "{e}"
        );
        assert!(warned.is_empty());
        let e = user_override(Some(dir.path()), "--rules", "rules.toml", &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains(": not a file (given with --rules)"), "{e}");
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "").unwrap();
        let found = user_override(Some(&file), "--policy", "policy.toml", &mut |_| {}).unwrap();
        assert_eq!(found.as_deref(), Some(file.as_path()));
    }

    #[test]
    fn an_unreadable_xdg_entry_warns_once_and_gives_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let mut warned = Vec::new();
        let mut warn = |w: &str| warned.push(w.to_string());
        // Nothing there: no override and no warning.
        assert_eq!(
            xdg_override(&dir.path().join("policy.toml"), &mut warn),
            None
        );
        // A dangling link and a directory: no override, one warning each.
        #[cfg(unix)]
        {
            let link = dir.path().join("rules.toml");
            std::os::unix::fs::symlink(dir.path().join("gone.toml"), &link).unwrap();
            assert_eq!(xdg_override(&link, &mut warn), None);
        }
        let sub = dir.path().join("sub.toml");
        std::fs::create_dir(&sub).unwrap();
        assert_eq!(xdg_override(&sub, &mut warn), None);
        // A readable file is used.
        let ok = dir.path().join("ok.toml");
        std::fs::write(&ok, "").unwrap();
        assert_eq!(xdg_override(&ok, &mut warn), Some(ok.clone()));
        let expect_link = usize::from(cfg!(unix));
        assert_eq!(warned.len(), expect_link + 1, "{warned:?}");
        if cfg!(unix) {
            assert!(
                warned[0].ends_with("rules.toml: not found; using built-in defaults"),
                "{warned:?}"
            );
        }
        assert!(
            warned[expect_link].ends_with("sub.toml: not a file; using built-in defaults"),
            "{warned:?}"
        );
    }

    #[test]
    fn a_broken_user_file_is_reported_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("u.toml");
        std::fs::write(&p, "[a]\n\ny = = 5\n").unwrap();
        let e = load_layered::<toml::Table>("d.toml", "[a]\nx = 1\n", Some(&p)).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("u.toml:3:"), "{msg}");
    }
}
