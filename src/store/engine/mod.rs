//! The storage-engine boundary: the few key-value operations the store needs, so another
//! engine (PostgreSQL) can sit under the same keys, values and write path.
//!
//! Above this trait everything is byte keys in one ordered key space (see
//! [`super::keys`]) holding versioned values (see [`super::codec`]). Below it, an engine
//! keeps the pairs and answers for faults of its own medium. What an engine promises:
//!
//! - **Order.** Keys compare bytewise (a shorter key first when one is a prefix of the
//!   other): the key spaces and the big-endian numbers in keys rely on it. Keys are never
//!   empty; values may be, and an empty value is not a missing key.
//! - **Atomic batches.** [`Engine::apply`] writes a whole batch or nothing, in order (the
//!   last write of a key wins), visible to every read that starts after it returns (on a
//!   shared engine, after the flush: see below); no read sees part of a batch. Applied is
//!   not yet durable.
//! - **Durability.** [`Engine::flush`] returns once everything applied before it is on
//!   disk. The committer applies a group as a few batches, each holding whole mutations,
//!   flushes once, and only then answers the group's callers: one sync per group, and a
//!   batch is kept short because sled stops every read while it applies one.
//! - **No snapshots.** sled 0.34 offers no snapshot reads, so neither does this trait.
//!   Each [`Engine::get`] reads the moment it runs, and a scan reads its keys at moments
//!   that only move forward: once it has seen a write of a batch, the keys it reads after
//!   show the rest of that batch, but keys read before may be older. Readers that need
//!   one moment take it from the write path (the committed revision, or the writer's read
//!   between two groups in [`super::backup`]). Scans run forward only: nothing reads
//!   backwards.
//! - **Faults.** After a failed apply or flush the writer calls [`Engine::recover`], refuses
//!   writes, and calls [`Engine::probe`] now and then until the engine takes writes again.
//!
//! - **Several writers** (an engine other processes may write too, PostgreSQL): such an
//!   engine says so ([`Engine::is_shared`]). The writer then calls [`Engine::begin_group`]
//!   before it checks a group, which holds every other process's writes off until the
//!   group's flush (or a recovery), reads the revision afresh, and checks the group against
//!   what is committed; caches of what is in the engine (the key filter) are off. Such an
//!   engine shows a group to reads only once it is flushed, whole, on every process alike:
//!   a read never sees a write that could still be rolled back and its revision taken by
//!   another process's group. Applied but not flushed is thus unseen, not seen early.
//!
//! Dispatch is static: the store holds one concrete engine, [`super::Backend`], an enum of
//! the two (sled, and PostgreSQL in [`super::postgres_engine`]) that implements this trait
//! by delegation, one branch per call; so no call goes through a vtable and none allocates
//! on the engine's behalf. (`apply` is generic, so the trait is not object safe.)

#[cfg(test)]
pub(crate) mod conformance;

use std::ops::{Bound, Deref};

use crate::store::StoreError;

/// An ordered key-value store with atomic batches and an explicit flush.
/// Keys from `start` (included) to `end` (excluded), at most `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct KeyRange {
    pub(crate) start: Vec<u8>,
    pub(crate) end: Vec<u8>,
    pub(crate) limit: usize,
}

/// What [`Engine::read_many`] (and [`Engine::begin_group_reading`]) read: the values at
/// the keys asked, in their order, and the keys of each range asked, in theirs.
#[derive(Debug)]
pub(crate) struct FirstReads<B> {
    pub(crate) values: Vec<Option<B>>,
    pub(crate) ranges: Vec<Vec<Vec<u8>>>,
}

impl<B> FirstReads<B> {
    /// The same reads, each value made another kind of bytes.
    pub(crate) fn map<C>(self, bytes: impl Fn(B) -> C) -> FirstReads<C> {
        FirstReads {
            values: self
                .values
                .into_iter()
                .map(|value| value.map(&bytes))
                .collect(),
            ranges: self.ranges,
        }
    }
}

pub(crate) trait Engine: Send + Sync + 'static {
    /// A key or value read back, owned by the reader (sled's reference-counted `IVec`):
    /// reads never copy more than the engine itself does.
    type Bytes: Deref<Target = [u8]> + AsRef<[u8]>;
    /// The pairs of one ordered scan, in ascending key order.
    type Scan: Iterator<Item = Result<(Self::Bytes, Self::Bytes), StoreError>>;

    /// The value at `key`, if there is one.
    fn get(&self, key: &[u8]) -> Result<Option<Self::Bytes>, StoreError>;

    /// The values at `keys`, in their order, as [`Engine::get`] would read each. An engine
    /// across a network reads them in one round trip: the writer of a shared engine reads
    /// a group's keys so (see `store::writer::prefetch`).
    fn get_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Self::Bytes>>, StoreError> {
        keys.iter().map(|key| self.get(key)).collect()
    }

    /// The keys of each range, `start` (included) to `end` (excluded), at most `limit` of
    /// each, ascending, as [`Engine::range`] would list them. An engine across a network
    /// reads them all in one round trip, as [`Engine::get_many`] does keys.
    fn keys_in_ranges(&self, ranges: &[KeyRange]) -> Result<Vec<Vec<Vec<u8>>>, StoreError> {
        ranges
            .iter()
            .map(|range| {
                self.range(
                    Bound::Included(&range.start[..]),
                    Bound::Excluded(&range.end[..]),
                )?
                .take(range.limit)
                .map(|pair| pair.map(|(key, _)| key.as_ref().to_vec()))
                .collect()
            })
            .collect()
    }

    /// The values at `keys` (as [`Engine::get_many`]) and the keys of `ranges` (as
    /// [`Engine::keys_in_ranges`]): an engine across a network reads both in one round
    /// trip. The writer of a shared engine reads each pass of a group's checks so.
    fn read_many(
        &self,
        keys: &[Vec<u8>],
        ranges: &[KeyRange],
    ) -> Result<FirstReads<Self::Bytes>, StoreError> {
        Ok(FirstReads {
            values: self.get_many(keys)?,
            ranges: self.keys_in_ranges(ranges)?,
        })
    }

    /// The pairs whose keys lie between `from` and `to`, ascending; empty when the bounds
    /// leave no key between them.
    fn range(&self, from: Bound<&[u8]>, to: Bound<&[u8]>) -> Result<Self::Scan, StoreError>;

    /// Applies `writes` (a value to set, or `None` to remove the key) in order, as one
    /// atomic batch, visible once this returns (a shared engine: once flushed); durable only
    /// after the next [`Engine::flush`].
    fn apply<K, V>(&self, writes: &[(K, Option<V>)]) -> Result<(), StoreError>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>;

    /// Returns once every batch applied before it is on disk.
    fn flush(&self) -> Result<(), StoreError>;

    /// The fault the engine met as it opened, if it opened in one (sled: a full disk that
    /// it could open on only by freeing its reserve): writes start refused.
    fn opened_in_fault(&self) -> Option<StoreError>;

    /// After a failed apply or flush (`error`): makes reads go on, serving exactly what is
    /// on disk. Err when it cannot yet; [`Engine::probe`] then tries again.
    fn recover(&self, error: &StoreError) -> Result<(), StoreError>;

    /// After a fault: Ok once the engine takes writes again and serves what is on disk.
    fn probe(&self) -> Result<(), StoreError>;

    /// Does what makes the next open quick; may take a while. Called on a graceful close,
    /// after many writes, once the writer has stopped.
    fn checkpoint(&self) -> Result<(), StoreError>;

    /// The engine's size on disk, in bytes.
    fn size_on_disk(&self) -> Result<u64, StoreError>;

    /// Whether other processes may write the same pairs (see the module doc).
    fn is_shared(&self) -> bool {
        false
    }

    /// Whether a failed [`flush`](Engine::flush) may simply be tried again: true where a
    /// flush only waits for the disk (sled). False where a flush is a transaction's
    /// `COMMIT`: a failure leaves the commit's outcome unknown and the transaction gone, so
    /// a second flush would find nothing to commit and succeed, and the group would be
    /// acknowledged without being written.
    fn flush_can_retry(&self) -> bool {
        true
    }

    /// Holds off every other process's writes until the next flush or recovery, waiting
    /// for one that holds them now (a shared engine only).
    fn begin_group(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// [`Engine::begin_group`], then what a group reads first ([`Engine::read_many`]), as
    /// committed once every other process's writes are held off. Whatever a group does
    /// between its begin and its flush holds every other server's writers off, so an
    /// engine across a network does both in one round trip.
    fn begin_group_reading(
        &self,
        keys: &[Vec<u8>],
        ranges: &[KeyRange],
    ) -> Result<FirstReads<Self::Bytes>, StoreError> {
        self.begin_group()?;
        self.read_many(keys, ranges)
    }

    /// The pairs whose keys start with `prefix`, ascending.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Self::Scan, StoreError> {
        match prefix_end(prefix) {
            Some(end) => self.range(Bound::Included(prefix), Bound::Excluded(&end)),
            None => self.range(Bound::Included(prefix), Bound::Unbounded),
        }
    }
}

/// The first key after every key that starts with `prefix`; `None` when there is none
/// (the prefix is empty or all 0xFF).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|&b| b != u8::MAX)?;
    let mut end = prefix[..=last].to_vec();
    end[last] += 1;
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_at_its_last_byte_that_can_grow() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(&[]), None);
    }
}
