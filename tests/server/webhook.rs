//! Delivery to the legislature (R1, R8; `specs/webhook.md`): a petition
//! that reaches its threshold is POSTed to the jurisdiction's webhook,
//! signed with the published Ed25519 key, retried after the receiver
//! fails — also across a crash of the server — and its delivery is
//! recorded in the log as `petition_delivered` with the attempts it took.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use veche_passkey::Algorithm;
use veche_passkey::software::SoftwareAuthenticator;

use crate::both_backends;
use crate::common::*;

const JURISDICTION: &str = "tiny-oblast";

/// One request the test receiver got.
#[derive(Clone, Debug)]
struct Received {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The legislature's system: a plain HTTP/1.1 server on a loopback port
/// that answers the n-th request with `statuses[n]` (200 after the list)
/// and records every request.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(statuses: &[u16]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/legislature/inbox",
            listener.local_addr().unwrap()
        );
        let got = Arc::new(Mutex::new(Vec::new()));
        let statuses = statuses.to_vec();
        let log = got.clone();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let Some(req) = read_request(&mut stream) else {
                    continue;
                };
                log.lock().unwrap().push(req);
                let status = statuses.get(n).copied().unwrap_or(200);
                let text = if status == 200 {
                    "received"
                } else {
                    "try later"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = stream.flush();
            }
        });
        Self { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `n` requests have come (panics after `deadline`).
    fn wait_for(&self, n: usize, deadline: Instant) -> Vec<Received> {
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver got {} requests, expected {n}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        request_line: request_line.trim_end().to_string(),
        headers,
        body,
    })
}

/// A browser-like client: one session cookie and its CSRF token.
#[derive(Default, Clone)]
struct Client {
    cookie: Option<String>,
    csrf: Option<String>,
}

impl Client {
    fn call(&mut self, app: &TestApp, method: &str, path: &str, body: Option<&Value>) -> Response {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", app.url));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", format!("veche_session={c}"));
        }
        if let Some(t) = &self.csrf {
            req = req.header("X-CSRF-Token", t);
        }
        let r = response(match body {
            Some(b) => agent().run(
                req.header("Content-Type", "application/json")
                    .body(serde_json::to_vec(b).unwrap())
                    .unwrap(),
            ),
            None => agent().run(req.body(()).unwrap()),
        });
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

    /// A registration ceremony: options, the authenticator, finish.
    fn register(
        &mut self,
        app: &TestApp,
        auth: &mut SoftwareAuthenticator,
        options_path: &str,
        body: &Value,
        finish_path: &str,
    ) -> Response {
        let started = self.call(app, "POST", options_path, Some(body));
        assert_eq!(started.status, 200, "{}", started.text());
        let started = started.json();
        let credential = auth.register(&app.url, &started["publicKey"]).unwrap();
        let finish = json!({
            "ceremony": started["ceremony"],
            "credential": serde_json::from_str::<Value>(&credential).unwrap(),
        });
        self.call(app, "POST", finish_path, Some(&finish))
    }

    /// An action ceremony (e.g. signing): options, an assertion, finish.
    fn assert_action(
        &mut self,
        app: &TestApp,
        auth: &mut SoftwareAuthenticator,
        options_path: &str,
        finish_path: &str,
    ) -> Response {
        let started = self.call(app, "POST", options_path, None);
        assert_eq!(started.status, 200, "{}", started.text());
        let started = started.json();
        let assertion = auth.assert(&app.url, &started["publicKey"]).unwrap();
        let finish = json!({
            "ceremony": started["ceremony"],
            "credential": serde_json::from_str::<Value>(&assertion).unwrap(),
        });
        self.call(app, "POST", finish_path, Some(&finish))
    }
}

/// A staff account through a one-time invite.
fn staff(app: &TestApp, invite_link: &str) -> Client {
    let token = invite_link.rsplit('/').next().unwrap();
    let mut c = Client::default();
    let mut key = SoftwareAuthenticator::new(Algorithm::Es256);
    let r = c.register(
        app,
        &mut key,
        "/api/v1/staff/invite/options",
        &json!({ "invite": token }),
        "/api/v1/staff/invite/finish",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    c
}

fn call_with_token(app: &TestApp, method: &str, path: &str, body: Option<&Value>) -> Response {
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", app.url))
        .header("Authorization", format!("Bearer {OPERATOR_TOKEN}"));
    response(match body {
        Some(b) => agent().run(
            req.header("Content-Type", "application/json")
                .body(serde_json::to_vec(b).unwrap())
                .unwrap(),
        ),
        None => agent().run(req.body(()).unwrap()),
    })
}

/// Polls `f` every 50 ms until it returns `Some`, for at most `deadline`.
fn poll<T>(deadline: Instant, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The administrator, and a citizen enrolled in a jurisdiction of one
/// person (so one signature is more than 0.1%).
fn set_up(
    dir: &std::path::Path,
    db: &TestDb,
    app: &TestApp,
) -> (Client, Client, SoftwareAuthenticator) {
    app.add_jurisdiction(JURISDICTION, 1);
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
    let link = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let mut admin = staff(app, &link);
    let r = admin.call(
        app,
        "POST",
        "/api/v1/staff/invites",
        Some(&json!({ "role": "registrar", "jurisdiction": JURISDICTION })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let mut registrar = staff(app, r.json()["link"].as_str().unwrap());
    let csv =
        "record_id,document_number,date_of_birth,district\nr1,4510 123456,1990-05-17,Central\n";
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
        .body(csv.as_bytes().to_vec())
        .unwrap();
    let r = response(agent().run(req));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = registrar.call(
        app,
        "POST",
        &format!("/api/v1/jurisdictions/{JURISDICTION}/enrolment-codes"),
        Some(&json!({ "record_ids": ["r1"], "valid_days": 30 })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let code = r.json()["codes"][0]["code"].as_str().unwrap().to_string();
    let mut citizen = Client::default();
    let mut key = SoftwareAuthenticator::new(Algorithm::Ed25519);
    let r = citizen.register(
        app,
        &mut key,
        "/api/v1/enrolment/options",
        &json!({ "method": "code", "code": code }),
        "/api/v1/enrolment/finish",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    (admin, citizen, key)
}

/// The endpoint API: who may set it, which URLs it takes.
fn check_endpoint_api(app: &TestApp, admin: &mut Client, url: &str) {
    let path = format!("/api/v1/jurisdictions/{JURISDICTION}/webhook");
    // Nobody, a citizen-less anonymous caller, a wrong token: refused.
    response(
        agent()
            .put(format!("{}{path}", app.url))
            .header("Content-Type", "application/json")
            .send(json!({ "url": url }).to_string()),
    )
    .assert_problem(401, "unauthorized");
    response(
        agent()
            .put(format!("{}{path}", app.url))
            .header("Authorization", "Bearer not-the-operator-token")
            .header("Content-Type", "application/json")
            .send(json!({ "url": url }).to_string()),
    )
    .assert_problem(401, "unauthorized");
    // Unknown jurisdiction; unacceptable URLs; unknown fields.
    call_with_token(
        app,
        "PUT",
        "/api/v1/jurisdictions/atlantis/webhook",
        Some(&json!({ "url": url })),
    )
    .assert_problem(404, "not-found");
    for bad in [
        "http://duma.example/inbox",
        "ftp://duma.example/",
        "https://user:secret@duma.example/",
        "inbox",
    ] {
        let j = call_with_token(app, "PUT", &path, Some(&json!({ "url": bad })))
            .assert_problem(422, "invalid-field");
        assert_eq!(j["errors"][0]["field"], "url", "{j}");
    }
    call_with_token(
        app,
        "PUT",
        &path,
        Some(&json!({ "url": url, "secret": "x" })),
    )
    .assert_problem(422, "invalid-body");
    call_with_token(app, "GET", &path, None).assert_problem(404, "not-found");
    // An administrator's session works too (with CSRF on changes).
    let r = admin.call(
        app,
        "PUT",
        &path,
        Some(&json!({ "url": "https://duma.example/inbox" })),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["url"], "https://duma.example/inbox");
    let no_csrf = Client {
        cookie: admin.cookie.clone(),
        csrf: None,
    };
    no_csrf
        .clone()
        .call(app, "DELETE", &path, None)
        .assert_problem(403, "csrf");
    assert_eq!(admin.call(app, "DELETE", &path, None).status, 204);
    call_with_token(app, "DELETE", &path, None).assert_problem(404, "not-found");
    // The operator sets the real one.
    let r = call_with_token(app, "PUT", &path, Some(&json!({ "url": url })));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["jurisdiction"], JURISDICTION);
    assert_eq!(v["url"], url);
    assert_eq!(v["pending"], json!([]));
}

/// The published key: (raw public key, key id).
fn published_key(app: &TestApp) -> (ed25519_dalek::VerifyingKey, String) {
    let r = app.get("/api/v1/webhook/key");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("cache-control").unwrap().contains("max-age"),
        "cacheable"
    );
    let k = r.json();
    assert_eq!(k["alg"], "ed25519");
    let raw: [u8; 32] = B64
        .decode(k["public_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&raw).unwrap();
    let key_id = k["key_id"].as_str().unwrap().to_string();
    use sha2::Digest;
    assert_eq!(key_id, hex::encode(&sha2::Sha256::digest(raw)[..4]));
    (key, key_id)
}

/// What a legislature does with a delivery: verify the signature over the
/// raw body with the published key, then read the body.
fn verified_body(req: &Received, key: &ed25519_dalek::VerifyingKey, key_id: &str) -> Value {
    assert_eq!(req.request_line, "POST /legislature/inbox HTTP/1.1");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("veche-key-id"), Some(key_id));
    let sig = req
        .header("veche-signature")
        .and_then(|s| s.strip_prefix("ed25519="))
        .expect("Veche-Signature: ed25519=…");
    let sig = ed25519_dalek::Signature::from_slice(&B64.decode(sig).unwrap()).unwrap();
    key.verify_strict(&req.body, &sig)
        .expect("the signature verifies against the published key");
    // A body changed in transit does not verify.
    let mut forged = req.body.clone();
    let at = forged.iter().position(|&b| b == b'1').unwrap();
    forged[at] = b'2';
    assert!(key.verify_strict(&forged, &sig).is_err());
    serde_json::from_slice(&req.body).unwrap()
}

fn the_legislature_gets_the_petition_signed_retried_and_logged(db: TestDb) {
    let dir = data_dir();
    let app = TestApp::start(dir.path(), &db);
    let (mut admin, mut citizen, mut citizen_key) = set_up(dir.path(), &db, &app);
    let receiver = Receiver::start(&[500]);
    check_endpoint_api(&app, &mut admin, &receiver.url);
    let (key, key_id) = published_key(&app);

    // A citizen files, the administrator opens, the citizen signs: with a
    // population of 1, the one signature reaches the threshold.
    let r = citizen.call(
        &app,
        "POST",
        "/api/v1/petitions",
        Some(&json!({
            "jurisdiction": JURISDICTION,
            "title": "Light the river embankment",
            "text": "Install street lights along the embankment.",
        })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["petition"].as_u64().unwrap();
    let r = admin.call(
        &app,
        "POST",
        &format!("/api/v1/petitions/{id}/moderation"),
        Some(&json!({ "decision": "open" })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = citizen.assert_action(
        &app,
        &mut citizen_key,
        &format!("/api/v1/petitions/{id}/signatures/options"),
        &format!("/api/v1/petitions/{id}/signatures"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let threshold_entry = r.json()["threshold_entry"]
        .as_u64()
        .expect("the signature reached the threshold");

    // The first attempt comes at once and fails (500); it is recorded.
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = receiver.wait_for(1, deadline)[0].clone();
    let path = format!("/api/v1/jurisdictions/{JURISDICTION}/webhook");
    let pending = poll(deadline, "the failed attempt to be recorded", || {
        let v = call_with_token(&app, "GET", &path, None).json();
        let p = v["pending"][0].clone();
        (p["attempts"] == 1).then_some(p)
    });
    assert_eq!(pending["petition"], id);
    assert_eq!(pending["last_status"], 500);
    assert!(
        pending["last_error"].as_str().unwrap().contains("HTTP 500"),
        "{pending}"
    );
    assert!(pending["next_attempt_at"].is_string());

    // The server crashes; the outbox is the log, so the restarted server
    // retries (after the 2 s back-off) and the receiver acknowledges.
    app.kill();
    let app = TestApp::start(dir.path(), &db);
    let got = receiver.wait_for(2, deadline);
    let second = got[1].clone();

    // The petition is in the log as delivered, after 2 attempts.
    let delivered = poll(deadline, "petition_delivered in the log", || {
        let page = app.get("/api/v1/log/entries?start=0&limit=100").json();
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "petition_delivered")
            .cloned()
    });
    assert_eq!(delivered["entry"]["petition"], id, "{delivered}");
    assert_eq!(delivered["entry"]["attempts"], 2, "{delivered}");
    assert!(delivered["index"].as_u64().unwrap() > threshold_entry);

    // Both attempts are signed with the published key and carry the same
    // facts (only the server's address changed with the restart).
    let (key_after, key_id_after) = published_key(&app);
    assert_eq!(
        (key_after, &key_id_after),
        (key, &key_id),
        "the key survives restarts"
    );
    let one = verified_body(&first, &key, &key_id);
    let two = verified_body(&second, &key, &key_id);
    for req in [&first, &second] {
        assert_eq!(req.header("veche-delivery"), Some(id.to_string().as_str()));
    }
    assert_eq!(two["format"], "veche-petition-delivery/v1");
    assert_eq!(two["petition"], id);
    assert_eq!(two["jurisdiction"], JURISDICTION);
    assert_eq!(two["title"], "Light the river embankment");
    assert_eq!(two["content_hash"].as_str().unwrap().len(), 64);
    assert_eq!(two["valid_signatures"], 1);
    assert_eq!(two["population"], 1);
    assert_eq!(two["threshold_entry"], threshold_entry);
    for field in ["threshold_at", "acknowledge_by", "answer_by"] {
        let t = two[field].as_str().unwrap();
        assert!(t.ends_with('Z') && t.len() == 24, "{field}: {t}");
    }
    assert!(two["acknowledge_by"].as_str() < two["answer_by"].as_str());
    assert_eq!(two["petition_url"], format!("{}/petitions/{id}", app.url));
    assert_eq!(two["log"]["origin"], ORIGIN);
    assert_eq!(
        two["log"]["checkpoint_url"],
        format!("{}/log/checkpoint", app.url)
    );
    assert_eq!(
        two["log"]["threshold_receipt_url"],
        format!("{}/api/v1/log/receipt/{threshold_entry}", app.url)
    );
    let same = |v: &Value| {
        let mut v = v.clone();
        v["petition_url"] = Value::Null;
        v["log"]["checkpoint_url"] = Value::Null;
        v["log"]["threshold_receipt_url"] = Value::Null;
        v
    };
    assert_eq!(same(&one), same(&two));
    // The threshold entry the body cites is in the log and says the same.
    let t = app
        .get(&format!(
            "/api/v1/log/entries?start={threshold_entry}&limit=1"
        ))
        .json()["entries"][0]
        .clone();
    assert_eq!(t["kind"], "threshold_reached");
    assert_eq!(t["entry"]["petition"], id);
    assert_eq!(t["entry"]["valid_signatures"], 1);

    // Nothing is owed any more, and nothing more is sent.
    let v = call_with_token(&app, "GET", &path, None).json();
    assert_eq!(v["pending"], json!([]), "{v}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(receiver.received().len(), 2);
}

both_backends!(
    webhook_delivery,
    crate::webhook::the_legislature_gets_the_petition_signed_retried_and_logged
);
