//! SQS: batched sends with per-message delays.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use super::StoreError;

/// SQS allows at most this many messages per batch call.
pub const MAX_BATCH: usize = 10;
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

    /// Sends in batches of ten; returns the ids of messages SQS refused.
    pub async fn send_all(&self, messages: &[OutgoingMessage]) -> Result<Vec<String>, StoreError> {
        let mut refused = Vec::new();
        for chunk in messages.chunks(MAX_BATCH) {
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
