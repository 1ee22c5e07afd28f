//! The public log: C2SP tlog-tiles paths under `/log/`, and JSON under
//! `/api/v1/log` (log info, decoded entries, receipts and proofs).

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use veche_log::tiles::TilePath;
use veche_store::publish;

use crate::problem::Problem;
use crate::server::{AppState, IMMUTABLE};

/// `GET /log/checkpoint`: the latest signed checkpoint (C2SP signed note),
/// with the witnesses' cosignatures over it (src/witness.rs).
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, Problem> {
    let cp = state.log.checkpoint();
    if cp.note.is_empty() {
        return Err(Problem::unavailable(
            "The log has not signed a checkpoint yet.",
        ));
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        state.cosignatures.attach(&cp.note),
    )
        .into_response())
}

/// `GET /log/tile/<L>/<N>[.p/<W>]` and `GET /log/tile/entries/<N>[.p/<W>]`.
pub async fn tile(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let Path(rest) = path.map_err(|e| Problem::bad_request("invalid-tile-path", e.body_text()))?;
    let full = format!("tile/{rest}");
    let parsed = TilePath::parse(&full).map_err(|e| {
        Problem::bad_request(
            "invalid-tile-path",
            format!("`/log/{full}` is not a C2SP tlog-tiles path: {e}"),
        )
    })?;
    let data = publish::read_path(&state.store, &parsed)
        .await?
        .ok_or_else(|| {
            Problem::not_found(format!(
                "/log/{full} does not exist yet: the log is not that large"
            ))
        })?;
    // Tile contents never change, so a digest of them is a strong validator.
    let etag = format!("\"{}\"", &blake3::hash(&data).to_hex()[..32]);
    // A partial tile never changes either, but is wanted only while it is
    // the right edge of the latest tree: caches keep it briefly.
    let cache = if parsed.is_partial() {
        PARTIAL_TILE_CACHE
    } else {
        IMMUTABLE
    };
    let headers_out = [
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ),
        (
            header::ETAG,
            HeaderValue::from_str(&etag).map_err(Problem::internal)?,
        ),
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        ),
    ];
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            // If-None-Match compares weakly (RFC 9110 §13.1.2).
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        })
    {
        return Ok((StatusCode::NOT_MODIFIED, headers_out).into_response());
    }
    Ok((headers_out, data).into_response())
}

/// `Cache-Control` of partial tiles (`.p/W`).
pub const PARTIAL_TILE_CACHE: &str = "public, max-age=60";

/// What the log is and where its tiles are.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LogInfo {
    /// The log's origin line (its name in checkpoints).
    origin: String,
    /// The C2SP signed-note verifier key of the log.
    vkey: String,
    /// The tree size of the latest checkpoint.
    size: u64,
    /// The root hash of that tree (base64).
    root_hash: String,
    /// The latest checkpoint, a C2SP signed note.
    checkpoint: String,
    tile_height: u8,
    checkpoint_url: String,
    tiles_url: String,
    /// Whether the node that answered is the log's sequencer now (with
    /// several nodes on one PostgreSQL, exactly one is).
    sequencer: bool,
}

/// `GET /api/v1/log`.
#[utoipa::path(
    get,
    path = "/api/v1/log",
    tag = "log",
    summary = "The log's origin, verifier key and latest checkpoint",
    responses((status = 200, description = "The log", body = LogInfo))
)]
pub async fn info(State(state): State<AppState>) -> Json<LogInfo> {
    let cp = state.log.checkpoint();
    Json(LogInfo {
        origin: state.origin.to_string(),
        vkey: state.vkey.to_string(),
        size: cp.size,
        root_hash: cp.root.to_base64(),
        checkpoint: cp.note.clone(),
        tile_height: veche_log::tiles::TILE_HEIGHT,
        checkpoint_url: format!("{}/log/checkpoint", state.public_url),
        tiles_url: format!("{}/log/tile/", state.public_url),
        sequencer: state.log.is_sequencer(),
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntriesQuery {
    /// The first index; without it, the latest `limit` entries.
    start: Option<u64>,
    /// How many entries, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
}

/// One decoded log entry.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub index: u64,
    /// RFC 9162 leaf hash (base64).
    pub leaf_hash: String,
    /// The entry kind's name, e.g. `jurisdiction`.
    pub kind: String,
    /// RFC 3339 timestamp of the entry.
    pub timestamp: String,
    /// The JSON form of the entry (`specs/entries.md`).
    #[schema(value_type = Object)]
    pub entry: Value,
    /// Base64 of the canonical encoding.
    pub bytes: String,
}

pub const MAX_ENTRIES_PAGE: u64 = 100;

/// Decodes stored entries for display. A stored entry that does not decode
/// would be a bug in the sequencer's validation; it is shown as such.
pub fn entry_views(start: u64, raw: Vec<Vec<u8>>) -> Vec<EntryView> {
    raw.into_iter()
        .enumerate()
        .map(|(i, bytes)| {
            let (kind, timestamp, entry) = match veche_entry::Entry::decode(&bytes) {
                Ok(e) => (
                    e.kind_name().to_string(),
                    e.timestamp_rfc3339().unwrap_or_default(),
                    serde_json::to_value(&e).unwrap_or(Value::Null),
                ),
                Err(err) => (
                    "undecodable".into(),
                    String::new(),
                    Value::String(err.to_string()),
                ),
            };
            EntryView {
                index: start + i as u64,
                leaf_hash: veche_log::leaf_hash(&bytes).to_base64(),
                kind,
                timestamp,
                entry,
                bytes: B64.encode(&bytes),
            }
        })
        .collect()
}

/// `GET /api/v1/log/entries?start=S&limit=L`: decoded entries in log order;
/// without `start`, the latest `limit` entries of the published tree.
#[utoipa::path(
    get,
    path = "/api/v1/log/entries",
    tag = "log",
    summary = "Decoded entries of the published tree",
    params(EntriesQuery),
    responses(
        (status = 200, description = "A page of entries", body = ref("#/components/schemas/EntriesPage")),
        (status = 400, description = "A query parameter missing, malformed, unknown or out of range (`/problems/invalid-query`)"),
    )
)]
pub async fn entries(
    State(state): State<AppState>,
    query: Result<Query<EntriesQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(20);
    if limit == 0 || limit > MAX_ENTRIES_PAGE {
        return Err(Problem::bad_request(
            "invalid-query",
            format!("limit must be between 1 and {MAX_ENTRIES_PAGE}"),
        ));
    }
    let size = state.log.checkpoint().size;
    let start = q.start.unwrap_or(size.saturating_sub(limit));
    let end = start.saturating_add(limit).min(size);
    let raw = if start < end {
        state.store.entries(start, end).await?
    } else {
        Vec::new()
    };
    Ok(Json(serde_json::json!({
        "tree_size": size,
        "start": start,
        "entries": entry_views(start, raw),
    })))
}

/// A receipt: everything needed to check offline that an entry is in the
/// log (`specs/receipts.md`).
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct Receipt {
    pub format: String,
    pub origin: String,
    pub index: u64,
    pub leaf_hash: String,
    pub entry: String,
    pub tree_size: u64,
    pub inclusion_proof: Vec<String>,
    pub checkpoint: String,
}

pub const RECEIPT_FORMAT: &str = "veche-receipt/v1";

/// Builds the receipt of entry `index` against the latest checkpoint,
/// waiting (up to `wait`) for a checkpoint that covers it.
pub async fn build_receipt(
    state: &AppState,
    index: u64,
    wait: Duration,
) -> Result<Receipt, Problem> {
    let committed = state.store.tree_state().await?.size;
    if index >= committed {
        return Err(Problem::not_found(format!(
            "entry {index} does not exist: the log has {committed} entries"
        )));
    }
    let cp = tokio::time::timeout(wait, state.log.wait_for_checkpoint(index + 1))
        .await
        .map_err(|_| {
            Problem::unavailable(format!(
                "entry {index} is committed but not yet covered by a signed checkpoint; retry in a second"
            ))
        })??;
    let entry = state
        .store
        .entries(index, index + 1)
        .await?
        .pop()
        .ok_or_else(|| Problem::internal(format!("entry {index} missing")))?;
    let proof = publish::inclusion_proof(&state.store, index, cp.size).await?;
    Ok(Receipt {
        format: RECEIPT_FORMAT.into(),
        origin: state.origin.to_string(),
        index,
        leaf_hash: veche_log::leaf_hash(&entry).to_base64(),
        entry: B64.encode(&entry),
        tree_size: cp.size,
        inclusion_proof: proof.iter().map(|h| h.to_base64()).collect(),
        checkpoint: cp.note.clone(),
    })
}

/// `GET /api/v1/log/receipt/{index}`.
#[utoipa::path(
    get,
    path = "/api/v1/log/receipt/{index}",
    tag = "log",
    summary = "The receipt of an entry against the latest checkpoint",
    params(("index" = u64, Path, description = "The entry's log index")),
    responses(
        (status = 200, description = "The receipt (`specs/receipts.md`)", body = Receipt),
        (status = 400, description = "The index is not a number (`/problems/invalid-index`)"),
        (status = 404, description = "No such entry (`/problems/not-found`)"),
        (status = 503, description = "Committed but not yet covered by a checkpoint (`/problems/unavailable`)"),
    )
)]
pub async fn receipt(
    State(state): State<AppState>,
    index: Result<Path<u64>, PathRejection>,
) -> Result<Response, Problem> {
    let Path(index) = index.map_err(|e| Problem::bad_request("invalid-index", e.body_text()))?;
    let r = build_receipt(&state, index, state.checkpoint_interval * 2).await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&format!("inline; filename=\"veche-receipt-{index}.json\""))
                .map_err(Problem::internal)?,
        )],
        Json(r),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The entry's log index.
    index: u64,
    /// The tree size to prove against (default: the latest checkpoint's).
    size: Option<u64>,
}

/// `GET /api/v1/log/proof/inclusion?index=I[&size=N]`.
#[utoipa::path(
    get,
    path = "/api/v1/log/proof/inclusion",
    tag = "log",
    summary = "RFC 9162 inclusion proof",
    params(InclusionQuery),
    responses(
        (status = 200, description = "The proof", body = ref("#/components/schemas/InclusionProof")),
        (status = 400, description = "A query parameter missing, malformed or unknown (`/problems/invalid-query`)"),
        (status = 404, description = "The size is beyond the log (`/problems/not-found`)"),
        (status = 422, description = "index ≥ size (`/problems/invalid-proof-request`)"),
    )
)]
pub async fn inclusion_proof(
    State(state): State<AppState>,
    query: Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(q) = query?;
    let size = q.size.unwrap_or(state.log.checkpoint().size);
    let proof = publish::inclusion_proof(&state.store, q.index, size).await?;
    let leaf = state
        .store
        .entries(q.index, q.index + 1)
        .await?
        .pop()
        .map(|e| veche_log::leaf_hash(&e).to_base64());
    Ok(Json(serde_json::json!({
        "index": q.index,
        "tree_size": size,
        "leaf_hash": leaf,
        "inclusion_proof": proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older tree size.
    from: u64,
    /// The newer tree size (default: the latest checkpoint's).
    to: Option<u64>,
}

/// `GET /api/v1/log/proof/consistency?from=M[&to=N]`.
#[utoipa::path(
    get,
    path = "/api/v1/log/proof/consistency",
    tag = "log",
    summary = "RFC 9162 consistency proof",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The proof", body = ref("#/components/schemas/ConsistencyProof")),
        (status = 400, description = "A query parameter missing, malformed or unknown (`/problems/invalid-query`)"),
        (status = 404, description = "A size is beyond the log (`/problems/not-found`)"),
        (status = 422, description = "from > to (`/problems/invalid-proof-request`)"),
    )
)]
pub async fn consistency_proof(
    State(state): State<AppState>,
    query: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(q) = query?;
    let to = q.to.unwrap_or(state.log.checkpoint().size);
    let proof = publish::consistency_proof(&state.store, q.from, to).await?;
    Ok(Json(serde_json::json!({
        "from": q.from,
        "to": to,
        "consistency_proof": proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
    })))
}
