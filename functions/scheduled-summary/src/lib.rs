//! The `scheduled-summary` function: at midnight, every tenant's summary of
//! the day that ended, published as `system.daily.summary`.

use chrono::{Duration, NaiveDate, Utc};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{json, Value};
use shared::aws::dynamo::Db;
use shared::aws::Clients;
use shared::config::Config;
use shared::ops::summary::publish_all;

/// Built once per cold start.
pub struct SummaryState {
    pub config: Config,
    pub db: Db,
}

impl SummaryState {
    pub fn new(config: Config, clients: &Clients) -> Self {
        let db = Db::new(clients.dynamodb.clone(), config.tables.clone());
        Self { config, db }
    }
}

/// A field of the schedule's input, at the top or under `detail`.
pub fn input<'a>(event: &'a Value, key: &str) -> Option<&'a Value> {
    event.get(key).or_else(|| event.get("detail").and_then(|d| d.get(key)))
}

/// The day a run summarises: the input's `date`, else the day that just
/// ended. Half a day back from now names it whatever the schedule's time
/// zone; the day's bounds are UTC.
pub fn day_of(event: &Value) -> Result<NaiveDate, Error> {
    match input(event, "date").and_then(Value::as_str) {
        Some(text) => {
            Ok(NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("date `{text}` is not YYYY-MM-DD"))?)
        }
        None => Ok((Utc::now() - Duration::hours(12)).date_naive()),
    }
}

/// Publishes the summaries; `force` in the input sends a day again.
pub async fn handle(state: &SummaryState, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let date = day_of(&event.payload)?;
    let force = input(&event.payload, "force").and_then(Value::as_bool).unwrap_or(false);
    let runs = publish_all(&state.db, date, force, state.config.retention_days).await?;
    let sent = runs.iter().filter(|r| r.sent).count();
    Ok(json!({"date": date, "tenants": runs.len(), "sent": sent}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_comes_from_the_input_or_is_the_one_that_ended() {
        assert_eq!(day_of(&json!({"date": "2026-11-21"})).unwrap().to_string(), "2026-11-21");
        assert_eq!(day_of(&json!({"detail": {"date": "2026-01-02"}})).unwrap().to_string(), "2026-01-02");
        assert!(day_of(&json!({"date": "yesterday"})).is_err());
        let scheduled = json!({"detail-type": "Scheduled Event", "detail": {}});
        assert!(day_of(&scheduled).unwrap() <= Utc::now().date_naive());
    }
}
