//! `veche-entry`: the versioned, canonical, byte-exact binary encoding of
//! Veche transparency-log entries, shared by the server (which writes them)
//! and the standalone verifier (which decodes every one).
//!
//! This crate owns:
//! - the entry envelope and its version ([`Entry`], [`VERSION`]);
//! - the field encodings ([`Writer`], [`Reader`]) and the rule that every
//!   value has exactly one encoding: [`Entry::decode`] accepts only bytes
//!   that [`Entry::encode`] produces, so `encode(decode(b)) == b`;
//! - the kind registry ([`EntryKind`], [`Payload`]) and each kind's fields
//!   and validation ([`kinds`]), and field types shared by kinds ([`Actor`],
//!   the staff member an entry is attributed to);
//! - the JSON form of entries served by the API;
//! - small pure folds of entries into state ([`Jurisdictions`], [`Rolls`]).
//!
//! It does not own hashing, the Merkle tree, tiles, checkpoints or storage:
//! the log's leaf hash of an entry is `SHA-256(0x00 ‖ entry bytes)`, computed
//! by the log crate. The normative description, with test vectors, is
//! `specs/entries.md`.
//!
//! ```
//! use veche_entry::{Date, Entry, Jurisdiction};
//!
//! let entry = Entry::new(
//!     1_795_442_400_000, // 2026-11-23T14:00:00.000Z
//!     Jurisdiction {
//!         id: "kaliningrad-oblast".into(),
//!         name_ru: "Калининградская область".into(),
//!         name_en: "Kaliningrad Oblast".into(),
//!         population: 1_032_000,
//!         population_source: "Rosstat, estimate as of 1 January 2024".into(),
//!         population_date: Date::new(2024, 1, 1)?,
//!         legislature_ru: "Законодательное Собрание Калининградской области".into(),
//!         legislature_en: "Legislative Assembly of Kaliningrad Oblast".into(),
//!     },
//! );
//! let bytes = entry.encode()?;
//! assert_eq!(Entry::decode(&bytes)?, entry);
//! assert_eq!(entry.kind_name(), "jurisdiction");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod actor;
mod codec;
mod error;
mod json;
pub mod kinds;
mod payload;
mod state;
mod time;
pub mod validate;

pub use actor::{Actor, PSEUDONYM_MAX_BYTES, PSEUDONYM_MIN_BYTES, StaffRole, UnknownStaffRole};
pub use codec::{Reader, Writer, is_allowed_string_char};
pub use error::{DecodeError, DecodeErrorKind, EncodeError, ValidationError};
pub use kinds::jurisdiction::Jurisdiction;
pub use kinds::pb::{
    CostedProject, Location, MONEY_MAX, PB_PROJECTS_MAX, PbBallot, PbProjectProposed,
    PbProjectReviewed, PbResult, PbRoundOpened, PbRule, PbVotingOpened, Verdict,
};
pub use kinds::petition::{
    CloseReason, ConsiderationScheduled, Decision, PetitionAcknowledged, PetitionAnswered,
    PetitionClosed, PetitionDelivered, PetitionFiled, PetitionOpened, PetitionRejected,
    PetitionRules, Signature, SignatureInvalidated, ThresholdReached,
};
pub use kinds::poll::{
    POLL_OPTIONS_MAX, POLL_OPTIONS_MIN, PollBallot, PollClosed, PollMethod, PollOpened, PollOption,
};
pub use kinds::roll_version::RollVersion;
pub use payload::{EntryKind, Payload};
pub use state::{JurisdictionRecord, Jurisdictions, RollRecord, Rolls};
pub use time::{Date, InvalidDate, MAX_TIMESTAMP_MS, add_months_ms, format_timestamp_ms};

/// The envelope version this crate writes and the only one it reads.
pub const VERSION: u8 = 1;

/// Largest encoded entry, in bytes: an entry must fit a C2SP tlog-tiles
/// entry bundle, which prefixes each entry with a u16 length.
pub const MAX_ENTRY_SIZE: usize = 65_535;

/// Length of the envelope header: version (1) + kind (2) + timestamp (8).
pub const HEADER_LEN: usize = 11;

/// One log entry: when it was made and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Milliseconds since the Unix epoch, UTC; at most
    /// [`MAX_TIMESTAMP_MS`] (9999-12-31T23:59:59.999Z).
    pub timestamp_ms: u64,
    /// The kind-specific content.
    pub payload: Payload,
}

impl Entry {
    /// An entry with the given timestamp and payload.
    pub fn new(timestamp_ms: u64, payload: impl Into<Payload>) -> Self {
        Self {
            timestamp_ms,
            payload: payload.into(),
        }
    }

    /// The kind number, e.g. 1.
    pub fn kind(&self) -> u16 {
        self.payload.kind()
    }

    /// The kind's name, e.g. `"jurisdiction"`.
    pub fn kind_name(&self) -> &'static str {
        self.payload.kind_name()
    }

    /// The timestamp in RFC 3339 form, `2026-11-23T14:00:00.000Z` (`None`
    /// only if it is past [`MAX_TIMESTAMP_MS`], which no valid entry is).
    pub fn timestamp_rfc3339(&self) -> Option<String> {
        format_timestamp_ms(self.timestamp_ms)
    }

    /// Checks the timestamp range and every field rule of the payload.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_timestamp(self.timestamp_ms)?;
        self.payload.validate()
    }

    /// The canonical encoding: validates, then writes the envelope and the
    /// payload. Fails if a rule is broken or the result would exceed
    /// [`MAX_ENTRY_SIZE`] bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        self.validate()?;
        let mut w = Writer::new();
        w.u8(VERSION);
        w.u16(self.payload.kind());
        w.u64(self.timestamp_ms);
        self.payload.encode_payload(&mut w);
        w.finish()
    }

    /// Decodes an entry, accepting only the canonical encoding of a valid
    /// entry. Checks, in this order: total size, version, kind, timestamp
    /// range, each payload field's encoding in order, trailing bytes, then
    /// the payload's field rules (reported at the offending field's offset).
    pub fn decode(bytes: &[u8]) -> Result<Entry, DecodeError> {
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(Reader::error_at(
                MAX_ENTRY_SIZE,
                DecodeErrorKind::EntryTooLarge { len: bytes.len() },
            ));
        }
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(Reader::error_at(
                0,
                DecodeErrorKind::UnsupportedVersion(version),
            ));
        }
        let kind = r.u16("kind")?;
        if Payload::name_of_kind(kind).is_none() {
            return Err(Reader::error_at(1, DecodeErrorKind::UnknownKind(kind)));
        }
        let timestamp_ms = r.u64("timestamp_ms")?;
        check_timestamp(timestamp_ms)
            .map_err(|e| Reader::error_at(3, DecodeErrorKind::Invalid(e)))?;
        // Payload validation errors name payload fields only.
        r.forget_fields();
        let payload = match Payload::decode_payload(kind, &mut r) {
            Some(p) => p?,
            None => return Err(Reader::error_at(1, DecodeErrorKind::UnknownKind(kind))),
        };
        r.finish()?;
        payload.validate().map_err(|e| r.invalid(e, HEADER_LEN))?;
        Ok(Entry {
            timestamp_ms,
            payload,
        })
    }
}

fn check_timestamp(ms: u64) -> Result<(), ValidationError> {
    if ms > MAX_TIMESTAMP_MS {
        return Err(ValidationError::new(
            "timestamp_ms",
            format!("must be ≤ {MAX_TIMESTAMP_MS} (9999-12-31T23:59:59.999Z), got {ms}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
