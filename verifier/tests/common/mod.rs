//! Shared helpers of the verifier's integration tests.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tempfile::TempDir;
use veche_log::{Checkpoint, LogSigner, hash_range, inclusion_ranges, leaf_hash};
use veche_verify::checkpoint::{TileReader, verify_log_checkpoint};
use veche_verify::mirror::{sample_entry, write_test_mirror};
use veche_verify::receipt::Receipt;
use veche_verify::source::{DirSource, LogSource};
use veche_verify::{Error, audit};

pub const ORIGIN: &str = "example.org/veche";

/// The log's key (fixed seed, so every test binary agrees).
pub fn signer() -> LogSigner {
    LogSigner::from_seed(ORIGIN, &[7u8; 32]).unwrap().0
}

/// Another key with the same name.
pub fn other_signer() -> LogSigner {
    LogSigner::from_seed(ORIGIN, &[8u8; 32]).unwrap().0
}

pub fn vkey() -> String {
    signer().vkey()
}

/// A fresh mirror of `n` sample entries.
pub fn mirror(n: u64) -> (TempDir, Checkpoint) {
    mirror_with(n, sample_entry)
}

pub fn mirror_with(n: u64, make: impl FnMut(u64) -> Vec<u8>) -> (TempDir, Checkpoint) {
    let dir = tempfile::tempdir().unwrap();
    let cp = write_test_mirror(dir.path(), n, &signer(), make).unwrap();
    (dir, cp)
}

/// The 70,000-entry mirror, built once per test binary.
pub fn big_mirror() -> &'static (TempDir, Checkpoint) {
    static BIG: OnceLock<(TempDir, Checkpoint)> = OnceLock::new();
    BIG.get_or_init(|| mirror(70_000))
}

pub fn source(dir: &Path) -> Arc<dyn LogSource> {
    Arc::new(DirSource::new(dir))
}

/// What `veche-verify audit` does: checkpoint, consistency with the state
/// file, full audit, then remember the checkpoint.
pub fn full_audit(dir: &Path, vkey: &str, state: &Path) -> Result<audit::Audit, Error> {
    let src = source(dir);
    let v = verify_log_checkpoint(src.as_ref(), vkey, state)?;
    let a = audit::audit(src, &v.checkpoint, &mut |_| {})?;
    v.remember(state)?;
    Ok(a)
}

/// A full audit with a throw-away state file.
pub fn audit_once(dir: &Path) -> Result<audit::Audit, Error> {
    let state = tempfile::tempdir().unwrap();
    full_audit(dir, &vkey(), &state.path().join("state.json"))
}

/// The failure message, asserting the error is a verification failure.
pub fn failure(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Err(Error::Failed(m)) => m,
        other => panic!("expected a verification failure, got {other:?}"),
    }
}

/// Runs `check` with the file `dir/rel` changed by `change`, then restores it.
pub fn with_changed<T>(
    dir: &Path,
    rel: &str,
    change: impl FnOnce(&mut Vec<u8>),
    check: impl FnOnce() -> T,
) -> T {
    let file = dir.join(rel);
    let original = std::fs::read(&file).unwrap();
    let mut data = original.clone();
    change(&mut data);
    std::fs::write(&file, &data).unwrap();
    let out = check();
    std::fs::write(&file, &original).unwrap();
    out
}

/// Runs `check` with `dir/rel` removed, then puts it back.
pub fn with_removed<T>(dir: &Path, rel: &str, check: impl FnOnce() -> T) -> T {
    let file = dir.join(rel);
    let original = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    let out = check();
    std::fs::write(&file, &original).unwrap();
    out
}

/// A receipt for entry `index` of the mirror in `dir` (entries made by
/// `make`), against the mirror's checkpoint, with the proof computed from
/// the mirror's tiles.
pub fn receipt(dir: &Path, index: u64, make: impl Fn(u64) -> Vec<u8>) -> Receipt {
    let src = source(dir);
    let note = String::from_utf8(src.get("checkpoint").unwrap().unwrap()).unwrap();
    let cp = veche_log::verify_checkpoint(note.as_bytes(), &vkey()).unwrap();
    let mut tiles = TileReader::new(src.as_ref(), cp.size);
    let mut get = |st| tiles.subtree(st);
    let proof: Vec<String> = inclusion_ranges(index, cp.size)
        .into_iter()
        .map(|r| hash_range(r.start, r.end, &mut get).unwrap().to_base64())
        .collect();
    let entry = make(index);
    Receipt {
        format: "veche-receipt/v1".into(),
        origin: cp.origin.clone(),
        index,
        leaf_hash: leaf_hash(&entry).to_base64(),
        entry: Some(BASE64.encode(&entry)),
        tree_size: cp.size,
        inclusion_proof: proof,
        checkpoint: note,
    }
}

/// A signed note of `body` by an Ed25519 key from `seed` named `name`,
/// built by hand (signed-note: key ID = SHA-256(name ‖ "\n" ‖ 0x01 ‖ pk)[..4],
/// signature line "— name base64(key ID ‖ signature)").
pub fn hand_signed_note(body: &str, name: &str, seed: [u8; 32]) -> String {
    use ed25519_dalek::Signer as _;
    use sha2::Digest as _;
    let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
    let mut h = sha2::Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n\x01");
    h.update(sk.verifying_key().as_bytes());
    let id = &h.finalize()[..4];
    let sig = sk.sign(body.as_bytes());
    let mut blob = id.to_vec();
    blob.extend_from_slice(&sig.to_bytes());
    format!("{body}\n\u{2014} {name} {}\n", BASE64.encode(blob))
}

pub fn tmp_state() -> (TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("state.json");
    (d, p)
}
