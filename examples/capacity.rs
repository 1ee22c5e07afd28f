//! The capacity simulation (issue #7): a synthetic roll of `--roll`
//! residents, `--signers` of them enrolled with ES256 software passkeys, one
//! viral petition signed by all of them in a burst through `--nodes` real
//! `veche serve` processes round-robin, and a poll running beside it in
//! which a `--voters` fraction of them cast ballots.
//!
//! It reports the roll load rate (at the cheap test Argon2id setting, plus
//! a measured sample of the production setting to extrapolate from),
//! enrolments/s, signatures/s and ballots/s with p50/p99 latency, server
//! CPU (all nodes summed) and its own CPU per signature from `/proc`,
//! database bytes (SQLite data directory or `pg_database_size`) and tile
//! bytes (`veche log export`) added by the burst, and the wall time and
//! peak RSS (GNU time) of `veche-verify audit` over the exported log.
//! Figures and their meaning: `specs/capacity.md`.
//!
//! ```text
//! cargo build --release --example capacity --bin veche -p veche --bin veche-verify -p veche-verify
//! psql postgres://postgres@127.0.0.1:5432/postgres -c 'CREATE DATABASE capacity_3'
//! target/release/examples/capacity --nodes 3 --roll 1000000 --signers 20000 \
//!     --database-url postgres://postgres@127.0.0.1:5432/capacity_3
//! target/release/examples/capacity --nodes 1 --roll 1000000 --signers 20000   # SQLite
//! ```
//! Several nodes need PostgreSQL (they share it and the data directory);
//! use a fresh database each run: the tool declares its jurisdiction anew.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde_json::{Value, json};
use veche_passkey::Algorithm;
use veche_passkey::software::SoftwareAuthenticator;

mod support;
use support::{
    Client, Node, agent, agent_with_timeout, cpu_time, jurisdiction_and_admin, percentile, serve,
    staff,
};

#[derive(Parser)]
struct Args {
    /// Server nodes (more than one needs `--database-url`).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Residents on the synthetic roll.
    #[arg(long, default_value_t = 1_000_000)]
    roll: usize,
    /// Residents enrolled, each of whom signs the viral petition.
    #[arg(long, default_value_t = 100_000)]
    signers: usize,
    /// Fraction of the signers who also vote in the poll during the burst.
    #[arg(long, default_value_t = 0.3)]
    voters: f64,
    /// Client threads.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Roll records hashed at the production Argon2id setting to measure
    /// its per-record cost (the roll itself is loaded at the test setting).
    #[arg(long, default_value_t = 16)]
    production_sample: usize,
    /// PostgreSQL URL of a fresh database; default: SQLite in a temp dir.
    #[arg(long)]
    database_url: Option<String>,
    /// The `veche` binary (default: next to this example's binary).
    #[arg(long)]
    veche: Option<PathBuf>,
    /// Skip the export and the audit.
    #[arg(long)]
    no_audit: bool,
}

const TOKEN: &str = "capacity-operator-token";
const JURISDICTION: &str = "cap";

fn bin_dir(args: &Args) -> PathBuf {
    match &args.veche {
        Some(v) => v.parent().expect("veche's directory").to_path_buf(),
        None => {
            let exe = std::env::current_exe().expect("current exe");
            exe.parent()
                .and_then(|p| p.parent())
                .expect("target dir")
                .to_path_buf()
        }
    }
}

fn command(args: &Args, dir: &Path) -> Command {
    let veche = args
        .veche
        .clone()
        .unwrap_or_else(|| bin_dir(args).join("veche"));
    let mut c = Command::new(veche);
    c.arg("--data-dir")
        .arg(dir)
        .arg("--origin")
        .arg("capacity.veche.test/log");
    if let Some(u) = &args.database_url {
        c.arg("--database-url").arg(u);
    }
    c.env("VECHE_OPERATOR_TOKEN", TOKEN)
        .env("VECHE_LOG", "warn");
    c
}

/// Bytes in files under `dir`, recursively.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Database bytes: `pg_database_size`, or the SQLite data directory.
fn db_bytes(args: &Args, dir: &Path) -> u64 {
    match &args.database_url {
        Some(u) => {
            let out = Command::new("psql")
                .args([u, "-Atc", "SELECT pg_database_size(current_database())"])
                .output()
                .expect("psql");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("pg_database_size")
        }
        None => dir_bytes(dir),
    }
}

fn mb(b: u64) -> f64 {
    b as f64 / 1e6
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn servers_cpu(nodes: &[Node]) -> Duration {
    nodes
        .iter()
        .map(|n| cpu_time(&n.child.id().to_string()))
        .sum()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn document(i: usize) -> String {
    format!("77{i:08}")
}

/// What a client thread does in the burst.
#[derive(Clone, Copy)]
enum Act {
    Sign(usize),
    Vote(usize),
}

fn main() {
    let args = Args::parse();
    assert!(
        args.nodes == 1 || args.database_url.is_some(),
        "several nodes share one PostgreSQL: give --database-url"
    );
    assert!(args.signers <= args.roll, "signers come from the roll");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "capacity: {} node(s), {}, roll {}, signers {}, voters {:.0}%, {} client threads, {cores} cores, load average {}",
        args.nodes,
        if args.database_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        args.roll,
        args.signers,
        args.voters * 100.0,
        args.concurrency,
        load_average()
    );
    let dir = tempfile::tempdir().unwrap();
    // The first node creates the shared secrets; the others then read them.
    let mut nodes = vec![serve(command(&args, dir.path()))];
    for _ in 1..args.nodes {
        nodes.push(serve(command(&args, dir.path())));
    }
    let urls: Vec<String> = nodes.iter().map(|n| n.url.clone()).collect();
    let vkey = nodes[0].vkey.clone();
    let url = urls[0].clone();
    let a = agent();

    // Staff.
    let invite = command(&args, dir.path())
        .args(["admin", "invite", "--role", "admin", "--public-url", &url])
        .output()
        .unwrap();
    let mut admin = jurisdiction_and_admin(
        &a,
        &url,
        TOKEN,
        json!({"id": JURISDICTION, "name_ru": "Ёмкость", "name_en": "Capacity", "population": args.roll as u64, "population_source": "synthetic", "population_date": "2026-01-01", "legislature_ru": "Дума", "legislature_en": "Council"}),
        invite,
    );
    let registrar = staff(&a, &url, &mut admin, "registrar", JURISDICTION);
    let mut moderator = staff(&a, &url, &mut admin, "moderator", JURISDICTION);
    let mut organiser = staff(&a, &url, &mut admin, "organiser", JURISDICTION);

    // The roll, in one upload.
    let db0 = db_bytes(&args, dir.path());
    let mut csv = String::with_capacity(args.roll * 32);
    csv.push_str("record_id,document_number,date_of_birth,district\n");
    for i in 0..args.roll {
        csv.push_str(&format!("r{i},{},1990-01-01,d{}\n", document(i), i % 20));
    }
    let csv_bytes = csv.len();
    let cpu0 = servers_cpu(&nodes);
    let t = Instant::now();
    let req = ureq::http::Request::builder()
        .method("PUT")
        .uri(format!("{url}/api/v1/jurisdictions/{JURISDICTION}/roll"))
        .header(
            "Cookie",
            format!("veche_session={}", registrar.cookie.clone().unwrap()),
        )
        .header("X-CSRF-Token", registrar.csrf.clone().unwrap())
        .header("Content-Type", "text/csv")
        .body(csv.into_bytes())
        .unwrap();
    let resp = agent_with_timeout(Duration::from_secs(3600))
        .run(req)
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let roll_time = t.elapsed();
    let roll_cpu = servers_cpu(&nodes).saturating_sub(cpu0);
    let db_roll = db_bytes(&args, dir.path());
    println!(
        "roll: {} records ({:.1} MB CSV) loaded in {roll_time:.1?} = {:.0} records/s at the test Argon2id setting; server CPU {:.1} s ({:.0} µs/record); database +{:.1} MB ({:.0} B/record); load average {}",
        args.roll,
        mb(csv_bytes as u64),
        args.roll as f64 / roll_time.as_secs_f64(),
        roll_cpu.as_secs_f64(),
        roll_cpu.as_secs_f64() * 1e6 / args.roll as f64,
        mb(db_roll.saturating_sub(db0)),
        db_roll.saturating_sub(db0) as f64 / args.roll as f64,
        load_average()
    );
    // The production setting's cost per record, on one core.
    if args.production_sample > 0 {
        let hasher = veche_roll::IdentityHasher::new(
            veche_roll::Pepper::generate(),
            veche_roll::HashParams::production(),
        )
        .unwrap();
        let t = Instant::now();
        for i in 0..args.production_sample {
            hasher
                .document_key(JURISDICTION, &document(i), "1990-01-01")
                .unwrap();
        }
        let each = t.elapsed() / args.production_sample as u32;
        println!(
            "production Argon2id (m=19456 KiB, t=2, p=1): {each:.1?} per record on one core; a roll of {} would take ≈{:.0} min on {cores} cores",
            args.roll,
            each.as_secs_f64() * args.roll as f64 / cores as f64 / 60.0
        );
    }

    // Enrolment, spread over the nodes.
    let cpu0 = servers_cpu(&nodes);
    let t = Instant::now();
    let next = AtomicUsize::new(0);
    let enrolled: Vec<Mutex<Option<(Client, SoftwareAuthenticator)>>> =
        (0..args.signers).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..args.concurrency {
            s.spawn(|| {
                let a = agent();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= args.signers {
                        break;
                    }
                    let node = &urls[i % urls.len()];
                    let mut key = SoftwareAuthenticator::new(Algorithm::Es256);
                    let mut c = Client::default();
                    c.register(&a, node, &mut key, "/api/v1/enrolment/options", &json!({"method": "document", "jurisdiction": JURISDICTION, "document_number": document(i), "date_of_birth": "1990-01-01"}), "/api/v1/enrolment/finish");
                    *enrolled[i].lock().unwrap() = Some((c, key));
                }
            });
        }
    });
    let enrol_time = t.elapsed();
    let enrol_cpu = servers_cpu(&nodes).saturating_sub(cpu0);
    println!(
        "enrolment: {} in {enrol_time:.1?} = {:.0}/s; server CPU {:.0} µs/enrolment (test Argon2id); load average {}",
        args.signers,
        args.signers as f64 / enrol_time.as_secs_f64(),
        enrol_cpu.as_secs_f64() * 1e6 / args.signers as f64,
        load_average()
    );
    let signers: Vec<Mutex<(Client, SoftwareAuthenticator)>> = enrolled
        .into_iter()
        .map(|m| Mutex::new(m.into_inner().unwrap().unwrap()))
        .collect();

    // The viral petition and the poll beside it.
    let petition = {
        let mut author = signers[0].lock().unwrap().0.clone();
        let (s, v) = author.call(&a, &url, "POST", "/api/v1/petitions", Some(&json!({"title": "A viral petition", "text": "Synthetic petition for the capacity simulation."})));
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
        id
    };
    let (s, v) = organiser.call(
        &a,
        &url,
        "POST",
        "/api/v1/polls",
        Some(&json!({
            "jurisdiction": JURISDICTION,
            "question": {"ru": "Продлить ли линию трамвая?", "en": "Extend the tram line?"},
            "options": [{"ru": "Да", "en": "Yes"}, {"ru": "Нет", "en": "No"}],
            "method": "single",
            "closes_at_ms": now_ms() + 24 * 3600 * 1000,
        })),
    );
    assert_eq!(s, 201, "{v}");
    let poll = v["poll"].as_u64().unwrap();

    // Export before the burst, so the burst's own tile bytes are the difference.
    std::thread::sleep(Duration::from_millis(2500));
    let export_before = dir.path().join("export-before");
    if !args.no_audit {
        let ok = command(&args, dir.path())
            .args(["log", "export"])
            .arg(&export_before)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "veche log export");
    }
    let db_before = db_bytes(&args, dir.path());
    let tiles_before = dir_bytes(&export_before);

    // The burst: every signer signs; every k-th also votes, interleaved.
    let voters = ((args.signers as f64 * args.voters) as usize).min(args.signers);
    let mut work = Vec::with_capacity(args.signers + voters);
    let mut voted = 0;
    for i in 0..args.signers {
        work.push(Act::Sign(i));
        // A different signer votes than the one who just signed, so one
        // citizen's two ceremonies do not queue behind each other.
        if voted < voters && (i + 1) * voters >= (voted + 1) * args.signers {
            work.push(Act::Vote(args.signers - 1 - voted));
            voted += 1;
        }
    }
    let total = work.len();
    let next = AtomicUsize::new(0);
    let dropped = AtomicUsize::new(0);
    let sign_lat = Mutex::new(Vec::with_capacity(args.signers));
    let vote_lat = Mutex::new(Vec::with_capacity(voted));
    let cpu0 = servers_cpu(&nodes);
    let own0 = cpu_time("self");
    println!(
        "burst: {} signatures and {voted} ballots through {} node(s); load average before {}",
        args.signers,
        urls.len(),
        load_average()
    );
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..args.concurrency {
            s.spawn(|| {
                let a = agent();
                let (mut signs, mut votes) = (Vec::new(), Vec::new());
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= total {
                        break;
                    }
                    // Both steps of one ceremony go to the same node.
                    let node = &urls[k % urls.len()];
                    let (who, options, finish, body) = match work[k] {
                        Act::Sign(i) => (
                            i,
                            format!("/api/v1/petitions/{petition}/signatures/options"),
                            format!("/api/v1/petitions/{petition}/signatures"),
                            None,
                        ),
                        Act::Vote(i) => (
                            i,
                            format!("/api/v1/polls/{poll}/ballots/options"),
                            format!("/api/v1/polls/{poll}/ballots"),
                            Some(json!({"choice": [(i % 2) as u16]})),
                        ),
                    };
                    let mut guard = signers[who].lock().unwrap();
                    let (c, key) = &mut *guard;
                    let started = Instant::now();
                    // A connection the server dropped (seen under heavy
                    // load) is counted and the ceremony run once more; a
                    // signature that did land answers 409 the second time.
                    let mut attempt = || -> Result<u16, ureq::Error> {
                        let (s, opts) = c.try_call(&a, node, "POST", &options, body.as_ref())?;
                        if s != 200 {
                            return Ok(s);
                        }
                        let assertion = key.assert(node, &opts["publicKey"]).unwrap();
                        let fin = json!({"ceremony": opts["ceremony"], "credential": serde_json::from_str::<Value>(&assertion).unwrap()});
                        let (s, v) = c.try_call(&a, node, "POST", &finish, Some(&fin))?;
                        assert!(s == 201 || s == 409, "{s} {v}");
                        Ok(s)
                    };
                    let s = match attempt() {
                        Ok(s) => s,
                        Err(e) => {
                            eprintln!("transport error, retrying once: {e}");
                            dropped.fetch_add(1, Ordering::Relaxed);
                            attempt().expect("HTTP request after a retry")
                        }
                    };
                    assert!(s == 201 || s == 409, "{s}");
                    match work[k] {
                        Act::Sign(_) => signs.push(started.elapsed()),
                        Act::Vote(_) => votes.push(started.elapsed()),
                    }
                }
                sign_lat.lock().unwrap().extend(signs);
                vote_lat.lock().unwrap().extend(votes);
            });
        }
    });
    let elapsed = t.elapsed();
    println!(
        "connections dropped and retried: {}",
        dropped.load(Ordering::Relaxed)
    );
    let server_cpu = servers_cpu(&nodes).saturating_sub(cpu0);
    let own_cpu = cpu_time("self").saturating_sub(own0);
    let load_after = load_average();
    let mut sl = sign_lat.into_inner().unwrap();
    let mut vl = vote_lat.into_inner().unwrap();
    sl.sort();
    vl.sort();
    let secs = elapsed.as_secs_f64();
    println!(
        "signatures: {} in {elapsed:.2?} = {:.0}/s, p50 {:.1?} p99 {:.1?} max {:.1?}",
        sl.len(),
        sl.len() as f64 / secs,
        percentile(&sl, 0.5),
        percentile(&sl, 0.99),
        sl.last().copied().unwrap_or_default()
    );
    println!(
        "ballots: {} in the same {elapsed:.2?} = {:.0}/s, p50 {:.1?} p99 {:.1?} max {:.1?}",
        vl.len(),
        vl.len() as f64 / secs,
        percentile(&vl, 0.5),
        percentile(&vl, 0.99),
        vl.last().copied().unwrap_or_default()
    );
    let per_act = |d: Duration| d.as_secs_f64() * 1e6 / total as f64;
    println!(
        "cpu in the burst ({cores} cores, {secs:.1} s): servers {:.1} s = {:.0} µs per signature or ballot; load tool {:.1} s = {:.0} µs per signature or ballot; load average after {load_after}",
        server_cpu.as_secs_f64(),
        per_act(server_cpu),
        own_cpu.as_secs_f64(),
        per_act(own_cpu),
    );
    // Let the last checkpoint be signed before measuring and exporting.
    std::thread::sleep(Duration::from_millis(2500));
    let (_, log) = Client::default().call(&a, &url, "GET", "/api/v1/log", None);
    let tree_size = log["size"].as_u64().unwrap_or(0);
    let db_after = db_bytes(&args, dir.path());
    drop(nodes);
    let per_million = |b: u64| b as f64 / total as f64 * 1e6 / 1e9;
    println!(
        "database: {:.1} MB in all; +{:.1} MB in the burst = {:.2} GB per million signatures (linear scaling of the measured {total})",
        mb(db_after),
        mb(db_after.saturating_sub(db_before)),
        per_million(db_after.saturating_sub(db_before))
    );
    if args.no_audit {
        return;
    }
    let export = dir.path().join("export");
    let t = Instant::now();
    let ok = command(&args, dir.path())
        .args(["log", "export"])
        .arg(&export)
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "veche log export");
    let export_time = t.elapsed();
    let tiles = dir_bytes(&export);
    println!(
        "tiles: {tree_size} entries, {:.1} MB exported in {export_time:.1?}; +{:.1} MB in the burst = {:.2} GB per million signatures (linear)",
        mb(tiles),
        mb(tiles.saturating_sub(tiles_before)),
        per_million(tiles.saturating_sub(tiles_before))
    );
    let state = dir.path().join("audit-state.json");
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(bin_dir(&args).join("veche-verify"))
        .arg("audit")
        .arg("--log")
        .arg(&export)
        .arg("--vkey")
        .arg(&vkey)
        .arg("--state")
        .arg(&state)
        .output()
        .expect("/usr/bin/time veche-verify (apt-get install time)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "audit failed: {err}");
    let field = |name: &str| {
        err.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let rss_kb: f64 = field("Maximum resident set size (kbytes):")
        .parse()
        .unwrap_or(0.0);
    let wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss):");
    let wall_s: f64 = wall
        .split(':')
        .fold(0.0, |t, p| t * 60.0 + p.parse::<f64>().unwrap_or(0.0));
    println!(
        "audit: veche-verify audit over {tree_size} entries in {wall_s:.2} s = {:.0} entries/s, peak RSS {:.1} MB; load average {}",
        tree_size as f64 / wall_s.max(1e-9),
        rss_kb / 1024.0,
        load_average()
    );
    println!(
        "{}",
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
    );
}
