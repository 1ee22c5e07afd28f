//! Checks the test vectors of `specs/vectors/entries-v1.json`, and that
//! `specs/entries.md` shows every one of them.

use serde_json::Value;
use sha2::{Digest, Sha256};
use veche_entry::Entry;

const VECTORS: &str = include_str!("../../../specs/vectors/entries-v1.json");
const SPEC: &str = include_str!("../../../specs/entries.md");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("vector file is JSON")
}

fn list<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is an array"))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string in {v}"))
}

#[test]
fn valid_vectors_decode_to_stated_value_and_reencode_exactly() {
    let v = vectors();
    assert_eq!(v["version"], 1);
    let valid = list(&v, "valid");
    assert!(valid.len() >= 2);
    for t in valid {
        let name = str_of(t, "name");
        let bytes = hex::decode(str_of(t, "hex")).unwrap();
        let entry = Entry::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let stated: Entry = serde_json::from_value(t["entry"].clone())
            .unwrap_or_else(|e| panic!("{name}: stated entry: {e}"));
        assert_eq!(entry, stated, "{name}");
        assert_eq!(serde_json::to_value(&entry).unwrap(), t["entry"], "{name}");
        assert_eq!(entry.encode().unwrap(), bytes, "{name}");
        let mut leaf = Sha256::new();
        leaf.update([0x00]);
        leaf.update(&bytes);
        assert_eq!(
            hex::encode(leaf.finalize()),
            str_of(t, "leaf_hash"),
            "{name}"
        );
    }
}

#[test]
fn invalid_vectors_are_rejected_with_stated_error() {
    let v = vectors();
    let invalid = list(&v, "invalid");
    for t in invalid {
        let name = str_of(t, "name");
        let bytes = hex::decode(str_of(t, "hex")).unwrap();
        let err = Entry::decode(&bytes).expect_err(name);
        assert_eq!(err.code(), str_of(t, "error_code"), "{name}");
        assert_eq!(
            Some(err.offset as u64),
            t["error_offset"].as_u64(),
            "{name}"
        );
        assert_eq!(err.to_string(), str_of(t, "error"), "{name}");
    }
    // The cases the spec promises are all there.
    for required in [
        "trailing-byte",
        "version-2",
        "unknown-kind",
        "population-0",
        "bad-utf8",
        "date-2023-02-29",
        "string-length-past-end",
        "id-uppercase",
    ] {
        assert!(
            invalid.iter().any(|t| t["name"] == required),
            "missing vector {required}"
        );
    }
}

#[test]
fn spec_shows_every_vector() {
    let flat: String = SPEC.chars().filter(|c| !c.is_whitespace()).collect();
    let v = vectors();
    for t in list(&v, "valid").iter().chain(list(&v, "invalid")) {
        let name = str_of(t, "name");
        assert!(SPEC.contains(name), "specs/entries.md lacks vector {name}");
        let hex = str_of(t, "hex");
        assert!(
            flat.contains(hex),
            "specs/entries.md lacks the hex of vector {name}"
        );
        if let Some(error) = t["error"].as_str() {
            assert!(
                SPEC.contains(error),
                "specs/entries.md lacks the error of vector {name}: {error}"
            );
        }
        if let Some(leaf) = t["leaf_hash"].as_str() {
            assert!(
                SPEC.contains(leaf),
                "specs/entries.md lacks the leaf hash of vector {name}"
            );
        }
    }
}
