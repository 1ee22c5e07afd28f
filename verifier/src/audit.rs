//! The full audit: recompute the whole tree from the entries and compare it
//! with everything the log publishes.
//!
//! Entry bundles are read in order. Each entry must decode, and re-encode to
//! the very same bytes; its leaf hash goes into a [`TileWriter`], which
//! rebuilds the hash tiles. Every full tile the writer completes is compared
//! byte for byte with the published one, then at the end every partial tile
//! of the checkpoint's size, and the rebuilt root with the checkpoint's.
//!
//! Worker threads fetch ahead and check each bundle on its own (decoding,
//! canonical form, leaf hashes); the main loop takes their results in log
//! order and does what depends on order (the writer, the comparisons, the
//! state fold). Memory is bounded: a few bundles in flight and the writer's
//! O(log n) state, plus the service's state ([`State`]), whose petition
//! records keep each signature's nullifier (to refuse a second signature).
//!
//! The state is the same pure fold the server's sequencer admits entries
//! with (`veche-state`): every entry must be one [`State::check`] accepts
//! after the entries before it, so a forged count, a missing, misplaced or
//! forged `threshold_reached`, a duplicate nullifier or a signature outside
//! its petition's window fails the audit, naming the entry.

use crate::fetch::Prefetch;
use crate::source::LogSource;
use crate::{Result, failed, hex_prefix};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use veche_entry::{Entry, Jurisdictions, Payload, Rolls, ThresholdReached};
use veche_log::tiles::{TILE_WIDTH, decode_bundle};
use veche_log::{Checkpoint, HASH_SIZE, Hash, TILE_HEIGHT, TilePath, TileWriter, leaf_hash};
use veche_state::{State, Violation};

/// What the audit found in a log that passed it.
#[derive(Debug, Clone)]
pub struct Audit {
    /// The audited checkpoint.
    pub checkpoint: Checkpoint,
    /// Number of entries of each kind, by kind name.
    pub entries_by_kind: BTreeMap<&'static str, u64>,
    /// The jurisdictions the entries declare.
    pub jurisdictions: Jurisdictions,
    /// The electoral roll versions, per jurisdiction.
    pub rolls: Rolls,
    /// The service's state after the last entry: petitions with their
    /// counts, thresholds and the legislature's deadlines.
    pub state: State,
}

/// Everything to read to audit a tree of `size` leaves, in order: each
/// entry bundle followed by the full hash tiles it completes (lowest level
/// first), then the partial hash tile of every level that has one.
pub fn plan(size: u64) -> impl Iterator<Item = TilePath> + Send {
    let bundles = size.div_ceil(TILE_WIDTH);
    let per_bundle = (0..bundles).flat_map(move |index| {
        let width = (size - index * TILE_WIDTH).min(TILE_WIDTH) as u16;
        let mut paths = vec![TilePath::Entries { index, width }];
        if u64::from(width) == TILE_WIDTH {
            // After this bundle the tree has (index + 1) * 256 leaves: level-0
            // tile `index` is full, and a level-L tile completes whenever the
            // count of level-L hashes reaches a multiple of 256.
            let (mut level, mut full) = (0u8, index + 1);
            loop {
                paths.push(TilePath::Hash {
                    level,
                    index: full - 1,
                    width: TILE_WIDTH as u16,
                });
                if full % TILE_WIDTH != 0 {
                    break;
                }
                full /= TILE_WIDTH;
                level += 1;
            }
        }
        paths
    });
    per_bundle.chain(partial_tiles(size))
}

/// The partial hash tiles of a tree of `size` leaves, lowest level first.
pub fn partial_tiles(size: u64) -> impl Iterator<Item = TilePath> + Send {
    (0..=u8::MAX)
        .map_while(move |level| {
            let hashes = size.checked_shr(u32::from(TILE_HEIGHT) * u32::from(level))?;
            (hashes > 0).then_some((level, hashes))
        })
        .filter(|(_, hashes)| hashes % TILE_WIDTH != 0)
        .map(|(level, hashes)| TilePath::Hash {
            level,
            index: hashes / TILE_WIDTH,
            width: (hashes % TILE_WIDTH) as u16,
        })
}

/// A resource of the plan, fetched and, for an entry bundle, checked.
enum Item {
    /// The entries of a bundle, decoded, each with its leaf hash.
    Bundle(Vec<(Entry, Hash)>),
    /// A published hash tile.
    Tile(Vec<u8>),
}

/// Fetches `path` of the tree of `size` leaves; checks an entry bundle on
/// its own. Runs on the worker threads, ahead of the main loop.
fn fetch(src: &dyn LogSource, size: u64, path: TilePath) -> Result<(TilePath, Item)> {
    let place = src.locate(&path.to_path());
    let data = src.get(&path.to_path())?.ok_or_else(|| {
        failed(format!(
            "{place}: missing, but the checkpoint of size {size} commits to it"
        ))
    })?;
    let item = match path {
        TilePath::Entries { index, width } => {
            Item::Bundle(check_bundle(&place, index, width, &data)?)
        }
        TilePath::Hash { .. } => Item::Tile(data),
    };
    Ok((path, item))
}

/// Checks entry bundle `index` (at `place`) on its own: it decodes strictly
/// into exactly `width` entries, and every entry decodes and re-encodes to
/// the same bytes. Returns the entries with their leaf hashes.
pub fn check_bundle(
    place: &str,
    index: u64,
    width: u16,
    data: &[u8],
) -> Result<Vec<(Entry, Hash)>> {
    let entries =
        decode_bundle(data).map_err(|e| failed(format!("{place}: malformed entry bundle: {e}")))?;
    if entries.len() != usize::from(width) {
        return Err(failed(format!(
            "{place}: holds {} entries, expected {width}",
            entries.len()
        )));
    }
    let mut out = Vec::with_capacity(entries.len());
    for (pos, bytes) in entries.into_iter().enumerate() {
        let i = index * TILE_WIDTH + pos as u64;
        let at = || format!("{place}: entry {i} (position {pos} in the bundle)");
        let entry = Entry::decode(bytes).map_err(|e| {
            failed(format!(
                "{}: does not decode: {e}; bytes {}",
                at(),
                hex_prefix(bytes, 48)
            ))
        })?;
        check_canonical(&entry, bytes).map_err(|m| failed(format!("{}: {m}", at())))?;
        out.push((entry, leaf_hash(bytes)));
    }
    Ok(out)
}

/// Audits the tree of the (already verified) checkpoint `cp` served by
/// `src`. `progress` is called with the number of entries checked so far.
/// Stops at the first discrepancy, naming the path, the entry or the hash
/// position, and what was expected and found.
pub fn audit(
    src: Arc<dyn LogSource>,
    cp: &Checkpoint,
    progress: &mut dyn FnMut(u64),
) -> Result<Audit> {
    audit_with(src, cp, progress, &mut |_, _| {})
}

/// [`audit`], also showing every entry to `visit` (with its log index), in
/// log order, once it has passed the entry checks. Entries of a log that
/// fails later were shown too: use what `visit` gathered only if the audit
/// succeeds.
pub fn audit_with(
    src: Arc<dyn LogSource>,
    cp: &Checkpoint,
    progress: &mut dyn FnMut(u64),
    visit: &mut dyn FnMut(u64, &Entry),
) -> Result<Audit> {
    let mut writer = TileWriter::new();
    // Full tiles the writer completed, not yet compared with the published.
    let mut rebuilt: VecDeque<(TilePath, Vec<u8>)> = VecDeque::new();
    let mut partial: Option<Vec<(u8, Vec<u8>)>> = None;
    let mut entries_by_kind = BTreeMap::new();
    let mut state = State::new();

    let (worker_src, size) = (src.clone(), cp.size);
    let items = Prefetch::new(src.parallelism(), plan(size), move |path| {
        fetch(worker_src.as_ref(), size, path)
    });
    for item in items {
        let (path, item) = item?;
        let place = || src.locate(&path.to_path());
        match item {
            Item::Bundle(entries) => {
                for (entry, leaf) in &entries {
                    let i = writer.append(*leaf);
                    *entries_by_kind.entry(entry.kind_name()).or_insert(0) += 1;
                    // A roll belongs to a declared jurisdiction.
                    if let Payload::RollVersion(r) = &entry.payload
                        && state.jurisdictions.get(&r.jurisdiction).is_none()
                    {
                        return Err(failed(format!(
                            "{}: entry {i} is roll version {} of `{}`, a jurisdiction the log has not declared",
                            place(),
                            r.version,
                            r.jurisdiction
                        )));
                    }
                    // Every other rule: roll versions follow each other (1,
                    // 2, … with consistent counts), and the petition rules.
                    state
                        .check(entry)
                        .map_err(|v| failed(refusal(&place(), i, entry, &state, &v)))?;
                    state.apply(entry);
                    visit(i, entry);
                }
                rebuilt.extend(
                    writer
                        .take_changed_tiles()
                        .into_iter()
                        .filter(|(p, _)| !p.is_partial()),
                );
                progress(writer.size());
            }
            Item::Tile(published) if path.is_partial() => {
                let level = path.level().unwrap_or(0);
                let tiles = partial.get_or_insert_with(|| writer.partial_tiles());
                let expected = tiles
                    .iter()
                    .find(|(l, _)| *l == level)
                    .map(|(_, b)| b.as_slice())
                    .unwrap_or_default();
                compare_tile(&place(), path, expected, &published)?;
            }
            Item::Tile(published) => {
                let (p, expected) = rebuilt
                    .pop_front()
                    .expect("the plan lists the full tiles the writer completes, in order");
                assert_eq!(p, path, "plan and writer disagree");
                compare_tile(&place(), path, &expected, &published)?;
            }
        }
    }
    if let Some(owed) = state.owed() {
        return Err(failed(format!(
            "threshold entry missing at the end of the log: the log ends with {} entries, \
             but entry {} must be {}",
            state.size,
            state.size,
            describe_threshold(owed)
        )));
    }
    let root = writer.root();
    if root != cp.root {
        return Err(failed(format!(
            "the {} entries give the root {}, but the checkpoint says {}",
            cp.size,
            root.to_base64(),
            cp.root.to_base64()
        )));
    }
    Ok(Audit {
        checkpoint: cp.clone(),
        entries_by_kind,
        jurisdictions: state.jurisdictions.clone(),
        rolls: state.rolls.clone(),
        state,
    })
}

/// The failure message for entry `i` (in the bundle at `place`) that
/// `state` refuses with `v`: the index, the kind, the rule's code and its
/// message; for a `threshold_reached` other than the one owed, the fields
/// that differ.
fn refusal(place: &str, i: u64, entry: &Entry, state: &State, v: &Violation) -> String {
    let mut msg = format!(
        "{place}: entry {i} ({}) may not follow the entries before it [{}]: {}",
        entry.kind_name(),
        v.code,
        v.message
    );
    if let (Some(owed), Payload::ThresholdReached(found)) = (state.owed(), &entry.payload)
        && let Payload::ThresholdReached(expected) = &owed.payload
    {
        let diff = threshold_differences(found, entry.timestamp_ms, expected, owed.timestamp_ms);
        if !diff.is_empty() {
            msg.push_str(&format!("; it differs in {}", diff.join(", ")));
        }
    }
    msg
}

/// The fields in which a `threshold_reached` entry differs from the owed
/// one, as `name found X, expected Y`.
fn threshold_differences(
    found: &ThresholdReached,
    found_ms: u64,
    expected: &ThresholdReached,
    expected_ms: u64,
) -> Vec<String> {
    let fields = [
        ("timestamp_ms", found_ms, expected_ms),
        ("petition", found.petition, expected.petition),
        ("signature", found.signature, expected.signature),
        (
            "valid_signatures",
            found.valid_signatures,
            expected.valid_signatures,
        ),
        ("population", found.population, expected.population),
        (
            "acknowledge_by_ms",
            found.acknowledge_by_ms,
            expected.acknowledge_by_ms,
        ),
        ("answer_by_ms", found.answer_by_ms, expected.answer_by_ms),
    ];
    fields
        .iter()
        .filter(|(_, f, e)| f != e)
        .map(|(name, f, e)| format!("{name} (found {f}, expected {e})"))
        .collect()
}

/// A `threshold_reached` entry in words, with every field.
fn describe_threshold(entry: &Entry) -> String {
    match &entry.payload {
        Payload::ThresholdReached(t) => format!(
            "the threshold_reached of petition {} owed after its signature {} \
             (timestamp_ms {}, valid_signatures {}, population {}, acknowledge_by_ms {}, answer_by_ms {})",
            t.petition,
            t.signature,
            entry.timestamp_ms,
            t.valid_signatures,
            t.population,
            t.acknowledge_by_ms,
            t.answer_by_ms
        ),
        other => format!("a {} entry", other.kind_name()),
    }
}

/// `Err` with the first differing byte if `bytes` is not the canonical
/// encoding of `entry`.
fn check_canonical(entry: &Entry, bytes: &[u8]) -> Result<(), String> {
    let canonical = entry
        .encode()
        .map_err(|e| format!("decodes but does not re-encode: {e}"))?;
    if canonical == bytes {
        return Ok(());
    }
    let k = canonical
        .iter()
        .zip(bytes)
        .position(|(a, b)| a != b)
        .unwrap_or(canonical.len().min(bytes.len()));
    Err(format!(
        "not canonically encoded: differs from its re-encoding at byte {k} \
         (found {}, canonical {}; lengths {} and {})",
        hex_prefix(&bytes[k..], 16),
        hex_prefix(&canonical[k..], 16),
        bytes.len(),
        canonical.len()
    ))
}

/// Compares a published hash tile with the one rebuilt from the entries.
fn compare_tile(place: &str, path: TilePath, rebuilt: &[u8], published: &[u8]) -> Result<()> {
    if rebuilt.len() != published.len() {
        return Err(failed(format!(
            "{place}: published tile is {} bytes, expected {} ({} hashes)",
            published.len(),
            rebuilt.len(),
            rebuilt.len() / HASH_SIZE
        )));
    }
    let differs = rebuilt
        .chunks_exact(HASH_SIZE)
        .zip(published.chunks_exact(HASH_SIZE))
        .position(|(a, b)| a != b);
    let Some(pos) = differs else { return Ok(()) };
    let level = u32::from(path.level().unwrap_or(0));
    // Hash `pos` of a level-L tile is the subtree over 256^L entries.
    let span = 1u64 << (u32::from(TILE_HEIGHT) * level);
    let first = (path.index() * TILE_WIDTH + pos as u64) * span;
    let what = if level == 0 {
        let bundle = TilePath::Entries {
            index: path.index(),
            width: path.width(),
        };
        format!("leaf hash of entry {first}, in {bundle}")
    } else {
        format!("hash of entries {first}..{}", first + span - 1)
    };
    let h =
        |b: &[u8]| Hash::from_slice(&b[pos * HASH_SIZE..(pos + 1) * HASH_SIZE]).unwrap_or_default();
    Err(failed(format!(
        "{place}: hash at position {pos} ({what}) differs: published {}, computed from the entries {}",
        h(published).to_hex(),
        h(rebuilt).to_hex()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(size: u64) -> Vec<String> {
        plan(size).map(|p| p.to_path()).collect()
    }

    #[test]
    fn plans() {
        assert!(paths(0).is_empty());
        assert_eq!(paths(1), ["tile/entries/000.p/1", "tile/0/000.p/1"]);
        assert_eq!(
            paths(256),
            ["tile/entries/000", "tile/0/000", "tile/1/000.p/1"]
        );
        assert_eq!(
            paths(257),
            [
                "tile/entries/000",
                "tile/0/000",
                "tile/entries/001.p/1",
                "tile/0/001.p/1",
                "tile/1/000.p/1"
            ]
        );
        let big = paths(256 * 256 + 3);
        let n = big.len();
        assert_eq!(
            big[n - 5..],
            [
                "tile/0/255",
                "tile/1/000",
                "tile/entries/256.p/3",
                "tile/0/256.p/3",
                "tile/2/000.p/1"
            ]
        );
        // Every hash tile of the final tree appears exactly once.
        for size in [1u64, 255, 256, 257, 65_536, 65_537, 70_000] {
            let mut from_plan: Vec<_> = plan(size).filter(|p| p.level().is_some()).collect();
            from_plan.sort_by_key(|p| (p.level(), p.index()));
            assert_eq!(from_plan, veche_log::tiles::tiles_for_size(size), "{size}");
            let bundles: Vec<_> = plan(size).filter(|p| p.level().is_none()).collect();
            assert_eq!(bundles, veche_log::tiles::entry_bundles_for_size(size));
        }
    }
}
