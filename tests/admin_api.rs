//! The admin API over HTTP, on the local platform: what a user with curl sees.

use hookline_tests::{Api, Stack};
use serde_json::{json, Value};

fn endpoint(url: &str) -> Value {
    json!({"url": url, "event_types": ["bill.paid"]})
}

async fn create(api: &Api, body: Value) -> Value {
    let reply = api.post("/v1/endpoints", body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

#[tokio::test]
async fn endpoints_round_trip_create_list_patch_rotate_delete() {
    let stack = Stack::start().await;
    let api = stack.admin();

    let created = create(
        &api,
        json!({"url": "https://hooks.example.com/hms", "event_types": ["bill.paid", "lab.*"], "name": "Billing"}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ep_"));
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "the whole secret is shown once: {secret}");
    assert_eq!(created["status"], "active");
    assert_eq!(created["timeout_seconds"], 15);

    let listed = api.get("/v1/endpoints").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    let masked = listed.body["data"][0]["secret"].as_str().unwrap();
    assert_ne!(masked, secret, "lists mask the secret");
    assert!(masked.ends_with(&secret[secret.len() - 4..]));
    assert_eq!(api.get(&format!("/v1/endpoints/{id}")).await.body["secret"], masked);

    let patched =
        api.patch(&format!("/v1/endpoints/{id}"), json!({"timeout_seconds": 5, "description": "nightly bills"})).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["timeout_seconds"], 5);
    assert_eq!(patched.body["name"], "Billing", "fields left out stay");
    assert_eq!(api.get(&format!("/v1/endpoints/{id}")).await.body["description"], "nightly bills");

    let rotated = api.post(&format!("/v1/endpoints/{id}/rotate-secret"), json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_secret = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    let revealed = api.get(&format!("/v1/endpoints/{id}/secret")).await;
    assert_eq!(revealed.body["secret"], new_secret.as_str());
    assert_eq!(revealed.body["previous_secret"], secret.as_str(), "the old secret stays valid for the grace period");
    assert!(revealed.body["previous_secret_expires_at"].is_string());

    assert_eq!(api.delete(&format!("/v1/endpoints/{id}")).await.status, 204);
    assert_eq!(api.get(&format!("/v1/endpoints/{id}")).await.status, 404);
    assert_eq!(api.delete(&format!("/v1/endpoints/{id}")).await.status, 404);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_second_tenant_sees_none_of_the_first_tenants_endpoints() {
    let stack = Stack::start().await;
    let acme = stack.tenant("acme").await;
    let globex = stack.tenant("globex").await;
    let id = create(&acme, endpoint("https://acme.example.com/in")).await["id"].as_str().unwrap().to_owned();

    let theirs = globex.get("/v1/endpoints").await;
    assert_eq!(theirs.status, 200);
    assert_eq!(theirs.body["data"], json!([]));
    for reply in [
        globex.get(&format!("/v1/endpoints/{id}")).await,
        globex.get(&format!("/v1/endpoints/{id}/secret")).await,
        globex.patch(&format!("/v1/endpoints/{id}"), json!({"name": "mine now"})).await,
        globex.post(&format!("/v1/endpoints/{id}/rotate-secret"), json!({})).await,
        globex.post(&format!("/v1/endpoints/{id}/disable"), json!({})).await,
        globex.delete(&format!("/v1/endpoints/{id}")).await,
    ] {
        assert_eq!(reply.status, 404, "another tenant's endpoint must look absent: {}", reply.body);
    }
    let still = acme.get(&format!("/v1/endpoints/{id}")).await;
    assert_eq!(still.status, 200);
    assert_eq!(still.body["name"], "acme.example.com");
    assert_eq!(stack.admin().get("/v1/endpoints").await.body["data"], json!([]), "the admin key has its own tenant");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_refused_with_a_specific_code() {
    let stack = Stack::start().await;
    let api = stack.admin();
    let cases: Vec<(Value, &str)> = vec![
        (endpoint("not a url"), "invalid_url"),
        (endpoint("ftp://files.example.com/"), "invalid_url"),
        (endpoint("https://user:pw@example.com/"), "invalid_url"),
        (endpoint("http://hooks.example.com/"), "insecure_url"),
        (endpoint("https://127.0.0.1/"), "forbidden_target"),
        (endpoint("https://localhost:8080/"), "forbidden_target"),
        (endpoint("https://10.0.0.8/"), "forbidden_target"),
        (endpoint("https://192.168.0.1/"), "forbidden_target"),
        (endpoint("https://169.254.169.254/latest/meta-data/"), "forbidden_target"),
        (endpoint("https://[fe80::1]/"), "forbidden_target"),
        (endpoint("https://[::ffff:127.0.0.1]/"), "forbidden_target"),
        (endpoint("https://2130706433/"), "forbidden_target"),
        (endpoint("https://0x7f000001/"), "forbidden_target"),
        (endpoint("https://0177.0.0.1/"), "forbidden_target"),
        (json!({"url": "https://a.example.com/", "event_types": ["bill.refunded"]}), "unknown_event_type"),
        (json!({"url": "https://a.example.com/", "event_types": []}), "missing_event_types"),
        (json!({"url": "https://a.example.com/", "event_types": ["not valid"]}), "invalid_event_type"),
        (
            json!({"url": "https://a.example.com/", "event_types": ["bill.paid"], "name": "n".repeat(200)}),
            "field_too_long",
        ),
        (
            json!({"url": "https://a.example.com/", "event_types": ["bill.paid"], "description": "d".repeat(2000)}),
            "field_too_long",
        ),
        (json!({"url": "https://a.example.com/", "event_types": ["bill.paid"], "colour": "blue"}), "unknown_field"),
        (json!({"event_types": ["bill.paid"]}), "missing_field"),
        (
            json!({"url": "https://a.example.com/", "event_types": ["bill.paid"], "timeout_seconds": 0}),
            "invalid_timeout",
        ),
        (
            json!({"url": "https://a.example.com/", "event_types": ["bill.paid"], "timeout_seconds": 31}),
            "invalid_timeout",
        ),
        (
            json!({"url": "https://a.example.com/", "event_types": ["bill.paid"], "max_retries": 99}),
            "invalid_max_retries",
        ),
        (
            json!({"url": "https://a.example.com/", "event_types": ["bill.paid"], "retry_policy": "sometimes"}),
            "invalid_field",
        ),
        (
            json!({"url": "https://a.example.com/", "event_types": ["bill.paid"], "headers": {"X-HMS-Signature": "x"}}),
            "reserved_header",
        ),
        (json!({"url": "https://a.example.com/", "event_types": ["bill.paid"], "secret": "hunter2"}), "invalid_secret"),
    ];
    for (body, code) in cases {
        let reply = api.post("/v1/endpoints", body.clone()).await;
        assert!((400..500).contains(&reply.status), "{body} -> {}", reply.status);
        assert_eq!(reply.code(), code, "{body} -> {}", reply.body);
        assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let broken = api.post_raw("/v1/endpoints", "{\"url\": ").await;
    assert_eq!((broken.status, broken.code()), (400, "invalid_json"));
    let huge = api.post_raw("/v1/endpoints", &format!("{{\"url\": \"{}\"}}", "a".repeat(300 * 1024))).await;
    assert_eq!((huge.status, huge.code()), (413, "payload_too_large"));
    assert_eq!(api.get("/v1/endpoints?limit=0").await.code(), "invalid_limit");
    assert_eq!(api.get("/v1/endpoints?enabled=maybe").await.code(), "invalid_query");
    assert_eq!(api.get("/v1/endpoints?cursor=***").await.code(), "invalid_cursor");
    assert_eq!(api.get("/v1/nothing-here").await.status, 404);
    assert_eq!(api.delete("/v1/endpoints").await.status, 405);
    assert_eq!(api.get("/v1/endpoints").await.body["data"], json!([]), "nothing was created by bad input");

    let id = create(&api, endpoint("https://ok.example.com/")).await["id"].as_str().unwrap().to_owned();
    let bad_patch = api.patch(&format!("/v1/endpoints/{id}"), json!({"url": "https://[::1]/"})).await;
    assert_eq!(bad_patch.code(), "forbidden_target");
    assert_eq!(api.patch(&format!("/v1/endpoints/{id}"), json!({"status": "active"})).await.code(), "unknown_field");
    assert_eq!(api.get(&format!("/v1/endpoints/{id}")).await.body["url"], "https://ok.example.com/");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn a_missing_or_wrong_key_gets_401() {
    let stack = Stack::start().await;
    for reply in [
        stack.anonymous().get("/v1/endpoints").await,
        stack.as_key("hk_not-a-real-key").get("/v1/endpoints").await,
        stack.as_key("").post("/v1/endpoints", endpoint("https://a.example.com/")).await,
    ] {
        assert_eq!((reply.status, reply.code()), (401, "unauthorized"), "{}", reply.body);
    }
    assert_eq!(stack.anonymous().get("/health").await.status, 200, "health needs no key");
    let doc = stack.anonymous().get("/openapi.json").await;
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn secrets_are_stored_encrypted_and_shown_masked() {
    let stack = Stack::start().await;
    let api = stack.admin();
    let created = create(&api, endpoint("https://vault.example.com/")).await;
    let (id, secret) = (created["id"].as_str().unwrap(), created["secret"].as_str().unwrap());

    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.platform.sdk);
    let table = stack.platform.resource("EndpointsTable").unwrap();
    let items = dynamodb.scan().table_name(table).send().await.unwrap().items.unwrap();
    assert_eq!(items.len(), 1);
    let raw = format!("{:?}", items[0]);
    let body = &secret["whsec_".len()..];
    assert!(!raw.contains(body), "the stored item must not hold the secret: {raw}");
    let sealed = items[0]["secret_sealed"].as_s().unwrap();
    assert!(sealed.starts_with("v1."), "sealed with the data key: {sealed}");
    assert_eq!(items[0]["endpoint_id"].as_s().unwrap(), id);

    let revealed = api.get(&format!("/v1/endpoints/{id}/secret")).await;
    assert_eq!(revealed.body["secret"], secret, "the secret route opens the sealed value");
    assert_eq!(revealed.body["previous_secret"], Value::Null);
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn lists_page_and_filter() {
    let stack = Stack::start().await;
    let api = stack.admin();
    let mut ids = Vec::new();
    for i in 0..5 {
        let types = if i % 2 == 0 { json!(["bill.paid"]) } else { json!(["lab.*"]) };
        let body = json!({"url": format!("https://h{i}.example.com/"), "event_types": types});
        ids.push(create(&api, body).await["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut path = "/v1/endpoints?limit=2".to_owned();
    loop {
        let page = api.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let data = page.body["data"].as_array().unwrap();
        assert!(data.len() <= 2);
        seen.extend(data.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/endpoints?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every endpoint once, oldest first");

    let lab = api.get("/v1/endpoints?event_type=lab.order.completed").await;
    assert_eq!(lab.body["data"].as_array().unwrap().len(), 2);
    let disabled = api.post(&format!("/v1/endpoints/{}/disable", ids[0]), json!({"reason": "maintenance"})).await;
    assert_eq!(disabled.body["status"], "disabled");
    assert_eq!(disabled.body["status_reason"], "maintenance");
    let off = api.get("/v1/endpoints?enabled=false").await;
    assert_eq!(off.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(off.body["data"][0]["id"], ids[0].as_str());
    assert_eq!(api.get("/v1/endpoints?enabled=true").await.body["data"].as_array().unwrap().len(), 4);
    let enabled = api.post(&format!("/v1/endpoints/{}/enable", ids[0]), json!({})).await;
    assert_eq!((enabled.body["status"].as_str(), &enabled.body["status_reason"]), (Some("active"), &Value::Null));
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn the_event_catalog_holds_the_seed_events_and_takes_new_ones() {
    let stack = Stack::start().await;
    let api = stack.tenant("clinic").await;
    let catalog = api.get("/v1/event-types?limit=250").await;
    let names: Vec<&str> =
        catalog.body["data"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    for seed in [
        "patient.registered",
        "appointment.booked",
        "bill.paid",
        "lab.order.completed",
        "system.daily.summary",
        "endpoint.paused",
        "delivery.exhausted",
    ] {
        assert!(names.contains(&seed), "{seed} in {names:?}");
    }
    assert_eq!(
        api.post("/v1/endpoints", json!({"url": "https://x.example.com/", "event_types": ["order.shipped"]}))
            .await
            .code(),
        "unknown_event_type"
    );
    let shipped = || json!({"type": "order.shipped", "data": {"parcel": 1}});
    assert_eq!(api.post("/v1/events", shipped()).await.code(), "unknown_event_type", "refused before it exists");
    let added = api.post("/v1/event-types", json!({"name": "order.shipped", "description": "A parcel left"})).await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(api.post("/v1/event-types", json!({"name": "order.shipped"})).await.code(), "event_type_exists");
    assert_eq!(api.post("/v1/event-types", json!({"name": "bill.paid"})).await.code(), "event_type_exists");
    assert_eq!(api.post("/v1/event-types", json!({"name": "no spaces"})).await.code(), "invalid_event_type");
    create(&api, json!({"url": "https://x.example.com/", "event_types": ["order.shipped"]})).await;
    let other = stack.tenant("other").await;
    assert_eq!(
        other
            .post("/v1/endpoints", json!({"url": "https://x.example.com/", "event_types": ["order.shipped"]}))
            .await
            .code(),
        "unknown_event_type",
        "a tenant's own types are its own"
    );
    // A refusal is not remembered; a type found once stays found, for its own tenant only.
    for _ in 0..2 {
        assert_eq!(api.post("/v1/events", shipped()).await.status, 202, "published once it exists");
        assert_eq!(other.post("/v1/events", shipped()).await.code(), "unknown_event_type", "not another tenant's");
    }
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn tenant_keys_are_scoped_and_revocable() {
    let stack = Stack::start().await;
    let acme = stack.tenant("acme").await;
    let grab = acme.post("/v1/api-keys", json!({"name": "sneaky", "tenant_id": "globex"})).await;
    assert_eq!((grab.status, grab.code()), (403, "forbidden"));
    let second = acme.post("/v1/api-keys", json!({"name": "ci"})).await;
    assert_eq!(second.status, 201);
    assert_eq!(second.body["tenant_id"], "acme");
    let keys = acme.get("/v1/api-keys").await;
    assert_eq!(keys.body["data"].as_array().unwrap().len(), 2);
    assert!(keys.body["data"].as_array().unwrap().iter().all(|k| k.get("key").is_none()), "tokens are never listed");
    let ci = stack.as_key(second.body["key"].as_str().unwrap());
    assert_eq!(ci.get("/v1/endpoints").await.status, 200);
    let revoked = acme.delete(&format!("/v1/api-keys/{}", second.body["id"].as_str().unwrap())).await;
    assert_eq!(revoked.status, 204);
    assert_eq!(ci.get("/v1/endpoints").await.status, 401, "a revoked key stops working");
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn the_console_is_served_through_the_templates_routes_without_a_key() {
    let stack = Stack::start().await;
    let http = reqwest::Client::new();
    let page = http.get(format!("{}/console", stack.platform.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(page.text().await.unwrap().contains("console/app.js"));
    let script = http.get(format!("{}/console/app.js", stack.platform.url)).send().await.unwrap();
    assert_eq!(script.status(), 200);
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(script.headers()["x-content-type-options"], "nosniff");
    // The page is public; what it shows still needs a key.
    assert_eq!(stack.anonymous().get("/v1/endpoints").await.status, 401);
    stack.platform.shutdown().await;
}
