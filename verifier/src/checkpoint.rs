//! The log's signed checkpoint, and consistency between checkpoints.
//!
//! A consistency proof is never taken from the log ready-made: the verifier
//! reads the hash tiles of the newer tree, computes the RFC 9162 proof from
//! them, and checks it with [`verify_consistency`] against both signed roots.
//! Whatever the tiles say, a proof that verifies shows that the older tree is
//! a prefix of the newer one.

use crate::source::LogSource;
use crate::state::{self, State};
use crate::{Result, could_not, failed};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use veche_log::tiles::{TILE_WIDTH, subtree_from_tile, tile_for_subtree};
use veche_log::{
    Checkpoint, CheckpointError, Hash, Subtree, TILE_HEIGHT, TilePath, consistency_ranges,
    hash_range, verify_checkpoint, verify_consistency,
};

/// A checkpoint as shown in messages: `size N, root <base64>`.
pub struct Show<'a>(pub &'a Checkpoint);

impl fmt::Display for Show<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "size {}, root {}", self.0.size, self.0.root.to_base64())
    }
}

/// Checks that `vkey` is a usable verifier key and returns its name (the
/// log's origin).
pub fn key_name(vkey: &str) -> Result<String> {
    veche_log::checkpoint::parse_vkey(vkey)
        .map(|(name, _)| name)
        .map_err(|e| could_not(format!("--vkey: {e}")))
}

/// Verifies a signed checkpoint note with `vkey`; `what` names it in errors.
pub fn verify_note(note: &[u8], vkey: &str, what: &str) -> Result<Checkpoint> {
    verify_checkpoint(note, vkey).map_err(|e| match e {
        CheckpointError::BadKey(k) => could_not(format!("--vkey: {k}")),
        e => failed(format!("{what}: {e}")),
    })
}

/// Fetches the log's `checkpoint` and verifies it with `vkey`: signature,
/// strict body, origin equal to the key name. Returns it and its note.
pub fn fetch_checkpoint(src: &dyn LogSource, vkey: &str) -> Result<(Checkpoint, String)> {
    let bytes = src.get("checkpoint")?.ok_or_else(|| {
        could_not(format!(
            "{}: not found (is --log the tlog-tiles prefix of the log?)",
            src.locate("checkpoint")
        ))
    })?;
    let cp = verify_note(&bytes, vkey, &src.locate("checkpoint"))?;
    // verify_note succeeded, so the note is UTF-8.
    Ok((cp, String::from_utf8_lossy(&bytes).into_owned()))
}

/// The hash tile of a tree of `size` leaves at `level`, `index`: full, or
/// partial with the width the tree gives it.
pub fn hash_tile(size: u64, level: u8, index: u64) -> TilePath {
    let hashes = size
        .checked_shr(u32::from(TILE_HEIGHT) * u32::from(level))
        .unwrap_or(0);
    let width = hashes.saturating_sub(index * TILE_WIDTH).min(TILE_WIDTH);
    TilePath::Hash {
        level,
        index,
        width: width.max(1) as u16,
    }
}

/// Reads complete-subtree hashes of the tree of `size` leaves from its hash
/// tiles, fetching each tile once.
pub struct TileReader<'a> {
    src: &'a dyn LogSource,
    size: u64,
    tiles: HashMap<TilePath, Vec<u8>>,
}

impl<'a> TileReader<'a> {
    /// A reader of the tiles of the tree of `size` leaves served by `src`.
    pub fn new(src: &'a dyn LogSource, size: u64) -> Self {
        TileReader {
            src,
            size,
            tiles: HashMap::new(),
        }
    }

    /// The hash of complete subtree `st` (which must lie within the tree).
    pub fn subtree(&mut self, st: Subtree) -> Result<Hash> {
        let (level, index, _) = tile_for_subtree(st);
        let path = hash_tile(self.size, level, index);
        if !self.tiles.contains_key(&path) {
            let p = path.to_path();
            let data = self.src.get(&p)?.ok_or_else(|| {
                failed(format!(
                    "{}: missing, but the tree of size {} has it",
                    self.src.locate(&p),
                    self.size
                ))
            })?;
            self.tiles.insert(path, data);
        }
        subtree_from_tile(st, &self.tiles[&path])
            .map_err(|e| failed(format!("{}: {e}", self.src.locate(&path.to_path()))))
    }
}

/// Proves that `old` is a prefix of `new` (same origin, as both were
/// verified with the same key). Fails loudly, naming both checkpoints, on a
/// rollback (smaller size), a fork (same size, other root) or a proof that
/// does not verify.
pub fn check_consistency(src: &dyn LogSource, old: &Checkpoint, new: &Checkpoint) -> Result<()> {
    let (o, n) = (Show(old), Show(new));
    if new.size < old.size {
        return Err(failed(format!(
            "ROLLBACK: the log's checkpoint ({n}) is smaller than one it signed before ({o})"
        )));
    }
    if new.size == old.size {
        if new.root != old.root {
            return Err(failed(format!(
                "FORK: two checkpoints of the same size with different roots: before ({o}), now ({n})"
            )));
        }
        return Ok(());
    }
    let mut tiles = TileReader::new(src, new.size);
    let mut get = |st| tiles.subtree(st);
    let proof = consistency_ranges(old.size, new.size)
        .into_iter()
        .map(|r| hash_range(r.start, r.end, &mut get))
        .collect::<Result<Vec<Hash>>>()?;
    verify_consistency(old.size, new.size, &old.root, &new.root, &proof).map_err(|e| {
        failed(format!(
            "FORK: the log's checkpoint ({n}) does not extend the one seen before ({o}): \
             the consistency proof computed from the new tree's tiles fails: {e}"
        ))
    })
}

/// The outcome of [`verify_log_checkpoint`].
#[derive(Debug, Clone)]
pub struct Verified {
    /// The log's current checkpoint, verified.
    pub checkpoint: Checkpoint,
    /// Its signed note.
    pub note: String,
    /// The checkpoint remembered in the state file, if any; the current one
    /// was proven consistent with it.
    pub previous: Option<Checkpoint>,
}

impl Verified {
    /// Remembers the current checkpoint in the state file at `path`.
    pub fn remember(&self, path: &Path) -> Result<()> {
        state::save(path, &State::new(&self.checkpoint, &self.note))
    }
}

/// Fetches and verifies the log's checkpoint, and proves it consistent with
/// the checkpoint remembered in the state file at `state_path` (if there is
/// one). Does not write the state file: call [`Verified::remember`] once the
/// whole command has succeeded.
pub fn verify_log_checkpoint(
    src: &dyn LogSource,
    vkey: &str,
    state_path: &Path,
) -> Result<Verified> {
    let origin = key_name(vkey)?;
    let previous = match state::load(state_path)? {
        Some(st) => {
            if st.origin != origin {
                return Err(could_not(format!(
                    "state file {} is for log {:?}, not {origin:?}",
                    state_path.display(),
                    st.origin
                )));
            }
            Some(st.checkpoint(vkey, state_path)?)
        }
        None => None,
    };
    let (checkpoint, note) = fetch_checkpoint(src, vkey)?;
    if let Some(old) = &previous {
        check_consistency(src, old, &checkpoint)?;
    }
    Ok(Verified {
        checkpoint,
        note,
        previous,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_tile_widths() {
        let t = |size, level, index| hash_tile(size, level, index).to_path();
        assert_eq!(t(300, 0, 0), "tile/0/000");
        assert_eq!(t(300, 0, 1), "tile/0/001.p/44");
        let size = 256 * (256 * 3 + 3) + 5;
        assert_eq!(t(size, 1, 3), "tile/1/003.p/3");
        assert_eq!(t(size, 1, 2), "tile/1/002");
        assert_eq!(t(size, 2, 0), "tile/2/000.p/3");
    }
}
