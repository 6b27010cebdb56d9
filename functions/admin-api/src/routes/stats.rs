//! `GET /v1/stats`: the tenant's numbers at a glance, outbound and inbound,
//! or one endpoint's.

use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Request, Response};
use shared::api_key::Principal;
use shared::error::{ApiError, ErrorBody};
use shared::ids::EndpointId;
use shared::ops::stats::{stats, Stats};

use crate::http::{json, query};
use crate::state::AppState;

/// Endpoints by status, and deliveries of events since `since` (default: 24
/// hours ago) in total and by the hour; sources, and inbound webhooks received
/// since `since` by status. `endpoint_id` narrows the outbound numbers to one
/// endpoint and leaves the inbound ones out.
#[utoipa::path(get, path = "/v1/stats", tag = "stats",
    params(("since" = Option<String>, Query, description = "RFC 3339"),
           ("endpoint_id" = Option<String>, Query, description = "Only this endpoint's deliveries")),
    responses((status = 200, body = Stats), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let since = match query(req, "since") {
        None => Utc::now() - Duration::hours(24),
        Some(raw) => DateTime::parse_from_rfc3339(&raw).map(|t| t.with_timezone(&Utc)).map_err(|_| {
            ApiError::bad_request("invalid_query", "since must be an RFC 3339 time, e.g. 2026-11-22T00:00:00Z")
        })?,
    };
    let endpoint: Option<EndpointId> =
        query(req, "endpoint_id").map(|raw| raw.parse().map_err(|_| ApiError::not_found("endpoint"))).transpose()?;
    let found = stats(&state.db, &p.tenant, since, endpoint.as_ref()).await?;
    // Scoped to an endpoint the tenant does not have (another tenant's, say): nothing counted.
    if endpoint.is_some() && found.endpoints.total == 0 {
        return Err(ApiError::not_found("endpoint"));
    }
    Ok(json(200, &found))
}
