//! Recounting the tallies (see `schema::V_TALLIES`) from scratch: after a migration, a demo
//! build or a bulk import, which load rows with the triggers off.
//!
//! One pass over the cases: SQLite computes each row's keys with the triggers' own
//! expressions (`schema::TALLY_KEYS`), the sums are made here, and the buckets are written in
//! key order. Four `INSERT ... SELECT ... GROUP BY` statements did the same in three times the
//! time at a million cases (each sorts every case through a temporary B-tree).
//!
//! A bulk import of cases into an empty table skips even that pass: the keys of each new
//! case are computed in Rust as it is read ([`CaseKeys::of_new_case`], a second definition
//! beside the SQL, which `import::tests::tallies_counted_from_new_rows_equal_a_recount_from_the_table`
//! holds to the same tallies).

use crate::store::Db;
use rusqlite::params;
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

/// One case's place in the tallies: the columns of `schema::TALLY_KEYS`.
pub struct CaseKeys<'a> {
    pub pdu: &'a str,
    pub allocated_to: Option<&'a str>,
    pub tier: &'a str,
    /// unallocated, unallocated_mappa, unallocated_high, mappa, no_rosh
    pub flags: [bool; 5],
    pub band: &'a str,
    pub custody: bool,
    pub contact_high: bool,
    pub contact_since: &'a str,
    pub pending: bool,
    pub high_risk: bool,
    pub oversight_since: &'a str,
}

impl<'a> CaseKeys<'a> {
    /// The keys of a case with no contacts or oversight on record, computed here as the
    /// triggers compute them in SQL (a test holds the two to the same answers). `dates` holds
    /// the case's `allocated_on` as text.
    pub fn of_new_case(
        c: &'a crate::domain::Case,
        tier: &'a str,
        allocated_on: &'a str,
    ) -> CaseKeys<'a> {
        use crate::domain::{CaseType, Rosh};
        let unallocated = c.allocated_to.is_none();
        let high_rosh = matches!(c.rosh, Some(Rosh::High | Rosh::VeryHigh));
        let mappa = c.mappa.category > 0;
        let band = match c.rosh {
            Some(Rosh::VeryHigh) => "vh",
            _ if mappa && c.mappa.level >= 2 => "vh",
            Some(Rosh::High) => "h",
            Some(Rosh::Medium) => "m",
            Some(Rosh::Low) => "l",
            None => "u",
        };
        CaseKeys {
            pdu: &c.pdu,
            allocated_to: c.allocated_to.as_deref(),
            tier,
            flags: [
                unallocated,
                unallocated && mappa,
                unallocated && high_rosh,
                mappa,
                c.rosh.is_none(),
            ],
            band,
            custody: c.case_type == CaseType::Custody,
            contact_high: high_rosh || c.mappa.level >= 2,
            // max('', allocated_on), and '' < allocated_on, with no contact or oversight.
            contact_since: allocated_on,
            pending: true,
            high_risk: high_rosh || mappa,
            oversight_since: allocated_on,
        }
    }
}

/// The tally tables and their columns, in the order [`Tallies::each_row`] gives values.
pub const TABLES: [(&str, &str); 4] = [
    (
        "tally_pdu",
        "pdu, cases, unallocated, unallocated_mappa, unallocated_high, mappa, no_rosh",
    ),
    ("tally_contact", "pdu, band, custody, high, since, n"),
    ("tally_oversight", "pdu, pending, high, since, n"),
    ("tally_caseload", "staff_code, tier, n, high"),
];

/// The four tallies, summed in memory and written at once.
#[derive(Default)]
pub struct Tallies {
    words: Interner,
    pdus: HashMap<u32, [i64; 6]>,
    contact: HashMap<(u32, u32, bool, bool, u32), i64>,
    oversight: HashMap<(u32, bool, bool, u32), i64>,
    caseload: HashMap<(u32, u32), (i64, i64)>,
}

impl Tallies {
    /// Counts one case.
    pub fn add(&mut self, k: &CaseKeys<'_>) {
        let words = &mut self.words;
        let pdu = words.id(k.pdu);
        let counts = self.pdus.entry(pdu).or_default();
        counts[0] += 1;
        for (slot, flag) in counts[1..].iter_mut().zip(k.flags) {
            *slot += i64::from(flag);
        }
        let Some(staff) = k.allocated_to else {
            return;
        };
        let staff = words.id(staff);
        let band = words.id(k.band);
        let contact_since = words.id(k.contact_since);
        *self
            .contact
            .entry((pdu, band, k.custody, k.contact_high, contact_since))
            .or_default() += 1;
        let oversight_since = words.id(k.oversight_since);
        *self
            .oversight
            .entry((pdu, k.pending, k.high_risk, oversight_since))
            .or_default() += 1;
        let tier = words.id(k.tier);
        let load = self.caseload.entry((staff, tier)).or_default();
        load.0 += 1;
        load.1 += i64::from(k.high_risk);
    }

    /// Every row of table `table` of [`TABLES`], in no particular order: its values as
    /// text, booleans as `t` and `f` (PostgreSQL's `COPY` text).
    pub fn each_row(&self, table: usize, mut f: impl FnMut(&[&str])) {
        let w = |i: u32| self.words.name(i);
        let b = |v: bool| if v { "t" } else { "f" };
        match table {
            0 => {
                for (&pdu, c) in &self.pdus {
                    let n = c.map(|v| v.to_string());
                    f(&[w(pdu), &n[0], &n[1], &n[2], &n[3], &n[4], &n[5]]);
                }
            }
            1 => {
                for (&(pdu, band, custody, high, since), n) in &self.contact {
                    f(&[
                        w(pdu),
                        w(band),
                        b(custody),
                        b(high),
                        w(since),
                        &n.to_string(),
                    ]);
                }
            }
            2 => {
                for (&(pdu, pending, high, since), n) in &self.oversight {
                    f(&[w(pdu), b(pending), b(high), w(since), &n.to_string()]);
                }
            }
            _ => {
                for (&(staff, tier), (n, high)) in &self.caseload {
                    f(&[w(staff), w(tier), &n.to_string(), &high.to_string()]);
                }
            }
        }
    }

    /// Replaces every tally in the database with these sums.
    pub fn write(self, db: Db<'_>) -> rusqlite::Result<()> {
        let conn = db.conn();
        let Tallies {
            words,
            pdus,
            contact,
            oversight,
            caseload,
        } = self;
        conn.execute_batch(
            "DELETE FROM tally_pdu; DELETE FROM tally_contact; DELETE FROM tally_oversight;
             DELETE FROM tally_caseload;",
        )?;
        let w = |i: u32| words.name(i);
        let mut rows: Vec<_> = pdus.into_iter().collect();
        rows.sort_unstable_by(|a, b| w(a.0).cmp(w(b.0)));
        let mut ins = BatchInsert::new(Db::new(conn), TABLES[0].0, TABLES[0].1);
        for (pdu, c) in rows {
            ins.push(params![w(pdu), c[0], c[1], c[2], c[3], c[4], c[5]])?;
        }
        ins.flush()?;
        let mut rows: Vec<_> = contact.into_iter().collect();
        rows.sort_unstable_by(|(a, _), (b, _)| {
            (w(a.0), w(a.1), a.2, a.3, w(a.4)).cmp(&(w(b.0), w(b.1), b.2, b.3, w(b.4)))
        });
        let mut ins = BatchInsert::new(Db::new(conn), TABLES[1].0, TABLES[1].1);
        for ((pdu, band, custody, high, since), n) in rows {
            ins.push(params![w(pdu), w(band), custody, high, w(since), n])?;
        }
        ins.flush()?;
        let mut rows: Vec<_> = oversight.into_iter().collect();
        rows.sort_unstable_by(|(a, _), (b, _)| {
            (w(a.0), a.1, a.2, w(a.3)).cmp(&(w(b.0), b.1, b.2, w(b.3)))
        });
        let mut ins = BatchInsert::new(Db::new(conn), TABLES[2].0, TABLES[2].1);
        for ((pdu, pending, high, since), n) in rows {
            ins.push(params![w(pdu), pending, high, w(since), n])?;
        }
        ins.flush()?;
        let mut rows: Vec<_> = caseload.into_iter().collect();
        rows.sort_unstable_by(|(a, _), (b, _)| (w(a.0), w(a.1)).cmp(&(w(b.0), w(b.1))));
        let mut ins = BatchInsert::new(Db::new(conn), TABLES[3].0, TABLES[3].1);
        for ((staff, tier), (n, high)) in rows {
            ins.push(params![w(staff), w(tier), n, high])?;
        }
        ins.flush()
    }
}

/// Empties and refills every tally from the cases table.
pub fn rebuild(db: Db<'_>) -> rusqlite::Result<()> {
    let conn = db.conn();
    let mut tallies = Tallies::default();
    {
        let mut stmt = conn.prepare(schema::TALLY_KEYS)?;
        let mut rows = stmt.raw_query();
        while let Some(r) = rows.next()? {
            let text = |i| -> rusqlite::Result<&str> { Ok(r.get_ref(i)?.as_str()?) };
            let flag = |i| -> rusqlite::Result<bool> { Ok(r.get::<_, Option<i64>>(i)? == Some(1)) };
            let allocated_to = r.get_ref(1)?.as_str_or_null()?;
            // Unallocated cases have no contact or oversight clock: those columns are NULL.
            let or_none =
                |i| -> rusqlite::Result<&str> { Ok(r.get_ref(i)?.as_str_or_null()?.unwrap_or("")) };
            tallies.add(&CaseKeys {
                pdu: text(0)?,
                allocated_to,
                tier: text(2)?,
                flags: [flag(3)?, flag(4)?, flag(5)?, flag(6)?, flag(7)?],
                band: text(8)?,
                custody: flag(9)?,
                contact_high: flag(10)?,
                contact_since: or_none(11)?,
                pending: flag(12)?,
                high_risk: flag(13)?,
                oversight_since: or_none(14)?,
            });
        }
    }
    tallies.write(Db::new(conn))
}
