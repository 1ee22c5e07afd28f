//! Merkle tree roots, inclusion proofs and consistency proofs, exactly as
//! defined by [RFC 9162 §2.1] (identical hashing to RFC 6962).
//!
//! Generation is written against an abstract source of *complete subtree*
//! hashes (`get: FnMut(Subtree) -> Result<Hash, E>`), so the same code serves
//! a [`MemoryTree`](crate::MemoryTree), a tile store, or anything else that can
//! look up the hash of a perfect subtree. Every hash the log ever needs is a
//! fold of such subtrees, because every node of a tree of size `n` is either a
//! complete subtree or the right edge `[lo, n)` of one.
//!
//! Verification ([`verify_inclusion`], [`verify_consistency`]) follows the
//! RFC 9162 §2.1.3.2 and §2.1.4.2 algorithms step by step, with a length check
//! up front so that errors say precisely what was wrong.
//!
//! [RFC 9162 §2.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1

use crate::{EMPTY_ROOT, Hash, Subtree, node_hash};
use std::ops::Range;

/// Why a proof failed to verify (or could not be produced).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Inclusion: the leaf index is not below the tree size.
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// Consistency: the old tree is larger than the new one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizesOutOfOrder {
        /// Old tree size.
        old: u64,
        /// New tree size.
        new: u64,
    },
    /// The proof does not have the number of hashes the sizes call for.
    #[error("wrong proof length: expected {expected} hashes, got {got}")]
    WrongProofLength {
        /// Number of hashes RFC 9162 prescribes for these sizes.
        expected: usize,
        /// Number of hashes supplied.
        got: usize,
    },
    /// Inclusion: the root recomputed from the leaf and the proof differs from
    /// the expected root.
    #[error("root mismatch: proof leads to {computed}, expected {expected}")]
    RootMismatch {
        /// Root recomputed from the proof.
        computed: Hash,
        /// Root the caller expected.
        expected: Hash,
    },
    /// Consistency: the old root recomputed from the proof differs.
    #[error("old root mismatch: proof leads to {computed}, expected {expected}")]
    OldRootMismatch {
        /// Old root recomputed from the proof (or the empty-tree root).
        computed: Hash,
        /// Old root supplied by the caller.
        expected: Hash,
    },
    /// Consistency: the new root recomputed from the proof differs.
    #[error("new root mismatch: proof leads to {computed}, expected {expected}")]
    NewRootMismatch {
        /// New root recomputed from the proof.
        computed: Hash,
        /// New root supplied by the caller.
        expected: Hash,
    },
    /// Consistency between two trees of the same size whose roots differ.
    #[error("two trees of the same size {size} have different roots {old} and {new}")]
    EqualSizeRootsDiffer {
        /// The common size.
        size: u64,
        /// Old root.
        old: Hash,
        /// New root.
        new: Hash,
    },
    /// Proof generation: a requested tree size exceeds the leaves available.
    #[error("tree size {size} exceeds the {available} leaves available")]
    SizeBeyondTree {
        /// Requested size.
        size: u64,
        /// Leaves available.
        available: u64,
    },
}

/// Largest power of two strictly less than `n`; requires `n >= 2`.
#[inline]
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// True if `[lo, hi)` is a node of some tree: `lo` is a multiple of the
/// smallest power of two that is `>= hi - lo`. These are the ranges whose
/// RFC 6962 `MTH(D[lo..hi])` is the hash of a node in every tree of size
/// `>= hi` (perfect subtrees, and right edges of perfect subtrees). The empty
/// range is not a node.
pub fn is_node_range(lo: u64, hi: u64) -> bool {
    if lo >= hi {
        return false;
    }
    match (hi - lo).checked_next_power_of_two() {
        _ if lo == 0 => true,
        Some(width) => lo.is_multiple_of(width),
        // Wider than 2^63: only a range starting at 0 is a node.
        None => false,
    }
}

/// The complete subtrees, left to right, that exactly cover `[lo, hi)`: at
/// each step the largest subtree starting at the current position that is
/// aligned and fits. For a node range (see [`is_node_range`]) their right fold
/// with [`node_hash`] is RFC 6962 `MTH(D[lo..hi])`; for `[0, n)` they are the
/// subtrees given by the binary digits of `n`. Empty when `lo >= hi`.
pub fn range_subtrees(lo: u64, hi: u64) -> Vec<Subtree> {
    let mut out = Vec::new();
    let mut lo = lo;
    while lo < hi {
        let align = if lo == 0 { 63 } else { lo.trailing_zeros() };
        let fit = 63 - (hi - lo).leading_zeros();
        let level = align.min(fit);
        out.push(Subtree {
            level: level as u8,
            index: lo >> level,
        });
        lo += 1u64 << level; // <= hi, no overflow
    }
    out
}

/// RFC 6962 `MTH(D[lo..hi])` for a node range `[lo, hi)`, computed as the
/// right fold of [`range_subtrees`]: the lone right-hand node passes up
/// unchanged, as in RFC 6962. Returns [`EMPTY_ROOT`] for an empty range.
///
/// For a range that is not a node range the result is the fold of its
/// subtrees, which is *not* `MTH` of that list of leaves.
pub fn hash_range<E>(
    lo: u64,
    hi: u64,
    get: &mut impl FnMut(Subtree) -> Result<Hash, E>,
) -> Result<Hash, E> {
    let subtrees = range_subtrees(lo, hi);
    let mut acc: Option<Hash> = None;
    for st in subtrees.into_iter().rev() {
        let h = get(st)?;
        acc = Some(match acc {
            None => h,
            Some(right) => node_hash(&h, &right),
        });
    }
    Ok(acc.unwrap_or(EMPTY_ROOT))
}

/// Root (`MTH(D[0..size])`) of the tree of `size` leaves; [`EMPTY_ROOT`] for 0.
pub fn root<E>(size: u64, get: &mut impl FnMut(Subtree) -> Result<Hash, E>) -> Result<Hash, E> {
    hash_range(0, size, get)
}

/// The leaf ranges whose `MTH` form the RFC 9162 inclusion proof (audit path)
/// of leaf `index` in the tree of `size` leaves, in proof order (from the
/// leaf's sibling up to the root's other child). Each range is a node range.
///
/// Empty when `size <= 1` or `index >= size` (no proof exists in the latter
/// case; [`verify_inclusion`] rejects it).
pub fn inclusion_ranges(index: u64, size: u64) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    if index >= size {
        return out;
    }
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            out.push(lo + k..hi);
            hi = lo + k;
        } else {
            out.push(lo..lo + k);
            lo += k;
        }
    }
    out.reverse();
    out
}

/// Number of hashes in the inclusion proof of `index` in a tree of `size`
/// (0 when `index >= size`).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    if index >= size {
        return 0;
    }
    let (mut lo, mut hi) = (0u64, size);
    let mut n = 0;
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            hi = lo + k;
        } else {
            lo += k;
        }
        n += 1;
    }
    n
}

/// The leaf ranges whose `MTH` form the RFC 9162 §2.1.4 consistency proof
/// `PROOF(old, D[new])`, in proof order. Empty when `old == 0`,
/// `old >= new` (no proof is needed, or none exists).
pub fn consistency_ranges(old: u64, new: u64) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    if old == 0 || old >= new {
        return out;
    }
    // SUBPROOF(m, D[lo..hi], b), unrolled: the recursion appends after the
    // recursive call, so collect top-down and reverse.
    let (mut lo, mut hi) = (0u64, new);
    let mut b = true;
    let mut base = None;
    loop {
        let n = hi - lo;
        let m = old - lo;
        if m == n {
            if !b {
                base = Some(lo..hi);
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            out.push(lo + k..hi);
            hi = lo + k;
        } else {
            out.push(lo..lo + k);
            lo += k;
            b = false;
        }
    }
    out.extend(base);
    out.reverse();
    out
}

/// Number of hashes in the consistency proof from `old` to `new`
/// (0 when `old == 0` or `old >= new`).
pub fn consistency_proof_len(old: u64, new: u64) -> usize {
    if old == 0 || old >= new {
        return 0;
    }
    let (mut lo, mut hi) = (0u64, new);
    let mut b = true;
    let mut n_hashes = 0;
    loop {
        let n = hi - lo;
        let m = old - lo;
        if m == n {
            if !b {
                n_hashes += 1;
            }
            return n_hashes;
        }
        let k = split_point(n);
        if m <= k {
            hi = lo + k;
        } else {
            lo += k;
            b = false;
        }
        n_hashes += 1;
    }
}

/// The RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves,
/// built from complete-subtree hashes supplied by `get`.
///
/// Returns an empty proof when `index >= size` (there is none; check
/// [`check_inclusion_args`] first if that matters to the caller).
pub fn inclusion_proof<E>(
    index: u64,
    size: u64,
    get: &mut impl FnMut(Subtree) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    inclusion_ranges(index, size)
        .into_iter()
        .map(|r| hash_range(r.start, r.end, get))
        .collect()
}

/// The RFC 9162 consistency proof from the tree of `old` leaves to the tree of
/// `new` leaves, built from complete-subtree hashes supplied by `get`.
///
/// Empty when `old == 0` or `old >= new` (see [`check_consistency_args`]).
pub fn consistency_proof<E>(
    old: u64,
    new: u64,
    get: &mut impl FnMut(Subtree) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    consistency_ranges(old, new)
        .into_iter()
        .map(|r| hash_range(r.start, r.end, get))
        .collect()
}

/// `Ok` if an inclusion proof of `index` in a tree of `size` exists.
pub fn check_inclusion_args(index: u64, size: u64) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    Ok(())
}

/// `Ok` if a consistency proof from `old` to `new` exists (`old <= new`).
pub fn check_consistency_args(old: u64, new: u64) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::SizesOutOfOrder { old, new });
    }
    Ok(())
}

/// Verifies that `leaf` (a leaf *hash*) is leaf number `index` of the tree of
/// `size` leaves whose root is `root`, following RFC 9162 §2.1.3.2 exactly.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    // Step 1.
    check_inclusion_args(index, size)?;
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    // Steps 2-3.
    let mut fn_ = index;
    let mut sn = size - 1;
    let mut r = *leaf;
    // Step 4.
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    if sn != 0 {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    if r != *root {
        return Err(ProofError::RootMismatch {
            computed: r,
            expected: *root,
        });
    }
    Ok(())
}

/// Verifies that the tree of `old_size` leaves with root `old_root` is a
/// prefix of the tree of `new_size` leaves with root `new_root`, following
/// RFC 9162 §2.1.4.2 exactly for `0 < old_size < new_size`.
///
/// Edge cases: `old_size == new_size` requires an empty proof and equal roots;
/// `old_size == 0` requires an empty proof and `old_root == EMPTY_ROOT` (the
/// only root a tree of size 0 has); `old_size > new_size` is an error.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    check_consistency_args(old_size, new_size)?;
    let expected = consistency_proof_len(old_size, new_size);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    if old_size == 0 && *old_root != EMPTY_ROOT {
        return Err(ProofError::OldRootMismatch {
            computed: EMPTY_ROOT,
            expected: *old_root,
        });
    }
    if old_size == new_size {
        if old_root != new_root {
            return Err(ProofError::EqualSizeRootsDiffer {
                size: old_size,
                old: *old_root,
                new: *new_root,
            });
        }
        return Ok(());
    }
    if old_size == 0 {
        return Ok(());
    }
    // Step 1: a proof for 0 < old < new is never empty (checked above).
    // Step 2: if old is an exact power of 2, prepend old_root.
    let (first, rest) = if old_size.is_power_of_two() {
        (*old_root, proof)
    } else {
        (proof[0], &proof[1..])
    };
    // Steps 3-4.
    let mut fn_ = old_size - 1;
    let mut sn = new_size - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    let mut fr = first;
    let mut sr = first;
    // Step 6.
    for c in rest {
        if sn == 0 {
            return Err(ProofError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7.
    if sn != 0 {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch {
            computed: fr,
            expected: *old_root,
        });
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch {
            computed: sr,
            expected: *new_root,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaf_hash;

    /// Recursive RFC 6962 MTH straight from the definition.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn subtree_of(leaves: &[Hash]) -> impl FnMut(Subtree) -> Result<Hash, ()> + '_ {
        |st| {
            let r = st.range().ok_or(())?;
            let (s, e) = (r.start as usize, r.end as usize);
            if e > leaves.len() {
                return Err(());
            }
            Ok(mth(&leaves[s..e]))
        }
    }

    #[test]
    fn range_subtrees_examples() {
        assert!(range_subtrees(0, 0).is_empty());
        assert!(range_subtrees(5, 3).is_empty());
        assert_eq!(range_subtrees(0, 1), vec![Subtree::new(0, 0)]);
        assert_eq!(
            range_subtrees(0, 7),
            vec![Subtree::new(2, 0), Subtree::new(1, 2), Subtree::new(0, 6)]
        );
        assert_eq!(
            range_subtrees(4, 7),
            vec![Subtree::new(1, 2), Subtree::new(0, 6)]
        );
        // A non-node range: sizes go up then down.
        assert_eq!(
            range_subtrees(3, 9),
            vec![Subtree::new(0, 3), Subtree::new(2, 1), Subtree::new(0, 8)]
        );
        let all = range_subtrees(0, u64::MAX);
        assert_eq!(all.len(), 64);
        assert_eq!(all[0], Subtree::new(63, 0));
        assert_eq!(all[63], Subtree::new(0, u64::MAX - 1));
        assert_eq!(
            range_subtrees(u64::MAX - 1, u64::MAX),
            vec![Subtree::new(0, u64::MAX - 1)]
        );
    }

    #[test]
    fn node_ranges() {
        assert!(is_node_range(0, 5));
        assert!(is_node_range(4, 7));
        assert!(is_node_range(8, 16));
        assert!(!is_node_range(2, 5));
        assert!(!is_node_range(3, 3));
        assert!(is_node_range(0, u64::MAX));
        assert!(is_node_range(1 << 63, u64::MAX));
        assert!(!is_node_range(1, u64::MAX));
    }

    #[test]
    fn ranges_match_recursive_definitions_exhaustively() {
        let leaves: Vec<Hash> = (0..70u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut get = subtree_of(&leaves);
        for n in 0..=leaves.len() as u64 {
            assert_eq!(root(n, &mut get).unwrap(), mth(&leaves[..n as usize]));
            for lo in 0..n {
                if is_node_range(lo, n) {
                    assert_eq!(
                        hash_range(lo, n, &mut get).unwrap(),
                        mth(&leaves[lo as usize..n as usize])
                    );
                }
            }
            for i in 0..n {
                let ranges = inclusion_ranges(i, n);
                assert_eq!(ranges.len(), inclusion_proof_len(i, n));
                assert!(ranges.iter().all(|r| is_node_range(r.start, r.end)));
                let proof = inclusion_proof(i, n, &mut get).unwrap();
                verify_inclusion(
                    &leaves[i as usize],
                    i,
                    n,
                    &proof,
                    &mth(&leaves[..n as usize]),
                )
                .unwrap();
            }
            for m in 0..=n {
                let ranges = consistency_ranges(m, n);
                assert_eq!(ranges.len(), consistency_proof_len(m, n));
                assert!(ranges.iter().all(|r| is_node_range(r.start, r.end)));
                let proof = consistency_proof(m, n, &mut get).unwrap();
                verify_consistency(
                    m,
                    n,
                    &mth(&leaves[..m as usize]),
                    &mth(&leaves[..n as usize]),
                    &proof,
                )
                .unwrap();
            }
        }
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        let n = u64::MAX;
        assert_eq!(inclusion_ranges(n - 1, n).len(), 63);
        assert_eq!(inclusion_ranges(0, n).len(), 64);
        assert_eq!(
            inclusion_proof_len(n / 2, n),
            inclusion_ranges(n / 2, n).len()
        );
        let c = consistency_ranges(n - 1, n);
        assert_eq!(c.len(), consistency_proof_len(n - 1, n));
        let c = consistency_ranges(1 << 63, n);
        assert_eq!(c.len(), consistency_proof_len(1 << 63, n));
        assert!(verify_inclusion(&EMPTY_ROOT, n - 1, n, &[EMPTY_ROOT; 64], &EMPTY_ROOT).is_err());
        assert!(
            verify_consistency(
                n - 1,
                n,
                &EMPTY_ROOT,
                &EMPTY_ROOT,
                &vec![EMPTY_ROOT; c.len()]
            )
            .is_err()
        );
    }

    #[test]
    fn edge_case_errors() {
        let h = leaf_hash(b"x");
        assert_eq!(
            verify_inclusion(&h, 0, 0, &[], &EMPTY_ROOT),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            verify_inclusion(&h, 2, 1, &[], &h),
            Err(ProofError::IndexOutOfRange { index: 2, size: 1 })
        );
        assert_eq!(verify_inclusion(&h, 0, 1, &[], &h), Ok(()));
        assert_eq!(
            verify_inclusion(&h, 0, 1, &[h], &h),
            Err(ProofError::WrongProofLength {
                expected: 0,
                got: 1
            })
        );
        assert!(matches!(
            verify_inclusion(&h, 0, 1, &[], &EMPTY_ROOT),
            Err(ProofError::RootMismatch { .. })
        ));
        assert_eq!(
            verify_consistency(2, 1, &h, &h, &[]),
            Err(ProofError::SizesOutOfOrder { old: 2, new: 1 })
        );
        assert_eq!(
            verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]),
            Ok(())
        );
        assert_eq!(verify_consistency(0, 5, &EMPTY_ROOT, &h, &[]), Ok(()));
        assert!(matches!(
            verify_consistency(0, 5, &h, &h, &[]),
            Err(ProofError::OldRootMismatch { .. })
        ));
        assert_eq!(
            verify_consistency(0, 5, &EMPTY_ROOT, &h, &[h]),
            Err(ProofError::WrongProofLength {
                expected: 0,
                got: 1
            })
        );
        assert_eq!(verify_consistency(3, 3, &h, &h, &[]), Ok(()));
        assert!(matches!(
            verify_consistency(3, 3, &h, &EMPTY_ROOT, &[]),
            Err(ProofError::EqualSizeRootsDiffer { size: 3, .. })
        ));
        assert_eq!(
            verify_consistency(3, 3, &h, &h, &[h]),
            Err(ProofError::WrongProofLength {
                expected: 0,
                got: 1
            })
        );
        assert_eq!(
            verify_consistency(1, 2, &h, &h, &[]),
            Err(ProofError::WrongProofLength {
                expected: 1,
                got: 0
            })
        );
    }
}
