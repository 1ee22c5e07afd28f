//! Calendar dates and timestamps: [`Date`] (a validated proleptic-Gregorian
//! date, `YYYY-MM-DD` in JSON) and RFC 3339 formatting of millisecond
//! timestamps.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest timestamp an entry may carry: 9999-12-31T23:59:59.999Z, so every
/// timestamp has a four-digit-year RFC 3339 form.
pub const MAX_TIMESTAMP_MS: u64 = 253_402_300_799_999;

/// A calendar date (proleptic Gregorian) between 0001-01-01 and 9999-12-31.
///
/// Always valid: the only ways to get one are [`Date::new`], [`FromStr`] and
/// deserialisation, which all check it. Ordered chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// `Date::new` or `Date::from_str` was given something that is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid date {0:?}: expected a calendar date YYYY-MM-DD between 0001-01-01 and 9999-12-31"
)]
pub struct InvalidDate(pub String);

/// Whether `year` is a leap year in the Gregorian calendar.
pub const fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// Number of days in `month` (1..=12) of `year`; 0 for a month out of range.
pub const fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// The date `year-month-day`, if it exists and `1 <= year <= 9999`.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, InvalidDate> {
        if (1..=9999).contains(&year) && day >= 1 && day <= days_in_month(year, month) {
            Ok(Self { year, month, day })
        } else {
            Err(InvalidDate(format!("{year:04}-{month:02}-{day:02}")))
        }
    }

    /// The year, 1..=9999.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1..=12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1..=31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// The UTC date of a millisecond Unix timestamp (`None` past 9999-12-31).
    pub fn from_timestamp_ms(ms: u64) -> Option<Self> {
        if ms > MAX_TIMESTAMP_MS {
            return None;
        }
        let (y, m, d) = civil_from_days(ms / 86_400_000);
        Self::new(y, m, d).ok()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = InvalidDate;

    /// Parses exactly `YYYY-MM-DD` (ten ASCII characters).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidDate(s.to_owned());
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |range: std::ops::Range<usize>| -> Result<u16, InvalidDate> {
            b[range].iter().try_fold(0u16, |acc, &c| {
                if c.is_ascii_digit() {
                    Ok(acc * 10 + u16::from(c - b'0'))
                } else {
                    Err(bad())
                }
            })
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        // m, d < 100 here, so the casts are lossless.
        Self::new(y, m as u8, d as u8).map_err(|_| bad())
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Date {
    /// Days since 1970-01-01 (negative before it); H. Hinnant's
    /// `days_from_civil`.
    pub fn days_since_epoch(self) -> i64 {
        let (y, m, d) = (
            i64::from(self.year) - i64::from(self.month <= 2),
            i64::from(self.month),
            i64::from(self.day),
        );
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The first millisecond of the day after this date (UTC): the end of a
    /// deadline "by this date".
    pub fn end_ms(self) -> u64 {
        u64::try_from((self.days_since_epoch() + 1) * 86_400_000).unwrap_or(0)
    }
}

/// The timestamp `months` calendar months after `ms`, at the same UTC time
/// of day, the day of the month clamped to the target month's length (31
/// January + 1 month = 28 or 29 February). `None` past 9999-12-31.
pub fn add_months_ms(ms: u64, months: u32) -> Option<u64> {
    let date = Date::from_timestamp_ms(ms)?;
    let total = u32::from(date.year()) * 12 + u32::from(date.month()) - 1 + months;
    let year = u16::try_from(total / 12).ok()?;
    let month = (total % 12) as u8 + 1;
    let day = date.day().min(days_in_month(year, month));
    let target = Date::new(year, month, day).ok()?;
    let days = u64::try_from(target.days_since_epoch()).ok()?;
    let out = days * 86_400_000 + ms % 86_400_000;
    (out <= MAX_TIMESTAMP_MS).then_some(out)
}

/// `days` since 1970-01-01 to (year, month, day); valid for the range of
/// [`MAX_TIMESTAMP_MS`] (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u16, u8, u8) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    // In range for every timestamp up to MAX_TIMESTAMP_MS.
    (year as u16, month as u8, day as u8)
}

/// RFC 3339 form of a millisecond Unix timestamp, always with milliseconds
/// and `Z`: `2026-11-23T14:00:00.000Z`. `None` past [`MAX_TIMESTAMP_MS`].
pub fn format_timestamp_ms(ms: u64) -> Option<String> {
    let date = Date::from_timestamp_ms(ms)?;
    let in_day = ms % 86_400_000;
    let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
    let (min, rest) = (rest / 60_000, rest % 60_000);
    let (sec, milli) = (rest / 1000, rest % 1000);
    Some(format!("{date}T{h:02}:{min:02}:{sec:02}.{milli:03}Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_validated() {
        assert!(Date::new(2024, 2, 29).is_ok());
        assert!(Date::new(2023, 2, 29).is_err());
        assert!(Date::new(1900, 2, 29).is_err());
        assert!(Date::new(2000, 2, 29).is_ok());
        assert!(Date::new(2024, 13, 1).is_err());
        assert!(Date::new(2024, 0, 1).is_err());
        assert!(Date::new(2024, 4, 31).is_err());
        assert!(Date::new(2024, 1, 0).is_err());
        assert!(Date::new(0, 1, 1).is_err());
        assert!(Date::new(10000, 1, 1).is_err());
        assert!(Date::new(1, 1, 1).is_ok());
        assert!(Date::new(9999, 12, 31).is_ok());
    }

    #[test]
    fn date_text_form_is_strict() {
        let d: Date = "2024-01-01".parse().unwrap();
        assert_eq!((d.year(), d.month(), d.day()), (2024, 1, 1));
        assert_eq!(d.to_string(), "2024-01-01");
        for bad in [
            "2024-1-01",
            "2024-01-1",
            "24-01-01",
            "2024/01/01",
            "2024-01-01 ",
            "+024-01-01",
            "2023-02-29",
            "0000-01-01",
            "２０２４-01-01",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_format_as_rfc3339() {
        assert_eq!(
            format_timestamp_ms(0).as_deref(),
            Some("1970-01-01T00:00:00.000Z")
        );
        assert_eq!(
            format_timestamp_ms(1_795_442_400_000).as_deref(),
            Some("2026-11-23T14:00:00.000Z")
        );
        assert_eq!(
            format_timestamp_ms(1_709_164_799_999).as_deref(),
            Some("2024-02-28T23:59:59.999Z")
        );
        assert_eq!(
            format_timestamp_ms(1_709_251_200_000).as_deref(),
            Some("2024-03-01T00:00:00.000Z")
        );
        assert_eq!(
            format_timestamp_ms(MAX_TIMESTAMP_MS).as_deref(),
            Some("9999-12-31T23:59:59.999Z")
        );
        assert_eq!(format_timestamp_ms(MAX_TIMESTAMP_MS + 1), None);
    }

    #[test]
    fn months_are_calendar_months() {
        let ms = |d: &str| {
            u64::try_from(d.parse::<Date>().unwrap().days_since_epoch()).unwrap() * 86_400_000
        };
        assert_eq!(
            add_months_ms(ms("2026-01-31") + 5, 1),
            Some(ms("2026-02-28") + 5)
        );
        assert_eq!(add_months_ms(ms("2028-01-31"), 1), Some(ms("2028-02-29")));
        assert_eq!(add_months_ms(ms("2026-08-15"), 6), Some(ms("2027-02-15")));
        assert_eq!(add_months_ms(ms("9999-12-01"), 1), None);
        assert_eq!("1970-01-01".parse::<Date>().unwrap().days_since_epoch(), 0);
        assert_eq!("1969-12-31".parse::<Date>().unwrap().days_since_epoch(), -1);
        assert_eq!(
            "2026-11-23".parse::<Date>().unwrap().end_ms(),
            ms("2026-11-24")
        );
        for days in (0..2_900_000u64).step_by(997) {
            let d = Date::from_timestamp_ms(days * 86_400_000).unwrap();
            assert_eq!(d.days_since_epoch(), days as i64);
        }
    }

    #[test]
    fn civil_from_days_matches_day_by_day_walk() {
        let (mut y, mut m, mut d) = (1970u16, 1u8, 1u8);
        for days in 0..200_000u64 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            d += 1;
            if d > days_in_month(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }
}
