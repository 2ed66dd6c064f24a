//! Making untrusted text safe to put on a terminal.
//!
//! Every string that comes from the database or a file may hold control characters, escape
//! sequences or bidirectional overrides. They are replaced by visible placeholders, so the
//! reader sees that something odd is there and the terminal never acts on it.

use std::borrow::Cow;

/// Placeholder for characters with no control picture (C1 controls, bidi and invisible
/// format characters).
pub const PLACEHOLDER: char = '\u{FFFD}';

/// Whether `c` must never reach a terminal as itself: every control character (Unicode
/// category Cc), every format character (Cf) and the line and paragraph separators (Zl, Zp).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // bidi embeddings, overrides and isolates, marks
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
            // zero-width and invisible format characters, line and paragraph separators
            | '\u{200B}'..='\u{200D}' | '\u{2028}' | '\u{2029}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
            | '\u{00AD}' | '\u{FFF9}'..='\u{FFFB}'
            // the rest of Cf (Unicode 16): deprecated shaping controls, prepended
            // concatenation marks, the Mongolian vowel separator, format controls of
            // historic scripts, musical formatting and the invisible tag characters
            | '\u{206A}'..='\u{206F}' | '\u{0600}'..='\u{0605}' | '\u{06DD}' | '\u{070F}'
            | '\u{0890}'..='\u{0891}' | '\u{08E2}' | '\u{180E}' | '\u{110BD}' | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}' | '\u{E0020}'..='\u{E007F}'
        )
}

fn placeholder(c: char) -> char {
    match c as u32 {
        // C0 controls have control pictures: ESC shows as '␛', NUL as '␀'.
        n @ 0x00..=0x1F => char::from_u32(0x2400 + n).unwrap_or(PLACEHOLDER),
        0x7F => '\u{2421}',
        _ => PLACEHOLDER,
    }
}

/// Returns `s` with every unsafe character replaced by a visible placeholder; borrows when
/// nothing needs replacing (the common case).
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if is_unsafe(c) { placeholder(c) } else { c })
            .collect(),
    )
}

/// [`sanitize`] for a whole output stream: line breaks (`\n`) are the output's own structure
/// and stay; every other unsafe character is replaced, `\r` and tabs included.
pub fn sanitize_output(s: &str) -> Cow<'_, str> {
    let bad = |c: char| c != '\n' && is_unsafe(c);
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if bad(c) { placeholder(c) } else { c })
            .collect(),
    )
}

/// Where a headless command's output goes, and so what it must look like. On a terminal
/// strings from the database are shown with control characters, escape sequences and bidi
/// overrides made visible, as on the screen; to a file or a pipe they are written as stored,
/// byte for byte, so that CSV and JSON round-trip. Every headless output is written through
/// this one writer, which asks the destination which it is.
pub struct TerminalSafe<W: std::io::Write> {
    inner: W,
    terminal: bool,
    /// The start of a UTF-8 character whose remaining bytes have not been written yet.
    pending: Vec<u8>,
}

impl<W: std::io::Write> TerminalSafe<W> {
    /// Writes to `inner`, made safe if `destination` is a terminal.
    pub fn to(destination: &impl std::io::IsTerminal, inner: W) -> TerminalSafe<W> {
        TerminalSafe::new(inner, destination.is_terminal())
    }

    /// Writes to `inner`, made safe if `terminal` (for tests; see [`TerminalSafe::to`]).
    pub fn new(inner: W, terminal: bool) -> TerminalSafe<W> {
        TerminalSafe {
            inner,
            terminal,
            pending: Vec::new(),
        }
    }

    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// Writes what has been held back, made safe. A character cut short is kept for the
    /// next write, or, at the end of the output (`at_end`), shown as a placeholder, as is any
    /// byte that is not UTF-8.
    fn write_pending(&mut self, at_end: bool) -> std::io::Result<()> {
        let bytes = std::mem::take(&mut self.pending);
        let mut rest = &bytes[..];
        let placeholder = PLACEHOLDER.to_string();
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => return self.inner.write_all(sanitize_output(s).as_bytes()),
                Err(e) => {
                    let (good, after) = rest.split_at(e.valid_up_to());
                    // The prefix was just found to be UTF-8.
                    let good = std::str::from_utf8(good).unwrap_or_default();
                    self.inner.write_all(sanitize_output(good).as_bytes())?;
                    match e.error_len() {
                        None if !at_end => {
                            self.pending = after.to_vec();
                            return Ok(());
                        }
                        None => return self.inner.write_all(placeholder.as_bytes()),
                        Some(n) => {
                            self.inner.write_all(placeholder.as_bytes())?;
                            rest = &after[n..];
                        }
                    }
                }
            }
        }
    }
}

impl<W: std::io::Write> std::io::Write for TerminalSafe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.terminal {
            return self.inner.write(buf);
        }
        // The common case, whole characters with nothing held back, needs no copy.
        if self.pending.is_empty()
            && let Ok(s) = std::str::from_utf8(buf)
        {
            self.inner.write_all(sanitize_output(s).as_bytes())?;
            return Ok(buf.len());
        }
        self.pending.extend_from_slice(buf);
        self.write_pending(false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.terminal {
            self.write_pending(true)?;
        }
        self.inner.flush()
    }
}

/// Sanitises and shortens a value quoted in an error message, so that one huge or hostile
/// cell cannot flood a terminal.
pub fn quote_value(s: &str, max_chars: usize) -> String {
    let clean = sanitize(s);
    let mut out: String = clean.chars().take(max_chars).collect();
    if clean.chars().count() > max_chars {
        out.push('…');
    }
    out
}

/// Initials for masked display: "Jorvan Quellick" becomes "J.Q.".
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphabetic()))
        .flat_map(|c| c.to_uppercase().chain(std::iter::once('.')))
        .collect()
}

/// A name as mask mode shows it, on the screen and in its exports: the initials of the
/// sanitised name, so both read the same.
pub fn masked_name(name: &str) -> String {
    initials(&sanitize(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_visible_placeholders() {
        let s = sanitize("Ann\u{1b}[2J\u{1b}]0;pwned\u{7}");
        assert_eq!(s, "Ann␛[2J␛]0;pwned␇");
        assert!(!s.chars().any(is_unsafe));
    }

    #[test]
    fn bidi_overrides_and_c1_controls_are_replaced() {
        let s = sanitize("abc\u{202E}fed\u{2066}\u{9b}31m");
        assert_eq!(s, "abc\u{FFFD}fed\u{FFFD}\u{FFFD}31m");
    }

    #[test]
    fn every_invisible_format_character_is_replaced() {
        // Tags (invisible ASCII look-alikes), a prepended concatenation mark found by the
        // fuzzer, deprecated shaping controls and the Mongolian vowel separator.
        let s = sanitize("a\u{E0041}\u{E007F}b\u{0603}c\u{206A}d\u{180E}e");
        assert_eq!(s, "a\u{FFFD}\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FFFD}e");
    }

    #[test]
    fn clean_text_is_borrowed_unchanged() {
        assert!(matches!(sanitize("Zoë O'Brien-Ng"), Cow::Borrowed(_)));
    }

    #[test]
    fn newlines_and_tabs_are_not_passed_through() {
        assert_eq!(sanitize("a\nb\tc\r"), "a␊b␉c␍");
    }

    #[test]
    fn quoted_values_are_sanitised_and_truncated() {
        assert_eq!(quote_value("\u{1b}abcdef", 3), "␛ab…");
    }

    /// Everything written through a [`TerminalSafe`] with the flag given, in pieces of `step`
    /// bytes.
    fn through(bytes: &[u8], terminal: bool, step: usize) -> Vec<u8> {
        use std::io::Write;
        let mut w = TerminalSafe::new(Vec::new(), terminal);
        for chunk in bytes.chunks(step) {
            w.write_all(chunk).unwrap();
        }
        w.flush().unwrap();
        w.inner
    }

    #[test]
    fn to_a_terminal_stored_strings_are_made_visible_and_line_breaks_kept() {
        let stored = "crn,name\nX000001,Ann\u{1b}[2J\u{202E}Lee\r\tZoë\n";
        for step in [1, 2, 3, 7, 1000] {
            let shown = String::from_utf8(through(stored.as_bytes(), true, step)).unwrap();
            assert_eq!(
                shown, "crn,name\nX000001,Ann␛[2J\u{FFFD}Lee␍␉Zoë\n",
                "{step}"
            );
        }
    }

    #[test]
    fn to_a_file_or_pipe_the_bytes_are_written_as_stored() {
        let stored = "X000001,Ann\u{1b}[2J\u{202E}Lee\r\n".as_bytes();
        for step in [1, 5, 1000] {
            assert_eq!(through(stored, false, step), stored);
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_reach_a_terminal_as_placeholders() {
        let shown = through(b"a\xffb\xe2\x80", true, 1);
        assert_eq!(String::from_utf8(shown).unwrap(), "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn initials_of_a_name() {
        assert_eq!(initials("Jorvan  Quellick-Ash"), "J.Q.");
        assert_eq!(initials(""), "");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sanitised_text_never_holds_a_control_escape_or_bidi_character(s in ".*", raw in proptest::collection::vec(any::<char>(), 0..64)) {
            let joined: String = raw.into_iter().collect();
            for input in [s.as_str(), joined.as_str()] {
                let out = sanitize(input);
                prop_assert!(!out.chars().any(is_unsafe));
                let esc = char::from(0x1b);
                prop_assert!(!out.contains(esc));
                // One placeholder per replaced character: nothing is dropped or merged.
                prop_assert_eq!(out.chars().count(), input.chars().count());
            }
        }

        #[test]
        fn a_stream_cut_anywhere_reaches_a_terminal_as_the_whole_would(s in any::<String>(), step in 1usize..9) {
            use std::io::Write;
            let mut w = TerminalSafe::new(Vec::new(), true);
            for chunk in s.as_bytes().chunks(step) {
                w.write_all(chunk).unwrap();
            }
            w.flush().unwrap();
            let shown = String::from_utf8(w.inner).unwrap();
            let whole = sanitize_output(&s);
            prop_assert_eq!(shown.as_str(), whole.as_ref());
            prop_assert!(!shown.chars().any(|c| c != '\n' && is_unsafe(c)));
        }

        #[test]
        fn quoted_values_are_short_and_safe(s in any::<String>(), n in 0usize..80) {
            let q = quote_value(&s, n);
            prop_assert!(q.chars().count() <= n + 1);
            prop_assert!(!q.chars().any(is_unsafe));
        }
    }
}
