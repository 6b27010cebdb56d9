//! Where each stream event source has read up to. Lambda keeps an event
//! source mapping's position outside the function, so a crashed or
//! redeployed function resumes where the last settled batch ended; locally
//! the position lives in the emulator, in a table of `hookline dev`'s own,
//! and outlives `hookline dev` exactly as long as the stream does.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

/// The table's name suffix (after the stack name); not in the template,
/// since it belongs to the platform, not to the application.
const TABLE_SUFFIX: &str = "hookline-dev-positions";

/// Positions of a stack's stream sources.
#[derive(Clone, Debug)]
pub struct Positions {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl Positions {
    /// Opens (creating when new) the stack's positions table.
    pub async fn open(client: &aws_sdk_dynamodb::Client, stack: &str) -> Result<Self, String> {
        let table = format!("{stack}-{TABLE_SUFFIX}");
        let key = |kind| KeySchemaElement::builder().attribute_name("source").key_type(kind).build();
        let created = client
            .create_table()
            .table_name(&table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("source")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .key_schema(key(KeyType::Hash).map_err(|e| e.to_string())?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_in_use_exception()) => {}
            Err(e) => return Err(format!("create table {table}: {e}")),
        }
        Ok(Self { client: client.clone(), table })
    }

    fn key(function: &str, stream_arn: &str, shard: &str) -> AttributeValue {
        // The stream ARN names the table's creation, so a recreated table never inherits an old position.
        AttributeValue::S(format!("{function} {stream_arn} {shard}"))
    }

    /// The sequence number `function` settled last on `shard`, if any.
    pub async fn load(&self, function: &str, stream_arn: &str, shard: &str) -> Option<String> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("source", Self::key(function, stream_arn, shard))
            .consistent_read(true)
            .send()
            .await
            .ok()?;
        out.item?.get("sequence")?.as_s().ok().cloned()
    }

    /// Records that everything up to `sequence` on `shard` is settled. A
    /// failed write only means re-reading some records after a restart.
    pub async fn save(&self, function: &str, stream_arn: &str, shard: &str, sequence: &str) {
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("source", Self::key(function, stream_arn, shard))
            .item("sequence", AttributeValue::S(sequence.to_owned()))
            .send()
            .await;
        if let Err(e) = written {
            tracing::warn!(function, error = %e, "could not save the stream position");
        }
    }
}
