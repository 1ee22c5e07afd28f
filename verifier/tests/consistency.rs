//! `checkpoint` (consistency with remembered checkpoints) and `inclusion`
//! (receipts), on real mirrors in temporary directories.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::*;
use veche_log::Hash;
use veche_verify::checkpoint::{check_consistency, verify_log_checkpoint};
use veche_verify::mirror::sample_entry;
use veche_verify::receipt::{self, Receipt};
use veche_verify::{Error, state};

fn shifted(i: u64) -> Vec<u8> {
    sample_entry(i + 1_000_000)
}

/// `veche-verify checkpoint`: verify, prove consistency, remember.
fn check_and_remember(dir: &std::path::Path, state: &std::path::Path) -> Result<(), Error> {
    let v = verify_log_checkpoint(source(dir).as_ref(), &vkey(), state)?;
    v.remember(state)
}

#[test]
fn a_growing_log_is_consistent_and_the_state_advances() {
    let (_d, state) = tmp_state();
    for n in [0u64, 1, 2, 3, 255, 256, 257, 511, 513, 1000] {
        let (dir, cp) = mirror(n);
        check_and_remember(dir.path(), &state).unwrap_or_else(|e| panic!("size {n}: {e}"));
        // Twice: same checkpoint, still fine.
        check_and_remember(dir.path(), &state).unwrap();
        let st = state::load(&state).unwrap().unwrap();
        assert_eq!((st.size, st.root.clone()), (n, cp.root.to_base64()));
    }
    let (big, cp) = big_mirror();
    check_and_remember(big.path(), &state).unwrap();
    assert_eq!(state::load(&state).unwrap().unwrap().size, cp.size);
}

#[test]
fn consistency_proofs_across_tile_levels() {
    let (big, big_cp) = big_mirror();
    let src = source(big.path());
    for n in [1u64, 7, 256, 300, 4096, 5000] {
        let (_dir, old) = mirror(n);
        check_consistency(src.as_ref(), &old, big_cp).unwrap_or_else(|e| panic!("{n}: {e}"));
        // Another history of the same size is not a prefix.
        let (_dir, forked) = mirror_with(n, shifted);
        let msg = failure(check_consistency(src.as_ref(), &forked, big_cp));
        assert!(msg.starts_with("FORK"), "{msg}");
    }
}

fn remembered(state: &std::path::Path) -> state::State {
    state::load(state).unwrap().unwrap()
}

#[test]
fn a_fork_to_a_larger_tree_is_detected() {
    let (_d, state) = tmp_state();
    let (a, a_cp) = mirror(1000);
    check_and_remember(a.path(), &state).unwrap();
    let before = remembered(&state);
    let (b, b_cp) = mirror_with(2000, shifted);
    let msg = failure(check_and_remember(b.path(), &state));
    assert!(msg.starts_with("FORK"), "{msg}");
    for cp in [&a_cp, &b_cp] {
        assert!(
            msg.contains(&format!("size {}, root {}", cp.size, cp.root.to_base64())),
            "{msg}"
        );
    }
    assert_eq!(remembered(&state), before, "the state file is not updated");
    // The same through a full audit.
    let msg = failure(full_audit(b.path(), &vkey(), &state));
    assert!(msg.starts_with("FORK"), "{msg}");
    assert_eq!(remembered(&state), before);
}

#[test]
fn a_fork_at_the_same_size_is_detected() {
    let (_d, state) = tmp_state();
    let (a, a_cp) = mirror(300);
    check_and_remember(a.path(), &state).unwrap();
    let (b, b_cp) = mirror_with(300, shifted);
    let msg = failure(check_and_remember(b.path(), &state));
    assert!(
        msg.contains("FORK: two checkpoints of the same size"),
        "{msg}"
    );
    assert!(msg.contains(&a_cp.root.to_base64()) && msg.contains(&b_cp.root.to_base64()));
    assert_eq!(remembered(&state).root, a_cp.root.to_base64());
}

#[test]
fn a_rollback_is_detected() {
    let (_d, state) = tmp_state();
    let (a, _) = mirror(300);
    check_and_remember(a.path(), &state).unwrap();
    let (b, _) = mirror(299);
    let msg = failure(check_and_remember(b.path(), &state));
    assert!(msg.starts_with("ROLLBACK"), "{msg}");
    assert!(
        msg.contains("size 299") && msg.contains("size 300"),
        "{msg}"
    );
    assert_eq!(remembered(&state).size, 300);
}

#[test]
fn a_state_file_of_another_log_or_key_cannot_be_used() {
    let (_d, state) = tmp_state();
    let (a, _) = mirror(3);
    check_and_remember(a.path(), &state).unwrap();
    let other = veche_log::LogSigner::from_seed("example.org/other", &[9; 32])
        .unwrap()
        .0;
    let r = verify_log_checkpoint(source(a.path()).as_ref(), &other.vkey(), &state);
    assert!(matches!(r, Err(Error::CouldNotCheck(_))), "{r:?}");
    let r = verify_log_checkpoint(source(a.path()).as_ref(), &other_signer().vkey(), &state);
    assert!(matches!(r, Err(Error::CouldNotCheck(_))), "{r:?}");
}

// ---- receipts ----

fn check_receipt(dir: &std::path::Path, r: &Receipt) -> Result<(), Error> {
    let checked = receipt::check(r, &vkey())?;
    let (_d, state) = tmp_state();
    let v = verify_log_checkpoint(source(dir).as_ref(), &vkey(), &state)?;
    receipt::check_in_log(source(dir).as_ref(), &checked, &v.checkpoint)
}

const MID: u64 = 3 * 256 + 100;

#[test]
fn valid_receipts_pass() {
    let (dir, _) = mirror(MID);
    for index in [0, 1, 255, 256, 700, MID - 1] {
        let r = receipt(dir.path(), index, sample_entry);
        check_receipt(dir.path(), &r).unwrap_or_else(|e| panic!("{index}: {e}"));
        let checked = receipt::check(&r, &vkey()).unwrap();
        assert_eq!(
            checked.entry.unwrap().encode().unwrap(),
            sample_entry(index)
        );
        // Without the entry.
        let bare = Receipt { entry: None, ..r };
        check_receipt(dir.path(), &bare).unwrap();
        // JSON round trip, and the format of the server's receipts.
        let json = serde_json::to_string(&bare).unwrap();
        assert!(!json.contains("\"entry\""));
        assert_eq!(serde_json::from_str::<Receipt>(&json).unwrap(), bare);
    }
    // A receipt of an older tree is checked against the log as it is now.
    let (old, _) = mirror(300);
    let r = receipt(old.path(), 123, sample_entry);
    check_receipt(big_mirror().0.path(), &r).unwrap();
}

#[test]
fn bad_receipts_fail() {
    let (dir, _) = mirror(MID);
    let good = receipt(dir.path(), 300, sample_entry);
    let fails = |r: Receipt, expect: &str| {
        let msg = failure(check_receipt(dir.path(), &r));
        assert!(msg.contains(expect), "expected {expect:?} in: {msg}");
    };

    for i in 0..good.inclusion_proof.len() {
        let mut r = good.clone();
        let mut h = Hash::from_base64(&r.inclusion_proof[i]).unwrap();
        h.0[31] ^= 1;
        r.inclusion_proof[i] = h.to_base64();
        fails(r, "inclusion proof of entry 300");
    }
    let mut r = good.clone();
    r.inclusion_proof.pop();
    fails(r, "wrong proof length");

    for index in [299, 301, MID, u64::MAX] {
        fails(
            Receipt {
                index,
                ..good.clone()
            },
            "inclusion proof of entry",
        );
    }

    // The entry of another index: does not match the leaf hash.
    let other = BASE64.encode(sample_entry(301));
    fails(
        Receipt {
            entry: Some(other),
            ..good.clone()
        },
        "does not match leaf_hash",
    );
    // Entry and leaf hash both of another entry: not in the tree there.
    let e = sample_entry(301);
    fails(
        Receipt {
            entry: Some(BASE64.encode(&e)),
            leaf_hash: veche_log::leaf_hash(&e).to_base64(),
            ..good.clone()
        },
        "inclusion proof",
    );
    // A non-canonical entry (trailing byte).
    let mut e = sample_entry(300);
    e.push(0);
    fails(
        Receipt {
            entry: Some(BASE64.encode(&e)),
            leaf_hash: veche_log::leaf_hash(&e).to_base64(),
            ..good.clone()
        },
        "does not decode",
    );

    // The checkpoint signed by another key.
    let cp = veche_log::verify_checkpoint(good.checkpoint.as_bytes(), &vkey()).unwrap();
    fails(
        Receipt {
            checkpoint: other_signer().sign(&cp),
            ..good.clone()
        },
        "no signature by key",
    );
    fails(
        Receipt {
            tree_size: MID - 1,
            ..good.clone()
        },
        "tree_size",
    );
    fails(
        Receipt {
            origin: "example.org/x".into(),
            ..good.clone()
        },
        "origin",
    );
    fails(
        Receipt {
            format: "veche-receipt/v2".into(),
            ..good.clone()
        },
        "format",
    );
    fails(
        Receipt {
            leaf_hash: "AAAA".into(),
            ..good.clone()
        },
        "leaf_hash",
    );
}

#[test]
fn a_receipt_from_a_forked_log_fails_against_the_log() {
    let (forked, _) = mirror_with(300, shifted);
    let r = receipt(forked.path(), 5, shifted);
    receipt::check(&r, &vkey()).unwrap();
    let msg = failure(check_receipt(big_mirror().0.path(), &r));
    assert!(msg.contains("not consistent with the receipt's"), "{msg}");
}

#[test]
fn the_worked_example_of_specs_receipts_md_verifies() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/receipts.md"))
        .unwrap();
    // The first fenced block after `marker`.
    let block = |marker: &str| {
        let at = doc.find(marker).unwrap();
        let fence = at + doc[at..].find("```").unwrap();
        let start = fence + doc[fence..].find('\n').unwrap() + 1;
        let end = start + doc[start..].find("```").unwrap();
        doc[start..end].trim().to_owned()
    };
    let key = block("<!-- example-vkey -->");
    let r: Receipt = serde_json::from_str(&block("<!-- example-receipt -->")).unwrap();
    let checked = receipt::check(&r, &key).unwrap();
    assert_eq!((checked.index, r.tree_size), (2, 5));

    // It is the receipt of entry 2 of the example log, rebuilt here.
    let signer = veche_log::LogSigner::from_seed("veche.example/log", &[42; 32])
        .unwrap()
        .0;
    assert_eq!(signer.vkey(), key);
    let dir = tempfile::tempdir().unwrap();
    veche_verify::mirror::write_test_mirror(dir.path(), 5, &signer, sample_entry).unwrap();
    let (_d, state) = tmp_state();
    let v = verify_log_checkpoint(source(dir.path()).as_ref(), &key, &state).unwrap();
    assert_eq!(v.checkpoint, checked.checkpoint);
    receipt::check_in_log(source(dir.path()).as_ref(), &checked, &v.checkpoint).unwrap();
}
