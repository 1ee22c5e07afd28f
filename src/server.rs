//! The HTTP server: state, router, start-up and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use tower_http::trace::TraceLayer;
use veche_log::checkpoint::LogSigner;
use veche_store::{LogHandle, Sequencer, SequencerConfig, Store, SystemClock};

use crate::config::{ServeArgs, StorageArgs, load_or_create_key, origin_from_url, resolve_origin};
use crate::problem::Problem;
use crate::{
    auth, identity_api, jurisdictions, limits, log_api, openapi, pages, pb_rounds, petitions,
    polls, roll_api,
};

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
    pub identity: identity_api::Identity,
    pub limits: limits::Limits,
    pub session_ttl: Duration,
    pub nullifiers: petitions::NullifierKey,
    pub webhooks: crate::webhook::Webhooks,
    /// Passkey ceremonies in flight (in memory: one node; see
    /// specs/architecture.md).
    pub ceremonies: veche_store::ceremonies::Ceremonies,
    /// Witness cosignatures gathered for the checkpoint (src/witness.rs).
    pub cosignatures: crate::witness::Cosignatures,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/static/veche.css", get(pages::stylesheet))
        .route("/static/passkey.js", get(pages::script))
        .route("/static/petition.js", get(crate::petition_pages::script))
        .route("/petitions", get(crate::petition_pages::list))
        .route(
            "/petitions/new",
            get(crate::petition_pages::new_form).post(crate::petition_pages::file),
        )
        .route("/petitions/rules", get(crate::petition_pages::rules))
        .route(
            "/petitions/{id}",
            get(crate::petition_pages::show).post(crate::petition_pages::act),
        )
        .route("/receipt", get(crate::petition_pages::receipt))
        .route("/static/poll.js", get(crate::poll_pages::script))
        .route("/polls", get(crate::poll_pages::list))
        .route(
            "/polls/new",
            get(crate::poll_pages::new_form).post(crate::poll_pages::open),
        )
        .route("/polls/{id}", get(crate::poll_pages::show))
        .route("/static/pb.js", get(crate::pb_pages::script))
        .route("/pb", get(crate::pb_pages::list))
        .route(
            "/pb/new",
            get(crate::pb_pages::new_form).post(crate::pb_pages::open),
        )
        .route(
            "/pb/{id}",
            get(crate::pb_pages::show).post(crate::pb_pages::act),
        )
        .route("/enrol", get(pages::enrol))
        .route("/sign-in", get(pages::sign_in))
        .route("/sign-out", post(pages::sign_out))
        .route("/account", get(pages::account))
        .route("/staff", get(pages::staff))
        .route("/staff/invites", post(pages::staff_invite))
        .route("/staff/codes", post(pages::staff_codes))
        .route("/staff/invite/{token}", get(pages::invite))
        .route("/healthz", get(healthz))
        .route("/livez", get(healthz))
        .route("/readyz", get(crate::ops::readyz))
        .route("/metrics", get(crate::metrics::serve))
        .route("/log/checkpoint", get(log_api::checkpoint))
        .route("/log/tile/{*path}", get(log_api::tile))
        .route("/api/v1/openapi.json", get(openapi::serve))
        .route(
            "/api/v1/petitions",
            get(petitions::list).post(petitions::file),
        )
        .route("/api/v1/petitions/{id}", get(petitions::show))
        .route("/api/v1/polls", get(polls::list).post(polls::open))
        .route("/api/v1/polls/{id}", get(polls::show))
        .route(
            "/api/v1/polls/{id}/ballots/options",
            post(polls::ballot_options),
        )
        .route("/api/v1/polls/{id}/ballots", post(polls::cast))
        .route(
            "/api/v1/pb-rounds",
            get(pb_rounds::list).post(pb_rounds::open),
        )
        .route("/api/v1/pb-rounds/{id}", get(pb_rounds::show))
        .route("/api/v1/pb-rounds/{id}/projects", post(pb_rounds::propose))
        .route(
            "/api/v1/pb-rounds/{id}/voting",
            post(pb_rounds::open_voting),
        )
        .route(
            "/api/v1/pb-rounds/{id}/ballots/options",
            post(pb_rounds::ballot_options),
        )
        .route("/api/v1/pb-rounds/{id}/ballots", post(pb_rounds::cast))
        .route("/api/v1/pb-projects/{id}/reviews", post(pb_rounds::review))
        .route("/data/pb-rounds/{file}", get(pb_rounds::pabulib))
        .route(
            "/api/v1/petitions/{id}/moderation",
            post(petitions::moderate),
        )
        .route(
            "/api/v1/petitions/{id}/signatures/options",
            post(petitions::sign_options),
        )
        .route("/api/v1/petitions/{id}/signatures", post(petitions::sign))
        .route(
            "/api/v1/petitions/{id}/signatures/{index}/invalidation",
            post(petitions::invalidate),
        )
        .route(
            "/api/v1/petitions/{id}/acknowledgement",
            post(petitions::acknowledge),
        )
        .route(
            "/api/v1/petitions/{id}/consideration",
            post(petitions::schedule),
        )
        .route("/api/v1/petitions/{id}/answers", post(petitions::answer))
        .route(
            "/api/v1/petitions/{id}/withdrawal",
            post(petitions::withdraw),
        )
        .route(
            "/api/v1/attachments",
            post(petitions::upload_attachment)
                .layer(DefaultBodyLimit::max(petitions::ATTACHMENT_MAX_BYTES + 1)),
        )
        .route("/api/v1/attachments/{hash}", get(petitions::attachment))
        .route(
            "/api/v1/jurisdictions/{id}/webhook",
            put(crate::webhook::put_endpoint)
                .get(crate::webhook::get_endpoint)
                .delete(crate::webhook::delete_endpoint),
        )
        .route(
            "/api/v1/jurisdictions/{id}/petition-rules",
            get(petitions::petition_rules).put(petitions::set_petition_rules),
        )
        .route("/api/v1/webhook/key", get(crate::webhook::key))
        .route(
            "/api/v1/audit/eligibility",
            get(petitions::eligibility_export),
        )
        .route("/data/{file}", get(petitions::data_list))
        .route("/data/petitions/{file}", get(petitions::data_petition))
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
        .route(
            "/api/v1/enrolment/options",
            post(identity_api::enrolment_options),
        )
        .route(
            "/api/v1/enrolment/finish",
            post(identity_api::enrolment_finish),
        )
        .route(
            "/api/v1/session/options",
            post(identity_api::session_options),
        )
        .route("/api/v1/session/finish", post(identity_api::session_finish))
        .route("/api/v1/session", delete(identity_api::sign_out))
        .route("/api/v1/me", get(identity_api::me))
        .route("/api/v1/me/passkeys", get(identity_api::passkeys))
        .route(
            "/api/v1/me/passkeys/options",
            post(identity_api::add_passkey_options),
        )
        .route(
            "/api/v1/me/passkeys/finish",
            post(identity_api::add_passkey_finish),
        )
        .route(
            "/api/v1/me/passkeys/{id}/revoke/options",
            post(identity_api::revoke_passkey_options),
        )
        .route(
            "/api/v1/me/passkeys/{id}/revoke",
            post(identity_api::revoke_passkey),
        )
        .route(
            "/api/v1/jurisdictions/{id}/roll",
            put(roll_api::put_roll).layer(DefaultBodyLimit::max(roll_api::MAX_ROLL_BYTES)),
        )
        .route(
            "/api/v1/jurisdictions/{id}/enrolment-codes",
            post(roll_api::issue_codes),
        )
        .route("/api/v1/staff", get(identity_api::staff_list))
        .route("/api/v1/staff/invites", post(identity_api::invite))
        .route(
            "/api/v1/staff/invite/options",
            post(identity_api::accept_invite_options),
        )
        .route(
            "/api/v1/staff/invite/finish",
            post(identity_api::accept_invite_finish),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(256 * 1024))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(crate::metrics::track_http))
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
    serve_with(storage, args, None).await
}

/// As [`serve`], and sends the public URL and the bound address on `ready`
/// once requests will be answered (`--demo` seeds the server through it).
pub async fn serve_with(
    storage: &StorageArgs,
    args: &ServeArgs,
    ready: Option<tokio::sync::oneshot::Sender<(String, std::net::SocketAddr)>>,
) -> Result<()> {
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
    let identity = identity_api::Identity {
        rp: Arc::new(crate::config::relying_party(&public_url)?),
        hasher: Arc::new(crate::config::identity_hasher(
            &storage.data_dir,
            args.argon2,
        )?),
    };
    let log = start_sequencer(store.clone(), signer, args).await?;

    let state = AppState {
        store: store.clone(),
        log: log.0.clone(),
        origin: origin.clone().into(),
        vkey: vkey.clone().into(),
        public_url: public_url.clone().into(),
        operator,
        checkpoint_interval: args.checkpoint_interval,
        identity,
        limits: limits::Limits::new(&args.limits),
        session_ttl: args.session_ttl,
        nullifiers: petitions::NullifierKey::new(crate::config::nullifier_key(&storage.data_dir)?),
        webhooks: crate::webhook::Webhooks::load_or_create(&storage.data_dir)?,
        ceremonies: veche_store::ceremonies::Ceremonies::new(CEREMONIES_IN_FLIGHT),
        cosignatures: crate::witness::spawn(store.clone(), log.0.clone(), &args.witnesses),
    };
    spawn_housekeeping(state.clone());
    crate::rules::spawn_every_second(state.clone(), "petition closed", petitions::expired);
    crate::rules::spawn_every_second(state.clone(), "poll closed", polls::ended);
    crate::rules::spawn_every_second(state.clone(), "PB result declared", pb_rounds::counted);
    crate::webhook::spawn(state.clone());
    // Printed (not only logged) so people and tests find the URL.
    println!("Veche is serving the log `{origin}` at {public_url}/");
    println!("log verifier key: {vkey}");
    println!("storage: {}", store.backend_name());
    tracing::info!(%public_url, %origin, "listening");
    if let Some(ready) = ready {
        let _ = ready.send((public_url.clone(), listener.local_addr()?));
    }

    let (handle, sequencer_task) = log;
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
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
        observer: Some(Arc::new(crate::metrics::SequencerMetrics)),
        ..SequencerConfig::default()
    };
    let seq = Sequencer::load_elected(store, signer, Arc::new(SystemClock), config)
        .await
        .context("loading the log")?;
    Ok(seq.spawn())
}

/// Most passkey ceremonies held at once (each well under 2 KiB; a ceremony
/// lives two minutes at most, and starting one is rate-limited).
const CEREMONIES_IN_FLIGHT: usize = 100_000;

/// Once a minute: forget expired ceremonies and sessions, and rate-limit
/// keys back at full quota.
fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            use veche_store::Clock;
            state
                .ceremonies
                .purge_expired(veche_store::SystemClock.now_ms());
            if let Err(e) = state
                .store
                .purge_expired(veche_store::SystemClock.now_ms())
                .await
            {
                tracing::warn!(error = %e, "could not purge expired sessions");
            }
            state.limits.shrink();
        }
    });
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
