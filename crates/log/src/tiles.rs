//! The [C2SP tlog-tiles] layout: hash tiles, entry bundles and their paths.
//!
//! With tile height 8, the hash tile at level `L`, index `N` holds (up to) 256
//! consecutive hashes of complete subtrees of height `8·L`: position `i` is
//! `MTH(D[(N·256 + i)·256^L .. (N·256 + i + 1)·256^L])`. A full tile is 8192
//! bytes; the rightmost tile of each level may be *partial* (1..=255 hashes),
//! its width being `floor(size / 256^L) mod 256`. Entry bundles (`tile/entries/N`)
//! carry the entries of the level-0 tile `N`, each prefixed by its big-endian
//! `u16` length.
//!
//! Paths are relative (no leading `/`, no prefix): `tile/0/x001/x234/067`,
//! `tile/1/000.p/5`, `tile/entries/x001/234.p/17`.
//!
//! [C2SP tlog-tiles]: https://c2sp.org/tlog-tiles

use crate::{HASH_SIZE, Hash, Subtree, node_hash};
use std::fmt;
use std::ops::Range;

/// Tile height: each tile spans 8 levels of the tree.
pub const TILE_HEIGHT: u8 = 8;
/// Tile width: a full tile holds 256 hashes (or entries).
pub const TILE_WIDTH: u64 = 256;
/// Highest tile level the path syntax allows.
pub const MAX_TILE_LEVEL: u8 = 63;
/// Bytes in a full hash tile.
pub const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * HASH_SIZE;
/// Largest entry an entry bundle can carry (`u16` length prefix).
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// A tile or entry-bundle coordinate. `width` is 1..=256; 256 is a full tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TilePath {
    /// A hash tile `tile/<level>/<index>[.p/<width>]`.
    Hash {
        /// Tile level, 0..=63.
        level: u8,
        /// Tile index within the level.
        index: u64,
        /// Number of hashes, 1..=256.
        width: u16,
    },
    /// An entry bundle `tile/entries/<index>[.p/<width>]`.
    Entries {
        /// Bundle index (= level-0 tile index).
        index: u64,
        /// Number of entries, 1..=256.
        width: u16,
    },
}

/// A string that is not a canonical tile path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tile path {path:?}: {reason}")]
pub struct TilePathError {
    /// The rejected path (truncated to 80 bytes).
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Errors about tile or bundle contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// Tile data is not a whole number of 32-byte hashes.
    #[error("tile data length {len} is not a multiple of 32")]
    BadLength {
        /// Length of the data.
        len: usize,
    },
    /// Tile data has more than 256 hashes.
    #[error("tile data has {width} hashes, more than 256")]
    TooWide {
        /// Number of hashes.
        width: usize,
    },
    /// Tile data is too narrow to contain the requested subtree.
    #[error("tile has {width} hashes but positions {needed:?} are needed")]
    TooNarrow {
        /// Number of hashes present.
        width: usize,
        /// Positions needed.
        needed: Range<u64>,
    },
    /// Restoring a writer: a partial tile has the wrong width for the size.
    #[error(
        "partial tile at level {level} has {got_bytes} bytes, expected {expected_width} hashes for tree size {size}"
    )]
    WidthMismatch {
        /// Tile level.
        level: u8,
        /// Expected width (hashes).
        expected_width: u64,
        /// Length of the data supplied.
        got_bytes: usize,
        /// The tree size.
        size: u64,
    },
    /// Restoring a writer: a partial tile for a level that has none.
    #[error("unexpected partial tile at level {level}: tree size {size} has none there")]
    UnexpectedPartial {
        /// Tile level.
        level: u8,
        /// The tree size.
        size: u64,
    },
    /// Restoring a writer: a required partial tile is missing.
    #[error("missing partial tile at level {level} (width {width}) for tree size {size}")]
    MissingPartial {
        /// Tile level.
        level: u8,
        /// Its width.
        width: u64,
        /// The tree size.
        size: u64,
    },
    /// Restoring a writer: two partial tiles for the same level.
    #[error("two partial tiles given for level {level}")]
    DuplicatePartial {
        /// Tile level.
        level: u8,
    },
    /// An entry is too large for a bundle.
    #[error("entry {index} is {len} bytes, more than the 65535 a bundle allows")]
    EntryTooLarge {
        /// Position in the bundle.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// A bundle must hold 1..=256 entries.
    #[error("a bundle must hold 1 to 256 entries, not {count}")]
    BadEntryCount {
        /// Number of entries.
        count: usize,
    },
    /// A bundle ends in the middle of a length prefix or an entry.
    #[error("bundle truncated at byte {offset}")]
    BundleTruncated {
        /// Offset of the incomplete item.
        offset: usize,
    },
}

fn path_err(path: &str, reason: &'static str) -> TilePathError {
    let mut cut = path.len().min(80);
    while !path.is_char_boundary(cut) {
        cut -= 1;
    }
    TilePathError {
        path: path[..cut].to_string(),
        reason,
    }
}

/// Appends the C2SP encoding of `n`: 3-digit groups, all but the last
/// prefixed with `x`.
fn push_index(out: &mut String, n: u64) {
    let mut groups = Vec::with_capacity(7);
    let mut n = n;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    for (i, g) in groups.iter().rev().enumerate() {
        if i + 1 < groups.len() {
            out.push_str(&format!("x{g:03}/"));
        } else {
            out.push_str(&format!("{g:03}"));
        }
    }
}

/// Parses a string of ASCII digits without sign, whitespace or leading zeros
/// (except "0" itself), with overflow checking.
fn parse_canonical_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

impl TilePath {
    /// Parses a canonical tile path (no leading `/`). Strict: exactly the
    /// strings produced by [`to_path`](Self::to_path) for valid tiles are
    /// accepted. Never panics.
    pub fn parse(path: &str) -> Result<Self, TilePathError> {
        // Longest canonical path: "tile/entries/" + 7 index groups (27
        // chars) + ".p/255" = 46 bytes.
        if path.len() > 64 {
            return Err(path_err(path, "too long"));
        }
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| path_err(path, "must start with \"tile/\""))?;
        let (kind, rest) = rest
            .split_once('/')
            .ok_or_else(|| path_err(path, "missing tile index"))?;
        let level = if kind == "entries" {
            None
        } else {
            let l = parse_canonical_decimal(kind)
                .ok_or_else(|| path_err(path, "level must be a decimal without leading zeros"))?;
            if l > u64::from(MAX_TILE_LEVEL) {
                return Err(path_err(path, "level must be at most 63"));
            }
            Some(l as u8)
        };
        let mut parts: Vec<&str> = rest.split('/').collect();
        let mut width: u16 = TILE_WIDTH as u16;
        if parts.len() >= 2 {
            let n = parts.len();
            if let Some(last_index) = parts[n - 2].strip_suffix(".p") {
                let w = parse_canonical_decimal(parts[n - 1]).ok_or_else(|| {
                    path_err(
                        path,
                        "partial width must be a decimal without leading zeros",
                    )
                })?;
                if !(1..TILE_WIDTH).contains(&w) {
                    return Err(path_err(path, "partial width must be 1 to 255"));
                }
                width = w as u16;
                parts[n - 2] = last_index;
                parts.pop();
            }
        }
        let mut index: u64 = 0;
        let count = parts.len();
        for (i, part) in parts.iter().enumerate() {
            let digits = if i + 1 < count {
                part.strip_prefix('x').ok_or_else(|| {
                    path_err(path, "index groups but the last must start with 'x'")
                })?
            } else {
                part
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(path_err(path, "index groups must be exactly 3 digits"));
            }
            if i == 0 && count > 1 && digits == "000" {
                return Err(path_err(path, "index has a leading zero group"));
            }
            let g: u64 = digits
                .parse()
                .map_err(|_| path_err(path, "index groups must be exactly 3 digits"))?;
            index = index
                .checked_mul(1000)
                .and_then(|v| v.checked_add(g))
                .ok_or_else(|| path_err(path, "index does not fit in 64 bits"))?;
        }
        let tile = match level {
            Some(level) => TilePath::Hash {
                level,
                index,
                width,
            },
            None => TilePath::Entries { index, width },
        };
        // Belt and braces: the accepted language is exactly the canonical one.
        if tile.to_path() != path {
            return Err(path_err(path, "not in canonical form"));
        }
        Ok(tile)
    }

    /// The canonical path, e.g. `tile/0/x001/x234/067.p/5`.
    pub fn to_path(&self) -> String {
        let mut out = String::with_capacity(48);
        let (index, width) = match *self {
            TilePath::Hash {
                level,
                index,
                width,
            } => {
                out.push_str(&format!("tile/{level}/"));
                (index, width)
            }
            TilePath::Entries { index, width } => {
                out.push_str("tile/entries/");
                (index, width)
            }
        };
        push_index(&mut out, index);
        if u64::from(width) != TILE_WIDTH {
            out.push_str(&format!(".p/{width}"));
        }
        out
    }

    /// True if the fields are in range (level <= 63, width 1..=256).
    pub fn is_valid(&self) -> bool {
        let level_ok = match self {
            TilePath::Hash { level, .. } => *level <= MAX_TILE_LEVEL,
            TilePath::Entries { .. } => true,
        };
        level_ok && (1..=TILE_WIDTH).contains(&u64::from(self.width()))
    }

    /// The tile index.
    pub fn index(&self) -> u64 {
        match *self {
            TilePath::Hash { index, .. } | TilePath::Entries { index, .. } => index,
        }
    }

    /// The width (number of hashes or entries).
    pub fn width(&self) -> u16 {
        match *self {
            TilePath::Hash { width, .. } | TilePath::Entries { width, .. } => width,
        }
    }

    /// The hash-tile level, or `None` for an entry bundle.
    pub fn level(&self) -> Option<u8> {
        match *self {
            TilePath::Hash { level, .. } => Some(level),
            TilePath::Entries { .. } => None,
        }
    }

    /// True for a partial (width < 256) tile or bundle.
    pub fn is_partial(&self) -> bool {
        u64::from(self.width()) < TILE_WIDTH
    }

    /// Expected size of the resource in bytes, for hash tiles (`width · 32`).
    pub fn hash_tile_bytes(&self) -> Option<usize> {
        match self {
            TilePath::Hash { width, .. } => Some(usize::from(*width) * HASH_SIZE),
            TilePath::Entries { .. } => None,
        }
    }

    /// The same coordinate as a full tile (width 256).
    pub fn full(&self) -> TilePath {
        match *self {
            TilePath::Hash { level, index, .. } => TilePath::Hash {
                level,
                index,
                width: TILE_WIDTH as u16,
            },
            TilePath::Entries { index, .. } => TilePath::Entries {
                index,
                width: TILE_WIDTH as u16,
            },
        }
    }

    /// The leaf (entry) indexes this tile or bundle covers, at its width, or
    /// `None` if that range does not fit in `u64`.
    pub fn entry_range(&self) -> Option<Range<u64>> {
        let level = u32::from(self.level().unwrap_or(0));
        let per_hash = 1u64.checked_shl(8 * level)?;
        let start = self
            .index()
            .checked_mul(TILE_WIDTH)?
            .checked_mul(per_hash)?;
        let span = u64::from(self.width()).checked_mul(per_hash)?;
        Some(start..start.checked_add(span)?)
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_path())
    }
}

impl std::str::FromStr for TilePath {
    type Err = TilePathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TilePath::parse(s)
    }
}

/// Number of hashes at tile level `level` in a tree of `size`: the count of
/// complete subtrees of height `8·level`.
fn hashes_at_level(size: u64, level: u8) -> u64 {
    size.checked_shr(u32::from(TILE_HEIGHT) * u32::from(level))
        .unwrap_or(0)
}

/// Every hash tile (all levels, full and partial) of a tree of `size`, ordered
/// by (level, index). A tree of size 0 has none. Note this is O(size / 256).
pub fn tiles_for_size(size: u64) -> Vec<TilePath> {
    tiles_between(0, size)
}

/// The hash tiles that appear or change when the tree grows from `old` to
/// `new` leaves, ordered by (level, index): the full tiles completed in
/// between and the new partial tile of every level that changed. These are
/// the tiles to publish for a new checkpoint (cf. Go `tlog.NewTiles`).
/// Empty when `new <= old`.
pub fn tiles_between(old: u64, new: u64) -> Vec<TilePath> {
    let mut out = Vec::new();
    if new <= old {
        return out;
    }
    for level in 0..=MAX_TILE_LEVEL {
        let new_n = hashes_at_level(new, level);
        if new_n == 0 {
            break;
        }
        let old_n = hashes_at_level(old, level);
        if old_n == new_n {
            continue;
        }
        for index in (old_n / TILE_WIDTH)..(new_n / TILE_WIDTH) {
            out.push(TilePath::Hash {
                level,
                index,
                width: TILE_WIDTH as u16,
            });
        }
        let w = new_n % TILE_WIDTH;
        if w > 0 {
            out.push(TilePath::Hash {
                level,
                index: new_n / TILE_WIDTH,
                width: w as u16,
            });
        }
    }
    out
}

/// Every entry bundle of a tree of `size`, in index order (the last one
/// partial if `size` is not a multiple of 256).
pub fn entry_bundles_for_size(size: u64) -> Vec<TilePath> {
    let full = size / TILE_WIDTH;
    let mut out: Vec<TilePath> = (0..full)
        .map(|index| TilePath::Entries {
            index,
            width: TILE_WIDTH as u16,
        })
        .collect();
    if !size.is_multiple_of(TILE_WIDTH) {
        out.push(TilePath::Entries {
            index: full,
            width: (size % TILE_WIDTH) as u16,
        });
    }
    out
}

/// Where a complete subtree lives in the tiles. A subtree at level
/// `l = 8a + b` (`b < 8`), index `k` is the MTH of the `2^b` hashes at
/// positions `[(k << b) mod 256, +2^b)` of the level-`a` tile with index
/// `(k << b) >> 8`. Returns `(tile level, tile index, positions)`.
pub fn tile_for_subtree(st: Subtree) -> (u8, u64, Range<u64>) {
    let a = st.level / TILE_HEIGHT;
    let b = st.level % TILE_HEIGHT;
    let first = st.index << b; // position among level-8a hashes
    let start = first % TILE_WIDTH;
    (a, first >> TILE_HEIGHT, start..start + (1u64 << b))
}

/// MTH of a run of hashes whose length is a power of two.
fn perfect_root(hashes: &[u8]) -> Hash {
    let n = hashes.len() / HASH_SIZE;
    if n == 1 {
        let mut h = [0u8; HASH_SIZE];
        h.copy_from_slice(hashes);
        return Hash(h);
    }
    let half = n / 2 * HASH_SIZE;
    node_hash(
        &perfect_root(&hashes[..half]),
        &perfect_root(&hashes[half..]),
    )
}

/// The hash of complete subtree `st`, read from `tile_data`: the concatenated
/// 32-byte hashes of the tile given by [`tile_for_subtree`] (possibly partial,
/// but wide enough to contain the subtree's positions).
pub fn subtree_from_tile(st: Subtree, tile_data: &[u8]) -> Result<Hash, TileError> {
    let width = check_tile_data(tile_data)?;
    let (_, _, pos) = tile_for_subtree(st);
    if pos.end > width as u64 {
        return Err(TileError::TooNarrow { width, needed: pos });
    }
    let (s, e) = (pos.start as usize * HASH_SIZE, pos.end as usize * HASH_SIZE);
    Ok(perfect_root(&tile_data[s..e]))
}

/// Checks that `tile_data` is 1..=256 whole hashes; returns the width.
pub fn check_tile_data(tile_data: &[u8]) -> Result<usize, TileError> {
    if !tile_data.len().is_multiple_of(HASH_SIZE) {
        return Err(TileError::BadLength {
            len: tile_data.len(),
        });
    }
    let width = tile_data.len() / HASH_SIZE;
    if width as u64 > TILE_WIDTH {
        return Err(TileError::TooWide { width });
    }
    Ok(width)
}

/// Encodes an entry bundle: each entry prefixed by its big-endian `u16`
/// length. A bundle holds 1..=256 entries of at most 65535 bytes.
pub fn encode_bundle(entries: &[&[u8]]) -> Result<Vec<u8>, TileError> {
    if entries.is_empty() || entries.len() as u64 > TILE_WIDTH {
        return Err(TileError::BadEntryCount {
            count: entries.len(),
        });
    }
    let total: usize = entries.iter().map(|e| e.len() + 2).sum();
    let mut out = Vec::with_capacity(total);
    for (index, e) in entries.iter().enumerate() {
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge {
            index,
            len: e.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes an entry bundle. Strict: 1..=256 entries, no trailing bytes.
pub fn decode_bundle(data: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < data.len() {
        if out.len() as u64 == TILE_WIDTH {
            return Err(TileError::BadEntryCount {
                count: out.len() + 1,
            });
        }
        let Some(prefix) = data.get(off..off + 2) else {
            return Err(TileError::BundleTruncated { offset: off });
        };
        let len = usize::from(u16::from_be_bytes([prefix[0], prefix[1]]));
        let Some(entry) = data.get(off + 2..off + 2 + len) else {
            return Err(TileError::BundleTruncated { offset: off });
        };
        out.push(entry);
        off += 2 + len;
    }
    if out.is_empty() {
        return Err(TileError::BadEntryCount { count: 0 });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_examples() {
        let t = TilePath::Hash {
            level: 0,
            index: 1_234_067,
            width: 256,
        };
        assert_eq!(t.to_path(), "tile/0/x001/x234/067");
        assert_eq!(TilePath::parse("tile/0/x001/x234/067"), Ok(t));
        let t = TilePath::Hash {
            level: 1,
            index: 0,
            width: 5,
        };
        assert_eq!(t.to_path(), "tile/1/000.p/5");
        assert_eq!(TilePath::parse("tile/1/000.p/5"), Ok(t));
        let t = TilePath::Entries {
            index: 1234,
            width: 17,
        };
        assert_eq!(t.to_path(), "tile/entries/x001/234.p/17");
        assert_eq!(TilePath::parse("tile/entries/x001/234.p/17"), Ok(t));
        let t = TilePath::Hash {
            level: 63,
            index: u64::MAX,
            width: 255,
        };
        assert_eq!(
            t.to_path(),
            "tile/63/x018/x446/x744/x073/x709/x551/615.p/255"
        );
        assert_eq!(TilePath::parse(&t.to_path()), Ok(t));
        let t = TilePath::Entries {
            index: u64::MAX,
            width: 1,
        };
        assert_eq!(TilePath::parse(&t.to_path()), Ok(t));
        assert!(t.to_path().len() <= 64);
        assert_eq!(TilePath::parse("tile/0/x001/000").unwrap().index(), 1000);
    }

    #[test]
    fn rejects_non_canonical_paths() {
        for bad in [
            "",
            "tile",
            "tile/",
            "tile/0",
            "tile/0/",
            "/tile/0/000",
            "tile/0/000/",
            "tile//000",
            "tile/0//000",
            "tile/00/000",
            "tile/01/000",
            "tile/+1/000",
            "tile/-0/000",
            "tile/64/000",
            "tile/256/000",
            "tile/0/00",
            "tile/0/0000",
            "tile/0/1",
            "tile/0/x000",
            "tile/0/001/002",
            "tile/0/x000/001",
            "tile/0/x001/x002",
            "tile/0/xx01/002",
            "tile/0/X001/002",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/05",
            "tile/0/000.p/",
            "tile/0/000.p",
            "tile/0/000.p/5/",
            "tile/0/000.p/5.p/5",
            "tile/0/000.p/+5",
            "tile/0/000.p/ 5",
            "tile/0/000.P/5",
            "tile/0/000.p/99999999999999999999999",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
            "tile/entry/000",
            "tile/entries/",
            "tile/entries/000.p/256",
            "tile/data/000",
            "tile/8/0/000",
            "tile/0/a00",
            "tile/0/0a0",
            "tile/0/٠٠٠",
            "tile/0/000 ",
            " tile/0/000",
            "tile/0/000\n",
            "TILE/0/000",
        ] {
            assert!(TilePath::parse(bad).is_err(), "accepted {bad:?}");
        }
        let long = format!("tile/0/{}000", "x000/".repeat(100));
        assert_eq!(TilePath::parse(&long).unwrap_err().reason, "too long");
    }

    #[test]
    fn tiles_for_size_examples() {
        assert!(tiles_for_size(0).is_empty());
        assert_eq!(
            tiles_for_size(1),
            vec![TilePath::Hash {
                level: 0,
                index: 0,
                width: 1
            }]
        );
        // "a tree of size 256 will be represented by a full level 0 tile and
        // a partial level 1 tile of width 1" (tlog-tiles).
        assert_eq!(
            tiles_for_size(256),
            vec![
                TilePath::Hash {
                    level: 0,
                    index: 0,
                    width: 256
                },
                TilePath::Hash {
                    level: 1,
                    index: 0,
                    width: 1
                }
            ]
        );
        // "a tree of size 70,000 will be represented by 273 full level 0
        // tiles, one partial level 0 tile of width 112, one full level 1
        // tile, one partial level 1 tile of width 17, and one partial level 2
        // tile of width 1."
        let t = tiles_for_size(70_000);
        let l0: Vec<_> = t.iter().filter(|p| p.level() == Some(0)).collect();
        assert_eq!(l0.len(), 274);
        assert_eq!(l0.iter().filter(|p| !p.is_partial()).count(), 273);
        assert_eq!(l0[273].width(), 112);
        let l1: Vec<_> = t.iter().filter(|p| p.level() == Some(1)).collect();
        assert_eq!(l1.len(), 2);
        assert_eq!((l1[0].width(), l1[1].width()), (256, 17));
        let l2: Vec<_> = t.iter().filter(|p| p.level() == Some(2)).collect();
        assert_eq!(l2.len(), 1);
        assert_eq!(l2[0].width(), 1);
        assert_eq!(t.len(), 277);
        let mut sorted = t.clone();
        sorted.sort_by_key(|p| (p.level(), p.index()));
        assert_eq!(sorted, t);

        let b = entry_bundles_for_size(70_000);
        assert_eq!(b.len(), 274);
        assert_eq!(
            b[273],
            TilePath::Entries {
                index: 273,
                width: 112
            }
        );
        assert!(entry_bundles_for_size(0).is_empty());
        assert_eq!(entry_bundles_for_size(512).len(), 2);
    }

    #[test]
    fn tiles_between_is_the_growth() {
        for (old, new) in [
            (0u64, 1u64),
            (1, 2),
            (255, 256),
            (256, 257),
            (1000, 70_000),
            (65_535, 65_536),
        ] {
            let grown = tiles_between(old, new);
            let old_set = tiles_for_size(old);
            let expected: Vec<_> = tiles_for_size(new)
                .into_iter()
                .filter(|t| !old_set.contains(t))
                .collect();
            assert_eq!(grown, expected, "{old}->{new}");
        }
        assert!(tiles_between(5, 5).is_empty());
        assert!(tiles_between(6, 5).is_empty());
        // The top level of a huge tree.
        let t = tiles_between(u64::MAX - 1, u64::MAX);
        assert_eq!(t.len(), 1);
        assert_eq!(
            t[0],
            TilePath::Hash {
                level: 0,
                index: u64::MAX / 256,
                width: 255
            }
        );
    }

    #[test]
    fn tile_for_subtree_examples() {
        assert_eq!(tile_for_subtree(Subtree::new(0, 0)), (0, 0, 0..1));
        assert_eq!(tile_for_subtree(Subtree::new(0, 257)), (0, 1, 1..2));
        assert_eq!(tile_for_subtree(Subtree::new(3, 5)), (0, 0, 40..48));
        assert_eq!(tile_for_subtree(Subtree::new(7, 3)), (0, 1, 128..256));
        assert_eq!(tile_for_subtree(Subtree::new(8, 3)), (1, 0, 3..4));
        assert_eq!(tile_for_subtree(Subtree::new(9, 200)), (1, 1, 144..146));
        assert_eq!(tile_for_subtree(Subtree::new(63, 1)), (7, 0, 128..256));
        assert_eq!(tile_for_subtree(Subtree::new(56, 2)), (7, 0, 2..3));
    }

    #[test]
    fn subtree_from_tile_checks() {
        let data: Vec<u8> = (0..4u8).flat_map(|i| [i; 32]).collect();
        let h = |i: u8| Hash([i; 32]);
        assert_eq!(subtree_from_tile(Subtree::new(0, 2), &data), Ok(h(2)));
        assert_eq!(
            subtree_from_tile(Subtree::new(2, 0), &data),
            Ok(node_hash(
                &node_hash(&h(0), &h(1)),
                &node_hash(&h(2), &h(3))
            ))
        );
        assert_eq!(
            subtree_from_tile(Subtree::new(0, 4), &data),
            Err(TileError::TooNarrow {
                width: 4,
                needed: 4..5
            })
        );
        assert_eq!(
            subtree_from_tile(Subtree::new(0, 0), &data[..31]),
            Err(TileError::BadLength { len: 31 })
        );
        assert_eq!(
            subtree_from_tile(Subtree::new(0, 0), &vec![0; 257 * 32]),
            Err(TileError::TooWide { width: 257 })
        );
        assert!(subtree_from_tile(Subtree::new(0, 0), &[]).is_err());
    }

    #[test]
    fn bundles() {
        let entries: Vec<&[u8]> = vec![b"", b"a", &[7u8; 300]];
        let enc = encode_bundle(&entries).unwrap();
        assert_eq!(&enc[..5], &[0, 0, 0, 1, b'a']);
        assert_eq!(decode_bundle(&enc).unwrap(), entries);
        assert_eq!(
            decode_bundle(&enc[..enc.len() - 1]),
            Err(TileError::BundleTruncated { offset: 5 })
        );
        let mut trailing = enc.clone();
        trailing.push(0);
        assert_eq!(
            decode_bundle(&trailing),
            Err(TileError::BundleTruncated { offset: enc.len() })
        );
        assert_eq!(
            decode_bundle(&[]),
            Err(TileError::BadEntryCount { count: 0 })
        );
        assert_eq!(
            encode_bundle(&[]),
            Err(TileError::BadEntryCount { count: 0 })
        );
        let big = vec![0u8; 65_536];
        assert_eq!(
            encode_bundle(&[b"x", &big]),
            Err(TileError::EntryTooLarge {
                index: 1,
                len: 65_536
            })
        );
        let max = vec![1u8; 65_535];
        assert_eq!(
            decode_bundle(&encode_bundle(&[&max]).unwrap()).unwrap(),
            vec![&max[..]]
        );
        let many: Vec<&[u8]> = vec![b"z"; 256];
        let enc = encode_bundle(&many).unwrap();
        assert_eq!(decode_bundle(&enc).unwrap().len(), 256);
        let mut over = enc.clone();
        over.extend_from_slice(&[0, 0]);
        assert_eq!(
            decode_bundle(&over),
            Err(TileError::BadEntryCount { count: 257 })
        );
        let too_many: Vec<&[u8]> = vec![b"z"; 257];
        assert_eq!(
            encode_bundle(&too_many),
            Err(TileError::BadEntryCount { count: 257 })
        );
    }

    #[test]
    fn entry_ranges() {
        let t = TilePath::Hash {
            level: 1,
            index: 2,
            width: 3,
        };
        assert_eq!(t.entry_range(), Some(2 * 65536..2 * 65536 + 3 * 256));
        let e = TilePath::Entries {
            index: 2,
            width: 256,
        };
        assert_eq!(e.entry_range(), Some(512..768));
        let huge = TilePath::Hash {
            level: 8,
            index: 0,
            width: 1,
        };
        assert_eq!(huge.entry_range(), None);
        assert!(huge.is_valid());
        assert!(!TilePath::Entries { index: 0, width: 0 }.is_valid());
        assert!(
            !TilePath::Hash {
                level: 64,
                index: 0,
                width: 1
            }
            .is_valid()
        );
        assert_eq!(t.full().width(), 256);
    }
}
