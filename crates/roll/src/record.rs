//! Hashed records (what the server stores), hashing a roll, the diff
//! between two versions, and the commitment written to the log.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use veche_entry::{Actor, RollVersion};

use crate::hash::{
    DOCUMENT_KEY_LEN, IdentityHasher, InputError, check_jurisdiction, jurisdiction_salt,
};
use crate::roll_csv::RollRow;

/// BLAKE3 `derive_key` context of the roll commitment.
pub const COMMITMENT_CONTEXT: &str = "veche roll commitment v1";
/// Most threads [`hash_roll`] uses.
pub const MAX_HASH_THREADS: usize = 2;

/// One record of a roll as the server stores it: no personal data.
///
/// JSON: `{"record_id": "r-1", "document_key": "<64 hex digits>",
/// "district": "Tverskoy" | null}`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashedRecord {
    /// The registrar's record id.
    pub record_id: String,
    /// [`IdentityHasher::document_key`] of the record's document number
    /// and date of birth.
    #[serde(with = "hex_key")]
    pub document_key: [u8; DOCUMENT_KEY_LEN],
    /// The district, if any.
    pub district: Option<String>,
}

impl fmt::Debug for HashedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashedRecord")
            .field("record_id", &self.record_id)
            .field("document_key", &hex::encode(self.document_key))
            .field("district", &self.district)
            .finish()
    }
}

mod hex_key {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.as_bytes(), &mut out)
            .map_err(|e| D::Error::custom(format!("document_key: {e}")))?;
        Ok(out)
    }
}

/// Hashes every row of a roll of `jurisdiction` into a [`HashedRecord`],
/// in the same order, on up to [`MAX_HASH_THREADS`] threads (fewer if the
/// machine has fewer cores). Argon2id at production cost takes tens of
/// milliseconds per row, so `progress(done, total)` is called after each
/// row, from the worker threads, possibly concurrently.
pub fn hash_roll(
    jurisdiction: &str,
    rows: &[RollRow],
    hasher: &IdentityHasher,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<HashedRecord>, InputError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_HASH_THREADS);
    hash_roll_with_threads(jurisdiction, rows, hasher, threads, progress)
}

/// [`hash_roll`] on exactly `threads` threads (at least 1, at most one
/// per row).
pub fn hash_roll_with_threads(
    jurisdiction: &str,
    rows: &[RollRow],
    hasher: &IdentityHasher,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<HashedRecord>, InputError> {
    check_jurisdiction(jurisdiction)?;
    let salt = jurisdiction_salt(jurisdiction);
    let total = rows.len();
    if total == 0 {
        return Ok(Vec::new());
    }
    let threads = threads.clamp(1, total);
    let chunk = total.div_ceil(threads);
    let done = AtomicUsize::new(0);
    let hash_chunk = |part: &[RollRow]| -> Vec<HashedRecord> {
        let mut memory = hasher.memory();
        part.iter()
            .map(|row| {
                let key = hasher.document_key_with(
                    &salt,
                    &row.document_number,
                    row.date_of_birth,
                    &mut memory,
                );
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(n, total);
                HashedRecord {
                    record_id: row.record_id.clone(),
                    document_key: key,
                    district: row.district.clone(),
                }
            })
            .collect()
    };
    if threads == 1 {
        return Ok(hash_chunk(rows));
    }
    let parts: Vec<Vec<HashedRecord>> = std::thread::scope(|s| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .map(|part| s.spawn(|| hash_chunk(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    Ok(parts.concat())
}

/// The first record id that appears twice in `records`, if any. A roll's
/// record ids are unique ([`crate::parse_roll_csv`] ensures it); the server
/// may check records it reads back with this.
pub fn duplicate_record_id(records: &[HashedRecord]) -> Option<&str> {
    let mut seen = std::collections::HashSet::with_capacity(records.len());
    records
        .iter()
        .find(|r| !seen.insert(r.record_id.as_str()))
        .map(|r| r.record_id.as_str())
}

/// A record whose document key or district changed between versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordUpdate {
    /// The record in the old version.
    pub before: HashedRecord,
    /// The record in the new version (same `record_id`).
    pub after: HashedRecord,
}

/// What changes when a roll is reloaded: the new version against the old
/// one, by record id. Every list is sorted by record id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollDiff {
    /// Records whose id is not in the old version.
    pub added: Vec<HashedRecord>,
    /// Records in both whose document key or district differs.
    pub updated: Vec<RecordUpdate>,
    /// Records of the old version whose id is not in the new one (as they
    /// were in the old version).
    pub retired: Vec<HashedRecord>,
    /// Number of records identical in both.
    pub unchanged: u64,
}

fn by_id(records: &[HashedRecord]) -> BTreeMap<&str, &HashedRecord> {
    records.iter().map(|r| (r.record_id.as_str(), r)).collect()
}

/// Compares two versions of a roll (the active records of each) by record
/// id. Pure: the server applies the result in one transaction:
///
/// - `added`: insert (or, if the id is a retired record of an earlier
///   version, reactivate it with the new key and district);
/// - `updated`: replace the key and/or district; an enrolment made with the
///   record stays (the record id, not the key, is what a citizen claimed);
/// - `retired`: mark retired; its enrolment history stays, but it can no
///   longer sign or vote;
/// - `unchanged`: nothing.
///
/// Record ids are expected to be unique in each slice; if one repeats, its
/// last occurrence counts.
pub fn diff(old: &[HashedRecord], new: &[HashedRecord]) -> RollDiff {
    let old = by_id(old);
    let new = by_id(new);
    let mut d = RollDiff::default();
    for (id, after) in &new {
        match old.get(id) {
            None => d.added.push((*after).clone()),
            Some(before) if before == after => d.unchanged += 1,
            Some(before) => d.updated.push(RecordUpdate {
                before: (*before).clone(),
                after: (*after).clone(),
            }),
        }
    }
    d.retired = old
        .iter()
        .filter(|(id, _)| !new.contains_key(*id))
        .map(|(_, r)| (*r).clone())
        .collect();
    d
}

impl RollDiff {
    /// Applies the diff to `old`, giving the new version's records sorted
    /// by record id: `apply(old, diff(old, new))` is `new` sorted.
    pub fn apply(&self, old: &[HashedRecord]) -> Vec<HashedRecord> {
        let mut records: BTreeMap<String, HashedRecord> = old
            .iter()
            .map(|r| (r.record_id.clone(), r.clone()))
            .collect();
        for r in &self.retired {
            records.remove(&r.record_id);
        }
        for u in &self.updated {
            records.insert(u.after.record_id.clone(), u.after.clone());
        }
        for r in &self.added {
            records.insert(r.record_id.clone(), r.clone());
        }
        records.into_values().collect()
    }

    /// Number of records in the new version: added + updated + unchanged.
    pub fn records(&self) -> u64 {
        self.added.len() as u64 + self.updated.len() as u64 + self.unchanged
    }

    /// The `roll_version` log entry payload for the new version `version`
    /// of `jurisdiction`'s roll, whose active records are `new_records`
    /// (the `new` this diff was computed from), loaded by the staff member
    /// `actor`.
    pub fn roll_version(
        &self,
        jurisdiction: &str,
        version: u32,
        new_records: &[HashedRecord],
        actor: Actor,
    ) -> RollVersion {
        RollVersion {
            jurisdiction: jurisdiction.to_owned(),
            version,
            records: self.records(),
            added: self.added.len() as u64,
            updated: self.updated.len() as u64,
            retired: self.retired.len() as u64,
            commitment: roll_commitment(jurisdiction, version, new_records),
            actor,
        }
    }
}

/// The commitment to a roll version: BLAKE3 in `derive_key` mode with
/// context `"veche roll commitment v1"` over
///
/// ```text
/// u32 len(jurisdiction) ‖ jurisdiction
/// u32 version
/// u64 number of records
/// for each record, sorted by (record_id bytes, document_key, district):
///     u32 len(record_id) ‖ record_id
///     document_key (32 bytes)
///     0x00                                   (no district)
///   | 0x01 ‖ u32 len(district) ‖ district    (district, UTF-8)
/// ```
///
/// (integers big-endian, lengths in bytes). Independent of the order of
/// `records`.
pub fn roll_commitment(jurisdiction: &str, version: u32, records: &[HashedRecord]) -> [u8; 32] {
    let mut sorted: Vec<&HashedRecord> = records.iter().collect();
    sorted.sort_unstable();
    let mut h = blake3::Hasher::new_derive_key(COMMITMENT_CONTEXT);
    let str_field = |h: &mut blake3::Hasher, s: &str| {
        h.update(&len32(s.len()).to_be_bytes());
        h.update(s.as_bytes());
    };
    str_field(&mut h, jurisdiction);
    h.update(&version.to_be_bytes());
    h.update(&(sorted.len() as u64).to_be_bytes());
    for r in sorted {
        str_field(&mut h, &r.record_id);
        h.update(&r.document_key);
        match &r.district {
            None => {
                h.update(&[0x00]);
            }
            Some(d) => {
                h.update(&[0x01]);
                str_field(&mut h, d);
            }
        }
    }
    *h.finalize().as_bytes()
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).expect("record ids, districts and jurisdiction ids are far shorter than 4 GiB")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_roll_csv;
    use crate::test_hasher;

    fn rec(id: &str, key: u8, district: Option<&str>) -> HashedRecord {
        HashedRecord {
            record_id: id.into(),
            document_key: [key; 32],
            district: district.map(Into::into),
        }
    }

    #[test]
    fn hash_roll_matches_document_key_and_keeps_order() {
        let h = test_hasher();
        let mut csv = String::from("record_id,document_number,date_of_birth,district\n");
        for i in 0..25 {
            csv.push_str(&format!(
                "r{i:02},45{i:08},1990-01-{:02},d{}\n",
                i % 28 + 1,
                i % 3
            ));
        }
        let rows = parse_roll_csv(csv.as_bytes(), "tver").unwrap();
        let calls = AtomicUsize::new(0);
        let max = AtomicUsize::new(0);
        let progress = |done: usize, total: usize| {
            assert_eq!(total, 25);
            calls.fetch_add(1, Ordering::Relaxed);
            max.fetch_max(done, Ordering::Relaxed);
        };
        let two = hash_roll_with_threads("tver", &rows, &h, 2, &progress).unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), 25);
        assert_eq!(max.load(Ordering::Relaxed), 25);
        let one = hash_roll_with_threads("tver", &rows, &h, 1, &|_, _| {}).unwrap();
        let many = hash_roll_with_threads("tver", &rows, &h, 64, &|_, _| {}).unwrap();
        let auto = hash_roll("tver", &rows, &h, &|_, _| {}).unwrap();
        assert_eq!(two, one);
        assert_eq!(two, many);
        assert_eq!(two, auto);
        for (i, r) in two.iter().enumerate() {
            assert_eq!(r.record_id, format!("r{i:02}"));
            assert_eq!(r.district.as_deref(), Some(format!("d{}", i % 3).as_str()));
            let key = h
                .document_key(
                    "tver",
                    &format!("45{i:08}"),
                    &format!("1990-01-{:02}", i % 28 + 1),
                )
                .unwrap();
            assert_eq!(r.document_key, key);
        }
        assert!(hash_roll("tver", &[], &h, &|_, _| {}).unwrap().is_empty());
        assert!(hash_roll("Tver", &rows, &h, &|_, _| {}).is_err());
    }

    #[test]
    fn diff_classifies_by_record_id() {
        let old = [
            rec("a", 1, None),
            rec("b", 2, None),
            rec("c", 3, Some("x")),
            rec("d", 4, None),
        ];
        let new = [
            rec("e", 5, None),
            rec("c", 3, Some("y")),
            rec("a", 1, None),
            rec("b", 9, None),
        ];
        let d = diff(&old, &new);
        assert_eq!(d.added, [rec("e", 5, None)]);
        assert_eq!(
            d.updated,
            [
                RecordUpdate {
                    before: rec("b", 2, None),
                    after: rec("b", 9, None)
                },
                RecordUpdate {
                    before: rec("c", 3, Some("x")),
                    after: rec("c", 3, Some("y"))
                },
            ]
        );
        assert_eq!(d.retired, [rec("d", 4, None)]);
        assert_eq!(d.unchanged, 1);
        assert_eq!(d.records(), 4);
        let mut sorted = new.to_vec();
        sorted.sort();
        assert_eq!(d.apply(&old), sorted);
        let registrar = Actor::new(veche_entry::StaffRole::Registrar, "registrar-k3j9x2");
        let v = d.roll_version("moscow", 2, &new, registrar.clone());
        assert_eq!((v.records, v.added, v.updated, v.retired), (4, 1, 2, 1));
        assert_eq!(v.commitment, roll_commitment("moscow", 2, &new));
        assert_eq!(v.actor, registrar);
        let first = diff(&[], &old);
        let admin = Actor::new(veche_entry::StaffRole::Admin, "admin-0a1b2c3d");
        let v1 = first.roll_version("moscow", 1, &old, admin.clone());
        assert_eq!(v1.actor, admin);
        assert_eq!((v1.records, v1.added, v1.updated, v1.retired), (4, 4, 0, 0));
        let e = veche_entry::Entry::new(0, v1.clone());
        assert!(e.encode().is_ok());
        assert!(v.check_follows(Some(&v1)).is_ok());
    }

    #[test]
    fn commitment_bytes_are_exact() {
        let records = [rec("b", 2, Some("Арбат")), rec("a", 1, None)];
        let mut input = Vec::new();
        input.extend_from_slice(&[0, 0, 0, 6]);
        input.extend_from_slice(b"moscow");
        input.extend_from_slice(&3u32.to_be_bytes());
        input.extend_from_slice(&2u64.to_be_bytes());
        input.extend_from_slice(&[0, 0, 0, 1, b'a']);
        input.extend_from_slice(&[1; 32]);
        input.push(0);
        input.extend_from_slice(&[0, 0, 0, 1, b'b']);
        input.extend_from_slice(&[2; 32]);
        input.push(1);
        input.extend_from_slice(&[0, 0, 0, 10]);
        input.extend_from_slice("Арбат".as_bytes());
        let expected = blake3::derive_key("veche roll commitment v1", &input);
        assert_eq!(roll_commitment("moscow", 3, &records), expected);
        // Known answer, also in specs/roll.md.
        assert_eq!(
            hex::encode(expected),
            "44e4450e36528703d66592efac9123419a24c75bb3e24730669251b21179b641"
        );
        assert_ne!(roll_commitment("moscow", 4, &records), expected);
        assert_ne!(roll_commitment("moscow", 3, &records[..1]), expected);
        assert_eq!(
            hex::encode(roll_commitment("x", 1, &[])),
            hex::encode(blake3::derive_key(
                "veche roll commitment v1",
                &[0, 0, 0, 1, b'x', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
            ))
        );
    }

    #[test]
    fn duplicates_are_found() {
        assert_eq!(
            duplicate_record_id(&[rec("a", 1, None), rec("b", 1, None)]),
            None
        );
        assert_eq!(
            duplicate_record_id(&[rec("a", 1, None), rec("b", 1, None), rec("a", 2, None)]),
            Some("a")
        );
    }

    #[test]
    fn json_form() {
        let r = rec("r-1", 0xab, Some("Tverskoy"));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"record_id": "r-1", "document_key": "ab".repeat(32), "district": "Tverskoy"})
        );
        assert_eq!(serde_json::from_value::<HashedRecord>(v).unwrap(), r);
        assert!(
            serde_json::from_value::<HashedRecord>(
                serde_json::json!({"record_id": "r", "document_key": "ab", "district": null})
            )
            .is_err()
        );
        assert_eq!(
            format!("{:?}", rec("a", 0, None)),
            format!(
                "HashedRecord {{ record_id: \"a\", document_key: \"{}\", district: None }}",
                "00".repeat(32)
            )
        );
    }
}
