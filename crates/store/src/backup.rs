//! Online backups of the embedded SQLite database, and the checks a restored
//! database passes before a node starts on it. (PostgreSQL is backed up
//! with its own tools, `pg_dump`/`pg_restore`: see specs/operations.md.)

use std::path::Path;

use crate::db::{Backend, Store, StoreError};

impl Store {
    /// Writes a consistent copy of the SQLite database to `path`, which must
    /// not exist. `VACUUM INTO` reads in one transaction, so the copy is a
    /// snapshot of committed batches even while the sequencer writes; it is
    /// not fsynced here (the caller syncs and renames it into place).
    pub async fn sqlite_backup_into(&self, path: &Path) -> Result<(), StoreError> {
        let Backend::Sqlite(pool) = &self.backend else {
            return Err(StoreError::Invalid(
                "an online backup by VACUUM INTO is for SQLite; back PostgreSQL up with pg_dump"
                    .into(),
            ));
        };
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Invalid(format!("{} is not UTF-8", path.display())))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// SQLite's `PRAGMA integrity_check` (b-trees, indexes, constraints);
    /// a no-op on PostgreSQL, whose restore tool checks what it loads.
    pub async fn integrity_check(&self) -> Result<(), StoreError> {
        let Backend::Sqlite(pool) = &self.backend else {
            return Ok(());
        };
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(pool)
            .await?;
        match rows.as_slice() {
            [(ok,)] if ok == "ok" => Ok(()),
            _ => Err(StoreError::Corrupt(format!(
                "SQLite integrity check failed: {}",
                rows.iter()
                    .map(|r| r.0.as_str())
                    .take(5)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{DatabaseConfig, Store};

    #[tokio::test]
    async fn a_backup_is_a_working_copy_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&DatabaseConfig::Sqlite(dir.path().join("a.db")))
            .await
            .unwrap();
        store
            .meta_set_if_absent("origin", "backup.test")
            .await
            .unwrap();
        let copy = dir.path().join("copy.db");
        store.sqlite_backup_into(&copy).await.unwrap();
        assert!(store.sqlite_backup_into(&copy).await.is_err());
        let restored = Store::open(&DatabaseConfig::Sqlite(copy)).await.unwrap();
        restored.integrity_check().await.unwrap();
        assert_eq!(
            restored.meta("origin").await.unwrap().as_deref(),
            Some("backup.test")
        );
    }
}
