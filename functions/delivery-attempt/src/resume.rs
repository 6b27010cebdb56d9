//! The other job on the delivery queue: resuming an enabled endpoint's
//! parked deliveries a page at a time (see `shared::ops::resume`), and
//! closing the race between parking a delivery and that resume.

use shared::delivery::{DeliveryMessage, DeliveryRecord, DeliveryStatus};
use shared::endpoint::EndpointStatus;
use shared::ops::resume::{self, ResumeParked};
use tracing::Instrument;

use crate::{message_for, send, WorkerState};

/// One page, then the job for the next one (queued before this message is
/// acknowledged, so a crash in between repeats a page and skips none).
pub async fn work(state: &WorkerState, job: ResumeParked) -> Result<(), String> {
    let span = tracing::info_span!("resume_parked", endpoint_id = %job.endpoint_id);
    async move {
        let page = resume::page(&state.db, &state.queue, &job).await.map_err(|e| e.to_string())?;
        if let Some(next) = &page.next {
            send(state, next.message()).await?;
        }
        tracing::info!(resumed = page.resumed, more = page.next.is_some(), "parked deliveries resumed");
        Ok(())
    }
    .instrument(span)
    .await
}

/// Parks a delivery of an endpoint that is not active. An enable between
/// the worker's read of the endpoint and this write may have resumed the
/// endpoint's parked deliveries already, without this one: a fresh read
/// after parking sees that enable, and the delivery goes straight back on
/// the queue.
pub async fn park(state: &WorkerState, msg: &DeliveryMessage) -> Result<(), String> {
    let (tenant, id) = (&msg.tenant_id, &msg.delivery_id);
    let from = [DeliveryStatus::Pending, DeliveryStatus::Retrying];
    let mut parked =
        state.db.set_delivery_status(tenant, id, DeliveryStatus::Parked, &from).await.map_err(|e| e.to_string())?;
    if !parked && state.db.get_delivery(tenant, id).await.map_err(|e| e.to_string())?.is_none() {
        // The fast path sends before it writes the record: write it here, then park it.
        let Some(event) = &msg.event else {
            return Err("the delivery's record is not written yet; parking it later".into());
        };
        let record = DeliveryRecord::pending(tenant, event, &id.endpoint_id(), state.config.retention_days);
        state.db.create_delivery(&record).await.map_err(|e| e.to_string())?;
        parked =
            state.db.set_delivery_status(tenant, id, DeliveryStatus::Parked, &from).await.map_err(|e| e.to_string())?;
    }
    if !parked {
        return Ok(());
    }
    let now = state.db.get_endpoint_now(tenant, &id.endpoint_id()).await.map_err(|e| e.to_string())?;
    if now.is_none_or(|e| e.status != EndpointStatus::Active) {
        state.metrics.ended(shared::metrics::DeliveryOutcome::Parked);
        tracing::info!("endpoint not active; delivery parked");
        return Ok(());
    }
    let back = [DeliveryStatus::Parked];
    if state.db.set_delivery_status(tenant, id, DeliveryStatus::Pending, &back).await.map_err(|e| e.to_string())? {
        tracing::info!("endpoint enabled while parking; delivery requeued");
        send(state, message_for(msg, std::time::Duration::ZERO)).await?;
    }
    Ok(())
}
