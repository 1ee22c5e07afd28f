//! Receipts (`specs/receipts.md`): proof that one entry is in the log.
//!
//! ```json
//! {"format":"veche-receipt/v1","origin":"…","index":7,
//!  "leaf_hash":"<base64>","entry":"<base64, optional>","tree_size":9,
//!  "inclusion_proof":["<base64>",…],"checkpoint":"<signed note text>"}
//! ```

use crate::checkpoint::{Show, check_consistency, verify_note};
use crate::source::LogSource;
use crate::{Result, could_not, failed, hex_prefix};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use std::path::Path;
use veche_entry::Entry;
use veche_log::{Checkpoint, Hash, leaf_hash, verify_inclusion};

/// The `format` of a receipt.
pub const RECEIPT_FORMAT: &str = "veche-receipt/v1";

/// A receipt as stored in its JSON file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always [`RECEIPT_FORMAT`].
    pub format: String,
    /// The log's origin (its key name).
    pub origin: String,
    /// The entry's log index (0-based).
    pub index: u64,
    /// `SHA-256(0x00 ‖ entry)`, base64.
    pub leaf_hash: String,
    /// The entry's bytes, base64 (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// Size of the tree the proof is for; equals the checkpoint's size.
    pub tree_size: u64,
    /// RFC 9162 inclusion proof, base64 hashes from the leaf upwards.
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint note of a tree of `tree_size` leaves.
    pub checkpoint: String,
}

/// What a receipt proves, once checked.
#[derive(Debug, Clone)]
pub struct CheckedReceipt {
    /// The entry's index.
    pub index: u64,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// The entry, decoded, if the receipt carries it.
    pub entry: Option<Entry>,
    /// The receipt's checkpoint, verified.
    pub checkpoint: Checkpoint,
}

/// Reads a receipt file. A file that cannot be read is a problem of the
/// check; a file that is not a receipt fails verification.
pub fn read(path: &Path) -> Result<Receipt> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| could_not(format!("receipt {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        failed(format!(
            "receipt {}: not a valid receipt: {e}",
            path.display()
        ))
    })
}

/// Checks a receipt on its own, without the log: the format, the
/// checkpoint's signature with `vkey`, its origin and size, the entry
/// against the leaf hash (and its canonical encoding), and the inclusion
/// proof against the checkpoint's root.
pub fn check(r: &Receipt, vkey: &str) -> Result<CheckedReceipt> {
    if r.format != RECEIPT_FORMAT {
        return Err(failed(format!(
            "receipt format is {:?}, expected {RECEIPT_FORMAT:?}",
            r.format
        )));
    }
    let cp = verify_note(r.checkpoint.as_bytes(), vkey, "receipt checkpoint")?;
    if r.origin != cp.origin {
        return Err(failed(format!(
            "receipt origin {:?} differs from its checkpoint's origin {:?}",
            r.origin, cp.origin
        )));
    }
    if r.tree_size != cp.size {
        return Err(failed(format!(
            "receipt tree_size {} differs from its checkpoint's size {}",
            r.tree_size, cp.size
        )));
    }
    let leaf =
        Hash::from_base64(&r.leaf_hash).map_err(|e| failed(format!("receipt leaf_hash: {e}")))?;
    let entry = match &r.entry {
        None => None,
        Some(b64) => {
            let bytes = BASE64
                .decode(b64)
                .map_err(|e| failed(format!("receipt entry: not base64: {e}")))?;
            let computed = leaf_hash(&bytes);
            if computed != leaf {
                return Err(failed(format!(
                    "receipt entry does not match leaf_hash: SHA-256(0x00 ‖ entry) is {}, the receipt says {}",
                    computed.to_base64(),
                    leaf.to_base64()
                )));
            }
            let entry = Entry::decode(&bytes)
                .map_err(|e| failed(format!("receipt entry does not decode: {e}")))?;
            if entry.encode().ok().as_deref() != Some(&bytes[..]) {
                return Err(failed(format!(
                    "receipt entry is not canonically encoded: {}",
                    hex_prefix(&bytes, 32)
                )));
            }
            Some(entry)
        }
    };
    let proof = r
        .inclusion_proof
        .iter()
        .enumerate()
        .map(|(i, h)| {
            Hash::from_base64(h).map_err(|e| failed(format!("receipt inclusion_proof[{i}]: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    verify_inclusion(&leaf, r.index, cp.size, &proof, &cp.root).map_err(|e| {
        failed(format!(
            "inclusion proof of entry {} in the tree of its checkpoint ({}) fails: {e}",
            r.index,
            Show(&cp)
        ))
    })?;
    Ok(CheckedReceipt {
        index: r.index,
        leaf_hash: leaf,
        entry,
        checkpoint: cp,
    })
}

/// Checks that the log still contains the receipt's tree: its current
/// checkpoint `current` extends the receipt's checkpoint.
pub fn check_in_log(src: &dyn LogSource, r: &CheckedReceipt, current: &Checkpoint) -> Result<()> {
    check_consistency(src, &r.checkpoint, current).map_err(|e| match e {
        crate::Error::Failed(m) => failed(format!(
            "the log's current checkpoint is not consistent with the receipt's: {m}"
        )),
        e => e,
    })
}
