//! The daily summary (`system.daily.summary`), one per tenant and day.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::aws::dynamo::Db;
use crate::aws::outbox::PublishOutcome;
use crate::aws::StoreError;
use crate::delivery::DeliveryStatus;
use crate::endpoint::EndpointStatus;
use crate::event::{NewEvent, OutboxRecord};
use crate::ids::TenantId;
use crate::inbound::InboundStatus;

/// Events published that day.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventCounts {
    pub total: u64,
    pub by_type: BTreeMap<String, u64>,
}

/// Delivery latency from the event's creation to its successful attempt's end.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Latency {
    pub p50: u64,
    pub p95: u64,
}

/// Deliveries of that day's events, by where they stand now.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryCounts {
    pub total: u64,
    pub delivered: u64,
    pub failed: u64,
    pub retrying: u64,
    pub pending: u64,
    pub parked: u64,
    /// delivered / (delivered + failed), 0 to 1; 1 when nothing finished.
    pub success_rate: f64,
    pub latency_ms: Latency,
}

/// Inbound webhooks received that day.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InboundCounts {
    pub received: u64,
    pub processed: u64,
    pub duplicates: u64,
    pub failed: u64,
}

/// One tenant's day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DailySummary {
    pub tenant_id: String,
    /// The day summarised (UTC), YYYY-MM-DD.
    pub date: NaiveDate,
    pub events: EventCounts,
    pub deliveries: DeliveryCounts,
    pub inbound: InboundCounts,
    /// Endpoints paused by the circuit breaker when the summary was made.
    pub endpoints_paused: u64,
}

/// One tenant's outcome of a summary run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRun {
    pub tenant_id: String,
    pub event_id: String,
    /// False when that day's summary had already been sent.
    pub sent: bool,
    pub summary: DailySummary,
}

fn day_bounds(date: NaiveDate) -> (u64, u64) {
    let start = date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp_millis().max(0) as u64;
    (start, start + 86_400_000)
}

fn percentile(sorted: &[u64], pct: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (pct * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Computes one tenant's summary of `date`.
///
/// It reads the day's records once, by key range (event, delivery and
/// inbound ids all start with their creation time), instead of keeping
/// counters: a counter would cost a write on every delivery, every day,
/// while this costs one read per record once a day.
pub async fn compute(db: &Db, tenant: &TenantId, date: NaiveDate) -> Result<DailySummary, StoreError> {
    let (from, until) = day_bounds(date);
    let mut events = EventCounts::default();
    for e in db.list_events_between(tenant, from, until, |_| true).await? {
        events.total += 1;
        *events.by_type.entry(e.event_type).or_default() += 1;
    }
    let mut d = DeliveryCounts::default();
    let mut latencies = Vec::new();
    let mut endpoints_paused = 0;
    for endpoint in db.list_endpoints(tenant, None, usize::MAX, |_| true).await? {
        endpoints_paused += u64::from(endpoint.status == EndpointStatus::Paused);
        let deliveries = db
            .list_deliveries_between(tenant, &endpoint.endpoint_id, (from, Some(until)), None, usize::MAX, |_| true)
            .await?;
        for delivery in deliveries {
            d.total += 1;
            match delivery.status {
                DeliveryStatus::Delivered => d.delivered += 1,
                DeliveryStatus::Failed => d.failed += 1,
                DeliveryStatus::Retrying => d.retrying += 1,
                DeliveryStatus::Pending => d.pending += 1,
                DeliveryStatus::Parked => d.parked += 1,
            }
            if let Some(done) = delivery.attempt_log.iter().rev().find(|a| a.outcome == "delivered") {
                let finished = done.at.timestamp_millis().max(0) as u64 + done.duration_ms;
                latencies.push(finished.saturating_sub(delivery.delivery_id.event_millis()));
            }
        }
    }
    let finished = d.delivered + d.failed;
    d.success_rate = if finished == 0 { 1.0 } else { d.delivered as f64 / finished as f64 };
    latencies.sort_unstable();
    d.latency_ms = Latency { p50: percentile(&latencies, 50), p95: percentile(&latencies, 95) };
    let mut inbound = InboundCounts::default();
    let until_time = chrono::DateTime::from_timestamp_millis(until as i64).unwrap_or_default();
    for r in db.list_inbound(tenant, from, None, usize::MAX, |r| r.received_at < until_time).await? {
        match r.status {
            InboundStatus::Duplicate => inbound.duplicates += 1,
            status => {
                inbound.received += 1;
                inbound.processed += u64::from(status == InboundStatus::Processed);
                inbound.failed += u64::from(status == InboundStatus::Failed);
            }
        }
    }
    Ok(DailySummary { tenant_id: tenant.to_string(), date, events, deliveries: d, inbound, endpoints_paused })
}

/// Publishes every tenant's summary of `date` through the outbox. A day's
/// summary is sent once per tenant unless `force`: its idempotency key
/// names the day and lasts as long as the retention.
pub async fn publish_all(
    db: &Db,
    date: NaiveDate,
    force: bool,
    retention_days: u32,
) -> Result<Vec<SummaryRun>, StoreError> {
    let mut runs = Vec::new();
    for tenant in db.tenants().await? {
        let summary = compute(db, &tenant, date).await?;
        let event = NewEvent {
            event_type: "system.daily.summary".into(),
            payload: serde_json::to_string(&summary).expect("summaries serialize"),
            idempotency_key: (!force).then(|| format!("system.daily.summary:{date}")),
            correlation_id: None,
            only_endpoint: None,
        };
        let mut record = OutboxRecord::new(&tenant, event, retention_days);
        record.idempotency_ttl_seconds = Some(i64::from(retention_days.max(2)) * 86_400);
        let (event_id, sent) = match db.publish(&record).await? {
            PublishOutcome::Created(id) => (id, true),
            PublishOutcome::Duplicate(id) => (id, false),
        };
        tracing::info!(tenant = %tenant, %date, event_id = %event_id, sent, "daily summary");
        runs.push(SummaryRun { tenant_id: tenant.to_string(), event_id: event_id.to_string(), sent, summary });
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!((percentile(&v, 50), percentile(&v, 95)), (50, 95));
        assert_eq!(percentile(&[7], 95), 7);
        assert_eq!(percentile(&[], 50), 0);
    }

    #[test]
    fn a_day_spans_midnight_to_midnight_utc() {
        let (from, until) = day_bounds(NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
        assert_eq!(from, 1_795_219_200_000);
        assert_eq!(until - from, 86_400_000);
    }
}
