//! Petitions end to end over the API, with software passkeys: filing,
//! moderation, signatures with receipts, invalidation, the threshold with
//! concurrent signers racing across it, the legislature's steps, open data,
//! and every refusal.

use serde_json::{Value, json};
use veche_passkey::Algorithm;
use veche_passkey::software::SoftwareAuthenticator;

use crate::both_backends;
use crate::common::*;
use crate::identity::{Client, enrol, invite_link, put_csv};

/// Nine records; the document numbers are `4510 0000NN`.
pub(crate) fn roll() -> String {
    let mut csv = String::from("record_id,document_number,date_of_birth,district\n");
    for i in 1..=9 {
        csv.push_str(&format!("r{i},4510 0000{i:02},1990-01-{i:02},\n"));
    }
    csv
}

struct World {
    registrar: Client,
    moderator: Client,
    clerk: Client,
    citizens: Vec<(Client, SoftwareAuthenticator)>,
}

pub(crate) fn staff(app: &TestApp, admin: &mut Client, role: &str) -> Client {
    let r = admin.call(
        app,
        "POST",
        "/api/v1/staff/invites",
        Some(&json!({ "role": role, "jurisdiction": "town" })),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let link = r.json()["link"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let mut c = Client::default();
    let mut key = SoftwareAuthenticator::new(Algorithm::Es256);
    let r = c.register(
        app,
        &mut key,
        "/api/v1/staff/invite/options",
        Some(&json!({ "invite": link })),
        "/api/v1/staff/invite/finish",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    c
}

/// A jurisdiction `town` of `population`, its roll, staff and nine citizens.
fn set_up(dir: &std::path::Path, db: &TestDb, app: &TestApp, population: u64) -> World {
    app.add_jurisdiction("town", population);
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
    let mut registrar = staff(app, &mut admin, "registrar");
    let r = put_csv(
        app,
        &mut registrar,
        "/api/v1/jurisdictions/town/roll",
        &roll(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let moderator = staff(app, &mut admin, "moderator");
    let clerk = staff(app, &mut admin, "clerk");
    let citizens = (1..=9)
        .map(|i| {
            let mut key = SoftwareAuthenticator::new(Algorithm::Es256);
            let how = json!({ "method": "document", "jurisdiction": "town", "document_number": format!("4510 0000{i:02}"), "date_of_birth": format!("1990-01-{i:02}") });
            let (c, r) = enrol(app, &mut key, &how);
            assert_eq!(r.status, 201, "{}", r.text());
            (c, key)
        })
        .collect();
    World {
        registrar,
        moderator,
        clerk,
        citizens,
    }
}

/// Signs petition `id`; returns the response.
fn sign(app: &TestApp, c: &mut Client, key: &mut SoftwareAuthenticator, id: u64) -> Response {
    let started = c.call(
        app,
        "POST",
        &format!("/api/v1/petitions/{id}/signatures/options"),
        None,
    );
    if started.status != 200 {
        return started;
    }
    let started = started.json();
    let assertion = key.assert(&app.url, &started["publicKey"]).unwrap();
    let finish = json!({ "ceremony": started["ceremony"], "credential": serde_json::from_str::<Value>(&assertion).unwrap() });
    c.call(
        app,
        "POST",
        &format!("/api/v1/petitions/{id}/signatures"),
        Some(&finish),
    )
}

/// The log's size once a checkpoint covers everything committed (the
/// published size lags commits by up to the 100 ms checkpoint interval).
fn settled_size(app: &TestApp) -> u64 {
    std::thread::sleep(std::time::Duration::from_millis(400));
    app.get("/api/v1/log").json()["size"].as_u64().unwrap()
}

pub(crate) fn entries(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let page = app
            .get(&format!(
                "/api/v1/log/entries?start={}&limit=100",
                out.len()
            ))
            .json();
        let batch = page["entries"].as_array().unwrap().clone();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}

fn file_and_open(app: &TestApp, w: &mut World) -> u64 {
    let (author, _) = &mut w.citizens[0];
    let r = author.call(app, "POST", "/api/v1/petitions", Some(&json!({ "title": "Светофор у школы №5", "text": "Просим установить светофор.\nДети переходят дорогу без него." })));
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["petition"].as_u64().unwrap();
    assert_eq!(r.json()["receipt"]["index"], id);
    // Not open yet: nobody can sign.
    let (c, k) = &mut w.citizens[1];
    sign(app, c, k, id).assert_problem(409, "petition-not-open");
    // Citizens cannot moderate; moderators can.
    let (c, _) = &mut w.citizens[1];
    c.call(
        app,
        "POST",
        &format!("/api/v1/petitions/{id}/moderation"),
        Some(&json!({"decision": "open"})),
    )
    .assert_problem(403, "forbidden");
    let r = w.moderator.call(
        app,
        "POST",
        &format!("/api/v1/petitions/{id}/moderation"),
        Some(&json!({"decision": "open"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    w.moderator
        .call(
            app,
            "POST",
            &format!("/api/v1/petitions/{id}/moderation"),
            Some(&json!({"decision": "open"})),
        )
        .assert_problem(409, "already-moderated");
    id
}

fn petitions_threshold_and_legislature(db: TestDb) {
    let dir = data_dir();
    let app = TestApp::start(dir.path(), &db);
    let mut w = set_up(dir.path(), &db, &app, 5_000);
    let id = file_and_open(&app, &mut w);

    // Five signatures do not reach 5,000 × 0.1%.
    let mut signature_index = Vec::new();
    for i in 0..5 {
        let (c, k) = &mut w.citizens[i];
        let r = sign(&app, c, k, id);
        assert_eq!(r.status, 201, "{}", r.text());
        let v = r.json();
        assert!(v.get("threshold_entry").is_none(), "{v}");
        assert_eq!(v["valid_signatures"], (i + 1) as u64);
        // The receipt is complete at once and names this entry.
        let receipt = &v["receipt"];
        assert_eq!(receipt["format"], "veche-receipt/v1");
        assert_eq!(receipt["index"], v["index"]);
        assert!(receipt["tree_size"].as_u64().unwrap() > v["index"].as_u64().unwrap());
        assert!(receipt["checkpoint"].as_str().unwrap().contains("\n\n— "));
        signature_index.push(v["index"].as_u64().unwrap());
    }
    // Nobody signs twice.
    let (c, k) = &mut w.citizens[0];
    sign(&app, c, k, id).assert_problem(409, "duplicate-signature");
    // A moderator strikes one: four valid.
    let path = format!(
        "/api/v1/petitions/{id}/signatures/{}/invalidation",
        signature_index[1]
    );
    let r = w.moderator.call(
        &app,
        "POST",
        &path,
        Some(&json!({"reason": "Доказанная подделка"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    w.moderator
        .call(&app, "POST", &path, Some(&json!({"reason": "again"})))
        .assert_problem(409, "already-invalidated");
    assert_eq!(
        app.get(&format!("/api/v1/petitions/{id}")).json()["valid_signatures"],
        4
    );
    // The clerk has nothing to acknowledge yet.
    w.clerk
        .call(
            &app,
            "POST",
            &format!("/api/v1/petitions/{id}/acknowledgement"),
            None,
        )
        .assert_problem(409, "threshold-not-reached");

    // Four signers race across the boundary: valid goes 4 → 8, the 6th
    // valid one crosses it.
    let racers: Vec<_> = w.citizens.drain(5..9).collect();
    let results: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = racers
            .into_iter()
            .map(|(mut c, mut k)| {
                let app = &app;
                s.spawn(move || {
                    let r = sign(app, &mut c, &mut k, id);
                    assert_eq!(r.status, 201, "{}", r.text());
                    r.json()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let crossing: Vec<&Value> = results
        .iter()
        .filter(|v| v.get("threshold_entry").is_some())
        .collect();
    assert_eq!(crossing.len(), 1, "exactly one signer crosses: {results:?}");
    let crossing_index = crossing[0]["index"].as_u64().unwrap();
    let threshold_index = crossing[0]["threshold_entry"].as_u64().unwrap();
    assert_eq!(
        threshold_index,
        crossing_index + 1,
        "right after the crossing signature"
    );

    // The log has exactly one threshold entry, right after the signature
    // that made the 6th valid one.
    let log = entries(&app);
    let thresholds: Vec<&Value> = log
        .iter()
        .filter(|e| e["kind"] == "threshold_reached")
        .collect();
    assert_eq!(thresholds.len(), 1);
    assert_eq!(thresholds[0]["index"], threshold_index);
    assert_eq!(thresholds[0]["entry"]["valid_signatures"], 6);
    assert_eq!(thresholds[0]["entry"]["population"], 5_000);
    assert_eq!(thresholds[0]["entry"]["signature"], crossing_index);
    let mut valid = 0;
    for e in &log[..=crossing_index as usize] {
        match e["kind"].as_str().unwrap() {
            "signature" => valid += 1,
            "signature_invalidated" => valid -= 1,
            _ => {}
        }
    }
    assert_eq!(valid, 6);
    let p = app.get(&format!("/api/v1/petitions/{id}")).json();
    assert_eq!(p["threshold_reached"], true);
    assert_eq!(p["valid_signatures"], 8);
    assert_eq!(p["signatures_needed"], 6);
    assert_eq!(p["acknowledge_status"], "pending");

    // The author can no longer withdraw.
    let (author, _) = &mut w.citizens[0];
    author
        .call(
            &app,
            "POST",
            &format!("/api/v1/petitions/{id}/withdrawal"),
            None,
        )
        .assert_problem(409, "withdraw-after-threshold");

    // The legislature: acknowledge, schedule, answer.
    let clerk = &mut w.clerk;
    clerk
        .call(
            &app,
            "POST",
            &format!("/api/v1/petitions/{id}/answers"),
            Some(&json!({"decision": "solved"})),
        )
        .assert_problem(409, "not-acknowledged");
    let r = clerk.call(
        &app,
        "POST",
        &format!("/api/v1/petitions/{id}/acknowledgement"),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = clerk.call(
        &app,
        "POST",
        &format!("/api/v1/petitions/{id}/consideration"),
        Some(&json!({"date": "2099-03-01"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = clerk.call(
        &app,
        "POST",
        &format!("/api/v1/petitions/{id}/answers"),
        Some(&json!({"decision": "refused"})),
    );
    let p = r.assert_problem(422, "invalid-field");
    assert_eq!(p["field"], "text");
    assert_eq!(p["errors"][0]["field"], "text");
    clerk
        .call(
            &app,
            "POST",
            &format!("/api/v1/petitions/{id}/answers"),
            Some(&json!({"decision": "deadline_set"})),
        )
        .assert_problem(422, "invalid-field");
    let r = clerk.call(&app, "POST", &format!("/api/v1/petitions/{id}/answers"), Some(&json!({"decision": "deadline_set", "deadline": "2099-06-30", "text": "Светофор будет установлен до конца июня."})));
    assert_eq!(r.status, 201, "{}", r.text());
    let r = clerk.call(
        &app,
        "POST",
        &format!("/api/v1/petitions/{id}/answers"),
        Some(&json!({"decision": "solved", "text": "Установлен."})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    clerk
        .call(
            &app,
            "POST",
            &format!("/api/v1/petitions/{id}/answers"),
            Some(&json!({"decision": "solved"})),
        )
        .assert_problem(409, "already-answered");

    let p = app.get(&format!("/api/v1/petitions/{id}")).json();
    assert_eq!(p["decision"], "solved");
    assert_eq!(p["acknowledge_status"], "met");
    assert_eq!(p["answer_status"], "met");
    assert_eq!(p["title"], "Светофор у школы №5");
    let kinds: Vec<&str> = p["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    for k in [
        "petition_filed",
        "petition_opened",
        "signature_invalidated",
        "threshold_reached",
        "petition_acknowledged",
        "consideration_scheduled",
        "petition_answered",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }

    // Open data: the list and the petition as JSON and CSV.
    let list = app.get("/data/petitions.json").json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let csv = app.get("/data/petitions.csv");
    assert_eq!(csv.status, 200);
    let text = csv.text();
    assert!(text.starts_with("id,jurisdiction,status,title,"), "{text}");
    assert!(text.contains("Светофор у школы №5"));
    let one = app.get(&format!("/data/petitions/{id}.csv"));
    assert_eq!(one.status, 200);
    assert!(one.text().contains("threshold_reached"));
    assert_eq!(
        app.get(&format!("/data/petitions/{id}.json")).json()["id"],
        id
    );
    app.get("/data/petitions/nope.json")
        .assert_problem(404, "not-found");
    // Filters.
    assert_eq!(
        app.get("/api/v1/petitions?threshold=true")
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get("/api/v1/petitions?status=filed")
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.get("/api/v1/petitions?q=светофор")
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.get("/api/v1/petitions?status=bogus")
        .assert_problem(400, "invalid-query");
}

both_backends!(
    petitions_threshold_and_legislature,
    super::petitions_threshold_and_legislature
);

fn refusals_rejection_and_withdrawal(db: TestDb) {
    let dir = data_dir();
    let app = TestApp::start(dir.path(), &db);
    let mut w = set_up(dir.path(), &db, &app, 5_001);
    // Bad input is refused precisely, and nothing is written.
    let (author, _) = &mut w.citizens[0];
    let before = settled_size(&app);
    author
        .call(
            &app,
            "POST",
            "/api/v1/petitions",
            Some(&json!({ "title": "", "text": "x" })),
        )
        .assert_problem(422, "invalid-field");
    author
        .call(
            &app,
            "POST",
            "/api/v1/petitions",
            Some(&json!({ "title": "Заголовок", "text": "x".repeat(10_001) })),
        )
        .assert_problem(422, "invalid-field");
    author
        .call(
            &app,
            "POST",
            "/api/v1/petitions",
            Some(&json!({ "title": "T", "text": "x", "attachments": ["00".repeat(32)] })),
        )
        .assert_problem(422, "unknown-attachment");
    author
        .call(
            &app,
            "POST",
            "/api/v1/petitions",
            Some(&json!({ "title": "T", "text": "x", "jurisdiction": "elsewhere" })),
        )
        .assert_problem(403, "forbidden");
    assert_eq!(settled_size(&app), before);
    w.moderator
        .call(
            &app,
            "POST",
            "/api/v1/petitions",
            Some(&json!({ "title": "T", "text": "x" })),
        )
        .assert_problem(403, "citizens-only");

    // A rejected petition keeps its public reason; with hidden text, no text.
    let r = author.call(
        &app,
        "POST",
        "/api/v1/petitions",
        Some(&json!({ "title": "Спам", "text": "Купите слона" })),
    );
    let spam = r.json()["petition"].as_u64().unwrap();
    w.moderator
        .call(
            &app,
            "POST",
            &format!("/api/v1/petitions/{spam}/moderation"),
            Some(&json!({"decision": "reject", "rule": 99, "reason": "x"})),
        )
        .assert_problem(422, "invalid-field");
    let r = w.moderator.call(
        &app,
        "POST",
        &format!("/api/v1/petitions/{spam}/moderation"),
        Some(&json!({"decision": "reject", "rule": 7, "reason": "Реклама.", "hide_text": true})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let p = app.get(&format!("/api/v1/petitions/{spam}")).json();
    assert_eq!(p["status"], "rejected");
    assert_eq!(p["rejection"]["reason"], "Реклама.");
    assert_eq!(p["text"], Value::Null);
    assert_eq!(p["text_hidden"], true);

    // Population 5,001: five signatures are not enough, the sixth is.
    let (author, _) = &mut w.citizens[0];
    let r = author.call(
        &app,
        "POST",
        "/api/v1/petitions",
        Some(&json!({ "title": "Парк", "text": "Сохранить парк." })),
    );
    let park = r.json()["petition"].as_u64().unwrap();
    let r = w.moderator.call(
        &app,
        "POST",
        &format!("/api/v1/petitions/{park}/moderation"),
        Some(&json!({"decision": "open"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    for i in 0..6 {
        let (c, k) = &mut w.citizens[i];
        let r = sign(&app, c, k, park);
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(
            r.json().get("threshold_entry").is_some(),
            i == 5,
            "signature {}",
            i + 1
        );
    }

    // The author withdraws another petition before its threshold; then
    // nobody can sign it.
    let (author, _) = &mut w.citizens[0];
    let r = author.call(
        &app,
        "POST",
        "/api/v1/petitions",
        Some(&json!({ "title": "Fountain", "text": "Repair it." })),
    );
    let fountain = r.json()["petition"].as_u64().unwrap();
    let r = w.moderator.call(
        &app,
        "POST",
        &format!("/api/v1/petitions/{fountain}/moderation"),
        Some(&json!({"decision": "open"})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let (other, _) = &mut w.citizens[1];
    other
        .call(
            &app,
            "POST",
            &format!("/api/v1/petitions/{fountain}/withdrawal"),
            None,
        )
        .assert_problem(403, "not-author");
    let (author, _) = &mut w.citizens[0];
    let r = author.call(
        &app,
        "POST",
        &format!("/api/v1/petitions/{fountain}/withdrawal"),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let (c, k) = &mut w.citizens[2];
    sign(&app, c, k, fountain).assert_problem(409, "petition-not-open");
    let p = app.get(&format!("/api/v1/petitions/{fountain}")).json();
    assert_eq!(p["status"], "closed");
    app.get("/api/v1/petitions/999999")
        .assert_problem(404, "not-found");
}

both_backends!(
    refusals_rejection_and_withdrawal,
    super::refusals_rejection_and_withdrawal
);

/// A signing ceremony is taken once (ceremonies live in memory now), and an
/// assertion made for one ceremony does not finish another.
fn signing_ceremony_is_used_once(db: TestDb) {
    let dir = data_dir();
    let app = TestApp::start(dir.path(), &db);
    let mut w = set_up(dir.path(), &db, &app, 1_000_000);
    let id = file_and_open(&app, &mut w);
    let (c, key) = &mut w.citizens[2];
    let started = c
        .call(
            &app,
            "POST",
            &format!("/api/v1/petitions/{id}/signatures/options"),
            None,
        )
        .json();
    let assertion: Value =
        serde_json::from_str(&key.assert(&app.url, &started["publicKey"]).unwrap()).unwrap();
    let finish = json!({ "ceremony": started["ceremony"], "credential": assertion });
    let path = format!("/api/v1/petitions/{id}/signatures");
    let r = c.call(&app, "POST", &path, Some(&finish));
    assert_eq!(r.status, 201, "{}", r.text());
    let index = r.json()["index"].as_u64().unwrap();
    assert_eq!(r.json()["receipt"]["index"], index);
    // The same finish again: the ceremony is gone.
    c.call(&app, "POST", &path, Some(&finish))
        .assert_problem(409, "ceremony-unknown");
    // An unknown ceremony id.
    c.call(
        &app,
        "POST",
        &path,
        Some(&json!({ "ceremony": "no-such-ceremony", "credential": assertion })),
    )
    .assert_problem(409, "ceremony-unknown");
    // The old assertion in another citizen's fresh ceremony: refused (the
    // challenge differs, and the passkey is not theirs); nothing appended.
    let (c2, _) = &mut w.citizens[3];
    let fresh = c2
        .call(
            &app,
            "POST",
            &format!("/api/v1/petitions/{id}/signatures/options"),
            None,
        )
        .json();
    c2.call(
        &app,
        "POST",
        &path,
        Some(&json!({ "ceremony": fresh["ceremony"], "credential": assertion })),
    )
    .assert_problem(422, "passkey-refused");
    // Signing again is refused as a duplicate at the options step.
    let (c, key) = &mut w.citizens[2];
    sign(&app, c, key, id).assert_problem(409, "duplicate-signature");
    let signatures: Vec<_> = entries(&app)
        .into_iter()
        .filter(|e| e["kind"] == "signature")
        .collect();
    assert_eq!(signatures.len(), 1, "{signatures:?}");
}

both_backends!(
    signing_ceremony_is_used_once,
    super::signing_ceremony_is_used_once
);

/// A registrar sets the jurisdiction's petition periods; a petition opened
/// afterwards closes by the new period; bad periods and other roles are
/// refused.
fn petition_rules_are_set_per_jurisdiction(db: TestDb) {
    let dir = data_dir();
    let app = TestApp::start(dir.path(), &db);
    let mut w = set_up(dir.path(), &db, &app, 1_000_000);
    let path = "/api/v1/jurisdictions/town/petition-rules";
    let r = app.get(path);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({ "jurisdiction": "town", "open_months": 6, "acknowledge_days": 3, "answer_days": 30, "index": null })
    );
    app.get("/api/v1/jurisdictions/nowhere/petition-rules")
        .assert_problem(404, "not-found");
    let rules = json!({ "open_months": 1, "acknowledge_days": 5, "answer_days": 10 });
    w.moderator
        .call(&app, "PUT", path, Some(&rules))
        .assert_problem(403, "forbidden");
    let (c, _) = &mut w.citizens[0];
    c.call(&app, "PUT", path, Some(&rules))
        .assert_problem(403, "forbidden");
    w.registrar
        .call(
            &app,
            "PUT",
            "/api/v1/jurisdictions/nowhere/petition-rules",
            Some(&rules),
        )
        .assert_problem(404, "not-found");
    let r = w.registrar.call(
        &app,
        "PUT",
        path,
        Some(&json!({ "open_months": 0, "acknowledge_days": 5, "answer_days": 10 })),
    );
    let problem = r.assert_problem(422, "invalid-field");
    assert_eq!(problem["field"], "open_months", "{problem}");
    w.registrar
        .call(
            &app,
            "PUT",
            path,
            Some(&json!({ "open_months": 1, "acknowledge_days": 5 })),
        )
        .assert_problem(422, "invalid-body");
    let r = w.registrar.call(&app, "PUT", path, Some(&rules));
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    let index = v["index"].as_u64().unwrap();
    assert_eq!(v["receipt"]["index"], index);
    assert_eq!(
        (v["open_months"].as_u64(), v["answer_days"].as_u64()),
        (Some(1), Some(10))
    );
    assert_eq!(app.get(path).json()["index"], index);

    let id = file_and_open(&app, &mut w);
    let log = entries(&app);
    assert_eq!(log[index as usize]["kind"], "petition_rules");
    assert_eq!(
        log[index as usize]["entry"]["actor"]["role"], "registrar",
        "{}",
        log[index as usize]
    );
    let opened = &log
        .iter()
        .find(|e| e["kind"] == "petition_opened" && e["entry"]["petition"] == id)
        .unwrap()["entry"];
    let open_days = (opened["closes_at_ms"].as_u64().unwrap()
        - opened["timestamp_ms"].as_u64().unwrap())
        / 86_400_000;
    assert!((27..=31).contains(&open_days), "{opened}");
}

both_backends!(
    petition_rules_are_set_per_jurisdiction,
    super::petition_rules_are_set_per_jurisdiction
);
