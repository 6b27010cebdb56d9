//! `hookline`: run Hookline locally and operate it.

use clap::error::ErrorKind;
use clap::Parser;
use hookline::cli::{self, Cli, Command};
use hookline::dev::{DevOptions, Platform};

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("hookline: {msg}");
    std::process::exit(1)
}

#[tokio::main]
async fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            // Help and version are answers, not errors: stdout, exit 0.
            let _ = e.print();
            std::process::exit(0)
        }
        Err(e) => {
            let argv: Vec<String> = std::env::args().collect();
            eprintln!("hookline: {}", cli::usage_error(&e, &argv));
            std::process::exit(2)
        }
    };
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
        command => {
            if let Err(e) = cli::run(command, cli.global).await {
                fail(e)
            }
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
