//! `/v1/event-types`: the built-in catalog plus the tenant's own types.

use chrono::Utc;
use lambda_http::{Body, Request, Response};
use shared::api_key::Principal;
use shared::aws::StoreError;
use shared::error::{ApiError, ErrorBody};
use shared::event_type::{is_builtin, validate_name, EventTypeCreate, EventTypeRecord, EventTypeView};
use shared::page::{ListResponse, PageRequest};

use crate::http::{body, json, query};
use crate::state::AppState;

const MAX_DESCRIPTION: usize = 1024;

/// The catalog: built-in and the tenant's own types, by name.
#[utoipa::path(get, path = "/v1/event-types", tag = "event-types",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<EventTypeView>)), security(("bearer" = [])))]
pub async fn list(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let page = PageRequest::parse(query(req, "limit").as_deref(), query(req, "cursor").as_deref())?;
    let own = state.db.list_event_types(&p.tenant).await?;
    let mut all: Vec<EventTypeView> =
        EventTypeView::builtins().chain(own.into_iter().map(EventTypeView::from)).collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let found: Vec<EventTypeView> = all
        .into_iter()
        .filter(|t| page.after.as_deref().is_none_or(|after| t.name.as_str() > after))
        .take(page.limit + 1)
        .collect();
    Ok(json(200, &ListResponse::page(found, page.limit, |t| t.name.clone(), Clone::clone)))
}

/// Add an event type to the tenant's catalog.
#[utoipa::path(post, path = "/v1/event-types", tag = "event-types", request_body = EventTypeCreate,
    responses((status = 201, body = EventTypeView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let input: EventTypeCreate = body(req)?;
    validate_name(&input.name)?;
    let description = input.description.unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(ApiError::invalid(
            "field_too_long",
            format!("description is longer than {MAX_DESCRIPTION} characters"),
        ));
    }
    let exists = || ApiError::conflict("event_type_exists", format!("`{}` is already in the catalog", input.name));
    if is_builtin(&input.name) {
        return Err(exists());
    }
    let record =
        EventTypeRecord { tenant_id: p.tenant.clone(), name: input.name.clone(), description, created_at: Utc::now() };
    match state.db.create_event_type(&record).await {
        Ok(()) => Ok(json(201, &EventTypeView::from(record))),
        Err(StoreError::Conflict) => Err(exists()),
        Err(e) => Err(e.into()),
    }
}
