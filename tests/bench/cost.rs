//! The cost model: what one million deliveries cost over their whole life
//! (publish through API Gateway, outbox, fan-out, queue, attempt, outcome,
//! expiry, logs) at list prices, for several ways of using Hookline, from
//! what the run measured for 1:1 traffic published one event at a time.

use std::collections::BTreeMap;

/// When the prices below were read from the AWS pricing pages.
pub const PRICES_AS_OF: &str = "2026-12-02 (AWS list prices, us-east-1)";
/// DynamoDB on-demand: per million write request units.
pub const DYNAMODB_WRITE_PER_M: f64 = 0.625;
/// DynamoDB on-demand: per million read request units.
pub const DYNAMODB_READ_PER_M: f64 = 0.125;
/// DynamoDB provisioned: per write capacity unit-hour.
pub const DYNAMODB_WCU_HOUR: f64 = 0.00065;
/// DynamoDB provisioned: per read capacity unit-hour.
pub const DYNAMODB_RCU_HOUR: f64 = 0.00013;
/// SQS standard queue: per million requests (each 64 KB chunk is one).
pub const SQS_PER_M: f64 = 0.40;
/// Lambda: per million requests.
pub const LAMBDA_REQUESTS_PER_M: f64 = 0.20;
/// Lambda on arm64: per GB-second.
pub const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
/// API Gateway HTTP API: per million requests (first 300 M a month).
pub const HTTP_API_PER_M: f64 = 1.00;
/// CloudWatch Logs: per GB ingested (standard class).
pub const LOGS_INGEST_PER_GB: f64 = 0.50;
/// EventBridge: custom events published, per million.
pub const EVENTBRIDGE_EVENTS_PER_M: f64 = 1.00;
/// EventBridge API destinations: invocations, per million.
pub const EVENTBRIDGE_API_DESTINATIONS_PER_M: f64 = 0.20;
/// The utilisation provisioned capacity is scaled to (the template's
/// `TargetUtilizationPercent` default).
pub const TARGET_UTILIZATION: f64 = 0.70;
/// Assumed in-region round trip of one DynamoDB or SQS call, for Lambda duration.
pub const AWS_ROUND_TRIP_MS: f64 = 6.0;
/// SQS requests Lambda's event source mapping makes per message on the
/// delivery queue under load: a receive and a delete per batch of ten.
pub const EVENT_SOURCE_SQS_REQUESTS: f64 = 2.0 / 10.0;

/// Events in one outbox stream batch (the template's `BatchSize`).
pub const STREAM_BATCH_EVENTS: f64 = 10.0;

/// One way of using Hookline.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Endpoints per event.
    pub fanout: f64,
    /// Events per publish call (1, or 100 with `POST /v1/events/batch`).
    pub batch: f64,
    /// Provisioned capacity at the target utilisation instead of on demand.
    pub provisioned: bool,
    /// The publish call sends its deliveries itself (the default); false
    /// is `FastPathMaxDeliveries=0`, every event through the stream.
    pub fast_path: bool,
}

impl Scenario {
    /// Its key in `summary.json`, e.g. `1:5 batch provisioned` (with
    /// ` stream-only` when the fast path is off).
    pub fn name(&self) -> String {
        let publish = if self.batch > 1.0 { "batch" } else { "single" };
        let mode = if self.provisioned { "provisioned" } else { "on-demand" };
        let path = if self.fast_path { "" } else { " stream-only" };
        format!("1:{} {publish} {mode}{path}", self.fanout)
    }

    /// Every combination the model reports, with the fast path as deployed (on).
    pub fn all() -> Vec<Self> {
        Self::all_with(true)
    }

    /// Every combination, with the fast path on or off.
    pub fn all_with(fast_path: bool) -> Vec<Self> {
        let mut out = Vec::new();
        for fanout in [1.0, 5.0] {
            for batch in [1.0, 100.0] {
                for provisioned in [false, true] {
                    out.push(Self { fanout, batch, provisioned, fast_path });
                }
            }
        }
        out
    }

    /// Deliveries per publish call.
    fn deliveries_per_call(&self) -> f64 {
        self.batch * self.fanout
    }
}

/// What the run measured for one 1:1 delivery, published singly.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Write units of the event's outbox row (shared by its deliveries).
    pub event_write_units: f64,
    /// Write units of a delivery's pending record.
    pub pending_write_units: f64,
    /// Pending records written per delivery on the fast path (measured:
    /// those still waiting when the stream looked); the stream path writes one each.
    pub fast_pending_share: f64,
    /// Write units of a delivery's outcome.
    pub outcome_write_units: f64,
    /// Read units of one query of the tenant's endpoints.
    pub endpoint_query_read_units: f64,
    /// Read units per delivery of the outbox sweeper (its expected delivery keys).
    pub sweep_read_units: f64,
    /// Read units per event of the outbox sweeper (the event itself).
    pub sweep_event_read_units: f64,
    /// Mean time of an attempt (the receiver's answer), ms.
    pub attempt_ms: f64,
    /// Each function's CPU per delivery, ms, by binary name.
    pub cpu_ms: BTreeMap<String, f64>,
    /// CloudWatch Logs bytes per delivery, overhead included.
    pub log_bytes: f64,
}

/// Endpoint queries per publish call on the fast path. A warm publish
/// instance reuses a tenant's endpoints for 5 s (`SUBSCRIBERS_CACHE_TTL`):
/// at one call a second per instance and tenant, a fifth of the calls read
/// them (strongly consistent: twice the units of the stream's query).
/// Busier instances read less often; this is the assumption, not a measure.
pub const PUBLISH_QUERIES_PER_CALL: f64 = 0.2;

/// The stream's check of a fast-path event: one batched, eventually
/// consistent read of each expected delivery key (half a unit each).
pub const BACKSTOP_READ_UNITS: f64 = 0.5;

impl Measured {
    fn cpu(&self, function: &str) -> f64 {
        self.cpu_ms.get(function).copied().unwrap_or(0.0)
    }

    /// Write units per delivery in a scenario.
    pub fn write_units(&self, s: Scenario) -> f64 {
        let pending = if s.fast_path { self.fast_pending_share } else { 1.0 };
        self.event_write_units / s.fanout + pending * self.pending_write_units + self.outcome_write_units
    }

    /// Read units per delivery in a scenario: the endpoint query of each
    /// publish call (fast path) and of each stream batch, the fast path's
    /// backstop check, and the sweeper.
    pub fn read_units(&self, s: Scenario) -> f64 {
        let q = self.endpoint_query_read_units;
        let stream = q / (STREAM_BATCH_EVENTS * s.fanout);
        let publish = 2.0 * q * PUBLISH_QUERIES_PER_CALL / s.deliveries_per_call();
        let fast = if s.fast_path { publish + BACKSTOP_READ_UNITS } else { 0.0 };
        stream + fast + self.sweep_event_read_units / s.fanout + self.sweep_read_units
    }

    /// SQS sends per delivery: ten messages a call, a publish call's own
    /// deliveries on the fast path, a whole stream batch's otherwise.
    pub fn sends(&self, s: Scenario) -> f64 {
        let per_call = if s.fast_path { s.deliveries_per_call() } else { STREAM_BATCH_EVENTS * s.fanout };
        (per_call / 10.0).ceil() / per_call
    }
}

/// Dollars per million deliveries in a scenario, by line, and the total.
pub fn usd_per_million(m: &Measured, s: Scenario) -> BTreeMap<String, f64> {
    let (writes, reads) = (m.write_units(s), m.read_units(s));
    let mut lines = BTreeMap::new();
    let (write_price, read_price) = if s.provisioned {
        // A unit-hour serves 3600 units a second's worth at full use.
        let per_m = |hour: f64| hour / (3600.0 * TARGET_UTILIZATION) * 1e6;
        (per_m(DYNAMODB_WCU_HOUR), per_m(DYNAMODB_RCU_HOUR))
    } else {
        (DYNAMODB_WRITE_PER_M, DYNAMODB_READ_PER_M)
    };
    lines.insert("dynamodb_writes".to_owned(), writes * write_price);
    lines.insert("dynamodb_reads".to_owned(), reads * read_price);
    // The sends, and the event source mapping's receive and delete per message.
    lines.insert("sqs".to_owned(), (m.sends(s) + EVENT_SOURCE_SQS_REQUESTS) * SQS_PER_M);
    let calls = 1.0 / s.deliveries_per_call();
    lines.insert("api_gateway".to_owned(), calls * HTTP_API_PER_M);
    // Invocations: the publish call, the fan-out (stream batches), the
    // attempt (queue batches of ten).
    let invocations = calls + 1.0 / (STREAM_BATCH_EVENTS * s.fanout) + 0.1;
    lines.insert("lambda_requests".to_owned(), invocations * LAMBDA_REQUESTS_PER_M);
    let rtt = AWS_ROUND_TRIP_MS;
    let per_call = s.deliveries_per_call();
    // Publish: the reads together (the endpoints, when not reused; the event
    // type is known after its first publish), then the outbox write (one PutItem, or
    // BatchWriteItems of 25 side by side); on the fast path then the sends
    // (side by side) and the pending records (32 at a time).
    let commit_ms = if s.batch > 1.0 { rtt + 5.0 } else { rtt };
    let fast_ms = if s.fast_path { rtt + rtt * (per_call / 32.0).ceil() } else { 0.0 };
    let reads_ms = if s.fast_path { rtt * PUBLISH_QUERIES_PER_CALL } else { 0.0 };
    let publish_ms = reads_ms + commit_ms + fast_ms + m.cpu("admin-api") * per_call;
    // Fan-out per stream batch: the endpoint query, then either the
    // backstop's one batched read, or the delivery writes and the sends.
    let batch_deliveries = STREAM_BATCH_EVENTS * s.fanout;
    let fanout_ms = if s.fast_path { 2.0 * rtt } else { rtt + rtt * (batch_deliveries / 32.0).ceil() + rtt }
        + m.cpu("outbox-fanout") * batch_deliveries;
    // Attempts: ten at once, each followed by its outcome write.
    let attempt_ms = (m.attempt_ms + rtt + m.cpu("delivery-attempt") * 10.0) / 10.0;
    let gb_seconds =
        (publish_ms * 0.256 / per_call + fanout_ms * 0.512 / batch_deliveries + attempt_ms * 0.256) / 1000.0;
    lines.insert("lambda_duration".to_owned(), gb_seconds * LAMBDA_ARM_GB_SECOND * 1e6);
    lines.insert("cloudwatch_logs".to_owned(), m.log_bytes / 1e9 * LOGS_INGEST_PER_GB * 1e6);
    // Expiry is TTL (free); the daily prune reads empty ranges past
    // retention; the schedules are a few invocations a day: none per delivery.
    lines.insert("expiry_ttl".to_owned(), 0.0);
    let total = lines.values().sum();
    lines.insert("total".to_owned(), total);
    lines
}

/// The floor: a delivery must persist its event and its outcome, two write
/// units on demand, and nothing else.
pub fn floor_per_million() -> f64 {
    2.0 * DYNAMODB_WRITE_PER_M
}

/// EventBridge API destinations for the same traffic: one custom event
/// published and one destination invocation per delivery.
pub fn eventbridge_api_destinations_per_million() -> f64 {
    EVENTBRIDGE_EVENTS_PER_M + EVENTBRIDGE_API_DESTINATIONS_PER_M
}

/// What a rate limit's extra requests cost per million deliveries: each
/// extra DynamoDB write is one unit (the slot item is tiny); each extra
/// SQS send also brings its share of the event source mapping's receive and
/// delete and of a Lambda invocation (batches of ten).
pub fn rate_limit_extra_usd_per_million(extra: &BTreeMap<String, f64>) -> f64 {
    let sum = |prefix: &str| extra.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v).sum::<f64>();
    let writes = sum("DynamoDB.UpdateItem") + sum("DynamoDB.PutItem");
    let reads = sum("DynamoDB.GetItem") * 0.5;
    let sends = sum("SQS.SendMessage");
    writes * DYNAMODB_WRITE_PER_M
        + reads * DYNAMODB_READ_PER_M
        + sends * (SQS_PER_M + EVENT_SOURCE_SQS_REQUESTS * SQS_PER_M + 0.1 * LAMBDA_REQUESTS_PER_M)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured() -> Measured {
        Measured {
            event_write_units: 1.0,
            pending_write_units: 1.0,
            fast_pending_share: 1.0,
            outcome_write_units: 1.0,
            endpoint_query_read_units: 0.5,
            sweep_read_units: 0.5,
            sweep_event_read_units: 0.0,
            attempt_ms: 0.0,
            cpu_ms: BTreeMap::new(),
            log_bytes: 0.0,
        }
    }

    fn scenario(fanout: f64, batch: f64, provisioned: bool, fast_path: bool) -> Scenario {
        Scenario { fanout, batch, provisioned, fast_path }
    }

    #[test]
    fn writes_are_priced_as_the_list_says_and_shared_by_fan_out() {
        let one = scenario(1.0, 1.0, false, false);
        let lines = usd_per_million(&measured(), one);
        assert!((lines["dynamodb_writes"] - 3.0 * 0.625).abs() < 1e-9);
        assert!((lines["sqs"] - 0.3 * 0.40).abs() < 1e-9, "a stream batch's sends, ten to a call");
        assert!((lines["api_gateway"] - 1.0).abs() < 1e-9);
        let five = scenario(5.0, 100.0, false, true);
        assert!((measured().write_units(five) - 2.2).abs() < 1e-9, "the event's unit over five deliveries");
        assert!((usd_per_million(&measured(), five)["api_gateway"] - 0.002).abs() < 1e-9);
    }

    #[test]
    fn the_fast_path_pays_a_send_per_single_publish_and_the_backstop_read() {
        let m = measured();
        let (fast, stream) = (scenario(1.0, 1.0, false, true), scenario(1.0, 1.0, false, false));
        assert!((m.sends(fast) - 1.0).abs() < 1e-9, "a single publish sends its one message alone");
        assert!((m.sends(stream) - 0.1).abs() < 1e-9);
        assert!((m.sends(scenario(1.0, 100.0, false, true)) - 0.1).abs() < 1e-9, "a batch sends ten a call");
        let query = 2.0 * 0.5 * PUBLISH_QUERIES_PER_CALL;
        assert!(
            (m.read_units(fast) - m.read_units(stream) - (query + 0.5)).abs() < 1e-9,
            "a query's share and the check"
        );
        assert!(usd_per_million(&m, fast)["total"] > usd_per_million(&m, stream)["total"]);
    }

    #[test]
    fn a_delivery_attempted_before_the_stream_looks_costs_two_write_units() {
        let m = Measured { fast_pending_share: 0.0, ..measured() };
        assert!((m.write_units(scenario(1.0, 100.0, false, true)) - 2.0).abs() < 1e-9, "the event and the outcome");
        assert!((m.write_units(scenario(1.0, 100.0, false, false)) - 3.0).abs() < 1e-9, "the stream writes pending");
    }

    #[test]
    fn provisioned_units_cost_what_an_hour_of_capacity_serves() {
        let on_demand = usd_per_million(&measured(), scenario(1.0, 1.0, false, true));
        let provisioned = usd_per_million(&measured(), scenario(1.0, 1.0, true, true));
        let per_write = 0.00065 / (3600.0 * 0.7) * 1e6;
        assert!((provisioned["dynamodb_writes"] - 3.0 * per_write).abs() < 1e-9);
        assert!(provisioned["total"] < on_demand["total"]);
        assert!((floor_per_million() - 1.25).abs() < 1e-9);
        assert!((eventbridge_api_destinations_per_million() - 1.2).abs() < 1e-9);
    }
}
