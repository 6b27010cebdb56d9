//! Outbound endpoints: what is stored, what the API shows, and the rules a
//! create or patch must pass (all plain Rust; URL vetting is in `ssrf`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::crypto::{mask_secret, OpenError, SecretBox};
use crate::error::ApiError;
use crate::event::Envelope;
use crate::event_type::{pattern_matches, validate_pattern};
use crate::ids::{EndpointId, TenantId};

pub mod custom_headers;
pub mod delivery_options;
pub use custom_headers::{MAX_HEADERS, MAX_HEADER_VALUE};
use delivery_options::{present, rate_from_input, schedule_from_input};
pub use delivery_options::{SignatureEncoding, SignatureSpec, SignedContent};

pub const MAX_NAME: usize = 128;
pub const MAX_DESCRIPTION: usize = 1024;
pub const MAX_EVENT_TYPES: usize = 100;
pub const MAX_METADATA: usize = 32;
pub const MAX_METADATA_KEY: usize = 64;
pub const MAX_METADATA_VALUE: usize = 512;
pub const MAX_FILTERS: usize = 10;
pub const MAX_RETRIES: u32 = 20;
pub const DEFAULT_MAX_RETRIES: u32 = 10;
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 15;

/// Whether deliveries are attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndpointStatus {
    /// Receives deliveries.
    Active,
    /// Paused by the circuit breaker; deliveries are parked until enabled.
    Paused,
    /// Disabled by a person, a 410 answer or the health check.
    Disabled,
}

/// What happens after a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetryPolicy {
    /// One attempt only.
    None,
    /// Exponential backoff with jitter, up to `max_retries`.
    Exponential,
}

/// Deliver only events whose payload matches: the value at a JSON pointer
/// into `data` equals one value, or is one of several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayloadFilter {
    /// RFC 6901 pointer into the event's `data`, e.g. `/region`.
    pub pointer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
}

impl PayloadFilter {
    /// True when `data` satisfies the filter.
    pub fn matches(&self, data: &Value) -> bool {
        let Some(found) = data.pointer(&self.pointer) else {
            return false;
        };
        match (&self.equals, &self.one_of) {
            (Some(v), _) => v == found,
            (None, Some(values)) => values.contains(found),
            (None, None) => false,
        }
    }
}

/// The settings a user controls, shared by create and patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointSettings {
    pub url: String,
    pub name: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub retry_policy: RetryPolicy,
    pub max_retries: u32,
    pub timeout_seconds: u32,
    /// Plaintext, in memory only: a record stores them sealed (see
    /// [`EndpointRecord::seal_headers`]). Read from rows written before
    /// headers were sealed, and sealed on their next write.
    #[serde(default, skip_serializing)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub filters: Vec<PayloadFilter>,
    #[serde(default)]
    pub legacy_signature: bool,
    /// One more signature header in the consumer's own format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureSpec>,
    /// The body's shape.
    #[serde(default, skip_serializing_if = "Envelope::is_standard")]
    pub envelope: Envelope,
    /// Replaces the default retry schedule; its length is `max_retries`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_schedule_seconds: Option<Vec<u32>>,
    /// Most attempts started in any one second, across every worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_second: Option<u32>,
}

/// An endpoint as stored: settings, state, and sealed secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub tenant_id: TenantId,
    pub endpoint_id: EndpointId,
    #[serde(flatten)]
    pub settings: EndpointSettings,
    pub status: EndpointStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// The signing secret sealed with the data key (never plaintext at rest).
    pub secret_sealed: String,
    /// The masked form shown by reads, kept so a list needs no decryption.
    pub secret_masked: String,
    /// The secret before the last rotation, valid until `previous_secret_expires_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_sealed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// The custom headers sealed with the data key, as one JSON map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers_sealed: Option<String>,
    /// Their names with masked values, so reads need no decryption.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers_masked: BTreeMap<String, String>,
    #[serde(default)]
    pub consecutive_failures: u32,
    /// Optimistic-concurrency counter, bumped on every write.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EndpointRecord {
    /// The associated data that binds a sealed secret to this endpoint.
    pub fn secret_aad(tenant: &TenantId, id: &EndpointId) -> String {
        format!("endpoint/{tenant}/{id}")
    }

    /// True when the endpoint wants events of this type.
    pub fn subscribes_to(&self, event_type: &str) -> bool {
        self.settings.event_types.iter().any(|p| pattern_matches(p, event_type))
    }

    /// True when this endpoint should get a delivery of `event` (whose
    /// parsed data is `data`). Disabled endpoints get nothing; paused ones
    /// get a delivery that the worker parks.
    pub fn wants(&self, event: &crate::event::OutboxRecord, data: &Value) -> bool {
        if self.status == EndpointStatus::Disabled {
            return false;
        }
        if let Some(only) = &event.only_endpoint {
            return only == &self.endpoint_id;
        }
        self.subscribes_to(&event.event_type) && self.settings.filters.iter().all(|f| f.matches(data))
    }

    /// The API view with the secret shown as given (masked unless the route
    /// is create, rotate or the secret route).
    pub fn view(&self, secret: String) -> EndpointView {
        let s = &self.settings;
        EndpointView {
            id: self.endpoint_id.to_string(),
            url: s.url.clone(),
            name: s.name.clone(),
            description: s.description.clone(),
            event_types: s.event_types.clone(),
            status: self.status,
            status_reason: self.status_reason.clone(),
            retry_policy: s.retry_policy,
            max_retries: s.max_retries,
            timeout_seconds: s.timeout_seconds,
            headers: self.shown_headers(),
            metadata: s.metadata.clone(),
            filters: s.filters.clone(),
            legacy_signature: s.legacy_signature,
            signature: s.signature.clone(),
            envelope: s.envelope,
            retry_schedule_seconds: s.retry_schedule_seconds.clone(),
            rate_limit_per_second: s.rate_limit_per_second,
            secret,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// The API view with the secret masked.
    pub fn masked_view(&self) -> EndpointView {
        self.view(self.secret_masked.clone())
    }

    fn shown_headers(&self) -> BTreeMap<String, String> {
        match &self.headers_sealed {
            Some(_) => self.headers_masked.clone(),
            None => custom_headers::masked(&self.settings.headers),
        }
    }

    /// Moves the plaintext custom headers into their sealed and masked
    /// forms; called before every write that set them.
    pub fn seal_headers(&mut self, sealer: &SecretBox) {
        let aad = custom_headers::aad(&self.tenant_id, &self.endpoint_id);
        self.headers_sealed = custom_headers::seal(&self.settings.headers, sealer, &aad);
        self.headers_masked = custom_headers::masked(&self.settings.headers);
        self.settings.headers.clear();
    }

    /// The custom headers in plaintext, for a delivery or the headers route.
    pub fn open_headers(&self, sealer: &SecretBox) -> Result<BTreeMap<String, String>, OpenError> {
        match &self.headers_sealed {
            Some(sealed) => {
                custom_headers::open(sealed, sealer, &custom_headers::aad(&self.tenant_id, &self.endpoint_id))
            }
            None => Ok(self.settings.headers.clone()),
        }
    }

    /// Installs a new signing secret, sealed; the caller keeps the plaintext
    /// to show once.
    pub fn set_secret(&mut self, sealed: String, plaintext: &str) {
        self.secret_sealed = sealed;
        self.secret_masked = mask_secret(plaintext);
    }
}

/// An endpoint as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointView {
    /// `ep_…`
    pub id: String,
    pub url: String,
    pub name: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub status: EndpointStatus,
    pub status_reason: Option<String>,
    pub retry_policy: RetryPolicy,
    pub max_retries: u32,
    pub timeout_seconds: u32,
    /// Names with masked values; `GET /v1/endpoints/{id}/headers` shows them.
    pub headers: BTreeMap<String, String>,
    pub metadata: BTreeMap<String, String>,
    pub filters: Vec<PayloadFilter>,
    pub legacy_signature: bool,
    /// One more signature header, beside the default ones.
    pub signature: Option<SignatureSpec>,
    /// `standard`, `event`, `event-meta` or `data`.
    pub envelope: Envelope,
    /// The endpoint's own retry schedule, when it has one.
    pub retry_schedule_seconds: Option<Vec<u32>>,
    /// Most attempts started in any one second, when limited.
    pub rate_limit_per_second: Option<u32>,
    /// `whsec_…` in full from create, rotate-secret and the secret route; masked elsewhere.
    pub secret: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /v1/endpoints`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointCreate {
    pub url: String,
    /// Defaults to the URL's host.
    pub name: Option<String>,
    pub description: Option<String>,
    /// Exact types, `prefix.*` or `*`.
    pub event_types: Vec<String>,
    pub retry_policy: Option<RetryPolicy>,
    /// 0 to 20; default 10.
    pub max_retries: Option<u32>,
    /// 1 to 30; default 15.
    pub timeout_seconds: Option<u32>,
    pub headers: Option<BTreeMap<String, String>>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub filters: Option<Vec<PayloadFilter>>,
    /// Also send `X-Signature: sha256=<hex HMAC(body)>` for older consumers.
    pub legacy_signature: Option<bool>,
    /// Bring your own `whsec_…` secret instead of a generated one.
    pub secret: Option<String>,
    /// One more signature header in the consumer's own format.
    pub signature: Option<SignatureSpec>,
    /// The body's shape; default `standard`.
    pub envelope: Option<Envelope>,
    /// 1 to 20 delays in seconds (each 1 to 86400) replacing the default
    /// schedule; `max_retries` becomes their count.
    pub retry_schedule_seconds: Option<Vec<i64>>,
    /// 1 to 1000: attempts started per second, at most, across all workers.
    pub rate_limit_per_second: Option<i64>,
}

/// `PATCH /v1/endpoints/{id}`: fields present are replaced.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub retry_policy: Option<RetryPolicy>,
    pub max_retries: Option<u32>,
    pub timeout_seconds: Option<u32>,
    pub headers: Option<BTreeMap<String, String>>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub filters: Option<Vec<PayloadFilter>>,
    pub legacy_signature: Option<bool>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<SignatureSpec>, nullable = true)]
    pub signature: Option<Option<SignatureSpec>>,
    pub envelope: Option<Envelope>,
    /// `null` returns to the default schedule.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<i64>>, nullable = true)]
    pub retry_schedule_seconds: Option<Option<Vec<i64>>>,
    /// `null` removes the limit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable = true)]
    pub rate_limit_per_second: Option<Option<i64>>,
}

impl EndpointSettings {
    /// Settings for a new endpoint, defaults filled in (not yet validated).
    pub fn from_create(input: &EndpointCreate, host: &str) -> Self {
        let schedule = input.retry_schedule_seconds.as_deref().map(schedule_from_input);
        let max_retries = match (&schedule, input.max_retries) {
            (_, Some(n)) => n,
            (Some(s), None) => s.len() as u32,
            (None, None) => DEFAULT_MAX_RETRIES,
        };
        Self {
            url: input.url.trim().to_owned(),
            name: input.name.clone().unwrap_or_else(|| host.to_owned()),
            description: input.description.clone().unwrap_or_default(),
            event_types: input.event_types.clone(),
            retry_policy: input.retry_policy.unwrap_or(RetryPolicy::Exponential),
            max_retries,
            timeout_seconds: input.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS),
            headers: input.headers.clone().unwrap_or_default(),
            metadata: input.metadata.clone().unwrap_or_default(),
            filters: input.filters.clone().unwrap_or_default(),
            legacy_signature: input.legacy_signature.unwrap_or(false),
            signature: input.signature.clone(),
            envelope: input.envelope.unwrap_or_default(),
            retry_schedule_seconds: schedule,
            rate_limit_per_second: input.rate_limit_per_second.map(rate_from_input),
        }
    }

    /// These settings with a patch applied (not yet validated).
    pub fn patched(&self, patch: &EndpointPatch) -> Self {
        let mut next = self.clone();
        if let Some(url) = &patch.url {
            next.url = url.trim().to_owned();
        }
        macro_rules! replace {
            ($($field:ident),*) => { $( if let Some(v) = &patch.$field { next.$field = v.clone(); } )* };
        }
        replace!(
            name,
            description,
            event_types,
            retry_policy,
            max_retries,
            timeout_seconds,
            headers,
            metadata,
            filters,
            legacy_signature,
            envelope
        );
        if let Some(signature) = &patch.signature {
            next.signature = signature.clone();
        }
        if let Some(schedule) = &patch.retry_schedule_seconds {
            next.retry_schedule_seconds = schedule.as_deref().map(schedule_from_input);
            if let (Some(s), None) = (&next.retry_schedule_seconds, patch.max_retries) {
                next.max_retries = s.len() as u32;
            }
        }
        if let Some(limit) = patch.rate_limit_per_second {
            next.rate_limit_per_second = limit.map(rate_from_input);
        }
        next
    }

    /// Checks every rule but the URL's target (see `ssrf`). `known` says
    /// whether an exact event type is in the tenant's catalog.
    pub fn validate(&self, prefix: &str, known: impl Fn(&str) -> bool) -> Result<(), ApiError> {
        too_long("name", &self.name, MAX_NAME)?;
        if self.name.trim().is_empty() {
            return Err(ApiError::invalid("invalid_name", "name must not be empty"));
        }
        too_long("description", &self.description, MAX_DESCRIPTION)?;
        self.validate_event_types(known)?;
        // Before max_retries: a schedule sets it, and says what is wrong with itself.
        self.validate_delivery_options(prefix, &self.headers.keys().collect::<Vec<_>>())?;
        if self.max_retries > MAX_RETRIES {
            return Err(ApiError::invalid(
                "invalid_max_retries",
                format!("max_retries must be between 0 and {MAX_RETRIES}"),
            ));
        }
        if !(1..=30).contains(&self.timeout_seconds) {
            return Err(ApiError::invalid("invalid_timeout", "timeout_seconds must be between 1 and 30"));
        }
        self.validate_headers(prefix)?;
        too_many("metadata", self.metadata.len(), MAX_METADATA)?;
        for (k, v) in &self.metadata {
            too_long("metadata key", k, MAX_METADATA_KEY)?;
            too_long(&format!("metadata[{k}]"), v, MAX_METADATA_VALUE)?;
        }
        too_many("filters", self.filters.len(), MAX_FILTERS)?;
        for f in &self.filters {
            let shape_ok = f.equals.is_some() != f.one_of.is_some();
            if !f.pointer.starts_with('/') || !shape_ok {
                return Err(ApiError::invalid(
                    "invalid_filter",
                    "each filter needs a JSON pointer starting with `/` and exactly one of `equals` or `in`",
                ));
            }
        }
        Ok(())
    }

    fn validate_event_types(&self, known: impl Fn(&str) -> bool) -> Result<(), ApiError> {
        if self.event_types.is_empty() {
            return Err(ApiError::invalid(
                "missing_event_types",
                "subscribe to at least one event type (use \"*\" for all)",
            ));
        }
        too_many("event_types", self.event_types.len(), MAX_EVENT_TYPES)?;
        for pattern in &self.event_types {
            validate_pattern(pattern)?;
            let exact = pattern != "*" && !pattern.ends_with(".*");
            if exact && !known(pattern) {
                return Err(ApiError::invalid(
                    "unknown_event_type",
                    format!("`{pattern}` is not in the event catalog; add it with POST /v1/event-types first"),
                ));
            }
        }
        Ok(())
    }

    fn validate_headers(&self, prefix: &str) -> Result<(), ApiError> {
        custom_headers::validate(&self.headers, prefix)
    }
}

fn too_long(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::invalid("field_too_long", format!("{field} is longer than {max} characters")));
    }
    Ok(())
}

fn too_many(field: &str, count: usize, max: usize) -> Result<(), ApiError> {
    if count > max {
        return Err(ApiError::invalid(
            "too_many_items",
            format!("{field} holds {count} entries; at most {max} are allowed"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
