//! How a recorded run keeps each alert inside its incident's `members` (JSON text, one array
//! per incident). A member is `[who, first_seen, status, metrics]`: who is the CRN, the staff
//! code or `-` for a PDU-wide alert. Runs recorded before schema version 10 also kept the
//! message rendered, `[who, first_seen, status, message, metrics]`; both forms are read.
//!
//! The message is not stored because it is the rule's template filled from the metrics
//! beside it: at a million cases it was 45% of the 60 MB a night wrote, read and wrote again
//! (see BENCHMARKS.md). The few members read back whole (those that resolve) are filled from
//! their rule's template again.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::rules::{Message, Metrics, Rules};

/// A member to write: who, first seen, status and the metrics.
pub(super) type Writing<'a> = (&'a str, &'a str, &'a str, &'a Metrics);

/// An incident's members as stored.
pub(super) fn to_json(members: &[Writing<'_>]) -> String {
    serde_json::to_string(members).unwrap_or_else(|_| "[]".into())
}

/// A member as it lies in the stored text: each part's JSON, not yet read (a national night
/// reads hundreds of thousands and needs only who, when and whether open).
pub(super) struct RawMember<'a> {
    pub who: &'a RawValue,
    pub first_seen: &'a RawValue,
    pub status: &'a RawValue,
    /// The message as rendered when recorded: only in runs recorded before it was dropped.
    pub message: Option<&'a RawValue>,
    pub metrics: &'a RawValue,
}

impl<'de> Deserialize<'de> for RawMember<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(RawMemberVisitor)
    }
}

struct RawMemberVisitor;

impl<'de> Visitor<'de> for RawMemberVisitor {
    type Value = RawMember<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member: [who, first_seen, status, metrics] or, recorded earlier, [who, first_seen, status, message, metrics]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut part = |i: usize| -> Result<&'de RawValue, A::Error> {
            seq.next_element()?
                .ok_or_else(|| de::Error::invalid_length(i, &self))
        };
        let (who, first_seen, status, fourth) = (part(0)?, part(1)?, part(2)?, part(3)?);
        let (message, metrics) = match seq.next_element::<&'de RawValue>()? {
            Some(fifth) => (Some(fourth), fifth),
            None => (None, fourth),
        };
        if message.is_some() && seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(6, &self));
        }
        Ok(RawMember {
            who,
            first_seen,
            status,
            message,
            metrics,
        })
    }
}

/// A JSON string's text: borrowed when it has no escapes, as a CRN, a date or a status has.
pub(super) fn text(raw: &RawValue) -> Cow<'_, str> {
    let json = raw.get();
    match json.strip_prefix('"').and_then(|j| j.strip_suffix('"')) {
        Some(plain) if !plain.contains('\\') => Cow::Borrowed(plain),
        _ => serde_json::from_str::<String>(json).map_or(Cow::Borrowed(""), Cow::Owned),
    }
}

/// A member read whole.
pub(super) struct Member {
    pub who: String,
    pub first_seen: String,
    pub status: String,
    pub message: Option<String>,
    pub metrics: Metrics,
}

impl RawMember<'_> {
    /// The member read whole; `None` when a part is not what it should be.
    pub fn read(&self) -> Option<Member> {
        let string = |raw: &RawValue| serde_json::from_str::<String>(raw.get()).ok();
        Some(Member {
            who: string(self.who)?,
            first_seen: string(self.first_seen)?,
            status: string(self.status)?,
            message: match self.message {
                Some(m) => Some(string(m)?),
                None => None,
            },
            metrics: serde_json::from_str(self.metrics.get()).ok()?,
        })
    }
}

/// The message of a member of `rule`'s incident read back: as stored, or filled from the
/// rule's template (or, for a rule no longer in the rules, its id).
pub(super) fn message(stored: Option<String>, rule: &str, rules: &Rules) -> Message {
    match (stored, rules.rule(rule)) {
        (Some(text), _) => Message::from(text),
        (None, Some(r)) => Message::Template(r.message.as_str().into()),
        (None, None) => Message::from(rule),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(pairs: &[(&str, f64)]) -> Metrics {
        let mut m = Metrics::default();
        for (k, v) in pairs {
            m.insert(k, *v);
        }
        m
    }

    #[test]
    fn members_are_written_without_their_message_and_read_back() {
        let m = metrics(&[("enquiry_overdue_days", 224.0), ("high_risk", 1.0)]);
        let text = to_json(&[("U108742", "2026-11-22", "ongoing", &m)]);
        assert_eq!(
            text,
            r#"[["U108742","2026-11-22","ongoing",{"enquiry_overdue_days":224.0,"high_risk":1.0}]]"#
        );
        let raw: Vec<RawMember<'_>> = serde_json::from_str(&text).unwrap();
        let read = raw[0].read().unwrap();
        assert_eq!(
            (
                read.who.as_str(),
                read.first_seen.as_str(),
                read.status.as_str()
            ),
            ("U108742", "2026-11-22", "ongoing")
        );
        assert!(read.message.is_none());
        assert_eq!(read.metrics, m);
    }

    #[test]
    fn members_recorded_with_their_message_are_read_too() {
        let text = r#"[["U1","2026-11-20","new","enquiry overdue by 3 days",{"enquiry_overdue_days":3.0}],
                       ["S\u00e9","2026-11-21","resolved","x",{}]]"#;
        let raw: Vec<RawMember<'_>> = serde_json::from_str(text).unwrap();
        let first = raw[0].read().unwrap();
        assert_eq!(first.message.as_deref(), Some("enquiry overdue by 3 days"));
        assert_eq!(first.metrics.get("enquiry_overdue_days"), Some(&3.0));
        assert_eq!(text_of(&raw[1]), "Sé");
        assert_eq!(raw[1].read().unwrap().status, "resolved");
    }

    fn text_of(m: &RawMember<'_>) -> String {
        text(m.who).into_owned()
    }

    #[test]
    fn a_member_of_the_wrong_length_is_refused() {
        for bad in [
            r#"[["U1","2026-11-20","new"]]"#,
            r#"[["U1","2026-11-20","new","m",{},1]]"#,
            r#"[[]]"#,
            r#"["U1"]"#,
        ] {
            assert!(
                serde_json::from_str::<Vec<RawMember<'_>>>(bad).is_err(),
                "{bad} was read"
            );
        }
    }

    #[test]
    fn a_read_back_message_is_the_stored_one_or_the_rules_template() {
        let rules = Rules::defaults();
        let m = metrics(&[("enquiry_overdue_days", 224.0), ("high_risk", 1.0)]);
        let filled = message(None, "enquiry-overdue", &rules);
        assert!(matches!(filled, Message::Template(_)));
        assert!(filled.render(&m).contains("224"), "{}", filled.render(&m));
        let kept = message(Some("as it was".into()), "enquiry-overdue", &rules);
        assert_eq!(kept.render(&m), "as it was");
        assert_eq!(message(None, "gone-rule", &rules).render(&m), "gone-rule");
    }
}
