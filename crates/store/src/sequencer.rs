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
//! Before anything is committed, every entry passes the service's rules
//! ([`veche_state::State::check`], in memory): a signature on a closed
//! petition, a second signature under the same nullifier, an unowed
//! threshold entry never reach the database, and an entry the rules owe
//! (the `threshold_reached` right after a crossing signature) is appended by
//! the sequencer itself, in the same batch, right after the entry that
//! caused it. The state is shared with readers ([`LogHandle::state`]).
//!
//! Other processes (the `veche jurisdiction add` command, later other server
//! nodes) may integrate too: every commit checks the stored tree size under
//! the database's write lock, and a sequencer that finds the log grew under
//! it reloads its state from the database and retries. The tree cannot fork.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use veche_log::Hash;
use veche_log::checkpoint::{Checkpoint, LogSigner};
use veche_log::writer::TileWriter;
use veche_state::{State, Violation};

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
    /// The service's rules refuse the entry (nothing was written).
    #[error("{0}")]
    Rejected(Violation),
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
    decoded: Vec<veche_entry::Entry>,
    /// Sign a checkpoint with this request's batch (for an instant receipt).
    checkpoint: bool,
    reply: oneshot::Sender<Result<Appended, AppendError>>,
}

/// Where a request's entries went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Index of the request's first entry.
    pub first: u64,
    /// Entries the rules owed after the request's entries and that the
    /// sequencer appended right behind them (e.g. `threshold_reached`),
    /// with their indices.
    pub follow_ups: Vec<(u64, veche_entry::Entry)>,
    /// The checkpoint signed with the batch, when one was asked for.
    pub checkpoint: Option<Arc<PublishedCheckpoint>>,
}

/// The service's state folded from the log, shared with readers.
pub type SharedState = Arc<RwLock<State>>;

/// A handle for appending and for watching checkpoints. Cheap to clone.
#[derive(Clone)]
pub struct LogHandle {
    tx: mpsc::Sender<Request>,
    checkpoint: watch::Receiver<Arc<PublishedCheckpoint>>,
    shutdown: Arc<watch::Sender<bool>>,
    state: SharedState,
}

impl LogHandle {
    /// Appends one entry; returns its index once it is durably committed.
    pub async fn append(&self, entry: Vec<u8>) -> Result<u64, AppendError> {
        self.append_all(vec![entry]).await
    }

    /// Appends entries contiguously, in order; returns the first index.
    pub async fn append_all(&self, entries: Vec<Vec<u8>>) -> Result<u64, AppendError> {
        Ok(self.submit(entries, false).await?.first)
    }

    /// Appends entries contiguously, in order, after the rules accept all of
    /// them (or none is written); with `checkpoint`, a checkpoint covering
    /// them is signed in the same batch and returned.
    pub async fn submit(
        &self,
        entries: Vec<Vec<u8>>,
        checkpoint: bool,
    ) -> Result<Appended, AppendError> {
        let decoded = entries
            .iter()
            .map(|e| decode_entry(e))
            .collect::<Result<Vec<_>, _>>()?;
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request {
                entries,
                decoded,
                checkpoint,
                reply,
            })
            .await
            .map_err(|_| AppendError::ShuttingDown)?;
        rx.await.map_err(|_| AppendError::ShuttingDown)?
    }

    /// The service's state as folded from the log so far. Hold the read
    /// guard briefly: the sequencer needs the write lock for every batch.
    pub fn state(&self) -> &SharedState {
        &self.state
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
    decode_entry(entry).map(|_| ())
}

fn decode_entry(entry: &[u8]) -> Result<veche_entry::Entry, AppendError> {
    if entry.len() > MAX_ENTRY_BYTES {
        return Err(AppendError::TooLarge(entry.len()));
    }
    veche_entry::Entry::decode(entry).map_err(|e| AppendError::Invalid(e.to_string()))
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
    state: SharedState,
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
        let state = Arc::new(RwLock::new(State::new()));
        catch_up(&store, &state, writer.size()).await?;
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
            state,
        };
        seq.publish_checkpoint_if_stale().await?;
        Ok(seq)
    }

    pub fn size(&self) -> u64 {
        self.writer.size()
    }

    /// Integrates `entries` right now in one batch (used by the CLI and
    /// benchmarks), after the rules accept them all; returns the first
    /// index. Retries on a conflict with another writer. `force_checkpoint`
    /// signs a checkpoint with the batch.
    pub async fn integrate(
        &mut self,
        entries: &[Vec<u8>],
        force_checkpoint: bool,
    ) -> Result<u64, StoreError> {
        let decoded = entries
            .iter()
            .map(|e| decode_entry(e))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let (reply, _rx) = oneshot::channel();
        let request = Request {
            entries: entries.to_vec(),
            decoded,
            checkpoint: force_checkpoint,
            reply,
        };
        let (outcomes, _) = self.commit_requests(std::slice::from_ref(&request)).await?;
        match outcomes.into_iter().next() {
            Some(Ok(a)) => Ok(a.first),
            Some(Err(v)) => Err(StoreError::Invalid(v.to_string())),
            None => unreachable!("one outcome per request"),
        }
    }

    /// Admits the requests' entries in order (each request wholly or not at
    /// all), commits the accepted ones in one batch, and returns each
    /// request's outcome, with the checkpoint signed with the batch if any.
    /// On a conflict with another writer, reloads and admits again.
    async fn commit_requests(
        &mut self,
        requests: &[Request],
    ) -> Result<(Vec<Result<Appended, Violation>>, Option<StoredCheckpoint>), StoreError> {
        let mut refused: Vec<Option<Violation>> = vec![None; requests.len()];
        let want_checkpoint = requests.iter().any(|r| r.checkpoint);
        loop {
            let Some(admission) = self.admit(requests, &mut refused) else {
                // A request failed part-way: the state holds part of it.
                self.rebuild_state().await?;
                continue;
            };
            let (entries, outcomes) = admission;
            if entries.is_empty() {
                return Ok((outcomes, None));
            }
            match self.try_commit(&entries, want_checkpoint).await {
                Ok(checkpoint) => return Ok((outcomes, checkpoint)),
                Err(StoreError::Conflict { .. }) => {
                    self.writer = load_writer(&self.store).await?;
                    self.rebuild_state().await?;
                }
                Err(e) => {
                    self.rebuild_state().await?;
                    return Err(e);
                }
            }
        }
    }

    /// Runs the rules over the requests against the in-memory state,
    /// applying what they accept. `None` if a request of several entries
    /// was refused after some were applied (it is then marked in `refused`
    /// and the caller rebuilds the state and tries again).
    #[allow(clippy::type_complexity)]
    fn admit(
        &self,
        requests: &[Request],
        refused: &mut [Option<Violation>],
    ) -> Option<(Vec<Vec<u8>>, Vec<Result<Appended, Violation>>)> {
        let base = self.writer.size();
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        debug_assert_eq!(state.size, base, "state folded to the tree size");
        let mut entries = Vec::new();
        let mut outcomes = Vec::with_capacity(requests.len());
        for (r, refusal) in requests.iter().zip(refused.iter_mut()) {
            if let Some(v) = refusal {
                outcomes.push(Err(v.clone()));
                continue;
            }
            let first = base + entries.len() as u64;
            let mut follow_ups = Vec::new();
            let mut outcome = Ok(());
            for (k, (bytes, e)) in r.entries.iter().zip(&r.decoded).enumerate() {
                if let Err(v) = state.check(e) {
                    if k > 0 {
                        *refusal = Some(v);
                        return None;
                    }
                    outcome = Err(v);
                    break;
                }
                state.apply(e);
                entries.push(bytes.clone());
                while let Some(owed) = state.owed().cloned() {
                    let owed_bytes = owed
                        .encode()
                        .expect("entries the rules owe are valid by construction");
                    follow_ups.push((base + entries.len() as u64, owed.clone()));
                    state.apply(&owed);
                    entries.push(owed_bytes);
                }
            }
            outcomes.push(outcome.map(|()| Appended {
                first,
                follow_ups,
                checkpoint: None,
            }));
        }
        Some((entries, outcomes))
    }

    /// Refolds the whole log from the database (after a failed batch whose
    /// entries the in-memory state had already applied).
    async fn rebuild_state(&mut self) -> Result<(), StoreError> {
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = State::new();
        catch_up(&self.store, &self.state, self.writer.size()).await
    }

    async fn try_commit(
        &mut self,
        entries: &[Vec<u8>],
        force_checkpoint: bool,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
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
                if let Some(cp) = &checkpoint {
                    self.last_checkpoint_at = Some(Instant::now());
                    self.published.send_replace(Arc::new(cp.clone().into()));
                }
                Ok(checkpoint)
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
            catch_up(&self.store, &self.state, self.writer.size()).await?;
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
            state: self.state.clone(),
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
        let started = Instant::now();
        match self.commit_requests(&requests).await {
            Ok((outcomes, checkpoint)) => {
                tracing::debug!(
                    entries = count,
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "batch committed"
                );
                let checkpoint = checkpoint.map(|c| Arc::new(PublishedCheckpoint::from(c)));
                for (r, outcome) in requests.into_iter().zip(outcomes) {
                    let reply = match outcome {
                        Ok(mut a) => {
                            if r.checkpoint {
                                a.checkpoint = checkpoint.clone();
                            }
                            Ok(a)
                        }
                        Err(v) => Err(AppendError::Rejected(v)),
                    };
                    let _ = r.reply.send(reply);
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

/// Folds the stored entries from the state's size up to `size` into it.
/// Entries another writer appended are checked too: one the rules refuse
/// is still applied (it is in the log; the verifier will report it) and
/// logged as an error.
async fn catch_up(store: &Store, state: &SharedState, size: u64) -> Result<(), StoreError> {
    const CHUNK: u64 = 8192;
    let mut next = state.read().unwrap_or_else(|p| p.into_inner()).size;
    while next < size {
        let end = size.min(next + CHUNK);
        let raw = store.entries(next, end).await?;
        if raw.len() as u64 != end - next {
            return Err(StoreError::Corrupt(format!(
                "entries {next}..{end}: found {} rows",
                raw.len()
            )));
        }
        let mut st = state.write().unwrap_or_else(|p| p.into_inner());
        for bytes in raw {
            let entry = veche_entry::Entry::decode(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("entry {}: {e}", st.size)))?;
            if let Err(v) = st.check(&entry) {
                tracing::error!(index = st.size, code = v.code, error = %v, "a stored entry breaks the rules");
            }
            st.apply(&entry);
        }
        next = end;
    }
    Ok(())
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
