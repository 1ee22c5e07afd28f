//! Several server nodes on one PostgreSQL: which node is the sequencer, and
//! how the others hand their appends to it (specs/architecture.md, "Several
//! nodes on one PostgreSQL").
//!
//! Leadership is a session-level advisory lock held on a dedicated
//! connection by a small task ([`spawn_campaign`]). It goes when the
//! holder's session ends — a killed process closes its socket at once, and
//! `idle_session_timeout` ends the session of a hung one — and every other
//! node tries for it each poll interval. The node that wins bumps the epoch
//! in `log_leader` *through the lock's own session* (so only a live holder
//! can), and every batch of the sequencer checks that epoch under a share
//! lock ([`Store::begin_batch_fenced`]): a node that lost the lock without
//! noticing cannot commit again. The tree-size check under the log's write
//! lock stays as well, so not even two writers could fork the tree.
//!
//! A follower writes each append request to `pending_appends`, durably and
//! with the rows that must commit with it, and NOTIFYs. The sequencer claims
//! rows (deletes them) inside its batch transaction, admits them with its
//! own requests, and writes each one's outcome to `append_outcomes` in the
//! same transaction. The follower takes the outcome, or after a bound
//! withdraws its row: whichever deletes the row first decides, so every
//! request is answered exactly once and integrated at most once.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool};
use sqlx::{Connection, Row};
use tokio::sync::{Notify, watch};
use veche_state::Violation;

use crate::db::{Backend, BatchTx, Store, StoreError, Tx, to_i64, to_u64};
use crate::identity::CredentialUse;
use crate::petitions::SignatureEvidence;
use crate::sequencer::WithEntries;

/// The advisory lock key of the sequencer ("veche_sq"); advisory locks are
/// per database, so logs in different databases do not contend.
const SEQUENCER_LOCK: i64 = 0x7665_6368_655f_7371;
/// NOTIFY channel: a follower handed appends over.
const PENDING_CHANNEL: &str = "veche_pending";
/// NOTIFY channel: the sequencer committed (entries, outcomes, checkpoints).
const LOG_CHANNEL: &str = "veche_log";
/// A hung holder's session (no ping for this long) is ended by PostgreSQL,
/// which frees the lock for another node. Far above the ping interval so a
/// busy machine does not trigger it.
const IDLE_SESSION_TIMEOUT: &str = "10s";
/// How long a node that won the lock waits for a batch in flight of the
/// previous sequencer before trying again.
const BUMP_LOCK_TIMEOUT: &str = "5s";

/// An append request a follower handed over, as the sequencer reads it.
pub(crate) struct PendingAppend {
    pub seq: i64,
    pub entries: Vec<Vec<u8>>,
    pub checkpoint: bool,
    pub with: WithEntries,
}

/// What became of a handed-over request.
pub(crate) struct Outcome {
    pub seq: i64,
    pub result: Result<Placed, Violation>,
}

/// Where an accepted handed-over request's entries went.
pub(crate) struct Placed {
    pub first: u64,
    /// Indices of the entries the rules owed and the sequencer appended.
    pub follow_ups: Vec<u64>,
    /// The size of the checkpoint signed with the batch, when one was asked
    /// for.
    pub checkpoint_size: Option<u64>,
}

/// seq, first_index, follow_ups, checkpoint_size, refusal_code,
/// refusal_message.
type OutcomeRow = (
    i64,
    Option<i64>,
    Vec<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

fn postgres(store: &Store) -> Result<&PgPool, StoreError> {
    match &store.backend {
        Backend::Postgres(p) => Ok(p),
        Backend::Sqlite(_) => Err(StoreError::Invalid(
            "several server nodes need PostgreSQL".into(),
        )),
    }
}

/// Refusal codes come back from the database as strings; a [`Violation`]
/// holds a `&'static str`. Codes are few and fixed (the rules' own), so each
/// is leaked once; anything unexpected maps to one generic code.
fn intern_code(code: &str) -> &'static str {
    use std::sync::Mutex;
    static CODES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    const MAX_CODES: usize = 256;
    let plausible = !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    if !plausible {
        return "rule-violation";
    }
    let mut codes = CODES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = codes.iter().find(|c| **c == code) {
        return c;
    }
    if codes.len() >= MAX_CODES {
        return "rule-violation";
    }
    let leaked: &'static str = Box::leak(code.to_owned().into_boxed_str());
    codes.push(leaked);
    leaked
}

impl Store {
    /// Hands append requests over to the sequencer: one row each, committed
    /// before this returns (so they survive this node), with a NOTIFY.
    /// Returns each request's sequence number, the key of its outcome.
    pub(crate) async fn hand_over(
        &self,
        requests: &[(&[Vec<u8>], bool, &WithEntries)],
        node: &str,
        now_ms: u64,
    ) -> Result<Vec<i64>, StoreError> {
        let pool = postgres(self)?;
        let mut tx = pool.begin().await?;
        let mut seqs = Vec::with_capacity(requests.len());
        for (entries, checkpoint, with) in requests {
            let u = with.credential_use.as_ref();
            let e = with.evidence.as_ref();
            let (seq,): (i64,) = sqlx::query_as(
                "INSERT INTO pending_appends (entries, checkpoint, credential_id, sign_count, \
                 used_ms, ev_commitment, ev_petition, ev_nonce, ev_credential, ev_evidence, \
                 ev_created_ms, node, created_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq",
            )
            .bind(*entries)
            .bind(*checkpoint)
            .bind(u.map(|u| u.credential_id.as_slice()))
            .bind(u.map(|u| to_i64(u.sign_count)))
            .bind(u.map(|u| to_i64(u.at_ms)))
            .bind(e.map(|e| e.commitment.as_slice()))
            .bind(e.map(|e| to_i64(e.petition)))
            .bind(e.map(|e| e.nonce.as_slice()))
            .bind(e.map(|e| e.credential_id.as_slice()))
            .bind(e.map(|e| e.evidence.as_slice()))
            .bind(e.map(|e| to_i64(e.created_ms)))
            .bind(node)
            .bind(to_i64(now_ms))
            .fetch_one(&mut *tx)
            .await?;
            seqs.push(seq);
        }
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(PENDING_CHANNEL)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(seqs)
    }

    /// The oldest handed-over requests, up to `limit` entries' worth (at
    /// least one request).
    pub(crate) async fn pending_appends(
        &self,
        limit: usize,
    ) -> Result<Vec<PendingAppend>, StoreError> {
        let pool = postgres(self)?;
        let rows = sqlx::query(
            "SELECT seq, entries, checkpoint, credential_id, sign_count, used_ms, ev_commitment, \
             ev_petition, ev_nonce, ev_credential, ev_evidence, ev_created_ms \
             FROM pending_appends ORDER BY seq LIMIT $1",
        )
        .bind(to_i64(limit as u64))
        .fetch_all(pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut count = 0usize;
        for row in rows {
            let entries: Vec<Vec<u8>> = row.try_get("entries")?;
            if count > 0 && count + entries.len() > limit {
                break;
            }
            count += entries.len();
            let credential_use = match (
                row.try_get::<Option<Vec<u8>>, _>("credential_id")?,
                row.try_get::<Option<i64>, _>("sign_count")?,
                row.try_get::<Option<i64>, _>("used_ms")?,
            ) {
                (Some(credential_id), Some(n), Some(at)) => Some(CredentialUse {
                    credential_id,
                    sign_count: to_u64(n)?,
                    at_ms: to_u64(at)?,
                }),
                _ => None,
            };
            let evidence = match (
                row.try_get::<Option<Vec<u8>>, _>("ev_commitment")?,
                row.try_get::<Option<i64>, _>("ev_petition")?,
                row.try_get::<Option<Vec<u8>>, _>("ev_nonce")?,
                row.try_get::<Option<Vec<u8>>, _>("ev_credential")?,
                row.try_get::<Option<Vec<u8>>, _>("ev_evidence")?,
                row.try_get::<Option<i64>, _>("ev_created_ms")?,
            ) {
                (Some(c), Some(p), Some(n), Some(cred), Some(ev), Some(at)) => {
                    let hash32 = |v: Vec<u8>| {
                        <[u8; 32]>::try_from(v).map_err(|v| {
                            StoreError::Corrupt(format!(
                                "pending evidence hash of {} bytes",
                                v.len()
                            ))
                        })
                    };
                    Some(SignatureEvidence {
                        commitment: hash32(c)?,
                        petition: to_u64(p)?,
                        nonce: hash32(n)?,
                        credential_id: cred,
                        evidence: ev,
                        created_ms: to_u64(at)?,
                    })
                }
                _ => None,
            };
            out.push(PendingAppend {
                seq: row.try_get("seq")?,
                entries,
                checkpoint: row.try_get("checkpoint")?,
                with: WithEntries {
                    credential_use,
                    evidence,
                },
            });
        }
        Ok(out)
    }

    /// Takes (reads and deletes) the outcomes of these requests that exist.
    pub(crate) async fn take_outcomes(&self, seqs: &[i64]) -> Result<Vec<Outcome>, StoreError> {
        let pool = postgres(self)?;
        let rows: Vec<OutcomeRow> = sqlx::query_as(
            "DELETE FROM append_outcomes WHERE seq = ANY($1) RETURNING seq, first_index, \
                 follow_ups, checkpoint_size, refusal_code, refusal_message",
        )
        .bind(seqs)
        .fetch_all(pool)
        .await?;
        rows.into_iter()
            .map(|(seq, first, follow_ups, cp, code, message)| {
                let result = match (first, code) {
                    (Some(first), None) => Ok(Placed {
                        first: to_u64(first)?,
                        follow_ups: follow_ups
                            .into_iter()
                            .map(to_u64)
                            .collect::<Result<_, _>>()?,
                        checkpoint_size: cp.map(to_u64).transpose()?,
                    }),
                    (None, Some(code)) => Err(Violation {
                        code: intern_code(&code),
                        message: message.unwrap_or_default(),
                    }),
                    _ => {
                        return Err(StoreError::Corrupt(format!(
                            "outcome of request {seq} is neither placed nor refused"
                        )));
                    }
                };
                Ok(Outcome { seq, result })
            })
            .collect()
    }

    /// Withdraws a handed-over request nobody has integrated yet; false if
    /// the sequencer has already taken it (its outcome is then stored).
    pub(crate) async fn withdraw(&self, seq: i64) -> Result<bool, StoreError> {
        let pool = postgres(self)?;
        let done = sqlx::query("DELETE FROM pending_appends WHERE seq = $1")
            .bind(seq)
            .execute(pool)
            .await?
            .rows_affected();
        Ok(done == 1)
    }

    /// Answers a handed-over request with a refusal outside any batch (its
    /// entries do not decode here, so no batch can take it).
    pub(crate) async fn refuse_pending(
        &self,
        seq: i64,
        refusal: &Violation,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let pool = postgres(self)?;
        let mut tx = pool.begin().await?;
        let taken = sqlx::query("DELETE FROM pending_appends WHERE seq = $1")
            .bind(seq)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if taken == 1 {
            sqlx::query(
                "INSERT INTO append_outcomes (seq, refusal_code, refusal_message, created_ms) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(seq)
            .bind(refusal.code)
            .bind(&refusal.message)
            .bind(to_i64(now_ms))
            .execute(&mut *tx)
            .await?;
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(LOG_CHANNEL)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets outcomes nobody came for (their follower died) older than
    /// `before_ms`.
    pub(crate) async fn purge_outcomes(&self, before_ms: u64) -> Result<u64, StoreError> {
        let pool = postgres(self)?;
        Ok(
            sqlx::query("DELETE FROM append_outcomes WHERE created_ms < $1")
                .bind(to_i64(before_ms))
                .execute(pool)
                .await?
                .rows_affected(),
        )
    }

    /// Tells the other nodes that the log moved (a checkpoint signed
    /// outside a batch).
    pub(crate) async fn notify_log(&self) -> Result<(), StoreError> {
        let pool = postgres(self)?;
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(LOG_CHANNEL)
            .execute(pool)
            .await?;
        Ok(())
    }
}

impl BatchTx {
    /// Claims handed-over requests for this batch by deleting their rows;
    /// returns those still there (the others were withdrawn). The rows stay
    /// locked until the batch ends, and come back if it rolls back.
    pub(crate) async fn claim_pending(&mut self, seqs: &[i64]) -> Result<HashSet<i64>, StoreError> {
        if seqs.is_empty() {
            return Ok(HashSet::new());
        }
        let Tx::Postgres(tx) = &mut self.tx else {
            return Err(StoreError::Invalid(
                "several server nodes need PostgreSQL".into(),
            ));
        };
        let rows: Vec<(i64,)> =
            sqlx::query_as("DELETE FROM pending_appends WHERE seq = ANY($1) RETURNING seq")
                .bind(seqs)
                .fetch_all(&mut **tx)
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Writes the outcomes of claimed requests, and NOTIFYs the other nodes
    /// (delivered when the batch commits). A no-op on SQLite.
    pub(crate) async fn record_outcomes(
        &mut self,
        outcomes: &[Outcome],
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let Tx::Postgres(tx) = &mut self.tx else {
            return Ok(());
        };
        for o in outcomes {
            let (first, follow_ups, cp, code, message) = match &o.result {
                Ok(p) => (
                    Some(to_i64(p.first)),
                    p.follow_ups.iter().copied().map(to_i64).collect::<Vec<_>>(),
                    p.checkpoint_size.map(to_i64),
                    None,
                    None,
                ),
                Err(v) => (
                    None,
                    Vec::new(),
                    None,
                    Some(v.code),
                    Some(v.message.as_str()),
                ),
            };
            sqlx::query(
                "INSERT INTO append_outcomes (seq, first_index, follow_ups, checkpoint_size, \
                 refusal_code, refusal_message, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(o.seq)
            .bind(first)
            .bind(&follow_ups)
            .bind(cp)
            .bind(code)
            .bind(message)
            .bind(to_i64(now_ms))
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(LOG_CHANNEL)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Commits a batch that integrates nothing (every claimed request was
    /// refused): the claims and their outcomes only.
    pub(crate) async fn commit_outcomes_only(self) -> Result<(), StoreError> {
        match self.tx {
            Tx::Postgres(tx) => tx.commit().await?,
            Tx::Sqlite(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// This node's bid for the sequencer's lock, on a connection of its own.
pub(crate) struct Election {
    options: PgConnectOptions,
    node: String,
    conn: Option<PgConnection>,
    holding: bool,
    epoch: Option<u64>,
}

impl Election {
    /// `None` on SQLite, where the one process is always the sequencer.
    pub(crate) fn new(store: &Store, node: String) -> Option<Self> {
        match &store.backend {
            Backend::Postgres(pool) => Some(Self {
                options: (*pool.connect_options()).clone(),
                node,
                conn: None,
                holding: false,
                epoch: None,
            }),
            Backend::Sqlite(_) => None,
        }
    }

    /// The epoch this node leads under, if it does.
    pub(crate) fn epoch(&self) -> Option<u64> {
        self.epoch
    }

    /// One round: connect if needed, try for the lock, bump the epoch once
    /// it is held, or check that the session (and so the lock) is alive.
    pub(crate) async fn attempt(&mut self, now_ms: u64) {
        if let Err(e) = self.try_attempt(now_ms).await {
            if self.epoch.is_some() {
                tracing::warn!(error = %e, "lost the sequencer's lock");
            }
            // Dropping the connection ends the session: the lock, if it was
            // still held, goes with it.
            self.conn = None;
            self.holding = false;
            self.epoch = None;
        }
    }

    async fn try_attempt(&mut self, now_ms: u64) -> Result<(), sqlx::Error> {
        let conn = match &mut self.conn {
            Some(c) => c,
            None => {
                let mut c = PgConnection::connect_with(&self.options).await?;
                // Older servers lack idle_session_timeout: then only a
                // closed session frees the lock.
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SET idle_session_timeout = '{IDLE_SESSION_TIMEOUT}'"
                )))
                .execute(&mut c)
                .await;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SET lock_timeout = '{BUMP_LOCK_TIMEOUT}'"
                )))
                .execute(&mut c)
                .await?;
                self.conn.insert(c)
            }
        };
        if !self.holding {
            let (won,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
                .bind(SEQUENCER_LOCK)
                .fetch_one(&mut *conn)
                .await?;
            self.holding = won;
        }
        if !self.holding {
            return Ok(());
        }
        match self.epoch {
            None => {
                // Through the lock's own session: only a live holder bumps.
                let (epoch,): (i64,) = sqlx::query_as(
                    "UPDATE log_leader SET epoch = epoch + 1, node = $1, since_ms = $2 \
                     WHERE id = 1 RETURNING epoch",
                )
                .bind(&self.node)
                .bind(to_i64(now_ms))
                .fetch_one(&mut *conn)
                .await?;
                let epoch = u64::try_from(epoch).unwrap_or(0);
                tracing::info!(epoch, node = %self.node, "this node is now the sequencer");
                self.epoch = Some(epoch);
            }
            Some(_) => {
                sqlx::query("SELECT 1").execute(&mut *conn).await?;
            }
        }
        Ok(())
    }
}

/// Runs the election every `every` until the returned receiver is dropped;
/// the receiver holds the epoch this node leads under, if any.
pub(crate) fn spawn_campaign(
    mut election: Election,
    every: Duration,
    now_ms: impl Fn() -> u64 + Send + 'static,
) -> watch::Receiver<Option<u64>> {
    let (tx, rx) = watch::channel(election.epoch());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tx.closed() => break,
                _ = tick.tick() => {}
            }
            election.attempt(now_ms()).await;
            let epoch = election.epoch();
            tx.send_if_modified(|e| {
                let changed = *e != epoch;
                *e = epoch;
                changed
            });
        }
        // The connection drops here: the session ends and frees the lock.
    });
    rx
}

/// Listens for the other nodes' NOTIFYs and wakes the sequencer: `pending`
/// for handed-over appends, `log` for commits. Ends when the pool closes or
/// the sequencer is gone.
pub(crate) fn spawn_listener(store: &Store, pending: &Arc<Notify>, log: &Arc<Notify>) {
    let Backend::Postgres(pool) = &store.backend else {
        return;
    };
    let pool = pool.clone();
    let pending: Weak<Notify> = Arc::downgrade(pending);
    let log: Weak<Notify> = Arc::downgrade(log);
    tokio::spawn(async move {
        let mut listener = loop {
            match PgListener::connect_with(&pool).await {
                Ok(mut l) => match l.listen_all([PENDING_CHANNEL, LOG_CHANNEL]).await {
                    Ok(()) => break l,
                    Err(e) => tracing::warn!(error = %e, "cannot LISTEN; retrying"),
                },
                Err(e) => tracing::warn!(error = %e, "cannot LISTEN; retrying"),
            }
            if log.strong_count() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        // `recv` is not cancelled midway (it may not be cancel-safe); it
        // fails once the pool closes, which ends the task.
        loop {
            let got = listener.recv().await;
            let (Some(pending), Some(log)) = (pending.upgrade(), log.upgrade()) else {
                return;
            };
            match got {
                Ok(n) if n.channel() == PENDING_CHANNEL => pending.notify_one(),
                Ok(_) => log.notify_one(),
                Err(sqlx::Error::PoolClosed) => return,
                // The sequencer polls too, so a lost notification only costs
                // latency; the listener reconnects by itself.
                Err(e) => {
                    tracing::debug!(error = %e, "LISTEN connection failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    //! Two nodes in one process (two pools on one PostgreSQL database, when
    //! `VECHE_TEST_DATABASE_URL` is set): what a follower hands over comes
    //! back with the sequencer's answer, refusals and passkey rows included.

    use std::time::{Duration, Instant};

    use veche_entry::{Date, Entry, Jurisdiction};
    use veche_log::checkpoint::LogSigner;

    use super::intern_code;
    use crate::clock::FixedClock;
    use crate::db::on_pool;
    use crate::identity::CredentialUse;
    use crate::petitions::SignatureEvidence;
    use crate::sequencer::{AppendError, Sequencer, SequencerConfig, WithEntries};
    use crate::{DatabaseConfig, LogHandle, Store};

    #[test]
    fn refusal_codes_are_interned_once_and_odd_ones_mapped() {
        let a = intern_code("duplicate-signature");
        let b = intern_code(&String::from("duplicate-signature"));
        assert!(std::ptr::eq(a, b));
        assert_eq!(intern_code("DROP TABLE"), "rule-violation");
        assert_eq!(intern_code(""), "rule-violation");
    }

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

    /// A fresh PostgreSQL database's URL, or `None` (skipped).
    async fn database() -> Option<String> {
        let Ok(url) = std::env::var("VECHE_TEST_DATABASE_URL") else {
            eprintln!(
                "skipped: several nodes need PostgreSQL (VECHE_TEST_DATABASE_URL is not set)"
            );
            return None;
        };
        use sqlx::Connection;
        let name = format!(
            "veche_store_cluster_{}_{}",
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
        Some(format!("{}/{name}", url.rsplit_once('/').unwrap().0))
    }

    async fn node(
        url: &str,
        config: SequencerConfig,
    ) -> (Store, LogHandle, tokio::task::JoinHandle<()>) {
        let store = Store::open(&DatabaseConfig::Postgres(url.into()))
            .await
            .unwrap();
        // The nodes share the key, as they share a data directory.
        static SKEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let skey = SKEY.get_or_init(|| LogSigner::generate("test.veche/log").1);
        let signer = LogSigner::from_skey(skey).unwrap();
        let (log, task) = Sequencer::load_elected(
            store.clone(),
            signer,
            std::sync::Arc::new(FixedClock::new(1_000)),
            config,
        )
        .await
        .unwrap()
        .spawn();
        (store, log, task)
    }

    fn with(cred: &[u8], count: u64, tag: u8) -> WithEntries {
        WithEntries {
            credential_use: Some(CredentialUse {
                credential_id: cred.to_vec(),
                sign_count: count,
                at_ms: 100 + u64::from(tag),
            }),
            evidence: Some(SignatureEvidence {
                commitment: [tag; 32],
                petition: 7,
                nonce: [tag ^ 0xff; 32],
                credential_id: cred.to_vec(),
                evidence: vec![tag; 10],
                created_ms: 100,
            }),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_follower_gets_the_sequencers_answer_and_takes_over() {
        let Some(url) = database().await else { return };
        let (store_a, log_a, task_a) = node(&url, SequencerConfig::default()).await;
        let (store_b, log_b, task_b) = node(&url, SequencerConfig::default()).await;
        assert!(log_a.is_sequencer(), "the first node leads");
        assert!(!log_b.is_sequencer(), "the lock is taken");

        // An accepted append through the follower: its index, the
        // checkpoint signed with its batch, and the follower's state.
        let a = log_b.submit(vec![entry(1)], true).await.unwrap();
        assert_eq!(a.first, 0);
        let cp = a.checkpoint.expect("a checkpoint was asked for");
        assert_eq!(cp.size, 1);
        assert_eq!(log_b.state().read().unwrap().size, 1);
        assert_eq!(log_b.checkpoint().size, 1);

        // A passkey use through the follower commits with its entry; a
        // replayed counter and an unowed entry are refused with the rules'
        // codes, and nothing of them is written.
        let account = vec![1u8; 16];
        on_pool!(store_a, p => {
            sqlx::query("INSERT INTO accounts (id, kind, pseudonym, created_ms) VALUES ($1, 'citizen', 'c1', 0)")
                .bind(account.as_slice())
                .execute(p)
                .await
                .unwrap();
        });
        let cred = vec![1u8; 20];
        assert!(
            store_a
                .add_credential(&account, &cred, "{}", 5, "key", 0)
                .await
                .unwrap()
        );
        log_b
            .submit_with(vec![entry(2)], false, with(&cred, 6, 1))
            .await
            .unwrap();
        assert_eq!(
            store_a.credential(&cred).await.unwrap().unwrap().sign_count,
            6
        );
        match log_b
            .submit_with(vec![entry(3)], false, with(&cred, 6, 2))
            .await
        {
            Err(AppendError::Rejected(v)) => assert_eq!(v.code, "sign-count-not-increasing"),
            other => panic!("a replayed counter was accepted: {other:?}"),
        }
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
        match log_b.submit(vec![unowed], true).await {
            Err(AppendError::Rejected(v)) => assert_eq!(v.code, "unknown-petition"),
            other => panic!("a signature on no petition was accepted: {other:?}"),
        }
        assert_eq!(store_a.count_entries().await.unwrap(), 2);
        assert_eq!(store_a.signature_evidence().await.unwrap().len(), 1);
        on_pool!(store_a, p => {
            let (pending, outcomes): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM pending_appends), (SELECT COUNT(*) FROM append_outcomes)",
            )
            .fetch_one(p)
            .await
            .unwrap();
            assert_eq!((pending, outcomes), (0, 0), "every hand-over was answered and forgotten");
        });

        // The sequencer stops: the follower takes over and sequences.
        log_a.shutdown();
        task_a.await.unwrap();
        store_a.close().await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while !log_b.is_sequencer() {
            assert!(Instant::now() < deadline, "no takeover within 5 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let a = log_b.submit(vec![entry(4)], true).await.unwrap();
        assert_eq!(a.first, 2);
        assert_eq!(a.checkpoint.unwrap().size, 3);
        log_b.shutdown();
        task_b.await.unwrap();
        store_b.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_append_no_sequencer_takes_is_withdrawn() {
        use sqlx::Connection;
        let Some(url) = database().await else { return };
        // A holder of the lock that never sequences.
        let mut squatter = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(super::SEQUENCER_LOCK)
            .execute(&mut squatter)
            .await
            .unwrap();
        let config = SequencerConfig {
            handover_timeout: Duration::from_millis(300),
            ..SequencerConfig::default()
        };
        let (store, log, task) = node(&url, config).await;
        assert!(!log.is_sequencer());
        match log.submit(vec![entry(1)], true).await {
            Err(AppendError::Unavailable(_)) => {}
            other => panic!("expected the append to be withdrawn, got {other:?}"),
        }
        assert_eq!(store.count_entries().await.unwrap(), 0);
        assert!(store.pending_appends(10).await.unwrap().is_empty());
        // The lock comes free: this node leads and appends.
        squatter.close().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !log.is_sequencer() {
            assert!(Instant::now() < deadline, "no takeover within 5 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(log.submit(vec![entry(2)], false).await.unwrap().first, 0);
        log.shutdown();
        task.await.unwrap();
        store.close().await;
    }
}
