//! The HTTP server: state, router, start-up and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::trace::TraceLayer;
use veche_log::checkpoint::LogSigner;
use veche_store::{LogHandle, Sequencer, SequencerConfig, Store, SystemClock};

use crate::config::{ServeArgs, StorageArgs, load_or_create_key, origin_from_url, resolve_origin};
use crate::problem::Problem;
use crate::{auth, jurisdictions, log_api, pages};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub log: LogHandle,
    pub origin: Arc<str>,
    pub vkey: Arc<str>,
    pub public_url: Arc<str>,
    pub operator: auth::OperatorToken,
    pub checkpoint_interval: Duration,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/static/veche.css", get(pages::stylesheet))
        .route("/healthz", get(healthz))
        .route("/log/checkpoint", get(log_api::checkpoint))
        .route("/log/tile/{*path}", get(log_api::tile))
        .route("/api/v1/log", get(log_api::info))
        .route("/api/v1/log/entries", get(log_api::entries))
        .route("/api/v1/log/receipt/{index}", get(log_api::receipt))
        .route("/api/v1/log/proof/inclusion", get(log_api::inclusion_proof))
        .route(
            "/api/v1/log/proof/consistency",
            get(log_api::consistency_proof),
        )
        .route(
            "/api/v1/jurisdictions",
            get(jurisdictions::list).post(jurisdictions::create),
        )
        .route("/api/v1/jurisdictions/{id}", get(jurisdictions::show))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(256 * 1024))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz(state: axum::extract::State<AppState>) -> impl IntoResponse {
    let cp = state.log.checkpoint();
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        axum::Json(serde_json::json!({ "status": "ok", "size": cp.size })),
    )
}

async fn not_found(uri: axum::http::Uri) -> Problem {
    Problem::not_found(format!("There is nothing at {}.", uri.path()))
}

async fn method_not_allowed() -> Problem {
    Problem::method_not_allowed()
}

/// Starts the log and the server; returns when a shutdown signal arrives
/// and the current batch is committed.
pub async fn serve(storage: &StorageArgs, args: &ServeArgs) -> Result<()> {
    let store = storage.open_store().await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let port = listener.local_addr()?.port();
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://localhost:{port}"));
    let public_url = public_url.trim_end_matches('/').to_string();
    let origin = resolve_origin(
        &store,
        storage.origin.as_deref(),
        &origin_from_url(&public_url)?,
    )
    .await?;
    let signer = load_or_create_key(&storage.data_dir, &origin)?;
    let vkey = signer.vkey();
    let operator = auth::OperatorToken::load_or_create(&storage.data_dir)?;
    let log = start_sequencer(store.clone(), signer, args).await?;

    let state = AppState {
        store: store.clone(),
        log: log.0.clone(),
        origin: origin.clone().into(),
        vkey: vkey.clone().into(),
        public_url: public_url.clone().into(),
        operator,
        checkpoint_interval: args.checkpoint_interval,
    };
    // Printed (not only logged) so people and tests find the URL.
    println!("Veche is serving the log `{origin}` at {public_url}/");
    println!("log verifier key: {vkey}");
    println!("storage: {}", store.backend_name());
    tracing::info!(%public_url, %origin, "listening");

    let (handle, sequencer_task) = log;
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("HTTP server stopped; committing the last batch");
    handle.shutdown();
    sequencer_task.await?;
    store.close().await;
    Ok(())
}

async fn start_sequencer(
    store: Store,
    signer: LogSigner,
    args: &ServeArgs,
) -> Result<(LogHandle, tokio::task::JoinHandle<()>)> {
    let config = SequencerConfig {
        max_batch: args.max_batch as usize,
        checkpoint_interval: args.checkpoint_interval,
        ..SequencerConfig::default()
    };
    let seq = Sequencer::load(store, signer, Arc::new(SystemClock), config)
        .await
        .context("loading the log")?;
    Ok(seq.spawn())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}

/// Paths that never change once they exist may be cached forever.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
