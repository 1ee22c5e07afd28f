//! Petitions over HTTP: filing, moderation, passkey signatures with
//! receipts, invalidation, the legislature's steps, withdrawal, closing,
//! and the public JSON/CSV views (`specs/petitions.md`).
//!
//! Every state change is one log entry, appended through the sequencer,
//! which checks it against `veche_state`'s rules inside its batch: a
//! refusal comes back as a problem and nothing is written. Reads come from
//! the state the sequencer folds from the log, plus the off-log texts.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use veche_entry::{
    Actor, CloseReason, ConsiderationScheduled, Date, Decision, Entry, PetitionAcknowledged,
    PetitionAnswered, PetitionClosed, PetitionFiled, PetitionOpened, PetitionRejected,
    PetitionRules, Signature, SignatureInvalidated, StaffRole, add_months_ms, format_timestamp_ms,
    validate,
};
use veche_passkey::ActionChallenge;
use veche_state::{
    Petition, PetitionStatus, RulesInForce, Violation, signature_action, threshold_signatures,
};
use veche_store::petitions::{PetitionContent, SignatureEvidence};
use veche_store::sequencer::Appended;
use veche_store::{Clock, PublishedCheckpoint, SystemClock, WithEntries, publish};

use crate::identity_api::{
    CeremonyStarted, FinishRequest, credential_use, json_body, start_action_ceremony,
    stored_credential, take_action_ceremony, verify_account_assertion,
};
use crate::log_api::{RECEIPT_FORMAT, Receipt, build_receipt};
use crate::problem::Problem;
pub(crate) use crate::rules::violation_problem;
use crate::rules::{field_problem, submit};
use crate::server::AppState;
use crate::session::SignedIn;

/// Longest title, in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// Longest text, in characters.
pub const TEXT_MAX_CHARS: usize = 10_000;
/// Most attachments per petition.
pub const ATTACHMENTS_MAX: usize = 10;
/// Largest attachment, in bytes.
pub const ATTACHMENT_MAX_BYTES: usize = 5 * 1024 * 1024;

fn now() -> u64 {
    SystemClock.now_ms()
}

/// The nullifier key: keyed BLAKE3 for per-petition nullifiers and author
/// pseudonyms. Never leaves the server (not in the log, logs or errors).
#[derive(Clone)]
pub struct NullifierKey(Arc<[u8; 32]>);

impl NullifierKey {
    pub fn new(key: [u8; 32]) -> Self {
        Self(Arc::new(key))
    }

    fn keyed(&self, domain: &str, parts: &[&[u8]]) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        h.update(domain.as_bytes());
        for p in parts {
            h.update(&(p.len() as u64).to_be_bytes());
            h.update(p);
        }
        *h.finalize().as_bytes()
    }

    /// The signer's nullifier on petition `id`: the same for the same roll
    /// record, unlinkable across petitions without the key.
    pub fn signature(&self, petition: u64, jurisdiction: &str, record_id: &str) -> [u8; 32] {
        self.keyed(
            "veche nullifier v1\npetition\n",
            &[
                &petition.to_be_bytes(),
                jurisdiction.as_bytes(),
                record_id.as_bytes(),
            ],
        )
    }

    /// The voter's nullifier in poll `poll` (`specs/polls.md`): the
    /// signature construction under the scope `poll`, so a resident's poll
    /// and petition nullifiers never coincide.
    pub fn poll(&self, poll: u64, jurisdiction: &str, record_id: &str) -> [u8; 32] {
        self.keyed(
            "veche nullifier v1\npoll\n",
            &[
                &poll.to_be_bytes(),
                jurisdiction.as_bytes(),
                record_id.as_bytes(),
            ],
        )
    }

    /// The voter's nullifier in PB round `round` (`specs/pb-rounds.md`):
    /// the same construction under the scope `pb`.
    pub fn pb(&self, round: u64, jurisdiction: &str, record_id: &str) -> [u8; 32] {
        self.keyed(
            "veche nullifier v1\npb\n",
            &[
                &round.to_be_bytes(),
                jurisdiction.as_bytes(),
                record_id.as_bytes(),
            ],
        )
    }

    /// A project author's pseudonym in PB round `round`: its own scope
    /// `pb-author`, so that it never equals the author's ballot nullifier
    /// in the same round (which would publish how proposers voted).
    pub fn pb_author(&self, round: u64, jurisdiction: &str, record_id: &str) -> [u8; 32] {
        self.keyed(
            "veche nullifier v1\npb-author\n",
            &[
                &round.to_be_bytes(),
                jurisdiction.as_bytes(),
                record_id.as_bytes(),
            ],
        )
    }

    /// The author's pseudonym on a petition with content `content`.
    pub fn author(&self, content: &[u8; 32], jurisdiction: &str, record_id: &str) -> [u8; 32] {
        self.keyed(
            "veche nullifier v1\nauthor\n",
            &[content, jurisdiction.as_bytes(), record_id.as_bytes()],
        )
    }
}

impl std::fmt::Debug for NullifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NullifierKey(…)")
    }
}

/// BLAKE3 of a petition's content document (`specs/petitions.md`):
/// derive_key("veche petition content v1", u64 len ‖ title ‖ u64 len ‖ text
/// ‖ u64 count ‖ attachment hashes).
pub fn content_hash(title: &str, text: &str, attachments: &[[u8; 32]]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("veche petition content v1");
    h.update(&(title.len() as u64).to_be_bytes());
    h.update(title.as_bytes());
    h.update(&(text.len() as u64).to_be_bytes());
    h.update(text.as_bytes());
    h.update(&(attachments.len() as u64).to_be_bytes());
    for a in attachments {
        h.update(a);
    }
    *h.finalize().as_bytes()
}

fn petition_path(id: Result<Path<u64>, PathRejection>) -> Result<u64, Problem> {
    id.map(|Path(id)| id)
        .map_err(|e| Problem::bad_request("invalid-path", e.body_text()))
}

/// Runs `f` on one petition under the shared state's read lock, without
/// copying it (a petition holds every signer's nullifier, so a copy costs
/// O(signatures); the signing path must not pay that per signature).
fn with_petition<T>(
    state: &AppState,
    id: u64,
    f: impl FnOnce(&Petition) -> Result<T, Problem>,
) -> Result<T, Problem> {
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    let p = st
        .petition(id)
        .ok_or_else(|| Problem::not_found(format!("There is no petition {id}.")))?;
    f(p)
}

/// A snapshot of one petition from the shared state.
fn petition_snapshot(state: &AppState, id: u64) -> Result<Petition, Problem> {
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    st.petition(id)
        .cloned()
        .ok_or_else(|| Problem::not_found(format!("There is no petition {id}.")))
}

fn citizen(me: &SignedIn) -> Result<(&str, &str), Problem> {
    enrolled_citizen(
        me,
        "This needs the passkey of a citizen enrolled in a jurisdiction's roll.",
    )
}

/// The signed-in citizen's jurisdiction and roll record; anyone else is
/// refused as `citizens-only` with `detail`.
pub(crate) fn enrolled_citizen<'a>(
    me: &'a SignedIn,
    detail: &'static str,
) -> Result<(&'a str, &'a str), Problem> {
    match (
        &me.account.kind[..],
        &me.account.jurisdiction,
        &me.account.record_id,
    ) {
        ("citizen", Some(j), Some(r)) => Ok((j, r)),
        _ => Err(Problem::new(
            StatusCode::FORBIDDEN,
            "citizens-only",
            "Only enrolled citizens can do this",
            detail,
        )),
    }
}

/// The staff member as an entry's actor, after checking the role and, for
/// staff bound to a jurisdiction, that it is the petition's.
fn actor(me: &SignedIn, role: StaffRole, jurisdiction: &str) -> Result<Actor, Problem> {
    staff_actor(me, role, jurisdiction, "this petition")
}

/// The staff member as an entry's actor: the role is checked here for a
/// precise answer (and again by the log's rules), and staff bound to a
/// jurisdiction act for that jurisdiction only (`subject` names what they
/// act on, for the refusal's detail).
pub(crate) fn staff_actor(
    me: &SignedIn,
    role: StaffRole,
    jurisdiction: &str,
    subject: &str,
) -> Result<Actor, Problem> {
    me.require_role(&[role.name()])?;
    if let Some(j) = &me.account.jurisdiction
        && j != jurisdiction
        && me.account.role.as_deref() != Some("admin")
    {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            format!("You act for {j}; {subject} belongs to {jurisdiction}."),
        ));
    }
    let role = me
        .account
        .role
        .as_deref()
        .and_then(StaffRole::from_name)
        .unwrap_or(role);
    Ok(Actor::new(role, me.account.pseudonym.clone()))
}

fn hex32(s: &str, field: &str) -> Result<[u8; 32], Problem> {
    let bytes = hex::decode(s)
        .ok()
        .filter(|b| b.len() == 32 && s.bytes().all(|c| !c.is_ascii_uppercase()));
    bytes.and_then(|b| b.try_into().ok()).ok_or_else(|| {
        Problem::unprocessable(
            "invalid-field",
            format!("{field}: expected 64 lowercase hex digits, got {s:?}"),
        )
        .with_field(field.to_string())
    })
}

// ---- filing -----------------------------------------------------------------

/// `POST /api/v1/petitions` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRequest {
    /// The jurisdiction (must be the citizen's own; default: it).
    pub jurisdiction: Option<String>,
    /// One line, 1..=200 characters.
    pub title: String,
    /// 1..=10000 characters; line breaks allowed.
    pub text: String,
    /// BLAKE3 hashes (hex) of uploaded attachments, at most 10.
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// The answer to an append: the entry, its receipt, and what followed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Appended201 {
    /// The petition.
    pub petition: u64,
    /// Log index of the new entry.
    pub index: u64,
    /// The entry's receipt (`specs/receipts.md`).
    pub receipt: Receipt,
    /// Log index of the `threshold_reached` entry this signature caused, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_entry: Option<u64>,
    /// Valid signatures now (for signatures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_signatures: Option<u64>,
}

async fn appended_response(
    state: &AppState,
    petition: u64,
    appended: Appended,
) -> Result<Response, Problem> {
    let receipt = build_receipt(state, appended.first, Duration::from_secs(5)).await?;
    let body = Appended201 {
        petition,
        index: appended.first,
        receipt,
        threshold_entry: appended.follow_ups.first().map(|(i, _)| *i),
        valid_signatures: None,
    };
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            HeaderValue::from_str(&format!("/api/v1/petitions/{petition}"))
                .map_err(Problem::internal)?,
        )],
        Json(body),
    )
        .into_response())
}

/// `POST /api/v1/petitions`: a citizen files a petition; it waits for moderation.
#[utoipa::path(
    post,
    path = "/api/v1/petitions",
    operation_id = "file_petition",
    tag = "petitions",
    summary = "File a petition",
    request_body = FileRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "Filed; its id is the entry's log index", body = Appended201),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Not a citizen, another jurisdiction, or CSRF (`/problems/citizens-only`, `/problems/forbidden`, `/problems/csrf`)"),
        (status = 422, description = "A field breaks its rule (`/problems/invalid-field`, `/problems/unknown-attachment`)"),
    )
)]
pub async fn file(
    State(state): State<AppState>,
    me: SignedIn,
    body: Result<Json<FileRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let req = json_body(body)?;
    let (jurisdiction, record) = citizen(&me)?;
    state.limits.action(&me.account.id)?;
    if let Some(j) = &req.jurisdiction
        && j != jurisdiction
    {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            format!(
                "You are enrolled in {jurisdiction}, so you can file petitions there only, not in {j}."
            ),
        ));
    }
    let title = req.title.trim();
    let text = req.text.trim().replace("\r\n", "\n");
    validate::line("title", title, 1, TITLE_MAX_CHARS).map_err(field_problem)?;
    validate::multiline("text", &text, 1, TEXT_MAX_CHARS).map_err(field_problem)?;
    if req.attachments.len() > ATTACHMENTS_MAX {
        return Err(Problem::unprocessable(
            "invalid-field",
            format!(
                "attachments: at most {ATTACHMENTS_MAX}, got {}",
                req.attachments.len()
            ),
        )
        .with_field("attachments"));
    }
    let attachments = req
        .attachments
        .iter()
        .map(|a| hex32(a, "attachments"))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(missing) = state.store.missing_attachment(&attachments).await? {
        return Err(Problem::unprocessable(
            "unknown-attachment",
            format!(
                "no attachment {} was uploaded; POST it to /api/v1/attachments first",
                hex::encode(missing)
            ),
        ));
    }
    let content = content_hash(title, &text, &attachments);
    state
        .store
        .put_petition_content(&PetitionContent {
            hash: content,
            title: title.to_owned(),
            body: text,
            attachments,
            created_ms: now(),
        })
        .await?;
    let entry = Entry::new(
        now(),
        PetitionFiled {
            jurisdiction: jurisdiction.to_owned(),
            content,
            author: state.nullifiers.author(&content, jurisdiction, record),
        },
    );
    let appended = submit(&state, vec![entry], true).await?;
    let id = appended.first;
    appended_response(&state, id, appended).await
}

// ---- moderation ---------------------------------------------------------------

/// `POST /api/v1/petitions/{id}/moderation` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModerationRequest {
    /// `open` or `reject`.
    pub decision: String,
    /// For `reject`: the number of the published moderation rule applied.
    pub rule: Option<u16>,
    /// For `reject`: the public reason.
    pub reason: Option<String>,
    /// For `reject`: withhold the text (the reason stays public).
    #[serde(default)]
    pub hide_text: bool,
}

/// The published moderation rules (numbered; `specs/petitions.md`).
pub const MODERATION_RULES: &[(u16, &str, &str)] = &[
    (
        1,
        "Не относится к полномочиям законодательного органа юрисдикции",
        "Outside the powers of the jurisdiction's legislature",
    ),
    (
        2,
        "Содержит призывы к насилию или иное противоправное содержание",
        "Calls for violence or other unlawful content",
    ),
    (
        3,
        "Оскорбления или нецензурная лексика",
        "Insults or obscene language",
    ),
    (
        4,
        "Персональные данные третьих лиц",
        "Personal data of third parties",
    ),
    (
        5,
        "Повторяет открытую петицию",
        "Duplicates an open petition",
    ),
    (
        6,
        "Непонятно, чего добивается петиция",
        "Unclear what the petition asks for",
    ),
    (7, "Реклама или спам", "Advertising or spam"),
];

/// `POST /api/v1/petitions/{id}/moderation`: a moderator opens or rejects.
#[utoipa::path(
    post,
    path = "/api/v1/petitions/{id}/moderation",
    tag = "petitions",
    summary = "Open or reject a filed petition",
    params(("id" = u64, Path, description = "The petition")),
    request_body = ModerationRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 400, description = "The path is malformed (`/problems/invalid-path`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 201, description = "The decision's entry and receipt", body = Appended201),
        (status = 403, description = "Not a moderator (`/problems/forbidden`)"),
        (status = 404, description = "No such petition (`/problems/not-found`)"),
        (status = 409, description = "Already moderated (`/problems/already-moderated`)"),
        (status = 422, description = "A field breaks its rule (`/problems/invalid-field`)"),
    )
)]
pub async fn moderate(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<u64>, PathRejection>,
    body: Result<Json<ModerationRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let id = petition_path(id)?;
    let req = json_body(body)?;
    let p = petition_snapshot(&state, id)?;
    let actor = actor(&me, StaffRole::Moderator, &p.jurisdiction)?;
    let at = now();
    let entry = match req.decision.as_str() {
        "open" => {
            let (population, months) = {
                let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
                let j = st.jurisdictions.get(&p.jurisdiction).ok_or_else(|| {
                    Problem::internal(format!("jurisdiction {} vanished", p.jurisdiction))
                })?;
                (j.current.population, st.rules(&p.jurisdiction).open_months)
            };
            let closes_at_ms = add_months_ms(at, months.into())
                .ok_or_else(|| Problem::internal("closing date out of range"))?;
            Entry::new(
                at,
                PetitionOpened {
                    petition: id,
                    jurisdiction: p.jurisdiction.clone(),
                    content: p.content,
                    population,
                    closes_at_ms,
                    actor,
                },
            )
        }
        "reject" => {
            let rule = req.rule.ok_or_else(|| {
                Problem::unprocessable("invalid-field", "rule: required to reject")
                    .with_field("rule")
            })?;
            if !MODERATION_RULES.iter().any(|&(n, _, _)| n == rule) {
                return Err(Problem::unprocessable(
                    "invalid-field",
                    format!("rule: no published moderation rule {rule} (see /petitions/rules)"),
                )
                .with_field("rule"));
            }
            let reason = req
                .reason
                .as_deref()
                .unwrap_or("")
                .trim()
                .replace("\r\n", "\n");
            Entry::new(
                at,
                PetitionRejected {
                    petition: id,
                    rule,
                    reason,
                    text_hidden: req.hide_text,
                    actor,
                },
            )
        }
        other => {
            return Err(Problem::unprocessable(
                "invalid-field",
                format!("decision: expected \"open\" or \"reject\", got {other:?}"),
            )
            .with_field("decision"));
        }
    };
    entry.validate().map_err(field_problem)?;
    let appended = submit(&state, vec![entry], true).await?;
    appended_response(&state, id, appended).await
}

// ---- signing --------------------------------------------------------------------

/// `POST /api/v1/petitions/{id}/signatures/options`: the passkey request
/// whose challenge commits to signing this petition's exact content.
#[utoipa::path(
    post,
    path = "/api/v1/petitions/{id}/signatures/options",
    tag = "petitions",
    summary = "Start signing: the action-bound passkey request",
    params(("id" = u64, Path, description = "The petition")),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 400, description = "The path is malformed (`/problems/invalid-path`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 200, description = "The ceremony id and `PublicKeyCredentialRequestOptionsJSON`", body = CeremonyStarted),
        (status = 403, description = "Not a citizen of the petition's jurisdiction (`/problems/citizens-only`, `/problems/wrong-jurisdiction`)"),
        (status = 404, description = "No such petition (`/problems/not-found`)"),
        (status = 409, description = "Not open, or already signed (`/problems/petition-not-open`, `/problems/duplicate-signature`)"),
        (status = 429, description = "Rate limit hit (`/problems/rate-limited`)"),
    )
)]
pub async fn sign_options(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<CeremonyStarted>, Problem> {
    let id = petition_path(id)?;
    let (jurisdiction, record) = citizen(&me)?;
    state.limits.action(&me.account.id)?;
    let content = with_petition(&state, id, |p| {
        check_can_sign(&state, p, jurisdiction, record)?;
        Ok(p.content)
    })?;
    start_action_ceremony(
        &state,
        &me,
        "sign-petition",
        &signature_action(id, &content),
        json!({ "petition": id }),
    )
    .await
}

fn check_can_sign(
    state: &AppState,
    p: &Petition,
    jurisdiction: &str,
    record: &str,
) -> Result<(), Problem> {
    if p.jurisdiction != jurisdiction {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "wrong-jurisdiction",
            "Not your jurisdiction",
            format!(
                "Petition {} is addressed to {}; you are enrolled in {jurisdiction}.",
                p.id, p.jurisdiction
            ),
        ));
    }
    if !p.open_at(now()) {
        return Err(violation_problem(Violation {
            code: "petition-not-open",
            message: format!(
                "Petition {} is {} and not open for signatures.",
                p.id,
                p.status.name()
            ),
        }));
    }
    let nullifier = state.nullifiers.signature(p.id, jurisdiction, record);
    if let Some(i) = p.signature_of(&nullifier) {
        return Err(violation_problem(Violation {
            code: "duplicate-signature",
            message: format!("You already signed petition {} (entry {i}).", p.id),
        })
        .with("signature_entry", i));
    }
    Ok(())
}

/// `POST /api/v1/petitions/{id}/signatures`: verifies the action assertion
/// and appends the signature; answers with its receipt at once.
#[utoipa::path(
    post,
    path = "/api/v1/petitions/{id}/signatures",
    tag = "petitions",
    summary = "Sign with the passkey assertion; get the receipt",
    params(("id" = u64, Path, description = "The petition")),
    request_body(content = FinishRequest, description = "The ceremony id and the credential's `toJSON()`"),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 400, description = "The path is malformed (`/problems/invalid-path`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 201, description = "Signed: the signature entry's receipt", body = Appended201),
        (status = 403, description = "Not a citizen of the jurisdiction, or the ceremony is another account's (`/problems/forbidden`)"),
        (status = 404, description = "No such petition (`/problems/not-found`)"),
        (status = 409, description = "Not open, already signed, or the ceremony is unknown (`/problems/petition-not-open`, `/problems/duplicate-signature`, `/problems/ceremony-unknown`)"),
        (status = 410, description = "The ceremony expired (`/problems/ceremony-expired`)"),
        (status = 422, description = "The assertion is refused (`/problems/passkey-refused`)"),
    )
)]
pub async fn sign(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<u64>, PathRejection>,
    body: Result<Json<FinishRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let id = petition_path(id)?;
    let req = json_body(body)?;
    let (jurisdiction, record) = citizen(&me)?;
    let (_, nonce) =
        take_action_ceremony(&state, &me, &req.ceremony, "sign-petition", "petition", id).await?;
    let content = with_petition(&state, id, |p| {
        check_can_sign(&state, p, jurisdiction, record)?;
        Ok(p.content)
    })?;
    let challenge = ActionChallenge::new(&signature_action(id, &content), nonce);
    let verified = verify_account_assertion(&state, &me, &challenge, &req.credential).await?;
    let commitment = verified.evidence.commitment();
    let at = now();
    let entry = Entry::new(
        at,
        Signature {
            petition: id,
            nullifier: state.nullifiers.signature(id, jurisdiction, record),
            assertion: commitment,
        },
    )
    .encode()
    .map_err(|err| Problem::unprocessable("invalid-entry", err.to_string()))?;
    // The counter, the evidence and the entry commit together in the
    // sequencer's batch (one fsync for the batch, none per signature); the
    // sequencer re-checks the counter under the batch's lock.
    let with = WithEntries {
        credential_use: Some(credential_use(&verified, at)),
        evidence: Some(SignatureEvidence {
            commitment,
            petition: id,
            nonce,
            credential_id: verified.credential_id.clone(),
            evidence: verified.evidence.encode(),
            created_ms: at,
        }),
    };
    let appended = state
        .log
        .submit_with(vec![entry.clone()], true, with)
        .await?;
    if !appended.follow_ups.is_empty() {
        state.webhooks.wake();
    }
    let valid = with_petition(&state, id, |p| Ok(p.valid_signatures))?;
    let receipt = match &appended.checkpoint {
        Some(cp) => fresh_receipt(&state, appended.first, &entry, cp).await?,
        None => build_receipt(&state, appended.first, Duration::from_secs(5)).await?,
    };
    Ok((
        StatusCode::CREATED,
        Json(Appended201 {
            petition: id,
            index: appended.first,
            receipt,
            threshold_entry: appended.follow_ups.first().map(|(i, _)| *i),
            valid_signatures: Some(valid),
        }),
    )
        .into_response())
}

/// The receipt of an entry this request just appended, against the
/// checkpoint signed with its batch: the entry and the checkpoint are at
/// hand and the proof's tiles are the ones the batch wrote, so nothing is
/// read back from the database (`log_api::build_receipt` is the general
/// path, for any entry).
async fn fresh_receipt(
    state: &AppState,
    index: u64,
    entry: &[u8],
    checkpoint: &PublishedCheckpoint,
) -> Result<Receipt, Problem> {
    let proof = publish::fresh_inclusion_proof(&state.store, index, checkpoint.size).await?;
    Ok(Receipt {
        format: RECEIPT_FORMAT.into(),
        origin: state.origin.to_string(),
        index,
        leaf_hash: veche_log::leaf_hash(entry).to_base64(),
        entry: base64::engine::general_purpose::STANDARD.encode(entry),
        tree_size: checkpoint.size,
        inclusion_proof: proof.iter().map(|h| h.to_base64()).collect(),
        checkpoint: checkpoint.note.clone(),
    })
}

/// `POST /api/v1/petitions/{id}/signatures/{index}/invalidation` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// The public reason, 1..=2000 characters.
    pub reason: String,
}

/// `POST /api/v1/petitions/{id}/signatures/{index}/invalidation`: a
/// moderator strikes a signature with a reason.
#[utoipa::path(
    post,
    path = "/api/v1/petitions/{id}/signatures/{index}/invalidation",
    tag = "petitions",
    summary = "Invalidate a signature (moderator)",
    params(("id" = u64, Path, description = "The petition"), ("index" = u64, Path, description = "The signature's log index")),
    request_body = ReasonRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 400, description = "The path is malformed (`/problems/invalid-path`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 201, description = "The invalidation's entry and receipt", body = Appended201),
        (status = 403, description = "Not a moderator (`/problems/forbidden`)"),
        (status = 404, description = "No such petition or signature (`/problems/not-found`, `/problems/unknown-signature`)"),
        (status = 409, description = "Already invalidated (`/problems/already-invalidated`)"),
        (status = 422, description = "The reason breaks its rule (`/problems/invalid-field`)"),
    )
)]
pub async fn invalidate(
    State(state): State<AppState>,
    me: SignedIn,
    path: Result<Path<(u64, u64)>, PathRejection>,
    body: Result<Json<ReasonRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let Path((id, index)) =
        path.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    let req = json_body(body)?;
    let p = petition_snapshot(&state, id)?;
    let actor = actor(&me, StaffRole::Moderator, &p.jurisdiction)?;
    let entry = Entry::new(
        now(),
        SignatureInvalidated {
            petition: id,
            signature: index,
            reason: req.reason.trim().replace("\r\n", "\n"),
            actor,
        },
    );
    entry.validate().map_err(field_problem)?;
    let appended = submit(&state, vec![entry], true).await?;
    appended_response(&state, id, appended).await
}

// ---- the legislature ----------------------------------------------------------------

/// `POST /api/v1/petitions/{id}/acknowledgement`: a clerk confirms receipt.
#[utoipa::path(
    post,
    path = "/api/v1/petitions/{id}/acknowledgement",
    tag = "legislature",
    summary = "Acknowledge receipt (clerk)",
    params(("id" = u64, Path, description = "The petition")),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 400, description = "The path is malformed (`/problems/invalid-path`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 201, description = "The acknowledgement's entry and receipt", body = Appended201),
        (status = 403, description = "Not a clerk of the petition's legislature (`/problems/forbidden`)"),
        (status = 404, description = "No such petition (`/problems/not-found`)"),
        (status = 409, description = "Threshold not reached or already acknowledged (`/problems/threshold-not-reached`, `/problems/already-acknowledged`)"),
    )
)]
pub async fn acknowledge(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Response, Problem> {
    let id = petition_path(id)?;
    let p = petition_snapshot(&state, id)?;
    let actor = actor(&me, StaffRole::Clerk, &p.jurisdiction)?;
    let appended = submit(
        &state,
        vec![Entry::new(
            now(),
            PetitionAcknowledged {
                petition: id,
                actor,
            },
        )],
        true,
    )
    .await?;
    appended_response(&state, id, appended).await
}

/// `POST /api/v1/petitions/{id}/consideration` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// The consideration date, `YYYY-MM-DD`.
    #[schema(value_type = String, format = Date)]
    pub date: Date,
}

/// `POST /api/v1/petitions/{id}/consideration`: sets the consideration date.
#[utoipa::path(
    post,
    path = "/api/v1/petitions/{id}/consideration",
    tag = "legislature",
    summary = "Set the consideration date (clerk)",
    params(("id" = u64, Path, description = "The petition")),
    request_body = ScheduleRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 400, description = "The path is malformed (`/problems/invalid-path`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 201, description = "The entry and its receipt", body = Appended201),
        (status = 403, description = "Not a clerk of the petition's legislature (`/problems/forbidden`)"),
        (status = 404, description = "No such petition (`/problems/not-found`)"),
        (status = 409, description = "Not acknowledged yet, or finally answered (`/problems/not-acknowledged`, `/problems/already-answered`)"),
        (status = 422, description = "Bad date (`/problems/invalid-body`)"),
    )
)]
pub async fn schedule(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<u64>, PathRejection>,
    body: Result<Json<ScheduleRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let id = petition_path(id)?;
    let req = json_body(body)?;
    let p = petition_snapshot(&state, id)?;
    let actor = actor(&me, StaffRole::Clerk, &p.jurisdiction)?;
    let entry = Entry::new(
        now(),
        ConsiderationScheduled {
            petition: id,
            date: req.date,
            actor,
        },
    );
    let appended = submit(&state, vec![entry], true).await?;
    appended_response(&state, id, appended).await
}

/// `POST /api/v1/petitions/{id}/answers` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// `solved`, `deadline_set` or `refused`.
    pub decision: String,
    /// For `deadline_set`: the date by which it will be resolved.
    #[schema(value_type = Option<String>, format = Date)]
    pub deadline: Option<Date>,
    /// The answer (required for a refusal: the motivation).
    #[serde(default)]
    pub text: String,
    /// BLAKE3 (hex) of an uploaded document (the official decision).
    pub document: Option<String>,
}

/// `POST /api/v1/petitions/{id}/answers`: publishes the legislature's decision.
#[utoipa::path(
    post,
    path = "/api/v1/petitions/{id}/answers",
    tag = "legislature",
    summary = "Publish the decision (clerk)",
    params(("id" = u64, Path, description = "The petition")),
    request_body = AnswerRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 400, description = "The path is malformed (`/problems/invalid-path`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 201, description = "The answer's entry and receipt", body = Appended201),
        (status = 403, description = "Not a clerk of the petition's legislature (`/problems/forbidden`)"),
        (status = 404, description = "No such petition (`/problems/not-found`)"),
        (status = 409, description = "Not acknowledged yet, or already finally answered (`/problems/not-acknowledged`, `/problems/already-answered`)"),
        (status = 422, description = "A field breaks its rule (`/problems/invalid-field`, `/problems/deadline-in-past`, `/problems/unknown-attachment`)"),
    )
)]
pub async fn answer(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<u64>, PathRejection>,
    body: Result<Json<AnswerRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let id = petition_path(id)?;
    let req = json_body(body)?;
    let p = petition_snapshot(&state, id)?;
    let actor = actor(&me, StaffRole::Clerk, &p.jurisdiction)?;
    let decision = match req.decision.as_str() {
        "solved" => Decision::Solved,
        "deadline_set" => Decision::DeadlineSet,
        "refused" => Decision::Refused,
        other => {
            return Err(Problem::unprocessable(
                "invalid-field",
                format!("decision: expected solved, deadline_set or refused, got {other:?}"),
            )
            .with_field("decision"));
        }
    };
    let document = req
        .document
        .as_deref()
        .map(|d| hex32(d, "document"))
        .transpose()?;
    if let Some(d) = document
        && state.store.missing_attachment(&[d]).await?.is_some()
    {
        return Err(Problem::unprocessable(
            "unknown-attachment",
            format!(
                "no document {} was uploaded; POST it to /api/v1/attachments first",
                hex::encode(d)
            ),
        ));
    }
    let entry = Entry::new(
        now(),
        PetitionAnswered {
            petition: id,
            decision,
            deadline: req.deadline,
            text: req.text.trim().replace("\r\n", "\n"),
            document,
            actor,
        },
    );
    entry.validate().map_err(field_problem)?;
    let appended = submit(&state, vec![entry], true).await?;
    appended_response(&state, id, appended).await
}

/// `PUT /api/v1/jurisdictions/{id}/petition-rules` body: the periods of a
/// jurisdiction's petitions. They bind petitions opened (closing date) or
/// reaching the threshold (deadlines) after the rules' entry; earlier ones
/// keep the periods fixed in their own entries.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PetitionRulesRequest {
    /// Calendar months a petition stays open for signatures, 1..=24.
    pub open_months: u8,
    /// Days the legislature has to acknowledge a delivered petition, 1..=365.
    pub acknowledge_days: u16,
    /// Days the legislature has to publish its decision, 1..=730.
    pub answer_days: u16,
}

/// The petition rules in force in a jurisdiction.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PetitionRulesView {
    /// The jurisdiction.
    pub jurisdiction: String,
    /// Calendar months a petition stays open for signatures.
    pub open_months: u8,
    /// Days the legislature has to acknowledge a delivered petition.
    pub acknowledge_days: u16,
    /// Days the legislature has to publish its decision.
    pub answer_days: u16,
    /// Log index of the `petition_rules` entry in force; `null` while the
    /// defaults (6 months, 3 days, 30 days) apply.
    pub index: Option<u64>,
    /// The receipt of the entry just written (only in a `PUT`'s answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

fn rules_view(jurisdiction: &str, r: RulesInForce, receipt: Option<Receipt>) -> PetitionRulesView {
    PetitionRulesView {
        jurisdiction: jurisdiction.to_string(),
        open_months: r.open_months,
        acknowledge_days: r.acknowledge_days,
        answer_days: r.answer_days,
        index: r.index,
        receipt,
    }
}

fn declared_jurisdiction(
    state: &AppState,
    id: Result<Path<String>, PathRejection>,
) -> Result<(String, RulesInForce), Problem> {
    let Path(id) = id.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    let st = state.log.state().read().unwrap_or_else(|e| e.into_inner());
    if st.jurisdictions.get(&id).is_none() {
        return Err(Problem::not_found(format!(
            "No jurisdiction {id:?} is declared."
        )));
    }
    let rules = st.rules(&id);
    Ok((id, rules))
}

/// `GET /api/v1/jurisdictions/{id}/petition-rules`: the periods in force.
#[utoipa::path(
    get,
    path = "/api/v1/jurisdictions/{id}/petition-rules",
    tag = "petitions",
    summary = "The petition periods in force in a jurisdiction",
    params(("id" = String, Path, description = "The jurisdiction")),
    responses(
        (status = 200, description = "The rules in force", body = PetitionRulesView),
        (status = 404, description = "No such jurisdiction (`/problems/not-found`)"),
    )
)]
pub async fn petition_rules(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let (id, rules) = declared_jurisdiction(&state, id)?;
    Ok(Json(rules_view(&id, rules, None)).into_response())
}

/// `PUT /api/v1/jurisdictions/{id}/petition-rules`: a registrar of the
/// jurisdiction (or an administrator) sets its petition periods; the
/// change is a `petition_rules` entry in the log.
#[utoipa::path(
    put,
    path = "/api/v1/jurisdictions/{id}/petition-rules",
    tag = "petitions",
    summary = "Set a jurisdiction's petition periods (registrar or administrator)",
    params(("id" = String, Path, description = "The jurisdiction")),
    request_body = PetitionRulesRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "The rules now in force, with the entry's receipt", body = PetitionRulesView),
        (status = 400, description = "The path or body is malformed (`/problems/invalid-path`, `/problems/invalid-json`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Not a registrar of this jurisdiction nor an administrator (`/problems/forbidden`)"),
        (status = 404, description = "No such jurisdiction (`/problems/not-found`)"),
        (status = 422, description = "A period is out of range (`/problems/invalid-field`)"),
    )
)]
pub async fn set_petition_rules(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<PetitionRulesRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let (id, _) = declared_jurisdiction(&state, id)?;
    let actor = actor(&me, StaffRole::Registrar, &id)?;
    let req = json_body(body)?;
    let entry = Entry::new(
        now(),
        PetitionRules {
            jurisdiction: id.clone(),
            open_months: req.open_months,
            acknowledge_days: req.acknowledge_days,
            answer_days: req.answer_days,
            actor,
        },
    );
    entry.validate().map_err(field_problem)?;
    let appended = submit(&state, vec![entry], true).await?;
    let receipt = build_receipt(&state, appended.first, Duration::from_secs(5)).await?;
    let rules = {
        let st = state.log.state().read().unwrap_or_else(|e| e.into_inner());
        st.rules(&id)
    };
    Ok((
        StatusCode::CREATED,
        Json(rules_view(&id, rules, Some(receipt))),
    )
        .into_response())
}

/// `POST /api/v1/petitions/{id}/withdrawal`: the author withdraws the
/// petition (only before its threshold).
#[utoipa::path(
    post,
    path = "/api/v1/petitions/{id}/withdrawal",
    tag = "petitions",
    summary = "Withdraw your petition (author, before the threshold)",
    params(("id" = u64, Path, description = "The petition")),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 400, description = "The path is malformed (`/problems/invalid-path`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 201, description = "The closing entry and its receipt", body = Appended201),
        (status = 403, description = "Not the author (`/problems/not-author`)"),
        (status = 404, description = "No such petition (`/problems/not-found`)"),
        (status = 409, description = "Not open, or past the threshold (`/problems/petition-not-open`, `/problems/withdraw-after-threshold`)"),
    )
)]
pub async fn withdraw(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Response, Problem> {
    let id = petition_path(id)?;
    let (jurisdiction, record) = citizen(&me)?;
    let p = petition_snapshot(&state, id)?;
    if state.nullifiers.author(&p.content, jurisdiction, record) != p.author {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "not-author",
            "Only the author can withdraw",
            format!("You did not file petition {id}."),
        ));
    }
    let entry = Entry::new(
        now(),
        PetitionClosed {
            petition: id,
            reason: CloseReason::Withdrawn,
            valid_signatures: p.valid_signatures,
        },
    );
    let appended = submit(&state, vec![entry], true).await?;
    appended_response(&state, id, appended).await
}

/// Petitions past their closing date, closed as expired with their count.
pub fn expired(st: &veche_state::State, t: u64) -> Vec<(u64, Entry)> {
    st.petitions()
        .filter(|p| p.status == PetitionStatus::Open)
        .filter(|p| p.opened.as_ref().is_some_and(|o| o.closes_at_ms <= t))
        .map(|p| {
            let closed = PetitionClosed {
                petition: p.id,
                reason: CloseReason::Expired,
                valid_signatures: p.valid_signatures,
            };
            (p.id, Entry::new(t, closed))
        })
        .collect()
}

// ---- attachments --------------------------------------------------------------------

/// `POST /api/v1/attachments`: uploads a file (raw body, ≤ 5 MiB); its
/// BLAKE3 hash names it.
#[utoipa::path(
    post,
    path = "/api/v1/attachments",
    tag = "petitions",
    summary = "Upload an attachment (content-addressed)",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file; its Content-Type is kept"),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "Stored; `{\"hash\": \"<BLAKE3 hex>\"}`"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 413, description = "Larger than 5 MiB (`/problems/too-large`)"),
        (status = 422, description = "Empty (`/problems/invalid-body`)"),
    )
)]
pub async fn upload_attachment(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    state.limits.action(&me.account.id)?;
    if body.is_empty() {
        return Err(Problem::unprocessable(
            "invalid-body",
            "The attachment is empty.",
        ));
    }
    if body.len() > ATTACHMENT_MAX_BYTES {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Attachment too large",
            format!(
                "An attachment may be at most {ATTACHMENT_MAX_BYTES} bytes; this one has {}.",
                body.len()
            ),
        ));
    }
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 100 && v.is_ascii())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let hash = *blake3::hash(&body).as_bytes();
    state
        .store
        .put_attachment(
            &veche_store::petitions::Attachment {
                hash,
                media_type,
                data: body.to_vec(),
            },
            now(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "hash": hex::encode(hash) })),
    )
        .into_response())
}

/// `GET /api/v1/attachments/{hash}`.
#[utoipa::path(
    get,
    path = "/api/v1/attachments/{hash}",
    tag = "petitions",
    summary = "Download an attachment by its BLAKE3 hash",
    params(("hash" = String, Path, description = "64 hex digits")),
    responses(
        (status = 200, description = "The file, immutable"),
        (status = 404, description = "No such attachment (`/problems/not-found`)"),
        (status = 422, description = "Not a hash (`/problems/invalid-field`)"),
    )
)]
pub async fn attachment(
    State(state): State<AppState>,
    hash: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let Path(hash) = hash.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    let h = hex32(&hash, "hash")?;
    let a = state
        .store
        .attachment(&h)
        .await?
        .ok_or_else(|| Problem::not_found(format!("There is no attachment {hash}.")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(&a.media_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(crate::server::IMMUTABLE),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        a.data,
    )
        .into_response())
}

// ---- public views ------------------------------------------------------------------

/// One petition as the public sees it (JSON; `specs/petitions.md`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct PetitionView {
    pub id: u64,
    pub jurisdiction: String,
    pub status: &'static str,
    /// Title and text; `null` while the text is withheld.
    pub title: Option<String>,
    pub text: Option<String>,
    pub text_hidden: bool,
    pub content_hash: String,
    pub attachments: Vec<String>,
    pub filed_at: String,
    pub opened_at: Option<String>,
    pub closes_at: Option<String>,
    pub population: Option<u64>,
    pub signatures_needed: Option<u64>,
    pub valid_signatures: u64,
    pub signatures: u64,
    pub invalidated: u64,
    pub threshold_reached: bool,
    pub threshold_entry: Option<u64>,
    pub threshold_at: Option<String>,
    pub acknowledge_by: Option<String>,
    pub answer_by: Option<String>,
    pub acknowledge_status: &'static str,
    pub answer_status: &'static str,
    pub overdue: bool,
    pub rejection: Option<Value>,
    pub decision: Option<&'static str>,
    /// Every step, in log order: `{index, at, kind, …}`.
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<Value>,
    /// Valid signatures per day: `{date, signatures, cumulative}`.
    #[schema(value_type = Vec<Object>)]
    pub signatures_by_day: Vec<Value>,
}

fn ts(ms: u64) -> String {
    format_timestamp_ms(ms).unwrap_or_default()
}

/// The public view of a petition (its content fetched from the store).
pub async fn view(
    state: &AppState,
    p: &Petition,
    with_text: bool,
) -> Result<PetitionView, Problem> {
    let t = now();
    let hidden = p.rejected.as_ref().is_some_and(|r| r.text_hidden);
    let content = if hidden || !with_text {
        None
    } else {
        state.store.petition_content(&p.content).await?
    };
    let mut history = vec![json!({"index": p.id, "at": ts(p.filed_ms), "kind": "petition_filed"})];
    if let Some(o) = &p.opened {
        history.push(json!({"index": o.index, "at": ts(o.at_ms), "kind": "petition_opened", "actor": o.actor, "population": o.population, "closes_at": ts(o.closes_at_ms)}));
    }
    if let Some(r) = &p.rejected {
        history.push(json!({"index": r.index, "at": ts(r.at_ms), "kind": "petition_rejected", "actor": r.actor, "rule": r.rule, "reason": r.reason, "text_hidden": r.text_hidden}));
    }
    if let Some(th) = &p.threshold {
        history.push(json!({"index": th.index, "at": ts(th.at_ms), "kind": "threshold_reached", "signature": th.signature, "valid_signatures": th.valid_signatures, "acknowledge_by": ts(th.acknowledge_by_ms), "answer_by": ts(th.answer_by_ms)}));
    }
    if let Some(d) = &p.delivered {
        history.push(json!({"index": d.index, "at": ts(d.at_ms), "kind": "petition_delivered", "attempts": d.attempts}));
    }
    if let Some(a) = &p.acknowledged {
        history.push(json!({"index": a.index, "at": ts(a.at_ms), "kind": "petition_acknowledged", "actor": a.actor}));
    }
    for s in &p.scheduled {
        history.push(json!({"index": s.index, "at": ts(s.at_ms), "kind": "consideration_scheduled", "date": s.date, "actor": s.actor}));
    }
    for a in &p.answers {
        history.push(json!({"index": a.index, "at": ts(a.at_ms), "kind": "petition_answered", "decision": a.answer.decision.name(), "deadline": a.answer.deadline, "text": a.answer.text, "document": a.answer.document.map(hex::encode), "actor": a.answer.actor}));
    }
    for inv in &p.invalidations {
        history.push(json!({"index": inv.index, "at": ts(inv.at_ms), "kind": "signature_invalidated", "signature": inv.signature, "reason": inv.reason, "actor": inv.actor}));
    }
    if let Some(c) = &p.closed {
        history.push(json!({"index": c.index, "at": ts(c.at_ms), "kind": "petition_closed", "reason": match c.reason { CloseReason::Expired => "expired", CloseReason::Withdrawn => "withdrawn" }, "valid_signatures": c.valid_signatures}));
    }
    history.sort_by_key(|h| h["index"].as_u64());
    let mut cumulative = 0;
    let by_day = p
        .signatures_by_day
        .iter()
        .map(|(day, n)| {
            cumulative += n;
            json!({"date": Date::from_timestamp_ms(day * veche_state::DAY_MS).map(|d| d.to_string()), "signatures": n, "cumulative": cumulative})
        })
        .collect();
    Ok(PetitionView {
        id: p.id,
        jurisdiction: p.jurisdiction.clone(),
        status: p.status.name(),
        title: content.as_ref().map(|c| c.title.clone()),
        text: content.as_ref().map(|c| c.body.clone()),
        text_hidden: hidden,
        content_hash: hex::encode(p.content),
        attachments: content
            .as_ref()
            .map(|c| c.attachments.iter().map(hex::encode).collect())
            .unwrap_or_default(),
        filed_at: ts(p.filed_ms),
        opened_at: p.opened.as_ref().map(|o| ts(o.at_ms)),
        closes_at: p.opened.as_ref().map(|o| ts(o.closes_at_ms)),
        population: p.opened.as_ref().map(|o| o.population),
        signatures_needed: p
            .opened
            .as_ref()
            .map(|o| threshold_signatures(o.population)),
        valid_signatures: p.valid_signatures,
        signatures: p.signatures,
        invalidated: p.invalidated,
        threshold_reached: p.threshold.is_some(),
        threshold_entry: p.threshold.as_ref().map(|t| t.index),
        threshold_at: p.threshold.as_ref().map(|t| ts(t.at_ms)),
        acknowledge_by: p.threshold.as_ref().map(|t| ts(t.acknowledge_by_ms)),
        answer_by: p.threshold.as_ref().map(|t| ts(t.answer_by_ms)),
        acknowledge_status: p.acknowledge_status(t).name(),
        answer_status: p.answer_status(t).name(),
        overdue: p.overdue(t),
        rejection: p
            .rejected
            .as_ref()
            .map(|r| json!({"rule": r.rule, "reason": r.reason, "text_hidden": r.text_hidden})),
        decision: p.answers.last().map(|a| a.answer.decision.name()),
        history,
        signatures_by_day: by_day,
    })
}

/// Filters of the petition list.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this jurisdiction.
    pub jurisdiction: Option<String>,
    /// Only this status: filed, open, rejected, closed.
    pub status: Option<String>,
    /// Only those that reached (true) or did not reach (false) the threshold.
    pub threshold: Option<bool>,
    /// Only those with an overdue legislature step.
    pub overdue: Option<bool>,
    /// Words that must all appear in the title or text (case-insensitive).
    pub q: Option<String>,
}

/// The petitions matching `q`, newest first, with their views (no text).
pub async fn list_views(state: &AppState, q: &ListQuery) -> Result<Vec<PetitionView>, Problem> {
    if let Some(s) = &q.status
        && !["filed", "open", "rejected", "closed"].contains(&s.as_str())
    {
        return Err(Problem::bad_request(
            "invalid-query",
            format!("status: expected filed, open, rejected or closed, got {s:?}"),
        ));
    }
    let t = now();
    let matching: Vec<Petition> = {
        let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
        st.petitions()
            .rev()
            .filter(|p| q.jurisdiction.as_ref().is_none_or(|j| &p.jurisdiction == j))
            .filter(|p| q.status.as_ref().is_none_or(|s| p.status.name() == s))
            .filter(|p| q.threshold.is_none_or(|b| p.threshold.is_some() == b))
            .filter(|p| q.overdue.is_none_or(|b| p.overdue(t) == b))
            .cloned()
            .collect()
    };
    let words: Vec<String> =
        q.q.as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
    let mut out = Vec::with_capacity(matching.len());
    for p in &matching {
        let mut v = view(state, p, true).await?;
        if !words.is_empty() {
            let hay = format!(
                "{} {}",
                v.title.as_deref().unwrap_or(""),
                v.text.as_deref().unwrap_or("")
            )
            .to_lowercase();
            if !words.iter().all(|w| hay.contains(w.as_str())) {
                continue;
            }
        }
        v.text = None;
        v.history.clear();
        out.push(v);
    }
    Ok(out)
}

/// `GET /api/v1/petitions`: the list, with filters.
#[utoipa::path(
    get,
    path = "/api/v1/petitions",
    operation_id = "list_petitions",
    tag = "petitions",
    summary = "Petitions, newest first, with filters",
    params(ListQuery),
    responses(
        (status = 200, description = "The petitions (without text and history)", body = Vec<PetitionView>),
        (status = 400, description = "A bad filter (`/problems/invalid-query`)"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<PetitionView>>, Problem> {
    let Query(q) = q?;
    Ok(Json(list_views(&state, &q).await?))
}

/// `GET /api/v1/petitions/{id}`: one petition, with its text and history.
#[utoipa::path(
    get,
    path = "/api/v1/petitions/{id}",
    operation_id = "show_petition",
    tag = "petitions",
    summary = "One petition with its text and full history",
    params(("id" = u64, Path, description = "The petition")),
    responses(
        (status = 400, description = "The path is malformed (`/problems/invalid-path`)"),
        (status = 200, description = "The petition", body = PetitionView),
        (status = 404, description = "No such petition (`/problems/not-found`)"),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<PetitionView>, Problem> {
    let id = petition_path(id)?;
    let p = petition_snapshot(&state, id)?;
    Ok(Json(view(&state, &p, true).await?))
}

// ---- open data -------------------------------------------------------------------

const LIST_CSV_HEADER: &str = "id,jurisdiction,status,title,filed_at,opened_at,closes_at,population,signatures_needed,valid_signatures,invalidated,threshold_reached,threshold_at,acknowledge_status,answer_status,overdue,decision,content_hash";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn list_csv(views: &[PetitionView]) -> String {
    let mut out = String::from(LIST_CSV_HEADER);
    out.push_str("\r\n");
    for v in views {
        let row = [
            v.id.to_string(),
            v.jurisdiction.clone(),
            v.status.to_owned(),
            v.title.clone().unwrap_or_default(),
            v.filed_at.clone(),
            opt(&v.opened_at),
            opt(&v.closes_at),
            opt(&v.population),
            opt(&v.signatures_needed),
            v.valid_signatures.to_string(),
            v.invalidated.to_string(),
            v.threshold_reached.to_string(),
            opt(&v.threshold_at),
            v.acknowledge_status.to_owned(),
            v.answer_status.to_owned(),
            v.overdue.to_string(),
            v.decision.unwrap_or("").to_owned(),
            v.content_hash.clone(),
        ];
        out.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

fn history_csv(v: &PetitionView) -> String {
    let mut out = String::from("index,at,kind,details\r\n");
    for h in &v.history {
        let mut details = h.clone();
        if let Value::Object(m) = &mut details {
            m.remove("index");
            m.remove("at");
            m.remove("kind");
        }
        let row = [
            h["index"].to_string(),
            h["at"].as_str().unwrap_or("").to_owned(),
            h["kind"].as_str().unwrap_or("").to_owned(),
            details.to_string(),
        ];
        out.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

fn csv_response(name: &str, body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("inline; filename=\"{name}\""))
                    .unwrap_or(HeaderValue::from_static("inline")),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /data/petitions.json` and `/data/petitions.csv`: every petition.
pub async fn data_list(
    State(state): State<AppState>,
    file: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let Path(file) = file.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    let views = list_views(&state, &ListQuery::default()).await?;
    match file.as_str() {
        "petitions.json" => Ok(Json(views).into_response()),
        "petitions.csv" => Ok(csv_response("petitions.csv", list_csv(&views))),
        _ => Err(Problem::not_found(format!(
            "No open-data file {file}; try petitions.json or petitions.csv."
        ))),
    }
}

/// `GET /data/petitions/{id}.json` and `/data/petitions/{id}.csv`.
pub async fn data_petition(
    State(state): State<AppState>,
    file: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let Path(file) = file.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    let (id, ext) = file
        .rsplit_once('.')
        .and_then(|(id, ext)| Some((id.parse::<u64>().ok()?, ext)))
        .ok_or_else(|| {
            Problem::not_found(format!(
                "No open-data file {file}; try <id>.json or <id>.csv."
            ))
        })?;
    let p = petition_snapshot(&state, id)?;
    let v = view(&state, &p, true).await?;
    match ext {
        "json" => Ok(Json(v).into_response()),
        "csv" => Ok(csv_response(&format!("petition-{id}.csv"), history_csv(&v))),
        _ => Err(Problem::not_found(format!(
            "No open-data file {file}; try {id}.json or {id}.csv."
        ))),
    }
}

// ---- eligibility audit ------------------------------------------------------------------

/// `GET /api/v1/audit/eligibility`: the export an authorised auditor
/// checks with `veche-verify eligibility` (administrators only).
#[utoipa::path(
    get,
    path = "/api/v1/audit/eligibility",
    tag = "petitions",
    summary = "Eligibility audit export (administrator)",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "`veche-eligibility-export/v1` (`specs/verifier.md`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Not an administrator (`/problems/forbidden`)"),
    )
)]
pub async fn eligibility_export(
    State(state): State<AppState>,
    me: SignedIn,
) -> Result<Response, Problem> {
    me.require_role(&["admin"])?;
    let in_log: std::collections::HashMap<[u8; 32], (u64, u64)> = state
        .store
        .entries_of_kind(19)
        .await?
        .into_iter()
        .filter_map(|(i, bytes)| match Entry::decode(&bytes).ok()?.payload {
            veche_entry::Payload::Signature(s) => Some((s.assertion, (i, s.petition))),
            _ => None,
        })
        .collect();
    let mut signatures = Vec::new();
    let mut credential_ids = std::collections::BTreeSet::new();
    for ev in state.store.signature_evidence().await? {
        let Some(&(index, petition)) = in_log.get(&ev.commitment) else {
            continue;
        };
        let evidence =
            veche_passkey::AssertionEvidence::decode(&ev.evidence).map_err(Problem::internal)?;
        credential_ids.insert(ev.credential_id.clone());
        signatures.push(json!({
            "index": index,
            "petition": petition,
            "nonce": b64url(&ev.nonce),
            "evidence": evidence,
        }));
    }
    signatures.sort_by_key(|s| s["index"].as_u64());
    let mut credentials = Vec::new();
    for id in credential_ids {
        if let Some(c) = stored_credential(&state, &id).await? {
            credentials.push(json!({"id": b64url(&c.id), "public_key": c.public_key, "backup_eligible": c.backup_eligible}));
        }
    }
    let body = json!({
        "format": "veche-eligibility-export/v1",
        "log_origin": state.origin.to_string(),
        "rp_id": state.identity.rp.rp_id,
        "origins": state.identity.rp.allowed_origins,
        "credentials": credentials,
        "signatures": signatures,
    });
    Ok((
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"veche-eligibility-export.json\""),
            ),
        ],
        Json(body),
    )
        .into_response())
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
