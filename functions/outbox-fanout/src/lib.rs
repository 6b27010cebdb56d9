//! The `outbox-fanout` function: for each event committed to the outbox,
//! one delivery record per subscribed endpoint and one queue message each.

use std::collections::HashSet;
use std::sync::Arc;

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use shared::aws::deliveries::Creation;
use shared::aws::dynamo::Db;
use shared::aws::sqs::{batches, OutgoingMessage, Queue};
use shared::aws::{Clients, StoreError};
use shared::config::Config;
use shared::delivery::{DeliveryMessage, DeliveryRecord, DeliveryStatus};
use shared::event::{EventSnapshot, OutboxRecord};
use shared::metrics::FanoutMetrics;

/// Delivery records written at once.
const WRITE_CONCURRENCY: usize = 32;
/// Events of one stream batch whose delivery records are written at once.
const EVENT_CONCURRENCY: usize = 10;
/// Queue batches sent at once.
const SEND_CONCURRENCY: usize = 16;
/// Larger events travel by reference; the worker reads them from the outbox.
const MAX_EMBEDDED_EVENT_BYTES: usize = 200 * 1024;

/// This function's `Function` dimension.
pub const FUNCTION: &str = "outbox-fanout";

/// Built once per cold start.
pub struct FanoutState {
    pub config: Config,
    pub db: Db,
    pub queue: Queue,
    pub metrics: FanoutMetrics,
}

impl FanoutState {
    pub fn new(config: Config, clients: &Clients) -> Self {
        let db = Db::new(clients.dynamodb.clone(), config.tables.clone());
        let queue = Queue::new(clients.sqs.clone(), config.delivery_queue_url.clone());
        Self { config, db, queue, metrics: FanoutMetrics::register(FUNCTION) }
    }
}

/// Handles one batch of stream records. The events' delivery records are
/// written several events at a time; then the messages of the whole batch
/// go to the queue together (ten per call whichever events they belong to,
/// so a busy stream sends about one call per ten deliveries). The first
/// event that failed, in stream order, is reported, so Lambda retries the
/// batch from it. A repeat is harmless: delivery ids are derived from the
/// event and the endpoint, so a repeated record finds its deliveries
/// written and re-sends only those never attempted. No mark of its own is
/// written per event (it would cost a write unit each).
pub async fn handle(state: &FanoutState, event: LambdaEvent<Event>) -> Result<DynamoDbEventResponse, Error> {
    let mut events = Vec::new();
    for record in event.payload.records {
        if record.event_name != "INSERT" {
            continue;
        }
        match serde_dynamo::from_item::<_, OutboxRecord>(record.change.new_image.clone()) {
            Ok(outbox) => events.push((record.change.sequence_number.clone(), outbox)),
            // Not an event row (or a shape this version does not know): nothing to fan out.
            Err(e) => tracing::warn!(error = %e, "skipping an outbox record that is not an event"),
        }
    }
    let outcomes: Vec<Result<Vec<OutgoingMessage>, StoreError>> = stream::iter(events.clone())
        .map(|(_, outbox)| async move { prepare(state, &outbox).await })
        .buffered(EVENT_CONCURRENCY)
        .collect()
        .await;
    let mut prepared = Vec::new();
    let mut failed_from = None;
    for ((sequence, outbox), outcome) in events.into_iter().zip(outcomes) {
        match outcome {
            Ok(messages) => prepared.push((sequence, outbox, messages)),
            Err(e) => {
                tracing::error!(event_id = %outbox.event_id, error = %e, "fan-out failed; the stream will retry it");
                failed_from = Some(sequence);
                break;
            }
        }
    }
    let mut unique = HashSet::new();
    let all: Vec<OutgoingMessage> =
        prepared.iter().flat_map(|(_, _, m)| m.iter()).filter(|m| unique.insert(m.id.clone())).cloned().collect();
    let refused = send(state, &all).await;
    for (sequence, outbox, messages) in prepared {
        if messages.iter().any(|m| refused.contains(&m.id)) {
            tracing::error!(event_id = %outbox.event_id, "the queue refused delivery messages; the stream will retry");
            failed_from = Some(sequence);
            break;
        }
        state.metrics.fanned_out(messages.len());
        tracing::debug!(event_id = %outbox.event_id, deliveries = messages.len(), "fanned out");
    }
    let mut response = DynamoDbEventResponse::default();
    if let Some(sequence) = failed_from {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = sequence;
        response.batch_item_failures.push(failure);
    }
    Ok(response)
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

/// Fans one event out; returns how many deliveries were enqueued. Safe to
/// run again for the same event: it re-enqueues only deliveries that never
/// left `pending`.
pub async fn fan_out(state: &FanoutState, event: &OutboxRecord) -> Result<u32, StoreError> {
    let messages = prepare(state, event).await?;
    let refused = send(state, &messages).await;
    if !refused.is_empty() {
        return Err(StoreError::Aws(format!("the queue refused {} delivery messages", refused.len())));
    }
    Ok(messages.len() as u32)
}

/// Writes the event's delivery records and returns the messages to send:
/// one per delivery created now, or found still pending and never attempted
/// (a replayed stream record, or a sweep racing the stream).
async fn prepare(state: &FanoutState, event: &OutboxRecord) -> Result<Vec<OutgoingMessage>, StoreError> {
    let data: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
    let endpoints = state.db.list_endpoints(&event.tenant_id, None, usize::MAX, |e| e.wants(event, &data)).await?;
    let snapshot = Arc::new(EventSnapshot::from(event));
    let embed = fits_in_message(&snapshot);
    let retention = state.config.retention_days;
    let messages: Vec<Option<OutgoingMessage>> = stream::iter(endpoints)
        .map(|endpoint| {
            let snapshot = snapshot.clone();
            async move {
                let record = DeliveryRecord::pending(&event.tenant_id, &snapshot, &endpoint.endpoint_id, retention);
                let enqueue = match state.db.create_delivery(&record).await? {
                    Creation::Created => true,
                    // A retried fan-out: re-send only what was never attempted.
                    Creation::Existed(Some(old)) => old.status == DeliveryStatus::Pending && old.attempts == 0,
                    Creation::Existed(None) => false,
                };
                let message = DeliveryMessage {
                    tenant_id: event.tenant_id.clone(),
                    delivery_id: record.delivery_id.clone(),
                    attempt: 1,
                    not_before: None,
                    manual: false,
                    event: embed.then(|| (*snapshot).clone()),
                    slot_at: None,
                };
                Ok::<_, StoreError>(enqueue.then(|| OutgoingMessage {
                    id: record.delivery_id.to_string(),
                    body: serde_json::to_string(&message).expect("delivery messages serialize"),
                    delay_seconds: 0,
                }))
            }
        })
        .buffer_unordered(WRITE_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(messages.into_iter().flatten().collect())
}

/// Sends messages, several calls at once; returns the ids of those not
/// sent (refused by SQS, or in a call that failed).
async fn send(state: &FanoutState, messages: &[OutgoingMessage]) -> HashSet<String> {
    let outcomes: Vec<Vec<String>> = stream::iter(batches(messages).into_iter().map(<[OutgoingMessage]>::to_vec))
        .map(|batch| {
            let queue = state.queue.clone();
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::endpoint::EndpointRecord;
    use shared::event::NewEvent;
    use shared::ids::TenantId;

    fn endpoint(status: &str, types: Value, filters: Value) -> EndpointRecord {
        serde_json::from_value(json!({
            "tenant_id": "t", "endpoint_id": shared::ids::EndpointId::generate(), "url": "https://a.example/", "name": "a",
            "description": "", "event_types": types, "retry_policy": "exponential", "max_retries": 3, "timeout_seconds": 5,
            "filters": filters, "status": status, "secret_sealed": "", "secret_masked": "", "version": 1,
            "created_at": "2026-11-22T00:00:00Z", "updated_at": "2026-11-22T00:00:00Z"
        }))
        .unwrap()
    }

    fn event(only: Option<&EndpointRecord>) -> OutboxRecord {
        let new = NewEvent {
            event_type: "lab.order.completed".into(),
            payload: "{}".into(),
            idempotency_key: None,
            correlation_id: None,
            only_endpoint: only.map(|e| e.endpoint_id.clone()),
        };
        OutboxRecord::new(&TenantId::default_tenant(), new, 30)
    }

    #[test]
    fn subscriptions_filters_and_status_decide_who_gets_a_delivery() {
        let data = json!({"region": "IN-KA"});
        let e = event(None);
        assert!(endpoint("active", json!(["lab.*"]), json!([])).wants(&e, &data));
        assert!(endpoint("paused", json!(["*"]), json!([])).wants(&e, &data), "paused endpoints get parked deliveries");
        assert!(!endpoint("disabled", json!(["*"]), json!([])).wants(&e, &data));
        assert!(!endpoint("active", json!(["bill.paid"]), json!([])).wants(&e, &data));
        let ka = json!([{"pointer": "/region", "equals": "IN-KA"}]);
        let mh = json!([{"pointer": "/region", "in": ["IN-MH", "IN-GJ"]}]);
        assert!(endpoint("active", json!(["*"]), ka).wants(&e, &data));
        assert!(!endpoint("active", json!(["*"]), mh).wants(&e, &data));
    }

    #[test]
    fn a_test_event_goes_to_its_endpoint_only_whatever_it_subscribes_to() {
        let target = endpoint("active", json!(["bill.paid"]), json!([]));
        let other = endpoint("active", json!(["*"]), json!([]));
        let e = event(Some(&target));
        assert!(target.wants(&e, &Value::Null));
        assert!(!other.wants(&e, &Value::Null));
    }
}
