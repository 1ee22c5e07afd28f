//! What the petition, poll and PB-round pages share: the handlers' prologue
//! (language and visitor), rendering, and the small texts every page writes
//! the same way (bilingual fields, jurisdiction names, actors).

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;
use veche_entry::{Actor, Jurisdictions};
use veche_store::{Clock, SystemClock};

use crate::i18n::{Lang, Tr};
use crate::problem::Problem;
use crate::server::AppState;
use crate::session::{self, SignedIn};

pub(crate) fn now_ms() -> u64 {
    SystemClock.now_ms()
}

/// Renders a page with the headers every page gets, with a status code:
/// forms posted back with an error answer 4xx.
pub(crate) fn render(
    html: Result<String, askama::Error>,
    lang: Lang,
    set_lang_cookie: bool,
    status: StatusCode,
) -> Result<Response, Problem> {
    crate::pages::render_with_status(html, lang, set_lang_cookie, status)
}

/// The query of pages that take only `?lang=`.
#[derive(Deserialize, Default)]
pub struct LangParams {
    pub lang: Option<String>,
}

/// Every page handler's start: the page language, whether `?lang=` chose it
/// (then remembered in a cookie), and the signed-in visitor if any.
pub(crate) async fn visit(
    state: &AppState,
    headers: &HeaderMap,
    lang_param: Option<&str>,
) -> Result<(Lang, bool, Option<SignedIn>), Problem> {
    let (lang, explicit) = crate::pages::lang_from(lang_param, headers);
    let me = session::current(state, headers).await?;
    Ok((lang, explicit, me))
}

/// Where a signed-out visitor who posted a form is sent.
pub(crate) fn sign_in_redirect(lang: Lang) -> Response {
    Redirect::to(&format!("/sign-in?lang={}", lang.code())).into_response()
}

/// A form posted without the session's CSRF token.
pub(crate) fn csrf_refused() -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "Missing or wrong CSRF token",
        "Reload the page and try again.",
    )
}

/// A number (`key`) from the JSON answer of an API handler the page called.
pub(crate) async fn api_number(resp: Response, key: &str) -> Result<u64, Problem> {
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .map_err(Problem::internal)?;
    let v: Value = serde_json::from_slice(&bytes).map_err(Problem::internal)?;
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| Problem::internal(format!("no {key} in the API answer")))
}

/// The text of a bilingual field in the page's language.
pub(crate) fn pick(lang: Lang, ru: &str, en: &str) -> String {
    match lang {
        Lang::Ru => ru.to_string(),
        Lang::En => en.to_string(),
    }
}

/// A jurisdiction's current name, or its id if it is unknown.
pub(crate) fn jurisdiction_name(all: &Jurisdictions, id: &str, lang: Lang) -> String {
    all.get(id)
        .map(|r| pick(lang, &r.current.name_ru, &r.current.name_en))
        .unwrap_or_else(|| id.to_string())
}

/// Who acted, as the pages show it: role and pseudonym.
pub(crate) fn actor_text(a: &Actor, tr: Tr) -> String {
    format!(
        "{} {}",
        tr.t(&format!("role-{}", a.role.name())),
        a.pseudonym
    )
}
