//! Action assertions built byte by byte with fixed keys: known-answer vectors,
//! every §7.2 refusal, and single-bit tampering (proptest).
//!
//! Regenerate `testdata/evidence_vectors.json` (only when the format changes on
//! purpose) with `VECHE_WRITE_VECTORS=1 cargo test -p veche-passkey --test evidence`.

mod common;

use common::*;
use proptest::prelude::*;
use serde_json::{Value, json};
use veche_passkey::{
    ActionChallenge, Algorithm, AssertionEvidence, PasskeyError, RegisteredCredential,
    RelyingParty, StoredPublicKey, UserHandle, verify_evidence,
};

const HANDLE: UserHandle = [0x55; 16];
const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/evidence_vectors.json"
);

fn rp() -> RelyingParty {
    RelyingParty::new(RP_ID, "Veche", origins()).unwrap()
}

fn seq(start: u8) -> [u8; 32] {
    std::array::from_fn(|i| start + i as u8)
}

struct Vector {
    name: &'static str,
    key_bytes: [u8; 32],
    key: Key,
    credential_id: Vec<u8>,
    action: &'static [u8],
    nonce: [u8; 32],
    flags: u8,
    counter: u32,
}

fn vectors() -> Vec<Vector> {
    vec![
        Vector {
            name: "es256-synced-passkey",
            key_bytes: seq(0x01),
            key: Key::es256(seq(0x01)),
            credential_id: (0xa0..=0xaf).collect(),
            action: b"veche test vector: sign petition 42",
            nonce: seq(0x40),
            flags: UP | UV | BE | BS,
            counter: 0,
        },
        Vector {
            name: "ed25519-security-key",
            key_bytes: seq(0x20),
            key: Key::ed25519(seq(0x20)),
            credential_id: (0xb0..=0xbf).collect(),
            action: b"veche test vector: ballot poll 7 option 2",
            nonce: seq(0x60),
            flags: UP | UV,
            counter: 7,
        },
    ]
}

fn build(v: &Vector) -> AssertionEvidence {
    let challenge = ActionChallenge::new(v.action, v.nonce);
    evidence(
        &v.key,
        &v.credential_id,
        client_data(challenge.as_bytes(), ORIGIN),
        auth_data(RP_ID, v.flags, v.counter),
    )
}

fn vector_json(v: &Vector) -> Value {
    let ev = build(v);
    let challenge = ActionChallenge::new(v.action, v.nonce);
    let public_key = v.key.public();
    json!({
        "name": v.name,
        "alg": public_key.alg,
        "private_key_hex": hex::encode(v.key_bytes),
        "public_key_hex": hex::encode(&public_key.bytes),
        "credential_id_hex": hex::encode(&ev.credential_id),
        "action_utf8": std::str::from_utf8(v.action).unwrap(),
        "action_hex": hex::encode(v.action),
        "nonce_hex": hex::encode(v.nonce),
        "challenge_hex": hex::encode(challenge.as_bytes()),
        "challenge_base64url": challenge.to_base64url(),
        "client_data_json_utf8": std::str::from_utf8(&ev.client_data_json).unwrap(),
        "client_data_json_hex": hex::encode(&ev.client_data_json),
        "authenticator_data_hex": hex::encode(&ev.authenticator_data),
        "signature_hex": hex::encode(&ev.signature),
        "evidence_encoding_hex": hex::encode(ev.encode()),
        "commitment_hex": hex::encode(ev.commitment()),
    })
}

#[test]
fn known_answer_vectors() {
    let generated = json!({
        "description": "veche-passkey action assertion evidence known answers (specs/passkeys.md)",
        "rp_id": RP_ID,
        "allowed_origins": origins(),
        "vectors": vectors().iter().map(vector_json).collect::<Vec<_>>(),
    });
    if std::env::var_os("VECHE_WRITE_VECTORS").is_some() {
        std::fs::write(
            VECTORS,
            serde_json::to_string_pretty(&generated).unwrap() + "\n",
        )
        .unwrap();
    }
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(VECTORS).unwrap()).unwrap();
    // Deterministic signing (RFC 6979 / RFC 8032): rebuilding gives the same bytes.
    assert_eq!(stored, generated);

    // Check the committed bytes, not what we just built.
    let rp_id = stored["rp_id"].as_str().unwrap();
    let origins: Vec<String> = serde_json::from_value(stored["allowed_origins"].clone()).unwrap();
    for v in stored["vectors"].as_array().unwrap() {
        let h = |k: &str| hex::decode(v[k].as_str().unwrap()).unwrap();
        let ev = AssertionEvidence {
            credential_id: h("credential_id_hex"),
            client_data_json: h("client_data_json_hex"),
            authenticator_data: h("authenticator_data_hex"),
            signature: h("signature_hex"),
        };
        let key = StoredPublicKey {
            alg: serde_json::from_value(v["alg"].clone()).unwrap(),
            bytes: h("public_key_hex"),
        };
        let nonce: [u8; 32] = h("nonce_hex").try_into().unwrap();
        assert_eq!(
            ActionChallenge::new(&h("action_hex"), nonce)
                .as_bytes()
                .as_slice(),
            h("challenge_hex")
        );
        verify_evidence(
            rp_id,
            &origins,
            &ev.credential_id,
            &key,
            &h("action_hex"),
            &nonce,
            &ev,
        )
        .unwrap();
        assert_eq!(ev.encode(), h("evidence_encoding_hex"));
        assert_eq!(
            AssertionEvidence::decode(&h("evidence_encoding_hex")).unwrap(),
            ev
        );
        assert_eq!(ev.commitment().as_slice(), h("commitment_hex"));
    }
}

fn credential(v: &Vector) -> RegisteredCredential {
    RegisteredCredential {
        id: v.credential_id.clone(),
        public_key: v.key.public(),
        sign_count: 0,
        backup_eligible: v.flags & BE != 0,
        backed_up: v.flags & BS != 0,
        user_handle: HANDLE,
        transports: vec!["internal".into()],
    }
}

/// Builds an assertion for vector `v` with `edit` applied to clientDataJSON
/// (as a string) and the given flags/counter/rp, signs it, and runs verify_action.
fn attempt(
    v: &Vector,
    cred: &RegisteredCredential,
    cdj: impl FnOnce(String) -> String,
    rp_id: &str,
    flags: u8,
    counter: u32,
) -> Result<veche_passkey::VerifiedAction, PasskeyError> {
    let challenge = ActionChallenge::new(v.action, v.nonce);
    let cd = cdj(String::from_utf8(client_data(challenge.as_bytes(), ORIGIN)).unwrap());
    let ev = evidence(
        &v.key,
        &v.credential_id,
        cd.into_bytes(),
        auth_data(rp_id, flags, counter),
    );
    rp().verify_action(
        &challenge,
        &response_json(&ev, Some(&HANDLE)),
        cred,
        &HANDLE,
    )
}

#[test]
fn crafted_assertions_are_accepted_when_right() {
    for v in vectors() {
        let cred = credential(&v);
        let ok = attempt(&v, &cred, |s| s, RP_ID, v.flags, v.counter).unwrap();
        assert_eq!(ok.new_sign_count, v.counter);
        assert_eq!(ok.evidence, build(&v));
        // Extra clientDataJSON members (as Chrome adds) are fine.
        let ok = attempt(
            &v,
            &cred,
            |s| s.replace('}', r#","other_keys_can_be_added_here":"x"}"#),
            RP_ID,
            v.flags,
            v.counter,
        );
        assert!(ok.is_ok(), "{ok:?}");
    }
}

#[test]
fn every_refusal() {
    for v in vectors() {
        let cred = credential(&v);
        let f = v.flags;
        let c = v.counter;
        let run = |cdj: fn(String) -> String, rp_id: &str, flags: u8| {
            attempt(&v, &cred, cdj, rp_id, flags, c)
        };
        assert_eq!(
            run(|s| s, RP_ID, f & !UV),
            Err(PasskeyError::UserVerificationMissing)
        );
        assert_eq!(
            run(|s| s, RP_ID, f & !UP),
            Err(PasskeyError::UserPresenceMissing)
        );
        assert_eq!(
            run(|s| s, "evil.example", f),
            Err(PasskeyError::RpIdMismatch)
        );
        assert!(matches!(
            run(|s| s, RP_ID, f ^ BE),
            Err(PasskeyError::BackupStateInconsistent(_))
        ));
        assert!(matches!(
            run(|s| s, RP_ID, (f & !BE) | BS),
            Err(PasskeyError::BackupStateInconsistent(_))
        ));
        assert!(matches!(
            run(|s| s, RP_ID, f | ED),
            Err(PasskeyError::UnexpectedAuthenticatorData(_))
        ));
        assert!(matches!(
            run(|s| s, RP_ID, f | AT),
            Err(PasskeyError::UnexpectedAuthenticatorData(_))
        ));
        assert!(matches!(
            run(|s| s.replace("webauthn.get", "webauthn.create"), RP_ID, f),
            Err(PasskeyError::WrongClientDataType { .. })
        ));
        assert_eq!(
            run(|s| s.replace(ORIGIN, "https://evil.example"), RP_ID, f),
            Err(PasskeyError::OriginNotAllowed {
                origin: "https://evil.example".into()
            })
        );
        assert_eq!(
            run(|s| s.replace(ORIGIN, "https://veche.example/"), RP_ID, f),
            Err(PasskeyError::OriginNotAllowed {
                origin: "https://veche.example/".into()
            })
        );
        assert_eq!(
            run(|s| s.replace("false", "true"), RP_ID, f),
            Err(PasskeyError::CrossOrigin)
        );
        assert!(matches!(
            run(|s| s.replace("false", "\"no\""), RP_ID, f),
            Err(PasskeyError::Malformed(_))
        ));
        assert_eq!(
            run(
                |s| s.replace('}', r#","topOrigin":"https://top.example"}"#),
                RP_ID,
                f
            ),
            Err(PasskeyError::TopOriginPresent("https://top.example".into()))
        );
        assert_eq!(
            run(|s| s.replace('}', r#","challenge":"AAAA"}"#), RP_ID, f),
            Err(PasskeyError::DuplicateKey("challenge".into()))
        );
        // The challenge with padding, or another challenge, is not the challenge.
        assert_eq!(
            run(|s| s.replacen("\",\"origin", "=\",\"origin", 1), RP_ID, f),
            Err(PasskeyError::ChallengeMismatch)
        );
        assert!(matches!(
            run(
                |s| s.replace("\"challenge\":", "\"challenge\":1,\"x\":"),
                RP_ID,
                f
            ),
            Err(PasskeyError::Malformed(_))
        ));
    }
}

#[test]
fn trailing_authenticator_data_is_refused() {
    let v = &vectors()[0];
    let challenge = ActionChallenge::new(v.action, v.nonce);
    let mut ad = auth_data(RP_ID, v.flags, v.counter);
    ad.push(0);
    let ev = evidence(
        &v.key,
        &v.credential_id,
        client_data(challenge.as_bytes(), ORIGIN),
        ad,
    );
    assert!(matches!(
        verify_evidence(
            RP_ID,
            &origins(),
            &v.credential_id,
            &v.key.public(),
            v.action,
            &v.nonce,
            &ev
        ),
        Err(PasskeyError::UnexpectedAuthenticatorData(_))
    ));
    let mut short = build(v);
    short.authenticator_data.truncate(36);
    assert!(matches!(
        verify_evidence(
            RP_ID,
            &origins(),
            &v.credential_id,
            &v.key.public(),
            v.action,
            &v.nonce,
            &short
        ),
        Err(PasskeyError::Malformed(_))
    ));
}

#[test]
fn tampering_without_re_signing_is_a_bad_signature() {
    for v in vectors() {
        let cred = credential(&v);
        let challenge = ActionChallenge::new(v.action, v.nonce);
        let good = build(&v);
        let check = |ev: &AssertionEvidence| {
            rp().verify_action(
                &challenge,
                &response_json(ev, Some(&HANDLE)),
                &cred,
                &HANDLE,
            )
        };
        let mut ad = good.clone();
        ad.authenticator_data[36] ^= 0x01; // counter
        assert_eq!(check(&ad), Err(PasskeyError::BadSignature));
        let mut cd = good.clone();
        cd.client_data_json.insert(1, b' ');
        assert_eq!(check(&cd), Err(PasskeyError::BadSignature));
        let mut sig = good.clone();
        let last = sig.signature.len() - 1;
        sig.signature[last] ^= 0x01;
        assert_eq!(check(&sig), Err(PasskeyError::BadSignature));
        sig.signature = vec![];
        assert_eq!(check(&sig), Err(PasskeyError::BadSignature));
    }
}

#[test]
fn response_level_refusals() {
    let v = &vectors()[1];
    let mut cred = credential(v);
    let ev = build(v);
    let challenge = ActionChallenge::new(v.action, v.nonce);
    let rp = rp();
    let json = response_json(&ev, Some(&HANDLE));
    let mut val: Value = serde_json::from_str(&json).unwrap();

    val["type"] = "password".into();
    assert_eq!(
        rp.verify_action(&challenge, &val.to_string(), &cred, &HANDLE),
        Err(PasskeyError::WrongCredentialType("password".into()))
    );
    val["type"] = "public-key".into();
    val["id"] = b64(b"another credential id").into();
    assert_eq!(
        rp.verify_action(&challenge, &val.to_string(), &cred, &HANDLE),
        Err(PasskeyError::IdMismatch)
    );
    val["id"] = val["rawId"].clone();
    val["response"]["userHandle"] = b64(&[0x66; 16]).into();
    assert_eq!(
        rp.verify_action(&challenge, &val.to_string(), &cred, &HANDLE),
        Err(PasskeyError::UserHandleMismatch)
    );
    // Without a user handle (allowed for non-discoverable use) it is fine.
    assert!(
        rp.verify_action(&challenge, &response_json(&ev, None), &cred, &HANDLE)
            .is_ok()
    );
    assert!(matches!(
        rp.verify_action(&challenge, "not json", &cred, &HANDLE),
        Err(PasskeyError::Malformed(_))
    ));
    // Counter: stored 7, got 7 (replay) and stored 8, got 7 (clone).
    cred.sign_count = 7;
    assert_eq!(
        rp.verify_action(&challenge, &json, &cred, &HANDLE),
        Err(PasskeyError::SignCountNotIncreasing { stored: 7, got: 7 })
    );
    cred.sign_count = 8;
    assert_eq!(
        rp.verify_action(&challenge, &json, &cred, &HANDLE),
        Err(PasskeyError::SignCountNotIncreasing { stored: 8, got: 7 })
    );
    // The credential row of another account.
    cred.sign_count = 0;
    cred.user_handle = [0x66; 16];
    assert_eq!(
        rp.verify_action(&challenge, &json, &cred, &HANDLE),
        Err(PasskeyError::UserHandleMismatch)
    );
}

/// ECDSA signatures are malleable: (r, n−s) verifies too. This is why the
/// evidence commitment, never the signature, identifies an assertion.
#[test]
fn ecdsa_malleability_is_why_signatures_are_not_identifiers() {
    use p256::elliptic_curve::PrimeField as _;
    let v = &vectors()[0];
    let good = build(v);
    let sig = p256::ecdsa::Signature::from_der(&good.signature).unwrap();
    let s: p256::Scalar = *sig.s();
    let flipped = p256::ecdsa::Signature::from_scalars(sig.r().to_repr(), (-s).to_repr()).unwrap();
    let mut other = good.clone();
    other.signature = flipped.to_der().as_bytes().to_vec();
    assert_ne!(other.signature, good.signature);
    verify_evidence(
        RP_ID,
        &origins(),
        &v.credential_id,
        &v.key.public(),
        v.action,
        &v.nonce,
        &other,
    )
    .unwrap();
    assert_ne!(other.commitment(), good.commitment());
}

#[test]
fn verify_evidence_checks_the_credential_and_key() {
    let vs = vectors();
    let ev = build(&vs[0]);
    let v = &vs[0];
    assert_eq!(
        verify_evidence(
            RP_ID,
            &origins(),
            &vs[1].credential_id,
            &v.key.public(),
            v.action,
            &v.nonce,
            &ev
        ),
        Err(PasskeyError::WrongCredential)
    );
    assert_eq!(
        verify_evidence(
            RP_ID,
            &origins(),
            &v.credential_id,
            &Key::es256(seq(0x02)).public(),
            v.action,
            &v.nonce,
            &ev
        ),
        Err(PasskeyError::BadSignature)
    );
    let truncated = StoredPublicKey {
        alg: Algorithm::Es256,
        bytes: v.key.public().bytes[..33].to_vec(),
    };
    assert!(matches!(
        verify_evidence(
            RP_ID,
            &origins(),
            &v.credential_id,
            &truncated,
            v.action,
            &v.nonce,
            &ev
        ),
        Err(PasskeyError::BadPublicKey(_))
    ));
    assert_eq!(
        verify_evidence(
            RP_ID,
            &origins(),
            &v.credential_id,
            &v.key.public(),
            v.action,
            &[0; 32],
            &ev
        ),
        Err(PasskeyError::ChallengeMismatch)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any single-bit change anywhere in the evidence fails verification.
    #[test]
    fn any_single_bit_flip_fails(which in 0usize..2, field in 0usize..4, pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let vs = vectors();
        let v = &vs[which];
        let mut ev = build(v);
        let target = match field {
            0 => &mut ev.credential_id,
            1 => &mut ev.client_data_json,
            2 => &mut ev.authenticator_data,
            _ => &mut ev.signature,
        };
        let i = pos.index(target.len());
        target[i] ^= 1 << bit;
        prop_assert!(verify_evidence(RP_ID, &origins(), &v.credential_id, &v.key.public(), v.action, &v.nonce, &ev).is_err());
    }

    /// The commitment changes with any single-bit change of the encoding's fields.
    #[test]
    fn commitment_binds_every_bit(field in 0usize..4, pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let v = &vectors()[0];
        let good = build(v);
        let mut ev = good.clone();
        let target = match field {
            0 => &mut ev.credential_id,
            1 => &mut ev.client_data_json,
            2 => &mut ev.authenticator_data,
            _ => &mut ev.signature,
        };
        let i = pos.index(target.len());
        target[i] ^= 1 << bit;
        prop_assert_ne!(ev.commitment(), good.commitment());
    }
}
