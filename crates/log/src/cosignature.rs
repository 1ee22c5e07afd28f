//! Witness cosignatures ([C2SP tlog-cosignature], Ed25519 `cosignature/v1`)
//! and the witness's decision rule for `add-checkpoint` ([C2SP tlog-witness]).
//!
//! A cosignature is one more signed-note signature line on a checkpoint:
//!
//! ```text
//! — <witness name> base64(key ID || u64 BE timestamp || Ed25519 signature)
//! ```
//!
//! signing `"cosignature/v1\ntime <timestamp>\n" || checkpoint body`, with key
//! ID = first 4 bytes of `SHA-256(name || "\n" || 0x04 || public key)`. The
//! witness's verifier key is a signed-note vkey of type 0x04:
//! `<name>+<hex key ID>+base64(0x04 || public key)`. Its secret key is a
//! plain signed-note Ed25519 signer key (`PRIVATE+KEY+<name>+<id>+
//! base64(0x01 || seed)`, as Go's `note.GenerateKey` writes it), which is
//! what the Go witnesses read too; only the public side says "cosigner".
//!
//! The module performs no I/O: the witness server (in `veche-verify`) keeps
//! state and clocks; [`check_add_checkpoint`] is the pure rule.
//!
//! [C2SP tlog-cosignature]: https://c2sp.org/tlog-cosignature
//! [C2SP tlog-witness]: https://c2sp.org/tlog-witness

use crate::checkpoint::{Checkpoint, CheckpointError, KeyError, MAX_NOTE_SIZE, verify_checkpoint};
use crate::{EMPTY_ROOT, Hash, verify_consistency};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, NoteError, VerifierList};
use std::fmt;

/// The signed-note signature type of Ed25519 `cosignature/v1`.
pub const COSIGNATURE_V1_TYPE: u8 = 0x04;

/// Most consistency proof lines an `add-checkpoint` request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// Largest `add-checkpoint` body: the old size line, 63 proof lines, the
/// blank line and a checkpoint note.
pub const MAX_ADD_CHECKPOINT_BODY: usize = 32 + MAX_PROOF_LINES * 45 + 1 + MAX_NOTE_SIZE;

/// The message a `cosignature/v1` signs: the header line, the time line and
/// the checkpoint body (with its final newline, without signature lines).
pub fn signed_message(body: &[u8], timestamp: u64) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    msg.extend_from_slice(body);
    msg
}

fn cosigner_key_id(name: &str, public: &VerifyingKey) -> u32 {
    let mut data = vec![COSIGNATURE_V1_TYPE];
    data.extend_from_slice(public.as_bytes());
    signed_note::key_id(name, &data)
}

fn check_name(name: &str) -> Result<(), KeyError> {
    if signed_note::is_key_name_valid(name) {
        Ok(())
    } else {
        Err(KeyError::InvalidName(name.to_owned()))
    }
}

/// Splits `name+hexid+base64` and checks the syntax of the name and ID.
fn split_key(text: &str) -> Result<(&str, u32, Vec<u8>), KeyError> {
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(data_b64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(KeyError::Malformed("expected name+id+key"));
    };
    check_name(name)?;
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyError::Malformed("key ID must be 8 hex digits"));
    }
    let id = u32::from_str_radix(id_hex, 16).map_err(|_| KeyError::Malformed("bad key ID"))?;
    let data = BASE64
        .decode(data_b64)
        .map_err(|_| KeyError::Malformed("key data is not base64"))?;
    Ok((name, id, data))
}

/// A witness's Ed25519 cosigning key.
#[derive(Clone)]
pub struct WitnessSigner {
    name: String,
    key: SigningKey,
    key_id: u32,
}

impl fmt::Debug for WitnessSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WitnessSigner")
            .field("vkey", &self.vkey())
            .finish_non_exhaustive()
    }
}

impl WitnessSigner {
    /// Generates a key named `name` from the operating system's CSPRNG;
    /// returns it and its secret key text to store.
    pub fn generate(name: &str) -> Result<(Self, String), KeyError> {
        let mut seed = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
        Self::from_seed(name, &seed)
    }

    /// A key from a fixed 32-byte Ed25519 seed (tests and known-answer
    /// vectors); returns it and its secret key text.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<(Self, String), KeyError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let mut public = vec![1u8];
        public.extend_from_slice(key.verifying_key().as_bytes());
        let mut private = vec![1u8];
        private.extend_from_slice(seed);
        let skey = format!(
            "PRIVATE+KEY+{name}+{:08x}+{}",
            signed_note::key_id(name, &public),
            BASE64.encode(&private)
        );
        let signer = WitnessSigner {
            key_id: cosigner_key_id(name, &key.verifying_key()),
            name: name.to_owned(),
            key,
        };
        Ok((signer, skey))
    }

    /// Parses a secret key `PRIVATE+KEY+<name>+<hex id>+base64(0x01||seed)`
    /// (the ID is that of the plain Ed25519 key, as `note.GenerateKey`
    /// writes it).
    pub fn from_skey(skey: &str) -> Result<Self, KeyError> {
        let rest = skey
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(KeyError::Malformed(
                "secret key must start with PRIVATE+KEY+",
            ))?;
        let (name, id, data) = split_key(rest)?;
        match data.first() {
            Some(1) => {}
            Some(_) => return Err(KeyError::UnsupportedAlgorithm),
            None => return Err(KeyError::Malformed("empty key data")),
        }
        let seed: [u8; 32] = data[1..]
            .try_into()
            .map_err(|_| KeyError::Malformed("Ed25519 seed must be 32 bytes"))?;
        let (signer, _) = Self::from_seed(name, &seed)?;
        let mut public = vec![1u8];
        public.extend_from_slice(signer.key.verifying_key().as_bytes());
        if signed_note::key_id(name, &public) != id {
            return Err(KeyError::KeyIdMismatch);
        }
        Ok(signer)
    }

    /// The cosigner verifier key `name+hexid+base64(0x04||public key)`.
    pub fn vkey(&self) -> String {
        let mut data = vec![COSIGNATURE_V1_TYPE];
        data.extend_from_slice(self.key.verifying_key().as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, BASE64.encode(&data))
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cosignature key ID (type 0x04).
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Cosigns a checkpoint body (`origin\nsize\nroot\n[extensions]`) at
    /// `timestamp` (POSIX seconds, at most 2^63 - 1).
    pub fn cosign(&self, body: &str, timestamp: u64) -> Cosignature {
        let timestamp = timestamp.min(i64::MAX as u64);
        let sig = self.key.sign(&signed_message(body.as_bytes(), timestamp));
        Cosignature {
            name: self.name.clone(),
            key_id: self.key_id,
            timestamp,
            signature: sig.to_bytes(),
        }
    }
}

/// One `cosignature/v1` signature line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness's name.
    pub name: String,
    /// The witness's cosignature key ID.
    pub key_id: u32,
    /// When the witness cosigned (POSIX seconds).
    pub timestamp: u64,
    /// The Ed25519 signature over [`signed_message`].
    pub signature: [u8; 64],
}

impl Cosignature {
    /// The note signature line, ending in `\n`.
    pub fn to_line(&self) -> String {
        let mut data = Vec::with_capacity(76);
        data.extend_from_slice(&self.key_id.to_be_bytes());
        data.extend_from_slice(&self.timestamp.to_be_bytes());
        data.extend_from_slice(&self.signature);
        format!("— {} {}\n", self.name, BASE64.encode(&data))
    }

    /// Parses a signature line (with or without its newline) of the
    /// cosignature shape; says nothing about its validity.
    pub fn parse_line(line: &str) -> Option<Self> {
        let rest = line.strip_suffix('\n').unwrap_or(line).strip_prefix("— ")?;
        let (name, b64) = rest.split_once(' ')?;
        if !signed_note::is_key_name_valid(name) {
            return None;
        }
        let data = BASE64.decode(b64).ok()?;
        Self::from_parts(name, &data)
    }

    fn from_parts(name: &str, data: &[u8]) -> Option<Self> {
        if data.len() != 4 + 8 + 64 {
            return None;
        }
        Some(Cosignature {
            name: name.to_owned(),
            key_id: u32::from_be_bytes(data[..4].try_into().ok()?),
            timestamp: u64::from_be_bytes(data[4..12].try_into().ok()?),
            signature: data[12..].try_into().ok()?,
        })
    }
}

/// A witness's public cosigning key, from its `0x04` vkey.
#[derive(Clone, Debug)]
pub struct WitnessVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl WitnessVerifier {
    /// Parses a cosigner vkey `name+hexid+base64(0x04||public key)`.
    pub fn new(vkey: &str) -> Result<Self, KeyError> {
        let (name, id, data) = split_key(vkey.trim())?;
        match data.first() {
            Some(&COSIGNATURE_V1_TYPE) => {}
            Some(_) => return Err(KeyError::UnsupportedAlgorithm),
            None => return Err(KeyError::Malformed("empty key data")),
        }
        let public: [u8; 32] = data[1..]
            .try_into()
            .map_err(|_| KeyError::Malformed("Ed25519 public key must be 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| KeyError::Malformed("invalid Ed25519 public key"))?;
        if cosigner_key_id(name, &key) != id {
            return Err(KeyError::KeyIdMismatch);
        }
        Ok(WitnessVerifier {
            name: name.to_owned(),
            key_id: id,
            key,
        })
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cosignature key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Verifies `sig` (timestamp || Ed25519 signature, the line's data after
    /// the key ID) over checkpoint body `body`; returns the timestamp.
    pub fn verify_raw(&self, body: &[u8], sig: &[u8]) -> Option<u64> {
        if sig.len() != 8 + 64 {
            return None;
        }
        let timestamp = u64::from_be_bytes(sig[..8].try_into().ok()?);
        if timestamp > i64::MAX as u64 {
            return None;
        }
        let signature = ed25519_dalek::Signature::from_bytes(sig[8..].try_into().ok()?);
        self.key
            .verify_strict(&signed_message(body, timestamp), &signature)
            .ok()
            .map(|()| timestamp)
    }

    /// Whether `cs` is this witness's valid cosignature over `body`.
    pub fn verify(&self, body: &[u8], cs: &Cosignature) -> bool {
        if cs.name != self.name || cs.key_id != self.key_id {
            return false;
        }
        let mut sig = cs.timestamp.to_be_bytes().to_vec();
        sig.extend_from_slice(&cs.signature);
        self.verify_raw(body, &sig).is_some()
    }
}

impl signed_note::Verifier for WitnessVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.key_id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.verify_raw(msg, sig).is_some()
    }
}

/// A checkpoint verified with the log's key, and the witnesses (among those
/// given) that validly cosigned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Valid cosignatures by known witnesses, one per witness key.
    pub cosignatures: Vec<Cosignature>,
}

impl CosignedCheckpoint {
    /// Number of distinct witness names that cosigned.
    pub fn witness_count(&self) -> usize {
        let mut names: Vec<&str> = self.cosignatures.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.len()
    }
}

/// Verifies `note` as a checkpoint signed by `log_vkey` (as
/// [`verify_checkpoint`]) and collects the valid cosignatures by
/// `witnesses`. Lines by unknown keys are ignored; a line by a known witness
/// key that does not verify rejects the note (as signed-note requires).
pub fn verify_cosigned_checkpoint(
    note: &[u8],
    log_vkey: &str,
    witnesses: &[WitnessVerifier],
) -> Result<CosignedCheckpoint, CheckpointError> {
    let checkpoint = verify_checkpoint(note, log_vkey)?;
    let mut known: Vec<WitnessVerifier> = Vec::new();
    for w in witnesses {
        if !known
            .iter()
            .any(|k| k.name == w.name && k.key_id == w.key_id)
        {
            known.push(w.clone());
        }
    }
    let list = VerifierList::new(
        known
            .into_iter()
            .map(|w| Box::new(w) as Box<dyn signed_note::Verifier>)
            .collect(),
    );
    // verify_checkpoint parsed it already.
    let parsed =
        Note::from_bytes(note).map_err(|_| CheckpointError::BadNote("malformed signed note"))?;
    let verified = match parsed.verify(&list) {
        Ok((verified, _unknown)) => verified,
        Err(NoteError::UnverifiedNote) => Vec::new(),
        Err(NoteError::InvalidSignature { name, id }) => {
            return Err(CheckpointError::BadSignature { name, key_id: id });
        }
        Err(_) => return Err(CheckpointError::BadNote("signature lines rejected")),
    };
    let cosignatures = verified
        .iter()
        .filter_map(|s| {
            let mut data = s.id().to_be_bytes().to_vec();
            data.extend_from_slice(s.signature());
            Cosignature::from_parts(s.name(), &data)
        })
        .collect();
    Ok(CosignedCheckpoint {
        checkpoint,
        cosignatures,
    })
}

/// The body of a signed note: everything up to and including the newline
/// before the blank line that opens the signatures.
pub fn note_body(note: &str) -> Option<&str> {
    note.rfind("\n\n").map(|i| &note[..=i])
}

/// An `add-checkpoint` request body (C2SP tlog-witness).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness holds.
    pub old_size: u64,
    /// The RFC 6962 consistency proof from `old_size` to the checkpoint.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub note: String,
}

impl AddCheckpoint {
    /// The request body: `old N\n`, one base64 hash per line, a blank line,
    /// the note.
    pub fn to_body(&self) -> String {
        let mut s = format!("old {}\n", self.old_size);
        for h in &self.proof {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.note);
        s
    }

    /// Parses a request body strictly.
    pub fn parse(body: &[u8]) -> Result<Self, Refusal> {
        let bad = |m: &str| Refusal::BadRequest(m.to_owned());
        if body.len() > MAX_ADD_CHECKPOINT_BODY {
            return Err(bad("request body too large"));
        }
        let text = std::str::from_utf8(body).map_err(|_| bad("request body is not UTF-8"))?;
        let (first, mut rest) = text
            .split_once('\n')
            .ok_or_else(|| bad("missing old size line"))?;
        let size = first
            .strip_prefix("old ")
            .ok_or_else(|| bad("first line must be `old <size>`"))?;
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(bad(
                "old size must be a decimal number without leading zeros",
            ));
        }
        let old_size: u64 = size
            .parse()
            .map_err(|_| bad("old size does not fit in 64 bits"))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or_else(|| bad("missing blank line before the checkpoint"))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 consistency proof lines"));
            }
            let h = Hash::from_base64(line)
                .map_err(|e| Refusal::BadRequest(format!("bad consistency proof line: {e}")))?;
            proof.push(h);
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            note: rest.to_owned(),
        })
    }

    /// The origin line of the note (its first line), if there is one.
    pub fn origin(&self) -> Option<&str> {
        self.note.split_once('\n').map(|(o, _)| o)
    }
}

/// Why a witness refuses to cosign; each maps to the status code C2SP
/// tlog-witness prescribes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 400: the request is malformed, or its old size exceeds the
    /// checkpoint's size.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 403: no signature by a key the witness trusts for the origin.
    #[error("the checkpoint has no valid signature by the log's key: {0}")]
    BadSignature(String),
    /// 404: the witness does not know the origin.
    #[error("unknown log origin {0:?}")]
    UnknownLog(String),
    /// 409: the old size is not the size of the latest checkpoint cosigned
    /// (or the sizes are equal but the roots differ). The body is `latest`.
    #[error("conflict: the latest cosigned checkpoint has size {latest}")]
    Conflict {
        /// Size of the latest checkpoint the witness cosigned for the origin.
        latest: u64,
    },
    /// 422: the consistency proof does not verify.
    #[error("the consistency proof does not verify: {0}")]
    BadProof(String),
}

impl Refusal {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::BadSignature(_) => 403,
            Refusal::UnknownLog(_) => 404,
            Refusal::Conflict { .. } => 409,
            Refusal::BadProof(_) => 422,
        }
    }
}

/// The latest checkpoint a witness cosigned for one log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latest {
    /// Its tree size.
    pub size: u64,
    /// Its root hash.
    pub root: Hash,
}

/// The witness's rule for `add-checkpoint`, in the spec's order: `log_vkey`
/// is the key the witness trusts for the request's origin (`None`: unknown
/// origin), `latest` what it last cosigned for that origin. Returns the
/// checkpoint to record and cosign, or the refusal.
pub fn check_add_checkpoint(
    req: &AddCheckpoint,
    log_vkey: Option<&str>,
    latest: Option<Latest>,
) -> Result<Checkpoint, Refusal> {
    let origin = req
        .origin()
        .ok_or_else(|| Refusal::BadRequest("the checkpoint has no origin line".into()))?;
    let vkey = log_vkey.ok_or_else(|| Refusal::UnknownLog(origin.to_owned()))?;
    let cp = verify_checkpoint(req.note.as_bytes(), vkey).map_err(|e| match e {
        CheckpointError::NoSignature { .. }
        | CheckpointError::BadSignature { .. }
        | CheckpointError::OriginMismatch { .. } => Refusal::BadSignature(e.to_string()),
        e => Refusal::BadRequest(e.to_string()),
    })?;
    if req.old_size > cp.size {
        return Err(Refusal::BadRequest(format!(
            "old size {} is larger than the checkpoint's size {}",
            req.old_size, cp.size
        )));
    }
    let latest = latest.unwrap_or(Latest {
        size: 0,
        root: EMPTY_ROOT,
    });
    if req.old_size != latest.size {
        return Err(Refusal::Conflict {
            latest: latest.size,
        });
    }
    if cp.size == latest.size && cp.root != latest.root {
        return Err(Refusal::Conflict {
            latest: latest.size,
        });
    }
    verify_consistency(latest.size, cp.size, &latest.root, &cp.root, &req.proof)
        .map_err(|e| Refusal::BadProof(e.to_string()))?;
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::LogSigner;
    use crate::{MemoryTree, leaf_hash};

    const ORIGIN: &str = "example.com/veche";

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..n {
            t.push(leaf_hash(&i.to_be_bytes()));
        }
        t
    }

    fn log() -> LogSigner {
        LogSigner::from_seed(ORIGIN, &[1; 32]).unwrap().0
    }

    fn witness() -> WitnessSigner {
        WitnessSigner::from_seed("witness.example/w1", &[2; 32])
            .unwrap()
            .0
    }

    fn request(t: &MemoryTree, old: u64, new: u64) -> AddCheckpoint {
        let cp = Checkpoint::new(ORIGIN, new, t.root_at(new).unwrap());
        AddCheckpoint {
            old_size: old,
            proof: if old == 0 {
                Vec::new()
            } else {
                t.consistency_proof(old, new).unwrap()
            },
            note: log().sign(&cp),
        }
    }

    /// `specs/vectors/cosignature-v1.json`, made by an independent
    /// implementation (Python `cryptography`).
    #[test]
    fn known_answer_vectors() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../../specs/vectors/cosignature-v1.json"))
                .unwrap();
        let vectors = doc["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 3);
        for v in vectors {
            let s = |k: &str| v[k].as_str().unwrap();
            let seed: [u8; 32] = hex::decode(s("seed_hex")).unwrap().try_into().unwrap();
            let (w, skey) = WitnessSigner::from_seed(s("name"), &seed).unwrap();
            assert_eq!(skey, s("skey"));
            assert_eq!(w.vkey(), s("vkey"));
            assert_eq!(format!("{:08x}", w.key_id()), s("key_id_hex"));
            assert_eq!(
                WitnessSigner::from_skey(s("skey")).unwrap().vkey(),
                s("vkey")
            );
            let (body, ts) = (s("checkpoint_body"), v["timestamp"].as_u64().unwrap());
            assert_eq!(
                signed_message(body.as_bytes(), ts),
                s("signed_message").as_bytes()
            );
            assert_eq!(w.cosign(body, ts).to_line(), s("signature_line"));
            let verifier = WitnessVerifier::new(s("vkey")).unwrap();
            let line = Cosignature::parse_line(s("signature_line")).unwrap();
            assert_eq!(line.timestamp, ts);
            assert!(verifier.verify(body.as_bytes(), &line));
        }
    }

    #[test]
    fn keys_round_trip_and_types() {
        let (w, skey) = WitnessSigner::from_seed("w.example", &[5; 32]).unwrap();
        assert!(skey.starts_with("PRIVATE+KEY+w.example+"));
        let again = WitnessSigner::from_skey(&skey).unwrap();
        assert_eq!(again.vkey(), w.vkey());
        let v = WitnessVerifier::new(&w.vkey()).unwrap();
        assert_eq!((v.name(), v.key_id()), ("w.example", w.key_id()));
        // The vkey carries type 0x04; the same key as a plain note key differs.
        let data = BASE64.decode(w.vkey().rsplit('+').next().unwrap()).unwrap();
        assert_eq!(data[0], COSIGNATURE_V1_TYPE);
        let plain = LogSigner::from_seed("w.example", &[5; 32]).unwrap().0;
        assert_ne!(plain.key_id(), w.key_id());
        assert_eq!(
            WitnessVerifier::new(&plain.vkey()).unwrap_err(),
            KeyError::UnsupportedAlgorithm
        );
        let parts: Vec<&str> = skey.split('+').collect();
        let bad_id = format!("PRIVATE+KEY+{}+00000000+{}", parts[2], parts[4]);
        assert_eq!(
            WitnessSigner::from_skey(&bad_id).unwrap_err(),
            KeyError::KeyIdMismatch
        );
        let vk = w.vkey();
        let vparts: Vec<&str> = vk.split('+').collect();
        let bad_vid = format!("{}+{:08x}+{}", vparts[0], w.key_id() ^ 1, vparts[2]);
        assert_eq!(
            WitnessVerifier::new(&bad_vid).unwrap_err(),
            KeyError::KeyIdMismatch
        );
        assert!(WitnessSigner::from_seed("has space", &[0; 32]).is_err());
        assert!(!format!("{w:?}").contains("PRIVATE"));
        let (g, _) = WitnessSigner::generate("w.example").unwrap();
        assert_ne!(g.vkey(), w.vkey());
    }

    #[test]
    fn cosign_and_verify() {
        let w = witness();
        let v = WitnessVerifier::new(&w.vkey()).unwrap();
        let cp = Checkpoint::new(ORIGIN, 5, tree(5).root());
        let note = log().sign(&cp);
        let body = cp.to_body();
        let cs = w.cosign(&body, 1_700_000_000);
        let line = cs.to_line();
        assert!(line.starts_with("— witness.example/w1 "));
        assert_eq!(Cosignature::parse_line(&line), Some(cs.clone()));
        assert!(v.verify(body.as_bytes(), &cs));
        // Another body, another time, another witness: no.
        let other = Checkpoint::new(ORIGIN, 6, tree(6).root()).to_body();
        assert!(!v.verify(other.as_bytes(), &cs));
        let mut later = cs.clone();
        later.timestamp += 1;
        assert!(!v.verify(body.as_bytes(), &later));

        let cosigned = format!("{note}{line}");
        let got = verify_cosigned_checkpoint(
            cosigned.as_bytes(),
            &log().vkey(),
            std::slice::from_ref(&v),
        )
        .unwrap();
        assert_eq!(got.checkpoint, cp);
        assert_eq!(got.cosignatures, vec![cs.clone()]);
        assert_eq!(got.witness_count(), 1);
        // A plain signed-note verifier (the log key only) still accepts it.
        assert_eq!(
            verify_checkpoint(cosigned.as_bytes(), &log().vkey()),
            Ok(cp)
        );
        // Unknown witnesses' lines are ignored.
        let stranger = WitnessSigner::from_seed("w2.example", &[3; 32]).unwrap().0;
        let sv = WitnessVerifier::new(&stranger.vkey()).unwrap();
        let got = verify_cosigned_checkpoint(cosigned.as_bytes(), &log().vkey(), &[sv]).unwrap();
        assert!(got.cosignatures.is_empty());
        // A known witness's bad line rejects the note.
        let forged = format!("{note}{}", later.to_line());
        assert!(matches!(
            verify_cosigned_checkpoint(forged.as_bytes(), &log().vkey(), &[v]),
            Err(CheckpointError::BadSignature { .. })
        ));
        assert_eq!(note_body(&cosigned), Some(body.as_str()));
    }

    #[test]
    fn add_checkpoint_round_trip_and_strictness() {
        let t = tree(10);
        let req = request(&t, 4, 10);
        assert_eq!(
            AddCheckpoint::parse(req.to_body().as_bytes()),
            Ok(req.clone())
        );
        assert_eq!(req.origin(), Some(ORIGIN));
        let root = t.root().to_base64();
        for bad in [
            "".to_string(),
            "old 1".to_string(),
            "old 01\n\nx\n".to_string(),
            "old -1\n\nx\n".to_string(),
            "old  1\n\nx\n".to_string(),
            "new 1\n\nx\n".to_string(),
            "old 1\nnot-a-hash\n\nx\n".to_string(),
            format!("old 1\n{root}\n"),
            format!(
                "old 1\n{}\n\nx\n",
                format!("{root}\n").repeat(64).trim_end()
            ),
        ] {
            assert!(
                matches!(
                    AddCheckpoint::parse(bad.as_bytes()),
                    Err(Refusal::BadRequest(_))
                ),
                "accepted {bad:?}"
            );
        }
    }

    #[test]
    fn witness_rule() {
        let t = tree(20);
        let vkey = log().vkey();
        let at = |n: u64| Latest {
            size: n,
            root: t.root_at(n).unwrap(),
        };
        // First contact, then growth with proofs, then the same checkpoint again.
        assert_eq!(
            check_add_checkpoint(&request(&t, 0, 5), Some(&vkey), None).map(|c| c.size),
            Ok(5)
        );
        assert_eq!(
            check_add_checkpoint(&request(&t, 5, 13), Some(&vkey), Some(at(5))).map(|c| c.size),
            Ok(13)
        );
        assert!(check_add_checkpoint(&request(&t, 13, 13), Some(&vkey), Some(at(13))).is_ok());
        // Unknown origin, bad signature.
        assert_eq!(
            check_add_checkpoint(&request(&t, 0, 5), None, None)
                .unwrap_err()
                .status(),
            404
        );
        let other = LogSigner::from_seed(ORIGIN, &[9; 32]).unwrap().0;
        assert_eq!(
            check_add_checkpoint(&request(&t, 0, 5), Some(&other.vkey()), None)
                .unwrap_err()
                .status(),
            403
        );
        // Old size above the checkpoint's: 400. Stale old size: 409 with ours.
        assert_eq!(
            check_add_checkpoint(&request(&t, 0, 5), Some(&vkey), Some(at(5))).unwrap_err(),
            Refusal::Conflict { latest: 5 }
        );
        let mut over = request(&t, 3, 5);
        over.old_size = 6;
        over.proof.clear();
        assert_eq!(
            check_add_checkpoint(&over, Some(&vkey), Some(at(6)))
                .unwrap_err()
                .status(),
            400
        );
        // A fork at the same size: 409.
        let mut forked = MemoryTree::new();
        for i in 0..13u64 {
            forked.push(leaf_hash(&(i + 100).to_be_bytes()));
        }
        let fork = request(&forked, 13, 13);
        assert_eq!(
            check_add_checkpoint(&fork, Some(&vkey), Some(at(13))).unwrap_err(),
            Refusal::Conflict { latest: 13 }
        );
        // A checkpoint that does not extend the last one: 422.
        let mut bad = request(&forked, 5, 13);
        bad.proof = t.consistency_proof(5, 13).unwrap();
        assert_eq!(
            check_add_checkpoint(&bad, Some(&vkey), Some(at(5)))
                .unwrap_err()
                .status(),
            422
        );
        let mut tampered = request(&t, 5, 13);
        tampered.proof[0] = leaf_hash(b"x");
        assert_eq!(
            check_add_checkpoint(&tampered, Some(&vkey), Some(at(5)))
                .unwrap_err()
                .status(),
            422
        );
        // From zero the proof must be empty.
        let mut nonempty = request(&t, 0, 5);
        nonempty.proof.push(leaf_hash(b"x"));
        assert_eq!(
            check_add_checkpoint(&nonempty, Some(&vkey), None)
                .unwrap_err()
                .status(),
            422
        );
    }
}
