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

/// One way of using Hookline.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Endpoints per event.
    pub fanout: f64,
    /// Events per publish call (1, or 100 with `POST /v1/events/batch`).
    pub batch: f64,
    /// Provisioned capacity at the target utilisation instead of on demand.
    pub provisioned: bool,
}

impl Scenario {
    /// Its key in `summary.json`, e.g. `1:5 batch provisioned`.
    pub fn name(&self) -> String {
        let publish = if self.batch > 1.0 { "batch" } else { "single" };
        let mode = if self.provisioned { "provisioned" } else { "on-demand" };
        format!("1:{} {publish} {mode}", self.fanout)
    }

    /// Every combination the model reports.
    pub fn all() -> Vec<Self> {
        let mut out = Vec::new();
        for fanout in [1.0, 5.0] {
            for batch in [1.0, 100.0] {
                for provisioned in [false, true] {
                    out.push(Self { fanout, batch, provisioned });
                }
            }
        }
        out
    }
}

/// What the run measured for one 1:1 delivery, published singly.
#[derive(Debug, Clone)]
pub struct Measured {
    /// AWS requests per delivery, by `Service.Operation`.
    pub requests: BTreeMap<String, f64>,
    /// Write units of the event's outbox row (shared by its deliveries).
    pub event_write_units: f64,
    /// Write units of the delivery itself (pending row and outcome).
    pub delivery_write_units: f64,
    /// Read units of the event's fan-out (the endpoint query).
    pub event_read_units: f64,
    /// Read units per delivery of the outbox sweeper (its expected delivery keys).
    pub sweep_read_units: f64,
    /// Mean time of an attempt (the receiver's answer), ms.
    pub attempt_ms: f64,
    /// The delivery worker's CPU per delivery, ms.
    pub worker_cpu_ms: f64,
    /// CloudWatch Logs bytes per delivery, overhead included.
    pub log_bytes: f64,
}

impl Measured {
    fn calls(&self, suffix: &str) -> f64 {
        self.requests.iter().filter(|(k, _)| k.ends_with(suffix)).map(|(_, v)| v).sum()
    }

    /// Write units per delivery in a scenario.
    pub fn write_units(&self, s: Scenario) -> f64 {
        self.event_write_units / s.fanout + self.delivery_write_units
    }

    /// Read units per delivery in a scenario.
    pub fn read_units(&self, s: Scenario) -> f64 {
        self.event_read_units / s.fanout + self.sweep_read_units
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
    // Sends ride in batches across a stream batch's events; the event source
    // mapping's receives and deletes are per message.
    let sends = m.calls("SQS.SendMessageBatch") + m.calls("SQS.SendMessage");
    lines.insert("sqs".to_owned(), (sends + EVENT_SOURCE_SQS_REQUESTS) * SQS_PER_M);
    let publishes = 1.0 / (s.batch * s.fanout);
    lines.insert("api_gateway".to_owned(), publishes * HTTP_API_PER_M);
    // Invocations: the publish call, the fan-out (stream batches of ten
    // events), the attempt (queue batches of ten).
    let invocations = publishes + 0.1 / s.fanout + 0.1;
    lines.insert("lambda_requests".to_owned(), invocations * LAMBDA_REQUESTS_PER_M);
    let rtt = AWS_ROUND_TRIP_MS;
    // Publish: one write per event, or a BatchWriteItem per 25 events.
    let publish_ms_per_event = if s.batch > 1.0 { (rtt * (s.batch / 25.0).ceil() + 5.0) / s.batch } else { rtt + 2.0 };
    // Fan-out per event: the endpoint query, the delivery writes (together),
    // and its share of the batched sends.
    let fanout_ms_per_event = rtt * (2.0 + 0.1 * s.fanout);
    // Attempts: ten at once, each followed by its outcome write.
    let attempt_ms = (m.attempt_ms + rtt + m.worker_cpu_ms * 10.0) / 10.0;
    let gb_seconds =
        ((publish_ms_per_event * 0.256 + fanout_ms_per_event * 0.512) / s.fanout + attempt_ms * 0.256) / 1000.0;
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
            requests: BTreeMap::from([("SQS.SendMessageBatch".to_owned(), 0.1)]),
            event_write_units: 1.0,
            delivery_write_units: 2.0,
            event_read_units: 0.5,
            sweep_read_units: 0.5,
            attempt_ms: 0.0,
            worker_cpu_ms: 0.0,
            log_bytes: 0.0,
        }
    }

    #[test]
    fn writes_are_priced_as_the_list_says_and_shared_by_fan_out() {
        let one = Scenario { fanout: 1.0, batch: 1.0, provisioned: false };
        let lines = usd_per_million(&measured(), one);
        assert!((lines["dynamodb_writes"] - 3.0 * 0.625).abs() < 1e-9);
        assert!((lines["sqs"] - 0.3 * 0.40).abs() < 1e-9);
        assert!((lines["api_gateway"] - 1.0).abs() < 1e-9);
        let five = Scenario { fanout: 5.0, batch: 100.0, provisioned: false };
        assert!((measured().write_units(five) - 2.2).abs() < 1e-9, "the event's unit over five deliveries");
        assert!((usd_per_million(&measured(), five)["api_gateway"] - 0.002).abs() < 1e-9);
    }

    #[test]
    fn provisioned_units_cost_what_an_hour_of_capacity_serves() {
        let on_demand = usd_per_million(&measured(), Scenario { fanout: 1.0, batch: 1.0, provisioned: false });
        let provisioned = usd_per_million(&measured(), Scenario { fanout: 1.0, batch: 1.0, provisioned: true });
        let per_write = 0.00065 / (3600.0 * 0.7) * 1e6;
        assert!((provisioned["dynamodb_writes"] - 3.0 * per_write).abs() < 1e-9);
        assert!(provisioned["total"] < on_demand["total"]);
        assert!((floor_per_million() - 1.25).abs() < 1e-9);
        assert!((eventbridge_api_destinations_per_million() - 1.2).abs() < 1e-9);
    }
}
