//! Runs every fuzz corpus file through the fuzz targets' properties on
//! stable Rust, so inputs found by fuzzing stay fixed.
//!
//! `cargo test --test fuzz_corpus -- --ignored write_seed_corpus` rewrites
//! the seed files (valid entries, checkpoints, notes, proofs, tile paths).

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let d = std::fs::read(&p).unwrap();
            (p, d)
        })
        .collect()
}

fn run(target: &str, f: fn(&[u8])) {
    let files = corpus(target);
    for (path, data) in &files {
        if std::panic::catch_unwind(|| f(data)).is_err() {
            panic!("{target}: {} breaks the property", path.display());
        }
    }
    println!("{target}: {} corpus files pass", files.len());
}

#[test]
fn entry_decode_corpus() {
    run("entry_decode", harness::entry_decode);
}

#[test]
fn checkpoint_parse_corpus() {
    run("checkpoint_parse", harness::checkpoint_parse);
}

#[test]
fn proof_verify_corpus() {
    run("proof_verify", harness::proof_verify);
}

#[test]
fn tile_path_corpus() {
    run("tile_path", harness::tile_path);
}

/// The corpus key must be the one `harness::CORPUS_VKEY` names.
const CORPUS_SKEY_SEED: [u8; 32] = [7; 32];

#[test]
#[ignore = "writes the seed corpus"]
fn write_seed_corpus() {
    use veche_log::checkpoint::{Checkpoint, LogSigner};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let put = |target: &str, name: &str, data: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
    };
    // Entries: the spec's test vectors, valid and invalid.
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/vectors/entries-v1.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut n = 0;
    for group in ["valid", "invalid"] {
        for v in vectors[group].as_array().into_iter().flatten() {
            if let Some(h) = v["hex"].as_str() {
                put(
                    "entry_decode",
                    &format!("{group}-{n:02}"),
                    &hex::decode(h).unwrap(),
                );
                n += 1;
            }
        }
    }
    // Checkpoints and notes.
    let (signer, _) = LogSigner::from_seed("fuzz.veche/log", &CORPUS_SKEY_SEED).unwrap();
    assert_eq!(
        signer.vkey(),
        harness::CORPUS_VKEY,
        "update harness::CORPUS_VKEY"
    );
    let leaf = veche_log::leaf_hash(b"");
    for (i, size) in [0u64, 1, 7, 256, 1_000_000].into_iter().enumerate() {
        let cp = Checkpoint {
            origin: "fuzz.veche/log".into(),
            size,
            root: leaf,
            extensions: vec![],
        };
        put(
            "checkpoint_parse",
            &format!("body-{i}"),
            cp.to_body().as_bytes(),
        );
        put(
            "checkpoint_parse",
            &format!("note-{i}"),
            signer.sign(&cp).as_bytes(),
        );
    }
    let cp = Checkpoint {
        origin: "fuzz.veche/log".into(),
        size: 3,
        root: leaf,
        extensions: vec!["ext line".into()],
    };
    put("checkpoint_parse", "note-ext", signer.sign(&cp).as_bytes());
    // Proofs: a real inclusion and consistency proof from a small tree.
    let tree = veche_log::memory::MemoryTree::from_entries(
        (0..13u8)
            .map(|i| vec![i])
            .collect::<Vec<_>>()
            .iter()
            .map(Vec::as_slice),
    );
    let mut data = Vec::new();
    data.extend(5u64.to_be_bytes());
    data.extend(13u64.to_be_bytes());
    data.extend(tree.leaves()[5].0);
    data.extend(tree.root().0);
    for h in tree.inclusion_proof(5, 13).unwrap() {
        data.extend(h.0);
    }
    put("proof_verify", "inclusion-5-13", &data);
    let mut data = Vec::new();
    data.extend(6u64.to_be_bytes());
    data.extend(13u64.to_be_bytes());
    data.extend(tree.root_at(6).unwrap().0);
    data.extend(tree.root().0);
    for h in tree.consistency_proof(6, 13).unwrap() {
        data.extend(h.0);
    }
    put("proof_verify", "consistency-6-13", &data);
    // Tile paths.
    for (i, p) in [
        "tile/0/000",
        "tile/0/x001/x234/067.p/5",
        "tile/entries/x001/234",
        "tile/entries/000.p/255",
        "tile/63/999",
        "tile/0/000.p/0",
        "tile//000",
    ]
    .iter()
    .enumerate()
    {
        put("tile_path", &format!("path-{i}"), p.as_bytes());
    }
}
