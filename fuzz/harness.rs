//! The properties the fuzz targets check, shared with the corpus regression
//! test (`tests/fuzz_corpus.rs`), which runs every corpus file on stable Rust.
//! Each function panics if and only if a property is broken.

use veche_log::Hash;

/// Whatever decodes must re-encode to exactly the same bytes.
pub fn entry_decode(data: &[u8]) {
    if let Ok(entry) = veche_entry::Entry::decode(data) {
        let again = entry.encode().expect("a decoded entry encodes");
        assert_eq!(again, data, "decode then encode changed the bytes");
    }
}

/// The fixed key the checkpoint corpus is signed with (a test key).
pub const CORPUS_VKEY: &str =
    "fuzz.veche/log+bc5637c9+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";

/// Checkpoint bodies and signed notes: parsing never panics, a parsed body
/// re-serialises to the same text, and verification never panics.
pub fn checkpoint_parse(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(cp) = veche_log::checkpoint::Checkpoint::parse_body(text)
    {
        assert_eq!(cp.to_body(), text, "checkpoint body is not canonical");
    }
    let _ = veche_log::checkpoint::verify_checkpoint(data, CORPUS_VKEY);
}

/// Proof verification on arbitrary input never panics, and an accepted
/// inclusion proof of a single-entry tree is the trivial one.
pub fn proof_verify(data: &[u8]) {
    if data.len() < 16 + 64 {
        return;
    }
    let a = u64::from_be_bytes(data[0..8].try_into().unwrap());
    let b = u64::from_be_bytes(data[8..16].try_into().unwrap());
    let h1 = Hash(data[16..48].try_into().unwrap());
    let h2 = Hash(data[48..80].try_into().unwrap());
    let proof: Vec<Hash> = data[80..]
        .chunks_exact(32)
        .map(|c| Hash(c.try_into().unwrap()))
        .collect();
    let ok = veche_log::proof::verify_inclusion(&h1, a, b, &proof, &h2).is_ok();
    if ok && b == 1 {
        assert!(proof.is_empty() && a == 0 && h1 == h2);
    }
    let _ = veche_log::proof::verify_consistency(a, b, &h1, &h2, &proof);
}

/// Tile paths: whatever parses prints back to exactly the same path.
pub fn tile_path(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(p) = veche_log::tiles::TilePath::parse(s)
    {
        assert_eq!(p.to_path(), s, "tile path is not canonical");
    }
}
