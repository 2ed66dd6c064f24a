//! Recounting the tallies (see `schema::V_TALLIES`) from scratch: after a migration, a demo
//! build or a bulk import, which load rows with the triggers off.
//!
//! One pass over the cases: SQLite computes each row's keys with the triggers' own
//! expressions (`schema::TALLY_KEYS`), the sums are made here, and the buckets are written in
//! key order. Four `INSERT ... SELECT ... GROUP BY` statements did the same in three times the
//! time at a million cases (each sorts every case through a temporary B-tree).

use rusqlite::{Connection, params};
// A million rows hash five small keys each: Fx is several times cheaper than SipHash, and
// these keys come from our own database, not from an adversary choosing collisions.
use rustc_hash::FxHashMap as HashMap;

use super::batch::BatchInsert;
use super::schema;

/// Small strings seen many times (PDU codes, dates, tiers, staff codes), numbered once.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_owned());
        self.ids.insert(s.to_owned(), i);
        i
    }

    fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }
}

/// Empties and refills every tally from the cases table.
pub fn rebuild(conn: &Connection) -> rusqlite::Result<()> {
    let mut words = Interner::default();
    let mut pdus: HashMap<u32, [i64; 6]> = HashMap::default();
    let mut contact: HashMap<(u32, u32, bool, bool, u32), i64> = HashMap::default();
    let mut oversight: HashMap<(u32, bool, bool, u32), i64> = HashMap::default();
    let mut caseload: HashMap<(u32, u32), (i64, i64)> = HashMap::default();
    {
        let mut stmt = conn.prepare(schema::TALLY_KEYS)?;
        let mut rows = stmt.raw_query();
        while let Some(r) = rows.next()? {
            let text = |i| -> rusqlite::Result<&str> { Ok(r.get_ref(i)?.as_str()?) };
            let flag = |i| -> rusqlite::Result<bool> { Ok(r.get::<_, Option<i64>>(i)? == Some(1)) };
            let pdu = words.id(text(0)?);
            let counts = pdus.entry(pdu).or_default();
            counts[0] += 1;
            for (slot, col) in counts[1..].iter_mut().zip(3..) {
                *slot += i64::from(flag(col)?);
            }
            let Some(staff) = r.get_ref(1)?.as_str_or_null()? else {
                continue;
            };
            let staff = words.id(staff);
            let band = words.id(text(8)?);
            let contact_since = words.id(text(11)?);
            *contact
                .entry((pdu, band, flag(9)?, flag(10)?, contact_since))
                .or_default() += 1;
            let high_risk = flag(13)?;
            let oversight_since = words.id(text(14)?);
            *oversight
                .entry((pdu, flag(12)?, high_risk, oversight_since))
                .or_default() += 1;
            let tier = words.id(text(2)?);
            let load = caseload.entry((staff, tier)).or_default();
            load.0 += 1;
            load.1 += i64::from(high_risk);
        }
    }
    conn.execute_batch(
        "DELETE FROM tally_pdu; DELETE FROM tally_contact; DELETE FROM tally_oversight;
         DELETE FROM tally_caseload;",
    )?;
    let w = |i: u32| words.name(i);
    let mut rows: Vec<_> = pdus.into_iter().collect();
    rows.sort_unstable_by(|a, b| w(a.0).cmp(w(b.0)));
    let mut ins = BatchInsert::new(
        conn,
        "tally_pdu",
        "pdu, cases, unallocated, unallocated_mappa, unallocated_high, mappa, no_rosh",
    );
    for (pdu, c) in rows {
        ins.push(params![w(pdu), c[0], c[1], c[2], c[3], c[4], c[5]])?;
    }
    ins.flush()?;
    let mut rows: Vec<_> = contact.into_iter().collect();
    rows.sort_unstable_by(|(a, _), (b, _)| {
        (w(a.0), w(a.1), a.2, a.3, w(a.4)).cmp(&(w(b.0), w(b.1), b.2, b.3, w(b.4)))
    });
    let mut ins = BatchInsert::new(conn, "tally_contact", "pdu, band, custody, high, since, n");
    for ((pdu, band, custody, high, since), n) in rows {
        ins.push(params![w(pdu), w(band), custody, high, w(since), n])?;
    }
    ins.flush()?;
    let mut rows: Vec<_> = oversight.into_iter().collect();
    rows.sort_unstable_by(|(a, _), (b, _)| {
        (w(a.0), a.1, a.2, w(a.3)).cmp(&(w(b.0), b.1, b.2, w(b.3)))
    });
    let mut ins = BatchInsert::new(conn, "tally_oversight", "pdu, pending, high, since, n");
    for ((pdu, pending, high, since), n) in rows {
        ins.push(params![w(pdu), pending, high, w(since), n])?;
    }
    ins.flush()?;
    let mut rows: Vec<_> = caseload.into_iter().collect();
    rows.sort_unstable_by(|(a, _), (b, _)| (w(a.0), w(a.1)).cmp(&(w(b.0), w(b.1))));
    let mut ins = BatchInsert::new(conn, "tally_caseload", "staff_code, tier, n, high");
    for ((staff, tier), (n, high)) in rows {
        ins.push(params![w(staff), w(tier), n, high])?;
    }
    ins.flush()
}
