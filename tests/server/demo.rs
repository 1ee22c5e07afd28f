//! `veche --demo`: the seeding runs against a real server; every promised
//! petition state is then checked over the public API, the banner on the
//! pages, the printed newcomer access, and that a second start reuses the
//! data without duplicating it. On SQLite also: a directory holding real
//! data is refused, and an interrupted seeding starts again cleanly.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::both_backends;
use crate::common::*;

const MAMONOVO: &str = "demo-mamonovo";
const OBLAST: &str = "demo-kaliningrad-oblast";

struct Demo {
    child: Child,
    app_url: String,
    /// Everything printed up to and including the newcomer access.
    printed: Vec<String>,
}

impl Demo {
    fn app(&self) -> Client {
        Client {
            url: self.app_url.clone(),
        }
    }

    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "demo server exited with {status}");
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The few requests these checks need.
struct Client {
    url: String,
}

impl Client {
    fn get(&self, path: &str) -> Response {
        response(agent().get(format!("{}{path}", self.url)).call())
    }
    fn json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r.json()
    }
}

fn demo_command(dir: &Path, db: &TestDb) -> Command {
    let mut cmd = veche_command(dir, db);
    cmd.args([
        "serve",
        "--demo",
        "--listen",
        "127.0.0.1:0",
        "--argon2",
        "test",
        "--checkpoint-interval",
        "100ms",
    ]);
    cmd
}

/// Starts `veche serve --demo`; returns the child and its printed lines.
fn spawn(dir: &Path, db: &TestDb) -> (Child, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let mut child = demo_command(dir, db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start veche --demo");
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// Starts the demo and waits until it is ready and has printed the access.
fn start(dir: &Path, db: &TestDb) -> Demo {
    let (child, mut lines) = spawn(dir, db);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut printed = Vec::new();
    let mut app_url = None;
    loop {
        assert!(Instant::now() < deadline, "the demo was not ready in time");
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("veche --demo exited early; it printed {printed:#?}"))
            .unwrap();
        if let Some(rest) = line.strip_prefix("Demo ready at ") {
            app_url = Some(rest.split_once("/ ").unwrap().0.to_string());
        }
        let last = line.starts_with("  administrator: ");
        printed.push(line);
        if last {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Demo {
        child,
        app_url: app_url.expect("a ready line before the access"),
        printed,
    }
}

fn history_has(p: &Value, kind: &str) -> bool {
    p["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["kind"] == kind)
}

/// Every petition, with its text, by title (the hidden one under "").
fn petitions(app: &Client) -> Vec<Value> {
    let list = app.json("/api/v1/petitions");
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| app.json(&format!("/api/v1/petitions/{}", p["id"])))
        .collect()
}

fn by_title<'a>(all: &'a [Value], title: &str) -> &'a Value {
    all.iter()
        .find(|p| p["title"] == title)
        .unwrap_or_else(|| panic!("no petition titled {title:?}"))
}

/// Checks every state the demo promises; returns the log size.
fn check_demo(demo: &Demo) -> u64 {
    let app = demo.app();

    // Real jurisdictions, clearly marked as demo, with their sources.
    for (id, population) in [(MAMONOVO, 8_104), (OBLAST, 1_029_966)] {
        let j = app.json(&format!("/api/v1/jurisdictions/{id}"));
        let c = &j["current"];
        assert_eq!(c["population"], population, "{j}");
        assert!(c["name_en"].as_str().unwrap().contains("(demo)"), "{j}");
        assert!(c["name_ru"].as_str().unwrap().contains("(демо)"), "{j}");
        let source = c["population_source"].as_str().unwrap();
        assert!(
            source.contains("Rosstat") && source.contains("2021"),
            "{source}"
        );
        assert!(source.to_lowercase().contains("demo"), "{source}");
        assert_eq!(c["population_date"], "2021-10-01");
    }

    let all = petitions(&app);
    assert_eq!(all.len(), 14, "no more, no fewer petitions than seeded");
    let status = |s: &str| all.iter().filter(|p| p["status"] == s).count();
    assert_eq!(status("filed"), 2, "awaiting moderation");
    assert_eq!(status("rejected"), 2);

    // Rejected: one with its text, one with the text withheld; both with
    // the rule and the public reason.
    let visible = by_title(
        &all,
        "Открыть пункт пропуска Мамоново — Гроново для пешеходов",
    );
    assert_eq!(visible["status"], "rejected");
    assert_eq!(visible["rejection"]["rule"], 1);
    assert!(visible["text"].as_str().is_some());
    let hidden = all
        .iter()
        .find(|p| p["text_hidden"] == true)
        .expect("a rejected petition with its text withheld");
    assert_eq!(hidden["status"], "rejected");
    assert_eq!(hidden["text"], Value::Null);
    assert_eq!(hidden["rejection"]["rule"], 4);
    assert!(!hidden["rejection"]["reason"].as_str().unwrap().is_empty());

    // Open with a few signatures, in the town and in the oblast.
    let few = by_title(&all, "Отремонтировать тротуар от автостанции до школы");
    assert_eq!(
        (few["status"].as_str(), few["valid_signatures"].as_u64()),
        (Some("open"), Some(3))
    );
    let oblast = by_title(&all, "Электрички Калининград — Мамоново каждый час");
    assert_eq!(oblast["jurisdiction"], OBLAST);
    assert_eq!(oblast["valid_signatures"], 4);
    assert_eq!(oblast["signatures_needed"], 1_030);

    // Exactly three signatures short of 9.
    let near = by_title(
        &all,
        "Вечерний автобус до Калининграда по пятницам и воскресеньям",
    );
    assert_eq!(near["status"], "open");
    assert_eq!(near["signatures_needed"], 9);
    assert_eq!(near["valid_signatures"], 6);
    assert_eq!(near["threshold_reached"], false);

    // Threshold reached and delivered; the clerk has not acknowledged.
    let delivered = by_title(&all, "Детская площадка в сквере у Дома культуры");
    assert_eq!(delivered["threshold_reached"], true);
    assert_eq!(delivered["valid_signatures"], 9);
    assert!(history_has(delivered, "petition_delivered"), "{delivered}");
    assert!(!history_has(delivered, "petition_acknowledged"));
    assert_eq!(delivered["acknowledge_status"], "pending");

    // Acknowledged, consideration scheduled, no decision yet.
    let considering = by_title(&all, "Библиотека открыта до 20:00 в будни");
    assert!(history_has(considering, "petition_acknowledged"));
    assert!(history_has(considering, "consideration_scheduled"));
    assert_eq!(considering["decision"], Value::Null);

    // Answered: solved (with the decision as a document), deadline set, refused.
    let solved = by_title(&all, "Светофор на пешеходном переходе у школы");
    assert_eq!(solved["decision"], "solved");
    assert_eq!(solved["valid_signatures"], 10);
    let answer = solved["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "petition_answered")
        .unwrap();
    let document = answer["document"].as_str().expect("a decision document");
    let doc = app.get(&format!("/api/v1/attachments/{document}"));
    assert_eq!(doc.status, 200);
    assert!(doc.text().contains("РЕШЕНИЕ"));
    let deadline = by_title(&all, "Освещение дорожки к железнодорожной станции");
    assert_eq!(deadline["decision"], "deadline_set");
    let refused = by_title(&all, "Построить в городе крытый бассейн");
    assert_eq!(refused["decision"], "refused");
    for p in [delivered, considering, solved, deadline, refused] {
        assert!(history_has(p, "petition_delivered"), "{}", p["title"]);
    }

    // One signature struck out with a reason; one petition withdrawn.
    let struck = by_title(&all, "Запретить продажу петард рядом со школами");
    assert_eq!(
        (
            struck["signatures"].as_u64(),
            struck["invalidated"].as_u64(),
            struck["valid_signatures"].as_u64()
        ),
        (Some(4), Some(1), Some(3))
    );
    let withdrawn = by_title(&all, "Переименовать сквер у вокзала в Липовый");
    assert_eq!(withdrawn["status"], "closed");
    assert!(
        withdrawn["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["kind"] == "petition_closed" && h["reason"] == "withdrawn")
    );
    // Every text says it is a demo.
    for p in &all {
        if let Some(text) = p["text"].as_str() {
            assert!(text.contains("veche --demo"), "{text}");
        }
    }

    // Polls: one closed with its declared tally, one open for a month.
    let polls = app.json("/api/v1/polls");
    let polls = polls.as_array().unwrap();
    assert_eq!(polls.len(), 2, "{polls:?}");
    let closed = polls
        .iter()
        .find(|p| p["status"] == "closed")
        .expect("a closed poll");
    assert_eq!(closed["result"]["ballots"], 6, "{closed}");
    assert_eq!(closed["result"]["counts"], json!([4, 3, 2]), "{closed}");
    let open = polls
        .iter()
        .find(|p| p["status"] == "open")
        .expect("an open poll");
    assert_eq!(
        (open["turnout"].as_u64(), open["ballots_cast"].as_u64()),
        (Some(5), Some(6))
    );

    // PB rounds: one counted by Equal Shares, one voting for a month.
    let rounds = app.json("/api/v1/pb-rounds");
    let rounds = rounds.as_array().unwrap();
    assert_eq!(rounds.len(), 2, "{rounds:?}");
    let counted = rounds
        .iter()
        .find(|r| r["phase"] == "result")
        .expect("a counted round");
    assert_eq!(counted["voting"]["rule"], "equal_shares_add1_greedy");
    assert_eq!(counted["result"]["ballots"], 8, "{counted}");
    assert!(!counted["result"]["winners"].as_array().unwrap().is_empty());
    assert!(
        counted["result"]["spent"].as_u64().unwrap()
            <= counted["voting"]["budget"].as_u64().unwrap()
    );
    // What the voters paid under Equal Shares: the summary adds up, and
    // the per-voter file lists every voter by nullifier.
    let paid = &counted["result"]["spending"];
    assert_eq!(
        paid["paid_by_voters"].as_u64().unwrap() + paid["greedy_completion"].as_u64().unwrap(),
        counted["result"]["spent"].as_u64().unwrap(),
        "{paid}"
    );
    assert_eq!(
        paid["histogram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .sum::<u64>(),
        8
    );
    let per_voter = app.json(&format!("/data/pb-rounds/{}-spending.json", counted["id"]));
    let voters = per_voter["spending"]["voters"].as_array().unwrap();
    assert_eq!(voters.len(), 8, "{per_voter}");
    assert_eq!(voters[0]["nullifier"].as_str().unwrap().len(), 64);
    let voting = rounds
        .iter()
        .find(|r| r["phase"] == "voting")
        .expect("a round in its vote");
    assert_eq!(
        (voting["turnout"].as_u64(), voting["ballots_cast"].as_u64()),
        (Some(5), Some(6))
    );
    for r in rounds {
        let projects = r["projects"].as_array().unwrap();
        assert_eq!(projects.len(), 5);
        assert_eq!(
            projects
                .iter()
                .filter(|p| p["review"]["verdict"] == "infeasible")
                .count(),
            1
        );
        assert!(projects.iter().any(|p| p["location"].is_object()));
    }

    // The banner on every page, in both languages.
    for path in [
        "/?lang=en",
        "/petitions?lang=en",
        &format!("/petitions/{}?lang=en", near["id"]),
    ] {
        let page = app.get(path);
        assert_eq!(page.status, 200, "{path}");
        let html = page.text();
        assert!(html.contains("data-testid=\"demo-banner\""), "{path}");
        assert!(html.contains("Demo data"), "{path}");
    }
    assert!(app.get("/enrol?lang=ru").text().contains("Демо-данные"));

    // The newcomer's enrolment code is a live one.
    let code_line = demo
        .printed
        .iter()
        .find(|l| l.contains("/enrol with the code "))
        .expect("an enrolment code for a newcomer");
    let code = code_line.rsplit(' ').next().unwrap();
    let r = response(
        agent()
            .post(format!("{}/api/v1/enrolment/options", demo.app_url))
            .send_json(json!({ "method": "code", "code": code })),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    for role in [
        "  moderator: http",
        "  clerk of Mamonovo (demo): http",
        "  administrator: http",
    ] {
        assert!(
            demo.printed
                .iter()
                .any(|l| l.starts_with(role) && l.contains("/staff/invite/")),
            "{role} in {:#?}",
            demo.printed
        );
    }

    std::thread::sleep(Duration::from_millis(400));
    app.json("/api/v1/log")["size"].as_u64().unwrap()
}

fn demo_seeds_every_state_once(db: TestDb) {
    let dir = data_dir();
    let started = Instant::now();
    let demo = start(dir.path(), &db);
    eprintln!("demo seeded in {:?}", started.elapsed());
    assert!(
        demo.printed
            .iter()
            .any(|l| l.starts_with("demo: seeded in ")),
        "{:#?}",
        demo.printed
    );
    let size = check_demo(&demo);
    demo.stop();

    // A second start reuses the data: nothing is seeded again.
    let demo = start(dir.path(), &db);
    assert!(
        demo.printed
            .iter()
            .any(|l| l.starts_with("demo: reusing the demo data")),
        "{:#?}",
        demo.printed
    );
    assert!(
        !demo
            .printed
            .iter()
            .any(|l| l.starts_with("demo: seeded in "))
    );
    assert_eq!(check_demo(&demo), size, "the log did not grow");
    demo.stop();
}

both_backends!(
    demo_seeds_every_state_once,
    super::demo_seeds_every_state_once
);

/// SQLite: real data is refused, and an interrupted seeding starts again.
#[test]
fn demo_refuses_real_data_and_recovers_from_interruption() {
    let db = TestDb::new(Backend::Sqlite, "demo").unwrap();

    // `<data-dir>/demo` holding real data: refused, nothing written.
    let real = data_dir();
    let out = veche_command(&real.path().join("demo"), &db)
        .args([
            "jurisdiction",
            "add",
            "--id",
            "town",
            "--name-ru",
            "Город",
            "--name-en",
            "Town",
        ])
        .args([
            "--population",
            "5000",
            "--source",
            "Test",
            "--legislature-ru",
            "Дума",
        ])
        .args(["--legislature-en", "Duma"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = demo_command(real.path(), &db).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not demo data"), "{err}");
    let out = veche_command(real.path(), &db)
        .args(["--demo", "jurisdiction", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not hold demo data"));

    // Killed while seeding: the next start seeds again from scratch.
    let dir = data_dir();
    let (mut child, mut lines) = spawn(dir.path(), &db);
    loop {
        let line = lines.next().expect("seeding progress").unwrap();
        if line.starts_with("demo: staff") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let demo = start(dir.path(), &db);
    assert!(
        demo.printed
            .iter()
            .any(|l| l.starts_with("demo: an earlier run was interrupted")),
        "{:#?}",
        demo.printed
    );
    check_demo(&demo);

    // Other commands act on the demo data with --demo.
    let out = veche_command(dir.path(), &db)
        .args(["--demo", "jurisdiction", "list"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains(MAMONOVO) && listed.contains(OBLAST),
        "{listed}"
    );
    demo.stop();
}
