//! Parsers for argument values, so a bad date or bad JSON is a usage error
//! before anything is sent anywhere.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// The most days `--days` accepts: a century is beyond any retention.
pub const MAX_DAYS: u32 = 36_500;

/// A calendar date as `YYYY-MM-DD`.
pub fn date(raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| "not a calendar date as YYYY-MM-DD".to_owned())
}

/// A point in time as RFC 3339 (`2026-11-22T10:00:00Z`).
pub fn rfc3339(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "not an RFC 3339 time such as 2026-11-22T00:00:00Z".to_owned())
}

/// A day (`YYYY-MM-DD`, meaning its start in UTC) or an RFC 3339 time.
pub fn day_or_time(raw: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = date(raw) {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    rfc3339(raw).map_err(|_| "not a date (YYYY-MM-DD) or an RFC 3339 time (2026-11-22T00:00:00Z)".to_owned())
}

/// A JSON object, as `POST /v1/events` takes for `data`.
pub fn json_object(raw: &str) -> Result<serde_json::Value, String> {
    let value: serde_json::Value = serde_json::from_str(raw).map_err(|e| format!("not valid JSON: {e}"))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err("event data must be a JSON object, e.g. '{\"invoice\": \"INV-1\"}'".to_owned())
    }
}

/// The moment `days` days before `now`.
pub fn days_before(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now - Duration::days(i64::from(days))
}

/// A time for tables: seconds precision in UTC, or the text as given.
pub fn short_time(raw: &str) -> String {
    match DateTime::parse_from_rfc3339(raw) {
        Ok(t) => t.with_timezone(&Utc).format("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => raw.to_owned(),
    }
}

/// A time for sentences, e.g. `2026-11-22 10:00 UTC`.
pub fn human_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_dates_are_refused() {
        assert!(date("2026-13-45").is_err());
        assert!(date("yesterday").is_err());
        assert_eq!(date("2026-02-28").unwrap().to_string(), "2026-02-28");
    }

    #[test]
    fn since_takes_a_day_as_its_utc_midnight_or_a_full_time() {
        assert_eq!(day_or_time("2026-11-22").unwrap().to_rfc3339(), "2026-11-22T00:00:00+00:00");
        assert_eq!(day_or_time("2026-11-22T10:30:00+05:30").unwrap().to_rfc3339(), "2026-11-22T05:00:00+00:00");
        assert!(day_or_time("yesterday-ish").is_err());
    }

    #[test]
    fn event_data_must_be_a_json_object() {
        assert!(json_object("{nope").unwrap_err().starts_with("not valid JSON"));
        assert!(json_object("[1]").is_err());
        assert_eq!(json_object(r#"{"a": 1}"#).unwrap()["a"], 1);
    }

    #[test]
    fn table_times_drop_fractions_and_offsets() {
        assert_eq!(short_time("2026-11-22T10:00:00.123Z"), "2026-11-22 10:00:00");
        assert_eq!(short_time("soon"), "soon");
    }
}
