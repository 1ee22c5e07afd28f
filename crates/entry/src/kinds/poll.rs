//! Poll kinds (32–34): a priority poll opened by an organiser, the ballots
//! of enrolled residents, and the closing entry that declares the tally.
//!
//! A poll is identified by the log index of its `poll_opened` entry; every
//! ballot and the closing name it in `poll`. Options are numbered from 0 in
//! the order `poll_opened` lists them; ballots name options by number.
//! Whether a ballot may follow the entries before it (the voting window,
//! the option numbers of this poll, the form the counting method needs)
//! and whether the declared tally is the recount of the ballots is decided
//! by the `veche-state` crate (`specs/polls.md`); this module fixes the
//! bytes and the per-field rules.

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, ValidationError};
use crate::kinds::jurisdiction::ID_MAX_BYTES;
use crate::kinds::roll_version::hex32;
use crate::payload::EntryKind;
use crate::time::MAX_TIMESTAMP_MS;
use crate::validate;

/// Fewest options a poll may offer.
pub const POLL_OPTIONS_MIN: usize = 2;
/// Most options a poll may offer (so the largest `poll_opened` entry,
/// 55,633 bytes, fits the 65,535-byte limit).
pub const POLL_OPTIONS_MAX: usize = 32;
/// Longest question, in characters (each language).
pub const QUESTION_MAX_CHARS: usize = 500;
/// Longest option text, in characters (each language).
pub const OPTION_MAX_CHARS: usize = 200;

/// How a poll's ballots are counted (`specs/pb.md` §3, `veche_tally::poll`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PollMethod {
    /// Code 1: single choice; a ballot names exactly one option; most
    /// votes wins.
    Single,
    /// Code 2: approval; a ballot names a set of options (ascending); most
    /// approvals wins.
    Approval,
    /// Code 3: a ranking of some or all options, most preferred first,
    /// counted by the Schulze method (winning votes).
    RankedSchulze,
}

impl PollMethod {
    /// Every method, in code order.
    pub const ALL: [PollMethod; 3] = [Self::Single, Self::Approval, Self::RankedSchulze];

    /// The one-byte code.
    pub const fn code(self) -> u8 {
        match self {
            Self::Single => 1,
            Self::Approval => 2,
            Self::RankedSchulze => 3,
        }
    }

    /// The method with code `code`.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Single),
            2 => Some(Self::Approval),
            3 => Some(Self::RankedSchulze),
            _ => None,
        }
    }

    /// Its JSON name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Approval => "approval",
            Self::RankedSchulze => "ranked_schulze",
        }
    }
}

/// One answer a poll offers, in Russian and English.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollOption {
    /// The option in Russian: one line, 1..=200 characters, trimmed.
    pub ru: String,
    /// The option in English: one line, 1..=200 characters, trimmed.
    pub en: String,
}

/// Kind 32, `poll_opened`: an organiser published a priority poll of a
/// jurisdiction. Its log index is the poll's id. Ballots are accepted with
/// timestamps in `opens_at_ms..closes_at_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollOpened {
    /// The jurisdiction whose residents vote.
    pub jurisdiction: String,
    /// The question in Russian: one line, 1..=500 characters, trimmed.
    pub question_ru: String,
    /// The question in English: one line, 1..=500 characters, trimmed.
    pub question_en: String,
    /// The options, 2..=32, numbered from 0 in this order; no two with the
    /// same Russian or the same English text.
    pub options: Vec<PollOption>,
    /// How ballots are counted.
    pub method: PollMethod,
    /// First instant a ballot is accepted, ms since the epoch.
    pub opens_at_ms: u64,
    /// When voting ends (exclusive), ms since the epoch; after
    /// `opens_at_ms`.
    pub closes_at_ms: u64,
    /// The organiser (or administrator).
    pub actor: Actor,
}

impl EntryKind for PollOpened {
    const KIND: u16 = 32;
    const NAME: &'static str = "poll_opened";

    fn encode_payload(&self, w: &mut Writer) {
        w.str("jurisdiction", &self.jurisdiction);
        w.str("question_ru", &self.question_ru);
        w.str("question_en", &self.question_en);
        w.list(&self.options, |w, o| {
            w.str("options", &o.ru);
            w.str("options", &o.en);
        });
        w.u8(self.method.code());
        w.u64(self.opens_at_ms);
        w.u64(self.closes_at_ms);
        w.actor("actor", &self.actor);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            jurisdiction: r.string("jurisdiction")?,
            question_ru: r.string("question_ru")?,
            question_en: r.string("question_en")?,
            options: r.list("options", |r| {
                Ok(PollOption {
                    ru: r.string("options")?,
                    en: r.string("options")?,
                })
            })?,
            method: r.code(
                "method",
                "a poll method code (1 single, 2 approval, 3 ranked_schulze)",
                PollMethod::from_code,
            )?,
            opens_at_ms: r.u64("opens_at_ms")?,
            closes_at_ms: r.u64("closes_at_ms")?,
            actor: r.actor("actor")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::slug("jurisdiction", &self.jurisdiction, ID_MAX_BYTES)?;
        validate::line("question_ru", &self.question_ru, 1, QUESTION_MAX_CHARS)?;
        validate::line("question_en", &self.question_en, 1, QUESTION_MAX_CHARS)?;
        validate::count(
            "options",
            self.options.len(),
            POLL_OPTIONS_MIN,
            POLL_OPTIONS_MAX,
        )?;
        for (i, o) in self.options.iter().enumerate() {
            validate::line(&format!("options[{i}].ru"), &o.ru, 1, OPTION_MAX_CHARS)?;
            validate::line(&format!("options[{i}].en"), &o.en, 1, OPTION_MAX_CHARS)?;
            if let Some(j) = self.options[..i].iter().position(|p| p.ru == o.ru) {
                return Err(ValidationError::new(
                    format!("options[{i}].ru"),
                    format!("repeats options[{j}].ru"),
                ));
            }
            if let Some(j) = self.options[..i].iter().position(|p| p.en == o.en) {
                return Err(ValidationError::new(
                    format!("options[{i}].en"),
                    format!("repeats options[{j}].en"),
                ));
            }
        }
        validate::range("opens_at_ms", self.opens_at_ms, 0, MAX_TIMESTAMP_MS)?;
        if self.closes_at_ms <= self.opens_at_ms {
            return Err(ValidationError::new(
                "closes_at_ms",
                format!(
                    "must be after opens_at_ms ({}), got {}",
                    self.opens_at_ms, self.closes_at_ms
                ),
            ));
        }
        validate::range("closes_at_ms", self.closes_at_ms, 0, MAX_TIMESTAMP_MS)?;
        self.actor.validate("actor")
    }
}

/// Kind 33, `poll_ballot`: an enrolled resident voted with a passkey. No
/// identity: a per-poll nullifier and a commitment to the assertion. A
/// later ballot under the same nullifier replaces this one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollBallot {
    /// The poll (log index of its `poll_opened` entry).
    pub poll: u64,
    /// Keyed BLAKE3 of (roll record, poll) under the server's nullifier
    /// key: the same for the same person in the same poll.
    #[serde(with = "hex32")]
    pub nullifier: [u8; 32],
    /// The options chosen, by number: one for `single`, a set in ascending
    /// order for `approval`, a ranking (most preferred first) for
    /// `ranked_schulze`. 1..=32 distinct numbers, each below 32.
    pub choice: Vec<u16>,
    /// BLAKE3 commitment to the full WebAuthn assertion, whose challenge
    /// commits to this choice (`specs/polls.md`).
    #[serde(with = "hex32")]
    pub assertion: [u8; 32],
}

impl EntryKind for PollBallot {
    const KIND: u16 = 33;
    const NAME: &'static str = "poll_ballot";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.poll);
        w.bytes32(&self.nullifier);
        w.list(&self.choice, |w, o| w.u16(*o));
        w.bytes32(&self.assertion);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            poll: r.u64("poll")?,
            nullifier: r.bytes32("nullifier")?,
            choice: r.list("choice", |r| r.u16("choice"))?,
            assertion: r.bytes32("assertion")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::count("choice", self.choice.len(), 1, POLL_OPTIONS_MAX)?;
        option_numbers("choice", &self.choice)
    }
}

/// Every number below [`POLL_OPTIONS_MAX`], none twice.
fn option_numbers(field: &str, options: &[u16]) -> Result<(), ValidationError> {
    let mut seen = [false; POLL_OPTIONS_MAX];
    for (i, &o) in options.iter().enumerate() {
        let Some(s) = seen.get_mut(usize::from(o)) else {
            return Err(ValidationError::new(
                format!("{field}[{i}]"),
                format!(
                    "must be an option number 0..={}, got {o}",
                    POLL_OPTIONS_MAX - 1
                ),
            ));
        };
        if std::mem::replace(s, true) {
            return Err(ValidationError::new(
                format!("{field}[{i}]"),
                format!("option {o} appears twice"),
            ));
        }
    }
    Ok(())
}

/// Kind 34, `poll_closed`: voting ended; declares the tally of the last
/// ballot of every voter. The verifier recounts it from the ballots.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollClosed {
    /// The poll.
    pub poll: u64,
    /// Voters counted: distinct nullifiers, each with its last ballot.
    pub ballots: u64,
    /// One count per option, in option order: votes (`single`), approvals
    /// (`approval`), or ballots ranking the option first
    /// (`ranked_schulze`). Each at most `ballots`.
    pub counts: Vec<u64>,
    /// Every option, best first, ties broken by option number: by count
    /// for `single` and `approval`, the Schulze ranking for
    /// `ranked_schulze`.
    pub ranking: Vec<u16>,
    /// The options tied for first (one option: a clear winner), ascending.
    pub winners: Vec<u16>,
}

impl EntryKind for PollClosed {
    const KIND: u16 = 34;
    const NAME: &'static str = "poll_closed";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.poll);
        w.u64(self.ballots);
        w.list(&self.counts, |w, c| w.u64(*c));
        w.list(&self.ranking, |w, o| w.u16(*o));
        w.list(&self.winners, |w, o| w.u16(*o));
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            poll: r.u64("poll")?,
            ballots: r.u64("ballots")?,
            counts: r.list("counts", |r| r.u64("counts"))?,
            ranking: r.list("ranking", |r| r.u16("ranking"))?,
            winners: r.list("winners", |r| r.u16("winners"))?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        let m = self.counts.len();
        validate::count("counts", m, POLL_OPTIONS_MIN, POLL_OPTIONS_MAX)?;
        if let Some((i, c)) = self
            .counts
            .iter()
            .enumerate()
            .find(|&(_, &c)| c > self.ballots)
        {
            return Err(ValidationError::new(
                format!("counts[{i}]"),
                format!("must be ≤ ballots ({}), got {c}", self.ballots),
            ));
        }
        if self.ranking.len() != m {
            return Err(ValidationError::new(
                "ranking",
                format!(
                    "must list all {m} options (one per count), got {}",
                    self.ranking.len()
                ),
            ));
        }
        option_numbers("ranking", &self.ranking)?;
        if let Some((i, &o)) = self
            .ranking
            .iter()
            .enumerate()
            .find(|&(_, &o)| usize::from(o) >= m)
        {
            return Err(ValidationError::new(
                format!("ranking[{i}]"),
                format!("must be an option number 0..={}, got {o}", m - 1),
            ));
        }
        validate::count("winners", self.winners.len(), 1, m)?;
        for (i, &o) in self.winners.iter().enumerate() {
            if usize::from(o) >= m {
                return Err(ValidationError::new(
                    format!("winners[{i}]"),
                    format!("must be an option number 0..={}, got {o}", m - 1),
                ));
            }
            if i > 0 && o <= self.winners[i - 1] {
                return Err(ValidationError::new(
                    format!("winners[{i}]"),
                    "must be in ascending order, each option once",
                ));
            }
        }
        Ok(())
    }
}
