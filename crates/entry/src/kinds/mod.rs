//! Payload types, one module per kind (registered in `payload.rs`).

pub mod jurisdiction;
pub mod petition;
pub mod roll_version;
