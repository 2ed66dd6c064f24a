//! One case in full: risk, allocation (with its reason and rationale), the rules firing, what
//! is due, contacts, oversight, notes and the audit trail. It scrolls.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::move_delta;
use crate::domain::fmt_date;
use crate::rules::Severity;
use crate::store::read::date_or_dash;
use crate::tui::app::{Gens, Slot};
use crate::tui::event::{Ctx, EventState};
use crate::tui::keymap::Action;
use crate::tui::widgets::{DrawCtx, clean, error_block};
use crate::tui::worker::{CaseView, Request};

/// The case screen's own state: the case as read, and how far it is scrolled.
#[derive(Debug, Clone, Default)]
pub struct Case {
    pub view: Option<Box<CaseView>>,
    pub loading: bool,
    pub error: Option<String>,
    pub scroll: u16,
}

impl Case {
    /// A case is opened: nothing of the last one shows.
    pub fn open(&mut self) {
        self.view = None;
        self.scroll = 0;
    }

    pub fn request(&mut self, crn: &str, gens: &mut Gens) -> Request {
        let generation = gens.stamp(Slot::Case);
        self.loading = true;
        Request::Case {
            generation,
            crn: crn.to_string(),
        }
    }

    pub fn loaded(&mut self, result: Result<Option<Box<CaseView>>, crate::tui::worker::Failure>) {
        self.loading = false;
        match result {
            Ok(Some(d)) => {
                self.error = None;
                self.view = Some(d);
            }
            Ok(None) => self.error = Some("this case is no longer in the database".into()),
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Moves scroll the page.
    pub fn act(&mut self, action: Action, cx: &mut Ctx) -> EventState {
        let Some(delta) = move_delta(action, cx.size.1) else {
            return EventState::NotConsumed;
        };
        let s = i64::from(self.scroll).saturating_add(delta.clamp(-1000, 1000));
        self.scroll = s.clamp(0, 500) as u16;
        EventState::Consumed
    }

    pub fn draw(&self, f: &mut Frame<'_>, area: Rect, dc: &DrawCtx) {
        if let Some(e) = &self.error {
            return error_block(f, area, e, &dc.theme);
        }
        let Some(cv) = &self.view else {
            f.render_widget(Paragraph::new("Loading the case…"), area);
            return;
        };
        let mut lines = head_lines(cv, dc);
        lines.extend(allocation_lines(cv, dc));
        lines.extend(alert_lines(cv, dc));
        lines.extend(due_lines(cv, dc));
        lines.extend(risk_check_lines(cv, dc));
        lines.extend(record_lines(cv, dc));
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .scroll((self.scroll, 0)),
            area,
        );
    }
}

fn heading(s: &str, dc: &DrawCtx) -> Line<'static> {
    Line::styled(s.to_string(), dc.theme.header())
}

/// Who and where, and the risk.
fn head_lines(cv: &CaseView, dc: &DrawCtx) -> Vec<Line<'static>> {
    let c = &cv.detail;
    vec![
        Line::from(vec![
            Span::styled(clean(&c.crn), dc.theme.header()),
            Span::raw(format!(
                "  {}  │ PDU {} │ team {}",
                dc.person(&c.name),
                clean(&c.pdu),
                clean(c.team.as_deref().unwrap_or("-"))
            )),
        ]),
        Line::raw(""),
        heading("Risk", dc),
        Line::raw(format!(
            "  RoSH {} · tier {} · MAPPA {} · {}",
            c.rosh.map(|r| r.as_str()).unwrap_or("NO ASSESSMENT"),
            c.tier.map(|t| t.to_string()).unwrap_or_else(|| "-".into()),
            if c.mappa.is_mappa() {
                format!("category {} level {}", c.mappa.category, c.mappa.level)
            } else {
                "not MAPPA".into()
            },
            c.case_type.map(|t| t.as_str()).unwrap_or("-"),
        )),
        Line::raw(format!(
            "  sentenced {} · release {}",
            date_or_dash(c.sentence_date),
            date_or_dash(c.release_date)
        )),
        Line::raw(""),
    ]
}

/// Who holds the case (or how long it has been unallocated), why, and who held it before.
fn allocation_lines(cv: &CaseView, dc: &DrawCtx) -> Vec<Line<'static>> {
    let c = &cv.detail;
    let mut lines = vec![heading("Allocation", dc)];
    match (&c.allocated_to, c.unallocated_since) {
        (Some(s), _) => lines.push(Line::raw(format!(
            "  allocated to {} {} ({}) since {}",
            clean(s),
            dc.person(c.practitioner_name.as_deref().unwrap_or("?")),
            c.practitioner_grade.map(|g| g.as_str()).unwrap_or("?"),
            date_or_dash(c.allocated_on)
        ))),
        (None, since) => lines.push(Line::styled(
            format!(
                "  UNALLOCATED since {} ({} days)",
                date_or_dash(since),
                since.map_or(0, |d| (dc.as_of - d).num_days())
            ),
            dc.theme.bad(),
        )),
    }
    // The current allocation's reason and rationale, from the audit trail (an allocation
    // made by an import has none).
    let undone: Vec<&str> = cv
        .history
        .iter()
        .filter(|r| r.action == "undo")
        .filter_map(|r| r.subject.as_deref())
        .collect();
    if c.allocated_to.is_some()
        && let Some(r) = cv.history.iter().rev().find(|r| {
            matches!(r.action.as_str(), "allocate" | "reallocate")
                && !undone.contains(&r.id.to_string().as_str())
        })
    {
        let rationale = r.after["note"].as_str().unwrap_or("");
        let sensitive = r.after["sensitive"].as_bool() == Some(true);
        lines.push(Line::raw(format!(
            "  reason: {} · rationale: {}",
            clean(&r.reason.as_deref().unwrap_or("-").replace('_', " ")),
            if rationale.is_empty() {
                "none recorded".to_string()
            } else {
                detail_note(dc, rationale, sensitive)
            }
        )));
    }
    for a in c.allocations.iter().filter(|a| a.to_date.is_some()) {
        lines.push(Line::raw(format!(
            "  before: {} {} from {} to {} ({})",
            clean(&a.staff_code),
            dc.person(a.practitioner.as_deref().unwrap_or("")),
            fmt_date(a.from_date),
            date_or_dash(a.to_date),
            clean(&a.reason)
        )));
    }
    lines.push(Line::raw(""));
    lines
}

fn alert_lines(cv: &CaseView, dc: &DrawCtx) -> Vec<Line<'static>> {
    let mut lines = vec![heading("Alert rules firing on this case", dc)];
    if cv.alerts.is_empty() {
        lines.push(Line::raw("  none"));
    }
    for a in &cv.alerts {
        let line = format!(
            "  {} {}: {}",
            a.severity.as_str().to_uppercase(),
            clean(&a.rule),
            clean(&a.message())
        );
        lines.push(if a.severity == Severity::Critical {
            Line::styled(line, dc.theme.bad())
        } else {
            Line::raw(line)
        });
    }
    lines.push(Line::raw(""));
    lines
}

/// The next contact and oversight, overdue or not, and why none is due.
fn due_lines(cv: &CaseView, dc: &DrawCtx) -> Vec<Line<'static>> {
    let c = &cv.detail;
    let as_of = dc.as_of;
    let mut lines = vec![heading("What is due", dc)];
    for (what, due) in [("Contact", &c.contact_due), ("Oversight", &c.oversight_due)] {
        if what == "Contact" && due.is_none() && c.allocated_to.is_none() {
            // Nothing falls due without a practitioner; say what would, and how long it
            // has been, so the gap reads in days rather than as "none due".
            let (days, why) = cv.contact_rule;
            let seen = match c.last_contact {
                Some(d) => format!(
                    "not seen for {} days (last contact {})",
                    (as_of - d).num_days(),
                    fmt_date(d)
                ),
                None => "no contact on record".into(),
            };
            lines.push(Line::styled(
                format!(
                    "  Contact: none due while unallocated; would be due every {days} days ({why}); {seen}"
                ),
                dc.theme.bad(),
            ));
            continue;
        }
        match due {
            Some(d) if d.is_overdue(as_of) => lines.push(Line::styled(
                format!(
                    "  {what} OVERDUE by {} days (due {}): {}",
                    d.days_overdue(as_of),
                    fmt_date(d.date),
                    d.rule
                ),
                dc.theme.bad(),
            )),
            Some(d) => lines.push(Line::raw(format!(
                "  {what} due {} ({} days): {}",
                fmt_date(d.date),
                -d.days_overdue(as_of),
                d.rule
            ))),
            None => lines.push(Line::raw(format!(
                "  {what}: none due ({})",
                if c.allocated_to.is_none() {
                    "the case has no practitioner; allocation is the gap"
                } else {
                    "no rule applies"
                }
            ))),
        }
    }
    lines.push(Line::raw(""));
    lines
}

/// What was done: contacts, oversight, notes and the audit trail.
/// The inspection's other checks: each that applies, worst first, in words (what, when it
/// was due or done, and the rule), then the enquiries and assessments on record.
fn risk_check_lines(cv: &CaseView, dc: &DrawCtx) -> Vec<Line<'static>> {
    use crate::risk_checks::Status;
    let Some((checks, records)) = &cv.risk else {
        return Vec::new();
    };
    let mut lines = vec![heading("Risk checks (enquiries, assessments, release)", dc)];
    if let Some(h) = &checks.handover {
        lines.push(Line::raw(format!(
            "  handover date {} ({})",
            fmt_date(h.date),
            h.rule
        )));
    }
    let mut ordered: Vec<_> = checks.checks.iter().collect();
    // Overdue first (most days first), then due, then done: the worst thing first.
    ordered.sort_by_key(|c| match c.status {
        Status::Overdue { days } => (0, -days),
        Status::Due => (1, 0),
        Status::Met { .. } => (2, 0),
    });
    for c in ordered {
        let (state, bad) = match c.status {
            Status::Overdue { days } => (
                format!("OVERDUE by {days} days (due {})", fmt_date(c.due.date)),
                true,
            ),
            Status::Due => (format!("due {}", fmt_date(c.due.date)), false),
            Status::Met { on } if on <= c.due.date => (format!("done {}", fmt_date(on)), false),
            Status::Met { on } => (
                format!("done late {} (due {})", fmt_date(on), fmt_date(c.due.date)),
                false,
            ),
        };
        let line = format!("  {}: {state} · {}", c.kind, c.due.rule);
        lines.push(if bad {
            Line::styled(line, dc.theme.bad())
        } else {
            Line::raw(line)
        });
    }
    for n in &checks.notes {
        lines.push(Line::raw(format!("  {n}")));
    }
    for e in &records.enquiries {
        lines.push(Line::raw(format!(
            "  enquiry {} requested {} · {}",
            e.kind.label(),
            fmt_date(e.requested_on),
            match (e.returned_on, e.outcome) {
                (Some(r), Some(o)) => format!(
                    "returned {} ({})",
                    fmt_date(r),
                    o.as_str().replace('_', " ")
                ),
                _ => "not returned".into(),
            }
        )));
    }
    for a in &records.assessments {
        lines.push(Line::raw(format!(
            "  assessment {} {} · RoSH {}",
            a.kind.as_str().replace('_', "-"),
            fmt_date(a.completed_on),
            a.rosh.as_str()
        )));
    }
    if records.enquiries.is_empty() && records.assessments.is_empty() {
        lines.push(Line::raw("  no enquiries or assessments on record"));
    }
    lines.push(Line::raw(""));
    lines
}

fn record_lines(cv: &CaseView, dc: &DrawCtx) -> Vec<Line<'static>> {
    let c = &cv.detail;
    let mut lines = vec![heading("Last contacts", dc)];
    if c.contacts.is_empty() {
        lines.push(Line::raw("  none on record"));
    }
    for k in &c.contacts {
        lines.push(Line::raw(format!(
            "  {} {} {}",
            fmt_date(k.date),
            clean(&k.kind),
            clean(k.staff_code.as_deref().unwrap_or(""))
        )));
    }
    lines.push(Line::raw(""));
    lines.push(heading("Management oversight", dc));
    if c.oversight.is_empty() {
        lines.push(Line::raw("  none on record"));
    }
    for o in &c.oversight {
        lines.push(Line::raw(format!(
            "  {} {} {}: {}",
            fmt_date(o.date),
            clean(&o.spo_staff_code),
            clean(&o.kind),
            detail_note(dc, &o.note, o.sensitive)
        )));
    }
    lines.push(Line::raw(""));
    lines.push(heading("Notes", dc));
    if cv.notes.is_empty() {
        lines.push(Line::raw("  none"));
    }
    for n in &cv.notes {
        lines.push(Line::raw(format!(
            "  {} {}: {}",
            clean(&n.at),
            clean(&n.author),
            detail_note(dc, &n.text, n.sensitive)
        )));
    }
    lines.push(Line::raw(""));
    lines.push(heading("History (audit trail)", dc));
    if cv.history.is_empty() {
        lines.push(Line::raw("  no actions recorded in casewatch"));
    }
    for r in cv.history.iter().rev() {
        let r = r.clone().redact(false);
        lines.push(Line::raw(format!(
            "  #{} {} {}: {}",
            r.id,
            clean(&r.at),
            clean(&r.actor),
            clean(&r.describe())
        )));
    }
    lines
}

/// A note in the case detail, the one place sensitive text is shown: marked, and hidden
/// while names are masked (the screen may be shared).
fn detail_note(dc: &DrawCtx, text: &str, sensitive: bool) -> String {
    match (sensitive, dc.mask) {
        (false, _) => clean(text),
        (true, false) => format!("[SENSITIVE] {}", clean(text)),
        (true, true) => "[sensitive note hidden while masked]".to_string(),
    }
}
