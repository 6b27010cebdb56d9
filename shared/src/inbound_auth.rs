//! Inbound webhook authentication: verifying what providers post to `/api/v1/webhooks/{slug}` against the raw body
//! bytes, and choosing each request's dedupe key. Headers and bodies are attacker-controlled, so nothing here panics on
//! them and every secret or signature comparison is constant-time.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::signature::{hms_signature, standard_signature_header, verify_hms, verify_standard, VerifyError};

type HmacSha256 = Hmac<Sha256>;

const TAG_LEN: usize = 32;
const MAX_DEDUPE_KEY_BYTES: usize = 512;
const STANDARD_ID: &str = "webhook-id";
const STANDARD_TIMESTAMP: &str = "webhook-timestamp";
const STANDARD_SIGNATURE: &str = "webhook-signature";
const STRIPE_SIGNATURE: &str = "Stripe-Signature";
const GITHUB_SIGNATURE: &str = "X-Hub-Signature-256";
const GITHUB_DELIVERY: &str = "X-GitHub-Delivery";
const SHOPIFY_HMAC: &str = "X-Shopify-Hmac-Sha256";
const SHOPIFY_WEBHOOK_ID: &str = "X-Shopify-Webhook-Id";
const SHOPIFY_EVENT_ID: &str = "X-Shopify-Event-Id";
const SLACK_TIMESTAMP: &str = "X-Slack-Request-Timestamp";
const SLACK_SIGNATURE: &str = "X-Slack-Signature";
const AUTHORIZATION: &str = "Authorization";
/// The user name `sign` puts in Basic credentials; `verify` accepts any.
const BASIC_USER: &str = "hookline";

/// How a source authenticates its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthType {
    /// Hookline's own scheme: `{prefix}-Timestamp` and `{prefix}-Signature: sha256=<hex>` over `{ts}.{body}`.
    Hms,
    /// Standard Webhooks v1: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    StandardWebhooks,
    /// Stripe: `Stripe-Signature: t=<ts>,v1=<hex>` over `{t}.{body}`.
    Stripe,
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body.
    Github,
    /// Shopify: `X-Shopify-Hmac-Sha256: <base64>` over the body.
    Shopify,
    /// Slack: `X-Slack-Request-Timestamp` and `X-Slack-Signature: v0=<hex>` over `v0:{ts}:{body}`.
    Slack,
    /// HTTP Basic: any user name, the password is the secret.
    Basic,
    /// HTTP Bearer: the token is the secret.
    Bearer,
    /// No authentication: every request is accepted.
    None,
}

impl AuthType {
    /// True when the scheme carries a signed timestamp (tolerance applies).
    pub fn is_timestamped(self) -> bool {
        matches!(self, Self::Hms | Self::StandardWebhooks | Self::Stripe | Self::Slack)
    }
}

/// Why a request was refused (the HTTP layer answers 401 for all, without saying which).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// A header the scheme requires is absent.
    #[error("a required authentication header is missing")]
    Missing,
    /// A header is present but cannot be parsed (or the secret cannot verify this scheme).
    #[error("an authentication header is malformed")]
    Malformed,
    /// The signed timestamp is outside the tolerance.
    #[error("the timestamp is outside the tolerance")]
    Stale,
    /// The signature or credential does not match.
    #[error("the signature or credential does not match")]
    Mismatch,
}

impl From<VerifyError> for Rejection {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Malformed => Self::Malformed,
            VerifyError::Stale => Self::Stale,
            VerifyError::Mismatch => Self::Mismatch,
        }
    }
}

/// Verifies a request. `signature_prefix` is the deployment's HMS header prefix (e.g. "X-HMS" → X-HMS-Signature / X-HMS-Timestamp).
pub fn verify(
    auth: AuthType,
    secret: &str,
    signature_prefix: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), Rejection> {
    if auth == AuthType::None {
        return Ok(());
    }
    // An empty key makes every HMAC forgeable and would match an empty password: a source without a secret fails
    // closed rather than open.
    if secret.is_empty() {
        return Err(Rejection::Mismatch);
    }
    match auth {
        AuthType::Hms => {
            let names = [format!("{signature_prefix}-Timestamp"), format!("{signature_prefix}-Signature")];
            let [ts, sig] = required(headers, [names[0].as_str(), names[1].as_str()])?;
            Ok(verify_hms(secret, ts, sig, body, now, tolerance_secs)?)
        }
        AuthType::StandardWebhooks => {
            let [id, ts, sig] = required(headers, [STANDARD_ID, STANDARD_TIMESTAMP, STANDARD_SIGNATURE])?;
            Ok(verify_standard(secret, id, ts, sig, body, now, tolerance_secs)?)
        }
        AuthType::Stripe => {
            let [header] = required(headers, [STRIPE_SIGNATURE])?;
            let (ts, candidates) = parse_stripe(header)?;
            check_fresh(ts, now, tolerance_secs)?;
            matches_any(stripe_mac(secret, ts, body), &candidates)
        }
        AuthType::Github => {
            let [sig] = required(headers, [GITHUB_SIGNATURE])?;
            let tag = sig.strip_prefix("sha256=").and_then(hex_tag).ok_or(Rejection::Malformed)?;
            matches_any(mac(secret, &[body]), &[tag])
        }
        AuthType::Shopify => {
            let [sig] = required(headers, [SHOPIFY_HMAC])?;
            let tag = STANDARD.decode(sig).ok().filter(|t| t.len() == TAG_LEN).ok_or(Rejection::Malformed)?;
            matches_any(mac(secret, &[body]), &[tag])
        }
        AuthType::Slack => {
            let [ts, sig] = required(headers, [SLACK_TIMESTAMP, SLACK_SIGNATURE])?;
            let ts = parse_timestamp(ts)?;
            let tag = sig.strip_prefix("v0=").and_then(hex_tag).ok_or(Rejection::Malformed)?;
            check_fresh(ts, now, tolerance_secs)?;
            matches_any(slack_mac(secret, ts, body), &[tag])
        }
        AuthType::Basic => {
            let [value] = required(headers, [AUTHORIZATION])?;
            let decoded = STANDARD.decode(credentials(value, "Basic")?).map_err(|_| Rejection::Malformed)?;
            // The user name is whatever the provider chose; only the password carries the secret. A password may
            // itself contain ':', so the split is at the first one (RFC 7617).
            let colon = decoded.iter().position(|&b| b == b':').ok_or(Rejection::Malformed)?;
            secret_matches(&decoded[colon + 1..], secret)
        }
        AuthType::Bearer => {
            let [value] = required(headers, [AUTHORIZATION])?;
            secret_matches(credentials(value, "Bearer")?.as_bytes(), secret)
        }
        AuthType::None => Ok(()),
    }
}

/// The headers a sender of this type would set for `body` (used by tests, docs and the CLI). `id` is the message id where the scheme has one.
pub fn sign(
    auth: AuthType,
    secret: &str,
    signature_prefix: &str,
    body: &[u8],
    now: i64,
    id: &str,
) -> Vec<(String, String)> {
    fn pair(name: impl Into<String>, value: impl Into<String>) -> (String, String) {
        (name.into(), value.into())
    }
    let hex_of = |mac: HmacSha256| hex::encode(mac.finalize().into_bytes());
    match auth {
        AuthType::Hms => vec![
            pair(format!("{signature_prefix}-Timestamp"), now.to_string()),
            pair(format!("{signature_prefix}-Signature"), hms_signature(secret, now, body)),
        ],
        AuthType::StandardWebhooks => {
            let mut out = vec![pair(STANDARD_ID, id), pair(STANDARD_TIMESTAMP, now.to_string())];
            // A secret that is not `whsec_` base64 cannot sign this scheme; leaving the signature out (rather than
            // inventing one) makes the gap visible as `Missing` instead of a confusing mismatch.
            if let Ok(sig) = standard_signature_header(&[secret], id, now, body) {
                out.push(pair(STANDARD_SIGNATURE, sig));
            }
            out
        }
        AuthType::Stripe => {
            vec![pair(STRIPE_SIGNATURE, format!("t={now},v1={}", hex_of(stripe_mac(secret, now, body))))]
        }
        AuthType::Github => {
            vec![pair(GITHUB_SIGNATURE, format!("sha256={}", hex_of(mac(secret, &[body])))), pair(GITHUB_DELIVERY, id)]
        }
        AuthType::Shopify => vec![
            pair(SHOPIFY_HMAC, STANDARD.encode(mac(secret, &[body]).finalize().into_bytes())),
            pair(SHOPIFY_WEBHOOK_ID, id),
        ],
        AuthType::Slack => vec![
            pair(SLACK_TIMESTAMP, now.to_string()),
            pair(SLACK_SIGNATURE, format!("v0={}", hex_of(slack_mac(secret, now, body)))),
        ],
        AuthType::Basic => {
            vec![pair(AUTHORIZATION, format!("Basic {}", STANDARD.encode(format!("{BASIC_USER}:{secret}"))))]
        }
        AuthType::Bearer => vec![pair(AUTHORIZATION, format!("Bearer {secret}"))],
        AuthType::None => Vec::new(),
    }
}

/// The dedupe key the provider's own scheme implies, if any.
pub fn preset_dedupe_key(auth: AuthType, headers: &HeaderMap, body: &[u8]) -> Option<String> {
    match auth {
        AuthType::StandardWebhooks => header_key(headers, STANDARD_ID),
        // Stripe resends the same event object, so its `evt_…` id is stable across retries.
        AuthType::Stripe => json_key(body, "/id"),
        AuthType::Github => header_key(headers, GITHUB_DELIVERY),
        AuthType::Shopify => header_key(headers, SHOPIFY_WEBHOOK_ID).or_else(|| header_key(headers, SHOPIFY_EVENT_ID)),
        // Events API bodies carry `event_id`; slash commands and interactions are forms with no id.
        AuthType::Slack => json_key(body, "/event_id"),
        AuthType::Hms | AuthType::Basic | AuthType::Bearer | AuthType::None => None,
    }
}

/// The request's dedupe key: the configured one (a string starting with "/" is a JSON pointer into the body; anything else is a header name), else the preset, else "sha256:" + hex SHA-256 of the body. A configured source that is absent from this request falls back the same way. Keys are cut to 512 bytes.
pub fn dedupe_key(configured: Option<&str>, auth: AuthType, headers: &HeaderMap, body: &[u8]) -> String {
    let configured = match configured {
        Some(pointer) if pointer.starts_with('/') => json_key(body, pointer),
        Some(name) => header_key(headers, name),
        None => None,
    };
    let key = configured
        .or_else(|| preset_dedupe_key(auth, headers, body))
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(body))));
    cut(key, MAX_DEDUPE_KEY_BYTES)
}

/// The named headers as text: `Missing` if any is absent (checked first, so the answer does not depend on order),
/// `Malformed` if any is not visible ASCII.
fn required<'a, const N: usize>(headers: &'a HeaderMap, names: [&str; N]) -> Result<[&'a str; N], Rejection> {
    // `get` with a name that is not a valid header name returns None rather than panicking.
    let values = names.map(|name| headers.get(name));
    if values.iter().any(Option::is_none) {
        return Err(Rejection::Missing);
    }
    let mut out = [""; N];
    for (slot, value) in out.iter_mut().zip(values) {
        *slot = value.and_then(|v| v.to_str().ok()).ok_or(Rejection::Malformed)?;
    }
    Ok(out)
}

/// `t=` and every decodable `v1=` tag. Unknown entries (`v0`, future schemes) are skipped, as Stripe's libraries do.
fn parse_stripe(header: &str) -> Result<(i64, Vec<Vec<u8>>), Rejection> {
    let mut ts = None;
    let mut candidates = Vec::new();
    for item in header.split(',') {
        match item.split_once('=') {
            Some(("t", value)) => {
                let parsed = parse_timestamp(value)?;
                // Two timestamps would leave it ambiguous which one was signed.
                if ts.replace(parsed).is_some() {
                    return Err(Rejection::Malformed);
                }
            }
            Some(("v1", value)) => candidates.extend(hex_tag(value)),
            _ => {}
        }
    }
    match ts {
        Some(ts) if !candidates.is_empty() => Ok((ts, candidates)),
        _ => Err(Rejection::Malformed),
    }
}

/// `Authorization: <scheme> <credentials>`; the scheme name is case-insensitive (RFC 9110 §11.1).
fn credentials<'a>(value: &'a str, scheme: &str) -> Result<&'a str, Rejection> {
    let (given, rest) = value.split_once(' ').ok_or(Rejection::Malformed)?;
    let token = rest.trim_start_matches(' ');
    if !given.eq_ignore_ascii_case(scheme) || token.is_empty() {
        return Err(Rejection::Malformed);
    }
    Ok(token)
}

fn hex_tag(raw: &str) -> Option<Vec<u8>> {
    hex::decode(raw).ok().filter(|t| t.len() == TAG_LEN)
}

fn parse_timestamp(raw: &str) -> Result<i64, Rejection> {
    // Only plain digits: a sign or whitespace would let two header spellings share one signed value.
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::Malformed);
    }
    raw.parse().map_err(|_| Rejection::Malformed)
}

fn check_fresh(ts: i64, now: i64, tolerance_secs: i64) -> Result<(), Rejection> {
    // abs_diff cannot overflow, unlike `now - ts` with attacker-chosen timestamps.
    if now.abs_diff(ts) > tolerance_secs.max(0).unsigned_abs() {
        return Err(Rejection::Stale);
    }
    Ok(())
}

fn mac(secret: &str, parts: &[&[u8]]) -> HmacSha256 {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// Stripe keys the HMAC with the whole secret text, `whsec_` included, and signs `{t}.{body}`.
fn stripe_mac(secret: &str, ts: i64, body: &[u8]) -> HmacSha256 {
    mac(secret, &[format!("{ts}.").as_bytes(), body])
}

fn slack_mac(secret: &str, ts: i64, body: &[u8]) -> HmacSha256 {
    mac(secret, &[format!("v0:{ts}:").as_bytes(), body])
}

fn matches_any(mac: HmacSha256, candidates: &[Vec<u8>]) -> Result<(), Rejection> {
    // verify_slice is constant-time, and every candidate is checked (no early exit) so timing does not reveal which
    // entry matched.
    let matched = candidates.iter().fold(false, |acc, tag| mac.clone().verify_slice(tag).is_ok() | acc);
    matched.then_some(()).ok_or(Rejection::Mismatch)
}

fn secret_matches(given: &[u8], secret: &str) -> Result<(), Rejection> {
    // Comparing digests gives equal-length inputs, so neither a length check nor the XOR fold leaks the secret's length.
    let (a, b) = (Sha256::digest(given), Sha256::digest(secret.as_bytes()));
    let diff = a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    (diff == 0).then_some(()).ok_or(Rejection::Mismatch)
}

fn header_key(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().filter(|v| !v.is_empty()).map(str::to_owned)
}

fn json_key(body: &[u8], pointer: &str) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let key = match value.pointer(pointer)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        // Booleans, nulls and structures would lump unrelated requests together under one key.
        _ => return None,
    };
    Some(key).filter(|k| !k.is_empty())
}

fn cut(mut key: String, max: usize) -> String {
    if key.len() > max {
        // Cutting inside a multi-byte character would panic; back off to the previous boundary (0 always is one).
        let mut end = max;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key.truncate(end);
    }
    key
}

#[cfg(test)]
mod tests;
