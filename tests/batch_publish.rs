//! Batch publish on the local stack: `POST /v1/events/batch` answers every
//! event in the order sent, only committed events are delivered, and
//! `hookline events publish --file` sends a JSON Lines file through it.

use std::collections::BTreeSet;
use std::time::Duration;

use hookline_tests::receiver::Receiver;
use hookline_tests::{delivery_options, eventually, Api, Stack};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

const WAIT: Duration = Duration::from_secs(60);

async fn batch(api: &Api, events: Vec<Value>) -> Vec<Value> {
    let reply = api.post("/v1/events/batch", json!({ "events": events })).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    reply.body["data"].as_array().expect("a result per event").clone()
}

fn statuses(results: &[Value]) -> Vec<&str> {
    results.iter().map(|r| r["status"].as_str().unwrap_or("")).collect()
}

fn paid(n: u32) -> Value {
    json!({"type": "bill.paid", "data": {"n": n}})
}

fn paid_with_key(n: u32, key: &str) -> Value {
    json!({"type": "bill.paid", "data": {"n": n}, "idempotency_key": key})
}

#[tokio::test]
async fn a_mixed_batch_is_answered_in_order_and_only_committed_events_are_delivered_once_each() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let created = api.post("/v1/endpoints", json!({"url": receiver.url, "event_types": ["bill.paid"]})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let endpoint = created.body["id"].as_str().unwrap().to_owned();
    let earlier = api.post("/v1/events", paid_with_key(0, "order-0")).await;
    assert_eq!(earlier.status, 202, "{}", earlier.body);
    let earlier_id = earlier.body["id"].as_str().unwrap().to_owned();

    let results = batch(
        &api,
        vec![
            paid(1),
            paid_with_key(2, "order-0"),
            paid_with_key(3, "order-3"),
            paid_with_key(4, "order-3"),
            json!({"type": "bill.void", "data": {"n": 5}}),
            json!({"type": "bill.paid", "data": [6], "idempotency_key": "order-6"}),
            json!({"type": "bill.paid", "data": {"n": 7}, "colour": "red"}),
            paid(8),
        ],
    )
    .await;

    assert_eq!(
        statuses(&results),
        ["committed", "duplicate", "committed", "duplicate", "refused", "refused", "refused", "committed"]
    );
    assert_eq!(results[1]["id"], earlier_id.as_str(), "a duplicate of the earlier publish");
    assert_eq!(results[3]["id"], results[2]["id"], "a duplicate of the item before it in the batch");
    let codes: Vec<&str> = results[4..7].iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["unknown_event_type", "invalid_data", "unknown_field"]);
    assert!(results[4]["detail"].as_str().unwrap().contains("bill.void"), "{}", results[4]);

    let counted = stack.anonymous().get("/_dev/aws-requests").await;
    assert!(
        counted.body["DynamoDB.BatchWriteItem"].as_u64() >= Some(1),
        "keyless events go in one request: {}",
        counted.body
    );

    // Each committed event, and the earlier publish, reach the receiver once.
    let committed: BTreeSet<String> = [&results[0], &results[2], &results[7]]
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .chain([earlier_id])
        .collect();
    assert_eq!(committed.len(), 4, "committed events have ids of their own");
    eventually("every committed event delivered", WAIT, || async {
        let list = api.get(&format!("/v1/endpoints/{endpoint}/deliveries")).await;
        let data = list.body["data"].as_array()?.clone();
        (data.len() == committed.len() && data.iter().all(|d| d["status"] == "delivered")).then_some(())
    })
    .await;
    let got = receiver.received();
    let delivered: Vec<String> = got.iter().map(|r| r.json()["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(delivered.len(), committed.len(), "one request per committed event: {delivered:?}");
    assert_eq!(delivered.into_iter().collect::<BTreeSet<_>>(), committed);
    let data: BTreeSet<u64> = got.iter().map(|r| r.json()["data"]["n"].as_u64().unwrap()).collect();
    assert_eq!(data, BTreeSet::from([0, 1, 3, 8]), "the first item of a repeated key is the one delivered");

    // A refused item changed nothing: its key is still free.
    let again = batch(&api, vec![paid_with_key(6, "order-6")]).await;
    assert_eq!(statuses(&again), ["committed"], "{again:?}");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_batch_of_more_than_a_hundred_events_is_refused_whole() {
    let stack = Stack::start().await;
    let api = stack.admin();
    let mut events: Vec<Value> = (0..100).map(paid).collect();
    events.push(paid_with_key(100, "the-101st"));
    let refused = api.post("/v1/events/batch", json!({ "events": events })).await;
    assert_eq!((refused.status, refused.code()), (422, "too_many_events"), "{}", refused.body);
    assert!(refused.body["detail"].as_str().unwrap().contains("100"), "{}", refused.body);
    let unused = batch(&api, vec![paid_with_key(100, "the-101st")]).await;
    assert_eq!(statuses(&unused), ["committed"], "nothing of the refused batch was published");

    let empty = api.post("/v1/events/batch", json!({"events": []})).await;
    assert_eq!((empty.status, empty.code()), (422, "empty_batch"), "{}", empty.body);

    let blob = "x".repeat(250 * 1024);
    let heavy: Vec<Value> = (0..12).map(|n| json!({"type": "bill.paid", "data": {"n": n, "blob": blob}})).collect();
    let too_big = api.post("/v1/events/batch", json!({ "events": heavy })).await;
    assert_eq!((too_big.status, too_big.code()), (413, "payload_too_large"), "{}", too_big.body);
    assert!(too_big.body["detail"].as_str().unwrap().contains("smaller batches"), "{}", too_big.body);
    stack.platform.shutdown().await;
}

fn jsonl(events: &[Value]) -> String {
    events.iter().map(|e| format!("{e}\n")).collect()
}

#[tokio::test]
async fn the_cli_publishes_a_jsonl_file_in_batches_and_reports_each_line() {
    let stack = Stack::start().await;
    let dir = std::env::temp_dir().join(format!("hookline-batch-{}", stack.platform.stack));
    std::fs::create_dir_all(&dir).unwrap();

    // 150 events: two requests; line 2 repeats line 1's key.
    let mut events: Vec<Value> = (1..=150).map(paid).collect();
    events[0] = paid_with_key(1, "cli-1");
    events[1] = paid_with_key(2, "cli-1");
    let file = dir.join("events.jsonl");
    std::fs::write(&file, jsonl(&events)).unwrap();
    let run = stack.cli_as_admin(&["--json", "events", "publish", "--file", file.to_str().unwrap()]).await;
    assert!(run.success, "{}", run.stderr);
    let results = run.json()["data"].as_array().unwrap().clone();
    assert_eq!(results.len(), 150);
    let lines: Vec<u64> = results.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, (1..=150).collect::<Vec<u64>>(), "a result per line, in file order");
    assert_eq!((&results[0]["status"], &results[1]["status"]), (&json!("committed"), &json!("duplicate")));
    assert_eq!(results[1]["id"], results[0]["id"]);
    assert!(results[2..].iter().all(|r| r["status"] == "committed"), "{results:?}");

    // A line the API refuses is reported by its number (blank lines count)
    // and fails the command; the rest publish.
    let file = dir.join("mixed.jsonl");
    std::fs::write(&file, format!("{}\n\n{}", paid(1), jsonl(&[json!({"type": "bill.void", "data": {}}), paid(3)])))
        .unwrap();
    let run = stack.cli_as_admin(&["events", "publish", "--file", file.to_str().unwrap()]).await;
    assert!(!run.success, "{}", run.stdout);
    assert_eq!(run.stderr.trim(), "hookline: 1 of 3 events refused (line 3); the others were published");
    let row = run.stdout.lines().find(|l| l.starts_with("3 ")).unwrap_or_default();
    assert!(row.contains("refused") && row.contains("unknown_event_type"), "{}", run.stdout);
    assert!(run.stdout.contains("2 committed, 0 duplicate, 1 refused."), "{}", run.stdout);

    // `-` reads the lines from stdin.
    let mut child = tokio::process::Command::new(hookline_tests::hookline_binary())
        .args(["events", "publish", "--file", "-", "--api-url", &stack.platform.url])
        .args(["--api-key", &stack.platform.admin_key])
        .env("HOOKLINE_STATE_DIR", &dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(jsonl(&[paid(1), paid(2)]).as_bytes()).await.unwrap();
    drop(stdin);
    let piped = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&piped.stdout);
    assert!(piped.status.success() && stdout.contains("2 committed, 0 duplicate, 0 refused."), "{stdout}");
    std::fs::remove_dir_all(&dir).ok();
    stack.platform.shutdown().await;
}
