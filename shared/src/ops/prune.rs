//! Pruning by retention. On a deployed stack retention is DynamoDB TTL:
//! every log row carries `expires_at`, and TTL deletes it at no charge. The
//! daily prune is the safety net for what TTL missed (it deletes within a
//! few days of expiry, usually within two), so it looks only past retention
//! plus a grace period, where it normally finds nothing. `hookline prune
//! --days N` below the retention deletes now, paying a write unit per item,
//! as the seed's command does. Claims (dedupe, idempotency) are left to TTL
//! entirely: an expired claim no longer counts, so nothing needs a scan.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::dynamo::Db;
use crate::aws::StoreError;
use crate::delivery::DeliveryStatus;

/// Days past retention before the scheduled prune deletes what TTL has not.
pub const TTL_GRACE_DAYS: u32 = 3;

/// What a prune removed (or, in a dry run, would remove).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    pub deliveries: u64,
    pub events: u64,
    pub inbound: u64,
    /// Old deliveries kept because they are still pending, retrying or parked.
    pub kept_in_flight: u64,
}

fn millis(t: DateTime<Utc>) -> u64 {
    t.timestamp_millis().max(0) as u64
}

/// Deletes delivery records (attempts are inline), outbox rows and inbound
/// records older than `cutoff`; never an in-flight delivery. `progress` is called with a running count
/// of records examined.
///
/// Every store is read by key range (ids begin with their creation time),
/// so a run reads only what is old enough to go; TTL attributes set at
/// write time remove the rest for free.
pub async fn prune(
    db: &Db,
    cutoff: DateTime<Utc>,
    dry_run: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<PruneReport, StoreError> {
    let mut report = PruneReport::default();
    let mut seen = 0u64;
    let cut = millis(cutoff);
    let in_flight =
        |s: DeliveryStatus| matches!(s, DeliveryStatus::Pending | DeliveryStatus::Retrying | DeliveryStatus::Parked);
    for tenant in db.tenants().await? {
        for endpoint in db.list_endpoints(&tenant, None, usize::MAX, |_| true).await? {
            let old = db
                .list_deliveries_between(&tenant, &endpoint.endpoint_id, (0, Some(cut)), None, usize::MAX, |_| true)
                .await?;
            for d in old {
                seen += 1;
                if in_flight(d.status) {
                    report.kept_in_flight += 1;
                } else if dry_run || db.delete_finished_delivery(&tenant, &d.delivery_key).await? {
                    report.deliveries += 1;
                }
            }
            progress(seen);
        }
        for e in db.list_events_between(&tenant, 0, cut, |_| true).await? {
            seen += 1;
            if !dry_run {
                db.delete_key(&db.tables.events, &tenant, "event_id", e.event_id.as_str()).await?;
            }
            report.events += 1;
        }
        progress(seen);
        let cutoff_time = cutoff;
        for r in db.list_inbound(&tenant, 0, None, usize::MAX, |r| r.received_at < cutoff_time).await? {
            seen += 1;
            if !dry_run {
                db.delete_key(&db.tables.inbound, &tenant, "inbound_id", r.inbound_id.as_str()).await?;
            }
            report.inbound += 1;
        }
        progress(seen);
    }
    Ok(report)
}
