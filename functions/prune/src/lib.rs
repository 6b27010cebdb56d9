//! The `prune` function: every day, delete what TTL missed past retention.

use chrono::{Duration, Utc};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use shared::aws::dynamo::Db;
use shared::aws::Clients;
use shared::config::Config;
use shared::ops::prune::{prune, TTL_GRACE_DAYS};

/// Built once per cold start.
pub struct PruneState {
    pub config: Config,
    pub db: Db,
}

impl PruneState {
    pub fn new(config: Config, clients: &Clients) -> Self {
        let db = Db::new(clients.dynamodb.clone(), config.tables.clone());
        Self { config, db }
    }
}

/// On schedule, deletes what TTL missed: records past the retention plus
/// a grace period. The input's `days` deletes what is older than that now
/// (each delete is a paid write); `dry_run` only counts.
pub async fn handle(state: &PruneState, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let field = |k: &str| event.payload.get(k).or_else(|| event.payload.get("detail").and_then(|d| d.get(k)));
    let days = match field("days").and_then(Value::as_u64) {
        Some(days) => days.max(1),
        None => u64::from(state.config.retention_days + TTL_GRACE_DAYS),
    };
    let dry_run = field("dry_run").and_then(Value::as_bool).unwrap_or(false);
    let report = prune(&state.db, Utc::now() - Duration::days(days as i64), dry_run, &|_| {}).await?;
    tracing::info!(?report, days, dry_run, "pruned");
    Ok(serde_json::to_value(report)?)
}
