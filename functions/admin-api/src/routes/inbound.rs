//! `/v1/inbound`: the inbound log (masked), and replays of one or many.

use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use shared::api_key::Principal;
use shared::error::{ApiError, ErrorBody};
use shared::ids::{InboundId, TenantId};
use shared::inbound::{InboundRecord, InboundStatus, InboundView};
use shared::page::{ListResponse, PageRequest};
use utoipa::ToSchema;

use crate::http::{body, json, query, query_list};
use crate::state::AppState;

/// `POST /v1/inbound/replay`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkReplay {
    /// The source's slug.
    pub source: String,
    /// Only records whose processing failed (default true).
    pub failed_only: Option<bool>,
    /// Records received at or after this time (default: 24 hours ago).
    pub since: Option<DateTime<Utc>>,
}

/// What a replay made.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Replayed {
    /// The new record's id.
    pub id: String,
    pub correlation_id: String,
    pub replay_of: String,
}

/// How many records were replayed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReplayedMany {
    pub replayed: u32,
    pub ids: Vec<String>,
}

fn since_param(raw: Option<String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|s| {
        DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&Utc)).map_err(|_| {
            ApiError::bad_request("invalid_query", "since must be an RFC 3339 time, e.g. 2026-11-22T00:00:00Z")
        })
    })
    .transpose()
}

async fn load(state: &AppState, tenant: &TenantId, id: &str) -> Result<InboundRecord, ApiError> {
    let id: InboundId = id.parse().map_err(|_| ApiError::not_found("inbound webhook"))?;
    state.db.get_inbound(tenant, &id).await?.ok_or_else(|| ApiError::not_found("inbound webhook"))
}

/// Replays one record (see `shared::ops::replay::replay_inbound`).
pub async fn replay(state: &AppState, original: &InboundRecord) -> Result<InboundRecord, ApiError> {
    let sealer = state.keyring.secret_box().await?;
    Ok(shared::ops::replay::replay_inbound(&state.db, &state.inbound_queue, sealer, original).await?)
}

/// The inbound log, oldest first; bodies masked.
#[utoipa::path(get, path = "/v1/inbound", tag = "inbound",
    params(("source" = Option<String>, Query), ("status" = Option<String>, Query, description = "one or more of received, processed, failed, duplicate, comma-separated"), ("since" = Option<String>, Query, description = "RFC 3339"),
           ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<InboundView>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let page = PageRequest::parse(query(req, "limit").as_deref(), query(req, "cursor").as_deref())?;
    let source = query(req, "source");
    let status: Option<Vec<InboundStatus>> = query_list(req, "status", "received, processed, failed, duplicate")?;
    let since = since_param(query(req, "since"))?.map_or(0, |t| t.timestamp_millis().max(0) as u64);
    let keep = |r: &InboundRecord| {
        source.as_deref().is_none_or(|s| r.source_slug == s) && status.as_ref().is_none_or(|st| st.contains(&r.status))
    };
    let found = state.db.list_inbound(&p.tenant, since, page.after.as_deref(), page.limit + 1, keep).await?;
    Ok(json(200, &ListResponse::page(found, page.limit, |r| r.inbound_id.to_string(), InboundRecord::view)))
}

/// One inbound webhook (masked).
#[utoipa::path(get, path = "/v1/inbound/{id}", tag = "inbound", params(("id" = String, Path)),
    responses((status = 200, body = InboundView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(state: &AppState, p: &Principal, id: &str) -> Result<Response<Body>, ApiError> {
    Ok(json(200, &load(state, &p.tenant, id).await?.view()))
}

/// Replay one inbound webhook as a new record with a new correlation id.
#[utoipa::path(post, path = "/v1/inbound/{id}/replay", tag = "inbound", params(("id" = String, Path)),
    responses((status = 202, body = Replayed), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn replay_one(state: &AppState, p: &Principal, id: &str) -> Result<Response<Body>, ApiError> {
    let original = load(state, &p.tenant, id).await?;
    let clone = replay(state, &original).await?;
    tracing::info!(tenant = %p.tenant, inbound_id = %clone.inbound_id, replay_of = %original.inbound_id, "inbound replayed");
    Ok(json(
        202,
        &Replayed {
            id: clone.inbound_id.to_string(),
            correlation_id: clone.correlation_id,
            replay_of: original.inbound_id.to_string(),
        },
    ))
}

/// Replay a source's inbound webhooks since a time (failed ones by default).
#[utoipa::path(post, path = "/v1/inbound/replay", tag = "inbound", request_body = BulkReplay,
    responses((status = 202, body = ReplayedMany), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn replay_many(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let input: BulkReplay = body(req)?;
    let since = input.since.unwrap_or_else(|| Utc::now() - Duration::hours(24));
    let found =
        shared::ops::replay::inbound_to_replay(&state.db, &input.source, input.failed_only.unwrap_or(true), since)
            .await?;
    let originals = match found {
        Some((tenant, records)) if tenant == p.tenant => records,
        _ => return Err(ApiError::not_found("source")),
    };
    let mut ids = Vec::new();
    for original in &originals {
        ids.push(replay(state, original).await?.inbound_id.to_string());
    }
    Ok(json(202, &ReplayedMany { replayed: ids.len() as u32, ids }))
}
