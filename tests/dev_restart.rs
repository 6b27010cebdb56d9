//! `hookline dev` keeps its data: SIGKILLed and started again, it still has
//! the endpoints, keys, sources, deliveries and queued messages made before,
//! and the CLI finds it from any directory through the state file.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use hookline_tests::receiver::{Receiver, Reply};
use hookline_tests::{eventually, hookline_binary};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

const WAIT: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hookline-restart-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

struct Dirs {
    state: PathBuf,
    data: PathBuf,
    port: u16,
}

/// `hookline dev` as a user runs it: its own moto, data kept in `data`.
async fn start(dirs: &Dirs) -> (Child, Value) {
    let _ = std::fs::remove_file(dirs.state.join("dev.json"));
    let child = Command::new(hookline_binary())
        .args(["dev", "--data-dir"])
        .arg(&dirs.data)
        .current_dir(repo())
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("HOOKLINE_ADMIN_KEY")
        .env("HOOKLINE_STATE_DIR", &dirs.state)
        .env("HOOKLINE_PORT", dirs.port.to_string())
        .env("HOOKLINE_ALLOWED_PRIVATE_CIDRS", "127.0.0.1/32")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("hookline dev starts");
    let state = eventually("the state file of hookline dev", WAIT, || async {
        let text = std::fs::read_to_string(dirs.state.join("dev.json")).ok()?;
        serde_json::from_str::<Value>(&text).ok()
    })
    .await;
    (child, state)
}

async fn call(method: reqwest::Method, state: &Value, key: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{path}", state["api_url"].as_str().unwrap());
    let mut req = reqwest::Client::new().request(method, url).bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("the API answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get(state: &Value, key: &str, path: &str) -> (u16, Value) {
    call(reqwest::Method::GET, state, key, path, None).await
}

async fn post(state: &Value, key: &str, path: &str, body: Value) -> (u16, Value) {
    call(reqwest::Method::POST, state, key, path, Some(body)).await
}

async fn delivery_of(state: &Value, key: &str, endpoint: &str) -> Option<Value> {
    let (_, page) = get(state, key, &format!("/v1/endpoints/{endpoint}/deliveries")).await;
    page["data"].as_array()?.first().cloned()
}

#[tokio::test]
async fn a_sigkilled_hookline_dev_restarts_with_its_endpoints_keys_sources_deliveries_and_queue() {
    let dirs = Dirs { state: scratch("state"), data: scratch("data"), port: hookline::dev::moto::free_port().unwrap() };
    let (mut first, state) = start(&dirs).await;
    let admin = state["admin_key"].as_str().unwrap().to_owned();
    eventually("the API", WAIT, || async { (get(&state, &admin, "/v1/endpoints").await.0 == 200).then_some(()) }).await;

    let (status, key) = post(&state, &admin, "/v1/api-keys", json!({"name": "clinic", "tenant_id": "clinic"})).await;
    assert_eq!(status, 201, "{key}");
    let clinic = key["key"].as_str().unwrap().to_owned();
    let (status, _) = post(&state, &clinic, "/v1/sources", json!({"slug": "crm", "auth_type": "none"})).await;
    assert_eq!(status, 201);

    let steady = Receiver::start().await;
    let flaky = Receiver::start().await;
    // One 503 now; the retry waits in the queue (about 5 s) across the kill.
    flaky.script(vec![Reply::status(503)]);
    let (_, a) = post(&state, &admin, "/v1/endpoints", json!({"url": steady.url, "event_types": ["bill.paid"]})).await;
    let (_, b) = post(
        &state,
        &admin,
        "/v1/endpoints",
        json!({"url": flaky.url, "event_types": ["bill.paid"], "max_retries": 1}),
    )
    .await;
    let id = |e: &Value| e["id"].as_str().unwrap_or_else(|| panic!("an endpoint: {e}")).to_owned();
    let (a, b) = (id(&a), id(&b));
    let (status, _) =
        post(&state, &admin, "/v1/events", json!({"type": "bill.paid", "data": {"invoice": "INV-1"}})).await;
    assert_eq!(status, 202);
    steady.wait_for(1, WAIT).await;
    let retrying = eventually("the flaky endpoint's delivery to wait for its retry", WAIT, || async {
        delivery_of(&state, &admin, &b).await.filter(|d| d["status"] == "retrying")
    })
    .await;

    // SIGKILL: no chance for hookline dev to clean up.
    first.start_kill().unwrap();
    first.wait().await.unwrap();

    let (_second, again) = start(&dirs).await;
    let log = std::fs::read_to_string(dirs.data.join("emulator.log")).unwrap_or_default();
    assert_eq!(again["admin_key"], state["admin_key"], "the admin key is kept; the emulator said:\n{log}");
    eventually("the restarted API", WAIT, || async {
        (get(&again, &admin, "/v1/endpoints").await.0 == 200).then_some(())
    })
    .await;
    let (status, endpoints) = get(&again, &admin, "/v1/endpoints").await;
    assert_eq!(status, 200, "{endpoints}");
    let mut ids: Vec<&str> = endpoints["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut want = vec![a.as_str(), b.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    let (status, sources) = get(&again, &clinic, "/v1/sources").await;
    assert_eq!(status, 200, "the tenant's key still works: {sources}");
    assert_eq!(sources["data"][0]["slug"], "crm", "{sources}");
    assert_eq!(delivery_of(&again, &admin, &a).await.unwrap()["status"], "delivered");

    // The queued retry survived: it arrives, and the delivery is done.
    flaky.wait_for(2, WAIT).await;
    let done = eventually("the retried delivery to be delivered", WAIT, || async {
        delivery_of(&again, &admin, &b).await.filter(|d| d["status"] == "delivered")
    })
    .await;
    assert_eq!(done["id"], retrying["id"]);

    // The CLI finds the stack by itself, from anywhere.
    let listed = Command::new(hookline_binary())
        .args(["--json", "endpoints", "list"])
        .current_dir("/tmp")
        .env("HOOKLINE_STATE_DIR", &dirs.state)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("HOOKLINE_ADMIN_KEY")
        .env_remove("HOOKLINE_API_KEY")
        .env_remove("HOOKLINE_API_URL")
        .env_remove("HOOKLINE_PORT")
        .output()
        .await
        .unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(text.contains(&a) && text.contains(&b), "{text}");
    let _ = std::fs::remove_dir_all(&dirs.state);
    let _ = std::fs::remove_dir_all(&dirs.data);
}

/// A message a worker had taken when the emulator stopped (its visibility
/// timeout still running) belonged to the `hookline dev` that stopped with
/// it: the restarted emulator makes it visible at once, where AWS would
/// wait out the timeout. A delayed message keeps its delay.
#[tokio::test]
async fn a_restarted_emulator_gives_back_at_once_the_messages_the_stopped_one_had_handed_out() {
    use hookline::dev::moto::{Moto, Persistence};
    let dir = scratch("in-flight");
    let persist = Persistence::in_dir(&dir).unwrap();
    let moto = Moto::start(Some(persist.clone())).unwrap();
    let sqs = aws_sdk_sqs::Client::new(&hookline::dev::emulator_sdk_config(&moto.endpoint).await);
    let url = sqs.create_queue().queue_name("work").send().await.unwrap().queue_url.unwrap();
    sqs.send_message().queue_url(&url).message_body("taken").send().await.unwrap();
    let taken = sqs.receive_message().queue_url(&url).visibility_timeout(600).send().await.unwrap();
    assert_eq!(taken.messages.unwrap_or_default().len(), 1);
    sqs.send_message().queue_url(&url).message_body("later").delay_seconds(900).send().await.unwrap();
    drop(moto);

    let again = Moto::start(Some(persist)).unwrap();
    let sqs = aws_sdk_sqs::Client::new(&hookline::dev::emulator_sdk_config(&again.endpoint).await);
    let got = sqs.receive_message().queue_url(&url).max_number_of_messages(10).send().await.unwrap();
    let bodies: Vec<String> = got.messages.unwrap_or_default().into_iter().filter_map(|m| m.body).collect();
    let log = std::fs::read_to_string(dir.join("emulator.log")).unwrap_or_default();
    assert_eq!(bodies, ["taken"], "the emulator said:\n{log}");
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}
