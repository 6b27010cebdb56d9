//! A message that may repeat one already worked: SQS redelivers (a worker
//! died, or a visibility timeout ran out), and the stream sends its own copy
//! of a fast-path delivery it found unattempted.

use chrono::Utc;
use shared::delivery::{DeliveryMessage, DeliveryRecord, DeliveryStatus};

use crate::{message_for, send, SqsMessage, WorkerState};

/// True when the message needs no attempt: its delivery is past it (or, for
/// a redelivered message whose attempt is recorded, once the retry that
/// attempt scheduled is enqueued again).
pub async fn already_worked(state: &WorkerState, message: &SqsMessage, msg: &DeliveryMessage) -> Result<bool, String> {
    let (tenant, id) = (&msg.tenant_id, &msg.delivery_id);
    if msg.recheck {
        // The stream's copy of a message the fast path may have sent too.
        let found = state.db.get_delivery(tenant, id).await.map_err(|e| e.to_string())?;
        if found.is_some_and(|d| d.attempts >= msg.attempt || d.status != DeliveryStatus::Pending) {
            tracing::debug!("the fast path's message went first; this copy is dropped");
            return Ok(true);
        }
    } else if message.attributes.get("ApproximateReceiveCount").is_some_and(|n| n != "1") {
        // A redelivered message may already have been worked: check first.
        match state.db.get_delivery(tenant, id).await.map_err(|e| e.to_string())? {
            // Not written yet (the fast path sends first): the attempt writes it.
            None if msg.attempt == 1 => {}
            None => return Ok(true),
            Some(d) if d.attempts > msg.attempt => return Ok(true),
            Some(d) if d.attempts == msg.attempt => {
                resume_retry(state, msg, &d).await?;
                return Ok(true);
            }
            Some(_) => {}
        }
    }
    Ok(false)
}

/// A redelivered message whose attempt is recorded already: its worker
/// may have died before enqueueing the retry that attempt scheduled, so it
/// is enqueued again (a duplicate of one that did go out stops at its record).
async fn resume_retry(state: &WorkerState, msg: &DeliveryMessage, current: &DeliveryRecord) -> Result<(), String> {
    if current.status != DeliveryStatus::Retrying {
        return Ok(());
    }
    let wait = current.next_attempt_at.and_then(|at| (at - Utc::now()).to_std().ok()).unwrap_or_default();
    let retry =
        DeliveryMessage { attempt: msg.attempt + 1, not_before: None, slot_at: None, recheck: false, ..msg.clone() };
    tracing::info!("re-enqueueing the retry of an attempt recorded before its worker stopped");
    send(state, message_for(&retry, wait)).await
}
