//! Participatory-budgeting rules: phases, reviews, the fixed ballot,
//! ballot constraints at their limits, re-voting, the recount of the
//! declared result, and replay of forged logs.

use proptest::prelude::*;
use veche_entry::{
    Actor, CostedProject, Date, Entry, Jurisdiction, Payload, PbBallot, PbProjectProposed,
    PbProjectReviewed, PbResult, PbRoundOpened, PbRule, PbVotingOpened, StaffRole, Verdict,
};

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
        prop_assert_eq!(fresh.round(ROUND).unwrap().count().unwrap(), c);
        let declared = result(&s);
        prop_assert!(s.check(&declared).is_ok());
        prop_assert!(fresh.check(&declared).is_ok());
    }
}
