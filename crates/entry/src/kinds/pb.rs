//! Participatory-budgeting kinds (48–53): a round opened by an organiser,
//! projects proposed by residents, reviewed by organisers, the vote with
//! its budget, rule and ballot constraints fixed, approval ballots, and the
//! declared result.
//!
//! A round is identified by the log index of its `pb_round_opened` entry,
//! a project by the log index of its `pb_project_proposed` entry. Money is
//! an integer count of the currency's minor units; the round declares the
//! currency and its scale (decimal places of a minor unit) once. Which
//! entry may come in which phase, ballot constraints and the recount of
//! the declared result are rules of the `veche-state` crate
//! (`specs/pb-rounds.md`); this module fixes the bytes and the per-field
//! rules.

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, ValidationError};
use crate::kinds::jurisdiction::ID_MAX_BYTES;
use crate::kinds::roll_version::hex32;
use crate::payload::EntryKind;
use crate::time::MAX_TIMESTAMP_MS;
use crate::validate;

/// Largest amount of money (budget, cost, cost limit, spent), in minor
/// units: 2^53 − 1, so every amount is exact as a JSON number in
/// JavaScript.
pub const MONEY_MAX: u64 = (1 << 53) - 1;
/// Largest scale (decimal places of the minor unit) a round may declare.
pub const SCALE_MAX: u8 = 4;
/// Most projects a vote may offer (and a ballot may approve).
pub const PB_PROJECTS_MAX: usize = 1_000;
/// Longest round or project title, in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// Longest round or project description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 5_000;
/// Longest review reason, in characters.
pub const REVIEW_REASON_MAX_CHARS: usize = 2_000;
/// Longest category, in bytes.
pub const CATEGORY_MAX_BYTES: usize = 32;
/// Latitude bound, in micro-degrees (90°).
pub const LAT_E6_MAX: i32 = 90_000_000;
/// Longitude bound, in micro-degrees (180°).
pub const LON_E6_MAX: i32 = 180_000_000;

/// Kind 48, `pb_round_opened`: an organiser opened a participatory-budgeting
/// round of a jurisdiction. Its log index is the round's id. Residents
/// propose projects from this entry's timestamp until
/// `proposals_close_at_ms` (exclusive); review follows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbRoundOpened {
    /// The jurisdiction whose residents propose and vote.
    pub jurisdiction: String,
    /// Title in Russian: one line, 1..=200 characters, trimmed.
    pub title_ru: String,
    /// Title in English: one line, 1..=200 characters, trimmed.
    pub title_en: String,
    /// Description in Russian: multi-line, 1..=5000 characters, trimmed.
    pub description_ru: String,
    /// Description in English: multi-line, 1..=5000 characters, trimmed.
    pub description_en: String,
    /// ISO 4217 code of the currency: three letters `A-Z`, e.g. `RUB`.
    pub currency: String,
    /// Decimal places of the minor unit every amount of the round counts,
    /// 0..=4 (2 for kopecks). One whole currency unit is `10^scale` minor
    /// units: the add1 completion's increment.
    pub scale: u8,
    /// When proposals end (exclusive), ms since the epoch.
    pub proposals_close_at_ms: u64,
    /// The organiser (or administrator).
    pub actor: Actor,
}

impl EntryKind for PbRoundOpened {
    const KIND: u16 = 48;
    const NAME: &'static str = "pb_round_opened";

    fn encode_payload(&self, w: &mut Writer) {
        w.str("jurisdiction", &self.jurisdiction);
        w.str("title_ru", &self.title_ru);
        w.str("title_en", &self.title_en);
        w.str("description_ru", &self.description_ru);
        w.str("description_en", &self.description_en);
        w.str("currency", &self.currency);
        w.u8(self.scale);
        w.u64(self.proposals_close_at_ms);
        w.actor("actor", &self.actor);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            jurisdiction: r.string("jurisdiction")?,
            title_ru: r.string("title_ru")?,
            title_en: r.string("title_en")?,
            description_ru: r.string("description_ru")?,
            description_en: r.string("description_en")?,
            currency: r.string("currency")?,
            scale: r.u8("scale")?,
            proposals_close_at_ms: r.u64("proposals_close_at_ms")?,
            actor: r.actor("actor")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::slug("jurisdiction", &self.jurisdiction, ID_MAX_BYTES)?;
        validate::line("title_ru", &self.title_ru, 1, TITLE_MAX_CHARS)?;
        validate::line("title_en", &self.title_en, 1, TITLE_MAX_CHARS)?;
        validate::multiline(
            "description_ru",
            &self.description_ru,
            1,
            DESCRIPTION_MAX_CHARS,
        )?;
        validate::multiline(
            "description_en",
            &self.description_en,
            1,
            DESCRIPTION_MAX_CHARS,
        )?;
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ValidationError::new(
                "currency",
                format!(
                    "must be an ISO 4217 code of three letters A-Z, got {:?}",
                    self.currency
                ),
            ));
        }
        validate::range("scale", self.scale.into(), 0, SCALE_MAX.into())?;
        validate::range(
            "proposals_close_at_ms",
            self.proposals_close_at_ms,
            0,
            MAX_TIMESTAMP_MS,
        )?;
        self.actor.validate("actor")
    }
}

/// Where a project is, in micro-degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Latitude × 10^6: −90,000,000..=90,000,000.
    pub lat_e6: i32,
    /// Longitude × 10^6: −179,999,999..=180,000,000 (180° W is written as
    /// 180° E, so each meridian has one encoding).
    pub lon_e6: i32,
}

/// Kind 49, `pb_project_proposed`: a resident proposed a project for a
/// round, during its proposal window. Its log index is the project's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbProjectProposed {
    /// The round (log index of its `pb_round_opened` entry).
    pub round: u64,
    /// Title, as the author wrote it: one line, 1..=200 characters.
    pub title: String,
    /// What the project is: multi-line, 1..=5000 characters.
    pub description: String,
    /// Where it would be, if somewhere in particular.
    pub location: Option<Location>,
    /// A category slug from the service's published list (e.g.
    /// `green-spaces`): 1..=32 bytes of `a-z`, `0-9`, `-`.
    pub category: Option<String>,
    /// The author's pseudonym for this round: keyed BLAKE3 of (roll record,
    /// round), as a nullifier; links nothing for the public.
    #[serde(with = "hex32")]
    pub author: [u8; 32],
}

impl EntryKind for PbProjectProposed {
    const KIND: u16 = 49;
    const NAME: &'static str = "pb_project_proposed";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.round);
        w.str("title", &self.title);
        w.str("description", &self.description);
        w.option(self.location.as_ref(), |w, l| {
            w.i32(l.lat_e6);
            w.i32(l.lon_e6);
        });
        w.option(self.category.as_ref(), |w, c| w.str("category", c));
        w.bytes32(&self.author);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            round: r.u64("round")?,
            title: r.string("title")?,
            description: r.string("description")?,
            location: r.option("location", |r| {
                Ok(Location {
                    lat_e6: r.i32("location.lat_e6")?,
                    lon_e6: r.i32("location.lon_e6")?,
                })
            })?,
            category: r.option("category", |r| r.string("category"))?,
            author: r.bytes32("author")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::line("title", &self.title, 1, TITLE_MAX_CHARS)?;
        validate::multiline("description", &self.description, 1, DESCRIPTION_MAX_CHARS)?;
        if let Some(l) = self.location {
            if !(-LAT_E6_MAX..=LAT_E6_MAX).contains(&l.lat_e6) {
                return Err(ValidationError::new(
                    "location.lat_e6",
                    format!(
                        "must be -{LAT_E6_MAX}..={LAT_E6_MAX} micro-degrees, got {}",
                        l.lat_e6
                    ),
                ));
            }
            if !(-LON_E6_MAX + 1..=LON_E6_MAX).contains(&l.lon_e6) {
                return Err(ValidationError::new(
                    "location.lon_e6",
                    format!(
                        "must be -{}..={LON_E6_MAX} micro-degrees, got {}",
                        LON_E6_MAX - 1,
                        l.lon_e6
                    ),
                ));
            }
        }
        if let Some(c) = &self.category {
            validate::slug("category", c, CATEGORY_MAX_BYTES)?;
        }
        Ok(())
    }
}

/// An organiser's verdict on a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Code 1: can be done, at the stated cost.
    Feasible,
    /// Code 2: cannot be done, for the stated reason.
    Infeasible,
}

impl Verdict {
    /// The one-byte code.
    pub const fn code(self) -> u8 {
        match self {
            Self::Feasible => 1,
            Self::Infeasible => 2,
        }
    }

    /// The verdict with code `code`.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Feasible),
            2 => Some(Self::Infeasible),
            _ => None,
        }
    }
}

/// Kind 50, `pb_project_reviewed`: an organiser found a project feasible
/// at a cost, or infeasible for a public reason. A project may be reviewed
/// again during the review phase; its last review holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbProjectReviewed {
    /// The project (log index of its `pb_project_proposed` entry).
    pub project: u64,
    /// The verdict.
    pub verdict: Verdict,
    /// For `feasible` (required there, absent otherwise): the cost in minor
    /// units, 1..=2^53 − 1.
    pub cost: Option<u64>,
    /// Why: required (1..=2000 characters) for `infeasible`, 0..=2000
    /// otherwise (e.g. how the cost was estimated).
    pub reason: String,
    /// The organiser.
    pub actor: Actor,
}

impl EntryKind for PbProjectReviewed {
    const KIND: u16 = 50;
    const NAME: &'static str = "pb_project_reviewed";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.project);
        w.u8(self.verdict.code());
        w.option(self.cost.as_ref(), |w, c| w.u64(*c));
        w.str("reason", &self.reason);
        w.actor("actor", &self.actor);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            project: r.u64("project")?,
            verdict: r.code(
                "verdict",
                "a verdict code (1 feasible, 2 infeasible)",
                Verdict::from_code,
            )?,
            cost: r.option("cost", |r| r.u64("cost"))?,
            reason: r.string("reason")?,
            actor: r.actor("actor")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        match (self.verdict, self.cost) {
            (Verdict::Feasible, None) => {
                return Err(ValidationError::new(
                    "cost",
                    "required when the verdict is feasible",
                ));
            }
            (Verdict::Infeasible, Some(_)) => {
                return Err(ValidationError::new(
                    "cost",
                    "only allowed when the verdict is feasible",
                ));
            }
            (Verdict::Feasible, Some(c)) => validate::range("cost", c, 1, MONEY_MAX)?,
            (Verdict::Infeasible, None) => {}
        }
        let min = usize::from(self.verdict == Verdict::Infeasible);
        validate::multiline("reason", &self.reason, min, REVIEW_REASON_MAX_CHARS)?;
        self.actor.validate("actor")
    }
}

/// The rule that picks a round's winners (`specs/pb.md` §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PbRule {
    /// Code 1: greedy by approvals.
    Greedy,
    /// Code 2: the Method of Equal Shares (cost utilities), no completion.
    EqualShares,
    /// Code 3: the Method of Equal Shares completed by add1.
    EqualSharesAdd1,
    /// Code 4: add1, then greedy over what is left.
    EqualSharesAdd1Greedy,
}

impl PbRule {
    /// Every rule, in code order.
    pub const ALL: [PbRule; 4] = [
        Self::Greedy,
        Self::EqualShares,
        Self::EqualSharesAdd1,
        Self::EqualSharesAdd1Greedy,
    ];

    /// The one-byte code.
    pub const fn code(self) -> u8 {
        match self {
            Self::Greedy => 1,
            Self::EqualShares => 2,
            Self::EqualSharesAdd1 => 3,
            Self::EqualSharesAdd1Greedy => 4,
        }
    }

    /// The rule with code `code`.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Greedy),
            2 => Some(Self::EqualShares),
            3 => Some(Self::EqualSharesAdd1),
            4 => Some(Self::EqualSharesAdd1Greedy),
            _ => None,
        }
    }

    /// Its JSON name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Greedy => "greedy",
            Self::EqualShares => "equal_shares",
            Self::EqualSharesAdd1 => "equal_shares_add1",
            Self::EqualSharesAdd1Greedy => "equal_shares_add1_greedy",
        }
    }
}

/// A project on the ballot, with the cost its review fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostedProject {
    /// The project (log index of its `pb_project_proposed` entry).
    pub project: u64,
    /// Its cost in minor units, 1..=2^53 − 1.
    pub cost: u64,
}

/// Kind 51, `pb_voting_opened`: review ended and voting began (at this
/// entry's timestamp, until `closes_at_ms` exclusive). Fixes everything the
/// count depends on: the budget, the rule, the ballot constraints, and the
/// projects on the ballot with their costs (every project whose last review
/// is `feasible`, by ascending id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbVotingOpened {
    /// The round.
    pub round: u64,
    /// The money to spend, minor units, 1..=2^53 − 1.
    pub budget: u64,
    /// The rule that picks the winners.
    pub rule: PbRule,
    /// Most projects one ballot may approve (absent: no limit), 1..=1000.
    pub max_projects: Option<u16>,
    /// Most a ballot's approved projects may cost together, minor units
    /// (absent: no limit; equal to `budget` for knapsack ballots).
    pub cost_limit: Option<u64>,
    /// When voting ends (exclusive), ms since the epoch.
    pub closes_at_ms: u64,
    /// The projects on the ballot, 1..=1000, by strictly ascending id.
    pub projects: Vec<CostedProject>,
    /// The organiser.
    pub actor: Actor,
}

impl EntryKind for PbVotingOpened {
    const KIND: u16 = 51;
    const NAME: &'static str = "pb_voting_opened";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.round);
        w.u64(self.budget);
        w.u8(self.rule.code());
        w.option(self.max_projects.as_ref(), |w, m| w.u16(*m));
        w.option(self.cost_limit.as_ref(), |w, c| w.u64(*c));
        w.u64(self.closes_at_ms);
        w.list(&self.projects, |w, p| {
            w.u64(p.project);
            w.u64(p.cost);
        });
        w.actor("actor", &self.actor);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            round: r.u64("round")?,
            budget: r.u64("budget")?,
            rule: r.code(
                "rule",
                "a PB rule code (1 greedy, 2 equal_shares, 3 equal_shares_add1, 4 equal_shares_add1_greedy)",
                PbRule::from_code,
            )?,
            max_projects: r.option("max_projects", |r| r.u16("max_projects"))?,
            cost_limit: r.option("cost_limit", |r| r.u64("cost_limit"))?,
            closes_at_ms: r.u64("closes_at_ms")?,
            projects: r.list("projects", |r| {
                Ok(CostedProject {
                    project: r.u64("projects")?,
                    cost: r.u64("projects")?,
                })
            })?,
            actor: r.actor("actor")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::range("budget", self.budget, 1, MONEY_MAX)?;
        if let Some(m) = self.max_projects {
            validate::range("max_projects", m.into(), 1, PB_PROJECTS_MAX as u64)?;
        }
        if let Some(c) = self.cost_limit {
            validate::range("cost_limit", c, 1, MONEY_MAX)?;
        }
        validate::range("closes_at_ms", self.closes_at_ms, 0, MAX_TIMESTAMP_MS)?;
        validate::count("projects", self.projects.len(), 1, PB_PROJECTS_MAX)?;
        for (i, p) in self.projects.iter().enumerate() {
            if i > 0 && p.project <= self.projects[i - 1].project {
                return Err(ValidationError::new(
                    format!("projects[{i}].project"),
                    "must be in ascending order, each project once",
                ));
            }
            validate::range(&format!("projects[{i}].cost"), p.cost, 1, MONEY_MAX)?;
        }
        self.actor.validate("actor")
    }
}

/// Kind 52, `pb_ballot`: an enrolled resident approved projects with a
/// passkey. A later ballot under the same nullifier replaces this one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbBallot {
    /// The round.
    pub round: u64,
    /// Keyed BLAKE3 of (roll record, round) under the server's nullifier
    /// key.
    #[serde(with = "hex32")]
    pub nullifier: [u8; 32],
    /// The approved projects' ids, 1..=1000, strictly ascending (a set has
    /// one encoding).
    pub approved: Vec<u64>,
    /// BLAKE3 commitment to the full WebAuthn assertion, whose challenge
    /// commits to this set (`specs/pb-rounds.md`).
    #[serde(with = "hex32")]
    pub assertion: [u8; 32],
}

impl EntryKind for PbBallot {
    const KIND: u16 = 52;
    const NAME: &'static str = "pb_ballot";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.round);
        w.bytes32(&self.nullifier);
        w.list(&self.approved, |w, p| w.u64(*p));
        w.bytes32(&self.assertion);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            round: r.u64("round")?,
            nullifier: r.bytes32("nullifier")?,
            approved: r.list("approved", |r| r.u64("approved"))?,
            assertion: r.bytes32("assertion")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::count("approved", self.approved.len(), 1, PB_PROJECTS_MAX)?;
        ascending("approved", &self.approved)
    }
}

/// Strictly ascending (so each id once).
fn ascending(field: &str, ids: &[u64]) -> Result<(), ValidationError> {
    match ids.windows(2).position(|w| w[1] <= w[0]) {
        Some(i) => Err(ValidationError::new(
            format!("{field}[{}]", i + 1),
            "must be in ascending order, each project once",
        )),
        None => Ok(()),
    }
}

/// Kind 53, `pb_result`: an organiser published the round's result after
/// voting closed. Declares what the rule computes from the last ballot of
/// every voter; the verifier recounts it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbResult {
    /// The round.
    pub round: u64,
    /// Voters counted: distinct nullifiers, each with its last ballot.
    pub ballots: u64,
    /// Approvals of each project on the ballot, in the order of
    /// `pb_voting_opened.projects`; each at most `ballots`.
    pub approvals: Vec<u64>,
    /// The winning projects' ids, in the order the rule selected them.
    pub winners: Vec<u64>,
    /// The winners' total cost, minor units.
    pub spent: u64,
    /// The organiser.
    pub actor: Actor,
}

impl EntryKind for PbResult {
    const KIND: u16 = 53;
    const NAME: &'static str = "pb_result";

    fn encode_payload(&self, w: &mut Writer) {
        w.u64(self.round);
        w.u64(self.ballots);
        w.list(&self.approvals, |w, a| w.u64(*a));
        w.list(&self.winners, |w, p| w.u64(*p));
        w.u64(self.spent);
        w.actor("actor", &self.actor);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            round: r.u64("round")?,
            ballots: r.u64("ballots")?,
            approvals: r.list("approvals", |r| r.u64("approvals"))?,
            winners: r.list("winners", |r| r.u64("winners"))?,
            spent: r.u64("spent")?,
            actor: r.actor("actor")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::count("approvals", self.approvals.len(), 1, PB_PROJECTS_MAX)?;
        if let Some((i, a)) = self
            .approvals
            .iter()
            .enumerate()
            .find(|&(_, &a)| a > self.ballots)
        {
            return Err(ValidationError::new(
                format!("approvals[{i}]"),
                format!("must be ≤ ballots ({}), got {a}", self.ballots),
            ));
        }
        validate::count("winners", self.winners.len(), 0, self.approvals.len())?;
        for (i, p) in self.winners.iter().enumerate() {
            if let Some(j) = self.winners[..i].iter().position(|q| q == p) {
                return Err(ValidationError::new(
                    format!("winners[{i}]"),
                    format!("repeats winners[{j}] (project {p})"),
                ));
            }
        }
        validate::range("spent", self.spent, 0, MONEY_MAX)?;
        self.actor.validate("actor")
    }
}
