//! Payload types, one module per kind (registered in `payload.rs`).

pub mod jurisdiction;
pub mod pb;
pub mod petition;
pub mod poll;
pub mod roll_version;
