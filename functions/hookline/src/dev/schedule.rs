//! EventBridge schedules: `rate(...)` and six-field `cron(...)` expressions
//! (UTC), fired on time and on demand (`POST /_dev/schedules/{name}`).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Datelike, Duration as ChronoDuration, Timelike, Utc};
use serde_json::{json, Value};

use super::functions::EventHandler;
use super::provision::{ACCOUNT, REGION};

/// When a schedule fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expression {
    Rate(Duration),
    Cron(Cron),
}

/// A parsed AWS cron: minutes hours day-of-month month day-of-week year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<u32>,
    hours: Vec<u32>,
    days: Option<Vec<u32>>,
    months: Vec<u32>,
    weekdays: Option<Vec<u32>>,
    years: Option<Vec<u32>>,
}

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(token: &str, names: &[&str], base: u32) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(token)) {
        return Ok(i as u32 + base);
    }
    token.parse().map_err(|_| format!("`{token}` is not a number"))
}

/// Expands one field; `None` for `*` or `?` (any value).
fn field(spec: &str, lo: u32, hi: u32, names: &[&str], base: u32) -> Result<Option<Vec<u32>>, String> {
    if spec == "*" || spec == "?" {
        return Ok(None);
    }
    let mut out = Vec::new();
    for part in spec.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| format!("bad step in `{part}`"))?.max(1)),
            None => (part, 1),
        };
        let (start, end) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a, names, base)?, value(b, names, base)?),
                None if part.contains('/') => (value(r, names, base)?, hi),
                None => {
                    let v = value(r, names, base)?;
                    (v, v)
                }
            },
        };
        if start < lo || end > hi || start > end {
            return Err(format!("`{part}` is outside {lo}-{hi} (L, W and # are not supported locally)"));
        }
        out.extend((start..=end).step_by(step as usize));
    }
    out.sort_unstable();
    out.dedup();
    Ok(Some(out))
}

impl Expression {
    /// Parses `rate(5 minutes)` or `cron(0 0 * * ? *)`.
    pub fn parse(expr: &str) -> Result<Self, String> {
        let expr = expr.trim();
        if let Some(inner) = expr.strip_prefix("rate(").and_then(|s| s.strip_suffix(')')) {
            let (n, unit) = inner.trim().split_once(' ').ok_or_else(|| format!("bad rate `{expr}`"))?;
            let n: u64 = n.parse().map_err(|_| format!("bad rate `{expr}`"))?;
            let secs = match unit.trim_end_matches('s') {
                "minute" => 60,
                "hour" => 3600,
                "day" => 86_400,
                _ => return Err(format!("bad rate unit in `{expr}`")),
            };
            return Ok(Self::Rate(Duration::from_secs(n.max(1) * secs)));
        }
        let inner = expr
            .strip_prefix("cron(")
            .and_then(|s| s.strip_suffix(')'))
            .ok_or_else(|| format!("`{expr}` is neither rate() nor cron()"))?;
        let f: Vec<&str> = inner.split_whitespace().collect();
        if f.len() != 6 {
            return Err(format!("`{expr}` needs six fields"));
        }
        let all = |lo, hi| (lo..=hi).collect::<Vec<u32>>();
        Ok(Self::Cron(Cron {
            minutes: field(f[0], 0, 59, &[], 0)?.unwrap_or_else(|| all(0, 59)),
            hours: field(f[1], 0, 23, &[], 0)?.unwrap_or_else(|| all(0, 23)),
            days: field(f[2], 1, 31, &[], 0)?,
            months: field(f[3], 1, 12, &MONTHS, 1)?.unwrap_or_else(|| all(1, 12)),
            weekdays: field(f[4], 1, 7, &WEEKDAYS, 1)?,
            years: field(f[5], 1970, 2199, &[], 0)?,
        }))
    }

    /// The first firing strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Rate(d) => Some(after + ChronoDuration::from_std(*d).ok()?),
            Self::Cron(c) => {
                let mut t = after.with_second(0)?.with_nanosecond(0)? + ChronoDuration::minutes(1);
                // Minute steps for at most a little over a year; every
                // expression AWS accepts fires within that.
                for _ in 0..(60 * 24 * 370) {
                    if c.matches(t) {
                        return Some(t);
                    }
                    t += ChronoDuration::minutes(1);
                }
                None
            }
        }
    }
}

impl Cron {
    fn matches(&self, t: DateTime<Utc>) -> bool {
        let weekday = t.weekday().num_days_from_sunday() + 1;
        self.minutes.contains(&t.minute())
            && self.hours.contains(&t.hour())
            && self.months.contains(&t.month())
            && self.days.as_ref().is_none_or(|d| d.contains(&t.day()))
            && self.weekdays.as_ref().is_none_or(|w| w.contains(&weekday))
            && self.years.as_ref().is_none_or(|y| y.contains(&(t.year() as u32)))
    }
}

/// One schedule wired to one function.
#[derive(Clone)]
pub struct Schedule {
    pub name: String,
    pub function: String,
    pub expression_text: String,
    pub expression: Expression,
    pub input: Option<Value>,
    pub enabled: bool,
    pub handler: EventHandler,
    pub timeout: Duration,
}

/// Every schedule of the stack, by name (`Function.EventName`).
#[derive(Default)]
pub struct Schedules {
    by_name: BTreeMap<String, Schedule>,
}

impl Schedules {
    pub fn new(list: Vec<Schedule>) -> Self {
        Self { by_name: list.into_iter().map(|s| (s.name.clone(), s)).collect() }
    }

    pub fn list(&self) -> impl Iterator<Item = &Schedule> {
        self.by_name.values()
    }

    /// Name, expression and next firing of each schedule.
    pub fn describe(&self) -> Vec<Value> {
        let now = Utc::now();
        self.list()
            .map(|s| {
                json!({
                    "name": s.name,
                    "function": s.function,
                    "expression": s.expression_text,
                    "enabled": s.enabled,
                    "next": s.expression.next_after(now).map(|t| t.to_rfc3339()),
                })
            })
            .collect()
    }

    /// Invokes a schedule's function now, as EventBridge would, or with
    /// `input` as the event.
    pub async fn fire(&self, name: &str, input: Option<Value>) -> Result<Value, String> {
        let s = self.by_name.get(name).ok_or_else(|| format!("no schedule named {name}"))?;
        fire(s, input).await
    }
}

/// The EventBridge scheduled event (or the schedule's fixed `Input`).
pub fn scheduled_event(s: &Schedule, at: DateTime<Utc>) -> Value {
    if let Some(input) = &s.input {
        let text = input.as_str().map(str::to_owned).unwrap_or_else(|| input.to_string());
        if let Ok(v) = serde_json::from_str(&text) {
            return v;
        }
    }
    json!({
        "version": "0",
        "id": hex::encode(shared::ids::random_bytes::<16>()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{}", s.name)],
        "detail": {},
    })
}

async fn fire(s: &Schedule, input: Option<Value>) -> Result<Value, String> {
    let event = input.unwrap_or_else(|| scheduled_event(s, Utc::now()));
    match tokio::time::timeout(s.timeout, (s.handler)(event)).await {
        Ok(result) => result,
        Err(_) => Err(format!("{} timed out after {:?}", s.function, s.timeout)),
    }
}

/// Fires one schedule on time until the task is dropped.
pub async fn run(s: Schedule) {
    loop {
        let now = Utc::now();
        let Some(next) = s.expression.next_after(now) else {
            return;
        };
        tokio::time::sleep((next - now).to_std().unwrap_or_default()).await;
        match fire(&s, None).await {
            Ok(_) => tracing::info!(schedule = %s.name, "schedule fired"),
            Err(e) => {
                tracing::error!(schedule = %s.name, error = %e, "scheduled invocation failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn midnight_cron_fires_at_the_next_midnight() {
        let e = Expression::parse("cron(0 0 * * ? *)").unwrap();
        assert_eq!(e.next_after(at("2026-11-22T10:35:00Z")), Some(at("2026-11-23T00:00:00Z")));
        assert_eq!(e.next_after(at("2026-11-22T23:59:59Z")), Some(at("2026-11-23T00:00:00Z")));
    }

    #[test]
    fn every_six_hours_and_weekday_names_work() {
        let e = Expression::parse("cron(0 */6 * * ? *)").unwrap();
        assert_eq!(e.next_after(at("2026-11-22T10:35:00Z")), Some(at("2026-11-22T12:00:00Z")));
        // 2026-11-22 is a Sunday; MON-FRI skips to Monday.
        let weekdays = Expression::parse("cron(30 9 ? * MON-FRI *)").unwrap();
        assert_eq!(weekdays.next_after(at("2026-11-22T10:35:00Z")), Some(at("2026-11-23T09:30:00Z")));
    }

    #[test]
    fn rates_add_their_period() {
        let e = Expression::parse("rate(6 hours)").unwrap();
        assert_eq!(e.next_after(at("2026-11-22T00:00:00Z")), Some(at("2026-11-22T06:00:00Z")));
        assert_eq!(Expression::parse("rate(1 minute)").unwrap(), Expression::Rate(Duration::from_secs(60)));
    }

    #[test]
    fn unsupported_expressions_are_reported() {
        for bad in ["cron(0 0 * *)", "cron(0 0 L * ? *)", "rate(5 fortnights)", "every day", "cron(61 0 * * ? *)"] {
            assert!(Expression::parse(bad).is_err(), "{bad}");
        }
    }
}
