//! Webhook endpoints of legislatures and the bookkeeping of deliveries
//! (`specs/webhook.md`).
//!
//! The outbox is the log: a petition is owed a delivery while the log holds
//! its `threshold_reached` and no `petition_delivered`. What is kept here is
//! where each jurisdiction's legislature wants deliveries, and per petition
//! how many attempts were made, when the next one is due and why the last
//! one failed. A delivery is *claimed* before it is attempted by moving its
//! `next_attempt_ms` past a lease in one conditional statement, so two
//! server processes on one database never attempt the same petition at the
//! same time, and a process that dies mid-attempt leaves the petition to be
//! retried once the lease runs out.

use crate::db::{Store, StoreError, on_pool};

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i32_of(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Where a jurisdiction's legislature receives deliveries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub jurisdiction: String,
    pub url: String,
    pub updated_ms: u64,
}

/// The attempts made to deliver one petition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub petition: u64,
    /// Attempts finished so far (acknowledged or failed).
    pub attempts: u32,
    /// When the next attempt may start (or when the current claim lapses).
    pub next_attempt_ms: u64,
    /// The HTTP status of the last attempt, if one was received.
    pub last_status: Option<u16>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    pub updated_ms: u64,
}

type DeliveryTuple = (i64, i32, i64, Option<i32>, Option<String>, i64);

fn delivery_of(t: DeliveryTuple) -> WebhookDelivery {
    WebhookDelivery {
        petition: u64_of(t.0),
        attempts: u32::try_from(t.1).unwrap_or(0),
        next_attempt_ms: u64_of(t.2),
        last_status: t.3.and_then(|s| u16::try_from(s).ok()),
        last_error: t.4,
        updated_ms: u64_of(t.5),
    }
}

const DELIVERY_COLUMNS: &str =
    "petition, attempts, next_attempt_ms, last_status, last_error, updated_ms";

impl Store {
    /// Sets (or replaces) a jurisdiction's endpoint.
    pub async fn put_webhook_endpoint(
        &self,
        jurisdiction: &str,
        url: &str,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let q = "INSERT INTO webhook_endpoints (jurisdiction, url, updated_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (jurisdiction) DO UPDATE SET url = excluded.url, updated_ms = excluded.updated_ms";
        on_pool!(self, p => {
            sqlx::query(q)
                .bind(jurisdiction)
                .bind(url)
                .bind(i64_of(now_ms))
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// Removes a jurisdiction's endpoint; false if it had none.
    pub async fn delete_webhook_endpoint(&self, jurisdiction: &str) -> Result<bool, StoreError> {
        let q = "DELETE FROM webhook_endpoints WHERE jurisdiction = $1";
        let n = on_pool!(self, p => sqlx::query(q).bind(jurisdiction).execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// A jurisdiction's endpoint.
    pub async fn webhook_endpoint(
        &self,
        jurisdiction: &str,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let q =
            "SELECT jurisdiction, url, updated_ms FROM webhook_endpoints WHERE jurisdiction = $1";
        let row: Option<(String, String, i64)> =
            on_pool!(self, p => sqlx::query_as(q).bind(jurisdiction).fetch_optional(p).await?);
        Ok(row.map(|(jurisdiction, url, updated)| WebhookEndpoint {
            jurisdiction,
            url,
            updated_ms: u64_of(updated),
        }))
    }

    /// Every endpoint, by jurisdiction.
    pub async fn webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let q = "SELECT jurisdiction, url, updated_ms FROM webhook_endpoints ORDER BY jurisdiction";
        let rows: Vec<(String, String, i64)> =
            on_pool!(self, p => sqlx::query_as(q).fetch_all(p).await?);
        Ok(rows
            .into_iter()
            .map(|(jurisdiction, url, updated)| WebhookEndpoint {
                jurisdiction,
                url,
                updated_ms: u64_of(updated),
            })
            .collect())
    }

    /// The attempts made for one petition.
    pub async fn webhook_delivery(
        &self,
        petition: u64,
    ) -> Result<Option<WebhookDelivery>, StoreError> {
        let q = sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE petition = $1"
        ));
        let row: Option<DeliveryTuple> =
            on_pool!(self, p => sqlx::query_as(q).bind(i64_of(petition)).fetch_optional(p).await?);
        Ok(row.map(delivery_of))
    }

    /// Petitions whose next attempt is not due at `now_ms` (backing off
    /// after a failure, or claimed by an attempt in progress).
    pub async fn webhook_deliveries_waiting(&self, now_ms: u64) -> Result<Vec<u64>, StoreError> {
        let q = "SELECT petition FROM webhook_deliveries WHERE next_attempt_ms > $1";
        let rows: Vec<(i64,)> =
            on_pool!(self, p => sqlx::query_as(q).bind(i64_of(now_ms)).fetch_all(p).await?);
        Ok(rows.into_iter().map(|r| u64_of(r.0)).collect())
    }

    /// Claims the next attempt for `petition` if it is due at `now_ms`: its
    /// `next_attempt_ms` becomes `lease_until_ms`, in one conditional
    /// statement, so exactly one claimant wins. Returns the attempts made
    /// before, or `None` if the attempt is not due (or someone else holds it).
    pub async fn claim_webhook_delivery(
        &self,
        petition: u64,
        now_ms: u64,
        lease_until_ms: u64,
    ) -> Result<Option<u32>, StoreError> {
        let q = "INSERT INTO webhook_deliveries (petition, attempts, next_attempt_ms, updated_ms) \
                 VALUES ($1, 0, $3, $2) \
                 ON CONFLICT (petition) DO UPDATE SET next_attempt_ms = excluded.next_attempt_ms, \
                 updated_ms = excluded.updated_ms \
                 WHERE webhook_deliveries.next_attempt_ms <= $2 \
                 RETURNING attempts";
        let row: Option<(i32,)> = on_pool!(self, p => {
            sqlx::query_as(q)
                .bind(i64_of(petition))
                .bind(i64_of(now_ms))
                .bind(i64_of(lease_until_ms))
                .fetch_optional(p)
                .await?
        });
        Ok(row.map(|r| u32::try_from(r.0).unwrap_or(0)))
    }

    /// Records the outcome of an attempt: the attempts made so far, when the
    /// next may start, and the last status and error.
    pub async fn record_webhook_attempt(
        &self,
        petition: u64,
        attempts: u32,
        next_attempt_ms: u64,
        last_status: Option<u16>,
        last_error: Option<&str>,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let q = "INSERT INTO webhook_deliveries \
                 (petition, attempts, next_attempt_ms, last_status, last_error, updated_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (petition) DO UPDATE SET attempts = excluded.attempts, \
                 next_attempt_ms = excluded.next_attempt_ms, last_status = excluded.last_status, \
                 last_error = excluded.last_error, updated_ms = excluded.updated_ms";
        on_pool!(self, p => {
            sqlx::query(q)
                .bind(i64_of(petition))
                .bind(i32_of(attempts))
                .bind(i64_of(next_attempt_ms))
                .bind(last_status.map(i32::from))
                .bind(last_error)
                .bind(i64_of(now_ms))
                .execute(p)
                .await?;
        });
        Ok(())
    }
}
