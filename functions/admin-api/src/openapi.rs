//! The OpenAPI 3.1 document, generated from the route annotations. A copy is
//! committed at `docs/openapi.json`; a test fails when it is stale.

use shared::error::ErrorBody;
use shared::inbound::ReceiptView;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    api_keys, deliveries, endpoints, event_log, event_types, events, events_batch, inbound, sources, stats, system,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Hookline API", description = "Outbound and inbound webhooks on AWS Lambda."),
    paths(
        system::health, system::openapi,
        api_keys::create, api_keys::list, api_keys::delete,
        endpoints::create, endpoints::list, endpoints::get, endpoints::patch, endpoints::delete,
        endpoints::enable, endpoints::disable, endpoints::rotate_secret, endpoints::secret,
        endpoints::headers,
        event_types::list, event_types::create,
        events::publish, events_batch::publish_batch, event_log::list, event_log::get,
        deliveries::list, deliveries::get, deliveries::retry, deliveries::retry_bulk, deliveries::send_test,
        sources::create, sources::list, sources::get, sources::patch, sources::delete, sources::rotate_secret,
        inbound::list, inbound::get, inbound::replay_one, inbound::replay_many,
        stats::get,
        receive_webhook,
    ),
    modifiers(&BearerAuth),
    tags((name = "endpoints", description = "Where outbound webhooks go"),
         (name = "event-types", description = "The event catalog"),
         (name = "events", description = "Publishing, and the event log"),
         (name = "deliveries", description = "The delivery log and retries"),
         (name = "sources", description = "Inbound webhook sources"),
         (name = "inbound", description = "The inbound log and replays"),
         (name = "stats", description = "Numbers at a glance"),
         (name = "api-keys", description = "Tenant API keys"),
         (name = "webhooks", description = "Where providers post inbound webhooks"),
         (name = "system", description = "Health and this document")),
)]
pub struct ApiDoc;

/// Receive a webhook from a provider.
///
/// The body is verified byte for byte with the source's auth type (its headers: `X-HMS-Signature`,
/// `Stripe-Signature`, `webhook-signature`, …), deduplicated, stored and
/// queued. Served by the inbound-receipt function, not the admin API, and
/// authenticated by the provider's signature, not an API key.
#[utoipa::path(post, path = "/api/v1/webhooks/{slug}", tag = "webhooks",
    params(("slug" = String, Path, description = "The source's slug")),
    request_body(content = serde_json::Value, description = "Whatever the provider sends (JSON, a form, text)"),
    responses(
        (status = 202, body = ReceiptView, description = "Stored and queued for processing",
            headers(("X-Correlation-Id" = String, description = "Carried to every event and delivery it causes"))),
        (status = 200, body = ReceiptView, description = "A repeat within the dedupe window: answered with the first one, not processed again",
            headers(("X-Correlation-Id" = String))),
        (status = 401, body = ErrorBody, description = "`invalid_signature`: missing, malformed, stale or wrong credentials"),
        (status = 403, body = ErrorBody, description = "The source is disabled"),
        (status = 404, body = ErrorBody, description = "No source has this slug"),
        (status = 413, body = ErrorBody, description = "The body is larger than 256 KiB, or would make an event larger than an event may be"),
        (status = 508, body = ErrorBody, description = "`webhook_loop`: Hookline itself sent this webhook, and the chain has reached its hop limit"),
        (status = 503, body = ErrorBody, description = "The webhook could not be queued; the provider should retry")))]
#[allow(dead_code)] // documents a route of another function
fn receive_webhook() {}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn document() -> String {
    let mut text = ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_openapi_document_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let fresh = document();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(path, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(committed == fresh, "docs/openapi.json is stale: run `make openapi` and commit the result");
    }

    #[test]
    fn the_document_is_openapi_3_1_and_lists_the_endpoint_routes() {
        let doc: serde_json::Value = serde_json::from_str(&document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in [
            "/v1/endpoints",
            "/v1/endpoints/{id}/rotate-secret",
            "/v1/event-types",
            "/v1/events/batch",
            "/v1/api-keys",
            "/health",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path}");
        }
    }
}
