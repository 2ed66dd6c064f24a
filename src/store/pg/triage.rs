//! The triage writes on PostgreSQL: the statements of `store::triage::Triage` in
//! PostgreSQL's SQL, run inside one transaction of the login's own (so row-level security
//! decides which cases it can see and write).

use chrono::NaiveDate;
use postgres::Transaction;

use super::PgStore;
use crate::domain::{Mappa, fmt_date};
use crate::incidents::Silence;
use crate::policy::Policy;
use crate::store::read::{PractitionerPost, PractitionerRow, PractitionerSort};
use crate::store::runs::{NewAck, OpenIncident, RunHead};
use crate::store::triage::{
    Added, AuditCore, AuditEntry, AuditRow, CaseFacts, Fault, LastChange, NewOversight, Triage,
    TriageStore,
};

/// One write transaction on PostgreSQL.
pub struct PgTx<'a> {
    pub(super) tx: Transaction<'a>,
}

impl<'a> PgTx<'a> {
    pub(super) fn new(tx: Transaction<'a>) -> PgTx<'a> {
        PgTx { tx }
    }
}

impl TriageStore for PgStore {
    fn in_write<T, E: From<Fault>>(
        &mut self,
        f: impl FnOnce(&mut dyn Triage) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self.client.transaction().map_err(Fault::from)?;
        let mut t = PgTx { tx };
        let out = f(&mut t)?;
        t.tx.commit().map_err(Fault::from)?;
        Ok(out)
    }
}

impl PgStore {
    /// Runs `f` in a read-only transaction (one snapshot; nothing can be written).
    pub fn in_read<T>(
        &mut self,
        f: impl FnOnce(&mut dyn Triage) -> Result<T, Fault>,
    ) -> Result<T, Fault> {
        let tx = self.client.build_transaction().read_only(true).start()?;
        let mut t = PgTx { tx };
        let out = f(&mut t)?;
        t.tx.commit()?;
        Ok(out)
    }
}

fn date(s: Option<String>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
}

impl Triage for PgTx<'_> {
    fn case_facts(&mut self, crn: &str) -> Result<Option<CaseFacts>, Fault> {
        let row = self.tx.query_opt(
            "SELECT crn, pdu, team, tier, rosh, mappa_category, mappa_level, allocated_to,
                    allocated_on::text, unallocated_since::text
               FROM cases WHERE crn = $1 FOR UPDATE",
            &[&crn],
        )?;
        Ok(row.map(|r| CaseFacts {
            crn: r.get(0),
            pdu: r.get(1),
            team: r.get(2),
            tier: r.get::<_, String>(3).parse().ok(),
            rosh: r.get::<_, Option<String>>(4).and_then(|s| s.parse().ok()),
            mappa: match (
                u8::try_from(r.get::<_, i32>(5)),
                u8::try_from(r.get::<_, i32>(6)),
            ) {
                (Ok(c), Ok(l)) => Mappa::new(c, l).unwrap_or(Mappa::NONE),
                _ => Mappa::NONE,
            },
            allocated_to: r.get(7),
            allocated_on: date(r.get(8)),
            unallocated_since: date(r.get(9)),
        }))
    }

    fn last_allocation_change(&mut self, crn: &str) -> Result<Option<LastChange>, Fault> {
        let row = self.tx.query_opt(
            "SELECT actor, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    action, reason, db_user
               FROM audit WHERE crn = $1 AND action IN ('allocate', 'reallocate', 'undo')
              ORDER BY id DESC LIMIT 1",
            &[&crn],
        )?;
        Ok(row.map(|r| LastChange {
            actor: r.get(0),
            at: r.get(1),
            action: r.get(2),
            reason: r.get(3),
            login: r.get(4),
        }))
    }

    fn staff_code_as_stored(&mut self, code: &str) -> Result<Option<String>, Fault> {
        let row = self.tx.query_opt(
            "SELECT staff_code FROM practitioners WHERE lower(staff_code) = lower($1)
              ORDER BY staff_code = $1 DESC, staff_code LIMIT 1",
            &[&code],
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    fn practitioner_post(
        &mut self,
        staff_code: &str,
    ) -> Result<Option<(String, String, String)>, Fault> {
        let row = self.tx.query_opt(
            "SELECT pdu, status, grade FROM practitioners WHERE staff_code = $1",
            &[&staff_code],
        )?;
        Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
    }

    fn practitioners_of(
        &mut self,
        policy: &Policy,
        as_of: NaiveDate,
        pdu: &str,
    ) -> Result<Vec<PractitionerRow>, Fault> {
        // No tally here yet: one PDU's caseloads counted from its cases (a few thousand).
        let points: std::collections::HashMap<String, f64> =
            policy.all_tier_points().into_iter().collect();
        let mut loads: std::collections::HashMap<String, (u64, u64, f64)> = Default::default();
        for r in self.tx.query(
            "SELECT c.allocated_to, c.tier, count(*),
                    count(*) FILTER (WHERE c.rosh IN ('HIGH', 'VERY_HIGH') OR c.mappa_category > 0)
               FROM cases c JOIN practitioners p ON p.staff_code = c.allocated_to
              WHERE p.pdu = $1 GROUP BY 1, 2",
            &[&pdu],
        )? {
            let (staff, tier): (String, String) = (r.get(0), r.get(1));
            let (n, high) = (
                r.get::<_, i64>(2).max(0) as u64,
                r.get::<_, i64>(3).max(0) as u64,
            );
            let load = loads.entry(staff).or_default();
            load.0 += n;
            load.1 += high;
            load.2 += points.get(&tier).copied().unwrap_or(0.0) * n as f64;
        }
        let mut out = Vec::new();
        for r in self.tx.query(
            "SELECT staff_code, name, grade, pdu, team, status, contracted_hours,
                    start_date::text
               FROM practitioners WHERE pdu = $1 AND status <> 'left'",
            &[&pdu],
        )? {
            let (Ok(grade), Ok(status), Some(start_date)) = (
                r.get::<_, String>(2).parse(),
                r.get::<_, String>(5).parse(),
                date(r.get(7)),
            ) else {
                continue;
            };
            let staff_code: String = r.get(0);
            let load = loads.get(&staff_code).copied().unwrap_or_default();
            out.push(PractitionerRow::with_load(
                policy,
                as_of,
                PractitionerPost {
                    staff_code,
                    name: r.get(1),
                    grade,
                    pdu: r.get(3),
                    team: r.get(4),
                    status,
                    contracted_hours: r.get(6),
                    start_date,
                },
                load,
            ));
        }
        crate::store::read::sort_practitioners(&mut out, PractitionerSort::Capacity);
        Ok(out)
    }

    fn close_allocation(
        &mut self,
        crn: &str,
        staff_code: &str,
        from: NaiveDate,
        to: NaiveDate,
        reason: &str,
    ) -> Result<i64, Fault> {
        let row = self.tx.query_one(
            "INSERT INTO allocations (crn, staff_code, from_date, to_date, reason)
             VALUES ($1, $2, $3::text::date, $4::text::date, $5) RETURNING id",
            &[&crn, &staff_code, &fmt_date(from), &fmt_date(to), &reason],
        )?;
        Ok(row.get(0))
    }

    fn set_holder(
        &mut self,
        crn: &str,
        allocated_to: Option<&str>,
        allocated_on: Option<&str>,
        unallocated_since: Option<&str>,
    ) -> Result<(), Fault> {
        self.tx.execute(
            "UPDATE cases SET allocated_to = $2, allocated_on = $3::text::date,
                              unallocated_since = $4::text::date
              WHERE crn = $1",
            &[&crn, &allocated_to, &allocated_on, &unallocated_since],
        )?;
        Ok(())
    }

    fn insert_note(
        &mut self,
        crn: &str,
        at: &str,
        author: &str,
        text: &str,
        sensitive: bool,
    ) -> Result<i64, Fault> {
        let row = self.tx.query_one(
            "INSERT INTO notes (crn, at, author, text, sensitive)
             VALUES ($1, $2::text::timestamptz, $3, $4, $5) RETURNING id",
            &[&crn, &at, &author, &text, &sensitive],
        )?;
        Ok(row.get(0))
    }

    fn insert_oversight(&mut self, o: &NewOversight<'_>) -> Result<i64, Fault> {
        let row = self.tx.query_one(
            "INSERT INTO oversight (crn, date, spo_staff_code, kind, note, sensitive)
             VALUES ($1, $2::text::date, $3, $4, $5, $6) RETURNING id",
            &[
                &o.crn,
                &fmt_date(o.date),
                &o.by,
                &o.kind,
                &o.note,
                &o.sensitive,
            ],
        )?;
        Ok(row.get(0))
    }

    fn append_audit(&mut self, at: &str, e: &AuditEntry<'_>) -> Result<i64, Fault> {
        let (before, after) = (
            e.before.map(serde_json::Value::to_string),
            e.after.map(serde_json::Value::to_string),
        );
        let row = self.tx.query_one(
            "INSERT INTO audit (at, actor, action, crn, subject, before, after, reason)
             VALUES ($1::text::timestamptz, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[
                &at, &e.actor, &e.action, &e.crn, &e.subject, &before, &after, &e.reason,
            ],
        )?;
        Ok(row.get(0))
    }

    fn audit_log(
        &mut self,
        crn: Option<&str>,
        since: Option<NaiveDate>,
    ) -> Result<Vec<AuditRow>, Fault> {
        let since = since.map(fmt_date);
        let rows = self.tx.query(
            "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    actor, action, crn, subject, before, after, reason, db_user
               FROM audit
              WHERE ($1::text IS NULL OR crn = $1)
                AND ($2::text IS NULL OR at >= $2::text::date::timestamp AT TIME ZONE 'UTC')
              ORDER BY id",
            &[&crn, &since],
        )?;
        let json = |s: Option<String>| {
            s.and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or(serde_json::Value::Null)
        };
        Ok(rows
            .iter()
            .map(|r| AuditRow {
                id: r.get(0),
                at: r.get(1),
                actor: r.get(2),
                action: r.get(3),
                crn: r.get(4),
                subject: r.get(5),
                before: json(r.get(6)),
                after: json(r.get(7)),
                reason: r.get(8),
                db_user: r.get(9),
            })
            .collect())
    }

    fn latest_run(&mut self) -> Result<Option<RunHead>, Fault> {
        let row = self.tx.query_opt(
            "SELECT id, as_of::text FROM alert_runs ORDER BY as_of DESC LIMIT 1",
            &[],
        )?;
        Ok(row.map(|r| RunHead {
            id: r.get(0),
            as_of: r.get(1),
        }))
    }

    fn open_incident(&mut self, run_id: i64, key: &str) -> Result<Option<OpenIncident>, Fault> {
        let row = self.tx.query_opt(
            "SELECT metrics, scope, members FROM run_incidents
              WHERE run_id = $1 AND key = $2 AND count > 0",
            &[&run_id, &key],
        )?;
        Ok(row.map(|r| OpenIncident {
            metrics: r.get(0),
            scope: r.get(1),
            members: r.get(2),
        }))
    }

    fn insert_ack(&mut self, a: &NewAck<'_>) -> Result<(), Fault> {
        self.tx.execute(
            "INSERT INTO alert_acks (key, at, actor, note, metrics, as_of)
             VALUES ($1, $2::text::timestamptz, $3, $4, $5, $6::text::date)",
            &[&a.key, &a.at, &a.actor, &a.note, &a.metrics, &a.as_of],
        )?;
        Ok(())
    }

    fn pdu_exists(&mut self, code: &str) -> Result<bool, Fault> {
        let row = self.tx.query_one(
            "SELECT EXISTS (SELECT 1 FROM pdus WHERE code = $1)",
            &[&code],
        )?;
        Ok(row.get(0))
    }

    fn case_exists(&mut self, crn: &str) -> Result<bool, Fault> {
        let row = self.tx.query_one(
            "SELECT EXISTS (SELECT 1 FROM cases WHERE crn = $1)",
            &[&crn],
        )?;
        Ok(row.get(0))
    }

    fn insert_silence(&mut self, s: &Silence) -> Result<i64, Fault> {
        let row = self.tx.query_one(
            "INSERT INTO silences (rule, pdu, crn, starts, until, reason, created_by, created_at)
             VALUES ($1, $2, $3, $4::text::date, $5::text::date, $6, $7, $8::text::timestamptz)
             RETURNING id",
            &[
                &s.rule,
                &s.pdu,
                &s.crn,
                &s.starts,
                &s.until,
                &s.reason,
                &s.created_by,
                &s.created_at,
            ],
        )?;
        Ok(row.get(0))
    }

    fn remove_silence(
        &mut self,
        id: i64,
        by: &str,
        at: &str,
    ) -> Result<Option<Option<String>>, Fault> {
        let row = self.tx.query_opt(
            "UPDATE silences SET removed_by = $2, removed_at = $3::text::timestamptz
              WHERE id = $1 AND removed_at IS NULL RETURNING crn",
            &[&id, &by, &at],
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    fn silences(&mut self) -> Result<Vec<Silence>, Fault> {
        let rows = self.tx.query(
            "SELECT id, rule, pdu, crn, starts::text, until::text, reason, created_by,
                    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
               FROM silences WHERE removed_at IS NULL ORDER BY until, id",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| Silence {
                id: r.get(0),
                rule: r.get(1),
                pdu: r.get(2),
                crn: r.get(3),
                starts: r.get(4),
                until: r.get(5),
                reason: r.get(6),
                created_by: r.get(7),
                created_at: r.get(8),
            })
            .collect())
    }
    fn audit_core(&mut self, id: i64) -> Result<Option<AuditCore>, Fault> {
        let row = self.tx.query_opt(
            "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), action, crn,
                    before, after
               FROM audit WHERE id = $1",
            &[&id],
        )?;
        Ok(row.map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))))
    }

    fn is_undone(&mut self, id: i64) -> Result<bool, Fault> {
        Ok(self
            .tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM audit WHERE action = 'undo' AND subject = $1)",
                &[&id.to_string()],
            )?
            .get(0))
    }

    fn allocated_again_after(&mut self, crn: &str, id: i64) -> Result<bool, Fault> {
        Ok(self
            .tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM audit a WHERE a.crn = $1 AND a.id > $2
                   AND a.action IN ('allocate', 'reallocate')
                   AND NOT EXISTS (SELECT 1 FROM audit u
                                    WHERE u.action = 'undo' AND u.subject = a.id::text))",
                &[&crn, &id],
            )?
            .get(0))
    }

    /// The row is locked until the transaction ends (as by `case_facts`): an allocation
    /// made meanwhile waits, so an undo never overwrites one it did not see.
    fn holder_as_stored(&mut self, crn: &str) -> Result<(Option<String>, Option<String>), Fault> {
        let row = self.tx.query_opt(
            "SELECT allocated_to, allocated_on::text FROM cases WHERE crn = $1 FOR UPDATE",
            &[&crn],
        )?;
        Ok(row.map_or((None, None), |r| (r.get(0), r.get(1))))
    }

    /// Logins may not delete records: the server's `casewatch_undo_added` removes the one
    /// row the login's own audit entry says its action added (schema 7).
    fn delete_added(&mut self, what: Added, id: i64, entry: i64) -> Result<(), Fault> {
        let table = match what {
            Added::AllocationHistory => "allocations",
            Added::Note => "notes",
            Added::Oversight => "oversight",
        };
        self.tx.execute(
            "SELECT casewatch_undo_added($1, $2, $3)",
            &[&table, &id, &entry],
        )?;
        Ok(())
    }
}
