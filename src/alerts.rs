//! The nightly alert review: gathers metrics from the read models, evaluates the rules,
//! compares with the last recorded run (new, ongoing, resolved), records runs, and handles
//! acknowledgements. Evaluation itself is in `rules` and is pure.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use crate::actions::ActionError;
use crate::context::Evaluation;
use crate::domain::{Grade, Rosh, fmt_date};
use crate::forecast::Forecasts;
use crate::incidents::{self, Ack, Incident, PduStatus, PrevIncident, Silence};
use crate::policy::Policy;
use crate::risk_checks::{CaseRiskMetrics, RiskFigures, RiskTally};
use crate::rules::{
    Alert, Message, Metrics, Rendered, Rules, Scope, Severity, Subject, SubjectMetrics, evaluate,
};
use crate::store::memo::MemoCase;
use crate::store::read::risk::{RiskRow, RiskScope};
use crate::store::read::{self, PduSummary};
use crate::store::runs;
use crate::store::{Db, Store};

mod member;

/// Everything a run needs: the PDU summaries (also the trend snapshot) and the subjects.
pub struct Gathered {
    pub pdus: Vec<PduSummary>,
    pub subjects: Vec<Subject>,
}

fn rosh_level(r: Option<Rosh>) -> f64 {
    match r {
        None => 0.0,
        Some(Rosh::Low) => 1.0,
        Some(Rosh::Medium) => 2.0,
        Some(Rosh::High) => 3.0,
        Some(Rosh::VeryHigh) => 4.0,
    }
}

fn b(v: bool) -> f64 {
    if v { 1.0 } else { 0.0 }
}

/// Reads the metrics of every PDU, practitioner and candidate case (of one region, or all).
pub fn gather(
    conn: Db<'_>,
    policy: &Policy,
    rules: &Rules,
    as_of: NaiveDate,
    region: Option<&str>,
) -> rusqlite::Result<Gathered> {
    let UnitsAndCases {
        pdus,
        practitioners,
        cases,
        ..
    } = units_and_cases(conn, policy, rules, as_of, region)?;
    Ok(subjects_of(pdus, practitioners, cases, as_of, None))
}

/// The PDU figures, practitioners and candidate cases of a region (or all), the risk checks
/// joined in, and which memos a recorded run should write. The risk checks come from the
/// cases' memos where they hold (read alongside the PDU figures, on a second connection
/// when there is one); without usable memos every case is judged, on both cores.
fn units_and_cases(
    conn: Db<'_>,
    policy: &Policy,
    rules: &Rules,
    as_of: NaiveDate,
    region: Option<&str>,
) -> rusqlite::Result<UnitsAndCases> {
    let scope = region.map_or(RiskScope::All, RiskScope::Region);
    let judging = Judging {
        policy,
        as_of,
        scope,
        keep: None,
    };
    // The memos are read on a second connection while this one reads the candidate cases
    // and the PDU figures; the memos' overdue cases wait for the candidates (a case is kept
    // when it is one).
    let cases_read: OnceLock<Vec<read::CaseAlertRow>> = OnceLock::new();
    let candidates: OnceLock<Candidates<'_>> = OnceLock::new();
    let (ready, ready_here) = std::sync::mpsc::channel::<()>();
    // Read before either connection starts reading: the memos judged now may be written as
    // they are if nothing else writes before the run records them (see `Refresh::Judged`).
    let data_version = conn.data_version().ok();
    let (units, memo) = std::thread::scope(|s| {
        let theirs = conn.second_reader().map(|r| {
            let candidates = &candidates;
            s.spawn(move || {
                judging.by_memo_keeping(r.db(), || {
                    ready_here.recv().ok()?;
                    candidates.get().map(|c| {
                        Some(Keep {
                            candidates: c,
                            rules,
                        })
                    })
                })
            })
        });
        let units = read::case_alert_rows(conn, policy, as_of, region).and_then(|rows| {
            let rows = cases_read.get_or_init(|| rows);
            let _ = candidates.set(rows.iter().map(|c| c.crn.as_str()).collect());
            // The second connection may have given up already: it then is not waiting.
            let _ = ready.send(());
            read::pdu_summaries_and_practitioners(conn, policy, as_of, region)
        });
        drop(ready);
        let memo = match theirs.map(|h| h.join()) {
            Some(Ok(Ok(Some(found)))) => Ok(Some(found)),
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            // No second connection, or it could not read (behind the demo build's
            // exclusive lock, say), or the memos could not serve: this one tries.
            _ => match candidates.get() {
                Some(c) => Judging {
                    keep: Some(Keep {
                        candidates: c,
                        rules,
                    }),
                    ..judging
                }
                .by_memo(conn),
                None => Ok(None),
            },
        };
        (units, memo)
    });
    let (mut pdus, practitioners) = units?;
    let found = match (memo?, candidates.get()) {
        (Some(found), _) => found,
        (None, Some(c)) => Judging {
            keep: Some(Keep {
                candidates: c,
                rules,
            }),
            ..judging
        }
        .every_case(conn)?,
        (None, None) => unreachable!("the candidates are read before the PDU figures"),
    };
    let mut found = found;
    if let (Refresh::Named(crns), Some(data_version)) = (&found.refresh, data_version)
        && found.judged.len() == crns.len()
    {
        found.refresh = Refresh::Judged {
            memos: std::mem::take(&mut found.judged),
            data_version,
        };
    }
    // Placed by the candidates already made, rather than a second index of the cases.
    let placed = match candidates.get() {
        Some(c) => Placed::of(c, found),
        None => Placed::of(&Candidates::default(), found),
    };
    drop(candidates);
    let mut cases = cases_read.into_inner().unwrap_or_default();
    let refresh = placed.join(&mut pdus, &mut cases);
    Ok(UnitsAndCases {
        pdus,
        practitioners,
        cases,
        refresh,
    })
}

/// What [`units_and_cases`] gives.
struct UnitsAndCases {
    pdus: Vec<PduSummary>,
    practitioners: Vec<read::PractitionerRow>,
    cases: Vec<read::CaseAlertRow>,
    refresh: Refresh,
}

/// The CRNs of the cases a run lists (its candidates), each with its place in the list:
/// looked up for each of the hundreds of thousands of memos a national night reads. Those
/// come in CRN order, so each CRN is also held as an integer of its bytes (big-endian, so
/// that the integers sort as the text does), sorted, for [`Candidates::walk`] to find each
/// memo's by stepping forward, where a hash look-up reads the candidate's text from
/// wherever it lies. Hashed too (by Fx, not SipHash), for CRNs asked for in no order.
#[derive(Default)]
pub struct Candidates<'a> {
    by_crn: rustc_hash::FxHashMap<&'a str, usize>,
    /// Those of 16 bytes or fewer (every real CRN), by their integer.
    sorted: Vec<(u128, usize)>,
}

/// A CRN's bytes as one integer, that sorts as the text does; `None` when longer than 16
/// bytes or holding a NUL (whose integer could be another CRN's).
fn crn_integer(crn: &str) -> Option<u128> {
    let b = crn.as_bytes();
    if b.len() > 16 || b.contains(&0) {
        return None;
    }
    let mut bytes = [0u8; 16];
    bytes[..b.len()].copy_from_slice(b);
    Some(u128::from_be_bytes(bytes))
}

impl<'a> FromIterator<&'a str> for Candidates<'a> {
    fn from_iter<I: IntoIterator<Item = &'a str>>(crns: I) -> Candidates<'a> {
        let mut c = Candidates::default();
        for (i, crn) in crns.into_iter().enumerate() {
            c.by_crn.insert(crn, i);
            if let Some(n) = crn_integer(crn) {
                c.sorted.push((n, i));
            }
        }
        c.sorted.sort_unstable();
        // A CRN listed twice is found at its last place, as by the hash.
        c.sorted.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 = later.1;
            }
            same
        });
        c
    }
}

impl<'a> Candidates<'a> {
    pub fn contains(&self, crn: &str) -> bool {
        self.by_crn.contains_key(crn)
    }
    /// Look-ups of CRNs asked for in order ([`Walk::position`]).
    pub fn walk(&self) -> Walk<'_, 'a> {
        Walk {
            of: self,
            at: 0,
            last: 0,
        }
    }
}

/// See [`Candidates::walk`].
pub struct Walk<'c, 'a> {
    of: &'c Candidates<'a>,
    /// The first candidate not before the CRN asked for last.
    at: usize,
    last: u128,
}

impl Walk<'_, '_> {
    /// The candidate's place in its list: a step or a few forward when asked in CRN order,
    /// a search otherwise (the answer is the same either way).
    pub fn position(&mut self, crn: &str) -> Option<usize> {
        let Some(n) = crn_integer(crn) else {
            return self.of.by_crn.get(crn).copied();
        };
        let sorted = &self.of.sorted;
        if n < self.last {
            self.at = sorted.partition_point(|(k, _)| *k < n);
        } else {
            let mut steps = 0;
            while sorted.get(self.at).is_some_and(|(k, _)| *k < n) {
                self.at += 1;
                steps += 1;
                // Far ahead: searched for instead.
                if steps == 16 {
                    self.at += sorted[self.at..].partition_point(|(k, _)| *k < n);
                    break;
                }
            }
        }
        self.last = n;
        sorted
            .get(self.at)
            .filter(|(k, _)| *k == n)
            .map(|(_, i)| *i)
    }
}

/// Which cases [`risk_findings`] keeps: those already candidates (their risk metrics join
/// their other ones), and others only when some case rule holds for them. A case overdue on
/// the risk checks that no rule lists costs nothing past its PDU's tally: at a million cases
/// the gaps counted only by a PDU rule are hundreds of thousands.
#[derive(Clone, Copy)]
pub struct Keep<'a> {
    pub candidates: &'a Candidates<'a>,
    pub rules: &'a Rules,
}

/// What the risk checks found in a scope: each case with a check overdue, as a candidate
/// row carrying its metrics, and each PDU's tally.
#[derive(Default)]
pub struct RiskFindings {
    pub cases: Vec<read::CaseAlertRow>,
    pub tallies: HashMap<String, RiskTally>,
    /// The memos to write once the run is recorded (see [`keep_memos`]).
    pub refresh: Refresh,
    /// Where each part's cases begin in `cases`, by the part's first row id: parts judged on
    /// two connections are put back in the table's order (see [`RiskFindings::in_order`]).
    parts: Vec<(i64, usize)>,
    /// The memos of the cases [`Refresh::Named`] names, as judged.
    judged: Vec<MemoCase>,
}

impl RiskFindings {
    /// Judges one case: its checks join its PDU's tally, and it is kept as a candidate when
    /// a check is overdue and `keep` (if any) wants it.
    fn judge(&mut self, policy: &Policy, as_of: NaiveDate, row: &RiskRow, keep: Option<Keep<'_>>) {
        self.judge_keeping(policy, as_of, row, keep, None);
    }

    /// [`Self::judge`], adding the case's memo to `memos` when given.
    fn judge_keeping(
        &mut self,
        policy: &Policy,
        as_of: NaiveDate,
        row: &RiskRow,
        keep: Option<Keep<'_>>,
        memos: Option<&mut Vec<MemoCase>>,
    ) {
        let input = row.input();
        let checks = crate::risk_checks::evaluate_dates(policy, &input, as_of);
        let metrics = CaseRiskMetrics::of(&checks);
        if let Some(memos) = memos {
            memos.push(memo_of(policy, row, &input, &checks, &metrics));
        }
        match self.tallies.get_mut(row.pdu.as_str()) {
            Some(t) => t.add(&checks, &metrics),
            None => self
                .tallies
                .entry(row.pdu.clone())
                .or_default()
                .add(&checks, &metrics),
        }
        if !metrics.any() {
            return;
        }
        let c = read::CaseAlertRow {
            allocated: row.allocated_on.is_some(),
            crn: Default::default(),
            pdu: String::new(),
            unallocated_since: row.unallocated_since,
            mappa: row.mappa,
            rosh: row.rosh,
            contact_due: None,
            oversight_due: None,
            risk: metrics,
        };
        self.keep_if_wanted(c, &row.crn, &row.pdu, as_of, keep, |c, crn| c.contains(crn));
    }

    /// Keeps a case overdue on a check (`c`, its CRN and PDU apart, so that a case not kept
    /// costs no copy of them) when `keep` (if any) wants it.
    fn keep_if_wanted(
        &mut self,
        c: read::CaseAlertRow,
        crn: &str,
        pdu: &str,
        day: NaiveDate,
        keep: Option<Keep<'_>>,
        candidate: impl FnOnce(&Candidates<'_>, &str) -> bool,
    ) {
        let kept = keep.is_none_or(|k| {
            candidate(k.candidates, crn) || k.rules.any_holds(Scope::Case, &case_metrics(&c, day))
        });
        if kept {
            self.cases.push(read::CaseAlertRow {
                crn: crn.into(),
                pdu: pdu.to_string(),
                ..c
            });
        }
    }

    /// Takes a case's findings from its memo, which holds on `day`: its measures that day,
    /// kept as [`Self::judge`] keeps a judged case (its tally part is counted apart).
    fn remember(
        &mut self,
        m: &MemoCase,
        day: NaiveDate,
        keep: Option<Keep<'_>>,
        walk: &mut Option<Walk<'_, '_>>,
    ) {
        let metrics = m.memo.metrics_on(day);
        if !metrics.any() {
            return;
        }
        let c = read::CaseAlertRow {
            allocated: m.allocated,
            crn: Default::default(),
            pdu: String::new(),
            unallocated_since: m.unallocated_since,
            mappa: m.mappa,
            rosh: m.rosh,
            contact_due: None,
            oversight_due: None,
            risk: metrics,
        };
        self.keep_if_wanted(c, &m.crn, &m.pdu, day, keep, |c, crn| match walk {
            Some(w) => w.position(crn).is_some(),
            None => c.contains(crn),
        });
    }

    /// Adds another connection's findings (their parts follow these until [`Self::in_order`]).
    fn merge(&mut self, other: RiskFindings) {
        let at = self.cases.len();
        self.parts
            .extend(other.parts.into_iter().map(|(id, start)| (id, start + at)));
        self.cases.extend(other.cases);
        for (pdu, t) in other.tallies {
            self.tallies.entry(pdu).or_default().merge(&t);
        }
    }

    /// Puts the cases back in row-id order, as one connection reading the table would give
    /// them, so that a run's output does not depend on which core judged which part.
    fn in_order(&mut self) {
        if self.parts.len() < 2 {
            return;
        }
        let mut parts = std::mem::take(&mut self.parts);
        let total = self.cases.len();
        let mut bounds: Vec<(i64, usize, usize)> = Vec::with_capacity(parts.len());
        parts.sort_by_key(|&(_, start)| start);
        for (i, &(id, start)) in parts.iter().enumerate() {
            let end = parts.get(i + 1).map_or(total, |&(_, s)| s);
            bounds.push((id, start, end));
        }
        bounds.sort_by_key(|&(id, ..)| id);
        let mut cases: Vec<Option<read::CaseAlertRow>> = std::mem::take(&mut self.cases)
            .into_iter()
            .map(Some)
            .collect();
        self.cases = bounds
            .iter()
            .flat_map(|&(_, start, end)| start..end)
            .filter_map(|i| cases[i].take())
            .collect();
    }
}

/// The cases' row ids cut into parts, handed out one at a time to whichever connection asks
/// next (so that a core busy elsewhere takes fewer).
pub struct RowParts {
    next: std::sync::atomic::AtomicI64,
    last: i64,
    size: i64,
}

impl RowParts {
    /// Row ids per part: a few hundred thousand rows per part would leave one core idle at
    /// the end; a few thousand would cost a statement reset each.
    const SIZE: i64 = 32_768;

    pub fn new(first: i64, last: i64) -> RowParts {
        RowParts::of_size(first, last, Self::SIZE)
    }

    fn of_size(first: i64, last: i64, size: i64) -> RowParts {
        RowParts {
            next: std::sync::atomic::AtomicI64::new(first),
            last,
            size: size.max(1),
        }
    }

    fn take(&self) -> Option<(i64, i64)> {
        let from = self
            .next
            .fetch_add(self.size, std::sync::atomic::Ordering::Relaxed);
        (from <= self.last).then(|| (from, (from + self.size - 1).min(self.last)))
    }
}

/// A part of the cases that one connection could not judge, with why, for another to judge.
type GivenBack = ((i64, i64), rusqlite::Error);

/// What judging the risk checks of a scope's cases needs, on whichever connection judges.
#[derive(Clone, Copy)]
struct Judging<'a> {
    policy: &'a Policy,
    as_of: NaiveDate,
    scope: RiskScope<'a>,
    keep: Option<Keep<'a>>,
}

/// The share of cases judged afresh in a run beyond which one pass over every case costs
/// less than reading the memos and looking each of them up.
const MOST_JUDGED_AFRESH: f64 = 0.25;

impl Judging<'_> {
    /// The findings from the cases' memos, judging afresh only the cases whose memo ran out
    /// or is gone; `None` when the memos cannot serve (see `store::memo::open`). The cases
    /// come by CRN.
    fn by_memo(self, db: Db<'_>) -> rusqlite::Result<Option<RiskFindings>> {
        self.by_memo_keeping(db, || Some(self.keep))
    }

    /// [`Self::by_memo`], with which cases to keep given once the memos' tallies are read
    /// (`None` from `keep`: the caller has given up, and so does this).
    fn by_memo_keeping<'k>(
        self,
        db: Db<'_>,
        keep: impl FnOnce() -> Option<Option<Keep<'k>>>,
    ) -> rusqlite::Result<Option<RiskFindings>> {
        let key = crate::risk_memo::policy_key(self.policy);
        let Some((reading, memos)) =
            crate::store::memo::open(db, &key, self.scope, self.as_of, MOST_JUDGED_AFRESH)?
        else {
            return Ok(None);
        };
        let mut found = RiskFindings::default();
        for (pdu, bits, n) in memos.tallies {
            found.tallies.entry(pdu).or_default().add_bits(bits, n);
        }
        let Some(keep) = keep() else {
            return Ok(None);
        };
        let mut judged = Vec::with_capacity(memos.judge.len());
        read::risk::each_named(db, &memos.judge, self.as_of, |row| {
            found.judge_keeping(self.policy, self.as_of, row, keep, Some(&mut judged));
        })?;
        // The memos come in CRN order: their candidates are found by walking forward.
        let mut walk = keep.map(|k| k.candidates.walk());
        reading.overdue(|m| found.remember(m, self.as_of, keep, &mut walk))?;
        drop(reading);
        found.cases.sort_unstable_by(|a, b| a.crn.cmp(&b.crn));
        found.refresh = Refresh::Named(memos.judge);
        found.judged = judged;
        Ok(Some(found))
    }

    /// Judges every case of the scope, on both cores when a second connection can be had.
    fn every_case(self, conn: Db<'_>) -> rusqlite::Result<RiskFindings> {
        // Both cores share the cases, a range of row ids at a time.
        let parts = read::risk::case_rowids(conn)?.map(|(from, to)| RowParts::new(from, to));
        let judge = |db: Db<'_>| self.parts(db, parts.as_ref());
        let (mine, theirs) = std::thread::scope(|s| {
            let theirs = conn.second_reader().map(|r| s.spawn(move || judge(r.db())));
            let mine = judge(conn);
            (mine, theirs.map(|h| h.join()))
        });
        let (mut found, failed) = mine;
        if let Some((_, e)) = failed {
            return Err(e);
        }
        match theirs {
            Some(Ok((theirs, failed))) => {
                found.merge(theirs);
                // The second connection could not read: this one judges the part it gave
                // back.
                if let Some((part, _)) = failed {
                    self.part(conn, part, &mut found)?;
                }
            }
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => {}
        }
        found.in_order();
        found.refresh = Refresh::All;
        Ok(found)
    }

    /// Judges parts of the cases from `parts` until none is left (nothing without parts). A
    /// part that fails comes back with the error, unjudged, for another connection to
    /// judge; the parts judged before it are kept.
    fn parts(self, db: Db<'_>, parts: Option<&RowParts>) -> (RiskFindings, Option<GivenBack>) {
        let mut found = RiskFindings::default();
        let Some(parts) = parts else {
            return (found, None);
        };
        while let Some(part) = parts.take() {
            if let Err(e) = self.part(db, part, &mut found) {
                return (found, Some((part, e)));
            }
        }
        (found, None)
    }

    /// Judges the cases of one part into `found`, leaving it as it was if the part fails.
    fn part(
        self,
        db: Db<'_>,
        (from, to): (i64, i64),
        found: &mut RiskFindings,
    ) -> rusqlite::Result<()> {
        let mut part = RiskFindings::default();
        read::risk::each_in(db, self.scope, self.as_of, Some((from, to)), |row| {
            part.judge(self.policy, self.as_of, row, self.keep);
        })?;
        part.parts.push((from, 0));
        found.merge(part);
        Ok(())
    }
}

/// Evaluates the risk checks (`risk_checks`) of every case in `scope` at `as_of`, on one
/// connection: from the cases' memos where they serve.
pub fn risk_findings(
    conn: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    scope: RiskScope<'_>,
    keep: Option<Keep<'_>>,
) -> rusqlite::Result<RiskFindings> {
    let judging = Judging {
        policy,
        as_of,
        scope,
        keep,
    };
    if let Some(found) = judging.by_memo(conn)? {
        return Ok(found);
    }
    every_case_here(conn, policy, as_of, scope, keep)
}

/// [`risk_findings`] judging every case, on this connection alone.
fn every_case_here(
    conn: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    scope: RiskScope<'_>,
    keep: Option<Keep<'_>>,
) -> rusqlite::Result<RiskFindings> {
    let mut found = RiskFindings::default();
    read::risk::each(conn, scope, as_of, |row| {
        found.judge(policy, as_of, row, keep)
    })?;
    found.refresh = Refresh::All;
    Ok(found)
}

/// A case judged at `as_of`, as its memo.
fn memo_case(policy: &Policy, as_of: NaiveDate, row: &RiskRow) -> MemoCase {
    let input = row.input();
    let checks = crate::risk_checks::evaluate_dates(policy, &input, as_of);
    let metrics = CaseRiskMetrics::of(&checks);
    memo_of(policy, row, &input, &checks, &metrics)
}

/// A case's memo from what it was judged to be.
fn memo_of(
    policy: &Policy,
    row: &RiskRow,
    input: &crate::risk_checks::CaseInput<'_>,
    checks: &crate::risk_checks::CaseChecks,
    metrics: &CaseRiskMetrics,
) -> MemoCase {
    MemoCase {
        crn: row.crn.clone(),
        pdu: row.pdu.clone(),
        allocated: row.allocated_on.is_some(),
        unallocated_since: row.unallocated_since,
        mappa: row.mappa,
        rosh: row.rosh,
        memo: crate::risk_memo::Memo::of(policy, input, checks, metrics),
    }
}

/// Which memos a recorded run writes ([`keep_memos`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Refresh {
    /// None (a run that read every memo it needed).
    #[default]
    Nothing,
    /// The named cases', judged afresh by the run.
    Named(Vec<String>),
    /// The same, with the memos as the run judged them, from the database as it was at
    /// `data_version` (`PRAGMA data_version` on the connection that writes them): written
    /// as they are if nothing else has written since, judged again otherwise.
    Judged {
        memos: Vec<MemoCase>,
        data_version: i64,
    },
    /// Every case's of the run's scope: the memos could not serve.
    All,
}

/// Writes the memos a recorded run at `as_of` (of a region, or all) found wanting, judging
/// those cases again inside its own write transaction unless nothing has been written since
/// the run judged them, so that a memo is always of the data it was judged from. Returns
/// how many it wrote. Under another policy than the stored
/// memos', the memos start over.
pub fn keep_memos(
    store: &mut Store,
    policy: &Policy,
    as_of: NaiveDate,
    region: Option<&str>,
    refresh: &Refresh,
) -> rusqlite::Result<usize> {
    use crate::store::memo;
    if *refresh == Refresh::Nothing {
        return Ok(0);
    }
    let tx = store.immediate()?;
    let db = tx.db();
    let key = crate::risk_memo::policy_key(policy);
    let mut memos = Vec::new();
    let mut written = 0;
    match refresh {
        Refresh::Nothing => {}
        Refresh::Named(_) | Refresh::Judged { .. } => {
            // Another policy's run wrote the memos since: they are not this run's to mend.
            if !memo::policy_is(db, &key)? {
                return Ok(0);
            }
            match refresh {
                Refresh::Judged {
                    memos: judged,
                    data_version,
                } if db.data_version()? == *data_version => {
                    written += memo::write(db, judged)?;
                }
                _ => {
                    let crns: Cow<'_, [String]> = match refresh {
                        Refresh::Named(crns) => Cow::Borrowed(crns),
                        Refresh::Judged { memos: judged, .. } => {
                            judged.iter().map(|m| m.crn.clone()).collect()
                        }
                        Refresh::Nothing | Refresh::All => Cow::Borrowed(&[]),
                    };
                    read::risk::each_named(db, &crns, as_of, |row| {
                        memos.push(memo_case(policy, as_of, row));
                    })?;
                    written += memo::write(db, &memos)?;
                }
            }
        }
        Refresh::All => {
            if !memo::policy_is(db, &key)? {
                memo::start_over(db, &key)?;
            }
            let scope = region.map_or(RiskScope::All, RiskScope::Region);
            // A part at a time, so that a national first night never holds a million memos.
            let parts = read::risk::case_rowids(db)?.map(|(f, t)| RowParts::new(f, t));
            while let Some(part) = parts.as_ref().and_then(RowParts::take) {
                read::risk::each_in(db, scope, as_of, Some(part), |row| {
                    memos.push(memo_case(policy, as_of, row));
                })?;
                written += memo::write(db, &memos)?;
                memos.clear();
            }
        }
    }
    tx.commit()?;
    Ok(written)
}

/// Joins the risk checks' findings to the gathered PDUs and candidate cases: a candidate
/// gains its metrics; a case overdue only on the risk checks becomes a candidate (it has
/// no contact or oversight overdue, or it would already be one).
pub fn add_risk(
    pdus: &mut [PduSummary],
    cases: &mut Vec<read::CaseAlertRow>,
    found: RiskFindings,
) -> Refresh {
    let placed = {
        let candidates: Candidates<'_> = cases.iter().map(|c| c.crn.as_str()).collect();
        Placed::of(&candidates, found)
    };
    placed.join(pdus, cases)
}

/// The risk checks' findings, each case's put beside its candidate's place ([`add_risk`]).
struct Placed {
    tallies: HashMap<String, RiskTally>,
    at_candidates: Vec<(usize, CaseRiskMetrics)>,
    others: Vec<read::CaseAlertRow>,
    refresh: Refresh,
}

impl Placed {
    fn of(candidates: &Candidates<'_>, found: RiskFindings) -> Placed {
        let mut at_candidates = Vec::with_capacity(found.cases.len());
        let mut others = Vec::new();
        // Findings read from the memos come in CRN order, and are found by walking.
        let mut walk = found
            .cases
            .is_sorted_by(|a, b| a.crn <= b.crn)
            .then(|| candidates.walk());
        for c in found.cases {
            let at = match &mut walk {
                Some(w) => w.position(&c.crn),
                None => candidates.by_crn.get(c.crn.as_str()).copied(),
            };
            match at {
                Some(i) => at_candidates.push((i, c.risk)),
                None => others.push(c),
            }
        }
        Placed {
            tallies: found.tallies,
            at_candidates,
            others,
            refresh: found.refresh,
        }
    }

    fn join(self, pdus: &mut [PduSummary], cases: &mut Vec<read::CaseAlertRow>) -> Refresh {
        for p in pdus.iter_mut() {
            p.risk = Some(
                self.tallies
                    .get(&p.code)
                    .map(RiskTally::figures)
                    .unwrap_or_default(),
            );
        }
        for (i, risk) in self.at_candidates {
            if let Some(c) = cases.get_mut(i) {
                c.risk = risk;
            }
        }
        cases.extend(self.others);
        self.refresh
    }
}

/// [`gather`] for the morning worklist of one PDU: its region's PDU figures (a PDU's
/// vacancy is judged against its region's), and that PDU's practitioners and cases only.
pub fn gather_pdu(
    conn: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
    region: &str,
    pdu: &str,
) -> rusqlite::Result<Gathered> {
    // Only this PDU's summary counts its practitioners: the others judge the region's
    // vacancy, which is staffing, not caseloads.
    let (mut pdus, practitioners) =
        read::summaries_and_practitioners_of(conn, policy, as_of, Some(region), Some(pdu))?;
    let mut cases = read::case_alert_rows_of_pdu(conn, policy, as_of, pdu)?;
    // The region's PDU figures judge this PDU's vacancy; the risk figures are its own.
    add_risk(
        &mut pdus,
        &mut cases,
        risk_findings(conn, policy, as_of, RiskScope::Pdu(pdu), None)?,
    );
    Ok(subjects_of(pdus, practitioners, cases, as_of, Some(pdu)))
}

/// Per PDU, from its unallocated cases: the longest an unallocated MAPPA case and an
/// unallocated HIGH/VERY_HIGH RoSH case have waited, and how many of the latter have waited
/// more than 2 days.
#[derive(Default, Clone, Copy)]
pub struct Waiting {
    pub oldest_mappa_days: f64,
    pub oldest_high_rosh_days: f64,
    pub high_rosh_over_2_days: f64,
}

fn subjects_of(
    pdus: Vec<PduSummary>,
    practitioners: Vec<read::PractitionerRow>,
    cases: Vec<read::CaseAlertRow>,
    as_of: NaiveDate,
    only_pdu: Option<&str>,
) -> Gathered {
    let mut subjects = unit_subjects(&pdus, practitioners, &cases, as_of, only_pdu);
    subjects.reserve_exact(cases.len());
    subjects.extend(cases.iter().map(|c| case_subject(c, as_of)));
    Gathered { pdus, subjects }
}

/// Each PDU's [`Waiting`] figures from its unallocated cases.
pub fn waiting_of(cases: &[read::CaseAlertRow], as_of: NaiveDate) -> HashMap<String, Waiting> {
    let mut waiting: HashMap<String, Waiting> = HashMap::new();
    for c in cases.iter().filter(|c| !c.allocated) {
        let w = match waiting.get_mut(&c.pdu) {
            Some(w) => w,
            None => waiting.entry(c.pdu.clone()).or_default(),
        };
        let d = days_to(as_of, c.unallocated_since);
        if c.mappa.is_mappa() {
            w.oldest_mappa_days = w.oldest_mappa_days.max(d);
        }
        if c.rosh.is_some_and(Rosh::is_high) {
            w.oldest_high_rosh_days = w.oldest_high_rosh_days.max(d);
            if d > 2.0 {
                w.high_rosh_over_2_days += 1.0;
            }
        }
    }
    waiting
}

/// [`waiting_of`] the cases in the database now (the demo's history scales it back).
pub fn waiting_now(
    conn: Db<'_>,
    policy: &Policy,
    as_of: NaiveDate,
) -> rusqlite::Result<HashMap<String, Waiting>> {
    Ok(waiting_of(
        &read::case_alert_rows(conn, policy, as_of, None)?,
        as_of,
    ))
}

/// The days from a date to the as-of date (0 for none or a later date).
fn days_to(as_of: NaiveDate, d: Option<NaiveDate>) -> f64 {
    d.map_or(0.0, |d| (as_of - d).num_days().max(0) as f64)
}

/// The PDU and practitioner subjects; the PDUs' waiting figures come from their cases.
fn unit_subjects(
    pdus: &[PduSummary],
    practitioners: Vec<read::PractitionerRow>,
    cases: &[read::CaseAlertRow],
    as_of: NaiveDate,
    only_pdu: Option<&str>,
) -> Vec<Subject> {
    unit_subjects_waiting(pdus, practitioners, &waiting_of(cases, as_of), only_pdu)
}

fn unit_subjects_waiting(
    pdus: &[PduSummary],
    practitioners: Vec<read::PractitionerRow>,
    waiting: &HashMap<String, Waiting>,
    only_pdu: Option<&str>,
) -> Vec<Subject> {
    let regions: HashMap<String, Option<f64>> = read::region_totals(pdus)
        .into_iter()
        .map(|r| (r.region, r.vacancy_rate))
        .collect();
    let mut subjects = Vec::with_capacity(pdus.len() + practitioners.len());
    for p in pdus
        .iter()
        .filter(|p| only_pdu.is_none_or(|only| p.code == only))
    {
        let region_vac = regions.get(&p.region).copied().flatten().unwrap_or(0.0);
        let vac = p.vacancy_rate.unwrap_or(0.0);
        let w = waiting.get(&p.code).copied().unwrap_or_default();
        let metrics = SubjectMetrics::of(
            Scope::Pdu,
            [
                ("cases", p.cases as f64),
                ("unallocated", p.unallocated as f64),
                ("unallocated_share", p.unallocated_share()),
                ("unallocated_mappa", p.unallocated_mappa as f64),
                ("unallocated_high_rosh", p.unallocated_high_rosh as f64),
                ("no_rosh", p.no_rosh as f64),
                ("vacancy_rate", vac),
                ("region_vacancy_rate", region_vac),
                ("vacancy_above_region", vac - region_vac),
                ("oversight_required", p.oversight_required as f64),
                ("oversight_overdue", p.oversight_overdue as f64),
                ("oversight_overdue_share", p.oversight_overdue_share()),
                ("contacts_overdue", p.contacts_overdue as f64),
                (
                    "high_risk_contacts_overdue",
                    p.high_risk_contacts_overdue as f64,
                ),
                ("over_capacity", p.over_capacity as f64),
                ("oldest_unallocated_mappa_days", w.oldest_mappa_days),
                ("unallocated_high_rosh_waiting", w.high_rosh_over_2_days),
                ("oldest_unallocated_high_rosh_days", w.oldest_high_rosh_days),
            ]
            .into_iter()
            .chain(risk_metrics(p.risk.as_ref())),
        );
        subjects.push(Subject {
            scope: Scope::Pdu,
            pdu: p.code.clone(),
            crn: None,
            staff_code: None,
            metrics,
        });
    }
    for p in practitioners {
        let Some(cap) = p.capacity_pct else { continue };
        subjects.push(Subject {
            scope: Scope::Practitioner,
            pdu: p.pdu.clone(),
            crn: None,
            staff_code: Some(p.staff_code.clone()),
            metrics: SubjectMetrics::of(
                Scope::Practitioner,
                [
                    ("capacity_pct", (cap * 10.0).round() / 10.0),
                    ("caseload", p.caseload as f64),
                    ("high_risk_cases", p.high_risk_cases as f64),
                    ("trainee", b(matches!(p.grade, Grade::Pqip | Grade::Nqo))),
                ],
            ),
        });
    }
    subjects
}

/// A PDU's risk-check metrics for the rules. A share of nothing (no releases, no enquiry
/// due yet) counts as 1: nothing there has been missed.
fn risk_metrics(r: Option<&RiskFigures>) -> Vec<(&'static str, f64)> {
    let Some(r) = r else { return Vec::new() };
    let share = |s: &crate::risk_checks::ShareFigure| s.share.unwrap_or(1.0);
    vec![
        ("enquiries_made_share", share(&r.enquiries_made)),
        (
            "domestic_abuse_enquiries_made_share",
            share(&r.domestic_abuse_enquiries_made),
        ),
        ("assessments_on_time_share", share(&r.assessments_on_time)),
        (
            "custody_assessment_backlog",
            r.custody_assessment_backlog as f64,
        ),
        ("recent_releases", r.releases_with_contact.of as f64),
        (
            "releases_with_contact_share",
            share(&r.releases_with_contact),
        ),
        (
            "releases_with_pre_release_assessment_share",
            share(&r.releases_with_pre_release_assessment),
        ),
        ("enquiry_overdue_cases", r.enquiry_overdue_cases as f64),
        ("handover_overdue_cases", r.handover_overdue_cases as f64),
    ]
}

/// One case's risk checks at `as_of` from its whole record (every enquiry, assessment and
/// contact near release), the rules in words; `None` for a case whose type or sentence date
/// is unknown, or an unknown CRN.
pub fn case_risk(
    conn: Db<'_>,
    policy: &Policy,
    d: &read::CaseDetail,
    as_of: NaiveDate,
) -> rusqlite::Result<Option<(crate::risk_checks::CaseChecks, read::risk::CaseRecords)>> {
    let (Some(case_type), Some(sentence_date)) = (d.case_type, d.sentence_date) else {
        return Ok(None);
    };
    let Some(records) = read::risk::case_records(conn, &d.crn)? else {
        return Ok(None);
    };
    let input = crate::risk_checks::CaseInput {
        case_type,
        sentence_date,
        release_date: d.release_date,
        custody_kind: d.custody_kind.unwrap_or_default(),
        rosh: d.rosh,
        rosh_changed_on: d.rosh_changed_on,
        allocated_on: d.allocated_on,
        enquiries: &records.enquiries,
        assessments: &records.assessments,
        contacts: &records.contacts_near_release,
    };
    let checks = crate::risk_checks::evaluate(policy, &input, as_of);
    Ok(Some((checks, records)))
}

/// The case-scope alerts that fire on one case today, worst first (for its detail view).
pub fn case_alerts(
    d: &read::CaseDetail,
    risk: CaseRiskMetrics,
    rules: &Rules,
    as_of: NaiveDate,
) -> Vec<Alert> {
    let overdue = |due: &Option<crate::policy::Due>| {
        due.as_ref().filter(|x| x.is_overdue(as_of)).map(|x| x.date)
    };
    let row = read::CaseAlertRow {
        crn: d.crn.as_str().into(),
        pdu: d.pdu.clone(),
        unallocated_since: d.unallocated_since,
        allocated: d.allocated_to.is_some(),
        mappa: d.mappa,
        rosh: d.rosh,
        contact_due: overdue(&d.contact_due),
        oversight_due: overdue(&d.oversight_due),
        risk,
    };
    evaluate(&[case_subject(&row, as_of)], rules)
}

/// A case's subject, taking the case's strings.
fn case_subject_of(c: read::CaseAlertRow, as_of: NaiveDate) -> Subject {
    let metrics = case_metrics(&c, as_of);
    Subject {
        scope: Scope::Case,
        pdu: c.pdu,
        crn: Some(c.crn),
        staff_code: None,
        metrics,
    }
}

/// A case's subject.
fn case_subject(c: &read::CaseAlertRow, as_of: NaiveDate) -> Subject {
    case_subject_of(c.clone(), as_of)
}

/// A case's metrics for the rules.
fn case_metrics(c: &read::CaseAlertRow, as_of: NaiveDate) -> SubjectMetrics {
    let days = |d: Option<NaiveDate>| days_to(as_of, d);
    SubjectMetrics::of(
        Scope::Case,
        [
            ("unallocated", b(!c.allocated)),
            (
                "days_unallocated",
                if c.allocated {
                    0.0
                } else {
                    days(c.unallocated_since)
                },
            ),
            ("mappa_category", f64::from(c.mappa.category)),
            ("mappa_level", f64::from(c.mappa.level)),
            ("multi_agency", b(c.mappa.is_multi_agency())),
            ("rosh_level", rosh_level(c.rosh)),
            ("no_rosh", b(c.rosh.is_none())),
            (
                "high_risk",
                b(c.rosh.is_some_and(Rosh::is_high) || c.mappa.is_mappa()),
            ),
            ("contact_overdue_days", days(c.contact_due)),
            ("oversight_overdue_days", days(c.oversight_due)),
        ]
        .into_iter()
        .chain(c.risk.named()),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Ongoing,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Ongoing => "ongoing",
            Status::Resolved => "resolved",
        }
    }
}

/// An alert as the review reports it. The JSON field names are a stable contract. Its key
/// is made from its rule, PDU and who ([`ReviewedAlert::key`]), not held.
#[derive(Debug, Clone)]
pub struct ReviewedAlert {
    pub rule: Arc<str>,
    pub severity: Severity,
    pub scope: Scope,
    pub pdu: Arc<str>,
    /// Held inline (see [`Alert::crn`]).
    pub crn: Option<compact_str::CompactString>,
    pub staff_code: Option<String>,
    pub status: Status,
    /// Shared by the alerts first seen the same night.
    pub first_seen: Arc<str>,
    /// See [`ReviewedAlert::message`].
    pub text: Message,
    pub metrics: Metrics,
    pub acknowledged: bool,
    /// Acknowledged before, but materially worse since (see `incidents::materially_worse`).
    pub reopened: bool,
    /// Covered by a silence until this date (exclusive); still listed and counted.
    pub silenced_until: Option<String>,
}

impl ReviewedAlert {
    /// What the alert says, in words.
    pub fn message(&self) -> Cow<'_, str> {
        self.text.render(&self.metrics)
    }
    /// Stable across runs: `rule:pdu:crn-or-staff-code`.
    pub fn key(&self) -> String {
        self.key_parts().to_string()
    }
    pub fn key_parts(&self) -> crate::rules::Key<'_> {
        crate::rules::Key {
            rule: &self.rule,
            pdu: &self.pdu,
            who: self.who(),
        }
    }
    /// Who the alert is about: the CRN, the staff code, or `-` for a PDU.
    pub fn who(&self) -> &str {
        crate::rules::who(self.crn.as_deref(), self.staff_code.as_deref())
    }
}

/// Equal when they say the same, however their messages are held.
impl PartialEq for ReviewedAlert {
    fn eq(&self, o: &ReviewedAlert) -> bool {
        self.rule == o.rule
            && self.severity == o.severity
            && self.scope == o.scope
            && self.pdu == o.pdu
            && self.crn == o.crn
            && self.staff_code == o.staff_code
            && self.status == o.status
            && self.first_seen == o.first_seen
            && self.metrics == o.metrics
            && self.acknowledged == o.acknowledged
            && self.reopened == o.reopened
            && self.silenced_until == o.silenced_until
            && self.message() == o.message()
    }
}

impl Serialize for ReviewedAlert {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ReviewedAlert", 14)?;
        st.serialize_field("key", &self.key_parts())?;
        st.serialize_field("rule", &self.rule)?;
        st.serialize_field("severity", &self.severity)?;
        st.serialize_field("scope", &self.scope)?;
        st.serialize_field("pdu", &self.pdu)?;
        st.serialize_field("crn", &self.crn)?;
        st.serialize_field("staff_code", &self.staff_code)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("first_seen", &self.first_seen)?;
        st.serialize_field("message", &self.text.with(&self.metrics))?;
        st.serialize_field("metrics", &self.metrics)?;
        st.serialize_field("acknowledged", &self.acknowledged)?;
        st.serialize_field("reopened", &self.reopened)?;
        st.serialize_field("silenced_until", &self.silenced_until)?;
        st.end()
    }
}

/// A whole review: what `casewatch alerts` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub as_of: String,
    pub run_id: Option<i64>,
    /// The recorded run compared against, if any.
    pub previous: Option<String>,
    pub counts: Counts,
    /// Each PDU's place on the status ladder, worst first.
    pub statuses: Vec<PduStatus>,
    /// The alerts grouped by PDU and rule, worst first.
    pub incidents: Vec<Incident>,
    pub alerts: Vec<ReviewedAlert>,
    /// Where each PDU's tested figures are heading (see [`crate::forecast`]).
    pub forecasts: Forecasts,
    /// Each PDU's metrics tonight, as its rules saw them: recorded with the run, for the
    /// forecasts of the nights after.
    #[serde(skip)]
    pub unit_metrics: Vec<(String, Metrics)>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub critical: u64,
    pub high: u64,
    pub warning: u64,
    pub new: u64,
    /// New critical alerts that no silence covers: what exit code 3 reports.
    pub new_critical: u64,
    pub resolved: u64,
    pub acknowledged: u64,
    pub incidents: u64,
    pub new_incidents: u64,
    pub escalated: u64,
    pub silenced: u64,
}

impl Review {
    /// Something critical is new: a new critical incident, or a new member of one (a newly
    /// unallocated MAPPA case still wakes someone when its incident was acknowledged), and
    /// no silence covers it.
    pub fn has_new_critical(&self) -> bool {
        self.counts.new_critical > 0
    }

    /// Keeps only what concerns one PDU.
    pub fn scope_to_pdu(&mut self, pdu: &str) {
        self.alerts.retain(|a| &*a.pdu == pdu);
        self.incidents.retain(|i| i.pdu == pdu);
        self.statuses.retain(|p| p.pdu == pdu);
        self.forecasts.retain_pdu(pdu);
        self.counts = count(&self.alerts, &self.incidents);
    }

    pub fn status_of(&self, pdu: &str) -> Option<&PduStatus> {
        self.statuses.iter().find(|p| p.pdu == pdu)
    }
}

fn count(alerts: &[ReviewedAlert], incidents: &[Incident]) -> Counts {
    let mut counts = Counts::default();
    let silenced_incident: std::collections::HashSet<(&str, &str)> = incidents
        .iter()
        .filter(|i| i.silenced_until.is_some())
        .map(|i| (i.rule.as_str(), i.pdu.as_str()))
        .collect();
    for a in alerts {
        if a.status == Status::Resolved {
            counts.resolved += 1;
            continue;
        }
        match a.severity {
            Severity::Critical => counts.critical += 1,
            Severity::High => counts.high += 1,
            Severity::Warning => counts.warning += 1,
        }
        if a.status == Status::New {
            counts.new += 1;
            let silenced = a.silenced_until.is_some()
                || silenced_incident.contains(&(a.rule.as_ref(), a.pdu.as_ref()));
            if a.severity == Severity::Critical && !silenced {
                counts.new_critical += 1;
            }
        }
        if a.acknowledged {
            counts.acknowledged += 1;
        }
    }
    for i in incidents.iter().filter(|i| i.status != Status::Resolved) {
        counts.incidents += 1;
        counts.new_incidents += u64::from(i.status == Status::New);
        counts.escalated += u64::from(i.escalated);
        counts.silenced += u64::from(i.silenced_until.is_some());
    }
    counts
}

fn severity_of(s: &str) -> Severity {
    match s {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        _ => Severity::Warning,
    }
}

fn scope_of(s: &str) -> Scope {
    match s {
        "case" => Scope::Case,
        "practitioner" => Scope::Practitioner,
        _ => Scope::Pdu,
    }
}

/// A recorded run: its id, its as-of date, each open alert's key and first-seen date, its
/// open incidents, and their stored rows (to read what resolved).
pub struct PreviousRun {
    id: i64,
    as_of: String,
    alerts: PrevAlerts,
    incidents: HashMap<String, PrevIncident>,
    stored: HashMap<String, StoredIncident>,
}

/// The open alerts of a recorded run, by a 64-bit hash of their key, with their first-seen
/// date, the incident that holds them and where in that incident's stored members they are:
/// a national run has over a hundred thousand, and their keys need not be kept (two keys of
/// one run sharing a hash is a chance of about one in a billion, and would only make one of
/// them look new).
#[derive(Default)]
struct PrevAlerts {
    /// Keyed by the key's hash, itself hashed by Fx: one multiply, where SipHash would cost
    /// more than the look-up for the hundreds of thousands of alerts a national night holds.
    by_hash: rustc_hash::FxHashMap<u64, PrevAlert>,
    dates: Vec<Arc<str>>,
    date_index: HashMap<String, u32>,
    incidents: Vec<String>,
}

/// One open alert of a recorded run (see [`PrevAlerts`]).
#[derive(Clone, Copy)]
struct PrevAlert {
    date: u32,
    incident: u32,
    /// The member's bytes in its incident's stored members (`[...]`, without the brackets'
    /// neighbours): read again only if it resolved.
    at: u32,
    len: u32,
}

impl PrevAlerts {
    /// A key's hash, the key written into `buf` (one buffer for a night's keys).
    fn hash_key(key: crate::rules::Key<'_>, buf: &mut String) -> u64 {
        use std::fmt::Write;
        use std::hash::BuildHasher;
        buf.clear();
        // Writing to a String cannot fail.
        let _ = write!(buf, "{key}");
        rustc_hash::FxBuildHasher.hash_one(buf.as_str())
    }
    fn add_incident(&mut self, key: &str) -> u32 {
        self.incidents.push(key.to_string());
        (self.incidents.len() - 1) as u32
    }
    /// Adds an open alert, by its key's hash ([`Self::hash_key`]).
    fn insert(&mut self, hash: u64, first_seen: &str, incident: u32, (at, len): (u32, u32)) {
        let date = match self.date_index.get(first_seen) {
            Some(i) => *i,
            None => {
                let i = self.dates.len() as u32;
                self.dates.push(first_seen.into());
                self.date_index.insert(first_seen.to_string(), i);
                i
            }
        };
        let alert = PrevAlert {
            date,
            incident,
            at,
            len,
        };
        self.by_hash.insert(hash, alert);
    }
    /// The first-seen date of an open alert of that run (by its key's hash), taken out of
    /// the set.
    fn take(&mut self, hash: u64) -> Option<Arc<str>> {
        let a = self.by_hash.remove(&hash)?;
        self.dates.get(a.date as usize).cloned()
    }
    /// The alerts not taken (those that resolved) by incident, each incident's in the order
    /// stored, with their key's hash.
    fn left_by_incident(&self) -> BTreeMap<&str, Vec<(PrevAlert, u64)>> {
        let mut out: BTreeMap<&str, Vec<(PrevAlert, u64)>> = BTreeMap::new();
        for (&hash, a) in &self.by_hash {
            if let Some(incident) = self.incidents.get(a.incident as usize) {
                out.entry(incident.as_str()).or_default().push((*a, hash));
            }
        }
        for members in out.values_mut() {
            members.sort_unstable_by_key(|(a, _)| a.at);
        }
        out
    }
}

/// An incident's row of a recorded run: what its members need besides themselves (the
/// members are read again for the few incidents that have some resolved).
struct StoredIncident {
    rule: String,
    severity: Severity,
    scope: Scope,
    pdu: String,
}

/// Which part of a run a review compares with.
#[derive(Clone, Copy)]
enum RunScope<'a> {
    All,
    Region(&'a str),
    Pdu(&'a str),
}

/// The latest recorded run strictly before `as_of`: its id, date, the first-seen date of
/// each of its open alerts and its open incidents (of one region's PDUs, one PDU, or all).
/// Members are read for their key, date and status only; the few that resolved are read
/// whole by [`resolved_alerts`].
fn previous_run(
    conn: Db<'_>,
    as_of: &str,
    region: Option<&str>,
) -> rusqlite::Result<Option<PreviousRun>> {
    previous_run_in(conn, as_of, region.map_or(RunScope::All, RunScope::Region))
}

fn previous_run_in(
    conn: Db<'_>,
    as_of: &str,
    scope: RunScope<'_>,
) -> rusqlite::Result<Option<PreviousRun>> {
    let Some(runs::RunHead {
        id,
        as_of: prev_as_of,
    }) = runs::run_before(conn, as_of)?
    else {
        return Ok(None);
    };
    let (region, pdu) = match scope {
        RunScope::All => (None, None),
        RunScope::Region(r) => (Some(r), None),
        RunScope::Pdu(p) => (None, Some(p)),
    };
    let mut alerts = PrevAlerts::default();
    let mut incidents = HashMap::new();
    let mut stored = HashMap::new();
    let mut buf = String::new();
    runs::for_each_open_incident(conn, id, region, pdu, |r| {
        let inc = StoredIncident {
            rule: r.rule.to_string(),
            severity: severity_of(r.severity),
            scope: scope_of(r.scope),
            pdu: r.pdu.to_string(),
        };
        // Who, when and whether open, and where each member lies: its message and metrics
        // are skipped, not read, and read again only for the few that resolve.
        let members: Vec<member::RawMember<'_>> = serde_json::from_str(r.members).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, Box::new(e))
        })?;
        let incident = alerts.add_incident(r.key);
        let base = r.members.as_ptr() as usize;
        for m in members {
            if member::text(m.status) == Status::Resolved.as_str() {
                continue;
            }
            let at = m.who.get().as_ptr() as usize - base;
            let end = m.metrics.get().as_ptr() as usize + m.metrics.get().len() - base;
            let span = (at as u32, (end - at) as u32);
            let key = crate::rules::Key {
                rule: &inc.rule,
                pdu: &inc.pdu,
                who: &member::text(m.who),
            };
            let hash = PrevAlerts::hash_key(key, &mut buf);
            alerts.insert(hash, &member::text(m.first_seen), incident, span);
        }
        incidents.insert(
            r.key.to_string(),
            PrevIncident {
                first_seen: r.first_seen.to_string(),
                nights: r.nights.clamp(1, i64::from(u32::MAX)) as u32,
            },
        );
        stored.insert(r.key.to_string(), inc);
        Ok(())
    })?;
    Ok(Some(PreviousRun {
        id,
        as_of: prev_as_of,
        alerts,
        incidents,
        stored,
    }))
}

/// The alerts of the previous run that are no longer raised (those `left`), as the review
/// lists them: each read from where it lies in its incident's stored members.
fn resolved_alerts(
    conn: Db<'_>,
    rules: &Rules,
    run_id: i64,
    stored: &HashMap<String, StoredIncident>,
    left: PrevAlerts,
) -> rusqlite::Result<Vec<ReviewedAlert>> {
    let mut out = Vec::new();
    for (incident, members) in left.left_by_incident() {
        let Some(inc) = stored.get(incident) else {
            continue;
        };
        let text = runs::incident_members(conn, run_id, incident)?;
        for (a, hash) in members {
            let (at, len) = (a.at as usize, a.len as usize);
            let Some(member::Member {
                who,
                first_seen,
                message,
                metrics,
                ..
            }) = text.get(at..at + len).and_then(|m| {
                serde_json::from_str::<member::RawMember<'_>>(&format!("[{m}]"))
                    .ok()?
                    .read()
            })
            else {
                continue;
            };
            let key = crate::rules::Key {
                rule: &inc.rule,
                pdu: &inc.pdu,
                who: &who,
            };
            // The run read again must be the run read first (recording a date again
            // replaces its run): a member found elsewhere is not this alert.
            if PrevAlerts::hash_key(key, &mut String::new()) != hash {
                continue;
            }
            let (crn, staff_code) = match inc.scope {
                Scope::Case => (Some(who), None),
                Scope::Practitioner => (None, Some(who)),
                Scope::Pdu => (None, None),
            };
            out.push(ReviewedAlert {
                rule: inc.rule.as_str().into(),
                severity: inc.severity,
                scope: inc.scope,
                pdu: inc.pdu.as_str().into(),
                crn: crn.map(Into::into),
                staff_code,
                status: Status::Resolved,
                first_seen: first_seen.into(),
                text: member::message(message, &inc.rule, rules),
                metrics,
                acknowledged: false,
                reopened: false,
                silenced_until: None,
            });
        }
    }
    Ok(out)
}

/// The latest acknowledgement of each key, with the metric values it was given at.
fn acks(conn: Db<'_>) -> rusqlite::Result<HashMap<String, Ack>> {
    Ok(runs::latest_acks(conn)?.into_iter().collect())
}

/// Silences not removed (active or not: the caller asks each whether it is active).
pub fn silences(conn: Db<'_>) -> rusqlite::Result<Vec<Silence>> {
    runs::silences(conn)
}

/// Compares current alerts with the previous run (already read, of the same scope), marks
/// acknowledgements and silences, groups incidents and sets each PDU's status.
fn review_against(
    conn: Db<'_>,
    rules: &Rules,
    as_of: NaiveDate,
    pdus: &[PduSummary],
    alerts: Vec<Alert>,
    prev: Option<PreviousRun>,
) -> rusqlite::Result<Review> {
    let as_of_s = fmt_date(as_of);
    let acks = acks(conn)?;
    let silences = silences(conn)?;
    let (run_id, previous, mut prev_alerts, prev_incidents, stored) = match prev {
        Some(p) => (p.id, Some(p.as_of), p.alerts, p.incidents, p.stored),
        None => (
            0,
            None,
            PrevAlerts::default(),
            HashMap::new(),
            HashMap::new(),
        ),
    };
    // Taken from the back and the source shrunk as it goes, so that the two lists (a hundred
    // thousand alerts nationally) are never both whole in memory; reversed after.
    let mut alerts = alerts;
    let mut out = Vec::with_capacity(alerts.len());
    let new_today: Arc<str> = as_of_s.as_str().into();
    let mut key = String::new();
    while let Some(a) = alerts.pop() {
        if alerts.len().is_multiple_of(16_384) {
            alerts.shrink_to_fit();
        }
        let (status, first_seen) =
            match prev_alerts.take(PrevAlerts::hash_key(a.key_parts(), &mut key)) {
                Some(first_seen) => (Status::Ongoing, first_seen),
                None => (Status::New, new_today.clone()),
            };
        out.push(ReviewedAlert {
            rule: a.rule,
            severity: a.severity,
            scope: a.scope,
            pdu: a.pdu,
            crn: a.crn,
            staff_code: a.staff_code,
            status,
            first_seen,
            text: a.text,
            metrics: a.metrics,
            acknowledged: false,
            reopened: false,
            silenced_until: None,
        });
    }
    out.reverse();
    let mut resolved = resolved_alerts(conn, rules, run_id, &stored, prev_alerts)?;
    drop(stored);
    resolved.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.pdu.cmp(&b.pdu))
            .then_with(|| a.key().cmp(&b.key()))
    });
    out.extend(resolved);
    let cx = incidents::Context {
        as_of,
        rules,
        previous: &prev_incidents,
        acks: &acks,
        silences: &silences,
    };
    incidents::mark_members(&mut out, &cx);
    let mut incidents = incidents::group(&out, &cx);
    let mut statuses = incidents::pdu_statuses(
        pdus.iter().map(|p| p.code.as_str()),
        out.iter()
            .filter(|a| a.scope == Scope::Pdu && a.status != Status::Resolved)
            .map(|a| (a.pdu.as_ref(), a.rule.as_ref(), a.message())),
        rules,
    );
    statuses.sort_by(|a, b| b.status.cmp(&a.status).then_with(|| a.pdu.cmp(&b.pdu)));
    let level: HashMap<&str, crate::rules::Level> = statuses
        .iter()
        .map(|s| (s.pdu.as_str(), s.status))
        .collect();
    incidents::sort_incidents(&mut incidents, rules, |pdu| {
        level.get(pdu).copied().unwrap_or(crate::rules::Level::Ok)
    });
    let counts = count(&out, &incidents);
    Ok(Review {
        as_of: as_of_s,
        run_id: None,
        previous,
        counts,
        statuses,
        incidents,
        alerts: out,
        forecasts: Forecasts::default(),
        unit_metrics: Vec::new(),
    })
}

/// What the overview cache holds for one as-of date, policy, rules and region.
#[derive(serde::Deserialize)]
struct Cached {
    pdus: Vec<PduSummary>,
    alerts: Vec<Alert>,
}

/// [`Cached`] as written: borrowed from the figures just computed, so that writing the cache
/// copies nothing but the text.
#[derive(Serialize)]
struct CachedRef<'a, A: Serialize> {
    pdus: &'a [PduSummary],
    alerts: A,
}

/// A review's current alerts written as the [`Alert`]s they were reviewed from (the resolved
/// ones, last night's, are not current figures).
struct CurrentAlerts<'a>(&'a [ReviewedAlert]);

impl Serialize for CurrentAlerts<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.0
                .iter()
                .filter(|a| a.status != Status::Resolved)
                .map(AlertRef::of),
        )
    }
}

/// An [`Alert`]'s fields borrowed from a reviewed alert, written as the alert is.
#[derive(Serialize)]
struct AlertRef<'a> {
    key: crate::rules::Key<'a>,
    rule: &'a str,
    severity: Severity,
    scope: Scope,
    pdu: &'a str,
    crn: Option<&'a str>,
    staff_code: Option<&'a str>,
    message: Rendered<'a>,
    metrics: &'a Metrics,
}

impl<'a> AlertRef<'a> {
    fn of(a: &'a ReviewedAlert) -> AlertRef<'a> {
        AlertRef {
            key: a.key_parts(),
            rule: &a.rule,
            severity: a.severity,
            scope: a.scope,
            pdu: &a.pdu,
            crn: a.crn.as_deref(),
            staff_code: a.staff_code.as_deref(),
            message: a.text.with(&a.metrics),
            metrics: &a.metrics,
        }
    }
}

/// A stable fingerprint (FNV-1a) of what the cached figures depend on besides the data.
fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// The overview cache's key: the version, as-of date, region and what else the figures
/// depend on besides the data.
fn cache_key(policy: &Policy, rules: &Rules, as_of: NaiveDate, region: Option<&str>) -> String {
    format!(
        "{}|{}|{}|{}",
        env!("CARGO_PKG_VERSION"),
        fmt_date(as_of),
        region.unwrap_or("*"),
        fingerprint(&[&format!("{policy:?}"), &format!("{rules:?}")])
    )
}

/// Figures computed for a region that the overview cache does not hold yet. The screen's
/// worker answers first and stores them after, so the first frame does not wait for a
/// write of several megabytes.
pub struct CacheFill {
    key: String,
}

impl CacheFill {
    /// Writes a region's figures, the PDUs and the current alerts of their review, into the
    /// overview cache.
    pub fn store(self, conn: Db<'_>, pdus: &[PduSummary], reviewed: &[ReviewedAlert]) {
        self.write(
            conn,
            &CachedRef {
                pdus,
                alerts: CurrentAlerts(reviewed),
            },
        );
    }

    /// Writes the body, streamed into the cache's parts. A read-only file or a busy writer
    /// just means no cache this time: a reader (the screen, `alerts --region`) must not wait
    /// out the busy timeout behind a long import or nightly run for a cache, so the write is
    /// tried once, without waiting.
    fn write(self, conn: Db<'_>, body: &impl Serialize) {
        runs::cache_overview_nowait(conn, &self.key, |w| {
            serde_json::to_writer(w, body).map_err(std::io::Error::from)
        });
    }
}

/// From the cache, or computed; computed figures of a region come with what to cache.
fn evaluate_or_cached(
    conn: Db<'_>,
    policy: &Policy,
    rules: &Rules,
    as_of: NaiveDate,
    region: Option<&str>,
) -> rusqlite::Result<(Vec<PduSummary>, Vec<Alert>, Option<CacheFill>)> {
    let key = cache_key(policy, rules, as_of, region);
    let hit = runs::cached_overview(conn, &key)?;
    if let Some(c) = hit.and_then(|b| serde_json::from_str::<Cached>(&b).ok()) {
        return Ok((c.pdus, c.alerts, None));
    }
    let g = gather(conn, policy, rules, as_of, region)?;
    let alerts = evaluate(&g.subjects, rules);
    // Only a region's figures (the screen's) are kept: the national scope is the nightly
    // run's, computed once a day, and at a million cases writing its hundred thousand
    // alerts into the cache would cost that run more than a later read could save.
    let fill = region.is_some().then_some(CacheFill { key });
    Ok((g.pdus, alerts, fill))
}

/// The PDU summaries and evaluated alerts, from the overview cache when the data has not
/// changed since they were computed, else computed and (for a region, where the file is
/// writable) cached.
pub fn evaluate_cached(
    conn: Db<'_>,
    ev: &Evaluation,
    region: Option<&str>,
) -> rusqlite::Result<(Vec<PduSummary>, Vec<Alert>)> {
    let (pdus, alerts, fill) = evaluate_or_cached(conn, &ev.policy, &ev.rules, ev.as_of, region)?;
    if let Some(fill) = fill {
        fill.write(
            conn,
            &CachedRef {
                pdus: &pdus,
                alerts: &alerts,
            },
        );
    }
    Ok((pdus, alerts))
}

/// Each PDU's status from evaluated (not reviewed) alerts, in the order of `pdus`.
pub fn statuses_of(pdus: &[PduSummary], alerts: &[Alert], rules: &Rules) -> Vec<PduStatus> {
    incidents::pdu_statuses(
        pdus.iter().map(|p| p.code.as_str()),
        alerts
            .iter()
            .filter(|a| a.scope == Scope::Pdu)
            .map(|a| (a.pdu.as_ref(), a.rule.as_ref(), a.message())),
        rules,
    )
}

/// What the nightly run produced: the review, the PDU figures it was judged on, and (when
/// asked for) each PDU's worklist.
pub struct FullRun {
    pub review: Review,
    pub pdus: Vec<PduSummary>,
    pub worklists: Vec<PduReview>,
    /// The memos to write if the run is recorded ([`keep_memos`]).
    pub refresh: Refresh,
}

/// Gathers (never from the overview cache), evaluates and reviews; with `worklist_limit`,
/// also ranks each PDU's worklist. The subjects (a few hundred bytes for each case an alert
/// could concern) are dropped before this returns, so recording and printing a national run
/// do not hold them too.
pub fn run_full(
    conn: Db<'_>,
    ev: &Evaluation,
    region: Option<&str>,
    worklist_limit: Option<usize>,
) -> rusqlite::Result<FullRun> {
    let (policy, rules, as_of) = (&ev.policy, &ev.rules, ev.as_of);
    let as_of_s = fmt_date(as_of);
    let (evaluated, prev) = alongside_previous_run(conn, &as_of_s, region, || {
        evaluate_in_parts(
            conn,
            policy,
            rules,
            as_of,
            region,
            worklist_limit,
            CASES_AT_A_TIME,
        )
    })?;
    let (pdus, alerts, work, refresh, unit_metrics) = evaluated?;
    let mut review = review_against(conn, rules, as_of, &pdus, alerts, prev)?;
    review.forecasts = forecasts_from(conn, rules, as_of, &unit_metrics)?;
    review.unit_metrics = unit_metrics;
    let worklists = match (work, worklist_limit) {
        (Some(work), Some(limit)) => pdu_reviews_from(&review, work, &pdus, limit),
        _ => Vec::new(),
    };
    Ok(FullRun {
        review,
        pdus,
        worklists,
        refresh,
    })
}

/// What [`evaluate_in_parts`] gives: the PDU figures, the alerts in order, each PDU's case
/// actions when asked for, and the memos to write if the run is recorded.
type Evaluated = (
    Vec<PduSummary>,
    Vec<Alert>,
    Option<HashMap<String, CaseWork>>,
    Refresh,
    Vec<(String, Metrics)>,
);

/// Cases evaluated at a time by [`evaluate_in_parts`]: enough to keep both cores busy, few
/// enough that their subjects are a few megabytes.
const CASES_AT_A_TIME: usize = 40_000;

/// Gathers and evaluates like [`gather`] and [`evaluate`], but makes the cases' subjects a
/// part at a time, so that a national run never holds them all (with the case actions of
/// each PDU's worklist, when `worklist_limit` asks for them).
fn evaluate_in_parts(
    conn: Db<'_>,
    policy: &Policy,
    rules: &Rules,
    as_of: NaiveDate,
    region: Option<&str>,
    worklist_limit: Option<usize>,
    part_size: usize,
) -> rusqlite::Result<Evaluated> {
    let UnitsAndCases {
        pdus,
        practitioners,
        cases,
        refresh,
    } = units_and_cases(conn, policy, rules, as_of, region)?;
    let units = unit_subjects(&pdus, practitioners, &cases, as_of, None);
    let unit_metrics = unit_metrics_of(&units);
    let mut alerts = crate::rules::evaluate_unsorted(&units, rules);
    drop(units);
    let mut items: HashMap<String, Vec<incidents::WorkItem>> = HashMap::new();
    // The parts are taken from the back of the list reversed (so, in the cases' order), and
    // each case gives its subject its strings: the list shrinks as the alerts grow, and
    // the two are never both whole in memory.
    let mut cases = cases;
    cases.reverse();
    while !cases.is_empty() {
        let from = cases.len().saturating_sub(part_size.max(1));
        let subjects: Vec<Subject> = cases
            .drain(from..)
            .rev()
            .map(|c| case_subject_of(c, as_of))
            .collect();
        cases.shrink_to_fit();
        alerts.extend(crate::rules::evaluate_unsorted(&subjects, rules));
        if worklist_limit.is_some() {
            for w in incidents::worklist(&subjects, &[]) {
                match items.get_mut(w.pdu.as_str()) {
                    Some(v) => v.push(w),
                    None => {
                        items.insert(w.pdu.clone(), vec![w]);
                    }
                }
            }
        }
    }
    drop(cases);
    crate::rules::sort_alerts(&mut alerts);
    // Grown a part at a time, it may hold twice the room it needs.
    alerts.shrink_to_fit();
    let work = worklist_limit.map(|limit| {
        items
            .into_iter()
            .map(|(pdu, mut items)| {
                incidents::rank(&mut items);
                let totals = incidents::task_counts(&items);
                items.truncate(limit);
                (pdu, CaseWork { items, totals })
            })
            .collect()
    });
    Ok((pdus, alerts, work, refresh, unit_metrics))
}

/// The forecasts of the PDUs in `today` (each PDU's metrics tonight), from the nights
/// recorded in the window before `as_of` and tonight's figures.
pub fn forecasts_from(
    conn: Db<'_>,
    rules: &Rules,
    as_of: NaiveDate,
    today: &[(String, Metrics)],
) -> rusqlite::Result<Forecasts> {
    let mut histories: BTreeMap<&str, Vec<crate::forecast::Night>> = today
        .iter()
        .map(|(pdu, _)| (pdu.as_str(), Vec::new()))
        .collect();
    let from = as_of - chrono::Duration::days(crate::forecast::WINDOW_DAYS - 1);
    runs::for_each_pdu_metrics_between(
        conn,
        &fmt_date(from),
        &fmt_date(as_of),
        |night, pdu, json| {
            let (Some(h), Ok(day)) = (
                histories.get_mut(pdu),
                NaiveDate::parse_from_str(night, "%Y-%m-%d"),
            ) else {
                return;
            };
            h.push((day, recorded_metrics(json)));
        },
    )?;
    for (pdu, m) in today {
        if let Some(h) = histories.get_mut(pdu.as_str()) {
            h.push((as_of, m.iter().map(|(k, v)| (k.to_string(), *v)).collect()));
        }
    }
    Ok(crate::forecast::forecasts(
        rules,
        as_of,
        histories.iter().map(|(pdu, h)| (*pdu, h.as_slice())),
    ))
}

/// Every night recorded for one PDU up to `as_of`, oldest first: what its chart draws.
pub fn recorded_history(
    conn: Db<'_>,
    pdu: &str,
    as_of: NaiveDate,
) -> rusqlite::Result<Vec<crate::forecast::Night>> {
    let mut out = Vec::new();
    let to = as_of + chrono::Duration::days(1);
    runs::for_each_pdu_metrics_between(conn, "0000-01-01", &fmt_date(to), |night, p, json| {
        if p == pdu
            && let Ok(day) = NaiveDate::parse_from_str(night, "%Y-%m-%d")
        {
            out.push((day, recorded_metrics(json)));
        }
    })?;
    out.sort_by_key(|(d, _)| *d);
    Ok(out)
}

/// The forecasts as of the last night recorded on or before `as_of` (for the screen, which
/// does not evaluate every PDU metric itself), from the nights recorded in the window before
/// it; `None` when no night is recorded.
pub fn forecasts_recorded(
    conn: Db<'_>,
    rules: &Rules,
    as_of: NaiveDate,
) -> rusqlite::Result<Option<(NaiveDate, Forecasts)>> {
    let Some(last) = runs::last_run_on_or_before(conn, &fmt_date(as_of))?
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
    else {
        return Ok(None);
    };
    let mut histories: BTreeMap<String, Vec<crate::forecast::Night>> = BTreeMap::new();
    let from = last - chrono::Duration::days(crate::forecast::WINDOW_DAYS - 1);
    let to = last + chrono::Duration::days(1);
    runs::for_each_pdu_metrics_between(
        conn,
        &fmt_date(from),
        &fmt_date(to),
        |night, pdu, json| {
            if let Ok(day) = NaiveDate::parse_from_str(night, "%Y-%m-%d") {
                histories
                    .entry(pdu.to_string())
                    .or_default()
                    .push((day, recorded_metrics(json)));
            }
        },
    )?;
    let f = crate::forecast::forecasts(
        rules,
        last,
        histories
            .iter()
            // A PDU missing from the last night has no "now".
            .filter(|(_, h)| h.last().is_some_and(|(d, _)| *d == last))
            .map(|(pdu, h)| (pdu.as_str(), h.as_slice())),
    );
    Ok(Some((last, f)))
}

/// Replays every recorded night of each PDU (of `region`, or all) through the forecasts
/// (see [`crate::forecast::backtest`]): the number of nights, and each PDU's result.
pub fn backtest_recorded(
    conn: Db<'_>,
    rules: &Rules,
    region: Option<&str>,
) -> rusqlite::Result<(usize, Vec<(String, crate::forecast::Backtest)>)> {
    let wanted: Option<HashSet<String>> = match region {
        Some(r) => Some(runs::pdus_of_region(conn, r)?.into_iter().collect()),
        None => None,
    };
    let mut histories: BTreeMap<String, Vec<crate::forecast::Night>> = BTreeMap::new();
    let mut nights = HashSet::new();
    runs::for_each_pdu_metrics_between(conn, "0000-01-01", "9999-12-31", |night, pdu, json| {
        if wanted.as_ref().is_some_and(|w| !w.contains(pdu)) {
            return;
        }
        if let Ok(day) = NaiveDate::parse_from_str(night, "%Y-%m-%d") {
            nights.insert(day);
            histories
                .entry(pdu.to_string())
                .or_default()
                .push((day, recorded_metrics(json)));
        }
    })?;
    let fired = |rule: &str, m: &BTreeMap<String, f64>| {
        rules.holds(rule, m.iter().map(|(k, v)| (k.as_str(), *v)))
    };
    let out = histories
        .iter()
        .map(|(pdu, h)| {
            (
                pdu.clone(),
                crate::forecast::backtest(rules, h, pdu, &fired),
            )
        })
        .collect();
    Ok((nights.len(), out))
}

/// A recorded night's PDU metrics by name. Nights recorded before every metric was kept
/// have the counts their shares come from.
fn recorded_metrics(json: &str) -> BTreeMap<String, f64> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let mut m: BTreeMap<String, f64> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
        .collect();
    let share = |m: &BTreeMap<String, f64>, a: &str, b: &str| {
        let (a, b) = (m.get(a)?, m.get(b)?);
        (*b > 0.0).then(|| a / b)
    };
    if !m.contains_key("unallocated_share")
        && let Some(s) = share(&m, "unallocated", "cases")
    {
        m.insert("unallocated_share".into(), s);
    }
    if !m.contains_key("oversight_overdue_share")
        && let Some(s) = share(&m, "oversight_overdue", "oversight_required")
    {
        m.insert("oversight_overdue_share".into(), s);
    }
    m
}

/// Each PDU subject's metrics, by PDU.
fn unit_metrics_of(subjects: &[Subject]) -> Vec<(String, Metrics)> {
    subjects
        .iter()
        .filter(|s| s.scope == Scope::Pdu)
        .map(|s| (s.pdu.clone(), s.metrics.to_metrics()))
        .collect()
}

/// Runs `work` on this connection while the previous run is read on a second one (the last
/// run's keys do not depend on today's data, and the machine has two cores). Without a second
/// connection (an in-memory database), or if it failed, the previous run is read here after.
fn alongside_previous_run<T: Send>(
    conn: Db<'_>,
    as_of: &str,
    region: Option<&str>,
    work: impl FnOnce() -> T,
) -> rusqlite::Result<(T, Option<PreviousRun>)> {
    let (done, prefetched) = std::thread::scope(|s| {
        let prefetch = conn
            .second_reader()
            .map(|c| s.spawn(move || previous_run(c.db(), as_of, region)));
        let done = work();
        (done, prefetch.and_then(|h| h.join().ok()))
    });
    let prev = match prefetched {
        Some(Ok(prev)) => prev,
        _ => previous_run(conn, as_of, region)?,
    };
    Ok((done, prev))
}

/// Records a run for `as_of` from PDU figures alone (no case or practitioner alerts): the
/// demo's synthetic history of earlier nights, so that trends, "since" dates and escalation
/// mean something the first time anyone opens it.
pub fn record_pdu_night(
    store: &mut Store,
    rules: &Rules,
    as_of: NaiveDate,
    pdus: Vec<PduSummary>,
    waiting: &HashMap<String, Waiting>,
    actor: &str,
) -> rusqlite::Result<i64> {
    let subjects = unit_subjects_waiting(&pdus, Vec::new(), waiting, None);
    let alerts = evaluate(&subjects, rules);
    let prev = previous_run(store.db(), &fmt_date(as_of), None)?;
    let mut review = review_against(store.db(), rules, as_of, &pdus, alerts, prev)?;
    review.unit_metrics = unit_metrics_of(&subjects);
    record(store, &mut review, &pdus, actor)
}

/// Gathers, evaluates and reviews in one go.
pub fn run(
    conn: Db<'_>,
    ev: &Evaluation,
    region: Option<&str>,
) -> rusqlite::Result<(Review, Vec<PduSummary>)> {
    let (review, pdus, fill) = run_deferring_cache(conn, ev, region)?;
    if let Some(fill) = fill {
        fill.store(conn, &pdus, &review.alerts);
    }
    Ok((review, pdus))
}

/// [`run`], leaving the overview-cache write (if any) to the caller, to do once it has
/// answered.
pub fn run_deferring_cache(
    conn: Db<'_>,
    ev: &Evaluation,
    region: Option<&str>,
) -> rusqlite::Result<(Review, Vec<PduSummary>, Option<CacheFill>)> {
    let (policy, rules, as_of) = (&ev.policy, &ev.rules, ev.as_of);
    let as_of_s = fmt_date(as_of);
    let (evaluated, prev) = alongside_previous_run(conn, &as_of_s, region, || {
        evaluate_or_cached(conn, policy, rules, as_of, region)
    })?;
    let (pdus, alerts, fill) = evaluated?;
    Ok((
        review_against(conn, rules, as_of, &pdus, alerts, prev)?,
        pdus,
        fill,
    ))
}

/// Each incident's metrics and members as stored (see schema::V_INCIDENTS: one row per
/// incident, its members inside it as JSON).
struct StoredIncidents<'r> {
    members: HashMap<(&'r str, &'r str), Vec<&'r ReviewedAlert>>,
}

impl<'r> StoredIncidents<'r> {
    fn of(review: &'r Review) -> StoredIncidents<'r> {
        let mut members: HashMap<(&str, &str), Vec<&ReviewedAlert>> = HashMap::new();
        for a in &review.alerts {
            members
                .entry((a.rule.as_ref(), a.pdu.as_ref()))
                .or_default()
                .push(a);
        }
        StoredIncidents { members }
    }

    /// The incident's metrics and members, as JSON.
    fn json(&self, i: &Incident) -> (String, String) {
        let stored: Vec<member::Writing<'_>> = self
            .members
            .get(&(i.rule.as_str(), i.pdu.as_str()))
            .into_iter()
            .flatten()
            .map(|a| {
                (
                    a.who(),
                    a.first_seen.as_ref(),
                    a.status.as_str(),
                    &a.metrics,
                )
            })
            .collect();
        (
            serde_json::to_string(&i.metrics).unwrap_or_else(|_| "{}".into()),
            member::to_json(&stored),
        )
    }
}

/// Records a review as the run for its as-of date, in one transaction. Recording the same
/// date again replaces that date's run, so nothing is ever duplicated.
pub fn record(
    store: &mut Store,
    review: &mut Review,
    pdus: &[PduSummary],
    actor: &str,
) -> rusqlite::Result<i64> {
    record_as(store, review, pdus, actor, None)
}

/// [`record`], the run taking the id `id` when given (a working copy's run, the id its
/// server reserved for it: see `PgStore::reserve_run_id`).
pub fn record_as(
    store: &mut Store,
    review: &mut Review,
    pdus: &[PduSummary],
    actor: &str,
    id: Option<i64>,
) -> rusqlite::Result<i64> {
    let tx = store.immediate()?;
    let run_id = runs::begin_run(
        tx.db(),
        &review.as_of,
        &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        actor,
        id,
    )?;
    let unit_metrics: HashMap<&str, &Metrics> = review
        .unit_metrics
        .iter()
        .map(|(pdu, m)| (pdu.as_str(), m))
        .collect();
    let metrics = pdus.iter().map(|p| {
        let status = review.status_of(&p.code).map(|s| s.status.as_str());
        let mut m = json!({
            "status": status,
            "unallocated": p.unallocated,
            "unallocated_mappa": p.unallocated_mappa,
            "unallocated_high_rosh": p.unallocated_high_rosh,
            "vacancy_rate": p.vacancy_rate,
            "oversight_overdue": p.oversight_overdue,
            "oversight_required": p.oversight_required,
            "high_risk_contacts_overdue": p.high_risk_contacts_overdue,
            "cases": p.cases,
        });
        // Every metric the PDU's rules saw, for the forecasts: the figures above stay as
        // they were written before.
        if let (Some(all), Some(obj)) = (unit_metrics.get(p.code.as_str()), m.as_object_mut()) {
            for (k, v) in all.iter() {
                obj.entry(k).or_insert_with(|| json!(v));
            }
        }
        (p.code.as_str(), m.to_string())
    });
    runs::insert_pdu_metrics(tx.db(), run_id, metrics)?;
    // A national run's members are hundreds of thousands of alerts: the other core writes
    // their JSON an incident ahead of the inserts here, and only a few are held at once.
    let done: &Review = review;
    let stored = StoredIncidents::of(done);
    let stored = &stored;
    std::thread::scope(|s| -> rusqlite::Result<()> {
        let (send, receive) = std::sync::mpsc::sync_channel::<(String, String)>(2);
        let writer = s.spawn(move || {
            for i in &done.incidents {
                if send.send(stored.json(i)).is_err() {
                    break;
                }
            }
        });
        for i in &done.incidents {
            let Ok((metrics, members)) = receive.recv() else {
                break;
            };
            runs::insert_incident(
                tx.db(),
                run_id,
                &runs::NewIncident {
                    key: &i.key,
                    rule: &i.rule,
                    severity: i.severity.as_str(),
                    scope: i.scope.as_str(),
                    pdu: &i.pdu,
                    count: i.count as i64,
                    first_seen: &i.first_seen,
                    nights: i.nights,
                    message: &i.message,
                    metrics: &metrics,
                    members: &members,
                },
            )?;
        }
        drop(receive);
        if let Err(panic) = writer.join() {
            std::panic::resume_unwind(panic);
        }
        Ok(())
    })?;
    tx.commit()?;
    review.run_id = Some(run_id);
    Ok(run_id)
}

/// Acknowledges an open incident (`rule:pdu`) or alert (`rule:pdu:who`) of the latest
/// recorded run with a note. It stays listed, marked, until it is materially worse (a count
/// up, a rate up by the margin) or resolves; an acknowledgement never covers a return.
pub fn acknowledge(
    store: &mut impl crate::store::triage::TriageStore,
    actor: &str,
    key: &str,
    note: &str,
) -> Result<i64, ActionError> {
    let note = crate::actions::check_text("the note", note)?;
    let note = note.as_str();
    store.in_write(|db| {
    let Some(runs::RunHead {
        id: run_id,
        as_of: run_as_of,
    }) = db.latest_run()?
    else {
        return Err(ActionError::UnknownAlert);
    };
    // An incident (`rule:pdu`) is a row; an alert (`rule:pdu:who`) is a member of one.
    let (incident, who) = match key.splitn(3, ':').collect::<Vec<_>>()[..] {
        [rule, pdu] => (format!("{rule}:{pdu}"), None),
        [rule, pdu, who] => (format!("{rule}:{pdu}"), Some(who)),
        _ => return Err(ActionError::UnknownAlert),
    };
    let row = db.open_incident(run_id, &incident)?;
    let found: Option<(String, Option<String>)> = match (row, who) {
        (None, _) => None,
        (Some(runs::OpenIncident { metrics, .. }), None) => Some((metrics, None)),
        (Some(runs::OpenIncident { scope, members, .. }), Some(who)) => {
            let members: Vec<member::RawMember<'_>> =
                serde_json::from_str(&members).unwrap_or_default();
            members
                .iter()
                .filter(|m| member::text(m.who) == who)
                .filter_map(member::RawMember::read)
                .find(|m| m.status != Status::Resolved.as_str())
                .map(|m| {
                    let crn = (scope == Scope::Case.as_str()).then_some(m.who);
                    (
                        serde_json::to_string(&m.metrics).unwrap_or_else(|_| "{}".into()),
                        crn,
                    )
                })
        }
    };
    let Some((metrics, crn)) = found else {
        return Err(ActionError::UnknownAlert);
    };
    db.insert_ack(
        &runs::NewAck {
            key,
            at: &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            actor,
            note,
            metrics: &metrics,
            as_of: &run_as_of,
        },
    )?;
    let after = json!({"note": note, "run": run_as_of, "metrics": serde_json::from_str::<serde_json::Value>(&metrics).unwrap_or_default()});
    let id = crate::actions::record_audit_in(
        db,
        &crate::store::triage::AuditEntry {
            actor,
            action: "acknowledge",
            crn: crn.as_deref(),
            subject: Some(key),
            before: None,
            after: Some(&after),
            reason: None,
        },
    )?;
    Ok(id)
    })
}

/// What a new silence covers and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SilenceRequest {
    pub rule: Option<String>,
    pub pdu: Option<String>,
    pub crn: Option<String>,
    pub until: Option<NaiveDate>,
    pub reason: String,
}

/// The longest a silence may run: a quarter, so that nothing is hidden and forgotten.
pub const MAX_SILENCE_DAYS: i64 = 90;

/// Why a silence was refused.
#[derive(Debug, thiserror::Error)]
pub enum SilenceError {
    #[error("a silence needs at least one matcher: rule=ID, pdu=CODE or crn=CRN")]
    NoMatcher,
    #[error("a silence needs --until DATE (at most {MAX_SILENCE_DAYS} days ahead)")]
    NoExpiry,
    #[error("--until {0} is not after {1}: a silence must end in the future")]
    Past(String, String),
    #[error("--until {0} is more than {MAX_SILENCE_DAYS} days after {1}")]
    TooFar(String, String),
    #[error("a silence needs --reason TEXT")]
    NoReason,
    #[error("unknown rule '{0}' in the matcher")]
    UnknownRule(String),
    #[error("unknown PDU '{0}' in the matcher")]
    UnknownPdu(String),
    #[error("no case {0} in the database")]
    UnknownCase(String),
    #[error("no silence #{0} in force")]
    UnknownSilence(i64),
    #[error("{0}")]
    BadReason(String),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", crate::store::pg::reason(.0))]
    Pg(postgres::Error),
}

impl From<crate::store::triage::Fault> for SilenceError {
    fn from(f: crate::store::triage::Fault) -> SilenceError {
        match f {
            crate::store::triage::Fault::Sqlite(e) => SilenceError::Sqlite(e),
            crate::store::triage::Fault::Pg(e) => SilenceError::Pg(e),
        }
    }
}

/// Whether the database holds a PDU with this code.
pub fn pdu_exists(conn: Db<'_>, code: &str) -> rusqlite::Result<bool> {
    runs::pdu_exists(conn, code)
}

/// Records a silence after checking it, with its audit entry, in one transaction.
pub fn add_silence(
    store: &mut impl crate::store::triage::TriageStore,
    rules: &Rules,
    actor: &str,
    as_of: NaiveDate,
    req: &SilenceRequest,
) -> Result<i64, SilenceError> {
    if req.rule.is_none() && req.pdu.is_none() && req.crn.is_none() {
        return Err(SilenceError::NoMatcher);
    }
    crate::actions::check_write_date(as_of).map_err(|e| SilenceError::BadReason(e.to_string()))?;
    let until = req.until.ok_or(SilenceError::NoExpiry)?;
    if until <= as_of {
        return Err(SilenceError::Past(fmt_date(until), fmt_date(as_of)));
    }
    if (until - as_of).num_days() > MAX_SILENCE_DAYS {
        return Err(SilenceError::TooFar(fmt_date(until), fmt_date(as_of)));
    }
    if req.reason.trim().is_empty() {
        return Err(SilenceError::NoReason);
    }
    let reason = crate::actions::check_text("the reason", &req.reason)
        .map_err(|e| SilenceError::BadReason(e.to_string()))?;
    let reason = reason.as_str();
    if let Some(r) = &req.rule
        && rules.rule(r).is_none()
    {
        return Err(SilenceError::UnknownRule(
            crate::text::sanitize(r).into_owned(),
        ));
    }
    store.in_write(|db| {
        if let Some(p) = &req.pdu
            && !db.pdu_exists(p)?
        {
            return Err(SilenceError::UnknownPdu(
                crate::text::sanitize(p).into_owned(),
            ));
        }
        if let Some(c) = &req.crn
            && !db.case_exists(c)?
        {
            return Err(SilenceError::UnknownCase(
                crate::text::sanitize(c).into_owned(),
            ));
        }
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let id = db.insert_silence(&Silence {
            id: 0,
            rule: req.rule.clone(),
            pdu: req.pdu.clone(),
            crn: req.crn.clone(),
            starts: fmt_date(as_of),
            until: fmt_date(until),
            reason: reason.to_string(),
            created_by: actor.to_string(),
            created_at: now,
        })?;
        let after = json!({"id": id, "rule": req.rule, "pdu": req.pdu, "crn": req.crn,
                       "starts": fmt_date(as_of), "until": fmt_date(until), "reason": reason});
        crate::actions::record_audit_in(
            db,
            &crate::store::triage::AuditEntry {
                actor,
                action: "silence",
                crn: req.crn.as_deref(),
                subject: Some(&format!("silence:{id}")),
                before: None,
                after: Some(&after),
                reason: None,
            },
        )?;
        Ok(id)
    })
}

/// Removes a silence before its end (kept in the table, marked, and audited).
pub fn remove_silence(
    store: &mut impl crate::store::triage::TriageStore,
    actor: &str,
    id: i64,
) -> Result<(), SilenceError> {
    store.in_write(|db| {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let Some(crn) = db.remove_silence(id, actor, &now)? else {
            return Err(SilenceError::UnknownSilence(id));
        };
        crate::actions::record_audit_in(
            db,
            &crate::store::triage::AuditEntry {
                actor,
                action: "unsilence",
                crn: crn.as_deref(),
                subject: Some(&format!("silence:{id}")),
                before: None,
                after: Some(&json!({"id": id})),
                reason: None,
            },
        )?;
        Ok(())
    })
}

/// The morning worklist of one PDU, with its status and incidents.
#[derive(Debug, Clone, Serialize)]
pub struct PduReview {
    pub as_of: String,
    pub pdu: String,
    pub name: String,
    pub region: String,
    pub status: crate::rules::Level,
    pub status_reasons: Vec<String>,
    pub incidents: Vec<Incident>,
    /// The first `limit` actions, ranked.
    pub actions: Vec<incidents::WorkItem>,
    /// How many actions of each task there are in all (shown and not).
    pub totals: BTreeMap<&'static str, u64>,
    /// Actions not shown.
    pub more: u64,
    /// Where its figures are heading, in words: each rule it would reach at this rate, then
    /// its worsening figures (see [`crate::forecast`]).
    pub outlook: Vec<String>,
}

/// One PDU's case actions, ranked and cut to the limit, with the count per task of all.
pub struct CaseWork {
    items: Vec<incidents::WorkItem>,
    totals: BTreeMap<&'static str, u64>,
}

/// Each PDU's case actions from the subjects, so that the subjects need not outlive this.
pub fn case_work(subjects: &[Subject], limit: usize) -> HashMap<String, CaseWork> {
    let mut cases: HashMap<&str, Vec<&Subject>> = HashMap::new();
    for s in subjects.iter().filter(|s| s.scope == Scope::Case) {
        cases.entry(s.pdu.as_str()).or_default().push(s);
    }
    cases
        .into_iter()
        .map(|(pdu, subjects)| {
            let mut items = incidents::worklist(subjects, &[]);
            let totals = incidents::task_counts(&items);
            items.truncate(limit);
            (pdu.to_string(), CaseWork { items, totals })
        })
        .collect()
}

/// The worklists of the given PDUs (in that order) from the review and the subjects it was
/// gathered from.
pub fn pdu_reviews(
    review: &Review,
    subjects: &[Subject],
    pdus: &[PduSummary],
    limit: usize,
) -> Vec<PduReview> {
    pdu_reviews_from(review, case_work(subjects, limit), pdus, limit)
}

/// [`pdu_reviews`] from case actions ranked before (see [`case_work`]): the staffing actions
/// come from the review's practitioner alerts, and always rank after every case action.
pub fn pdu_reviews_from(
    review: &Review,
    mut work: HashMap<String, CaseWork>,
    pdus: &[PduSummary],
    limit: usize,
) -> Vec<PduReview> {
    // Each PDU's open practitioner alerts.
    let mut staffing: HashMap<&str, Vec<&ReviewedAlert>> = HashMap::new();
    for a in review.alerts.iter().filter(|a| {
        a.scope == Scope::Practitioner && a.status != Status::Resolved && a.staff_code.is_some()
    }) {
        staffing.entry(a.pdu.as_ref()).or_default().push(a);
    }
    let mut incidents_of: HashMap<&str, Vec<Incident>> = HashMap::new();
    for i in &review.incidents {
        incidents_of
            .entry(i.pdu.as_str())
            .or_default()
            .push(i.clone());
    }
    pdus.iter()
        .map(|summary| {
            let code = summary.code.as_str();
            let CaseWork {
                mut items,
                mut totals,
            } = work.remove(code).unwrap_or(CaseWork {
                items: Vec::new(),
                totals: incidents::task_counts(&[]),
            });
            let alerts = staffing.get(code).map_or(&[][..], |v| v.as_slice());
            let messages: Vec<Cow<'_, str>> = alerts.iter().map(|a| a.message()).collect();
            let staffing: Vec<(&str, &str, &str, f64)> = alerts
                .iter()
                .zip(&messages)
                .map(|(a, m)| {
                    let capacity = a.metrics.get("capacity_pct").copied().unwrap_or(100.0);
                    (
                        a.staff_code.as_deref().unwrap_or("-"),
                        code,
                        m.as_ref(),
                        capacity,
                    )
                })
                .collect();
            let staff = incidents::worklist(std::iter::empty(), &staffing);
            for (task, n) in incidents::task_counts(&staff) {
                *totals.entry(task).or_default() += n;
            }
            items.extend(staff);
            items.truncate(limit);
            let all: u64 = totals.values().sum();
            let more = all.saturating_sub(items.len() as u64);
            let status = review.status_of(code);
            PduReview {
                as_of: review.as_of.clone(),
                pdu: summary.code.clone(),
                name: summary.name.clone(),
                region: summary.region.clone(),
                status: status.map_or(crate::rules::Level::Ok, |s| s.status),
                status_reasons: status.map(|s| s.status_reasons.clone()).unwrap_or_default(),
                incidents: incidents_of.remove(code).unwrap_or_default(),
                actions: items,
                totals,
                more,
                outlook: outlook_words(&review.forecasts, code),
            }
        })
        .collect()
}

/// A PDU's outlook in words (see [`PduReview::outlook`]).
pub fn outlook_words(f: &Forecasts, pdu: &str) -> Vec<String> {
    let mut out: Vec<String> = f
        .outlook_of(pdu)
        .map(|o| format!("{} (on {})", o.message, o.on))
        .collect();
    let worse: Vec<String> = f
        .trends_of(pdu)
        .filter(|t| t.direction == "worsening")
        .map(|t| t.describe())
        .collect();
    if !worse.is_empty() {
        out.push(format!("getting worse: {}", worse.join("; ")));
    }
    out
}

/// Gathers, evaluates and reviews one PDU only (against its region's figures and its part
/// of the last recorded run), and ranks its worklist. Cheap enough for every morning at a
/// million cases: one PDU's cases are read, not the region's.
pub fn review_pdu(
    conn: Db<'_>,
    ev: &Evaluation,
    pdu: &str,
    limit: usize,
) -> rusqlite::Result<Option<PduReview>> {
    let (policy, rules, as_of) = (&ev.policy, &ev.rules, ev.as_of);
    let Some(region) = runs::region_of(conn, pdu)? else {
        return Ok(None);
    };
    let g = gather_pdu(conn, policy, as_of, &region, pdu)?;
    let alerts = evaluate(&g.subjects, rules);
    let prev = previous_run_in(conn, &fmt_date(as_of), RunScope::Pdu(pdu))?;
    let mine: Vec<PduSummary> = g.pdus.iter().filter(|p| p.code == pdu).cloned().collect();
    let mut review = review_against(conn, rules, as_of, &mine, alerts, prev)?;
    let mut units = unit_metrics_of(&g.subjects);
    units.retain(|(code, _)| code == pdu);
    review.forecasts = forecasts_from(conn, rules, as_of, &units)?;
    Ok(pdu_reviews(&review, &g.subjects, &mine, limit).pop())
}

/// Recorded values of one PDU over the runs, oldest first, for trend lines.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Trend {
    pub as_of: Vec<String>,
    pub unallocated: Vec<f64>,
    pub unallocated_mappa: Vec<f64>,
    pub vacancy_rate: Vec<f64>,
    pub oversight_overdue: Vec<f64>,
}

/// Trends of every PDU over the last `runs` recorded runs.
pub fn trends(conn: Db<'_>, count: u32) -> rusqlite::Result<HashMap<String, Trend>> {
    let mut out: HashMap<String, Trend> = HashMap::new();
    runs::for_each_recent_pdu_metrics(conn, count, |as_of, pdu, m| {
        let v: serde_json::Value = serde_json::from_str(m).unwrap_or_default();
        let t = out.entry(pdu.to_string()).or_default();
        let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
        t.as_of.push(as_of.to_string());
        t.unallocated.push(f("unallocated"));
        t.unallocated_mappa.push(f("unallocated_mappa"));
        t.vacancy_rate.push(f("vacancy_rate"));
        t.oversight_overdue.push(f("oversight_overdue"));
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{DemoOptions, build};
    use crate::store::{OpenMode, Store};

    /// A walk finds each candidate where the hash does, asked in order, out of order, far
    /// ahead or for CRNs no integer holds.
    #[test]
    fn a_walk_over_the_candidates_finds_what_the_hash_finds() {
        let mut crns: Vec<String> = (0..3000).map(|i| format!("X{:06}", i * 7 % 5003)).collect();
        crns.push("X000014".into()); // listed twice: found at its last place
        crns.push("A-CRN-LONGER-THAN-SIXTEEN".into());
        crns.push("NUL\0IN".into());
        crns.push(String::new());
        let candidates: Candidates<'_> = crns.iter().map(String::as_str).collect();
        let mut asked: Vec<String> = (0..6000).map(|i| format!("X{i:06}")).collect();
        asked.extend(crns.iter().cloned());
        asked.push("X".into());
        asked.push("X0000140".into());
        let mut in_order = asked.clone();
        in_order.sort();
        let mut shuffled = asked.clone();
        shuffled.reverse();
        shuffled.rotate_left(1234);
        let sparse: Vec<String> = in_order.iter().step_by(97).cloned().collect();
        for list in [&in_order, &shuffled, &sparse] {
            let mut walk = candidates.walk();
            for crn in list {
                let found = walk.position(crn);
                assert_eq!(
                    found,
                    candidates.by_crn.get(crn.as_str()).copied(),
                    "{crn:?}"
                );
                assert_eq!(found.is_some(), candidates.contains(crn));
            }
        }
        assert_eq!(candidates.walk().position("X000014"), Some(3000));
        assert_eq!(candidates.walk().position("X999999"), None);
    }

    /// A demo database of `cases` as of 2026-11-01, in a directory kept while the test runs.
    fn demo(cases: u64, seed: u64) -> (tempfile::TempDir, std::path::PathBuf, NaiveDate) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.db");
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let opts = DemoOptions {
            cases,
            seed,
            anchor: as_of,
        };
        build(&p, &opts, false).unwrap();
        (dir, p, as_of)
    }

    /// A recorded run writes the memos it judged as they are when nothing was written since
    /// it read; after another connection's write it judges them again, so that no memo is
    /// of data that has changed.
    #[test]
    fn memos_judged_by_the_run_are_kept_as_judged_only_while_nothing_else_writes() {
        let (_dir, p, as_of) = demo(3000, 9);
        let day = as_of + chrono::Duration::days(9);
        let ev = crate::context::Evaluation::new(Policy::defaults(), Rules::defaults(), day);
        // The memos serve as a fresh judgement would: the next run judges nothing afresh.
        let serve_as_fresh = |s: &Store| {
            let judging = Judging {
                policy: &ev.policy,
                as_of: day,
                scope: RiskScope::All,
                keep: None,
            };
            let memo = judging.by_memo(s.db()).unwrap().expect("the memos serve");
            let whole = every_case_here(s.db(), &ev.policy, day, RiskScope::All, None).unwrap();
            assert_eq!(memo.refresh, Refresh::Named(vec![]));
            assert_eq!(findings_key(&memo), findings_key(&whole));
        };

        let mut s = Store::open(&p, OpenMode::Existing).unwrap();
        let refresh = run_full(s.db(), &ev, None, None).unwrap().refresh;
        let Refresh::Judged { memos, .. } = &refresh else {
            panic!("{refresh:?}");
        };
        assert!(memos.len() > 20, "{} judged afresh", memos.len());
        let written = keep_memos(&mut s, &ev.policy, day, None, &refresh).unwrap();
        assert_eq!(written, memos.len());
        serve_as_fresh(&s);

        // Another run, and another connection's write before this one records: a case the
        // run judged moves to another PDU (its memo, as judged, counts in the old one).
        let (_dir, p, _) = demo(3000, 9);
        let mut s = Store::open(&p, OpenMode::Existing).unwrap();
        let refresh = run_full(s.db(), &ev, None, None).unwrap().refresh;
        let Refresh::Judged { memos, .. } = &refresh else {
            panic!("{refresh:?}");
        };
        let moved = memos
            .iter()
            .find(|m| m.memo.tally != 0)
            .expect("a case with a tally");
        let other = rusqlite::Connection::open(&p).unwrap();
        let to: String = other
            .query_row(
                "SELECT code FROM pdus WHERE code <> ?1 ORDER BY code LIMIT 1",
                [&moved.pdu],
                |r| r.get(0),
            )
            .unwrap();
        other
            .execute(
                "UPDATE cases SET pdu = ?1 WHERE crn = ?2",
                [&to, &moved.crn],
            )
            .unwrap();
        drop(other);
        keep_memos(&mut s, &ev.policy, day, None, &refresh).unwrap();
        serve_as_fresh(&s);
    }

    #[test]
    fn the_nightly_run_forecasts_hfkcws_worsening_figures_and_records_every_metric() {
        let (_dir, p, as_of) = demo(3000, 7);
        let mut s = Store::open(&p, OpenMode::Existing).unwrap();
        let ev = crate::context::Evaluation::new(Policy::defaults(), Rules::defaults(), as_of);
        let mut run = run_full(s.db(), &ev, Some("London"), None).unwrap();
        let worse: Vec<&str> = run
            .review
            .forecasts
            .trends_of("HFKCW")
            .filter(|t| t.direction == "worsening")
            .map(|t| t.metric.as_str())
            .collect();
        for m in [
            "vacancy_rate",
            "unallocated_mappa",
            "oversight_overdue_share",
        ] {
            assert!(worse.contains(&m), "{m} not worsening at HFKCW: {worse:?}");
        }
        // The demo's other PDUs only wobble: none of them is getting worse on these.
        let elsewhere = run
            .review
            .forecasts
            .trends
            .iter()
            .filter(|t| t.pdu != "HFKCW" && t.direction == "worsening")
            .filter(|t| ["vacancy_rate", "unallocated_mappa"].contains(&t.metric.as_str()))
            .count();
        assert_eq!(elsewhere, 0);
        let json = serde_json::to_value(&run.review).unwrap();
        assert!(!json["forecasts"]["trends"].as_array().unwrap().is_empty());
        assert!(json.get("unit_metrics").is_none());
        let reviews = pdu_reviews_from(&run.review, HashMap::new(), &run.pdus, 5);
        let hfkcw = reviews.iter().find(|r| r.pdu == "HFKCW").unwrap();
        assert!(
            hfkcw.outlook.iter().any(|o| o.contains("vacancy 4")),
            "{:?}",
            hfkcw.outlook
        );
        // Recorded, the night keeps every metric its PDU rules saw, for the nights after.
        record(&mut s, &mut run.review, &run.pdus, "t").unwrap();
        let stored: String = s
            .db()
            .sql()
            .query_row(
                "SELECT m.metrics FROM run_pdu_metrics m JOIN alert_runs r ON r.id = m.run_id
                  WHERE r.as_of = ?1 AND m.pdu = 'HFKCW'",
                [fmt_date(as_of)],
                |r| r.get(0),
            )
            .unwrap();
        let stored = recorded_metrics(&stored);
        for m in [
            "oldest_unallocated_mappa_days",
            "releases_with_contact_share",
            "vacancy_above_region",
            "unallocated",
        ] {
            assert!(stored.contains_key(m), "{m} not recorded: {stored:?}");
        }
    }

    #[test]
    fn the_overview_cache_is_used_until_the_data_changes() {
        let (_dir, p, as_of) = demo(2000, 4);
        let s = Store::open(&p, OpenMode::Existing).unwrap();
        let (policy, rules) = (Policy::defaults(), Rules::defaults());
        let count = |s: &Store| -> i64 {
            s.db()
                .sql()
                // Bodies, not the parts each is kept in.
                .query_row(
                    "SELECT count(DISTINCT substr(key, 1, instr(key, '#'))) FROM overview_cache",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(count(&s), 0);
        let (pdus, alerts) = evaluate_cached(
            s.db(),
            &crate::context::Evaluation::new(policy.clone(), rules.clone(), as_of),
            Some("London"),
        )
        .unwrap();
        assert_eq!(count(&s), 1);
        let again = evaluate_cached(
            s.db(),
            &crate::context::Evaluation::new(policy.clone(), rules.clone(), as_of),
            Some("London"),
        )
        .unwrap();
        for (a, b) in pdus.iter().zip(&again.0) {
            assert_eq!(a, b);
        }
        for (a, b) in alerts.iter().zip(&again.1) {
            assert_eq!(a, b);
        }
        assert_eq!((pdus.len(), alerts.len()), (again.0.len(), again.1.len()));
        let hfkcw = |p: &[PduSummary]| p.iter().find(|p| p.code == "HFKCW").unwrap().unallocated;
        // Any write to the data empties the cache, and the next read sees the change.
        let changed = s
            .db().sql()
            .execute(
                "UPDATE cases SET allocated_to = NULL, allocated_on = NULL, unallocated_since = '2026-10-30'
                  WHERE crn = (SELECT crn FROM cases WHERE pdu = 'HFKCW' AND allocated_to IS NOT NULL LIMIT 1)",
                [],
            )
            .unwrap();
        assert_eq!(changed, 1);
        assert_eq!(count(&s), 0);
        let (after, _) = evaluate_cached(
            s.db(),
            &crate::context::Evaluation::new(policy.clone(), rules.clone(), as_of),
            Some("London"),
        )
        .unwrap();
        assert_eq!(hfkcw(&after), hfkcw(&pdus) + 1);
        // Another as-of date is another entry.
        let next = as_of.succ_opt().unwrap();
        evaluate_cached(
            s.db(),
            &crate::context::Evaluation::new(policy.clone(), rules.clone(), next),
            Some("London"),
        )
        .unwrap();
        assert_eq!(count(&s), 2);
    }

    #[test]
    fn a_review_from_the_cache_is_the_review_it_was_cached_from() {
        // The screen caches the current alerts of its review, not the resolved ones: a night
        // on record (the day before, with a case allocated since) gives it both.
        let (_dir, p, as_of) = demo(2000, 5);
        let mut s = Store::open(&p, OpenMode::Existing).unwrap();
        let ev = |d| crate::context::Evaluation::new(Policy::defaults(), Rules::defaults(), d);
        let (mut night, pdus) = run(s.db(), &ev(as_of.pred_opt().unwrap()), None).unwrap();
        record(&mut s, &mut night, &pdus, "t").unwrap();
        s.db()
            .sql()
            .execute(
                "UPDATE cases SET allocated_to = (SELECT staff_code FROM practitioners
                   WHERE pdu = cases.pdu LIMIT 1), allocated_on = '2026-11-30'
                  WHERE crn = (SELECT crn FROM cases WHERE pdu = 'HFKCW'
                                 AND allocated_to IS NULL AND mappa_level IS NOT NULL LIMIT 1)",
                [],
            )
            .unwrap();
        let (computed, pdus) = run(s.db(), &ev(as_of), Some("London")).unwrap();
        assert!(computed.alerts.iter().any(|a| a.status == Status::Resolved));
        let (cached, cached_pdus) = run(s.db(), &ev(as_of), Some("London")).unwrap();
        assert_eq!(cached_pdus, pdus);
        assert_eq!(cached.alerts.len(), computed.alerts.len());
        for (a, b) in cached.alerts.iter().zip(&computed.alerts) {
            assert_eq!(a, b);
        }
        assert_eq!(cached.incidents, computed.incidents);
        assert_eq!(cached.statuses, computed.statuses);
    }

    #[test]
    fn evaluating_cases_a_part_at_a_time_gives_the_alerts_and_worklists_of_all_at_once() {
        let (_dir, p, as_of) = demo(3000, 9);
        let s = Store::open(&p, OpenMode::Existing).unwrap();
        let (policy, rules) = (Policy::defaults(), Rules::defaults());
        let g = gather(s.db(), &policy, &rules, as_of, None).unwrap();
        let whole = evaluate(&g.subjects, &rules);
        let cases = g.subjects.iter().filter(|x| x.scope == Scope::Case).count();
        assert!(cases > 250, "{cases} candidate cases");
        let review = review_against(s.db(), &rules, as_of, &g.pdus, whole.clone(), None).unwrap();
        let expected = pdu_reviews(&review, &g.subjects, &g.pdus, 15);
        // Parts that split PDUs and leave a remainder.
        for part in [97, 1000, usize::MAX] {
            let (pdus, alerts, work, _, _) =
                evaluate_in_parts(s.db(), &policy, &rules, as_of, None, Some(15), part).unwrap();
            assert_eq!(pdus, g.pdus);
            assert_eq!(alerts, whole, "parts of {part}");
            let got = pdu_reviews_from(&review, work.unwrap(), &pdus, 15);
            assert_eq!(got.len(), expected.len());
            for (a, b) in got.iter().zip(&expected) {
                assert_eq!(a.actions, b.actions, "{}", a.pdu);
                assert_eq!((&a.totals, a.more), (&b.totals, b.more), "{}", a.pdu);
            }
        }
    }

    /// The risk checks judged in parts on two connections find what one connection reading
    /// the whole table finds, in the same order; and a part the second connection cannot
    /// read is judged by the first.
    #[test]
    fn risk_checks_judged_in_parts_on_two_connections_find_what_one_pass_finds() {
        let (_dir, p, as_of) = demo(3000, 9);
        let s = Store::open(&p, OpenMode::Existing).unwrap();
        let (policy, rules) = (Policy::defaults(), Rules::defaults());
        let rows = read::case_alert_rows(s.db(), &policy, as_of, None).unwrap();
        let candidates: Candidates<'_> = rows.iter().map(|c| c.crn.as_str()).collect();
        let keep = Keep {
            candidates: &candidates,
            rules: &rules,
        };
        let whole = every_case_here(s.db(), &policy, as_of, RiskScope::All, Some(keep)).unwrap();
        assert!(whole.cases.len() > 100, "{} cases", whole.cases.len());
        let judging = Judging {
            policy: &policy,
            as_of,
            scope: RiskScope::All,
            keep: Some(keep),
        };
        let key = |f: &RiskFindings| -> (Vec<String>, Vec<(String, RiskFigures)>) {
            let mut t: Vec<_> = f
                .tallies
                .iter()
                .map(|(k, v)| (k.clone(), v.figures()))
                .collect();
            t.sort_by(|a, b| a.0.cmp(&b.0));
            (f.cases.iter().map(|c| format!("{c:?}")).collect(), t)
        };
        let (first, last) = read::risk::case_rowids(s.db()).unwrap().unwrap();
        for size in [1, 97, 1000, 1_000_000] {
            let parts = RowParts::of_size(first, last, size);
            let other = s.db().second_reader().unwrap();
            let (mut found, theirs) = std::thread::scope(|sc| {
                let parts = &parts;
                let theirs = sc.spawn(move || judging.parts(other.db(), Some(parts)));
                let mine = judging.parts(s.db(), Some(parts));
                (mine, theirs.join().unwrap())
            });
            assert!(found.1.is_none() && theirs.1.is_none());
            found.0.merge(theirs.0);
            found.0.in_order();
            assert_eq!(key(&found.0), key(&whole), "parts of {size}");
        }
        // A part given back (as by a connection that could not read) and judged later.
        let parts = RowParts::of_size(first, last, 500);
        let given_back = parts.take().unwrap();
        let (mut found, failed) = judging.parts(s.db(), Some(&parts));
        assert!(failed.is_none());
        judging.part(s.db(), given_back, &mut found).unwrap();
        found.in_order();
        assert_eq!(key(&found), key(&whole));
    }

    /// A PDU's tallies and the kept cases, by CRN, for comparing findings however judged.
    fn findings_key(f: &RiskFindings) -> (Vec<String>, Vec<(String, RiskFigures)>) {
        let mut t: Vec<_> = f
            .tallies
            .iter()
            .map(|(k, v)| (k.clone(), v.figures()))
            .filter(|(_, f)| *f != RiskFigures::default())
            .collect();
        t.sort_by(|a, b| a.0.cmp(&b.0));
        let mut cases: Vec<String> = f.cases.iter().map(|c| format!("{c:?}")).collect();
        cases.sort();
        (cases, t)
    }

    /// The memos find what judging every case finds: on the days after they were made (the
    /// cases whose memo ran out judged afresh), after writes to cases, contacts, enquiries
    /// and assessments, in a region and a PDU, and again once a recorded run has mended them.
    #[test]
    fn the_memos_find_what_judging_every_case_finds() {
        let (_dir, p, as_of) = demo(3000, 11);
        let mut s = Store::open(&p, OpenMode::Existing).unwrap();
        let (policy, rules) = (Policy::defaults(), Rules::defaults());
        let memos = crate::store::memo::count(s.db()).unwrap();
        assert_eq!(memos, 3000, "the demo is built with its memos");
        let compare = |s: &Store, day: NaiveDate, scope: RiskScope<'_>| -> Option<Refresh> {
            let rows = read::case_alert_rows(s.db(), &policy, day, None).unwrap();
            let candidates: Candidates<'_> = rows.iter().map(|c| c.crn.as_str()).collect();
            let keep = Some(Keep {
                candidates: &candidates,
                rules: &rules,
            });
            let judging = Judging {
                policy: &policy,
                as_of: day,
                scope,
                keep,
            };
            let whole = every_case_here(s.db(), &policy, day, scope, keep).unwrap();
            let memo = judging.by_memo(s.db()).unwrap()?;
            assert_eq!(findings_key(&memo), findings_key(&whole), "{day} {scope:?}");
            Some(memo.refresh)
        };
        // Day by day, and then a week at a time, while the memos serve.
        let mut afresh = Vec::new();
        for days in (0..=14).chain((21..=84).step_by(7)) {
            let day = as_of + chrono::Duration::days(days);
            match compare(&s, day, RiskScope::All) {
                Some(Refresh::Named(n)) => afresh.push(n.len()),
                Some(other) => panic!("{other:?}"),
                None => break,
            }
        }
        assert!(afresh.len() > 10, "the memos served {} days", afresh.len());
        assert!(afresh[0] < 300, "{afresh:?}");
        assert!(afresh.windows(2).all(|w| w[0] <= w[1]), "{afresh:?}");
        // A run for a day before the memos were made cannot use them.
        assert!(compare(&s, as_of - chrono::Duration::days(3), RiskScope::All).is_none());

        // Writes drop the memos of the cases they touch.
        let crns: Vec<String> = s
            .db()
            .sql()
            .prepare("SELECT crn FROM cases ORDER BY crn LIMIT 6")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        s.db()
            .sql()
            .execute_batch(&format!(
                "UPDATE cases SET allocated_to = NULL, allocated_on = NULL,
                        unallocated_since = '2026-10-20' WHERE crn = '{0}';
                 INSERT INTO contacts (crn, date, kind) VALUES ('{1}', '2001-01-01', 'telephone');
                 INSERT INTO enquiries (crn, kind, requested_on)
                   VALUES ('{2}', 'domestic_abuse', '2026-10-29');
                 INSERT INTO assessments (crn, kind, completed_on, rosh)
                   VALUES ('{3}', 'review', '2026-10-28', 'HIGH');
                 UPDATE cases SET case_type = 'CUSTODY', release_date = '2026-11-20'
                  WHERE crn = '{4}';
                 DELETE FROM contacts WHERE crn = '{5}';",
                crns[0], crns[1], crns[2], crns[3], crns[4], crns[5]
            ))
            .unwrap();
        // An old contact leaves the case row alone: the contacts' own trigger drops it.
        let left: i64 = s
            .db()
            .sql()
            .query_row(
                "SELECT count(*) FROM case_risk WHERE crn IN (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params_from_iter(&crns[..5]),
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
        let day = as_of + chrono::Duration::days(2);
        let Some(Refresh::Named(judged)) = compare(&s, day, RiskScope::All) else {
            panic!("the memos serve after a few writes");
        };
        for crn in &crns[..5] {
            assert!(judged.contains(crn), "{crn} is judged afresh");
        }
        let pdu: String = s
            .db()
            .sql()
            .query_row("SELECT pdu FROM cases WHERE crn = ?1", [&crns[0]], |r| {
                r.get(0)
            })
            .unwrap();
        compare(&s, day, RiskScope::Region("London")).unwrap();
        compare(&s, day, RiskScope::Pdu(&pdu)).unwrap();

        // A recorded run mends them: the next run that day judges nothing afresh.
        let written =
            keep_memos(&mut s, &policy, day, None, &Refresh::Named(judged.clone())).unwrap();
        assert_eq!(written, judged.len());
        assert_eq!(
            compare(&s, day, RiskScope::All),
            Some(Refresh::Named(vec![]))
        );
        // Another policy's run starts them over.
        let mut other = policy.clone();
        other.enquiries.request_within_days += 1;
        assert_eq!(
            keep_memos(&mut s, &other, day, None, &Refresh::All).unwrap(),
            3000
        );
        assert!(compare(&s, day, RiskScope::All).is_none());
    }

    #[test]
    fn a_resolved_alert_is_read_back_from_last_night_as_stored_even_when_it_needs_escapes() {
        let (_dir, p, as_of) = demo(2000, 4);
        let mut s = Store::open(&p, OpenMode::Existing).unwrap();
        // Unallocated MAPPA cases whose CRNs JSON must escape (a quote, a backslash, a
        // control character), beside plain ones.
        let odd = ["Q\"00001", "Q\\00002", "Q\u{1}00003"];
        for crn in odd {
            s.db()
                .sql()
                .execute(
                    "INSERT INTO cases (crn, name, pdu, tier, rosh, mappa_category, mappa_level,
                                        case_type, sentence_date, unallocated_since)
                     VALUES (?1, 'N', 'HFKCW', 'A3', 'HIGH', 1, 2, 'LICENCE', '2026-01-01',
                             '2026-09-01')",
                    [crn],
                )
                .unwrap();
        }
        let (policy, rules) = (Policy::defaults(), Rules::defaults());
        let night = |s: &Store, day: NaiveDate| {
            let ev = crate::context::Evaluation::new(policy.clone(), rules.clone(), day);
            run(s.db(), &ev, None).unwrap()
        };
        let (mut first, pdus) = night(&s, as_of);
        record(&mut s, &mut first, &pdus, "t").unwrap();
        let mappa = |r: &Review, crn: &str| -> Vec<(Status, String, String, String)> {
            r.alerts
                .iter()
                .filter(|a| &*a.rule == "unallocated-mappa" && a.crn.as_deref() == Some(crn))
                .map(|a| {
                    let metrics = serde_json::to_string(&a.metrics).unwrap();
                    (
                        a.status,
                        a.first_seen.to_string(),
                        a.message().to_string(),
                        metrics,
                    )
                })
                .collect()
        };
        // Every unallocated MAPPA case of HFKCW allocated but one.
        let unallocated: Vec<String> = first
            .alerts
            .iter()
            .filter(|a| &*a.rule == "unallocated-mappa" && &*a.pdu == "HFKCW")
            .filter_map(|a| a.crn.as_deref().map(String::from))
            .collect();
        assert!(unallocated.len() > odd.len() + 1, "{unallocated:?}");
        let stays = unallocated
            .iter()
            .find(|c| !odd.contains(&c.as_str()))
            .unwrap();
        let po: String = s
            .db()
            .sql()
            .query_row(
                "SELECT staff_code FROM practitioners WHERE pdu = 'HFKCW' AND grade = 'PO'
                  ORDER BY staff_code LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        for crn in unallocated.iter().filter(|c| *c != stays) {
            s.db()
                .sql()
                .execute(
                    "UPDATE cases SET allocated_to = ?2, allocated_on = '2026-11-02',
                                      unallocated_since = NULL WHERE crn = ?1",
                    [crn, &po],
                )
                .unwrap();
        }
        let (second, _) = night(&s, as_of + chrono::Duration::days(1));
        for crn in &unallocated {
            let was = mappa(&first, crn);
            assert_eq!(was.len(), 1, "{crn:?}");
            let (_, since, message, metrics) = was[0].clone();
            let want = if crn == stays {
                // Still open: its first night carried, its figures tonight's.
                let now = mappa(&second, crn);
                assert_eq!(now.len(), 1);
                assert_eq!((now[0].0, &now[0].1), (Status::Ongoing, &since));
                continue;
            } else {
                vec![(Status::Resolved, since, message, metrics)]
            };
            assert_eq!(
                mappa(&second, crn),
                want,
                "{crn:?}: as last night stored it"
            );
        }
    }

    #[test]
    fn a_region_review_compares_with_that_region_of_the_last_run_only() {
        let (_dir, p, as_of) = demo(2000, 4);
        let mut s = Store::open(&p, OpenMode::Existing).unwrap();
        // A PDU in another region with an unallocated MAPPA case: alerts of its own.
        s.db()
            .sql()
            .execute_batch(
                "INSERT INTO pdus (code, name, region) VALUES ('NRT', 'North Town', 'North');
                 INSERT INTO cases (crn, name, pdu, tier, rosh, mappa_category, mappa_level,
                                    case_type, sentence_date, unallocated_since)
                 VALUES ('N000001', 'N', 'NRT', 'A3', 'HIGH', 1, 2, 'LICENCE', '2026-01-01',
                         '2026-09-01');",
            )
            .unwrap();
        let (policy, rules) = (Policy::defaults(), Rules::defaults());
        let (mut national, pdus) = run(
            s.db(),
            &crate::context::Evaluation::new(policy.clone(), rules.clone(), as_of),
            None,
        )
        .unwrap();
        assert!(national.alerts.iter().any(|a| &*a.pdu == "NRT"));
        record(&mut s, &mut national, &pdus, "t").unwrap();
        // Stored in statements of many rows: every alert once, whatever the remainder.
        assert!(national.alerts.len() > 64 && national.alerts.len() % 64 != 0);
        let stored: usize = s
            .db()
            .sql()
            .query_row(
                "SELECT count(DISTINCT key) FROM run_alerts WHERE run_id = ?1",
                [national.run_id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, national.alerts.len());
        let next = as_of + chrono::Duration::days(1);
        let (london, _) = run(
            s.db(),
            &crate::context::Evaluation::new(policy.clone(), rules.clone(), next),
            Some("London"),
        )
        .unwrap();
        assert!(!london.alerts.is_empty());
        assert!(
            london.alerts.iter().all(|a| &*a.pdu != "NRT"),
            "another region's alerts are neither listed nor resolved"
        );
        assert!(london.alerts.iter().any(|a| a.status == Status::Ongoing));
    }
}
