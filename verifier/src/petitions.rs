//! Petitions as the audited log declares them: the audit's petitions
//! summary, the legislature deadline report, and one petition's record.
//!
//! Everything here is computed from the [`State`] the audit folded over the
//! whole log (`veche-state`, the same fold the server's sequencer uses), at
//! a moment `now` the user chooses (`--now`, default the system clock).
//! Deadlines are *reported*: a legislature that acknowledged or answered
//! late, or not at all, is listed and counted, but the log is not wrong for
//! it, so the verification does not fail.

use crate::{Result, could_not};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use veche_entry::{Date, Decision, format_timestamp_ms};
use veche_state::{DeadlineStatus, Petition, PetitionStatus, State};

/// Milliseconds since the Unix epoch by the system clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Parses a `--now` value: milliseconds since the Unix epoch (decimal
/// digits), or an RFC 3339 date-time (`2026-11-23T14:00:00Z`,
/// `2026-11-23T17:00:00.250+03:00`; fractions beyond milliseconds are
/// truncated). Not a time: [`could_not`] (exit code 2).
pub fn parse_time(s: &str) -> Result<u64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse()
            .map_err(|_| could_not(format!("--now {s:?}: milliseconds out of range")));
    }
    parse_rfc3339(s).ok_or_else(|| {
        could_not(format!(
            "--now {s:?}: expected milliseconds since the Unix epoch or an RFC 3339 date-time \
             such as 2026-11-23T14:00:00Z"
        ))
    })
}

fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let date = Date::new(
        u16::try_from(num(0..4)?).ok()?,
        u8::try_from(num(5..7)?).ok()?,
        u8::try_from(num(8..10)?).ok()?,
    )
    .ok()?;
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut rest = b.get(19..)?;
    let mut millis = 0u64;
    if let Some((b'.', frac)) = rest.split_first() {
        let digits = frac.iter().take_while(|d| d.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for i in 0..3 {
            millis = millis * 10
                + frac
                    .get(i)
                    .filter(|_| i < digits)
                    .map_or(0, |d| u64::from(d - b'0'));
        }
        rest = &frac[digits..];
    }
    let offset_ms: i64 = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
            let two = |a: u8, b: u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (oh, om) = (two(*oh1, *oh2)?, two(*om1, *om2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let off = (oh * 60 + om) * 60_000;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let local = date.days_since_epoch() * 86_400_000
        + i64::from(h * 3_600_000 + m * 60_000 + sec * 1000)
        + i64::try_from(millis).ok()?;
    u64::try_from(local - offset_ms).ok()
}

/// A timestamp in RFC 3339 (UTC, milliseconds), or the raw number if out of
/// range.
pub fn show_time(ms: u64) -> String {
    format_timestamp_ms(ms).unwrap_or_else(|| format!("{ms} ms"))
}

fn time_json(ms: Option<u64>) -> Value {
    ms.map_or(Value::Null, |ms| json!(show_time(ms)))
}

/// One legislature deadline of a petition that reached its threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// When it is due (exclusive): the threshold entry's deadline, or for
    /// an answer after a `deadline_set` decision the end of the date it set.
    pub due_ms: u64,
    /// When it was done (the acknowledgement, or the decision that counts).
    pub done_ms: Option<u64>,
    /// The log index of the entry that did it.
    pub done_index: Option<u64>,
    /// Met, met late, overdue or pending at the report's `now`.
    pub status: DeadlineStatus,
}

impl Deadline {
    fn to_json(&self) -> Value {
        json!({
            "due_ms": self.due_ms,
            "due": show_time(self.due_ms),
            "done_ms": self.done_ms,
            "done": time_json(self.done_ms),
            "done_index": self.done_index,
            "status": self.status.name(),
        })
    }

    fn words(&self, what: &str) -> String {
        let due = show_time(self.due_ms);
        let done = match (self.done_ms, self.done_index) {
            (Some(ms), Some(i)) => format!("done {} (entry {i})", show_time(ms)),
            _ => "not done".to_owned(),
        };
        format!("{what} {} (due before {due}; {done})", self.status.name())
    }
}

/// The legislature's deadlines for one petition that reached its
/// threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineLine {
    /// The petition id.
    pub petition: u64,
    /// Its jurisdiction.
    pub jurisdiction: String,
    /// The log index of its `threshold_reached`.
    pub threshold_index: u64,
    /// Acknowledging receipt.
    pub acknowledge: Deadline,
    /// Publishing the decision.
    pub answer: Deadline,
}

impl DeadlineLine {
    /// The deadlines of `p` at `now_ms`, if it reached its threshold.
    pub fn of(p: &Petition, now_ms: u64) -> Option<Self> {
        let t = p.threshold.as_ref()?;
        let acknowledge = Deadline {
            due_ms: t.acknowledge_by_ms,
            done_ms: p.acknowledged.as_ref().map(|a| a.at_ms),
            done_index: p.acknowledged.as_ref().map(|a| a.index),
            status: p.acknowledge_status(now_ms),
        };
        // As `Petition::answer_status` judges it: the first decision by
        // `answer_by`; once that is met, after a `deadline_set` decision the
        // final one by the end of the date it set.
        let first = p.answers.first();
        let last = p.answers.last();
        let in_time = first.is_some_and(|a| a.at_ms < t.answer_by_ms);
        let answer = if !in_time {
            Deadline {
                due_ms: t.answer_by_ms,
                done_ms: first.map(|a| a.at_ms),
                done_index: first.map(|a| a.index),
                status: p.answer_status(now_ms),
            }
        } else if let Some(d) = last
            .filter(|a| a.answer.decision == Decision::DeadlineSet)
            .and_then(|a| a.answer.deadline)
        {
            Deadline {
                due_ms: d.end_ms(),
                done_ms: None,
                done_index: None,
                status: p.answer_status(now_ms),
            }
        } else {
            let set = p
                .answers
                .iter()
                .rev()
                .skip(1)
                .find_map(|a| a.answer.deadline);
            Deadline {
                due_ms: set.map_or(t.answer_by_ms, Date::end_ms),
                done_ms: last.map(|a| a.at_ms),
                done_index: last.map(|a| a.index),
                status: p.answer_status(now_ms),
            }
        };
        Some(Self {
            petition: p.id,
            jurisdiction: p.jurisdiction.clone(),
            threshold_index: t.index,
            acknowledge,
            answer,
        })
    }

    /// Whether a deadline was missed (met late or overdue).
    pub fn missed(&self) -> bool {
        self.acknowledge.status.missed() || self.answer.status.missed()
    }

    fn to_json(&self) -> Value {
        json!({
            "petition": self.petition,
            "jurisdiction": self.jurisdiction,
            "threshold_index": self.threshold_index,
            "acknowledge": self.acknowledge.to_json(),
            "answer": self.answer.to_json(),
        })
    }
}

/// The petitions of the log in numbers, and the legislature deadline
/// report, at a given moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The moment deadlines are judged at.
    pub now_ms: u64,
    /// Petitions filed.
    pub petitions: u64,
    /// Petitions per status (`filed`, `rejected`, `open`, `closed`).
    pub by_status: BTreeMap<&'static str, u64>,
    /// Petitions that reached their threshold.
    pub thresholds_reached: u64,
    /// Signatures that count, over all petitions.
    pub signatures_valid: u64,
    /// Signatures invalidated by moderators, over all petitions.
    pub signatures_invalidated: u64,
    /// The deadlines of every petition that reached its threshold, by id.
    pub deadlines: Vec<DeadlineLine>,
}

impl Summary {
    /// The summary of `state` with deadlines judged at `now_ms`.
    pub fn new(state: &State, now_ms: u64) -> Self {
        let mut by_status: BTreeMap<&'static str, u64> = [
            PetitionStatus::Filed,
            PetitionStatus::Rejected,
            PetitionStatus::Open,
            PetitionStatus::Closed,
        ]
        .into_iter()
        .map(|s| (s.name(), 0))
        .collect();
        let mut s = Self {
            now_ms,
            petitions: 0,
            by_status: BTreeMap::new(),
            thresholds_reached: 0,
            signatures_valid: 0,
            signatures_invalidated: 0,
            deadlines: Vec::new(),
        };
        for p in state.petitions() {
            s.petitions += 1;
            *by_status.entry(p.status.name()).or_default() += 1;
            s.signatures_valid += p.valid_signatures;
            s.signatures_invalidated += p.invalidated;
            if let Some(line) = DeadlineLine::of(p, now_ms) {
                s.thresholds_reached += 1;
                s.deadlines.push(line);
            }
        }
        s.by_status = by_status;
        s
    }

    /// How many deadlines (acknowledgements and answers) have `status`.
    pub fn count(&self, status: DeadlineStatus) -> usize {
        self.deadlines
            .iter()
            .flat_map(|d| [d.acknowledge.status, d.answer.status])
            .filter(|s| *s == status)
            .count()
    }

    /// The JSON form (the `petitions` member of `audit --json`).
    pub fn to_json(&self) -> Value {
        json!({
            "count": self.petitions,
            "by_status": self.by_status,
            "thresholds_reached": self.thresholds_reached,
            "signatures": {
                "valid": self.signatures_valid,
                "invalidated": self.signatures_invalidated,
            },
            "deadlines": {
                "now_ms": self.now_ms,
                "now": show_time(self.now_ms),
                "met": self.count(DeadlineStatus::Met),
                "met_late": self.count(DeadlineStatus::MetLate),
                "overdue": self.count(DeadlineStatus::Overdue),
                "pending": self.count(DeadlineStatus::Pending),
                "petitions": self.deadlines.iter().map(DeadlineLine::to_json).collect::<Vec<_>>(),
            },
        })
    }

    /// The text form, one line each, unindented.
    pub fn lines(&self) -> Vec<String> {
        let statuses: Vec<String> = self
            .by_status
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        let mut out = vec![
            format!("petitions: {} ({})", self.petitions, statuses.join(", ")),
            format!(
                "  signatures: {} valid, {} invalidated; thresholds reached: {}",
                self.signatures_valid, self.signatures_invalidated, self.thresholds_reached
            ),
        ];
        if self.deadlines.is_empty() {
            return out;
        }
        out.push(format!(
            "  legislature deadlines at {}: {} met, {} met late, {} overdue, {} pending",
            show_time(self.now_ms),
            self.count(DeadlineStatus::Met),
            self.count(DeadlineStatus::MetLate),
            self.count(DeadlineStatus::Overdue),
            self.count(DeadlineStatus::Pending),
        ));
        for d in &self.deadlines {
            out.push(format!(
                "    {}petition {} ({}, threshold at entry {}): {}; {}",
                if d.missed() { "MISSED " } else { "" },
                d.petition,
                d.jurisdiction,
                d.threshold_index,
                d.acknowledge.words("acknowledgement"),
                d.answer.words("answer"),
            ));
        }
        out
    }
}

/// The petition `id` of the audited `state`, or a verification failure
/// ("no petition N in the log") naming the log's size.
pub fn find(state: &State, id: u64) -> Result<&Petition> {
    state.petition(id).ok_or_else(|| {
        crate::failed(if id < state.size {
            format!("no petition {id} in the log: entry {id} is not a petition_filed")
        } else {
            format!(
                "no petition {id} in the log: the log has {} entries",
                state.size
            )
        })
    })
}

/// One petition's record in JSON, with its deadlines judged at `now_ms`.
pub fn petition_json(state: &State, p: &Petition, now_ms: u64) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert(
            "jurisdiction_name_en".into(),
            json!(
                state
                    .jurisdictions
                    .get(&p.jurisdiction)
                    .map(|j| j.current.name_en.clone())
            ),
        );
        m.insert("signatures_needed".into(), json!(p.signatures_needed()));
        m.insert(
            "deadlines".into(),
            DeadlineLine::of(p, now_ms).map_or(Value::Null, |d| {
                json!({"now_ms": now_ms, "now": show_time(now_ms),
                       "acknowledge": d.acknowledge.to_json(), "answer": d.answer.to_json()})
            }),
        );
    }
    v
}

/// One petition's record as text lines, unindented, deadlines judged at
/// `now_ms`.
pub fn petition_lines(state: &State, p: &Petition, now_ms: u64) -> Vec<String> {
    let name = state
        .jurisdictions
        .get(&p.jurisdiction)
        .map(|j| format!(" ({})", j.current.name_en))
        .unwrap_or_default();
    let mut out = vec![
        format!("jurisdiction:  {}{name}", p.jurisdiction),
        format!("content hash:  {}", hex::encode(p.content)),
        format!("filed:         entry {} at {}", p.id, show_time(p.filed_ms)),
        format!("status:        {}", p.status.name()),
    ];
    if let Some(r) = &p.rejected {
        out.push(format!(
            "rejected:      entry {} at {} by {} {} under rule {}{}: {}",
            r.index,
            show_time(r.at_ms),
            r.actor.role.name(),
            r.actor.pseudonym,
            r.rule,
            if r.text_hidden {
                " (text withheld)"
            } else {
                ""
            },
            r.reason
        ));
    }
    if let Some(o) = &p.opened {
        out.push(format!(
            "opened:        entry {} at {} by {} {}; closes {}",
            o.index,
            show_time(o.at_ms),
            o.actor.role.name(),
            o.actor.pseudonym,
            show_time(o.closes_at_ms)
        ));
        out.push(format!(
            "population:    {}; threshold: {} valid signatures (more than 0.1%)",
            o.population,
            veche_state::threshold_signatures(o.population)
        ));
    }
    out.push(format!(
        "signatures:    {} valid, {} invalidated ({} accepted)",
        p.valid_signatures, p.invalidated, p.signatures
    ));
    match &p.threshold {
        Some(t) => out.push(format!(
            "threshold:     reached at entry {} (crossing signature entry {}) at {} with {} valid signatures",
            t.index,
            t.signature,
            show_time(t.at_ms),
            t.valid_signatures
        )),
        None => out.push("threshold:     not reached".into()),
    }
    if let Some(d) = &p.delivered {
        out.push(format!(
            "delivered:     entry {} at {} after {} attempt(s)",
            d.index,
            show_time(d.at_ms),
            d.attempts
        ));
    }
    if let Some(a) = &p.acknowledged {
        out.push(format!(
            "acknowledged:  entry {} at {} by {} {}",
            a.index,
            show_time(a.at_ms),
            a.actor.role.name(),
            a.actor.pseudonym
        ));
    }
    for s in &p.scheduled {
        out.push(format!(
            "scheduled:     consideration on {} (entry {} at {} by {} {})",
            s.date,
            s.index,
            show_time(s.at_ms),
            s.actor.role.name(),
            s.actor.pseudonym
        ));
    }
    for a in &p.answers {
        let deadline = a
            .answer
            .deadline
            .map(|d| format!(" by {d}"))
            .unwrap_or_default();
        let document = a
            .answer
            .document
            .map(|d| format!("; document {}", hex::encode(d)))
            .unwrap_or_default();
        out.push(format!(
            "answered:      {}{deadline} (entry {} at {} by {} {}){document}: {:?}",
            a.answer.decision.name(),
            a.index,
            show_time(a.at_ms),
            a.answer.actor.role.name(),
            a.answer.actor.pseudonym,
            a.answer.text
        ));
    }
    if let Some(c) = &p.closed {
        out.push(format!(
            "closed:        entry {} at {}, {}, declaring {} valid signatures",
            c.index,
            show_time(c.at_ms),
            match c.reason {
                veche_entry::CloseReason::Expired => "expired",
                veche_entry::CloseReason::Withdrawn => "withdrawn",
            },
            c.valid_signatures
        ));
    }
    if let Some(d) = DeadlineLine::of(p, now_ms) {
        out.push(format!("deadlines at {}:", show_time(now_ms)));
        out.push(format!("  {}", d.acknowledge.words("acknowledgement")));
        out.push(format!("  {}", d.answer.words("answer")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("0").unwrap(), 0);
        assert_eq!(parse_time("1795442400000").unwrap(), 1_795_442_400_000);
        assert_eq!(
            parse_time("2026-11-23T14:00:00Z").unwrap(),
            parse_time("2026-11-23T17:00:00+03:00").unwrap()
        );
        let ms = parse_time("2026-11-23T14:00:00.250Z").unwrap();
        assert_eq!(show_time(ms), "2026-11-23T14:00:00.250Z");
        assert_eq!(parse_time("2026-11-23T14:00:00.2509Z").unwrap(), ms);
        assert_eq!(parse_time("1970-01-01T00:00:00.5Z").unwrap(), 500);
        assert_eq!(
            parse_time("2026-01-01T00:30:00-01:00").unwrap(),
            1_767_231_000_000
        );
        for bad in [
            "",
            "now",
            "2026-11-23",
            "2026-11-23T14:00:00",
            "2026-02-30T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T14:00:00.Z",
            "2026-11-23T14:00:00+0300",
            "1970-01-01T00:00:00+01:00",
            "99999999999999999999999",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
