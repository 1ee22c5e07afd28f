//! Citizens and staff over the API, with a software passkey authenticator:
//! staff invites, the roll, enrolment codes, enrolment by code and by
//! document data, sign-in, sessions, passkeys, and every refusal.

use serde_json::{Value, json};
use veche_passkey::Algorithm;
use veche_passkey::software::SoftwareAuthenticator;

use crate::both_backends;
use crate::common::*;

/// A browser-like client: a cookie jar of one session and its CSRF token.
#[derive(Default, Clone)]
pub(crate) struct Client {
    pub(crate) cookie: Option<String>,
    pub(crate) csrf: Option<String>,
}

impl Client {
    pub(crate) fn call(
        &mut self,
        app: &TestApp,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        self.call_raw(app, method, path, body, true)
    }

    fn call_raw(
        &mut self,
        app: &TestApp,
        method: &str,
        path: &str,
        body: Option<&Value>,
        csrf: bool,
    ) -> Response {
        let url = format!("{}{path}", app.url);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", format!("veche_session={c}"));
        }
        if csrf && let Some(t) = &self.csrf {
            req = req.header("X-CSRF-Token", t);
        }
        let resp = match body {
            Some(b) => agent().run(
                req.header("Content-Type", "application/json")
                    .body(serde_json::to_vec(b).unwrap())
                    .unwrap(),
            ),
            None => agent().run(req.body(()).unwrap()),
        };
        let r = response(resp);
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

    /// A WebAuthn registration: options, the authenticator, finish.
    pub(crate) fn register(
        &mut self,
        app: &TestApp,
        auth: &mut SoftwareAuthenticator,
        options_path: &str,
        body: Option<&Value>,
        finish_path: &str,
    ) -> Response {
        let started = self.call(app, "POST", options_path, body);
        assert_eq!(started.status, 200, "{}", started.text());
        let started = started.json();
        let credential = auth.register(&app.url, &started["publicKey"]).unwrap();
        let finish = json!({ "ceremony": started["ceremony"], "credential": serde_json::from_str::<Value>(&credential).unwrap() });
        self.call(app, "POST", finish_path, Some(&finish))
    }

    fn sign_in(&mut self, app: &TestApp, auth: &mut SoftwareAuthenticator) -> Response {
        let started = self
            .call(app, "POST", "/api/v1/session/options", None)
            .json();
        let assertion = auth.assert(&app.url, &started["publicKey"]).unwrap();
        let finish = json!({ "ceremony": started["ceremony"], "credential": serde_json::from_str::<Value>(&assertion).unwrap() });
        self.call(app, "POST", "/api/v1/session/finish", Some(&finish))
    }
}

pub(crate) fn invite_link(dir: &std::path::Path, db: &TestDb, app: &TestApp, role: &str) -> String {
    let out = veche_command(dir, db)
        .args(["admin", "invite", "--role", role, "--public-url", &app.url])
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

const ROLL: &str = "record_id,document_number,date_of_birth,district\n\
r1,4510 123456,1990-05-17,Central\n\
r2,4511 654321,1985-11-02,North\n\
r3,4512 111222,1977-01-30,\n\
r4,4513 333444,2001-07-07,South\n";

/// An administrator, a registrar and a loaded roll of four records.
fn set_up(dir: &std::path::Path, db: &TestDb, app: &TestApp) -> Client {
    app.add_jurisdiction("test-oblast", 5000);
    let mut admin = Client::default();
    let mut admin_key = SoftwareAuthenticator::new(Algorithm::Es256);
    let invite = json!({ "invite": invite_link(dir, db, app, "admin") });
    let r = admin.register(
        app,
        &mut admin_key,
        "/api/v1/staff/invite/options",
        Some(&invite),
        "/api/v1/staff/invite/finish",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["account"]["role"], "admin");
    let r = admin.call(
        app,
        "POST",
        "/api/v1/staff/invites",
        Some(&json!({ "role": "registrar", "jurisdiction": "test-oblast" })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let link = r.json()["link"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let mut registrar = Client::default();
    let mut reg_key = SoftwareAuthenticator::new(Algorithm::Ed25519);
    let r = registrar.register(
        app,
        &mut reg_key,
        "/api/v1/staff/invite/options",
        Some(&json!({ "invite": link })),
        "/api/v1/staff/invite/finish",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["account"]["role"], "registrar");
    let registrar_pseudonym = r.json()["account"]["pseudonym"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        registrar_pseudonym.starts_with("registrar-"),
        "{registrar_pseudonym}"
    );
    // The invite is single use.
    let again = registrar.call(
        app,
        "POST",
        "/api/v1/staff/invite/options",
        Some(&json!({ "invite": link })),
    );
    again.assert_problem(422, "invalid-invite");

    let r = put_csv(
        app,
        &mut registrar,
        "/api/v1/jurisdictions/test-oblast/roll",
        ROLL,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        (
            v["version"].as_u64(),
            v["records"].as_u64(),
            v["added"].as_u64()
        ),
        (Some(1), Some(4), Some(4))
    );
    // The roll version is in the public log, without personal data.
    let index = v["log_index"].as_u64().unwrap();
    let last = loop {
        let entries = app
            .get(&format!("/api/v1/log/entries?start={index}&limit=1"))
            .json();
        if let Some(e) = entries["entries"].as_array().unwrap().first() {
            break e.clone();
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
    };
    assert_eq!(last["kind"], "roll_version");
    assert_eq!(last["entry"]["records"], 4);
    // Attributed to the registrar, by role and public pseudonym.
    assert_eq!(last["entry"]["actor"]["role"], "registrar");
    assert_eq!(
        last["entry"]["actor"]["pseudonym"],
        registrar_pseudonym.as_str()
    );
    assert_eq!(v["registrar"], registrar_pseudonym.as_str());
    registrar
}

pub(crate) fn put_csv(app: &TestApp, c: &mut Client, path: &str, csv: &str) -> Response {
    let req = ureq::http::Request::builder()
        .method("PUT")
        .uri(format!("{}{path}", app.url))
        .header(
            "Cookie",
            format!("veche_session={}", c.cookie.as_deref().unwrap_or("")),
        )
        .header("X-CSRF-Token", c.csrf.as_deref().unwrap_or(""))
        .header("Content-Type", "text/csv")
        .body(csv.as_bytes().to_vec())
        .unwrap();
    response(agent().run(req))
}

pub(crate) fn enrol(
    app: &TestApp,
    auth: &mut SoftwareAuthenticator,
    how: &Value,
) -> (Client, Response) {
    let mut c = Client::default();
    let r = c.register(
        app,
        auth,
        "/api/v1/enrolment/options",
        Some(how),
        "/api/v1/enrolment/finish",
    );
    (c, r)
}

fn citizens_enrol_sign_in_and_manage_passkeys(db: TestDb) {
    let dir = data_dir();
    let app = TestApp::start_with(dir.path(), &db, None, &["--enrol-per-hour", "1000"], None);
    let mut registrar = set_up(dir.path(), &db, &app);

    // Enrolment codes for r1 and r4.
    let r = registrar.call(
        &app,
        "POST",
        "/api/v1/jurisdictions/test-oblast/enrolment-codes",
        Some(&json!({ "record_ids": ["r1", "r4"], "valid_days": 30 })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let codes = r.json()["codes"].as_array().unwrap().clone();
    let code_r1 = codes[0]["code"].as_str().unwrap().to_string();
    registrar
        .call(
            &app,
            "POST",
            "/api/v1/jurisdictions/test-oblast/enrolment-codes",
            Some(&json!({ "record_ids": ["nobody"] })),
        )
        .assert_problem(422, "not-on-roll");

    // 1. By code.
    let mut alice_key = SoftwareAuthenticator::new(Algorithm::Es256);
    let (mut alice, r) = enrol(
        &app,
        &mut alice_key,
        &json!({ "method": "code", "code": code_r1 }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["account"]["kind"], "citizen");
    assert!(
        r.header("set-cookie").unwrap().contains("HttpOnly")
            && r.header("set-cookie").unwrap().contains("SameSite=Strict")
    );
    assert_eq!(alice.call(&app, "GET", "/api/v1/me", None).status, 200);
    // The code is single use; a wrong or malformed code is refused.
    let mut other = Client::default();
    other
        .call(
            &app,
            "POST",
            "/api/v1/enrolment/options",
            Some(&json!({ "method": "code", "code": code_r1 })),
        )
        .assert_problem(409, "code-used");
    let mut wrong = code_r1.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'A' { 'B' } else { 'A' });
    other
        .call(
            &app,
            "POST",
            "/api/v1/enrolment/options",
            Some(&json!({ "method": "code", "code": wrong })),
        )
        .assert_problem(422, "invalid-code");
    other
        .call(
            &app,
            "POST",
            "/api/v1/enrolment/options",
            Some(&json!({ "method": "code", "code": "not a code" })),
        )
        .assert_problem(422, "invalid-code");
    // A refused guess does not spend the real code of r4.
    let code_r4 = codes[1]["code"].as_str().unwrap().to_string();
    let mut guess = code_r4.clone();
    let last = guess.pop().unwrap();
    guess.push(if last == 'A' { 'B' } else { 'A' });
    other
        .call(
            &app,
            "POST",
            "/api/v1/enrolment/options",
            Some(&json!({ "method": "code", "code": guess })),
        )
        .assert_problem(422, "invalid-code");
    assert_eq!(
        Client::default()
            .call(
                &app,
                "POST",
                "/api/v1/enrolment/options",
                Some(&json!({ "method": "code", "code": code_r4 }))
            )
            .status,
        200
    );

    // 2. By document data (spaces and dashes in the number do not matter).
    let mut bob_key = SoftwareAuthenticator::new(Algorithm::Ed25519);
    let bob_doc = json!({ "method": "document", "jurisdiction": "test-oblast", "document_number": "4511-654321", "date_of_birth": "1985-11-02" });
    let (mut bob, r) = enrol(&app, &mut bob_key, &bob_doc);
    assert_eq!(r.status, 201, "{}", r.text());
    other
        .call(&app, "POST", "/api/v1/enrolment/options", Some(&bob_doc))
        .assert_problem(409, "already-claimed");
    other
        .call(&app, "POST", "/api/v1/enrolment/options", Some(&json!({ "method": "document", "jurisdiction": "test-oblast", "document_number": "4511 654321", "date_of_birth": "1985-11-03" })))
        .assert_problem(422, "not-on-roll");
    other
        .call(&app, "POST", "/api/v1/enrolment/options", Some(&json!({ "method": "document", "jurisdiction": "test-oblast", "document_number": "4511 654321", "date_of_birth": "1985-02-30" })))
        .assert_problem(422, "invalid-field");
    other
        .call(
            &app,
            "POST",
            "/api/v1/enrolment/options",
            Some(&json!({ "method": "magic" })),
        )
        .assert_problem(422, "invalid-body");

    // 3. Two concurrent claims of r3: exactly one wins.
    let r3 = json!({ "method": "document", "jurisdiction": "test-oblast", "document_number": "4512111222", "date_of_birth": "1977-01-30" });
    let mut finishes = Vec::new();
    for _ in 0..2 {
        let mut c = Client::default();
        let started = c
            .call(&app, "POST", "/api/v1/enrolment/options", Some(&r3))
            .json();
        let mut key = SoftwareAuthenticator::new(Algorithm::Es256);
        let cred = key.register(&app.url, &started["publicKey"]).unwrap();
        finishes.push(json!({ "ceremony": started["ceremony"], "credential": serde_json::from_str::<Value>(&cred).unwrap() }));
    }
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = finishes
            .iter()
            .map(|f| {
                let app = &app;
                s.spawn(move || {
                    Client::default()
                        .call(app, "POST", "/api/v1/enrolment/finish", Some(f))
                        .status
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = statuses.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![201, 409], "{statuses:?}");
    // A finished ceremony cannot be finished again (replay).
    Client::default()
        .call(&app, "POST", "/api/v1/enrolment/finish", Some(&finishes[0]))
        .assert_problem(409, "ceremony-unknown");

    // 4. Sign out, then sign in with the passkey; the old session is gone.
    let old = bob.clone();
    bob.call_raw(&app, "DELETE", "/api/v1/session", None, false)
        .assert_problem(403, "csrf");
    assert_eq!(
        bob.call(&app, "GET", "/api/v1/me", None).status,
        200,
        "the refused sign-out changed nothing"
    );
    assert_eq!(
        bob.call(&app, "DELETE", "/api/v1/session", None).status,
        204
    );
    old.clone()
        .call(&app, "GET", "/api/v1/me", None)
        .assert_problem(401, "unauthorized");
    let mut bob = Client::default();
    let r = bob.sign_in(&app, &mut bob_key);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        bob.call(&app, "GET", "/api/v1/me", None).json()["account"]["kind"],
        "citizen"
    );
    // A sign-in response replayed into a new ceremony is refused.
    let started = Client::default()
        .call(&app, "POST", "/api/v1/session/options", None)
        .json();
    let assertion: Value =
        serde_json::from_str(&bob_key.assert(&app.url, &started["publicKey"]).unwrap()).unwrap();
    let fresh = Client::default()
        .call(&app, "POST", "/api/v1/session/options", None)
        .json();
    Client::default()
        .call(
            &app,
            "POST",
            "/api/v1/session/finish",
            Some(&json!({ "ceremony": fresh["ceremony"], "credential": assertion })),
        )
        .assert_problem(422, "passkey-refused");
    // An assertion made for another origin is refused.
    let started = Client::default()
        .call(&app, "POST", "/api/v1/session/options", None)
        .json();
    let foreign: Value = serde_json::from_str(
        &bob_key
            .assert("http://localhost:1", &started["publicKey"])
            .unwrap(),
    )
    .unwrap();
    let p = Client::default()
        .call(
            &app,
            "POST",
            "/api/v1/session/finish",
            Some(&json!({ "ceremony": started["ceremony"], "credential": foreign })),
        )
        .assert_problem(422, "passkey-refused");
    assert_eq!(p["reason"], "origin-not-allowed", "{p}");

    // 5. A second passkey, then revoking one with an action assertion.
    let mut bob_key2 = SoftwareAuthenticator::new(Algorithm::Es256);
    let r = bob.register(
        &app,
        &mut bob_key2,
        "/api/v1/me/passkeys/options",
        None,
        "/api/v1/me/passkeys/finish",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let list = bob.call(&app, "GET", "/api/v1/me/passkeys", None).json();
    let ids: Vec<String> = list["passkeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    // Sign in with the new one works.
    assert_eq!(Client::default().sign_in(&app, &mut bob_key2).status, 200);
    // An assertion given to revoke passkey 2, offered to revoke passkey 1: refused.
    let started = bob
        .call(
            &app,
            "POST",
            &format!("/api/v1/me/passkeys/{}/revoke/options", ids[1]),
            None,
        )
        .json();
    let assertion: Value =
        serde_json::from_str(&bob_key.assert(&app.url, &started["publicKey"]).unwrap()).unwrap();
    let p = bob
        .call(
            &app,
            "POST",
            &format!("/api/v1/me/passkeys/{}/revoke", ids[0]),
            Some(&json!({ "ceremony": started["ceremony"], "credential": assertion })),
        )
        .assert_problem(422, "passkey-refused");
    assert_eq!(p["reason"], "challenge-mismatch", "{p}");
    assert_eq!(
        passkey_count(&app, &mut bob),
        2,
        "the refused revoke changed nothing"
    );
    // The right action: passkey 2 is revoked.
    let started = bob
        .call(
            &app,
            "POST",
            &format!("/api/v1/me/passkeys/{}/revoke/options", ids[1]),
            None,
        )
        .json();
    let assertion: Value =
        serde_json::from_str(&bob_key.assert(&app.url, &started["publicKey"]).unwrap()).unwrap();
    let revoke = json!({ "ceremony": started["ceremony"], "credential": assertion });
    let path = format!("/api/v1/me/passkeys/{}/revoke", ids[1]);
    assert_eq!(
        bob.call_raw(&app, "POST", &path, Some(&revoke), false)
            .status,
        403,
        "CSRF is required"
    );
    assert_eq!(
        passkey_count(&app, &mut bob),
        2,
        "the refused revoke changed nothing"
    );
    let r = bob.call(&app, "POST", &path, Some(&revoke));
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        bob.call(&app, "GET", "/api/v1/me/passkeys", None).json()["passkeys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The revoked passkey no longer signs in.
    assert_eq!(Client::default().sign_in(&app, &mut bob_key2).status, 422);
    // The last passkey cannot be revoked.
    let started = bob
        .call(
            &app,
            "POST",
            &format!("/api/v1/me/passkeys/{}/revoke/options", ids[0]),
            None,
        )
        .json();
    let assertion: Value =
        serde_json::from_str(&bob_key.assert(&app.url, &started["publicKey"]).unwrap()).unwrap();
    bob.call(
        &app,
        "POST",
        &format!("/api/v1/me/passkeys/{}/revoke", ids[0]),
        Some(&json!({ "ceremony": started["ceremony"], "credential": assertion })),
    )
    .assert_problem(409, "last-passkey");
    assert_eq!(passkey_count(&app, &mut bob), 1);
    assert_eq!(
        Client::default().sign_in(&app, &mut bob_key).status,
        200,
        "the last passkey still works"
    );

    // Re-enrolment after losing every passkey: the registrar issues a new
    // code for r1; enrolling with it gives Alice's account (same pseudonym)
    // a new passkey and revokes the old passkey and sessions.
    let before = alice.call(&app, "GET", "/api/v1/me", None).json()["account"]["pseudonym"].clone();
    let r = registrar.call(
        &app,
        "POST",
        "/api/v1/jurisdictions/test-oblast/enrolment-codes",
        Some(&json!({ "record_ids": ["r1"] })),
    );
    let new_code = r.json()["codes"][0]["code"].as_str().unwrap().to_string();
    let mut alice_new_key = SoftwareAuthenticator::new(Algorithm::Es256);
    let (mut alice_again, r) = enrol(
        &app,
        &mut alice_new_key,
        &json!({ "method": "code", "code": new_code }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["account"]["pseudonym"], before, "the same account");
    assert_eq!(passkey_count(&app, &mut alice_again), 1);
    alice
        .call(&app, "GET", "/api/v1/me", None)
        .assert_problem(401, "unauthorized");
    assert_eq!(
        Client::default().sign_in(&app, &mut alice_key).status,
        422,
        "the old passkey is revoked"
    );
    assert_eq!(
        Client::default().sign_in(&app, &mut alice_new_key).status,
        200
    );
    let mut alice = alice_again;

    // 6. Roles: a citizen cannot load a roll or issue codes.
    put_csv(
        &app,
        &mut alice,
        "/api/v1/jurisdictions/test-oblast/roll",
        ROLL,
    )
    .assert_problem(403, "forbidden");
    alice
        .call(
            &app,
            "POST",
            "/api/v1/jurisdictions/test-oblast/enrolment-codes",
            Some(&json!({ "record_ids": ["r4"] })),
        )
        .assert_problem(403, "forbidden");
    Client::default()
        .call(&app, "GET", "/api/v1/me", None)
        .assert_problem(401, "unauthorized");

    // 7. Reloading the roll keeps enrolled citizens; a retired record cannot enrol.
    let reload = "record_id,document_number,date_of_birth\nr1,4510 123456,1990-05-17\nr2,4511 654321,1985-11-02\nr3,4512 111222,1977-01-30\nr5,4599 000001,1999-09-09\n";
    let v = put_csv(
        &app,
        &mut registrar,
        "/api/v1/jurisdictions/test-oblast/roll",
        reload,
    )
    .json();
    assert_eq!(
        (
            v["version"].as_u64(),
            v["added"].as_u64(),
            v["retired"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "{v}"
    );
    assert_eq!(alice.call(&app, "GET", "/api/v1/me", None).status, 200);
    let code_r4 = codes[1]["code"].as_str().unwrap();
    Client::default()
        .call(
            &app,
            "POST",
            "/api/v1/enrolment/options",
            Some(&json!({ "method": "code", "code": code_r4 })),
        )
        .assert_problem(422, "not-on-roll");
    let bad_csv = "record_id,document_number,date_of_birth\nr1,1,1990-02-30\n";
    put_csv(
        &app,
        &mut registrar,
        "/api/v1/jurisdictions/test-oblast/roll",
        bad_csv,
    )
    .assert_problem(422, "invalid-roll");
}
both_backends!(
    citizens_enrol_sign_in_and_manage_passkeys,
    super::citizens_enrol_sign_in_and_manage_passkeys
);

#[test]
fn sessions_expire_and_rate_limits_answer_429() {
    let db = TestDb::new(Backend::Sqlite, "sessions").unwrap();
    let dir = data_dir();
    let app = TestApp::start_with(
        dir.path(),
        &db,
        None,
        &["--session-ttl", "1s", "--enrol-per-hour", "4"],
        None,
    );
    set_up(dir.path(), &db, &app);
    let doc = json!({ "method": "document", "jurisdiction": "test-oblast", "document_number": "4510123456", "date_of_birth": "1990-05-17" });
    let mut key = SoftwareAuthenticator::new(Algorithm::Es256);
    let (mut c, r) = enrol(&app, &mut key, &doc);
    assert_eq!(r.status, 201, "{}", r.text());
    std::thread::sleep(std::time::Duration::from_millis(1300));
    c.call(&app, "GET", "/api/v1/me", None)
        .assert_problem(401, "unauthorized");
    // The three invite attempts and the enrolment used the 4 attempts per hour.
    let r = Client::default().call(&app, "POST", "/api/v1/enrolment/options", Some(&doc));
    let p = r.assert_problem(429, "rate-limited");
    assert!(
        r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1,
        "{p}"
    );
}

/// After a full run, neither the database, nor the server's log, nor the
/// public log contains a document number, a date of birth or an enrolment
/// secret.
#[test]
fn no_personal_data_or_secrets_at_rest() {
    let db = TestDb::new(Backend::Sqlite, "grep").unwrap();
    let dir = data_dir();
    let log_file = dir.path().join("server.log");
    let app = TestApp::start_with(dir.path(), &db, None, &[], Some(&log_file));
    let mut registrar = set_up(dir.path(), &db, &app);
    let codes = registrar
        .call(
            &app,
            "POST",
            "/api/v1/jurisdictions/test-oblast/enrolment-codes",
            Some(&json!({ "record_ids": ["r1"] })),
        )
        .json();
    let code = codes["codes"][0]["code"].as_str().unwrap().to_string();
    let mut key = SoftwareAuthenticator::new(Algorithm::Es256);
    assert_eq!(
        enrol(&app, &mut key, &json!({ "method": "code", "code": code }))
            .1
            .status,
        201
    );
    let mut key2 = SoftwareAuthenticator::new(Algorithm::Es256);
    let doc = json!({ "method": "document", "jurisdiction": "test-oblast", "document_number": "4511 654321", "date_of_birth": "1985-11-02" });
    assert_eq!(enrol(&app, &mut key2, &doc).1.status, 201);
    let mirror = dir.path().join("mirror");
    app.stop();
    let out = veche_command(dir.path(), &db)
        .args(["log", "export"])
        .arg(&mirror)
        .output()
        .unwrap();
    assert!(out.status.success());

    let secret = code.split('.').nth(1).unwrap().to_string();
    let needles: Vec<Vec<u8>> = [
        "4510123456",
        "4510 123456",
        "4511654321",
        "4511 654321",
        "1990-05-17",
        "1985-11-02",
        &secret,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .chain([secret.to_ascii_lowercase().into_bytes()])
    .collect();
    let mut files = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                files.push(p)
            }
        }
    }
    assert!(
        files.iter().any(|f| f.ends_with("veche.db"))
            && files.iter().any(|f| f.ends_with("server.log"))
    );
    let log_text = std::fs::read_to_string(&log_file).unwrap();
    assert!(
        log_text.contains("enrolment"),
        "the server log should show the requests"
    );
    for f in &files {
        let data = std::fs::read(f).unwrap();
        for n in &needles {
            assert!(
                !data.windows(n.len()).any(|w| w == n.as_slice()),
                "{} contains {:?}",
                f.display(),
                String::from_utf8_lossy(n)
            );
        }
    }
}

fn passkey_count(app: &TestApp, c: &mut Client) -> usize {
    c.call(app, "GET", "/api/v1/me/passkeys", None).json()["passkeys"]
        .as_array()
        .unwrap()
        .len()
}
