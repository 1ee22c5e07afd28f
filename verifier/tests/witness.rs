//! `veche-verify witness`: the C2SP tlog-witness `add-checkpoint` protocol
//! over HTTP, against the real binary on 127.0.0.1 with a temporary state
//! directory.

mod common;

use common::*;
use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use veche_log::cosignature::{
    AddCheckpoint, Cosignature, WitnessVerifier, verify_cosigned_checkpoint,
};
use veche_log::{Checkpoint, LogSigner, MemoryTree, leaf_hash, verify_checkpoint};

const WITNESS: &str = "witness.example/w1";

/// The witness process, killed when dropped.
struct RunningWitness {
    child: Child,
    url: String,
    vkey: String,
}

impl Drop for RunningWitness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(state: &Path, name: Option<&str>) -> RunningWitness {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_veche-verify"));
    cmd.args(["witness", "--listen", "127.0.0.1:0", "--log-vkey"])
        .arg(vkey())
        .arg("--state")
        .arg(state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(n) = name {
        cmd.args(["--name", n]);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut url, mut vkey) = (None, None);
    while url.is_none() || vkey.is_none() {
        assert!(Instant::now() < deadline, "witness did not start");
        let line = lines.next().expect("witness exited early").unwrap();
        if let Some(k) = line.strip_prefix("witness verifier key: ") {
            vkey = Some(k.to_string());
        }
        if let Some(u) = line.strip_prefix("listening on ") {
            url = Some(u.to_string());
        }
    }
    std::thread::spawn(move || for _ in lines {});
    RunningWitness {
        child,
        url: url.unwrap(),
        vkey: vkey.unwrap(),
    }
}

fn tree(n: u64, salt: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push(leaf_hash(&(i + salt).to_be_bytes()));
    }
    t
}

fn request(t: &MemoryTree, old: u64, new: u64, signer: &LogSigner) -> AddCheckpoint {
    let cp = Checkpoint::new(signer.name(), new, t.root_at(new).unwrap());
    AddCheckpoint {
        old_size: old,
        proof: if old == 0 {
            Vec::new()
        } else {
            t.consistency_proof(old, new).unwrap()
        },
        note: signer.sign(&cp),
    }
}

/// Status, content type and body of a POST of `body`.
fn post(url: &str, body: &str) -> (u16, String, String) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent();
    let mut r = agent.post(url).send(body).unwrap();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        r.status().as_u16(),
        ct,
        r.body_mut().read_to_string().unwrap(),
    )
}

fn add(w: &RunningWitness, req: &AddCheckpoint) -> (u16, String, String) {
    post(&w.url, &req.to_body())
}

/// The cosignature in a 200 answer, checked against the note's body.
fn cosignature(w: &RunningWitness, req: &AddCheckpoint, answer: &str) -> Cosignature {
    let v = WitnessVerifier::new(&w.vkey).unwrap();
    let cosigned = format!("{}{answer}", req.note);
    let got = verify_cosigned_checkpoint(cosigned.as_bytes(), &vkey(), &[v]).unwrap();
    assert_eq!(got.witness_count(), 1, "{answer}");
    // A plain signed-note verifier (the log key only) still accepts it.
    assert!(verify_checkpoint(cosigned.as_bytes(), &vkey()).is_ok());
    got.cosignatures[0].clone()
}

#[test]
fn witness_cosigns_consistent_checkpoints_refuses_the_rest_and_keeps_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("witness");
    let log = signer();
    let t = tree(40, 0);
    let forked = tree(40, 1000);

    let w = start(&state, Some(WITNESS));
    assert!(w.vkey.starts_with("witness.example/w1+"));
    let key_mode = std::fs::metadata(state.join("witness.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);

    // First contact from size 0, then growth with a proof, then the same again.
    for (old, new) in [(0, 5), (5, 13), (13, 13)] {
        let req = request(&t, old, new, &log);
        let (status, _, body) = add(&w, &req);
        assert_eq!(status, 200, "{old} → {new}: {body}");
        let cs = cosignature(&w, &req, &body);
        assert_eq!(cs.name, WITNESS);
    }

    // A stale old size: 409 with the size the witness holds.
    let (status, ct, body) = add(&w, &request(&t, 5, 20, &log));
    assert_eq!(
        (status, ct.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "13\n")
    );
    // A fork: same size, other root.
    let (status, _, body) = add(&w, &request(&forked, 13, 13, &log));
    assert_eq!((status, body.as_str()), (409, "13\n"));
    // A bigger checkpoint that does not extend the cosigned one: 422.
    let mut inconsistent = request(&forked, 13, 20, &log);
    inconsistent.proof = t.consistency_proof(13, 20).unwrap();
    assert_eq!(add(&w, &inconsistent).0, 422);
    let mut tampered = request(&t, 13, 20, &log);
    tampered.proof[0] = leaf_hash(b"tampered");
    assert_eq!(add(&w, &tampered).0, 422);
    // Unknown origin: 404. A key the witness does not trust for it: 403.
    let stranger = LogSigner::from_seed("other.example/log", &[3; 32])
        .unwrap()
        .0;
    assert_eq!(add(&w, &request(&t, 0, 5, &stranger)).0, 404);
    assert_eq!(add(&w, &request(&t, 13, 20, &other_signer())).0, 403);
    // Malformed requests: 400; an old size beyond the checkpoint: 400.
    assert_eq!(post(&w.url, "old 01\n\nx\n").0, 400);
    assert_eq!(post(&w.url, "hello").0, 400);
    let mut beyond = request(&t, 13, 13, &log);
    beyond.old_size = 14;
    assert_eq!(add(&w, &beyond).0, 400);
    // Only POST /add-checkpoint exists.
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let get = agent.get(&w.url).call().unwrap();
    assert_eq!(get.status().as_u16(), 405);
    let other = w.url.replace("/add-checkpoint", "/checkpoint");
    assert_eq!(agent.get(&other).call().unwrap().status().as_u16(), 404);

    // Refusals changed nothing: 13 → 20 still works.
    let req = request(&t, 13, 20, &log);
    let (status, _, body) = add(&w, &req);
    assert_eq!(status, 200, "{body}");
    let vkey_before = w.vkey.clone();
    drop(w);

    // A restart keeps the key and the state (no --name needed any more).
    let w = start(&state, None);
    assert_eq!(w.vkey, vkey_before);
    let (status, _, body) = add(&w, &request(&t, 0, 30, &log));
    assert_eq!((status, body.as_str()), (409, "20\n"));
    let req = request(&t, 20, 30, &log);
    let (status, _, body) = add(&w, &req);
    assert_eq!(status, 200, "{body}");
    cosignature(&w, &req, &body);
    drop(w);

    // The key belongs to one name.
    let out = Command::new(env!("CARGO_BIN_EXE_veche-verify"))
        .args(["witness", "--listen", "127.0.0.1:0", "--log-vkey"])
        .arg(vkey())
        .arg("--state")
        .arg(&state)
        .args(["--name", "another.example/w"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("witness.example/w1"));
}

#[test]
fn racing_submissions_never_roll_the_witness_back() {
    let dir = tempfile::tempdir().unwrap();
    let w = start(&dir.path().join("w"), Some(WITNESS));
    let log = signer();
    let t = tree(64, 0);
    assert_eq!(add(&w, &request(&t, 0, 8, &log)).0, 200);
    // Many clients race from 8 to different sizes: exactly one wins, and
    // every other gets 409 with the winner's size.
    let results: Vec<(u64, u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (9..=24)
            .map(|new| {
                let (t, log, w) = (&t, &log, &w);
                s.spawn(move || {
                    let (status, _, body) = add(w, &request(t, 8, new, log));
                    (new, status, body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<u64> = results.iter().filter(|r| r.1 == 200).map(|r| r.0).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (_, status, body) in results.iter().filter(|r| r.1 != 200) {
        assert_eq!((*status, body.clone()), (409, format!("{}\n", winners[0])));
    }
}

#[test]
fn quorum_of_cosignatures_on_a_mirror() {
    // The mirror's checkpoint, cosigned by one witness, checked by the CLI.
    let (mirror_dir, cp) = mirror(10);
    let dir = tempfile::tempdir().unwrap();
    let w = start(&dir.path().join("w"), Some(WITNESS));
    let note = std::fs::read_to_string(mirror_dir.path().join("checkpoint")).unwrap();
    let req = AddCheckpoint {
        old_size: 0,
        proof: Vec::new(),
        note: note.clone(),
    };
    let (status, _, line) = add(&w, &req);
    assert_eq!(status, 200);
    std::fs::write(
        mirror_dir.path().join("checkpoint"),
        format!("{note}{line}"),
    )
    .unwrap();
    let other = veche_log::cosignature::WitnessSigner::from_seed("w2.example", &[6; 32])
        .unwrap()
        .0
        .vkey();
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_veche-verify"))
            .arg("checkpoint")
            .arg("--log")
            .arg(mirror_dir.path())
            .args(["--vkey", &vkey(), "--state"])
            .arg(dir.path().join("state.json"))
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, text) = run(&["--witness", &w.vkey, "--quorum", "1"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("cosigned by 1 trusted witness(es): witness.example/w1"),
        "{text}"
    );
    assert!(text.contains(&format!("size {}", cp.size)), "{text}");
    let (code, text) = run(&["--witness", &w.vkey, "--witness", &other, "--quorum", "2"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("cosigned by 1 of the 2 witnesses required"),
        "{text}"
    );
    // A quorum the given witnesses could never meet is a usage error.
    let (code, text) = run(&["--witness", &w.vkey, "--quorum", "2"]);
    assert_eq!(code, 2, "{text}");
    // Without witnesses the cosignature line is ignored.
    let (code, text) = run(&[]);
    assert_eq!(code, 0, "{text}");
    // A forged line by a trusted witness fails verification.
    let mut forged = Cosignature::parse_line(&line).unwrap();
    forged.timestamp += 1;
    std::fs::write(
        mirror_dir.path().join("checkpoint"),
        format!("{note}{}", forged.to_line()),
    )
    .unwrap();
    let (code, text) = run(&["--witness", &w.vkey, "--quorum", "1"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("does not verify"), "{text}");
}
