//! The event catalog: the seed's business events and Hookline's own
//! operational events are built in; tenants add their own.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::ids::TenantId;

/// Longest event type name.
pub const MAX_EVENT_TYPE_LEN: usize = 128;

/// Built-in event types every tenant can subscribe to.
pub const BUILTIN_EVENT_TYPES: &[(&str, &str)] = &[
    ("patient.registered", "A new patient profile was created."),
    ("appointment.booked", "An OPD appointment was scheduled."),
    ("bill.paid", "An invoice was settled."),
    ("lab.order.completed", "Lab results were finalized."),
    ("system.daily.summary", "Aggregate delivery and inbound metrics, dispatched automatically at midnight."),
    ("endpoint.paused", "An endpoint was paused after too many consecutive failed attempts."),
    ("endpoint.disabled", "An endpoint was disabled: by a person, by a 410 Gone answer, or by the health check."),
    ("endpoint.enabled", "A paused or disabled endpoint was enabled again."),
    ("delivery.exhausted", "A delivery failed for good after its last retry."),
    ("inbound.failed", "An inbound webhook could not be processed into an internal event."),
    ("endpoint.test", "A test event sent to one endpoint from the API or console."),
];

/// True when `name` is a built-in event type.
pub fn is_builtin(name: &str) -> bool {
    BUILTIN_EVENT_TYPES.iter().any(|(n, _)| *n == name)
}

/// A tenant's own event type as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventTypeRecord {
    pub tenant_id: TenantId,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

/// An event type as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventTypeView {
    pub name: String,
    pub description: String,
    /// True for the built-in catalog, false for the tenant's own.
    pub builtin: bool,
    pub created_at: Option<DateTime<Utc>>,
}

/// `POST /v1/event-types`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventTypeCreate {
    /// Dot-separated segments of letters, digits, `_` and `-`, e.g. `order.shipped`.
    pub name: String,
    pub description: Option<String>,
}

impl EventTypeView {
    /// Every built-in type.
    pub fn builtins() -> impl Iterator<Item = EventTypeView> {
        BUILTIN_EVENT_TYPES.iter().map(|(name, description)| EventTypeView {
            name: (*name).into(),
            description: (*description).into(),
            builtin: true,
            created_at: None,
        })
    }
}

impl From<EventTypeRecord> for EventTypeView {
    fn from(r: EventTypeRecord) -> Self {
        Self { name: r.name, description: r.description, builtin: false, created_at: Some(r.created_at) }
    }
}

/// Checks an exact event type name.
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    let segment_ok =
        |seg: &str| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if name.len() > MAX_EVENT_TYPE_LEN || !name.split('.').all(segment_ok) {
        return Err(ApiError::invalid(
            "invalid_event_type",
            format!(
                "`{}` is not an event type: use dot-separated segments of letters, digits, `_` and `-` ({MAX_EVENT_TYPE_LEN} characters at most)",
                name.chars().take(MAX_EVENT_TYPE_LEN).collect::<String>()
            ),
        ));
    }
    Ok(())
}

/// Checks a subscription pattern: an exact name, `prefix.*`, or `*`.
pub fn validate_pattern(pattern: &str) -> Result<(), ApiError> {
    if pattern == "*" {
        return Ok(());
    }
    validate_name(pattern.strip_suffix(".*").unwrap_or(pattern))
}

/// True when a subscription pattern covers `event_type`.
pub fn pattern_matches(pattern: &str, event_type: &str) -> bool {
    if pattern == "*" || pattern == event_type {
        return true;
    }
    match pattern.strip_suffix(".*") {
        Some(prefix) => event_type.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.') && rest.len() > 1),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_exact_prefix_and_everything() {
        assert!(pattern_matches("bill.paid", "bill.paid"));
        assert!(!pattern_matches("bill.paid", "bill.paid.late"));
        assert!(pattern_matches("lab.*", "lab.order.completed"));
        assert!(!pattern_matches("lab.*", "lab"));
        assert!(!pattern_matches("lab.*", "laboratory.x"));
        assert!(pattern_matches("*", "anything.at.all"));
    }

    #[test]
    fn names_are_dot_separated_segments() {
        assert!(validate_name("lab.order.completed").is_ok());
        assert!(validate_name("order_v2.shipped-late").is_ok());
        for bad in ["", "a..b", ".a", "a.", "has space", "emoji.✓", &"x".repeat(129)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert!(validate_pattern("*").is_ok());
        assert!(validate_pattern("lab.*").is_ok());
        assert!(validate_pattern("*.paid").is_err());
    }

    #[test]
    fn the_catalog_holds_the_seed_events() {
        for name in
            ["patient.registered", "appointment.booked", "bill.paid", "lab.order.completed", "system.daily.summary"]
        {
            assert!(is_builtin(name), "{name}");
        }
    }
}
