//! `hookline dev` wires every event source kind the template uses, with
//! Lambda's semantics: SQS batches and partial failures, stream order and
//! retries, schedules on demand, HttpApi routes as gateway events.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookline::dev::functions::Handler;
use hookline::dev::template::Template;
use hookline_tests::{options, project_template, Stack};
use lambda_http::RequestExt;
use serde_json::{json, Value};

type Log = Arc<Mutex<Vec<Value>>>;

fn recorder(log: &Log, answer: impl Fn(&Value) -> Value + Send + Sync + 'static) -> Handler {
    let log = log.clone();
    let answer = Arc::new(answer);
    Handler::Event(Arc::new(move |event: Value| {
        let log = log.clone();
        let answer = answer.clone();
        Box::pin(async move {
            let reply = answer(&event);
            log.lock().unwrap().push(event);
            Ok(reply)
        })
    }))
}

async fn probe_stack(handlers: BTreeMap<String, Handler>) -> Stack {
    let mut opts = options();
    opts.template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/probe-template.yaml");
    opts.handlers = handlers;
    Stack::start_with(opts).await
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(45);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn bodies(log: &Log) -> Vec<String> {
    log.lock()
        .unwrap()
        .iter()
        .flat_map(|e| e["Records"].as_array().unwrap().iter().map(|r| r["body"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn sqs_batches_hold_at_most_ten_and_reported_failures_retry_then_dead_letter() {
    let log: Log = Arc::default();
    // Report the poison message as failed every time; the rest succeed.
    let handler = recorder(&log, |event| {
        let failed: Vec<Value> = event["Records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["body"] == "poison")
            .map(|r| json!({"itemIdentifier": r["messageId"]}))
            .collect();
        json!({"batchItemFailures": failed})
    });
    let stack = probe_stack(BTreeMap::from([("probe-queue".to_owned(), handler)])).await;
    let sqs = aws_sdk_sqs::Client::new(&stack.platform.sdk);
    let queue = stack.platform.resource("WorkQueue").unwrap().to_owned();
    for i in 0..25 {
        let body = if i == 7 { "poison".to_owned() } else { format!("m{i}") };
        sqs.send_message().queue_url(&queue).message_body(body).send().await.unwrap();
    }
    eventually("24 good messages and two tries of the poison one", || {
        let seen = bodies(&log);
        seen.iter().filter(|b| *b != "poison").count() >= 24 && seen.iter().filter(|b| *b == "poison").count() >= 2
    })
    .await;
    let dlq = stack.platform.resource("WorkDeadLetterQueue").unwrap().to_owned();
    let mut dead = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while dead.is_empty() && Instant::now() < deadline {
        let got = sqs.receive_message().queue_url(&dlq).wait_time_seconds(1).send().await.unwrap();
        dead.extend(got.messages.unwrap_or_default().into_iter().filter_map(|m| m.body));
    }
    assert_eq!(dead, vec!["poison".to_owned()], "the poison message ends in the dead-letter queue");
    let seen = bodies(&log);
    let mut good: Vec<&String> = seen.iter().filter(|b| *b != "poison").collect();
    good.sort();
    good.dedup();
    assert_eq!(good.len(), 24);
    assert_eq!(
        seen.iter().filter(|b| *b != "poison").count(),
        24,
        "messages that succeeded were deleted, not redelivered"
    );
    let batch_sizes: Vec<usize> = log.lock().unwrap().iter().map(|e| e["Records"].as_array().unwrap().len()).collect();
    assert!(batch_sizes.iter().all(|n| (1..=10).contains(n)), "{batch_sizes:?}");
    let record = log.lock().unwrap()[0]["Records"][0].clone();
    assert_eq!(record["eventSource"], "aws:sqs");
    assert!(record["eventSourceARN"].as_str().unwrap().starts_with("arn:aws:sqs:"));
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn stream_records_arrive_in_order_and_a_failed_record_is_retried_from_where_it_failed() {
    let log: Log = Arc::default();
    let failed_once = Arc::new(Mutex::new(false));
    let handler = {
        let failed_once = failed_once.clone();
        recorder(&log, move |event| {
            let records = event["Records"].as_array().unwrap();
            let third = records.iter().find(|r| r["dynamodb"]["Keys"]["pk"]["S"] == "3");
            let mut once = failed_once.lock().unwrap();
            match third {
                Some(r) if !*once => {
                    *once = true;
                    json!({"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]}]})
                }
                _ => json!({"batchItemFailures": []}),
            }
        })
    };
    let stack = probe_stack(BTreeMap::from([("probe-stream".to_owned(), handler)])).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.platform.sdk);
    let table = stack.platform.resource("LedgerTable").unwrap().to_owned();
    for i in 1..=5 {
        dynamodb
            .put_item()
            .table_name(&table)
            .item("pk", aws_sdk_dynamodb::types::AttributeValue::S(i.to_string()))
            .item("amount", aws_sdk_dynamodb::types::AttributeValue::N((i * 100).to_string()))
            .send()
            .await
            .unwrap();
    }
    let keys = || -> Vec<String> {
        log.lock()
            .unwrap()
            .iter()
            .flat_map(|e| {
                e["Records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["dynamodb"]["Keys"]["pk"]["S"].as_str().unwrap().to_owned())
            })
            .collect()
    };
    eventually("all five records, the third twice", || {
        let k = keys();
        k.iter().filter(|x| *x == "3").count() == 2 && k.contains(&"5".to_owned())
    })
    .await;
    let k = keys();
    let mut first_seen: Vec<&String> = Vec::new();
    for key in &k {
        if !first_seen.contains(&key) {
            first_seen.push(key);
        }
    }
    assert_eq!(first_seen, ["1", "2", "3", "4", "5"], "stream order is kept: {k:?}");
    assert_eq!(k.iter().filter(|x| *x == "1").count(), 1, "records before the failure are not redelivered: {k:?}");
    assert_eq!(k.iter().filter(|x| *x == "2").count(), 1, "{k:?}");
    let record = log.lock().unwrap()[0]["Records"][0].clone();
    assert_eq!(record["eventName"], "INSERT");
    assert_eq!(record["dynamodb"]["NewImage"]["amount"]["N"], "100");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_schedule_is_listed_and_fires_now_with_an_eventbridge_event() {
    let log: Log = Arc::default();
    let handler = recorder(&log, |_| json!({"summaries": 0}));
    let stack = probe_stack(BTreeMap::from([("probe-schedule".to_owned(), handler)])).await;
    let api = stack.anonymous();
    let listed = api.get("/_dev/schedules").await;
    assert_eq!(listed.body["data"][0]["name"], "Nightly.Midnight");
    assert!(listed.body["data"][0]["next"].as_str().unwrap().ends_with("T00:00:00+00:00"), "{}", listed.body);
    let fired = api.post("/_dev/schedules/Nightly.Midnight", json!({})).await;
    assert_eq!(fired.status, 200, "{}", fired.body);
    assert_eq!(fired.body["result"], json!({"summaries": 0}));
    let events = log.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail-type"], "Scheduled Event");
    assert_eq!(events[0]["source"], "aws.events");
    assert_eq!(api.post("/_dev/schedules/Nope.Never", json!({})).await.status, 404);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn http_routes_reach_the_function_as_api_gateway_requests() {
    let echo = Handler::Http(Arc::new(|req: lambda_http::Request| {
        Box::pin(async move {
            let name = req.path_parameters_ref().and_then(|p| p.first("name")).unwrap_or("").to_owned();
            let greeting =
                req.query_string_parameters_ref().and_then(|q| q.first("greeting")).unwrap_or("hello").to_owned();
            let body =
                json!({"message": format!("{greeting}, {name}"), "route": req.request_context_ref().map(|_| "v2")});
            lambda_http::Response::builder().status(200).body(lambda_http::Body::Text(body.to_string())).unwrap()
        })
    }));
    let stack = probe_stack(BTreeMap::from([("probe-http".to_owned(), echo)])).await;
    let reply = stack.anonymous().get("/hello/ada?greeting=namaste").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["message"], "namaste, ada");
    assert_eq!(reply.body["route"], "v2");
    assert_eq!(stack.anonymous().get("/hello").await.status, 404);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn the_project_template_creates_every_table_queue_and_secret() {
    let stack = Stack::start().await;
    let template = Template::load(&project_template()).unwrap();
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.platform.sdk);
    for (id, resource) in template.of_type("AWS::DynamoDB::Table") {
        let name = stack.platform.resource(id).unwrap_or_else(|| panic!("{id} was created"));
        let table = dynamodb.describe_table().table_name(name).send().await.unwrap().table.unwrap();
        let wants_stream = resource.properties.get("StreamSpecification").is_some();
        assert_eq!(table.latest_stream_arn.is_some(), wants_stream, "{id} stream");
        let gsis =
            resource.properties.get("GlobalSecondaryIndexes").and_then(|g| g.as_sequence()).map_or(0, |g| g.len());
        assert_eq!(table.global_secondary_indexes.map_or(0, |g| g.len()), gsis, "{id} indexes");
    }
    let sqs = aws_sdk_sqs::Client::new(&stack.platform.sdk);
    for (id, resource) in template.of_type("AWS::SQS::Queue") {
        let url = stack.platform.resource(id).unwrap_or_else(|| panic!("{id} was created"));
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let attrs = attrs.attributes.unwrap();
        let has_redrive = attrs.contains_key(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy);
        assert_eq!(has_redrive, resource.properties.get("RedrivePolicy").is_some(), "{id} redrive");
    }
    for (id, _) in template.of_type("AWS::SecretsManager::Secret") {
        assert!(stack.platform.resource(id).unwrap().starts_with("arn:aws:secretsmanager:"), "{id}");
    }
    let admin_env = &stack.platform.environments["AdminApiFunction"];
    assert_eq!(admin_env["HOOKLINE_SIGNATURE_HEADER_PREFIX"], "X-HMS");
    assert_eq!(admin_env["HOOKLINE_MAX_CONSECUTIVE_FAILURES"], "15");
    assert_eq!(admin_env["HOOKLINE_ENDPOINTS_TABLE"], stack.platform.resource("EndpointsTable").unwrap());
    stack.platform.shutdown().await;
}
