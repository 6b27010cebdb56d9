//! The SSRF sweep: every spelling of loopback, private, link-local, metadata
//! and reserved targets is refused when an endpoint is registered, and again
//! by the delivery client when it would connect, also when the URL reached
//! the table without validation or a receiver redirects to it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use hookline_tests::receiver::{Receiver, Reply};
use hookline_tests::{delivery_options, eventually, Api, Stack};
use serde_json::{json, Value};
use shared::outbound::OutboundClient;
use shared::ssrf::TargetPolicy;

const WAIT: Duration = Duration::from_secs(40);
const FORBIDDEN: &str = "forbidden_target";

/// Targets no endpoint may have, and the code registration answers with.
const TARGETS: &[(&str, &str)] = &[
    // IPv4 loopback, in every spelling the URL standard folds into 127.0.0.1.
    ("https://127.0.0.1/", FORBIDDEN),
    ("https://127.0.0.1./", FORBIDDEN),
    ("https://127.1/", FORBIDDEN),
    ("https://127.0.1/", FORBIDDEN),
    ("https://127.255.255.254/", FORBIDDEN),
    ("https://2130706433/", FORBIDDEN),
    ("https://0x7f000001/", FORBIDDEN),
    ("https://0x7f.1/", FORBIDDEN),
    ("https://0X7F.0X0.0X0.0X1/", FORBIDDEN),
    ("https://017700000001/", FORBIDDEN),
    ("https://0177.0.0.1/", FORBIDDEN),
    ("https://0177.1/", FORBIDDEN),
    ("https://%31%32%37.0.0.1/", FORBIDDEN),
    ("https://\u{ff11}\u{ff12}\u{ff17}.\u{ff10}.\u{ff10}.\u{ff11}/", FORBIDDEN),
    // Unspecified (connects to this machine on Linux).
    ("https://0.0.0.0/", FORBIDDEN),
    ("https://0/", FORBIDDEN),
    ("https://0x0/", FORBIDDEN),
    // RFC 1918 private ranges, plain and encoded.
    ("https://10.0.0.1/", FORBIDDEN),
    ("https://012.0.0.1/", FORBIDDEN),
    ("https://167772161/", FORBIDDEN),
    ("https://172.16.0.1/", FORBIDDEN),
    ("https://172.31.255.254/", FORBIDDEN),
    ("https://192.168.0.1/", FORBIDDEN),
    ("https://0xc0a80001/", FORBIDDEN),
    ("https://3232235521/", FORBIDDEN),
    // Link-local and the cloud metadata service.
    ("https://169.254.169.254/latest/meta-data/", FORBIDDEN),
    // Azure's host-service address, in public space.
    ("https://168.63.129.16/machine?comp=goalstate", FORBIDDEN),
    ("http://[::ffff:168.63.129.16]:32526/", FORBIDDEN),
    ("https://2852039166/", FORBIDDEN),
    ("https://0xa9fea9fe/", FORBIDDEN),
    ("https://0251.0376.0251.0376/", FORBIDDEN),
    ("https://169.254.0.1/", FORBIDDEN),
    // Carrier-grade NAT, benchmarking, protocol assignments, documentation.
    ("https://100.64.0.1/", FORBIDDEN),
    ("https://100.127.255.254/", FORBIDDEN),
    ("https://198.18.0.1/", FORBIDDEN),
    ("https://192.0.0.170/", FORBIDDEN),
    ("https://192.0.2.1/", FORBIDDEN),
    // Multicast, reserved, broadcast.
    ("https://224.0.0.1/", FORBIDDEN),
    ("https://239.255.255.250/", FORBIDDEN),
    ("https://240.0.0.1/", FORBIDDEN),
    ("https://255.255.255.255/", FORBIDDEN),
    // IPv6 loopback and unspecified.
    ("https://[::1]/", FORBIDDEN),
    ("https://[0:0:0:0:0:0:0:1]/", FORBIDDEN),
    ("https://[::]/", FORBIDDEN),
    // IPv4 carried inside IPv6: mapped, translated, compatible, NAT64, 6to4, Teredo.
    ("https://[::ffff:127.0.0.1]/", FORBIDDEN),
    ("https://[::FFFF:7f00:1]/", FORBIDDEN),
    ("https://[::ffff:169.254.169.254]/", FORBIDDEN),
    ("https://[::ffff:10.0.0.1]/", FORBIDDEN),
    ("https://[::ffff:0:127.0.0.1]/", FORBIDDEN),
    ("https://[::127.0.0.1]/", FORBIDDEN),
    ("https://[64:ff9b::7f00:1]/", FORBIDDEN),
    ("https://[64:ff9b::169.254.169.254]/", FORBIDDEN),
    ("https://[64:ff9b:1::a00:1]/", FORBIDDEN),
    ("https://[2002:7f00:1::]/", FORBIDDEN),
    ("https://[2002:a9fe:a9fe::1]/", FORBIDDEN),
    ("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", FORBIDDEN),
    // IPv6 link-local, unique-local (incl. the EC2 metadata address), site-local, multicast, reserved.
    ("https://[fe80::1]/", FORBIDDEN),
    ("https://[febf::1]/", FORBIDDEN),
    ("https://[fc00::1]/", FORBIDDEN),
    ("https://[fd00::1]/", FORBIDDEN),
    ("https://[fd00:ec2::254]/", FORBIDDEN),
    ("https://[fec0::1]/", FORBIDDEN),
    ("https://[ff02::1]/", FORBIDDEN),
    ("https://[100::1]/", FORBIDDEN),
    ("https://[2001:db8::1]/", FORBIDDEN),
    ("https://[3fff::1]/", FORBIDDEN),
    ("https://[4000::1]/", FORBIDDEN),
    // A zone id cannot be written in a URL at all.
    ("https://[fe80::1%25eth0]/", "invalid_url"),
    // Names for this machine or an internal network.
    ("https://localhost/", FORBIDDEN),
    ("https://LOCALHOST./", FORBIDDEN),
    ("https://localhost:8443/hook", FORBIDDEN),
    ("https://api.localhost/", FORBIDDEN),
    ("https://metadata.google.internal/computeMetadata/v1/", FORBIDDEN),
];

/// Public-looking names whose DNS answers point inside (as after a rebinding).
fn internal_names() -> BTreeMap<String, Vec<IpAddr>> {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    BTreeMap::from([
        ("rebind.example.com".to_owned(), vec![ip("127.0.0.1")]),
        ("metadata.example.com".to_owned(), vec![ip("169.254.169.254")]),
        ("private.example.com".to_owned(), vec![ip("10.0.0.5"), ip("192.168.1.5")]),
        ("ec2-v6.example.com".to_owned(), vec![ip("fd00:ec2::254")]),
        ("mapped.example.com".to_owned(), vec![ip("::ffff:169.254.169.254")]),
        ("cgnat.example.com".to_owned(), vec![ip("100.100.100.200")]),
    ])
}

#[test]
fn the_sweep_covers_at_least_forty_targets() {
    assert!(TARGETS.len() + internal_names().len() >= 40, "{} targets", TARGETS.len());
}

#[tokio::test]
async fn every_forbidden_target_is_refused_at_registration_with_a_specific_code() {
    let stack = Stack::start().await;
    let api = stack.admin();
    for (url, code) in TARGETS {
        let reply = api.post("/v1/endpoints", json!({"url": url, "event_types": ["bill.paid"]})).await;
        assert_eq!((reply.status, reply.code()), (422, *code), "{url}: {}", reply.body);
        assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{url}");
        let plain = api.post("/v1/endpoints", json!({"url": url.replace("https", "http"), "event_types": ["*"]})).await;
        assert_eq!(plain.code(), *code, "plain http changes nothing: {url}");
    }
    assert_eq!(api.get("/v1/endpoints").await.body["data"], json!([]), "no endpoint was created");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn the_delivery_client_refuses_to_connect_to_any_forbidden_target() {
    let policy = TargetPolicy { hosts: internal_names(), ..TargetPolicy::default() };
    let client = OutboundClient::new(policy.clone(), "Hookline/test");
    let named: Vec<String> = internal_names().keys().map(|n| format!("https://{n}/hook")).collect();
    let urls = TARGETS.iter().map(|(url, _)| url.to_string()).chain(named);
    for url in urls {
        // Registration already says no (and so nothing below would ever send a packet) ...
        assert!(policy.vet_endpoint_url(&url).await.is_err(), "{url} passes registration");
        // ... and the client says no again on its own, before connecting.
        let refused = client.post(&url, &[], "{}".into(), Duration::from_secs(2)).await.unwrap_err();
        let expected = if url.contains("%25") { "io" } else { FORBIDDEN };
        assert_eq!(refused.kind, expected, "{url}: {refused:?}");
    }
}

#[tokio::test]
async fn a_name_with_one_allowed_and_one_forbidden_address_connects_only_to_the_allowed_one() {
    let receiver = Receiver::start().await;
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let mut policy = TargetPolicy::new("127.0.0.1/32", false).unwrap();
    policy.hosts.insert("mixed.example.com".into(), vec![ip("169.254.169.254"), ip("127.0.0.1")]);
    let client = OutboundClient::new(policy, "Hookline/test");
    let url = format!("http://mixed.example.com:{}/hook", receiver.port);
    let answer = client.post(&url, &[], "{\"n\":1}".into(), Duration::from_secs(10)).await.unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(receiver.received().len(), 1, "the allowed address got the request");
}

/// Points a stored endpoint at `url` directly in the table, as if its DNS had changed.
async fn repoint(stack: &Stack, endpoint_id: &str, url: &str) {
    aws_sdk_dynamodb::Client::new(&stack.platform.sdk)
        .update_item()
        .table_name(stack.platform.resource("EndpointsTable").unwrap())
        .key("tenant_id", AttributeValue::S("default".into()))
        .key("endpoint_id", AttributeValue::S(endpoint_id.into()))
        .update_expression("SET #u = :u")
        .expression_attribute_names("#u", "url")
        .expression_attribute_values(":u", AttributeValue::S(url.into()))
        .send()
        .await
        .unwrap();
}

async fn failed_delivery(api: &Api, endpoint_id: &str) -> Value {
    eventually(&format!("a failed delivery to {endpoint_id}"), WAIT, || async {
        let list = api.get(&format!("/v1/endpoints/{endpoint_id}/deliveries")).await;
        let found = list.body["data"].as_array()?.iter().find(|d| d["status"] == "failed")?.clone();
        Some(api.get(&format!("/v1/deliveries/{}", found["id"].as_str()?)).await.body)
    })
    .await
}

#[tokio::test]
async fn endpoints_stored_without_validation_are_refused_at_connect_time() {
    let stack = Stack::start().await;
    let api = stack.admin();
    // Something really listens on this machine, so a gap would show as a request.
    let receiver = Receiver::start().await;
    let port = receiver.port;
    let spellings = [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://127.1:{port}/hook"),
        format!("http://2130706433:{port}/hook"),
        format!("http://0x7f.1:{port}/hook"),
        format!("http://0177.0.0.1:{port}/hook"),
        format!("http://0.0.0.0:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        format!("http://[::1]:{port}/hook"),
        format!("http://[::]:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        format!("http://[::ffff:0:7f00:1]:{port}/hook"),
        format!("http://[::127.0.0.1]:{port}/hook"),
    ];
    let mut endpoints = Vec::new();
    for url in &spellings {
        let created = api
            .post("/v1/endpoints", json!({"url": "https://hooks.example.com/in", "event_types": ["bill.paid"]}))
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_str().unwrap().to_owned();
        repoint(&stack, &id, url).await;
        endpoints.push((id, url));
    }
    let published = api.post("/v1/events", json!({"type": "bill.paid", "data": {"n": 1}})).await;
    assert_eq!(published.status, 202, "{}", published.body);

    for (id, url) in &endpoints {
        let failed = failed_delivery(&api, id).await;
        let attempts = failed["attempt_log"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{url}: refused once, never retried");
        assert_eq!(attempts[0]["error_kind"], FORBIDDEN, "{url}: {}", attempts[0]);
        assert_eq!(attempts[0]["status_code"], Value::Null, "{url}: no request was answered");
    }
    assert!(receiver.received().is_empty(), "nothing reached this machine: {:?}", receiver.received());
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_redirect_to_an_internal_target_is_not_followed_and_the_delivery_fails() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    // An IPv6 loopback listener outside the 127.0.0.1/32 allow-list counts connections.
    let internal = tokio::net::TcpListener::bind("[::1]:0").await.unwrap();
    let internal_port = internal.local_addr().unwrap().port();
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    tokio::spawn(async move {
        while internal.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let receiver = Receiver::start().await;
    receiver.answer_by_default(Reply::status(302).header("location", &format!("http://[::1]:{internal_port}/admin")));
    let created = api.post("/v1/endpoints", json!({"url": receiver.url, "event_types": ["bill.paid"]})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    api.post("/v1/events", json!({"type": "bill.paid", "data": {"n": 1}})).await;

    let failed = failed_delivery(&api, id).await;
    let attempts = failed["attempt_log"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "a redirect is a permanent failure: {attempts:?}");
    assert_eq!(attempts[0]["status_code"], 302);
    assert_eq!(attempts[0]["outcome"], "failed");
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(reached.load(Ordering::SeqCst), 0, "the redirect target was never contacted");
    stack.platform.shutdown().await;
}
