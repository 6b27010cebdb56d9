//! The `hookline` command line: its arguments, its one-line errors, and the
//! dispatch of every command except `dev` (which the binary runs itself).

pub mod activity;
pub mod api;
pub mod args;
pub mod endpoints;
pub mod event_log;
pub mod ops;
pub mod output;
pub mod publish_file;
pub mod renamed;
pub mod state;
pub mod target;

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};

use activity::{DeliveriesCommand, EventsCommand, StatsArgs};
use api::ApiArgs;
use endpoints::{EndpointsCommand, SourcesCommand};
use ops::{DailySummary, Prune, ReplayInbound, RetryOutbound};
use output::Output;

/// The whole command line.
#[derive(Parser)]
#[command(name = "hookline", version, about = "Hookline webhooks: local platform and operations")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Print machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// A deployed CloudFormation stack to work on: its outputs name the
    /// tables, queues, secrets and API URL [default: none, the local stack]
    #[arg(long, global = true, alias = "stack", env = "HOOKLINE_DEPLOYED_STACK", value_name = "NAME")]
    pub deployed_stack: Option<String>,
}

impl GlobalArgs {
    /// `--deployed-stack`, else the old `HOOKLINE_STACK_NAME` (noted on stderr).
    pub fn deployed_stack(&self) -> Option<String> {
        self.deployed_stack
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| renamed::old_variable_from_env("HOOKLINE_DEPLOYED_STACK"))
    }
}

/// Every `hookline` command.
#[derive(Subcommand)]
pub enum Command {
    /// Run the whole platform locally: emulated AWS, the HTTP API on
    /// 127.0.0.1:$HOOKLINE_PORT (3000), queues, streams and schedules.
    ///
    /// Reads HOOKLINE_PORT, HOOKLINE_ADMIN_KEY, HOOKLINE_ALLOWED_PRIVATE_CIDRS,
    /// HOOKLINE_RETRY_SCALE, HOOKLINE_SQS_CONCURRENCY (batches in flight per
    /// queue, 1) and AWS_ENDPOINT_URL (use that emulator instead of starting
    /// moto_server). Run again on the same emulator and stack name, it keeps
    /// what is there: tables, queues, messages and secrets.
    ///
    /// With its own moto, the emulator's state is kept in --data-dir and
    /// restored on the next start (--fresh starts empty). Where the stack is
    /// (API URL, emulator URL, stack name, admin key) goes to
    /// $HOOKLINE_STATE_DIR/dev.json (default $XDG_STATE_HOME/hookline, else
    /// ~/.local/state/hookline), mode 0600, which every other command reads.
    Dev {
        /// The SAM template to run.
        #[arg(long, env = "HOOKLINE_TEMPLATE", default_value = "template.yaml")]
        template: PathBuf,
        /// The local stack's name: the prefix of every table, queue and secret
        /// it creates [default: hookline-dev]
        #[arg(long, alias = "stack-name", env = "HOOKLINE_LOCAL_STACK", value_name = "NAME")]
        local_stack: Option<String>,
        /// Override a template parameter (repeatable): --parameter RetentionDays=7
        #[arg(long = "parameter", value_name = "NAME=VALUE")]
        parameters: Vec<String>,
        /// Where the emulator's state is kept between runs [default: .hookline/ beside the template]
        #[arg(long, env = "HOOKLINE_DATA_DIR", value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Start with an empty emulator: delete the kept state first.
        #[arg(long)]
        fresh: bool,
    },
    /// Put failed outbound deliveries back on the delivery queue (all tenants unless --tenant).
    RetryOutbound(RetryOutbound),
    /// Replay a source's inbound webhooks as new ones (signatures are not checked again).
    ReplayInbound(ReplayInbound),
    /// Delete delivery logs, events and inbound records older than N days (past the retention, TTL does this for free).
    Prune(Prune),
    /// Publish every tenant's `system.daily.summary` of a day (once per day unless --force).
    DailySummary(DailySummary),
    /// Outbound endpoints, through the HTTP API.
    Endpoints {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        command: EndpointsCommand,
    },
    /// Inbound sources, through the HTTP API.
    Sources {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        command: SourcesCommand,
    },
    /// Publish events, through the HTTP API.
    Events {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Outbound deliveries and their attempts, through the HTTP API.
    Deliveries {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        command: DeliveriesCommand,
    },
    /// The API key's tenant at a glance: endpoints by status, deliveries by outcome.
    Stats(StatsArgs),
}

/// Why a command failed, as the one line printed after `hookline: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl Failure {
    /// A failure with this reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Whatever produced the reason, stderr gets exactly one line.
        f.write_str(&self.0.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

impl From<shared::aws::StoreError> for Failure {
    fn from(e: shared::aws::StoreError) -> Self {
        Self(e.to_string())
    }
}

impl From<shared::config::ConfigError> for Failure {
    fn from(e: shared::config::ConfigError) -> Self {
        Self(e.to_string())
    }
}

/// An error and its causes on one line, as the SDKs and reqwest keep the
/// useful part in the source chain.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg
}

/// Runs any command but `dev`.
pub async fn run(command: Command, global: GlobalArgs) -> Result<(), Failure> {
    let out = Output::new(global.json);
    let deployed = global.deployed_stack();
    let stack = deployed.as_deref();
    match command {
        Command::Dev { .. } => Err(Failure::new("`hookline dev` is run by the binary, not the library")),
        Command::RetryOutbound(a) => ops::retry_outbound(&a, &target::connect(stack, &a.local).await?, &out).await,
        Command::ReplayInbound(a) => ops::replay_inbound(&a, &target::connect(stack, &a.local).await?, &out).await,
        Command::Prune(a) => ops::prune(&a, &target::connect(stack, &a.local).await?, &out).await,
        Command::DailySummary(a) => ops::daily_summary(&a, &target::connect(stack, &a.local).await?, &out).await,
        Command::Endpoints { api, command } => endpoints::endpoints(command, &api.client(stack).await?, &out).await,
        Command::Sources { api, command } => endpoints::sources(command, &api.client(stack).await?, &out).await,
        Command::Events { api, command } => activity::events(command, &api.client(stack).await?, &out).await,
        Command::Deliveries { api, command } => activity::deliveries(command, &api.client(stack).await?, &out).await,
        Command::Stats(a) => activity::stats(&a, &a.api.client(stack).await?, &out).await,
    }
}

/// The command line with the footer that says where values come from on
/// every command's `--help`.
pub fn command() -> clap::Command {
    fn with_footer(cmd: clap::Command, footer: &str) -> clap::Command {
        let footer = footer.to_owned();
        cmd.after_help(footer.clone()).mut_subcommands(move |sub| with_footer(sub, &footer))
    }
    let dev_footer = renamed::help_footer(None);
    with_footer(Cli::command(), &renamed::help_footer(Some(&state::path())))
        .mut_subcommand("dev", |dev| dev.after_help(dev_footer))
}

/// The one line to print for a usage error: clap's first line (with the
/// items it lists after a colon), and where to read more.
pub fn usage_error(err: &clap::Error, argv: &[String]) -> String {
    let (path, cmd) = command_path(argv);
    if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        // clap would print the whole help here; one line names the choices instead.
        let names: Vec<&str> = cmd.get_subcommands().filter(|s| !s.is_hide_set()).map(|s| s.get_name()).collect();
        return format!("'{path}' needs a subcommand: {}; see '{path} --help'", names.join(", "));
    }
    let rendered = err.render().to_string();
    let mut lines = rendered.lines();
    let first = lines.next().unwrap_or("invalid arguments").trim();
    let mut reason = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    // "the following required arguments were not provided:" names them on the next lines.
    if reason.ends_with(':') {
        let listed: Vec<&str> = lines.take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
        reason.push(' ');
        reason.push_str(&listed.join(", "));
    }
    format!("{reason}; see '{path} --help'")
}

/// The subcommand named on the command line (`hookline endpoints create`),
/// so the hint points at the help that explains the mistake.
fn command_path(argv: &[String]) -> (String, clap::Command) {
    let mut cmd = command();
    let mut path = vec!["hookline".to_owned()];
    for arg in argv.iter().skip(1) {
        if arg == "--" {
            break;
        }
        if arg.starts_with('-') {
            continue;
        }
        let Some(sub) = cmd.find_subcommand(arg).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_owned());
        cmd = sub;
    }
    (path.join(" "), cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    fn usage(s: &str) -> String {
        let err = Cli::try_parse_from(argv(s)).err().expect("a usage error");
        usage_error(&err, &argv(s))
    }

    #[test]
    fn the_argument_definitions_are_consistent() {
        command().debug_assert();
    }

    #[test]
    fn the_old_flag_names_still_parse_as_the_new_ones() {
        let cli = Cli::try_parse_from(argv("hookline --stack prod prune --days 3 --stack-name hl")).unwrap();
        assert_eq!(cli.global.deployed_stack.as_deref(), Some("prod"));
        let Command::Prune(prune) = cli.command else { panic!("prune") };
        assert_eq!(prune.local.local_stack.as_deref(), Some("hl"));
        let cli = Cli::try_parse_from(argv("hookline dev --stack-name hl")).unwrap();
        assert!(matches!(cli.command, Command::Dev { local_stack: Some(name), .. } if name == "hl"));
    }

    #[test]
    fn an_unknown_flag_is_one_line_pointing_at_the_subcommand_help() {
        let msg = usage("hookline prune --dayz 3");
        assert!(msg.contains("--dayz") && msg.ends_with("see 'hookline prune --help'"), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn a_missing_required_flag_is_named() {
        let msg = usage("hookline endpoints create --url https://x.example");
        assert!(msg.contains("--event-type"), "{msg}");
        assert!(msg.ends_with("see 'hookline endpoints create --help'"), "{msg}");
    }

    #[test]
    fn a_missing_subcommand_lists_the_choices_on_one_line() {
        let msg = usage("hookline sources");
        assert_eq!(msg, "'hookline sources' needs a subcommand: list, get; see 'hookline sources --help'");
    }

    #[test]
    fn failures_never_span_lines() {
        assert_eq!(Failure::new("a\nb  c").to_string(), "a b c");
    }
}
