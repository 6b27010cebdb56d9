//! Where the stack is, for the operations commands: a deployed stack's
//! outputs, the local stack's names as `hookline dev` provisions them, or the
//! variables a function itself would read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aws_config::SdkConfig;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use clap::Args;
use serde_yaml::Value;

use super::{error_chain, Failure};
use crate::dev::template::{get, Template};
use shared::aws::dynamo::Db;
use shared::aws::secrets::Keyring;
use shared::aws::sqs::Queue;
use shared::aws::Clients;
use shared::config::Config;

/// Stack outputs and the variable each one fills.
pub const OUTPUT_VARS: &[(&str, &str)] = &[
    ("ApiKeysTableName", "HOOKLINE_API_KEYS_TABLE"),
    ("EndpointsTableName", "HOOKLINE_ENDPOINTS_TABLE"),
    ("EventTypesTableName", "HOOKLINE_EVENT_TYPES_TABLE"),
    ("EventsTableName", "HOOKLINE_EVENTS_TABLE"),
    ("IdempotencyTableName", "HOOKLINE_IDEMPOTENCY_TABLE"),
    ("DeliveriesTableName", "HOOKLINE_DELIVERIES_TABLE"),
    ("SourcesTableName", "HOOKLINE_SOURCES_TABLE"),
    ("InboundTableName", "HOOKLINE_INBOUND_TABLE"),
    ("InboundDedupeTableName", "HOOKLINE_INBOUND_DEDUPE_TABLE"),
    ("DeliveryQueueUrl", "HOOKLINE_DELIVERY_QUEUE_URL"),
    ("InboundQueueUrl", "HOOKLINE_INBOUND_QUEUE_URL"),
    ("DataKeySecretArn", "HOOKLINE_DATA_KEY_SECRET"),
    ("AdminKeySecretArn", "HOOKLINE_ADMIN_KEY_SECRET"),
];

/// Stack parameters and the variable each one fills.
pub const PARAMETER_VARS: &[(&str, &str)] = &[
    ("SignatureHeaderPrefix", "HOOKLINE_SIGNATURE_HEADER_PREFIX"),
    ("RetentionDays", "HOOKLINE_RETENTION_DAYS"),
    ("MaxConsecutiveFailures", "HOOKLINE_MAX_CONSECUTIVE_FAILURES"),
    ("AllowedPrivateCidrs", "HOOKLINE_ALLOWED_PRIVATE_CIDRS"),
    ("AllowHttpEndpoints", "HOOKLINE_ALLOW_HTTP_ENDPOINTS"),
    ("RedactFields", "HOOKLINE_REDACT_FIELDS"),
    ("SummaryTimeZone", "HOOKLINE_SUMMARY_TIME_ZONE"),
];

/// Where the local stack is: `AWS_ENDPOINT_URL` and these, each falling back
/// to what the running `hookline dev` wrote in its state file.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Local stack options")]
pub struct LocalStack {
    /// The template the local stack was created from [default: the state
    /// file's, else ./template.yaml]
    #[arg(long, env = "HOOKLINE_TEMPLATE", value_name = "PATH")]
    pub template: Option<PathBuf>,
    /// The local stack's name, as given to `hookline dev --local-stack`
    /// [default: the state file's, else hookline-dev]
    #[arg(long, alias = "stack-name", env = "HOOKLINE_LOCAL_STACK", value_name = "NAME")]
    pub local_stack: Option<String>,
}

/// The local stack's template and name once defaults are applied.
struct LocalNames {
    template: PathBuf,
    stack_name: String,
}

impl LocalStack {
    fn names(&self, state: Option<&super::state::DevState>) -> LocalNames {
        LocalNames {
            template: self
                .template
                .clone()
                .or_else(|| state.map(|s| s.template.clone()))
                .unwrap_or_else(|| "template.yaml".into()),
            stack_name: self
                .local_stack
                .clone()
                .filter(|s| !s.is_empty())
                .or_else(|| super::renamed::old_variable_from_env("HOOKLINE_LOCAL_STACK"))
                .or_else(|| state.map(|s| s.stack_name.clone()))
                .unwrap_or_else(|| "hookline-dev".into()),
        }
    }
}

/// A stack's configuration and the SDK settings to reach it.
pub struct Target {
    pub config: Config,
    pub sdk: SdkConfig,
}

/// The stack's tables, queues and keys, ready for `shared::ops`.
pub struct Stack {
    pub config: Config,
    pub db: Db,
    pub delivery_queue: Queue,
    pub inbound_queue: Queue,
    pub keyring: Keyring,
}

/// A deployed stack as CloudFormation describes it.
#[derive(Debug, Default, Clone)]
pub struct Described {
    pub outputs: HashMap<String, String>,
    pub parameters: HashMap<String, String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Finds the stack and builds its clients.
pub async fn connect(stack: Option<&str>, local: &LocalStack) -> Result<Stack, Failure> {
    Ok(resolve(stack, local).await?.into_stack())
}

/// Finds the stack: `--deployed-stack`, else the local emulator, else the
/// function variables in this environment.
pub async fn resolve(stack: Option<&str>, local: &LocalStack) -> Result<Target, Failure> {
    if let Some(name) = stack {
        let sdk = shared::aws::load_sdk_config().await;
        let described = describe_stack(&sdk, name).await?;
        let vars = stack_vars(name, &described)?;
        return Ok(Target { config: Config::from_lookup(|k| vars.get(k).cloned())?, sdk });
    }
    let state = super::state::read();
    // The state file describes its own emulator only.
    let endpoint = match env("AWS_ENDPOINT_URL") {
        Some(url) => Some((url.clone(), state.filter(|s| s.aws_endpoint_url == url))),
        None if env("HOOKLINE_ENDPOINTS_TABLE").is_some() => None,
        None => state.map(|s| (s.aws_endpoint_url.clone(), Some(s))),
    };
    if let Some((endpoint, state)) = endpoint {
        let sdk = crate::dev::emulator_sdk_config(&endpoint).await;
        let vars = local_vars(&sdk, &endpoint, &local.names(state.as_ref())).await?;
        return Ok(Target { config: Config::from_lookup(|k| vars.get(k).cloned())?, sdk });
    }
    if env("HOOKLINE_ENDPOINTS_TABLE").is_some() {
        return Ok(Target { config: Config::from_env()?, sdk: shared::aws::load_sdk_config().await });
    }
    Err(Failure::new(format!(
        "no stack to work on: start `hookline dev` (it writes {}), pass --deployed-stack NAME for a deployed stack, \
         or set AWS_ENDPOINT_URL to the local stack's emulator",
        super::state::path().display()
    )))
}

impl Target {
    /// The clients and adapters every operation takes.
    pub fn into_stack(self) -> Stack {
        let clients = Clients::new(&self.sdk);
        let c = &self.config;
        Stack {
            db: Db::new(clients.dynamodb.clone(), c.tables.clone()),
            delivery_queue: Queue::new(clients.sqs.clone(), c.delivery_queue_url.clone()),
            inbound_queue: Queue::new(clients.sqs.clone(), c.inbound_queue_url.clone()),
            keyring: Keyring::for_config(c, &clients),
            config: self.config,
        }
    }
}

/// `DescribeStacks` for one stack: its outputs and parameters.
pub async fn describe_stack(sdk: &SdkConfig, name: &str) -> Result<Described, Failure> {
    let client = aws_sdk_cloudformation::Client::new(sdk);
    let out = client.describe_stacks().stack_name(name).send().await.map_err(|e| {
        // The service's own message ("Stack with id x does not exist") beats the SDK's wrapper text.
        let reason = e.message().map(str::to_owned).unwrap_or_else(|| error_chain(&e));
        Failure::new(format!("cannot describe stack {name}: {reason}"))
    })?;
    let stack = out
        .stacks
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or_else(|| Failure::new(format!("no stack named {name}")))?;
    Ok(Described {
        outputs: stack
            .outputs
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| Some((o.output_key?, o.output_value.unwrap_or_default())))
            .collect(),
        parameters: stack
            .parameters
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| Some((p.parameter_key?, p.parameter_value.unwrap_or_default())))
            .collect(),
    })
}

/// The variables `Config::from_lookup` reads, from a deployed stack.
pub fn stack_vars(name: &str, d: &Described) -> Result<HashMap<String, String>, Failure> {
    let mut vars = HashMap::new();
    for (output, var) in OUTPUT_VARS {
        let value = d
            .outputs
            .get(*output)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Failure::new(format!("stack {name} has no output {output}; is it a Hookline stack?")))?;
        vars.insert(var.to_string(), value.clone());
    }
    for (parameter, var) in PARAMETER_VARS {
        if let Some(v) = d.parameters.get(*parameter) {
            vars.insert(var.to_string(), v.clone());
        }
    }
    Ok(vars)
}

/// How one variable of the local stack gets its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalValue {
    /// Known from the template alone: a table or secret name, a parameter default.
    Text(String),
    /// The URL of the queue with this name, asked of the emulator.
    QueueUrl(String),
}

/// The Globals environment of `template.yaml` with each `!Ref` turned into
/// the name `hookline dev` gives that resource in `stack`.
pub fn local_plan(raw_template: &str, stack: &str) -> Result<Vec<(String, LocalValue)>, Failure> {
    let template = Template::parse(raw_template).map_err(|e| Failure::new(e.to_string()))?;
    // `Template` keeps Globals to itself; the same document gives them here.
    let doc: Value = serde_yaml::from_str(raw_template).map_err(|e| Failure::new(format!("template: {e}")))?;
    let vars = get(&doc, "Globals")
        .and_then(|g| get(g, "Function"))
        .and_then(|f| get(f, "Environment"))
        .and_then(|e| get(e, "Variables"))
        .and_then(Value::as_mapping)
        .ok_or_else(|| Failure::new("template: no Globals.Function.Environment.Variables"))?;
    let mut plan = Vec::new();
    for (name, value) in vars {
        let Some(name) = name.as_str() else { continue };
        let value = match value {
            Value::Tagged(t) if t.tag.to_string().trim_start_matches('!') == "Ref" => {
                let Some(id) = t.value.as_str() else { continue };
                if let Some(default) = template.parameters.get(id) {
                    LocalValue::Text(default.clone().unwrap_or_default())
                } else {
                    match template.resources.get(id).map(|r| r.kind.as_str()) {
                        Some("AWS::DynamoDB::Table") => LocalValue::Text(format!("{stack}-{id}")),
                        Some("AWS::SQS::Queue") => LocalValue::QueueUrl(format!("{stack}-{id}")),
                        Some("AWS::SecretsManager::Secret") => LocalValue::Text(format!("{stack}/{id}")),
                        _ => continue,
                    }
                }
            }
            Value::String(s) => LocalValue::Text(s.clone()),
            Value::Number(n) => LocalValue::Text(n.to_string()),
            Value::Bool(b) => LocalValue::Text(b.to_string()),
            _ => continue,
        };
        plan.push((name.to_owned(), value));
    }
    Ok(plan)
}

async fn local_vars(sdk: &SdkConfig, endpoint: &str, local: &LocalNames) -> Result<HashMap<String, String>, Failure> {
    let raw = read_template(&local.template)?;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut vars = HashMap::new();
    for (name, value) in local_plan(&raw, &local.stack_name)? {
        let value = match value {
            LocalValue::Text(t) => t,
            LocalValue::QueueUrl(queue) => {
                let out = sqs.get_queue_url().queue_name(&queue).send().await.map_err(|e| {
                    let reason = e.message().map(str::to_owned).unwrap_or_else(|| error_chain(&e));
                    Failure::new(format!(
                        "no queue {queue} at {endpoint} ({reason}); is `hookline dev --local-stack {}` running?",
                        local.stack_name
                    ))
                })?;
                out.queue_url.unwrap_or_default()
            }
        };
        vars.insert(name, value);
    }
    Ok(vars)
}

fn read_template(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| {
        Failure::new(format!("cannot read the template {}: {e} (pass --template for the local stack)", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");

    #[test]
    fn local_names_follow_what_dev_provisions() {
        let raw = std::fs::read_to_string(TEMPLATE).unwrap();
        let plan: HashMap<_, _> = local_plan(&raw, "hl").unwrap().into_iter().collect();
        assert_eq!(plan["HOOKLINE_ENDPOINTS_TABLE"], LocalValue::Text("hl-EndpointsTable".into()));
        assert_eq!(plan["HOOKLINE_DELIVERY_QUEUE_URL"], LocalValue::QueueUrl("hl-DeliveryQueue".into()));
        assert_eq!(plan["HOOKLINE_DATA_KEY_SECRET"], LocalValue::Text("hl/DataKeySecret".into()));
        assert_eq!(plan["HOOKLINE_RETENTION_DAYS"], LocalValue::Text("30".into()));
        assert_eq!(plan["HOOKLINE_ALLOWED_PRIVATE_CIDRS"], LocalValue::Text(String::new()));
    }

    #[test]
    fn every_variable_the_config_needs_comes_from_stack_outputs_and_parameters() {
        let mut d = Described::default();
        for (output, _) in OUTPUT_VARS {
            d.outputs.insert(output.to_string(), format!("value-of-{output}"));
        }
        d.parameters.insert("RetentionDays".into(), "7".into());
        let vars = stack_vars("prod", &d).unwrap();
        let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
        assert_eq!(config.tables.deliveries, "value-of-DeliveriesTableName");
        assert_eq!(config.inbound_queue_url, "value-of-InboundQueueUrl");
        assert_eq!(config.retention_days, 7);
    }

    #[test]
    fn a_stack_missing_an_output_is_named() {
        let err = stack_vars("other", &Described::default()).unwrap_err();
        assert!(err.0.contains("stack other has no output ApiKeysTableName"), "{err}");
    }
}
