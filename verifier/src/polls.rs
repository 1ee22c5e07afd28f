//! Polls and participatory-budgeting rounds as the audited log declares
//! them: the audit's summary, and one poll's or round's record.
//!
//! The audit folds every entry with `veche-state`, which refuses a
//! `poll_ballot` or `pb_ballot` outside the rules (wrong window, unknown
//! option or project, over the round's limits) and recounts every poll and
//! round with `veche-tally` when its `poll_closed` / `pb_result` arrives,
//! refusing one whose counts, ranking, winners or spent amount differ. So
//! a log that audits declares only true tallies; the commands here recount
//! once more from the folded state and compare, so that what they print is
//! the recount, never merely the declaration.

use crate::{Result, failed};
use serde_json::{Value, json};
use veche_entry::{PollClosed, PollMethod};
use veche_state::{PbCount, Poll, Round, State};

/// A timestamp as RFC 3339, or the raw milliseconds if out of range.
fn when(ms: u64) -> String {
    veche_entry::format_timestamp_ms(ms).unwrap_or_else(|| format!("{ms} ms"))
}

/// Counts of the polls and rounds of an audited log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Polls opened.
    pub polls: u64,
    /// Polls closed, whose declared tally was recomputed and agreed.
    pub polls_closed: u64,
    /// Poll ballots accepted, re-votes included.
    pub poll_ballots: u64,
    /// PB rounds opened.
    pub rounds: u64,
    /// Rounds whose result was declared, recomputed and agreed.
    pub rounds_decided: u64,
    /// PB ballots accepted, re-votes included.
    pub pb_ballots: u64,
}

impl Summary {
    /// The summary of `state`, recounting every declared tally.
    pub fn new(state: &State) -> Result<Self> {
        let mut s = Summary::default();
        for p in state.polls() {
            s.polls += 1;
            s.poll_ballots += p.ballots_cast;
            if p.closed.is_some() {
                poll_recount(p)?;
                s.polls_closed += 1;
            }
        }
        for r in state.rounds() {
            s.rounds += 1;
            s.pb_ballots += r.ballots_cast;
            if r.result.is_some() {
                round_recount(r)?;
                s.rounds_decided += 1;
            }
        }
        Ok(s)
    }

    /// The summary as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "polls": self.polls,
            "polls_closed": self.polls_closed,
            "poll_ballots": self.poll_ballots,
            "rounds": self.rounds,
            "rounds_decided": self.rounds_decided,
            "pb_ballots": self.pb_ballots,
            "tallies_recomputed": self.polls_closed + self.rounds_decided,
        })
    }

    /// The summary as text lines.
    pub fn lines(&self) -> Vec<String> {
        vec![
            format!(
                "polls: {} ({} closed, tallies recomputed and agreeing), {} ballots",
                self.polls, self.polls_closed, self.poll_ballots
            ),
            format!(
                "PB rounds: {} ({} with a result, recomputed and agreeing), {} ballots",
                self.rounds, self.rounds_decided, self.pb_ballots
            ),
        ]
    }
}

/// The poll `id`, or a precise failure.
pub fn find_poll(state: &State, id: u64) -> Result<&Poll> {
    state.poll(id).ok_or_else(|| {
        failed(if id >= state.size {
            format!(
                "no poll {id} in the log: the log has {} entries",
                state.size
            )
        } else if state.round(id).is_some() {
            format!("no poll {id} in the log: entry {id} is a pb_round_opened (use pb-round {id})")
        } else {
            format!("no poll {id} in the log: entry {id} is not a poll_opened")
        })
    })
}

/// The PB round `id`, or a precise failure.
pub fn find_round(state: &State, id: u64) -> Result<&Round> {
    state.round(id).ok_or_else(|| {
        failed(if id >= state.size {
            format!(
                "no PB round {id} in the log: the log has {} entries",
                state.size
            )
        } else if state.poll(id).is_some() {
            format!("no PB round {id} in the log: entry {id} is a poll_opened (use poll {id})")
        } else if let Some(p) = state.project(id) {
            format!(
                "no PB round {id} in the log: entry {id} is a pb_project_proposed of round {}",
                p.round
            )
        } else {
            format!("no PB round {id} in the log: entry {id} is not a pb_round_opened")
        })
    })
}

/// The recount of `p`'s last ballots; if the poll is closed, fails unless
/// the declared tally is exactly the recount.
pub fn poll_recount(p: &Poll) -> Result<PollClosed> {
    let recount = p.tally();
    if let Some(c) = &p.closed
        && c.tally != recount
    {
        return Err(failed(format!(
            "poll {}: the poll_closed at entry {} declares {:?}, the ballots give {:?}",
            p.id, c.index, c.tally, recount
        )));
    }
    Ok(recount)
}

/// The recount of `r`'s last ballots (`None` before voting opened); if the
/// result is declared, fails unless it is exactly the recount.
pub fn round_recount(r: &Round) -> Result<Option<PbCount>> {
    let count = r.count();
    if let Some(d) = &r.result {
        let agrees = count.as_ref().is_some_and(|c| {
            d.result.ballots == c.ballots
                && d.result.approvals == c.approvals
                && d.result.winners == c.winners
                && d.result.spent == c.spent
        });
        if !agrees {
            return Err(failed(format!(
                "PB round {}: the pb_result at entry {} declares ballots {}, approvals {:?}, \
                 winners {:?}, spent {}; the ballots give {:?}",
                r.id,
                d.index,
                d.result.ballots,
                d.result.approvals,
                d.result.winners,
                d.result.spent,
                count
            )));
        }
    }
    Ok(count)
}

fn option_label(p: &Poll, o: u16) -> String {
    p.options
        .get(usize::from(o))
        .map_or_else(|| format!("#{o}"), |x| format!("#{o} {:?}", x.en))
}

/// One poll's record in JSON, with its status at `now_ms` and the recount.
pub fn poll_json(p: &Poll, now_ms: u64) -> Result<Value> {
    let recount = poll_recount(p)?;
    let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("status".into(), json!(p.status(now_ms).name()));
        m.insert("turnout".into(), json!(p.turnout()));
        m.insert(
            "recount".into(),
            serde_json::to_value(&recount).unwrap_or(Value::Null),
        );
        if let Some(s) = p.schulze() {
            m.insert("pairwise".into(), json!(s.pairwise));
            m.insert("strength".into(), json!(s.strength));
        }
        m.insert(
            "declared_agrees".into(),
            json!(p.closed.as_ref().map(|_| true)),
        );
    }
    Ok(v)
}

/// One poll's record as text lines.
pub fn poll_lines(p: &Poll, now_ms: u64) -> Result<Vec<String>> {
    let recount = poll_recount(p)?;
    let mut out = vec![
        format!("question (en): {}", p.question_en),
        format!("question (ru): {}", p.question_ru),
        format!(
            "jurisdiction {}, method {}, opened by {} {}",
            p.jurisdiction,
            p.method.name(),
            p.actor.role,
            p.actor.pseudonym
        ),
        format!(
            "window: {} – {} ({})",
            when(p.opens_at_ms),
            when(p.closes_at_ms),
            p.status(now_ms).name()
        ),
        format!(
            "turnout: {} voters ({} ballots cast, re-votes included)",
            p.turnout(),
            p.ballots_cast
        ),
    ];
    let count_name = match p.method {
        PollMethod::Single => "votes",
        PollMethod::Approval => "approvals",
        PollMethod::RankedSchulze => "ranked first",
    };
    out.push(format!("options ({count_name}):"));
    for (i, o) in p.options.iter().enumerate() {
        out.push(format!(
            "  #{i} {:>8}  {} / {}",
            recount.counts.get(i).copied().unwrap_or(0),
            o.en,
            o.ru
        ));
    }
    let ranking: Vec<String> = recount
        .ranking
        .iter()
        .map(|&o| option_label(p, o))
        .collect();
    out.push(format!("ranking: {}", ranking.join(" > ")));
    let winners: Vec<String> = recount
        .winners
        .iter()
        .map(|&o| option_label(p, o))
        .collect();
    out.push(format!(
        "{}: {}",
        if winners.len() > 1 {
            "tied for first"
        } else {
            "winner"
        },
        if winners.is_empty() {
            "none (no ballots)".into()
        } else {
            winners.join(", ")
        }
    ));
    if let Some(s) = p.schulze() {
        out.push("Schulze strongest paths (row beats column):".into());
        for (a, row) in s.strength.iter().enumerate() {
            let cells: Vec<String> = row.iter().map(|x| format!("{x:>6}")).collect();
            out.push(format!("  #{a} {}", cells.join("")));
        }
    }
    out.push(match &p.closed {
        Some(c) => format!(
            "declared: poll_closed at entry {} ({}) agrees with the recount",
            c.index,
            when(c.at_ms)
        ),
        None => "declared: not closed yet (the figures above are the recount so far)".into(),
    });
    Ok(out)
}

/// One round's record in JSON, with its phase at `now_ms` and the recount.
pub fn round_json(r: &Round, now_ms: u64) -> Result<Value> {
    let count = round_recount(r)?;
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("phase".into(), json!(r.phase(now_ms).name()));
        m.insert("turnout".into(), json!(r.turnout()));
        m.insert(
            "recount".into(),
            serde_json::to_value(&count).unwrap_or(Value::Null),
        );
        m.insert(
            "declared_agrees".into(),
            json!(r.result.as_ref().map(|_| true)),
        );
    }
    Ok(v)
}

/// One round's record as text lines.
pub fn round_lines(r: &Round, now_ms: u64) -> Result<Vec<String>> {
    let count = round_recount(r)?;
    let money = |minor: u64| {
        if r.scale == 0 {
            format!("{minor} {}", r.currency)
        } else {
            let d = 10u64.pow(u32::from(r.scale));
            format!(
                "{}.{:0w$} {}",
                minor / d,
                minor % d,
                r.currency,
                w = usize::from(r.scale)
            )
        }
    };
    let mut out = vec![
        format!("title (en): {}", r.title_en),
        format!("title (ru): {}", r.title_ru),
        format!(
            "jurisdiction {}, opened by {} {}, phase {}",
            r.jurisdiction,
            r.actor.role,
            r.actor.pseudonym,
            r.phase(now_ms).name()
        ),
        format!(
            "proposals until {}: {} projects",
            when(r.proposals_close_at_ms),
            r.projects.len()
        ),
    ];
    let Some(v) = &r.voting else {
        out.push("voting: not opened yet".into());
        return Ok(out);
    };
    out.push(format!(
        "voting opened at entry {} ({}), closes {}; rule {}, budget {}{}{}",
        v.index,
        when(v.at_ms),
        when(v.closes_at_ms),
        v.rule.name(),
        money(v.budget),
        v.max_projects.map_or(String::new(), |n| format!(
            ", at most {n} projects a ballot"
        )),
        v.cost_limit.map_or(String::new(), |c| format!(
            ", at most {} a ballot",
            money(c)
        )),
    ));
    out.push(format!(
        "turnout: {} voters ({} ballots cast, re-votes included)",
        r.turnout(),
        r.ballots_cast
    ));
    let count = count.expect("voting opened, so the round counts");
    out.push("projects on the ballot (approvals, cost):".into());
    for (i, cp) in v.projects.iter().enumerate() {
        let title = r.projects.get(&cp.project).map_or("", |p| p.title.as_str());
        let won = if count.winners.contains(&cp.project) {
            "  WINNER"
        } else {
            ""
        };
        out.push(format!(
            "  {:>8} {:>8}  {:>20}  {title}{won}",
            cp.project,
            count.approvals.get(i).copied().unwrap_or(0),
            money(cp.cost)
        ));
    }
    out.push(format!(
        "winners: {:?}; spent {} of {}",
        count.winners,
        money(count.spent),
        money(v.budget)
    ));
    out.push(match &r.result {
        Some(d) => format!(
            "declared: pb_result at entry {} ({}) agrees with the recount",
            d.index,
            when(d.at_ms)
        ),
        None => "declared: no result yet (the figures above are the recount so far)".into(),
    });
    Ok(out)
}
