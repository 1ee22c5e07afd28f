//! Sequencer and proof-serving speed.
//!
//! * `tilewriter/append_prehashed_1M`: TileWriter::append of 1,000,000
//!   precomputed leaf hashes (plus collecting the changed tiles once).
//! * `tilewriter/append_hash_200B_1M`: the same including the RFC 6962 leaf
//!   hashing of 200-byte entries.
//! * `proofs_from_tiles/*`: inclusion/consistency proofs and roots for a tree
//!   of 1,000,000 leaves computed from stored hash tiles only (as the server
//!   does; no MemoryTree), and proof verification.
//!
//! Throughput is reported in elements (entries or proofs) per second.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;
use veche_log::tiles::{subtree_from_tile, tile_for_subtree};
use veche_log::{
    Hash, Subtree, TileWriter, consistency_proof, inclusion_proof, leaf_hash, root,
    verify_consistency, verify_inclusion,
};

const N: u64 = 1_000_000;

fn leaves() -> Vec<Hash> {
    (0..N).map(|i| leaf_hash(&i.to_le_bytes())).collect()
}

fn bench_append(c: &mut Criterion) {
    let hashes = leaves();
    let mut g = c.benchmark_group("tilewriter");
    g.throughput(Throughput::Elements(N));
    g.bench_function("append_prehashed_1M", |b| {
        b.iter(|| {
            let mut w = TileWriter::new();
            for h in &hashes {
                w.append(*h);
            }
            black_box(w.take_changed_tiles().len());
            black_box(w.root())
        })
    });
    // Baseline: only the leaf hashes of the same entries; integration adds
    // about one node hash per entry on top of this.
    g.bench_function("baseline_leaf_hash_only_200B_1M", |b| {
        let mut entry = [0x5au8; 200];
        b.iter(|| {
            let mut acc = 0u8;
            for i in 0..N {
                entry[..8].copy_from_slice(&i.to_le_bytes());
                acc ^= leaf_hash(&entry).0[0];
            }
            black_box(acc)
        })
    });
    g.bench_function("append_hash_200B_1M", |b| {
        let mut entry = [0x5au8; 200];
        b.iter(|| {
            let mut w = TileWriter::new();
            for i in 0..N {
                entry[..8].copy_from_slice(&i.to_le_bytes());
                w.append(leaf_hash(&entry));
            }
            black_box(w.take_changed_tiles().len());
            black_box(w.root())
        })
    });
    g.finish();
}

/// Tiles of a 1M-leaf tree, keyed by (level, index): the widest version.
fn tile_store() -> HashMap<(u8, u64), Vec<u8>> {
    let mut w = TileWriter::new();
    for h in leaves() {
        w.append(h);
    }
    w.take_changed_tiles()
        .into_iter()
        .map(|(p, b)| ((p.level().unwrap(), p.index()), b))
        .collect()
}

fn bench_proofs(c: &mut Criterion) {
    let store = tile_store();
    let mut get = |st: Subtree| -> Result<Hash, String> {
        let (l, i, _) = tile_for_subtree(st);
        let data = store.get(&(l, i)).ok_or("missing tile")?;
        subtree_from_tile(st, data).map_err(|e| e.to_string())
    };
    let full_root = root(N, &mut get).unwrap();
    let mut g = c.benchmark_group("proofs_from_tiles");
    g.throughput(Throughput::Elements(1));

    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };

    g.bench_function(BenchmarkId::new("root", N), |b| {
        b.iter(|| black_box(root(N - (next() % 1000), &mut get).unwrap()))
    });
    g.bench_function(BenchmarkId::new("inclusion_proof", N), |b| {
        b.iter(|| black_box(inclusion_proof(next() % N, N, &mut get).unwrap()))
    });
    g.bench_function(BenchmarkId::new("consistency_proof", N), |b| {
        b.iter(|| black_box(consistency_proof(1 + next() % (N - 1), N, &mut get).unwrap()))
    });

    let index = 123_457;
    let proof = inclusion_proof(index, N, &mut get).unwrap();
    let leaf = leaf_hash(&index.to_le_bytes());
    g.bench_function(BenchmarkId::new("verify_inclusion", N), |b| {
        b.iter(|| verify_inclusion(&leaf, index, N, black_box(&proof), &full_root).unwrap())
    });
    let old = 654_321;
    let old_root = root(old, &mut get).unwrap();
    let cproof = consistency_proof(old, N, &mut get).unwrap();
    g.bench_function(BenchmarkId::new("verify_consistency", N), |b| {
        b.iter(|| verify_consistency(old, N, &old_root, &full_root, black_box(&cproof)).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = bench_append, bench_proofs
}
criterion_main!(benches);
