//! PostgreSQL as the store's engine (see [`Engine`]): the registry's pairs in one table,
//! `registry_pairs (k bytea primary key, v bytea)`, whose order is sled's.
//!
//! # Seen once committed, by every server alike
//! The trait lets a batch be seen once applied and asks it be durable at
//! [`Engine::flush`]; the committer applies a group as a few batches and flushes once.
//! Committing each batch would cost a commit (a WAL flush) per batch and make a group
//! durable in parts. So the write connection keeps one transaction open from the group's
//! [`Engine::begin_group`] to its flush: each batch is written into it (one
//! `INSERT ... ON CONFLICT` for the batch's sets, one `DELETE` for its removals), and flush
//! is its `COMMIT`, one WAL flush for the whole group, durable when it returns
//! (`synchronous_commit` on, and with a synchronous standby on two machines). The group's
//! begin, lock and first reads go in one round trip ([`one_trip`]).
//!
//! Reads run on other connections and see only what is committed, on this server as on
//! every other: a group appears whole at its `COMMIT`. Nothing here shows a write that
//! could still be rolled back: were a reader shown revision R before its commit and the
//! commit then failed, another server would write a different R, and a county that had
//! read the first would hold a change the registry never made. This server's writer needs
//! no earlier sight of its own writes: it reads them from its staged copy, and on a shared
//! engine it starts a group only once the one before is committed (see `store::writer`).
//! (Reads inside the write transaction would instead put every read in line behind the
//! writer's one connection.)
//!
//! Scans read in pages, a query each, so a scan of a million keys holds neither a
//! connection nor memory for long; each page is a later moment than the one before, as
//! the trait allows, and shows every group either whole or not at all.
//!
//! # Faults
//! A failed apply or flush leaves the transaction aborted; [`Engine::recover`] rolls it
//! back (or drops the connection), and the writers' lock goes with it. [`Engine::probe`] checks that the database takes writes (it is up, and is
//! not a standby in recovery).

pub(crate) mod cluster;
mod connection;
mod gathered;
mod one_trip;
pub(crate) mod replicated;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use connection::{error, Pool, Role, Session};
use gathered::{range_parameters, Gathered};
use one_trip::{first_reads, first_reads_sql};

use crate::store::engine::{Engine, FirstReads, KeyRange};
use crate::store::{StorageFault, StoreError};

/// Connections that serve reads (the API's blocking reads, at most 32 at once, share them).
const READ_CONNECTIONS: usize = 8;
/// The first page of a scan, in keys; each next page is twice the last, up to the most.
const FIRST_PAGE: i64 = 128;
const MOST_PAGE: i64 = 4096;

/// How long the write transaction may wait on this server with nothing to do before the
/// database ends it (`idle_in_transaction_session_timeout`). A group's statements follow
/// one another within milliseconds; a server that hangs mid-group (stopped, swapping,
/// cut off from the database by a network that drops packets without a reset) would
/// otherwise hold the writers' lock, and every server's writes, until its connection is
/// closed, which TCP may take hours to notice. The database ends the transaction, the
/// lock goes with it, and the hung server's group, never acknowledged, is rolled back.
pub(crate) const WRITE_IDLE_LIMIT: Duration = Duration::from_secs(10);

/// The advisory lock writers take for a group (any number no other program uses).
const WRITERS_LOCK: i64 = 0x7265_6769_7374_7279; // "registry"

/// A key and its value.
type Pair = (Vec<u8>, Vec<u8>);

/// A registry on a PostgreSQL database.
pub(crate) struct PostgresEngine {
    shared: Arc<Shared>,
}

struct Shared {
    reads: Pool,
    /// One connection: the writer's transaction lives on it. `None` on an engine that
    /// reads a standby (see [`PostgresEngine::open_with_standby`]).
    write: Option<Pool>,
}

impl PostgresEngine {
    /// Connects to the database `url` names (a `postgres://` URL or a key=value string)
    /// and creates the table of pairs if it is not there.
    pub(crate) fn open(url: &str) -> Result<PostgresEngine, StoreError> {
        Self::open_with_idle_limit(url, WRITE_IDLE_LIMIT)
    }

    /// [`PostgresEngine::open`], with the write transaction ended by the database after
    /// `idle_limit` with nothing to do (see [`WRITE_IDLE_LIMIT`]).
    pub(crate) fn open_with_idle_limit(
        url: &str,
        idle_limit: Duration,
    ) -> Result<PostgresEngine, StoreError> {
        Self::open_primary(url, idle_limit)
    }

    /// A primary for the writer, and an engine that reads `standby_url` for everything
    /// else (reads and feeds; see the README's "Reads from the standby").
    ///
    /// The writer keeps reading the primary: it checks a group against what is committed
    /// there, under the writers' lock, which a standby cannot show it. The standby must be
    /// the primary's synchronous one: every commit waits until it has applied the group
    /// (see [`open_primary`](Self::open_primary)), so a read there sees every write
    /// acknowledged to anyone.
    pub(crate) fn open_with_standby(
        primary_url: &str,
        standby_url: &str,
    ) -> Result<(PostgresEngine, PostgresEngine), StoreError> {
        let primary = Self::open_primary(primary_url, WRITE_IDLE_LIMIT)?;
        let reads = Pool::new(
            standby_url,
            READ_CONNECTIONS,
            "registry-pg-standby",
            "",
            Role::Standby,
        )?;
        // Connects now, so a wrong URL fails the open.
        reads.call(|_| Ok(()))?;
        let standby = PostgresEngine {
            shared: Arc::new(Shared { reads, write: None }),
        };
        Ok((primary, standby))
    }

    /// An engine on the primary. Its commits wait until a synchronous standby, if the
    /// primary has one, has applied them (`synchronous_commit = remote_apply`), not only
    /// stored them: whichever server took a write, once it is acknowledged a server that
    /// reads the standby shows it. Without a standby this is the default's wait for the
    /// local disk.
    fn open_primary(url: &str, idle_limit: Duration) -> Result<PostgresEngine, StoreError> {
        let setup = format!(
            "SET idle_in_transaction_session_timeout = {}; SET synchronous_commit = remote_apply; \
             SET bytea_output = 'hex'",
            idle_limit.as_millis().max(1)
        );
        let write = Pool::new(url, 1, "registry-pg-write", &setup, Role::Primary)?;
        // Connects (and makes the table) now, so a wrong URL fails the open.
        write.call(|_| Ok(()))?;
        Ok(PostgresEngine {
            shared: Arc::new(Shared {
                reads: Pool::new(url, READ_CONNECTIONS, "registry-pg-read", "", Role::Primary)?,
                write: Some(write),
            }),
        })
    }
}

impl Shared {
    /// The write connection; an engine reading a standby has none.
    fn write(&self) -> Result<&Pool, StoreError> {
        self.write.as_ref().ok_or_else(|| StoreError::Storage {
            fault: StorageFault::ReadOnly,
            detail: "this engine reads a standby; writes go to the primary".into(),
        })
    }

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
        let key = key.to_vec();
        self.shared.reads.call(move |session| {
            let row = session
                .client
                .query_opt(&session.get, &[&key])
                .map_err(error)?;
            Ok(row.map(|row| row.get(0)))
        })
    }

    /// One query for all the keys.
    fn get_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let asked = keys.to_vec();
        let found: HashMap<Vec<u8>, Vec<u8>> = self.shared.reads.call(move |session| {
            let rows = session
                .client
                .query(&session.get_many, &[&asked])
                .map_err(error)?;
            Ok(rows
                .into_iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect())
        })?;
        // A key asked twice is answered twice.
        Ok(keys.iter().map(|key| found.get(key).cloned()).collect())
    }

    /// One query for all the ranges.
    fn keys_in_ranges(&self, ranges: &[KeyRange]) -> Result<Vec<Vec<Vec<u8>>>, StoreError> {
        if ranges.is_empty() {
            return Ok(Vec::new());
        }
        let (starts, ends, limits) = range_parameters(ranges);
        let rows = self.shared.reads.call(move |session| {
            session
                .client
                .query(&session.keys_in_ranges, &[&starts, &ends, &limits])
                .map_err(error)
        })?;
        let mut gathered = Gathered::new(ranges.len());
        for row in rows {
            gathered.add(row.get(0), row.get(1), || {
                Err(gathered::unreadable("a key read in a range's rows"))
            })?;
        }
        Ok(gathered.into_reads(&[]).ranges)
    }

    /// One query for the keys and the ranges together (each on its own when the other
    /// is empty).
    fn read_many(
        &self,
        keys: &[Vec<u8>],
        ranges: &[KeyRange],
    ) -> Result<FirstReads<Vec<u8>>, StoreError> {
        if keys.is_empty() || ranges.is_empty() {
            return Ok(FirstReads {
                values: self.get_many(keys)?,
                ranges: self.keys_in_ranges(ranges)?,
            });
        }
        let asked = keys.to_vec();
        let (starts, ends, limits) = range_parameters(ranges);
        let rows = self.shared.reads.call(move |session| {
            session
                .client
                .query(&session.read_many, &[&asked, &starts, &ends, &limits])
                .map_err(error)
        })?;
        let mut gathered = Gathered::new(ranges.len());
        for row in rows {
            let value: Option<Vec<u8>> = row.get(2);
            gathered.add(row.get(0), row.get(1), || {
                value.ok_or_else(|| gathered::unreadable("a key without its value"))
            })?;
        }
        Ok(gathered.into_reads(keys))
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
        self.shared.write()?.call(move |session| {
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
        })
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.shared.write()?.call(|session| {
            if session.in_transaction {
                session.in_transaction = false;
                session.client.batch_execute("COMMIT").map_err(error)?;
            }
            Ok(())
        })
    }

    fn opened_in_fault(&self) -> Option<StoreError> {
        None
    }

    fn is_shared(&self) -> bool {
        true
    }

    /// A flush is the group's `COMMIT`: once it failed, the group failed.
    fn flush_can_retry(&self) -> bool {
        false
    }

    /// Opens the write transaction and takes the writers' lock in it: an advisory lock
    /// held to the transaction's end, so the group's `COMMIT` (or a rollback, or the
    /// connection's loss when a server dies) lets the next writer in. Writers on every
    /// server thus take revisions one group after another, and revision order is commit
    /// order. (An advisory lock rather than `SELECT ... FOR UPDATE` on the revision's
    /// row: a new database has no such row to lock.)
    fn begin_group(&self) -> Result<(), StoreError> {
        self.shared.write()?.call(|session| {
            // One round trip for both.
            let begin = match session.in_transaction {
                true => "",
                false => "BEGIN;",
            };
            session
                .client
                .batch_execute(&format!(
                    "{begin} SELECT pg_advisory_xact_lock({WRITERS_LOCK})"
                ))
                .map_err(error)?;
            session.in_transaction = true;
            Ok(())
        })
    }

    /// One round trip: the transaction, the writers' lock, then (a statement of its own,
    /// so it reads what the last holder committed) the keys and ranges, in the write
    /// transaction. On the simple query protocol, the only one that sends several
    /// statements at once; its text answers carry the bytes in hex.
    fn begin_group_reading(
        &self,
        keys: &[Vec<u8>],
        ranges: &[KeyRange],
    ) -> Result<FirstReads<Vec<u8>>, StoreError> {
        let (asked, ranges_asked) = (keys, ranges.len());
        let statement = first_reads_sql(keys, ranges);
        let rows = self.shared.write()?.call(move |session| {
            let begin = match session.in_transaction {
                true => "",
                false => "BEGIN;",
            };
            let messages = session
                .client
                .simple_query(&format!(
                    "{begin} SELECT pg_advisory_xact_lock({WRITERS_LOCK}); {statement}"
                ))
                .map_err(error)?;
            session.in_transaction = true;
            Ok(messages)
        })?;
        first_reads(rows, asked, ranges_asked)
    }

    /// Rolls the open transaction back (a failed call already dropped its connection,
    /// which rolls it back too).
    fn recover(&self, _error: &StoreError) -> Result<(), StoreError> {
        let Some(write) = &self.shared.write else {
            return Ok(());
        };
        let rolled_back = write.call(|session| {
            if session.in_transaction {
                session.in_transaction = false;
                session.client.batch_execute("ROLLBACK").map_err(error)?;
            }
            Ok(())
        });
        match rolled_back {
            // The connection is gone, and its transaction with it.
            Err(StoreError::Storage { .. }) | Ok(()) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// Ok once the write connection reaches a database that takes writes.
    fn probe(&self) -> Result<(), StoreError> {
        self.shared.write()?.call(|session| {
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

/// A scan read a page at a time.
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
            let rows = self.shared.page(from, self.to.clone(), self.page)?;
            if rows.len() as i64 == self.page {
                self.next = rows
                    .last()
                    .map(|(last, _)| [last.as_slice(), &[0]].concat());
                self.page = (self.page * 2).min(MOST_PAGE);
            }
            self.buffer.extend(rows);
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
