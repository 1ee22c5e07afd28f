//! Off-log petition data: texts and attachments (content-addressed; the log
//! holds their BLAKE3 hashes) and the raw passkey assertions behind
//! signatures (the log holds their commitments; the assertions are written
//! by the sequencer in the same transaction as their entries).

use crate::Store;
use crate::db::{StoreError, on_pool};

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A petition's content document, as stored under its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PetitionContent {
    pub hash: [u8; 32],
    pub title: String,
    pub body: String,
    /// BLAKE3 hashes of attachments, in order.
    pub attachments: Vec<[u8; 32]>,
    pub created_ms: u64,
}

/// A stored attachment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub hash: [u8; 32],
    pub media_type: String,
    pub data: Vec<u8>,
}

/// The raw assertion behind one signature entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureEvidence {
    pub commitment: [u8; 32],
    pub petition: u64,
    pub nonce: [u8; 32],
    pub credential_id: Vec<u8>,
    /// `veche_passkey::AssertionEvidence::encode()`.
    pub evidence: Vec<u8>,
    /// When the signature was made.
    pub created_ms: u64,
}

fn hash32(v: Vec<u8>) -> Result<[u8; 32], StoreError> {
    v.try_into()
        .map_err(|_| StoreError::Corrupt("stored hash is not 32 bytes".into()))
}

fn attachments_text(list: &[[u8; 32]]) -> String {
    list.iter().map(hex32).collect::<Vec<_>>().join(",")
}

fn hex32(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_attachments(s: &str) -> Result<Vec<[u8; 32]>, StoreError> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let bytes = (0..p.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(p.get(i..i + 2).unwrap_or("zz"), 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| StoreError::Corrupt(format!("attachment hash {p:?}")))?;
            hash32(bytes)
        })
        .collect()
}

impl Store {
    /// Stores a content document (idempotent: the hash names the content).
    pub async fn put_petition_content(&self, c: &PetitionContent) -> Result<(), StoreError> {
        let q = "INSERT INTO petition_contents (hash, title, body, attachments, created_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hash) DO NOTHING";
        on_pool!(self, p => {
            sqlx::query(q)
                .bind(c.hash.as_slice())
                .bind(&c.title)
                .bind(&c.body)
                .bind(attachments_text(&c.attachments))
                .bind(i64_of(c.created_ms))
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// The content document with this hash.
    pub async fn petition_content(
        &self,
        hash: &[u8; 32],
    ) -> Result<Option<PetitionContent>, StoreError> {
        let q =
            "SELECT title, body, attachments, created_ms FROM petition_contents WHERE hash = $1";
        let row: Option<(String, String, String, i64)> =
            on_pool!(self, p => sqlx::query_as(q).bind(hash.as_slice()).fetch_optional(p).await?);
        row.map(|(title, body, att, created)| {
            Ok(PetitionContent {
                hash: *hash,
                title,
                body,
                attachments: parse_attachments(&att)?,
                created_ms: u64_of(created),
            })
        })
        .transpose()
    }

    /// Stores an attachment (idempotent).
    pub async fn put_attachment(&self, a: &Attachment, now_ms: u64) -> Result<(), StoreError> {
        let q = "INSERT INTO attachments (hash, media_type, data, created_ms) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING";
        on_pool!(self, p => {
            sqlx::query(q)
                .bind(a.hash.as_slice())
                .bind(&a.media_type)
                .bind(a.data.as_slice())
                .bind(i64_of(now_ms))
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// The attachment with this hash.
    pub async fn attachment(&self, hash: &[u8; 32]) -> Result<Option<Attachment>, StoreError> {
        let q = "SELECT media_type, data FROM attachments WHERE hash = $1";
        let row: Option<(String, Vec<u8>)> =
            on_pool!(self, p => sqlx::query_as(q).bind(hash.as_slice()).fetch_optional(p).await?);
        Ok(row.map(|(media_type, data)| Attachment {
            hash: *hash,
            media_type,
            data,
        }))
    }

    /// Whether every hash names a stored attachment; returns the first
    /// missing one.
    pub async fn missing_attachment(
        &self,
        hashes: &[[u8; 32]],
    ) -> Result<Option<[u8; 32]>, StoreError> {
        for h in hashes {
            let q = "SELECT 1 FROM attachments WHERE hash = $1";
            let row: Option<(i32,)> =
                on_pool!(self, p => sqlx::query_as(q).bind(h.as_slice()).fetch_optional(p).await?);
            if row.is_none() {
                return Ok(Some(*h));
            }
        }
        Ok(None)
    }

    /// Every stored assertion. Each was written in the batch that appended
    /// its signature entry (`Batch::evidence`), so each belongs to an entry.
    pub async fn signature_evidence(&self) -> Result<Vec<SignatureEvidence>, StoreError> {
        let q = "SELECT commitment, petition, nonce, credential_id, evidence, created_ms FROM signature_evidence ORDER BY petition, created_ms";
        type Row = (Vec<u8>, i64, Vec<u8>, Vec<u8>, Vec<u8>, i64);
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(q).fetch_all(p).await?);
        rows.into_iter()
            .map(|(c, petition, nonce, credential_id, evidence, created)| {
                Ok(SignatureEvidence {
                    commitment: hash32(c)?,
                    petition: u64_of(petition),
                    nonce: hash32(nonce)?,
                    credential_id,
                    evidence,
                    created_ms: u64_of(created),
                })
            })
            .collect()
    }
}
