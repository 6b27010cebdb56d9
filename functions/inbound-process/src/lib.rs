//! The `inbound-process` function: each received webhook becomes an internal
//! event in the outbox, carrying its correlation id to outbound deliveries.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::future::join_all;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use shared::aws::dynamo::Db;
use shared::aws::inbound::Outcome;
use shared::aws::outbox::PublishOutcome;
use shared::aws::secrets::Keyring;
use shared::aws::Clients;
use shared::config::Config;
use shared::event::{NewEvent, OutboxRecord, MAX_STORED_PAYLOAD_BYTES};
use shared::inbound::{body_as_data, event_type_for, InboundMessage, InboundRecord, InboundStatus};
use shared::metrics::{InboundMetrics, InboundOutcome};
use shared::ops::{announce, Announcement};
use shared::redact::Redactor;
use tracing::Instrument;

/// Receives after which a failing message is recorded as failed (the
/// queue's redrive then moves it to the dead-letter queue).
pub const GIVE_UP_AFTER_RECEIVES: u32 = 5;

/// This function's `Function` dimension.
pub const FUNCTION: &str = "inbound-process";

/// Built once per cold start.
pub struct ProcessState {
    pub config: Config,
    pub db: Db,
    pub keyring: Keyring,
    pub redactor: Redactor,
    pub metrics: InboundMetrics,
}

impl ProcessState {
    pub fn new(config: Config, clients: &Clients) -> Self {
        let db = Db::new(clients.dynamodb.clone(), config.tables.clone());
        let keyring = Keyring::for_config(&config, clients);
        let redactor = Redactor::new(&config.redact_fields);
        Self { config, db, keyring, redactor, metrics: InboundMetrics::register(FUNCTION) }
    }
}

/// Works a batch concurrently; only failed messages go back to the queue.
pub async fn handle(state: &ProcessState, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    let outcomes = join_all(event.payload.records.iter().map(|m| process(state, m))).await;
    let mut response = SqsBatchResponse::default();
    for (message, outcome) in event.payload.records.iter().zip(outcomes) {
        if let Err(e) = outcome {
            tracing::warn!(message_id = ?message.message_id, error = %e, "inbound message will be retried");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

async fn process(state: &ProcessState, message: &SqsMessage) -> Result<(), String> {
    let body = message.body.as_deref().unwrap_or_default();
    let msg: InboundMessage = serde_json::from_str(body).map_err(|e| format!("unreadable inbound message: {e}"))?;
    let receives: u32 = message.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1);
    let span = tracing::info_span!("inbound", inbound_id = %msg.inbound_id, receives);
    match convert(state, &msg).instrument(span).await {
        Ok(()) => Ok(()),
        Err(e) if receives >= GIVE_UP_AFTER_RECEIVES => {
            let reason = format!("gave up after {receives} tries: {e}");
            if let Ok(true) =
                state.db.finish_inbound(&msg.tenant_id, &msg.inbound_id, &Outcome::Failed { reason }).await
            {
                state.metrics.count(InboundOutcome::Failed);
            }
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Maps and publishes one record. Mapping failures are recorded (replay
/// after fixing the source); storage failures are returned for a retry.
async fn convert(state: &ProcessState, msg: &InboundMessage) -> Result<(), String> {
    let (tenant, id) = (&msg.tenant_id, &msg.inbound_id);
    let Some(record) = state.db.get_inbound(tenant, id).await.map_err(|e| e.to_string())? else { return Ok(()) };
    if record.status != InboundStatus::Received && record.status != InboundStatus::Failed {
        return Ok(());
    }
    let fail = |reason: String| {
        let record = &record;
        // A reason may quote the payload (an unusable event type is shown
        // as found): masked before it is logged, stored or announced.
        let reason = state.redactor.text(&reason);
        async move {
            tracing::info!(inbound_id = %id, reason = %reason, "inbound webhook failed processing");
            let data = serde_json::json!({
                "inbound_id": id, "source": record.source_slug, "reason": reason, "correlation_id": record.correlation_id,
            });
            let written =
                state.db.finish_inbound(tenant, id, &Outcome::Failed { reason }).await.map_err(|e| e.to_string())?;
            if written {
                state.metrics.count(InboundOutcome::Failed);
                announce_failure(state, record, data).await?;
            }
            Ok(())
        }
    };
    let Some(source) = state.db.get_source(tenant, &record.source_slug).await.map_err(|e| e.to_string())? else {
        return fail(format!("the source {} no longer exists", record.source_slug)).await;
    };
    let body = open_body(state, &record).await?;
    let data = body_as_data(&body, &record.content_type);
    let event_type = match event_type_for(&source, &data) {
        Ok(t) => t,
        Err(reason) => return fail(reason).await,
    };
    let payload = Value::Object(data).to_string();
    if payload.len() > MAX_STORED_PAYLOAD_BYTES {
        // Receipt refuses such bodies; a record from before that check can still hold one.
        return fail(format!(
            "the body becomes an event of {} bytes; events hold at most {MAX_STORED_PAYLOAD_BYTES}",
            payload.len()
        ))
        .await;
    }
    let event = NewEvent {
        event_type: event_type.clone(),
        payload,
        // Processing twice (a redelivered message) publishes once.
        idempotency_key: Some(format!("inbound:{id}")),
        correlation_id: Some(record.correlation_id.clone()),
        only_endpoint: None,
    };
    let mut outbox = OutboxRecord::new(tenant, event, state.config.retention_days);
    // Its deliveries carry the count on, so a loop ends at the hop limit.
    outbox.hops = record.hops;
    let event_id = match state.db.publish(&outbox).await.map_err(|e| e.to_string())? {
        PublishOutcome::Created(id) | PublishOutcome::Duplicate(id) => id,
    };
    if state
        .db
        .finish_inbound(tenant, id, &Outcome::Processed { event_id: event_id.clone(), event_type })
        .await
        .map_err(|e| e.to_string())?
    {
        state.metrics.count(InboundOutcome::Processed);
    }
    tracing::info!(inbound_id = %id, event_id = %event_id, correlation_id = %record.correlation_id, "inbound webhook processed");
    Ok(())
}

/// Publishes `inbound.failed`, so an endpoint can be told. Keyed by the
/// record, so a redelivered message announces it once.
async fn announce_failure(state: &ProcessState, record: &InboundRecord, data: Value) -> Result<(), String> {
    let announcement = Announcement {
        event_type: "inbound.failed",
        data,
        idempotency_key: Some(format!("inbound-failed:{}", record.inbound_id)),
        correlation_id: Some(record.correlation_id.clone()),
    };
    announce(&state.db, &record.tenant_id, announcement, state.config.retention_days)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The raw body as received.
pub async fn open_body(state: &ProcessState, record: &InboundRecord) -> Result<Vec<u8>, String> {
    let sealer = state.keyring.secret_box().await.map_err(|e| e.to_string())?;
    record.open_body(sealer)
}
