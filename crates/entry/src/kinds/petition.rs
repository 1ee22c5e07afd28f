//! Petition kinds (2 and 16–26): a jurisdiction's petition rules, and every
//! step of a petition's life — filed, opened or rejected by a moderator,
//! signed, its threshold reached, signatures invalidated, routed to the
//! legislature, acknowledged, scheduled, answered, closed.
//!
//! A petition is identified by the log index of its `petition_filed` entry;
//! every later entry names it in its `petition` field. The text itself is not
//! in the log (a moderator may have to hide unlawful text, and the log is
//! append-only): the log holds the BLAKE3 hash of the petition's content
//! document (`specs/petitions.md`), which anyone can check against the text
//! the service publishes. Whether an entry may follow the entries before it
//! (states, windows, nullifier uniqueness, the threshold rule) is decided by
//! the `veche-state` crate's fold, not here: this module fixes the bytes
//! and the per-field rules.

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, ValidationError};
use crate::kinds::jurisdiction::{ID_MAX_BYTES, POPULATION_MAX};
use crate::kinds::roll_version::hex32;
use crate::payload::EntryKind;
use crate::time::{Date, MAX_TIMESTAMP_MS};
use crate::validate;

/// Longest moderation or invalidation reason, in characters.
pub const REASON_MAX_CHARS: usize = 2_000;
/// Longest legislature answer text, in characters.
pub const ANSWER_MAX_CHARS: usize = 20_000;
/// Highest moderation rule number.
pub const RULE_MAX: u16 = 999;

/// Kind 2, `petition_rules`: how long petitions of a jurisdiction stay open
/// and how long its legislature has to acknowledge and to answer a petition
/// that reached the threshold. Applies to petitions opened (and thresholds
/// reached) after it; before any, the defaults of `specs/petitions.md`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PetitionRules {
    /// The jurisdiction (`id` of a `jurisdiction` entry).
    pub jurisdiction: String,
    /// Calendar months a petition stays open for signatures, 1..=24.
    pub open_months: u8,
    /// Days the legislature has to acknowledge receipt, 1..=365.
    pub acknowledge_days: u16,
    /// Days the legislature has to publish its decision, 1..=730.
    pub answer_days: u16,
    /// The registrar or administrator who set the rules.
    pub actor: Actor,
}

impl EntryKind for PetitionRules {
    const KIND: u16 = 2;
    const NAME: &'static str = "petition_rules";

    fn encode_payload(&self, w: &mut Writer) {
        w.str("jurisdiction", &self.jurisdiction);
        w.u8(self.open_months);
        w.u16(self.acknowledge_days);
        w.u16(self.answer_days);
        w.actor("actor", &self.actor);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            jurisdiction: r.string("jurisdiction")?,
            open_months: r.u8("open_months")?,
            acknowledge_days: r.u16("acknowledge_days")?,
            answer_days: r.u16("answer_days")?,
            actor: r.actor("actor")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::slug("jurisdiction", &self.jurisdiction, ID_MAX_BYTES)?;
        validate::range("open_months", self.open_months.into(), 1, 24)?;
        validate::range("acknowledge_days", self.acknowledge_days.into(), 1, 365)?;
        validate::range("answer_days", self.answer_days.into(), 1, 730)?;
        self.actor.validate("actor")
    }
}

/// Kind 16, `petition_filed`: an enrolled citizen filed a petition; it waits
/// for moderation. Its log index is the petition's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PetitionFiled {
    /// The jurisdiction whose legislature the petition addresses.
    pub jurisdiction: String,
    /// BLAKE3 of the petition's content document (title, text, attachment
    /// hashes; `specs/petitions.md`).
    #[serde(with = "hex32")]
    pub content: [u8; 32],
    /// The author's pseudonym for this petition: keyed BLAKE3 of the
    /// author's roll record and `content` under the server's nullifier key.
    /// Links nothing for the public; lets the service recognise the author.
    #[serde(with = "hex32")]
    pub author: [u8; 32],
}

impl EntryKind for PetitionFiled {
    const KIND: u16 = 16;
    const NAME: &'static str = "petition_filed";

    fn encode_payload(&self, w: &mut Writer) {
        w.str("jurisdiction", &self.jurisdiction);
        w.bytes32(&self.content);
        w.bytes32(&self.author);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            jurisdiction: r.string("jurisdiction")?,
            content: r.bytes32("content")?,
            author: r.bytes32("author")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::slug("jurisdiction", &self.jurisdiction, ID_MAX_BYTES)
    }
}

/// Kind 17, `petition_opened`: a moderator published the petition; it is
/// open for signatures until `closes_at_ms` (exclusive). Fixes what the
/// threshold is computed from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PetitionOpened {
    /// The petition (log index of its `petition_filed` entry).
    pub petition: u64,
    /// Its jurisdiction, as filed.
    pub jurisdiction: String,
    /// Its content hash, as filed.
    #[serde(with = "hex32")]
    pub content: [u8; 32],
    /// The jurisdiction's population when the petition opened.
    pub population: u64,
    /// When signing ends (exclusive), ms since the epoch.
    pub closes_at_ms: u64,
    /// The moderator.
    pub actor: Actor,
}

impl EntryKind for PetitionOpened {
    const KIND: u16 = 17;
    const NAME: &'static str = "petition_opened";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.petition);
        w.str("jurisdiction", &self.jurisdiction);
        w.bytes32(&self.content);
        w.u64(self.population);
        w.u64(self.closes_at_ms);
        w.actor("actor", &self.actor);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            petition: r.u64("petition")?,
            jurisdiction: r.string("jurisdiction")?,
            content: r.bytes32("content")?,
            population: r.u64("population")?,
            closes_at_ms: r.u64("closes_at_ms")?,
            actor: r.actor("actor")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::slug("jurisdiction", &self.jurisdiction, ID_MAX_BYTES)?;
        validate::range("population", self.population, 1, POPULATION_MAX)?;
        validate::range("closes_at_ms", self.closes_at_ms, 0, MAX_TIMESTAMP_MS)?;
        self.actor.validate("actor")
    }
}

/// Kind 18, `petition_rejected`: a moderator rejected the petition under a
/// numbered published rule, with a public reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PetitionRejected {
    /// The petition.
    pub petition: u64,
    /// The number of the moderation rule applied, 1..=999.
    pub rule: u16,
    /// Why, in plain words: 1..=2000 characters.
    pub reason: String,
    /// Whether the text is withheld from publication (the rule requires
    /// it, e.g. unlawful content); the reason stays public.
    pub text_hidden: bool,
    /// The moderator.
    pub actor: Actor,
}

impl EntryKind for PetitionRejected {
    const KIND: u16 = 18;
    const NAME: &'static str = "petition_rejected";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.petition);
        w.u16(self.rule);
        w.str("reason", &self.reason);
        w.bool(self.text_hidden);
        w.actor("actor", &self.actor);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            petition: r.u64("petition")?,
            rule: r.u16("rule")?,
            reason: r.string("reason")?,
            text_hidden: r.bool("text_hidden")?,
            actor: r.actor("actor")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::range("rule", self.rule.into(), 1, RULE_MAX.into())?;
        validate::multiline("reason", &self.reason, 1, REASON_MAX_CHARS)?;
        self.actor.validate("actor")
    }
}

/// Kind 19, `signature`: a citizen signed the petition with a passkey. No
/// identity: a per-petition nullifier and a commitment to the assertion.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The petition.
    pub petition: u64,
    /// Keyed BLAKE3 of (roll record, petition) under the server's nullifier
    /// key: the same for the same person on the same petition, unlinkable
    /// across petitions for the public.
    #[serde(with = "hex32")]
    pub nullifier: [u8; 32],
    /// BLAKE3 commitment to the full WebAuthn assertion
    /// (`specs/passkeys.md`), for the eligibility audit.
    #[serde(with = "hex32")]
    pub assertion: [u8; 32],
}

impl EntryKind for Signature {
    const KIND: u16 = 19;
    const NAME: &'static str = "signature";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.petition);
        w.bytes32(&self.nullifier);
        w.bytes32(&self.assertion);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            petition: r.u64("petition")?,
            nullifier: r.bytes32("nullifier")?,
            assertion: r.bytes32("assertion")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

/// Kind 20, `threshold_reached`: written by the sequencer immediately after
/// the signature that made `valid_signatures × 1000 > population`. Declares
/// the count and the legislature's deadlines.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdReached {
    /// The petition.
    pub petition: u64,
    /// Log index of the crossing signature (the entry just before this one).
    pub signature: u64,
    /// Valid signatures after it.
    pub valid_signatures: u64,
    /// The population fixed when the petition opened.
    pub population: u64,
    /// The legislature must acknowledge receipt before this time.
    pub acknowledge_by_ms: u64,
    /// The legislature must publish its decision before this time.
    pub answer_by_ms: u64,
}

impl EntryKind for ThresholdReached {
    const KIND: u16 = 20;
    const NAME: &'static str = "threshold_reached";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.petition);
        w.u64(self.signature);
        w.u64(self.valid_signatures);
        w.u64(self.population);
        w.u64(self.acknowledge_by_ms);
        w.u64(self.answer_by_ms);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            petition: r.u64("petition")?,
            signature: r.u64("signature")?,
            valid_signatures: r.u64("valid_signatures")?,
            population: r.u64("population")?,
            acknowledge_by_ms: r.u64("acknowledge_by_ms")?,
            answer_by_ms: r.u64("answer_by_ms")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::range("population", self.population, 1, POPULATION_MAX)?;
        validate::range(
            "acknowledge_by_ms",
            self.acknowledge_by_ms,
            0,
            MAX_TIMESTAMP_MS,
        )?;
        validate::range("answer_by_ms", self.answer_by_ms, 0, MAX_TIMESTAMP_MS)
    }
}

/// Kind 21, `signature_invalidated`: a moderator struck a signature (e.g.
/// proven fraud). It stops counting; a threshold already reached stands.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureInvalidated {
    /// The petition.
    pub petition: u64,
    /// Log index of the `signature` entry.
    pub signature: u64,
    /// Why: 1..=2000 characters.
    pub reason: String,
    /// The moderator.
    pub actor: Actor,
}

impl EntryKind for SignatureInvalidated {
    const KIND: u16 = 21;
    const NAME: &'static str = "signature_invalidated";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.petition);
        w.u64(self.signature);
        w.str("reason", &self.reason);
        w.actor("actor", &self.actor);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            petition: r.u64("petition")?,
            signature: r.u64("signature")?,
            reason: r.string("reason")?,
            actor: r.actor("actor")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::multiline("reason", &self.reason, 1, REASON_MAX_CHARS)?;
        self.actor.validate("actor")
    }
}

/// Kind 22, `petition_delivered`: the legislature's system acknowledged the
/// signed notification (webhook) of a petition that reached the threshold.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PetitionDelivered {
    /// The petition.
    pub petition: u64,
    /// Delivery attempts it took, ≥ 1.
    pub attempts: u32,
}

impl EntryKind for PetitionDelivered {
    const KIND: u16 = 22;
    const NAME: &'static str = "petition_delivered";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.petition);
        w.u32(self.attempts);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            petition: r.u64("petition")?,
            attempts: r.u32("attempts")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::range("attempts", self.attempts.into(), 1, u32::MAX.into())
    }
}

/// Kind 23, `petition_acknowledged`: a clerk of the legislature confirmed
/// receipt.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PetitionAcknowledged {
    /// The petition.
    pub petition: u64,
    /// The clerk.
    pub actor: Actor,
}

impl EntryKind for PetitionAcknowledged {
    const KIND: u16 = 23;
    const NAME: &'static str = "petition_acknowledged";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.petition);
        w.actor("actor", &self.actor);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            petition: r.u64("petition")?,
            actor: r.actor("actor")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        self.actor.validate("actor")
    }
}

/// Kind 24, `consideration_scheduled`: the legislature set (or moved) the
/// date it will consider the petition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsiderationScheduled {
    /// The petition.
    pub petition: u64,
    /// The date of consideration.
    pub date: Date,
    /// The clerk.
    pub actor: Actor,
}

impl EntryKind for ConsiderationScheduled {
    const KIND: u16 = 24;
    const NAME: &'static str = "consideration_scheduled";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.petition);
        w.date(self.date);
        w.actor("actor", &self.actor);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            petition: r.u64("petition")?,
            date: r.date("date")?,
            actor: r.actor("actor")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        self.actor.validate("actor")
    }
}

/// The legislature's decision on a petition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Code 1: solved / accepted.
    Solved,
    /// Code 2: a deadline is set by which it will be resolved.
    DeadlineSet,
    /// Code 3: a motivated refusal (reason required).
    Refused,
}

impl Decision {
    /// The one-byte code.
    pub fn code(self) -> u8 {
        match self {
            Self::Solved => 1,
            Self::DeadlineSet => 2,
            Self::Refused => 3,
        }
    }

    /// The decision with code `code`.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Solved),
            2 => Some(Self::DeadlineSet),
            3 => Some(Self::Refused),
            _ => None,
        }
    }

    /// Its JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Solved => "solved",
            Self::DeadlineSet => "deadline_set",
            Self::Refused => "refused",
        }
    }
}

/// Kind 25, `petition_answered`: the legislature published its decision.
/// `deadline_set` may later be followed by a final `solved` or `refused`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PetitionAnswered {
    /// The petition.
    pub petition: u64,
    /// The decision.
    pub decision: Decision,
    /// For `deadline_set` (required there, absent otherwise): the date by
    /// which it will be resolved.
    pub deadline: Option<Date>,
    /// The answer's text: required (1..=20000 characters) for a refusal,
    /// 0..=20000 otherwise.
    pub text: String,
    /// BLAKE3 of an attached document (the official decision), if any.
    #[serde(with = "hex32_opt")]
    pub document: Option<[u8; 32]>,
    /// The clerk.
    pub actor: Actor,
}

impl EntryKind for PetitionAnswered {
    const KIND: u16 = 25;
    const NAME: &'static str = "petition_answered";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.petition);
        w.u8(self.decision.code());
        w.option(self.deadline.as_ref(), |w, d| w.date(*d));
        w.str("text", &self.text);
        w.option(self.document.as_ref(), |w, d| w.bytes32(d));
        w.actor("actor", &self.actor);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            petition: r.u64("petition")?,
            decision: r.code(
                "decision",
                "a decision code (1 solved, 2 deadline_set, 3 refused)",
                Decision::from_code,
            )?,
            deadline: r.option("deadline", |r| r.date("deadline"))?,
            text: r.string("text")?,
            document: r.option("document", |r| r.bytes32("document"))?,
            actor: r.actor("actor")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        match (self.decision, self.deadline) {
            (Decision::DeadlineSet, None) => {
                return Err(ValidationError::new(
                    "deadline",
                    "required when the decision is deadline_set",
                ));
            }
            (Decision::Solved | Decision::Refused, Some(_)) => {
                return Err(ValidationError::new(
                    "deadline",
                    "only allowed when the decision is deadline_set",
                ));
            }
            _ => {}
        }
        // A refusal must give its reasons; other answers may be bare.
        let min = usize::from(self.decision == Decision::Refused);
        validate::multiline("text", &self.text, min, ANSWER_MAX_CHARS)?;
        self.actor.validate("actor")
    }
}

/// Why a petition closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// Code 1: its closing date passed.
    Expired,
    /// Code 2: its author withdrew it (only before the threshold).
    Withdrawn,
}

impl CloseReason {
    /// The one-byte code.
    pub fn code(self) -> u8 {
        match self {
            Self::Expired => 1,
            Self::Withdrawn => 2,
        }
    }

    /// The reason with code `code`.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Expired),
            2 => Some(Self::Withdrawn),
            _ => None,
        }
    }
}

/// Kind 26, `petition_closed`: signing ended. Declares the final count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PetitionClosed {
    /// The petition.
    pub petition: u64,
    /// Why it closed.
    pub reason: CloseReason,
    /// Valid signatures at closing.
    pub valid_signatures: u64,
}

impl EntryKind for PetitionClosed {
    const KIND: u16 = 26;
    const NAME: &'static str = "petition_closed";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.petition);
        w.u8(self.reason.code());
        w.u64(self.valid_signatures);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            petition: r.u64("petition")?,
            reason: r.code(
                "reason",
                "a close reason code (1 expired, 2 withdrawn)",
                CloseReason::from_code,
            )?,
            valid_signatures: r.u64("valid_signatures")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

/// `Option<[u8; 32]>` as 64 lowercase hex digits or `null` in JSON.
mod hex32_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => super::hex32::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(with = "super::hex32")] [u8; 32]);
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }
}
