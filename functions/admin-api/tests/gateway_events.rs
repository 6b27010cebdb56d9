//! Real API Gateway v2 payloads from `events/admin-api/`, read the way the
//! Lambda runtime reads them, answered by the handler. No emulator: these
//! routes answer before any AWS call.

use admin_api::{handle, AppState};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use lambda_http::request::from_str;
use serde_json::Value;
use shared::aws::Clients;
use shared::config::Config;

fn state() -> AppState {
    let sdk = SdkConfig::builder().behavior_version(BehaviorVersion::latest()).region(Region::new("us-east-1")).build();
    // Names only: nothing here reaches a table, queue or secret.
    let config = Config::from_lookup(|k| {
        k.ends_with("_TABLE")
            .then(|| format!("unused-{k}"))
            .or_else(|| (k.ends_with("_URL") || k.ends_with("_SECRET")).then(|| format!("unused-{k}")))
    })
    .unwrap();
    AppState::new(config, &Clients::new(&sdk))
}

fn event(name: &str) -> lambda_http::Request {
    let path = format!("{}/../../events/admin-api/{name}", env!("CARGO_MANIFEST_DIR"));
    from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn answer(name: &str) -> (u16, Value) {
    let response = handle(&state(), event(name)).await;
    let status = response.status().as_u16();
    let body: &[u8] = response.body().as_ref();
    (status, serde_json::from_slice(body).unwrap())
}

#[tokio::test]
async fn health_answers_from_a_gateway_event() {
    let (status, body) = answer("health.json").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn an_unauthenticated_create_gets_401_with_the_error_shape() {
    let (status, body) = answer("create-endpoint-unauthenticated.json").await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "unauthorized");
    assert!(body["detail"].as_str().unwrap().contains("Bearer"));
}

#[test]
fn the_list_event_carries_its_query_parameters() {
    use lambda_http::RequestExt;
    let req = event("list-endpoints.json");
    let query = req.query_string_parameters();
    assert_eq!(query.first("limit"), Some("10"));
    assert_eq!(query.first("enabled"), Some("true"));
    assert_eq!(req.uri().path(), "/v1/endpoints");
}

#[test]
fn a_batch_event_body_reads_as_its_events_escaping_and_all() {
    let req = event("publish-batch.json");
    assert_eq!((req.method().as_str(), req.uri().path()), ("POST", "/v1/events/batch"));
    let batch: shared::event_batch::BatchPublishRequest =
        admin_api::http::body_within(&req, admin_api::http::MAX_BATCH_BODY_BYTES).unwrap();
    assert_eq!(batch.events.len(), 3);
    assert_eq!(batch.events[1]["idempotency_key"], "INV-3");
    assert_eq!(batch.events[2]["data"]["note"], "quote \" and \\ slash");
}

fn header<'a>(response: &'a lambda_http::Response<lambda_http::Body>, name: &str) -> &'a str {
    response.headers().get(name).map(|v| v.to_str().unwrap()).unwrap_or_default()
}

#[tokio::test]
async fn the_console_page_answers_with_a_strict_content_security_policy() {
    let response = handle(&state(), event("console.json")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "text/html; charset=utf-8");
    let csp = header(&response, "content-security-policy");
    for directive in
        ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]
    {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    let page = std::str::from_utf8(response.body().as_ref()).unwrap();
    assert!(page.contains(r#"<script type="module" src="console/app.js">"#), "{page}");
}

fn get(path: &str) -> lambda_http::Request {
    lambda_http::http::Request::builder().method("GET").uri(path).body(lambda_http::Body::Empty).unwrap()
}

#[tokio::test]
async fn console_files_answer_with_their_content_types_and_unknown_ones_with_404() {
    let state = state();
    for (path, content_type) in [
        ("/console/app.js", "text/javascript; charset=utf-8"),
        ("/console/endpoints.js", "text/javascript; charset=utf-8"),
        ("/console/style.css", "text/css; charset=utf-8"),
    ] {
        let response = handle(&state, get(path)).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "content-type"), content_type, "{path}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff", "{path}");
        assert!(!response.body().as_ref().is_empty(), "{path}");
    }
    for path in ["/console/secrets.txt", "/console/../openapi.json", "/console/index.html/x"] {
        assert_eq!(handle(&state, get(path)).await.status(), 404, "{path}");
    }
    let moved = handle(&state, get("/console/")).await;
    assert_eq!((moved.status().as_u16(), header(&moved, "location")), (308, "../console"));
}

#[tokio::test]
async fn an_unchanged_console_file_answers_304_to_its_etag() {
    let state = state();
    let first = handle(&state, get("/console/style.css")).await;
    let etag = header(&first, "etag").to_owned();
    assert!(etag.starts_with('"'), "{etag}");
    let mut again = get("/console/style.css");
    again.headers_mut().insert("if-none-match", etag.parse().unwrap());
    assert_eq!(handle(&state, again).await.status(), 304);
    let post =
        lambda_http::http::Request::builder().method("POST").uri("/console").body(lambda_http::Body::Empty).unwrap();
    assert_eq!(handle(&state, post).await.status(), 405);
}
