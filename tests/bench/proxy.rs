//! A keep-alive relay between the measured functions and moto. moto answers
//! every request with `Connection: close`, so an SDK client would open a new
//! TCP connection for every call; on AWS it keeps its connections open. The
//! relay keeps the functions' connections open, as AWS would, and pays for
//! moto's fresh connections on its own thread, outside the functions' clocks.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// Headers the relay does not pass on (per connection, or set again by its client).
const HOP_BY_HOP: [&str; 4] = ["connection", "keep-alive", "transfer-encoding", "content-length"];

async fn relay(
    client: reqwest::Client,
    upstream: String,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).expect("an HTTP method");
    let mut forward = client.request(method, format!("{upstream}{path}")).body(body);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != "host" {
            forward = forward.header(name.as_str(), value.as_bytes());
        }
    }
    let mut out = hyper::Response::builder();
    match forward.send().await {
        Ok(answer) => {
            out = out.status(answer.status().as_u16());
            for (name, value) in answer.headers() {
                if !HOP_BY_HOP.contains(&name.as_str()) {
                    out = out.header(name.as_str(), value.as_bytes());
                }
            }
            let body = answer.bytes().await.unwrap_or_default();
            out.body(Full::new(body)).expect("a response")
        }
        Err(e) => out.status(502).body(Full::new(Bytes::from(e.to_string()))).expect("a response"),
    }
}

/// Starts the relay on a thread of its own; its base URL.
pub fn spawn(upstream: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.set_nonblocking(true).expect("non-blocking");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let upstream = upstream.trim_end_matches('/').to_owned();
    std::thread::Builder::new()
        .name("moto-relay".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let client = reqwest::Client::new();
                loop {
                    let Ok((stream, _)) = listener.accept().await else { continue };
                    let (client, upstream) = (client.clone(), upstream.clone());
                    tokio::spawn(async move {
                        let service = service_fn(move |request| {
                            let (client, upstream) = (client.clone(), upstream.clone());
                            async move { Ok::<_, Infallible>(relay(client, upstream, request).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        })
        .expect("the relay's thread starts");
    url
}
