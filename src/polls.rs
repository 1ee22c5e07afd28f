//! Priority polls over HTTP (`specs/polls.md`): an organiser opens a poll
//! of a jurisdiction, enrolled residents vote with an action-bound passkey
//! assertion (re-votes replace, the last ballot counts), the public sees
//! the turnout while it runs, and a background task closes it at
//! `closes_at` with the recount as the declared tally.
//!
//! Every step is one log entry appended through the sequencer, which checks
//! it against `veche_state`'s poll rules inside its batch.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use veche_entry::{
    Actor, Entry, PollBallot, PollMethod, PollOpened, PollOption, StaffRole, format_timestamp_ms,
};
use veche_passkey::ActionChallenge;
use veche_state::{Poll, PollStatus, Violation, poll_ballot_action};
use veche_store::{Clock, SystemClock, WithEntries};

use crate::identity_api::{
    CeremonyStarted, FinishRequest, credential_use, json_body, start_action_ceremony,
    take_action_ceremony, verify_account_assertion,
};
use crate::log_api::{Receipt, build_receipt};
use crate::problem::Problem;
use crate::rules::{field_problem, submit, violation_problem};
use crate::server::AppState;
use crate::session::SignedIn;

/// The ceremony kind of a ballot's passkey request.
const CEREMONY: &str = "vote-poll";

fn now() -> u64 {
    SystemClock.now_ms()
}

fn ts(ms: u64) -> String {
    format_timestamp_ms(ms).unwrap_or_default()
}

fn poll_path(id: Result<Path<u64>, PathRejection>) -> Result<u64, Problem> {
    id.map(|Path(id)| id)
        .map_err(|e| Problem::bad_request("invalid-path", e.body_text()))
}

fn unknown_poll(id: u64) -> Problem {
    violation_problem(Violation {
        code: "unknown-poll",
        message: format!("There is no poll {id}."),
    })
}

/// Runs `f` on one poll under the shared state's read lock (a poll holds
/// every voter's last ballot, so it is not copied per request).
fn with_poll<T>(
    state: &AppState,
    id: u64,
    f: impl FnOnce(&Poll) -> Result<T, Problem>,
) -> Result<T, Problem> {
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    f(st.poll(id).ok_or_else(|| unknown_poll(id))?)
}

/// The resident's jurisdiction and roll record.
fn resident(me: &SignedIn) -> Result<(&str, &str), Problem> {
    crate::petitions::enrolled_citizen(
        me,
        "Voting needs the passkey of a citizen enrolled in the poll's jurisdiction.",
    )
}

/// The organiser as the entry's actor (staff bound to a jurisdiction open
/// polls of that jurisdiction only).
fn organiser(me: &SignedIn, jurisdiction: &str) -> Result<Actor, Problem> {
    crate::petitions::staff_actor(me, StaffRole::Organiser, jurisdiction, "the poll")
}

/// The voter's nullifier in poll `poll`: keyed BLAKE3 like a petition
/// signer's, under the scope `"poll\n"` so it never equals a petition
/// nullifier of the same resident (`specs/polls.md`).
fn nullifier(state: &AppState, poll: u64, jurisdiction: &str, record: &str) -> [u8; 32] {
    state.nullifiers.poll(poll, jurisdiction, record)
}

// ---- opening ------------------------------------------------------------------------

/// A question or option in both languages.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    /// Russian: one line, trimmed.
    pub ru: String,
    /// English: one line, trimmed.
    pub en: String,
}

/// `POST /api/v1/polls` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenPollRequest {
    /// The jurisdiction whose residents vote.
    pub jurisdiction: String,
    /// The question, 1..=500 characters each.
    pub question: Bilingual,
    /// 2..=32 options, 1..=200 characters each; numbered from 0 in this order.
    pub options: Vec<Bilingual>,
    /// `single`, `approval` or `ranked_schulze`.
    pub method: String,
    /// First instant a ballot is accepted, milliseconds since the Unix
    /// epoch (default: now).
    pub opens_at_ms: Option<u64>,
    /// End of voting (exclusive), milliseconds since the Unix epoch; after
    /// `opens_at_ms` and in the future.
    pub closes_at_ms: u64,
}

/// The answer to an append: the poll, the entry and its receipt.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PollAppended {
    /// The poll.
    pub poll: u64,
    /// Log index of the new entry.
    pub index: u64,
    /// The entry's receipt (`specs/receipts.md`).
    pub receipt: Receipt,
    /// Voters so far (for ballots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turnout: Option<u64>,
}

/// `POST /api/v1/polls`: an organiser opens a priority poll.
#[utoipa::path(
    post,
    path = "/api/v1/polls",
    operation_id = "open_poll",
    tag = "polls",
    summary = "Open a priority poll (organiser)",
    request_body = OpenPollRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "Opened; its id is the entry's log index", body = PollAppended),
        (status = 400, description = "The body is malformed (`/problems/invalid-json`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Not an organiser of the jurisdiction, or CSRF (`/problems/forbidden`, `/problems/csrf`)"),
        (status = 422, description = "A field breaks its rule (`/problems/invalid-field`, `/problems/unknown-jurisdiction`, `/problems/window-in-past`)"),
    )
)]
pub async fn open(
    State(state): State<AppState>,
    me: SignedIn,
    body: Result<Json<OpenPollRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let req = json_body(body)?;
    let actor = organiser(&me, &req.jurisdiction)?;
    let method = PollMethod::ALL
        .into_iter()
        .find(|m| m.name() == req.method)
        .ok_or_else(|| {
            Problem::unprocessable(
                "invalid-field",
                format!(
                    "method: expected single, approval or ranked_schulze, got {:?}",
                    req.method
                ),
            )
            .with_field("method")
        })?;
    let at = now();
    let entry = Entry::new(
        at,
        PollOpened {
            jurisdiction: req.jurisdiction.clone(),
            question_ru: req.question.ru.trim().to_owned(),
            question_en: req.question.en.trim().to_owned(),
            options: req
                .options
                .iter()
                .map(|o| PollOption {
                    ru: o.ru.trim().to_owned(),
                    en: o.en.trim().to_owned(),
                })
                .collect(),
            method,
            opens_at_ms: req.opens_at_ms.unwrap_or(at),
            closes_at_ms: req.closes_at_ms,
            actor,
        },
    );
    entry.validate().map_err(field_problem)?;
    let appended = submit(&state, vec![entry], true).await?;
    let id = appended.first;
    let receipt = build_receipt(&state, id, Duration::from_secs(5)).await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            HeaderValue::from_str(&format!("/api/v1/polls/{id}")).map_err(Problem::internal)?,
        )],
        Json(PollAppended {
            poll: id,
            index: id,
            receipt,
            turnout: None,
        }),
    )
        .into_response())
}

// ---- voting -------------------------------------------------------------------------

/// `POST /api/v1/polls/{id}/ballots/options` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BallotRequest {
    /// Option numbers: one (`single`), an ascending set (`approval`), or a
    /// ranking, most preferred first (`ranked_schulze`).
    pub choice: Vec<u16>,
}

/// Refuses a ballot the log would refuse, before the passkey is asked:
/// the resident's jurisdiction, the window, and the choice against the
/// poll's options and method.
fn check_ballot(
    state: &AppState,
    id: u64,
    jurisdiction: &str,
    record: &str,
    choice: &[u16],
) -> Result<(), Problem> {
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    let p = st.poll(id).ok_or_else(|| unknown_poll(id))?;
    if p.jurisdiction != jurisdiction {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "wrong-jurisdiction",
            "Not your jurisdiction",
            format!(
                "Poll {id} is for residents of {}; you are enrolled in {jurisdiction}.",
                p.jurisdiction
            ),
        ));
    }
    let entry = Entry::new(
        now(),
        PollBallot {
            poll: id,
            nullifier: nullifier(state, id, jurisdiction, record),
            choice: choice.to_vec(),
            assertion: [0; 32],
        },
    );
    entry.validate().map_err(field_problem)?;
    st.check(&entry).map_err(violation_problem)
}

/// `POST /api/v1/polls/{id}/ballots/options`: the passkey request whose
/// challenge commits to this poll and this exact choice.
#[utoipa::path(
    post,
    path = "/api/v1/polls/{id}/ballots/options",
    operation_id = "poll_ballot_options",
    tag = "polls",
    summary = "Start voting: the ballot-bound passkey request",
    params(("id" = u64, Path, description = "The poll")),
    request_body = BallotRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The ceremony id and `PublicKeyCredentialRequestOptionsJSON`", body = CeremonyStarted),
        (status = 400, description = "The path or body is malformed (`/problems/invalid-path`, `/problems/invalid-json`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Not a resident of the poll's jurisdiction (`/problems/citizens-only`, `/problems/wrong-jurisdiction`)"),
        (status = 404, description = "No such poll (`/problems/unknown-poll`)"),
        (status = 409, description = "Not open for voting (`/problems/poll-not-open`)"),
        (status = 422, description = "The choice breaks a rule (`/problems/invalid-field`, `/problems/no-such-option`, `/problems/single-choice-expected`, `/problems/approval-not-ascending`)"),
        (status = 429, description = "Rate limit hit (`/problems/rate-limited`)"),
    )
)]
pub async fn ballot_options(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<u64>, PathRejection>,
    body: Result<Json<BallotRequest>, JsonRejection>,
) -> Result<Json<CeremonyStarted>, Problem> {
    let id = poll_path(id)?;
    let req = json_body(body)?;
    let (jurisdiction, record) = resident(&me)?;
    state.limits.action(&me.account.id)?;
    check_ballot(&state, id, jurisdiction, record, &req.choice)?;
    start_action_ceremony(
        &state,
        &me,
        CEREMONY,
        &poll_ballot_action(id, &req.choice),
        json!({ "poll": id, "choice": req.choice }),
    )
    .await
}

/// `POST /api/v1/polls/{id}/ballots`: verifies the ballot-bound assertion
/// and appends the ballot; a later ballot of the same resident replaces it.
#[utoipa::path(
    post,
    path = "/api/v1/polls/{id}/ballots",
    operation_id = "cast_poll_ballot",
    tag = "polls",
    summary = "Vote with the passkey assertion; get the receipt",
    params(("id" = u64, Path, description = "The poll")),
    request_body(content = FinishRequest, description = "The ceremony id and the credential's `toJSON()`"),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "Counted (replacing any earlier ballot): the ballot entry's receipt", body = PollAppended),
        (status = 400, description = "The path or body is malformed (`/problems/invalid-path`, `/problems/invalid-json`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Not a resident of the jurisdiction, or the ceremony is another account's (`/problems/citizens-only`, `/problems/wrong-jurisdiction`, `/problems/forbidden`)"),
        (status = 404, description = "No such poll (`/problems/unknown-poll`)"),
        (status = 409, description = "Not open for voting, or the ceremony is unknown (`/problems/poll-not-open`, `/problems/ceremony-unknown`)"),
        (status = 410, description = "The ceremony expired (`/problems/ceremony-expired`)"),
        (status = 422, description = "The assertion is refused (`/problems/passkey-refused`)"),
    )
)]
pub async fn cast(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<u64>, PathRejection>,
    body: Result<Json<FinishRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let id = poll_path(id)?;
    let req = json_body(body)?;
    let (jurisdiction, record) = resident(&me)?;
    let (ctx, nonce) =
        take_action_ceremony(&state, &me, &req.ceremony, CEREMONY, "poll", id).await?;
    let choice: Vec<u16> = serde_json::from_value(ctx["choice"].clone())
        .map_err(|_| Problem::internal("ceremony context lacks the choice"))?;
    // The poll may have ended while the passkey was asked.
    check_ballot(&state, id, jurisdiction, record, &choice)?;
    let challenge = ActionChallenge::new(&poll_ballot_action(id, &choice), nonce);
    let verified = verify_account_assertion(&state, &me, &challenge, &req.credential).await?;
    let at = now();
    let entry = Entry::new(
        at,
        PollBallot {
            poll: id,
            nullifier: nullifier(&state, id, jurisdiction, record),
            choice,
            assertion: verified.evidence.commitment(),
        },
    )
    .encode()
    .map_err(|err| Problem::unprocessable("invalid-entry", err.to_string()))?;
    // The counter and the entry commit together in the sequencer's batch,
    // which re-checks the counter under its lock.
    let with = WithEntries {
        credential_use: Some(credential_use(&verified, at)),
        evidence: None,
    };
    let appended = state.log.submit_with(vec![entry], true, with).await?;
    let turnout = with_poll(&state, id, |p| Ok(p.turnout()))?;
    let receipt = build_receipt(&state, appended.first, Duration::from_secs(5)).await?;
    Ok((
        StatusCode::CREATED,
        Json(PollAppended {
            poll: id,
            index: appended.first,
            receipt,
            turnout: Some(turnout),
        }),
    )
        .into_response())
}

// ---- public views -------------------------------------------------------------------

/// The declared result of a closed poll.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PollResult {
    /// Log index of `poll_closed`.
    pub index: u64,
    /// When it closed (RFC 3339).
    pub closed_at: String,
    /// Voters counted (last ballot each).
    pub ballots: u64,
    /// Per option: votes, approvals, or first preferences (Schulze).
    pub counts: Vec<u64>,
    /// Every option, best first.
    pub ranking: Vec<u16>,
    /// The options tied for first (more than one is a tie).
    pub winners: Vec<u16>,
}

/// One poll as the public sees it: counts only once it is closed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PollView {
    pub id: u64,
    pub jurisdiction: String,
    /// `scheduled`, `open`, `ended` (closing due) or `closed`.
    pub status: &'static str,
    /// `{ru, en}`.
    #[schema(value_type = Object)]
    pub question: Value,
    /// `[{ru, en}]`, numbered from 0.
    #[schema(value_type = Vec<Object>)]
    pub options: Value,
    /// `single`, `approval` or `ranked_schulze`.
    pub method: &'static str,
    pub announced_at: String,
    pub opens_at: String,
    pub closes_at: String,
    pub opens_at_ms: u64,
    pub closes_at_ms: u64,
    /// Voters so far (distinct residents).
    pub turnout: u64,
    /// Ballot entries, re-votes included.
    pub ballots_cast: u64,
    /// The organiser.
    #[schema(value_type = Object)]
    pub actor: Value,
    /// The declared tally, once closed; `null` before.
    pub result: Option<PollResult>,
}

fn view(p: &Poll, t: u64) -> PollView {
    PollView {
        id: p.id,
        jurisdiction: p.jurisdiction.clone(),
        status: p.status(t).name(),
        question: json!({"ru": p.question_ru, "en": p.question_en}),
        options: json!(p.options),
        method: p.method.name(),
        announced_at: ts(p.opened_ms),
        opens_at: ts(p.opens_at_ms),
        closes_at: ts(p.closes_at_ms),
        opens_at_ms: p.opens_at_ms,
        closes_at_ms: p.closes_at_ms,
        turnout: p.turnout(),
        ballots_cast: p.ballots_cast,
        actor: json!(p.actor),
        // Only the declared tally is published: live counts stay unseen
        // while the poll runs, so early results cannot sway late voters.
        result: p.closed.as_ref().map(|c| PollResult {
            index: c.index,
            closed_at: ts(c.at_ms),
            ballots: c.tally.ballots,
            counts: c.tally.counts.clone(),
            ranking: c.tally.ranking.clone(),
            winners: c.tally.winners.clone(),
        }),
    }
}

/// `GET /api/v1/polls`: every poll, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/polls",
    operation_id = "list_polls",
    tag = "polls",
    summary = "Polls, newest first",
    responses(
        (status = 200, description = "The polls", body = Vec<PollView>),
    )
)]
pub async fn list(State(state): State<AppState>) -> Json<Vec<PollView>> {
    let t = now();
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    Json(st.polls().rev().map(|p| view(p, t)).collect())
}

/// `GET /api/v1/polls/{id}`: one poll; its result once closed.
#[utoipa::path(
    get,
    path = "/api/v1/polls/{id}",
    operation_id = "show_poll",
    tag = "polls",
    summary = "One poll: turnout while open, the declared tally once closed",
    params(("id" = u64, Path, description = "The poll")),
    responses(
        (status = 200, description = "The poll", body = PollView),
        (status = 400, description = "The path is malformed (`/problems/invalid-path`)"),
        (status = 404, description = "No such poll (`/problems/unknown-poll`)"),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<PollView>, Problem> {
    let id = poll_path(id)?;
    let t = now();
    with_poll(&state, id, |p| Ok(Json(view(p, t))))
}

// ---- closing ------------------------------------------------------------------------

/// Polls whose window has ended, closed with the recount of the last
/// ballots as the declared tally.
pub fn ended(st: &veche_state::State, t: u64) -> Vec<(u64, Entry)> {
    st.polls()
        .filter(|p| p.status(t) == PollStatus::Ended)
        .map(|p| (p.id, Entry::new(t, p.tally())))
        .collect()
}
