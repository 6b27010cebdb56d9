//! The `scheduled-summary` function: at midnight, every tenant's summary of
//! the day that ended, published as `system.daily.summary`.

use chrono::{DateTime, NaiveDate, Utc};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{json, Value};
use shared::aws::dynamo::Db;
use shared::aws::Clients;
use shared::config::Config;
use shared::ops::summary::{day_to_summarise, publish_all};

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

/// The day a run summarises, a calendar day in `zone` (`SummaryTimeZone`):
/// the input's `date` if that day has ended, else the last day that has.
pub fn day_of(event: &Value, now: DateTime<Utc>, zone: chrono_tz::Tz) -> Result<NaiveDate, Error> {
    let requested = match input(event, "date").and_then(Value::as_str) {
        Some(text) => {
            Some(NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("date `{text}` is not YYYY-MM-DD"))?)
        }
        None => None,
    };
    Ok(day_to_summarise(requested, now, zone)?)
}

/// When the schedule fired: the event's `time` (EventBridge sets it; a
/// late or retried invocation still covers the day it fired for), else now.
pub fn fired_at(event: &Value) -> DateTime<Utc> {
    event
        .get("time")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}

/// Publishes the summaries; `force` in the input sends a day again.
pub async fn handle(state: &SummaryState, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let zone = state.config.summary_time_zone;
    let date = day_of(&event.payload, fired_at(&event.payload), zone)?;
    let force = input(&event.payload, "force").and_then(Value::as_bool).unwrap_or(false);
    let runs = publish_all(&state.db, date, zone, force, state.config.retention_days).await?;
    let sent = runs.iter().filter(|r| r.sent).count();
    Ok(json!({"date": date, "time_zone": zone.name(), "tenants": runs.len(), "sent": sent}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_day_comes_from_the_input_or_is_the_last_one_that_ended() {
        let now = at("2026-11-22T09:00:00Z");
        let utc = chrono_tz::UTC;
        assert_eq!(day_of(&json!({"date": "2026-11-21"}), now, utc).unwrap().to_string(), "2026-11-21");
        assert_eq!(day_of(&json!({"detail": {"date": "2026-01-02"}}), now, utc).unwrap().to_string(), "2026-01-02");
        assert!(day_of(&json!({"date": "yesterday"}), now, utc).is_err());
        assert!(day_of(&json!({"date": "2026-11-22"}), now, utc).is_err(), "today has not ended");
        let scheduled = json!({"detail-type": "Scheduled Event", "detail": {}});
        let midnight_ist = at("2026-11-21T18:30:00Z");
        assert_eq!(day_of(&scheduled, midnight_ist, chrono_tz::Asia::Kolkata).unwrap().to_string(), "2026-11-21");
        assert_eq!(day_of(&scheduled, midnight_ist, utc).unwrap().to_string(), "2026-11-20");
        let late = json!({"time": "2026-11-21T18:30:00Z"});
        assert_eq!(fired_at(&late), midnight_ist, "a retried run keeps the day it fired for");
    }
}
