//! One-time enrolment codes: `id.secret`, the secret stored only as an
//! Argon2id PHC string.

use std::fmt;

use argon2::Params;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::hash::IdentityHasher;

/// Crockford's base32 alphabet: digits and capitals without I, L, O, U.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of the id (50 bits).
pub const ID_CHARS: usize = 10;
/// Characters of the secret (100 bits).
pub const SECRET_CHARS: usize = 20;
/// Length of the random Argon2 salt of a stored code, in bytes.
pub const CODE_SALT_LEN: usize = 16;
/// Largest Argon2 memory cost [`verify`] accepts from a stored hash, in
/// KiB (256 MiB), so a corrupted row cannot make verification explode.
pub const VERIFY_MAX_M_KIB: u32 = 256 * 1024;
/// Largest Argon2 time cost [`verify`] accepts from a stored hash.
pub const VERIFY_MAX_T: u32 = 16;

/// A one-time enrolment code, `id.secret`: a 10-character id (50 random
/// bits, stored in plain to find the code) and a 20-character secret (100
/// random bits, stored only as an Argon2id hash), both in Crockford base32,
/// e.g. `5M2K8Q0W3R.HB7T1C9XQ4ZP6NF2D8GV`.
///
/// Shown once to the registrar (for a letter or a counter) and then
/// forgotten. `Display` gives the canonical form, [`Self::grouped`] a form
/// easier to copy by hand; `Debug` hides the secret. The secret is zeroed
/// when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrolmentCode {
    id: String,
    secret: Zeroizing<String>,
}

/// What the server stores for an enrolment code: the id and an Argon2id
/// PHC string of the whole code (with a random salt and the pepper as
/// Argon2's secret key). Expiry and single use are columns next to it,
/// the server's business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredCode {
    /// The code's id, canonical (10 Crockford base32 capitals).
    pub id: String,
    /// `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`.
    pub secret_hash: String,
}

/// Why [`EnrolmentCode::parse`] refused a code. Messages never contain the
/// secret (at most one character that cannot be part of any code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Nothing but spaces and dashes.
    #[error("the enrolment code is empty")]
    Empty,
    /// No `.` between id and secret.
    #[error("the enrolment code has no '.' between its two parts")]
    MissingDot,
    /// More than one `.`.
    #[error("the enrolment code has more than one '.'")]
    ExtraDot,
    /// A character outside the alphabet (and not a space or dash).
    #[error(
        "the enrolment code has {ch:?} at position {position}, which is not used in codes (letters and digits only, no U)"
    )]
    InvalidCharacter {
        /// The character.
        ch: char,
        /// Its position in the input, counting characters from 1.
        position: usize,
    },
    /// The part before the `.` does not have 10 characters.
    #[error("the first part of the enrolment code has {got} characters, expected {ID_CHARS}")]
    IdLength {
        /// Characters found (not counting spaces and dashes).
        got: usize,
    },
    /// The part after the `.` does not have 20 characters.
    #[error("the second part of the enrolment code has {got} characters, expected {SECRET_CHARS}")]
    SecretLength {
        /// Characters found (not counting spaces and dashes).
        got: usize,
    },
}

impl CodeError {
    /// Stable machine-readable code, e.g. `"code_missing_dot"`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "code_empty",
            Self::MissingDot => "code_missing_dot",
            Self::ExtraDot => "code_extra_dot",
            Self::InvalidCharacter { .. } => "code_invalid_character",
            Self::IdLength { .. } => "code_id_length",
            Self::SecretLength { .. } => "code_secret_length",
        }
    }
}

/// The value of a Crockford base32 character, with its aliases: either
/// case, `I`/`L` → 1, `O` → 0.
fn crockford_value(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'I' | 'L' => '1',
        'O' => '0',
        c => c,
    };
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == c)
        .map(|p| p as u8)
}

fn random_chars(n: usize) -> Zeroizing<String> {
    let mut bytes = Zeroizing::new(vec![0u8; n]);
    OsRng.fill_bytes(&mut bytes);
    // 256 is a multiple of 32, so the low 5 bits are uniform.
    Zeroizing::new(
        bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 0x1f)]))
            .collect(),
    )
}

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}'
        )
}

impl EnrolmentCode {
    /// A new random code and what to store for it (hashed with `hasher`'s
    /// pepper and cost). Show the code once; store only the
    /// [`StoredCode`].
    pub fn generate(hasher: &IdentityHasher) -> (EnrolmentCode, StoredCode) {
        let code = EnrolmentCode {
            id: random_chars(ID_CHARS).to_string(),
            secret: random_chars(SECRET_CHARS),
        };
        let stored = code.store(hasher);
        (code, stored)
    }

    /// Hashes this code for storage: Argon2id PHC string of the canonical
    /// code (`ID.SECRET`), a fresh random 16-byte salt, the pepper as
    /// secret key.
    pub fn store(&self, hasher: &IdentityHasher) -> StoredCode {
        let mut salt = [0u8; CODE_SALT_LEN];
        OsRng.fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt length");
        let phc = hasher
            .argon2()
            .hash_password(self.canonical().as_bytes(), &salt)
            .expect("checked parameters and a 16-byte salt are accepted")
            .to_string();
        StoredCode {
            id: self.id.clone(),
            secret_hash: phc,
        }
    }

    /// Parses a code as a person may type it: either case, spaces and
    /// dashes anywhere are ignored, and Crockford's aliases are read
    /// (`I`, `L` as 1, `O` as 0). Otherwise strict: exactly one `.`, 10
    /// characters before it and 20 after, nothing else.
    pub fn parse(input: &str) -> Result<EnrolmentCode, CodeError> {
        let mut id = Zeroizing::new(String::with_capacity(ID_CHARS));
        let mut secret = Zeroizing::new(String::with_capacity(SECRET_CHARS));
        let (mut id_len, mut secret_len) = (0usize, 0usize);
        let mut dots = 0;
        let mut any = false;
        for (i, c) in input.chars().enumerate() {
            if is_separator(c) {
                continue;
            }
            any = true;
            if c == '.' {
                dots += 1;
                if dots > 1 {
                    return Err(CodeError::ExtraDot);
                }
                continue;
            }
            let Some(v) = crockford_value(c) else {
                return Err(CodeError::InvalidCharacter {
                    ch: c,
                    position: i + 1,
                });
            };
            let (part, len) = if dots == 0 {
                (&mut *id, &mut id_len)
            } else {
                (&mut *secret, &mut secret_len)
            };
            *len += 1;
            // Keep at most what a valid code has; the lengths are checked below.
            if *len <= SECRET_CHARS {
                part.push(char::from(ALPHABET[usize::from(v)]));
            }
        }
        if !any {
            return Err(CodeError::Empty);
        }
        if dots == 0 {
            return Err(CodeError::MissingDot);
        }
        if id_len != ID_CHARS {
            return Err(CodeError::IdLength { got: id_len });
        }
        if secret_len != SECRET_CHARS {
            return Err(CodeError::SecretLength { got: secret_len });
        }
        let id = id.to_string();
        Ok(EnrolmentCode { id, secret })
    }

    /// The id part (not secret: it is stored in plain to find the code).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `ID.SECRET`, the canonical form.
    pub fn canonical(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{}.{}", self.id, self.secret.as_str()))
    }

    /// The code in groups of five for printing on a letter:
    /// `5M2K8-Q0W3R.HB7T1-C9XQ4-ZP6NF-2D8GV` ([`Self::parse`] reads it).
    pub fn grouped(&self) -> Zeroizing<String> {
        let group = |s: &str| {
            s.as_bytes()
                .chunks(5)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("-")
        };
        Zeroizing::new(format!("{}.{}", group(&self.id), group(&self.secret)))
    }
}

impl fmt::Display for EnrolmentCode {
    /// The canonical form `ID.SECRET`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.id, self.secret.as_str())
    }
}

impl fmt::Debug for EnrolmentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrolmentCode")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl std::str::FromStr for EnrolmentCode {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Whether `code` is the code `stored` was made from, under `hasher`'s
/// pepper. The Argon2id cost is the one recorded in the stored hash (so
/// codes issued before a cost change still verify), within
/// [`VERIFY_MAX_M_KIB`] and [`VERIFY_MAX_T`]. The whole comparison is
/// constant-time in the secret: the Argon2id hash is always computed and
/// compared in constant time, the ids with [`subtle`].
///
/// Expiry and single use are not checked here: the server keeps them next
/// to the stored code and checks and marks them in the same transaction
/// that claims the record.
pub fn verify(stored: &StoredCode, code: &EnrolmentCode, hasher: &IdentityHasher) -> bool {
    let id_ok: bool = stored.id.as_bytes().ct_eq(code.id.as_bytes()).into();
    let Ok(phc) = PasswordHash::new(&stored.secret_hash) else {
        return false;
    };
    if phc.algorithm.as_str() != "argon2id" {
        return false;
    }
    let Ok(params) = Params::try_from(&phc) else {
        return false;
    };
    if params.m_cost() > VERIFY_MAX_M_KIB || params.t_cost() > VERIFY_MAX_T {
        return false;
    }
    let hash_ok = hasher
        .argon2_with(params)
        .verify_password(code.canonical().as_bytes(), &phc)
        .is_ok();
    id_ok & hash_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HashParams, Pepper, test_hasher};

    #[test]
    fn generated_codes_have_the_format_and_verify() {
        let h = test_hasher();
        let (code, stored) = EnrolmentCode::generate(&h);
        let s = code.to_string();
        assert_eq!(s.len(), 31);
        assert_eq!(&s[10..11], ".");
        assert!(
            s.bytes()
                .filter(|&b| b != b'.')
                .all(|b| ALPHABET.contains(&b))
        );
        assert_eq!(stored.id, code.id());
        assert!(
            stored
                .secret_hash
                .starts_with("$argon2id$v=19$m=64,t=1,p=1$")
        );
        assert!(!stored.secret_hash.contains(&s[11..]));
        assert!(verify(&stored, &code, &h));
        let (other, other_stored) = EnrolmentCode::generate(&h);
        assert_ne!(code, other);
        assert!(!verify(&stored, &other, &h));
        assert!(!verify(&other_stored, &code, &h));
        // The same code stored twice: different salts, both verify.
        let again = code.store(&h);
        assert_ne!(again.secret_hash, stored.secret_hash);
        assert!(verify(&again, &code, &h));
    }

    #[test]
    fn verification_needs_the_pepper_and_the_right_id() {
        let h = test_hasher();
        let (code, stored) = EnrolmentCode::generate(&h);
        let other_pepper =
            IdentityHasher::new(Pepper::generate(), HashParams::fast_for_tests()).unwrap();
        assert!(!verify(&stored, &code, &other_pepper));
        // Costs are read from the stored hash, not the hasher.
        let costlier = IdentityHasher::new(
            Pepper::from_bytes([7; 32]).unwrap(),
            HashParams {
                m_kib: 128,
                t: 2,
                p: 1,
            },
        )
        .unwrap();
        assert!(verify(&stored, &code, &costlier));
        let swapped = StoredCode {
            id: "0000000000".into(),
            ..stored.clone()
        };
        assert!(!verify(&swapped, &code, &h));
        // A code with the stored id but another secret.
        let forged = EnrolmentCode::parse(&format!("{}.{}", code.id(), "0".repeat(20))).unwrap();
        assert!(!verify(&stored, &forged, &h));
        for bad in [
            String::new(),
            "not a phc string".into(),
            stored.secret_hash.replace("argon2id", "argon2i"),
            stored.secret_hash.replace("m=64", "m=1048576"),
            stored.secret_hash.replace("t=1", "t=17"),
            // The hash's last character changed (to 'A', or 'B' when it
            // already is 'A': the salt is random, so it sometimes is).
            {
                let (head, last) = stored.secret_hash.split_at(stored.secret_hash.len() - 1);
                format!("{head}{}", if last == "A" { "B" } else { "A" })
            },
        ] {
            let s = StoredCode {
                secret_hash: bad.clone(),
                ..stored.clone()
            };
            assert!(!verify(&s, &code, &h), "{bad}");
        }
    }

    #[test]
    fn parse_is_tolerant_of_typing_and_strict_otherwise() {
        let c = EnrolmentCode::parse("5M2K8Q0W3R.HB7T1C9XQ4ZP6NF2D8GV").unwrap();
        assert_eq!(c.id(), "5M2K8Q0W3R");
        assert_eq!(c.to_string(), "5M2K8Q0W3R.HB7T1C9XQ4ZP6NF2D8GV");
        assert_eq!(*c.grouped(), "5M2K8-Q0W3R.HB7T1-C9XQ4-ZP6NF-2D8GV");
        for typed in [
            "5m2k8q0w3r.hb7t1c9xq4zp6nf2d8gv",
            "5M2K8-Q0W3R.HB7T1-C9XQ4-ZP6NF-2D8GV",
            " 5m2k8 q0w3r . hb7t1 c9xq4 zp6nf 2d8gv\n",
            "5M2K8QOW3R.HB7TIC9XQ4ZP6NF2D8GV", // O for 0, I for 1
            "5M2K8Q0W3R.HB7TlC9XQ4ZP6NF2D8GV", // l for 1
            "5M2K8\u{2013}Q0W3R.HB7T1C9XQ4ZP6NF2D8GV",
        ] {
            assert_eq!(EnrolmentCode::parse(typed).unwrap(), c, "{typed:?}");
        }
        let e = |s: &str| EnrolmentCode::parse(s).unwrap_err();
        assert_eq!(e(""), CodeError::Empty);
        assert_eq!(e(" - "), CodeError::Empty);
        assert_eq!(e("5M2K8Q0W3RHB7T1C9XQ4ZP6NF2D8GV"), CodeError::MissingDot);
        assert_eq!(e("5M2K8.Q0W3R.HB7T1C9XQ4ZP6NF2D8GV"), CodeError::ExtraDot);
        assert_eq!(
            e("5M2K8Q0W3.HB7T1C9XQ4ZP6NF2D8GV"),
            CodeError::IdLength { got: 9 }
        );
        assert_eq!(
            e("5M2K8Q0W3RR.HB7T1C9XQ4ZP6NF2D8GV"),
            CodeError::IdLength { got: 11 }
        );
        assert_eq!(
            e("5M2K8Q0W3R.HB7T1C9XQ4ZP6NF2D8G"),
            CodeError::SecretLength { got: 19 }
        );
        assert_eq!(
            e(&format!("5M2K8Q0W3R.{}", "A".repeat(500))),
            CodeError::SecretLength { got: 500 }
        );
        assert_eq!(
            e("5M2K8Q0W3R.HB7T1C9XQ4ZP6NF2D8GU"),
            CodeError::InvalidCharacter {
                ch: 'U',
                position: 31
            }
        );
        assert_eq!(
            e("5M2K8Q0W3R_HB7T1C9XQ4ZP6NF2D8GV").to_string(),
            "the enrolment code has '_' at position 11, which is not used in codes (letters and digits only, no U)"
        );
        assert_eq!(
            e("5M2K8Q0W3R.HB7T1C9XQ4ZP6NF2D8GЖ").code(),
            "code_invalid_character"
        );
        assert_eq!(
            e("5M2K8Q0W3R.HB7T1C9XQ4ZP6NF2D8G").to_string(),
            "the second part of the enrolment code has 19 characters, expected 20"
        );
        assert_eq!(
            "5M2K8Q0W3R.HB7T1C9XQ4ZP6NF2D8GV"
                .parse::<EnrolmentCode>()
                .unwrap(),
            c
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = EnrolmentCode::parse("5M2K8Q0W3R.HB7T1C9XQ4ZP6NF2D8GV").unwrap();
        assert_eq!(
            format!("{c:?}"),
            "EnrolmentCode { id: \"5M2K8Q0W3R\", secret: \"<redacted>\" }"
        );
    }

    #[test]
    fn stored_code_json() {
        let s = StoredCode {
            id: "5M2K8Q0W3R".into(),
            secret_hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA".into(),
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(serde_json::from_value::<StoredCode>(v).unwrap(), s);
    }
}
