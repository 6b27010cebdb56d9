//! Tenant isolation: another tenant's key sees none of a tenant's endpoints,
//! deliveries, sources, inbound webhooks, keys, event types or numbers. Every
//! route that names one of them answers 404 `{"code","detail"}`, exactly as
//! for something that does not exist, and changes nothing.

use std::time::Duration;

use hookline_tests::receiver::Receiver;
use hookline_tests::{delivery_options, eventually, Api, Reply, Stack};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(40);

/// What acme owns, made through the API as a user would.
struct Owned {
    endpoint: String,
    delivery: String,
    slug: String,
    inbound: String,
    key_id: String,
}

fn ok(reply: Reply, status: u16) -> Value {
    assert_eq!(reply.status, status, "{}", reply.body);
    reply.body
}

async fn set_up(stack: &Stack, acme: &Api, receiver: &Receiver) -> Owned {
    ok(acme.post("/v1/event-types", json!({"name": "acme.audit"})).await, 201);
    let endpoint = ok(
        acme.post(
            "/v1/endpoints",
            json!({"url": receiver.url, "event_types": ["bill.paid", "acme.audit"], "name": "acme billing"}),
        )
        .await,
        201,
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(acme.post("/v1/events", json!({"type": "bill.paid", "data": {"invoice": "A-1"}})).await, 202);
    let delivery = eventually("acme's delivery", WAIT, || async {
        let list = acme.get(&format!("/v1/endpoints/{endpoint}/deliveries")).await;
        let found = list.body["data"].as_array()?.iter().find(|d| d["status"] == "delivered")?.clone();
        Some(found["id"].as_str()?.to_owned())
    })
    .await;

    let slug = "acme-crm".to_owned();
    ok(acme.post("/v1/sources", json!({"slug": slug, "auth_type": "none", "event_type": "acme.audit"})).await, 201);
    let path = format!("/api/v1/webhooks/{slug}");
    let webhook = stack.anonymous().post_with_headers(&path, &[], b"{\"n\":1}".to_vec()).await;
    assert_eq!(webhook.status, 202, "{}", webhook.body);
    let inbound = eventually("acme's inbound record", WAIT, || async {
        let list = acme.get("/v1/inbound").await;
        Some(list.body["data"].as_array()?.first()?["id"].as_str()?.to_owned())
    })
    .await;

    let key_id =
        ok(acme.post("/v1/api-keys", json!({"name": "acme ci"})).await, 201)["id"].as_str().unwrap().to_owned();
    Owned { endpoint, delivery, slug, inbound, key_id }
}

/// Everything acme can read about what it owns, to prove nothing moved.
async fn snapshot(acme: &Api, owned: &Owned) -> Vec<Value> {
    let mut views = Vec::new();
    for path in [
        format!("/v1/endpoints/{}", owned.endpoint),
        format!("/v1/endpoints/{}/secret", owned.endpoint),
        format!("/v1/endpoints/{}/deliveries", owned.endpoint),
        format!("/v1/deliveries/{}", owned.delivery),
        format!("/v1/sources/{}", owned.slug),
        "/v1/inbound".to_owned(),
        "/v1/api-keys".to_owned(),
        "/v1/event-types?limit=250".to_owned(),
    ] {
        let reply = acme.get(&path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        views.push(json!({"path": path, "body": reply.body}));
    }
    views
}

#[tokio::test]
async fn another_tenants_key_gets_404_on_every_route_that_names_a_tenants_resource() {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let acme = stack.tenant("acme").await;
    let globex = stack.tenant("globex").await;
    let receiver = Receiver::start().await;
    let owned = set_up(&stack, &acme, &receiver).await;
    // Settle: acme's inbound webhook becomes an event, delivered to its endpoint too.
    eventually("acme's records to settle", WAIT, || async {
        let deliveries = acme.get(&format!("/v1/endpoints/{}/deliveries", owned.endpoint)).await.body;
        let delivered = deliveries["data"].as_array()?.iter().filter(|d| d["status"] == "delivered").count();
        let inbound = acme.get("/v1/inbound").await.body;
        (delivered == 2 && inbound["data"][0]["status"] == "processed").then_some(())
    })
    .await;
    let before = snapshot(&acme, &owned).await;
    let received_before = receiver.received().len();

    let (ep, dlv, slug, inb, key) = (&owned.endpoint, &owned.delivery, &owned.slug, &owned.inbound, &owned.key_id);
    let routes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/v1/endpoints/{ep}"), None),
        ("PATCH", format!("/v1/endpoints/{ep}"), Some(json!({"name": "globex now"}))),
        ("DELETE", format!("/v1/endpoints/{ep}"), None),
        ("POST", format!("/v1/endpoints/{ep}/enable"), Some(json!({}))),
        ("POST", format!("/v1/endpoints/{ep}/disable"), Some(json!({"reason": "hostile"}))),
        ("POST", format!("/v1/endpoints/{ep}/rotate-secret"), Some(json!({"grace_seconds": 0}))),
        ("GET", format!("/v1/endpoints/{ep}/secret"), None),
        ("GET", format!("/v1/endpoints/{ep}/deliveries"), None),
        ("POST", format!("/v1/endpoints/{ep}/test"), Some(json!({}))),
        ("GET", format!("/v1/deliveries/{dlv}"), None),
        ("POST", format!("/v1/deliveries/{dlv}/retry"), Some(json!({}))),
        ("POST", "/v1/deliveries/retry".to_owned(), Some(json!({"status": "failed", "endpoint_id": ep}))),
        ("GET", format!("/v1/sources/{slug}"), None),
        ("PATCH", format!("/v1/sources/{slug}"), Some(json!({"enabled": false}))),
        ("DELETE", format!("/v1/sources/{slug}"), None),
        ("POST", format!("/v1/sources/{slug}/rotate-secret"), Some(json!({}))),
        ("GET", format!("/v1/inbound/{inb}"), None),
        ("POST", format!("/v1/inbound/{inb}/replay"), Some(json!({}))),
        ("POST", "/v1/inbound/replay".to_owned(), Some(json!({"source": slug, "failed_only": false}))),
        ("DELETE", format!("/v1/api-keys/{key}"), None),
    ];
    for (method, path, body) in &routes {
        let reply = match (*method, body) {
            ("GET", _) => globex.get(path).await,
            ("DELETE", _) => globex.delete(path).await,
            ("PATCH", Some(b)) => globex.patch(path, b.clone()).await,
            ("POST", Some(b)) => globex.post(path, b.clone()).await,
            _ => unreachable!("{method} {path}"),
        };
        assert_eq!(reply.status, 404, "{method} {path} must look absent to another tenant: {}", reply.body);
        assert_eq!(reply.code(), "not_found", "{method} {path}");
        assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{method} {path}: {}", reply.body);
        let keys: Vec<&String> = reply.body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["code", "detail"], "{method} {path}: the error says nothing more");
    }
    // The same answer as for ids that never existed: nothing tells "theirs" from "none".
    let absent = globex.get("/v1/endpoints/ep_00000000000000000000000000").await;
    let theirs = globex.get(&format!("/v1/endpoints/{ep}")).await;
    assert_eq!(absent.body, theirs.body);

    // Lists and numbers hold only globex's own (nothing yet).
    for path in ["/v1/endpoints", "/v1/sources", "/v1/inbound", &format!("/v1/inbound?source={slug}")] {
        let reply = globex.get(path).await;
        assert_eq!((reply.status, &reply.body["data"]), (200, &json!([])), "{path}");
    }
    let keys = globex.get("/v1/api-keys").await.body;
    assert!(keys["data"].as_array().unwrap().iter().all(|k| k["tenant_id"] == "globex"), "{keys}");
    let types = globex.get("/v1/event-types?limit=250").await.body;
    assert!(!types.to_string().contains("acme.audit"), "acme's event type is not in globex's catalog");
    let stats = globex.get("/v1/stats").await.body;
    assert_eq!((&stats["endpoints"]["total"], &stats["deliveries"]["total"]), (&json!(0), &json!(0)), "{stats}");

    // Acme's event type cannot be published by globex, nor a key minted for acme.
    let publish = globex.post("/v1/events", json!({"type": "acme.audit", "data": {}})).await;
    assert_eq!((publish.status, publish.code()), (422, "unknown_event_type"));
    let minted = globex.post("/v1/api-keys", json!({"name": "sneaky", "tenant_id": "acme"})).await;
    assert_eq!((minted.status, minted.code()), (403, "forbidden"), "{}", minted.body);

    // Globex's own event reaches only globex's endpoint.
    let globex_receiver = Receiver::start().await;
    let theirs = json!({"url": globex_receiver.url, "event_types": ["bill.paid"]});
    ok(globex.post("/v1/endpoints", theirs).await, 201);
    ok(globex.post("/v1/events", json!({"type": "bill.paid", "data": {"invoice": "G-1"}})).await, 202);
    assert_eq!(globex_receiver.wait_for(1, WAIT).await[0].json()["data"]["invoice"], "G-1");

    assert_eq!(snapshot(&acme, &owned).await, before, "nothing of acme's changed");
    assert_eq!(receiver.received().len(), received_before, "acme's endpoint got no test, retry or globex event");
    assert_eq!(acme.get("/v1/endpoints").await.status, 200, "acme's keys still work");
    stack.platform.shutdown().await;
}
