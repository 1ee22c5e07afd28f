//! Error types: [`DecodeError`] (with the byte offset of the problem),
//! [`EncodeError`] and [`ValidationError`].

use std::fmt;

use crate::MAX_ENTRY_SIZE;

/// A value that is well-formed on the wire but breaks a rule of its field
/// (a range, a character class, a length in characters, ...).
///
/// `field` names the field as in the JSON form (`"population"`; nested
/// fields are named by path, `"actor.pseudonym"`, and later kinds may use
/// `"options[2].text"`); `message` says what
/// the rule is and, where useful, what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {field}: {message}")]
pub struct ValidationError {
    /// The field, as named in the JSON form.
    pub field: String,
    /// What is wrong, e.g. `must be ≥ 1`.
    pub message: String,
}

impl ValidationError {
    /// A validation error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why [`crate::Entry::decode`] rejected its input, and where.
///
/// Displayed as `offset N: <what>`, e.g.
/// `offset 11: field id: string length 4000000 exceeds remaining 20 bytes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("offset {offset}: {kind}")]
pub struct DecodeError {
    /// Byte offset into the entry where the problem is: the first byte of
    /// the offending field (or of its length prefix), the exact byte for
    /// invalid UTF-8 or a control character, the end of the payload for
    /// trailing bytes, [`MAX_ENTRY_SIZE`] for an oversized entry.
    pub offset: usize,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    /// Stable machine-readable code of the error kind (used by the test
    /// vectors in `specs/vectors/entries-v1.json`).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

/// What is wrong with an entry that failed to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The entry is longer than [`MAX_ENTRY_SIZE`] bytes.
    EntryTooLarge {
        /// The entry's length.
        len: usize,
    },
    /// The input ends in the middle of a fixed-width field.
    UnexpectedEnd {
        /// Field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the input.
        remaining: usize,
    },
    /// Envelope version other than 1.
    UnsupportedVersion(u8),
    /// Kind number not in the registry.
    UnknownKind(u16),
    /// A string's length prefix points past the end of the input.
    LengthPastEnd {
        /// Field being read.
        field: &'static str,
        /// The declared length in bytes.
        len: u64,
        /// Bytes left after the length prefix.
        remaining: usize,
    },
    /// A list's count is larger than the bytes left (every item takes at
    /// least one byte).
    CountPastEnd {
        /// Field being read.
        field: &'static str,
        /// The declared item count.
        count: u64,
        /// Bytes left after the count.
        remaining: usize,
    },
    /// String bytes are not valid UTF-8 (the offset is the first bad byte).
    InvalidUtf8 {
        /// Field being read.
        field: &'static str,
    },
    /// A string contains a control character (Unicode category Cc) other
    /// than U+000A (the offset is the character's first byte).
    ControlChar {
        /// Field being read.
        field: &'static str,
        /// The character.
        ch: char,
    },
    /// A bool byte other than 0x00 or 0x01.
    InvalidBool {
        /// Field being read.
        field: &'static str,
        /// The byte found.
        byte: u8,
    },
    /// An optional's presence byte other than 0x00 or 0x01.
    InvalidOptionTag {
        /// Field being read.
        field: &'static str,
        /// The byte found.
        byte: u8,
    },
    /// A one-byte code not assigned in its field's table (an actor's staff
    /// role other than 1..=5).
    InvalidEnum {
        /// Field being read.
        field: &'static str,
        /// The byte found.
        byte: u8,
        /// What the byte should be, e.g. `a staff role code (1 admin, …)`.
        expected: &'static str,
    },
    /// Year/month/day that is not a calendar date in 0001-01-01..=9999-12-31.
    InvalidDate {
        /// Field being read.
        field: &'static str,
        /// Year as encoded.
        year: u16,
        /// Month as encoded.
        month: u8,
        /// Day as encoded.
        day: u8,
    },
    /// Bytes left over after the payload.
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// Well-formed, but a field breaks its rule.
    Invalid(ValidationError),
}

impl DecodeErrorKind {
    /// Stable machine-readable code, e.g. `"unknown_kind"`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EntryTooLarge { .. } => "entry_too_large",
            Self::UnexpectedEnd { .. } => "unexpected_end",
            Self::UnsupportedVersion(_) => "unsupported_version",
            Self::UnknownKind(_) => "unknown_kind",
            Self::LengthPastEnd { .. } => "length_past_end",
            Self::CountPastEnd { .. } => "count_past_end",
            Self::InvalidUtf8 { .. } => "invalid_utf8",
            Self::ControlChar { .. } => "control_char",
            Self::InvalidBool { .. } => "invalid_bool",
            Self::InvalidOptionTag { .. } => "invalid_option_tag",
            Self::InvalidEnum { .. } => "invalid_enum",
            Self::InvalidDate { .. } => "invalid_date",
            Self::TrailingBytes { .. } => "trailing_bytes",
            Self::Invalid(_) => "invalid_field",
        }
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EntryTooLarge { len } => write!(
                f,
                "entry is {len} bytes, exceeds maximum {MAX_ENTRY_SIZE} bytes"
            ),
            Self::UnexpectedEnd {
                field,
                needed,
                remaining,
            } => write!(
                f,
                "field {field}: needs {}, only {remaining} left",
                bytes(*needed)
            ),
            Self::UnsupportedVersion(v) => write!(f, "unsupported version {v} (expected 1)"),
            Self::UnknownKind(k) => write!(f, "unknown kind 0x{k:04x}"),
            Self::LengthPastEnd {
                field,
                len,
                remaining,
            } => write!(
                f,
                "field {field}: string length {len} exceeds remaining {}",
                bytes(*remaining)
            ),
            Self::CountPastEnd {
                field,
                count,
                remaining,
            } => write!(
                f,
                "field {field}: list count {count} exceeds remaining {}",
                bytes(*remaining)
            ),
            Self::InvalidUtf8 { field } => write!(f, "field {field}: invalid UTF-8"),
            Self::ControlChar { field, ch } => write!(
                f,
                "field {field}: control character U+{:04X} not allowed",
                u32::from(*ch)
            ),
            Self::InvalidBool { field, byte } => write!(
                f,
                "field {field}: bool byte 0x{byte:02x} is not 0x00 or 0x01"
            ),
            Self::InvalidOptionTag { field, byte } => write!(
                f,
                "field {field}: optional presence byte 0x{byte:02x} is not 0x00 or 0x01"
            ),
            Self::InvalidEnum {
                field,
                byte,
                expected,
            } => write!(f, "field {field}: byte 0x{byte:02x} is not {expected}"),
            Self::InvalidDate {
                field,
                year,
                month,
                day,
            } => write!(
                f,
                "field {field}: {year:04}-{month:02}-{day:02} is not a valid date"
            ),
            Self::TrailingBytes { count } => {
                write!(f, "trailing {} after payload", bytes(*count))
            }
            Self::Invalid(e) => e.fmt(f),
        }
    }
}

/// `1 byte`, `2 bytes`.
fn bytes(n: usize) -> String {
    if n == 1 {
        "1 byte".to_owned()
    } else {
        format!("{n} bytes")
    }
}

/// Why [`crate::Entry::encode`] refused to encode a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A field breaks its rule; nothing was encoded.
    #[error("invalid entry: {0}")]
    Invalid(#[from] ValidationError),
    /// The encoding would exceed [`MAX_ENTRY_SIZE`] bytes.
    #[error("encoded entry would be {len} bytes, exceeds maximum {MAX_ENTRY_SIZE} bytes")]
    TooLarge {
        /// The length the encoding would have had.
        len: usize,
    },
}
