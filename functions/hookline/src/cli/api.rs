//! The HTTP API as the everyday commands use it: where it is, the API key,
//! and its `{"code", "detail"}` errors turned into one line.

use std::time::Duration;

use clap::Args;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::{error_chain, Failure};

/// Largest page the list routes give.
const PAGE_LIMIT: &str = "250";

/// Where the HTTP API is and which key to use.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "API options")]
pub struct ApiArgs {
    /// Base URL of the HTTP API [default: the ApiUrl output of --deployed-stack,
    /// else the running `hookline dev` (its state file, see `hookline dev --help`),
    /// else http://127.0.0.1:$HOOKLINE_PORT (3000)]
    #[arg(long, global = true, env = "HOOKLINE_API_URL", value_name = "URL")]
    pub api_url: Option<String>,
    /// API key [default for the local stack: $HOOKLINE_ADMIN_KEY, else the
    /// admin key in `hookline dev`'s state file; never sent to a deployed stack]
    #[arg(long, global = true, env = "HOOKLINE_API_KEY", value_name = "KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

/// An authenticated client of one deployment's API.
pub struct Api {
    http: reqwest::Client,
    base: Url,
    key: String,
    /// Said after "cannot reach" when nothing answers.
    unreachable_hint: &'static str,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl ApiArgs {
    /// The client for these arguments: `--api-url`, else the stack's
    /// `ApiUrl` output, else the local platform.
    pub async fn client(&self, stack: Option<&str>) -> Result<Api, Failure> {
        let explicit = self.api_url.clone().filter(|u| !u.is_empty());
        let local = if stack.is_none() { super::state::read() } else { None };
        let (url, hint) = match (explicit, stack) {
            (Some(url), _) => (url, ""),
            (None, Some(name)) => {
                let sdk = shared::aws::load_sdk_config().await;
                let described = super::target::describe_stack(&sdk, name).await?;
                let url = described
                    .outputs
                    .get("ApiUrl")
                    .cloned()
                    .ok_or_else(|| Failure::new(format!("stack {name} has no output ApiUrl; pass --api-url")))?;
                (url, "")
            }
            (None, None) => match &local {
                Some(state) => (state.api_url.clone(), "; is `hookline dev` still running?"),
                None => {
                    let port = env("HOOKLINE_PORT").unwrap_or_else(|| "3000".into());
                    (format!("http://127.0.0.1:{port}"), "; is `hookline dev` running?")
                }
            },
        };
        // A local admin key must never be sent to a deployed stack, nor to
        // an --api-url other than the local stack's.
        let is_local = stack.is_none() && local.as_ref().is_none_or(|s| s.api_url == url);
        let key = self
            .api_key
            .clone()
            .filter(|k| !k.is_empty())
            .or_else(|| is_local.then(|| env("HOOKLINE_ADMIN_KEY")).flatten())
            .or_else(|| local.as_ref().filter(|_| is_local).map(|s| s.admin_key.clone()))
            .ok_or_else(|| missing_key(stack, local.as_ref().map(|s| s.api_url.as_str()), &url))?;
        Api::new(&url, key, hint)
    }
}

/// Why there is no key, and how to give one: for the local stack the admin
/// key `hookline dev` prints and stores, for anything else a key of its own.
fn missing_key(deployed: Option<&str>, local_api: Option<&str>, url: &str) -> Failure {
    let state = super::state::path();
    let state = state.display();
    Failure::new(match (deployed, local_api) {
        (Some(name), _) => format!(
            "no API key for stack {name}: pass --api-key or set HOOKLINE_API_KEY to a key of that stack \
             (the local admin key is never sent to a deployed stack)"
        ),
        (None, Some(local)) => format!(
            "no API key for {url}: pass --api-key or set HOOKLINE_API_KEY (the admin key in {state} \
             is sent only to the local stack at {local})"
        ),
        (None, None) => format!(
            "no API key: start `hookline dev`, which prints its admin key and stores it in {state} for every \
             command (HOOKLINE_ADMIN_KEY sets that key, for `hookline dev` and the CLI alike); \
             or pass --api-key or set HOOKLINE_API_KEY"
        ),
    })
}

impl Api {
    /// A client of the API at `base`.
    pub fn new(base: &str, key: String, unreachable_hint: &'static str) -> Result<Self, Failure> {
        let base = Url::parse(base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| Failure::new(format!("the API URL {base} is not an http(s) URL")))?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("hookline-cli/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Failure::new(format!("cannot build the HTTP client: {}", error_chain(&e))))?;
        Ok(Self { http, base, key, unreachable_hint })
    }

    /// The URL of `segments` (each escaped) under the base, with a query.
    pub fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url.set_query(None);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// `GET` a JSON document.
    pub async fn get(&self, segments: &[&str], query: &[(&str, String)]) -> Result<Value, Failure> {
        self.send(Method::GET, self.url(segments, query), None).await
    }

    /// `POST` with an optional JSON body.
    pub async fn post(&self, segments: &[&str], body: Option<&Value>) -> Result<Value, Failure> {
        self.send(Method::POST, self.url(segments, &[]), body).await
    }

    /// `PATCH` with a JSON body.
    pub async fn patch(&self, segments: &[&str], body: &Value) -> Result<Value, Failure> {
        self.send(Method::PATCH, self.url(segments, &[]), Some(body)).await
    }

    /// `DELETE`; the API answers 204.
    pub async fn delete(&self, segments: &[&str]) -> Result<(), Failure> {
        self.send(Method::DELETE, self.url(segments, &[]), None).await.map(drop)
    }

    /// Every item of a list route, following `next_cursor` to the last page.
    pub async fn list_all(&self, segments: &[&str], query: &[(&str, String)]) -> Result<Vec<Value>, Failure> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = query.to_vec();
            q.push(("limit", PAGE_LIMIT.to_owned()));
            if let Some(c) = cursor.take() {
                q.push(("cursor", c));
            }
            let mut page = self.get(segments, &q).await?;
            if let Some(Value::Array(data)) = page.get_mut("data").map(Value::take) {
                items.extend(data);
            }
            match page.get("next_cursor").and_then(Value::as_str) {
                Some(c) if !c.is_empty() => cursor = Some(c.to_owned()),
                _ => return Ok(items),
            }
        }
    }

    async fn send(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Value, Failure> {
        let mut request = self.http.request(method.clone(), url.clone()).bearer_auth(&self.key);
        if let Some(b) = body {
            request = request.json(b);
        }
        let response = request.send().await.map_err(|e| {
            // The innermost cause ("Connection refused") is the one people act on.
            let mut cause: &dyn std::error::Error = &e;
            while let Some(s) = cause.source() {
                cause = s;
            }
            Failure::new(format!(
                "cannot reach {}: {cause}{}",
                self.base.as_str().trim_end_matches('/'),
                self.unreachable_hint
            ))
        })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| Failure::new(format!("{method} {}: reading the answer: {}", url.path(), error_chain(&e))))?;
        if !status.is_success() {
            return Err(api_error(status, &method, url.path(), &text));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .map_err(|e| Failure::new(format!("{method} {}: the answer is not JSON: {e}", url.path())))
    }
}

/// An error answer as one line: the API's own words when it gave them.
pub fn api_error(status: StatusCode, method: &Method, path: &str, body: &str) -> Failure {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let field = |k: &str| parsed.as_ref().and_then(|v| v.get(k)).and_then(Value::as_str).map(str::to_owned);
    match (field("detail"), field("code")) {
        (Some(detail), Some(code)) => Failure::new(format!("{detail} ({code})")),
        (Some(detail), None) => Failure::new(detail),
        _ => Failure::new(format!("{method} {path} answered {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_key_says_where_each_kind_of_key_comes_from() {
        let local = missing_key(None, None, "http://127.0.0.1:3000").0;
        for part in
            ["hookline dev", "prints its admin key", "dev.json", "HOOKLINE_ADMIN_KEY", "--api-key", "HOOKLINE_API_KEY"]
        {
            assert!(local.contains(part), "{part}: {local}");
        }
        let deployed = missing_key(Some("prod"), None, "https://api.example.com").0;
        assert!(deployed.starts_with("no API key for stack prod") && !deployed.contains("HOOKLINE_ADMIN_KEY"));
        let elsewhere = missing_key(None, Some("http://127.0.0.1:3000"), "https://api.example.com").0;
        assert!(elsewhere.contains("sent only to the local stack at http://127.0.0.1:3000"), "{elsewhere}");
    }

    #[test]
    fn api_errors_show_the_detail_and_the_code() {
        let body = r#"{"code": "forbidden_target", "detail": "the URL points at a private address"}"#;
        let e = api_error(StatusCode::UNPROCESSABLE_ENTITY, &Method::POST, "/v1/endpoints", body);
        assert_eq!(e.0, "the URL points at a private address (forbidden_target)");
    }

    #[test]
    fn api_errors_without_a_body_name_the_status() {
        let e = api_error(StatusCode::BAD_GATEWAY, &Method::GET, "/v1/stats", "<html>");
        assert_eq!(e.0, "GET /v1/stats answered 502 Bad Gateway");
    }

    #[test]
    fn path_segments_are_escaped_under_the_base_path() {
        let api = Api::new("https://api.example.com/prod/", "k".into(), "").unwrap();
        let url = api.url(&["v1", "sources", "a/b c"], &[("since", "2026-11-22T00:00:00+00:00".into())]);
        assert_eq!(
            url.as_str(),
            "https://api.example.com/prod/v1/sources/a%2Fb%20c?since=2026-11-22T00%3A00%3A00%2B00%3A00"
        );
    }

    #[test]
    fn a_url_that_is_not_http_is_refused() {
        assert!(Api::new("ftp://x", "k".into(), "").is_err());
        assert!(Api::new("localhost:3000", "k".into(), "").is_err());
    }
}
