//! Deliveries: one event to one endpoint, its attempts, and the decision
//! after each attempt (delivered, retry later, failed) as typed states.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::endpoint::RetryPolicy;
use crate::event::EventSnapshot;
use crate::ids::{DeliveryId, EndpointId, EventId, TenantId};
use crate::retry::retry_delay;

/// Response body bytes kept for a failed attempt.
pub const FAILED_BODY_BYTES: usize = 2048;
/// Response body bytes kept for a successful attempt: none. Receivers rarely
/// say anything useful on success, and a slim record keeps a delivery at
/// one write unit per write.
pub const DELIVERED_BODY_BYTES: usize = 0;
/// Response headers worth keeping (failed attempts only, for the same reason).
pub const KEPT_RESPONSE_HEADERS: &[&str] =
    &["content-type", "retry-after", "x-request-id", "server", "date", "location"];

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Enqueued, not yet attempted (or requeued by a retry or an enable).
    Pending,
    /// Failed transiently; another attempt is scheduled at `next_attempt_at`.
    Retrying,
    /// The endpoint answered 2xx.
    Delivered,
    /// Failed for good: a permanent answer, or retries exhausted.
    Failed,
    /// Held without a request while its endpoint is paused or disabled.
    Parked,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Retrying => "retrying",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Parked => "parked",
        }
    }
}

/// One attempt, as recorded (response already redacted and truncated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attempt {
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub duration_ms: u64,
    pub status_code: Option<u16>,
    /// `timeout`, `connect`, `forbidden_target`, `dns`, `io`, or none when the endpoint answered.
    pub error_kind: Option<String>,
    #[serde(default)]
    pub response_headers: BTreeMap<String, String>,
    #[serde(default)]
    pub response_body: String,
    /// `delivered`, `retry_scheduled` or `failed`.
    pub outcome: String,
    /// True for an attempt a person asked for.
    #[serde(default)]
    pub manual: bool,
    /// The signature headers the request carried. Stored: only those the
    /// endpoint added to the deployment's defaults; the API shows them all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signed_headers: Vec<String>,
}

/// A delivery as stored. The sort key groups deliveries by endpoint and, within
/// one, orders them by event time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub tenant_id: TenantId,
    /// `{endpoint_id}#{delivery_id}`
    pub delivery_key: String,
    pub delivery_id: DeliveryId,
    pub event_id: EventId,
    pub endpoint_id: EndpointId,
    pub event_type: String,
    pub correlation_id: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status_code: Option<u16>,
    #[serde(default)]
    pub attempt_log: Vec<Attempt>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// TTL (epoch seconds): the retention safety net; absent while parked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl DeliveryRecord {
    /// The sort key of a delivery.
    pub fn key(id: &DeliveryId) -> String {
        format!("{}#{id}", id.endpoint_id())
    }

    /// A new, pending delivery of `event` to `endpoint`.
    pub fn pending(tenant: &TenantId, event: &EventSnapshot, endpoint: &EndpointId, retention_days: u32) -> Self {
        let id = DeliveryId::for_event(&event.event_id, endpoint);
        let now = Utc::now();
        Self {
            tenant_id: tenant.clone(),
            delivery_key: Self::key(&id),
            delivery_id: id,
            event_id: event.event_id.clone(),
            endpoint_id: endpoint.clone(),
            event_type: event.event_type.clone(),
            correlation_id: event.correlation_id.clone(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: None,
            last_status_code: None,
            attempt_log: Vec::new(),
            created_at: now,
            updated_at: now,
            expires_at: Some(now.timestamp() + i64::from(retention_days) * 86_400),
        }
    }

    /// The API view; the attempt log only for the detail route.
    pub fn view(&self, with_attempts: bool) -> DeliveryView {
        DeliveryView {
            id: self.delivery_id.to_string(),
            event_id: self.event_id.to_string(),
            endpoint_id: self.endpoint_id.to_string(),
            event_type: self.event_type.clone(),
            correlation_id: self.correlation_id.clone(),
            status: self.status,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
            last_status_code: self.last_status_code,
            created_at: self.created_at,
            updated_at: self.updated_at,
            attempt_log: with_attempts.then(|| self.attempt_log.clone()),
        }
    }
}

/// A delivery as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// `dlv_…`
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub event_type: String,
    pub correlation_id: String,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<u16>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every attempt, oldest first (detail route only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_log: Option<Vec<Attempt>>,
}

/// The delivery queue's message: which delivery, which attempt, and the
/// event itself so the worker needs no read to build the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryMessage {
    pub tenant_id: TenantId,
    pub delivery_id: DeliveryId,
    /// The attempt this message asks for (1 = first).
    pub attempt: u32,
    /// Epoch seconds before which the worker only re-enqueues (waits over 900 s hop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// A person asked for this attempt: one try, no automatic retries.
    #[serde(default)]
    pub manual: bool,
    /// Absent when the event was too large to carry; the worker reads the outbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventSnapshot>,
    /// The start slot (epoch microseconds) a rate-limited endpoint reserved
    /// for this attempt before it waited on the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_at: Option<i64>,
    /// Sent by the stream for a delivery the publish call's fast path may
    /// have sent too: the worker reads the record first and drops this
    /// message if an attempt was made.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recheck: bool,
}

/// How an attempt ended, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    /// 2xx.
    Delivered,
    /// 4xx other than 408 and 429; `gone` for 410.
    Permanent { gone: bool },
    /// 5xx, 408, 429, a timeout or a network error.
    Transient { retry_after: Option<Duration> },
}

impl AttemptResult {
    /// Classifies an HTTP status (redirects count as permanent: they are
    /// never followed).
    pub fn from_status(status: u16, retry_after: Option<Duration>) -> Self {
        match status {
            200..=299 => Self::Delivered,
            // Loop Detected: the receiver (Hookline's own inbound among them)
            // will refuse the same chain again.
            508 => Self::Permanent { gone: false },
            408 | 429 | 500..=599 => Self::Transient { retry_after },
            410 => Self::Permanent { gone: true },
            _ => Self::Permanent { gone: false },
        }
    }
}

/// What happens after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    Delivered,
    /// No more attempts. `exhausted` when transient failures used up the retries.
    Failed {
        exhausted: bool,
    },
    RetryIn(Duration),
}

/// The retry settings that apply to one delivery.
#[derive(Debug, Clone, Copy)]
pub struct RetryRules<'a> {
    pub policy: RetryPolicy,
    pub max_retries: u32,
    /// The endpoint's own delays, when it has them.
    pub schedule: Option<&'a [u32]>,
    /// `HOOKLINE_RETRY_SCALE`.
    pub scale: f64,
}

/// Decides what follows attempt number `attempt` (1-based).
pub fn decide(result: AttemptResult, attempt: u32, manual: bool, rules: RetryRules<'_>, jitter: f64) -> Next {
    match result {
        AttemptResult::Delivered => Next::Delivered,
        AttemptResult::Permanent { .. } => Next::Failed { exhausted: false },
        AttemptResult::Transient { .. } if manual => Next::Failed { exhausted: false },
        AttemptResult::Transient { retry_after } => {
            let retries_made = attempt.saturating_sub(1);
            if rules.policy == RetryPolicy::None || retries_made >= rules.max_retries {
                Next::Failed { exhausted: true }
            } else {
                Next::RetryIn(retry_delay(rules.schedule, attempt, retry_after, jitter, rules.scale))
            }
        }
    }
}

/// True when this many consecutive failed attempts should pause the endpoint.
pub fn breaker_trips(consecutive_failures: u32, max_consecutive_failures: u32) -> bool {
    max_consecutive_failures > 0 && consecutive_failures >= max_consecutive_failures
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: RetryRules<'static> =
        RetryRules { policy: RetryPolicy::Exponential, max_retries: 2, schedule: None, scale: 1.0 };

    #[test]
    fn statuses_classify_as_the_seed_describes() {
        assert_eq!(AttemptResult::from_status(204, None), AttemptResult::Delivered);
        assert_eq!(AttemptResult::from_status(404, None), AttemptResult::Permanent { gone: false });
        assert_eq!(AttemptResult::from_status(401, None), AttemptResult::Permanent { gone: false });
        assert_eq!(AttemptResult::from_status(410, None), AttemptResult::Permanent { gone: true });
        assert_eq!(AttemptResult::from_status(302, None), AttemptResult::Permanent { gone: false });
        for transient in [408, 429, 500, 503] {
            assert!(
                matches!(AttemptResult::from_status(transient, None), AttemptResult::Transient { .. }),
                "{transient}"
            );
        }
    }

    #[test]
    fn transient_failures_retry_until_max_retries_then_exhaust() {
        let t = AttemptResult::Transient { retry_after: None };
        assert!(matches!(decide(t, 1, false, RULES, 0.5), Next::RetryIn(_)));
        assert!(matches!(decide(t, 2, false, RULES, 0.5), Next::RetryIn(_)));
        assert_eq!(decide(t, 3, false, RULES, 0.5), Next::Failed { exhausted: true });
    }

    #[test]
    fn delays_grow_between_retries() {
        let t = AttemptResult::Transient { retry_after: None };
        let rules = RetryRules { max_retries: 10, ..RULES };
        let delay = |n| match decide(t, n, false, rules, 0.5) {
            Next::RetryIn(d) => d,
            other => panic!("{other:?}"),
        };
        assert!(delay(1) < delay(2) && delay(2) < delay(3));
    }

    #[test]
    fn an_own_schedule_sets_the_waits_and_its_length_the_retries() {
        let t = AttemptResult::Transient { retry_after: None };
        let own = [2u32, 4];
        let rules = RetryRules { max_retries: 2, schedule: Some(&own), ..RULES };
        assert_eq!(decide(t, 1, false, rules, 0.5), Next::RetryIn(Duration::from_secs(2)));
        assert_eq!(decide(t, 2, false, rules, 0.5), Next::RetryIn(Duration::from_secs(4)));
        assert_eq!(decide(t, 3, false, rules, 0.5), Next::Failed { exhausted: true });
    }

    #[test]
    fn permanent_failures_and_manual_attempts_never_retry() {
        assert_eq!(
            decide(AttemptResult::Permanent { gone: false }, 1, false, RULES, 0.5),
            Next::Failed { exhausted: false }
        );
        let t = AttemptResult::Transient { retry_after: None };
        assert_eq!(decide(t, 1, true, RULES, 0.5), Next::Failed { exhausted: false });
        let once = RetryRules { policy: RetryPolicy::None, ..RULES };
        assert_eq!(decide(t, 1, false, once, 0.5), Next::Failed { exhausted: true });
    }

    #[test]
    fn the_breaker_trips_at_the_threshold() {
        assert!(!breaker_trips(14, 15));
        assert!(breaker_trips(15, 15));
        assert!(!breaker_trips(100, 0), "0 turns the breaker off");
    }
}
