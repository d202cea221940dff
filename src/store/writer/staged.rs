//! What one mutation sees while it is checked: its own writes, over its group's, over the
//! group being committed, over the tree.
//!
//! The writer stages a group while the committer applies and flushes the one before it
//! (see [`super::committer`]). That group's writes may not be in the tree yet, or only
//! some of them, so they are read from its own copy first: every check sees exactly the
//! registry as it will be once the earlier groups are on disk.

use std::collections::{BTreeMap, HashMap};

use super::filter::KeyFilter;
use crate::store::StoreError;

/// Keys after which a group's writes start a new chunk, at the next mutation's start.
///
/// sled 0.34 holds a lock that stops every read, the writer's checks included, for the
/// whole of an `apply_batch`. Applied as one batch, a group stops the writer for its
/// whole length; applied in chunks, the writer checks the next group in between. At 300k
/// imported rows, chunks of about 400 keys took the import from 18.8 s to 14.4 s; chunks
/// of 50 keys made it slower again (16.4 s), as the lock changed hands too often.
const CHUNK_KEYS: usize = 512;

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
    /// Adds one accepted mutation's writes, and notes in `filter` the keys it sets.
    pub(super) fn add(&mut self, writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>, filter: &KeyFilter) {
        for (key, value) in writes {
            if value.is_some() {
                filter.insert(&key);
            }
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
/// refused.
pub(crate) struct Staged<'a> {
    tree: &'a sled::Tree,
    /// Keys that may be in the tree: others are not read.
    filter: &'a KeyFilter,
    /// The group being committed, if one is.
    committing: Option<&'a Pending>,
    /// The group being staged, before this mutation.
    pending: &'a Pending,
    pub(super) writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// The revision of the last change, this mutation's included once it takes one.
    pub(super) revision: u64,
}

impl<'a> Staged<'a> {
    pub(super) fn new(
        tree: &'a sled::Tree,
        filter: &'a KeyFilter,
        committing: Option<&'a Pending>,
        pending: &'a Pending,
        revision: u64,
    ) -> Self {
        Self {
            tree,
            filter,
            committing,
            pending,
            writes: BTreeMap::new(),
            revision,
        }
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
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
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
