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
//! A request may carry rows that must commit with its entries and only with
//! them ([`WithEntries`]): the passkey use behind a signature (its counter
//! moves on) and the raw assertion (evidence). The batch transaction is
//! opened *before* admission and holds the database's write lock, so the
//! stored counters read through it are current; a request whose counter
//! does not increase is refused like a rule violation
//! (`sign-count-not-increasing`), and a request whose passkey was revoked
//! meanwhile as `credential-revoked`. One fsync then covers entries,
//! counters and evidence of the whole batch.
//!
//! Other processes (the `veche jurisdiction add` command) may integrate too:
//! every batch checks the stored tree size under the database's write lock,
//! and a sequencer that finds the log grew under it catches up from the
//! database and retries. The tree cannot fork.
//!
//! Several server nodes may share one PostgreSQL
//! ([`Sequencer::load_elected`]): the elected node sequences, under an
//! epoch every batch checks; the others are followers that hand their
//! requests over through the database, answer them from the outcome the
//! sequencer records in the same batch, and keep their state current by
//! tailing the stored log. See [`crate::cluster`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::time::Instant;
use veche_log::Hash;
use veche_log::checkpoint::{Checkpoint, LogSigner};
use veche_log::writer::TileWriter;
use veche_state::{State, Violation};

use crate::clock::Clock;
use crate::cluster::{Election, Outcome, PendingAppend, Placed, spawn_campaign, spawn_listener};
use crate::db::{Batch, BatchTx, Store, StoreError, StoredCheckpoint};
use crate::identity::CredentialUse;
use crate::petitions::SignatureEvidence;

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
    /// How long a follower node waits for the sequencer to answer a
    /// handed-over append before it withdraws it (several nodes only).
    pub handover_timeout: Duration,
    /// Told of every committed batch and acknowledged append (metrics).
    pub observer: Option<Arc<dyn SequencerObserver>>,
}

/// Receives the sequencer's measurements. The server turns them into
/// metrics; this crate stays free of any metrics library.
pub trait SequencerObserver: Send + Sync + std::fmt::Debug {
    /// A batch committed these entries (follow-ups included), in log order.
    fn batch_committed(&self, entries: &[Vec<u8>]);
    /// An append was acknowledged as durable `latency` after it was
    /// submitted (queueing, admission and the commit).
    fn append_acknowledged(&self, latency: Duration);
}

impl Default for SequencerConfig {
    fn default() -> Self {
        Self {
            max_batch: 4096,
            checkpoint_interval: Duration::from_secs(1),
            poll_interval: Duration::from_millis(250),
            queue_capacity: 65_536,
            handover_timeout: Duration::from_secs(30),
            observer: None,
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
    /// No sequencer answered in time (several nodes, during a failover);
    /// the append was withdrawn and nothing of it was written.
    #[error("{0}")]
    Unavailable(String),
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

/// Rows that commit in the same transaction as a request's entries, and
/// only if the request is accepted.
#[derive(Clone, Debug, Default)]
pub struct WithEntries {
    /// The passkey use that authorised the entries: the request is refused
    /// unless the credential is still active and its counter increases.
    pub credential_use: Option<CredentialUse>,
    /// The raw assertion behind a signature entry.
    pub evidence: Option<SignatureEvidence>,
}

struct Request {
    entries: Vec<Vec<u8>>,
    decoded: Vec<veche_entry::Entry>,
    /// Sign a checkpoint with this request's batch (for an instant receipt).
    checkpoint: bool,
    with: WithEntries,
    reply: oneshot::Sender<Result<Appended, AppendError>>,
    /// Set when another node handed the request over (its sequence number
    /// in `pending_appends`): its outcome is recorded in the batch, and
    /// `reply` goes nowhere.
    remote: Option<i64>,
}

impl Request {
    /// A request another node handed over; `Err` (with the reason) if its
    /// entries do not decode.
    fn handed_over(p: PendingAppend) -> Result<Self, (i64, AppendError)> {
        let decoded = p
            .entries
            .iter()
            .map(|e| decode_entry(e))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| (p.seq, e))?;
        Ok(Self {
            entries: p.entries,
            decoded,
            checkpoint: p.checkpoint,
            with: p.with,
            reply: oneshot::channel().0,
            remote: Some(p.seq),
        })
    }
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
    observer: Option<Arc<dyn SequencerObserver>>,
    sequencer: Arc<AtomicBool>,
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
        self.submit_with(entries, checkpoint, WithEntries::default())
            .await
    }

    /// As [`LogHandle::submit`], committing `with` in the same transaction
    /// as the entries (see [`WithEntries`]). A stale passkey counter or a
    /// revoked passkey refuses the request as [`AppendError::Rejected`] with
    /// the code `sign-count-not-increasing` or `credential-revoked`.
    pub async fn submit_with(
        &self,
        entries: Vec<Vec<u8>>,
        checkpoint: bool,
        with: WithEntries,
    ) -> Result<Appended, AppendError> {
        let decoded = entries
            .iter()
            .map(|e| decode_entry(e))
            .collect::<Result<Vec<_>, _>>()?;
        let (reply, rx) = oneshot::channel();
        let submitted = Instant::now();
        self.tx
            .send(Request {
                entries,
                decoded,
                checkpoint,
                with,
                reply,
                remote: None,
            })
            .await
            .map_err(|_| AppendError::ShuttingDown)?;
        let appended = rx.await.map_err(|_| AppendError::ShuttingDown)??;
        if let Some(o) = &self.observer {
            o.append_acknowledged(submitted.elapsed());
        }
        Ok(appended)
    }

    /// Append requests queued for the sequencer and not yet taken into a
    /// batch.
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Whether the sequencer task still takes appends (not stopped, not
    /// shutting down).
    pub fn is_running(&self) -> bool {
        !self.tx.is_closed() && !*self.shutdown.borrow()
    }

    /// Whether this process is the log's sequencer now (always, unless
    /// several nodes share a PostgreSQL database and another one leads).
    pub fn is_sequencer(&self) -> bool {
        self.sequencer.load(Ordering::Relaxed)
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
    /// This process's part among several nodes; `None` when it is the
    /// only writer.
    node: Option<Node>,
    /// Whether this process sequences now, shared with [`LogHandle`].
    sequencing: Arc<AtomicBool>,
}

/// A server node among several on one PostgreSQL.
struct Node {
    /// For the `log_leader` row and the handed-over rows: host and pid.
    name: String,
    /// The epoch the election says this node leads under, if any.
    elected: watch::Receiver<Option<u64>>,
    /// The epoch this node sequences under: set once it has caught up.
    epoch: Option<u64>,
    /// An epoch under which a batch was fenced: never acted on again.
    fenced: Option<u64>,
    /// Woken by another node's NOTIFY: appends were handed over.
    pending: Arc<Notify>,
    /// Woken by the sequencer's NOTIFY: the log or an outcome changed.
    log: Arc<Notify>,
    /// Handed-over requests of this node, by sequence number.
    waiting: HashMap<i64, Waiting>,
    last_purge: Instant,
}

/// A request this node handed over and waits to hear of.
struct Waiting {
    reply: oneshot::Sender<Result<Appended, AppendError>>,
    deadline: Instant,
    /// A withdrawal found the row taken: its outcome is on its way.
    taken: bool,
}

/// How long unclaimed outcomes (their follower died) are kept.
const OUTCOME_RETENTION_MS: u64 = 3_600_000;

impl Sequencer {
    /// Loads the tree from the store (checking the stored root against the
    /// tiles) and makes sure a checkpoint for it exists.
    pub async fn load(
        store: Store,
        signer: LogSigner,
        clock: Arc<dyn Clock>,
        config: SequencerConfig,
    ) -> Result<Self, StoreError> {
        Self::open(store, signer, clock, config, false).await
    }

    /// As [`Sequencer::load`], for a server node. On PostgreSQL the node
    /// runs for the sequencer's role (several nodes may share the
    /// database): it tries once before returning, so a lone node leads at
    /// once, and then every poll interval. On SQLite it is the same as
    /// `load`.
    pub async fn load_elected(
        store: Store,
        signer: LogSigner,
        clock: Arc<dyn Clock>,
        config: SequencerConfig,
    ) -> Result<Self, StoreError> {
        Self::open(store, signer, clock, config, true).await
    }

    async fn open(
        store: Store,
        signer: LogSigner,
        clock: Arc<dyn Clock>,
        config: SequencerConfig,
        elect: bool,
    ) -> Result<Self, StoreError> {
        let node = match elect {
            true => Self::join(&store, &clock, &config).await,
            false => None,
        };
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
            sequencing: Arc::new(AtomicBool::new(node.is_none())),
            node,
        };
        if seq.node.is_none() {
            seq.publish_checkpoint_if_stale().await?;
        } else {
            seq.sync_role().await;
            if !seq.is_leading() {
                seq.follow().await?;
            }
        }
        Ok(seq)
    }

    /// Enters the election (PostgreSQL only) and listens to the other
    /// nodes.
    async fn join(store: &Store, clock: &Arc<dyn Clock>, config: &SequencerConfig) -> Option<Node> {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
        let name = format!("{host}:{}", std::process::id());
        let mut election = Election::new(store, name.clone())?;
        election.attempt(clock.now_ms()).await;
        let c = clock.clone();
        let elected = spawn_campaign(election, config.poll_interval, move || c.now_ms());
        let pending = Arc::new(Notify::new());
        let log = Arc::new(Notify::new());
        spawn_listener(store, &pending, &log);
        Some(Node {
            name,
            elected,
            epoch: None,
            fenced: None,
            pending,
            log,
            waiting: HashMap::new(),
            last_purge: Instant::now(),
        })
    }

    /// Whether this process sequences now.
    fn is_leading(&self) -> bool {
        self.node.as_ref().is_none_or(|n| n.epoch.is_some())
    }

    /// The epoch batches are fenced with (several nodes only).
    fn epoch(&self) -> Option<u64> {
        self.node.as_ref().and_then(|n| n.epoch)
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
            with: WithEntries::default(),
            reply,
            remote: None,
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
    /// The batch transaction is open from before admission to the commit,
    /// so passkey counters are checked against what is stored. When another
    /// writer grew the log, catches up and admits again.
    async fn commit_requests(
        &mut self,
        requests: &[Request],
    ) -> Result<(Vec<Result<Appended, Violation>>, Option<StoredCheckpoint>), StoreError> {
        let mut refused: Vec<Option<Violation>> = vec![None; requests.len()];
        let want_checkpoint = requests.iter().any(|r| r.checkpoint);
        let handed: Vec<i64> = requests.iter().filter_map(|r| r.remote).collect();
        loop {
            let mut tx = match self
                .store
                .begin_batch_fenced(self.writer.size(), self.epoch())
                .await
            {
                Ok(tx) => tx,
                Err(StoreError::Conflict { .. }) => {
                    // Nothing admitted yet: the state only needs the new entries.
                    self.writer = load_writer(&self.store).await?;
                    catch_up(&self.store, &self.state, self.writer.size()).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            // Handed-over requests whose follower withdrew them meanwhile
            // are left out, and get no outcome.
            let claimed = tx.claim_pending(&handed).await?;
            for (r, refusal) in requests.iter().zip(refused.iter_mut()) {
                if r.remote.is_some_and(|seq| !claimed.contains(&seq)) {
                    *refusal = Some(Violation {
                        code: "withdrawn",
                        message: "The node that handed the append over withdrew it.".into(),
                    });
                }
            }
            check_credential_uses(&mut tx, requests, &mut refused).await?;
            let Some(admission) = self.admit(requests, &mut refused) else {
                // A request failed part-way: the state holds part of it.
                tx.rollback().await?;
                self.rebuild_state().await?;
                continue;
            };
            let (entries, outcomes) = admission;
            let new_size = self.writer.size() + entries.len() as u64;
            let answers = handed_outcomes(requests, &outcomes, &claimed, new_size);
            if (self.node.is_some() || !answers.is_empty())
                && let Err(e) = tx.record_outcomes(&answers, self.clock.now_ms()).await
            {
                self.rebuild_state().await?;
                return Err(e);
            }
            if entries.is_empty() {
                if answers.is_empty() {
                    tx.rollback().await?;
                } else {
                    tx.commit_outcomes_only().await?;
                }
                return Ok((outcomes, None));
            }
            let mut uses = Vec::new();
            let mut evidence = Vec::new();
            for (r, outcome) in requests.iter().zip(&outcomes) {
                if outcome.is_ok() {
                    uses.extend(r.with.credential_use.iter().cloned());
                    evidence.extend(r.with.evidence.iter().cloned());
                }
            }
            match self
                .try_commit(tx, &entries, want_checkpoint, &uses, &evidence)
                .await
            {
                Ok(checkpoint) => return Ok((outcomes, checkpoint)),
                Err(e) => {
                    // The state applied entries that were not written.
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
        tx: BatchTx,
        entries: &[Vec<u8>],
        force_checkpoint: bool,
        credential_uses: &[CredentialUse],
        evidence: &[SignatureEvidence],
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
            credential_uses,
            evidence,
        };
        match tx.commit(&batch).await {
            Ok(()) => {
                if let Some(o) = &self.config.observer {
                    o.batch_committed(entries);
                }
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
        let state = self.refresh().await?;
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
                    self.announce().await;
                }
            }
        }
        Ok(())
    }

    /// Brings the tile writer and the state up to the stored tree (appends
    /// by other processes); returns that tree.
    async fn refresh(&mut self) -> Result<crate::db::TreeState, StoreError> {
        let state = self.store.tree_state().await?;
        if state.size != self.writer.size() || state.root != self.writer.root() {
            self.writer = load_writer(&self.store).await?;
            let folded = self.state.read().unwrap_or_else(|p| p.into_inner()).size;
            if folded > self.writer.size() {
                self.rebuild_state().await?;
            } else {
                catch_up(&self.store, &self.state, self.writer.size()).await?;
            }
        }
        Ok(state)
    }

    /// A follower's view: the stored tree folded in, and the newest stored
    /// checkpoint published (followers never sign).
    async fn follow(&mut self) -> Result<(), StoreError> {
        self.refresh().await?;
        if let Some(c) = self.store.latest_checkpoint().await?
            && c.size > self.published.borrow().size
        {
            self.published.send_replace(Arc::new(c.into()));
        }
        Ok(())
    }

    /// Tells the other nodes that the log moved outside a batch (a
    /// checkpoint signed on the timer).
    async fn announce(&self) {
        if self.node.is_some()
            && let Err(e) = self.store.notify_log().await
        {
            tracing::debug!(error = %e, "could not NOTIFY the other nodes");
        }
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
            observer: self.config.observer.clone(),
            sequencer: self.sequencing.clone(),
        };
        let task = tokio::spawn(self.run(rx, shutdown_rx));
        (handle, task)
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Request>, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.config.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Several nodes: the election's verdict and the other nodes' NOTIFYs.
        let mut elected = self.node.as_ref().map(|n| n.elected.clone());
        let pending = self.node.as_ref().map(|n| n.pending.clone());
        let log = self.node.as_ref().map(|n| n.log.clone());
        loop {
            // When the tree has outgrown the published checkpoint, sign the
            // next one as soon as the interval allows.
            let checkpoint_due = (self.is_leading()
                && self.published.borrow().size != self.writer.size())
            .then(|| {
                self.last_checkpoint_at
                    .map_or_else(Instant::now, |t| t + self.config.checkpoint_interval)
            });
            // Node events come before the queue so that a busy queue cannot
            // starve the answers to handed-over requests.
            tokio::select! {
                biased;
                _ = shutdown.changed() => {
                    if *shutdown.borrow() {
                        rx.close();
                    }
                }
                changed = async { elected.as_mut().expect("guarded").changed().await }, if elected.is_some() => {
                    if changed.is_err() {
                        elected = None;
                    }
                    self.sync_role().await;
                    self.drain_handed_over(&mut rx).await;
                }
                _ = async { pending.as_ref().expect("guarded").notified().await }, if pending.is_some() => {
                    self.drain_handed_over(&mut rx).await;
                }
                _ = async { log.as_ref().expect("guarded").notified().await }, if log.is_some() => {
                    if !self.is_leading() && let Err(e) = self.follow().await {
                        tracing::warn!(error = %e, "could not follow the log");
                    }
                    self.collect_outcomes().await;
                }
                _ = tick.tick() => {
                    if self.node.is_some() {
                        self.node_tick(&mut rx).await;
                    } else if let Err(e) = self.publish_checkpoint_if_stale().await {
                        // Appends by other processes show up here.
                        tracing::error!(error = %e, "could not refresh the checkpoint");
                    }
                }
                req = rx.recv() => match req {
                    Some(first) if self.is_leading() => self.process(Some(first), &mut rx).await,
                    Some(first) => self.hand_over(first, &mut rx).await,
                    None => break,
                },
                _ = tokio::time::sleep_until(checkpoint_due.unwrap_or_else(Instant::now)), if checkpoint_due.is_some() => {
                    self.sign_current().await;
                }
            }
        }
        if self.is_leading() {
            // Queue drained and closed: publish a checkpoint for everything committed.
            if let Err(e) = self.publish_checkpoint_if_stale().await {
                tracing::error!(error = %e, "could not sign the final checkpoint");
            }
        }
        self.abandon_waiting().await;
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
                self.announce().await;
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

    /// Commits `first` and whatever else is queued, with the requests other
    /// nodes handed over (the oldest first), in one batch.
    async fn process(&mut self, first: Option<Request>, rx: &mut mpsc::Receiver<Request>) {
        let mut requests: Vec<Request> = first.into_iter().collect();
        let mut count: usize = requests.iter().map(|r| r.entries.len()).sum();
        while count < self.config.max_batch {
            match rx.try_recv() {
                Ok(r) => {
                    count += r.entries.len();
                    requests.push(r);
                }
                Err(_) => break,
            }
        }
        if self.node.is_some() {
            let room = self.config.max_batch.saturating_sub(count).max(1);
            match self.store.pending_appends(room).await {
                Ok(handed) => {
                    let mut taken = Vec::with_capacity(handed.len());
                    for p in handed {
                        match Request::handed_over(p) {
                            Ok(r) => {
                                count += r.entries.len();
                                taken.push(r);
                            }
                            Err((seq, e)) => self.refuse_undecodable(seq, &e).await,
                        }
                    }
                    requests.splice(0..0, taken);
                }
                Err(e) => tracing::warn!(error = %e, "could not read handed-over appends"),
            }
        }
        if requests.is_empty() {
            return;
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
            Err(StoreError::Fenced { epoch, current }) => {
                // Another node leads now: nothing was written; its own
                // requests go to the new sequencer, the handed-over ones are
                // still in the database for it.
                tracing::warn!(epoch, current, "fenced: another node is the sequencer");
                if let Some(n) = &mut self.node {
                    n.fenced = Some(epoch);
                }
                self.step_down();
                let own: Vec<Request> = requests
                    .into_iter()
                    .filter(|r| r.remote.is_none())
                    .collect();
                self.hand_over_all(own).await;
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

    /// Answers a handed-over request whose entries do not decode (nodes of
    /// different versions) with a refusal, so its follower is not left
    /// waiting.
    async fn refuse_undecodable(&self, seq: i64, e: &AppendError) {
        let v = Violation {
            code: "invalid-entry",
            message: e.to_string(),
        };
        if let Err(e) = self
            .store
            .refuse_pending(seq, &v, self.clock.now_ms())
            .await
        {
            tracing::warn!(error = %e, seq, "could not refuse a handed-over append");
        }
    }

    /// Takes or gives up the sequencer's role as the election says.
    async fn sync_role(&mut self) {
        let Some(node) = &self.node else { return };
        let elected = *node.elected.borrow();
        if elected == node.epoch {
            return;
        }
        match elected {
            Some(epoch) if node.fenced != Some(epoch) => {
                // The previous sequencer's batches are all committed or
                // fenced by now: start from what is stored.
                match self.refresh().await {
                    Ok(_) => {
                        if let Some(n) = &mut self.node {
                            n.epoch = Some(epoch);
                        }
                        self.sequencing.store(true, Ordering::Relaxed);
                        tracing::info!(epoch, size = self.writer.size(), "sequencing");
                        if let Err(e) = self.publish_checkpoint_if_stale().await {
                            tracing::error!(error = %e, "could not sign a checkpoint");
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "cannot load the log to sequence it"),
                }
            }
            Some(_) => {}
            None => self.step_down(),
        }
    }

    fn step_down(&mut self) {
        if let Some(n) = &mut self.node
            && n.epoch.take().is_some()
        {
            tracing::warn!("no longer the sequencer");
        }
        self.sequencing.store(false, Ordering::Relaxed);
    }

    /// The sequencer integrates what other nodes handed over.
    async fn drain_handed_over(&mut self, rx: &mut mpsc::Receiver<Request>) {
        if self.node.is_some() && self.is_leading() {
            self.process(None, rx).await;
        }
    }

    /// A node's periodic duties: its role, the handed-over appends (as the
    /// sequencer) or the stored log (as a follower), and its own requests'
    /// outcomes.
    async fn node_tick(&mut self, rx: &mut mpsc::Receiver<Request>) {
        self.sync_role().await;
        if self.is_leading() {
            self.process(None, rx).await;
            if let Err(e) = self.publish_checkpoint_if_stale().await {
                tracing::error!(error = %e, "could not refresh the checkpoint");
            }
            let purge_due = self
                .node
                .as_ref()
                .is_some_and(|n| n.last_purge.elapsed() >= Duration::from_secs(60));
            if purge_due {
                let before = self.clock.now_ms().saturating_sub(OUTCOME_RETENTION_MS);
                if let Err(e) = self.store.purge_outcomes(before).await {
                    tracing::warn!(error = %e, "could not purge old outcomes");
                }
                if let Some(n) = &mut self.node {
                    n.last_purge = Instant::now();
                }
            }
        } else if let Err(e) = self.follow().await {
            tracing::warn!(error = %e, "could not follow the log");
        }
        self.collect_outcomes().await;
    }

    /// A follower hands `first` and whatever else is queued to the sequencer.
    async fn hand_over(&mut self, first: Request, rx: &mut mpsc::Receiver<Request>) {
        let mut requests = vec![first];
        while requests.len() < self.config.max_batch {
            match rx.try_recv() {
                Ok(r) => requests.push(r),
                Err(_) => break,
            }
        }
        self.hand_over_all(requests).await;
    }

    async fn hand_over_all(&mut self, requests: Vec<Request>) {
        if requests.is_empty() {
            return;
        }
        let Some(node) = &mut self.node else {
            unreachable!("only a node among several hands appends over")
        };
        let rows: Vec<(&[Vec<u8>], bool, &WithEntries)> = requests
            .iter()
            .map(|r| (r.entries.as_slice(), r.checkpoint, &r.with))
            .collect();
        match self
            .store
            .hand_over(&rows, &node.name, self.clock.now_ms())
            .await
        {
            Ok(seqs) => {
                let deadline = Instant::now() + self.config.handover_timeout;
                for (r, seq) in requests.into_iter().zip(seqs) {
                    node.waiting.insert(
                        seq,
                        Waiting {
                            reply: r.reply,
                            deadline,
                            taken: false,
                        },
                    );
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "could not hand appends over");
                let err = AppendError::Storage(e.to_string());
                for r in requests {
                    let _ = r.reply.send(Err(err.clone()));
                }
            }
        }
    }

    /// Answers this node's handed-over requests whose outcome is stored,
    /// and withdraws those that waited too long.
    async fn collect_outcomes(&mut self) {
        let Some(node) = &self.node else { return };
        if node.waiting.is_empty() {
            return;
        }
        let seqs: Vec<i64> = node.waiting.keys().copied().collect();
        let outcomes = match self.store.take_outcomes(&seqs).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, "could not read outcomes");
                Vec::new()
            }
        };
        if outcomes.iter().any(|o| o.result.is_ok())
            && !self.is_leading()
            && let Err(e) = self.follow().await
        {
            // The reply goes out all the same: the entries are durable.
            tracing::warn!(error = %e, "could not follow the log");
        }
        for o in outcomes {
            let reply = match o.result {
                Ok(placed) => self.appended(placed).await,
                Err(v) => Err(AppendError::Rejected(v)),
            };
            if let Some(w) = self.node.as_mut().and_then(|n| n.waiting.remove(&o.seq)) {
                let _ = w.reply.send(reply);
            }
        }
        let now = Instant::now();
        let expired: Vec<i64> = self
            .node
            .as_ref()
            .map(|n| {
                n.waiting
                    .iter()
                    .filter(|(_, w)| !w.taken && w.deadline <= now)
                    .map(|(s, _)| *s)
                    .collect()
            })
            .unwrap_or_default();
        for seq in expired {
            self.withdraw(seq, || {
                AppendError::Unavailable(
                    "No sequencer answered in time (the service may be failing over); \
                     nothing was written. Retry shortly."
                        .into(),
                )
            })
            .await;
        }
    }

    /// Withdraws a handed-over request and answers it with `err`, unless
    /// the sequencer has taken it already (its outcome then comes).
    async fn withdraw(&mut self, seq: i64, err: impl FnOnce() -> AppendError) {
        match self.store.withdraw(seq).await {
            Ok(true) => {
                if let Some(w) = self.node.as_mut().and_then(|n| n.waiting.remove(&seq)) {
                    let _ = w.reply.send(Err(err()));
                }
            }
            Ok(false) => {
                if let Some(w) = self.node.as_mut().and_then(|n| n.waiting.get_mut(&seq)) {
                    w.taken = true;
                }
            }
            Err(e) => tracing::warn!(error = %e, seq, "could not withdraw an append"),
        }
    }

    /// On shutdown: answers what has an outcome, withdraws the rest.
    async fn abandon_waiting(&mut self) {
        self.collect_outcomes().await;
        let seqs: Vec<i64> = self
            .node
            .as_ref()
            .map(|n| n.waiting.keys().copied().collect())
            .unwrap_or_default();
        for seq in seqs {
            self.withdraw(seq, || AppendError::ShuttingDown).await;
        }
    }

    /// A handed-over request's reply, from its stored outcome.
    async fn appended(&mut self, placed: Placed) -> Result<Appended, AppendError> {
        let storage = |e: StoreError| AppendError::Storage(e.to_string());
        let mut follow_ups = Vec::with_capacity(placed.follow_ups.len());
        for index in placed.follow_ups {
            let bytes = self
                .store
                .entries(index, index + 1)
                .await
                .map_err(storage)?
                .pop()
                .ok_or_else(|| AppendError::Storage(format!("entry {index} is missing")))?;
            follow_ups.push((index, decode_entry(&bytes)?));
        }
        let checkpoint = match placed.checkpoint_size {
            Some(size) => {
                let c = self
                    .store
                    .checkpoint_at(size)
                    .await
                    .map_err(storage)?
                    .ok_or_else(|| AppendError::Storage(format!("checkpoint {size} is missing")))?;
                let c = Arc::new(PublishedCheckpoint::from(c));
                if c.size > self.published.borrow().size {
                    self.published.send_replace(c.clone());
                }
                Some(c)
            }
            None => None,
        };
        Ok(Appended {
            first: placed.first,
            follow_ups,
            checkpoint,
        })
    }
}

/// The outcomes to record for the handed-over requests a batch claimed; the
/// batch grows the tree to `new_size` (the size of the checkpoint signed
/// with it, when one was asked for).
fn handed_outcomes(
    requests: &[Request],
    outcomes: &[Result<Appended, Violation>],
    claimed: &std::collections::HashSet<i64>,
    new_size: u64,
) -> Vec<Outcome> {
    requests
        .iter()
        .zip(outcomes)
        .filter_map(|(r, o)| {
            let seq = r.remote.filter(|s| claimed.contains(s))?;
            let result = match o {
                Ok(a) => Ok(Placed {
                    first: a.first,
                    follow_ups: a.follow_ups.iter().map(|(i, _)| *i).collect(),
                    checkpoint_size: r.checkpoint.then_some(new_size),
                }),
                Err(v) => Err(v.clone()),
            };
            Some(Outcome { seq, result })
        })
        .collect()
}

/// Refuses, in `refused`, the requests whose passkey use does not follow
/// the stored counter (or whose passkey is no longer active), reading the
/// counters through the batch's transaction. Uses in the same batch follow
/// each other in request order.
async fn check_credential_uses(
    tx: &mut BatchTx,
    requests: &[Request],
    refused: &mut [Option<Violation>],
) -> Result<(), StoreError> {
    let mut ids: Vec<&[u8]> = requests
        .iter()
        .zip(refused.iter())
        .filter(|(_, refusal)| refusal.is_none())
        .filter_map(|(r, _)| r.with.credential_use.as_ref())
        .map(|u| u.credential_id.as_slice())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    ids.sort_unstable();
    ids.dedup();
    let mut counters = tx.credential_counters(&ids).await?;
    for (r, refusal) in requests.iter().zip(refused.iter_mut()) {
        let Some(u) = r.with.credential_use.as_ref().filter(|_| refusal.is_none()) else {
            continue;
        };
        match counters.get_mut(&u.credential_id) {
            None => {
                *refusal = Some(Violation {
                    code: "credential-revoked",
                    message: "The passkey was revoked before the signature was recorded.".into(),
                });
            }
            Some(stored) if !CredentialUse::follows(*stored, u.sign_count) => {
                *refusal = Some(Violation {
                    code: "sign-count-not-increasing",
                    message: format!(
                        "The authenticator's signature counter ({}) does not follow the stored one ({stored}).",
                        u.sign_count
                    ),
                });
            }
            Some(stored) => *stored = u.sign_count,
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    //! The rows that commit with a batch (passkey counters, evidence), on
    //! SQLite and, when `VECHE_TEST_DATABASE_URL` is set, PostgreSQL.

    use super::*;
    use crate::DatabaseConfig;
    use crate::clock::FixedClock;
    use crate::db::on_pool;
    use crate::publish;
    use veche_entry::{Date, Entry, Jurisdiction};

    fn entry(i: u64) -> Vec<u8> {
        Entry::new(
            1_795_442_400_000 + i,
            Jurisdiction {
                id: format!("region-{i}"),
                name_ru: "Тестовая область".into(),
                name_en: "Test Oblast".into(),
                population: 1_000 + i,
                population_source: "Test data".into(),
                population_date: Date::new(2024, 1, 1).unwrap(),
                legislature_ru: "Тестовая дума".into(),
                legislature_en: "Test Duma".into(),
            },
        )
        .encode()
        .unwrap()
    }

    async fn stores() -> Vec<(Store, Option<tempfile::TempDir>)> {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Store::open(&DatabaseConfig::Sqlite(dir.path().join("t.db")))
            .await
            .unwrap();
        let mut out = vec![(sqlite, Some(dir))];
        if let Ok(url) = std::env::var("VECHE_TEST_DATABASE_URL") {
            use sqlx::Connection;
            let name = format!(
                "veche_store_seq_{}_{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            );
            let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .unwrap();
            let base = url.rsplit_once('/').unwrap().0;
            out.push((
                Store::open(&DatabaseConfig::Postgres(format!("{base}/{name}")))
                    .await
                    .unwrap(),
                None,
            ));
        } else {
            eprintln!("skipped: PostgreSQL (VECHE_TEST_DATABASE_URL is not set)");
        }
        out
    }

    /// A citizen account with one passkey whose stored counter is `count`.
    async fn credential(store: &Store, id: u8, count: u64) -> Vec<u8> {
        let account = vec![id; 16];
        on_pool!(store, p => {
            sqlx::query("INSERT INTO accounts (id, kind, pseudonym, created_ms) VALUES ($1, 'citizen', $2, 0)")
                .bind(account.as_slice())
                .bind(format!("citizen-{id}"))
                .execute(p)
                .await
                .unwrap();
        });
        let cred = vec![id; 20];
        assert!(
            store
                .add_credential(&account, &cred, "{}", count, "key", 0)
                .await
                .unwrap()
        );
        cred
    }

    async fn stored_count(store: &Store, cred: &[u8]) -> (u64, Option<u64>) {
        let row = store.credential(cred).await.unwrap().unwrap();
        (row.sign_count, row.last_used_ms)
    }

    fn with(cred: &[u8], count: u64, at: u64, tag: u8) -> WithEntries {
        WithEntries {
            credential_use: Some(CredentialUse {
                credential_id: cred.to_vec(),
                sign_count: count,
                at_ms: at,
            }),
            evidence: Some(SignatureEvidence {
                commitment: [tag; 32],
                petition: 7,
                nonce: [tag ^ 0xff; 32],
                credential_id: cred.to_vec(),
                evidence: vec![tag; 10],
                created_ms: at,
            }),
        }
    }

    async fn sequencer(store: &Store) -> Sequencer {
        let (signer, _) = LogSigner::generate("test.veche/log");
        Sequencer::load(
            store.clone(),
            signer,
            Arc::new(FixedClock::new(1_000)),
            SequencerConfig::default(),
        )
        .await
        .unwrap()
    }

    fn request(entries: Vec<Vec<u8>>, with: WithEntries) -> Request {
        let decoded = entries.iter().map(|e| decode_entry(e).unwrap()).collect();
        Request {
            entries,
            decoded,
            checkpoint: true,
            with,
            reply: oneshot::channel().0,
            remote: None,
        }
    }

    #[tokio::test]
    async fn counters_and_evidence_commit_with_their_entries_only() {
        for (store, _dir) in stores().await {
            let counted = credential(&store, 1, 5).await;
            let synced = credential(&store, 2, 0).await;
            let revoked = credential(&store, 3, 0).await;
            on_pool!(store, p => {
                sqlx::query("UPDATE credentials SET revoked_ms = 1 WHERE id = $1")
                    .bind(revoked.as_slice())
                    .execute(p)
                    .await
                    .unwrap();
            });
            let (log, task) = sequencer(&store).await.spawn();

            // A counter that moves on, and a counter-less passkey (0 → 0).
            let a = log
                .submit_with(vec![entry(1)], true, with(&counted, 6, 100, 1))
                .await
                .unwrap();
            log.submit_with(vec![entry(2)], true, with(&synced, 0, 101, 2))
                .await
                .unwrap();
            assert_eq!(stored_count(&store, &counted).await, (6, Some(100)));
            assert_eq!(stored_count(&store, &synced).await, (0, Some(101)));
            // The receipt's proof from the tiles the batch wrote is the one
            // the database gives.
            let cp = a.checkpoint.expect("a checkpoint was asked for");
            assert_eq!(
                publish::fresh_inclusion_proof(&store, a.first, cp.size)
                    .await
                    .unwrap(),
                publish::inclusion_proof(&store, a.first, cp.size)
                    .await
                    .unwrap()
            );

            // A replayed (not increasing) counter and a revoked passkey are
            // refused, and nothing of their requests is written.
            for (cred, count, code, tag) in [
                (&counted, 6, "sign-count-not-increasing", 3),
                (&counted, 2, "sign-count-not-increasing", 4),
                (&revoked, 0, "credential-revoked", 5),
            ] {
                match log
                    .submit_with(
                        vec![entry(u64::from(tag) + 10)],
                        true,
                        with(cred, count, 200, tag),
                    )
                    .await
                {
                    Err(AppendError::Rejected(v)) => assert_eq!(v.code, code),
                    other => panic!("expected {code}, got {other:?}"),
                }
            }
            assert_eq!(store.count_entries().await.unwrap(), 2);
            assert_eq!(stored_count(&store, &counted).await, (6, Some(100)));
            let evidence = store.signature_evidence().await.unwrap();
            assert_eq!(
                evidence.iter().map(|e| e.commitment[0]).collect::<Vec<_>>(),
                vec![1, 2]
            );
            assert_eq!(evidence[0].created_ms, 100);

            // A request the rules refuse writes neither counter nor evidence.
            let unowed = Entry::new(
                1_795_442_400_500,
                veche_entry::Signature {
                    petition: 999,
                    nullifier: [6; 32],
                    assertion: [6; 32],
                },
            )
            .encode()
            .unwrap();
            match log
                .submit_with(vec![unowed], true, with(&counted, 9, 300, 6))
                .await
            {
                Err(AppendError::Rejected(v)) => assert_eq!(v.code, "unknown-petition"),
                other => panic!("a signature on no petition was accepted: {other:?}"),
            }
            assert_eq!(stored_count(&store, &counted).await, (6, Some(100)));
            assert_eq!(store.signature_evidence().await.unwrap().len(), 2);
            log.shutdown();
            task.await.unwrap();
        }
    }

    #[tokio::test]
    async fn uses_in_one_batch_follow_each_other() {
        for (store, _dir) in stores().await {
            let cred = credential(&store, 1, 5).await;
            let mut seq = sequencer(&store).await;
            // Two assertions of one authenticator with the same counter (a
            // cloned key) in one batch: the first wins, the second is
            // refused; a later, higher one in the same batch follows.
            let requests = [
                request(vec![entry(1)], with(&cred, 7, 10, 1)),
                request(vec![entry(2)], with(&cred, 7, 11, 2)),
                request(vec![entry(3)], with(&cred, 8, 12, 3)),
            ];
            let (outcomes, checkpoint) = seq.commit_requests(&requests).await.unwrap();
            assert!(checkpoint.is_some());
            assert_eq!(outcomes[0].as_ref().unwrap().first, 0);
            assert_eq!(
                outcomes[1].as_ref().unwrap_err().code,
                "sign-count-not-increasing"
            );
            assert_eq!(outcomes[2].as_ref().unwrap().first, 1);
            assert_eq!(stored_count(&store, &cred).await, (8, Some(12)));
            assert_eq!(
                store
                    .signature_evidence()
                    .await
                    .unwrap()
                    .iter()
                    .map(|e| e.commitment[0])
                    .collect::<Vec<_>>(),
                vec![1, 3]
            );
            assert_eq!(store.count_entries().await.unwrap(), 2);
        }
    }

    #[tokio::test]
    async fn a_rolled_back_batch_frees_the_log_and_a_stale_one_is_refused() {
        for (store, _dir) in stores().await {
            let cred = credential(&store, 1, 0).await;
            let tx = store.begin_batch(0).await.unwrap();
            tx.rollback().await.unwrap();
            // Another writer holding the lock: a batch built on a stale size
            // is refused as a conflict, before anything is written.
            let mut seq = sequencer(&store).await;
            seq.integrate(&[entry(1)], true).await.unwrap();
            assert!(matches!(
                store.begin_batch(0).await,
                Err(StoreError::Conflict {
                    expected: 0,
                    stored: 1
                })
            ));
            assert_eq!(stored_count(&store, &cred).await, (0, None));
            assert!(store.signature_evidence().await.unwrap().is_empty());
        }
    }
}
