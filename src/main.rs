//! `veche`: the server and its operator commands.
//!
//! `veche` (or `veche serve`) runs the web server on the embedded SQLite
//! database in `./veche-data/`; `--database-url postgres://…` uses
//! PostgreSQL. `veche jurisdiction add|list` and `veche log export DIR` work
//! on the same database, also while the server runs. `veche --demo` serves
//! seeded demo data from `<data-dir>/demo` (src/demo.rs).

// `Problem` (RFC 9457 body) is the error of every handler; it is built only
// on the error path, so its size (about 150 bytes) costs nothing that
// boxing would save.
#![allow(clippy::result_large_err)]

mod auth;
mod charts;
mod config;
#[cfg(feature = "demo")]
mod demo;
mod i18n;
mod identity_api;
mod jurisdictions;
mod limits;
mod log_api;
mod metrics;
mod mirror;
mod openapi;
mod ops;
mod page_kit;
mod pages;
mod pb_pages;
mod pb_rounds;
mod petition_pages;
mod petitions;
mod poll_pages;
mod polls;
mod problem;
mod roll_api;
mod rules;
mod server;
mod session;
mod webhook;
mod witness;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use config::{AdminCommand, Cli, Command, JurisdictionCommand, LogCommand, ServeArgs};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("VECHE_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        config::LogFormat::Text => logs.init(),
        // One JSON object a line, span fields flattened in: for collectors.
        config::LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(mut cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        None if cli.demo => return serve_demo(&cli.storage, &ServeArgs::default()).await,
        Some(Command::Serve(args)) if cli.demo || args.demo => {
            return serve_demo(&cli.storage, args).await;
        }
        // `veche --demo jurisdiction list` and the like act on the demo data.
        Some(_) if cli.demo => cli.storage = demo_storage(&cli.storage).await?,
        _ => {}
    }
    match cli.command {
        None => server::serve(&cli.storage, &ServeArgs::default()).await,
        Some(Command::Serve(args)) => server::serve(&cli.storage, &args).await,
        Some(Command::Jurisdiction(JurisdictionCommand::Add(args))) => {
            jurisdictions::add_cli(&cli.storage, &args).await
        }
        Some(Command::Jurisdiction(JurisdictionCommand::List { json })) => {
            jurisdictions::list_cli(&cli.storage, json).await
        }
        Some(Command::Admin(AdminCommand::Invite {
            role,
            jurisdiction,
            public_url,
            valid_for,
        })) => {
            let store = cli.storage.open_store().await?;
            let link = identity_api::create_invite(
                &store,
                public_url.trim_end_matches('/'),
                &role,
                jurisdiction.as_deref(),
                None,
                valid_for.as_millis() as u64,
            )
            .await
            .map_err(|p| anyhow::anyhow!("{}", p.detail))?;
            store.close().await;
            println!(
                "One-time staff invite ({role}); open it in a browser to register a passkey:\n{link}"
            );
            Ok(())
        }
        Some(Command::Log(LogCommand::Export {
            dir,
            follow,
            interval,
        })) => mirror::export(&cli.storage, &dir, follow, interval).await,
        Some(Command::Backup { to }) => ops::backup(&cli.storage, &to).await,
        Some(Command::Restore { from }) => ops::restore(&cli.storage, &from).await,
    }
}

#[cfg(feature = "demo")]
async fn serve_demo(storage: &config::StorageArgs, args: &ServeArgs) -> anyhow::Result<()> {
    demo::run(storage, args).await
}

#[cfg(feature = "demo")]
async fn demo_storage(storage: &config::StorageArgs) -> anyhow::Result<config::StorageArgs> {
    demo::existing_storage(storage).await
}

#[cfg(not(feature = "demo"))]
const NO_DEMO: &str =
    "this veche was built without the `demo` feature (build it with `--features demo`)";

#[cfg(not(feature = "demo"))]
async fn serve_demo(_: &config::StorageArgs, _: &ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!(NO_DEMO)
}

#[cfg(not(feature = "demo"))]
async fn demo_storage(_: &config::StorageArgs) -> anyhow::Result<config::StorageArgs> {
    anyhow::bail!(NO_DEMO)
}
