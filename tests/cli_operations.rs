//! The seed's four operations commands, run as a person would run them,
//! against the local stack: `hookline prune`, `retry-outbound`,
//! `replay-inbound` and `daily-summary`.

use std::time::Duration;

use chrono::Utc;
use hookline_tests::receiver::{Receiver, Reply};
use hookline_tests::{delivery_options, eventually, Api, Stack};
use serde_json::{json, Value};
use shared::delivery::{DeliveryRecord, DeliveryStatus};
use shared::event::{EventSnapshot, NewEvent, OutboxRecord};
use shared::ids::{EndpointId, EventId, InboundId, TenantId};

const WAIT: Duration = Duration::from_secs(40);
const DAY_MS: u64 = 86_400_000;

fn now_ms() -> u64 {
    Utc::now().timestamp_millis() as u64
}

fn event_at(tenant: &TenantId, millis: u64, event_type: &str) -> OutboxRecord {
    let new = NewEvent {
        event_type: event_type.into(),
        payload: "{}".into(),
        idempotency_key: None,
        correlation_id: None,
        only_endpoint: None,
    };
    let mut record = OutboxRecord::new(tenant, new, 30);
    record.event_id = EventId::generate_at(millis);
    record.created_at = chrono::DateTime::from_timestamp_millis(millis as i64).unwrap();
    record
}

fn delivery_at(tenant: &TenantId, endpoint: &EndpointId, millis: u64, status: DeliveryStatus) -> DeliveryRecord {
    let event = event_at(tenant, millis, "bill.paid");
    let mut d = DeliveryRecord::pending(tenant, &EventSnapshot::from(&event), endpoint, 30);
    d.status = status;
    d.attempts = u32::from(status != DeliveryStatus::Pending);
    d
}

async fn endpoint(api: &Api, url: &str) -> EndpointId {
    let reply =
        api.post("/v1/endpoints", json!({"url": url, "event_types": ["bill.paid"], "retry_policy": "none"})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn prune_removes_exactly_the_old_records_and_nothing_in_flight() {
    let stack = Stack::start().await;
    let db = stack.db();
    let tenant = TenantId::default_tenant();
    let ep = endpoint(&stack.admin(), "https://hooks.example.com/in").await;
    let old = now_ms() - 40 * DAY_MS;
    let recent = now_ms() - DAY_MS;
    let old_done = delivery_at(&tenant, &ep, old, DeliveryStatus::Delivered);
    let old_retrying = delivery_at(&tenant, &ep, old, DeliveryStatus::Retrying);
    let recent_done = delivery_at(&tenant, &ep, recent, DeliveryStatus::Failed);
    for d in [&old_done, &old_retrying, &recent_done] {
        db.create_delivery(d).await.unwrap();
    }
    let old_event = event_at(&tenant, old, "patient.registered");
    let recent_event = event_at(&tenant, recent, "patient.registered");
    db.publish(&old_event).await.unwrap();
    db.publish(&recent_event).await.unwrap();
    let old_inbound = inbound_at(&tenant, old);
    let recent_inbound = inbound_at(&tenant, recent);
    db.put_inbound(&old_inbound).await.unwrap();
    db.put_inbound(&recent_inbound).await.unwrap();

    let dry = stack.cli(&["--json", "prune", "--days", "30", "--dry-run"]).await;
    assert!(dry.success, "{}", dry.stderr);
    let counted = dry.json();
    assert_eq!(
        (&counted["deliveries"], &counted["events"], &counted["inbound"]),
        (&json!(1), &json!(1), &json!(1)),
        "{counted}"
    );
    assert_eq!(counted["kept_in_flight"], 1);
    assert!(db.get_delivery(&tenant, &old_done.delivery_id).await.unwrap().is_some(), "a dry run deletes nothing");

    let run = stack.cli(&["--json", "prune", "--days", "30"]).await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.json()["deliveries"], 1);
    assert!(db.get_delivery(&tenant, &old_done.delivery_id).await.unwrap().is_none());
    assert!(db.get_delivery(&tenant, &old_retrying.delivery_id).await.unwrap().is_some(), "in flight: kept");
    assert!(db.get_delivery(&tenant, &recent_done.delivery_id).await.unwrap().is_some());
    assert!(db.get_event(&tenant, &old_event.event_id, true).await.unwrap().is_none());
    assert!(db.get_event(&tenant, &recent_event.event_id, true).await.unwrap().is_some());
    assert!(db.get_inbound(&tenant, &old_inbound.inbound_id).await.unwrap().is_none());
    assert!(db.get_inbound(&tenant, &recent_inbound.inbound_id).await.unwrap().is_some());
    stack.platform.shutdown().await;
}

fn inbound_at(tenant: &TenantId, millis: u64) -> shared::inbound::InboundRecord {
    let at = chrono::DateTime::from_timestamp_millis(millis as i64).unwrap();
    serde_json::from_value(json!({
        "tenant_id": tenant, "inbound_id": InboundId::generate_at(millis), "source_slug": "crm", "status": "processed",
        "correlation_id": "c", "dedupe_key": "k", "received_at": at, "content_type": "application/json",
        "body_sealed": "v1.x", "body_masked": "{}", "expires_at": 0
    }))
    .unwrap()
}

#[tokio::test]
async fn retry_outbound_resends_exactly_the_failed_deliveries_of_the_last_two_days() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let db = stack.db();
    let receiver = Receiver::start().await;
    receiver.script(vec![Reply::status(404), Reply::status(404)]);
    let ep = endpoint(&api, &receiver.url).await;
    for n in 0..3 {
        api.post("/v1/events", json!({"type": "bill.paid", "data": {"n": n}})).await;
    }
    // The first two to arrive (whichever events they carry) got the 404s.
    let first = receiver.wait_for(3, WAIT).await;
    let mut failed: Vec<Value> = first[..2].iter().map(|r| r.json()["data"]["n"].clone()).collect();
    let old_failure = delivery_at(&TenantId::default_tenant(), &ep, now_ms() - 3 * DAY_MS, DeliveryStatus::Failed);
    db.create_delivery(&old_failure).await.unwrap();
    eventually("two failed deliveries", WAIT, || async {
        let since = (Utc::now() - chrono::Duration::days(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let list = api.get(&format!("/v1/endpoints/{ep}/deliveries?status=failed&since={since}")).await;
        (list.body["data"].as_array()?.len() == 2).then_some(())
    })
    .await;

    let dry = stack.cli(&["--json", "retry-outbound", "--days", "2", "--dry-run"]).await;
    assert!(dry.success, "{}", dry.stderr);
    assert_eq!((&dry.json()["found"], &dry.json()["requeued"]), (&json!(2), &json!(0)), "{}", dry.stdout);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 3, "a dry run sends nothing");
    let run = stack.cli(&["--json", "retry-outbound", "--days", "2"]).await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.json()["requeued"], 2, "{}", run.stdout);
    let got = receiver.wait_for(5, WAIT).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.received().len(), 5, "exactly the two failures were sent again");
    let mut resent: Vec<Value> = got[3..].iter().map(|r| r.json()["data"]["n"].clone()).collect();
    let by_n = |a: &Value, b: &Value| a.as_i64().cmp(&b.as_i64());
    failed.sort_by(by_n);
    resent.sort_by(by_n);
    assert_eq!(resent, failed, "the failed events, each once");
    let untouched = db.get_delivery(&TenantId::default_tenant(), &old_failure.delivery_id).await.unwrap().unwrap();
    assert_eq!((untouched.status, untouched.attempts), (DeliveryStatus::Failed, 1), "older failures are left alone");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn replay_inbound_replays_exactly_that_sources_failed_records() {
    let stack = Stack::start().await;
    let api = stack.admin();
    for slug in ["crm", "erp"] {
        let r =
            api.post("/v1/sources", json!({"slug": slug, "auth_type": "none", "event_type_pointer": "/event"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    let anon = stack.anonymous();
    let mut ids = Vec::new();
    for (slug, body) in
        [("crm", r#"{"n":1}"#), ("crm", r#"{"n":2}"#), ("crm", r#"{"event":"contact.updated"}"#), ("erp", r#"{"n":3}"#)]
    {
        let r = anon.post_with_headers(&format!("/api/v1/webhooks/{slug}"), &headers, body.as_bytes().to_vec()).await;
        assert_eq!(r.status, 202, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    eventually("every record to be worked", WAIT, || async {
        let list = api.get("/v1/inbound").await;
        let done = list.body["data"].as_array()?.iter().filter(|r| r["status"] != "received").count();
        (done == 4).then_some(())
    })
    .await;
    api.patch("/v1/sources/crm", json!({"event_type_pointer": null, "event_type": "crm.contact.updated"})).await;

    let run = stack.cli(&["--json", "replay-inbound", "--source", "crm", "--failed-only"]).await;
    assert!(run.success, "{}", run.stderr);
    let out = run.json();
    assert_eq!(out["found"], 2, "{out}");
    let replays = out["records"].as_array().unwrap().iter().filter(|r| r["replay_id"].is_string()).count();
    assert_eq!(replays, 2, "{out}");
    eventually("both replays processed", WAIT, || async {
        let list = api.get("/v1/inbound?status=processed").await;
        let replays = list.body["data"].as_array()?.iter().filter(|r| r["replay_of"].is_string()).count();
        (replays == 2).then_some(())
    })
    .await;
    let erp = api.get(&format!("/v1/inbound/{}", ids[3])).await;
    assert_eq!(erp.body["status"], "failed", "another source's failure is not replayed");
    let all = api.get("/v1/inbound?limit=250").await;
    assert_eq!(all.body["data"].as_array().unwrap().len(), 6);

    let unknown = stack.cli(&["replay-inbound", "--source", "nope", "--failed-only"]).await;
    assert!(!unknown.success);
    assert_eq!(unknown.stderr.trim().lines().count(), 1, "{}", unknown.stderr);
    assert!(unknown.stderr.starts_with("hookline: no source named nope"), "{}", unknown.stderr);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn daily_summary_from_the_cli_sends_once_unless_forced() {
    let stack = Stack::start().await;
    stack.tenant("clinic").await;
    let today = Utc::now().date_naive().to_string();
    let running = stack.cli(&["daily-summary", "--date", &today]).await;
    assert!(!running.success, "today has not ended: {}", running.stdout);
    assert!(running.stderr.contains("has not ended yet in UTC"), "{}", running.stderr);
    let first = stack.cli(&["--json", "daily-summary"]).await;
    assert!(first.success, "{}", first.stderr);
    let yesterday = (Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    assert_eq!(first.json()["date"], yesterday.as_str(), "the last day that ended: {}", first.stdout);
    assert_eq!(first.json()["time_zone"], "UTC");
    let today = yesterday;
    let again = stack.cli(&["--json", "daily-summary", "--date", &today]).await;
    assert!(again.success, "{}", again.stderr);
    let sent = |run: &hookline_tests::CliRun| {
        run.json()["tenants"].as_array().unwrap().iter().filter(|r| r["sent"] == true).count()
    };
    assert_eq!(sent(&first), 1, "one tenant (clinic) has anything: {}", first.stdout);
    assert_eq!(sent(&again), 0, "{}", again.stdout);
    let forced = stack.cli(&["--json", "daily-summary", "--date", &today, "--force"]).await;
    assert_eq!(sent(&forced), 1, "{}", forced.stdout);
    let bad = stack.cli(&["daily-summary", "--date", "2026-13-45"]).await;
    assert!(!bad.success && bad.stderr.starts_with("hookline: "), "{}", bad.stderr);
    stack.platform.shutdown().await;
}
