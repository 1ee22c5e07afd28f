//! Browser tests: the enrolment, sign-in and passkey pages in headless
//! Chromium, with a CDP WebAuthn virtual authenticator standing in for the
//! citizen's platform passkey, in Russian and English.
//!
//! They need Chromium: set `VECHE_TEST_CHROMIUM` to its executable (e.g.
//! `/usr/bin/chromium` from Debian's `chromium` package); when it is unset
//! every test prints `skipped: …` and passes. Screenshots of /enrol and
//! /account land in `target/screenshots/`.

#[allow(dead_code)]
#[path = "../server/common.rs"]
mod common;
mod pb_rounds;
mod petitions;
mod polls;
mod setup;

use std::ops::Deref;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::cdp::browser_protocol::target::{
    CreateBrowserContextParams, CreateTargetParams,
};
use chromiumoxide::cdp::browser_protocol::web_authn::{
    AddVirtualAuthenticatorParams, AuthenticatorId, AuthenticatorProtocol, AuthenticatorTransport,
    EnableParams, GetCredentialsParams, RemoveVirtualAuthenticatorParams,
    VirtualAuthenticatorOptions,
};
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures::StreamExt;
use serde_json::Value;

use common::{Backend, TestApp, TestDb};

/// How long any one step may take before the test fails.
pub(crate) const STEP: Duration = Duration::from_secs(20);

#[derive(Clone, Copy)]
pub(crate) enum Lang {
    Ru,
    En,
}

/// The visible texts the tests expect, per language.
pub(crate) struct Texts {
    pub(crate) code: &'static str,
    pub(crate) enrol_h1: &'static str,
    pub(crate) sign_in_h1: &'static str,
    pub(crate) sign_in_button: &'static str,
    pub(crate) account_h1: &'static str,
    pub(crate) add_passkey: &'static str,
    pub(crate) revoke: &'static str,
    pub(crate) sign_out: &'static str,
}

impl Lang {
    pub(crate) fn code(self) -> &'static str {
        self.texts().code
    }

    pub(crate) fn texts(self) -> Texts {
        match self {
            Lang::Ru => Texts {
                code: "ru",
                enrol_h1: "Регистрация для подписи петиций и голосования",
                sign_in_h1: "Вход",
                sign_in_button: "Войти с ключом доступа",
                account_h1: "Ваша учётная запись",
                add_passkey: "Добавить ещё один ключ доступа",
                revoke: "Отозвать",
                sign_out: "Выйти",
            },
            Lang::En => Texts {
                code: "en",
                enrol_h1: "Enrol to sign petitions and vote",
                sign_in_h1: "Sign in",
                sign_in_button: "Sign in with a passkey",
                account_h1: "Your account",
                add_passkey: "Add another passkey",
                revoke: "Revoke",
                sign_out: "Sign out",
            },
        }
    }
}

/// The Chromium executable, or `None` after printing why the test is skipped.
pub(crate) fn chromium() -> Option<String> {
    match std::env::var("VECHE_TEST_CHROMIUM") {
        Ok(path) if !path.is_empty() => Some(path),
        _ => {
            common::skip("browser tests: VECHE_TEST_CHROMIUM is not set");
            None
        }
    }
}

/// A headless Chromium with a fresh profile, its CDP event loop, and one
/// tab (in the default browser context), which it derefs to.
pub(crate) struct Chromium {
    browser: Browser,
    events: tokio::task::JoinHandle<()>,
    tab: Tab,
    _profile: tempfile::TempDir,
}

impl Deref for Chromium {
    type Target = Tab;

    fn deref(&self) -> &Tab {
        &self.tab
    }
}

/// One tab and the helpers that drive it.
pub(crate) struct Tab {
    pub(crate) page: Page,
}

impl Chromium {
    pub(crate) async fn launch(executable: &str) -> Self {
        let profile = tempfile::Builder::new()
            .prefix("veche-chromium-")
            .tempdir()
            .unwrap();
        let config = BrowserConfig::builder()
            .chrome_executable(executable)
            .no_sandbox()
            .user_data_dir(profile.path())
            .args([
                "disable-gpu",
                "disable-quic",
                "no-first-run",
                "disable-background-networking",
                "disable-component-update",
                "disable-sync",
            ])
            .window_size(1024, 800)
            .viewport(Viewport {
                width: 1024,
                height: 800,
                device_scale_factor: Some(1.0),
                emulating_mobile: false,
                is_landscape: true,
                has_touch: false,
            })
            .launch_timeout(Duration::from_secs(30))
            .request_timeout(STEP)
            .build()
            .expect("browser config");
        let (browser, mut handler) = Browser::launch(config)
            .await
            .unwrap_or_else(|e| panic!("cannot start {executable}: {e}"));
        // Every CDP call waits on this loop; a message it cannot parse (a
        // newer Chromium's event) is no reason to stop it.
        let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
        let page = browser.new_page("about:blank").await.expect("new tab");
        Self {
            browser,
            events,
            tab: Tab { page },
            _profile: profile,
        }
    }

    /// A tab in a browser context of its own: its own cookies and storage,
    /// as if it were another person's browser.
    pub(crate) async fn new_context_tab(&self) -> Tab {
        let context = self
            .browser
            .create_browser_context(CreateBrowserContextParams::default())
            .await
            .expect("Target.createBrowserContext");
        let target = CreateTargetParams::builder()
            .url("about:blank")
            .browser_context_id(context)
            .build()
            .expect("target params");
        let page = self
            .browser
            .new_page(target)
            .await
            .expect("new tab in its own context");
        Tab { page }
    }

    pub(crate) async fn close(mut self) {
        let _ = self.browser.close().await;
        let _ = self.browser.wait().await;
        self.events.abort();
    }
}

impl Tab {
    /// A platform passkey authenticator (internal transport, resident keys,
    /// user verification, presence confirmed automatically).
    pub(crate) async fn add_authenticator(&self) -> AuthenticatorId {
        let options = VirtualAuthenticatorOptions::builder()
            .protocol(AuthenticatorProtocol::Ctap2)
            .transport(AuthenticatorTransport::Internal)
            .has_resident_key(true)
            .has_user_verification(true)
            .is_user_verified(true)
            .automatic_presence_simulation(true)
            .build()
            .unwrap();
        self.page
            .execute(AddVirtualAuthenticatorParams::new(options))
            .await
            .expect("WebAuthn.addVirtualAuthenticator")
            .result
            .authenticator_id
    }

    pub(crate) async fn enable_webauthn(&self) -> AuthenticatorId {
        self.page
            .execute(EnableParams::default())
            .await
            .expect("WebAuthn.enable");
        self.add_authenticator().await
    }

    pub(crate) async fn remove_authenticator(&self, id: AuthenticatorId) {
        self.page
            .execute(RemoveVirtualAuthenticatorParams::new(id))
            .await
            .expect("WebAuthn.removeVirtualAuthenticator");
    }

    pub(crate) async fn credentials(&self, id: &AuthenticatorId) -> usize {
        self.page
            .execute(GetCredentialsParams::new(id.clone()))
            .await
            .expect("WebAuthn.getCredentials")
            .result
            .credentials
            .len()
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.page
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
    }

    /// Evaluates a JS expression; `None` while the page is between documents.
    pub(crate) async fn eval(&self, js: &str) -> Option<Value> {
        self.page
            .evaluate(js)
            .await
            .ok()
            .and_then(|r| r.value().cloned())
    }

    /// Waits until `cond` (a JS expression) is true on the current page;
    /// fails at once, with its text, when the page shows an error status.
    pub(crate) async fn wait_for(&self, what: &str, cond: &str) {
        let js = format!(
            "(() => {{ const s = document.querySelector('#status'); \
             const err = s && !s.hidden && s.classList.contains('error') ? s.textContent : null; \
             let ok = false; try {{ ok = !!({cond}); }} catch (_) {{}} \
             return {{ ok, err, url: location.href, status: s ? s.textContent : null }}; }})()"
        );
        let deadline = Instant::now() + STEP;
        let mut last = Value::Null;
        loop {
            if let Some(v) = self.eval(&js).await {
                if v["ok"] == true {
                    return;
                }
                if let Some(err) = v["err"].as_str() {
                    panic!("{what}: the page shows an error: {err:?} (at {})", v["url"]);
                }
                last = v;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not reached in {STEP:?}; last seen {last}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for /account with its passkey table, in any state.
    pub(crate) async fn wait_for_account(&self, what: &str) {
        self.wait_for(
            what,
            "location.pathname === '/account' && document.querySelector('[data-testid=passkeys]')",
        )
        .await;
    }

    /// The sign-out button (a plain form) ends the session: /account then
    /// sends to /sign-in.
    pub(crate) async fn sign_out(&self, url: &str, lang: &str) {
        self.click("[data-testid=sign-out]").await;
        self.wait_for("sign-out", "location.pathname === '/'").await;
        // /account now redirects to /sign-in. Checked with a fetch that does
        // not follow the redirect: loading /sign-in itself would start passkey
        // autofill, which the virtual authenticator answers at once.
        let redirect = self
            .eval(&format!(
                "fetch('{url}/account?lang={lang}', {{redirect: 'manual', credentials: 'same-origin'}}).then(r => r.type)"
            ))
            .await;
        assert_eq!(
            redirect.as_ref().and_then(|v| v.as_str()),
            Some("opaqueredirect"),
            "/account without a session redirects"
        );
    }

    pub(crate) async fn click(&self, selector: &str) {
        self.page
            .find_element(selector)
            .await
            .unwrap_or_else(|e| panic!("no {selector}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {selector}: {e}"));
    }

    pub(crate) async fn type_into(&self, selector: &str, text: &str) {
        self.page
            .find_element(selector)
            .await
            .unwrap_or_else(|e| panic!("no {selector}: {e}"))
            .click()
            .await
            .unwrap()
            .type_str(text)
            .await
            .unwrap_or_else(|e| panic!("type into {selector}: {e}"));
    }

    pub(crate) async fn text(&self, selector: &str) -> String {
        let js = format!(
            "(() => {{ const e = document.querySelector({}); return e ? e.textContent.trim() : null; }})()",
            Value::from(selector)
        );
        match self.eval(&js).await {
            Some(Value::String(s)) => s,
            other => panic!("no text at {selector}: {other:?}"),
        }
    }

    pub(crate) async fn count(&self, selector: &str) -> u64 {
        let js = format!(
            "document.querySelectorAll({}).length",
            Value::from(selector)
        );
        self.eval(&js).await.and_then(|v| v.as_u64()).unwrap()
    }

    pub(crate) async fn path(&self) -> String {
        self.eval("location.pathname")
            .await
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap()
    }

    /// The page is in `lang`, with this h1.
    pub(crate) async fn assert_page(&self, lang: Lang, h1: &str) {
        let html_lang = self
            .eval("document.documentElement.lang")
            .await
            .unwrap_or_default();
        assert_eq!(
            html_lang,
            lang.code(),
            "<html lang> of {}",
            self.path().await
        );
        assert_eq!(self.text("h1").await, h1);
    }

    /// Enrols on /enrol with an enrolment code (a passkey made by this
    /// tab's authenticator); lands signed in on /account. With `screenshot`,
    /// the empty enrolment page is saved under that name first.
    pub(crate) async fn enrol_by_code(
        &self,
        url: &str,
        lang: Lang,
        code: &str,
        screenshot: Option<&str>,
    ) {
        let t = lang.texts();
        self.goto(&format!("{url}/enrol?lang={}", t.code)).await;
        self.assert_page(lang, t.enrol_h1).await;
        if let Some(name) = screenshot {
            self.screenshot(name).await;
        }
        self.type_into("#code", code).await;
        self.click("[data-testid=enrol-code-submit]").await;
        self.wait_for_account("enrolment by code lands on /account")
            .await;
        self.assert_page(lang, t.account_h1).await;
    }

    /// Signs in on /sign-in with the button; lands on /account.
    ///
    /// The virtual authenticator would also answer the page's conditional
    /// (autofill) request at once (a real one waits for the user to pick the
    /// passkey from autofill), so the page is told that conditional
    /// mediation is unavailable, leaving the button's request alone.
    pub(crate) async fn sign_in_with_button(&self, url: &str, lang: Lang) {
        let t = lang.texts();
        self.page
            .evaluate_on_new_document(
                "if (window.PublicKeyCredential) \
                 PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);",
            )
            .await
            .expect("Page.addScriptToEvaluateOnNewDocument");
        self.goto(&format!("{url}/sign-in?lang={}", t.code)).await;
        self.assert_page(lang, t.sign_in_h1).await;
        assert_eq!(
            self.text("[data-testid=sign-in-submit]").await,
            t.sign_in_button
        );
        self.click("[data-testid=sign-in-submit]").await;
        self.wait_for_account("sign-in with the button lands on /account")
            .await;
    }

    pub(crate) async fn screenshot(&self, name: &str) {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let png = self
            .page
            .screenshot(
                ScreenshotParams::builder()
                    .format(CaptureScreenshotFormat::Png)
                    .full_page(true)
                    .build(),
            )
            .await
            .expect("screenshot");
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// `target/screenshots` (or under `CARGO_TARGET_DIR`).
pub(crate) fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("screenshots")
}

/// The server, its staff and roll set up over the API, and enrolment codes
/// for `records`.
pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) codes: Vec<String>,
    /// The administrator's API session, to invite more staff.
    pub(crate) admin: setup::Client,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

/// [`world_of`] with the population [`setup::POPULATION`].
fn world(records: &[&str]) -> World {
    world_of(setup::POPULATION, records)
}

/// A fresh server and database whose jurisdiction has `population`, with
/// enrolment codes for `records`.
pub(crate) fn world_of(population: u64, records: &[&str]) -> World {
    let dir = common::data_dir();
    let db = TestDb::new(Backend::Sqlite, "browser").unwrap();
    let app = TestApp::start_with(dir.path(), &db, None, &["--enrol-per-hour", "1000"], None);
    assert!(
        app.url.starts_with("http://localhost:"),
        "the RP ID is localhost: {}",
        app.url
    );
    let (admin, codes) = setup::set_up(dir.path(), &db, &app, population, records);
    World {
        app,
        codes,
        admin,
        _db: db,
        _dir: dir,
    }
}

/// Enrol by code, sign out, sign in with the passkey, add a second passkey
/// and revoke the first.
async fn journey_by_code(lang: Lang) {
    let Some(exe) = chromium() else { return };
    let started = Instant::now();
    let w = tokio::task::spawn_blocking(|| world(&["r1"]))
        .await
        .unwrap();
    let url = w.app.url.clone();
    let t = lang.texts();
    let l = lang.code();
    let c = Chromium::launch(&exe).await;
    let first = c.enable_webauthn().await;

    // Enrolment by code.
    c.enrol_by_code(&url, lang, &w.codes[0], Some(&format!("enrol-{l}")))
        .await;
    assert_eq!(c.count("[data-testid=passkey-row]").await, 1);
    assert_eq!(
        c.count("[data-testid=revoke]").await,
        0,
        "one passkey cannot be revoked"
    );
    assert!(!c.text("[data-testid=pseudonym]").await.is_empty());
    assert_eq!(c.text("[data-testid=add-passkey]").await, t.add_passkey);
    assert_eq!(
        c.credentials(&first).await,
        1,
        "the passkey is on the authenticator"
    );

    // Sign out: the account page is no longer reachable.
    assert_eq!(c.text("[data-testid=sign-out]").await, t.sign_out);
    c.sign_out(&url, l).await;

    // Sign in by passkey autofill: the page's conditional-mediation request
    // is answered by the virtual authenticator without a click.
    // (No assertion on the sign-in page here: autofill may leave it at once.)
    c.goto(&format!("{url}/sign-in?lang={l}")).await;
    c.wait_for_account("sign-in by autofill lands on /account")
        .await;
    assert_eq!(c.count("[data-testid=passkey-row]").await, 1);
    c.sign_out(&url, l).await;

    // Sign in with the button.
    c.sign_in_with_button(&url, lang).await;
    assert_eq!(c.count("[data-testid=passkey-row]").await, 1);

    // A second passkey, on a second device: the first authenticator holds an
    // excluded credential, so it is taken away while the second registers.
    c.remove_authenticator(first).await;
    let second = c.add_authenticator().await;
    c.click("[data-testid=add-passkey]").await;
    c.wait_for(
        "the second passkey is listed",
        "document.querySelectorAll('[data-testid=passkey-row]').length === 2",
    )
    .await;
    c.assert_page(lang, t.account_h1).await;
    assert_eq!(c.credentials(&second).await, 1);
    assert_eq!(c.count("[data-testid=revoke]").await, 2);
    assert!(c.text("[data-testid=revoke]").await.starts_with(t.revoke));
    c.screenshot(&format!("account-{l}")).await;

    // Revoke the first passkey, confirmed with the second.
    c.click("[data-testid=passkey-row] [data-testid=revoke]")
        .await;
    c.wait_for(
        "the revoked passkey disappears",
        "document.querySelectorAll('[data-testid=passkey-row]').length === 1",
    )
    .await;
    c.assert_page(lang, t.account_h1).await;
    assert_eq!(c.count("[data-testid=revoke]").await, 0);

    c.close().await;
    eprintln!("browser journey by code ({l}): {:?}", started.elapsed());
}

/// Enrol by document number and date of birth (record r2).
async fn journey_by_document(lang: Lang) {
    let Some(exe) = chromium() else { return };
    let started = Instant::now();
    let w = tokio::task::spawn_blocking(|| world(&[])).await.unwrap();
    let url = w.app.url.clone();
    let t = lang.texts();
    let l = lang.code();
    let c = Chromium::launch(&exe).await;
    let key = c.enable_webauthn().await;

    c.goto(&format!("{url}/enrol?lang={l}")).await;
    c.assert_page(lang, t.enrol_h1).await;
    c.eval(&format!(
        "document.querySelector('#jurisdiction').value = '{}'",
        setup::JURISDICTION
    ))
    .await;
    c.type_into("#document_number", "4511 654321").await;
    c.eval("document.querySelector('#date_of_birth').value = '1985-11-02'")
        .await;
    c.click("[data-testid=enrol-document-submit]").await;
    c.wait_for_account("enrolment by document lands on /account")
        .await;
    c.assert_page(lang, t.account_h1).await;
    assert_eq!(c.count("[data-testid=passkey-row]").await, 1);
    assert_eq!(c.credentials(&key).await, 1);

    c.close().await;
    eprintln!("browser journey by document ({l}): {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_by_code_sign_in_and_manage_passkeys_ru() {
    journey_by_code(Lang::Ru).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_by_code_sign_in_and_manage_passkeys_en() {
    journey_by_code(Lang::En).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_by_document_ru() {
    journey_by_document(Lang::Ru).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_by_document_en() {
    journey_by_document(Lang::En).await;
}
