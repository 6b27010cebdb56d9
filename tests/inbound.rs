//! The inbound gateway end to end: sources, verified receipt at
//! `/api/v1/webhooks/{slug}`, dedupe, processing into internal events that
//! reach outbound endpoints, failures and replays, tenant isolation.

use std::time::Duration;

use hmac::{Hmac, Mac};
use hookline_tests::receiver::Receiver;
use hookline_tests::{delivery_options, eventually, Api, Reply, Stack};
use serde_json::{json, Value};
use sha2::Sha256;
use shared::inbound_auth::{sign, AuthType};

const WAIT: Duration = Duration::from_secs(40);

async fn source(api: &Api, body: Value) -> Value {
    let reply = api.post("/v1/sources", body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

/// POSTs a webhook as a provider would.
async fn post(stack: &Stack, slug: &str, headers: &[(String, String)], body: &[u8]) -> Reply {
    stack.anonymous().post_with_headers(&format!("/api/v1/webhooks/{slug}"), headers, body.to_vec()).await
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn inbound_with_status(api: &Api, id: &str, status: &str) -> Value {
    eventually(&format!("inbound {id} to be {status}"), WAIT, || async {
        let r = api.get(&format!("/v1/inbound/{id}")).await;
        (r.body["status"] == status).then_some(r.body)
    })
    .await
}

#[tokio::test]
async fn each_auth_type_accepts_a_signed_request_and_refuses_a_forged_one() {
    let stack = Stack::start().await;
    let api = stack.admin();
    let kinds = hookline_tests::SIGNED_AUTH_TYPES;
    for (auth, name) in kinds {
        let created = source(&api, json!({"slug": format!("src-{name}"), "auth_type": name})).await;
        let secret = created["secret"].as_str().unwrap().to_owned();
        assert!(!secret.is_empty() && !secret.contains('*'), "{name}: the secret is shown once");
        let (body, content_type): (&[u8], &str) = if auth == AuthType::Slack {
            (b"token=x&team_id=T1&text=hello+there", "application/x-www-form-urlencoded")
        } else {
            (br#"{"id": "evt_1", "event": "contact.updated"}"#, "application/json")
        };
        let mut headers = sign(auth, &secret, "X-HMS", body, now(), "msg_1");
        headers.push(("content-type".into(), content_type.into()));
        let ok = post(&stack, &format!("src-{name}"), &headers, body).await;
        assert_eq!(ok.status, 202, "{name}: {}", ok.body);
        let forged_headers =
            sign(auth, "whsec_c29tZW9uZSBlbHNlJ3Mgc2VjcmV0IGtleSBvZiAzMiBi", "X-HMS", body, now(), "msg_2");
        let forged = post(&stack, &format!("src-{name}"), &forged_headers, body).await;
        assert_eq!((forged.status, forged.code()), (401, "invalid_signature"), "{name}: {}", forged.body);
        let unsigned = post(&stack, &format!("src-{name}"), &[], body).await;
        assert_eq!(unsigned.status, 401, "{name}: a request without credentials is refused");
    }
    let open = source(&api, json!({"slug": "src-none", "auth_type": "none"})).await;
    assert_eq!(open["secret"], "");
    assert_eq!(post(&stack, "src-none", &[], b"{}").await.status, 202);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn the_seed_curl_recipe_is_accepted_and_bad_requests_get_clear_errors() {
    let stack = Stack::start().await;
    let api = stack.admin();
    let secret = "your_secret";
    source(&api, json!({"slug": "my-crm", "auth_type": "hms", "secret": secret})).await;
    // echo -n "$TS.{\"event\":\"test\"}" | openssl dgst -sha256 -hmac "your_secret"
    let ts = now().to_string();
    let payload = r#"{"event":"test"}"#;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.{payload}").as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let headers = vec![
        ("X-HMS-Timestamp".to_owned(), ts),
        ("X-HMS-Signature".to_owned(), signature),
        ("content-type".into(), "application/json".into()),
    ];
    let ok = post(&stack, "my-crm", &headers, payload.as_bytes()).await;
    assert_eq!(ok.status, 202, "{}", ok.body);
    assert!(ok.body["correlation_id"].as_str().is_some_and(|c| !c.is_empty()));

    assert_eq!(post(&stack, "no-such-source", &headers, payload.as_bytes()).await.code(), "not_found");
    let huge = vec![b'x'; 300 * 1024];
    assert_eq!(post(&stack, "my-crm", &headers, &huge).await.status, 413);
    assert_eq!(stack.anonymous().get("/api/v1/webhooks/my-crm").await.status, 405);
    let off = api.patch("/v1/sources/my-crm", json!({"enabled": false})).await;
    assert_eq!(off.status, 200, "{}", off.body);
    // Receivers trust their copy of a source for a few seconds.
    eventually("the disabled source to refuse", WAIT, || async {
        let refused = post(&stack, "my-crm", &headers, payload.as_bytes()).await;
        (refused.status == 403 && refused.code() == "forbidden").then_some(())
    })
    .await;

    for (body, code) in [
        (json!({"slug": "Bad Slug", "auth_type": "hms"}), "invalid_slug"),
        (json!({"slug": "my-crm", "auth_type": "hms"}), "slug_taken"),
        (json!({"slug": "x-1", "auth_type": "carrier-pigeon"}), "invalid_field"),
        (json!({"slug": "x-2", "auth_type": "hms", "tolerance_seconds": 0}), "invalid_tolerance"),
        (json!({"slug": "x-3", "auth_type": "standard-webhooks", "secret": "not-whsec"}), "invalid_secret"),
        (json!({"slug": "x-4", "auth_type": "hms", "colour": 1}), "unknown_field"),
    ] {
        assert_eq!(api.post("/v1/sources", body.clone()).await.code(), code, "{body}");
    }
    let listed = api.get("/v1/sources").await;
    assert!(listed.body["data"][0]["secret"].as_str().unwrap().contains('*'), "secrets are masked after creation");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_stale_timestamp_is_refused_and_a_fresh_duplicate_is_absorbed() {
    let stack = Stack::start().await;
    let api = stack.admin();
    let created = source(&api, json!({"slug": "lab", "auth_type": "hms", "dedupe_key": "/id"})).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let body = br#"{"id": "result-77", "status": "final"}"#;
    let first = post(&stack, "lab", &sign(AuthType::Hms, &secret, "X-HMS", body, now(), ""), body).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let stale = post(&stack, "lab", &sign(AuthType::Hms, &secret, "X-HMS", body, now() - 301, ""), body).await;
    assert_eq!((stale.status, stale.code()), (401, "invalid_signature"));
    let again = post(&stack, "lab", &sign(AuthType::Hms, &secret, "X-HMS", body, now(), ""), body).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["status"], "duplicate");
    assert_eq!(
        again.body["correlation_id"], first.body["correlation_id"],
        "the duplicate answers with the first correlation id"
    );
    assert_eq!(again.body["id"], first.body["id"]);
    inbound_with_status(&api, first.body["id"].as_str().unwrap(), "processed").await;
    let log = api.get("/v1/inbound?source=lab").await;
    let statuses: Vec<&str> =
        log.body["data"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["processed", "duplicate"], "the duplicate is kept for the audit, not processed");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn an_inbound_webhook_reaches_an_outbound_endpoint_with_the_same_correlation_id() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let created =
        source(&api, json!({"slug": "crm", "auth_type": "github", "event_type": "crm.contact.updated"})).await;
    let endpoint = api.post("/v1/endpoints", json!({"url": receiver.url, "event_types": ["crm.*"]})).await;
    assert_eq!(endpoint.status, 201, "{}", endpoint.body);
    let body = br#"{"contact": {"id": "c-9", "phone": "+91 98765 43210"}}"#;
    let mut headers = sign(AuthType::Github, created["secret"].as_str().unwrap(), "X-HMS", body, now(), "delivery-1");
    headers.push(("X-Correlation-Id".into(), "trace-abc-123".into()));
    headers.push(("content-type".into(), "application/json".into()));
    let accepted = post(&stack, "crm", &headers, body).await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    assert_eq!(accepted.body["correlation_id"], "trace-abc-123", "a valid incoming correlation id is kept");

    let got = receiver.wait_for(1, WAIT).await;
    let envelope = got[0].json();
    assert_eq!(envelope["type"], "crm.contact.updated");
    assert_eq!(envelope["data"]["contact"]["id"], "c-9");
    assert_eq!(got[0].header("x-correlation-id"), "trace-abc-123");
    assert_eq!(envelope["metadata"]["correlation_id"], "trace-abc-123");
    let record = inbound_with_status(&api, accepted.body["id"].as_str().unwrap(), "processed").await;
    assert_eq!(record["event_id"], envelope["id"]);
    assert!(!record["body"].as_str().unwrap().contains("98765 43210"), "the stored display copy is masked");
    assert!(!record.to_string().contains("x-hub-signature"), "signatures are not kept");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_processing_failure_is_listed_and_its_replay_with_a_new_correlation_id_is_processed() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let watcher = Receiver::start().await;
    assert_eq!(
        api.post("/v1/endpoints", json!({"url": watcher.url, "event_types": ["inbound.failed"]})).await.status,
        201
    );
    source(&api, json!({"slug": "emr", "auth_type": "none", "event_type_pointer": "/event"})).await;
    let body = br#"{"patient_external_id": "cus_xyz", "call_duration_minutes": 15}"#;
    let headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    let accepted = post(&stack, "emr", &headers, body).await;
    let id = accepted.body["id"].as_str().unwrap().to_owned();
    let failed = inbound_with_status(&api, &id, "failed").await;
    assert!(failed["failure_reason"].as_str().unwrap().contains("/event"), "{failed}");
    let notice = watcher.wait_for(1, WAIT).await[0].json();
    assert_eq!(notice["type"], "inbound.failed");
    assert_eq!(notice["data"]["inbound_id"], id.as_str());
    assert_eq!(notice["metadata"]["correlation_id"], failed["correlation_id"]);
    let listed = api.get("/v1/inbound?status=failed").await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["data"][0]["id"], id.as_str());

    let fixed = api
        .patch("/v1/sources/emr", json!({"event_type_pointer": null, "event_type": "emr.video_call.completed"}))
        .await;
    assert_eq!(fixed.status, 200, "{}", fixed.body);
    let replay = api.post(&format!("/v1/inbound/{id}/replay"), json!({})).await;
    assert_eq!(replay.status, 202, "{}", replay.body);
    assert_ne!(replay.body["correlation_id"], failed["correlation_id"], "a replay gets a new correlation id");
    assert_eq!(replay.body["replay_of"], id.as_str());
    let processed = inbound_with_status(&api, replay.body["id"].as_str().unwrap(), "processed").await;
    assert_eq!(processed["event_type"], "emr.video_call.completed");
    assert_eq!(processed["replay_of"], id.as_str());

    post(&stack, "emr", &headers, b"not json at all").await;
    let bulk = api.post("/v1/inbound/replay", json!({"source": "emr", "failed_only": true})).await;
    assert_eq!(bulk.status, 202, "{}", bulk.body);
    assert_eq!(bulk.body["replayed"], 1, "only the original failure is replayed; the new one processed: {}", bulk.body);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn tenants_can_neither_list_nor_replay_each_others_inbound_records() {
    let stack = Stack::start().await;
    let acme = stack.tenant("acme").await;
    let globex = stack.tenant("globex").await;
    source(&acme, json!({"slug": "acme-crm", "auth_type": "none"})).await;
    let accepted = post(&stack, "acme-crm", &[("content-type".into(), "application/json".into())], br#"{"a":1}"#).await;
    let id = accepted.body["id"].as_str().unwrap();
    inbound_with_status(&acme, id, "processed").await;

    assert_eq!(globex.get("/v1/inbound").await.body["data"], json!([]));
    for reply in [
        globex.get(&format!("/v1/inbound/{id}")).await,
        globex.post(&format!("/v1/inbound/{id}/replay"), json!({})).await,
        globex.get("/v1/sources/acme-crm").await,
        globex.patch("/v1/sources/acme-crm", json!({"enabled": false})).await,
        globex.delete("/v1/sources/acme-crm").await,
        globex.post("/v1/inbound/replay", json!({"source": "acme-crm", "failed_only": false})).await,
    ] {
        assert_eq!(reply.status, 404, "{}", reply.body);
    }
    assert_eq!(globex.post("/v1/sources", json!({"slug": "acme-crm", "auth_type": "none"})).await.code(), "slug_taken");
    assert_eq!(acme.get("/v1/inbound").await.body["data"].as_array().unwrap().len(), 1);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_rotated_source_secret_takes_over_from_the_old_one() {
    let stack = Stack::start().await;
    let api = stack.admin();
    let old =
        source(&api, json!({"slug": "rotating", "auth_type": "github"})).await["secret"].as_str().unwrap().to_owned();
    let body = br#"{"n": 1}"#;
    let signed = |secret: &str, id: &str| sign(AuthType::Github, secret, "X-HMS", body, now(), id);
    assert_eq!(post(&stack, "rotating", &signed(&old, "d1"), body).await.status, 202);
    let rotated = api.post("/v1/sources/rotating/rotate-secret", json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let mut n = 0;
    eventually("the new secret to be accepted", WAIT, || {
        n += 1;
        let headers = signed(&new, &format!("d-new-{n}"));
        let stack = &stack;
        async move { (post(stack, "rotating", &headers, body).await.status == 202).then_some(()) }
    })
    .await;
    let refused = post(&stack, "rotating", &signed(&old, "d-old"), body).await;
    assert_eq!(refused.status, 401, "the old secret stops working");
    stack.platform.shutdown().await;
}
