//! The README's "Verify a delivery" receivers, each given a real signed
//! delivery: the right secret is verified, a wrong one is refused.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use hookline::dev::moto::free_port;
use hookline_tests::{delivery_options, Stack};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const WAIT: Duration = Duration::from_secs(60);

fn receivers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/receivers")
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
        other => panic!("no receiver {other}"),
    };
    cmd.env("RECEIVER_PORT", port.to_string()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    cmd
}

/// The first line containing `verified` on the receiver's stdout or stderr.
async fn verified_line(child: &mut Child) -> Option<String> {
    let mut out = BufReader::new(child.stdout.take()?).lines();
    let mut err = BufReader::new(child.stderr.take()?).lines();
    let find = async {
        loop {
            let line = tokio::select! {
                l = out.next_line() => l,
                l = err.next_line() => l,
            };
            match line {
                Ok(Some(l)) if l.starts_with("verified") => return Some(l),
                Ok(Some(_)) => continue,
                _ => return None,
            }
        }
    };
    tokio::time::timeout(WAIT, find).await.ok().flatten()
}

async fn check(kind: &str) {
    let stack = Stack::start_with(delivery_options(0.01)).await;
    let api = stack.admin();
    for (secret_ok, event_type) in [(true, "bill.paid"), (false, "bill.paid")] {
        let port = free_port().unwrap();
        let url = format!("http://127.0.0.1:{port}/hook");
        let created =
            api.post("/v1/endpoints", json!({"url": url, "event_types": [event_type], "max_retries": 0})).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let secret = created.body["secret"].as_str().unwrap().to_owned();
        let given = if secret_ok { secret } else { format!("{secret}x") };
        let mut child = receiver(kind, port, &given).spawn().unwrap_or_else(|e| panic!("{kind} runs: {e}"));
        tokio::time::sleep(Duration::from_millis(500)).await; // the interpreter binds its port
        let published = api.post("/v1/events", json!({"type": event_type, "data": {"invoice": "INV-1"}})).await;
        assert_eq!(published.status, 202);
        if secret_ok {
            let line = verified_line(&mut child).await.unwrap_or_else(|| panic!("the {kind} receiver verified it"));
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
