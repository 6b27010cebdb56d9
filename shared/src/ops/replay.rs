//! Putting deliveries back on the queue and replaying inbound webhooks: one
//! code path for the admin API and the CLI.

use chrono::{DateTime, Utc};

use crate::aws::dynamo::Db;
use crate::aws::sqs::Queue;
use crate::aws::StoreError;
use crate::crypto::SecretBox;
use crate::delivery::{DeliveryRecord, DeliveryStatus};
use crate::ids::{EndpointId, TenantId};
use crate::inbound::InboundRecord;

/// Failed deliveries of events created since `since`, for every tenant
/// (or one), for every endpoint (or one).
pub async fn failed_deliveries(
    db: &Db,
    since: DateTime<Utc>,
    tenant: Option<&TenantId>,
    endpoint: Option<&EndpointId>,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let _ = (db, since, tenant, endpoint);
    todo!()
}

/// Puts a delivery back on the queue as `pending` if it is in one of
/// `from`. `manual` attempts are single tries; resumed parked deliveries
/// keep their automatic retries. False when its status had moved on.
pub async fn requeue(db: &Db, queue: &Queue, d: &DeliveryRecord, from: &[DeliveryStatus], manual: bool) -> Result<bool, StoreError> {
    let _ = (db, queue, d, from, manual);
    todo!()
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
    let _ = (db, source, failed_only, since);
    todo!()
}

/// Clones a record under a new id and correlation id, linked to the
/// original, and queues it; signatures and dedupe are not checked again.
pub async fn replay_inbound(db: &Db, queue: &Queue, sealer: &SecretBox, original: &InboundRecord) -> Result<InboundRecord, StoreError> {
    let _ = (db, queue, sealer, original);
    todo!()
}
