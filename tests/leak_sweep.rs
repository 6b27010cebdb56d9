//! The leak sweep: the whole local stack with API keys, endpoint and source
//! secrets, payloads carrying Aadhaar, PAN and Indian phone numbers,
//! outbound deliveries that succeed and fail against receivers that echo the
//! request back (headers included, as echo services do), and signed inbound
//! webhooks of every auth type, good, forged and repeated. Endpoints carry
//! receivers' credentials as custom headers. Afterwards no secret (those
//! credentials included), no signature actually sent or received, and no unmasked
//! identifier may appear in the captured logs (debug level) or in a stored
//! audit row.
//!
//! Audit rows: every item of every table of the stack. Two carve-outs:
//! `*_sealed` attributes are AEAD ciphertext, and the outbox's `payload` is
//! the customer's event as published (it is what gets delivered), so it is
//! not searched for identifiers, though still for secrets and signatures.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use hookline::dev::template::Template;
use hookline_tests::receiver::{Receiver, Reply};
use hookline_tests::{delivery_options, eventually, project_template, Api, Stack};
use lambda_http::tracing::subscriber;
use serde_json::{json, Value};
use shared::inbound_auth::{sign, AuthType};

const WAIT: Duration = Duration::from_secs(60);
const AADHAAR: &str = "2345 6789 0123";
const PAN: &str = "ABCDE1234F";
const PHONE: &str = "+91 98765 43210";

/// Every spelling of the identifiers that must not survive unmasked.
const IDENTIFIERS: &[&str] = &["2345 6789 0123", "234567890123", "ABCDE1234F", "98765 43210", "9876543210"];

/// Everything the platform logs, from the first test on.
fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let collector = subscriber::fmt()
            .with_ansi(false)
            .with_max_level(lambda_http::tracing::Level::DEBUG)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        lambda_http::tracing::subscriber::util::SubscriberInitExt::init(collector);
        logs
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn payload(kind: &str) -> Value {
    json!({
        "kind": kind,
        "patient": {"name": "A. Sharma", "aadhaar": AADHAAR, "pan": PAN, "phone": PHONE},
        "note": format!("Aadhaar {AADHAAR}, PAN {PAN}, call {PHONE} or 9876543210"),
    })
}

/// A value and the long tokens inside it (hex and base64 digests, keys), so
/// a secret or signature is found even when only its digest part was copied.
fn with_parts(value: &str) -> Vec<String> {
    let mut out = vec![value.to_owned()];
    out.extend(value.split([' ', ',', '=', ':']).filter(|p| p.len() >= 16 && *p != value).map(str::to_owned));
    out
}

/// The header values that carry a signature or a credential.
fn credentials(headers: &[(String, String)]) -> Vec<String> {
    let carries = |name: &str| {
        let name = name.to_ascii_lowercase();
        name.contains("signature") || name.contains("hmac") || name == "authorization"
    };
    headers.iter().filter(|(k, _)| carries(k)).map(|(_, v)| v.clone()).collect()
}

async fn created(api: &Api, path: &str, body: Value) -> Value {
    let reply = api.post(path, body).await;
    assert!(reply.status == 200 || reply.status == 201, "{path}: {} {}", reply.status, reply.body);
    reply.body
}

/// Every item of every table of the stack, `*_sealed` attributes dropped.
async fn audit_rows(stack: &Stack) -> Vec<(String, Value)> {
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.platform.sdk);
    let template = Template::load(&project_template()).unwrap();
    let mut rows = Vec::new();
    for (id, _) in template.of_type("AWS::DynamoDB::Table") {
        let table = stack.platform.resource(id).unwrap().to_owned();
        let mut start = None;
        loop {
            let page = dynamodb.scan().table_name(&table).set_exclusive_start_key(start).send().await.unwrap();
            for mut item in page.items.unwrap_or_default() {
                item.retain(|k, _| !k.ends_with("_sealed"));
                for (name, value) in item.iter_mut() {
                    // A deflated outbox payload is searched as the text it holds.
                    if let AttributeValue::B(bytes) = value {
                        let text = match name.as_str() {
                            "payload" => shared::packed::unpack(bytes.as_ref()).unwrap(),
                            _ => String::from_utf8_lossy(bytes.as_ref()).into_owned(),
                        };
                        *value = AttributeValue::S(text);
                    }
                }
                let row: Value = serde_dynamo::from_item(item).unwrap();
                rows.push((id.clone(), row));
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
    }
    rows
}

#[tokio::test]
async fn no_secret_signature_or_identifier_reaches_a_log_or_an_audit_row() {
    let logs = captured_logs().clone();
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let admin = stack.admin();
    let mut secrets: Vec<String> = vec![stack.platform.admin_key.clone()];

    // A tenant key, used once.
    let key = created(&admin, "/v1/api-keys", json!({"name": "clinic", "tenant_id": "default"})).await;
    let tenant_key = key["key"].as_str().unwrap().to_owned();
    assert_eq!(stack.as_key(&tenant_key).get("/v1/endpoints").await.status, 200);
    secrets.push(tenant_key);

    // Outbound: one endpoint that takes everything, one that keeps failing, one that refuses.
    let ok = Receiver::start().await;
    ok.answer_by_default(Reply::status(200).echo());
    let failing = Receiver::start().await;
    failing.answer_by_default(Reply::status(503).header("x-request-id", "req-1").echo());
    let refusing = Receiver::start().await;
    refusing.answer_by_default(Reply::status(400).echo());
    let mut endpoints = BTreeMap::new();
    // Receivers' own credentials, as custom headers: secrets too.
    let bearer = format!("rcv_{}", hex::encode(shared::ids::random_bytes::<16>()));
    let api_key = format!("key-{}", hex::encode(shared::ids::random_bytes::<12>()));
    secrets.extend([bearer.clone(), api_key.clone()]);
    for (name, url, extra) in [
        (
            "ok",
            &ok.url,
            json!({"event_types": ["*"], "legacy_signature": true, "headers": {"Authorization": format!("Bearer {bearer}")}}),
        ),
        (
            "failing",
            &failing.url,
            json!({"event_types": ["bill.paid"], "max_retries": 1, "headers": {"X-Api-Key": api_key}}),
        ),
        ("refusing", &refusing.url, json!({"event_types": ["bill.paid"]})),
    ] {
        let mut body = json!({"url": url, "name": name});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let endpoint = created(&admin, "/v1/endpoints", body).await;
        secrets.push(endpoint["secret"].as_str().unwrap().to_owned());
        endpoints.insert(name, endpoint["id"].as_str().unwrap().to_owned());
    }
    // A rotation with a grace period: both keys sign for a while.
    let rotated = created(&admin, &format!("/v1/endpoints/{}/rotate-secret", endpoints["ok"]), json!({})).await;
    secrets.push(rotated["secret"].as_str().unwrap().to_owned());
    let published = admin.post("/v1/events", json!({"type": "bill.paid", "data": payload("bill")})).await;
    assert_eq!(published.status, 202, "{}", published.body);

    // Inbound: every auth type, signed; a forged copy of each; one repeat.
    let mut sent_signatures = Vec::new();
    let kinds = hookline_tests::SIGNED_AUTH_TYPES;
    let mut inbound_ids = Vec::new();
    for (n, (auth, name)) in kinds.into_iter().enumerate() {
        let slug = format!("leak-{name}");
        // The hms source maps its event type from the payload, and this
        // payload's is unusable: a processing failure with a reason.
        let mapping = if auth == AuthType::Hms {
            json!({"event_type_pointer": "/kind"})
        } else {
            json!({"event_type": "crm.contact.updated"})
        };
        let mut body = json!({"slug": slug, "auth_type": name});
        body.as_object_mut().unwrap().extend(mapping.as_object().unwrap().clone());
        let source = created(&admin, "/v1/sources", body).await;
        let secret = source["secret"].as_str().unwrap().to_owned();
        secrets.push(secret.clone());
        let kind = if auth == AuthType::Hms { format!("call {PHONE}") } else { "contact.updated".to_owned() };
        let (body, content_type) = if auth == AuthType::Slack {
            (
                format!("text=Aadhaar+{}&phone=9876543210&pan={PAN}", AADHAAR.replace(' ', "+")),
                "application/x-www-form-urlencoded",
            )
        } else {
            (payload(&kind).to_string(), "application/json")
        };
        let now = chrono::Utc::now().timestamp();
        let mut headers = sign(auth, &secret, "X-HMS", body.as_bytes(), now, &format!("msg_leak_{n}"));
        sent_signatures.extend(credentials(&headers));
        headers.push(("content-type".into(), content_type.into()));
        let path = format!("/api/v1/webhooks/{slug}");
        let accepted = stack.anonymous().post_with_headers(&path, &headers, body.clone().into_bytes()).await;
        assert_eq!(accepted.status, 202, "{name}: {}", accepted.body);
        inbound_ids.push(accepted.body["id"].as_str().unwrap().to_owned());
        if auth == AuthType::Github {
            let again = stack.anonymous().post_with_headers(&path, &headers, body.clone().into_bytes()).await;
            assert_eq!(again.status, 200, "a repeat is absorbed: {}", again.body);
        }
        let forged_secret = "whsec_c29tZW9uZSBlbHNlJ3Mgc2VjcmV0IGtleSBvZiAzMiBi";
        let forged = sign(auth, forged_secret, "X-HMS", body.as_bytes(), now, &format!("msg_forged_{n}"));
        sent_signatures.extend(credentials(&forged));
        let refused = stack.anonymous().post_with_headers(&path, &forged, body.into_bytes()).await;
        assert_eq!(refused.status, 401, "{name}: {}", refused.body);
    }

    // Settled: every inbound record finished, the failing and refusing
    // deliveries failed, and the catch-all endpoint got every event.
    for id in &inbound_ids {
        eventually(&format!("inbound {id} finished"), WAIT, || async {
            let r = admin.get(&format!("/v1/inbound/{id}")).await;
            (r.body["status"] == "processed" || r.body["status"] == "failed").then_some(())
        })
        .await;
    }
    for name in ["failing", "refusing"] {
        eventually(&format!("the {name} delivery failed"), WAIT, || async {
            let list = admin.get(&format!("/v1/endpoints/{}/deliveries", endpoints[name])).await;
            (list.body["data"][0]["status"] == "failed").then_some(())
        })
        .await;
    }
    // bill.paid, seven processed inbound events, inbound.failed and delivery.exhausted.
    eventually("the catch-all endpoint got every event", WAIT, || async {
        let list = admin.get(&format!("/v1/endpoints/{}/deliveries?limit=250", endpoints["ok"])).await;
        let data = list.body["data"].as_array()?.clone();
        (data.len() >= 10 && data.iter().all(|d| d["status"] == "delivered")).then_some(())
    })
    .await;
    assert!(failing.received().len() >= 2 && !refusing.received().is_empty());
    assert_eq!(failing.received()[0].header("x-api-key"), api_key, "the receiver got its credential");

    // What the receivers were actually sent.
    for receiver in [&ok, &failing, &refusing] {
        for request in receiver.received() {
            for name in ["x-hms-signature", "webhook-signature", "x-signature"] {
                let value = request.header(name);
                if !value.is_empty() {
                    sent_signatures.push(value.to_owned());
                }
            }
        }
    }
    let secrets_manager = aws_sdk_secretsmanager::Client::new(&stack.platform.sdk);
    let data_key = secrets_manager
        .get_secret_value()
        .secret_id(stack.platform.resource("DataKeySecret").unwrap())
        .send()
        .await
        .unwrap()
        .secret_string
        .unwrap();
    secrets.push(data_key);

    let mut needles: Vec<(&str, String)> = Vec::new();
    for s in &secrets {
        needles.extend(with_parts(s).into_iter().map(|p| ("secret", p)));
    }
    for s in sent_signatures.iter().filter(|s| !s.is_empty()) {
        needles.extend(with_parts(s).into_iter().map(|p| ("signature", p)));
    }
    let mut leaks = Vec::new();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logged.contains("attempt recorded") && logged.contains("inbound webhook refused"), "logs are captured");
    for (what, needle) in &needles {
        if let Some(at) = logged.find(needle.as_str()) {
            leaks.push(format!("log: {what} `{needle}` in …{}…", context(&logged, at)));
        }
    }
    for id in IDENTIFIERS {
        if let Some(at) = logged.find(id) {
            leaks.push(format!("log: identifier `{id}` in …{}…", context(&logged, at)));
        }
    }
    let rows = audit_rows(&stack).await;
    assert!(rows.iter().any(|(t, _)| t == "DeliveriesTable") && rows.iter().any(|(t, _)| t == "InboundTable"));
    for (table, row) in &rows {
        let text = row.to_string();
        for (what, needle) in &needles {
            if let Some(at) = text.find(needle.as_str()) {
                leaks.push(format!("{table}: {what} `{needle}` in …{}…", context(&text, at)));
            }
        }
        let mut searched = row.clone();
        if table == "EventsTable" {
            searched.as_object_mut().unwrap().remove("payload");
        }
        let text = searched.to_string();
        for id in IDENTIFIERS {
            if let Some(at) = text.find(id) {
                leaks.push(format!("{table}: identifier `{id}` in …{}…", context(&text, at)));
            }
        }
    }
    assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), leaks.join("\n"));
    stack.platform.shutdown().await;
}

/// Up to 80 characters either side of `at`.
fn context(text: &str, at: usize) -> String {
    let mut start = at.saturating_sub(80);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + 80).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    text[start..end].replace('\n', " ")
}
