//! DynamoDB's Time to Live, played locally: moto keeps expired items
//! forever, while a deployed stack relies on TTL for its retention (the
//! scheduled prune only sweeps what TTL missed). Every table the template
//! gives a `TimeToLiveSpecification` is swept now and then, and each item
//! whose TTL attribute (epoch seconds) has passed is deleted, as the
//! service does: without any function's role, and only if it is still
//! expired when deleted.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use serde_yaml::Value;

use super::template::{get, Template};

/// How often expired items are looked for by default (AWS: within days; here sooner).
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// A table with TTL on: its name here, its key attributes and its TTL attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtlTable {
    pub name: String,
    pub keys: Vec<String>,
    pub attribute: String,
}

/// The tables of `template` with TTL enabled, named as `hookline dev` names them.
pub fn tables(template: &Template, stack: &str) -> Vec<TtlTable> {
    let text = |v: &Value, k: &str| get(v, k).and_then(Value::as_str).map(str::to_owned);
    template
        .of_type("AWS::DynamoDB::Table")
        .filter_map(|(id, res)| {
            let p = &res.properties;
            let ttl = get(p, "TimeToLiveSpecification")?;
            if get(ttl, "Enabled").and_then(Value::as_bool) != Some(true) {
                return None;
            }
            let keys = get(p, "KeySchema")?.as_sequence()?.iter().filter_map(|k| text(k, "AttributeName")).collect();
            Some(TtlTable { name: format!("{stack}-{id}"), keys, attribute: text(ttl, "AttributeName")? })
        })
        .collect()
}

/// Deletes the expired items of one table; returns how many went.
pub async fn sweep(client: &Client, table: &TtlTable, now: i64) -> Result<u64, String> {
    let now = AttributeValue::N(now.to_string());
    let mut deleted = 0;
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&table.name)
            .filter_expression("#ttl < :now")
            .expression_attribute_names("#ttl", &table.attribute)
            .expression_attribute_values(":now", now.clone())
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| format!("scan {}: {e:?}", table.name))?;
        for item in page.items.unwrap_or_default() {
            let key = table.keys.iter().filter_map(|k| Some((k.clone(), item.get(k)?.clone()))).collect();
            let gone = client
                .delete_item()
                .table_name(&table.name)
                .set_key(Some(key))
                .condition_expression("#ttl < :now")
                .expression_attribute_names("#ttl", &table.attribute)
                .expression_attribute_values(":now", now.clone())
                .send()
                .await;
            // A condition that no longer holds: the item was written again meanwhile.
            if gone.is_ok() {
                deleted += 1;
            }
        }
        match page.last_evaluated_key {
            Some(k) => start = Some(k),
            None => return Ok(deleted),
        }
    }
}

/// Sweeps every TTL table every `interval` until the platform stops.
pub async fn run(client: Client, tables: Vec<TtlTable>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let now = chrono::Utc::now().timestamp();
        for table in &tables {
            match sweep(&client, table, now).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(table = %table.name, deleted = n, "TTL removed expired items"),
                Err(e) => tracing::warn!(table = %table.name, error = %e, "TTL sweep failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projects_log_tables_have_ttl() {
        let template =
            Template::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")))
                .expect("template.yaml");
        let found = tables(&template, "s");
        let names: Vec<&str> = found.iter().map(|t| t.name.as_str()).collect();
        for table in
            ["s-EventsTable", "s-DeliveriesTable", "s-IdempotencyTable", "s-InboundTable", "s-InboundDedupeTable"]
        {
            assert!(names.contains(&table), "{table} in {names:?}");
        }
        let deliveries = found.iter().find(|t| t.name == "s-DeliveriesTable").unwrap();
        assert_eq!(deliveries.keys, ["tenant_id", "delivery_key"]);
        assert_eq!(deliveries.attribute, "expires_at");
    }
}
