//! Benchmarks of the counting rules (figures in specs/pb.md):
//!
//! * parsing, greedy and MES (no completion) on `Poland_Lodz_2022.pb`, the
//!   largest file (160 projects, 90,494 ballots);
//! * MES with add1 on `Poland_Lodz_2020_Wzniesien_Lodzkich.pb`, the largest
//!   file with a pabutools `equal-shares+add1` result, and on
//!   `Hungary_Budapest_2024_VIII_Jozsefvaros.pb`, whose add1 pabutools did
//!   not finish (51,514 increments);
//! * MES with add1 on `Switzerland_Zurich_S5.pb` (89 increments, where
//!   the outcome changes often);
//! * Schulze over 1,000,000 random rankings of 20 options, complete, and
//!   partial (each ballot ranks a random number 0..=20 of options).
//!
//! The Pabulib files come from `../shared/pabulib` next to the repository;
//! without it those benchmarks are skipped.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;
use veche_tally::pb::{Completion, PbInstance, equal_shares, greedy};
use veche_tally::{pabulib, poll};

fn pabulib_file(name: &str) -> Option<String> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/pabulib"
    ));
    match std::fs::read_to_string(dir.join(name)) {
        Ok(text) => Some(text),
        Err(_) => {
            println!("skipped: ../shared/pabulib not found ({name})");
            None
        }
    }
}

fn election(text: &str) -> PbInstance {
    PbInstance::from_pabulib(&pabulib::parse(text).unwrap()).unwrap()
}

fn pb_rules(c: &mut Criterion) {
    let mut g = c.benchmark_group("pb");
    g.sample_size(20);
    if let Some(text) = pabulib_file("Poland_Lodz_2022.pb") {
        g.bench_function("parse Poland_Lodz_2022", |b| {
            b.iter(|| pabulib::parse(black_box(&text)).unwrap())
        });
        let pb = election(&text);
        g.bench_function("greedy Poland_Lodz_2022", |b| {
            b.iter(|| greedy(black_box(&pb)))
        });
        g.bench_function("equal-shares Poland_Lodz_2022", |b| {
            b.iter(|| equal_shares(black_box(&pb), Completion::None))
        });
    }
    if let Some(text) = pabulib_file("Poland_Lodz_2020_Wzniesien_Lodzkich.pb") {
        let pb = election(&text);
        g.bench_function(
            "equal-shares+add1 Poland_Lodz_2020_Wzniesien_Lodzkich",
            |b| b.iter(|| equal_shares(black_box(&pb), Completion::Add1)),
        );
    }
    if let Some(text) = pabulib_file("Switzerland_Zurich_S5.pb") {
        let pb = election(&text);
        g.bench_function("equal-shares+add1 Switzerland_Zurich_S5", |b| {
            b.iter(|| equal_shares(black_box(&pb), Completion::Add1))
        });
    }
    g.sample_size(10);
    if let Some(text) = pabulib_file("Hungary_Budapest_2024_VIII_Jozsefvaros.pb") {
        let pb = election(&text);
        g.bench_function("equal-shares+add1 Hungary_Budapest_2024_VIII", |b| {
            b.iter(|| equal_shares(black_box(&pb), Completion::Add1))
        });
    }
    g.finish();
}

/// `n` random rankings of `m` options (a fixed xorshift stream): complete,
/// or (`partial`) each cut after a random number `0..=m` of options.
fn random_rankings(n: usize, m: usize, partial: bool) -> Vec<Vec<usize>> {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    (0..n)
        .map(|_| {
            let mut r: Vec<usize> = (0..m).collect();
            for i in (1..m).rev() {
                r.swap(i, (next() % (i as u64 + 1)) as usize);
            }
            if partial {
                r.truncate((next() % (m as u64 + 1)) as usize);
            }
            r
        })
        .collect()
}

fn schulze(c: &mut Criterion) {
    let mut g = c.benchmark_group("poll");
    g.sample_size(10);
    for (name, partial) in [("complete", false), ("partial", true)] {
        let ballots = random_rankings(1_000_000, 20, partial);
        g.bench_function(format!("schulze 1e6 {name} rankings x 20 options"), |b| {
            b.iter(|| poll::schulze(20, black_box(&ballots)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, pb_rules, schulze);
criterion_main!(benches);
