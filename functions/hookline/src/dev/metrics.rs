//! The functions' metric documents (CloudWatch Embedded Metric Format),
//! captured. Deployed, each invocation's documents go to the function's
//! stdout and CloudWatch Logs turns them into metrics; here they are kept
//! in memory (`GET /_dev/metrics`) and, with `HOOKLINE_METRICS_FILE`,
//! appended to that file a document a line.
//!
//! The recorder is process-wide, as in a Lambda: every function (and every
//! platform) in this process flushes into the same capture, and the
//! `Function` dimension tells the documents apart.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::Value;

/// Documents kept; the oldest go first.
const KEEP: usize = 10_000;

static DOCUMENTS: Mutex<VecDeque<Value>> = Mutex::new(VecDeque::new());
static FILE: Mutex<Option<PathBuf>> = Mutex::new(None);
/// Documents and bytes written since the last clear (for the log cost).
static WRITTEN: (AtomicU64, AtomicU64) = (AtomicU64::new(0), AtomicU64::new(0));

/// Also appends every document to `path` (the platform started last decides).
pub fn write_to(path: Option<PathBuf>) {
    *FILE.lock().unwrap_or_else(|p| p.into_inner()) = path;
}

/// Takes what the functions counted since the last flush; called after
/// every invocation, as a Lambda's `main` does.
pub fn flush() {
    let mut out = Vec::new();
    shared::metrics::flush_into(&mut out);
    if out.is_empty() {
        return;
    }
    WRITTEN.0.fetch_add(out.iter().filter(|b| **b == b'\n').count() as u64, Ordering::Relaxed);
    WRITTEN.1.fetch_add(out.len() as u64, Ordering::Relaxed);
    if let Some(path) = FILE.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        let appended =
            std::fs::OpenOptions::new().create(true).append(true).open(path).and_then(|mut f| f.write_all(&out));
        if let Err(e) = appended {
            tracing::warn!(file = %path.display(), error = %e, "metrics not written to the file");
        }
    }
    let mut kept = DOCUMENTS.lock().unwrap_or_else(|p| p.into_inner());
    for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        match serde_json::from_slice(line) {
            Ok(doc) => kept.push_back(doc),
            Err(e) => tracing::warn!(error = %e, "a metric document is not JSON"),
        }
    }
    while kept.len() > KEEP {
        kept.pop_front();
    }
}

/// The documents kept, oldest first; of one function when given.
pub fn documents(function: Option<&str>) -> Vec<Value> {
    let kept = DOCUMENTS.lock().unwrap_or_else(|p| p.into_inner());
    kept.iter().filter(|d| function.is_none_or(|f| d[shared::metrics::FUNCTION] == f)).cloned().collect()
}

/// Documents written since the last clear, and their bytes (each a log line).
pub fn written() -> (u64, u64) {
    (WRITTEN.0.load(Ordering::Relaxed), WRITTEN.1.load(Ordering::Relaxed))
}

/// Forgets the documents kept, and starts a new count.
pub fn clear() {
    let mut kept = DOCUMENTS.lock().unwrap_or_else(|p| p.into_inner());
    kept.clear();
    WRITTEN.0.store(0, Ordering::Relaxed);
    WRITTEN.1.store(0, Ordering::Relaxed);
}
