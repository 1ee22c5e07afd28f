//! The sequencer: the one writer that integrates new entries into the tree.
//!
//! Appends arrive on a channel. The sequencer takes everything queued (up to
//! `max_batch`), assigns indices, updates the O(log n) tile state, and commits
//! entries, tiles and the new tree state in **one** transaction (group
//! commit: one fsync for the whole batch). Only then does each caller get its
//! index back, so an acknowledged append is durable. A checkpoint is signed
//! with a batch when the last one is at least `checkpoint_interval` old, and on
//! a timer otherwise, so a new tree is published within about one interval.
//!
//! Other processes (the `veche jurisdiction add` command, later other server
//! nodes) may integrate too: every commit checks the stored tree size under
//! the database's write lock, and a sequencer that finds the log grew under
//! it reloads its state from the database and retries. The tree cannot fork.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use veche_log::Hash;
use veche_log::checkpoint::{Checkpoint, LogSigner};
use veche_log::writer::TileWriter;

use crate::clock::Clock;
use crate::db::{Batch, Store, StoreError, StoredCheckpoint};

/// Largest entry that fits a C2SP entry bundle (16-bit length prefix).
pub const MAX_ENTRY_BYTES: usize = 65_535;

#[derive(Clone, Debug)]
pub struct SequencerConfig {
    /// Most entries committed in one transaction.
    pub max_batch: usize,
    /// Minimum time between two signed checkpoints.
    pub checkpoint_interval: Duration,
    /// How often to look for appends made by other processes.
    pub poll_interval: Duration,
    /// Queued appends beyond which callers wait (back-pressure).
    pub queue_capacity: usize,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        Self {
            max_batch: 4096,
            checkpoint_interval: Duration::from_secs(1),
            poll_interval: Duration::from_millis(250),
            queue_capacity: 65_536,
        }
    }
}

/// Why an append was not acknowledged. Nothing of it was written.
#[derive(Debug, thiserror::Error, Clone)]
pub enum AppendError {
    #[error("entry is {0} bytes; the most a log entry may take is {MAX_ENTRY_BYTES}")]
    TooLarge(usize),
    #[error("entry is not a valid canonical v1 entry: {0}")]
    Invalid(String),
    #[error("the log is shutting down")]
    ShuttingDown,
    #[error("storage failed; the entry was not appended: {0}")]
    Storage(String),
}

/// The latest signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedCheckpoint {
    pub size: u64,
    pub root: Hash,
    pub note: String,
}

impl From<StoredCheckpoint> for PublishedCheckpoint {
    fn from(c: StoredCheckpoint) -> Self {
        Self {
            size: c.size,
            root: c.root,
            note: c.note,
        }
    }
}

struct Request {
    entries: Vec<Vec<u8>>,
    reply: oneshot::Sender<Result<u64, AppendError>>,
}

/// A handle for appending and for watching checkpoints. Cheap to clone.
#[derive(Clone)]
pub struct LogHandle {
    tx: mpsc::Sender<Request>,
    checkpoint: watch::Receiver<Arc<PublishedCheckpoint>>,
    shutdown: Arc<watch::Sender<bool>>,
}

impl LogHandle {
    /// Appends one entry; returns its index once it is durably committed.
    pub async fn append(&self, entry: Vec<u8>) -> Result<u64, AppendError> {
        self.append_all(vec![entry]).await
    }

    /// Appends entries contiguously, in order; returns the first index.
    pub async fn append_all(&self, entries: Vec<Vec<u8>>) -> Result<u64, AppendError> {
        for e in &entries {
            validate_entry(e)?;
        }
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request { entries, reply })
            .await
            .map_err(|_| AppendError::ShuttingDown)?;
        rx.await.map_err(|_| AppendError::ShuttingDown)?
    }

    /// The latest signed checkpoint.
    pub fn checkpoint(&self) -> Arc<PublishedCheckpoint> {
        self.checkpoint.borrow().clone()
    }

    /// Waits until a signed checkpoint covers `size` entries.
    pub async fn wait_for_checkpoint(
        &self,
        size: u64,
    ) -> Result<Arc<PublishedCheckpoint>, AppendError> {
        let mut rx = self.checkpoint.clone();
        let cp = rx
            .wait_for(|c| c.size >= size)
            .await
            .map_err(|_| AppendError::ShuttingDown)?;
        Ok(cp.clone())
    }

    /// Asks the sequencer to stop: it refuses new appends, commits what is
    /// queued, signs a final checkpoint and exits.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

/// Checks an entry before it is queued: it must fit an entry bundle and be a
/// canonical v1 entry, so nothing undecodable ever enters the log.
pub fn validate_entry(entry: &[u8]) -> Result<(), AppendError> {
    if entry.len() > MAX_ENTRY_BYTES {
        return Err(AppendError::TooLarge(entry.len()));
    }
    veche_entry::Entry::decode(entry)
        .map(|_| ())
        .map_err(|e| AppendError::Invalid(e.to_string()))
}

/// The sequencer's own state.
pub struct Sequencer {
    store: Store,
    signer: LogSigner,
    clock: Arc<dyn Clock>,
    config: SequencerConfig,
    writer: TileWriter,
    published: watch::Sender<Arc<PublishedCheckpoint>>,
    last_checkpoint_at: Option<Instant>,
}

impl Sequencer {
    /// Loads the tree from the store (checking the stored root against the
    /// tiles) and makes sure a checkpoint for it exists.
    pub async fn load(
        store: Store,
        signer: LogSigner,
        clock: Arc<dyn Clock>,
        config: SequencerConfig,
    ) -> Result<Self, StoreError> {
        let writer = load_writer(&store).await?;
        let initial = match store.latest_checkpoint().await? {
            Some(c) => PublishedCheckpoint::from(c),
            None => PublishedCheckpoint {
                size: 0,
                root: veche_log::EMPTY_ROOT,
                note: String::new(),
            },
        };
        let (published, _) = watch::channel(Arc::new(initial));
        let mut seq = Self {
            store,
            signer,
            clock,
            config,
            writer,
            published,
            last_checkpoint_at: None,
        };
        seq.publish_checkpoint_if_stale().await?;
        Ok(seq)
    }

    pub fn size(&self) -> u64 {
        self.writer.size()
    }

    /// Integrates `entries` right now in one batch (used by the CLI and
    /// benchmarks); returns the first index. Retries on a conflict with
    /// another writer. `force_checkpoint` signs a checkpoint with the batch.
    pub async fn integrate(
        &mut self,
        entries: &[Vec<u8>],
        force_checkpoint: bool,
    ) -> Result<u64, StoreError> {
        for e in entries {
            validate_entry(e).map_err(|e| StoreError::Invalid(e.to_string()))?;
        }
        self.commit_retrying(entries, force_checkpoint).await
    }

    /// Commits entries already validated, reloading and retrying when
    /// another writer got there first.
    async fn commit_retrying(
        &mut self,
        entries: &[Vec<u8>],
        force_checkpoint: bool,
    ) -> Result<u64, StoreError> {
        loop {
            match self.try_commit(entries, force_checkpoint).await {
                Err(StoreError::Conflict { .. }) => {
                    self.writer = load_writer(&self.store).await?;
                }
                other => return other,
            }
        }
    }

    async fn try_commit(
        &mut self,
        entries: &[Vec<u8>],
        force_checkpoint: bool,
    ) -> Result<u64, StoreError> {
        let before = self.writer.clone();
        let base = self.writer.size();
        for e in entries {
            self.writer.append(veche_log::leaf_hash(e));
        }
        let tiles = self.writer.take_changed_tiles();
        let root = self.writer.root();
        let due = force_checkpoint
            || self
                .last_checkpoint_at
                .is_none_or(|t| t.elapsed() >= self.config.checkpoint_interval);
        let checkpoint = due.then(|| self.sign(self.writer.size(), root));
        let batch = Batch {
            base_size: base,
            entries,
            tiles: &tiles,
            new_root: root,
            checkpoint: checkpoint.as_ref(),
        };
        match self.store.commit_batch(&batch).await {
            Ok(()) => {
                if let Some(cp) = checkpoint {
                    self.last_checkpoint_at = Some(Instant::now());
                    self.published.send_replace(Arc::new(cp.into()));
                }
                Ok(base)
            }
            Err(e) => {
                // Nothing was written: forget the batch.
                self.writer = before;
                Err(e)
            }
        }
    }

    fn sign(&self, size: u64, root: Hash) -> StoredCheckpoint {
        let cp = Checkpoint {
            origin: self.signer.name().to_owned(),
            size,
            root,
            extensions: Vec::new(),
        };
        StoredCheckpoint {
            size,
            root,
            note: self.signer.sign(&cp),
            created_ms: self.clock.now_ms(),
        }
    }

    /// Picks up appends made by other processes, and signs a checkpoint if
    /// the tree has grown past the published one.
    async fn publish_checkpoint_if_stale(&mut self) -> Result<(), StoreError> {
        let state = self.store.tree_state().await?;
        if state.size != self.writer.size() || state.root != self.writer.root() {
            self.writer = load_writer(&self.store).await?;
        }
        let published = self.published.borrow().size;
        let latest = self.store.latest_checkpoint().await?;
        match latest {
            Some(c) if c.size == state.size => {
                if published != c.size {
                    self.published.send_replace(Arc::new(c.into()));
                }
            }
            _ => {
                let cp = self.sign(state.size, state.root);
                if self.store.insert_checkpoint(&cp).await? {
                    self.last_checkpoint_at = Some(Instant::now());
                    self.published.send_replace(Arc::new(cp.into()));
                }
            }
        }
        Ok(())
    }

    /// Starts the sequencer task.
    pub fn spawn(self) -> (LogHandle, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(self.config.queue_capacity);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let handle = LogHandle {
            tx,
            checkpoint: self.published.subscribe(),
            shutdown: Arc::new(shutdown_tx),
        };
        let task = tokio::spawn(self.run(rx, shutdown_rx));
        (handle, task)
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Request>, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.config.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // When the tree has outgrown the published checkpoint, sign the
            // next one as soon as the interval allows.
            let checkpoint_due = (self.published.borrow().size != self.writer.size()).then(|| {
                self.last_checkpoint_at
                    .map_or_else(Instant::now, |t| t + self.config.checkpoint_interval)
            });
            tokio::select! {
                biased;
                _ = shutdown.changed() => {
                    if *shutdown.borrow() {
                        rx.close();
                    }
                }
                req = rx.recv() => match req {
                    Some(first) => self.process(first, &mut rx).await,
                    None => break,
                },
                _ = tokio::time::sleep_until(checkpoint_due.unwrap_or_else(Instant::now)), if checkpoint_due.is_some() => {
                    self.sign_current().await;
                }
                _ = tick.tick() => {
                    // Appends by other processes show up here.
                    if let Err(e) = self.publish_checkpoint_if_stale().await {
                        tracing::error!(error = %e, "could not refresh the checkpoint");
                    }
                }
            }
        }
        // Queue drained and closed: publish a checkpoint for everything committed.
        if let Err(e) = self.publish_checkpoint_if_stale().await {
            tracing::error!(error = %e, "could not sign the final checkpoint");
        }
        tracing::info!(size = self.writer.size(), "sequencer stopped");
    }

    /// Signs and stores a checkpoint for the tree as this sequencer last
    /// committed it.
    async fn sign_current(&mut self) {
        let cp = self.sign(self.writer.size(), self.writer.root());
        match self.store.insert_checkpoint(&cp).await {
            Ok(true) => {
                self.last_checkpoint_at = Some(Instant::now());
                self.published.send_replace(Arc::new(cp.into()));
            }
            // Another writer moved the tree on: reload and publish from the store.
            Ok(false) => {
                if let Err(e) = self.publish_checkpoint_if_stale().await {
                    tracing::error!(error = %e, "could not refresh the checkpoint");
                }
            }
            Err(e) => tracing::error!(error = %e, "could not store a checkpoint"),
        }
    }

    async fn process(&mut self, first: Request, rx: &mut mpsc::Receiver<Request>) {
        let mut requests = vec![first];
        let mut count = requests[0].entries.len();
        while count < self.config.max_batch {
            match rx.try_recv() {
                Ok(r) => {
                    count += r.entries.len();
                    requests.push(r);
                }
                Err(_) => break,
            }
        }
        let mut entries = Vec::with_capacity(count);
        let mut counts = Vec::with_capacity(requests.len());
        for r in &mut requests {
            counts.push(r.entries.len() as u64);
            entries.append(&mut r.entries);
        }
        let started = Instant::now();
        match self.commit_retrying(&entries, false).await {
            Ok(base) => {
                tracing::debug!(
                    entries = count,
                    base,
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "batch committed"
                );
                let mut next = base;
                for (r, n) in requests.into_iter().zip(counts) {
                    let _ = r.reply.send(Ok(next));
                    next += n;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, entries = count, "batch failed");
                let err = AppendError::Storage(e.to_string());
                for r in requests {
                    let _ = r.reply.send(Err(err.clone()));
                }
            }
        }
    }
}

/// Rebuilds the tile writer from the stored partial tiles and checks that it
/// reproduces the stored root.
pub async fn load_writer(store: &Store) -> Result<TileWriter, StoreError> {
    let state = store.tree_state().await?;
    let partial = store.partial_tiles(state.size).await?;
    let writer = TileWriter::from_partial_tiles(state.size, &partial)
        .map_err(|e| StoreError::Corrupt(format!("stored tiles: {e}")))?;
    if writer.root() != state.root {
        return Err(StoreError::Corrupt(format!(
            "stored tiles give root {} for size {}, the stored root is {}",
            writer.root().to_hex(),
            state.size,
            state.root.to_hex()
        )));
    }
    Ok(writer)
}
