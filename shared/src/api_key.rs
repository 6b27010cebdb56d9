//! Admin API keys: bearer tokens stored only as hashes, each bound to a tenant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{ApiKeyId, TenantId};

/// What a key may do beyond its own tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// The bootstrap key: may create keys for any tenant.
    Admin,
    /// Everything within its own tenant.
    Tenant,
}

/// A key as stored: the SHA-256 of the token, never the token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub key_hash: String,
    pub key_id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: String,
    pub role: KeyRole,
    pub created_at: DateTime<Utc>,
}

/// Who is calling: the tenant every query of the request is scoped by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: TenantId,
    pub role: KeyRole,
}

/// A key as the API shows it; `key` only in the answer to its creation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyView {
    /// `key_…`
    pub id: String,
    pub name: String,
    pub tenant_id: String,
    pub role: KeyRole,
    pub created_at: DateTime<Utc>,
    /// The bearer token, shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl From<&ApiKeyRecord> for ApiKeyView {
    fn from(r: &ApiKeyRecord) -> Self {
        Self {
            id: r.key_id.to_string(),
            name: r.name.clone(),
            tenant_id: r.tenant_id.to_string(),
            role: r.role,
            created_at: r.created_at,
            key: None,
        }
    }
}

/// `POST /v1/api-keys`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreate {
    pub name: String,
    /// The tenant the key belongs to. The bootstrap key may name any tenant
    /// (a new one is made up when omitted); a tenant key only its own.
    pub tenant_id: Option<String>,
}
