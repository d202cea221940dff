//! PostgreSQL as the store's engine (see [`Engine`]): the registry's pairs in one table,
//! `registry_pairs (k bytea primary key, v bytea)`, whose order is sled's.
//!
//! # Applied before flushed: one open transaction and an overlay
//! The trait asks that a batch be visible to every read once [`Engine::apply`] returns,
//! and durable only at [`Engine::flush`]; the committer applies a group as a few batches
//! and flushes once. Committing each batch would cost a commit (a WAL flush) per batch
//! and make a group durable in parts. So the write connection keeps one transaction open
//! from the first apply after a flush to the next flush: each batch is written into it
//! (one `INSERT ... ON CONFLICT` for the batch's sets, one `DELETE` for its removals),
//! and flush is its `COMMIT`, one WAL flush for the whole group, which is durable when it
//! returns (`synchronous_commit` on, and with a synchronous standby on two machines).
//!
//! Reads run on other connections, which cannot see that transaction. So each applied
//! batch is also put in an in-memory overlay, the latest write of each key not yet
//! committed, and reads look there first. The overlay is emptied after the `COMMIT`
//! returns. A read holds the overlay's read lock for its whole length (overlay look-up
//! and query), and applying and emptying take its write lock: so while a read runs, no
//! batch joins the overlay and none leaves it, and every batch is either in the overlay or
//! committed before the query's snapshot (a batch leaves only after its commit). A read
//! thus sees whole batches, and at moments that only move forward, as the trait promises.
//! (The other design, reads on the write connection inside its transaction, would put
//! every read in line behind the writer's one connection.)
//!
//! Scans read in pages (a query each, under the lock, merged with the overlay's keys in
//! the same span), so a scan of a million keys neither holds the lock nor memory for long.
//!
//! Other processes see only what is committed: another `serve` on the same database never
//! sees a group before it is durable.
//!
//! # Faults
//! A failed apply or flush leaves the transaction aborted; [`Engine::recover`] rolls it
//! back (or drops the connection) and empties the overlay, so reads serve exactly what is
//! committed. [`Engine::probe`] checks that the database takes writes (it is up, and is
//! not a standby in recovery).

pub(crate) mod cluster;
mod connection;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, PoisonError, RwLock};

use connection::{error, Pool, Session};

use crate::store::engine::Engine;
use crate::store::{StorageFault, StoreError};

/// Connections that serve reads (the API's blocking reads, at most 32 at once, share them).
const READ_CONNECTIONS: usize = 8;
/// The first page of a scan, in keys; each next page is twice the last, up to the most.
const FIRST_PAGE: i64 = 128;
const MOST_PAGE: i64 = 4096;

/// The advisory lock writers take for a group (any number no other program uses).
const WRITERS_LOCK: i64 = 0x7265_6769_7374_7279; // "registry"

/// A key and its value.
type Pair = (Vec<u8>, Vec<u8>);

/// The latest write of each key applied but not yet committed (`None`: removed).
type Overlay = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// A registry on a PostgreSQL database.
pub(crate) struct PostgresEngine {
    shared: Arc<Shared>,
}

struct Shared {
    reads: Pool,
    /// One connection: the writer's transaction lives on it.
    write: Pool,
    overlay: RwLock<Overlay>,
}

impl PostgresEngine {
    /// Connects to the database `url` names (a `postgres://` URL or a key=value string)
    /// and creates the table of pairs if it is not there.
    pub(crate) fn open(url: &str) -> Result<PostgresEngine, StoreError> {
        let write = Pool::new(url, 1, "registry-pg-write")?;
        // Connects (and makes the table) now, so a wrong URL fails the open.
        write.call(|_| Ok(()))?;
        Ok(PostgresEngine {
            shared: Arc::new(Shared {
                reads: Pool::new(url, READ_CONNECTIONS, "registry-pg-read")?,
                write,
                overlay: RwLock::new(Overlay::new()),
            }),
        })
    }
}

impl Shared {
    /// Up to `limit` committed pairs from `from` (included) below `to`.
    fn page(
        &self,
        from: Vec<u8>,
        to: Option<Vec<u8>>,
        limit: i64,
    ) -> Result<Vec<Pair>, StoreError> {
        self.reads.call(move |session: &mut Session| {
            let rows = match &to {
                Some(to) => session
                    .client
                    .query(&session.range_below, &[&from, to, &limit]),
                None => session.client.query(&session.range_open, &[&from, &limit]),
            }
            .map_err(error)?;
            Ok(rows
                .into_iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect())
        })
    }
}

impl Engine for PostgresEngine {
    type Bytes = Vec<u8>;
    type Scan = Scan;

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let overlay = self
            .shared
            .overlay
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(write) = overlay.get(key) {
            return Ok(write.clone());
        }
        // Under the overlay's lock: see the module's doc.
        self.committed(key)
    }

    /// The overlay's writes, and one query for the keys it does not hold.
    fn get_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let overlay = self
            .shared
            .overlay
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let asked: Vec<Vec<u8>> = keys
            .iter()
            .filter(|key| !overlay.contains_key(*key))
            .cloned()
            .collect();
        // Under the overlay's lock, as `get`: see the module's doc.
        let mut found: HashMap<Vec<u8>, Vec<u8>> = if asked.is_empty() {
            HashMap::new()
        } else {
            self.shared.reads.call(move |session| {
                let rows = session
                    .client
                    .query(&session.get_many, &[&asked])
                    .map_err(error)?;
                Ok(rows
                    .into_iter()
                    .map(|row| (row.get(0), row.get(1)))
                    .collect())
            })?
        };
        Ok(keys
            .iter()
            .map(|key| match overlay.get(key) {
                Some(write) => write.clone(),
                None => found.remove(key),
            })
            .collect())
    }

    fn range(&self, from: Bound<&[u8]>, to: Bound<&[u8]>) -> Result<Scan, StoreError> {
        // Every bound as "from (included)" and "below (excluded)": the key right after k
        // is k followed by a zero byte.
        let from = match from {
            Bound::Included(key) => key.to_vec(),
            Bound::Excluded(key) => [key, &[0]].concat(),
            Bound::Unbounded => Vec::new(),
        };
        let to = match to {
            Bound::Included(key) => Some([key, &[0]].concat()),
            Bound::Excluded(key) => Some(key.to_vec()),
            Bound::Unbounded => None,
        };
        let empty = to.as_ref().is_some_and(|to| *to <= from);
        Ok(Scan {
            shared: self.shared.clone(),
            next: (!empty).then_some(from),
            to,
            page: FIRST_PAGE,
            buffer: VecDeque::new(),
        })
    }

    fn apply<K, V>(&self, writes: &[(K, Option<V>)]) -> Result<(), StoreError>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        // The last write of each key wins: one statement may not touch a row twice.
        let mut latest: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for (key, value) in writes {
            latest.insert(
                key.as_ref().to_vec(),
                value.as_ref().map(|v| v.as_ref().to_vec()),
            );
        }
        let mut set_keys = Vec::new();
        let mut set_values = Vec::new();
        let mut removed = Vec::new();
        for (key, value) in &latest {
            match value {
                Some(value) => {
                    set_keys.push(key.clone());
                    set_values.push(value.clone());
                }
                None => removed.push(key.clone()),
            }
        }
        self.shared.write.call(move |session| {
            if !session.in_transaction {
                session.client.batch_execute("BEGIN").map_err(error)?;
                session.in_transaction = true;
            }
            if !set_keys.is_empty() {
                session
                    .client
                    .execute(&session.upsert, &[&set_keys, &set_values])
                    .map_err(error)?;
            }
            if !removed.is_empty() {
                session
                    .client
                    .execute(&session.delete, &[&removed])
                    .map_err(error)?;
            }
            Ok(())
        })?;
        let mut overlay = self
            .shared
            .overlay
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        overlay.extend(latest);
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.shared.write.call(|session| {
            if session.in_transaction {
                session.in_transaction = false;
                session.client.batch_execute("COMMIT").map_err(error)?;
            }
            Ok(())
        })?;
        self.shared
            .overlay
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        Ok(())
    }

    fn opened_in_fault(&self) -> Option<StoreError> {
        None
    }

    fn is_shared(&self) -> bool {
        true
    }

    /// Opens the write transaction and takes the writers' lock in it: an advisory lock
    /// held to the transaction's end, so the group's `COMMIT` (or a rollback, or the
    /// connection's loss when a server dies) lets the next writer in. Writers on every
    /// server thus take revisions one group after another, and revision order is commit
    /// order. (An advisory lock rather than `SELECT ... FOR UPDATE` on the revision's
    /// row: a new database has no such row to lock.)
    fn begin_group(&self) -> Result<(), StoreError> {
        self.shared.write.call(|session| {
            if !session.in_transaction {
                session.client.batch_execute("BEGIN").map_err(error)?;
                session.in_transaction = true;
            }
            session
                .client
                .execute("SELECT pg_advisory_xact_lock($1)", &[&WRITERS_LOCK])
                .map_err(error)?;
            Ok(())
        })
    }

    fn committed(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_vec();
        self.shared.reads.call(move |session| {
            let row = session
                .client
                .query_opt(&session.get, &[&key])
                .map_err(error)?;
            Ok(row.map(|row| row.get(0)))
        })
    }

    /// Rolls the open transaction back (a failed call already dropped its connection,
    /// which rolls it back too) and forgets what it held.
    fn recover(&self, _error: &StoreError) -> Result<(), StoreError> {
        let rolled_back = self.shared.write.call(|session| {
            if session.in_transaction {
                session.in_transaction = false;
                session.client.batch_execute("ROLLBACK").map_err(error)?;
            }
            Ok(())
        });
        self.shared
            .overlay
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        match rolled_back {
            // The connection is gone, and its transaction with it.
            Err(StoreError::Storage { .. }) | Ok(()) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// Ok once the write connection reaches a database that takes writes.
    fn probe(&self) -> Result<(), StoreError> {
        self.shared.write.call(|session| {
            let row = session
                .client
                .query_one("SELECT pg_is_in_recovery()", &[])
                .map_err(error)?;
            match row.get::<_, bool>(0) {
                false => Ok(()),
                true => Err(StoreError::Storage {
                    fault: StorageFault::ReadOnly,
                    detail: "the database is a standby in recovery".into(),
                }),
            }
        })
    }

    /// Nothing to do: PostgreSQL checkpoints on its own schedule.
    fn checkpoint(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.shared.reads.call(|session| {
            let row = session
                .client
                .query_one("SELECT pg_total_relation_size('registry_pairs')", &[])
                .map_err(error)?;
            Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        })
    }
}

/// A scan read a page at a time, each page merged with the overlay's writes in its span.
pub(crate) struct Scan {
    shared: Arc<Shared>,
    /// Where the next page starts (included); `None` once the scan is over.
    next: Option<Vec<u8>>,
    /// Where the scan ends (excluded); `None`: the end of the table.
    to: Option<Vec<u8>>,
    page: i64,
    buffer: VecDeque<Pair>,
}

impl Scan {
    /// Reads pages until one has a pair, or the scan is over.
    fn fill(&mut self) -> Result<(), StoreError> {
        while self.buffer.is_empty() {
            let Some(from) = self.next.take() else {
                return Ok(());
            };
            let overlay = self
                .shared
                .overlay
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            let rows = self.shared.page(from.clone(), self.to.clone(), self.page)?;
            let full = rows.len() as i64 == self.page;
            // A full page covers keys up to its last; a short one, up to the scan's end.
            let covered_to: Bound<Vec<u8>> = match (full, rows.last(), &self.to) {
                (true, Some((last, _)), _) => Bound::Included(last.clone()),
                (_, _, Some(to)) => Bound::Excluded(to.clone()),
                (_, _, None) => Bound::Unbounded,
            };
            if full {
                self.next = rows
                    .last()
                    .map(|(last, _)| [last.as_slice(), &[0]].concat());
                self.page = (self.page * 2).min(MOST_PAGE);
            }
            let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = rows.into_iter().collect();
            for (key, write) in overlay.range((Bound::Included(from), covered_to)) {
                match write {
                    Some(value) => merged.insert(key.clone(), value.clone()),
                    None => merged.remove(key),
                };
            }
            drop(overlay);
            self.buffer.extend(merged);
        }
        Ok(())
    }
}

impl Iterator for Scan {
    type Item = Result<(Vec<u8>, Vec<u8>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Err(e) = self.fill() {
            self.next = None;
            self.buffer.clear();
            return Some(Err(e));
        }
        self.buffer.pop_front().map(Ok)
    }
}

#[cfg(test)]
mod tests;
