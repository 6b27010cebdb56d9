//! `hookline events list` and `hookline events show`: the event log, and
//! where one event went, through the HTTP API.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::api::Api;
use super::args::short_time;
use super::endpoints::field;
use super::output::{count, pairs, table, Output};
use super::Failure;
use shared::ids::EventId;

/// What `events list` narrows the log to.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub event_type: Option<String>,
    pub correlation_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: u32,
}

/// Lists events, newest first.
pub async fn list(f: ListFilter, api: &Api, out: &Output) -> Result<(), Failure> {
    let mut q = vec![("limit", f.limit.to_string())];
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    q.extend(f.event_type.map(|t| ("type", t)));
    q.extend(f.correlation_id.map(|c| ("correlation_id", c)));
    q.extend(f.since.map(|t| ("since", time(t))));
    q.extend(f.until.map(|t| ("until", time(t))));
    let page = api.get(&["v1", "events"], &q).await?;
    let items = page.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
    out.json(&items)?;
    if items.is_empty() {
        return out.text("No events.\n");
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|e| {
            vec![field(e, "id"), field(e, "type"), short_time(&field(e, "created_at")), field(e, "correlation_id")]
        })
        .collect();
    out.text(&table(&["ID", "TYPE", "CREATED", "CORRELATION ID"], &rows))?;
    let more = if page.get("next_cursor").is_some_and(|c| !c.is_null()) { " (more: raise --limit)" } else { "" };
    out.text(&format!("{}{more}\n", count(items.len(), "event", "events")))
}

/// Shows one event and every delivery it fanned out to.
pub async fn show(id: EventId, api: &Api, out: &Output) -> Result<(), Failure> {
    let v = api.get(&["v1", "events", id.as_str()], &[]).await?;
    out.json(&v)?;
    let inbound = match v.get("inbound").filter(|i| i.is_object()) {
        Some(i) => format!("{} from source {} ({})", field(i, "id"), field(i, "source"), field(i, "status")),
        None => "-".into(),
    };
    out.text(&pairs(&[
        ("id", field(&v, "id")),
        ("type", field(&v, "type")),
        ("created", short_time(&field(&v, "created_at"))),
        ("correlation id", field(&v, "correlation_id")),
        ("inbound webhook", inbound),
        ("data", v.get("data").map(Value::to_string).unwrap_or_default()),
    ]))?;
    let deliveries = v.get("deliveries").and_then(Value::as_array).cloned().unwrap_or_default();
    if deliveries.is_empty() {
        return out.text("\nNo deliveries: no endpoint wanted it.\n");
    }
    let rows: Vec<Vec<String>> = deliveries
        .iter()
        .map(|d| {
            let answer = match field(d, "last_status_code") {
                code if code != "-" => code,
                _ => field(d, "last_error_kind"),
            };
            vec![
                field(d, "id"),
                field(d, "endpoint_id"),
                field(d, "endpoint_url"),
                field(d, "status"),
                field(d, "attempts"),
                answer,
            ]
        })
        .collect();
    out.text(&format!("\n{}", table(&["DELIVERY", "ENDPOINT", "URL", "STATUS", "ATTEMPTS", "LAST ANSWER"], &rows)))
}
