//! `holdfast`: the one binary. The daemon (`serve`, `demo`) and the CLI that drives the API.
//! Exit codes: 0 ok; 1 denied, not found, conflict or a failed verification; 2 usage or runtime error.

mod access_cmd;
mod bench;
mod benchauthorize;
mod benchevents;
mod benchgraph;
mod benchposture;
mod benchsecrets;
mod cli;
mod commands;
mod demo;
mod discover;
mod monitor_cmd;
mod offboard_cmd;
mod output;
mod policy_cmd;
mod posture_cmd;
mod scan;
mod serve;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use holdfast_client::{Client, ClientError};

use crate::cli::{Cli, Command, Global};

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HOLDFAST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn client(g: &Global) -> anyhow::Result<Client> {
    let token = match (&g.token, &g.token_file) {
        (Some(t), _) => Some(t.trim().to_string()),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("cannot read --token-file `{}`", f.display()))?
                .trim()
                .to_string(),
        ),
        (None, None) => None,
    };
    let ca = match &g.ca_cert {
        Some(p) => Some(
            std::fs::read(p).with_context(|| format!("cannot read --ca-cert `{}`", p.display()))?,
        ),
        None => None,
    };
    Ok(Client::new(&g.addr, token, ca.as_deref())?)
}

/// Runs the command; `Ok(false)` means a clean "no" (exit 1).
async fn run(cli: Cli) -> anyhow::Result<bool> {
    let json = cli.global.json;
    match cli.command {
        Command::Serve(a) => serve::run(a).await.map(|()| true),
        Command::Demo(a) => demo::run(a).await.map(|()| true),
        Command::Bench(a) => bench::run(a).await.map(|()| true),
        Command::Scan(a) => {
            let c = if a.report_to_server {
                Some(client(&cli.global)?)
            } else {
                None
            };
            tokio::task::spawn_blocking(move || scan::run(a, json, c)).await?
        }
        Command::Events(c) => monitor_cmd::events(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Alerts(c) => monitor_cmd::alerts(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Offboarding(c) => offboard_cmd::offboarding(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Receipt(c) => offboard_cmd::receipt(json, c),
        Command::Report { format, output } => {
            let text = client(&cli.global)?.report(&format).await?;
            match output {
                Some(p) => {
                    std::fs::write(&p, text)
                        .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", p.display()))?;
                    eprintln!("report written to {}", p.display());
                }
                None => print!("{text}"),
            }
            Ok(true)
        }
        Command::Findings(c) => posture_cmd::findings(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Usage { id, window_days } => {
            monitor_cmd::usage(&client(&cli.global)?, json, &id, window_days)
                .await
                .map(|()| true)
        }
        Command::Leak(c) => commands::leak(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Operator(cmd) => commands::operator(&client(&cli.global)?, json, cmd)
            .await
            .map(|()| true),
        Command::Identity(c) => commands::identity(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Owner(c) => commands::owner(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::System(c) => commands::system(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Credential(c) => commands::credential(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Entitlement(c) => commands::entitlement(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Token(c) => commands::token(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Audit(c) => commands::audit(&client(&cli.global)?, json, c).await,
        Command::Secret(c) => commands::secret(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Policy(c) => {
            let offline = matches!(
                c,
                cli::PolicyCmd::Validate { .. }
                    | cli::PolicyCmd::Test { .. }
                    | cli::PolicyCmd::Schema
            );
            let server = if offline {
                None
            } else {
                Some(client(&cli.global)?)
            };
            policy_cmd::policy(server.as_ref(), json, c).await
        }
        Command::Authorize(a) => policy_cmd::authorize(&client(&cli.global)?, json, a).await,
        Command::Request(c) => access_cmd::request(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Lease(c) => access_cmd::lease(&client(&cli.global)?, json, c).await,
        c @ Command::Breakglass { .. } => access_cmd::breakglass(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Review(c) => access_cmd::review(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Auth(c) => access_cmd::auth(&client(&cli.global)?, json, c)
            .await
            .map(|()| true),
        Command::Discover(a) => {
            let c = if a.dry_run {
                None
            } else {
                Some(client(&cli.global)?)
            };
            discover::run(c.as_ref(), json, a).await
        }
        Command::Graph(cmd) => {
            let offline =
                matches!(&cmd, cli::GraphCmd::BlastRadius { from, .. } if !from.is_empty());
            let c = if offline {
                None
            } else {
                Some(client(&cli.global)?)
            };
            discover::graph(c.as_ref(), json, cmd).await
        }
    }
}

fn exit_code_for(err: &anyhow::Error) -> u8 {
    match err
        .downcast_ref::<ClientError>()
        .and_then(ClientError::status)
    {
        Some(401 | 403 | 404 | 409) => 1,
        _ => 2,
    }
}

/// Output piped into something that stops reading (`holdfast … | head`) ends the process quietly,
/// as a closed pipe ends other command-line tools (status 141, as if by SIGPIPE), instead of with a
/// panic message.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    let daemon = matches!(cli.command, Command::Serve(_) | Command::Demo(_));
    init_logging(if daemon {
        "info,tower_http=warn"
    } else {
        "warn"
    });
    let json = cli.global.json;
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        // The reader of our output went away (`| head`): end quietly, as a closed pipe ends
        // other tools.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::from(141)
        }
        Err(e) => {
            let code = exit_code_for(&e);
            if json {
                let (c, field) = match e.downcast_ref::<ClientError>() {
                    Some(ClientError::Api { error, .. }) => {
                        (error.code.clone(), error.field.clone())
                    }
                    _ => ("error".to_string(), None),
                };
                let body = serde_json::json!({"error": {"code": c, "message": format!("{e:#}"), "field": field}});
                eprintln!("{body}");
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(code)
        }
    }
}
