//! Putting deliveries back on the queue and replaying inbound webhooks: one
//! code path for the admin API and the CLI.

use chrono::{DateTime, Utc};

use crate::aws::dynamo::Db;
use crate::aws::sqs::{OutgoingMessage, Queue};
use crate::aws::StoreError;
use crate::crypto::SecretBox;
use crate::delivery::{DeliveryMessage, DeliveryRecord, DeliveryStatus};
use crate::event::new_correlation_id;
use crate::ids::{EndpointId, InboundId, TenantId};
use crate::inbound::{InboundMessage, InboundRecord, InboundStatus};

fn millis(t: DateTime<Utc>) -> u64 {
    t.timestamp_millis().max(0) as u64
}

/// Sends one message that must go.
pub(crate) async fn send_one(queue: &Queue, body: String) -> Result<(), StoreError> {
    let refused = queue.send_all(&[OutgoingMessage { id: "0".into(), body, delay_seconds: 0 }]).await?;
    if refused.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Aws("the queue refused a message".into()))
    }
}

/// Failed deliveries of events created since `since`, for every tenant
/// (or one), for every endpoint (or one).
pub async fn failed_deliveries(
    db: &Db,
    since: DateTime<Utc>,
    tenant: Option<&TenantId>,
    endpoint: Option<&EndpointId>,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let tenants = match tenant {
        Some(t) => vec![t.clone()],
        None => db.tenants().await?,
    };
    let mut found = Vec::new();
    for tenant in &tenants {
        let endpoints =
            db.list_endpoints(tenant, None, usize::MAX, |e| endpoint.is_none_or(|id| &e.endpoint_id == id)).await?;
        for e in endpoints {
            let failed = |d: &DeliveryRecord| d.status == DeliveryStatus::Failed;
            found.extend(db.list_deliveries(tenant, &e.endpoint_id, millis(since), None, usize::MAX, failed).await?);
        }
    }
    Ok(found)
}

/// Puts a delivery back on the queue as `pending` if it is in one of
/// `from`. `manual` attempts are single tries; resumed parked deliveries
/// keep their automatic retries. False when its status had moved on.
pub async fn requeue(
    db: &Db,
    queue: &Queue,
    d: &DeliveryRecord,
    from: &[DeliveryStatus],
    manual: bool,
) -> Result<bool, StoreError> {
    if !db.set_delivery_status(&d.tenant_id, &d.delivery_id, DeliveryStatus::Pending, from).await? {
        return Ok(false);
    }
    send_one(queue, serde_json::to_string(&next_attempt(d, manual)).expect("delivery messages serialize")).await?;
    Ok(true)
}

/// The message for a requeued delivery's next attempt; the worker reads
/// the event from the outbox.
pub(crate) fn next_attempt(d: &DeliveryRecord, manual: bool) -> DeliveryMessage {
    DeliveryMessage {
        tenant_id: d.tenant_id.clone(),
        delivery_id: d.delivery_id.clone(),
        attempt: d.attempts + 1,
        not_before: None,
        manual,
        event: None,
        slot_at: None,
        recheck: false,
    }
}

/// Requeues many deliveries, sixteen at a time; returns how many were queued.
pub async fn requeue_all(
    db: &Db,
    queue: &Queue,
    list: &[DeliveryRecord],
    from: &[DeliveryStatus],
    manual: bool,
) -> Result<u32, StoreError> {
    let mut queued = 0;
    for chunk in list.chunks(16) {
        for done in futures_util::future::join_all(chunk.iter().map(|d| requeue(db, queue, d, from, manual))).await {
            queued += u32::from(done?);
        }
    }
    Ok(queued)
}

/// A source's inbound records received since `since` that a replay should
/// take: not duplicates, and only failed ones when `failed_only`. The
/// source is found by its global slug, so this also answers for whose it is.
pub async fn inbound_to_replay(
    db: &Db,
    source: &str,
    failed_only: bool,
    since: DateTime<Utc>,
) -> Result<Option<(TenantId, Vec<InboundRecord>)>, StoreError> {
    let Some(found) = db.source_by_slug(source).await? else { return Ok(None) };
    let keep = |r: &InboundRecord| {
        r.source_slug == source
            && r.status != InboundStatus::Duplicate
            && (!failed_only || r.status == InboundStatus::Failed)
    };
    let records = db.list_inbound(&found.tenant_id, millis(since), None, usize::MAX, keep).await?;
    Ok(Some((found.tenant_id, records)))
}

/// Clones a record under a new id and correlation id, linked to the
/// original, and queues it; signatures and dedupe are not checked again.
pub async fn replay_inbound(
    db: &Db,
    queue: &Queue,
    sealer: &SecretBox,
    original: &InboundRecord,
) -> Result<InboundRecord, StoreError> {
    let body = original.open_body(sealer).map_err(StoreError::Aws)?;
    let id = InboundId::generate();
    let mut clone = InboundRecord {
        inbound_id: id.clone(),
        status: InboundStatus::Received,
        correlation_id: new_correlation_id(),
        received_at: Utc::now(),
        event_id: None,
        event_type: None,
        failure_reason: None,
        replay_of: Some(original.inbound_id.clone()),
        duplicate_of: None,
        ..original.clone()
    };
    clone.seal_body(sealer, &body);
    db.put_inbound(&clone).await?;
    let message = InboundMessage { tenant_id: clone.tenant_id.clone(), inbound_id: id };
    send_one(queue, serde_json::to_string(&message).expect("inbound messages serialize")).await?;
    Ok(clone)
}
