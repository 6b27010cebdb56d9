//! `GET /v1/stats`: the tenant's numbers at a glance.

use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Request, Response};
use shared::api_key::Principal;
use shared::error::{ApiError, ErrorBody};
use shared::ops::stats::{stats, Stats};

use crate::http::{json, query};
use crate::state::AppState;

/// Endpoints by status, and deliveries of events since `since` (default: 24 hours ago).
#[utoipa::path(get, path = "/v1/stats", tag = "stats", params(("since" = Option<String>, Query, description = "RFC 3339")),
    responses((status = 200, body = Stats), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let since = match query(req, "since") {
        None => Utc::now() - Duration::hours(24),
        Some(raw) => DateTime::parse_from_rfc3339(&raw).map(|t| t.with_timezone(&Utc)).map_err(|_| {
            ApiError::bad_request("invalid_query", "since must be an RFC 3339 time, e.g. 2026-11-22T00:00:00Z")
        })?,
    };
    Ok(json(200, &stats(&state.db, &p.tenant, since).await?))
}
