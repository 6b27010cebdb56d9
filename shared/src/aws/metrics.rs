//! Counts every AWS request this process sends, by `Service.Operation`, so
//! the benchmark can price a delivery from what it really cost.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

fn counts() -> &'static Mutex<BTreeMap<String, u64>> {
    static COUNTS: OnceLock<Mutex<BTreeMap<String, u64>>> = OnceLock::new();
    COUNTS.get_or_init(Default::default)
}

/// The interceptor attached to every SDK client `Clients` builds. It runs
/// once per transmitted request, SDK retries included.
#[derive(Debug, Default, Clone, Copy)]
pub struct RequestCounter;

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "HooklineRequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            let key = format!("{}.{}", meta.service(), meta.name());
            *counts().lock().expect("request counter lock").entry(key).or_default() += 1;
        }
        Ok(())
    }
}

/// Requests sent so far, by `Service.Operation`.
pub fn snapshot() -> BTreeMap<String, u64> {
    counts().lock().expect("request counter lock").clone()
}

/// Starts counting from zero.
pub fn reset() {
    counts().lock().expect("request counter lock").clear();
}
