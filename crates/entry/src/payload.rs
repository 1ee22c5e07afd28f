//! The kind registry: the [`EntryKind`] trait every payload type implements
//! and the [`Payload`] enum that dispatches over them.
//!
//! Adding a kind: write a struct in `kinds/`, implement [`EntryKind`] for it
//! (a `KIND` number from the right range of `specs/entries.md`, its `NAME`,
//! the field reads/writes in order, its validation), and add one line to
//! the `payload_kinds!` invocation at the bottom of this file. Kind numbers
//! and names are checked for uniqueness and consistency at compile time.

use serde::{Deserialize, Serialize};

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, ValidationError};
use crate::kinds::jurisdiction::Jurisdiction;
use crate::kinds::pb::{
    PbBallot, PbProjectProposed, PbProjectReviewed, PbResult, PbRoundOpened, PbVotingOpened,
};
use crate::kinds::petition::{
    ConsiderationScheduled, PetitionAcknowledged, PetitionAnswered, PetitionClosed,
    PetitionDelivered, PetitionFiled, PetitionOpened, PetitionRejected, PetitionRules, Signature,
    SignatureInvalidated, ThresholdReached,
};
use crate::kinds::poll::{PollBallot, PollClosed, PollOpened};
use crate::kinds::roll_version::RollVersion;

/// One payload type: its registry number, its name, and how its fields are
/// written, read and checked.
///
/// `encode_payload` and `decode_payload` must be exact inverses over the
/// values `validate` accepts: write every field in the documented order
/// with the [`Writer`] method of its type, read them back in the same order
/// with the matching [`Reader`] method, and leave every value rule to
/// `validate` (the decoder runs it after reading the payload and reports its
/// error at the offset of the field it names).
pub trait EntryKind: Sized {
    /// The kind number in the envelope (see the registry in
    /// `specs/entries.md`). Never 0, never reused.
    const KIND: u16;
    /// The kind's name: the `"kind"` of the JSON form, lower snake case.
    const NAME: &'static str;
    /// Appends the payload's fields (everything after the envelope header).
    fn encode_payload(&self, w: &mut Writer);
    /// Reads the payload's fields; the reader must be left after the last.
    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
    /// Checks every field rule.
    fn validate(&self) -> Result<(), ValidationError>;
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn kinds_distinct_and_nonzero(kinds: &[u16]) -> bool {
    let mut i = 0;
    while i < kinds.len() {
        if kinds[i] == 0 {
            return false;
        }
        let mut j = i + 1;
        while j < kinds.len() {
            if kinds[i] == kinds[j] {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

macro_rules! payload_kinds {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty) = $name:literal ),+ $(,)?) => {
        /// The payload of an entry: one variant per registered kind.
        ///
        /// JSON: an object with `"kind": "<name>"` and the kind's fields.
        /// Deserialising a `Payload` on its own does not validate it; an
        /// [`Entry`](crate::Entry) checks everything when deserialised.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "kind")]
        pub enum Payload {
            $( $(#[$doc])* #[serde(rename = $name)] $variant($ty), )+
        }

        $(
            const _: () = assert!(
                str_eq(<$ty as EntryKind>::NAME, $name),
                "EntryKind::NAME differs from the name in payload_kinds!"
            );
        )+
        const _: () = assert!(
            kinds_distinct_and_nonzero(&[$(<$ty as EntryKind>::KIND),+]),
            "kind numbers must be distinct and non-zero"
        );

        impl Payload {
            /// Every registered kind: (number, name), in registry order.
            pub const KINDS: &'static [(u16, &'static str)] =
                &[$((<$ty as EntryKind>::KIND, $name)),+];

            /// The kind number written in the envelope.
            pub fn kind(&self) -> u16 {
                match self {
                    $(Self::$variant(_) => <$ty as EntryKind>::KIND,)+
                }
            }

            /// The kind's name, e.g. `"jurisdiction"`.
            pub fn kind_name(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $name,)+
                }
            }

            /// Checks every field rule of the payload.
            pub fn validate(&self) -> Result<(), ValidationError> {
                match self {
                    $(Self::$variant(p) => p.validate(),)+
                }
            }

            pub(crate) fn encode_payload(&self, w: &mut Writer) {
                match self {
                    $(Self::$variant(p) => p.encode_payload(w),)+
                }
            }

            /// Reads the payload of kind `kind`; `None` if the kind is unknown.
            pub(crate) fn decode_payload(
                kind: u16,
                r: &mut Reader<'_>,
            ) -> Option<Result<Self, DecodeError>> {
                $(
                    if kind == <$ty as EntryKind>::KIND {
                        return Some(<$ty as EntryKind>::decode_payload(r).map(Self::$variant));
                    }
                )+
                None
            }
        }

        $(
            impl From<$ty> for Payload {
                fn from(p: $ty) -> Self {
                    Self::$variant(p)
                }
            }
        )+

        /// Serialises only the payload's own fields (no `"kind"`), for
        /// flattening into the entry's JSON object.
        pub(crate) struct PayloadFields<'a>(pub(crate) &'a Payload);

        impl Serialize for PayloadFields<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.0 {
                    $(Payload::$variant(p) => p.serialize(s),)+
                }
            }
        }
    };
}

payload_kinds! {
    /// Kind 1: declares or updates a jurisdiction.
    Jurisdiction(Jurisdiction) = "jurisdiction",
    /// Kind 2: a jurisdiction's petition windows and legislature deadlines.
    PetitionRules(PetitionRules) = "petition_rules",
    /// Kind 16: a petition was filed and awaits moderation.
    PetitionFiled(PetitionFiled) = "petition_filed",
    /// Kind 17: a moderator opened a petition for signatures.
    PetitionOpened(PetitionOpened) = "petition_opened",
    /// Kind 18: a moderator rejected a petition.
    PetitionRejected(PetitionRejected) = "petition_rejected",
    /// Kind 19: a citizen signed a petition.
    Signature(Signature) = "signature",
    /// Kind 20: a petition reached its threshold.
    ThresholdReached(ThresholdReached) = "threshold_reached",
    /// Kind 21: a moderator invalidated a signature.
    SignatureInvalidated(SignatureInvalidated) = "signature_invalidated",
    /// Kind 22: the legislature's system acknowledged the notification.
    PetitionDelivered(PetitionDelivered) = "petition_delivered",
    /// Kind 23: a clerk acknowledged receipt.
    PetitionAcknowledged(PetitionAcknowledged) = "petition_acknowledged",
    /// Kind 24: the legislature scheduled its consideration.
    ConsiderationScheduled(ConsiderationScheduled) = "consideration_scheduled",
    /// Kind 25: the legislature published its decision.
    PetitionAnswered(PetitionAnswered) = "petition_answered",
    /// Kind 26: a petition closed for signatures.
    PetitionClosed(PetitionClosed) = "petition_closed",
    /// Kind 32: an organiser opened a priority poll.
    PollOpened(PollOpened) = "poll_opened",
    /// Kind 33: a resident voted in a poll.
    PollBallot(PollBallot) = "poll_ballot",
    /// Kind 34: a poll closed; its tally is declared.
    PollClosed(PollClosed) = "poll_closed",
    /// Kind 48: an organiser opened a participatory-budgeting round.
    PbRoundOpened(PbRoundOpened) = "pb_round_opened",
    /// Kind 49: a resident proposed a project.
    PbProjectProposed(PbProjectProposed) = "pb_project_proposed",
    /// Kind 50: an organiser reviewed a project.
    PbProjectReviewed(PbProjectReviewed) = "pb_project_reviewed",
    /// Kind 51: voting opened, with the budget, rule and ballot fixed.
    PbVotingOpened(PbVotingOpened) = "pb_voting_opened",
    /// Kind 52: a resident voted in a round.
    PbBallot(PbBallot) = "pb_ballot",
    /// Kind 53: a round's result is declared.
    PbResult(PbResult) = "pb_result",
    /// Kind 64: a new version of a jurisdiction's electoral roll.
    RollVersion(RollVersion) = "roll_version",
}

impl Payload {
    /// The name of kind number `kind`, if it is registered.
    pub fn name_of_kind(kind: u16) -> Option<&'static str> {
        Self::KINDS
            .iter()
            .find(|&&(k, _)| k == kind)
            .map(|&(_, name)| name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_lookup() {
        let kinds: Vec<u16> = Payload::KINDS.iter().map(|&(k, _)| k).collect();
        assert_eq!(
            kinds,
            [
                1, 2, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 32, 33, 34, 48, 49, 50, 51, 52,
                53, 64
            ]
        );
        assert_eq!(Payload::name_of_kind(64), Some("roll_version"));
        assert_eq!(Payload::name_of_kind(1), Some("jurisdiction"));
        assert_eq!(Payload::name_of_kind(0), None);
        assert_eq!(Payload::name_of_kind(9), None);
    }

    #[test]
    fn const_helpers() {
        assert!(str_eq("abc", "abc"));
        assert!(!str_eq("abc", "abd"));
        assert!(!str_eq("abc", "ab"));
        assert!(kinds_distinct_and_nonzero(&[1, 2, 16]));
        assert!(!kinds_distinct_and_nonzero(&[1, 2, 1]));
        assert!(!kinds_distinct_and_nonzero(&[0]));
    }
}
