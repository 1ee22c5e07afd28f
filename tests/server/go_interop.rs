//! The log as an independent implementation sees it: Go's
//! golang.org/x/mod/sumdb/note and sumdb/tlog (Debian packages golang-go and
//! golang-golang-x-mod-dev) verify the checkpoint, every tile and every
//! entry of a live server and of an exported mirror.

use std::path::Path;
use std::process::Command;

use crate::common::*;

const GOPATH: &str = "/usr/share/gocode";

pub(crate) fn go_available() -> bool {
    Path::new(&format!("{GOPATH}/src/golang.org/x/mod/sumdb/tlog")).exists()
        && Command::new("go")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
}

pub(crate) fn run_go(prefix: &str, vkey: &str, gocache: &Path) -> String {
    let (ok, stdout, stderr) = try_go(prefix, vkey, gocache);
    assert!(
        ok,
        "Go's sumdb packages rejected the log at {prefix}:\n{stdout}\n{stderr}"
    );
    stdout
}

fn try_go(prefix: &str, vkey: &str, gocache: &Path) -> (bool, String, String) {
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/interop.go");
    let out = Command::new("go")
        .arg("run")
        .arg(&program)
        .args([prefix, vkey, ORIGIN])
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOCACHE", gocache)
        .env("GOFLAGS", "")
        .output()
        .expect("run go");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn go_sumdb_note_and_tlog_accept_the_log() {
    if !go_available() {
        assert!(
            std::env::var_os("VECHE_TEST_GO").is_none(),
            "VECHE_TEST_GO is set but go or {GOPATH}/src/golang.org/x/mod is missing"
        );
        println!(
            "skipped: Go interop: install golang-go and golang-golang-x-mod-dev (VECHE_TEST_GO=1 makes this mandatory)"
        );
        return;
    }
    let db = TestDb::new(Backend::Sqlite, "go interop").unwrap();
    let dir = data_dir();
    let gocache = data_dir();
    let app = TestApp::start(dir.path(), &db);
    // 600 entries: two full level-0 tiles, a partial one, and level 1.
    std::thread::scope(|s| {
        for t in 0..10 {
            let app = &app;
            s.spawn(move || {
                for k in 0..60 {
                    app.add_jurisdiction(&format!("j-{t}-{k}"), 1 + k);
                }
            });
        }
    });
    let size = loop {
        let size = app.get("/api/v1/log").json()["size"].as_u64().unwrap();
        if size == 600 {
            break size;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let out = run_go(&format!("{}/log", app.url), &app.vkey, gocache.path());
    assert!(out.contains(&format!("size={size}")), "{out}");

    let mirror = data_dir();
    let export = veche_command(dir.path(), &db)
        .args(["log", "export"])
        .arg(mirror.path())
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let out = run_go(mirror.path().to_str().unwrap(), &app.vkey, gocache.path());
    assert!(out.contains("entries=600"), "{out}");

    // The check can fail: one changed byte in a tile or a bundle is caught.
    for path in ["tile/0/001", "tile/entries/002.p/88"] {
        let file = mirror.path().join(path);
        let original = std::fs::read(&file).unwrap();
        let mut changed = original.clone();
        changed[original.len() / 2] ^= 1;
        std::fs::write(&file, &changed).unwrap();
        let (ok, _, stderr) = try_go(mirror.path().to_str().unwrap(), &app.vkey, gocache.path());
        assert!(
            !ok && stderr.contains("FAIL"),
            "Go accepted a changed {path}"
        );
        std::fs::write(&file, &original).unwrap();
    }
}
