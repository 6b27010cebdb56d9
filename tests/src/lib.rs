//! Test support: a private local platform per test (its own tables, queues
//! and secrets in one shared emulator), a small API client, and a receiver.

pub mod receiver;

use std::sync::OnceLock;

use hookline::dev::moto::Moto;
use hookline::dev::{DevOptions, Platform};
use serde_json::Value;

/// Every auth type that checks a credential, with its name in the API.
pub const SIGNED_AUTH_TYPES: [(shared::inbound_auth::AuthType, &str); 8] = {
    use shared::inbound_auth::AuthType;
    [
        (AuthType::Hms, "hms"),
        (AuthType::StandardWebhooks, "standard-webhooks"),
        (AuthType::Stripe, "stripe"),
        (AuthType::Github, "github"),
        (AuthType::Shopify, "shopify"),
        (AuthType::Slack, "slack"),
        (AuthType::Basic, "basic"),
        (AuthType::Bearer, "bearer"),
    ]
};

/// The emulator every test of this process shares: `AWS_ENDPOINT_URL` when
/// set (as `make test` does), otherwise a moto started once and ended with
/// the process.
pub fn emulator() -> String {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    static MOTO: OnceLock<Moto> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| match std::env::var("AWS_ENDPOINT_URL").ok().filter(|u| !u.is_empty()) {
            Some(url) => url,
            None => MOTO.get_or_init(|| Moto::start(None).expect("moto_server starts")).endpoint.clone(),
        })
        .clone()
}

/// The repository's `template.yaml`.
pub fn project_template() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")
}

/// Options for a platform of its own on the shared emulator.
pub fn options() -> DevOptions {
    let mut opts = DevOptions::from_env().expect("dev options");
    opts.template = project_template();
    opts.stack = format!("t{}", hex::encode(shared::ids::random_bytes::<4>()));
    opts.listen = "127.0.0.1:0".parse().expect("address");
    opts.endpoint_url = Some(emulator());
    opts.admin_key = None;
    opts
}

/// Options for delivery tests: receivers on 127.0.0.1 are reachable and
/// every retry delay is multiplied by `retry_scale`.
pub fn delivery_options(retry_scale: f64) -> DevOptions {
    let mut opts = options();
    opts.parameters.insert("AllowedPrivateCidrs".into(), "127.0.0.1/32".into());
    opts.extra_env.insert("HOOKLINE_RETRY_SCALE".into(), retry_scale.to_string());
    opts
}

/// The stream's fan-out fails every batch in a stack started with these
/// options: nothing reaches it but what a test hands it itself.
pub fn without_stream_fanout(opts: &mut DevOptions) {
    let down: hookline::dev::functions::EventHandler =
        std::sync::Arc::new(|_| Box::pin(async { Err("fan-out is down".to_owned()) }));
    opts.handlers.insert("outbox-fanout".into(), hookline::dev::functions::Handler::Event(down));
}

/// Polls `check` until it returns `Some` (panics after `within`).
pub async fn eventually<T, F, Fut>(what: &str, within: std::time::Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// What a `hookline` command printed.
#[derive(Debug)]
pub struct CliRun {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl CliRun {
    /// The `--json` output.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

/// The `hookline` binary cargo built for this test run.
pub fn hookline_binary() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("debug/hookline")
}

/// A running platform and a client for it.
pub struct Stack {
    pub platform: Platform,
    http: reqwest::Client,
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(options()).await
    }

    pub async fn start_with(opts: DevOptions) -> Self {
        let platform = Platform::start(opts).await.expect("the local platform starts");
        Self { platform, http: reqwest::Client::new() }
    }

    /// A client with the bootstrap admin key.
    pub fn admin(&self) -> Api {
        self.as_key(&self.platform.admin_key)
    }

    /// A client with any key (or garbage).
    pub fn as_key(&self, key: &str) -> Api {
        Api { base: self.platform.url.clone(), key: Some(key.to_owned()), http: self.http.clone() }
    }

    /// A client with no Authorization header.
    pub fn anonymous(&self) -> Api {
        Api { base: self.platform.url.clone(), key: None, http: self.http.clone() }
    }

    /// Runs the `hookline` CLI against this stack's resources in the emulator.
    pub async fn cli(&self, args: &[&str]) -> CliRun {
        let out = tokio::process::Command::new(hookline_binary())
            .args(args)
            .env("AWS_ENDPOINT_URL", emulator())
            .env("HOOKLINE_LOCAL_STACK", &self.platform.stack)
            .env("HOOKLINE_TEMPLATE", project_template())
            .env_remove("HOOKLINE_DEPLOYED_STACK")
            // The old names of those two (see `hookline::cli::renamed`).
            .env_remove("HOOKLINE_STACK")
            .env_remove("HOOKLINE_STACK_NAME")
            // Never the state file of a `hookline dev` the developer runs.
            .env("HOOKLINE_STATE_DIR", std::env::temp_dir().join("hookline-tests-no-state"))
            .output()
            .await
            .expect("the hookline binary runs (cargo builds it for the tests)");
        CliRun {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `hookline ARGS` against this stack's HTTP API with the admin key.
    pub async fn cli_as_admin(&self, args: &[&str]) -> CliRun {
        let mut all = args.to_vec();
        all.extend(["--api-url", &self.platform.url, "--api-key", &self.platform.admin_key]);
        self.cli(&all).await
    }

    /// The fan-out function's state, to play a stream record's pass by hand.
    pub fn fanout_state(&self) -> outbox_fanout::FanoutState {
        let env = &self.platform.environments["OutboxFanoutFunction"];
        let config = shared::config::Config::from_lookup(|k| env.get(k).cloned()).expect("config");
        outbox_fanout::FanoutState::new(config, &shared::aws::Clients::new(&self.platform.sdk))
    }

    /// The stack's tables, as the functions see them.
    pub fn db(&self) -> shared::aws::dynamo::Db {
        let env = self.platform.environments.values().next().expect("a function");
        let config = shared::config::Config::from_lookup(|k| env.get(k).cloned()).expect("config");
        shared::aws::dynamo::Db::new(shared::aws::Clients::new(&self.platform.sdk).dynamodb, config.tables)
    }

    /// A new key for `tenant`, made with the admin key.
    pub async fn tenant(&self, tenant: &str) -> Api {
        let reply = self.admin().post("/v1/api-keys", serde_json::json!({"name": tenant, "tenant_id": tenant})).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        self.as_key(reply.body["key"].as_str().expect("key shown once"))
    }
}

/// What the API answered.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// The error code of a `{"code","detail"}` answer.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// A thin JSON client.
#[derive(Clone)]
pub struct Api {
    base: String,
    key: Option<String>,
    http: reqwest::Client,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<String>) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = &self.key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        let resp = req.send().await.expect("the API answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("a body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Reply { status, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(reqwest::Method::POST, path, Some(body.to_string())).await
    }

    /// POST raw bytes with the given headers (a webhook provider's request).
    pub async fn post_with_headers(&self, path: &str, headers: &[(String, String)], body: Vec<u8>) -> Reply {
        let mut req = self.http.post(format!("{}{path}", self.base)).body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.expect("the API answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("a body");
        Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
    }

    /// POST with a body sent exactly as given.
    pub async fn post_raw(&self, path: &str, body: &str) -> Reply {
        self.send(reqwest::Method::POST, path, Some(body.to_owned())).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(reqwest::Method::PATCH, path, Some(body.to_string())).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(reqwest::Method::DELETE, path, None).await
    }
}

/// A consumer's program run by a test (a receiver in another language).
pub mod consumer {
    use std::time::Duration;

    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::process::Child;

    /// Waits until `child` accepts connections on 127.0.0.1:`port` (panics
    /// if it exits first or never listens within `within`).
    pub async fn listening(what: &str, port: u16, child: &mut Child, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{what} exited before listening: {status}");
            }
            assert!(tokio::time::Instant::now() < deadline, "{what} never listened on {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The first line starting with `prefix` that `child` prints on stdout
    /// or stderr (both piped), within `within`.
    pub async fn line_starting(child: &mut Child, prefix: &str, within: Duration) -> Option<String> {
        let mut out = BufReader::new(child.stdout.take()?).lines();
        let mut err = BufReader::new(child.stderr.take()?).lines();
        let find = async {
            loop {
                let line = tokio::select! {
                    l = out.next_line() => l,
                    l = err.next_line() => l,
                };
                match line {
                    Ok(Some(l)) if l.starts_with(prefix) => return Some(l),
                    Ok(Some(_)) => continue,
                    _ => return None,
                }
            }
        };
        tokio::time::timeout(within, find).await.ok().flatten()
    }
}
