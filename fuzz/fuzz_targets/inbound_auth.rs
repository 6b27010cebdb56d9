//! Inbound verification for every auth type, fed arbitrary headers, bodies,
//! secrets and clocks; and the promise that what `sign` produces verifies.
#![no_main]

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use shared::inbound_auth::{dedupe_key, preset_dedupe_key, sign, verify, AuthType};
use shared::source::validate_secret;

const TYPES: [AuthType; 9] = [
    AuthType::Hms,
    AuthType::StandardWebhooks,
    AuthType::Stripe,
    AuthType::Github,
    AuthType::Shopify,
    AuthType::Slack,
    AuthType::Basic,
    AuthType::Bearer,
    AuthType::None,
];

/// The header names the schemes read, so the fuzzer reaches the parsers
/// without having to guess the names byte by byte.
const NAMES: [&str; 13] = [
    "X-HMS-Timestamp",
    "X-HMS-Signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "Stripe-Signature",
    "X-Hub-Signature-256",
    "X-GitHub-Delivery",
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Webhook-Id",
    "X-Slack-Request-Timestamp",
    "X-Slack-Signature",
    "Authorization",
];

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    auth: u8,
    secret: &'a str,
    known: Vec<(u8, &'a [u8])>,
    other: Vec<(&'a [u8], &'a [u8])>,
    body: &'a [u8],
    now: i64,
    tolerance: i64,
    configured_key: Option<&'a str>,
    message_id: &'a str,
}

fn insert(headers: &mut HeaderMap, name: &[u8], value: &[u8]) {
    if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
        headers.append(name, value);
    }
}

fuzz_target!(|input: Input| {
    let auth = TYPES[usize::from(input.auth) % TYPES.len()];
    let mut headers = HeaderMap::new();
    for (which, value) in &input.known {
        insert(&mut headers, NAMES[usize::from(*which) % NAMES.len()].as_bytes(), value);
    }
    for (name, value) in &input.other {
        insert(&mut headers, name, value);
    }

    let verdict = verify(auth, input.secret, "X-HMS", &headers, input.body, input.now, input.tolerance);
    if auth == AuthType::None {
        assert!(verdict.is_ok(), "auth type none accepts everything");
    }
    if input.secret.is_empty() && auth != AuthType::None {
        assert!(verdict.is_err(), "a source without a secret must fail closed");
    }
    let key = dedupe_key(input.configured_key, auth, &headers, input.body);
    assert!(!key.is_empty() && key.len() <= 512, "dedupe keys are 1 to 512 bytes: {}", key.len());
    let _ = preset_dedupe_key(auth, &headers, input.body);

    // What a provider signs with a secret the API accepts must verify at the same instant.
    if validate_secret(auth, input.secret).is_err() || auth == AuthType::None {
        return;
    }
    // Clocks read after 1970 and before 2100: timestamps are unsigned seconds on the wire.
    let now = input.now.rem_euclid(4_102_444_800);
    let mut signed = HeaderMap::new();
    for (name, value) in sign(auth, input.secret, "X-HMS", input.body, now, input.message_id) {
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) else {
            // A secret or id no HTTP header can carry cannot be sent at all.
            return;
        };
        signed.append(name, value);
    }
    if auth == AuthType::StandardWebhooks && !signed.contains_key("webhook-signature") {
        return; // the secret is not a whsec_ key, so the scheme cannot sign
    }
    let tolerance = input.tolerance.clamp(0, 3600);
    let roundtrip = verify(auth, input.secret, "X-HMS", &signed, input.body, now, tolerance);
    assert_eq!(roundtrip, Ok(()), "{auth:?} does not verify its own signature");
});
