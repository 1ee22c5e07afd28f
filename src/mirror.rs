//! `veche log export DIR [--follow]`: a static C2SP tlog-tiles mirror
//! (`checkpoint`, `tile/…`) that any plain web server or CDN can serve.
//!
//! It reads the store directly, not a node over HTTP: it needs no running
//! node and no HTTP client, works on both backends (SQLite in WAL mode lets
//! it read while the server writes) and reads each tile once. Each file is
//! written atomically (temporary file, rename) and the checkpoint last, so
//! the mirror is complete for the checkpoint it shows at every moment.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use veche_store::publish::{ExportStats, export_mirror};

use crate::config::StorageArgs;

/// Exports once, or with `follow` again whenever the latest checkpoint
/// changes, until SIGINT or SIGTERM.
pub async fn export(
    storage: &StorageArgs,
    dir: &Path,
    follow: bool,
    interval: Duration,
) -> Result<()> {
    let store = storage.open_store().await?;
    if !follow {
        let result = export_mirror(&store, dir).await;
        store.close().await;
        report(dir, &result?);
        return Ok(());
    }
    let stop = stop_signal();
    tokio::pin!(stop);
    let mut exported: Option<String> = None;
    loop {
        match store.latest_checkpoint().await {
            Ok(Some(cp)) if exported.as_deref() != Some(cp.note.as_str()) => {
                match export_mirror(&store, dir).await {
                    Ok(stats) => {
                        report(dir, &stats);
                        exported = Some(cp.note);
                    }
                    // Keep following: the database may be back next time.
                    Err(e) => tracing::warn!(error = %e, "mirror export failed; retrying"),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the latest checkpoint; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = &mut stop => break,
        }
    }
    store.close().await;
    Ok(())
}

fn report(dir: &Path, stats: &ExportStats) {
    println!(
        "exported the log at size {} to {}: {} files written ({} bytes), {} kept",
        stats.size,
        dir.display(),
        stats.files_written,
        stats.bytes_written,
        stats.files_kept
    );
}

async fn stop_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}
