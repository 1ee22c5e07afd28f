//! Checks the test vectors of `specs/vectors/entries-v1.json`, and that
//! the specs show every one of them: `specs/entries.md` the envelope's and
//! kinds 1 and 64, the kinds' own specs the others (the petition, poll and
//! PB vectors are built by `scripts/entry_vectors.py` from the layouts,
//! independently of this crate's encoder).

use serde_json::Value;
use sha2::{Digest, Sha256};
use veche_entry::Entry;

const VECTORS: &str = include_str!("../../../specs/vectors/entries-v1.json");
const SPECS: [(&str, &str); 4] = [
    ("entries.md", include_str!("../../../specs/entries.md")),
    ("petitions.md", include_str!("../../../specs/petitions.md")),
    ("polls.md", include_str!("../../../specs/polls.md")),
    ("pb-rounds.md", include_str!("../../../specs/pb-rounds.md")),
];

/// The spec that shows the vectors of `kind` (a kind name).
fn spec_of(kind: &str) -> &'static str {
    let file = if kind.starts_with("poll_") {
        "polls.md"
    } else if kind.starts_with("pb_") {
        "pb-rounds.md"
    } else if matches!(kind, "jurisdiction" | "roll_version") {
        "entries.md"
    } else {
        "petitions.md"
    };
    SPECS.iter().find(|(f, _)| *f == file).unwrap().1
}

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
        "petition-rejected-bool-2",
        "petition-answered-option-tag-2",
        "poll-opened-method-4",
        "poll-ballot-count-past-end",
        "pb-project-longitude-minus-180",
        "pb-voting-budget-over-2-53",
    ] {
        assert!(
            invalid.iter().any(|t| t["name"] == required),
            "missing vector {required}"
        );
    }
}

#[test]
fn every_kind_has_valid_and_invalid_vectors() {
    let v = vectors();
    for &(kind, name) in veche_entry::Payload::KINDS {
        assert!(
            list(&v, "valid").iter().any(|t| t["entry"]["kind"] == name),
            "no valid vector of kind {kind} ({name})"
        );
        let invalid = list(&v, "invalid").iter().any(|t| {
            let bytes = hex::decode(str_of(t, "hex")).unwrap();
            bytes.len() >= 3 && u16::from_be_bytes([bytes[1], bytes[2]]) == kind
        });
        assert!(invalid, "no invalid vector of kind {kind} ({name})");
    }
}

#[test]
fn spec_shows_every_vector() {
    let v = vectors();
    for t in list(&v, "valid").iter().chain(list(&v, "invalid")) {
        let name = str_of(t, "name");
        // Invalid vectors are shown with their kind's spec too; those cut
        // before the kind (or of an unknown kind) are in entries.md.
        let bytes = hex::decode(str_of(t, "hex")).unwrap();
        let kind = t["entry"]["kind"].as_str().map(str::to_owned).or_else(|| {
            let k = u16::from_be_bytes([*bytes.get(1)?, *bytes.get(2)?]);
            veche_entry::Payload::name_of_kind(k).map(str::to_owned)
        });
        let spec = spec_of(kind.as_deref().unwrap_or("jurisdiction"));
        let flat: String = spec.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(
            spec.contains(&format!("`{name}`")),
            "the spec lacks vector {name}"
        );
        let hex = str_of(t, "hex");
        assert!(
            flat.contains(hex),
            "the spec lacks the hex of vector {name}"
        );
        if let Some(error) = t["error"].as_str() {
            assert!(
                spec.contains(error),
                "the spec lacks the error of vector {name}: {error}"
            );
        }
        if let Some(leaf) = t["leaf_hash"].as_str() {
            assert!(
                spec.contains(leaf),
                "the spec lacks the leaf hash of vector {name}"
            );
        }
    }
}
