//! `make soak`: events to three endpoints whose receivers fail on purpose
//! (30 % 503, 10 % hangs past the endpoint's timeout, 5 % reset connections)
//! and to one that is down all along, while `hookline dev` (a child process)
//! is SIGKILLed and restarted at random points. The emulator is the one
//! `infra/with-moto.sh` started, so queues and tables outlive every kill.
//! Counts what each receiver got against what was published, then writes
//! `target/soak/summary.json` and prints a table.
//!
//! Settings (environment): SOAK_EVENTS (10000), SOAK_TIME_LIMIT seconds
//! (4200), SOAK_KILLS (6), SOAK_RETRY_SCALE (0.001), SOAK_MAX_FAILURES
//! (MaxConsecutiveFailures, 30), SOAK_SQS_CONCURRENCY (8), SOAK_RECOVER
//! (1: at the end, bring the down endpoint back, enable it, and count its
//! parked deliveries arriving; 0 skips that).

mod child;
mod faults;
mod report;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};
use shared::ids::{DeliveryId, EndpointId, EventId};

use child::DevProcess;
use faults::{unit, Faults, FaultyReceiver};
use report::{Kill, Missing, Receiving, Recovery, Summary};

/// The endpoint timeout the soak sets, and how long a hang lasts.
const TIMEOUT_SECONDS: u64 = 2;
const HANG: Duration = Duration::from_secs(TIMEOUT_SECONDS + 3);
/// The most retries an endpoint allows: 0.45^21 makes exhaustion a non-event.
const MAX_RETRIES: u32 = 20;
const EVENT_TYPE: &str = "bill.paid";

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name).ok().filter(|v| !v.is_empty()) {
        Some(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v} is not a valid value")),
        None => default,
    }
}

/// A JSON client that survives the platform's deaths: every error is
/// returned, none panics.
#[derive(Clone)]
struct Api {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<(u16, Value), String> {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.key);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// Repeats a call until the platform answers below 500 (it may be down).
    async fn insist(&self, method: reqwest::Method, path: &str, body: Option<&Value>, retries: &AtomicU64) -> Value {
        loop {
            match self.call(method.clone(), path, body).await {
                Ok((status, value)) if status < 300 => return value,
                Ok((status, value)) if status < 500 => panic!("{method} {path}: {status} {value}"),
                _ => {
                    retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }
}

/// Where the run stands, shared by the publisher, the killer and the waiter.
struct Progress {
    events: usize,
    published: AtomicUsize,
    /// Each published event's id, by its number.
    ids: Mutex<Vec<Option<EventId>>>,
    publish_retries: AtomicU64,
    receivers: Vec<FaultyReceiver>,
    kills: Mutex<Vec<Kill>>,
}

impl Progress {
    /// Distinct 200s per healthy receiver.
    fn delivered(&self) -> Vec<usize> {
        self.receivers.iter().map(|r| r.tally.lock().expect("tally").delivered.len()).collect()
    }

    /// From 0 (nothing published) to 1 (everything published and delivered).
    fn fraction(&self) -> f64 {
        let done = self.published.load(Ordering::Relaxed) + self.delivered().iter().sum::<usize>();
        done as f64 / ((1 + self.receivers.len()) * self.events) as f64
    }

    fn complete(&self) -> bool {
        self.published.load(Ordering::Relaxed) == self.events && self.delivered().iter().all(|n| *n >= self.events)
    }
}

async fn publish_all(api: Api, progress: Arc<Progress>, run: String) {
    stream::iter(0..progress.events)
        .map(|n| {
            let (api, progress, run) = (api.clone(), progress.clone(), run.clone());
            async move {
                let body = json!({
                    "type": EVENT_TYPE,
                    "data": {"n": n, "run": run, "invoice": format!("INV-{n:06}"), "amount": 1200 + n, "note": "soak"},
                    "idempotency_key": format!("{run}-{n}"),
                });
                let answer =
                    api.insist(reqwest::Method::POST, "/v1/events", Some(&body), &progress.publish_retries).await;
                let id = answer["id"].as_str().and_then(|s| s.parse().ok()).expect("an event id");
                progress.ids.lock().expect("ids")[n] = Some(id);
                progress.published.fetch_add(1, Ordering::Relaxed);
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

/// Kills `hookline dev` once the run's progress passes each of `kills`
/// random points (then a random 0-3 s more), restarting it each time.
async fn killer(dev: Arc<tokio::sync::Mutex<DevProcess>>, progress: Arc<Progress>, kills: usize, t0: Instant) {
    let mut points: Vec<f64> = (0..kills).map(|_| 0.03 + 0.87 * unit()).collect();
    points.sort_by(f64::total_cmp);
    for (n, point) in points.into_iter().enumerate() {
        while progress.fraction() < point && !progress.complete() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_millis((unit() * 3000.0) as u64)).await;
        let mut dev = dev.lock().await;
        let at = t0.elapsed().as_secs_f64();
        let fraction = progress.fraction();
        dev.kill().await;
        tokio::time::sleep(Duration::from_millis((unit() * 2000.0) as u64)).await;
        let restart = dev.start().await.unwrap_or_else(|e| panic!("restart after kill {}: {e}", n + 1));
        drop(dev);
        let restart = restart.as_secs_f64();
        eprintln!("soak: kill {} at {at:.0} s ({:.0} % done); back in {restart:.1} s", n + 1, fraction * 100.0);
        progress.kills.lock().expect("kills").push(Kill {
            at_seconds: at,
            progress: fraction,
            restart_seconds: restart,
        });
        // Let the platform get going before the next kill.
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

/// Counts an endpoint's deliveries by status through the API, and lists
/// the parked ones.
async fn statuses(api: &Api, endpoint: &EndpointId) -> Result<(BTreeMap<String, usize>, HashSet<String>), String> {
    let mut counts = BTreeMap::new();
    let mut parked = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/endpoints/{endpoint}/deliveries?limit=250");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = api.call(reqwest::Method::GET, &path, None).await?;
        if status != 200 {
            return Err(format!("{path}: {status} {page}"));
        }
        for d in page["data"].as_array().into_iter().flatten() {
            let status = d["status"].as_str().unwrap_or("?");
            *counts.entry(status.to_owned()).or_default() += 1;
            if status == "parked" {
                parked.extend(d["id"].as_str().map(str::to_owned));
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return Ok((counts, parked)),
        }
    }
}

async fn queue_depth(sqs: &aws_sdk_sqs::Client, name: &str) -> Option<(u64, u64)> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let url = sqs.get_queue_url().queue_name(name).send().await.ok()?.queue_url?;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(A::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .ok()?
        .attributes?;
    let n = |a: A| attrs.get(&a).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Some((
        n(A::ApproximateNumberOfMessages) + n(A::ApproximateNumberOfMessagesDelayed),
        n(A::ApproximateNumberOfMessagesNotVisible),
    ))
}

/// The down endpoint comes back: a healthy receiver on its address, then
/// an enable. Waits until every delivery it had parked has arrived.
async fn recover_down_endpoint(
    api: &Api,
    down: &EndpointId,
    down_url: &str,
    parked: &HashSet<String>,
    deadline: Instant,
) -> Recovery {
    let healthy = Faults { server_error: 0.0, hang: 0.0, reset: 0.0, hang_for: HANG };
    let address = down_url.trim_start_matches("http://").trim_end_matches("/hook");
    let receiver = FaultyReceiver::listen(address, healthy).await.expect("the down endpoint's address is free again");
    let started = Instant::now();
    let enable_retries = AtomicU64::new(0);
    api.insist(reqwest::Method::POST, &format!("/v1/endpoints/{down}/enable"), Some(&json!({})), &enable_retries).await;
    let enable_seconds = started.elapsed().as_secs_f64();
    eprintln!("soak: down endpoint back up and enabled ({} parked, enable took {enable_seconds:.2} s)", parked.len());
    let arrived = |tally: &faults::Tally| parked.iter().filter(|id| tally.delivered.contains_key(*id)).count();
    let mut last_report = Instant::now();
    while Instant::now() < deadline && arrived(&receiver.tally.lock().expect("tally")) < parked.len() {
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            eprintln!("soak: resumed {}/{}", arrived(&receiver.tally.lock().expect("tally")), parked.len());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let tally = receiver.tally.lock().expect("tally");
    let delivered = arrived(&tally);
    Recovery {
        parked: parked.len(),
        delivered,
        lost: parked.len() - delivered,
        duplicates: tally.duplicates(),
        unexpected: tally.unexpected(parked),
        enable_seconds,
        seconds: started.elapsed().as_secs_f64(),
    }
}

#[tokio::main]
async fn main() {
    let t0 = Instant::now();
    let events: usize = setting("SOAK_EVENTS", 10_000);
    let time_limit = Duration::from_secs(setting("SOAK_TIME_LIMIT", 4200));
    let kills: usize = setting("SOAK_KILLS", 6);
    let retry_scale: f64 = setting("SOAK_RETRY_SCALE", 0.001);
    let max_failures: u32 = setting("SOAK_MAX_FAILURES", 30);
    let sqs_concurrency: usize = setting("SOAK_SQS_CONCURRENCY", 8);
    let recover = setting("SOAK_RECOVER", 1) == 1;
    let aws = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .expect("AWS_ENDPOINT_URL: run under infra/with-moto.sh (make soak), so the emulator outlives the kills");
    let exe = std::env::current_exe().expect("own path");
    let bin_dir = exe.parent().expect("bin dir").to_path_buf();
    let out_dir: PathBuf = bin_dir.parent().expect("target dir").join("soak");
    std::fs::create_dir_all(&out_dir).expect("target/soak");

    let faults = Faults { server_error: 0.30, hang: 0.10, reset: 0.05, hang_for: HANG };
    let mut receivers = Vec::new();
    for _ in 0..3 {
        receivers.push(FaultyReceiver::start(faults).await.expect("a receiver"));
    }
    let down_url = faults::refused_url().expect("a free port");

    let run = format!("soak{}", hex::encode(shared::ids::random_bytes::<3>()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let api_url = format!("http://127.0.0.1:{port}");
    let key = shared::crypto::generate_api_key();
    let args = vec![
        "dev".to_owned(),
        "--template".to_owned(),
        hookline_tests::project_template().display().to_string(),
        "--local-stack".to_owned(),
        run.clone(),
        "--parameter".to_owned(),
        "AllowedPrivateCidrs=127.0.0.1/32".to_owned(),
        "--parameter".to_owned(),
        format!("MaxConsecutiveFailures={max_failures}"),
    ];
    let env = vec![
        ("HOOKLINE_PORT".to_owned(), port.to_string()),
        ("HOOKLINE_ADMIN_KEY".to_owned(), key.clone()),
        ("HOOKLINE_RETRY_SCALE".to_owned(), retry_scale.to_string()),
        ("HOOKLINE_SQS_CONCURRENCY".to_owned(), sqs_concurrency.to_string()),
        ("AWS_ENDPOINT_URL".to_owned(), aws.clone()),
        // Keep the developer's state file (the CLI's) pointing at their own stack.
        ("HOOKLINE_STATE_DIR".to_owned(), out_dir.join("state").display().to_string()),
    ];
    let log = out_dir.join("hookline-dev.log");
    let _ = std::fs::remove_file(&log);
    let mut dev = DevProcess::new(bin_dir.join("hookline"), args, env, log.clone(), api_url.clone());
    dev.start().await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("soak: {events} events, stack {run}, API {api_url}, emulator {aws}, log {}", log.display());

    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    let api = Api { base: api_url, key, http };
    let setup_retries = AtomicU64::new(0);
    let mut endpoint_ids = Vec::new();
    let urls: Vec<String> = receivers.iter().map(|r| r.url.clone()).chain([down_url.clone()]).collect();
    for (i, url) in urls.iter().enumerate() {
        let body = json!({
            "url": url, "name": format!("soak-{i}"), "event_types": [EVENT_TYPE],
            "timeout_seconds": TIMEOUT_SECONDS, "max_retries": MAX_RETRIES,
        });
        let created = api.insist(reqwest::Method::POST, "/v1/endpoints", Some(&body), &setup_retries).await;
        endpoint_ids.push(created["id"].as_str().and_then(|s| s.parse::<EndpointId>().ok()).expect("an endpoint id"));
    }
    let down = endpoint_ids.pop().expect("the down endpoint");

    let progress = Arc::new(Progress {
        events,
        published: AtomicUsize::new(0),
        ids: Mutex::new(vec![None; events]),
        publish_retries: AtomicU64::new(0),
        receivers,
        kills: Mutex::new(Vec::new()),
    });
    let dev = Arc::new(tokio::sync::Mutex::new(dev));
    let publisher = tokio::spawn(publish_all(api.clone(), progress.clone(), run.clone()));
    let killing = tokio::spawn(killer(dev.clone(), progress.clone(), kills, t0));

    // Healthy endpoints: wait until each has every event (and the killer is done).
    let deadline = t0 + time_limit;
    let mut last_report = Instant::now();
    let mut healthy_done_at = None;
    while Instant::now() < deadline {
        if progress.complete() && killing.is_finished() {
            healthy_done_at = Some(t0.elapsed());
            break;
        }
        if killing.is_finished() && dev.lock().await.is_down() {
            eprintln!("soak: hookline dev did not come back after a kill; stopping");
            break;
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            eprintln!(
                "soak: {:.0} s: published {}/{events}, delivered {:?}",
                t0.elapsed().as_secs_f64(),
                progress.published.load(Ordering::Relaxed),
                progress.delivered()
            );
            // A paused healthy endpoint parks the rest: waiting longer shows nothing new.
            let mut paused = None;
            for id in &endpoint_ids {
                if let Ok((200, e)) = api.call(reqwest::Method::GET, &format!("/v1/endpoints/{id}"), None).await {
                    if e["status"] != "active" {
                        paused = Some(format!("{id} is {}: {}", e["status"], e["status_reason"]));
                    }
                }
            }
            if let Some(why) = paused {
                eprintln!("soak: a healthy endpoint stopped taking deliveries ({why}); stopping");
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    killing.abort();
    publisher.abort();
    let published: Vec<EventId> = progress.ids.lock().expect("ids").iter().flatten().cloned().collect();

    // The down endpoint: wait until none of its deliveries is still pending or retrying.
    let mut down_counts = BTreeMap::new();
    let mut down_parked = HashSet::new();
    while Instant::now() < deadline && !published.is_empty() {
        if let Ok((counts, parked)) = statuses(&api, &down).await {
            let open = ["pending", "retrying"].iter().map(|s| counts.get(*s).copied().unwrap_or(0)).sum::<usize>();
            let total: usize = counts.values().sum();
            (down_counts, down_parked) = (counts, parked);
            if open == 0 && total == published.len() {
                break;
            }
            eprintln!("soak: down endpoint {down_counts:?}");
        }
        tokio::time::sleep(Duration::from_secs(15)).await;
    }
    let settled_at = t0.elapsed();
    let recovery = if recover && !down_parked.is_empty() && Instant::now() < deadline {
        Some(recover_down_endpoint(&api, &down, &down_url, &down_parked, deadline).await)
    } else {
        None
    };
    let time_limit_hit = Instant::now() >= deadline;

    // What each healthy receiver got against what was published.
    let mut per_endpoint = Vec::new();
    let mut missing_sample = Vec::new();
    for (receiver, endpoint) in progress.receivers.iter().zip(&endpoint_ids) {
        let expected: HashSet<String> =
            published.iter().map(|e| DeliveryId::for_event(e, endpoint).to_string()).collect();
        let (mut receiving, missing) = {
            let tally = receiver.tally.lock().expect("tally");
            let missing: Vec<String> =
                expected.iter().filter(|id| !tally.delivered.contains_key(*id)).cloned().collect();
            let receiving = Receiving {
                endpoint_id: endpoint.to_string(),
                url: receiver.url.clone(),
                status: String::new(),
                expected: expected.len(),
                delivered: expected.len() - missing.len(),
                duplicates: tally.duplicates(),
                duplicate_ids: tally.delivered.values().filter(|n| **n > 1).count(),
                unexpected: tally.unexpected(&expected),
                requests: tally.requests,
                ok: tally.ok,
                server_errors: tally.server_errors,
                hangs: tally.hangs,
                resets: tally.resets,
                longest_failure_streak: tally.longest_failure_streak,
            };
            (receiving, missing)
        };
        for id in missing.iter().take(10) {
            let detail = api.call(reqwest::Method::GET, &format!("/v1/deliveries/{id}"), None).await;
            missing_sample
                .push(Missing { delivery_id: id.clone(), detail: detail.map(|(_, v)| v).unwrap_or_default() });
        }
        let status = api.call(reqwest::Method::GET, &format!("/v1/endpoints/{endpoint}"), None).await;
        receiving.status = status.ok().and_then(|(_, v)| v["status"].as_str().map(str::to_owned)).unwrap_or_default();
        per_endpoint.push(receiving);
    }
    let down_status = api.call(reqwest::Method::GET, &format!("/v1/endpoints/{down}"), None).await;
    let sqs = aws_sdk_sqs::Client::new(&hookline::dev::emulator_sdk_config(&aws).await);
    let dead_lettered = queue_depth(&sqs, &format!("{run}-DeliveryDeadLetterQueue")).await.map(|(v, n)| v + n);
    let queue_left = queue_depth(&sqs, &format!("{run}-DeliveryQueue")).await;
    dev.lock().await.kill().await;

    let summary = Summary {
        events,
        published: published.len(),
        publish_retries: progress.publish_retries.load(Ordering::Relaxed),
        kills: progress.kills.lock().expect("kills").clone(),
        wall_seconds: t0.elapsed().as_secs_f64(),
        healthy_seconds: healthy_done_at.map(|d| d.as_secs_f64()),
        settled_seconds: settled_at.as_secs_f64(),
        time_limit_seconds: time_limit.as_secs(),
        time_limit_hit,
        endpoints: per_endpoint,
        down_endpoint: down.to_string(),
        down_status: down_status.ok().and_then(|(_, v)| v["status"].as_str().map(str::to_owned)).unwrap_or_default(),
        down_counts,
        dead_lettered,
        queue_left,
        missing_sample,
        recovery,
        settings: json!({
            "faults": {"server_error": faults.server_error, "hang": faults.hang, "reset": faults.reset},
            "endpoint_timeout_seconds": TIMEOUT_SECONDS, "hang_seconds": HANG.as_secs(), "max_retries": MAX_RETRIES,
            "retry_scale": retry_scale, "max_consecutive_failures": max_failures, "sqs_concurrency": sqs_concurrency,
            "stack": run,
        }),
    };
    let ok = report::write(&summary, &out_dir);
    std::process::exit(if ok { 0 } else { 1 });
}
