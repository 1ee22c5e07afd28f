//! WebAuthn assertions verified by hand per W3C WebAuthn Level 3 §7.2, the
//! action challenge, and the evidence an auditor re-verifies.
//!
//! `webauthn_rp` only issues random 16-byte challenges, so an assertion whose
//! challenge commits to an action (and an auditor's later re-verification) is
//! checked here with `ring` (ECDSA P-256, DER signatures; the key is parsed
//! by RustCrypto's `p256`) and `ed25519-dalek` (strict verification).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::{
    Algorithm, CEREMONY_TIMEOUT_MS, CredentialId, PasskeyError, RegisteredCredential, RelyingParty,
    StoredPublicKey, UserHandle, b64, strict_json,
};

/// BLAKE3 `derive_key` context of the action challenge.
pub const ACTION_CHALLENGE_CONTEXT: &str = "veche action assertion v1";
/// BLAKE3 `derive_key` context of the evidence commitment.
pub const EVIDENCE_COMMITMENT_CONTEXT: &str = "veche assertion evidence v1";

/// authenticatorData flag bits.
const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_BE: u8 = 0x08;
const FLAG_BS: u8 = 0x10;
const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;
/// rpIdHash (32) + flags (1) + signCount (4).
const AUTH_DATA_MIN_LEN: usize = 37;

/// The 32-byte WebAuthn challenge that commits to one action:
/// `BLAKE3-derive_key("veche action assertion v1", action ‖ nonce)`.
///
/// `action` is the exact bytes of what is signed (defined by the entry format;
/// e.g. the canonical encoding of "sign petition P"), `nonce` 32 random bytes
/// chosen by the server for this attempt. Because `nonce` has a fixed length
/// and comes last, `action ‖ nonce` is unambiguous.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActionChallenge {
    bytes: [u8; 32],
}

impl ActionChallenge {
    /// Derives the challenge for `action` and `nonce`.
    #[must_use]
    pub fn new(action: &[u8], nonce: [u8; 32]) -> Self {
        let mut h = blake3::Hasher::new_derive_key(ACTION_CHALLENGE_CONTEXT);
        h.update(action);
        h.update(&nonce);
        Self {
            bytes: *h.finalize().as_bytes(),
        }
    }

    /// A fresh random 32-byte nonce for [`ActionChallenge::new`].
    #[must_use]
    pub fn random_nonce() -> [u8; 32] {
        crate::random_bytes()
    }

    /// The challenge bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The challenge as it appears in clientDataJSON (base64url, no padding).
    #[must_use]
    pub fn to_base64url(&self) -> String {
        b64::encode(&self.bytes)
    }
}

/// The raw bytes of one assertion: what the log commits to and what an
/// auditor needs (with the credential's public key, the RP ID, the allowed
/// origins, the action and the nonce) to re-verify it.
///
/// JSON: each field base64url without padding.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AssertionEvidence {
    /// The credential id (`rawId`).
    #[serde(with = "b64::bytes")]
    pub credential_id: Vec<u8>,
    /// The exact clientDataJSON bytes.
    #[serde(with = "b64::bytes")]
    pub client_data_json: Vec<u8>,
    /// The exact authenticatorData bytes.
    #[serde(with = "b64::bytes")]
    pub authenticator_data: Vec<u8>,
    /// The signature (ES256: DER ECDSA; Ed25519: 64 bytes). Malleable for ECDSA:
    /// never use it as an identifier.
    #[serde(with = "b64::bytes")]
    pub signature: Vec<u8>,
}

impl AssertionEvidence {
    fn fields(&self) -> [&[u8]; 4] {
        [
            &self.credential_id,
            &self.client_data_json,
            &self.authenticator_data,
            &self.signature,
        ]
    }

    /// The canonical encoding: for each of credential_id, client_data_json,
    /// authenticator_data, signature in this order, its length as a big-endian
    /// u64 followed by its bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.fields().iter().map(|f| f.len()).sum::<usize>());
        for f in self.fields() {
            out.extend_from_slice(&(f.len() as u64).to_be_bytes());
            out.extend_from_slice(f);
        }
        out
    }

    /// Parses [`AssertionEvidence::encode`]'s output exactly (no trailing bytes).
    ///
    /// # Errors
    /// [`PasskeyError::Malformed`] if the bytes are not one canonical encoding.
    pub fn decode(mut bytes: &[u8]) -> Result<Self, PasskeyError> {
        let mut take = || -> Result<Vec<u8>, PasskeyError> {
            let (len, rest) = bytes
                .split_first_chunk::<8>()
                .ok_or_else(|| PasskeyError::malformed("evidence: truncated length"))?;
            let len = usize::try_from(u64::from_be_bytes(*len))
                .map_err(|_| PasskeyError::malformed("evidence: length too large"))?;
            if rest.len() < len {
                return Err(PasskeyError::malformed("evidence: truncated field"));
            }
            let (field, rest) = rest.split_at(len);
            bytes = rest;
            Ok(field.to_vec())
        };
        let ev = Self {
            credential_id: take()?,
            client_data_json: take()?,
            authenticator_data: take()?,
            signature: take()?,
        };
        if !bytes.is_empty() {
            return Err(PasskeyError::malformed("evidence: trailing bytes"));
        }
        Ok(ev)
    }

    /// The commitment the log carries:
    /// `BLAKE3-derive_key("veche assertion evidence v1", self.encode())`.
    #[must_use]
    pub fn commitment(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new_derive_key(EVIDENCE_COMMITMENT_CONTEXT);
        for f in self.fields() {
            h.update(&(f.len() as u64).to_be_bytes());
            h.update(f);
        }
        *h.finalize().as_bytes()
    }
}

/// What a verified assertion's authenticatorData says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvidenceInfo {
    /// The signature counter in authenticatorData.
    pub sign_count: u32,
    /// BE.
    pub backup_eligible: bool,
    /// BS.
    pub backed_up: bool,
}

/// A verified action assertion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAction {
    /// The credential that signed.
    pub credential_id: CredentialId,
    /// The counter to store for the credential.
    pub new_sign_count: u32,
    /// The current BS flag (store it: a passkey may become backed up later).
    pub backed_up: bool,
    /// The raw assertion, for the log (its [`commitment`](AssertionEvidence::commitment)) and the audit export.
    pub evidence: AssertionEvidence,
}

/// An AuthenticationResponseJSON taken apart.
pub(crate) struct ParsedResponse {
    pub evidence: AssertionEvidence,
    pub user_handle: Option<Vec<u8>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseJson {
    id: String,
    raw_id: String,
    #[serde(rename = "type")]
    ty: String,
    response: AssertionJson,
}

#[derive(Deserialize)]
struct AssertionJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "authenticatorData")]
    authenticator_data: String,
    signature: String,
    #[serde(rename = "userHandle", default)]
    user_handle: Option<String>,
}

fn field(name: &str, s: &str) -> Result<Vec<u8>, PasskeyError> {
    b64::decode(s).map_err(|e| PasskeyError::malformed(format!("{name} is not base64url: {e}")))
}

/// Parses an AuthenticationResponseJSON (`PublicKeyCredential.toJSON()` of an assertion).
pub(crate) fn parse_response(json: &str) -> Result<ParsedResponse, PasskeyError> {
    let r: ResponseJson = serde_json::from_str(json)
        .map_err(|e| PasskeyError::malformed(format!("not an AuthenticationResponseJSON: {e}")))?;
    if r.ty != "public-key" {
        return Err(PasskeyError::WrongCredentialType(r.ty));
    }
    let id = field("id", &r.id)?;
    let raw_id = field("rawId", &r.raw_id)?;
    if id != raw_id {
        return Err(PasskeyError::IdMismatch);
    }
    if raw_id.is_empty() || raw_id.len() > 1023 {
        return Err(PasskeyError::malformed(
            "credential id must be 1-1023 bytes",
        ));
    }
    let user_handle = match r.response.user_handle.as_deref() {
        None | Some("") => None,
        Some(s) => Some(field("userHandle", s)?),
    };
    Ok(ParsedResponse {
        evidence: AssertionEvidence {
            credential_id: raw_id,
            client_data_json: field("clientDataJSON", &r.response.client_data_json)?,
            authenticator_data: field("authenticatorData", &r.response.authenticator_data)?,
            signature: field("signature", &r.response.signature)?,
        },
        user_handle,
    })
}

/// W3C WebAuthn Level 3 §7.2 steps 5–23 on raw bytes (the counter, step 24,
/// needs stored state and is left to the caller).
///
/// `stored_backup_eligible`: the credential's BE from registration, if known.
pub(crate) fn verify_assertion(
    rp_id: &str,
    allowed_origins: &[String],
    expected_challenge: &[u8],
    credential_id: &[u8],
    public_key: &StoredPublicKey,
    stored_backup_eligible: Option<bool>,
    ev: &AssertionEvidence,
) -> Result<EvidenceInfo, PasskeyError> {
    // Step 5/6: the credential is the expected one.
    if ev.credential_id != credential_id {
        return Err(PasskeyError::WrongCredential);
    }
    // Steps 10–11: clientDataJSON is UTF-8 JSON (no duplicate keys).
    let cd = strict_json::parse(&ev.client_data_json)?;
    let cd = cd
        .as_object()
        .ok_or_else(|| PasskeyError::malformed("clientDataJSON is not a JSON object"))?;
    let string = |key: &str| -> Result<&str, PasskeyError> {
        cd.get(key).and_then(Value::as_str).ok_or_else(|| {
            PasskeyError::malformed(format!("clientDataJSON.{key} is missing or not a string"))
        })
    };
    // Step 12: type.
    let ty = string("type")?;
    if ty != "webauthn.get" {
        return Err(PasskeyError::WrongClientDataType {
            expected: "webauthn.get",
            got: ty.to_owned(),
        });
    }
    // Step 13: the exact challenge (base64url without padding, compared as a string).
    if string("challenge")? != b64::encode(expected_challenge) {
        return Err(PasskeyError::ChallengeMismatch);
    }
    // Step 14: origin.
    let origin = string("origin")?;
    if !RelyingParty::origin_allowed(allowed_origins, origin) {
        return Err(PasskeyError::OriginNotAllowed {
            origin: origin.to_owned(),
        });
    }
    // Step 15: no cross-origin use, no topOrigin.
    match cd.get("crossOrigin") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => return Err(PasskeyError::CrossOrigin),
        Some(_) => {
            return Err(PasskeyError::malformed(
                "clientDataJSON.crossOrigin is not a boolean",
            ));
        }
    }
    if let Some(top) = cd.get("topOrigin") {
        return Err(PasskeyError::TopOriginPresent(
            top.as_str().map_or_else(|| top.to_string(), str::to_owned),
        ));
    }
    // Steps 16–21: authenticatorData.
    let ad = &ev.authenticator_data;
    if ad.len() < AUTH_DATA_MIN_LEN {
        return Err(PasskeyError::malformed(format!(
            "authenticatorData is {} bytes, at least {AUTH_DATA_MIN_LEN} required",
            ad.len()
        )));
    }
    if ad[..32] != Sha256::digest(rp_id.as_bytes())[..] {
        return Err(PasskeyError::RpIdMismatch);
    }
    let flags = ad[32];
    if flags & FLAG_UP == 0 {
        return Err(PasskeyError::UserPresenceMissing);
    }
    if flags & FLAG_UV == 0 {
        return Err(PasskeyError::UserVerificationMissing);
    }
    let be = flags & FLAG_BE != 0;
    let bs = flags & FLAG_BS != 0;
    if bs && !be {
        return Err(PasskeyError::BackupStateInconsistent(
            "BS set on a credential that is not backup eligible",
        ));
    }
    if let Some(stored) = stored_backup_eligible
        && stored != be
    {
        return Err(PasskeyError::BackupStateInconsistent(if stored {
            "BE cleared on a credential registered as backup eligible"
        } else {
            "BE set on a credential registered as not backup eligible"
        }));
    }
    if flags & FLAG_AT != 0 {
        return Err(PasskeyError::UnexpectedAuthenticatorData(
            "attested credential data (AT flag) in an assertion",
        ));
    }
    if flags & FLAG_ED != 0 {
        return Err(PasskeyError::UnexpectedAuthenticatorData(
            "extension data (ED flag) although no extension was requested",
        ));
    }
    if ad.len() != AUTH_DATA_MIN_LEN {
        return Err(PasskeyError::UnexpectedAuthenticatorData(
            "trailing bytes after signCount",
        ));
    }
    let sign_count = u32::from_be_bytes([ad[33], ad[34], ad[35], ad[36]]);
    // Steps 22–23: signature over authenticatorData ‖ SHA-256(clientDataJSON).
    let mut msg = Vec::with_capacity(ad.len() + 32);
    msg.extend_from_slice(ad);
    msg.extend_from_slice(&Sha256::digest(&ev.client_data_json));
    verify_signature(public_key, &msg, &ev.signature)?;
    Ok(EvidenceInfo {
        sign_count,
        backup_eligible: be,
        backed_up: bs,
    })
}

/// Verifies `sig` over `msg` with the stored key (ES256: SHA-256 + DER ECDSA P-256;
/// Ed25519: strict RFC 8032 verification).
pub(crate) fn verify_signature(
    key: &StoredPublicKey,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), PasskeyError> {
    match key.alg {
        Algorithm::Es256 => {
            if key.bytes.len() != 65 || key.bytes[0] != 0x04 {
                return Err(PasskeyError::BadPublicKey(
                    "ES256 key must be a 65-byte SEC1 uncompressed point".into(),
                ));
            }
            // The point is checked with RustCrypto (a precise error for a
            // bad key); the signature with ring, whose assembly P-256 is
            // about 4x faster than p256's portable arithmetic — the largest
            // CPU cost of a petition signature (specs/benchmarks.md). Both
            // take strict DER and any valid s.
            p256::ecdsa::VerifyingKey::from_sec1_bytes(&key.bytes)
                .map_err(|_| PasskeyError::BadPublicKey("not a P-256 point".into()))?;
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::ECDSA_P256_SHA256_ASN1,
                &key.bytes,
            )
            .verify(msg, sig)
            .map_err(|_| PasskeyError::BadSignature)
        }
        Algorithm::Ed25519 => {
            let bytes: [u8; 32] =
                key.bytes.as_slice().try_into().map_err(|_| {
                    PasskeyError::BadPublicKey("Ed25519 key must be 32 bytes".into())
                })?;
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .map_err(|_| PasskeyError::BadPublicKey("not an Ed25519 point".into()))?;
            let sig = ed25519_dalek::Signature::from_slice(sig)
                .map_err(|_| PasskeyError::BadSignature)?;
            vk.verify_strict(msg, &sig)
                .map_err(|_| PasskeyError::BadSignature)
        }
    }
}

/// §7.2 step 24: the counter must increase, unless both stored and received are 0
/// (authenticators without counters, e.g. synced passkeys).
pub(crate) fn check_sign_count(stored: u32, got: u32) -> Result<(), PasskeyError> {
    if (stored == 0 && got == 0) || got > stored {
        Ok(())
    } else {
        Err(PasskeyError::SignCountNotIncreasing { stored, got })
    }
}

/// Re-verifies an action assertion from the log, with no server state: the
/// auditor's check.
///
/// Runs every check of [`RelyingParty::verify_action`] that does not need
/// stored state: the credential id, clientDataJSON (`webauthn.get`, the exact
/// challenge `ActionChallenge::new(action, nonce)`, an allowed origin, not
/// cross-origin, no topOrigin, no duplicate keys), authenticatorData (rpIdHash,
/// UP, UV, BS only with BE, no AT/ED flag, no trailing bytes) and the signature.
/// The counter's monotonicity and BE against registration are for the caller
/// (the returned [`EvidenceInfo`] carries them).
///
/// # Errors
/// The first refusal found, as [`PasskeyError`].
pub fn verify_evidence(
    rp_id: &str,
    allowed_origins: &[String],
    credential_id: &[u8],
    credential_public_key: &StoredPublicKey,
    action: &[u8],
    nonce: &[u8; 32],
    evidence: &AssertionEvidence,
) -> Result<EvidenceInfo, PasskeyError> {
    let challenge = ActionChallenge::new(action, *nonce);
    verify_assertion(
        rp_id,
        allowed_origins,
        challenge.as_bytes(),
        credential_id,
        credential_public_key,
        None,
        evidence,
    )
}

pub(crate) fn request_options(
    rp: &RelyingParty,
    challenge: &[u8],
    allow: &[CredentialId],
) -> Value {
    let allow: Vec<Value> = allow
        .iter()
        .map(|id| json!({"type": "public-key", "id": b64::encode(id)}))
        .collect();
    json!({
        "challenge": b64::encode(challenge),
        "timeout": CEREMONY_TIMEOUT_MS,
        "rpId": rp.rp_id,
        "allowCredentials": allow,
        "userVerification": "required",
    })
}

impl RelyingParty {
    /// The PublicKeyCredentialRequestOptionsJSON for an action assertion (no
    /// `{publicKey: …}` wrapper): the action challenge, this RP ID, the
    /// account's credentials in `allowCredentials`, `userVerification: "required"`.
    #[must_use]
    pub fn action_request_options(
        &self,
        challenge: &ActionChallenge,
        allow: &[CredentialId],
    ) -> Value {
        request_options(self, challenge.as_bytes(), allow)
    }

    /// Verifies an action assertion (AuthenticationResponseJSON) per W3C
    /// WebAuthn Level 3 §7.2 against the expected challenge, the stored
    /// credential and the account's user handle.
    ///
    /// On success store `new_sign_count` and `backed_up` on the credential and
    /// put `evidence.commitment()` in the log.
    ///
    /// # Errors
    /// The first refusal found, as [`PasskeyError`].
    pub fn verify_action(
        &self,
        challenge: &ActionChallenge,
        response_json: &str,
        credential: &RegisteredCredential,
        expected_user_handle: &UserHandle,
    ) -> Result<VerifiedAction, PasskeyError> {
        let parsed = parse_response(response_json)?;
        if parsed.evidence.credential_id != credential.id {
            return Err(PasskeyError::WrongCredential);
        }
        if &credential.user_handle != expected_user_handle {
            return Err(PasskeyError::UserHandleMismatch);
        }
        if let Some(uh) = &parsed.user_handle
            && uh.as_slice() != expected_user_handle
        {
            return Err(PasskeyError::UserHandleMismatch);
        }
        let info = verify_assertion(
            &self.rp_id,
            &self.allowed_origins,
            challenge.as_bytes(),
            &credential.id,
            &credential.public_key,
            Some(credential.backup_eligible),
            &parsed.evidence,
        )?;
        check_sign_count(credential.sign_count, info.sign_count)?;
        Ok(VerifiedAction {
            credential_id: credential.id.clone(),
            new_sign_count: info.sign_count,
            backed_up: info.backed_up,
            evidence: parsed.evidence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_count_rule() {
        assert!(check_sign_count(0, 0).is_ok());
        assert!(check_sign_count(0, 1).is_ok());
        assert!(check_sign_count(5, 6).is_ok());
        assert_eq!(
            check_sign_count(5, 5),
            Err(PasskeyError::SignCountNotIncreasing { stored: 5, got: 5 })
        );
        assert!(check_sign_count(5, 0).is_err());
    }

    #[test]
    fn evidence_encoding_round_trips_and_is_strict() {
        let ev = AssertionEvidence {
            credential_id: vec![1, 2],
            client_data_json: b"{}".to_vec(),
            authenticator_data: vec![0; 37],
            signature: vec![9; 64],
        };
        let enc = ev.encode();
        assert_eq!(AssertionEvidence::decode(&enc).unwrap(), ev);
        let mut longer = enc.clone();
        longer.push(0);
        assert!(AssertionEvidence::decode(&longer).is_err());
        assert!(AssertionEvidence::decode(&enc[..enc.len() - 1]).is_err());
        assert_eq!(
            ev.commitment(),
            *blake3::derive_key(EVIDENCE_COMMITMENT_CONTEXT, &enc).as_slice()
        );
    }

    /// W3C WebAuthn Level 3 §16 test vector "none ES256", its authentication part
    /// (an independent ES256 assertion). Its flags (0x19: UP, BE, BS) lack UV, so
    /// the full §7.2 check refuses it for exactly that reason.
    #[test]
    fn w3c_es256_assertion_vector() {
        let h = |s: &str| hex::decode(s).unwrap();
        let sk = p256::ecdsa::SigningKey::from_slice(&h(
            "6e68e7a58484a3264f66b77f5d6dc5bc36a47085b615c9727ab334e8c369c2ee",
        ))
        .unwrap();
        let pk = StoredPublicKey {
            alg: Algorithm::Es256,
            bytes: sk
                .verifying_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec(),
        };
        let cid = h("f91f391db4c9b2fde0ea70189cba3fb63f579ba6122b33ad94ff3ec330084be4");
        let ev = AssertionEvidence {
            credential_id: cid.clone(),
            client_data_json: h(
                "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a224f63446e55685158756c5455506f334a5558543049393770767a7a59425039745a63685879617630314167222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73657d",
            ),
            authenticator_data: h(
                "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b51900000000",
            ),
            signature: h(
                "3046022100f50a4e2e4409249c4a853ba361282f09841df4dd4547a13a87780218deffcd380221008480ac0f0b93538174f575bf11a1dd5d78c6e486013f937295ea13653e331e87",
            ),
        };
        let mut msg = ev.authenticator_data.clone();
        msg.extend_from_slice(&Sha256::digest(&ev.client_data_json));
        verify_signature(&pk, &msg, &ev.signature).unwrap();
        let challenge = b64::decode("OcDnUhQXulTUPo3JUXT0I97pvzzYBP9tZchXyav01Ag").unwrap();
        let origins = ["https://example.org".to_owned()];
        assert_eq!(
            verify_assertion("example.org", &origins, &challenge, &cid, &pk, None, &ev),
            Err(PasskeyError::UserVerificationMissing)
        );
    }

    #[test]
    fn challenge_is_derive_key_of_action_and_nonce() {
        let c = ActionChallenge::new(b"abc", [7; 32]);
        let mut input = b"abc".to_vec();
        input.extend_from_slice(&[7; 32]);
        assert_eq!(
            c.as_bytes(),
            &blake3::derive_key(ACTION_CHALLENGE_CONTEXT, &input)
        );
    }
}
