//! Jurisdictions: declared in the log by the operator (CLI or API), listed
//! from the log by the same fold the verifier uses.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use clap::Args;
use veche_entry::{Date, EncodeError, Entry, EntryKind, Jurisdiction, Jurisdictions};
use veche_store::{Clock, Sequencer, SequencerConfig, Store, SystemClock};

use crate::config::{StorageArgs, load_or_create_key, origin_from_url, resolve_origin};
use crate::log_api::{Receipt, build_receipt};
use crate::problem::Problem;
use crate::server::AppState;

#[derive(Args, Debug, Clone)]
pub struct JurisdictionArgs {
    /// Stable id: lowercase letters, digits and `-` (e.g. kaliningrad-oblast).
    #[arg(long)]
    pub id: String,
    /// Name in Russian.
    #[arg(long)]
    pub name_ru: String,
    /// Name in English.
    #[arg(long)]
    pub name_en: String,
    /// Official population (a positive whole number).
    #[arg(long)]
    pub population: String,
    /// Where the population figure comes from.
    #[arg(long)]
    pub source: String,
    /// The date the figure refers to (YYYY-MM-DD); today if omitted.
    #[arg(long)]
    pub population_date: Option<String>,
    /// The legislature's name in Russian.
    #[arg(long)]
    pub legislature_ru: String,
    /// The legislature's name in English.
    #[arg(long)]
    pub legislature_en: String,
}

/// Parses a population: digits only, at least 1. Refuses `-5`, `1e6`,
/// `1,000` and `0` with a message that says why.
pub fn parse_population(s: &str) -> Result<u64> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        bail!("population `{s}` must be a positive whole number written with digits only");
    }
    let n: u64 = t
        .parse()
        .with_context(|| format!("population `{s}` is too large"))?;
    if n == 0 {
        bail!("population must be at least 1");
    }
    Ok(n)
}

impl JurisdictionArgs {
    fn to_jurisdiction(&self, now_ms: u64) -> Result<Jurisdiction> {
        let population_date = match &self.population_date {
            Some(d) => d
                .parse::<Date>()
                .map_err(|e| anyhow::anyhow!("--population-date `{d}`: {e}"))?,
            None => Date::from_timestamp_ms(now_ms).context("the clock is out of range")?,
        };
        Ok(Jurisdiction {
            id: self.id.clone(),
            name_ru: self.name_ru.clone(),
            name_en: self.name_en.clone(),
            population: parse_population(&self.population)?,
            population_source: self.source.clone(),
            population_date,
            legislature_ru: self.legislature_ru.clone(),
            legislature_en: self.legislature_en.clone(),
        })
    }
}

/// `veche jurisdiction add`: appends through a sequencer in this process.
/// Safe while a server runs on the same database: commits are serialised by
/// the database and checked against the stored tree size.
pub async fn add_cli(storage: &StorageArgs, args: &JurisdictionArgs) -> Result<()> {
    let clock = SystemClock;
    let now = clock.now_ms();
    let j = args.to_jurisdiction(now)?;
    let bytes = Entry::new(now, j.clone())
        .encode()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = storage.open_store().await?;
    let default_origin = origin_from_url("http://localhost:8080")?;
    let origin = resolve_origin(&store, storage.origin.as_deref(), &default_origin).await?;
    let signer = load_or_create_key(&storage.data_dir, &origin)?;
    let mut seq = Sequencer::load(
        store.clone(),
        signer,
        Arc::new(SystemClock),
        SequencerConfig::default(),
    )
    .await?;
    let index = seq.integrate(std::slice::from_ref(&bytes), true).await?;
    store.close().await;
    println!(
        "appended jurisdiction `{}` (population {}) at log index {index}, leaf hash {}",
        j.id,
        j.population,
        veche_log::leaf_hash(&bytes).to_base64()
    );
    Ok(())
}

/// Folds every jurisdiction entry of the log.
pub async fn load(store: &Store) -> Result<Jurisdictions, veche_store::StoreError> {
    let mut state = Jurisdictions::new();
    for (index, bytes) in store.entries_of_kind(Jurisdiction::KIND).await? {
        let entry = Entry::decode(&bytes).map_err(|e| {
            veche_store::StoreError::Corrupt(format!("entry {index} does not decode: {e}"))
        })?;
        state.apply(index, &entry);
    }
    Ok(state)
}

/// `veche jurisdiction list`.
pub async fn list_cli(storage: &StorageArgs, json: bool) -> Result<()> {
    let store = storage.open_store().await?;
    let state = load(&store).await?;
    store.close().await;
    if json {
        println!("{}", serde_json::to_string_pretty(&state)?);
        return Ok(());
    }
    if state.is_empty() {
        println!("No jurisdictions yet. Add one with `veche jurisdiction add`.");
        return Ok(());
    }
    println!(
        "{:<24} {:>12}  {:<10}  {:>5}  name (en)",
        "id", "population", "as of", "index"
    );
    for (id, r) in state.iter() {
        println!(
            "{:<24} {:>12}  {:<10}  {:>5}  {}",
            id, r.current.population, r.current.population_date, r.last_index, r.current.name_en
        );
    }
    Ok(())
}

/// `GET /api/v1/jurisdictions`.
#[utoipa::path(
    get,
    path = "/api/v1/jurisdictions",
    tag = "jurisdictions",
    summary = "The jurisdictions as the log declares them",
    responses(
        (status = 200, description = "Every declared jurisdiction by id", body = ref("#/components/schemas/Jurisdictions")),
        (status = 500, description = "Our failure (`/problems/internal`)"),
    )
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<Jurisdictions>, Problem> {
    Ok(Json(load(&state.store).await?))
}

/// `GET /api/v1/jurisdictions/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/jurisdictions/{id}",
    tag = "jurisdictions",
    summary = "One jurisdiction as the log declares it",
    params(("id" = String, Path, description = "The jurisdiction id, e.g. `kaliningrad-oblast`")),
    responses(
        (status = 200, description = "The jurisdiction", body = ref("#/components/schemas/JurisdictionRecord")),
        (status = 404, description = "No such jurisdiction (`/problems/not-found`)"),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let Path(id) = id.map_err(|e| Problem::bad_request("invalid-path", e.body_text()))?;
    let all = load(&state.store).await?;
    let record = all.get(&id).ok_or_else(|| {
        Problem::not_found(format!("no jurisdiction `{id}` is declared in the log"))
    })?;
    Ok(Json(record).into_response())
}

/// Maps an entry that fails its rules to 422 with the field named.
pub fn invalid_entry(e: EncodeError) -> Problem {
    match e {
        EncodeError::Invalid(v) => Problem::unprocessable("invalid-field", v.to_string()).with(
            "errors",
            serde_json::json!([{ "field": v.field, "message": v.message }]),
        ),
        EncodeError::TooLarge { .. } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "entry-too-large",
            "Entry too large",
            e.to_string(),
        ),
    }
}

/// `POST /api/v1/jurisdictions` (operator token): declares or updates a
/// jurisdiction; answers 201 with the entry's receipt once it is durable and
/// covered by a signed checkpoint.
#[utoipa::path(
    post,
    path = "/api/v1/jurisdictions",
    tag = "jurisdictions",
    summary = "Declare or update a jurisdiction (operator)",
    request_body(content = ref("#/components/schemas/Jurisdiction"), description = "The jurisdiction's JSON form"),
    security(("operator_token" = [])),
    responses(
        (status = 201, description = "Appended to the log", body = ref("#/components/schemas/JurisdictionCreated")),
        (status = 400, description = "Not JSON (`/problems/invalid-json`)"),
        (status = 401, description = "Missing or wrong operator token (`/problems/unauthorized`)"),
        (status = 413, description = "Body over 256 KiB or entry too large (`/problems/body-unreadable`, `/problems/entry-too-large`)"),
        (status = 415, description = "Not `application/json` (`/problems/unsupported-media-type`)"),
        (status = 422, description = "Wrong shape or a field breaking its rule (`/problems/invalid-body`, `/problems/invalid-field`)"),
        (status = 503, description = "Shutting down (`/problems/unavailable`)"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<Jurisdiction>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    state.operator.check(&headers)?;
    let Json(j) = body?;
    let bytes = Entry::new(SystemClock.now_ms(), j)
        .encode()
        .map_err(invalid_entry)?;
    let leaf_hash = veche_log::leaf_hash(&bytes).to_base64();
    let index = state.log.append(bytes).await?;
    // The entry is durable now: answer 201 even if no checkpoint covers it
    // yet, and say where the receipt will be.
    let receipt: Option<Receipt> = build_receipt(&state, index, state.checkpoint_interval * 3)
        .await
        .ok();
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "index": index,
            "leaf_hash": leaf_hash,
            "receipt_url": format!("{}/api/v1/log/receipt/{index}", state.public_url),
            "receipt": receipt,
        })),
    ))
}

#[cfg(test)]
mod tests {
    use super::parse_population;

    #[test]
    fn populations() {
        assert_eq!(parse_population("5000").unwrap(), 5000);
        assert_eq!(parse_population(" 146150789 ").unwrap(), 146_150_789);
        for bad in [
            "0",
            "-5",
            "1e6",
            "1,000",
            "",
            "abc",
            "99999999999999999999999",
        ] {
            assert!(parse_population(bad).is_err(), "{bad}");
        }
    }
}
