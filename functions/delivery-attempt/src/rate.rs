//! A rate-limited endpoint's attempts, spread out: each reserves a start
//! slot (see `shared::aws::rate_limit`), waits here when the slot is near,
//! and waits on the queue when it is not. Waiting is never an attempt, so
//! it is never counted as a failure and nothing is dropped.

use std::time::Duration;

use chrono::Utc;
use shared::aws::rate_limit::spacing_micros;
use shared::delivery::DeliveryMessage;
use shared::ids::{EndpointId, TenantId};

use crate::{message_for, send, WorkerState};

/// The longest wait spent in the function (Lambda bills it); a later slot
/// waits on the queue.
pub const IN_PROCESS_WAIT: Duration = Duration::from_secs(2);
/// A message waiting on the queue comes back about this much before its
/// slot, since SQS delays are whole seconds, and waits out the rest here.
const EARLY: Duration = Duration::from_millis(1500);

fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// What to do with a message for an endpoint limited to `limit` per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Start after this wait (zero: now).
    StartIn(Duration),
    /// Requeue, reserving `slot`, to come back after `delay`.
    Requeue { slot: i64, delay: Duration },
    /// The reserved slot passed too long ago: reserve a new one.
    Reserve,
}

/// Decides from a reserved slot and the clock. A message that comes back
/// later than half a spacing after its slot takes a new one: starting it
/// anyway could crowd the next slots into one second.
pub fn plan(slot: Option<i64>, now: i64, limit: u32) -> Plan {
    let Some(slot) = slot else { return Plan::Reserve };
    let wait = slot - now;
    if wait < -(spacing_micros(limit) / 2) {
        return Plan::Reserve;
    }
    if wait <= IN_PROCESS_WAIT.as_micros() as i64 {
        return Plan::StartIn(Duration::from_micros(wait.max(0) as u64));
    }
    Plan::Requeue { slot, delay: Duration::from_micros(wait as u64).saturating_sub(EARLY) }
}

/// Waits for the message's start slot. `true`: attempt now. `false`: the
/// message was put back on the queue to wait for its slot there.
pub async fn take_slot(state: &WorkerState, msg: &DeliveryMessage, limit: u32) -> Result<bool, String> {
    let (tenant, endpoint) = (&msg.tenant_id, msg.delivery_id.endpoint_id());
    let mut slot = msg.slot_at;
    // A sleep on a busy host can end late; the slot is checked again after
    // it, and a start that would come too late takes a new slot instead.
    for _ in 0..MAX_TRIES {
        match plan(slot, now_micros(), limit) {
            Plan::StartIn(wait) if wait.is_zero() => return Ok(true),
            Plan::StartIn(wait) => tokio::time::sleep(wait).await,
            Plan::Reserve => {
                let now = now_micros();
                let busy = state.rate_backlog_until(tenant, &endpoint) > now;
                let reserved = state.db.reserve_start(tenant, &endpoint, limit, now, busy).await;
                let reserved = reserved.map_err(|e| e.to_string())?;
                state.note_rate_backlog(tenant, &endpoint, reserved + spacing_micros(limit));
                slot = Some(reserved);
            }
            Plan::Requeue { slot, delay } => {
                tracing::debug!(slot, delay_ms = delay.as_millis() as u64, "rate limit: waiting on the queue");
                requeue(state, msg, Some(slot), delay).await?;
                return Ok(false);
            }
        }
    }
    // Still no start (a host too busy to keep time): try again shortly,
    // from the queue, without counting an attempt.
    requeue(state, msg, None, Duration::from_secs(1)).await?;
    Ok(false)
}

impl WorkerState {
    fn rate_backlog_until(&self, tenant: &TenantId, id: &EndpointId) -> i64 {
        let backlog = self.rate_backlog.lock().expect("rate backlog");
        backlog.get(&(tenant.clone(), id.clone())).copied().unwrap_or(0)
    }

    fn note_rate_backlog(&self, tenant: &TenantId, id: &EndpointId, until: i64) {
        self.rate_backlog.lock().expect("rate backlog").insert((tenant.clone(), id.clone()), until);
    }
}

/// Reserve, sleep and re-check rounds before a message goes back to the queue.
const MAX_TRIES: usize = 6;

async fn requeue(state: &WorkerState, msg: &DeliveryMessage, slot: Option<i64>, delay: Duration) -> Result<(), String> {
    let waiting = DeliveryMessage { slot_at: slot, ..msg.clone() };
    send(state, message_for(&waiting, delay)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    #[test]
    fn a_near_slot_is_waited_for_in_process() {
        assert_eq!(plan(Some(10 * S), 10 * S, 5), Plan::StartIn(Duration::ZERO));
        assert_eq!(plan(Some(10 * S + 400_000), 10 * S, 5), Plan::StartIn(Duration::from_millis(400)));
        assert_eq!(plan(Some(12 * S), 10 * S, 5), Plan::StartIn(Duration::from_secs(2)));
    }

    #[test]
    fn a_far_slot_waits_on_the_queue_and_comes_back_early() {
        assert_eq!(plan(Some(20 * S), 10 * S, 5), Plan::Requeue { slot: 20 * S, delay: Duration::from_millis(8500) });
    }

    #[test]
    fn a_slot_missed_by_more_than_half_a_spacing_is_replaced() {
        assert_eq!(plan(Some(10 * S - 90_000), 10 * S, 5), Plan::StartIn(Duration::ZERO), "within 100 ms at 5/s");
        assert_eq!(plan(Some(10 * S - 150_000), 10 * S, 5), Plan::Reserve);
        assert_eq!(plan(None, 10 * S, 5), Plan::Reserve);
    }
}
