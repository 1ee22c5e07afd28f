//! Witness quorum: how many witnesses the verifier trusts vouched, with a
//! `cosignature/v1` line on the log's checkpoint, that they saw it
//! consistent with everything they saw before (C2SP tlog-cosignature).
//!
//! A checkpoint cosigned by enough independent witnesses cannot be a split
//! view shown only to this verifier: each witness refuses to cosign a
//! checkpoint that does not extend the last one it cosigned.

use crate::{Result, could_not, failed};
use veche_log::checkpoint::CheckpointError;
use veche_log::cosignature::{Cosignature, WitnessVerifier, verify_cosigned_checkpoint};

/// The witnesses a command requires, from `--witness` and `--quorum`.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// The trusted witnesses' cosigner keys.
    pub witnesses: Vec<WitnessVerifier>,
    /// How many distinct witnesses must have cosigned.
    pub quorum: usize,
}

impl Policy {
    /// Parses the `--witness` keys (type 0x04 vkeys) and checks that the
    /// quorum can be met at all.
    pub fn new(vkeys: &[String], quorum: usize) -> Result<Policy> {
        let witnesses = vkeys
            .iter()
            .map(|k| WitnessVerifier::new(k).map_err(|e| could_not(format!("--witness {k}: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        let mut names: Vec<&str> = witnesses.iter().map(|w| w.name()).collect();
        names.sort_unstable();
        names.dedup();
        if quorum > names.len() {
            return Err(could_not(format!(
                "--quorum {quorum} cannot be met by the {} distinct witness(es) given with --witness",
                names.len()
            )));
        }
        Ok(Policy { witnesses, quorum })
    }

    /// Whether there is anything to check.
    pub fn is_empty(&self) -> bool {
        self.witnesses.is_empty() && self.quorum == 0
    }

    /// Checks the cosignatures on `note` (already verified with `vkey`):
    /// every line by a known witness must verify, and at least `quorum`
    /// distinct known witnesses must have cosigned. Returns the valid
    /// cosignatures.
    pub fn check(&self, note: &[u8], vkey: &str, what: &str) -> Result<Vec<Cosignature>> {
        let cosigned =
            verify_cosigned_checkpoint(note, vkey, &self.witnesses).map_err(|e| match e {
                CheckpointError::BadSignature { name, key_id } => failed(format!(
                    "{what}: the cosignature by witness {name}+{key_id:08x} does not verify"
                )),
                e => failed(format!("{what}: {e}")),
            })?;
        let count = cosigned.witness_count();
        if count < self.quorum {
            let mut names: Vec<&str> = cosigned
                .cosignatures
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            names.dedup();
            return Err(failed(format!(
                "{what}: cosigned by {count} of the {} witnesses required (--quorum {}){}",
                self.quorum,
                self.quorum,
                if names.is_empty() {
                    String::new()
                } else {
                    format!(": {}", names.join(", "))
                }
            )));
        }
        Ok(cosigned.cosignatures)
    }
}
