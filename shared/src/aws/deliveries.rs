//! The delivery log: one item per delivery, attempts inline, keyed
//! `{endpoint_id}#{delivery_id}` within the tenant so an endpoint's
//! deliveries are one range, in event order, with no index to pay for.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};

use super::dynamo::{from_item, s, to_item, unless_condition_failed, Db, Partition};
use super::StoreError;
use crate::delivery::{Attempt, DeliveryRecord, DeliveryStatus};
use crate::event::EventSnapshot;
use crate::ids::{DeliveryId, EndpointId, TenantId};

/// A delivery that already existed when fan-out tried to create it.
#[derive(Debug, Clone, PartialEq)]
pub enum Creation {
    Created,
    Existed(Option<Box<DeliveryRecord>>),
}

/// What one attempt changes on its delivery.
#[derive(Debug, Clone)]
pub struct AttemptWrite<'a> {
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub attempt: &'a Attempt,
    /// The retention deadline (TTL) from this attempt on.
    pub expires_at: i64,
    /// With the event, a first attempt may find no record (the fast path
    /// sends a message before it writes the pending record): it then
    /// writes the whole record itself. Without it the record must exist.
    pub event: Option<&'a EventSnapshot>,
}

/// A first attempt's record fields, set only where the record has none.
const IDENTITY_SETS: [(&str, &str); 6] = [
    ("delivery_id", "delivery_id = if_not_exists(delivery_id, :delivery_id)"),
    ("event_id", "event_id = if_not_exists(event_id, :event_id)"),
    ("endpoint_id", "endpoint_id = if_not_exists(endpoint_id, :endpoint_id)"),
    ("event_type", "event_type = if_not_exists(event_type, :event_type)"),
    ("correlation_id", "correlation_id = if_not_exists(correlation_id, :correlation_id)"),
    ("created_at", "created_at = if_not_exists(created_at, :created_at)"),
];

impl Db {
    /// Creates a pending delivery unless it exists (then the existing one is returned).
    pub async fn create_delivery(&self, record: &DeliveryRecord) -> Result<Creation, StoreError> {
        let written = self
            .client
            .put_item()
            .table_name(&self.tables.deliveries)
            .set_item(Some(to_item(record)?))
            .condition_expression("attribute_not_exists(delivery_key)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match written {
            Ok(_) => Ok(Creation::Created),
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
                    let old = c.item.map(from_item::<DeliveryRecord>).transpose()?;
                    Ok(Creation::Existed(old.map(Box::new)))
                }
                other => Err(StoreError::aws("dynamodb PutItem", other)),
            },
        }
    }

    /// The deliveries with these sort keys that exist: batched, eventually
    /// consistent reads (half a read unit each); `projection` narrows them.
    async fn get_deliveries_by_key(
        &self,
        tenant: &TenantId,
        keys: &[String],
        projection: Option<&str>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let pairs: Vec<(&TenantId, &str)> = keys.iter().map(|k| (tenant, k.as_str())).collect();
        self.get_deliveries_of(&pairs, projection).await
    }

    /// Deliveries by (tenant, sort key), of any tenants, 100 keys a call.
    async fn get_deliveries_of(
        &self,
        keys: &[(&TenantId, &str)],
        projection: Option<&str>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|(tenant, k)| {
                    HashMap::from([("tenant_id".to_owned(), s(tenant.as_str())), ("delivery_key".to_owned(), s(k))])
                })
                .collect();
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .set_projection_expression(projection.map(str::to_owned))
                    .build()
                    .map_err(|e| StoreError::Aws(e.to_string()))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.tables.deliveries, request)
                    .send()
                    .await
                    .map_err(|e| StoreError::aws("dynamodb BatchGetItem", e))?;
                found.extend(out.responses.unwrap_or_default().into_values().flatten());
                if let Some(rest) = out.unprocessed_keys.and_then(|mut u| u.remove(&self.tables.deliveries)) {
                    pending = rest.keys;
                }
            }
        }
        Ok(found)
    }

    /// Which of `keys` (delivery sort keys) have no delivery record.
    pub async fn missing_deliveries(&self, tenant: &TenantId, keys: Vec<String>) -> Result<Vec<String>, StoreError> {
        let items = self.get_deliveries_by_key(tenant, &keys, Some("delivery_key")).await?;
        let found: HashSet<&str> = items
            .iter()
            .filter_map(|i| i.get("delivery_key").and_then(|v| v.as_s().ok()))
            .map(String::as_str)
            .collect();
        Ok(keys.iter().filter(|k| !found.contains(k.as_str())).cloned().collect())
    }

    /// Which of these deliveries (by tenant and sort key, of any tenants)
    /// have made an attempt: their sort keys by tenant id. One batched read
    /// of two small attributes serves a whole stream batch's fast-path events.
    pub async fn attempted_deliveries(
        &self,
        keys: &[(&TenantId, &str)],
    ) -> Result<HashMap<String, HashSet<String>>, StoreError> {
        let items = self.get_deliveries_of(keys, Some("tenant_id, delivery_key, attempts")).await?;
        let mut attempted: HashMap<String, HashSet<String>> = HashMap::new();
        for item in items {
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
            let tried = item.get("attempts").and_then(|v| v.as_n().ok()).is_some_and(|n| n != "0");
            if let (true, Some(tenant), Some(key)) = (tried, text("tenant_id"), text("delivery_key")) {
                attempted.entry(tenant).or_default().insert(key);
            }
        }
        Ok(attempted)
    }

    /// The deliveries of these ids that exist.
    pub async fn get_deliveries(
        &self,
        tenant: &TenantId,
        ids: &[DeliveryId],
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let keys: Vec<String> = ids.iter().map(DeliveryRecord::key).collect();
        self.get_deliveries_by_key(tenant, &keys, None).await?.into_iter().map(from_item).collect()
    }

    /// One of the tenant's deliveries.
    pub async fn get_delivery(&self, tenant: &TenantId, id: &DeliveryId) -> Result<Option<DeliveryRecord>, StoreError> {
        let key = HashMap::from([
            ("tenant_id".to_owned(), s(tenant.as_str())),
            ("delivery_key".to_owned(), s(&DeliveryRecord::key(id))),
        ]);
        self.get(&self.tables.deliveries, key).await
    }

    /// Records attempt number `attempt.attempt` if the delivery has made
    /// exactly one fewer; `Conflict` means a duplicate message already did.
    pub async fn record_attempt(
        &self,
        tenant: &TenantId,
        id: &DeliveryId,
        write: AttemptWrite<'_>,
    ) -> Result<(), StoreError> {
        let entry =
            serde_dynamo::to_attribute_value(write.attempt).map_err(|e| StoreError::aws("serialize attempt", e))?;
        let mut values = HashMap::from([
            (":st".to_owned(), s(write.status.as_str())),
            (":n".to_owned(), AttributeValue::N(write.attempt.attempt.to_string())),
            (":prev".to_owned(), AttributeValue::N((write.attempt.attempt - 1).to_string())),
            (":now".to_owned(), s(&Utc::now().to_rfc3339())),
            (":entry".to_owned(), AttributeValue::L(vec![entry])),
            (":empty".to_owned(), AttributeValue::L(vec![])),
            (":exp".to_owned(), AttributeValue::N(write.expires_at.to_string())),
        ]);
        let mut set = vec![
            "#st = :st",
            "attempts = :n",
            "updated_at = :now",
            "expires_at = :exp",
            "attempt_log = list_append(if_not_exists(attempt_log, :empty), :entry)",
        ];
        let mut remove = Vec::new();
        match write.next_attempt_at {
            Some(at) => {
                values.insert(":next".into(), s(&at.to_rfc3339()));
                set.push("next_attempt_at = :next");
            }
            None => remove.push("next_attempt_at"),
        }
        match write.attempt.status_code {
            Some(code) => {
                values.insert(":code".into(), AttributeValue::N(code.to_string()));
                set.push("last_status_code = :code");
            }
            None => remove.push("last_status_code"),
        }
        let mut condition = "attempts = :prev";
        if let Some(event) = write.event.filter(|_| write.attempt.attempt == 1) {
            // What the pending record would have held, kept where it exists.
            let values_in_order = [
                id.to_string(),
                event.event_id.to_string(),
                id.endpoint_id().to_string(),
                event.event_type.clone(),
                event.correlation_id.clone(),
                Utc::now().to_rfc3339(),
            ];
            for ((name, expression), value) in IDENTITY_SETS.iter().zip(values_in_order) {
                values.insert(format!(":{name}"), s(&value));
                set.push(expression);
            }
            condition = "attribute_not_exists(delivery_key) OR attempts = :prev";
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let written = self
            .client
            .update_item()
            .table_name(&self.tables.deliveries)
            .key("tenant_id", s(tenant.as_str()))
            .key("delivery_key", s(&DeliveryRecord::key(id)))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_names("#st", "status")
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        unless_condition_failed(written, "dynamodb UpdateItem")?.map(|_| ()).ok_or(StoreError::Conflict)
    }

    /// Moves a delivery to `status` if it is in one of `from`; false otherwise.
    pub async fn set_delivery_status(
        &self,
        tenant: &TenantId,
        id: &DeliveryId,
        status: DeliveryStatus,
        from: &[DeliveryStatus],
    ) -> Result<bool, StoreError> {
        let mut values =
            HashMap::from([(":st".to_owned(), s(status.as_str())), (":now".to_owned(), s(&Utc::now().to_rfc3339()))]);
        let allowed: Vec<String> = from
            .iter()
            .enumerate()
            .map(|(i, st)| {
                values.insert(format!(":f{i}"), s(st.as_str()));
                format!(":f{i}")
            })
            .collect();
        let written = self
            .client
            .update_item()
            .table_name(&self.tables.deliveries)
            .key("tenant_id", s(tenant.as_str()))
            .key("delivery_key", s(&DeliveryRecord::key(id)))
            // A parked delivery may wait past retention for its endpoint: no TTL while parked.
            .update_expression(if status == DeliveryStatus::Parked {
                "SET #st = :st, updated_at = :now REMOVE expires_at"
            } else {
                "SET #st = :st, updated_at = :now"
            })
            .condition_expression(format!("#st IN ({})", allowed.join(", ")))
            .expression_attribute_names("#st", "status")
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::None)
            .send()
            .await;
        Ok(unless_condition_failed(written, "dynamodb UpdateItem")?.is_some())
    }

    /// An endpoint's deliveries of events created at or after `since_ms`,
    /// oldest first, after the cursor `after` (a delivery key), at most `want`.
    pub async fn list_deliveries(
        &self,
        tenant: &TenantId,
        endpoint: &EndpointId,
        since_ms: u64,
        after: Option<&str>,
        want: usize,
        keep: impl Fn(&DeliveryRecord) -> bool,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        self.list_deliveries_between(tenant, endpoint, (since_ms, None), after, want, keep).await
    }

    /// Up to `want` of an endpoint's deliveries after the cursor `after`,
    /// strongly consistent: a resume must see every delivery parked before it.
    pub async fn delivery_page_now(
        &self,
        tenant: &TenantId,
        endpoint: &EndpointId,
        after: Option<&str>,
        want: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let part = self.endpoint_deliveries(endpoint, (0, None));
        self.query_tenant_read(part, true, tenant, after, want, |_| true).await
    }

    /// Like `list_deliveries`, for events created in `[from_ms, until_ms)`.
    pub async fn list_deliveries_between(
        &self,
        tenant: &TenantId,
        endpoint: &EndpointId,
        (from_ms, until_ms): (u64, Option<u64>),
        after: Option<&str>,
        want: usize,
        keep: impl Fn(&DeliveryRecord) -> bool,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        self.query_tenant(self.endpoint_deliveries(endpoint, (from_ms, until_ms)), tenant, after, want, keep).await
    }

    /// The slice of the deliveries table holding an endpoint's deliveries of
    /// events created in `[from_ms, until_ms)`.
    fn endpoint_deliveries(&self, endpoint: &EndpointId, (from_ms, until_ms): (u64, Option<u64>)) -> Partition<'_> {
        let lo = format!("{endpoint}#{}", DeliveryId::lower_bound(from_ms));
        let hi = match until_ms {
            // Inclusive, but every full id sorts after this bare time prefix.
            Some(until) => format!("{endpoint}#{}", DeliveryId::lower_bound(until)),
            None => format!("{endpoint}#{}~", DeliveryId::PREFIX),
        };
        Partition { table: &self.tables.deliveries, index: None, sort_attr: "delivery_key", between: Some((lo, hi)) }
    }
}

impl Db {
    /// Deletes a delivery unless it is in flight; false when it is (or is gone).
    pub async fn delete_finished_delivery(&self, tenant: &TenantId, delivery_key: &str) -> Result<bool, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.tables.deliveries)
            .key("tenant_id", s(tenant.as_str()))
            .key("delivery_key", s(delivery_key))
            .condition_expression("attribute_exists(delivery_key) AND NOT (#st IN (:p, :r, :k))")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":p", s(DeliveryStatus::Pending.as_str()))
            .expression_attribute_values(":r", s(DeliveryStatus::Retrying.as_str()))
            .expression_attribute_values(":k", s(DeliveryStatus::Parked.as_str()))
            .send()
            .await;
        Ok(unless_condition_failed(deleted, "dynamodb DeleteItem")?.is_some())
    }
}
