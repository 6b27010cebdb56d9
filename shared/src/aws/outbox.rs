//! The outbox (events table) and idempotency claims.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;

use super::dynamo::{s, to_item, unless_condition_failed, Db, Partition};
use super::StoreError;
use crate::event::{IdempotencyRecord, OutboxRecord, IDEMPOTENCY_TTL_SECONDS};
use crate::ids::{time_lower_bound, EventId, TenantId};

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// A new event was committed.
    Created(EventId),
    /// The idempotency key was used before: this is the first event's id.
    Duplicate(EventId),
}

impl Db {
    /// Commits an event. With an idempotency key, the key is claimed first
    /// (naming the event id), then the event is written; a repeat finds the
    /// claim and gets the first event's id. If a publish died between the
    /// two writes, its repeat completes it under the claimed id, so a key
    /// never names an event that does not exist. (Two plain writes instead
    /// of a transaction: half the write units, and emulators that snapshot
    /// whole tables for a transaction stay usable.)
    pub async fn publish(&self, record: &OutboxRecord) -> Result<PublishOutcome, StoreError> {
        let Some(key) = &record.idempotency_key else {
            self.put_new(&self.tables.events, "event_id", record).await?;
            return Ok(PublishOutcome::Created(record.event_id.clone()));
        };
        let now = Utc::now().timestamp();
        let claim = IdempotencyRecord {
            tenant_id: record.tenant_id.clone(),
            idempotency_key: claim_key(key),
            event_id: record.event_id.clone(),
            expires_at: now + record.idempotency_ttl_seconds.unwrap_or(IDEMPOTENCY_TTL_SECONDS),
        };
        let claimed = self
            .client
            .put_item()
            .table_name(&self.tables.idempotency)
            .set_item(Some(to_item(&claim)?))
            .condition_expression("attribute_not_exists(idempotency_key) OR expires_at < :now")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .send()
            .await;
        if unless_condition_failed(claimed, "dynamodb PutItem")?.is_some() {
            self.put_new(&self.tables.events, "event_id", record).await?;
            return Ok(PublishOutcome::Created(record.event_id.clone()));
        }
        let earlier = self
            .idempotency_claim(&record.tenant_id, key)
            .await?
            .ok_or_else(|| StoreError::Aws("an idempotency claim vanished while being read".into()))?;
        if self.get_event(&record.tenant_id, &earlier.event_id, true).await?.is_some() {
            return Ok(PublishOutcome::Duplicate(earlier.event_id));
        }
        let completed = OutboxRecord { event_id: earlier.event_id.clone(), ..record.clone() };
        match self.put_new(&self.tables.events, "event_id", &completed).await {
            Ok(()) => Ok(PublishOutcome::Created(earlier.event_id)),
            Err(StoreError::Conflict) => Ok(PublishOutcome::Duplicate(earlier.event_id)),
            Err(e) => Err(e),
        }
    }

    async fn idempotency_claim(&self, tenant: &TenantId, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let key = HashMap::from([
            ("tenant_id".to_owned(), s(tenant.as_str())),
            ("idempotency_key".to_owned(), s(&claim_key(key))),
        ]);
        self.read(&self.tables.idempotency, key, true).await
    }

    /// One of the tenant's events; `consistent` for decisions right after a write.
    pub async fn get_event(
        &self,
        tenant: &TenantId,
        id: &EventId,
        consistent: bool,
    ) -> Result<Option<OutboxRecord>, StoreError> {
        let key =
            HashMap::from([("tenant_id".to_owned(), s(tenant.as_str())), ("event_id".to_owned(), s(id.as_str()))]);
        self.read(&self.tables.events, key, consistent).await
    }

    /// The tenant's events created in `[from_ms, until_ms)`, newest first,
    /// continuing after the event id `after`.
    pub async fn list_events_newest(
        &self,
        tenant: &TenantId,
        (from_ms, until_ms): (u64, u64),
        after: Option<&str>,
        want: usize,
        keep: impl Fn(&OutboxRecord) -> bool,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        self.query_tenant_newest(self.events_between(from_ms, until_ms), tenant, after, want, keep).await
    }

    /// The tenant's events created in `[from_ms, until_ms)`, oldest first.
    pub async fn list_events_between(
        &self,
        tenant: &TenantId,
        from_ms: u64,
        until_ms: u64,
        keep: impl Fn(&OutboxRecord) -> bool,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        self.query_tenant(self.events_between(from_ms, until_ms), tenant, None, usize::MAX, keep).await
    }

    /// The events created in `[from_ms, until_ms)`, by their time-sorted ids.
    fn events_between(&self, from_ms: u64, until_ms: u64) -> Partition<'_> {
        let lo = time_lower_bound(EventId::PREFIX, from_ms);
        let hi = time_lower_bound(EventId::PREFIX, until_ms);
        Partition { table: &self.tables.events, index: None, sort_attr: "event_id", between: Some((lo, hi)) }
    }
}

/// Where a caller's idempotency key is claimed: a namespace of its own, so
/// no key a caller sends can collide with the table's other items (rate
/// limits' start slots).
fn claim_key(key: &str) -> String {
    format!("key:{key}")
}
