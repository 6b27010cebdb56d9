//! Turning a committed event into delivery records and queue messages,
//! shared by the two ways it happens:
//!
//! - the **fast path**: the publish handler, right after the outbox row is
//!   written, sends each subscribed endpoint's message and writes nothing
//!   more: the first attempt writes the delivery's record (two write units a
//!   delivery in all: the event, and the outcome);
//! - the **stream** (and the outbox sweeper): the outbox row's record reaches
//!   `outbox-fanout`. For an ordinary event it writes each pending record and
//!   sends. For a fast-path event it looks for the expected records (one
//!   batched read): a delivery with none is still waiting in the queue, or
//!   was never sent (the publish call stopped half-way). It gets its pending
//!   record now, so a waiting delivery shows in the log, and a copy of its
//!   message that waits out the longest SQS delay and is dropped if an
//!   attempt was made by then.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::Value;

use super::deliveries::Creation;
use super::dynamo::Db;
use super::sqs::{batches, OutgoingMessage, Queue, MAX_DELAY_SECONDS};
use super::StoreError;
use crate::delivery::{DeliveryMessage, DeliveryRecord, DeliveryStatus};
use crate::endpoint::EndpointRecord;
use crate::event::{EventSnapshot, OutboxRecord};
use crate::ids::TenantId;

/// Delivery records written at once.
const WRITE_CONCURRENCY: usize = 32;
/// Events whose delivery records are written at once.
const EVENT_CONCURRENCY: usize = 10;
/// Queue batches sent at once.
const SEND_CONCURRENCY: usize = 16;
/// Larger events travel by reference; the worker reads them from the outbox.
pub const MAX_EMBEDDED_EVENT_BYTES: usize = 200 * 1024;

/// A tenant's endpoints, read once per tenant for a whole batch of events
/// (one query instead of one per event), each with when it was read.
#[derive(Default)]
pub struct Subscribers {
    by_tenant: HashMap<TenantId, (Arc<Vec<EndpointRecord>>, i64)>,
}

impl Subscribers {
    /// A tenant's endpoints as read at `read_at` (epoch milliseconds).
    pub fn known(tenant: TenantId, endpoints: Arc<Vec<EndpointRecord>>, read_at: i64) -> Self {
        Self { by_tenant: HashMap::from([(tenant, (endpoints, read_at))]) }
    }

    /// When a tenant's endpoints were read, if they were.
    pub fn read_at(&self, tenant: &TenantId) -> Option<i64> {
        self.by_tenant.get(tenant).map(|(_, at)| *at)
    }

    /// The endpoints of `event`'s tenant that want it.
    pub async fn of(&mut self, db: &Db, event: &OutboxRecord) -> Result<Vec<EndpointRecord>, StoreError> {
        let all = match self.by_tenant.get(&event.tenant_id) {
            Some((all, _)) => all.clone(),
            None => {
                let at = Utc::now().timestamp_millis();
                let all = Arc::new(db.list_endpoints(&event.tenant_id, None, usize::MAX, |_| true).await?);
                self.by_tenant.insert(event.tenant_id.clone(), (all.clone(), at));
                all
            }
        };
        let data: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
        Ok(all.iter().filter(|e| e.wants(event, &data)).cloned().collect())
    }
}

/// Whether the event can ride in its delivery messages. Inside a message
/// the payload is a JSON string, where every quote and backslash doubles,
/// so a payload near the limit is measured as it will be sent.
fn fits_in_message(snapshot: &EventSnapshot) -> bool {
    let len = snapshot.payload.len();
    len * 2 < MAX_EMBEDDED_EVENT_BYTES
        || (len < MAX_EMBEDDED_EVENT_BYTES
            && serde_json::to_string(snapshot).map(|s| s.len()).unwrap_or(usize::MAX) < MAX_EMBEDDED_EVENT_BYTES)
}

/// One delivery of an event: its pending record and its first message.
struct Planned {
    record: DeliveryRecord,
    message: DeliveryMessage,
}

impl Planned {
    /// The message as sent: at once, or (`recheck_after`) as the stream's
    /// copy of a fast-path delivery, held back and checked on arrival.
    fn outgoing(mut self, recheck_after: Option<u32>) -> OutgoingMessage {
        self.message.recheck = recheck_after.is_some();
        OutgoingMessage {
            id: self.record.delivery_id.to_string(),
            body: serde_json::to_string(&self.message).expect("delivery messages serialize"),
            delay_seconds: recheck_after.unwrap_or(0),
        }
    }
}

fn plan<'a>(
    event: &OutboxRecord,
    endpoints: impl IntoIterator<Item = &'a EndpointRecord>,
    retention_days: u32,
) -> Vec<Planned> {
    let snapshot = EventSnapshot::from(event);
    let embed = fits_in_message(&snapshot);
    endpoints
        .into_iter()
        .map(|endpoint| {
            let record = DeliveryRecord::pending(&event.tenant_id, &snapshot, &endpoint.endpoint_id, retention_days);
            let message = DeliveryMessage {
                tenant_id: event.tenant_id.clone(),
                delivery_id: record.delivery_id.clone(),
                attempt: 1,
                not_before: None,
                manual: false,
                event: embed.then(|| snapshot.clone()),
                slot_at: None,
                recheck: false,
            };
            Planned { record, message }
        })
        .collect()
}

/// How long the stream's copy of a fast-path delivery waits in the queue:
/// the longest delay SQS allows (scaled like retry delays, for tests). The
/// publish call's own message, if it was sent, has been taken long before,
/// unless the queue is that far behind.
pub fn recheck_delay_seconds(retry_scale: f64) -> u32 {
    (f64::from(MAX_DELAY_SECONDS) * retry_scale).round().clamp(1.0, f64::from(MAX_DELAY_SECONDS)) as u32
}

/// The stream's (and the sweeper's) part for one event: see [`prepare_batch`].
pub async fn prepare(
    db: &Db,
    retention_days: u32,
    recheck_delay: u32,
    event: &OutboxRecord,
    endpoints: &[EndpointRecord],
) -> Result<Vec<OutgoingMessage>, StoreError> {
    prepare_batch(db, retention_days, recheck_delay, &[(event, endpoints)]).await.pop().unwrap_or(Ok(Vec::new()))
}

/// The stream's (and the sweeper's) part: writes the events' delivery
/// records and returns each event's messages to send, in order.
///
/// - A fast-path event: only deliveries never attempted, to the endpoints
///   the publish call sent to (as it read them, `subscribers_at`; not
///   rate-limited ones). One batched read for all the events
///   (100 keys a call) finds them. Each gets its pending record (if it has
///   none) and a copy of its message that waits `recheck_delay` seconds
///   (see [`recheck_delay_seconds`]). The event's other endpoints are
///   treated as below.
/// - Any other event: a record created now is sent; one found still pending
///   and never attempted is sent again (a replayed stream record, or a sweep
///   racing the stream).
pub async fn prepare_batch(
    db: &Db,
    retention_days: u32,
    recheck_delay: u32,
    events: &[(&OutboxRecord, &[EndpointRecord])],
) -> Vec<Result<Vec<OutgoingMessage>, StoreError>> {
    // For a fast-path event: the deliveries the publish call chose (its
    // endpoints as read then), and those that are the stream's alone.
    let (plans, own): (Vec<Vec<Planned>>, Vec<Vec<Planned>>) = events
        .iter()
        .map(|(event, endpoints)| {
            if !event.fast_path {
                return (Vec::new(), plan(event, endpoints.iter(), retention_days));
            }
            // An endpoint created after the event never gets it. One created
            // or changed since the publish call read the endpoints may not
            // have been sent to: the stream sends it now (a delivery already
            // sent is then sent twice, under the same id, at worst). A
            // rate-limited one the publish call leaves to the stream.
            let read_at = event.subscribers_at.unwrap_or_else(|| event.created_at.timestamp_millis());
            let (chosen, changed): (Vec<&EndpointRecord>, Vec<&EndpointRecord>) = endpoints
                .iter()
                .filter(|e| e.created_at <= event.created_at)
                .partition(|e| e.updated_at.timestamp_millis() < read_at && e.settings.rate_limit_per_second.is_none());
            (plan(event, chosen, retention_days), plan(event, changed, retention_days))
        })
        .unzip();
    // Attempted deliveries are done with. A pending record the fast path
    // never writes: one found here is this stream's own from an earlier
    // pass whose send may have failed, so it is sent again.
    let expected: Vec<(&TenantId, &str)> = events
        .iter()
        .zip(&plans)
        .flat_map(|((event, _), planned)| planned.iter().map(|p| (&event.tenant_id, p.record.delivery_key.as_str())))
        .collect();
    let attempted = if expected.is_empty() {
        Ok(HashMap::new())
    } else {
        // Without the check no fast-path event can go on; the others can.
        db.attempted_deliveries(&expected).await.map_err(|e| e.to_string())
    };
    // Collected first: a stream over the iterator (its closure's borrowed
    // arguments) would not be `Send`.
    let work: Vec<_> = events
        .iter()
        .zip(plans.into_iter().zip(own))
        .map(|((event, _), (planned, own))| {
            let done = match (&attempted, event.fast_path) {
                (_, false) => Ok(None),
                (Ok(attempted), true) => Ok(attempted.get(event.tenant_id.as_str())),
                (Err(e), true) => Err(StoreError::Aws(e.clone())),
            };
            finish(db, planned, done, own, recheck_delay)
        })
        .collect();
    stream::iter(work).buffered(EVENT_CONCURRENCY).collect().await
}

/// One event's part once the attempted deliveries are known (`done`, for
/// a fast-path event): its chosen deliveries not yet attempted get their
/// pending records and held-back copies; its `own` ones (the stream's
/// alone) are written and sent at once.
async fn finish(
    db: &Db,
    mut chosen: Vec<Planned>,
    done: Result<Option<&HashSet<String>>, StoreError>,
    own: Vec<Planned>,
    recheck_delay: u32,
) -> Result<Vec<OutgoingMessage>, StoreError> {
    if chosen.is_empty() {
        return write_pending(db, own, None).await;
    }
    if let Some(done) = done? {
        chosen.retain(|p| !done.contains(&p.record.delivery_key));
    }
    let mut messages = write_pending(db, chosen, Some(recheck_delay)).await?;
    messages.extend(write_pending(db, own, None).await?);
    Ok(messages)
}

/// Writes each planned delivery's pending record (several at once) and
/// returns the messages to send: for a fast-path event (`recheck_after`),
/// the held-back copies.
async fn write_pending(
    db: &Db,
    planned: Vec<Planned>,
    recheck_after: Option<u32>,
) -> Result<Vec<OutgoingMessage>, StoreError> {
    let messages: Vec<Option<OutgoingMessage>> = stream::iter(planned)
        .map(|p| async move {
            let enqueue = match db.create_delivery(&p.record).await? {
                Creation::Created => true,
                // A retried fan-out: re-send only what was never attempted.
                Creation::Existed(Some(old)) => old.status == DeliveryStatus::Pending && old.attempts == 0,
                Creation::Existed(None) => false,
            };
            // A fast-path delivery the stream found unattempted: the publish
            // call stopped before sending it, or its message is still
            // waiting. The stream's copy waits, then is dropped if an attempt
            // was made meanwhile.
            Ok::<_, StoreError>(enqueue.then(|| p.outgoing(recheck_after)))
        })
        .buffer_unordered(WRITE_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(messages.into_iter().flatten().collect())
}

/// Sends messages, several calls at once; returns the ids of those not
/// sent (refused by SQS, or in a call that failed).
pub async fn send(queue: &Queue, messages: &[OutgoingMessage]) -> HashSet<String> {
    let outcomes: Vec<Vec<String>> = stream::iter(batches(messages).into_iter().map(<[OutgoingMessage]>::to_vec))
        .map(|batch| {
            let queue = queue.clone();
            async move {
                match queue.send_all(&batch).await {
                    Ok(refused) => refused,
                    Err(e) => {
                        tracing::warn!(error = %e, messages = batch.len(), "a delivery batch was not sent");
                        batch.iter().map(|m| m.id.clone()).collect()
                    }
                }
            }
        })
        .buffer_unordered(SEND_CONCURRENCY)
        .collect()
        .await;
    outcomes.into_iter().flatten().collect()
}

/// What the fast path did for a publish call.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FastPathOutcome {
    /// Deliveries whose message went out from the publish handler.
    pub sent: usize,
    /// Deliveries the queue refused, left to the stream.
    pub left_to_stream: usize,
}

/// The fast path for committed events that were marked `fast_path` (each
/// with the endpoints it was planned for): every delivery's first message,
/// and nothing written. What the queue refuses is left to the stream, which
/// finds no record for it; nothing is returned as an error, since the
/// events are committed.
pub async fn fast_path(
    queue: &Queue,
    retention_days: u32,
    events: &[(&OutboxRecord, Vec<EndpointRecord>)],
) -> FastPathOutcome {
    let messages: Vec<OutgoingMessage> = events
        .iter()
        .flat_map(|(event, endpoints)| plan(event, endpoints, retention_days))
        .map(|p| p.outgoing(None))
        .collect();
    if messages.is_empty() {
        return FastPathOutcome::default();
    }
    let refused = send(queue, &messages).await;
    if !refused.is_empty() {
        tracing::warn!(refused = refused.len(), "fast path: the queue refused messages; the stream will send them");
    }
    FastPathOutcome { sent: messages.len() - refused.len(), left_to_stream: refused.len() }
}

/// How many deliveries the fast path may take on for one publish call:
/// beyond that, the publish answers as soon as the outbox row is written and
/// the stream fans out (a large fan-out would hold the API call too long).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastPathBudget(pub usize);

impl FastPathBudget {
    /// Marks the events the fast path will take on, in order, while their
    /// deliveries fit the budget; returns each marked event's endpoints
    /// (empty for the others). An event with no subscriber is not marked.
    pub async fn mark(
        self,
        db: &Db,
        subscribers: &mut Subscribers,
        events: &mut [&mut OutboxRecord],
    ) -> Result<Vec<Vec<EndpointRecord>>, StoreError> {
        let mut left = self.0;
        let mut planned = Vec::with_capacity(events.len());
        for event in events.iter_mut() {
            if left == 0 {
                planned.push(Vec::new());
                continue;
            }
            // A rate-limited endpoint's deliveries may wait for their slots
            // longer than the stream's held-back copy: they are the stream's,
            // one message each, so a copy never starts a second attempt.
            let mut endpoints = subscribers.of(db, event).await?;
            endpoints.retain(|e| e.settings.rate_limit_per_second.is_none());
            if endpoints.is_empty() || endpoints.len() > left {
                planned.push(Vec::new());
                continue;
            }
            left -= endpoints.len();
            event.fast_path = true;
            event.subscribers_at = subscribers.read_at(&event.tenant_id);
            planned.push(endpoints);
        }
        Ok(planned)
    }
}
