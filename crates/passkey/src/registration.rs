//! Passkey registration through `webauthn_rp`.
//!
//! Options: discoverable credential (resident key required), user verification
//! required, ES256 and EdDSA (Ed25519) only, `credProtect`
//! (userVerificationRequired) requested but not enforced (Chromium's virtual
//! authenticator and many platform authenticators do not return it),
//! attestation `none`, 5-minute timeout. The ceremony state is
//! `webauthn_rp`'s `RegistrationServerState` encoded with its feature
//! `serializable_server_state`.

use serde_json::Value;
use webauthn_rp::bin::{Decode as _, Encode as _};
use webauthn_rp::request::register::{
    CoseAlgorithmIdentifier, CoseAlgorithmIdentifiers, CredProtect, Nickname,
    PublicKeyCredentialUserEntity, RegistrationVerificationOptions, UserHandle as RpUserHandle,
    Username,
};
use webauthn_rp::request::{
    AsciiDomain, BackupReq, ExtensionInfo, PublicKeyCredentialDescriptor, RpId,
};
use webauthn_rp::response::register::UncompressedPubKey;
use webauthn_rp::response::register::error::RegCeremonyErr;
use webauthn_rp::response::{
    AuthTransports, AuthenticatorTransport, Backup, CredentialId as RpCredentialId,
};
use webauthn_rp::{PublicKeyCredentialCreationOptions, Registration, RegistrationServerState};

use crate::{
    Algorithm, CEREMONY_TIMEOUT_MS, CeremonyKind, CeremonyState, CredentialId, PasskeyError,
    RegisteredCredential, RelyingParty, StoredPublicKey, USER_HANDLE_LEN, UserHandle, b64, now_ms,
};

type ServerState = RegistrationServerState<USER_HANDLE_LEN>;

const TRANSPORTS: [(AuthenticatorTransport, &str); 6] = [
    (AuthenticatorTransport::Ble, "ble"),
    (AuthenticatorTransport::Hybrid, "hybrid"),
    (AuthenticatorTransport::Internal, "internal"),
    (AuthenticatorTransport::Nfc, "nfc"),
    (AuthenticatorTransport::SmartCard, "smart-card"),
    (AuthenticatorTransport::Usb, "usb"),
];

impl RelyingParty {
    fn webauthn_rp_id(&self) -> Result<RpId, PasskeyError> {
        AsciiDomain::try_from(self.rp_id.clone())
            .map(RpId::Domain)
            .map_err(|e| PasskeyError::Config(format!("rp_id {:?}: {e}", self.rp_id)))
    }

    /// Starts registering a passkey for the account `user_handle`.
    ///
    /// Returns the PublicKeyCredentialCreationOptionsJSON (no `{publicKey: …}`
    /// wrapper; `PublicKeyCredential.parseCreationOptionsFromJSON` takes it) and
    /// the state to keep server-side. `exclude` lists the account's existing
    /// credentials so an authenticator does not create a second one.
    ///
    /// # Errors
    /// [`PasskeyError::Config`] for a bad RP ID; [`PasskeyError::Malformed`] for
    /// a user name or display name webauthn_rp refuses (empty, not PRECIS-clean,
    /// too long) or a bad credential id in `exclude`.
    pub fn start_registration(
        &self,
        user_handle: UserHandle,
        user_name: &str,
        display_name: &str,
        exclude: &[CredentialId],
    ) -> Result<(Value, CeremonyState), PasskeyError> {
        let rp_id = self.webauthn_rp_id()?;
        let handle = RpUserHandle::from(user_handle);
        let name = Username::try_from(user_name)
            .map_err(|e| PasskeyError::malformed(format!("user name: {e}")))?;
        let display_name = Nickname::try_from(display_name)
            .map_err(|e| PasskeyError::malformed(format!("display name: {e}")))?;
        let exclude = exclude
            .iter()
            .map(|id| {
                RpCredentialId::try_from(id.clone())
                    .map(|id| PublicKeyCredentialDescriptor {
                        id,
                        transports: AuthTransports::NONE,
                    })
                    .map_err(|e| PasskeyError::malformed(format!("excluded credential id: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut options = PublicKeyCredentialCreationOptions::passkey(
            &rp_id,
            PublicKeyCredentialUserEntity {
                name,
                id: &handle,
                display_name: Some(display_name),
            },
            exclude,
        );
        options.pub_key_cred_params = CoseAlgorithmIdentifiers::ALL
            .remove(CoseAlgorithmIdentifier::Es384)
            .remove(CoseAlgorithmIdentifier::Rs256);
        options.extensions.cred_protect =
            CredProtect::UserVerificationRequired(ExtensionInfo::AllowDontEnforceValue);
        let (server, client) = options
            .start_ceremony()
            .map_err(|e| PasskeyError::Config(format!("creation options: {e}")))?;
        let mut json = serde_json::to_value(&client)
            .map_err(|e| PasskeyError::Config(format!("creation options JSON: {e}")))?;
        if let Some(rp) = json.get_mut("rp").and_then(Value::as_object_mut) {
            rp.insert("name".into(), Value::String(self.rp_name.clone()));
        }
        let data = server
            .encode()
            .map_err(|e| PasskeyError::Config(format!("ceremony state: {e}")))?;
        let state = CeremonyState::new(
            CeremonyKind::Registration,
            data,
            now_ms().saturating_add(CEREMONY_TIMEOUT_MS),
        );
        Ok((json, state))
    }

    /// Finishes a registration with the client's RegistrationResponseJSON.
    ///
    /// Delete `state` whatever the outcome, and refuse the credential if its id
    /// is already registered (to any account).
    ///
    /// # Errors
    /// The refusal as [`PasskeyError`] (`Expired`, `ChallengeMismatch`,
    /// `OriginNotAllowed`, `UserVerificationMissing`, `UnsupportedAlgorithm`, …;
    /// other webauthn_rp reasons as `Registration`).
    pub fn finish_registration(
        &self,
        state: &CeremonyState,
        response_json: &str,
    ) -> Result<RegisteredCredential, PasskeyError> {
        let data = state.open(CeremonyKind::Registration)?;
        let server = ServerState::decode(data)
            .map_err(|e| PasskeyError::malformed(format!("registration state: {e}")))?;
        let rp_id = self.webauthn_rp_id()?;
        let registration: Registration = serde_json::from_str(response_json)
            .map_err(|e| PasskeyError::malformed(format!("not a RegistrationResponseJSON: {e}")))?;
        let verification = RegistrationVerificationOptions::<String, String> {
            allowed_origins: &self.allowed_origins,
            allowed_top_origins: None,
            backup_requirement: BackupReq::None,
            error_on_unsolicited_extensions: false,
            require_authenticator_attachment: false,
        };
        let cred = server
            .verify(&rp_id, &registration, &verification)
            .map_err(|e| map_reg_err(e, response_json))?;
        let (id, transports, user_id, static_state, dynamic_state, _metadata) = cred.into_parts();
        let public_key = match static_state.credential_public_key {
            UncompressedPubKey::Ed25519(k) => StoredPublicKey {
                alg: Algorithm::Ed25519,
                bytes: k.inner().to_vec(),
            },
            UncompressedPubKey::P256(k) => {
                let mut bytes = Vec::with_capacity(65);
                bytes.push(0x04);
                bytes.extend_from_slice(k.x());
                bytes.extend_from_slice(k.y());
                StoredPublicKey {
                    alg: Algorithm::Es256,
                    bytes,
                }
            }
            UncompressedPubKey::P384(_) => {
                return Err(PasskeyError::UnsupportedAlgorithm("ES384".into()));
            }
            UncompressedPubKey::Rsa(_) => {
                return Err(PasskeyError::UnsupportedAlgorithm("RS256".into()));
            }
        };
        let user_handle: UserHandle = user_id
            .as_ref()
            .try_into()
            .map_err(|_| PasskeyError::malformed("user handle length"))?;
        let (backup_eligible, backed_up) = match dynamic_state.backup {
            Backup::NotEligible => (false, false),
            Backup::Eligible => (true, false),
            Backup::Exists => (true, true),
        };
        Ok(RegisteredCredential {
            id: id.as_ref().to_vec(),
            public_key,
            sign_count: dynamic_state.sign_count,
            backup_eligible,
            backed_up,
            user_handle,
            transports: TRANSPORTS
                .iter()
                .filter(|(t, _)| transports.contains(*t))
                .map(|(_, s)| (*s).to_owned())
                .collect(),
        })
    }
}

/// The clientDataJSON origin of a RegistrationResponseJSON, for error messages.
fn reported_origin(response_json: &str) -> String {
    serde_json::from_str::<Value>(response_json)
        .ok()
        .and_then(|v| {
            v.pointer("/response/clientDataJSON")
                .and_then(Value::as_str)
                .and_then(|s| b64::decode(s).ok())
        })
        .and_then(|cd| serde_json::from_slice::<Value>(&cd).ok())
        .and_then(|cd| cd.get("origin").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

fn map_reg_err(e: RegCeremonyErr, response_json: &str) -> PasskeyError {
    match e {
        RegCeremonyErr::Timeout => PasskeyError::Expired,
        RegCeremonyErr::ChallengeMismatch => PasskeyError::ChallengeMismatch,
        RegCeremonyErr::OriginMismatch => PasskeyError::OriginNotAllowed {
            origin: reported_origin(response_json),
        },
        RegCeremonyErr::CrossOrigin => PasskeyError::CrossOrigin,
        RegCeremonyErr::TopOriginMismatch => PasskeyError::TopOriginPresent(String::new()),
        RegCeremonyErr::RpIdHashMismatch => PasskeyError::RpIdMismatch,
        RegCeremonyErr::UserNotPresent => PasskeyError::UserPresenceMissing,
        RegCeremonyErr::UserNotVerified => PasskeyError::UserVerificationMissing,
        RegCeremonyErr::PublicKeyAlgorithmMismatch => {
            PasskeyError::UnsupportedAlgorithm("not ES256 or EdDSA".into())
        }
        other => PasskeyError::Registration(other.to_string()),
    }
}
