//! Counts one Pabulib file with one rule in-process and prints the winners
//! and the time of the rule alone (parse excluded, the best of REPEAT
//! runs). `scripts/pabutools-bench.sh` times it beside pabutools (with
//! `--json`); it is also the handle for profiling:
//!
//! ```sh
//! cargo run --release -p veche-tally --example count -- FILE.pb equal-shares+add1 [REPEAT] [--json]
//! valgrind --tool=callgrind target/release/examples/count FILE.pb equal-shares+add1 1
//! ```
//!
//! RULE is greedy | equal-shares | equal-shares+add1 | equal-shares+add1+greedy.

use std::time::Instant;
use veche_tally::pabulib;
use veche_tally::pb::{Completion, PbInstance, equal_shares, greedy};

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let json = args.iter().any(|a| a == "--json");
    args.retain(|a| a != "--json");
    let [_, file, rule, rest @ ..] = args.as_slice() else {
        eprintln!("usage: count FILE.pb RULE [REPEAT] [--json]");
        std::process::exit(2);
    };
    const RULES: [&str; 4] = [
        "greedy",
        "equal-shares",
        "equal-shares+add1",
        "equal-shares+add1+greedy",
    ];
    if !RULES.contains(&rule.as_str()) {
        eprintln!("unknown rule {rule}: one of {}", RULES.join(", "));
        std::process::exit(2);
    }
    let repeat: u32 = rest
        .first()
        .map_or(1, |r| r.parse().expect("REPEAT is a number"));
    let text = std::fs::read_to_string(file).expect("readable file");
    let t0 = Instant::now();
    let inst = pabulib::parse(&text).expect("a Pabulib file");
    let pb = PbInstance::from_pabulib(&inst).expect("approval ballots");
    let parsed = t0.elapsed();
    let count = || match rule.as_str() {
        "greedy" => greedy(&pb),
        "equal-shares" => equal_shares(&pb, Completion::None),
        "equal-shares+add1" => equal_shares(&pb, Completion::Add1),
        "equal-shares+add1+greedy" => equal_shares(&pb, Completion::Add1Greedy),
        _ => unreachable!("checked above"),
    };
    let mut best = None;
    let mut out = None;
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        out = Some(count());
        let e = t.elapsed();
        best = Some(best.map_or(e, |b: std::time::Duration| b.min(e)));
    }
    let out = out.expect("at least one run");
    let best = best.expect("at least one run");
    if json {
        let summary = serde_json::json!({
            "winner_ids": out.sorted_ids(&pb),
            "increments": out.increments,
            "parse_seconds": parsed.as_secs_f64(),
            "rule_seconds": best.as_secs_f64(),
        });
        println!("{summary}");
        return;
    }
    println!(
        "{rule}: {:?} (increments {}); parse {parsed:?}, rule {:?} (best of {repeat})",
        out.sorted_ids(&pb),
        out.increments,
        best
    );
}
