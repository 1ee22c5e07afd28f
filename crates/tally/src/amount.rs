//! Exact decimal amounts of money (costs and budgets).
//!
//! Pabulib writes costs and budgets as decimal numbers, sometimes with a
//! fractional part (`400000.0`, `1250.50`) and sometimes with a decimal
//! comma. An [`Amount`] holds such a number exactly, as an integer count of
//! `10^-scale` units: no floating point is ever involved.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// The largest number of decimal places accepted.
pub const MAX_SCALE: u32 = 18;

/// The largest number of significant digits accepted (so that any amount,
/// brought to any scale up to [`MAX_SCALE`], still fits in 128 bits with
/// room for sums over many projects: `10^30 · 2^24 < 2^128`).
pub const MAX_DIGITS: usize = 30;

/// A non-negative decimal amount, exactly `units / 10^scale`.
///
/// Amounts are kept normalised: no trailing zeros after the decimal point,
/// so `400000.0` and `400000` are the same value and compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Amount {
    units: u128,
    scale: u32,
}

/// Why a text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The text is empty.
    #[error("empty amount")]
    Empty,
    /// The text is not `digits[.digits]` (or with a decimal comma).
    #[error("`{0}` is not a decimal number (expected digits with an optional `.` or `,` fraction)")]
    Syntax(String),
    /// Negative amounts are not money to spend.
    #[error("`{0}` is negative")]
    Negative(String),
    /// Too many digits or decimal places.
    #[error("`{0}` has more than {MAX_DIGITS} significant digits or {MAX_SCALE} decimal places")]
    TooLarge(String),
}

fn pow10(e: u32) -> u128 {
    10u128.pow(e)
}

impl Amount {
    /// A whole amount of currency units.
    pub fn whole(units: u64) -> Amount {
        Amount {
            units: u128::from(units),
            scale: 0,
        }
    }

    /// `units / 10^scale`, normalised. Fails if `scale > MAX_SCALE` or the
    /// value has more than [`MAX_DIGITS`] significant digits.
    pub fn from_units(units: u128, scale: u32) -> Result<Amount, AmountError> {
        let a = Amount { units, scale }.normalised();
        if a.scale > MAX_SCALE || a.units >= pow10(MAX_DIGITS as u32) {
            return Err(AmountError::TooLarge(a.to_string()));
        }
        Ok(a)
    }

    fn normalised(mut self) -> Amount {
        if self.units == 0 {
            return Amount::default();
        }
        while self.scale > 0 && self.units.is_multiple_of(10) {
            self.units /= 10;
            self.scale -= 1;
        }
        self
    }

    /// The number of decimal places (0 for whole amounts).
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// The integer count of `10^-scale` units.
    pub fn units(&self) -> u128 {
        self.units
    }

    /// The amount as an integer count of `10^-scale` units, for a `scale`
    /// at least [`Amount::scale`]. `None` if `scale` is smaller (the amount
    /// would be rounded) or the result overflows.
    pub fn units_at(&self, scale: u32) -> Option<u128> {
        let extra = scale.checked_sub(self.scale)?;
        self.units.checked_mul(10u128.checked_pow(extra)?)
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.units == 0
    }
}

impl Ord for Amount {
    fn cmp(&self, other: &Amount) -> Ordering {
        let s = self.scale.max(other.scale);
        // Both fit: at most 30 digits plus 18 places is < 10^48... which
        // does not fit u128, so compare through the integer and fraction.
        let (a_int, a_frac) = (
            self.units / pow10(self.scale),
            self.units % pow10(self.scale),
        );
        let (b_int, b_frac) = (
            other.units / pow10(other.scale),
            other.units % pow10(other.scale),
        );
        a_int
            .cmp(&b_int)
            .then_with(|| (a_frac * pow10(s - self.scale)).cmp(&(b_frac * pow10(s - other.scale))))
    }
}

impl PartialOrd for Amount {
    fn partial_cmp(&self, other: &Amount) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    /// Parses `digits`, `digits.digits` or `digits,digits` (Pabulib files
    /// use both decimal separators), with an optional leading `+`;
    /// surrounding spaces are ignored.
    fn from_str(text: &str) -> Result<Amount, AmountError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(AmountError::Empty);
        }
        if t.starts_with('-') {
            return Err(AmountError::Negative(t.to_owned()));
        }
        let t2 = t.strip_prefix('+').unwrap_or(t);
        let (int, frac) = match t2.find(['.', ',']) {
            Some(i) => (&t2[..i], &t2[i + 1..]),
            None => (t2, ""),
        };
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !digits_only(int) || !digits_only(frac) {
            return Err(AmountError::Syntax(t.to_owned()));
        }
        let frac = frac.trim_end_matches('0');
        let int = int.trim_start_matches('0');
        if frac.len() > MAX_SCALE as usize || int.len() + frac.len() > MAX_DIGITS {
            return Err(AmountError::TooLarge(t.to_owned()));
        }
        let mut units: u128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            units = units * 10 + u128::from(b - b'0');
        }
        Ok(Amount {
            units,
            scale: frac.len() as u32,
        }
        .normalised())
    }
}

impl fmt::Display for Amount {
    /// The shortest exact decimal form: `400000`, `1250.5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_units(self.units, self.scale))
    }
}

/// Writes `units / 10^scale` as a decimal without trailing zeros.
pub fn format_units(units: u128, scale: u32) -> String {
    if scale == 0 {
        return units.to_string();
    }
    let p = pow10(scale);
    let (int, frac) = (units / p, units % p);
    if frac == 0 {
        return int.to_string();
    }
    let frac = format!("{frac:0width$}", width = scale as usize);
    format!("{int}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        let a: Amount = "400000.0".parse().unwrap();
        assert_eq!(a, Amount::whole(400000));
        assert_eq!(a.to_string(), "400000");
        let b: Amount = "1250,50".parse().unwrap();
        assert_eq!((b.units(), b.scale()), (12505, 1));
        assert_eq!(b.to_string(), "1250.5");
        assert_eq!(".5".parse::<Amount>().unwrap().to_string(), "0.5");
        assert_eq!("0.000".parse::<Amount>().unwrap(), Amount::default());
        assert!(matches!(
            "1e5".parse::<Amount>(),
            Err(AmountError::Syntax(_))
        ));
        assert!(matches!(
            "-3".parse::<Amount>(),
            Err(AmountError::Negative(_))
        ));
        assert!(matches!("".parse::<Amount>(), Err(AmountError::Empty)));
        assert!(matches!(
            "1.2.3".parse::<Amount>(),
            Err(AmountError::Syntax(_))
        ));
        assert!("0.1".parse::<Amount>().unwrap() < "0.25".parse::<Amount>().unwrap());
        assert!("10".parse::<Amount>().unwrap() > "9.99".parse::<Amount>().unwrap());
        assert_eq!(b.units_at(3), Some(1_250_500));
        assert_eq!(b.units_at(0), None);
    }
}
