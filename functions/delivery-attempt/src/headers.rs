//! The headers of one delivery request, signatures included.

use std::collections::BTreeMap;

use shared::endpoint::{custom_headers, EndpointRecord, SignatureSpec};
use shared::hops::HOP_HEADER;
use shared::signature::{hms_signature, standard_signature_header, SignatureError};

/// What identifies one request.
pub struct RequestIds<'a> {
    pub delivery_id: &'a str,
    pub event_type: &'a str,
    pub correlation_id: &'a str,
    /// The `X-Hookline-Hop` value (see `shared::hops`).
    pub hop: &'a str,
}

/// The signature headers an endpoint asked for beyond the defaults:
/// `legacy_signature`'s `X-Signature`, then its own `signature`.
pub fn extra_signatures(endpoint: &EndpointRecord) -> impl Iterator<Item = SignatureSpec> + '_ {
    let s = &endpoint.settings;
    s.legacy_signature.then(SignatureSpec::legacy).into_iter().chain(s.signature.iter().cloned())
}

/// Every header Hookline sets, then the endpoint's own.
/// `secrets` holds the current secret first, then the previous one while
/// its grace period lasts: Standard Webhooks and the extra signatures sign
/// with both, HMS with the current one.
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
        (HOP_HEADER.to_owned(), ids.hop.to_owned()),
    ];
    for spec in extra_signatures(endpoint) {
        let value = spec.value(&all, timestamp, body.as_bytes());
        headers.push((spec.header, value));
    }
    headers.extend(endpoint.settings.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(headers)
}

/// What a request carries that must never be stored: each signature
/// header's value and the digests in it, the signing secrets, and the
/// endpoint's custom header values. A receiver that echoes the request can
/// send any of them back.
pub fn sensitive_values(
    headers: &[(String, String)],
    secrets: &[String],
    custom: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out: Vec<String> = secrets.to_vec();
    out.extend(custom_headers::sensitive_parts(custom));
    out.extend(secrets.iter().filter_map(|s| s.strip_prefix("whsec_")).map(str::to_owned));
    for (_, value) in headers.iter().filter(|(k, _)| k.to_ascii_lowercase().ends_with("signature")) {
        out.push(value.clone());
        out.extend(value.split([' ', ',', '=']).filter(|part| part.len() >= 16).map(str::to_owned));
    }
    // Whole values before their parts, so a scrub leaves no fragments.
    out.sort_by_key(|v| std::cmp::Reverse(v.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::signature::{verify_hms, verify_standard};

    fn endpoint(legacy: bool) -> EndpointRecord {
        endpoint_with(legacy, serde_json::Value::Null)
    }

    fn endpoint_with(legacy: bool, signature: serde_json::Value) -> EndpointRecord {
        let json = serde_json::json!({
            "tenant_id": "t", "endpoint_id": "ep_01m81dwf7mjafjp0vrcp1x1k6b", "url": "https://a.example/", "name": "a",
            "description": "", "event_types": ["*"], "retry_policy": "exponential", "max_retries": 3, "timeout_seconds": 5,
            "headers": {"X-Tenant": "7"}, "legacy_signature": legacy, "signature": signature, "status": "active", "secret_sealed": "", "secret_masked": "",
            "version": 1, "created_at": "2026-11-22T00:00:00Z", "updated_at": "2026-11-22T00:00:00Z"
        });
        serde_json::from_value(json).unwrap()
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    const IDS: RequestIds<'static> =
        RequestIds { delivery_id: "dlv_1", event_type: "bill.paid", correlation_id: "c-1", hop: "v1,1,x" };
    const CURRENT: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const PREVIOUS: &str = "whsec_c2Vjb25kIHNlY3JldCBvZiBhdCBsZWFzdCAyNCBieXRlcw==";

    #[test]
    fn both_schemes_sign_the_body_with_the_configured_prefix() {
        let body = r#"{"id":"evt_1"}"#;
        let h = signed_headers("X-Acme", &endpoint(false), &[CURRENT.into()], &IDS, body, 1_800_000_000).unwrap();
        let (ts, sig) = (header(&h, "X-Acme-Timestamp").unwrap(), header(&h, "X-Acme-Signature").unwrap());
        assert!(verify_hms(CURRENT, ts, sig, body.as_bytes(), 1_800_000_000, 300).is_ok());
        let std_sig = header(&h, "webhook-signature").unwrap();
        assert!(verify_standard(CURRENT, "dlv_1", ts, std_sig, body.as_bytes(), 1_800_000_000, 300).is_ok());
        assert_eq!(header(&h, "webhook-id"), Some("dlv_1"));
        assert_eq!(header(&h, "X-Tenant"), Some("7"));
        assert_eq!(header(&h, "X-Signature"), None, "legacy header only when asked for");
    }

    #[test]
    fn a_consumers_own_signature_header_is_added_beside_the_defaults() {
        let body = r#"{"event":"order.created"}"#;
        let spec = serde_json::json!({"header": "X-C4HXP-Signature", "prefix": "sha256="});
        let h =
            signed_headers("X-HMS", &endpoint_with(false, spec), &[CURRENT.into()], &IDS, body, 1_800_000_000).unwrap();
        let own = header(&h, "X-C4HXP-Signature").unwrap();
        assert_eq!(own, shared::signature::legacy_signature(CURRENT, body.as_bytes()), "sha256= + hex HMAC(body)");
        assert!(header(&h, "X-HMS-Signature").is_some() && header(&h, "webhook-signature").is_some());
        let timed = serde_json::json!({"header": "X-Sig", "content": "timestamp.body", "encoding": "base64"});
        let h = signed_headers("X-HMS", &endpoint_with(false, timed), &[CURRENT.into()], &IDS, body, 1_800_000_000)
            .unwrap();
        let expected = shared::signature::custom_signature(&[CURRENT], true, true, "", 1_800_000_000, body.as_bytes());
        assert_eq!(header(&h, "X-Sig").unwrap(), expected);
        assert!(expected.ends_with('='), "base64 of the timestamped MAC");
    }

    #[test]
    fn during_a_rotation_both_secrets_sign_every_signature_but_hms() {
        let body = "{}";
        let secrets = [CURRENT.to_owned(), PREVIOUS.to_owned()];
        let h = signed_headers("X-HMS", &endpoint(true), &secrets, &IDS, body, 1_800_000_000).unwrap();
        let std_sig = header(&h, "webhook-signature").unwrap();
        assert_eq!(std_sig.split(' ').count(), 2);
        for secret in [CURRENT, PREVIOUS] {
            assert!(
                verify_standard(secret, "dlv_1", "1800000000", std_sig, body.as_bytes(), 1_800_000_000, 300).is_ok()
            );
        }
        let legacy = |s: &str| shared::signature::legacy_signature(s, body.as_bytes());
        assert_eq!(header(&h, "X-Signature").unwrap(), format!("{} {}", legacy(CURRENT), legacy(PREVIOUS)));
        let hms = header(&h, "X-HMS-Signature").unwrap();
        assert_eq!(hms, shared::signature::hms_signature(CURRENT, 1_800_000_000, body.as_bytes()));
    }

    #[test]
    fn every_signature_and_secret_is_sensitive() {
        let secrets = [CURRENT.to_owned(), PREVIOUS.to_owned()];
        let h = signed_headers("X-HMS", &endpoint(true), &secrets, &IDS, "{}", 1_800_000_000).unwrap();
        let custom = BTreeMap::from([("Authorization".to_owned(), "Bearer sk_live_abcdef123456".to_owned())]);
        let sensitive = sensitive_values(&h, &secrets, &custom);
        assert!(sensitive.iter().any(|s| s == "sk_live_abcdef123456"), "a custom credential's token");
        for name in ["X-HMS-Signature", "webhook-signature", "X-Signature"] {
            let value = header(&h, name).unwrap();
            assert!(sensitive.iter().any(|s| s == value), "{name}");
        }
        let hex = header(&h, "X-HMS-Signature").unwrap().trim_start_matches("sha256=");
        assert!(sensitive.iter().any(|s| s == hex), "the bare digest too");
        assert!(sensitive.iter().any(|s| s == "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "the key without its prefix");
        assert!(!sensitive.iter().any(|s| s == "dlv_1" || s == "1800000000"), "ids and timestamps are not secret");
    }
}
