//! The README's "Verify a delivery" receivers, each given a real signed
//! delivery: the right secret is verified, a wrong one is refused. The
//! Standard Webhooks ones use the official libraries, installed from the
//! project's own files (`infra/requirements-dev.txt` into `.venv`,
//! `docs/receivers/package-lock.json` into `docs/receivers/node_modules`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use hookline::dev::moto::free_port;
use hookline_tests::consumer::{line_starting, listening};
use hookline_tests::{delivery_options, Stack};
use serde_json::json;
use tokio::process::Command;

const WAIT: Duration = Duration::from_secs(60);

/// A well-formed secret that is not the endpoint's (32 zero bytes), so every
/// library decodes it and still refuses the signature.
const WRONG_SECRET: &str = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn receivers() -> PathBuf {
    root().join("docs/receivers")
}

/// The project's Python (`make venv`), where `standardwebhooks` is installed.
fn venv_python() -> PathBuf {
    let python = root().join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run `make venv`", python.display());
    python
}

/// `npm ci` in docs/receivers once per run, unless node_modules already
/// matches package-lock.json (npm's own copy of it is newer).
fn node_modules() {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = INSTALLED.get_or_init(|| {
        let dir = receivers();
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let lock = modified(&dir.join("package-lock.json"));
        let installed = modified(&dir.join("node_modules/.package-lock.json"));
        if installed.is_some() && installed >= lock {
            return Ok(());
        }
        let out = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .output()
            .map_err(|e| format!("npm runs: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("npm ci in {}: {}", dir.display(), String::from_utf8_lossy(&out.stderr)))
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The command that runs one receiver on `port` with `secret`.
fn receiver(kind: &str, port: u16, secret: &str) -> Command {
    let dir = receivers();
    let mut cmd = match kind {
        "python" => {
            let mut c = Command::new("python3");
            c.arg(dir.join("hms.py")).arg(secret);
            c
        }
        "node" => {
            let mut c = Command::new("node");
            c.arg(dir.join("hms.js")).arg(secret);
            c
        }
        "php" => {
            let mut c = Command::new("php");
            c.args(["-S", &format!("127.0.0.1:{port}")]).arg(dir.join("hms.php")).env("HOOKLINE_SECRET", secret);
            c
        }
        "python-standard-webhooks" => {
            let mut c = Command::new(venv_python());
            c.arg(dir.join("sw.py")).arg(secret);
            c
        }
        "node-standard-webhooks" => {
            node_modules();
            let mut c = Command::new("node");
            c.arg(dir.join("sw.js")).arg(secret);
            c
        }
        other => panic!("no receiver {other}"),
    };
    cmd.env("RECEIVER_PORT", port.to_string()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    cmd
}

async fn check(kind: &str) {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    for secret_ok in [true, false] {
        let port = free_port().unwrap();
        let url = format!("http://127.0.0.1:{port}/hook");
        let created =
            api.post("/v1/endpoints", json!({"url": url, "event_types": ["bill.paid"], "max_retries": 0})).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let secret = created.body["secret"].as_str().unwrap();
        let given = if secret_ok { secret } else { WRONG_SECRET };
        let mut child = receiver(kind, port, given).spawn().unwrap_or_else(|e| panic!("{kind} runs: {e}"));
        listening(&format!("the {kind} receiver"), port, &mut child, WAIT).await;
        let published = api.post("/v1/events", json!({"type": "bill.paid", "data": {"invoice": "INV-1"}})).await;
        assert_eq!(published.status, 202);
        if secret_ok {
            let line = line_starting(&mut child, "verified", WAIT)
                .await
                .unwrap_or_else(|| panic!("the {kind} receiver verified it"));
            assert!(line.starts_with("verified bill.paid dlv_"), "{line}");
        } else {
            let id = created.body["id"].as_str().unwrap();
            let failed = hookline_tests::eventually("a refused delivery", WAIT, || async {
                let page = api.get(&format!("/v1/endpoints/{id}/deliveries")).await;
                page.body["data"].as_array()?.first().filter(|d| d["status"] == "failed").cloned()
            })
            .await;
            assert_eq!(failed["attempts"], 1, "{failed}");
        }
        let _ = child.kill().await;
    }
    stack.platform.shutdown().await;
}

#[tokio::test]
async fn the_python_receiver_verifies_the_hms_signature() {
    check("python").await;
}

#[tokio::test]
async fn the_node_receiver_verifies_the_hms_signature() {
    check("node").await;
}

#[tokio::test]
async fn the_php_receiver_verifies_the_hms_signature() {
    check("php").await;
}

#[tokio::test]
async fn the_python_standard_webhooks_library_verifies_the_webhook_signature() {
    check("python-standard-webhooks").await;
}

#[tokio::test]
async fn the_node_standard_webhooks_library_verifies_the_webhook_signature() {
    check("node-standard-webhooks").await;
}
