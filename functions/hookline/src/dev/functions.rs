//! The in-process functions: the same handler code each Lambda binary runs,
//! looked up by the binary name the template gives (`BuildProperties.Binary`).

use std::future::Future;
use std::sync::Arc;

use aws_config::SdkConfig;
use futures_util::future::BoxFuture;
use lambda_http::{Body, Request, Response};
use lambda_runtime::{Context, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use shared::aws::Clients;
use shared::config::{fast_path_max_deliveries, health_rules, Config};

/// An HTTP API function.
pub type HttpHandler = Arc<dyn Fn(Request) -> BoxFuture<'static, Response<Body>> + Send + Sync>;
/// An event function: Lambda's JSON in, JSON out, as across the real boundary.
pub type EventHandler = Arc<dyn Fn(Value) -> BoxFuture<'static, Result<Value, String>> + Send + Sync>;

/// A function ready to invoke.
#[derive(Clone)]
pub enum Handler {
    Http(HttpHandler),
    Event(EventHandler),
}

/// Wraps a typed Lambda handler so it takes and gives JSON, deserializing
/// exactly as the runtime would.
pub fn typed<E, R, F, Fut>(f: F) -> EventHandler
where
    E: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    F: Fn(LambdaEvent<E>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, lambda_runtime::Error>> + Send + 'static,
{
    let f = Arc::new(f);
    Arc::new(move |value: Value| {
        let f = f.clone();
        Box::pin(async move {
            let payload: E =
                serde_json::from_value(value).map_err(|e| format!("the event did not deserialize: {e}"))?;
            let mut context = Context::default();
            context.request_id = hex::encode(shared::ids::random_bytes::<8>());
            let answer = f(LambdaEvent::new(payload, context)).await;
            super::metrics::flush();
            let answer = answer.map_err(|e| e.to_string())?;
            serde_json::to_value(answer).map_err(|e| e.to_string())
        })
    })
}

/// Builds the handler of `binary`, reading its environment through `env`
/// only, or `None` when this build of `hookline` has no such function.
pub fn build(binary: &str, env: &dyn Fn(&str) -> Option<String>, sdk: &SdkConfig) -> Result<Option<Handler>, String> {
    let config = || Config::from_lookup(env).map_err(|e| format!("{binary}: {e}"));
    let clients = Clients::new(sdk);
    // Each function: its state built once from its own environment, then
    // its handler behind the HTTP or the JSON event boundary.
    macro_rules! http {
        ($state:expr, $handle:path) => {{
            let state = Arc::new($state);
            Some(Handler::Http(Arc::new(move |req| {
                let state = state.clone();
                Box::pin(async move {
                    let answer = $handle(&state, req).await;
                    super::metrics::flush();
                    answer
                })
            })))
        }};
    }
    macro_rules! event {
        ($state:expr, $handle:path) => {{
            let state = Arc::new($state);
            Some(Handler::Event(typed(move |event| {
                let state = state.clone();
                async move { $handle(&state, event).await }
            })))
        }};
    }
    Ok(match binary {
        "admin-api" => {
            let fast_path = fast_path_max_deliveries(env).map_err(|e| format!("{binary}: {e}"))?;
            http!(admin_api::AppState::new(config()?, &clients).with_fast_path(fast_path), admin_api::handle)
        }
        "inbound-receipt" => http!(inbound_receipt::ReceiptState::new(config()?, &clients), inbound_receipt::handle),
        "inbound-process" => event!(inbound_process::ProcessState::new(config()?, &clients), inbound_process::handle),
        "outbox-fanout" => event!(outbox_fanout::FanoutState::new(config()?, &clients), outbox_fanout::handle),
        "delivery-attempt" => {
            event!(delivery_attempt::WorkerState::new(config()?, &clients), delivery_attempt::handle)
        }
        "scheduled-summary" => {
            event!(scheduled_summary::SummaryState::new(config()?, &clients), scheduled_summary::handle)
        }
        "prune" => event!(prune::PruneState::new(config()?, &clients), prune::handle),
        "endpoint-health" => {
            let rules = health_rules(env).map_err(|e| format!("{binary}: {e}"))?;
            event!(endpoint_health::HealthState::new(config()?, rules, &clients), endpoint_health::handle)
        }
        _ => None,
    })
}
