//! What an endpoint's consumer already expects: one more signature header
//! in its own format, a retry schedule of its own, and a rate limit. The
//! body's shape is [`crate::event::Envelope`].

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// Most delays in a retry schedule.
pub const MAX_SCHEDULE_LEN: usize = 20;
/// Longest delay in a retry schedule: a day.
pub const MAX_SCHEDULE_DELAY: u32 = 86_400;
/// Highest rate limit, in attempts started per second.
pub const MAX_RATE_LIMIT: u32 = 1000;
/// Longest signature prefix, in bytes.
pub const MAX_SIGNATURE_PREFIX: usize = 32;

/// What the extra signature covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum SignedContent {
    /// The body alone (seeds 001, 003, 004).
    #[default]
    #[serde(rename = "body")]
    Body,
    /// `{timestamp}.{body}`, the timestamp being the `…-Timestamp` header's.
    #[serde(rename = "timestamp.body")]
    TimestampBody,
}

/// How the extra signature's digest is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignatureEncoding {
    /// Lowercase hex.
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// One more signature header, beside the default ones: HMAC-SHA256 keyed by
/// the endpoint's secret as shown (`whsec_…`, the text itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureSpec {
    /// The header's name, e.g. `X-C4HXP-Signature`.
    pub header: String,
    /// `body` (the default) or `timestamp.body`.
    #[serde(default)]
    pub content: SignedContent,
    /// `hex` (the default) or `base64`.
    #[serde(default)]
    pub encoding: SignatureEncoding,
    /// Written before the digest, e.g. `sha256=`; may be empty (the default).
    #[serde(default)]
    pub prefix: String,
}

impl SignatureSpec {
    /// What `legacy_signature: true` stands for.
    pub fn legacy() -> Self {
        Self {
            header: "X-Signature".into(),
            content: SignedContent::Body,
            encoding: SignatureEncoding::Hex,
            prefix: "sha256=".into(),
        }
    }

    /// The header value for these secrets (current first).
    pub fn value(&self, secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
        crate::signature::custom_signature(
            secrets,
            self.content == SignedContent::TimestampBody,
            self.encoding == SignatureEncoding::Base64,
            &self.prefix,
            timestamp,
            body,
        )
    }

    /// Checks the header name against the deployment's own headers and the
    /// endpoint's custom ones, and the prefix's bytes.
    pub fn validate(&self, signature_prefix: &str, custom: &[&String], legacy: bool) -> Result<(), ApiError> {
        let name = &self.header;
        if !super::custom_headers::is_token(name) {
            return Err(ApiError::invalid(
                "invalid_signature_header",
                format!(
                    "signature.header `{}` may hold only letters, digits and `-` ({} at most)",
                    name.chars().take(80).collect::<String>(),
                    super::custom_headers::MAX_HEADER_NAME
                ),
            ));
        }
        // `X-Signature` is reserved for the legacy header, which this spec can spell out.
        let legacy_name = name.eq_ignore_ascii_case(&Self::legacy().header);
        if let Some(why) = super::custom_headers::reserved(name, signature_prefix).filter(|_| !legacy_name) {
            return Err(ApiError::invalid(
                "reserved_signature_header",
                format!("signature.header `{name}` {why}; pick another name"),
            ));
        }
        if (legacy && legacy_name) || custom.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            return Err(ApiError::invalid(
                "signature_header_conflict",
                format!("signature.header `{name}` is already sent (a custom header or legacy_signature)"),
            ));
        }
        let printable = self.prefix.bytes().all(|b| b.is_ascii_graphic());
        if self.prefix.len() > MAX_SIGNATURE_PREFIX || !printable {
            return Err(ApiError::invalid(
                "invalid_signature_prefix",
                format!("signature.prefix must be at most {MAX_SIGNATURE_PREFIX} visible ASCII characters, no spaces"),
            ));
        }
        Ok(())
    }
}

/// Checks a retry schedule: 1 to 20 delays, each 1 s to a day.
pub fn validate_schedule(schedule: &[u32]) -> Result<(), ApiError> {
    let fits = (1..=MAX_SCHEDULE_LEN).contains(&schedule.len())
        && schedule.iter().all(|d| (1..=MAX_SCHEDULE_DELAY).contains(d));
    if fits {
        return Ok(());
    }
    Err(ApiError::invalid(
        "invalid_retry_schedule",
        format!(
            "retry_schedule_seconds must list 1 to {MAX_SCHEDULE_LEN} delays, each from 1 to {MAX_SCHEDULE_DELAY} seconds"
        ),
    ))
}

/// Checks a rate limit: 1 to 1000 attempts started per second.
pub fn validate_rate_limit(limit: u32) -> Result<(), ApiError> {
    if (1..=MAX_RATE_LIMIT).contains(&limit) {
        return Ok(());
    }
    Err(ApiError::invalid("invalid_rate_limit", format!("rate_limit_per_second must be from 1 to {MAX_RATE_LIMIT}")))
}

/// A schedule as sent: negative or huge numbers become 0, which
/// [`validate_schedule`] refuses with its own code (not a type error).
pub fn schedule_from_input(input: &[i64]) -> Vec<u32> {
    input.iter().map(|&d| u32::try_from(d).unwrap_or(0)).collect()
}

/// A rate limit as sent, likewise.
pub fn rate_from_input(input: i64) -> u32 {
    u32::try_from(input).unwrap_or(0)
}

/// For a patch field that may be absent (keep), `null` (clear) or a value.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl super::EndpointSettings {
    /// The extra signature, retry schedule and rate limit. `custom` names the
    /// endpoint's own headers (a patch that keeps them sealed passes theirs).
    pub fn validate_delivery_options(&self, prefix: &str, custom: &[&String]) -> Result<(), ApiError> {
        if let Some(spec) = &self.signature {
            spec.validate(prefix, custom, self.legacy_signature)?;
        }
        if let Some(schedule) = &self.retry_schedule_seconds {
            validate_schedule(schedule)?;
            if self.max_retries as usize != schedule.len() {
                return Err(ApiError::invalid(
                    "retry_schedule_conflict",
                    format!(
                        "max_retries is {} but retry_schedule_seconds lists {} delays; leave max_retries out",
                        self.max_retries,
                        schedule.len()
                    ),
                ));
            }
        }
        if let Some(limit) = self.rate_limit_per_second {
            validate_rate_limit(limit)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(header: &str) -> SignatureSpec {
        SignatureSpec { header: header.into(), ..SignatureSpec::legacy() }
    }

    fn code(r: Result<(), ApiError>) -> String {
        r.unwrap_err().code.into_owned()
    }

    #[test]
    fn a_consumers_own_header_is_accepted() {
        assert!(spec("X-C4HXP-Signature").validate("X-HMS", &[], false).is_ok());
        assert!(spec("X-Webhook-Signature").validate("X-HMS", &[], true).is_ok());
        assert!(spec("X-Signature").validate("X-HMS", &[], false).is_ok(), "the legacy name, when legacy is off");
    }

    #[test]
    fn names_that_clash_or_are_not_tokens_are_refused_with_their_own_code() {
        assert_eq!(code(spec("X Sig").validate("X-HMS", &[], false)), "invalid_signature_header");
        assert_eq!(code(spec("").validate("X-HMS", &[], false)), "invalid_signature_header");
        for reserved in ["X-HMS-Signature", "webhook-signature", "Content-Type", "X-Delivery-Id", "Connection"] {
            assert_eq!(code(spec(reserved).validate("X-HMS", &[], false)), "reserved_signature_header", "{reserved}");
        }
        assert_eq!(code(spec("x-signature").validate("X-HMS", &[], true)), "signature_header_conflict");
        let custom = "X-Api-Sig".to_owned();
        assert_eq!(code(spec("x-api-sig").validate("X-HMS", &[&custom], false)), "signature_header_conflict");
        let spaced = SignatureSpec { prefix: "sha 256=".into(), ..spec("X-A") };
        assert_eq!(code(spaced.validate("X-HMS", &[], false)), "invalid_signature_prefix");
    }

    #[test]
    fn schedules_and_rates_have_bounds() {
        assert!(validate_schedule(&[2, 4]).is_ok());
        assert!(validate_schedule(&[86_400; 20]).is_ok());
        for bad in [vec![], vec![0], vec![86_401], vec![1; 21]] {
            assert_eq!(code(validate_schedule(&bad)), "invalid_retry_schedule", "{bad:?}");
        }
        assert_eq!(schedule_from_input(&[-5, 3, i64::MAX]), [0, 3, 0]);
        assert!(validate_rate_limit(1).is_ok() && validate_rate_limit(1000).is_ok());
        assert_eq!(code(validate_rate_limit(0)), "invalid_rate_limit");
        assert_eq!(code(validate_rate_limit(rate_from_input(-1))), "invalid_rate_limit");
    }

    #[test]
    fn the_spec_parses_with_defaults_and_refuses_unknown_modes() {
        let s: SignatureSpec = serde_json::from_str(r#"{"header":"X-A"}"#).unwrap();
        assert_eq!((s.content, s.encoding, s.prefix.as_str()), (SignedContent::Body, SignatureEncoding::Hex, ""));
        let t: SignatureSpec =
            serde_json::from_str(r#"{"header":"X-A","content":"timestamp.body","encoding":"base64"}"#).unwrap();
        assert_eq!((t.content, t.encoding), (SignedContent::TimestampBody, SignatureEncoding::Base64));
        assert!(serde_json::from_str::<SignatureSpec>(r#"{"header":"X-A","encoding":"b32"}"#).is_err());
    }
}
