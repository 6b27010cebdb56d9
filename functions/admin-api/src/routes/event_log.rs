//! `GET /v1/events` and `GET /v1/events/{id}`: the event log, newest first,
//! and one event with every delivery it fanned out to (reads only).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use shared::api_key::Principal;
use shared::endpoint::EndpointRecord;
use shared::error::{ApiError, ErrorBody};
use shared::event_log::{EventDelivery, EventDetail, EventFilter, EventSummary};
use shared::ids::{DeliveryId, EndpointId, EventId};
use shared::page::{ListResponse, PageRequest};

use crate::http::{json, query};
use crate::state::AppState;

fn time_param(name: &str, raw: Option<String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|s| {
        DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&Utc)).map_err(|_| {
            ApiError::bad_request(
                "invalid_query",
                format!("{name} must be an RFC 3339 time, e.g. 2026-11-22T00:00:00Z"),
            )
        })
    })
    .transpose()
}

fn millis(t: DateTime<Utc>) -> u64 {
    t.timestamp_millis().max(0) as u64
}

/// The tenant's events, newest first.
#[utoipa::path(get, path = "/v1/events", tag = "events",
    params(("type" = Option<String>, Query, description = "an exact type, `prefix.*` or `*`"),
           ("since" = Option<String>, Query, description = "RFC 3339; created at or after"),
           ("until" = Option<String>, Query, description = "RFC 3339; created before"),
           ("correlation_id" = Option<String>, Query),
           ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<EventSummary>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let page = PageRequest::parse(query(req, "limit").as_deref(), query(req, "cursor").as_deref())?;
    let since = time_param("since", query(req, "since"))?.map_or(0, millis);
    let until = time_param("until", query(req, "until"))?.map_or(u64::MAX / 2, millis);
    let filter = EventFilter { event_type: query(req, "type"), correlation_id: query(req, "correlation_id") };
    if let Some(t) = &filter.event_type {
        shared::event_type::validate_pattern(t)?;
    }
    let found = state
        .db
        .list_events_newest(&p.tenant, (since, until), page.after.as_deref(), page.limit + 1, |e| filter.keeps(e))
        .await?;
    Ok(json(200, &ListResponse::page(found, page.limit, |e| e.event_id.to_string(), |e| e.summary())))
}

/// One event: its masked data, every delivery it fanned out to (endpoints
/// deleted since are not listed), and the inbound webhook it came from.
#[utoipa::path(get, path = "/v1/events/{id}", tag = "events", params(("id" = String, Path)),
    responses((status = 200, body = EventDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(state: &AppState, p: &Principal, id: &str) -> Result<Response<Body>, ApiError> {
    let id: EventId = id.parse().map_err(|_| ApiError::not_found("event"))?;
    let event = state.db.get_event(&p.tenant, &id, false).await?.ok_or_else(|| ApiError::not_found("event"))?;
    let endpoints = state.db.list_endpoints(&p.tenant, None, usize::MAX, |_| true).await?;
    let ids: Vec<DeliveryId> = endpoints.iter().map(|e| DeliveryId::for_event(&id, &e.endpoint_id)).collect();
    let by_id: HashMap<&EndpointId, &EndpointRecord> = endpoints.iter().map(|e| (&e.endpoint_id, e)).collect();
    let mut deliveries: Vec<EventDelivery> = state
        .db
        .get_deliveries(&p.tenant, &ids)
        .await?
        .iter()
        .filter_map(|d| Some(EventDelivery::new(d, by_id.get(&d.endpoint_id)?)))
        .collect();
    deliveries.sort_by(|a, b| a.delivery.endpoint_id.cmp(&b.delivery.endpoint_id));
    let inbound = match event.inbound_origin() {
        Some(origin) => state
            .db
            .get_inbound(&p.tenant, &origin)
            .await?
            .filter(|r| r.event_id.as_ref() == Some(&id))
            .map(|r| r.view()),
        None => None,
    };
    let mut data = serde_json::from_str(&event.payload).unwrap_or_default();
    state.redactor.json(&mut data);
    Ok(json(200, &EventDetail { event: event.summary(), data, deliveries, inbound }))
}
