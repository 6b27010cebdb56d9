//! The publish call's fast path: it sends an event's deliveries itself once
//! the outbox row is written, and the outbox stream finishes whatever it
//! left undone, so a failure half-way loses nothing.

use std::time::Duration;

use hookline_tests::receiver::{Receiver, Reply};
use hookline_tests::{delivery_options, eventually, project_template, without_stream_fanout, Api, Stack};
use serde_json::{json, Value};
use shared::delivery::DeliveryStatus;
use shared::ids::{DeliveryId, EndpointId, EventId, TenantId};

const WAIT: Duration = Duration::from_secs(60);
/// Long enough for the stream (polled every 250 ms) to have reached the fan-out.
const STREAM_SETTLES: Duration = Duration::from_secs(3);

/// The project's template without one of the admin API's grants.
fn template_without_admin_grant(grant: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(project_template()).unwrap();
    let start = text.find("  AdminApiFunction:").unwrap();
    let end = start + text[start..].find("  InboundReceiptFunction:").unwrap();
    let at = start + text[start..end].find(grant).expect("the admin API has the grant");
    let cut = format!("{}{}", &text[..at], &text[at + grant.len()..]);
    let path = std::env::temp_dir().join(format!("hookline-fast-path-{}-{}.yaml", std::process::id(), grant.len()));
    std::fs::write(&path, cut).unwrap();
    path
}

async fn endpoint(api: &Api, receiver: &Receiver) -> String {
    let ep = api.post("/v1/endpoints", json!({"url": receiver.url, "event_types": ["bill.paid"]})).await;
    assert_eq!(ep.status, 201, "{}", ep.body);
    ep.body["id"].as_str().unwrap().to_owned()
}

async fn publish(api: &Api, invoice: &str) -> String {
    let published = api.post("/v1/events", json!({"type": "bill.paid", "data": {"invoice": invoice}})).await;
    assert_eq!(published.status, 202, "{}", published.body);
    published.body["id"].as_str().unwrap().to_owned()
}

/// Whether the stored outbox row says the publish call took the event on.
async fn marked_fast(stack: &Stack, event: &str) -> bool {
    let row = stack.db().get_event(&TenantId::default_tenant(), &event.parse().unwrap(), true).await.unwrap();
    row.expect("the event is stored").fast_path
}

fn delivery_id(event: &str, endpoint: &str) -> DeliveryId {
    DeliveryId::for_event(&event.parse::<EventId>().unwrap(), &endpoint.parse::<EndpointId>().unwrap())
}

#[tokio::test]
async fn a_published_event_is_sent_by_its_publish_call_and_arrives_once() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let ep = endpoint(&api, &receiver).await;
    let event = publish(&api, "INV-1").await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].json()["data"]["invoice"], "INV-1");
    assert!(marked_fast(&stack, &event).await, "the outbox row records that the publish call sent it");
    tokio::time::sleep(STREAM_SETTLES).await;
    assert_eq!(receiver.received().len(), 1, "the stream's check sent nothing more");
    let id = delivery_id(&event, &ep);
    let delivery = api.get(&format!("/v1/deliveries/{id}")).await.body;
    assert_eq!(
        (delivery["status"].as_str(), delivery["attempts"].as_u64()),
        (Some("delivered"), Some(1)),
        "{delivery}"
    );
    assert_eq!(stack.platform.denials.lock().unwrap().clone(), vec![], "the fast path needs no grant it lacks");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn when_the_queue_refuses_the_publish_call_the_stream_delivers() {
    let mut opts = delivery_options(0.01);
    opts.template = template_without_admin_grant(
        "        - SQSSendMessagePolicy:\n            QueueName: !GetAtt DeliveryQueue.QueueName\n",
    );
    let stack = Stack::start_with(opts).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let ep = endpoint(&api, &receiver).await;
    let event = publish(&api, "INV-2").await;
    let denial = eventually("the publish call's send to be refused", WAIT, || async {
        stack.platform.denials.lock().unwrap().iter().find(|d| d.function == "AdminApiFunction").cloned()
    })
    .await;
    assert!(denial.action.starts_with("sqs:SendMessage"), "{denial:?}");
    receiver.wait_for(1, WAIT).await;
    tokio::time::sleep(STREAM_SETTLES).await;
    assert_eq!(receiver.received().len(), 1, "delivered once, by the stream");
    let record = stack.db().get_delivery(&TenantId::default_tenant(), &delivery_id(&event, &ep)).await.unwrap();
    assert_eq!(record.expect("recorded").status, DeliveryStatus::Delivered);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_delivery_still_waiting_when_the_stream_looks_shows_as_pending_and_arrives_once() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    // The receiver takes 3 s to answer: the stream looks while the attempt is in flight.
    receiver.answer_by_default(Reply::status(200).after(Duration::from_secs(3)));
    let ep = endpoint(&api, &receiver).await;
    let event = publish(&api, "INV-3").await;
    let id = delivery_id(&event, &ep);
    let pending = eventually("the waiting delivery in the log", WAIT, || async {
        let d = api.get(&format!("/v1/deliveries/{id}")).await;
        (d.status == 200).then_some(d.body)
    })
    .await;
    assert_eq!(pending["status"], "pending", "{pending}");
    let delivered = eventually("the delivery recorded", WAIT, || async {
        let d = api.get(&format!("/v1/deliveries/{id}")).await.body;
        (d["status"] == "delivered").then_some(d)
    })
    .await;
    assert_eq!(delivered["attempts"], 1, "{delivered}");
    // The stream's copy waits out its delay (9 s at this retry scale), finds the attempt and is dropped.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(receiver.received().len(), 1, "delivered once");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_delivery_attempted_at_once_is_recorded_whole_by_its_attempt() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let ep = endpoint(&api, &receiver).await;
    let event = publish(&api, "INV-5").await;
    receiver.wait_for(1, WAIT).await;
    let tenant = TenantId::default_tenant();
    let id = delivery_id(&event, &ep);
    let record = eventually("the delivery recorded", WAIT, || async {
        stack.db().get_delivery(&tenant, &id).await.ok().flatten().filter(|d| d.status == DeliveryStatus::Delivered)
    })
    .await;
    assert_eq!(record.event_id.to_string(), event);
    assert_eq!(record.endpoint_id.to_string(), ep);
    assert_eq!(record.event_type, "bill.paid");
    assert!(!record.correlation_id.is_empty());
    assert_eq!(record.attempt_log.len(), 1, "one attempt, recorded with the record");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn beyond_its_budget_or_turned_off_the_fast_path_leaves_events_to_the_stream() {
    for (budget, events_marked) in [("1", false), ("0", false), ("2", true)] {
        let mut opts = delivery_options(0.01);
        opts.parameters.insert("FastPathMaxDeliveries".into(), budget.into());
        let stack = Stack::start_with(opts).await;
        let api = stack.admin();
        let (a, b) = (Receiver::start().await, Receiver::start().await);
        endpoint(&api, &a).await;
        endpoint(&api, &b).await;
        let event = publish(&api, "INV-4").await;
        a.wait_for(1, WAIT).await;
        b.wait_for(1, WAIT).await;
        assert_eq!(marked_fast(&stack, &event).await, events_marked, "budget {budget} for two deliveries");
        tokio::time::sleep(STREAM_SETTLES).await;
        assert_eq!((a.received().len(), b.received().len()), (1, 1), "budget {budget}: each once");
        stack.platform.shutdown().await;
    }
}

#[tokio::test]
async fn a_batch_is_sent_by_its_publish_call_up_to_the_budget_and_the_rest_by_the_stream() {
    let mut opts = delivery_options(0.01);
    opts.parameters.insert("FastPathMaxDeliveries".into(), "3".into());
    let stack = Stack::start_with(opts).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    endpoint(&api, &receiver).await;
    let events: Vec<Value> =
        (0..5).map(|n| json!({"type": "bill.paid", "data": {"invoice": format!("B-{n}")}})).collect();
    let answer = api.post("/v1/events/batch", json!({"events": events})).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    let ids: Vec<String> =
        answer.body["data"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().into()).collect();
    receiver.wait_for(5, WAIT).await;
    let mut marked = Vec::new();
    for id in &ids {
        marked.push(marked_fast(&stack, id).await);
    }
    assert_eq!(marked, [true, true, true, false, false], "the first three fit the budget of three");
    tokio::time::sleep(STREAM_SETTLES).await;
    let mut invoices: Vec<String> =
        receiver.received().iter().map(|r| r.json()["data"]["invoice"].as_str().unwrap().to_owned()).collect();
    invoices.sort();
    assert_eq!(invoices, ["B-0", "B-1", "B-2", "B-3", "B-4"], "each event once");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_replayed_stream_record_sends_again_a_delivery_the_stream_recorded_but_never_sent() {
    // The stream's fan-out is down: the test plays its passes itself.
    let mut opts = delivery_options(0.01);
    without_stream_fanout(&mut opts);
    let stack = Stack::start_with(opts).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let ep = endpoint(&api, &receiver).await;
    let tenant = TenantId::default_tenant();
    // A fast-path event whose publish call stopped before sending; an
    // earlier pass of the stream wrote the pending record, then its send failed.
    let new = shared::event::NewEvent {
        event_type: "bill.paid".into(),
        payload: json!({"invoice": "INV-6"}).to_string(),
        idempotency_key: None,
        correlation_id: None,
        only_endpoint: None,
    };
    let mut event = shared::event::OutboxRecord::new(&tenant, new, 30);
    event.fast_path = true;
    stack.db().publish(&event).await.unwrap();
    let snapshot = shared::event::EventSnapshot::from(&event);
    let pending = shared::delivery::DeliveryRecord::pending(&tenant, &snapshot, &ep.parse().unwrap(), 30);
    stack.db().create_delivery(&pending).await.unwrap();

    let fanout = stack.fanout_state();
    assert_eq!(outbox_fanout::fan_out(&fanout, &event).await.unwrap(), 1, "the unsent delivery is sent again");
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].json()["data"]["invoice"], "INV-6");
    let delivered = eventually("the delivery recorded", WAIT, || async {
        stack.db().get_delivery(&tenant, &pending.delivery_id).await.ok().flatten().filter(|d| d.attempts == 1)
    })
    .await;
    assert_eq!(delivered.status, DeliveryStatus::Delivered);
    assert_eq!(outbox_fanout::fan_out(&fanout, &event).await.unwrap(), 0, "an attempted delivery is left alone");
    stack.platform.shutdown().await;
}

/// A publish call reuses the endpoints it read for a few seconds. An
/// endpoint enabled meanwhile by another API instance (here, straight in
/// the table) is not among them: the stream sends its delivery at once,
/// not after the longest SQS delay, and the others arrive once.
#[tokio::test]
async fn an_endpoint_enabled_elsewhere_after_the_publish_call_read_the_endpoints_gets_the_event_from_the_stream_at_once(
) {
    // Retry scale 1: the stream's held-back copies would wait 15 minutes.
    let stack = Stack::start_with(delivery_options(1.0)).await;
    let api = stack.admin();
    let (steady, later) = (Receiver::start().await, Receiver::start().await);
    endpoint(&api, &steady).await;
    let off = endpoint(&api, &later).await;
    let disabled = api.post(&format!("/v1/endpoints/{off}/disable"), json!({"reason": "not yet"})).await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    publish(&api, "INV-1").await;
    steady.wait_for(1, WAIT).await;

    let (db, tenant) = (stack.db(), TenantId::default_tenant());
    let mut record = db.get_endpoint(&tenant, &off.parse().unwrap()).await.unwrap().expect("the endpoint");
    let version = record.version;
    record.status = shared::endpoint::EndpointStatus::Active;
    record.updated_at = chrono::Utc::now();
    record.version += 1;
    db.replace_endpoint(&record, version).await.unwrap();

    publish(&api, "INV-2").await;
    let invoices = |r: &Receiver| -> Vec<String> {
        r.received().iter().filter_map(|q| q.json()["data"]["invoice"].as_str().map(str::to_owned)).collect()
    };
    eventually("the newly enabled endpoint to get INV-2", Duration::from_secs(20), || async {
        invoices(&later).contains(&"INV-2".to_owned()).then_some(())
    })
    .await;
    steady.wait_for(2, WAIT).await;
    tokio::time::sleep(STREAM_SETTLES).await;
    assert_eq!(invoices(&steady), ["INV-1", "INV-2"], "each event once to the endpoint the publish call knew");
    // INV-1 too, if the stream reached it after the change (as it would any
    // event it fans out): endpoints as they are when the stream looks.
    let mut got = invoices(&later);
    got.sort();
    got.dedup();
    assert_eq!(got.len(), invoices(&later).len(), "nothing twice: {got:?}");
    stack.platform.shutdown().await;
}
