//! `veche-verify` against the real server: audits of the live log and of an
//! exported mirror, receipts, consistency as the log grows, and a fork made
//! by a second server holding the same key.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

/// The verifier binary, built beside `veche` (built here if missing).
pub fn verifier() -> PathBuf {
    let path = Path::new(bin()).with_file_name("veche-verify");
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "veche-verify", "--bin", "veche-verify"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    path
}

fn verify(args: &[&str], log: &str, vkey: &str, state: &Path) -> Output {
    Command::new(verifier())
        .args(args)
        .args(["--log", log, "--vkey", vkey, "--state"])
        .arg(state)
        .output()
        .unwrap()
}

fn fill(app: &TestApp, prefix: &str, n: u64) {
    std::thread::scope(|s| {
        for t in 0..8 {
            s.spawn(move || {
                for k in (t..n).step_by(8) {
                    app.add_jurisdiction(&format!("{prefix}-{k}"), 100 + k);
                }
            });
        }
    });
}

fn wait_for_size(app: &TestApp, size: u64) {
    while app.get("/api/v1/log").json()["size"].as_u64().unwrap() < size {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn verifier_audits_the_live_log_and_its_mirror_and_catches_a_fork() {
    let db = TestDb::new(Backend::Sqlite, "verifier e2e").unwrap();
    let dir = data_dir();
    let work = data_dir();
    let app = TestApp::start(dir.path(), &db);
    fill(&app, "r", 300);
    wait_for_size(&app, 300);
    let log = format!("{}/log", app.url);
    let state = work.path().join("state.json");

    let out = verify(&["audit", "--json"], &log, &app.vkey, &state);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["size"], 300);
    assert_eq!(summary["entries_by_kind"]["jurisdiction"], 300);

    // A receipt from the API verifies, also after the log grew.
    let receipt = app.get("/api/v1/log/receipt/123").body;
    let receipt_file = work.path().join("receipt.json");
    std::fs::write(&receipt_file, receipt).unwrap();
    fill(&app, "s", 40);
    wait_for_size(&app, 340);
    let out = Command::new(verifier())
        .args(["inclusion", "--log", &log, "--vkey", &app.vkey, "--receipt"])
        .arg(&receipt_file)
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = verify(&["checkpoint"], &log, &app.vkey, &state);
    assert_eq!(code(&out), 0, "{}", text(&out));

    // The exported mirror audits the same; a changed byte in it does not.
    let mirror = work.path().join("mirror");
    let export = veche_command(dir.path(), &db)
        .args(["log", "export"])
        .arg(&mirror)
        .output()
        .unwrap();
    assert!(export.status.success(), "{}", text(&export));
    let mirror_state = work.path().join("mirror-state.json");
    let out = verify(
        &["audit"],
        mirror.to_str().unwrap(),
        &app.vkey,
        &mirror_state,
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    for path in [
        "checkpoint",
        "tile/0/000",
        "tile/0/001.p/84",
        "tile/entries/001.p/84",
    ] {
        let file = mirror.join(path);
        let original = std::fs::read(&file).unwrap();
        let mut changed = original.clone();
        let at = original.len() - 5;
        changed[at] ^= 0x20;
        std::fs::write(&file, &changed).unwrap();
        let out = verify(
            &["audit"],
            mirror.to_str().unwrap(),
            &app.vkey,
            &work.path().join("fresh.json"),
        );
        assert_eq!(
            code(&out),
            1,
            "a changed byte in {path} was not caught: {}",
            text(&out)
        );
        assert!(
            text(&out).contains(path),
            "{path} is not named: {}",
            text(&out)
        );
        std::fs::write(&file, &original).unwrap();
    }

    // A second server with the same key and origin but another history: a fork.
    let key = std::fs::read_to_string(dir.path().join("log.key")).unwrap();
    app.stop();
    let fork_dir = data_dir();
    let fork_db = TestDb::new(Backend::Sqlite, "verifier fork").unwrap();
    let fork = TestApp::start_with_key(fork_dir.path(), &fork_db, Some(key.trim()));
    assert_eq!(fork.vkey, app_vkey_of(&dir));
    fill(&fork, "evil", 400);
    wait_for_size(&fork, 400);
    let out = verify(
        &["checkpoint"],
        &format!("{}/log", fork.url),
        &fork.vkey,
        &state,
    );
    assert_eq!(code(&out), 1, "a fork was not detected: {}", text(&out));
    let before = std::fs::read(&state).unwrap();
    let out = verify(&["audit"], &format!("{}/log", fork.url), &fork.vkey, &state);
    assert_eq!(code(&out), 1, "audit accepted a fork: {}", text(&out));
    assert_eq!(
        std::fs::read(&state).unwrap(),
        before,
        "the state file moved to the fork"
    );
}

fn app_vkey_of(dir: &tempfile::TempDir) -> String {
    let key = std::fs::read_to_string(dir.path().join("log.key")).unwrap();
    veche_log::checkpoint::LogSigner::from_skey(key.trim())
        .unwrap()
        .vkey()
}
