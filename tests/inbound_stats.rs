//! `GET /v1/stats` counts a tenant's inbound webhooks beside its deliveries:
//! received, processed, duplicate and failed, never another tenant's, and
//! leaves them out of one endpoint's numbers.

use std::time::Duration;

use hookline_tests::{eventually, Api, Stack};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(40);

async fn source(api: &Api, body: Value) {
    let reply = api.post("/v1/sources", body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

/// POSTs a JSON webhook to an unauthenticated source; answers the status.
async fn receive(stack: &Stack, slug: &str, body: &str) -> u16 {
    let headers = [("content-type".to_owned(), "application/json".to_owned())];
    let reply = stack.anonymous().post_with_headers(&format!("/api/v1/webhooks/{slug}"), &headers, body.into()).await;
    reply.status
}

/// The tenant's stats once nothing inbound is still being processed.
async fn settled_stats(api: &Api) -> Value {
    eventually("inbound processing to finish", WAIT, || async {
        let stats = api.get("/v1/stats").await.body;
        (stats["inbound"]["pending"] == 0).then_some(stats)
    })
    .await
}

#[tokio::test]
async fn stats_count_inbound_webhooks_by_outcome_within_the_tenant() {
    let stack = Stack::start().await;
    let clinic = stack.tenant("clinic").await;
    let lab = stack.tenant("lab").await;
    source(&clinic, json!({"slug": "crm", "auth_type": "none", "event_type_pointer": "/event"})).await;
    source(&clinic, json!({"slug": "old-crm", "auth_type": "none", "enabled": false})).await;
    source(&lab, json!({"slug": "lab-feed", "auth_type": "none"})).await;

    let first = r#"{"event": "contact.updated", "id": "c-1"}"#;
    assert_eq!(receive(&stack, "crm", first).await, 202);
    assert_eq!(receive(&stack, "crm", first).await, 200, "the same body again is a duplicate");
    assert_eq!(receive(&stack, "crm", r#"{"id": "c-2"}"#).await, 202, "no type: processing fails");
    assert_eq!(receive(&stack, "old-crm", "{}").await, 403, "a disabled source stores nothing");
    assert_eq!(receive(&stack, "lab-feed", "{}").await, 202);

    let stats = settled_stats(&clinic).await;
    assert_eq!(
        stats["inbound"],
        json!({"received": 3, "processed": 1, "duplicate": 1, "failed": 1, "pending": 0}),
        "{stats}"
    );
    assert_eq!(stats["sources"], json!({"total": 2, "enabled": 1, "disabled": 1}));
    let lab_stats = settled_stats(&lab).await;
    assert_eq!(lab_stats["inbound"]["received"], 1, "only the lab's own webhook: {lab_stats}");
    assert_eq!(lab_stats["sources"]["total"], 1);

    let later = clinic
        .get(&format!(
            "/v1/stats?since={}",
            (chrono::Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ")
        ))
        .await;
    assert_eq!(later.body["inbound"]["received"], 0, "nothing received after `since`: {}", later.body);

    let endpoint =
        clinic.post("/v1/endpoints", json!({"url": "https://example.com/hook", "event_types": ["crm.*"]})).await;
    assert_eq!(endpoint.status, 201, "{}", endpoint.body);
    let one = clinic.get(&format!("/v1/stats?endpoint_id={}", endpoint.body["id"].as_str().unwrap())).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert!(one.body.get("inbound").is_none() && one.body.get("sources").is_none(), "{}", one.body);
    stack.platform.shutdown().await;
}
