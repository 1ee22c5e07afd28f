//! `veche-state`: the service's state as a pure fold of the log.
//!
//! [`State::check`] decides whether an entry may be appended next,
//! [`State::apply`] folds an entry in, and [`State::owed`] returns the entry
//! the log owes at this point (a `threshold_reached` right after the
//! crossing signature). The server's sequencer calls them inside each batch,
//! so nothing that breaks a rule is ever appended; the verifier replays them
//! over the whole log, so a log that breaks one fails the audit. Rules are
//! written once, here, and documented in `specs/petitions.md`,
//! `specs/polls.md` and `specs/pb-rounds.md`. Poll and PB results are
//! recounted with `veche-tally`: a declared tally, winner set or spend that
//! differs from the recount is refused (and fails the audit).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod pb;
mod petition;
mod poll;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use veche_entry::{Entry, Jurisdictions, Payload, PetitionRules, Rolls};

pub use pb::{
    PbCount, PbDeclared, PbPhase, PbProject, PbSpending, Review, Round, VoterSpending, Voting,
    pb_ballot_action,
};
pub use petition::{
    Acknowledgement, Answer, Closing, DeadlineStatus, Delivery, Invalidation, Opening, Petition,
    PetitionStatus, Rejection, Scheduling, Threshold,
};
pub use poll::{Poll, PollClosing, PollStatus, poll_ballot_action};

/// Petition windows and legislature deadlines before a jurisdiction sets
/// its own (`petition_rules`): open 6 months; acknowledge within 3 days and
/// answer within 30 days, the terms of Russia's law on citizens' appeals
/// (59-FZ, arts. 8 and 12).
pub const DEFAULT_OPEN_MONTHS: u8 = 6;
/// See [`DEFAULT_OPEN_MONTHS`].
pub const DEFAULT_ACKNOWLEDGE_DAYS: u16 = 3;
/// See [`DEFAULT_OPEN_MONTHS`].
pub const DEFAULT_ANSWER_DAYS: u16 = 30;

/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;

/// The threshold rule (R1), in integers: reached when
/// `valid_signatures × 1000 > population`, i.e. strictly more than 0.1%.
pub fn threshold_met(valid_signatures: u64, population: u64) -> bool {
    u128::from(valid_signatures) * 1000 > u128::from(population)
}

/// The fewest valid signatures that meet the threshold:
/// `⌊population / 1000⌋ + 1`.
pub fn threshold_signatures(population: u64) -> u64 {
    population / 1000 + 1
}

/// Why an entry may not be appended: a stable machine-readable `code`
/// (used as the problem type of the HTTP API) and a precise message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct Violation {
    /// Kebab-case code, e.g. `duplicate-signature`.
    pub code: &'static str,
    /// What exactly is wrong.
    pub message: String,
}

impl Violation {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The rules of one jurisdiction in force, with where they came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RulesInForce {
    /// Months a petition stays open.
    pub open_months: u8,
    /// Days to acknowledge.
    pub acknowledge_days: u16,
    /// Days to answer.
    pub answer_days: u16,
    /// Log index of the `petition_rules` entry, `None` for the defaults.
    pub index: Option<u64>,
}

impl Default for RulesInForce {
    fn default() -> Self {
        Self {
            open_months: DEFAULT_OPEN_MONTHS,
            acknowledge_days: DEFAULT_ACKNOWLEDGE_DAYS,
            answer_days: DEFAULT_ANSWER_DAYS,
            index: None,
        }
    }
}

/// Everything the log says so far, folded entry by entry.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// The log size folded so far (the index the next entry will get).
    pub size: u64,
    /// Declared jurisdictions.
    pub jurisdictions: Jurisdictions,
    /// Loaded electoral rolls.
    pub rolls: Rolls,
    rules: BTreeMap<String, RulesInForce>,
    petitions: BTreeMap<u64, Petition>,
    polls: BTreeMap<u64, Poll>,
    rounds: BTreeMap<u64, Round>,
    /// PB project id → its round.
    project_rounds: HashMap<u64, u64>,
    /// Set by a signature that crossed its petition's threshold: the log
    /// owes the `threshold_reached` entry next.
    owed: Option<Entry>,
}

impl State {
    /// The empty log's state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds a whole log from index 0, checking every entry; stops at the
    /// first violation with its index.
    pub fn replay<'a>(
        entries: impl IntoIterator<Item = &'a Entry>,
    ) -> Result<Self, (u64, Violation)> {
        let mut s = Self::new();
        for e in entries {
            s.check(e).map_err(|v| (s.size, v))?;
            s.apply(e);
        }
        Ok(s)
    }

    /// The rules in force for petitions of `jurisdiction`.
    pub fn rules(&self, jurisdiction: &str) -> RulesInForce {
        self.rules.get(jurisdiction).copied().unwrap_or_default()
    }

    /// The petition with id `id`.
    pub fn petition(&self, id: u64) -> Option<&Petition> {
        self.petitions.get(&id)
    }

    /// Every petition, by id.
    pub fn petitions(&self) -> impl DoubleEndedIterator<Item = &Petition> {
        self.petitions.values()
    }

    /// The poll with id `id`.
    pub fn poll(&self, id: u64) -> Option<&Poll> {
        self.polls.get(&id)
    }

    /// Every poll, by id.
    pub fn polls(&self) -> impl DoubleEndedIterator<Item = &Poll> {
        self.polls.values()
    }

    /// The participatory-budgeting round with id `id`.
    pub fn round(&self, id: u64) -> Option<&Round> {
        self.rounds.get(&id)
    }

    /// Every participatory-budgeting round, by id.
    pub fn rounds(&self) -> impl DoubleEndedIterator<Item = &Round> {
        self.rounds.values()
    }

    /// The round a PB project (by id) was proposed for.
    pub fn round_of_project(&self, project: u64) -> Option<&Round> {
        self.rounds.get(self.project_rounds.get(&project)?)
    }

    /// The PB project with id `id`.
    pub fn project(&self, id: u64) -> Option<&PbProject> {
        self.round_of_project(id)?.projects.get(&id)
    }

    /// The entry the log owes right now, if any: the `threshold_reached`
    /// that must immediately follow the signature just applied. The
    /// sequencer appends it next; the verifier requires it next.
    pub fn owed(&self) -> Option<&Entry> {
        self.owed.as_ref()
    }

    /// Whether `entry` may be appended next (at index [`State::size`]).
    pub fn check(&self, entry: &Entry) -> Result<(), Violation> {
        if let Some(owed) = &self.owed {
            if entry != owed {
                let Payload::ThresholdReached(t) = &owed.payload else {
                    unreachable!("only threshold entries are owed")
                };
                return Err(Violation::new(
                    "threshold-entry-missing",
                    format!(
                        "entry {} must be the threshold_reached of petition {} owed after the crossing signature {} (expected {:?})",
                        self.size, t.petition, t.signature, t
                    ),
                ));
            }
            return Ok(());
        }
        match &entry.payload {
            Payload::Jurisdiction(_) => Ok(()),
            Payload::RollVersion(_) => self
                .rolls
                .check(entry)
                .map_err(|e| Violation::new("roll-version-out-of-order", e.to_string())),
            Payload::PetitionRules(r) => {
                if self.jurisdictions.get(&r.jurisdiction).is_none() {
                    return Err(unknown_jurisdiction(&r.jurisdiction));
                }
                Ok(())
            }
            Payload::ThresholdReached(t) => Err(Violation::new(
                "threshold-entry-unowed",
                format!(
                    "no threshold is owed at entry {}: petition {}'s signature {} did not just cross it",
                    self.size, t.petition, t.signature
                ),
            )),
            p @ (Payload::PollOpened(_) | Payload::PollBallot(_) | Payload::PollClosed(_)) => {
                poll::check(self, entry.timestamp_ms, p)
            }
            p @ (Payload::PbRoundOpened(_)
            | Payload::PbProjectProposed(_)
            | Payload::PbProjectReviewed(_)
            | Payload::PbVotingOpened(_)
            | Payload::PbBallot(_)
            | Payload::PbResult(_)) => pb::check(self, entry.timestamp_ms, p),
            p => petition::check(self, entry.timestamp_ms, p),
        }
    }

    /// Folds `entry` in at index [`State::size`]. The entry must have passed
    /// [`State::check`]; applying one that did not leaves the state
    /// meaningless.
    pub fn apply(&mut self, entry: &Entry) {
        let index = self.size;
        self.size += 1;
        if self.owed.as_ref() == Some(entry) {
            self.owed = None;
        }
        match &entry.payload {
            Payload::Jurisdiction(_) => self.jurisdictions.apply(index, entry),
            Payload::RollVersion(_) => self.rolls.apply(index, entry),
            Payload::PetitionRules(PetitionRules {
                jurisdiction,
                open_months,
                acknowledge_days,
                answer_days,
                ..
            }) => {
                self.rules.insert(
                    jurisdiction.clone(),
                    RulesInForce {
                        open_months: *open_months,
                        acknowledge_days: *acknowledge_days,
                        answer_days: *answer_days,
                        index: Some(index),
                    },
                );
            }
            p @ (Payload::PollOpened(_) | Payload::PollBallot(_) | Payload::PollClosed(_)) => {
                poll::apply(self, index, entry.timestamp_ms, p)
            }
            p @ (Payload::PbRoundOpened(_)
            | Payload::PbProjectProposed(_)
            | Payload::PbProjectReviewed(_)
            | Payload::PbVotingOpened(_)
            | Payload::PbBallot(_)
            | Payload::PbResult(_)) => pb::apply(self, index, entry.timestamp_ms, p),
            p => {
                if let Some(owed) = petition::apply(self, index, entry.timestamp_ms, p) {
                    self.owed = Some(owed);
                }
            }
        }
    }

    /// Checks `entry` and applies it, returning the entry the log then owes
    /// (which the caller must append next), or the violation.
    pub fn admit(&mut self, entry: &Entry) -> Result<Option<Entry>, Violation> {
        self.check(entry)?;
        self.apply(entry);
        Ok(self.owed.clone())
    }

    pub(crate) fn petitions_mut(&mut self) -> &mut BTreeMap<u64, Petition> {
        &mut self.petitions
    }

    pub(crate) fn polls_mut(&mut self) -> &mut BTreeMap<u64, Poll> {
        &mut self.polls
    }

    pub(crate) fn rounds_mut(&mut self) -> &mut BTreeMap<u64, Round> {
        &mut self.rounds
    }

    pub(crate) fn project_rounds(&self) -> &HashMap<u64, u64> {
        &self.project_rounds
    }

    pub(crate) fn project_rounds_mut(&mut self) -> &mut HashMap<u64, u64> {
        &mut self.project_rounds
    }
}

pub(crate) fn unknown_jurisdiction(id: &str) -> Violation {
    Violation::new(
        "unknown-jurisdiction",
        format!("jurisdiction {id:?} is not declared in the log"),
    )
}

#[cfg(test)]
mod pb_tests;
#[cfg(test)]
mod poll_tests;
#[cfg(test)]
mod tests;

/// The action a petition signature's passkey assertion commits to (the
/// input of the WebAuthn challenge, `specs/passkeys.md`):
/// `"veche sign petition v1\n" ‖ petition id (u64, big-endian) ‖ content
/// hash (32 bytes)`. It names the petition and the exact text signed.
pub fn signature_action(petition: u64, content: &[u8; 32]) -> Vec<u8> {
    let mut a = b"veche sign petition v1\n".to_vec();
    a.extend_from_slice(&petition.to_be_bytes());
    a.extend_from_slice(content);
    a
}
