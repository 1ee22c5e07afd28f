//! Priority polls end to end over the API, with software passkeys: an
//! organiser opens a poll of each counting method, residents vote and
//! re-vote (the last ballot counts), bad ballots are refused, the public
//! sees turnout but no counts while the poll runs, and the closer declares
//! the tally when the window ends.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use veche_passkey::Algorithm;
use veche_passkey::software::SoftwareAuthenticator;

use crate::both_backends;
use crate::common::*;
use crate::identity::{Client, enrol, invite_link, put_csv};
use crate::petitions::{entries, roll, staff};

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub(crate) struct World {
    pub admin: Client,
    pub organiser: Client,
    pub moderator: Client,
    pub citizens: Vec<(Client, SoftwareAuthenticator)>,
}

/// A jurisdiction `town`, its roll, an organiser, a moderator and four
/// enrolled residents.
pub(crate) fn set_up(dir: &std::path::Path, db: &TestDb, app: &TestApp) -> World {
    app.add_jurisdiction("town", 10_000);
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
    let organiser = staff(app, &mut admin, "organiser");
    let moderator = staff(app, &mut admin, "moderator");
    let citizens = (1..=4)
        .map(|i| {
            let mut key = SoftwareAuthenticator::new(Algorithm::Es256);
            let how = json!({ "method": "document", "jurisdiction": "town", "document_number": format!("4510 0000{i:02}"), "date_of_birth": format!("1990-01-{i:02}") });
            let (c, r) = enrol(app, &mut key, &how);
            assert_eq!(r.status, 201, "{}", r.text());
            (c, key)
        })
        .collect();
    World {
        admin,
        organiser,
        moderator,
        citizens,
    }
}

fn options() -> Value {
    json!([
        {"ru": "Ремонт дорог", "en": "Road repairs"},
        {"ru": "Новые детские площадки", "en": "New playgrounds"},
        {"ru": "Освещение улиц", "en": "Street lighting"},
    ])
}

fn poll_body(method: &str, opens_at_ms: u64, closes_at_ms: u64) -> Value {
    json!({
        "jurisdiction": "town",
        "question": {"ru": "Что городу сделать в первую очередь?", "en": "What should the town do first?"},
        "options": options(),
        "method": method,
        "opens_at_ms": opens_at_ms,
        "closes_at_ms": closes_at_ms,
    })
}

fn open_poll(app: &TestApp, w: &mut World, method: &str, opens: u64, closes: u64) -> u64 {
    let r = w.organiser.call(
        app,
        "POST",
        "/api/v1/polls",
        Some(&poll_body(method, opens, closes)),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    let id = v["poll"].as_u64().unwrap();
    assert_eq!(v["index"], id);
    assert_eq!(v["receipt"]["index"], id);
    assert_eq!(r.header("location"), Some(&*format!("/api/v1/polls/{id}")));
    id
}

/// Votes `choice` in poll `id`; returns the response (of the options step
/// if it refused).
fn vote(
    app: &TestApp,
    c: &mut Client,
    key: &mut SoftwareAuthenticator,
    id: u64,
    choice: &[u16],
) -> Response {
    let started = c.call(
        app,
        "POST",
        &format!("/api/v1/polls/{id}/ballots/options"),
        Some(&json!({ "choice": choice })),
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
        &format!("/api/v1/polls/{id}/ballots"),
        Some(&finish),
    )
}

fn voted(app: &TestApp, w: &mut World, who: usize, id: u64, choice: &[u16]) -> Value {
    let (c, k) = &mut w.citizens[who];
    let r = vote(app, c, k, id, choice);
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(v["poll"], id);
    assert_eq!(v["receipt"]["index"], v["index"]);
    v
}

fn polls_vote_revote_and_close(db: TestDb) {
    let dir = data_dir();
    let app = TestApp::start(dir.path(), &db);
    let mut w = set_up(dir.path(), &db, &app);
    let t = now_ms();

    // Refusals when opening.
    let mut bad = poll_body("borda", t, t + 60_000);
    w.organiser
        .call(&app, "POST", "/api/v1/polls", Some(&bad))
        .assert_problem(422, "invalid-field");
    bad["method"] = json!("single");
    bad["options"] = json!([{"ru": "Да", "en": "Yes"}]);
    let j = w
        .organiser
        .call(&app, "POST", "/api/v1/polls", Some(&bad))
        .assert_problem(422, "invalid-field");
    assert!(j.to_string().contains("options"), "{j}");
    bad["options"] = json!([{"ru": "Да", "en": "Yes"}, {"ru": "Нет", "en": "Yes"}]);
    w.organiser
        .call(&app, "POST", "/api/v1/polls", Some(&bad))
        .assert_problem(422, "invalid-field");
    w.organiser
        .call(
            &app,
            "POST",
            "/api/v1/polls",
            Some(&poll_body("single", t - 20_000, t - 10_000)),
        )
        .assert_problem(422, "window-in-past");
    let mut elsewhere = poll_body("single", t, t + 60_000);
    elsewhere["jurisdiction"] = json!("atlantis");
    w.organiser
        .call(&app, "POST", "/api/v1/polls", Some(&elsewhere))
        .assert_problem(403, "forbidden");
    // An administrator may open polls anywhere, but only of a declared
    // jurisdiction; residents of another jurisdiction cannot vote there.
    w.admin
        .call(&app, "POST", "/api/v1/polls", Some(&elsewhere))
        .assert_problem(422, "unknown-jurisdiction");
    app.add_jurisdiction("city", 5_000);
    let mut in_city = poll_body("approval", t, t + 3_600_000);
    in_city["jurisdiction"] = json!("city");
    let r = w.admin.call(&app, "POST", "/api/v1/polls", Some(&in_city));
    assert_eq!(r.status, 201, "{}", r.text());
    let city_poll = r.json()["poll"].as_u64().unwrap();
    let (c, k) = &mut w.citizens[0];
    vote(&app, c, k, city_poll, &[0]).assert_problem(403, "wrong-jurisdiction");
    // Only organisers (and administrators) open polls.
    w.moderator
        .call(
            &app,
            "POST",
            "/api/v1/polls",
            Some(&poll_body("single", t, t + 60_000)),
        )
        .assert_problem(403, "forbidden");
    let (c, _) = &mut w.citizens[0];
    c.call(
        &app,
        "POST",
        "/api/v1/polls",
        Some(&poll_body("single", t, t + 60_000)),
    )
    .assert_problem(403, "forbidden");

    // One poll of each method, open now for a short window; one scheduled.
    let closes = now_ms() + 20_000;
    let single = open_poll(&app, &mut w, "single", now_ms(), closes);
    let approval = open_poll(&app, &mut w, "approval", now_ms(), closes);
    let ranked = open_poll(&app, &mut w, "ranked_schulze", now_ms(), closes);
    let later = open_poll(
        &app,
        &mut w,
        "single",
        now_ms() + 3_600_000,
        now_ms() + 7_200_000,
    );
    app.get("/api/v1/polls/999999")
        .assert_problem(404, "unknown-poll");
    app.get("/api/v1/polls/abc")
        .assert_problem(400, "invalid-path");

    // Refused ballots, before any passkey is asked.
    let (c, k) = &mut w.citizens[0];
    vote(&app, c, k, later, &[0]).assert_problem(409, "poll-not-open");
    vote(&app, c, k, 999_999, &[0]).assert_problem(404, "unknown-poll");
    vote(&app, c, k, single, &[0, 1]).assert_problem(422, "single-choice-expected");
    vote(&app, c, k, single, &[3]).assert_problem(422, "no-such-option");
    vote(&app, c, k, approval, &[2, 0]).assert_problem(422, "approval-not-ascending");
    vote(&app, c, k, ranked, &[1, 1]).assert_problem(422, "invalid-field");
    vote(&app, c, k, ranked, &[]).assert_problem(422, "invalid-field");
    // Staff are not residents.
    let mut organiser_key = SoftwareAuthenticator::new(Algorithm::Es256);
    vote(&app, &mut w.organiser, &mut organiser_key, single, &[0])
        .assert_problem(403, "citizens-only");
    // A ceremony answers for the poll it was started for only.
    let started = c
        .call(
            &app,
            "POST",
            &format!("/api/v1/polls/{single}/ballots/options"),
            Some(&json!({"choice": [0]})),
        )
        .json();
    let assertion = k.assert(&app.url, &started["publicKey"]).unwrap();
    c.call(
        &app,
        "POST",
        &format!("/api/v1/polls/{approval}/ballots"),
        Some(&json!({ "ceremony": started["ceremony"], "credential": serde_json::from_str::<Value>(&assertion).unwrap() })),
    )
    .assert_problem(403, "forbidden");

    // Single choice: resident 0 changes their mind; the last ballot counts.
    let first = voted(&app, &mut w, 0, single, &[0]);
    assert_eq!(first["turnout"], 1);
    voted(&app, &mut w, 1, single, &[1]);
    voted(&app, &mut w, 2, single, &[1]);
    let again = voted(&app, &mut w, 0, single, &[1]);
    assert_eq!(again["turnout"], 3, "a re-vote is not a new voter");
    assert!(again["index"].as_u64() > first["index"].as_u64());
    // Approval.
    voted(&app, &mut w, 0, approval, &[0, 2]);
    voted(&app, &mut w, 1, approval, &[2]);
    voted(&app, &mut w, 2, approval, &[0, 1, 2]);
    // Ranked: resident 1 re-ranks, leaving option 1 out.
    voted(&app, &mut w, 0, ranked, &[2, 0, 1]);
    voted(&app, &mut w, 1, ranked, &[1, 0, 2]);
    voted(&app, &mut w, 2, ranked, &[2, 1, 0]);
    voted(&app, &mut w, 1, ranked, &[2, 0]);

    // While open: turnout and ballots cast, never counts.
    let v = app.get(&format!("/api/v1/polls/{single}")).json();
    assert_eq!(v["status"], "open", "{v}");
    assert_eq!(v["method"], "single");
    assert_eq!(v["turnout"], 3);
    assert_eq!(v["ballots_cast"], 4);
    assert_eq!(v["result"], Value::Null, "{v}");
    assert_eq!(v["question"]["en"], "What should the town do first?");
    assert_eq!(v["options"][2]["ru"], "Освещение улиц");
    assert_eq!(v["actor"]["role"], "organiser");
    let list = app.get("/api/v1/polls").json();
    let ids: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![later, ranked, approval, single, city_poll],
        "newest first"
    );
    assert!(!list.to_string().contains("counts"), "{list}");
    assert_eq!(list[0]["status"], "scheduled");

    // The ballots are in the log, under one nullifier per resident and poll.
    let log = entries(&app);
    let ballots: Vec<&Value> = log.iter().filter(|e| e["kind"] == "poll_ballot").collect();
    assert_eq!(ballots.len(), 4 + 3 + 4);
    let nullifier = |poll: u64, n: usize| {
        ballots
            .iter()
            .filter(|e| e["entry"]["poll"] == poll)
            .nth(n)
            .unwrap()["entry"]["nullifier"]
            .clone()
    };
    assert_eq!(
        nullifier(single, 0),
        nullifier(single, 3),
        "resident 0 re-voted"
    );
    assert_ne!(nullifier(single, 0), nullifier(single, 1));
    assert_ne!(
        nullifier(single, 0),
        nullifier(approval, 0),
        "unlinkable across polls"
    );

    // The closer declares the recount once the window ends.
    let deadline = Instant::now() + Duration::from_secs(60);
    let closed = |id: u64| {
        loop {
            let v = app.get(&format!("/api/v1/polls/{id}")).json();
            if v["status"] == "closed" {
                return v;
            }
            assert!(Instant::now() < deadline, "poll {id} never closed: {v}");
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    let s = closed(single)["result"].clone();
    assert_eq!(s["ballots"], 3);
    assert_eq!(s["counts"], json!([0, 3, 0]));
    assert_eq!(s["ranking"], json!([1, 0, 2]));
    assert_eq!(s["winners"], json!([1]));
    let a = closed(approval)["result"].clone();
    assert_eq!(a["ballots"], 3);
    assert_eq!(a["counts"], json!([2, 1, 3]));
    assert_eq!(a["ranking"], json!([2, 0, 1]));
    assert_eq!(a["winners"], json!([2]));
    let r = closed(ranked)["result"].clone();
    assert_eq!(r["ballots"], 3);
    // First preferences of the last ballots: all three rank option 2 first.
    assert_eq!(r["counts"], json!([0, 0, 3]));
    // 0 beats 1 two to one (resident 1 ranked 0 and left 1 out).
    assert_eq!(r["ranking"], json!([2, 0, 1]));
    assert_eq!(r["winners"], json!([2]));

    // The closings are in the log, each naming its poll; the scheduled
    // poll is untouched.
    std::thread::sleep(Duration::from_millis(400));
    let log = entries(&app);
    let closings: Vec<&Value> = log.iter().filter(|e| e["kind"] == "poll_closed").collect();
    assert_eq!(closings.len(), 3, "{closings:?}");
    for c in &closings {
        let id = c["entry"]["poll"].as_u64().unwrap();
        let shown = app.get(&format!("/api/v1/polls/{id}")).json();
        assert_eq!(shown["result"]["index"], c["index"]);
        assert_eq!(shown["result"]["counts"], c["entry"]["counts"]);
    }
    assert_eq!(
        app.get(&format!("/api/v1/polls/{later}")).json()["status"],
        "scheduled"
    );
    assert_eq!(
        app.get(&format!("/api/v1/polls/{city_poll}")).json()["status"],
        "open"
    );

    // Voting is over.
    let (c, k) = &mut w.citizens[3];
    vote(&app, c, k, single, &[0]).assert_problem(409, "poll-not-open");

    // The independent verifier replays the poll rules over the whole log,
    // recounting every declared tally.
    let work = data_dir();
    let out = std::process::Command::new(crate::verify::verifier())
        .args(["audit", "--json", "--log", &format!("{}/log", app.url)])
        .args(["--vkey", &app.vkey, "--state"])
        .arg(work.path().join("state.json"))
        .output()
        .unwrap();
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["entries_by_kind"]["poll_opened"], 5, "{summary}");
    assert_eq!(summary["entries_by_kind"]["poll_ballot"], 11, "{summary}");
    assert_eq!(summary["entries_by_kind"]["poll_closed"], 3, "{summary}");
}

both_backends!(polls_each_method, super::polls_vote_revote_and_close);
