//! The event log: what was published, and where each event went. Reads
//! only: an event's deliveries are found by their keys, which come from the
//! event and each endpoint, so no index is written per delivery.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::delivery::{DeliveryRecord, DeliveryView};
use crate::endpoint::EndpointRecord;
use crate::event::OutboxRecord;
use crate::event_type::pattern_matches;
use crate::ids::InboundId;
use crate::inbound::InboundView;

/// An event in the log's list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventSummary {
    /// `evt_…`
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    pub correlation_id: String,
    /// Size of `data` in bytes, as published.
    pub data_bytes: usize,
    /// The test-event endpoint, for events sent to one endpoint only.
    pub only_endpoint: Option<String>,
}

/// One event with where it went (`GET /v1/events/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventDetail {
    #[serde(flatten)]
    pub event: EventSummary,
    /// The event's `data` with patient identifiers and configured fields masked.
    #[schema(value_type = Object)]
    pub data: Value,
    /// Every delivery it fanned out to, each with its last answer, by endpoint.
    pub deliveries: Vec<EventDelivery>,
    /// The inbound webhook it was made from, if any (masked).
    pub inbound: Option<InboundView>,
}

/// A delivery of the event, as the event's page shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventDelivery {
    #[serde(flatten)]
    pub delivery: DeliveryView,
    /// The endpoint's name and URL.
    pub endpoint_name: String,
    pub endpoint_url: String,
    /// The last attempt's error kind when nothing answered (`timeout`, `connect`, …).
    pub last_error_kind: Option<String>,
}

impl EventDelivery {
    pub fn new(record: &DeliveryRecord, endpoint: &EndpointRecord) -> Self {
        Self {
            delivery: record.view(false),
            endpoint_name: endpoint.settings.name.clone(),
            endpoint_url: endpoint.settings.url.clone(),
            last_error_kind: record.attempt_log.last().and_then(|a| a.error_kind.clone()),
        }
    }
}

/// What `GET /v1/events` keeps: a type (exact or `prefix.*`), a correlation id.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub event_type: Option<String>,
    pub correlation_id: Option<String>,
}

impl EventFilter {
    pub fn keeps(&self, e: &OutboxRecord) -> bool {
        self.event_type.as_deref().is_none_or(|t| pattern_matches(t, &e.event_type))
            && self.correlation_id.as_deref().is_none_or(|c| c == e.correlation_id)
    }
}

impl OutboxRecord {
    /// The log's line for this event.
    pub fn summary(&self) -> EventSummary {
        EventSummary {
            id: self.event_id.to_string(),
            event_type: self.event_type.clone(),
            created_at: self.created_at,
            correlation_id: self.correlation_id.clone(),
            data_bytes: self.payload.len(),
            only_endpoint: self.only_endpoint.as_ref().map(ToString::to_string),
        }
    }

    /// The inbound record this event was made from, by the key inbound
    /// processing publishes it with (callers check the record points back).
    pub fn inbound_origin(&self) -> Option<InboundId> {
        self.idempotency_key.as_deref()?.strip_prefix("inbound:")?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::NewEvent;
    use crate::ids::TenantId;

    fn event(event_type: &str, key: Option<&str>) -> OutboxRecord {
        let new = NewEvent {
            event_type: event_type.into(),
            payload: r#"{"a":1}"#.into(),
            idempotency_key: key.map(str::to_owned),
            correlation_id: Some("corr-1".into()),
            only_endpoint: None,
        };
        OutboxRecord::new(&TenantId::default_tenant(), new, 30)
    }

    #[test]
    fn the_filter_matches_types_by_pattern_and_correlation_ids_exactly() {
        let e = event("lab.order.completed", None);
        let by_type = |t: &str| EventFilter { event_type: Some(t.into()), ..Default::default() }.keeps(&e);
        assert!(by_type("lab.*") && by_type("lab.order.completed") && by_type("*"));
        assert!(!by_type("bill.*") && !by_type("lab.order"));
        let by_corr = |c: &str| EventFilter { correlation_id: Some(c.into()), ..Default::default() }.keeps(&e);
        assert!(by_corr("corr-1") && !by_corr("corr-2"));
    }

    #[test]
    fn an_event_made_from_an_inbound_webhook_names_it() {
        let id = InboundId::generate();
        assert_eq!(event("crm.lead", Some(&format!("inbound:{id}"))).inbound_origin(), Some(id));
        assert_eq!(event("crm.lead", Some("INV-1")).inbound_origin(), None);
        assert_eq!(event("crm.lead", None).inbound_origin(), None);
        assert_eq!(event("bill.paid", None).summary().data_bytes, 7);
    }
}
