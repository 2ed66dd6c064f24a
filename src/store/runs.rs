//! The statements behind the nightly review: recorded runs and their incidents,
//! acknowledgements, silences, the overview cache and the trends. `alerts` decides what a
//! night means; this module only reads and writes its rows, inside whatever transaction the
//! caller holds.

use crate::store::Db;
use rusqlite::{OptionalExtension, Result, params};

use crate::incidents::{Ack, Silence};

/// A recorded run: its id and as-of date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunHead {
    pub id: i64,
    pub as_of: String,
}

/// The latest recorded run.
pub fn latest_run(db: Db<'_>) -> Result<Option<RunHead>> {
    let conn = db.conn();
    conn.query_row(
        "SELECT id, as_of FROM alert_runs ORDER BY as_of DESC LIMIT 1",
        [],
        |r| {
            Ok(RunHead {
                id: r.get(0)?,
                as_of: r.get(1)?,
            })
        },
    )
    .optional()
}

/// The latest run recorded strictly before `as_of`.
pub fn run_before(db: Db<'_>, as_of: &str) -> Result<Option<RunHead>> {
    let conn = db.conn();
    conn.query_row(
        "SELECT id, as_of FROM alert_runs WHERE as_of < ?1 ORDER BY as_of DESC LIMIT 1",
        [as_of],
        |r| {
            Ok(RunHead {
                id: r.get(0)?,
                as_of: r.get(1)?,
            })
        },
    )
    .optional()
}

/// One open incident of a run as stored, borrowed from SQLite's row (its members are JSON).
#[derive(Debug, Clone, Copy)]
pub struct IncidentRow<'a> {
    pub key: &'a str,
    pub first_seen: &'a str,
    pub nights: i64,
    pub rule: &'a str,
    pub severity: &'a str,
    pub scope: &'a str,
    pub pdu: &'a str,
    pub members: &'a str,
}

/// Calls `each` with every open incident of run `run_id`, of one region's PDUs, one PDU, or
/// all (both `None`). Rows are lent, not copied: a national run has thousands.
pub fn for_each_open_incident(
    db: Db<'_>,
    run_id: i64,
    region: Option<&str>,
    pdu: Option<&str>,
    mut each: impl FnMut(IncidentRow<'_>) -> Result<()>,
) -> Result<()> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT key, first_seen, nights, rule, severity, scope, pdu, members FROM run_incidents
          WHERE run_id = ?1 AND count > 0
            AND (?2 IS NULL OR pdu IN (SELECT code FROM pdus WHERE region = ?2))
            AND (?3 IS NULL OR pdu = ?3)",
    )?;
    let mut rows = stmt.query(params![run_id, region, pdu])?;
    while let Some(r) = rows.next()? {
        each(IncidentRow {
            key: r.get_ref(0)?.as_str()?,
            first_seen: r.get_ref(1)?.as_str()?,
            nights: r.get(2)?,
            rule: r.get_ref(3)?.as_str()?,
            severity: r.get_ref(4)?.as_str()?,
            scope: r.get_ref(5)?.as_str()?,
            pdu: r.get_ref(6)?.as_str()?,
            members: r.get_ref(7)?.as_str()?,
        })?;
    }
    Ok(())
}

/// The members (JSON) of one incident of a run.
pub fn incident_members(db: Db<'_>, run_id: i64, key: &str) -> Result<String> {
    let conn = db.conn();
    conn.prepare_cached("SELECT members FROM run_incidents WHERE run_id = ?1 AND key = ?2")?
        .query_row(params![run_id, key], |r| r.get(0))
}

/// An open incident's metrics, scope and members (JSON), as an acknowledgement needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenIncident {
    pub metrics: String,
    pub scope: String,
    pub members: String,
}

pub fn open_incident(db: Db<'_>, run_id: i64, key: &str) -> Result<Option<OpenIncident>> {
    let conn = db.conn();
    conn.query_row(
        "SELECT metrics, scope, members FROM run_incidents
          WHERE run_id = ?1 AND key = ?2 AND count > 0",
        params![run_id, key],
        |r| {
            Ok(OpenIncident {
                metrics: r.get(0)?,
                scope: r.get(1)?,
                members: r.get(2)?,
            })
        },
    )
    .optional()
}

/// The latest acknowledgement of each key, with the metric values it was given at.
pub fn latest_acks(db: Db<'_>) -> Result<Vec<(String, Ack)>> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT key, metrics, as_of, actor, note FROM alert_acks a
          WHERE id = (SELECT max(id) FROM alert_acks b WHERE b.key = a.key)",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Ack {
                metrics: serde_json::from_str(r.get_ref(1)?.as_str()?).unwrap_or_default(),
                as_of: r.get(2)?,
                by: r.get(3)?,
                note: r.get(4)?,
            },
        ))
    })?;
    rows.collect()
}

/// One acknowledgement to record.
#[derive(Debug, Clone, Copy)]
pub struct NewAck<'a> {
    pub key: &'a str,
    pub at: &'a str,
    pub actor: &'a str,
    pub note: &'a str,
    /// The metric values (JSON) it was given at.
    pub metrics: &'a str,
    /// The run it acknowledges.
    pub as_of: &'a str,
}

pub fn insert_ack(db: Db<'_>, a: &NewAck<'_>) -> Result<()> {
    let conn = db.conn();
    conn.execute(
        "INSERT INTO alert_acks (key, at, actor, note, metrics, as_of)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![a.key, a.at, a.actor, a.note, a.metrics, a.as_of],
    )
    .map(drop)
}

/// Silences not removed (active or not: the caller asks each whether it is active).
pub fn silences(db: Db<'_>) -> Result<Vec<Silence>> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT id, rule, pdu, crn, starts, until, reason, created_by, created_at
           FROM silences WHERE removed_at IS NULL ORDER BY until, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Silence {
            id: r.get(0)?,
            rule: r.get(1)?,
            pdu: r.get(2)?,
            crn: r.get(3)?,
            starts: r.get(4)?,
            until: r.get(5)?,
            reason: r.get(6)?,
            created_by: r.get(7)?,
            created_at: r.get(8)?,
        })
    })?;
    rows.collect()
}

/// Records a silence (its `id` is ignored); returns the new id.
pub fn insert_silence(db: Db<'_>, s: &Silence) -> Result<i64> {
    let conn = db.conn();
    conn.execute(
        "INSERT INTO silences (rule, pdu, crn, starts, until, reason, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            s.rule,
            s.pdu,
            s.crn,
            s.starts,
            s.until,
            s.reason,
            s.created_by,
            s.created_at
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Marks a silence in force as removed (kept in the table). `None` when there was no such
/// silence in force; otherwise the CRN it matched, if any.
pub fn remove_silence(db: Db<'_>, id: i64, by: &str, at: &str) -> Result<Option<Option<String>>> {
    let conn = db.conn();
    let changed = conn.execute(
        "UPDATE silences SET removed_by = ?2, removed_at = ?3 WHERE id = ?1 AND removed_at IS NULL",
        params![id, by, at],
    )?;
    if changed == 0 {
        return Ok(None);
    }
    conn.query_row("SELECT crn FROM silences WHERE id = ?1", [id], |r| r.get(0))
        .map(Some)
}

/// Whether the database holds a PDU with this code.
pub fn pdu_exists(db: Db<'_>, code: &str) -> Result<bool> {
    let conn = db.conn();
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM pdus WHERE code = ?1)",
        [code],
        |r| r.get(0),
    )
}

/// The region of a PDU, `None` for an unknown code.
pub fn region_of(db: Db<'_>, pdu: &str) -> Result<Option<String>> {
    let conn = db.conn();
    conn.query_row("SELECT region FROM pdus WHERE code = ?1", [pdu], |r| {
        r.get(0)
    })
    .optional()
}

/// The night of the last run recorded on or before `as_of`.
pub fn last_run_on_or_before(db: Db<'_>, as_of: &str) -> Result<Option<String>> {
    db.conn().query_row(
        "SELECT max(as_of) FROM alert_runs WHERE as_of <= ?1",
        [as_of],
        |r| r.get(0),
    )
}

/// The codes of a region's PDUs.
pub fn pdus_of_region(db: Db<'_>, region: &str) -> Result<Vec<String>> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached("SELECT code FROM pdus WHERE region = ?1")?;
    let rows = stmt.query_map([region], |r| r.get(0))?;
    rows.collect()
}

/// Bytes of a cached overview body kept per row. A region's body runs to tens of megabytes
/// at a million cases; written as one value it would be held twice more while it is written
/// (the text, and SQLite's copy of the bound value).
const CACHE_PART: usize = 1 << 20;

/// A cached overview body (JSON), if one is kept under `key`: its parts (rows `KEY#000000`,
/// `KEY#000001`, …), joined.
pub fn cached_overview(db: Db<'_>, key: &str) -> Result<Option<String>> {
    let conn = db.conn();
    let mut q = conn.prepare_cached(
        "SELECT body FROM overview_cache WHERE key >= ?1 || '#' AND key < ?1 || '$' ORDER BY key",
    )?;
    let mut rows = q.query([key])?;
    let mut body: Option<String> = None;
    while let Some(r) = rows.next()? {
        let part = r.get_ref(0)?.as_str()?;
        body.get_or_insert_with(String::new).push_str(part);
    }
    Ok(body)
}

/// Keeps an overview body under `key`, as `write` writes it, in parts of [`CACHE_PART`]
/// bytes, all or none. Tried once without waiting for a busy writer: a reader must not wait
/// out the busy timeout behind a long import or nightly run for a cache. A read-only file, a
/// busy writer or a failing `write` just means no cache this time.
pub fn cache_overview_nowait(
    db: Db<'_>,
    key: &str,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) {
    cache_in_parts_nowait(db, key, CACHE_PART, write);
}

fn cache_in_parts_nowait(
    db: Db<'_>,
    key: &str,
    part_size: usize,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) {
    let conn = db.conn();
    let wait: i64 = conn
        .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
        .unwrap_or(0);
    if conn.pragma_update(None, "busy_timeout", 0).is_err() {
        return;
    }
    let stored = (|| -> std::result::Result<(), Box<dyn std::error::Error>> {
        let tx =
            rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM overview_cache WHERE key = ?1 OR (key >= ?1 || '#' AND key < ?1 || '$')",
            [key],
        )?;
        let mut parts = PartWriter {
            insert: tx.prepare_cached("INSERT INTO overview_cache (key, body) VALUES (?1, ?2)")?,
            key,
            part_size,
            written: 0,
            buf: Vec::with_capacity(part_size.saturating_add(4)),
        };
        write(&mut parts)?;
        parts.finish()?;
        drop(parts);
        tx.commit()?;
        Ok(())
    })();
    // Nothing to report: the cache is an optimisation, and an unwritten one is recomputed.
    drop(stored);
    let _ = conn.pragma_update(None, "busy_timeout", wait);
}

/// Inserts what is written to it as the numbered parts of one cached body, each cut where a
/// character ends (each part is valid text on its own).
struct PartWriter<'a, 'k> {
    insert: rusqlite::CachedStatement<'a>,
    key: &'k str,
    part_size: usize,
    written: usize,
    buf: Vec<u8>,
}

impl PartWriter<'_, '_> {
    /// Inserts the first `len` bytes of the buffer as the next part.
    fn insert(&mut self, len: usize) -> std::io::Result<()> {
        let text = std::str::from_utf8(&self.buf[..len]).map_err(std::io::Error::other)?;
        let part_key = format!("{}#{:06}", self.key, self.written);
        self.insert
            .execute(params![part_key, text])
            .map_err(std::io::Error::other)?;
        self.written += 1;
        self.buf.drain(..len);
        Ok(())
    }

    /// Inserts the rest (an empty body still leaves one part, so that it reads as cached).
    fn finish(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() || self.written == 0 {
            self.insert(self.buf.len())?;
        }
        Ok(())
    }
}

impl std::io::Write for PartWriter<'_, '_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        while self.buf.len() > self.part_size {
            // Cut where the next character starts (UTF-8 continuation bytes are 10xxxxxx);
            // a character not yet whole waits for the next write.
            let Some(cut) = (self.part_size..self.buf.len()).find(|&i| self.buf[i] & 0xC0 != 0x80)
            else {
                break;
            };
            self.insert(cut)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts the run for `as_of`, replacing a run already recorded for that date (and, by
/// cascade, its rows); returns the new run's id: `id` when given (a working copy's run takes
/// the id its server reserved for it), or the next.
pub fn begin_run(
    db: Db<'_>,
    as_of: &str,
    recorded_at: &str,
    actor: &str,
    id: Option<i64>,
) -> Result<i64> {
    let conn = db.conn();
    conn.execute(
        "DELETE FROM alert_runs WHERE as_of = ?1 OR id = ?2",
        params![as_of, id],
    )?;
    conn.execute(
        "INSERT INTO alert_runs (id, as_of, recorded_at, actor) VALUES (?4, ?1, ?2, ?3)",
        params![as_of, recorded_at, actor, id],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Writes a run's PDU metrics: one row per PDU, its metrics as JSON.
pub fn insert_pdu_metrics<'a>(
    db: Db<'_>,
    run_id: i64,
    rows: impl IntoIterator<Item = (&'a str, String)>,
) -> Result<()> {
    let conn = db.conn();
    let mut ins = conn
        .prepare_cached("INSERT INTO run_pdu_metrics (run_id, pdu, metrics) VALUES (?1, ?2, ?3)")?;
    for (pdu, metrics) in rows {
        ins.execute(params![run_id, pdu, metrics])?;
    }
    Ok(())
}

/// One incident of a run to record, its members as JSON (see `schema::V_INCIDENTS`).
#[derive(Debug, Clone, Copy)]
pub struct NewIncident<'a> {
    pub key: &'a str,
    pub rule: &'a str,
    pub severity: &'a str,
    pub scope: &'a str,
    pub pdu: &'a str,
    pub count: i64,
    pub first_seen: &'a str,
    pub nights: u32,
    pub message: &'a str,
    pub metrics: &'a str,
    pub members: &'a str,
}

pub fn insert_incident(db: Db<'_>, run_id: i64, i: &NewIncident<'_>) -> Result<()> {
    let conn = db.conn();
    conn.prepare_cached(
        "INSERT INTO run_incidents (run_id, key, rule, severity, scope, pdu, count,
                                    first_seen, nights, message, metrics, members)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        run_id,
        i.key,
        i.rule,
        i.severity,
        i.scope,
        i.pdu,
        i.count,
        i.first_seen,
        i.nights,
        i.message,
        i.metrics,
        i.members,
    ])
    .map(drop)
}

/// Calls `each(as_of, pdu, metrics JSON)` for the PDU metrics of the last `runs` recorded
/// runs, oldest first.
pub fn for_each_recent_pdu_metrics(
    db: Db<'_>,
    runs: u32,
    mut each: impl FnMut(&str, &str, &str),
) -> Result<()> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT r.as_of, m.pdu, m.metrics FROM run_pdu_metrics m
           JOIN alert_runs r ON r.id = m.run_id
          WHERE r.id IN (SELECT id FROM alert_runs ORDER BY as_of DESC LIMIT ?1)
          ORDER BY r.as_of",
    )?;
    each_metrics_row(stmt.query([runs])?, &mut each)
}

/// Hands each `(as_of, pdu, metrics)` row to `each`.
fn each_metrics_row(
    mut rows: rusqlite::Rows<'_>,
    each: &mut impl FnMut(&str, &str, &str),
) -> Result<()> {
    while let Some(r) = rows.next()? {
        each(
            r.get_ref(0)?.as_str()?,
            r.get_ref(1)?.as_str()?,
            r.get_ref(2)?.as_str()?,
        );
    }
    Ok(())
}

/// Calls `each(as_of, pdu, metrics JSON)` for the PDU metrics of the runs recorded for
/// nights from `from` up to (not including) `before` (dates as `YYYY-MM-DD`), oldest first.
pub fn for_each_pdu_metrics_between(
    db: Db<'_>,
    from: &str,
    before: &str,
    mut each: impl FnMut(&str, &str, &str),
) -> Result<()> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT r.as_of, m.pdu, m.metrics FROM alert_runs r
           JOIN run_pdu_metrics m ON m.run_id = r.id
          WHERE r.as_of >= ?1 AND r.as_of < ?2
          ORDER BY r.as_of",
    )?;
    each_metrics_row(stmt.query([from, before])?, &mut each)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OpenMode, Store};

    fn parts(s: &Store) -> Vec<(String, String)> {
        let mut q = s
            .conn()
            .prepare("SELECT key, body FROM overview_cache ORDER BY key")
            .unwrap();
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn a_cached_body_is_kept_in_parts_cut_between_characters_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("c.db"), OpenMode::CreateIfMissing).unwrap();
        // Two-byte and four-byte characters astride every cut of a 5-byte part.
        let body = "{\"a\":\"é🙂é\"}".repeat(7);
        cache_in_parts_nowait(s.db(), "k", 5, |w| {
            for b in body.as_bytes().chunks(3) {
                w.write_all(b)?;
            }
            Ok(())
        });
        let stored = parts(&s);
        assert!(stored.len() > 10, "{stored:?}");
        assert!(
            stored
                .iter()
                .all(|(k, b)| k.starts_with("k#") && b.len() <= 5 + 3)
        );
        assert_eq!(
            cached_overview(s.db(), "k").unwrap().as_deref(),
            Some(&*body)
        );
        // A shorter body replaces every part of the longer one; another key is not read.
        cache_in_parts_nowait(s.db(), "k", 5, |w| w.write_all(b"{}"));
        assert_eq!(parts(&s).len(), 1);
        assert_eq!(cached_overview(s.db(), "k").unwrap().as_deref(), Some("{}"));
        assert_eq!(cached_overview(s.db(), "k#").unwrap(), None);
        assert_eq!(cached_overview(s.db(), "j").unwrap(), None);
    }

    #[test]
    fn a_failed_or_busy_cache_write_leaves_nothing_and_does_not_wait() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let s = Store::open(&path, OpenMode::CreateIfMissing).unwrap();
        cache_in_parts_nowait(s.db(), "k", 4, |w| {
            w.write_all(b"0123456789")?;
            Err(std::io::Error::other("stopped half way"))
        });
        assert_eq!(parts(&s), Vec::new());
        let other = Store::open(&path, OpenMode::Existing).unwrap();
        other.conn().execute_batch("BEGIN IMMEDIATE").unwrap();
        let t = std::time::Instant::now();
        cache_in_parts_nowait(s.db(), "k", 4, |w| w.write_all(b"{}"));
        // A write that waited would wait out the busy timeout (seconds), then succeed.
        assert!(t.elapsed() < crate::store::BUSY_TIMEOUT / 2);
        other.conn().execute_batch("ROLLBACK").unwrap();
        assert_eq!(cached_overview(s.db(), "k").unwrap(), None);
        assert_eq!(s.busy_timeout().unwrap(), crate::store::BUSY_TIMEOUT);
    }
}
