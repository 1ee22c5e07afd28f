//! Citizens and staff over the API: enrolment (by code or by document data)
//! with a passkey, sign-in, sessions, passkey management, staff invites, and
//! the registrar's roll and enrolment codes.
//!
//! Every WebAuthn ceremony is two calls: `…/options` stores the ceremony
//! state server-side under a random id and returns the standard
//! `PublicKeyCredential*OptionsJSON`; `…/finish` takes (deletes) the state,
//! so a response can be used at most once, and verifies it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use veche_passkey::{
    ActionChallenge, CeremonyState, PasskeyError, RegisteredCredential, RelyingParty,
};
use veche_roll::{EnrolmentCode, IdentityHasher, StoredCode};
use veche_store::identity::{Ceremony, EnrolError, Enrolled, NewEnrolment, StaffInviteRow};
use veche_store::{Clock, SystemClock};

use crate::problem::Problem;
use crate::server::AppState;
use crate::session::{self, SignedIn, random_token};

/// What the identity side of the server needs.
#[derive(Clone)]
pub struct Identity {
    pub rp: Arc<RelyingParty>,
    pub hasher: Arc<IdentityHasher>,
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn b64url_decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('='))
}

fn now() -> u64 {
    SystemClock.now_ms()
}

/// Maps a passkey refusal to a problem: 4xx with the library's stable code.
pub fn passkey_problem(e: PasskeyError) -> Problem {
    let status = match e {
        PasskeyError::Config(_) => return Problem::internal(e),
        PasskeyError::Expired => StatusCode::GONE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Problem::new(
        status,
        "passkey-refused",
        "The passkey response was refused",
        e.to_string(),
    )
    .with("reason", e.code())
}

pub(crate) fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, Problem> {
    Ok(body?.0)
}

/// The ceremony id and the options JSON, as every `…/options` answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CeremonyStarted {
    /// The ceremony id to send back to `…/finish`.
    pub ceremony: String,
    /// `PublicKeyCredentialCreationOptionsJSON` or
    /// `PublicKeyCredentialRequestOptionsJSON` (W3C WebAuthn Level 3).
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    pub public_key: Value,
}

pub(crate) async fn store_ceremony(
    state: &AppState,
    kind: &str,
    ceremony: &CeremonyState,
    context: Value,
    options: Value,
) -> Result<Json<CeremonyStarted>, Problem> {
    let bytes = serde_json::to_vec(ceremony).map_err(Problem::internal)?;
    store_raw_ceremony(
        state,
        kind,
        bytes,
        ceremony.expires_at_ms(),
        context,
        options,
    )
    .await
}

pub(crate) async fn store_raw_ceremony(
    state: &AppState,
    kind: &str,
    bytes: Vec<u8>,
    expires_ms: u64,
    context: Value,
    options: Value,
) -> Result<Json<CeremonyStarted>, Problem> {
    let id = random_token(18);
    state
        .ceremonies
        .put(
            id.clone(),
            Ceremony {
                kind: kind.into(),
                state: bytes,
                context: context.to_string(),
                expires_ms,
            },
            now(),
        )
        .map_err(|full| Problem::unavailable(format!("{full}; retry shortly.")))?;
    Ok(Json(CeremonyStarted {
        ceremony: id,
        public_key: options,
    }))
}

/// Takes (deletes) a ceremony of the expected kind; unknown, used, expired
/// or other-kind ceremonies are refused.
async fn take_ceremony(
    state: &AppState,
    id: &str,
    kind: &str,
) -> Result<(CeremonyState, Value), Problem> {
    let (bytes, context) = take_raw_ceremony(state, id, kind).await?;
    let ceremony: CeremonyState = serde_json::from_slice(&bytes).map_err(Problem::internal)?;
    Ok((ceremony, context))
}

pub(crate) async fn take_raw_ceremony(
    state: &AppState,
    id: &str,
    kind: &str,
) -> Result<(Vec<u8>, Value), Problem> {
    let c = state.ceremonies.take(id).ok_or_else(|| {
        Problem::new(
            StatusCode::CONFLICT,
            "ceremony-unknown",
            "Unknown or finished ceremony",
            "This passkey ceremony does not exist or was already finished; start again.",
        )
    })?;
    if c.kind != kind {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "ceremony-unknown",
            "Wrong ceremony",
            format!("This ceremony is for {}, not {kind}; start again.", c.kind),
        ));
    }
    if c.expires_ms <= now() {
        return Err(Problem::new(
            StatusCode::GONE,
            "ceremony-expired",
            "Ceremony expired",
            "The passkey ceremony took too long; start again.",
        ));
    }
    let context: Value = serde_json::from_str(&c.context).map_err(Problem::internal)?;
    Ok((c.state, context))
}

/// A public pseudonym: `<prefix>-<8 random characters>`. For staff the
/// prefix is the role, and the result is always a valid `actor` pseudonym
/// of the log (3–64 bytes of `[a-z0-9-]`, starting with a letter; see
/// `veche_entry::validate::pseudonym` and the test below).
fn pseudonym(prefix: &str) -> String {
    pseudonym_from(prefix, &random_token(6))
}

/// `<prefix>-<token>` with the base64url `token` lowercased and its `-`
/// and `_` made `x`, so that it holds only `[a-z0-9]`.
fn pseudonym_from(prefix: &str, token: &str) -> String {
    let token = token.to_ascii_lowercase().replace(['-', '_'], "x");
    format!("{prefix}-{token}")
}

fn new_user_handle() -> veche_passkey::UserHandle {
    let mut h = veche_passkey::UserHandle::default();
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut h);
    h
}

fn account_json(a: &veche_store::identity::AccountRow) -> Value {
    json!({
        "kind": a.kind,
        "pseudonym": a.pseudonym,
        "jurisdiction": a.jurisdiction,
        "role": a.role,
        "created_ms": a.created_ms,
    })
}

/// Runs a CPU-heavy hash off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(Problem::internal)
}

// ---- enrolment ---------------------------------------------------------

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "method", rename_all = "lowercase", deny_unknown_fields)]
pub enum EnrolmentRequest {
    /// A one-time enrolment code `id.secret` from a letter or a service centre.
    Code { code: String },
    /// Matching personal data against the roll.
    Document {
        jurisdiction: String,
        document_number: String,
        date_of_birth: String,
    },
}

fn not_on_roll() -> Problem {
    Problem::unprocessable(
        "not-on-roll",
        "No record on the roll of that jurisdiction matches this document number and date of birth.",
    )
}

fn already_claimed() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "already-claimed",
        "Already enrolled",
        "This roll record is already claimed. If you lost your passkeys, ask the registrar for an enrolment code.",
    )
}

/// `POST /api/v1/enrolment/options`: checks eligibility and starts passkey
/// registration. Nothing is written but the ceremony.
#[utoipa::path(
    post,
    path = "/api/v1/enrolment/options",
    tag = "enrolment",
    summary = "Check eligibility and start passkey registration",
    request_body(content = EnrolmentRequest, description = "By enrolment code or by document data"),
    responses(
        (status = 200, description = "The ceremony id and the standard `PublicKeyCredential*OptionsJSON`", body = CeremonyStarted),
        (status = 400, description = "Not JSON (`/problems/invalid-json`)"),
        (status = 409, description = "Code used or record already claimed (`/problems/code-used`, `/problems/already-claimed`)"),
        (status = 410, description = "Code expired (`/problems/code-expired`)"),
        (status = 413, description = "Body over 256 KiB (`/problems/body-unreadable`)"),
        (status = 415, description = "Not `application/json` (`/problems/unsupported-media-type`)"),
        (status = 422, description = "Not a valid code, not on the roll, or a bad field (`/problems/invalid-code`, `/problems/not-on-roll`, `/problems/invalid-field`, `/problems/invalid-body`)"),
        (status = 429, description = "Rate limit hit (`/problems/rate-limited`)"),
    )
)]
pub async fn enrolment_options(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<EnrolmentRequest>, JsonRejection>,
) -> Result<Json<CeremonyStarted>, Problem> {
    state
        .limits
        .enrol(state.limits.client_ip(addr.ip(), &headers))?;
    let request = json_body(body)?;
    let (jurisdiction, record_id, code_id) = match request {
        EnrolmentRequest::Code { code } => {
            let parsed = EnrolmentCode::parse(&code).map_err(|e| {
                Problem::unprocessable(
                    "invalid-code",
                    format!("This is not an enrolment code: {e}"),
                )
            })?;
            let row = state.store.enrolment_code(parsed.id()).await?;
            let wrong =
                || Problem::unprocessable("invalid-code", "This enrolment code is not valid.");
            let row = row.ok_or_else(wrong)?;
            let stored = StoredCode {
                id: row.id.clone(),
                secret_hash: row.secret_hash.clone(),
            };
            let hasher = state.identity.hasher.clone();
            let ok = blocking(move || veche_roll::verify_code(&stored, &parsed, &hasher)).await?;
            if !ok {
                return Err(wrong());
            }
            if row.used_ms.is_some() {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    "code-used",
                    "Enrolment code already used",
                    "This enrolment code was already used. Ask the registrar for a new one.",
                ));
            }
            if row.expires_ms <= now() {
                return Err(Problem::new(
                    StatusCode::GONE,
                    "code-expired",
                    "Enrolment code expired",
                    "This enrolment code has expired. Ask the registrar for a new one.",
                ));
            }
            (row.jurisdiction, row.record_id, Some(row.id))
        }
        EnrolmentRequest::Document {
            jurisdiction,
            document_number,
            date_of_birth,
        } => {
            let hasher = state.identity.hasher.clone();
            let j = jurisdiction.clone();
            let key = blocking(move || hasher.document_key(&j, &document_number, &date_of_birth))
                .await?
                .map_err(|e| {
                    Problem::unprocessable("invalid-field", e.to_string()).with("reason", e.code())
                })?;
            let record = state
                .store
                .roll_record_by_key(&jurisdiction, &key)
                .await?
                .filter(|r| !r.retired)
                .ok_or_else(not_on_roll)?;
            if record.claimed_by.is_some() {
                return Err(already_claimed());
            }
            (jurisdiction, record.record_id, None)
        }
    };
    let record = state
        .store
        .roll_record(&jurisdiction, &record_id)
        .await?
        .filter(|r| !r.retired)
        .ok_or_else(not_on_roll)?;
    let handle = match &record.claimed_by {
        // Re-enrolment by code keeps the account (and its user handle).
        Some(existing) if code_id.is_some() => existing
            .as_slice()
            .try_into()
            .map_err(|_| Problem::internal("stored account id has the wrong length"))?,
        Some(_) => return Err(already_claimed()),
        None => new_user_handle(),
    };
    let name = pseudonym("citizen");
    let (options, ceremony) = state
        .identity
        .rp
        .start_registration(handle, &name, &name, &[])
        .map_err(passkey_problem)?;
    let context = json!({
        "jurisdiction": jurisdiction,
        "record_id": record_id,
        "code_id": code_id,
        "account_id": hex::encode(handle),
        "pseudonym": name,
    });
    store_ceremony(&state, "enrol", &ceremony, context, options).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishRequest {
    pub ceremony: String,
    /// The credential's `toJSON()` (RegistrationResponseJSON or AuthenticationResponseJSON).
    #[schema(value_type = Object)]
    pub credential: Value,
}

/// A registration ceremony's finish, shared by enrolment, new passkeys and
/// staff invites: takes the ceremony, verifies the new credential, and
/// returns it, its stored JSON form, the ceremony's context and the account
/// id the context names.
struct Registered {
    credential: RegisteredCredential,
    json: String,
    ctx: Value,
    account_id: Vec<u8>,
}

async fn finish_registration_ceremony(
    state: &AppState,
    req: &FinishRequest,
    kind: &str,
) -> Result<Registered, Problem> {
    let (ceremony, ctx) = take_ceremony(state, &req.ceremony, kind).await?;
    let credential = state
        .identity
        .rp
        .finish_registration(&ceremony, &req.credential.to_string())
        .map_err(passkey_problem)?;
    let account_id = hex::decode(ctx_str(&ctx, "account_id")?).map_err(Problem::internal)?;
    let json = serde_json::to_string(&credential).map_err(Problem::internal)?;
    Ok(Registered {
        credential,
        json,
        ctx,
        account_id,
    })
}

pub(crate) fn ctx_str<'a>(ctx: &'a Value, key: &str) -> Result<&'a str, Problem> {
    ctx[key]
        .as_str()
        .ok_or_else(|| Problem::internal(format!("ceremony context lacks {key}")))
}

/// Answers with a new session: 201/200, the cookie, and the CSRF token.
async fn signed_in_response(
    state: &AppState,
    status: StatusCode,
    account_id: &[u8],
) -> Result<Response, Problem> {
    let account = state
        .store
        .account(account_id)
        .await?
        .ok_or_else(|| Problem::internal("account vanished"))?;
    let (cookie, csrf) = session::start(state, account_id).await?;
    let mut resp = (
        status,
        Json(json!({ "account": account_json(&account), "csrf_token": csrf })),
    )
        .into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `POST /api/v1/enrolment/finish`: verifies the new passkey and claims the
/// record, atomically; the response signs the citizen in.
#[utoipa::path(
    post,
    path = "/api/v1/enrolment/finish",
    tag = "enrolment",
    summary = "Verify the new passkey and claim the roll record",
    request_body(content = FinishRequest, description = "The ceremony id and the credential's `toJSON()`"),
    responses(
        (status = 201, description = "Enrolled and signed in; the session cookie is set", body = ref("#/components/schemas/SignedIn"), headers(("Set-Cookie" = String, description = "The `veche_session` cookie (HttpOnly, SameSite=Strict)"))),
        (status = 400, description = "Not JSON (`/problems/invalid-json`)"),
        (status = 409, description = "Unknown or finished ceremony, or a conflict (`/problems/ceremony-unknown`, `/problems/already-claimed`, `/problems/code-used`, `/problems/duplicate-credential`)"),
        (status = 410, description = "The ceremony expired (`/problems/ceremony-expired`, `/problems/passkey-refused`)"),
        (status = 413, description = "Body over 256 KiB (`/problems/body-unreadable`)"),
        (status = 415, description = "Not `application/json` (`/problems/unsupported-media-type`)"),
        (status = 422, description = "Passkey refused or not on the roll (`/problems/passkey-refused`, `/problems/not-on-roll`, `/problems/invalid-body`)"),
    )
)]
pub async fn enrolment_finish(
    State(state): State<AppState>,
    body: Result<Json<FinishRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let req = json_body(body)?;
    let Registered {
        credential,
        json: credential_json,
        ctx,
        account_id,
    } = finish_registration_ceremony(&state, &req, "enrol").await?;
    let outcome = state
        .store
        .enrol(&NewEnrolment {
            account_id: &account_id,
            pseudonym: ctx_str(&ctx, "pseudonym")?,
            jurisdiction: ctx_str(&ctx, "jurisdiction")?,
            record_id: ctx_str(&ctx, "record_id")?,
            credential_id: &credential.id,
            credential_json: &credential_json,
            sign_count: u64::from(credential.sign_count),
            label: "passkey 1",
            code_id: ctx["code_id"].as_str(),
            now_ms: now(),
        })
        .await;
    match outcome {
        Ok(Enrolled::NewAccount) => {
            signed_in_response(&state, StatusCode::CREATED, &account_id).await
        }
        Ok(Enrolled::Reenrolled { account_id }) => {
            signed_in_response(&state, StatusCode::CREATED, &account_id).await
        }
        Err(EnrolError::AlreadyClaimed) => Err(already_claimed()),
        Err(EnrolError::CodeSpent) => Err(Problem::new(
            StatusCode::CONFLICT,
            "code-used",
            "Enrolment code already used",
            "This enrolment code was used or expired while you registered your passkey.",
        )),
        Err(EnrolError::Retired) => Err(not_on_roll()),
        Err(EnrolError::DuplicateCredential) => Err(duplicate_credential()),
        Err(EnrolError::Store(e)) => Err(Problem::internal(e)),
    }
}

fn duplicate_credential() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "duplicate-credential",
        "Passkey already registered",
        "This passkey is already registered.",
    )
}

// ---- sign-in and sessions ----------------------------------------------

/// `POST /api/v1/session/options`: starts a username-less sign-in.
#[utoipa::path(
    post,
    path = "/api/v1/session/options",
    tag = "session",
    summary = "Start a username-less passkey sign-in",
    responses(
        (status = 200, description = "The ceremony id and the standard `PublicKeyCredential*OptionsJSON`", body = CeremonyStarted),
        (status = 429, description = "Rate limit hit (`/problems/rate-limited`)"),
    )
)]
pub async fn session_options(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Json<CeremonyStarted>, Problem> {
    state
        .limits
        .sign_in(state.limits.client_ip(addr.ip(), &headers))?;
    let (options, ceremony) = state.identity.rp.start_authentication();
    store_ceremony(&state, "sign-in", &ceremony, json!({}), options).await
}

/// The credential id a WebAuthn response names (`rawId`, else `id`).
pub(crate) fn response_credential_id(credential: &Value) -> Result<Vec<u8>, Problem> {
    let id = credential["rawId"]
        .as_str()
        .or_else(|| credential["id"].as_str())
        .ok_or_else(|| Problem::unprocessable("invalid-body", "credential.rawId is missing"))?;
    b64url_decode(id)
        .map_err(|_| Problem::unprocessable("invalid-body", "credential.rawId is not base64url"))
}

pub(crate) async fn stored_credential(
    state: &AppState,
    id: &[u8],
) -> Result<Option<RegisteredCredential>, Problem> {
    let Some(row) = state.store.credential(id).await? else {
        return Ok(None);
    };
    let mut c: RegisteredCredential =
        serde_json::from_str(&row.credential).map_err(Problem::internal)?;
    // The counter column is authoritative (it moves on every use).
    c.sign_count = u32::try_from(row.sign_count).unwrap_or(u32::MAX);
    Ok(Some(c))
}

/// Verifies an action assertion by one of the signed-in account's passkeys
/// (§7.2, `RelyingParty::verify_action`) and moves its signature counter on;
/// a counter that did not increase is refused as a replay.
pub(crate) async fn verify_account_action(
    state: &AppState,
    me: &SignedIn,
    challenge: &ActionChallenge,
    credential: &Value,
) -> Result<veche_passkey::VerifiedAction, Problem> {
    let verified = verify_account_assertion(state, me, challenge, credential).await?;
    if !state
        .store
        .record_credential_use(
            &verified.credential_id,
            u64::from(verified.new_sign_count),
            now(),
        )
        .await?
    {
        return Err(replayed());
    }
    Ok(verified)
}

/// Starts an action-bound passkey request (petition signature or
/// ballot): the challenge commits to `action`, any of the account's
/// passkeys may answer, and the ceremony keeps `ctx` with the account and
/// the nonce added, for [`take_action_ceremony`].
pub(crate) async fn start_action_ceremony(
    state: &AppState,
    me: &SignedIn,
    kind: &str,
    action: &[u8],
    mut ctx: Value,
) -> Result<Json<CeremonyStarted>, Problem> {
    let nonce = ActionChallenge::random_nonce();
    let challenge = ActionChallenge::new(action, nonce);
    let allow: Vec<Vec<u8>> = state
        .store
        .credentials_of(&me.account.id)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    let options = state.identity.rp.action_request_options(&challenge, &allow);
    ctx["account_id"] = json!(hex::encode(&me.account.id));
    ctx["nonce"] = json!(hex::encode(nonce));
    let expires = SystemClock.now_ms() + veche_passkey::CEREMONY_TIMEOUT_MS;
    store_raw_ceremony(state, kind, Vec::new(), expires, ctx, options).await
}

/// Takes a ceremony [`start_action_ceremony`] began: it must be of `kind`,
/// this account's, and for the subject whose id is `ctx[subject]` (a
/// ceremony answers for what it was started for only). Gives the context
/// and the challenge's nonce.
pub(crate) async fn take_action_ceremony(
    state: &AppState,
    me: &SignedIn,
    ceremony: &str,
    kind: &str,
    subject: &str,
    id: u64,
) -> Result<(Value, [u8; 32]), Problem> {
    let (_, ctx) = take_raw_ceremony(state, ceremony, kind).await?;
    if ctx_str(&ctx, "account_id")? != hex::encode(&me.account.id)
        || ctx.get(subject).and_then(Value::as_u64) != Some(id)
    {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            format!("This ceremony was started for another account or {subject}."),
        ));
    }
    let nonce: [u8; 32] = hex::decode(ctx_str(&ctx, "nonce")?)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| Problem::internal("bad nonce"))?;
    Ok((ctx, nonce))
}

/// The passkey use a verified action commits with its entry: the
/// sequencer checks and stores the new counter in the entry's batch.
pub(crate) fn credential_use(
    verified: &veche_passkey::VerifiedAction,
    at_ms: u64,
) -> veche_store::identity::CredentialUse {
    veche_store::identity::CredentialUse {
        credential_id: verified.credential_id.clone(),
        sign_count: u64::from(verified.new_sign_count),
        at_ms,
    }
}

/// Verifies an action assertion by one of the signed-in account's passkeys
/// against the stored counter, without recording the use: the caller
/// commits the use with what the assertion authorises (a signature's
/// counter moves in the sequencer's batch, which checks the counter again
/// under its lock — `veche_store::WithEntries`).
pub(crate) async fn verify_account_assertion(
    state: &AppState,
    me: &SignedIn,
    challenge: &ActionChallenge,
    credential: &Value,
) -> Result<veche_passkey::VerifiedAction, Problem> {
    let used_id = response_credential_id(credential)?;
    let used = stored_credential(state, &used_id)
        .await?
        .filter(|c| c.user_handle.as_slice() == me.account.id.as_slice())
        .ok_or_else(|| passkey_problem(PasskeyError::UnknownCredential))?;
    let handle = used.user_handle;
    state
        .identity
        .rp
        .verify_action(challenge, &credential.to_string(), &used, &handle)
        .map_err(passkey_problem)
}

pub(crate) fn replayed() -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "passkey-refused",
        "The passkey response was refused",
        "The authenticator's signature counter did not increase: this looks like a replayed or cloned credential.",
    )
    .with("reason", "sign-count-not-increasing")
}

/// `POST /api/v1/session/finish`: verifies the assertion and signs in.
#[utoipa::path(
    post,
    path = "/api/v1/session/finish",
    tag = "session",
    summary = "Verify the assertion and sign in",
    request_body(content = FinishRequest, description = "The ceremony id and the credential's `toJSON()`"),
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = ref("#/components/schemas/SignedIn"), headers(("Set-Cookie" = String, description = "The `veche_session` cookie (HttpOnly, SameSite=Strict)"))),
        (status = 400, description = "Not JSON (`/problems/invalid-json`)"),
        (status = 409, description = "Unknown or finished ceremony, or a conflict (`/problems/ceremony-unknown`, `/problems/already-claimed`, `/problems/code-used`, `/problems/duplicate-credential`)"),
        (status = 410, description = "The ceremony expired (`/problems/ceremony-expired`, `/problems/passkey-refused`)"),
        (status = 413, description = "Body over 256 KiB (`/problems/body-unreadable`)"),
        (status = 415, description = "Not `application/json` (`/problems/unsupported-media-type`)"),
        (status = 422, description = "Wrong shape, or the passkey response was refused (`/problems/invalid-body`, `/problems/passkey-refused` with `reason`)"),
        (status = 429, description = "Rate limit hit (`/problems/rate-limited`)"),
    )
)]
pub async fn session_finish(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<FinishRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    state
        .limits
        .sign_in(state.limits.client_ip(addr.ip(), &headers))?;
    let req = json_body(body)?;
    let (ceremony, _) = take_ceremony(&state, &req.ceremony, "sign-in").await?;
    let id = response_credential_id(&req.credential)?;
    let known = stored_credential(&state, &id).await?;
    let auth = state
        .identity
        .rp
        .finish_authentication(&ceremony, &req.credential.to_string(), |_| known.clone())
        .map_err(passkey_problem)?;
    if !state
        .store
        .record_credential_use(&auth.credential_id, u64::from(auth.new_sign_count), now())
        .await?
    {
        return Err(replayed());
    }
    signed_in_response(&state, StatusCode::OK, &auth.user_handle).await
}

/// `DELETE /api/v1/session`: signs out.
#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "session",
    summary = "Sign out",
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 204, description = "Signed out; the cookie is cleared", headers(("Set-Cookie" = String, description = "Clears `veche_session`"))),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Missing or wrong CSRF token, or not allowed (`/problems/csrf`, `/problems/forbidden`)"),
    )
)]
pub async fn sign_out(State(state): State<AppState>, me: SignedIn) -> Result<Response, Problem> {
    state.store.delete_session(&me.session_hash).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie());
    Ok(resp)
}

/// `GET /api/v1/me`: the signed-in account and its CSRF token.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "session",
    summary = "The signed-in account and its CSRF token",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The account", body = ref("#/components/schemas/SignedIn")),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
    )
)]
pub async fn me(me: SignedIn) -> Json<Value> {
    Json(json!({ "account": account_json(&me.account), "csrf_token": me.csrf_token }))
}

// ---- passkeys ------------------------------------------------------------

/// `GET /api/v1/me/passkeys`.
#[utoipa::path(
    get,
    path = "/api/v1/me/passkeys",
    tag = "passkeys",
    summary = "The signed-in account's passkeys",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The passkeys", body = ref("#/components/schemas/PasskeyList")),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
    )
)]
pub async fn passkeys(State(state): State<AppState>, me: SignedIn) -> Result<Json<Value>, Problem> {
    let list: Vec<Value> = state
        .store
        .credentials_of(&me.account.id)
        .await?
        .into_iter()
        .map(|c| {
            json!({
                "id": b64url(&c.id),
                "label": c.label,
                "created_ms": c.created_ms,
                "last_used_ms": c.last_used_ms,
            })
        })
        .collect();
    Ok(Json(json!({ "passkeys": list })))
}

/// `POST /api/v1/me/passkeys/options`: registers another passkey.
#[utoipa::path(
    post,
    path = "/api/v1/me/passkeys/options",
    tag = "passkeys",
    summary = "Start registering another passkey",
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The ceremony id and the standard `PublicKeyCredential*OptionsJSON`", body = CeremonyStarted),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Missing or wrong CSRF token, or not allowed (`/problems/csrf`, `/problems/forbidden`)"),
        (status = 429, description = "Rate limit hit (`/problems/rate-limited`)"),
    )
)]
pub async fn add_passkey_options(
    State(state): State<AppState>,
    me: SignedIn,
) -> Result<Json<CeremonyStarted>, Problem> {
    state.limits.action(&me.account.id)?;
    let existing: Vec<Vec<u8>> = state
        .store
        .credentials_of(&me.account.id)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    let handle: veche_passkey::UserHandle = me
        .account
        .id
        .as_slice()
        .try_into()
        .map_err(|_| Problem::internal("account id length"))?;
    let (options, ceremony) = state
        .identity
        .rp
        .start_registration(
            handle,
            &me.account.pseudonym,
            &me.account.pseudonym,
            &existing,
        )
        .map_err(passkey_problem)?;
    let ctx = json!({ "account_id": hex::encode(&me.account.id) });
    store_ceremony(&state, "add-passkey", &ceremony, ctx, options).await
}

/// `POST /api/v1/me/passkeys/finish`.
#[utoipa::path(
    post,
    path = "/api/v1/me/passkeys/finish",
    tag = "passkeys",
    summary = "Finish registering another passkey",
    request_body(content = FinishRequest, description = "The ceremony id and the credential's `toJSON()`"),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "The passkey was added", body = ref("#/components/schemas/PasskeyAdded")),
        (status = 400, description = "Not JSON (`/problems/invalid-json`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Missing or wrong CSRF token, or not allowed (`/problems/csrf`, `/problems/forbidden`)"),
        (status = 409, description = "Unknown or finished ceremony, or a conflict (`/problems/ceremony-unknown`, `/problems/already-claimed`, `/problems/code-used`, `/problems/duplicate-credential`)"),
        (status = 410, description = "The ceremony expired (`/problems/ceremony-expired`, `/problems/passkey-refused`)"),
        (status = 413, description = "Body over 256 KiB (`/problems/body-unreadable`)"),
        (status = 415, description = "Not `application/json` (`/problems/unsupported-media-type`)"),
        (status = 422, description = "Wrong shape, or the passkey response was refused (`/problems/invalid-body`, `/problems/passkey-refused` with `reason`)"),
    )
)]
pub async fn add_passkey_finish(
    State(state): State<AppState>,
    me: SignedIn,
    body: Result<Json<FinishRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let req = json_body(body)?;
    let Registered {
        credential,
        json: json_c,
        account_id,
        ..
    } = finish_registration_ceremony(&state, &req, "add-passkey").await?;
    if account_id != me.account.id {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "This ceremony belongs to another account.",
        ));
    }
    let count = state.store.credentials_of(&me.account.id).await?.len();
    let label = format!("passkey {}", count + 1);
    if !state
        .store
        .add_credential(
            &me.account.id,
            &credential.id,
            &json_c,
            u64::from(credential.sign_count),
            &label,
            now(),
        )
        .await?
    {
        return Err(duplicate_credential());
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": b64url(&credential.id), "label": label })),
    ))
}

/// The action a passkey revocation is consented to with.
fn revoke_action(account: &[u8], credential: &[u8]) -> Vec<u8> {
    format!(
        "veche/revoke-passkey/v1\naccount={}\ncredential={}",
        hex::encode(account),
        b64url(credential)
    )
    .into_bytes()
}

fn path_credential(id: Result<Path<String>, PathRejection>) -> Result<Vec<u8>, Problem> {
    let Path(id) = id.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    b64url_decode(&id)
        .map_err(|_| Problem::bad_request("invalid-path", "the passkey id is not base64url"))
}

/// `POST /api/v1/me/passkeys/{id}/revoke/options`: revoking a passkey is an
/// action confirmed with a passkey assertion whose challenge commits to it.
#[utoipa::path(
    post,
    path = "/api/v1/me/passkeys/{id}/revoke/options",
    tag = "passkeys",
    summary = "Start revoking a passkey (an action assertion)",
    params(("id" = String, Path, description = "The passkey id (base64url)")),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The ceremony id and the standard `PublicKeyCredential*OptionsJSON`", body = CeremonyStarted),
        (status = 400, description = "The id is not base64url (`/problems/invalid-path`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Missing or wrong CSRF token, or not allowed (`/problems/csrf`, `/problems/forbidden`)"),
        (status = 404, description = "No such passkey (`/problems/not-found`)"),
        (status = 429, description = "Rate limit hit (`/problems/rate-limited`)"),
    )
)]
pub async fn revoke_passkey_options(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<CeremonyStarted>, Problem> {
    state.limits.action(&me.account.id)?;
    let target = path_credential(id)?;
    let mine = state.store.credentials_of(&me.account.id).await?;
    if !mine.iter().any(|c| c.id == target) {
        return Err(Problem::not_found("You have no such passkey."));
    }
    let nonce = ActionChallenge::random_nonce();
    let challenge = ActionChallenge::new(&revoke_action(&me.account.id, &target), nonce);
    let allow: Vec<Vec<u8>> = mine.into_iter().map(|c| c.id).collect();
    let options = state.identity.rp.action_request_options(&challenge, &allow);
    let ctx = json!({
        "account_id": hex::encode(&me.account.id),
        "target": b64url(&target),
        "nonce": hex::encode(nonce),
    });
    let expires = now() + veche_passkey::CEREMONY_TIMEOUT_MS;
    store_raw_ceremony(&state, "revoke-passkey", Vec::new(), expires, ctx, options).await
}

/// `POST /api/v1/me/passkeys/{id}/revoke`: body `{ceremony, credential}`
/// (the action assertion). The last passkey cannot be revoked.
#[utoipa::path(
    post,
    path = "/api/v1/me/passkeys/{id}/revoke",
    tag = "passkeys",
    summary = "Revoke a passkey with the action assertion",
    params(("id" = String, Path, description = "The passkey id (base64url)")),
    request_body(content = FinishRequest, description = "The ceremony id and the credential's `toJSON()`"),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "A malformed path or body (`/problems/invalid-path`, `/problems/invalid-json`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Missing or wrong CSRF token, or not allowed (`/problems/csrf`, `/problems/forbidden`)"),
        (status = 404, description = "No such passkey (`/problems/not-found`)"),
        (status = 409, description = "The last passkey, or an unknown ceremony (`/problems/last-passkey`, `/problems/ceremony-unknown`)"),
        (status = 410, description = "The ceremony expired (`/problems/ceremony-expired`, `/problems/passkey-refused`)"),
        (status = 413, description = "Body over 256 KiB (`/problems/body-unreadable`)"),
        (status = 415, description = "Not `application/json` (`/problems/unsupported-media-type`)"),
        (status = 422, description = "Wrong shape, or the passkey response was refused (`/problems/invalid-body`, `/problems/passkey-refused` with `reason`)"),
    )
)]
pub async fn revoke_passkey(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<FinishRequest>, JsonRejection>,
) -> Result<StatusCode, Problem> {
    let target = path_credential(id)?;
    let req = json_body(body)?;
    let (_, ctx) = take_raw_ceremony(&state, &req.ceremony, "revoke-passkey").await?;
    if ctx_str(&ctx, "account_id")? != hex::encode(&me.account.id) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "This ceremony belongs to another account.",
        ));
    }
    let nonce: [u8; 32] = hex::decode(ctx_str(&ctx, "nonce")?)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| Problem::internal("bad nonce"))?;
    // The challenge is rebuilt from the action this request names: an
    // assertion given for another passkey (or another action) fails.
    let challenge = ActionChallenge::new(&revoke_action(&me.account.id, &target), nonce);
    verify_account_action(&state, &me, &challenge, &req.credential).await?;
    match state
        .store
        .revoke_credential(&me.account.id, &target, now())
        .await?
    {
        None => Err(Problem::not_found("You have no such passkey.")),
        Some(false) => Err(Problem::new(
            StatusCode::CONFLICT,
            "last-passkey",
            "Cannot revoke the last passkey",
            "This is your only passkey: add another one before revoking it.",
        )),
        Some(true) => Ok(StatusCode::NO_CONTENT),
    }
}

// ---- staff -----------------------------------------------------------------

/// How long a staff invite link stays valid when made from the web or API.
pub const INVITE_VALID_MS: u64 = 7 * 24 * 3600 * 1000;

pub const STAFF_ROLES: &[&str] = &["admin", "registrar", "moderator", "clerk", "organiser"];

/// Creates a staff invite; returns the one-time link.
pub async fn create_invite(
    state_store: &veche_store::Store,
    public_url: &str,
    role: &str,
    jurisdiction: Option<&str>,
    invited_by: Option<&[u8]>,
    valid_ms: u64,
) -> Result<String, Problem> {
    if !STAFF_ROLES.contains(&role) {
        return Err(Problem::unprocessable(
            "invalid-field",
            format!("role must be one of {}", STAFF_ROLES.join(", ")),
        ));
    }
    let id = random_token(9);
    let secret = random_token(32);
    state_store
        .insert_staff_invite(
            &StaffInviteRow {
                id: id.clone(),
                secret_hash: blake3::hash(secret.as_bytes()).to_hex().to_string(),
                role: role.into(),
                jurisdiction: jurisdiction.map(str::to_string),
                expires_ms: now() + valid_ms,
                used_ms: None,
            },
            invited_by,
            now(),
        )
        .await?;
    Ok(format!("{public_url}/staff/invite/{id}.{secret}"))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// One of admin, registrar, moderator, clerk, organiser.
    role: String,
    /// The jurisdiction a registrar or clerk acts for.
    jurisdiction: Option<String>,
}

/// `POST /api/v1/staff/invites` (administrators).
#[utoipa::path(
    post,
    path = "/api/v1/staff/invites",
    tag = "staff",
    summary = "Invite a staff member (administrators)",
    request_body = InviteRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "The one-time invite link", body = ref("#/components/schemas/InviteLink")),
        (status = 400, description = "Not JSON (`/problems/invalid-json`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Missing or wrong CSRF token, or not allowed (`/problems/csrf`, `/problems/forbidden`)"),
        (status = 413, description = "Body over 256 KiB (`/problems/body-unreadable`)"),
        (status = 415, description = "Not `application/json` (`/problems/unsupported-media-type`)"),
        (status = 422, description = "Wrong shape or unknown role (`/problems/invalid-body`, `/problems/invalid-field`)"),
    )
)]
pub async fn invite(
    State(state): State<AppState>,
    me: SignedIn,
    body: Result<Json<InviteRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    me.require_role(&["admin"])?;
    let req = json_body(body)?;
    let link = create_invite(
        &state.store,
        &state.public_url,
        &req.role,
        req.jurisdiction.as_deref(),
        Some(&me.account.id),
        INVITE_VALID_MS,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "link": link }))))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvite {
    /// `id.secret` from the invite link.
    invite: String,
}

/// `POST /api/v1/staff/invite/options`: checks the invite, starts passkey registration.
#[utoipa::path(
    post,
    path = "/api/v1/staff/invite/options",
    tag = "staff",
    summary = "Check a staff invite and start passkey registration",
    request_body = AcceptInvite,
    responses(
        (status = 200, description = "The ceremony id and the standard `PublicKeyCredential*OptionsJSON`", body = CeremonyStarted),
        (status = 400, description = "Not JSON (`/problems/invalid-json`)"),
        (status = 413, description = "Body over 256 KiB (`/problems/body-unreadable`)"),
        (status = 415, description = "Not `application/json` (`/problems/unsupported-media-type`)"),
        (status = 422, description = "The invite is not valid, was used or has expired (`/problems/invalid-invite`, `/problems/invalid-body`)"),
        (status = 429, description = "Rate limit hit (`/problems/rate-limited`)"),
    )
)]
pub async fn accept_invite_options(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<AcceptInvite>, JsonRejection>,
) -> Result<Json<CeremonyStarted>, Problem> {
    state
        .limits
        .enrol(state.limits.client_ip(addr.ip(), &headers))?;
    let req = json_body(body)?;
    let invalid = || {
        Problem::unprocessable(
            "invalid-invite",
            "This staff invite is not valid, was used, or has expired.",
        )
    };
    let (id, secret) = req.invite.split_once('.').ok_or_else(invalid)?;
    let row = state.store.staff_invite(id).await?.ok_or_else(invalid)?;
    let given = blake3::hash(secret.as_bytes()).to_hex();
    let stored = blake3::Hash::from_hex(&row.secret_hash).map_err(Problem::internal)?;
    if blake3::Hash::from_hex(given.as_str()).map_err(Problem::internal)? != stored
        || row.used_ms.is_some()
        || row.expires_ms <= now()
    {
        return Err(invalid());
    }
    let handle = new_user_handle();
    let name = pseudonym(&row.role);
    let (options, ceremony) = state
        .identity
        .rp
        .start_registration(handle, &name, &name, &[])
        .map_err(passkey_problem)?;
    let ctx = json!({ "invite_id": row.id, "account_id": hex::encode(handle), "pseudonym": name });
    store_ceremony(&state, "staff-invite", &ceremony, ctx, options).await
}

/// `POST /api/v1/staff/invite/finish`.
#[utoipa::path(
    post,
    path = "/api/v1/staff/invite/finish",
    tag = "staff",
    summary = "Verify the passkey and accept the staff invite",
    request_body(content = FinishRequest, description = "The ceremony id and the credential's `toJSON()`"),
    responses(
        (status = 201, description = "Staff account created and signed in; the session cookie is set", body = ref("#/components/schemas/SignedIn"), headers(("Set-Cookie" = String, description = "The `veche_session` cookie (HttpOnly, SameSite=Strict)"))),
        (status = 400, description = "Not JSON (`/problems/invalid-json`)"),
        (status = 409, description = "Unknown or finished ceremony (`/problems/ceremony-unknown`)"),
        (status = 410, description = "The ceremony expired (`/problems/ceremony-expired`, `/problems/passkey-refused`)"),
        (status = 413, description = "Body over 256 KiB (`/problems/body-unreadable`)"),
        (status = 415, description = "Not `application/json` (`/problems/unsupported-media-type`)"),
        (status = 422, description = "Passkey refused, or the invite was used (`/problems/passkey-refused`, `/problems/invalid-invite`, `/problems/invalid-body`)"),
    )
)]
pub async fn accept_invite_finish(
    State(state): State<AppState>,
    body: Result<Json<FinishRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let req = json_body(body)?;
    let Registered {
        credential,
        json: json_c,
        ctx,
        account_id,
    } = finish_registration_ceremony(&state, &req, "staff-invite").await?;
    if !state
        .store
        .accept_staff_invite(
            ctx_str(&ctx, "invite_id")?,
            &account_id,
            ctx_str(&ctx, "pseudonym")?,
            &credential.id,
            &json_c,
            u64::from(credential.sign_count),
            now(),
        )
        .await?
    {
        return Err(Problem::unprocessable(
            "invalid-invite",
            "This staff invite was used or has expired.",
        ));
    }
    signed_in_response(&state, StatusCode::CREATED, &account_id).await
}

/// `GET /api/v1/staff` (administrators): staff pseudonyms and roles.
#[utoipa::path(
    get,
    path = "/api/v1/staff",
    tag = "staff",
    summary = "Staff pseudonyms and roles (administrators)",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The staff", body = ref("#/components/schemas/StaffList")),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Not an administrator (`/problems/forbidden`)"),
    )
)]
pub async fn staff_list(
    State(state): State<AppState>,
    me: SignedIn,
) -> Result<Json<Value>, Problem> {
    me.require_role(&["admin"])?;
    let staff: Vec<Value> = state
        .store
        .staff_accounts()
        .await?
        .iter()
        .map(account_json)
        .collect();
    Ok(Json(json!({ "staff": staff })))
}

#[cfg(test)]
mod tests {
    use super::{STAFF_ROLES, pseudonym, pseudonym_from};
    use veche_entry::{Actor, StaffRole};

    /// Staff pseudonyms go into the log as `actor`s: every role the service
    /// hands out has a code there, and every pseudonym it generates for a
    /// role passes the log's pseudonym rule.
    #[test]
    fn staff_pseudonyms_are_valid_log_actors() {
        const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for role in STAFF_ROLES {
            let code = StaffRole::from_name(role).expect("a staff role has a log code");
            for chunk in ALPHABET.as_bytes().chunks(8) {
                let token = std::str::from_utf8(chunk).unwrap();
                let p = pseudonym_from(role, token);
                assert!(Actor::new(code, &p).validate("actor").is_ok(), "{p}");
            }
            for _ in 0..500 {
                let p = pseudonym(role);
                assert_eq!(p.len(), role.len() + 9, "{p}");
                assert!(p.starts_with(&format!("{role}-")), "{p}");
                assert!(Actor::new(code, &p).validate("actor").is_ok(), "{p}");
            }
        }
        assert_eq!(
            pseudonym_from("registrar", "Ab-_9zQ0"),
            "registrar-abxx9zq0"
        );
        assert_eq!(StaffRole::ALL.len(), STAFF_ROLES.len());
    }
}
