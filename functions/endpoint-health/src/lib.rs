//! The `endpoint-health` function: disable endpoints that mostly fail, and
//! fan out outbox rows whose fan-out never completed.

use chrono::{Duration, Utc};
use lambda_runtime::{Error, LambdaEvent};
use outbox_fanout::{fan_out, FanoutState};
use serde_json::{json, Value};
use shared::aws::Clients;
use shared::config::Config;
use shared::metrics::EndpointMetrics;
use shared::ops::health::{disable_failing, stuck_events, HealthRules};

/// This function's `Function` dimension.
pub const FUNCTION: &str = "endpoint-health";

/// Outbox rows younger than this are left to the stream.
pub const STUCK_AFTER: Duration = Duration::minutes(5);
/// How far back a run looks: the schedule's six hours and a half-hour
/// overlap, so each event is checked once or twice (each check reads its
/// expected delivery keys).
pub const SWEEP_WINDOW: Duration = Duration::minutes(6 * 60 + 30);

/// Built once per cold start.
pub struct HealthState {
    pub fanout: FanoutState,
    pub rules: HealthRules,
    pub metrics: EndpointMetrics,
}

impl HealthState {
    pub fn new(config: Config, rules: HealthRules, clients: &Clients) -> Self {
        Self { fanout: FanoutState::new(config, clients), rules, metrics: EndpointMetrics::register(FUNCTION) }
    }
}

/// One health run; `dry_run` in the input only reports.
pub async fn handle(state: &HealthState, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let config = &state.fanout.config;
    let dry_run = event.payload.get("dry_run").and_then(Value::as_bool).unwrap_or(false);
    let disabled = disable_failing(&state.fanout.db, state.rules, config.retention_days, dry_run).await?;
    if !dry_run {
        state.metrics.disabled(disabled.len() as u64);
    }
    let now = Utc::now();
    let stuck = stuck_events(&state.fanout.db, now - STUCK_AFTER - SWEEP_WINDOW, now - STUCK_AFTER).await?;
    let mut redispatched = 0;
    if !dry_run {
        for event in &stuck {
            redispatched += fan_out(&state.fanout, event).await?;
            tracing::warn!(event_id = %event.event_id, "re-dispatched a stuck outbox row");
        }
    }
    Ok(json!({"disabled": disabled, "stuck_events": stuck.len(), "redispatched_deliveries": redispatched}))
}
