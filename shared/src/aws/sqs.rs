//! SQS: batched sends with per-message delays.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use super::StoreError;

/// SQS allows at most this many messages per batch call.
pub const MAX_BATCH: usize = 10;
/// The payload one batch call may carry (all bodies together), with room
/// left for attributes.
pub const MAX_BATCH_BYTES: usize = 250 * 1024;
/// SQS allows at most this delay per message; longer waits hop.
pub const MAX_DELAY_SECONDS: u32 = 900;

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Unique within one batch; reported back when the message fails.
    pub id: String,
    pub body: String,
    pub delay_seconds: u32,
}

/// A queue by URL.
#[derive(Clone, Debug)]
pub struct Queue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl Queue {
    pub fn new(client: aws_sdk_sqs::Client, url: String) -> Self {
        Self { client, url }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends in batches of up to ten within SQS's batch size limit; returns
    /// the ids of messages SQS refused.
    pub async fn send_all(&self, messages: &[OutgoingMessage]) -> Result<Vec<String>, StoreError> {
        let mut refused = Vec::new();
        for chunk in batches(messages) {
            let entries = chunk
                .iter()
                .map(|m| {
                    SendMessageBatchRequestEntry::builder()
                        .id(&m.id)
                        .message_body(&m.body)
                        .delay_seconds(m.delay_seconds.min(MAX_DELAY_SECONDS) as i32)
                        .build()
                        .map_err(|e| StoreError::aws("sqs entry", e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| StoreError::aws("sqs SendMessageBatch", e))?;
            refused.extend(out.failed.into_iter().map(|f| f.id));
        }
        Ok(refused)
    }
}

/// Splits messages into SendMessageBatch calls: at most ten entries, and
/// bodies that together stay within the batch payload limit.
pub fn batches(messages: &[OutgoingMessage]) -> Vec<&[OutgoingMessage]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, m) in messages.iter().enumerate() {
        let size = m.body.len();
        if i > start && (i - start == MAX_BATCH || bytes + size > MAX_BATCH_BYTES) {
            out.push(&messages[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < messages.len() {
        out.push(&messages[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: usize, bytes: usize) -> OutgoingMessage {
        OutgoingMessage { id: n.to_string(), body: "x".repeat(bytes), delay_seconds: 0 }
    }

    #[test]
    fn batches_hold_ten_messages_at_most() {
        let messages: Vec<_> = (0..25).map(|n| message(n, 100)).collect();
        let sizes: Vec<usize> = batches(&messages).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![10, 10, 5]);
    }

    #[test]
    fn large_bodies_split_a_batch_before_the_payload_limit() {
        let messages: Vec<_> = (0..5).map(|n| message(n, 100 * 1024)).collect();
        let split = batches(&messages);
        assert_eq!(split.iter().map(|b| b.len()).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert!(split.iter().all(|b| b.iter().map(|m| m.body.len()).sum::<usize>() <= MAX_BATCH_BYTES));
        assert_eq!(split.concat(), messages, "nothing is dropped or reordered");
    }
}
