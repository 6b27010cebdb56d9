//! The headers of one delivery request, signatures included.

use shared::endpoint::EndpointRecord;
use shared::signature::{hms_signature, legacy_signature, standard_signature_header, SignatureError};

/// What identifies one request.
pub struct RequestIds<'a> {
    pub delivery_id: &'a str,
    pub event_type: &'a str,
    pub correlation_id: &'a str,
}

/// Every header Hookline sets, then the endpoint's own.
/// `secrets` holds the current secret first, then the previous one while
/// its grace period lasts: Standard Webhooks signs with both, HMS and the
/// legacy header with the current one.
pub fn signed_headers(
    prefix: &str,
    endpoint: &EndpointRecord,
    secrets: &[String],
    ids: &RequestIds<'_>,
    body: &str,
    timestamp: i64,
) -> Result<Vec<(String, String)>, SignatureError> {
    let current = secrets.first().map(String::as_str).unwrap_or_default();
    let all: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        (format!("{prefix}-Signature"), hms_signature(current, timestamp, body.as_bytes())),
        (format!("{prefix}-Timestamp"), timestamp.to_string()),
        ("webhook-id".to_owned(), ids.delivery_id.to_owned()),
        ("webhook-timestamp".to_owned(), timestamp.to_string()),
        ("webhook-signature".to_owned(), standard_signature_header(&all, ids.delivery_id, timestamp, body.as_bytes())?),
        ("X-Event-Type".to_owned(), ids.event_type.to_owned()),
        ("X-Delivery-Id".to_owned(), ids.delivery_id.to_owned()),
        ("X-Correlation-Id".to_owned(), ids.correlation_id.to_owned()),
    ];
    if endpoint.settings.legacy_signature {
        headers.push(("X-Signature".to_owned(), legacy_signature(current, body.as_bytes())));
    }
    headers.extend(endpoint.settings.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(headers)
}
