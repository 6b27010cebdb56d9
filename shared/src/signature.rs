//! Outbound webhook signing and inbound verification: Hookline's own HMS scheme, the legacy body-only header, and
//! Standard Webhooks v1 (with several signatures per header for key rotation).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const SECRET_PREFIX: &str = "whsec_";
const HMS_PREFIX: &str = "sha256=";
const STANDARD_PREFIX: &str = "v1,";
const TAG_LEN: usize = 32;

/// A Standard Webhooks signature could not be produced.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// The secret is not `whsec_` followed by non-empty standard base64.
    #[error("the signing secret must be whsec_ followed by base64")]
    InvalidSecret,
    /// No secret was given, so the header would be empty and could never verify.
    #[error("at least one signing secret is required")]
    NoSecrets,
}

/// Why an inbound request failed verification.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
pub enum VerifyError {
    /// A header (or the verifying secret) is not in the expected format.
    #[error("the signature or timestamp header is malformed")]
    Malformed,
    /// The timestamp is outside the allowed tolerance.
    #[error("the timestamp is outside the tolerance")]
    Stale,
    /// The signature does not match the request.
    #[error("the signature does not match")]
    Mismatch,
}

/// Seed 000's scheme: `sha256=` + lowercase hex HMAC-SHA256 of `{timestamp}.{body}`, keyed by the secret's text.
pub fn hms_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = hms_mac(secret, timestamp, body).finalize().into_bytes();
    format!("{HMS_PREFIX}{}", hex::encode(tag))
}

/// Legacy header some consumers verify (seeds 001/003/004): `sha256=` + hex HMAC-SHA256 of the body alone.
pub fn legacy_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = text_keyed_mac(secret);
    mac.update(body);
    format!("{HMS_PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

/// A signature in a consumer's own format: HMAC-SHA256 keyed by the secret's
/// text over the body (or `{timestamp}.{body}`), hex or standard base64,
/// behind `prefix`. Several secrets (a rotation's grace period) give one
/// value each, space-separated, current first.
pub fn custom_signature(
    secrets: &[&str],
    with_timestamp: bool,
    base64: bool,
    prefix: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    let one = |secret: &str| {
        let mut mac = text_keyed_mac(secret);
        if with_timestamp {
            mac.update(format!("{timestamp}.").as_bytes());
        }
        mac.update(body);
        let tag = mac.finalize().into_bytes();
        let digest = if base64 { STANDARD.encode(tag) } else { hex::encode(tag) };
        format!("{prefix}{digest}")
    };
    secrets.iter().map(|s| one(s)).collect::<Vec<_>>().join(" ")
}

/// Standard Webhooks v1: `v1,` + base64 HMAC-SHA256 of `{msg_id}.{timestamp}.{body}`, keyed by the decoded secret.
pub fn standard_signature(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, SignatureError> {
    let tag = standard_mac(secret, msg_id, timestamp, body)?.finalize().into_bytes();
    Ok(format!("{STANDARD_PREFIX}{}", STANDARD.encode(tag)))
}

/// The `webhook-signature` header for one or more secrets (key rotation): each signature, space-separated, in order.
pub fn standard_signature_header(
    secrets: &[&str],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SignatureError> {
    if secrets.is_empty() {
        return Err(SignatureError::NoSecrets);
    }
    let signatures = secrets
        .iter()
        .map(|secret| standard_signature(secret, msg_id, timestamp, body))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(signatures.join(" "))
}

/// Verifies an HMS request: the timestamp is integer seconds within `tolerance_secs` of `now`, and the signature matches.
pub fn verify_hms(
    secret: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let ts = parse_timestamp(timestamp)?;
    let tag = signature
        .strip_prefix(HMS_PREFIX)
        .and_then(|h| hex::decode(h).ok())
        .filter(|t| t.len() == TAG_LEN)
        .ok_or(VerifyError::Malformed)?;
    check_fresh(ts, now, tolerance_secs)?;
    hms_mac(secret, ts, body).verify_slice(&tag).map_err(|_| VerifyError::Mismatch)
}

/// Verifies a Standard Webhooks request: tolerance as in [`verify_hms`]; any `v1,` entry in the header may match.
pub fn verify_standard(
    secret: &str,
    msg_id: &str,
    timestamp: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let ts = parse_timestamp(timestamp)?;
    // Entries for other schemes (v1a, future versions) are skipped rather than rejected, as the spec requires; a
    // header with no usable v1 entry at all cannot be checked, which is a format problem rather than a mismatch.
    let candidates: Vec<Vec<u8>> = signature_header
        .split_ascii_whitespace()
        .filter_map(|entry| entry.strip_prefix(STANDARD_PREFIX))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .filter(|t| t.len() == TAG_LEN)
        .collect();
    if candidates.is_empty() {
        return Err(VerifyError::Malformed);
    }
    check_fresh(ts, now, tolerance_secs)?;
    // A bad verifying secret is our configuration's fault, but it still means the request cannot be checked.
    let mac = standard_mac(secret, msg_id, ts, body).map_err(|_| VerifyError::Malformed)?;
    // Every candidate is compared (no early exit) so timing does not reveal which entry matched.
    let matched = candidates.iter().fold(false, |acc, tag| mac.clone().verify_slice(tag).is_ok() | acc);
    if matched {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

fn text_keyed_mac(secret: &str) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length")
}

fn hms_mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = text_keyed_mac(secret);
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    mac
}

fn standard_mac(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<HmacSha256, SignatureError> {
    let key = secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|b64| STANDARD.decode(b64).ok())
        .filter(|k| !k.is_empty())
        .ok_or(SignatureError::InvalidSecret)?;
    let mut mac = <HmacSha256 as Mac>::new_from_slice(&key).map_err(|_| SignatureError::InvalidSecret)?;
    mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(mac)
}

fn parse_timestamp(raw: &str) -> Result<i64, VerifyError> {
    // Only plain digits: a sign or whitespace would let two header spellings share one signed value.
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::Malformed);
    }
    raw.parse().map_err(|_| VerifyError::Malformed)
}

fn check_fresh(ts: i64, now: i64, tolerance_secs: i64) -> Result<(), VerifyError> {
    // abs_diff cannot overflow, unlike `now - ts` with attacker-chosen timestamps.
    if now.abs_diff(ts) > tolerance_secs.max(0).unsigned_abs() {
        return Err(VerifyError::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1614265330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const OTHER_SECRET: &str = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM=";
    const TOLERANCE: i64 = 300;
    const MALFORMED: VerifyError = VerifyError::Malformed;

    fn verify_spec(header: &str, body: &[u8], ts: &str, now: i64) -> Result<(), VerifyError> {
        verify_standard(SPEC_SECRET, SPEC_MSG_ID, ts, header, body, now, TOLERANCE)
    }

    fn verify_s(ts: &str, sig: &str, body: &[u8], now: i64) -> Result<(), VerifyError> {
        verify_hms("s", ts, sig, body, now, TOLERANCE)
    }

    #[test]
    fn custom_signatures_match_what_consumers_compute() {
        let body = br#"{"event":"order.created"}"#;
        // Seed 003's Python: hmac.new(secret.encode(), payload, sha256).hexdigest() behind "sha256=".
        assert_eq!(custom_signature(&["s"], false, false, "sha256=", 0, body), legacy_signature("s", body));
        // Seed 000's scheme is the timestamped form.
        assert_eq!(
            custom_signature(&["s"], true, false, "sha256=", 1715360000, body),
            hms_signature("s", 1715360000, body)
        );
        let b64 = custom_signature(&["s"], false, true, "", 0, body);
        assert_eq!(STANDARD.decode(&b64).unwrap().len(), TAG_LEN);
        let both = custom_signature(&["new", "old"], false, false, "", 0, body);
        let parts: Vec<&str> = both.split(' ').collect();
        assert_eq!(
            parts,
            [
                custom_signature(&["new"], false, false, "", 0, body),
                custom_signature(&["old"], false, false, "", 0, body)
            ]
        );
    }

    #[test]
    fn standard_webhooks_spec_vector_signs() {
        assert_eq!(standard_signature(SPEC_SECRET, SPEC_MSG_ID, SPEC_TS, SPEC_BODY).unwrap(), SPEC_SIGNATURE);
    }

    #[test]
    fn standard_webhooks_spec_vector_verifies() {
        assert_eq!(verify_spec(SPEC_SIGNATURE, SPEC_BODY, "1614265330", SPEC_TS), Ok(()));
    }

    #[test]
    fn hms_signature_matches_openssl() {
        // echo -n '1715360000.{"event":"test"}' | openssl dgst -sha256 -hmac "your_secret"
        let expected = "sha256=cd7c03fb98b40f584b216024137f5f7e9c0d169a77cd817cb16d5a96ce557995";
        assert_eq!(hms_signature("your_secret", 1715360000, br#"{"event":"test"}"#), expected);
    }

    #[test]
    fn hms_signature_verifies_within_tolerance() {
        let sig = hms_signature("s", 1715360000, b"{}");
        assert_eq!(verify_s("1715360000", &sig, b"{}", 1715360000 + TOLERANCE), Ok(()));
        assert_eq!(verify_s("1715360000", &sig, b"{}", 1715360000 - TOLERANCE), Ok(()));
    }

    #[test]
    fn legacy_signature_covers_body_only() {
        let sig = legacy_signature("whsec_abc", b"{}");
        let mut mac = text_keyed_mac("whsec_abc");
        mac.update(b"{}");
        assert_eq!(sig, format!("sha256={}", hex::encode(mac.finalize().into_bytes())));
        assert_ne!(sig, hms_signature("whsec_abc", 0, b"{}"));
    }

    #[test]
    fn rotation_header_holds_each_signature_and_each_verifies() {
        let header = standard_signature_header(&[SPEC_SECRET, OTHER_SECRET], SPEC_MSG_ID, SPEC_TS, SPEC_BODY).unwrap();
        let other = standard_signature(OTHER_SECRET, SPEC_MSG_ID, SPEC_TS, SPEC_BODY).unwrap();
        assert_eq!(header, format!("{SPEC_SIGNATURE} {other}"));
        for secret in [SPEC_SECRET, OTHER_SECRET] {
            assert_eq!(
                verify_standard(secret, SPEC_MSG_ID, "1614265330", &header, SPEC_BODY, SPEC_TS, TOLERANCE),
                Ok(())
            );
        }
    }

    #[test]
    fn rotation_header_without_secrets_is_an_error() {
        assert_eq!(standard_signature_header(&[], SPEC_MSG_ID, SPEC_TS, SPEC_BODY), Err(SignatureError::NoSecrets));
    }

    #[test]
    fn secret_without_prefix_or_base64_is_rejected() {
        for secret in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_", ""] {
            assert_eq!(standard_signature(secret, "m", 1, b""), Err(SignatureError::InvalidSecret), "{secret:?}");
        }
        assert_eq!(verify_standard("whsec_", "m", "1", SPEC_SIGNATURE, b"", 1, 5), Err(VerifyError::Malformed));
    }

    #[test]
    fn other_scheme_entries_are_ignored() {
        let header = format!("v1a,AAAA v2,whatever  {SPEC_SIGNATURE}");
        assert_eq!(verify_spec(&header, SPEC_BODY, "1614265330", SPEC_TS), Ok(()));
    }

    #[test]
    fn tampered_body_or_timestamp_is_mismatch() {
        assert_eq!(
            verify_spec(SPEC_SIGNATURE, br#"{"test": 2432232315}"#, "1614265330", SPEC_TS),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(verify_spec(SPEC_SIGNATURE, SPEC_BODY, "1614265331", SPEC_TS), Err(VerifyError::Mismatch));
        let sig = hms_signature("s", 1715360000, b"{}");
        assert_eq!(verify_s("1715360000", &sig, b"{ }", 1715360000), Err(VerifyError::Mismatch));
        assert_eq!(verify_s("1715360001", &sig, b"{}", 1715360000), Err(VerifyError::Mismatch));
        assert_eq!(verify_hms("t", "1715360000", &sig, b"{}", 1715360000, TOLERANCE), Err(VerifyError::Mismatch));
    }

    #[test]
    fn old_or_future_timestamp_is_stale() {
        assert_eq!(
            verify_spec(SPEC_SIGNATURE, SPEC_BODY, "1614265330", SPEC_TS + TOLERANCE + 1),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify_spec(SPEC_SIGNATURE, SPEC_BODY, "1614265330", SPEC_TS - TOLERANCE - 1),
            Err(VerifyError::Stale)
        );
        let sig = hms_signature("s", 1715360000, b"{}");
        assert_eq!(verify_s("1715360000", &sig, b"{}", 1715360000 + TOLERANCE + 1), Err(VerifyError::Stale));
        assert_eq!(verify_s("1715360000", &sig, b"{}", i64::MIN), Err(VerifyError::Stale));
    }

    #[test]
    fn garbage_headers_are_malformed() {
        for ts in ["", "abc", "-1614265330", "+1614265330", " 1614265330", "1614265330.5", "99999999999999999999"] {
            assert_eq!(verify_spec(SPEC_SIGNATURE, SPEC_BODY, ts, SPEC_TS), Err(VerifyError::Malformed), "{ts:?}");
        }
        for header in ["", " ", "garbage", "v1,", "v1,!!!!", "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="] {
            assert_eq!(verify_spec(header, SPEC_BODY, "1614265330", SPEC_TS), Err(MALFORMED), "{header:?}");
        }
        let unprefixed = "cd7c03fb98b40f584b216024137f5f7e9c0d169a77cd817cb16d5a96ce557995";
        for sig in ["", "sha256=", "sha256=zz", "md5=abcd", unprefixed] {
            assert_eq!(verify_s("1", sig, b"", 1), Err(VerifyError::Malformed), "{sig:?}");
        }
    }

    #[test]
    fn short_or_empty_signatures_never_panic() {
        for sig in ["sha256=a", "sha256=ab", "sha256=cd7c", "sha256=\u{e9}\u{e9}", "\u{1f600}"] {
            assert_eq!(verify_s("1", sig, b"", 1), Err(VerifyError::Malformed), "{sig:?}");
        }
        for header in ["v1,AA==", "v1,g0hM", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", "v1,\u{e9}"] {
            assert_eq!(verify_spec(header, SPEC_BODY, "1614265330", SPEC_TS), Err(MALFORMED), "{header:?}");
        }
    }
}
