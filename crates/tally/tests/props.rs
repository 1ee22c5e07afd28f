//! Property tests of the counting rules (what is tested, and why, is also
//! listed in specs/pb.md §"Tests").

use num_traits::ToPrimitive;
use proptest::prelude::*;
use std::cmp::Ordering;
use veche_tally::amount::Amount;
use veche_tally::pabulib::{self, Instance, ProjectRecord, VoteRecord};
use veche_tally::pb::{
    Completion, Money, PbInstance, Project, equal_shares, equal_shares_spending, greedy,
};
use veche_tally::poll;

/// A small PB election: up to 8 projects (some of cost 0, some over the
/// budget), up to 14 voters (some with empty ballots), ids that sort
/// differently as strings and as numbers.
fn election() -> impl Strategy<Value = PbInstance> {
    (1usize..=8, 0usize..=14, 0u128..=120).prop_flat_map(|(np, nv, budget)| {
        (
            proptest::collection::vec(0u128..=60, np),
            proptest::collection::vec(proptest::collection::vec(0..np, 0..=np), nv),
            Just(budget),
            proptest::sample::subsequence((0..20).collect::<Vec<usize>>(), np),
        )
            .prop_map(|(costs, ballots, budget, ids)| {
                let projects = costs
                    .into_iter()
                    .zip(ids)
                    .map(|(cost, id)| Project {
                        id: (id * 7 % 20).to_string(),
                        cost,
                    })
                    .collect();
                PbInstance::new(budget, 0, projects, ballots).unwrap()
            })
    })
}

fn ballots_of(pb: &PbInstance) -> Vec<Vec<usize>> {
    pb.ballots()
        .map(|b| b.iter().map(|&p| p as usize).collect())
        .collect()
}

const ALL: [Completion; 3] = [Completion::None, Completion::Add1, Completion::Add1Greedy];

/// An exact fraction over i128 (the elections here are small).
#[derive(Clone, Copy, Debug)]
struct Q(i128, i128);

impl Q {
    fn new(n: i128, d: i128) -> Q {
        let g = gcd(n.abs(), d.abs()).max(1);
        let s = if d < 0 { -1 } else { 1 };
        Q(s * n / g, s * d / g)
    }
    fn sub(self, o: Q) -> Q {
        Q::new(self.0 * o.1 - o.0 * self.1, self.1 * o.1)
    }
    fn add(self, o: Q) -> Q {
        Q::new(self.0 * o.1 + o.0 * self.1, self.1 * o.1)
    }
    fn mul(self, o: Q) -> Q {
        Q::new(self.0 * o.0, self.1 * o.1)
    }
    fn div(self, o: Q) -> Q {
        Q::new(self.0 * o.1, self.1 * o.0)
    }
    fn cmp(self, o: Q) -> Ordering {
        (self.0 * o.1).cmp(&(o.0 * self.1))
    }
    fn int(n: u128) -> Q {
        Q(n as i128, 1)
    }
}

/// An exact amount as a [`Q`] (the elections here are small).
fn q(m: &Money) -> Q {
    Q::new(
        m.numer().to_i128().expect("small"),
        m.denom().to_i128().expect("small"),
    )
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// A direct transcription of pabutools' `naive_mes` loop, voter by voter
/// with exact fractions, and of its add1 loop: the reference the fast
/// implementation (voter classes, lazy re-evaluation) must agree with.
fn naive_mes(pb: &PbInstance, increment: u128) -> Vec<usize> {
    naive_mes_shares(pb, increment).0
}

/// [`naive_mes`], with each voter's initial share and what each has left
/// at the end (so what each paid: the share minus what is left).
fn naive_mes_shares(pb: &PbInstance, increment: u128) -> (Vec<usize>, Q, Vec<Q>) {
    let n = pb.ballot_count();
    if n == 0 {
        return (vec![], Q(0, 1), vec![]);
    }
    let ballots = &ballots_of(pb);
    let share = Q::int(pb.budget())
        .div(Q::int(n as u128))
        .add(Q::int(increment));
    let mut budget = vec![share; n];
    let supporters = |p: usize| (0..n).filter(move |&v| ballots[v].contains(&p));
    let mut left: Vec<usize> = (0..pb.projects().len())
        .filter(|&p| pb.projects()[p].cost > 0 && supporters(p).next().is_some())
        .collect();
    let mut winners = vec![];
    loop {
        let mut best: Option<(Q, usize)> = None;
        let mut affordable = vec![];
        for &p in &left {
            let c = Q::int(pb.projects()[p].cost);
            let total = supporters(p).fold(Q(0, 1), |a, v| a.add(budget[v]));
            if total.cmp(c) == Ordering::Less {
                continue;
            }
            affordable.push(p);
            // rho: the least price per unit of cost with
            // sum_v min(budget_v, rho * c) = c (cost satisfaction).
            let mut sup: Vec<usize> = supporters(p).collect();
            sup.sort_by(|&a, &b| budget[a].cmp(budget[b]));
            let mut paid = Q(0, 1);
            let mut k = sup.len() as i128;
            let mut rho = None;
            for &v in &sup {
                let share = c.sub(paid).div(Q(k, 1));
                if share.cmp(budget[v]) != Ordering::Greater {
                    rho = Some(share.div(c));
                    break;
                }
                paid = paid.add(budget[v]);
                k -= 1;
            }
            let rho = rho.unwrap();
            let better = match best {
                None => true,
                Some((b, q)) => match rho.cmp(b) {
                    Ordering::Less => true,
                    Ordering::Equal => pb.projects()[p].id < pb.projects()[q].id,
                    Ordering::Greater => false,
                },
            };
            if better {
                best = Some((rho, p));
            }
        }
        left.retain(|p| affordable.contains(p));
        let Some((rho, p)) = best else {
            return (winners, share, budget);
        };
        let pay = rho.mul(Q::int(pb.projects()[p].cost));
        for v in supporters(p) {
            budget[v] = if pay.cmp(budget[v]) == Ordering::Less {
                budget[v].sub(pay)
            } else {
                Q(0, 1)
            };
        }
        winners.push(p);
        left.retain(|&q| q != p);
    }
}

fn naive_add1(pb: &PbInstance) -> Vec<usize> {
    naive_add1_kept(pb).0
}

/// pabutools' add1 loop over every increment: the outcome kept and the
/// increment of the run it came from.
fn naive_add1_kept(pb: &PbInstance) -> (Vec<usize>, u128) {
    let cost = |w: &[usize]| w.iter().map(|&p| pb.projects()[p].cost).sum::<u128>();
    let candidates: Vec<usize> = (0..pb.projects().len())
        .filter(|&p| pb.projects()[p].cost > 0 && pb.ballots().any(|b| b.contains(&(p as u32))))
        .collect();
    let mut previous = vec![];
    for t in 0.. {
        let w = naive_mes(pb, t);
        if cost(&w) > pb.budget() {
            return (previous, t - 1);
        }
        let exhaustive = candidates
            .iter()
            .all(|p| w.contains(p) || pb.projects()[*p].cost + cost(&w) > pb.budget());
        if exhaustive || pb.ballot_count() == 0 {
            return (w, t);
        }
        previous = w;
    }
    unreachable!()
}

fn sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// MES (with any completion) never spends more than the budget, and
    /// MES without completion funds only approved projects of positive cost.
    #[test]
    fn mes_within_budget(pb in election()) {
        for c in ALL {
            let out = equal_shares(&pb, c);
            prop_assert!(out.total_cost <= pb.budget());
            let mut w = out.winners.clone();
            w.sort();
            w.dedup();
            prop_assert_eq!(w.len(), out.winners.len());
        }
        let approvals = pb.approvals();
        for p in equal_shares(&pb, Completion::None).winners {
            prop_assert!(approvals[p] > 0 && pb.projects()[p].cost > 0);
        }
    }

    /// The fast MES (voter classes, common denominator, lazy
    /// re-evaluation) equals the voter-by-voter reference, with and
    /// without add1.
    #[test]
    fn mes_matches_naive_reference(pb in election()) {
        prop_assert_eq!(equal_shares(&pb, Completion::None).winners, naive_mes(&pb, 0));
        prop_assert_eq!(sorted(equal_shares(&pb, Completion::Add1).winners), sorted(naive_add1(&pb)));
    }

    /// What each voter paid under MES equals the voter-by-voter reference
    /// (the share minus what is left), in the run kept: plain MES, and
    /// add1 at exactly the increment pabutools keeps.
    #[test]
    fn mes_payments_match_naive_reference(pb in election()) {
        let (_, t) = naive_add1_kept(&pb);
        for (c, t) in [(Completion::None, 0), (Completion::Add1, t)] {
            let (out, s) = equal_shares_spending(&pb, c);
            prop_assert_eq!(u128::from(out.increments), t);
            let (winners, share, left) = naive_mes_shares(&pb, t);
            prop_assert_eq!(&out.winners, &winners);
            prop_assert_eq!(s.voters(), pb.ballot_count());
            if pb.ballot_count() > 0 {
                prop_assert_eq!(q(s.share()).cmp(share), Ordering::Equal);
            }
            for (v, paid) in s.iter().enumerate() {
                let expected = share.sub(left[v]);
                prop_assert_eq!(q(paid).cmp(expected), Ordering::Equal, "voter {}: {} vs {:?}", v, paid, expected);
            }
        }
    }

    /// With every completion: the voters' payments add up exactly to the
    /// cost of the projects MES selected (before any greedy completion,
    /// which spends the budget left, not the voters' shares); no voter
    /// pays more than their share (`budget / n`, plus the add1
    /// increments); MES never spends more than the budget; the histogram
    /// counts every voter once.
    #[test]
    fn mes_payments_add_up_within_shares(pb in election()) {
        let n = pb.ballot_count();
        for c in ALL {
            let (out, s) = equal_shares_spending(&pb, c);
            prop_assert_eq!(&out, &equal_shares(&pb, c));
            let mes = &out.winners[..s.mes_winners()];
            prop_assert_eq!(s.mes_winners(), out.winners.len() - out.completed_by_greedy);
            let mes_cost: u128 = mes.iter().map(|&p| pb.projects()[p].cost).sum();
            prop_assert_eq!(s.mes_cost(), mes_cost);
            prop_assert_eq!(s.mes_cost() + s.greedy_cost(), out.total_cost);
            prop_assert!(s.mes_cost() <= pb.budget());
            let total = s.iter().fold(Q(0, 1), |a, p| a.add(q(p)));
            prop_assert_eq!(total.cmp(Q::int(mes_cost)), Ordering::Equal);
            if n > 0 {
                let share = Q::int(pb.budget()).div(Q::int(n as u128)).add(Q::int(u128::from(s.increments())));
                prop_assert_eq!(q(s.share()).cmp(share), Ordering::Equal);
            }
            for p in s.iter() {
                prop_assert!(p <= s.share());
            }
            let h = s.histogram(10);
            prop_assert_eq!(h.iter().sum::<u64>(), n as u64);
        }
    }

    /// A payment belongs to the voter, not to the ballot's position:
    /// listing the ballots in another order lists the same payments in
    /// that order.
    #[test]
    fn payments_follow_the_voter(pb in election(), seed in any::<u64>()) {
        let ballots = ballots_of(&pb);
        let n = ballots.len();
        let mut order: Vec<usize> = (0..n).collect();
        let mut x = seed | 1;
        for i in (1..n).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let shuffled = PbInstance::new(pb.budget(), 0, pb.projects().to_vec(), order.iter().map(|&i| ballots[i].clone()).collect()).unwrap();
        for c in ALL {
            let (_, a) = equal_shares_spending(&pb, c);
            let (_, b) = equal_shares_spending(&shuffled, c);
            for (j, &i) in order.iter().enumerate() {
                prop_assert_eq!(b.paid(j), a.paid(i));
            }
        }
    }

    /// Greedy stays within the budget and is exhaustive: no project left
    /// out would still fit. (Its winner set is not monotone in the budget,
    /// so that is not what is tested.)
    #[test]
    fn greedy_within_budget_and_exhaustive(pb in election()) {
        for out in [greedy(&pb), equal_shares(&pb, Completion::Add1Greedy)] {
            prop_assert!(out.total_cost <= pb.budget());
            for p in 0..pb.projects().len() {
                if !out.winners.contains(&p) {
                    prop_assert!(out.total_cost + pb.projects()[p].cost > pb.budget());
                }
            }
        }
    }

    /// What greedy spends is monotone in the budget: a larger budget never
    /// spends less. (Proof: up to the first project where the two runs
    /// decide differently they selected the same projects, so the larger
    /// budget has more left; hence it is the one that selects that project,
    /// and spends more than the whole smaller budget.) Its winner *set* is
    /// not monotone: see `greedy_winner_set_is_not_monotone_in_the_budget`.
    #[test]
    fn greedy_spending_is_monotone_in_the_budget(pb in election(), extra in 0u128..=80) {
        let more = PbInstance::new(pb.budget() + extra, 0, pb.projects().to_vec(), ballots_of(&pb)).unwrap();
        let (small, large) = (greedy(&pb), greedy(&more));
        prop_assert!(small.total_cost <= large.total_cost);
        // Both runs agree up to the first difference, which the larger
        // budget selects.
        let order = |out: &veche_tally::pb::Outcome| out.winners.clone();
        let (a, b) = (order(&small), order(&large));
        let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        if common < a.len() {
            // The smaller budget selected a[common] where the larger
            // selected b[common], a project it reached earlier.
            prop_assert!(common < b.len());
            prop_assert!(!a.contains(&b[common]));
        }
    }

    /// Money has a scale: writing every amount with `k` more decimal places
    /// (and so counting in units `10^k` times smaller) changes no result.
    /// With `k = 20` the Method of Equal Shares works with numbers far
    /// beyond 128 bits, so this also checks its exact big-number fallback.
    #[test]
    fn results_independent_of_the_money_scale(pb in election(), k in prop::sample::select(vec![1u32, 9, 20])) {
        let f = 10u128.pow(k);
        let projects = pb.projects().iter().map(|p| Project { id: p.id.clone(), cost: p.cost * f }).collect();
        let scaled = PbInstance::new(pb.budget() * f, k, projects, ballots_of(&pb)).unwrap();
        prop_assert_eq!(greedy(&pb).winners, greedy(&scaled).winners);
        for c in ALL {
            let (a, b) = (equal_shares(&pb, c), equal_shares(&scaled, c));
            prop_assert_eq!(&a.winners, &b.winners);
            prop_assert_eq!(a.total_cost * f, b.total_cost);
            prop_assert_eq!(a.increments, b.increments);
        }
    }

    /// Greedy is monotone in support: a winner that gains one more
    /// approval is still a winner (it moves earlier in the order, where at
    /// least as much budget is left).
    #[test]
    fn greedy_winner_with_more_support_still_wins(pb in election(), pick in any::<prop::sample::Index>()) {
        let out = greedy(&pb);
        prop_assume!(!out.winners.is_empty());
        let w = out.winners[pick.index(out.winners.len())];
        let mut ballots = ballots_of(&pb);
        match ballots.iter_mut().find(|b| !b.contains(&w)) {
            Some(b) => b.push(w),
            None => ballots.push(vec![w]),
        }
        let more = PbInstance::new(pb.budget(), 0, pb.projects().to_vec(), ballots).unwrap();
        prop_assert!(greedy(&more).winners.contains(&w));
    }

    /// The order of ballots, and the order in which projects are listed,
    /// do not change any result (ties are broken by id, not by position).
    #[test]
    fn independent_of_ballot_and_project_order(pb in election(), seed in any::<u64>()) {
        let mut ballots = ballots_of(&pb);
        let n = pb.projects().len();
        // A permutation of projects and ballots from the seed.
        let mut perm: Vec<usize> = (0..n).collect();
        let mut s = seed;
        let mut next = || { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 33) as usize };
        for i in (1..n).rev() { perm.swap(i, next() % (i + 1)); }
        for i in (1..ballots.len()).rev() { let j = next() % (i + 1); ballots.swap(i, j); }
        let mut projects = vec![pb.projects()[0].clone(); n];
        for (old, &new) in perm.iter().enumerate() { projects[new] = pb.projects()[old].clone(); }
        let ballots: Vec<Vec<usize>> = ballots.into_iter().map(|b| b.into_iter().map(|p| perm[p]).collect()).collect();
        let other = PbInstance::new(pb.budget(), 0, projects, ballots).unwrap();
        prop_assert_eq!(greedy(&pb).sorted_ids(&pb), greedy(&other).sorted_ids(&other));
        for c in ALL {
            prop_assert_eq!(equal_shares(&pb, c).sorted_ids(&pb), equal_shares(&other, c).sorted_ids(&other));
        }
    }
}

/// Ranked ballots over up to 6 options, possibly partial.
fn ranked(options: usize) -> impl Strategy<Value = Vec<Vec<usize>>> {
    proptest::collection::vec(
        (
            Just((0..options).collect::<Vec<usize>>()).prop_shuffle(),
            0..=options,
        )
            .prop_map(|(p, k)| p[..k].to_vec()),
        0..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// If some option beats every other head to head, Schulze elects it
    /// (alone).
    #[test]
    fn schulze_elects_the_condorcet_winner((m, ballots) in (1usize..=6).prop_flat_map(|m| (Just(m), ranked(m)))) {
        let s = poll::schulze(m, &ballots).unwrap();
        let d = &s.pairwise;
        if let Some(c) = (0..m).find(|&a| (0..m).all(|b| a == b || d[a][b] > d[b][a])) {
            prop_assert_eq!(s.winner, Some(c));
            prop_assert_eq!(s.tied_for_first.clone(), vec![c]);
        }
        // The winner is never beaten, and the ranking lists every option once.
        let w = s.winner.unwrap();
        prop_assert!((0..m).all(|b| s.strength[b][w] <= s.strength[w][b]));
        prop_assert_eq!(sorted(s.ranking.clone()), (0..m).collect::<Vec<_>>());
        // The pairwise counts are those of a direct count.
        for (a, row) in d.iter().enumerate() {
            for (b, &count) in row.iter().enumerate() {
                let direct = ballots.iter().filter(|r| {
                    let pos = |x| r.iter().position(|&y| y == x).unwrap_or(usize::MAX);
                    a != b && pos(a) < pos(b)
                }).count() as u64;
                prop_assert_eq!(count, direct);
            }
        }
    }

    /// Poll results do not depend on the order of ballots.
    #[test]
    fn polls_independent_of_ballot_order(((m, ballots), shuffled) in (1usize..=6)
        .prop_flat_map(|m| (Just(m), ranked(m)))
        .prop_flat_map(|(m, b)| (Just((m, b.clone())), Just(b).prop_shuffle())))
    {
        let s1 = poll::schulze(m, &ballots).unwrap();
        let a1 = poll::approval(m, &ballots).unwrap();
        let firsts: Vec<usize> = ballots.iter().filter_map(|b| b.first().copied()).collect();
        let p1 = poll::plurality(m, &firsts).unwrap();
        let ballots = shuffled;
        let firsts: Vec<usize> = ballots.iter().filter_map(|b| b.first().copied()).collect();
        prop_assert_eq!(s1, poll::schulze(m, &ballots).unwrap());
        prop_assert_eq!(a1, poll::approval(m, &ballots).unwrap());
        prop_assert_eq!(p1, poll::plurality(m, &firsts).unwrap());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Plurality and approval counts add up: one vote per single-choice
    /// ballot, one approval per named option; the ranking lists every
    /// option once, by count; the tie for first holds exactly the options
    /// with the most votes, and the winner is the first of them.
    #[test]
    fn plurality_and_approval_counts_add_up((m, ballots) in (1usize..=6).prop_flat_map(|m| (Just(m), ranked(m)))) {
        let firsts: Vec<usize> = ballots.iter().filter_map(|b| b.first().copied()).collect();
        let p = poll::plurality(m, &firsts).unwrap();
        let a = poll::approval(m, &ballots).unwrap();
        prop_assert_eq!(p.counts.iter().sum::<u64>(), firsts.len() as u64);
        prop_assert_eq!(a.counts.iter().sum::<u64>(), ballots.iter().map(Vec::len).sum::<usize>() as u64);
        for t in [&p, &a] {
            prop_assert_eq!(sorted(t.ranking.clone()), (0..m).collect::<Vec<_>>());
            prop_assert!(t.ranking.windows(2).all(|w| t.counts[w[0]] > t.counts[w[1]]
                || (t.counts[w[0]] == t.counts[w[1]] && w[0] < w[1])));
            let top = *t.counts.iter().max().unwrap();
            let tied: Vec<usize> = (0..m).filter(|&o| t.counts[o] == top).collect();
            prop_assert_eq!(&t.tied_for_first, &tied);
            prop_assert_eq!(t.winner, tied.first().copied());
        }
    }
}

/// Greedy's winner set is not monotone in the budget: `a` (cost 5, two
/// approvals) comes before `b` (cost 4, one approval); with a budget of 4
/// only `b` fits, with 5 `a` is taken first and `b` no longer fits.
#[test]
fn greedy_winner_set_is_not_monotone_in_the_budget() {
    let projects = vec![
        Project {
            id: "a".into(),
            cost: 5,
        },
        Project {
            id: "b".into(),
            cost: 4,
        },
    ];
    let ballots = vec![vec![0, 1], vec![0]];
    let at = |budget| {
        let pb = PbInstance::new(budget, 0, projects.clone(), ballots.clone()).unwrap();
        greedy(&pb).sorted_ids(&pb)
    };
    assert_eq!(at(4), ["b"]);
    assert_eq!(at(5), ["a"]);
    assert_eq!(at(9), ["a", "b"]);
}

/// Printable text without `;`-splitting surprises: any of it may need
/// quoting; no leading/trailing spaces (values are trimmed on reading) and
/// not `none` (read as no value).
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ;\"'é,.-]{0,12}"
        .prop_map(|s| s.trim().to_owned())
        .prop_filter("not none", |s| !s.eq_ignore_ascii_case("none"))
}

/// Ids; not a section name, which a row with only an id would read as.
fn id() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_]{1,6}".prop_filter("not a section name", |s| {
        !["meta", "projects", "votes"].contains(&s.to_ascii_lowercase().as_str())
    })
}

fn amount() -> impl Strategy<Value = Amount> {
    (0u128..10_000_000, 0u32..4).prop_map(|(u, s)| Amount::from_units(u, s).unwrap())
}

fn instance() -> impl Strategy<Value = Instance> {
    (
        amount(),
        proptest::collection::btree_map(
            id(),
            (
                amount(),
                proptest::option::of(text()),
                proptest::option::of(any::<bool>()),
                text(),
            ),
            1..6,
        ),
        proptest::collection::btree_map(
            id(),
            (
                proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
                text(),
            ),
            0..8,
        ),
        text(),
    )
        .prop_map(|(budget, projects, votes, comment)| {
            let projects: Vec<ProjectRecord> = projects
                .into_iter()
                .map(|(id, (cost, name, selected, district))| ProjectRecord {
                    id,
                    cost,
                    name: name.filter(|n| !n.is_empty()),
                    selected,
                    other: vec![("district".into(), district)],
                    ..Default::default()
                })
                .collect();
            let n = projects.len();
            let votes = votes
                .into_iter()
                .map(|(voter_id, (vote, age))| VoteRecord {
                    voter_id,
                    vote: vote.iter().map(|i| i.index(n)).collect(),
                    points: None,
                    extra: vec![age],
                })
                .collect();
            Instance {
                meta: vec![
                    ("description".into(), "generated".into()),
                    ("budget".into(), budget.to_string()),
                    ("vote_type".into(), "approval".into()),
                    ("comment".into(), comment),
                ],
                project_columns: ["project_id", "cost", "name", "selected", "district"]
                    .map(String::from)
                    .to_vec(),
                projects,
                vote_columns: ["voter_id", "vote", "age"].map(String::from).to_vec(),
                votes,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Writing an instance and parsing it back gives the same instance.
    #[test]
    fn pabulib_round_trip(inst in instance()) {
        let text = pabulib::write(&inst);
        let back = pabulib::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, inst);
    }

    /// Amounts print and parse back exactly, and order like their values.
    #[test]
    fn amounts_round_trip(a in amount(), b in amount()) {
        prop_assert_eq!(a.to_string().parse::<Amount>().unwrap(), a);
        let s = a.scale().max(b.scale());
        prop_assert_eq!(a.cmp(&b), a.units_at(s).unwrap().cmp(&b.units_at(s).unwrap()));
    }
}
