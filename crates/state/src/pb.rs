//! Participatory-budgeting rounds (R3): the phases of a round (proposals →
//! review → voting → result), ballot constraints, re-voting, and the
//! recount of the declared result with `veche-tally`.
//!
//! Re-voting: the last ballot per nullifier counts. The fold keeps it and
//! updates the per-project approvals by removing the old ballot and adding
//! the new one, in O(size of the ballot).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use veche_entry::{
    Actor, CostedProject, Date, Location, PB_PROJECTS_MAX, Payload, PbResult, PbRule, StaffRole,
    Verdict,
};
use veche_tally::amount::Amount;
use veche_tally::pabulib::{Instance, ProjectRecord, VoteRecord};
use veche_tally::pb::{
    Completion, Money, PbInstance, Project as TallyProject, equal_shares, equal_shares_spending,
    greedy,
};

use crate::petition::staff;
use crate::{State, Violation, unknown_jurisdiction};

/// Where a round is at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PbPhase {
    /// Residents propose projects.
    Proposals,
    /// Organisers review the projects; voting has not opened.
    Review,
    /// Residents vote.
    Voting,
    /// Voting has ended; the result is due.
    Counting,
    /// The result is declared.
    Result,
}

impl PbPhase {
    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Proposals => "proposals",
            Self::Review => "review",
            Self::Voting => "voting",
            Self::Counting => "counting",
            Self::Result => "result",
        }
    }
}

/// An organiser's review of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    /// Log index of `pb_project_reviewed`.
    pub index: u64,
    /// When.
    pub at_ms: u64,
    /// The verdict.
    pub verdict: Verdict,
    /// The cost, if feasible (minor units).
    pub cost: Option<u64>,
    /// The public reason.
    pub reason: String,
    /// The organiser.
    pub actor: Actor,
}

/// A proposed project and its reviews.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PbProject {
    /// Its id: the log index of `pb_project_proposed`.
    pub id: u64,
    /// The round.
    pub round: u64,
    /// When it was proposed.
    pub proposed_ms: u64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Where, if anywhere in particular.
    pub location: Option<Location>,
    /// Category slug.
    pub category: Option<String>,
    /// Reviews in order; the last holds.
    pub reviews: Vec<Review>,
    /// The author's per-round pseudonym.
    #[serde(skip)]
    pub author: [u8; 32],
}

impl PbProject {
    /// The review that holds (the last), if any.
    pub fn review(&self) -> Option<&Review> {
        self.reviews.last()
    }
}

/// What `pb_voting_opened` fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Voting {
    /// Log index of `pb_voting_opened`.
    pub index: u64,
    /// When voting opened.
    pub at_ms: u64,
    /// The budget, minor units.
    pub budget: u64,
    /// The rule.
    pub rule: PbRule,
    /// Most projects per ballot.
    pub max_projects: Option<u16>,
    /// Most a ballot's projects may cost together.
    pub cost_limit: Option<u64>,
    /// When voting ends (exclusive).
    pub closes_at_ms: u64,
    /// The projects on the ballot with their costs, by ascending id.
    pub projects: Vec<CostedProject>,
    /// The organiser.
    pub actor: Actor,
}

/// The declared result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PbDeclared {
    /// Log index of `pb_result`.
    pub index: u64,
    /// When.
    pub at_ms: u64,
    /// The declaration (equal to the recount, or it was not admitted).
    #[serde(flatten)]
    pub result: PbResult,
}

/// What the rule computes from the last ballots (see [`Round::count`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PbCount {
    /// Voters counted.
    pub ballots: u64,
    /// Approvals per project on the ballot, in ballot order.
    pub approvals: Vec<u64>,
    /// Winners in selection order.
    pub winners: Vec<u64>,
    /// Their total cost, minor units.
    pub spent: u64,
    /// For the add1 completions: whole currency units added to each
    /// voter's initial share in the run kept (0 otherwise).
    pub add1_increments: u64,
    /// How many of the last `winners` the greedy completion added.
    pub completed_by_greedy: usize,
}

/// What the voters paid under the Method of Equal Shares (see
/// [`Round::spending`]); money in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PbSpending {
    /// Voters counted.
    pub ballots: u64,
    /// For the add1 completions: whole currency units added to each
    /// voter's initial share in the run kept (0 otherwise).
    pub add1_increments: u64,
    /// Each voter's initial share, exactly: `budget / ballots` plus the
    /// increments, as `numerator/denominator` (or a whole number).
    #[serde(serialize_with = "exact")]
    pub share: Money,
    /// The share in whole minor units, rounded down (for display).
    pub share_units: u64,
    /// What the voters paid together: the cost of the projects MES
    /// selected.
    pub paid_by_voters: u64,
    /// What the greedy completion spent from the budget the voters left
    /// (0 except for `equal_shares_add1_greedy`); no voter pays for it.
    pub greedy_completion: u64,
    /// Each voter, in the log order of their last ballots.
    pub voters: Vec<VoterSpending>,
    /// Voters by the part of their share they paid: bucket `k` counts
    /// `k/10 ≤ paid/share < (k+1)/10`, the last bucket includes 100 %.
    pub histogram: [u64; 10],
}

/// What one voter paid under the Method of Equal Shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoterSpending {
    /// Log index of the voter's last ballot.
    pub ballot: u64,
    /// The voter's nullifier for the round (hex in JSON).
    #[serde(serialize_with = "hex")]
    pub nullifier: [u8; 32],
    /// What the voter paid, exactly (minor units, as
    /// `numerator/denominator` or a whole number).
    #[serde(serialize_with = "exact")]
    pub paid: Money,
    /// What the voter paid in whole minor units, rounded down.
    pub paid_units: u64,
}

fn exact<S: serde::Serializer>(m: &Money, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(m)
}

fn hex32(v: &[u8; 32]) -> String {
    v.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex<S: serde::Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex32(v))
}

/// Micro-degrees as an exact decimal: `54710400` → `54.7104`.
fn micro_degrees(e6: i32) -> String {
    let sign = if e6 < 0 { "-" } else { "" };
    let a = e6.unsigned_abs();
    let (int, frac) = (a / 1_000_000, a % 1_000_000);
    if frac == 0 {
        return format!("{sign}{int}");
    }
    let frac = format!("{frac:06}");
    format!("{sign}{int}.{}", frac.trim_end_matches('0'))
}

/// A voter's last ballot: (log index, nullifier, approved project ids).
type LastBallot<'a> = (u64, &'a [u8; 32], &'a [u64]);

/// Everything the log says about one participatory-budgeting round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Round {
    /// Its id: the log index of `pb_round_opened`.
    pub id: u64,
    /// When it opened.
    pub opened_ms: u64,
    /// The jurisdiction.
    pub jurisdiction: String,
    /// Title in Russian.
    pub title_ru: String,
    /// Title in English.
    pub title_en: String,
    /// Description in Russian.
    pub description_ru: String,
    /// Description in English.
    pub description_en: String,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Decimal places of the minor unit.
    pub scale: u8,
    /// When proposals end (exclusive).
    pub proposals_close_at_ms: u64,
    /// The organiser who opened it.
    pub actor: Actor,
    /// Proposed projects by id.
    pub projects: BTreeMap<u64, PbProject>,
    /// The vote, once opened.
    pub voting: Option<Voting>,
    /// Ballot entries accepted, re-votes included.
    pub ballots_cast: u64,
    /// The declared result.
    pub result: Option<PbDeclared>,
    /// Live approvals of the last ballots, in `voting.projects` order.
    #[serde(skip)]
    approvals: Vec<u64>,
    /// project id → its position in `voting.projects`.
    #[serde(skip)]
    position: HashMap<u64, usize>,
    /// nullifier → (log index, approved ids) of the voter's last ballot.
    #[serde(skip)]
    latest: HashMap<[u8; 32], (u64, Vec<u64>)>,
}

impl Round {
    /// The phase at `now_ms`.
    pub fn phase(&self, now_ms: u64) -> PbPhase {
        match (&self.voting, &self.result) {
            (_, Some(_)) => PbPhase::Result,
            (Some(v), None) if now_ms >= v.closes_at_ms => PbPhase::Counting,
            (Some(_), None) => PbPhase::Voting,
            (None, None) if now_ms < self.proposals_close_at_ms => PbPhase::Proposals,
            (None, None) => PbPhase::Review,
        }
    }

    /// Voters so far: distinct nullifiers.
    pub fn turnout(&self) -> u64 {
        self.latest.len() as u64
    }

    /// Live approvals of each project on the ballot (last ballots only),
    /// in `voting.projects` order; empty before voting.
    pub fn approvals(&self) -> &[u64] {
        &self.approvals
    }

    /// The voter's last ballot: its log index and approved projects.
    pub fn ballot_of(&self, nullifier: &[u8; 32]) -> Option<(u64, &[u64])> {
        self.latest.get(nullifier).map(|(i, a)| (*i, a.as_slice()))
    }

    /// The feasible projects with the cost of their last review, by
    /// ascending id: what `pb_voting_opened.projects` must list.
    pub fn feasible_projects(&self) -> Vec<CostedProject> {
        self.projects
            .values()
            .filter_map(|p| match p.review() {
                Some(Review {
                    verdict: Verdict::Feasible,
                    cost: Some(cost),
                    ..
                }) => Some(CostedProject {
                    project: p.id,
                    cost: *cost,
                }),
                _ => None,
            })
            .collect()
    }

    /// Projects without any review, by id.
    pub fn unreviewed(&self) -> impl Iterator<Item = u64> + '_ {
        self.projects
            .values()
            .filter(|p| p.reviews.is_empty())
            .map(|p| p.id)
    }

    /// Counts the last ballots with the round's rule (`veche-tally`,
    /// exact arithmetic); `None` before voting opened.
    ///
    /// Projects are given to `veche-tally` with their id as a 20-digit
    /// zero-padded decimal, so its tie-break (ids compared as strings)
    /// is by ascending log index: the earlier proposal wins a tie.
    pub fn count(&self) -> Option<PbCount> {
        let v = self.voting.as_ref()?;
        let (inst, _) = self.tally_instance()?;
        let outcome = match v.rule {
            PbRule::Greedy => greedy(&inst),
            PbRule::EqualShares => equal_shares(&inst, Completion::None),
            PbRule::EqualSharesAdd1 => equal_shares(&inst, Completion::Add1),
            PbRule::EqualSharesAdd1Greedy => equal_shares(&inst, Completion::Add1Greedy),
        };
        Some(PbCount {
            ballots: inst.ballot_count() as u64,
            approvals: inst.approvals(),
            winners: outcome
                .winners
                .iter()
                .map(|&i| v.projects[i].project)
                .collect(),
            spent: u64::try_from(outcome.total_cost).expect("winners cost at most the budget"),
            add1_increments: outcome.increments,
            completed_by_greedy: outcome.completed_by_greedy,
        })
    }

    /// The voters' last ballots in log order: (log index, nullifier,
    /// approved ids). The order [`Round::count`] passes them in.
    fn last_ballots(&self) -> Vec<LastBallot<'_>> {
        let mut last: Vec<LastBallot<'_>> = self
            .latest
            .iter()
            .map(|(n, (i, approved))| (*i, n, approved.as_slice()))
            .collect();
        last.sort_unstable_by_key(|(i, _, _)| *i);
        last
    }

    /// The election `veche-tally` counts (see [`Round::count`]), and the
    /// ballots in its order; `None` before voting opened.
    fn tally_instance(&self) -> Option<(PbInstance, Vec<LastBallot<'_>>)> {
        let v = self.voting.as_ref()?;
        let projects: Vec<TallyProject> = v
            .projects
            .iter()
            .map(|p| TallyProject {
                id: format!("{:020}", p.project),
                cost: u128::from(p.cost),
            })
            .collect();
        let last = self.last_ballots();
        let ballots: Vec<Vec<usize>> = last
            .iter()
            .map(|(_, _, approved)| approved.iter().map(|id| self.position[id]).collect())
            .collect();
        let inst = PbInstance::new(
            u128::from(v.budget),
            u32::from(self.scale),
            projects,
            ballots,
        )
        .expect("amounts are at most 2^53 and ballots name projects on the ballot");
        Some((inst, last))
    }

    /// What each voter paid under the Method of Equal Shares
    /// (`specs/pb.md` §2.5), recounted from the last ballots like
    /// [`Round::count`]: `None` before voting opened and for the greedy
    /// rule, which charges nobody. Costs one more MES run than the count.
    pub fn spending(&self) -> Option<PbSpending> {
        let v = self.voting.as_ref()?;
        let completion = match v.rule {
            PbRule::Greedy => return None,
            PbRule::EqualShares => Completion::None,
            PbRule::EqualSharesAdd1 => Completion::Add1,
            PbRule::EqualSharesAdd1Greedy => Completion::Add1Greedy,
        };
        let (inst, last) = self.tally_instance()?;
        let (_, s) = equal_shares_spending(&inst, completion);
        let units = |m: &Money| u64::try_from(m.floor()).unwrap_or(u64::MAX);
        let cost = |c: u128| u64::try_from(c).expect("MES spends at most the budget");
        let voters = last
            .iter()
            .zip(s.iter())
            .map(|((ballot, nullifier, _), paid)| VoterSpending {
                ballot: *ballot,
                nullifier: **nullifier,
                paid_units: units(paid),
                paid: paid.clone(),
            })
            .collect();
        let histogram: [u64; 10] = s
            .histogram(10)
            .try_into()
            .expect("ten buckets were asked for");
        Some(PbSpending {
            ballots: s.voters() as u64,
            add1_increments: s.increments(),
            share_units: units(s.share()),
            share: s.share().clone(),
            paid_by_voters: cost(s.mes_cost()),
            greedy_completion: cost(s.greedy_cost()),
            voters,
            histogram,
        })
    }

    /// The round as a Pabulib instance (`specs/pb-rounds.md` §"Pabulib
    /// export"): what researchers' tools read. `None` until the result is
    /// declared. Voters appear only by their nullifier; project ids are
    /// the log indices zero-padded to one width, so that pabutools'
    /// tie-break (ids as strings) is Veche's (earlier proposal first).
    /// Write it with [`veche_tally::pabulib::write`].
    pub fn to_pabulib(&self) -> Option<Instance> {
        let v = self.voting.as_ref()?;
        let declared = self.result.as_ref()?;
        let scale = u32::from(self.scale);
        let amount = |units: u64| {
            Amount::from_units(u128::from(units), scale)
                .expect("at most 2^53 minor units at scale at most 4")
                .to_string()
        };
        let width = v.projects.last().map_or(1, |p| p.project.to_string().len());
        let id = |project: u64| format!("{project:0width$}");
        let on_ballot: Vec<&PbProject> = v
            .projects
            .iter()
            .map(|p| &self.projects[&p.project])
            .collect();
        let located = on_ballot.iter().any(|p| p.location.is_some());
        let categorised = on_ballot.iter().any(|p| p.category.is_some());
        let mut project_columns = vec!["project_id", "cost", "votes", "name"];
        if categorised {
            project_columns.push("category");
        }
        if located {
            project_columns.extend(["latitude", "longitude"]);
        }
        project_columns.push("selected");
        let projects = v
            .projects
            .iter()
            .zip(&on_ballot)
            .zip(&self.approvals)
            .map(|((c, p), approvals)| ProjectRecord {
                id: id(c.project),
                cost: Amount::from_units(u128::from(c.cost), scale)
                    .expect("at most 2^53 minor units at scale at most 4"),
                name: Some(p.title.clone()),
                category: p.category.clone(),
                latitude: p.location.map(|l| micro_degrees(l.lat_e6)),
                longitude: p.location.map(|l| micro_degrees(l.lon_e6)),
                selected: Some(declared.result.winners.contains(&c.project)),
                other: vec![("votes".into(), approvals.to_string())],
                ..Default::default()
            })
            .collect();
        let votes: Vec<VoteRecord> = self
            .last_ballots()
            .into_iter()
            .map(|(_, nullifier, approved)| VoteRecord {
                voter_id: hex32(nullifier),
                vote: approved.iter().map(|p| self.position[p]).collect(),
                ..Default::default()
            })
            .collect();
        let date = |ms: u64| {
            Date::from_timestamp_ms(ms).map_or_else(String::new, |d| {
                format!("{:02}.{:02}.{:04}", d.day(), d.month(), d.year())
            })
        };
        let (rule, rule_comment) = match v.rule {
            PbRule::Greedy => ("greedy", "greedy_utilitarian_welfare"),
            PbRule::EqualShares => ("equalshares", "method_of_equal_shares"),
            PbRule::EqualSharesAdd1 => (
                "equalshares/add1",
                "method_of_equal_shares with voter_budget_increment=1",
            ),
            PbRule::EqualSharesAdd1Greedy => (
                "equalshares/add1/greedy",
                "completion_by_rule_combination of method_of_equal_shares with voter_budget_increment=1, then greedy_utilitarian_welfare",
            ),
        };
        let total_cost: u128 = v.projects.iter().map(|p| u128::from(p.cost)).sum();
        let mut meta: Vec<(String, String)> = vec![
            (
                "description".into(),
                format!("{} / {}", self.title_ru, self.title_en),
            ),
            ("unit".into(), self.jurisdiction.clone()),
            ("instance".into(), self.id.to_string()),
            ("num_projects".into(), v.projects.len().to_string()),
            ("num_votes".into(), votes.len().to_string()),
            ("budget".into(), amount(v.budget)),
            ("vote_type".into(), "approval".into()),
            ("rule".into(), rule.into()),
            ("date_begin".into(), date(v.at_ms)),
            // Voting ends before closes_at_ms: its last day is that of the
            // millisecond before.
            ("date_end".into(), date(v.closes_at_ms.saturating_sub(1))),
            ("min_length".into(), "1".into()),
        ];
        if let Some(max) = v.max_projects {
            meta.push(("max_length".into(), max.to_string()));
        }
        if let Some(limit) = v.cost_limit {
            meta.push(("max_sum_cost".into(), amount(limit)));
        }
        if total_cost <= u128::from(v.budget) {
            meta.push(("fully_funded".into(), "1".into()));
        }
        meta.push(("currency".into(), self.currency.clone()));
        meta.push((
            "comment".into(),
            format!(
                "#1: Exported from the Veche log: PB round {round} (entry {round}) of jurisdiction {unit}, result declared in entry {result}. \
#2: project_id is the log index of the project's proposal, all padded with zeros to one length so that ids compared as strings (the tie-break of pabutools) order as log indices: the earlier proposal wins a tie. \
#3: voter_id is the voter's nullifier for this round (hex); each voter's last ballot counts; no identity or other voter data is published. \
#4: rule {rule} is pabutools {rule_comment}, with cost satisfaction. \
#5: Amounts are in {currency} with {scale} decimal places; dates are UTC.",
                round = self.id,
                unit = self.jurisdiction,
                result = declared.index,
                currency = self.currency,
            ),
        ));
        Some(Instance {
            meta,
            project_columns: project_columns.into_iter().map(String::from).collect(),
            projects,
            vote_columns: vec!["voter_id".into(), "vote".into()],
            votes,
        })
    }

    /// The `pb_result` payload the round's result must declare, signed
    /// off by `actor`; `None` before voting opened.
    pub fn result_payload(&self, actor: Actor) -> Option<PbResult> {
        let c = self.count()?;
        Some(PbResult {
            round: self.id,
            ballots: c.ballots,
            approvals: c.approvals,
            winners: c.winners,
            spent: c.spent,
            actor,
        })
    }
}

fn get(state: &State, id: u64) -> Result<&Round, Violation> {
    state.round(id).ok_or_else(|| {
        Violation::new(
            "unknown-round",
            format!("no PB round {id}: entry {id} is not a pb_round_opened"),
        )
    })
}

fn in_review(r: &Round, at_ms: u64, what: &str) -> Result<(), Violation> {
    let phase = r.phase(at_ms);
    if phase == PbPhase::Review {
        return Ok(());
    }
    let why = match phase {
        PbPhase::Proposals => format!("it takes proposals until {}", r.proposals_close_at_ms),
        _ => format!("it is in its {} phase", phase.name()),
    };
    Err(Violation::new(
        "not-in-review",
        format!(
            "{what} of PB round {} needs its review phase, but {why}",
            r.id
        ),
    ))
}

pub(crate) fn check(state: &State, at_ms: u64, payload: &Payload) -> Result<(), Violation> {
    match payload {
        Payload::PbRoundOpened(o) => {
            if state.jurisdictions.get(&o.jurisdiction).is_none() {
                return Err(unknown_jurisdiction(&o.jurisdiction));
            }
            staff(&o.actor, &[StaffRole::Organiser], "opening a PB round")?;
            if o.proposals_close_at_ms <= at_ms {
                return Err(Violation::new(
                    "window-in-past",
                    format!(
                        "proposals would close at {}, not after the round opens at {at_ms}",
                        o.proposals_close_at_ms
                    ),
                ));
            }
            Ok(())
        }
        Payload::PbProjectProposed(p) => {
            let r = get(state, p.round)?;
            if r.phase(at_ms) != PbPhase::Proposals {
                return Err(Violation::new(
                    "not-taking-proposals",
                    format!(
                        "PB round {} took proposals until {}; it is in its {} phase at {at_ms}",
                        r.id,
                        r.proposals_close_at_ms,
                        r.phase(at_ms).name()
                    ),
                ));
            }
            if r.projects.len() >= PB_PROJECTS_MAX {
                return Err(Violation::new(
                    "round-full",
                    format!(
                        "PB round {} already has {PB_PROJECTS_MAX} projects, the most a round takes",
                        r.id
                    ),
                ));
            }
            Ok(())
        }
        Payload::PbProjectReviewed(v) => {
            let Some(r) = state.round_of_project(v.project) else {
                return Err(Violation::new(
                    "unknown-project",
                    format!(
                        "no PB project {}: entry {} is not a pb_project_proposed",
                        v.project, v.project
                    ),
                ));
            };
            staff(&v.actor, &[StaffRole::Organiser], "reviewing a project")?;
            in_review(r, at_ms, "reviewing a project")
        }
        Payload::PbVotingOpened(o) => {
            let r = get(state, o.round)?;
            staff(&o.actor, &[StaffRole::Organiser], "opening the vote")?;
            in_review(r, at_ms, "opening the vote")?;
            if o.closes_at_ms <= at_ms {
                return Err(Violation::new(
                    "window-in-past",
                    format!(
                        "voting would close at {}, not after it opens at {at_ms}",
                        o.closes_at_ms
                    ),
                ));
            }
            if let Some(p) = r.unreviewed().next() {
                return Err(Violation::new(
                    "unreviewed-project",
                    format!(
                        "project {p} of PB round {} has no review; every project is reviewed before voting",
                        r.id
                    ),
                ));
            }
            let feasible = r.feasible_projects();
            if o.projects != feasible {
                let at = o
                    .projects
                    .iter()
                    .zip(&feasible)
                    .position(|(a, b)| a != b)
                    .unwrap_or(o.projects.len().min(feasible.len()));
                let show = |l: &[CostedProject]| {
                    l.get(at).map_or("nothing".to_owned(), |p| {
                        format!("project {} at cost {}", p.project, p.cost)
                    })
                };
                return Err(Violation::new(
                    "ballot-projects-mismatch",
                    format!(
                        "the ballot must list exactly the {} feasible projects at their reviewed costs; at position {at} it lists {}, the reviews give {}",
                        feasible.len(),
                        show(&o.projects),
                        show(&feasible)
                    ),
                ));
            }
            if let Some(limit) = o.cost_limit {
                let cheapest = feasible.iter().map(|p| p.cost).min().unwrap_or(0);
                if limit < cheapest {
                    return Err(Violation::new(
                        "cost-limit-unusable",
                        format!(
                            "the cost limit {limit} is below the cheapest project's cost {cheapest}: no ballot could approve anything"
                        ),
                    ));
                }
            }
            Ok(())
        }
        Payload::PbBallot(b) => {
            let r = get(state, b.round)?;
            let Some(v) = r
                .voting
                .as_ref()
                .filter(|_| r.phase(at_ms) == PbPhase::Voting)
            else {
                let when = match &r.voting {
                    None => "voting has not opened".to_owned(),
                    Some(v) => format!("voting ended at {}", v.closes_at_ms),
                };
                return Err(Violation::new(
                    "voting-not-open",
                    format!("PB round {} takes no ballot at {at_ms}: {when}", r.id),
                ));
            };
            if v.at_ms > at_ms {
                return Err(Violation::new(
                    "voting-not-open",
                    format!(
                        "PB round {} opened voting at {}, after the ballot's {at_ms}",
                        r.id, v.at_ms
                    ),
                ));
            }
            let mut total: u128 = 0;
            for id in &b.approved {
                let Some(&i) = r.position.get(id) else {
                    return Err(Violation::new(
                        "not-on-ballot",
                        format!("project {id} is not on PB round {}'s ballot", r.id),
                    ));
                };
                total += u128::from(v.projects[i].cost);
            }
            if let Some(max) = v.max_projects
                && b.approved.len() > usize::from(max)
            {
                return Err(Violation::new(
                    "too-many-projects",
                    format!(
                        "a ballot of PB round {} approves at most {max} projects, this one approves {}",
                        r.id,
                        b.approved.len()
                    ),
                ));
            }
            if let Some(limit) = v.cost_limit
                && total > u128::from(limit)
            {
                return Err(Violation::new(
                    "over-cost-limit",
                    format!(
                        "the projects a ballot of PB round {} approves may cost at most {limit} together, these cost {total}",
                        r.id
                    ),
                ));
            }
            Ok(())
        }
        Payload::PbResult(d) => {
            let r = get(state, d.round)?;
            staff(&d.actor, &[StaffRole::Organiser], "declaring a PB result")?;
            match r.phase(at_ms) {
                PbPhase::Counting => {}
                PbPhase::Result => {
                    return Err(Violation::new(
                        "already-declared",
                        format!("PB round {}'s result is already declared", r.id),
                    ));
                }
                phase => {
                    return Err(Violation::new(
                        "voting-not-closed",
                        format!(
                            "PB round {} is in its {} phase at {at_ms}: a result comes after voting closes",
                            r.id,
                            phase.name()
                        ),
                    ));
                }
            }
            let c = r.count().expect("counting phase has a vote");
            if d.ballots != c.ballots {
                return Err(Violation::new(
                    "ballot-count-mismatch",
                    format!(
                        "PB round {} has {} voters, the result declares {}",
                        r.id, c.ballots, d.ballots
                    ),
                ));
            }
            if d.approvals != c.approvals {
                return Err(Violation::new(
                    "approvals-mismatch",
                    format!(
                        "PB round {} counts approvals {:?}, the result declares {:?}",
                        r.id, c.approvals, d.approvals
                    ),
                ));
            }
            if d.winners != c.winners {
                return Err(Violation::new(
                    "winners-mismatch",
                    format!(
                        "the {} rule selects {:?} in PB round {}, the result declares {:?}",
                        r.voting.as_ref().map_or("", |v| v.rule.name()),
                        c.winners,
                        r.id,
                        d.winners
                    ),
                ));
            }
            if d.spent != c.spent {
                return Err(Violation::new(
                    "spent-mismatch",
                    format!(
                        "PB round {}'s winners cost {}, the result declares {}",
                        r.id, c.spent, d.spent
                    ),
                ));
            }
            Ok(())
        }
        other => unreachable!("not a PB kind: {}", other.kind_name()),
    }
}

/// Applies a checked PB entry.
pub(crate) fn apply(state: &mut State, index: u64, at_ms: u64, payload: &Payload) {
    match payload {
        Payload::PbRoundOpened(o) => {
            state.rounds_mut().insert(
                index,
                Round {
                    id: index,
                    opened_ms: at_ms,
                    jurisdiction: o.jurisdiction.clone(),
                    title_ru: o.title_ru.clone(),
                    title_en: o.title_en.clone(),
                    description_ru: o.description_ru.clone(),
                    description_en: o.description_en.clone(),
                    currency: o.currency.clone(),
                    scale: o.scale,
                    proposals_close_at_ms: o.proposals_close_at_ms,
                    actor: o.actor.clone(),
                    projects: BTreeMap::new(),
                    voting: None,
                    ballots_cast: 0,
                    result: None,
                    approvals: Vec::new(),
                    position: HashMap::new(),
                    latest: HashMap::new(),
                },
            );
        }
        Payload::PbProjectProposed(p) => {
            if let Some(r) = state.rounds_mut().get_mut(&p.round) {
                r.projects.insert(
                    index,
                    PbProject {
                        id: index,
                        round: p.round,
                        proposed_ms: at_ms,
                        title: p.title.clone(),
                        description: p.description.clone(),
                        location: p.location,
                        category: p.category.clone(),
                        reviews: Vec::new(),
                        author: p.author,
                    },
                );
                state.project_rounds_mut().insert(index, p.round);
            }
        }
        Payload::PbProjectReviewed(v) => {
            let Some(&round) = state.project_rounds().get(&v.project) else {
                return;
            };
            if let Some(p) = state
                .rounds_mut()
                .get_mut(&round)
                .and_then(|r| r.projects.get_mut(&v.project))
            {
                p.reviews.push(Review {
                    index,
                    at_ms,
                    verdict: v.verdict,
                    cost: v.cost,
                    reason: v.reason.clone(),
                    actor: v.actor.clone(),
                });
            }
        }
        Payload::PbVotingOpened(o) => {
            if let Some(r) = state.rounds_mut().get_mut(&o.round) {
                r.approvals = vec![0; o.projects.len()];
                r.position = o
                    .projects
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (p.project, i))
                    .collect();
                r.voting = Some(Voting {
                    index,
                    at_ms,
                    budget: o.budget,
                    rule: o.rule,
                    max_projects: o.max_projects,
                    cost_limit: o.cost_limit,
                    closes_at_ms: o.closes_at_ms,
                    projects: o.projects.clone(),
                    actor: o.actor.clone(),
                });
            }
        }
        Payload::PbBallot(b) => {
            let Some(r) = state.rounds_mut().get_mut(&b.round) else {
                return;
            };
            r.ballots_cast += 1;
            let Round {
                approvals,
                position,
                latest,
                ..
            } = r;
            for id in &b.approved {
                if let Some(&i) = position.get(id) {
                    approvals[i] += 1;
                }
            }
            if let Some((_, old)) = latest.insert(b.nullifier, (index, b.approved.clone())) {
                for id in &old {
                    if let Some(&i) = position.get(id) {
                        approvals[i] -= 1;
                    }
                }
            }
        }
        Payload::PbResult(d) => {
            if let Some(r) = state.rounds_mut().get_mut(&d.round) {
                r.result = Some(PbDeclared {
                    index,
                    at_ms,
                    result: d.clone(),
                });
            }
        }
        _ => {}
    }
}

/// The action a PB ballot's passkey assertion commits to (the input of
/// the WebAuthn challenge, `specs/passkeys.md`):
/// `"veche vote pb v1\n" ‖ round id (u64) ‖ number of projects approved
/// (u32) ‖ each project id (u64)`, all big-endian, ids ascending. It names
/// the round and the exact set approved.
pub fn pb_ballot_action(round: u64, approved: &[u64]) -> Vec<u8> {
    let mut a = b"veche vote pb v1\n".to_vec();
    a.extend_from_slice(&round.to_be_bytes());
    a.extend_from_slice(&(approved.len() as u32).to_be_bytes());
    for p in approved {
        a.extend_from_slice(&p.to_be_bytes());
    }
    a
}
