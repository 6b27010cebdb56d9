//! `/v1/endpoints`: create, list, read, patch, delete, enable, disable,
//! rotate the secret, reveal the secret.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};
use shared::api_key::Principal;
use shared::aws::StoreError;
use shared::crypto::{generate_signing_secret, validate_signing_secret};
use shared::endpoint::{
    custom_headers, EndpointCreate, EndpointPatch, EndpointRecord, EndpointSettings, EndpointStatus, EndpointView,
};
use shared::error::{ApiError, ErrorBody};
use shared::event_type::is_builtin;
use shared::ids::{EndpointId, TenantId};
use shared::page::{ListResponse, PageRequest};
use shared::ssrf::TargetPolicy;
use utoipa::ToSchema;

use crate::http::{body, json, no_content, query, query_bool};
use crate::state::AppState;

/// How long the old secret keeps signing after a rotation, by default.
pub const DEFAULT_GRACE_SECONDS: u32 = 24 * 3600;
const MAX_GRACE_SECONDS: u32 = 7 * 24 * 3600;

/// `POST /v1/endpoints/{id}/rotate-secret`
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// Seconds the previous secret stays valid (0 to 604800; default 86400).
    pub grace_seconds: Option<u32>,
    /// Bring your own `whsec_…` secret instead of a generated one.
    pub secret: Option<String>,
}

/// `POST /v1/endpoints/{id}/disable`
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableEndpoint {
    pub reason: Option<String>,
}

/// `GET /v1/endpoints/{id}/headers`
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EndpointHeaders {
    /// Every custom header with its value in full.
    pub headers: std::collections::BTreeMap<String, String>,
}

/// `GET /v1/endpoints/{id}/secret`
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EndpointSecret {
    pub secret: String,
    /// The secret before the last rotation while it is still valid.
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

fn parse_id(id: &str) -> Result<EndpointId, ApiError> {
    // A malformed id cannot name anything: answer as for a missing one.
    id.parse().map_err(|_| ApiError::not_found("endpoint"))
}

/// The deployment's target rules, with this request's own API host added.
fn target_policy(state: &AppState, req: &Request) -> TargetPolicy {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => match &ctx.domain_name {
            Some(host) => state.config.target_policy.with_request_host(host),
            None => state.config.target_policy.clone(),
        },
        _ => state.config.target_policy.clone(),
    }
}

async fn known_types(state: &AppState, tenant: &TenantId) -> Result<HashSet<String>, ApiError> {
    Ok(state.db.list_event_types(tenant).await?.into_iter().map(|t| t.name).collect())
}

async fn validate(state: &AppState, tenant: &TenantId, settings: &EndpointSettings) -> Result<(), ApiError> {
    let tenant_types = known_types(state, tenant).await?;
    settings.validate(&state.config.signature_header_prefix, |t| is_builtin(t) || tenant_types.contains(t))
}

async fn load(state: &AppState, tenant: &TenantId, id: &EndpointId) -> Result<EndpointRecord, ApiError> {
    state.db.get_endpoint(tenant, id).await?.ok_or_else(|| ApiError::not_found("endpoint"))
}

/// Reads, changes and writes back an endpoint, retrying when a concurrent
/// writer (another request, the delivery worker) got there first.
async fn modify(
    state: &AppState,
    tenant: &TenantId,
    id: &EndpointId,
    change: impl Fn(&mut EndpointRecord) -> Result<(), ApiError>,
) -> Result<EndpointRecord, ApiError> {
    let sealer = state.keyring.secret_box().await?;
    for _ in 0..5 {
        let mut record = load(state, tenant, id).await?;
        let expected = record.version;
        change(&mut record)?;
        if record.headers_sealed.is_none() && !record.settings.headers.is_empty() {
            // A row from before headers were sealed: sealed as it is written back.
            record.seal_headers(sealer);
        }
        record.version = expected + 1;
        record.updated_at = Utc::now();
        match state.db.replace_endpoint(&record, expected).await {
            Ok(()) => return Ok(record),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict("conflict", "the endpoint is changing too often right now; try again"))
}

/// Create an endpoint. The answer is the only read that shows the secret
/// besides rotate-secret and the secret route.
#[utoipa::path(post, path = "/v1/endpoints", tag = "endpoints", request_body = EndpointCreate,
    responses((status = 201, body = EndpointView), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let input: EndpointCreate = body(req)?;
    let url = target_policy(state, req).vet_endpoint_url(&input.url).await?;
    let settings = EndpointSettings::from_create(&input, url.host_str().unwrap_or_default());
    validate(state, &p.tenant, &settings).await?;
    let secret = match &input.secret {
        Some(s) => {
            validate_signing_secret(s).map_err(|why| ApiError::invalid("invalid_secret", why))?;
            s.clone()
        }
        None => generate_signing_secret(),
    };
    let id = EndpointId::generate();
    let sealer = state.keyring.secret_box().await?;
    let sealed = sealer.seal(&secret, &EndpointRecord::secret_aad(&p.tenant, &id));
    let now = Utc::now();
    let mut record = EndpointRecord {
        tenant_id: p.tenant.clone(),
        endpoint_id: id,
        settings,
        status: EndpointStatus::Active,
        status_reason: None,
        secret_sealed: String::new(),
        secret_masked: String::new(),
        previous_secret_sealed: None,
        previous_secret_expires_at: None,
        headers_sealed: None,
        headers_masked: Default::default(),
        consecutive_failures: 0,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    record.set_secret(sealed, &secret);
    record.seal_headers(sealer);
    state.db.create_endpoint(&record).await?;
    tracing::info!(tenant = %p.tenant, endpoint_id = %record.endpoint_id, "endpoint created");
    Ok(json(201, &record.view(secret)))
}

/// List endpoints, oldest first. `event_type` keeps those that would
/// receive that type; `enabled` keeps active (true) or paused and disabled (false).
#[utoipa::path(get, path = "/v1/endpoints", tag = "endpoints",
    params(("event_type" = Option<String>, Query), ("enabled" = Option<bool>, Query),
           ("limit" = Option<u32>, Query, description = "1 to 250, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<EndpointView>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let page = PageRequest::parse(query(req, "limit").as_deref(), query(req, "cursor").as_deref())?;
    let event_type = query(req, "event_type");
    let enabled = query_bool(req, "enabled")?;
    let keep = |e: &EndpointRecord| {
        event_type.as_deref().is_none_or(|t| e.subscribes_to(t))
            && enabled.is_none_or(|want| (e.status == EndpointStatus::Active) == want)
    };
    let found = state.db.list_endpoints(&p.tenant, page.after.as_deref(), page.limit + 1, keep).await?;
    Ok(json(200, &ListResponse::page(found, page.limit, |e| e.endpoint_id.to_string(), EndpointRecord::masked_view)))
}

/// Read one endpoint (secret masked).
#[utoipa::path(get, path = "/v1/endpoints/{id}", tag = "endpoints", params(("id" = String, Path)),
    responses((status = 200, body = EndpointView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(state: &AppState, p: &Principal, id: &str) -> Result<Response<Body>, ApiError> {
    let record = load(state, &p.tenant, &parse_id(id)?).await?;
    Ok(json(200, &record.masked_view()))
}

/// Change an endpoint's settings; fields left out stay as they are.
#[utoipa::path(patch, path = "/v1/endpoints/{id}", tag = "endpoints", params(("id" = String, Path)),
    request_body = EndpointPatch,
    responses((status = 200, body = EndpointView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn patch(state: &AppState, p: &Principal, id: &str, req: &Request) -> Result<Response<Body>, ApiError> {
    let id = parse_id(id)?;
    let patch: EndpointPatch = body(req)?;
    if let Some(url) = &patch.url {
        target_policy(state, req).vet_endpoint_url(url).await?;
    }
    let tenant_types = known_types(state, &p.tenant).await?;
    let prefix = state.config.signature_header_prefix.clone();
    let sealer = state.keyring.secret_box().await?;
    let record = modify(state, &p.tenant, &id, |record| {
        let mut next = record.settings.patched(&patch);
        if let Some(wanted) = &patch.headers {
            // Values sent back exactly as a read masked them keep what they hide.
            let current = record.open_headers(sealer).map_err(ApiError::internal)?;
            next.headers = custom_headers::keep_masked_echoes(wanted, &current);
        }
        next.validate(&prefix, |t| is_builtin(t) || tenant_types.contains(t))?;
        if patch.headers.is_none() {
            // The headers stay sealed: their names come from the masked copy.
            next.validate_delivery_options(&prefix, &record.headers_masked.keys().collect::<Vec<_>>())?;
        }
        record.settings = next;
        if patch.headers.is_some() {
            record.seal_headers(sealer);
        }
        Ok(())
    })
    .await?;
    Ok(json(200, &record.masked_view()))
}

/// Delete an endpoint.
#[utoipa::path(delete, path = "/v1/endpoints/{id}", tag = "endpoints", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(state: &AppState, p: &Principal, id: &str) -> Result<Response<Body>, ApiError> {
    if state.db.delete_endpoint(&p.tenant, &parse_id(id)?).await? {
        Ok(no_content())
    } else {
        Err(ApiError::not_found("endpoint"))
    }
}

/// Resume a paused or disabled endpoint; its parked deliveries resume too.
#[utoipa::path(post, path = "/v1/endpoints/{id}/enable", tag = "endpoints", params(("id" = String, Path)),
    responses((status = 200, body = EndpointView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn enable(state: &AppState, p: &Principal, id: &str) -> Result<Response<Body>, ApiError> {
    let id = parse_id(id)?;
    let record = modify(state, &p.tenant, &id, |r| {
        r.status = EndpointStatus::Active;
        r.status_reason = None;
        r.consecutive_failures = 0;
        Ok(())
    })
    .await?;
    // However many are parked, the request stays short: the delivery
    // worker requeues them a page at a time.
    shared::ops::resume::start(&state.queue, &p.tenant, &id).await?;
    tracing::info!(tenant = %p.tenant, endpoint_id = %id, "endpoint enabled; resuming parked deliveries");
    Ok(json(200, &record.masked_view()))
}

/// Stop deliveries to an endpoint, with an optional reason.
#[utoipa::path(post, path = "/v1/endpoints/{id}/disable", tag = "endpoints", params(("id" = String, Path)),
    request_body(content = Option<DisableEndpoint>),
    responses((status = 200, body = EndpointView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn disable(state: &AppState, p: &Principal, id: &str, req: &Request) -> Result<Response<Body>, ApiError> {
    let input: DisableEndpoint = body(req)?;
    let reason = input.reason.unwrap_or_else(|| "disabled by an operator".into());
    if reason.chars().count() > 512 {
        return Err(ApiError::invalid("field_too_long", "reason is longer than 512 characters"));
    }
    let record = modify(state, &p.tenant, &parse_id(id)?, |r| {
        r.status = EndpointStatus::Disabled;
        r.status_reason = Some(reason.clone());
        Ok(())
    })
    .await?;
    Ok(json(200, &record.masked_view()))
}

/// Replace the signing secret. The old one keeps signing alongside the new
/// one for the grace period, so receivers can switch without dropping.
#[utoipa::path(post, path = "/v1/endpoints/{id}/rotate-secret", tag = "endpoints", params(("id" = String, Path)),
    request_body(content = Option<RotateSecret>),
    responses((status = 200, body = EndpointView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    state: &AppState,
    p: &Principal,
    id: &str,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let id = parse_id(id)?;
    let input: RotateSecret = body(req)?;
    let grace = input.grace_seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
    if grace > MAX_GRACE_SECONDS {
        return Err(ApiError::invalid(
            "invalid_grace_period",
            format!("grace_seconds must be between 0 and {MAX_GRACE_SECONDS}"),
        ));
    }
    let secret = match input.secret {
        Some(s) => {
            validate_signing_secret(&s).map_err(|why| ApiError::invalid("invalid_secret", why))?;
            s
        }
        None => generate_signing_secret(),
    };
    let sealer = state.keyring.secret_box().await?;
    let aad = EndpointRecord::secret_aad(&p.tenant, &id);
    let record = modify(state, &p.tenant, &id, |r| {
        let old = std::mem::take(&mut r.secret_sealed);
        if grace > 0 {
            r.previous_secret_sealed = Some(old);
            r.previous_secret_expires_at = Some(Utc::now() + Duration::seconds(grace.into()));
        } else {
            r.previous_secret_sealed = None;
            r.previous_secret_expires_at = None;
        }
        r.set_secret(sealer.seal(&secret, &aad), &secret);
        Ok(())
    })
    .await?;
    tracing::info!(tenant = %p.tenant, endpoint_id = %id, grace_seconds = grace, "endpoint secret rotated");
    Ok(json(200, &record.view(secret)))
}

/// Reveal the current signing secret (and the previous one during a grace period).
#[utoipa::path(get, path = "/v1/endpoints/{id}/secret", tag = "endpoints", params(("id" = String, Path)),
    responses((status = 200, body = EndpointSecret), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn secret(state: &AppState, p: &Principal, id: &str) -> Result<Response<Body>, ApiError> {
    let id = parse_id(id)?;
    let record = load(state, &p.tenant, &id).await?;
    let sealer = state.keyring.secret_box().await?;
    let aad = EndpointRecord::secret_aad(&p.tenant, &id);
    let secret = sealer.open(&record.secret_sealed, &aad).map_err(ApiError::internal)?;
    let previous = match (&record.previous_secret_sealed, record.previous_secret_expires_at) {
        (Some(sealed), Some(until)) if until > Utc::now() => {
            Some((sealer.open(sealed, &aad).map_err(ApiError::internal)?, until))
        }
        _ => None,
    };
    Ok(json(
        200,
        &EndpointSecret {
            secret,
            previous_secret: previous.as_ref().map(|(s, _)| s.clone()),
            previous_secret_expires_at: previous.map(|(_, until)| until),
        },
    ))
}

/// Reveal the custom headers' values (every other read masks them).
#[utoipa::path(get, path = "/v1/endpoints/{id}/headers", tag = "endpoints", params(("id" = String, Path)),
    responses((status = 200, body = EndpointHeaders), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn headers(state: &AppState, p: &Principal, id: &str) -> Result<Response<Body>, ApiError> {
    let record = load(state, &p.tenant, &parse_id(id)?).await?;
    let sealer = state.keyring.secret_box().await?;
    let headers = record.open_headers(sealer).map_err(ApiError::internal)?;
    Ok(json(200, &EndpointHeaders { headers }))
}
