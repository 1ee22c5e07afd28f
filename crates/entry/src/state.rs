//! Pure folds of log entries into state, shared by the server and the
//! verifier so both compute the same thing from the same entries.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Entry;
use crate::kinds::jurisdiction::Jurisdiction;
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
        #[allow(irrefutable_let_patterns)] // more kinds will follow
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
}
