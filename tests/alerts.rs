//! The nightly review through the real binary: rules, recording, statuses, exit codes, acks,
//! on a SQLite file and on PostgreSQL.

use std::path::Path;
use std::process::Output;

#[path = "common/backend.rs"]
mod backend;
mod common;
#[path = "common/pg.rs"]
mod pg;

use backend::{Backend, Kind};
use common::casewatch;

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)))
}

fn demo(kind: Kind, dir: &Path) -> Backend {
    let b = Backend::demo(kind, dir, "20000", "2026-11-23");
    // These tests are about runs from scratch: without the demo's recorded history.
    b.exec("DELETE FROM alert_runs", &[]);
    b
}

fn alerts(db: &str, as_of: &str, extra: &[&str], home: &Path) -> Output {
    let mut args = vec!["--db", db, "--as-of", as_of, "alerts", "--format", "json"];
    args.extend_from_slice(extra);
    casewatch(&args, home)
}

on_both!(
    the_organisational_alert_fires_for_hfkcw_and_not_for_pdus_rated_better,
    recording_twice_a_day_duplicates_nothing_and_allocation_resolves_mappa_alerts,
    acknowledged_alerts_stay_marked_until_they_get_worse,
    a_broken_rules_file_is_refused_with_its_line_and_nothing_runs,
    no_new_critical_alert_exits_zero_and_markdown_puts_organisational_alerts_first,
    three_recorded_nights_carry_first_seen_and_resolve_once,
    a_night_recorded_with_its_messages_is_read_as_before,
);

fn the_organisational_alert_fires_for_hfkcw_and_not_for_pdus_rated_better(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = demo(kind, dir.path());
    let db = b.db.clone();
    let o = alerts(&db, "2026-11-23", &[], dir.path());
    assert_eq!(o.status.code(), Some(3), "new critical alerts exit 3");
    let doc = json(&o);
    assert_eq!(doc["as_of"], "2026-11-23");
    assert!(doc["run_id"].is_null());
    let org: Vec<&str> = doc["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["rule"] == "organisational-alert")
        .map(|a| a["pdu"].as_str().unwrap())
        .collect();
    assert_eq!(org, ["HFKCW"]);
    let a = doc["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["rule"] == "unallocated-mappa")
        .unwrap();
    for field in [
        "rule",
        "severity",
        "scope",
        "pdu",
        "crn",
        "staff_code",
        "status",
        "first_seen",
        "message",
        "metrics",
    ] {
        assert!(a.get(field).is_some(), "missing {field}");
    }
    assert_eq!(a["severity"], "critical");
    assert_eq!(a["status"], "new");
    assert!(a["staff_code"].is_null());
}

fn recording_twice_a_day_duplicates_nothing_and_allocation_resolves_mappa_alerts(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = demo(kind, dir.path());
    let db = b.db.clone();
    let first = json(&alerts(&db, "2026-11-23", &["--record"], dir.path()));
    let again = alerts(&db, "2026-11-23", &["--record"], dir.path());
    assert_eq!(again.status.code(), Some(3));
    let again = json(&again);
    assert_eq!(first["alerts"], again["alerts"]);
    assert_eq!(b.int("SELECT count(*) FROM alert_runs", &[]), 1);
    assert_eq!(
        b.recorded_alerts() as usize,
        again["alerts"].as_array().unwrap().len()
    );

    // Allocate every unallocated MAPPA case in HFKCW, as a PDU would, directly in the
    // database.
    let po = b.text(
        "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'PO'
          ORDER BY staff_code LIMIT 1",
        &[],
    );
    let n = b.exec(
        "UPDATE cases SET allocated_to = ?1, allocated_on = '2026-11-24', unallocated_since = NULL
          WHERE pdu = 'HFKCW' AND allocated_to IS NULL AND mappa_category > 0",
        &[&po],
    );
    assert_eq!(n, 58);
    let next = json(&alerts(&db, "2026-11-24", &["--record"], dir.path()));
    assert_eq!(next["previous"], "2026-11-23");
    let mappa: Vec<&serde_json::Value> = next["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["rule"] == "unallocated-mappa" && a["pdu"] == "HFKCW")
        .collect();
    assert_eq!(mappa.len(), 58);
    assert!(mappa.iter().all(|a| a["status"] == "resolved"));
    // Each as last night stored it: its words and its figures.
    assert!(mappa.iter().all(|a| {
        a["message"].as_str().is_some_and(|m| m.contains("MAPPA"))
            && a["metrics"].as_object().is_some_and(|m| !m.is_empty())
            && a["first_seen"] == "2026-11-23"
    }));
    let ongoing = next["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["status"] == "ongoing")
        .unwrap();
    assert_eq!(ongoing["first_seen"], "2026-11-23");
}

fn acknowledged_alerts_stay_marked_until_they_get_worse(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = demo(kind, dir.path());
    let db = b.db.clone();
    alerts(&db, "2026-11-23", &["--record"], dir.path());
    let key = "organisational-alert:HFKCW:-";
    let o = casewatch(
        &["--db", &db, "ack", key, "--note", "head of PDU briefed"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let find = |doc: &serde_json::Value| {
        doc["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == key)
            .cloned()
            .unwrap()
    };
    let a = find(&json(&alerts(&db, "2026-11-23", &[], dir.path())));
    assert_eq!(a["acknowledged"], true);
    // One more unallocated MAPPA case: worse, so the alert reopens.
    b.exec(
        "UPDATE cases SET allocated_to = NULL, allocated_on = NULL, unallocated_since = '2026-11-20'
          WHERE crn = (SELECT crn FROM cases WHERE pdu = 'HFKCW' AND mappa_category > 0
                         AND allocated_to IS NOT NULL ORDER BY crn LIMIT 1)",
        &[],
    );
    let a = find(&json(&alerts(&db, "2026-11-23", &[], dir.path())));
    assert_eq!(a["acknowledged"], false);
    assert_eq!(a["reopened"], true);
    let o = casewatch(
        &["--db", &db, "ack", "no-such-key", "--note", "x"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let o = casewatch(&["--db", &db, "audit", "--format", "json"], dir.path());
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"acknowledge\""));
}

fn a_broken_rules_file_is_refused_with_its_line_and_nothing_runs(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = demo(kind, dir.path());
    let db = b.db.clone();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nid = \"mine\"\nseverity = \"high\"\nscope = \"pdu\"\nmessage = \"m\"\nall = [\n  { metric = \"vacancies\", op = \">\", value = 3 },\n]\n",
    )
    .unwrap();
    let o = casewatch(
        &[
            "--db",
            &db,
            "--rules",
            rules.to_str().unwrap(),
            "alerts",
            "--record",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("rules.toml:7:"), "{e}");
    assert!(e.contains("unknown metric 'vacancies'"), "{e}");
    assert_eq!(b.int("SELECT count(*) FROM alert_runs", &[]), 0);
}

fn no_new_critical_alert_exits_zero_and_markdown_puts_organisational_alerts_first(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path().join("empty");
    std::fs::create_dir(&at).unwrap();
    let empty = Backend::empty(kind, &at);
    if kind == Kind::File {
        let o = casewatch(&["--db", &empty.db, "init"], dir.path());
        assert!(o.status.success());
    }
    let o = alerts(&empty.db, "2026-11-23", &["--record"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(json(&o)["alerts"].as_array().unwrap().len(), 0);

    let b = demo(kind, dir.path());
    let db = b.db.clone();
    let out = dir.path().join("review.md");
    let o = casewatch(
        &[
            "--db",
            &db,
            "--as-of",
            "2026-11-23",
            "alerts",
            "--format",
            "markdown",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let md = std::fs::read_to_string(&out).unwrap();
    let org = md.find("## Organisational alerts and escalations").unwrap();
    let by = md.find("## By PDU").unwrap();
    assert!(org < by);
    assert!(md[org..by].contains("HFKCW"));
    // HFKCW is the worst PDU, so it comes first.
    assert!(
        md[by..].starts_with("## By PDU, worst first\n\n### HFKCW"),
        "{}",
        &md[by..by + 80]
    );
}

/// Reviews across three recorded nights: an alert raised every night stays `ongoing` with
/// the date it was first seen; one raised on the second night is `new` then and `ongoing`
/// from its own first date; one that stops is `resolved` once and then gone; and one that
/// comes back after resolving is `new` again, with its new date, not its old one.
fn three_recorded_nights_carry_first_seen_and_resolve_once(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = demo(kind, dir.path());
    let db = b.db.clone();
    let crns = |sql: &str| b.texts(sql, &[]);
    let unallocated = crns(
        "SELECT crn FROM cases WHERE pdu = 'HFKCW' AND allocated_to IS NULL
           AND mappa_category > 0 ORDER BY crn LIMIT 2",
    );
    let (stays, comes_back) = (&unallocated[0], &unallocated[1]);
    let later = &crns(
        "SELECT crn FROM cases WHERE pdu = 'HFKCW' AND allocated_to IS NOT NULL
           AND mappa_category > 0 ORDER BY crn LIMIT 1",
    )[0];
    let po = b.text(
        "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'PO'
          AND status = 'in_post' ORDER BY staff_code LIMIT 1",
        &[],
    );
    let allocate = |crn: &str| {
        b.exec(
            "UPDATE cases SET allocated_to = ?2, allocated_on = '2026-11-23', unallocated_since = NULL
              WHERE crn = ?1",
            &[crn, po.as_str()],
        );
    };
    let unallocate = |crn: &str| {
        b.exec(
            "UPDATE cases SET allocated_to = NULL, allocated_on = NULL, unallocated_since = '2026-11-01'
              WHERE crn = ?1",
            &[crn],
        );
    };
    let night = |as_of: &str| -> serde_json::Value {
        let o = alerts(&db, as_of, &["--record"], dir.path());
        assert!(matches!(o.status.code(), Some(0 | 3)), "{as_of}");
        json(&o)
    };
    // The unallocated-MAPPA alert of `crn`, if the review lists it: (status, first_seen).
    let mappa = |doc: &serde_json::Value, crn: &str| -> Vec<(String, String)> {
        doc["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["rule"] == "unallocated-mappa" && a["crn"] == crn)
            .map(|a| {
                (
                    a["status"].as_str().unwrap().to_string(),
                    a["first_seen"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let pair = |s: &str, d: &str| vec![(s.to_string(), d.to_string())];

    let first = night("2026-11-23");
    assert!(first["previous"].is_null());
    assert_eq!(mappa(&first, stays), pair("new", "2026-11-23"));
    assert_eq!(mappa(&first, comes_back), pair("new", "2026-11-23"));
    assert!(mappa(&first, later).is_empty());

    allocate(comes_back);
    unallocate(later);
    let second = night("2026-11-24");
    assert_eq!(second["previous"], "2026-11-23");
    assert_eq!(mappa(&second, stays), pair("ongoing", "2026-11-23"));
    assert_eq!(mappa(&second, comes_back), pair("resolved", "2026-11-23"));
    assert_eq!(mappa(&second, later), pair("new", "2026-11-24"));
    // A run stores its members without their messages: the resolved alert, read back from
    // the first night, says what it said that night.
    let said = |doc: &serde_json::Value, crn: &str| -> String {
        doc["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["rule"] == "unallocated-mappa" && a["crn"] == crn)
            .map(|a| a["message"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert!(said(&first, comes_back).contains("unallocated"));
    assert_eq!(said(&second, comes_back), said(&first, comes_back));

    unallocate(comes_back);
    let third = night("2026-11-25");
    assert_eq!(third["previous"], "2026-11-24");
    assert_eq!(mappa(&third, stays), pair("ongoing", "2026-11-23"));
    assert_eq!(mappa(&third, later), pair("ongoing", "2026-11-24"));
    assert_eq!(
        mappa(&third, comes_back),
        pair("new", "2026-11-25"),
        "an alert that came back after resolving is new again, listed once"
    );
    // Nothing resolved on the second night is resolved again on the third.
    let resolved_again = third["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "resolved")
        .filter(|a| {
            second["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["status"] == "resolved" && b["key"] == a["key"])
        })
        .count();
    assert_eq!(resolved_again, 0);
    assert_eq!(b.int("SELECT count(*) FROM alert_runs", &[]), 3);
}

/// Runs recorded before members were stored without their messages keep them: the next
/// night reads such a run (first seen, resolved alerts with the message stored, an
/// acknowledgement of one of its alerts) as it reads its own.
fn a_night_recorded_with_its_messages_is_read_as_before(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let b = demo(kind, dir.path());
    let db = b.db.clone();
    let crns = b.texts(
        "SELECT crn FROM cases WHERE pdu = 'HFKCW' AND allocated_to IS NULL
           AND mappa_category > 0 ORDER BY crn LIMIT 2",
        &[],
    );
    let (stays, resolves) = (&crns[0], &crns[1]);
    let o = alerts(&db, "2026-11-23", &["--record"], dir.path());
    assert!(matches!(o.status.code(), Some(0 | 3)));
    // The night as an earlier casewatch stored it: [who, first_seen, status, message, metrics].
    let older = match kind {
        Kind::File => {
            "UPDATE run_incidents SET members = (
                 SELECT json_group_array(json_array(json_extract(m.value, '$[0]'),
                            json_extract(m.value, '$[1]'), json_extract(m.value, '$[2]'),
                            'as recorded for ' || json_extract(m.value, '$[0]'),
                            json(json_extract(m.value, '$[3]'))))
                   FROM json_each(members) m)"
        }
        Kind::Server => {
            "UPDATE run_incidents SET members = (
                 SELECT coalesce(json_agg(json_build_array(m->0, m->1, m->2,
                            'as recorded for ' || (m->>0), m->3)), '[]')::text
                   FROM json_array_elements(members::json) m)"
        }
    };
    assert!(b.exec(older, &[]) > 0);
    if kind == Kind::File {
        assert_eq!(
            b.text(
                "SELECT message FROM run_alerts WHERE crn = ?1 AND rule = 'unallocated-mappa'",
                &[resolves.as_str()]
            ),
            format!("as recorded for {resolves}")
        );
    }
    let key = format!("unallocated-mappa:HFKCW:{stays}");
    let o = casewatch(
        &[
            "--db",
            &db,
            "--as-of",
            "2026-11-23",
            "ack",
            &key,
            "--note",
            "seen",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let po = b.text(
        "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'PO'
          AND status = 'in_post' ORDER BY staff_code LIMIT 1",
        &[],
    );
    b.exec(
        "UPDATE cases SET allocated_to = ?2, allocated_on = '2026-11-23', unallocated_since = NULL
          WHERE crn = ?1",
        &[resolves.as_str(), po.as_str()],
    );
    let o = alerts(&db, "2026-11-24", &["--record"], dir.path());
    let doc = json(&o);
    let mappa = |crn: &str| {
        doc["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["rule"] == "unallocated-mappa" && a["crn"] == crn)
            .unwrap_or_else(|| panic!("no alert for {crn}"))
            .clone()
    };
    let (gone, kept) = (mappa(resolves), mappa(stays));
    assert_eq!(gone["status"], "resolved");
    assert_eq!(gone["message"], format!("as recorded for {resolves}"));
    assert_eq!(gone["first_seen"], "2026-11-23");
    assert_eq!(
        (&kept["status"], &kept["first_seen"]),
        (&"ongoing".into(), &"2026-11-23".into())
    );
    assert_eq!(kept["acknowledged"], true);
    assert!(!kept["message"].as_str().unwrap().starts_with("as recorded"));
    if kind == Kind::File {
        // The night just recorded has no message stored; the view's metrics are still there.
        assert_eq!(
            b.text(
                "SELECT coalesce(message, 'none') || ' ' || json_type(metrics) FROM run_alerts
                  WHERE run_id = (SELECT max(id) FROM alert_runs) AND crn = ?1
                    AND rule = 'unallocated-mappa'",
                &[stays.as_str()]
            ),
            "none object"
        );
    }
}
