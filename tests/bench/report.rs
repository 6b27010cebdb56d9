//! Turning the run into `summary.json`, a table on stdout, and
//! `docs/performance.md`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::cost::{self, LambdaUse};
use crate::{E2e, RateLimited};

/// Assumed in-region round trip of one DynamoDB or SQS call, for Lambda duration.
pub const AWS_ROUND_TRIP_MS: f64 = 6.0;

/// Everything one run measured.
pub struct Results<'a> {
    pub events: usize,
    pub e2e: &'a E2e,
    pub rate: &'a RateLimited,
    pub floor_rps: f64,
    pub floor_cpu: f64,
    pub fanout_endpoints: usize,
    pub fanout_seconds: f64,
    pub cold: BTreeMap<String, f64>,
    pub sizes: BTreeMap<String, u64>,
    /// The arm64 bootstraps of `make package` (`sam build`), or why there are none.
    pub sizes_arm64: Result<BTreeMap<String, u64>, String>,
    pub micro: BTreeMap<String, f64>,
}

/// Median nanoseconds of every criterion benchmark under `dir`.
pub fn criterion_medians(dir: &Path) -> BTreeMap<String, f64> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != "report" && n != "base" && n != "change") {
                stack.push(path);
            } else if path.ends_with("new/estimates.json") {
                let name = path
                    .parent()
                    .and_then(|p| p.parent())
                    .and_then(|p| p.strip_prefix(dir).ok())
                    .map(|p| p.display().to_string());
                let median = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                    .and_then(|v| v["median"]["point_estimate"].as_f64());
                if let (Some(name), Some(median)) = (name, median) {
                    found.insert(name, median);
                }
            }
        }
    }
    found
}

/// The Lambda model for 1:1 traffic (one endpoint per event): the publish
/// call, the fan-out of each event (stream batches of ten), and the attempt
/// (queue batches of ten, attempts concurrent within a batch).
fn lambda_use(r: &Results) -> LambdaUse {
    let e = r.e2e;
    let calls = |name: &str| e.requests.iter().filter(|(k, _)| k.ends_with(name)).map(|(_, v)| v).sum::<f64>();
    // Publish: one outbox write, plus a little work.
    let publish_ms = AWS_ROUND_TRIP_MS + 2.0;
    // Fan-out, records one after another: the mark read, the endpoint query,
    // the delivery write, the mark write, and its share of the batched sends.
    let fanout_ms = AWS_ROUND_TRIP_MS * (calls(".GetItem") + calls(".Query") + 2.0 + calls(".SendMessageBatch"));
    // Delivery: ten attempts at once, each followed by its outcome write.
    let batch_ms = e.attempt_ms + AWS_ROUND_TRIP_MS + e.cpu_ms_per_delivery * 10.0;
    let gb_seconds = (publish_ms * 0.256 + fanout_ms * 0.512 + batch_ms / 10.0 * 0.256) / 1000.0;
    LambdaUse { invocations: 1.0 + 0.1 + 0.1, gb_seconds }
}

/// Writes the summary, the table and the docs page.
pub fn write(r: &Results, out_dir: &Path, docs: &Path) {
    let e = r.e2e;
    let usd = cost::usd_per_million(&e.requests, e.write_units, e.read_units, lambda_use(r));
    let summary = json!({
        "cpu_ms_per_delivery": e.cpu_ms_per_delivery,
        "process_cpu_ms_per_delivery": e.process_cpu_ms_per_delivery,
        "floor_cpu_ms_per_request": r.floor_cpu,
        "deliveries_per_second": e.deliveries as f64 / e.seconds,
        "floor_requests_per_second": r.floor_rps,
        "latency_ms": {"p50": e.latency_ms.0, "p95": e.latency_ms.1, "p99": e.latency_ms.2},
        "aws_requests_per_delivery": e.requests,
        "dynamodb_wcu_per_delivery": e.write_units,
        "dynamodb_rcu_per_delivery": e.read_units,
        "usd_per_million_deliveries": usd["total"],
        "usd_per_million_breakdown": usd,
        "usd_per_million_eventbridge_api_destinations": cost::eventbridge_api_destinations_per_million(),
        "cold_start_ms": r.cold,
        "bootstrap_bytes": r.sizes,
        // An object like bootstrap_bytes, or a string saying why there is none.
        "bootstrap_bytes_arm64": match &r.sizes_arm64 {
            Ok(sizes) => json!(sizes),
            Err(why) => json!(why),
        },
        "fanout_10k_seconds": r.fanout_seconds,
        "fanout_endpoints": r.fanout_endpoints,
        "events": r.events,
        "micro_median_ns": r.micro,
        "rate_limited": {
            "limit_per_second": r.rate.limit,
            "events": r.rate.events,
            "achieved_per_second": r.rate.events as f64 / r.rate.seconds,
            "extra_aws_requests_per_delivery": r.rate.extra_requests,
            "extra_usd_per_million_deliveries": cost::rate_limit_extra_usd_per_million(&r.rate.extra_requests),
        },
    });
    std::fs::create_dir_all(out_dir).expect("target/bench");
    std::fs::write(out_dir.join("summary.json"), serde_json::to_string_pretty(&summary).unwrap())
        .expect("summary.json");
    let table = table(r, &usd);
    println!("{table}");
    std::fs::write(docs, page(r, &table, &usd)).expect("docs/performance.md");
}

fn table(r: &Results, usd: &BTreeMap<String, f64>) -> String {
    let e = r.e2e;
    let mut rows = vec![
        ("deliveries per second".to_owned(), format!("{:.0}", e.deliveries as f64 / e.seconds)),
        ("floor requests per second".to_owned(), format!("{:.0}", r.floor_rps)),
        ("delivery worker CPU per delivery".to_owned(), format!("{:.3} ms", e.cpu_ms_per_delivery)),
        ("whole process CPU per delivery".to_owned(), format!("{:.3} ms", e.process_cpu_ms_per_delivery)),
        ("floor CPU per request".to_owned(), format!("{:.3} ms", r.floor_cpu)),
        ("CPU ratio (Hookline / floor)".to_owned(), format!("{:.1}x", e.cpu_ms_per_delivery / r.floor_cpu.max(1e-9))),
        (
            format!("latency publish -> receiver p50/p95/p99 at {}/s", e.latency_rate),
            format!("{:.0} / {:.0} / {:.0} ms", e.latency_ms.0, e.latency_ms.1, e.latency_ms.2),
        ),
        ("DynamoDB write units per delivery".to_owned(), format!("{:.2}", e.write_units)),
        ("DynamoDB read units per delivery".to_owned(), format!("{:.2}", e.read_units)),
        ("USD per million deliveries".to_owned(), format!("{:.2}", usd["total"])),
        (
            "USD per million, EventBridge API destinations".to_owned(),
            format!("{:.2}", cost::eventbridge_api_destinations_per_million()),
        ),
        (format!("fan-out to {} endpoints", r.fanout_endpoints), format!("{:.1} s", r.fanout_seconds)),
        (
            format!("rate limit {}/s: achieved", r.rate.limit),
            format!("{:.1}/s over {} deliveries", r.rate.events as f64 / r.rate.seconds, r.rate.events),
        ),
        (
            format!("rate limit {}/s: extra USD per million", r.rate.limit),
            format!(
                "{:.2} (requests only; see below for the wait)",
                cost::rate_limit_extra_usd_per_million(&r.rate.extra_requests)
            ),
        ),
    ];
    rows.extend(
        r.rate
            .extra_requests
            .iter()
            .map(|(k, v)| (format!("rate limit: extra AWS {k} per delivery"), format!("{v:.2}"))),
    );
    rows.extend(e.requests.iter().map(|(k, v)| (format!("AWS {k} per delivery"), format!("{v:.2}"))));
    rows.extend(r.cold.iter().map(|(k, v)| (format!("cold start {k}"), format!("{v:.1} ms"))));
    let size = |v: u64| format!("{:.2} MB ({:.2} MiB)", v as f64 / 1e6, v as f64 / 1048576.0);
    for (k, v) in &r.sizes {
        rows.push((format!("bootstrap {k}"), size(*v)));
        if let Some(arm) = r.sizes_arm64.as_ref().ok().and_then(|s| s.get(k)) {
            rows.push((format!("bootstrap {k} arm64 (sam build)"), size(*arm)));
        }
    }
    if let Err(why) = &r.sizes_arm64 {
        rows.push(("bootstrap arm64 (sam build)".to_owned(), why.clone()));
    }
    rows.extend(r.micro.iter().map(|(k, v)| (format!("micro {k}"), format!("{:.2} µs", v / 1000.0))));
    let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    rows.iter().map(|(k, v)| format!("{k:<width$}  {v}")).collect::<Vec<_>>().join("\n")
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores ({cpu}), {} {}", std::env::consts::OS, std::env::consts::ARCH)
}

fn page(r: &Results, table: &str, usd: &BTreeMap<String, f64>) -> String {
    let breakdown: String = usd.iter().map(|(k, v)| format!("| {k} | {v:.3} |\n")).collect();
    format!(
        "# Performance and cost\n\n\
Generated by `make bench` on {date} ({machine}), with `--events {events} --fanout-endpoints {fan}`. \
Figures are from that one run.\n\n\
## How to reproduce\n\n```bash\nmake bench                 # or: make bench BENCH_ARGS=\"--events 1000 --fanout-endpoints 2000\"\ncat target/bench/summary.json\n```\n\n\
## Method\n\n\
- **End to end**: `hookline dev` in-process on moto (release build), {events} events of about 1 KB published through the admin API \
(8 at a time) to one endpoint on a local receiver that answers 200; deliveries per second run from the first publish to the last \
request the receiver read.\n\
- **Worker CPU**: the delivery worker's handler runs on an OS thread of its own (a current-thread Tokio runtime, so its SDK calls, \
its requests to the receiver and the connection tasks behind them all run there); its CPU time is that thread's clock \
(`CLOCK_THREAD_CPUTIME_ID`) over the throughput run, divided by the deliveries. The queue polling that Lambda's event source mapping \
does is outside it, as on AWS. The whole process's user + system time (API, fan-out, worker, pollers, load generator and receiver; \
moto is another process) is given beside it.\n\
- **Latency**: a second run of {lat_n} events published at a steady {lat_rate}/s, which the local stack keeps up with; from just before \
the publish call to the receiver's read. It includes the local pollers' waits (the stream poller sleeps 250 ms when idle).\n\
- **Floor**: the same receiver driven by a plain reqwest loop sending the same bodies with both signatures, 10 at a time.\n\
- **AWS requests**: counted by the SDK interceptor on every client, divided by the deliveries. The dev event-source pollers (SQS receive, \
stream reads) are not counted: on AWS they are the event source mapping's. Stream reads are free for Lambda triggers; the \
SQS mapping's receives and deletes are billed, and the cost model adds them as one of each per batch of ten (`sqs_event_source`).\n\
- **Capacity units**: moto reports a constant ConsumedCapacity, so units come from the stored items' sizes with DynamoDB's rules \
(writes: 1 KB units, charged on the larger of before/after; reads: 4 KB units, half for eventually consistent). Per delivery: \
the outbox row as stored (its payload deflated at rest), the dispatch mark, the delivery's pending row and its outcome update; \
the fan-out's mark read and its share of the endpoint query.\n\
- **Lambda**: modelled for 1:1 traffic: one publish invocation per event, fan-out and delivery in batches of ten; durations are the \
AWS calls on each path at {rtt} ms each plus the measured attempt time and CPU; memory 256 MB (fan-out 512 MB), arm64.\n\
- **Cold start**: each release binary started 20 times against a stub Lambda Runtime API; time from exec to its first \
`GET /2018-06-01/runtime/invocation/next`; median. Sizes are the stripped release binaries for the native target ({arch}); \
the arm64 ones (Lambda's architecture) are those `make package` (`sam build`) left in `.aws-sam/build/`, when it has been run.\n\
- **Fan-out**: one event to {fan} endpoints through `outbox-fanout`'s code, timed until every delivery message is in the queue.\n\n\
## Figures\n\n```\n{table}\n```\n\n\
## Dollars per million deliveries\n\n\
Prices: {prices}. DynamoDB on-demand ${w}/M write units and ${rd}/M read units; SQS ${sqs}/M requests; Lambda ${lr}/M requests \
and ${gbs}/GB-s (arm64); Secrets Manager $0.05 per 10,000 calls. EventBridge API destinations for the same traffic: \
${ebe}/M custom events plus ${eba}/M invocations. The publish call's API Gateway HTTP API request (${api}/M) is not in the total, as DESIGN.md counts \
DynamoDB, SQS and Lambda.\n\n| line | USD per million deliveries |\n|---|---|\n{breakdown}\n\
## Targets (DESIGN.md)\n\n\
| target | goal | measured |\n|---|---|---|\n\
| CPU per successful delivery (worker) | ≤ 0.5 ms | {cpu:.3} ms |\n\
| cost per million deliveries | ≤ $1.50 | ${total:.2} |\n\
| cold start | ≤ 30 ms | {cold_max:.1} ms (slowest function) |\n\
| bootstrap size | ≤ 8 MB | {size_max:.2} MB (largest function; arm64: {arm_max}) |\n\
| fan-out to 10,000 endpoints | completes | {fanout:.1} s for {fan} endpoints |\n\n\
## Where the money goes\n\n\
DynamoDB writes are most of the bill: {wcu:.2} write units per delivery for one endpoint per event. Each is one of: the outbox \
row (the commit behind the 202; one unit now that payloads are deflated at rest, two for a 1 KB payload stored as text), the \
dispatch mark (one unit: a small item of its own, where updating the outbox row was charged two), the delivery's pending row \
written at fan-out (one), and its outcome after the attempt (one). Queue sends are batched across the events of a stream batch, \
so SQS is about a tenth of a request per delivery under load, plus the event source mapping's receive and delete.\n\n\
What would move it further, and what it would cost the product:\n\n\
- Write no pending row at fan-out and record a delivery first when it is attempted (one unit less): the log would not show a \
delivery still waiting in the queue, and a replayed fan-out could no longer tell which deliveries it had already queued.\n\
- One dispatch mark per stream batch instead of per event (most of a unit less at 1:1): the sweeper would have to read marks by \
batch rather than by event.\n\
- A batch publish call (`POST /v1/events` with many events): fewer Lambda and API Gateway requests per event; the write units stay.\n\
- With more endpoints per event the event's own writes are shared: at ten endpoints an event costs about 2.2 units per delivery.\n\n\
## A rate-limited endpoint\n\n\
An endpoint without `rate_limit_per_second` pays nothing for the feature. A limited one reserves a start slot per attempt: one \
conditional `UpdateItem` on a small item in the claims table when the endpoint is idle, and a failed conditional write (charged as a \
write) plus an `UpdateItem` when slots are already reserved. A slot more than 2 s away sends the message back to the queue to wait \
there (one `SendMessage`, plus its share of the event source mapping's receive and delete); a nearer one is waited for in the \
function, which Lambda bills: at most 2 s per batch of ten attempts waiting together, about 0.05 GB-s (${wait:.2} per million) \
in the worst case of a full backlog at 256 MB. The run above published {rn} events at once to an endpoint limited to {rl}/s; \
the extra requests per delivery and their price are in the figures.\n",
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine = machine(),
        events = r.events,
        lat_n = r.e2e.latency_events,
        lat_rate = r.e2e.latency_rate,
        rtt = AWS_ROUND_TRIP_MS,
        arch = std::env::consts::ARCH,
        fan = r.fanout_endpoints,
        table = table,
        prices = cost::PRICES_AS_OF,
        w = cost::DYNAMODB_WRITE_PER_M,
        rd = cost::DYNAMODB_READ_PER_M,
        sqs = cost::SQS_PER_M,
        lr = cost::LAMBDA_REQUESTS_PER_M,
        gbs = cost::LAMBDA_ARM_GB_SECOND,
        ebe = cost::EVENTBRIDGE_EVENTS_PER_M,
        eba = cost::EVENTBRIDGE_API_DESTINATIONS_PER_M,
        api = cost::HTTP_API_PER_M,
        breakdown = breakdown,
        cpu = r.e2e.cpu_ms_per_delivery,
        total = usd["total"],
        cold_max = r.cold.values().cloned().fold(0.0, f64::max),
        size_max = r.sizes.values().cloned().max().unwrap_or(0) as f64 / 1e6,
        arm_max = match &r.sizes_arm64 {
            Ok(sizes) => format!("{:.2} MB", sizes.values().cloned().max().unwrap_or(0) as f64 / 1e6),
            Err(why) => why.clone(),
        },
        fanout = r.fanout_seconds,
        wcu = r.e2e.write_units,
        wait = 2.0 * 0.256 / 10.0 * cost::LAMBDA_ARM_GB_SECOND * 1e6,
        rn = r.rate.events,
        rl = r.rate.limit,
    )
}
