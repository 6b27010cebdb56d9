//! Lambda entry point: build config and clients once, then serve.

use admin_api::{handle, AppState};
use lambda_http::{run, service_fn, Error, Request};
use shared::aws::{load_sdk_config, Clients};
use shared::config::{fast_path_max_deliveries, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let fast_path = fast_path_max_deliveries(|name| std::env::var(name).ok())?;
    let clients = Clients::new(&load_sdk_config().await);
    let state = AppState::new(config, &clients).with_fast_path(fast_path);
    let state = &state;
    run(service_fn(move |req: Request| async move { Ok::<_, Error>(handle(state, req).await) })).await
}
