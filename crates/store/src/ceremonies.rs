//! Passkey ceremonies in flight, kept in memory.
//!
//! A ceremony lives from the options request to the finishing request (at
//! most [`veche_passkey::CEREMONY_TIMEOUT_MS`]-ish, two minutes) and is taken
//! exactly once. Keeping them in the process instead of the database saves
//! two committed writes (insert, delete) per passkey use, which on the
//! signing path cost more than the signature itself. The price: they do not
//! survive a restart (the person starts the ceremony again) and are not
//! shared between server nodes — once several nodes serve one log (issue
//! #7), the finishing request must reach the node that started it, or this
//! map must move to shared storage (see `specs/architecture.md`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::identity::Ceremony;

/// Ceremonies in flight: bounded, expiring, each taken at most once.
/// Cheap to clone (one shared map).
#[derive(Clone, Debug)]
pub struct Ceremonies {
    map: Arc<Mutex<HashMap<String, Ceremony>>>,
    capacity: usize,
}

/// The map is full of ceremonies that have not expired.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0} passkey ceremonies are in flight, the most this server keeps")]
pub struct CeremoniesFull(pub usize);

impl Ceremonies {
    /// Room for `capacity` ceremonies in flight at once.
    pub fn new(capacity: usize) -> Self {
        Self {
            map: Arc::new(Mutex::new(HashMap::new())),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Ceremony>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps a new ceremony under `id` (a fresh random token). When the map
    /// is full, expired ceremonies are dropped first; if it is still full,
    /// the ceremony is refused rather than evicting one in flight.
    pub fn put(&self, id: String, ceremony: Ceremony, now_ms: u64) -> Result<(), CeremoniesFull> {
        let mut map = self.lock();
        if map.len() >= self.capacity {
            map.retain(|_, c| c.expires_ms > now_ms);
            if map.len() >= self.capacity {
                return Err(CeremoniesFull(self.capacity));
            }
        }
        map.insert(id, ceremony);
        Ok(())
    }

    /// Removes and returns a ceremony: a second take of the same id (a
    /// replayed or raced finish) finds nothing. Expiry is the caller's to
    /// judge, so it can tell "expired" from "unknown".
    pub fn take(&self, id: &str) -> Option<Ceremony> {
        self.lock().remove(id)
    }

    /// Forgets ceremonies that expired before `now_ms`.
    pub fn purge_expired(&self, now_ms: u64) {
        self.lock().retain(|_, c| c.expires_ms >= now_ms);
    }

    /// Ceremonies held now (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ceremony(expires_ms: u64) -> Ceremony {
        Ceremony {
            kind: "sign-petition".into(),
            state: vec![1, 2, 3],
            context: "{}".into(),
            expires_ms,
        }
    }

    #[test]
    fn a_ceremony_is_taken_once() {
        let c = Ceremonies::new(10);
        c.put("a".into(), ceremony(100), 0).unwrap();
        assert_eq!(c.take("a").map(|c| c.state), Some(vec![1, 2, 3]));
        assert!(c.take("a").is_none(), "a second take finds nothing");
        assert!(c.take("b").is_none());
    }

    #[test]
    fn full_map_drops_expired_ceremonies_then_refuses() {
        let c = Ceremonies::new(2);
        c.put("old".into(), ceremony(50), 0).unwrap();
        c.put("live".into(), ceremony(500), 0).unwrap();
        // At 100 the first has expired: it makes room.
        c.put("new".into(), ceremony(600), 100).unwrap();
        assert!(c.take("old").is_none());
        assert_eq!(c.len(), 2);
        // Both held ones are live: refused, nothing evicted.
        assert_eq!(
            c.put("more".into(), ceremony(700), 100),
            Err(CeremoniesFull(2))
        );
        assert!(c.take("live").is_some());
        assert!(c.take("new").is_some());
    }

    #[test]
    fn purge_forgets_only_expired() {
        let c = Ceremonies::new(10);
        c.put("a".into(), ceremony(10), 0).unwrap();
        c.put("b".into(), ceremony(30), 0).unwrap();
        c.purge_expired(20);
        assert!(c.take("a").is_none());
        assert!(c.take("b").is_some());
        assert!(c.is_empty());
    }
}
