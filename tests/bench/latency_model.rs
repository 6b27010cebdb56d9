//! A model of publish → receiver on AWS, step by step, for the median: the
//! calls each path makes (as the code makes them, counted in the run's
//! AWS requests) at typical in-region latencies. Local runs on moto cannot
//! show these: moto answers a call in a few milliseconds of Python, and its
//! stream and queue are polled by `hookline dev`.

/// One step of a path: what it is, its median in ms, and where the figure comes from.
pub struct Step {
    pub what: &'static str,
    pub ms: f64,
    pub source: &'static str,
}

/// A DynamoDB GetItem, Query or PutItem in the same region.
const DYNAMODB_MS: f64 = 4.0;
const DYNAMODB_SOURCE: &str = "DynamoDB's \"single-digit millisecond\" latency (aws.amazon.com/dynamodb); 4 ms assumed";
/// An SQS SendMessageBatch in the same region.
const SQS_SEND_MS: f64 = 10.0;
const SQS_SEND_SOURCE: &str =
    "assumed 10 ms: SQS publishes no figure; in-region sends are commonly reported at 5-20 ms";
/// API Gateway HTTP API in front of a warm Lambda function.
const API_MS: f64 = 8.0;
const API_SOURCE: &str =
    "assumed 8 ms: API Gateway publishes no overhead figure (CloudWatch `IntegrationLatency` vs `Latency` tells it per stack)";
/// A message becoming visible to the event source mapping's long poll,
/// through to the worker's invocation.
const SQS_TO_LAMBDA_MS: f64 = 20.0;
const SQS_TO_LAMBDA_SOURCE: &str =
    "assumed 20 ms: the SQS event source mapping long-polls (docs.aws.amazon.com/lambda/latest/dg/with-sqs.html), so a message is taken as it arrives";
/// The stream's poll: Lambda reads each shard four times a second, so a
/// record waits half a period at the median.
const STREAM_POLL_MS: f64 = 125.0;
const STREAM_POLL_SOURCE: &str =
    "Lambda polls each DynamoDB stream shard 4 times a second (docs.aws.amazon.com/lambda/latest/dg/with-ddb.html): half of 250 ms";
/// A warm Lambda invocation's own overhead.
const INVOKE_MS: f64 = 2.0;
const INVOKE_SOURCE: &str = "assumed 2 ms for a warm invocation of a Rust function";
/// The receiver in the same region.
const RECEIVER_MS: f64 = 2.0;
const RECEIVER_SOURCE: &str = "a receiver in the same region answering at once (the same for any sender)";

/// The fast path: the publish call sends the delivery message itself.
pub fn fast_path(worker_cpu_ms: f64, publish_cpu_ms: f64) -> Vec<Step> {
    vec![
        Step { what: "API Gateway", ms: API_MS, source: API_SOURCE },
        Step { what: "invoking the publish function", ms: INVOKE_MS, source: INVOKE_SOURCE },
        Step {
            what: "event type and endpoints: known to a warm instance (read at most every 5 s)",
            ms: 0.0,
            source: "this design",
        },
        Step { what: "outbox PutItem (the commit)", ms: DYNAMODB_MS, source: DYNAMODB_SOURCE },
        Step { what: "SendMessageBatch of the delivery", ms: SQS_SEND_MS, source: SQS_SEND_SOURCE },
        Step { what: "publish function's CPU (measured)", ms: publish_cpu_ms, source: "this run" },
        Step { what: "queue to the delivery worker", ms: SQS_TO_LAMBDA_MS, source: SQS_TO_LAMBDA_SOURCE },
        Step { what: "invoking the delivery worker", ms: INVOKE_MS, source: INVOKE_SOURCE },
        Step { what: "worker's CPU (measured)", ms: worker_cpu_ms, source: "this run" },
        Step { what: "signed POST to the receiver", ms: RECEIVER_MS, source: RECEIVER_SOURCE },
    ]
}

/// The stream path: the publish call commits; the stream's poll takes the
/// event to the fan-out, which sends.
pub fn stream_path(worker_cpu_ms: f64, fanout_cpu_ms: f64) -> Vec<Step> {
    vec![
        Step { what: "API Gateway", ms: API_MS, source: API_SOURCE },
        Step { what: "invoking the publish function", ms: INVOKE_MS, source: INVOKE_SOURCE },
        Step { what: "event type: known to a warm instance", ms: 0.0, source: "this design" },
        Step { what: "outbox PutItem (the commit)", ms: DYNAMODB_MS, source: DYNAMODB_SOURCE },
        Step { what: "stream poll to the fan-out function", ms: STREAM_POLL_MS, source: STREAM_POLL_SOURCE },
        Step { what: "invoking the fan-out function", ms: INVOKE_MS, source: INVOKE_SOURCE },
        Step { what: "endpoint query, then the delivery's PutItem", ms: 2.0 * DYNAMODB_MS, source: DYNAMODB_SOURCE },
        Step { what: "SendMessageBatch of the delivery", ms: SQS_SEND_MS, source: SQS_SEND_SOURCE },
        Step { what: "fan-out's CPU (measured)", ms: fanout_cpu_ms, source: "this run" },
        Step { what: "queue to the delivery worker", ms: SQS_TO_LAMBDA_MS, source: SQS_TO_LAMBDA_SOURCE },
        Step { what: "invoking the delivery worker", ms: INVOKE_MS, source: INVOKE_SOURCE },
        Step { what: "worker's CPU (measured)", ms: worker_cpu_ms, source: "this run" },
        Step { what: "signed POST to the receiver", ms: RECEIVER_MS, source: RECEIVER_SOURCE },
    ]
}

/// The steps' total.
pub fn total(steps: &[Step]) -> f64 {
    steps.iter().map(|s| s.ms).sum()
}

/// The steps as a Markdown table.
pub fn table(steps: &[Step]) -> String {
    let mut out = String::from("| step | ms | source |\n|---|---:|---|\n");
    for s in steps {
        out.push_str(&format!("| {} | {:.1} | {} |\n", s.what, s.ms, s.source));
    }
    out.push_str(&format!("| **publish → receiver, median** | **{:.0}** | |\n", total(steps)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_path_pays_the_poll_the_fast_path_does_not() {
        let fast = total(&fast_path(0.5, 0.5));
        let stream = total(&stream_path(0.5, 0.5));
        assert!(stream - fast > STREAM_POLL_MS, "{fast} vs {stream}");
        assert!(fast_path(0.0, 0.0).iter().all(|s| !s.what.contains("stream")));
    }
}
