//! `hookline dev` as a user runs it: starts its own moto, prints the URL and
//! the admin key, serves the API, keeps secrets out of its output, and stops
//! cleanly (emulator included) on Ctrl-C.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn field(lines: &[String], label: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no `{label}` in {lines:?}"))
}

#[tokio::test]
async fn dev_serves_the_api_and_stops_cleanly_on_ctrl_c() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookline"))
        .arg("dev")
        .current_dir(root)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("HOOKLINE_ADMIN_KEY")
        .env("HOOKLINE_PORT", port.to_string())
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).ok();
        s
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !lines.iter().any(|l: &String| l.contains("Press Ctrl-C")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => panic!("hookline dev did not come up: {lines:?}"),
        }
    }
    let url = field(&lines, "API:");
    let key = field(&lines, "admin API key:");
    let emulator = field(&lines, "AWS emulator:");
    assert_eq!(url, format!("http://127.0.0.1:{port}"));
    assert!(key.starts_with("hk_"), "a random admin key is generated: {key}");

    // The emulator must outlive the thread that happened to start it (a
    // blocking-pool thread retires after ten idle seconds).
    std::thread::sleep(Duration::from_secs(12));
    let http = reqwest::Client::new();
    let health: Value = http.get(format!("{url}/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let created: Value = http
        .post(format!("{url}/v1/endpoints"))
        .bearer_auth(&key)
        .json(&json!({"url": "https://hooks.example.com/x", "event_types": ["patient.registered"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let first_secret = created["secret"].as_str().unwrap().to_owned();
    let rotated: Value = http
        .post(format!("{url}/v1/endpoints/{id}/rotate-secret"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second_secret = rotated["secret"].as_str().unwrap().to_owned();
    let tenant: Value = http
        .post(format!("{url}/v1/api-keys"))
        .bearer_auth(&key)
        .json(&json!({"name": "acme", "tenant_id": "acme"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant_key = tenant["key"].as_str().unwrap().to_owned();
    let listed = http.get(format!("{url}/v1/endpoints")).bearer_auth(&tenant_key).send().await.unwrap();
    assert_eq!(listed.status(), 200);

    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "hookline dev did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
    lines.extend(rx.try_iter());
    assert!(lines.iter().any(|l| l.contains("Stopping")), "{lines:?}");
    let moto: SocketAddr = emulator.trim_start_matches("http://").parse().unwrap();
    assert!(
        TcpStream::connect_timeout(&moto, Duration::from_millis(500)).is_err(),
        "the emulator it started is stopped"
    );

    let output = format!("{}\n{}", lines.join("\n"), err_reader.join().unwrap());
    assert!(
        output.contains("DEBUG") || output.contains("debug"),
        "debug logging was on, so the leak check means something"
    );
    for secret in [&first_secret, &second_secret, &tenant_key] {
        let body = secret.trim_start_matches("whsec_").trim_start_matches("hk_");
        assert!(!output.contains(body), "a secret leaked into the output");
    }
}
