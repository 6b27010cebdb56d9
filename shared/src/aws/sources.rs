//! Sources, keyed by their global slug; tenant-scoped reads check the owner.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::dynamo::{s, to_item, unless_condition_failed, Db, Partition};
use super::StoreError;
use crate::ids::TenantId;
use crate::source::SourceRecord;

/// The index of sources by tenant (see template.yaml).
pub const SOURCES_BY_TENANT: &str = "by_tenant";

impl Db {
    /// Stores a new source; `Conflict` when the slug is taken (by anyone).
    pub async fn create_source(&self, record: &SourceRecord) -> Result<(), StoreError> {
        self.put_new(&self.tables.sources, "slug", record).await
    }

    /// The source behind a public receive URL, whatever its tenant.
    pub async fn source_by_slug(&self, slug: &str) -> Result<Option<SourceRecord>, StoreError> {
        // No source has a malformed slug, and DynamoDB refuses an empty or oversized key outright.
        if crate::source::validate_slug(slug).is_err() {
            return Ok(None);
        }
        self.get(&self.tables.sources, HashMap::from([("slug".to_owned(), s(slug))])).await
    }

    /// One of the tenant's sources; another tenant's looks absent.
    pub async fn get_source(&self, tenant: &TenantId, slug: &str) -> Result<Option<SourceRecord>, StoreError> {
        Ok(self.source_by_slug(slug).await?.filter(|r| &r.tenant_id == tenant))
    }

    /// All of the tenant's sources, by slug.
    pub async fn list_sources(&self, tenant: &TenantId) -> Result<Vec<SourceRecord>, StoreError> {
        let part =
            Partition { table: &self.tables.sources, index: Some(SOURCES_BY_TENANT), sort_attr: "slug", between: None };
        self.query_tenant(part, tenant, None, usize::MAX, |_| true).await
    }

    /// Replaces a source still at `expected_version` and still the tenant's.
    pub async fn replace_source(&self, record: &SourceRecord, expected_version: u64) -> Result<(), StoreError> {
        let written = self
            .client
            .put_item()
            .table_name(&self.tables.sources)
            .set_item(Some(to_item(record)?))
            .condition_expression("version = :v AND tenant_id = :t")
            .expression_attribute_values(":v", AttributeValue::N(expected_version.to_string()))
            .expression_attribute_values(":t", s(record.tenant_id.as_str()))
            .send()
            .await;
        unless_condition_failed(written, "dynamodb PutItem")?.map(|_| ()).ok_or(StoreError::Conflict)
    }

    /// Deletes one of the tenant's sources; false when it has none by that slug.
    pub async fn delete_source(&self, tenant: &TenantId, slug: &str) -> Result<bool, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.tables.sources)
            .key("slug", s(slug))
            .condition_expression("tenant_id = :t")
            .expression_attribute_values(":t", s(tenant.as_str()))
            .send()
            .await;
        Ok(unless_condition_failed(deleted, "dynamodb DeleteItem")?.is_some())
    }
}
