//! The registrar's work: loading a jurisdiction's roll and issuing
//! one-time enrolment codes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use veche_entry::{Actor, Entry, StaffRole};
use veche_roll::{EnrolmentCode, HashedRecord};
use veche_store::identity::{EnrolmentCodeRow, RecordUpsert};
use veche_store::{Clock, SystemClock};

use crate::problem::Problem;
use crate::server::AppState;
use crate::session::SignedIn;

/// The most records one roll upload may hold.
pub const MAX_ROLL_RECORDS: usize = 2_000_000;
/// How long enrolment codes stay valid unless the registrar says otherwise.
pub const DEFAULT_CODE_DAYS: u32 = 90;
/// The largest roll upload accepted, in bytes.
pub const MAX_ROLL_BYTES: usize = 256 * 1024 * 1024;

fn jurisdiction_path(p: Result<Path<String>, PathRejection>) -> Result<String, Problem> {
    let Path(id) = p.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    Ok(id)
}

/// Registrars act for their own jurisdiction; administrators for any.
fn may_register(me: &SignedIn, jurisdiction: &str) -> Result<(), Problem> {
    me.require_role(&["registrar"])?;
    if me.account.role.as_deref() == Some("registrar")
        && me.account.jurisdiction.as_deref() != Some(jurisdiction)
    {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            format!("You are a registrar for another jurisdiction, not `{jurisdiction}`."),
        ));
    }
    Ok(())
}

/// The signed-in staff member as the `actor` of the log entries they write:
/// their account's role and public pseudonym.
pub fn actor_of(me: &SignedIn) -> Result<Actor, Problem> {
    let role = me
        .account
        .role
        .as_deref()
        .and_then(StaffRole::from_name)
        .ok_or_else(|| {
            Problem::internal(format!(
                "staff account {} has no staff role ({:?})",
                me.account.pseudonym, me.account.role
            ))
        })?;
    Ok(Actor::new(role, me.account.pseudonym.clone()))
}

async fn require_jurisdiction(state: &AppState, id: &str) -> Result<(), Problem> {
    let all = crate::jurisdictions::load(&state.store).await?;
    if all.get(id).is_none() {
        return Err(Problem::not_found(format!(
            "no jurisdiction `{id}` is declared in the log"
        )));
    }
    Ok(())
}

/// `PUT /api/v1/jurisdictions/{id}/roll` (registrar; body `text/csv`):
/// replaces the jurisdiction's roll. Records are hashed (Argon2id with the
/// pepper), compared with the stored roll (added, updated, retired), the
/// new version is written to the log as a `roll_version` entry, then applied.
#[utoipa::path(
    put,
    path = "/api/v1/jurisdictions/{id}/roll",
    tag = "roll",
    summary = "Replace a jurisdiction's roll (registrar)",
    params(("id" = String, Path, description = "The jurisdiction id")),
    request_body(
        content = String,
        content_type = "text/csv",
        description = "Columns `record_id,document_number,date_of_birth[,district]`, at most 256 MiB"
    ),
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 200, description = "The new roll version, written to the log", body = ref("#/components/schemas/RollVersionResult")),
        (status = 400, description = "A malformed path (`/problems/invalid-path`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Missing CSRF token, not a registrar, or another jurisdiction's (`/problems/csrf`, `/problems/forbidden`)"),
        (status = 404, description = "No such jurisdiction (`/problems/not-found`)"),
        (status = 413, description = "Over 256 MiB or the roll entry is too large (`/problems/entry-too-large`)"),
        (status = 415, description = "Not `text/csv` (`/problems/unsupported-media-type`)"),
        (status = 422, description = "The CSV is not a valid roll; `errors` lists the problems (`/problems/invalid-roll`)"),
        (status = 503, description = "Shutting down (`/problems/unavailable`)"),
    )
)]
pub async fn put_roll(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, Problem> {
    let jurisdiction = jurisdiction_path(id)?;
    may_register(&me, &jurisdiction)?;
    let actor = actor_of(&me)?;
    require_jurisdiction(&state, &jurisdiction).await?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("text/csv") {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "Send the roll as `Content-Type: text/csv` with the columns record_id,document_number,date_of_birth[,district].",
        ));
    }
    let j = jurisdiction.clone();
    let rows = tokio::task::spawn_blocking(move || veche_roll::parse_roll_csv(body.as_ref(), &j))
        .await
        .map_err(Problem::internal)?
        .map_err(|e| {
            let problems: Vec<String> = e.problems.iter().map(|p| p.to_string()).collect();
            Problem::unprocessable("invalid-roll", e.to_string()).with("errors", problems)
        })?;
    if rows.len() > MAX_ROLL_RECORDS {
        return Err(Problem::unprocessable(
            "invalid-roll",
            format!("a roll may hold at most {MAX_ROLL_RECORDS} records"),
        ));
    }
    let hasher = state.identity.hasher.clone();
    let j = jurisdiction.clone();
    let new =
        tokio::task::spawn_blocking(move || veche_roll::hash_roll(&j, &rows, &hasher, &|_, _| {}))
            .await
            .map_err(Problem::internal)?
            .map_err(|e| Problem::unprocessable("invalid-roll", e.to_string()))?;
    let stored = state.store.roll_records(&jurisdiction).await?;
    let old: Vec<HashedRecord> = stored
        .iter()
        .filter(|r| !r.retired)
        .filter_map(|r| {
            Some(HashedRecord {
                record_id: r.record_id.clone(),
                document_key: r.document_key.as_slice().try_into().ok()?,
                district: r.district.clone(),
            })
        })
        .collect();
    let diff = veche_roll::diff(&old, &new);
    let version = state
        .store
        .latest_roll_version(&jurisdiction)
        .await?
        .map_or(1, |(v, _)| v + 1);
    let payload = diff.roll_version(&jurisdiction, version, &new, actor);
    let entry = Entry::new(SystemClock.now_ms(), payload.clone())
        .encode()
        .map_err(crate::jurisdictions::invalid_entry)?;
    let index = state.log.append(entry).await?;
    let upserts: Vec<RecordUpsert> = diff
        .added
        .iter()
        .chain(diff.updated.iter().map(|u| &u.after))
        .map(|r| RecordUpsert {
            record_id: r.record_id.clone(),
            document_key: r.document_key,
            district: r.district.clone(),
        })
        .collect();
    let retire: Vec<String> = diff.retired.iter().map(|r| r.record_id.clone()).collect();
    state
        .store
        .apply_roll(
            &jurisdiction,
            version,
            &upserts,
            &retire,
            payload.records,
            &payload.commitment,
            index,
            SystemClock.now_ms(),
        )
        .await?;
    Ok(Json(json!({
        "jurisdiction": jurisdiction,
        "version": version,
        "records": payload.records,
        "added": payload.added,
        "updated": payload.updated,
        "retired": payload.retired,
        "commitment": hex::encode(payload.commitment),
        "log_index": index,
        "registrar": me.account.pseudonym,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodesRequest {
    /// The roll records to issue codes for (1–10,000).
    record_ids: Vec<String>,
    /// Days the codes stay valid (1–365, default 90).
    valid_days: Option<u32>,
}

/// `POST /api/v1/jurisdictions/{id}/enrolment-codes` (registrar): one-time
/// codes for chosen records, shown once. `Accept: text/csv` gives CSV for a
/// mail merge; otherwise JSON.
#[utoipa::path(
    post,
    path = "/api/v1/jurisdictions/{id}/enrolment-codes",
    tag = "roll",
    summary = "Issue one-time enrolment codes (registrar)",
    params(("id" = String, Path, description = "The jurisdiction id")),
    request_body = CodesRequest,
    security(("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 201, description = "The codes, shown once: CSV (`record_id,enrolment_code,expires_at`) when the request says `Accept: text/csv`, JSON otherwise", content(
            (ref("#/components/schemas/IssuedCodes") = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "A malformed path or body (`/problems/invalid-path`, `/problems/invalid-json`)"),
        (status = 401, description = "No live session (`/problems/unauthorized`)"),
        (status = 403, description = "Missing CSRF token, not a registrar, or another jurisdiction's (`/problems/csrf`, `/problems/forbidden`)"),
        (status = 413, description = "Body over 256 KiB (`/problems/body-unreadable`)"),
        (status = 415, description = "Not `application/json` (`/problems/unsupported-media-type`)"),
        (status = 422, description = "Bad field or a record not on the roll (`/problems/invalid-field`, `/problems/not-on-roll`, `/problems/invalid-body`)"),
    )
)]
pub async fn issue_codes(
    State(state): State<AppState>,
    me: SignedIn,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<CodesRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let jurisdiction = jurisdiction_path(id)?;
    may_register(&me, &jurisdiction)?;
    let req = body?.0;
    let days = req.valid_days.unwrap_or(DEFAULT_CODE_DAYS);
    if !(1..=365).contains(&days) {
        return Err(Problem::unprocessable(
            "invalid-field",
            "valid_days must be between 1 and 365",
        )
        .with(
            "errors",
            json!([{ "field": "valid_days", "message": "must be between 1 and 365" }]),
        ));
    }
    if req.record_ids.is_empty() || req.record_ids.len() > 10_000 {
        return Err(Problem::unprocessable(
            "invalid-field",
            "record_ids must list 1 to 10,000 records",
        ));
    }
    let (issued, expires_at) =
        issue_codes_core(&state, &jurisdiction, &req.record_ids, days).await?;
    let wants_csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"));
    if wants_csv {
        let mut csv = String::from("record_id,enrolment_code,expires_at\n");
        for (record, code, _) in &issued {
            csv.push_str(&format!(
                "{record},{},{expires_at}\n",
                code.grouped().as_str()
            ));
        }
        let mut resp = (StatusCode::CREATED, csv).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(resp);
    }
    let codes: Vec<_> = issued
        .iter()
        .map(|(record, code, _)| json!({ "record_id": record, "code": code.canonical().as_str(), "expires_at": expires_at }))
        .collect();
    let mut resp = (StatusCode::CREATED, Json(json!({ "codes": codes }))).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Issues one code per record (each record must be on the current roll);
/// returns the codes, shown once, and their expiry (RFC 3339).
pub async fn issue_codes_core(
    state: &AppState,
    jurisdiction: &str,
    record_ids: &[String],
    days: u32,
) -> Result<(Vec<(String, EnrolmentCode, veche_roll::StoredCode)>, String), Problem> {
    for r in record_ids {
        let rec = state.store.roll_record(jurisdiction, r).await?;
        if rec.is_none_or(|x| x.retired) {
            return Err(Problem::unprocessable(
                "not-on-roll",
                format!("record `{r}` is not on the current roll of `{jurisdiction}`"),
            ));
        }
    }
    let jurisdiction = jurisdiction.to_string();
    let req_ids = record_ids.to_vec();
    let now = SystemClock.now_ms();
    let expires = now + u64::from(days) * 86_400_000;
    let hasher = state.identity.hasher.clone();
    let ids = req_ids;
    let issued = tokio::task::spawn_blocking(move || {
        ids.into_iter()
            .map(|record| {
                let (code, stored) = EnrolmentCode::generate(&hasher);
                (record, code, stored)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(Problem::internal)?;
    let rows: Vec<EnrolmentCodeRow> = issued
        .iter()
        .map(|(record, _, stored)| EnrolmentCodeRow {
            id: stored.id.clone(),
            jurisdiction: jurisdiction.clone(),
            record_id: record.clone(),
            secret_hash: stored.secret_hash.clone(),
            expires_ms: expires,
            used_ms: None,
        })
        .collect();
    state.store.insert_enrolment_codes(&rows, now).await?;
    let expires_at = veche_entry::format_timestamp_ms(expires).unwrap_or_default();
    Ok((issued, expires_at))
}
