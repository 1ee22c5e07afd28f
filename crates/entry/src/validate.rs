//! Reusable field rules for [`crate::EntryKind::validate`].
//!
//! Lengths of human-readable text are counted in Unicode scalar values
//! ("characters"); identifiers are counted in bytes.

use crate::error::ValidationError;

/// A single line of human-readable text: `min..=max` characters, no control
/// character at all (Unicode category Cc, so no `\n` either), and no leading
/// or trailing whitespace (Unicode `White_Space`, as Rust's
/// [`char::is_whitespace`] and [`str::trim`]).
pub fn line(field: &str, value: &str, min: usize, max: usize) -> Result<(), ValidationError> {
    text(field, value, min, max, false)
}

/// Multi-line human-readable text: as [`line`] but `\n` (U+000A) is allowed
/// inside (not at either end, which trimming already rules out).
pub fn multiline(field: &str, value: &str, min: usize, max: usize) -> Result<(), ValidationError> {
    text(field, value, min, max, true)
}

fn text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    newlines: bool,
) -> Result<(), ValidationError> {
    let n = value.chars().count();
    if !(min..=max).contains(&n) {
        return Err(ValidationError::new(
            field,
            format!("must be {min}..={max} characters, got {n}"),
        ));
    }
    if let Some((i, c)) = value
        .chars()
        .enumerate()
        .find(|&(_, c)| c.is_control() && !(newlines && c == '\n'))
    {
        return Err(ValidationError::new(
            field,
            format!(
                "control character U+{:04X} at character {i} not allowed",
                u32::from(c)
            ),
        ));
    }
    if value.trim() != value {
        return Err(ValidationError::new(
            field,
            "must not have leading or trailing whitespace",
        ));
    }
    Ok(())
}

/// A slug identifier: `1..=max` bytes of `[a-z0-9-]`, not starting or ending
/// with `-`.
pub fn slug(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    let n = value.len();
    if !(1..=max).contains(&n) {
        return Err(ValidationError::new(
            field,
            format!("must be 1..={max} bytes, got {n}"),
        ));
    }
    if let Some((i, c)) = value
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    {
        return Err(ValidationError::new(
            field,
            format!("must contain only a-z, 0-9 and '-', found {c:?} at byte {i}"),
        ));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Err(ValidationError::new(
            field,
            "must not start or end with '-'",
        ));
    }
    Ok(())
}

/// A staff pseudonym (the [`crate::Actor`] field type): 3..=64 bytes of
/// `[a-z0-9-]`, starting with a letter `a-z`.
pub fn pseudonym(field: &str, value: &str) -> Result<(), ValidationError> {
    use crate::actor::{PSEUDONYM_MAX_BYTES, PSEUDONYM_MIN_BYTES};
    let n = value.len();
    if !(PSEUDONYM_MIN_BYTES..=PSEUDONYM_MAX_BYTES).contains(&n) {
        return Err(ValidationError::new(
            field,
            format!("must be {PSEUDONYM_MIN_BYTES}..={PSEUDONYM_MAX_BYTES} bytes, got {n}"),
        ));
    }
    if let Some((i, c)) = value
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    {
        return Err(ValidationError::new(
            field,
            format!("must contain only a-z, 0-9 and '-', found {c:?} at byte {i}"),
        ));
    }
    if let Some(c) = value.chars().next().filter(|c| !c.is_ascii_lowercase()) {
        return Err(ValidationError::new(
            field,
            format!("must start with a letter a-z, found {c:?}"),
        ));
    }
    Ok(())
}

/// A list of `min..=max` items.
pub fn count(field: &str, n: usize, min: usize, max: usize) -> Result<(), ValidationError> {
    if !(min..=max).contains(&n) {
        return Err(ValidationError::new(
            field,
            format!("must have {min}..={max} items, got {n}"),
        ));
    }
    Ok(())
}

/// `min <= value <= max`.
pub fn range(field: &str, value: u64, min: u64, max: u64) -> Result<(), ValidationError> {
    if value < min {
        return Err(ValidationError::new(field, format!("must be ≥ {min}")));
    }
    if value > max {
        return Err(ValidationError::new(
            field,
            format!("must be ≤ {max}, got {value}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_rules() {
        assert!(line("f", "Калининградская область", 1, 200).is_ok());
        assert!(line("f", "a b", 1, 200).is_ok());
        assert_eq!(
            line("f", "", 1, 200).unwrap_err().to_string(),
            "field f: must be 1..=200 characters, got 0"
        );
        assert!(line("f", &"я".repeat(200), 1, 200).is_ok());
        assert!(line("f", &"я".repeat(201), 1, 200).is_err());
        assert_eq!(
            line("f", " a", 1, 200).unwrap_err().to_string(),
            "field f: must not have leading or trailing whitespace"
        );
        assert!(line("f", "a\u{00a0}", 1, 200).is_err());
        assert!(line("f", "a\u{3000}", 1, 200).is_err());
        assert_eq!(
            line("f", "a\nb", 1, 200).unwrap_err().to_string(),
            "field f: control character U+000A at character 1 not allowed"
        );
        assert!(line("f", "a\u{7f}b", 1, 200).is_err());
    }

    #[test]
    fn multiline_rules() {
        assert!(multiline("f", "a\nb\n\nc", 1, 10).is_ok());
        assert!(multiline("f", "a\r\nb", 1, 10).is_err());
        assert!(multiline("f", "a\n", 1, 10).is_err());
    }

    #[test]
    fn slug_rules() {
        assert!(slug("id", "kaliningrad-oblast", 64).is_ok());
        assert!(slug("id", "a", 64).is_ok());
        assert!(slug("id", "0-9", 64).is_ok());
        assert!(slug("id", &"a".repeat(64), 64).is_ok());
        assert!(slug("id", &"a".repeat(65), 64).is_err());
        assert!(slug("id", "", 64).is_err());
        assert!(slug("id", "-a", 64).is_err());
        assert!(slug("id", "a-", 64).is_err());
        assert!(slug("id", "a_b", 64).is_err());
        assert!(slug("id", "ä", 64).is_err());
        assert_eq!(
            slug("id", "Moscow", 64).unwrap_err().to_string(),
            "field id: must contain only a-z, 0-9 and '-', found 'M' at byte 0"
        );
    }

    #[test]
    fn range_rules() {
        assert_eq!(
            range("population", 0, 1, 10).unwrap_err().to_string(),
            "field population: must be ≥ 1"
        );
        assert_eq!(
            range("population", 11, 1, 10).unwrap_err().to_string(),
            "field population: must be ≤ 10, got 11"
        );
        assert!(range("p", 1, 1, 10).is_ok());
        assert!(range("p", 10, 1, 10).is_ok());
    }
}
