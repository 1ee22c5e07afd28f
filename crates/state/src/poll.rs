//! Priority polls (R2): which poll entry may follow which, each poll's
//! record, and the recount of its declared tally with `veche-tally`.
//!
//! Re-voting: a voter (nullifier) may vote again while the poll is open;
//! only their last ballot counts. The fold keeps the last ballot per
//! nullifier and updates the per-option counts by removing the old ballot
//! and adding the new one, in O(size of the ballot).

use std::collections::HashMap;

use serde::Serialize;
use veche_entry::{Actor, Payload, PollClosed, PollMethod, PollOption, StaffRole};
use veche_tally::poll::{self as count, SchulzeResult};

use crate::petition::staff;
use crate::{State, Violation, unknown_jurisdiction};

/// Where a poll is at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PollStatus {
    /// Announced; voting has not begun.
    Scheduled,
    /// Taking ballots.
    Open,
    /// The window has ended; the closing entry is due.
    Ended,
    /// Closed, with its tally declared.
    Closed,
}

impl PollStatus {
    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Open => "open",
            Self::Ended => "ended",
            Self::Closed => "closed",
        }
    }
}

/// The declared closing of a poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PollClosing {
    /// Log index of `poll_closed`.
    pub index: u64,
    /// When.
    pub at_ms: u64,
    /// The declared tally (equal to the recount, or it was not admitted).
    #[serde(flatten)]
    pub tally: PollClosed,
}

/// Everything the log says about one poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Poll {
    /// Its id: the log index of `poll_opened`.
    pub id: u64,
    /// When it was announced.
    pub opened_ms: u64,
    /// The jurisdiction whose residents vote.
    pub jurisdiction: String,
    /// The question in Russian.
    pub question_ru: String,
    /// The question in English.
    pub question_en: String,
    /// The options, numbered from 0.
    pub options: Vec<PollOption>,
    /// How it is counted.
    pub method: PollMethod,
    /// First instant a ballot is accepted.
    pub opens_at_ms: u64,
    /// When voting ends (exclusive).
    pub closes_at_ms: u64,
    /// The organiser who opened it.
    pub actor: Actor,
    /// Ballot entries accepted, re-votes included.
    pub ballots_cast: u64,
    /// The closing, once closed.
    pub closed: Option<PollClosing>,
    /// Live per-option counts of the last ballots (votes, approvals, or
    /// first preferences for Schulze). Not published while the poll runs.
    #[serde(skip)]
    counts: Vec<u64>,
    /// nullifier → (log index, choice) of the voter's last ballot.
    #[serde(skip)]
    latest: HashMap<[u8; 32], (u64, Vec<u16>)>,
}

impl Poll {
    /// Voters so far: distinct nullifiers (what the public sees while the
    /// poll runs).
    pub fn turnout(&self) -> u64 {
        self.latest.len() as u64
    }

    /// Where the poll is at `now_ms`.
    pub fn status(&self, now_ms: u64) -> PollStatus {
        if self.closed.is_some() {
            PollStatus::Closed
        } else if now_ms < self.opens_at_ms {
            PollStatus::Scheduled
        } else if now_ms < self.closes_at_ms {
            PollStatus::Open
        } else {
            PollStatus::Ended
        }
    }

    /// Whether a ballot made at `at_ms` falls in the voting window.
    pub fn open_at(&self, at_ms: u64) -> bool {
        self.status(at_ms) == PollStatus::Open
    }

    /// The voter's last ballot: its log index and choice.
    pub fn ballot_of(&self, nullifier: &[u8; 32]) -> Option<(u64, &[u16])> {
        self.latest.get(nullifier).map(|(i, c)| (*i, c.as_slice()))
    }

    /// Live per-option counts of the last ballots: votes (`single`),
    /// approvals (`approval`) or first preferences (`ranked_schulze`).
    /// For the operator and the closing; the public sees only
    /// [`Poll::turnout`] until the poll closes.
    pub fn live_counts(&self) -> &[u64] {
        &self.counts
    }

    /// The last ballot of every voter, by log index.
    fn last_ballots(&self) -> Vec<Vec<usize>> {
        let mut last: Vec<&(u64, Vec<u16>)> = self.latest.values().collect();
        last.sort_unstable_by_key(|(i, _)| *i);
        last.iter()
            .map(|(_, c)| c.iter().map(|&o| usize::from(o)).collect())
            .collect()
    }

    /// The tally of the last ballots, computed with `veche-tally`: the
    /// `poll_closed` payload the closing must declare.
    pub fn tally(&self) -> PollClosed {
        let m = self.options.len();
        let ballots = self.last_ballots();
        let narrow = |v: Vec<usize>| v.into_iter().map(|o| o as u16).collect::<Vec<u16>>();
        const CHECKED: &str = "ballots were checked against the poll when admitted";
        let (counts, ranking, winners) = match self.method {
            PollMethod::Single => {
                let firsts: Vec<usize> = ballots.iter().map(|b| b[0]).collect();
                let t = count::plurality(m, &firsts).expect(CHECKED);
                (t.counts, t.ranking, t.tied_for_first)
            }
            PollMethod::Approval => {
                let t = count::approval(m, &ballots).expect(CHECKED);
                (t.counts, t.ranking, t.tied_for_first)
            }
            PollMethod::RankedSchulze => {
                let s = count::schulze(m, &ballots).expect(CHECKED);
                let mut firsts = vec![0u64; m];
                for b in &ballots {
                    firsts[b[0]] += 1;
                }
                (firsts, s.ranking, s.tied_for_first)
            }
        };
        PollClosed {
            poll: self.id,
            ballots: ballots.len() as u64,
            counts,
            ranking: narrow(ranking),
            winners: narrow(winners),
        }
    }

    /// For a Schulze poll, the full count (pairwise preferences and
    /// strongest paths) of the last ballots, for the result page.
    pub fn schulze(&self) -> Option<SchulzeResult> {
        (self.method == PollMethod::RankedSchulze).then(|| {
            count::schulze(self.options.len(), &self.last_ballots())
                .expect("ballots were checked against the poll when admitted")
        })
    }

    /// Adds (`add`) or removes a ballot's contribution to the live counts.
    fn count(&mut self, choice: &[u16], add: bool) {
        let touched: &[u16] = match self.method {
            PollMethod::Approval => choice,
            PollMethod::Single | PollMethod::RankedSchulze => &choice[..1],
        };
        for &o in touched {
            let c = &mut self.counts[usize::from(o)];
            *c = if add { *c + 1 } else { *c - 1 };
        }
    }
}

fn get(state: &State, id: u64) -> Result<&Poll, Violation> {
    state.poll(id).ok_or_else(|| {
        Violation::new(
            "unknown-poll",
            format!("no poll {id}: entry {id} is not a poll_opened"),
        )
    })
}

pub(crate) fn check(state: &State, at_ms: u64, payload: &Payload) -> Result<(), Violation> {
    match payload {
        Payload::PollOpened(o) => {
            if state.jurisdictions.get(&o.jurisdiction).is_none() {
                return Err(unknown_jurisdiction(&o.jurisdiction));
            }
            staff(&o.actor, &[StaffRole::Organiser], "opening a poll")?;
            if o.closes_at_ms <= at_ms {
                return Err(Violation::new(
                    "window-in-past",
                    format!(
                        "the poll would close at {}, not after its announcement at {at_ms}",
                        o.closes_at_ms
                    ),
                ));
            }
            Ok(())
        }
        Payload::PollBallot(b) => {
            let p = get(state, b.poll)?;
            match p.status(at_ms) {
                PollStatus::Open => {}
                PollStatus::Scheduled => {
                    return Err(Violation::new(
                        "poll-not-open",
                        format!(
                            "poll {} opens for voting at {}, the ballot is at {at_ms}",
                            p.id, p.opens_at_ms
                        ),
                    ));
                }
                PollStatus::Ended | PollStatus::Closed => {
                    return Err(Violation::new(
                        "poll-not-open",
                        format!(
                            "voting in poll {} ended at {}, the ballot is at {at_ms}",
                            p.id, p.closes_at_ms
                        ),
                    ));
                }
            }
            let m = p.options.len();
            if let Some(&o) = b.choice.iter().find(|&&o| usize::from(o) >= m) {
                return Err(Violation::new(
                    "no-such-option",
                    format!(
                        "poll {} has options 0..={}, the ballot names {o}",
                        p.id,
                        m - 1
                    ),
                ));
            }
            match p.method {
                PollMethod::Single if b.choice.len() != 1 => Err(Violation::new(
                    "single-choice-expected",
                    format!(
                        "poll {} is single choice: a ballot names exactly one option, this one names {}",
                        p.id,
                        b.choice.len()
                    ),
                )),
                PollMethod::Approval if b.choice.windows(2).any(|w| w[1] < w[0]) => {
                    Err(Violation::new(
                        "approval-not-ascending",
                        format!(
                            "poll {} is approval: a ballot lists its options in ascending order, got {:?}",
                            p.id, b.choice
                        ),
                    ))
                }
                _ => Ok(()),
            }
        }
        Payload::PollClosed(c) => {
            let p = get(state, c.poll)?;
            match p.status(at_ms) {
                PollStatus::Closed => {
                    return Err(Violation::new(
                        "poll-already-closed",
                        format!("poll {} is already closed", p.id),
                    ));
                }
                PollStatus::Scheduled | PollStatus::Open => {
                    return Err(Violation::new(
                        "poll-still-open",
                        format!(
                            "poll {} takes ballots until {}; it cannot close at {at_ms}",
                            p.id, p.closes_at_ms
                        ),
                    ));
                }
                PollStatus::Ended => {}
            }
            let expected = p.tally();
            if c.ballots != expected.ballots {
                return Err(Violation::new(
                    "ballot-count-mismatch",
                    format!(
                        "poll {} has {} voters, the closing declares {}",
                        p.id, expected.ballots, c.ballots
                    ),
                ));
            }
            if c.counts != expected.counts {
                return Err(Violation::new(
                    "tally-mismatch",
                    format!(
                        "poll {} counts {:?}, the closing declares {:?}",
                        p.id, expected.counts, c.counts
                    ),
                ));
            }
            if c.ranking != expected.ranking {
                return Err(Violation::new(
                    "ranking-mismatch",
                    format!(
                        "poll {} ranks the options {:?}, the closing declares {:?}",
                        p.id, expected.ranking, c.ranking
                    ),
                ));
            }
            if c.winners != expected.winners {
                return Err(Violation::new(
                    "winners-mismatch",
                    format!(
                        "poll {}'s options tied for first are {:?}, the closing declares {:?}",
                        p.id, expected.winners, c.winners
                    ),
                ));
            }
            Ok(())
        }
        other => unreachable!("not a poll kind: {}", other.kind_name()),
    }
}

/// Applies a checked poll entry.
pub(crate) fn apply(state: &mut State, index: u64, at_ms: u64, payload: &Payload) {
    match payload {
        Payload::PollOpened(o) => {
            state.polls_mut().insert(
                index,
                Poll {
                    id: index,
                    opened_ms: at_ms,
                    jurisdiction: o.jurisdiction.clone(),
                    question_ru: o.question_ru.clone(),
                    question_en: o.question_en.clone(),
                    options: o.options.clone(),
                    method: o.method,
                    opens_at_ms: o.opens_at_ms,
                    closes_at_ms: o.closes_at_ms,
                    actor: o.actor.clone(),
                    ballots_cast: 0,
                    closed: None,
                    counts: vec![0; o.options.len()],
                    latest: HashMap::new(),
                },
            );
        }
        Payload::PollBallot(b) => {
            let Some(p) = state.polls_mut().get_mut(&b.poll) else {
                return;
            };
            p.ballots_cast += 1;
            p.count(&b.choice, true);
            if let Some((_, old)) = p.latest.insert(b.nullifier, (index, b.choice.clone())) {
                p.count(&old, false);
            }
        }
        Payload::PollClosed(c) => {
            if let Some(p) = state.polls_mut().get_mut(&c.poll) {
                p.closed = Some(PollClosing {
                    index,
                    at_ms,
                    tally: c.clone(),
                });
            }
        }
        _ => {}
    }
}

/// The action a poll ballot's passkey assertion commits to (the input of
/// the WebAuthn challenge, `specs/passkeys.md`):
/// `"veche vote poll v1\n" ‖ poll id (u64) ‖ number of options chosen (u32)
/// ‖ each option number (u16)`, all big-endian. It names the poll and the
/// exact choice, in order.
pub fn poll_ballot_action(poll: u64, choice: &[u16]) -> Vec<u8> {
    let mut a = b"veche vote poll v1\n".to_vec();
    a.extend_from_slice(&poll.to_be_bytes());
    a.extend_from_slice(&(choice.len() as u32).to_be_bytes());
    for o in choice {
        a.extend_from_slice(&o.to_be_bytes());
    }
    a
}
