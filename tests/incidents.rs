//! Signal over noise, through the real binary: the PDU status ladder, incidents and their
//! lifecycle (acknowledge, silence, reopen, escalate), the morning worklist and report, on a
//! SQLite file and on PostgreSQL.

use std::path::Path;
use std::process::Output;

#[path = "common/backend.rs"]
mod backend;
mod common;
#[path = "common/pg.rs"]
mod pg;

use backend::{Backend, Kind};
use common::casewatch;

const ANCHOR: &str = "2026-11-23";

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The default demo (40,000 London cases, with its recorded history) as of `ANCHOR`.
fn demo(kind: Kind, dir: &Path) -> Backend {
    let b = Backend::empty(kind, dir);
    let o = casewatch(&["--as-of", ANCHOR, "demo", "--db", &b.db], dir);
    assert!(o.status.success(), "{}", err(&o));
    b
}

fn run(db: &str, as_of: &str, extra: &[&str], home: &Path) -> Output {
    let mut args = vec!["--db", db, "--as-of", as_of];
    args.extend_from_slice(extra);
    casewatch(&args, home)
}

fn incident<'a>(doc: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    doc["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("no incident {key}"))
}

/// One more HFKCW MAPPA case loses its practitioner.
const UNALLOCATE_ONE_MAPPA: &str = "UPDATE cases SET allocated_to = NULL, allocated_on = NULL,
        unallocated_since = '2026-11-22'
  WHERE crn = (SELECT crn FROM cases WHERE pdu = 'HFKCW' AND mappa_category > 0
                 AND allocated_to IS NOT NULL ORDER BY crn LIMIT 1)";

on_both!(
    a_fresh_demo_puts_hfkcw_alone_at_organisational_alert_and_spreads_the_rest,
    hfkcw_groups_its_alerts_into_a_few_incidents_and_the_morning_report_fits,
    an_acknowledged_organisational_alert_ignores_jitter_and_reopens_on_one_more_mappa_case,
    a_silence_hides_an_incident_until_its_date_then_it_returns,
    a_critical_incident_open_three_recorded_nights_is_escalated,
    bad_silences_and_acknowledgements_are_refused_in_one_line_and_write_nothing,
    the_worklist_puts_unallocated_mappa_cases_first_then_high_rosh_by_days_waiting,
    one_pdus_review_is_that_pdus_part_of_the_regions_review,
);

fn a_fresh_demo_puts_hfkcw_alone_at_organisational_alert_and_spreads_the_rest(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = demo(kind, dir.path());
    let db = b.db.clone();
    let doc = json(&run(
        &db,
        ANCHOR,
        &["summary", "--format", "json"],
        dir.path(),
    ));
    let pdus = doc["pdus"].as_array().unwrap();
    assert_eq!(pdus.len(), 18);
    let at = |level: &str| -> Vec<&str> {
        pdus.iter()
            .filter(|p| p["status"] == level)
            .map(|p| p["code"].as_str().unwrap())
            .collect()
    };
    assert_eq!(at("organisational-alert"), ["HFKCW"]);
    assert!(at("ok").len() >= 4, "ok: {:?}", at("ok"));
    assert!(at("critical").len() <= 6, "critical: {:?}", at("critical"));
    // Worst first, and every status but ok says why in words.
    assert_eq!(pdus[0]["code"], "HFKCW");
    for p in pdus {
        let reasons = p["status_reasons"].as_array().unwrap();
        assert_eq!(reasons.is_empty(), p["status"] == "ok", "{}", p["code"]);
    }
    let why = pdus[0]["status_reasons"][0].as_str().unwrap();
    assert!(why.starts_with("ORGANISATIONAL ALERT: 58 MAPPA"), "{why}");
}

fn hfkcw_groups_its_alerts_into_a_few_incidents_and_the_morning_report_fits(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = demo(kind, dir.path());
    let db = b.db.clone();
    let o = run(
        &db,
        ANCHOR,
        &["alerts", "--format", "json", "--pdu", "HFKCW"],
        dir.path(),
    );
    let doc = json(&o);
    let incidents = doc["incidents"].as_array().unwrap();
    // One line per distinct problem: the unit in the organisational alert has about twenty
    // since the inspection's other checks (enquiries, assessments, handover, release) joined.
    assert!(incidents.len() <= 20, "{} incidents", incidents.len());
    assert!(incidents.iter().all(|i| i["pdu"] == "HFKCW"));
    assert!(
        doc["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["pdu"] == "HFKCW")
    );
    let mappa = incident(&doc, "unallocated-mappa:HFKCW");
    assert_eq!(mappa["count"], 58);
    assert_eq!(mappa["members"].as_array().unwrap().len(), 58);
    for field in [
        "key",
        "rule",
        "severity",
        "pdu",
        "status",
        "count",
        "new_members",
        "resolved_members",
        "first_seen",
        "oldest_days",
        "acknowledged",
        "silenced_until",
        "escalated",
        "message",
        "members",
    ] {
        assert!(mappa.get(field).is_some(), "missing {field}");
    }
    // The demo's history: seen on the two nights before, so ongoing, escalated, aged.
    assert_eq!(mappa["status"], "ongoing");
    assert_eq!(mappa["escalated"], true);
    assert!(mappa["oldest_days"].as_i64().unwrap() > 100);
    // The organisational alert is first, as an incident of one.
    assert_eq!(incidents[0]["key"], "organisational-alert:HFKCW");
    assert_eq!(incidents[0]["count"], 1);
    assert!(incidents[0]["first_seen"].as_str().unwrap() < "2026-11-10");

    // Text lists incidents, one line each; --members lists every alert.
    let text = String::from_utf8_lossy(
        &run(&db, ANCHOR, &["alerts", "--pdu", "HFKCW"], dir.path()).stdout,
    )
    .into_owned();
    assert!(text.lines().count() <= 26, "{text}");
    let members = run(
        &db,
        ANCHOR,
        &["alerts", "--pdu", "HFKCW", "--members"],
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&members.stdout).lines().count() > 500);

    let md = String::from_utf8_lossy(
        &run(&db, ANCHOR, &["alerts", "--format", "markdown"], dir.path()).stdout,
    )
    .into_owned();
    // About 27 lines a PDU for 18 PDUs (the inspection's other checks add three or four
    // incidents to most units).
    assert!(md.lines().count() <= 520, "{} lines", md.lines().count());
    let org = md.find("## Organisational alerts and escalations").unwrap();
    let by = md.find("## By PDU").unwrap();
    assert!(org < by && md[org..by].contains("HFKCW"));
    let sections: Vec<&str> = md[by..].split("\n### ").skip(1).collect();
    assert_eq!(sections.len(), 18);
    assert!(sections[0].starts_with("HFKCW"), "{}", sections[0]);
    for s in &sections {
        assert!(s.lines().count() <= 40, "{s}");
    }
    assert!(sections[0].contains("1. **allocate**"), "{}", sections[0]);
}

fn an_acknowledged_organisational_alert_ignores_jitter_and_reopens_on_one_more_mappa_case(
    kind: Kind,
) {
    let dir = tempfile::tempdir().unwrap();
    let b = demo(kind, dir.path());
    let db = b.db.clone();
    let key = "organisational-alert:HFKCW";
    assert!(
        run(&db, ANCHOR, &["alerts", "--record"], dir.path())
            .status
            .code()
            != Some(2)
    );
    let o = run(
        &db,
        ANCHOR,
        &["ack", key, "--note", "head of PDU briefed"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    // Next night only the oversight share moves, by a tenth of a point: still acknowledged.
    b.exec(
        "INSERT INTO oversight (crn, date, spo_staff_code, kind)
         SELECT crn, '2026-11-24', 'S1', 'periodic' FROM cases
          WHERE pdu = 'HFKCW' AND allocated_to IS NOT NULL AND mappa_category > 0
          ORDER BY crn LIMIT 1",
        &[],
    );
    let doc = json(&run(
        &db,
        "2026-11-24",
        &["alerts", "--record", "--format", "json"],
        dir.path(),
    ));
    let org = incident(&doc, key);
    assert_eq!(org["acknowledged"], true, "{org}");
    assert_eq!(org["reopened"], false);
    // Its owner and note travel with it.
    assert_eq!(org["ack_note"], "head of PDU briefed");
    assert!(
        org["acknowledged_by"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    // One more unallocated MAPPA case: materially worse, so it reopens.
    assert_eq!(b.exec(UNALLOCATE_ONE_MAPPA, &[]), 1);
    let o = run(
        &db,
        "2026-11-25",
        &["alerts", "--format", "json"],
        dir.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(3),
        "a newly unallocated MAPPA case wakes someone"
    );
    let doc = json(&o);
    let org = incident(&doc, key);
    assert_eq!(org["acknowledged"], false);
    assert_eq!(org["reopened"], true);
    assert_eq!(incident(&doc, "unallocated-mappa:HFKCW")["new_members"], 1);
    let audit = run(&db, ANCHOR, &["audit", "--format", "json"], dir.path());
    assert!(String::from_utf8_lossy(&audit.stdout).contains("\"acknowledge\""));
}

fn a_silence_hides_an_incident_until_its_date_then_it_returns(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = demo(kind, dir.path());
    let db = b.db.clone();
    let o = run(
        &db,
        ANCHOR,
        &[
            "silence",
            "rule=unallocated-mappa",
            "pdu=HFKCW",
            "--until",
            "2026-11-26",
            "--reason",
            "allocation panel booked for all 58",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    let listed = run(&db, ANCHOR, &["silences"], dir.path());
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("rule=unallocated-mappa pdu=HFKCW until 2026-11-26"),
        "{listed}"
    );
    let doc = json(&run(
        &db,
        "2026-11-25",
        &["alerts", "--format", "json"],
        dir.path(),
    ));
    let i = incident(&doc, "unallocated-mappa:HFKCW");
    assert_eq!(i["silenced_until"], "2026-11-26");
    assert_eq!(i["count"], 58, "a silenced incident is still counted");
    // A new member of a silenced incident wakes nobody.
    assert_eq!(b.exec(UNALLOCATE_ONE_MAPPA, &[]), 1);
    let doc = json(&run(
        &db,
        "2026-11-25",
        &["alerts", "--format", "json", "--pdu", "HFKCW"],
        dir.path(),
    ));
    let new_mappa: Vec<_> = doc["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["rule"] == "unallocated-mappa" && a["status"] == "new")
        .collect();
    assert_eq!(new_mappa.len(), 1);
    assert_eq!(new_mappa[0]["silenced_until"], "2026-11-26");
    // On its date it has ended by itself.
    let doc = json(&run(
        &db,
        "2026-11-26",
        &["alerts", "--format", "json"],
        dir.path(),
    ));
    assert!(incident(&doc, "unallocated-mappa:HFKCW")["silenced_until"].is_null());
    let quiet = run(&db, "2026-11-26", &["silences"], dir.path());
    assert!(String::from_utf8_lossy(&quiet.stdout).contains("no silences in force"));
    // Removing one is audited.
    let o = run(&db, ANCHOR, &["unsilence", "1"], dir.path());
    assert!(o.status.success(), "{}", err(&o));
    let audit = String::from_utf8_lossy(
        &run(&db, ANCHOR, &["audit", "--format", "json"], dir.path()).stdout,
    )
    .into_owned();
    assert!(audit.contains("\"silence\"") && audit.contains("\"unsilence\""));
}

fn a_critical_incident_open_three_recorded_nights_is_escalated(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = demo(kind, dir.path());
    let db = b.db.clone();
    // Without the demo's history.
    b.exec("DELETE FROM alert_runs", &[]);
    assert_eq!(b.int("SELECT count(*) FROM run_incidents", &[]), 0);
    let key = "unallocated-mappa:HFKCW";
    for (night, as_of, escalated) in [
        (1, "2026-11-23", false),
        (2, "2026-11-24", false),
        (3, "2026-11-25", true),
    ] {
        let doc = json(&run(
            &db,
            as_of,
            &["alerts", "--record", "--format", "json"],
            dir.path(),
        ));
        let i = incident(&doc, key);
        assert_eq!(i["nights"], night);
        assert_eq!(i["escalated"], escalated, "night {night}");
        assert_eq!(i["first_seen"], "2026-11-23");
    }
    // A warning-level incident is never escalated.
    let doc = json(&run(
        &db,
        "2026-11-25",
        &["alerts", "--format", "json"],
        dir.path(),
    ));
    assert_eq!(
        incident(&doc, "practitioner-over-capacity:HFKCW")["escalated"],
        false
    );
}

fn bad_silences_and_acknowledgements_are_refused_in_one_line_and_write_nothing(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = demo(kind, dir.path());
    let db = b.db.clone();
    let audit_before = b.int("SELECT count(*) FROM audit", &[]);
    for (args, why) in [
        (vec!["silence", "pdu=HFKCW", "--reason", "r"], "--until"),
        (
            vec![
                "silence",
                "pdu=HFKCW",
                "--until",
                "2026-11-20",
                "--reason",
                "r",
            ],
            "must end in the future",
        ),
        (
            vec![
                "silence",
                "pdu=HFKCW",
                "--until",
                "2027-03-01",
                "--reason",
                "r",
            ],
            "more than 90 days",
        ),
        (
            vec!["silence", "pdu=HFKCW", "--until", "2026-11-30"],
            "--reason",
        ),
        (
            vec![
                "silence",
                "rule=no-such-rule",
                "--until",
                "2026-11-30",
                "--reason",
                "r",
            ],
            "unknown rule 'no-such-rule'",
        ),
        (
            vec![
                "silence",
                "pdu=ZZZ",
                "--until",
                "2026-11-30",
                "--reason",
                "r",
            ],
            "unknown PDU 'ZZZ'",
        ),
        (
            vec![
                "silence",
                "team=A",
                "--until",
                "2026-11-30",
                "--reason",
                "r",
            ],
            "unknown matcher",
        ),
        (
            vec!["ack", "unallocated-mappa:BAR", "--note", "n"],
            "no open incident or alert",
        ),
        (vec!["unsilence", "99"], "no silence #99"),
    ] {
        let o = run(&db, ANCHOR, &args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        let e = err(&o);
        assert!(e.contains(why), "{args:?}: {e}");
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    }
    assert_eq!(b.int("SELECT count(*) FROM silences", &[]), 0);
    assert_eq!(b.int("SELECT count(*) FROM audit", &[]), audit_before);
}

fn the_worklist_puts_unallocated_mappa_cases_first_then_high_rosh_by_days_waiting(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = demo(kind, dir.path());
    let db = b.db.clone();
    let doc = json(&run(
        &db,
        ANCHOR,
        &[
            "review", "--pdu", "HFKCW", "--format", "json", "--limit", "80",
        ],
        dir.path(),
    ));
    assert_eq!(doc["status"], "organisational-alert");
    let actions = doc["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 80);
    assert!(doc["more"].as_u64().unwrap() > 100);
    // 58 MAPPA allocations, longest waiting first, then HIGH/VERY_HIGH ones.
    assert!(
        actions[..58]
            .iter()
            .all(|a| a["task"] == "allocate" && a["why"].as_str().unwrap().contains("MAPPA"))
    );
    let days: Vec<i64> = actions[..58]
        .iter()
        .map(|a| a["days"].as_i64().unwrap())
        .collect();
    assert!(days.windows(2).all(|w| w[0] >= w[1]), "{days:?}");
    assert_eq!(actions[58]["task"], "allocate");
    assert!(!actions[58]["why"].as_str().unwrap().contains("MAPPA"));
    // The whole list: the risk checks' tasks in their places among the others, each class
    // before the next, one line of a task per case.
    let all = json(&run(
        &db,
        ANCHOR,
        &[
            "review", "--pdu", "HFKCW", "--format", "json", "--limit", "100000",
        ],
        dir.path(),
    ));
    let classes = [
        "allocate", "see", "assess", "oversee", "enquire", "staffing",
    ];
    let totals = all["totals"].as_object().unwrap();
    let mut names: Vec<&str> = totals.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut want = classes.to_vec();
    want.sort_unstable();
    assert_eq!(names, want, "every task is counted, at 0 too");
    for task in ["see", "assess", "enquire"] {
        assert!(
            totals[task].as_u64().unwrap() > 0,
            "the demo has {task} lines"
        );
    }
    let lines = all["actions"].as_array().unwrap();
    assert_eq!(all["more"], 0);
    let total: u64 = totals.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(lines.len() as u64, total);
    let class: Vec<usize> = lines
        .iter()
        .map(|a| classes.iter().position(|c| a["task"] == *c).unwrap())
        .collect();
    assert!(class.windows(2).all(|w| w[0] <= w[1]), "classes in order");
    let mut seen = std::collections::HashSet::new();
    for a in lines.iter().filter(|a| a["task"] != "staffing") {
        let key = (a["task"].to_string(), a["crn"].to_string());
        assert!(seen.insert(key), "two lines of one task for one case: {a}");
        if a["task"] == "enquire" || a["task"] == "assess" {
            assert!(a["days"].as_i64().unwrap() > 0, "{a}");
        }
    }
    let text =
        String::from_utf8_lossy(&run(&db, ANCHOR, &["review", "--pdu", "BAR"], dir.path()).stdout)
            .into_owned();
    assert!(text.starts_with("BAR Barnet: ✓ OK"), "{text}");
    let o = run(&db, ANCHOR, &["review", "--pdu", "NOPE"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("no PDU 'NOPE'"), "{}", err(&o));
}

fn one_pdus_review_is_that_pdus_part_of_the_regions_review(kind: Kind) {
    // `review --pdu` reads one PDU's cases and practitioners, the region's only for its
    // figures: every PDU's review must still be what the whole region's review says of it.
    let dir = tempfile::tempdir().unwrap();
    let b = demo(kind, dir.path());
    let db = b.db.clone();
    // On the server each command would read a working copy afresh: one kept copy serves
    // them all, each catching up (nothing changed) instead.
    let copy = dir.path().join("working-copy.db");
    let keep: Vec<&str> = match kind {
        Kind::File => vec![],
        Kind::Server => vec!["--working-copy", copy.to_str().unwrap()],
    };
    let review = |more: &[&str]| {
        let mut args = keep.clone();
        args.extend_from_slice(&["review", "--format", "json", "--limit", "40"]);
        args.extend_from_slice(more);
        json(&run(&db, ANCHOR, &args, dir.path()))
    };
    let all = review(&[]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 18, "every London PDU");
    for whole in all {
        let pdu = whole["pdu"].as_str().unwrap();
        let one = review(&["--pdu", pdu]);
        assert_eq!(&one, whole, "{pdu}");
    }
}
