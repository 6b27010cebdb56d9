//! The `inbound-receipt` function: `POST /api/v1/webhooks/{slug}`. Verify
//! on the raw bytes, claim the dedupe key, store, enqueue, answer fast.

mod record;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::aws::dynamo::Db;
use shared::aws::inbound::Receipt;
use shared::aws::secrets::Keyring;
use shared::aws::sqs::{OutgoingMessage, Queue};
use shared::aws::Clients;
use shared::config::Config;
use shared::error::ApiError;
use shared::event::{new_correlation_id, valid_correlation_id};
use shared::hops::{verified_hops, HOP_HEADER, MAX_HOPS};
use shared::inbound::{
    event_payload_fits, DedupeClaim, InboundMessage, InboundRecord, InboundStatus, ReceiptView, MAX_INBOUND_BYTES,
};
use shared::inbound_auth::verify;
use shared::metrics::{InboundMetrics, InboundOutcome};
use shared::redact::Redactor;
use shared::source::SourceRecord;

/// How long a warm instance trusts its copy of a source: disabling or
/// deleting a source takes effect within this (a rotated secret at once,
/// since a failed check re-reads the source).
pub const SOURCE_CACHE_TTL: Duration = Duration::from_secs(5);

/// The youngest cached copy a failed signature check re-reads.
const REREAD_AFTER: Duration = Duration::from_secs(1);

type CachedSource = Option<Arc<(SourceRecord, String)>>;

/// This function's `Function` dimension.
pub const FUNCTION: &str = "inbound-receipt";

/// Built once per cold start.
pub struct ReceiptState {
    pub config: Config,
    pub db: Db,
    pub queue: Queue,
    pub keyring: Keyring,
    pub redactor: Redactor,
    pub metrics: InboundMetrics,
    sources: Mutex<HashMap<String, (CachedSource, Instant)>>,
}

impl ReceiptState {
    pub fn new(config: Config, clients: &Clients) -> Self {
        let db = Db::new(clients.dynamodb.clone(), config.tables.clone());
        let queue = Queue::new(clients.sqs.clone(), config.inbound_queue_url.clone());
        let keyring = Keyring::for_config(&config, clients);
        let redactor = Redactor::new(&config.redact_fields);
        let metrics = InboundMetrics::register(FUNCTION);
        Self { config, db, queue, keyring, redactor, metrics, sources: Mutex::new(HashMap::new()) }
    }

    /// The source and its open secret; unknown slugs are cached too, so a
    /// flood of bad URLs costs one read per slug per window.
    async fn source(&self, slug: &str, fresh: bool) -> Result<CachedSource, ApiError> {
        // A re-read is asked for after a failed check; at most one a second
        // per slug, so a flood of forged requests cannot multiply reads.
        let trust = if fresh { REREAD_AFTER } else { SOURCE_CACHE_TTL };
        if let Some((hit, at)) = self.sources.lock().expect("source cache").get(slug) {
            if at.elapsed() < trust {
                return Ok(hit.clone());
            }
        }
        let found = match self.db.source_by_slug(slug).await? {
            None => None,
            Some(record) => {
                let secret = if record.secret_sealed.is_empty() {
                    String::new()
                } else {
                    let sealer = self.keyring.secret_box().await?;
                    sealer.open(&record.secret_sealed, &SourceRecord::secret_aad(slug)).map_err(ApiError::internal)?
                };
                Some(Arc::new((record, secret)))
            }
        };
        self.sources.lock().expect("source cache").insert(slug.to_owned(), (found.clone(), Instant::now()));
        Ok(found)
    }
}

fn answer(status: u16, receipt: &ReceiptView) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-content-type-options", "nosniff")
        .header("x-correlation-id", &receipt.correlation_id)
        .body(Body::Text(serde_json::to_string(receipt).expect("receipts serialize")))
        .expect("static response parts are valid")
}

fn error(err: &ApiError) -> Response<Body> {
    Response::builder()
        .status(err.status)
        .header("content-type", "application/json")
        .header("x-content-type-options", "nosniff")
        .body(Body::Text(serde_json::to_string(&err.body()).expect("error bodies serialize")))
        .expect("static response parts are valid")
}

/// Answers one webhook; never fails (errors become `{"code","detail"}`).
pub async fn handle(state: &ReceiptState, req: Request) -> Response<Body> {
    match receive(state, &req).await {
        Ok(response) => {
            let outcome = if response.status() == 202 { InboundOutcome::Received } else { InboundOutcome::Duplicate };
            state.metrics.count(outcome);
            response
        }
        Err(err) => {
            state.metrics.count(InboundOutcome::of_refusal(err.status));
            if err.status >= 500 {
                tracing::error!(code = %err.code, "inbound receipt failed");
            }
            error(&err)
        }
    }
}

fn slug_of(req: &Request) -> String {
    req.path_parameters_ref()
        .and_then(|p| p.first("slug"))
        .map(str::to_owned)
        .unwrap_or_else(|| req.uri().path().rsplit('/').next().unwrap_or_default().to_owned())
}

async fn receive(state: &ReceiptState, req: &Request) -> Result<Response<Body>, ApiError> {
    if req.method() != lambda_http::http::Method::POST {
        return Err(ApiError::new(405, "method_not_allowed", "webhooks are received with POST"));
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_INBOUND_BYTES {
        return Err(ApiError::new(
            413,
            "payload_too_large",
            format!("the body is larger than {MAX_INBOUND_BYTES} bytes"),
        ));
    }
    let slug = slug_of(req);
    let unknown = || ApiError::not_found("source");
    let mut cached = state.source(&slug, false).await?.ok_or_else(unknown)?;
    let now = Utc::now().timestamp();
    let check = |c: &(SourceRecord, String)| {
        let s = &c.0.settings;
        verify(
            s.auth_type,
            &c.1,
            &state.config.signature_header_prefix,
            req.headers(),
            body,
            now,
            s.tolerance_seconds.into(),
        )
    };
    if check(&cached).is_err() {
        // The secret may have been rotated since this instance cached it.
        cached = state.source(&slug, true).await?.ok_or_else(unknown)?;
    }
    let (source, _) = &*cached;
    if !source.settings.enabled {
        return Err(ApiError::forbidden("this source is disabled"));
    }
    if let Err(why) = check(&cached) {
        tracing::info!(source = %slug, reason = ?why, "inbound webhook refused");
        return Err(ApiError::new(401, "invalid_signature", "the request could not be authenticated"));
    }
    let content_type = header(req, "content-type").unwrap_or_default();
    if let Err(size) = event_payload_fits(body, content_type) {
        return Err(ApiError::new(
            413,
            "payload_too_large",
            format!(
                "the body would become an event of {size} bytes; events hold at most {}",
                shared::event::MAX_STORED_PAYLOAD_BYTES
            ),
        ));
    }
    let sealer = state.keyring.secret_box().await?;
    let hops = verified_hops(sealer, header(req, HOP_HEADER), header(req, "webhook-id"));
    if hops >= MAX_HOPS {
        // Hookline sent this itself, MAX_HOPS times over: an endpoint points
        // back at this deployment under a name the target check cannot see.
        tracing::warn!(source = %slug, hops, webhook_loops_refused = 1, "webhook loop refused");
        return Err(ApiError::new(
            508,
            "webhook_loop",
            format!(
                "this webhook was sent by this Hookline deployment {hops} times over; an endpoint points back at its own inbound URL"
            ),
        ));
    }
    let correlation_id = req
        .headers()
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_correlation_id(v))
        .map(str::to_owned)
        .unwrap_or_else(new_correlation_id);
    let mut record = record::new_record(&state.redactor, state.config.retention_days, source, req.headers(), body);
    record.correlation_id = correlation_id;
    record.seal_body(sealer, body);
    record.hops = hops;
    let claim = DedupeClaim {
        source_slug: slug.clone(),
        dedupe_key: record.dedupe_key.clone(),
        tenant_id: source.tenant_id.clone(),
        inbound_id: record.inbound_id.clone(),
        correlation_id: record.correlation_id.clone(),
        expires_at: now + i64::from(source.settings.dedupe_window_seconds),
    };
    match state.db.receive_inbound(&record, &claim).await? {
        Receipt::Accepted => {
            enqueue(state, &record).await?;
            tracing::info!(source = %slug, inbound_id = %record.inbound_id, correlation_id = %record.correlation_id, "inbound webhook received");
            let receipt = ReceiptView {
                id: record.inbound_id.to_string(),
                status: InboundStatus::Received,
                correlation_id: record.correlation_id,
            };
            Ok(answer(202, &receipt))
        }
        Receipt::Duplicate(first) => {
            // Kept for the audit trail; the first record is the one processed.
            let duplicate = InboundRecord {
                status: InboundStatus::Duplicate,
                duplicate_of: Some(first.inbound_id.clone()),
                correlation_id: first.correlation_id.clone(),
                ..record
            };
            if let Err(e) = state.db.put_inbound(&duplicate).await {
                tracing::warn!(error = %e, "could not keep the duplicate's audit row");
            }
            let receipt = ReceiptView {
                id: first.inbound_id.to_string(),
                status: InboundStatus::Duplicate,
                correlation_id: first.correlation_id,
            };
            Ok(answer(200, &receipt))
        }
    }
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Queues a stored record for processing; if that fails, the receipt is
/// undone so the sender's retry is taken afresh, and the sender gets a 503.
pub async fn enqueue(state: &ReceiptState, record: &InboundRecord) -> Result<(), ApiError> {
    let message = InboundMessage { tenant_id: record.tenant_id.clone(), inbound_id: record.inbound_id.clone() };
    let outgoing = OutgoingMessage {
        id: "0".into(),
        body: serde_json::to_string(&message).map_err(ApiError::internal)?,
        delay_seconds: 0,
    };
    let sent = state.queue.send_all(&[outgoing]).await;
    if matches!(&sent, Ok(refused) if refused.is_empty()) {
        return Ok(());
    }
    tracing::error!(inbound_id = %record.inbound_id, "could not queue an inbound webhook; undoing its receipt");
    if let Err(e) = state.db.release_inbound(record).await {
        tracing::error!(error = %e, "could not undo the receipt");
    }
    Err(ApiError::new(503, "unavailable", "the webhook could not be queued; please retry"))
}
