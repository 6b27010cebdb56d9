//! `POST /v1/events/batch`: up to 100 events in one request, each checked
//! and answered on its own, in the order sent.

use std::collections::HashSet;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::api_key::Principal;
use shared::endpoint::EndpointRecord;
use shared::error::{ApiError, ErrorBody};
use shared::event::{NewEvent, OutboxRecord, PublishRequest};
use shared::event_batch::{check_batch_len, BatchItemResult, BatchPublishRequest, BatchPublished};

use super::events::{plan_fast_path, read_subscribers, send_fast};
use crate::http::{body_within, from_value, json, MAX_BATCH_BODY_BYTES};
use crate::state::AppState;

/// Event catalog lookups in flight at once.
const LOOKUPS_IN_FLIGHT: usize = 8;

/// Publish up to 100 events at once.
///
/// Each event is answered on its own, in the order sent: `committed` (its id; it
/// will be delivered), `duplicate` (its idempotency key was used before, by an
/// earlier publish or an earlier event of this batch: the first event's id), or
/// `refused` (nothing changed; `code` and `detail` say why, as `POST /v1/events`
/// would). `throttled` and `unavailable` refusals may be sent again; the rest name
/// what to fix. The answer is 202 whatever the mix: read each result's `status`.
/// A 5xx answers nothing, so publish the whole batch again: events with an
/// idempotency key are then answered as duplicates if they got through.
#[utoipa::path(post, path = "/v1/events/batch", tag = "events", request_body = BatchPublishRequest,
    responses((status = 202, body = BatchPublished, description = "One result per event, in the order sent"),
              (status = 400, body = ErrorBody, description = "The body is not JSON"),
              (status = 413, body = ErrorBody, description = "The body is larger than 3,000,000 bytes"),
              (status = 422, body = ErrorBody,
               description = "`empty_batch`, `too_many_events` (more than 100), or a body other than `{\"events\": [...]}`")),
    security(("bearer" = [])))]
pub async fn publish_batch(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    if req.body().len() > MAX_BATCH_BODY_BYTES {
        return Err(ApiError::new(
            413,
            "payload_too_large",
            format!("a batch body holds at most {MAX_BATCH_BODY_BYTES} bytes; send the events in smaller batches"),
        ));
    }
    let input: BatchPublishRequest = body_within(req, MAX_BATCH_BODY_BYTES)?;
    check_batch_len(input.events.len())?;
    let requests: Vec<Result<PublishRequest, ApiError>> = input.events.into_iter().map(parse_event).collect();
    let (known, subscribers) = tokio::join!(known_types(state, p, &requests), read_subscribers(state, p));
    let known = known?;
    let mut records: Vec<Result<OutboxRecord, BatchItemResult>> = requests
        .into_iter()
        .map(|request| {
            request
                .and_then(|r| NewEvent::from_request(r, |t| known.contains(t)))
                .map(|event| OutboxRecord::new(&p.tenant, event, state.config.retention_days))
                .map_err(|e| BatchItemResult::refused(&e))
        })
        .collect();
    let mut valid: Vec<&mut OutboxRecord> = records.iter_mut().flatten().collect();
    let planned = plan_fast_path(state, subscribers, &mut valid).await;
    let results = state.db.publish_batch(&records).await?;
    // The fast path for the events written now: not duplicates, not refused.
    let mut planned = planned.into_iter();
    let fast: Vec<(&OutboxRecord, Vec<EndpointRecord>)> = records
        .iter()
        .zip(&results)
        .filter_map(|(record, result)| {
            let r = record.as_ref().ok()?;
            let endpoints = planned.next().unwrap_or_default();
            match result {
                BatchItemResult::Committed { id }
                    if r.fast_path && !endpoints.is_empty() && *id == r.event_id.to_string() =>
                {
                    Some((r, endpoints))
                }
                _ => None,
            }
        })
        .collect();
    if !fast.is_empty() {
        send_fast(state, &fast).await;
    }
    let count = |status: fn(&BatchItemResult) -> bool| results.iter().filter(|r| status(r)).count();
    tracing::info!(
        tenant = %p.tenant,
        committed = count(|r| matches!(r, BatchItemResult::Committed { .. })),
        duplicates = count(|r| matches!(r, BatchItemResult::Duplicate { .. })),
        refused = count(|r| matches!(r, BatchItemResult::Refused { .. })),
        "event batch published"
    );
    Ok(json(202, &BatchPublished { data: results }))
}

/// One item of `events` as a publish request, refused as a whole request would be.
fn parse_event(item: Value) -> Result<PublishRequest, ApiError> {
    if !item.is_object() {
        return Err(ApiError::invalid("invalid_event", "each event must be a JSON object with `type` and `data`"));
    }
    from_value(item)
}

/// Which of the requests' event types are in the tenant's catalog, each looked up once.
async fn known_types(
    state: &AppState,
    p: &Principal,
    requests: &[Result<PublishRequest, ApiError>],
) -> Result<HashSet<String>, ApiError> {
    let names: HashSet<String> = requests.iter().flatten().map(|r| r.event_type.clone()).collect();
    let found: Vec<Option<String>> = stream::iter(names)
        .map(|name| async move { Ok::<_, ApiError>(state.event_type_known(&p.tenant, &name).await?.then_some(name)) })
        .buffer_unordered(LOOKUPS_IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}
