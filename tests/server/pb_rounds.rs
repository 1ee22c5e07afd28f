//! Participatory-budgeting rounds end to end over the API, with software
//! passkeys: an organiser opens a round, residents propose projects,
//! organisers review them (a later review replaces an earlier one), the
//! vote opens with a budget and ballot constraints, residents vote and
//! re-vote, ballots breaking a constraint are refused with its code, the
//! public sees turnout but no counts while voting runs, and the closer
//! declares the recount, which the verifier checks.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use veche_passkey::Algorithm;
use veche_passkey::software::SoftwareAuthenticator;

use crate::both_backends;
use crate::common::*;
use crate::identity::Client;
use crate::petitions::entries;
use crate::polls::{now_ms, set_up};

fn round_body(proposals_close_at_ms: u64) -> Value {
    json!({
        "jurisdiction": "town",
        "title": {"ru": "Народный бюджет 2027", "en": "People's budget 2027"},
        "description": {"ru": "Предложите, на что потратить 8 000 рублей.", "en": "Propose how to spend 8,000 roubles."},
        "currency": "RUB",
        "scale": 2,
        "proposals_close_at_ms": proposals_close_at_ms,
    })
}

/// Votes `approved` in round `id`; returns the response (of the options
/// step if it refused).
pub(crate) fn vote(
    app: &TestApp,
    c: &mut Client,
    key: &mut SoftwareAuthenticator,
    id: u64,
    approved: &[u64],
) -> Response {
    let started = c.call(
        app,
        "POST",
        &format!("/api/v1/pb-rounds/{id}/ballots/options"),
        Some(&json!({ "approved": approved })),
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
        &format!("/api/v1/pb-rounds/{id}/ballots"),
        Some(&finish),
    )
}

fn wait_until(t_ms: u64) {
    let now = now_ms();
    if t_ms > now {
        std::thread::sleep(Duration::from_millis(t_ms - now + 50));
    }
}

fn pb_round_end_to_end(db: TestDb) {
    let dir = data_dir();
    let app = TestApp::start(dir.path(), &db);
    let mut w = set_up(dir.path(), &db, &app);
    let t = now_ms();

    // Refusals when opening.
    let mut bad = round_body(t + 60_000);
    bad["scale"] = json!(5);
    w.organiser
        .call(&app, "POST", "/api/v1/pb-rounds", Some(&bad))
        .assert_problem(422, "invalid-field");
    bad = round_body(t - 1_000);
    w.organiser
        .call(&app, "POST", "/api/v1/pb-rounds", Some(&bad))
        .assert_problem(422, "window-in-past");
    w.moderator
        .call(
            &app,
            "POST",
            "/api/v1/pb-rounds",
            Some(&round_body(t + 60_000)),
        )
        .assert_problem(403, "forbidden");
    w.organiser
        .call(
            &app,
            "POST",
            "/api/v1/pb-rounds",
            Some(&json!({"jurisdiction": "town"})),
        )
        .assert_problem(422, "invalid-body");

    let proposals_close = now_ms() + 8_000;
    let r = w.organiser.call(
        &app,
        "POST",
        "/api/v1/pb-rounds",
        Some(&round_body(proposals_close)),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let round = r.json()["round"].as_u64().unwrap();
    assert_eq!(
        r.header("location"),
        Some(&*format!("/api/v1/pb-rounds/{round}"))
    );
    app.get("/api/v1/pb-rounds/999999")
        .assert_problem(404, "unknown-round");

    // Proposals by residents; staff are not residents.
    let mut propose = |who: usize, body: Value| -> u64 {
        let (c, _) = &mut w.citizens[who];
        let r = c.call(
            &app,
            "POST",
            &format!("/api/v1/pb-rounds/{round}/projects"),
            Some(&body),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let v = r.json();
        assert_eq!(v["round"], round);
        v["index"].as_u64().unwrap()
    };
    let a = propose(
        0,
        json!({"title": "Скамейки в парке", "description": "Десять скамеек.", "location": {"lat_e6": 54710400, "lon_e6": 20510800}, "category": "green-spaces"}),
    );
    let b = propose(
        1,
        json!({"title": "Освещение набережной", "description": "Фонари вдоль реки."}),
    );
    let c_ = propose(
        2,
        json!({"title": "Детская площадка", "description": "Горка и качели."}),
    );
    // Browsers post textareas with CR LF line breaks; the log keeps LF.
    let d = propose(
        1,
        json!({"title": "Фонтан", "description": "Большой фонтан\r\nна площади."}),
    );
    let (c0, _) = &mut w.citizens[0];
    c0.call(
        &app,
        "POST",
        &format!("/api/v1/pb-rounds/{round}/projects"),
        Some(&json!({"title": "", "description": "x"})),
    )
    .assert_problem(422, "invalid-field");
    w.organiser
        .call(
            &app,
            "POST",
            &format!("/api/v1/pb-rounds/{round}/projects"),
            Some(&json!({"title": "Staff idea", "description": "x"})),
        )
        .assert_problem(403, "citizens-only");
    // Reviews and the vote wait for the proposals to close.
    w.organiser
        .call(
            &app,
            "POST",
            &format!("/api/v1/pb-projects/{a}/reviews"),
            Some(&json!({"verdict": "feasible", "cost": 400_000})),
        )
        .assert_problem(409, "not-in-review");
    let voting_body = |closes: u64| json!({"budget": 800_000, "rule": "greedy", "max_projects": 2, "cost_limit": 800_000, "closes_at_ms": closes});
    w.organiser
        .call(
            &app,
            "POST",
            &format!("/api/v1/pb-rounds/{round}/voting"),
            Some(&voting_body(now_ms() + 60_000)),
        )
        .assert_problem(409, "not-in-review");
    let v = app.get(&format!("/api/v1/pb-rounds/{round}")).json();
    assert_eq!(v["phase"], "proposals", "{v}");
    assert_eq!(v["projects"].as_array().unwrap().len(), 4);
    assert_eq!(v["projects"][0]["location"]["lat_e6"], 54710400);
    assert_eq!(v["projects"][0]["category"], "green-spaces");
    assert_eq!(
        v["projects"][3]["description"],
        "Большой фонтан\nна площади."
    );

    wait_until(proposals_close);
    let (c0, _) = &mut w.citizens[0];
    c0.call(
        &app,
        "POST",
        &format!("/api/v1/pb-rounds/{round}/projects"),
        Some(&json!({"title": "Too late", "description": "x"})),
    )
    .assert_problem(409, "not-taking-proposals");
    assert_eq!(
        app.get(&format!("/api/v1/pb-rounds/{round}")).json()["phase"],
        "review"
    );

    // Reviews: refusals, then each project; B is re-costed (the last
    // review holds); D is infeasible with a public reason.
    let review = |w: &mut crate::polls::World, p: u64, body: Value| {
        w.organiser.call(
            &app,
            "POST",
            &format!("/api/v1/pb-projects/{p}/reviews"),
            Some(&body),
        )
    };
    review(&mut w, a, json!({"verdict": "feasible"})).assert_problem(422, "invalid-field");
    review(&mut w, d, json!({"verdict": "infeasible", "reason": ""}))
        .assert_problem(422, "invalid-field");
    review(&mut w, d, json!({"verdict": "maybe", "reason": "x"}))
        .assert_problem(422, "invalid-field");
    review(&mut w, 999_999, json!({"verdict": "feasible", "cost": 1}))
        .assert_problem(404, "unknown-project");
    for (p, body) in [
        (
            a,
            json!({"verdict": "feasible", "cost": 400_000, "reason": "Смета подрядчика"}),
        ),
        (b, json!({"verdict": "feasible", "cost": 300_000})),
        (c_, json!({"verdict": "feasible", "cost": 500_000})),
    ] {
        let r = review(&mut w, p, body);
        assert_eq!(r.status, 201, "{}", r.text());
    }
    // Voting cannot open while a project is unreviewed.
    w.organiser
        .call(
            &app,
            "POST",
            &format!("/api/v1/pb-rounds/{round}/voting"),
            Some(&voting_body(now_ms() + 60_000)),
        )
        .assert_problem(422, "unreviewed-project");
    let r = review(
        &mut w,
        d,
        json!({"verdict": "infeasible", "reason": "Площадь — памятник архитектуры."}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = review(&mut w, b, json!({"verdict": "feasible", "cost": 350_000}));
    assert_eq!(r.status, 201, "{}", r.text());

    // Opening the vote: refusals, then the real one.
    let url = format!("/api/v1/pb-rounds/{round}/voting");
    let mut vb = voting_body(now_ms() + 60_000);
    vb["rule"] = json!("borda");
    w.organiser
        .call(&app, "POST", &url, Some(&vb))
        .assert_problem(422, "invalid-field");
    vb = voting_body(now_ms() + 60_000);
    vb["cost_limit"] = json!(100);
    w.organiser
        .call(&app, "POST", &url, Some(&vb))
        .assert_problem(422, "cost-limit-unusable");
    w.organiser
        .call(&app, "POST", &url, Some(&voting_body(now_ms() - 1)))
        .assert_problem(422, "window-in-past");
    let voting_closes = now_ms() + 15_000;
    let r = w
        .organiser
        .call(&app, "POST", &url, Some(&voting_body(voting_closes)));
    assert_eq!(r.status, 201, "{}", r.text());
    w.organiser
        .call(&app, "POST", &url, Some(&voting_body(voting_closes)))
        .assert_problem(409, "not-in-review");
    let v = app.get(&format!("/api/v1/pb-rounds/{round}")).json();
    assert_eq!(v["phase"], "voting", "{v}");
    assert_eq!(
        v["voting"]["projects"],
        json!([{"project": a, "cost": 400_000}, {"project": b, "cost": 350_000}, {"project": c_, "cost": 500_000}])
    );
    assert_eq!(v["projects"][1]["review"]["cost"], 350_000);
    assert_eq!(v["projects"][1]["reviews_replaced"], 1);
    assert_eq!(v["projects"][3]["review"]["verdict"], "infeasible");

    // Ballots breaking a constraint are refused before the passkey is
    // asked, each with its own code.
    let (c, k) = &mut w.citizens[0];
    vote(&app, c, k, round, &[a, c_]).assert_problem(422, "over-cost-limit");
    vote(&app, c, k, round, &[a, b, c_]).assert_problem(422, "too-many-projects");
    vote(&app, c, k, round, &[d]).assert_problem(422, "not-on-ballot");
    vote(&app, c, k, round, &[b, b]).assert_problem(422, "duplicate-project");
    vote(&app, c, k, 999_999, &[a]).assert_problem(404, "unknown-round");
    let mut organiser_key = SoftwareAuthenticator::new(Algorithm::Es256);
    vote(&app, &mut w.organiser, &mut organiser_key, round, &[a])
        .assert_problem(403, "citizens-only");

    // Resident 0 votes A+B, then changes to C alone: the last ballot counts.
    let mut cast = |who: usize, approved: &[u64]| -> Value {
        let (c, k) = &mut w.citizens[who];
        let r = vote(&app, c, k, round, approved);
        assert_eq!(r.status, 201, "{}", r.text());
        let v = r.json();
        assert_eq!(v["round"], round);
        assert_eq!(v["receipt"]["index"], v["index"]);
        v
    };
    let first = cast(0, &[b, a]);
    assert_eq!(first["turnout"], 1);
    cast(1, &[a, b]);
    cast(2, &[b]);
    cast(3, &[a]);
    let again = cast(0, &[c_]);
    assert_eq!(again["turnout"], 4, "a re-vote is not a new voter");

    app.get(&format!("/data/pb-rounds/{round}.pb"))
        .assert_problem(409, "result-not-declared");
    app.get(&format!("/data/pb-rounds/{round}.csv"))
        .assert_problem(400, "invalid-path");
    app.get("/data/pb-rounds/999999.pb")
        .assert_problem(404, "unknown-round");
    let v = app.get(&format!("/api/v1/pb-rounds/{round}")).json();
    assert_eq!(v["turnout"], 4);
    assert_eq!(v["ballots_cast"], 5);
    assert_eq!(v["result"], Value::Null, "no counts while voting runs: {v}");
    assert_eq!(v["projects"][0]["approvals"], Value::Null);

    // The closer declares the recount. Approvals A 2, B 2, C 1; greedy
    // takes A (ties go to the earlier proposal), then B; C no longer fits.
    let deadline = Instant::now() + Duration::from_secs(60);
    let v = loop {
        let v = app.get(&format!("/api/v1/pb-rounds/{round}")).json();
        if v["phase"] == "result" {
            break v;
        }
        assert!(Instant::now() < deadline, "never declared: {v}");
        std::thread::sleep(Duration::from_millis(250));
    };
    let res = &v["result"];
    assert_eq!(res["ballots"], 4, "{v}");
    assert_eq!(res["approvals"], json!([2, 2, 1]));
    assert_eq!(res["winners"], json!([a, b]));
    assert_eq!(res["spent"], 750_000);
    assert_eq!(res["spending"], Value::Null, "greedy charges nobody");
    assert_eq!(v["projects"][0]["selected"], true);
    assert_eq!(v["projects"][2]["selected"], false);
    assert_eq!(v["projects"][3]["selected"], false);
    assert_eq!(v["projects"][2]["approvals"], 1);
    let (c, k) = &mut w.citizens[1];
    vote(&app, c, k, round, &[a]).assert_problem(409, "voting-not-open");

    // In the log: one ballot nullifier per resident, and no proposal
    // author pseudonym equals a ballot nullifier (that would publish how
    // proposers voted).
    let log = entries(&app);
    let ballots: Vec<&Value> = log.iter().filter(|e| e["kind"] == "pb_ballot").collect();
    assert_eq!(ballots.len(), 5);
    assert_eq!(
        ballots[0]["entry"]["nullifier"], ballots[4]["entry"]["nullifier"],
        "resident 0 re-voted"
    );
    assert_eq!(
        ballots[0]["entry"]["approved"],
        json!([a, b]),
        "stored ascending"
    );
    for p in log.iter().filter(|e| e["kind"] == "pb_project_proposed") {
        for b in &ballots {
            assert_ne!(p["entry"]["author"], b["entry"]["nullifier"]);
        }
    }
    let declared: Vec<&Value> = log.iter().filter(|e| e["kind"] == "pb_result").collect();
    assert_eq!(declared.len(), 1);
    assert_eq!(declared[0]["index"], res["index"]);

    // The counted round as a Pabulib file: voters by nullifier only, and
    // the verifier's own Pabulib reader picks the same winners.
    let pb = app.get(&format!("/data/pb-rounds/{round}.pb"));
    assert_eq!(pb.status, 200);
    assert_eq!(pb.header("content-type"), Some("text/plain; charset=utf-8"));
    let text = pb.text();
    assert!(text.starts_with("META"), "{text}");
    for b in &ballots {
        let n = b["entry"]["nullifier"].as_str().unwrap();
        assert!(text.contains(n), "voter {n} missing from\n{text}");
    }
    let file = data_dir();
    let path = file.path().join("round.pb");
    std::fs::write(&path, &text).unwrap();
    let out = std::process::Command::new(crate::verify::verifier())
        .args(["pb", "--rule", "greedy", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counted: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<u64> = counted["winners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, vec![a, b], "{counted}");
    assert_eq!(counted["ballots"], 4);

    // The verifier replays the PB rules and recounts the result.
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
    assert_eq!(summary["entries_by_kind"]["pb_ballot"], 5, "{summary}");
    assert_eq!(summary["entries_by_kind"]["pb_result"], 1, "{summary}");
    let out = std::process::Command::new(crate::verify::verifier())
        .args([
            "pb-round",
            &round.to_string(),
            "--json",
            "--log",
            &format!("{}/log", app.url),
        ])
        .args(["--vkey", &app.vkey, "--state"])
        .arg(work.path().join("state2.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recount: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(recount.to_string().contains(&format!("{a}")), "{recount}");
}

both_backends!(pb_round, super::pb_round_end_to_end);
