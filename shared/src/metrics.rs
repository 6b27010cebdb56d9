//! Hookline's own CloudWatch metrics, written as Embedded Metric Format
//! documents on the functions' stdout (no API call, no permission).
//!
//! A function registers its handles once per cold start; counting is then
//! an atomic add, and a duration a send on a bounded channel. After each
//! invocation the process's recorder writes what was counted: one JSON line
//! per dimension set that changed, so a batch of deliveries with one outcome
//! adds one line. Dimensions are the function and the outcome only, never
//! an endpoint or a tenant: each distinct set is a metric CloudWatch bills
//! monthly. The per-endpoint view stays in the API.
//!
//! The recorder is process-wide (the `metrics` facade has one), as a
//! Lambda's is; `hookline dev` runs every function in one process and tells
//! them apart by the `Function` dimension.

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics::{Counter, Histogram, Unit};
use metrics_cloudwatch_embedded::Collector;

/// The namespace when the template's `MetricsNamespace` is not set.
pub const DEFAULT_NAMESPACE: &str = "Hookline";

/// The dimension naming the function that counted.
pub const FUNCTION: &str = "Function";
/// The dimension naming what happened.
pub const OUTCOME: &str = "Outcome";

/// Deliveries by outcome (`Function`, `Outcome`).
pub const DELIVERIES: &str = "Deliveries";
/// Milliseconds an attempt's request took, by outcome.
pub const ATTEMPT_DURATION: &str = "AttemptDuration";
/// Milliseconds from publish to delivered (retries included).
pub const DELIVERY_LATENCY: &str = "DeliveryLatency";
/// Deliveries enqueued per event fanned out.
pub const FANOUT_SIZE: &str = "FanoutSize";
/// Endpoints Hookline paused (the circuit breaker).
pub const ENDPOINTS_PAUSED: &str = "EndpointsPaused";
/// Endpoints Hookline disabled (410 Gone, the health check).
pub const ENDPOINTS_DISABLED: &str = "EndpointsDisabled";
/// Inbound webhooks by outcome.
pub const INBOUND_WEBHOOKS: &str = "InboundWebhooks";

static COLLECTOR: OnceLock<Option<&'static Collector>> = OnceLock::new();

/// Installs the process's recorder; later calls keep the first namespace.
/// Handles registered before this count nothing.
pub fn install(namespace: &str) -> bool {
    COLLECTOR
        .get_or_init(|| {
            let built = metrics_cloudwatch_embedded::Builder::new().cloudwatch_namespace(namespace.to_owned()).init();
            match built {
                Ok(collector) => {
                    describe();
                    Some(collector)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed; no metrics will be written");
                    None
                }
            }
        })
        .is_some()
}

fn describe() {
    for name in [DELIVERIES, ENDPOINTS_PAUSED, ENDPOINTS_DISABLED, INBOUND_WEBHOOKS] {
        metrics::describe_counter!(name, Unit::Count, "");
    }
    metrics::describe_histogram!(FANOUT_SIZE, Unit::Count, "");
    for name in [ATTEMPT_DURATION, DELIVERY_LATENCY] {
        metrics::describe_histogram!(name, Unit::Milliseconds, "");
    }
}

/// Appends what was counted since the last flush to `out`, a document a line.
pub fn flush_into(out: &mut Vec<u8>) {
    if let Some(collector) = COLLECTOR.get().copied().flatten() {
        // Writing to memory fails only on a serialization bug.
        if let Err(e) = collector.flush(&mut *out) {
            tracing::warn!(error = %e, "metrics not written");
        }
    }
}

/// Writes what was counted to stdout, where Lambda's log stream takes it,
/// in one write so no log line lands inside a document.
pub fn flush_to_stdout() {
    static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());
    let mut buffer = BUFFER.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    buffer.clear();
    flush_into(&mut buffer);
    if !buffer.is_empty() {
        let _ = std::io::stdout().lock().write_all(&buffer);
    }
}

/// Milliseconds to a tenth: enough for a dashboard, short in the log.
fn millis(d: Duration) -> f64 {
    (d.as_micros() as f64 / 100.0).round() / 10.0
}

fn counter(name: &'static str, function: &'static str, outcome: &'static str) -> Counter {
    metrics::counter!(name, FUNCTION => function, OUTCOME => outcome)
}

fn histogram(name: &'static str, function: &'static str, outcome: &'static str) -> Histogram {
    metrics::histogram!(name, FUNCTION => function, OUTCOME => outcome)
}

/// How a delivery's turn in the worker ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    Failed,
    RetryScheduled,
    Parked,
}

impl DeliveryOutcome {
    pub const ALL: [Self; 4] = [Self::Delivered, Self::Failed, Self::RetryScheduled, Self::Parked];

    /// The `Outcome` dimension's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::RetryScheduled => "retry_scheduled",
            Self::Parked => "parked",
        }
    }
}

/// Endpoints Hookline took out of service.
pub struct EndpointMetrics {
    paused: Counter,
    disabled: Counter,
}

impl EndpointMetrics {
    pub fn register(function: &'static str) -> Self {
        Self {
            paused: metrics::counter!(ENDPOINTS_PAUSED, FUNCTION => function),
            disabled: metrics::counter!(ENDPOINTS_DISABLED, FUNCTION => function),
        }
    }

    pub fn paused(&self) {
        self.paused.increment(1);
    }

    pub fn disabled(&self, how_many: u64) {
        self.disabled.increment(how_many);
    }
}

/// The delivery worker's metrics.
pub struct DeliveryMetrics {
    deliveries: [Counter; 4],
    durations: [Histogram; 4],
    latency: Histogram,
    pub endpoints: EndpointMetrics,
}

impl DeliveryMetrics {
    pub fn register(function: &'static str) -> Self {
        let each = |name| DeliveryOutcome::ALL.map(|o| (name, o.as_str()));
        Self {
            deliveries: each(DELIVERIES).map(|(n, o)| counter(n, function, o)),
            durations: each(ATTEMPT_DURATION).map(|(n, o)| histogram(n, function, o)),
            // Under the delivered outcome, so it rides in the same document.
            latency: histogram(DELIVERY_LATENCY, function, DeliveryOutcome::Delivered.as_str()),
            endpoints: EndpointMetrics::register(function),
        }
    }

    /// A delivery that ended without a request (parked, or its endpoint or event gone).
    pub fn ended(&self, outcome: DeliveryOutcome) {
        self.deliveries[outcome as usize].increment(1);
    }

    /// A recorded attempt; `since_publish` for a delivered one.
    pub fn attempted(&self, outcome: DeliveryOutcome, took: Duration, since_publish: Option<Duration>) {
        self.deliveries[outcome as usize].increment(1);
        self.durations[outcome as usize].record(millis(took));
        if let (DeliveryOutcome::Delivered, Some(latency)) = (outcome, since_publish) {
            self.latency.record(millis(latency));
        }
    }
}

/// The fan-out's metrics.
pub struct FanoutMetrics {
    size: Histogram,
}

impl FanoutMetrics {
    pub fn register(function: &'static str) -> Self {
        Self { size: metrics::histogram!(FANOUT_SIZE, FUNCTION => function) }
    }

    /// One event fanned out to `deliveries`.
    pub fn fanned_out(&self, deliveries: usize) {
        self.size.record(deliveries as f64);
    }
}

/// What became of an inbound webhook, the reason class of a refusal included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundOutcome {
    /// Verified, stored and queued (202).
    Received,
    /// Seen before within the dedupe window (200, not processed again).
    Duplicate,
    /// No or wrong credentials (401).
    RejectedAuth,
    /// Unknown or disabled source (404, 403).
    RejectedSource,
    /// Not a webhook Hookline takes: method, size (405, 413).
    RejectedRequest,
    /// Sent by this deployment too many times over (508).
    RejectedLoop,
    /// Could not be stored or queued, or not turned into an event.
    Failed,
    /// Turned into an internal event.
    Processed,
}

impl InboundOutcome {
    pub const ALL: [Self; 8] = [
        Self::Received,
        Self::Duplicate,
        Self::RejectedAuth,
        Self::RejectedSource,
        Self::RejectedRequest,
        Self::RejectedLoop,
        Self::Failed,
        Self::Processed,
    ];

    /// The `Outcome` dimension's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Duplicate => "duplicate",
            Self::RejectedAuth => "rejected_auth",
            Self::RejectedSource => "rejected_source",
            Self::RejectedRequest => "rejected_request",
            Self::RejectedLoop => "rejected_loop",
            Self::Failed => "failed",
            Self::Processed => "processed",
        }
    }

    /// The outcome of a refused request, from its HTTP status.
    pub fn of_refusal(status: u16) -> Self {
        match status {
            401 => Self::RejectedAuth,
            403 | 404 => Self::RejectedSource,
            508 => Self::RejectedLoop,
            s if s >= 500 => Self::Failed,
            _ => Self::RejectedRequest,
        }
    }
}

/// The inbound functions' metrics.
pub struct InboundMetrics {
    outcomes: [Counter; 8],
}

impl InboundMetrics {
    pub fn register(function: &'static str) -> Self {
        Self { outcomes: InboundOutcome::ALL.map(|o| counter(INBOUND_WEBHOOKS, function, o.as_str())) }
    }

    pub fn count(&self, outcome: InboundOutcome) {
        self.outcomes[outcome as usize].increment(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_a_tenth_of_a_millisecond() {
        assert_eq!(millis(Duration::from_micros(12_345)), 12.3);
        assert_eq!(millis(Duration::from_micros(40)), 0.0);
        assert_eq!(millis(Duration::from_secs(2)), 2000.0);
    }

    #[test]
    fn refusals_fall_into_a_few_reason_classes() {
        let classes: Vec<&str> =
            [401, 403, 404, 405, 413, 508, 503].map(|s| InboundOutcome::of_refusal(s).as_str()).into();
        assert_eq!(
            classes,
            [
                "rejected_auth",
                "rejected_source",
                "rejected_source",
                "rejected_request",
                "rejected_request",
                "rejected_loop",
                "failed"
            ]
        );
    }

    #[test]
    fn a_batch_with_one_outcome_is_one_document_of_bounded_dimensions() {
        // The only test here that installs the process's recorder.
        assert!(install("HooklineUnitTest"));
        let worker = DeliveryMetrics::register("unit-test");
        for n in 0..10 {
            worker.attempted(DeliveryOutcome::Delivered, Duration::from_millis(100 + n), Some(Duration::from_secs(2)));
        }
        let mut out = Vec::new();
        flush_into(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        let doc: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        let spec = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Namespace"], "HooklineUnitTest");
        assert_eq!(spec["Dimensions"], serde_json::json!([["Function", "Outcome"]]));
        assert_eq!((&doc["Function"], &doc["Outcome"]), (&"unit-test".into(), &"delivered".into()));
        assert_eq!(doc["Deliveries"], 10);
        assert_eq!(doc["AttemptDuration"].as_array().unwrap().len(), 10);
        assert_eq!(doc["DeliveryLatency"][0], 2000.0);
        // The log bytes a batch of ten adds, for the cost notes.
        println!("one document for 10 deliveries: {} bytes", text.len());
        let mut again = Vec::new();
        flush_into(&mut again);
        assert!(again.is_empty(), "nothing counted, nothing written");
    }

    #[test]
    fn outcomes_index_their_own_handles() {
        for (i, o) in DeliveryOutcome::ALL.iter().enumerate() {
            assert_eq!(*o as usize, i);
        }
        for (i, o) in InboundOutcome::ALL.iter().enumerate() {
            assert_eq!(*o as usize, i);
        }
    }
}
