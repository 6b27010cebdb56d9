//! Lambda entry point: build config and clients once, then serve.

use inbound_receipt::{handle, ReceiptState};
use lambda_http::{run, service_fn, Error, Request};
use shared::aws::{load_sdk_config, Clients};
use shared::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    // Before the state registers its metrics; flushed after each invocation.
    shared::metrics::install(&config.metrics_namespace);
    let state = ReceiptState::new(config, &Clients::new(&load_sdk_config().await));
    let state = &state;
    run(service_fn(move |req: Request| async move {
        let answer = handle(state, req).await;
        shared::metrics::flush_to_stdout();
        Ok::<_, Error>(answer)
    }))
    .await
}
