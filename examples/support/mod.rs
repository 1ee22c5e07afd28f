//! What the load tools (`load`, `capacity`) share: a cookie-and-CSRF HTTP
//! client speaking the JSON API, passkey registration, CPU time from
//! `/proc`, percentiles.

// Each tool uses a part of this module.
#![allow(dead_code)]

use std::time::Duration;

use serde_json::{Value, json};
use veche_passkey::Algorithm;
use veche_passkey::software::SoftwareAuthenticator;

/// A blocking HTTP agent that hands every status back as a response.
pub fn agent() -> ureq::Agent {
    agent_with_timeout(Duration::from_secs(60))
}

/// As [`agent`], with another overall timeout (a large roll upload).
pub fn agent_with_timeout(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// One browser's session: its cookie and CSRF token.
#[derive(Default, Clone)]
pub struct Client {
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

impl Client {
    pub fn call(
        &mut self,
        agent: &ureq::Agent,
        url: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.try_call(agent, url, method, path, body)
            .expect("HTTP request")
    }

    /// As [`Client::call`], handing a transport failure back.
    pub fn try_call(
        &mut self,
        agent: &ureq::Agent,
        url: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ureq::Error> {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{url}{path}"));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", format!("veche_session={c}"));
        }
        if let Some(t) = &self.csrf {
            req = req.header("X-CSRF-Token", t);
        }
        let resp = match body {
            Some(b) => agent.run(
                req.header("Content-Type", "application/json")
                    .body(serde_json::to_vec(b).unwrap())
                    .unwrap(),
            ),
            None => agent.run(req.body(()).unwrap()),
        }?;
        let status = resp.status().as_u16();
        if let Some(set) = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
        {
            let v = set
                .split(';')
                .next()
                .unwrap()
                .trim_start_matches("veche_session=");
            self.cookie = (!v.is_empty()).then(|| v.to_string());
        }
        let text = resp.into_body().read_to_string().unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status)
            && let Some(t) = json["csrf_token"].as_str()
        {
            self.csrf = Some(t.to_string());
        }
        Ok((status, json))
    }

    /// A passkey registration ceremony: `options`, then `finish` with the
    /// new credential; panics unless it ends in 201.
    pub fn register(
        &mut self,
        a: &ureq::Agent,
        url: &str,
        key: &mut SoftwareAuthenticator,
        options: &str,
        body: &Value,
        finish: &str,
    ) -> Value {
        let (s, started) = self.call(a, url, "POST", options, Some(body));
        assert_eq!(s, 200, "{started}");
        let cred = key.register(url, &started["publicKey"]).unwrap();
        let fin = json!({"ceremony": started["ceremony"], "credential": serde_json::from_str::<Value>(&cred).unwrap()});
        let (s, v) = self.call(a, url, "POST", finish, Some(&fin));
        assert_eq!(s, 201, "{v}");
        v
    }
}

/// User + system CPU time of a process so far, from `/proc/<pid>/stat`.
pub fn cpu_time(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 12th and 13th of them, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// The `p` quantile (0..=1) of sorted durations, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Declares jurisdiction `id` with the operator token, then makes the
/// first administrator from the one-time link `invite` printed (the output
/// of `veche admin invite --role admin`), with an ES256 software passkey.
pub fn jurisdiction_and_admin(
    a: &ureq::Agent,
    url: &str,
    token: &str,
    jurisdiction: Value,
    invite: std::process::Output,
) -> Client {
    let resp = a
        .post(format!("{url}/api/v1/jurisdictions"))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(jurisdiction)
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let link = String::from_utf8_lossy(&invite.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let mut admin = Client::default();
    let mut admin_key = SoftwareAuthenticator::new(Algorithm::Es256);
    admin.register(
        a,
        url,
        &mut admin_key,
        "/api/v1/staff/invite/options",
        &json!({"invite": link}),
        "/api/v1/staff/invite/finish",
    );
    admin
}

/// A `veche serve` the tool started; killed when dropped.
pub struct Node {
    pub child: std::process::Child,
    pub url: String,
    pub vkey: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `veche … serve` (from `veche`, which carries the storage
/// options) on a loopback port, with the test Argon2id setting and rate
/// limits out of the way, and waits for its URL and verifier key.
pub fn serve(mut veche: std::process::Command) -> Node {
    use std::io::{BufRead, BufReader};
    let mut child = veche
        // A production-cost roll of a million records would take hours;
        // the tools measure that cost separately.
        .args(["serve", "--listen", "127.0.0.1:0", "--argon2", "test"])
        .args([
            "--actions-per-minute",
            "100000000",
            "--sign-in-per-minute",
            "100000000",
            "--enrol-per-hour",
            "100000000",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start veche (build it first: cargo build --release)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut vkey) = (None, None);
    while url.is_none() || vkey.is_none() {
        let line = lines.next().expect("server exited").unwrap();
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
    std::thread::spawn(move || for _ in lines {});
    Node {
        child,
        url: url.unwrap(),
        vkey: vkey.unwrap(),
    }
}

/// A staff member of `role` for `jurisdiction`, invited by `admin`, with
/// an ES256 software passkey.
pub fn staff(
    a: &ureq::Agent,
    url: &str,
    admin: &mut Client,
    role: &str,
    jurisdiction: &str,
) -> Client {
    let (s, v) = admin.call(
        a,
        url,
        "POST",
        "/api/v1/staff/invites",
        Some(&json!({"role": role, "jurisdiction": jurisdiction})),
    );
    assert_eq!(s, 201, "{v}");
    let link = v["link"].as_str().unwrap().rsplit('/').next().unwrap();
    let mut c = Client::default();
    let mut key = SoftwareAuthenticator::new(Algorithm::Es256);
    c.register(
        a,
        url,
        &mut key,
        "/api/v1/staff/invite/options",
        &json!({"invite": link}),
        "/api/v1/staff/invite/finish",
    );
    c
}
