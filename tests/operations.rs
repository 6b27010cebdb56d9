//! Operations on the local stack: the daily summary, endpoint health and
//! pruning, fired through their schedules as EventBridge would.

use std::time::Duration;

use chrono::Utc;
use hookline_tests::receiver::{Receiver, Reply};
use hookline_tests::{delivery_options, eventually, Api, Stack};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(40);

async fn endpoint(api: &Api, url: &str, types: Value) -> String {
    let reply = api.post("/v1/endpoints", json!({"url": url, "event_types": types, "retry_policy": "none"})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn publish_n(api: &Api, n: usize) {
    for i in 0..n {
        let r = api.post("/v1/events", json!({"type": "bill.paid", "data": {"n": i}})).await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
}

/// Waits until an endpoint has `n` deliveries that are delivered or failed.
async fn settled(api: &Api, endpoint: &str, n: usize) {
    eventually("deliveries to settle", WAIT, || async {
        let list = api.get(&format!("/v1/endpoints/{endpoint}/deliveries?limit=250")).await;
        let done = list.body["data"]
            .as_array()?
            .iter()
            .filter(|d| d["status"] == "delivered" || d["status"] == "failed")
            .count();
        (done >= n).then_some(())
    })
    .await;
}

async fn fire(stack: &Stack, schedule: &str, input: Value) -> Value {
    let reply = stack.anonymous().post(&format!("/_dev/schedules/{schedule}"), input).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["result"].clone()
}

#[tokio::test]
async fn the_daily_summary_reaches_each_tenant_once_with_the_days_figures() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let clinic = stack.tenant("clinic").await;
    let lab = stack.tenant("lab").await;
    let receiver = Receiver::start().await;
    receiver.script(vec![Reply::status(404), Reply::status(404)]);
    let billing = endpoint(&clinic, &receiver.url, json!(["bill.paid"])).await;
    let clinic_watch = Receiver::start().await;
    endpoint(&clinic, &clinic_watch.url, json!(["system.daily.summary"])).await;
    let lab_watch = Receiver::start().await;
    endpoint(&lab, &lab_watch.url, json!(["system.daily.summary"])).await;
    publish_n(&clinic, 5).await;
    settled(&clinic, &billing, 5).await;

    let today = Utc::now().date_naive().to_string();
    // As the schedule fires at the next midnight (UTC, the template's default zone).
    let midnight = (Utc::now().date_naive() + chrono::Duration::days(1)).and_hms_opt(0, 0, 1).unwrap().and_utc();
    let time = midnight.to_rfc3339();
    let first = fire(&stack, "DailySummaryFunction.Midnight", json!({"time": time})).await;
    assert!(first["sent"].as_u64().unwrap() >= 2, "{first}");
    let summary = clinic_watch.wait_for(1, WAIT).await[0].json();
    assert_eq!(summary["type"], "system.daily.summary");
    let data = &summary["data"];
    assert_eq!(data["tenant_id"], "clinic");
    assert_eq!(data["date"], today.as_str());
    assert_eq!(data["events"]["total"], 5);
    assert_eq!(data["events"]["by_type"]["bill.paid"], 5);
    assert_eq!(data["deliveries"]["total"], 5);
    assert_eq!(data["deliveries"]["delivered"], 3);
    assert_eq!(data["deliveries"]["failed"], 2);
    assert_eq!(data["deliveries"]["success_rate"], 0.6);
    assert!(
        data["deliveries"]["latency_ms"]["p95"].as_u64().unwrap()
            >= data["deliveries"]["latency_ms"]["p50"].as_u64().unwrap()
    );
    let lab_summary = lab_watch.wait_for(1, WAIT).await[0].json();
    assert_eq!(lab_summary["data"]["tenant_id"], "lab");
    assert_eq!(lab_summary["data"]["events"]["total"], 0);

    let second = fire(&stack, "DailySummaryFunction.Midnight", json!({"date": today, "time": time})).await;
    assert_eq!(second["sent"], 0, "the same day is not sent twice: {second}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(clinic_watch.received().len(), 1);
    assert_eq!(lab_watch.received().len(), 1);
    let forced =
        fire(&stack, "DailySummaryFunction.Midnight", json!({"date": today, "time": time, "force": true})).await;
    assert!(forced["sent"].as_u64().unwrap() >= 2, "forcing sends again: {forced}");
    clinic_watch.wait_for(2, WAIT).await;
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn the_health_run_disables_an_endpoint_failing_nine_of_ten_but_not_five() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let bad = Receiver::start().await;
    bad.script((0..9).map(|_| Reply::status(404)).collect());
    let shaky = Receiver::start().await;
    shaky.script((0..10).map(|i| Reply::status(if i % 2 == 0 { 404 } else { 200 })).collect());
    let watcher = Receiver::start().await;
    let bad_ep = endpoint(&api, &bad.url, json!(["bill.paid"])).await;
    let shaky_ep = endpoint(&api, &shaky.url, json!(["bill.paid"])).await;
    endpoint(&api, &watcher.url, json!(["endpoint.disabled"])).await;
    publish_n(&api, 10).await;
    settled(&api, &bad_ep, 10).await;
    settled(&api, &shaky_ep, 10).await;

    let report = fire(&stack, "EndpointHealthFunction.EverySixHours", json!({})).await;
    assert_eq!(report["disabled"].as_array().unwrap().len(), 1, "{report}");
    let bad_now = api.get(&format!("/v1/endpoints/{bad_ep}")).await.body;
    assert_eq!(bad_now["status"], "disabled");
    assert!(bad_now["status_reason"].as_str().unwrap().contains("9 of 10"), "{bad_now}");
    assert_eq!(api.get(&format!("/v1/endpoints/{shaky_ep}")).await.body["status"], "active");
    let notice = watcher.wait_for(1, WAIT).await[0].json();
    assert_eq!(notice["type"], "endpoint.disabled");
    assert_eq!(notice["data"]["endpoint_id"], bad_ep.as_str());
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn stats_count_endpoints_and_deliveries() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    receiver.script(vec![Reply::status(404)]);
    let ep = endpoint(&api, &receiver.url, json!(["bill.paid"])).await;
    let other = endpoint(&api, &receiver.url, json!(["lab.*"])).await;
    api.post(&format!("/v1/endpoints/{other}/disable"), json!({})).await;
    publish_n(&api, 3).await;
    settled(&api, &ep, 3).await;
    let stats = api.get("/v1/stats").await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    assert_eq!(stats.body["endpoints"], json!({"total": 2, "active": 1, "paused": 0, "disabled": 1}));
    assert_eq!(stats.body["deliveries"]["total"], 3);
    assert_eq!(stats.body["deliveries"]["delivered"], 2);
    assert_eq!(stats.body["deliveries"]["failed"], 1);
    assert_eq!(api.get("/v1/stats?since=soon").await.code(), "invalid_query");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn the_health_run_fans_out_an_event_the_stream_never_did_and_only_once() {
    // The stream's fan-out is down for this whole stack.
    let mut opts = delivery_options(0.01);
    // Every event through the stream (the publish call's fast path would send the fresh one).
    opts.parameters.insert("FastPathMaxDeliveries".into(), "0".into());
    hookline_tests::without_stream_fanout(&mut opts);
    let stack = Stack::start_with(opts).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let ep = endpoint(&api, &receiver.url, json!(["bill.paid"])).await;
    let tenant = shared::ids::TenantId::default_tenant();
    // The endpoint existed before the event: only then is its missing
    // delivery evidence of a stalled fan-out.
    let id: shared::ids::EndpointId = ep.parse().unwrap();
    let mut record = stack.db().get_endpoint(&tenant, &id).await.unwrap().unwrap();
    let version = record.version;
    (record.created_at, record.updated_at) =
        (Utc::now() - chrono::Duration::minutes(20), Utc::now() - chrono::Duration::minutes(20));
    record.version += 1;
    stack.db().replace_endpoint(&record, version).await.unwrap();
    let ten_minutes_ago = (Utc::now() - chrono::Duration::minutes(10)).timestamp_millis() as u64;
    let new = shared::event::NewEvent {
        event_type: "bill.paid".into(),
        payload: json!({"bill": "BL-7", "note": "x".repeat(600)}).to_string(),
        idempotency_key: None,
        correlation_id: None,
        only_endpoint: None,
    };
    let mut stuck = shared::event::OutboxRecord::new(&tenant, new, 30);
    stuck.event_id = shared::ids::EventId::generate_at(ten_minutes_ago);
    stuck.created_at = chrono::DateTime::from_timestamp_millis(ten_minutes_ago as i64).unwrap();
    stack.db().publish(&stuck).await.unwrap();
    // A fresh event is still the stream's to fan out, not the sweeper's.
    publish_n(&api, 1).await;

    let report = fire(&stack, "EndpointHealthFunction.EverySixHours", json!({})).await;
    assert_eq!(report["stuck_events"], 1, "{report}");
    assert_eq!(report["redispatched_deliveries"], 1, "{report}");
    let got = receiver.wait_for(1, WAIT).await;
    let delivered = got[0].json();
    assert_eq!(delivered["id"], stuck.event_id.as_str());
    assert_eq!(delivered["data"]["bill"], "BL-7", "the payload stored deflated arrives whole");

    let again = fire(&stack, "EndpointHealthFunction.EverySixHours", json!({})).await;
    assert_eq!(again["stuck_events"], 0, "a swept event has its delivery now: {again}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 1, "nothing is sent twice");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn stats_by_the_hour_and_for_one_endpoint_stay_within_the_tenant() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let clinic = stack.tenant("clinic").await;
    let lab = stack.tenant("lab").await;
    let receiver = Receiver::start().await;
    receiver.script(vec![Reply::status(404)]);
    let billing = endpoint(&clinic, &receiver.url, json!(["bill.paid"])).await;
    let quiet = endpoint(&clinic, &receiver.url, json!(["lab.*"])).await;
    let lab_ep = endpoint(&lab, &receiver.url, json!(["bill.paid"])).await;
    publish_n(&clinic, 3).await;
    settled(&clinic, &billing, 3).await;

    let all = clinic.get("/v1/stats").await;
    assert_eq!(all.status, 200, "{}", all.body);
    let hours = all.body["hourly"].as_array().unwrap();
    let (delivered, failed): (u64, u64) = hours
        .iter()
        .fold((0, 0), |(d, f), h| (d + h["delivered"].as_u64().unwrap(), f + h["failed"].as_u64().unwrap()));
    assert_eq!((delivered, failed), (2, 1), "the hours add up to the totals: {}", all.body);
    let this_hour = Utc::now().format("%Y-%m-%dT%H:00:00Z").to_string();
    assert!(hours.iter().any(|h| h["hour"] == this_hour.as_str()), "{this_hour} in {}", all.body);

    let one = clinic.get(&format!("/v1/stats?endpoint_id={quiet}")).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["endpoint_id"], quiet.as_str());
    assert_eq!(one.body["endpoints"]["total"], 1);
    assert_eq!(one.body["deliveries"]["total"], 0);
    assert_eq!(one.body["hourly"], json!([]));
    let billing_only = clinic.get(&format!("/v1/stats?endpoint_id={billing}")).await;
    assert_eq!(billing_only.body["deliveries"]["total"], 3);

    assert_eq!(clinic.get(&format!("/v1/stats?endpoint_id={lab_ep}")).await.status, 404, "another tenant's endpoint");
    assert_eq!(clinic.get("/v1/stats?endpoint_id=nonsense").await.status, 404);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn expired_log_rows_are_removed_by_ttl_and_the_rest_stay() {
    let mut opts = delivery_options(0.01);
    opts.ttl_sweep = Duration::from_millis(500);
    let stack = Stack::start_with(opts).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let ep = endpoint(&api, &receiver.url, json!(["bill.paid"])).await;
    publish_n(&api, 2).await;
    let page = eventually("two delivered", WAIT, || async {
        let page = api.get(&format!("/v1/endpoints/{ep}/deliveries")).await;
        let data = page.body["data"].as_array()?.clone();
        (data.len() == 2 && data.iter().all(|d| d["status"] == "delivered")).then_some(data)
    })
    .await;
    // One delivery's retention ends now, as a TTL attribute in the past says.
    let tenant = shared::ids::TenantId::default_tenant();
    let expired: shared::ids::DeliveryId = page[0]["id"].as_str().unwrap().parse().unwrap();
    let key = shared::delivery::DeliveryRecord::key(&expired);
    let table = stack.platform.resource("DeliveriesTable").unwrap();
    aws_sdk_dynamodb::Client::new(&stack.platform.sdk)
        .update_item()
        .table_name(table)
        .key("tenant_id", aws_sdk_dynamodb::types::AttributeValue::S(tenant.to_string()))
        .key("delivery_key", aws_sdk_dynamodb::types::AttributeValue::S(key))
        .update_expression("SET expires_at = :past")
        .expression_attribute_values(":past", aws_sdk_dynamodb::types::AttributeValue::N("1000".into()))
        .send()
        .await
        .unwrap();
    let left = eventually("TTL to remove the expired delivery", WAIT, || async {
        let page = api.get(&format!("/v1/endpoints/{ep}/deliveries")).await;
        let data = page.body["data"].as_array()?.clone();
        (data.len() == 1).then_some(data)
    })
    .await;
    assert_eq!(left[0]["id"], page[1]["id"], "the delivery still within retention stays");
    stack.platform.shutdown().await;
}
