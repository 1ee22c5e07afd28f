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
//! The inequalities recorded in a round (specs/pb.md §2.3): each project
//! found unaffordable stays so; the selected project keeps its poor and
//! rich supporters (which fixes the affine form of the shares after it is
//! paid for); and every other project's price *for the poor/rich split it
//! has at `t`*, a lower bound of its true price for any split, stays at or
//! above the selected one's (strictly where its id would win the tie).
//! Projects skipped by the lazy order are covered by their older price,
//! also such a lower bound. These suffice for the same outcome.
//!
//! Runs also reuse each other: the state before each round is valid up to
//! the `t_max` of the rounds before it, so the next run starts from the
//! last state still valid at its increment. Numbers are [`Int`]: `i128`
//! with an exact `BigInt` fallback.

use super::int::Int;
use super::{Outcome, PbInstance, is_exhaustive};
use std::cmp::Ordering;

/// One run of MES at increment `t`, tracking shares as affine functions.
#[derive(Clone)]
struct Run<'a> {
    inst: &'a PbInstance,
    supporters: &'a [Vec<u32>],
    /// `n`, the number of voters.
    n: Int,
    /// `n · x_t = budget + t · n · unit`.
    xn: Int,
    /// `n · unit`: `x = (budget + t · n · unit) / n`.
    unit_n: Int,
    budget: Int,
    /// The largest increment at which every decision so far still holds
    /// (`None`: no upper limit yet).
    t_max: Option<Int>,
    den: Int,
    class_of: Vec<u32>,
    /// Share of class `c`: `(cu[c] + cv[c] · x) / den`.
    cu: Vec<Int>,
    cv: Vec<Int>,
    /// `n · den ·` (share of class `c` at `x_t`), kept up to date.
    val: Vec<Int>,
    size: Vec<u32>,
    count: Vec<u32>,
    /// The class of voters with nothing left, once there is one.
    zero: Option<u32>,
    /// The candidates not selected nor found unaffordable yet.
    remaining: Vec<usize>,
    winners: Vec<usize>,
    /// The price of each candidate when it was last evaluated.
    known: Vec<Option<Price>>,
}

/// An affordable project, evaluated at `t`.
struct Eval {
    project: usize,
    /// The supporters' classes with their counts, by share at `t`.
    classes: Vec<(u32, u64)>,
    /// The first `poor` classes pay their whole share.
    poor: usize,
    /// The `rich` others pay `(qa + qb · x) / (rich · den)` each.
    qa: Int,
    qb: Int,
    rich: u64,
    price: Price,
}

/// A project's affordability `rho(x) = (qa + qb · x) / w` (price per unit
/// of cost satisfaction), as found when it was last evaluated: the
/// current one while that evaluation's constraints hold, and a lower bound
/// of it later in the run (shares only shrink).
#[derive(Clone)]
struct Price {
    qa: Int,
    qb: Int,
    /// `rich · den · cost` (positive).
    w: Int,
    /// `n · (qa + qb · x_t)`.
    at: Int,
}

impl Run<'_> {
    /// `n · den ·` (share of class `c` at `x_t`).
    fn value(&self, c: u32) -> Int {
        &self.cu[c as usize] * &self.n + &self.cv[c as usize] * &self.xn
    }

    /// Records that `a + b·x ≥ 0` (or `> 0` if `strict`), which holds at
    /// `x_t`, must keep holding: lowers `t_max` if `b < 0`.
    fn keep(&mut self, a: Int, b: Int, strict: bool) {
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
            (num - Int::ONE).div_floor(&den)
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
        let mut classes: Vec<(u32, u64)> = Vec::with_capacity(touched.len());
        let mut total = Int::ZERO;
        for c in touched {
            let m = u64::from(self.count[c as usize]);
            self.count[c as usize] = 0;
            total += &self.val[c as usize] * m;
            classes.push((c, m));
        }
        let cost = Int::from(self.inst.projects[p].cost) * &self.den;
        let cost_n = &cost * &self.n;
        if total < cost_n {
            // Unaffordable; it must stay so: cost − Σ shares > 0.
            let (mut su, mut sv) = (Int::ZERO, Int::ZERO);
            for &(c, m) in &classes {
                su += &self.cu[c as usize] * m;
                sv += &self.cv[c as usize] * m;
            }
            self.keep(cost - su, -sv, true);
            return None;
        }
        classes.sort_by(|x, y| self.val[x.0 as usize].cmp(&self.val[y.0 as usize]));
        let (mut pu, mut pv, mut paid) = (Int::ZERO, Int::ZERO, Int::ZERO);
        let mut rich = self.supporters[p].len() as u64;
        let mut poor = 0;
        for &(c, m) in &classes {
            let val = &self.val[c as usize];
            if &cost_n - &paid <= val * rich {
                break;
            }
            pu += &self.cu[c as usize] * m;
            pv += &self.cv[c as usize] * m;
            paid += val * m;
            rich -= m;
            poor += 1;
        }
        let qa = cost - pu;
        let qb = -pv;
        let price = Price {
            at: &qa * &self.n + &qb * &self.xn,
            w: &self.den * rich * &Int::from(self.inst.projects[p].cost),
            qa: qa.clone(),
            qb: qb.clone(),
        };
        Some(Eval {
            project: p,
            classes,
            poor,
            qa,
            qb,
            rich,
            price,
        })
    }

    /// Records that the selected project keeps its poor and rich
    /// supporters (poor: share < payment; rich: payment ≤ share), on which
    /// the affine form of the shares after its payment depends. (That it
    /// stays affordable follows: the poor pay their shares, the rich the
    /// payment, which adds up to its cost.)
    fn keep_structure(&mut self, s: &Eval) {
        for (i, &(c, _)) in s.classes.iter().enumerate() {
            let ku = &self.cu[c as usize] * s.rich;
            let kv = &self.cv[c as usize] * s.rich;
            if i < s.poor {
                self.keep(&s.qa - ku, &s.qb - kv, true);
            } else {
                self.keep(ku - &s.qa, kv - &s.qb, false);
            }
        }
    }

    /// Charges the supporters of the selected project.
    fn pay(&mut self, s: &Eval) {
        let rich = Int::from(s.rich);
        let g = s.qa.gcd(&s.qb).gcd(&rich);
        let f = rich.div_exact(&g);
        let (pay_u, pay_v) = (s.qa.div_exact(&g), s.qb.div_exact(&g));
        if !f.is_one() {
            self.den *= &f;
            for x in self.cu.iter_mut().chain(&mut self.cv).chain(&mut self.val) {
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
                        self.cu.push(Int::ZERO);
                        self.cv.push(Int::ZERO);
                        self.val.push(Int::ZERO);
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
                self.val[c as usize] = self.value(c);
                target[c as usize] = c;
            } else {
                self.cu.push(u);
                self.cv.push(v);
                self.val.push(self.value(self.cu.len() as u32 - 1));
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
    fn above(&self, o: &Price) -> (Int, Int) {
        (
            &self.qa * &o.w - &o.qa * &self.w,
            &self.qb * &o.w - &o.qb * &self.w,
        )
    }
}

impl<'a> Run<'a> {
    /// The state before the first round of MES, at increment 0.
    fn start(inst: &'a PbInstance, candidates: &[usize], supporters: &'a [Vec<u32>]) -> Run<'a> {
        let n = inst.ballot_count();
        let n_big = Int::from(n);
        let unit_n = Int::from(inst.currency_unit()) * &n_big;
        let budget = Int::from(inst.budget);
        let xn0 = budget.clone();
        // Lower bounds of the prices, from the last evaluation (initially
        // 1 / supporters: everyone pays an equal part).
        let mut known: Vec<Option<Price>> = vec![None; inst.projects.len()];
        for &p in candidates {
            known[p] = Some(Price {
                qa: Int::ONE,
                qb: Int::ZERO,
                at: n_big.clone(),
                w: Int::from(supporters[p].len()),
            });
        }
        Run {
            inst,
            supporters,
            xn: xn0.clone(),
            n: n_big,
            unit_n,
            budget,
            t_max: None,
            den: Int::ONE,
            class_of: vec![0; n],
            cu: vec![Int::ZERO],
            cv: vec![Int::ONE],
            val: vec![xn0],
            size: vec![n as u32],
            count: vec![0],
            zero: None,
            remaining: candidates.to_vec(),
            winners: Vec::new(),
            known,
        }
    }

    /// Moves the run to increment `t`, which must be within the range
    /// where every decision taken so far still holds.
    fn set_increment(&mut self, t: u64) {
        self.xn = &self.budget + &self.unit_n * t;
        self.val = (0..self.cu.len() as u32).map(|c| self.value(c)).collect();
        debug_assert!(self.t_max.as_ref().is_none_or(|m| *m >= Int::from(t)));
        for p in self.known.iter_mut().flatten() {
            p.at = &p.qa * &self.n + &p.qb * &self.xn;
        }
    }

    /// One round of MES: selects the affordable project of lowest price
    /// (ties by id) and charges its supporters; `false` if no project is
    /// affordable any more.
    fn round(&mut self) -> bool {
        let known = &self.known;
        self.remaining.sort_by(|&a, &b| {
            let (pa, pb) = (known[a].as_ref(), known[b].as_ref());
            pa.expect("a candidate").cmp_at(pb.expect("a candidate"))
        });
        // As in pabutools: evaluate in order of the known lower bounds,
        // until a bound is above the best price found.
        let mut evals: Vec<Eval> = Vec::new();
        let mut best: Option<usize> = None;
        let mut gone = Vec::new();
        let mut skipped = Vec::new();
        let remaining = std::mem::take(&mut self.remaining);
        for &p in &remaining {
            if let Some(b) = best
                && self.known[p]
                    .as_ref()
                    .expect("a candidate")
                    .cmp_at(&evals[b].price)
                    == Ordering::Greater
            {
                skipped.push(p);
                continue;
            }
            match self.eval(p) {
                None => gone.push(p),
                Some(e) => {
                    self.known[p] = Some(e.price.clone());
                    evals.push(e);
                    let i = evals.len() - 1;
                    let better = match best {
                        None => true,
                        Some(b) => {
                            evals[i]
                                .price
                                .cmp_at(&evals[b].price)
                                .then_with(|| self.inst.id_order(p, evals[b].project))
                                == Ordering::Less
                        }
                    };
                    if better {
                        best = Some(i);
                    }
                }
            }
        }
        self.remaining = remaining;
        self.remaining.retain(|p| !gone.contains(p));
        let Some(best) = best else {
            return false;
        };
        let s = evals.swap_remove(best);
        // Every other project stays at least as expensive (strictly where
        // its id would win a tie): evaluated ones by their price, skipped
        // ones by their lower bound.
        for e in &evals {
            let (a, b) = e.price.above(&s.price);
            let strict = self.inst.id_order(e.project, s.project) == Ordering::Less;
            self.keep(a, b, strict);
        }
        for &p in &skipped {
            let (a, b) = self.known[p].as_ref().expect("a candidate").above(&s.price);
            let strict = self.inst.id_order(p, s.project) == Ordering::Less;
            self.keep(a, b, strict);
        }
        self.keep_structure(&s);
        self.pay(&s);
        self.winners.push(s.project);
        self.remaining.retain(|&p| p != s.project);
        true
    }
}

/// pabutools' `voter_budget_increment=1` loop, jumping over increments
/// that cannot change the outcome.
///
/// Each run also reuses the previous one: `rounds[k]` is the state before
/// round `k`, valid up to its `t_max` (the decisions of the rounds before
/// it); the run at the next increment starts from the last state still
/// valid there instead of from the beginning.
pub(super) fn add1(inst: &PbInstance, candidates: &[usize], supporters: &[Vec<u32>]) -> Outcome {
    let mut previous = Outcome::new(inst, Vec::new());
    let mut rounds = vec![Run::start(inst, candidates, supporters)];
    // Keeping a state costs a copy of it per round; it pays off when runs
    // restart late (few voters, many runs). Stop keeping them once they
    // have saved fewer rounds than half the states copied.
    let (mut reuse, mut copied, mut saved) = (true, 0usize, 0usize);
    let mut t: u64 = 0;
    loop {
        while rounds
            .last()
            .and_then(|r| r.t_max.as_ref())
            .is_some_and(|m| *m < Int::from(t))
        {
            rounds.pop();
        }
        saved += rounds.len() - 1;
        if reuse && copied > 8 && saved * 2 < copied {
            reuse = false;
            rounds.truncate(1);
        }
        let mut r = rounds
            .last()
            .expect("the first round holds for every increment")
            .clone();
        r.set_increment(t);
        while r.round() {
            if reuse {
                rounds.push(r.clone());
                copied += 1;
            }
        }
        let mut out = Outcome::new(inst, r.winners);
        out.increments = t;
        if out.total_cost > inst.budget {
            return previous;
        }
        if inst.ballot_count() == 0 || is_exhaustive(inst, &out.winners, Some(candidates)) {
            return out;
        }
        // Not exhaustive, so some candidate is left out; with a large
        // enough share it becomes affordable, so the outcome must change.
        let Some(t_max) = r.t_max else {
            unreachable!("a non-exhaustive MES outcome changes as shares grow")
        };
        let last = t_max.to_u64().unwrap_or(u64::MAX - 1);
        out.increments = last;
        previous = out;
        t = last + 1;
    }
}
