//! The operations commands on a deployed stack: `--deployed-stack NAME` finds the
//! stack's resources through CloudFormation's outputs, as it does on AWS.
//! moto emulates CloudFormation, so a stack whose outputs name the local
//! stack's tables, queues and secrets stands in for `sam deploy`'s.

use std::time::Duration;

use chrono::Utc;
use hookline_tests::receiver::{Receiver, Reply};
use hookline_tests::{delivery_options, emulator, eventually, hookline_binary, CliRun, Stack};
use serde_json::{json, Value};
use shared::delivery::{DeliveryRecord, DeliveryStatus};
use shared::event::{EventSnapshot, NewEvent, OutboxRecord};
use shared::ids::{EventId, TenantId};

const WAIT: Duration = Duration::from_secs(40);

/// A CloudFormation stack in the emulator with the real template's outputs,
/// each resolved to what `hookline dev` created for `stack`.
async fn deployed_outputs(stack: &Stack) -> String {
    let template: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(hookline_tests::project_template()).unwrap()).unwrap();
    let mut outputs = serde_json::Map::new();
    for (name, output) in template["Outputs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let value = match &output["Value"] {
            serde_yaml::Value::Tagged(t) if t.tag == "Ref" => {
                stack.platform.resource(t.value.as_str().unwrap()).unwrap().to_owned()
            }
            _ => stack.platform.url.clone(),
        };
        outputs.insert(name.to_owned(), json!({"Value": value}));
    }
    let body = json!({
        "Parameters": {"RetentionDays": {"Type": "Number", "Default": "30"}},
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": outputs,
    });
    let name = format!("{}-deployed", stack.platform.stack);
    aws_sdk_cloudformation::Client::new(&stack.platform.sdk)
        .create_stack()
        .stack_name(&name)
        .template_body(body.to_string())
        .send()
        .await
        .expect("the emulator creates the stack");
    name
}

/// `hookline --deployed-stack NAME …` with the standard AWS chain, as an operator runs it
/// (here the chain points at the emulator).
async fn cli(stack_name: &str, args: &[&str]) -> CliRun {
    let out = tokio::process::Command::new(hookline_binary())
        .arg("--json")
        .args(["--deployed-stack", stack_name])
        .args(args)
        .env("AWS_ENDPOINT_URL", emulator())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "hookline")
        .env("AWS_SECRET_ACCESS_KEY", "hookline")
        .env_remove("HOOKLINE_DEPLOYED_STACK")
        .env_remove("HOOKLINE_LOCAL_STACK")
        .env_remove("HOOKLINE_STACK")
        .env_remove("HOOKLINE_STACK_NAME")
        .env_remove("AWS_PROFILE")
        .current_dir(std::env::temp_dir())
        .output()
        .await
        .expect("the hookline binary runs");
    let run = CliRun {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(run.success, "hookline {args:?}: {}", run.stderr);
    run
}

#[tokio::test]
async fn the_four_operations_work_on_a_stack_found_by_its_cloudformation_outputs() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let tenant = TenantId::default_tenant();
    let receiver = Receiver::start().await;
    receiver.script(vec![Reply::status(404)]);
    let ep = api
        .post("/v1/endpoints", json!({"url": receiver.url, "event_types": ["bill.paid"], "retry_policy": "none"}))
        .await;
    assert_eq!(ep.status, 201, "{}", ep.body);
    let ep_id = ep.body["id"].as_str().unwrap().to_owned();
    api.post("/v1/events", json!({"type": "bill.paid", "data": {"invoice": "INV-1"}})).await;
    receiver.wait_for(1, WAIT).await;
    eventually("the 404 to fail the delivery", WAIT, || async {
        let list = api.get(&format!("/v1/endpoints/{ep_id}/deliveries?status=failed")).await;
        (list.body["data"].as_array()?.len() == 1).then_some(())
    })
    .await;
    let source =
        api.post("/v1/sources", json!({"slug": "crm", "auth_type": "none", "event_type_pointer": "/event"})).await;
    assert_eq!(source.status, 201, "{}", source.body);
    let headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    let inbound = stack.anonymous().post_with_headers("/api/v1/webhooks/crm", &headers, br#"{"n":1}"#.to_vec()).await;
    assert_eq!(inbound.status, 202, "{}", inbound.body);
    let inbound_id = inbound.body["id"].as_str().unwrap().to_owned();
    eventually("the inbound record to fail (no event type)", WAIT, || async {
        (api.get(&format!("/v1/inbound/{inbound_id}")).await.body["status"] == "failed").then_some(())
    })
    .await;
    api.patch("/v1/sources/crm", json!({"event_type_pointer": null, "event_type": "crm.contact.updated"})).await;
    let old_ms = Utc::now().timestamp_millis() as u64 - 40 * 86_400_000;
    let mut old_event = OutboxRecord::new(
        &tenant,
        NewEvent {
            event_type: "bill.paid".into(),
            payload: "{}".into(),
            idempotency_key: None,
            correlation_id: None,
            only_endpoint: None,
        },
        30,
    );
    old_event.event_id = EventId::generate_at(old_ms);
    old_event.created_at = chrono::DateTime::from_timestamp_millis(old_ms as i64).unwrap();
    let mut old = DeliveryRecord::pending(&tenant, &EventSnapshot::from(&old_event), &ep_id.parse().unwrap(), 30);
    old.status = DeliveryStatus::Delivered;
    stack.db().create_delivery(&old).await.unwrap();

    let name = deployed_outputs(&stack).await;

    let retried = cli(&name, &["retry-outbound", "--days", "2"]).await.json();
    assert_eq!(retried["requeued"], 1, "{retried}");
    receiver.wait_for(2, WAIT).await;

    let replayed = cli(&name, &["replay-inbound", "--source", "crm", "--failed-only"]).await.json();
    assert_eq!(replayed["found"], 1, "{replayed}");
    eventually("the replay to be processed", WAIT, || async {
        let list = api.get("/v1/inbound?status=processed").await;
        let replays = list.body["data"].as_array()?.iter().filter(|r| r["replay_of"] == inbound_id.as_str()).count();
        (replays == 1).then_some(())
    })
    .await;

    let pruned = cli(&name, &["prune", "--days", "30"]).await.json();
    assert_eq!(pruned["deliveries"], 1, "{pruned}");
    assert!(stack.db().get_delivery(&tenant, &old.delivery_id).await.unwrap().is_none(), "the old delivery is gone");

    // The last day that has ended: today is refused until it is over.
    let today = (Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    let summary = cli(&name, &["daily-summary", "--date", &today]).await.json();
    let sent: Vec<&Value> = summary["tenants"].as_array().unwrap().iter().filter(|t| t["sent"] == true).collect();
    assert_eq!(sent.len(), 1, "{summary}");
    stack.platform.shutdown().await;
}
