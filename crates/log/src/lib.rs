//! # veche-log: the pure core of the Veche transparency log
//!
//! Every state change in Veche is one entry of a single append-only
//! [RFC 6962] / [RFC 9162] Merkle tree, published as [C2SP tlog-tiles] and
//! committed to by [C2SP tlog-checkpoint]s in Ed25519 [C2SP signed-note]s.
//! This crate owns the log's *mathematics and formats*, and nothing else:
//!
//! * tree hashing ([`leaf_hash`], [`node_hash`], [`EMPTY_ROOT`], [`Subtree`]);
//! * [`proof`]: RFC 9162 §2.1 roots, inclusion and consistency proofs, both
//!   generation (over any source of subtree hashes) and verification;
//! * [`memory`]: [`MemoryTree`], an in-memory tree for tests, benches and the
//!   standalone verifier;
//! * [`tiles`]: tile/entry-bundle paths and formats of C2SP tlog-tiles;
//! * [`writer`]: [`TileWriter`], the sequencer's O(log n) append state that
//!   emits the hash tiles to persist;
//! * [`checkpoint`]: checkpoint bodies, the log's Ed25519 note key, signing and
//!   verifying checkpoints.
//!
//! It performs **no I/O** (no files, network, clocks or async): the server and
//! the standalone verifier share it. Storage, HTTP and entry encoding live in
//! other crates. See `specs/log.md` for the formats in detail.
//!
//! ```
//! use veche_log::{Checkpoint, LogSigner, TileWriter, leaf_hash, verify_checkpoint};
//! use veche_log::{inclusion_proof, verify_inclusion, Subtree, Hash};
//! use veche_log::tiles::{subtree_from_tile, tile_for_subtree};
//! use std::collections::HashMap;
//!
//! // Sequence some entries; persist the tiles the writer reports.
//! let mut writer = TileWriter::new();
//! let mut store = HashMap::new();
//! for e in [&b"first"[..], b"second", b"third"] {
//!     writer.append(leaf_hash(e));
//! }
//! for (path, bytes) in writer.take_changed_tiles() {
//!     store.insert(path, bytes); // e.g. "tile/0/000.p/3"
//! }
//!
//! // Sign a checkpoint.
//! let (signer, _secret_key_text) = LogSigner::generate("example.com/veche");
//! let cp = Checkpoint::new("example.com/veche", writer.size(), writer.root());
//! let note = signer.sign(&cp);
//! let verified = verify_checkpoint(note.as_bytes(), &signer.vkey()).unwrap();
//!
//! // Serve an inclusion proof from the stored tiles alone.
//! let mut get = |st: Subtree| -> Result<Hash, String> {
//!     let (level, index, _) = tile_for_subtree(st);
//!     let tile = store.iter().find(|(p, _)| p.level() == Some(level) && p.index() == index);
//!     let (_, bytes) = tile.ok_or("missing tile")?;
//!     subtree_from_tile(st, bytes).map_err(|e| e.to_string())
//! };
//! let proof = inclusion_proof(1, verified.size, &mut get).unwrap();
//! verify_inclusion(&leaf_hash(b"second"), 1, verified.size, &proof, &verified.root).unwrap();
//! ```
//!
//! [RFC 6962]: https://www.rfc-editor.org/rfc/rfc6962
//! [RFC 9162]: https://www.rfc-editor.org/rfc/rfc9162
//! [C2SP tlog-tiles]: https://c2sp.org/tlog-tiles
//! [C2SP tlog-checkpoint]: https://c2sp.org/tlog-checkpoint
//! [C2SP signed-note]: https://c2sp.org/signed-note
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use std::fmt;
use std::ops::Range;

pub mod checkpoint;
pub mod cosignature;
pub mod memory;
pub mod proof;
pub mod tiles;
pub mod writer;

pub use checkpoint::{Checkpoint, CheckpointError, KeyError, LogSigner, verify_checkpoint};
pub use memory::{MemoryTree, MissingSubtree};
pub use proof::{
    ProofError, consistency_proof, consistency_ranges, hash_range, inclusion_proof,
    inclusion_ranges, range_subtrees, root, verify_consistency, verify_inclusion,
};
pub use tiles::{TILE_HEIGHT, TILE_WIDTH, TileError, TilePath, TilePathError};
pub use writer::TileWriter;

/// Size of a SHA-256 hash in bytes.
pub const HASH_SIZE: usize = 32;

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
///
/// `Debug` and `Display` print lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

/// Error parsing a [`Hash`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The text is not exactly 64 hexadecimal digits.
    #[error("invalid hex hash: expected 64 hex digits, got {len} characters")]
    BadHex {
        /// Length of the rejected text, in bytes.
        len: usize,
    },
    /// The text is not canonical padded standard base64.
    #[error("invalid base64 hash: {0}")]
    BadBase64(String),
    /// The text decoded to something other than 32 bytes.
    #[error("hash must be 32 bytes, got {len}")]
    WrongLength {
        /// Number of decoded bytes.
        len: usize,
    },
}

impl Hash {
    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses exactly 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, HashError> {
        let mut out = [0u8; HASH_SIZE];
        if s.len() != 2 * HASH_SIZE {
            return Err(HashError::BadHex { len: s.len() });
        }
        hex::decode_to_slice(s, &mut out).map_err(|_| HashError::BadHex { len: s.len() })?;
        Ok(Hash(out))
    }

    /// Standard (RFC 4648 §4) padded base64, 44 characters.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Parses standard padded base64 that decodes to exactly 32 bytes.
    /// Strict: non-canonical encodings (wrong padding, non-zero trailing
    /// bits, whitespace) are rejected.
    pub fn from_base64(s: &str) -> Result<Self, HashError> {
        if s.len() != 44 {
            // Canonical padded base64 of 32 bytes is always 44 characters;
            // checking first also bounds the work on hostile input.
            if s.len() > 256 {
                return Err(HashError::BadBase64(format!("{} characters", s.len())));
            }
            return match BASE64.decode(s) {
                Ok(v) => Err(HashError::WrongLength { len: v.len() }),
                Err(e) => Err(HashError::BadBase64(e.to_string())),
            };
        }
        let v = BASE64
            .decode(s)
            .map_err(|e| HashError::BadBase64(e.to_string()))?;
        let arr: [u8; HASH_SIZE] = v
            .as_slice()
            .try_into()
            .map_err(|_| HashError::WrongLength { len: v.len() })?;
        Ok(Hash(arr))
    }

    /// The hash as a byte slice.
    pub fn as_bytes(&self) -> &[u8; HASH_SIZE] {
        &self.0
    }

    /// Reads a hash from a slice of exactly 32 bytes.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        b.try_into().ok().map(Hash)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl From<[u8; HASH_SIZE]> for Hash {
    fn from(b: [u8; HASH_SIZE]) -> Self {
        Hash(b)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// RFC 6962 leaf hash: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
#[inline]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 1 + 2 * HASH_SIZE];
    buf[0] = 0x01;
    buf[1..1 + HASH_SIZE].copy_from_slice(&left.0);
    buf[1 + HASH_SIZE..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buf).into())
}

/// Root of the empty tree: `SHA-256("")`.
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// A complete (perfect) subtree: leaves `[index << level, (index+1) << level)`.
///
/// `Subtree { level: 0, index: i }` is leaf `i`; its hash is the leaf hash.
/// Every complete subtree of a tree of size `n` is also a complete subtree
/// (with the same hash) of every larger tree: the log is append-only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subtree {
    /// Height of the subtree: it has `2^level` leaves.
    pub level: u8,
    /// Position among the subtrees of the same level, from the left.
    pub index: u64,
}

impl Subtree {
    /// The subtree at `level` and `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Subtree { level, index }
    }

    /// The single-leaf subtree of leaf `index`.
    pub const fn leaf(index: u64) -> Self {
        Subtree { level: 0, index }
    }

    /// Number of leaves, `2^level`, or `None` if that does not fit in a `u64`.
    pub fn leaf_count(&self) -> Option<u64> {
        1u64.checked_shl(u32::from(self.level))
    }

    /// The leaf range `[index << level, (index+1) << level)`, or `None` when
    /// it does not fit in `u64` (such a subtree belongs to no tree).
    pub fn range(&self) -> Option<Range<u64>> {
        let n = self.leaf_count()?;
        let start = self.index.checked_mul(n)?;
        let end = start.checked_add(n)?;
        Some(start..end)
    }

    /// The two halves of this subtree, or `None` for a leaf.
    pub fn children(&self) -> Option<(Subtree, Subtree)> {
        if self.level == 0 {
            return None;
        }
        let l = self.level - 1;
        let i = self.index.checked_mul(2)?;
        Some((Subtree::new(l, i), Subtree::new(l, i.checked_add(1)?)))
    }

    /// The parent subtree (one level up).
    pub fn parent(&self) -> Subtree {
        Subtree::new(self.level.saturating_add(1), self.index >> 1)
    }
}

impl fmt::Display for Subtree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "subtree(level {}, index {})", self.level, self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT.0, <[u8; 32]>::from(Sha256::digest(b"")));
    }

    #[test]
    fn leaf_and_node_hash_domain_separation() {
        // Leaf "" from the RFC 6962 vectors.
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let mut cat = vec![0x01];
        cat.extend_from_slice(&a.0);
        cat.extend_from_slice(&b.0);
        assert_eq!(node_hash(&a, &b).0, <[u8; 32]>::from(Sha256::digest(&cat)));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
    }

    #[test]
    fn hex_round_trip_and_strictness() {
        let h = leaf_hash(b"x");
        assert_eq!(Hash::from_hex(&h.to_hex()).unwrap(), h);
        assert_eq!(Hash::from_hex(&h.to_hex().to_uppercase()).unwrap(), h);
        assert!(Hash::from_hex("").is_err());
        assert!(Hash::from_hex(&h.to_hex()[..62]).is_err());
        assert!(Hash::from_hex(&format!("{}00", h.to_hex())).is_err());
        assert!(Hash::from_hex(&"g".repeat(64)).is_err());
        assert!(Hash::from_hex(&"é".repeat(32)).is_err());
        assert_eq!(format!("{h:?}"), format!("Hash({})", h.to_hex()));
        assert_eq!(h.to_string(), h.to_hex());
    }

    #[test]
    fn base64_round_trip_and_strictness() {
        let h = leaf_hash(b"x");
        let b = h.to_base64();
        assert_eq!(b.len(), 44);
        assert_eq!(Hash::from_base64(&b).unwrap(), h);
        // Unpadded.
        assert!(Hash::from_base64(b.trim_end_matches('=')).is_err());
        // Non-canonical trailing bits: the last symbol before '=' of a
        // 32-byte value carries 2 unused bits.
        let mut chars: Vec<char> = EMPTY_ROOT.to_base64().chars().collect();
        assert_eq!(chars[43], '=');
        let last = chars[42];
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let pos = alphabet.find(last).unwrap();
        chars[42] = alphabet.as_bytes()[pos ^ 1] as char;
        let noncanon: String = chars.into_iter().collect();
        assert!(Hash::from_base64(&noncanon).is_err());
        // Wrong lengths.
        assert_eq!(
            Hash::from_base64("AAAA"),
            Err(HashError::WrongLength { len: 3 })
        );
        let long = BASE64.encode([0u8; 33]);
        assert!(matches!(
            Hash::from_base64(&long),
            Err(HashError::WrongLength { len: 33 })
        ));
        assert!(Hash::from_base64(&"A".repeat(10_000)).is_err());
        assert!(Hash::from_base64(&format!(" {}", &b[1..])).is_err());
        // URL-safe alphabet is not accepted.
        let mut tricky = [0u8; 32];
        tricky[0] = 0xfb;
        tricky[1] = 0xff;
        let std = Hash(tricky).to_base64();
        assert!(std.contains('+') || std.contains('/'));
        let url = std.replace('+', "-").replace('/', "_");
        assert!(Hash::from_base64(&url).is_err());
    }

    #[test]
    fn subtree_ranges() {
        assert_eq!(Subtree::new(0, 5).range(), Some(5..6));
        assert_eq!(Subtree::new(3, 2).range(), Some(16..24));
        assert_eq!(Subtree::new(63, 1).range(), None);
        assert_eq!(Subtree::new(64, 0).range(), None);
        assert_eq!(Subtree::new(62, 2).range(), Some(1 << 63..3 << 62));
        assert_eq!(
            Subtree::new(3, 2).children(),
            Some((Subtree::new(2, 4), Subtree::new(2, 5)))
        );
        assert_eq!(Subtree::new(0, 2).children(), None);
        assert_eq!(Subtree::new(2, 5).parent(), Subtree::new(3, 2));
    }
}
