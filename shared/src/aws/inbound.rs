//! Received inbound webhooks and their dedupe claims.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;

use super::dynamo::{from_item, s, to_item, unless_condition_failed, Db, Partition};
use super::StoreError;
use crate::ids::{time_lower_bound, EventId, InboundId, TenantId};
use crate::inbound::{cut_bytes, DedupeClaim, InboundRecord, InboundStatus, MAX_FAILURE_REASON_BYTES};

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
    /// Claims the record's dedupe key (an expired claim counts as free),
    /// then stores the record. A claim whose record never got written (its
    /// receipt died in between, and its sender was never told 2xx) is taken
    /// over, so a duplicate always points at a stored record.
    pub async fn receive_inbound(&self, record: &InboundRecord, claim: &DedupeClaim) -> Result<Receipt, StoreError> {
        let now = Utc::now().timestamp().to_string();
        let claimed = self
            .client
            .put_item()
            .table_name(&self.tables.inbound_dedupe)
            .set_item(Some(to_item(claim)?))
            .condition_expression("attribute_not_exists(dedupe_key) OR expires_at < :now")
            .expression_attribute_values(":now", AttributeValue::N(now))
            .send()
            .await;
        if unless_condition_failed(claimed, "dynamodb PutItem")?.is_none() {
            let first = self.dedupe_claim(&claim.source_slug, &claim.dedupe_key).await?;
            let Some(first) = first else {
                return Err(StoreError::Aws("a dedupe claim vanished while being read".into()));
            };
            if self.get_inbound(&first.tenant_id, &first.inbound_id).await?.is_some() {
                return Ok(Receipt::Duplicate(first));
            }
            let taken = self
                .client
                .put_item()
                .table_name(&self.tables.inbound_dedupe)
                .set_item(Some(to_item(claim)?))
                .condition_expression("inbound_id = :orphan")
                .expression_attribute_values(":orphan", s(first.inbound_id.as_str()))
                .send()
                .await;
            if unless_condition_failed(taken, "dynamodb PutItem")?.is_none() {
                return Err(StoreError::Conflict);
            }
        }
        if let Err(e) = self.put_new(&self.tables.inbound, "inbound_id", record).await {
            let _ = self.delete_claim(record).await;
            return Err(e);
        }
        Ok(Receipt::Accepted)
    }

    async fn dedupe_claim(&self, source_slug: &str, dedupe_key: &str) -> Result<Option<DedupeClaim>, StoreError> {
        let key = HashMap::from([("source_slug".to_owned(), s(source_slug)), ("dedupe_key".to_owned(), s(dedupe_key))]);
        self.read(&self.tables.inbound_dedupe, key, true).await
    }

    async fn delete_claim(&self, record: &InboundRecord) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.tables.inbound_dedupe)
            .key("source_slug", s(&record.source_slug))
            .key("dedupe_key", s(&record.dedupe_key))
            .condition_expression("inbound_id = :id")
            .expression_attribute_values(":id", s(record.inbound_id.as_str()))
            .send()
            .await;
        unless_condition_failed(deleted, "dynamodb DeleteItem")?;
        Ok(())
    }

    /// Undoes a receipt whose message could not be queued, so the sender's
    /// retry is received afresh instead of being taken for a duplicate.
    pub async fn release_inbound(&self, record: &InboundRecord) -> Result<(), StoreError> {
        self.delete_claim(record).await?;
        self.delete_key(&self.tables.inbound, &record.tenant_id, "inbound_id", record.inbound_id.as_str()).await
    }

    /// Stores a record without a claim (duplicates kept for the audit, replays).
    pub async fn put_inbound(&self, record: &InboundRecord) -> Result<(), StoreError> {
        self.put_new(&self.tables.inbound, "inbound_id", record).await
    }

    /// One of the tenant's inbound records, read consistently (processing
    /// follows the write within milliseconds).
    pub async fn get_inbound(&self, tenant: &TenantId, id: &InboundId) -> Result<Option<InboundRecord>, StoreError> {
        let key =
            HashMap::from([("tenant_id".to_owned(), s(tenant.as_str())), ("inbound_id".to_owned(), s(id.as_str()))]);
        self.read(&self.tables.inbound, key, true).await
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

    /// The status of each of the tenant's records received at or after
    /// `since_ms`, for counting. Only `status` is projected: DynamoDB still
    /// charges read units for whole items, but bodies never leave the table.
    pub async fn inbound_statuses(&self, tenant: &TenantId, since_ms: u64) -> Result<Vec<InboundStatus>, StoreError> {
        #[derive(serde::Deserialize)]
        struct StatusOnly {
            status: InboundStatus,
        }
        let lo = time_lower_bound(InboundId::PREFIX, since_ms);
        let hi = format!("{}~", InboundId::PREFIX);
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.tables.inbound)
                .key_condition_expression("tenant_id = :t AND inbound_id BETWEEN :lo AND :hi")
                .expression_attribute_values(":t", s(tenant.as_str()))
                .expression_attribute_values(":lo", s(&lo))
                .expression_attribute_values(":hi", s(&hi))
                .projection_expression("#st")
                .expression_attribute_names("#st", "status")
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StoreError::aws("dynamodb Query", e))?;
            for item in out.items.unwrap_or_default() {
                found.push(from_item::<StatusOnly>(item)?.status);
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(found),
            }
        }
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
                values.insert(":why".into(), s(cut_bytes(reason, MAX_FAILURE_REASON_BYTES)));
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
