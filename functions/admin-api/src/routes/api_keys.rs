//! `/v1/api-keys`: tenant keys, created by the bootstrap key or by a key of
//! the same tenant, shown once, stored hashed.

use chrono::Utc;
use lambda_http::{Body, Request, Response};
use shared::api_key::{ApiKeyCreate, ApiKeyRecord, ApiKeyView, KeyRole, Principal};
use shared::crypto::{generate_api_key, hash_api_key};
use shared::error::{ApiError, ErrorBody};
use shared::ids::{ApiKeyId, TenantId};
use shared::page::{ListResponse, PageRequest};

use crate::http::{body, json, no_content, query};
use crate::state::AppState;

/// Create an API key; the answer is the only time the key is shown.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = ApiKeyCreate,
    responses((status = 201, body = ApiKeyView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let input: ApiKeyCreate = body(req)?;
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(ApiError::invalid("invalid_name", "name must hold 1 to 128 characters"));
    }
    let tenant = match (&input.tenant_id, p.role) {
        (None, KeyRole::Admin) => TenantId::generate(),
        (None, KeyRole::Tenant) => p.tenant.clone(),
        (Some(raw), role) => {
            let tenant: TenantId = raw.parse().map_err(|_| {
                ApiError::invalid(
                    "invalid_tenant_id",
                    "tenant_id may hold lowercase letters, digits, `_` and `-` (64 at most)",
                )
            })?;
            if role == KeyRole::Tenant && tenant != p.tenant {
                return Err(ApiError::forbidden("a tenant key can only create keys for its own tenant"));
            }
            tenant
        }
    };
    let key = generate_api_key();
    let record = ApiKeyRecord {
        key_hash: hash_api_key(&key),
        key_id: ApiKeyId::generate(),
        tenant_id: tenant,
        name,
        role: KeyRole::Tenant,
        created_at: Utc::now(),
    };
    state.db.create_api_key(&record).await?;
    tracing::info!(tenant = %record.tenant_id, key_id = %record.key_id, "api key created");
    let mut view = ApiKeyView::from(&record);
    view.key = Some(key);
    Ok(json(201, &view))
}

/// The calling tenant's keys (hashes and tokens are never shown).
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<ApiKeyView>)), security(("bearer" = [])))]
pub async fn list(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let page = PageRequest::parse(query(req, "limit").as_deref(), query(req, "cursor").as_deref())?;
    let keys = state.db.list_api_keys(&p.tenant).await?;
    let found: Vec<&ApiKeyRecord> = keys
        .iter()
        .filter(|k| page.after.as_deref().is_none_or(|after| k.key_id.as_str() > after))
        .take(page.limit + 1)
        .collect();
    Ok(json(200, &ListResponse::page(found, page.limit, |k| k.key_id.to_string(), |k| ApiKeyView::from(*k))))
}

/// Revoke one of the tenant's keys.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(state: &AppState, p: &Principal, id: &str) -> Result<Response<Body>, ApiError> {
    let id: ApiKeyId = id.parse().map_err(|_| ApiError::not_found("api key"))?;
    if state.db.delete_api_key(&p.tenant, &id).await? {
        state.forget_principals();
        Ok(no_content())
    } else {
        Err(ApiError::not_found("api key"))
    }
}
