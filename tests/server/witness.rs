//! Witness cosigning end to end: the server with one live witness (the
//! `veche-verify` witness, in process on 127.0.0.1) and one that is down.
//! The published checkpoint carries the live witness's cosignature, keeps
//! carrying a fresh one as the log grows (consistency proofs from the stored
//! tiles), and `veche-verify --witness … --quorum K` counts it.

use std::process::Command;
use std::time::{Duration, Instant};

use veche_log::checkpoint::{LogSigner, verify_checkpoint};
use veche_log::cosignature::{WitnessVerifier, verify_cosigned_checkpoint};
use veche_verify::witness::{Witness, WitnessConfig};

use crate::both_backends;
use crate::common::*;
use crate::verify::verifier;

const WITNESS: &str = "witness.test/w1";

/// Waits until `/log/checkpoint` has at least `size` entries and a valid
/// cosignature by `witness` over exactly its body; returns the note.
fn cosigned_checkpoint(
    app: &TestApp,
    log_vkey: &str,
    witness: &WitnessVerifier,
    size: u64,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = app.get("/log/checkpoint");
        if r.status == 200 {
            let note = r.text();
            let got = verify_cosigned_checkpoint(
                note.as_bytes(),
                log_vkey,
                std::slice::from_ref(witness),
            )
            .unwrap_or_else(|e| panic!("{e}: {note}"));
            if got.checkpoint.size >= size && got.witness_count() == 1 {
                return note;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no cosigned checkpoint of size {size}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn served_with_a_witness(db: TestDb) {
    let dir = data_dir();
    let work = data_dir();
    let (log, skey) = LogSigner::from_seed(ORIGIN, &[11; 32]).unwrap();
    let witness = Witness::start(&WitnessConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        state_dir: work.path().join("witness"),
        name: Some(WITNESS.into()),
        log_vkeys: vec![log.vkey()],
        threads: 2,
    })
    .unwrap();
    let w_vkey = witness.vkey().to_string();
    // A witness nobody answers for: a port that was free a moment ago.
    let down_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = veche_log::cosignature::WitnessSigner::from_seed("witness.test/down", &[12; 32])
        .unwrap()
        .0
        .vkey();
    let live_arg = format!("name={WITNESS},vkey={w_vkey},url=http://{}", witness.addr());
    let down_arg = format!("name=witness.test/down,vkey={down},url=http://127.0.0.1:{down_port}");
    let app = TestApp::start_with(
        dir.path(),
        &db,
        Some(&skey),
        &["--witness", &live_arg, "--witness", &down_arg],
        None,
    );
    assert_eq!(app.vkey, log.vkey());
    let wv = WitnessVerifier::new(&w_vkey).unwrap();

    // The first checkpoint is cosigned, and the down witness held nothing up.
    app.add_jurisdiction("w-0", 100);
    let note = cosigned_checkpoint(&app, &app.vkey, &wv, 1);
    // A plain signed-note verifier (the log key only) still accepts it.
    assert!(verify_checkpoint(note.as_bytes(), &app.vkey).is_ok());
    assert!(!note.contains("witness.test/down"), "{note}");

    // The log grows: the witness is sent a consistency proof and cosigns the
    // bigger checkpoint; the served note only carries lines over its body.
    for k in 1..6 {
        app.add_jurisdiction(&format!("w-{k}"), 100 + k);
    }
    let note = cosigned_checkpoint(&app, &app.vkey, &wv, 6);
    assert_eq!(note.matches("— witness.test/w1 ").count(), 1, "{note}");

    // An independent signed-note verifier that knows only the log's key
    // (Go's sumdb/note, then sumdb/tlog over every tile) accepts the
    // cosigned checkpoint: it ignores the witness lines.
    if crate::go_interop::go_available() {
        let gocache = data_dir();
        let out = crate::go_interop::run_go(&format!("{}/log", app.url), &app.vkey, gocache.path());
        assert!(out.contains("size="), "{out}");
    } else {
        assert!(
            std::env::var_os("VECHE_TEST_GO").is_none(),
            "VECHE_TEST_GO is set but go is missing"
        );
        println!(
            "skipped: Go's sumdb/note on the cosigned checkpoint (install golang-go and golang-golang-x-mod-dev)"
        );
    }

    // The metrics show each witness's cosignature lag: none for the live
    // one, growing for the one that is down.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let metrics = app.get("/metrics").text();
        let lag = |w: &str| {
            metrics
                .lines()
                .find(|l| {
                    l.starts_with("veche_witness_cosignature_lag_seconds{")
                        && l.contains(&format!("witness=\"{w}\""))
                })
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<f64>().ok())
        };
        if lag(WITNESS) == Some(0.0) && lag("witness.test/down").is_some_and(|s| s > 0.0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{metrics}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // veche-verify counts the cosignatures against --quorum.
    let state = work.path().join("state.json");
    let run = |extra: &[&str]| {
        let out = Command::new(verifier())
            .args(["checkpoint", "--log", &format!("{}/log", app.url)])
            .args(["--vkey", &app.vkey, "--state"])
            .arg(&state)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, text) = run(&["--witness", &w_vkey, "--quorum", "1"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("cosigned by 1 trusted witness(es): witness.test/w1"),
        "{text}"
    );
    let (code, text) = run(&["--witness", &w_vkey, "--witness", &down, "--quorum", "2"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("cosigned by 1 of the 2 witnesses required"),
        "{text}"
    );
    witness.stop();
}

both_backends!(
    witness_cosigns_the_published_checkpoint,
    super::served_with_a_witness
);

#[test]
fn bad_witness_options_are_refused_at_start() {
    let dir = data_dir();
    let out = Command::new(bin())
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--witness",
            "name=x,url=http://127.0.0.1:1",
        ])
        .env_remove("VECHE_WITNESSES")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("name=…,vkey=…,url=…"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
