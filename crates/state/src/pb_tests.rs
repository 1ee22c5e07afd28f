//! Participatory-budgeting rules: phases, reviews, the fixed ballot,
//! ballot constraints at their limits, re-voting, the recount of the
//! declared result, and replay of forged logs.

use proptest::prelude::*;
use veche_entry::{
    Actor, CostedProject, Date, Entry, Jurisdiction, Payload, PbBallot, PbProjectProposed,
    PbProjectReviewed, PbResult, PbRoundOpened, PbRule, PbVotingOpened, StaffRole, Verdict,
};

use veche_entry::Location;
use veche_tally::pabulib::{self, Instance};
use veche_tally::pb::{Completion, PbInstance, equal_shares, greedy};

use crate::{PbPhase, State, Violation, pb_ballot_action};

const T0: u64 = 1_795_442_400_000;
const PROPOSALS_CLOSE: u64 = T0 + 1_000;
const REVIEW: u64 = PROPOSALS_CLOSE + 10;
const VOTING: u64 = T0 + 2_000;
const VOTING_CLOSES: u64 = T0 + 1_000_000;
/// The round's id: entry 1, after the jurisdiction.
const ROUND: u64 = 1;

fn organiser() -> Actor {
    Actor::new(StaffRole::Organiser, "organiser-1")
}

fn jurisdiction() -> Entry {
    Entry::new(
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
    )
}

fn round_opened(scale: u8) -> Entry {
    Entry::new(
        T0 + 1,
        PbRoundOpened {
            jurisdiction: "town".into(),
            title_ru: "Бюджет".into(),
            title_en: "Budget".into(),
            description_ru: "Описание".into(),
            description_en: "Description".into(),
            currency: "RUB".into(),
            scale,
            proposals_close_at_ms: PROPOSALS_CLOSE,
            actor: organiser(),
        },
    )
}

fn proposed(at: u64, title: &str) -> Entry {
    Entry::new(
        at,
        PbProjectProposed {
            round: ROUND,
            title: title.into(),
            description: "Details".into(),
            location: None,
            category: None,
            author: [3; 32],
        },
    )
}

fn reviewed(project: u64, cost: Option<u64>, at: u64) -> Entry {
    Entry::new(
        at,
        PbProjectReviewed {
            project,
            verdict: if cost.is_some() {
                Verdict::Feasible
            } else {
                Verdict::Infeasible
            },
            cost,
            reason: if cost.is_some() {
                String::new()
            } else {
                "Not ours to build".into()
            },
            actor: organiser(),
        },
    )
}

struct Setup {
    budget: u64,
    rule: PbRule,
    max_projects: Option<u16>,
    cost_limit: Option<u64>,
}

/// A round with projects of these costs (`None`: infeasible), proposed as
/// entries 2, 3, …, reviewed, and the vote opened. Returns the log.
fn log(costs: &[Option<u64>], setup: &Setup) -> Vec<Entry> {
    let mut e = vec![jurisdiction(), round_opened(0)];
    for i in 0..costs.len() {
        e.push(proposed(T0 + 2 + i as u64, &format!("Project {i}")));
    }
    for (i, c) in costs.iter().enumerate() {
        e.push(reviewed(2 + i as u64, *c, REVIEW));
    }
    e.push(voting_opened(costs, setup));
    e
}

fn voting_opened(costs: &[Option<u64>], setup: &Setup) -> Entry {
    Entry::new(
        VOTING,
        PbVotingOpened {
            round: ROUND,
            budget: setup.budget,
            rule: setup.rule,
            max_projects: setup.max_projects,
            cost_limit: setup.cost_limit,
            closes_at_ms: VOTING_CLOSES,
            projects: costs
                .iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    c.map(|cost| CostedProject {
                        project: 2 + i as u64,
                        cost,
                    })
                })
                .collect(),
            actor: organiser(),
        },
    )
}

fn voter(who: u32) -> [u8; 32] {
    let mut n = [0u8; 32];
    n[..4].copy_from_slice(&who.to_be_bytes());
    n
}

fn ballot(who: u32, approved: &[u64], at: u64) -> Entry {
    Entry::new(
        at,
        PbBallot {
            round: ROUND,
            nullifier: voter(who),
            approved: approved.to_vec(),
            assertion: [9; 32],
        },
    )
}

fn vote(s: &mut State, who: u32, approved: &[u64]) -> Result<(), Violation> {
    let at = VOTING + s.size;
    s.admit(&ballot(who, approved, at)).map(|_| ())
}

fn result(s: &State) -> Entry {
    Entry::new(
        VOTING_CLOSES,
        s.round(ROUND).unwrap().result_payload(organiser()).unwrap(),
    )
}

const GREEDY: Setup = Setup {
    budget: 500,
    rule: PbRule::Greedy,
    max_projects: None,
    cost_limit: None,
};

#[test]
fn phases_follow_the_log_and_the_clock() {
    let mut s = State::replay(&[jurisdiction(), round_opened(2)]).unwrap();
    let r = || s.round(ROUND).unwrap().phase(PROPOSALS_CLOSE - 1);
    assert_eq!(r(), PbPhase::Proposals);
    assert_eq!(
        s.round(ROUND).unwrap().phase(PROPOSALS_CLOSE),
        PbPhase::Review
    );
    s.admit(&proposed(PROPOSALS_CLOSE - 1, "Last minute"))
        .unwrap();
    let late = proposed(PROPOSALS_CLOSE, "Too late");
    assert_eq!(s.check(&late).unwrap_err().code, "not-taking-proposals");
    // Reviews only in review.
    let early = reviewed(2, Some(100), PROPOSALS_CLOSE - 1);
    let v = s.check(&early).unwrap_err();
    assert_eq!(v.code, "not-in-review");
    assert!(v.message.contains("takes proposals until"), "{v}");
    assert_eq!(
        s.check(&reviewed(7, Some(100), REVIEW)).unwrap_err().code,
        "unknown-project"
    );
    let mut by_moderator = reviewed(2, Some(100), REVIEW);
    if let Payload::PbProjectReviewed(r) = &mut by_moderator.payload {
        r.actor = Actor::new(StaffRole::Moderator, "moderator-1");
    }
    assert_eq!(s.check(&by_moderator).unwrap_err().code, "wrong-role");
    // No ballot before voting opens.
    assert_eq!(
        s.check(&ballot(1, &[2], REVIEW)).unwrap_err().code,
        "voting-not-open"
    );
    // A result only after voting closed.
    let r = Entry::new(
        REVIEW,
        PbResult {
            round: ROUND,
            ballots: 0,
            approvals: vec![0],
            winners: vec![],
            spent: 0,
            actor: organiser(),
        },
    );
    assert_eq!(s.check(&r).unwrap_err().code, "voting-not-closed");
}

#[test]
fn the_ballot_lists_exactly_the_feasible_projects_of_the_last_reviews() {
    let mut s = State::replay(&[jurisdiction(), round_opened(0)]).unwrap();
    for i in 0..3 {
        s.admit(&proposed(T0 + 2 + i, "P")).unwrap();
    }
    let costs = [Some(300), None, Some(200)];
    s.admit(&reviewed(2, Some(999), REVIEW)).unwrap();
    s.admit(&reviewed(3, None, REVIEW)).unwrap();
    let open = voting_opened(&costs, &GREEDY);
    assert_eq!(s.check(&open).unwrap_err().code, "unreviewed-project");
    s.admit(&reviewed(4, Some(200), REVIEW)).unwrap();
    // Project 2's first review said 999: the ballot must follow the last.
    let v = s.check(&open).unwrap_err();
    assert_eq!(v.code, "ballot-projects-mismatch");
    assert!(v.message.contains("project 2 at cost 999"), "{v}");
    s.admit(&reviewed(2, Some(300), REVIEW)).unwrap();
    let all = voting_opened(&[Some(300), Some(1), Some(200)], &GREEDY);
    assert_eq!(s.check(&all).unwrap_err().code, "ballot-projects-mismatch");
    let mut in_past = open.clone();
    if let Payload::PbVotingOpened(o) = &mut in_past.payload {
        o.closes_at_ms = VOTING;
    }
    assert_eq!(s.check(&in_past).unwrap_err().code, "window-in-past");
    let unusable = voting_opened(
        &costs,
        &Setup {
            cost_limit: Some(199),
            ..GREEDY
        },
    );
    assert_eq!(s.check(&unusable).unwrap_err().code, "cost-limit-unusable");
    s.admit(&open).unwrap();
    assert_eq!(s.round(ROUND).unwrap().phase(VOTING), PbPhase::Voting);
    assert_eq!(s.check(&open).unwrap_err().code, "not-in-review");
    assert_eq!(
        s.check(&reviewed(2, Some(1), VOTING)).unwrap_err().code,
        "not-in-review"
    );
}

#[test]
fn ballot_constraints_hold_exactly_at_their_limits() {
    let setup = Setup {
        budget: 1_000,
        rule: PbRule::Greedy,
        max_projects: Some(2),
        cost_limit: Some(500),
    };
    // Projects 2, 3, 4 cost 300, 200, 201; project 5 is infeasible.
    let mut s = State::replay(&log(&[Some(300), Some(200), Some(201), None], &setup)).unwrap();
    vote(&mut s, 1, &[2, 3]).unwrap(); // 2 projects, cost 500: at both limits
    let v = vote(&mut s, 2, &[2, 4]).unwrap_err(); // 501
    assert_eq!(v.code, "over-cost-limit");
    assert!(v.message.contains("at most 500") && v.message.contains("cost 501"));
    assert_eq!(
        vote(&mut s, 3, &[2, 3, 4]).unwrap_err().code,
        "too-many-projects"
    );
    assert_eq!(vote(&mut s, 4, &[5]).unwrap_err().code, "not-on-ballot");
    assert_eq!(vote(&mut s, 4, &[99]).unwrap_err().code, "not-on-ballot");
    vote(&mut s, 4, &[4]).unwrap();
}

#[test]
fn voting_window_boundaries() {
    let mut s = State::replay(&log(&[Some(100)], &GREEDY)).unwrap();
    assert_eq!(
        s.check(&ballot(1, &[2], VOTING - 1)).unwrap_err().code,
        "voting-not-open"
    );
    s.admit(&ballot(1, &[2], VOTING)).unwrap();
    s.admit(&ballot(2, &[2], VOTING_CLOSES - 1)).unwrap();
    let v = s.check(&ballot(3, &[2], VOTING_CLOSES)).unwrap_err();
    assert_eq!(v.code, "voting-not-open");
    assert!(v.message.contains("voting ended at"), "{v}");
    assert_eq!(
        s.round(ROUND).unwrap().phase(VOTING_CLOSES),
        PbPhase::Counting
    );
}

#[test]
fn greedy_result_with_revotes_and_its_forgeries() {
    // Budget 500; projects 2: 300, 3: 200, 4: 201.
    let mut s = State::replay(&log(&[Some(300), Some(200), Some(201)], &GREEDY)).unwrap();
    vote(&mut s, 1, &[2, 3]).unwrap();
    vote(&mut s, 2, &[2, 4]).unwrap();
    vote(&mut s, 3, &[4]).unwrap();
    vote(&mut s, 3, &[2, 3]).unwrap(); // replaces [4]
    vote(&mut s, 4, &[3, 4]).unwrap();
    let r = s.round(ROUND).unwrap();
    assert_eq!(r.turnout(), 4);
    assert_eq!(r.ballots_cast, 5);
    assert_eq!(r.approvals(), &[3, 3, 2]);
    assert_eq!(r.ballot_of(&voter(3)).unwrap().1, &[2, 3]);
    let c = r.count().unwrap();
    // 2 and 3 tie at 3 approvals: the earlier id (2) first; 300 + 200 = 500.
    assert_eq!(
        (c.ballots, c.winners.clone(), c.spent),
        (4, vec![2, 3], 500)
    );
    assert_eq!(c.approvals, vec![3, 3, 2]);

    let honest = result(&s);
    assert_eq!(
        s.check(&Entry::new(VOTING_CLOSES - 1, honest.payload.clone()))
            .unwrap_err()
            .code,
        "voting-not-closed"
    );
    let forged = |f: &dyn Fn(&mut PbResult)| {
        let mut e = honest.clone();
        if let Payload::PbResult(d) = &mut e.payload {
            f(d);
        }
        s.check(&e).unwrap_err().code
    };
    assert_eq!(forged(&|d| d.ballots = 5), "ballot-count-mismatch");
    assert_eq!(
        forged(&|d| d.approvals = vec![3, 2, 3]),
        "approvals-mismatch"
    );
    assert_eq!(forged(&|d| d.winners = vec![3, 2]), "winners-mismatch");
    assert_eq!(forged(&|d| d.winners = vec![2, 4]), "winners-mismatch");
    assert_eq!(forged(&|d| d.spent = 501), "spent-mismatch");
    assert_eq!(
        forged(&|d| d.actor = Actor::new(StaffRole::Clerk, "clerk-1")),
        "wrong-role"
    );
    s.admit(&honest).unwrap();
    assert_eq!(
        s.round(ROUND).unwrap().phase(VOTING_CLOSES),
        PbPhase::Result
    );
    assert_eq!(s.check(&honest).unwrap_err().code, "already-declared");
}

#[test]
fn ties_go_to_the_earlier_project_even_past_nine() {
    // Ten projects at ids 2..=11; only 9 and 10 are feasible, approved by
    // the same voters (equal approvals, equal MES prices), and only one fits: as strings "10" < "9", as log indices
    // 9 < 10. The earlier proposal must win.
    let costs: Vec<Option<u64>> = (2..=11)
        .map(|id| (id == 9 || id == 10).then_some(100))
        .collect();
    for rule in PbRule::ALL {
        let setup = Setup {
            budget: 100,
            rule,
            max_projects: None,
            cost_limit: None,
        };
        let mut s = State::replay(&log(&costs, &setup)).unwrap();
        vote(&mut s, 1, &[9, 10]).unwrap();
        vote(&mut s, 2, &[9, 10]).unwrap();
        let c = s.round(ROUND).unwrap().count().unwrap();
        assert_eq!(c.winners, vec![9], "{rule:?}");
    }
}

#[test]
fn equal_shares_differs_from_greedy_and_is_recounted() {
    // 10 voters, budget 1000 (a share of 100 each). Six approve 2 (cost
    // 1000) and 4 (cost 500); four approve 3 (cost 400). Greedy funds 2,
    // which ties with 4 at six approvals and comes first, and nothing else
    // fits. Under MES the six hold only 600: they buy 4, the four buy 3.
    let costs = [Some(1_000), Some(400), Some(500)];
    let mut outcomes = Vec::new();
    for rule in PbRule::ALL {
        let setup = Setup {
            budget: 1_000,
            rule,
            max_projects: None,
            cost_limit: None,
        };
        let mut s = State::replay(&log(&costs, &setup)).unwrap();
        for who in 0..6 {
            vote(&mut s, who, &[2, 4]).unwrap();
        }
        for who in 6..10 {
            vote(&mut s, who, &[3]).unwrap();
        }
        let honest = result(&s);
        let c = s.round(ROUND).unwrap().count().unwrap();
        let mut forged = honest.clone();
        if let Payload::PbResult(d) = &mut forged.payload {
            d.winners = if d.winners == [2] {
                vec![4, 3]
            } else {
                vec![2]
            };
        }
        assert_eq!(s.check(&forged).unwrap_err().code, "winners-mismatch");
        s.admit(&honest).unwrap();
        outcomes.push((c.winners, c.spent));
    }
    assert_eq!(outcomes[0], (vec![2], 1_000), "greedy");
    assert_eq!(outcomes[1], (vec![4, 3], 900), "equal shares");
    assert_eq!(outcomes[2], (vec![4, 3], 900), "add1: already exhaustive");
    assert_eq!(outcomes[3], (vec![4, 3], 900), "add1+greedy: nothing fits");
}

#[test]
fn replay_fails_on_an_over_limit_ballot_or_a_forged_result() {
    let setup = Setup {
        budget: 500,
        rule: PbRule::EqualSharesAdd1,
        max_projects: Some(1),
        cost_limit: Some(300),
    };
    // Project 4 costs more than the cost limit: on the ballot, but no
    // ballot may approve it.
    let mut entries = log(&[Some(300), Some(200), Some(301)], &setup);
    let mut s = State::replay(&entries).unwrap();
    for (who, p) in [(1, 2), (2, 3), (3, 2), (1, 3)] {
        let b = ballot(who, &[p], VOTING + s.size);
        s.admit(&b).unwrap();
        entries.push(b);
    }
    entries.push(result(&s));
    State::replay(&entries).unwrap();

    let ballot_at = entries.len() - 3;
    let mut over = entries.clone();
    if let Payload::PbBallot(b) = &mut over[ballot_at].payload {
        b.approved = vec![2, 3];
    }
    let (at, v) = State::replay(&over).unwrap_err();
    assert_eq!((at, v.code), (ballot_at as u64, "too-many-projects"));
    let mut over_budget = entries.clone();
    if let Payload::PbBallot(b) = &mut over_budget[ballot_at].payload {
        b.approved = vec![4];
    }
    let (at, v) = State::replay(&over_budget).unwrap_err();
    assert_eq!((at, v.code), (ballot_at as u64, "over-cost-limit"));

    let last = entries.len() - 1;
    let mut forged = entries.clone();
    if let Payload::PbResult(d) = &mut forged[last].payload {
        d.spent += 1;
    }
    let (at, v) = State::replay(&forged).unwrap_err();
    assert_eq!((at, v.code), (last as u64, "spent-mismatch"));
}

#[test]
fn the_ballot_action_names_the_round_and_the_set() {
    let a = pb_ballot_action(60, &[61, 64]);
    assert_eq!(
        a,
        [
            &b"veche vote pb v1\n"[..],
            &60u64.to_be_bytes(),
            &2u32.to_be_bytes(),
            &61u64.to_be_bytes(),
            &64u64.to_be_bytes(),
        ]
        .concat()
    );
    assert_ne!(a, pb_ballot_action(60, &[61]));
}

/// Recounts an exported round the way a researcher would: write the `.pb`
/// text, parse it, count it with the round's rule; the winners' ids in
/// selection order, read back as log indices.
fn recount_export(inst: &Instance, rule: PbRule) -> Vec<u64> {
    let text = pabulib::write(inst);
    let parsed = pabulib::parse(&text).unwrap();
    assert_eq!(&parsed, inst, "the export reads back as written");
    let pb = PbInstance::from_pabulib(&parsed).unwrap();
    let out = match rule {
        PbRule::Greedy => greedy(&pb),
        PbRule::EqualShares => equal_shares(&pb, Completion::None),
        PbRule::EqualSharesAdd1 => equal_shares(&pb, Completion::Add1),
        PbRule::EqualSharesAdd1Greedy => equal_shares(&pb, Completion::Add1Greedy),
    };
    out.winners
        .iter()
        .map(|&i| parsed.projects[i].id.parse().unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn export_recounts_to_the_declared_winners_with_every_rule() {
    // Projects 2..=11; 5 infeasible. 9 and 10 tie everywhere (same
    // voters, same cost), and as strings "10" < "9": the export must pad
    // the ids so that the earlier proposal still wins the tie.
    let costs: Vec<Option<u64>> = (2..=11)
        .map(|id| match id {
            5 => None,
            9 | 10 => Some(100),
            _ => Some(30 + id * 7),
        })
        .collect();
    for rule in PbRule::ALL {
        let setup = Setup {
            budget: 260,
            rule,
            max_projects: Some(3),
            cost_limit: None,
        };
        let mut s = State::replay(&log(&costs, &setup)).unwrap();
        for (who, a) in [
            (1, &[9, 10][..]),
            (2, &[9, 10, 2]),
            (3, &[3, 4]),
            (4, &[11]),
            (5, &[6, 7, 8]),
            (3, &[4, 8]), // re-vote: replaces [3, 4]
            (6, &[9, 10]),
        ] {
            vote(&mut s, who, a).unwrap();
        }
        assert!(
            s.round(ROUND).unwrap().to_pabulib().is_none(),
            "no result yet"
        );
        let declared = result(&s);
        s.admit(&declared).unwrap();
        let r = s.round(ROUND).unwrap();
        let inst = r.to_pabulib().unwrap();
        let winners = r.result.as_ref().unwrap().result.winners.clone();
        assert_eq!(recount_export(&inst, rule), winners, "{rule:?}");
        if winners.contains(&9) || winners.contains(&10) {
            assert!(
                winners.contains(&9),
                "{rule:?}: the earlier proposal wins the tie"
            );
        }
        let ids: Vec<&str> = inst.projects.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["02", "03", "04", "06", "07", "08", "09", "10", "11"]);
        for p in &inst.projects {
            let id: u64 = p.id.parse().unwrap();
            assert_eq!(p.selected, Some(winners.contains(&id)));
        }
        // Voters by nullifier, in the log order of their last ballots.
        let voters: Vec<String> = inst.votes.iter().map(|v| v.voter_id.clone()).collect();
        let expected: Vec<String> = [1, 2, 4, 5, 3, 6].iter().map(|&w| hex(&voter(w))).collect();
        assert_eq!(voters, expected);
        assert_eq!(inst.votes[4].vote, [2, 5], "voter 3's last ballot: 4 and 8");
        assert_eq!(inst.meta_value("num_votes"), Some("6"));
        assert_eq!(inst.meta_value("num_projects"), Some("9"));
        assert_eq!(inst.meta_value("max_length"), Some("3"));
        assert_eq!(inst.meta_value("max_sum_cost"), None);
        let rule_name = inst.meta_value("rule").unwrap();
        assert_eq!(
            rule_name,
            [
                "greedy",
                "equalshares",
                "equalshares/add1",
                "equalshares/add1/greedy"
            ][usize::from(rule.code() - 1)]
        );
    }
}

#[test]
fn export_of_a_round_in_kopecks_with_places_and_no_identities() {
    // Scale 2: 1,500.01 roubles; projects cost 1,234.56, 0.50 and 300.
    let mut e = vec![jurisdiction(), round_opened(2)];
    let mut located = proposed(T0 + 2, "Сквер; \"Чайковского\"");
    if let Payload::PbProjectProposed(p) = &mut located.payload {
        p.location = Some(Location {
            lat_e6: 54_710_400,
            lon_e6: -20_000_001,
        });
        p.category = Some("green-spaces".into());
    }
    e.push(located);
    e.push(proposed(T0 + 3, "Bench"));
    e.push(proposed(T0 + 4, "Lamp"));
    for (p, c) in [(2, 123_456), (3, 50), (4, 30_000)] {
        e.push(reviewed(p, Some(c), REVIEW));
    }
    let setup = Setup {
        budget: 150_001,
        rule: PbRule::EqualSharesAdd1,
        max_projects: None,
        cost_limit: Some(130_000),
    };
    e.push(voting_opened(
        &[Some(123_456), Some(50), Some(30_000)],
        &setup,
    ));
    let mut s = State::replay(&e).unwrap();
    for (who, a) in [(1, &[2, 3][..]), (2, &[2]), (3, &[3, 4]), (4, &[4])] {
        vote(&mut s, who, a).unwrap();
    }
    let declared = result(&s);
    s.admit(&declared).unwrap();
    let r = s.round(ROUND).unwrap();
    let inst = r.to_pabulib().unwrap();
    assert_eq!(
        recount_export(&inst, setup.rule),
        r.result.as_ref().unwrap().result.winners
    );
    // The add1 increment is one rouble in the export too: the same run.
    let pb = PbInstance::from_pabulib(&inst).unwrap();
    assert_eq!(
        equal_shares(&pb, Completion::Add1).increments,
        r.count().unwrap().add1_increments
    );
    let keys: Vec<&str> = inst.meta.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "description",
            "unit",
            "instance",
            "num_projects",
            "num_votes",
            "budget",
            "vote_type",
            "rule",
            "date_begin",
            "date_end",
            "min_length",
            "max_sum_cost",
            "currency",
            "comment"
        ]
    );
    let meta = |k| inst.meta_value(k).unwrap();
    assert_eq!(meta("description"), "Бюджет / Budget");
    assert_eq!(meta("unit"), "town");
    assert_eq!(meta("instance"), "1");
    assert_eq!(meta("budget"), "1500.01");
    assert_eq!(meta("max_sum_cost"), "1300");
    assert_eq!(meta("currency"), "RUB");
    // Voting from T0 + 2 s to T0 + 1,000 s: 2026-11-23, UTC.
    assert_eq!(
        (meta("date_begin"), meta("date_end")),
        ("23.11.2026", "23.11.2026")
    );
    assert!(meta("comment").starts_with("#1: "));
    let costs: Vec<String> = inst.projects.iter().map(|p| p.cost.to_string()).collect();
    assert_eq!(costs, ["1234.56", "0.5", "300"]);
    let p = &inst.projects[0];
    assert_eq!(p.name.as_deref(), Some("Сквер; \"Чайковского\""));
    assert_eq!(p.category.as_deref(), Some("green-spaces"));
    assert_eq!(
        (p.latitude.as_deref(), p.longitude.as_deref()),
        (Some("54.7104"), Some("-20.000001"))
    );
    assert_eq!(
        (
            inst.projects[1].latitude.as_deref(),
            inst.projects[1].category.as_deref()
        ),
        (None, None)
    );
    assert_eq!(
        inst.project_columns,
        [
            "project_id",
            "cost",
            "votes",
            "name",
            "category",
            "latitude",
            "longitude",
            "selected"
        ]
    );
    assert_eq!(inst.vote_columns, ["voter_id", "vote"]);
    let votes: Vec<&str> = inst
        .projects
        .iter()
        .map(|p| p.other[0].1.as_str())
        .collect();
    assert_eq!(votes, ["2", "2", "2"]);
    // Nothing but nullifiers identifies anyone: no author pseudonym,
    // assertion commitment or staff actor is in the file.
    let text = pabulib::write(&inst);
    for secret in [hex(&[3; 32]), hex(&[9; 32]), "organiser-1".into()] {
        assert!(!text.contains(&secret), "{secret} leaked");
    }
    assert!(text.contains(&hex(&voter(4))));
}

#[test]
fn spending_under_equal_shares_by_hand() {
    // 10 voters, budget 1000: a share of 100 each. Six approve 2 (1000)
    // and 4 (500); four approve 3 (400). MES: 4 costs 500 / 6 = 250/3
    // each of the six, 3 costs 100 each of the four; 2 is then out of
    // reach. Paid: 900 in all.
    let costs = [Some(1_000), Some(400), Some(500)];
    for rule in PbRule::ALL {
        let setup = Setup {
            budget: 1_000,
            rule,
            max_projects: None,
            cost_limit: None,
        };
        let mut s = State::replay(&log(&costs, &setup)).unwrap();
        assert_eq!(
            s.round(ROUND).unwrap().spending().is_some(),
            rule != PbRule::Greedy
        );
        vote(&mut s, 6, &[2]).unwrap(); // replaced below: ordered by the last ballot
        for who in 0..6 {
            vote(&mut s, who, &[2, 4]).unwrap();
        }
        for who in 6..10 {
            vote(&mut s, who, &[3]).unwrap();
        }
        let r = s.round(ROUND).unwrap();
        let Some(sp) = r.spending() else {
            assert_eq!(rule, PbRule::Greedy, "greedy charges nobody");
            continue;
        };
        assert_eq!(sp.ballots, 10);
        assert_eq!((sp.share.to_string(), sp.share_units), ("100".into(), 100));
        assert_eq!((sp.paid_by_voters, sp.greedy_completion), (900, 0));
        assert_eq!(sp.add1_increments, 0, "{rule:?}: exhaustive at once");
        let paid: Vec<(u32, String, u64)> = sp
            .voters
            .iter()
            .map(|v| {
                let who = u32::from_be_bytes(v.nullifier[..4].try_into().unwrap());
                (who, v.paid.to_string(), v.paid_units)
            })
            .collect();
        let mut expected: Vec<(u32, String, u64)> =
            (0..6).map(|w| (w, "250/3".to_string(), 83)).collect();
        expected.extend((6..10).map(|w| (w, "100".to_string(), 100)));
        assert_eq!(paid, expected);
        assert!(sp.voters.windows(2).all(|w| w[0].ballot < w[1].ballot));
        // 250/3 of 100 is 83 %; 100 % goes in the last bucket.
        assert_eq!(sp.histogram, [0, 0, 0, 0, 0, 0, 0, 0, 6, 4]);
    }
}

#[test]
fn the_greedy_completion_is_not_charged_to_voters() {
    // Budget 1000, two voters (shares of 500) approve 2 (cost 600): MES
    // funds it, 300 from each. Project 3 (300), which nobody approved, is
    // no MES candidate: the greedy completion funds it from the 400 the
    // voters left, and nobody is charged for it.
    let setup = Setup {
        budget: 1_000,
        rule: PbRule::EqualSharesAdd1Greedy,
        max_projects: None,
        cost_limit: None,
    };
    let mut s = State::replay(&log(&[Some(600), Some(300)], &setup)).unwrap();
    vote(&mut s, 1, &[2]).unwrap();
    vote(&mut s, 2, &[2]).unwrap();
    let r = s.round(ROUND).unwrap();
    let c = r.count().unwrap();
    assert_eq!((c.winners.clone(), c.completed_by_greedy), (vec![2, 3], 1));
    let sp = r.spending().unwrap();
    assert_eq!((sp.paid_by_voters, sp.greedy_completion), (600, 300));
    let paid: Vec<String> = sp.voters.iter().map(|v| v.paid.to_string()).collect();
    assert_eq!(paid, ["300", "300"]);
}

proptest! {
    /// Whatever the re-votes, the count is that of each voter's last
    /// ballot, the live approvals agree with it, it never spends more than
    /// the budget, and the order of the last ballots does not matter.
    #[test]
    fn count_is_the_last_ballots_in_any_order(
        rule in prop::sample::select(PbRule::ALL.to_vec()),
        costs in proptest::collection::vec(prop_oneof![1 => Just(None), 4 => (1u64..400).prop_map(Some)], 1..7),
        budget in 1u64..1_000,
        votes in proptest::collection::vec((0u32..8, proptest::collection::vec(any::<u8>(), 1..5)), 1..30),
        shuffle_seed in any::<u64>(),
    ) {
        prop_assume!(costs.iter().any(Option::is_some));
        let setup = Setup { budget, rule, max_projects: None, cost_limit: None };
        let feasible: Vec<u64> = costs
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.map(|_| 2 + i as u64))
            .collect();
        let pick = |seed: &[u8]| {
            let mut a: Vec<u64> = seed.iter().map(|&b| feasible[usize::from(b) % feasible.len()]).collect();
            a.sort_unstable();
            a.dedup();
            a
        };
        let mut s = State::replay(&log(&costs, &setup)).unwrap();
        let mut last: std::collections::BTreeMap<u32, Vec<u64>> = Default::default();
        for (who, seed) in &votes {
            let a = pick(seed);
            vote(&mut s, *who, &a).unwrap();
            last.insert(*who, a);
        }
        let r = s.round(ROUND).unwrap();
        let c = r.count().unwrap();
        prop_assert_eq!(c.ballots, last.len() as u64);
        prop_assert_eq!(r.approvals(), c.approvals.as_slice());
        prop_assert!(c.spent <= budget);

        let mut fresh = State::replay(&log(&costs, &setup)).unwrap();
        let mut order: Vec<(u32, Vec<u64>)> = last.into_iter().collect();
        let mut x = shuffle_seed | 1;
        for i in (1..order.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        for (who, a) in &order {
            vote(&mut fresh, *who, a).unwrap();
        }
        prop_assert_eq!(&fresh.round(ROUND).unwrap().count().unwrap(), &c);
        let declared = result(&s);
        prop_assert!(s.check(&declared).is_ok());
        prop_assert!(fresh.check(&declared).is_ok());

        // The voters paid exactly the MES winners' cost, none more than
        // their share; the export recounts to the declared winners.
        if let Some(sp) = r.spending() {
            let mes = &c.winners[..c.winners.len() - c.completed_by_greedy];
            let mes_cost: u64 = mes.iter().map(|id| costs[(*id - 2) as usize].unwrap()).sum();
            prop_assert_eq!(sp.paid_by_voters, mes_cost);
            prop_assert_eq!(sp.paid_by_voters + sp.greedy_completion, c.spent);
            prop_assert!(sp.voters.iter().all(|v| v.paid <= sp.share));
            prop_assert_eq!(sp.histogram.iter().sum::<u64>(), c.ballots);
        } else {
            prop_assert_eq!(rule, PbRule::Greedy);
        }
        s.admit(&declared).unwrap();
        let r = s.round(ROUND).unwrap();
        prop_assert_eq!(recount_export(&r.to_pabulib().unwrap(), rule), c.winners);
    }
}
