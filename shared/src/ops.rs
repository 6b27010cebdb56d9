//! Operations shared by the scheduled functions, the admin API and the
//! `hookline` CLI: daily summaries, pruning, endpoint health, stats, and
//! bulk retries and replays.

pub mod health;
pub mod prune;
pub mod replay;
pub mod resume;
pub mod stats;
pub mod summary;

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::aws::dynamo::Db;
use crate::aws::outbox::PublishOutcome;
use crate::aws::StoreError;
use crate::event::{NewEvent, OutboxRecord};
use crate::ids::{EventId, TenantId};

/// One of Hookline's own events (`endpoint.paused`, `delivery.exhausted`,
/// `inbound.failed`, …), published through the outbox like any other.
#[derive(Debug, Clone)]
pub struct Announcement {
    pub event_type: &'static str,
    pub data: serde_json::Value,
    /// Makes a repeated announcement of the same fact publish once.
    pub idempotency_key: Option<String>,
    pub correlation_id: Option<String>,
}

/// Publishes an announcement; returns the event id (the first one's, for a repeat).
pub async fn announce(db: &Db, tenant: &TenantId, a: Announcement, retention_days: u32) -> Result<EventId, StoreError> {
    let event = NewEvent {
        event_type: a.event_type.to_owned(),
        payload: a.data.to_string(),
        idempotency_key: a.idempotency_key,
        correlation_id: a.correlation_id,
        only_endpoint: None,
    };
    let record = OutboxRecord::new(tenant, event, retention_days);
    match db.publish(&record).await? {
        PublishOutcome::Created(id) | PublishOutcome::Duplicate(id) => {
            tracing::info!(event_id = %id, event_type = a.event_type, "operational event published");
            Ok(id)
        }
    }
}

impl Db {
    /// Deletes one of the tenant's items from a table keyed (tenant_id, `sort_attr`).
    pub async fn delete_key(
        &self,
        table: &str,
        tenant: &TenantId,
        sort_attr: &str,
        sort_key: &str,
    ) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(table)
            .key("tenant_id", crate::aws::dynamo::s(tenant.as_str()))
            .key(sort_attr, crate::aws::dynamo::s(sort_key))
            .send()
            .await
            .map_err(|e| StoreError::aws("dynamodb DeleteItem", e))?;
        Ok(())
    }

    /// Every item of a table (projected and filtered as the scan says).
    async fn scan_all(
        &self,
        scan: aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = scan
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StoreError::aws("dynamodb Scan", e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(items),
            }
        }
    }

    /// Every tenant with an API key, an endpoint or a source.
    pub async fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let mut found = BTreeSet::new();
        for table in [&self.tables.api_keys, &self.tables.endpoints, &self.tables.sources] {
            let scan = self.client.scan().table_name(table).projection_expression("tenant_id");
            for item in self.scan_all(scan).await? {
                if let Some(t) = item.get("tenant_id").and_then(|v| v.as_s().ok()).and_then(|t| t.parse().ok()) {
                    found.insert(t);
                }
            }
        }
        Ok(found.into_iter().collect())
    }
}
