//! `hookline`: run Hookline locally and operate it.

use clap::error::ErrorKind;
use clap::FromArgMatches;
use hookline::cli::renamed::{self, old_variable_from_env};
use hookline::cli::state::{self, DevState};
use hookline::cli::{self, Cli, Command};
use hookline::dev::{DevOptions, Platform};

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("hookline: {msg}");
    std::process::exit(1)
}

#[tokio::main]
async fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let cli = match cli::command().try_get_matches_from(&argv).and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            // Help and version are answers, not errors: stdout, exit 0.
            let _ = e.print();
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("hookline: {}", cli::usage_error(&e, &argv));
            std::process::exit(2)
        }
    };
    for old in renamed::old_flags(&argv) {
        eprintln!("{}", renamed::note(&old));
    }
    match cli.command {
        Command::Dev { template, local_stack, parameters, data_dir, fresh } => {
            tracing_subscriber_init();
            let mut opts = DevOptions::from_env().unwrap_or_else(|e| fail(e));
            // Absolute, so the state file names it for commands run elsewhere.
            opts.template = std::path::absolute(&template).unwrap_or(template);
            opts.data_dir = Some(
                data_dir
                    .unwrap_or_else(|| opts.template.parent().unwrap_or(std::path::Path::new(".")).join(".hookline")),
            );
            opts.fresh = fresh;
            opts.stack = local_stack
                .filter(|s| !s.is_empty())
                .or_else(|| old_variable_from_env("HOOKLINE_LOCAL_STACK"))
                .unwrap_or_else(|| "hookline-dev".into());
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
    let template = opts.template.clone();
    let kept = match (&opts.endpoint_url, &opts.data_dir) {
        (None, Some(dir)) => Some(dir.clone()),
        _ => None,
    };
    let platform = Platform::start(opts).await.unwrap_or_else(|e| fail(e));
    let state = DevState {
        api_url: platform.url.clone(),
        admin_key: platform.admin_key.clone(),
        aws_endpoint_url: platform.aws_endpoint.clone(),
        stack_name: platform.stack.clone(),
        template,
        pid: std::process::id(),
    };
    let state_file = state::write(&state).unwrap_or_else(|e| fail(format!("cannot write the state file: {e}")));
    println!("Hookline is running.");
    println!("  API:            {}", platform.url);
    println!("  admin API key:  {}", platform.admin_key);
    println!("  AWS emulator:   {}", platform.aws_endpoint);
    match &kept {
        Some(dir) => println!("  data kept in:   {} (`hookline dev --fresh` starts empty)", dir.display()),
        None => println!("  data kept by:   the emulator at AWS_ENDPOINT_URL"),
    }
    println!("  state file:     {} (the CLI finds the stack through it)", state_file.display());
    for s in platform.schedules.list() {
        println!(
            "  schedule:       {} ({}) -> POST {}/_dev/schedules/{} fires it now",
            s.name, s.expression_text, platform.url, s.name
        );
    }
    println!("  metrics:        GET {}/_dev/metrics (the functions' CloudWatch EMF documents)", platform.url);
    println!("Try: curl -H \"Authorization: Bearer {}\" {}/v1/endpoints", platform.admin_key, platform.url);
    println!("Press Ctrl-C to stop.");
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap_or_else(|e| fail(e));
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    println!("Stopping.");
    state::remove_if_written_by(std::process::id());
    platform.shutdown().await;
}
