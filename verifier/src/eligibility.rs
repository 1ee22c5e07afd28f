//! The eligibility audit: every petition signature of the log is backed by
//! a valid passkey assertion of a registered credential.
//!
//! Each `signature` entry carries only a commitment (BLAKE3) to the full
//! WebAuthn assertion (`specs/passkeys.md` §6.3). An authorised auditor
//! receives from the server an *export* (format
//! [`FORMAT`]): the relying party (RP ID and allowed origins), the
//! registered credentials (id, public key, backup eligibility) and, for
//! every signature entry, the assertion with the nonce of its challenge.
//! [`check`] matches the export against the audited log: for every
//! signature entry, the export's assertion must be the one committed to,
//! made by a credential of the export, over the challenge of "sign this
//! petition with this content" and the nonce, and verify
//! (`veche_passkey::verify_evidence`). The normative description is in
//! `specs/verifier.md`.

use crate::{Result, could_not};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use veche_entry::{Entry, Payload};
use veche_passkey::{Algorithm, AssertionEvidence, StoredPublicKey, verify_evidence};
use veche_state::{State, signature_action};

/// The export's `format` member.
pub const FORMAT: &str = "veche-eligibility-export/v1";

/// An eligibility export, as the server gives it to an authorised auditor.
/// Unknown members are refused at every level; bytes are base64url without
/// padding.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// Always [`FORMAT`].
    pub format: String,
    /// The origin of the log it belongs to (the log key's name).
    pub log_origin: String,
    /// The WebAuthn relying party ID the assertions were made for.
    pub rp_id: String,
    /// The origins allowed in clientDataJSON, compared byte for byte.
    pub origins: Vec<String>,
    /// The registered credentials.
    pub credentials: Vec<ExportCredential>,
    /// One record per signature entry.
    pub signatures: Vec<ExportSignature>,
}

/// A registered passkey of the export.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportCredential {
    /// The credential id.
    #[serde(deserialize_with = "b64")]
    pub id: Vec<u8>,
    /// Its public key (`veche_passkey::StoredPublicKey`'s JSON).
    #[serde(deserialize_with = "public_key")]
    pub public_key: StoredPublicKey,
    /// BE as registered: whether it may be backed up (a synced passkey).
    pub backup_eligible: bool,
}

/// The assertion behind one signature entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportSignature {
    /// The log index of the `signature` entry.
    pub index: u64,
    /// The petition it signs.
    pub petition: u64,
    /// The 32-byte nonce of the action challenge.
    #[serde(deserialize_with = "nonce")]
    pub nonce: [u8; 32],
    /// The assertion (`veche_passkey::AssertionEvidence`'s JSON).
    #[serde(deserialize_with = "evidence")]
    pub evidence: AssertionEvidence,
}

fn b64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = std::borrow::Cow::<str>::deserialize(d)?;
    URL_SAFE_NO_PAD
        .decode(s.as_bytes())
        .map_err(|e| serde::de::Error::custom(format!("not base64url without padding: {e}")))
}

fn nonce<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
    let v = b64(d)?;
    <[u8; 32]>::try_from(v.as_slice())
        .map_err(|_| serde::de::Error::custom(format!("a nonce is 32 bytes, got {}", v.len())))
}

fn public_key<'de, D: Deserializer<'de>>(d: D) -> Result<StoredPublicKey, D::Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Key {
        alg: Algorithm,
        #[serde(deserialize_with = "b64")]
        bytes: Vec<u8>,
    }
    let k = Key::deserialize(d)?;
    Ok(StoredPublicKey {
        alg: k.alg,
        bytes: k.bytes,
    })
}

fn evidence<'de, D: Deserializer<'de>>(d: D) -> Result<AssertionEvidence, D::Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Evidence {
        #[serde(deserialize_with = "b64")]
        credential_id: Vec<u8>,
        #[serde(deserialize_with = "b64")]
        client_data_json: Vec<u8>,
        #[serde(deserialize_with = "b64")]
        authenticator_data: Vec<u8>,
        #[serde(deserialize_with = "b64")]
        signature: Vec<u8>,
    }
    let e = Evidence::deserialize(d)?;
    Ok(AssertionEvidence {
        credential_id: e.credential_id,
        client_data_json: e.client_data_json,
        authenticator_data: e.authenticator_data,
        signature: e.signature,
    })
}

/// Reads and parses the export in `path`. Unreadable, not the format, or
/// inconsistent in itself (two credentials or two records for the same
/// id): [`could_not`] (exit code 2): such a file says nothing about the
/// log.
pub fn read(path: &Path) -> Result<Export> {
    let data =
        std::fs::read(path).map_err(|e| could_not(format!("--export {}: {e}", path.display())))?;
    parse(&data).map_err(|e| could_not(format!("--export {}: {e}", path.display())))
}

/// Parses an export (see [`read`]); `Err` says what is wrong.
pub fn parse(data: &[u8]) -> Result<Export, String> {
    // The format first, so that another file gets a clear message.
    let v: Value = serde_json::from_slice(data).map_err(|e| format!("not a JSON document: {e}"))?;
    match v.get("format").and_then(Value::as_str) {
        Some(FORMAT) => {}
        Some(other) => return Err(format!("format is {other:?}, expected {FORMAT:?}")),
        None => {
            return Err(format!(
                "not an eligibility export (no \"format\": {FORMAT:?})"
            ));
        }
    }
    let export: Export =
        serde_json::from_value(v).map_err(|e| format!("malformed {FORMAT}: {e}"))?;
    let mut ids = HashMap::new();
    for (n, c) in export.credentials.iter().enumerate() {
        if let Some(first) = ids.insert(c.id.as_slice(), n) {
            return Err(format!(
                "credentials {first} and {n} have the same id {}",
                URL_SAFE_NO_PAD.encode(&c.id)
            ));
        }
    }
    let mut indexes = HashMap::new();
    for (n, s) in export.signatures.iter().enumerate() {
        if let Some(first) = indexes.insert(s.index, n) {
            return Err(format!(
                "signatures {first} and {n} are both for entry {}",
                s.index
            ));
        }
    }
    Ok(export)
}

impl Export {
    /// Checks that the export belongs to the log `origin` and that its
    /// relying party is well-formed (`veche_passkey::RelyingParty::check`);
    /// otherwise [`could_not`] (exit code 2).
    pub fn check_for_log(&self, origin: &str) -> Result<()> {
        if self.log_origin != origin {
            return Err(could_not(format!(
                "the export is for the log {:?}, not {origin:?}",
                self.log_origin
            )));
        }
        veche_passkey::RelyingParty::new(self.rp_id.clone(), "Veche", self.origins.clone())
            .map_err(|e| could_not(format!("the export's relying party: {e}")))?;
        Ok(())
    }
}

/// A `signature` entry of the log, as the eligibility check needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedSignature {
    /// Its log index.
    pub index: u64,
    /// The petition it signs.
    pub petition: u64,
    /// Its commitment to the assertion.
    pub assertion: [u8; 32],
}

impl LoggedSignature {
    /// The signature in entry `index`, if `entry` is one.
    pub fn of(index: u64, entry: &Entry) -> Option<Self> {
        match &entry.payload {
            Payload::Signature(s) => Some(Self {
                index,
                petition: s.petition,
                assertion: s.assertion,
            }),
            _ => None,
        }
    }
}

/// What is wrong with one signature entry or one export record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The log index (of the signature entry, or the record's `index`).
    pub index: u64,
    /// The petition (the entry's, or the record's).
    pub petition: u64,
    /// A stable kebab-case code: `missing-record`, `petition-mismatch`,
    /// `commitment-mismatch`, `unknown-credential`, a
    /// `veche_passkey::PasskeyError` code, `backup-state-inconsistent`,
    /// `credential-signed-twice`, `unknown-petition` (for signatures);
    /// `not-a-signature` (for records).
    pub code: &'static str,
    /// What exactly is wrong.
    pub message: String,
}

impl Problem {
    fn to_json(&self) -> Value {
        json!({"index": self.index, "petition": self.petition, "code": self.code,
               "message": self.message})
    }

    fn line(&self) -> String {
        format!(
            "entry {} (petition {}): {}: {}",
            self.index, self.petition, self.code, self.message
        )
    }
}

/// The eligibility audit's findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Signature entries in the log.
    pub signatures: u64,
    /// Of them, backed by a valid assertion.
    pub verified: u64,
    /// Of the verified, made with a synced passkey (BE) / marked backed up (BS).
    pub backup_eligible: u64,
    /// See [`Report::backup_eligible`].
    pub backed_up: u64,
    /// Verified signatures per credential algorithm (`es256`, `ed25519`).
    pub by_algorithm: BTreeMap<&'static str, u64>,
    /// Distinct credentials that made verified signatures.
    pub credentials_used: u64,
    /// Credentials in the export.
    pub credentials: u64,
    /// Records in the export.
    pub records: u64,
    /// Signature entries without a valid assertion, in log order.
    pub invalid: Vec<Problem>,
    /// Export records for an entry of the log that is not a signature (or
    /// not of that petition), by index.
    pub orphans: Vec<Problem>,
    /// Export records for entries beyond the audited checkpoint: not
    /// checked (the log had not published them yet), not a failure.
    pub beyond_checkpoint: Vec<u64>,
}

impl Report {
    /// Whether every signature has a valid assertion and every record of
    /// the export (up to the checkpoint) is for a signature entry.
    pub fn ok(&self) -> bool {
        self.invalid.is_empty() && self.orphans.is_empty()
    }

    /// The failure message if not [`Report::ok`].
    pub fn failure(&self) -> Option<String> {
        if self.ok() {
            return None;
        }
        let mut parts = Vec::new();
        if !self.invalid.is_empty() {
            parts.push(format!(
                "{} of the {} signatures have no valid assertion in the export (first: {})",
                self.invalid.len(),
                self.signatures,
                self.invalid[0].line()
            ));
        }
        if !self.orphans.is_empty() {
            parts.push(format!(
                "{} export record(s) point at no signature entry (first: {})",
                self.orphans.len(),
                self.orphans[0].line()
            ));
        }
        Some(parts.join("; "))
    }

    /// The JSON members of the report (without `ok` and the checkpoint).
    pub fn to_json(&self) -> Value {
        json!({
            "signatures": self.signatures,
            "verified": self.verified,
            "invalid": self.invalid.iter().map(Problem::to_json).collect::<Vec<_>>(),
            "orphan_records": self.orphans.iter().map(Problem::to_json).collect::<Vec<_>>(),
            "beyond_checkpoint": self.beyond_checkpoint,
            "records": self.records,
            "credentials": self.credentials,
            "credentials_used": self.credentials_used,
            "by_algorithm": self.by_algorithm,
            "backup_eligible": self.backup_eligible,
            "backed_up": self.backed_up,
        })
    }

    /// The text form, one line each, unindented.
    pub fn lines(&self) -> Vec<String> {
        let algs: Vec<String> = self
            .by_algorithm
            .iter()
            .map(|(a, n)| format!("{n} {a}"))
            .collect();
        let mut out = vec![
            format!(
                "signatures: {} in the log, {} with a valid assertion, {} without",
                self.signatures,
                self.verified,
                self.invalid.len()
            ),
            format!(
                "  verified by {} of the export's {} credentials ({}); {} synced passkeys (BE), {} backed up (BS)",
                self.credentials_used,
                self.credentials,
                if algs.is_empty() {
                    "none".to_owned()
                } else {
                    algs.join(", ")
                },
                self.backup_eligible,
                self.backed_up
            ),
            format!(
                "  export records: {}; {} point at no signature entry; {} beyond the checkpoint (not checked)",
                self.records,
                self.orphans.len(),
                self.beyond_checkpoint.len()
            ),
        ];
        if !self.invalid.is_empty() {
            out.push("signatures without a valid assertion:".into());
            out.extend(self.invalid.iter().map(|p| format!("  {}", p.line())));
        }
        if !self.orphans.is_empty() {
            out.push("export records that point at no signature entry:".into());
            out.extend(self.orphans.iter().map(|p| format!("  {}", p.line())));
        }
        if !self.beyond_checkpoint.is_empty() {
            let shown: Vec<String> = self
                .beyond_checkpoint
                .iter()
                .take(20)
                .map(u64::to_string)
                .collect();
            out.push(format!(
                "records beyond the checkpoint (entries {}{}): audit a later checkpoint to check them",
                shown.join(", "),
                if self.beyond_checkpoint.len() > 20 { ", …" } else { "" }
            ));
        }
        out
    }
}

/// What one signature's check found: the credential that made it and its
/// flags, or the problem.
type Outcome = Result<(usize, veche_passkey::EvidenceInfo), Problem>;

/// Checks the `signatures` of the audited log of `size` entries, whose
/// state is `state`, against `export` (already checked with
/// [`Export::check_for_log`]). Verifies on all available cores.
pub fn check(export: &Export, state: &State, size: u64, signatures: &[LoggedSignature]) -> Report {
    let records: HashMap<u64, &ExportSignature> =
        export.signatures.iter().map(|s| (s.index, s)).collect();
    let credentials: HashMap<&[u8], usize> = export
        .credentials
        .iter()
        .enumerate()
        .map(|(n, c)| (c.id.as_slice(), n))
        .collect();
    let one = |sig: &LoggedSignature| check_one(export, state, &records, &credentials, sig);

    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = signatures.len().div_ceil(workers).max(1);
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = signatures
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });

    let mut report = Report {
        signatures: signatures.len() as u64,
        credentials: export.credentials.len() as u64,
        records: export.signatures.len() as u64,
        ..Report::default()
    };
    // (petition, credential) → the first entry it signed.
    let mut signed: HashMap<(u64, usize), u64> = HashMap::new();
    let mut used = vec![false; export.credentials.len()];
    for (sig, outcome) in signatures.iter().zip(outcomes) {
        let (n, info) = match outcome {
            Ok(ok) => ok,
            Err(p) => {
                report.invalid.push(p);
                continue;
            }
        };
        let cred = &export.credentials[n];
        if let Some(first) = signed.insert((sig.petition, n), sig.index) {
            report.invalid.push(Problem {
                index: sig.index,
                petition: sig.petition,
                code: "credential-signed-twice",
                message: format!(
                    "credential {} already signed petition {} in entry {first}: one account \
                     counted under two nullifiers",
                    URL_SAFE_NO_PAD.encode(&cred.id),
                    sig.petition
                ),
            });
            continue;
        }
        report.verified += 1;
        used[n] = true;
        report.backup_eligible += u64::from(info.backup_eligible);
        report.backed_up += u64::from(info.backed_up);
        let alg = match cred.public_key.alg {
            Algorithm::Es256 => "es256",
            Algorithm::Ed25519 => "ed25519",
        };
        *report.by_algorithm.entry(alg).or_default() += 1;
    }
    report.credentials_used = used.iter().filter(|u| **u).count() as u64;

    let logged: HashMap<u64, &LoggedSignature> = signatures.iter().map(|s| (s.index, s)).collect();
    let mut by_index: Vec<&ExportSignature> = export.signatures.iter().collect();
    by_index.sort_by_key(|r| r.index);
    for r in by_index {
        if r.index >= size {
            report.beyond_checkpoint.push(r.index);
            continue;
        }
        if !logged.contains_key(&r.index) {
            // A record for a signature of another petition was reported
            // with the signature (`petition-mismatch`).
            report.orphans.push(Problem {
                index: r.index,
                petition: r.petition,
                code: "not-a-signature",
                message: format!(
                    "the export has an assertion for entry {}, which is not a signature entry",
                    r.index
                ),
            });
        }
    }
    report
}

fn check_one(
    export: &Export,
    state: &State,
    records: &HashMap<u64, &ExportSignature>,
    credentials: &HashMap<&[u8], usize>,
    sig: &LoggedSignature,
) -> Outcome {
    let problem = |code: &'static str, message: String| Problem {
        index: sig.index,
        petition: sig.petition,
        code,
        message,
    };
    let Some(record) = records.get(&sig.index) else {
        return Err(problem(
            "missing-record",
            "the export has no assertion for this signature".into(),
        ));
    };
    if record.petition != sig.petition {
        return Err(problem(
            "petition-mismatch",
            format!(
                "the export's record is for petition {}, the entry signs petition {}",
                record.petition, sig.petition
            ),
        ));
    }
    let commitment = record.evidence.commitment();
    if commitment != sig.assertion {
        return Err(problem(
            "commitment-mismatch",
            format!(
                "the export's assertion has the commitment {}, the entry commits to {}",
                hex::encode(commitment),
                hex::encode(sig.assertion)
            ),
        ));
    }
    let credential_id = record.evidence.credential_id.as_slice();
    let Some(&n) = credentials.get(credential_id) else {
        return Err(problem(
            "unknown-credential",
            format!(
                "credential {} is not among the export's credentials",
                URL_SAFE_NO_PAD.encode(credential_id)
            ),
        ));
    };
    let cred = &export.credentials[n];
    let Some(petition) = state.petition(sig.petition) else {
        // The audit admitted the signature, so its petition exists.
        return Err(problem(
            "unknown-petition",
            format!("petition {} is not in the log", sig.petition),
        ));
    };
    let action = signature_action(sig.petition, &petition.content);
    let info = verify_evidence(
        &export.rp_id,
        &export.origins,
        &cred.id,
        &cred.public_key,
        &action,
        &record.nonce,
        &record.evidence,
    )
    .map_err(|e| {
        problem(
            e.code(),
            format!(
                "the assertion of credential {} does not verify: {e}",
                URL_SAFE_NO_PAD.encode(&cred.id)
            ),
        )
    })?;
    if info.backup_eligible != cred.backup_eligible {
        return Err(problem(
            "backup-state-inconsistent",
            format!(
                "the assertion says BE={}, but credential {} was registered with BE={}",
                info.backup_eligible,
                URL_SAFE_NO_PAD.encode(&cred.id),
                cred.backup_eligible
            ),
        ));
    }
    Ok((n, info))
}
