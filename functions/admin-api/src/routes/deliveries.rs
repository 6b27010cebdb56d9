//! The delivery log: an endpoint's deliveries, one delivery with its
//! attempts, manual retries (one or many), and test events.

use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use shared::api_key::Principal;
use shared::delivery::{DeliveryRecord, DeliveryStatus, DeliveryView};
use shared::endpoint::EndpointRecord;
use shared::error::{ApiError, ErrorBody};
use shared::event::{NewEvent, OutboxRecord};
use shared::ids::{DeliveryId, EndpointId, TenantId};
use shared::page::{ListResponse, PageRequest};
use utoipa::ToSchema;

use crate::http::{body, json, query, query_list};
use crate::state::AppState;

/// `POST /v1/deliveries/retry`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRetry {
    /// Only `failed` deliveries are retried in bulk.
    pub status: DeliveryStatus,
    /// Deliveries of events created at or after this time (default: 24 hours ago).
    pub since: Option<DateTime<Utc>>,
    /// Limit the retry to one endpoint.
    pub endpoint_id: Option<String>,
}

/// How many deliveries were queued again.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Queued {
    pub queued: u32,
}

/// A delivery with its event's data (masked) for the detail route.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryView,
    /// The event's `data` with patient identifiers masked; null once the event is pruned.
    #[schema(value_type = Object)]
    pub data: Option<serde_json::Value>,
}

/// `202` answer to a test event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TestSent {
    pub event_id: String,
    pub delivery_id: String,
}

fn endpoint_id(id: &str) -> Result<EndpointId, ApiError> {
    id.parse().map_err(|_| ApiError::not_found("endpoint"))
}

async fn endpoint(state: &AppState, tenant: &TenantId, id: &EndpointId) -> Result<EndpointRecord, ApiError> {
    state.db.get_endpoint(tenant, id).await?.ok_or_else(|| ApiError::not_found("endpoint"))
}

fn since_param(raw: Option<String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|s| {
        DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&Utc)).map_err(|_| {
            ApiError::bad_request("invalid_query", "since must be an RFC 3339 time, e.g. 2026-11-22T00:00:00Z")
        })
    })
    .transpose()
}

fn millis(t: Option<DateTime<Utc>>) -> u64 {
    t.map_or(0, |t| t.timestamp_millis().max(0) as u64)
}

/// Puts a delivery back on the queue (see `shared::ops::replay::requeue`).
pub async fn requeue(
    state: &AppState,
    d: &DeliveryRecord,
    from: &[DeliveryStatus],
    manual: bool,
) -> Result<bool, ApiError> {
    Ok(shared::ops::replay::requeue(&state.db, &state.queue, d, from, manual).await?)
}

/// Requeues many deliveries (see `shared::ops::replay::requeue_all`).
pub async fn requeue_all(
    state: &AppState,
    list: &[DeliveryRecord],
    from: &[DeliveryStatus],
    manual: bool,
) -> Result<u32, ApiError> {
    Ok(shared::ops::replay::requeue_all(&state.db, &state.queue, list, from, manual).await?)
}

/// An endpoint's deliveries, oldest event first.
#[utoipa::path(get, path = "/v1/endpoints/{id}/deliveries", tag = "deliveries",
    params(("id" = String, Path), ("status" = Option<String>, Query, description = "one or more of pending, retrying, delivered, failed, parked, comma-separated"), ("since" = Option<String>, Query, description = "RFC 3339"),
           ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<DeliveryView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(state: &AppState, p: &Principal, id: &str, req: &Request) -> Result<Response<Body>, ApiError> {
    let id = endpoint_id(id)?;
    endpoint(state, &p.tenant, &id).await?;
    let page = PageRequest::parse(query(req, "limit").as_deref(), query(req, "cursor").as_deref())?;
    let status: Option<Vec<DeliveryStatus>> =
        query_list(req, "status", "pending, retrying, delivered, failed, parked")?;
    let since = since_param(query(req, "since"))?;
    let keep = |d: &DeliveryRecord| status.as_ref().is_none_or(|s| s.contains(&d.status));
    let found =
        state.db.list_deliveries(&p.tenant, &id, millis(since), page.after.as_deref(), page.limit + 1, keep).await?;
    Ok(json(200, &ListResponse::page(found, page.limit, |d| d.delivery_key.clone(), |d| d.view(false))))
}

async fn load(state: &AppState, tenant: &TenantId, id: &str) -> Result<DeliveryRecord, ApiError> {
    let id: DeliveryId = id.parse().map_err(|_| ApiError::not_found("delivery"))?;
    state.db.get_delivery(tenant, &id).await?.ok_or_else(|| ApiError::not_found("delivery"))
}

/// One delivery with every attempt and the event's masked data.
#[utoipa::path(get, path = "/v1/deliveries/{id}", tag = "deliveries", params(("id" = String, Path)),
    responses((status = 200, body = DeliveryDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(state: &AppState, p: &Principal, id: &str) -> Result<Response<Body>, ApiError> {
    let delivery = load(state, &p.tenant, id).await?;
    let event = state.db.get_event(&p.tenant, &delivery.event_id, false).await?;
    let data = event.and_then(|e| serde_json::from_str(&e.payload).ok()).map(|mut v| {
        state.redactor.json(&mut v);
        v
    });
    let mut view = delivery.view(true);
    // Stored are only the endpoint's own signature headers; every request
    // also carried the deployment's.
    let prefix = &state.config.signature_header_prefix;
    for attempt in view.attempt_log.iter_mut().flatten() {
        let defaults = [format!("{prefix}-Signature"), "webhook-signature".to_owned()];
        attempt.signed_headers.splice(0..0, defaults);
    }
    Ok(json(200, &DeliveryDetail { delivery: view, data }))
}

/// Try a failed or delivered delivery once more, now.
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", tag = "deliveries", params(("id" = String, Path)),
    responses((status = 202, body = DeliveryView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn retry(state: &AppState, p: &Principal, id: &str) -> Result<Response<Body>, ApiError> {
    let delivery = load(state, &p.tenant, id).await?;
    let from = [DeliveryStatus::Failed, DeliveryStatus::Delivered];
    if !requeue(state, &delivery, &from, true).await? {
        return Err(ApiError::conflict(
            "delivery_in_progress",
            format!("the delivery is {}; only failed or delivered ones can be retried", delivery.status.as_str()),
        ));
    }
    let mut view = delivery.view(false);
    view.status = DeliveryStatus::Pending;
    Ok(json(202, &view))
}

/// Retry every failed delivery since a time, for one endpoint or all.
#[utoipa::path(post, path = "/v1/deliveries/retry", tag = "deliveries", request_body = BulkRetry,
    responses((status = 202, body = Queued), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn retry_bulk(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let input: BulkRetry = body(req)?;
    if input.status != DeliveryStatus::Failed {
        return Err(ApiError::invalid("invalid_status", "only failed deliveries can be retried in bulk"));
    }
    let since = input.since.unwrap_or_else(|| Utc::now() - Duration::hours(24));
    let endpoint = match &input.endpoint_id {
        Some(raw) => {
            let id = endpoint_id(raw)?;
            endpoint(state, &p.tenant, &id).await?;
            Some(id)
        }
        None => None,
    };
    let failed = shared::ops::replay::failed_deliveries(&state.db, since, Some(&p.tenant), endpoint.as_ref()).await?;
    let queued = requeue_all(state, &failed, &[DeliveryStatus::Failed], true).await?;
    tracing::info!(tenant = %p.tenant, queued, "bulk retry");
    Ok(json(202, &Queued { queued }))
}

/// Send a signed test event (`endpoint.test`) to this endpoint only.
#[utoipa::path(post, path = "/v1/endpoints/{id}/test", tag = "deliveries", params(("id" = String, Path)),
    responses((status = 202, body = TestSent), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn send_test(state: &AppState, p: &Principal, id: &str) -> Result<Response<Body>, ApiError> {
    let id = endpoint_id(id)?;
    if endpoint(state, &p.tenant, &id).await?.status == shared::endpoint::EndpointStatus::Disabled {
        return Err(ApiError::conflict("endpoint_disabled", "enable the endpoint before sending it a test event"));
    }
    let data = serde_json::json!({"message": "A test event from Hookline", "endpoint_id": id});
    let event = NewEvent {
        event_type: "endpoint.test".into(),
        payload: data.to_string(),
        idempotency_key: None,
        correlation_id: None,
        only_endpoint: Some(id.clone()),
    };
    let record = OutboxRecord::new(&p.tenant, event, state.config.retention_days);
    state.db.publish(&record).await?;
    let delivery_id = DeliveryId::for_event(&record.event_id, &id);
    Ok(json(202, &TestSent { event_id: record.event_id.to_string(), delivery_id: delivery_id.to_string() }))
}
