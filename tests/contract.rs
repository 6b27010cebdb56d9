//! Requests schemathesis found answered with a 500 (`make contract` runs it
//! against docs/openapi.json): names no resource can have are 4xx like any
//! other miss, never an error from the database.

use hookline_tests::Stack;
use serde_json::json;

#[tokio::test]
async fn names_no_resource_can_have_are_refused_not_a_server_error() {
    let stack = Stack::start().await;
    let api = stack.admin();
    let long = "x".repeat(3000);

    for event_type in ["", ".", &long] {
        let reply = api.post("/v1/events", json!({"type": event_type, "data": {}})).await;
        assert_eq!((reply.status, reply.code()), (422, "unknown_event_type"), "{}", reply.body);
    }
    for source in ["", "-", "UPPER", &long] {
        let reply = api.post("/v1/inbound/replay", json!({"source": source})).await;
        assert_eq!((reply.status, reply.code()), (404, "not_found"), "{source:.20}: {}", reply.body);
    }
    for path in ["/v1/sources/%20", &format!("/v1/sources/{long}")] {
        let reply = api.get(path).await;
        assert_eq!(reply.status, 404, "{path:.30}: {}", reply.body);
        assert_eq!(api.delete(path).await.status, 404, "{path:.30}");
    }
    let webhook = stack.anonymous().post_with_headers(&format!("/api/v1/webhooks/{long}"), &[], b"{}".to_vec()).await;
    assert_eq!(webhook.status, 404, "{}", webhook.body);
    stack.platform.shutdown().await;
}
