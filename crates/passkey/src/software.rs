//! A software authenticator for tests and the load tool (feature `software-authenticator`).
//!
//! Wraps 1Password's `passkey-client` + `passkey-authenticator` (RustCrypto
//! backend) behind a synchronous API that speaks the standard WebAuthn JSON:
//! it takes the options JSON this crate produces and returns
//! RegistrationResponseJSON / AuthenticationResponseJSON strings.
//!
//! One [`SoftwareAuthenticator`] holds at most one passkey (like one simulated
//! authenticator holding one account's passkey), which is what makes
//! username-less sign-in with an empty `allowCredentials` work (the
//! `MemoryStore` of `passkey-authenticator` finds nothing without an allow list).
//! User presence and verification are always granted.

use passkey_authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod};
use passkey_client::{Client, DefaultClientData};
use passkey_crypto::{AvailableBackend, iana};
use passkey_types::ctap2::{Aaguid, Ctap2Error};
use passkey_types::{Passkey, webauthn};
use serde_json::Value;

use crate::Algorithm;

/// Grants user presence and user verification to every request; refuses to
/// create a credential when an excluded one is present.
struct AlwaysVerified;

#[async_trait::async_trait]
impl UserValidationMethod for AlwaysVerified {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        // Like a platform authenticator: an excluded credential ends the ceremony.
        if matches!(hint, UiHint::InformExcludedCredentialFound(_)) {
            return Err(Ctap2Error::CredentialExcluded);
        }
        Ok(UserCheck {
            presence,
            verification,
        })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }
}

type Inner =
    Client<Option<Passkey>, AlwaysVerified, AvailableBackend, public_suffix::PublicSuffixList, ()>;

/// Why the software authenticator failed.
#[derive(Debug, thiserror::Error)]
pub enum SoftwareAuthenticatorError {
    /// The options or origin could not be parsed.
    #[error("bad input: {0}")]
    Input(String),
    /// The client or authenticator refused.
    #[error("authenticator refused: {0}")]
    Refused(String),
}

/// A simulated authenticator holding at most one passkey.
pub struct SoftwareAuthenticator {
    client: Inner,
}

impl SoftwareAuthenticator {
    /// A new authenticator that creates credentials of `alg` and, like synced
    /// passkeys, keeps the signature counter at 0.
    #[must_use]
    pub fn new(alg: Algorithm) -> Self {
        Self::build(alg, false)
    }

    /// A new authenticator whose credentials have a signature counter
    /// (incremented by 1 on every assertion), like many security keys.
    #[must_use]
    pub fn with_counter(alg: Algorithm) -> Self {
        Self::build(alg, true)
    }

    fn build(alg: Algorithm, counter: bool) -> Self {
        let mut authenticator = Authenticator::new(
            Aaguid::new_empty(),
            None::<Passkey>,
            AlwaysVerified,
            AvailableBackend,
        );
        let alg = match alg {
            Algorithm::Es256 => iana::Algorithm::ES256,
            Algorithm::Ed25519 => iana::Algorithm::EdDSA,
        };
        // Both are supported by the RustCrypto backend, so this cannot fail.
        let _ = authenticator.set_algorithms(&[alg]);
        authenticator.set_make_credentials_with_signature_counter(counter);
        Self {
            client: Client::new(authenticator).allows_insecure_localhost(true),
        }
    }

    /// The passkey this authenticator holds, if any (for tests that need its private key).
    #[must_use]
    pub fn passkey(&self) -> Option<&Passkey> {
        self.client.authenticator().store().as_ref()
    }

    /// Creates a credential from PublicKeyCredentialCreationOptionsJSON (no
    /// `publicKey` wrapper) at `origin`; returns the RegistrationResponseJSON.
    ///
    /// # Errors
    /// Bad options or origin, or the client/authenticator refuses (e.g. the
    /// origin is not within the RP ID, or an excluded credential is present).
    pub fn register(
        &mut self,
        origin: &str,
        creation_options_json: &Value,
    ) -> Result<String, SoftwareAuthenticatorError> {
        let url = url::Url::parse(origin)
            .map_err(|e| SoftwareAuthenticatorError::Input(format!("origin: {e}")))?;
        let public_key: webauthn::PublicKeyCredentialCreationOptions =
            serde_json::from_value(creation_options_json.clone())
                .map_err(|e| SoftwareAuthenticatorError::Input(format!("creation options: {e}")))?;
        let request = webauthn::CredentialCreationOptions { public_key };
        let created =
            futures_executor::block_on(self.client.register(&url, request, DefaultClientData))
                .map_err(|e| SoftwareAuthenticatorError::Refused(format!("{e:?}")))?;
        serde_json::to_string(&created)
            .map_err(|e| SoftwareAuthenticatorError::Input(format!("response JSON: {e}")))
    }

    /// Makes an assertion from PublicKeyCredentialRequestOptionsJSON (no
    /// `publicKey` wrapper) at `origin`; returns the AuthenticationResponseJSON.
    ///
    /// # Errors
    /// Bad options or origin, no credential, or the client refuses.
    pub fn assert(
        &mut self,
        origin: &str,
        request_options_json: &Value,
    ) -> Result<String, SoftwareAuthenticatorError> {
        let url = url::Url::parse(origin)
            .map_err(|e| SoftwareAuthenticatorError::Input(format!("origin: {e}")))?;
        let public_key: webauthn::PublicKeyCredentialRequestOptions =
            serde_json::from_value(request_options_json.clone())
                .map_err(|e| SoftwareAuthenticatorError::Input(format!("request options: {e}")))?;
        let request = webauthn::CredentialRequestOptions { public_key };
        let asserted =
            futures_executor::block_on(self.client.authenticate(&url, request, DefaultClientData))
                .map_err(|e| SoftwareAuthenticatorError::Refused(format!("{e:?}")))?;
        serde_json::to_string(&asserted)
            .map_err(|e| SoftwareAuthenticatorError::Input(format!("response JSON: {e}")))
    }
}
