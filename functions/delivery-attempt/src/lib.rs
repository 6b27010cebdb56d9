//! The `delivery-attempt` function: one signed POST per queue message,
//! recorded, then delivered, retried later, or failed, with the circuit
//! breaker and the operational events that go with each.

pub mod headers;
pub mod rate;
mod repeats;
mod resume;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use futures_util::future::join_all;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::json;
use shared::aws::deliveries::AttemptWrite;
use shared::aws::dynamo::Db;
use shared::aws::secrets::Keyring;
use shared::aws::sqs::{OutgoingMessage, Queue, MAX_DELAY_SECONDS};
use shared::aws::{Clients, StoreError};
use shared::config::Config;
use shared::delivery::{
    breaker_trips, decide, Attempt, AttemptResult, DeliveryMessage, DeliveryStatus, Next, RetryRules,
    DELIVERED_BODY_BYTES, FAILED_BODY_BYTES, KEPT_RESPONSE_HEADERS,
};
use shared::endpoint::{EndpointRecord, EndpointStatus};
use shared::event::{render, EventSnapshot};
use shared::ids::{EndpointId, TenantId};
use shared::metrics::{DeliveryMetrics, DeliveryOutcome};
use shared::ops::{announce, Announcement};
use shared::outbound::OutboundClient;
use shared::redact::{scrub_values, Redactor};
use shared::retry::{jitter_unit, parse_retry_after};
use tracing::Instrument;

use headers::{extra_signatures, sensitive_values, signed_headers, RequestIds};

/// How long a worker trusts its copy of an endpoint (status, URL, secret).
pub const ENDPOINT_CACHE_TTL: Duration = Duration::from_secs(5);

/// This function's `Function` dimension.
pub const FUNCTION: &str = "delivery-attempt";

/// Event types Hookline emits about itself; their own failures emit nothing,
/// so a failing subscriber cannot feed itself an endless stream.
const OPERATIONAL_TYPES: &[&str] = &["endpoint.paused", "endpoint.disabled", "endpoint.enabled", "delivery.exhausted"];

type CachedEndpoint = (Arc<EndpointRecord>, Arc<Vec<String>>, Instant);

/// Built once per cold start.
pub struct WorkerState {
    pub config: Config,
    pub db: Db,
    pub queue: Queue,
    pub keyring: Keyring,
    pub http: OutboundClient,
    pub redactor: Redactor,
    pub metrics: DeliveryMetrics,
    endpoints: Mutex<HashMap<(TenantId, EndpointId), CachedEndpoint>>,
    /// Endpoints this instance counted a failed attempt for since it last
    /// cleared their streak. Its cached copy of an endpoint may still say
    /// the streak is zero; without this, a success would leave the counter
    /// standing and a flaky endpoint would be paused for failures that
    /// were never consecutive.
    failing: Mutex<HashSet<(TenantId, EndpointId)>>,
    /// Rate-limited endpoints: when the slots this instance last saw
    /// reserved run out (epoch microseconds), to try the busy case first.
    rate_backlog: Mutex<HashMap<(TenantId, EndpointId), i64>>,
}

impl WorkerState {
    pub fn new(config: Config, clients: &Clients) -> Self {
        let db = Db::new(clients.dynamodb.clone(), config.tables.clone());
        let queue = Queue::new(clients.sqs.clone(), config.delivery_queue_url.clone());
        let keyring = Keyring::for_config(&config, clients);
        let http = OutboundClient::new(config.target_policy.clone(), &format!("Hookline/{}", shared::VERSION));
        let redactor = Redactor::new(&config.redact_fields);
        Self {
            config,
            db,
            queue,
            keyring,
            http,
            redactor,
            metrics: DeliveryMetrics::register(FUNCTION),
            endpoints: Mutex::new(HashMap::new()),
            failing: Mutex::new(HashSet::new()),
            rate_backlog: Mutex::new(HashMap::new()),
        }
    }

    /// The endpoint and its open secrets (current first), from a short cache.
    async fn endpoint(
        &self,
        tenant: &TenantId,
        id: &EndpointId,
    ) -> Result<Option<(Arc<EndpointRecord>, Arc<Vec<String>>)>, String> {
        let key = (tenant.clone(), id.clone());
        if let Some((e, s, at)) = self.endpoints.lock().expect("endpoint cache").get(&key) {
            if at.elapsed() < ENDPOINT_CACHE_TTL {
                return Ok(Some((e.clone(), s.clone())));
            }
        }
        let Some(mut record) = self.db.get_endpoint(tenant, id).await.map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let sealer = self.keyring.secret_box().await.map_err(|e| e.to_string())?;
        // The cached copy holds the custom headers open; it is never written back.
        record.settings.headers = record.open_headers(sealer).map_err(|e| e.to_string())?;
        let aad = EndpointRecord::secret_aad(tenant, id);
        let mut secrets = vec![sealer.open(&record.secret_sealed, &aad).map_err(|e| e.to_string())?];
        if let (Some(previous), Some(until)) = (&record.previous_secret_sealed, record.previous_secret_expires_at) {
            if until > Utc::now() {
                secrets.push(sealer.open(previous, &aad).map_err(|e| e.to_string())?);
            }
        }
        let (record, secrets) = (Arc::new(record), Arc::new(secrets));
        self.endpoints.lock().expect("endpoint cache").insert(key, (record.clone(), secrets.clone(), Instant::now()));
        Ok(Some((record, secrets)))
    }

    fn forget_endpoint(&self, tenant: &TenantId, id: &EndpointId) {
        self.endpoints.lock().expect("endpoint cache").remove(&(tenant.clone(), id.clone()));
    }
}

/// Works a batch concurrently; only failed messages go back to the queue.
pub async fn handle(state: &WorkerState, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    let outcomes = join_all(event.payload.records.iter().map(|m| process(state, m))).await;
    let mut response = SqsBatchResponse::default();
    for (message, outcome) in event.payload.records.iter().zip(outcomes) {
        if let Err(e) = outcome {
            tracing::warn!(message_id = ?message.message_id, error = %e, "delivery message will be retried");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

pub(crate) fn message_for(msg: &DeliveryMessage, delay: Duration) -> OutgoingMessage {
    let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    let mut next = msg.clone();
    next.not_before = (seconds > u64::from(MAX_DELAY_SECONDS)).then(|| Utc::now().timestamp() + seconds as i64);
    OutgoingMessage {
        id: "0".into(),
        body: serde_json::to_string(&next).expect("delivery messages serialize"),
        delay_seconds: seconds.min(u64::from(MAX_DELAY_SECONDS)) as u32,
    }
}

pub(crate) async fn send(state: &WorkerState, message: OutgoingMessage) -> Result<(), String> {
    let refused = state.queue.send_all(&[message]).await.map_err(|e| e.to_string())?;
    if refused.is_empty() {
        Ok(())
    } else {
        Err("the queue refused the message".into())
    }
}

async fn process(state: &WorkerState, message: &SqsMessage) -> Result<(), String> {
    let body = message.body.as_deref().unwrap_or_default();
    if let Some(job) = shared::ops::resume::ResumeParked::from_body(body) {
        return resume::work(state, job).await;
    }
    let msg: DeliveryMessage = serde_json::from_str(body).map_err(|e| format!("unreadable delivery message: {e}"))?;
    let span = tracing::info_span!("delivery", delivery_id = %msg.delivery_id, attempt = msg.attempt);
    work(state, message, msg).instrument(span).await
}

async fn work(state: &WorkerState, message: &SqsMessage, msg: DeliveryMessage) -> Result<(), String> {
    let now = Utc::now().timestamp();
    if let Some(not_before) = msg.not_before.filter(|t| *t > now) {
        // A wait longer than SQS allows: hop again.
        return send(state, message_for(&msg, Duration::from_secs((not_before - now) as u64))).await;
    }
    let tenant = &msg.tenant_id;
    let id = &msg.delivery_id;
    if repeats::already_worked(state, message, &msg).await? {
        return Ok(());
    }
    let endpoint_id = id.endpoint_id();
    let mut cached = state.endpoint(tenant, &endpoint_id).await?;
    if cached.as_ref().is_none_or(|(e, _)| e.status != EndpointStatus::Active) {
        // Only an active copy is trusted from the cache: an endpoint that was
        // just enabled must not park what its enable resumed.
        state.forget_endpoint(tenant, &endpoint_id);
        cached = state.endpoint(tenant, &endpoint_id).await?;
    }
    let Some((endpoint, secrets)) = cached else {
        let from = [DeliveryStatus::Pending, DeliveryStatus::Retrying, DeliveryStatus::Parked];
        if state.db.set_delivery_status(tenant, id, DeliveryStatus::Failed, &from).await.map_err(|e| e.to_string())? {
            state.metrics.ended(DeliveryOutcome::Failed);
        }
        tracing::info!("endpoint deleted; delivery failed");
        return Ok(());
    };
    if endpoint.status != EndpointStatus::Active {
        return resume::park(state, &msg).await;
    }
    if let Some(limit) = endpoint.settings.rate_limit_per_second {
        if !rate::take_slot(state, &msg, limit).await? {
            return Ok(());
        }
    }
    let event = match &msg.event {
        Some(e) => e.clone(),
        None => match state.db.get_event(tenant, &id.event_id(), false).await.map_err(|e| e.to_string())? {
            Some(outbox) => EventSnapshot::from(&outbox),
            None => {
                let from = [DeliveryStatus::Pending, DeliveryStatus::Retrying];
                if state
                    .db
                    .set_delivery_status(tenant, id, DeliveryStatus::Failed, &from)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    state.metrics.ended(DeliveryOutcome::Failed);
                }
                return Ok(());
            }
        },
    };
    attempt(state, &msg, &endpoint, &secrets, &event).await
}

async fn attempt(
    state: &WorkerState,
    msg: &DeliveryMessage,
    endpoint: &EndpointRecord,
    secrets: &[String],
    event: &EventSnapshot,
) -> Result<(), String> {
    let (tenant, id) = (&msg.tenant_id, &msg.delivery_id);
    let body = render(endpoint.settings.envelope, event, &endpoint.endpoint_id, id);
    let sealer = state.keyring.secret_box().await.map_err(|e| e.to_string())?;
    let hop = shared::hops::header_value(sealer, event.hops + 1, id.as_str());
    let ids = RequestIds {
        delivery_id: id.as_str(),
        event_type: &event.event_type,
        correlation_id: &event.correlation_id,
        hop: &hop,
    };
    let started_at = Utc::now();
    let headers =
        signed_headers(&state.config.signature_header_prefix, endpoint, secrets, &ids, &body, started_at.timestamp())
            .map_err(|e| e.to_string())?;
    // An echoing receiver may send the signatures back: never stored.
    let sensitive = sensitive_values(&headers, secrets, &endpoint.settings.headers);
    let scrub = |text: &str| state.redactor.text(&scrub_values(text, &sensitive));
    let timeout = Duration::from_secs(endpoint.settings.timeout_seconds.into());
    let sent = state.http.post(&endpoint.settings.url, &headers, body, timeout).await;
    // Stored with the attempt: the signature headers beyond the deployment's own.
    let signed: Vec<String> = extra_signatures(endpoint).map(|s| s.header).collect();
    let (result, mut record) = match &sent {
        Ok(answer) => {
            let retry_after = answer.headers.get("retry-after").and_then(|v| parse_retry_after(v, Utc::now()));
            let result = AttemptResult::from_status(answer.status, retry_after);
            let keep = if result == AttemptResult::Delivered { DELIVERED_BODY_BYTES } else { FAILED_BODY_BYTES };
            let record = Attempt {
                attempt: msg.attempt,
                at: started_at,
                duration_ms: answer.duration.as_millis() as u64,
                status_code: Some(answer.status),
                error_kind: None,
                response_headers: answer
                    .headers
                    .iter()
                    .filter(|(k, _)| result != AttemptResult::Delivered && KEPT_RESPONSE_HEADERS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), scrub(v)))
                    .collect(),
                response_body: if keep == 0 {
                    String::new()
                } else {
                    let body = scrub_values(&String::from_utf8_lossy(&answer.body), &sensitive);
                    state.redactor.body(body.as_bytes(), keep)
                },
                outcome: String::new(),
                manual: msg.manual,
                signed_headers: signed,
            };
            (result, record)
        }
        Err(e) => {
            let record = Attempt {
                attempt: msg.attempt,
                at: started_at,
                duration_ms: e.duration.as_millis() as u64,
                status_code: None,
                error_kind: Some(e.kind.to_owned()),
                response_headers: Default::default(),
                response_body: scrub(&e.detail.chars().take(FAILED_BODY_BYTES).collect::<String>()),
                outcome: String::new(),
                manual: msg.manual,
                signed_headers: signed,
            };
            // A name that now points inside the network will not fix itself by waiting.
            let result = if e.kind == "forbidden_target" {
                AttemptResult::Permanent { gone: false }
            } else {
                AttemptResult::Transient { retry_after: None }
            };
            (result, record)
        }
    };
    let rules = RetryRules {
        policy: endpoint.settings.retry_policy,
        max_retries: endpoint.settings.max_retries,
        schedule: endpoint.settings.retry_schedule_seconds.as_deref(),
        scale: state.config.retry_scale,
    };
    let next = decide(result, msg.attempt, msg.manual, rules, jitter_unit());
    let (status, next_attempt_at, outcome) = match next {
        Next::Delivered => (DeliveryStatus::Delivered, None, DeliveryOutcome::Delivered),
        Next::Failed { .. } => (DeliveryStatus::Failed, None, DeliveryOutcome::Failed),
        Next::RetryIn(delay) => (
            DeliveryStatus::Retrying,
            Some(Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default()),
            DeliveryOutcome::RetryScheduled,
        ),
    };
    record.outcome = outcome.as_str().into();
    let expires_at = Utc::now().timestamp() + i64::from(state.config.retention_days) * 86_400;
    let write = AttemptWrite { status, next_attempt_at, attempt: &record, expires_at, event: Some(event) };
    match state.db.record_attempt(tenant, id, write).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            tracing::info!("attempt already recorded by a duplicate message");
            return Ok(());
        }
        Err(e) => return Err(e.to_string()),
    }
    // Recorded first, then the retry: a duplicate of this message stops at
    // the record above instead of starting a second chain of retries. If
    // this worker dies in between, the message comes back and
    // `resume_retry` enqueues the retry.
    if let Next::RetryIn(delay) = next {
        let retry = DeliveryMessage {
            attempt: msg.attempt + 1,
            not_before: None,
            slot_at: None,
            recheck: false,
            event: Some(event.clone()),
            ..msg.clone()
        };
        send(state, message_for(&retry, delay)).await?;
    }
    let took = match &sent {
        Ok(answer) => answer.duration,
        Err(e) => e.duration,
    };
    let since_publish = (Utc::now() - event.created_at).to_std().ok();
    state.metrics.attempted(outcome, took, since_publish);
    // An attempt that did not deliver writes one line at INFO; a delivered
    // one only at DEBUG: the delivery log holds every attempt, so healthy
    // traffic pays no log ingestion.
    macro_rules! attempt_line {
        ($level:expr) => {
            tracing::event!(
                $level,
                event_id = %event.event_id,
                endpoint_id = %endpoint.endpoint_id,
                status = status.as_str(),
                status_code = ?record.status_code,
                error_kind = ?record.error_kind,
                duration_ms = record.duration_ms,
                "attempt recorded"
            )
        };
    }
    if status == DeliveryStatus::Delivered {
        attempt_line!(tracing::Level::DEBUG);
    } else {
        attempt_line!(tracing::Level::INFO);
    }
    after_attempt(state, msg, endpoint, event, result, next).await
}

/// The circuit breaker, 410 handling, and operational events.
async fn after_attempt(
    state: &WorkerState,
    msg: &DeliveryMessage,
    endpoint: &EndpointRecord,
    event: &EventSnapshot,
    result: AttemptResult,
    next: Next,
) -> Result<(), String> {
    let tenant = &msg.tenant_id;
    let endpoint_id = &endpoint.endpoint_id;
    let operational = OPERATIONAL_TYPES.contains(&event.event_type.as_str());
    let key = (tenant.clone(), endpoint_id.clone());
    if result == AttemptResult::Delivered {
        let counted_here = state.failing.lock().expect("failing endpoints").remove(&key);
        if endpoint.consecutive_failures > 0 || counted_here {
            state.db.reset_endpoint_failures(tenant, endpoint_id).await.map_err(|e| e.to_string())?;
            state.forget_endpoint(tenant, endpoint_id);
        }
        return Ok(());
    }
    if result == (AttemptResult::Permanent { gone: true }) {
        let reason = "the endpoint answered 410 Gone";
        if state
            .db
            .deactivate_endpoint(tenant, endpoint_id, EndpointStatus::Disabled, reason)
            .await
            .map_err(|e| e.to_string())?
        {
            state.forget_endpoint(tenant, endpoint_id);
            state.metrics.endpoints.disabled(1);
            notify(state, tenant, "endpoint.disabled", json!({"endpoint_id": endpoint_id, "reason": reason})).await?;
        }
    }
    let failures = state.db.count_endpoint_failure(tenant, endpoint_id).await.map_err(|e| e.to_string())?;
    if failures.is_some() {
        state.failing.lock().expect("failing endpoints").insert(key);
    }
    if failures.is_some_and(|n| breaker_trips(n, state.config.max_consecutive_failures)) {
        let reason = format!("{} consecutive failed attempts", state.config.max_consecutive_failures);
        if state
            .db
            .deactivate_endpoint(tenant, endpoint_id, EndpointStatus::Paused, &reason)
            .await
            .map_err(|e| e.to_string())?
        {
            state.forget_endpoint(tenant, endpoint_id);
            state.metrics.endpoints.paused();
            tracing::warn!(endpoint_id = %endpoint_id, "circuit breaker paused the endpoint");
            notify(state, tenant, "endpoint.paused", json!({"endpoint_id": endpoint_id, "reason": reason})).await?;
        }
    }
    if next == (Next::Failed { exhausted: true }) && !operational {
        let data = json!({
            "delivery_id": msg.delivery_id, "event_id": event.event_id, "event_type": event.event_type,
            "endpoint_id": endpoint_id, "attempts": msg.attempt,
        });
        notify(state, tenant, "delivery.exhausted", data).await?;
    }
    Ok(())
}

/// Publishes one of Hookline's own events through the outbox.
async fn notify(
    state: &WorkerState,
    tenant: &TenantId,
    event_type: &'static str,
    data: serde_json::Value,
) -> Result<(), String> {
    let announcement = Announcement { event_type, data, idempotency_key: None, correlation_id: None };
    announce(&state.db, tenant, announcement, state.config.retention_days).await.map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> DeliveryMessage {
        let event = shared::ids::EventId::generate();
        let endpoint = EndpointId::generate();
        DeliveryMessage {
            tenant_id: TenantId::default_tenant(),
            delivery_id: shared::ids::DeliveryId::for_event(&event, &endpoint),
            attempt: 2,
            not_before: None,
            manual: false,
            event: None,
            slot_at: None,
            recheck: false,
        }
    }

    #[test]
    fn short_waits_ride_one_delayed_message() {
        let out = message_for(&message(), Duration::from_millis(1500));
        assert_eq!(out.delay_seconds, 2, "rounded up, never early");
        let body: DeliveryMessage = serde_json::from_str(&out.body).unwrap();
        assert_eq!(body.not_before, None);
    }

    #[test]
    fn waits_over_fifteen_minutes_hop_with_a_not_before() {
        let out = message_for(&message(), Duration::from_secs(7200));
        assert_eq!(out.delay_seconds, MAX_DELAY_SECONDS);
        let body: DeliveryMessage = serde_json::from_str(&out.body).unwrap();
        let due = body.not_before.unwrap() - Utc::now().timestamp();
        assert!((7190..=7200).contains(&due), "{due}");
        assert_eq!(body.attempt, 2);
    }
}
