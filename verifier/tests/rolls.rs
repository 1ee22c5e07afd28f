//! The audit checks electoral roll versions: each belongs to a declared
//! jurisdiction, and versions follow each other.

mod common;

use common::*;
use veche_entry::{Date, Entry, Jurisdiction, RollVersion};

fn jurisdiction(id: &str) -> Vec<u8> {
    Entry::new(
        1_795_442_400_000,
        Jurisdiction {
            id: id.into(),
            name_ru: "Тестовая область".into(),
            name_en: "Test Oblast".into(),
            population: 5000,
            population_source: "Test".into(),
            population_date: Date::new(2024, 1, 1).unwrap(),
            legislature_ru: "Дума".into(),
            legislature_en: "Duma".into(),
        },
    )
    .encode()
    .unwrap()
}

fn roll(id: &str, version: u32, records: u64, added: u64) -> Vec<u8> {
    Entry::new(
        1_795_442_400_001,
        RollVersion {
            jurisdiction: id.into(),
            version,
            records,
            added,
            updated: 0,
            retired: 0,
            commitment: [version as u8; 32],
        },
    )
    .encode()
    .unwrap()
}

#[test]
fn successive_roll_versions_pass() {
    let entries = [jurisdiction("a"), roll("a", 1, 3, 3), roll("a", 2, 5, 2)];
    let (dir, _) = mirror_with(3, |i| entries[i as usize].clone());
    let a = audit_once(dir.path()).unwrap();
    assert_eq!(a.rolls.get("a").unwrap().current.version, 2);
}

#[test]
fn a_skipped_version_or_an_undeclared_jurisdiction_fails() {
    let skipped = [jurisdiction("a"), roll("a", 1, 3, 3), roll("a", 3, 5, 2)];
    let (dir, _) = mirror_with(3, |i| skipped[i as usize].clone());
    let msg = failure(audit_once(dir.path()));
    assert!(msg.contains("entry 2") && msg.contains("version"), "{msg}");

    let undeclared = [jurisdiction("a"), roll("b", 1, 3, 3)];
    let (dir, _) = mirror_with(2, |i| undeclared[i as usize].clone());
    let msg = failure(audit_once(dir.path()));
    assert!(msg.contains("has not declared"), "{msg}");
}
