//! `POST /v1/events`: publish. The outbox row is the commit. Then, for an
//! event with few enough subscribers, the handler sends the deliveries
//! itself (the fast path, `shared::aws::fanout`); the outbox stream fills in
//! whatever that left undone, and fans out every other event.

use lambda_http::{Body, Request, Response};
use shared::api_key::Principal;
use shared::aws::fanout::{self, Subscribers};
use shared::aws::outbox::PublishOutcome;
use shared::endpoint::EndpointRecord;
use shared::error::{ApiError, ErrorBody};
use shared::event::{NewEvent, OutboxRecord, PublishRequest, Published};

use crate::http::{body, json};
use crate::state::AppState;

/// Publish an event to every endpoint subscribed to its type.
#[utoipa::path(post, path = "/v1/events", tag = "events", request_body = PublishRequest,
    responses((status = 202, body = Published, description = "Committed; deliveries follow"),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let input: PublishRequest = body(req)?;
    let (known, subscribers) =
        tokio::join!(state.event_type_known(&p.tenant, &input.event_type), read_subscribers(state, p));
    let known = known?;
    let event = NewEvent::from_request(input, |_| known)?;
    let mut record = OutboxRecord::new(&p.tenant, event, state.config.retention_days);
    let planned = plan_fast_path(state, subscribers, &mut [&mut record]).await;
    let id = match state.db.publish(&record).await? {
        PublishOutcome::Created(id) => {
            tracing::debug!(tenant = %p.tenant, event_id = %id, event_type = %record.event_type, "event published");
            if let Some(endpoints) = planned.into_iter().next().filter(|e| !e.is_empty() && record.fast_path) {
                // A repeat completing an interrupted publish writes under the claimed id.
                record.event_id = id.clone();
                send_fast(state, &[(&record, endpoints)]).await;
            }
            id
        }
        PublishOutcome::Duplicate(id) => id,
    };
    Ok(json(202, &Published { id: id.to_string() }))
}

/// The tenant's endpoints for the fast path, read beside the publish
/// call's other reads; `None` when the fast path is off, the tenant has
/// more endpoints than the fast path's budget, or the read failed (then the
/// stream fans out, as it always can).
pub(crate) async fn read_subscribers(state: &AppState, p: &Principal) -> Option<Subscribers> {
    if state.fast_path.0 == 0 {
        return None;
    }
    match state.subscribers(&p.tenant, state.fast_path.0).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "fast path skipped: the endpoints could not be read; the stream fans out");
            None
        }
    }
}

/// Marks the events the fast path takes on and returns their endpoints
/// (empty for the others).
pub(crate) async fn plan_fast_path(
    state: &AppState,
    subscribers: Option<Subscribers>,
    events: &mut [&mut OutboxRecord],
) -> Vec<Vec<EndpointRecord>> {
    let Some(mut subscribers) = subscribers else {
        return vec![Vec::new(); events.len()];
    };
    match state.fast_path.mark(&state.db, &mut subscribers, events).await {
        Ok(planned) => planned,
        Err(e) => {
            tracing::warn!(error = %e, "fast path skipped: the endpoints could not be read; the stream fans out");
            for event in events.iter_mut() {
                event.fast_path = false;
            }
            vec![Vec::new(); events.len()]
        }
    }
}

/// Sends committed events' deliveries now. Never fails the call: what it
/// leaves undone, the stream does.
pub(crate) async fn send_fast(state: &AppState, events: &[(&OutboxRecord, Vec<EndpointRecord>)]) {
    let outcome = fanout::fast_path(&state.queue, state.config.retention_days, events).await;
    tracing::debug!(sent = outcome.sent, left_to_stream = outcome.left_to_stream, "fast path");
}
