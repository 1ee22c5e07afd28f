//! `audit` on real mirrors in temporary directories: passes on good logs,
//! fails at the first discrepancy naming the place.

mod common;

use common::*;
use veche_log::{Checkpoint, EMPTY_ROOT, LogSigner};
use veche_verify::mirror::{sample_entry, write_test_mirror};

#[test]
fn passes_on_mirrors_of_many_sizes() {
    for n in [0u64, 1, 255, 256, 257, 600] {
        let (dir, cp) = mirror(n);
        let a = audit_once(dir.path()).unwrap_or_else(|e| panic!("size {n}: {e}"));
        assert_eq!(a.checkpoint, cp);
        assert_eq!(a.entries_by_kind.values().sum::<u64>(), n);
        assert_eq!(a.jurisdictions.len() as u64, n.min(1000));
        if n == 0 {
            assert_eq!(cp.root, EMPTY_ROOT);
        }
    }
}

#[test]
fn passes_on_70000_entries() {
    let (dir, cp) = big_mirror();
    let a = audit_once(dir.path()).unwrap();
    assert_eq!(a.checkpoint.size, 70_000);
    assert_eq!(a.checkpoint.root, cp.root);
    assert_eq!(a.entries_by_kind["jurisdiction"], 70_000);
    assert_eq!(a.jurisdictions.len(), 1000);
    let r = a.jurisdictions.get("region-007").unwrap();
    assert_eq!(r.declarations, 70);
    assert_eq!(r.last_index, 69_007);
}

/// 868 entries: full bundles 0-2, partial bundle 3 (100 entries); full
/// tiles tile/0/000-002, partial tile/0/003.p/100 and tile/1/000.p/3.
const MID: u64 = 3 * 256 + 100;

#[test]
fn any_changed_checkpoint_byte_fails() {
    let (dir, _) = mirror(MID);
    let len = std::fs::read(dir.path().join("checkpoint")).unwrap().len();
    for pos in 0..len {
        let msg = with_changed(
            dir.path(),
            "checkpoint",
            |d| d[pos] ^= 0x01,
            || failure(audit_once(dir.path())),
        );
        assert!(msg.contains("checkpoint"), "byte {pos}: {msg}");
    }
    audit_once(dir.path()).unwrap();
}

fn positions(len: usize) -> Vec<usize> {
    vec![0, 1, 2, 31, 32, 33, len / 2, len - 33, len - 2, len - 1]
}

#[test]
fn any_changed_hash_tile_byte_fails() {
    let (dir, _) = mirror(MID);
    for tile in [
        "tile/0/000",
        "tile/0/002",
        "tile/0/003.p/100",
        "tile/1/000.p/3",
    ] {
        let len = std::fs::read(dir.path().join(tile)).unwrap().len();
        for pos in positions(len) {
            let msg = with_changed(
                dir.path(),
                tile,
                |d| d[pos] ^= 0x80,
                || failure(audit_once(dir.path())),
            );
            assert!(msg.contains(tile), "{tile} byte {pos}: {msg}");
            let hash = pos / 32;
            assert!(
                msg.contains(&format!("hash at position {hash} ")),
                "{tile} byte {pos}: {msg}"
            );
        }
    }
}

#[test]
fn changed_level_1_full_tile_fails() {
    // A copy: the shared big mirror must stay intact for other tests.
    let (dir, _) = mirror(256 * 256 + 1);
    for pos in [0usize, 4000, 8191] {
        let msg = with_changed(
            dir.path(),
            "tile/1/000",
            |d| d[pos] ^= 0x01,
            || failure(audit_once(dir.path())),
        );
        assert!(msg.contains("tile/1/000: hash at position"), "{msg}");
        let first = (pos / 32) * 256;
        assert!(
            msg.contains(&format!("entries {first}..{}", first + 255)),
            "{msg}"
        );
    }
}

#[test]
fn any_changed_bundle_byte_fails() {
    let (dir, _) = mirror(MID);
    for (bundle, tile) in [
        ("tile/entries/000", "tile/0/000"),
        ("tile/entries/002", "tile/0/002"),
        ("tile/entries/003.p/100", "tile/0/003.p/100"),
    ] {
        let data = std::fs::read(dir.path().join(bundle)).unwrap();
        let len = data.len();
        let mut ps = positions(len);
        // Inside an entry's text, so that it still decodes: only the hash
        // tile comparison can catch it.
        let text = data.windows(7).position(|w| w == b"Rosstat").unwrap_or(50);
        ps.extend([text, text + 3]);
        for pos in ps {
            let msg = with_changed(
                dir.path(),
                bundle,
                |d| d[pos] ^= 0x01,
                || failure(audit_once(dir.path())),
            );
            assert!(msg.contains(bundle), "{bundle} byte {pos}: {msg}");
            if msg.contains("differs") {
                assert!(msg.contains(tile), "{bundle} byte {pos}: {msg}");
            } else {
                assert!(
                    msg.contains("entry ") || msg.contains("malformed entry bundle"),
                    "{bundle} byte {pos}: {msg}"
                );
            }
        }
    }
}

#[test]
fn a_bundle_with_an_entry_too_many_or_too_few_fails() {
    let (dir, _) = mirror(MID);
    let extra = sample_entry(5);
    let msg = with_changed(
        dir.path(),
        "tile/entries/001",
        |d| {
            d.extend_from_slice(&(extra.len() as u16).to_be_bytes());
            d.extend_from_slice(&extra);
        },
        || failure(audit_once(dir.path())),
    );
    assert!(
        msg.contains("tile/entries/001: malformed entry bundle"),
        "{msg}"
    );
    let msg = with_changed(
        dir.path(),
        "tile/entries/003.p/100",
        |d| {
            let last = sample_entry(MID - 1).len() + 2;
            d.truncate(d.len() - last);
        },
        || failure(audit_once(dir.path())),
    );
    assert!(msg.contains("holds 99 entries, expected 100"), "{msg}");
}

#[test]
fn a_non_canonical_entry_fails() {
    // The log signed a tree containing a non-canonical entry: entry 300 has
    // a trailing byte.
    let (dir, _) = mirror_with(MID, |i| {
        let mut e = sample_entry(i);
        if i == 300 {
            e.push(0);
        }
        e
    });
    let msg = failure(audit_once(dir.path()));
    assert!(
        msg.contains("tile/entries/001: entry 300 (position 44 in the bundle): does not decode"),
        "{msg}"
    );
}

#[test]
fn a_missing_file_fails() {
    let (dir, _) = mirror(MID);
    for file in [
        "tile/entries/000",
        "tile/entries/003.p/100",
        "tile/0/001",
        "tile/0/003.p/100",
        "tile/1/000.p/3",
    ] {
        let msg = with_removed(dir.path(), file, || failure(audit_once(dir.path())));
        assert!(msg.contains(&format!("{file}: missing")), "{file}: {msg}");
    }
}

#[test]
fn a_checkpoint_by_another_key_fails() {
    let (dir, _) = mirror(MID);
    let cp = veche_log::verify_checkpoint(
        &std::fs::read(dir.path().join("checkpoint")).unwrap(),
        &vkey(),
    )
    .unwrap();
    std::fs::write(dir.path().join("checkpoint"), other_signer().sign(&cp)).unwrap();
    let msg = failure(audit_once(dir.path()));
    assert!(
        msg.contains("no signature by key example.org/veche"),
        "{msg}"
    );
}

#[test]
fn a_checkpoint_with_another_origin_fails() {
    let (dir, cp) = mirror(MID);
    // Signed by the log's own key, but naming another origin.
    let other = Checkpoint::new("example.org/other", cp.size, cp.root);
    let note = hand_signed_note(&other.to_body(), ORIGIN, [7u8; 32]);
    assert_eq!(
        hand_signed_note(&cp.to_body(), ORIGIN, [7u8; 32]),
        signer().sign(&cp),
        "the hand-made note matches the log crate's"
    );
    std::fs::write(dir.path().join("checkpoint"), note).unwrap();
    let msg = failure(audit_once(dir.path()));
    assert!(
        msg.contains("origin \"example.org/other\" does not match"),
        "{msg}"
    );
    // And a log whose key has another name.
    let (dir, _) = tempfile::tempdir().map(|d| (d, ())).unwrap();
    let (elsewhere, _) = LogSigner::generate("example.org/other");
    write_test_mirror(dir.path(), 10, &elsewhere, sample_entry).unwrap();
    let msg = failure(audit_once(dir.path()));
    assert!(
        msg.contains("no signature by key example.org/veche"),
        "{msg}"
    );
}

#[test]
fn a_wrong_root_fails_even_with_consistent_tiles() {
    // Tiles and bundles of one log, checkpoint of another of the same size.
    let (dir, _) = mirror(MID);
    let (other, _) = mirror_with(MID, |i| sample_entry(i + 1));
    std::fs::copy(
        other.path().join("checkpoint"),
        dir.path().join("checkpoint"),
    )
    .unwrap();
    let msg = failure(audit_once(dir.path()));
    assert!(
        msg.contains("differs") || msg.contains("give the root"),
        "{msg}"
    );
}
