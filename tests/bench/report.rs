//! Turning the run into `summary.json`, a table on stdout, and
//! `docs/performance.md`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::cost::{self, Measured, Scenario, AWS_ROUND_TRIP_MS};
use crate::latency_model;
use crate::side_by_side::{
    aws_model, latency_json, SVIX_CPU_MS, SVIX_LATENCY_MS, SVIX_METHOD, SVIX_PER_SECOND, SVIX_POSTGRES_CPU_MS,
};
use crate::{E2e, RateLimited};

/// How often the outbox sweeper checks an event: every six hours over a
/// six-and-a-half-hour window.
const SWEEP_CHECKS_PER_EVENT: f64 = 6.5 / 6.0;

/// Everything one run measured.
pub struct Results<'a> {
    pub events: usize,
    pub e2e: &'a E2e,
    /// The same stack with the fast path off (`FastPathMaxDeliveries=0`).
    pub stream_only: &'a E2e,
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

/// What the run measured, for the cost model. The sweeper's reads are
/// modelled: each check reads the event (a quarter of a 4 KB unit, halved
/// for eventual consistency) and its expected delivery keys (half a unit each).
fn measured(e: &E2e) -> Measured {
    Measured {
        event_write_units: e.event_write_units,
        pending_write_units: e.pending_write_units,
        fast_pending_share: e.steady_pending_records,
        outcome_write_units: e.outcome_write_units,
        endpoint_query_read_units: e.endpoint_query_read_units,
        sweep_read_units: SWEEP_CHECKS_PER_EVENT * 0.5,
        sweep_event_read_units: SWEEP_CHECKS_PER_EVENT * 0.125,
        attempt_ms: e.attempt_ms,
        cpu_ms: e.cpu_ms_by_function.clone(),
        log_bytes: e.log_bytes_per_delivery,
    }
}

/// Writes the summary, the table and the docs page.
pub fn write(r: &Results, out_dir: &Path, docs: &Path) {
    let e = r.e2e;
    let m = measured(e);
    let base = Scenario { fanout: 1.0, batch: 1.0, provisioned: false, fast_path: true };
    let usd = cost::usd_per_million(&m, base);
    let scenarios: BTreeMap<String, BTreeMap<String, f64>> =
        Scenario::all().into_iter().map(|s| (s.name(), cost::usd_per_million(&m, s))).collect();
    let by_scenario = |f: &dyn Fn(Scenario) -> f64| -> BTreeMap<String, f64> {
        Scenario::all().into_iter().map(|s| (s.name(), f(s))).collect()
    };
    let stream_only: BTreeMap<String, f64> =
        Scenario::all_with(false).into_iter().map(|s| (s.name(), cost::usd_per_million(&m, s)["total"])).collect();
    let (fast_model, stream_model) = aws_model(e, r.stream_only);
    let summary = json!({
        "cpu_ms_per_delivery": e.worker_cpu_ms(),
        "cpu_ms_per_delivery_by_function": e.cpu_ms_by_function,
        "cpu_ms_per_delivery_path": e.path_cpu_ms(),
        "svix": {
            "cpu_ms_per_delivery": SVIX_CPU_MS,
            "postgres_cpu_ms_per_delivery": SVIX_POSTGRES_CPU_MS,
            "deliveries_per_second": SVIX_PER_SECOND,
            "latency_ms": {"p50": SVIX_LATENCY_MS.0, "p95": SVIX_LATENCY_MS.1, "p99": SVIX_LATENCY_MS.2},
            "method": SVIX_METHOD,
        },
        "latency_ms_by_rate": latency_json(&e.latency),
        "latency_ms_aws_model": {
            "fast_path_p50": latency_model::total(&fast_model),
            "stream_p50": latency_model::total(&stream_model),
        },
        "stream_only": {
            "cpu_ms_per_delivery_by_function": r.stream_only.cpu_ms_by_function,
            "cpu_ms_per_delivery_path": r.stream_only.path_cpu_ms(),
            "latency_ms_by_rate": latency_json(&r.stream_only.latency),
            "deliveries_per_second": r.stream_only.deliveries as f64 / r.stream_only.seconds,
            "aws_requests_per_delivery": r.stream_only.requests,
        },
        "usd_per_million_stream_only": stream_only,
        "process_cpu_ms_per_delivery": e.process_cpu_ms_per_delivery,
        "floor_cpu_ms_per_request": r.floor_cpu,
        "deliveries_per_second": e.deliveries as f64 / e.seconds,
        "floor_requests_per_second": r.floor_rps,
        "latency_ms": e.latency.first().map(|l| json!({"p50": l.p50, "p95": l.p95, "p99": l.p99})),
        "aws_requests_per_delivery": e.requests,
        "dynamodb_wcu_per_delivery": m.write_units(base),
        "dynamodb_rcu_per_delivery": m.read_units(base),
        "usd_per_million_deliveries": usd["total"],
        "usd_per_million_breakdown": usd,
        "usd_per_million": by_scenario(&|s| scenarios[&s.name()]["total"]),
        "usd_per_million_breakdown_by_scenario": scenarios,
        "wcu_per_delivery": by_scenario(&|s| m.write_units(s)),
        "pending_records_per_delivery": {
            "throughput_run": e.pending_records,
            "steady_rate": e.steady_pending_records,
            "fast_path_off_throughput_run": r.stream_only.pending_records,
        },
        "log_bytes_per_delivery": e.log_bytes_per_delivery,
        "usd_per_million_floor": cost::floor_per_million(),
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
    let table = table(r, &m);
    println!("{table}");
    std::fs::write(docs, page(r, &table, &m)).expect("docs/performance.md");
}

fn table(r: &Results, m: &Measured) -> String {
    let e = r.e2e;
    let mut rows = vec![
        ("deliveries per second".to_owned(), format!("{:.0}", e.deliveries as f64 / e.seconds)),
        ("floor requests per second".to_owned(), format!("{:.0}", r.floor_rps)),
        ("sending path CPU per delivery".to_owned(), format!("{:.3} ms", e.path_cpu_ms())),
    ];
    for (f, ms) in &e.cpu_ms_by_function {
        rows.push((format!("  {f} CPU per delivery"), format!("{ms:.3} ms")));
    }
    rows.push((
        "sending path CPU per delivery, fast path off".to_owned(),
        format!("{:.3} ms", r.stream_only.path_cpu_ms()),
    ));
    for (f, ms) in &r.stream_only.cpu_ms_by_function {
        rows.push((format!("  {f} CPU per delivery, fast path off"), format!("{ms:.3} ms")));
    }
    rows.extend([
        ("whole process CPU per delivery".to_owned(), format!("{:.3} ms", e.process_cpu_ms_per_delivery)),
        ("floor CPU per request".to_owned(), format!("{:.3} ms", r.floor_cpu)),
        ("CPU ratio (worker / floor)".to_owned(), format!("{:.1}x", e.worker_cpu_ms() / r.floor_cpu.max(1e-9))),
    ]);
    for (run, label) in [(e, ""), (r.stream_only, ", fast path off")] {
        for l in &run.latency {
            rows.push((
                format!("latency publish -> receiver p50/p95/p99 at {}/s{label}", l.rate),
                format!("{:.0} / {:.0} / {:.0} ms", l.p50, l.p95, l.p99),
            ));
        }
    }
    let (fast_model, stream_model) = aws_model(e, r.stream_only);
    rows.extend([
        ("AWS model p50, fast path".to_owned(), format!("{:.0} ms", latency_model::total(&fast_model))),
        ("AWS model p50, stream".to_owned(), format!("{:.0} ms", latency_model::total(&stream_model))),
        ("log bytes per delivery (CloudWatch)".to_owned(), format!("{:.0}", e.log_bytes_per_delivery)),
        (
            "pending records per delivery: steady / flooded / fast path off".to_owned(),
            format!(
                "{:.2} / {:.2} / {:.2}",
                e.steady_pending_records, e.pending_records, r.stream_only.pending_records
            ),
        ),
        (
            "USD per million, EventBridge API destinations".to_owned(),
            format!("{:.2}", cost::eventbridge_api_destinations_per_million()),
        ),
        ("USD per million, the floor (2 write units)".to_owned(), format!("{:.2}", cost::floor_per_million())),
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
    ]);
    rows.extend(
        r.rate
            .extra_requests
            .iter()
            .map(|(k, v)| (format!("rate limit: extra AWS {k} per delivery"), format!("{v:.2}"))),
    );
    for s in Scenario::all().into_iter().chain(Scenario::all_with(false)) {
        let usd = cost::usd_per_million(m, s);
        rows.push((format!("{}: write units per delivery", s.name()), format!("{:.2}", m.write_units(s))));
        rows.push((format!("{}: USD per million", s.name()), format!("{:.2}", usd["total"])));
    }
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

fn page(r: &Results, table: &str, m: &Measured) -> String {
    let base = Scenario { fanout: 1.0, batch: 1.0, provisioned: false, fast_path: true };
    let e = r.e2e;
    let (fast_model, stream_model) = aws_model(e, r.stream_only);
    let local_p50 = |run: &E2e, rate: f64| {
        run.latency.iter().find(|l| l.rate == rate).map_or("not run".to_owned(), |l| format!("{:.0} ms", l.p50))
    };
    let latency_rows: String = [(e, "on"), (r.stream_only, "off")]
        .iter()
        .flat_map(|(run, fast)| {
            run.latency.iter().map(move |l| {
                format!("| {}/s | {fast} | {} | {:.0} | {:.0} | {:.0} |\n", l.rate, l.events, l.p50, l.p95, l.p99)
            })
        })
        .collect();
    let cpu_rows: String = e
        .cpu_ms_by_function
        .iter()
        .map(|(f, ms)| {
            let off = r.stream_only.cpu_ms_by_function.get(f).copied().unwrap_or(0.0);
            format!("| {f} | {ms:.3} | {off:.3} |\n")
        })
        .collect();
    let stream_totals: String = Scenario::all()
        .into_iter()
        .map(|s| {
            let on = cost::usd_per_million(m, s)["total"];
            let off = cost::usd_per_million(m, Scenario { fast_path: false, ..s })["total"];
            format!("| {} | {off:.2} | {on:.2} | {:+.2} |\n", s.name(), on - off)
        })
        .collect();
    let usd = cost::usd_per_million(m, base);
    let breakdown: String = usd.iter().map(|(k, v)| format!("| {k} | {v:.3} |\n")).collect();
    let scenarios: String = Scenario::all()
        .into_iter()
        .map(|s| {
            let lines = cost::usd_per_million(m, s);
            format!(
                "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | **{:.2}** |\n",
                s.name(),
                m.write_units(s),
                lines["dynamodb_writes"] + lines["dynamodb_reads"],
                lines["api_gateway"],
                lines["lambda_requests"] + lines["lambda_duration"] + lines["sqs"],
                lines["cloudwatch_logs"],
                lines["total"]
            )
        })
        .collect();
    let total_of = |fanout: f64, batch: f64, provisioned: bool| {
        cost::usd_per_million(m, Scenario { fanout, batch, provisioned, fast_path: true })["total"]
    };
    format!(
        "# Performance and cost\n\n\
Generated by `make bench` on {date} ({machine}), with `--events {events} --fanout-endpoints {fan}`. \
Figures are from that one run.\n\n\
## How to reproduce\n\n```bash\nmake bench                 # or: make bench BENCH_ARGS=\"--events 1000 --fanout-endpoints 2000\"\ncat target/bench/summary.json\n```\n\n\
## Method\n\n\
- **End to end**: `hookline dev` in-process on moto (release build), {events} events of about 1 KB published through the admin API \
(8 at a time) to one endpoint on a local receiver that answers 200; deliveries per second run from the first publish to the last \
request the receiver read.\n\
- **CPU by function**: the publish handler (`admin-api`), the fan-out (`outbox-fanout`) and the delivery worker \
(`delivery-attempt`) each run on an OS thread of their own, with their own AWS clients (the same code and environment as \
their Lambda binaries); each one's CPU is its thread's clock (`CLOCK_THREAD_CPUTIME_ID`) over the throughput run, divided by \
the deliveries, and the sending path is their sum. moto answers every request with `Connection: close`, where AWS keeps \
an SDK client's connections open, so the three functions reach moto through a keep-alive relay on a thread of its own: \
their clocks hold what a call costs over an open connection, as on AWS, and the relay pays for moto's new connections. `hookline dev`'s IAM check is left off these three (on AWS, IAM costs a function nothing; the suite checks each role). The whole process's user + system time (the functions, the dev pollers, \
the load generator and the receiver; moto is another process) is given beside it. The same run is made a second time with \
the fast path off (`FastPathMaxDeliveries=0`).\n\
- **Latency**: after the throughput run, events published at a steady rate (at least ten seconds of traffic at each rate), \
from just before the publish call to the receiver's read. The dev pollers run at AWS's intervals: the stream is read every \
250 ms when idle (Lambda reads a shard four times a second), and the queue is long-polled (a message is taken as it arrives).\n\
- **Floor**: the same receiver driven by a plain reqwest loop sending the same bodies with both signatures, 10 at a time.\n\
- **AWS requests**: counted by the SDK interceptor on every client, divided by the deliveries. The dev event-source pollers \
are not counted: on AWS they are the event source mapping's; the model adds the SQS mapping's receive and delete per batch of ten.\n\
- **Capacity units**: moto reports a constant ConsumedCapacity, so units come from the stored items' sizes with DynamoDB's rules \
(writes: 1 KB units, charged on the larger of before/after; reads: 4 KB units, half for eventually consistent): the outbox row \
(its payload deflated at rest), the delivery's pending row and its outcome; the fan-out's endpoint query; the outbox sweeper's \
reads (modelled: each event checked {sweeps:.2} times, its row and its expected delivery keys).\n\
- **Logs**: every line the functions' own code writes during the throughput run, formatted as Lambda's JSON log format gives it at \
the template's level (INFO), plus CloudWatch's 26 bytes per event. Platform lines (START, END, REPORT) are not written: the \
template's `SystemLogLevel` is WARN.\n\
- **Lambda**: modelled: the publish call per event (or one `BatchWriteItem` per 25 events of a batch), then on the fast path \
its sends and pending records; fan-out in stream batches of ten events (an endpoint query per batch, then either the fast \
path's check or the writes and sends); delivery in queue batches of ten; durations are the AWS calls on each path at {rtt} ms \
each plus the measured attempt time and each function's measured CPU; memory 256 MB (fan-out 512 MB), arm64.\n\
- **Cold start**: each release binary started 20 times against a stub Lambda Runtime API; time from exec to its first \
`GET /2018-06-01/runtime/invocation/next`; median. Sizes are the stripped release binaries for the native target ({arch}); \
the arm64 ones are those `make package` (`sam build`) left in `.aws-sam/build/`, when it has been run.\n\
- **Fan-out**: one event to {fan} endpoints through `outbox-fanout`'s code, timed until every delivery message is in the queue.\n\n\
## Figures\n\n```\n{table}\n```\n\n\
## Side by side with Svix\n\n\
Svix: {svix_method}.\n\n\
| figure | Svix here | Hookline | goal |\n|---|---|---|---|\n\
| CPU per delivery, whole sending path | {svix_cpu} ms (+ {svix_pg} ms Postgres) | {path_cpu:.3} ms (publish, fan-out, worker; + moto, which stands in for DynamoDB and SQS) | ≤ 1.0 ms |\n\
| p50 publish → receiver, local, 10/s | {svix_p50} ms | {local10} | ≤ 30 ms |\n\
| p50 publish → receiver, AWS model | — | {aws_fast:.0} ms (stream path: {aws_stream:.0} ms) | ≤ 100 ms |\n\
| deliveries per second, this machine | {svix_rps} | {rps:.0} (everything, moto included, on the same 2 cores) | |\n\n\
CPU per delivery by function (ms):\n\n| function | fast path on | fast path off |\n|---|---:|---:|\n{cpu_rows}\n\
Publish → receiver, locally on moto (ms):\n\n| rate | fast path | events | p50 | p95 | p99 |\n|---|---|---:|---:|---:|---:|\n{latency_rows}\n\
Moto answers each call in a few milliseconds of Python, and every call on the path waits its turn on the same two cores, so \
the local figures are an upper bound; the AWS model below puts typical in-region latencies on the same calls. A rate above \
what the local stack sustains ({rps:.0} deliveries per second in the throughput run) measures the backlog that builds, not \
the path.\n\n\
### What dominates, and what was cut\n\n\
Profiled with `perf` (release build with line tables, each function's thread): an AWS call costs about 0.2 to 0.4 ms of CPU in the SDK (its orchestrator, interceptors, SigV4 signing, request and response (de)serialization, and the allocations behind them), well above the JSON, HMAC and redaction of a delivery. So the CPU per delivery follows the calls per delivery. Cut: the publish call's endpoint query (reused for 5 s per warm instance) and event-type read (kept once found; the API never removes a type); the fan-out's check, one `BatchGetItem` per event before, one per stream batch now; a deflate compressor per publish (about 300 KB of tables allocated, zeroed and freed each time) replaced by one per thread, reset. Left: the outbox `PutItem`, the `SendMessageBatch`, the outcome `UpdateItem` and the attempt's own HTTP request, each needed for the outbox guarantee or the log.\n\n\
### The fast path\n\n\
Once the outbox row is written (the commit behind the 202), the publish call sends each delivery's message itself and \
writes nothing more; the outbox row carries `fast_path: true` and `subscribers_at`, when the endpoints it sent to were read. A warm publish instance reuses a tenant's endpoints for 5 seconds (as long as the worker trusts its copy of an endpoint) and an event type once found, so a publish call is one `PutItem` and one `SendMessageBatch`; a change made through the same instance is seen at once. The first attempt writes the delivery's whole record with \
its outcome (a conditional `UpdateItem` that fills in what the pending record would have held), so a delivery attempted at \
once costs two write units in all: the event and the outcome. The stream still delivers every outbox record to the \
fan-out, which reads the expected delivery keys of a whole stream batch's events (one batched read). An endpoint created or changed after `subscribers_at` may not have been sent to: the stream writes and sends its delivery at once (if the publish call had sent it too, the receiver gets it twice under one `webhook-id`, the case Standard Webhooks' deduplication is for). A rate-limited endpoint's deliveries are left to the stream: one may wait for its start slot longer than the stream's held-back copy, and the copy would then start a second attempt. A delivery with no record is either still \
waiting in the queue or was never sent (the queue refused it, or the publish call stopped half-way): it gets its pending \
record then, so a waiting delivery shows in the log and the console within the stream's poll, and a copy of its message \
that waits the longest delay SQS allows (15 minutes) and is dropped if an attempt was made by then. A delivery the \
publish call never sent thus arrives 15 minutes late, not never. Parking a delivery for a paused endpoint writes its record \
first if it has none. An event with more subscribers than `FastPathMaxDeliveries` (default 100; per publish call, so per batch), or a tenant with \
more endpoints than that, goes through the stream as before; `FastPathMaxDeliveries=0` turns the fast path off.\n\n\
What it costs, per million deliveries (the model's totals with the fast path off, on, and the difference): a single \
publish sends its own message instead of sharing a stream batch's calls, the stream's check reads each delivery's key, and a fifth of the publish calls are modelled as reading the endpoints (strongly consistent; fewer on a busier instance).\n\n\
| scenario | fast path off | fast path on | difference |\n|---|---:|---:|---:|\n{stream_totals}\n\
### Latency on AWS, modelled\n\n\
Fast path:\n\n{fast_model_table}\n\
Stream path (fast path off, or a fan-out beyond its budget):\n\n{stream_model_table}\n\
## Dollars per million deliveries, over a delivery's whole life\n\n\
Prices: {prices}. DynamoDB on demand ${w}/M write units and ${rd}/M read units; provisioned ${wh} per WCU-hour and ${rh} per \
RCU-hour, used at {util:.0} % (the template's `TargetUtilizationPercent`); SQS ${sqs}/M requests; Lambda ${lr}/M requests and \
${gbs}/GB-s (arm64); API Gateway HTTP API ${api}/M requests; CloudWatch Logs ${logs}/GB ingested. Expiry is DynamoDB TTL, which \
deletes at no charge; the daily prune reads only what is past retention plus three days (normally nothing), and the schedules \
cost a few invocations a day, not per delivery. EventBridge API destinations for the same traffic: ${ebe}/M custom events plus \
${eba}/M invocations = ${eb:.2}. The floor, a write for the event and one for the outcome on demand, is ${floor:.2}.\n\n\
| scenario | write units | DynamoDB | API Gateway | Lambda + SQS | logs | total |\n|---|---|---|---|---|---|---|\n{scenarios}\n\
1:1 published singly, on demand, by line:\n\n| line | USD per million deliveries |\n|---|---|\n{breakdown}\n\
## Targets\n\n\
| target | goal | measured |\n|---|---|---|\n\
| CPU per successful delivery (worker) | ≤ 0.5 ms | {cpu:.3} ms |\n\
| CPU per delivery, whole sending path | ≤ 1.0 ms | {path_cpu:.3} ms |\n\
| p50 publish → receiver, local, 10/s | ≤ 30 ms | {local10} |\n\
| p50 publish → receiver, AWS model | ≤ 100 ms | {aws_fast:.0} ms |\n\
| write units per 1:1 delivery, deletes included | 2.0 (must: ≤ 3.0) | {wcu:.2} |\n\
| USD per million, 1:1, on demand, batch publish | ≤ 1.60 (must: ≤ 2.20) | ${od_batch:.2} |\n\
| USD per million, 1:1, provisioned, batch publish | ≤ 0.90 (must: ≤ 1.20) | ${pr_batch:.2} |\n\
| cold start | ≤ 30 ms | {cold_max:.1} ms (slowest function) |\n\
| bootstrap size | ≤ 8 MB | {size_max:.2} MB (largest function; arm64: {arm_max}) |\n\
| fan-out to 10,000 endpoints | completes | {fanout:.1} s for {fan} endpoints |\n\n\
## Where the money goes\n\n\
DynamoDB writes are most of the bill: {wcu:.2} write units per 1:1 delivery, deletes included. They are the outbox row (the \
commit behind the 202; one unit, as payloads are deflated at rest), the outcome after the attempt (one), and a pending \
record only for deliveries still waiting in the queue when the stream looks ({steady_pending:.2} per delivery at the steady \
rate above, {flood_pending:.2} in the flooded throughput run; every delivery with the fast path off). Nothing is deleted by a \
paid write: retention is TTL. There is no per-event dispatch mark: a repeated stream record finds its deliveries already \
written (their ids come from the event and the endpoint), and the sweeper looks for an event's expected delivery keys, \
which are reads.\n\n\
What it costs the product: a delivery attempted within the stream's poll (a quarter of a second) is never shown as \
`pending`: it appears with its first attempt. One that waits longer (a busy queue, a slow or rate-limited endpoint, a \
paused one) shows as `pending` or `parked` as before.\n\n\
What would move it further:\n\n\
- More endpoints per event share the event's unit: at five endpoints a delivery costs {wcu5:.2} units.\n\
- Batch publish (`POST /v1/events/batch`) takes API Gateway and the publish invocation from one per event to one per hundred.\n\n\
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
        svix_method = SVIX_METHOD,
        svix_cpu = SVIX_CPU_MS,
        svix_pg = SVIX_POSTGRES_CPU_MS,
        svix_p50 = SVIX_LATENCY_MS.0,
        svix_rps = SVIX_PER_SECOND,
        path_cpu = e.path_cpu_ms(),
        local10 = local_p50(e, 10.0),
        aws_fast = latency_model::total(&fast_model),
        aws_stream = latency_model::total(&stream_model),
        rps = e.deliveries as f64 / e.seconds,
        cpu_rows = cpu_rows,
        latency_rows = latency_rows,
        stream_totals = stream_totals,
        fast_model_table = latency_model::table(&fast_model),
        stream_model_table = latency_model::table(&stream_model),
        rtt = AWS_ROUND_TRIP_MS,
        sweeps = SWEEP_CHECKS_PER_EVENT,
        arch = std::env::consts::ARCH,
        fan = r.fanout_endpoints,
        table = table,
        prices = cost::PRICES_AS_OF,
        w = cost::DYNAMODB_WRITE_PER_M,
        rd = cost::DYNAMODB_READ_PER_M,
        wh = cost::DYNAMODB_WCU_HOUR,
        rh = cost::DYNAMODB_RCU_HOUR,
        util = cost::TARGET_UTILIZATION * 100.0,
        sqs = cost::SQS_PER_M,
        lr = cost::LAMBDA_REQUESTS_PER_M,
        gbs = cost::LAMBDA_ARM_GB_SECOND,
        api = cost::HTTP_API_PER_M,
        logs = cost::LOGS_INGEST_PER_GB,
        ebe = cost::EVENTBRIDGE_EVENTS_PER_M,
        eba = cost::EVENTBRIDGE_API_DESTINATIONS_PER_M,
        eb = cost::eventbridge_api_destinations_per_million(),
        floor = cost::floor_per_million(),
        scenarios = scenarios,
        breakdown = breakdown,
        cpu = e.worker_cpu_ms(),
        wcu = m.write_units(base),
        wcu5 = m.write_units(Scenario { fanout: 5.0, ..base }),
        steady_pending = e.steady_pending_records,
        flood_pending = e.pending_records,
        od_batch = total_of(1.0, 100.0, false),
        pr_batch = total_of(1.0, 100.0, true),
        cold_max = r.cold.values().cloned().fold(0.0, f64::max),
        size_max = r.sizes.values().cloned().max().unwrap_or(0) as f64 / 1e6,
        arm_max = match &r.sizes_arm64 {
            Ok(sizes) => format!("{:.2} MB", sizes.values().cloned().max().unwrap_or(0) as f64 / 1e6),
            Err(why) => why.clone(),
        },
        fanout = r.fanout_seconds,
        wait = 2.0 * 0.256 / 10.0 * cost::LAMBDA_ARM_GB_SECOND * 1e6,
        rn = r.rate.events,
        rl = r.rate.limit,
    )
}
