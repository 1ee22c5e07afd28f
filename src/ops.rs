//! Operations: the readiness probe, and `veche backup` / `veche restore`
//! (specs/operations.md). SQLite is backed up online with `VACUUM INTO`;
//! PostgreSQL with `pg_dump -Fc` and restored with `pg_restore`. A restore
//! is checked (integrity, the stored root against the tiles, the latest
//! checkpoint against the tree and, when the log key is in place, its
//! signature) before anything serves from it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use veche_store::{DatabaseConfig, Store};

use crate::config::StorageArgs;
use crate::problem::Problem;
use crate::server::AppState;

/// How long `/readyz` waits for the database.
const READY_DB_BOUND: Duration = Duration::from_secs(2);

/// The files of the data directory that hold secrets: a backup of the
/// database is useless without the first three (specs/operations.md).
pub const SECRET_FILES: &[&str] = &[
    "log.key",
    "nullifier.key",
    "pepper",
    "webhook.key",
    "operator.token",
];

/// `GET /readyz`: 200 when the database answers within a bound, the
/// sequencer takes appends and a signed checkpoint is loaded; else a 503
/// `not-ready` problem naming what failed.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let database = match tokio::time::timeout(READY_DB_BOUND, state.store.tree_state()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => {
            // The error may name hosts or files: logged, not shown.
            tracing::warn!(error = %e, "readiness: the database failed");
            Err("the database returned an error".to_owned())
        }
        Err(_) => Err(format!(
            "the database did not answer within {} s",
            READY_DB_BOUND.as_secs()
        )),
    };
    let sequencer = if state.log.is_running() {
        Ok(())
    } else {
        Err("the sequencer is not taking appends".to_owned())
    };
    let cp = state.log.checkpoint();
    let log = if cp.note.is_empty() {
        Err("no signed checkpoint is loaded".to_owned())
    } else {
        Ok(())
    };
    let checks = [
        ("database", &database),
        ("sequencer", &sequencer),
        ("log", &log),
    ];
    let summary: serde_json::Map<_, _> = checks
        .iter()
        .map(|(name, r)| {
            let v = match r {
                Ok(()) => "ok".to_owned(),
                Err(e) => e.clone(),
            };
            ((*name).to_owned(), serde_json::Value::String(v))
        })
        .collect();
    let failures: Vec<&str> = checks
        .iter()
        .filter_map(|(_, r)| r.as_ref().err().map(String::as_str))
        .collect();
    if failures.is_empty() {
        return (
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            axum::Json(serde_json::json!({
                "status": "ready",
                "size": cp.size,
                "checks": summary,
            })),
        )
            .into_response();
    }
    let mut p = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not-ready",
        "Not ready",
        format!("This node cannot serve yet: {}.", failures.join("; ")),
    )
    .with("checks", serde_json::Value::Object(summary));
    p.retry_after = Some(1);
    p.into_response()
}

/// `veche backup --to FILE`.
pub async fn backup(storage: &StorageArgs, to: &Path) -> Result<()> {
    if to.exists() {
        bail!("{} exists; a backup never overwrites a file", to.display());
    }
    let partial = with_suffix(to, ".partial");
    if partial.exists() {
        bail!(
            "{} exists (a backup in progress, or a failed one: remove it)",
            partial.display()
        );
    }
    match storage.database() {
        DatabaseConfig::Sqlite(db) => {
            if !db.exists() {
                bail!("there is no database at {}", db.display());
            }
            let store = storage.open_store().await?;
            let result = store.sqlite_backup_into(&partial).await;
            store.close().await;
            result.context("writing the backup")?;
            restrict(&partial)?;
            let copy = Store::open(&DatabaseConfig::Sqlite(partial.clone()))
                .await
                .context("opening the backup")?;
            let summary = check_restored(&copy, None).await;
            copy.close().await;
            let summary = summary.context("the backup does not check out")?;
            // A backup that is not on disk is not a backup.
            std::fs::File::open(&partial)?.sync_all()?;
            std::fs::rename(&partial, to)?;
            sync_parent(to)?;
            println!(
                "backed up the SQLite database to {}: log size {}, root {}",
                to.display(),
                summary.size,
                summary.root
            );
        }
        DatabaseConfig::Postgres(url) => {
            let (url, password) = split_password(&url)?;
            let mut cmd = tokio::process::Command::new("pg_dump");
            cmd.args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                .arg(&partial)
                .arg("--dbname")
                .arg(&url);
            run_pg_tool(cmd, password.as_deref(), "pg_dump").await?;
            restrict(&partial)?;
            std::fs::File::open(&partial)?.sync_all()?;
            std::fs::rename(&partial, to)?;
            sync_parent(to)?;
            println!(
                "backed up the PostgreSQL database to {} (pg_dump custom format)",
                to.display()
            );
        }
    }
    println!(
        "Back up the secrets of {} as well, separately ({}, or the VECHE_* variables that replace them): without the log key and the nullifier key a restored node cannot continue the log.",
        storage.data_dir.display(),
        SECRET_FILES.join(", ")
    );
    Ok(())
}

/// `veche restore --from FILE`: into `<data-dir>/veche.db` (which must not
/// exist), or into the (empty) PostgreSQL database of `--database-url`.
pub async fn restore(storage: &StorageArgs, from: &Path) -> Result<()> {
    if !from.is_file() {
        bail!("{} is not a file", from.display());
    }
    let summary = match storage.database() {
        DatabaseConfig::Sqlite(db) => {
            for existing in [db.clone(), with_suffix(&db, "-wal")] {
                if existing.exists() {
                    bail!(
                        "{} exists; restore into a fresh data directory (a restore never overwrites)",
                        existing.display()
                    );
                }
            }
            if !storage.data_dir.exists() {
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&storage.data_dir)
                    .with_context(|| format!("creating {}", storage.data_dir.display()))?;
            }
            let partial = with_suffix(&db, ".restoring");
            if partial.exists() {
                bail!("{} exists (a failed restore: remove it)", partial.display());
            }
            std::fs::copy(from, &partial).with_context(|| format!("copying {}", from.display()))?;
            restrict(&partial)?;
            let store = Store::open(&DatabaseConfig::Sqlite(partial.clone()))
                .await
                .context("opening the restored database")?;
            let summary = check_restored(&store, Some(storage)).await;
            store.close().await;
            let summary = summary.context("the restored database does not check out")?;
            std::fs::File::open(&partial)?.sync_all()?;
            std::fs::rename(&partial, &db)?;
            sync_parent(&db)?;
            summary
        }
        DatabaseConfig::Postgres(url) => {
            let (bare, password) = split_password(&url)?;
            let mut cmd = tokio::process::Command::new("pg_restore");
            // One transaction and stop at the first error: a restore into a
            // database that is not empty fails whole instead of merging.
            cmd.args([
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
            ])
            .arg(&bare)
            .arg(from);
            run_pg_tool(cmd, password.as_deref(), "pg_restore").await?;
            let store = Store::open(&DatabaseConfig::Postgres(url))
                .await
                .context("connecting to the restored database")?;
            let summary = check_restored(&store, Some(storage)).await;
            store.close().await;
            summary.context("the restored database does not check out")?
        }
    };
    println!(
        "restored log size {}, root {}; latest checkpoint: size {}",
        summary.size, summary.root, summary.checkpoint_size
    );
    if !summary.signature_checked {
        println!(
            "The log key is not in {} (nor in VECHE_LOG_KEY): put the backed-up secrets there before `veche serve`.",
            storage.data_dir.display()
        );
    }
    Ok(())
}

/// What a checked backup or restore holds.
struct Restored {
    size: u64,
    /// Hex of the root hash.
    root: String,
    checkpoint_size: u64,
    signature_checked: bool,
}

/// Checks a database before anything serves from it: SQLite's integrity,
/// the stored root against the stored tiles, the latest checkpoint's root
/// against the tree at its size and, when the data directory of `storage`
/// holds the log key, the checkpoint's signature under it.
async fn check_restored(store: &Store, storage: Option<&StorageArgs>) -> Result<Restored> {
    store.integrity_check().await?;
    let writer = veche_store::sequencer::load_writer(store).await?;
    let cp = store.latest_checkpoint().await?;
    let mut signature_checked = false;
    if let Some(cp) = &cp {
        if cp.size > writer.size() {
            bail!(
                "the latest checkpoint (size {}) is beyond the tree (size {})",
                cp.size,
                writer.size()
            );
        }
        let root = veche_store::publish::root_at(store, cp.size).await?;
        if root != cp.root {
            bail!("the latest checkpoint's root differs from the tree's at its size");
        }
        if let Some(storage) = storage
            && let Some(signer) = existing_log_key(storage, store).await?
        {
            let parsed = veche_log::checkpoint::verify_checkpoint(cp.note.as_bytes(), &signer)
                .map_err(|e| {
                    anyhow::anyhow!("the latest checkpoint does not verify under the log key: {e}")
                })?;
            if parsed.size != cp.size || parsed.root != cp.root {
                bail!("the latest checkpoint's note does not match its stored size and root");
            }
            signature_checked = true;
        }
    }
    Ok(Restored {
        size: writer.size(),
        root: writer.root().to_hex(),
        checkpoint_size: cp.map_or(0, |c| c.size),
        signature_checked,
    })
}

/// The verifier key of the log key already in place (never creating one).
async fn existing_log_key(storage: &StorageArgs, store: &Store) -> Result<Option<String>> {
    if std::env::var_os("VECHE_LOG_KEY").is_none() && !storage.data_dir.join("log.key").exists() {
        return Ok(None);
    }
    let Some(origin) = store.meta("origin").await? else {
        return Ok(None);
    };
    let signer = crate::config::load_or_create_key(&storage.data_dir, &origin)?;
    Ok(Some(signer.vkey()))
}

/// Runs a PostgreSQL client tool, the password (if any) in its environment
/// rather than on its command line, where `ps` would show it.
async fn run_pg_tool(
    mut cmd: tokio::process::Command,
    password: Option<&str>,
    name: &str,
) -> Result<()> {
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    let status = cmd.status().await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!("{name} is not installed (Debian: apt-get install postgresql-client)")
        } else {
            anyhow::anyhow!("running {name}: {e}")
        }
    })?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}

/// Splits the password out of a PostgreSQL URL: (URL without it, the
/// decoded password).
fn split_password(url: &str) -> Result<(String, Option<String>)> {
    let mut parsed = url::Url::parse(url).context("the database URL is not a URL")?;
    let Some(encoded) = parsed.password() else {
        return Ok((url.to_owned(), None));
    };
    let password = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .context("the database password is not UTF-8")?
        .into_owned();
    parsed
        .set_password(None)
        .map_err(|()| anyhow::anyhow!("the database URL cannot carry a password"))?;
    Ok((parsed.into(), Some(password)))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Backups hold everything the database holds: owner-only.
fn restrict(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restricting {}", path.display()))
}

/// Makes a rename durable.
fn sync_parent(path: &Path) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_the_url() {
        let (url, pw) = split_password("postgres://u:p%40ss@db.example:5432/veche").unwrap();
        assert_eq!(url, "postgres://u@db.example:5432/veche");
        assert_eq!(pw.as_deref(), Some("p@ss"));
        let (url, pw) = split_password("postgres://postgres@127.0.0.1:5432/test").unwrap();
        assert_eq!(url, "postgres://postgres@127.0.0.1:5432/test");
        assert_eq!(pw, None);
        assert!(split_password("not a url").is_err());
    }
}
