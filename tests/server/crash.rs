//! SIGKILL while appends stream in: after a restart, every acknowledged
//! append is in the log at the index it was acknowledged with, and every
//! checkpoint published before the crash is consistent with the new one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use veche_log::Hash;
use veche_log::checkpoint::{Checkpoint, verify_checkpoint};

use crate::both_backends;
use crate::common::*;

fn hashes(v: &serde_json::Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect()
}

fn sigkill_loses_no_acknowledged_append(db: TestDb) {
    let dir = data_dir();
    let app = TestApp::start(dir.path(), &db);
    let url = app.url.clone();
    let vkey = app.vkey.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(u64, Hash)>>> = Arc::default();
    let seen: Arc<Mutex<Vec<Checkpoint>>> = Arc::default();

    let mut threads = Vec::new();
    for t in 0..8 {
        let (url, stop, acked) = (url.clone(), stop.clone(), acked.clone());
        threads.push(std::thread::spawn(move || {
            let agent = agent();
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let r = agent
                    .post(format!("{url}/api/v1/jurisdictions"))
                    .header("Authorization", format!("Bearer {OPERATOR_TOKEN}"))
                    .send_json(jurisdiction_json(&format!("w{t}-{n}"), n));
                match r {
                    Ok(mut resp) if resp.status() == 201 => {
                        let j: serde_json::Value = resp.body_mut().read_json().unwrap();
                        let leaf = Hash::from_base64(j["leaf_hash"].as_str().unwrap()).unwrap();
                        acked
                            .lock()
                            .unwrap()
                            .push((j["index"].as_u64().unwrap(), leaf));
                    }
                    Ok(resp) => panic!("unexpected status {}", resp.status()),
                    Err(_) => break, // the server is gone
                }
            }
        }));
    }
    {
        let (url, stop, seen, vkey) = (url.clone(), stop.clone(), seen.clone(), vkey.clone());
        threads.push(std::thread::spawn(move || {
            let agent = agent();
            while !stop.load(Ordering::SeqCst) {
                match agent.get(format!("{url}/log/checkpoint")).call() {
                    Ok(mut r) if r.status() == 200 => {
                        let body = r.body_mut().read_to_vec().unwrap();
                        seen.lock()
                            .unwrap()
                            .push(verify_checkpoint(&body, &vkey).unwrap());
                    }
                    _ => break,
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 150 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    app.kill(); // SIGKILL mid-stream
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let seen = seen.lock().unwrap().clone();
    assert!(
        acked.len() >= 150,
        "only {} appends acknowledged",
        acked.len()
    );
    let mut indices: Vec<u64> = acked.iter().map(|a| a.0).collect();
    indices.sort_unstable();
    indices.dedup();
    assert_eq!(
        indices.len(),
        acked.len(),
        "an index was acknowledged twice"
    );

    let app = TestApp::start(dir.path(), &db);
    let cp = loop {
        let cp = verify_checkpoint(&app.get("/log/checkpoint").body, &app.vkey).unwrap();
        let committed = app.get("/healthz").json()["size"].as_u64().unwrap();
        if cp.size >= committed && cp.size > 0 {
            break cp;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(cp.size >= acked.len() as u64);
    for (index, leaf) in &acked {
        let p = app
            .get(&format!(
                "/api/v1/log/proof/inclusion?index={index}&size={}",
                cp.size
            ))
            .json();
        assert_eq!(
            p["leaf_hash"].as_str().unwrap(),
            leaf.to_base64(),
            "entry {index} changed or lost"
        );
        veche_log::proof::verify_inclusion(
            leaf,
            *index,
            cp.size,
            &hashes(&p["inclusion_proof"]),
            &cp.root,
        )
        .unwrap_or_else(|e| panic!("entry {index}: {e}"));
    }
    assert!(!seen.is_empty());
    for old in &seen {
        let p = app
            .get(&format!(
                "/api/v1/log/proof/consistency?from={}&to={}",
                old.size, cp.size
            ))
            .json();
        veche_log::proof::verify_consistency(
            old.size,
            cp.size,
            &old.root,
            &cp.root,
            &hashes(&p["consistency_proof"]),
        )
        .unwrap_or_else(|e| {
            panic!(
                "checkpoint {} not consistent with {}: {e}",
                old.size, cp.size
            )
        });
    }
    // The log goes on after the crash.
    let next = app.add_jurisdiction("after-crash", 1);
    assert_eq!(next["index"].as_u64().unwrap(), cp.size);
}
both_backends!(
    sigkill_loses_no_acknowledged_append,
    super::sigkill_loses_no_acknowledged_append
);
