//! The server pepper: a 32-byte secret kept outside the database.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use rand_core::{OsRng, RngCore};
use zeroize::{Zeroize, Zeroizing};

/// Length of a pepper in bytes.
pub const PEPPER_LEN: usize = 32;

/// The server pepper: 32 random bytes, given to Argon2id as its secret key
/// for every hash this crate makes. Kept outside the database (a file or an
/// environment variable), so a leaked database alone cannot be used to test
/// guesses of document data or enrolment codes.
///
/// Never printed: `Debug` shows `Pepper(<redacted>)`, there is no `Display`
/// and no serde. Zeroed when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Pepper([u8; PEPPER_LEN]);

/// A pepper string could not be loaded. Messages never contain the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PepperError {
    /// Neither 64 hex digits nor base64 of 32 bytes.
    #[error(
        "pepper must be 64 hex digits or the base64 of 32 bytes (got {chars} characters that are neither)"
    )]
    Malformed {
        /// Length of the (trimmed) input in characters.
        chars: usize,
    },
    /// Decoded to a length other than 32 bytes.
    #[error("pepper must be 32 bytes, got {0}")]
    WrongLength(usize),
    /// All 32 bytes are zero: certainly not random.
    #[error("pepper is all zero bytes; generate one with Pepper::generate")]
    AllZero,
}

impl Pepper {
    /// 32 bytes from the operating system's random number generator.
    pub fn generate() -> Self {
        let mut bytes = [0u8; PEPPER_LEN];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The pepper with these bytes (refused if all zero).
    pub fn from_bytes(bytes: [u8; PEPPER_LEN]) -> Result<Self, PepperError> {
        if bytes == [0u8; PEPPER_LEN] {
            return Err(PepperError::AllZero);
        }
        Ok(Self(bytes))
    }

    /// Loads a pepper from 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, PepperError> {
        let s = s.trim();
        let mut bytes = Zeroizing::new([0u8; PEPPER_LEN]);
        if s.len() != 2 * PEPPER_LEN {
            return Err(PepperError::Malformed {
                chars: s.chars().count(),
            });
        }
        hex::decode_to_slice(s, bytes.as_mut()).map_err(|_| PepperError::Malformed {
            chars: s.chars().count(),
        })?;
        Self::from_bytes(*bytes)
    }

    /// Loads a pepper from base64 of 32 bytes: standard or URL-safe
    /// alphabet, with or without padding.
    pub fn from_base64(s: &str) -> Result<Self, PepperError> {
        let s = s.trim();
        let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(s).ok())
            .map(Zeroizing::new)
            .ok_or(PepperError::Malformed {
                chars: s.chars().count(),
            })?;
        let bytes: [u8; PEPPER_LEN] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| PepperError::WrongLength(decoded.len()))?;
        Self::from_bytes(bytes)
    }

    /// Loads a pepper from 64 hex digits or from base64, ignoring
    /// surrounding whitespace (such as the newline at the end of a file).
    pub fn parse(s: &str) -> Result<Self, PepperError> {
        let s = s.trim();
        if s.len() == 2 * PEPPER_LEN && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Self::from_hex(s)
        } else {
            Self::from_base64(s)
        }
    }

    /// The pepper as 64 lowercase hex digits, for writing a newly generated
    /// pepper to its secret file. Handle with care.
    pub fn expose_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    pub(crate) fn as_bytes(&self) -> &[u8; PEPPER_LEN] {
        &self.0
    }
}

impl Drop for Pepper {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_is_random_and_never_printed() {
        let a = Pepper::generate();
        let b = Pepper::generate();
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "Pepper(<redacted>)");
        let hex = a.expose_hex();
        assert_eq!(hex.len(), 64);
        assert!(!format!("{a:?}").contains(&hex[..8]));
    }

    #[test]
    fn loads_hex_and_base64() {
        let bytes: [u8; 32] = std::array::from_fn(|i| i as u8 + 1);
        let p = Pepper::from_bytes(bytes).unwrap();
        let hex_lower = hex::encode(bytes);
        assert_eq!(Pepper::parse(&hex_lower).unwrap(), p);
        assert_eq!(Pepper::parse(&hex_lower.to_uppercase()).unwrap(), p);
        assert_eq!(Pepper::parse(&format!("{hex_lower}\n")).unwrap(), p);
        assert_eq!(Pepper::from_hex(&hex_lower).unwrap(), p);
        for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
            let b64 = engine.encode(bytes);
            assert_eq!(Pepper::parse(&b64).unwrap(), p);
            assert_eq!(Pepper::from_base64(&format!(" {b64}\n")).unwrap(), p);
        }
        assert_eq!(*p.expose_hex(), hex_lower);
    }

    #[test]
    fn refuses_bad_input_without_echoing_it() {
        assert_eq!(
            Pepper::parse("secret-value!").unwrap_err().to_string(),
            "pepper must be 64 hex digits or the base64 of 32 bytes (got 13 characters that are neither)"
        );
        assert_eq!(
            Pepper::parse(&STANDARD.encode([7u8; 31])).unwrap_err(),
            PepperError::WrongLength(31)
        );
        assert_eq!(
            Pepper::parse(&"0".repeat(64)).unwrap_err(),
            PepperError::AllZero
        );
        assert!(Pepper::from_hex(&"g".repeat(64)).is_err());
        assert!(Pepper::from_hex("abcd").is_err());
        assert!(Pepper::parse("").is_err());
    }
}
