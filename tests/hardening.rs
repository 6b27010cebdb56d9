//! Regressions from the outside probe: webhook loops, large inbound bodies,
//! byte-counted keys, control characters and hop-by-hop names in custom
//! headers, custom credentials in plain text, and `nosniff`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use hookline_tests::receiver::{Receiver, Reply};
use hookline_tests::{delivery_options, eventually, Api, Stack};
use serde_json::{json, Value};
use shared::inbound::MAX_INBOUND_BYTES;
use shared::inbound_auth::{sign, AuthType};
use shared::outbound::OutboundClient;
use shared::ssrf::TargetPolicy;
use tokio::net::{TcpListener, TcpStream};

const WAIT: Duration = Duration::from_secs(60);

async fn created(api: &Api, path: &str, body: Value) -> Value {
    let reply = api.post(path, body).await;
    assert_eq!(reply.status, 201, "{path}: {}", reply.body);
    reply.body
}

/// A TCP relay to `target`: the stack reached under an address its own
/// check does not know, as through a CNAME or a forwarding proxy.
async fn relay_to(target: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn an_endpoint_at_the_stacks_own_api_is_refused_in_every_spelling() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let port = stack.platform.addr.port();
    for url in [
        format!("http://127.0.0.1:{port}/api/v1/webhooks/crm"),
        format!("http://localhost:{port}/api/v1/webhooks/crm"),
        format!("http://[::ffff:127.0.0.1]:{port}/x"),
    ] {
        let reply = api.post("/v1/endpoints", json!({"url": url, "event_types": ["*"]})).await;
        assert_eq!((reply.status, reply.code()), (422, "own_api_target"), "{url}: {}", reply.body);
    }
    let receiver = Receiver::start().await;
    let fine = api.post("/v1/endpoints", json!({"url": receiver.url, "event_types": ["*"]})).await;
    assert_eq!(fine.status, 201, "a receiver on another local port is fine: {}", fine.body);
    let moved = api
        .patch(
            &format!("/v1/endpoints/{}", fine.body["id"].as_str().unwrap()),
            json!({"url": format!("http://localhost:{port}/")}),
        )
        .await;
    assert_eq!(moved.code(), "own_api_target", "a patch is checked too");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn the_delivery_client_refuses_its_own_api_at_connect_under_any_name() {
    let own = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = own.local_addr().unwrap().port();
    let mut policy =
        TargetPolicy::new("127.0.0.1/32", false).unwrap().with_own_hosts(&format!("127.0.0.1:{port}")).unwrap();
    policy.hosts.insert("alias.example.com".into(), vec!["127.0.0.1".parse().unwrap()]);
    let client = OutboundClient::new(policy, "Hookline/test");
    for url in [format!("http://localhost:{port}/"), format!("http://alias.example.com:{port}/")] {
        let err = client.post(&url, &[], "{}".into(), Duration::from_secs(2)).await.unwrap_err();
        assert_eq!(err.kind, "forbidden_target", "{url}: {}", err.detail);
    }
}

#[tokio::test]
async fn a_webhook_loop_through_a_relay_stops_at_the_hop_limit() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    created(&api, "/v1/sources", json!({"slug": "loop", "auth_type": "none"})).await;
    let relay = relay_to(stack.platform.addr).await;
    let url = format!("http://{relay}/api/v1/webhooks/loop");
    let endpoint = created(&api, "/v1/endpoints", json!({"url": url, "event_types": ["loop.*"]})).await;
    let first = stack.anonymous().post_with_headers("/api/v1/webhooks/loop", &[], br#"{"n":1}"#.to_vec()).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let correlation = first.body["correlation_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/endpoints/{}/deliveries", endpoint["id"].as_str().unwrap());
    let refused = eventually("a delivery refused as a loop", WAIT, || async {
        let list = api.get(&path).await;
        list.body["data"].as_array()?.iter().find(|d| d["status"] == "failed").cloned()
    })
    .await;
    let detail = api.get(&format!("/v1/deliveries/{}", refused["id"].as_str().unwrap())).await;
    let attempts = detail.body["attempt_log"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "a loop refusal is not retried: {}", detail.body);
    assert_eq!(attempts[0]["status_code"], 508);
    assert!(attempts[0]["response_body"].as_str().unwrap().contains("webhook_loop"), "{}", detail.body);
    // The chain: the provider's webhook, then one per hop below the limit.
    let inbound = api.get("/v1/inbound?source=loop&limit=250").await;
    let records = inbound.body["data"].as_array().unwrap();
    assert_eq!(records.len(), shared::hops::MAX_HOPS as usize, "{}", inbound.body);
    assert!(records.iter().all(|r| r["correlation_id"] == correlation.as_str()));
    let deliveries = api.get(&path).await;
    assert_eq!(deliveries.body["data"].as_array().unwrap().len(), shared::hops::MAX_HOPS as usize);
    stack.platform.shutdown().await;
}

/// A JSON object of exactly `len` bytes whose filler barely deflates.
fn big_json(len: usize) -> (Vec<u8>, String) {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let frame = r#"{"kind":"big","blob":""}"#.len();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let filler: String = (0..len - frame)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ALPHABET[(state % 64) as usize] as char
        })
        .collect();
    let body = format!(r#"{{"kind":"big","blob":"{filler}"}}"#).into_bytes();
    assert_eq!(body.len(), len);
    (body, filler)
}

#[tokio::test]
async fn a_256_kib_signed_webhook_is_received_processed_and_delivered() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let source = created(&api, "/v1/sources", json!({"slug": "big", "auth_type": "hms"})).await;
    let secret = source["secret"].as_str().unwrap().to_owned();
    let receiver = Receiver::start().await;
    created(&api, "/v1/endpoints", json!({"url": receiver.url, "event_types": ["big.*"]})).await;
    let now = chrono::Utc::now().timestamp();
    let post = |body: Vec<u8>, content_type: &'static str| {
        let mut headers = sign(AuthType::Hms, &secret, "X-HMS", &body, now, "msg_big");
        headers.push(("content-type".into(), content_type.into()));
        let anonymous = stack.anonymous();
        async move { anonymous.post_with_headers("/api/v1/webhooks/big", &headers, body).await }
    };
    let (body, filler) = big_json(MAX_INBOUND_BYTES);
    let accepted = post(body, "application/json").await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let id = accepted.body["id"].as_str().unwrap().to_owned();
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].json()["data"]["blob"].as_str().unwrap().len(), filler.len(), "delivered whole");
    assert!(got[0].json()["data"]["blob"] == filler.as_str());
    let record = api.get(&format!("/v1/inbound/{id}")).await;
    assert_eq!(record.body["status"], "processed", "{}", record.body["failure_reason"]);

    let (over, _) = big_json(MAX_INBOUND_BYTES + 1);
    let refused = post(over, "application/json").await;
    assert_eq!((refused.status, refused.code()), (413, "payload_too_large"));
    // Text whose every byte JSON escapes: within the body limit, beyond an event's.
    let quotes = vec![b'"'; 200 * 1024];
    let refused = post(quotes, "text/plain").await;
    assert_eq!((refused.status, refused.code()), (413, "payload_too_large"), "{}", refused.body);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn idempotency_keys_are_limited_in_bytes_not_characters() {
    let stack = Stack::start().await;
    let api = stack.admin();
    let publish =
        |key: String| api.post("/v1/events", json!({"type": "endpoint.test", "data": {}, "idempotency_key": key}));
    let long = publish("😀".repeat(256)).await;
    assert_eq!((long.status, long.code()), (422, "invalid_idempotency_key"), "{}", long.body);
    let fits = publish("😀".repeat(64)).await;
    assert_eq!(fits.status, 202, "256 bytes of emoji fit: {}", fits.body);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn custom_headers_refuse_control_characters_and_hop_by_hop_names() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let with = |headers: Value| {
        api.post("/v1/endpoints", json!({"url": receiver.url, "event_types": ["*"], "headers": headers}))
    };
    for value in ["a\u{1}b", "del\u{7f}", "vertical\u{b}tab"] {
        let reply = with(json!({"X-Api-Key": value})).await;
        assert_eq!((reply.status, reply.code()), (422, "invalid_header_value"), "{value:?}: {}", reply.body);
    }
    for name in ["TE", "Upgrade", "Keep-Alive", "Transfer-Encoding"] {
        let reply = with(json!({name: "x"})).await;
        assert_eq!((reply.status, reply.code()), (422, "hop_by_hop_header"), "{name}: {}", reply.body);
    }
    let tab = with(json!({"X-Note": "a\tb"})).await;
    assert_eq!(tab.status, 201, "tab is allowed: {}", tab.body);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn custom_header_values_are_sealed_masked_and_scrubbed_from_stored_responses() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    receiver.answer_by_default(Reply::status(400).echo());
    let token = format!("sk_live_{}", hex::encode(shared::ids::random_bytes::<12>()));
    let bearer = format!("Bearer {token}");
    let endpoint = created(
        &api,
        "/v1/endpoints",
        json!({"url": receiver.url, "event_types": ["endpoint.test"], "headers": {"Authorization": bearer, "X-Tenant": "7"}}),
    )
    .await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    let masked = endpoint["headers"]["Authorization"].as_str().unwrap().to_owned();
    assert!(!masked.contains(&token) && masked.ends_with(&token[token.len() - 4..]), "{masked}");
    let read = api.get(&format!("/v1/endpoints/{id}")).await;
    let listed = api.get("/v1/endpoints").await;
    assert!(!read.body.to_string().contains(&token) && !listed.body.to_string().contains(&token));
    let shown = api.get(&format!("/v1/endpoints/{id}/headers")).await;
    assert_eq!(shown.body["headers"], json!({"Authorization": bearer, "X-Tenant": "7"}));
    // Sent back as read, masked: the values are kept, not replaced by the mask.
    let echoed = api.patch(&format!("/v1/endpoints/{id}"), json!({"headers": read.body["headers"]})).await;
    assert_eq!(echoed.status, 200, "{}", echoed.body);
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.platform.sdk);
    let table = stack.platform.resource("EndpointsTable").unwrap();
    let items = dynamodb.scan().table_name(table).send().await.unwrap().items.unwrap_or_default();
    assert!(!format!("{items:?}").contains(&token), "the credential is sealed at rest");

    let sent = api.post(&format!("/v1/endpoints/{id}/test"), json!({})).await;
    assert!(sent.status < 300, "{}", sent.body);
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].header("authorization"), bearer, "the receiver gets the real value");
    let path = format!("/v1/endpoints/{id}/deliveries");
    let failed = eventually("the echoed delivery failed", WAIT, || async {
        api.get(&path).await.body["data"].as_array()?.iter().find(|d| d["status"] == "failed").cloned()
    })
    .await;
    let detail = api.get(&format!("/v1/deliveries/{}", failed["id"].as_str().unwrap())).await;
    let stored = detail.body["attempt_log"][0]["response_body"].as_str().unwrap().to_owned();
    assert!(stored.contains("authorization") && !stored.contains(&token), "scrubbed: {stored}");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn every_api_answer_says_nosniff() {
    let stack = Stack::start().await;
    let http = reqwest::Client::new();
    let base = &stack.platform.url;
    let key = format!("Bearer {}", stack.platform.admin_key);
    let answers = [
        http.get(format!("{base}/health")).send().await.unwrap(),
        http.get(format!("{base}/v1/endpoints")).header("authorization", &key).send().await.unwrap(),
        http.get(format!("{base}/v1/endpoints")).send().await.unwrap(),
        http.get(format!("{base}/v1/nowhere")).header("authorization", &key).send().await.unwrap(),
        http.post(format!("{base}/api/v1/webhooks/unknown")).body("{}").send().await.unwrap(),
    ];
    let mut seen = BTreeMap::new();
    for answer in answers {
        let status = answer.status().as_u16();
        let header = answer.headers().get("x-content-type-options").map(|v| v.to_str().unwrap().to_owned());
        seen.insert(format!("{} {status}", answer.url().path()), header);
    }
    assert!(seen.values().all(|h| h.as_deref() == Some("nosniff")), "{seen:?}");
    stack.platform.shutdown().await;
}
