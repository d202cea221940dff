//! How to open the store: the options a server or a tool passes to `Store::open`.
//!
//! Apart from the handle so that the store's parts (the writer, the request-id window, the
//! read audit) can read their settings without depending on the handle that runs them. The
//! defaults of those settings live here too, so the options name none of the parts they
//! configure.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::case::WindowRules;

/// sled's page cache unless told otherwise, in MiB: sized so that a server of 1M teachers
/// stays under 600 MB while it serves reads. The cache is only part of the memory: sled's
/// page table and key filter grow with the registry, and sled holds more than its nominal
/// cache as reads page nodes in and out, so the cache is a fraction of what is left. A
/// larger cache serves more gets and applies imports faster, for memory a machine may not
/// have; the measurements behind this choice are in `benches/SCALE.md`.
pub const DEFAULT_CACHE_MB: u64 = 128;

/// How long a request id is remembered unless told otherwise.
pub const DEFAULT_REQUEST_ID_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// How many request ids one principal may keep within the retention window, unless told
/// otherwise. The window is 7 days; a county bureau's interactive writes (single writes
/// with request ids; imports and batches keep none) are a few thousand a week, and even a
/// title transition of every teacher of a large county (about 10,000) fits five times
/// over. At about 700 bytes a record, one principal's records stay under ~35 MB.
pub const DEFAULT_REQUEST_IDS_PER_PRINCIPAL: u64 = 50_000;

/// How long audit entries are kept unless told otherwise.
pub const DEFAULT_AUDIT_RETENTION: Duration = Duration::from_secs(180 * 24 * 3600);

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// sled's page cache, in bytes.
    pub cache_capacity: u64,
    /// Disk space set aside in the data directory and freed when the disk fills, so that
    /// sled, which must write to open, can be opened again and serve reads (0: none).
    pub disk_reserve_bytes: u64,
    /// How long a request id replays its first answer (see `store::requests`).
    pub request_id_retention: std::time::Duration,
    /// How many request ids one principal may keep within that window (see
    /// `store::request_quota`).
    pub request_ids_per_principal: u64,
    /// How long read-audit entries are kept (see `store::audit`).
    pub audit_retention: std::time::Duration,
    /// The working-day calendar and time limits of cases.
    pub window_rules: Arc<WindowRules>,
    /// PostgreSQL only: a synchronous standby of the database that serves every read and
    /// feed, while writes go to the primary (see
    /// `PostgresEngine::open_with_standby`).
    pub standby_reads: Option<String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            cache_capacity: DEFAULT_CACHE_MB * 1024 * 1024,
            disk_reserve_bytes: 0,
            request_id_retention: DEFAULT_REQUEST_ID_RETENTION,
            request_ids_per_principal: DEFAULT_REQUEST_IDS_PER_PRINCIPAL,
            audit_retention: DEFAULT_AUDIT_RETENTION,
            window_rules: Arc::default(),
            standby_reads: None,
        }
    }
}
