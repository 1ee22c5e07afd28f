//! Witness cosigning (C2SP tlog-witness): this module owns the server's
//! side of it. One task per configured witness submits every new signed
//! checkpoint with `POST <url>/add-checkpoint`, carrying the consistency
//! proof (computed from the stored tiles) from the size the witness last
//! cosigned, and keeps the witness's `cosignature/v1` line. `/log/checkpoint`
//! appends the lines gathered over exactly the checkpoint it serves.
//!
//! A witness that is down or slow delays nothing but its own cosignature:
//! submissions run on their own tasks with a timeout and back-off, and
//! serving a checkpoint never waits for them. See `specs/witness.md`.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use veche_log::Hash;
use veche_log::cosignature::{AddCheckpoint, Cosignature, WitnessVerifier, note_body};
use veche_store::publish;
use veche_store::{LogHandle, Store};

/// Whole-request timeout of one submission.
const TIMEOUT: Duration = Duration::from_secs(10);
/// First and longest wait after a failed submission.
const MIN_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Largest witness response read (a few signature lines).
const MAX_RESPONSE: u64 = 64 * 1024;

/// A witness from `--witness name=…,vkey=…,url=…`.
#[derive(Clone, Debug)]
pub struct WitnessSpec {
    /// The witness's name (the name in its key).
    pub name: String,
    /// Its cosigner verifier key (type 0x04).
    pub vkey: String,
    /// Its submission prefix; requests go to `<url>/add-checkpoint`.
    pub url: String,
}

/// Parses `name=NAME,vkey=VKEY,url=URL` (any order).
pub fn parse_witness(text: &str) -> Result<WitnessSpec, String> {
    let (mut name, mut vkey, mut url) = (None, None, None);
    for part in text.trim().split(',') {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("`{part}`: expected key=value (name=…,vkey=…,url=…)"))?;
        let slot = match k.trim() {
            "name" => &mut name,
            "vkey" => &mut vkey,
            "url" => &mut url,
            other => {
                return Err(format!(
                    "unknown witness field `{other}` (use name, vkey, url)"
                ));
            }
        };
        if slot.replace(v.trim().to_string()).is_some() {
            return Err(format!("witness field `{k}` given twice"));
        }
    }
    let (Some(name), Some(vkey), Some(url)) = (name, vkey, url) else {
        return Err("a witness needs name=…,vkey=…,url=…".into());
    };
    let verifier = WitnessVerifier::new(&vkey).map_err(|e| format!("witness vkey: {e}"))?;
    if verifier.name() != name {
        return Err(format!(
            "witness name `{name}` differs from the name in its vkey (`{}`)",
            verifier.name()
        ));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "witness url `{url}` must start with http:// or https://"
        ));
    }
    Ok(WitnessSpec {
        name,
        vkey,
        url: url.trim_end_matches('/').to_string(),
    })
}

/// The cosignature each witness last gave: the checkpoint body it covers
/// and its signature line. Cheap to clone.
#[derive(Clone, Default)]
pub struct Cosignatures {
    slots: Arc<RwLock<Vec<Option<Cosigned>>>>,
}

/// A checkpoint body and one witness's cosignature line over it.
type Cosigned = (String, String);

impl Cosignatures {
    /// `note` with the gathered cosignature lines over exactly its body
    /// appended (signed-note verifiers ignore lines by keys they do not
    /// know, so this stays a valid checkpoint for everyone).
    pub fn attach(&self, note: &str) -> String {
        let Some(body) = note_body(note) else {
            return note.to_string();
        };
        let slots = self.slots.read().unwrap_or_else(|p| p.into_inner());
        let mut out = note.to_string();
        for (cosigned, line) in slots.iter().flatten() {
            if cosigned == body {
                out.push_str(line);
            }
        }
        out
    }

    fn set(&self, slot: usize, body: String, line: String) {
        let mut slots = self.slots.write().unwrap_or_else(|p| p.into_inner());
        slots[slot] = Some((body, line));
    }
}

/// Starts one submission task per witness; returns where their
/// cosignatures gather.
pub fn spawn(store: Store, log: LogHandle, witnesses: &[WitnessSpec]) -> Cosignatures {
    let cosignatures = Cosignatures {
        slots: Arc::new(RwLock::new(vec![None; witnesses.len()])),
    };
    if witnesses.is_empty() {
        return cosignatures;
    }
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .max_redirects(0)
        .user_agent(concat!("veche/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent();
    for (slot, spec) in witnesses.iter().enumerate() {
        let Ok(verifier) = WitnessVerifier::new(&spec.vkey) else {
            // parse_witness checked it already.
            continue;
        };
        let witness = Submitter {
            slot,
            spec: spec.clone(),
            verifier,
            agent: agent.clone(),
            store: store.clone(),
            log: log.clone(),
            cosignatures: cosignatures.clone(),
        };
        tokio::spawn(witness.run());
    }
    cosignatures
}

/// Why a submission did not give a cosignature.
#[derive(Debug)]
enum Failure {
    /// 409: the witness holds another size (its body).
    Conflict(Option<u64>),
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Conflict(Some(size)) => write!(f, "HTTP 409: the witness holds size {size}"),
            Failure::Conflict(None) => f.write_str("HTTP 409 without a size"),
            Failure::Other(e) => f.write_str(e),
        }
    }
}

struct Submitter {
    slot: usize,
    spec: WitnessSpec,
    verifier: WitnessVerifier,
    agent: ureq::Agent,
    store: Store,
    log: LogHandle,
    cosignatures: Cosignatures,
}

impl Submitter {
    async fn run(self) {
        // What the witness is believed to hold; a 409 corrects it.
        let mut witness_size = 0u64;
        let mut cosigned: Option<(u64, Hash)> = None;
        let mut backoff = MIN_BACKOFF;
        let mut conflicts = 0;
        // Since when the newest checkpoint has waited for this witness: the
        // cosignature lag the metrics show.
        let mut waiting_since: Option<std::time::Instant> = None;
        loop {
            let cp = self.log.checkpoint();
            if cp.note.is_empty() {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            if cosigned == Some((cp.size, cp.root)) {
                if self.log.wait_for_checkpoint(cp.size + 1).await.is_err() {
                    return;
                }
                continue;
            }
            let since = *waiting_since.get_or_insert_with(std::time::Instant::now);
            match self.submit(witness_size, &cp.note, cp.size).await {
                Ok(()) => {
                    tracing::debug!(witness = %self.spec.name, size = cp.size, "cosigned");
                    crate::metrics::witness_lag(&self.spec.name, 0.0);
                    waiting_since = None;
                    cosigned = Some((cp.size, cp.root));
                    witness_size = cp.size;
                    backoff = MIN_BACKOFF;
                    conflicts = 0;
                    continue;
                }
                // Retry at once with the witness's size, but only once in a
                // row: a second conflict (a fork, or a witness ahead of this
                // log) waits like any failure.
                Err(Failure::Conflict(Some(size))) if size <= cp.size && conflicts == 0 => {
                    witness_size = size;
                    conflicts += 1;
                    continue;
                }
                Err(e) => {
                    crate::metrics::witness_lag(&self.spec.name, since.elapsed().as_secs_f64());
                    if let Failure::Conflict(Some(size)) = e {
                        witness_size = size;
                    }
                    tracing::warn!(
                        witness = %self.spec.name,
                        size = cp.size,
                        error = %e,
                        retry_in_s = backoff.as_secs(),
                        "the witness did not cosign the checkpoint"
                    );
                }
            }
            conflicts = 0;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One `add-checkpoint` request; stores the cosignature it returns.
    async fn submit(&self, old: u64, note: &str, size: u64) -> Result<(), Failure> {
        let proof = publish::consistency_proof(&self.store, old, size)
            .await
            .map_err(|e| Failure::Other(format!("no consistency proof {old} → {size}: {e}")))?;
        let body = AddCheckpoint {
            old_size: old,
            proof,
            note: note.to_string(),
        }
        .to_body();
        let agent = self.agent.clone();
        let url = format!("{}/add-checkpoint", self.spec.url);
        let (status, text) = tokio::task::spawn_blocking(move || post(&agent, &url, body))
            .await
            .map_err(|e| Failure::Other(format!("the request panicked: {e}")))?
            .map_err(Failure::Other)?;
        match status {
            200 => {}
            409 => return Err(Failure::Conflict(text.trim().parse().ok())),
            s => {
                let first = text.lines().next().unwrap_or_default();
                return Err(Failure::Other(format!("HTTP {s}: {first}")));
            }
        }
        let checkpoint_body = note_body(note)
            .ok_or_else(|| Failure::Other("the checkpoint note has no body".into()))?;
        let line = text
            .lines()
            .filter_map(Cosignature::parse_line)
            .find(|cs| self.verifier.verify(checkpoint_body.as_bytes(), cs))
            .ok_or_else(|| {
                Failure::Other("no valid cosignature by the configured key in the answer".into())
            })?;
        self.cosignatures
            .set(self.slot, checkpoint_body.to_string(), line.to_line());
        Ok(())
    }
}

fn post(agent: &ureq::Agent, url: &str, body: String) -> Result<(u16, String), String> {
    let mut response = agent
        .post(url)
        .header("Content-Type", "text/plain; charset=utf-8")
        .send(body)
        .map_err(|e| format!("no answer: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE)
        .read_to_string()
        .map_err(|e| format!("HTTP {status}, unreadable body: {e}"))?;
    Ok((status, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use veche_log::cosignature::WitnessSigner;

    #[test]
    fn witness_specs() {
        let w = WitnessSigner::from_seed("w.example/1", &[4; 32]).unwrap().0;
        let ok = parse_witness(&format!(
            "name=w.example/1,vkey={},url=http://127.0.0.1:9/",
            w.vkey()
        ))
        .unwrap();
        assert_eq!(ok.url, "http://127.0.0.1:9");
        assert_eq!(ok.vkey, w.vkey());
        for bad in [
            format!("name=other,vkey={},url=http://x", w.vkey()),
            format!("name=w.example/1,vkey={},url=ftp://x", w.vkey()),
            format!("name=w.example/1,vkey={}", w.vkey()),
            format!(
                "name=w.example/1,vkey={},url=http://x,url=http://y",
                w.vkey()
            ),
            format!("name=w.example/1,vkey={},url=http://x,colour=red", w.vkey()),
            "name=w.example/1,vkey=nope,url=http://x".to_string(),
        ] {
            assert!(parse_witness(&bad).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn only_lines_over_the_served_body_are_attached() {
        let c = Cosignatures {
            slots: Arc::new(RwLock::new(vec![None, None])),
        };
        let note = "o\n1\nAAAA\n\n— o sig\n";
        c.set(0, "o\n1\nAAAA\n".into(), "— w1 x\n".into());
        c.set(1, "o\n0\nBBBB\n".into(), "— w2 y\n".into());
        assert_eq!(c.attach(note), "o\n1\nAAAA\n\n— o sig\n— w1 x\n");
    }
}
