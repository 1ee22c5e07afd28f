//! Server-rendered pages. Everything works without JavaScript.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use veche_entry::{Entry, Payload};

use crate::i18n::{Lang, Tr};
use crate::problem::Problem;
use crate::server::AppState;

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

pub struct EntryRow {
    pub index: u64,
    pub time: String,
    pub kind: String,
    pub summary: String,
    pub leaf_hash: String,
}

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    pub tr: Tr,
    pub origin: &'a str,
    pub vkey: &'a str,
    pub size: u64,
    pub root_hash: String,
    pub checkpoint: &'a str,
    pub public_url: &'a str,
    pub entries: Vec<EntryRow>,
}

fn summarize(entry: &Entry, lang: Lang) -> (String, String) {
    let tr = Tr(lang);
    match &entry.payload {
        Payload::Jurisdiction(j) => {
            let (name, legislature) = match lang {
                Lang::Ru => (&j.name_ru, &j.legislature_ru),
                Lang::En => (&j.name_en, &j.legislature_en),
            };
            (
                tr.t("kind-jurisdiction"),
                format!(
                    "{name} ({}) — {}: {} ({}); {}: {legislature}",
                    j.id,
                    tr.t("population"),
                    lang.number(j.population),
                    j.population_date,
                    tr.t("legislature")
                ),
            )
        }
        #[allow(unreachable_patterns)]
        other => (entry.kind_name().to_string(), format!("{other:?}")),
    }
}

/// `GET /`: the log, its latest entries and how to verify it.
pub async fn index(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let q = query.map(|q| q.0).unwrap_or_default();
    let lang = Lang::negotiate(q.lang.as_deref(), &headers);
    let cp = state.log.checkpoint();
    let start = cp.size.saturating_sub(20);
    let raw = if cp.size > 0 {
        state.store.entries(start, cp.size).await?
    } else {
        Vec::new()
    };
    let mut entries: Vec<EntryRow> = raw
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let (kind, summary, time) = match Entry::decode(bytes) {
                Ok(e) => {
                    let (k, s) = summarize(&e, lang);
                    (k, s, e.timestamp_rfc3339().unwrap_or_default())
                }
                Err(err) => ("?".into(), err.to_string(), String::new()),
            };
            EntryRow {
                index: start + i as u64,
                time: time.replace('T', " ").trim_end_matches('Z').to_string(),
                kind,
                summary,
                leaf_hash: veche_log::leaf_hash(bytes).to_hex()[..16].to_string(),
            }
        })
        .collect();
    entries.reverse();
    let page = IndexPage {
        tr: Tr(lang),
        origin: &state.origin,
        vkey: &state.vkey,
        size: cp.size,
        root_hash: cp.root.to_base64(),
        checkpoint: &cp.note,
        public_url: &state.public_url,
        entries,
    };
    let html = page.render().map_err(Problem::internal)?;
    let mut resp = Html(html).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    h.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.code()),
    );
    if q.lang.as_deref().and_then(Lang::parse).is_some() {
        h.insert(
            header::SET_COOKIE,
            HeaderValue::from_str(&format!(
                "veche_lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
                lang.code()
            ))
            .map_err(Problem::internal)?,
        );
    }
    Ok(resp)
}

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/veche.css"),
    )
}
