//! The staff side of the browser journeys, over the API with a software
//! authenticator (as `tests/server/identity.rs` does it): an administrator,
//! a registrar of `test-oblast`, a roll of four records, enrolment codes,
//! and invites for more staff (accepted in the browser); and the small
//! page helpers the journeys share (typing, setting fields, a person's tab).

use serde_json::{Value, json};
use veche_passkey::Algorithm;
use veche_passkey::software::SoftwareAuthenticator;

use crate::common::*;

pub const JURISDICTION: &str = "test-oblast";

/// The population the identity journeys use (no petition there needs it).
pub const POPULATION: u64 = 5000;

/// r2 is the record the document-data journey claims.
pub const ROLL: &str = "record_id,document_number,date_of_birth,district\n\
r1,4510 123456,1990-05-17,Central\n\
r2,4511 654321,1985-11-02,North\n\
r3,4512 111222,1977-01-30,\n\
r4,4513 333444,2001-07-07,South\n";

/// One session (cookie) and its CSRF token.
#[derive(Default)]
pub struct Client {
    cookie: Option<String>,
    csrf: Option<String>,
}

impl Client {
    fn call(&mut self, app: &TestApp, method: &str, path: &str, body: &Value) -> Response {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", app.url));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", format!("veche_session={c}"));
        }
        if let Some(t) = &self.csrf {
            req = req.header("X-CSRF-Token", t);
        }
        let r = response(
            agent().run(
                req.header("Content-Type", "application/json")
                    .body(serde_json::to_vec(body).unwrap())
                    .unwrap(),
            ),
        );
        if let Some(set) = r.header("set-cookie") {
            let value = set
                .split(';')
                .next()
                .unwrap()
                .trim_start_matches("veche_session=");
            self.cookie = (!value.is_empty()).then(|| value.to_string());
        }
        if (200..300).contains(&r.status)
            && let Ok(j) = serde_json::from_slice::<Value>(&r.body)
            && let Some(t) = j["csrf_token"].as_str()
        {
            self.csrf = Some(t.to_string());
        }
        r
    }

    /// Accepts a staff invite with a fresh software passkey.
    fn accept_invite(&mut self, app: &TestApp, invite: &str, alg: Algorithm) {
        let started = self.call(
            app,
            "POST",
            "/api/v1/staff/invite/options",
            &json!({ "invite": invite }),
        );
        assert_eq!(started.status, 200, "{}", started.text());
        let started = started.json();
        let mut key = SoftwareAuthenticator::new(alg);
        let credential = key.register(&app.url, &started["publicKey"]).unwrap();
        let finish = json!({
            "ceremony": started["ceremony"],
            "credential": serde_json::from_str::<Value>(&credential).unwrap(),
        });
        let r = self.call(app, "POST", "/api/v1/staff/invite/finish", &finish);
        assert_eq!(r.status, 201, "{}", r.text());
    }

    /// An invite (the token of its link) for `role` in [`JURISDICTION`],
    /// made by this administrator's session.
    pub fn invite(&mut self, app: &TestApp, role: &str) -> String {
        let r = self.call(
            app,
            "POST",
            "/api/v1/staff/invites",
            &json!({ "role": role, "jurisdiction": JURISDICTION }),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let link = r.json()["link"].as_str().unwrap().to_string();
        link.rsplit('/').next().unwrap().to_string()
    }
}

/// The last path segment of the link `veche admin invite` prints.
fn admin_invite(dir: &std::path::Path, db: &TestDb, app: &TestApp) -> String {
    let out = veche_command(dir, db)
        .args([
            "admin",
            "invite",
            "--role",
            "admin",
            "--public-url",
            &app.url,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let link = text.lines().last().unwrap().trim().to_string();
    link.rsplit('/').next().unwrap().to_string()
}

/// [`JURISDICTION`] with `population`, an administrator, a registrar and
/// the roll [`ROLL`]; returns the administrator's session and one enrolment
/// code for each of `records`, in order.
pub fn set_up(
    dir: &std::path::Path,
    db: &TestDb,
    app: &TestApp,
    population: u64,
    records: &[&str],
) -> (Client, Vec<String>) {
    app.add_jurisdiction(JURISDICTION, population);
    let mut admin = Client::default();
    admin.accept_invite(app, &admin_invite(dir, db, app), Algorithm::Es256);
    let invite = admin.invite(app, "registrar");
    let mut registrar = Client::default();
    registrar.accept_invite(app, &invite, Algorithm::Ed25519);

    let req = ureq::http::Request::builder()
        .method("PUT")
        .uri(format!(
            "{}/api/v1/jurisdictions/{JURISDICTION}/roll",
            app.url
        ))
        .header(
            "Cookie",
            format!("veche_session={}", registrar.cookie.as_deref().unwrap()),
        )
        .header("X-CSRF-Token", registrar.csrf.as_deref().unwrap())
        .header("Content-Type", "text/csv")
        .body(ROLL.as_bytes().to_vec())
        .unwrap();
    let r = response(agent().run(req));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["records"], 4);

    if records.is_empty() {
        return (admin, Vec::new());
    }
    let r = registrar.call(
        app,
        "POST",
        &format!("/api/v1/jurisdictions/{JURISDICTION}/enrolment-codes"),
        &json!({ "record_ids": records, "valid_days": 30 }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let codes = r.json()["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect();
    (admin, codes)
}

// ---- helpers the browser journeys share --------------------------------------------------

/// A JS string literal.
pub fn js(s: &str) -> String {
    Value::from(s).to_string()
}

/// A person: a tab in a browser context of their own, with their own
/// platform passkey authenticator.
pub async fn person(c: &crate::Chromium) -> crate::Tab {
    let tab = c.new_context_tab().await;
    tab.enable_webauthn().await;
    tab
}

/// Types `text` into the field as the keyboard would (any script).
pub async fn insert_text(tab: &crate::Tab, selector: &str, text: &str) {
    tab.eval(&format!(
        "(() => {{ const e = document.querySelector({}); e.value = ''; e.focus(); }})()",
        js(selector)
    ))
    .await;
    tab.page
        .execute(chromiumoxide::cdp::browser_protocol::input::InsertTextParams::new(text))
        .await
        .unwrap_or_else(|e| panic!("type into {selector}: {e}"));
}

/// Sets a field's value (a datetime, a select) and tells the page.
pub async fn set_value(tab: &crate::Tab, selector: &str, value: &str) {
    let done = tab
        .eval(&format!(
            "(() => {{ const e = document.querySelector({s}); if (!e) return false; \
             e.value = {v}; e.dispatchEvent(new Event('change', {{bubbles: true}})); \
             return e.value === {v}; }})()",
            s = js(selector),
            v = js(value),
        ))
        .await;
    assert_eq!(done, Some(Value::Bool(true)), "set {selector} to {value}");
}
