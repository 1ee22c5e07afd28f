//! Argon2id cost on this machine: `cargo test -p veche-roll --release --test
//! timing -- --ignored --nocapture`.

use std::time::Instant;

use veche_roll::{EnrolmentCode, HashParams, IdentityHasher, Pepper, verify_code};

fn per_hash_ms(params: HashParams, n: u32) -> (f64, f64) {
    let h = IdentityHasher::new(Pepper::generate(), params).unwrap();
    let start = Instant::now();
    for i in 0..n {
        h.document_key("moscow", &format!("4508{i:06}"), "1990-02-28")
            .unwrap();
    }
    let key = start.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
    let (code, stored) = EnrolmentCode::generate(&h);
    let start = Instant::now();
    for _ in 0..n {
        assert!(verify_code(&stored, &code, &h));
    }
    let verify = start.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
    (key, verify)
}

#[test]
#[ignore = "timing, run by hand"]
fn argon2_timing() {
    for (name, params, n) in [
        ("production", HashParams::production(), 20),
        ("fast_for_tests", HashParams::fast_for_tests(), 2000),
    ] {
        let (key, verify) = per_hash_ms(params, n);
        println!(
            "{name} {params:?}: document_key {key:.3} ms/hash, verify_code {verify:.3} ms/verify"
        );
    }
}
