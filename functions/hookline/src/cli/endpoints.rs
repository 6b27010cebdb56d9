//! `hookline endpoints …` and `hookline sources …`: what receives and what
//! sends webhooks, through the HTTP API.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::api::Api;
use super::args::short_time;
use super::output::{count, pairs, table, Output};
use super::Failure;
use shared::ids::EndpointId;

/// `hookline endpoints …`
#[derive(Subcommand, Debug)]
pub enum EndpointsCommand {
    /// List the tenant's endpoints.
    List,
    /// Show one endpoint (its secret masked).
    Get {
        /// The endpoint (ep_…).
        id: EndpointId,
    },
    /// Create an endpoint; prints its signing secret, in full only this once.
    Create {
        /// Where deliveries are POSTed (https://…).
        #[arg(long)]
        url: String,
        /// An event type to subscribe to: exact, `prefix.*` or `*` (repeatable).
        #[arg(long = "event-type", value_name = "TYPE", required = true)]
        event_types: Vec<String>,
        /// A name for people [default: the URL's host].
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        options: DeliveryOptions,
    },
    /// Change an endpoint's delivery format, retry schedule or rate limit.
    Update {
        /// The endpoint (ep_…).
        id: EndpointId,
        #[command(flatten)]
        options: DeliveryOptions,
        /// Remove the extra signature header.
        #[arg(long, conflicts_with = "signature_header")]
        clear_signature: bool,
        /// Return to the default retry schedule.
        #[arg(long, conflicts_with = "retry_schedule")]
        clear_retry_schedule: bool,
        /// Remove the rate limit.
        #[arg(long, conflicts_with = "rate_limit")]
        clear_rate_limit: bool,
    },
    /// Resume deliveries to a paused or disabled endpoint (parked ones are sent).
    Enable {
        /// The endpoint (ep_…).
        id: EndpointId,
    },
    /// Stop deliveries to an endpoint.
    Disable {
        /// The endpoint (ep_…).
        id: EndpointId,
        /// Why, kept with the endpoint [default: "disabled by an operator"].
        #[arg(long)]
        reason: Option<String>,
    },
    /// Delete an endpoint.
    Delete {
        /// The endpoint (ep_…).
        id: EndpointId,
    },
}

/// How requests to an endpoint look and are paced (see the API's endpoint fields).
#[derive(Args, Debug, Default)]
pub struct DeliveryOptions {
    /// The body's shape: standard, event, event-meta or data.
    #[arg(long)]
    envelope: Option<String>,
    /// One more signature header in the consumer's format, e.g. X-C4HXP-Signature.
    #[arg(long, value_name = "NAME")]
    signature_header: Option<String>,
    /// What it signs: body or timestamp.body [default: body].
    #[arg(long, requires = "signature_header", value_name = "CONTENT")]
    signature_content: Option<String>,
    /// hex or base64 [default: hex].
    #[arg(long, requires = "signature_header", value_name = "ENCODING")]
    signature_encoding: Option<String>,
    /// Text before the digest, e.g. sha256= [default: none].
    #[arg(long, requires = "signature_header", value_name = "TEXT")]
    signature_prefix: Option<String>,
    /// Seconds before each retry, comma-separated (e.g. 60,300,1800); their count is the retry count.
    #[arg(long, value_delimiter = ',', value_name = "SECONDS")]
    retry_schedule: Option<Vec<i64>>,
    /// Most attempts started per second (1 to 1000).
    #[arg(long, value_name = "N")]
    rate_limit: Option<i64>,
}

impl DeliveryOptions {
    /// The fields these flags set, merged into `body`.
    fn apply(self, body: &mut Value) {
        if let Some(e) = self.envelope {
            body["envelope"] = json!(e);
        }
        if let Some(header) = self.signature_header {
            let mut spec = json!({ "header": header });
            for (key, value) in [
                ("content", self.signature_content),
                ("encoding", self.signature_encoding),
                ("prefix", self.signature_prefix),
            ] {
                if let Some(v) = value {
                    spec[key] = json!(v);
                }
            }
            body["signature"] = spec;
        }
        if let Some(schedule) = self.retry_schedule {
            body["retry_schedule_seconds"] = json!(schedule);
        }
        if let Some(limit) = self.rate_limit {
            body["rate_limit_per_second"] = json!(limit);
        }
    }
}

/// `hookline sources …`
#[derive(Subcommand, Debug)]
pub enum SourcesCommand {
    /// List the tenant's inbound sources.
    List,
    /// Show one source (its secret masked).
    Get {
        /// The source's slug, as in /api/v1/webhooks/{slug}.
        slug: String,
    },
}

/// Text of a field, `-` when absent or null.
pub fn field(v: &Value, key: &str) -> String {
    match v.get(key) {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) if s.is_empty() => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).unwrap_or_else(|| i.to_string()))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// Yes/no for a boolean field.
fn yes_no(v: &Value, key: &str) -> String {
    if v.get(key).and_then(Value::as_bool).unwrap_or(false) { "yes" } else { "no" }.into()
}

fn endpoint_status(v: &Value) -> String {
    match v.get("status_reason").and_then(Value::as_str) {
        Some(reason) if !reason.is_empty() => format!("{} ({reason})", field(v, "status")),
        _ => field(v, "status"),
    }
}

/// `X-C4HXP-Signature: sha256= + hex HMAC(body)`, or `-`.
fn signature_text(v: &Value) -> String {
    let Some(spec) = v.get("signature").filter(|s| s.is_object()) else {
        return "-".into();
    };
    let content = if field(spec, "content") == "timestamp.body" { "timestamp.body" } else { "body" };
    let prefix = match field(spec, "prefix") {
        p if p == "-" => String::new(),
        p => format!("{p} + "),
    };
    format!("{}: {prefix}{} HMAC({content})", field(spec, "header"), field(spec, "encoding"))
}

fn schedule_text(v: &Value) -> String {
    match field(v, "retry_schedule_seconds") {
        s if s == "-" => "default".into(),
        s => format!("{s} s"),
    }
}

fn rate_text(v: &Value) -> String {
    match field(v, "rate_limit_per_second") {
        r if r == "-" => "none".into(),
        r => format!("{r} per second"),
    }
}

fn endpoint_details(v: &Value) -> String {
    pairs(&[
        ("id", field(v, "id")),
        ("name", field(v, "name")),
        ("url", field(v, "url")),
        ("status", endpoint_status(v)),
        ("event types", field(v, "event_types")),
        ("description", field(v, "description")),
        ("retry policy", format!("{}, up to {} retries", field(v, "retry_policy"), field(v, "max_retries"))),
        ("timeout", format!("{} s", field(v, "timeout_seconds"))),
        ("legacy signature", yes_no(v, "legacy_signature")),
        ("signature header", signature_text(v)),
        ("body shape", field(v, "envelope")),
        ("retry schedule", schedule_text(v)),
        ("rate limit", rate_text(v)),
        ("secret", field(v, "secret")),
        ("created", short_time(&field(v, "created_at"))),
        ("updated", short_time(&field(v, "updated_at"))),
    ])
}

/// Runs an endpoints command.
pub async fn endpoints(command: EndpointsCommand, api: &Api, out: &Output) -> Result<(), Failure> {
    match command {
        EndpointsCommand::List => {
            let items = api.list_all(&["v1", "endpoints"], &[]).await?;
            out.json(&items)?;
            if items.is_empty() {
                return out.text("No endpoints.\n");
            }
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|e| {
                    vec![field(e, "id"), field(e, "name"), field(e, "status"), field(e, "url"), field(e, "event_types")]
                })
                .collect();
            out.text(&table(&["ID", "NAME", "STATUS", "URL", "EVENT TYPES"], &rows))?;
            out.text(&format!("{}\n", count(items.len(), "endpoint", "endpoints")))
        }
        EndpointsCommand::Get { id } => {
            let v = api.get(&["v1", "endpoints", id.as_str()], &[]).await?;
            out.json(&v)?;
            out.text(&endpoint_details(&v))
        }
        EndpointsCommand::Create { url, event_types, name, options } => {
            let mut body = json!({ "url": url, "event_types": event_types });
            if let Some(n) = name {
                body["name"] = Value::String(n);
            }
            options.apply(&mut body);
            let v = api.post(&["v1", "endpoints"], Some(&body)).await?;
            out.json(&v)?;
            out.text(&endpoint_details(&v))?;
            out.text(
                "\nKeep the secret now: it is shown in full only here, by rotate-secret and by the secret route.\n",
            )
        }
        EndpointsCommand::Update { id, options, clear_signature, clear_retry_schedule, clear_rate_limit } => {
            let mut body = json!({});
            options.apply(&mut body);
            for (clear, key) in [
                (clear_signature, "signature"),
                (clear_retry_schedule, "retry_schedule_seconds"),
                (clear_rate_limit, "rate_limit_per_second"),
            ] {
                if clear {
                    body[key] = Value::Null;
                }
            }
            if body.as_object().is_some_and(|o| o.is_empty()) {
                return Err(Failure::new(
                    "nothing to change: give at least one option (hookline endpoints update --help)",
                ));
            }
            let v = api.patch(&["v1", "endpoints", id.as_str()], &body).await?;
            out.json(&v)?;
            out.text(&endpoint_details(&v))
        }
        EndpointsCommand::Enable { id } => {
            let v = api.post(&["v1", "endpoints", id.as_str(), "enable"], None).await?;
            out.json(&v)?;
            out.text(&format!("{id} is {}; parked deliveries are on their way.\n", field(&v, "status")))
        }
        EndpointsCommand::Disable { id, reason } => {
            let body = match reason {
                Some(r) => json!({ "reason": r }),
                None => json!({}),
            };
            let v = api.post(&["v1", "endpoints", id.as_str(), "disable"], Some(&body)).await?;
            out.json(&v)?;
            out.text(&format!("{id} is {}.\n", endpoint_status(&v)))
        }
        EndpointsCommand::Delete { id } => {
            api.delete(&["v1", "endpoints", id.as_str()]).await?;
            out.json(&json!({ "deleted": id }))?;
            out.text(&format!("Deleted {id}.\n"))
        }
    }
}

fn source_details(v: &Value) -> String {
    pairs(&[
        ("slug", field(v, "slug")),
        ("name", field(v, "name")),
        ("auth type", field(v, "auth_type")),
        ("enabled", yes_no(v, "enabled")),
        ("receive path", field(v, "receive_path")),
        ("event type", field(v, "event_type")),
        ("event type pointer", field(v, "event_type_pointer")),
        ("dedupe key", field(v, "dedupe_key")),
        ("dedupe window", format!("{} s", field(v, "dedupe_window_seconds"))),
        ("tolerance", format!("{} s", field(v, "tolerance_seconds"))),
        ("secret", field(v, "secret")),
        ("created", short_time(&field(v, "created_at"))),
        ("updated", short_time(&field(v, "updated_at"))),
    ])
}

/// Runs a sources command.
pub async fn sources(command: SourcesCommand, api: &Api, out: &Output) -> Result<(), Failure> {
    match command {
        SourcesCommand::List => {
            let items = api.list_all(&["v1", "sources"], &[]).await?;
            out.json(&items)?;
            if items.is_empty() {
                return out.text("No sources.\n");
            }
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|s| {
                    let event_type = match field(s, "event_type") {
                        t if t != "-" => t,
                        _ => field(s, "event_type_pointer"),
                    };
                    vec![field(s, "slug"), field(s, "name"), field(s, "auth_type"), yes_no(s, "enabled"), event_type]
                })
                .collect();
            out.text(&table(&["SLUG", "NAME", "AUTH", "ENABLED", "EVENT TYPE"], &rows))?;
            out.text(&format!("{}\n", count(items.len(), "source", "sources")))
        }
        SourcesCommand::Get { slug } => {
            let v = api.get(&["v1", "sources", &slug], &[]).await?;
            out.json(&v)?;
            out.text(&source_details(&v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_render_lists_nulls_and_numbers_for_people() {
        let v = json!({"a": ["x", "y"], "b": null, "c": 15, "d": ""});
        assert_eq!(field(&v, "a"), "x, y");
        assert_eq!(field(&v, "b"), "-");
        assert_eq!(field(&v, "c"), "15");
        assert_eq!(field(&v, "d"), "-");
        assert_eq!(field(&v, "missing"), "-");
    }

    #[test]
    fn delivery_options_read_as_sentences() {
        let v = json!({"signature": {"header": "X-C4HXP-Signature", "content": "body", "encoding": "hex", "prefix": "sha256="},
            "retry_schedule_seconds": [60, 300], "rate_limit_per_second": 5});
        assert_eq!(signature_text(&v), "X-C4HXP-Signature: sha256= + hex HMAC(body)");
        assert_eq!(schedule_text(&v), "60, 300 s");
        assert_eq!(rate_text(&v), "5 per second");
        let none = json!({"signature": null});
        assert_eq!(
            (signature_text(&none), schedule_text(&none), rate_text(&none)),
            ("-".into(), "default".into(), "none".into())
        );
    }

    #[test]
    fn a_status_shows_its_reason() {
        assert_eq!(endpoint_status(&json!({"status": "disabled", "status_reason": "gone"})), "disabled (gone)");
        assert_eq!(endpoint_status(&json!({"status": "active", "status_reason": null})), "active");
    }
}
