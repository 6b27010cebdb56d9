//! `make bench`: end-to-end delivery on the local stack against its floor,
//! AWS requests and dollars per delivery, fan-out to 10,000 endpoints, cold
//! starts and binary sizes (native, and arm64 after `make package`), with the
//! criterion micro benchmarks folded in.
//! Writes `target/bench/summary.json` and `docs/performance.md`.

mod coldstart;
mod cost;
mod isolated;
mod latency_model;
mod logs;
mod proxy;
mod report;
mod side_by_side;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use hookline::dev::emulator_sdk_config;
use hookline::dev::provision::{provision, DevClients};
use hookline::dev::template::Template;
use hookline_tests::receiver::Receiver;
use hookline_tests::{delivery_options, emulator, project_template, Api, Stack};
use isolated::Isolated;
use serde_json::{json, Value};
use shared::aws::item_size::item_size;
use shared::aws::Clients;

/// Measured CPU time of this process, user + system.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct we hand it.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn percentile(sorted: &[f64], pct: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// A ~1 KB patient-flavoured payload.
fn payload(n: usize) -> Value {
    json!({
        "invoice": format!("INV-{n:06}"), "amount": 1200 + n, "currency": "INR",
        "patient": {"id": format!("pat_{n}"), "name": "A. Sharma", "ward": "OPD-3"},
        "items": (0..8).map(|i| json!({"code": format!("LAB-{i:03}"), "description": "Complete blood count with differential", "price": 150 + i})).collect::<Vec<_>>(),
        "note": "x".repeat(200),
    })
}

/// Publish-to-receiver latency at one steady rate.
pub struct Latency {
    pub rate: f64,
    pub events: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

pub struct E2e {
    deliveries: usize,
    seconds: f64,
    /// Each function's own CPU (its thread) per delivery, by binary name:
    /// the publish handler, the fan-out and the delivery worker.
    cpu_ms_by_function: BTreeMap<String, f64>,
    /// Everything in this process (API, fan-out, worker, pollers, load, receiver), per delivery.
    process_cpu_ms_per_delivery: f64,
    latency: Vec<Latency>,
    requests: BTreeMap<String, f64>,
    /// Pending records written per delivery in the throughput run (the
    /// queue far behind), and at the first steady rate.
    pending_records: f64,
    steady_pending_records: f64,
    /// Write units of an event (its outbox row), shared by its deliveries.
    event_write_units: f64,
    /// Write units of a delivery's pending record, and of its outcome.
    pending_write_units: f64,
    outcome_write_units: f64,
    /// Read units of one endpoint query (all of the tenant's endpoints).
    endpoint_query_read_units: f64,
    attempt_ms: f64,
    /// CloudWatch Logs bytes the functions wrote per delivery, overhead included.
    log_bytes_per_delivery: f64,
}

impl E2e {
    /// The delivery worker's CPU per delivery.
    fn worker_cpu_ms(&self) -> f64 {
        self.cpu_ms_by_function.get("delivery-attempt").copied().unwrap_or(0.0)
    }

    /// The whole sending path's CPU per delivery: publish, fan-out, attempt.
    fn path_cpu_ms(&self) -> f64 {
        self.cpu_ms_by_function.values().sum()
    }
}

/// Publishes `count` events, at most `concurrency` at a time and, with a
/// `rate`, no faster than that many per second; returns each event id with
/// the instant just before its publish call.
async fn publish(api: &Api, count: usize, concurrency: usize, rate: Option<f64>) -> HashMap<String, Instant> {
    let started = Instant::now();
    stream::iter(0..count)
        .map(|n| {
            let api = api.clone();
            async move {
                if let Some(rate) = rate {
                    tokio::time::sleep_until((started + Duration::from_secs_f64(n as f64 / rate)).into()).await;
                }
                let at = Instant::now();
                let reply = api.post("/v1/events", json!({"type": "bill.paid", "data": payload(n)})).await;
                (reply.body["id"].as_str().unwrap_or_default().to_owned(), at)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// The three functions on a delivery's path, each on its own thread.
struct PathFunctions([Isolated; 3]);

impl PathFunctions {
    fn spawn(opts: &mut hookline::dev::DevOptions) -> Self {
        let functions = [
            Isolated::spawn("admin-api", "AdminApiFunction"),
            Isolated::spawn("outbox-fanout", "OutboxFanoutFunction"),
            Isolated::spawn("delivery-attempt", "DeliveryAttemptFunction"),
        ];
        for f in &functions {
            opts.handlers.insert(f.binary.into(), f.handler(f.binary == "admin-api"));
        }
        Self(functions)
    }

    /// Starts the functions; their AWS calls go through a keep-alive relay
    /// (see `proxy`), as their connections to AWS would stay open.
    fn start(&self, platform: &hookline::dev::Platform) {
        let relay = proxy::spawn(&platform.aws_endpoint);
        self.0.iter().for_each(|f| f.start(platform, &relay));
    }

    async fn cpu(&self) -> BTreeMap<String, Duration> {
        let mut out = BTreeMap::new();
        for f in &self.0 {
            out.insert(f.binary.to_owned(), f.cpu().await);
        }
        out
    }
}

/// Publishes `count` events at a steady `rate` and measures publish → receiver.
async fn latency(api: &Api, receiver: &Receiver, count: usize, rate: f64) -> Latency {
    let base = receiver.received().len();
    let sent = publish(api, count, 64, Some(rate)).await;
    let got = receiver.wait_for(base + count, Duration::from_secs(300)).await;
    let mut ms: Vec<f64> = got[base..]
        .iter()
        .filter_map(|r| sent.get(r.json()["id"].as_str()?).map(|at| (r.at - *at).as_secs_f64() * 1000.0))
        .collect();
    ms.sort_by(f64::total_cmp);
    tokio::time::sleep(Duration::from_secs(1)).await;
    Latency { rate, events: count, p50: percentile(&ms, 50.0), p95: percentile(&ms, 95.0), p99: percentile(&ms, 99.0) }
}

/// The end-to-end run: throughput, each function's CPU, the AWS requests,
/// then latency at each of `rates`. `fast_path` false runs the same stack
/// with `FastPathMaxDeliveries=0` (every event through the stream).
async fn end_to_end(events: usize, latency_events: usize, rates: &[f64], fast_path: bool) -> E2e {
    let mut opts = delivery_options(1.0);
    if !fast_path {
        opts.parameters.insert("FastPathMaxDeliveries".into(), "0".into());
    }
    let functions = PathFunctions::spawn(&mut opts);
    let stack = Stack::start_with(opts).await;
    functions.start(&stack.platform);
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let created = api.post("/v1/endpoints", json!({"url": receiver.url, "event_types": ["bill.paid"]})).await;
    assert_eq!(created.status, 201, "the bench endpoint: {}", created.body);
    publish(&api, 20, 4, None).await;
    receiver.wait_for(20, Duration::from_secs(120)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Throughput: everything at once, 8 publishers.
    shared::aws::metrics::reset();
    logs::reset();
    let base = receiver.received().len();
    let (cpu0, by_function0) = (cpu_time(), functions.cpu().await);
    let started = Instant::now();
    publish(&api, events, 8, None).await;
    let got = receiver.wait_for(base + events, Duration::from_secs(900)).await;
    let last = got.iter().map(|r| r.at).max().expect("requests");
    // The stream's backstop runs after the deliveries: let it finish.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu, by_function) = (cpu_time() - cpu0, functions.cpu().await);
    let requests: BTreeMap<String, f64> =
        shared::aws::metrics::snapshot().into_iter().map(|(k, v)| (k, v as f64 / events as f64)).collect();
    let log_bytes_per_delivery = logs::billed_bytes() as f64 / events as f64;

    // Latency: steady rates.
    let mut latencies = Vec::new();
    let mut steady_requests = BTreeMap::new();
    for &rate in rates {
        // At least ten seconds of traffic at each rate.
        let count = latency_events.max((rate * 10.0) as usize);
        shared::aws::metrics::reset();
        latencies.push(latency(&api, &receiver, count, rate).await);
        if steady_requests.is_empty() {
            // The first (slowest) rate: one the local stack keeps up with.
            steady_requests =
                shared::aws::metrics::snapshot().into_iter().map(|(k, v)| (k, v as f64 / count as f64)).collect();
        }
    }

    // Each event's outbox row is one PutItem; any more are delivery records
    // the fan-out wrote (all of them on the stream path; on the fast path,
    // only those still waiting when the stream looked).
    // Measured at the steady rate, where the queue is not behind.
    let record_puts = (requests_per(&steady_requests, "DynamoDB.PutItem") - 1.0).max(0.0);
    let units = capacity_units(&stack).await;
    stack.platform.shutdown().await;
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / events as f64;
    E2e {
        deliveries: events,
        seconds: (last - started).as_secs_f64(),
        cpu_ms_by_function: by_function.iter().map(|(k, v)| (k.clone(), per(*v - by_function0[k]))).collect(),
        process_cpu_ms_per_delivery: per(cpu),
        latency: latencies,
        pending_records: (requests_per(&requests, "DynamoDB.PutItem") - 1.0).max(0.0),
        requests,
        steady_pending_records: record_puts,
        event_write_units: units.event_writes,
        pending_write_units: units.pending_writes,
        outcome_write_units: units.outcome_writes,
        endpoint_query_read_units: units.endpoint_query,
        attempt_ms: units.attempt_ms,
        log_bytes_per_delivery,
    }
}

/// What an endpoint's rate limit adds per delivery.
pub struct RateLimited {
    limit: u32,
    events: usize,
    seconds: f64,
    /// AWS requests per delivery beyond the unlimited run's, by operation.
    extra_requests: BTreeMap<String, f64>,
}

/// The same 1:1 traffic to an endpoint limited to `limit` per second,
/// published at once so most deliveries wait for a start slot, with two
/// concurrent workers (as Lambda would run several).
async fn rate_limited(events: usize, limit: u32, unlimited: &BTreeMap<String, f64>) -> RateLimited {
    let mut opts = delivery_options(1.0);
    opts.sqs_concurrency = 2;
    let stack = Stack::start_with(opts).await;
    let api = stack.admin();
    let receiver = Receiver::start().await;
    let body = json!({"url": receiver.url, "event_types": ["bill.paid"], "rate_limit_per_second": limit});
    assert_eq!(api.post("/v1/endpoints", body).await.status, 201, "a limited endpoint");
    shared::aws::metrics::reset();
    let started = Instant::now();
    publish(&api, events, 8, None).await;
    let allowed = Duration::from_secs(3 * events as u64 / u64::from(limit) + 120);
    receiver.wait_for(events, allowed).await;
    let seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let extra_requests = shared::aws::metrics::snapshot()
        .into_iter()
        .map(|(k, v)| {
            let more = v as f64 / events as f64 - unlimited.get(&k).copied().unwrap_or(0.0);
            (k, more)
        })
        .filter(|(_, more)| *more > 0.005)
        .collect();
    stack.platform.shutdown().await;
    RateLimited { limit, events, seconds, extra_requests }
}

/// Capacity units measured from the stored items.
struct Units {
    event_writes: f64,
    pending_writes: f64,
    outcome_writes: f64,
    endpoint_query: f64,
    attempt_ms: f64,
}

/// Write and read units, from the stored items' sizes (the emulator's own
/// ConsumedCapacity is a constant, so it is not used), and the mean attempt
/// duration.
fn requests_per(requests: &BTreeMap<String, f64>, operation: &str) -> f64 {
    requests.get(operation).copied().unwrap_or(0.0)
}

async fn capacity_units(stack: &Stack) -> Units {
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.platform.sdk);
    let scan = |table: &str| dynamodb.scan().table_name(stack.platform.resource(table).unwrap()).limit(200).send();
    let deliveries = scan("DeliveriesTable").await.expect("scan").items.unwrap_or_default();
    let events = scan("EventsTable").await.expect("scan").items.unwrap_or_default();
    let endpoints = scan("EndpointsTable").await.expect("scan").items.unwrap_or_default();
    let units = |bytes: usize, per: usize| bytes.div_ceil(per).max(1) as f64;
    let mean = |v: Vec<f64>| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
    // A delivery's pending record, and the attempt's update (charged on the
    // larger, final size).
    let pending = |d: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
        let mut pending = d.clone();
        pending.remove("attempt_log");
        pending.remove("last_status_code");
        units(item_size(&pending), 1024)
    };
    let pending_writes = mean(deliveries.iter().map(pending).collect());
    let outcome_writes = mean(deliveries.iter().map(|d| units(item_size(d), 1024)).collect());
    // Its event: the outbox put (payload deflated at rest). Fan-out keeps no
    // mark of its own: the deterministic delivery ids tell a repeat.
    let event_writes = mean(events.iter().map(|e| units(item_size(e), 1024)).collect());
    // A fan-out (the publish call's, or a stream batch's) queries the
    // tenant's endpoints, eventually consistent.
    let endpoint_query = 0.5 * units(endpoints.iter().map(item_size).sum(), 4096);
    let attempts: Vec<f64> = deliveries
        .iter()
        .filter_map(|d| {
            d.get("attempt_log")?.as_l().ok()?.first()?.as_m().ok()?.get("duration_ms")?.as_n().ok()?.parse().ok()
        })
        .collect();
    Units { event_writes, pending_writes, outcome_writes, endpoint_query, attempt_ms: mean(attempts) }
}

/// The floor: the same receiver driven by a plain reqwest loop sending
/// equivalent signed POSTs.
async fn floor(requests: usize) -> (f64, f64) {
    let receiver = Receiver::start().await;
    let client = reqwest::Client::new();
    let secret = shared::crypto::generate_signing_secret();
    let bodies: Vec<String> =
        (0..requests).map(|n| json!({"id": n, "type": "bill.paid", "data": payload(n)}).to_string()).collect();
    let bodies = Arc::new(bodies);
    let cpu0 = cpu_time();
    let started = Instant::now();
    stream::iter(0..requests)
        .map(|n| {
            let (client, bodies, secret, url) = (client.clone(), bodies.clone(), secret.clone(), receiver.url.clone());
            async move {
                let body = &bodies[n];
                let ts = chrono::Utc::now().timestamp();
                let id = format!("msg_{n}");
                let hms = shared::signature::hms_signature(&secret, ts, body.as_bytes());
                let std = shared::signature::standard_signature_header(&[secret.as_str()], &id, ts, body.as_bytes())
                    .expect("sign");
                client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-hms-signature", hms)
                    .header("x-hms-timestamp", ts.to_string())
                    .header("webhook-id", id)
                    .header("webhook-timestamp", ts.to_string())
                    .header("webhook-signature", std)
                    .body(body.clone())
                    .send()
                    .await
                    .expect("the receiver answers");
            }
        })
        .buffer_unordered(10)
        .collect::<Vec<()>>()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_time() - cpu0;
    (requests as f64 / seconds, cpu.as_secs_f64() * 1000.0 / requests as f64)
}

/// One event to `endpoints` endpoints: seconds until every delivery message is enqueued.
async fn fan_out(endpoints: usize) -> f64 {
    let sdk = emulator_sdk_config(&emulator()).await;
    let clients = DevClients {
        dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
        streams: aws_sdk_dynamodbstreams::Client::new(&sdk),
        sqs: aws_sdk_sqs::Client::new(&sdk),
        secrets: aws_sdk_secretsmanager::Client::new(&sdk),
    };
    let template = Template::load(&project_template()).expect("template");
    let stack = format!("fan{}", hex::encode(shared::ids::random_bytes::<3>()));
    let parameters = template.parameters.iter().map(|(k, v)| (k.clone(), v.clone().unwrap_or_default())).collect();
    let made = provision(&template, &clients, &stack, parameters, Some("bench".into())).await.expect("provision");
    let function = template.functions().unwrap().into_iter().find(|f| f.binary == "outbox-fanout").unwrap();
    let env: HashMap<String, String> =
        function.environment.iter().map(|(k, v)| (k.clone(), made.resolver.resolve(v).unwrap())).collect();
    let config = shared::config::Config::from_lookup(|k| env.get(k).cloned()).expect("config");
    let queue_url = config.delivery_queue_url.clone();
    let state = outbox_fanout::FanoutState::new(config, &Clients::new(&sdk));
    let tenant = shared::ids::TenantId::default_tenant();
    stream::iter(0..endpoints)
        .map(|i| {
            let record: shared::endpoint::EndpointRecord = serde_json::from_value(json!({
                "tenant_id": tenant, "endpoint_id": shared::ids::EndpointId::generate(), "url": format!("https://hooks.example.com/{i}"),
                "name": "bench", "description": "", "event_types": ["*"], "retry_policy": "exponential", "max_retries": 10,
                "timeout_seconds": 15, "status": "active", "secret_sealed": "unused", "secret_masked": "", "version": 1,
                "created_at": chrono::Utc::now(), "updated_at": chrono::Utc::now()
            }))
            .expect("endpoint record");
            let db = state.db.clone();
            async move { db.create_endpoint(&record).await.expect("endpoint stored") }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    let event = shared::event::NewEvent {
        event_type: "bill.paid".into(),
        payload: payload(0).to_string(),
        idempotency_key: None,
        correlation_id: None,
        only_endpoint: None,
    };
    let record = shared::event::OutboxRecord::new(&tenant, event, 30);
    state.db.publish(&record).await.expect("published");
    let started = Instant::now();
    let enqueued = outbox_fanout::fan_out(&state, &record).await.expect("fan-out");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(enqueued as usize, endpoints, "every endpoint got a delivery message");
    let attrs = clients
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .expect("queue attributes");
    let queued = attrs.attributes.and_then(|a| a.values().next().and_then(|v| v.parse::<usize>().ok())).unwrap_or(0);
    assert_eq!(queued, endpoints, "the queue holds them all");
    seconds
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.windows(2).find(|w| w[0] == name).and_then(|w| w[1].parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    logs::capture();
    let events = arg(&args, "--events", 5000);
    let latency_events = arg(&args, "--latency-events", 300);
    let fanout_endpoints = arg(&args, "--fanout-endpoints", 10_000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    eprintln!("bench: end to end, {events} events, then latency at 10/s and 100/s");
    let e2e = end_to_end(events, latency_events, &[10.0, 100.0], true).await;
    eprintln!("bench: the same with the fast path off, {} events", events / 4);
    let stream_only = end_to_end((events / 4).max(100), latency_events, &[10.0], false).await;
    let limited_events = arg(&args, "--rate-limited-events", 300);
    eprintln!("bench: {limited_events} events to an endpoint limited to 50/s");
    let rate = rate_limited(limited_events, 50, &e2e.requests).await;
    eprintln!("bench: floor, {events} requests");
    let (floor_rps, floor_cpu) = floor(events).await;
    eprintln!("bench: fan-out to {fanout_endpoints} endpoints");
    let fanout_seconds = fan_out(fanout_endpoints).await;
    eprintln!("bench: cold starts and sizes");
    let bin_dir = target.join("release");
    let cold = coldstart::cold_starts(&bin_dir, 20).expect("cold starts");
    let sizes = coldstart::bootstrap_sizes(&bin_dir).expect("sizes");
    let logical_ids = Template::load(&project_template())
        .and_then(|t| t.functions())
        .expect("template.yaml")
        .into_iter()
        .map(|f| (f.binary, f.logical_id))
        .collect();
    let sizes_arm64 = coldstart::arm64_bootstrap_sizes(&root.join(".aws-sam/build"), &logical_ids);
    let micro = report::criterion_medians(&target.join("criterion"));
    let results = report::Results {
        events,
        e2e: &e2e,
        stream_only: &stream_only,
        rate: &rate,
        floor_rps,
        floor_cpu,
        fanout_endpoints,
        fanout_seconds,
        cold,
        sizes,
        sizes_arm64,
        micro,
    };
    report::write(&results, &target.join("bench"), &root.join("docs/performance.md"));
}
