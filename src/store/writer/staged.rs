//! What one mutation sees while it is checked: its own writes, over its group's, over the
//! group being committed, over the engine.
//!
//! The writer stages a group while the committer applies and flushes the one before it
//! (see [`super::committer`]). That group's writes may not be in the engine yet, or only
//! some of them, so they are read from its own copy first: every check sees exactly the
//! registry as it will be once the earlier groups are on disk.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound::{Excluded, Included};

use super::filter::KeyFilter;
use super::prefetch::{Found, FoundRange, Prefetched};
use crate::store::engine::{Engine, KeyRange};
use crate::store::{Backend, StoreError};

/// Keys after which a group's writes start a new chunk, at the next mutation's start.
///
/// sled 0.34 holds one lock for the whole of an `apply_batch` that stops every read: the
/// writer's checks, and every reader (GetTeacher, listings). Applied as one batch, a group
/// of 2,048 imported rows stops them for tens of milliseconds; in chunks, for a few at a
/// time, and the writer checks the next group in between. Imports of 300k rows here:
/// one batch per group 18.8 s, chunks of 512 keys 16.9 s, chunks of 50 keys 16.4–17 s as
/// the lock changes hands too often; with the key filter, one batch per group 25.9 s
/// (twice the committer's CPU, mostly in the kernel), chunks of 512 or 2,048 keys 15.8 s.
pub const CHUNK_KEYS: usize = 512;

/// Most change-log entries trimmed by one command, so trimming never holds up writers
/// for long. Small, too, because sled 0.34 copies a tree node for every removal: one
/// command of 20,000 removals raised the server's heap by ~100 MB that glibc kept for
/// good (tests/soak.rs found it; 1,000 cut the growth from +81% to +13%).
pub(crate) const MAX_TRIM: u64 = 1_000;

/// One write: a value to set, or `None` to remove the key.
pub(super) type Write = (Vec<u8>, Option<Vec<u8>>);

/// Writes of a group's accepted mutations, not yet applied.
#[derive(Default)]
pub(crate) struct Pending {
    /// Every write, in the order the mutations were accepted.
    log: Vec<Write>,
    /// Where each key's latest write is in `log`.
    latest: HashMap<Vec<u8>, usize>,
    /// Where each full chunk ends in `log`: always between two mutations, so each
    /// mutation is applied by one batch, whole.
    chunk_ends: Vec<usize>,
}

impl Pending {
    /// Adds one accepted mutation's writes, and notes their keys in `filter`: removed keys
    /// too, since a removal lost to a disk fault brings its key back.
    pub(super) fn add(&mut self, writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>, filter: &KeyFilter) {
        for (key, value) in writes {
            filter.insert(&key);
            match self.latest.get_mut(&key) {
                Some(at) => *at = self.log.len(),
                None => {
                    self.latest.insert(key.clone(), self.log.len());
                }
            }
            self.log.push((key, value));
        }
        let chunk_start = self.chunk_ends.last().copied().unwrap_or(0);
        if self.log.len() - chunk_start >= CHUNK_KEYS {
            self.chunk_ends.push(self.log.len());
        }
    }

    /// The latest write of `key` in the group: `Some(None)` when it removes the key.
    fn get(&self, key: &[u8]) -> Option<&Option<Vec<u8>>> {
        self.latest.get(key).map(|&at| &self.log[at].1)
    }

    /// The change-log entries among the writes: (key, value).
    pub(super) fn changes(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.log
            .iter()
            .filter_map(|(key, value)| match (key.first(), value) {
                (Some(&crate::store::keys::CHANGE), Some(value)) => {
                    Some((key.as_slice(), value.as_slice()))
                }
                _ => None,
            })
    }

    pub(super) fn is_empty(&self) -> bool {
        self.log.is_empty()
    }

    /// The writes in chunks, each to be applied as one batch, in order.
    pub(super) fn chunks(&self) -> impl Iterator<Item = &[Write]> {
        let last = self.chunk_ends.last().copied().unwrap_or(0);
        let tail = (last < self.log.len()).then_some(last..self.log.len());
        let mut start = 0;
        self.chunk_ends
            .iter()
            .map(move |&end| {
                let range = start..end;
                start = end;
                range
            })
            .chain(tail)
            .map(|range| &self.log[range])
    }
}

/// One mutation's view of the registry. Dropped without effect when the mutation is
/// refused. It reads the store's one engine type, not a type parameter, so the mutations
/// name it without one.
pub(crate) struct Staged<'a> {
    engine: &'a Backend,
    /// Keys that may be in the engine: others are not read.
    filter: &'a KeyFilter,
    /// The group being committed, if one is.
    committing: Option<&'a Pending>,
    /// The group being staged, before this mutation.
    pending: &'a Pending,
    /// What a shared engine's group read ahead (see [`super::prefetch`]).
    prefetched: Option<&'a Prefetched>,
    pub(super) writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// The revision of the last change, this mutation's included once it takes one.
    pub(super) revision: u64,
}

impl<'a> Staged<'a> {
    pub(super) fn new(
        engine: &'a Backend,
        filter: &'a KeyFilter,
        committing: Option<&'a Pending>,
        pending: &'a Pending,
        revision: u64,
    ) -> Self {
        Self {
            engine,
            filter,
            committing,
            pending,
            prefetched: None,
            writes: BTreeMap::new(),
            revision,
        }
    }

    /// Reads the engine's keys from `prefetched` where it has them.
    pub(super) fn reading_ahead(mut self, prefetched: &'a Prefetched) -> Self {
        self.prefetched = Some(prefetched);
        self
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let layers = [Some(self.pending), self.committing];
        if let Some(value) = self.writes.get(key) {
            return Ok(value.clone());
        }
        for layer in layers.into_iter().flatten() {
            if let Some(value) = layer.get(key) {
                return Ok(value.clone());
            }
        }
        if !self.filter.may_contain(key) {
            return Ok(None);
        }
        match self.prefetched.map(|prefetched| prefetched.find(key)) {
            Some(Found::Read(value)) => Ok(value.clone()),
            Some(Found::Noted) => Ok(None),
            Some(Found::Unknown) | None => Ok(self.engine.get(key)?.map(|v| v.to_vec())),
        }
    }

    /// Up to `limit` keys in [`start`, `end`) as on disk, without the writes of groups not
    /// yet committed: for trimming entries old enough never to be in those.
    pub(crate) fn committed_keys(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let range = KeyRange {
            start: start.to_vec(),
            end: end.to_vec(),
            limit,
        };
        match self
            .prefetched
            .map(|prefetched| prefetched.find_range(&range))
        {
            Some(FoundRange::Read(keys)) => return Ok(keys.to_vec()),
            Some(FoundRange::Noted) => return Ok(Vec::new()),
            Some(FoundRange::Unknown) | None => {}
        }
        let mut keys = Vec::new();
        for entry in self
            .engine
            .range(Included(start), Excluded(end))?
            .take(limit)
        {
            keys.push(entry?.0.to_vec());
        }
        Ok(keys)
    }

    /// Runs `draw` with random numbers: a shared engine's group's, which its read-ahead
    /// drew too (see [`super::prefetch`]), or the thread's.
    pub(crate) fn draw<T>(&self, draw: impl FnOnce(&mut dyn rand::RngCore) -> T) -> T {
        match self.prefetched {
            Some(prefetched) => prefetched.draw(|rng| draw(rng)),
            None => draw(&mut rand::thread_rng()),
        }
    }

    pub(crate) fn contains(&self, key: &[u8]) -> Result<bool, StoreError> {
        Ok(self.get(key)?.is_some())
    }

    pub(crate) fn insert(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    pub(crate) fn remove(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    /// The revision of the last change staged so far.
    pub(crate) fn revision(&self) -> u64 {
        self.revision
    }

    /// Sets the revision outright: a restore ends at its backup's.
    pub(crate) fn set_revision(&mut self, revision: u64) {
        self.revision = revision;
    }

    /// Takes the next global revision for this mutation's change event.
    pub(crate) fn next_revision(&mut self) -> u64 {
        self.revision += 1;
        self.revision
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::writer::filter;

    /// A mutation's writes: `keys` keys named after the mutation, the last one removed.
    fn mutation(n: usize, keys: usize) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        (0..keys)
            .map(|k| {
                let key = format!("r{n:05}-{k:02}").into_bytes();
                let value = (k + 1 < keys).then(|| vec![n as u8]);
                (key, value)
            })
            .collect()
    }

    #[test]
    fn chunks_hold_whole_mutations_and_every_write_in_order() {
        let filter = KeyFilter::with_room_for(0);
        let mut pending = Pending::default();
        let mut ends = vec![0];
        for n in 0..300 {
            pending.add(mutation(n, 1 + n % 9), &filter);
            ends.push(pending.log.len());
        }
        let chunks: Vec<&[Write]> = pending.chunks().collect();
        assert!(chunks.len() > 1);
        let mut at = 0;
        for (i, chunk) in chunks.iter().enumerate() {
            assert_eq!(chunk.as_ptr(), pending.log[at..].as_ptr(), "in order");
            at += chunk.len();
            assert!(ends.contains(&at), "chunk {i} ends inside a mutation");
            if i + 1 < chunks.len() {
                assert!(chunk.len() >= CHUNK_KEYS, "chunk {i} is short");
                assert!(chunk.len() < CHUNK_KEYS + 9, "chunk {i} is long");
            }
        }
        assert_eq!(at, pending.log.len(), "every write is in a chunk");
    }

    #[test]
    fn a_group_reads_its_latest_writes_and_notes_every_key_in_the_filter() {
        let filter = KeyFilter::with_room_for(0);
        filter::complete(&filter);
        let mut pending = Pending::default();
        pending.add(mutation(1, 2), &filter);
        assert_eq!(pending.get(b"r00001-00"), Some(&Some(vec![1])));
        assert_eq!(pending.get(b"r00001-01"), Some(&None), "a removal");
        assert_eq!(pending.get(b"r00002-00"), None);
        let mut again = BTreeMap::new();
        again.insert(b"r00001-00".to_vec(), None);
        again.insert(b"r00001-01".to_vec(), Some(vec![7]));
        pending.add(again, &filter);
        assert_eq!(pending.get(b"r00001-00"), Some(&None));
        assert_eq!(pending.get(b"r00001-01"), Some(&Some(vec![7])));
        for key in [b"r00001-00", b"r00001-01"] {
            assert!(
                filter.may_contain(key),
                "set or removed, a key stays in the filter"
            );
        }
        assert!(!filter.may_contain(b"r00002-00"));
    }
}
