//! An exact integer that stays in an `i128` while it fits and moves to a
//! `BigInt` only when an operation would overflow.
//!
//! The add1 completion does millions of small exact operations whose
//! values mostly fit in 128 bits (a few files need a few hundred bits);
//! `num_bigint::BigInt` allocates for each one, which made it the whole
//! cost. Every operation here is exact: `i128` arithmetic is checked and
//! falls back to `BigInt` on overflow, and `BigInt` results that fit go
//! back to `i128`.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero};
use std::cmp::Ordering;
use std::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub};

#[derive(Clone, Debug)]
pub(super) enum Int {
    Small(i128),
    /// Only values outside `i128` (boxed: keeps `Int` at 32 bytes).
    Big(Box<BigInt>),
}

use Int::{Big, Small};

impl Int {
    pub(super) const ZERO: Int = Small(0);
    pub(super) const ONE: Int = Small(1);

    fn from_big(b: BigInt) -> Int {
        match b.to_i128() {
            Some(s) => Small(s),
            None => Big(Box::new(b)),
        }
    }

    fn big(&self) -> BigInt {
        match self {
            Small(s) => BigInt::from(*s),
            Big(b) => (**b).clone(),
        }
    }

    #[inline]
    pub(super) fn is_negative(&self) -> bool {
        match self {
            Small(s) => *s < 0,
            Big(b) => b.is_negative(),
        }
    }

    #[inline]
    pub(super) fn is_positive(&self) -> bool {
        match self {
            Small(s) => *s > 0,
            Big(b) => b.is_positive(),
        }
    }

    #[inline]
    pub(super) fn is_one(&self) -> bool {
        matches!(self, Small(1))
    }

    pub(super) fn gcd(&self, o: &Int) -> Int {
        match (self, o) {
            // i128::MIN has no positive counterpart; leave it to BigInt.
            (Small(a), Small(b)) if *a != i128::MIN && *b != i128::MIN => {
                Small(a.unsigned_abs().gcd(&b.unsigned_abs()) as i128)
            }
            _ => Int::from_big(self.big().gcd(&o.big())),
        }
    }

    /// Exact division (the caller knows `o` divides `self`).
    pub(super) fn div_exact(&self, o: &Int) -> Int {
        match (self, o) {
            (Small(a), Small(b)) if *b != 0 && !(*a == i128::MIN && *b == -1) => Small(a / b),
            _ => Int::from_big(self.big() / o.big()),
        }
    }

    /// Division rounding toward negative infinity.
    #[inline]
    pub(super) fn div_floor(&self, o: &Int) -> Int {
        match (self, o) {
            (Small(a), Small(b)) if *b != 0 && !(*a == i128::MIN && *b == -1) => {
                Small(a.div_floor(b))
            }
            _ => Int::from_big(self.big().div_floor(&o.big())),
        }
    }

    /// The value as a `u64`, if it is one.
    pub(super) fn to_u64(&self) -> Option<u64> {
        match self {
            Small(s) => u64::try_from(*s).ok(),
            Big(_) => None,
        }
    }
}

impl From<u128> for Int {
    #[inline]
    fn from(v: u128) -> Int {
        match i128::try_from(v) {
            Ok(s) => Small(s),
            Err(_) => Big(Box::new(BigInt::from(v))),
        }
    }
}

impl From<u64> for Int {
    #[inline]
    fn from(v: u64) -> Int {
        Small(i128::from(v))
    }
}

impl From<usize> for Int {
    #[inline]
    fn from(v: usize) -> Int {
        Int::from(v as u64)
    }
}

impl PartialEq for Int {
    fn eq(&self, o: &Int) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl Eq for Int {}

impl PartialOrd for Int {
    fn partial_cmp(&self, o: &Int) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Int {
    #[inline]
    fn cmp(&self, o: &Int) -> Ordering {
        match (self, o) {
            (Small(a), Small(b)) => a.cmp(b),
            // A Big value is outside the i128 range: its sign decides.
            (Small(_), Big(b)) => {
                if b.is_negative() {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (Big(a), Small(_)) => {
                if a.is_negative() {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (Big(a), Big(b)) => a.cmp(b),
        }
    }
}

impl Zero for Int {
    fn zero() -> Int {
        Int::ZERO
    }
    fn is_zero(&self) -> bool {
        matches!(self, Small(0))
    }
}

impl Neg for Int {
    type Output = Int;
    #[inline]
    fn neg(self) -> Int {
        match self {
            Small(s) if s != i128::MIN => Small(-s),
            other => Int::from_big(-other.big()),
        }
    }
}

/// Implements a binary operator for every combination of owned and
/// borrowed operands, through the checked `i128` operation.
macro_rules! binop {
    ($Trait:ident, $method:ident, $checked:ident, $op:tt) => {
        impl $Trait<&Int> for &Int {
            type Output = Int;
            #[inline]
            fn $method(self, o: &Int) -> Int {
                if let (Small(a), Small(b)) = (self, o) {
                    // Operands within i64 cannot overflow i128 (the common
                    // case, and much cheaper than a checked 128-bit product).
                    if let (Ok(x), Ok(y)) = (i64::try_from(*a), i64::try_from(*b)) {
                        return Small(i128::from(x) $op i128::from(y));
                    }
                    if let Some(r) = a.$checked(*b) {
                        return Small(r);
                    }
                }
                // num-bigint takes i128 operands directly (no allocation).
                let r = match (self, o) {
                    (Big(a), Big(b)) => &**a $op &**b,
                    (Big(a), Small(b)) => &**a $op *b,
                    (Small(a), Big(b)) => *a $op &**b,
                    (Small(a), Small(b)) => BigInt::from(*a) $op *b,
                };
                Int::from_big(r)
            }
        }
        impl $Trait<Int> for &Int {
            type Output = Int;
            #[inline]
            fn $method(self, o: Int) -> Int {
                self $op &o
            }
        }
        impl $Trait<&Int> for Int {
            type Output = Int;
            #[inline]
            fn $method(self, o: &Int) -> Int {
                &self $op o
            }
        }
        impl $Trait<Int> for Int {
            type Output = Int;
            #[inline]
            fn $method(self, o: Int) -> Int {
                &self $op &o
            }
        }
        impl $Trait<u64> for &Int {
            type Output = Int;
            #[inline]
            fn $method(self, o: u64) -> Int {
                self $op &Int::from(o)
            }
        }
        impl $Trait<u64> for Int {
            type Output = Int;
            #[inline]
            fn $method(self, o: u64) -> Int {
                &self $op &Int::from(o)
            }
        }
    };
}

binop!(Add, add, checked_add, +);
binop!(Sub, sub, checked_sub, -);
binop!(Mul, mul, checked_mul, *);

impl AddAssign<Int> for Int {
    #[inline]
    fn add_assign(&mut self, o: Int) {
        *self += &o;
    }
}

impl AddAssign<&Int> for Int {
    #[inline]
    fn add_assign(&mut self, o: &Int) {
        match (&mut *self, o) {
            // In place: no allocation for a BigInt accumulator.
            (Big(a), Small(b)) => **a += *b,
            (Big(a), Big(b)) => **a += &**b,
            _ => {
                *self = &*self + o;
                return;
            }
        }
        if let Big(a) = self
            && let Some(s) = a.to_i128()
        {
            *self = Small(s);
        }
    }
}

impl MulAssign<&Int> for Int {
    #[inline]
    fn mul_assign(&mut self, o: &Int) {
        *self = &*self * o;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(s: &str) -> Int {
        Int::from_big(s.parse::<BigInt>().unwrap())
    }

    #[test]
    fn overflow_moves_to_bigint_and_back() {
        let max = Small(i128::MAX);
        let sum = &max + &Int::ONE;
        assert!(matches!(sum, Big(_)));
        assert_eq!(sum.big(), BigInt::from(i128::MAX) + 1);
        let back = &sum - &Int::ONE;
        assert!(matches!(back, Small(i128::MAX)));
        let sq = &max * &max;
        assert_eq!(sq.big(), BigInt::from(i128::MAX) * BigInt::from(i128::MAX));
        assert_eq!(sq.div_exact(&max), max);
        assert!(sq > max && -sq.clone() < Small(i128::MIN));
        assert!(matches!(-Small(i128::MIN), Big(_)));
    }

    #[test]
    fn matches_bigint() {
        let values = [
            "0",
            "1",
            "-1",
            "7",
            "-7",
            "170141183460469231731687303715884105727",
            "-170141183460469231731687303715884105728",
            "340282366920938463463374607431768211457",
            "-98765432109876543210987654321098765432109876543210",
        ];
        for a in values {
            for b in values {
                let (x, y) = (int(a), int(b));
                let (bx, by) = (x.big(), y.big());
                assert_eq!((&x + &y).big(), &bx + &by, "{a} + {b}");
                assert_eq!((&x - &y).big(), &bx - &by, "{a} - {b}");
                assert_eq!((&x * &y).big(), &bx * &by, "{a} * {b}");
                assert_eq!(x.cmp(&y), bx.cmp(&by), "{a} cmp {b}");
                let mut z = x.clone();
                z += &y;
                assert_eq!(z.big(), &bx + &by, "{a} += {b}");
                assert_eq!(z, Int::from_big(&bx + &by), "{a} += {b} is normalised");
                assert_eq!(x.gcd(&y).big(), bx.gcd(&by), "gcd {a} {b}");
                if !by.is_zero() {
                    assert_eq!(x.div_floor(&y).big(), bx.div_floor(&by), "{a} div {b}");
                }
            }
        }
    }
}
