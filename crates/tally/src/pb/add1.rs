//! The add1 completion without running MES once per increment.
//!
//! pabutools reruns MES with each voter's initial share `x = budget/n + t`
//! for `t = 0, 1, 2, …` until the outcome is over budget or exhaustive.
//! When shares are large that is hundreds of thousands of runs. Yet the
//! outcome only changes at a few values of `t`: while every decision of a
//! run (which projects are affordable, which supporters pay their whole
//! remaining share, which project is cheapest per unit) stays the same,
//! every share is an *affine* function `(u + v·x) / den` of `x`, and every
//! decision is the sign of an affine function of `x`.
//!
//! So each run here computes, besides the outcome at `t`, the largest
//! `t_max ≥ t` for which all its decisions (hence its outcome) stay the
//! same, and the next run is at `t_max + 1`. The decisions are exactly
//! those of pabutools at `t` (same exact comparisons), and every `t` in
//! `t..=t_max` would give the same outcome, so the completion stops at the
//! same `t` with the same result. The property tests compare it with a
//! plain loop over every `t`.
//!
//! To keep the affine forms exact, every project still in the race is
//! evaluated in every round (no lazy re-evaluation), and the constraints
//! recorded are: each project's affordability; for each affordable
//! project, which supporters are "poor" (pay everything) and which pay the
//! equal share; and the comparison of each affordable project with the
//! one selected (strict where the id order would let it win a tie).

use super::{Outcome, PbInstance, is_exhaustive};
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, Zero};
use std::cmp::Ordering;

/// One run of MES at increment `t`, tracking shares as affine functions.
struct Run<'a> {
    inst: &'a PbInstance,
    supporters: &'a [Vec<u32>],
    /// `n`, the number of voters.
    n: BigInt,
    /// `n · x_t = budget + t · n · unit`.
    xn: BigInt,
    /// `n · unit`: `x = (budget + t · n · unit) / n`.
    unit_n: BigInt,
    budget: BigInt,
    /// The largest increment at which every decision so far still holds
    /// (`None`: no upper limit yet).
    t_max: Option<BigInt>,
    den: BigInt,
    class_of: Vec<u32>,
    /// Share of class `c`: `(cu[c] + cv[c] · x) / den`.
    cu: Vec<BigInt>,
    cv: Vec<BigInt>,
    size: Vec<u32>,
    count: Vec<u32>,
    /// The class of voters with nothing left, once there is one.
    zero: Option<u32>,
}

/// An affordable project, evaluated at `t`.
struct Eval {
    project: usize,
    /// The supporters' classes with their counts, by share at `t`.
    classes: Vec<(u32, u64)>,
    /// The first `poor` classes pay their whole share.
    poor: usize,
    /// The `rich` others pay `(qa + qb · x) / (rich · den)` each.
    qa: BigInt,
    qb: BigInt,
    rich: u64,
    price: Price,
}

/// A project's affordability `rho(x) = (qa + qb · x) / w` (price per unit
/// of cost satisfaction), as found when it was last evaluated: the
/// current one while that evaluation's constraints hold, and a lower bound
/// of it later in the run (shares only shrink).
#[derive(Clone)]
struct Price {
    qa: BigInt,
    qb: BigInt,
    /// `rich · den · cost` (positive).
    w: BigInt,
    /// `n · (qa + qb · x_t)`.
    at: BigInt,
}

impl Run<'_> {
    /// `n · den ·` (share of class `c` at `x_t`).
    fn value(&self, c: u32) -> BigInt {
        &self.cu[c as usize] * &self.n + &self.cv[c as usize] * &self.xn
    }

    /// Records that `a + b·x ≥ 0` (or `> 0` if `strict`), which holds at
    /// `x_t`, must keep holding: lowers `t_max` if `b < 0`.
    fn keep(&mut self, a: BigInt, b: BigInt, strict: bool) {
        debug_assert!({
            let at = &a * &self.n + &b * &self.xn;
            if strict {
                at.is_positive()
            } else {
                !at.is_negative()
            }
        });
        if !b.is_negative() {
            return;
        }
        // a·n + b·(budget + t·unit_n) ≥ 0  ⇔  t ≤ (a·n + b·budget) / (−b·unit_n)
        let num = a * &self.n + &b * &self.budget;
        let den = -b * &self.unit_n;
        let limit = if strict {
            (num - BigInt::one()).div_floor(&den)
        } else {
            num.div_floor(&den)
        };
        if self.t_max.as_ref().is_none_or(|m| limit < *m) {
            self.t_max = Some(limit);
        }
    }

    /// Evaluates project `p` at `x_t`, recording the constraints that keep
    /// its status; `None` if its supporters cannot pay for it.
    fn eval(&mut self, p: usize) -> Option<Eval> {
        let mut touched = Vec::new();
        for &v in &self.supporters[p] {
            let c = self.class_of[v as usize];
            if self.count[c as usize] == 0 {
                touched.push(c);
            }
            self.count[c as usize] += 1;
        }
        let mut classes: Vec<(u32, u64, BigInt)> = Vec::with_capacity(touched.len());
        let (mut su, mut sv) = (BigInt::zero(), BigInt::zero());
        for c in touched {
            let m = u64::from(self.count[c as usize]);
            self.count[c as usize] = 0;
            su += &self.cu[c as usize] * m;
            sv += &self.cv[c as usize] * m;
            classes.push((c, m, self.value(c)));
        }
        let cost = BigInt::from(self.inst.projects[p].cost) * &self.den;
        let a = su - &cost;
        if (&a * &self.n + &sv * &self.xn).is_negative() {
            self.keep(-a, -sv, true);
            return None;
        }
        self.keep(a, sv, false);
        classes.sort_by(|x, y| x.2.cmp(&y.2));
        let cost_n = &cost * &self.n;
        let (mut pu, mut pv, mut paid) = (BigInt::zero(), BigInt::zero(), BigInt::zero());
        let mut rich = self.supporters[p].len() as u64;
        let mut poor = 0;
        for (c, m, val) in &classes {
            if &cost_n - &paid <= val * rich {
                break;
            }
            pu += &self.cu[*c as usize] * *m;
            pv += &self.cv[*c as usize] * *m;
            paid += val * *m;
            rich -= m;
            poor += 1;
        }
        let qa = cost - pu;
        let qb = -pv;
        // Poor classes: share < payment; rich ones: payment ≤ share.
        for (i, (c, _, _)) in classes.iter().enumerate() {
            let ku = &self.cu[*c as usize] * rich;
            let kv = &self.cv[*c as usize] * rich;
            if i < poor {
                self.keep(&qa - ku, &qb - kv, true);
            } else {
                self.keep(ku - &qa, kv - &qb, false);
            }
        }
        let price = Price {
            at: &qa * &self.n + &qb * &self.xn,
            w: &self.den * rich * self.inst.projects[p].cost,
            qa: qa.clone(),
            qb: qb.clone(),
        };
        Some(Eval {
            project: p,
            classes: classes.into_iter().map(|(c, m, _)| (c, m)).collect(),
            poor,
            qa,
            qb,
            rich,
            price,
        })
    }

    /// Charges the supporters of the selected project.
    fn pay(&mut self, s: &Eval) {
        let rich = BigInt::from(s.rich);
        let g = s.qa.gcd(&s.qb).gcd(&rich);
        let f = &rich / &g;
        let (pay_u, pay_v) = (&s.qa / &g, &s.qb / &g);
        if !f.is_one() {
            self.den *= &f;
            for x in self.cu.iter_mut().chain(self.cv.iter_mut()) {
                *x *= &f;
            }
        }
        // Supporters move to a new class (or their class is updated in
        // place if all its voters support the project); all who paid their
        // whole share join one class of zero shares.
        let mut target = vec![u32::MAX; self.cu.len()];
        for (i, &(c, m)) in s.classes.iter().enumerate() {
            let m = m as u32;
            if i < s.poor {
                let z = match self.zero {
                    Some(z) => z,
                    None => {
                        self.cu.push(BigInt::zero());
                        self.cv.push(BigInt::zero());
                        self.size.push(0);
                        self.count.push(0);
                        let z = self.cu.len() as u32 - 1;
                        self.zero = Some(z);
                        z
                    }
                };
                if z != c {
                    self.size[c as usize] -= m;
                    self.size[z as usize] += m;
                }
                target[c as usize] = z;
                continue;
            }
            let u = &self.cu[c as usize] - &pay_u;
            let v = &self.cv[c as usize] - &pay_v;
            if m == self.size[c as usize] && Some(c) != self.zero {
                self.cu[c as usize] = u;
                self.cv[c as usize] = v;
                target[c as usize] = c;
            } else {
                self.cu.push(u);
                self.cv.push(v);
                self.size.push(m);
                self.size[c as usize] -= m;
                self.count.push(0);
                target[c as usize] = self.cu.len() as u32 - 1;
            }
        }
        for &v in &self.supporters[s.project] {
            let c = self.class_of[v as usize];
            self.class_of[v as usize] = target[c as usize];
        }
    }
}

impl Price {
    /// Compares the two prices at `x_t`.
    fn cmp_at(&self, o: &Price) -> Ordering {
        (&self.at * &o.w).cmp(&(&o.at * &self.w))
    }

    /// `a + b·x`, positive iff `self` is above `o` at `x`.
    fn above(&self, o: &Price) -> (BigInt, BigInt) {
        (
            &self.qa * &o.w - &o.qa * &self.w,
            &self.qb * &o.w - &o.qb * &self.w,
        )
    }
}

/// MES at increment `t`: the winners, and the largest increment up to
/// which they stay the same (`None`: for every larger increment).
fn run(
    inst: &PbInstance,
    candidates: &[usize],
    supporters: &[Vec<u32>],
    t: u64,
) -> (Vec<usize>, Option<BigInt>) {
    let n = inst.ballot_count();
    let n_big = BigInt::from(n);
    let unit_n = BigInt::from(inst.currency_unit()) * &n_big;
    let budget = BigInt::from(inst.budget);
    let mut r = Run {
        inst,
        supporters,
        xn: &budget + &unit_n * t,
        n: n_big,
        unit_n,
        budget,
        t_max: None,
        den: BigInt::one(),
        class_of: vec![0; n],
        cu: vec![BigInt::zero()],
        cv: vec![BigInt::one()],
        size: vec![n as u32],
        count: vec![0],
        zero: None,
    };
    let mut remaining = candidates.to_vec();
    let mut winners = Vec::new();
    // Lower bounds of the prices, from the last evaluation (initially
    // 1 / supporters: everyone pays an equal part).
    let mut known: Vec<Option<Price>> = vec![None; inst.projects.len()];
    for &p in candidates {
        let w = BigInt::from(supporters[p].len());
        known[p] = Some(Price {
            qa: BigInt::one(),
            qb: BigInt::zero(),
            at: r.n.clone(),
            w,
        });
    }
    let price = |known: &[Option<Price>], p: usize| known[p].clone().expect("a candidate");
    loop {
        remaining.sort_by(|&a, &b| price(&known, a).cmp_at(&price(&known, b)));
        // As in pabutools: evaluate in order of the known lower bounds,
        // until a bound is above the best price found.
        let mut evals: Vec<Eval> = Vec::new();
        let mut best: Option<usize> = None;
        let mut gone = Vec::new();
        let mut skipped = Vec::new();
        for &p in &remaining {
            if let Some(b) = best
                && price(&known, p).cmp_at(&evals[b].price) == Ordering::Greater
            {
                skipped.push(p);
                continue;
            }
            match r.eval(p) {
                None => gone.push(p),
                Some(e) => {
                    known[p] = Some(e.price.clone());
                    evals.push(e);
                    let i = evals.len() - 1;
                    let better = match best {
                        None => true,
                        Some(b) => {
                            evals[i]
                                .price
                                .cmp_at(&evals[b].price)
                                .then_with(|| inst.id_order(p, evals[b].project))
                                == Ordering::Less
                        }
                    };
                    if better {
                        best = Some(i);
                    }
                }
            }
        }
        remaining.retain(|p| !gone.contains(p));
        let Some(best) = best else {
            return (winners, r.t_max);
        };
        let s = evals.swap_remove(best);
        // Every other project stays at least as expensive (strictly where
        // its id would win a tie): evaluated ones by their price, skipped
        // ones by their lower bound.
        let others = evals
            .iter()
            .map(|e| (e.project, e.price.clone()))
            .chain(skipped.iter().map(|&p| (p, price(&known, p))))
            .collect::<Vec<_>>();
        for (p, pr) in others {
            let (a, b) = pr.above(&s.price);
            let strict = inst.id_order(p, s.project) == Ordering::Less;
            r.keep(a, b, strict);
        }
        r.pay(&s);
        winners.push(s.project);
        remaining.retain(|&p| p != s.project);
    }
}

/// pabutools' `voter_budget_increment=1` loop, jumping over increments
/// that cannot change the outcome.
pub(super) fn add1(inst: &PbInstance, candidates: &[usize], supporters: &[Vec<u32>]) -> Outcome {
    let mut previous = Outcome::new(inst, Vec::new());
    let mut t: u64 = 0;
    loop {
        let (winners, t_max) = run(inst, candidates, supporters, t);
        let mut out = Outcome::new(inst, winners);
        out.increments = t;
        if out.total_cost > inst.budget {
            return previous;
        }
        if inst.ballot_count() == 0 || is_exhaustive(inst, &out.winners, Some(candidates)) {
            return out;
        }
        // Not exhaustive, so some candidate is left out; with a large
        // enough share it becomes affordable, so the outcome must change.
        let Some(t_max) = t_max else {
            unreachable!("a non-exhaustive MES outcome changes as shares grow")
        };
        let last = u64::try_from(t_max).unwrap_or(u64::MAX - 1);
        out.increments = last;
        previous = out;
        t = last + 1;
    }
}
