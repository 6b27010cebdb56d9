//! `/v1/sources`: who may post inbound webhooks, and how they are checked.

use chrono::Utc;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::api_key::Principal;
use shared::aws::StoreError;
use shared::crypto::{generate_signing_secret, mask_secret};
use shared::error::{ApiError, ErrorBody};
use shared::event_type::{is_builtin, EventTypeRecord};
use shared::ids::TenantId;
use shared::inbound_auth::AuthType;
use shared::page::{ListResponse, PageRequest};
use shared::source::{
    validate_secret, validate_slug, SourceCreate, SourcePatch, SourceRecord, SourceSettings, SourceView,
};
use utoipa::ToSchema;

use crate::http::{body, json, no_content, query};
use crate::state::AppState;

/// `POST /v1/sources/{slug}/rotate-secret`
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSourceSecret {
    /// The provider's new secret; generated when omitted.
    pub secret: Option<String>,
}

/// The secret a source starts with: the provider's, or a fresh `whsec_…`.
fn choose_secret(auth: AuthType, supplied: Option<String>) -> Result<String, ApiError> {
    if auth == AuthType::None {
        return Ok(String::new());
    }
    match supplied {
        None => Ok(generate_signing_secret()),
        Some(s) => validate_secret(auth, &s).map(|()| s),
    }
}

/// The sealed and masked forms of a source secret (both empty for `none`).
fn seal(sealer: &shared::crypto::SecretBox, slug: &str, secret: &str) -> (String, String) {
    if secret.is_empty() {
        return (String::new(), String::new());
    }
    (sealer.seal(secret, &SourceRecord::secret_aad(slug)), mask_secret(secret))
}

/// A fixed event type joins the tenant's catalog, so endpoints can subscribe to it.
async fn register_type(
    state: &AppState,
    tenant: &TenantId,
    settings: &SourceSettings,
    slug: &str,
) -> Result<(), ApiError> {
    let Some(name) = &settings.event_type else { return Ok(()) };
    if is_builtin(name) {
        return Ok(());
    }
    let record = EventTypeRecord {
        tenant_id: tenant.clone(),
        name: name.clone(),
        description: format!("Inbound webhooks from the `{slug}` source"),
        created_at: Utc::now(),
    };
    match state.db.create_event_type(&record).await {
        Ok(()) | Err(StoreError::Conflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn load(state: &AppState, tenant: &TenantId, slug: &str) -> Result<SourceRecord, ApiError> {
    state.db.get_source(tenant, slug).await?.ok_or_else(|| ApiError::not_found("source"))
}

/// Read, change, write back; retried when another writer got there first.
async fn modify(
    state: &AppState,
    tenant: &TenantId,
    slug: &str,
    change: impl Fn(&mut SourceRecord) -> Result<(), ApiError>,
) -> Result<SourceRecord, ApiError> {
    for _ in 0..5 {
        let mut record = load(state, tenant, slug).await?;
        let expected = record.version;
        change(&mut record)?;
        record.version = expected + 1;
        record.updated_at = Utc::now();
        match state.db.replace_source(&record, expected).await {
            Ok(()) => return Ok(record),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict("conflict", "the source is changing too often right now; try again"))
}

/// Create a source. The answer is the only read that shows the secret,
/// besides rotate-secret.
#[utoipa::path(post, path = "/v1/sources", tag = "sources", request_body = SourceCreate,
    responses((status = 201, body = SourceView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let input: SourceCreate = body(req)?;
    validate_slug(&input.slug)?;
    let settings = SourceSettings::from_create(&input);
    settings.validate()?;
    let secret = choose_secret(settings.auth_type, input.secret.clone())?;
    let sealer = state.keyring.secret_box().await?;
    let (secret_sealed, secret_masked) = seal(sealer, &input.slug, &secret);
    let now = Utc::now();
    let record = SourceRecord {
        slug: input.slug.clone(),
        tenant_id: p.tenant.clone(),
        settings,
        secret_sealed,
        secret_masked,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    match state.db.create_source(&record).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(ApiError::conflict("slug_taken", format!("the slug `{}` is taken", input.slug)))
        }
        Err(e) => return Err(e.into()),
    }
    register_type(state, &p.tenant, &record.settings, &record.slug).await?;
    tracing::info!(tenant = %p.tenant, source = %record.slug, "source created");
    Ok(json(201, &record.view(secret)))
}

/// The tenant's sources, by slug.
#[utoipa::path(get, path = "/v1/sources", tag = "sources",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<SourceView>)), security(("bearer" = [])))]
pub async fn list(state: &AppState, p: &Principal, req: &Request) -> Result<Response<Body>, ApiError> {
    let page = PageRequest::parse(query(req, "limit").as_deref(), query(req, "cursor").as_deref())?;
    let all = state.db.list_sources(&p.tenant).await?;
    let found: Vec<&SourceRecord> = all
        .iter()
        .filter(|s| page.after.as_deref().is_none_or(|after| s.slug.as_str() > after))
        .take(page.limit + 1)
        .collect();
    Ok(json(200, &ListResponse::page(found, page.limit, |s| s.slug.clone(), |s| s.masked_view())))
}

/// One source (secret masked).
#[utoipa::path(get, path = "/v1/sources/{slug}", tag = "sources", params(("slug" = String, Path)),
    responses((status = 200, body = SourceView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(state: &AppState, p: &Principal, slug: &str) -> Result<Response<Body>, ApiError> {
    Ok(json(200, &load(state, &p.tenant, slug).await?.masked_view()))
}

/// Change a source; `null` clears `dedupe_key`, `event_type` or `event_type_pointer`.
#[utoipa::path(patch, path = "/v1/sources/{slug}", tag = "sources", params(("slug" = String, Path)), request_body = SourcePatch,
    responses((status = 200, body = SourceView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn patch(state: &AppState, p: &Principal, slug: &str, req: &Request) -> Result<Response<Body>, ApiError> {
    let patch: SourcePatch = body(req)?;
    let record = modify(state, &p.tenant, slug, |r| {
        let next = r.settings.patched(&patch);
        next.validate()?;
        if next.auth_type != AuthType::None && r.secret_sealed.is_empty() {
            return Err(ApiError::invalid(
                "missing_secret",
                "this source has no secret: rotate-secret first, then change its auth_type",
            ));
        }
        r.settings = next;
        Ok(())
    })
    .await?;
    register_type(state, &p.tenant, &record.settings, &record.slug).await?;
    Ok(json(200, &record.masked_view()))
}

/// Delete a source; its receive URL answers 404 from then on.
#[utoipa::path(delete, path = "/v1/sources/{slug}", tag = "sources", params(("slug" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(state: &AppState, p: &Principal, slug: &str) -> Result<Response<Body>, ApiError> {
    if state.db.delete_source(&p.tenant, slug).await? {
        Ok(no_content())
    } else {
        Err(ApiError::not_found("source"))
    }
}

/// Replace the source's secret (shown once). Configure the provider with
/// it straight away: the old one stops verifying.
#[utoipa::path(post, path = "/v1/sources/{slug}/rotate-secret", tag = "sources", params(("slug" = String, Path)),
    request_body(content = Option<RotateSourceSecret>),
    responses((status = 200, body = SourceView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    state: &AppState,
    p: &Principal,
    slug: &str,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let input: RotateSourceSecret = body(req)?;
    let current = load(state, &p.tenant, slug).await?;
    let auth = if current.settings.auth_type == AuthType::None { AuthType::Bearer } else { current.settings.auth_type };
    let secret = choose_secret(auth, input.secret)?;
    let sealer = state.keyring.secret_box().await?;
    let (sealed, masked) = seal(sealer, slug, &secret);
    let record = modify(state, &p.tenant, slug, |r| {
        r.secret_sealed = sealed.clone();
        r.secret_masked = masked.clone();
        Ok(())
    })
    .await?;
    tracing::info!(tenant = %p.tenant, source = %slug, "source secret rotated");
    Ok(json(200, &record.view(secret)))
}
