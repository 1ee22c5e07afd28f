//! The audit checks electoral roll versions: each belongs to a declared
//! jurisdiction, and versions follow each other.

mod common;

use common::*;
use veche_entry::{Actor, Date, Entry, Jurisdiction, RollVersion, StaffRole};

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
            actor: Actor::new(StaffRole::Registrar, format!("registrar-{id}{version}")),
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
    let a = a.rolls.get("a").unwrap();
    assert_eq!(a.current.version, 2);
    assert_eq!(
        a.current.actor,
        Actor::new(StaffRole::Registrar, "registrar-a2")
    );
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

#[test]
fn the_audit_reports_who_loaded_each_roll() {
    let entries = [jurisdiction("a"), roll("a", 1, 3, 3), roll("a", 2, 5, 2)];
    let (dir, _) = mirror_with(3, |i| entries[i as usize].clone());
    let st = tempfile::tempdir().unwrap();
    let log = dir.path().to_str().unwrap();
    let state = st.path().join("state.json");
    let run = |json: bool| {
        let mut args = vec![
            "audit",
            "--log",
            log,
            "--vkey",
            &vkey(),
            "--state",
            state.to_str().unwrap(),
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
        if json {
            args.push("--json".into());
        }
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_veche-verify"))
            .args(&args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let v: serde_json::Value = serde_json::from_str(&run(true)).unwrap();
    assert_eq!(
        v["rolls"][0]["actor"],
        serde_json::json!({"role": "registrar", "pseudonym": "registrar-a2"})
    );
    let text = run(false);
    assert!(
        text.contains("(latest at entry 2, loaded by registrar registrar-a2)"),
        "{text}"
    );
}
