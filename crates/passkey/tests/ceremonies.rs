//! Full ceremonies against the software authenticator (1Password's passkey-* crates):
//! registration, username-less sign-in and action assertions, and their refusals.

use serde_json::Value;
use veche_passkey::software::SoftwareAuthenticator;
use veche_passkey::{
    ActionChallenge, Algorithm, CeremonyState, PasskeyError, RegisteredCredential, RelyingParty,
    UserHandle, verify_evidence,
};

const ORIGIN: &str = "http://localhost:8080";
const HANDLE: UserHandle = [7; 16];

fn rp() -> RelyingParty {
    RelyingParty::new("localhost", "Veche", vec![ORIGIN.to_owned()]).unwrap()
}

fn register(rp: &RelyingParty, auth: &mut SoftwareAuthenticator) -> RegisteredCredential {
    let (options, state) = rp
        .start_registration(HANDLE, "ivan", "Иван Петров", &[])
        .unwrap();
    let response = auth.register(ORIGIN, &options).unwrap();
    rp.finish_registration(&state, &response).unwrap()
}

fn sign_in(
    rp: &RelyingParty,
    auth: &mut SoftwareAuthenticator,
    cred: &RegisteredCredential,
) -> Result<veche_passkey::Authenticated, PasskeyError> {
    let (options, state) = rp.start_authentication();
    let response = auth.assert(ORIGIN, &options).unwrap();
    rp.finish_authentication(&state, &response, |id| {
        (id == cred.id.as_slice()).then(|| cred.clone())
    })
}

#[test]
fn creation_options_are_what_we_ask_for() {
    let rp = rp();
    let (options, state) = rp
        .start_registration(HANDLE, "ivan", "Ivan", &[vec![1; 16]])
        .unwrap();
    assert!(options.get("publicKey").is_none(), "no wrapper: {options}");
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["rp"]["name"], "Veche");
    assert_eq!(options["user"]["id"], "BwcHBwcHBwcHBwcHBwcHBw");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options["attestation"], "none");
    let algs: Vec<i64> = options["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["alg"].as_i64().unwrap())
        .collect();
    assert_eq!(algs, vec![-8, -7]);
    assert_eq!(
        options["excludeCredentials"][0]["id"],
        "AQEBAQEBAQEBAQEBAQEBAQ"
    );
    assert_eq!(
        options["extensions"]["credentialProtectionPolicy"],
        "userVerificationRequired"
    );
    assert_ne!(
        options["extensions"]["enforceCredentialProtectionPolicy"],
        Value::Bool(true)
    );
    assert!(state.expires_at_ms() > 0);
}

#[test]
fn registration_and_sign_in_round_trip_es256_and_ed25519() {
    for alg in [Algorithm::Es256, Algorithm::Ed25519] {
        let rp = rp();
        let mut auth = SoftwareAuthenticator::new(alg);
        let cred = register(&rp, &mut auth);
        assert_eq!(cred.public_key.alg, alg);
        assert_eq!(
            cred.public_key.bytes.len(),
            if alg == Algorithm::Es256 { 65 } else { 32 }
        );
        assert_eq!(cred.user_handle, HANDLE);
        assert_eq!(cred.sign_count, 0);
        // Serialisable and back.
        let stored: RegisteredCredential =
            serde_json::from_str(&serde_json::to_string(&cred).unwrap()).unwrap();
        assert_eq!(stored, cred);

        let ok = sign_in(&rp, &mut auth, &stored).unwrap();
        assert_eq!(ok.credential_id, cred.id);
        assert_eq!(ok.user_handle, HANDLE);
        assert_eq!(ok.new_sign_count, 0);
        // Counters of 0 stay acceptable (synced passkeys).
        sign_in(&rp, &mut auth, &stored).unwrap();
    }
}

#[test]
fn action_assertion_round_trip_and_evidence_reverifies() {
    for alg in [Algorithm::Es256, Algorithm::Ed25519] {
        let rp = rp();
        let mut auth = SoftwareAuthenticator::with_counter(alg);
        let cred = register(&rp, &mut auth);
        let action = b"sign petition 42";
        let nonce = ActionChallenge::random_nonce();
        let challenge = ActionChallenge::new(action, nonce);
        let options = rp.action_request_options(&challenge, std::slice::from_ref(&cred.id));
        assert_eq!(options["userVerification"], "required");
        assert_eq!(options["challenge"], challenge.to_base64url());
        let response = auth.assert(ORIGIN, &options).unwrap();
        let verified = rp
            .verify_action(&challenge, &response, &cred, &HANDLE)
            .unwrap();
        assert_eq!(verified.credential_id, cred.id);
        assert!(verified.new_sign_count > cred.sign_count);

        let info = verify_evidence(
            &rp.rp_id,
            &rp.allowed_origins,
            &cred.id,
            &cred.public_key,
            action,
            &nonce,
            &verified.evidence,
        )
        .unwrap();
        assert_eq!(info.sign_count, verified.new_sign_count);
        // Evidence survives its JSON form.
        let ev2 =
            serde_json::from_str(&serde_json::to_string(&verified.evidence).unwrap()).unwrap();
        assert_eq!(verified.evidence, ev2);
        assert_eq!(verified.evidence.commitment(), ev2.commitment());

        // The auditor with another action or nonce refuses it.
        assert_eq!(
            verify_evidence(
                &rp.rp_id,
                &rp.allowed_origins,
                &cred.id,
                &cred.public_key,
                b"sign petition 43",
                &nonce,
                &verified.evidence
            ),
            Err(PasskeyError::ChallengeMismatch)
        );
    }
}

#[test]
fn refusals_with_the_software_authenticator() {
    let rp = rp();
    let mut auth = SoftwareAuthenticator::with_counter(Algorithm::Es256);
    let mut cred = register(&rp, &mut auth);
    let nonce = [1; 32];
    let challenge = ActionChallenge::new(b"vote poll 1 option 2", nonce);
    let options = rp.action_request_options(&challenge, std::slice::from_ref(&cred.id));
    let response = auth.assert(ORIGIN, &options).unwrap();

    // An assertion for another action (another challenge).
    let other = ActionChallenge::new(b"vote poll 1 option 3", nonce);
    assert_eq!(
        rp.verify_action(&other, &response, &cred, &HANDLE),
        Err(PasskeyError::ChallengeMismatch)
    );
    // Another origin: a relying party that allows only its production origin.
    let prod = RelyingParty::new("localhost", "Veche", vec!["https://localhost".into()]).unwrap();
    assert_eq!(
        prod.verify_action(&challenge, &response, &cred, &HANDLE),
        Err(PasskeyError::OriginNotAllowed {
            origin: ORIGIN.into()
        })
    );
    // Another account's user handle.
    assert_eq!(
        rp.verify_action(&challenge, &response, &cred, &[8; 16]),
        Err(PasskeyError::UserHandleMismatch)
    );
    // Another credential.
    let mut other_auth = SoftwareAuthenticator::with_counter(Algorithm::Es256);
    let other_cred = register(&rp, &mut other_auth);
    assert_eq!(
        rp.verify_action(&challenge, &response, &other_cred, &HANDLE),
        Err(PasskeyError::WrongCredential)
    );

    // Accepted once; the same response again is a replay (counter did not increase).
    let ok = rp
        .verify_action(&challenge, &response, &cred, &HANDLE)
        .unwrap();
    cred.sign_count = ok.new_sign_count;
    assert_eq!(
        rp.verify_action(&challenge, &response, &cred, &HANDLE),
        Err(PasskeyError::SignCountNotIncreasing {
            stored: ok.new_sign_count,
            got: ok.new_sign_count
        })
    );

    // A sign-in assertion offered as an action assertion.
    let (signin_options, signin_state) = rp.start_authentication();
    let signin_response = auth.assert(ORIGIN, &signin_options).unwrap();
    assert_eq!(
        rp.verify_action(&challenge, &signin_response, &cred, &HANDLE),
        Err(PasskeyError::ChallengeMismatch)
    );
    // And an action assertion offered as a sign-in.
    let response2 = auth.assert(ORIGIN, &options).unwrap();
    let lookup = |id: &[u8]| (id == cred.id.as_slice()).then(|| cred.clone());
    assert_eq!(
        rp.finish_authentication(&signin_state, &response2, lookup),
        Err(PasskeyError::ChallengeMismatch)
    );
    // Unknown credential at sign-in.
    assert_eq!(
        rp.finish_authentication(&signin_state, &signin_response, |_| None),
        Err(PasskeyError::UnknownCredential)
    );
    // A registration state offered to sign-in.
    let (_, reg_state) = rp.start_registration(HANDLE, "ivan", "Ivan", &[]).unwrap();
    assert!(matches!(
        rp.finish_authentication(&reg_state, &signin_response, lookup),
        Err(PasskeyError::WrongCeremony { .. })
    ));
    // The sign-in response itself is fine before it expires...
    rp.finish_authentication(&signin_state, &signin_response, lookup)
        .unwrap();
    // ...and refused once expired.
    let expired = expire(&signin_state);
    assert_eq!(
        rp.finish_authentication(&expired, &signin_response, lookup),
        Err(PasskeyError::Expired)
    );
}

/// The state as the server would read it back, with its expiry in the past.
fn expire(state: &CeremonyState) -> CeremonyState {
    let mut v = serde_json::to_value(state).unwrap();
    v["expires_at_ms"] = 1.into();
    serde_json::from_value(v).unwrap()
}

#[test]
fn registration_refusals() {
    let rp = rp();
    let mut auth = SoftwareAuthenticator::new(Algorithm::Es256);
    let (options, state) = rp.start_registration(HANDLE, "ivan", "Ivan", &[]).unwrap();
    let response = auth.register(ORIGIN, &options).unwrap();
    // Other origin.
    let prod = RelyingParty::new("localhost", "Veche", vec!["https://localhost".into()]).unwrap();
    assert_eq!(
        prod.finish_registration(&state, &response),
        Err(PasskeyError::OriginNotAllowed {
            origin: ORIGIN.into()
        })
    );
    // Another ceremony's state (other challenge).
    let (_, other_state) = rp.start_registration(HANDLE, "ivan", "Ivan", &[]).unwrap();
    assert_eq!(
        rp.finish_registration(&other_state, &response),
        Err(PasskeyError::ChallengeMismatch)
    );
    // Expired.
    assert_eq!(
        rp.finish_registration(&expire(&state), &response),
        Err(PasskeyError::Expired)
    );
    // Sign-in state.
    let (_, signin_state) = rp.start_authentication();
    assert!(matches!(
        rp.finish_registration(&signin_state, &response),
        Err(PasskeyError::WrongCeremony { .. })
    ));
    // Garbage.
    assert!(matches!(
        rp.finish_registration(&state, "{}"),
        Err(PasskeyError::Malformed(_))
    ));
    rp.finish_registration(&state, &response).unwrap();
    // Excluded credential: the authenticator refuses to create a second one.
    let cred = rp.finish_registration(&state, &response).unwrap();
    let (options, _) = rp
        .start_registration(HANDLE, "ivan", "Ivan", std::slice::from_ref(&cred.id))
        .unwrap();
    assert!(auth.register(ORIGIN, &options).is_err());
}

#[test]
fn error_codes_are_stable_and_distinct() {
    let all = [
        PasskeyError::Malformed(String::new()),
        PasskeyError::Expired,
        PasskeyError::ChallengeMismatch,
        PasskeyError::OriginNotAllowed {
            origin: String::new(),
        },
        PasskeyError::UserVerificationMissing,
        PasskeyError::SignCountNotIncreasing { stored: 1, got: 1 },
        PasskeyError::BadSignature,
        PasskeyError::WrongCredential,
    ];
    let codes: std::collections::BTreeSet<_> = all.iter().map(PasskeyError::code).collect();
    assert_eq!(codes.len(), all.len());
    assert_eq!(PasskeyError::ChallengeMismatch.code(), "challenge-mismatch");
}

#[test]
fn relying_party_configuration_is_checked() {
    let ok = |id: &str, o: &str| RelyingParty::new(id, "Veche", vec![o.to_owned()]).is_ok();
    assert!(ok("localhost", "http://localhost:8080"));
    assert!(ok("veche.example", "https://veche.example"));
    assert!(ok("veche.example", "https://vote.veche.example:8443"));
    assert!(!ok("127.0.0.1", "http://127.0.0.1:8080"));
    assert!(!ok("veche.example", "http://veche.example"));
    assert!(!ok("veche.example", "https://veche.example/"));
    assert!(!ok("veche.example", "https://evil.example"));
    assert!(!ok("Veche.Example", "https://veche.example"));
    assert!(RelyingParty::new("localhost", "Veche", vec![]).is_err());
}
