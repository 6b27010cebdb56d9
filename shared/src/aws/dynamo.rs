//! DynamoDB: items via serde_dynamo, every lookup scoped by tenant, and a
//! conditional write for every "exactly once" claim.

use std::collections::HashMap;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;
use crate::api_key::ApiKeyRecord;
use crate::config::Tables;
use crate::endpoint::{EndpointRecord, EndpointStatus};
use crate::event_type::EventTypeRecord;
use crate::ids::{ApiKeyId, EndpointId, TenantId};

/// One DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// The index of API keys by tenant (see template.yaml).
pub const API_KEYS_BY_TENANT: &str = "by_tenant";
const QUERY_PAGE: i32 = 250;

/// Where a tenant's items live: a table (or one of its indexes) keyed by
/// `tenant_id` and sorted by `sort_attr`, optionally within a sort-key range.
pub(crate) struct Partition<'a> {
    pub table: &'a str,
    pub index: Option<&'a str>,
    pub sort_attr: &'a str,
    /// Inclusive sort-key bounds.
    pub between: Option<(String, String)>,
}

/// The tables, behind tenant-scoped methods.
#[derive(Clone, Debug)]
pub struct Db {
    pub(crate) client: Client,
    pub(crate) tables: Tables,
}

pub(crate) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn endpoint_key(tenant: &TenantId, id: &EndpointId) -> Item {
    HashMap::from([("tenant_id".into(), s(tenant.as_str())), ("endpoint_id".into(), s(id.as_str()))])
}

/// Serializes an item, refusing one DynamoDB would refuse for its size.
pub(crate) fn to_item<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    let item: Item = serde_dynamo::to_item(value).map_err(|e| StoreError::aws("serialize item", e))?;
    match super::item_size::item_size(&item) {
        size if size > super::item_size::MAX_ITEM_BYTES => Err(StoreError::TooLarge(size)),
        _ => Ok(item),
    }
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::aws("deserialize item", e))
}

/// The outcome of a conditional write: `Some` when written, `None` when
/// its condition did not hold, an error for anything else.
pub(crate) fn unless_condition_failed<O, E>(
    result: Result<O, SdkError<E, HttpResponse>>,
    operation: &str,
) -> Result<Option<O>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error().and_then(ProvideErrorMetadata::code) == Some("ConditionalCheckFailedException") =>
        {
            Ok(None)
        }
        Err(e) => Err(StoreError::aws(operation, e)),
    }
}

impl Db {
    pub fn new(client: Client, tables: Tables) -> Self {
        Self { client, tables }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// Writes `item` only if no item has its key (`attribute_not_exists`).
    pub(crate) async fn put_new<T: Serialize>(&self, table: &str, key_attr: &str, item: &T) -> Result<(), StoreError> {
        let written = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(to_item(item)?))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", key_attr)
            .send()
            .await;
        unless_condition_failed(written, "dynamodb PutItem")?.map(|_| ()).ok_or(StoreError::Conflict)
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, table: &str, key: Item) -> Result<Option<T>, StoreError> {
        self.read(table, key, false).await
    }

    /// A GetItem; `consistent` for decisions right after a write.
    pub(crate) async fn read<T: DeserializeOwned>(
        &self,
        table: &str,
        key: Item,
        consistent: bool,
    ) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| StoreError::aws("dynamodb GetItem", e))?;
        out.item.map(from_item).transpose()
    }

    /// Reads a tenant's partition in sort-key order, after `after` (base
    /// table only: an index's page key needs more than the sort key), until
    /// `want` items pass `keep` or the partition ends.
    pub(crate) async fn query_tenant<T: DeserializeOwned>(
        &self,
        part: Partition<'_>,
        tenant: &TenantId,
        after: Option<&str>,
        want: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, StoreError> {
        self.query_tenant_read(part, false, tenant, after, want, keep).await
    }

    /// `query_tenant`, newest (highest sort key) first.
    pub(crate) async fn query_tenant_newest<T: DeserializeOwned>(
        &self,
        part: Partition<'_>,
        tenant: &TenantId,
        after: Option<&str>,
        want: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, StoreError> {
        self.query_in_order(part, false, false, tenant, after, want, keep).await
    }

    /// `query_tenant`, strongly consistent when `consistent` (base tables only).
    pub(crate) async fn query_tenant_read<T: DeserializeOwned>(
        &self,
        part: Partition<'_>,
        consistent: bool,
        tenant: &TenantId,
        after: Option<&str>,
        want: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, StoreError> {
        self.query_in_order(part, consistent, true, tenant, after, want, keep).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn query_in_order<T: DeserializeOwned>(
        &self,
        Partition { table, index, sort_attr, between }: Partition<'_>,
        consistent: bool,
        ascending: bool,
        tenant: &TenantId,
        after: Option<&str>,
        want: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<Item> =
            after.map(|a| HashMap::from([("tenant_id".to_owned(), s(tenant.as_str())), (sort_attr.to_owned(), s(a))]));
        loop {
            let mut query = self
                .client
                .query()
                .table_name(table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression("tenant_id = :t")
                .expression_attribute_values(":t", s(tenant.as_str()));
            if let Some((lo, hi)) = &between {
                query = query
                    .key_condition_expression("tenant_id = :t AND #sk BETWEEN :lo AND :hi")
                    .expression_attribute_names("#sk", sort_attr)
                    .expression_attribute_values(":lo", s(lo))
                    .expression_attribute_values(":hi", s(hi));
            }
            let out = query
                .set_exclusive_start_key(start.take())
                .consistent_read(consistent)
                .scan_index_forward(ascending)
                .limit(QUERY_PAGE)
                .send()
                .await
                .map_err(|e| StoreError::aws("dynamodb Query", e))?;
            for item in out.items.unwrap_or_default() {
                let value: T = from_item(item)?;
                if keep(&value) {
                    found.push(value);
                    if found.len() >= want {
                        return Ok(found);
                    }
                }
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(found),
            }
        }
    }

    // ------------------------------------------------------------ API keys

    fn keys_by_tenant(&self) -> Partition<'_> {
        Partition { table: &self.tables.api_keys, index: Some(API_KEYS_BY_TENANT), sort_attr: "key_id", between: None }
    }

    /// Stores a new key.
    pub async fn create_api_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        self.put_new(&self.tables.api_keys, "key_hash", record).await
    }

    /// The key whose token hashes to `hash`, whatever its tenant: this is how
    /// a request's tenant is found in the first place.
    pub async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.get(&self.tables.api_keys, HashMap::from([("key_hash".into(), s(hash))])).await
    }

    /// All of a tenant's keys in creation order (a tenant has a handful).
    pub async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.query_tenant(self.keys_by_tenant(), tenant, None, usize::MAX, |_| true).await
    }

    /// Revokes one of the tenant's keys; false when it has no such key.
    pub async fn delete_api_key(&self, tenant: &TenantId, id: &ApiKeyId) -> Result<bool, StoreError> {
        let keys: Vec<ApiKeyRecord> = self
            .query_tenant(self.keys_by_tenant(), tenant, None, usize::MAX, |k: &ApiKeyRecord| &k.key_id == id)
            .await?;
        let Some(key) = keys.into_iter().next() else {
            return Ok(false);
        };
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.tables.api_keys)
            .key("key_hash", s(&key.key_hash))
            .condition_expression("tenant_id = :t")
            .expression_attribute_values(":t", s(tenant.as_str()))
            .send()
            .await;
        Ok(unless_condition_failed(deleted, "dynamodb DeleteItem")?.is_some())
    }

    // ------------------------------------------------------------ endpoints

    /// Stores a new endpoint.
    pub async fn create_endpoint(&self, record: &EndpointRecord) -> Result<(), StoreError> {
        self.put_new(&self.tables.endpoints, "endpoint_id", record).await
    }

    /// One of the tenant's endpoints.
    pub async fn get_endpoint(&self, tenant: &TenantId, id: &EndpointId) -> Result<Option<EndpointRecord>, StoreError> {
        self.read(&self.tables.endpoints, endpoint_key(tenant, id), false).await
    }

    /// Like `get_endpoint`, strongly consistent: sees every write before it.
    pub async fn get_endpoint_now(
        &self,
        tenant: &TenantId,
        id: &EndpointId,
    ) -> Result<Option<EndpointRecord>, StoreError> {
        self.read(&self.tables.endpoints, endpoint_key(tenant, id), true).await
    }

    /// The tenant's endpoints after `after` (by id, so by creation time)
    /// that pass `keep`, at most `want`.
    pub async fn list_endpoints(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        want: usize,
        keep: impl Fn(&EndpointRecord) -> bool,
    ) -> Result<Vec<EndpointRecord>, StoreError> {
        self.query_tenant(self.endpoints_partition(), tenant, after, want, keep).await
    }

    fn endpoints_partition(&self) -> Partition<'_> {
        Partition { table: &self.tables.endpoints, index: None, sort_attr: "endpoint_id", between: None }
    }

    /// The tenant's first `want` endpoints, strongly consistent.
    pub async fn list_endpoints_consistent(
        &self,
        tenant: &TenantId,
        want: usize,
    ) -> Result<Vec<EndpointRecord>, StoreError> {
        self.query_tenant_read(self.endpoints_partition(), true, tenant, None, want, |_| true).await
    }

    /// Replaces an endpoint if it is still at `expected_version` (the record
    /// carries the next version); `Conflict` when someone wrote in between.
    pub async fn replace_endpoint(&self, record: &EndpointRecord, expected_version: u64) -> Result<(), StoreError> {
        let written = self
            .client
            .put_item()
            .table_name(&self.tables.endpoints)
            .set_item(Some(to_item(record)?))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", AttributeValue::N(expected_version.to_string()))
            .send()
            .await;
        unless_condition_failed(written, "dynamodb PutItem")?.map(|_| ()).ok_or(StoreError::Conflict)
    }

    /// Deletes one of the tenant's endpoints; false when there was none.
    pub async fn delete_endpoint(&self, tenant: &TenantId, id: &EndpointId) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.tables.endpoints)
            .key("tenant_id", s(tenant.as_str()))
            .key("endpoint_id", s(id.as_str()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| StoreError::aws("dynamodb DeleteItem", e))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    /// An update of an endpoint that still exists; `None` when it is gone.
    async fn update_existing_endpoint(
        &self,
        tenant: &TenantId,
        id: &EndpointId,
        expression: &str,
        value: (&str, AttributeValue),
    ) -> Result<Option<aws_sdk_dynamodb::operation::update_item::UpdateItemOutput>, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.endpoints)
            .key("tenant_id", s(tenant.as_str()))
            .key("endpoint_id", s(id.as_str()))
            .update_expression(expression)
            .condition_expression("attribute_exists(endpoint_id)")
            .expression_attribute_values(value.0, value.1)
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        unless_condition_failed(out, "dynamodb UpdateItem")
    }

    /// Counts one more failed attempt in a row; returns the new count, or
    /// `None` when the endpoint is gone.
    pub async fn count_endpoint_failure(&self, tenant: &TenantId, id: &EndpointId) -> Result<Option<u32>, StoreError> {
        let one = (":one", AttributeValue::N("1".into()));
        Ok(self
            .update_existing_endpoint(tenant, id, "ADD consecutive_failures :one", one)
            .await?
            .and_then(|out| out.attributes)
            .and_then(|a| a.get("consecutive_failures").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())))
    }

    /// Clears the failure streak after a success.
    pub async fn reset_endpoint_failures(&self, tenant: &TenantId, id: &EndpointId) -> Result<(), StoreError> {
        let zero = (":zero", AttributeValue::N("0".into()));
        self.update_existing_endpoint(tenant, id, "SET consecutive_failures = :zero", zero).await?;
        Ok(())
    }

    /// Moves an active endpoint to `status` with a reason; false when it was
    /// not active (already paused or disabled, or gone).
    pub async fn deactivate_endpoint(
        &self,
        tenant: &TenantId,
        id: &EndpointId,
        status: EndpointStatus,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let status_text =
            serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let values = HashMap::from([
            (":st".to_owned(), s(&status_text)),
            (":active".to_owned(), s("active")),
            (":why".to_owned(), s(reason)),
            (":now".to_owned(), s(&chrono::Utc::now().to_rfc3339())),
            (":one".to_owned(), AttributeValue::N("1".into())),
        ]);
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.endpoints)
            .key("tenant_id", s(tenant.as_str()))
            .key("endpoint_id", s(id.as_str()))
            .update_expression("SET #st = :st, status_reason = :why, updated_at = :now, version = version + :one")
            .condition_expression("#st = :active")
            .expression_attribute_names("#st", "status")
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        Ok(unless_condition_failed(out, "dynamodb UpdateItem")?.is_some())
    }

    // ------------------------------------------------------------ event types

    /// Adds a tenant event type; `Conflict` if the name exists.
    pub async fn create_event_type(&self, record: &EventTypeRecord) -> Result<(), StoreError> {
        self.put_new(&self.tables.event_types, "name", record).await
    }

    /// True when `name` is built in or one of the tenant's own types.
    pub async fn event_type_exists(&self, tenant: &TenantId, name: &str) -> Result<bool, StoreError> {
        if crate::event_type::is_builtin(name) {
            return Ok(true);
        }
        // No catalog entry has a malformed name, and DynamoDB refuses an empty or oversized key outright.
        if crate::event_type::validate_name(name).is_err() {
            return Ok(false);
        }
        let key = HashMap::from([("tenant_id".into(), s(tenant.as_str())), ("name".into(), s(name))]);
        Ok(self.get::<EventTypeRecord>(&self.tables.event_types, key).await?.is_some())
    }

    /// All of the tenant's own event types, by name.
    pub async fn list_event_types(&self, tenant: &TenantId) -> Result<Vec<EventTypeRecord>, StoreError> {
        let part = Partition { table: &self.tables.event_types, index: None, sort_attr: "name", between: None };
        self.query_tenant(part, tenant, None, usize::MAX, |_| true).await
    }
}
