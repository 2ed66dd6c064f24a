//! Importing into PostgreSQL: each row read and checked as for a file (the same contract,
//! the same FILE:LINE:COLUMN problems), against the references and the cases the login may
//! see, then streamed by `COPY` into a staging table and merged in one transaction (see
//! `store::pg::load`). Nothing is written unless the whole file is good.

use std::path::Path;

use super::read::{self, Item};
use super::validate::{self, Cases, Record, Refs};
use super::write::FileKeys;
use super::{Counts, FileFormat, ImportError, ImportOptions, Kind, Progress, RowError};
use crate::domain::fmt_date;
use crate::store::pg::{LoadError, LoadKeys, Loaded, PgStore, Stage};
use crate::store::tally::{CaseKeys, Tallies};

/// Progress is reported every this many rows.
const PROGRESS_ROWS: u64 = 16384;

fn loaded(kind: Kind) -> Loaded {
    match kind {
        Kind::Pdus => Loaded::Pdus,
        Kind::Establishment => Loaded::Establishment,
        Kind::Practitioners => Loaded::Practitioners,
        Kind::Cases => Loaded::Cases,
        Kind::Contacts => Loaded::Contacts,
        Kind::Oversight => Loaded::Oversight,
        Kind::Enquiries => Loaded::Enquiries,
        Kind::Assessments => Loaded::Assessments,
    }
}

/// Imports `path` into the server in one transaction; as [`super::import_file`].
pub fn import_file_pg(
    pg: &mut PgStore,
    path: &Path,
    opts: &ImportOptions,
    progress: Progress<'_>,
) -> Result<Counts, ImportError> {
    let (file, total) = read::open(path)?;
    let reader = read::buffered(path, file)?;
    let format = opts.format.unwrap_or_else(|| FileFormat::from_path(path));
    let mut load = pg.begin_load(loaded(opts.kind))?;
    let refs = Refs::new(
        load.keys(LoadKeys::Pdus)?,
        load.keys(LoadKeys::Practitioners)?,
        opts.today,
    );
    let crns = if opts.kind.refers_to_cases() {
        load.keys(LoadKeys::Cases)?
    } else {
        Default::default()
    };
    let mut errors = Vec::new();
    let mut counts = Counts::default();
    // On the bulk path the tallies are counted here, as the SQLite bulk import counts them.
    let mut tallies = load.is_bulk().then(Tallies::default);
    {
        let mut stage = load.stage()?;
        let mut run = PgRun {
            kind: opts.kind,
            refs: &refs,
            cases: Cases::Seen(&crns),
            keys: FileKeys::default(),
            errors: &mut errors,
            counts: &mut counts,
            stage: &mut stage,
            tallies: tallies.as_mut(),
        };
        let mut on = |item: Item<'_>| -> Result<(), ImportError> {
            match item {
                Item::Problem(e) => run.errors.push(e),
                Item::Row(mut row, pos) => {
                    let checked = validate::validate(&mut row, run.cases, run.refs);
                    run.accept(row.line, checked)?;
                    if run.counts.rows.is_multiple_of(PROGRESS_ROWS) {
                        progress(pos.min(total), total);
                    }
                }
            }
            Ok(())
        };
        match format {
            FileFormat::Csv => read::read_csv(opts.kind, reader, opts.ignore_unknown, &mut on)?,
            FileFormat::Jsonl => {
                read::read_jsonl(path, opts.kind, reader, opts.ignore_unknown, &mut on)?
            }
        }
        progress(total, total);
        if errors.is_empty() {
            stage.finish()?;
        }
        // Otherwise the stream is dropped unfinished, which aborts it.
    }
    if !errors.is_empty() {
        // The transaction failed with the stream: ending it is all that is left to do.
        let _ = load.rollback();
        errors.sort_by_key(|e| e.line);
        return Err(ImportError::Invalid {
            file: path.to_path_buf(),
            errors,
        });
    }
    if let Some(t) = tallies {
        load.counted(t);
    }
    let merged = match load.merge() {
        Ok(m) => m,
        Err(LoadError::Refused(rows)) => {
            let _ = load.rollback();
            return Err(ImportError::Invalid {
                file: path.to_path_buf(),
                errors: rows
                    .into_iter()
                    .map(|(line, pdu)| {
                        RowError::new(
                            line,
                            "pdu",
                            "this login may not write the cases of this PDU (what it may \
                             write is set by its role and its PDUs in pdu_access)",
                            Some(&pdu),
                        )
                    })
                    .collect(),
            });
        }
        Err(LoadError::Pg(e)) => return Err(e.into()),
    };
    counts.inserted = merged.inserted;
    counts.updated = merged.updated;
    if opts.kind.is_keyed() {
        counts.unchanged = counts.rows - merged.inserted - merged.updated;
    } else {
        counts.skipped = counts.rows - merged.inserted;
    }
    if opts.dry_run || counts.inserted + counts.updated == 0 {
        load.rollback()?;
        return Ok(counts);
    }
    // The audit row goes in with the rows it describes, or not at all.
    let after = super::write::audit_after(path, opts, &counts);
    crate::actions::record_audit_in(load.triage(), &super::write::audit_entry(opts, &after))?;
    load.commit()?;
    Ok(counts)
}

/// Drives checking and staging over a file.
struct PgRun<'r, 'a> {
    kind: Kind,
    refs: &'r Refs,
    cases: Cases<'r>,
    keys: FileKeys,
    errors: &'r mut Vec<RowError>,
    counts: &'r mut Counts,
    stage: &'r mut Stage<'a>,
    tallies: Option<&'r mut Tallies>,
}

impl PgRun<'_, '_> {
    fn accept(
        &mut self,
        line: u64,
        checked: Result<Record, Vec<RowError>>,
    ) -> Result<(), ImportError> {
        self.counts.rows += 1;
        match checked {
            Err(es) => self.errors.extend(es),
            Ok(rec) => {
                if let Some(key) = rec.key()
                    && let Err(e) = self.keys.first(self.kind, line, key)
                {
                    self.errors.push(e);
                    return Ok(());
                }
                // Once the file is known to be bad, staging is wasted work: keep checking.
                if self.errors.is_empty() {
                    stage_record(self.stage, line, &rec)?;
                    if let (Some(t), Record::Case(c, _)) = (self.tallies.as_deref_mut(), &rec) {
                        let allocated_on = c.allocated_on.map(fmt_date).unwrap_or_default();
                        t.add(&CaseKeys::of_new_case(c, c.tier.as_str(), &allocated_on));
                    }
                }
            }
        }
        Ok(())
    }
}

fn d(date: chrono::NaiveDate) -> String {
    fmt_date(date)
}

fn flag(given: bool) -> Option<&'static str> {
    Some(if given { "t" } else { "f" })
}

/// Stages a record's values in the order of `Loaded::columns`.
fn stage_record(stage: &mut Stage<'_>, line: u64, rec: &Record) -> Result<(), ImportError> {
    let od = |d: Option<chrono::NaiveDate>| d.map(fmt_date);
    match rec {
        Record::Pdu(p) => stage.row(
            line,
            &[
                Some(&p.code),
                Some(&p.name),
                Some(&p.region),
                p.ppf_status.map(|s| s.as_str()),
                p.rating.map(|r| r.as_str()),
                p.score.map(|n| n.to_string()).as_deref(),
                p.score_max.map(|n| n.to_string()).as_deref(),
                od(p.inspected_on).as_deref(),
            ],
        ),
        Record::Establishment(e) => stage.row(
            line,
            &[
                Some(&e.pdu),
                Some(e.grade.as_str()),
                Some(&e.target_fte.to_string()),
            ],
        ),
        Record::Practitioner(p) => stage.row(
            line,
            &[
                Some(&p.staff_code),
                Some(&p.name),
                Some(p.grade.as_str()),
                Some(&p.pdu),
                p.team.as_deref(),
                Some(&p.contracted_hours.to_string()),
                Some(&d(p.start_date)),
                Some(p.status.as_str()),
            ],
        ),
        Record::Case(c, given) => stage.row(
            line,
            &[
                Some(c.crn.as_str()),
                Some(&c.name),
                Some(&c.pdu),
                c.team.as_deref(),
                Some(c.tier.as_str()),
                c.rosh.map(|r| r.as_str()),
                Some(&c.mappa.category.to_string()),
                Some(&c.mappa.level.to_string()),
                Some(c.case_type.as_str()),
                Some(&d(c.sentence_date)),
                od(c.release_date).as_deref(),
                c.allocated_to.as_deref(),
                od(c.allocated_on).as_deref(),
                od(c.unallocated_since).as_deref(),
                c.custody_kind.map(|k| k.as_str()),
                c.ethnicity.map(|k| k.as_str()),
                c.sex.map(|k| k.as_str()),
                c.age_band.map(|k| k.as_str()),
                flag(given.custody_kind),
                flag(given.ethnicity),
                flag(given.sex),
                flag(given.age_band),
            ],
        ),
        Record::Contact(c) => stage.row(
            line,
            &[
                Some(c.crn.as_str()),
                Some(&d(c.date)),
                Some(c.kind.as_str()),
                c.staff_code.as_deref(),
            ],
        ),
        Record::Oversight(o) => stage.row(
            line,
            &[
                Some(o.crn.as_str()),
                Some(&d(o.date)),
                Some(&o.spo_staff_code),
                Some(o.kind.as_str()),
                Some(&o.note),
            ],
        ),
        Record::Enquiry { crn, enquiry: e } => stage.row(
            line,
            &[
                Some(crn.as_str()),
                Some(e.kind.as_str()),
                Some(&d(e.requested_on)),
                od(e.returned_on).as_deref(),
                e.outcome.map(|o| o.as_str()),
            ],
        ),
        Record::Assessment { crn, assessment: a } => stage.row(
            line,
            &[
                Some(crn.as_str()),
                Some(a.kind.as_str()),
                Some(&d(a.completed_on)),
                Some(a.rosh.as_str()),
            ],
        ),
    }?;
    Ok(())
}
