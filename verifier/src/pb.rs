//! `veche-verify pb`: count a participatory-budgeting election given as a
//! Pabulib file with the rules of `veche-tally` (see `specs/pb.md`), so
//! that anyone can recompute a PB result, or compare it with pabutools.

use clap::{Args, ValueEnum};
use std::path::PathBuf;
use veche_tally::pabulib;
use veche_tally::pb::{Completion, Outcome, PbInstance, equal_shares, greedy};
use veche_verify::{Error, Result};

/// The counting rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Rule {
    /// By approvals, highest first, skipping projects that do not fit.
    Greedy,
    /// The Method of Equal Shares (cost satisfaction).
    EqualShares,
}

/// The completion of the Method of Equal Shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionArg {
    /// Raise every voter's share by 1 currency unit while the outcome
    /// fits and is not exhaustive.
    Add1,
    /// add1, then greedy on the remaining budget.
    #[value(name = "add1+greedy")]
    Add1Greedy,
}

/// Arguments of `veche-verify pb`.
#[derive(Debug, Args)]
pub struct PbArgs {
    /// The Pabulib `.pb` file (approval ballots).
    #[arg(value_name = "FILE.pb")]
    pub file: PathBuf,
    /// The rule.
    #[arg(long, value_enum)]
    pub rule: Rule,
    /// The completion (equal-shares only).
    #[arg(long, value_enum)]
    pub completion: Option<CompletionArg>,
    /// Print one JSON object on standard output instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::CouldNotCheck(msg.into())
}

/// The rule's name as `expected.json` and `specs/pb.md` write it.
fn rule_name(args: &PbArgs) -> &'static str {
    match (args.rule, args.completion) {
        (Rule::Greedy, _) => "greedy",
        (Rule::EqualShares, None) => "equal-shares",
        (Rule::EqualShares, Some(CompletionArg::Add1)) => "equal-shares+add1",
        (Rule::EqualShares, Some(CompletionArg::Add1Greedy)) => "equal-shares+add1+greedy",
    }
}

struct Counted {
    inst: pabulib::Instance,
    pb: PbInstance,
    out: Outcome,
}

fn count(args: &PbArgs) -> Result<Counted> {
    if args.rule == Rule::Greedy && args.completion.is_some() {
        return Err(bad("--completion applies to --rule equal-shares only"));
    }
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| bad(format!("{}: {e}", args.file.display())))?;
    let inst = pabulib::parse(&text).map_err(|e| bad(format!("{}:{e}", args.file.display())))?;
    let pb = PbInstance::from_pabulib(&inst)
        .map_err(|e| bad(format!("{}: {e}", args.file.display())))?;
    let out = match (args.rule, args.completion) {
        (Rule::Greedy, _) => greedy(&pb),
        (Rule::EqualShares, None) => equal_shares(&pb, Completion::None),
        (Rule::EqualShares, Some(CompletionArg::Add1)) => equal_shares(&pb, Completion::Add1),
        (Rule::EqualShares, Some(CompletionArg::Add1Greedy)) => {
            equal_shares(&pb, Completion::Add1Greedy)
        }
    };
    Ok(Counted { inst, pb, out })
}

/// Runs `veche-verify pb`.
pub fn run(args: &PbArgs) -> Result<()> {
    let result = count(args);
    if args.json {
        let json = match &result {
            Ok(c) => to_json(args, c),
            Err(e) => serde_json::json!({
                "ok": false,
                "exit_code": e.exit_code(),
                "error": e.to_string(),
            }),
        };
        println!("{json}");
        return result.map(|_| ());
    }
    let c = result?;
    let approvals = c.pb.approvals();
    let projects = c.pb.projects();
    println!(
        "{}: {}, {} ballots, {} projects",
        args.file.display(),
        rule_name(args),
        c.pb.ballot_count(),
        projects.len()
    );
    let mut winners = c.out.winners.clone();
    let by_greedy = winners.split_off(winners.len() - c.out.completed_by_greedy);
    let id_w = projects
        .iter()
        .map(|p| p.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    let cost_w = winners
        .iter()
        .chain(&by_greedy)
        .map(|&p| c.pb.format_amount(projects[p].cost).len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "  {:<id_w$}  {:>cost_w$}  {:>9}  name",
        "id", "cost", "approvals"
    );
    let line = |p: usize, note: &str| {
        let name = c.inst.projects[p].name.as_deref().unwrap_or("");
        println!(
            "  {:<id_w$}  {:>cost_w$}  {:>9}  {name}{note}",
            projects[p].id,
            c.pb.format_amount(projects[p].cost),
            approvals[p]
        );
    };
    for &p in &winners {
        line(p, "");
    }
    for &p in &by_greedy {
        line(p, "  (greedy completion)");
    }
    let currency = c.inst.meta_value("currency").unwrap_or("");
    println!(
        "  {} winners, total cost {} of budget {} {currency}",
        c.out.winners.len(),
        c.pb.format_amount(c.out.total_cost),
        c.pb.format_amount(c.pb.budget())
    );
    if args.completion.is_some() {
        println!(
            "  add1: each voter's share raised by {} currency unit(s) in the run kept",
            c.out.increments
        );
    }
    Ok(())
}

fn to_json(args: &PbArgs, c: &Counted) -> serde_json::Value {
    let approvals = c.pb.approvals();
    let projects = c.pb.projects();
    let first_greedy = c.out.winners.len() - c.out.completed_by_greedy;
    let winners: Vec<_> = c
        .out
        .winners
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            serde_json::json!({
                "id": projects[p].id,
                "name": c.inst.projects[p].name,
                "cost": c.pb.format_amount(projects[p].cost),
                "approvals": approvals[p],
                "by": if i >= first_greedy { "greedy-completion" } else { "rule" },
            })
        })
        .collect();
    serde_json::json!({
        "ok": true,
        "file": args.file.display().to_string(),
        "rule": rule_name(args),
        "budget": c.pb.format_amount(c.pb.budget()),
        "currency": c.inst.meta_value("currency"),
        "ballots": c.pb.ballot_count(),
        "projects": projects.len(),
        "winners": winners,
        "winner_ids": c.out.sorted_ids(&c.pb),
        "total_cost": c.pb.format_amount(c.out.total_cost),
        "add1_increments": args.completion.map(|_| c.out.increments),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../crates/tally/tests/fixtures"
        ))
        .join(name)
    }

    fn args(file: PathBuf, rule: Rule, completion: Option<CompletionArg>) -> PbArgs {
        PbArgs {
            file,
            rule,
            completion,
            json: true,
        }
    }

    #[test]
    fn counts_the_fixture_like_pabutools() {
        let file = fixture("France_Toulouse_2022_17_-_Mirail-Universite_Reynerie_Bellefontaine.pb");
        let a = args(
            file.clone(),
            Rule::EqualShares,
            Some(CompletionArg::Add1Greedy),
        );
        let c = count(&a).unwrap();
        assert_eq!(c.out.sorted_ids(&c.pb), ["178", "180", "182", "184", "186"]);
        assert_eq!(c.out.completed_by_greedy, 1);
        let j = to_json(&a, &c);
        assert_eq!(j["rule"], "equal-shares+add1+greedy");
        assert_eq!(j["budget"], "400000");
        assert_eq!(j["winners"][4]["by"], "greedy-completion");
        let g = count(&args(file, Rule::Greedy, None)).unwrap();
        assert_eq!(g.out.sorted_ids(&g.pb), ["182", "183"]);
    }

    #[test]
    fn bad_input_is_exit_code_2() {
        let file = fixture("Worldwide_Mechanical_Turk_Knapsack_3.pb");
        let e = count(&args(file, Rule::Greedy, Some(CompletionArg::Add1)))
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), 2);
        let e = count(&args(fixture("README.md"), Rule::Greedy, None))
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("line 1"), "{e}");
        let e = count(&args(fixture("missing.pb"), Rule::Greedy, None))
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), 2);
    }
}
