//! The one error type of the HTTP APIs: a status and a stable
//! `{"code": "snake_case_reason", "detail": "human sentence"}` body.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

/// An error a client sees. Unexpected failures become an opaque 500 whose
/// detail is logged, never returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: Cow<'static, str>,
    pub detail: String,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable reason, e.g. `forbidden_target`.
    pub code: String,
    /// A sentence for people.
    pub detail: String,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code: Cow::Borrowed(code), detail: detail.into() }
    }

    /// 400: the request could not be read at all.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(400, code, detail)
    }

    /// 422: the request was read but a field is not acceptable.
    pub fn invalid(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(422, code, detail)
    }

    /// 401 without saying which part of the credentials failed.
    pub fn unauthorized() -> Self {
        Self::new(401, "unauthorized", "a valid API key is required: send `Authorization: Bearer <key>`")
    }

    /// 403: authenticated, but this key may not do that.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, "forbidden", detail)
    }

    /// 404 for anything missing or belonging to another tenant.
    pub fn not_found(what: &str) -> Self {
        Self::new(404, "not_found", format!("no such {what}"))
    }

    /// 409: the request conflicts with what is stored.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(409, code, detail)
    }

    /// 500 with the cause logged and hidden from the client.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(500, "internal_error", "something went wrong on our side; it has been logged")
    }

    /// The response body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody { code: self.code.to_string(), detail: self.detail.clone() }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.detail)
    }
}

impl std::error::Error for ApiError {}
