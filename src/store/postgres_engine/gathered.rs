//! What a read of keys and ranges answered, put back in the order they were asked.
//!
//! Every query that reads a group's keys and lists its ranges answers rows of a place, a
//! key and a value: place 0 for a key read with its value, place `i` for a key of the
//! `i`-th range asked. The binary rows of the extended protocol and the text rows of the
//! simple one (`one_trip`) are gathered here the same way, so both engines' callers get
//! what [`Engine::read_many`](crate::store::engine::Engine::read_many) promises: a key asked
//! twice answered twice, a missing one `None`, each range's keys ascending.

use std::collections::HashMap;

use crate::store::engine::{FirstReads, KeyRange};
use crate::store::{StorageFault, StoreError};

/// The rows of one read, as they arrive.
pub(super) struct Gathered {
    found: HashMap<Vec<u8>, Vec<u8>>,
    listed: Vec<Vec<Vec<u8>>>,
}

impl Gathered {
    /// Ready for the rows of a read that lists `ranges` ranges.
    pub(super) fn new(ranges: usize) -> Gathered {
        Gathered {
            found: HashMap::new(),
            listed: vec![Vec::new(); ranges],
        }
    }

    /// One row: `key` at `place`, with the value `value` gives (asked only for place 0).
    pub(super) fn add(
        &mut self,
        place: i64,
        key: Vec<u8>,
        value: impl FnOnce() -> Result<Vec<u8>, StoreError>,
    ) -> Result<(), StoreError> {
        match usize::try_from(place) {
            Ok(0) => {
                self.found.insert(key, value()?);
            }
            Ok(place) => match self.listed.get_mut(place - 1) {
                Some(keys) => keys.push(key),
                None => return Err(unreadable("a range's place")),
            },
            Err(_) => return Err(unreadable("a range's place")),
        }
        Ok(())
    }

    /// The values at `keys`, in their order, and each range's keys, ascending (`bytea`
    /// orders as the engine does: bytewise).
    pub(super) fn into_reads(mut self, keys: &[Vec<u8>]) -> FirstReads<Vec<u8>> {
        for keys in &mut self.listed {
            keys.sort_unstable();
        }
        FirstReads {
            values: keys
                .iter()
                .map(|key| self.found.get(key).cloned())
                .collect(),
            ranges: self.listed,
        }
    }
}

/// The starts, ends and limits of `ranges`, as the range queries take them.
pub(super) fn range_parameters(ranges: &[KeyRange]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<i64>) {
    (
        ranges.iter().map(|r| r.start.clone()).collect(),
        ranges.iter().map(|r| r.end.clone()).collect(),
        ranges
            .iter()
            .map(|r| i64::try_from(r.limit).unwrap_or(i64::MAX))
            .collect(),
    )
}

/// PostgreSQL answered something this engine cannot read.
pub(super) fn unreadable(what: &str) -> StoreError {
    StoreError::Storage {
        fault: StorageFault::Failed,
        detail: format!("PostgreSQL answered {what} this engine cannot read"),
    }
}
