//! The daily summary (`system.daily.summary`), one per tenant and day.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::aws::dynamo::Db;
use crate::aws::StoreError;
use crate::ids::TenantId;

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

/// Computes one tenant's summary of `date`.
pub async fn compute(db: &Db, tenant: &TenantId, date: NaiveDate) -> Result<DailySummary, StoreError> {
    let _ = (db, tenant, date);
    todo!()
}

/// Publishes every tenant's summary of `date` through the outbox. A day's
/// summary is sent once per tenant unless `force`.
pub async fn publish_all(db: &Db, date: NaiveDate, force: bool, retention_days: u32) -> Result<Vec<SummaryRun>, StoreError> {
    let _ = (db, date, force, retention_days);
    todo!()
}
