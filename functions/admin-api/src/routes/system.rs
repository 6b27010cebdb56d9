//! Unauthenticated routes: health and the OpenAPI document.

use lambda_http::{Body, Response};
use utoipa::OpenApi;

use crate::http::json;
use crate::openapi::ApiDoc;

/// Liveness, for load balancers and `hookline dev` readiness.
#[utoipa::path(get, path = "/health", tag = "system", responses((status = 200, description = "The API is up")))]
pub fn health() -> Response<Body> {
    json(200, &serde_json::json!({"status": "ok", "version": shared::VERSION}))
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "system", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub fn openapi() -> Response<Body> {
    json(200, &ApiDoc::openapi())
}
