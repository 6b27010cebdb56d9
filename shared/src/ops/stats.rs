//! `GET /v1/stats`: numbers at a glance for one tenant.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::aws::dynamo::Db;
use crate::aws::StoreError;
use crate::delivery::{DeliveryRecord, DeliveryStatus};
use crate::endpoint::EndpointStatus;
use crate::ids::{EndpointId, TenantId};
use crate::inbound::InboundStatus;

/// Endpoints by status.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EndpointStats {
    pub total: u64,
    pub active: u64,
    pub paused: u64,
    pub disabled: u64,
}

/// Deliveries of events created since the window's start.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryStats {
    pub total: u64,
    pub delivered: u64,
    pub failed: u64,
    /// Pending, retrying or parked.
    pub pending: u64,
    /// Mean duration of the last attempt of each attempted delivery.
    pub average_duration_ms: f64,
}

/// Deliveries created within one hour, by where they stand now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HourStats {
    /// The start of the hour (UTC).
    pub hour: DateTime<Utc>,
    pub delivered: u64,
    pub failed: u64,
    /// Pending, retrying or parked.
    pub pending: u64,
}

/// Sources by whether they accept webhooks.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SourceStats {
    pub total: u64,
    pub enabled: u64,
    pub disabled: u64,
}

/// Inbound webhooks received since the window's start, by where they stand now.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InboundStats {
    /// Every webhook received and stored, duplicates and replays included.
    pub received: u64,
    /// Published as an internal event.
    pub processed: u64,
    /// A repeat of one received within its source's dedupe window.
    pub duplicate: u64,
    /// Could not become an event (replayable).
    pub failed: u64,
    /// Received, still being processed.
    pub pending: u64,
}

impl InboundStats {
    fn add(&mut self, status: InboundStatus) {
        self.received += 1;
        match status {
            InboundStatus::Processed => self.processed += 1,
            InboundStatus::Duplicate => self.duplicate += 1,
            InboundStatus::Failed => self.failed += 1,
            InboundStatus::Received => self.pending += 1,
        }
    }
}

/// The answer of `GET /v1/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Stats {
    pub since: DateTime<Utc>,
    /// Set when the numbers are those of one endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    pub endpoints: EndpointStats,
    pub deliveries: DeliveryStats,
    /// Deliveries by the hour they were created (as their event fanned out),
    /// oldest first; hours without deliveries are left out.
    #[serde(default)]
    pub hourly: Vec<HourStats>,
    /// The tenant's sources; absent when the numbers are those of one endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<SourceStats>,
    /// Inbound webhooks received since `since`; absent when the numbers are
    /// those of one endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound: Option<InboundStats>,
}

/// Counts deliveries into the totals and the hourly series.
#[derive(Debug, Default)]
struct Tally {
    deliveries: DeliveryStats,
    hours: BTreeMap<i64, HourStats>,
    duration_sum: u64,
    timed: u64,
}

impl Tally {
    fn add(&mut self, d: &DeliveryRecord) {
        let hour_start = d.created_at.timestamp().div_euclid(3600) * 3600;
        let hour = self.hours.entry(hour_start).or_insert_with(|| HourStats {
            hour: DateTime::from_timestamp(hour_start, 0).unwrap_or_default(),
            delivered: 0,
            failed: 0,
            pending: 0,
        });
        self.deliveries.total += 1;
        match d.status {
            DeliveryStatus::Delivered => {
                self.deliveries.delivered += 1;
                hour.delivered += 1;
            }
            DeliveryStatus::Failed => {
                self.deliveries.failed += 1;
                hour.failed += 1;
            }
            _ => {
                self.deliveries.pending += 1;
                hour.pending += 1;
            }
        }
        if let Some(last) = d.attempt_log.last() {
            self.duration_sum += last.duration_ms;
            self.timed += 1;
        }
    }

    fn finish(mut self) -> (DeliveryStats, Vec<HourStats>) {
        self.deliveries.average_duration_ms =
            if self.timed == 0 { 0.0 } else { self.duration_sum as f64 / self.timed as f64 };
        (self.deliveries, self.hours.into_values().collect())
    }
}

/// The tenant's numbers since `since`, or those of one of its endpoints
/// (all zero when the tenant has no such endpoint). Reads only: the tenant's
/// endpoints and sources, each endpoint's deliveries in the window and, for
/// the whole tenant, the status of each inbound record in the window.
pub async fn stats(
    db: &Db,
    tenant: &TenantId,
    since: DateTime<Utc>,
    endpoint: Option<&EndpointId>,
) -> Result<Stats, StoreError> {
    let mut endpoints = EndpointStats::default();
    let mut tally = Tally::default();
    let from = since.timestamp_millis().max(0) as u64;
    let found = match endpoint {
        Some(id) => db.get_endpoint(tenant, id).await?.into_iter().collect(),
        None => db.list_endpoints(tenant, None, usize::MAX, |_| true).await?,
    };
    for e in found {
        endpoints.total += 1;
        match e.status {
            EndpointStatus::Active => endpoints.active += 1,
            EndpointStatus::Paused => endpoints.paused += 1,
            EndpointStatus::Disabled => endpoints.disabled += 1,
        }
        for d in db.list_deliveries(tenant, &e.endpoint_id, from, None, usize::MAX, |_| true).await? {
            tally.add(&d);
        }
    }
    let (deliveries, hourly) = tally.finish();
    let (sources, inbound) = match endpoint {
        Some(_) => (None, None),
        None => {
            let (sources, inbound) = inbound_stats(db, tenant, from).await?;
            (Some(sources), Some(inbound))
        }
    };
    Ok(Stats { since, endpoint_id: endpoint.map(ToString::to_string), endpoints, deliveries, hourly, sources, inbound })
}

/// The tenant's sources, and its inbound webhooks received at or after `from_ms`.
async fn inbound_stats(db: &Db, tenant: &TenantId, from_ms: u64) -> Result<(SourceStats, InboundStats), StoreError> {
    let mut sources = SourceStats::default();
    for s in db.list_sources(tenant).await? {
        sources.total += 1;
        if s.settings.enabled {
            sources.enabled += 1;
        } else {
            sources.disabled += 1;
        }
    }
    let mut inbound = InboundStats::default();
    for status in db.inbound_statuses(tenant, from_ms).await? {
        inbound.add(status);
    }
    Ok((sources, inbound))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventSnapshot;
    use crate::ids::EventId;

    fn delivery(at: &str, status: DeliveryStatus) -> DeliveryRecord {
        let event = EventSnapshot {
            event_id: EventId::generate(),
            event_type: "bill.paid".into(),
            created_at: at.parse().unwrap(),
            payload: "{}".into(),
            correlation_id: "c".into(),
            hops: 0,
        };
        let mut d = DeliveryRecord::pending(&TenantId::default_tenant(), &event, &EndpointId::generate(), 30);
        d.created_at = at.parse().unwrap();
        d.status = status;
        d
    }

    #[test]
    fn deliveries_are_counted_by_the_hour_they_were_created() {
        let mut tally = Tally::default();
        tally.add(&delivery("2026-11-22T09:59:59Z", DeliveryStatus::Delivered));
        tally.add(&delivery("2026-11-22T11:00:00Z", DeliveryStatus::Failed));
        tally.add(&delivery("2026-11-22T11:30:00Z", DeliveryStatus::Delivered));
        tally.add(&delivery("2026-11-22T11:59:00Z", DeliveryStatus::Retrying));
        let (totals, hourly) = tally.finish();
        assert_eq!((totals.total, totals.delivered, totals.failed, totals.pending), (4, 2, 1, 1));
        let hours: Vec<(String, u64, u64, u64)> =
            hourly.iter().map(|h| (h.hour.to_rfc3339(), h.delivered, h.failed, h.pending)).collect();
        assert_eq!(
            hours,
            [("2026-11-22T09:00:00+00:00".into(), 1, 0, 0), ("2026-11-22T11:00:00+00:00".into(), 1, 1, 1)],
            "oldest first, the empty hour left out"
        );
    }

    #[test]
    fn inbound_webhooks_are_counted_by_where_they_stand() {
        let mut inbound = InboundStats::default();
        for status in [
            InboundStatus::Processed,
            InboundStatus::Processed,
            InboundStatus::Duplicate,
            InboundStatus::Failed,
            InboundStatus::Received,
        ] {
            inbound.add(status);
        }
        assert_eq!(
            inbound,
            InboundStats { received: 5, processed: 2, duplicate: 1, failed: 1, pending: 1 },
            "every stored webhook counts as received, duplicates included"
        );
    }
}
