//! The risk checks' memos (`schema::V_RISK_MEMO`, `crate::risk_memo`): what a run reads of
//! them, and how the nightly run writes them.

use chrono::{Datelike, NaiveDate};
use rusqlite::{Result, Row};

use crate::domain::{Mappa, Rosh};
use crate::risk_memo::Memo;
use crate::store::Db;
use crate::store::read::risk::RiskScope;

/// Names the policy the stored memos were judged under (`risk_memo::policy_key`).
const POLICY_KEY: &str = "risk_memo_policy";

/// One case's memo with the case fields the nightly rules read.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoCase {
    pub crn: String,
    pub pdu: String,
    pub allocated: bool,
    pub unallocated_since: Option<NaiveDate>,
    pub mappa: Mappa,
    pub rosh: Option<Rosh>,
    pub memo: Memo,
}

/// What the memos of a scope say on one day (besides the overdue cases, handed to the
/// caller one at a time).
#[derive(Debug, Default)]
pub struct MemoRead {
    /// Per PDU, each distinct tally part of the memos that hold, with how many cases have it.
    pub tallies: Vec<(String, u32, u64)>,
    /// The cases to judge afresh: their memo has run out, or they have none.
    pub judge: Vec<String>,
}

fn day(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce())
}

fn from_day(n: i64) -> Option<NaiveDate> {
    i32::try_from(n)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// The scope as a condition on `case_risk` (alias `r`) or on `tally_pdu` (alias `t`).
fn scope_sql(scope: RiskScope<'_>, col: &str) -> String {
    match scope {
        RiskScope::All => "1".into(),
        RiskScope::Region(_) => {
            format!("{col} IN (SELECT code FROM pdus WHERE region = :scope)")
        }
        RiskScope::Pdu(_) => format!("{col} = :scope"),
    }
}

fn bind_scope(stmt: &mut rusqlite::Statement<'_>, scope: RiskScope<'_>) -> Result<()> {
    if let RiskScope::Region(s) | RiskScope::Pdu(s) = scope {
        super::read::bind_named(stmt, ":scope", &s)?;
    }
    Ok(())
}

/// The memos of a scope on one day, read in one snapshot (held from [`open`] until this is
/// dropped): [`open`] gives the tallies and the cases to judge afresh, [`Reading::overdue`]
/// then the memos with a measure overdue.
pub struct Reading<'c> {
    db: Db<'c>,
    scope: RiskScope<'c>,
    day: i64,
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        // Only reads happened: releasing cannot lose anything, and cannot fail short of
        // the connection failing, which the next statement reports.
        let _ = self.db.conn().execute_batch("RELEASE memo_read");
    }
}

/// Starts reading the memos of `scope` on `on`. `None` when they cannot serve: judged under
/// another policy, made for a later day, or more than `max_share` of the scope's cases would
/// need judging afresh (then one pass over every case is cheaper).
pub fn open<'c>(
    db: Db<'c>,
    policy_key: &str,
    scope: RiskScope<'c>,
    on: NaiveDate,
    max_share: f64,
) -> Result<Option<(Reading<'c>, MemoRead)>> {
    db.conn().execute_batch("SAVEPOINT memo_read")?;
    let reading = Reading {
        db,
        scope,
        day: day(on),
    };
    Ok(reading
        .plan(policy_key, max_share)?
        .map(|read| (reading, read)))
}

impl Reading<'_> {
    /// Runs `sql` on `case_risk r`, its `{scope}` the reading's scope and `:d` its day,
    /// handing each row to `f` until `f` says stop (`false`).
    fn each_row(&self, sql: &str, mut f: impl FnMut(&Row<'_>) -> Result<bool>) -> Result<()> {
        let sql = sql.replace("{scope}", &scope_sql(self.scope, "r.pdu"));
        let mut stmt = self.db.conn().prepare_cached(&sql)?;
        super::read::bind_named(&mut stmt, ":d", &self.day)?;
        bind_scope(&mut stmt, self.scope)?;
        let mut rows = stmt.raw_query();
        while let Some(r) = rows.next()? {
            if !f(r)? {
                break;
            }
        }
        Ok(())
    }

    fn plan(&self, policy_key: &str, max_share: f64) -> Result<Option<MemoRead>> {
        let (db, scope) = (self.db, self.scope);
        let conn = db.conn();
        if !policy_is(db, policy_key)? {
            return Ok(None);
        }
        let mut out = MemoRead::default();
        let mut memos_of: std::collections::HashMap<String, u64> = Default::default();
        let mut later = 0u64;
        self.each_row(
            "SELECT pdu, tally, sum(from_day <= :d AND until_day > :d), sum(from_day > :d),
                    count(*)
               FROM case_risk r WHERE {scope} GROUP BY pdu, tally",
            |r| {
                let pdu: String = r.get(0)?;
                let (tally, holding, ahead, all): (i64, i64, i64, i64) =
                    (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
                later += ahead as u64;
                *memos_of.entry(pdu.clone()).or_default() += all as u64;
                if holding > 0 {
                    out.tallies.push((pdu, tally as u32, holding as u64));
                }
                Ok(true)
            },
        )?;
        if later > 0 {
            return Ok(None);
        }
        // Cases without a memo: a PDU with fewer memos than cases has some.
        let mut cases_in_scope = 0u64;
        let mut short: Vec<String> = Vec::new();
        {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT pdu, cases FROM tally_pdu t WHERE {}",
                scope_sql(scope, "t.pdu")
            ))?;
            bind_scope(&mut stmt, scope)?;
            let mut rows = stmt.raw_query();
            while let Some(r) = rows.next()? {
                let pdu: String = r.get(0)?;
                let cases = r.get::<_, i64>(1)? as u64;
                cases_in_scope += cases;
                let memos = memos_of.get(&pdu).copied().unwrap_or(0);
                if memos > cases {
                    // Not what the triggers allow: do not trust them.
                    return Ok(None);
                }
                if memos < cases {
                    short.push(pdu);
                }
            }
        }
        let most = (cases_in_scope as f64 * max_share) as usize;
        self.each_row(
            "SELECT crn FROM case_risk r WHERE until_day <= :d AND {scope}",
            |r| {
                out.judge.push(r.get(0)?);
                Ok(out.judge.len() <= most)
            },
        )?;
        if out.judge.len() > most {
            return Ok(None);
        }
        let mut stmt = conn.prepare_cached(
            "SELECT c.crn FROM cases c WHERE c.pdu = ?1
                AND NOT EXISTS (SELECT 1 FROM case_risk r WHERE r.crn = c.crn)",
        )?;
        for pdu in &short {
            let mut rows = stmt.query([pdu])?;
            while let Some(r) = rows.next()? {
                out.judge.push(r.get(0)?);
                if out.judge.len() > most {
                    return Ok(None);
                }
            }
        }
        Ok(Some(out))
    }

    /// Hands each memo that holds with a measure overdue to `f`, by CRN: one buffer refilled
    /// for each (half the cases of a national run are overdue on something, and few of them
    /// are kept).
    pub fn overdue(&self, mut f: impl FnMut(&MemoCase)) -> Result<()> {
        // The table is walked in key order: an index on the days would cost a lookup per
        // case for nearly every case (the `+` keeps SQLite from choosing one).
        let mut m = MemoCase::empty();
        self.each_row(
            &format!(
                "SELECT {MEMO_COLUMNS} FROM case_risk r
                  WHERE +from_day <= :d AND +until_day > :d AND {{scope}} AND ({ANY_OVERDUE})"
            ),
            |r| {
                if fill_memo_case(r, &mut m)? {
                    f(&m);
                }
                Ok(true)
            },
        )
    }
}

const ANY_OVERDUE: &str = "enquiry_since IS NOT NULL OR assessment_since IS NOT NULL
    OR handover_since IS NOT NULL OR contact_since IS NOT NULL OR prerelease_since IS NOT NULL";

const MEMO_COLUMNS: &str = "crn, pdu, from_day, until_day, tally, allocated, unallocated_since,
    mappa_category, mappa_level, rosh, enquiry_since, assessment_since, handover_since,
    contact_since, prerelease_since";

impl MemoCase {
    /// A buffer for [`fill_memo_case`].
    fn empty() -> MemoCase {
        MemoCase {
            crn: String::new(),
            pdu: String::new(),
            allocated: false,
            unallocated_since: None,
            mappa: Mappa::NONE,
            rosh: None,
            memo: Memo {
                from: NaiveDate::MIN,
                until: NaiveDate::MIN,
                tally: 0,
                since: [None; 5],
            },
        }
    }
}

/// Fills `out` from a row of [`MEMO_COLUMNS`], reusing its strings; `false` for a row whose
/// days cannot be read (the schema keeps them integers, so none is expected).
fn fill_memo_case(r: &Row<'_>, out: &mut MemoCase) -> Result<bool> {
    let (Some(from), Some(until)) = (from_day(r.get(2)?), from_day(r.get(3)?)) else {
        return Ok(false);
    };
    for (i, s) in out.memo.since.iter_mut().enumerate() {
        *s = r.get::<_, Option<i64>>(10 + i)?.and_then(from_day);
    }
    out.crn.clear();
    out.crn
        .push_str(super::read::risk::text(r, 0)?.unwrap_or_default());
    out.pdu.clear();
    out.pdu
        .push_str(super::read::risk::text(r, 1)?.unwrap_or_default());
    out.allocated = r.get(5)?;
    out.unallocated_since = super::read::risk::date(r, 6)?;
    out.mappa = Mappa::new(r.get(7)?, r.get(8)?).unwrap_or(Mappa::NONE);
    out.rosh = super::read::risk::text(r, 9)?.and_then(|s| s.parse().ok());
    out.memo.from = from;
    out.memo.until = until;
    out.memo.tally = r.get::<_, i64>(4)? as u32;
    Ok(true)
}

/// Whether the stored memos were judged under `policy_key`.
pub fn policy_is(db: Db<'_>, policy_key: &str) -> Result<bool> {
    Ok(super::meta(db, POLICY_KEY)?.as_deref() == Some(policy_key))
}

/// Empties the memos and names the policy the next ones are judged under (inside the
/// caller's write transaction).
pub fn start_over(db: Db<'_>, policy_key: &str) -> Result<()> {
    db.conn().execute("DELETE FROM case_risk", [])?;
    super::set_meta(db, POLICY_KEY, policy_key)
}

/// Writes (or replaces) memos, inside the caller's write transaction.
pub fn write<'m>(db: Db<'_>, memos: impl IntoIterator<Item = &'m MemoCase>) -> Result<usize> {
    let mut stmt = db.conn().prepare_cached(&format!(
        "INSERT OR REPLACE INTO case_risk ({MEMO_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
    ))?;
    let mut n = 0;
    for m in memos {
        let since = m.memo.since.map(|s| s.map(day));
        stmt.execute(rusqlite::params![
            m.crn,
            m.pdu,
            day(m.memo.from),
            day(m.memo.until),
            i64::from(m.memo.tally),
            m.allocated,
            m.unallocated_since.map(crate::domain::fmt_date),
            m.mappa.category,
            m.mappa.level,
            m.rosh.map(|r| r.as_str()),
            since[0],
            since[1],
            since[2],
            since[3],
            since[4],
        ])?;
        n += 1;
    }
    Ok(n)
}

/// How many memos are stored.
pub fn count(db: Db<'_>) -> Result<i64> {
    db.conn()
        .query_row("SELECT count(*) FROM case_risk", [], |r| r.get(0))
}
