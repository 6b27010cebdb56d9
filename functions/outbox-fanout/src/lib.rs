//! The `outbox-fanout` function: for each event committed to the outbox,
//! one delivery record per subscribed endpoint and one queue message each.

use std::sync::Arc;

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use shared::aws::deliveries::Creation;
use shared::aws::dynamo::Db;
use shared::aws::sqs::{OutgoingMessage, Queue};
use shared::aws::{Clients, StoreError};
use shared::config::Config;
use shared::delivery::{DeliveryMessage, DeliveryRecord, DeliveryStatus};
use shared::endpoint::{EndpointRecord, EndpointStatus};
use shared::event::{EventSnapshot, OutboxRecord};

/// Events of one stream batch fanned out at once.
const EVENT_CONCURRENCY: usize = 10;
/// Delivery records written at once.
const WRITE_CONCURRENCY: usize = 32;
/// Queue batches sent at once.
const SEND_CONCURRENCY: usize = 16;
/// Larger events travel by reference; the worker reads them from the outbox.
const MAX_EMBEDDED_EVENT_BYTES: usize = 200 * 1024;

/// Built once per cold start.
pub struct FanoutState {
    pub config: Config,
    pub db: Db,
    pub queue: Queue,
}

impl FanoutState {
    pub fn new(config: Config, clients: &Clients) -> Self {
        let db = Db::new(clients.dynamodb.clone(), config.tables.clone());
        let queue = Queue::new(clients.sqs.clone(), config.delivery_queue_url.clone());
        Self { config, db, queue }
    }
}

/// True when `endpoint` should get a delivery of `event`. Disabled endpoints
/// get nothing; paused ones get a delivery that the worker parks.
pub fn wants(endpoint: &EndpointRecord, event: &OutboxRecord, data: &Value) -> bool {
    if endpoint.status == EndpointStatus::Disabled {
        return false;
    }
    if let Some(only) = &event.only_endpoint {
        return only == &endpoint.endpoint_id;
    }
    endpoint.subscribes_to(&event.event_type) && endpoint.settings.filters.iter().all(|f| f.matches(data))
}

/// Handles one batch of stream records. The events fan out side by side
/// (each on its own, and a repeat is harmless); the first that failed, in
/// stream order, is reported, so Lambda retries the batch from it.
pub async fn handle(state: &FanoutState, event: LambdaEvent<Event>) -> Result<DynamoDbEventResponse, Error> {
    let outcomes: Vec<Result<(), _>> = stream::iter(event.payload.records)
        .map(|record| async move {
            if record.event_name != "INSERT" {
                return Ok(());
            }
            let outbox: OutboxRecord = match serde_dynamo::from_item(record.change.new_image.clone()) {
                Ok(o) => o,
                Err(e) => {
                    // Not an event row (or a shape this version does not know): nothing to fan out.
                    tracing::warn!(error = %e, "skipping an outbox record that is not an event");
                    return Ok(());
                }
            };
            match fan_out(state, &outbox).await {
                Ok(count) => {
                    tracing::info!(event_id = %outbox.event_id, deliveries = count, "fanned out");
                    Ok(())
                }
                Err(e) => {
                    tracing::error!(event_id = %outbox.event_id, error = %e, "fan-out failed; the stream will retry it");
                    Err(record.change.sequence_number)
                }
            }
        })
        .buffered(EVENT_CONCURRENCY)
        .collect()
        .await;
    let mut response = DynamoDbEventResponse::default();
    if let Some(Err(sequence_number)) = outcomes.into_iter().find(Result::is_err) {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = sequence_number;
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}

/// Fans one event out; returns how many deliveries were enqueued. Safe to
/// run again for the same event: a completed fan-out is skipped, and a
/// partial one re-enqueues only deliveries that never left `pending`.
pub async fn fan_out(state: &FanoutState, event: &OutboxRecord) -> Result<u32, StoreError> {
    // Read the row itself: a stream record is only a hint. The row may be
    // dispatched already (a replay), or absent (pruned, or a write that was
    // rolled back, which some emulators still stream).
    match state.db.get_event(&event.tenant_id, &event.event_id, true).await? {
        Some(current) if current.dispatched_at.is_none() => {}
        _ => return Ok(0),
    }
    let data: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
    let endpoints = state.db.list_endpoints(&event.tenant_id, None, usize::MAX, |e| wants(e, event, &data)).await?;
    let snapshot = Arc::new(EventSnapshot::from(event));
    let embed = snapshot.payload.len() < MAX_EMBEDDED_EVENT_BYTES;
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
    let messages: Vec<OutgoingMessage> = messages.into_iter().flatten().collect();
    let count = messages.len() as u32;
    let refused: Vec<Vec<String>> = stream::iter(messages.chunks(10).map(<[OutgoingMessage]>::to_vec))
        .map(|batch| {
            let queue = state.queue.clone();
            async move { queue.send_all(&batch).await }
        })
        .buffer_unordered(SEND_CONCURRENCY)
        .try_collect()
        .await?;
    let refused: Vec<String> = refused.into_iter().flatten().collect();
    if !refused.is_empty() {
        return Err(StoreError::Aws(format!("the queue refused {} delivery messages", refused.len())));
    }
    state.db.mark_dispatched(&event.tenant_id, &event.event_id, count).await?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
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
        assert!(wants(&endpoint("active", json!(["lab.*"]), json!([])), &e, &data));
        assert!(
            wants(&endpoint("paused", json!(["*"]), json!([])), &e, &data),
            "paused endpoints get parked deliveries"
        );
        assert!(!wants(&endpoint("disabled", json!(["*"]), json!([])), &e, &data));
        assert!(!wants(&endpoint("active", json!(["bill.paid"]), json!([])), &e, &data));
        let ka = json!([{"pointer": "/region", "equals": "IN-KA"}]);
        let mh = json!([{"pointer": "/region", "in": ["IN-MH", "IN-GJ"]}]);
        assert!(wants(&endpoint("active", json!(["*"]), ka), &e, &data));
        assert!(!wants(&endpoint("active", json!(["*"]), mh), &e, &data));
    }

    #[test]
    fn a_test_event_goes_to_its_endpoint_only_whatever_it_subscribes_to() {
        let target = endpoint("active", json!(["bill.paid"]), json!([]));
        let other = endpoint("active", json!(["*"]), json!([]));
        let e = event(Some(&target));
        assert!(wants(&target, &e, &Value::Null));
        assert!(!wants(&other, &e, &Value::Null));
    }
}
