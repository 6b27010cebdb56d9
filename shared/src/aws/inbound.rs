//! Received inbound webhooks and their dedupe claims.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::Utc;

use super::dynamo::{from_item, s, to_item, unless_condition_failed, Db, Partition};
use super::StoreError;
use crate::ids::{time_lower_bound, EventId, InboundId, TenantId};
use crate::inbound::{DedupeClaim, InboundRecord, InboundStatus};

/// What receiving did.
#[derive(Debug, Clone, PartialEq)]
pub enum Receipt {
    /// Stored, with the dedupe key claimed: process it.
    Accepted,
    /// The key was claimed within its window by this earlier record.
    Duplicate(DedupeClaim),
}

/// What processing concluded, written onto the record.
#[derive(Debug, Clone)]
pub enum Outcome {
    Processed { event_id: EventId, event_type: String },
    Failed { reason: String },
}

impl Db {
    /// Stores the record and claims its dedupe key in one transaction, so a
    /// record exists exactly when its key is claimed (an expired claim counts
    /// as free).
    pub async fn receive_inbound(&self, record: &InboundRecord, claim: &DedupeClaim) -> Result<Receipt, StoreError> {
        let put_record = Put::builder()
            .table_name(&self.tables.inbound)
            .set_item(Some(to_item(record)?))
            .condition_expression("attribute_not_exists(inbound_id)")
            .build()
            .map_err(|e| StoreError::aws("transact put", e))?;
        let put_claim = Put::builder()
            .table_name(&self.tables.inbound_dedupe)
            .set_item(Some(to_item(claim)?))
            .condition_expression("attribute_not_exists(dedupe_key) OR expires_at < :now")
            .expression_attribute_values(":now", AttributeValue::N(Utc::now().timestamp().to_string()))
            .build()
            .map_err(|e| StoreError::aws("transact put", e))?;
        let written = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_record).build())
            .transact_items(TransactWriteItem::builder().put(put_claim).build())
            .send()
            .await;
        match written {
            Ok(_) => Ok(Receipt::Accepted),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_transaction_canceled_exception()) => {
                let key = HashMap::from([
                    ("source_slug".to_owned(), s(&claim.source_slug)),
                    ("dedupe_key".to_owned(), s(&claim.dedupe_key)),
                ]);
                let out = self
                    .client
                    .get_item()
                    .table_name(&self.tables.inbound_dedupe)
                    .set_key(Some(key))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| StoreError::aws("dynamodb GetItem", e))?;
                let first: Option<DedupeClaim> = out.item.map(from_item).transpose()?;
                first
                    .map(Receipt::Duplicate)
                    .ok_or_else(|| StoreError::Aws("inbound transaction cancelled for another reason".into()))
            }
            Err(e) => Err(StoreError::aws("dynamodb TransactWriteItems", e)),
        }
    }

    /// Undoes a receipt whose message could not be queued, so the sender's
    /// retry is received afresh instead of being taken for a duplicate.
    pub async fn release_inbound(&self, record: &InboundRecord) -> Result<(), StoreError> {
        let delete_claim = Delete::builder()
            .table_name(&self.tables.inbound_dedupe)
            .key("source_slug", s(&record.source_slug))
            .key("dedupe_key", s(&record.dedupe_key))
            .condition_expression("inbound_id = :id")
            .expression_attribute_values(":id", s(record.inbound_id.as_str()))
            .build()
            .map_err(|e| StoreError::aws("transact delete", e))?;
        let delete_record = Delete::builder()
            .table_name(&self.tables.inbound)
            .key("tenant_id", s(record.tenant_id.as_str()))
            .key("inbound_id", s(record.inbound_id.as_str()))
            .build()
            .map_err(|e| StoreError::aws("transact delete", e))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete_claim).build())
            .transact_items(TransactWriteItem::builder().delete(delete_record).build())
            .send()
            .await
            .map_err(|e| StoreError::aws("dynamodb TransactWriteItems", e))?;
        Ok(())
    }

    /// Stores a record without a claim (duplicates kept for the audit, replays).
    pub async fn put_inbound(&self, record: &InboundRecord) -> Result<(), StoreError> {
        self.put_new(&self.tables.inbound, "inbound_id", record).await
    }

    /// One of the tenant's inbound records, read consistently (processing
    /// follows the write within milliseconds).
    pub async fn get_inbound(&self, tenant: &TenantId, id: &InboundId) -> Result<Option<InboundRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.inbound)
            .key("tenant_id", s(tenant.as_str()))
            .key("inbound_id", s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("dynamodb GetItem", e))?;
        out.item.map(from_item).transpose()
    }

    /// The tenant's records received at or after `since_ms`, oldest first.
    pub async fn list_inbound(
        &self,
        tenant: &TenantId,
        since_ms: u64,
        after: Option<&str>,
        want: usize,
        keep: impl Fn(&InboundRecord) -> bool,
    ) -> Result<Vec<InboundRecord>, StoreError> {
        let lo = time_lower_bound(InboundId::PREFIX, since_ms);
        let hi = format!("{}~", InboundId::PREFIX);
        let part =
            Partition { table: &self.tables.inbound, index: None, sort_attr: "inbound_id", between: Some((lo, hi)) };
        self.query_tenant(part, tenant, after, want, keep).await
    }

    /// Records how processing ended, unless the record is already processed
    /// (a duplicate message); returns whether it was written.
    pub async fn finish_inbound(
        &self,
        tenant: &TenantId,
        id: &InboundId,
        outcome: &Outcome,
    ) -> Result<bool, StoreError> {
        let mut values = HashMap::from([(":done".to_owned(), s(InboundStatus::Processed.as_str()))]);
        let expression = match outcome {
            Outcome::Processed { event_id, event_type } => {
                values.insert(":st".into(), s(InboundStatus::Processed.as_str()));
                values.insert(":ev".into(), s(event_id.as_str()));
                values.insert(":et".into(), s(event_type));
                "SET #st = :st, event_id = :ev, event_type = :et REMOVE failure_reason"
            }
            Outcome::Failed { reason } => {
                values.insert(":st".into(), s(InboundStatus::Failed.as_str()));
                values.insert(":why".into(), s(reason));
                "SET #st = :st, failure_reason = :why"
            }
        };
        let written = self
            .client
            .update_item()
            .table_name(&self.tables.inbound)
            .key("tenant_id", s(tenant.as_str()))
            .key("inbound_id", s(id.as_str()))
            .update_expression(expression)
            .condition_expression("attribute_exists(inbound_id) AND #st <> :done")
            .expression_attribute_names("#st", "status")
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        Ok(unless_condition_failed(written, "dynamodb UpdateItem")?.is_some())
    }
}
