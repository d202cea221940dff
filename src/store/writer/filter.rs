//! Which keys may exist: a Bloom filter that lets the writer's checks skip the engine for
//! keys that cannot be in it.
//!
//! Most of what the writer reads for a new teacher is absent: the identity document and
//! certificate numbers not yet taken, the fresh registry number not yet used. Each such read costs a descent of the whole tree, and worse, sled 0.34
//! makes every read wait while the committer applies a batch (one lock for the whole
//! database), so the writer's checks stall behind the committer instead of overlapping it.
//! A key the filter has never seen is absent for certain, and is not read at all. (Any
//! engine gains from it: one over a network would save a round trip per absent key. So the
//! filter and its scan use only the engine's interface.)
//!
//! The filter covers the key spaces the writer looks up by exact key to see whether they
//! are taken: records, identity documents and certificate numbers. Every key of those
//! spaces is added before it can be in the tree: by a scan of the tree as the registry
//! opens, and by the writer for each key it stages, set or removed (a removal lost to a
//! disk fault brings its key back, whether the scan saw it or not). Until the scan has
//! finished, every key may exist.
//!
//! The scan reads only small entries: identity and certificate entries, whose values are
//! registry numbers. Every record has exactly one identity entry, so the record keys come
//! from their values, and the records themselves (a teacher each, 700 MB at 1M teachers)
//! are not read: a first scan that read them took the server from 232 to 500 MiB before any
//! request, and slowed reads while it ran. Request ids are not covered, for the same
//! reason (each holds its first answer); a write with one reads its key as before. Keys stay in the filter once removed, and other
//! keys can collide with them: either way the key is read, so the filter is never wrong,
//! only sometimes unhelpful.
//!
//! It is sized as the registry opens, for four times its teachers and at least 64 Mbit
//! (8 MB, good for about four million keys at under 0.1% false positives); a registry that
//! grows far beyond that sees more false positives, that is more reads, until it restarts.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::ops::Bound::{Excluded, Included};

use super::stats::WriteStats;
use crate::domain::TeacherId;
use crate::store::engine::Engine;
use crate::store::keys::{self, Counted};
use crate::store::{codec, StoreError};

/// Bits set per key.
const HASHES: u64 = 6;
/// The fewest bits, as a power of two.
const MIN_BITS_LOG2: u32 = 26;
/// Bits per expected key.
const BITS_PER_KEY: u64 = 16;
/// Covered keys expected per teacher: record, identity, and a certificate or two.
const KEYS_PER_TEACHER: u64 = 4;
/// Keys read per scan of the engine by the opening scan: each scan is let go of before the
/// next, so after a disk fault the engine can open its database again (sled must).
const SCAN_STEP: usize = 10_000;
/// How long a failed scan waits before it starts again.
const SCAN_RETRY: Duration = Duration::from_secs(1);

/// The key spaces the filter covers.
const COVERED: [u8; 3] = [keys::RECORD, keys::IDENTITY, keys::CERTIFICATE];
/// The key spaces the opening scan reads; record keys come from identity entries.
const SCANNED: [u8; 2] = [keys::IDENTITY, keys::CERTIFICATE];

pub(crate) struct KeyFilter {
    words: Vec<AtomicU64>,
    /// `words.len() * 64 - 1`: bit positions are hashes masked with it.
    mask: u64,
    /// Set once the opening scan has added every key that was in the tree.
    complete: AtomicBool,
}

impl KeyFilter {
    /// An empty filter with room for `expected` keys, not yet complete.
    pub(crate) fn with_room_for(expected: u64) -> KeyFilter {
        let wanted = expected
            .saturating_mul(BITS_PER_KEY)
            .max(1 << MIN_BITS_LOG2);
        let bits = wanted.checked_next_power_of_two().unwrap_or(1 << 63);
        KeyFilter {
            words: (0..bits / 64).map(|_| AtomicU64::new(0)).collect(),
            mask: bits - 1,
            complete: AtomicBool::new(false),
        }
    }

    /// Whether `key` may be in the tree: false only when it certainly is not.
    pub(crate) fn may_contain(&self, key: &[u8]) -> bool {
        if !covers(key) || !self.complete.load(Ordering::Acquire) {
            return true;
        }
        self.positions(key).all(|bit| {
            let word = &self.words[(bit / 64) as usize];
            word.load(Ordering::Relaxed) & (1 << (bit % 64)) != 0
        })
    }

    /// Notes that `key` may be in the tree from now on.
    pub(crate) fn insert(&self, key: &[u8]) {
        if !covers(key) {
            return;
        }
        for bit in self.positions(key) {
            self.words[(bit / 64) as usize].fetch_or(1 << (bit % 64), Ordering::Relaxed);
        }
    }

    /// `HASHES` bit positions by double hashing of one 64-bit hash (Kirsch–Mitzenmacher).
    fn positions(&self, key: &[u8]) -> impl Iterator<Item = u64> + '_ {
        // A fixed hasher, so a run is repeatable. Keys chosen to collide cost extra reads
        // and nothing else.
        let mut hasher = std::hash::DefaultHasher::new();
        key.hash(&mut hasher);
        let hash = hasher.finish();
        let (first, second) = (hash & 0xffff_ffff, (hash >> 32) | 1);
        (0..HASHES).map(move |i| first.wrapping_add(i.wrapping_mul(second)) & self.mask)
    }
}

fn covers(key: &[u8]) -> bool {
    key.first().is_some_and(|prefix| COVERED.contains(prefix))
}

/// The thread of the opening scan: stopped and joined when dropped, so it never keeps the
/// engine in use past the writer.
pub(crate) struct Scan {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Scan {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the key filter's thread panicked");
            }
        }
    }
}

/// A filter sized for the registry in `engine`, and the thread that fills it with the
/// keys already there. The writer adds each key it stages from the start, so keys written
/// while the scan runs are covered whether the scan sees them or not.
pub(crate) fn start<E: Engine>(
    engine: Arc<E>,
    stats: Arc<WriteStats>,
) -> Result<(Arc<KeyFilter>, Scan), StoreError> {
    if engine.is_shared() {
        // Other servers write keys this one never sees: the filter stays incomplete, so
        // every key may exist and each is read.
        let stop = Arc::new(AtomicBool::new(false));
        let filter = Arc::new(KeyFilter::with_room_for(0));
        return Ok((filter, Scan { stop, thread: None }));
    }
    let teachers = count_teachers(&*engine)?;
    let filter = Arc::new(KeyFilter::with_room_for(
        teachers.saturating_mul(KEYS_PER_TEACHER),
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let (scanning, stopping) = (filter.clone(), stop.clone());
    let thread = std::thread::Builder::new()
        .name("registry-filter".into())
        .spawn(move || fill(&*engine, &scanning, &stopping, &stats))
        .map_err(|e| StoreError::Storage {
            fault: crate::store::StorageFault::Failed,
            detail: format!("cannot start the key filter's thread: {e}"),
        })?;
    let scan = Scan {
        stop,
        thread: Some(thread),
    };
    Ok((filter, scan))
}

/// Scans until the filter is complete, starting again after a failure (a disk fault may
/// have the engine recovering); until then, every key may exist.
fn fill<E: Engine>(engine: &E, filter: &KeyFilter, stop: &AtomicBool, stats: &WriteStats) {
    let started = Instant::now();
    loop {
        match scan(engine, filter, stop) {
            Ok(Some(keys)) => {
                filter.complete.store(true, Ordering::Release);
                stats.key_filter_ready.store(true, Ordering::Relaxed);
                tracing::info!(
                    keys,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "key filter ready"
                );
                return;
            }
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "the key filter's scan failed; it starts again in a moment");
                let resume = Instant::now() + SCAN_RETRY;
                while Instant::now() < resume {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
}

/// Adds every covered key in the engine, reading the identity and certificate entries
/// only; the count of entries read, or None when told to stop.
fn scan<E: Engine>(
    engine: &E,
    filter: &KeyFilter,
    stop: &AtomicBool,
) -> Result<Option<u64>, StoreError> {
    let mut added = 0;
    for prefix in SCANNED {
        let mut from = vec![prefix];
        let end = vec![prefix + 1];
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let mut last = None;
            let step = engine.range(Included(&from), Excluded(&end))?;
            for entry in step.take(SCAN_STEP) {
                let (key, value) = entry?;
                filter.insert(&key);
                if prefix == keys::IDENTITY {
                    let id: TeacherId = codec::decode(&key, &value)?;
                    filter.insert(&keys::record(&id));
                }
                last = Some(key);
                added += 1;
            }
            match last {
                Some(key) => {
                    from = key.to_vec();
                    from.push(0);
                }
                None => break,
            }
        }
    }
    Ok(Some(added))
}

/// Teachers in the registry, from the counters by tier.
fn count_teachers<E: Engine>(engine: &E) -> Result<u64, StoreError> {
    let mut teachers = 0u64;
    for entry in engine.scan_prefix(&keys::counter_prefix(None))? {
        let (key, value) = entry?;
        if let Some((_, Counted::Tier(_))) = keys::parse_counter(&key) {
            let count: u64 = codec::decode(&key, &value)?;
            teachers = teachers.saturating_add(count);
        }
    }
    Ok(teachers)
}

#[cfg(test)]
pub(super) fn complete(filter: &KeyFilter) {
    filter.complete.store(true, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_may_exist_until_the_scan_is_complete() {
        let filter = KeyFilter::with_room_for(1000);
        assert!(filter.may_contain(b"rT0000000001"));
        complete(&filter);
        assert!(!filter.may_contain(b"rT0000000001"));
    }

    #[test]
    fn an_added_key_always_may_exist() {
        let filter = KeyFilter::with_room_for(100_000);
        complete(&filter);
        let keys: Vec<Vec<u8>> = (0..100_000u32)
            .map(|n| {
                let prefix = COVERED[n as usize % COVERED.len()];
                let mut key = vec![prefix];
                key.extend_from_slice(format!("{n:010}").as_bytes());
                key
            })
            .collect();
        for key in &keys {
            filter.insert(key);
        }
        for key in &keys {
            assert!(filter.may_contain(key), "{key:?}");
        }
    }

    #[test]
    fn keys_outside_the_covered_spaces_always_may_exist() {
        let filter = KeyFilter::with_room_for(10);
        complete(&filter);
        for key in [
            keys::META_REVISION,
            b"c33010200school\0T000",
            b"l\0\0\0\0\0\0\0\x01",
            b"",
        ] {
            assert!(filter.may_contain(key), "{key:?}");
        }
        filter.insert(b"");
        assert!(filter.may_contain(b""));
    }

    #[test]
    fn few_absent_keys_are_taken_for_present_ones_at_the_design_load() {
        // Four million keys in the smallest filter: under 0.2% should collide.
        let filter = KeyFilter::with_room_for(0);
        complete(&filter);
        for n in 0..4_000_000u32 {
            let mut key = vec![keys::IDENTITY];
            key.extend_from_slice(&n.to_be_bytes());
            filter.insert(&key);
        }
        let false_positives = (0..100_000u32)
            .filter(|n| {
                let mut key = vec![keys::CERTIFICATE];
                key.extend_from_slice(&n.to_be_bytes());
                filter.may_contain(&key)
            })
            .count();
        assert!(false_positives < 200, "{false_positives} of 100000");
    }

    #[test]
    fn the_opening_scan_covers_records_through_their_identity_entries() {
        let dir = tempfile::tempdir().unwrap();
        let options = crate::store::StoreOptions::default();
        let engine = crate::store::Backend::open(dir.path(), &options).unwrap();
        let mut rng = rand::thread_rng();
        let (held, free) = (TeacherId::generate(&mut rng), TeacherId::generate(&mut rng));
        let identity = b"i1350702199001011234".to_vec();
        let certificate = b"k20163500022000123".to_vec();
        let held_value = Some(codec::encode(&held));
        engine
            .apply(&[
                (identity.clone(), held_value.clone()),
                (certificate.clone(), held_value),
            ])
            .unwrap();

        let filter = KeyFilter::with_room_for(10);
        let read = scan(&engine, &filter, &AtomicBool::new(false)).unwrap();
        assert_eq!(read, Some(2));
        complete(&filter);
        for key in [identity, certificate, keys::record(&held)] {
            assert!(filter.may_contain(&key), "{key:?}");
        }
        assert!(!filter.may_contain(&keys::record(&free)));
        assert!(
            filter.may_contain(b"qprincipal\0request"),
            "request ids are not covered"
        );
    }

    #[test]
    fn the_filter_grows_with_the_registry() {
        assert_eq!(KeyFilter::with_room_for(0).words.len() * 64, 1 << 26);
        assert_eq!(
            KeyFilter::with_room_for(10_000_000).words.len() * 64,
            1 << 28
        );
    }
}
