//! Request and response plumbing shared by the routes.

use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::error::ApiError;

/// Largest request body accepted: a full-size event and room for its envelope.
pub const MAX_BODY_BYTES: usize = shared::event::MAX_PAYLOAD_BYTES + 4096;

/// Largest batch publish body. Lambda takes at most 6 MB per invocation,
/// and API Gateway hands it the body as a JSON string, where escaping can
/// double it (every `"` becomes `\"`); 3 MB always fits, under API
/// Gateway's own 10 MB as well.
pub const MAX_BATCH_BODY_BYTES: usize = 3_000_000;

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
    body_within(req, MAX_BODY_BYTES)
}

/// `body`, for a route that takes up to `limit` bytes.
pub fn body_within<T: DeserializeOwned>(req: &Request, limit: usize) -> Result<T, ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > limit {
        return Err(ApiError::new(413, "payload_too_large", format!("the body is larger than {limit} bytes")));
    }
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { bytes };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| (e.path().to_string(), e.into_inner()))
        .and_then(|v| de.end().map(|()| v).map_err(|e| (String::new(), e)));
    parsed.map_err(|(field, e)| parse_error(&field, &e))
}

/// A JSON value already parsed (one item of a batch) as `T`, with the
/// same errors a body would get.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| parse_error(&e.path().to_string(), e.inner()))
}

fn parse_error(field: &str, e: &serde_json::Error) -> ApiError {
    let msg = e.to_string();
    if e.is_syntax() || e.is_eof() {
        ApiError::bad_request("invalid_json", format!("the body is not valid JSON: {msg}"))
    } else if msg.starts_with("unknown field") {
        ApiError::invalid("unknown_field", msg)
    } else if msg.starts_with("missing field") {
        ApiError::invalid("missing_field", msg)
    } else {
        ApiError::invalid("invalid_field", field_error(field, &msg))
    }
}

/// serde's "invalid type: string \"5\", expected u32 at line 1 column 20"
/// as a sentence a client can act on: the field, and JSON types only.
fn field_error(field: &str, msg: &str) -> String {
    let msg = msg.split(" at line ").next().unwrap_or(msg);
    let expected = msg.split_once(", expected ").map(|(_, e)| json_type(e));
    let got = msg.strip_prefix("invalid type: ").and_then(|m| m.split(", expected ").next()).map(json_value);
    let name = if field.is_empty() || field == "." { "the body".to_owned() } else { format!("`{field}`") };
    match (expected, got) {
        (Some(want), Some(got)) => format!("{name} must be {want}, not {got}"),
        (Some(want), None) => format!("{name} must be {want}"),
        _ => format!("{name}: {}", json_type(msg)),
    }
}

/// A Rust type name in a serde message as the JSON type it reads.
fn json_type(rust: &str) -> String {
    let rust = rust.trim();
    let number = |t: &str| ["u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize"].contains(&t);
    if number(rust) || rust.contains("integer") {
        return "a whole number".into();
    }
    match rust {
        "f32" | "f64" => "a number".into(),
        "a boolean" | "bool" => "true or false".into(),
        "a sequence" => "an array".into(),
        "a map" => "an object".into(),
        "a string" | "a borrowed string" | "char" => "a string".into(),
        _ if rust.starts_with("struct ") => "an object".into(),
        _ => rust.to_owned(),
    }
}

/// serde's description of the value it found, in JSON's words.
fn json_value(found: &str) -> String {
    match found.split_whitespace().next().unwrap_or("") {
        "string" => format!("the string {}", found.trim_start_matches("string ")),
        "integer" | "floating" => format!("the number {}", found.rsplit(' ').next().unwrap_or("")),
        "boolean" => found.rsplit(' ').next().unwrap_or("").to_owned(),
        "sequence" => "an array".into(),
        "map" => "an object".into(),
        "null" | "unit" => "null".into(),
        _ => found.to_owned(),
    }
}

/// A comma-separated list of values from one query parameter
/// (`status=failed,retrying`), each parsed as `T`'s JSON string form.
pub fn query_list<T: DeserializeOwned>(req: &Request, name: &str, choices: &str) -> Result<Option<Vec<T>>, ApiError> {
    let Some(raw) = query(req, name) else { return Ok(None) };
    raw.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            serde_json::from_value(serde_json::Value::String(v.to_owned())).map_err(|_| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("{name} must be one or more of {choices}, separated by commas; `{v}` is none of them"),
                )
            })
        })
        .collect::<Result<Vec<T>, _>>()
        .map(Some)
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

#[cfg(test)]
mod field_error_tests {
    use super::*;
    use serde_json::json;
    use shared::event::PublishRequest;

    #[test]
    fn a_parsed_item_gets_the_errors_a_body_would() {
        let code = |v| from_value::<PublishRequest>(v).unwrap_err();
        assert_eq!(code(json!({"type": "a", "data": {}, "colour": 1})).code, "unknown_field");
        assert_eq!(code(json!({"data": {}})).code, "missing_field");
        let wrong = code(json!({"type": 5, "data": {}}));
        assert_eq!(
            (wrong.code.as_ref(), wrong.detail.as_str()),
            ("invalid_field", "`type` must be a string, not the number `5`")
        );
    }

    #[test]
    fn a_type_error_names_the_field_and_json_types_only() {
        let msg = field_error("timeout_seconds", "invalid type: string \"5\", expected u32 at line 1 column 24");
        assert_eq!(msg, "`timeout_seconds` must be a whole number, not the string \"5\"");
        let msg = field_error("event_types", "invalid type: string \"a\", expected a sequence at line 1 column 3");
        assert_eq!(msg, "`event_types` must be an array, not the string \"a\"");
        let msg = field_error("legacy_signature", "invalid type: integer `1`, expected a boolean");
        assert_eq!(msg, "`legacy_signature` must be true or false, not the number `1`");
    }
}
