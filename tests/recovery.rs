//! What the soak (`make soak`) found, pinned down: a worker that dies
//! between recording an attempt and enqueueing its retry, duplicate queue
//! messages, successes that must clear a failure streak, and `hookline dev`
//! restarted on a stack that already exists.

use std::time::Duration;

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use chrono::Utc;
use hookline::dev::functions::{self, Handler};
use hookline::dev::sqs_poller::sqs_event;
use hookline_tests::receiver::{Receiver, Reply};
use hookline_tests::{delivery_options, eventually, Api, Stack};
use serde_json::{json, Value};
use shared::aws::deliveries::AttemptWrite;
use shared::delivery::{Attempt, DeliveryMessage, DeliveryRecord, DeliveryStatus};
use shared::event::{EventSnapshot, NewEvent, OutboxRecord};
use shared::ids::{EndpointId, TenantId};

const WAIT: Duration = Duration::from_secs(40);

async fn endpoint(api: &Api, url: &str, extra: Value) -> EndpointId {
    let mut body = json!({"url": url, "event_types": ["bill.paid"]});
    body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    let reply = api.post("/v1/endpoints", body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().unwrap().parse().unwrap()
}

/// A pending delivery to `endpoint`, stored as the fan-out would, and the
/// first queue message for it (not sent: the test hands it to the worker).
async fn pending_delivery(stack: &Stack, endpoint: &EndpointId) -> (DeliveryRecord, DeliveryMessage) {
    let tenant = TenantId::default_tenant();
    let new = NewEvent {
        event_type: "bill.paid".into(),
        payload: json!({"invoice": "INV-7"}).to_string(),
        idempotency_key: None,
        correlation_id: None,
        only_endpoint: None,
    };
    let snapshot = EventSnapshot::from(&OutboxRecord::new(&tenant, new, 30));
    let record = DeliveryRecord::pending(&tenant, &snapshot, endpoint, 30);
    stack.db().create_delivery(&record).await.unwrap();
    let message = DeliveryMessage {
        tenant_id: tenant,
        delivery_id: record.delivery_id.clone(),
        attempt: 1,
        not_before: None,
        manual: false,
        event: Some(snapshot),
        slot_at: None,
        recheck: false,
    };
    (record, message)
}

/// Hands queue messages to the delivery worker as the SQS poller would,
/// `receives` being each one's ApproximateReceiveCount.
async fn invoke_worker(stack: &Stack, bodies: &[(String, u32)]) -> Value {
    let env = &stack.platform.environments["DeliveryAttemptFunction"];
    let policy = stack.platform.policies["DeliveryAttemptFunction"].clone();
    let sdk = hookline::dev::iam::enforcing(
        &stack.platform.sdk,
        &hookline::dev::iam::base_http_client(),
        policy,
        &stack.platform.denials,
    );
    let Some(Handler::Event(worker)) = functions::build("delivery-attempt", &|k| env.get(k).cloned(), &sdk).unwrap()
    else {
        panic!("the worker is an event function");
    };
    let messages: Vec<Message> = bodies
        .iter()
        .enumerate()
        .map(|(i, (body, receives))| {
            Message::builder()
                .message_id(format!("m{i}"))
                .receipt_handle(format!("r{i}"))
                .body(body)
                .attributes(MessageSystemAttributeName::ApproximateReceiveCount, receives.to_string())
                .build()
        })
        .collect();
    worker(sqs_event("arn:aws:sqs:us-east-1:123456789012:test", &messages)).await.unwrap()
}

async fn delivery(api: &Api, id: &str, status: &str) -> Value {
    eventually(&format!("delivery {id} {status}"), WAIT, || async {
        let d = api.get(&format!("/v1/deliveries/{id}")).await.body;
        (d["status"] == status).then_some(d)
    })
    .await
}

/// Waits until the delivery queue holds nothing, visible, delayed or in flight.
async fn queue_drained(stack: &Stack) {
    let sqs = aws_sdk_sqs::Client::new(&stack.platform.sdk);
    let url = stack.platform.resource("DeliveryQueue").unwrap().to_owned();
    eventually("the delivery queue to drain", WAIT, || async {
        let attrs = sqs.get_queue_attributes().queue_url(&url).attribute_names(QueueAttributeName::All).send().await;
        let attrs = attrs.ok()?.attributes?;
        let counts = [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ];
        counts.iter().all(|a| attrs.get(a).is_some_and(|n| n == "0")).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_retry_lost_with_its_worker_is_enqueued_when_the_message_comes_back() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let ep = endpoint(&api, &receiver.url, json!({})).await;
    let (record, message) = pending_delivery(&stack, &ep).await;
    // Attempt 1 was made and recorded with a retry scheduled; then the worker
    // died before it could enqueue that retry.
    let failed = Attempt {
        attempt: 1,
        at: Utc::now(),
        duration_ms: 3,
        status_code: Some(503),
        error_kind: None,
        response_headers: Default::default(),
        response_body: String::new(),
        outcome: "retry_scheduled".into(),
        manual: false,
        signed_headers: Vec::new(),
    };
    let write = AttemptWrite {
        status: DeliveryStatus::Retrying,
        next_attempt_at: Some(Utc::now()),
        attempt: &failed,
        expires_at: Utc::now().timestamp() + 86_400,
        event: None,
    };
    stack.db().record_attempt(&message.tenant_id, &message.delivery_id, write).await.unwrap();

    // Its message comes back after the visibility timeout.
    let answer = invoke_worker(&stack, &[(serde_json::to_string(&message).unwrap(), 2)]).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    let done = delivery(&api, record.delivery_id.as_str(), "delivered").await;
    assert_eq!(done["attempts"], 2, "{done}");
    assert_eq!(receiver.received().len(), 1, "attempt 1 is not made again");
    assert_eq!(receiver.received()[0].header("webhook-id"), record.delivery_id.as_str());
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_queue_message_does_not_fork_the_retries() {
    // Unscaled retries: the retry comes seconds after both copies are worked.
    let stack = Stack::start_with(delivery_options(1.0)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    receiver.script(vec![Reply::status(503), Reply::status(503)]);
    let ep = endpoint(&api, &receiver.url, json!({})).await;
    let (record, message) = pending_delivery(&stack, &ep).await;
    let body = serde_json::to_string(&message).unwrap();
    // SQS delivers at least once: two copies of attempt 1, one after the
    // other (moto's conditional writes are not atomic across threads, so
    // copies worked at the same instant could both pass the condition).
    invoke_worker(&stack, &[(body.clone(), 1)]).await;
    invoke_worker(&stack, &[(body, 1)]).await;
    let done = delivery(&api, record.delivery_id.as_str(), "delivered").await;
    queue_drained(&stack).await;
    assert_eq!(done["attempts"], 2, "{done}");
    let got = receiver.received();
    assert_eq!(got.len(), 3, "both copies of attempt 1, then one attempt 2: {got:#?}");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn successes_between_failures_keep_a_flaky_endpoint_active() {
    let mut opts = delivery_options(0.01);
    opts.parameters.insert("MaxConsecutiveFailures".into(), "2".into());
    let stack = Stack::start_with(opts).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    receiver.script(vec![Reply::status(503), Reply::status(200), Reply::status(503), Reply::status(200)]);
    let ep = endpoint(&api, &receiver.url, json!({"max_retries": 0})).await;
    let db = stack.db();
    let tenant = TenantId::default_tenant();
    // One event at a time: fail, succeed, fail, succeed. Never two failures
    // in a row, so the breaker (two in a row) must not trip.
    for (n, outcome) in ["failed", "delivered", "failed", "delivered"].into_iter().enumerate() {
        let reply = api.post("/v1/events", json!({"type": "bill.paid", "data": {"n": n}})).await;
        let event = reply.body["id"].as_str().unwrap().parse().unwrap();
        let id = shared::ids::DeliveryId::for_event(&event, &ep);
        delivery(&api, id.as_str(), outcome).await;
        if outcome == "delivered" {
            eventually("the success to clear the failure streak", WAIT, || async {
                let e = db.get_endpoint(&tenant, &ep).await.unwrap()?;
                (e.consecutive_failures == 0).then_some(())
            })
            .await;
        }
    }
    let endpoint = api.get(&format!("/v1/endpoints/{ep}")).await.body;
    assert_eq!(endpoint["status"], "active", "{endpoint}");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_restart_on_a_provisioned_stack_keeps_its_key_data_and_unread_outbox() {
    let receiver = Receiver::start().await;
    let opts = delivery_options(0.01);
    let first = Stack::start_with(opts.clone()).await;
    let key = first.platform.admin_key.clone();
    let ep = endpoint(&first.admin(), &receiver.url, json!({})).await;
    let db = first.db();
    first.platform.shutdown().await;

    // Published while nothing runs: only the outbox stream knows of it.
    let tenant = TenantId::default_tenant();
    let new = NewEvent {
        event_type: "bill.paid".into(),
        payload: json!({"while": "down"}).to_string(),
        idempotency_key: None,
        correlation_id: None,
        only_endpoint: None,
    };
    let event = OutboxRecord::new(&tenant, new, 30);
    db.publish(&event).await.unwrap();

    let second = Stack::start_with(opts).await;
    assert_eq!(second.platform.admin_key, key, "the stack keeps its admin key");
    let api = second.admin();
    let listed = api.get("/v1/endpoints").await;
    assert_eq!(listed.body["data"][0]["id"], ep.as_str(), "{}", listed.body);
    // Its delivery is created and queued. (Whether it is sent at once is
    // another matter: the stopped platform's last long poll may still be
    // open in the emulator and take the message until it becomes visible
    // again, as a stopped Lambda poller's would.)
    let id = shared::ids::DeliveryId::for_event(&event.event_id, &ep);
    let found = eventually("the delivery of the event published while down", WAIT, || async {
        let d = api.get(&format!("/v1/deliveries/{id}")).await;
        (d.status == 200).then_some(d.body)
    })
    .await;
    assert_eq!(found["event_id"], event.event_id.as_str());
    second.platform.shutdown().await;
}
