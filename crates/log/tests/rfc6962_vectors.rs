//! Known-answer tests against the public RFC 6962 vectors in
//! `testdata/rfc6962.json` (transparency-dev/merkle and
//! google/certificate-transparency; see the file's header).

use serde_json::Value;
use veche_log::proof::{consistency_ranges, inclusion_ranges};
use veche_log::tiles::subtree_from_tile;
use veche_log::{
    EMPTY_ROOT, Hash, MemoryTree, ProofError, Subtree, TilePath, TileWriter, leaf_hash,
    verify_consistency, verify_inclusion,
};

struct Vectors {
    leaves: Vec<Vec<u8>>,
    roots: Vec<Hash>,
    nodes: Vec<Vec<Hash>>,
    inclusion: Vec<(u64, u64, Vec<Hash>)>,
    consistency: Vec<(u64, u64, Vec<Hash>)>,
}

fn h(v: &Value) -> Hash {
    Hash::from_hex(v.as_str().unwrap()).unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(h).collect()
}

fn load() -> Vectors {
    let text = include_str!("../testdata/rfc6962.json");
    let v: Value = serde_json::from_str(text).unwrap();
    assert_eq!(h(&v["empty_root"]), EMPTY_ROOT);
    let leaves = v["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| hex_bytes(l.as_str().unwrap()))
        .collect();
    let proofs = |key: &str, a: &str, b: &str| {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t[a].as_u64().unwrap(),
                    t[b].as_u64().unwrap(),
                    hashes(&t["proof"]),
                )
            })
            .collect()
    };
    Vectors {
        leaves,
        roots: hashes(&v["roots"]),
        nodes: v["node_hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(hashes)
            .collect(),
        inclusion: proofs("inclusion", "index", "size"),
        consistency: proofs("consistency", "old", "new"),
    }
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn tree(v: &Vectors) -> MemoryTree {
    MemoryTree::from_entries(v.leaves.iter().map(Vec::as_slice))
}

#[test]
fn leaf_hashes_and_all_subtree_hashes() {
    let v = load();
    assert_eq!(v.leaves.len(), 8);
    let t = tree(&v);
    for (i, l) in v.leaves.iter().enumerate() {
        assert_eq!(leaf_hash(l), v.nodes[0][i], "leaf {i}");
    }
    for (level, row) in v.nodes.iter().enumerate() {
        for (index, want) in row.iter().enumerate() {
            let st = Subtree::new(level as u8, index as u64);
            assert_eq!(t.subtree(st), Ok(*want), "{st}");
        }
    }
}

#[test]
fn roots_for_every_size() {
    let v = load();
    assert_eq!(v.roots.len(), 9);
    let t = tree(&v);
    let mut w = TileWriter::new();
    let mut incremental = MemoryTree::new();
    assert_eq!(w.root(), v.roots[0]);
    assert_eq!(incremental.root(), v.roots[0]);
    for size in 0..=8u64 {
        assert_eq!(t.root_at(size), Ok(v.roots[size as usize]), "size {size}");
        if size > 0 {
            let leaf = &v.leaves[size as usize - 1];
            w.append_entry(leaf);
            incremental.push_entry(leaf);
            assert_eq!(w.root(), v.roots[size as usize], "writer size {size}");
            assert_eq!(incremental.root(), v.roots[size as usize]);
        }
    }
    // The generic fold over stored subtrees.
    for size in 0..=8u64 {
        let r = veche_log::root(size, &mut |st| t.subtree(st)).unwrap();
        assert_eq!(r, v.roots[size as usize]);
    }
}

#[test]
fn tiles_of_the_vector_tree() {
    let v = load();
    let mut w = TileWriter::new();
    for l in &v.leaves {
        w.append_entry(l);
    }
    let tiles = w.take_changed_tiles();
    assert_eq!(tiles.len(), 1);
    assert_eq!(
        tiles[0].0,
        TilePath::Hash {
            level: 0,
            index: 0,
            width: 8
        }
    );
    for (level, row) in v.nodes.iter().enumerate() {
        for (index, want) in row.iter().enumerate() {
            let st = Subtree::new(level as u8, index as u64);
            assert_eq!(subtree_from_tile(st, &tiles[0].1), Ok(*want));
        }
    }
}

#[test]
fn inclusion_vectors() {
    let v = load();
    let t = tree(&v);
    assert_eq!(v.inclusion.len(), 7);
    for (index, size, want) in &v.inclusion {
        let (index, size) = (*index, *size);
        let got = t.inclusion_proof(index, size).unwrap();
        assert_eq!(&got, want, "proof {index}/{size}");
        assert_eq!(inclusion_ranges(index, size).len(), want.len());
        let leaf = leaf_hash(&v.leaves[index as usize]);
        let root = v.roots[size as usize];
        verify_inclusion(&leaf, index, size, want, &root).unwrap();
        inclusion_probes_fail(&leaf, index, size, want, &root);
    }
}

/// Every corruption of a valid inclusion proof must be rejected.
fn inclusion_probes_fail(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) {
    let some = Hash([0xab; 32]);
    let mut probes: Vec<(String, Hash, u64, u64, Vec<Hash>, Hash)> = vec![
        (
            "index-1".into(),
            *leaf,
            index.wrapping_sub(1),
            size,
            proof.to_vec(),
            *root,
        ),
        (
            "index+1".into(),
            *leaf,
            index + 1,
            size,
            proof.to_vec(),
            *root,
        ),
        (
            "index^2".into(),
            *leaf,
            index ^ 2,
            size,
            proof.to_vec(),
            *root,
        ),
        (
            "size*2".into(),
            *leaf,
            index,
            size * 2,
            proof.to_vec(),
            *root,
        ),
        (
            "size/2".into(),
            *leaf,
            index,
            size / 2,
            proof.to_vec(),
            *root,
        ),
        (
            "wrong leaf".into(),
            leaf_hash(b"WrongLeaf"),
            index,
            size,
            proof.to_vec(),
            *root,
        ),
        (
            "empty root".into(),
            *leaf,
            index,
            size,
            proof.to_vec(),
            EMPTY_ROOT,
        ),
        (
            "random root".into(),
            *leaf,
            index,
            size,
            proof.to_vec(),
            some,
        ),
        (
            "trailing".into(),
            *leaf,
            index,
            size,
            [proof, &[some]].concat(),
            *root,
        ),
        (
            "trailing root".into(),
            *leaf,
            index,
            size,
            [proof, &[*root]].concat(),
            *root,
        ),
        (
            "preceding".into(),
            *leaf,
            index,
            size,
            [&[some], proof].concat(),
            *root,
        ),
        (
            "preceding root".into(),
            *leaf,
            index,
            size,
            [&[*root], proof].concat(),
            *root,
        ),
    ];
    for i in 0..proof.len() {
        for bit in [0usize, 3, 100, 255] {
            let mut p = proof.to_vec();
            p[i].0[bit / 8] ^= 1 << (bit % 8);
            probes.push((
                format!("proof[{i}] bit {bit}"),
                *leaf,
                index,
                size,
                p,
                *root,
            ));
        }
    }
    if !proof.is_empty() {
        probes.push((
            "removed".into(),
            *leaf,
            index,
            size,
            proof[..proof.len() - 1].to_vec(),
            *root,
        ));
    }
    if proof.len() > 1 {
        let mut p = proof.to_vec();
        p.insert(1, some);
        probes.push(("inserted".into(), *leaf, index, size, p, *root));
        let mut p = proof.to_vec();
        p.swap(0, 1);
        probes.push(("swapped".into(), *leaf, index, size, p, *root));
    }
    for (desc, leaf, index, size, p, root) in probes {
        assert!(
            verify_inclusion(&leaf, index, size, &p, &root).is_err(),
            "accepted probe {desc}"
        );
    }
}

#[test]
fn consistency_vectors() {
    let v = load();
    let t = tree(&v);
    assert_eq!(v.consistency.len(), 5);
    for (old, new, want) in &v.consistency {
        let (old, new) = (*old, *new);
        let got = t.consistency_proof(old, new).unwrap();
        assert_eq!(&got, want, "proof {old}->{new}");
        assert_eq!(consistency_ranges(old, new).len(), want.len());
        let (r1, r2) = (v.roots[old as usize], v.roots[new as usize]);
        verify_consistency(old, new, &r1, &r2, want).unwrap();
        if !want.is_empty() {
            consistency_probes_fail(old, new, &r1, &r2, want);
        }
    }
}

fn consistency_probes_fail(old: u64, new: u64, r1: &Hash, r2: &Hash, proof: &[Hash]) {
    let some = Hash([0xcd; 32]);
    let mut probes: Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> = vec![
        ("old-1".into(), old - 1, new, *r1, *r2, proof.to_vec()),
        ("old+1".into(), old + 1, new, *r1, *r2, proof.to_vec()),
        ("old^2".into(), old ^ 2, new, *r1, *r2, proof.to_vec()),
        ("new*2".into(), old, new * 2, *r1, *r2, proof.to_vec()),
        ("new/2".into(), old, new / 2, *r1, *r2, proof.to_vec()),
        ("wrong root1".into(), old, new, some, *r2, proof.to_vec()),
        ("wrong root2".into(), old, new, *r1, some, proof.to_vec()),
        ("swapped roots".into(), old, new, *r2, *r1, proof.to_vec()),
        ("empty proof".into(), old, new, *r1, *r2, vec![]),
        (
            "trailing".into(),
            old,
            new,
            *r1,
            *r2,
            [proof, &[some]].concat(),
        ),
        (
            "trailing root1".into(),
            old,
            new,
            *r1,
            *r2,
            [proof, &[*r1]].concat(),
        ),
        (
            "trailing root2".into(),
            old,
            new,
            *r1,
            *r2,
            [proof, &[*r2]].concat(),
        ),
        (
            "preceding".into(),
            old,
            new,
            *r1,
            *r2,
            [&[some], proof].concat(),
        ),
        (
            "preceding root1".into(),
            old,
            new,
            *r1,
            *r2,
            [&[*r1], proof].concat(),
        ),
        (
            "preceding proof[0]".into(),
            old,
            new,
            *r1,
            *r2,
            [&[proof[0]], proof].concat(),
        ),
        (
            "truncated".into(),
            old,
            new,
            *r1,
            *r2,
            proof[..proof.len() - 1].to_vec(),
        ),
    ];
    for i in 0..proof.len() {
        for bit in [4usize, 77, 254] {
            let mut p = proof.to_vec();
            p[i].0[bit / 8] ^= 1 << (bit % 8);
            probes.push((format!("proof[{i}] bit {bit}"), old, new, *r1, *r2, p));
        }
    }
    for (desc, old, new, r1, r2, p) in probes {
        assert!(
            verify_consistency(old, new, &r1, &r2, &p).is_err(),
            "accepted probe {desc}"
        );
    }
}

#[test]
fn consistency_trivial_cases() {
    let v = load();
    // Sizes that are always consistent (given the right roots).
    verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]).unwrap();
    verify_consistency(0, 1, &EMPTY_ROOT, &v.roots[1], &[]).unwrap();
    verify_consistency(1, 1, &v.roots[1], &v.roots[1], &[]).unwrap();
    // Time travel to the past.
    assert_eq!(
        verify_consistency(1, 0, &v.roots[1], &EMPTY_ROOT, &[]),
        Err(ProofError::SizesOutOfOrder { old: 1, new: 0 })
    );
    // Empty proof for a real step.
    assert_eq!(
        verify_consistency(1, 2, &v.roots[1], &v.roots[2], &[]),
        Err(ProofError::WrongProofLength {
            expected: 1,
            got: 0
        })
    );
    // Roots don't match for equal sizes.
    assert!(verify_consistency(1, 1, &v.roots[1], &v.roots[2], &[]).is_err());
    assert!(verify_consistency(0, 0, &EMPTY_ROOT, &v.roots[2], &[]).is_err());
    // Roots match but the proof is not empty.
    for (a, b) in [(0, 0), (0, 1), (1, 1)] {
        assert!(
            verify_consistency(
                a,
                b,
                &v.roots[a as usize],
                &v.roots[b as usize],
                &[EMPTY_ROOT]
            )
            .is_err()
        );
    }
    // Every pair of sizes of the vector tree.
    let t = tree(&v);
    for new in 0..=8u64 {
        for old in 0..=new {
            let p = t.consistency_proof(old, new).unwrap();
            verify_consistency(old, new, &v.roots[old as usize], &v.roots[new as usize], &p)
                .unwrap();
        }
        for index in 0..new {
            let p = t.inclusion_proof(index, new).unwrap();
            verify_inclusion(
                &v.nodes[0][index as usize],
                index,
                new,
                &p,
                &v.roots[new as usize],
            )
            .unwrap();
        }
    }
}

#[test]
fn spec_copy_of_vectors_is_identical() {
    assert_eq!(
        include_str!("../testdata/rfc6962.json"),
        include_str!("../../../specs/vectors/rfc6962.json"),
        "specs/vectors/rfc6962.json must stay a copy of crates/log/testdata/rfc6962.json"
    );
}
