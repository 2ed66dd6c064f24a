//! The update function, driven by messages as the event loop drives it: keys, answers,
//! resizes.

use super::*;
use crate::actions::{self, Candidate};
use crate::alerts::{ReviewedAlert, Status as AlertStatus};
use crate::domain::{AllocationReason, OversightKind};
use crate::filter::CaseFilter;
use crate::rules::{Level, Severity};
use crate::store::read::{CaseRow, CaseSort, Page, PduSummary};
use crate::tui::popups::help::help_overflow;
use crate::tui::popups::{AllocateFocus, SilenceField};
use crate::tui::screens::overview::OverviewSort;
use crate::tui::worker::OverviewData;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn summary(code: &str, mappa: u64, vac: f64) -> PduSummary {
    PduSummary {
        code: code.into(),
        name: format!("{code} name"),
        region: "London".into(),
        ppf_status: None,
        rating: None,
        score: None,
        score_max: None,
        inspected_on: None,
        cases: 100,
        unallocated: mappa * 3,
        unallocated_mappa: mappa,
        unallocated_high_rosh: 0,
        mappa_cases: 10,
        no_rosh: 0,
        oversight_required: 10,
        oversight_overdue: 1,
        contacts_overdue: 0,
        high_risk_contacts_overdue: 0,
        target_fte: 10.0,
        in_post_fte: 10.0 * (1.0 - vac),
        vacancy_rate: Some(vac),
        vacancy_by_grade: vec![],
        practitioners: 5,
        over_capacity: 0,
        risk: None,
    }
}

fn alert(pdu: &str, severity: Severity) -> ReviewedAlert {
    ReviewedAlert {
        rule: "r".into(),
        severity,
        scope: crate::rules::Scope::Pdu,
        pdu: pdu.into(),
        crn: None,
        staff_code: None,
        status: AlertStatus::New,
        first_seen: "2026-01-01".into(),
        text: "m".into(),
        metrics: Default::default(),
        acknowledged: false,
        reopened: false,
        silenced_until: None,
    }
}

fn incident(pdu: &str, rule: &str, severity: Severity, members: &[&str]) -> Incident {
    Incident {
        key: format!("{rule}:{pdu}"),
        rule: rule.into(),
        severity,
        scope: crate::rules::Scope::Case,
        pdu: pdu.into(),
        status: AlertStatus::New,
        count: members.len() as u64,
        new_members: members.len() as u64,
        resolved_members: 0,
        first_seen: "2026-01-01".into(),
        nights: 1,
        oldest_days: 3,
        acknowledged: false,
        reopened: false,
        acknowledged_by: None,
        ack_note: None,
        silenced_until: None,
        escalated: false,
        message: format!("{rule} in {pdu}"),
        worst: None,
        members: members.iter().map(|m| m.to_string()).collect(),
        metrics: Default::default(),
    }
}

fn status(pdu: &str, status: Level, reason: &str) -> crate::incidents::PduStatus {
    crate::incidents::PduStatus {
        pdu: pdu.into(),
        status,
        status_reasons: vec![reason.into()],
    }
}

fn model_with_overview() -> Model {
    let mut m = Model::new("t.db".into(), NaiveDate::default(), false, (120, 40));
    let reqs = m.refresh();
    let generation = match &reqs[0] {
        Request::Overview { generation, .. } => *generation,
        r => panic!("{r:?}"),
    };
    m.update(Msg::Loaded(Response::Overview(
        generation,
        Ok(std::sync::Arc::new(OverviewData {
            some_pdus: false,
            region: "London".into(),
            regions: vec!["London".into()],
            pdus: vec![
                summary("AAA", 0, 0.1),
                summary("HFKCW", 58, 0.43),
                summary("BBB", 0, 0.35),
            ],
            alerts: vec![
                alert("HFKCW", Severity::Critical),
                alert("BBB", Severity::High),
                // A critical case alert in AAA: it does not make AAA critical.
                ReviewedAlert {
                    rule: "case-rule".into(),
                    crn: Some("X000009".into()),
                    scope: crate::rules::Scope::Case,
                    ..alert("AAA", Severity::Critical)
                },
            ],
            statuses: vec![
                status(
                    "HFKCW",
                    Level::OrganisationalAlert,
                    "ORGANISATIONAL ALERT: 58 MAPPA",
                ),
                status("BBB", Level::Warning, "vacancy 35%"),
                crate::incidents::PduStatus {
                    pdu: "AAA".into(),
                    status: Level::Ok,
                    status_reasons: vec![],
                },
            ],
            incidents: vec![
                incident(
                    "AAA",
                    "case-rule",
                    Severity::Critical,
                    &["case-rule:AAA:X000009"],
                ),
                incident("BBB", "r", Severity::High, &["r:BBB:-"]),
                incident("HFKCW", "r", Severity::Critical, &["r:HFKCW:-"]),
            ],
            trends: Default::default(),
            forecasts: None,
        })),
    )));
    m
}

#[test]
fn overview_sorts_worst_first_and_s_cycles_the_column() {
    let mut m = model_with_overview();
    let codes = |m: &Model| -> Vec<String> {
        let o = m.region.data.as_ref().unwrap();
        m.overview
            .rows(&m.region)
            .iter()
            .map(|&i| o.pdus[i].code.clone())
            .collect()
    };
    assert_eq!(codes(&m), ["HFKCW", "BBB", "AAA"]);
    m.update(key('s'));
    assert_eq!(m.overview.sort, OverviewSort::Pdu);
    assert_eq!(codes(&m), ["AAA", "BBB", "HFKCW"]);
    m.update(key('S'));
    assert_eq!(codes(&m), ["HFKCW", "BBB", "AAA"]);
}

#[test]
fn enter_opens_the_selected_pdu_on_today_and_2_asks_for_the_first_page() {
    let mut m = model_with_overview();
    let reqs = m.update(code(KeyCode::Enter));
    assert_eq!(m.current_pdu().map(|p| p.0), Some("HFKCW"));
    assert!(
        matches!(&reqs[..], [Request::Today { pdu, .. }] if pdu == "HFKCW"),
        "{reqs:?}"
    );
    assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Today");
    let reqs = m.update(key('2'));
    assert!(matches!(
        &reqs[..],
        [Request::Page { list: CaseList::Unallocated, query, .. }] if query.offset == 0
    ));
    assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Unallocated");
    m.update(key('4'));
    assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Oversight overdue");
    m.update(code(KeyCode::Esc));
    assert_eq!(m.screen(), &Screen::Overview);
}

#[test]
fn stale_answers_are_dropped() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    m.update(key('2'));
    let old = m.gens.pages[0];
    // A newer request supersedes the first.
    let reqs = m.update(key('s'));
    assert_eq!(reqs.len(), 1);
    m.update(Msg::Loaded(Response::Page(
        old,
        CaseList::Unallocated,
        Ok(Page {
            total: 99,
            offset: 0,
            rows: vec![],
        }),
    )));
    assert_eq!(
        m.pdu.tables[0].total, None,
        "the stale page must not be shown"
    );
}

#[test]
fn while_filtering_letters_are_text_not_commands() {
    let mut m = model_with_overview();
    m.update(key('/'));
    assert_eq!(m.input, Input::Filter);
    for c in "hfq".chars() {
        m.update(key(c));
    }
    assert!(!m.quit, "q typed into the filter must not quit");
    assert_eq!(m.overview.filter, "hfq");
    m.update(code(KeyCode::Backspace));
    m.update(code(KeyCode::Enter));
    assert_eq!(m.input, Input::Normal);
    assert_eq!(m.overview.rows(&m.region).len(), 1);
    m.update(key('/'));
    m.update(code(KeyCode::Esc));
    assert_eq!(m.overview.filter, "");
    assert_eq!(m.overview.rows(&m.region).len(), 3);
}

#[test]
fn help_opens_with_question_mark_and_any_key_closes_it() {
    let mut m = model_with_overview();
    m.update(key('?'));
    assert!(m.help.is_some());
    m.update(key('j'));
    assert!(m.help.is_none());
    assert_eq!(m.overview.selected, 0, "the closing key is not also a move");
    m.update(key('q'));
    assert!(m.quit);
}

#[test]
fn moving_past_the_loaded_window_asks_for_the_next_page() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    let reqs = m.update(key('2'));
    let Request::Page {
        generation, query, ..
    } = &reqs[0]
    else {
        panic!()
    };
    let rows: Vec<CaseRow> = (0..query.limit)
        .map(|i| CaseRow {
            crn: format!("X{i:06}"),
            name: "n".into(),
            pdu: "HFKCW".into(),
            team: None,
            tier: "A1".into(),
            rosh: None,
            mappa: crate::domain::Mappa::NONE,
            case_type: None,
            allocated_to: None,
            allocated_on: None,
            unallocated_since: None,
            days: Some(1),
            due: None,
        })
        .collect();
    let n = rows.len() as u64;
    m.update(Msg::Loaded(Response::Page(
        *generation,
        CaseList::Unallocated,
        Ok(Page {
            total: 10_000,
            offset: 0,
            rows,
        }),
    )));
    assert!(m.update(key('j')).is_empty(), "row 1 is loaded");
    let mut asked = Vec::new();
    for _ in 0..n {
        asked.extend(m.update(code(KeyCode::PageDown)));
        if !asked.is_empty() {
            break;
        }
    }
    assert!(
        matches!(&asked[..], [Request::Page { query, .. }] if query.offset > 0),
        "{asked:?}"
    );
    m.update(key('G'));
    assert_eq!(m.pdu.tables[0].selected, 9_999);
}

fn candidate(code: &str, not_suitable: &[&str]) -> Candidate {
    Candidate {
        staff_code: code.into(),
        name: "N".into(),
        grade: crate::domain::Grade::Po,
        team: Some("North A".into()),
        status: crate::domain::PractitionerStatus::InPost,
        contracted_hours: 37.0,
        caseload: 1,
        high_risk_cases: 0,
        capacity_now: Some(50.0),
        capacity_after: Some(60.0),
        not_suitable: not_suitable.iter().map(|w| w.to_string()).collect(),
        warnings: Vec::new(),
        previously_managed_until: None,
    }
}

fn picker(allocated_to: Option<&str>, list: Vec<Candidate>) -> Box<actions::Picker> {
    let suitable = list.iter().take_while(|c| c.is_suitable()).count();
    Box::new(actions::Picker {
        case: actions::CaseFacts {
            crn: "X000001".into(),
            pdu: "P".into(),
            team: None,
            tier: "A2".parse().ok(),
            rosh: Some(crate::domain::Rosh::VeryHigh),
            mappa: crate::domain::Mappa::new(1, 2).unwrap(),
            allocated_to: allocated_to.map(str::to_string),
            allocated_on: allocated_to.map(|_| NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
            unallocated_since: None,
        },
        holder: None,
        candidates: list,
        suitable,
        rationale_required: true,
    })
}

fn model_on_a_case() -> Model {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    m.stack.push(Screen::Case {
        crn: "X000001".into(),
    });
    m
}

fn open_picker(m: &mut Model, p: Box<actions::Picker>) {
    let reqs = m.update(key('a'));
    let Some(Request::Candidates { generation, crn }) = reqs.first().cloned() else {
        panic!("{reqs:?}")
    };
    assert_eq!(crn, "X000001");
    m.update(Msg::Loaded(Response::Candidates(generation, Ok(p))));
}

fn type_text(m: &mut Model, text: &str) {
    for c in text.chars() {
        m.update(key(c));
    }
}

#[test]
fn the_rationale_is_asked_for_and_an_unsuitable_choice_needs_a_second_enter() {
    let mut m = model_on_a_case();
    open_picker(
        &mut m,
        picker(
            None,
            vec![candidate("PO1", &[]), candidate("PSO1", &["a PSO"])],
        ),
    );
    // Enter without a rationale asks for it and moves the typing there.
    assert!(m.update(code(KeyCode::Enter)).is_empty());
    assert!(matches!(&m.popup, Some(Popup::Allocate(p)) if p.focus == AllocateFocus::Rationale));
    type_text(&mut m, "knows the family; jk");
    // Letters went into the rationale, not the list.
    assert!(matches!(&m.popup, Some(Popup::Allocate(p)) if p.selected == 0));
    m.update(code(KeyCode::Down));
    assert!(
        m.update(code(KeyCode::Enter)).is_empty(),
        "first Enter on an unsuitable officer only asks"
    );
    let reqs = m.update(code(KeyCode::Enter));
    assert!(
        matches!(&reqs[..], [Request::Act(Act::Allocate(a))]
            if a.staff_code == "PSO1" && a.confirmed
                && a.note.as_deref() == Some("knows the family; jk")
                && a.expect == Some(actions::Holding::unallocated())),
        "{reqs:?}"
    );
    // A suitable officer goes on the first Enter.
    m.update(code(KeyCode::Up));
    let reqs = m.update(code(KeyCode::Enter));
    assert!(
        matches!(&reqs[..], [Request::Act(Act::Allocate(a))] if a.staff_code == "PO1" && !a.confirmed),
        "{reqs:?}"
    );
}

#[test]
fn the_oversight_form_starts_on_me_and_on_allocation_when_that_is_due() {
    let mut m = model_on_a_case();
    let reqs = m.update(key('o'));
    let Some(Request::Spos {
        generation, crn, ..
    }) = reqs.first().cloned()
    else {
        panic!("{reqs:?}")
    };
    let case = picker(Some("PO1"), Vec::new()).case;
    m.update(Msg::Loaded(Response::Spos(
        generation,
        Ok(Box::new(super::super::worker::SpoForm {
            spos: vec![("SPO1".into(), "A".into()), ("SPO2".into(), "B".into())],
            case,
            me: Some("SPO2".into()),
            allocation_due: true,
        })),
    )));
    let Some(Popup::Oversight(p)) = &m.popup else {
        panic!("no form")
    };
    assert_eq!(crn, "X000001");
    assert_eq!(p.selected, 1, "the acting SPO is chosen");
    assert_eq!(p.kind, OversightKind::Allocation);
    type_text(&mut m, "reviewed the plan");
    let reqs = m.update(code(KeyCode::Enter));
    assert!(
        matches!(&reqs[..], [Request::Act(Act::Oversight(o))]
            if o.by == "SPO2" && o.expect.as_ref().and_then(|h| h.allocated_to.as_deref()) == Some("PO1")),
        "{reqs:?}"
    );
}

#[test]
fn the_picker_filters_pages_and_esc_leaves_the_filter_before_the_form() {
    let mut m = model_on_a_case();
    let list: Vec<Candidate> = (0..30)
        .map(|i| candidate(&format!("PO{i:02}"), &[]))
        .collect();
    open_picker(&mut m, picker(None, list));
    m.update(code(KeyCode::PageDown));
    m.update(key('G'));
    assert!(matches!(&m.popup, Some(Popup::Allocate(p)) if p.selected == 29));
    m.update(key('/'));
    type_text(&mut m, "po2");
    assert!(matches!(&m.popup, Some(Popup::Allocate(p)) if p.visible().len() == 10));
    m.update(code(KeyCode::Esc));
    assert!(
        matches!(&m.popup, Some(Popup::Allocate(p)) if p.filter.is_empty() && p.focus == AllocateFocus::List)
    );
    m.update(code(KeyCode::Esc));
    assert!(m.popup.is_none());
}

#[test]
fn a_conflict_keeps_the_form_open_says_what_changed_and_reloads_the_case() {
    let mut m = model_on_a_case();
    open_picker(&mut m, picker(None, vec![candidate("PO1", &[])]));
    m.update(code(KeyCode::Tab));
    type_text(&mut m, "why");
    let reqs = m.update(code(KeyCode::Enter));
    assert!(matches!(&reqs[..], [Request::Act(Act::Allocate(_))]));
    let reqs = m.update(Msg::Loaded(Response::Conflict(
        "the case changed since it was read: it was unallocated, it is now allocated to PO9 (by bob)".into(),
    )));
    let Some(Popup::Allocate(p)) = &m.popup else {
        panic!("the form stays open")
    };
    assert!(p.changed.as_deref().unwrap_or("").contains("bob"));
    assert!(p.picker.is_none() && p.note == "why");
    let Some(Request::Candidates { generation, .. }) = reqs
        .iter()
        .find(|r| matches!(r, Request::Candidates { .. }))
        .cloned()
    else {
        panic!("{reqs:?}")
    };
    // On the fresh state the form is a reallocation and the reason is no longer initial.
    m.update(Msg::Loaded(Response::Candidates(
        generation,
        Ok(picker(Some("PO9"), vec![candidate("PO1", &[])])),
    )));
    assert!(matches!(&m.popup, Some(Popup::Allocate(p))
        if p.reason != AllocationReason::InitialAllocation && p.picker.is_some()));
}

#[test]
fn esc_cancels_a_form_and_letters_typed_in_it_are_text() {
    let mut m = model_on_a_case();
    m.update(key('n'));
    for c in "q a o".chars() {
        assert!(m.update(key(c)).is_empty());
    }
    assert!(!m.quit);
    assert!(matches!(&m.popup, Some(Popup::Note(p)) if p.text == "q a o"));
    m.update(code(KeyCode::Esc));
    assert!(m.popup.is_none());
}

#[test]
fn a_done_action_can_be_undone_once() {
    let mut m = model_on_a_case();
    assert!(m.update(key('u')).is_empty(), "nothing to undo yet");
    m.update(Msg::Loaded(Response::Acted(Ok(
        super::super::worker::Acted {
            audit_id: 7,
            words: "allocated",
            undoable: true,
            what: "allocation of X000001 to PO1".into(),
        },
    ))));
    assert!(m.message.as_deref().unwrap_or("").contains("audit #7"));
    // The first u says what it would undo and asks.
    assert!(m.update(key('u')).is_empty());
    assert!(
        m.message
            .as_deref()
            .unwrap_or("")
            .contains("allocation of X000001 to PO1"),
        "{:?}",
        m.message
    );
    let reqs = m.update(key('u'));
    assert!(
        matches!(&reqs[..], [Request::Act(Act::Undo { audit_id: 7 })]),
        "{reqs:?}"
    );
    assert!(m.update(key('u')).is_empty(), "only once");
}

#[test]
fn bang_opens_alerts_from_anywhere_and_a_acknowledges_with_a_note() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    m.update(key('!'));
    assert_eq!(m.screen(), &Screen::Alerts);
    assert_eq!(
        m.breadcrumbs(),
        "Overview › HFKCW › Today › Alerts of HFKCW"
    );
    m.update(key('A'));
    for c in "briefed".chars() {
        m.update(key(c));
    }
    let reqs = m.update(code(KeyCode::Enter));
    assert!(
        matches!(&reqs[..], [Request::Act(Act::Ack { key, note })] if key == "r:HFKCW" && note == "briefed"),
        "{reqs:?}"
    );
    // A refusal stays in the form, in words.
    m.update(Msg::Loaded(Response::Acted(Err(
        super::super::worker::Failure::Refused("no open alert".into()),
    ))));
    assert!(matches!(&m.popup, Some(Popup::Ack(p)) if p.error.as_deref() == Some("no open alert")));
}

#[test]
fn overview_status_comes_from_the_review_statuses_not_from_any_critical_alert() {
    let m = model_with_overview();
    // AAA has an open critical case alert, and no PDU rule holds for it.
    assert_eq!(m.region.pdu_status("AAA"), Level::Ok);
    assert_eq!(m.region.pdu_status("HFKCW"), Level::OrganisationalAlert);
    assert_eq!(m.region.pdu_status("BBB"), Level::Warning);
    assert_eq!(m.region.pdu_alert_counts("AAA"), (1, 0, 0));
    assert_eq!(m.region.pdu_reason("BBB"), Some("vacancy 35%"));
    assert_eq!(
        m.region.level_counts(),
        [
            (Level::OrganisationalAlert, 1),
            (Level::Critical, 0),
            (Level::Warning, 1),
            (Level::Ok, 1)
        ]
    );
}

fn incident_keys(m: &Model) -> Vec<String> {
    let o = m.region.data.as_ref().unwrap();
    m.alerts
        .rows(&m.region)
        .iter()
        .map(|&i| o.incidents[i].key.clone())
        .collect()
}

#[test]
fn alerts_from_a_pdu_show_its_incidents_and_w_widens_to_the_region_worst_first() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    m.update(key('!'));
    assert_eq!(m.alerts.scope.as_deref(), Some("HFKCW"));
    assert_eq!(incident_keys(&m), ["r:HFKCW"]);
    m.update(key('w'));
    assert_eq!(m.alerts.scope, None);
    // The PDU's status first: AAA's critical incident comes after BBB's high one,
    // because BBB is at WARN and AAA is OK.
    assert_eq!(incident_keys(&m), ["r:HFKCW", "r:BBB", "case-rule:AAA"]);
    m.update(key('w'));
    assert_eq!(incident_keys(&m), ["r:HFKCW"]);
    // From the overview there is no PDU: the whole region, and w says so.
    let mut m = model_with_overview();
    m.update(key('!'));
    assert_eq!(m.alerts.scope, None);
    assert_eq!(incident_keys(&m).len(), 3);
    m.update(key('w'));
    assert_eq!(incident_keys(&m).len(), 3);
    assert!(m.message.as_deref().unwrap_or("").contains("whole region"));
}

#[test]
fn enter_on_an_incident_lists_its_members_and_esc_goes_back() {
    let mut m = model_with_overview();
    m.update(key('!'));
    m.update(key('G'));
    assert_eq!(m.selected_incident().unwrap().key, "case-rule:AAA");
    let reqs = m.update(code(KeyCode::Enter));
    assert!(reqs.is_empty(), "the members are already loaded");
    assert_eq!(
        m.screen(),
        &Screen::Members {
            incident: "case-rule:AAA".into()
        }
    );
    assert_eq!(
        m.breadcrumbs(),
        "Overview › Alerts (region) › case-rule:AAA"
    );
    assert_eq!(m.selected_member().unwrap().key(), "case-rule:AAA:X000009");
    assert_eq!(m.focused_crn().as_deref(), Some("X000009"));
    // A acknowledges the member, not the incident.
    m.update(key('A'));
    assert!(matches!(&m.popup, Some(Popup::Ack(p)) if p.key == "case-rule:AAA:X000009"));
    m.update(code(KeyCode::Esc));
    // Enter on a member opens its case.
    m.update(code(KeyCode::Enter));
    assert_eq!(
        m.screen(),
        &Screen::Case {
            crn: "X000009".into()
        }
    );
    m.update(code(KeyCode::Esc));
    m.update(code(KeyCode::Esc));
    assert_eq!(m.screen(), &Screen::Alerts);
    assert_eq!(m.selected_incident().unwrap().key, "case-rule:AAA");
}

#[test]
fn s_silences_the_selected_incident_with_a_date_and_a_reason() {
    let mut m = model_with_overview();
    m.as_of = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    m.update(key('!'));
    m.update(key('S'));
    let Some(Popup::Silence(p)) = &m.popup else {
        panic!("{:?}", m.popup)
    };
    assert_eq!(
        (p.until.as_str(), p.field),
        ("2026-11-08", SilenceField::Reason)
    );
    // No reason: refused in the form, nothing sent.
    assert!(m.update(code(KeyCode::Enter)).is_empty());
    assert!(matches!(&m.popup, Some(Popup::Silence(p)) if p.error.is_some()));
    for c in "agreed with ACO".chars() {
        m.update(key(c));
    }
    // A bad date: refused in the form.
    m.update(code(KeyCode::Tab));
    for _ in 0..3 {
        m.update(code(KeyCode::Backspace));
    }
    assert!(m.update(code(KeyCode::Enter)).is_empty());
    assert!(
        matches!(&m.popup, Some(Popup::Silence(p)) if p.error.as_deref().unwrap_or("").contains("date"))
    );
    for c in "-20".chars() {
        m.update(key(c));
    }
    let reqs = m.update(code(KeyCode::Enter));
    assert!(
        matches!(&reqs[..], [Request::Act(Act::Silence { rule, pdu, crn: None, until, reason })]
            if rule == "r" && pdu == "HFKCW" && until.to_string() == "2026-11-20" && reason == "agreed with ACO"),
        "{reqs:?}"
    );
    // The library's refusal is shown in the form.
    m.update(Msg::Loaded(Response::Silenced(Err(
        super::super::worker::Failure::Refused("too far".into()),
    ))));
    assert!(matches!(&m.popup, Some(Popup::Silence(p)) if p.error.as_deref() == Some("too far")));
    let reqs = m.update(Msg::Loaded(Response::Silenced(Ok(4))));
    assert!(m.popup.is_none());
    assert!(m.message.as_deref().unwrap_or("").contains("silence #4"));
    assert!(matches!(&reqs[..], [Request::Overview { .. }]), "{reqs:?}");
}

#[test]
fn a_write_by_another_process_refreshes_the_list_and_the_figures_above_it() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    m.update(key('2'));
    let reqs = m.update(Msg::Loaded(Response::DataChanged));
    assert!(
        matches!(
            &reqs[..],
            [
                Request::Page {
                    list: CaseList::Unallocated,
                    ..
                },
                Request::Overview {
                    region: Some(_),
                    ..
                }
            ]
        ),
        "{reqs:?}"
    );
    m.stack.truncate(1);
    let reqs = m.update(Msg::Loaded(Response::DataChanged));
    assert!(matches!(&reqs[..], [Request::Overview { .. }]), "{reqs:?}");
    m.update(key('!'));
    let reqs = m.update(Msg::Loaded(Response::DataChanged));
    assert!(matches!(&reqs[..], [Request::Overview { .. }]), "{reqs:?}");
}

fn typed(m: &mut Model, text: &str) -> Vec<Request> {
    let mut reqs = Vec::new();
    for c in text.chars() {
        reqs.extend(m.update(key(c)));
    }
    reqs
}

/// The filter of the one page request in `reqs`.
fn asked_filter(reqs: &[Request]) -> Option<CaseFilter> {
    match reqs {
        [Request::Page { query, .. }] => Some(query.filter.clone()),
        _ => None,
    }
}

fn parsed(text: &str) -> CaseFilter {
    crate::filter::parse(text).unwrap()
}

#[test]
fn a_filter_with_a_bad_term_is_said_in_words_and_not_applied() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    m.update(key('2'));
    m.update(key('/'));
    let reqs = typed(&mut m, "rosh:high+");
    assert_eq!(
        asked_filter(&reqs[reqs.len() - 1..]),
        Some(parsed("rosh:high+"))
    );
    // An unknown key: the error in words, and only the good terms asked for.
    let reqs = typed(&mut m, " foo:bar");
    assert_eq!(
        asked_filter(&reqs[reqs.len() - 1..]),
        Some(parsed("rosh:high+")),
        "{reqs:?}"
    );
    let t = &m.pdu.tables[0];
    assert!(
        t.filter_error
            .as_deref()
            .is_some_and(|e| e.contains("foo:bar") && e.contains("unknown key")),
        "{:?}",
        t.filter_error
    );
    assert_eq!(t.applied, parsed("rosh:high+"));
    // Mended, it applies.
    for _ in 0..8 {
        m.update(code(KeyCode::Backspace));
    }
    let reqs = typed(&mut m, " mappa:2");
    assert_eq!(
        asked_filter(&reqs[reqs.len() - 1..]),
        Some(parsed("rosh:high+ mappa:2"))
    );
    assert_eq!(m.pdu.tables[0].filter_error, None);
}

#[test]
fn esc_clears_a_kept_filter_then_leaves_the_view() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    m.update(key('2'));
    m.update(key('/'));
    typed(&mut m, "unallocated");
    m.update(code(KeyCode::Enter));
    assert_eq!(m.input, Input::Normal);
    let reqs = m.update(code(KeyCode::Esc));
    assert_eq!(asked_filter(&reqs), Some(CaseFilter::default()), "{reqs:?}");
    assert!(matches!(m.screen(), Screen::Pdu { .. }), "still on the PDU");
    assert_eq!(m.pdu.tables[0].filter, "");
    m.update(code(KeyCode::Esc));
    assert_eq!(m.screen(), &Screen::Overview);
    // The same on the incidents: the first Esc clears the filter.
    m.update(key('!'));
    m.update(key('/'));
    typed(&mut m, "hf");
    m.update(code(KeyCode::Enter));
    m.update(code(KeyCode::Esc));
    assert_eq!(
        (m.screen(), m.alerts.filter.as_str()),
        (&Screen::Alerts, "")
    );
    m.update(code(KeyCode::Esc));
    assert_eq!(m.screen(), &Screen::Overview);
}

#[test]
fn each_tab_keeps_its_filter_sort_and_place_and_each_pdu_its_tabs() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    m.update(key('2'));
    m.update(key('/'));
    typed(&mut m, "tier:A");
    m.update(code(KeyCode::Enter));
    m.update(key('3'));
    m.update(key('s'));
    m.update(key('S'));
    m.pdu.tables[1].selected = 4;
    // Back to 2: its own filter, the default sort.
    let reqs = m.update(key('2'));
    let [Request::Page { query, .. }] = &reqs[..] else {
        panic!("{reqs:?}")
    };
    assert_eq!(
        (query.filter.clone(), query.sort, query.reverse),
        (parsed("tier:A"), CaseSort::Risk, false)
    );
    // And 3: its sort, reversed, no filter, its row.
    let reqs = m.update(key('3'));
    let [Request::Page { query, .. }] = &reqs[..] else {
        panic!("{reqs:?}")
    };
    assert_eq!(
        (query.filter.clone(), query.sort, query.reverse),
        (CaseFilter::default(), CaseSort::Days, true)
    );
    assert_eq!(m.pdu.tables[1].selected, 4);
    // Another PDU starts afresh...
    m.update(code(KeyCode::Esc));
    assert_eq!(m.screen(), &Screen::Overview);
    m.update(key('j'));
    m.update(code(KeyCode::Enter));
    assert_eq!(m.current_pdu().map(|p| p.0), Some("BBB"));
    assert_eq!(m.pdu.tables[0].filter, "");
    assert_eq!(m.pdu.tables[1].sort, CaseSort::Risk);
    // ...and the first comes back as it was left, without its old rows.
    m.update(code(KeyCode::Esc));
    m.update(key('k'));
    m.update(code(KeyCode::Enter));
    assert_eq!(m.current_pdu().map(|p| p.0), Some("HFKCW"));
    assert_eq!(
        (m.pdu.tables[0].filter.as_str(), &m.pdu.tables[0].applied),
        ("tier:A", &parsed("tier:A"))
    );
    assert_eq!(
        (
            m.pdu.tables[1].sort,
            m.pdu.tables[1].reverse,
            m.pdu.tables[1].selected
        ),
        (CaseSort::Days, true, 4)
    );
    assert_eq!(m.pdu.tables[0].total, None);
}

#[test]
fn an_answer_for_the_last_pdu_does_not_land_in_the_next() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    let reqs = m.update(key('2'));
    let [Request::Page { generation, .. }] = &reqs[..] else {
        panic!("{reqs:?}")
    };
    let generation = *generation;
    m.update(code(KeyCode::Esc));
    m.update(key('j'));
    m.update(code(KeyCode::Enter));
    m.update(Msg::Loaded(Response::Page(
        generation,
        CaseList::Unallocated,
        Ok(Page {
            total: 7,
            offset: 0,
            rows: vec![],
        }),
    )));
    assert_eq!(m.pdu.tables[0].total, None);
}

#[test]
fn capital_u_shows_only_unallocated_mappa_cases_and_back() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    m.update(key('2'));
    assert!(m.update(key('U')).is_empty(), "not on the MAPPA tab");
    assert!(m.message.as_deref().unwrap_or("").contains("MAPPA tab"));
    m.update(key('3'));
    m.update(key('/'));
    typed(&mut m, "rosh:high");
    m.update(code(KeyCode::Enter));
    let reqs = m.update(key('U'));
    assert_eq!(
        asked_filter(&reqs),
        Some(parsed("rosh:high unallocated")),
        "the toggle adds to the filter"
    );
    assert!(m.pdu.tables[1].unallocated_only);
    assert!(
        m.message
            .as_deref()
            .unwrap_or("")
            .contains("unallocated cases only")
    );
    let reqs = m.update(key('U'));
    assert_eq!(asked_filter(&reqs), Some(parsed("rosh:high")));
}

#[test]
fn e_exports_the_case_table_as_shown_and_masked_when_the_screen_is() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    m.update(key('3'));
    m.update(key('/'));
    typed(&mut m, "tier:A");
    m.update(code(KeyCode::Enter));
    m.update(key('U'));
    m.update(key('s'));
    m.update(key('m'));
    let reqs = m.update(key('e'));
    let [
        Request::ExportCases {
            pdu,
            list,
            query,
            mask,
        },
    ] = &reqs[..]
    else {
        panic!("{reqs:?}")
    };
    assert_eq!(
        (pdu.as_str(), *list, *mask),
        ("HFKCW", CaseList::Mappa, true)
    );
    assert_eq!(query.filter, parsed("tier:A unallocated"));
    assert_eq!(
        (query.sort, query.offset, query.limit),
        (CaseSort::Days, 0, u64::MAX)
    );
    // The staffing tab exports its practitioners, masked too.
    m.update(key('6'));
    let reqs = m.update(key('e'));
    assert!(
        matches!(&reqs[..], [Request::Export { view: crate::export::View::Practitioners, pdu: Some(p), mask: true }] if p == "HFKCW"),
        "{reqs:?}"
    );
    // The status line says how many rows, whether masked, and where.
    m.update(Msg::Loaded(Response::Exported(Ok(
        super::super::worker::Exported {
            path: "/tmp/x.csv".into(),
            rows: 65,
            masked: Some(true),
        },
    ))));
    assert_eq!(
        m.message.as_deref(),
        Some("exported 65 rows, names masked as initials, to /tmp/x.csv")
    );
    // On a narrow screen the file's name, in the working directory, so nothing is cut.
    let x = super::super::worker::Exported {
        path: "/home/spo/some/long/folder/casewatch-HFKCW-practitioners-2026-11-01.csv".into(),
        rows: 105,
        masked: Some(false),
    };
    let words = exported_words(&x, 80);
    assert_eq!(
        words,
        "exported 105 rows (full names) to ./casewatch-HFKCW-practitioners-2026-11-01.csv"
    );
    assert!(words.chars().count() <= 80);
}

#[test]
fn e_on_the_overview_exports_its_pdus_as_filtered_and_sorted() {
    let mut m = model_with_overview();
    m.update(key('s'));
    let reqs = m.update(key('e'));
    assert!(
        matches!(&reqs[..], [Request::ExportSummary { codes }] if codes == &["AAA", "BBB", "HFKCW"]),
        "{reqs:?}"
    );
    m.update(key('/'));
    typed(&mut m, "b");
    m.update(code(KeyCode::Enter));
    let reqs = m.update(key('e'));
    assert!(
        matches!(&reqs[..], [Request::ExportSummary { codes }] if codes == &["BBB"]),
        "{reqs:?}"
    );
}

#[test]
fn a_help_taller_than_the_screen_scrolls_and_other_keys_close_it() {
    let mut m = model_with_overview();
    m.update(Msg::Resize(80, 24));
    m.update(code(KeyCode::Enter));
    m.update(key('?'));
    assert!(
        help_overflow(Context::Pdu, 24) > 0,
        "the PDU help is taller than 24 lines"
    );
    m.update(key('j'));
    assert!(m.help.is_some());
    assert_eq!(m.help.as_ref().map(|h| h.scroll), Some(1));
    m.update(key('G'));
    assert!(m.help.is_none(), "keys other than moves close it");
    // At 120x40 it fits, and any key closes it, as before.
    m.update(Msg::Resize(120, 40));
    assert_eq!(help_overflow(Context::Pdu, 40), 0);
    m.update(key('?'));
    m.update(key('j'));
    assert!(m.help.is_none());
}

#[test]
fn m_masks_names() {
    let mut m = model_with_overview();
    assert!(!m.mask);
    m.update(key('m'));
    assert!(m.mask);
}

fn check_row(i: u64) -> crate::risk_lists::CheckRow {
    use crate::risk_checks::CheckKind;
    crate::risk_lists::CheckRow {
        case: crate::risk_lists::Listed {
            crn: format!("R{i:06}"),
            name: "n".into(),
            tier: "B1".into(),
            team: None,
            rosh: None,
            mappa: crate::domain::Mappa::NONE,
            case_type: crate::domain::CaseType::Community,
            allocated_to: None,
            practitioner: None,
        },
        overdue: vec![crate::risk_lists::Overdue {
            kind: CheckKind::InitialAssessment,
            due: NaiveDate::default(),
            days: 5,
        }],
    }
}

/// The one risk-list request in `reqs`: its list, filter and offset.
fn asked_list(reqs: &[Request]) -> Option<(RiskList, CaseFilter, u64)> {
    match reqs {
        [
            Request::ListPage {
                list,
                filter,
                offset,
                ..
            },
        ] => Some((*list, filter.clone(), *offset)),
        _ => None,
    }
}

#[test]
fn seven_and_eight_show_the_risk_lists_and_ask_for_their_first_rows() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    let reqs = m.update(key('7'));
    assert_eq!(
        asked_list(&reqs),
        Some((RiskList::Checks, CaseFilter::default(), 0)),
        "{reqs:?}"
    );
    assert!(
        matches!(&reqs[..], [Request::ListPage { pdu, limit, .. }] if pdu == "HFKCW" && *limit > 0)
    );
    assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Risk checks");
    assert!(
        m.pdu.loading(),
        "the header says loading… until the rows come"
    );
    let reqs = m.update(key('8'));
    assert_eq!(
        asked_list(&reqs),
        Some((RiskList::Release, CaseFilter::default(), 0))
    );
    assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Custody & release");
    // Tab goes on to Support, then round to Today; S-Tab back to the last tabs.
    let reqs = m.update(code(KeyCode::Tab));
    assert!(matches!(&reqs[..], [Request::Support { .. }]), "{reqs:?}");
    let reqs = m.update(code(KeyCode::Tab));
    assert!(matches!(&reqs[..], [Request::Today { .. }]), "{reqs:?}");
    m.update(code(KeyCode::BackTab));
    let reqs = m.update(code(KeyCode::BackTab));
    assert_eq!(asked_list(&reqs).map(|a| a.0), Some(RiskList::Release));
    // Sorting is not offered: the list says its order.
    assert!(m.update(key('s')).is_empty());
    assert_eq!(
        m.message.as_deref(),
        Some("this list has one order: worst first")
    );
}

#[test]
fn a_risk_list_pages_filters_opens_a_case_and_exports_as_shown() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    let reqs = m.update(key('7'));
    let [
        Request::ListPage {
            generation, limit, ..
        },
    ] = &reqs[..]
    else {
        panic!("{reqs:?}")
    };
    let rows: Vec<_> = (0..*limit).map(check_row).collect();
    let n = rows.len() as u64;
    m.update(Msg::Loaded(Response::Checks(
        *generation,
        Ok(Page {
            total: 10_000,
            offset: 0,
            rows,
        }),
    )));
    assert_eq!(m.pdu.checks.total, Some(10_000));
    assert!(!m.pdu.loading());
    assert!(m.update(key('j')).is_empty(), "row 1 is loaded");
    let mut asked = Vec::new();
    for _ in 0..n {
        asked.extend(m.update(code(KeyCode::PageDown)));
        if !asked.is_empty() {
            break;
        }
    }
    assert!(
        asked_list(&asked).is_some_and(|(l, _, offset)| l == RiskList::Checks && offset > 0),
        "{asked:?}"
    );
    m.update(key('G'));
    assert_eq!(m.pdu.checks.selected, 9_999);
    // The filter: the case tables' language, back to the first row.
    m.update(key('/'));
    let reqs = typed(&mut m, "rosh:high+");
    assert_eq!(
        asked_list(&reqs[reqs.len() - 1..]),
        Some((RiskList::Checks, parsed("rosh:high+"), 0))
    );
    m.update(code(KeyCode::Enter));
    assert_eq!(m.pdu.checks.selected, 0);
    // e exports what is shown: this list, this filter, masked when the screen is.
    m.update(key('m'));
    let reqs = m.update(key('e'));
    assert!(
        matches!(&reqs[..], [Request::ExportList { pdu, list: RiskList::Checks, filter, mask: true }]
            if pdu == "HFKCW" && *filter == parsed("rosh:high+")),
        "{reqs:?}"
    );
    // The filtered rows arrive; Enter opens the selected case.
    let generation = m.gens.lists[0];
    m.update(Msg::Loaded(Response::Checks(
        generation,
        Ok(Page {
            total: 1,
            offset: 0,
            rows: vec![check_row(42)],
        }),
    )));
    assert_eq!(m.focused_crn().as_deref(), Some("R000042"));
    let reqs = m.update(code(KeyCode::Enter));
    assert_eq!(
        m.screen(),
        &Screen::Case {
            crn: "R000042".into()
        }
    );
    assert!(
        matches!(&reqs[..], [Request::Case { crn, .. }] if crn == "R000042"),
        "{reqs:?}"
    );
    // Back on the tab, the first Esc clears the filter and asks again.
    m.update(code(KeyCode::Esc));
    let reqs = m.update(code(KeyCode::Esc));
    assert_eq!(
        asked_list(&reqs),
        Some((RiskList::Checks, CaseFilter::default(), 0))
    );
    assert!(matches!(m.screen(), Screen::Pdu { .. }));
}

#[test]
fn a_risk_list_answer_for_the_last_pdu_does_not_land_in_the_next() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    let reqs = m.update(key('8'));
    let [Request::ListPage { generation, .. }] = &reqs[..] else {
        panic!("{reqs:?}")
    };
    let generation = *generation;
    m.update(code(KeyCode::Esc));
    m.update(key('j'));
    m.update(code(KeyCode::Enter));
    m.update(Msg::Loaded(Response::Releases(
        generation,
        Ok(Page {
            total: 7,
            offset: 0,
            rows: vec![],
        }),
    )));
    assert_eq!(m.pdu.release.total, None);
}

/// A region of two practitioners of HFKCW: one far on timely contact, one who met it.
fn support_report() -> std::sync::Arc<crate::outliers::Report> {
    use crate::outliers::{Figures, Ratio};
    let person = |code: &str, name: &str, seen: f64| Figures {
        staff_code: code.into(),
        name: name.into(),
        grade: crate::domain::Grade::Po,
        pdu: "HFKCW".into(),
        team: Some("T1".into()),
        cases: 20,
        high_risk_cases: 3,
        months_in_post: 30,
        contact: Ratio {
            num: seen,
            den: 20.0,
        },
        oversight: Ratio::default(),
        capacity: Ratio::default(),
        wait: Ratio::default(),
    };
    let mut figures = vec![
        person("P1", "Zed Able", 20.0),
        person("P2", "Amy Bell", 4.0),
    ];
    figures.extend((3..8).map(|i| person(&format!("P{i}"), "Other Person", 19.0)));
    std::sync::Arc::new(crate::outliers::Report::of(
        "London",
        figures,
        &crate::policy::Policy::defaults().support,
    ))
}

#[test]
fn the_support_tab_sorts_drills_into_a_caseload_and_esc_comes_back_out() {
    let mut m = model_with_overview();
    m.update(code(KeyCode::Enter));
    let reqs = m.update(key('9'));
    let [Request::Support { generation, pdu }] = &reqs[..] else {
        panic!("{reqs:?}")
    };
    assert_eq!(pdu, "HFKCW");
    assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Support");
    m.update(Msg::Loaded(Response::Support(
        *generation,
        Ok(support_report()),
    )));
    // Worst first: the one far from the benchmark.
    let first = |m: &Model| {
        m.pdu.support.rows("HFKCW")[m.pdu.support.selected]
            .figures
            .staff_code
            .clone()
    };
    assert_eq!(first(&m), "P2");
    m.update(key('s'));
    assert_eq!(
        m.message.as_deref(),
        Some("sorted: worst timely contact first")
    );
    assert_eq!(first(&m), "P2");
    for _ in 0..4 {
        m.update(key('s'));
    }
    assert_eq!(m.message.as_deref(), Some("sorted: by name"));
    assert_eq!(first(&m), "P2", "Amy Bell comes first by name");
    // Enter: the caseload of the one selected.
    let reqs = m.update(code(KeyCode::Enter));
    let [
        Request::Caseload {
            generation,
            staff_code,
        },
    ] = &reqs[..]
    else {
        panic!("{reqs:?}")
    };
    assert_eq!(staff_code, "P2");
    let caseload = crate::store::read::support::Caseload {
        staff_code: "P2".into(),
        name: "Amy Bell".into(),
        grade: crate::domain::Grade::Po,
        status: crate::domain::PractitionerStatus::InPost,
        contracted_hours: 37.0,
        start_date: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        tiers: vec![("A3".into(), 2)],
        cases: 20,
        high_risk_cases: 3,
        reduction: None,
        points: 100.0,
        available_points: Some(200.0),
        contact_overdue: 1,
        oversight_overdue: 0,
        overdue: vec![crate::store::read::support::OverdueCase {
            crn: "X000001".into(),
            tier: "A3".into(),
            rosh: Some("HIGH".into()),
            mappa_category: 0,
            contact_overdue: true,
            oversight_overdue: false,
            allocated_on: Some("2026-01-02".into()),
        }],
    };
    m.update(Msg::Loaded(Response::Caseload(
        *generation,
        Ok(Some(caseload)),
    )));
    assert!(
        m.pdu
            .support
            .drill
            .as_ref()
            .is_some_and(|d| d.data.is_some())
    );
    // Enter on an overdue case opens it.
    let reqs = m.update(code(KeyCode::Enter));
    assert!(
        matches!(&reqs[..], [Request::Case { crn, .. }] if crn == "X000001"),
        "{reqs:?}"
    );
    m.update(code(KeyCode::Esc));
    // Back from the case: still the caseload; Esc again: the list, still on the PDU.
    assert!(m.pdu.support.drill.is_some());
    m.update(code(KeyCode::Esc));
    assert!(m.pdu.support.drill.is_none());
    assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Support");
    // v: service by group, asked for once; Esc goes back to the people.
    let reqs = m.update(key('v'));
    assert!(
        matches!(&reqs[..], [Request::Equity { pdu, .. }] if pdu == "HFKCW"),
        "{reqs:?}"
    );
    assert!(m.pdu.support.groups_mode);
    m.update(code(KeyCode::Esc));
    assert!(!m.pdu.support.groups_mode);
    assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Support");
    // c: the chart over the tab, asked for; j steps to the next figure; Esc closes it and
    // leaves the tab as it was.
    let reqs = m.update(key('c'));
    let [Request::Chart { generation, pdu }] = &reqs[..] else {
        panic!("{reqs:?}")
    };
    assert_eq!(pdu, "HFKCW");
    let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
    let series = |metric: &str| crate::chart::Series {
        metric: metric.into(),
        points: vec![(d(1), 1.0), (d(2), 2.0)],
        thresholds: vec![],
    };
    m.update(Msg::Loaded(Response::Chart(
        *generation,
        Ok(vec![series("unallocated"), series("unallocated_mappa")]),
    )));
    m.update(key('j'));
    assert_eq!(m.pdu.chart.index, 1);
    m.update(key('j'));
    assert_eq!(m.pdu.chart.index, 0, "round to the first");
    m.update(code(KeyCode::Esc));
    assert!(!m.pdu.chart.open);
    assert_eq!(m.breadcrumbs(), "Overview › HFKCW › Support");
    // e exports who needs support for the PDU.
    let reqs = m.update(key('e'));
    assert!(
        matches!(&reqs[..], [Request::Export { view: crate::export::View::Support, pdu: Some(p), .. }] if p == "HFKCW"),
        "{reqs:?}"
    );
}
