//! Bearer API keys: hashed, looked up, bound to a tenant.

use lambda_http::Request;
use shared::api_key::{KeyRole, Principal};
use shared::crypto::hash_api_key;
use shared::error::ApiError;
use shared::ids::TenantId;

use crate::state::AppState;

/// Equal-length byte comparison whose time does not depend on where the
/// inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The caller's tenant and role, or 401 without saying what was wrong.
pub async fn authenticate(state: &AppState, req: &Request) -> Result<Principal, ApiError> {
    let token = req
        .headers()
        .get(lambda_http::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or_else(ApiError::unauthorized)?;
    let hash = hash_api_key(token);
    if let Some(principal) = state.cached_principal(&hash) {
        return Ok(principal);
    }
    let admin_hash = state.keyring.admin_key_hash().await?;
    let principal = if constant_time_eq(hash.as_bytes(), admin_hash.as_bytes()) {
        Principal { tenant: TenantId::default_tenant(), role: KeyRole::Admin }
    } else {
        let record = state.db.api_key_by_hash(&hash).await?.ok_or_else(ApiError::unauthorized)?;
        Principal { tenant: record.tenant_id, role: record.role }
    };
    state.remember_principal(hash, principal.clone());
    Ok(principal)
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
