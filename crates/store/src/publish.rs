//! Reading the log for publication: C2SP tlog-tiles hash tiles and entry
//! bundles, inclusion and consistency proofs, and static mirrors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use veche_log::Hash;
use veche_log::tiles::{self, TilePath};

use crate::db::{Store, StoreError};

const FULL_TILE_BYTES: usize = 256 * 32;

/// The bytes at a tile path, if the log has them yet. A full tile is served
/// only once complete; a partial tile `.p/W` is the first W hashes (or
/// entries) of its tile, which never change once the tree has reached them.
pub async fn read_path(store: &Store, path: &TilePath) -> Result<Option<Vec<u8>>, StoreError> {
    match *path {
        TilePath::Hash {
            level,
            index,
            width,
        } => {
            let want = usize::from(width) * 32;
            Ok(store
                .tile(level, index)
                .await?
                .filter(|data| data.len() >= want && data.len() <= FULL_TILE_BYTES)
                .map(|mut data| {
                    data.truncate(want);
                    data
                }))
        }
        TilePath::Entries { index, width } => {
            let start = index * 256;
            let end = start + u64::from(width);
            let entries = store.entries(start, end).await?;
            if entries.len() as u64 != u64::from(width) {
                return Ok(None);
            }
            let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
            tiles::encode_bundle(&refs).map(Some).map_err(|e| {
                StoreError::Corrupt(format!("stored entry does not fit a bundle: {e}"))
            })
        }
    }
}

/// Fetches the hash tiles that hold the given subtrees and computes their
/// hashes. Tiles are read once each.
struct SubtreeReader<'a> {
    store: &'a Store,
    tiles: HashMap<(u8, u64), std::sync::Arc<[u8]>>,
}

impl<'a> SubtreeReader<'a> {
    fn new(store: &'a Store) -> Self {
        Self {
            store,
            tiles: HashMap::new(),
        }
    }

    /// Loads the tiles holding every subtree of `ranges`: from the tiles
    /// this process committed last when they are wide enough (a fresh
    /// entry's receipt), else from the database.
    async fn load(&mut self, ranges: &[std::ops::Range<u64>]) -> Result<(), StoreError> {
        for r in ranges {
            for st in veche_log::proof::range_subtrees(r.start, r.end) {
                let (level, index, positions) = tiles::tile_for_subtree(st);
                let needed = positions.end as usize * veche_log::HASH_SIZE;
                if self
                    .tiles
                    .get(&(level, index))
                    .is_some_and(|t| t.len() >= needed)
                {
                    continue;
                }
                let data = match self.store.recent_tiles.get(level, index) {
                    Some(t) if t.len() >= needed => t,
                    _ => self
                        .store
                        .tile(level, index)
                        .await?
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!("missing tile level {level} index {index}"))
                        })?
                        .into(),
                };
                self.tiles.insert((level, index), data);
            }
        }
        Ok(())
    }

    fn get(&self, st: veche_log::Subtree) -> Result<Hash, StoreError> {
        let (level, index, _) = tiles::tile_for_subtree(st);
        let data = self
            .tiles
            .get(&(level, index))
            .ok_or_else(|| StoreError::Corrupt(format!("tile {level}/{index} not loaded")))?;
        tiles::subtree_from_tile(st, data)
            .map_err(|e| StoreError::Corrupt(format!("tile {level}/{index}: {e}")))
    }
}

/// Why a proof cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ProofRequestError {
    #[error("index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("size {old} is larger than size {new}")]
    SizesOutOfOrder { old: u64, new: u64 },
    #[error("the log has {committed} entries; size {requested} is beyond it")]
    BeyondLog { requested: u64, committed: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

async fn check_committed(store: &Store, size: u64) -> Result<(), ProofRequestError> {
    let committed = store.tree_state().await?.size;
    if size > committed {
        return Err(ProofRequestError::BeyondLog {
            requested: size,
            committed,
        });
    }
    Ok(())
}

/// The RFC 9162 inclusion proof of entry `index` in the tree of `size`.
pub async fn inclusion_proof(
    store: &Store,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofRequestError> {
    if index >= size {
        return Err(ProofRequestError::IndexOutOfRange { index, size });
    }
    check_committed(store, size).await?;
    let ranges = veche_log::proof::inclusion_ranges(index, size);
    let mut reader = SubtreeReader::new(store);
    reader.load(&ranges).await?;
    Ok(veche_log::proof::inclusion_proof(index, size, &mut |st| {
        reader.get(st)
    })?)
}

/// The inclusion proof of entry `index` in the tree of a checkpoint this
/// process just committed (a receipt right after its append): `size` is
/// known to be committed, so the tree state is not read again, and the
/// tiles come from what the batch wrote.
pub async fn fresh_inclusion_proof(
    store: &Store,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofRequestError> {
    if index >= size {
        return Err(ProofRequestError::IndexOutOfRange { index, size });
    }
    let ranges = veche_log::proof::inclusion_ranges(index, size);
    let mut reader = SubtreeReader::new(store);
    reader.load(&ranges).await?;
    Ok(veche_log::proof::inclusion_proof(index, size, &mut |st| {
        reader.get(st)
    })?)
}

/// The RFC 9162 consistency proof between tree sizes `old` and `new`.
pub async fn consistency_proof(
    store: &Store,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofRequestError> {
    if old > new {
        return Err(ProofRequestError::SizesOutOfOrder { old, new });
    }
    check_committed(store, new).await?;
    let ranges = veche_log::proof::consistency_ranges(old, new);
    let mut reader = SubtreeReader::new(store);
    reader.load(&ranges).await?;
    Ok(veche_log::proof::consistency_proof(old, new, &mut |st| {
        reader.get(st)
    })?)
}

/// The root hash of the tree at any committed `size`.
pub async fn root_at(store: &Store, size: u64) -> Result<Hash, ProofRequestError> {
    check_committed(store, size).await?;
    let mut reader = SubtreeReader::new(store);
    reader.load(std::slice::from_ref(&(0..size))).await?;
    Ok(veche_log::proof::root(size, &mut |st| reader.get(st))?)
}

/// What an export wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExportStats {
    pub size: u64,
    pub files_written: u64,
    pub files_kept: u64,
    pub bytes_written: u64,
}

/// Writes the log, as of its latest signed checkpoint, as a static C2SP
/// tlog-tiles mirror under `dir`: `checkpoint`, `tile/<L>/<N>[.p/<W>]` and
/// `tile/entries/<N>[.p/<W>]`. Every tile path's content is immutable, so
/// files already present are kept; the checkpoint is written last and
/// atomically, so the mirror is complete for its checkpoint at every moment.
pub async fn export_mirror(store: &Store, dir: &Path) -> Result<ExportStats, StoreError> {
    let cp = store
        .latest_checkpoint()
        .await?
        .ok_or_else(|| StoreError::Corrupt("the log has no signed checkpoint yet".into()))?;
    let mut stats = ExportStats {
        size: cp.size,
        ..ExportStats::default()
    };
    let paths = tiles::tiles_for_size(cp.size)
        .into_iter()
        .chain(tiles::entry_bundles_for_size(cp.size));
    for path in paths {
        let file = dir.join(path.to_path());
        if tokio::fs::try_exists(&file).await.map_err(io_err(&file))? {
            stats.files_kept += 1;
            continue;
        }
        let data = read_path(store, &path)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("{} is missing", path.to_path())))?;
        write_atomically(&file, &data).await?;
        stats.files_written += 1;
        stats.bytes_written += data.len() as u64;
    }
    write_atomically(&dir.join("checkpoint"), cp.note.as_bytes()).await?;
    stats.files_written += 1;
    stats.bytes_written += cp.note.len() as u64;
    Ok(stats)
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Io(format!("{}: {e}", path.display()))
}

async fn write_atomically(path: &Path, data: &[u8]) -> Result<(), StoreError> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(io_err(parent))?;
    }
    let mut tmp = PathBuf::from(path);
    tmp.as_mut_os_string().push(".tmp");
    tokio::fs::write(&tmp, data).await.map_err(io_err(&tmp))?;
    tokio::fs::rename(&tmp, path).await.map_err(io_err(path))?;
    Ok(())
}
