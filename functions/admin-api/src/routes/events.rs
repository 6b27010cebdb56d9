//! `POST /v1/events`: publish. The outbox row is the commit; fan-out and
//! delivery follow from its stream.

use lambda_http::{Body, Request, Response};
use shared::api_key::Principal;
use shared::aws::outbox::PublishOutcome;
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
    let known = state.db.event_type_exists(&p.tenant, &input.event_type).await?;
    let event = NewEvent::from_request(input, |_| known)?;
    let record = OutboxRecord::new(&p.tenant, event, state.config.retention_days);
    let id = match state.db.publish(&record).await? {
        PublishOutcome::Created(id) => {
            tracing::debug!(tenant = %p.tenant, event_id = %id, event_type = %record.event_type, "event published");
            id
        }
        PublishOutcome::Duplicate(id) => id,
    };
    Ok(json(202, &Published { id: id.to_string() }))
}
