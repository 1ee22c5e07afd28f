//! Eligibility, accounts, passkeys, ceremonies and sessions.
//!
//! Nothing here holds personal data in the clear: roll records carry only a
//! document key (Argon2id with the server's pepper), enrolment codes and
//! staff invites only Argon2id hashes of their secrets, sessions only the
//! BLAKE3 hash of the cookie's secret.

use crate::db::{Store, StoreError, in_tx, on_pool};

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// One roll record as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollRecordRow {
    pub record_id: String,
    pub document_key: Vec<u8>,
    pub district: Option<String>,
    pub version: u32,
    pub retired: bool,
    pub claimed_by: Option<Vec<u8>>,
}

/// A change to one record when a roll version is applied.
#[derive(Clone, Debug)]
pub struct RecordUpsert {
    pub record_id: String,
    pub document_key: [u8; 32],
    pub district: Option<String>,
}

#[derive(Clone, Debug)]
pub struct EnrolmentCodeRow {
    pub id: String,
    pub jurisdiction: String,
    pub record_id: String,
    pub secret_hash: String,
    pub expires_ms: u64,
    pub used_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    pub id: Vec<u8>,
    pub kind: String,
    pub jurisdiction: Option<String>,
    pub record_id: Option<String>,
    pub role: Option<String>,
    pub pseudonym: String,
    pub created_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialRow {
    pub id: Vec<u8>,
    pub account_id: Vec<u8>,
    /// The registered credential as JSON (`veche_passkey::RegisteredCredential`).
    pub credential: String,
    pub sign_count: u64,
    pub label: String,
    pub created_ms: u64,
    pub last_used_ms: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct SessionRow {
    pub account_id: Vec<u8>,
    pub csrf_token: String,
    pub expires_ms: u64,
}

/// A use of a passkey that commits with a log batch: the credential's
/// signature counter moves to `sign_count` and `last_used_ms` to `at_ms`.
/// The sequencer refuses the batch's request if the counter would not
/// increase (unless stored and new are both 0, for authenticators without a
/// counter), reading the stored counter under the batch's lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialUse {
    pub credential_id: Vec<u8>,
    pub sign_count: u64,
    pub at_ms: u64,
}

impl CredentialUse {
    /// §7.2 step 24 over stored counts: does `new` follow `stored`?
    pub fn follows(stored: u64, new: u64) -> bool {
        new > stored || (stored == 0 && new == 0)
    }
}

/// A passkey ceremony in flight (see [`crate::ceremonies::Ceremonies`]).
#[derive(Clone, Debug)]
pub struct Ceremony {
    pub kind: String,
    pub state: Vec<u8>,
    pub context: String,
    pub expires_ms: u64,
}

#[derive(Clone, Debug)]
pub struct StaffInviteRow {
    pub id: String,
    pub secret_hash: String,
    pub role: String,
    pub jurisdiction: Option<String>,
    pub expires_ms: u64,
    pub used_ms: Option<u64>,
}

/// Why an enrolment was refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error("this roll record is already claimed")]
    AlreadyClaimed,
    #[error("this roll record is not on the current roll")]
    Retired,
    #[error("this enrolment code was already used or has expired")]
    CodeSpent,
    #[error("this passkey is already registered")]
    DuplicateCredential,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for EnrolError {
    fn from(e: sqlx::Error) -> Self {
        EnrolError::Store(StoreError::Database(e))
    }
}

/// What a successful enrolment did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enrolled {
    /// A new account was created for the record.
    NewAccount,
    /// The record's existing account got the new passkey; its old passkeys
    /// and sessions were revoked (re-enrolment after losing all passkeys).
    Reenrolled { account_id: Vec<u8> },
}

/// The new account and first credential of an enrolment.
pub struct NewEnrolment<'a> {
    pub account_id: &'a [u8],
    pub pseudonym: &'a str,
    pub jurisdiction: &'a str,
    pub record_id: &'a str,
    pub credential_id: &'a [u8],
    pub credential_json: &'a str,
    pub sign_count: u64,
    pub label: &'a str,
    /// The enrolment code used, if enrolment was by code.
    pub code_id: Option<&'a str>,
    pub now_ms: u64,
}

type RecordTuple = (String, Vec<u8>, Option<String>, i32, i32, Option<Vec<u8>>);

fn record_of(t: RecordTuple) -> RollRecordRow {
    RollRecordRow {
        record_id: t.0,
        document_key: t.1,
        district: t.2,
        version: u32::try_from(t.3).unwrap_or(0),
        retired: t.4 != 0,
        claimed_by: t.5,
    }
}

type AccountTuple = (
    Vec<u8>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    i64,
);

fn account_of(t: AccountTuple) -> AccountRow {
    AccountRow {
        id: t.0,
        kind: t.1,
        jurisdiction: t.2,
        record_id: t.3,
        role: t.4,
        pseudonym: t.5,
        created_ms: u64_of(t.6),
    }
}

type CredentialTuple = (Vec<u8>, Vec<u8>, String, i64, String, i64, Option<i64>);

fn credential_of(t: CredentialTuple) -> CredentialRow {
    CredentialRow {
        id: t.0,
        account_id: t.1,
        credential: t.2,
        sign_count: u64_of(t.3),
        label: t.4,
        created_ms: u64_of(t.5),
        last_used_ms: t.6.map(u64_of),
    }
}

type InviteTuple = (String, String, String, Option<String>, i64, Option<i64>);

const RECORD_COLUMNS: &str = "record_id, document_key, district, version, retired, claimed_by";
const ACCOUNT_COLUMNS: &str = "id, kind, jurisdiction, record_id, role, pseudonym, created_ms";
const CREDENTIAL_COLUMNS: &str =
    "id, account_id, credential, sign_count, label, created_ms, last_used_ms";

impl Store {
    // ---- the roll -------------------------------------------------------

    /// Every record of a jurisdiction's roll, retired ones included.
    pub async fn roll_records(&self, jurisdiction: &str) -> Result<Vec<RollRecordRow>, StoreError> {
        let q = sqlx::AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM roll_records WHERE jurisdiction = $1 ORDER BY record_id"
        ));
        let rows: Vec<RecordTuple> =
            on_pool!(self, p => sqlx::query_as(q).bind(jurisdiction).fetch_all(p).await?);
        Ok(rows.into_iter().map(record_of).collect())
    }

    pub async fn roll_record(
        &self,
        jurisdiction: &str,
        record_id: &str,
    ) -> Result<Option<RollRecordRow>, StoreError> {
        let q = sqlx::AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM roll_records WHERE jurisdiction = $1 AND record_id = $2"
        ));
        let row: Option<RecordTuple> = on_pool!(self, p => sqlx::query_as(q).bind(jurisdiction).bind(record_id).fetch_optional(p).await?);
        Ok(row.map(record_of))
    }

    pub async fn roll_record_by_key(
        &self,
        jurisdiction: &str,
        document_key: &[u8; 32],
    ) -> Result<Option<RollRecordRow>, StoreError> {
        let q = sqlx::AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM roll_records WHERE jurisdiction = $1 AND document_key = $2"
        ));
        let row: Option<RecordTuple> = on_pool!(self, p => sqlx::query_as(q).bind(jurisdiction).bind(document_key.as_slice()).fetch_optional(p).await?);
        Ok(row.map(record_of))
    }

    /// The latest roll version of a jurisdiction: (version, active records).
    pub async fn latest_roll_version(
        &self,
        jurisdiction: &str,
    ) -> Result<Option<(u32, u64)>, StoreError> {
        let q = "SELECT version, records FROM roll_versions WHERE jurisdiction = $1 ORDER BY version DESC LIMIT 1";
        let row: Option<(i32, i64)> =
            on_pool!(self, p => sqlx::query_as(q).bind(jurisdiction).fetch_optional(p).await?);
        Ok(row.map(|(v, r)| (u32::try_from(v).unwrap_or(0), u64_of(r))))
    }

    /// Applies a roll version in one transaction: new and changed records
    /// upserted (claims kept), records not on the new roll retired.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply_roll(
        &self,
        jurisdiction: &str,
        version: u32,
        upserts: &[RecordUpsert],
        retire: &[String],
        records: u64,
        commitment: &[u8; 32],
        log_index: u64,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let version = i32::try_from(version).unwrap_or(i32::MAX);
        in_tx!(self, tx => {
            for r in upserts {
                sqlx::query(
                    "INSERT INTO roll_records (jurisdiction, record_id, document_key, district, version, retired) \
                     VALUES ($1, $2, $3, $4, $5, 0) \
                     ON CONFLICT (jurisdiction, record_id) DO UPDATE SET \
                     document_key = excluded.document_key, district = excluded.district, \
                     version = excluded.version, retired = 0",
                )
                .bind(jurisdiction)
                .bind(&r.record_id)
                .bind(r.document_key.as_slice())
                .bind(&r.district)
                .bind(version)
                .execute(&mut *tx)
                .await?;
            }
            for id in retire {
                sqlx::query(
                    "UPDATE roll_records SET retired = 1, version = $3 WHERE jurisdiction = $1 AND record_id = $2",
                )
                .bind(jurisdiction)
                .bind(id)
                .bind(version)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "INSERT INTO roll_versions (jurisdiction, version, records, commitment, log_index, created_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(jurisdiction)
            .bind(version)
            .bind(i64_of(records))
            .bind(commitment.as_slice())
            .bind(i64_of(log_index))
            .bind(i64_of(now_ms))
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    // ---- enrolment codes ------------------------------------------------

    pub async fn insert_enrolment_codes(
        &self,
        codes: &[EnrolmentCodeRow],
        now_ms: u64,
    ) -> Result<(), StoreError> {
        in_tx!(self, tx => {
            for c in codes {
                sqlx::query(
                    "INSERT INTO enrolment_codes (id, jurisdiction, record_id, secret_hash, created_ms, expires_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&c.id)
                .bind(&c.jurisdiction)
                .bind(&c.record_id)
                .bind(&c.secret_hash)
                .bind(i64_of(now_ms))
                .bind(i64_of(c.expires_ms))
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }

    pub async fn enrolment_code(&self, id: &str) -> Result<Option<EnrolmentCodeRow>, StoreError> {
        let q = "SELECT id, jurisdiction, record_id, secret_hash, expires_ms, used_ms FROM enrolment_codes WHERE id = $1";
        let row: Option<(String, String, String, String, i64, Option<i64>)> =
            on_pool!(self, p => sqlx::query_as(q).bind(id).fetch_optional(p).await?);
        Ok(row.map(|r| EnrolmentCodeRow {
            id: r.0,
            jurisdiction: r.1,
            record_id: r.2,
            secret_hash: r.3,
            expires_ms: u64_of(r.4),
            used_ms: r.5.map(u64_of),
        }))
    }

    /// Deletes expired sessions, and ceremonies left in the table by
    /// versions that kept them there (they now live in memory:
    /// [`crate::ceremonies::Ceremonies`]).
    pub async fn purge_expired(&self, now_ms: u64) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("DELETE FROM ceremonies WHERE expires_ms < $1").bind(i64_of(now_ms)).execute(p).await?;
            sqlx::query("DELETE FROM sessions WHERE expires_ms < $1").bind(i64_of(now_ms)).execute(p).await?;
        });
        Ok(())
    }

    // ---- enrolment -------------------------------------------------------

    /// Claims a roll record and registers the first passkey, atomically. A
    /// record is claimed at most once: concurrent attempts race on one
    /// conditional UPDATE and exactly one wins. By enrolment code, a record
    /// already claimed is re-enrolled: its account keeps its identity, gets
    /// the new passkey, and loses its old passkeys and sessions.
    pub async fn enrol(&self, e: &NewEnrolment<'_>) -> Result<Enrolled, EnrolError> {
        let now = i64_of(e.now_ms);
        let outcome = in_tx!(self, tx => {
            if let Some(code) = e.code_id {
                let used = sqlx::query(
                    "UPDATE enrolment_codes SET used_ms = $2 WHERE id = $1 AND used_ms IS NULL AND expires_ms > $2",
                )
                .bind(code)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if used != 1 {
                    return Err(EnrolError::CodeSpent);
                }
            }
            let record: Option<(i32, Option<Vec<u8>>)> = sqlx::query_as(
                "SELECT retired, claimed_by FROM roll_records WHERE jurisdiction = $1 AND record_id = $2",
            )
            .bind(e.jurisdiction)
            .bind(e.record_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((retired, claimed_by)) = record else {
                return Err(EnrolError::Retired);
            };
            if retired != 0 {
                return Err(EnrolError::Retired);
            }
            let account_id: Vec<u8> = match (claimed_by, e.code_id) {
                (Some(_), None) => return Err(EnrolError::AlreadyClaimed),
                (Some(existing), Some(_)) => {
                    sqlx::query("UPDATE credentials SET revoked_ms = $2 WHERE account_id = $1 AND revoked_ms IS NULL")
                        .bind(existing.as_slice())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                        .bind(existing.as_slice())
                        .execute(&mut *tx)
                        .await?;
                    existing
                }
                (None, _) => {
                    let claimed = sqlx::query(
                        "UPDATE roll_records SET claimed_by = $3 \
                         WHERE jurisdiction = $1 AND record_id = $2 AND claimed_by IS NULL AND retired = 0",
                    )
                    .bind(e.jurisdiction)
                    .bind(e.record_id)
                    .bind(e.account_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if claimed != 1 {
                        return Err(EnrolError::AlreadyClaimed);
                    }
                    sqlx::query(
                        "INSERT INTO accounts (id, kind, jurisdiction, record_id, pseudonym, created_ms) \
                         VALUES ($1, 'citizen', $2, $3, $4, $5)",
                    )
                    .bind(e.account_id)
                    .bind(e.jurisdiction)
                    .bind(e.record_id)
                    .bind(e.pseudonym)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    e.account_id.to_vec()
                }
            };
            let inserted = sqlx::query(
                "INSERT INTO credentials (id, account_id, credential, sign_count, label, created_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
            )
            .bind(e.credential_id)
            .bind(account_id.as_slice())
            .bind(e.credential_json)
            .bind(i64_of(e.sign_count))
            .bind(e.label)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted != 1 {
                return Err(EnrolError::DuplicateCredential);
            }
            if account_id == e.account_id {
                Enrolled::NewAccount
            } else {
                Enrolled::Reenrolled { account_id }
            }
        });
        Ok(outcome)
    }

    // ---- accounts and credentials ---------------------------------------

    pub async fn account(&self, id: &[u8]) -> Result<Option<AccountRow>, StoreError> {
        let q = sqlx::AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND disabled_ms IS NULL"
        ));
        let row: Option<AccountTuple> =
            on_pool!(self, p => sqlx::query_as(q).bind(id).fetch_optional(p).await?);
        Ok(row.map(account_of))
    }

    pub async fn staff_accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let q = sqlx::AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE kind = 'staff' ORDER BY created_ms"
        ));
        let rows: Vec<AccountTuple> = on_pool!(self, p => sqlx::query_as(q).fetch_all(p).await?);
        Ok(rows.into_iter().map(account_of).collect())
    }

    /// The account's passkeys that are not revoked.
    pub async fn credentials_of(
        &self,
        account_id: &[u8],
    ) -> Result<Vec<CredentialRow>, StoreError> {
        let q = sqlx::AssertSqlSafe(format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE account_id = $1 AND revoked_ms IS NULL ORDER BY created_ms, id"
        ));
        let rows: Vec<CredentialTuple> =
            on_pool!(self, p => sqlx::query_as(q).bind(account_id).fetch_all(p).await?);
        Ok(rows.into_iter().map(credential_of).collect())
    }

    /// An active (not revoked) credential of an active account.
    pub async fn credential(&self, id: &[u8]) -> Result<Option<CredentialRow>, StoreError> {
        let q = sqlx::AssertSqlSafe(format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = $1 AND revoked_ms IS NULL"
        ));
        let row: Option<CredentialTuple> =
            on_pool!(self, p => sqlx::query_as(q).bind(id).fetch_optional(p).await?);
        Ok(row.map(credential_of))
    }

    /// Adds a passkey to an account; false if that credential id exists.
    pub async fn add_credential(
        &self,
        account_id: &[u8],
        credential_id: &[u8],
        credential_json: &str,
        sign_count: u64,
        label: &str,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let q = "INSERT INTO credentials (id, account_id, credential, sign_count, label, created_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING";
        let n = on_pool!(self, p => sqlx::query(q)
            .bind(credential_id)
            .bind(account_id)
            .bind(credential_json)
            .bind(i64_of(sign_count))
            .bind(label)
            .bind(i64_of(now_ms))
            .execute(p)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Revokes one of the account's passkeys unless it is the last one
    /// (which would lock the citizen out). Returns `Ok(false)` when refused
    /// for being the last, `Err` on storage failure; a credential of another
    /// account is treated as absent (`Ok(None)`).
    pub async fn revoke_credential(
        &self,
        account_id: &[u8],
        credential_id: &[u8],
        now_ms: u64,
    ) -> Result<Option<bool>, StoreError> {
        let out = in_tx!(self, tx => {
            let (active,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM credentials WHERE account_id = $1 AND revoked_ms IS NULL",
            )
            .bind(account_id)
            .fetch_one(&mut *tx)
            .await?;
            let exists: Option<(Vec<u8>,)> = sqlx::query_as(
                "SELECT id FROM credentials WHERE id = $1 AND account_id = $2 AND revoked_ms IS NULL",
            )
            .bind(credential_id)
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await?;
            if exists.is_none() {
                None
            } else if active <= 1 {
                Some(false)
            } else {
                sqlx::query("UPDATE credentials SET revoked_ms = $2 WHERE id = $1")
                    .bind(credential_id)
                    .bind(i64_of(now_ms))
                    .execute(&mut *tx)
                    .await?;
                Some(true)
            }
        });
        Ok(out)
    }

    /// Records a use of a credential. The sign count only moves forward:
    /// the update is conditional, so a replayed assertion racing a fresh one
    /// cannot roll it back. Returns false if the stored count is not below
    /// the new one (and both are not zero).
    pub async fn record_credential_use(
        &self,
        credential_id: &[u8],
        sign_count: u64,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let q = "UPDATE credentials SET sign_count = $2, last_used_ms = $3 \
                 WHERE id = $1 AND revoked_ms IS NULL AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0))";
        let n = on_pool!(self, p => sqlx::query(q)
            .bind(credential_id)
            .bind(i64_of(sign_count))
            .bind(i64_of(now_ms))
            .execute(p)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    // ---- sessions --------------------------------------------------------

    pub async fn create_session(
        &self,
        id_hash: &[u8; 32],
        account_id: &[u8],
        csrf_token: &str,
        now_ms: u64,
        expires_ms: u64,
    ) -> Result<(), StoreError> {
        let q = "INSERT INTO sessions (id_hash, account_id, csrf_token, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5)";
        on_pool!(self, p => {
            sqlx::query(q)
                .bind(id_hash.as_slice())
                .bind(account_id)
                .bind(csrf_token)
                .bind(i64_of(now_ms))
                .bind(i64_of(expires_ms))
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// A session that has not expired.
    pub async fn session(
        &self,
        id_hash: &[u8; 32],
        now_ms: u64,
    ) -> Result<Option<SessionRow>, StoreError> {
        let q = "SELECT account_id, csrf_token, expires_ms FROM sessions WHERE id_hash = $1 AND expires_ms > $2";
        let row: Option<(Vec<u8>, String, i64)> = on_pool!(self, p => sqlx::query_as(q)
            .bind(id_hash.as_slice())
            .bind(i64_of(now_ms))
            .fetch_optional(p)
            .await?);
        Ok(row.map(|r| SessionRow {
            account_id: r.0,
            csrf_token: r.1,
            expires_ms: u64_of(r.2),
        }))
    }

    pub async fn delete_session(&self, id_hash: &[u8; 32]) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash.as_slice()).execute(p).await?;
        });
        Ok(())
    }

    // ---- staff -----------------------------------------------------------

    pub async fn insert_staff_invite(
        &self,
        i: &StaffInviteRow,
        invited_by: Option<&[u8]>,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let q = "INSERT INTO staff_invites (id, secret_hash, role, jurisdiction, invited_by, created_ms, expires_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)";
        on_pool!(self, p => {
            sqlx::query(q)
                .bind(&i.id)
                .bind(&i.secret_hash)
                .bind(&i.role)
                .bind(&i.jurisdiction)
                .bind(invited_by)
                .bind(i64_of(now_ms))
                .bind(i64_of(i.expires_ms))
                .execute(p)
                .await?;
        });
        Ok(())
    }

    pub async fn staff_invite(&self, id: &str) -> Result<Option<StaffInviteRow>, StoreError> {
        let q = "SELECT id, secret_hash, role, jurisdiction, expires_ms, used_ms FROM staff_invites WHERE id = $1";
        let row: Option<InviteTuple> =
            on_pool!(self, p => sqlx::query_as(q).bind(id).fetch_optional(p).await?);
        Ok(row.map(|r| StaffInviteRow {
            id: r.0,
            secret_hash: r.1,
            role: r.2,
            jurisdiction: r.3,
            expires_ms: u64_of(r.4),
            used_ms: r.5.map(u64_of),
        }))
    }

    /// Uses a staff invite (once, before expiry) and creates the staff
    /// account with its first passkey, atomically.
    #[allow(clippy::too_many_arguments)]
    pub async fn accept_staff_invite(
        &self,
        invite_id: &str,
        account_id: &[u8],
        pseudonym: &str,
        credential_id: &[u8],
        credential_json: &str,
        sign_count: u64,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let now = i64_of(now_ms);
        let ok = in_tx!(self, tx => {
            let invite: Option<(String, Option<String>)> = sqlx::query_as(
                "UPDATE staff_invites SET used_ms = $2 WHERE id = $1 AND used_ms IS NULL AND expires_ms > $2 \
                 RETURNING role, jurisdiction",
            )
            .bind(invite_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            match invite {
                None => false,
                Some((role, jurisdiction)) => {
                    sqlx::query(
                        "INSERT INTO accounts (id, kind, jurisdiction, role, pseudonym, created_ms) \
                         VALUES ($1, 'staff', $2, $3, $4, $5)",
                    )
                    .bind(account_id)
                    .bind(&jurisdiction)
                    .bind(&role)
                    .bind(pseudonym)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO credentials (id, account_id, credential, sign_count, label, created_ms) \
                         VALUES ($1, $2, $3, $4, 'passkey 1', $5)",
                    )
                    .bind(credential_id)
                    .bind(account_id)
                    .bind(credential_json)
                    .bind(i64_of(sign_count))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    true
                }
            }
        });
        Ok(ok)
    }
}
