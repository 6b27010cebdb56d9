//! The `outbox-fanout` function: for each event committed to the outbox,
//! one delivery record per subscribed endpoint and one queue message each
//! (or, for an event the publish handler already sent, only what it left
//! undone: see `shared::aws::fanout`).

use std::collections::HashSet;

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{Error, LambdaEvent};
use shared::aws::dynamo::Db;
use shared::aws::fanout::{prepare, prepare_batch, recheck_delay_seconds, send, Subscribers};
use shared::aws::sqs::{OutgoingMessage, Queue};
use shared::aws::{Clients, StoreError};
use shared::config::Config;
use shared::endpoint::EndpointRecord;
use shared::event::OutboxRecord;
use shared::metrics::FanoutMetrics;

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

/// Handles one batch of stream records. Each tenant's endpoints are read
/// once for the whole batch; the events' delivery records are written
/// several events at a time; then the messages of the whole batch go to the
/// queue together (ten per call whichever events they belong to, so a busy
/// stream sends about one call per ten deliveries). The first event that
/// failed, in stream order, is reported, so Lambda retries the batch from
/// it. A repeat is harmless: delivery ids are derived from the event and
/// the endpoint, so a repeated record finds its deliveries written and
/// re-sends only those never attempted. No mark of its own is written per
/// event (it would cost a write unit each).
pub async fn handle(state: &FanoutState, event: LambdaEvent<Event>) -> Result<DynamoDbEventResponse, Error> {
    let mut events = Vec::new();
    for mut record in event.payload.records {
        if record.event_name != "INSERT" {
            continue;
        }
        match serde_dynamo::from_item::<_, OutboxRecord>(std::mem::take(&mut record.change.new_image)) {
            Ok(outbox) => events.push((record.change.sequence_number.clone(), outbox)),
            // Not an event row (or a shape this version does not know): nothing to fan out.
            Err(e) => tracing::warn!(error = %e, "skipping an outbox record that is not an event"),
        }
    }
    let mut subscribers = Subscribers::default();
    let mut wanted = Vec::with_capacity(events.len());
    for (_, outbox) in &events {
        wanted.push(subscribers.of(&state.db, outbox).await);
    }
    // The fan-out size is each event's subscribers, whichever path sent them.
    let sizes: Vec<usize> = wanted.iter().map(|w| w.as_ref().map_or(0, Vec::len)).collect();
    let recheck = recheck_delay_seconds(state.config.retry_scale);
    // Events whose endpoints were read go on together (one batched check
    // for all the fast-path ones); the others fail where they stand.
    let readable: Vec<(&OutboxRecord, &[EndpointRecord])> = events
        .iter()
        .zip(&wanted)
        .filter_map(|((_, outbox), w)| w.as_ref().ok().map(|e| (outbox, e.as_slice())))
        .collect();
    let mut done = prepare_batch(&state.db, state.config.retention_days, recheck, &readable).await.into_iter();
    let outcomes: Vec<Result<Vec<OutgoingMessage>, StoreError>> = wanted
        .into_iter()
        .map(|w| match w {
            Ok(_) => done.next().unwrap_or_else(|| Err(StoreError::Aws("fan-out lost track of an event".into()))),
            Err(e) => Err(e),
        })
        .collect();
    let mut prepared = Vec::new();
    let mut failed_from = None;
    for (((sequence, outbox), outcome), size) in events.into_iter().zip(outcomes).zip(sizes) {
        match outcome {
            Ok(messages) => prepared.push((sequence, outbox, messages, size)),
            Err(e) => {
                tracing::error!(event_id = %outbox.event_id, error = %e, "fan-out failed; the stream will retry it");
                failed_from = Some(sequence);
                break;
            }
        }
    }
    let mut unique = HashSet::new();
    let all: Vec<OutgoingMessage> =
        prepared.iter().flat_map(|(_, _, m, _)| m.iter()).filter(|m| unique.insert(m.id.clone())).cloned().collect();
    let refused = send(&state.queue, &all).await;
    for (sequence, outbox, messages, size) in prepared {
        if messages.iter().any(|m| refused.contains(&m.id)) {
            tracing::error!(event_id = %outbox.event_id, "the queue refused delivery messages; the stream will retry");
            failed_from = Some(sequence);
            break;
        }
        state.metrics.fanned_out(size);
        tracing::debug!(event_id = %outbox.event_id, sent = messages.len(), fast_path = outbox.fast_path, "fanned out");
    }
    let mut response = DynamoDbEventResponse::default();
    if let Some(sequence) = failed_from {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = sequence;
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}

/// Fans one event out; returns how many deliveries were enqueued. Safe to
/// run again for the same event: it re-enqueues only deliveries that never
/// left `pending` (or, for a fast-path event, only those with no record).
pub async fn fan_out(state: &FanoutState, event: &OutboxRecord) -> Result<u32, StoreError> {
    let endpoints: Vec<EndpointRecord> = Subscribers::default().of(&state.db, event).await?;
    let recheck = recheck_delay_seconds(state.config.retry_scale);
    let messages = prepare(&state.db, state.config.retention_days, recheck, event, &endpoints).await?;
    let refused = send(&state.queue, &messages).await;
    if !refused.is_empty() {
        return Err(StoreError::Aws(format!("the queue refused {} delivery messages", refused.len())));
    }
    Ok(messages.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
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
