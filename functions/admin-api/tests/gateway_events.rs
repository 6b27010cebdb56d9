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
