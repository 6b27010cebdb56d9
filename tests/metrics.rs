//! Hookline's CloudWatch metrics as `hookline dev` captures them: the
//! Embedded Metric Format documents each function writes after an
//! invocation, read back from `GET /_dev/metrics/{function}`.

use std::time::Duration;

use hookline_tests::receiver::{Receiver, Reply};
use hookline_tests::{delivery_options, eventually, options, Api, Stack};
use serde_json::{json, Value};
use shared::inbound_auth::{sign, AuthType};

const WAIT: Duration = Duration::from_secs(40);

/// The capture is the process's, as a Lambda's recorder is: one test at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn documents(stack: &Stack, function: &str) -> Vec<Value> {
    let reply = stack.anonymous().get(&format!("/_dev/metrics/{function}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"].as_array().cloned().unwrap_or_default()
}

/// The sum of a counter over the documents with this outcome.
fn count(docs: &[Value], metric: &str, outcome: &str) -> u64 {
    docs.iter().filter(|d| d["Outcome"] == outcome).filter_map(|d| d[metric].as_u64()).sum()
}

/// Every value a histogram recorded under this outcome (`None`: no outcome).
fn values(docs: &[Value], metric: &str, outcome: Option<&str>) -> Vec<f64> {
    docs.iter()
        .filter(|d| outcome.is_none_or(|o| d["Outcome"] == o))
        .filter_map(|d| d[metric].as_array())
        .flatten()
        .filter_map(Value::as_f64)
        .collect()
}

/// A document names only the function and the outcome as dimensions, and
/// carries nothing else besides its metrics: no endpoint, tenant or event.
fn assert_bounded(doc: &Value) {
    let spec = &doc["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(spec["Namespace"], "Hookline", "{doc}");
    let dimensions = spec["Dimensions"].as_array().unwrap();
    assert!(
        dimensions == &[json!(["Function", "Outcome"])] || dimensions == &[json!(["Function"])],
        "dimensions: {doc}"
    );
    let mut keys: Vec<&str> = spec["Metrics"].as_array().unwrap().iter().filter_map(|m| m["Name"].as_str()).collect();
    keys.extend(dimensions[0].as_array().unwrap().iter().filter_map(Value::as_str));
    keys.push("_aws");
    keys.sort();
    let mut present: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
    present.sort();
    assert_eq!(present, keys, "a document holds its dimensions and metrics only: {doc}");
}

async fn endpoint(api: &Api, url: &str) -> String {
    let reply = api.post("/v1/endpoints", json!({"url": url, "event_types": ["bill.paid"]})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn delivered_failed_and_retried_deliveries_are_counted_by_outcome() {
    let _one = ONE_AT_A_TIME.lock().await;
    let file = std::env::temp_dir().join(format!("hookline-metrics-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let mut opts = delivery_options(0.01);
    opts.metrics_file = Some(file.clone());
    let stack = Stack::start_with(opts).await;
    stack.anonymous().delete("/_dev/metrics").await;
    let api = stack.admin();
    let (happy, refusing, flaky) = (Receiver::start().await, Receiver::start().await, Receiver::start().await);
    refusing.answer_by_default(Reply::status(400));
    flaky.script(vec![Reply::status(503)]);
    let mut ids = Vec::new();
    for r in [&happy, &refusing, &flaky] {
        ids.push(endpoint(&api, &r.url).await);
    }
    let published = api.post("/v1/events", json!({"type": "bill.paid", "data": {"invoice": "INV-9"}})).await;
    assert_eq!(published.status, 202, "{}", published.body);

    let worker = eventually("two delivered, one failed, one retried", WAIT, || async {
        let docs = documents(&stack, "delivery-attempt").await;
        let counted = |o| count(&docs, "Deliveries", o);
        (counted("delivered") == 2 && counted("failed") == 1 && counted("retry_scheduled") == 1).then_some(docs)
    })
    .await;
    assert_eq!(count(&worker, "Deliveries", "parked"), 0);
    assert_eq!(values(&worker, "AttemptDuration", Some("delivered")).len(), 2);
    assert_eq!(values(&worker, "AttemptDuration", Some("failed")).len(), 1);
    assert_eq!(values(&worker, "AttemptDuration", Some("retry_scheduled")).len(), 1);
    let latency = values(&worker, "DeliveryLatency", Some("delivered"));
    assert_eq!(latency.len(), 2, "publish-to-delivered for each delivered one");
    assert!(latency.iter().all(|ms| *ms > 0.0), "{latency:?}");
    assert!(values(&worker, "DeliveryLatency", Some("failed")).is_empty());

    let fanout = documents(&stack, "outbox-fanout").await;
    assert_eq!(values(&fanout, "FanoutSize", None), [3.0], "one event to three endpoints");
    let event_id = published.body["id"].as_str().unwrap();
    for doc in worker.iter().chain(&fanout) {
        assert_bounded(doc);
        let text = doc.to_string();
        assert!(!ids.iter().any(|id| text.contains(id.as_str())) && !text.contains(event_id), "{text}");
        println!("{} bytes: {text}", text.len() + 1);
    }
    let written = std::fs::read_to_string(&file).expect("the metrics file");
    let in_file: Vec<Value> = written.lines().map(|l| serde_json::from_str(l).expect("a document a line")).collect();
    for doc in worker.iter().chain(&fanout) {
        assert!(in_file.contains(doc), "HOOKLINE_METRICS_FILE holds what /_dev/metrics shows: {doc}");
    }
    stack.platform.shutdown().await;
    let _ = std::fs::remove_file(&file);
}

#[tokio::test]
async fn inbound_webhooks_are_counted_received_duplicate_rejected_and_processed() {
    let _one = ONE_AT_A_TIME.lock().await;
    let stack = Stack::start_with(options()).await;
    stack.anonymous().delete("/_dev/metrics").await;
    let api = stack.admin();
    let created = api.post("/v1/sources", json!({"slug": "lab", "auth_type": "hms", "secret": "lab-secret"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let body = br#"{"event": "lab.result.ready", "sample": "S-1"}"#;
    let now = chrono::Utc::now().timestamp();
    let mut signed = sign(AuthType::Hms, "lab-secret", "X-HMS", body, now, "msg_1");
    signed.push(("content-type".into(), "application/json".into()));
    let forged = sign(AuthType::Hms, "not-the-secret", "X-HMS", body, now, "msg_2");
    let post = |slug: &'static str, headers: Vec<(String, String)>| {
        let client = stack.anonymous();
        async move { client.post_with_headers(&format!("/api/v1/webhooks/{slug}"), &headers, body.to_vec()).await }
    };
    assert_eq!(post("lab", signed.clone()).await.status, 202);
    assert_eq!(post("lab", signed.clone()).await.status, 200, "the same webhook again is a duplicate");
    assert_eq!(post("lab", forged).await.status, 401);
    assert_eq!(post("no-such-lab", signed).await.status, 404);

    let receipt = documents(&stack, "inbound-receipt").await;
    let counted = |o| count(&receipt, "InboundWebhooks", o);
    assert_eq!(
        [counted("received"), counted("duplicate"), counted("rejected_auth"), counted("rejected_source")],
        [1, 1, 1, 1]
    );
    assert_eq!(counted("failed"), 0);
    let processed = eventually("the received webhook processed", WAIT, || async {
        let docs = documents(&stack, "inbound-process").await;
        (count(&docs, "InboundWebhooks", "processed") == 1).then_some(docs)
    })
    .await;
    assert_eq!(count(&processed, "InboundWebhooks", "failed"), 0);
    receipt.iter().chain(&processed).for_each(assert_bounded);
    stack.platform.shutdown().await;
}
