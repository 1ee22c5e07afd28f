//! The JSON form of an [`Entry`], for the API:
//!
//! ```json
//! {"kind":"jurisdiction","timestamp_ms":1795442400000,
//!  "timestamp":"2026-11-23T14:00:00.000Z","id":"kaliningrad-oblast",...}
//! ```
//!
//! `kind` is the kind's name, `timestamp_ms` is authoritative, `timestamp`
//! is its RFC 3339 rendering (always written; optional on input, and if
//! given must match `timestamp_ms` exactly), then the kind's fields under
//! their own names (dates as `YYYY-MM-DD`). Unknown fields are rejected, and
//! a deserialised entry must pass the same checks as [`Entry::encode`].

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Entry;
use crate::payload::{Payload, PayloadFields};
use crate::time::format_timestamp_ms;

#[derive(Serialize)]
struct EntryOut<'a> {
    kind: &'static str,
    timestamp_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<String>,
    #[serde(flatten)]
    fields: PayloadFields<'a>,
}

impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        EntryOut {
            kind: self.kind_name(),
            timestamp_ms: self.timestamp_ms,
            timestamp: format_timestamp_ms(self.timestamp_ms),
            fields: PayloadFields(&self.payload),
        }
        .serialize(s)
    }
}

#[derive(Deserialize)]
struct EntryIn {
    timestamp_ms: u64,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(flatten)]
    payload: Payload,
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = EntryIn::deserialize(d)?;
        if let Some(given) = raw.timestamp {
            let expected = format_timestamp_ms(raw.timestamp_ms);
            if expected.as_deref() != Some(given.as_str()) {
                return Err(D::Error::custom(format!(
                    "timestamp {given:?} does not match timestamp_ms {} ({})",
                    raw.timestamp_ms,
                    expected.as_deref().unwrap_or("out of range"),
                )));
            }
        }
        let entry = Entry {
            timestamp_ms: raw.timestamp_ms,
            payload: raw.payload,
        };
        entry.encode().map_err(D::Error::custom)?;
        Ok(entry)
    }
}
