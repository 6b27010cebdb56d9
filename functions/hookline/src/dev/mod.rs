//! `hookline dev`: the whole platform on this machine. An emulator (moto, or
//! `AWS_ENDPOINT_URL`), the template's resources created in it, the HTTP API
//! served through the Lambda handlers, and every event source polled into them.

pub mod functions;
pub mod http_server;
pub mod iam;
pub mod metrics;
pub mod moto;
pub mod positions;
pub mod provision;
pub mod roles;
pub mod schedule;
pub mod sqs_poller;
pub mod stream_poller;
pub mod template;
pub mod ttl;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use functions::Handler;
use moto::Moto;
use provision::{provision, DevClients, REGION};
use schedule::{Expression, Schedule, Schedules};
use template::{EventSource, Template};

/// Environment variables passed from `hookline dev`'s own environment to
/// every function, on top of what the template sets.
pub const PASSTHROUGH_ENV: &[&str] = &["HOOKLINE_RETRY_SCALE"];

/// The variable that lists a function's own API hosts (see `shared::ssrf`).
const OWN_HOSTS_ENV: &str = "HOOKLINE_OWN_HOSTS";

/// How to run the local platform.
#[derive(Clone)]
pub struct DevOptions {
    pub template: PathBuf,
    pub stack: String,
    pub listen: SocketAddr,
    /// Use this emulator instead of starting moto.
    pub endpoint_url: Option<String>,
    /// The bootstrap admin key; random when unset.
    pub admin_key: Option<String>,
    pub parameters: BTreeMap<String, String>,
    /// Variables every function gets besides the template's.
    pub extra_env: BTreeMap<String, String>,
    /// Handlers by binary name, taking precedence over the built-in ones
    /// (tests wire probe functions through a template this way).
    pub handlers: BTreeMap<String, Handler>,
    /// Batches each SQS event source works at once. Lambda keeps several in
    /// flight per queue; one (the default) keeps local runs in queue order.
    pub sqs_concurrency: usize,
    /// Check every request a function sends against its role's policy
    /// (on unless `HOOKLINE_IAM=off`).
    pub enforce_iam: bool,
    /// Keep the started moto's state here across runs (none: start empty,
    /// forget on exit). Unused with `endpoint_url`: that emulator keeps its own.
    pub data_dir: Option<PathBuf>,
    /// Delete the kept state before starting.
    pub fresh: bool,
    /// How often expired items are removed (DynamoDB TTL, played here).
    pub ttl_sweep: Duration,
    /// Where the functions' metric documents are also appended
    /// (`HOOKLINE_METRICS_FILE`; they are always at `GET /_dev/metrics`).
    pub metrics_file: Option<PathBuf>,
}

impl DevOptions {
    /// Defaults plus the `HOOKLINE_*` and `AWS_ENDPOINT_URL` variables.
    pub fn from_env() -> Result<Self, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let port: u16 = match var("HOOKLINE_PORT") {
            Some(p) => p.parse().map_err(|_| format!("HOOKLINE_PORT={p} is not a port number"))?,
            None => 3000,
        };
        let mut parameters = BTreeMap::new();
        if let Some(cidrs) = var("HOOKLINE_ALLOWED_PRIVATE_CIDRS") {
            parameters.insert("AllowedPrivateCidrs".to_owned(), cidrs);
        }
        let sqs_concurrency = match var("HOOKLINE_SQS_CONCURRENCY") {
            Some(n) => n
                .parse()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| format!("HOOKLINE_SQS_CONCURRENCY={n} is not a number from 1 to 100"))?,
            None => 1,
        };
        let enforce_iam = match var("HOOKLINE_IAM").as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => return Err(format!("HOOKLINE_IAM={other}: use on or off")),
        };
        let extra_env = PASSTHROUGH_ENV.iter().filter_map(|k| Some((k.to_string(), var(k)?))).collect();
        Ok(Self {
            template: PathBuf::from(var("HOOKLINE_TEMPLATE").unwrap_or_else(|| "template.yaml".into())),
            // HOOKLINE_STACK is the old name (see `cli::renamed`).
            stack: var("HOOKLINE_LOCAL_STACK")
                .or_else(|| var("HOOKLINE_STACK"))
                .unwrap_or_else(|| "hookline-dev".into()),
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            endpoint_url: var("AWS_ENDPOINT_URL"),
            admin_key: var("HOOKLINE_ADMIN_KEY"),
            parameters,
            extra_env,
            handlers: BTreeMap::new(),
            sqs_concurrency,
            enforce_iam,
            data_dir: None,
            fresh: false,
            ttl_sweep: ttl::SWEEP_INTERVAL,
            metrics_file: var("HOOKLINE_METRICS_FILE").map(PathBuf::from),
        })
    }
}

/// The running platform. Dropping it stops everything, the emulator included.
pub struct Platform {
    /// The prefix of every resource name (`--local-stack`).
    pub stack: String,
    pub url: String,
    pub addr: SocketAddr,
    pub admin_key: String,
    pub aws_endpoint: String,
    pub sdk: SdkConfig,
    pub schedules: Arc<Schedules>,
    /// Each function's resolved environment, by logical id.
    pub environments: BTreeMap<String, HashMap<String, String>>,
    /// Each function's policy, by logical id (none when enforcement is off).
    pub policies: BTreeMap<String, iam::Policy>,
    /// Requests refused by a function's policy.
    pub denials: iam::Denials,
    resolver: template::Resolver,
    tasks: Vec<JoinHandle<()>>,
    moto: Option<Moto>,
}

/// SDK configuration for an emulator: fixed region and test credentials.
pub async fn emulator_sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("hookline", "hookline", None, None, "hookline-dev"))
        .load()
        .await
}

impl Platform {
    /// Starts everything and returns once the API is accepting connections.
    pub async fn start(opts: DevOptions) -> Result<Self, String> {
        let template = Template::load(&opts.template).map_err(|e| e.to_string())?;
        let moto = match &opts.endpoint_url {
            Some(_) => None,
            None => {
                let persist = match &opts.data_dir {
                    Some(dir) => {
                        let p = moto::Persistence::in_dir(dir)?;
                        if opts.fresh {
                            match std::fs::remove_file(&p.file) {
                                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                                    return Err(format!("cannot delete {}: {e}", p.file.display()))
                                }
                                _ => {}
                            }
                        }
                        Some(p)
                    }
                    None => None,
                };
                Some(tokio::task::spawn_blocking(move || Moto::start(persist)).await.map_err(|e| e.to_string())??)
            }
        };
        let aws_endpoint =
            opts.endpoint_url.clone().or_else(|| moto.as_ref().map(|m| m.endpoint.clone())).unwrap_or_default();
        let http = iam::base_http_client();
        let sdk = emulator_sdk_config(&aws_endpoint).await.to_builder().http_client(http.clone()).build();
        let clients = DevClients {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            streams: aws_sdk_dynamodbstreams::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
        };
        let mut parameters: HashMap<String, String> =
            template.parameters.iter().map(|(k, v)| (k.clone(), v.clone().unwrap_or_default())).collect();
        for (k, v) in &opts.parameters {
            if !parameters.contains_key(k) {
                return Err(format!("the template has no parameter {k}"));
            }
            parameters.insert(k.clone(), v.clone());
        }
        // Without a key of its own, a restart on a provisioned stack keeps
        // the stack's key, so clients holding it keep working.
        let provision::Provisioned { resolver, admin_key } =
            provision(&template, &clients, &opts.stack, parameters, opts.admin_key.clone()).await?;

        let policies = match opts.enforce_iam {
            true => Some(roles::policies(&roles::translate(&opts.template)?, &resolver)?),
            false => None,
        };
        let denials = iam::Denials::default();
        // Bound first: the functions are told this address is their own API.
        let listener =
            TcpListener::bind(opts.listen).await.map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let positions = positions::Positions::open(&clients.dynamodb, &opts.stack).await?;
        metrics::write_to(opts.metrics_file.clone());
        let mut routes = Vec::new();
        let mut schedules = Vec::new();
        let mut tasks = Vec::new();
        let mut environments = BTreeMap::new();
        for f in template.functions().map_err(|e| e.to_string())? {
            let mut env = HashMap::new();
            for (k, v) in &f.environment {
                env.insert(k.clone(), resolver.resolve(v).map_err(|e| format!("{}: {k}: {e}", f.logical_id))?);
            }
            env.extend(opts.extra_env.clone());
            if let Some(own) = env.get_mut(OWN_HOSTS_ENV) {
                // Deployed, the API's host names its own API; here it is this address.
                *own = own
                    .split(',')
                    .filter(|h| !h.trim().is_empty())
                    .chain([addr.to_string().as_str()])
                    .collect::<Vec<_>>()
                    .join(",");
            }
            let timeout = Duration::from_secs(f.timeout_seconds);
            // Everything the function sends, its event sources' polls
            // included (Lambda polls with the function's role), goes out
            // with the function's own policy.
            let function_sdk = match &policies {
                Some(p) => {
                    let policy = p
                        .get(&f.logical_id)
                        .cloned()
                        .ok_or_else(|| format!("{}: no role in the translated template", f.logical_id))?;
                    iam::enforcing(&sdk, &http, policy, &denials)
                }
                None => sdk.clone(),
            };
            // As each Lambda's `main` does before building its state (the
            // recorder is the process's: the first function's namespace holds).
            shared::metrics::install(
                env.get("HOOKLINE_METRICS_NAMESPACE").map_or(shared::metrics::DEFAULT_NAMESPACE, String::as_str),
            );
            let built = match opts.handlers.get(&f.binary) {
                Some(h) => Some(h.clone()),
                None => functions::build(&f.binary, &|k| env.get(k).cloned(), &function_sdk)?,
            };
            let Some(handler) = built else {
                tracing::warn!(function = %f.logical_id, binary = %f.binary, "no in-process handler; its events are not wired");
                continue;
            };
            environments.insert(f.logical_id.clone(), env);
            for (event_name, source) in &f.events {
                let wrong_kind =
                    || format!("{}.{event_name}: this event source needs a handler of the other kind", f.logical_id);
                match (source, &handler) {
                    (EventSource::Http { method, path }, Handler::Http(h)) => routes.push(http_server::Route {
                        method: method.clone(),
                        path: path.clone(),
                        function: f.logical_id.clone(),
                        handler: h.clone(),
                        timeout,
                    }),
                    (EventSource::Sqs { queue_arn, batch_size, report_failures }, Handler::Event(h)) => {
                        let arn = resolver.resolve(queue_arn).map_err(|e| e.to_string())?;
                        let queue_url = resolver
                            .attributes
                            .iter()
                            .find(|(k, v)| k.ends_with(".Arn") && **v == arn)
                            .and_then(|(k, _)| resolver.refs.get(k.trim_end_matches(".Arn")).cloned())
                            .ok_or_else(|| format!("{}.{event_name}: no queue with ARN {arn}", f.logical_id))?;
                        let source = sqs_poller::SqsSource {
                            function: f.logical_id.clone(),
                            queue_url,
                            queue_arn: arn,
                            batch_size: *batch_size,
                            report_failures: *report_failures,
                            handler: h.clone(),
                            timeout,
                        };
                        for _ in 0..opts.sqs_concurrency.max(1) {
                            tasks.push(tokio::spawn(sqs_poller::run(
                                aws_sdk_sqs::Client::new(&function_sdk),
                                source.clone(),
                            )));
                        }
                    }
                    (
                        EventSource::Stream { stream_arn, batch_size, from_start, report_failures, max_retries },
                        Handler::Event(h),
                    ) => {
                        let source = stream_poller::StreamSource {
                            function: f.logical_id.clone(),
                            stream_arn: resolver.resolve(stream_arn).map_err(|e| e.to_string())?,
                            batch_size: *batch_size,
                            from_start: *from_start,
                            report_failures: *report_failures,
                            max_retries: *max_retries,
                            handler: h.clone(),
                            timeout,
                            positions: positions.clone(),
                        };
                        tasks.push(tokio::spawn(stream_poller::run(
                            aws_sdk_dynamodbstreams::Client::new(&function_sdk),
                            source,
                        )));
                    }
                    (EventSource::Schedule { name, expression, input, enabled }, Handler::Event(h)) => {
                        let text = resolver
                            .resolve(&serde_yaml::Value::String(expression.clone()))
                            .unwrap_or_else(|_| expression.clone());
                        schedules.push(Schedule {
                            name: name.clone(),
                            function: f.logical_id.clone(),
                            expression: Expression::parse(&text).map_err(|e| format!("{name}: {e}"))?,
                            expression_text: text,
                            input: input.as_ref().map(|v| serde_json::to_value(v).unwrap_or_default()),
                            enabled: *enabled,
                            handler: h.clone(),
                            timeout,
                        });
                    }
                    _ => return Err(wrong_kind()),
                }
            }
        }
        http_server::sort_routes(&mut routes);
        for s in schedules.iter().filter(|s| s.enabled) {
            tasks.push(tokio::spawn(schedule::run(s.clone())));
        }
        let schedules = Arc::new(Schedules::new(schedules));
        tasks.push(tokio::spawn(ttl::run(
            clients.dynamodb.clone(),
            ttl::tables(&template, &opts.stack),
            opts.ttl_sweep,
        )));
        tasks.push(tokio::spawn(http_server::serve(listener, Arc::new(routes), schedules.clone())));
        Ok(Self {
            stack: opts.stack.clone(),
            url: format!("http://{addr}"),
            addr,
            admin_key,
            aws_endpoint,
            sdk,
            schedules,
            environments,
            policies: policies.unwrap_or_default(),
            denials,
            resolver,
            tasks,
            moto,
        })
    }

    /// The physical name (table), URL (queue) or ARN (secret) of a resource.
    pub fn resource(&self, logical_id: &str) -> Option<&str> {
        self.resolver.refs.get(logical_id).map(String::as_str)
    }

    /// Stops pollers, the server and the emulator.
    pub async fn shutdown(mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
            let _ = t.await;
        }
        if let Some(mut m) = self.moto.take() {
            let _ = tokio::task::spawn_blocking(move || m.stop()).await;
        }
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
