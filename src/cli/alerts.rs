//! The alert commands: `alerts` (the nightly run), `review` (the morning worklist), and
//! `silence`, `silences` and `unsilence`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use crate::store::Store;

use super::args::{
    self, AlertFormat, AlertsArgs, Audience, Format, ReviewArgs, SilenceArgs, SilencesArgs,
    UnsilenceArgs,
};
use super::{
    Cli, Settings, actor, evaluation, fault_error, file_write_error, load_rules,
    open_any_for_reading, open_for_reading, open_for_triage, open_for_writing, to_stdout,
    write_stdout,
};
use crate::actions::{self, ActionError};
use crate::alerts::SilenceError;

/// `casewatch alerts`: evaluates the rules, records the run if asked, and reports it. Exit 3
/// when there is a new critical alert.
pub(super) fn alerts(cli: &Cli, ctx: &Settings, a: &AlertsArgs) -> Result<ExitCode> {
    let eval = evaluation(cli, ctx)?;
    // On PostgreSQL the night is evaluated and recorded on a working copy of the whole
    // region, then written to the server.
    let server = ctx.db.to_str().filter(|d| crate::store::pg::is_url(d));
    let mut store = if a.record && server.is_none() {
        open_for_writing(ctx)?
    } else {
        open_for_reading(ctx)?
    };
    let classify = |e| crate::store::classify(&ctx.db, e);
    if let Some(code) = &a.pdu {
        known_pdu(&store, code)?;
    }
    let markdown = a.format == AlertFormat::Markdown;
    let crate::alerts::FullRun {
        mut review,
        pdus: gathered,
        worklists,
        refresh,
    } = crate::alerts::run_full(
        store.db(),
        &eval,
        a.region.as_deref(),
        markdown.then_some(10),
    )
    .map_err(classify)?;
    if a.record {
        // On the server the run's id is reserved first and the copy records under it, so
        // that the copy and the server name the run alike.
        let mut pg = match server {
            Some(url) => {
                let reserved = crate::store::pg::PgStore::open(url)
                    .map_err(crate::store::pg::CopyError::from)
                    .and_then(|mut pg| Ok((pg.reserve_run_id()?, pg)));
                match reserved {
                    Ok(found) => Some(found),
                    Err(e) => anyhow::bail!("the run was not recorded: {e}"),
                }
            }
            None => None,
        };
        // The night's commit returns without copying its log into the file: that is done
        // beside the report, below.
        let _ = store.db().defer_checkpoints();
        record_retrying(
            &mut store,
            &mut review,
            &gathered,
            &actor(cli),
            pg.as_ref().map(|(id, _)| *id),
            actions::WRITE_ATTEMPTS,
        )
        .map_err(|e| match e {
            ActionError::Sqlite(s) => classify(s).into(),
            e => anyhow::anyhow!("the run was not recorded: {e}"),
        })?;
        if let Some((run_id, pg)) = pg.as_mut()
            && let Err(e) = pg.push_run(store.db(), *run_id)
        {
            // A kept copy holds a run the server does not: read afresh next time. (One in
            // memory is gone at exit.)
            if ctx.working_copy.is_some() {
                let _ = crate::store::pg::forget_mark(&store);
            }
            anyhow::bail!("the run was not recorded: {e}");
        }
    }
    let mut worklists = worklists;
    if let Some(code) = &a.pdu {
        review.scope_to_pdu(code);
        worklists.retain(|w| &w.pdu == code);
    }
    // The memos are mended, and the night's log copied into the file, while the report is
    // written: the memos only spare the next run work, and the run stands without them.
    // The night is copied beside the mending, and what the mending wrote after it, so that
    // the log holds nothing left to copy when the database is closed (which would otherwise
    // copy it, after the report).
    let checkpointer = || a.record.then(|| store.db().checkpointer()).flatten();
    let (copy_night, copy_memos) = (checkpointer(), checkpointer());
    let (reported, mended) = std::thread::scope(|s| {
        let store = &mut store;
        // (A working copy in memory goes at exit: nothing to mend. A kept one is mended.)
        let mend = a.record && (server.is_none() || ctx.working_copy.is_some());
        let (eval, refresh) = (&eval, &refresh);
        let night_copied = copy_night.map(|c| s.spawn(c));
        let after = s.spawn(move || {
            let mended = mend.then(|| {
                crate::alerts::keep_memos(
                    store,
                    &eval.policy,
                    eval.as_of,
                    a.region.as_deref(),
                    refresh,
                )
            });
            // One checkpoint at a time: a second would find the first busy and copy nothing.
            let copied = night_copied.map(|h| h.join());
            if let Some(copy) = copy_memos.filter(|_| mend) {
                copy();
            }
            (mended, copied)
        });
        let reported = report(a, &review, &worklists);
        (reported, after.join())
    });
    let mended = match mended {
        Ok((_, Some(Err(panic)))) | Err(panic) => std::panic::resume_unwind(panic),
        Ok((mended, _)) => mended,
    };
    if let Some(Err(e)) = mended {
        eprintln!(
            "casewatch: note: the risk checks' memos were not brought up to date ({}); \
             the next run judges those cases afresh",
            classify(e)
        );
    }
    reported?;
    let code = if review.has_new_critical() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    };
    // The process ends with this command: a national run's alerts (hundreds of thousands,
    // each with its strings) are left to the operating system rather than freed one by one
    // (0.1 s at 1M). The database is closed as usual when `store` drops.
    std::mem::forget(review);
    std::mem::forget(worklists);
    Ok(code)
}

/// Writes the run's report in the format asked for, to the file or standard output.
fn report(
    a: &AlertsArgs,
    review: &crate::alerts::Review,
    worklists: &[crate::alerts::PduReview],
) -> Result<()> {
    // JSON is streamed, and compact: a national night is 150 MB so (205 MB indented, and
    // 0.2-0.4 s more to write at 1M). It is for programs; `jq .` indents it for reading.
    let text = match a.format {
        AlertFormat::Text => Some(crate::report::alerts_text(review, a.members)),
        AlertFormat::Json => None,
        AlertFormat::Markdown => Some(crate::report::morning_markdown(review, worklists)),
    };
    let write = |w: &mut dyn Write| -> std::io::Result<()> {
        match &text {
            Some(t) => w.write_all(t.as_bytes()),
            None => {
                // serde writes a token at a time: buffered here, those writes are inlined
                // rather than each going through `dyn Write`.
                let mut w = std::io::BufWriter::with_capacity(1 << 16, w);
                serde_json::to_writer(&mut w, review)?;
                w.write_all(b"\n")?;
                w.flush()
            }
        }
    };
    match &a.out {
        Some(path) => {
            crate::export::write_private_with(path, write)
                .map_err(|e| file_write_error(path, e))?;
            eprintln!(
                "casewatch: {} incidents ({} new critical alerts) written to {}",
                review.counts.incidents,
                review.counts.new_critical,
                path.display()
            );
        }
        None => to_stdout(write)?,
    }
    Ok(())
}

/// `casewatch review`: the morning worklist, of one PDU or of all (or a region's).
pub(super) fn review(cli: &Cli, ctx: &Settings, a: &ReviewArgs) -> Result<ExitCode> {
    let eval = evaluation(cli, ctx)?;
    let store = open_for_reading(ctx)?;
    let classify = |e| crate::store::classify(&ctx.db, e);
    let mut pdus: Vec<String> = Vec::new();
    let mut text = match &a.pdu {
        Some(code) => {
            let Some(p) =
                crate::alerts::review_pdu(store.db(), &eval, code, a.limit).map_err(classify)?
            else {
                anyhow::bail!("no PDU '{}'", crate::text::quote_value(code, 40));
            };
            pdus.push(p.pdu.clone());
            match a.format {
                AlertFormat::Text => crate::report::review_text(&p),
                AlertFormat::Json => format!("{}\n", serde_json::to_string_pretty(&p)?),
                AlertFormat::Markdown => crate::report::pdu_section_markdown(&p, a.limit),
            }
        }
        None => {
            let crate::alerts::FullRun {
                review,
                worklists: reviews,
                ..
            } = crate::alerts::run_full(store.db(), &eval, a.region.as_deref(), Some(a.limit))
                .map_err(classify)?;
            pdus = crate::report::worst_first(&reviews)
                .into_iter()
                .map(|p| p.pdu.clone())
                .collect();
            match a.format {
                AlertFormat::Text => crate::report::reviews_text(&reviews),
                AlertFormat::Json => {
                    format!("{}\n", serde_json::to_string_pretty(&reviews)?)
                }
                AlertFormat::Markdown => crate::report::morning_markdown(&review, &reviews),
            }
        }
    };
    if a.audience == Audience::Head {
        text = with_support(cli, ctx, &eval, store.db(), a, &pdus, text)?;
    }
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The review with each PDU's "who needs support" after it (heads of PDU); in JSON, an
/// object of the two.
fn with_support(
    cli: &Cli,
    ctx: &Settings,
    eval: &crate::context::Evaluation,
    db: crate::store::Db<'_>,
    a: &ReviewArgs,
    pdus: &[String],
    review: String,
) -> Result<String> {
    let classify = |e| crate::store::classify(&ctx.db, e);
    let mut reports: Vec<crate::outliers::Report> = Vec::new();
    let mut order: Vec<(usize, &str)> = Vec::new();
    for code in pdus {
        let region = crate::store::runs::region_of(db, code)
            .map_err(classify)?
            .unwrap_or_default();
        let i = match reports.iter().position(|r| r.region == region) {
            Some(i) => i,
            None => {
                reports.push(
                    crate::store::read::support::support_report(
                        db,
                        &eval.policy,
                        eval.as_of,
                        &region,
                    )
                    .map_err(classify)?,
                );
                reports.len() - 1
            }
        };
        order.push((i, code));
    }
    Ok(match a.format {
        AlertFormat::Json => {
            let review: serde_json::Value = serde_json::from_str(&review)?;
            let support: Vec<_> = order
                .iter()
                .map(|(i, code)| reports[*i].pdu_view(code))
                .collect();
            format!(
                "{}\n",
                serde_json::to_string_pretty(&serde_json::json!({
                    "review": review,
                    "support": support,
                }))?
            )
        }
        f => {
            let markdown = f == AlertFormat::Markdown;
            let mut s = review;
            s.push_str(if markdown {
                "\n## Who needs support (for heads of PDU)\n\n"
            } else {
                "\n== Who needs support (for heads of PDU) ==\n\n"
            });
            for (i, code) in &order {
                s.push_str(&crate::report::support_section(
                    &reports[*i],
                    code,
                    a.limit,
                    cli.mask,
                    markdown,
                ));
                s.push('\n');
            }
            s
        }
    })
}

/// `casewatch silence`: silences what the matchers name until a date, with a reason.
pub(super) fn silence(cli: &Cli, ctx: &Settings, a: &SilenceArgs) -> Result<ExitCode> {
    let rules = load_rules(cli)?;
    let mut req = parse_matchers(&a.matchers)?;
    req.until = a.until;
    req.reason = a.reason.clone().unwrap_or_default();
    // Checked before the database is opened for writing: a bad request writes nothing.
    if req.until.is_none() {
        anyhow::bail!("{}", SilenceError::NoExpiry);
    }
    if req.reason.trim().is_empty() {
        anyhow::bail!("{}", SilenceError::NoReason);
    }
    let mut store = open_for_triage(ctx)?;
    let who = actor(cli);
    let id = crate::alerts::add_silence(&mut store, &rules, &who, ctx.as_of, &req)
        .map_err(|e| silence_error(ctx, e))?;
    eprintln!(
        "casewatch: silence #{id} until {} (audited)",
        req.until.map(crate::domain::fmt_date).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// `casewatch silences`: lists the silences in force (with `--all`, the others too).
pub(super) fn silences(ctx: &Settings, a: &SilencesArgs) -> Result<ExitCode> {
    let mut store = open_any_for_reading(ctx)?;
    let as_of = crate::domain::fmt_date(ctx.as_of);
    let list: Vec<crate::incidents::Silence> = store
        .silences()
        .map_err(|e| fault_error(ctx, e))?
        .into_iter()
        .filter(|s| a.all || s.active_on(&as_of))
        .collect();
    let text = match a.format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&list)?),
        Format::Text => crate::report::silences_text(&list, ctx.as_of),
    };
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `casewatch unsilence`: removes a silence before its end.
pub(super) fn unsilence(cli: &Cli, ctx: &Settings, a: &UnsilenceArgs) -> Result<ExitCode> {
    let mut store = open_for_triage(ctx)?;
    crate::alerts::remove_silence(&mut store, &actor(cli), a.id)
        .map_err(|e| silence_error(ctx, e))?;
    eprintln!("casewatch: silence #{} removed (audited)", a.id);
    Ok(ExitCode::SUCCESS)
}

/// Refuses a PDU code the database does not hold, in words.
fn known_pdu(store: &crate::store::Store, code: &str) -> Result<()> {
    let known = crate::alerts::pdu_exists(store.db(), code)
        .map_err(|e| crate::store::classify(store.path(), e))?;
    if !known {
        anyhow::bail!("no PDU '{}'", crate::text::quote_value(code, 40));
    }
    Ok(())
}

/// A refused silence or unsilence says that nothing was written; a database error is said
/// with the file.
fn silence_error(ctx: &Settings, e: SilenceError) -> anyhow::Error {
    match e {
        SilenceError::Sqlite(s) => crate::store::classify(&ctx.db, s).into(),
        e => anyhow::anyhow!("{e}; nothing was written"),
    }
}

/// Reads `rule=ID`, `pdu=CODE` and `crn=CRN` matchers.
fn parse_matchers(list: &[String]) -> Result<crate::alerts::SilenceRequest> {
    let mut req = crate::alerts::SilenceRequest::default();
    for m in list {
        let Some((k, v)) = m.split_once('=') else {
            anyhow::bail!(
                "matcher '{}': expected rule=ID, pdu=CODE or crn=CRN",
                crate::text::quote_value(m, 60)
            );
        };
        let v = v.trim();
        if v.is_empty() {
            anyhow::bail!("matcher '{}' has no value", crate::text::quote_value(m, 60));
        }
        let slot = match k.trim() {
            "rule" => &mut req.rule,
            "pdu" => &mut req.pdu,
            "crn" => &mut req.crn,
            other => anyhow::bail!(
                "unknown matcher '{}': use rule=ID, pdu=CODE or crn=CRN",
                crate::text::quote_value(other, 40)
            ),
        };
        if slot.is_some() {
            anyhow::bail!("matcher '{}' given twice", k.trim());
        }
        *slot = Some(if k.trim() == "crn" {
            args::parse_crn(v).map_err(|e| anyhow::anyhow!("matcher crn: {e}"))?
        } else {
            v.to_string()
        });
    }
    Ok(req)
}

/// Records the nightly run, trying again while another writer holds the lock, like
/// [`import_retrying`]; [`ActionError::Busy`] when the lock never came (nothing recorded).
///
/// [`import_retrying`]: super::data::import_retrying
fn record_retrying(
    store: &mut Store,
    review: &mut crate::alerts::Review,
    pdus: &[crate::store::read::PduSummary],
    actor: &str,
    id: Option<i64>,
    attempts: u32,
) -> Result<i64, ActionError> {
    actions::with_retry(attempts, || {
        crate::alerts::record_as(&mut *store, review, pdus, actor, id).map_err(ActionError::Sqlite)
    })
}

/// `casewatch forecast`: the trends and outlook of each PDU, or (with --backtest) how often
/// the forecasts made from the recorded nights came true.
/// `casewatch chart`: the SVG of a PDU's tested metrics over its recorded nights.
pub(super) fn chart(cli: &Cli, ctx: &Settings, a: &args::ChartArgs) -> Result<ExitCode> {
    let eval = evaluation(cli, ctx)?;
    let store = open_for_reading(ctx)?;
    known_pdu(&store, &a.pdu)?;
    let history = crate::alerts::recorded_history(store.db(), &a.pdu, ctx.as_of)
        .map_err(|e| crate::store::classify(&ctx.db, e))?;
    let mut series = crate::chart::series(&eval.rules, &history);
    if let Some(m) = &a.metric {
        series.retain(|s| &s.metric == m);
        if series.is_empty() {
            anyhow::bail!(
                "no recorded metric '{}' tested by a PDU rule",
                crate::text::quote_value(m, 60)
            );
        }
    }
    let svg = crate::chart::svg(&a.pdu, ctx.as_of, &series);
    match &a.out {
        Some(path) => {
            crate::export::write_private_with(path, |w| w.write_all(svg.as_bytes()))
                .map_err(|e| file_write_error(path, e))?;
            eprintln!(
                "casewatch: {} metric(s) over {} night(s) written to {}",
                series.len(),
                history.len(),
                path.display()
            );
        }
        None => write_stdout(&svg)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `casewatch equity`: the disproportionality tables of a PDU and its region, of a region,
/// or of every region.
pub(super) fn equity(ctx: &Settings, a: &args::EquityArgs) -> Result<ExitCode> {
    use crate::store::read::risk::RiskScope;
    let store = open_for_reading(ctx)?;
    let classify = |e| crate::store::classify(&ctx.db, e);
    let mut scopes: Vec<RiskScope<'_>> = Vec::new();
    let region_of_pdu;
    let regions: Vec<String>;
    if let Some(code) = &a.pdu {
        known_pdu(&store, code)?;
        region_of_pdu = crate::store::runs::region_of(store.db(), code)
            .map_err(classify)?
            .unwrap_or_default();
        scopes.push(RiskScope::Pdu(code));
        scopes.push(RiskScope::Region(&region_of_pdu));
    } else {
        regions = match &a.region {
            Some(r) => {
                if crate::store::runs::pdus_of_region(store.db(), r)
                    .map_err(classify)?
                    .is_empty()
                {
                    anyhow::bail!("no PDUs in region '{}'", crate::text::quote_value(r, 60));
                }
                vec![r.clone()]
            }
            None => crate::store::read::regions(store.db())
                .map_err(classify)?
                .into_iter()
                .map(|(r, _)| r)
                .collect(),
        };
        scopes.extend(regions.iter().map(|r| RiskScope::Region(r)));
    }
    if scopes.is_empty() && a.format == Format::Text {
        write_stdout("No PDUs in the database: nothing to compare.\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut reports = Vec::new();
    for s in scopes {
        reports.push(
            crate::store::read::equity::equity_report(store.db(), &ctx.policy, ctx.as_of, s)
                .map_err(classify)?,
        );
    }
    let text = match a.format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&reports)?),
        Format::Text => reports
            .iter()
            .map(|r| crate::report::equity_text(r, ctx.as_of))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn forecast(cli: &Cli, ctx: &Settings, a: &args::ForecastArgs) -> Result<ExitCode> {
    let eval = evaluation(cli, ctx)?;
    let store = open_for_reading(ctx)?;
    let classify = |e| crate::store::classify(&ctx.db, e);
    if let Some(code) = &a.pdu {
        known_pdu(&store, code)?;
    }
    if let Some(r) = &a.region
        && crate::store::runs::pdus_of_region(store.db(), r)
            .map_err(classify)?
            .is_empty()
    {
        anyhow::bail!("no PDUs in region '{}'", crate::text::quote_value(r, 60));
    }
    let clean = |s: &str| crate::text::sanitize(s).into_owned();
    if a.backtest {
        let (nights, results) =
            crate::alerts::backtest_recorded(store.db(), &eval.rules, a.region.as_deref())
                .map_err(classify)?;
        let results: Vec<_> = results
            .into_iter()
            .filter(|(pdu, _)| a.pdu.as_ref().is_none_or(|p| p == pdu))
            .collect();
        let mut total = crate::forecast::Backtest::default();
        for (_, b) in &results {
            total.forecasts += b.forecasts;
            total.within_a_week += b.within_a_week;
            total.never_fired += b.never_fired;
        }
        let text = match a.format {
            Format::Json => {
                let by_pdu: Vec<_> = results
                    .iter()
                    .map(|(pdu, b)| serde_json::json!({ "pdu": pdu, "backtest": b }))
                    .collect();
                serde_json::to_string_pretty(&serde_json::json!({
                    "nights": nights,
                    "total": total,
                    "share_within_a_week": total.share(),
                    "pdus": by_pdu,
                }))? + "\n"
            }
            Format::Text => {
                let mut t = format!(
                    "Backtest over {nights} recorded nights: on each night with a week of \
                     history behind it, every PDU rule forecast to fire on a day inside the \
                     history.\n"
                );
                match total.share() {
                    None => t.push_str("  No forecast fell inside the recorded history.\n"),
                    Some(share) => t.push_str(&format!(
                        "  {} forecasts; {} ({:.0}%) came true within a week of their day; {} \
                         never came true.\n",
                        total.forecasts,
                        total.within_a_week,
                        share * 100.0,
                        total.never_fired
                    )),
                }
                for (pdu, b) in results.iter().filter(|(_, b)| b.forecasts > 0) {
                    t.push_str(&format!(
                        "  {:<8} {} forecasts, {} within a week, {} never\n",
                        clean(pdu),
                        b.forecasts,
                        b.within_a_week,
                        b.never_fired
                    ));
                }
                t
            }
        };
        write_stdout(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let crate::alerts::FullRun { review, .. } =
        crate::alerts::run_full(store.db(), &eval, a.region.as_deref(), None).map_err(classify)?;
    let mut f = review.forecasts;
    if let Some(code) = &a.pdu {
        f.retain_pdu(code);
    }
    let text = match a.format {
        Format::Json => serde_json::to_string_pretty(&f)? + "\n",
        Format::Text => crate::report::forecast_text(ctx.as_of, &f, &review.statuses),
    };
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_date;
    use crate::policy::Policy;

    #[test]
    fn a_nightly_run_blocked_by_another_writer_gives_up_clearly_and_records_nothing() {
        let (_dir, mut s, other) = super::super::test_support::locked_store();
        let count = super::super::test_support::count;
        let as_of = parse_date("d", "2026-11-02").unwrap();
        let eval = crate::context::Evaluation::new(
            Policy::defaults(),
            crate::rules::Rules::defaults(),
            as_of,
        );
        let (mut review, pdus) = crate::alerts::run(s.db(), &eval, None).unwrap();
        let e = record_retrying(&mut s, &mut review, &pdus, "t", None, 2).unwrap_err();
        assert!(matches!(e, ActionError::Busy(2)), "{e}");
        assert!(e.to_string().contains("nothing was written"));
        assert_eq!(review.run_id, None);
        assert_eq!(
            count(&s, "SELECT count(*) FROM alert_runs WHERE actor <> 'demo'"),
            0
        );
        other.execute_batch("ROLLBACK;").unwrap();
        let id = record_retrying(&mut s, &mut review, &pdus, "t", None, 2).unwrap();
        assert_eq!(review.run_id, Some(id));
        assert_eq!(
            count(&s, "SELECT count(*) FROM alert_runs WHERE actor <> 'demo'"),
            1
        );
    }
}
