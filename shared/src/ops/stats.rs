//! `GET /v1/stats`: numbers at a glance for one tenant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::aws::dynamo::Db;
use crate::aws::StoreError;
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
    let _ = (db, tenant, since);
    todo!()
}
