//! The load tool: drives real petition signatures over HTTP on loopback with
//! software passkeys, against a real `veche serve` it starts itself.
//!
//! Set-up (not timed): a jurisdiction, an administrator, a registrar, a
//! moderator, a roll of `--signers` records, every signer enrolled with an
//! ES256 passkey (as most platform passkeys are), `--petitions` open
//! petitions. Then `--concurrency` client threads sign every petition with
//! every signer (options + assertion + signature = two HTTP requests and one
//! ES256 signature on the client, and one ES256 verification, one durable
//! log append and one instant receipt on the server), and the tool reports
//! sustained signatures per second and p50/p99/max latency of the whole
//! signing exchange, plus a baseline in the same run: `GET /api/v1/log`
//! round trips per second on the same connections (the HTTP floor).
//!
//! It also reports where the CPU went during the signing phase: the
//! server's and its own user+system time (from `/proc`), and how much of
//! its own went into the client-side ES256 assertions — on a small machine
//! the load tool shares the cores with the server.
//!
//! ```text
//! cargo build --release --example load --bin veche
//! target/release/examples/load --signers 100 --petitions 20 --concurrency 128
//! target/release/examples/load --database-url postgres://postgres@127.0.0.1:5432/load ...
//! target/release/examples/load --veche /tmp/veche-baseline ...   # another server build
//! ```
//! `--rate N` paces the clients at N signatures/s in total (for latency at a
//! given load, e.g. half the sustained rate). With PostgreSQL, use a fresh
//! (or emptied) database for each run: the tool declares its jurisdiction
//! anew.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};
use veche_passkey::Algorithm;
use veche_passkey::software::SoftwareAuthenticator;

mod support;
use support::{Client, agent, cpu_time, jurisdiction_and_admin, percentile, serve, staff};

#[derive(Parser)]
struct Args {
    /// Citizens enrolled and signing.
    #[arg(long, default_value_t = 200)]
    signers: usize,
    /// Open petitions each signer signs.
    #[arg(long, default_value_t = 25)]
    petitions: usize,
    /// Client threads.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Total pace in signatures per second (0 = as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// PostgreSQL URL (a fresh database is best); default: SQLite in a temp dir.
    #[arg(long)]
    database_url: Option<String>,
    /// The `veche` binary (default: next to this example's binary).
    #[arg(long)]
    veche: Option<PathBuf>,
}

const TOKEN: &str = "load-operator-token";

fn veche_bin(args: &Args) -> PathBuf {
    args.veche.clone().unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("current exe");
        exe.parent()
            .and_then(|p| p.parent())
            .expect("target dir")
            .join("veche")
    })
}

fn command(args: &Args, dir: &std::path::Path) -> Command {
    let mut c = Command::new(veche_bin(args));
    c.arg("--data-dir")
        .arg(dir)
        .arg("--origin")
        .arg("load.veche.test/log");
    if let Some(u) = &args.database_url {
        c.arg("--database-url").arg(u);
    }
    c.env("VECHE_OPERATOR_TOKEN", TOKEN)
        .env("VECHE_LOG", "warn");
    c
}

fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().unwrap();
    let server = serve(command(&args, dir.path()));
    let url = server.url.clone();
    let a = agent();
    println!(
        "server {url} ({})",
        if args.database_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    );

    // Set-up.
    let t = Instant::now();
    let invite = command(&args, dir.path())
        .args(["admin", "invite", "--role", "admin", "--public-url", &url])
        .output()
        .unwrap();
    let mut admin = jurisdiction_and_admin(
        &a,
        &url,
        TOKEN,
        json!({"id": "load", "name_ru": "Нагрузочный", "name_en": "Load", "population": 1_000_000_000u64, "population_source": "synthetic", "population_date": "2026-01-01", "legislature_ru": "Дума", "legislature_en": "Council"}),
        invite,
    );
    let mut registrar = staff(&a, &url, &mut admin, "registrar", "load");
    let mut moderator = staff(&a, &url, &mut admin, "moderator", "load");
    let mut csv = String::from("record_id,document_number,date_of_birth,district\n");
    for i in 0..args.signers {
        csv.push_str(&format!("r{i},77{i:08},1990-01-01,\n"));
    }
    let req = ureq::http::Request::builder()
        .method("PUT")
        .uri(format!("{url}/api/v1/jurisdictions/load/roll"))
        .header(
            "Cookie",
            format!("veche_session={}", registrar.cookie.clone().unwrap()),
        )
        .header("X-CSRF-Token", registrar.csrf.clone().unwrap())
        .header("Content-Type", "text/csv")
        .body(csv.into_bytes())
        .unwrap();
    assert_eq!(a.run(req).unwrap().status().as_u16(), 200);
    let _ = &mut registrar;
    let signers: Vec<(Client, SoftwareAuthenticator)> = (0..args.signers)
        .map(|i| {
            let mut key = SoftwareAuthenticator::new(Algorithm::Es256);
            let mut c = Client::default();
            c.register(&a, &url, &mut key, "/api/v1/enrolment/options", &json!({"method": "document", "jurisdiction": "load", "document_number": format!("77{i:08}"), "date_of_birth": "1990-01-01"}), "/api/v1/enrolment/finish");
            (c, key)
        })
        .collect();
    let mut petitions = Vec::new();
    let mut author = signers[0].0.clone();
    for p in 0..args.petitions {
        let (s, v) = author.call(&a, &url, "POST", "/api/v1/petitions", Some(&json!({"title": format!("Load petition {p}"), "text": "Synthetic petition for the load test."})));
        assert_eq!(s, 201, "{v}");
        let id = v["petition"].as_u64().unwrap();
        let (s, v) = moderator.call(
            &a,
            &url,
            "POST",
            &format!("/api/v1/petitions/{id}/moderation"),
            Some(&json!({"decision": "open"})),
        );
        assert_eq!(s, 201, "{v}");
        petitions.push(id);
    }
    println!(
        "set-up: {} signers enrolled, {} petitions open in {:.1?}",
        args.signers,
        args.petitions,
        t.elapsed()
    );

    // Baseline: plain GET round trips on the same number of threads.
    let base_n = 20_000usize;
    let done = AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..args.concurrency {
            s.spawn(|| {
                let a = agent();
                while done.fetch_add(1, Ordering::Relaxed) < base_n {
                    let r = a.get(format!("{url}/api/v1/log")).call().unwrap();
                    assert_eq!(r.status().as_u16(), 200);
                }
            });
        }
    });
    let base_rate = base_n as f64 / t.elapsed().as_secs_f64();
    println!("baseline: {base_rate:.0} GET /api/v1/log per second");

    // Signing: work items (signer, petition), handed out in order.
    let work: Vec<(usize, u64)> = petitions
        .iter()
        .flat_map(|&p| (0..args.signers).map(move |s| (s, p)))
        .collect();
    let total = work.len();
    let signers: Vec<Mutex<(Client, SoftwareAuthenticator)>> =
        signers.into_iter().map(Mutex::new).collect();
    let next = AtomicUsize::new(0);
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let signing_ns = std::sync::atomic::AtomicU64::new(0);
    let server_pid = server.child.id().to_string();
    let (server_cpu0, own_cpu0) = (cpu_time(&server_pid), cpu_time("self"));
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..args.concurrency {
            s.spawn(|| {
                let a = agent();
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    if args.rate > 0.0 {
                        let due = t + Duration::from_secs_f64(i as f64 / args.rate);
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                    }
                    let (signer, petition) = work[i];
                    let mut guard = signers[signer].lock().unwrap();
                    let (c, key) = &mut *guard;
                    let started = Instant::now();
                    let (s, opts) = c.call(&a, &url, "POST", &format!("/api/v1/petitions/{petition}/signatures/options"), None);
                    assert_eq!(s, 200, "{opts}");
                    let s0 = Instant::now();
                    let assertion = key.assert(&url, &opts["publicKey"]).unwrap();
                    signing_ns.fetch_add(s0.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    let fin = json!({"ceremony": opts["ceremony"], "credential": serde_json::from_str::<Value>(&assertion).unwrap()});
                    let (s, v) = c.call(&a, &url, "POST", &format!("/api/v1/petitions/{petition}/signatures"), Some(&fin));
                    assert_eq!(s, 201, "{v}");
                    mine.push(started.elapsed());
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
    });
    let elapsed = t.elapsed();
    let server_cpu = cpu_time(&server_pid).saturating_sub(server_cpu0);
    let own_cpu = cpu_time("self").saturating_sub(own_cpu0);
    let signing = Duration::from_nanos(signing_ns.load(Ordering::Relaxed));
    let mut l = latencies.lock().unwrap().clone();
    l.sort();
    let rate = total as f64 / elapsed.as_secs_f64();
    println!(
        "signatures: {total} in {elapsed:.2?} = {rate:.0}/s durable (ratio to the GET baseline: {:.3}); latency p50 {:.1?} p99 {:.1?} max {:.1?}",
        rate / base_rate,
        percentile(&l, 0.50),
        percentile(&l, 0.99),
        l.last().copied().unwrap_or_default()
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let per_sig = |d: Duration| d.as_secs_f64() * 1e6 / total as f64;
    println!(
        "cpu during signing ({cores} cores, {:.2} s): server {:.2} s ({:.0} µs/signature), load tool {:.2} s ({:.0} µs/signature, of which client assertions ≈{:.0} µs wall); idle {:.0}%",
        elapsed.as_secs_f64(),
        server_cpu.as_secs_f64(),
        per_sig(server_cpu),
        own_cpu.as_secs_f64(),
        per_sig(own_cpu),
        per_sig(signing),
        (100.0 * (1.0 - (server_cpu + own_cpu).as_secs_f64() / (elapsed.as_secs_f64() * cores)))
            .max(0.0)
    );
    drop(server);
}
