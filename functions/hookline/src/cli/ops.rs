//! The operations commands, straight against the stack's AWS resources
//! through `shared::ops`: the same code paths the admin API and the
//! scheduled functions run.

use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use serde::Serialize;

use super::args::{date, day_or_time, days_before, human_time, MAX_DAYS};
use super::output::{count, pairs, table, Output};
use super::target::{LocalStack, Stack};
use super::Failure;
use shared::delivery::{DeliveryRecord, DeliveryStatus};
use shared::ids::{EndpointId, TenantId};
use shared::inbound::InboundRecord;
use shared::ops::prune::PruneReport;
use shared::ops::summary::SummaryRun;
use shared::ops::{prune as prune_op, replay, summary};

/// `hookline retry-outbound`
#[derive(Args, Debug)]
pub struct RetryOutbound {
    /// Failed deliveries of events created in the last N days.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_DAYS)))]
    pub days: u32,
    /// Only this endpoint's deliveries (ep_…).
    #[arg(long, value_name = "ID")]
    pub endpoint: Option<EndpointId>,
    /// Only this tenant's deliveries.
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<TenantId>,
    /// List and count them; requeue nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub local: LocalStack,
}

/// `hookline replay-inbound`
#[derive(Args, Debug)]
pub struct ReplayInbound {
    /// The source's slug, as in /api/v1/webhooks/{slug}.
    #[arg(long, value_name = "SLUG")]
    pub source: String,
    /// Only webhooks that failed processing.
    #[arg(long)]
    pub failed_only: bool,
    /// Webhooks received since this day (YYYY-MM-DD, UTC) or RFC 3339 time [default: 24 hours ago].
    #[arg(long, value_name = "DATE", value_parser = day_or_time)]
    pub since: Option<DateTime<Utc>>,
    /// List and count them; replay nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub local: LocalStack,
}

/// `hookline prune`
#[derive(Args, Debug)]
pub struct Prune {
    /// Delete what is older than N days (at least 1); in-flight deliveries are kept.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_DAYS)))]
    pub days: u32,
    /// Count what would go; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub local: LocalStack,
}

/// `hookline daily-summary`
#[derive(Args, Debug)]
pub struct DailySummary {
    /// The day to summarise (YYYY-MM-DD), a calendar day in the stack's
    /// SummaryTimeZone [default: the last day that has ended there, as the schedule does].
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date)]
    pub date: Option<NaiveDate>,
    /// Send it again to tenants that already had that day's summary.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub local: LocalStack,
}

/// One delivery in `retry-outbound`'s answer.
#[derive(Serialize)]
struct RetriedDelivery {
    id: String,
    tenant_id: String,
    endpoint_id: String,
    event_type: String,
    last_status_code: Option<u16>,
    /// None in a dry run; false when its status had moved on meanwhile.
    requeued: Option<bool>,
}

/// Why the last attempt failed: the status code, else the kind of error.
fn last_answer(d: &DeliveryRecord) -> String {
    match (d.last_status_code, d.attempt_log.last().and_then(|a| a.error_kind.clone())) {
        (Some(code), _) => code.to_string(),
        (None, Some(kind)) => kind,
        (None, None) => "-".into(),
    }
}

/// Runs `hookline retry-outbound`.
pub async fn retry_outbound(args: &RetryOutbound, stack: &Stack, out: &Output) -> Result<(), Failure> {
    let since = days_before(Utc::now(), args.days);
    let found = replay::failed_deliveries(&stack.db, since, args.tenant.as_ref(), args.endpoint.as_ref()).await?;
    let mut requeued = vec![None; found.len()];
    if !args.dry_run {
        let bar = out.progress(Some(found.len() as u64), "requeuing");
        for (i, d) in found.iter().enumerate() {
            let done =
                replay::requeue(&stack.db, &stack.delivery_queue, d, &[DeliveryStatus::Failed], true).await.map_err(
                    |e| Failure::new(format!("requeuing {} (after {i} of {}): {e}", d.delivery_id, found.len())),
                )?;
            requeued[i] = Some(done);
            bar.inc(1);
        }
        bar.finish_and_clear();
    }
    let n_requeued = requeued.iter().filter(|r| **r == Some(true)).count();
    let moved_on = requeued.iter().filter(|r| **r == Some(false)).count();
    let list: Vec<RetriedDelivery> = found
        .iter()
        .zip(&requeued)
        .map(|(d, r)| RetriedDelivery {
            id: d.delivery_id.to_string(),
            tenant_id: d.tenant_id.to_string(),
            endpoint_id: d.endpoint_id.to_string(),
            event_type: d.event_type.clone(),
            last_status_code: d.last_status_code,
            requeued: *r,
        })
        .collect();
    out.json(&serde_json::json!({
        "since": since,
        "dry_run": args.dry_run,
        "found": found.len(),
        "requeued": n_requeued,
        "moved_on": moved_on,
        "deliveries": list,
    }))?;
    let found_text = count(found.len(), "failed delivery", "failed deliveries");
    out.text(&format!("{found_text} of events since {}.\n", human_time(since)))?;
    if found.is_empty() {
        return Ok(());
    }
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|d| {
            vec![
                d.delivery_id.to_string(),
                d.tenant_id.to_string(),
                d.endpoint_id.to_string(),
                d.event_type.clone(),
                last_answer(d),
            ]
        })
        .collect();
    out.text(&format!("\n{}\n", table(&["DELIVERY", "TENANT", "ENDPOINT", "EVENT TYPE", "LAST STATUS"], &rows)))?;
    if args.dry_run {
        return out.text("Dry run: nothing was requeued.\n");
    }
    let mut summary = format!("Requeued {n_requeued} of {}", found.len());
    if moved_on > 0 {
        summary.push_str(&format!("; {moved_on} had moved on meanwhile"));
    }
    out.text(&format!("{summary}.\n"))
}

/// One record in `replay-inbound`'s answer.
#[derive(Serialize)]
struct ReplayedRecord {
    inbound_id: String,
    received_at: DateTime<Utc>,
    status: String,
    failure_reason: Option<String>,
    /// The clone's id; None in a dry run.
    replay_id: Option<String>,
    correlation_id: Option<String>,
}

/// Runs `hookline replay-inbound`.
pub async fn replay_inbound(args: &ReplayInbound, stack: &Stack, out: &Output) -> Result<(), Failure> {
    let since = args.since.unwrap_or_else(|| Utc::now() - chrono::Duration::hours(24));
    let (tenant, records) = replay::inbound_to_replay(&stack.db, &args.source, args.failed_only, since)
        .await?
        .ok_or_else(|| Failure::new(format!("no source named {}", args.source)))?;
    let mut clones: Vec<Option<InboundRecord>> = vec![None; records.len()];
    if !args.dry_run && !records.is_empty() {
        let sealer = stack.keyring.secret_box().await?;
        let bar = out.progress(Some(records.len() as u64), "replaying");
        for (i, r) in records.iter().enumerate() {
            let clone = replay::replay_inbound(&stack.db, &stack.inbound_queue, sealer, r).await.map_err(|e| {
                Failure::new(format!("replaying {} (after {i} of {}): {e}", r.inbound_id, records.len()))
            })?;
            clones[i] = Some(clone);
            bar.inc(1);
        }
        bar.finish_and_clear();
    }
    let list: Vec<ReplayedRecord> = records
        .iter()
        .zip(&clones)
        .map(|(r, c)| ReplayedRecord {
            inbound_id: r.inbound_id.to_string(),
            received_at: r.received_at,
            status: r.status.as_str().to_owned(),
            failure_reason: r.failure_reason.clone(),
            replay_id: c.as_ref().map(|c| c.inbound_id.to_string()),
            correlation_id: c.as_ref().map(|c| c.correlation_id.clone()),
        })
        .collect();
    out.json(&serde_json::json!({
        "source": args.source,
        "tenant_id": tenant,
        "since": since,
        "failed_only": args.failed_only,
        "dry_run": args.dry_run,
        "found": records.len(),
        "records": list,
    }))?;
    let what = if args.failed_only { ("failed webhook", "failed webhooks") } else { ("webhook", "webhooks") };
    let found_text = count(records.len(), what.0, what.1);
    out.text(&format!("{found_text} from {} (tenant {tenant}) since {}.\n", args.source, human_time(since)))?;
    if records.is_empty() {
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            vec![
                r.inbound_id.clone(),
                r.received_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                r.status.clone(),
                r.failure_reason.clone().unwrap_or_else(|| "-".into()),
                r.replay_id.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    out.text(&format!("\n{}\n", table(&["INBOUND", "RECEIVED", "STATUS", "FAILURE", "REPLAYED AS"], &rows)))?;
    if args.dry_run {
        out.text("Dry run: nothing was replayed.\n")
    } else {
        out.text(&format!("Replayed {}.\n", count(records.len(), "webhook", "webhooks")))
    }
}

/// `prune`'s answer.
#[derive(Serialize)]
struct Pruned {
    cutoff: DateTime<Utc>,
    dry_run: bool,
    #[serde(flatten)]
    report: PruneReport,
}

/// Runs `hookline prune`.
pub async fn prune(args: &Prune, stack: &Stack, out: &Output) -> Result<(), Failure> {
    let cutoff = days_before(Utc::now(), args.days);
    let retention = stack.config.retention_days;
    if args.days < retention && !args.dry_run {
        // Said before the work starts: these deletes are billed, TTL's are not.
        eprintln!(
            "hookline: note: {} days is less than the retention ({retention} days): records between the two are \
             deleted now, a paid DynamoDB write each; at the retention TTL removes them for free",
            args.days
        );
    }
    let bar = out.progress(None, "examining records");
    let report = prune_op::prune(&stack.db, cutoff, args.dry_run, &|seen| bar.set_position(seen)).await;
    bar.finish_and_clear();
    let report = report?;
    out.json(&Pruned { cutoff, dry_run: args.dry_run, report: report.clone() })?;
    let heading = if args.dry_run { "Would delete (dry run)" } else { "Deleted" };
    out.text(&format!("{heading} records older than {}:\n", human_time(cutoff)))?;
    let indent = |s: String| s.lines().map(|l| format!("  {l}\n")).collect::<String>();
    out.text(&indent(pairs(&[
        ("deliveries", report.deliveries.to_string()),
        ("events", report.events.to_string()),
        ("inbound webhooks", report.inbound.to_string()),
    ])))?;
    if report.kept_in_flight > 0 {
        let kept = count(report.kept_in_flight as usize, "old delivery", "old deliveries");
        out.text(&format!("Kept {kept} still pending, retrying or parked.\n"))?;
    }
    Ok(())
}

/// Runs `hookline daily-summary`.
pub async fn daily_summary(args: &DailySummary, stack: &Stack, out: &Output) -> Result<(), Failure> {
    let zone = stack.config.summary_time_zone;
    let day = summary::day_to_summarise(args.date, Utc::now(), zone).map_err(|e| Failure::new(e.to_string()))?;
    let bar = out.progress(None, "summarising tenants");
    let runs = summary::publish_all(&stack.db, day, zone, args.force, stack.config.retention_days).await;
    bar.finish_and_clear();
    let runs: Vec<SummaryRun> = runs?;
    out.json(&serde_json::json!({ "date": day, "time_zone": zone.name(), "force": args.force, "tenants": runs }))?;
    let zone_name = zone.name();
    out.text(&format!("Daily summary of {day} ({zone_name}): {}.\n", count(runs.len(), "tenant", "tenants")))?;
    if runs.is_empty() {
        return Ok(());
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.tenant_id.clone(),
                if r.sent { "sent" } else { "already sent" }.into(),
                r.event_id.clone(),
                r.summary.deliveries.delivered.to_string(),
                r.summary.deliveries.failed.to_string(),
            ]
        })
        .collect();
    out.text(&format!("\n{}", table(&["TENANT", "SUMMARY", "EVENT", "DELIVERED", "FAILED"], &rows)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::delivery::Attempt;

    fn failed(code: Option<u16>, error_kind: Option<&str>) -> DeliveryRecord {
        let mut d: DeliveryRecord = serde_json::from_value(serde_json::json!({
            "tenant_id": "acme",
            "delivery_key": "d",
            "delivery_id": format!("dlv_{}", "0".repeat(52)),
            "event_id": format!("evt_{}", "0".repeat(26)),
            "endpoint_id": format!("ep_{}", "0".repeat(26)),
            "event_type": "bill.paid",
            "correlation_id": "c",
            "status": "failed",
            "attempts": 1,
            "last_status_code": code,
            "attempt_log": [],
            "created_at": "2026-11-22T00:00:00Z",
            "updated_at": "2026-11-22T00:00:00Z",
            "expires_at": 0
        }))
        .expect("a delivery record");
        if let Some(kind) = error_kind {
            d.attempt_log.push(Attempt {
                attempt: 1,
                at: Utc::now(),
                duration_ms: 1,
                status_code: None,
                error_kind: Some(kind.into()),
                response_headers: Default::default(),
                response_body: String::new(),
                outcome: "failed".into(),
                manual: false,
                signed_headers: Vec::new(),
            });
        }
        d
    }

    #[test]
    fn the_last_answer_is_the_status_code_else_the_error_kind() {
        assert_eq!(last_answer(&failed(Some(503), None)), "503");
        assert_eq!(last_answer(&failed(None, Some("timeout"))), "timeout");
        assert_eq!(last_answer(&failed(None, None)), "-");
    }
}
