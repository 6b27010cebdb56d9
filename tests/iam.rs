//! IAM enforcement in `hookline dev`: each function's requests are checked
//! against the role `sam deploy` would give it, so a grant missing from
//! `template.yaml` fails here as it would on AWS.

use std::time::Duration;

use hookline::dev::iam;
use hookline_tests::receiver::Receiver;
use hookline_tests::{delivery_options, eventually, project_template, Stack};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(40);

/// The project template without one of fan-out's grants: write access to
/// the delivery log.
fn template_without_fanout_deliveries_grant() -> std::path::PathBuf {
    let text = std::fs::read_to_string(project_template()).unwrap();
    let start = text.find("  OutboxFanoutFunction:").unwrap();
    let grant = "        - DynamoDBCrudPolicy:\n            TableName: !Ref DeliveriesTable\n";
    let at = start + text[start..].find(grant).expect("fan-out has the grant");
    assert!(at < start + text[start..].find("  DeliveryAttemptFunction:").unwrap(), "the grant is fan-out's own");
    let cut = format!("{}{}", &text[..at], &text[at + grant.len()..]);
    let path = std::env::temp_dir().join(format!("hookline-iam-fixture-{}.yaml", std::process::id()));
    std::fs::write(&path, cut).unwrap();
    path
}

/// Publishes one event to a receiver's endpoint; the receiver and the endpoint id.
async fn publish_one(stack: &Stack) -> (Receiver, String) {
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let ep = api.post("/v1/endpoints", json!({"url": receiver.url, "event_types": ["bill.paid"]})).await;
    assert_eq!(ep.status, 201, "{}", ep.body);
    let published = api.post("/v1/events", json!({"type": "bill.paid", "data": {"invoice": "INV-1"}})).await;
    assert_eq!(published.status, 202, "{}", published.body);
    (receiver, ep.body["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn with_the_real_template_a_published_event_is_delivered_and_nothing_is_refused() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    assert_eq!(stack.platform.policies.len(), 8, "every function runs with its role");
    let (receiver, _) = publish_one(&stack).await;
    receiver.wait_for(1, WAIT).await;
    assert_eq!(stack.platform.denials.lock().unwrap().clone(), vec![]);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn without_fanouts_grant_on_the_delivery_log_nothing_is_delivered_and_the_refusal_names_it() {
    let mut opts = delivery_options(0.01);
    opts.template = template_without_fanout_deliveries_grant();
    // Every event through the stream: the publish call's fast path has grants of its own.
    opts.parameters.insert("FastPathMaxDeliveries".into(), "0".into());
    let stack = Stack::start_with(opts).await;
    let (receiver, ep) = publish_one(&stack).await;
    let denial =
        eventually("fan-out to be refused", WAIT, || async { stack.platform.denials.lock().unwrap().first().cloned() })
            .await;
    assert_eq!(denial.function, "OutboxFanoutFunction");
    assert!(denial.action.starts_with("dynamodb:"), "{denial:?}");
    assert!(denial.resource.ends_with(&format!(":table/{}-DeliveriesTable", stack.platform.stack)), "{denial:?}");
    let deliveries = stack.admin().get(&format!("/v1/endpoints/{ep}/deliveries")).await;
    assert_eq!(deliveries.body["data"], json!([]), "no delivery was recorded");
    assert!(receiver.received().is_empty(), "nothing reached the receiver");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_refused_request_fails_as_aws_refuses_it_naming_function_action_and_resource() {
    let stack = Stack::start().await;
    let mut policy = stack.platform.policies["InboundReceiptFunction"].clone();
    // The receipt function may read sources but never touch endpoints.
    let table = stack.platform.resource("EndpointsTable").unwrap().to_owned();
    let denials = iam::Denials::default();
    let sdk = iam::enforcing(&stack.platform.sdk, &iam::base_http_client(), policy.clone(), &denials);
    let err = aws_sdk_dynamodb::Client::new(&sdk)
        .scan()
        .table_name(&table)
        .send()
        .await
        .expect_err("the receipt function has no grant on the endpoints table");
    let service = err.into_service_error();
    let meta = aws_sdk_dynamodb::error::ProvideErrorMetadata::meta(&service);
    assert_eq!(meta.code(), Some("AccessDeniedException"));
    let message = meta.message().unwrap();
    for part in ["InboundReceiptFunction", "dynamodb:Scan", &format!(":table/{table}")] {
        assert!(message.contains(part), "{message}");
    }
    assert_eq!(denials.lock().unwrap().len(), 1);

    // The same request with a grant for it goes through to the emulator.
    policy.statements.push(iam::Statement {
        allow: true,
        actions: vec!["dynamodb:Scan".into()],
        resources: vec![format!("arn:aws:dynamodb:*:*:table/{table}")],
    });
    let sdk = iam::enforcing(&stack.platform.sdk, &iam::base_http_client(), policy, &denials);
    aws_sdk_dynamodb::Client::new(&sdk).scan().table_name(&table).send().await.expect("allowed");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn every_scheduled_function_runs_under_its_role_prune_deleting_what_is_past_retention() {
    use shared::delivery::{DeliveryRecord, DeliveryStatus};
    use shared::event::{EventSnapshot, NewEvent, OutboxRecord};
    use shared::ids::{EventId, TenantId};

    let stack = Stack::start().await;
    let tenant = TenantId::default_tenant();
    let ep = stack
        .admin()
        .post("/v1/endpoints", json!({"url": "https://hooks.example.com/in", "event_types": ["bill.paid"]}))
        .await;
    assert_eq!(ep.status, 201, "{}", ep.body);
    let old_ms = chrono::Utc::now().timestamp_millis() as u64 - 40 * 86_400_000;
    let new = NewEvent {
        event_type: "bill.paid".into(),
        payload: "{}".into(),
        idempotency_key: None,
        correlation_id: None,
        only_endpoint: None,
    };
    let mut event = OutboxRecord::new(&tenant, new, 30);
    event.event_id = EventId::generate_at(old_ms);
    event.created_at = chrono::DateTime::from_timestamp_millis(old_ms as i64).unwrap();
    let endpoint_id = ep.body["id"].as_str().unwrap().parse().unwrap();
    let mut old = DeliveryRecord::pending(&tenant, &EventSnapshot::from(&event), &endpoint_id, 30);
    old.status = DeliveryStatus::Delivered;
    stack.db().create_delivery(&old).await.unwrap();

    for schedule in ["PruneFunction.Daily", "DailySummaryFunction.Midnight", "EndpointHealthFunction.EverySixHours"] {
        let reply = stack.anonymous().post(&format!("/_dev/schedules/{schedule}"), json!({})).await;
        assert_eq!(reply.status, 200, "{schedule}: {}", reply.body);
    }
    assert!(stack.db().get_delivery(&tenant, &old.delivery_id).await.unwrap().is_none(), "prune deleted it");
    assert_eq!(stack.platform.denials.lock().unwrap().clone(), vec![]);
    stack.platform.shutdown().await;
}
