//! Inbound sources: who may post to `/api/v1/webhooks/{slug}`, how they
//! authenticate, how duplicates are recognised, and which internal event a
//! webhook becomes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::event_type::validate_name;
use crate::ids::TenantId;
use crate::inbound_auth::AuthType;

pub const DEFAULT_TOLERANCE_SECONDS: u32 = 300;
pub const DEFAULT_DEDUPE_WINDOW_SECONDS: u32 = 24 * 3600;
const MAX_DEDUPE_WINDOW_SECONDS: u32 = 30 * 24 * 3600;

/// A source as stored. The slug is the key: it is global, since the public
/// URL carries no tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    pub slug: String,
    pub tenant_id: TenantId,
    #[serde(flatten)]
    pub settings: SourceSettings,
    /// Sealed with the data key; empty for `none`.
    pub secret_sealed: String,
    pub secret_masked: String,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a user controls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSettings {
    pub name: String,
    pub auth_type: AuthType,
    pub tolerance_seconds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedupe_key: Option<String>,
    pub dedupe_window_seconds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type_pointer: Option<String>,
    pub enabled: bool,
}

/// A source as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SourceView {
    pub slug: String,
    pub name: String,
    pub auth_type: AuthType,
    /// In full from create and rotate-secret only; masked elsewhere.
    pub secret: String,
    pub tolerance_seconds: u32,
    /// A header name, or a JSON pointer (starting with `/`) into the body.
    pub dedupe_key: Option<String>,
    pub dedupe_window_seconds: u32,
    /// The internal event type every webhook of this source becomes.
    pub event_type: Option<String>,
    /// Or: a JSON pointer to the provider's type, published as `{slug}.{value}`.
    pub event_type_pointer: Option<String>,
    pub enabled: bool,
    /// Where the provider posts: `/api/v1/webhooks/{slug}` on this API.
    pub receive_path: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /v1/sources`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceCreate {
    /// Lowercase letters, digits and `-`, 2 to 64; part of the receive URL.
    pub slug: String,
    pub name: Option<String>,
    pub auth_type: AuthType,
    /// The provider's secret (e.g. Stripe's `whsec_…`); generated when omitted.
    pub secret: Option<String>,
    pub tolerance_seconds: Option<u32>,
    pub dedupe_key: Option<String>,
    pub dedupe_window_seconds: Option<u32>,
    pub event_type: Option<String>,
    pub event_type_pointer: Option<String>,
    pub enabled: Option<bool>,
}

/// `PATCH /v1/sources/{slug}`: fields present are replaced; `null` clears
/// the optional ones.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourcePatch {
    pub name: Option<String>,
    pub auth_type: Option<AuthType>,
    pub tolerance_seconds: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub dedupe_key: Option<Option<String>>,
    pub dedupe_window_seconds: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub event_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub event_type_pointer: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// Tells "absent" (None) from "null" (Some(None)).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Checks a secret a user brings for a source of this auth type: Standard Webhooks needs a `whsec_` key; the others
/// take 1 to 256 printable characters with nothing blank at either end (a `Bearer  s3cret` token loses its leading
/// space on the way), and a bearer token is ASCII: anything else no header could carry intact.
pub fn validate_secret(auth: AuthType, secret: &str) -> Result<(), ApiError> {
    let invalid = |why: &str| Err(ApiError::invalid("invalid_secret", why));
    match auth {
        AuthType::None => Ok(()),
        AuthType::StandardWebhooks => {
            crate::crypto::validate_signing_secret(secret).map_err(|why| ApiError::invalid("invalid_secret", why))
        }
        _ if secret.is_empty() || secret.len() > 256 || secret.chars().any(char::is_control) => {
            invalid("the secret must hold 1 to 256 printable characters")
        }
        _ if secret.trim() != secret => invalid("the secret must not start or end with blanks"),
        // The token travels as the header's text, which is ASCII.
        AuthType::Bearer if !secret.bytes().all(|b| b.is_ascii_graphic() || b == b' ') => {
            invalid("a bearer token must be printable ASCII")
        }
        _ => Ok(()),
    }
}

/// Checks a slug: lowercase letters, digits and `-`, 2 to 64, not starting or ending with `-`.
pub fn validate_slug(slug: &str) -> Result<(), ApiError> {
    let ok = (2..=64).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "invalid_slug",
            "slug must hold 2 to 64 lowercase letters, digits or `-`, and not start or end with `-`",
        ))
    }
}

impl SourceSettings {
    /// Settings for a new source, defaults filled in.
    pub fn from_create(input: &SourceCreate) -> Self {
        Self {
            name: input.name.clone().unwrap_or_else(|| input.slug.clone()),
            auth_type: input.auth_type,
            tolerance_seconds: input.tolerance_seconds.unwrap_or(DEFAULT_TOLERANCE_SECONDS),
            dedupe_key: input.dedupe_key.clone(),
            dedupe_window_seconds: input.dedupe_window_seconds.unwrap_or(DEFAULT_DEDUPE_WINDOW_SECONDS),
            event_type: input.event_type.clone(),
            event_type_pointer: input.event_type_pointer.clone(),
            enabled: input.enabled.unwrap_or(true),
        }
    }

    /// These settings with a patch applied.
    pub fn patched(&self, p: &SourcePatch) -> Self {
        let mut next = self.clone();
        if let Some(v) = &p.name {
            next.name = v.clone();
        }
        if let Some(v) = p.auth_type {
            next.auth_type = v;
        }
        if let Some(v) = p.tolerance_seconds {
            next.tolerance_seconds = v;
        }
        if let Some(v) = &p.dedupe_key {
            next.dedupe_key = v.clone();
        }
        if let Some(v) = p.dedupe_window_seconds {
            next.dedupe_window_seconds = v;
        }
        if let Some(v) = &p.event_type {
            next.event_type = v.clone();
        }
        if let Some(v) = &p.event_type_pointer {
            next.event_type_pointer = v.clone();
        }
        if let Some(v) = p.enabled {
            next.enabled = v;
        }
        next
    }

    /// Checks every rule.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.name.trim().is_empty() || self.name.chars().count() > 128 {
            return Err(ApiError::invalid("invalid_name", "name must hold 1 to 128 characters"));
        }
        if !(1..=3600).contains(&self.tolerance_seconds) {
            return Err(ApiError::invalid("invalid_tolerance", "tolerance_seconds must be between 1 and 3600"));
        }
        if !(60..=MAX_DEDUPE_WINDOW_SECONDS).contains(&self.dedupe_window_seconds) {
            return Err(ApiError::invalid(
                "invalid_dedupe_window",
                format!("dedupe_window_seconds must be between 60 and {MAX_DEDUPE_WINDOW_SECONDS}"),
            ));
        }
        if let Some(key) = &self.dedupe_key {
            let header_ok =
                !key.is_empty() && key.len() <= 64 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            let pointer_ok = key.starts_with('/') && key.len() <= 256;
            if !header_ok && !pointer_ok {
                return Err(ApiError::invalid(
                    "invalid_dedupe_key",
                    "dedupe_key is a header name (letters, digits, `-`) or a JSON pointer starting with `/`",
                ));
            }
        }
        match (&self.event_type, &self.event_type_pointer) {
            (Some(_), Some(_)) => {
                Err(ApiError::invalid("invalid_event_mapping", "set event_type or event_type_pointer, not both"))
            }
            (Some(t), None) => validate_name(t),
            (None, Some(p)) if !p.starts_with('/') => Err(ApiError::invalid(
                "invalid_event_mapping",
                "event_type_pointer must be a JSON pointer starting with `/`",
            )),
            _ => Ok(()),
        }
    }
}

impl SourceRecord {
    /// The associated data that binds a sealed secret to this source.
    pub fn secret_aad(slug: &str) -> String {
        format!("source/{slug}")
    }

    /// The API view with the secret as given.
    pub fn view(&self, secret: String) -> SourceView {
        let s = &self.settings;
        SourceView {
            slug: self.slug.clone(),
            name: s.name.clone(),
            auth_type: s.auth_type,
            secret,
            tolerance_seconds: s.tolerance_seconds,
            dedupe_key: s.dedupe_key.clone(),
            dedupe_window_seconds: s.dedupe_window_seconds,
            event_type: s.event_type.clone(),
            event_type_pointer: s.event_type_pointer.clone(),
            enabled: s.enabled,
            receive_path: format!("/api/v1/webhooks/{}", self.slug),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// The API view with the secret masked.
    pub fn masked_view(&self) -> SourceView {
        self.view(self.secret_masked.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: serde_json::Value) -> SourceSettings {
        SourceSettings::from_create(&serde_json::from_value(json).unwrap())
    }

    #[test]
    fn slugs_are_url_safe() {
        assert!(validate_slug("crm").is_ok());
        assert!(validate_slug("emr-video-2").is_ok());
        for bad in ["a", "CRM", "-crm", "crm-", "c r m", "crm/x", &"x".repeat(65)] {
            assert!(validate_slug(bad).is_err(), "{bad}");
        }
    }

    /// From the `inbound_auth` fuzz target (fuzz/regressions/inbound_auth/bearer-leading-space and bearer-non-ascii):
    /// bearer secrets starting with a blank, or not ASCII (`Џ`), were accepted, but `Authorization: Bearer  00`
    /// reaches us as the token `00` and a non-ASCII header cannot be read as text, so no request could ever verify.
    /// Such secrets are refused when given.
    #[test]
    fn secrets_no_header_could_carry_are_refused() {
        for (auth, bad) in [
            (AuthType::Bearer, " 00"),
            (AuthType::Bearer, "s3cret "),
            (AuthType::Bearer, "\u{40f}"),
            (AuthType::Hms, "   "),
            (AuthType::Github, ""),
            (AuthType::Basic, "line\nbreak"),
            (AuthType::StandardWebhooks, "not-whsec"),
        ] {
            assert_eq!(validate_secret(auth, bad).unwrap_err().code, "invalid_secret", "{auth:?} {bad:?}");
        }
        assert!(validate_secret(AuthType::Bearer, "00").is_ok());
        assert!(validate_secret(AuthType::Hms, "\u{40f}").is_ok(), "HMAC keys never travel in a header");
        assert!(validate_secret(AuthType::Stripe, "whsec_abc def").is_ok());
        assert!(validate_secret(AuthType::None, "").is_ok());
    }

    #[test]
    fn defaults_and_rules() {
        let s = settings(serde_json::json!({"slug": "crm", "auth_type": "hms"}));
        assert_eq!((s.tolerance_seconds, s.dedupe_window_seconds, s.enabled), (300, 86400, true));
        assert!(s.validate().is_ok());
        let code = |v| settings(v).validate().unwrap_err().code.into_owned();
        assert_eq!(
            code(serde_json::json!({"slug": "x1", "auth_type": "hms", "tolerance_seconds": 0})),
            "invalid_tolerance"
        );
        assert_eq!(
            code(serde_json::json!({"slug": "x1", "auth_type": "hms", "dedupe_key": "a b"})),
            "invalid_dedupe_key"
        );
        assert_eq!(
            code(
                serde_json::json!({"slug": "x1", "auth_type": "hms", "event_type": "a.b", "event_type_pointer": "/t"})
            ),
            "invalid_event_mapping"
        );
        assert_eq!(
            code(serde_json::json!({"slug": "x1", "auth_type": "hms", "event_type": "bad type"})),
            "invalid_event_type"
        );
    }

    #[test]
    fn a_patch_can_clear_an_optional_field_with_null() {
        let s = settings(serde_json::json!({"slug": "crm", "auth_type": "github", "event_type_pointer": "/action"}));
        let patch: SourcePatch = serde_json::from_value(
            serde_json::json!({"event_type_pointer": null, "event_type": "crm.contact.updated"}),
        )
        .unwrap();
        let next = s.patched(&patch);
        assert_eq!(next.event_type_pointer, None);
        assert_eq!(next.event_type.as_deref(), Some("crm.contact.updated"));
        let untouched = s.patched(&SourcePatch::default());
        assert_eq!(untouched.event_type_pointer.as_deref(), Some("/action"));
    }
}
