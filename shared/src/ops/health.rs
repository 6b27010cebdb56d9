//! Endpoint health: disable endpoints that mostly fail (seed 004's rule),
//! and find outbox rows whose fan-out never completed.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::dynamo::Db;
use crate::aws::StoreError;
use crate::delivery::{DeliveryRecord, DeliveryStatus};
use crate::endpoint::EndpointStatus;
use crate::event::OutboxRecord;
use crate::ids::DeliveryId;
use crate::ops::{announce, Announcement};

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

/// True when `failed` of `finished` breaks the rules.
pub fn is_failing(rules: &HealthRules, failed: u32, finished: u32) -> bool {
    finished >= rules.min_deliveries
        && finished > 0
        && u64::from(failed) * 100 >= u64::from(rules.failure_threshold_pct) * u64::from(finished)
}

/// Disables active endpoints breaking `rules` and announces each with an
/// `endpoint.disabled` event.
pub async fn disable_failing(
    db: &Db,
    rules: HealthRules,
    retention_days: u32,
    dry_run: bool,
) -> Result<Vec<Unhealthy>, StoreError> {
    let since = (Utc::now() - rules.window).timestamp_millis().max(0) as u64;
    let mut found = Vec::new();
    for tenant in db.tenants().await? {
        let active = db.list_endpoints(&tenant, None, usize::MAX, |e| e.status == EndpointStatus::Active).await?;
        for endpoint in active {
            let finished = |d: &DeliveryRecord| matches!(d.status, DeliveryStatus::Delivered | DeliveryStatus::Failed);
            let done = db.list_deliveries(&tenant, &endpoint.endpoint_id, since, None, usize::MAX, finished).await?;
            let failed = done.iter().filter(|d| d.status == DeliveryStatus::Failed).count() as u32;
            let total = done.len() as u32;
            if !is_failing(&rules, failed, total) {
                continue;
            }
            let hours = rules.window.num_hours();
            let reason = format!(
                "{failed} of {total} deliveries failed in the last {hours} h (limit {}%)",
                rules.failure_threshold_pct
            );
            let id = &endpoint.endpoint_id;
            if !dry_run && db.deactivate_endpoint(&tenant, id, EndpointStatus::Disabled, &reason).await? {
                let data = serde_json::json!({"endpoint_id": id, "reason": reason});
                let note =
                    Announcement { event_type: "endpoint.disabled", data, idempotency_key: None, correlation_id: None };
                announce(db, &tenant, note, retention_days).await?;
                tracing::warn!(tenant = %tenant, endpoint_id = %id, %reason, "health check disabled an endpoint");
            }
            found.push(Unhealthy {
                tenant_id: tenant.to_string(),
                endpoint_id: id.to_string(),
                failed,
                finished: total,
                reason,
            });
        }
    }
    Ok(found)
}

/// Outbox rows created between `since` and `older_than` whose fan-out did
/// not complete: some endpoint that wanted the event when it was published
/// (existing then, unchanged since) has no delivery of it. Delivery ids
/// come from the event and the endpoint, so this reads the expected keys
/// (read units) instead of keeping a mark per event (a write unit each).
pub async fn stuck_events(
    db: &Db,
    since: DateTime<Utc>,
    older_than: DateTime<Utc>,
) -> Result<Vec<OutboxRecord>, StoreError> {
    let (from, until) = (since.timestamp_millis().max(0) as u64, older_than.timestamp_millis().max(0) as u64);
    let mut stuck = Vec::new();
    for tenant in db.tenants().await? {
        let events = db.list_events_between(&tenant, from, until, |_| true).await?;
        if events.is_empty() {
            continue;
        }
        let endpoints = db.list_endpoints(&tenant, None, usize::MAX, |_| true).await?;
        for event in events {
            let data: serde_json::Value = serde_json::from_str(&event.payload).unwrap_or_default();
            // An endpoint created or changed after the event may want it now
            // without having wanted it then; it is not evidence of a stall.
            let expected: Vec<String> = endpoints
                .iter()
                .filter(|e| e.updated_at <= event.created_at && e.wants(&event, &data))
                .map(|e| DeliveryRecord::key(&DeliveryId::for_event(&event.event_id, &e.endpoint_id)))
                .collect();
            if !expected.is_empty() && !db.missing_deliveries(&tenant, expected).await?.is_empty() {
                stuck.push(event);
            }
        }
    }
    Ok(stuck)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_004: HealthRules =
        HealthRules { window: Duration::hours(24), failure_threshold_pct: 80, min_deliveries: 10 };

    #[test]
    fn the_seed_rule_disables_at_eighty_percent_over_ten() {
        assert!(is_failing(&SEED_004, 9, 10));
        assert!(is_failing(&SEED_004, 8, 10));
        assert!(!is_failing(&SEED_004, 7, 10));
        assert!(!is_failing(&SEED_004, 5, 10));
        assert!(!is_failing(&SEED_004, 9, 9), "too few deliveries to judge");
    }
}
