//! Serves the template's HttpApi routes the way API Gateway does: each
//! request becomes a payload-v2 event, is read back by `lambda_http`, and
//! goes to the function's handler. `/_dev/...` holds local controls.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;

use super::functions::HttpHandler;
use super::schedule::Schedules;

/// Lambda's synchronous payload limit.
const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;

/// One HttpApi route.
#[derive(Clone)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub function: String,
    pub handler: HttpHandler,
    pub timeout: Duration,
}

/// Matches a path against a route template: literal segments, `{name}` for
/// one segment, `{name+}` for the rest. Returns the path parameters.
pub fn match_path(template: &str, path: &str) -> Option<HashMap<String, String>> {
    if template == "$default" {
        return Some(HashMap::new());
    }
    let mut params = HashMap::new();
    let want: Vec<&str> = template.trim_matches('/').split('/').collect();
    let got: Vec<&str> = path.trim_matches('/').split('/').collect();
    for (i, seg) in want.iter().enumerate() {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
            let rest = got.get(i..).filter(|r| !r.is_empty() && !r[0].is_empty())?;
            params.insert(name.to_owned(), rest.join("/"));
            return Some(params);
        }
        let actual = got.get(i)?;
        match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) if !actual.is_empty() => {
                params.insert(name.to_owned(), (*actual).to_owned());
            }
            Some(_) => return None,
            None if seg == actual => {}
            None => return None,
        }
    }
    (want.len() == got.len()).then_some(params)
}

/// Orders routes as API Gateway picks them: most literal segments first,
/// greedy and `$default` last.
pub fn sort_routes(routes: &mut [Route]) {
    let rank = |r: &Route| {
        let segs: Vec<&str> = r.path.split('/').collect();
        let literal = segs.iter().filter(|s| !s.starts_with('{')).count();
        let greedy = r.path.contains("+}") || r.path == "$default";
        (greedy, std::cmp::Reverse(literal), r.method == "ANY")
    };
    routes.sort_by_key(rank);
}

fn response(status: u16, headers: &[(&str, &str)], body: Bytes) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder().status(status);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(Full::new(body)).expect("valid response parts")
}

fn error(status: u16, code: &str, detail: &str) -> hyper::Response<Full<Bytes>> {
    let body = json!({"code": code, "detail": detail}).to_string();
    response(status, &[("content-type", "application/json")], Bytes::from(body))
}

/// The API Gateway HTTP API (payload 2.0) event for a request.
pub fn gateway_event(
    route: &Route,
    parts: &http::request::Parts,
    body: &[u8],
    params: HashMap<String, String>,
    peer: SocketAddr,
) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == http::header::COOKIE {
            cookies.extend(value.split(';').map(|c| Value::String(c.trim().to_owned())));
            continue;
        }
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();
    let mut query = Map::new();
    for (k, v) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        match query.get_mut(k.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
    }
    let (body, encoded) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (STANDARD.encode(body), true),
    };
    let now = chrono::Utc::now();
    let route_key =
        if route.path == "$default" { "$default".to_owned() } else { format!("{} {}", route.method, route.path) };
    let request_id = hex::encode(shared::ids::random_bytes::<8>());
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "cookies": if cookies.is_empty() { Value::Null } else { Value::Array(cookies) },
        "headers": headers,
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "pathParameters": if params.is_empty() { Value::Null } else { json!(params) },
        "requestContext": {
            "accountId": super::provision::ACCOUNT,
            "apiId": "local",
            "domainName": parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": parts.headers.get(http::header::USER_AGENT).and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "body": body,
        "isBase64Encoded": encoded,
    })
}

async fn dispatch(
    routes: &[Route],
    schedules: &Schedules,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return error(413, "payload_too_large", "the request body is larger than 6 MB"),
    };
    let path = parts.uri.path().to_owned();
    if let Some(rest) = path.strip_prefix("/_dev/") {
        let input = serde_json::from_slice::<Value>(&body)
            .ok()
            .filter(|v| v.is_object() && v.as_object().is_some_and(|o| !o.is_empty()));
        return dev_control(schedules, parts.method.as_str(), rest, input).await;
    }
    let method = parts.method.as_str().to_owned();
    let Some((route, params)) = routes
        .iter()
        .filter(|r| r.method == "ANY" || r.method == method)
        .find_map(|r| match_path(&r.path, &path).map(|p| (r, p)))
    else {
        return error(404, "not_found", &format!("no route {method} {path}"));
    };
    let event = gateway_event(route, &parts, &body, params, peer);
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(r) => r,
        Err(e) => return error(500, "internal_error", &format!("the gateway event did not parse: {e}")),
    };
    let answer = match tokio::time::timeout(route.timeout, (route.handler)(request)).await {
        Ok(answer) => answer,
        Err(_) => {
            tracing::error!(function = %route.function, "function timed out");
            return error(503, "service_unavailable", "the function timed out");
        }
    };
    let (head, body) = answer.into_parts();
    let mut out = hyper::Response::builder().status(head.status);
    for (k, v) in &head.headers {
        out = out.header(k, v);
    }
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(t) => Bytes::from(t),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    out.body(Full::new(bytes)).expect("valid response parts")
}

/// Local controls. A JSON object posted to a schedule replaces its event,
/// as a schedule's `Input` would (e.g. `{"date": "2026-11-21"}`).
async fn dev_control(
    schedules: &Schedules,
    method: &str,
    rest: &str,
    input: Option<Value>,
) -> hyper::Response<Full<Bytes>> {
    let ok = |v: Value| response(200, &[("content-type", "application/json")], Bytes::from(v.to_string()));
    match (method, rest.trim_end_matches('/').split('/').collect::<Vec<_>>().as_slice()) {
        ("GET", ["schedules"]) => ok(json!({"data": schedules.describe()})),
        ("GET", ["aws-requests"]) => ok(json!(shared::aws::metrics::snapshot())),
        ("GET", ["metrics"]) => ok(json!({"data": super::metrics::documents(None)})),
        ("GET", ["metrics", function]) => ok(json!({"data": super::metrics::documents(Some(function))})),
        ("DELETE", ["metrics"]) => {
            super::metrics::clear();
            ok(json!({}))
        }
        ("DELETE", ["aws-requests"]) => {
            shared::aws::metrics::reset();
            ok(json!({}))
        }
        ("POST", ["schedules", name]) => match schedules.fire(name, input).await {
            Ok(result) => ok(json!({"schedule": name, "result": result})),
            Err(e) if e.starts_with("no schedule") => error(404, "not_found", &e),
            Err(e) => error(502, "function_error", &e),
        },
        _ => error(
            404,
            "not_found",
            "dev controls: GET /_dev/schedules, POST /_dev/schedules/{name}, GET|DELETE /_dev/aws-requests, \
             GET /_dev/metrics[/{function}], DELETE /_dev/metrics",
        ),
    }
}

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, routes: Arc<Vec<Route>>, schedules: Arc<Schedules>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let routes = routes.clone();
        let schedules = schedules.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let routes = routes.clone();
                let schedules = schedules.clone();
                async move { Ok::<_, Infallible>(dispatch(&routes, &schedules, req, peer).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::match_path;

    #[test]
    fn paths_match_like_api_gateway() {
        assert_eq!(match_path("/v1/{proxy+}", "/v1/endpoints/ep_1").unwrap()["proxy"], "endpoints/ep_1");
        assert!(match_path("/v1/{proxy+}", "/v1").is_none());
        assert_eq!(match_path("/api/v1/webhooks/{slug}", "/api/v1/webhooks/crm").unwrap()["slug"], "crm");
        assert!(match_path("/api/v1/webhooks/{slug}", "/api/v1/webhooks/crm/x").is_none());
        assert!(match_path("/health", "/health").unwrap().is_empty());
        assert!(match_path("/health", "/healthz").is_none());
    }
}
