//! Configuration from the environment variables `template.yaml` sets on every
//! function (and `hookline dev` sets from the same template).

use crate::ops::health::HealthRules;
use crate::ssrf::TargetPolicy;

/// Names of the DynamoDB tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub api_keys: String,
    pub endpoints: String,
    pub event_types: String,
    pub events: String,
    pub idempotency: String,
    pub deliveries: String,
    pub sources: String,
    pub inbound: String,
    pub inbound_dedupe: String,
}

/// Everything a function needs to know about its stack.
#[derive(Debug, Clone)]
pub struct Config {
    pub tables: Tables,
    pub delivery_queue_url: String,
    pub inbound_queue_url: String,
    pub data_key_secret: String,
    pub admin_key_secret: String,
    pub signature_header_prefix: String,
    pub retention_days: u32,
    pub max_consecutive_failures: u32,
    pub target_policy: TargetPolicy,
    /// Multiplies every retry delay (`HOOKLINE_RETRY_SCALE`; tests use 0.01).
    pub retry_scale: f64,
    /// Extra field names whose values are masked in logs and audit rows.
    pub redact_fields: String,
    /// The zone whose calendar days the daily summary covers
    /// (`HOOKLINE_SUMMARY_TIME_ZONE`, the template's `SummaryTimeZone`; UTC when unset).
    pub summary_time_zone: chrono_tz::Tz,
    /// The CloudWatch namespace of Hookline's metrics (`HOOKLINE_METRICS_NAMESPACE`).
    pub metrics_namespace: String,
}

/// A variable is missing or unreadable.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

/// A whole number, or `default` when unset.
fn number(lookup: &impl Fn(&str) -> Option<String>, name: &str, default: u32) -> Result<u32, ConfigError> {
    match lookup(name).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigError(format!("{name}={v} is not a whole number"))),
    }
}

/// The health check's rules: `endpoint-health` alone reads them, and the
/// template sets them for it alone.
pub fn health_rules(lookup: impl Fn(&str) -> Option<String>) -> Result<HealthRules, ConfigError> {
    Ok(HealthRules {
        window: chrono::Duration::hours(number(&lookup, "HOOKLINE_HEALTH_WINDOW_HOURS", 24)?.into()),
        failure_threshold_pct: number(&lookup, "HOOKLINE_HEALTH_FAILURE_THRESHOLD_PERCENT", 80)?,
        min_deliveries: number(&lookup, "HOOKLINE_HEALTH_MIN_DELIVERIES", 10)?,
    })
}

/// How many deliveries the publish handler sends itself per publish call
/// (the fast path; 0 leaves every event to the outbox stream). The admin API
/// alone reads it (`HOOKLINE_FAST_PATH_MAX_DELIVERIES`, the template's
/// `FastPathMaxDeliveries`).
pub fn fast_path_max_deliveries(lookup: impl Fn(&str) -> Option<String>) -> Result<usize, ConfigError> {
    let n = number(&lookup, "HOOKLINE_FAST_PATH_MAX_DELIVERIES", DEFAULT_FAST_PATH_MAX_DELIVERIES)?;
    if n > MAX_FAST_PATH_DELIVERIES {
        return Err(ConfigError(format!(
            "HOOKLINE_FAST_PATH_MAX_DELIVERIES={n} is more than {MAX_FAST_PATH_DELIVERIES}"
        )));
    }
    Ok(n as usize)
}

/// The fast path's default budget per publish call.
pub const DEFAULT_FAST_PATH_MAX_DELIVERIES: u32 = 100;
/// The largest budget: a thousand sends and writes still answer well inside
/// API Gateway's 29 seconds.
pub const MAX_FAST_PATH_DELIVERIES: u32 = 1000;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup`, so `hookline dev` can give each in-process
    /// function its own environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &str| {
            lookup(name).filter(|v| !v.is_empty()).ok_or_else(|| ConfigError(format!("{name} is not set")))
        };
        let allowed = lookup("HOOKLINE_ALLOWED_PRIVATE_CIDRS").unwrap_or_default();
        let allow_http = lookup("HOOKLINE_ALLOW_HTTP_ENDPOINTS").is_some_and(|v| v == "true");
        let target_policy = TargetPolicy::new(&allowed, allow_http)
            .map_err(|e| ConfigError(format!("HOOKLINE_ALLOWED_PRIVATE_CIDRS: {e}")))?
            .with_own_hosts(&lookup("HOOKLINE_OWN_HOSTS").unwrap_or_default())
            .map_err(|e| ConfigError(format!("HOOKLINE_OWN_HOSTS: {e}")))?;
        Ok(Self {
            tables: Tables {
                api_keys: required("HOOKLINE_API_KEYS_TABLE")?,
                endpoints: required("HOOKLINE_ENDPOINTS_TABLE")?,
                event_types: required("HOOKLINE_EVENT_TYPES_TABLE")?,
                events: required("HOOKLINE_EVENTS_TABLE")?,
                idempotency: required("HOOKLINE_IDEMPOTENCY_TABLE")?,
                deliveries: required("HOOKLINE_DELIVERIES_TABLE")?,
                sources: required("HOOKLINE_SOURCES_TABLE")?,
                inbound: required("HOOKLINE_INBOUND_TABLE")?,
                inbound_dedupe: required("HOOKLINE_INBOUND_DEDUPE_TABLE")?,
            },
            delivery_queue_url: required("HOOKLINE_DELIVERY_QUEUE_URL")?,
            inbound_queue_url: required("HOOKLINE_INBOUND_QUEUE_URL")?,
            data_key_secret: required("HOOKLINE_DATA_KEY_SECRET")?,
            admin_key_secret: required("HOOKLINE_ADMIN_KEY_SECRET")?,
            signature_header_prefix: lookup("HOOKLINE_SIGNATURE_HEADER_PREFIX")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "X-HMS".into()),
            retention_days: number(&lookup, "HOOKLINE_RETENTION_DAYS", 30)?,
            max_consecutive_failures: number(&lookup, "HOOKLINE_MAX_CONSECUTIVE_FAILURES", 15)?,
            target_policy,
            retry_scale: match lookup("HOOKLINE_RETRY_SCALE").filter(|v| !v.is_empty()) {
                None => 1.0,
                Some(v) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x > 0.0)
                    .ok_or_else(|| ConfigError(format!("HOOKLINE_RETRY_SCALE={v} is not a positive number")))?,
            },
            redact_fields: lookup("HOOKLINE_REDACT_FIELDS").unwrap_or_default(),
            metrics_namespace: lookup("HOOKLINE_METRICS_NAMESPACE")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.into()),
            summary_time_zone: match lookup("HOOKLINE_SUMMARY_TIME_ZONE").filter(|v| !v.is_empty()) {
                None => chrono_tz::UTC,
                Some(v) => v.parse().map_err(|_| {
                    ConfigError(format!("HOOKLINE_SUMMARY_TIME_ZONE={v} is not an IANA time zone such as Asia/Kolkata"))
                })?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn full() -> HashMap<String, String> {
        env(&[
            ("HOOKLINE_API_KEYS_TABLE", "keys"),
            ("HOOKLINE_ENDPOINTS_TABLE", "eps"),
            ("HOOKLINE_EVENT_TYPES_TABLE", "types"),
            ("HOOKLINE_EVENTS_TABLE", "events"),
            ("HOOKLINE_IDEMPOTENCY_TABLE", "idem"),
            ("HOOKLINE_DELIVERIES_TABLE", "deliveries"),
            ("HOOKLINE_SOURCES_TABLE", "sources"),
            ("HOOKLINE_INBOUND_TABLE", "inbound"),
            ("HOOKLINE_INBOUND_DEDUPE_TABLE", "dedupe"),
            ("HOOKLINE_DELIVERY_QUEUE_URL", "http://q/d"),
            ("HOOKLINE_INBOUND_QUEUE_URL", "http://q/i"),
            ("HOOKLINE_DATA_KEY_SECRET", "arn:dk"),
            ("HOOKLINE_ADMIN_KEY_SECRET", "arn:ak"),
        ])
    }

    #[test]
    fn defaults_apply_when_optional_settings_are_absent() {
        let vars = full();
        let cfg = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
        assert_eq!(cfg.signature_header_prefix, "X-HMS");
        assert_eq!(cfg.retention_days, 30);
        assert_eq!(cfg.max_consecutive_failures, 15);
        assert_eq!(cfg.tables.endpoints, "eps");
    }

    #[test]
    fn a_missing_table_name_is_named_in_the_error() {
        let mut vars = full();
        vars.remove("HOOKLINE_ENDPOINTS_TABLE");
        let err = Config::from_lookup(|k| vars.get(k).cloned()).unwrap_err();
        assert!(err.to_string().contains("HOOKLINE_ENDPOINTS_TABLE"));
    }

    #[test]
    fn a_bad_cidr_is_refused() {
        let mut vars = full();
        vars.insert("HOOKLINE_ALLOWED_PRIVATE_CIDRS".into(), "127.0.0.1/99".into());
        assert!(Config::from_lookup(|k| vars.get(k).cloned()).is_err());
    }
}
