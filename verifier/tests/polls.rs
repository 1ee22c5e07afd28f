//! Polls and PB rounds in the audit: an honest log with a poll of each
//! method and two PB rounds (greedy, equal_shares_add1) with re-votes
//! audits, and `poll` / `pb-round` print the recounted figures; a log whose
//! declared tally, winners or spent amount was altered, or with an
//! over-limit ballot inserted, fails at that entry with the reason.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use tempfile::TempDir;
use veche_entry::{
    Actor, CostedProject, Date, Entry, Jurisdiction, Payload, PbBallot, PbProjectProposed,
    PbProjectReviewed, PbRoundOpened, PbRule, PbVotingOpened, PollBallot, PollMethod, PollOpened,
    PollOption, StaffRole, Verdict,
};
use veche_state::State;

/// 2026-11-23T14:00:00Z.
const T0: u64 = 1_795_442_400_000;

fn organiser() -> Actor {
    Actor::new(StaffRole::Organiser, "organiser-1")
}

fn voter(who: u8) -> [u8; 32] {
    [who; 32]
}

/// A log built entry by entry, each admitted by the sequencer's fold.
#[derive(Default)]
struct Log {
    entries: Vec<Entry>,
    state: State,
}

impl Log {
    fn push(&mut self, e: Entry) -> u64 {
        let i = self.entries.len() as u64;
        self.state
            .admit(&e)
            .unwrap_or_else(|v| panic!("entry {i} refused: {v:?}"));
        self.entries.push(e);
        i
    }
}

struct Honest {
    log: Log,
    /// Single, approval, ranked_schulze.
    polls: [u64; 3],
    /// Greedy, equal_shares_add1.
    rounds: [u64; 2],
    /// Index of each poll_closed, then each pb_result.
    closes: [u64; 3],
    results: [u64; 2],
}

fn poll_ballot(at: u64, poll: u64, who: u8, choice: &[u16]) -> Entry {
    Entry::new(
        at,
        PollBallot {
            poll,
            nullifier: voter(who),
            choice: choice.to_vec(),
            assertion: [who ^ 0xFF; 32],
        },
    )
}

fn pb_ballot(at: u64, round: u64, who: u8, approved: &[u64]) -> Entry {
    Entry::new(
        at,
        PbBallot {
            round,
            nullifier: voter(who),
            approved: approved.to_vec(),
            assertion: [who ^ 0xFF; 32],
        },
    )
}

fn honest() -> Honest {
    let mut log = Log::default();
    log.push(Entry::new(
        T0,
        Jurisdiction {
            id: "town".into(),
            name_ru: "Город".into(),
            name_en: "Town".into(),
            population: 10_000,
            population_source: "census".into(),
            population_date: Date::new(2024, 1, 1).unwrap(),
            legislature_ru: "Дума".into(),
            legislature_en: "Council".into(),
        },
    ));
    let polls = [
        PollMethod::Single,
        PollMethod::Approval,
        PollMethod::RankedSchulze,
    ]
    .map(|method| {
        log.push(Entry::new(
            T0 + 1,
            PollOpened {
                jurisdiction: "town".into(),
                question_ru: format!("Что сделать ({})?", method.name()),
                question_en: format!("What to do ({})?", method.name()),
                options: ["Park", "Road", "School"]
                    .iter()
                    .map(|o| PollOption {
                        ru: format!("{o} ru"),
                        en: (*o).into(),
                    })
                    .collect(),
                method,
                opens_at_ms: T0 + 10,
                closes_at_ms: T0 + 1000,
                actor: organiser(),
            },
        ))
    });
    let rounds = [("Greedy", 2u16), ("Equal shares", 3)].map(|(title, _)| {
        log.push(Entry::new(
            T0 + 2,
            PbRoundOpened {
                jurisdiction: "town".into(),
                title_ru: format!("{title} ru"),
                title_en: title.into(),
                description_ru: "Описание".into(),
                description_en: "Description".into(),
                currency: "RUB".into(),
                scale: 0,
                proposals_close_at_ms: T0 + 100,
                actor: organiser(),
            },
        ))
    });
    let costs = [300u64, 200, 100];
    let mut projects = [[0u64; 3]; 2];
    for (r, round) in rounds.iter().enumerate() {
        for (k, _) in costs.iter().enumerate() {
            projects[r][k] = log.push(Entry::new(
                T0 + 20,
                PbProjectProposed {
                    round: *round,
                    title: format!("Project {k}"),
                    description: "Details".into(),
                    location: None,
                    category: None,
                    author: [3; 32],
                },
            ));
        }
    }
    for ids in &projects {
        for (k, id) in ids.iter().enumerate() {
            log.push(Entry::new(
                T0 + 200,
                PbProjectReviewed {
                    project: *id,
                    verdict: Verdict::Feasible,
                    cost: Some(costs[k]),
                    reason: String::new(),
                    actor: organiser(),
                },
            ));
        }
    }
    for (r, (round, rule)) in rounds
        .iter()
        .zip([PbRule::Greedy, PbRule::EqualSharesAdd1])
        .enumerate()
    {
        log.push(Entry::new(
            T0 + 300,
            PbVotingOpened {
                round: *round,
                budget: 500,
                rule,
                max_projects: Some(2),
                cost_limit: None,
                closes_at_ms: T0 + 2000,
                projects: projects[r]
                    .iter()
                    .zip(costs)
                    .map(|(&project, cost)| CostedProject { project, cost })
                    .collect(),
                actor: organiser(),
            },
        ));
    }
    // Poll ballots; voter 1 re-votes in each poll (only the last counts).
    let poll_votes: [&[(u8, &[u16])]; 3] = [
        &[(1, &[0]), (2, &[1]), (3, &[1]), (1, &[2]), (4, &[2])],
        &[(1, &[0, 1]), (2, &[1]), (3, &[1, 2]), (1, &[0])],
        &[
            (1, &[0, 1, 2]),
            (2, &[1, 0]),
            (3, &[2, 1]),
            (4, &[1]),
            (1, &[2, 0]),
        ],
    ];
    let mut t = T0 + 400;
    for (p, votes) in polls.iter().zip(poll_votes) {
        for (who, choice) in votes {
            log.push(poll_ballot(t, *p, *who, choice));
            t += 1;
        }
    }
    // PB ballots (positions into each round's projects); voter 1 re-votes.
    let pb_votes: &[(u8, &[usize])] = &[
        (1, &[0]),
        (2, &[0, 2]),
        (3, &[1, 2]),
        (4, &[1]),
        (1, &[0, 1]),
    ];
    for (r, round) in rounds.iter().enumerate() {
        for (who, approved) in pb_votes {
            let ids: Vec<u64> = approved.iter().map(|&k| projects[r][k]).collect();
            log.push(pb_ballot(t, *round, *who, &ids));
            t += 1;
        }
    }
    let closes = polls.map(|p| {
        let tally = log.state.poll(p).unwrap().tally();
        log.push(Entry::new(T0 + 1000, tally))
    });
    let results = rounds.map(|r| {
        let result = log
            .state
            .round(r)
            .unwrap()
            .result_payload(organiser())
            .unwrap();
        log.push(Entry::new(T0 + 2000, result))
    });
    Honest {
        log,
        polls,
        rounds,
        closes,
        results,
    }
}

fn mirror_of(entries: &[Entry]) -> TempDir {
    let bytes: Vec<Vec<u8>> = entries.iter().map(|e| e.encode().unwrap()).collect();
    mirror_with(bytes.len() as u64, |i| bytes[i as usize].clone()).0
}

/// Asserts that the audit of `entries` fails naming entry `index` and
/// every one of `words`.
fn fails_at(entries: &[Entry], index: u64, words: &[&str]) -> String {
    let dir = mirror_of(entries);
    let msg = failure(audit_once(dir.path()));
    assert!(msg.contains(&format!("entry {index} ")), "{msg}");
    for w in words {
        assert!(msg.contains(w), "{w:?} missing: {msg}");
    }
    msg
}

fn verify(dir: &Path, args: &[&str]) -> Output {
    let state = tempfile::tempdir().unwrap();
    let vkey = vkey();
    Command::new(env!("CARGO_BIN_EXE_veche-verify"))
        .args(args)
        .args([
            "--log",
            dir.to_str().unwrap(),
            "--vkey",
            &vkey,
            "--state",
            state.path().join("s.json").to_str().unwrap(),
        ])
        .output()
        .unwrap()
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[test]
fn honest_log_audits_and_commands_print_the_recount() {
    let h = honest();
    let dir = mirror_of(&h.log.entries);
    let a = audit_once(dir.path()).unwrap();
    let s = veche_verify::polls::Summary::new(&a.state).unwrap();
    assert_eq!((s.polls, s.polls_closed, s.poll_ballots), (3, 3, 14));
    assert_eq!((s.rounds, s.rounds_decided, s.pb_ballots), (2, 2, 10));

    let o = verify(dir.path(), &["audit", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j = json_of(&o);
    assert_eq!(j["polls"]["tallies_recomputed"], 5);
    let o = verify(dir.path(), &["audit"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("polls: 3 (3 closed"), "{text}");
    assert!(text.contains("PB rounds: 2 (2 with a result"), "{text}");

    // Single: last ballots are 2→Road, 3→Road, 1→School, 4→School: tie.
    let id = h.polls[0].to_string();
    let j = json_of(&verify(dir.path(), &["poll", &id, "--json"]));
    assert_eq!(j["poll"]["recount"]["counts"], serde_json::json!([0, 2, 2]));
    assert_eq!(j["poll"]["recount"]["winners"], serde_json::json!([1, 2]));
    assert_eq!(j["poll"]["turnout"], 4);
    assert_eq!(j["poll"]["ballots_cast"], 5);
    assert_eq!(j["poll"]["status"], "closed");
    // Approval: 1→{Park}, 2→{Road}, 3→{Road, School}.
    let id = h.polls[1].to_string();
    let j = json_of(&verify(dir.path(), &["poll", &id, "--json"]));
    assert_eq!(j["poll"]["recount"]["counts"], serde_json::json!([1, 2, 1]));
    assert_eq!(j["poll"]["recount"]["winners"], serde_json::json!([1]));
    // Schulze: 2: Road>Park, 3: School>Road, 4: Road, 1: School>Park.
    let id = h.polls[2].to_string();
    let o = verify(dir.path(), &["poll", &id]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("method ranked_schulze"), "{text}");
    assert!(text.contains("Schulze strongest paths"), "{text}");
    assert!(
        text.contains(&format!(
            "poll_closed at entry {} (2026-11-23T14:00:01.000Z) agrees with the recount",
            h.closes[2]
        )),
        "{text}"
    );
    let j = json_of(&verify(dir.path(), &["poll", &id, "--json"]));
    assert_eq!(j["poll"]["recount"]["counts"], serde_json::json!([0, 2, 2]));

    // PB rounds: last ballots 2:{0,2}, 3:{1,2}, 4:{1}, 1:{0,1}; costs 300,
    // 200, 100; budget 500.
    for (r, round) in h.rounds.iter().enumerate() {
        let id = round.to_string();
        let j = json_of(&verify(dir.path(), &["pb-round", &id, "--json"]));
        let rc = &j["round"]["recount"];
        assert_eq!(rc["approvals"], serde_json::json!([2, 3, 2]), "{j}");
        assert_eq!(rc["ballots"], 4);
        assert_eq!(j["round"]["turnout"], 4);
        assert_eq!(j["round"]["ballots_cast"], 5);
        assert_eq!(j["round"]["phase"], "result");
        let declared = &j["round"]["result"];
        assert_eq!(declared["winners"], rc["winners"], "{j}");
        assert_eq!(declared["spent"], rc["spent"], "{j}");
        let spent = rc["spent"].as_u64().unwrap();
        assert!(spent <= 500);
        let o = verify(dir.path(), &["pb-round", &id]);
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains(&format!("spent {spent} RUB of 500 RUB")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "pb_result at entry {} (2026-11-23T14:00:02.000Z) agrees",
                h.results[r]
            )),
            "{text}"
        );
    }
    // Greedy by approvals: project 1 (200), then 0 (300): 500 spent.
    let id = h.rounds[0].to_string();
    let j = json_of(&verify(dir.path(), &["pb-round", &id, "--json"]));
    assert_eq!(j["round"]["recount"]["spent"], 500);
    // Equal shares (125 a voter): Project 2 (100, two voters at 50), then
    // Project 1 (200, three voters); Project 0 (300) is beyond what its two
    // supporters have left, and add1 cannot make it fit: 300 spent
    // (winners listed in ballot order).
    let ids = &h
        .log
        .state
        .round(h.rounds[1])
        .unwrap()
        .voting
        .as_ref()
        .unwrap()
        .projects;
    let j = json_of(&verify(
        dir.path(),
        &["pb-round", &h.rounds[1].to_string(), "--json"],
    ));
    assert_eq!(
        j["round"]["recount"]["winners"],
        serde_json::json!([ids[1].project, ids[2].project]),
        "{j}"
    );
    assert_eq!(j["round"]["recount"]["spent"], 300);
    assert_eq!(j["round"]["voting"]["rule"], "equal_shares_add1");
    assert!(
        String::from_utf8_lossy(&verify(dir.path(), &["pb-round", &id]).stdout)
            .contains("rule greedy")
    );
}

#[test]
fn unknown_ids_and_wrong_kinds_are_precise() {
    let h = honest();
    let dir = mirror_of(&h.log.entries);
    let n = h.log.entries.len();
    let cases = [
        (
            vec!["poll".to_string(), "0".into()],
            "entry 0 is not a poll_opened",
        ),
        (
            vec!["poll".into(), h.rounds[0].to_string()],
            "is a pb_round_opened (use pb-round",
        ),
        (
            vec!["pb-round".into(), h.polls[1].to_string()],
            "is a poll_opened (use poll",
        ),
        (
            vec!["pb-round".into(), (h.rounds[1] + 4).to_string()],
            "is a pb_project_proposed of round",
        ),
        (
            vec!["poll".into(), "99999".into()],
            &*format!("the log has {n} entries"),
        ),
    ];
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = verify(dir.path(), &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
        let mut with_json = args.clone();
        with_json.push("--json");
        let j = json_of(&verify(dir.path(), &with_json));
        assert_eq!(j["ok"], false);
        assert!(j["error"].as_str().unwrap().contains(want), "{j}");
    }
}

#[test]
fn altered_declarations_and_ballots_fail_at_their_entry() {
    let h = honest();
    // An altered declared poll tally.
    let mut e = h.log.entries.clone();
    let i = h.closes[1] as usize;
    if let Payload::PollClosed(c) = &mut e[i].payload {
        c.counts[0] += 1;
    } else {
        panic!("not a poll_closed");
    }
    fails_at(&e, i as u64, &["poll_closed", "tally-mismatch"]);

    // Altered poll winners.
    let mut e = h.log.entries.clone();
    let i = h.closes[0] as usize;
    if let Payload::PollClosed(c) = &mut e[i].payload {
        c.winners = vec![1];
    } else {
        panic!("not a poll_closed");
    }
    fails_at(&e, i as u64, &["poll_closed"]);

    // Altered PB winners and spent.
    let mut e = h.log.entries.clone();
    let i = h.results[1] as usize;
    if let Payload::PbResult(r) = &mut e[i].payload {
        r.winners.pop();
    } else {
        panic!("not a pb_result");
    }
    fails_at(&e, i as u64, &["pb_result", "mismatch"]);
    let mut e = h.log.entries.clone();
    let i = h.results[0] as usize;
    if let Payload::PbResult(r) = &mut e[i].payload {
        r.spent -= 100;
    } else {
        panic!("not a pb_result");
    }
    fails_at(&e, i as u64, &["pb_result", "spent-mismatch"]);

    // A ballot over the round's max_projects (2), inserted before the
    // polls close.
    let mut e = h.log.entries.clone();
    let at = h.closes[0] as usize;
    let all: Vec<u64> = h
        .log
        .state
        .round(h.rounds[0])
        .unwrap()
        .voting
        .as_ref()
        .unwrap()
        .projects
        .iter()
        .map(|p| p.project)
        .collect();
    e.insert(at, pb_ballot(T0 + 999, h.rounds[0], 9, &all));
    fails_at(&e, at as u64, &["pb_ballot", "too-many-projects"]);

    // The CLI fails (exit 1) on a forged log, naming the entry.
    let mut e = h.log.entries.clone();
    let i = h.closes[2] as usize;
    if let Payload::PollClosed(c) = &mut e[i].payload {
        c.ranking.reverse();
    } else {
        panic!("not a poll_closed");
    }
    let dir = mirror_of(&e);
    let o = verify(dir.path(), &["poll", &h.polls[2].to_string()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("entry {i} (poll_closed)")), "{err}");
}
