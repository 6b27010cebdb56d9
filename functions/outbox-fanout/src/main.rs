#![recursion_limit = "256"]

//! Lambda entry point: build config and clients once, then serve.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use outbox_fanout::{handle, FanoutState};
use shared::aws::{load_sdk_config, Clients};
use shared::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    // Before the state registers its metrics; flushed after each invocation.
    shared::metrics::install(&config.metrics_namespace);
    let state = FanoutState::new(config, &Clients::new(&load_sdk_config().await));
    let state = &state;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        let answer = handle(state, event).await;
        shared::metrics::flush_to_stdout();
        answer
    }))
    .await
}
