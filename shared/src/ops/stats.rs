//! `GET /v1/stats`: numbers at a glance for one tenant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::aws::dynamo::Db;
use crate::aws::StoreError;
use crate::delivery::DeliveryStatus;
use crate::endpoint::EndpointStatus;
use crate::ids::TenantId;

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

/// The answer of `GET /v1/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Stats {
    pub since: DateTime<Utc>,
    pub endpoints: EndpointStats,
    pub deliveries: DeliveryStats,
}

/// The tenant's numbers since `since`.
pub async fn stats(db: &Db, tenant: &TenantId, since: DateTime<Utc>) -> Result<Stats, StoreError> {
    let mut endpoints = EndpointStats::default();
    let mut deliveries = DeliveryStats::default();
    let (mut duration_sum, mut timed) = (0u64, 0u64);
    let from = since.timestamp_millis().max(0) as u64;
    for e in db.list_endpoints(tenant, None, usize::MAX, |_| true).await? {
        endpoints.total += 1;
        match e.status {
            EndpointStatus::Active => endpoints.active += 1,
            EndpointStatus::Paused => endpoints.paused += 1,
            EndpointStatus::Disabled => endpoints.disabled += 1,
        }
        for d in db.list_deliveries(tenant, &e.endpoint_id, from, None, usize::MAX, |_| true).await? {
            deliveries.total += 1;
            match d.status {
                DeliveryStatus::Delivered => deliveries.delivered += 1,
                DeliveryStatus::Failed => deliveries.failed += 1,
                _ => deliveries.pending += 1,
            }
            if let Some(last) = d.attempt_log.last() {
                duration_sum += last.duration_ms;
                timed += 1;
            }
        }
    }
    deliveries.average_duration_ms = if timed == 0 { 0.0 } else { duration_sum as f64 / timed as f64 };
    Ok(Stats { since, endpoints, deliveries })
}
