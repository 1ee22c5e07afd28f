//! Username-less sign-in with discoverable credentials (conditional UI compatible).
//!
//! The challenge is 32 random bytes kept in the [`CeremonyState`]; the
//! assertion is verified by the same §7.2 code as action assertions. An empty
//! `allowCredentials` lets the browser offer any of the user's passkeys for
//! this RP (also through autofill with `mediation: "conditional"`).

use serde_json::Value;

use crate::assertion::{check_sign_count, parse_response, request_options, verify_assertion};
use crate::{
    CEREMONY_TIMEOUT_MS, CeremonyKind, CeremonyState, CredentialId, PasskeyError,
    RegisteredCredential, RelyingParty, UserHandle, now_ms, random_bytes,
};

/// A successful sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    /// The credential used.
    pub credential_id: CredentialId,
    /// The account's user handle.
    pub user_handle: UserHandle,
    /// The counter to store for the credential.
    pub new_sign_count: u32,
    /// The current BS flag, to store for the credential.
    pub backed_up: bool,
}

impl RelyingParty {
    /// Starts a username-less sign-in: the PublicKeyCredentialRequestOptionsJSON
    /// (random 32-byte challenge, empty `allowCredentials`, `userVerification:
    /// "required"`) and the state to keep server-side until the response arrives.
    #[must_use]
    pub fn start_authentication(&self) -> (Value, CeremonyState) {
        let challenge: [u8; 32] = random_bytes();
        let options = request_options(self, &challenge, &[]);
        let state = CeremonyState::new(
            CeremonyKind::SignIn,
            challenge.to_vec(),
            now_ms().saturating_add(CEREMONY_TIMEOUT_MS),
        );
        (options, state)
    }

    /// Finishes a sign-in. `lookup` finds a registered credential by its id.
    ///
    /// Checks: the state is a live sign-in state; the response parses; the
    /// credential is known; `userHandle` is present and is the credential's
    /// owner; §7.2 (challenge, origin, rpIdHash, UP, UV, BE/BS, no extension
    /// data, signature); the counter increases. Delete `state` whatever the outcome.
    ///
    /// # Errors
    /// The first refusal found, as [`PasskeyError`].
    pub fn finish_authentication(
        &self,
        state: &CeremonyState,
        response_json: &str,
        lookup: impl Fn(&[u8]) -> Option<RegisteredCredential>,
    ) -> Result<Authenticated, PasskeyError> {
        let challenge = state.open(CeremonyKind::SignIn)?;
        let parsed = parse_response(response_json)?;
        let credential =
            lookup(&parsed.evidence.credential_id).ok_or(PasskeyError::UnknownCredential)?;
        if credential.id != parsed.evidence.credential_id {
            return Err(PasskeyError::WrongCredential);
        }
        let user_handle = parsed
            .user_handle
            .as_deref()
            .ok_or(PasskeyError::UserHandleMissing)?;
        if user_handle != credential.user_handle {
            return Err(PasskeyError::UserHandleMismatch);
        }
        let info = verify_assertion(
            &self.rp_id,
            &self.allowed_origins,
            challenge,
            &credential.id,
            &credential.public_key,
            Some(credential.backup_eligible),
            &parsed.evidence,
        )?;
        check_sign_count(credential.sign_count, info.sign_count)?;
        Ok(Authenticated {
            credential_id: credential.id,
            user_handle: credential.user_handle,
            new_sign_count: info.sign_count,
            backed_up: info.backed_up,
        })
    }
}
