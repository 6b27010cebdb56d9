//! Receivers that misbehave on purpose. Each request, at random: a 503, a
//! hang past the endpoint's timeout, a connection reset without an answer,
//! or a 200. Raw HTTP/1.1 over a `TcpListener`, so a reset is a real RST and
//! a hang a real silent socket. Every 200 is tallied by `webhook-id`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Shares of requests that fail each way; the rest get a 200.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    pub server_error: f64,
    pub hang: f64,
    pub reset: f64,
    /// How long a hung request holds its connection before dropping it.
    pub hang_for: Duration,
}

/// What one receiver saw.
#[derive(Debug, Default)]
pub struct Tally {
    pub requests: u64,
    pub ok: u64,
    pub server_errors: u64,
    pub hangs: u64,
    pub resets: u64,
    /// 200s answered, by `webhook-id`.
    pub delivered: HashMap<String, u32>,
    /// The longest run of failures in a row, in arrival order: what the
    /// endpoint's consecutive-failure counter would have seen at most.
    pub longest_failure_streak: u32,
    streak: u32,
}

impl Tally {
    /// 200s beyond the first for the same `webhook-id`.
    pub fn duplicates(&self) -> usize {
        self.delivered.values().map(|n| (n - 1) as usize).sum()
    }

    /// 200s for ids outside `expected`.
    pub fn unexpected(&self, expected: &std::collections::HashSet<String>) -> usize {
        self.delivered.keys().filter(|k| !expected.contains(*k)).count()
    }

    fn failed(&mut self) {
        self.streak += 1;
        self.longest_failure_streak = self.longest_failure_streak.max(self.streak);
    }
}

#[derive(Debug, Clone, Copy)]
enum Fate {
    Ok,
    ServerError,
    Hang,
    Reset,
}

/// A uniform number in [0, 1).
pub fn unit() -> f64 {
    (u64::from_le_bytes(shared::ids::random_bytes::<8>()) >> 11) as f64 / (1u64 << 53) as f64
}

impl Faults {
    fn roll(&self) -> Fate {
        let r = unit();
        if r < self.server_error {
            Fate::ServerError
        } else if r < self.server_error + self.hang {
            Fate::Hang
        } else if r < self.server_error + self.hang + self.reset {
            Fate::Reset
        } else {
            Fate::Ok
        }
    }
}

/// A misbehaving receiver on 127.0.0.1; runs until the process ends.
pub struct FaultyReceiver {
    pub url: String,
    pub tally: Arc<Mutex<Tally>>,
}

impl FaultyReceiver {
    pub async fn start(faults: Faults) -> std::io::Result<Self> {
        Self::listen("127.0.0.1:0", faults).await
    }

    /// A receiver on a given address: the down endpoint's, once it recovers.
    pub async fn listen(address: &str, faults: Faults) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr()?.port());
        let tally = Arc::new(Mutex::new(Tally::default()));
        let shared = tally.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                tokio::spawn(serve(stream, faults, shared.clone()));
            }
        });
        Ok(Self { url, tally })
    }
}

/// A URL nothing listens on: every connection is refused.
pub fn refused_url() -> std::io::Result<String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    Ok(format!("http://127.0.0.1:{port}/hook"))
}

/// One request off a keep-alive connection: its headers (lowercased) and
/// body, or `None` when the peer closed.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<HashMap<String, String>> {
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let headers: HashMap<String, String> = String::from_utf8_lossy(&buf[..head_end])
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let total = head_end + 4 + length;
    while buf.len() < total {
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    buf.drain(..total);
    Some(headers)
}

async fn serve(mut stream: TcpStream, faults: Faults, tally: Arc<Mutex<Tally>>) {
    let mut buf = Vec::new();
    while let Some(headers) = read_request(&mut stream, &mut buf).await {
        let fate = faults.roll();
        {
            let mut t = tally.lock().expect("tally");
            t.requests += 1;
            match fate {
                Fate::Ok => {}
                Fate::ServerError => t.server_errors += 1,
                Fate::Hang => t.hangs += 1,
                Fate::Reset => t.resets += 1,
            }
            if !matches!(fate, Fate::Ok) {
                t.failed();
            }
        }
        match fate {
            Fate::Ok => {
                if stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await.is_err() {
                    return;
                }
                let mut t = tally.lock().expect("tally");
                t.ok += 1;
                t.streak = 0;
                let id = headers.get("webhook-id").cloned().unwrap_or_default();
                *t.delivered.entry(id).or_default() += 1;
            }
            Fate::ServerError => {
                let body = r#"{"error":"injected failure"}"#;
                let answer = format!(
                    "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
            }
            Fate::Hang => {
                tokio::time::sleep(faults.hang_for).await;
                return;
            }
            Fate::Reset => {
                // SO_LINGER 0: closing sends RST instead of FIN.
                let _ = stream.set_zero_linger();
                return;
            }
        }
    }
}
