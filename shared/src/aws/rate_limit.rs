//! An endpoint's rate limit, shared by every worker: one small item per
//! limited endpoint in the claims table holds the time its next attempt may
//! start (the generic cell rate algorithm). Each attempt reserves its own
//! start slot, `1/limit` seconds after the previous one, with an atomic
//! update, so workers on any number of Lambda instances never start more
//! than the limit in a second. Endpoints without a limit never touch it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::dynamo::{s, unless_condition_failed, Db};
use super::StoreError;
use crate::ids::{EndpointId, TenantId};

/// How long a slot item outlives its last reservation (TTL, epoch seconds).
/// Long: reserved slots may lie hours ahead, and an item removed while
/// messages still hold them would let new reservations start at once.
const SLOT_TTL_SECONDS: i64 = 7 * 86_400;

/// Microseconds between two starts at `limit` per second.
pub fn spacing_micros(limit: u32) -> i64 {
    1_000_000 / i64::from(limit.max(1))
}

fn slot_key(tenant: &TenantId, endpoint: &EndpointId) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("tenant_id".to_owned(), s(tenant.as_str())),
        // Its own namespace: no caller's idempotency key can collide with it.
        ("idempotency_key".to_owned(), s(&format!("rate:{endpoint}"))),
    ])
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl Db {
    /// Reserves the next start slot of an endpoint limited to `limit`
    /// attempts per second and returns its time (epoch microseconds): `now`
    /// when the endpoint is idle, else the first slot after those already
    /// reserved. `now_micros` is the caller's clock. `busy_first` tries the
    /// busy case first (the caller saw a backlog moments ago), so a backlog
    /// costs one write per slot rather than a failed one and a second.
    pub async fn reserve_start(
        &self,
        tenant: &TenantId,
        endpoint: &EndpointId,
        limit: u32,
        now_micros: i64,
        busy_first: bool,
    ) -> Result<i64, StoreError> {
        let spacing = spacing_micros(limit);
        let order = if busy_first { [true, false] } else { [false, true] };
        // Each try fails only when the other case held at that moment; the
        // state flips rarely, so a few rounds always settle it.
        for _ in 0..3 {
            for busy in order {
                if let Some(slot) = self.take_slot((tenant, endpoint), spacing, now_micros, busy).await? {
                    return Ok(slot);
                }
            }
        }
        Err(StoreError::Aws("rate slot: no slot after several tries".into()))
    }

    /// Takes a slot: an idle endpoint's (its next slot has passed) is now;
    /// a busy one's is the slot after the last one reserved (atomic, so two
    /// workers never get the same one). `None` when the other case held.
    async fn take_slot(
        &self,
        (tenant, endpoint): (&TenantId, &EndpointId),
        spacing: i64,
        now: i64,
        busy: bool,
    ) -> Result<Option<i64>, StoreError> {
        let (update, condition, value) = if busy {
            ("SET next_start = next_start + :v, expires_at = :exp", "next_start > :now", spacing)
        } else {
            (
                "SET next_start = :v, expires_at = :exp",
                "attribute_not_exists(next_start) OR next_start <= :now",
                now + spacing,
            )
        };
        let written = self
            .client
            .update_item()
            .table_name(&self.tables.idempotency)
            .set_key(Some(slot_key(tenant, endpoint)))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_values(":v", n(value))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":exp", n(now / 1_000_000 + SLOT_TTL_SECONDS))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        let Some(out) = unless_condition_failed(written, "dynamodb UpdateItem (rate slot)")? else {
            return Ok(None);
        };
        out.attributes
            .and_then(|a| a.get("next_start").and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<i64>().ok()))
            .map(|next| Some(next - spacing))
            .ok_or_else(|| StoreError::Aws("rate slot: no next_start returned".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_spreads_a_second_evenly() {
        assert_eq!(spacing_micros(5), 200_000);
        assert_eq!(spacing_micros(1000), 1_000);
        assert_eq!(spacing_micros(0), 1_000_000, "a zero limit is treated as one a second");
    }
}
