//! The outbox (events table) and idempotency claims.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::Utc;

use super::dynamo::{from_item, s, to_item, unless_condition_failed, Db};
use super::StoreError;
use crate::event::{IdempotencyRecord, OutboxRecord, IDEMPOTENCY_TTL_SECONDS};
use crate::ids::{EventId, TenantId};

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// A new event was committed.
    Created(EventId),
    /// The idempotency key was used before: this is the first event's id.
    Duplicate(EventId),
}

impl Db {
    /// Commits an event. With an idempotency key, the key's claim and the
    /// event are written in one transaction, so a repeat never makes a second event.
    pub async fn publish(&self, record: &OutboxRecord) -> Result<PublishOutcome, StoreError> {
        let Some(key) = &record.idempotency_key else {
            self.put_new(&self.tables.events, "event_id", record).await?;
            return Ok(PublishOutcome::Created(record.event_id.clone()));
        };
        let claim = IdempotencyRecord {
            tenant_id: record.tenant_id.clone(),
            idempotency_key: key.clone(),
            event_id: record.event_id.clone(),
            expires_at: Utc::now().timestamp() + IDEMPOTENCY_TTL_SECONDS,
        };
        let put = |table: &str, item, key_attr: &str| {
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#k)")
                .expression_attribute_names("#k", key_attr)
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(|e| StoreError::aws("transact put", e))
        };
        let written = self
            .client
            .transact_write_items()
            .transact_items(put(&self.tables.idempotency, to_item(&claim)?, "idempotency_key")?)
            .transact_items(put(&self.tables.events, to_item(record)?, "event_id")?)
            .send()
            .await;
        match written {
            Ok(_) => Ok(PublishOutcome::Created(record.event_id.clone())),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_transaction_canceled_exception()) => {
                let earlier = self.idempotency_claim(&record.tenant_id, key).await?;
                let earlier = earlier
                    .ok_or_else(|| StoreError::Aws("publish transaction cancelled for another reason".into()))?;
                Ok(PublishOutcome::Duplicate(earlier.event_id))
            }
            Err(e) => Err(StoreError::aws("dynamodb TransactWriteItems", e)),
        }
    }

    async fn idempotency_claim(&self, tenant: &TenantId, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.idempotency)
            .key("tenant_id", s(tenant.as_str()))
            .key("idempotency_key", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("dynamodb GetItem", e))?;
        out.item.map(from_item).transpose()
    }

    /// One of the tenant's events; `consistent` for decisions right after a write.
    pub async fn get_event(
        &self,
        tenant: &TenantId,
        id: &EventId,
        consistent: bool,
    ) -> Result<Option<OutboxRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.events)
            .key("tenant_id", s(tenant.as_str()))
            .key("event_id", s(id.as_str()))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| StoreError::aws("dynamodb GetItem", e))?;
        out.item.map(from_item).transpose()
    }

    /// Marks an event's fan-out complete; later replays of its stream record skip it.
    pub async fn mark_dispatched(&self, tenant: &TenantId, id: &EventId, deliveries: u32) -> Result<(), StoreError> {
        let values = HashMap::from([
            (":at".to_owned(), s(&Utc::now().to_rfc3339())),
            (":n".to_owned(), AttributeValue::N(deliveries.to_string())),
        ]);
        let written = self
            .client
            .update_item()
            .table_name(&self.tables.events)
            .key("tenant_id", s(tenant.as_str()))
            .key("event_id", s(id.as_str()))
            .update_expression("SET dispatched_at = :at, deliveries = :n")
            .condition_expression("attribute_exists(event_id) AND attribute_not_exists(dispatched_at)")
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        // Already marked: a replay got there first, which is just as good.
        unless_condition_failed(written, "dynamodb UpdateItem")?;
        Ok(())
    }
}
