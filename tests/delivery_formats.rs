//! Every seed system's consumers keep working: each seed's own verification
//! code (tests/seeds/, copied from the seed unchanged) verifies and parses
//! real deliveries from the local stack; an endpoint's own retry schedule is
//! followed; a rate limit holds across concurrent workers.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use hookline::dev::moto::free_port;
use hookline_tests::consumer::{line_starting, listening};
use hookline_tests::receiver::{Receiver, Reply};
use hookline_tests::{delivery_options, eventually, Api, Stack};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

const WAIT: Duration = Duration::from_secs(60);

fn seeds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
}

/// Data a consumer must parse unchanged: a float, a negative number, text
/// beyond ASCII.
fn awkward_data() -> Value {
    json!({"invoice": "INV-7", "amount": 1234.56, "delta": -42, "patient": "Aarav Müller ✓ 日本", "paid": true})
}

/// One seed's consumer listening on `port`, verifying with `secret`.
fn consumer(seed: &str, port: u16, secret: &str) -> Child {
    let dir = seeds();
    let mut cmd = match seed {
        "000" => {
            let mut c = Command::new("php");
            c.args(["-S", &format!("127.0.0.1:{port}")]).arg(dir.join("seed000.php")).env("HOOKLINE_SECRET", secret);
            c
        }
        "001" | "003" => {
            let mut c = Command::new("python3");
            c.arg(dir.join(format!("seed{seed}.py"))).arg(secret);
            c
        }
        "004" => {
            let mut c = Command::new("node");
            c.arg(dir.join("seed004.js")).arg(secret);
            c
        }
        other => panic!("no seed {other}"),
    };
    cmd.env("RECEIVER_PORT", port.to_string()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    cmd.spawn().unwrap_or_else(|e| panic!("seed {seed}'s consumer runs: {e}"))
}

/// What the consumer printed after `verified `: the fields it parsed.
async fn parsed(child: &mut Child) -> Value {
    let line = line_starting(child, "verified ", WAIT).await.expect("the consumer verified a delivery");
    serde_json::from_str(&line["verified ".len()..]).expect("the consumer prints JSON")
}

async fn endpoint(api: &Api, url: &str, options: Value) -> Value {
    let mut body = json!({"url": url, "event_types": ["bill.paid"], "max_retries": 0});
    body.as_object_mut().unwrap().extend(options.as_object().cloned().unwrap_or_default());
    let created = api.post("/v1/endpoints", body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body
}

async fn publish(api: &Api, data: Value) {
    let published = api.post("/v1/events", json!({"type": "bill.paid", "data": data})).await;
    assert_eq!(published.status, 202, "{}", published.body);
}

async fn only_delivery(api: &Api, endpoint_id: &str, status: &str) -> Value {
    eventually(&format!("a {status} delivery"), WAIT, || async {
        let page = api.get(&format!("/v1/endpoints/{endpoint_id}/deliveries")).await;
        page.body["data"].as_array()?.first().filter(|d| d["status"] == status).cloned()
    })
    .await
}

/// The endpoint options that make each seed's consumers work unchanged.
fn seed_options(seed: &str) -> Value {
    match seed {
        "000" => json!({}),
        "001" => json!({"envelope": "event", "legacy_signature": true}),
        "003" => json!({"envelope": "event-meta", "signature": {"header": "X-C4HXP-Signature", "prefix": "sha256="}}),
        "004" => json!({"envelope": "data", "signature": {"header": "X-Webhook-Signature", "prefix": ""}}),
        other => panic!("no seed {other}"),
    }
}

async fn check_seed(stack: &Stack, seed: &str) {
    let api = stack.admin();
    for right_secret in [true, false] {
        let port = free_port().unwrap();
        let created = endpoint(&api, &format!("http://127.0.0.1:{port}/webhooks"), seed_options(seed)).await;
        let (id, secret) = (created["id"].as_str().unwrap(), created["secret"].as_str().unwrap());
        let given = if right_secret { secret.to_owned() } else { format!("{secret}x") };
        let mut child = consumer(seed, port, &given);
        listening(&format!("seed {seed}'s consumer"), port, &mut child, WAIT).await;
        publish(&api, awkward_data()).await;
        if right_secret {
            let seen = parsed(&mut child).await;
            let delivered = only_delivery(&api, id, "delivered").await;
            assert_eq!(seen["event"], "bill.paid", "seed {seed}: {seen}");
            assert_eq!(seen["id"], delivered["id"], "seed {seed}: the delivery id it reads");
            assert_eq!(seen["data"], awkward_data(), "seed {seed} parses the data unchanged");
            if seed == "001" {
                let at = seen["timestamp"].as_str().unwrap();
                assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "seed 001's timestamp: {at}");
            }
        } else {
            let failed = only_delivery(&api, id, "failed").await;
            assert_eq!(failed["last_status_code"], 401, "seed {seed} refuses a wrong secret: {failed}");
        }
        let _ = child.kill().await;
    }
}

#[tokio::test]
async fn each_seeds_own_verification_code_accepts_real_deliveries_and_refuses_a_wrong_secret() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    for seed in ["000", "001", "003", "004"] {
        check_seed(&stack, seed).await;
    }
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn an_endpoints_own_retry_schedule_sets_when_each_retry_comes() {
    let stack = Stack::start_with(delivery_options(1.0)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    receiver.script(vec![Reply::status(503), Reply::status(503)]);
    let created = endpoint(&api, &receiver.url, json!({"retry_schedule_seconds": [2, 4], "max_retries": null})).await;
    assert_eq!(created["max_retries"], 2, "the schedule's length is the retry count: {created}");
    assert_eq!(created["retry_schedule_seconds"], json!([2, 4]));
    publish(&api, json!({"invoice": "INV-1"})).await;
    let got = receiver.wait_for(3, WAIT).await;
    let first = (got[1].at - got[0].at).as_secs_f64();
    let second = (got[2].at - got[0].at).as_secs_f64();
    // 2 s and 2 + 4 s, each delay within ±20 % jitter, plus the queue's own latency.
    assert!((1.5..4.0).contains(&first), "the first retry came {first:.2} s after the first attempt");
    assert!((4.7..9.0).contains(&second), "the second retry came {second:.2} s after the first attempt");
    let done = only_delivery(&api, created["id"].as_str().unwrap(), "delivered").await;
    assert_eq!(done["attempts"], 3);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_rate_limited_endpoint_gets_no_more_than_its_limit_in_any_second_and_loses_nothing() {
    let mut opts = delivery_options(0.01);
    opts.sqs_concurrency = 2;
    let stack = Stack::start_with(opts).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let created = endpoint(&api, &receiver.url, json!({"rate_limit_per_second": 5})).await;
    for n in 0..60 {
        publish(&api, json!({"n": n})).await;
    }
    let got = receiver.wait_for(60, Duration::from_secs(90)).await;
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("x-delivery-id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 60, "every event arrived once");
    let mut at: Vec<_> = got.iter().map(|r| r.at).collect();
    at.sort_unstable();
    let busiest = (0..at.len()).map(|i| at[i..].iter().take_while(|t| **t - at[i] < Duration::from_secs(1)).count());
    let busiest = busiest.max().unwrap();
    assert!(busiest <= 6, "{busiest} attempts started within one second; the limit is 5");
    let page = api.get(&format!("/v1/endpoints/{}/deliveries?limit=100", created["id"].as_str().unwrap())).await;
    let deliveries = page.body["data"].as_array().unwrap();
    assert_eq!(deliveries.len(), 60);
    assert!(
        deliveries.iter().all(|d| d["status"] == "delivered" && d["attempts"] == 1),
        "waiting for a slot is not an attempt and not a failure"
    );
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn delivery_options_are_checked_shown_changed_and_cleared() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let url = "https://consumer.example/hooks";
    let refused = [
        (json!({"signature": {"header": "X-HMS-Signature"}}), "reserved_signature_header"),
        (json!({"signature": {"header": "webhook-signature"}}), "reserved_signature_header"),
        (json!({"signature": {"header": "X Sig"}}), "invalid_signature_header"),
        (json!({"signature": {"header": "X-Signature"}, "legacy_signature": true}), "signature_header_conflict"),
        (json!({"signature": {"header": "X-Sig"}, "headers": {"x-sig": "1"}}), "signature_header_conflict"),
        (json!({"signature": {"header": "X-Sig", "prefix": "a b"}}), "invalid_signature_prefix"),
        (json!({"retry_schedule_seconds": [-1]}), "invalid_retry_schedule"),
        (json!({"retry_schedule_seconds": [0]}), "invalid_retry_schedule"),
        (json!({"retry_schedule_seconds": []}), "invalid_retry_schedule"),
        (json!({"retry_schedule_seconds": vec![1; 21]}), "invalid_retry_schedule"),
        (json!({"retry_schedule_seconds": [86_401]}), "invalid_retry_schedule"),
        (json!({"retry_schedule_seconds": [1, 2], "max_retries": 5}), "retry_schedule_conflict"),
        (json!({"rate_limit_per_second": 0}), "invalid_rate_limit"),
        (json!({"rate_limit_per_second": 1001}), "invalid_rate_limit"),
        (json!({"rate_limit_per_second": -3}), "invalid_rate_limit"),
    ];
    for (options, code) in refused {
        let mut body = json!({"url": url, "event_types": ["bill.paid"]});
        body.as_object_mut().unwrap().extend(options.as_object().cloned().unwrap());
        let reply = api.post("/v1/endpoints", body.clone()).await;
        assert_eq!((reply.status, reply.code()), (422, code), "{body} -> {}", reply.body);
    }
    let bad_shape = api.post("/v1/endpoints", json!({"url": url, "event_types": ["*"], "envelope": "xml"})).await;
    assert_eq!(bad_shape.status, 422, "{}", bad_shape.body);
    assert!(bad_shape.body["detail"].as_str().unwrap().contains("envelope"), "{}", bad_shape.body);

    let options = json!({
        "url": url, "event_types": ["bill.paid"], "envelope": "event-meta", "rate_limit_per_second": 20,
        "retry_schedule_seconds": [60, 300, 1800, 7200, 21600],
        "signature": {"header": "X-C4HXP-Signature", "prefix": "sha256="},
    });
    let created = api.post("/v1/endpoints", options).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let shown = api.get(&format!("/v1/endpoints/{id}")).await.body;
    assert_eq!(shown["envelope"], "event-meta");
    assert_eq!(shown["max_retries"], 5, "seed 003's schedule: five retries");
    assert_eq!(
        shown["signature"],
        json!({"header": "X-C4HXP-Signature", "content": "body", "encoding": "hex", "prefix": "sha256="})
    );
    assert_eq!(shown["rate_limit_per_second"], 20);
    let path = format!("/v1/endpoints/{id}");
    let patched = api.patch(&path, json!({"envelope": "data", "signature": {"header": "X-Other"}})).await;
    assert_eq!((patched.status, &patched.body["envelope"]), (200, &json!("data")), "{}", patched.body);
    assert_eq!(patched.body["signature"]["header"], "X-Other");
    let conflict = api.patch(&path, json!({"max_retries": 2})).await;
    assert_eq!(conflict.code(), "retry_schedule_conflict", "{}", conflict.body);
    let cleared = api
        .patch(&path, json!({"signature": null, "retry_schedule_seconds": null, "rate_limit_per_second": null}))
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    for field in ["signature", "retry_schedule_seconds", "rate_limit_per_second"] {
        assert!(cleared.body[field].is_null(), "{field} cleared: {}", cleared.body);
    }
    assert_eq!(cleared.body["max_retries"], 5, "the retry count stays");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn the_delivery_detail_names_every_signature_header_the_request_carried() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let created = endpoint(&api, &receiver.url, json!({"signature": {"header": "X-C4HXP-Signature"}})).await;
    publish(&api, json!({"invoice": "INV-2"})).await;
    let got = receiver.wait_for(1, WAIT).await;
    assert!(!got[0].header("x-c4hxp-signature").is_empty());
    let delivered = only_delivery(&api, created["id"].as_str().unwrap(), "delivered").await;
    let detail = api.get(&format!("/v1/deliveries/{}", delivered["id"].as_str().unwrap())).await.body;
    assert_eq!(
        detail["attempt_log"][0]["signed_headers"],
        json!(["X-HMS-Signature", "webhook-signature", "X-C4HXP-Signature"]),
        "{detail}"
    );
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn the_cli_creates_and_updates_an_endpoints_delivery_options() {
    let stack = Stack::start().await;
    let created = stack
        .cli_as_admin(&[
            "--json",
            "endpoints",
            "create",
            "--url",
            "https://lab.example/hooks",
            "--event-type",
            "bill.paid",
            "--envelope",
            "event-meta",
            "--signature-header",
            "X-C4HXP-Signature",
            "--signature-prefix",
            "sha256=",
            "--retry-schedule",
            "60,300,1800",
            "--rate-limit",
            "5",
        ])
        .await;
    assert!(created.success, "{}", created.stderr);
    let v = created.json();
    assert_eq!(
        (&v["envelope"], &v["rate_limit_per_second"], &v["max_retries"]),
        (&json!("event-meta"), &json!(5), &json!(3))
    );
    assert_eq!(v["signature"]["prefix"], "sha256=");
    let id = v["id"].as_str().unwrap().to_owned();
    let shown = stack.cli_as_admin(&["endpoints", "get", &id]).await;
    assert!(shown.stdout.contains("X-C4HXP-Signature: sha256= + hex HMAC(body)"), "{}", shown.stdout);
    assert!(shown.stdout.contains("60, 300, 1800 s") && shown.stdout.contains("5 per second"), "{}", shown.stdout);
    let updated =
        stack.cli_as_admin(&["--json", "endpoints", "update", &id, "--clear-rate-limit", "--envelope", "data"]).await;
    assert!(updated.success, "{}", updated.stderr);
    assert_eq!((&updated.json()["rate_limit_per_second"], &updated.json()["envelope"]), (&Value::Null, &json!("data")));
    let refused = stack.cli_as_admin(&["endpoints", "update", &id, "--rate-limit", "5000"]).await;
    assert!(!refused.success);
    assert_eq!(refused.stderr.trim().lines().count(), 1, "one line: {}", refused.stderr);
    assert!(refused.stderr.contains("rate_limit_per_second"), "{}", refused.stderr);
    let nothing = stack.cli_as_admin(&["endpoints", "update", &id]).await;
    assert!(!nothing.success && nothing.stderr.contains("nothing to change"), "{}", nothing.stderr);
    stack.platform.shutdown().await;
}
