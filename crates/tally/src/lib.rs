//! # veche-tally: the pure counting rules of Veche
//!
//! This crate owns every rule that turns ballots into results, with no I/O,
//! no clock and no floating point, so that the server (which declares
//! results) and the verifier (which recomputes them from the public log)
//! run the very same code:
//!
//! * [`pabulib`]: the Pabulib `.pb` file format of participatory budgeting
//!   (PB) elections, parsed into an [`Instance`](pabulib::Instance) with
//!   line-precise errors and written back;
//! * [`pb`]: the PB rules over approval ballots, matching pabutools 1.2.3
//!   exactly: greedy by approvals, the Method of Equal Shares (cost
//!   satisfaction) and its completions add1 and add1+greedy;
//! * [`poll`]: priority polls: single choice, approval and Schulze;
//! * [`amount`]: exact decimal money.
//!
//! The rules, their arithmetic and tie-breaking, and the cross-check with
//! pabutools on real Pabulib files are specified in `specs/pb.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod amount;
pub mod pabulib;
pub mod pb;
pub mod poll;
