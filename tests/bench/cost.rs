//! The cost model: published on-demand prices (us-east-1) and what one
//! million deliveries cost at the measured request counts.

use std::collections::BTreeMap;

/// When the prices below were read from the AWS pricing pages.
pub const PRICES_AS_OF: &str = "2026-11-22 (AWS on-demand list prices, us-east-1)";
/// DynamoDB on-demand: per million write request units.
pub const DYNAMODB_WRITE_PER_M: f64 = 0.625;
/// DynamoDB on-demand: per million read request units.
pub const DYNAMODB_READ_PER_M: f64 = 0.125;
/// SQS standard queue: per million requests (each 64 KB chunk is one).
pub const SQS_PER_M: f64 = 0.40;
/// Lambda: per million requests.
pub const LAMBDA_REQUESTS_PER_M: f64 = 0.20;
/// Lambda on arm64: per GB-second.
pub const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
/// Secrets Manager: per 10,000 API calls.
pub const SECRETS_PER_10K: f64 = 0.05;
/// EventBridge: custom events published, per million.
pub const EVENTBRIDGE_EVENTS_PER_M: f64 = 1.00;
/// EventBridge API destinations: invocations, per million.
pub const EVENTBRIDGE_API_DESTINATIONS_PER_M: f64 = 0.20;
/// API Gateway HTTP API: per million requests (first 300 M a month).
pub const HTTP_API_PER_M: f64 = 1.00;

/// SQS requests Lambda's event source mapping makes per delivery on the
/// delivery queue under steady load: one ReceiveMessage and one
/// DeleteMessageBatch per full batch of ten. (Idle long polls cost a fixed
/// amount a month, not per delivery.)
pub const EVENT_SOURCE_SQS_REQUESTS: f64 = 2.0 / 10.0;

/// The Lambda side of one delivery, modelled from the run.
#[derive(Debug, Clone, Copy)]
pub struct LambdaUse {
    /// Invocations per delivery (all functions on the path).
    pub invocations: f64,
    /// Billed GB-seconds per delivery (all functions on the path).
    pub gb_seconds: f64,
}

/// Dollars per million deliveries, by line, and the total
/// (DynamoDB + SQS + Lambda + Secrets Manager, as DESIGN.md counts it).
pub fn usd_per_million(
    requests: &BTreeMap<String, f64>,
    write_units: f64,
    read_units: f64,
    lambda: LambdaUse,
) -> BTreeMap<String, f64> {
    let sqs_requests: f64 = requests.iter().filter(|(k, _)| k.starts_with("SQS.")).map(|(_, v)| v).sum();
    let secrets: f64 = requests.iter().filter(|(k, _)| k.starts_with("Secrets Manager.")).map(|(_, v)| v).sum();
    let mut lines = BTreeMap::new();
    lines.insert("dynamodb_writes".to_owned(), write_units * DYNAMODB_WRITE_PER_M);
    lines.insert("dynamodb_reads".to_owned(), read_units * DYNAMODB_READ_PER_M);
    lines.insert("sqs".to_owned(), sqs_requests * SQS_PER_M);
    lines.insert("sqs_event_source".to_owned(), EVENT_SOURCE_SQS_REQUESTS * SQS_PER_M);
    lines.insert("lambda_requests".to_owned(), lambda.invocations * LAMBDA_REQUESTS_PER_M);
    lines.insert("lambda_duration".to_owned(), lambda.gb_seconds * LAMBDA_ARM_GB_SECOND * 1e6);
    lines.insert("secrets_manager".to_owned(), secrets * SECRETS_PER_10K * 100.0);
    let total = lines.values().sum();
    lines.insert("total".to_owned(), total);
    lines
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

/// EventBridge API destinations for the same traffic: one custom event
/// published and one destination invocation per delivery.
pub fn eventbridge_api_destinations_per_million() -> f64 {
    EVENTBRIDGE_EVENTS_PER_M + EVENTBRIDGE_API_DESTINATIONS_PER_M
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_writes_and_a_send_cost_what_the_price_list_says() {
        let requests = BTreeMap::from([("SQS.SendMessageBatch".to_owned(), 0.1)]);
        let lambda = LambdaUse { invocations: 0.2, gb_seconds: 0.0 };
        let lines = usd_per_million(&requests, 2.0, 0.0, lambda);
        assert!((lines["dynamodb_writes"] - 1.25).abs() < 1e-9);
        assert!((lines["sqs"] - 0.04).abs() < 1e-9);
        assert!((lines["sqs_event_source"] - 0.08).abs() < 1e-9);
        assert!((lines["total"] - (1.25 + 0.04 + 0.08 + 0.04)).abs() < 1e-9);
        assert!((eventbridge_api_destinations_per_million() - 1.2).abs() < 1e-9);
    }
}
