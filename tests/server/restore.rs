//! The restore drill (specs/operations.md): back a running node up, restore
//! into a fresh data directory and database, start a new node there and
//! prove it serves the same checkpoint (size and root, under the same key)
//! and goes on appending consistently with it.

use std::path::Path;
use std::process::Output;

use veche_log::Hash;
use veche_log::checkpoint::{Checkpoint, verify_checkpoint};

use crate::both_backends;
use crate::common::*;

/// The data-directory secrets a restore needs beside the database.
const SECRETS: &[&str] = &[
    "log.key",
    "nullifier.key",
    "pepper",
    "webhook.key",
    "operator.token",
];

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn backend_of(db: &TestDb) -> Backend {
    if db.url.is_some() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

fn checkpoint_of(app: &TestApp) -> Checkpoint {
    let r = app.get("/log/checkpoint");
    assert_eq!(r.status, 200, "{}", r.text());
    verify_checkpoint(&r.body, &app.vkey).expect("the checkpoint verifies")
}

fn settle(app: &TestApp, size: u64) -> Checkpoint {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let cp = checkpoint_of(app);
        if cp.size >= size {
            return cp;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint of size {size}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn backup(dir: &Path, db: &TestDb, to: &Path) {
    let out = veche_command(dir, db)
        .arg("backup")
        .arg("--to")
        .arg(to)
        .output()
        .unwrap();
    assert!(out.status.success(), "backup failed: {}", text(&out));
    assert!(
        text(&out).contains("log.key"),
        "the secrets are not named: {}",
        text(&out)
    );
}

/// Copies the secrets to `to` and restores `backup` there (and into `db`);
/// returns the size and root `veche restore` reports.
fn restore(from_dir: &Path, to: &Path, db: &TestDb, backup: &Path) -> (u64, Hash) {
    std::fs::create_dir_all(to).unwrap();
    for name in SECRETS {
        let src = from_dir.join(name);
        if src.exists() {
            std::fs::copy(&src, to.join(name)).unwrap();
        }
    }
    let out = veche_command(to, db)
        .arg("restore")
        .arg("--from")
        .arg(backup)
        .output()
        .unwrap();
    assert!(out.status.success(), "restore failed: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("restored log size "))
        .unwrap_or_else(|| panic!("no summary: {stdout}"));
    let (size, rest) = line.split_once(", root ").unwrap();
    let root = rest.split(';').next().unwrap();
    assert!(
        !stdout.contains("The log key is not in"),
        "the restore did not check the checkpoint's signature: {stdout}"
    );
    (size.parse().unwrap(), Hash::from_hex(root).unwrap())
}

fn consistency(app: &TestApp, old: (u64, Hash), new: &Checkpoint) {
    let p = app
        .get(&format!(
            "/api/v1/log/proof/consistency?from={}&to={}",
            old.0, new.size
        ))
        .json();
    let proof: Vec<Hash> = p["consistency_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect();
    veche_log::proof::verify_consistency(old.0, new.size, &old.1, &new.root, &proof)
        .unwrap_or_else(|e| panic!("size {} is not a prefix of size {}: {e}", old.0, new.size));
}

fn restore_drill(db: TestDb) {
    let backend = backend_of(&db);
    if backend == Backend::Postgres
        && std::process::Command::new("pg_dump")
            .arg("--version")
            .output()
            .is_err()
    {
        skip("restore drill on PostgreSQL: pg_dump is not installed (postgresql-client)");
        return;
    }
    let dir = data_dir();
    let work = data_dir();
    let app = TestApp::start(dir.path(), &db);
    for k in 0..40 {
        app.add_jurisdiction(&format!("before-{k}"), 1_000 + k);
    }

    // Online: a backup taken while appends go on holds a consistent prefix.
    let online = work.path().join("online.backup");
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            for k in 0..60 {
                app.add_jurisdiction(&format!("during-{k}"), 2_000 + k);
            }
        });
        backup(dir.path(), &db, &online);
        writer.join().unwrap();
    });
    let before = settle(&app, 100);
    assert_eq!(before.size, 100);
    // An observer's view of the log before the disaster.
    let observer_state = work.path().join("observer.json");
    let verify = |app: &TestApp| {
        std::process::Command::new(crate::verify::verifier())
            .args(["checkpoint", "--log"])
            .arg(format!("{}/log", app.url))
            .args(["--vkey", &app.vkey, "--state"])
            .arg(&observer_state)
            .output()
            .unwrap()
    };
    let seen = verify(&app);
    assert!(seen.status.success(), "{}", text(&seen));

    let final_backup = work.path().join("final.backup");
    backup(dir.path(), &db, &final_backup);
    // A backup never overwrites.
    let again = veche_command(dir.path(), &db)
        .arg("backup")
        .arg("--to")
        .arg(&final_backup)
        .output()
        .unwrap();
    assert!(!again.status.success(), "{}", text(&again));

    // The online backup restores (into its own directory and database) to
    // a tree the running node proves is a prefix of its log.
    let online_dir = work.path().join("restored-online");
    let online_db = TestDb::new(backend, "restore drill (online)").unwrap();
    let (size, root) = restore(dir.path(), &online_dir, &online_db, &online);
    assert!(
        (40..=100).contains(&size),
        "the online backup holds {size} entries"
    );
    consistency(&app, (size, root), &before);
    let vkey = app.vkey.clone();
    app.stop();

    // A second restore into the same place is refused, not merged.
    let twice = veche_command(&online_dir, &online_db)
        .arg("restore")
        .arg("--from")
        .arg(&online)
        .output()
        .unwrap();
    assert!(!twice.status.success(), "{}", text(&twice));

    // The drill: a new node on the final backup serves the same checkpoint.
    let new_dir = work.path().join("restored");
    let new_db = TestDb::new(backend, "restore drill").unwrap();
    let (size, root) = restore(dir.path(), &new_dir, &new_db, &final_backup);
    assert_eq!((size, root), (before.size, before.root));
    let node = TestApp::start(&new_dir, &new_db);
    assert_eq!(node.vkey, vkey, "the restored node signs with another key");
    let after = checkpoint_of(&node);
    assert_eq!((after.size, after.root), (before.size, before.root));
    assert_eq!(
        node.get("/api/v1/jurisdictions/before-7").json()["current"]["population"],
        1_007
    );

    // It goes on appending, consistently with what observers saw before.
    node.add_jurisdiction("after-restore", 7);
    let grown = settle(&node, before.size + 1);
    consistency(&node, (before.size, before.root), &grown);
    let seen = verify(&node);
    assert!(
        seen.status.success(),
        "an observer of the old node rejects the restored one: {}",
        text(&seen)
    );
    node.stop();
}

both_backends!(restore_drill, super::restore_drill);
