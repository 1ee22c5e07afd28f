//! Participatory-budgeting rules over approval ballots, computed exactly as
//! pabutools 1.2.3 computes them (see `specs/pb.md`):
//!
//! * [`greedy`] is `greedy_utilitarian_welfare(sat_class=Cost_Sat)`;
//! * [`equal_shares`] with [`Completion::None`] is
//!   `method_of_equal_shares(sat_class=Cost_Sat)`;
//! * [`Completion::Add1`] is the same with `voter_budget_increment=1`;
//! * [`Completion::Add1Greedy`] is `completion_by_rule_combination` of the
//!   two, i.e. add1 then greedy on what is left.
//!
//! Money is an exact integer count of `10^-scale` currency units
//! ([`PbInstance::scale`]); the Method of Equal Shares keeps voters' shares
//! as exact fractions over one common denominator (`BigInt` numerators).
//! No decision uses floating point.

use crate::amount::{Amount, format_units};
use crate::pabulib::{Instance, VoteType};
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Zero};
use std::cmp::Ordering;
use std::collections::HashMap;

mod add1;
mod int;
mod spending;

pub use spending::{Money, Spending, equal_shares_spending};

/// The largest amount (in `10^-scale` units) a PB instance may hold, so
/// that sums of costs over up to 2^24 projects fit in `u128`.
pub const MAX_UNITS: u128 = 10u128.pow(30);

/// A project as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The project's id; ties are broken by comparing ids as strings.
    pub id: String,
    /// The cost, in `10^-scale` currency units.
    pub cost: u128,
}

/// A validated PB election: a budget, projects and approval ballots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbInstance {
    budget: u128,
    scale: u32,
    projects: Vec<Project>,
    /// Ballot `i` approves `approved[ballot_start[i]..ballot_start[i + 1]]`.
    ballot_start: Vec<usize>,
    approved: Vec<u32>,
}

/// Why a PB election cannot be counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PbError {
    /// The ballots are not approval ballots.
    #[error(
        "unsupported vote type `{0}`: only approval (and choose-1) ballots can be counted by the PB rules"
    )]
    UnsupportedVoteType(String),
    /// The budget is missing or not a valid amount.
    #[error("budget: {0}")]
    Budget(String),
    /// An amount exceeds [`MAX_UNITS`] at the instance's scale.
    #[error("{0} is too large (at most 10^30 units of 10^-scale)")]
    TooLarge(String),
    /// Two projects have the same id.
    #[error("project `{0}` is listed twice")]
    DuplicateProject(String),
    /// A ballot names a project index out of range.
    #[error("ballot {ballot} names project index {index}, but there are {projects} projects")]
    ProjectIndex {
        /// The ballot's position.
        ballot: usize,
        /// The bad index.
        index: usize,
        /// How many projects there are.
        projects: usize,
    },
    /// Too many projects or ballots for 32-bit indices.
    #[error("too many projects or ballots")]
    TooMany,
}

impl PbInstance {
    /// Builds an instance: `budget` and costs are in `10^-scale` currency
    /// units; each ballot lists the indices (into `projects`) it approves.
    /// Repeated approvals within a ballot count once (ballots are sets).
    pub fn new(
        budget: u128,
        scale: u32,
        projects: Vec<Project>,
        ballots: Vec<Vec<usize>>,
    ) -> Result<PbInstance, PbError> {
        if budget > MAX_UNITS {
            return Err(PbError::TooLarge("the budget".into()));
        }
        if projects.len() >= 1 << 24 || ballots.len() >= u32::MAX as usize {
            return Err(PbError::TooMany);
        }
        let mut ids = std::collections::HashSet::new();
        for p in &projects {
            if p.cost > MAX_UNITS {
                return Err(PbError::TooLarge(format!("the cost of `{}`", p.id)));
            }
            if !ids.insert(p.id.as_str()) {
                return Err(PbError::DuplicateProject(p.id.clone()));
            }
        }
        PbInstance::from_ballots(budget, scale, projects, ballots.iter().map(Vec::as_slice))
    }

    fn from_ballots<'b>(
        budget: u128,
        scale: u32,
        projects: Vec<Project>,
        ballots: impl ExactSizeIterator<Item = &'b [usize]>,
    ) -> Result<PbInstance, PbError> {
        let n = projects.len();
        let mut ballot_start = Vec::with_capacity(ballots.len() + 1);
        ballot_start.push(0);
        let mut approved = Vec::new();
        for (b, ballot) in ballots.enumerate() {
            let start = approved.len();
            for &index in ballot {
                if index >= n {
                    return Err(PbError::ProjectIndex {
                        ballot: b,
                        index,
                        projects: n,
                    });
                }
                approved.push(index as u32);
            }
            approved[start..].sort_unstable();
            let mut end = start;
            for i in start..approved.len() {
                if i == start || approved[i] != approved[end - 1] {
                    approved[end] = approved[i];
                    end += 1;
                }
            }
            approved.truncate(end);
            ballot_start.push(approved.len());
        }
        Ok(PbInstance {
            budget,
            scale,
            projects,
            ballot_start,
            approved,
        })
    }

    /// Builds the PB election of a parsed Pabulib file. Amounts are brought
    /// to the largest number of decimal places used in the file.
    pub fn from_pabulib(inst: &Instance) -> Result<PbInstance, PbError> {
        let vt = inst.vote_type();
        if !vt.is_approval() {
            return Err(PbError::UnsupportedVoteType(vt.as_str().to_owned()));
        }
        debug_assert!(matches!(vt, VoteType::Approval | VoteType::Choose1));
        let budget = inst.budget().map_err(|e| PbError::Budget(e.to_string()))?;
        let scale = inst
            .projects
            .iter()
            .map(|p| p.cost.scale())
            .chain([budget.scale()])
            .max()
            .unwrap_or(0);
        let at = |a: &Amount, what: &dyn Fn() -> String| {
            a.units_at(scale)
                .filter(|u| *u <= MAX_UNITS)
                .ok_or_else(|| PbError::TooLarge(what()))
        };
        let budget = at(&budget, &|| "the budget".into())?;
        let projects = inst
            .projects
            .iter()
            .map(|p| {
                Ok(Project {
                    id: p.id.clone(),
                    cost: at(&p.cost, &|| format!("the cost of `{}`", p.id))?,
                })
            })
            .collect::<Result<Vec<_>, PbError>>()?;
        if projects.len() >= 1 << 24 || inst.votes.len() >= u32::MAX as usize {
            return Err(PbError::TooMany);
        }
        let mut ids = std::collections::HashSet::new();
        for p in &projects {
            if !ids.insert(p.id.as_str()) {
                return Err(PbError::DuplicateProject(p.id.clone()));
            }
        }
        PbInstance::from_ballots(
            budget,
            scale,
            projects,
            inst.votes.iter().map(|v| v.vote.as_slice()),
        )
    }

    /// The budget limit, in `10^-scale` units.
    pub fn budget(&self) -> u128 {
        self.budget
    }

    /// The number of decimal places of all amounts.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// One whole currency unit (`10^scale`), the add1 increment.
    pub fn currency_unit(&self) -> u128 {
        10u128.pow(self.scale)
    }

    /// The projects.
    pub fn projects(&self) -> &[Project] {
        &self.projects
    }

    /// The number of ballots (voters), empty ballots included.
    pub fn ballot_count(&self) -> usize {
        self.ballot_start.len() - 1
    }

    /// Ballot `i`: the sorted indices of the projects it approves.
    pub fn ballot(&self, i: usize) -> &[u32] {
        &self.approved[self.ballot_start[i]..self.ballot_start[i + 1]]
    }

    /// The ballots, in order.
    pub fn ballots(&self) -> impl ExactSizeIterator<Item = &[u32]> {
        self.ballot_start
            .windows(2)
            .map(|w| &self.approved[w[0]..w[1]])
    }

    /// The number of approvals of each project.
    pub fn approvals(&self) -> Vec<u64> {
        let mut count = vec![0u64; self.projects.len()];
        for &p in &self.approved {
            count[p as usize] += 1;
        }
        count
    }

    /// Formats an amount of `10^-scale` units as a decimal.
    pub fn format_amount(&self, units: u128) -> String {
        format_units(units, self.scale)
    }

    fn total_cost(&self, winners: &[usize]) -> u128 {
        winners.iter().map(|&p| self.projects[p].cost).sum()
    }

    fn id_order(&self, a: usize, b: usize) -> Ordering {
        self.projects[a].id.cmp(&self.projects[b].id)
    }
}

/// What a rule selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The winning projects' indices, in the order the rule selected them.
    pub winners: Vec<usize>,
    /// The winners' total cost, in `10^-scale` units.
    pub total_cost: u128,
    /// For the add1 completion: how many whole currency units were added
    /// to each voter's initial share in the run whose outcome was kept.
    pub increments: u64,
    /// How many of the last `winners` were added by the greedy completion.
    pub completed_by_greedy: usize,
}

impl Outcome {
    fn new(inst: &PbInstance, winners: Vec<usize>) -> Outcome {
        Outcome {
            total_cost: inst.total_cost(&winners),
            winners,
            increments: 0,
            completed_by_greedy: 0,
        }
    }

    /// The winners' ids, sorted as strings (the form `expected.json` uses).
    pub fn sorted_ids(&self, inst: &PbInstance) -> Vec<String> {
        let mut ids: Vec<String> = self
            .winners
            .iter()
            .map(|&p| inst.projects[p].id.clone())
            .collect();
        ids.sort();
        ids
    }
}

/// How [`equal_shares`] spends what the Method of Equal Shares leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Completion {
    /// Plain MES: stop when no project is affordable.
    #[default]
    None,
    /// add1: raise every voter's initial share by one currency unit and
    /// rerun, while the outcome stays within the budget and is not
    /// exhaustive (pabutools' `voter_budget_increment=1`).
    Add1,
    /// add1, then [`greedy`] over the remaining projects and budget.
    Add1Greedy,
}

/// Greedy utilitarian welfare with cost satisfaction: projects by number
/// of approvals, highest first (ties: id ascending as a string; projects
/// of cost 0 or without approvals rank together at the bottom), each
/// selected if it fits in what remains of the budget, skipped otherwise.
pub fn greedy(inst: &PbInstance) -> Outcome {
    greedy_from(inst, Vec::new())
}

/// [`greedy`] starting from an initial selection (kept, and paid for).
fn greedy_from(inst: &PbInstance, initial: Vec<usize>) -> Outcome {
    let approvals = inst.approvals();
    // pabutools' density is total Cost_Sat / cost = approvals for a
    // project with approvals and a positive cost, and 0 otherwise.
    let density = |p: usize| {
        if inst.projects[p].cost > 0 {
            approvals[p]
        } else {
            0
        }
    };
    let mut taken = vec![false; inst.projects.len()];
    for &p in &initial {
        taken[p] = true;
    }
    let mut order: Vec<usize> = (0..inst.projects.len()).filter(|&p| !taken[p]).collect();
    order.sort_by(|&a, &b| density(b).cmp(&density(a)).then(inst.id_order(a, b)));
    let spent = inst.total_cost(&initial);
    let mut remaining = inst.budget.saturating_sub(spent);
    let mut winners = initial;
    for p in order {
        let c = inst.projects[p].cost;
        if c <= remaining {
            remaining -= c;
            winners.push(p);
        }
    }
    Outcome::new(inst, winners)
}

/// The Method of Equal Shares with cost satisfaction, and its completions.
pub fn equal_shares(inst: &PbInstance, completion: Completion) -> Outcome {
    let mut mes = Mes::new(inst);
    let out = match completion {
        Completion::None => Outcome::new(inst, mes.run(0)),
        Completion::Add1 | Completion::Add1Greedy => {
            add1::add1(inst, &mes.candidates, &mes.supporters)
        }
    };
    if completion != Completion::Add1Greedy || is_exhaustive(inst, &out.winners, None) {
        return out;
    }
    let increments = out.increments;
    let before = out.winners.len();
    let mut g = greedy_from(inst, out.winners);
    g.increments = increments;
    g.completed_by_greedy = g.winners.len() - before;
    g
}

/// What the voters hold together at the start of a run at `increment`:
/// `budget + increment · n · unit`, so that each holds `1/n` of it.
fn initial_total(inst: &PbInstance, increment: u64) -> BigInt {
    let total = BigInt::from(inst.budget);
    if increment == 0 {
        return total;
    }
    total
        + BigInt::from(increment)
            * BigInt::from(inst.ballot_count())
            * BigInt::from(inst.currency_unit())
}

/// Whether no further project (among `available`, or all) fits.
fn is_exhaustive(inst: &PbInstance, winners: &[usize], available: Option<&[usize]>) -> bool {
    let cost = inst.total_cost(winners);
    let all: Vec<usize>;
    let available = match available {
        Some(a) => a,
        None => {
            all = (0..inst.projects.len()).collect();
            &all
        }
    };
    available
        .iter()
        .all(|p| winners.contains(p) || inst.projects[*p].cost + cost > inst.budget)
}

/// A positive fraction `num / den` (dimensionless: money per money).
#[derive(Debug, Clone)]
struct Ratio {
    num: BigInt,
    den: BigInt,
}

impl Ratio {
    fn compare(&self, other: &Ratio) -> Ordering {
        (&self.num * &other.den).cmp(&(&other.num * &self.den))
    }
}

/// The state of one run of MES. Voters with the same budget history are
/// kept together in classes (a class is a group of voters with one exact
/// budget); budgets are numerators over the common denominator `den`.
struct Mes<'a> {
    inst: &'a PbInstance,
    /// The candidates: projects with a positive cost and some approval.
    candidates: Vec<usize>,
    /// For each project, the voters approving it.
    supporters: Vec<Vec<u32>>,
    // Per run:
    den: BigInt,
    class_of: Vec<u32>,
    class_budget: Vec<BigInt>,
    class_size: Vec<u32>,
    // Scratch space for histograms.
    count: Vec<u32>,
}

/// A project tied for the best affordability: (project, payment, rich).
type Candidate = (usize, BigInt, u64);

/// What evaluating a project's affordability found.
enum Afford {
    /// Its supporters cannot pay for it any more.
    No,
    /// It costs `rho` per unit of satisfaction: poorer supporters pay
    /// everything, the `rich` others pay `payment / den` each.
    Yes {
        rho: Ratio,
        payment: BigInt,
        rich: u64,
    },
}

impl<'a> Mes<'a> {
    fn new(inst: &'a PbInstance) -> Mes<'a> {
        let mut supporters = vec![Vec::new(); inst.projects.len()];
        for (v, b) in inst.ballots().enumerate() {
            for &p in b {
                supporters[p as usize].push(v as u32);
            }
        }
        let candidates = (0..inst.projects.len())
            .filter(|&p| inst.projects[p].cost > 0 && !supporters[p].is_empty())
            .collect();
        Mes {
            inst,
            candidates,
            supporters,
            den: BigInt::one(),
            class_of: vec![0; inst.ballot_count()],
            class_budget: Vec::new(),
            class_size: Vec::new(),
            count: Vec::new(),
        }
    }

    /// One run of MES where each voter starts with `budget / n` plus
    /// `increment` currency units (the add1 increment; 0 for plain MES).
    fn run(&mut self, increment: u64) -> Vec<usize> {
        let inst = self.inst;
        let n = inst.ballot_count();
        if n == 0 {
            return Vec::new();
        }
        // Each voter's share: (budget + increment · n · unit) / n.
        let total = initial_total(inst, increment);
        let n_big = BigInt::from(n);
        let g = total.gcd(&n_big);
        self.den = if g.is_zero() { n_big } else { &n_big / &g };
        let share = if g.is_zero() {
            BigInt::zero()
        } else {
            &total / &g
        };
        self.class_of.iter_mut().for_each(|c| *c = 0);
        self.class_budget = vec![share];
        self.class_size = vec![n as u32];
        self.count.clear();
        self.count.resize(1, 0);

        let mut winners = Vec::new();
        let mut remaining: Vec<usize> = self.candidates.clone();
        // The last known affordability of each project, a lower bound of
        // the current one (shares only shrink within a run).
        let mut known: Vec<Ratio> = vec![
            Ratio {
                num: BigInt::one(),
                den: BigInt::one(),
            };
            inst.projects.len()
        ];
        for &p in &remaining {
            known[p] = Ratio {
                num: BigInt::one(),
                den: BigInt::from(self.supporters[p].len()),
            };
        }
        loop {
            remaining.sort_by(|&a, &b| known[a].compare(&known[b]));
            // The best (lowest) affordability, and the projects reaching it.
            let mut best: Option<(Ratio, Vec<Candidate>)> = None;
            let mut gone = Vec::new();
            for &p in &remaining {
                if let Some((b, _)) = &best
                    && known[p].compare(b) == Ordering::Greater
                {
                    break;
                }
                match self.afford(p) {
                    Afford::No => gone.push(p),
                    Afford::Yes { rho, payment, rich } => {
                        known[p] = rho.clone();
                        match &mut best {
                            Some((b, tied)) => match rho.compare(b) {
                                Ordering::Less => best = Some((rho, vec![(p, payment, rich)])),
                                Ordering::Equal => tied.push((p, payment, rich)),
                                Ordering::Greater => {}
                            },
                            None => best = Some((rho, vec![(p, payment, rich)])),
                        }
                    }
                }
            }
            remaining.retain(|p| !gone.contains(p));
            let Some((_, tied)) = best else {
                return winners;
            };
            let (p, payment, rich) = tied
                .into_iter()
                .min_by(|a, b| inst.id_order(a.0, b.0))
                .expect("a tie has a project");
            self.pay(p, payment, rich);
            winners.push(p);
            remaining.retain(|&q| q != p);
        }
    }

    /// The affordability of project `p` given the current shares.
    fn afford(&mut self, p: usize) -> Afford {
        let cost = BigInt::from(self.inst.projects[p].cost) * &self.den;
        // Histogram of supporters by class.
        let mut touched: Vec<u32> = Vec::new();
        for &v in &self.supporters[p] {
            let c = self.class_of[v as usize];
            if self.count[c as usize] == 0 {
                touched.push(c);
            }
            self.count[c as usize] += 1;
        }
        let classes: Vec<(u32, u64)> = touched
            .iter()
            .map(|&c| {
                let m = self.count[c as usize];
                self.count[c as usize] = 0;
                (c, u64::from(m))
            })
            .collect();
        let available: BigInt = classes
            .iter()
            .map(|&(c, m)| &self.class_budget[c as usize] * m)
            .sum();
        if available < cost {
            return Afford::No;
        }
        let mut classes = classes;
        classes
            .sort_by(|a, b| self.class_budget[a.0 as usize].cmp(&self.class_budget[b.0 as usize]));
        let mut paid = BigInt::zero();
        let mut rich: u64 = self.supporters[p].len() as u64;
        for &(c, m) in &classes {
            let b = &self.class_budget[c as usize];
            let need = &cost - &paid;
            // Everyone left pays need / rich; can this class pay that?
            if need <= b * rich {
                let rho = Ratio {
                    num: need.clone(),
                    den: &cost * rich,
                };
                return Afford::Yes {
                    rho,
                    payment: need,
                    rich,
                };
            }
            paid += b * m;
            rich -= m;
        }
        unreachable!("the supporters can afford the project")
    }

    /// Charges the supporters of `p`: each pays `min(share, need / rich)`.
    fn pay(&mut self, p: usize, need: BigInt, rich: u64) {
        // Bring the payment need / rich onto the common denominator.
        let rich_big = BigInt::from(rich);
        let g = need.gcd(&rich_big);
        let f = &rich_big / &g;
        let payment = &need / &g;
        if !f.is_one() {
            self.den *= &f;
            for b in &mut self.class_budget {
                *b *= &f;
            }
        }
        // Split classes: the supporters of p in class c move to a new class
        // (or stay, if the whole class supports p).
        for &v in &self.supporters[p] {
            self.count[self.class_of[v as usize] as usize] += 1;
        }
        let mut moved: HashMap<u32, u32> = HashMap::new();
        for &v in &self.supporters[p] {
            let c = self.class_of[v as usize];
            if let Some(&nc) = moved.get(&c) {
                self.class_of[v as usize] = nc;
                continue;
            }
            let m = self.count[c as usize];
            let b = &self.class_budget[c as usize];
            let after = if *b > payment {
                b - &payment
            } else {
                BigInt::zero()
            };
            if m == self.class_size[c as usize] {
                self.class_budget[c as usize] = after;
                moved.insert(c, c);
            } else {
                let nc = self.class_budget.len() as u32;
                self.class_budget.push(after);
                self.class_size.push(m);
                self.class_size[c as usize] -= m;
                self.count.push(0);
                moved.insert(c, nc);
                self.class_of[v as usize] = nc;
            }
        }
        for &c in moved.keys() {
            self.count[c as usize] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pabulib::parse;

    const FILE: &str = "META\nkey;value\nbudget;10.5\nvote_type;VT\nPROJECTS\nproject_id;cost\n\
a;4.25\nb;6\nc;0\nVOTES\nvoter_id;vote\n1;a,b\n2;b\n3;\n";

    #[test]
    fn other_vote_types_parse_but_are_not_counted() {
        for vt in ["ordinal", "cumulative", "scoring"] {
            let inst = parse(&FILE.replace("VT", vt)).unwrap();
            assert_eq!(
                PbInstance::from_pabulib(&inst),
                Err(PbError::UnsupportedVoteType(vt.into()))
            );
        }
        for vt in ["approval", "choose-1"] {
            let inst = parse(&FILE.replace("VT", vt)).unwrap();
            assert!(PbInstance::from_pabulib(&inst).is_ok());
        }
    }

    #[test]
    fn decimal_amounts_are_scaled_exactly() {
        let pb =
            PbInstance::from_pabulib(&parse(&FILE.replace("VT", "approval")).unwrap()).unwrap();
        assert_eq!(
            (pb.budget(), pb.scale(), pb.currency_unit()),
            (1050, 2, 100)
        );
        assert_eq!(pb.projects()[0].cost, 425);
        assert_eq!(pb.ballot_count(), 3);
        // Greedy: b (2 approvals, 6), then a (1 approval, 4.25 ≤ 4.5 left),
        // then the free c.
        let g = greedy(&pb);
        assert_eq!(g.sorted_ids(&pb), ["a", "b", "c"]);
        assert_eq!(pb.format_amount(g.total_cost), "10.25");
        // MES: shares 3.5 each; b costs 6 with supporters 1 and 2 (7 in
        // all): both pay 3; a costs 4.25 but voter 1 has 0.5 left.
        let m = equal_shares(&pb, Completion::None);
        assert_eq!(m.sorted_ids(&pb), ["b"]);
        // The free project is never an MES candidate (cost satisfaction 0);
        // add1+greedy adds it (and a) by greedy.
        let c = equal_shares(&pb, Completion::Add1Greedy);
        assert!(c.winners.contains(&2));
    }

    #[test]
    fn rejects_bad_instances() {
        let p = |id: &str, cost| Project {
            id: id.into(),
            cost,
        };
        assert_eq!(
            PbInstance::new(1, 0, vec![p("a", 1), p("a", 2)], vec![]),
            Err(PbError::DuplicateProject("a".into()))
        );
        assert!(matches!(
            PbInstance::new(1, 0, vec![p("a", 1)], vec![vec![1]]),
            Err(PbError::ProjectIndex { index: 1, .. })
        ));
        assert!(matches!(
            PbInstance::new(MAX_UNITS + 1, 0, vec![], vec![]),
            Err(PbError::TooLarge(_))
        ));
        let pb = PbInstance::new(5, 0, vec![p("a", 1)], vec![vec![0, 0]]).unwrap();
        assert_eq!(pb.ballot(0), [0]);
    }
}
