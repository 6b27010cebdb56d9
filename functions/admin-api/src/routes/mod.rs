//! The router: method and path to a route function.

pub mod api_keys;
pub mod deliveries;
pub mod endpoints;
pub mod event_log;
pub mod event_types;
pub mod events;
pub mod events_batch;
pub mod inbound;
pub mod sources;
pub mod stats;
pub mod system;

use lambda_http::http::{HeaderValue, Method};
use lambda_http::{Body, Request, Response};
use shared::error::ApiError;

use crate::auth::authenticate;
use crate::http::error;
use crate::state::AppState;

/// Answers one HTTP request; never fails (errors become `{"code","detail"}`).
pub async fn handle(state: &AppState, req: Request) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let mut response = match route(state, &req, &method, &path).await {
        Ok(response) => response,
        Err(err) => {
            if err.status >= 500 {
                tracing::error!(method = %method, path = %path, code = %err.code, "request failed");
            }
            error(&err)
        }
    };
    // Every answer is what its content type says; a browser must not guess.
    response.headers_mut().insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}

async fn route(state: &AppState, req: &Request, method: &Method, path: &str) -> Result<Response<Body>, ApiError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let m = method.as_str();
    match segments.as_slice() {
        ["health"] => only(m, "GET").map(|_| system::health()),
        ["openapi.json"] => only(m, "GET").map(|_| system::openapi()),
        ["console", rest @ ..] => crate::console::serve(req, m, path, rest),
        ["v1", rest @ ..] => {
            let principal = authenticate(state, req).await?;
            let p = &principal;
            if m != "GET" && rest.first() == Some(&"endpoints") {
                // This instance's publish calls see the change at once
                // (others within `SUBSCRIBERS_CACHE_TTL`).
                state.forget_subscribers(&p.tenant);
            }
            match (m, rest) {
                ("POST", ["api-keys"]) => api_keys::create(state, p, req).await,
                ("GET", ["api-keys"]) => api_keys::list(state, p, req).await,
                ("DELETE", ["api-keys", id]) => api_keys::delete(state, p, id).await,
                ("POST", ["endpoints"]) => endpoints::create(state, p, req).await,
                ("GET", ["endpoints"]) => endpoints::list(state, p, req).await,
                ("GET", ["endpoints", id]) => endpoints::get(state, p, id).await,
                ("PATCH", ["endpoints", id]) => endpoints::patch(state, p, id, req).await,
                ("DELETE", ["endpoints", id]) => endpoints::delete(state, p, id).await,
                ("POST", ["endpoints", id, "enable"]) => endpoints::enable(state, p, id).await,
                ("POST", ["endpoints", id, "disable"]) => endpoints::disable(state, p, id, req).await,
                ("POST", ["endpoints", id, "rotate-secret"]) => endpoints::rotate_secret(state, p, id, req).await,
                ("GET", ["endpoints", id, "secret"]) => endpoints::secret(state, p, id).await,
                ("GET", ["endpoints", id, "headers"]) => endpoints::headers(state, p, id).await,
                ("GET", ["endpoints", id, "deliveries"]) => deliveries::list(state, p, id, req).await,
                ("POST", ["endpoints", id, "test"]) => deliveries::send_test(state, p, id).await,
                ("POST", ["events"]) => events::publish(state, p, req).await,
                ("POST", ["events", "batch"]) => events_batch::publish_batch(state, p, req).await,
                ("GET", ["events"]) => event_log::list(state, p, req).await,
                ("GET", ["events", id]) => event_log::get(state, p, id).await,
                ("POST", ["deliveries", "retry"]) => deliveries::retry_bulk(state, p, req).await,
                ("GET", ["deliveries", id]) => deliveries::get(state, p, id).await,
                ("POST", ["deliveries", id, "retry"]) => deliveries::retry(state, p, id).await,
                ("POST", ["sources"]) => sources::create(state, p, req).await,
                ("GET", ["sources"]) => sources::list(state, p, req).await,
                ("GET", ["sources", slug]) => sources::get(state, p, slug).await,
                ("PATCH", ["sources", slug]) => sources::patch(state, p, slug, req).await,
                ("DELETE", ["sources", slug]) => sources::delete(state, p, slug).await,
                ("POST", ["sources", slug, "rotate-secret"]) => sources::rotate_secret(state, p, slug, req).await,
                ("GET", ["inbound"]) => inbound::list(state, p, req).await,
                ("POST", ["inbound", "replay"]) => inbound::replay_many(state, p, req).await,
                ("GET", ["inbound", id]) => inbound::get(state, p, id).await,
                ("POST", ["inbound", id, "replay"]) => inbound::replay_one(state, p, id).await,
                ("GET", ["stats"]) => stats::get(state, p, req).await,
                ("GET", ["event-types"]) => event_types::list(state, p, req).await,
                ("POST", ["event-types"]) => event_types::create(state, p, req).await,
                _ => Err(unknown_route(m, path, rest)),
            }
        }
        _ => Err(ApiError::not_found("route")),
    }
}

fn only(method: &str, allowed: &str) -> Result<(), ApiError> {
    if method == allowed {
        Ok(())
    } else {
        Err(ApiError::new(405, "method_not_allowed", format!("use {allowed}")))
    }
}

/// 405 when the path exists under another method, 404 otherwise.
fn unknown_route(method: &str, path: &str, rest: &[&str]) -> ApiError {
    let known_path = matches!(
        rest,
        ["api-keys"]
            | ["api-keys", _]
            | ["endpoints"]
            | ["endpoints", _]
            | ["endpoints", _, "enable" | "disable" | "rotate-secret" | "secret" | "headers"]
            | ["event-types"]
            | ["events", "batch"]
    );
    if known_path {
        ApiError::new(405, "method_not_allowed", format!("{method} is not supported on {path}"))
    } else {
        ApiError::new(404, "not_found", format!("no route {method} {path}"))
    }
}
