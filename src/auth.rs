//! The operator token: a bearer secret for the registry operations that
//! exist before staff passkeys do (declaring jurisdictions over the API).
//!
//! Supplied by `VECHE_OPERATOR_TOKEN`, or created on first start in
//! `<data-dir>/operator.token` (mode 0600). Only its BLAKE3 hash is kept in
//! memory, and comparison is of hashes in constant time.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};

use crate::problem::Problem;

#[derive(Clone)]
pub struct OperatorToken(blake3::Hash);

impl OperatorToken {
    pub fn load_or_create(data_dir: &Path) -> Result<Self> {
        if let Ok(t) = std::env::var("VECHE_OPERATOR_TOKEN") {
            return Self::from_secret(t.trim());
        }
        let path = data_dir.join("operator.token");
        if path.exists() {
            let t =
                fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            return Self::from_secret(t.trim());
        }
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let secret = URL_SAFE_NO_PAD.encode(bytes);
        crate::config::write_secret_file(&path, &secret)?;
        Self::from_secret(&secret)
    }

    fn from_secret(secret: &str) -> Result<Self> {
        if secret.len() < 16 {
            bail!("the operator token must be at least 16 characters");
        }
        Ok(Self(blake3::hash(secret.as_bytes())))
    }

    /// Checks `Authorization: Bearer <token>`.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Problem> {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                Problem::unauthorized("Send the operator token as `Authorization: Bearer <token>`.")
            })?;
        // blake3::Hash compares in constant time.
        if blake3::hash(given.trim().as_bytes()) == self.0 {
            Ok(())
        } else {
            Err(Problem::unauthorized("The operator token is not valid."))
        }
    }
}
