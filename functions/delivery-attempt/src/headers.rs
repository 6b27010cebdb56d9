//! The headers of one delivery request, signatures included.

use std::collections::BTreeMap;

use shared::endpoint::{custom_headers, EndpointRecord};
use shared::hops::HOP_HEADER;
use shared::signature::{hms_signature, legacy_signature, standard_signature_header, SignatureError};

/// What identifies one request.
pub struct RequestIds<'a> {
    pub delivery_id: &'a str,
    pub event_type: &'a str,
    pub correlation_id: &'a str,
    /// The `X-Hookline-Hop` value (see `shared::hops`).
    pub hop: &'a str,
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
        (HOP_HEADER.to_owned(), ids.hop.to_owned()),
    ];
    if endpoint.settings.legacy_signature {
        headers.push(("X-Signature".to_owned(), legacy_signature(current, body.as_bytes())));
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
        let json = serde_json::json!({
            "tenant_id": "t", "endpoint_id": "ep_01m81dwf7mjafjp0vrcp1x1k6b", "url": "https://a.example/", "name": "a",
            "description": "", "event_types": ["*"], "retry_policy": "exponential", "max_retries": 3, "timeout_seconds": 5,
            "headers": {"X-Tenant": "7"}, "legacy_signature": legacy, "status": "active", "secret_sealed": "", "secret_masked": "",
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
    fn during_a_rotation_both_secrets_sign_and_legacy_uses_the_current_one() {
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
        assert_eq!(header(&h, "X-Signature").unwrap(), shared::signature::legacy_signature(CURRENT, body.as_bytes()));
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
