//! Payload types, one module per kind (registered in `payload.rs`).

pub mod jurisdiction;
pub mod roll_version;
pub mod petition;
