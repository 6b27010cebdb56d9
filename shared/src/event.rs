//! Published events: the publish request, the outbox row that commits it,
//! idempotency claims, and the envelope every endpoint receives.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::ids::{random_bytes, DeliveryId, EndpointId, EventId, TenantId};

/// Largest `data` accepted, serialized.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
/// The largest payload an outbox row holds. An event made from an inbound
/// webhook may be larger than a publish allows: wrapping a body that is not
/// a JSON object, or escaping text, grows it. 320 KiB still leaves the row
/// room under DynamoDB's 400 KB, and ten rows under Lambda's 6 MB event.
pub const MAX_STORED_PAYLOAD_BYTES: usize = 320 * 1024;
/// Longest idempotency key, in bytes (DynamoDB limits keys in bytes).
pub const MAX_IDEMPOTENCY_KEY: usize = 256;
/// How long an idempotency key maps to its first event.
pub const IDEMPOTENCY_TTL_SECONDS: i64 = 24 * 3600;
/// `metadata.api_version` of every envelope.
pub const API_VERSION: &str = "2026-11-01";

/// `POST /v1/events`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// A type from the event catalog, e.g. `bill.paid`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The event's body: a JSON object, sent to endpoints as `data`.
    #[schema(value_type = Object)]
    pub data: Value,
    /// Publishing again with the same key (within 24 h) returns the first
    /// event's id and delivers nothing new.
    pub idempotency_key: Option<String>,
}

/// `202` answer to a publish.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Published {
    /// `evt_…`
    pub id: String,
}

/// What to publish, from the API or from Hookline itself.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: String,
    /// The serialized `data` object, signed as given.
    pub payload: String,
    pub idempotency_key: Option<String>,
    /// Carried over from an inbound webhook; generated when absent.
    pub correlation_id: Option<String>,
    /// Deliver to this endpoint only (test events).
    pub only_endpoint: Option<EndpointId>,
}

impl NewEvent {
    /// Checks a publish request; `known` says whether the type is in the
    /// tenant's catalog.
    pub fn from_request(req: PublishRequest, known: impl Fn(&str) -> bool) -> Result<Self, ApiError> {
        if !known(&req.event_type) {
            return Err(ApiError::invalid(
                "unknown_event_type",
                format!("`{}` is not in the event catalog", req.event_type.chars().take(128).collect::<String>()),
            ));
        }
        if !req.data.is_object() {
            return Err(ApiError::invalid("invalid_data", "data must be a JSON object"));
        }
        let payload = req.data.to_string();
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(ApiError::new(
                413,
                "payload_too_large",
                format!("data is larger than {MAX_PAYLOAD_BYTES} bytes"),
            ));
        }
        if let Some(key) = &req.idempotency_key {
            if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY {
                return Err(ApiError::invalid(
                    "invalid_idempotency_key",
                    format!("idempotency_key must hold 1 to {MAX_IDEMPOTENCY_KEY} bytes of UTF-8"),
                ));
            }
        }
        Ok(Self {
            event_type: req.event_type,
            payload,
            idempotency_key: req.idempotency_key,
            correlation_id: None,
            only_endpoint: None,
        })
    }
}

/// One published event in the outbox (the events table). Writing it is the
/// commit: its stream record drives fan-out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxRecord {
    pub tenant_id: TenantId,
    pub event_id: EventId,
    pub event_type: String,
    /// Deflated at rest when that saves space (see [`crate::packed`]).
    #[serde(with = "crate::packed")]
    pub payload: String,
    pub correlation_id: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_endpoint: Option<EndpointId>,
    /// TTL (epoch seconds): the retention safety net.
    pub expires_at: i64,
    /// Deliveries by this deployment that led to this event (see `hops`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hops: u32,
    /// The publish handler sends this event's deliveries itself (the fast
    /// path); the stream then only fills in what that left undone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fast_path: bool,
    /// For a fast-path event: when the endpoints it was sent to were read
    /// (epoch milliseconds; the publish handler reuses a read for a few
    /// seconds). An endpoint created or changed since is the stream's to
    /// send. Rows without it: the event's creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribers_at: Option<i64>,
    /// How long the idempotency key holds (default a day); not stored.
    #[serde(skip)]
    pub idempotency_ttl_seconds: Option<i64>,
}

/// An idempotency key's claim, pointing at the event it first published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub tenant_id: TenantId,
    pub idempotency_key: String,
    pub event_id: EventId,
    pub expires_at: i64,
}

impl OutboxRecord {
    /// The outbox row for a new event.
    pub fn new(tenant: &TenantId, event: NewEvent, retention_days: u32) -> Self {
        let created_at = Utc::now();
        Self {
            tenant_id: tenant.clone(),
            event_id: EventId::generate(),
            event_type: event.event_type,
            payload: event.payload,
            correlation_id: event.correlation_id.unwrap_or_else(new_correlation_id),
            created_at,
            idempotency_key: event.idempotency_key,
            only_endpoint: event.only_endpoint,
            expires_at: created_at.timestamp() + i64::from(retention_days) * 86_400,
            hops: 0,
            fast_path: false,
            subscribers_at: None,
            idempotency_ttl_seconds: None,
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A random correlation id in UUID v4 form.
pub fn new_correlation_id() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// True for a correlation id worth carrying over from a caller: printable,
/// no spaces, at most 128 characters.
pub fn valid_correlation_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The event as it travels with a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSnapshot {
    pub event_id: EventId,
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    pub payload: String,
    pub correlation_id: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hops: u32,
}

impl From<&OutboxRecord> for EventSnapshot {
    fn from(r: &OutboxRecord) -> Self {
        Self {
            event_id: r.event_id.clone(),
            event_type: r.event_type.clone(),
            created_at: r.created_at,
            payload: r.payload.clone(),
            correlation_id: r.correlation_id.clone(),
            hops: r.hops,
        }
    }
}

/// The shape of the body an endpoint receives; each is compact JSON, and
/// the bytes sent are the bytes signed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Envelope {
    /// `{"id","type","created_at","data","metadata":{…}}`.
    #[default]
    Standard,
    /// `{"event","timestamp","delivery_id","data"}` (seed 001's consumers).
    Event,
    /// `{"event","data","meta":{"timestamp","webhook_id","api_version"}}` (seed 003's).
    EventMeta,
    /// The published `data` alone.
    Data,
}

impl Envelope {
    pub fn is_standard(&self) -> bool {
        *self == Self::Standard
    }
}

fn json_text(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// The exact bytes an endpoint receives in the given shape. The event's
/// time is the publish time, so a retry sends the same body; the delivery
/// id (`delivery_id`, `webhook_id`) is stable across retries too.
pub fn render(shape: Envelope, event: &EventSnapshot, endpoint: &EndpointId, delivery: &DeliveryId) -> String {
    let seconds = || json_text(&event.created_at.to_rfc3339_opts(SecondsFormat::Secs, true));
    match shape {
        Envelope::Standard => envelope(event, endpoint, delivery),
        Envelope::Event => format!(
            r#"{{"event":{},"timestamp":{},"delivery_id":{},"data":{}}}"#,
            json_text(&event.event_type),
            seconds(),
            json_text(delivery.as_str()),
            event.payload,
        ),
        Envelope::EventMeta => format!(
            r#"{{"event":{},"data":{},"meta":{{"timestamp":{},"webhook_id":{},"api_version":{}}}}}"#,
            json_text(&event.event_type),
            event.payload,
            seconds(),
            json_text(delivery.as_str()),
            json_text(API_VERSION),
        ),
        Envelope::Data => event.payload.clone(),
    }
}

/// The standard body:
/// `{"id","type","created_at","data","metadata":{"api_version","endpoint_id","delivery_id","correlation_id"}}`.
pub fn envelope(event: &EventSnapshot, endpoint: &EndpointId, delivery: &DeliveryId) -> String {
    let text = json_text;
    format!(
        r#"{{"id":{},"type":{},"created_at":{},"data":{},"metadata":{{"api_version":{},"endpoint_id":{},"delivery_id":{},"correlation_id":{}}}}}"#,
        text(event.event_id.as_str()),
        text(&event.event_type),
        text(&event.created_at.to_rfc3339_opts(SecondsFormat::Millis, true)),
        event.payload,
        text(API_VERSION),
        text(endpoint.as_str()),
        text(delivery.as_str()),
        text(&event.correlation_id),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(v: Value) -> PublishRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_envelope_is_valid_json_in_the_documented_shape() {
        let event = EventSnapshot {
            event_id: EventId::generate(),
            event_type: "bill.paid".into(),
            created_at: Utc::now(),
            payload: json!({"amount": 1200, "note": "quote \" and \\ slash"}).to_string(),
            correlation_id: new_correlation_id(),
            hops: 0,
        };
        let endpoint = EndpointId::generate();
        let delivery = DeliveryId::for_event(&event.event_id, &endpoint);
        let body = envelope(&event, &endpoint, &delivery);
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["type"], "bill.paid");
        assert_eq!(parsed["data"]["note"], "quote \" and \\ slash");
        assert_eq!(parsed["metadata"]["delivery_id"], delivery.as_str());
        assert_eq!(parsed["metadata"]["api_version"], API_VERSION);
        let at = |k: &str| body.find(&format!("\"{k}\":")).unwrap();
        assert!(body.starts_with("{\"id\":"));
        assert!(at("type") < at("created_at") && at("created_at") < at("data") && at("data") < at("metadata"));
    }

    #[test]
    fn every_shape_is_compact_json_that_carries_the_data_and_a_stable_delivery_id() {
        let event = EventSnapshot {
            event_id: EventId::generate(),
            event_type: "appointment.created".into(),
            created_at: "2026-11-30T10:15:00.250Z".parse().unwrap(),
            payload: json!({"fee": 12.5, "delta": -3, "name": "Müller ✓"}).to_string(),
            correlation_id: new_correlation_id(),
            hops: 0,
        };
        let endpoint = EndpointId::generate();
        let delivery = DeliveryId::for_event(&event.event_id, &endpoint);
        let body = |shape| render(shape, &event, &endpoint, &delivery);
        for shape in [Envelope::Standard, Envelope::Event, Envelope::EventMeta, Envelope::Data] {
            let text = body(shape);
            let parsed: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(serde_json::to_string(&parsed).unwrap().len(), text.len(), "{shape:?} is compact");
        }
        let seed001: Value = serde_json::from_str(&body(Envelope::Event)).unwrap();
        assert_eq!(seed001["event"], "appointment.created");
        assert_eq!(seed001["timestamp"], "2026-11-30T10:15:00Z");
        assert_eq!(seed001["delivery_id"], delivery.as_str());
        assert_eq!(seed001["data"]["fee"], 12.5);
        let seed003: Value = serde_json::from_str(&body(Envelope::EventMeta)).unwrap();
        assert_eq!(seed003["meta"]["webhook_id"], delivery.as_str());
        assert_eq!(seed003["meta"]["api_version"], API_VERSION);
        assert_eq!(seed003["data"]["name"], "Müller ✓");
        assert_eq!(body(Envelope::Data), event.payload, "the data exactly as stored");
        assert_eq!(body(Envelope::Standard), envelope(&event, &endpoint, &delivery));
    }

    #[test]
    fn shapes_are_named_in_kebab_case() {
        let names: Vec<String> = [Envelope::Standard, Envelope::Event, Envelope::EventMeta, Envelope::Data]
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect();
        assert_eq!(names, ["\"standard\"", "\"event\"", "\"event-meta\"", "\"data\""]);
    }

    #[test]
    fn publish_requests_are_checked() {
        let known = |t: &str| t == "bill.paid";
        assert!(NewEvent::from_request(request(json!({"type": "bill.paid", "data": {}})), known).is_ok());
        let code = |v| NewEvent::from_request(request(v), known).unwrap_err().code.into_owned();
        assert_eq!(code(json!({"type": "bill.void", "data": {}})), "unknown_event_type");
        assert_eq!(code(json!({"type": "bill.paid", "data": [1]})), "invalid_data");
        assert_eq!(code(json!({"type": "bill.paid", "data": {}, "idempotency_key": ""})), "invalid_idempotency_key");
        let big = json!({"type": "bill.paid", "data": {"blob": "x".repeat(MAX_PAYLOAD_BYTES)}});
        let err = NewEvent::from_request(request(big), known).unwrap_err();
        assert_eq!((err.status, err.code.as_ref()), (413, "payload_too_large"));
    }

    #[test]
    fn correlation_ids_look_like_uuids() {
        let id = new_correlation_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(valid_correlation_id(&id));
        assert!(!valid_correlation_id("has space"));
        assert!(!valid_correlation_id(&"x".repeat(129)));
    }
}
