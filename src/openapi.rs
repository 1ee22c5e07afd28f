//! The OpenAPI 3.1 document of `/api/v1/`, generated from the handlers'
//! `#[utoipa::path]` attributes and served at `/api/v1/openapi.json`.
//!
//! `specs/openapi.json` is this document, pretty-printed; the server tests
//! fail if it differs (`VECHE_UPDATE_OPENAPI=1 cargo test --test server
//! openapi` rewrites it) or if the documented operations differ from the
//! routes in `src/server.rs`.
//!
//! Every 4xx/5xx response is an RFC 9457 problem: [`ProblemDoc`] fills in
//! its `application/problem+json` body once, so the handlers only name the
//! statuses they answer with.
//!
//! The bodies that the handlers build with `json!` and the types of the
//! `veche-*` crates are described here by small schema-only structs; they
//! are never built.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::log_api::{EntryView, Receipt};

/// `GET /api/v1/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    summary = "This OpenAPI document",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
pub async fn serve() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        DOCUMENT.as_str(),
    )
}

/// The document as pretty-printed JSON with a final newline, built once.
static DOCUMENT: LazyLock<String> = LazyLock::new(document_json);

pub fn document_json() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    json.push('\n');
    json
}

/// `GET /healthz` (the handler is `server::healthz`).
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    summary = "Liveness, and the tree size of the latest checkpoint",
    responses((status = 200, description = "The server is up", body = Health))
)]
#[allow(dead_code)]
async fn healthz() {}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Veche API",
        version = env!("CARGO_PKG_VERSION"),
        description = "The JSON API of Veche, a petition and e-voting service whose every state \
change is an entry in one append-only, verifiable Merkle log. The prose reference, with every \
problem type, is `specs/api.md`; passkey ceremonies are in `specs/passkeys.md`, the roll in \
`specs/roll.md`, receipts in `specs/receipts.md`. The C2SP tlog-tiles paths under `/log/` are \
described in `specs/log.md`, not here. Every error is an RFC 9457 problem \
(`application/problem+json`). Requests that change state with a session need its CSRF token in \
`X-CSRF-Token`.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    paths(
        healthz,
        serve,
        crate::log_api::info,
        crate::log_api::entries,
        crate::log_api::receipt,
        crate::log_api::inclusion_proof,
        crate::log_api::consistency_proof,
        crate::jurisdictions::list,
        crate::jurisdictions::create,
        crate::jurisdictions::show,
        crate::identity_api::enrolment_options,
        crate::identity_api::enrolment_finish,
        crate::identity_api::session_options,
        crate::identity_api::session_finish,
        crate::identity_api::sign_out,
        crate::identity_api::me,
        crate::identity_api::passkeys,
        crate::identity_api::add_passkey_options,
        crate::identity_api::add_passkey_finish,
        crate::identity_api::revoke_passkey_options,
        crate::identity_api::revoke_passkey,
        crate::roll_api::put_roll,
        crate::roll_api::issue_codes,
        crate::identity_api::staff_list,
        crate::identity_api::invite,
        crate::identity_api::accept_invite_options,
        crate::identity_api::accept_invite_finish,
        crate::petitions::list,
        crate::petitions::file,
        crate::petitions::show,
        crate::petitions::moderate,
        crate::petitions::sign_options,
        crate::petitions::sign,
        crate::petitions::invalidate,
        crate::petitions::acknowledge,
        crate::petitions::schedule,
        crate::petitions::answer,
        crate::petitions::withdraw,
        crate::petitions::petition_rules,
        crate::petitions::set_petition_rules,
        crate::petitions::upload_attachment,
        crate::petitions::attachment,
        crate::petitions::eligibility_export,
        crate::polls::open,
        crate::polls::list,
        crate::polls::show,
        crate::polls::ballot_options,
        crate::polls::cast,
        crate::pb_rounds::open,
        crate::pb_rounds::list,
        crate::pb_rounds::show,
        crate::pb_rounds::propose,
        crate::pb_rounds::review,
        crate::pb_rounds::open_voting,
        crate::pb_rounds::ballot_options,
        crate::pb_rounds::cast,
        crate::webhook::put_endpoint,
        crate::webhook::get_endpoint,
        crate::webhook::delete_endpoint,
        crate::webhook::key,
    ),
    components(schemas(
        Problem,
        ProblemError,
        FieldError,
        Health,
        EntriesPage,
        InclusionProof,
        ConsistencyProof,
        Jurisdiction,
        JurisdictionRecord,
        Jurisdictions,
        JurisdictionCreated,
        Account,
        SignedIn,
        Passkey,
        PasskeyList,
        PasskeyAdded,
        InviteLink,
        StaffList,
        RollVersionResult,
        IssuedCode,
        IssuedCodes,
        crate::petitions::FileRequest,
        crate::petitions::Appended201,
        crate::petitions::ModerationRequest,
        crate::petitions::ReasonRequest,
        crate::petitions::ScheduleRequest,
        crate::petitions::AnswerRequest,
        crate::petitions::PetitionView,
        crate::petitions::PetitionRulesRequest,
        crate::petitions::PetitionRulesView,
        crate::polls::Bilingual,
        crate::polls::OpenPollRequest,
        crate::polls::PollAppended,
        crate::polls::BallotRequest,
        crate::polls::PollResult,
        crate::polls::PollView,
        crate::pb_rounds::OpenRoundRequest,
        crate::pb_rounds::BilingualText,
        crate::pb_rounds::PbAppended,
        crate::pb_rounds::ProposeRequest,
        crate::pb_rounds::ReviewRequest,
        crate::pb_rounds::OpenVotingRequest,
        crate::pb_rounds::PbBallotRequest,
        crate::pb_rounds::ProjectView,
        crate::pb_rounds::VotingView,
        crate::pb_rounds::ResultView,
        crate::pb_rounds::RoundView,
        crate::pb_rounds::SpendingView,
    )),
    modifiers(&ProblemDoc, &SecuritySchemes),
    tags(
        (name = "meta", description = "Health and this document"),
        (name = "log", description = "The public log as JSON: entries, receipts, proofs (`specs/api.md`)"),
        (name = "jurisdictions", description = "Jurisdictions declared in the log"),
        (name = "enrolment", description = "Claiming a roll record with a passkey (`specs/passkeys.md`)"),
        (name = "session", description = "Passkey sign-in, the session, sign-out"),
        (name = "passkeys", description = "The signed-in account's passkeys"),
        (name = "staff", description = "Staff invites and the staff list"),
        (name = "roll", description = "The registrar's roll and enrolment codes (`specs/roll.md`)"),
        (name = "petitions", description = "Filing, moderation, signatures with receipts, open data (`specs/petitions.md`)"),
        (name = "legislature", description = "The legislature's acknowledgement, schedule and decisions (`specs/petitions.md`)"),
        (name = "polls", description = "Priority polls: opening, passkey ballots with re-voting, turnout and the declared tally (`specs/polls.md`)"),
        (name = "pb", description = "Participatory-budgeting rounds: proposals, reviews, the vote with passkey ballots and constraints, the declared result (`specs/pb-rounds.md`)"),
        (name = "webhooks", description = "Delivery of threshold-reached petitions to legislatures (`specs/webhook.md`)"),
    )
)]
pub struct ApiDoc;

/// Gives every 4xx/5xx response the RFC 9457 body, `Retry-After` where the
/// server sets it, and every fallible operation its 500.
struct ProblemDoc;

impl Modify for ProblemDoc {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                let responses = &mut op.responses.responses;
                let fallible = responses.keys().any(|s| s.starts_with(['4', '5']));
                if fallible && !responses.contains_key("500") {
                    responses.insert(
                        "500".into(),
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(
                                    "Our failure; nothing was changed (`/problems/internal`)",
                                )
                                .build(),
                        ),
                    );
                }
                for (status, response) in responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    if !status.starts_with(['4', '5']) {
                        continue;
                    }
                    response.content.clear();
                    response.content.insert(
                        "application/problem+json".into(),
                        RefOr::T(
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .build(),
                        ),
                    );
                    if status == "429" || status == "503" {
                        response.headers.insert(
                            "Retry-After".into(),
                            RefOr::T(
                                HeaderBuilder::new()
                                    .schema(Some(u64::schema()))
                                    .description(Some("Seconds to wait before retrying"))
                                    .build(),
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// The session cookie, the CSRF header and the operator's bearer token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::session::COOKIE,
                "The session, set by a successful sign-in, enrolment or staff invite \
                 (HttpOnly, SameSite=Strict, Secure over HTTPS).",
            ))),
        );
        components.add_security_scheme(
            "csrf_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The session's CSRF token (`csrf_token` of the sign-in answer or of \
                 `GET /api/v1/me`); required on every state-changing request with a session.",
            ))),
        );
        components.add_security_scheme(
            "operator_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The operator token (`VECHE_OPERATOR_TOKEN` or `<data-dir>/operator.token`).",
                    ))
                    .build(),
            ),
        );
    }
}

// ---- schema-only types ---------------------------------------------------

/// An RFC 9457 problem. `type` is a stable URI `/problems/<slug>` (the
/// slugs are listed in `specs/api.md`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// `/problems/<slug>`.
    #[schema(example = "/problems/not-found")]
    r#type: String,
    title: String,
    status: u16,
    /// What went wrong, precisely.
    detail: String,
    /// What was refused: `[{field, message}]` for fields; for a roll, one
    /// string per problem line.
    errors: Option<Vec<ProblemError>>,
    /// A stable machine-readable code, e.g. the passkey refusal's.
    reason: Option<String>,
    /// With 429: seconds until the limit allows another try.
    retry_after_seconds: Option<u64>,
}

/// One item of a problem's `errors`.
#[derive(serde::Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ProblemError {
    Field(FieldError),
    /// A problem line of a roll upload.
    Line(String),
}

/// One refused field.
#[derive(serde::Serialize, ToSchema)]
#[allow(dead_code)]
pub struct FieldError {
    field: String,
    message: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Health {
    /// `ok`.
    status: String,
    /// The tree size of the latest checkpoint.
    size: u64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EntriesPage {
    tree_size: u64,
    start: u64,
    entries: Vec<EntryView>,
}

/// RFC 9162 §2.1.3.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InclusionProof {
    index: u64,
    tree_size: u64,
    /// The entry's leaf hash (base64); null if the entry does not exist.
    leaf_hash: Option<String>,
    /// Hashes, base64.
    inclusion_proof: Vec<String>,
}

/// RFC 9162 §2.1.4.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConsistencyProof {
    from: u64,
    to: u64,
    /// Hashes, base64.
    consistency_proof: Vec<String>,
}

/// A jurisdiction's JSON form (`specs/entries.md`, kind `jurisdiction`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Jurisdiction {
    /// 1–64 of `[a-z0-9-]`, not starting or ending with `-`.
    #[schema(example = "kaliningrad-oblast")]
    id: String,
    name_ru: String,
    name_en: String,
    /// 1–10,000,000,000.
    #[schema(minimum = 1)]
    population: u64,
    population_source: String,
    #[schema(format = Date, example = "2024-01-01")]
    population_date: String,
    legislature_ru: String,
    legislature_en: String,
}

/// What the log says about one jurisdiction.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct JurisdictionRecord {
    /// The latest declaration.
    current: Jurisdiction,
    /// How many declarations were applied (≥ 1).
    declarations: u64,
    first_index: u64,
    last_index: u64,
    last_timestamp_ms: u64,
}

/// The declared jurisdictions by id.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Jurisdictions(BTreeMap<String, JurisdictionRecord>);

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct JurisdictionCreated {
    index: u64,
    leaf_hash: String,
    receipt_url: String,
    /// Null if no checkpoint covered the entry in time: fetch `receipt_url`.
    receipt: Option<Receipt>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Account {
    /// `citizen` or `staff`.
    kind: String,
    pseudonym: String,
    jurisdiction: Option<String>,
    /// A staff role: admin, registrar, moderator, clerk, organiser.
    role: Option<String>,
    created_ms: u64,
}

/// A signed-in account and its session's CSRF token.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SignedIn {
    account: Account,
    /// Send it as `X-CSRF-Token` on state-changing requests.
    csrf_token: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Passkey {
    /// The credential id (base64url).
    id: String,
    label: String,
    created_ms: u64,
    last_used_ms: Option<u64>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PasskeyList {
    passkeys: Vec<Passkey>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PasskeyAdded {
    /// The credential id (base64url).
    id: String,
    label: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InviteLink {
    /// The one-time invite link, valid for 7 days.
    link: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StaffList {
    staff: Vec<Account>,
}

/// The roll version written to the log (`specs/roll.md`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RollVersionResult {
    jurisdiction: String,
    version: u32,
    /// Records on the new roll.
    records: u64,
    added: u64,
    updated: u64,
    retired: u64,
    /// BLAKE3 commitment to the hashed records (hex).
    commitment: String,
    log_index: u64,
    /// The registrar's public pseudonym.
    registrar: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IssuedCode {
    record_id: String,
    /// `id.secret`; shown once.
    code: String,
    expires_at: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IssuedCodes {
    codes: Vec<IssuedCode>,
}
