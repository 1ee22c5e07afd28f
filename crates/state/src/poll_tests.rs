//! Poll rules: windows, option checks, re-voting, the recount of the
//! declared tally, and replay of forged logs.

use proptest::prelude::*;
use veche_entry::{
    Actor, Date, Entry, Jurisdiction, Payload, PollBallot, PollClosed, PollMethod, PollOpened,
    PollOption, StaffRole,
};

use crate::{PollStatus, State, Violation, poll_ballot_action};

const T0: u64 = 1_795_442_400_000;
const OPENS: u64 = T0 + 1_000;
const CLOSES: u64 = T0 + 1_000_000;
/// The poll's id: entry 1, after the jurisdiction.
const POLL: u64 = 1;

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

fn opened(method: PollMethod, options: usize) -> Entry {
    Entry::new(
        T0 + 1,
        PollOpened {
            jurisdiction: "town".into(),
            question_ru: "Что сделать?".into(),
            question_en: "What to do?".into(),
            options: (0..options)
                .map(|i| PollOption {
                    ru: format!("Вариант {i}"),
                    en: format!("Option {i}"),
                })
                .collect(),
            method,
            opens_at_ms: OPENS,
            closes_at_ms: CLOSES,
            actor: organiser(),
        },
    )
}

/// The log so far: a jurisdiction and poll 1.
fn log(method: PollMethod, options: usize) -> Vec<Entry> {
    vec![jurisdiction(), opened(method, options)]
}

fn state(method: PollMethod, options: usize) -> State {
    State::replay(&log(method, options)).unwrap()
}

fn voter(who: u32) -> [u8; 32] {
    let mut n = [0u8; 32];
    n[..4].copy_from_slice(&who.to_be_bytes());
    n
}

fn ballot(who: u32, choice: &[u16], at: u64) -> Entry {
    Entry::new(
        at,
        PollBallot {
            poll: POLL,
            nullifier: voter(who),
            choice: choice.to_vec(),
            assertion: [7; 32],
        },
    )
}

fn vote(s: &mut State, who: u32, choice: &[u16]) -> Result<(), Violation> {
    let at = OPENS + s.size;
    s.admit(&ballot(who, choice, at)).map(|_| ())
}

fn close(s: &State) -> Entry {
    Entry::new(CLOSES, s.poll(POLL).unwrap().tally())
}

#[test]
fn the_last_ballot_counts() {
    let mut s = state(PollMethod::Single, 3);
    vote(&mut s, 1, &[0]).unwrap();
    vote(&mut s, 2, &[0]).unwrap();
    vote(&mut s, 1, &[2]).unwrap();
    vote(&mut s, 1, &[1]).unwrap();
    let p = s.poll(POLL).unwrap();
    assert_eq!(p.turnout(), 2);
    assert_eq!(p.ballots_cast, 4);
    assert_eq!(p.live_counts(), &[1, 1, 0]);
    assert_eq!(p.ballot_of(&voter(1)), Some((5, &[1u16][..])));
    let t = p.tally();
    assert_eq!(t.ballots, 2);
    assert_eq!(t.counts, vec![1, 1, 0]);
    assert_eq!(t.winners, vec![0, 1], "a tie, shown as such");
    assert_eq!(t.ranking, vec![0, 1, 2]);
}

#[test]
fn ballots_are_accepted_only_inside_the_window() {
    let mut s = state(PollMethod::Approval, 3);
    let early = ballot(1, &[0], OPENS - 1);
    let v = s.check(&early).unwrap_err();
    assert_eq!(v.code, "poll-not-open");
    assert!(v.message.contains("opens for voting at"), "{v}");
    assert_eq!(
        s.poll(POLL).unwrap().status(OPENS - 1),
        PollStatus::Scheduled
    );
    s.admit(&ballot(1, &[0], OPENS)).unwrap();
    s.admit(&ballot(2, &[0, 2], CLOSES - 1)).unwrap();
    let late = s.check(&ballot(3, &[1], CLOSES)).unwrap_err();
    assert_eq!(late.code, "poll-not-open");
    assert!(late.message.contains("ended at"), "{late}");
    assert_eq!(s.poll(POLL).unwrap().status(CLOSES), PollStatus::Ended);
}

#[test]
fn ballots_must_fit_the_poll_and_its_method() {
    let mut single = state(PollMethod::Single, 3);
    assert_eq!(
        vote(&mut single, 1, &[3]).unwrap_err().code,
        "no-such-option"
    );
    assert_eq!(
        vote(&mut single, 1, &[0, 1]).unwrap_err().code,
        "single-choice-expected"
    );
    vote(&mut single, 1, &[2]).unwrap();

    let mut approval = state(PollMethod::Approval, 4);
    assert_eq!(
        vote(&mut approval, 1, &[2, 0]).unwrap_err().code,
        "approval-not-ascending"
    );
    vote(&mut approval, 1, &[0, 2, 3]).unwrap();

    let mut ranked = state(PollMethod::RankedSchulze, 4);
    vote(&mut ranked, 1, &[3, 0, 2]).unwrap();
    assert_eq!(
        vote(&mut ranked, 2, &[4]).unwrap_err().code,
        "no-such-option"
    );

    let other = Entry::new(
        OPENS,
        PollBallot {
            poll: 0,
            nullifier: voter(1),
            choice: vec![0],
            assertion: [7; 32],
        },
    );
    assert_eq!(ranked.check(&other).unwrap_err().code, "unknown-poll");
}

#[test]
fn opening_needs_a_declared_jurisdiction_an_organiser_and_a_future_close() {
    let s = State::replay(&[jurisdiction()]).unwrap();
    let mut o = opened(PollMethod::Single, 2);
    s.check(&o).unwrap();
    if let Payload::PollOpened(p) = &mut o.payload {
        p.actor = Actor::new(StaffRole::Moderator, "moderator-1");
    }
    assert_eq!(s.check(&o).unwrap_err().code, "wrong-role");
    let mut o = opened(PollMethod::Single, 2);
    if let Payload::PollOpened(p) = &mut o.payload {
        p.jurisdiction = "elsewhere".into();
    }
    assert_eq!(s.check(&o).unwrap_err().code, "unknown-jurisdiction");
    let mut o = opened(PollMethod::Single, 2);
    o.timestamp_ms = CLOSES;
    assert_eq!(s.check(&o).unwrap_err().code, "window-in-past");
}

#[test]
fn closing_declares_exactly_the_recount_once_the_window_ends() {
    let mut s = state(PollMethod::RankedSchulze, 3);
    // Condorcet winner 2: 2 > 0 > 1 for three voters, 0 > 2 > 1 for two.
    for who in 0..3 {
        vote(&mut s, who, &[2, 0, 1]).unwrap();
    }
    vote(&mut s, 3, &[0, 2]).unwrap();
    vote(&mut s, 4, &[1]).unwrap();
    vote(&mut s, 4, &[0, 2, 1]).unwrap(); // re-vote replaces [1]
    let honest = close(&s);
    let Payload::PollClosed(t) = &honest.payload else {
        panic!()
    };
    assert_eq!(t.ballots, 5);
    assert_eq!(t.counts, vec![2, 0, 3], "first preferences");
    assert_eq!(t.ranking, vec![2, 0, 1]);
    assert_eq!(t.winners, vec![2]);

    let early = Entry::new(CLOSES - 1, honest.payload.clone());
    assert_eq!(s.check(&early).unwrap_err().code, "poll-still-open");
    let forged = |f: &dyn Fn(&mut PollClosed)| {
        let mut e = honest.clone();
        if let Payload::PollClosed(c) = &mut e.payload {
            f(c);
        }
        s.check(&e).unwrap_err().code
    };
    assert_eq!(forged(&|c| c.ballots = 6), "ballot-count-mismatch");
    assert_eq!(forged(&|c| c.counts = vec![3, 0, 2]), "tally-mismatch");
    assert_eq!(forged(&|c| c.ranking = vec![0, 2, 1]), "ranking-mismatch");
    assert_eq!(forged(&|c| c.winners = vec![0]), "winners-mismatch");
    assert_eq!(forged(&|c| c.winners = vec![0, 2]), "winners-mismatch");

    s.admit(&honest).unwrap();
    let p = s.poll(POLL).unwrap();
    assert_eq!(p.status(CLOSES), PollStatus::Closed);
    assert_eq!(p.closed.as_ref().unwrap().tally, *t);
    assert_eq!(s.check(&honest).unwrap_err().code, "poll-already-closed");
    assert_eq!(
        s.check(&ballot(9, &[0], CLOSES - 1)).unwrap_err().code,
        "poll-not-open"
    );
    let sch = s.poll(POLL).unwrap().schulze().unwrap();
    assert_eq!(sch.pairwise[2][0], 3);
    assert_eq!(sch.pairwise[0][2], 2);
}

#[test]
fn an_empty_poll_closes_with_zero_counts_and_a_tie() {
    let mut s = state(PollMethod::Approval, 2);
    let c = close(&s);
    s.admit(&c).unwrap();
    let Payload::PollClosed(t) = &c.payload else {
        panic!()
    };
    assert_eq!(
        (t.ballots, &t.counts, &t.winners),
        (0, &vec![0, 0], &vec![0, 1])
    );
}

#[test]
fn replay_fails_on_a_forged_tally_with_its_index() {
    let mut entries = log(PollMethod::Single, 3);
    let mut s = State::replay(&entries).unwrap();
    for (who, o) in [(1, 0), (2, 1), (3, 1), (1, 2)] {
        let b = ballot(who, &[o], OPENS + s.size);
        s.admit(&b).unwrap();
        entries.push(b);
    }
    entries.push(close(&s));
    State::replay(&entries).unwrap();

    let last = entries.len() - 1;
    let mut forged = entries.clone();
    if let Payload::PollClosed(c) = &mut forged[last].payload {
        c.counts = vec![1, 1, 1];
    }
    let (at, v) = State::replay(&forged).unwrap_err();
    assert_eq!((at, v.code), (last as u64, "tally-mismatch"));

    // A ballot moved past the window fails at that ballot.
    let mut late = entries.clone();
    late[3].timestamp_ms = CLOSES;
    let (at, v) = State::replay(&late).unwrap_err();
    assert_eq!((at, v.code), (3, "poll-not-open"));
}

#[test]
fn the_ballot_action_names_the_poll_and_the_choice_in_order() {
    let a = poll_ballot_action(40, &[2, 0]);
    assert_eq!(
        a,
        [
            &b"veche vote poll v1\n"[..],
            &40u64.to_be_bytes(),
            &2u32.to_be_bytes(),
            &[0, 2, 0, 0],
        ]
        .concat()
    );
    assert_ne!(a, poll_ballot_action(40, &[0, 2]));
    assert_ne!(a, poll_ballot_action(41, &[2, 0]));
}

fn method() -> impl Strategy<Value = PollMethod> {
    prop::sample::select(PollMethod::ALL.to_vec())
}

/// A valid choice for `method` among `m` options, from a seed list.
fn shape(method: PollMethod, m: usize, seed: &[u16]) -> Vec<u16> {
    let mut seen = vec![false; m];
    let mut c: Vec<u16> = seed
        .iter()
        .map(|&o| o % m as u16)
        .filter(|&o| !std::mem::replace(&mut seen[usize::from(o)], true))
        .collect();
    if c.is_empty() {
        c.push(0);
    }
    match method {
        PollMethod::Single => c.truncate(1),
        PollMethod::Approval => c.sort_unstable(),
        PollMethod::RankedSchulze => {}
    }
    c
}

proptest! {
    /// With re-votes in any pattern, the tally is that of each voter's last
    /// ballot alone, the live counts agree with it, and the order in which
    /// the last ballots were cast does not matter.
    #[test]
    fn tally_is_the_last_ballots_in_any_order(
        method in method(),
        m in 2usize..7,
        votes in proptest::collection::vec((0u32..8, proptest::collection::vec(any::<u16>(), 1..6)), 1..40),
        shuffle_seed in any::<u64>(),
    ) {
        let mut s = state(method, m);
        let mut last: std::collections::BTreeMap<u32, Vec<u16>> = Default::default();
        for (who, seed) in &votes {
            let c = shape(method, m, seed);
            vote(&mut s, *who, &c).unwrap();
            last.insert(*who, c);
        }
        let t = s.poll(POLL).unwrap().tally();
        prop_assert_eq!(t.ballots, last.len() as u64);
        prop_assert_eq!(s.poll(POLL).unwrap().live_counts(), t.counts.as_slice());

        // The same last ballots, each cast once, in a shuffled order.
        let mut fresh = state(method, m);
        let mut order: Vec<(u32, Vec<u16>)> = last.into_iter().collect();
        let mut x = shuffle_seed | 1;
        for i in (1..order.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        for (who, c) in &order {
            vote(&mut fresh, *who, c).unwrap();
        }
        prop_assert_eq!(fresh.poll(POLL).unwrap().tally(), t.clone());
        let closing = Entry::new(CLOSES, t);
        prop_assert!(s.check(&closing).is_ok());
        prop_assert!(fresh.check(&closing).is_ok());
    }
}
