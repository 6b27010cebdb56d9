//! A DynamoDB stream event source mapping: read every shard in order, invoke
//! with batches, and on failure retry from the first failed record (with
//! `ReportBatchItemFailures`) or the whole batch, until the retry limit.
//! Each settled batch moves the source's saved position, so a restarted
//! `hookline dev` resumes after it, as the mapping of a crashed Lambda does.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::functions::EventHandler;
use super::positions::Positions;
use super::provision::REGION;

/// One stream wired to one function.
#[derive(Clone)]
pub struct StreamSource {
    pub function: String,
    pub stream_arn: String,
    pub batch_size: usize,
    pub from_start: bool,
    pub report_failures: bool,
    /// -1 retries until the records expire, as Lambda's default.
    pub max_retries: i64,
    pub handler: EventHandler,
    pub timeout: Duration,
    pub positions: Positions,
}

/// DynamoDB JSON (`{"S": "x"}`) of a stream attribute value.
pub fn attribute_json(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::B(b) => json!({"B": STANDARD.encode(b.as_ref())}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::Ss(l) => json!({"SS": l}),
        AttributeValue::Ns(l) => json!({"NS": l}),
        AttributeValue::Bs(l) => {
            json!({"BS": l.iter().map(|b| STANDARD.encode(b.as_ref())).collect::<Vec<_>>()})
        }
        AttributeValue::L(l) => json!({"L": l.iter().map(attribute_json).collect::<Vec<_>>()}),
        AttributeValue::M(m) => json!({"M": item_json(m)}),
        _ => Value::Null,
    }
}

fn item_json(m: &std::collections::HashMap<String, AttributeValue>) -> Map<String, Value> {
    m.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect()
}

/// The Lambda DynamoDB stream event for a batch.
pub fn stream_event(stream_arn: &str, records: &[Record]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            let d = r.dynamodb();
            let mut change = Map::new();
            if let Some(d) = d {
                if let Some(t) = d.approximate_creation_date_time() {
                    change.insert("ApproximateCreationDateTime".into(), json!(t.secs()));
                }
                for (name, image) in [("Keys", d.keys()), ("NewImage", d.new_image()), ("OldImage", d.old_image())] {
                    if let Some(image) = image {
                        change.insert(name.into(), Value::Object(item_json(image)));
                    }
                }
                change.insert("SequenceNumber".into(), json!(d.sequence_number()));
                change.insert("SizeBytes".into(), json!(d.size_bytes()));
                change.insert("StreamViewType".into(), json!(d.stream_view_type().map(|v| v.as_str())));
            }
            json!({
                "eventID": r.event_id(),
                "eventName": r.event_name().map(|n| n.as_str()),
                "eventVersion": r.event_version().unwrap_or("1.1"),
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": change,
                "eventSourceARN": stream_arn,
            })
        })
        .collect();
    json!({ "Records": records })
}

fn sequence(r: &Record) -> &str {
    r.dynamodb().and_then(|d| d.sequence_number()).unwrap_or_default()
}

/// Where to resume within a failed batch: the index of the first failed
/// record, or 0 (all of it) when the answer is an error or names nothing known.
pub fn resume_index(records: &[Record], outcome: &Result<Value, String>, report_failures: bool) -> Option<usize> {
    let answer = match outcome {
        Err(_) => return Some(0),
        Ok(_) if !report_failures => return None,
        Ok(a) => a,
    };
    let failures = answer.get("batchItemFailures").and_then(Value::as_array)?;
    let ids: Vec<&str> = failures.iter().filter_map(|f| f.get("itemIdentifier").and_then(Value::as_str)).collect();
    if ids.is_empty() {
        return None;
    }
    Some(records.iter().position(|r| ids.contains(&sequence(r))).unwrap_or(0))
}

async fn invoke_until_settled(source: &StreamSource, mut records: Vec<Record>) {
    let mut attempts = 0i64;
    while !records.is_empty() {
        let event = stream_event(&source.stream_arn, &records);
        let outcome = match tokio::time::timeout(source.timeout, (source.handler)(event)).await {
            Ok(o) => o,
            Err(_) => Err(format!("timed out after {:?}", source.timeout)),
        };
        let Some(from) = resume_index(&records, &outcome, source.report_failures) else {
            return;
        };
        attempts += 1;
        if source.max_retries >= 0 && attempts > source.max_retries {
            tracing::error!(function = %source.function, records = records.len() - from, "stream batch dropped after its last retry");
            return;
        }
        tracing::warn!(function = %source.function, attempt = attempts, error = ?outcome.err(), "stream batch failed; retrying");
        records.drain(..from);
        tokio::time::sleep(Duration::from_millis((200 * 2u64.pow(attempts.min(7) as u32)).min(10_000))).await;
    }
}

/// Follows the stream until the task is dropped.
pub async fn run(client: aws_sdk_dynamodbstreams::Client, source: StreamSource) {
    // Shard id -> iterator; closed shards are remembered so they are not reopened.
    let mut iterators: BTreeMap<String, String> = BTreeMap::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut first_look = true;
    loop {
        match client.describe_stream().stream_arn(&source.stream_arn).send().await {
            Ok(out) => {
                for shard in out.stream_description.and_then(|d| d.shards).unwrap_or_default() {
                    let Some(id) = shard.shard_id else { continue };
                    if iterators.contains_key(&id) || finished.contains(&id) {
                        continue;
                    }
                    let kind = if first_look && !source.from_start {
                        ShardIteratorType::Latest
                    } else {
                        ShardIteratorType::TrimHorizon
                    };
                    let saved = source.positions.load(&source.function, &source.stream_arn, &id).await;
                    let mut it = None;
                    if let Some(after) = saved {
                        let resumed = client
                            .get_shard_iterator()
                            .stream_arn(&source.stream_arn)
                            .shard_id(&id)
                            .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                            .sequence_number(after)
                            .send()
                            .await;
                        it = resumed.ok().and_then(|o| o.shard_iterator);
                    }
                    if it.is_none() {
                        let fresh = client
                            .get_shard_iterator()
                            .stream_arn(&source.stream_arn)
                            .shard_id(&id)
                            .shard_iterator_type(kind)
                            .send()
                            .await;
                        it = fresh.ok().and_then(|o| o.shard_iterator);
                    }
                    match it {
                        Some(it) => {
                            iterators.insert(id, it);
                        }
                        None => {
                            tracing::warn!(function = %source.function, shard = %id, "no shard iterator")
                        }
                    }
                }
                first_look = false;
            }
            Err(e) => {
                tracing::warn!(function = %source.function, error = %e, "describe stream failed")
            }
        }
        let mut idle = true;
        for (shard, iterator) in iterators.clone() {
            let got = client.get_records().shard_iterator(&iterator).limit(source.batch_size as i32).send().await;
            let out = match got {
                Ok(out) => out,
                Err(e) => {
                    tracing::warn!(function = %source.function, error = %e, "get records failed");
                    continue;
                }
            };
            let records = out.records.unwrap_or_default();
            if let Some(last) = records.last().map(|r| sequence(r).to_owned()) {
                idle = false;
                invoke_until_settled(&source, records).await;
                source.positions.save(&source.function, &source.stream_arn, &shard, &last).await;
            }
            match out.next_shard_iterator {
                Some(next) => {
                    iterators.insert(shard, next);
                }
                None => {
                    iterators.remove(&shard);
                    finished.insert(shard);
                }
            }
        }
        if idle {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
