//! Three server nodes on one PostgreSQL under a stream of appends: SIGKILL
//! the sequencer, another node takes over within 5 s, the appends go on
//! through the survivors, and in the end every acknowledged append is in
//! the log exactly once, at the index it was acknowledged with, and every
//! checkpoint any node published is consistent with the final one.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use veche_log::Hash;
use veche_log::checkpoint::{Checkpoint, verify_checkpoint};

use crate::common::*;

const NODES: usize = 3;
const WRITERS: usize = 6;
/// Acknowledged appends before the kill, and in all.
const BEFORE_KILL: usize = 120;
const IN_ALL: usize = 300;
const TAKEOVER_BOUND: Duration = Duration::from_secs(5);

/// One acknowledged append: the jurisdiction id it declared (unique per
/// request), and where the node said it went.
#[derive(Clone, Debug)]
struct Acked {
    id: String,
    index: u64,
    leaf: Hash,
}

fn hashes(v: &serde_json::Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect()
}

/// Whether the node at `url` says it is the sequencer; `None` if it does
/// not answer.
fn is_sequencer(url: &str) -> Option<bool> {
    let mut r = agent()
        .get(format!("{url}/api/v1/log"))
        .call()
        .ok()
        .filter(|r| r.status() == 200)?;
    let j: serde_json::Value = r.body_mut().read_json().ok()?;
    Some(
        j["sequencer"]
            .as_bool()
            .expect("GET /api/v1/log has `sequencer`"),
    )
}

/// The nodes that say they are the sequencer, waiting (up to `bound`) until
/// exactly one among `alive` does.
fn the_sequencer(urls: &[String], alive: &[bool], bound: Duration) -> Option<usize> {
    let deadline = Instant::now() + bound;
    loop {
        let leaders: Vec<usize> = (0..urls.len())
            .filter(|&i| alive[i] && is_sequencer(&urls[i]) == Some(true))
            .collect();
        if leaders.len() == 1 {
            return Some(leaders[0]);
        }
        assert!(leaders.len() <= 1, "two sequencers at once: {leaders:?}");
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sequencer_killed_another_takes_over_and_nothing_is_lost() {
    let Some(db) = TestDb::new(Backend::Postgres, "failover") else {
        return;
    };
    let started = Instant::now();
    // One data directory: the nodes share the log key and the other secrets.
    let dir = data_dir();
    let mut apps: Vec<Option<TestApp>> = Vec::new();
    for _ in 0..NODES {
        apps.push(Some(TestApp::start(dir.path(), &db)));
    }
    let urls: Vec<String> = apps
        .iter()
        .map(|a| a.as_ref().unwrap().url.clone())
        .collect();
    let vkey = apps[0].as_ref().unwrap().vkey.clone();
    assert!(apps.iter().all(|a| a.as_ref().unwrap().vkey == vkey));
    let first = the_sequencer(&urls, &[true; NODES], Duration::from_secs(10))
        .expect("one node becomes the sequencer");

    let alive: Arc<Vec<AtomicBool>> = Arc::new((0..NODES).map(|_| AtomicBool::new(true)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen: Arc<Mutex<Vec<Checkpoint>>> = Arc::default();
    let per_node: Arc<Vec<AtomicUsize>> =
        Arc::new((0..NODES).map(|_| AtomicUsize::new(0)).collect());

    let mut threads = Vec::new();
    for t in 0..WRITERS {
        let (urls, alive, stop, acked, failures, per_node) = (
            urls.clone(),
            alive.clone(),
            stop.clone(),
            acked.clone(),
            failures.clone(),
            per_node.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let agent = agent();
            let mut n = 0usize;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                // Spread over all nodes; a killed node is skipped once known.
                let Some(node) = (0..NODES)
                    .map(|k| (t + n + k) % NODES)
                    .find(|&k| alive[k].load(Ordering::SeqCst))
                else {
                    break;
                };
                let id = format!("w{t}-{n}");
                let r = agent
                    .post(format!("{}/api/v1/jurisdictions", urls[node]))
                    .header("Authorization", format!("Bearer {OPERATOR_TOKEN}"))
                    .send_json(jurisdiction_json(&id, n as u64 + 1));
                match r {
                    Ok(mut resp) if resp.status() == 201 => {
                        let j: serde_json::Value = resp.body_mut().read_json().unwrap();
                        per_node[node].fetch_add(1, Ordering::SeqCst);
                        acked.lock().unwrap().push(Acked {
                            id,
                            index: j["index"].as_u64().unwrap(),
                            leaf: Hash::from_base64(j["leaf_hash"].as_str().unwrap()).unwrap(),
                        });
                    }
                    Ok(mut resp) => {
                        let body = resp.body_mut().read_to_string().unwrap_or_default();
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("node {node}: {} {body}", resp.status()));
                    }
                    // Only the killed node may drop a request.
                    Err(e) if !alive[node].load(Ordering::SeqCst) => {
                        let _ = e;
                    }
                    Err(e) => failures.lock().unwrap().push(format!("node {node}: {e}")),
                }
            }
        }));
    }
    {
        let (urls, alive, stop, seen, vkey) = (
            urls.clone(),
            alive.clone(),
            stop.clone(),
            seen.clone(),
            vkey.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let agent = agent();
            let mut k = 0;
            while !stop.load(Ordering::SeqCst) {
                k = (k + 1) % NODES;
                if !alive[k].load(Ordering::SeqCst) {
                    continue;
                }
                if let Ok(mut r) = agent.get(format!("{}/log/checkpoint", urls[k])).call()
                    && r.status() == 200
                {
                    let body = r.body_mut().read_to_vec().unwrap();
                    seen.lock()
                        .unwrap()
                        .push(verify_checkpoint(&body, &vkey).expect("a valid checkpoint"));
                }
                std::thread::sleep(Duration::from_millis(15));
            }
        }));
    }

    let wait_for = |count: usize, bound: Duration| {
        let deadline = Instant::now() + bound;
        while acked.lock().unwrap().len() < count && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for(BEFORE_KILL, Duration::from_secs(20));
    let before_kill = acked.lock().unwrap().len();
    assert!(
        before_kill >= BEFORE_KILL,
        "only {before_kill} appends acknowledged before the kill"
    );

    // SIGKILL the sequencer mid-stream.
    let leader = the_sequencer(&urls, &[true; NODES], Duration::from_secs(2))
        .expect("a sequencer before the kill");
    assert_eq!(leader, first, "the sequencer changed with nobody failing");
    alive[leader].store(false, Ordering::SeqCst);
    let killed_at = Instant::now();
    apps[leader].take().unwrap().kill();
    let survivors: Vec<bool> = (0..NODES).map(|i| i != leader).collect();
    let next = the_sequencer(&urls, &survivors, TAKEOVER_BOUND)
        .unwrap_or_else(|| panic!("no node took over within {TAKEOVER_BOUND:?}"));
    let takeover = killed_at.elapsed();
    // An append made after the kill, through a surviving node, is
    // acknowledged: the new sequencer integrates.
    let follower = (0..NODES).find(|&i| i != leader && i != next).unwrap();
    let r = apps[follower].as_ref().unwrap().post_json(
        "/api/v1/jurisdictions",
        &jurisdiction_json("after-kill", 1),
        Some(OPERATOR_TOKEN),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let first_append_after = killed_at.elapsed();
    assert!(first_append_after < TAKEOVER_BOUND + Duration::from_secs(1));
    acked.lock().unwrap().push(Acked {
        id: "after-kill".into(),
        index: r.json()["index"].as_u64().unwrap(),
        leaf: Hash::from_base64(r.json()["leaf_hash"].as_str().unwrap()).unwrap(),
    });

    wait_for(IN_ALL, Duration::from_secs(25));
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let failures = failures.lock().unwrap().clone();
    let seen = seen.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "appends failed on live nodes: {failures:?}"
    );
    assert!(
        acked.len() >= IN_ALL,
        "only {} appends acknowledged",
        acked.len()
    );
    for (i, n) in per_node.iter().enumerate() {
        assert!(
            n.load(Ordering::SeqCst) > 0,
            "node {i} acknowledged nothing"
        );
    }

    // The final checkpoint, from the new sequencer, once it covers the log.
    let app = apps[next].as_ref().unwrap();
    let last = acked.iter().map(|a| a.index).max().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let cp = loop {
        let cp = verify_checkpoint(&app.get("/log/checkpoint").body, &vkey).unwrap();
        if cp.size > last {
            break cp;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint covers entry {last}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };

    // The whole log, in order.
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    while (entries.len() as u64) < cp.size {
        let page = app
            .get(&format!(
                "/api/v1/log/entries?start={}&limit=100",
                entries.len()
            ))
            .json();
        let list = page["entries"].as_array().unwrap();
        assert!(
            !list.is_empty(),
            "entries page at {} is empty",
            entries.len()
        );
        for e in list {
            entries.push(
                base64::engine::general_purpose::STANDARD
                    .decode(e["bytes"].as_str().unwrap())
                    .unwrap(),
            );
            ids.push(e["entry"]["id"].as_str().unwrap_or_default().to_string());
        }
    }
    entries.truncate(cp.size as usize);
    ids.truncate(cp.size as usize);
    let tree = veche_log::memory::MemoryTree::from_entries(entries.iter().map(|e| e.as_slice()));
    assert_eq!(
        tree.root(),
        cp.root,
        "the entries give the checkpoint's root"
    );

    // Exactly once: no request's entry is in the log twice (acknowledged or
    // not), and every acknowledged one is where it was acknowledged.
    let mut where_: HashMap<&str, u64> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        assert!(!id.is_empty(), "entry {i} is not a jurisdiction");
        if let Some(j) = where_.insert(id, i as u64) {
            panic!("`{id}` is in the log twice: at {j} and {i}");
        }
    }
    let mut indices = HashSet::new();
    for a in &acked {
        assert!(
            indices.insert(a.index),
            "index {} acknowledged twice",
            a.index
        );
        assert_eq!(
            where_.get(a.id.as_str()),
            Some(&a.index),
            "`{}` acknowledged at {} but not there",
            a.id,
            a.index
        );
        assert_eq!(veche_log::leaf_hash(&entries[a.index as usize]), a.leaf);
    }

    // Every checkpoint any node published is consistent with the final one.
    assert!(
        seen.iter().any(|c| c.size >= before_kill as u64),
        "no checkpoint seen from before the kill"
    );
    for old in &seen {
        assert_eq!(
            tree.root_at(old.size).unwrap(),
            old.root,
            "checkpoint {} is not a prefix of the final log",
            old.size
        );
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
    eprintln!(
        "failover: {} appends acknowledged ({before_kill} before the kill), {} checkpoints seen, \
         sequencer {leader} killed, node {next} sequencing after {takeover:?}, \
         first append acknowledged {first_append_after:?} after the kill, log size {}, run {:?}",
        acked.len(),
        seen.len(),
        cp.size,
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(90));
}
