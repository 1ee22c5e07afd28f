//! A hand-made "authenticator" with fixed keys: builds assertions byte by byte,
//! so tests can set any flag, counter or clientDataJSON and re-sign them.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use veche_passkey::{Algorithm, AssertionEvidence, StoredPublicKey};

pub const RP_ID: &str = "veche.example";
pub const ORIGIN: &str = "https://veche.example";

pub const UP: u8 = 0x01;
pub const UV: u8 = 0x04;
pub const BE: u8 = 0x08;
pub const BS: u8 = 0x10;
pub const AT: u8 = 0x40;
pub const ED: u8 = 0x80;

pub fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

pub fn origins() -> Vec<String> {
    vec![ORIGIN.to_owned()]
}

pub enum Key {
    Es256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl Key {
    /// P-256 key from a fixed scalar.
    pub fn es256(scalar: [u8; 32]) -> Self {
        Self::Es256(p256::ecdsa::SigningKey::from_bytes(&scalar.into()).expect("valid scalar"))
    }

    /// Ed25519 key from a fixed seed.
    pub fn ed25519(seed: [u8; 32]) -> Self {
        Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    pub fn public(&self) -> StoredPublicKey {
        match self {
            Self::Es256(k) => StoredPublicKey {
                alg: Algorithm::Es256,
                bytes: k
                    .verifying_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec(),
            },
            Self::Ed25519(k) => StoredPublicKey {
                alg: Algorithm::Ed25519,
                bytes: k.verifying_key().to_bytes().to_vec(),
            },
        }
    }

    /// ES256: deterministic (RFC 6979) ECDSA, DER; Ed25519: RFC 8032.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            Self::Es256(k) => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::Signature = k.sign(msg);
                sig.to_der().as_bytes().to_vec()
            }
            Self::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                k.sign(msg).to_bytes().to_vec()
            }
        }
    }
}

/// A clientDataJSON as browsers write it.
pub fn client_data(challenge: &[u8], origin: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"webauthn.get","challenge":"{}","origin":"{}","crossOrigin":false}}"#,
        b64(challenge),
        origin
    )
    .into_bytes()
}

/// authenticatorData: SHA-256(rp_id) ‖ flags ‖ counter (big-endian).
pub fn auth_data(rp_id: &str, flags: u8, counter: u32) -> Vec<u8> {
    let mut ad = Sha256::digest(rp_id.as_bytes()).to_vec();
    ad.push(flags);
    ad.extend_from_slice(&counter.to_be_bytes());
    ad
}

/// Signs authData ‖ SHA-256(clientDataJSON).
pub fn evidence(key: &Key, credential_id: &[u8], cdj: Vec<u8>, ad: Vec<u8>) -> AssertionEvidence {
    let mut msg = ad.clone();
    msg.extend_from_slice(&Sha256::digest(&cdj));
    AssertionEvidence {
        credential_id: credential_id.to_vec(),
        signature: key.sign(&msg),
        client_data_json: cdj,
        authenticator_data: ad,
    }
}

/// An AuthenticationResponseJSON carrying `ev`.
pub fn response_json(ev: &AssertionEvidence, user_handle: Option<&[u8]>) -> String {
    serde_json::json!({
        "id": b64(&ev.credential_id),
        "rawId": b64(&ev.credential_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(&ev.client_data_json),
            "authenticatorData": b64(&ev.authenticator_data),
            "signature": b64(&ev.signature),
            "userHandle": user_handle.map(b64),
        },
        "clientExtensionResults": {},
    })
    .to_string()
}
