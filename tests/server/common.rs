//! `spawn_app()`: the real `veche` binary on a random loopback port, with a
//! fresh data directory and a fresh database (SQLite, or PostgreSQL when
//! `VECHE_TEST_DATABASE_URL` is set).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const OPERATOR_TOKEN: &str = "test-operator-token-0123456789";
pub const ORIGIN: &str = "veche.test/log";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database for one test; a PostgreSQL one is dropped at the end.
pub struct TestDb {
    pub url: Option<String>,
    admin_url: Option<String>,
    name: String,
}

/// Prints `skipped: …` where it is seen: straight to stderr, past the test
/// harness's capture of `println!`.
pub fn skip(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

impl TestDb {
    /// `None` (after printing `skipped: …`) when PostgreSQL is asked for but
    /// `VECHE_TEST_DATABASE_URL` is unset.
    pub fn new(backend: Backend, test: &str) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self {
                url: None,
                admin_url: None,
                name: String::new(),
            }),
            Backend::Postgres => {
                let Some(admin) = std::env::var("VECHE_TEST_DATABASE_URL")
                    .ok()
                    .filter(|v| !v.is_empty())
                else {
                    skip(&format!(
                        "{test} on PostgreSQL: VECHE_TEST_DATABASE_URL is not set"
                    ));
                    return None;
                };
                let name = format!(
                    "veche_t_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .subsec_nanos()
                );
                block_on(async {
                    use sqlx::Connection;
                    let mut c = sqlx::PgConnection::connect(&admin)
                        .await
                        .expect("connect to VECHE_TEST_DATABASE_URL");
                    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                        .execute(&mut c)
                        .await
                        .expect("create test database");
                });
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/{name}"),
                    None => panic!("VECHE_TEST_DATABASE_URL must end in /<database>"),
                };
                Some(Self {
                    url: Some(url),
                    admin_url: Some(admin),
                    name,
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(admin) = &self.admin_url {
            let name = self.name.clone();
            let admin = admin.clone();
            let _ = std::thread::spawn(move || {
                block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&mut c)
                        .await;
                    }
                })
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub url: String,
    pub vkey: String,
    child: Child,
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_veche")
}

/// Runs `veche` with the test's storage options and extra arguments.
pub fn veche_command(data_dir: &Path, db: &TestDb) -> Command {
    let mut cmd = Command::new(bin());
    cmd.arg("--data-dir")
        .arg(data_dir)
        .arg("--origin")
        .arg(ORIGIN);
    if let Some(url) = &db.url {
        cmd.arg("--database-url").arg(url);
    }
    cmd.env("VECHE_OPERATOR_TOKEN", OPERATOR_TOKEN)
        .env_remove("VECHE_LOG_KEY")
        .env_remove("VECHE_DATABASE_URL")
        .env("VECHE_LOG", "warn");
    cmd
}

impl TestApp {
    /// Starts the server on `data_dir` and waits until it prints its URL.
    pub fn start(data_dir: &Path, db: &TestDb) -> Self {
        Self::start_with_key(data_dir, db, None)
    }

    /// As [`TestApp::start`], with the log key supplied in `VECHE_LOG_KEY`.
    pub fn start_with_key(data_dir: &Path, db: &TestDb, log_key: Option<&str>) -> Self {
        Self::start_with(data_dir, db, log_key, &[], None)
    }

    /// As [`TestApp::start`], with extra `serve` options and, if given, the
    /// server's log (stderr) written to a file.
    pub fn start_with(
        data_dir: &Path,
        db: &TestDb,
        log_key: Option<&str>,
        extra: &[&str],
        stderr: Option<&Path>,
    ) -> Self {
        let mut cmd = veche_command(data_dir, db);
        if let Some(k) = log_key {
            cmd.env("VECHE_LOG_KEY", k);
        }
        let err = match stderr {
            Some(path) => {
                cmd.env("VECHE_LOG", "debug");
                Stdio::from(std::fs::File::create(path).unwrap())
            }
            None => Stdio::inherit(),
        };
        let mut child = cmd
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--checkpoint-interval",
                "100ms",
                "--argon2",
                "test",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .expect("start veche");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut url = None;
        let mut vkey = None;
        while url.is_none() || vkey.is_none() {
            assert!(Instant::now() < deadline, "server did not start in time");
            let line = lines
                .next()
                .expect("server exited before printing its URL")
                .unwrap();
            if let Some(rest) = line
                .split(" at ")
                .nth(1)
                .filter(|_| line.starts_with("Veche is serving"))
            {
                url = Some(rest.trim_end_matches('/').to_string());
            }
            if let Some(k) = line.strip_prefix("log verifier key: ") {
                vkey = Some(k.to_string());
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self {
            url: url.unwrap(),
            vkey: vkey.unwrap(),
            child,
        }
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "server exited with {status}");
    }

    pub fn get(&self, path: &str) -> Response {
        response(agent().get(format!("{}{path}", self.url)).call())
    }

    pub fn post_json(&self, path: &str, body: &serde_json::Value, token: Option<&str>) -> Response {
        let mut req = agent().post(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        response(req.send_json(body))
    }

    pub fn post_raw(&self, path: &str, content_type: &str, body: &str) -> Response {
        response(
            agent()
                .post(format!("{}{path}", self.url))
                .header("Authorization", format!("Bearer {OPERATOR_TOKEN}"))
                .header("Content-Type", content_type)
                .send(body),
        )
    }

    pub fn add_jurisdiction(&self, id: &str, population: u64) -> serde_json::Value {
        let r = self.post_json(
            "/api/v1/jurisdictions",
            &jurisdiction_json(id, population),
            Some(OPERATOR_TOKEN),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn jurisdiction_json(id: &str, population: u64) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "name_ru": "Тестовая область",
        "name_en": "Test Oblast",
        "population": population,
        "population_source": "Test data",
        "population_date": "2024-01-01",
        "legislature_ru": "Тестовая дума",
        "legislature_en": "Test Duma",
    })
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Asserts an RFC 9457 problem with this status and type slug.
    pub fn assert_problem(&self, status: u16, slug: &str) -> serde_json::Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let j = self.json();
        assert_eq!(j["type"], format!("/problems/{slug}"), "{j}");
        assert_eq!(j["status"], status);
        assert!(
            j["title"].is_string() && j["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{j}"
        );
        j
    }
}

/// An HTTP client that returns 4xx/5xx responses instead of errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

pub fn response(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Response {
    let mut resp = match r {
        Ok(r) => r,
        Err(e) => panic!("request failed: {e}"),
    };
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap();
    Response {
        status,
        headers,
        body,
    }
}

/// A fresh temporary data directory.
pub fn data_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("veche-test-")
        .tempdir()
        .unwrap()
}

/// GET with one extra header; returns the status.
pub fn get_with_header(app: &TestApp, path: &str, name: &str, value: &str) -> u16 {
    match agent()
        .get(format!("{}{path}", app.url))
        .header(name, value)
        .call()
    {
        Ok(r) => r.status().as_u16(),
        Err(ureq::Error::StatusCode(c)) => c,
        Err(e) => panic!("{e}"),
    }
}

pub fn delete(app: &TestApp, path: &str) -> Response {
    response(agent().delete(format!("{}{path}", app.url)).call())
}
