//! Cross-check against pabutools 1.2.3 on real Pabulib files.
//!
//! `../shared/pabulib/expected.json` (next to the repository) maps each file
//! to the winners pabutools computes for each rule (see its README.md);
//! `tests/fixtures/` holds the two smallest files with their expected
//! winners so that a cross-check always runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use veche_tally::pabulib;
use veche_tally::pb::{Completion, Outcome, PbInstance, equal_shares, greedy};

type Expected = BTreeMap<String, BTreeMap<String, serde_json::Value>>;

fn shared_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/pabulib"
    ))
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

fn load(dir: &Path, file: &str) -> (pabulib::Instance, PbInstance) {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let inst = pabulib::parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let pb = PbInstance::from_pabulib(&inst).unwrap_or_else(|e| panic!("{file}: {e}"));
    (inst, pb)
}

fn rule(pb: &PbInstance, key: &str) -> Option<Outcome> {
    Some(match key {
        "greedy" => greedy(pb),
        "equal-shares" => equal_shares(pb, Completion::None),
        "equal-shares+add1" => equal_shares(pb, Completion::Add1),
        "equal-shares+add1+greedy" => equal_shares(pb, Completion::Add1Greedy),
        _ => return None,
    })
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = v
        .as_array()
        .expect("a list of ids")
        .iter()
        .map(|x| x.as_str().expect("an id").to_owned())
        .collect();
    ids.sort();
    ids
}

/// Checks every rule key of every file; returns (checked, mismatches).
fn check(dir: &Path) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
    let expected: Expected = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    let mut bad = Vec::new();
    for (file, keys) in &expected {
        let (inst, pb) = load(dir, file);
        for (key, want) in keys {
            if key == "selected_column" {
                let sel: Vec<String> = {
                    let mut s: Vec<String> = inst
                        .projects
                        .iter()
                        .filter(|p| p.selected == Some(true))
                        .map(|p| p.id.clone())
                        .collect();
                    s.sort();
                    s
                };
                assert_eq!(sel, ids(want), "{file}: selected column");
                continue;
            }
            let Some(out) = rule(&pb, key) else { continue };
            checked += 1;
            let got = out.sorted_ids(&pb);
            assert!(out.total_cost <= pb.budget(), "{file} {key}: over budget");
            if got != ids(want) {
                bad.push(format!(
                    "{file} {key}: got {got:?}, pabutools {:?}",
                    ids(want)
                ));
            }
        }
    }
    (checked, bad)
}

#[test]
fn fixtures_match_pabutools() {
    let (checked, bad) = check(&fixtures_dir());
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(checked, 8);
}

#[test]
fn shared_files_match_pabutools() {
    let dir = shared_dir();
    if !dir.join("expected.json").exists() {
        println!("skipped: ../shared/pabulib not found");
        return;
    }
    let (checked, bad) = check(&dir);
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(checked, 36);
}

/// Parsing and writing back every real file gives the same instance.
#[test]
fn shared_files_round_trip() {
    let dir = shared_dir();
    if !dir.exists() {
        println!("skipped: ../shared/pabulib not found");
        return;
    }
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "pb") {
            let text = std::fs::read_to_string(&path).unwrap();
            let inst = pabulib::parse(&text).unwrap();
            assert_eq!(pabulib::parse(&pabulib::write(&inst)).unwrap(), inst);
            n += 1;
        }
    }
    assert_eq!(n, 12);
}
