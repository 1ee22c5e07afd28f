//! Argon2id with the pepper: [`HashParams`], [`IdentityHasher`], and the
//! document key that lets a citizen's (document number, date of birth) be
//! looked up by equality without storing either.

use std::fmt;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use serde::{Deserialize, Serialize};
use veche_entry::Date;
use zeroize::Zeroizing;

use crate::pepper::Pepper;

/// Length of a document key in bytes (the Argon2id output length).
pub const DOCUMENT_KEY_LEN: usize = 32;
/// Length of the per-jurisdiction Argon2 salt in bytes.
pub const SALT_LEN: usize = 16;
/// BLAKE3 `derive_key` context of the per-jurisdiction salt.
pub const SALT_CONTEXT: &str = "veche roll salt v1";
/// Longest document number accepted, in characters after normalisation.
pub const DOCUMENT_NUMBER_MAX_CHARS: usize = 40;
/// Longest document number input accepted, in characters before
/// normalisation (bounds the work done on hostile input).
pub const DOCUMENT_NUMBER_INPUT_MAX_CHARS: usize = 100;
/// Earliest date of birth accepted.
pub const EARLIEST_BIRTH_YEAR: u16 = 1900;
/// Largest memory cost accepted, in KiB (4 GiB).
pub const MAX_M_KIB: u32 = 4 * 1024 * 1024;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashParams {
    /// Memory in KiB (`m`), at least 8 × `p`.
    pub m_kib: u32,
    /// Passes over memory (`t`), at least 1.
    pub t: u32,
    /// Lanes (`p`), at least 1. The lanes of one hash run on one thread
    /// here; [`crate::hash_roll`] parallelises over records instead.
    pub p: u32,
}

impl HashParams {
    /// The production setting: m = 19,456 KiB (19 MiB), t = 2, p = 1, the
    /// first Argon2id configuration recommended by the OWASP Password
    /// Storage Cheat Sheet (equivalent in cost to its other options) and
    /// the `argon2` crate's default. About 20–30 ms and 19 MiB per hash on
    /// one core of a current server, so a roll of 1,000,000 records takes
    /// a few hours to load on 2 threads, and an online guesser is held far
    /// below the rate limits anyway; an offline guesser holding the pepper
    /// pays 19 MiB of memory traffic per guess.
    pub const fn production() -> Self {
        Self {
            m_kib: 19_456,
            t: 2,
            p: 1,
        }
    }

    /// A tiny setting for tests only (m = 64 KiB, t = 1, p = 1): still
    /// Argon2id, thousands of times cheaper. Never use it in production.
    pub const fn fast_for_tests() -> Self {
        Self {
            m_kib: 64,
            t: 1,
            p: 1,
        }
    }

    fn argon2_params(self) -> Result<Params, ParamsError> {
        if self.m_kib > MAX_M_KIB {
            return Err(ParamsError(format!(
                "m_kib must be ≤ {MAX_M_KIB}, got {}",
                self.m_kib
            )));
        }
        Params::new(self.m_kib, self.t, self.p, Some(DOCUMENT_KEY_LEN)).map_err(|e| {
            ParamsError(format!(
                "m_kib={}, t={}, p={}: {e} (need t ≥ 1, 1 ≤ p < 2^24, m_kib ≥ 8·p)",
                self.m_kib, self.t, self.p
            ))
        })
    }
}

impl Default for HashParams {
    fn default() -> Self {
        Self::production()
    }
}

/// Argon2 refused the cost parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Argon2id parameters: {0}")]
pub struct ParamsError(pub String);

/// Document data or a jurisdiction id that cannot be hashed. Messages name
/// the field and the rule, and never contain the document number or the
/// date of birth.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The document number has no letter or digit.
    #[error("document_number is empty")]
    DocumentNumberEmpty,
    /// The document number is too long.
    #[error("document_number is too long: {got} characters, at most {max}")]
    DocumentNumberTooLong {
        /// Characters counted (after normalisation, or of the input if it
        /// is longer than [`DOCUMENT_NUMBER_INPUT_MAX_CHARS`]).
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A character other than a letter, a digit, a space or a dash.
    #[error(
        "document_number: character {ch:?} at position {position} is not allowed (only letters and digits; spaces and dashes are ignored)"
    )]
    DocumentNumberCharacter {
        /// The character.
        ch: char,
        /// Its position in the input, counting characters from 1.
        position: usize,
    },
    /// The date of birth is not written `YYYY-MM-DD`.
    #[error("date_of_birth is not written YYYY-MM-DD")]
    DateOfBirthFormat,
    /// `YYYY-MM-DD` but no such calendar date (e.g. 30 February).
    #[error("date_of_birth is not a date (no such day in the calendar)")]
    DateOfBirthNotADate,
    /// Before [`EARLIEST_BIRTH_YEAR`].
    #[error("date_of_birth is before {EARLIEST_BIRTH_YEAR}-01-01")]
    DateOfBirthTooEarly,
    /// Not a valid jurisdiction id.
    #[error("jurisdiction: {0}")]
    Jurisdiction(String),
}

impl InputError {
    /// Stable machine-readable code, e.g. `"document_number_character"`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DocumentNumberEmpty => "document_number_empty",
            Self::DocumentNumberTooLong { .. } => "document_number_too_long",
            Self::DocumentNumberCharacter { .. } => "document_number_character",
            Self::DateOfBirthFormat => "date_of_birth_format",
            Self::DateOfBirthNotADate => "date_of_birth_not_a_date",
            Self::DateOfBirthTooEarly => "date_of_birth_too_early",
            Self::Jurisdiction(_) => "jurisdiction",
        }
    }
}

/// Whether `c` is ignored in a document number: Unicode whitespace, the
/// ASCII hyphen-minus and the Unicode dashes and minus signs.
fn is_ignored(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}'
        )
}

/// Cyrillic capitals that look like Latin ones, folded to the Latin letter
/// so that `АВ` typed in either script matches.
fn fold_homoglyph(c: char) -> char {
    match c {
        'А' => 'A',
        'В' => 'B',
        'Е' => 'E',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'У' => 'Y',
        'Х' => 'X',
        other => other,
    }
}

/// Normalises a document number as typed or as found in the roll: removes
/// whitespace and dashes, upper-cases (Unicode), folds the twelve Cyrillic
/// capitals that look like Latin ones (`А В Е К М Н О Р С Т У Х`) to Latin,
/// and then requires 1..=40 letters or digits (Unicode alphanumeric).
/// Idempotent.
///
/// ```
/// use veche_roll::normalise_document_number;
/// assert_eq!(normalise_document_number("45 08-123456").unwrap(), "4508123456");
/// assert_eq!(normalise_document_number("iv-ра 123").unwrap(), "IVPA123");
/// assert!(normalise_document_number("45/08").is_err());
/// ```
pub fn normalise_document_number(input: &str) -> Result<String, InputError> {
    let chars = input.chars().count();
    if chars > DOCUMENT_NUMBER_INPUT_MAX_CHARS {
        return Err(InputError::DocumentNumberTooLong {
            got: chars,
            max: DOCUMENT_NUMBER_INPUT_MAX_CHARS,
        });
    }
    let mut out = String::with_capacity(input.len());
    for (i, c) in input.chars().enumerate() {
        if is_ignored(c) {
            continue;
        }
        if !c.is_alphanumeric() {
            return Err(InputError::DocumentNumberCharacter {
                ch: c,
                position: i + 1,
            });
        }
        for u in c.to_uppercase() {
            // An upper-case mapping of an alphanumeric character may be
            // something else (rarely); hold the result to the same rule.
            if !u.is_alphanumeric() {
                return Err(InputError::DocumentNumberCharacter {
                    ch: c,
                    position: i + 1,
                });
            }
            out.push(fold_homoglyph(u));
        }
    }
    let n = out.chars().count();
    if n == 0 {
        return Err(InputError::DocumentNumberEmpty);
    }
    if n > DOCUMENT_NUMBER_MAX_CHARS {
        return Err(InputError::DocumentNumberTooLong {
            got: n,
            max: DOCUMENT_NUMBER_MAX_CHARS,
        });
    }
    Ok(out)
}

/// Parses a date of birth: exactly `YYYY-MM-DD`, a real calendar date, not
/// before 1900-01-01.
pub fn parse_date_of_birth(input: &str) -> Result<Date, InputError> {
    let b = input.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(InputError::DateOfBirthFormat);
    }
    let date: Date = input.parse().map_err(|_| InputError::DateOfBirthNotADate)?;
    if date.year() < EARLIEST_BIRTH_YEAR {
        return Err(InputError::DateOfBirthTooEarly);
    }
    Ok(date)
}

/// Checks a jurisdiction id: the rule of `jurisdiction.id` in
/// `specs/entries.md` (1..=64 bytes of `[a-z0-9-]`, no `-` at either end).
pub fn check_jurisdiction(jurisdiction: &str) -> Result<(), InputError> {
    veche_entry::validate::slug(
        "jurisdiction",
        jurisdiction,
        veche_entry::kinds::jurisdiction::ID_MAX_BYTES,
    )
    .map_err(|e| InputError::Jurisdiction(e.message))
}

/// The Argon2 salt of a jurisdiction's document keys: the first 16 bytes
/// of `BLAKE3-derive_key("veche roll salt v1", jurisdiction id)`.
pub fn jurisdiction_salt(jurisdiction: &str) -> [u8; SALT_LEN] {
    let full = blake3::derive_key(SALT_CONTEXT, jurisdiction.as_bytes());
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&full[..SALT_LEN]);
    salt
}

/// The Argon2 password of a document key: `u32be(len(doc)) ‖ doc ‖ dob`
/// with `doc` the normalised document number in UTF-8 and `dob` the ten
/// ASCII bytes `YYYY-MM-DD`.
fn document_password(document_number: &str, date_of_birth: Date) -> Zeroizing<Vec<u8>> {
    let doc = document_number.as_bytes();
    let mut pwd = Zeroizing::new(Vec::with_capacity(4 + doc.len() + 10));
    // At most 40 characters of ≤ 4 bytes: fits a u32.
    pwd.extend_from_slice(&(doc.len() as u32).to_be_bytes());
    pwd.extend_from_slice(doc);
    pwd.extend_from_slice(date_of_birth.to_string().as_bytes());
    pwd
}

/// Hashes identity data with Argon2id under the server [`Pepper`].
///
/// `Debug` shows the parameters only.
#[derive(Clone)]
pub struct IdentityHasher {
    pepper: Pepper,
    params: HashParams,
    argon2_params: Params,
}

impl fmt::Debug for IdentityHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityHasher")
            .field("pepper", &self.pepper)
            .field("params", &self.params)
            .finish()
    }
}

impl IdentityHasher {
    /// A hasher with this pepper and these Argon2id costs.
    pub fn new(pepper: Pepper, params: HashParams) -> Result<Self, ParamsError> {
        let argon2_params = params.argon2_params()?;
        Ok(Self {
            pepper,
            params,
            argon2_params,
        })
    }

    /// The Argon2id costs in use.
    pub fn params(&self) -> HashParams {
        self.params
    }

    pub(crate) fn argon2(&self) -> Argon2<'_> {
        self.argon2_with(self.argon2_params.clone())
    }

    pub(crate) fn argon2_with(&self, params: Params) -> Argon2<'_> {
        // The secret is 32 bytes, far below Argon2's limit, so this
        // cannot fail.
        Argon2::new_with_secret(
            self.pepper.as_bytes(),
            Algorithm::Argon2id,
            Version::V0x13,
            params,
        )
        .expect("a 32-byte Argon2 secret is always accepted")
    }

    /// Memory for one hash, to reuse across [`Self::document_key_with`].
    pub(crate) fn memory(&self) -> Vec<Block> {
        vec![Block::default(); self.argon2_params.block_count()]
    }

    /// The document key of a citizen of `jurisdiction`: Argon2id (v1.3,
    /// the pepper as secret key, salt [`jurisdiction_salt`], 32-byte output)
    /// of the normalised document number and the date of birth. The same
    /// inputs always give the same key, so the server can look a citizen
    /// up by it; without the pepper nobody can compute it.
    ///
    /// `document_number` is normalised ([`normalise_document_number`]),
    /// `date_of_birth` must be `YYYY-MM-DD` ([`parse_date_of_birth`]).
    pub fn document_key(
        &self,
        jurisdiction: &str,
        document_number: &str,
        date_of_birth: &str,
    ) -> Result<[u8; DOCUMENT_KEY_LEN], InputError> {
        check_jurisdiction(jurisdiction)?;
        let doc = Zeroizing::new(normalise_document_number(document_number)?);
        let dob = parse_date_of_birth(date_of_birth)?;
        let salt = jurisdiction_salt(jurisdiction);
        let mut memory = self.memory();
        Ok(self.document_key_with(&salt, &doc, dob, &mut memory))
    }

    /// [`Self::document_key`] of already normalised and checked data.
    pub(crate) fn document_key_with(
        &self,
        salt: &[u8; SALT_LEN],
        normalised_document_number: &str,
        date_of_birth: Date,
        memory: &mut [Block],
    ) -> [u8; DOCUMENT_KEY_LEN] {
        let pwd = document_password(normalised_document_number, date_of_birth);
        let mut out = [0u8; DOCUMENT_KEY_LEN];
        self.argon2()
            .hash_password_into_with_memory(&pwd, salt, &mut out, memory)
            .expect(
                "checked parameters, 16-byte salt, 32-byte output and sized memory are accepted",
            );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn hasher() -> IdentityHasher {
        IdentityHasher::new(
            Pepper::from_bytes([7; 32]).unwrap(),
            HashParams::fast_for_tests(),
        )
        .unwrap()
    }

    #[test]
    fn normalisation() {
        let n = |s: &str| normalise_document_number(s);
        assert_eq!(n("4508 123456").unwrap(), "4508123456");
        assert_eq!(n(" 45-08\u{a0}123\u{2014}456 ").unwrap(), "4508123456");
        assert_eq!(n("ab12").unwrap(), "AB12");
        // Cyrillic look-alikes fold to Latin; other Cyrillic letters stay.
        assert_eq!(n("IV-ВА 123456").unwrap(), n("iv-BA 123456").unwrap());
        assert_eq!(n("IV-ЯЖ 123456").unwrap(), "IVЯЖ123456");
        assert_eq!(n("ёж").unwrap(), "ЁЖ");
        assert_eq!(n(""), Err(InputError::DocumentNumberEmpty));
        assert_eq!(n(" - "), Err(InputError::DocumentNumberEmpty));
        assert_eq!(
            n("45/08").unwrap_err().to_string(),
            "document_number: character '/' at position 3 is not allowed (only letters and digits; spaces and dashes are ignored)"
        );
        assert_eq!(
            n("4508_1").unwrap_err(),
            InputError::DocumentNumberCharacter {
                ch: '_',
                position: 5
            }
        );
        assert!(n(&"1".repeat(40)).is_ok());
        assert_eq!(
            n(&"1".repeat(41)).unwrap_err().to_string(),
            "document_number is too long: 41 characters, at most 40"
        );
        assert_eq!(
            n(&" ".repeat(101)).unwrap_err(),
            InputError::DocumentNumberTooLong { got: 101, max: 100 }
        );
        // Combining marks are not letters: a decomposed Й is refused.
        assert!(n("И\u{306}").is_err());
    }

    #[test]
    fn dates_of_birth() {
        assert_eq!(
            parse_date_of_birth("1990-02-28").unwrap(),
            Date::new(1990, 2, 28).unwrap()
        );
        assert!(parse_date_of_birth("2000-02-29").is_ok());
        assert_eq!(
            parse_date_of_birth("1990-02-30"),
            Err(InputError::DateOfBirthNotADate)
        );
        assert_eq!(
            parse_date_of_birth("1990-13-01"),
            Err(InputError::DateOfBirthNotADate)
        );
        for bad in [
            "30.02.1990",
            "1990-2-28",
            " 1990-02-28",
            "1990/02/28",
            "",
            "19900228",
        ] {
            assert_eq!(
                parse_date_of_birth(bad),
                Err(InputError::DateOfBirthFormat),
                "{bad}"
            );
        }
        assert_eq!(
            parse_date_of_birth("1899-12-31"),
            Err(InputError::DateOfBirthTooEarly)
        );
    }

    #[test]
    fn document_key_is_deterministic_and_separated() {
        let h = hasher();
        let k = h
            .document_key("moscow", "4508 123456", "1990-02-28")
            .unwrap();
        assert_eq!(
            k,
            h.document_key("moscow", "45-08-123456", "1990-02-28")
                .unwrap()
        );
        // Another jurisdiction, document, date or pepper: another key.
        assert_ne!(
            k,
            h.document_key("tver", "4508 123456", "1990-02-28").unwrap()
        );
        assert_ne!(
            k,
            h.document_key("moscow", "4508 123457", "1990-02-28")
                .unwrap()
        );
        assert_ne!(
            k,
            h.document_key("moscow", "4508 123456", "1990-02-27")
                .unwrap()
        );
        let other = IdentityHasher::new(Pepper::generate(), HashParams::fast_for_tests()).unwrap();
        assert_ne!(
            k,
            other
                .document_key("moscow", "4508 123456", "1990-02-28")
                .unwrap()
        );
        // The exact construction, spelled out with the argon2 crate.
        let salt = &blake3::derive_key("veche roll salt v1", b"moscow")[..16];
        let mut pwd = vec![0, 0, 0, 10];
        pwd.extend_from_slice(b"45081234561990-02-28");
        let params = Params::new(64, 1, 1, Some(32)).unwrap();
        let a =
            Argon2::new_with_secret(&[7; 32], Algorithm::Argon2id, Version::V0x13, params).unwrap();
        let mut expected = [0u8; 32];
        a.hash_password_into(&pwd, salt, &mut expected).unwrap();
        assert_eq!(k, expected);
        // Known answers, also in specs/roll.md.
        assert_eq!(
            hex::encode(jurisdiction_salt("moscow")),
            "a8b6735580f6c1ba4196be5604e72ffa"
        );
        assert_eq!(
            hex::encode(k),
            "c464dd15f02f39f71041e3b9fb360868b667d7664b283bb5a90a75d3dbe95c3e"
        );
        assert_eq!(
            h.document_key("Moscow", "1", "1990-01-01")
                .unwrap_err()
                .code(),
            "jurisdiction"
        );
        assert_eq!(
            h.document_key("moscow", "1", "01.01.1990").unwrap_err(),
            InputError::DateOfBirthFormat
        );
    }

    #[test]
    fn params_are_checked() {
        let p = || Pepper::generate();
        assert!(IdentityHasher::new(p(), HashParams::production()).is_ok());
        assert_eq!(HashParams::default(), HashParams::production());
        let bad = HashParams {
            m_kib: 4,
            t: 1,
            p: 1,
        };
        assert!(
            IdentityHasher::new(p(), bad)
                .unwrap_err()
                .to_string()
                .starts_with("invalid Argon2id parameters: m_kib=4, t=1, p=1:")
        );
        assert!(
            IdentityHasher::new(
                p(),
                HashParams {
                    t: 0,
                    ..HashParams::production()
                }
            )
            .is_err()
        );
        assert!(
            IdentityHasher::new(
                p(),
                HashParams {
                    p: 0,
                    ..HashParams::production()
                }
            )
            .is_err()
        );
        assert!(
            IdentityHasher::new(
                p(),
                HashParams {
                    m_kib: MAX_M_KIB + 1,
                    ..HashParams::production()
                }
            )
            .is_err()
        );
        let h = hasher();
        let dbg = format!("{h:?}");
        assert!(
            dbg.contains("<redacted>") && dbg.contains("m_kib: 64"),
            "{dbg}"
        );
    }
}
