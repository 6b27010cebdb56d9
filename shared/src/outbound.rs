//! The HTTP client that delivers webhooks. It resolves names itself, drops
//! every address the target policy forbids, and connects only to a vetted
//! address, so a name cannot be re-pointed at an internal host between the
//! check and the connection. Redirects are never followed.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use crate::ssrf::TargetPolicy;

/// Most response body bytes read from a receiver.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The receiver's answer, headers lowercased.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    pub duration: Duration,
}

/// Why no answer came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// `forbidden_target`, `timeout`, `dns`, `connect` or `io`.
    pub kind: &'static str,
    pub detail: String,
    pub duration: Duration,
}

/// The resolver refused every address of a name.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ForbiddenTarget(String);

/// Resolves with the policy's lookup (the system resolver), then keeps only
/// permitted addresses.
struct VettingResolver {
    policy: TargetPolicy,
}

impl Resolve for VettingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                policy.lookup(&host).await?.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            let allowed: Vec<SocketAddr> = found.iter().copied().filter(|a| policy.check_ip(a.ip()).is_ok()).collect();
            if allowed.is_empty() {
                let shown: Vec<IpAddr> = found.iter().map(|a| a.ip()).collect();
                let err: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(ForbiddenTarget(format!("{host} resolves only to forbidden addresses {shown:?}")));
                return Err(err);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Sends signed webhook requests under a target policy.
#[derive(Clone)]
pub struct OutboundClient {
    client: reqwest::Client,
    policy: TargetPolicy,
}

fn classify(err: &reqwest::Error) -> (&'static str, String) {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut chain = Vec::new();
    while let Some(s) = source {
        if s.downcast_ref::<ForbiddenTarget>().is_some() {
            return ("forbidden_target", s.to_string());
        }
        chain.push(s.to_string());
        source = s.source();
    }
    let detail = chain.join(": ");
    let kind = if err.is_timeout() {
        "timeout"
    } else if detail.contains("dns error") || detail.contains("failed to lookup") {
        "dns"
    } else if err.is_connect() {
        "connect"
    } else {
        "io"
    };
    (kind, detail)
}

impl OutboundClient {
    pub fn new(policy: TargetPolicy, user_agent: &str) -> Self {
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(VettingResolver { policy: policy.clone() }))
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .expect("the HTTP client configuration is valid");
        Self { client, policy }
    }

    /// POSTs `body` with `headers`; any answer, even a 500, is an `Answer`.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: String,
        timeout: Duration,
    ) -> Result<Answer, SendError> {
        let started = Instant::now();
        let fail = |kind, detail: String| SendError { kind, detail, duration: started.elapsed() };
        let parsed = Url::parse(url).map_err(|e| fail("io", format!("bad URL: {e}")))?;
        // IP literals never reach the resolver, so they are vetted here, as
        // are names for this machine whatever the resolver would make of them.
        if let Some(host) = parsed.host() {
            self.policy.check_host(host).map_err(|e| fail("forbidden_target", e.detail))?;
        }
        // A URL that reaches the deployment's own API would loop; checked
        // here too, since the list can grow after an endpoint was registered.
        self.policy.check_own(&parsed).map_err(|e| fail("forbidden_target", e.detail))?;
        if self.policy.own_port_needs_lookup(&parsed) {
            let found = self.policy.lookup(parsed.host_str().unwrap_or_default()).await.unwrap_or_default();
            self.policy.check_own_addresses(&parsed, &found).map_err(|e| fail("forbidden_target", e.detail))?;
        }
        let mut request = self.client.post(parsed).timeout(timeout).body(body);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let mut response = request.send().await.map_err(|e| {
            let (kind, detail) = classify(&e);
            fail(kind, detail)
        })?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_RESPONSE_BYTES - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if body.len() >= MAX_RESPONSE_BYTES {
                        break;
                    }
                }
                Ok(None) => break,
                // The status is what counts; a body cut short still leaves an answer.
                Err(e) if !e.is_timeout() => break,
                Err(e) => {
                    let (kind, detail) = classify(&e);
                    return Err(fail(kind, detail));
                }
            }
        }
        Ok(Answer { status, headers, body, duration: started.elapsed() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    async fn one_shot_server(reply: &'static str) -> (u16, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            let n = s.read(&mut buf).await.unwrap();
            s.write_all(reply.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        (port, task)
    }

    #[tokio::test]
    async fn loopback_is_refused_without_the_allow_list() {
        let client = OutboundClient::new(TargetPolicy::default(), "test");
        let err = client.post("http://127.0.0.1:9/", &[], "{}".into(), Duration::from_secs(2)).await.unwrap_err();
        assert_eq!(err.kind, "forbidden_target");
        let named = client.post("http://localhost:9/", &[], "{}".into(), Duration::from_secs(2)).await.unwrap_err();
        assert_eq!(named.kind, "forbidden_target", "{named:?}");
    }

    #[tokio::test]
    async fn an_allow_listed_receiver_gets_the_body_and_headers() {
        let (port, server) =
            one_shot_server("HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\nx-request-id: r1\r\n\r\nok").await;
        let client = OutboundClient::new(TargetPolicy::new("127.0.0.1/32", false).unwrap(), "Hookline/test");
        let answer = client
            .post(
                &format!("http://localhost:{port}/hook"),
                &[("x-event-type".into(), "bill.paid".into())],
                "{\"a\":1}".into(),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(answer.status, 202);
        assert_eq!(answer.body, b"ok");
        assert_eq!(answer.headers["x-request-id"], "r1");
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST /hook HTTP/1.1"));
        assert!(
            seen.contains("x-event-type: bill.paid")
                && seen.contains("user-agent: Hookline/test")
                && seen.ends_with("{\"a\":1}")
        );
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let (port, _server) =
            one_shot_server("HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/\r\ncontent-length: 0\r\n\r\n")
                .await;
        let client = OutboundClient::new(TargetPolicy::new("127.0.0.1/32", false).unwrap(), "t");
        let answer = client
            .post(&format!("http://127.0.0.1:{port}/"), &[], String::new(), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(answer.status, 302);
    }

    #[tokio::test]
    async fn a_silent_receiver_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let _hold = tokio::spawn(async move {
            let (_s, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let client = OutboundClient::new(TargetPolicy::new("127.0.0.1/32", false).unwrap(), "t");
        let err = client
            .post(&format!("http://127.0.0.1:{port}/"), &[], String::new(), Duration::from_millis(300))
            .await
            .unwrap_err();
        assert_eq!(err.kind, "timeout", "{err:?}");
    }
}
