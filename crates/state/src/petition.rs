//! The petition state machine: which petition entry may follow which, and
//! what each petition's record is after the entries so far.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use veche_entry::{
    Actor, CloseReason, Date, Decision, Entry, Payload, PetitionAnswered, ThresholdReached,
    add_months_ms,
};

use crate::{DAY_MS, State, Violation, threshold_met, threshold_signatures, unknown_jurisdiction};

/// Where a petition is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PetitionStatus {
    /// Filed, awaiting moderation.
    Filed,
    /// Rejected by a moderator.
    Rejected,
    /// Open for signatures.
    Open,
    /// Closed for signatures (expired or withdrawn).
    Closed,
}

impl PetitionStatus {
    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Filed => "filed",
            Self::Rejected => "rejected",
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

/// The moderator's decision to open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Opening {
    /// Log index of `petition_opened`.
    pub index: u64,
    /// When it opened.
    pub at_ms: u64,
    /// The population fixed for the threshold.
    pub population: u64,
    /// When signing ends (exclusive).
    pub closes_at_ms: u64,
    /// The moderator.
    pub actor: Actor,
}

/// The moderator's rejection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// Log index of `petition_rejected`.
    pub index: u64,
    /// When.
    pub at_ms: u64,
    /// The moderation rule number.
    pub rule: u16,
    /// The public reason.
    pub reason: String,
    /// Whether the text is withheld.
    pub text_hidden: bool,
    /// The moderator.
    pub actor: Actor,
}

/// The threshold event and the deadlines it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Threshold {
    /// Log index of `threshold_reached`.
    pub index: u64,
    /// Log index of the crossing signature.
    pub signature: u64,
    /// When (the crossing signature's time).
    pub at_ms: u64,
    /// Valid signatures at that moment.
    pub valid_signatures: u64,
    /// Acknowledgement deadline (exclusive).
    pub acknowledge_by_ms: u64,
    /// Answer deadline (exclusive).
    pub answer_by_ms: u64,
}

/// Delivery to the legislature's system (webhook acknowledged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Log index of `petition_delivered`.
    pub index: u64,
    /// When.
    pub at_ms: u64,
    /// Attempts it took.
    pub attempts: u32,
}

/// A clerk's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Acknowledgement {
    /// Log index.
    pub index: u64,
    /// When.
    pub at_ms: u64,
    /// The clerk.
    pub actor: Actor,
}

/// A consideration date set by the legislature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scheduling {
    /// Log index.
    pub index: u64,
    /// When it was set.
    pub at_ms: u64,
    /// The date.
    pub date: Date,
    /// The clerk.
    pub actor: Actor,
}

/// A published decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// Log index.
    pub index: u64,
    /// When.
    pub at_ms: u64,
    /// The entry.
    #[serde(flatten)]
    pub answer: PetitionAnswered,
}

/// A moderator's invalidation of a signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invalidation {
    /// Log index of `signature_invalidated`.
    pub index: u64,
    /// When.
    pub at_ms: u64,
    /// Log index of the signature struck.
    pub signature: u64,
    /// The public reason.
    pub reason: String,
    /// The moderator.
    pub actor: Actor,
}

/// The petition's closing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Closing {
    /// Log index.
    pub index: u64,
    /// When.
    pub at_ms: u64,
    /// Why.
    pub reason: CloseReason,
    /// The declared final count.
    pub valid_signatures: u64,
}

/// Whether a legislature deadline was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineStatus {
    /// No deadline runs (the threshold was not reached).
    NotStarted,
    /// Still running.
    Pending,
    /// Done in time.
    Met,
    /// Done, but late.
    MetLate,
    /// Not done and past due.
    Overdue,
}

impl DeadlineStatus {
    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::Pending => "pending",
            Self::Met => "met",
            Self::MetLate => "met_late",
            Self::Overdue => "overdue",
        }
    }

    /// Whether this is a missed deadline (late or overdue).
    pub fn missed(self) -> bool {
        matches!(self, Self::MetLate | Self::Overdue)
    }

    fn of(due_ms: Option<u64>, done_ms: Option<u64>, now_ms: u64) -> Self {
        match (due_ms, done_ms) {
            (None, _) => Self::NotStarted,
            (Some(due), Some(done)) if done < due => Self::Met,
            (Some(_), Some(_)) => Self::MetLate,
            (Some(due), None) if now_ms >= due => Self::Overdue,
            (Some(_), None) => Self::Pending,
        }
    }
}

/// Everything the log says about one petition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Petition {
    /// Its id: the log index of `petition_filed`.
    pub id: u64,
    /// When it was filed.
    pub filed_ms: u64,
    /// Its jurisdiction.
    pub jurisdiction: String,
    /// BLAKE3 of its content document.
    #[serde(serialize_with = "hex")]
    pub content: [u8; 32],
    /// The author's per-petition pseudonym.
    #[serde(skip)]
    pub author: [u8; 32],
    /// Where it is.
    pub status: PetitionStatus,
    /// The opening, if opened.
    pub opened: Option<Opening>,
    /// The rejection, if rejected.
    pub rejected: Option<Rejection>,
    /// Signatures ever accepted (valid or later invalidated).
    pub signatures: u64,
    /// Signatures that count now.
    pub valid_signatures: u64,
    /// Signatures invalidated by moderators.
    pub invalidated: u64,
    /// The invalidations, in order.
    pub invalidations: Vec<Invalidation>,
    /// The threshold event, if reached.
    pub threshold: Option<Threshold>,
    /// Delivery to the legislature's system, if acknowledged by it.
    pub delivered: Option<Delivery>,
    /// The clerk's acknowledgement.
    pub acknowledged: Option<Acknowledgement>,
    /// Consideration dates, in order (the last one holds).
    pub scheduled: Vec<Scheduling>,
    /// Published decisions, in order.
    pub answers: Vec<Answer>,
    /// The closing, if closed.
    pub closed: Option<Closing>,
    /// Valid signatures per UTC day (days since the epoch), counted on the
    /// day each signature was made.
    pub signatures_by_day: BTreeMap<u64, u64>,
    /// nullifier → log index of its signature.
    #[serde(skip)]
    nullifiers: HashMap<[u8; 32], u64>,
    /// signature log index → (timestamp, whether invalidated).
    #[serde(skip)]
    signature_entries: HashMap<u64, (u64, bool)>,
}

fn hex<S: serde::Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    let mut out = String::with_capacity(64);
    for b in v {
        out.push_str(&format!("{b:02x}"));
    }
    s.serialize_str(&out)
}

impl Petition {
    /// The fewest valid signatures that reach the threshold, once opened.
    pub fn signatures_needed(&self) -> Option<u64> {
        self.opened
            .as_ref()
            .map(|o| threshold_signatures(o.population))
    }

    /// Whether `nullifier` has signed.
    pub fn has_signed(&self, nullifier: &[u8; 32]) -> bool {
        self.nullifiers.contains_key(nullifier)
    }

    /// The log index of the signature under `nullifier`.
    pub fn signature_of(&self, nullifier: &[u8; 32]) -> Option<u64> {
        self.nullifiers.get(nullifier).copied()
    }

    /// Whether the entry at `index` is one of this petition's signatures,
    /// and if so whether it was invalidated.
    pub fn signature_invalidated(&self, index: u64) -> Option<bool> {
        self.signature_entries.get(&index).map(|&(_, inv)| inv)
    }

    /// Whether a signature made at `at_ms` would fall in the open window.
    pub fn open_at(&self, at_ms: u64) -> bool {
        self.status == PetitionStatus::Open
            && self
                .opened
                .as_ref()
                .is_some_and(|o| at_ms >= o.at_ms && at_ms < o.closes_at_ms)
    }

    /// The acknowledgement deadline's status at `now_ms`.
    pub fn acknowledge_status(&self, now_ms: u64) -> DeadlineStatus {
        DeadlineStatus::of(
            self.threshold.as_ref().map(|t| t.acknowledge_by_ms),
            self.acknowledged.as_ref().map(|a| a.at_ms),
            now_ms,
        )
    }

    /// The answer deadline's status at `now_ms`: the first decision must
    /// come before `answer_by`; after a `deadline_set` decision, the final
    /// one must come by the end of the deadline date it set.
    pub fn answer_status(&self, now_ms: u64) -> DeadlineStatus {
        let Some(t) = &self.threshold else {
            return DeadlineStatus::NotStarted;
        };
        let first = DeadlineStatus::of(
            Some(t.answer_by_ms),
            self.answers.first().map(|a| a.at_ms),
            now_ms,
        );
        if first != DeadlineStatus::Met {
            return first;
        }
        match self.answers.last().map(|a| &a.answer) {
            Some(PetitionAnswered {
                decision: Decision::DeadlineSet,
                deadline: Some(d),
                ..
            }) => DeadlineStatus::of(Some(d.end_ms()), None, now_ms),
            _ => {
                // A final decision: was it made by the last deadline set?
                let set = self
                    .answers
                    .iter()
                    .rev()
                    .skip(1)
                    .find_map(|a| a.answer.deadline);
                match (set, self.answers.last()) {
                    (Some(d), Some(last)) => {
                        DeadlineStatus::of(Some(d.end_ms()), Some(last.at_ms), now_ms)
                    }
                    _ => DeadlineStatus::Met,
                }
            }
        }
    }

    /// Whether the legislature owes anything overdue at `now_ms`.
    pub fn overdue(&self, now_ms: u64) -> bool {
        self.acknowledge_status(now_ms) == DeadlineStatus::Overdue
            || self.answer_status(now_ms) == DeadlineStatus::Overdue
    }

    /// Whether a final decision (solved or refused) was published.
    pub fn answered_finally(&self) -> bool {
        self.answers
            .last()
            .is_some_and(|a| a.answer.decision != Decision::DeadlineSet)
    }
}

fn get(state: &State, id: u64) -> Result<&Petition, Violation> {
    state.petition(id).ok_or_else(|| {
        Violation::new(
            "unknown-petition",
            format!("no petition {id}: entry {id} is not a petition_filed"),
        )
    })
}

pub(crate) fn staff(
    actor: &Actor,
    allowed: &[veche_entry::StaffRole],
    what: &str,
) -> Result<(), Violation> {
    if actor.role == veche_entry::StaffRole::Admin || allowed.contains(&actor.role) {
        Ok(())
    } else {
        Err(Violation::new(
            "wrong-role",
            format!(
                "{what} needs a {} (got {})",
                allowed[0].name(),
                actor.role.name()
            ),
        ))
    }
}

fn needs_threshold(p: &Petition, what: &str) -> Result<(), Violation> {
    if p.threshold.is_none() {
        return Err(Violation::new(
            "threshold-not-reached",
            format!(
                "petition {} has not reached its threshold: nothing to {what}",
                p.id
            ),
        ));
    }
    Ok(())
}

pub(crate) fn check(state: &State, at_ms: u64, payload: &Payload) -> Result<(), Violation> {
    use veche_entry::StaffRole::{Clerk, Moderator};
    match payload {
        Payload::PetitionFiled(f) => {
            if state.jurisdictions.get(&f.jurisdiction).is_none() {
                return Err(unknown_jurisdiction(&f.jurisdiction));
            }
            Ok(())
        }
        Payload::PetitionOpened(o) => {
            let p = get(state, o.petition)?;
            staff(&o.actor, &[Moderator], "opening a petition")?;
            if p.status != PetitionStatus::Filed {
                return Err(Violation::new(
                    "already-moderated",
                    format!(
                        "petition {} is {}, not awaiting moderation",
                        p.id,
                        p.status.name()
                    ),
                ));
            }
            if o.jurisdiction != p.jurisdiction || o.content != p.content {
                return Err(Violation::new(
                    "opening-mismatch",
                    format!(
                        "petition_opened must repeat petition {}'s jurisdiction and content hash",
                        p.id
                    ),
                ));
            }
            let j = state
                .jurisdictions
                .get(&p.jurisdiction)
                .ok_or_else(|| unknown_jurisdiction(&p.jurisdiction))?;
            if o.population != j.current.population {
                return Err(Violation::new(
                    "population-mismatch",
                    format!(
                        "population must be {}'s current figure {}, got {}",
                        p.jurisdiction, j.current.population, o.population
                    ),
                ));
            }
            let months = state.rules(&p.jurisdiction).open_months;
            let closes = add_months_ms(at_ms, months.into());
            if closes != Some(o.closes_at_ms) {
                return Err(Violation::new(
                    "closing-date-mismatch",
                    format!(
                        "closes_at_ms must be the opening time + {months} months = {closes:?}, got {}",
                        o.closes_at_ms
                    ),
                ));
            }
            Ok(())
        }
        Payload::PetitionRejected(r) => {
            let p = get(state, r.petition)?;
            staff(&r.actor, &[Moderator], "rejecting a petition")?;
            if p.status != PetitionStatus::Filed {
                return Err(Violation::new(
                    "already-moderated",
                    format!(
                        "petition {} is {}, not awaiting moderation",
                        p.id,
                        p.status.name()
                    ),
                ));
            }
            Ok(())
        }
        Payload::Signature(s) => {
            let p = get(state, s.petition)?;
            if !p.open_at(at_ms) {
                return Err(Violation::new(
                    "petition-not-open",
                    format!(
                        "petition {} is {} and not open for signatures at {at_ms}",
                        p.id,
                        p.status.name()
                    ),
                ));
            }
            if let Some(i) = p.signature_of(&s.nullifier) {
                return Err(Violation::new(
                    "duplicate-signature",
                    format!("this person already signed petition {} (entry {i})", p.id),
                ));
            }
            Ok(())
        }
        Payload::SignatureInvalidated(v) => {
            let p = get(state, v.petition)?;
            staff(&v.actor, &[Moderator], "invalidating a signature")?;
            match p.signature_invalidated(v.signature) {
                None => Err(Violation::new(
                    "unknown-signature",
                    format!(
                        "entry {} is not a signature of petition {}",
                        v.signature, p.id
                    ),
                )),
                Some(true) => Err(Violation::new(
                    "already-invalidated",
                    format!("signature {} is already invalidated", v.signature),
                )),
                Some(false) => Ok(()),
            }
        }
        Payload::PetitionDelivered(d) => {
            let p = get(state, d.petition)?;
            needs_threshold(p, "deliver")?;
            if p.delivered.is_some() {
                return Err(Violation::new(
                    "already-delivered",
                    format!("petition {} was already delivered", p.id),
                ));
            }
            Ok(())
        }
        Payload::PetitionAcknowledged(a) => {
            let p = get(state, a.petition)?;
            staff(&a.actor, &[Clerk], "acknowledging a petition")?;
            needs_threshold(p, "acknowledge")?;
            if p.acknowledged.is_some() {
                return Err(Violation::new(
                    "already-acknowledged",
                    format!("petition {} was already acknowledged", p.id),
                ));
            }
            Ok(())
        }
        Payload::ConsiderationScheduled(c) => {
            let p = get(state, c.petition)?;
            staff(&c.actor, &[Clerk], "scheduling consideration")?;
            needs_threshold(p, "schedule")?;
            needs_acknowledged(p)?;
            if p.answered_finally() {
                return Err(final_answer(p));
            }
            Ok(())
        }
        Payload::PetitionAnswered(a) => {
            let p = get(state, a.petition)?;
            staff(&a.actor, &[Clerk], "answering a petition")?;
            needs_threshold(p, "answer")?;
            needs_acknowledged(p)?;
            if p.answered_finally() {
                return Err(final_answer(p));
            }
            if let Some(d) = a.deadline
                && d.end_ms() <= at_ms
            {
                return Err(Violation::new(
                    "deadline-in-past",
                    format!("the deadline {d} has already passed"),
                ));
            }
            Ok(())
        }
        Payload::PetitionClosed(c) => {
            let p = get(state, c.petition)?;
            let Some(o) = p
                .opened
                .as_ref()
                .filter(|_| p.status == PetitionStatus::Open)
            else {
                return Err(Violation::new(
                    "petition-not-open",
                    format!(
                        "petition {} is {}: only an open petition closes",
                        p.id,
                        p.status.name()
                    ),
                ));
            };
            match c.reason {
                CloseReason::Expired if at_ms < o.closes_at_ms => {
                    return Err(Violation::new(
                        "not-yet-expired",
                        format!("petition {} is open until {}", p.id, o.closes_at_ms),
                    ));
                }
                CloseReason::Withdrawn if p.threshold.is_some() => {
                    return Err(Violation::new(
                        "withdraw-after-threshold",
                        format!(
                            "petition {} reached its threshold and can no longer be withdrawn",
                            p.id
                        ),
                    ));
                }
                _ => {}
            }
            if c.valid_signatures != p.valid_signatures {
                return Err(Violation::new(
                    "count-mismatch",
                    format!(
                        "petition {} has {} valid signatures, the closing declares {}",
                        p.id, p.valid_signatures, c.valid_signatures
                    ),
                ));
            }
            Ok(())
        }
        other => unreachable!("not a petition kind: {}", other.kind_name()),
    }
}

fn needs_acknowledged(p: &Petition) -> Result<(), Violation> {
    if p.acknowledged.is_none() {
        return Err(Violation::new(
            "not-acknowledged",
            format!("petition {} must be acknowledged first", p.id),
        ));
    }
    Ok(())
}

fn final_answer(p: &Petition) -> Violation {
    Violation::new(
        "already-answered",
        format!("petition {} already has a final decision", p.id),
    )
}

/// Applies a checked petition entry; returns the entry now owed, if any.
pub(crate) fn apply(state: &mut State, index: u64, at_ms: u64, payload: &Payload) -> Option<Entry> {
    if let Payload::PetitionFiled(f) = payload {
        state.petitions_mut().insert(
            index,
            Petition {
                id: index,
                filed_ms: at_ms,
                jurisdiction: f.jurisdiction.clone(),
                content: f.content,
                author: f.author,
                status: PetitionStatus::Filed,
                opened: None,
                rejected: None,
                signatures: 0,
                valid_signatures: 0,
                invalidated: 0,
                invalidations: Vec::new(),
                threshold: None,
                delivered: None,
                acknowledged: None,
                scheduled: Vec::new(),
                answers: Vec::new(),
                closed: None,
                signatures_by_day: BTreeMap::new(),
                nullifiers: HashMap::new(),
                signature_entries: HashMap::new(),
            },
        );
        return None;
    }
    let id = match payload {
        Payload::PetitionOpened(x) => x.petition,
        Payload::PetitionRejected(x) => x.petition,
        Payload::Signature(x) => x.petition,
        Payload::ThresholdReached(x) => x.petition,
        Payload::SignatureInvalidated(x) => x.petition,
        Payload::PetitionDelivered(x) => x.petition,
        Payload::PetitionAcknowledged(x) => x.petition,
        Payload::ConsiderationScheduled(x) => x.petition,
        Payload::PetitionAnswered(x) => x.petition,
        Payload::PetitionClosed(x) => x.petition,
        _ => return None,
    };
    let rules = state
        .petition(id)
        .map(|p| state.rules(&p.jurisdiction))
        .unwrap_or_default();
    let p = state.petitions_mut().get_mut(&id)?;
    match payload {
        Payload::PetitionOpened(o) => {
            p.status = PetitionStatus::Open;
            p.opened = Some(Opening {
                index,
                at_ms,
                population: o.population,
                closes_at_ms: o.closes_at_ms,
                actor: o.actor.clone(),
            });
        }
        Payload::PetitionRejected(r) => {
            p.status = PetitionStatus::Rejected;
            p.rejected = Some(Rejection {
                index,
                at_ms,
                rule: r.rule,
                reason: r.reason.clone(),
                text_hidden: r.text_hidden,
                actor: r.actor.clone(),
            });
        }
        Payload::Signature(s) => {
            p.signatures += 1;
            p.valid_signatures += 1;
            p.nullifiers.insert(s.nullifier, index);
            p.signature_entries.insert(index, (at_ms, false));
            *p.signatures_by_day.entry(at_ms / DAY_MS).or_default() += 1;
            let population = p.opened.as_ref().map_or(u64::MAX, |o| o.population);
            if p.threshold.is_none() && threshold_met(p.valid_signatures, population) {
                return Some(Entry::new(
                    at_ms,
                    ThresholdReached {
                        petition: id,
                        signature: index,
                        valid_signatures: p.valid_signatures,
                        population,
                        acknowledge_by_ms: at_ms + u64::from(rules.acknowledge_days) * DAY_MS,
                        answer_by_ms: at_ms + u64::from(rules.answer_days) * DAY_MS,
                    },
                ));
            }
        }
        Payload::ThresholdReached(t) => {
            p.threshold = Some(Threshold {
                index,
                signature: t.signature,
                at_ms,
                valid_signatures: t.valid_signatures,
                acknowledge_by_ms: t.acknowledge_by_ms,
                answer_by_ms: t.answer_by_ms,
            });
        }
        Payload::SignatureInvalidated(v) => {
            if let Some((sig_ms, inv)) = p.signature_entries.get_mut(&v.signature) {
                *inv = true;
                p.valid_signatures -= 1;
                p.invalidated += 1;
                if let Some(n) = p.signatures_by_day.get_mut(&(*sig_ms / DAY_MS)) {
                    *n -= 1;
                }
                p.invalidations.push(Invalidation {
                    index,
                    at_ms,
                    signature: v.signature,
                    reason: v.reason.clone(),
                    actor: v.actor.clone(),
                });
            }
        }
        Payload::PetitionDelivered(d) => {
            p.delivered = Some(Delivery {
                index,
                at_ms,
                attempts: d.attempts,
            });
        }
        Payload::PetitionAcknowledged(a) => {
            p.acknowledged = Some(Acknowledgement {
                index,
                at_ms,
                actor: a.actor.clone(),
            });
        }
        Payload::ConsiderationScheduled(c) => p.scheduled.push(Scheduling {
            index,
            at_ms,
            date: c.date,
            actor: c.actor.clone(),
        }),
        Payload::PetitionAnswered(a) => p.answers.push(Answer {
            index,
            at_ms,
            answer: a.clone(),
        }),
        Payload::PetitionClosed(c) => {
            p.status = PetitionStatus::Closed;
            p.closed = Some(Closing {
                index,
                at_ms,
                reason: c.reason,
                valid_signatures: c.valid_signatures,
            });
        }
        _ => {}
    }
    None
}
