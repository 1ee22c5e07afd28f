//! The `veche-verify` binary: exit codes, output, and logs served over HTTP.

mod common;

use common::*;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use veche_verify::mirror::sample_entry;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veche-verify"))
        .args(args)
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A minimal static HTTP server: serves `root/<path>` at `/log/<path>`,
/// 404 for anything else. Returns its base URL (without `/log`).
fn serve(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let root = root.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    return;
                }
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line) {
                        Ok(n) if n > 2 => continue,
                        _ => break,
                    }
                }
                let path = request.split(' ').nth(1).unwrap_or("");
                let body = path
                    .strip_prefix("/log/")
                    .filter(|p| !p.contains(".."))
                    .and_then(|p| std::fs::read(root.join(p)).ok());
                let (status, body) = match body {
                    Some(b) => ("200 OK", b),
                    None => ("404 Not Found", b"not found".to_vec()),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            });
        }
    });
    url
}

fn state_arg(d: &Path) -> String {
    d.join("state.json").to_str().unwrap().to_owned()
}

#[test]
fn audit_of_a_directory_mirror() {
    let (dir, cp) = mirror(600);
    let st = tempfile::tempdir().unwrap();
    let (log, key, state) = (dir.path().to_str().unwrap(), vkey(), state_arg(st.path()));
    let o = run(&[
        "audit", "--log", log, "--vkey", &key, "--state", &state, "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["origin"], ORIGIN);
    assert_eq!(v["size"], 600);
    assert_eq!(v["root"], cp.root.to_base64());
    assert_eq!(v["entries_by_kind"]["jurisdiction"], 600);
    assert_eq!(v["jurisdictions"].as_array().unwrap().len(), 600);
    assert_eq!(v["jurisdictions"][1]["id"], "region-001");

    // Human summary; the key from a file.
    let keyfile = st.path().join("log.vkey");
    std::fs::write(&keyfile, format!("{key}\n")).unwrap();
    let at_key = format!("@{}", keyfile.display());
    let o = run(&["audit", "--log", log, "--vkey", &at_key, "--state", &state]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.starts_with("OK: audited the log example.org/veche"),
        "{out}"
    );
    assert!(
        out.contains("consistent with the checkpoint seen before (size 600"),
        "{out}"
    );
    assert!(out.contains("region-599"), "{out}");

    // A changed tile: exit 1, JSON error.
    let tile = dir.path().join("tile/0/001");
    let mut data = std::fs::read(&tile).unwrap();
    data[40] ^= 1;
    std::fs::write(&tile, data).unwrap();
    let st2 = tempfile::tempdir().unwrap();
    let o = run(&[
        "audit",
        "--log",
        log,
        "--vkey",
        &key,
        "--state",
        &state_arg(st2.path()),
        "--json",
    ]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let err = v["error"].as_str().unwrap();
    assert!(
        err.contains("tile/0/001: hash at position 1 (leaf hash of entry 257"),
        "{err}"
    );
    assert!(text(&o.stderr).contains("VERIFICATION FAILED"));
}

#[test]
fn exit_code_2_when_the_check_cannot_be_done() {
    let (dir, _) = mirror(3);
    let st = tempfile::tempdir().unwrap();
    let state = state_arg(st.path());
    let log = dir.path().to_str().unwrap();
    let missing = dir.path().join("nope");
    for args in [
        vec![
            "audit",
            "--log",
            missing.to_str().unwrap(),
            "--vkey",
            &vkey(),
            "--state",
            &state,
        ],
        vec![
            "audit",
            "--log",
            log,
            "--vkey",
            "not-a-key",
            "--state",
            &state,
        ],
        vec![
            "audit",
            "--log",
            log,
            "--vkey",
            "@/nonexistent/key",
            "--state",
            &state,
        ],
        vec![
            "checkpoint",
            "--log",
            "http://127.0.0.1:9/log",
            "--vkey",
            &vkey(),
            "--state",
            &state,
        ],
        vec![
            "inclusion",
            "--log",
            log,
            "--vkey",
            &vkey(),
            "--receipt",
            "/nonexistent",
            "--state",
            &state,
        ],
        vec!["audit", "--log", log],
        vec!["frobnicate"],
    ] {
        let o = run(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", text(&o.stderr));
    }
    let o = run(&["--help"]);
    assert_eq!(code(&o), 0);
    let help = text(&o.stdout);
    assert!(
        help.contains("Exit codes:") && help.contains("could not check"),
        "{help}"
    );
}

#[test]
fn checkpoint_and_inclusion_over_http() {
    let (dir, _) = mirror(700);
    let base = serve(dir.path().to_path_buf());
    let st = tempfile::tempdir().unwrap();
    let state = state_arg(st.path());
    let key = vkey();

    // The bare host URL means <host>/log.
    let o = run(&[
        "checkpoint",
        "--log",
        &base,
        "--vkey",
        &key,
        "--state",
        &state,
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("first checkpoint seen"));

    let r = receipt(dir.path(), 42, sample_entry);
    let rfile = st.path().join("receipt.json");
    std::fs::write(&rfile, serde_json::to_string_pretty(&r).unwrap()).unwrap();
    let log = format!("{base}/log/");
    let o = run(&[
        "inclusion",
        "--log",
        &log,
        "--vkey",
        &key,
        "--receipt",
        rfile.to_str().unwrap(),
        "--state",
        &state,
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.starts_with("OK: entry 42 is in the log example.org/veche"),
        "{out}"
    );
    assert!(out.contains("\"id\": \"region-042\""), "{out}");

    let o = run(&["audit", "--log", &base, "--vkey", &key, "--state", &state]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));

    // A bad receipt: exit 1.
    let mut bad = r.clone();
    bad.index = 43;
    std::fs::write(&rfile, serde_json::to_string(&bad).unwrap()).unwrap();
    let o = run(&[
        "inclusion",
        "--log",
        &base,
        "--vkey",
        &key,
        "--receipt",
        rfile.to_str().unwrap(),
        "--state",
        &state,
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o.stderr));

    // A tile the log does not serve (404): the log is at fault, exit 1.
    std::fs::remove_file(dir.path().join("tile/entries/001")).unwrap();
    let o = run(&["audit", "--log", &base, "--vkey", &key, "--state", &state]);
    assert_eq!(code(&o), 1, "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("/log/tile/entries/001: missing"),
        "{}",
        text(&o.stderr)
    );

    // No checkpoint at all (wrong prefix): could not check, exit 2.
    let o = run(&[
        "checkpoint",
        "--log",
        &format!("{base}/elsewhere"),
        "--vkey",
        &key,
        "--state",
        &state,
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o.stderr));
}
