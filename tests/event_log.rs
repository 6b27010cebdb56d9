//! The operator's question, "did evt_… reach everyone, and if not, why?",
//! answered from the event log over HTTP and with the CLI: an event
//! published to three endpoints, one of which fails.

use std::time::Duration;

use hookline_tests::receiver::{Receiver, Reply};
use hookline_tests::{delivery_options, eventually, Api, Stack};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(40);

struct Scene {
    stack: Stack,
    event_id: String,
    failing: String,
    _receivers: Vec<Receiver>,
}

/// Three endpoints for `bill.paid`; the third answers 500 and does not retry.
async fn three_endpoints_one_failing() -> Scene {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receivers = vec![Receiver::start().await, Receiver::start().await, Receiver::start().await];
    receivers[2].answer_by_default(Reply::status(500).body("ledger offline"));
    let mut ids = Vec::new();
    for (n, r) in receivers.iter().enumerate() {
        let policy = if n == 2 { "none" } else { "exponential" };
        let body = json!({"url": r.url, "event_types": ["bill.*"], "retry_policy": policy});
        let created = api.post("/v1/endpoints", body).await;
        assert_eq!(created.status, 201, "{}", created.body);
        ids.push(created.body["id"].as_str().unwrap().to_owned());
    }
    let published = api
        .post("/v1/events", json!({"type": "bill.paid", "data": {"invoice": "INV-9", "phone": "+91 98765 43210"}}))
        .await;
    assert_eq!(published.status, 202, "{}", published.body);
    let event_id = published.body["id"].as_str().unwrap().to_owned();
    settled(&api, &event_id).await;
    Scene { stack, event_id, failing: ids[2].clone(), _receivers: receivers }
}

/// The event's page once all three deliveries have finished.
async fn settled(api: &Api, event_id: &str) -> Value {
    eventually("three finished deliveries", WAIT, || async {
        let page = api.get(&format!("/v1/events/{event_id}")).await.body;
        let done = page["deliveries"].as_array()?.iter().filter(|d| d["status"] != "pending").count();
        (done == 3).then_some(page)
    })
    .await
}

#[tokio::test]
async fn an_events_page_shows_every_delivery_and_why_one_failed() {
    let scene = three_endpoints_one_failing().await;
    let api = scene.stack.admin();
    let page = settled(&api, &scene.event_id).await;
    assert_eq!(page["type"], "bill.paid");
    assert!(!page["data"].to_string().contains("98765 43210"), "the data is masked: {}", page["data"]);
    let deliveries = page["deliveries"].as_array().unwrap();
    let failed: Vec<&Value> = deliveries.iter().filter(|d| d["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{page}");
    assert_eq!(failed[0]["endpoint_id"], scene.failing.as_str());
    assert_eq!(failed[0]["last_status_code"], 500);
    assert!(failed[0]["endpoint_url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    assert_eq!(failed[0]["endpoint_name"], "127.0.0.1", "named as the endpoint list names it");
    assert_eq!(deliveries.iter().filter(|d| d["status"] == "delivered").count(), 2);
    // The failing delivery's detail says why, from the receiver's own words.
    let detail = api.get(&format!("/v1/deliveries/{}", failed[0]["id"].as_str().unwrap())).await.body;
    assert!(detail["attempt_log"][0]["response_body"].as_str().unwrap().contains("ledger offline"), "{detail}");

    // The same page as an operator fetches it with curl.
    let curl = tokio::process::Command::new("curl")
        .args(["-s", "-H", &format!("Authorization: Bearer {}", scene.stack.platform.admin_key)])
        .arg(format!("{}/v1/events/{}", scene.stack.platform.url, scene.event_id))
        .output()
        .await
        .expect("curl runs");
    let fetched: Value = serde_json::from_slice(&curl.stdout).expect("curl gets the event's JSON");
    assert_eq!(fetched["deliveries"], page["deliveries"], "curl sees what the API client saw");

    let listed = api.get("/v1/events?type=bill.*").await.body;
    assert_eq!(listed["data"][0]["id"], scene.event_id.as_str(), "newest first: {listed}");
    let by_corr = api.get(&format!("/v1/events?correlation_id={}", page["correlation_id"].as_str().unwrap())).await;
    assert_eq!(by_corr.body["data"].as_array().unwrap().len(), 1, "{}", by_corr.body);
    assert_eq!(api.get("/v1/events?type=lab.*").await.body["data"], json!([]));
    assert_eq!(api.get("/v1/events?since=yesterday").await.code(), "invalid_query");

    let other = scene.stack.tenant("globex").await;
    assert_eq!(other.get(&format!("/v1/events/{}", scene.event_id)).await.status, 404, "another tenant's event");
    assert_eq!(other.get("/v1/events").await.body["data"], json!([]));
    scene.stack.platform.shutdown().await;
}

#[tokio::test]
async fn the_cli_lists_events_and_shows_where_one_went() {
    let scene = three_endpoints_one_failing().await;
    let shown = scene.stack.cli_as_admin(&["events", "show", &scene.event_id]).await;
    assert!(shown.success, "{}", shown.stderr);
    let failing_row = shown.stdout.lines().find(|l| l.contains(&scene.failing)).unwrap_or_default();
    assert!(failing_row.contains("failed") && failing_row.contains("500"), "{}", shown.stdout);
    assert_eq!(shown.stdout.lines().filter(|l| l.contains("delivered")).count(), 2, "{}", shown.stdout);
    let listed = scene.stack.cli_as_admin(&["--json", "events", "list", "--type", "bill.*"]).await;
    assert!(listed.success, "{}", listed.stderr);
    assert_eq!(listed.json()[0]["id"], scene.event_id.as_str());
    let missing = scene.stack.cli_as_admin(&["events", "show", "evt_01m8txc1e8tknx086nf3p6g4jc"]).await;
    assert!(!missing.success && missing.stderr.contains("not_found"), "{}", missing.stderr);
    scene.stack.platform.shutdown().await;
}

#[tokio::test]
async fn an_event_made_from_an_inbound_webhook_links_to_it() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let created = api.post("/v1/sources", json!({"slug": "crm", "auth_type": "none", "event_type": "crm.lead"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    let received =
        stack.anonymous().post_with_headers("/api/v1/webhooks/crm", &headers, br#"{"lead": "L-1"}"#.to_vec()).await;
    assert_eq!(received.status, 202, "{}", received.body);
    let correlation = received.body["correlation_id"].as_str().unwrap().to_owned();
    let event = eventually("the inbound webhook's event", WAIT, || async {
        let page = api.get(&format!("/v1/events?correlation_id={correlation}")).await.body;
        page["data"].as_array()?.first().cloned()
    })
    .await;
    let page = api.get(&format!("/v1/events/{}", event["id"].as_str().unwrap())).await.body;
    assert_eq!(page["inbound"]["id"], received.body["id"], "{page}");
    assert_eq!(page["inbound"]["source"], "crm");
    assert_eq!(page["deliveries"], json!([]), "no endpoint wanted it");
    stack.platform.shutdown().await;
}
