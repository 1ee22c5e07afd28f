//! Pure folds of log entries into state, shared by the server and the
//! verifier so both compute the same thing from the same entries.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Entry;
use crate::error::ValidationError;
use crate::kinds::jurisdiction::Jurisdiction;
use crate::kinds::roll_version::RollVersion;
use crate::payload::Payload;

/// What the log says about one jurisdiction id so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JurisdictionRecord {
    /// The latest declaration: the one in force for petitions opened after
    /// `last_index`.
    pub current: Jurisdiction,
    /// How many `jurisdiction` entries with this id were applied (≥ 1).
    pub declarations: u64,
    /// Log index of the first declaration.
    pub first_index: u64,
    /// Log index of the latest declaration.
    pub last_index: u64,
    /// Timestamp of the latest declaration.
    pub last_timestamp_ms: u64,
}

/// The jurisdictions declared by the log, folded entry by entry.
///
/// Feed it every entry in log order with [`Jurisdictions::apply`]; entries
/// of other kinds are ignored. The fold does not check that indices
/// increase: that is the log's business.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Jurisdictions {
    records: BTreeMap<String, JurisdictionRecord>,
}

impl Jurisdictions {
    /// No jurisdictions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies the entry at log index `index`: a `jurisdiction` entry
    /// declares its id or supersedes that id's current record.
    pub fn apply(&mut self, index: u64, entry: &Entry) {
        let Payload::Jurisdiction(j) = &entry.payload else {
            return;
        };
        match self.records.get_mut(&j.id) {
            Some(rec) => {
                rec.current = j.clone();
                rec.declarations += 1;
                rec.last_index = index;
                rec.last_timestamp_ms = entry.timestamp_ms;
            }
            None => {
                self.records.insert(
                    j.id.clone(),
                    JurisdictionRecord {
                        current: j.clone(),
                        declarations: 1,
                        first_index: index,
                        last_index: index,
                        last_timestamp_ms: entry.timestamp_ms,
                    },
                );
            }
        }
    }

    /// The record for `id`, if declared.
    pub fn get(&self, id: &str) -> Option<&JurisdictionRecord> {
        self.records.get(id)
    }

    /// All records, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &JurisdictionRecord)> {
        self.records.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of distinct ids declared.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether none has been declared.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// What the log says about one jurisdiction's electoral roll so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollRecord {
    /// The latest `roll_version` entry: its `version`, `records` (the size
    /// of the electorate) and `commitment`.
    pub current: RollVersion,
    /// How many `roll_version` entries for this jurisdiction were applied.
    pub versions: u64,
    /// Log index of the first version.
    pub first_index: u64,
    /// Log index of the latest version.
    pub last_index: u64,
    /// Timestamp of the latest version.
    pub last_timestamp_ms: u64,
}

/// The electoral-roll versions in the log, per jurisdiction, folded entry
/// by entry: jurisdiction id → latest version.
///
/// Feed it every entry in log order with [`Rolls::apply`]; entries of other
/// kinds are ignored. Like [`Jurisdictions`] the fold itself accepts what it
/// is given; [`Rolls::check`] says whether a `roll_version` entry may follow
/// the current state (version + 1, consistent counts), which the server
/// enforces before appending and the verifier re-checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Rolls {
    records: BTreeMap<String, RollRecord>,
}

impl Rolls {
    /// No rolls.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `entry` may be applied next: `Ok` for entries of other kinds;
    /// for a `roll_version`, [`RollVersion::check_follows`] against the
    /// jurisdiction's current version.
    pub fn check(&self, entry: &Entry) -> Result<(), ValidationError> {
        let Payload::RollVersion(r) = &entry.payload else {
            return Ok(());
        };
        r.check_follows(self.records.get(&r.jurisdiction).map(|rec| &rec.current))
    }

    /// Applies the entry at log index `index`: a `roll_version` entry
    /// becomes its jurisdiction's current version.
    pub fn apply(&mut self, index: u64, entry: &Entry) {
        let Payload::RollVersion(r) = &entry.payload else {
            return;
        };
        match self.records.get_mut(&r.jurisdiction) {
            Some(rec) => {
                rec.current = r.clone();
                rec.versions += 1;
                rec.last_index = index;
                rec.last_timestamp_ms = entry.timestamp_ms;
            }
            None => {
                self.records.insert(
                    r.jurisdiction.clone(),
                    RollRecord {
                        current: r.clone(),
                        versions: 1,
                        first_index: index,
                        last_index: index,
                        last_timestamp_ms: entry.timestamp_ms,
                    },
                );
            }
        }
    }

    /// The roll of jurisdiction `id`, if one was loaded.
    pub fn get(&self, id: &str) -> Option<&RollRecord> {
        self.records.get(id)
    }

    /// All rolls, by jurisdiction id.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RollRecord)> {
        self.records.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of jurisdictions with a roll.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no roll has been loaded.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Date;

    fn j(id: &str, population: u64) -> Entry {
        Entry::new(
            1_000 + population,
            Jurisdiction {
                id: id.into(),
                name_ru: "Имя".into(),
                name_en: "Name".into(),
                population,
                population_source: "Rosstat".into(),
                population_date: Date::new(2024, 1, 1).unwrap(),
                legislature_ru: "Дума".into(),
                legislature_en: "Duma".into(),
            },
        )
    }

    #[test]
    fn later_declarations_supersede() {
        let mut s = Jurisdictions::new();
        assert!(s.is_empty());
        s.apply(0, &j("a", 10));
        s.apply(1, &j("b", 20));
        s.apply(5, &j("a", 11));
        assert_eq!(s.len(), 2);
        let a = s.get("a").unwrap();
        assert_eq!(a.current.population, 11);
        assert_eq!(a.declarations, 2);
        assert_eq!((a.first_index, a.last_index), (0, 5));
        assert_eq!(a.last_timestamp_ms, 1_011);
        let b = s.get("b").unwrap();
        assert_eq!((b.declarations, b.first_index, b.last_index), (1, 1, 1));
        assert!(s.get("c").is_none());
        let ids: Vec<_> = s.iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["a", "b"]);
    }

    fn roll(id: &str, version: u32, records: u64, added: u64, updated: u64, retired: u64) -> Entry {
        Entry::new(
            2_000 + u64::from(version),
            RollVersion {
                jurisdiction: id.into(),
                version,
                records,
                added,
                updated,
                retired,
                commitment: [version as u8; 32],
                actor: crate::Actor::new(crate::StaffRole::Registrar, "registrar-abc"),
            },
        )
    }

    #[test]
    fn rolls_track_latest_version() {
        let mut s = Rolls::new();
        assert!(s.is_empty());
        let first = roll("a", 1, 10, 10, 0, 0);
        assert!(s.check(&first).is_ok());
        s.apply(3, &first);
        // Other kinds are ignored by both.
        assert!(s.check(&j("a", 10)).is_ok());
        s.apply(4, &j("a", 10));
        let second = roll("a", 2, 12, 4, 1, 2);
        assert!(s.check(&second).is_ok());
        s.apply(7, &second);
        s.apply(8, &roll("b", 1, 5, 5, 0, 0));
        assert_eq!(s.len(), 2);
        let a = s.get("a").unwrap();
        assert_eq!((a.current.version, a.current.records), (2, 12));
        assert_eq!((a.versions, a.first_index, a.last_index), (2, 3, 7));
        assert_eq!(a.last_timestamp_ms, 2_002);
        assert_eq!(
            s.check(&roll("a", 2, 12, 0, 0, 0)).unwrap_err().to_string(),
            "field version: must be 3 (previous version 2 + 1), got 2"
        );
        assert_eq!(
            s.check(&roll("a", 3, 13, 0, 0, 0)).unwrap_err().to_string(),
            "field records: must be previous records 12 − retired 0 + added 0 = 12, got 13"
        );
        assert!(s.check(&roll("a", 3, 0, 0, 0, 12)).is_ok());
        assert!(s.check(&roll("c", 2, 1, 1, 0, 0)).is_err());
        let ids: Vec<_> = s.iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(s.get("c").is_none());
    }
}
