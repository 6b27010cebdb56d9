//! The log bytes the functions write, as CloudWatch Logs ingests them: the
//! JSON lines of Lambda's JSON log format at the template's level (INFO),
//! from the functions' own code only (not `hookline dev`'s pollers), and
//! their metric documents (EMF, a line each). Each line is also charged 26
//! bytes of event overhead.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use lambda_runtime::tracing::subscriber::{fmt, EnvFilter};

/// What CloudWatch Logs adds to every log event it ingests, in bytes.
pub const EVENT_OVERHEAD_BYTES: u64 = 26;

/// The crates whose lines a deployed function writes.
const FUNCTION_TARGETS: &str = "off,admin_api=info,outbox_fanout=info,delivery_attempt=info,\
inbound_receipt=info,inbound_process=info,shared=info,lambda_runtime=info";

static BYTES: AtomicU64 = AtomicU64::new(0);
static LINES: AtomicU64 = AtomicU64::new(0);

struct Counter;

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        BYTES.fetch_add(buf.len() as u64, Ordering::Relaxed);
        LINES.fetch_add(buf.iter().filter(|b| **b == b'\n').count() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Counts every line from now on, formatted as `init_default_subscriber`
/// formats it under `AWS_LAMBDA_LOG_FORMAT=JSON`.
pub fn capture() {
    fmt()
        .with_target(false)
        .without_time()
        .json()
        .with_env_filter(EnvFilter::new(FUNCTION_TARGETS))
        .with_writer(|| Counter)
        .init();
}

/// Starts a new count.
pub fn reset() {
    BYTES.store(0, Ordering::Relaxed);
    LINES.store(0, Ordering::Relaxed);
    hookline::dev::metrics::clear();
}

/// Bytes billed since the last reset: the lines, the metric documents, and
/// the overhead of each.
pub fn billed_bytes() -> u64 {
    let (documents, metric_bytes) = hookline::dev::metrics::written();
    BYTES.load(Ordering::Relaxed) + metric_bytes + (LINES.load(Ordering::Relaxed) + documents) * EVENT_OVERHEAD_BYTES
}
