//! Writes a static tlog-tiles mirror of realistic `jurisdiction` entries,
//! signed by a freshly generated key, and prints the verifier key:
//!
//! ```sh
//! cargo run --release -p veche-verify --example gen_mirror -- DIR 1000000
//! ```

use std::path::PathBuf;
use veche_log::LogSigner;
use veche_verify::mirror::{sample_entry, write_test_mirror};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: gen_mirror DIR N_ENTRIES [ORIGIN]";
    let dir = PathBuf::from(args.next().ok_or(usage)?);
    let n: u64 = args.next().ok_or(usage)?.parse()?;
    let origin = args
        .next()
        .unwrap_or_else(|| "bench.veche.example/log".into());
    let (signer, _skey) = LogSigner::generate(&origin);
    let started = std::time::Instant::now();
    let cp = write_test_mirror(&dir, n, &signer, sample_entry)?;
    eprintln!(
        "wrote {} entries to {} in {:.1?} (root {})",
        cp.size,
        dir.display(),
        started.elapsed(),
        cp.root.to_base64()
    );
    println!("{}", signer.vkey());
    Ok(())
}
