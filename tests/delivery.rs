//! The delivery engine end to end on the local stack: publish, fan-out,
//! signed delivery to a local receiver, retries, the circuit breaker, SSRF
//! at connect time, redaction and exactly-once fan-out.

use std::time::Duration;

use hmac::{Hmac, Mac};
use hookline_tests::receiver::{Receiver, Reply};
use hookline_tests::{delivery_options, eventually, Api, Stack};
use serde_json::{json, Value};
use sha2::Sha256;
use shared::signature::verify_standard;

const WAIT: Duration = Duration::from_secs(40);

async fn endpoint(api: &Api, url: &str, extra: Value) -> (String, String) {
    let mut body = json!({"url": url, "event_types": ["bill.paid"]});
    body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    let reply = api.post("/v1/endpoints", body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    (reply.body["id"].as_str().unwrap().to_owned(), reply.body["secret"].as_str().unwrap().to_owned())
}

async fn publish(api: &Api, data: Value) -> String {
    let reply = api.post("/v1/events", json!({"type": "bill.paid", "data": data})).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// The delivery of one event to one endpoint, once it reaches `status`.
async fn delivery_with_status(api: &Api, endpoint_id: &str, status: &str) -> Value {
    eventually(&format!("a {status} delivery"), WAIT, || async {
        let list = api.get(&format!("/v1/endpoints/{endpoint_id}/deliveries")).await;
        let found = list.body["data"].as_array()?.iter().find(|d| d["status"] == status)?.clone();
        Some(api.get(&format!("/v1/deliveries/{}", found["id"].as_str()?)).await.body)
    })
    .await
}

/// Seed 000's PHP check, step by step: `'sha256=' . hash_hmac('sha256', $timestamp . '.' . $payload, $secret)`.
fn php_style_hms(secret: &str, timestamp: &str, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_published_event_reaches_the_receiver_signed_both_ways() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let (ep, secret) =
        endpoint(&api, &receiver.url, json!({"legacy_signature": true, "headers": {"X-Tenant": "clinic-7"}})).await;
    let event_id = publish(&api, json!({"invoice": "INV-1", "amount": 1200})).await;

    let got = receiver.wait_for(1, WAIT).await;
    let request = &got[0];
    let body = request.body.clone();
    let timestamp = request.header("x-hms-timestamp");
    assert_eq!(
        request.header("x-hms-signature"),
        php_style_hms(&secret, timestamp, &body),
        "seed 000's PHP check passes"
    );
    let now = chrono::Utc::now().timestamp();
    assert!((now - timestamp.parse::<i64>().unwrap()).abs() <= 300, "inside the 5-minute tolerance");
    let id = request.header("webhook-id");
    verify_standard(
        &secret,
        id,
        request.header("webhook-timestamp"),
        request.header("webhook-signature"),
        body.as_bytes(),
        now,
        300,
    )
    .expect("the Standard Webhooks signature verifies");
    let mut legacy = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    legacy.update(body.as_bytes());
    assert_eq!(request.header("x-signature"), format!("sha256={}", hex::encode(legacy.finalize().into_bytes())));

    let envelope = request.json();
    assert_eq!(envelope["id"], event_id.as_str());
    assert_eq!(envelope["type"], "bill.paid");
    assert_eq!(envelope["data"], json!({"invoice": "INV-1", "amount": 1200}));
    assert_eq!(envelope["metadata"]["endpoint_id"], ep.as_str());
    assert_eq!(envelope["metadata"]["delivery_id"], id);
    assert_eq!(request.header("x-delivery-id"), id);
    assert_eq!(request.header("x-event-type"), "bill.paid");
    assert_eq!(request.header("x-correlation-id"), envelope["metadata"]["correlation_id"].as_str().unwrap());
    assert!(request.header("user-agent").starts_with("Hookline/"));
    assert_eq!(request.header("x-tenant"), "clinic-7", "custom headers are sent");

    let delivery = delivery_with_status(&api, &ep, "delivered").await;
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["attempt_log"][0]["status_code"], 200);
    assert_eq!(delivery["event_id"], event_id.as_str());
    let counted = stack.anonymous().get("/_dev/aws-requests").await;
    assert!(counted.body["DynamoDB.PutItem"].as_u64().unwrap() >= 1, "{}", counted.body);
    assert!(counted.body["SQS.SendMessageBatch"].as_u64().unwrap() >= 1, "{}", counted.body);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn retries_503_twice_then_delivers_on_attempt_three_with_growing_delays() {
    let stack = Stack::start_with(delivery_options(0.05)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    receiver.script(vec![Reply::status(503), Reply::status(503)]);
    let (ep, _) = endpoint(&api, &receiver.url, json!({})).await;
    publish(&api, json!({"n": 1})).await;
    let got = receiver.wait_for(3, WAIT).await;
    let (first_gap, second_gap) = (got[1].at - got[0].at, got[2].at - got[1].at);
    assert!(second_gap > first_gap, "delays grow: {first_gap:?} then {second_gap:?}");
    let ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "webhook-id is stable across retries");
    let delivery = delivery_with_status(&api, &ep, "delivered").await;
    assert_eq!(delivery["attempts"], 3);
    let codes: Vec<u64> =
        delivery["attempt_log"].as_array().unwrap().iter().map(|a| a["status_code"].as_u64().unwrap()).collect();
    assert_eq!(codes, [503, 503, 200]);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_404_fails_after_exactly_one_attempt_and_a_manual_retry_delivers() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    receiver.script(vec![Reply::status(404)]);
    let (ep, _) = endpoint(&api, &receiver.url, json!({})).await;
    publish(&api, json!({"n": 1})).await;
    let failed = delivery_with_status(&api, &ep, "failed").await;
    assert_eq!(failed["attempts"], 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 1, "a permanent failure is not retried");

    let retried = api.post(&format!("/v1/deliveries/{}/retry", failed["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(retried.status, 202, "{}", retried.body);
    let delivered = delivery_with_status(&api, &ep, "delivered").await;
    assert_eq!(delivered["attempts"], 2);
    assert_eq!(delivered["attempt_log"][1]["manual"], true);
    let again = api.post(&format!("/v1/deliveries/{}/retry", failed["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(again.status, 202, "a delivered one can be sent again");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_429_with_retry_after_is_respected() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    receiver.script(vec![Reply::status(429).header("Retry-After", "3")]);
    let (ep, _) = endpoint(&api, &receiver.url, json!({})).await;
    publish(&api, json!({"n": 1})).await;
    let got = receiver.wait_for(2, WAIT).await;
    assert!(got[1].at - got[0].at >= Duration::from_millis(2900), "waited {:?}", got[1].at - got[0].at);
    let delivery = delivery_with_status(&api, &ep, "delivered").await;
    assert_eq!(delivery["attempt_log"][0]["status_code"], 429);
    assert_eq!(delivery["attempt_log"][0]["response_headers"]["retry-after"], "3");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_hung_receiver_times_out_and_is_retried() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    receiver.script(vec![Reply::status(200).after(Duration::from_secs(4))]);
    let (ep, _) = endpoint(&api, &receiver.url, json!({"timeout_seconds": 1})).await;
    publish(&api, json!({"n": 1})).await;
    receiver.wait_for(2, WAIT).await;
    let delivery = delivery_with_status(&api, &ep, "delivered").await;
    assert_eq!(delivery["attempt_log"][0]["error_kind"], "timeout");
    assert_eq!(delivery["attempt_log"][0]["outcome"], "retry_scheduled");
    assert_eq!(delivery["attempts"], 2);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn fifteen_straight_failures_pause_the_endpoint_and_enable_delivers_what_was_parked() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    receiver.answer_by_default(Reply::status(500));
    let watcher = Receiver::start().await;
    let watch = api.post("/v1/endpoints", json!({"url": watcher.url, "event_types": ["endpoint.paused"]})).await;
    assert_eq!(watch.status, 201);
    let (ep, _) = endpoint(&api, &receiver.url, json!({"retry_policy": "none"})).await;
    for n in 0..15 {
        publish(&api, json!({"n": n})).await;
    }
    let paused = eventually("the endpoint to pause", WAIT, || async {
        let e = api.get(&format!("/v1/endpoints/{ep}")).await;
        (e.body["status"] == "paused").then_some(e.body)
    })
    .await;
    assert!(paused["status_reason"].as_str().unwrap().contains("15 consecutive"), "{paused}");
    let notice = watcher.wait_for(1, WAIT).await;
    assert_eq!(notice[0].json()["type"], "endpoint.paused");
    assert_eq!(notice[0].json()["data"]["endpoint_id"], ep.as_str());

    receiver.answer_by_default(Reply::status(200));
    let before = receiver.received().len();
    publish(&api, json!({"n": "after pause"})).await;
    let parked = delivery_with_status(&api, &ep, "parked").await;
    assert_eq!(parked["attempts"], 0);
    assert_eq!(receiver.received().len(), before, "a paused endpoint gets no request");

    let enabled = api.post(&format!("/v1/endpoints/{ep}/enable"), json!({})).await;
    assert_eq!(enabled.body["status"], "active");
    let got = receiver.wait_for(before + 1, WAIT).await;
    assert_eq!(got.last().unwrap().json()["data"]["n"], "after pause");
    eventually("the parked delivery to be delivered", WAIT, || async {
        let d = api.get(&format!("/v1/deliveries/{}", parked["id"].as_str().unwrap())).await;
        (d.body["status"] == "delivered").then_some(())
    })
    .await;
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn enable_resumes_every_parked_delivery_page_after_page() {
    use shared::delivery::DeliveryStatus;
    use shared::ops::resume::RESUME_PAGE;

    let mut opts = delivery_options(0.01);
    opts.parameters.insert("MaxConsecutiveFailures".into(), "1".into());
    let stack = Stack::start_with(opts).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    receiver.answer_by_default(Reply::status(500));
    let (ep, _) = endpoint(&api, &receiver.url, json!({"retry_policy": "none"})).await;
    publish(&api, json!({"n": "trips the breaker"})).await;
    eventually("the endpoint to pause", WAIT, || async {
        (api.get(&format!("/v1/endpoints/{ep}")).await.body["status"] == "paused").then_some(())
    })
    .await;
    receiver.answer_by_default(Reply::status(200));
    let before = receiver.received().len();
    let n = RESUME_PAGE + 15;
    for chunk in (0..n).collect::<Vec<_>>().chunks(25) {
        futures_util::future::join_all(chunk.iter().map(|i| publish(&api, json!({"n": i})))).await;
    }
    let (db, tenant, endpoint_id) = (stack.db(), shared::ids::TenantId::default_tenant(), ep.parse().unwrap());
    let count = |status: DeliveryStatus| {
        let (db, tenant, endpoint_id) = (&db, &tenant, &endpoint_id);
        async move {
            let all = db.list_deliveries(tenant, endpoint_id, 0, None, usize::MAX, |_| true).await.unwrap();
            all.iter().filter(|d| d.status == status).count()
        }
    };
    eventually("every delivery to be parked", Duration::from_secs(120), || async {
        (count(DeliveryStatus::Parked).await == n).then_some(())
    })
    .await;
    assert_eq!(receiver.received().len(), before, "a paused endpoint gets no request");

    let enabled = api.post(&format!("/v1/endpoints/{ep}/enable"), json!({})).await;
    assert_eq!((enabled.status, &enabled.body["status"]), (200, &json!("active")));
    let got = receiver.wait_for(before + n, Duration::from_secs(120)).await;
    let mut numbers: Vec<u64> = got[before..].iter().map(|r| r.json()["data"]["n"].as_u64().unwrap()).collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), n, "every parked event arrives");
    eventually("every delivery to be delivered", WAIT, || async {
        (count(DeliveryStatus::Delivered).await == n).then_some(())
    })
    .await;
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn internal_targets_are_refused_at_registration_and_names_again_at_connect_time() {
    let stack = Stack::start_with(hookline_tests::options()).await;
    let api = stack.admin();
    for url in ["http://localhost:8080/", "http://169.254.169.254/", "http://[::ffff:127.0.0.1]/", "http://2130706433/"]
    {
        let reply = api.post("/v1/endpoints", json!({"url": url, "event_types": ["bill.paid"]})).await;
        assert_eq!(reply.code(), "forbidden_target", "{url}: {}", reply.body);
    }
    // Registered while the name pointed outside; then its DNS is changed to
    // point at this machine (here: the stored URL is re-pointed directly).
    let receiver = Receiver::start().await;
    let (ep, _) = endpoint(&api, "https://hooks.example.com/in", json!({})).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.platform.sdk);
    dynamodb
        .update_item()
        .table_name(stack.platform.resource("EndpointsTable").unwrap())
        .key("tenant_id", aws_sdk_dynamodb::types::AttributeValue::S("default".into()))
        .key("endpoint_id", aws_sdk_dynamodb::types::AttributeValue::S(ep.clone()))
        .update_expression("SET #u = :u")
        .expression_attribute_names("#u", "url")
        .expression_attribute_values(
            ":u",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("http://localhost:{}/hook", receiver.port)),
        )
        .send()
        .await
        .unwrap();
    publish(&api, json!({"n": 1})).await;
    let failed = delivery_with_status(&api, &ep, "failed").await;
    assert_eq!(failed["attempt_log"][0]["error_kind"], "forbidden_target");
    assert!(receiver.received().is_empty(), "nothing reached the internal address");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn stored_attempts_hold_no_unmasked_patient_identifiers() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let echo = r#"{"error": "patient 2345 6789 0123 (PAN ABCDE1234F, phone +91 98765 43210) rejected"}"#;
    receiver.answer_by_default(Reply::status(400).body(echo).header("content-type", "application/json"));
    let (ep, _) = endpoint(&api, &receiver.url, json!({})).await;
    publish(
        &api,
        json!({"aadhaar": "234567890123", "pan": "ABCDE1234F", "phone": "9876543210", "note": "call 9876543210"}),
    )
    .await;
    let failed = delivery_with_status(&api, &ep, "failed").await;
    let shown = failed.to_string();
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.platform.sdk);
    let stored = dynamodb.scan().table_name(stack.platform.resource("DeliveriesTable").unwrap()).send().await.unwrap();
    let raw = format!("{:?}", stored.items.unwrap());
    for identifier in ["2345 6789 0123", "234567890123", "ABCDE1234F", "98765 43210", "9876543210"] {
        assert!(!raw.contains(identifier), "{identifier} is stored unmasked: {raw}");
        assert!(!shown.contains(identifier), "{identifier} is shown unmasked: {shown}");
    }
    assert!(raw.contains("0123"), "the masked form keeps the last four digits");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn an_idempotency_key_and_a_replayed_stream_record_each_yield_one_delivery() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let (ep, _) = endpoint(&api, &receiver.url, json!({})).await;
    let body = json!({"type": "bill.paid", "data": {"invoice": "INV-9"}, "idempotency_key": "bill-INV-9"});
    let first = api.post("/v1/events", body.clone()).await;
    let second = api.post("/v1/events", body).await;
    assert_eq!((first.status, second.status), (202, 202));
    assert!(first.body["id"].is_string());
    assert_eq!(first.body["id"], second.body["id"], "the same key gives the same event");
    receiver.wait_for(1, WAIT).await;
    delivery_with_status(&api, &ep, "delivered").await;

    // Replay the event's stream record through the fan-out function.
    let fanout = stack.fanout_state();
    let tenant: shared::ids::TenantId = "default".parse().unwrap();
    let event_id = first.body["id"].as_str().unwrap().parse().unwrap();
    let outbox = fanout.db.get_event(&tenant, &event_id, true).await.unwrap().unwrap();
    assert_eq!(outbox_fanout::fan_out(&fanout, &outbox).await.unwrap(), 0, "a replay enqueues nothing");

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 1, "exactly one request reached the receiver");
    let list = api.get(&format!("/v1/endpoints/{ep}/deliveries")).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn filters_choose_endpoints_and_bulk_retry_and_test_events_work() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let karnataka = Receiver::start().await;
    let everyone = Receiver::start().await;
    let filter = json!({"filters": [{"pointer": "/region", "equals": "IN-KA"}]});
    let (ka, _) = endpoint(&api, &karnataka.url, filter).await;
    let (all, _) = endpoint(&api, &everyone.url, json!({})).await;
    everyone.script(vec![Reply::status(404), Reply::status(404)]);
    publish(&api, json!({"region": "IN-KA"})).await;
    publish(&api, json!({"region": "IN-MH"})).await;
    everyone.wait_for(2, WAIT).await;
    karnataka.wait_for(1, WAIT).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(karnataka.received().len(), 1, "the filter let one event through");
    assert_eq!(karnataka.received()[0].json()["data"]["region"], "IN-KA");

    eventually("two failed deliveries", WAIT, || async {
        let list = api.get(&format!("/v1/endpoints/{all}/deliveries?status=failed")).await;
        (list.body["data"].as_array()?.len() == 2).then_some(())
    })
    .await;
    let bulk = api.post("/v1/deliveries/retry", json!({"status": "failed"})).await;
    assert_eq!((bulk.status, &bulk.body["queued"]), (202, &json!(2)), "{}", bulk.body);
    everyone.wait_for(4, WAIT).await;

    let test = api.post(&format!("/v1/endpoints/{ka}/test"), json!({})).await;
    assert_eq!(test.status, 202, "{}", test.body);
    let got = karnataka.wait_for(2, WAIT).await;
    assert_eq!(got[1].json()["type"], "endpoint.test");
    assert_eq!(got[1].header("webhook-id"), test.body["delivery_id"].as_str().unwrap());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(everyone.received().len(), 4, "a test event goes to its endpoint only");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn exhausted_retries_and_a_410_are_announced_as_operational_events() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let watcher = Receiver::start().await;
    let watch = api
        .post("/v1/endpoints", json!({"url": watcher.url, "event_types": ["delivery.exhausted", "endpoint.disabled"]}))
        .await;
    assert_eq!(watch.status, 201);
    let flaky = Receiver::start().await;
    flaky.answer_by_default(Reply::status(502));
    let (flaky_ep, _) = endpoint(&api, &flaky.url, json!({"max_retries": 1})).await;
    let gone = Receiver::start().await;
    gone.answer_by_default(Reply::status(410));
    let (gone_ep, _) = endpoint(&api, &gone.url, json!({})).await;
    publish(&api, json!({"n": 1})).await;

    let notices = watcher.wait_for(2, WAIT).await;
    let kinds: Vec<String> = notices.iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
    assert!(
        kinds.contains(&"delivery.exhausted".to_owned()) && kinds.contains(&"endpoint.disabled".to_owned()),
        "{kinds:?}"
    );
    let exhausted = notices.iter().map(|r| r.json()).find(|e| e["type"] == "delivery.exhausted").unwrap();
    assert_eq!(exhausted["data"]["endpoint_id"], flaky_ep.as_str());
    assert_eq!(exhausted["data"]["attempts"], 2, "the first attempt and one retry");
    assert_eq!(flaky.received().len(), 2);
    let disabled = api.get(&format!("/v1/endpoints/{gone_ep}")).await;
    assert_eq!(disabled.body["status"], "disabled");
    assert!(disabled.body["status_reason"].as_str().unwrap().contains("410"));
    assert_eq!(gone.received().len(), 1, "410 is not retried");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn one_event_fans_out_to_hundreds_of_endpoints_once_each() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    const ENDPOINTS: usize = 300;
    for chunk in 0..ENDPOINTS / 25 {
        let creations = (0..25).map(|i| {
            let api = api.clone();
            let url = format!("{}?n={}", receiver.url, chunk * 25 + i);
            async move { endpoint(&api, &url, json!({})).await }
        });
        futures_util::future::join_all(creations).await;
    }
    publish(&api, json!({"n": 1})).await;
    let got = receiver.wait_for(ENDPOINTS, Duration::from_secs(120)).await;
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), ENDPOINTS, "every endpoint got its own delivery");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.received().len(), ENDPOINTS, "and only one");
    stack.platform.shutdown().await;
}
