//! Request and response plumbing shared by the routes.

use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::error::ApiError;

/// Largest request body accepted: a full-size event and room for its envelope.
pub const MAX_BODY_BYTES: usize = shared::event::MAX_PAYLOAD_BYTES + 4096;

/// A JSON response.
pub fn json<T: Serialize>(status: u16, value: &T) -> Response<Body> {
    let body = serde_json::to_string(value).expect("API views serialize");
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Body::Text(body))
        .expect("static response parts are valid")
}

/// 204 No Content.
pub fn no_content() -> Response<Body> {
    Response::builder().status(204).body(Body::Empty).expect("static response parts are valid")
}

/// The error as its `{"code","detail"}` response.
pub fn error(err: &ApiError) -> Response<Body> {
    json(err.status, &err.body())
}

/// Parses the JSON body; an empty body parses as `{}` when `T` allows it.
pub fn body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(413, "payload_too_large", format!("the body is larger than {MAX_BODY_BYTES} bytes")));
    }
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { bytes };
    serde_json::from_slice(bytes).map_err(|e| {
        let msg = e.to_string();
        if e.is_syntax() || e.is_eof() {
            ApiError::bad_request("invalid_json", format!("the body is not valid JSON: {msg}"))
        } else if msg.starts_with("unknown field") {
            ApiError::invalid("unknown_field", msg)
        } else if msg.starts_with("missing field") {
            ApiError::invalid("missing_field", msg)
        } else {
            ApiError::invalid("invalid_field", msg)
        }
    })
}

/// The first value of a query parameter.
pub fn query(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref().and_then(|q| q.first(name)).map(str::to_owned)
}

/// An optional boolean query parameter.
pub fn query_bool(req: &Request, name: &str) -> Result<Option<bool>, ApiError> {
    match query(req, name).as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => {
            Err(ApiError::bad_request("invalid_query", format!("{name} must be true or false, not `{other}`")))
        }
    }
}
