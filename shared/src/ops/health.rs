//! Endpoint health: disable endpoints that mostly fail (seed 004's rule),
//! and find outbox rows whose fan-out never completed.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::dynamo::Db;
use crate::aws::StoreError;
use crate::event::OutboxRecord;

/// When an endpoint counts as failing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthRules {
    /// Deliveries of events created within this window are counted.
    pub window: Duration,
    /// Percentage of finished deliveries that failed (80).
    pub failure_threshold_pct: u32,
    /// Fewer finished deliveries than this are never judged (10).
    pub min_deliveries: u32,
}

/// An endpoint the health run disabled (or would, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unhealthy {
    pub tenant_id: String,
    pub endpoint_id: String,
    pub failed: u32,
    pub finished: u32,
    pub reason: String,
}

/// Disables active endpoints breaking `rules` and announces each with an
/// `endpoint.disabled` event.
pub async fn disable_failing(db: &Db, rules: HealthRules, retention_days: u32, dry_run: bool) -> Result<Vec<Unhealthy>, StoreError> {
    let _ = (db, rules, retention_days, dry_run);
    todo!()
}

/// Outbox rows created between `since` and `older_than` whose fan-out did
/// not complete.
pub async fn stuck_events(db: &Db, since: DateTime<Utc>, older_than: DateTime<Utc>) -> Result<Vec<OutboxRecord>, StoreError> {
    let _ = (db, since, older_than);
    todo!()
}
