//! # veche-passkey: the relying-party side of Veche passkeys
//!
//! Citizens and staff of Veche authenticate with passkeys (WebAuthn), and every
//! petition signature or ballot is a WebAuthn *assertion whose challenge
//! commits to the action*, so the assertion itself is the citizen's consent.
//! This crate owns, with no HTTP, no database and no clock other than for
//! ceremony expiry:
//!
//! * [`RelyingParty`]: the RP ID, name and the exact allowed origins;
//! * registration ([`RelyingParty::start_registration`],
//!   [`RelyingParty::finish_registration`], feature `registration`, on by default) through
//!   [`webauthn_rp`]: discoverable credential, user verification required,
//!   ES256 or EdDSA (Ed25519), `credProtect` requested but not enforced,
//!   attestation `none`; the result is a [`RegisteredCredential`] of this crate's
//!   own, serialisable and independent of `webauthn_rp`;
//! * username-less sign-in ([`RelyingParty::start_authentication`],
//!   [`RelyingParty::finish_authentication`]) with discoverable credentials
//!   (conditional UI compatible), verified by the same W3C WebAuthn Level 3
//!   §7.2 code as action assertions, with a random 32-byte challenge;
//! * action assertions: [`ActionChallenge`] (a BLAKE3 derivation of the action
//!   bytes and a server nonce), [`RelyingParty::action_request_options`],
//!   [`RelyingParty::verify_action`], the raw [`AssertionEvidence`] with its
//!   [`commitment`](AssertionEvidence::commitment) for the log, and the pure
//!   [`verify_evidence`] an auditor re-runs later;
//! * [`CeremonyState`]: opaque state the server keeps server-side (keyed by a
//!   random id, deleted on use) between the start and finish of a ceremony;
//! * [`PasskeyError`]: one variant per refusal, each with a stable
//!   [`code`](PasskeyError::code);
//! * behind feature `software-authenticator`: `software::SoftwareAuthenticator`
//!   (1Password's `passkey-*` crates) for tests and the load tool.
//!
//! Exact formats (challenge, evidence, commitment) and known-answer vectors are
//! in `specs/passkeys.md`.
//!
//! The crates `webauthn-rs`, `webauthn-rs-core` and `webauthn-authenticator-rs`
//! are neither used nor consulted: their authors do not allow use with AI tools.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod assertion;
pub(crate) mod b64;
mod error;
#[cfg(feature = "registration")]
mod registration;
mod signin;
#[cfg(feature = "software-authenticator")]
pub mod software;
mod strict_json;

use serde::{Deserialize, Serialize};

pub use assertion::{
    ACTION_CHALLENGE_CONTEXT, ActionChallenge, AssertionEvidence, EVIDENCE_COMMITMENT_CONTEXT,
    EvidenceInfo, VerifiedAction, verify_evidence,
};
pub use error::PasskeyError;
pub use signin::Authenticated;

/// Length of a Veche WebAuthn user handle: 16 random bytes, fixed per account.
pub const USER_HANDLE_LEN: usize = 16;

/// A WebAuthn user handle (`user.id`): 16 random bytes chosen by the server per account.
pub type UserHandle = [u8; USER_HANDLE_LEN];

/// A raw WebAuthn credential id (1–1023 bytes).
pub type CredentialId = Vec<u8>;

/// How long a ceremony (registration, sign-in) stays valid: 5 minutes.
pub const CEREMONY_TIMEOUT_MS: u64 = 300_000;

/// The relying party: Veche's WebAuthn configuration.
///
/// `rp_id` is a domain (e.g. `localhost` in development, the public host in
/// production); `allowed_origins` are compared byte-for-byte with clientDataJSON's
/// `origin` (e.g. `http://localhost:8080`, `https://veche.example`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelyingParty {
    /// The RP ID (a registrable domain suffix of the origins' hosts).
    pub rp_id: String,
    /// The human-palatable RP name shown by authenticators.
    pub rp_name: String,
    /// Exact origins (`scheme://host[:port]`, no trailing slash) allowed in clientDataJSON.
    pub allowed_origins: Vec<String>,
}

impl RelyingParty {
    /// Builds and checks a relying party: `rp_id` a lowercase ASCII domain, at least one
    /// origin, each `https://…` or `http://localhost[:port]`, without path or trailing slash.
    ///
    /// # Errors
    /// [`PasskeyError::Config`] naming what is wrong.
    pub fn new(
        rp_id: impl Into<String>,
        rp_name: impl Into<String>,
        allowed_origins: Vec<String>,
    ) -> Result<Self, PasskeyError> {
        let rp = Self {
            rp_id: rp_id.into(),
            rp_name: rp_name.into(),
            allowed_origins,
        };
        rp.check()?;
        Ok(rp)
    }

    /// Checks the configuration (see [`RelyingParty::new`]).
    ///
    /// # Errors
    /// [`PasskeyError::Config`] naming what is wrong.
    pub fn check(&self) -> Result<(), PasskeyError> {
        let cfg = |m: String| Err(PasskeyError::Config(m));
        let id = &self.rp_id;
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            || id.starts_with('.')
            || id.ends_with('.')
        {
            return cfg(format!("rp_id {id:?} is not a lowercase ASCII domain"));
        }
        if id.parse::<std::net::Ipv4Addr>().is_ok() {
            return cfg(format!(
                "rp_id {id:?} is an IP address; WebAuthn needs a domain"
            ));
        }
        if self.rp_name.trim().is_empty() {
            return cfg("rp_name is empty".into());
        }
        if self.allowed_origins.is_empty() {
            return cfg("no allowed origins".into());
        }
        for o in &self.allowed_origins {
            let host_port = if let Some(rest) = o.strip_prefix("https://") {
                rest
            } else if let Some(rest) = o.strip_prefix("http://") {
                let host = rest.split(':').next().unwrap_or_default();
                if host != "localhost" {
                    return cfg(format!(
                        "origin {o:?}: plain http is allowed only for localhost"
                    ));
                }
                rest
            } else {
                return cfg(format!("origin {o:?} must start with https:// or http://"));
            };
            if host_port.is_empty() || host_port.contains(['/', '?', '#', '@']) {
                return cfg(format!(
                    "origin {o:?} must be scheme://host[:port] with no path or trailing slash"
                ));
            }
            let host = host_port.split(':').next().unwrap_or_default();
            if host != id.as_str() && !host.ends_with(&format!(".{id}")) {
                return cfg(format!("origin {o:?} is not within rp_id {id:?}"));
            }
        }
        Ok(())
    }

    pub(crate) fn origin_allowed(allowed: &[String], origin: &str) -> bool {
        allowed.iter().any(|o| o == origin)
    }
}

/// Public-key algorithm of a stored credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// COSE -7: ECDSA with P-256 and SHA-256, signatures DER-encoded.
    Es256,
    /// COSE -8 (EdDSA) with the Ed25519 curve.
    Ed25519,
}

impl Algorithm {
    /// The COSE algorithm identifier (-7 or -8).
    #[must_use]
    pub fn cose(self) -> i64 {
        match self {
            Self::Es256 => -7,
            Self::Ed25519 => -8,
        }
    }
}

/// A credential public key as stored: ES256 as the 65-byte SEC1 uncompressed point
/// (`0x04 ‖ x ‖ y`), Ed25519 as the 32-byte RFC 8032 key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StoredPublicKey {
    /// The algorithm.
    pub alg: Algorithm,
    /// The key bytes (base64url in JSON).
    #[serde(with = "b64::bytes")]
    pub bytes: Vec<u8>,
}

/// A registered passkey: everything needed later to verify its assertions.
///
/// Serialisable (JSON with base64url bytes) for the server's store and the
/// auditor's export; independent of `webauthn_rp`'s types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredCredential {
    /// The credential id (base64url in JSON).
    #[serde(with = "b64::bytes")]
    pub id: CredentialId,
    /// The credential public key.
    pub public_key: StoredPublicKey,
    /// The last signature counter seen (0 for authenticators without counters).
    pub sign_count: u32,
    /// BE: the credential may be backed up (synced passkey). Fixed for a credential's life.
    pub backup_eligible: bool,
    /// BS: the credential was backed up when last seen.
    pub backed_up: bool,
    /// The account's user handle.
    #[serde(with = "b64::array")]
    pub user_handle: UserHandle,
    /// Transport hints reported at registration (`internal`, `hybrid`, `usb`, …).
    pub transports: Vec<String>,
}

/// Which ceremony a [`CeremonyState`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CeremonyKind {
    /// Passkey registration.
    Registration,
    /// Username-less sign-in.
    SignIn,
}

impl CeremonyKind {
    fn name(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::SignIn => "sign-in",
        }
    }
}

/// Server-side state between the start and the finish of a ceremony.
///
/// Opaque: store it server-side under a random id (or MAC it), hand the client
/// only the options JSON, and **delete it on use** (otherwise a response could be
/// replayed). It expires after [`CEREMONY_TIMEOUT_MS`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CeremonyState {
    kind: CeremonyKind,
    #[serde(with = "b64::bytes")]
    data: Vec<u8>,
    expires_at_ms: u64,
}

impl CeremonyState {
    /// Which ceremony this state is for.
    #[must_use]
    pub fn kind(&self) -> CeremonyKind {
        self.kind
    }

    /// Expiry in milliseconds since the Unix epoch.
    #[must_use]
    pub fn expires_at_ms(&self) -> u64 {
        self.expires_at_ms
    }

    /// `true` iff expired at `now_ms` (milliseconds since the Unix epoch).
    #[must_use]
    pub fn is_expired_at(&self, now_ms: u64) -> bool {
        now_ms >= self.expires_at_ms
    }

    pub(crate) fn new(kind: CeremonyKind, data: Vec<u8>, expires_at_ms: u64) -> Self {
        Self {
            kind,
            data,
            expires_at_ms,
        }
    }

    /// Checks kind and expiry, returning the data.
    pub(crate) fn open(&self, expected: CeremonyKind) -> Result<&[u8], PasskeyError> {
        if self.kind != expected {
            return Err(PasskeyError::WrongCeremony {
                expected: expected.name(),
                found: self.kind.name(),
            });
        }
        if self.is_expired_at(now_ms()) {
            return Err(PasskeyError::Expired);
        }
        Ok(&self.data)
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    use rand_core::RngCore as _;
    let mut out = [0u8; N];
    rand_core::OsRng.fill_bytes(&mut out);
    out
}
