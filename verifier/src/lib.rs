//! # veche-verify: the standalone verifier of a Veche transparency log
//!
//! Everything Veche records is an entry of one append-only RFC 6962 Merkle
//! log, published as C2SP tlog-tiles and committed to by Ed25519-signed C2SP
//! checkpoints. This crate checks such a log from the outside, trusting
//! nothing but the log's public key:
//!
//! * [`checkpoint`]: the signed checkpoint verifies, and is consistent with
//!   every checkpoint seen before (remembered in a [`state`] file);
//! * [`receipt`]: a citizen's receipt proves that their entry is in the log;
//! * [`audit`]: every entry decodes canonically, every published hash tile
//!   matches the entries, the entries give the checkpoint's root, and every
//!   entry follows the service's rules (the `veche-state` fold);
//! * [`petitions`]: the petitions the audited log declares, and the
//!   legislature deadline report;
//! * [`polls`]: the polls and participatory-budgeting rounds it declares,
//!   each declared tally recomputed from the ballots;
//! * [`eligibility`]: every petition signature is backed by a valid passkey
//!   assertion of a registered credential (from an auditor's export);
//! * [`quorum`]: enough trusted witnesses cosigned the checkpoint;
//! * [`witness`]: a C2SP tlog-witness server (`veche-verify witness`).
//!
//! Logs are read through a [`LogSource`](source::LogSource): an HTTP(S)
//! tlog-tiles prefix or a directory mirror. The normative description of
//! what is checked is `specs/verifier.md`; receipts are in
//! `specs/receipts.md`. [`mirror`] writes test mirrors.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod checkpoint;
pub mod eligibility;
mod fetch;
pub mod mirror;
pub mod petitions;
pub mod polls;
pub mod quorum;
pub mod receipt;
pub mod source;
pub mod state;
pub mod witness;

/// Why a check did not succeed. The two variants map to the exit codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The log (or the receipt) is wrong: verification failed. Exit code 1.
    #[error("{0}")]
    Failed(String),
    /// The check could not be done: bad usage, unreadable file, network or
    /// I/O problem. Says nothing about the log. Exit code 2.
    #[error("{0}")]
    CouldNotCheck(String),
}

impl Error {
    /// The process exit code: 1 for [`Error::Failed`], 2 for
    /// [`Error::CouldNotCheck`].
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Failed(_) => 1,
            Error::CouldNotCheck(_) => 2,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A verification failure (exit code 1).
pub(crate) fn failed(msg: impl Into<String>) -> Error {
    Error::Failed(msg.into())
}

/// A problem that prevented checking (exit code 2).
pub(crate) fn could_not(msg: impl Into<String>) -> Error {
    Error::CouldNotCheck(msg.into())
}

/// The first `n` bytes of `data` in hex, with `…` if there are more.
pub(crate) fn hex_prefix(data: &[u8], n: usize) -> String {
    let mut s = hex::encode(&data[..data.len().min(n)]);
    if data.len() > n {
        s.push('…');
    }
    s
}
