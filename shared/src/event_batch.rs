//! Batch publish: up to 100 events in one request, each answered on its own
//! (committed, duplicate or refused), in the order sent.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::event::PublishRequest;

/// Most events in one batch.
pub const MAX_BATCH_EVENTS: usize = 100;

/// `POST /v1/events/batch`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchPublishRequest {
    /// 1 to 100 events, each as `POST /v1/events` takes it. An item that is
    /// not acceptable is refused on its own; the others still publish.
    #[schema(value_type = Vec<PublishRequest>, min_items = 1, max_items = 100)]
    pub events: Vec<Value>,
}

/// How one event of a batch was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BatchItemResult {
    /// Written to the outbox: it will be delivered.
    Committed {
        /// `evt_…`
        id: String,
    },
    /// Its idempotency key was used before, by an earlier publish or an
    /// earlier item of this batch: the first event's id. Nothing new is delivered.
    Duplicate {
        /// The first event's `evt_…`
        id: String,
    },
    /// Not published, and nothing changed. `throttled` and `unavailable`
    /// may be sent again; any other code names what to fix in the item.
    Refused {
        /// Stable, machine-readable reason, e.g. `unknown_event_type`.
        code: String,
        /// A sentence for people.
        detail: String,
    },
}

impl BatchItemResult {
    /// The refusal that `err` would have been as a whole request.
    pub fn refused(err: &ApiError) -> Self {
        Self::Refused { code: err.code.to_string(), detail: err.detail.clone() }
    }

    /// DynamoDB took too few writes in time; nothing of this item was stored.
    pub fn throttled() -> Self {
        Self::Refused {
            code: "throttled".into(),
            detail: "the event store is busy and did not take this event; publish it again".into(),
        }
    }

    /// Publishing an item with an idempotency key failed; sending it again
    /// with the same key is safe (it answers the first id if it got through).
    pub fn unavailable() -> Self {
        Self::Refused {
            code: "unavailable".into(),
            detail: "the event store failed to take this event; publish it again with the same idempotency key".into(),
        }
    }

    /// The answer to a later item that repeats this one's idempotency key.
    pub fn repeated(&self) -> Self {
        match self {
            Self::Committed { id } | Self::Duplicate { id } => Self::Duplicate { id: id.clone() },
            refused @ Self::Refused { .. } => refused.clone(),
        }
    }
}

/// `202` answer to a batch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchPublished {
    /// One result per event, in the order sent.
    pub data: Vec<BatchItemResult>,
}

/// Refuses a batch with no events or more than [`MAX_BATCH_EVENTS`].
pub fn check_batch_len(len: usize) -> Result<(), ApiError> {
    match len {
        0 => Err(ApiError::invalid("empty_batch", "events must hold at least one event")),
        n if n > MAX_BATCH_EVENTS => Err(ApiError::invalid(
            "too_many_events",
            format!("a batch holds at most {MAX_BATCH_EVENTS} events, not {n}; send the rest in another batch"),
        )),
        _ => Ok(()),
    }
}

/// For each item, the first earlier item with the same idempotency key:
/// that item's answer is this one's too. `None` for items without a key and
/// for the first item of each key.
pub fn earlier_with_same_key(keys: &[Option<&str>]) -> Vec<Option<usize>> {
    let mut first = std::collections::HashMap::new();
    keys.iter()
        .enumerate()
        .map(|(i, key)| {
            let key = (*key)?;
            match first.get(key) {
                Some(&earlier) => Some(earlier),
                None => {
                    first.insert(key, i);
                    None
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn results_carry_their_status_beside_their_fields() {
        let committed = serde_json::to_value(BatchItemResult::Committed { id: "evt_1".into() }).unwrap();
        assert_eq!(committed, json!({"status": "committed", "id": "evt_1"}));
        let refused = BatchItemResult::refused(&ApiError::invalid("invalid_data", "data must be a JSON object"));
        assert_eq!(
            serde_json::to_value(refused).unwrap(),
            json!({"status": "refused", "code": "invalid_data", "detail": "data must be a JSON object"})
        );
    }

    #[test]
    fn batches_hold_one_to_a_hundred_events() {
        assert_eq!(check_batch_len(0).unwrap_err().code, "empty_batch");
        assert!(check_batch_len(1).is_ok() && check_batch_len(MAX_BATCH_EVENTS).is_ok());
        let err = check_batch_len(MAX_BATCH_EVENTS + 1).unwrap_err();
        assert_eq!((err.status, err.code.as_ref()), (422, "too_many_events"));
        assert!(err.detail.contains("101"), "{}", err.detail);
    }

    #[test]
    fn a_repeated_key_points_at_its_first_item() {
        let keys = [Some("a"), None, Some("b"), Some("a"), None, Some("b"), Some("a")];
        assert_eq!(earlier_with_same_key(&keys), [None, None, None, Some(0), None, Some(2), Some(0)]);
    }

    #[test]
    fn a_repeat_is_a_duplicate_of_the_first_id_or_shares_its_refusal() {
        let first = BatchItemResult::Committed { id: "evt_1".into() };
        assert_eq!(first.repeated(), BatchItemResult::Duplicate { id: "evt_1".into() });
        let earlier = BatchItemResult::Duplicate { id: "evt_0".into() };
        assert_eq!(earlier.repeated(), earlier);
        assert_eq!(BatchItemResult::throttled().repeated(), BatchItemResult::throttled());
    }
}
