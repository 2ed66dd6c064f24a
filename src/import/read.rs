//! Reading a file into raw rows: opening it, skipping a byte order mark, CSV or JSON Lines,
//! and mapping a header onto the contract's columns. Nothing here knows what a value means.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::{ImportError, Kind, Row, RowError};

/// File format, from `--format` or the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileFormat {
    Csv,
    Jsonl,
}

impl FileFormat {
    /// `.jsonl`, `.ndjson` and `.json` are JSON Lines; everything else is CSV.
    pub fn from_path(path: &Path) -> FileFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl" | "ndjson" | "json") => FileFormat::Jsonl,
            _ => FileFormat::Csv,
        }
    }
}

/// Opens `path`, with its size in bytes (0 when it cannot be told).
pub(super) fn open(path: &Path) -> Result<(File, u64), ImportError> {
    let file = File::open(path).map_err(|e| ImportError::Io(path.to_path_buf(), e))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((file, total))
}

/// `file` (opened from `path`) buffered for reading, past a byte order mark.
pub(super) fn buffered(path: &Path, file: File) -> Result<BufReader<File>, ImportError> {
    let io = |e| ImportError::Io(path.to_path_buf(), e);
    let mut reader = BufReader::with_capacity(1 << 20, file);
    // A UTF-8 byte order mark (Excel writes one) is not part of the first column's name.
    if reader.fill_buf().map_err(io)?.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    Ok(reader)
}

/// What a reader hands on, in file order.
pub(super) enum Item<'a> {
    /// A row's cells aligned with the contract, and the byte position the reader reached.
    Row(Row<'a>, u64),
    /// A problem with the file itself: unreadable, wrong header, wrong field count, a line
    /// that is not a JSON object, an unknown or missing field.
    Problem(RowError),
}

/// Maps a header to the contract: for each contract column, its index in the header.
pub(super) fn map_header(
    kind: Kind,
    header: &[String],
    ignore_unknown: bool,
    line: u64,
    errors: &mut Vec<RowError>,
) -> Vec<Option<usize>> {
    let cols = kind.columns();
    let mut idx = vec![None; cols.len()];
    for (i, h) in header.iter().enumerate() {
        let name = h.trim();
        match cols.iter().position(|(c, _)| *c == name) {
            Some(j) if idx[j].is_some() => errors.push(RowError::new(
                line,
                name,
                "column appears twice in the header",
                None,
            )),
            Some(j) => idx[j] = Some(i),
            None if ignore_unknown || kind.derived_columns().contains(&name) => {}
            None => errors.push(RowError::new(
                line,
                name,
                format!(
                    "unknown column for --kind {} (expected {}; --ignore-unknown skips it)",
                    kind.name(),
                    cols.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(",")
                ),
                Some(h),
            )),
        }
    }
    for ((c, required), i) in cols.iter().zip(&idx) {
        if *required && i.is_none() {
            errors.push(RowError::new(
                line,
                c,
                "required column is missing from the header",
                None,
            ));
        }
    }
    idx
}

/// The contract's columns a file gave, one bit each in their order (see `Row::with_given`).
fn given_mask(given: impl Iterator<Item = bool>) -> u64 {
    given
        .enumerate()
        .filter(|&(_, g)| g)
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// Counts the lines a reader has passed, so a record's line can be told from its byte
/// offset. The csv crate's own line count skips blank lines, which would put every later
/// error one line too early; the file's newlines are the truth.
struct Newlines<R> {
    inner: R,
    /// Offsets of newlines read but not yet passed by a record, oldest first.
    pending: std::rc::Rc<std::cell::RefCell<NewlineState>>,
}

#[derive(Default)]
struct NewlineState {
    read: u64,
    /// Offsets of the `\r` and `\n` bytes read and not yet passed (`true` for `\n`).
    breaks: std::collections::VecDeque<(u64, bool)>,
    passed: u64,
}

impl NewlineState {
    /// The 1-based line of a record the reader says starts at byte `offset` (records come in
    /// order). The reader's start can be the end of the last record's terminator or the
    /// blank lines it skipped, so a run of `\r`/`\n` right there is passed too.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut at = offset;
        while let Some(&(o, newline)) = self.breaks.front() {
            if o > at {
                break;
            }
            if o == at {
                at += 1;
            }
            self.breaks.pop_front();
            self.passed += u64::from(newline);
        }
        self.passed + 1
    }
}

impl<R: std::io::Read> std::io::Read for Newlines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut st = self.pending.borrow_mut();
        let start = st.read;
        for i in memchr::memchr2_iter(b'\r', b'\n', &buf[..n]) {
            st.breaks.push_back((start + i as u64, buf[i] == b'\n'));
        }
        st.read += n as u64;
        Ok(n)
    }
}

/// Reads a CSV file's rows, handing each (with the byte position reached) and each problem
/// with the file itself (unreadable, wrong header, wrong field count) to `on`.
pub(super) fn read_csv(
    kind: Kind,
    reader: impl std::io::Read,
    ignore_unknown: bool,
    on: &mut dyn FnMut(Item<'_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let lines = std::rc::Rc::new(std::cell::RefCell::new(NewlineState::default()));
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        // Field counts are checked here, to name the line of a truncated row.
        .flexible(true)
        .from_reader(Newlines {
            inner: reader,
            pending: lines.clone(),
        });
    let mut rec = csv::StringRecord::new();
    // The contract's columns in the header, what the header gave, and its width.
    let mut header: Option<(Vec<Option<usize>>, u64, usize)> = None;
    // Whether a problem was handed on before the header was read.
    let mut problems = false;
    loop {
        let line = rdr.position().line();
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e
                    .position()
                    .map_or(line, |p| lines.borrow_mut().line_at(p.byte()));
                let msg = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 text".to_string(),
                    _ => format!("unreadable CSV: {e}"),
                };
                problems = true;
                on(Item::Problem(RowError::new(line, "-", msg, None)))?;
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let line = rec
            .position()
            .map_or(line, |p| lines.borrow_mut().line_at(p.byte()));
        let Some((idx, given, width)) = &header else {
            let names: Vec<String> = rec.iter().map(str::to_string).collect();
            let mut errors = Vec::new();
            let idx = map_header(kind, &names, ignore_unknown, line, &mut errors);
            let given = given_mask(idx.iter().map(Option::is_some));
            header = Some((idx, given, names.len()));
            problems |= !errors.is_empty();
            for e in errors {
                on(Item::Problem(e))?;
            }
            if problems {
                // With a wrong header every row would fail the same way: report just that.
                return Ok(());
            }
            continue;
        };
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue; // a blank line
        }
        if rec.len() != *width {
            on(Item::Problem(RowError::new(
                line,
                "-",
                format!(
                    "expected {width} fields as in the header, found {} (truncated or malformed line)",
                    rec.len()
                ),
                None,
            )))?;
            continue;
        }
        let vals: Vec<&str> = idx
            .iter()
            .map(|i| i.and_then(|i| rec.get(i)).unwrap_or(""))
            .collect();
        let row = Row::new(kind, line, vals).with_given(*given);
        on(Item::Row(row, rdr.position().byte()))?;
    }
    if header.is_none() {
        on(Item::Problem(RowError::new(
            1,
            "-",
            "the file is empty (no header row)",
            None,
        )))?;
    }
    Ok(())
}

/// Reads JSON Lines, one object a line with the CSV column names (strings, numbers or null),
/// handing each row (with the bytes read so far) and each problem with a line to `on`.
pub(super) fn read_jsonl(
    path: &Path,
    kind: Kind,
    reader: impl BufRead,
    ignore_unknown: bool,
    on: &mut dyn FnMut(Item<'_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut bytes = 0u64;
    for (n, line) in reader.split(b'\n').enumerate() {
        let line_no = n as u64 + 1;
        let raw = line.map_err(|e| ImportError::Io(path.to_path_buf(), e))?;
        bytes += raw.len() as u64 + 1;
        let Ok(text) = std::str::from_utf8(&raw) else {
            on(Item::Problem(RowError::new(
                line_no,
                "-",
                "not valid UTF-8 text",
                None,
            )))?;
            continue;
        };
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() {
            continue;
        }
        let obj = match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text) {
            Ok(o) => o,
            Err(e) => {
                on(Item::Problem(RowError::new(
                    line_no,
                    "-",
                    format!("not a JSON object on one line ({e})"),
                    None,
                )))?;
                continue;
            }
        };
        let Some(vals) = json_cells(kind, &obj, ignore_unknown, line_no, on)? else {
            continue;
        };
        let refs: Vec<&str> = vals.iter().map(String::as_str).collect();
        let given = given_mask(kind.columns().iter().map(|(c, _)| obj.contains_key(*c)));
        let row = Row::new(kind, line_no, refs).with_given(given);
        on(Item::Row(row, bytes))?;
    }
    Ok(())
}

/// The cells of a JSON object, aligned with the contract; `None` when a field is unknown,
/// not a string, a number or null, or a required one is missing (each handed to `on`).
fn json_cells(
    kind: Kind,
    obj: &serde_json::Map<String, serde_json::Value>,
    ignore_unknown: bool,
    line_no: u64,
    on: &mut dyn FnMut(Item<'_>) -> Result<(), ImportError>,
) -> Result<Option<Vec<String>>, ImportError> {
    let cols = kind.columns();
    let mut vals: Vec<String> = vec![String::new(); cols.len()];
    let mut ok = true;
    for (k, v) in obj {
        let Some(j) = cols.iter().position(|(c, _)| c == k) else {
            if !ignore_unknown && !kind.derived_columns().contains(&k.as_str()) {
                on(Item::Problem(RowError::new(
                    line_no,
                    k,
                    format!("unknown field for --kind {}", kind.name()),
                    None,
                )))?;
                ok = false;
            }
            continue;
        };
        vals[j] = match v {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                on(Item::Problem(RowError::new(
                    line_no,
                    k,
                    "expected a string, a number or null",
                    Some(&other.to_string()),
                )))?;
                ok = false;
                String::new()
            }
        };
    }
    for (c, required) in cols {
        if *required && !obj.contains_key(*c) {
            on(Item::Problem(RowError::new(
                line_no,
                c,
                "required field is missing",
                None,
            )))?;
            ok = false;
        }
    }
    Ok(ok.then_some(vals))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a reader hands on, as text: `LINE crn=VALUE` for a row of contacts (its first
    /// column), the problem as reported otherwise.
    fn items(format: FileFormat, bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut on = |item: Item<'_>| {
            out.push(match item {
                Item::Row(row, _) => format!("{} crn={}", row.line, row.raw("crn")),
                Item::Problem(e) => e.to_string(),
            });
            Ok(())
        };
        match format {
            FileFormat::Csv => read_csv(Kind::Contacts, bytes, false, &mut on),
            FileFormat::Jsonl => read_jsonl(Path::new("f"), Kind::Contacts, bytes, false, &mut on),
        }
        .unwrap();
        out
    }

    #[test]
    fn csv_rows_and_the_files_problems_come_in_line_order() {
        let got = items(
            FileFormat::Csv,
            b"date,kind,crn,staff_code\nd,k,X1,3\nd,k\nd,k,\"X\n2\",4\n  \n",
        );
        assert_eq!(
            got,
            [
                "2 crn=X1",
                "3:-: expected 4 fields as in the header, found 2 (truncated or malformed line)",
                "4 crn=X\n2",
            ]
        );
        assert_eq!(
            items(FileFormat::Csv, b""),
            ["1:-: the file is empty (no header row)"]
        );
    }

    #[test]
    fn lines_after_blank_lines_keep_their_own_numbers() {
        // Line 3 is empty, line 5 is blank but for spaces, line 7 ends a quoted field that
        // spans two lines; each later problem names the line it is on in the file.
        let got = items(
            FileFormat::Csv,
            b"date,kind,crn,staff_code\r\nd,k,X1,3\r\n\r\nd,k\r\n  \r\nd,k,\"X\n2\",4\nd\n",
        );
        assert_eq!(
            got,
            [
                "2 crn=X1",
                "4:-: expected 4 fields as in the header, found 2 (truncated or malformed line)",
                "6 crn=X\n2",
                "8:-: expected 4 fields as in the header, found 1 (truncated or malformed line)",
            ]
        );
    }

    #[test]
    fn a_csv_problem_before_or_in_the_header_stops_the_read_after_it() {
        let got = items(FileFormat::Csv, b"\xff\ncrn,date,kind\nX1,d,k\n");
        assert_eq!(got, ["1:-: not valid UTF-8 text"]);
        let got = items(FileFormat::Csv, b"crn,date\nX1,d\n");
        assert_eq!(got, ["1:kind: required column is missing from the header"]);
    }

    #[test]
    fn json_lines_rows_and_each_lines_problems_come_in_line_order() {
        let got = items(
            FileFormat::Jsonl,
            b"{\"crn\":\"X1\",\"date\":\"d\",\"kind\":1}\r\n\n[1]\n{\"crn\":null,\"date\":{},\"colour\":1}\n\xff\n",
        );
        assert_eq!(got.len(), 6, "{got:?}");
        assert_eq!(got[0], "1 crn=X1");
        assert!(
            got[1].starts_with("3:-: not a JSON object on one line"),
            "{}",
            got[1]
        );
        assert_eq!(
            got[2..],
            [
                "4:colour: unknown field for --kind contacts",
                "4:date: expected a string, a number or null (got '{}')",
                "4:kind: required field is missing",
                "5:-: not valid UTF-8 text",
            ]
        );
    }

    #[test]
    fn headers_report_unknown_twice_and_missing_columns() {
        let mut errors = Vec::new();
        let h: Vec<String> = ["crn", "date", "colour", "date"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        map_header(Kind::Contacts, &h, false, 1, &mut errors);
        let cols: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(cols, ["colour", "date", "kind"]);
        errors.clear();
        map_header(Kind::Contacts, &h, true, 1, &mut errors);
        assert_eq!(errors.len(), 2);
    }
}
