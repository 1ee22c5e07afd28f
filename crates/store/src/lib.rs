//! Storage and sequencing for the Veche log.
//!
//! Owns the database schema (SQLite or PostgreSQL, through sqlx), the
//! sequencer that integrates entries in durable batches, and reads of tiles,
//! entry bundles and checkpoints for publication. Knows nothing of HTTP.

pub mod backup;
pub mod ceremonies;
pub mod clock;
pub mod cluster;
pub mod db;
pub mod identity;
pub mod petitions;
pub mod publish;
pub mod sequencer;
pub mod webhook;

pub use clock::{Clock, FixedClock, SystemClock};
pub use db::{BatchTx, DatabaseConfig, Store, StoreError, StoredCheckpoint, TreeState};
pub use sequencer::{
    AppendError, LogHandle, PublishedCheckpoint, Sequencer, SequencerConfig, WithEntries,
};
