//! Verification speed of action assertions (one core): the full `verify_action`
//! (JSON parsing + §7.2 + counter) and the auditor's `verify_evidence`, for
//! ES256 (RustCrypto p256) and Ed25519, plus the evidence commitment.
//!
//! `cargo bench -p veche-passkey`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use veche_passkey::software::SoftwareAuthenticator;
use veche_passkey::{ActionChallenge, Algorithm, RelyingParty, verify_evidence};

const ORIGIN: &str = "http://localhost:8080";

fn bench(c: &mut Criterion) {
    let rp = RelyingParty::new("localhost", "Veche", vec![ORIGIN.into()]).unwrap();
    let mut group = c.benchmark_group("action_assertion");
    group.throughput(Throughput::Elements(1));
    for alg in [Algorithm::Es256, Algorithm::Ed25519] {
        let mut auth = SoftwareAuthenticator::new(alg);
        let (options, state) = rp
            .start_registration([1; 16], "bench", "Bench", &[])
            .unwrap();
        let cred = rp
            .finish_registration(&state, &auth.register(ORIGIN, &options).unwrap())
            .unwrap();
        let action = b"sign petition 1";
        let nonce = [9; 32];
        let challenge = ActionChallenge::new(action, nonce);
        let response = auth
            .assert(
                ORIGIN,
                &rp.action_request_options(&challenge, std::slice::from_ref(&cred.id)),
            )
            .unwrap();
        let name = format!("{alg:?}").to_lowercase();
        group.bench_function(format!("verify_action/{name}"), |b| {
            b.iter(|| {
                rp.verify_action(&challenge, &response, &cred, &[1; 16])
                    .unwrap()
            });
        });
        let ev = rp
            .verify_action(&challenge, &response, &cred, &[1; 16])
            .unwrap()
            .evidence;
        group.bench_function(format!("verify_evidence/{name}"), |b| {
            b.iter(|| {
                verify_evidence(
                    &rp.rp_id,
                    &rp.allowed_origins,
                    &cred.id,
                    &cred.public_key,
                    action,
                    &nonce,
                    &ev,
                )
                .unwrap()
            });
        });
        group.bench_function(format!("commitment/{name}"), |b| b.iter(|| ev.commitment()));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
