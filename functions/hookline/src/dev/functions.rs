//! The in-process functions: the same handler code each Lambda binary runs,
//! looked up by the binary name the template gives (`BuildProperties.Binary`).

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use futures_util::future::BoxFuture;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::aws::Clients;
use shared::config::Config;

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

/// Builds the handler of `binary` with its own environment, or `None` when
/// this build of `hookline` has no such function.
pub fn build(binary: &str, env: &HashMap<String, String>, sdk: &SdkConfig) -> Result<Option<Handler>, String> {
    let config = || Config::from_lookup(|k| env.get(k).cloned()).map_err(|e| format!("{binary}: {e}"));
    let clients = Clients::new(sdk);
    Ok(match binary {
        "admin-api" => {
            let state = Arc::new(admin_api::AppState::new(config()?, &clients));
            Some(Handler::Http(Arc::new(move |req| {
                let state = state.clone();
                Box::pin(async move { admin_api::handle(&state, req).await })
            })))
        }
        _ => None,
    })
}
