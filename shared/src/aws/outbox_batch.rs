//! Batch publish into the outbox. Events without an idempotency key are
//! written 25 at a time with BatchWriteItem (one request instead of 25, the
//! same write units); events with a key go through [`Db::publish`] (claim,
//! then write), so a key behaves exactly as it does for a single publish.

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures_util::stream::{self, StreamExt};

use super::dynamo::{to_item, Db, Item};
use super::outbox::PublishOutcome;
use super::StoreError;
use crate::error::ApiError;
use crate::event::OutboxRecord;
use crate::event_batch::{earlier_with_same_key, BatchItemResult};

/// Items in one BatchWriteItem request (DynamoDB's limit).
pub const WRITE_BATCH: usize = 25;
/// Waits before sending again what DynamoDB left unprocessed (each with
/// jitter); whatever is still left after the last is refused as throttled.
const UNPROCESSED_RETRY_MS: [u64; 4] = [50, 100, 200, 400];
/// Publishes with an idempotency key in flight at once.
const KEYED_IN_FLIGHT: usize = 8;
/// Error codes that mean DynamoDB took nothing of the request.
const THROTTLING: [&str; 3] = ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"];

impl Db {
    /// Publishes a batch. `events[i]` is item i's outbox row, or already its
    /// refusal; the answer holds one result per item, in the same order.
    /// A later item repeating an earlier item's idempotency key gets the
    /// earlier one's id as a duplicate. `Err` only when a BatchWriteItem
    /// failed in a way that leaves unknown what it stored: the caller answers
    /// 500 and no item of the batch is reported, so none is misreported.
    pub async fn publish_batch(
        &self,
        events: &[Result<OutboxRecord, BatchItemResult>],
    ) -> Result<Vec<BatchItemResult>, StoreError> {
        let keys: Vec<Option<&str>> =
            events.iter().map(|e| e.as_ref().ok().and_then(|r| r.idempotency_key.as_deref())).collect();
        let repeats = earlier_with_same_key(&keys);
        let mut results: Vec<Option<BatchItemResult>> = events.iter().map(|e| e.as_ref().err().cloned()).collect();

        let mut keyed = Vec::new();
        let mut plain = Vec::new();
        for (i, event) in events.iter().enumerate() {
            let Ok(record) = event else { continue };
            if repeats[i].is_some() {
                continue;
            }
            // Sized before anything is written, so an oversized event with a
            // key is refused before its key is claimed.
            match to_item(record) {
                Ok(_) if record.idempotency_key.is_some() => keyed.push((i, record.clone())),
                Ok(item) => plain.push((i, item)),
                Err(e @ StoreError::TooLarge(_)) => results[i] = Some(BatchItemResult::refused(&ApiError::from(e))),
                Err(e) => return Err(e),
            }
        }

        // Owned rows: a stream of borrowed ones trips the compiler's check
        // that the handler's future is Send.
        let keyed = stream::iter(keyed)
            .map(|(i, record)| async move { (i, keyed_result(self.publish(&record).await)) })
            .buffer_unordered(KEYED_IN_FLIGHT)
            .collect::<Vec<_>>();
        let plain = futures_util::future::try_join_all(
            chunks(plain, WRITE_BATCH).into_iter().map(|chunk| self.write_plain(chunk)),
        );
        let (keyed, plain) = tokio::join!(keyed, plain);
        for (i, result) in keyed.into_iter().chain(plain?.into_iter().flatten()) {
            results[i] = Some(result);
        }
        for (i, earlier) in repeats.iter().enumerate() {
            if let Some(first) = earlier {
                results[i] = results[*first].as_ref().map(BatchItemResult::repeated);
            }
        }
        Ok(results.into_iter().map(|r| r.unwrap_or_else(BatchItemResult::throttled)).collect())
    }

    /// Writes up to [`WRITE_BATCH`] rows in one request, resending what is
    /// left unprocessed; answers each item as committed or throttled.
    async fn write_plain(&self, rows: Vec<(usize, Item)>) -> Result<Vec<(usize, BatchItemResult)>, StoreError> {
        let ids: Vec<(usize, String)> = rows.iter().map(|(i, item)| (*i, event_id(item))).collect();
        let items = rows.into_iter().map(|(_, item)| item).collect();
        let left = write_with_retries(items, |batch| self.batch_write(batch), tokio::time::sleep).await?;
        if !left.is_empty() {
            tracing::warn!(unprocessed = left.len(), "events left unprocessed by BatchWriteItem; refused as throttled");
        }
        let left: Vec<String> = left.iter().map(event_id).collect();
        Ok(ids
            .into_iter()
            .map(|(i, id)| {
                let result =
                    if left.contains(&id) { BatchItemResult::throttled() } else { BatchItemResult::Committed { id } };
                (i, result)
            })
            .collect())
    }

    /// One BatchWriteItem of outbox rows; answers the items it did not
    /// write (all of them when DynamoDB throttled the whole request).
    async fn batch_write(&self, items: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let requests = items
            .iter()
            .map(|item| {
                let put = PutRequest::builder().set_item(Some(item.clone())).build();
                put.map(|p| WriteRequest::builder().put_request(p).build())
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Aws(e.to_string()))?;
        let table = &self.tables.events;
        match self.client.batch_write_item().request_items(table, requests).send().await {
            Ok(out) => Ok(out
                .unprocessed_items
                .and_then(|mut u| u.remove(table))
                .unwrap_or_default()
                .into_iter()
                .filter_map(|w| w.put_request.map(|p| p.item))
                .collect()),
            Err(e) if is_throttling(e.as_service_error().and_then(ProvideErrorMetadata::code)) => Ok(items),
            Err(e) => Err(StoreError::aws("dynamodb BatchWriteItem", e)),
        }
    }
}

/// A keyed publish's answer. A failure is refused as retryable: with the
/// same key, a second try answers the first id if this one got through.
fn keyed_result(outcome: Result<PublishOutcome, StoreError>) -> BatchItemResult {
    match outcome {
        Ok(PublishOutcome::Created(id)) => BatchItemResult::Committed { id: id.to_string() },
        Ok(PublishOutcome::Duplicate(id)) => BatchItemResult::Duplicate { id: id.to_string() },
        Err(e @ StoreError::TooLarge(_)) => BatchItemResult::refused(&ApiError::from(e)),
        Err(e) => {
            tracing::warn!(error = %e, "a keyed publish in a batch failed; refused as unavailable");
            BatchItemResult::unavailable()
        }
    }
}

fn is_throttling(code: Option<&str>) -> bool {
    code.is_some_and(|c| THROTTLING.contains(&c))
}

fn event_id(item: &Item) -> String {
    match item.get("event_id") {
        Some(AttributeValue::S(id)) => id.clone(),
        _ => String::new(),
    }
}

fn chunks<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    for item in items {
        match out.last_mut() {
            Some(last) if last.len() < size => last.push(item),
            _ => out.push(vec![item]),
        }
    }
    out
}

/// The wait before resend `n` (0-based): the schedule's step, less up to
/// half of it at random, so throttled writers do not all come back at once.
fn unprocessed_backoff(n: usize, jitter: f64) -> Duration {
    let step = UNPROCESSED_RETRY_MS[n.min(UNPROCESSED_RETRY_MS.len() - 1)] as f64;
    Duration::from_millis((step * (1.0 - 0.5 * jitter.clamp(0.0, 1.0))) as u64)
}

/// Sends `pending`, then resends what `send` answers as not written after
/// each backoff; answers what is still not written after the last resend.
async fn write_with_retries<T, S, SF, P, PF>(
    mut pending: Vec<T>,
    mut send: S,
    mut pause: P,
) -> Result<Vec<T>, StoreError>
where
    S: FnMut(Vec<T>) -> SF,
    SF: Future<Output = Result<Vec<T>, StoreError>>,
    P: FnMut(Duration) -> PF,
    PF: Future<Output = ()>,
{
    pending = send(pending).await?;
    for n in 0..UNPROCESSED_RETRY_MS.len() {
        if pending.is_empty() {
            break;
        }
        pause(unprocessed_backoff(n, crate::retry::jitter_unit())).await;
        pending = send(pending).await?;
    }
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn rows_go_in_requests_of_at_most_25() {
        let sizes: Vec<usize> = chunks((0..60).collect(), WRITE_BATCH).iter().map(Vec::len).collect();
        assert_eq!(sizes, [25, 25, 10]);
        assert!(chunks(Vec::<u8>::new(), WRITE_BATCH).is_empty());
    }

    #[test]
    fn only_throttling_codes_count_as_nothing_written() {
        assert!(is_throttling(Some("ProvisionedThroughputExceededException")));
        assert!(is_throttling(Some("ThrottlingException")));
        assert!(!is_throttling(Some("ValidationException")));
        assert!(!is_throttling(None));
    }

    #[test]
    fn backoff_grows_and_jitter_only_shortens_it() {
        assert_eq!(unprocessed_backoff(0, 0.0), Duration::from_millis(50));
        assert_eq!(unprocessed_backoff(3, 0.0), Duration::from_millis(400));
        assert_eq!(unprocessed_backoff(3, 1.0), Duration::from_millis(200));
        assert_eq!(unprocessed_backoff(9, 0.0), Duration::from_millis(400));
    }

    /// Runs `write_with_retries` against a store that leaves unwritten
    /// whatever `refuse` picks, counting sends and waits.
    async fn run(items: Vec<u32>, refuse: impl Fn(usize, &[u32]) -> Vec<u32>) -> (Vec<u32>, usize, usize) {
        let sends = RefCell::new(0);
        let pauses = RefCell::new(0);
        let send = |batch: Vec<u32>| {
            let n = *sends.borrow();
            *sends.borrow_mut() += 1;
            let left = refuse(n, &batch);
            async move { Ok(left) }
        };
        let pause = |_| {
            *pauses.borrow_mut() += 1;
            async {}
        };
        let left = write_with_retries(items, send, pause).await.unwrap();
        let (s, p) = (*sends.borrow(), *pauses.borrow());
        (left, s, p)
    }

    #[tokio::test]
    async fn unprocessed_items_are_sent_again_until_written() {
        let (left, sends, pauses) =
            run(vec![1, 2, 3], |n, batch| if n < 2 { batch[1..].to_vec() } else { vec![] }).await;
        assert!(left.is_empty());
        assert_eq!((sends, pauses), (3, 2));
    }

    #[tokio::test]
    async fn what_is_never_written_is_answered_after_a_few_tries() {
        let (left, sends, pauses) =
            run(vec![1, 2, 3], |_, batch| batch.iter().copied().filter(|&x| x == 2).collect()).await;
        assert_eq!(left, [2]);
        assert_eq!((sends, pauses), (1 + UNPROCESSED_RETRY_MS.len(), UNPROCESSED_RETRY_MS.len()));
    }

    #[tokio::test]
    async fn a_batch_written_at_once_is_sent_once() {
        assert_eq!(run(vec![1, 2], |_, _| vec![]).await, (vec![], 1, 0));
    }
}
