//! Writes static tlog-tiles mirrors, for tests and benchmarks: entry
//! bundles, full and partial hash tiles and a signed checkpoint, laid out
//! exactly as C2SP tlog-tiles says. Streams: O(log n) memory.

use std::io;
use std::path::Path;
use veche_entry::{Date, Entry, Jurisdiction};
use veche_log::tiles::{TILE_WIDTH, encode_bundle};
use veche_log::{Checkpoint, LogSigner, TilePath, TileWriter, leaf_hash};

fn write(dir: &Path, path: &TilePath, data: &[u8]) -> io::Result<()> {
    let file = dir.join(path.to_path());
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(file, data)
}

/// Writes into `dir` a log of `n_entries` entries, entry `i` being
/// `make_entry(i)`, with a checkpoint signed by `signer` (origin = its key
/// name). Returns the checkpoint.
pub fn write_test_mirror(
    dir: &Path,
    n_entries: u64,
    signer: &LogSigner,
    mut make_entry: impl FnMut(u64) -> Vec<u8>,
) -> io::Result<Checkpoint> {
    let mut writer = TileWriter::new();
    let mut bundle: Vec<Vec<u8>> = Vec::with_capacity(TILE_WIDTH as usize);
    for i in 0..n_entries {
        let entry = make_entry(i);
        writer.append(leaf_hash(&entry));
        bundle.push(entry);
        if bundle.len() as u64 == TILE_WIDTH || i + 1 == n_entries {
            let path = TilePath::Entries {
                index: i / TILE_WIDTH,
                width: bundle.len() as u16,
            };
            let refs: Vec<&[u8]> = bundle.iter().map(Vec::as_slice).collect();
            let data = encode_bundle(&refs).map_err(io::Error::other)?;
            write(dir, &path, &data)?;
            bundle.clear();
            // Full tiles are final; partial ones are written at the end.
            for (path, data) in writer.take_changed_tiles() {
                if !path.is_partial() {
                    write(dir, &path, &data)?;
                }
            }
        }
    }
    for (path, (_, data)) in writer
        .partial_tile_paths()
        .iter()
        .zip(writer.partial_tiles())
    {
        write(dir, path, &data)?;
    }
    let cp = Checkpoint::new(signer.name(), n_entries, writer.root());
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("checkpoint"), signer.sign(&cp))?;
    Ok(cp)
}

/// A realistic `jurisdiction` entry, varied by `i`: one of 1,000 ids, with a
/// population that changes from one declaration to the next.
pub fn sample_entry(i: u64) -> Vec<u8> {
    let region = i % 1000;
    Entry::new(
        1_767_225_600_000 + i * 1_000, // 2026-01-01T00:00:00Z, one per second
        Jurisdiction {
            id: format!("region-{region:03}"),
            name_ru: format!("Муниципальный округ № {region}"),
            name_en: format!("Municipal District No. {region}"),
            population: 1_000 + (i.wrapping_mul(7_919) % 5_000_000),
            population_source: "Rosstat, estimate as of 1 January 2025".into(),
            population_date: Date::new(2025, 1, 1).expect("valid date"),
            legislature_ru: format!("Совет депутатов округа № {region}"),
            legislature_en: format!("Council of Deputies of District No. {region}"),
        },
    )
    .encode()
    .expect("sample entries are valid")
}
