//! Received inbound webhooks: the stored record, its dedupe claim, the queue
//! message, and the mapping of a webhook to an internal event.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::crypto::SecretBox;
use crate::event::MAX_STORED_PAYLOAD_BYTES;
use crate::event_type::validate_name;
use crate::ids::{EventId, InboundId, TenantId};
use crate::source::SourceRecord;

pub mod body;

/// Largest inbound body accepted.
pub const MAX_INBOUND_BYTES: usize = 256 * 1024;
/// Most of a masked body kept for display.
pub const MASKED_BODY_BYTES: usize = 16 * 1024;
/// Longest failure reason stored on a record.
pub const MAX_FAILURE_REASON_BYTES: usize = 1024;
/// Headers kept per record, and the bytes of each name and value.
pub const KEPT_HEADERS: usize = 50;
const KEPT_HEADER_NAME_BYTES: usize = 128;
const KEPT_HEADER_VALUE_BYTES: usize = 512;

/// Headers never stored: credentials and signatures.
const SECRET_HEADERS: &[&str] =
    &["authorization", "cookie", "proxy-authorization", "stripe-signature", "x-shopify-hmac-sha256"];

/// Where an inbound webhook stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InboundStatus {
    /// Stored and queued for processing.
    Received,
    /// Published as an internal event.
    Processed,
    /// Could not become an event; see `failure_reason`. Replayable.
    Failed,
    /// The same dedupe key arrived within the window; not processed again.
    Duplicate,
}

impl InboundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Processed => "processed",
            Self::Failed => "failed",
            Self::Duplicate => "duplicate",
        }
    }
}

/// The answer to a provider's `POST /api/v1/webhooks/{slug}`: 202 for a new
/// webhook, 200 for a repeat of one (the first one's id and correlation id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptView {
    /// `inb_…`
    pub id: String,
    /// `received` or `duplicate`.
    pub status: InboundStatus,
    /// Carried to every event and delivery this webhook causes; also sent as `X-Correlation-Id`.
    pub correlation_id: String,
}

/// One received webhook as stored. The raw body is sealed (it is replayed
/// byte for byte); a masked copy is kept for people to read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundRecord {
    pub tenant_id: TenantId,
    pub inbound_id: InboundId,
    pub source_slug: String,
    pub status: InboundStatus,
    pub correlation_id: String,
    pub dedupe_key: String,
    pub received_at: DateTime<Utc>,
    pub content_type: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The raw body, sealed (see [`body`]); a binary attribute.
    #[serde(default, with = "body::bytes", skip_serializing_if = "Vec::is_empty")]
    pub body_bytes_sealed: Vec<u8>,
    /// The form records took before `body_bytes_sealed`: base64 sealed as text. Read only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body_sealed: String,
    pub body_masked: String,
    /// Deliveries by this deployment that led to this webhook (see `hops`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hops: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// The record this one replays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<InboundId>,
    /// The first record with the same dedupe key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<InboundId>,
    /// TTL (epoch seconds): the retention safety net.
    pub expires_at: i64,
}

impl InboundRecord {
    /// The associated data that binds a sealed body to its record.
    pub fn body_aad(tenant: &TenantId, id: &InboundId) -> String {
        format!("inbound/{tenant}/{id}")
    }

    /// Seals the raw body into the record.
    pub fn seal_body(&mut self, sealer: &SecretBox, raw: &[u8]) {
        self.body_bytes_sealed = body::seal(sealer, raw, &Self::body_aad(&self.tenant_id, &self.inbound_id));
        self.body_sealed.clear();
    }

    /// The raw body as received, from either stored form.
    pub fn open_body(&self, sealer: &SecretBox) -> Result<Vec<u8>, String> {
        let aad = Self::body_aad(&self.tenant_id, &self.inbound_id);
        if !self.body_bytes_sealed.is_empty() {
            return body::open(sealer, &self.body_bytes_sealed, &aad);
        }
        use base64::Engine;
        let text = sealer.open(&self.body_sealed, &aad).map_err(|e| e.to_string())?;
        base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| e.to_string())
    }

    /// The API view.
    pub fn view(&self) -> InboundView {
        InboundView {
            id: self.inbound_id.to_string(),
            source: self.source_slug.clone(),
            status: self.status,
            correlation_id: self.correlation_id.clone(),
            dedupe_key: self.dedupe_key.clone(),
            received_at: self.received_at,
            content_type: self.content_type.clone(),
            headers: self.headers.clone(),
            body: self.body_masked.clone(),
            event_id: self.event_id.as_ref().map(ToString::to_string),
            event_type: self.event_type.clone(),
            failure_reason: self.failure_reason.clone(),
            replay_of: self.replay_of.as_ref().map(ToString::to_string),
            duplicate_of: self.duplicate_of.as_ref().map(ToString::to_string),
        }
    }
}

/// An inbound webhook as the API shows it (identifiers masked).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InboundView {
    /// `inb_…`
    pub id: String,
    pub source: String,
    pub status: InboundStatus,
    pub correlation_id: String,
    pub dedupe_key: String,
    pub received_at: DateTime<Utc>,
    pub content_type: String,
    pub headers: BTreeMap<String, String>,
    /// The body with patient identifiers and secrets masked.
    pub body: String,
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub failure_reason: Option<String>,
    pub replay_of: Option<String>,
    pub duplicate_of: Option<String>,
}

/// A dedupe key's claim: the first record that carried it, until `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DedupeClaim {
    pub source_slug: String,
    pub dedupe_key: String,
    pub tenant_id: TenantId,
    pub inbound_id: InboundId,
    pub correlation_id: String,
    pub expires_at: i64,
}

/// The inbound queue's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub tenant_id: TenantId,
    pub inbound_id: InboundId,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The headers worth keeping: everything but credentials, signatures and
/// Hookline's hop header, at most [`KEPT_HEADERS`], names of 128 bytes at
/// most, each value cut to 512 bytes.
pub fn kept_headers<'a>(headers: impl Iterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, String> {
    headers
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !SECRET_HEADERS.contains(&k.as_str())
                && !k.contains("signature")
                && !k.contains("token")
                && k != crate::hops::HOP_HEADER
                && k.len() <= KEPT_HEADER_NAME_BYTES
        })
        .take(KEPT_HEADERS)
        .map(|(k, v)| (k.to_ascii_lowercase(), cut_bytes(v, KEPT_HEADER_VALUE_BYTES).to_owned()))
        .collect()
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character.
pub fn cut_bytes(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Checks that the event a body becomes can be stored; `Err` carries its
/// size. Escaping can grow a text body up to six times in JSON, so only
/// bodies that could outgrow the limit are converted to find out.
pub fn event_payload_fits(body: &[u8], content_type: &str) -> Result<(), usize> {
    if body.len() * 6 + 64 <= MAX_STORED_PAYLOAD_BYTES {
        return Ok(());
    }
    let size = Value::Object(body_as_data(body, content_type)).to_string().len();
    if size <= MAX_STORED_PAYLOAD_BYTES {
        Ok(())
    } else {
        Err(size)
    }
}

/// The body as a JSON object for an event's `data`: JSON objects as they
/// are, other JSON under `payload`, form fields as an object (a `payload`
/// field holding JSON, as Slack sends, is parsed), anything else under `body`.
pub fn body_as_data(body: &[u8], content_type: &str) -> Map<String, Value> {
    let text = String::from_utf8_lossy(body);
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return url::form_urlencoded::parse(body)
            .map(|(k, v)| {
                let value = match (k.as_ref(), serde_json::from_str::<Value>(&v)) {
                    ("payload", Ok(json)) => json,
                    _ => Value::String(v.into_owned()),
                };
                (k.into_owned(), value)
            })
            .collect();
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => map,
        Ok(other) => Map::from_iter([("payload".to_owned(), other)]),
        Err(_) => Map::from_iter([("body".to_owned(), Value::String(text.into_owned()))]),
    }
}

/// The internal event type of a webhook: the source's fixed type, or
/// `{slug}.{value at the pointer}`, or `{slug}.received`.
pub fn event_type_for(source: &SourceRecord, data: &Map<String, Value>) -> Result<String, String> {
    let s = &source.settings;
    if let Some(fixed) = &s.event_type {
        return Ok(fixed.clone());
    }
    let Some(pointer) = &s.event_type_pointer else { return Ok(format!("{}.received", source.slug)) };
    let found = Value::Object(data.clone()).pointer(pointer).cloned();
    let value = match found {
        Some(Value::String(v)) => v,
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(format!("the value at {pointer} is not a string")),
        None => return Err(format!("the payload has no event type at {pointer}")),
    };
    let name = format!("{}.{value}", source.slug);
    validate_name(&name).map_err(|e| e.detail)?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{SourceCreate, SourceSettings};

    fn source(mapping: Value) -> SourceRecord {
        let mut create = serde_json::json!({"slug": "emr", "auth_type": "none"});
        create.as_object_mut().unwrap().extend(mapping.as_object().unwrap().clone());
        let input: SourceCreate = serde_json::from_value(create).unwrap();
        SourceRecord {
            slug: "emr".into(),
            tenant_id: TenantId::default_tenant(),
            settings: SourceSettings::from_create(&input),
            secret_sealed: String::new(),
            secret_masked: String::new(),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn bodies_become_json_objects() {
        assert_eq!(body_as_data(br#"{"a":1}"#, "application/json")["a"], 1);
        assert_eq!(body_as_data(b"[1,2]", "application/json")["payload"], serde_json::json!([1, 2]));
        assert_eq!(body_as_data(b"plain words", "text/plain")["body"], "plain words");
        let form = body_as_data(
            b"token=x&text=hi+there&payload=%7B%22type%22%3A%22block_actions%22%7D",
            "application/x-www-form-urlencoded",
        );
        assert_eq!(form["text"], "hi there");
        assert_eq!(form["payload"]["type"], "block_actions");
    }

    #[test]
    fn event_types_come_from_the_source_mapping() {
        let data = body_as_data(br#"{"event": "video_call.completed"}"#, "application/json");
        assert_eq!(
            event_type_for(&source(serde_json::json!({"event_type": "crm.contact.updated"})), &data).unwrap(),
            "crm.contact.updated"
        );
        assert_eq!(
            event_type_for(&source(serde_json::json!({"event_type_pointer": "/event"})), &data).unwrap(),
            "emr.video_call.completed"
        );
        assert_eq!(event_type_for(&source(serde_json::json!({})), &data).unwrap(), "emr.received");
        assert!(event_type_for(&source(serde_json::json!({"event_type_pointer": "/missing"})), &data).is_err());
        let bad = body_as_data(br#"{"event": "has space"}"#, "application/json");
        assert!(event_type_for(&source(serde_json::json!({"event_type_pointer": "/event"})), &bad).is_err());
    }

    #[test]
    fn credentials_and_signatures_are_not_kept() {
        let kept = kept_headers(
            [
                ("Authorization", "Bearer x"),
                ("X-Hub-Signature-256", "sha256=1"),
                ("Content-Type", "application/json"),
                ("X-GitHub-Delivery", "d1"),
            ]
            .into_iter(),
        );
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["content-type", "x-github-delivery"]);
    }
}
