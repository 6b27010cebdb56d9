//! The delivery worker on an OS thread of its own, so that the CPU time it
//! spends (its SDK calls, its HTTP requests to the receiver and the
//! connection tasks behind both included) can be read from that thread's
//! clock, apart from the API, the fan-out, the emulator pollers, the load
//! generator and the receiver that share the process.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hookline::dev::functions::{build, EventHandler, Handler};
use hookline::dev::iam;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

enum Job {
    Start { env: HashMap<String, String>, endpoint: String, policy: Option<iam::Policy>, denials: iam::Denials },
    Invoke(Value, oneshot::Sender<Result<Value, String>>),
    Cpu(oneshot::Sender<Duration>),
}

/// A handle on the worker thread.
#[derive(Clone)]
pub struct IsolatedWorker {
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

impl IsolatedWorker {
    /// Spawns the thread; it builds the handler once [`IsolatedWorker::start`]
    /// hands it the function's environment, and holds invocations until then.
    pub fn spawn() -> Self {
        let (jobs, mut rx) = mpsc::unbounded_channel::<Job>();
        std::thread::Builder::new()
            .name("delivery-worker".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(async move {
                    let mut handler: Option<EventHandler> = None;
                    let mut waiting: Vec<(Value, oneshot::Sender<Result<Value, String>>)> = Vec::new();
                    while let Some(job) = rx.recv().await {
                        match job {
                            Job::Start { env, endpoint, policy, denials } => {
                                // Its own HTTP client on this thread, checked by the function's role.
                                let mut sdk = hookline::dev::emulator_sdk_config(&endpoint).await;
                                if let Some(policy) = policy {
                                    sdk = iam::enforcing(&sdk, &iam::base_http_client(), policy, &denials);
                                }
                                let lookup = |k: &str| env.get(k).cloned();
                                let Ok(Some(Handler::Event(h))) = build("delivery-attempt", &lookup, &sdk) else {
                                    panic!("the delivery worker builds");
                                };
                                for (event, reply) in waiting.drain(..) {
                                    let h: EventHandler = h.clone();
                                    tokio::spawn(async move { reply.send(h(event).await) });
                                }
                                handler = Some(h);
                            }
                            Job::Invoke(event, reply) => match &handler {
                                Some(h) => {
                                    let h = h.clone();
                                    tokio::spawn(async move { reply.send(h(event).await) });
                                }
                                None => waiting.push((event, reply)),
                            },
                            Job::Cpu(reply) => {
                                let _ = reply.send(thread_cpu());
                            }
                        }
                    }
                });
            })
            .expect("the worker thread starts");
        Self { jobs }
    }

    /// The handler `hookline dev` invokes for the delivery queue.
    pub fn handler(&self) -> Handler {
        let jobs = self.jobs.clone();
        Handler::Event(Arc::new(move |event| {
            let (tx, rx) = oneshot::channel();
            let sent = jobs.send(Job::Invoke(event, tx));
            Box::pin(async move {
                sent.map_err(|_| "the worker thread is gone".to_owned())?;
                rx.await.map_err(|_| "the worker dropped the invocation".to_owned())?
            })
        }))
    }

    /// Builds the real handler with the function's resolved environment
    /// and, when the platform enforces IAM, its role's policy.
    pub fn start(&self, platform: &hookline::dev::Platform) {
        let function = "DeliveryAttemptFunction";
        let env = platform.environments.get(function).expect("the worker's environment").clone();
        let _ = self.jobs.send(Job::Start {
            env,
            endpoint: platform.aws_endpoint.clone(),
            policy: platform.policies.get(function).cloned(),
            denials: platform.denials.clone(),
        });
    }

    /// The worker thread's CPU time so far.
    pub async fn cpu(&self) -> Duration {
        let (tx, rx) = oneshot::channel();
        let _ = self.jobs.send(Job::Cpu(tx));
        rx.await.expect("the worker thread answers")
    }
}
