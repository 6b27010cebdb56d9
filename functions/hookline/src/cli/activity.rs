//! `hookline events …`, `hookline deliveries …` and `hookline stats`: what
//! was sent and how it went, through the HTTP API.

use std::path::PathBuf;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::api::{Api, ApiArgs};
use super::args::{json_object, rfc3339, short_time};
use super::endpoints::field;
use super::output::{count, pairs, table, Output};
use super::Failure;
use shared::ids::{DeliveryId, EndpointId, EventId};
use shared::ops::stats::Stats;

/// The statuses `?status=` accepts.
const STATUSES: [&str; 5] = ["pending", "retrying", "delivered", "failed", "parked"];

/// `hookline events …`
#[derive(Subcommand, Debug)]
pub enum EventsCommand {
    /// Publish an event to every subscribed endpoint, or every event of a file.
    Publish {
        /// A type from the event catalog, e.g. bill.paid.
        #[arg(long = "type", value_name = "TYPE", required_unless_present = "file")]
        event_type: Option<String>,
        /// The event's data: a JSON object, e.g. '{"invoice": "INV-1"}'.
        #[arg(long, value_name = "JSON", value_parser = json_object, required_unless_present = "file")]
        data: Option<Value>,
        /// Publishing again with the same key (within 24 h) delivers nothing new.
        #[arg(long, value_name = "KEY", conflicts_with = "file")]
        idempotency_key: Option<String>,
        /// Publish every line of a JSON Lines file instead (`-` reads stdin): one
        /// {"type", "data", "idempotency_key"?} object per line, up to 100 per request.
        #[arg(long, value_name = "PATH", conflicts_with_all = ["event_type", "data"])]
        file: Option<PathBuf>,
    },
    /// List the tenant's events, newest first.
    List {
        /// Only this type: exact, `prefix.*` or `*`.
        #[arg(long = "type", value_name = "TYPE")]
        event_type: Option<String>,
        /// Only events with this correlation id.
        #[arg(long, value_name = "ID")]
        correlation_id: Option<String>,
        /// Only events created at or after this RFC 3339 time.
        #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
        since: Option<DateTime<Utc>>,
        /// Only events created before this RFC 3339 time.
        #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
        until: Option<DateTime<Utc>>,
        /// How many, at most (1 to 250).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=250))]
        limit: u32,
    },
    /// Show one event: its data (masked), every delivery it went to, and the inbound webhook it came from.
    Show {
        /// The event (evt_…).
        id: EventId,
    },
}

/// `hookline deliveries …`
#[derive(Subcommand, Debug)]
pub enum DeliveriesCommand {
    /// List an endpoint's deliveries.
    List {
        /// The endpoint (ep_…).
        #[arg(long, value_name = "ID")]
        endpoint: EndpointId,
        /// Only deliveries in this state.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(STATUSES))]
        status: Option<String>,
        /// Only deliveries of events created since this RFC 3339 time.
        #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
        since: Option<DateTime<Utc>>,
    },
    /// Show one delivery with every attempt and its event's data (masked).
    Get {
        /// The delivery (dlv_…).
        id: DeliveryId,
    },
    /// Attempt a failed or delivered delivery once more.
    Retry {
        /// The delivery (dlv_…).
        id: DeliveryId,
    },
}

/// `hookline stats`
#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Count deliveries of events created since this RFC 3339 time [default: the API's window].
    #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
    pub since: Option<DateTime<Utc>>,
    #[command(flatten)]
    pub api: ApiArgs,
}

fn query_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Runs an events command.
pub async fn events(command: EventsCommand, api: &Api, out: &Output) -> Result<(), Failure> {
    match command {
        EventsCommand::Publish { file: Some(path), .. } => super::publish_file::publish_file(&path, api, out).await,
        EventsCommand::Publish { event_type, data, idempotency_key, file: None } => {
            let event_type = event_type.unwrap_or_default();
            let mut body = json!({ "type": event_type, "data": data.unwrap_or_else(|| json!({})) });
            if let Some(k) = idempotency_key {
                body["idempotency_key"] = Value::String(k);
            }
            let v = api.post(&["v1", "events"], Some(&body)).await?;
            out.json(&v)?;
            out.text(&format!("Published {} ({event_type}).\n", field(&v, "id")))
        }
        EventsCommand::List { event_type, correlation_id, since, until, limit } => {
            let filter = super::event_log::ListFilter { event_type, correlation_id, since, until, limit };
            super::event_log::list(filter, api, out).await
        }
        EventsCommand::Show { id } => super::event_log::show(id, api, out).await,
    }
}

fn last_code(d: &Value) -> String {
    field(d, "last_status_code")
}

fn delivery_details(d: &Value) -> String {
    pairs(&[
        ("id", field(d, "id")),
        ("event", field(d, "event_id")),
        ("event type", field(d, "event_type")),
        ("endpoint", field(d, "endpoint_id")),
        ("status", field(d, "status")),
        ("attempts", field(d, "attempts")),
        ("last status code", last_code(d)),
        ("next attempt", short_time(&field(d, "next_attempt_at"))),
        ("correlation id", field(d, "correlation_id")),
        ("created", short_time(&field(d, "created_at"))),
        ("updated", short_time(&field(d, "updated_at"))),
    ])
}

fn attempts_table(d: &Value) -> String {
    let attempts = d.get("attempt_log").and_then(Value::as_array).cloned().unwrap_or_default();
    if attempts.is_empty() {
        return "\nNo attempts yet.\n".into();
    }
    let rows: Vec<Vec<String>> = attempts
        .iter()
        .map(|a| {
            let answer = match a.get("status_code").and_then(Value::as_u64) {
                Some(code) => code.to_string(),
                None => field(a, "error_kind"),
            };
            vec![
                field(a, "attempt"),
                short_time(&field(a, "at")),
                format!("{} ms", field(a, "duration_ms")),
                answer,
                field(a, "outcome"),
                if a.get("manual").and_then(Value::as_bool).unwrap_or(false) { "manual" } else { "" }.into(),
            ]
        })
        .collect();
    format!("\n{}", table(&["#", "AT", "DURATION", "ANSWER", "OUTCOME", ""], &rows))
}

/// Runs a deliveries command.
pub async fn deliveries(command: DeliveriesCommand, api: &Api, out: &Output) -> Result<(), Failure> {
    match command {
        DeliveriesCommand::List { endpoint, status, since } => {
            let mut query = Vec::new();
            if let Some(s) = status {
                query.push(("status", s));
            }
            if let Some(t) = since {
                query.push(("since", query_time(t)));
            }
            let items = api.list_all(&["v1", "endpoints", endpoint.as_str(), "deliveries"], &query).await?;
            out.json(&items)?;
            if items.is_empty() {
                return out.text("No deliveries.\n");
            }
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|d| {
                    vec![
                        field(d, "id"),
                        field(d, "event_type"),
                        field(d, "status"),
                        field(d, "attempts"),
                        last_code(d),
                        short_time(&field(d, "created_at")),
                    ]
                })
                .collect();
            out.text(&table(&["DELIVERY", "EVENT TYPE", "STATUS", "ATTEMPTS", "LAST CODE", "CREATED"], &rows))?;
            out.text(&format!("{}\n", count(items.len(), "delivery", "deliveries")))
        }
        DeliveriesCommand::Get { id } => {
            let d = api.get(&["v1", "deliveries", id.as_str()], &[]).await?;
            out.json(&d)?;
            out.text(&delivery_details(&d))?;
            out.text(&attempts_table(&d))?;
            match d.get("data") {
                Some(data) if !data.is_null() => {
                    let pretty = serde_json::to_string_pretty(data).unwrap_or_else(|_| data.to_string());
                    out.text(&format!("\nData (masked):\n{pretty}\n"))
                }
                _ => out.text("\nData: pruned.\n"),
            }
        }
        DeliveriesCommand::Retry { id } => {
            let d = api.post(&["v1", "deliveries", id.as_str(), "retry"], None).await?;
            out.json(&d)?;
            out.text(&format!("Queued {id} for one more attempt (now {}).\n", field(&d, "status")))
        }
    }
}

fn stats_details(s: &Stats) -> String {
    let e = &s.endpoints;
    let d = &s.deliveries;
    let finished = d.delivered + d.failed;
    let success =
        if finished == 0 { "-".into() } else { format!("{:.1} %", 100.0 * d.delivered as f64 / finished as f64) };
    let mut rows = vec![
        ("since", s.since.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
        ("endpoints", format!("{} ({} active, {} paused, {} disabled)", e.total, e.active, e.paused, e.disabled)),
        ("deliveries", format!("{} ({} delivered, {} failed, {} pending)", d.total, d.delivered, d.failed, d.pending)),
        ("success rate", success),
        ("average duration", format!("{:.0} ms", d.average_duration_ms)),
    ];
    if let Some(src) = &s.sources {
        rows.push(("sources", format!("{} ({} enabled, {} disabled)", src.total, src.enabled, src.disabled)));
    }
    if let Some(i) = &s.inbound {
        let text = format!(
            "{} received ({} processed, {} duplicate, {} failed, {} pending)",
            i.received, i.processed, i.duplicate, i.failed, i.pending
        );
        rows.push(("inbound webhooks", text));
    }
    pairs(&rows)
}

/// Runs `hookline stats`.
pub async fn stats(args: &StatsArgs, api: &Api, out: &Output) -> Result<(), Failure> {
    let query: Vec<(&str, String)> = args.since.map(|t| ("since", query_time(t))).into_iter().collect();
    let v = api.get(&["v1", "stats"], &query).await?;
    out.json(&v)?;
    if out.json {
        return Ok(());
    }
    let stats: Stats =
        serde_json::from_value(v).map_err(|e| Failure::new(format!("GET /v1/stats: unexpected answer: {e}")))?;
    out.text(&stats_details(&stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::ops::stats::{DeliveryStats, EndpointStats};

    #[test]
    fn stats_read_as_sentences_with_a_success_rate() {
        let s = Stats {
            since: rfc3339("2026-11-22T00:00:00Z").unwrap(),
            endpoint_id: None,
            endpoints: EndpointStats { total: 3, active: 2, paused: 1, disabled: 0 },
            deliveries: DeliveryStats { total: 10, delivered: 6, failed: 2, pending: 2, average_duration_ms: 120.4 },
            hourly: Vec::new(),
            sources: Some(shared::ops::stats::SourceStats { total: 2, enabled: 1, disabled: 1 }),
            inbound: Some(shared::ops::stats::InboundStats {
                received: 9,
                processed: 6,
                duplicate: 1,
                failed: 1,
                pending: 1,
            }),
        };
        let text = stats_details(&s);
        assert!(text.contains("3 (2 active, 1 paused, 0 disabled)"), "{text}");
        assert!(text.contains("75.0 %") && text.contains("120 ms"), "{text}");
        assert!(text.contains("9 received (6 processed, 1 duplicate, 1 failed, 1 pending)"), "{text}");
        assert!(text.contains("2 (1 enabled, 1 disabled)"), "{text}");
    }

    #[test]
    fn attempts_show_the_error_kind_when_nothing_answered() {
        let d = json!({"attempt_log": [{"attempt": 1, "at": "2026-11-22T00:00:00Z", "duration_ms": 5,
            "status_code": null, "error_kind": "timeout", "outcome": "retry_scheduled", "manual": false}]});
        assert!(attempts_table(&d).contains("timeout"));
    }
}
