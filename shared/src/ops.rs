//! Operations shared by the scheduled functions, the admin API and the
//! `hookline` CLI: daily summaries, pruning, endpoint health, stats, and
//! bulk retries and replays.

pub mod health;
pub mod prune;
pub mod replay;
pub mod stats;
pub mod summary;

use std::collections::BTreeSet;

use crate::aws::dynamo::Db;
use crate::aws::StoreError;
use crate::ids::TenantId;

impl Db {
    /// Every tenant with an API key, an endpoint or a source.
    pub async fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let mut found = BTreeSet::new();
        for table in [&self.tables.api_keys, &self.tables.endpoints, &self.tables.sources] {
            let mut start = None;
            loop {
                let out = self
                    .client
                    .scan()
                    .table_name(table)
                    .projection_expression("tenant_id")
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| StoreError::aws("dynamodb Scan", e))?;
                for item in out.items.unwrap_or_default() {
                    if let Some(t) = item.get("tenant_id").and_then(|v| v.as_s().ok()).and_then(|t| t.parse().ok()) {
                        found.insert(t);
                    }
                }
                match out.last_evaluated_key {
                    Some(k) => start = Some(k),
                    None => break,
                }
            }
        }
        Ok(found.into_iter().collect())
    }
}
