//! Prometheus metrics: what an operator graphs and alerts on.
//!
//! Counters are plain atomics, indexed by RPC and status code, so recording a request
//! costs a few relaxed increments and no lock or allocation on the hot path. The write
//! path's figures (groups, mutations, time applying and flushing, a disk fault) come from
//! the store's own counters, and the gauges (revision, size on disk, memory) are read when
//! scraped. `--metrics-listen ADDR` serves them as the text exposition format on
//! `GET /metrics`, through axum (the console's HTTP server too), so keep-alive, HEAD and
//! malformed requests are hyper's to get right, not ours.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::Code;

use crate::auth::Rpc;
use crate::store::Store;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
const RPCS: usize = Rpc::ALL.len();
/// gRPC status codes 0..=16, by their canonical names.
const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];
const CODES: usize = CODE_NAMES.len();

/// Counters and gauges of one server.
pub struct Metrics {
    /// Per RPC and code: requests in each latency bucket (the last is +Inf).
    latency: Vec<[AtomicU64; BUCKETS.len() + 1]>,
    /// Per RPC and code: total latency, in microseconds.
    latency_micros: Vec<AtomicU64>,
    watchers: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            latency: (0..RPCS * CODES).map(|_| Default::default()).collect(),
            latency_micros: (0..RPCS * CODES).map(|_| AtomicU64::new(0)).collect(),
            watchers: AtomicI64::new(0),
        }
    }
}

/// Counts one open WatchChanges stream while it lives.
pub struct WatcherGuard(Arc<Metrics>);

impl Drop for WatcherGuard {
    fn drop(&mut self) {
        self.0.watchers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Records a finished request (for a streaming RPC: until its stream was opened).
    pub fn observe(&self, rpc: Rpc, code: Code, latency: Duration) {
        let index = slot(rpc, code);
        let seconds = latency.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        self.latency[index][bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_micros[index].fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
    }

    /// Counts a watcher until the guard is dropped.
    pub fn watcher(self: &Arc<Self>) -> WatcherGuard {
        self.watchers.fetch_add(1, Ordering::Relaxed);
        WatcherGuard(self.clone())
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn render(&self, store: &Store) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP teacher_registry_rpc_requests_total Requests answered, by method and status.\n\
             # TYPE teacher_registry_rpc_requests_total counter\n",
        );
        for (rpc, code, counts) in self.answered() {
            let total: u64 = counts.iter().sum();
            let _ = writeln!(
                out,
                "teacher_registry_rpc_requests_total{{method=\"{rpc:?}\",code=\"{}\"}} {total}",
                CODE_NAMES[code as usize]
            );
        }
        out.push_str(
            "# HELP teacher_registry_rpc_duration_seconds Time to answer (streams: to open), by method and status.\n\
             # TYPE teacher_registry_rpc_duration_seconds histogram\n",
        );
        for (rpc, code, counts) in self.answered() {
            let labels = format!("method=\"{rpc:?}\",code=\"{}\"", CODE_NAMES[code as usize]);
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(&counts) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "teacher_registry_rpc_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            cumulative += counts[BUCKETS.len()];
            let micros = self.latency_micros[slot(rpc, code)].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "teacher_registry_rpc_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {cumulative}\n\
                 teacher_registry_rpc_duration_seconds_sum{{{labels}}} {}\n\
                 teacher_registry_rpc_duration_seconds_count{{{labels}}} {cumulative}",
                micros as f64 / 1e6
            );
        }

        let writes = store.write_stats();
        let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "teacher_registry_write_groups_total",
            "counter",
            "Groups committed by the writer, one batch and one flush each.",
            writes.groups as f64,
        );
        metric(
            "teacher_registry_write_commands_total",
            "counter",
            "Commands answered by the writer (mutations accepted or refused, trims).",
            writes.mutations as f64,
        );
        metric(
            "teacher_registry_write_flush_seconds_total",
            "counter",
            "Time the writer spent applying and flushing groups.",
            writes.flush_micros as f64 / 1e6,
        );
        metric(
            "teacher_registry_storage_faulted",
            "gauge",
            "1 while the data directory refuses writes (a full or read-only disk).",
            f64::from(u8::from(writes.faulted)),
        );
        metric(
            "teacher_registry_key_filter_ready",
            "gauge",
            "1 once the key filter holds every stored key, so writes skip reads of keys that cannot exist.",
            f64::from(u8::from(writes.key_filter_ready)),
        );
        metric(
            "teacher_registry_revision",
            "gauge",
            "The revision of the last change on disk.",
            store.committed_revision() as f64,
        );
        metric(
            "teacher_registry_watchers",
            "gauge",
            "Open WatchChanges streams.",
            self.watchers.load(Ordering::Relaxed) as f64,
        );
        metric(
            "teacher_registry_store_size_bytes",
            "gauge",
            "The database's size on disk.",
            store.size_on_disk().unwrap_or(0) as f64,
        );
        if let Some(rss) = resident_bytes() {
            metric(
                "teacher_registry_resident_memory_bytes",
                "gauge",
                "The server's resident set size.",
                rss as f64,
            );
        }
        out
    }

    /// Each (RPC, code) that has answered at least once, with its bucket counts.
    fn answered(&self) -> impl Iterator<Item = (Rpc, Code, Vec<u64>)> + '_ {
        Rpc::ALL.into_iter().flat_map(move |rpc| {
            (0..CODES as i32).filter_map(move |number| {
                let code = Code::from_i32(number);
                let counts: Vec<u64> = self.latency[slot(rpc, code)]
                    .iter()
                    .map(|c| c.load(Ordering::Relaxed))
                    .collect();
                (counts.iter().sum::<u64>() > 0).then_some((rpc, code, counts))
            })
        })
    }
}

fn slot(rpc: Rpc, code: Code) -> usize {
    let rpc = Rpc::ALL.iter().position(|r| *r == rpc).unwrap_or(0);
    rpc * CODES + (code as usize).min(CODES - 1)
}

/// VmRSS from /proc (Linux only).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Serves `GET /metrics` on `listener` until `stopped` turns true.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    store: Store,
    mut stopped: watch::Receiver<bool>,
) {
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state((metrics, store));
    let stop = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::warn!(error = %e, "metrics: the endpoint stopped");
    }
}

/// The exposition text, rendered off the async threads (it reads the store's gauges).
async fn scrape(State((metrics, store)): State<(Arc<Metrics>, Store)>) -> impl IntoResponse {
    let body = tokio::task::spawn_blocking(move || metrics.render(&store))
        .await
        .unwrap_or_default();
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
