//! Durable append throughput through the sequencer, against a baseline
//! measured in the same run on the same database: plain multi-row INSERTs of
//! the same entries in transactions of the same size, with no tree work.
//!
//! ```text
//! cargo run --release -p veche-store --example append_bench -- --entries 200000
//! cargo run --release -p veche-store --example append_bench -- --entries 200000 \
//!     --database-url postgres://postgres@127.0.0.1:5432/test
//! ```
//! With PostgreSQL a scratch database is created and dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use veche_entry::{Date, Entry, Jurisdiction};
use veche_log::checkpoint::LogSigner;
use veche_store::{DatabaseConfig, Sequencer, SequencerConfig, Store, SystemClock};

#[derive(Parser)]
struct Args {
    /// Entries to append in each measurement.
    #[arg(long, default_value_t = 200_000)]
    entries: usize,
    /// Concurrent appenders (each appends one entry at a time).
    #[arg(long, default_value_t = 512)]
    clients: usize,
    /// PostgreSQL admin URL; SQLite in a temporary directory when absent.
    #[arg(long)]
    database_url: Option<String>,
}

fn entry(i: usize) -> Vec<u8> {
    Entry::new(
        1_795_442_400_000 + i as u64,
        Jurisdiction {
            id: format!("bench-region-{i}"),
            name_ru: "Тестовая область".into(),
            name_en: "Test Oblast".into(),
            population: 1_000_000 + i as u64,
            population_source: "Benchmark data".into(),
            population_date: Date::new(2024, 1, 1).unwrap(),
            legislature_ru: "Тестовая областная дума".into(),
            legislature_en: "Test Oblast Duma".into(),
        },
    )
    .encode()
    .unwrap()
}

async fn fresh_store(args: &Args, tag: &str, dir: &std::path::Path) -> (Store, Option<String>) {
    match &args.database_url {
        None => {
            let db = DatabaseConfig::Sqlite(dir.join(format!("{tag}.db")));
            (Store::open(&db).await.unwrap(), None)
        }
        Some(admin) => {
            use sqlx::Connection;
            let name = format!("veche_bench_{tag}_{}", std::process::id());
            let mut c = sqlx::PgConnection::connect(admin).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut c)
            .await
            .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut c)
                .await
                .unwrap();
            let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
            let db = DatabaseConfig::Postgres(url);
            (Store::open(&db).await.unwrap(), Some(name))
        }
    }
}

async fn drop_db(args: &Args, name: Option<String>) {
    if let (Some(admin), Some(name)) = (&args.database_url, name) {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(admin).await.unwrap();
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut c)
        .await;
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().unwrap();
    let entries: Vec<Vec<u8>> = (0..args.entries).map(entry).collect();
    let bytes: usize = entries.iter().map(Vec::len).sum();
    println!(
        "{} entries of {} bytes on average, {} concurrent appenders, {}",
        entries.len(),
        bytes / entries.len(),
        args.clients,
        if args.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );

    // 1. The sequencer, fed by many concurrent single-entry appends.
    let (store, name) = fresh_store(&args, "seq", dir.path()).await;
    let (signer, _) = LogSigner::generate("bench.veche/log");
    let config = SequencerConfig {
        checkpoint_interval: Duration::from_secs(1),
        ..SequencerConfig::default()
    };
    let seq = Sequencer::load(store.clone(), signer, Arc::new(SystemClock), config)
        .await
        .unwrap();
    let (log, task) = seq.spawn();
    let entries = Arc::new(entries);
    let started = Instant::now();
    let mut workers = Vec::new();
    for c in 0..args.clients {
        let (log, entries, clients) = (log.clone(), entries.clone(), args.clients);
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = c;
            while i < entries.len() {
                let t = Instant::now();
                log.append(entries[i].clone()).await.unwrap();
                latencies.push(t.elapsed());
                i += clients;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.unwrap());
    }
    let seq_secs = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e3;
    log.shutdown();
    task.await.unwrap();
    assert_eq!(store.tree_state().await.unwrap().size, args.entries as u64);
    store.close().await;
    drop_db(&args, name).await;

    // 2. Baseline: the same entries, plain INSERTs in 4096-entry transactions.
    let (store, name) = fresh_store(&args, "base", dir.path()).await;
    let started = Instant::now();
    let mut base = 0u64;
    for chunk in entries.chunks(4096) {
        store.insert_entries_baseline(base, chunk).await.unwrap();
        base += chunk.len() as u64;
    }
    let base_secs = started.elapsed().as_secs_f64();
    store.close().await;
    drop_db(&args, name).await;

    let seq_rate = args.entries as f64 / seq_secs;
    let base_rate = args.entries as f64 / base_secs;
    println!(
        "sequencer (durable, group commit): {seq_rate:>10.0} entries/s  p50 {:.1} ms  p99 {:.1} ms",
        pct(0.5),
        pct(0.99)
    );
    println!("baseline  (plain INSERT, same tx): {base_rate:>10.0} entries/s");
    println!("ratio sequencer/baseline: {:.2}", seq_rate / base_rate);
}
