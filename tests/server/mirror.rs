//! `veche log export DIR --follow`: a static mirror kept in sync as the log
//! grows, served by a plain web server (`python3 -m http.server`) and
//! audited there by `veche-verify`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::*;

/// Kills a helper process however the test ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The process's stdout lines, on a channel.
fn lines(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for_line(rx: &mpsc::Receiver<String>, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if pred(&line) => return line,
            Ok(_) => {}
            Err(e) => panic!("no line {what}: {e}"),
        }
    }
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

fn wait_for_checkpoint(app: &TestApp, size: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while app.get("/api/v1/log").json()["size"].as_u64().unwrap() < size {
        assert!(
            std::time::Instant::now() < deadline,
            "log stuck below {size}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn follow_keeps_a_static_mirror_a_plain_web_server_serves() {
    let db = TestDb::new(Backend::Sqlite, "mirror follow").unwrap();
    let dir = data_dir();
    let work = data_dir();
    // Under `log/` of the web root: the mirror's URLs are then the node's.
    let site = work.path().join("site");
    let mirror = site.join("log");
    let app = TestApp::start(dir.path(), &db);
    fill(&app, "a", 20);
    wait_for_checkpoint(&app, 20);

    let mut follow = veche_command(dir.path(), &db)
        .args(["log", "export", "--follow", "--interval", "100ms"])
        .arg(&mirror)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = lines(&mut follow);
    let follow = Reaped(follow);
    wait_for_line(&out, "for size 20", |l| {
        l.starts_with("exported the log at size 20 ")
    });

    // The log grows past a full tile; the mirror follows.
    fill(&app, "b", 280);
    wait_for_checkpoint(&app, 300);
    wait_for_line(&out, "for size 300", |l| {
        l.starts_with("exported the log at size 300 ")
    });
    let checkpoint = std::fs::read(mirror.join("checkpoint")).unwrap();
    assert_eq!(checkpoint, app.get("/log/checkpoint").body);
    assert!(mirror.join("tile/0/000").is_file());
    assert!(mirror.join("tile/entries/000").is_file());
    assert!(mirror.join("tile/0/001.p/44").is_file());

    // SIGTERM ends it cleanly, leaving no temporary file behind.
    let mut follow = follow;
    let status = Command::new("kill")
        .args(["-TERM", &follow.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(follow.0.wait().unwrap().success());
    let mut stack = vec![mirror.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            assert!(
                !p.to_string_lossy().ends_with(".tmp"),
                "left behind: {}",
                p.display()
            );
            if p.is_dir() {
                stack.push(p);
            }
        }
    }

    // Served by a plain web server, the mirror audits like the node.
    let log = match Command::new("python3")
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(&site)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(mut server) => {
            let out = lines(&mut server);
            let server = Reaped(server);
            let line = wait_for_line(&out, "from http.server", |l| l.contains(" port "));
            let port: u16 = line
                .split(" port ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("no port in {line}"));
            Some((format!("http://127.0.0.1:{port}/log"), server))
        }
        Err(e) => {
            skip(&format!("serving the mirror over HTTP: python3: {e}"));
            None
        }
    };
    let source = log
        .as_ref()
        .map_or_else(|| mirror.to_string_lossy().into_owned(), |(u, _)| u.clone());
    let audit = Command::new(crate::verify::verifier())
        .args([
            "audit", "--json", "--log", &source, "--vkey", &app.vkey, "--state",
        ])
        .arg(work.path().join("state.json"))
        .output()
        .unwrap();
    assert!(
        audit.status.success(),
        "{}{}",
        String::from_utf8_lossy(&audit.stdout),
        String::from_utf8_lossy(&audit.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["size"], 300);
}
