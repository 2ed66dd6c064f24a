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
        fn quoted_values_are_short_and_safe(s in any::<String>(), n in 0usize..80) {
            let q = quote_value(&s, n);
            prop_assert!(q.chars().count() <= n + 1);
            prop_assert!(!q.chars().any(is_unsafe));
        }
    }
}
