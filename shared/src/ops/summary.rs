//! The daily summary (`system.daily.summary`), one per tenant and day.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
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
    /// The day summarised, a calendar day in `time_zone`, YYYY-MM-DD.
    pub date: NaiveDate,
    /// The IANA zone of `date` (the template's `SummaryTimeZone`).
    pub time_zone: String,
    /// The day's first moment (local midnight), RFC 3339 in UTC.
    pub from: DateTime<Utc>,
    /// The next day's first moment: the day is `from` ≤ t < `until`
    /// (23 or 25 hours on a daylight-saving change).
    pub until: DateTime<Utc>,
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

/// The first moment of `date` in `zone`. Where a daylight-saving change
/// skips midnight, the day starts at the first local time that exists.
pub fn start_of_day(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    (0..=180)
        .find_map(|minutes| zone.from_local_datetime(&(midnight + Duration::minutes(minutes))).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc())
}

/// `date` in `zone` as `[from, until)` in UTC.
pub fn day_bounds(date: NaiveDate, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let next = date.succ_opt().unwrap_or(date);
    (start_of_day(date, zone), start_of_day(next, zone))
}

/// The last calendar day in `zone` that has ended by `now`: at 00:00 IST
/// (18:30 UTC) that is the Indian day just over, not a UTC day still running.
pub fn last_ended_day(now: DateTime<Utc>, zone: Tz) -> NaiveDate {
    let today = now.with_timezone(&zone).date_naive();
    today.pred_opt().unwrap_or(today)
}

/// Why a day cannot be summarised yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{date} has not ended yet in {zone} (it ends at {until}); the last day that has is {last}")]
pub struct DayNotOver {
    pub date: NaiveDate,
    pub zone: String,
    pub until: DateTime<Utc>,
    pub last: NaiveDate,
}

/// The day a run summarises: `requested` if it has ended in `zone`, the
/// last ended day when none is asked for.
pub fn day_to_summarise(requested: Option<NaiveDate>, now: DateTime<Utc>, zone: Tz) -> Result<NaiveDate, DayNotOver> {
    let last = last_ended_day(now, zone);
    match requested {
        None => Ok(last),
        Some(date) if date <= last => Ok(date),
        Some(date) => Err(DayNotOver { date, zone: zone.name().to_owned(), until: day_bounds(date, zone).1, last }),
    }
}

fn millis(t: DateTime<Utc>) -> u64 {
    t.timestamp_millis().max(0) as u64
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
pub async fn compute(db: &Db, tenant: &TenantId, date: NaiveDate, zone: Tz) -> Result<DailySummary, StoreError> {
    let (from_time, until_time) = day_bounds(date, zone);
    let (from, until) = (millis(from_time), millis(until_time));
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
    Ok(DailySummary {
        tenant_id: tenant.to_string(),
        date,
        time_zone: zone.name().to_owned(),
        from: from_time,
        until: until_time,
        events,
        deliveries: d,
        inbound,
        endpoints_paused,
    })
}

/// Publishes every tenant's summary of `date` through the outbox. A day's
/// summary is sent once per tenant unless `force`: its idempotency key
/// names the day and lasts as long as the retention.
pub async fn publish_all(
    db: &Db,
    date: NaiveDate,
    zone: Tz,
    force: bool,
    retention_days: u32,
) -> Result<Vec<SummaryRun>, StoreError> {
    let mut runs = Vec::new();
    for tenant in db.tenants().await? {
        let summary = compute(db, &tenant, date, zone).await?;
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

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_utc_day_spans_midnight_to_midnight_utc() {
        let (from, until) = day_bounds(day("2026-11-21"), chrono_tz::UTC);
        assert_eq!(from, at("2026-11-21T00:00:00Z"));
        assert_eq!(until, at("2026-11-22T00:00:00Z"));
        assert_eq!(last_ended_day(at("2026-11-22T00:00:05Z"), chrono_tz::UTC), day("2026-11-21"));
    }

    #[test]
    fn the_kolkata_midnight_run_summarises_the_indian_day_just_over() {
        let zone = chrono_tz::Asia::Kolkata;
        // The schedule fires at 00:00 IST on 22 November, which is 18:30 UTC on the 21st.
        let fired = at("2026-11-21T18:30:02Z");
        let date = day_to_summarise(None, fired, zone).unwrap();
        assert_eq!(date, day("2026-11-21"));
        let (from, until) = day_bounds(date, zone);
        assert_eq!(from, at("2026-11-20T18:30:00Z"));
        assert_eq!(until, at("2026-11-21T18:30:00Z"));
        assert!(until <= fired, "the whole day is over when it is summarised");
    }

    #[test]
    fn a_fire_in_the_evening_summarises_yesterday_not_today() {
        let zone = chrono_tz::Asia::Kolkata;
        let evening = at("2026-11-21T15:00:00Z"); // 20:30 IST
        assert_eq!(day_to_summarise(None, evening, zone).unwrap(), day("2026-11-20"));
        let err = day_to_summarise(Some(day("2026-11-21")), evening, zone).unwrap_err();
        assert_eq!(err.last, day("2026-11-20"));
        assert!(err.to_string().contains("has not ended yet in Asia/Kolkata"), "{err}");
        assert_eq!(day_to_summarise(Some(day("2026-11-19")), evening, zone).unwrap(), day("2026-11-19"));
    }

    #[test]
    fn daylight_saving_days_are_23_and_25_hours_long() {
        let zone = chrono_tz::America::New_York;
        let (from, until) = day_bounds(day("2026-03-08"), zone);
        assert_eq!(from, at("2026-03-08T05:00:00Z"));
        assert_eq!(until - from, Duration::hours(23));
        let (from, until) = day_bounds(day("2026-11-01"), zone);
        assert_eq!(from, at("2026-11-01T04:00:00Z"));
        assert_eq!(until - from, Duration::hours(25));
        // Midnight in New York on 2 November (EST) is 05:00 UTC.
        assert_eq!(last_ended_day(at("2026-11-02T05:00:01Z"), zone), day("2026-11-01"));
        assert_eq!(last_ended_day(at("2026-11-02T04:59:59Z"), zone), day("2026-10-31"));
    }

    #[test]
    fn a_zone_whose_midnight_is_skipped_starts_the_day_at_the_first_real_minute() {
        // Chile springs forward at 00:00 on the first Sunday of September 2026.
        let (from, _) = day_bounds(day("2026-09-06"), chrono_tz::America::Santiago);
        assert_eq!(from.with_timezone(&chrono_tz::America::Santiago).format("%H:%M").to_string(), "01:00");
    }
}
