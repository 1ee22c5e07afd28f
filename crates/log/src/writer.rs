//! [`TileWriter`]: the sequencer's append state, O(log n) memory.
//!
//! For each tile level the writer keeps only the rightmost (partial) tile:
//! its bytes (what gets published) and, alongside, the "frontier" of that
//! tile — one hash per set bit of its width, the roots of the perfect runs
//! it decomposes into. Appending a hash merges the frontier like a binary
//! counter (one node hash per append, amortized); when a tile reaches 256
//! hashes its root falls out of the merge and is appended to the level above,
//! and the full tile is queued for persistence. The tree root is the right
//! fold of all frontiers, O(log n).

use crate::tiles::{FULL_TILE_BYTES, TILE_HEIGHT, TILE_WIDTH, TileError, TilePath};
use crate::{EMPTY_ROOT, HASH_SIZE, Hash, leaf_hash, node_hash};

/// Number of tile levels a `u64`-sized tree can have: 256^8 = 2^64.
const MAX_LEVELS: usize = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Level {
    /// Bytes of the current partial tile: `count * 32`, `count < 256`.
    bytes: Vec<u8>,
    /// `frontier[b]` is meaningful iff bit `b` of `count` is set: the root of
    /// the run of `2^b` hashes it stands for.
    frontier: [Hash; 8],
    /// Changed since the last `take_changed_tiles`.
    dirty: bool,
}

impl Level {
    fn new() -> Self {
        Level {
            bytes: Vec::with_capacity(FULL_TILE_BYTES),
            frontier: [Hash::default(); 8],
            dirty: false,
        }
    }

    fn count(&self) -> u64 {
        (self.bytes.len() / HASH_SIZE) as u64
    }

    /// Appends a hash; returns the tile root if this completed the tile.
    #[inline]
    fn push(&mut self, h: Hash) -> Option<Hash> {
        let count = self.count();
        self.bytes.extend_from_slice(&h.0);
        self.dirty = true;
        let mut carry = h;
        let mut b = 0;
        while (count >> b) & 1 == 1 {
            carry = node_hash(&self.frontier[b], &carry);
            b += 1;
        }
        if b == TILE_HEIGHT as usize {
            Some(carry)
        } else {
            self.frontier[b] = carry;
            None
        }
    }
}

/// The append state of the log: the rightmost partial tile of every level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileWriter {
    size: u64,
    levels: Vec<Level>,
    /// Full tiles completed since the last `take_changed_tiles`:
    /// (level, index, bytes).
    completed: Vec<(u8, u64, Vec<u8>)>,
}

impl Default for TileWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl TileWriter {
    /// The writer of an empty tree.
    pub fn new() -> Self {
        TileWriter {
            size: 0,
            levels: vec![Level::new()],
            completed: Vec::new(),
        }
    }

    /// Restores the writer of a tree of `size` from the stored rightmost
    /// partial tile of each level. Level `L` must be given iff its partial
    /// width `(size >> 8L) % 256` is non-zero, with exactly that many hashes.
    ///
    /// The tiles' contents cannot be checked here: compare [`root`](Self::root)
    /// with the last signed checkpoint before appending.
    pub fn from_partial_tiles(size: u64, partial: &[(u8, Vec<u8>)]) -> Result<Self, TileError> {
        let mut given: [Option<&[u8]>; MAX_LEVELS] = [None; MAX_LEVELS];
        for (level, data) in partial {
            let slot = given
                .get_mut(usize::from(*level))
                .ok_or(TileError::UnexpectedPartial {
                    level: *level,
                    size,
                })?;
            if slot.is_some() {
                return Err(TileError::DuplicatePartial { level: *level });
            }
            *slot = Some(data);
        }
        let mut w = TileWriter {
            size,
            levels: Vec::new(),
            completed: Vec::new(),
        };
        for (l, data) in given.iter().enumerate() {
            let level = l as u8;
            let width = (size >> (u32::from(TILE_HEIGHT) * u32::from(level))) % TILE_WIDTH;
            match (width, data) {
                (0, None) => {}
                (0, Some(_)) => return Err(TileError::UnexpectedPartial { level, size }),
                (width, None) => return Err(TileError::MissingPartial { level, width, size }),
                (width, Some(data)) => {
                    if data.len() as u64 != width * HASH_SIZE as u64 {
                        return Err(TileError::WidthMismatch {
                            level,
                            expected_width: width,
                            got_bytes: data.len(),
                            size,
                        });
                    }
                    while w.levels.len() <= l {
                        w.levels.push(Level::new());
                    }
                    let lv = &mut w.levels[l];
                    for chunk in data.chunks_exact(HASH_SIZE) {
                        let mut h = [0u8; HASH_SIZE];
                        h.copy_from_slice(chunk);
                        // Cannot complete: width < 256.
                        let _ = lv.push(Hash(h));
                    }
                    lv.dirty = false;
                }
            }
        }
        if w.levels.is_empty() {
            w.levels.push(Level::new());
        }
        Ok(w)
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; returns its index.
    ///
    /// # Panics
    /// If the tree already has `u64::MAX` leaves.
    #[inline]
    pub fn append(&mut self, leaf: Hash) -> u64 {
        let index = self.size;
        let new_size = index.checked_add(1).expect("transparency log is full");
        let mut h = leaf;
        let mut l = 0usize;
        loop {
            if self.levels.len() == l {
                self.levels.push(Level::new());
            }
            let lv = &mut self.levels[l];
            match lv.push(h) {
                None => break,
                Some(tile_root) => {
                    let bytes =
                        std::mem::replace(&mut lv.bytes, Vec::with_capacity(FULL_TILE_BYTES));
                    lv.dirty = false;
                    // Index of the completed tile among level-l tiles.
                    let shift = u32::from(TILE_HEIGHT) * (l as u32 + 1);
                    let tile_index = index.checked_shr(shift).unwrap_or(0);
                    self.completed.push((l as u8, tile_index, bytes));
                    h = tile_root;
                    l += 1;
                }
            }
        }
        self.size = new_size;
        index
    }

    /// Leaf-hashes `entry` and appends it; returns its index.
    pub fn append_entry(&mut self, entry: &[u8]) -> u64 {
        self.append(leaf_hash(entry))
    }

    /// RFC 6962 root of the current tree (O(log n)): the right fold of the
    /// perfect runs of every partial tile, highest level leftmost.
    pub fn root(&self) -> Hash {
        let mut acc: Option<Hash> = None;
        // Right to left: lowest level first, smallest run first.
        for lv in &self.levels {
            let count = lv.count();
            for b in 0..usize::from(TILE_HEIGHT) {
                if (count >> b) & 1 == 1 {
                    let h = lv.frontier[b];
                    acc = Some(match acc {
                        None => h,
                        Some(right) => node_hash(&h, &right),
                    });
                }
            }
        }
        acc.unwrap_or(EMPTY_ROOT)
    }

    fn partial_path(&self, level: usize, width: u64) -> TilePath {
        let shift = u32::from(TILE_HEIGHT) * (level as u32 + 1);
        TilePath::Hash {
            level: level as u8,
            index: self.size.checked_shr(shift).unwrap_or(0),
            width: width as u16,
        }
    }

    /// Every hash tile whose content changed since the last call (or since
    /// creation/restoration), with its full current bytes, ordered by
    /// (level, index): the full tiles completed meanwhile (immutable from now
    /// on) and the current partial tile of each level that grew (to be
    /// overwritten as it grows).
    pub fn take_changed_tiles(&mut self) -> Vec<(TilePath, Vec<u8>)> {
        let mut out: Vec<(TilePath, Vec<u8>)> = self
            .completed
            .drain(..)
            .map(|(level, index, bytes)| {
                (
                    TilePath::Hash {
                        level,
                        index,
                        width: TILE_WIDTH as u16,
                    },
                    bytes,
                )
            })
            .collect();
        for l in 0..self.levels.len() {
            let count = self.levels[l].count();
            if self.levels[l].dirty && count > 0 {
                out.push((self.partial_path(l, count), self.levels[l].bytes.clone()));
            }
            self.levels[l].dirty = false;
        }
        out.sort_by_key(|(p, _)| (p.level(), p.index()));
        out
    }

    /// The rightmost partial tile of every level that has one: what
    /// [`from_partial_tiles`](Self::from_partial_tiles) needs to resume.
    pub fn partial_tiles(&self) -> Vec<(u8, Vec<u8>)> {
        self.levels
            .iter()
            .enumerate()
            .filter(|(_, lv)| !lv.bytes.is_empty())
            .map(|(l, lv)| (l as u8, lv.bytes.clone()))
            .collect()
    }

    /// The paths of the current partial tiles (see [`partial_tiles`](Self::partial_tiles)).
    pub fn partial_tile_paths(&self) -> Vec<TilePath> {
        self.levels
            .iter()
            .enumerate()
            .filter(|(_, lv)| !lv.bytes.is_empty())
            .map(|(l, lv)| self.partial_path(l, lv.count()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryTree;
    use crate::tiles::tiles_for_size;

    #[test]
    fn empty_writer() {
        let mut w = TileWriter::new();
        assert_eq!(w.size(), 0);
        assert_eq!(w.root(), EMPTY_ROOT);
        assert!(w.take_changed_tiles().is_empty());
        assert!(w.partial_tiles().is_empty());
        assert_eq!(TileWriter::from_partial_tiles(0, &[]).unwrap(), w);
    }

    #[test]
    fn roots_match_memory_tree_across_tile_boundaries() {
        let mut w = TileWriter::new();
        let mut m = MemoryTree::new();
        for i in 0..70_000u32 {
            let h = leaf_hash(&i.to_le_bytes());
            assert_eq!(w.append(h), u64::from(i));
            m.push(h);
            let n = i + 1;
            if n < 600 || n % 256 <= 1 || n % 65536 <= 1 || n % 4999 == 0 {
                assert_eq!(w.root(), m.root(), "size {n}");
            }
        }
        assert_eq!(w.root(), m.root());
        // Every tile of the final tree was reported exactly once as full, or
        // is the latest partial.
        let mut all = w.take_changed_tiles();
        all.sort_by_key(|(p, _)| (p.level(), p.index()));
        let paths: Vec<TilePath> = all.iter().map(|(p, _)| *p).collect();
        assert_eq!(paths, tiles_for_size(70_000));
    }

    #[test]
    fn changed_tiles_track_growth() {
        let mut w = TileWriter::new();
        for i in 0..3u8 {
            w.append_entry(&[i]);
        }
        let c = w.take_changed_tiles();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0.to_path(), "tile/0/000.p/3");
        assert_eq!(c[0].1.len(), 96);
        assert!(w.take_changed_tiles().is_empty());
        for i in 3..=255u8 {
            w.append_entry(&[i]);
        }
        // Exactly full: the full tile and the level-1 partial of width 1.
        let c = w.take_changed_tiles();
        let p: Vec<String> = c.iter().map(|(p, _)| p.to_path()).collect();
        assert_eq!(p, ["tile/0/000", "tile/1/000.p/1"]);
        assert_eq!(c[0].1.len(), 8192);
        w.append_entry(b"x");
        let c = w.take_changed_tiles();
        let p: Vec<String> = c.iter().map(|(p, _)| p.to_path()).collect();
        assert_eq!(p, ["tile/0/001.p/1"]);
        assert_eq!(w.partial_tile_paths().len(), 2);
    }

    #[test]
    fn restore_validation() {
        let mut w = TileWriter::new();
        for i in 0..(256u32 * 3 + 7) {
            w.append_entry(&i.to_be_bytes());
        }
        let parts = w.partial_tiles();
        assert_eq!(parts.len(), 2);
        let r = TileWriter::from_partial_tiles(w.size(), &parts).unwrap();
        assert_eq!(r.root(), w.root());
        assert_eq!(
            TileWriter::from_partial_tiles(w.size(), &parts[..1]),
            Err(TileError::MissingPartial {
                level: 1,
                width: 3,
                size: 775
            })
        );
        let mut dup = parts.clone();
        dup.push(parts[0].clone());
        assert_eq!(
            TileWriter::from_partial_tiles(w.size(), &dup),
            Err(TileError::DuplicatePartial { level: 0 })
        );
        assert_eq!(
            TileWriter::from_partial_tiles(w.size() + 1, &parts),
            Err(TileError::WidthMismatch {
                level: 0,
                expected_width: 8,
                got_bytes: 7 * 32,
                size: 776
            })
        );
        assert_eq!(
            TileWriter::from_partial_tiles(768, &parts[1..]).map(|w| w.size()),
            Ok(768)
        );
        assert_eq!(
            TileWriter::from_partial_tiles(256 * 3, &parts),
            Err(TileError::UnexpectedPartial {
                level: 0,
                size: 768
            })
        );
        assert_eq!(
            TileWriter::from_partial_tiles(1, &[(0, vec![0; 32]), (9, vec![0; 32])]),
            Err(TileError::UnexpectedPartial { level: 9, size: 1 })
        );
    }
}
