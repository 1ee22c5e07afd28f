//! The database behind the log: SQLite (embedded default) or PostgreSQL.
//!
//! Every query the log needs is here, once per backend where the SQL differs.
//! The sequencer is the only writer of `log_entries`, `log_tiles` and
//! `log_state`; it writes a whole batch in one transaction
//! ([`Store::commit_batch`]) under the database's write lock, and the batch
//! commits only if the stored tree size is still the one the batch was built
//! on, so two writers can never fork the tree.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row};
use veche_log::Hash;
use veche_log::tiles::TilePath;

use crate::identity::CredentialUse;
use crate::petitions::SignatureEvidence;

/// An error from the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Invalid(String),
    #[error("stored log is inconsistent: {0}")]
    Corrupt(String),
    /// Another writer committed to the log since this batch was prepared.
    #[error("the log grew to size {stored} while a batch for size {expected} was prepared")]
    Conflict { expected: u64, stored: u64 },
    /// Another node became the sequencer (epoch `current`) after this one
    /// (epoch `epoch`): this node may no longer commit batches.
    #[error("sequencer epoch {epoch} was superseded by epoch {current}")]
    Fenced { epoch: u64, current: u64 },
}

/// Where the data lives.
#[derive(Clone, Debug)]
pub enum DatabaseConfig {
    /// An SQLite database file, created if missing.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The tree as committed: its size and root hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeState {
    pub size: u64,
    pub root: Hash,
}

/// A signed checkpoint as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The full C2SP signed note.
    pub note: String,
    pub created_ms: u64,
}

/// What one sequencer batch writes, atomically.
pub struct Batch<'a> {
    /// The tree size the batch was built on; the commit fails with
    /// [`StoreError::Conflict`] if the stored size differs.
    pub base_size: u64,
    /// The new entries, in order, taking indices `base_size..`.
    pub entries: &'a [Vec<u8>],
    /// Every hash tile the batch changed, with its full new contents.
    pub tiles: &'a [(TilePath, Vec<u8>)],
    pub new_root: Hash,
    /// A checkpoint for the new tree, if one is due.
    pub checkpoint: Option<&'a StoredCheckpoint>,
    /// Passkey uses that commit with the entries: each credential's counter
    /// moves to the use's count (checked under the batch's lock through
    /// [`BatchTx::credential_counters`] before the batch was admitted).
    pub credential_uses: &'a [CredentialUse],
    /// The raw assertions behind the batch's signature entries.
    pub evidence: &'a [SignatureEvidence],
}

impl<'a> Batch<'a> {
    /// A batch of log rows only (no passkey uses, no evidence).
    pub fn log_only(
        base_size: u64,
        entries: &'a [Vec<u8>],
        tiles: &'a [(TilePath, Vec<u8>)],
        new_root: Hash,
        checkpoint: Option<&'a StoredCheckpoint>,
    ) -> Self {
        Self {
            base_size,
            entries,
            tiles,
            new_root,
            checkpoint,
            credential_uses: &[],
            evidence: &[],
        }
    }
}

/// Handle to the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) backend: Backend,
    /// The hash tiles this process committed last (see [`TileCache`]).
    pub(crate) recent_tiles: Arc<TileCache>,
}

/// The newest hash tiles this process committed, per level, so that the
/// inclusion proof of a fresh entry (every signature's receipt) needs no
/// database read. Tiles only ever grow at their end, so a cached tile is
/// right for every hash it holds even if another process has since
/// committed more; a proof that needs more than the cache holds reads the
/// database.
#[derive(Debug, Default)]
pub(crate) struct TileCache {
    tiles: Mutex<TilesByKey>,
}

/// Tile contents by (level, index).
type TilesByKey = HashMap<(u8, u64), Arc<[u8]>>;

impl TileCache {
    /// Tiles kept per level behind the newest: receipts are built right
    /// after the commit, so only the rightmost tiles are ever asked for.
    const KEEP_PER_LEVEL: u64 = 4;

    fn remember(&self, tiles: &[(TilePath, Vec<u8>)]) {
        if tiles.is_empty() {
            return;
        }
        let mut map = self.tiles.lock().unwrap_or_else(|p| p.into_inner());
        for (path, data) in tiles {
            if let TilePath::Hash { level, index, .. } = *path {
                map.insert((level, index), Arc::from(data.as_slice()));
            }
        }
        let mut newest: HashMap<u8, u64> = HashMap::new();
        for &(level, index) in map.keys() {
            let n = newest.entry(level).or_insert(index);
            *n = (*n).max(index);
        }
        map.retain(|(level, index), _| index + Self::KEEP_PER_LEVEL > newest[level]);
    }

    pub(crate) fn get(&self, level: u8, index: u64) -> Option<Arc<[u8]>> {
        self.tiles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(level, index))
            .cloned()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.tiles.lock().unwrap().len()
    }
}

/// An open batch transaction: it holds the log's write lock (SQLite
/// `BEGIN IMMEDIATE`, PostgreSQL `FOR UPDATE` on the tree state) from
/// [`Store::begin_batch`] to [`BatchTx::commit`], so whatever the
/// sequencer reads through it (passkey counters) cannot change before the
/// batch commits. Dropped without commit, it rolls back.
pub struct BatchTx {
    pub(crate) tx: Tx,
    base_size: u64,
    recent_tiles: Arc<TileCache>,
}

pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$p` bound to the pool, once per backend: for queries
/// whose SQL and bind types are the same on SQLite and PostgreSQL.
macro_rules! on_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match &$store.backend {
            $crate::db::Backend::Sqlite($p) => $body,
            $crate::db::Backend::Postgres($p) => $body,
        }
    };
}

/// Runs `$body` inside a transaction (`$tx`), committing if it returns `Ok`.
macro_rules! in_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.backend {
            $crate::db::Backend::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::db::Backend::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use {in_tx, on_pool};

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).expect("log sizes fit in i64")
}

pub(crate) fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative value {v}")))
}

fn to_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("hash of {} bytes", bytes.len())))?;
    Ok(Hash(arr))
}

/// The end of a batch transaction, the same SQL on both backends: the new
/// tree state, the checkpoint if one goes with the batch, and COMMIT.
macro_rules! finish_batch {
    ($tx:ident, $batch:ident, $new_size:ident) => {
        sqlx::query("UPDATE log_state SET size = $1, root = $2 WHERE id = 1")
            .bind(to_i64($new_size))
            .bind($batch.new_root.0.to_vec())
            .execute(&mut *$tx)
            .await?;
        if let Some(cp) = $batch.checkpoint {
            sqlx::query(
                "INSERT INTO log_checkpoints (size, root, note, created_ms) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING",
            )
            .bind(to_i64(cp.size))
            .bind(cp.root.0.to_vec())
            .bind(&cp.note)
            .bind(to_i64(cp.created_ms))
            .execute(&mut *$tx)
            .await?;
        }
        $tx.commit().await?;
    };
}

/// Rows per multi-row INSERT on SQLite: full chunks reuse one cached statement.
const SQLITE_INSERT_CHUNK: usize = 256;

impl Store {
    /// Opens (creating if needed) and migrates the database.
    pub async fn open(config: &DatabaseConfig) -> Result<Self, StoreError> {
        match config {
            DatabaseConfig::Sqlite(path) => Self::open_sqlite(path).await,
            DatabaseConfig::Postgres(url) => Self::open_postgres(url).await,
        }
    }

    /// Opens an SQLite database file with WAL and `synchronous = FULL`, so a
    /// committed batch survives power loss, not just a process crash.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../../migrations/sqlite").run(&pool).await?;
        Ok(Self {
            backend: Backend::Sqlite(pool),
            recent_tiles: Arc::default(),
        })
    }

    /// Connects to PostgreSQL and migrates.
    pub async fn open_postgres(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        sqlx::migrate!("../../migrations/postgres")
            .run(&pool)
            .await?;
        Ok(Self {
            backend: Backend::Postgres(pool),
            recent_tiles: Arc::default(),
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(p) => p.close().await,
            Backend::Postgres(p) => p.close().await,
        }
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let q = "SELECT value FROM log_meta WHERE key = $1";
        let row: Option<(String,)> = match &self.backend {
            Backend::Sqlite(p) => sqlx::query_as(q).bind(key).fetch_optional(p).await?,
            Backend::Postgres(p) => sqlx::query_as(q).bind(key).fetch_optional(p).await?,
        };
        Ok(row.map(|r| r.0))
    }

    /// Sets `key` to `value` unless it is set already; returns the stored value.
    pub async fn meta_set_if_absent(&self, key: &str, value: &str) -> Result<String, StoreError> {
        let q = "INSERT INTO log_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";
        match &self.backend {
            Backend::Sqlite(p) => {
                sqlx::query(q).bind(key).bind(value).execute(p).await?;
            }
            Backend::Postgres(p) => {
                sqlx::query(q).bind(key).bind(value).execute(p).await?;
            }
        }
        self.meta(key)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("meta {key} vanished")))
    }

    pub async fn tree_state(&self) -> Result<TreeState, StoreError> {
        let q = "SELECT size, root FROM log_state WHERE id = 1";
        let (size, root): (i64, Vec<u8>) = match &self.backend {
            Backend::Sqlite(p) => sqlx::query_as(q).fetch_one(p).await?,
            Backend::Postgres(p) => sqlx::query_as(q).fetch_one(p).await?,
        };
        Ok(TreeState {
            size: to_u64(size)?,
            root: to_hash(&root)?,
        })
    }

    /// A stored hash tile: its full current contents (possibly partial).
    pub async fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let q = "SELECT data FROM log_tiles WHERE level = $1 AND idx = $2";
        let row: Option<(Vec<u8>,)> = match &self.backend {
            Backend::Sqlite(p) => {
                sqlx::query_as(q)
                    .bind(i64::from(level))
                    .bind(to_i64(index))
                    .fetch_optional(p)
                    .await?
            }
            Backend::Postgres(p) => {
                sqlx::query_as(q)
                    .bind(i16::from(level))
                    .bind(to_i64(index))
                    .fetch_optional(p)
                    .await?
            }
        };
        Ok(row.map(|r| r.0))
    }

    /// The rightmost partial tile of every level of a tree of `size`, cut to
    /// the width that size implies, as [`veche_log::writer::TileWriter`] wants them.
    pub async fn partial_tiles(&self, size: u64) -> Result<Vec<(u8, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        let mut level: u8 = 0;
        while level < 64 && (size >> (8 * u32::from(level))) > 0 {
            let at_level = size >> (8 * u32::from(level));
            let width = (at_level % 256) as usize;
            if width > 0 {
                let index = at_level / 256;
                let data = self.tile(level, index).await?.ok_or_else(|| {
                    StoreError::Corrupt(format!("missing tile level {level} index {index}"))
                })?;
                if data.len() < width * 32 {
                    return Err(StoreError::Corrupt(format!(
                        "tile level {level} index {index} has {} hashes, tree size {size} needs {width}",
                        data.len() / 32
                    )));
                }
                out.push((level, data[..width * 32].to_vec()));
            }
            level += 1;
        }
        Ok(out)
    }

    /// Entries with indices in `start..end` that exist, in order.
    pub async fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let q = "SELECT data FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx";
        let rows: Vec<(Vec<u8>,)> = match &self.backend {
            Backend::Sqlite(p) => {
                sqlx::query_as(q)
                    .bind(to_i64(start))
                    .bind(to_i64(end))
                    .fetch_all(p)
                    .await?
            }
            Backend::Postgres(p) => {
                sqlx::query_as(q)
                    .bind(to_i64(start))
                    .bind(to_i64(end))
                    .fetch_all(p)
                    .await?
            }
        };
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.checkpoint_query(
            "SELECT size, root, note, created_ms FROM log_checkpoints ORDER BY size DESC LIMIT 1",
            None,
        )
        .await
    }

    pub async fn checkpoint_at(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.checkpoint_query(
            "SELECT size, root, note, created_ms FROM log_checkpoints WHERE size = $1",
            Some(size),
        )
        .await
    }

    async fn checkpoint_query(
        &self,
        q: &'static str,
        size: Option<u64>,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let row: Option<(i64, Vec<u8>, String, i64)> = match &self.backend {
            Backend::Sqlite(p) => {
                let mut query = sqlx::query_as(q);
                if let Some(s) = size {
                    query = query.bind(to_i64(s));
                }
                query.fetch_optional(p).await?
            }
            Backend::Postgres(p) => {
                let mut query = sqlx::query_as(q);
                if let Some(s) = size {
                    query = query.bind(to_i64(s));
                }
                query.fetch_optional(p).await?
            }
        };
        row.map(|(size, root, note, created_ms)| {
            Ok(StoredCheckpoint {
                size: to_u64(size)?,
                root: to_hash(&root)?,
                note,
                created_ms: to_u64(created_ms)?,
            })
        })
        .transpose()
    }

    /// Stores a checkpoint for the tree as it is now; a no-op (returning
    /// false) if the tree has moved on or a checkpoint of that size exists.
    pub async fn insert_checkpoint(&self, cp: &StoredCheckpoint) -> Result<bool, StoreError> {
        let q = "INSERT INTO log_checkpoints (size, root, note, created_ms) \
                 SELECT $1, $2, $3, $4 FROM log_state WHERE id = 1 AND size = $1 AND root = $2 \
                 ON CONFLICT (size) DO NOTHING";
        let done = match &self.backend {
            Backend::Sqlite(p) => sqlx::query(q)
                .bind(to_i64(cp.size))
                .bind(cp.root.0.to_vec())
                .bind(&cp.note)
                .bind(to_i64(cp.created_ms))
                .execute(p)
                .await?
                .rows_affected(),
            Backend::Postgres(p) => sqlx::query(q)
                .bind(to_i64(cp.size))
                .bind(cp.root.0.to_vec())
                .bind(&cp.note)
                .bind(to_i64(cp.created_ms))
                .execute(p)
                .await?
                .rows_affected(),
        };
        Ok(done == 1)
    }

    /// Opens a batch transaction on a tree of `base_size` entries: takes the
    /// log's write lock and fails with [`StoreError::Conflict`] if the stored
    /// tree is not that size (another writer committed meanwhile).
    pub async fn begin_batch(&self, base_size: u64) -> Result<BatchTx, StoreError> {
        self.begin_batch_fenced(base_size, None).await
    }

    /// As [`Store::begin_batch`], for the elected sequencer of `epoch`
    /// (PostgreSQL with several nodes): also fails with
    /// [`StoreError::Fenced`] if another node has become the sequencer since.
    /// The epoch row stays share-locked until the batch ends, so a node
    /// taking over waits for a batch in flight instead of racing it.
    pub async fn begin_batch_fenced(
        &self,
        base_size: u64,
        epoch: Option<u64>,
    ) -> Result<BatchTx, StoreError> {
        let tx = match &self.backend {
            Backend::Sqlite(pool) => {
                // IMMEDIATE takes the write lock at once, so the size check
                // below and the writes form one critical section.
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let (stored,): (i64,) = sqlx::query_as("SELECT size FROM log_state WHERE id = 1")
                    .fetch_one(&mut *tx)
                    .await?;
                check_base(base_size, to_u64(stored)?)?;
                Tx::Sqlite(tx)
            }
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                if let Some(epoch) = epoch {
                    let (current,): (i64,) =
                        sqlx::query_as("SELECT epoch FROM log_leader WHERE id = 1 FOR SHARE")
                            .fetch_one(&mut *tx)
                            .await?;
                    let current = to_u64(current)?;
                    if current != epoch {
                        return Err(StoreError::Fenced { epoch, current });
                    }
                }
                let (stored,): (i64,) =
                    sqlx::query_as("SELECT size FROM log_state WHERE id = 1 FOR UPDATE")
                        .fetch_one(&mut *tx)
                        .await?;
                check_base(base_size, to_u64(stored)?)?;
                Tx::Postgres(tx)
            }
        };
        Ok(BatchTx {
            tx,
            base_size,
            recent_tiles: self.recent_tiles.clone(),
        })
    }

    /// Writes one batch atomically: entries, changed tiles, passkey uses,
    /// evidence, the new tree state and (optionally) its checkpoint. Durable
    /// when this returns `Ok`.
    pub async fn commit_batch(&self, batch: &Batch<'_>) -> Result<(), StoreError> {
        self.begin_batch(batch.base_size).await?.commit(batch).await
    }

    /// Every entry of one kind, with its index, in log order.
    pub async fn entries_of_kind(&self, kind: u16) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let q = "SELECT idx, data FROM log_entries WHERE kind = $1 ORDER BY idx";
        let rows: Vec<(i64, Vec<u8>)> = match &self.backend {
            Backend::Sqlite(p) => sqlx::query_as(q).bind(i32::from(kind)).fetch_all(p).await?,
            Backend::Postgres(p) => sqlx::query_as(q).bind(i32::from(kind)).fetch_all(p).await?,
        };
        rows.into_iter().map(|(i, d)| Ok((to_u64(i)?, d))).collect()
    }

    /// Inserts entries in one transaction with no tree work: the baseline
    /// the append benchmark compares the sequencer with.
    #[doc(hidden)]
    pub async fn insert_entries_baseline(
        &self,
        base: u64,
        entries: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        let batch = Batch::log_only(base, entries, &[], veche_log::EMPTY_ROOT, None);
        self.commit_batch(&batch).await
    }

    /// Counts rows of a log table, for tests and diagnostics.
    pub async fn count_entries(&self) -> Result<u64, StoreError> {
        let q = "SELECT COUNT(*) AS n FROM log_entries";
        let n: i64 = match &self.backend {
            Backend::Sqlite(p) => sqlx::query(q).fetch_one(p).await?.try_get("n")?,
            Backend::Postgres(p) => sqlx::query(q).fetch_one(p).await?.try_get("n")?,
        };
        to_u64(n)
    }
}

impl BatchTx {
    /// The stored signature counters of the given credentials, for those
    /// that exist and are not revoked. Read under the batch's lock: on
    /// PostgreSQL the rows are locked (`FOR UPDATE`) until the batch ends,
    /// on SQLite the whole database is.
    pub async fn credential_counters(
        &mut self,
        ids: &[&[u8]],
    ) -> Result<HashMap<Vec<u8>, u64>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(out);
        }
        match &mut self.tx {
            Tx::Sqlite(tx) => {
                for id in ids {
                    let row: Option<(i64,)> = sqlx::query_as(
                        "SELECT sign_count FROM credentials WHERE id = $1 AND revoked_ms IS NULL",
                    )
                    .bind(*id)
                    .fetch_optional(&mut **tx)
                    .await?;
                    if let Some((n,)) = row {
                        out.insert(id.to_vec(), to_u64(n)?);
                    }
                }
            }
            Tx::Postgres(tx) => {
                let rows: Vec<(Vec<u8>, i64)> = sqlx::query_as(
                    "SELECT id, sign_count FROM credentials \
                     WHERE id = ANY($1::bytea[]) AND revoked_ms IS NULL ORDER BY id FOR UPDATE",
                )
                .bind(ids)
                .fetch_all(&mut **tx)
                .await?;
                for (id, n) in rows {
                    out.insert(id, to_u64(n)?);
                }
            }
        }
        Ok(out)
    }

    /// Ends the transaction without writing anything.
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.tx {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    /// Writes the batch and commits. Durable when this returns `Ok`; on an
    /// error nothing of the batch is written.
    pub async fn commit(self, batch: &Batch<'_>) -> Result<(), StoreError> {
        if batch.base_size != self.base_size {
            return Err(StoreError::Invalid(format!(
                "a batch built on size {} cannot commit in a transaction opened on size {}",
                batch.base_size, self.base_size
            )));
        }
        let new_size = batch.base_size + batch.entries.len() as u64;
        let uses = last_use_per_credential(batch.credential_uses);
        match self.tx {
            Tx::Sqlite(mut tx) => {
                let mut idx = batch.base_size;
                for chunk in batch.entries.chunks(SQLITE_INSERT_CHUNK) {
                    let sql = sqlite_values_insert(
                        "INSERT INTO log_entries (idx, kind, data)",
                        3,
                        chunk.len(),
                        "",
                    );
                    let mut q = sqlx::query(AssertSqlSafe(sql));
                    for e in chunk {
                        q = q.bind(to_i64(idx)).bind(entry_kind(e)).bind(e.as_slice());
                        idx += 1;
                    }
                    q.execute(&mut *tx).await?;
                }
                for (path, data) in batch.tiles {
                    let (level, index) = tile_key(path)?;
                    sqlx::query(
                        "INSERT INTO log_tiles (level, idx, data) VALUES ($1, $2, $3) \
                         ON CONFLICT (level, idx) DO UPDATE SET data = excluded.data",
                    )
                    .bind(i64::from(level))
                    .bind(to_i64(index))
                    .bind(data.as_slice())
                    .execute(&mut *tx)
                    .await?;
                }
                for u in &uses {
                    sqlx::query(
                        "UPDATE credentials SET sign_count = $2, last_used_ms = $3 WHERE id = $1",
                    )
                    .bind(u.credential_id.as_slice())
                    .bind(to_i64(u.sign_count))
                    .bind(to_i64(u.at_ms))
                    .execute(&mut *tx)
                    .await?;
                }
                for chunk in batch.evidence.chunks(SQLITE_INSERT_CHUNK) {
                    let sql = sqlite_values_insert(
                        "INSERT INTO signature_evidence \
                         (commitment, petition, nonce, credential_id, evidence, created_ms)",
                        6,
                        chunk.len(),
                        " ON CONFLICT (commitment) DO NOTHING",
                    );
                    let mut q = sqlx::query(AssertSqlSafe(sql));
                    for e in chunk {
                        q = q
                            .bind(e.commitment.as_slice())
                            .bind(to_i64(e.petition))
                            .bind(e.nonce.as_slice())
                            .bind(e.credential_id.as_slice())
                            .bind(e.evidence.as_slice())
                            .bind(to_i64(e.created_ms));
                    }
                    q.execute(&mut *tx).await?;
                }
                finish_batch!(tx, batch, new_size);
            }
            Tx::Postgres(mut tx) => {
                if !batch.entries.is_empty() {
                    let idx: Vec<i64> = (batch.base_size..new_size).map(to_i64).collect();
                    let kinds: Vec<i32> = batch.entries.iter().map(|e| entry_kind(e)).collect();
                    sqlx::query(
                        "INSERT INTO log_entries (idx, kind, data) \
                         SELECT * FROM UNNEST($1::bigint[], $2::int[], $3::bytea[])",
                    )
                    .bind(&idx)
                    .bind(&kinds)
                    .bind(batch.entries)
                    .execute(&mut *tx)
                    .await?;
                }
                if !batch.tiles.is_empty() {
                    let mut levels = Vec::with_capacity(batch.tiles.len());
                    let mut indices = Vec::with_capacity(batch.tiles.len());
                    let mut datas = Vec::with_capacity(batch.tiles.len());
                    for (path, data) in batch.tiles {
                        let (level, index) = tile_key(path)?;
                        levels.push(i16::from(level));
                        indices.push(to_i64(index));
                        datas.push(data.as_slice());
                    }
                    sqlx::query(
                        "INSERT INTO log_tiles (level, idx, data) \
                         SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::bytea[]) \
                         ON CONFLICT (level, idx) DO UPDATE SET data = excluded.data",
                    )
                    .bind(&levels)
                    .bind(&indices)
                    .bind(&datas)
                    .execute(&mut *tx)
                    .await?;
                }
                if !uses.is_empty() {
                    let ids: Vec<&[u8]> = uses.iter().map(|u| u.credential_id.as_slice()).collect();
                    let counts: Vec<i64> = uses.iter().map(|u| to_i64(u.sign_count)).collect();
                    let times: Vec<i64> = uses.iter().map(|u| to_i64(u.at_ms)).collect();
                    sqlx::query(
                        "UPDATE credentials AS c SET sign_count = u.sign_count, last_used_ms = u.at_ms \
                         FROM UNNEST($1::bytea[], $2::bigint[], $3::bigint[]) AS u(id, sign_count, at_ms) \
                         WHERE c.id = u.id",
                    )
                    .bind(&ids)
                    .bind(&counts)
                    .bind(&times)
                    .execute(&mut *tx)
                    .await?;
                }
                if !batch.evidence.is_empty() {
                    let ev = batch.evidence;
                    let commitments: Vec<&[u8]> =
                        ev.iter().map(|e| e.commitment.as_slice()).collect();
                    let petitions: Vec<i64> = ev.iter().map(|e| to_i64(e.petition)).collect();
                    let nonces: Vec<&[u8]> = ev.iter().map(|e| e.nonce.as_slice()).collect();
                    let credentials: Vec<&[u8]> =
                        ev.iter().map(|e| e.credential_id.as_slice()).collect();
                    let evidence: Vec<&[u8]> = ev.iter().map(|e| e.evidence.as_slice()).collect();
                    let created: Vec<i64> = ev.iter().map(|e| to_i64(e.created_ms)).collect();
                    sqlx::query(
                        "INSERT INTO signature_evidence \
                         (commitment, petition, nonce, credential_id, evidence, created_ms) \
                         SELECT * FROM UNNEST($1::bytea[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bigint[]) \
                         ON CONFLICT (commitment) DO NOTHING",
                    )
                    .bind(&commitments)
                    .bind(&petitions)
                    .bind(&nonces)
                    .bind(&credentials)
                    .bind(&evidence)
                    .bind(&created)
                    .execute(&mut *tx)
                    .await?;
                }
                finish_batch!(tx, batch, new_size);
            }
        }
        self.recent_tiles.remember(batch.tiles);
        Ok(())
    }
}

/// One write per credential: the last use in batch order (the sequencer
/// admits only increasing counters, so it holds the highest count).
fn last_use_per_credential(uses: &[CredentialUse]) -> Vec<&CredentialUse> {
    let mut last: HashMap<&[u8], usize> = HashMap::with_capacity(uses.len());
    for (i, u) in uses.iter().enumerate() {
        last.insert(u.credential_id.as_slice(), i);
    }
    let mut keep: Vec<usize> = last.into_values().collect();
    keep.sort_unstable();
    keep.into_iter().map(|i| &uses[i]).collect()
}

/// `<head> VALUES ($1,…,$k),(…)… <tail>` for `rows` rows of `columns` values.
fn sqlite_values_insert(head: &str, columns: usize, rows: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * columns * 5 + 8);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", r * columns + c + 1));
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// The kind field of a v1 entry envelope (bytes 1..3); entries are
/// validated before they reach a batch.
fn entry_kind(entry: &[u8]) -> i32 {
    match entry {
        [_, hi, lo, ..] => i32::from(u16::from_be_bytes([*hi, *lo])),
        _ => -1,
    }
}

fn check_base(expected: u64, stored: u64) -> Result<(), StoreError> {
    if expected == stored {
        Ok(())
    } else {
        Err(StoreError::Conflict { expected, stored })
    }
}

fn tile_key(path: &TilePath) -> Result<(u8, u64), StoreError> {
    match *path {
        TilePath::Hash { level, index, .. } => Ok((level, index)),
        TilePath::Entries { .. } => Err(StoreError::Corrupt(
            "entry bundles are not stored as tiles".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(level: u8, index: u64, width: u16) -> (TilePath, Vec<u8>) {
        let path = TilePath::Hash {
            level,
            index,
            width,
        };
        (path, vec![level; usize::from(width) * 32])
    }

    #[test]
    fn tile_cache_keeps_the_newest_tiles_of_each_level() {
        let cache = TileCache::default();
        for i in 0..10 {
            cache.remember(&[tile(0, i, 256), tile(1, 0, (i + 1) as u16)]);
        }
        // Level 0 keeps tiles 6..=9, level 1 its one (growing) tile.
        assert_eq!(cache.len(), 5);
        assert!(cache.get(0, 5).is_none());
        assert_eq!(cache.get(0, 9).unwrap().len(), 256 * 32);
        assert_eq!(
            cache.get(1, 0).unwrap().len(),
            10 * 32,
            "the latest contents"
        );
    }
}
