//! Server-rendered pages. Everything works without JavaScript.

use askama::Template;
use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use veche_entry::{Entry, Payload};

use crate::i18n::{Lang, Tr};
use crate::problem::Problem;
use crate::server::AppState;
use crate::session::{self, SignedIn};

/// What the page header needs to know about the visitor.
#[derive(Default)]
pub struct Nav {
    pub signed_in: bool,
    pub is_staff: bool,
    /// The session's CSRF token (empty when signed out), for forms and JS.
    pub csrf: String,
}

/// Set once at start-up by `veche --demo`: every page then carries the
/// "Demo data" banner, so demo petitions are never taken for real ones.
static DEMO_MODE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Marks this process as serving demo data (see [`Nav::demo`]).
#[cfg_attr(not(feature = "demo"), allow(dead_code))]
pub fn set_demo_mode() {
    DEMO_MODE.store(true, std::sync::atomic::Ordering::Relaxed);
}

impl Nav {
    /// Whether the page shows the "Demo data" banner (`templates/base.html`).
    pub fn demo(&self) -> bool {
        DEMO_MODE.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn of(me: Option<&SignedIn>) -> Self {
        match me {
            None => Self::default(),
            Some(m) => Self {
                signed_in: true,
                is_staff: m.account.kind == "staff",
                csrf: m.csrf_token.clone(),
            },
        }
    }
}

type LangResult = Result<Query<LangQuery>, QueryRejection>;

fn lang_of(query: LangResult, headers: &HeaderMap) -> (Lang, bool) {
    let q = query.map(|q| q.0).unwrap_or_default();
    lang_from(q.lang.as_deref(), headers)
}

/// The page language, and whether it was chosen explicitly (`?lang=`),
/// which remembers it in a cookie.
pub(crate) fn lang_from(query: Option<&str>, headers: &HeaderMap) -> (Lang, bool) {
    let explicit = query.and_then(Lang::parse).is_some();
    (Lang::negotiate(query, headers), explicit)
}

/// Renders a page with the headers every page gets.
fn render(
    html: Result<String, askama::Error>,
    lang: Lang,
    set_lang_cookie: bool,
) -> Result<Response, Problem> {
    render_with_status(html, lang, set_lang_cookie, axum::http::StatusCode::OK)
}

/// As `render`, with a status code (forms posted back with an error answer 4xx).
pub(crate) fn render_with_status(
    html: Result<String, askama::Error>,
    lang: Lang,
    set_lang_cookie: bool,
    status: axum::http::StatusCode,
) -> Result<Response, Problem> {
    let mut resp = (status, Html(html.map_err(Problem::internal)?)).into_response();
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
    h.insert(
        header::HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if set_lang_cookie {
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
    pub nav: Nav,
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
        Payload::RollVersion(r) => (
            tr.t("kind-roll-version"),
            format!(
                "{} v{} — {} {} — {} {}",
                r.jurisdiction,
                r.version,
                lang.number(r.records),
                tr.t("roll-records"),
                tr.t(&format!("role-{}", r.actor.role.name())),
                r.actor.pseudonym
            ),
        ),
        other => (
            other.kind_name().replace('_', " "),
            petition_of(other)
                .map(|id| format!("{} {id}", tr.t("petition")))
                .unwrap_or_default(),
        ),
    }
}

/// The petition an entry is about, if it is a petition entry.
fn petition_of(p: &Payload) -> Option<u64> {
    Some(match p {
        Payload::PetitionOpened(x) => x.petition,
        Payload::PetitionRejected(x) => x.petition,
        Payload::Signature(x) => x.petition,
        Payload::ThresholdReached(x) => x.petition,
        Payload::SignatureInvalidated(x) => x.petition,
        Payload::PetitionDelivered(x) => x.petition,
        Payload::PetitionAcknowledged(x) => x.petition,
        Payload::ConsiderationScheduled(x) => x.petition,
        Payload::PetitionAnswered(x) => x.petition,
        Payload::PetitionClosed(x) => x.petition,
        _ => return None,
    })
}

/// `GET /`: the log, its latest entries and how to verify it.
pub async fn index(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: LangResult,
) -> Result<Response, Problem> {
    let (lang, explicit) = lang_of(query, &headers);
    let me = session::current(&state, &headers).await?;
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
        nav: Nav::of(me.as_ref()),
        origin: &state.origin,
        vkey: &state.vkey,
        size: cp.size,
        root_hash: cp.root.to_base64(),
        checkpoint: &cp.note,
        public_url: &state.public_url,
        entries,
    };
    render(page.render(), lang, explicit)
}

#[derive(Template)]
#[template(path = "enrol.html")]
pub struct EnrolPage {
    pub tr: Tr,
    pub nav: Nav,
    pub jurisdictions: Vec<(String, String)>,
}

/// `GET /enrol`.
pub async fn enrol(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: LangResult,
) -> Result<Response, Problem> {
    let (lang, explicit) = lang_of(query, &headers);
    let me = session::current(&state, &headers).await?;
    let all = crate::jurisdictions::load(&state.store).await?;
    let jurisdictions = all
        .iter()
        .map(|(id, r)| {
            let name = match lang {
                Lang::Ru => &r.current.name_ru,
                Lang::En => &r.current.name_en,
            };
            (id.to_string(), name.clone())
        })
        .collect();
    let page = EnrolPage {
        tr: Tr(lang),
        nav: Nav::of(me.as_ref()),
        jurisdictions,
    };
    render(page.render(), lang, explicit)
}

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignInPage {
    pub tr: Tr,
    pub nav: Nav,
}

/// `GET /sign-in`.
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: LangResult,
) -> Result<Response, Problem> {
    let (lang, explicit) = lang_of(query, &headers);
    let me = session::current(&state, &headers).await?;
    render(
        SignInPage {
            tr: Tr(lang),
            nav: Nav::of(me.as_ref()),
        }
        .render(),
        lang,
        explicit,
    )
}

pub struct PasskeyRow {
    pub id: String,
    pub label: String,
    pub created: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub tr: Tr,
    pub nav: Nav,
    pub pseudonym: String,
    pub kind: String,
    pub jurisdiction: String,
    pub passkeys: Vec<PasskeyRow>,
}

fn when(ms: u64) -> String {
    veche_entry::format_timestamp_ms(ms)
        .map(|t| t[..16].replace('T', " "))
        .unwrap_or_default()
}

/// `GET /account`: the signed-in account and its passkeys.
pub async fn account(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: LangResult,
) -> Result<Response, Problem> {
    let (lang, explicit) = lang_of(query, &headers);
    let Some(me) = session::current(&state, &headers).await? else {
        return Ok(Redirect::to(&format!("/sign-in?lang={}", lang.code())).into_response());
    };
    let tr = Tr(lang);
    let passkeys = state
        .store
        .credentials_of(&me.account.id)
        .await?
        .into_iter()
        .enumerate()
        .map(|(i, c)| PasskeyRow {
            id: base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &c.id),
            label: format!("{} {}", tr.t("account-passkey"), i + 1),
            created: when(c.created_ms),
            last_used: c.last_used_ms.map(when).unwrap_or_else(|| "—".into()),
        })
        .collect();
    let kind_key = match (me.account.kind.as_str(), me.account.role.as_deref()) {
        ("staff", Some(role)) => format!("role-{role}"),
        _ => "account-kind-citizen".to_string(),
    };
    let jurisdiction = match me.account.jurisdiction.as_deref() {
        None => "—".to_string(),
        Some(id) => crate::jurisdictions::load(&state.store)
            .await?
            .get(id)
            .map(|r| match lang {
                Lang::Ru => r.current.name_ru.clone(),
                Lang::En => r.current.name_en.clone(),
            })
            .unwrap_or_else(|| id.to_string()),
    };
    let page = AccountPage {
        tr,
        pseudonym: me.account.pseudonym.clone(),
        kind: tr.t(&kind_key),
        jurisdiction,
        passkeys,
        nav: Nav::of(Some(&me)),
    };
    render(page.render(), lang, explicit)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

fn check_form_csrf(me: &SignedIn, given: &str) -> Result<(), Problem> {
    if given != me.csrf_token {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "Missing or wrong CSRF token",
            "The form is out of date; reload the page and try again.",
        ));
    }
    Ok(())
}

/// `POST /sign-out` (a plain form, no JavaScript needed).
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: LangResult,
    form: Form<CsrfForm>,
) -> Result<Response, Problem> {
    let (lang, _) = lang_of(query, &headers);
    if let Some(me) = session::current(&state, &headers).await? {
        check_form_csrf(&me, &form.csrf)?;
        state.store.delete_session(&me.session_hash).await?;
    }
    let mut resp = Redirect::to(&format!("/?lang={}", lang.code())).into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie());
    Ok(resp)
}

#[derive(Template)]
#[template(path = "invite.html")]
pub struct InvitePage {
    pub tr: Tr,
    pub nav: Nav,
    pub invite: String,
}

/// `GET /staff/invite/{token}`.
pub async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: LangResult,
    Path(token): Path<String>,
) -> Result<Response, Problem> {
    let (lang, explicit) = lang_of(query, &headers);
    let me = session::current(&state, &headers).await?;
    render(
        InvitePage {
            tr: Tr(lang),
            nav: Nav::of(me.as_ref()),
            invite: token,
        }
        .render(),
        lang,
        explicit,
    )
}

#[derive(Template)]
#[template(path = "staff.html")]
pub struct StaffPage {
    pub tr: Tr,
    pub nav: Nav,
    pub pseudonym: String,
    pub role: String,
    pub jurisdiction: String,
    pub is_admin: bool,
    pub is_registrar: bool,
    pub roles: &'static [&'static str],
    pub public_url: String,
    pub message: String,
    pub output: String,
}

async fn staff_page(
    state: &AppState,
    headers: &HeaderMap,
    lang: Lang,
    message: String,
    output: String,
) -> Result<Response, Problem> {
    let Some(me) = session::current(state, headers).await? else {
        return Ok(Redirect::to(&format!("/sign-in?lang={}", lang.code())).into_response());
    };
    if me.account.kind != "staff" {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "The staff console is for staff accounts.",
        ));
    }
    let role = me.account.role.clone().unwrap_or_default();
    let page = StaffPage {
        tr: Tr(lang),
        pseudonym: me.account.pseudonym.clone(),
        is_admin: role == "admin",
        is_registrar: role == "admin" || role == "registrar",
        jurisdiction: me.account.jurisdiction.clone().unwrap_or_default(),
        role,
        roles: crate::identity_api::STAFF_ROLES,
        public_url: state.public_url.to_string(),
        message,
        output,
        nav: Nav::of(Some(&me)),
    };
    render(page.render(), lang, false)
}

/// `GET /staff`: the staff console.
pub async fn staff(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: LangResult,
) -> Result<Response, Problem> {
    let (lang, _) = lang_of(query, &headers);
    staff_page(&state, &headers, lang, String::new(), String::new()).await
}

/// The signed-in staff member behind a console form: a session, the form's
/// CSRF token, and one of `roles` (administrators pass every role check).
async fn staff_form_user(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
    roles: &[&str],
) -> Result<SignedIn, Problem> {
    let me = session::current(state, headers)
        .await?
        .ok_or_else(|| Problem::unauthorized("Sign in first."))?;
    check_form_csrf(&me, csrf)?;
    me.require_role(roles)?;
    Ok(me)
}

#[derive(Deserialize)]
pub struct InviteForm {
    csrf: String,
    role: String,
    jurisdiction: Option<String>,
}

/// `POST /staff/invites` (form): an administrator creates an invite link.
pub async fn staff_invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: LangResult,
    Form(form): Form<InviteForm>,
) -> Result<Response, Problem> {
    let (lang, _) = lang_of(query, &headers);
    let me = staff_form_user(&state, &headers, &form.csrf, &["admin"]).await?;
    let j = form
        .jurisdiction
        .as_deref()
        .map(str::trim)
        .filter(|j| !j.is_empty());
    let (message, output) = match crate::identity_api::create_invite(
        &state.store,
        &state.public_url,
        &form.role,
        j,
        Some(&me.account.id),
        crate::identity_api::INVITE_VALID_MS,
    )
    .await
    {
        Ok(link) => (Tr(lang).t("staff-invite-created"), link),
        Err(p) => (p.detail, String::new()),
    };
    staff_page(&state, &headers, lang, message, output).await
}

#[derive(Deserialize)]
pub struct CodesForm {
    csrf: String,
    jurisdiction: String,
    records: String,
}

/// `POST /staff/codes` (form): a registrar issues enrolment codes, shown once
/// in a printable list.
pub async fn staff_codes(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: LangResult,
    Form(form): Form<CodesForm>,
) -> Result<Response, Problem> {
    let (lang, _) = lang_of(query, &headers);
    staff_form_user(&state, &headers, &form.csrf, &["registrar"]).await?;
    let jurisdiction = form.jurisdiction.trim().to_string();
    let records: Vec<String> = form
        .records
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let (message, output) = match crate::roll_api::issue_codes_core(
        &state,
        &jurisdiction,
        &records,
        crate::roll_api::DEFAULT_CODE_DAYS,
    )
    .await
    {
        Ok((issued, expires)) => {
            let mut out = String::new();
            for (record, code, _) in &issued {
                out.push_str(&format!(
                    "{record}  {}  (→ {expires})\n",
                    code.grouped().as_str()
                ));
            }
            (Tr(lang).t("staff-codes-created"), out)
        }
        Err(p) => (p.detail, String::new()),
    };
    staff_page(&state, &headers, lang, message, output).await
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

pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/passkey.js"),
    )
}
