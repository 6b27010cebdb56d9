//! `hookline`: run Hookline locally and operate it.

use clap::{Parser, Subcommand};
use hookline::dev::{DevOptions, Platform};

#[derive(Parser)]
#[command(name = "hookline", version, about = "Hookline webhooks: local platform and operations")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole platform locally: emulated AWS, the HTTP API on
    /// 127.0.0.1:$HOOKLINE_PORT (3000), queues, streams and schedules.
    ///
    /// Reads HOOKLINE_PORT, HOOKLINE_ADMIN_KEY, HOOKLINE_ALLOWED_PRIVATE_CIDRS,
    /// HOOKLINE_RETRY_SCALE and AWS_ENDPOINT_URL (use that emulator instead of
    /// starting moto_server).
    Dev {
        /// The SAM template to run.
        #[arg(long, default_value = "template.yaml")]
        template: std::path::PathBuf,
        /// Prefix of every created table, queue and secret.
        #[arg(long, default_value = "hookline-dev")]
        stack_name: String,
        /// Override a template parameter (repeatable): --parameter RetentionDays=7
        #[arg(long = "parameter", value_name = "NAME=VALUE")]
        parameters: Vec<String>,
    },
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("hookline: {msg}");
    std::process::exit(1)
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Dev { template, stack_name, parameters } => {
            tracing_subscriber_init();
            let mut opts = DevOptions::from_env().unwrap_or_else(|e| fail(e));
            opts.template = template;
            opts.stack = stack_name;
            for p in parameters {
                let (k, v) = p.split_once('=').unwrap_or_else(|| fail(format!("--parameter {p}: expected NAME=VALUE")));
                opts.parameters.insert(k.to_owned(), v.to_owned());
            }
            run_dev(opts).await;
        }
    }
}

fn tracing_subscriber_init() {
    lambda_runtime::tracing::init_default_subscriber();
}

async fn run_dev(opts: DevOptions) {
    let platform = Platform::start(opts).await.unwrap_or_else(|e| fail(e));
    println!("Hookline is running.");
    println!("  API:            {}", platform.url);
    println!("  admin API key:  {}", platform.admin_key);
    println!("  AWS emulator:   {}", platform.aws_endpoint);
    for s in platform.schedules.list() {
        println!(
            "  schedule:       {} ({}) -> POST {}/_dev/schedules/{} fires it now",
            s.name, s.expression_text, platform.url, s.name
        );
    }
    println!("Try: curl -H \"Authorization: Bearer {}\" {}/v1/endpoints", platform.admin_key, platform.url);
    println!("Press Ctrl-C to stop.");
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap_or_else(|e| fail(e));
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    println!("Stopping.");
    platform.shutdown().await;
}
