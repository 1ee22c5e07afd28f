//! [`PasskeyError`]: one variant per distinct refusal, each with a stable [`PasskeyError::code`].

/// Why a passkey ceremony or an assertion was refused.
///
/// Every variant has a stable machine-readable [`code`](PasskeyError::code)
/// (the server maps them to RFC 9457 problem types) and a precise message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasskeyError {
    /// The input is not what the format requires (bad JSON, base64url, lengths, field types).
    #[error("malformed passkey data: {0}")]
    Malformed(String),
    /// The relying party is misconfigured (RP ID, origins, names).
    #[error("relying party configuration is invalid: {0}")]
    Config(String),
    /// The ceremony state has expired.
    #[error("the passkey ceremony has expired; start again")]
    Expired,
    /// The stored ceremony state is for another kind of ceremony.
    #[error("the ceremony state is for {found}, not {expected}")]
    WrongCeremony {
        /// The ceremony the caller tried to finish.
        expected: &'static str,
        /// The ceremony the state belongs to.
        found: &'static str,
    },
    /// `type` of the credential is not `public-key`.
    #[error("credential type must be \"public-key\", got {0:?}")]
    WrongCredentialType(String),
    /// The response's `id` and `rawId` differ.
    #[error("credential id and rawId differ")]
    IdMismatch,
    /// The assertion was made with another credential than the one expected.
    #[error("the assertion was made with another credential")]
    WrongCredential,
    /// No registered credential has this credential id.
    #[error("no registered passkey has this credential id")]
    UnknownCredential,
    /// `userHandle` is missing where it is required (username-less sign-in).
    #[error("the assertion carries no user handle")]
    UserHandleMissing,
    /// `userHandle` does not belong to the credential's owner.
    #[error("the assertion's user handle does not belong to the credential's owner")]
    UserHandleMismatch,
    /// clientDataJSON repeats a key.
    #[error("clientDataJSON repeats the key {0:?}")]
    DuplicateKey(String),
    /// clientDataJSON `type` is not the expected ceremony type.
    #[error("clientDataJSON type must be {expected:?}, got {got:?}")]
    WrongClientDataType {
        /// `webauthn.get` or `webauthn.create`.
        expected: &'static str,
        /// What the client sent.
        got: String,
    },
    /// clientDataJSON `challenge` is not the challenge this ceremony or action expects.
    #[error("the challenge signed is not the one expected for this ceremony or action")]
    ChallengeMismatch,
    /// clientDataJSON `origin` is not one of the allowed origins.
    #[error("origin {origin:?} is not allowed")]
    OriginNotAllowed {
        /// The origin the client reported.
        origin: String,
    },
    /// clientDataJSON `crossOrigin` is true.
    #[error("cross-origin assertions are not accepted")]
    CrossOrigin,
    /// clientDataJSON has a `topOrigin`.
    #[error("assertions made in a frame (topOrigin {0:?}) are not accepted")]
    TopOriginPresent(String),
    /// authenticatorData's rpIdHash is not SHA-256 of the RP ID.
    #[error("the assertion was made for another relying party (rpIdHash mismatch)")]
    RpIdMismatch,
    /// The UP flag is not set.
    #[error("the authenticator did not report user presence")]
    UserPresenceMissing,
    /// The UV flag is not set.
    #[error("the authenticator did not report user verification")]
    UserVerificationMissing,
    /// BE differs from the stored credential's, or BS is set without BE.
    #[error("backup flags are inconsistent: {0}")]
    BackupStateInconsistent(&'static str),
    /// authenticatorData has the ED flag or AT flag, or bytes after the fixed part.
    #[error("authenticatorData carries unexpected data: {0}")]
    UnexpectedAuthenticatorData(&'static str),
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// The signature counter did not increase.
    #[error(
        "signature counter did not increase (stored {stored}, got {got}): possible cloned authenticator or replay"
    )]
    SignCountNotIncreasing {
        /// The counter stored for the credential.
        stored: u32,
        /// The counter in the assertion.
        got: u32,
    },
    /// A stored public key cannot be used.
    #[error("stored public key is invalid: {0}")]
    BadPublicKey(String),
    /// The credential uses an algorithm other than ES256 or EdDSA (Ed25519).
    #[error("unsupported public-key algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// The registration ceremony failed (webauthn_rp's reason).
    #[error("passkey registration refused: {0}")]
    Registration(String),
}

impl PasskeyError {
    /// A stable, machine-readable code for this refusal (kebab-case).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::Config(_) => "config",
            Self::Expired => "expired",
            Self::WrongCeremony { .. } => "wrong-ceremony",
            Self::WrongCredentialType(_) => "wrong-credential-type",
            Self::IdMismatch => "id-mismatch",
            Self::WrongCredential => "wrong-credential",
            Self::UnknownCredential => "unknown-credential",
            Self::UserHandleMissing => "user-handle-missing",
            Self::UserHandleMismatch => "user-handle-mismatch",
            Self::DuplicateKey(_) => "duplicate-key",
            Self::WrongClientDataType { .. } => "wrong-client-data-type",
            Self::ChallengeMismatch => "challenge-mismatch",
            Self::OriginNotAllowed { .. } => "origin-not-allowed",
            Self::CrossOrigin => "cross-origin",
            Self::TopOriginPresent(_) => "top-origin-present",
            Self::RpIdMismatch => "rp-id-mismatch",
            Self::UserPresenceMissing => "user-presence-missing",
            Self::UserVerificationMissing => "user-verification-missing",
            Self::BackupStateInconsistent(_) => "backup-state-inconsistent",
            Self::UnexpectedAuthenticatorData(_) => "unexpected-authenticator-data",
            Self::BadSignature => "bad-signature",
            Self::SignCountNotIncreasing { .. } => "sign-count-not-increasing",
            Self::BadPublicKey(_) => "bad-public-key",
            Self::UnsupportedAlgorithm(_) => "unsupported-algorithm",
            Self::Registration(_) => "registration-refused",
        }
    }

    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        Self::Malformed(msg.into())
    }
}
