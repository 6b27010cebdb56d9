//! One function's handler on an OS thread of its own, so that the CPU time
//! it spends (its SDK calls, its HTTP requests and the connection tasks
//! behind both included) can be read from that thread's clock, apart from
//! the other functions, the emulator pollers, the load generator and the
//! receiver that share the process.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hookline::dev::functions::{build, Handler};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

enum Call {
    Event(Value, oneshot::Sender<Result<Value, String>>),
    Http(Box<Request>, oneshot::Sender<Response<Body>>),
}

enum Job {
    Start { env: HashMap<String, String>, endpoint: String },
    Invoke(Call),
    Cpu(oneshot::Sender<Duration>),
}

/// A handle on one function's thread.
#[derive(Clone)]
pub struct Isolated {
    /// The binary name (`BuildProperties.Binary`).
    pub binary: &'static str,
    /// The template's logical id, whose environment and role it gets.
    logical_id: &'static str,
    jobs: mpsc::UnboundedSender<Job>,
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: clock_gettime fills the timespec we hand it.
    let ts = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        ts
    };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn run(handler: &Handler, call: Call) {
    match (handler, call) {
        (Handler::Event(h), Call::Event(event, reply)) => {
            let h = h.clone();
            tokio::spawn(async move { reply.send(h(event).await) });
        }
        (Handler::Http(h), Call::Http(request, reply)) => {
            let h = h.clone();
            tokio::spawn(async move { reply.send(h(*request).await) });
        }
        _ => panic!("a call of the wrong kind for its function"),
    }
}

impl Isolated {
    /// Spawns the thread; it builds the handler once [`Isolated::start`]
    /// hands it the function's environment, and holds invocations until then.
    pub fn spawn(binary: &'static str, logical_id: &'static str) -> Self {
        let (jobs, mut rx) = mpsc::unbounded_channel::<Job>();
        std::thread::Builder::new()
            .name(binary.into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(async move {
                    let mut handler: Option<Handler> = None;
                    let mut waiting: Vec<Call> = Vec::new();
                    while let Some(job) = rx.recv().await {
                        match job {
                            Job::Start { env, endpoint } => {
                                // Its own HTTP client on this thread.
                                let sdk = hookline::dev::emulator_sdk_config(&endpoint).await;
                                let lookup = |k: &str| env.get(k).cloned();
                                let Ok(Some(h)) = build(binary, &lookup, &sdk) else {
                                    panic!("{binary} builds");
                                };
                                for call in waiting.drain(..) {
                                    run(&h, call);
                                }
                                handler = Some(h);
                            }
                            Job::Invoke(call) => match &handler {
                                Some(h) => run(h, call),
                                None => waiting.push(call),
                            },
                            Job::Cpu(reply) => {
                                let _ = reply.send(thread_cpu());
                            }
                        }
                    }
                });
            })
            .expect("the function's thread starts");
        Self { binary, logical_id, jobs }
    }

    /// The handler `hookline dev` invokes in place of the built-in one.
    pub fn handler(&self, http: bool) -> Handler {
        let jobs = self.jobs.clone();
        if http {
            return Handler::Http(Arc::new(move |request| {
                let (tx, rx) = oneshot::channel();
                let sent = jobs.send(Job::Invoke(Call::Http(Box::new(request), tx)));
                Box::pin(async move {
                    let gone = || {
                        let mut r = Response::new(Body::from("the function's thread is gone"));
                        *r.status_mut() = lambda_http::http::StatusCode::BAD_GATEWAY;
                        r
                    };
                    if sent.is_err() {
                        return gone();
                    }
                    rx.await.unwrap_or_else(|_| gone())
                })
            }));
        }
        Handler::Event(Arc::new(move |event| {
            let (tx, rx) = oneshot::channel();
            let sent = jobs.send(Job::Invoke(Call::Event(event, tx)));
            Box::pin(async move {
                sent.map_err(|_| "the function's thread is gone".to_owned())?;
                rx.await.map_err(|_| "the function dropped the invocation".to_owned())?
            })
        }))
    }

    /// Builds the real handler with the function's resolved environment.
    /// Its AWS calls go to `endpoint` (the emulator, or a relay in front of
    /// it). `hookline dev`'s IAM check is left out: on AWS, IAM costs the
    /// function nothing, and here it would be a tenth of the publish
    /// handler's clock (the suite checks each role in `tests/iam.rs`).
    pub fn start(&self, platform: &hookline::dev::Platform, endpoint: &str) {
        let function = self.logical_id;
        let env = platform.environments.get(function).expect("the function's environment").clone();
        let _ = self.jobs.send(Job::Start { env, endpoint: endpoint.to_owned() });
    }

    /// The thread's CPU time so far.
    pub async fn cpu(&self) -> Duration {
        let (tx, rx) = oneshot::channel();
        let _ = self.jobs.send(Job::Cpu(tx));
        rx.await.expect("the function's thread answers")
    }
}
