//! What each voter paid under the Method of Equal Shares (`specs/pb.md`
//! §2.5).
//!
//! MES gives every voter an equal share and charges the supporters of each
//! project it selects; what a voter paid is their share minus what is left
//! of it when the run ends. The rule itself never needs these figures, so
//! [`equal_shares`] does not compute them: [`equal_shares_spending`] counts
//! as usual, then repeats the one MES run whose outcome was kept (at the
//! add1 increment found) and reads the voters' remaining shares from it.
//! The greedy completion is not paid by voters: it spends what the voters
//! left of the budget, and is reported apart ([`Spending::greedy_cost`]).

use super::{Completion, Mes, Outcome, PbInstance, equal_shares, initial_total};
use num_bigint::{BigInt, BigUint};
use num_integer::Integer;
use num_traits::{ToPrimitive, Zero};
use std::cmp::Ordering;
use std::fmt;

/// An exact non-negative amount of money: `numer / denom` units of
/// `10^-scale` (the instance's minor units), in lowest terms.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Money {
    num: BigUint,
    den: BigUint,
}

impl Money {
    fn new(num: BigUint, den: BigUint) -> Money {
        debug_assert!(!den.is_zero());
        let g = num.gcd(&den);
        if g.is_zero() || g == BigUint::from(1u8) {
            return Money { num, den };
        }
        Money {
            num: num / &g,
            den: den / &g,
        }
    }

    /// Nothing.
    pub fn zero() -> Money {
        Money {
            num: BigUint::zero(),
            den: BigUint::from(1u8),
        }
    }

    /// A whole number of units.
    pub fn units(units: u128) -> Money {
        Money {
            num: BigUint::from(units),
            den: BigUint::from(1u8),
        }
    }

    /// The numerator (lowest terms).
    pub fn numer(&self) -> &BigUint {
        &self.num
    }

    /// The denominator (lowest terms; 1 for a whole number of units).
    pub fn denom(&self) -> &BigUint {
        &self.den
    }

    /// The whole units, rounded down (for display: what is shown is never
    /// more than what was paid).
    pub fn floor(&self) -> u128 {
        (&self.num / &self.den).to_u128().unwrap_or(u128::MAX)
    }

    /// Whether this is zero.
    pub fn is_zero(&self) -> bool {
        self.num.is_zero()
    }
}

impl Ord for Money {
    fn cmp(&self, other: &Money) -> Ordering {
        (&self.num * &other.den).cmp(&(&other.num * &self.den))
    }
}

impl PartialOrd for Money {
    fn partial_cmp(&self, other: &Money) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Money {
    /// `numer/denom`, or just `numer` for a whole number of units.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == BigUint::from(1u8) {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

/// What each voter paid in the MES run whose outcome was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spending {
    share: Money,
    increments: u64,
    /// Voters with the same history share a class, and so a payment.
    class_of: Vec<u32>,
    class_paid: Vec<Money>,
    mes_winners: usize,
    mes_cost: u128,
    greedy_cost: u128,
}

impl Spending {
    /// Each voter's initial share in the run kept: `budget / n` plus the
    /// add1 increments, exactly (zero if there are no voters).
    pub fn share(&self) -> &Money {
        &self.share
    }

    /// Whole currency units added to each share by add1 (0 for plain MES).
    pub fn increments(&self) -> u64 {
        self.increments
    }

    /// The number of voters (ballots, in the instance's order).
    pub fn voters(&self) -> usize {
        self.class_of.len()
    }

    /// What voter `v` (ballot `v`) paid, exactly.
    pub fn paid(&self, v: usize) -> &Money {
        &self.class_paid[self.class_of[v] as usize]
    }

    /// What each voter paid, in ballot order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Money> {
        self.class_of.iter().map(|&c| &self.class_paid[c as usize])
    }

    /// How many of the outcome's first winners MES selected (and the
    /// voters paid for); the rest were added by the greedy completion.
    pub fn mes_winners(&self) -> usize {
        self.mes_winners
    }

    /// The cost of the projects MES selected, which is exactly what the
    /// voters paid together.
    pub fn mes_cost(&self) -> u128 {
        self.mes_cost
    }

    /// The cost of the projects the greedy completion added, paid from
    /// what the voters left of the budget (0 without that completion).
    pub fn greedy_cost(&self) -> u128 {
        self.greedy_cost
    }

    /// How many voters paid each fraction of their share: `buckets`
    /// counts, voter `v` in bucket `⌊buckets · paid(v) / share⌋`, where a
    /// voter who paid the whole share goes in the last bucket (so with 10
    /// buckets: [0, 10 %), …, [80 %, 90 %), [90 %, 100 %]). Exact; all
    /// voters are in bucket 0 when the share is zero.
    pub fn histogram(&self, buckets: u32) -> Vec<u64> {
        assert!(buckets > 0, "a histogram has buckets");
        let mut size = vec![0u64; self.class_paid.len()];
        for &c in &self.class_of {
            size[c as usize] += 1;
        }
        let mut counts = vec![0u64; buckets as usize];
        for (paid, &m) in self.class_paid.iter().zip(&size) {
            if m == 0 {
                continue;
            }
            let b = if self.share.is_zero() {
                0
            } else {
                // ⌊buckets · (p/q) / (s/r)⌋ = ⌊buckets · p · r / (q · s)⌋
                let num = &paid.num * &self.share.den * buckets;
                let den = &paid.den * &self.share.num;
                (num / den).to_u32().unwrap_or(u32::MAX).min(buckets - 1)
            };
            counts[b as usize] += m;
        }
        counts
    }
}

/// [`equal_shares`], and what each voter paid in the MES run whose outcome
/// was kept: for plain MES the only run; for add1 the run at the increment
/// kept ([`Outcome::increments`]); for add1+greedy that add1 run, with the
/// projects greedy added afterwards paid from the budget left over, not
/// by voters.
///
/// This costs one more MES run than [`equal_shares`].
pub fn equal_shares_spending(inst: &PbInstance, completion: Completion) -> (Outcome, Spending) {
    let out = equal_shares(inst, completion);
    let mes_winners = out.winners.len() - out.completed_by_greedy;
    let mut mes = Mes::new(inst);
    let rerun = mes.run(out.increments);
    // The add1 search proves that every increment it skips gives the same
    // outcome; a different one here would be a bug in the rule, and the
    // payments below would not belong to the outcome declared.
    assert_eq!(
        rerun,
        out.winners[..mes_winners],
        "MES rerun at the kept increment selects the kept outcome"
    );
    let mes_cost = inst.total_cost(&rerun);
    let greedy_cost = out.total_cost - mes_cost;
    let n = inst.ballot_count();
    if n == 0 {
        let spending = Spending {
            share: Money::zero(),
            increments: out.increments,
            class_of: Vec::new(),
            class_paid: Vec::new(),
            mes_winners,
            mes_cost,
            greedy_cost,
        };
        return (out, spending);
    }
    // Share: total / n. Left in class c: class_budget[c] / den. Paid:
    // total / n − left = (total · den − n · left) / (n · den).
    let total = initial_total(inst, out.increments);
    let n_big = BigInt::from(n);
    let held = &total * &mes.den;
    let pay_den = magnitude(&n_big * &mes.den);
    let class_paid = mes
        .class_budget
        .iter()
        .map(|left| Money::new(magnitude(&held - &n_big * left), pay_den.clone()))
        .collect();
    let spending = Spending {
        share: Money::new(magnitude(total), magnitude(n_big)),
        increments: out.increments,
        class_of: std::mem::take(&mut mes.class_of),
        class_paid,
        mes_winners,
        mes_cost,
        greedy_cost,
    };
    (out, spending)
}

/// A value known to be non-negative, as a `BigUint`.
fn magnitude(x: BigInt) -> BigUint {
    let (sign, m) = x.into_parts();
    debug_assert!(sign != num_bigint::Sign::Minus, "a negative amount");
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::Project;

    /// Three voters; `a` (cost 4) approved by voters 0 and 1, `b` (cost 3)
    /// by 1 and 2, `c` (cost 4) by 0 alone, `e` (cost 2) by nobody.
    fn hand(budget: u128) -> PbInstance {
        let p = |id: &str, cost| Project {
            id: id.into(),
            cost,
        };
        PbInstance::new(
            budget,
            0,
            vec![p("a", 4), p("b", 3), p("c", 4), p("e", 2)],
            vec![vec![0, 2], vec![0, 1], vec![1]],
        )
        .unwrap()
    }

    fn paid(s: &Spending) -> Vec<String> {
        s.iter().map(Money::to_string).collect()
    }

    #[test]
    fn plain_mes_by_hand() {
        // Budget 10: shares 10/3. `a` and `b` both cost 1/2 per unit (2
        // each from two supporters); `a` wins the tie by id, voters 0 and
        // 1 keep 4/3. Then `b`: 3/2 each is more than voter 1's 4/3, so
        // voter 1 pays all 4/3 and voter 2 the other 5/3. `c` (4) is out
        // of voter 0's reach. Paid: 2, 10/3, 5/3 (sum 7 = 4 + 3).
        let pb = hand(10);
        let (out, s) = equal_shares_spending(&pb, Completion::None);
        assert_eq!(out.winners, [0, 1]);
        assert_eq!(s.share().to_string(), "10/3");
        assert_eq!(paid(&s), ["2", "10/3", "5/3"]);
        assert_eq!((s.mes_cost(), s.greedy_cost(), s.mes_winners()), (7, 0, 2));
        assert_eq!(s.paid(1), s.share());
        assert_eq!(s.iter().map(Money::floor).collect::<Vec<_>>(), [2, 3, 1]);
        // 2 / (10/3) = 60 %, 100 %, 50 %.
        assert_eq!(s.histogram(10), [0, 0, 0, 0, 0, 1, 1, 0, 0, 1]);
        assert_eq!(s.histogram(1), [3]);
    }

    #[test]
    fn add1_pays_from_the_increased_share() {
        // Budget 11: at increments 0, 1, 2 MES funds a and b (7) while c
        // would still fit: not exhaustive. At 3 the shares are 20/3: after
        // a (2 each) voter 0 holds 14/3 ≥ 4 and pays for c alone, after
        // b (3/2 each, cheaper per unit). Outcome a, b, c = 11, exhaustive.
        let pb = hand(11);
        let (out, s) = equal_shares_spending(&pb, Completion::Add1);
        assert_eq!(out.winners, [0, 1, 2]);
        assert_eq!((out.increments, s.increments()), (3, 3));
        assert_eq!(s.share().to_string(), "20/3");
        assert_eq!(paid(&s), ["6", "7/2", "3/2"]);
        assert_eq!(s.mes_cost(), 11);
        // Plain MES on the same budget: a and b only.
        let (_, plain) = equal_shares_spending(&pb, Completion::None);
        assert_eq!(paid(&plain), ["2", "7/2", "3/2"]);
        assert_eq!(plain.share().to_string(), "11/3");
    }

    #[test]
    fn the_greedy_completion_is_paid_from_the_budget_left() {
        // Budget 10: add1 stops at once (c no longer fits after a and b:
        // exhaustive among the candidates); greedy then adds `e` (2),
        // which nobody approved, from the 3 left. Voters paid as in plain
        // MES; `e` is not theirs.
        let pb = hand(10);
        let (out, s) = equal_shares_spending(&pb, Completion::Add1Greedy);
        assert_eq!(out.winners, [0, 1, 3]);
        assert_eq!(out.completed_by_greedy, 1);
        assert_eq!(paid(&s), ["2", "10/3", "5/3"]);
        assert_eq!((s.mes_cost(), s.greedy_cost(), s.mes_winners()), (7, 2, 2));
    }

    #[test]
    fn no_voters_pay_nothing() {
        let pb = PbInstance::new(5, 0, hand(5).projects().to_vec(), vec![]).unwrap();
        let (out, s) = equal_shares_spending(&pb, Completion::Add1);
        assert!(out.winners.is_empty());
        assert_eq!((s.voters(), s.share().is_zero()), (0, true));
        assert_eq!(s.histogram(10), [0; 10]);
    }

    #[test]
    fn money_is_in_lowest_terms_and_ordered() {
        let m = Money::new(BigUint::from(6u8), BigUint::from(4u8));
        assert_eq!(m.to_string(), "3/2");
        assert_eq!(m.floor(), 1);
        assert!(Money::units(1) < m && m < Money::units(2));
        assert_eq!(
            Money::new(BigUint::zero(), BigUint::from(7u8)),
            Money::zero()
        );
    }
}
