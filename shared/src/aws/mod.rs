//! AWS adapters: the only code in `shared` that knows SDK types.

pub mod deliveries;
pub mod dynamo;
pub mod fanout;
pub mod inbound;
pub mod item_size;
pub mod metrics;
pub mod outbox;
pub mod outbox_batch;
pub mod rate_limit;
pub mod secrets;
pub mod sources;
pub mod sqs;

use aws_config::{BehaviorVersion, SdkConfig};

/// A storage or queue call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: the item exists, is gone, or changed.
    #[error("conditional write refused")]
    Conflict,
    /// The item would be larger than DynamoDB stores (`MAX_ITEM_BYTES`).
    #[error("the item would be {0} bytes, more than DynamoDB's 400 KB")]
    TooLarge(usize),
    /// Anything else the service or the network said.
    #[error("{0}")]
    Aws(String),
}

impl StoreError {
    pub(crate) fn aws<E: std::error::Error>(context: &str, err: E) -> Self {
        // The Display of an SdkError is terse; the source chain holds the reason.
        let mut msg = format!("{context}: {err}");
        let mut source = err.source();
        while let Some(s) = source {
            msg.push_str(&format!(": {s}"));
            source = s.source();
        }
        StoreError::Aws(msg)
    }
}

impl From<StoreError> for crate::error::ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => {
                crate::error::ApiError::conflict("conflict", "the resource changed meanwhile; try again")
            }
            StoreError::TooLarge(bytes) => crate::error::ApiError::new(
                413,
                "payload_too_large",
                format!("this would be stored as {bytes} bytes; at most {} fit", item_size::MAX_ITEM_BYTES),
            ),
            StoreError::Aws(msg) => crate::error::ApiError::internal(msg),
        }
    }
}

/// The SDK configuration from the standard chain (region, credentials,
/// `AWS_ENDPOINT_URL` for an emulator).
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// The SDK clients a function uses, built once per cold start.
#[derive(Clone, Debug)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl Clients {
    /// Clients that count their requests (see `metrics`).
    pub fn new(config: &SdkConfig) -> Self {
        let counter = metrics::RequestCounter;
        Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(config).interceptor(counter).build(),
            ),
            sqs: aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(config).interceptor(counter).build(),
            ),
            secrets: aws_sdk_secretsmanager::Client::from_conf(
                aws_sdk_secretsmanager::config::Builder::from(config).interceptor(counter).build(),
            ),
        }
    }
}
