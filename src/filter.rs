//! The case tables' filter language: free words and column terms, all ANDed.
//!
//! `/` on a case table takes text such as `rosh:high+ mappa:2 tier:A team:north jones`. It is
//! parsed here into a typed [`CaseFilter`] (pure, no I/O); the store turns each term into SQL
//! with bound parameters (see `store::read`). A term that cannot be read is an error in
//! words, never a filter that silently matches nothing.
//!
//! | term | matches |
//! |---|---|
//! | a word | CRN, name or team contains it (any case) |
//! | `rosh:high`, `rosh:very_high`, `rosh:low`, `rosh:medium` | that RoSH level |
//! | `rosh:high+`, `rosh:medium+` | that level or higher |
//! | `rosh:none` | no RoSH assessment |
//! | `mappa:any`, `mappa:none` | a MAPPA case / not one |
//! | `mappa:2`, `mappa:2+` | MAPPA level 2 / level 2 or 3 |
//! | `mappa:c1` (`cat1`) | MAPPA category 1 |
//! | `tier:A`, `tier:A3`, `tier:A3S` | tier band A / A3 (with A3S) / exactly A3S |
//! | `team:north` | the team contains `north` |
//! | `unallocated`, `allocated` | no practitioner / a practitioner |
//!
//! Double quotes keep spaces in one term: `team:"north east"`, `"jory gre"`.

use std::fmt;

use crate::domain::{Mappa, Rosh};

/// A parsed filter: every term must hold. Empty matches every row.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct CaseFilter {
    pub terms: Vec<Term>,
}

/// One condition on a case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Term {
    /// CRN, name or team contains the text, ignoring ASCII case.
    Text(String),
    /// RoSH is one of these; `None` is "no assessment".
    Rosh(Vec<Option<Rosh>>),
    Mappa(MappaTerm),
    /// Tier: a band (`A`), a band and level (`A3`, which takes `A3S` too) or an exact tier
    /// (`A3S`); upper case.
    Tier(String),
    /// The team contains the text, ignoring ASCII case.
    Team(String),
    /// `true`: allocated to a practitioner; `false`: unallocated.
    Allocated(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MappaTerm {
    /// Any MAPPA case (category 1-4).
    Any,
    /// Not a MAPPA case.
    None,
    /// A MAPPA case at exactly this management level (1-3).
    Level(u8),
    /// A MAPPA case at this level or higher.
    LevelAtLeast(u8),
    /// MAPPA category 1-4.
    Category(u8),
}

/// Why a filter could not be read: the term as typed, and what was expected, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub term: String,
    pub why: &'static str,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.term.is_empty() {
            write!(f, "not applied: {}", self.why)
        } else {
            write!(f, "'{}' not applied: {}", self.term, self.why)
        }
    }
}

impl std::error::Error for FilterError {}

impl CaseFilter {
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// This filter with one more term (the MAPPA tab's "unallocated only" toggle).
    pub fn and(mut self, term: Term) -> CaseFilter {
        if !self.terms.contains(&term) {
            self.terms.push(term);
        }
        self
    }
}

/// What a filter reads of a case held in memory (the screen's risk-check and custody tabs,
/// computed rather than queried), where the store cannot bind the terms as SQL.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    pub crn: &'a str,
    pub name: &'a str,
    pub team: Option<&'a str>,
    pub tier: &'a str,
    pub rosh: Option<Rosh>,
    pub mappa: Mappa,
    pub allocated: bool,
}

impl CaseFilter {
    /// Whether a case held in memory matches every term, with the meaning the SQL of
    /// `store::read` gives them (its LIKE ignores ASCII case only, and so does this).
    pub fn matches(&self, c: &Fields<'_>) -> bool {
        self.terms.iter().all(|t| t.matches(c))
    }
}

impl Term {
    fn matches(&self, c: &Fields<'_>) -> bool {
        let team = c.team.unwrap_or("");
        match self {
            Term::Text(w) => {
                contains_ignoring_ascii_case(c.crn, w)
                    || contains_ignoring_ascii_case(c.name, w)
                    || contains_ignoring_ascii_case(team, w)
            }
            Term::Team(w) => contains_ignoring_ascii_case(team, w),
            Term::Rosh(levels) => levels.contains(&c.rosh),
            Term::Mappa(m) => {
                let on = c.mappa.is_mappa();
                match *m {
                    MappaTerm::Any => on,
                    MappaTerm::None => !on,
                    MappaTerm::Level(n) => on && c.mappa.level == n,
                    MappaTerm::LevelAtLeast(n) => on && c.mappa.level >= n,
                    MappaTerm::Category(n) => c.mappa.category == n,
                }
            }
            // A band or a band and level is a prefix (A3 takes A3S); three letters are a tier.
            Term::Tier(t) if t.len() == 3 => c.tier.eq_ignore_ascii_case(t),
            Term::Tier(t) => c
                .tier
                .get(..t.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(t)),
            Term::Allocated(a) => c.allocated == *a,
        }
    }
}

fn contains_ignoring_ascii_case(hay: &str, needle: &str) -> bool {
    hay.to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

/// Parses filter text. Empty (or blank) text is the empty filter.
pub fn parse(text: &str) -> Result<CaseFilter, FilterError> {
    match parse_lenient(text) {
        (f, None) => Ok(f),
        (_, Some(e)) => Err(e),
    }
}

/// Parses what can be parsed: the terms that read, and the first that does not. The screen
/// applies the good terms and names the bad one, so a half-typed term (`rosh:hi`) never
/// empties the table and never silently matches nothing.
pub fn parse_lenient(text: &str) -> (CaseFilter, Option<FilterError>) {
    let (tokens, mut error) = tokens(text);
    let mut terms = Vec::new();
    for (token, quoted) in tokens {
        let term = if quoted {
            // A quoted token is always text: `"a:b"` looks for "a:b".
            Ok(Term::Text(token))
        } else {
            parse_term(&token)
        };
        match term {
            Ok(t) if !terms.contains(&t) => terms.push(t),
            Ok(_) => {}
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    (CaseFilter { terms }, error)
}

/// Splits on whitespace outside double quotes; a token that starts with a quote is marked.
/// A quote left open drops its token and is the error.
fn tokens(text: &str) -> (Vec<(String, bool)>, Option<FilterError>) {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut started_quoted = false;
    let mut any = false;
    for c in text.chars() {
        match c {
            '"' => {
                if !any {
                    started_quoted = true;
                }
                in_quote = !in_quote;
                any = true;
            }
            c if c.is_whitespace() && !in_quote => {
                if !cur.is_empty() {
                    out.push((std::mem::take(&mut cur), started_quoted));
                }
                started_quoted = false;
                any = false;
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if in_quote {
        let e = FilterError {
            term: String::new(),
            why: "a double quote is not closed",
        };
        return (out, Some(e));
    }
    if !cur.is_empty() {
        out.push((cur, started_quoted));
    }
    (out, None)
}

fn parse_term(token: &str) -> Result<Term, FilterError> {
    let err = |why| FilterError {
        term: token.to_string(),
        why,
    };
    if token.eq_ignore_ascii_case("unallocated") {
        return Ok(Term::Allocated(false));
    }
    if token.eq_ignore_ascii_case("allocated") {
        return Ok(Term::Allocated(true));
    }
    let Some((key, value)) = token.split_once(':') else {
        return Ok(Term::Text(token.to_string()));
    };
    let key = key.to_ascii_lowercase();
    if value.is_empty() && matches!(key.as_str(), "rosh" | "mappa" | "tier" | "team") {
        return Err(err(
            "needs a value, e.g. rosh:high mappa:2 tier:A team:north",
        ));
    }
    match key.as_str() {
        "rosh" => parse_rosh(value)
            .ok_or_else(|| err("RoSH is low, medium, high, very_high, high+ or none")),
        "mappa" => parse_mappa(value)
            .map(Term::Mappa)
            .ok_or_else(|| err("MAPPA is any, none, a level 1-3, 2+ or a category c1-c4")),
        "tier" => parse_tier(value)
            .map(Term::Tier)
            .ok_or_else(|| err("a tier is A-D, then 0-3, then S: A, A3, A3S")),
        "team" => Ok(Term::Team(value.to_string())),
        "" => Err(err("nothing before the colon (keys: rosh mappa tier team)")),
        _ => Err(err("unknown key (keys: rosh mappa tier team)")),
    }
}

fn parse_rosh(value: &str) -> Option<Term> {
    let v = value.to_ascii_uppercase().replace('-', "_");
    let (base, or_higher) = match v.strip_suffix('+') {
        Some(b) => (b, true),
        None => (v.as_str(), false),
    };
    if matches!(base, "NONE" | "UNKNOWN") {
        return (!or_higher).then(|| Term::Rosh(vec![None]));
    }
    let alias = match base {
        "VH" => "VERY_HIGH",
        "H" => "HIGH",
        "M" => "MEDIUM",
        "L" => "LOW",
        b => b,
    };
    let rosh: Rosh = alias.parse().ok()?;
    let levels = if or_higher {
        Rosh::ALL
            .iter()
            .copied()
            .filter(|r| *r >= rosh)
            .map(Some)
            .collect()
    } else {
        vec![Some(rosh)]
    };
    Some(Term::Rosh(levels))
}

fn parse_mappa(value: &str) -> Option<MappaTerm> {
    let v = value.to_ascii_lowercase();
    match v.as_str() {
        "any" | "yes" => return Some(MappaTerm::Any),
        "none" | "no" => return Some(MappaTerm::None),
        _ => {}
    }
    let digit = |s: &str, range: std::ops::RangeInclusive<u8>| {
        s.parse::<u8>().ok().filter(|n| range.contains(n))
    };
    if let Some(cat) = v
        .strip_prefix("cat")
        .or_else(|| v.strip_prefix("c"))
        .filter(|s| !s.is_empty())
    {
        return digit(cat, 1..=4).map(MappaTerm::Category);
    }
    if let Some(level) = v.strip_prefix('l').filter(|s| !s.is_empty()) {
        return parse_level(level, digit);
    }
    parse_level(&v, digit)
}

fn parse_level(
    s: &str,
    digit: impl Fn(&str, std::ops::RangeInclusive<u8>) -> Option<u8>,
) -> Option<MappaTerm> {
    match s.strip_suffix('+') {
        Some(n) => digit(n, 1..=3).map(MappaTerm::LevelAtLeast),
        None => digit(s, 1..=3).map(MappaTerm::Level),
    }
}

fn parse_tier(value: &str) -> Option<String> {
    let v = value.to_ascii_uppercase();
    let b = v.as_bytes();
    let band = |c: u8| (b'A'..=b'D').contains(&c);
    let level = |c: u8| (b'0'..=b'3').contains(&c);
    let ok = match b {
        [x] => band(*x),
        [x, y] => band(*x) && level(*y),
        [x, y, b'S'] => band(*x) && level(*y),
        _ => false,
    };
    ok.then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(s: &str) -> Vec<Term> {
        parse(s).unwrap().terms
    }

    fn text(s: &str) -> Term {
        Term::Text(s.into())
    }

    #[test]
    fn blank_text_is_the_empty_filter() {
        assert!(parse("").unwrap().is_empty());
        assert!(parse("   ").unwrap().is_empty());
    }

    #[test]
    fn free_words_are_anded_text_terms() {
        assert_eq!(terms("jory  X123"), [text("jory"), text("X123")]);
        assert_eq!(
            terms("\"jory gre\" team:\"north east\""),
            [text("jory gre"), Term::Team("north east".into())]
        );
        // A quoted colon is text, not a key.
        assert_eq!(terms("\"a:b\""), [text("a:b")]);
        // The same term twice is one term.
        assert_eq!(terms("jory jory"), [text("jory")]);
    }

    #[test]
    fn rosh_levels_any_case_with_plus_and_none() {
        use Rosh::*;
        assert_eq!(terms("rosh:VERY_HIGH"), [Term::Rosh(vec![Some(VeryHigh)])]);
        assert_eq!(terms("rosh:high"), [Term::Rosh(vec![Some(High)])]);
        assert_eq!(terms("ROSH:Very-High"), [Term::Rosh(vec![Some(VeryHigh)])]);
        assert_eq!(terms("rosh:vh"), [Term::Rosh(vec![Some(VeryHigh)])]);
        assert_eq!(
            terms("rosh:high+"),
            [Term::Rosh(vec![Some(High), Some(VeryHigh)])]
        );
        assert_eq!(
            terms("rosh:medium+"),
            [Term::Rosh(vec![Some(Medium), Some(High), Some(VeryHigh)])]
        );
        assert_eq!(terms("rosh:none"), [Term::Rosh(vec![None])]);
        assert!(parse("rosh:none+").is_err());
        assert!(parse("rosh:extreme").is_err());
    }

    #[test]
    fn mappa_levels_categories_any_and_none() {
        use MappaTerm::*;
        assert_eq!(terms("mappa:2"), [Term::Mappa(Level(2))]);
        assert_eq!(terms("mappa:l3"), [Term::Mappa(Level(3))]);
        assert_eq!(terms("mappa:2+"), [Term::Mappa(LevelAtLeast(2))]);
        assert_eq!(terms("mappa:cat1"), [Term::Mappa(Category(1))]);
        assert_eq!(terms("mappa:C4"), [Term::Mappa(Category(4))]);
        assert_eq!(terms("mappa:any"), [Term::Mappa(Any)]);
        assert_eq!(terms("mappa:none"), [Term::Mappa(None)]);
        for bad in [
            "mappa:0",
            "mappa:4",
            "mappa:c5",
            "mappa:c",
            "mappa:high",
            "mappa:4+",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tiers_by_band_level_or_exactly() {
        assert_eq!(terms("tier:a"), [Term::Tier("A".into())]);
        assert_eq!(terms("tier:A3"), [Term::Tier("A3".into())]);
        assert_eq!(terms("tier:b2s"), [Term::Tier("B2S".into())]);
        for bad in ["tier:E", "tier:A4", "tier:AS", "tier:A3X", "tier:%"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn team_and_allocation_keywords() {
        assert_eq!(terms("team:North"), [Term::Team("North".into())]);
        assert_eq!(
            terms("Unallocated allocated"),
            [Term::Allocated(false), Term::Allocated(true)]
        );
        assert_eq!(
            terms("rosh:high+ mappa:2 tier:A unallocated smith"),
            [
                Term::Rosh(vec![Some(Rosh::High), Some(Rosh::VeryHigh)]),
                Term::Mappa(MappaTerm::Level(2)),
                Term::Tier("A".into()),
                Term::Allocated(false),
                text("smith"),
            ]
        );
    }

    #[test]
    fn bad_terms_are_errors_in_words_not_empty_matches() {
        let e = parse("jory foo:bar").unwrap_err();
        assert_eq!(e.term, "foo:bar");
        assert!(e.to_string().contains("unknown key"), "{e}");
        let e = parse("rosh:").unwrap_err();
        assert!(e.to_string().contains("needs a value"), "{e}");
        let e = parse(":x").unwrap_err();
        assert!(e.to_string().contains("nothing before the colon"), "{e}");
        let e = parse("team:\"north").unwrap_err();
        assert!(e.to_string().contains("quote"), "{e}");
        let e = parse("rosh:severe").unwrap_err();
        assert_eq!(
            e.to_string(),
            "'rosh:severe' not applied: RoSH is low, medium, high, very_high, high+ or none"
        );
    }

    #[test]
    fn lenient_parsing_keeps_the_good_terms_and_names_the_first_bad_one() {
        let (f, e) = parse_lenient("rosh:high foo:bar jory tier:Z");
        assert_eq!(f.terms, [Term::Rosh(vec![Some(Rosh::High)]), text("jory")]);
        assert_eq!(e.map(|e| e.term), Some("foo:bar".into()));
        let (f, e) = parse_lenient("jory team:\"north ea");
        assert_eq!(f.terms, [text("jory")]);
        assert!(e.is_some());
        assert_eq!(parse_lenient("mappa:2"), (parse("mappa:2").unwrap(), None));
    }

    #[test]
    fn a_case_in_memory_matches_as_the_sql_would() {
        let case = Fields {
            crn: "X123456",
            name: "Jory Quellby",
            team: Some("North East"),
            tier: "A3S",
            rosh: Some(Rosh::High),
            mappa: Mappa {
                category: 2,
                level: 2,
            },
            allocated: false,
        };
        let yes = [
            "",
            "jory",
            "QUELL",
            "x123",
            "north",
            "team:\"north east\"",
            "rosh:high",
            "rosh:medium+",
            "mappa:any",
            "mappa:2",
            "mappa:2+",
            "mappa:c2",
            "tier:a",
            "tier:A3",
            "tier:a3s",
            "unallocated",
            "rosh:high+ mappa:2 tier:A unallocated jory",
        ];
        for f in yes {
            assert!(parse(f).unwrap().matches(&case), "{f:?} should match");
        }
        let no = [
            "smith",
            "team:south",
            "rosh:very_high",
            "rosh:none",
            "mappa:none",
            "mappa:3",
            "mappa:3+",
            "mappa:c1",
            "tier:B",
            "tier:A2",
            "tier:A2S",
            "allocated",
            "jory smith",
        ];
        for f in no {
            assert!(!parse(f).unwrap().matches(&case), "{f:?} should not match");
        }
        // No team, no RoSH, not MAPPA.
        let bare = Fields {
            team: None,
            rosh: None,
            mappa: Mappa::NONE,
            allocated: true,
            ..case
        };
        for f in ["rosh:none", "mappa:none", "allocated"] {
            assert!(parse(f).unwrap().matches(&bare), "{f:?}");
        }
        assert!(!parse("north").unwrap().matches(&bare));
        assert!(!parse("mappa:c2").unwrap().matches(&bare));
    }

    #[test]
    fn and_adds_a_term_once() {
        let f = parse("unallocated").unwrap().and(Term::Allocated(false));
        assert_eq!(f.terms, [Term::Allocated(false)]);
        let f = CaseFilter::default().and(Term::Allocated(false));
        assert_eq!(f.terms.len(), 1);
    }
}
