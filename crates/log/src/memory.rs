//! [`MemoryTree`]: a whole Merkle tree in memory.
//!
//! It keeps every leaf hash and every complete-subtree hash (about two hashes,
//! 64 bytes, per leaf), so each [`Subtree`] lookup is O(1) and roots and proofs
//! for any size up to the current one are O(log n). Meant for tests, benches
//! and the standalone verifier (which rebuilds the tree from a full download);
//! the sequencer uses the O(log n) [`TileWriter`](crate::TileWriter) instead.

use crate::proof::{self, ProofError};
use crate::{Hash, Subtree, leaf_hash, node_hash};

/// A complete subtree that is not (yet) in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a complete subtree of this tree")]
pub struct MissingSubtree(pub Subtree);

/// An append-only Merkle tree held entirely in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    /// `levels[l][i]` is the hash of the complete `Subtree { level: l, index: i }`.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        MemoryTree {
            levels: vec![Vec::new()],
        }
    }

    /// A tree of the given leaf hashes.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut t = MemoryTree::new();
        for h in leaves {
            t.push(h);
        }
        t
    }

    /// A tree of the given entries (leaf-hashed here).
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Self {
        Self::from_leaf_hashes(entries.into_iter().map(leaf_hash))
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf hash; returns its index.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        let index = self.levels[0].len() as u64;
        self.levels[0].push(leaf);
        let (mut level, mut i) = (0usize, index);
        while i & 1 == 1 {
            let below = &self.levels[level];
            let h = node_hash(&below[(i - 1) as usize], &below[i as usize]);
            level += 1;
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(h);
            i >>= 1;
        }
        index
    }

    /// Leaf-hashes `entry` and appends it; returns its index.
    pub fn push_entry(&mut self, entry: &[u8]) -> u64 {
        self.push(leaf_hash(entry))
    }

    /// All leaf hashes, in order.
    pub fn leaves(&self) -> &[Hash] {
        self.levels.first().map_or(&[], |l| l.as_slice())
    }

    /// The hash of a complete subtree of the current tree.
    pub fn subtree(&self, st: Subtree) -> Result<Hash, MissingSubtree> {
        usize::try_from(st.index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(st.level))?.get(i))
            .copied()
            .ok_or(MissingSubtree(st))
    }

    /// The root of the current tree.
    pub fn root(&self) -> Hash {
        // Infallible: every subtree of range_subtrees(0, size) is complete.
        self.root_at(self.size()).unwrap_or_default()
    }

    fn check_size(&self, size: u64) -> Result<(), ProofError> {
        if size > self.size() {
            return Err(ProofError::SizeBeyondTree {
                size,
                available: self.size(),
            });
        }
        Ok(())
    }

    /// The root of the tree's prefix of `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        self.check_size(size)?;
        proof::root(size, &mut |st| self.subtree(st))
            .map_err(|_| unreachable_missing(size, self.size()))
    }

    /// Inclusion proof of leaf `index` in the prefix of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size)?;
        proof::check_inclusion_args(index, size)?;
        proof::inclusion_proof(index, size, &mut |st| self.subtree(st))
            .map_err(|_| unreachable_missing(size, self.size()))
    }

    /// Consistency proof from the prefix of `old` leaves to that of `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(new)?;
        proof::check_consistency_args(old, new)?;
        proof::consistency_proof(old, new, &mut |st| self.subtree(st))
            .map_err(|_| unreachable_missing(new, self.size()))
    }
}

// Only reachable if `size <= self.size()` did not imply completeness of the
// subtrees of a prefix, which it does; kept as an error rather than a panic.
fn unreachable_missing(size: u64, available: u64) -> ProofError {
    ProofError::SizeBeyondTree { size, available }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EMPTY_ROOT;

    #[test]
    fn empty_tree() {
        let t = MemoryTree::new();
        assert_eq!(t.size(), 0);
        assert_eq!(t.root(), EMPTY_ROOT);
        assert_eq!(MemoryTree::default().root(), EMPTY_ROOT);
        assert_eq!(MemoryTree::default().size(), 0);
        assert_eq!(
            t.subtree(Subtree::leaf(0)),
            Err(MissingSubtree(Subtree::leaf(0)))
        );
        assert_eq!(
            t.inclusion_proof(0, 1),
            Err(ProofError::SizeBeyondTree {
                size: 1,
                available: 0
            })
        );
    }

    #[test]
    fn subtrees_are_stored() {
        let mut t = MemoryTree::default();
        for i in 0..5u8 {
            assert_eq!(t.push_entry(&[i]), u64::from(i));
        }
        let l: Vec<Hash> = (0..5u8).map(|i| leaf_hash(&[i])).collect();
        assert_eq!(t.leaves(), l.as_slice());
        let n01 = node_hash(&l[0], &l[1]);
        let n23 = node_hash(&l[2], &l[3]);
        assert_eq!(t.subtree(Subtree::new(1, 0)), Ok(n01));
        assert_eq!(t.subtree(Subtree::new(2, 0)), Ok(node_hash(&n01, &n23)));
        assert!(t.subtree(Subtree::new(1, 2)).is_err());
        assert!(t.subtree(Subtree::new(3, 0)).is_err());
        assert!(t.subtree(Subtree::new(200, 0)).is_err());
        assert_eq!(t.root(), node_hash(&node_hash(&n01, &n23), &l[4]));
        assert_eq!(
            t.inclusion_proof(5, 5),
            Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            t.consistency_proof(4, 3),
            Err(ProofError::SizesOutOfOrder { old: 4, new: 3 })
        );
    }
}
