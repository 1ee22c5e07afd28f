//! Cross-checks against independent implementations:
//! * `tlog_tiles` (Cloudflare's port of Go's `golang.org/x/mod/sumdb/tlog`):
//!   its verifiers accept our proofs, its provers produce the same proofs,
//!   its tree hash and tile data equal ours, and its (Go-style) tile paths
//!   match ours once the height element is dropped;
//! * `rs_merkle` with an RFC 6962 hasher: same roots;
//! * `tlog_tiles::Checkpoint`: agrees with our strict checkpoint parser.

use rs_merkle::{Hasher, MerkleTree};
use veche_log::tiles::{subtree_from_tile, tiles_for_size};
use veche_log::{
    Checkpoint, Hash, MemoryTree, Subtree, TilePath, TileWriter, leaf_hash, node_hash,
};

fn tt(h: Hash) -> tlog_tiles::Hash {
    tlog_tiles::Hash(h.0)
}

fn tree(n: u64) -> MemoryTree {
    MemoryTree::from_leaf_hashes((0..n).map(|i| leaf_hash(format!("entry {i}").as_bytes())))
}

/// tlog_tiles reads hashes by "stored hash index"; serve them from a MemoryTree.
struct Reader<'a>(&'a MemoryTree);

impl tlog_tiles::HashReader for Reader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                let (level, n) = tlog_tiles::split_stored_hash_index(i);
                self.0
                    .subtree(Subtree::new(level, n))
                    .map(tt)
                    .map_err(|_| tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

const N: u64 = 160;

#[test]
fn tlog_tiles_accepts_and_reproduces_inclusion_proofs() {
    let t = tree(N);
    let r = Reader(&t);
    for n in 1..=N {
        let root = t.root_at(n).unwrap();
        assert_eq!(tlog_tiles::tree_hash(n, &r).unwrap(), tt(root), "root {n}");
        for i in 0..n {
            let ours: Vec<tlog_tiles::Hash> = t
                .inclusion_proof(i, n)
                .unwrap()
                .into_iter()
                .map(tt)
                .collect();
            let leaf = tt(t.leaves()[i as usize]);
            tlog_tiles::check_record(&ours, n, tt(root), i, leaf)
                .unwrap_or_else(|e| panic!("check_record({i}, {n}): {e}"));
            let theirs = tlog_tiles::prove_record(n, i, &r).unwrap();
            assert_eq!(theirs, ours, "prove_record({i}, {n})");
        }
    }
}

#[test]
fn tlog_tiles_accepts_and_reproduces_consistency_proofs() {
    let t = tree(N);
    let r = Reader(&t);
    for n in 1..=N {
        let root = t.root_at(n).unwrap();
        for m in 1..=n {
            let ours: Vec<tlog_tiles::Hash> = t
                .consistency_proof(m, n)
                .unwrap()
                .into_iter()
                .map(tt)
                .collect();
            let old = t.root_at(m).unwrap();
            tlog_tiles::check_tree(&ours, n, tt(root), m, tt(old))
                .unwrap_or_else(|e| panic!("check_tree({m}, {n}): {e}"));
            let theirs = tlog_tiles::prove_tree(n, m, &r).unwrap();
            assert_eq!(theirs, ours, "prove_tree({m}, {n})");
        }
    }
}

#[test]
fn tile_bytes_and_paths_match_tlog_tiles() {
    // Large enough for two tile levels with a partial at each.
    let n = 256 * 256 + 256 * 3 + 5;
    let t = tree(n);
    let r = Reader(&t);
    let mut w = TileWriter::new();
    for h in t.leaves() {
        w.append(*h);
    }
    let ours = w.take_changed_tiles();
    let paths: Vec<TilePath> = ours.iter().map(|(p, _)| *p).collect();
    assert_eq!(paths, tiles_for_size(n));
    let theirs = tlog_tiles::Tile::new_tiles(8, 0, n);
    assert_eq!(theirs.len(), ours.len());
    let mut theirs_sorted = theirs.clone();
    theirs_sorted.sort_by_key(|t| (t.level(), t.level_index()));
    for ((path, bytes), tile) in ours.iter().zip(theirs_sorted) {
        // Go/tlog_tiles paths carry the height: tile/8/L/N; C2SP drops it.
        let go_path = tile.path();
        assert_eq!(go_path.replacen("tile/8/", "tile/", 1), path.to_path());
        assert_eq!(&tile.read_data(&r).unwrap(), bytes, "{path}");
    }
}

#[test]
fn subtree_from_writer_tiles_equals_memory_tree() {
    let n = 256 * 3 + 100;
    let t = tree(n);
    let mut w = TileWriter::new();
    let mut store = std::collections::HashMap::new();
    for (i, h) in t.leaves().iter().enumerate() {
        w.append(*h);
        if i % 97 == 0 {
            for (p, b) in w.take_changed_tiles() {
                store.insert((p.level().unwrap(), p.index()), b);
            }
        }
    }
    for (p, b) in w.take_changed_tiles() {
        store.insert((p.level().unwrap(), p.index()), b);
    }
    for level in 0..=9u8 {
        for index in 0..(n >> level) {
            let st = Subtree::new(level, index);
            let (tl, ti, _) = veche_log::tiles::tile_for_subtree(st);
            let data = &store[&(tl, ti)];
            assert_eq!(
                subtree_from_tile(st, data).unwrap(),
                t.subtree(st).unwrap(),
                "{st}"
            );
        }
    }
}

/// RFC 6962 hashing for rs_merkle: leaves are supplied pre-hashed
/// (SHA-256(0x00 || d)); interior nodes SHA-256(0x01 || l || r); a lone node
/// passes up unchanged (rs_merkle's default for a missing right sibling).
#[derive(Clone)]
struct Rfc6962;

impl Hasher for Rfc6962 {
    type Hash = [u8; 32];
    fn hash(data: &[u8]) -> [u8; 32] {
        leaf_hash(data).0
    }
    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => node_hash(&Hash(*left), &Hash(*r)).0,
            None => *left,
        }
    }
}

#[test]
fn rs_merkle_roots_match() {
    let t = tree(600);
    for n in 1..=600usize {
        let leaves: Vec<[u8; 32]> = t.leaves()[..n].iter().map(|h| h.0).collect();
        let rs = MerkleTree::<Rfc6962>::from_leaves(&leaves);
        assert_eq!(rs.root(), Some(t.root_at(n as u64).unwrap().0), "size {n}");
    }
}

#[test]
fn checkpoint_parsers_agree() {
    let root = leaf_hash(b"r").to_base64();
    let good = [
        format!("example.com/log\n0\n{root}\n"),
        format!("example.com/log\n18446744073709551615\n{root}\n"),
        format!("o\n7\n{root}\nextension one\nx\n"),
    ];
    for g in &good {
        let ours = Checkpoint::parse_body(g).unwrap();
        let theirs = tlog_tiles::Checkpoint::from_bytes(g.as_bytes()).unwrap();
        assert_eq!(ours.origin, theirs.origin());
        assert_eq!(ours.size, theirs.size());
        assert_eq!(ours.root.0, theirs.hash().0);
        let ext: String = ours.extensions.iter().map(|e| format!("{e}\n")).collect();
        assert_eq!(ext, theirs.extension());
        assert_eq!(ours.to_body().as_bytes(), theirs.to_bytes().as_slice());
    }
    let bad = [
        format!("\n1\n{root}\n"),
        format!("o\n01\n{root}\n"),
        format!("o\n-1\n{root}\n"),
        format!("o\n18446744073709551616\n{root}\n"),
        format!("o\n1\n{}\n", root.trim_end_matches('=')),
        format!("o\n1\n{root}"),
        format!("o\n1\n{root}\n\n"),
        "o\n1\n".to_string(),
    ];
    for b in &bad {
        assert!(Checkpoint::parse_body(b).is_err(), "we accepted {b:?}");
        assert!(
            tlog_tiles::Checkpoint::from_bytes(b.as_bytes()).is_err(),
            "tlog_tiles accepted {b:?}"
        );
    }
}
