//! Publish requests, outbox rows as the DynamoDB stream delivers them, ids,
//! and the envelope built from them: parsing never panics, an accepted
//! publish survives the trip through the outbox unchanged, and the envelope
//! is always the JSON document endpoints are promised.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::event::{envelope, valid_correlation_id, EventSnapshot, NewEvent, OutboxRecord, PublishRequest};
use shared::ids::{DeliveryId, EndpointId, EventId, TenantId};

#[derive(Arbitrary, Debug)]
enum Input<'a> {
    /// A `POST /v1/events` body.
    Publish(&'a [u8]),
    /// An outbox stream image in DynamoDB JSON (`{"event_id": {"S": "evt_…"}, …}`).
    StreamImage(&'a [u8]),
    /// Id text from a path or a stored row.
    Id(&'a str),
}

/// Checks the envelope of `event` parses and carries the event as given.
fn check_envelope(event: &EventSnapshot) {
    let Ok(data) = serde_json::from_str::<Value>(&event.payload) else { return };
    let endpoint = EndpointId::generate();
    let delivery = DeliveryId::for_event(&event.event_id, &endpoint);
    let body = envelope(event, &endpoint, &delivery);
    let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("envelope is not JSON ({e}): {body}"));
    assert_eq!(parsed["id"], event.event_id.as_str());
    assert_eq!(parsed["type"], event.event_type.as_str());
    assert_eq!(parsed["data"], data);
    assert_eq!(parsed["metadata"]["delivery_id"], delivery.as_str());
    assert_eq!(parsed["metadata"]["correlation_id"], event.correlation_id.as_str());
}

fuzz_target!(|input: Input| match input {
    Input::Publish(bytes) => {
        let Ok(request) = serde_json::from_slice::<PublishRequest>(bytes) else { return };
        let Ok(event) = NewEvent::from_request(request, |t| !t.is_empty()) else { return };
        let record = OutboxRecord::new(&TenantId::default_tenant(), event, 30);
        let item: serde_dynamo::Item = serde_dynamo::to_item(&record).expect("an outbox row serializes");
        let back: OutboxRecord = serde_dynamo::from_item(item).expect("an outbox row reads back");
        assert_eq!(back, OutboxRecord { idempotency_ttl_seconds: None, ..record.clone() });
        check_envelope(&EventSnapshot::from(&back));
    }
    Input::StreamImage(bytes) => {
        let Ok(item) = serde_json::from_slice::<serde_dynamo::Item>(bytes) else { return };
        let Ok(record) = serde_dynamo::from_item::<_, OutboxRecord>(item) else { return };
        check_envelope(&EventSnapshot::from(&record));
    }
    Input::Id(text) => {
        if let Ok(id) = text.parse::<EventId>() {
            assert_eq!(id.as_str(), text);
            let endpoint = EndpointId::generate();
            let delivery = DeliveryId::for_event(&id, &endpoint);
            assert_eq!(delivery.as_str().parse::<DeliveryId>().as_ref(), Ok(&delivery));
        }
        if let Ok(delivery) = text.parse::<DeliveryId>() {
            assert_eq!(DeliveryId::for_event(&delivery.event_id(), &delivery.endpoint_id()), delivery);
            let _ = delivery.event_millis();
        }
        let _ = text.parse::<TenantId>();
        let _ = valid_correlation_id(text);
    }
});
