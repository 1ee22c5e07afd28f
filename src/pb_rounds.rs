//! Participatory-budgeting rounds over HTTP (`specs/pb-rounds.md`): an
//! organiser opens a round of a jurisdiction, enrolled residents propose
//! projects until the proposals close, organisers review each one (feasible
//! with a cost, or infeasible with a public reason), an organiser opens the
//! vote (budget, rule, ballot constraints; the ballot is every feasible
//! project at its reviewed cost), residents vote with an action-bound
//! passkey assertion (re-votes replace), and a background task declares the
//! recount once voting has closed.
//!
//! Every step is one log entry appended through the sequencer, which checks
//! it against `veche_state`'s PB rules inside its batch; the handlers check
//! first only so that a refusal comes before the passkey is asked for.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use veche_entry::{
    Actor, Entry, Location, PbBallot, PbProjectProposed, PbProjectReviewed, PbRoundOpened, PbRule,
    PbVotingOpened, StaffRole, Verdict, format_timestamp_ms,
};
use veche_passkey::ActionChallenge;
use veche_state::{PbPhase, Round, Violation, pb_ballot_action};
use veche_store::{Clock, SystemClock, WithEntries};

use crate::identity_api::{
    CeremonyStarted, FinishRequest, credential_use, json_body, start_action_ceremony,
    take_action_ceremony, verify_account_assertion,
};
use crate::log_api::{Receipt, build_receipt};
use crate::polls::Bilingual;
use crate::problem::Problem;
use crate::rules::{field_problem, submit, violation_problem};
use crate::server::AppState;
use crate::session::SignedIn;

/// The ceremony kind of a PB ballot's passkey request.
const CEREMONY: &str = "vote-pb";

fn now() -> u64 {
    SystemClock.now_ms()
}

fn ts(ms: u64) -> String {
    format_timestamp_ms(ms).unwrap_or_default()
}

fn id_path(id: Result<Path<u64>, PathRejection>) -> Result<u64, Problem> {
    id.map(|Path(id)| id)
        .map_err(|e| Problem::bad_request("invalid-path", e.body_text()))
}

fn unknown_round(id: u64) -> Problem {
    violation_problem(Violation {
        code: "unknown-round",
        message: format!("There is no PB round {id}."),
    })
}

/// Runs `f` on one round under the shared state's read lock (a round holds
/// every voter's last ballot, so it is not copied per request).
pub(crate) fn with_round<T>(
    state: &AppState,
    id: u64,
    f: impl FnOnce(&Round) -> Result<T, Problem>,
) -> Result<T, Problem> {
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    f(st.round(id).ok_or_else(|| unknown_round(id))?)
}

/// The resident's jurisdiction and roll record.
fn resident(me: &SignedIn) -> Result<(&str, &str), Problem> {
    crate::petitions::enrolled_citizen(
        me,
        "Proposing projects and voting need the passkey of a citizen enrolled in the round's jurisdiction.",
    )
}

/// The organiser as the entry's actor (staff bound to a jurisdiction act
/// on rounds of that jurisdiction only).
fn organiser(me: &SignedIn, jurisdiction: &str) -> Result<Actor, Problem> {
    crate::petitions::staff_actor(me, StaffRole::Organiser, jurisdiction, "the PB round")
}

fn wrong_jurisdiction(id: u64, round_jurisdiction: &str, mine: &str) -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "wrong-jurisdiction",
        "Not your jurisdiction",
        format!(
            "PB round {id} is for residents of {round_jurisdiction}; you are enrolled in {mine}."
        ),
    )
}

/// Appends `entry` and answers 201 with its receipt.
async fn appended_response(
    state: &AppState,
    entry: Entry,
    round: impl FnOnce(u64) -> u64,
    location: impl FnOnce(u64) -> Option<String>,
) -> Result<Response, Problem> {
    entry.validate().map_err(field_problem)?;
    let appended = submit(state, vec![entry], true).await?;
    let index = appended.first;
    let receipt = build_receipt(state, index, Duration::from_secs(5)).await?;
    let body = Json(PbAppended {
        round: round(index),
        index,
        receipt,
        turnout: None,
    });
    Ok(match location(index) {
        Some(l) => (
            StatusCode::CREATED,
            [(
                header::LOCATION,
                HeaderValue::from_str(&l).map_err(Problem::internal)?,
            )],
            body,
        )
            .into_response(),
        None => (StatusCode::CREATED, body).into_response(),
    })
}

/// The answer to an append: the round, the entry and its receipt.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PbAppended {
    /// The round.
    pub round: u64,
    /// Log index of the new entry (a new round's or project's id).
    pub index: u64,
    /// The entry's receipt (`specs/receipts.md`).
    pub receipt: Receipt,
    /// Voters so far (for ballots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turnout: Option<u64>,
}

// ---- opening --------------------------------------------------------------------------

/// `POST /api/v1/pb-rounds` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenRoundRequest {
    /// The jurisdiction whose residents propose and vote.
    pub jurisdiction: String,
    /// The round's title, 1..=200 characters each.
    pub title: Bilingual,
    /// What the round is for, 1..=5000 characters each.
    pub description: BilingualText,
    /// ISO 4217 code (default `RUB`).
    pub currency: Option<String>,
    /// Decimal places of the minor unit, 0..=4 (default 2: kopecks).
    pub scale: Option<u8>,
    /// End of proposals (exclusive), milliseconds since the Unix epoch; in
    /// the future.
    pub proposals_close_at_ms: u64,
}

/// A multi-line text in both languages.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BilingualText {
    /// Russian.
    pub ru: String,
    /// English.
    pub en: String,
}

/// `POST /api/v1/pb-rounds`: an organiser opens a round; proposals start.
#[utoipa::path(
    post,
    path = "/api/v1/pb-rounds",
    operation_id = "open_pb_round",
    tag = "pb",
    summary = "Open a participatory-budgeting round (organiser)",
    request_body = OpenRoundRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "Opened; its id is the entry's log index", body = PbAppended),
        (status = 400, description = "The body is malformed (`/problems/invalid-json`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Not an organiser of the jurisdiction, or CSRF (`/problems/forbidden`, `/problems/csrf`)"),
        (status = 422, description = "A field breaks its rule (`/problems/invalid-field`, `/problems/unknown-jurisdiction`, `/problems/window-in-past`)"),
    )
)]
pub async fn open(
    State(state): State<AppState>,
    me: SignedIn,
    body: Result<Json<OpenRoundRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let req = json_body(body)?;
    let actor = organiser(&me, &req.jurisdiction)?;
    let entry = Entry::new(
        now(),
        PbRoundOpened {
            jurisdiction: req.jurisdiction.clone(),
            title_ru: req.title.ru.trim().to_owned(),
            title_en: req.title.en.trim().to_owned(),
            description_ru: req.description.ru.trim().replace("\r\n", "\n"),
            description_en: req.description.en.trim().replace("\r\n", "\n"),
            currency: req.currency.clone().unwrap_or_else(|| "RUB".to_owned()),
            scale: req.scale.unwrap_or(2),
            proposals_close_at_ms: req.proposals_close_at_ms,
            actor,
        },
    );
    appended_response(
        &state,
        entry,
        |i| i,
        |i| Some(format!("/api/v1/pb-rounds/{i}")),
    )
    .await
}

// ---- proposals ------------------------------------------------------------------------

/// `POST /api/v1/pb-rounds/{id}/projects` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeRequest {
    /// One line, 1..=200 characters.
    pub title: String,
    /// What the project is: 1..=5000 characters.
    pub description: String,
    /// Where, in micro-degrees of WGS 84: `{"lat_e6": 54710400, "lon_e6": 20510800}`.
    #[schema(value_type = Option<Object>)]
    pub location: Option<Location>,
    /// A category slug, e.g. `green-spaces`.
    pub category: Option<String>,
}

/// `POST /api/v1/pb-rounds/{id}/projects`: a resident proposes a project
/// while the round takes proposals. The author appears in the log only
/// under a per-round pseudonym.
#[utoipa::path(
    post,
    path = "/api/v1/pb-rounds/{id}/projects",
    operation_id = "propose_pb_project",
    tag = "pb",
    summary = "Propose a project (enrolled resident)",
    params(("id" = u64, Path, description = "The round")),
    request_body = ProposeRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "Proposed; the project's id is the entry's log index", body = PbAppended),
        (status = 400, description = "The path or body is malformed (`/problems/invalid-path`, `/problems/invalid-json`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Not a resident of the round's jurisdiction (`/problems/citizens-only`, `/problems/wrong-jurisdiction`)"),
        (status = 404, description = "No such round (`/problems/unknown-round`)"),
        (status = 409, description = "Proposals are closed or the round is full (`/problems/not-taking-proposals`, `/problems/round-full`)"),
        (status = 422, description = "A field breaks its rule (`/problems/invalid-field`)"),
        (status = 429, description = "Rate limit hit (`/problems/rate-limited`)"),
    )
)]
pub async fn propose(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<u64>, PathRejection>,
    body: Result<Json<ProposeRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let id = id_path(id)?;
    let req = json_body(body)?;
    let (jurisdiction, record) = resident(&me)?;
    let round_jurisdiction = with_round(&state, id, |r| Ok(r.jurisdiction.clone()))?;
    if round_jurisdiction != jurisdiction {
        return Err(wrong_jurisdiction(id, &round_jurisdiction, jurisdiction));
    }
    state.limits.action(&me.account.id)?;
    let entry = Entry::new(
        now(),
        PbProjectProposed {
            round: id,
            title: req.title.trim().to_owned(),
            description: req.description.trim().replace("\r\n", "\n"),
            location: req.location,
            category: req
                .category
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
            author: state.nullifiers.pb_author(id, jurisdiction, record),
        },
    );
    appended_response(&state, entry, |_| id, |_| None).await
}

// ---- review ---------------------------------------------------------------------------

/// `POST /api/v1/pb-projects/{id}/reviews` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `feasible` or `infeasible`.
    pub verdict: String,
    /// The cost in minor units; required when feasible, absent otherwise.
    pub cost: Option<u64>,
    /// The public reason: required when infeasible (1..=2000 characters),
    /// optional when feasible (how the cost was estimated).
    #[serde(default)]
    pub reason: String,
}

/// `POST /api/v1/pb-projects/{id}/reviews`: an organiser reviews a project
/// after the proposals closed; a later review replaces it.
#[utoipa::path(
    post,
    path = "/api/v1/pb-projects/{id}/reviews",
    operation_id = "review_pb_project",
    tag = "pb",
    summary = "Review a project: feasible with a cost, or infeasible with a reason (organiser)",
    params(("id" = u64, Path, description = "The project")),
    request_body = ReviewRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "Reviewed", body = PbAppended),
        (status = 400, description = "The path or body is malformed (`/problems/invalid-path`, `/problems/invalid-json`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Not an organiser of the jurisdiction (`/problems/forbidden`)"),
        (status = 404, description = "No such project (`/problems/unknown-project`)"),
        (status = 409, description = "The round is not in review (`/problems/not-in-review`)"),
        (status = 422, description = "A field breaks its rule (`/problems/invalid-field`)"),
    )
)]
pub async fn review(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<u64>, PathRejection>,
    body: Result<Json<ReviewRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let project = id_path(id)?;
    let req = json_body(body)?;
    let (round, jurisdiction) = {
        let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
        let r = st.round_of_project(project).ok_or_else(|| {
            violation_problem(Violation {
                code: "unknown-project",
                message: format!("There is no PB project {project}."),
            })
        })?;
        (r.id, r.jurisdiction.clone())
    };
    let actor = organiser(&me, &jurisdiction)?;
    let verdict = match req.verdict.as_str() {
        "feasible" => Verdict::Feasible,
        "infeasible" => Verdict::Infeasible,
        other => {
            return Err(Problem::unprocessable(
                "invalid-field",
                format!("verdict: expected feasible or infeasible, got {other:?}"),
            )
            .with_field("verdict"));
        }
    };
    let entry = Entry::new(
        now(),
        PbProjectReviewed {
            project,
            verdict,
            cost: req.cost,
            reason: req.reason.trim().replace("\r\n", "\n"),
            actor,
        },
    );
    appended_response(&state, entry, |_| round, |_| None).await
}

// ---- opening the vote -----------------------------------------------------------------

/// `POST /api/v1/pb-rounds/{id}/voting` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenVotingRequest {
    /// The budget, minor units.
    pub budget: u64,
    /// `greedy`, `equal_shares`, `equal_shares_add1` or
    /// `equal_shares_add1_greedy` (`specs/pb.md`).
    pub rule: String,
    /// Most projects one ballot approves (absent: no limit).
    pub max_projects: Option<u16>,
    /// Most the approved projects of one ballot may cost together, minor
    /// units (absent: no limit; the budget for a knapsack ballot).
    pub cost_limit: Option<u64>,
    /// End of voting (exclusive), milliseconds since the Unix epoch.
    pub closes_at_ms: u64,
}

/// `POST /api/v1/pb-rounds/{id}/voting`: an organiser opens the vote once
/// every project is reviewed. The ballot lists every feasible project at
/// its reviewed cost; budget, rule and constraints are fixed from here on.
#[utoipa::path(
    post,
    path = "/api/v1/pb-rounds/{id}/voting",
    operation_id = "open_pb_voting",
    tag = "pb",
    summary = "Open the vote: fix budget, rule and ballot constraints (organiser)",
    params(("id" = u64, Path, description = "The round")),
    request_body = OpenVotingRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "Voting is open", body = PbAppended),
        (status = 400, description = "The path or body is malformed (`/problems/invalid-path`, `/problems/invalid-json`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Not an organiser of the jurisdiction (`/problems/forbidden`)"),
        (status = 404, description = "No such round (`/problems/unknown-round`)"),
        (status = 409, description = "Not in review (`/problems/not-in-review`)"),
        (status = 422, description = "A field breaks its rule, a project has no review, no project is feasible, or the cost limit admits nothing (`/problems/invalid-field`, `/problems/unreviewed-project`, `/problems/no-feasible-project`, `/problems/cost-limit-unusable`, `/problems/window-in-past`)"),
    )
)]
pub async fn open_voting(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<u64>, PathRejection>,
    body: Result<Json<OpenVotingRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let id = id_path(id)?;
    let req = json_body(body)?;
    let rule = PbRule::ALL
        .into_iter()
        .find(|r| r.name() == req.rule)
        .ok_or_else(|| {
            Problem::unprocessable(
                "invalid-field",
                format!(
                    "rule: expected greedy, equal_shares, equal_shares_add1 or equal_shares_add1_greedy, got {:?}",
                    req.rule
                ),
            )
            .with_field("rule")
        })?;
    let (jurisdiction, projects) = with_round(&state, id, |r| {
        Ok((r.jurisdiction.clone(), r.feasible_projects()))
    })?;
    let actor = organiser(&me, &jurisdiction)?;
    if projects.is_empty() {
        // The rules would name the first unreviewed project, if any; say
        // that first, since reviewing it may make the ballot non-empty.
        let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = st.round(id)
            && r.unreviewed().next().is_none()
        {
            return Err(Problem::unprocessable(
                "no-feasible-project",
                format!(
                    "PB round {id} has no project reviewed as feasible: there is nothing to vote on."
                ),
            ));
        }
    }
    let entry = Entry::new(
        now(),
        PbVotingOpened {
            round: id,
            budget: req.budget,
            rule,
            max_projects: req.max_projects,
            cost_limit: req.cost_limit,
            closes_at_ms: req.closes_at_ms,
            projects,
            actor,
        },
    );
    // Entry validation would call an empty ballot list an invalid field;
    // the rules give the more useful `unreviewed-project` first.
    if let Err(e) = entry.validate() {
        let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
        st.check(&entry).map_err(violation_problem)?;
        return Err(field_problem(e));
    }
    appended_response(&state, entry, |_| id, |_| None).await
}

// ---- voting ---------------------------------------------------------------------------

/// `POST /api/v1/pb-rounds/{id}/ballots/options` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PbBallotRequest {
    /// The approved projects' ids, in any order, each at most once; may be
    /// empty (a ballot approving nothing still counts in the turnout).
    pub approved: Vec<u64>,
}

/// The ids ascending, as the entry and the signed action carry them;
/// a repeated id is refused.
fn normalise(mut approved: Vec<u64>) -> Result<Vec<u64>, Problem> {
    approved.sort_unstable();
    if let Some(w) = approved.windows(2).find(|w| w[0] == w[1]) {
        return Err(Problem::unprocessable(
            "duplicate-project",
            format!("approved: project {} is listed twice", w[0]),
        )
        .with_field("approved"));
    }
    Ok(approved)
}

/// Refuses a ballot the log would refuse, before the passkey is asked:
/// the resident's jurisdiction, the phase, and the ballot's constraints.
fn check_ballot(
    state: &AppState,
    id: u64,
    jurisdiction: &str,
    record: &str,
    approved: &[u64],
) -> Result<(), Problem> {
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    let r = st.round(id).ok_or_else(|| unknown_round(id))?;
    if r.jurisdiction != jurisdiction {
        return Err(wrong_jurisdiction(id, &r.jurisdiction, jurisdiction));
    }
    let entry = Entry::new(
        now(),
        PbBallot {
            round: id,
            nullifier: state.nullifiers.pb(id, jurisdiction, record),
            approved: approved.to_vec(),
            assertion: [0; 32],
        },
    );
    entry.validate().map_err(field_problem)?;
    st.check(&entry).map_err(violation_problem)
}

/// `POST /api/v1/pb-rounds/{id}/ballots/options`: the passkey request whose
/// challenge commits to this round and exactly these projects.
#[utoipa::path(
    post,
    path = "/api/v1/pb-rounds/{id}/ballots/options",
    operation_id = "pb_ballot_options",
    tag = "pb",
    summary = "Start voting: the ballot-bound passkey request",
    params(("id" = u64, Path, description = "The round")),
    request_body = PbBallotRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The ceremony id and `PublicKeyCredentialRequestOptionsJSON`", body = CeremonyStarted),
        (status = 400, description = "The path or body is malformed (`/problems/invalid-path`, `/problems/invalid-json`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Not a resident of the round's jurisdiction (`/problems/citizens-only`, `/problems/wrong-jurisdiction`)"),
        (status = 404, description = "No such round (`/problems/unknown-round`)"),
        (status = 409, description = "Not open for voting (`/problems/voting-not-open`)"),
        (status = 422, description = "The ballot breaks a constraint (`/problems/not-on-ballot`, `/problems/too-many-projects`, `/problems/over-cost-limit`, `/problems/duplicate-project`, `/problems/invalid-field`)"),
        (status = 429, description = "Rate limit hit (`/problems/rate-limited`)"),
    )
)]
pub async fn ballot_options(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<u64>, PathRejection>,
    body: Result<Json<PbBallotRequest>, JsonRejection>,
) -> Result<Json<CeremonyStarted>, Problem> {
    let id = id_path(id)?;
    let req = json_body(body)?;
    let approved = normalise(req.approved)?;
    let (jurisdiction, record) = resident(&me)?;
    state.limits.action(&me.account.id)?;
    check_ballot(&state, id, jurisdiction, record, &approved)?;
    start_action_ceremony(
        &state,
        &me,
        CEREMONY,
        &pb_ballot_action(id, &approved),
        json!({ "round": id, "approved": approved }),
    )
    .await
}

/// `POST /api/v1/pb-rounds/{id}/ballots`: verifies the ballot-bound
/// assertion and appends the ballot; a later ballot of the same resident
/// replaces it.
#[utoipa::path(
    post,
    path = "/api/v1/pb-rounds/{id}/ballots",
    operation_id = "cast_pb_ballot",
    tag = "pb",
    summary = "Vote with the passkey assertion; get the receipt",
    params(("id" = u64, Path, description = "The round")),
    request_body(content = FinishRequest, description = "The ceremony id and the credential's `toJSON()`"),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "Counted (replacing any earlier ballot): the ballot entry's receipt", body = PbAppended),
        (status = 400, description = "The path or body is malformed (`/problems/invalid-path`, `/problems/invalid-json`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Not a resident of the jurisdiction, or the ceremony is another account's (`/problems/citizens-only`, `/problems/wrong-jurisdiction`, `/problems/forbidden`)"),
        (status = 404, description = "No such round (`/problems/unknown-round`)"),
        (status = 409, description = "Not open for voting, or the ceremony is unknown (`/problems/voting-not-open`, `/problems/ceremony-unknown`)"),
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
    let id = id_path(id)?;
    let req = json_body(body)?;
    let (jurisdiction, record) = resident(&me)?;
    let (ctx, nonce) =
        take_action_ceremony(&state, &me, &req.ceremony, CEREMONY, "round", id).await?;
    let approved: Vec<u64> = serde_json::from_value(ctx["approved"].clone())
        .map_err(|_| Problem::internal("ceremony context lacks the ballot"))?;
    // Voting may have closed while the passkey was asked.
    check_ballot(&state, id, jurisdiction, record, &approved)?;
    let challenge = ActionChallenge::new(&pb_ballot_action(id, &approved), nonce);
    let verified = verify_account_assertion(&state, &me, &challenge, &req.credential).await?;
    let at = now();
    let entry = Entry::new(
        at,
        PbBallot {
            round: id,
            nullifier: state.nullifiers.pb(id, jurisdiction, record),
            approved,
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
    let turnout = with_round(&state, id, |r| Ok(r.turnout()))?;
    let receipt = build_receipt(&state, appended.first, Duration::from_secs(5)).await?;
    Ok((
        StatusCode::CREATED,
        Json(PbAppended {
            round: id,
            index: appended.first,
            receipt,
            turnout: Some(turnout),
        }),
    )
        .into_response())
}

/// The caller's last ballot in round `id`, if they voted: what the ballot
/// page pre-selects and what "you voted" shows. Only the server can tell,
/// since only it holds the nullifier key.
pub(crate) fn my_ballot(state: &AppState, me: &SignedIn, id: u64) -> Option<(u64, Vec<u64>)> {
    let (jurisdiction, record) = resident(me).ok()?;
    let n = state.nullifiers.pb(id, jurisdiction, record);
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    st.round(id)?.ballot_of(&n).map(|(i, a)| (i, a.to_vec()))
}

// ---- public views ---------------------------------------------------------------------

/// A project as the public sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProjectView {
    /// Its id: the log index of its proposal.
    pub id: u64,
    pub title: String,
    pub description: String,
    /// `{lat_e6, lon_e6}` or `null`.
    #[schema(value_type = Option<Object>)]
    pub location: Option<Location>,
    pub category: Option<String>,
    pub proposed_at: String,
    /// The review that holds (the last): `{verdict, cost, reason, index,
    /// at, actor}`, or `null` before review.
    #[schema(value_type = Option<Object>)]
    pub review: Option<Value>,
    /// Earlier reviews it replaced.
    pub reviews_replaced: usize,
    /// Approvals counted by the declared result (`null` before it).
    pub approvals: Option<u64>,
    /// Whether the declared result funds it (`null` before it).
    pub selected: Option<bool>,
}

/// The vote's fixed terms.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VotingView {
    pub index: u64,
    pub opened_at: String,
    pub closes_at: String,
    pub closes_at_ms: u64,
    /// Minor units.
    pub budget: u64,
    pub rule: &'static str,
    pub max_projects: Option<u16>,
    /// Minor units.
    pub cost_limit: Option<u64>,
    /// The projects on the ballot, by ascending id, with their costs.
    #[schema(value_type = Vec<Object>)]
    pub projects: Value,
}

/// The declared result.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ResultView {
    /// Log index of `pb_result`.
    pub index: u64,
    pub declared_at: String,
    /// Voters counted (last ballot each).
    pub ballots: u64,
    /// Approvals per ballot project, in `voting.projects` order.
    pub approvals: Vec<u64>,
    /// Winners in the order the rule selected them.
    pub winners: Vec<u64>,
    /// Their total cost, minor units.
    pub spent: u64,
    /// For the Equal Shares rules, what the voters paid
    /// (`specs/pb.md` §2.5); `null` for greedy. Per voter:
    /// `/data/pb-rounds/{id}-spending.json`.
    pub spending: Option<SpendingView>,
}

/// What the voters paid under the Method of Equal Shares, summed up.
#[derive(Serialize, Clone, utoipa::ToSchema)]
pub struct SpendingView {
    /// Each voter's initial share, exactly, in minor units
    /// (`numerator/denominator` or a whole number).
    pub share: String,
    /// The share in whole minor units, rounded down.
    pub share_units: u64,
    /// Whole currency units added to each share by the add1 completion.
    pub add1_increments: u64,
    /// What the voters paid together (minor units).
    pub paid_by_voters: u64,
    /// What the greedy completion spent from what the voters left.
    pub greedy_completion: u64,
    /// Voters by the part of their share they paid: bucket `k` counts
    /// `k/10 ≤ paid/share < (k+1)/10`; the last one includes 100 %.
    pub histogram: [u64; 10],
}

/// Declared results never change, so their payments (one more MES run)
/// are computed once per round and kept.
fn spending_cache()
-> &'static std::sync::Mutex<std::collections::HashMap<u64, Option<SpendingView>>> {
    static CACHE: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<u64, Option<SpendingView>>>,
    > = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The payments summary of a round with a declared result.
pub(crate) fn spending_of(r: &Round) -> Option<SpendingView> {
    r.result.as_ref()?;
    let mut cache = spending_cache().lock().unwrap_or_else(|p| p.into_inner());
    cache
        .entry(r.id)
        .or_insert_with(|| {
            r.spending().map(|s| SpendingView {
                share: s.share.to_string(),
                share_units: s.share_units,
                add1_increments: s.add1_increments,
                paid_by_voters: s.paid_by_voters,
                greedy_completion: s.greedy_completion,
                histogram: s.histogram,
            })
        })
        .clone()
}

/// One round as the public sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RoundView {
    pub id: u64,
    pub jurisdiction: String,
    /// `proposals`, `review`, `voting`, `counting` or `result`.
    pub phase: &'static str,
    /// `{ru, en}`.
    #[schema(value_type = Object)]
    pub title: Value,
    /// `{ru, en}`.
    #[schema(value_type = Object)]
    pub description: Value,
    /// ISO 4217.
    pub currency: String,
    /// Decimal places of the minor unit.
    pub scale: u8,
    pub opened_at: String,
    pub proposals_close_at: String,
    pub proposals_close_at_ms: u64,
    /// The organiser who opened it.
    #[schema(value_type = Object)]
    pub actor: Value,
    /// Projects by id.
    pub projects: Vec<ProjectView>,
    /// The vote's terms once opened.
    pub voting: Option<VotingView>,
    /// Voters so far (distinct residents).
    pub turnout: u64,
    /// Ballot entries, re-votes included.
    pub ballots_cast: u64,
    /// The declared result, once counted.
    pub result: Option<ResultView>,
}

pub(crate) fn view(r: &Round, t: u64) -> RoundView {
    let result = r.result.as_ref();
    let ballot_pos = |project: u64| {
        r.voting
            .as_ref()
            .and_then(|v| v.projects.iter().position(|p| p.project == project))
    };
    RoundView {
        id: r.id,
        jurisdiction: r.jurisdiction.clone(),
        phase: r.phase(t).name(),
        title: json!({"ru": r.title_ru, "en": r.title_en}),
        description: json!({"ru": r.description_ru, "en": r.description_en}),
        currency: r.currency.clone(),
        scale: r.scale,
        opened_at: ts(r.opened_ms),
        proposals_close_at: ts(r.proposals_close_at_ms),
        proposals_close_at_ms: r.proposals_close_at_ms,
        actor: json!(r.actor),
        projects: r
            .projects
            .values()
            .map(|p| ProjectView {
                id: p.id,
                title: p.title.clone(),
                description: p.description.clone(),
                location: p.location,
                category: p.category.clone(),
                proposed_at: ts(p.proposed_ms),
                review: p.review().map(|v| {
                    json!({
                        "verdict": match v.verdict { Verdict::Feasible => "feasible", Verdict::Infeasible => "infeasible" },
                        "cost": v.cost,
                        "reason": v.reason,
                        "index": v.index,
                        "at": ts(v.at_ms),
                        "actor": v.actor,
                    })
                }),
                reviews_replaced: p.reviews.len().saturating_sub(1),
                approvals: result.map(|d| {
                    ballot_pos(p.id)
                        .and_then(|i| d.result.approvals.get(i).copied())
                        .unwrap_or(0)
                }),
                selected: result.map(|d| d.result.winners.contains(&p.id)),
            })
            .collect(),
        voting: r.voting.as_ref().map(|v| VotingView {
            index: v.index,
            opened_at: ts(v.at_ms),
            closes_at: ts(v.closes_at_ms),
            closes_at_ms: v.closes_at_ms,
            budget: v.budget,
            rule: v.rule.name(),
            max_projects: v.max_projects,
            cost_limit: v.cost_limit,
            projects: json!(v.projects),
        }),
        turnout: r.turnout(),
        ballots_cast: r.ballots_cast,
        // Live approvals stay unpublished while voting runs, as for polls.
        result: result.map(|d| ResultView {
            index: d.index,
            declared_at: ts(d.at_ms),
            ballots: d.result.ballots,
            approvals: d.result.approvals.clone(),
            winners: d.result.winners.clone(),
            spent: d.result.spent,
            spending: spending_of(r),
        }),
    }
}

/// `GET /api/v1/pb-rounds`: every round, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/pb-rounds",
    operation_id = "list_pb_rounds",
    tag = "pb",
    summary = "PB rounds, newest first",
    responses((status = 200, description = "The rounds", body = Vec<RoundView>))
)]
pub async fn list(State(state): State<AppState>) -> Json<Vec<RoundView>> {
    let t = now();
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    Json(st.rounds().rev().map(|r| view(r, t)).collect())
}

/// `GET /api/v1/pb-rounds/{id}`: one round with its projects, reviews,
/// vote terms, turnout and declared result.
#[utoipa::path(
    get,
    path = "/api/v1/pb-rounds/{id}",
    operation_id = "show_pb_round",
    tag = "pb",
    summary = "One PB round: phase, projects, turnout, the declared result",
    params(("id" = u64, Path, description = "The round")),
    responses(
        (status = 200, description = "The round", body = RoundView),
        (status = 400, description = "The path is malformed (`/problems/invalid-path`)"),
        (status = 404, description = "No such round (`/problems/unknown-round`)"),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<RoundView>, Problem> {
    let id = id_path(id)?;
    let t = now();
    with_round(&state, id, |r| Ok(Json(view(r, t))))
}

// ---- declaring the result -------------------------------------------------------------

/// Rounds whose vote has closed, with the recount of the last ballots as
/// the declared result, signed off in the name of the organiser who
/// opened the round.
pub fn counted(st: &veche_state::State, t: u64) -> Vec<(u64, Entry)> {
    st.rounds()
        .filter(|r| r.phase(t) == PbPhase::Counting)
        .filter_map(|r| r.result_payload(r.actor.clone()))
        .map(|p| (p.round, Entry::new(t, p)))
        .collect()
}

// ---- open data --------------------------------------------------------------------------

/// `GET /data/pb-rounds/{id}.pb`: a counted round as a Pabulib file
/// (`specs/pb-rounds.md`, "Pabulib export"): projects with costs, votes
/// and the declared selection, and every voter's last ballot under their
/// nullifier, so researchers can recount it with their own tools.
#[utoipa::path(
    get,
    path = "/data/pb-rounds/{file}",
    operation_id = "pb_round_pabulib",
    tag = "pb",
    summary = "A counted round as a Pabulib `.pb` file (voters by nullifier)",
    params(("file" = String, Path, description = "`{id}.pb`, or `{id}-spending.json` for what each voter paid under Equal Shares")),
    responses(
        (status = 200, description = "The Pabulib file", content_type = "text/plain"),
        (status = 400, description = "Not `{id}.pb` (`/problems/invalid-path`)"),
        (status = 404, description = "No such round (`/problems/unknown-round`)"),
        (status = 409, description = "The result is not declared yet (`/problems/result-not-declared`)"),
    )
)]
pub async fn pabulib(
    State(state): State<AppState>,
    file: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let Path(file) = file.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    if let Some(n) = file.strip_suffix("-spending.json")
        && let Ok(id) = n.parse::<u64>()
    {
        return voter_spending(&state, id);
    }
    let id: u64 = file
        .strip_suffix(".pb")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            Problem::bad_request(
                "invalid-path",
                format!("expected /data/pb-rounds/{{id}}.pb or {{id}}-spending.json, got {file:?}"),
            )
        })?;
    let text = with_round(&state, id, |r| {
        r.to_pabulib()
            .map(|inst| veche_tally::pabulib::write(&inst))
            .ok_or_else(|| not_declared(r))
    })?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"veche-pb-round-{id}.pb\""))
                    .map_err(Problem::internal)?,
            ),
            // Declared results never change: the file is immutable.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        text,
    )
        .into_response())
}

fn not_declared(r: &Round) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "result-not-declared",
        "Result not declared",
        format!(
            "PB round {} is in its {} phase; this file exists once the result is declared.",
            r.id,
            r.phase(now()).name()
        ),
    )
}

/// `GET /data/pb-rounds/{id}-spending.json`: what each voter paid under
/// the Method of Equal Shares (`specs/pb.md` §2.5), by nullifier in the
/// log order of their last ballots; `null` for a greedy round.
fn voter_spending(state: &AppState, id: u64) -> Result<Response, Problem> {
    let body = with_round(state, id, |r| {
        if r.result.is_none() {
            return Err(not_declared(r));
        }
        serde_json::to_vec(&json!({ "round": id, "spending": r.spending() }))
            .map_err(Problem::internal)
    })?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        body,
    )
        .into_response())
}
