//! Resuming an enabled endpoint's parked deliveries in the background.
//!
//! An endpoint that was down for a day can have a hundred thousand parked
//! deliveries; requeueing them inside the enable request would outlive
//! API Gateway's 29 s. Enable instead queues a [`ResumeParked`] job on the
//! delivery queue. The delivery worker takes it, requeues one page, and
//! queues the job again from where the page ended, until the endpoint's
//! deliveries are all seen.

use serde::{Deserialize, Serialize};

use crate::aws::dynamo::Db;
use crate::aws::sqs::{OutgoingMessage, Queue};
use crate::aws::StoreError;
use crate::delivery::{DeliveryRecord, DeliveryStatus};
use crate::endpoint::EndpointStatus;
use crate::ids::{EndpointId, TenantId};

/// Deliveries one job reads (parked or not): one Query page, so each job
/// has bounded work however large the endpoint's history is.
pub const RESUME_PAGE: usize = 250;

/// "Requeue this endpoint's parked deliveries after `after`."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeParked {
    pub tenant_id: TenantId,
    pub endpoint_id: EndpointId,
    /// The last delivery key the previous page read; none for the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// The job's body on the delivery queue: the one field a delivery message
/// never has tells the two apart.
#[derive(Serialize, Deserialize)]
struct Job {
    resume_parked: ResumeParked,
}

impl ResumeParked {
    /// The queue message for this job.
    pub fn message(&self) -> OutgoingMessage {
        let body = serde_json::to_string(&Job { resume_parked: self.clone() }).expect("resume jobs serialize");
        OutgoingMessage { id: "0".into(), body, delay_seconds: 0 }
    }

    /// The job a delivery-queue body carries, if it is one.
    pub fn from_body(body: &str) -> Option<Self> {
        // Cheap test first: every delivery message goes through here.
        if !body.contains("\"resume_parked\"") {
            return None;
        }
        serde_json::from_str::<Job>(body).ok().map(|j| j.resume_parked)
    }
}

/// What one page did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResumePage {
    /// Deliveries put back on the queue.
    pub resumed: u32,
    /// The job for the next page; none when the endpoint's deliveries are
    /// all seen, or it is no longer active (a later enable starts over).
    pub next: Option<ResumeParked>,
}

/// Queues the first page's job: what enable does after making the endpoint active.
pub async fn start(queue: &Queue, tenant: &TenantId, endpoint: &EndpointId) -> Result<(), StoreError> {
    let job = ResumeParked { tenant_id: tenant.clone(), endpoint_id: endpoint.clone(), after: None };
    super::replay::send_one(queue, job.message().body).await
}

/// Works one page: each parked delivery in it goes back to `pending` and
/// onto the queue, ten to a batch call.
pub async fn page(db: &Db, queue: &Queue, job: &ResumeParked) -> Result<ResumePage, StoreError> {
    // Strongly consistent reads: the job may run a few milliseconds after
    // the enable, and a stale copy would end the resume before it began.
    let active = db.get_endpoint_now(&job.tenant_id, &job.endpoint_id).await?;
    if active.is_none_or(|e| e.status != EndpointStatus::Active) {
        return Ok(ResumePage::default());
    }
    let seen = db.delivery_page_now(&job.tenant_id, &job.endpoint_id, job.after.as_deref(), RESUME_PAGE).await?;
    let parked: Vec<&DeliveryRecord> = seen.iter().filter(|d| d.status == DeliveryStatus::Parked).collect();
    let mut resumed = 0;
    for chunk in parked.chunks(crate::aws::sqs::MAX_BATCH) {
        resumed += requeue_batch(db, queue, chunk).await?;
    }
    let next = (seen.len() == RESUME_PAGE)
        .then(|| ResumeParked { after: seen.last().map(|d| d.delivery_key.clone()), ..job.clone() });
    Ok(ResumePage { resumed, next })
}

/// Claims up to ten parked deliveries (parked → pending) and sends their
/// messages in one call. A message the queue refuses puts its delivery
/// back to parked, so a retried job finds it again instead of leaving it
/// pending with nothing on the queue.
async fn requeue_batch(db: &Db, queue: &Queue, batch: &[&DeliveryRecord]) -> Result<u32, StoreError> {
    let claims = futures_util::future::join_all(batch.iter().map(|d| {
        db.set_delivery_status(&d.tenant_id, &d.delivery_id, DeliveryStatus::Pending, &[DeliveryStatus::Parked])
    }))
    .await;
    let mut claimed = Vec::new();
    for (d, claim) in batch.iter().zip(claims) {
        if claim? {
            claimed.push(*d);
        }
    }
    let messages: Vec<OutgoingMessage> = claimed
        .iter()
        .enumerate()
        .map(|(n, d)| {
            let body = serde_json::to_string(&super::replay::next_attempt(d, false)).expect("messages serialize");
            OutgoingMessage { id: n.to_string(), body, delay_seconds: 0 }
        })
        .collect();
    let refused = match queue.send_all(&messages).await {
        Ok(refused) => refused,
        Err(e) => {
            unclaim(db, &claimed).await;
            return Err(e);
        }
    };
    if !refused.is_empty() {
        let back: Vec<&DeliveryRecord> =
            refused.iter().filter_map(|id| id.parse::<usize>().ok()).filter_map(|n| claimed.get(n).copied()).collect();
        unclaim(db, &back).await;
        return Err(StoreError::Aws(format!("the queue refused {} resumed deliveries", back.len())));
    }
    Ok(claimed.len() as u32)
}

async fn unclaim(db: &Db, deliveries: &[&DeliveryRecord]) {
    for d in deliveries {
        let back =
            db.set_delivery_status(&d.tenant_id, &d.delivery_id, DeliveryStatus::Parked, &[DeliveryStatus::Pending]);
        if let Err(e) = back.await {
            tracing::error!(delivery_id = %d.delivery_id, error = %e, "a resumed delivery is pending with no message");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::DeliveryMessage;

    fn job(after: Option<&str>) -> ResumeParked {
        ResumeParked {
            tenant_id: "acme".parse().unwrap(),
            endpoint_id: EndpointId::generate(),
            after: after.map(str::to_owned),
        }
    }

    #[test]
    fn a_resume_job_round_trips_through_its_queue_body() {
        for j in [job(None), job(Some("ep_x#dlv_y"))] {
            assert_eq!(ResumeParked::from_body(&j.message().body), Some(j));
        }
    }

    #[test]
    fn a_delivery_message_is_not_taken_for_a_resume_job() {
        let message = DeliveryMessage {
            tenant_id: "acme".parse().unwrap(),
            delivery_id: crate::ids::DeliveryId::for_event(&crate::ids::EventId::generate(), &EndpointId::generate()),
            attempt: 1,
            not_before: None,
            manual: false,
            event: None,
            slot_at: None,
            recheck: false,
        };
        let body = serde_json::to_string(&message).unwrap();
        assert_eq!(ResumeParked::from_body(&body), None);
        // Event data that merely mentions the word is still a delivery.
        assert_eq!(ResumeParked::from_body(r#"{"delivery_id":"x","data":{"resume_parked":1}}"#), None);
    }
}
