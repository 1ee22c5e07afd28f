//! Checkpoints ([C2SP tlog-checkpoint]) in Ed25519 signed notes
//! ([C2SP signed-note]).
//!
//! The note syntax, key IDs, key encodings and the signature check are done by
//! the `signed_note` crate (a port of Go's `golang.org/x/mod/sumdb/note`) on
//! top of `ed25519-dalek`; this module adds the strict checkpoint body, the
//! log's key handling and precise errors.
//!
//! Key formats (those of Go's `note` package):
//! * verifier key (public): `<name>+<hex key ID>+<base64(0x01 || 32-byte public key)>`
//! * signer key (secret): `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || 32-byte seed)>`
//!
//! with key ID = first 4 bytes of `SHA-256(name || "\n" || 0x01 || public key)`.
//! The key name is the log's origin.
//!
//! [C2SP tlog-checkpoint]: https://c2sp.org/tlog-checkpoint
//! [C2SP signed-note]: https://c2sp.org/signed-note

use crate::Hash;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use signed_note::{
    Note, NoteError, Signer as _, StandardSigner, StandardVerifier, Verifier as _, VerifierList,
};
use std::fmt;

/// Largest checkpoint body or signed note accepted, in bytes (as in Go's
/// `note` package and `signed_note`). signed-note verifiers must accept at
/// least 16 signatures, and post-quantum ones approach 5 kB each.
pub const MAX_NOTE_SIZE: usize = 1_000_000;

/// A checkpoint body: the log's origin, tree size and root hash, plus optional
/// extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log identity; equal to the signing key's name.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root of the tree of `size` leaves.
    pub root: Hash,
    /// Opaque non-empty extension lines (without their newline).
    pub extensions: Vec<String>,
}

/// Problems with a signer or verifier key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key text is not of the `name+id+data` form, or its data is bad.
    #[error("malformed key: {0}")]
    Malformed(&'static str),
    /// The key name is empty or contains whitespace or '+'.
    #[error("invalid key name {0:?}: must be non-empty, without spaces or '+'")]
    InvalidName(String),
    /// The key is not an Ed25519 (type 0x01) key.
    #[error("unsupported key algorithm: only Ed25519 (0x01) keys are supported")]
    UnsupportedAlgorithm,
    /// The key ID does not match the name and key.
    #[error("key ID does not match the key name and public key")]
    KeyIdMismatch,
}

/// Why a checkpoint note was rejected (or could not be signed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The verifier key could not be used.
    #[error("bad verifier key: {0}")]
    BadKey(KeyError),
    /// The bytes are not a well-formed signed note.
    #[error("malformed signed note: {0}")]
    BadNote(&'static str),
    /// The note has no signature by the expected key (unknown keys' signature
    /// lines are ignored, as signed-note requires).
    #[error("note has no signature by key {name}+{key_id:08x}")]
    NoSignature {
        /// Expected key name.
        name: String,
        /// Expected key ID.
        key_id: u32,
    },
    /// A signature line by the expected key does not verify.
    #[error("invalid signature by key {name}+{key_id:08x}")]
    BadSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// The checkpoint's origin is not the key's name.
    #[error("checkpoint origin {found:?} does not match log key name {expected:?}")]
    OriginMismatch {
        /// The key name (the log's identity).
        expected: String,
        /// The origin line in the checkpoint.
        found: String,
    },
    /// The note text is not a strict checkpoint body.
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
}

fn malformed(msg: impl Into<String>) -> CheckpointError {
    CheckpointError::Malformed(msg.into())
}

/// True for a line that may appear in a note: no ASCII control characters
/// (newlines are the separators and never inside a line).
fn line_chars_ok(line: &str) -> bool {
    !line.chars().any(|c| c < '\u{20}')
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text: `origin\nsize\nbase64(root)\n` then `ext\n` per
    /// extension. Does not check validity (see [`validate`](Self::validate)).
    pub fn to_body(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Checks that [`to_body`](Self::to_body) gives a body that
    /// [`parse_body`](Self::parse_body) accepts back unchanged: non-empty
    /// origin, non-empty extension lines, and no control characters
    /// (including newlines) in either.
    pub fn validate(&self) -> Result<(), CheckpointError> {
        if self.origin.is_empty() {
            return Err(malformed("empty origin line"));
        }
        if !line_chars_ok(&self.origin) {
            return Err(malformed("origin line contains a control character"));
        }
        for (i, e) in self.extensions.iter().enumerate() {
            if e.is_empty() {
                return Err(malformed(format!("extension line {} is empty", i + 1)));
            }
            if !line_chars_ok(e) {
                return Err(malformed(format!(
                    "extension line {} contains a control character",
                    i + 1
                )));
            }
        }
        if self.to_body().len() > MAX_NOTE_SIZE {
            return Err(malformed("checkpoint too large"));
        }
        Ok(())
    }

    /// Parses a checkpoint body strictly (C2SP tlog-checkpoint): a non-empty
    /// origin line; the tree size in decimal without sign or leading zeros
    /// (except `0`); the root hash in canonical padded base64 of 32 bytes;
    /// then optional non-empty extension lines. Every line, including the
    /// last, ends in `\n`; no control characters other than those newlines.
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        if text.len() > MAX_NOTE_SIZE {
            return Err(malformed("checkpoint too large"));
        }
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| malformed("body does not end with a newline"))?;
        let mut lines = body.split('\n');
        let mut next_line = |what: &str| {
            lines
                .next()
                .ok_or_else(|| malformed(format!("missing {what} line")))
        };
        let origin = next_line("origin")?;
        let size_line = next_line("tree size")?;
        let root_line = next_line("root hash")?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();

        if origin.is_empty() {
            return Err(malformed("empty origin line"));
        }
        if !line_chars_ok(origin) {
            return Err(malformed("origin line contains a control character"));
        }
        let size = parse_size(size_line)?;
        let root = Hash::from_base64(root_line)
            .map_err(|e| malformed(format!("bad root hash line: {e}")))?;
        let cp = Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        };
        cp.validate()?;
        Ok(cp)
    }
}

fn parse_size(line: &str) -> Result<u64, CheckpointError> {
    if line.is_empty() {
        return Err(malformed("empty tree size line"));
    }
    if !line.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(format!(
            "tree size {line:?} is not a decimal number"
        )));
    }
    if line.len() > 1 && line.starts_with('0') {
        return Err(malformed(format!("tree size {line:?} has a leading zero")));
    }
    line.parse()
        .map_err(|_| malformed(format!("tree size {line:?} does not fit in 64 bits")))
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_body())
    }
}

/// Splits `name+hexid+base64`, checks the name and the ID's syntax.
fn split_key(text: &str) -> Result<(&str, u32, Vec<u8>), KeyError> {
    let (name, rest) = text
        .split_once('+')
        .ok_or(KeyError::Malformed("expected name+id+key"))?;
    let (id_hex, data_b64) = rest
        .split_once('+')
        .ok_or(KeyError::Malformed("expected name+id+key"))?;
    if !signed_note::is_key_name_valid(name) {
        return Err(KeyError::InvalidName(name.to_owned()));
    }
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyError::Malformed("key ID must be 8 hex digits"));
    }
    let id = u32::from_str_radix(id_hex, 16).map_err(|_| KeyError::Malformed("bad key ID"))?;
    let data = BASE64
        .decode(data_b64)
        .map_err(|_| KeyError::Malformed("key data is not base64"))?;
    match data.first() {
        None => Err(KeyError::Malformed("empty key data")),
        Some(1) if data.len() == 33 => Ok((name, id, data)),
        Some(1) => Err(KeyError::Malformed("Ed25519 key data must be 33 bytes")),
        Some(_) => Err(KeyError::UnsupportedAlgorithm),
    }
}

/// Builds a C2SP verifier key `name+id+base64(0x01||pk)`.
fn vkey_for(name: &str, vk: &ed25519_dalek::VerifyingKey) -> String {
    signed_note::new_ed25519_verifier_key(name, vk)
}

/// The log's Ed25519 note signing key. Its name is the log origin.
#[derive(Clone)]
pub struct LogSigner {
    signer: StandardSigner,
    name: String,
    vkey: String,
}

impl fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogSigner")
            .field("vkey", &self.vkey)
            .finish_non_exhaustive()
    }
}

impl LogSigner {
    /// Generates a new key named `name` (the log origin) from the operating
    /// system's CSPRNG. Returns the signer and its secret key text
    /// `PRIVATE+KEY+<name>+<id>+<base64>` to store.
    ///
    /// # Panics
    /// If `name` is not a valid key name (see [`try_generate`](Self::try_generate)).
    pub fn generate(name: &str) -> (LogSigner, String) {
        Self::try_generate(name).expect("invalid log key name")
    }

    /// Like [`generate`](Self::generate), but reports an invalid name (empty,
    /// or containing whitespace or '+').
    pub fn try_generate(name: &str) -> Result<(LogSigner, String), KeyError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(KeyError::InvalidName(name.to_owned()));
        }
        let (skey, _vkey) = signed_note::generate_key(&mut rand_core::OsRng, name);
        let signer = Self::from_skey(&skey)?;
        Ok((signer, skey))
    }

    /// A key from a fixed 32-byte Ed25519 seed (for tests and known-answer
    /// vectors; production keys come from [`generate`](Self::generate)).
    /// Returns the signer and its secret key text.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<(LogSigner, String), KeyError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(KeyError::InvalidName(name.to_owned()));
        }
        let sk = ed25519_dalek::SigningKey::from_bytes(seed);
        let mut public = vec![1u8];
        public.extend_from_slice(sk.verifying_key().as_bytes());
        let mut private = vec![1u8];
        private.extend_from_slice(seed);
        let skey = format!(
            "PRIVATE+KEY+{name}+{:08x}+{}",
            signed_note::key_id(name, &public),
            BASE64.encode(&private)
        );
        let signer = Self::from_skey(&skey)?;
        Ok((signer, skey))
    }

    /// Parses a secret key `PRIVATE+KEY+<name>+<hex id>+<base64(0x01||seed)>`
    /// (the Go `note` / signed-note tooling format).
    pub fn from_skey(skey: &str) -> Result<Self, KeyError> {
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(KeyError::Malformed(
                "secret key must start with PRIVATE+KEY+",
            ))?;
        let (name, _id, data) = split_key(rest)?;
        let seed: [u8; 32] = data[1..]
            .try_into()
            .map_err(|_| KeyError::Malformed("Ed25519 seed must be 32 bytes"))?;
        let vk = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        let signer = StandardSigner::new(skey).map_err(|e| match e {
            signed_note::SignerError::Format => KeyError::Malformed("rejected by signed_note"),
            signed_note::SignerError::Alg => KeyError::UnsupportedAlgorithm,
            signed_note::SignerError::Id => KeyError::KeyIdMismatch,
        })?;
        Ok(LogSigner {
            name: name.to_owned(),
            vkey: vkey_for(name, &vk),
            signer,
        })
    }

    /// The verifier key `name+hexid+base64(0x01||public key)`, to publish.
    pub fn vkey(&self) -> String {
        self.vkey.clone()
    }

    /// The key name, which is the log origin.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key ID.
    pub fn key_id(&self) -> u32 {
        self.signer.key_id()
    }

    /// Signs `cp`, returning the full signed note: the body, a blank line, and
    /// `— <name> <base64(key ID || signature)>\n`.
    ///
    /// # Panics
    /// If `cp` is invalid (see [`Checkpoint::validate`]) or its origin is not
    /// this key's name; [`try_sign`](Self::try_sign) reports those instead.
    pub fn sign(&self, cp: &Checkpoint) -> String {
        match self.try_sign(cp) {
            Ok(s) => s,
            Err(e) => panic!("cannot sign checkpoint: {e}"),
        }
    }

    /// Like [`sign`](Self::sign), but returns an error for an invalid
    /// checkpoint or one whose origin is not this key's name.
    pub fn try_sign(&self, cp: &Checkpoint) -> Result<String, CheckpointError> {
        cp.validate()?;
        if cp.origin != self.name {
            return Err(CheckpointError::OriginMismatch {
                expected: self.name.clone(),
                found: cp.origin.clone(),
            });
        }
        let body = cp.to_body();
        let mut note = Note::new(body.as_bytes(), &[])
            .map_err(|_| CheckpointError::BadNote("body rejected by signed_note"))?;
        note.add_sigs(&[&self.signer])
            .map_err(|_| CheckpointError::BadNote("signing failed"))?;
        String::from_utf8(note.to_bytes())
            .map_err(|_| CheckpointError::BadNote("note is not UTF-8"))
    }
}

/// Parses a verifier key `name+hexid+base64(0x01||pk)`; returns its name and ID.
pub fn parse_vkey(vkey: &str) -> Result<(String, u32), KeyError> {
    let (name, id, _) = split_key(vkey)?;
    let v = StandardVerifier::new(vkey).map_err(|e| match e {
        signed_note::VerifierError::Format => KeyError::Malformed("invalid Ed25519 public key"),
        signed_note::VerifierError::Alg => KeyError::UnsupportedAlgorithm,
        signed_note::VerifierError::Id => KeyError::KeyIdMismatch,
    })?;
    debug_assert_eq!(v.key_id(), id);
    Ok((name.to_owned(), id))
}

/// Verifies that `note` is a signed note carrying a valid signature by the
/// key `vkey`, whose text is a strict checkpoint body with origin equal to the
/// key name, and returns the checkpoint. Signature lines by other keys are
/// ignored (signed-note); a bad signature by this key rejects the note.
pub fn verify_checkpoint(note: &[u8], vkey: &str) -> Result<Checkpoint, CheckpointError> {
    let (name, key_id) = parse_vkey(vkey).map_err(CheckpointError::BadKey)?;
    let verifier = StandardVerifier::new(vkey)
        .map_err(|_| CheckpointError::BadKey(KeyError::Malformed("rejected by signed_note")))?;
    if note.len() > MAX_NOTE_SIZE {
        return Err(CheckpointError::BadNote("note too large"));
    }
    let parsed = Note::from_bytes(note).map_err(|_| {
        CheckpointError::BadNote(
            "expected UTF-8 text without control characters, a blank line, and signature lines \"— <name> <base64>\"",
        )
    })?;
    match parsed.verify(&VerifierList::new(vec![Box::new(verifier)])) {
        Ok(_) => {}
        Err(NoteError::UnverifiedNote) => {
            return Err(CheckpointError::NoSignature { name, key_id });
        }
        Err(NoteError::InvalidSignature { .. }) => {
            return Err(CheckpointError::BadSignature { name, key_id });
        }
        Err(_) => return Err(CheckpointError::BadNote("signature lines rejected")),
    }
    let text = std::str::from_utf8(parsed.text())
        .map_err(|_| CheckpointError::BadNote("note text is not UTF-8"))?;
    let cp = Checkpoint::parse_body(text)?;
    if cp.origin != name {
        return Err(CheckpointError::OriginMismatch {
            expected: name,
            found: cp.origin,
        });
    }
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EMPTY_ROOT, leaf_hash};

    const NAME: &str = "example.com/veche";

    fn cp(size: u64) -> Checkpoint {
        Checkpoint::new(NAME, size, leaf_hash(&size.to_be_bytes()))
    }

    #[test]
    fn body_round_trip() {
        let mut c = cp(123);
        assert_eq!(Checkpoint::parse_body(&c.to_body()), Ok(c.clone()));
        c.extensions = vec!["a b".into(), "ü".into()];
        assert_eq!(Checkpoint::parse_body(&c.to_body()), Ok(c.clone()));
        let c0 = Checkpoint::new(NAME, 0, EMPTY_ROOT);
        assert_eq!(
            c0.to_body(),
            "example.com/veche\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        );
        assert_eq!(Checkpoint::parse_body(&c0.to_body()), Ok(c0));
        let max = Checkpoint::new(NAME, u64::MAX, EMPTY_ROOT);
        assert_eq!(Checkpoint::parse_body(&max.to_body()), Ok(max));
    }

    #[test]
    fn body_strictness() {
        let root = EMPTY_ROOT.to_base64();
        let ok = format!("o\n1\n{root}\n");
        assert!(Checkpoint::parse_body(&ok).is_ok());
        for bad in [
            String::new(),
            "\n".to_string(),
            format!("o\n1\n{root}"),
            format!("\n1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n00\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n 1\n{root}\n"),
            format!("o\n1 \n{root}\n"),
            format!("o\n\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            format!("o\n1\n{}\n", root.trim_end_matches('=')),
            format!("o\n1\n{}\n", EMPTY_ROOT.to_hex()),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{root}\next\n\n"),
            format!("o\n1\n{root}\n\next\n"),
            format!("o\r\n1\n{root}\n"),
            format!("o\n1\r\n{root}\n"),
            format!("o\u{7}\n1\n{root}\n"),
            format!("o\n1\n{root}\nx\ty\n"),
            "o\n1\n".to_string(),
            "o\n1\n\n".to_string(),
        ] {
            assert!(
                matches!(
                    Checkpoint::parse_body(&bad),
                    Err(CheckpointError::Malformed(_))
                ),
                "accepted {bad:?}"
            );
        }
    }

    #[test]
    fn sign_verify_round_trip() {
        let (signer, skey) = LogSigner::generate(NAME);
        assert!(skey.starts_with("PRIVATE+KEY+example.com/veche+"));
        assert_eq!(signer.name(), NAME);
        let again = LogSigner::from_skey(&skey).unwrap();
        assert_eq!(again.vkey(), signer.vkey());
        assert_eq!(
            parse_vkey(&signer.vkey()).unwrap(),
            (NAME.to_string(), signer.key_id())
        );
        let c = cp(42);
        let note = signer.sign(&c);
        assert!(note.starts_with(&c.to_body()));
        assert!(note.contains("\n\n— example.com/veche "));
        assert_eq!(verify_checkpoint(note.as_bytes(), &signer.vkey()), Ok(c));
        assert!(!format!("{signer:?}").contains("PRIVATE"));
    }

    #[test]
    fn sign_rejects_bad_checkpoints() {
        let (signer, _) = LogSigner::from_seed(NAME, &[9; 32]).unwrap();
        let mut c = cp(1);
        c.origin = "other.example".into();
        assert!(matches!(
            signer.try_sign(&c),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        let mut c = cp(1);
        c.extensions.push(String::new());
        assert!(matches!(
            signer.try_sign(&c),
            Err(CheckpointError::Malformed(_))
        ));
        let mut c = cp(1);
        c.extensions.push("a\nb".into());
        assert!(matches!(
            signer.try_sign(&c),
            Err(CheckpointError::Malformed(_))
        ));
        assert!(matches!(
            LogSigner::try_generate("has space"),
            Err(KeyError::InvalidName(_))
        ));
        assert!(matches!(
            LogSigner::from_seed("a+b", &[0; 32]),
            Err(KeyError::InvalidName(_))
        ));
    }

    #[test]
    fn key_parsing_errors() {
        let (signer, skey) = LogSigner::from_seed(NAME, &[7; 32]).unwrap();
        assert_eq!(
            LogSigner::from_skey(&skey.replacen("PRIVATE+KEY+", "", 1)).unwrap_err(),
            KeyError::Malformed("secret key must start with PRIVATE+KEY+")
        );
        // Flip the key ID.
        let parts: Vec<&str> = skey.split('+').collect();
        let bad_id = format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            parts[2],
            signer.key_id() ^ 1,
            parts[4]
        );
        assert_eq!(
            LogSigner::from_skey(&bad_id).unwrap_err(),
            KeyError::KeyIdMismatch
        );
        let vk = signer.vkey();
        let vparts: Vec<&str> = vk.split('+').collect();
        let bad_vid = format!("{}+{:08x}+{}", vparts[0], signer.key_id() ^ 1, vparts[2]);
        assert_eq!(parse_vkey(&bad_vid).unwrap_err(), KeyError::KeyIdMismatch);
        assert!(matches!(parse_vkey("nokey"), Err(KeyError::Malformed(_))));
        assert!(matches!(
            parse_vkey("a+1234+AQ=="),
            Err(KeyError::Malformed(_))
        ));
        let alg2 = format!("{}+{}+{}", vparts[0], vparts[1], BASE64.encode([2u8; 33]));
        assert_eq!(
            parse_vkey(&alg2).unwrap_err(),
            KeyError::UnsupportedAlgorithm
        );
        assert!(matches!(
            verify_checkpoint(b"x", "bad"),
            Err(CheckpointError::BadKey(_))
        ));
    }
}
