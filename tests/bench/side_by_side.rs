//! What the side-by-side with Svix needs besides the run's own figures:
//! Svix's, as measured here, and the views of latency the report shows.

use serde_json::{json, Value};

use crate::latency_model;
use crate::{E2e, Latency};

/// Svix, measured on this machine (the issue that asked for this
/// comparison): open-source svix-server, release build, one endpoint on a
/// local receiver, 1 KB messages.
pub const SVIX_CPU_MS: f64 = 2.2;
pub const SVIX_POSTGRES_CPU_MS: f64 = 2.2;
pub const SVIX_LATENCY_MS: (f64, f64, f64) = (5.7, 8.5, 12.3);
pub const SVIX_PER_SECOND: f64 = 336.0;
pub const SVIX_METHOD: &str = "open-source svix-server, release build, measured on this 2-core machine before 2026-12-02 \
(issue 19): one endpoint on a local receiver, 1 KB messages; CPU of svix-server (API and worker) and of Postgres per delivery; \
paced publish-to-receiver latency";

/// Latency percentiles by rate, as `summary.json` keeps them.
pub fn latency_json(l: &[Latency]) -> Value {
    l.iter()
        .map(|l| (format!("{}", l.rate), json!({"p50": l.p50, "p95": l.p95, "p99": l.p99, "events": l.events})))
        .collect::<serde_json::Map<String, Value>>()
        .into()
}

/// The median the AWS model gives each path.
pub fn aws_model(e: &E2e, stream_only: &E2e) -> (Vec<latency_model::Step>, Vec<latency_model::Step>) {
    let cpu = |e: &E2e, f: &str| e.cpu_ms_by_function.get(f).copied().unwrap_or(0.0);
    (
        latency_model::fast_path(cpu(e, "delivery-attempt"), cpu(e, "admin-api")),
        latency_model::stream_path(cpu(stream_only, "delivery-attempt"), cpu(stream_only, "outbox-fanout")),
    )
}
