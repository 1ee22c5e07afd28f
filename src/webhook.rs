//! Delivery of threshold-reached petitions to the legislature's system by a
//! signed webhook (R1, R8; `specs/webhook.md`).
//!
//! An administrator gives each jurisdiction an endpoint
//! (`PUT /api/v1/jurisdictions/{id}/webhook`). The outbox is the log: a
//! petition is owed a delivery while the log holds its `threshold_reached`
//! and no `petition_delivered`, so nothing acknowledged can be forgotten by
//! a crash. A background task ([`spawn`]) looks every 500 ms (or at once
//! when [`Webhooks::wake`] is called) for petitions owed a delivery whose
//! jurisdiction has an endpoint, POSTs a JSON body signed with the service's
//! Ed25519 webhook key (published at `GET /api/v1/webhook/key`), and on a
//! 2xx answer appends `petition_delivered {petition, attempts}`. Any other
//! answer, a timeout (10 s) or a connection error is retried after
//! `min(2^attempts s, 1 h)`; attempts are counted in `webhook_deliveries`.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;
use veche_entry::{Entry, PetitionDelivered, format_timestamp_ms};
use veche_store::{AppendError, Clock, StoreError, SystemClock};

use crate::problem::Problem;
use crate::server::AppState;

/// The `format` of every delivery body.
pub const FORMAT: &str = "veche-petition-delivery/v1";
/// How often the task looks for deliveries due.
pub const POLL: Duration = Duration::from_millis(500);
/// How long one attempt may take, connection to last byte.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait between two attempts.
pub const MAX_BACKOFF_MS: u64 = 3_600_000;
/// How long a claimed attempt keeps others off the petition; after that a
/// crashed attempt is retried.
pub const LEASE_MS: u64 = 60_000;
/// Attempts in flight at once (a hanging endpoint does not hold up others).
pub const PARALLEL: usize = 16;
/// Longest endpoint URL accepted.
pub const URL_MAX_BYTES: usize = 2_000;

/// The wait after a failed attempt, given the attempts made so far
/// (≥ 1): `min(2^attempts s, 1 h)` — 2 s, 4 s, 8 s, … up to an hour.
pub fn backoff_ms(attempts: u32) -> u64 {
    1000u64
        .checked_shl(attempts)
        .unwrap_or(u64::MAX)
        .min(MAX_BACKOFF_MS)
}

/// The signing key, the wake-up signal and the HTTP client of deliveries.
/// Cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    key: Arc<SigningKey>,
    key_id: Arc<str>,
    /// Wakes the delivery task before its next tick.
    pub notify: Arc<Notify>,
    agent: ureq::Agent,
    slots: Arc<Semaphore>,
}

impl Webhooks {
    /// The key from `VECHE_WEBHOOK_KEY` (64 hex digits: the Ed25519 seed),
    /// else from `<data-dir>/webhook.key`, created (mode 0600) on first use.
    pub fn load_or_create(data_dir: &Path) -> Result<Self> {
        if let Ok(hex_seed) = std::env::var("VECHE_WEBHOOK_KEY") {
            let seed = parse_seed(&hex_seed).context("VECHE_WEBHOOK_KEY")?;
            return Ok(Self::from_seed(seed));
        }
        let path = data_dir.join("webhook.key");
        if path.exists() {
            let mode = fs::metadata(&path)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                bail!(
                    "{} is readable by others (mode {mode:o}); run `chmod 600 {}`",
                    path.display(),
                    path.display()
                );
            }
            let text =
                fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let seed = parse_seed(&text).with_context(|| path.display().to_string())?;
            return Ok(Self::from_seed(seed));
        }
        let key = SigningKey::generate(&mut OsRng);
        crate::config::write_secret_file(&path, &hex::encode(key.to_bytes()))?;
        tracing::info!(path = %path.display(), "created a new webhook signing key");
        Ok(Self::from_seed(key.to_bytes()))
    }

    /// The webhook key with this Ed25519 seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let key_id = key_id(&key.verifying_key());
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(TIMEOUT))
            .max_redirects(0)
            .user_agent(concat!("veche-webhook/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Self {
            key: Arc::new(key),
            key_id: key_id.into(),
            notify: Arc::new(Notify::new()),
            agent,
            slots: Arc::new(Semaphore::new(PARALLEL)),
        }
    }

    /// The public key receivers verify with.
    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Hex of the first 4 bytes of SHA-256 of the public key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The `Veche-Signature` header value for `body`:
    /// `ed25519=<base64 of the signature over the exact body bytes>`.
    pub fn signature_header(&self, body: &[u8]) -> String {
        format!("ed25519={}", B64.encode(self.key.sign(body).to_bytes()))
    }

    /// Makes the delivery task look for due deliveries now.
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

fn parse_seed(text: &str) -> Result<[u8; 32]> {
    let bytes = hex::decode(text.trim())
        .ok()
        .filter(|b| b.len() == 32)
        .context("expected an Ed25519 seed as 64 hexadecimal digits")?;
    Ok(bytes.try_into().expect("32 bytes"))
}

/// Hex of the first 4 bytes of SHA-256 of the raw 32-byte public key.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..4])
}

fn now() -> u64 {
    SystemClock.now_ms()
}

// ---- the delivery task ----------------------------------------------------

/// Starts the delivery task: every [`POLL`] (or on [`Webhooks::wake`]) it
/// attempts each delivery that is due.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = state.webhooks.notify.notified() => {}
            }
            if let Err(e) = start_due(&state).await {
                tracing::warn!(error = %e, "webhook deliveries: could not look for due deliveries");
            }
        }
    })
}

/// Petitions owed a delivery: threshold reached, not yet delivered.
fn owed(state: &AppState) -> Vec<(u64, String)> {
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    st.petitions()
        .filter(|p| p.threshold.is_some() && p.delivered.is_none())
        .map(|p| (p.id, p.jurisdiction.clone()))
        .collect()
}

/// Claims and starts every attempt due now.
async fn start_due(state: &AppState) -> Result<(), StoreError> {
    let owed = owed(state);
    if owed.is_empty() {
        return Ok(());
    }
    let endpoints: HashMap<String, String> = state
        .store
        .webhook_endpoints()
        .await?
        .into_iter()
        .map(|e| (e.jurisdiction, e.url))
        .collect();
    let candidates: Vec<(u64, &String)> = owed
        .iter()
        .filter_map(|(petition, j)| Some((*petition, endpoints.get(j)?)))
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let at = now();
    let waiting: HashSet<u64> = state
        .store
        .webhook_deliveries_waiting(at)
        .await?
        .into_iter()
        .collect();
    for (petition, url) in candidates {
        if waiting.contains(&petition) {
            continue;
        }
        let Ok(slot) = state.webhooks.slots.clone().try_acquire_owned() else {
            break; // all slots busy: the rest wait for the next tick
        };
        let Some(before) = state
            .store
            .claim_webhook_delivery(petition, at, at + LEASE_MS)
            .await?
        else {
            continue; // another process holds it
        };
        let state = state.clone();
        let url = url.clone();
        tokio::spawn(async move {
            attempt(&state, petition, &url, before + 1).await;
            drop(slot);
        });
    }
    Ok(())
}

/// What one attempt came to.
enum Outcome {
    /// A 2xx answer.
    Acknowledged(u16),
    /// Another status, with the start of the answer's body.
    Refused(u16, String),
    /// No answer (connection, TLS, timeout).
    Failed(String),
}

/// Makes attempt number `attempt` for `petition`, and records the outcome.
async fn attempt(state: &AppState, petition: u64, url: &str, attempt: u32) {
    let body = match delivery_body(state, petition).await {
        Ok(Some(b)) => b,
        // Delivered meanwhile (or not owed): release the claim.
        Ok(None) => {
            let _ = state
                .store
                .record_webhook_attempt(petition, attempt - 1, now(), None, None, now())
                .await;
            return;
        }
        Err(e) => {
            tracing::warn!(petition, error = %e, "webhook delivery: could not build the body");
            let at = now();
            let _ = state
                .store
                .record_webhook_attempt(
                    petition,
                    attempt - 1,
                    at + backoff_ms(1),
                    None,
                    Some("the body could not be built"),
                    at,
                )
                .await;
            return;
        }
    };
    let signature = state.webhooks.signature_header(&body);
    let key_id = state.webhooks.key_id().to_owned();
    let agent = state.webhooks.agent.clone();
    let target = url.to_owned();
    let outcome = tokio::task::spawn_blocking(move || {
        post(&agent, &target, &body, &signature, &key_id, petition)
    })
    .await
    .unwrap_or_else(|e| Outcome::Failed(format!("the attempt panicked: {e}")));
    let at = now();
    let (status, error) = match outcome {
        Outcome::Acknowledged(status) => {
            let entry = Entry::new(
                at,
                PetitionDelivered {
                    petition,
                    attempts: attempt,
                },
            );
            let appended = match entry.encode() {
                Ok(bytes) => state.log.append(bytes).await,
                Err(e) => Err(AppendError::Invalid(e.to_string())),
            };
            match appended {
                Ok(index) => {
                    tracing::info!(
                        petition,
                        attempts = attempt,
                        index,
                        "petition delivered to the legislature"
                    );
                    (Some(status), None)
                }
                Err(AppendError::Rejected(v)) if v.code == "already-delivered" => {
                    (Some(status), None)
                }
                Err(e) => {
                    // The receiver has it, but the log does not say so yet:
                    // deliver again later (receivers deduplicate).
                    tracing::warn!(petition, error = %e, "webhook acknowledged but not recorded in the log");
                    (
                        Some(status),
                        Some(format!("acknowledged, but the log did not record it: {e}")),
                    )
                }
            }
        }
        Outcome::Refused(status, text) => {
            let mut error = format!("HTTP {status}");
            if !text.is_empty() {
                error.push_str(": ");
                error.push_str(&text);
            }
            (Some(status), Some(error))
        }
        Outcome::Failed(error) => (None, Some(error)),
    };
    let next = match &error {
        None => at,
        Some(e) => {
            tracing::warn!(petition, attempts = attempt, error = %e, "webhook delivery failed; will retry");
            at + backoff_ms(attempt)
        }
    };
    if let Err(e) = state
        .store
        .record_webhook_attempt(petition, attempt, next, status, error.as_deref(), at)
        .await
    {
        tracing::warn!(petition, error = %e, "could not record a webhook attempt");
    }
}

/// One POST (blocking; run on the blocking pool).
fn post(
    agent: &ureq::Agent,
    url: &str,
    body: &[u8],
    signature: &str,
    key_id: &str,
    petition: u64,
) -> Outcome {
    let sent = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Veche-Signature", signature)
        .header("Veche-Key-Id", key_id)
        .header("Veche-Delivery", petition.to_string())
        .send(body);
    match sent {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            if (200..300).contains(&status) {
                return Outcome::Acknowledged(status);
            }
            let mut start = Vec::new();
            let _ = resp
                .body_mut()
                .as_reader()
                .take(300)
                .read_to_end(&mut start);
            let text: String = String::from_utf8_lossy(&start)
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect();
            Outcome::Refused(status, text)
        }
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// `log` of the delivery body: where to check the entries it cites.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct LogRef {
    /// The log's origin (first line of its checkpoints).
    pub origin: String,
    /// The latest signed checkpoint.
    pub checkpoint_url: String,
    /// The receipt (inclusion proof) of the `threshold_reached` entry.
    pub threshold_receipt_url: String,
}

/// The body POSTed to the legislature's endpoint (`specs/webhook.md`).
/// Built from the log only, so every attempt sends the same bytes.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct DeliveryBody {
    /// `veche-petition-delivery/v1`.
    pub format: String,
    /// The petition id (log index of its `petition_filed`).
    pub petition: u64,
    /// The jurisdiction id.
    pub jurisdiction: String,
    /// BLAKE3 of the petition's content document, hex.
    pub content_hash: String,
    /// The petition's title (`null` if the text is not stored here).
    pub title: Option<String>,
    /// Valid signatures when the threshold was reached.
    pub valid_signatures: u64,
    /// The population fixed when the petition opened.
    pub population: u64,
    /// Log index of the `threshold_reached` entry.
    pub threshold_entry: u64,
    /// When the threshold was reached (RFC 3339).
    pub threshold_at: String,
    /// The acknowledgement deadline (exclusive, RFC 3339).
    pub acknowledge_by: String,
    /// The answer deadline (exclusive, RFC 3339).
    pub answer_by: String,
    /// The petition's public page.
    pub petition_url: String,
    /// The log.
    pub log: LogRef,
}

/// The delivery body of `petition`, or `None` if it is not owed one.
pub async fn delivery_body(state: &AppState, petition: u64) -> Result<Option<Vec<u8>>, StoreError> {
    let facts = {
        let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
        st.petition(petition).and_then(|p| {
            let t = p.threshold.as_ref()?;
            if p.delivered.is_some() {
                return None;
            }
            Some((
                p.jurisdiction.clone(),
                p.content,
                p.opened.as_ref().map_or(0, |o| o.population),
                t.clone(),
            ))
        })
    };
    let Some((jurisdiction, content, population, t)) = facts else {
        return Ok(None);
    };
    let title = state
        .store
        .petition_content(&content)
        .await?
        .map(|c| c.title);
    let time = |ms: u64| format_timestamp_ms(ms).unwrap_or_default();
    let base = &state.public_url;
    let body = DeliveryBody {
        format: FORMAT.into(),
        petition,
        jurisdiction,
        content_hash: hex::encode(content),
        title,
        valid_signatures: t.valid_signatures,
        population,
        threshold_entry: t.index,
        threshold_at: time(t.at_ms),
        acknowledge_by: time(t.acknowledge_by_ms),
        answer_by: time(t.answer_by_ms),
        petition_url: format!("{base}/petitions/{petition}"),
        log: LogRef {
            origin: state.origin.to_string(),
            checkpoint_url: format!("{base}/log/checkpoint"),
            threshold_receipt_url: format!("{base}/api/v1/log/receipt/{}", t.index),
        },
    };
    Ok(Some(
        serde_json::to_vec(&body).map_err(|e| StoreError::Invalid(e.to_string()))?,
    ))
}

// ---- endpoint URLs ----------------------------------------------------------

/// Checks an endpoint URL: absolute `https://`, or `http://` to a loopback
/// address only (a receiver on the same machine); no user name or password
/// and no fragment; at most [`URL_MAX_BYTES`].
pub fn validate_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("the URL is empty".into());
    }
    if url.len() > URL_MAX_BYTES {
        return Err(format!("the URL is longer than {URL_MAX_BYTES} bytes"));
    }
    if url.contains('#') {
        return Err("the URL must not have a fragment (#…)".into());
    }
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not a valid URL: {e}"))?;
    let scheme = uri
        .scheme_str()
        .ok_or("the URL must be absolute (https://…)")?;
    let authority = uri.authority().ok_or("the URL has no host")?;
    if authority.as_str().contains('@') {
        return Err("the URL must not carry a user name or password".into());
    }
    let host = authority.host();
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    match scheme {
        "https" => Ok(url.to_owned()),
        "http" if is_loopback(host) => Ok(url.to_owned()),
        "http" => Err(
            "use https:// (plain http:// is accepted only to a loopback address such as http://127.0.0.1:8081/)"
                .into(),
        ),
        other => Err(format!("the scheme must be https, not {other}")),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

// ---- the API ------------------------------------------------------------------

/// The operator token (`Authorization: Bearer …`) or an administrator's
/// session (with its CSRF token on changes).
async fn authorize(state: &AppState, headers: &HeaderMap, method: &Method) -> Result<(), Problem> {
    if headers.contains_key(header::AUTHORIZATION) {
        return state.operator.check(headers);
    }
    let Some(me) = crate::session::current(state, headers).await? else {
        return Err(Problem::unauthorized(
            "Send the operator token as `Authorization: Bearer <token>`, or sign in with an administrator's passkey.",
        ));
    };
    if *method != Method::GET {
        let given = headers
            .get(crate::session::CSRF_HEADER)
            .and_then(|v| v.to_str().ok());
        if given != Some(me.csrf_token.as_str()) {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "Missing or wrong CSRF token",
                "Send the session's CSRF token in the X-CSRF-Token header.",
            ));
        }
    }
    me.require_role(&["admin"])
}

fn jurisdiction_path(id: Result<UrlPath<String>, PathRejection>) -> Result<String, Problem> {
    id.map(|UrlPath(id)| id)
        .map_err(|e| Problem::bad_request("invalid-path", e.body_text()))
}

fn declared(state: &AppState, id: &str) -> Result<(), Problem> {
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    if st.jurisdictions.get(id).is_none() {
        return Err(Problem::not_found(format!(
            "no jurisdiction `{id}` is declared in the log"
        )));
    }
    Ok(())
}

/// `PUT /api/v1/jurisdictions/{id}/webhook` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointRequest {
    /// `https://…` (or `http://` to a loopback address).
    pub url: String,
}

/// A petition of the jurisdiction that is owed a delivery.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PendingDelivery {
    /// The petition.
    pub petition: u64,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt may start (RFC 3339), if one was made.
    pub next_attempt_at: Option<String>,
    /// The HTTP status of the last attempt, if it got an answer.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// A jurisdiction's endpoint and what is owed to it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EndpointView {
    /// The jurisdiction.
    pub jurisdiction: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// When the endpoint was last set (RFC 3339).
    pub updated_at: String,
    /// The id of the key deliveries are signed with.
    pub key_id: String,
    /// Petitions that reached the threshold and are not yet delivered.
    pub pending: Vec<PendingDelivery>,
}

async fn endpoint_view(state: &AppState, id: &str) -> Result<Option<EndpointView>, Problem> {
    let Some(e) = state.store.webhook_endpoint(id).await? else {
        return Ok(None);
    };
    let owed: Vec<u64> = owed(state)
        .into_iter()
        .filter(|(_, j)| j == id)
        .map(|(p, _)| p)
        .collect();
    let mut pending = Vec::with_capacity(owed.len());
    for petition in owed {
        let d = state.store.webhook_delivery(petition).await?;
        pending.push(PendingDelivery {
            petition,
            attempts: d.as_ref().map_or(0, |d| d.attempts),
            next_attempt_at: d
                .as_ref()
                .and_then(|d| format_timestamp_ms(d.next_attempt_ms)),
            last_status: d.as_ref().and_then(|d| d.last_status),
            last_error: d.and_then(|d| d.last_error),
        });
    }
    Ok(Some(EndpointView {
        jurisdiction: e.jurisdiction,
        url: e.url,
        updated_at: format_timestamp_ms(e.updated_ms).unwrap_or_default(),
        key_id: state.webhooks.key_id().to_owned(),
        pending,
    }))
}

fn no_endpoint(id: &str) -> Problem {
    Problem::not_found(format!("jurisdiction `{id}` has no webhook endpoint"))
}

fn private(view: EndpointView) -> Response {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(view),
    )
        .into_response()
}

/// `PUT /api/v1/jurisdictions/{id}/webhook`: sets where the legislature
/// receives petitions that reach the threshold.
#[utoipa::path(
    put,
    path = "/api/v1/jurisdictions/{id}/webhook",
    operation_id = "put_webhook_endpoint",
    tag = "webhooks",
    summary = "Set the legislature's webhook endpoint (operator or administrator)",
    params(("id" = String, Path, description = "The jurisdiction id")),
    request_body = EndpointRequest,
    security(("operator_token" = []), ("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "Set; owed deliveries start at once", body = EndpointView),
        (status = 400, description = "Not JSON (`/problems/invalid-json`)"),
        (status = 401, description = "No operator token or session (`/problems/unauthorized`)"),
        (status = 403, description = "Not an administrator, or CSRF (`/problems/forbidden`, `/problems/csrf`)"),
        (status = 404, description = "No such jurisdiction (`/problems/not-found`)"),
        (status = 415, description = "Not `application/json` (`/problems/unsupported-media-type`)"),
        (status = 422, description = "The URL is not acceptable (`/problems/invalid-field`, `/problems/invalid-body`)"),
    )
)]
pub async fn put_endpoint(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    id: Result<UrlPath<String>, PathRejection>,
    body: Result<Json<EndpointRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    authorize(&state, &headers, &method).await?;
    let id = jurisdiction_path(id)?;
    declared(&state, &id)?;
    let Json(req) = body?;
    let url = validate_url(&req.url).map_err(|message| {
        Problem::unprocessable("invalid-field", format!("url: {message}")).with(
            "errors",
            serde_json::json!([{ "field": "url", "message": message }]),
        )
    })?;
    state.store.put_webhook_endpoint(&id, &url, now()).await?;
    state.webhooks.wake();
    let view = endpoint_view(&state, &id)
        .await?
        .ok_or_else(|| no_endpoint(&id))?;
    Ok(private(view))
}

/// `GET /api/v1/jurisdictions/{id}/webhook`: the endpoint and the
/// deliveries still owed, with their last errors.
#[utoipa::path(
    get,
    path = "/api/v1/jurisdictions/{id}/webhook",
    operation_id = "get_webhook_endpoint",
    tag = "webhooks",
    summary = "The legislature's webhook endpoint and pending deliveries (operator or administrator)",
    params(("id" = String, Path, description = "The jurisdiction id")),
    security(("operator_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The endpoint", body = EndpointView),
        (status = 401, description = "No operator token or session (`/problems/unauthorized`)"),
        (status = 403, description = "Not an administrator (`/problems/forbidden`)"),
        (status = 404, description = "No endpoint is set (`/problems/not-found`)"),
    )
)]
pub async fn get_endpoint(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    id: Result<UrlPath<String>, PathRejection>,
) -> Result<Response, Problem> {
    authorize(&state, &headers, &method).await?;
    let id = jurisdiction_path(id)?;
    let view = endpoint_view(&state, &id)
        .await?
        .ok_or_else(|| no_endpoint(&id))?;
    Ok(private(view))
}

/// `DELETE /api/v1/jurisdictions/{id}/webhook`: stops deliveries (owed
/// ones wait until an endpoint is set again).
#[utoipa::path(
    delete,
    path = "/api/v1/jurisdictions/{id}/webhook",
    operation_id = "delete_webhook_endpoint",
    tag = "webhooks",
    summary = "Remove the legislature's webhook endpoint (operator or administrator)",
    params(("id" = String, Path, description = "The jurisdiction id")),
    security(("operator_token" = []), ("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No operator token or session (`/problems/unauthorized`)"),
        (status = 403, description = "Not an administrator, or CSRF (`/problems/forbidden`, `/problems/csrf`)"),
        (status = 404, description = "No endpoint is set (`/problems/not-found`)"),
    )
)]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    id: Result<UrlPath<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    authorize(&state, &headers, &method).await?;
    let id = jurisdiction_path(id)?;
    if state.store.delete_webhook_endpoint(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_endpoint(&id))
    }
}

/// The published webhook key.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookKey {
    /// `ed25519`.
    pub alg: String,
    /// The raw 32-byte Ed25519 public key, standard base64.
    pub public_key: String,
    /// Hex of the first 4 bytes of SHA-256 of the raw public key; deliveries
    /// name it in `Veche-Key-Id`.
    pub key_id: String,
}

/// `GET /api/v1/webhook/key`: the key every delivery is signed with.
#[utoipa::path(
    get,
    path = "/api/v1/webhook/key",
    operation_id = "webhook_key",
    tag = "webhooks",
    summary = "The public key that signs webhook deliveries",
    responses((status = 200, description = "The key (cacheable for an hour)", body = WebhookKey))
)]
pub async fn key(State(state): State<AppState>) -> Response {
    (
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        )],
        Json(WebhookKey {
            alg: "ed25519".into(),
            public_key: B64.encode(state.webhooks.public_key().as_bytes()),
            key_id: state.webhooks.key_id().to_owned(),
        }),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_ms(1), 2_000);
        assert_eq!(backoff_ms(2), 4_000);
        assert_eq!(backoff_ms(11), 2_048_000);
        assert_eq!(backoff_ms(12), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(64), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(u32::MAX), MAX_BACKOFF_MS);
    }

    #[test]
    fn endpoint_urls() {
        for ok in [
            "https://duma.example/veche/inbox",
            "https://duma.example:8443/x?token=abc",
            "http://127.0.0.1:8081/hook",
            "http://localhost:9000/",
            "http://[::1]:9000/",
        ] {
            assert_eq!(validate_url(ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in [
            "",
            "duma.example/inbox",
            "/inbox",
            "http://duma.example/inbox",
            "http://10.0.0.1/inbox",
            "ftp://duma.example/",
            "https://user:pw@duma.example/",
            "https://duma.example/#x",
            "https://duma example/",
        ] {
            assert!(validate_url(bad).is_err(), "{bad}");
        }
        assert!(validate_url(&format!("https://a.example/{}", "x".repeat(2000))).is_err());
    }

    #[test]
    fn signatures_verify_with_the_published_key() {
        let w = Webhooks::from_seed([7; 32]);
        let body = br#"{"format":"veche-petition-delivery/v1","petition":5}"#;
        let header = w.signature_header(body);
        let sig = B64
            .decode(header.strip_prefix("ed25519=").unwrap())
            .unwrap();
        let sig = ed25519_dalek::Signature::from_slice(&sig).unwrap();
        assert!(w.public_key().verify_strict(body, &sig).is_ok());
        assert!(w.public_key().verify_strict(b"{}", &sig).is_err());
        assert_eq!(w.key_id().len(), 8);
        assert_eq!(w.key_id(), key_id(&w.public_key()));
    }

    /// The example and test vector of `specs/webhook.md`.
    #[test]
    fn the_spec_vector() {
        let body = r#"{"format":"veche-petition-delivery/v1","petition":1042,"jurisdiction":"kaliningrad-oblast","content_hash":"3f8a1c0e5b7d9f2146a8c0e2b4d6f81a3c5e7092b4d6f8a1c3e5079b2d4f6a8c","title":"Освещение набережной Преголи","valid_signatures":1002,"population":1001000,"threshold_entry":1187,"threshold_at":"2026-03-14T09:26:53.589Z","acknowledge_by":"2026-03-17T09:26:53.589Z","answer_by":"2026-04-13T09:26:53.589Z","petition_url":"https://veche.example.org/petitions/1042","log":{"origin":"veche.example.org","checkpoint_url":"https://veche.example.org/log/checkpoint","threshold_receipt_url":"https://veche.example.org/api/v1/log/receipt/1187"}}"#;
        let spec =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/specs/webhook.md"))
                .unwrap();
        assert!(spec.contains(body), "the example body is in the spec");
        assert_eq!(body.len(), 662);
        // The member order and encoding are the server's own.
        let parsed: DeliveryBody = serde_json::from_str(body).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), body);
        let seed =
            parse_seed("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
        let w = Webhooks::from_seed(seed);
        assert_eq!(
            hex::encode(w.public_key().as_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(w.key_id(), "21fe31df");
        let header = w.signature_header(body.as_bytes());
        assert_eq!(
            header,
            "ed25519=0jLtegtAJLt6OMAhPwUOzpRoq49tEDapcroaqViYVWPu1wv+LRrpUn6CZ+RMNGbbo9yNVyE58Vgw6PbtOKJCDw=="
        );
        assert!(spec.contains(&format!("Veche-Signature: {header}")));
    }

    #[test]
    fn seeds_are_64_hex_digits() {
        assert!(parse_seed(&"ab".repeat(32)).is_ok());
        assert!(parse_seed(&format!(" {}\n", "ab".repeat(32))).is_ok());
        assert!(parse_seed("abcd").is_err());
        assert!(parse_seed(&"zz".repeat(32)).is_err());
    }
}
