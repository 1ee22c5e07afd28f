//! Prometheus metrics at `GET /metrics` (OpenMetrics text): what the
//! sequencer does (append latency, batch sizes, queue depth, entries by
//! kind), how fresh the log is (sizes, checkpoint age, witness lag), and
//! HTTP responses by route template and status class. The list is in
//! specs/operations.md.
//!
//! One registry per process: the metrics are process-wide facts, and
//! [`witness_lag`] must be callable from anywhere without a handle.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use veche_store::Clock;
use veche_store::sequencer::SequencerObserver;

use crate::problem::Problem;
use crate::server::AppState;

/// The content type of the OpenMetrics text format that Prometheus scrapes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    /// The matched route template (`/api/v1/petitions/{id}`), never the
    /// raw path, so the number of series stays bounded.
    route: String,
    /// `2xx`, `4xx`, …
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WitnessLabel {
    witness: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

struct Metrics {
    registry: Registry,
    append_latency: Histogram,
    batch_size: Histogram,
    entries: Family<KindLabel, Counter>,
    queue_depth: Gauge,
    sequencer_running: Gauge,
    log_size: Gauge,
    checkpoint_size: Gauge,
    checkpoint_age: FloatGauge,
    witness_lag: Family<WitnessLabel, FloatGauge>,
    http: Family<HttpLabels, Counter>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("veche");
        // 0.5 ms … about 8 s: a group commit takes one fsync (ms) on a
        // healthy disk; seconds mean trouble.
        let append_latency = Histogram::new(exponential_buckets(0.0005, 2.0, 15));
        // 1 … 16384 entries (the largest --max-batch is 65536).
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 15));
        let entries = Family::<KindLabel, Counter>::default();
        // Every kind from the start, so `rate()` has a zero to start from.
        for &(_, kind) in veche_entry::Payload::KINDS {
            let _ = entries.get_or_create(&KindLabel { kind });
        }
        let m = Self {
            registry: Registry::default(),
            append_latency,
            batch_size,
            entries,
            queue_depth: Gauge::default(),
            sequencer_running: Gauge::default(),
            log_size: Gauge::default(),
            checkpoint_size: Gauge::default(),
            checkpoint_age: FloatGauge::default(),
            witness_lag: Family::default(),
            http: Family::default(),
        };
        registry.register(
            "append_latency_seconds",
            "Time from submitting an append to its durable acknowledgement",
            m.append_latency.clone(),
        );
        registry.register(
            "batch_size_entries",
            "Entries committed per sequencer batch",
            m.batch_size.clone(),
        );
        registry.register(
            "log_entries_appended",
            "Entries appended to the log by this process, by kind (rate() gives signatures and ballots per second)",
            m.entries.clone(),
        );
        registry.register(
            "sequencer_queue_depth",
            "Append requests waiting for the sequencer",
            m.queue_depth.clone(),
        );
        registry.register(
            "sequencer_running",
            "1 while the sequencer takes appends, else 0",
            m.sequencer_running.clone(),
        );
        registry.register(
            "log_size_entries",
            "Committed tree size of the log",
            m.log_size.clone(),
        );
        registry.register(
            "checkpoint_size_entries",
            "Tree size of the latest signed checkpoint",
            m.checkpoint_size.clone(),
        );
        registry.register(
            "checkpoint_age_seconds",
            "Seconds since the latest checkpoint was signed",
            m.checkpoint_age.clone(),
        );
        registry.register(
            "witness_cosignature_lag_seconds",
            "Seconds the newest checkpoint a witness has cosigned is behind the latest checkpoint",
            m.witness_lag.clone(),
        );
        registry.register(
            "http_responses",
            "HTTP responses by method, route template and status class",
            m.http.clone(),
        );
        Self { registry, ..m }
    }
}

/// Records how far behind a witness's newest cosignature is, in seconds
/// (0 when it has cosigned the latest checkpoint). Called by the witness
/// client; a witness never reported has no series.
pub fn witness_lag(name: &str, seconds: f64) {
    METRICS
        .witness_lag
        .get_or_create(&WitnessLabel {
            witness: name.to_owned(),
        })
        .set(seconds);
}

/// Feeds the sequencer's measurements into the metrics.
#[derive(Debug, Default)]
pub struct SequencerMetrics;

impl SequencerObserver for SequencerMetrics {
    fn batch_committed(&self, entries: &[Vec<u8>]) {
        let m = &*METRICS;
        m.batch_size.observe(entries.len() as f64);
        for e in entries {
            m.entries
                .get_or_create(&KindLabel { kind: kind_of(e) })
                .inc();
        }
    }

    fn append_acknowledged(&self, latency: Duration) {
        METRICS.append_latency.observe(latency.as_secs_f64());
    }
}

/// The kind name of a canonical entry from its envelope (version byte, then
/// the kind as u16 big-endian: specs/entries.md), without decoding it.
fn kind_of(entry: &[u8]) -> &'static str {
    let Some(&[hi, lo]) = entry.get(1..3) else {
        return "unknown";
    };
    let kind = u16::from_be_bytes([hi, lo]);
    veche_entry::Payload::KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("unknown", |(_, name)| name)
}

/// Middleware counting every response by route template and status class.
pub async fn track_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = match response.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    METRICS
        .http
        .get_or_create(&HttpLabels {
            method,
            route,
            status,
        })
        .inc();
    response
}

/// Standard methods by name; anything else (unbounded: clients may send
/// any token) as `other`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics`: gauges read at scrape time, then everything encoded.
pub async fn serve(State(state): State<AppState>) -> Result<Response, Problem> {
    let m = &*METRICS;
    let cp = state.log.checkpoint();
    m.checkpoint_size.set(gauge_value(cp.size));
    m.queue_depth
        .set(gauge_value(state.log.queue_depth() as u64));
    m.sequencer_running.set(i64::from(state.log.is_running()));
    // The database is the truth when other processes append too; a failed
    // read leaves the last values and shows in /readyz.
    match state.store.tree_state().await {
        Ok(t) => {
            m.log_size.set(gauge_value(t.size));
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the tree state"),
    }
    match state.store.latest_checkpoint().await {
        Ok(Some(c)) => {
            let now = veche_store::SystemClock.now_ms();
            m.checkpoint_age
                .set(now.saturating_sub(c.created_ms) as f64 / 1000.0);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the latest checkpoint"),
    }
    let mut body = String::new();
    prometheus_client::encoding::text::encode(&mut body, &m.registry).map_err(Problem::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}

fn gauge_value(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded() -> String {
        let mut body = String::new();
        prometheus_client::encoding::text::encode(&mut body, &METRICS.registry).unwrap();
        body
    }

    #[test]
    fn kinds_are_read_from_the_envelope() {
        let e = veche_entry::Entry::new(
            1_795_442_400_000,
            veche_entry::Signature {
                petition: 1,
                nullifier: [1; 32],
                assertion: [2; 32],
            },
        )
        .encode()
        .unwrap();
        assert_eq!(kind_of(&e), "signature");
        assert_eq!(kind_of(&[1]), "unknown");
        assert_eq!(kind_of(&[1, 0xff, 0xff]), "unknown");
    }

    #[test]
    fn observations_and_witness_lag_show_in_the_text() {
        let e = veche_entry::Entry::new(
            1_795_442_400_000,
            veche_entry::Signature {
                petition: 1,
                nullifier: [1; 32],
                assertion: [2; 32],
            },
        )
        .encode()
        .unwrap();
        SequencerMetrics.batch_committed(&[e.clone(), e]);
        SequencerMetrics.append_acknowledged(Duration::from_millis(3));
        witness_lag("witness.example/w1", 2.5);
        let text = encoded();
        assert!(
            text.contains("veche_log_entries_appended_total{kind=\"signature\"} 2"),
            "{text}"
        );
        assert!(text.contains("veche_batch_size_entries_count 1"), "{text}");
        assert!(
            text.contains("veche_append_latency_seconds_count 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "veche_witness_cosignature_lag_seconds{witness=\"witness.example/w1\"} 2.5"
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
