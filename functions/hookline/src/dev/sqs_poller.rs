//! An SQS event source mapping: long-poll the queue, invoke with batches of up
//! to ten, delete what succeeded. Failed messages stay and come back after the
//! visibility timeout; the queue's redrive policy moves poison to the DLQ.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::{json, Map, Value};

use super::functions::EventHandler;
use super::provision::REGION;

/// One queue wired to one function.
#[derive(Clone)]
pub struct SqsSource {
    pub function: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: usize,
    pub report_failures: bool,
    pub handler: EventHandler,
    pub timeout: Duration,
}

/// The Lambda SQS event for a batch.
pub fn sqs_event(queue_arn: &str, messages: &[Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: Map<String, Value> = m
                .attributes()
                .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone()))).collect())
                .unwrap_or_default();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body().unwrap_or_default(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body().unwrap_or_default(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Which messages of the batch to delete, given the function's answer.
/// Mirrors Lambda: an error fails the whole batch; with
/// `ReportBatchItemFailures` the listed ids stay (an id not in the batch fails
/// it all); without it, success deletes everything.
pub fn settled(ids: &[String], outcome: &Result<Value, String>, report_failures: bool) -> Vec<String> {
    let Ok(answer) = outcome else {
        return Vec::new();
    };
    if !report_failures {
        return ids.to_vec();
    }
    let failures = answer.get("batchItemFailures").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut failed = HashSet::new();
    for f in &failures {
        match f.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if ids.iter().any(|i| i == id) => {
                failed.insert(id.to_owned());
            }
            _ => return Vec::new(),
        }
    }
    ids.iter().filter(|id| !failed.contains(*id)).cloned().collect()
}

/// Polls until the task is dropped.
pub async fn run(client: aws_sdk_sqs::Client, source: SqsSource) {
    loop {
        let received = client
            .receive_message()
            .queue_url(&source.queue_url)
            .max_number_of_messages(source.batch_size as i32)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(function = %source.function, error = %e, "sqs receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let event = sqs_event(&source.queue_arn, &messages);
        let outcome = match tokio::time::timeout(source.timeout, (source.handler)(event)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("timed out after {:?}", source.timeout)),
        };
        if let Err(e) = &outcome {
            tracing::warn!(function = %source.function, error = %e, "function failed; the batch will be retried");
        }
        let ids: Vec<String> = messages.iter().map(|m| m.message_id().unwrap_or_default().to_owned()).collect();
        let done = settled(&ids, &outcome, source.report_failures);
        let entries: Vec<_> = messages
            .iter()
            .filter(|m| done.iter().any(|d| Some(d.as_str()) == m.message_id()))
            .enumerate()
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle()?)
                    .build()
                    .ok()
            })
            .collect();
        for chunk in entries.chunks(10) {
            let deleted = client
                .delete_message_batch()
                .queue_url(&source.queue_url)
                .set_entries(Some(chunk.to_vec()))
                .send()
                .await;
            if let Err(e) = deleted {
                tracing::warn!(function = %source.function, error = %e, "sqs delete failed; messages will be redelivered");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    #[test]
    fn reported_failures_stay_and_the_rest_are_deleted() {
        let answer = Ok(json!({"batchItemFailures": [{"itemIdentifier": "b"}]}));
        assert_eq!(settled(&ids(), &answer, true), vec!["a", "c"]);
    }

    #[test]
    fn an_error_keeps_the_whole_batch() {
        assert!(settled(&ids(), &Err("boom".into()), true).is_empty());
        assert!(settled(&ids(), &Err("boom".into()), false).is_empty());
    }

    #[test]
    fn an_unknown_failure_id_keeps_the_whole_batch() {
        let answer = Ok(json!({"batchItemFailures": [{"itemIdentifier": "zzz"}]}));
        assert!(settled(&ids(), &answer, true).is_empty());
    }

    #[test]
    fn without_partial_reporting_success_deletes_all() {
        let answer = Ok(json!({"batchItemFailures": [{"itemIdentifier": "b"}]}));
        assert_eq!(settled(&ids(), &answer, false).len(), 3);
        assert_eq!(settled(&ids(), &Ok(json!({})), true).len(), 3);
    }
}
