//! An endpoint's own headers: what may be set, and how the values are kept.
//!
//! Custom headers are where a receiver's `Authorization` or API key goes,
//! so every value is treated as a secret: sealed at rest with the data key,
//! masked in every read but `GET /v1/endpoints/{id}/headers`, and scrubbed
//! from stored responses by the delivery worker.

use std::collections::BTreeMap;

use crate::crypto::{mask_secret, OpenError, SecretBox};
use crate::error::ApiError;
use crate::ids::{EndpointId, TenantId};

pub const MAX_HEADERS: usize = 20;
/// Longest header name, in bytes.
pub const MAX_HEADER_NAME: usize = 64;
/// Longest header value, in bytes (DynamoDB counts bytes).
pub const MAX_HEADER_VALUE: usize = 1024;

/// Headers Hookline sets itself; a custom header may not replace them.
const RESERVED: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "content-encoding",
    "user-agent",
    "x-event-type",
    "x-delivery-id",
    "x-correlation-id",
    "x-signature",
    crate::hops::HOP_HEADER,
];

/// Headers that describe one connection or the message's framing, not the
/// request (RFC 9110 §7.6.1, RFC 9112): a proxy would drop or act on them,
/// and a receiver would misread the request.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
    "http2-settings",
];

/// True for a name made of letters, digits and `-`, within the length limit.
pub fn is_token(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_HEADER_NAME && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Why Hookline owns this header name (set on every delivery, or about the
/// connection rather than the request), or `None` when a user may set it.
/// `prefix` is the deployment's signature header prefix (`X-HMS`).
pub fn reserved(name: &str, prefix: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if HOP_BY_HOP.contains(&lower.as_str()) {
        return Some("describes a connection, not a request");
    }
    let signature_prefix = format!("{}-", prefix.to_ascii_lowercase());
    if RESERVED.contains(&lower.as_str()) || lower.starts_with("webhook-") || lower.starts_with(&signature_prefix) {
        return Some("is set by Hookline on every delivery");
    }
    None
}

/// Checks the names and values a create or patch sets. `prefix` is the
/// deployment's signature header prefix (`X-HMS`).
pub fn validate(headers: &BTreeMap<String, String>, prefix: &str) -> Result<(), ApiError> {
    if headers.len() > MAX_HEADERS {
        return Err(ApiError::invalid(
            "too_many_items",
            format!("headers holds {} entries; at most {MAX_HEADERS} are allowed", headers.len()),
        ));
    }
    for (name, value) in headers {
        if !is_token(name) {
            return Err(ApiError::invalid(
                "invalid_header",
                format!(
                    "header name `{}` may hold only letters, digits and `-` ({MAX_HEADER_NAME} at most)",
                    name.chars().take(80).collect::<String>()
                ),
            ));
        }
        let lower = name.to_ascii_lowercase();
        if HOP_BY_HOP.contains(&lower.as_str()) {
            return Err(ApiError::invalid(
                "hop_by_hop_header",
                format!("`{name}` describes a connection, not a request; it cannot be set on deliveries"),
            ));
        }
        if reserved(name, prefix).is_some() {
            return Err(ApiError::invalid(
                "reserved_header",
                format!("`{name}` is set by Hookline on every delivery and cannot be overridden"),
            ));
        }
        if value.len() > MAX_HEADER_VALUE {
            return Err(ApiError::invalid(
                "field_too_long",
                format!("header `{name}` is longer than {MAX_HEADER_VALUE} bytes"),
            ));
        }
        // Tab is the one control character a field value may hold (RFC 9110 §5.5).
        if let Some(bad) = value.bytes().find(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(ApiError::invalid(
                "invalid_header_value",
                format!("header `{name}` contains the control character 0x{bad:02x}; only tab is allowed"),
            ));
        }
    }
    Ok(())
}

/// The associated data that binds sealed headers to their endpoint.
pub fn aad(tenant: &TenantId, id: &EndpointId) -> String {
    format!("endpoint-headers/{tenant}/{id}")
}

/// Seals a header map (empty maps are not stored at all).
pub fn seal(headers: &BTreeMap<String, String>, sealer: &SecretBox, aad: &str) -> Option<String> {
    if headers.is_empty() {
        return None;
    }
    let json = serde_json::to_string(headers).expect("a string map serializes");
    Some(sealer.seal(&json, aad))
}

/// Opens what [`seal`] made.
pub fn open(sealed: &str, sealer: &SecretBox, aad: &str) -> Result<BTreeMap<String, String>, OpenError> {
    let json = sealer.open(sealed, aad)?;
    serde_json::from_str(&json).map_err(|_| OpenError::new("sealed headers are not a JSON map"))
}

/// The form reads show: each name, its value masked.
pub fn masked(headers: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    headers.iter().map(|(k, v)| (k.clone(), mask_secret(v))).collect()
}

/// A patch's headers with every value that is exactly the masked form of
/// the current value put back to the current value: a client that reads an
/// endpoint and sends its headers back unchanged keeps them.
pub fn keep_masked_echoes(
    patch: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    patch
        .iter()
        .map(|(name, value)| {
            let kept = current.get(name).filter(|now| mask_secret(now) == *value).unwrap_or(value);
            (name.clone(), kept.clone())
        })
        .collect()
}

/// The parts of the values a receiver might echo back, longest first:
/// each value of six bytes or more, and its words of eight or more (the
/// token after `Bearer`).
pub fn sensitive_parts(headers: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for value in headers.values() {
        if value.len() >= 6 {
            out.push(value.clone());
        }
        out.extend(value.split([' ', ',', '=', ':']).filter(|w| w.len() >= 8 && w != value).map(str::to_owned));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, value: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(name.to_owned(), value.to_owned())])
    }

    fn code(name: &str, value: &str) -> String {
        validate(&one(name, value), "X-HMS").map(|_| "ok".to_owned()).unwrap_or_else(|e| e.code.into_owned())
    }

    #[test]
    fn control_characters_other_than_tab_are_refused_in_values() {
        for bad in ["a\u{1}b", "a\u{7f}", "line\u{b}tab", "a\rb", "a\nb", "nul\0"] {
            assert_eq!(code("X-Api-Key", bad), "invalid_header_value", "{bad:?}");
        }
        assert_eq!(code("X-Api-Key", "a\tb"), "ok");
        assert_eq!(code("X-Api-Key", "naïve ünïcode"), "ok");
    }

    #[test]
    fn hop_by_hop_and_framing_headers_are_refused() {
        for name in ["TE", "Upgrade", "Keep-Alive", "Connection", "Transfer-Encoding", "Trailer", "Proxy-Connection"] {
            assert_eq!(code(name, "x"), "hop_by_hop_header", "{name}");
        }
        assert_eq!(code("X-Hookline-Hop", "x"), "reserved_header");
        assert_eq!(code("Content-Length", "1"), "reserved_header");
    }

    #[test]
    fn value_length_counts_bytes() {
        let emoji = "😀".repeat(MAX_HEADER_VALUE / 4 + 1);
        assert!(emoji.chars().count() < MAX_HEADER_VALUE);
        assert_eq!(code("X-Note", &emoji), "field_too_long");
        assert_eq!(code("X-Note", &"a".repeat(MAX_HEADER_VALUE)), "ok");
    }

    #[test]
    fn sealed_headers_open_only_for_their_endpoint() {
        let sealer = SecretBox::from_data_key("k");
        let headers = one("Authorization", "Bearer sk_live_abcdef123456");
        let sealed = seal(&headers, &sealer, "endpoint-headers/t/ep_1").unwrap();
        assert!(!sealed.contains("sk_live"));
        assert_eq!(open(&sealed, &sealer, "endpoint-headers/t/ep_1").unwrap(), headers);
        assert!(open(&sealed, &sealer, "endpoint-headers/t/ep_2").is_err());
        assert_eq!(seal(&BTreeMap::new(), &sealer, "a"), None);
    }

    #[test]
    fn reads_show_names_and_masked_values_and_echoes_keep_the_value() {
        let current = one("Authorization", "Bearer sk_live_abcdef123456");
        let shown = masked(&current);
        assert_eq!(shown["Authorization"], "********3456");
        let echoed = keep_masked_echoes(&shown, &current);
        assert_eq!(echoed, current);
        let changed = keep_masked_echoes(&one("Authorization", "Bearer new"), &current);
        assert_eq!(changed["Authorization"], "Bearer new");
    }

    #[test]
    fn the_token_after_a_scheme_is_sensitive_on_its_own() {
        let parts = sensitive_parts(&one("Authorization", "Bearer sk_live_abcdef123456"));
        assert!(parts.iter().any(|p| p == "Bearer sk_live_abcdef123456"));
        assert!(parts.iter().any(|p| p == "sk_live_abcdef123456"));
        assert!(!parts.iter().any(|p| p == "Bearer"));
        assert!(sensitive_parts(&one("X-Tenant", "7")).is_empty(), "short values would scrub every digit");
    }
}
