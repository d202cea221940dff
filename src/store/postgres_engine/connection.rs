//! Connections to PostgreSQL, each served by a thread of its own.
//!
//! The `postgres` crate's client is synchronous, and runs a small tokio runtime inside
//! itself: called on a thread that is driving tokio tasks it panics ("cannot start a
//! runtime from within a runtime"). The store calls its engine from such threads (the
//! writer stages inside its own runtime's `block_on`, and `Store::open` runs in `serve`'s
//! async body), so such a caller never touches a client: each connection has a thread of
//! its own, and a call hands that thread a closure and waits on a plain channel for the
//! answer. A thread hop costs microseconds, when a core is free. The one caller on a
//! plain thread that matters, the committer, runs its calls on the write connection
//! itself (see [`Pool::call`]): it writes while every other server waits.
//!
//! A connection that fails is dropped and opened again at its next call, so a restarted
//! database (or a promoted standby behind the same address) is picked up without a
//! restart of the registry.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use postgres::{Client, NoTls, Statement};

use crate::store::{StorageFault, StoreError};

/// The table of pairs: `bytea` compares bytewise, a shorter value first when one is a
/// prefix of the other, as the engine's order demands.
const CREATE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS registry_pairs (k bytea PRIMARY KEY, v bytea NOT NULL)";

/// One open connection and its prepared statements.
pub(super) struct Session {
    pub(super) client: Client,
    pub(super) get: Statement,
    /// The pairs whose keys are in `$1`.
    pub(super) get_many: Statement,
    /// For each place `i` of the arrays `$1`, `$2`, `$3`: `i` (from 1) and the keys from
    /// `$1[i]` (included) below `$2[i]`, at most `$3[i]` of them.
    pub(super) keys_in_ranges: Statement,
    /// Keys from `$1` (included) below `$2`, at most `$3`.
    pub(super) range_below: Statement,
    /// [`Session::get_many`]'s rows as `0, k, v` for the keys of `$1`, then
    /// [`Session::keys_in_ranges`]'s as `i, k, NULL` for the ranges of `$2`, `$3`, `$4`.
    pub(super) read_many: Statement,
    /// Keys from `$1` (included) to the end, at most `$2`.
    pub(super) range_open: Statement,
    /// Sets each key of `$1` to the value of `$2` at the same place (keys distinct).
    pub(super) upsert: Statement,
    /// Removes the keys of `$1`.
    pub(super) delete: Statement,
    /// Whether a transaction is open on this connection (the write connection's).
    pub(super) in_transaction: bool,
}

/// The keys of the ranges whose starts, ends and limits are the parameters from `$first`
/// on, with each range's place (from 1): the `FROM` of a query selecting `r.i` and `p.k`.
fn in_ranges(first: usize) -> String {
    let (starts, ends, limits) = (first, first + 1, first + 2);
    format!(
        "FROM unnest(${starts}::bytea[], ${ends}::bytea[], ${limits}::int8[]) \
         WITH ORDINALITY AS r(lo, hi, n, i) \
         CROSS JOIN LATERAL (SELECT k FROM registry_pairs \
         WHERE k >= r.lo AND k < r.hi ORDER BY k LIMIT r.n) AS p"
    )
}

impl Session {
    /// Connects, runs `setup` (SQL for this connection, may be empty), and prepares the
    /// statements; on a primary, makes the table first if it is not there (a standby
    /// takes no writes, and has the table once the primary made it).
    fn connect(url: &str, setup: &str, role: Role) -> Result<Session, StoreError> {
        let mut client = Client::connect(url, NoTls).map_err(error)?;
        if !setup.is_empty() {
            client.batch_execute(setup).map_err(error)?;
        }
        if role == Role::Primary {
            // The table must be there before statements on it are prepared. Two servers
            // starting at once on an empty database: one creates it.
            let mut transaction = client.transaction().map_err(error)?;
            transaction
                .execute("SELECT pg_advisory_xact_lock(8241024)", &[])
                .map_err(error)?;
            transaction.batch_execute(CREATE_TABLE).map_err(error)?;
            transaction.commit().map_err(error)?;
        }
        let get = client
            .prepare("SELECT v FROM registry_pairs WHERE k = $1")
            .map_err(error)?;
        let get_many = client
            .prepare("SELECT k, v FROM registry_pairs WHERE k = ANY($1)")
            .map_err(error)?;
        let keys_in_ranges = client
            .prepare(&format!("SELECT r.i, p.k {}", in_ranges(1)))
            .map_err(error)?;
        let read_many = client
            .prepare(&format!(
                "SELECT 0::int8, k, v FROM registry_pairs WHERE k = ANY($1) \
                 UNION ALL SELECT r.i, p.k, NULL::bytea {}",
                in_ranges(2)
            ))
            .map_err(error)?;
        let range_below = client
            .prepare("SELECT k, v FROM registry_pairs WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3")
            .map_err(error)?;
        let range_open = client
            .prepare("SELECT k, v FROM registry_pairs WHERE k >= $1 ORDER BY k LIMIT $2")
            .map_err(error)?;
        let upsert = client
            .prepare(
                "INSERT INTO registry_pairs (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
                 ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
            )
            .map_err(error)?;
        let delete = client
            .prepare("DELETE FROM registry_pairs WHERE k = ANY($1)")
            .map_err(error)?;
        Ok(Session {
            client,
            get,
            get_many,
            keys_in_ranges,
            read_many,
            range_below,
            range_open,
            upsert,
            delete,
            in_transaction: false,
        })
    }
}

/// What a pool's connections reach: the primary, or a standby that only serves reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Primary,
    Standby,
}

/// A job for a connection's thread: the session (`None` when it cannot connect, with why).
type Job = Box<dyn FnOnce(Result<&mut Session, StoreError>) -> bool + Send>;

/// Connections on threads of their own, sharing one queue of calls.
pub(super) struct Pool {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// A pool of one connection: its connection, for calls made on the caller's own
    /// thread (see [`Pool::call`]).
    only: Option<Arc<Slot>>,
}

/// One connection, opened on its first call, and what opens it.
struct Slot {
    session: Mutex<Option<Session>>,
    url: String,
    setup: String,
    role: Role,
}

impl Pool {
    /// `size` threads, each connecting to `url` on its first call and then running
    /// `setup` on its connection.
    pub(super) fn new(
        url: &str,
        size: usize,
        name: &str,
        setup: &str,
        role: Role,
    ) -> Result<Pool, StoreError> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut threads = Vec::new();
        let mut slots = Vec::new();
        // The pool's name, seen in `pg_stat_activity`, then the caller's set-up.
        let setup = format!("SET application_name = '{name}'; {setup}");
        for n in 0..size {
            let receiver = receiver.clone();
            let slot = Arc::new(Slot {
                session: Mutex::new(None),
                url: url.to_string(),
                setup: setup.clone(),
                role,
            });
            slots.push(slot.clone());
            let thread = std::thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || serve(&slot, &receiver))
                .map_err(|e| failed(format!("cannot start a database thread: {e}")))?;
            threads.push(thread);
        }
        Ok(Pool {
            jobs: Mutex::new(Some(sender)),
            threads: Mutex::new(threads),
            only: (size == 1).then(|| slots.remove(0)),
        })
    }

    /// Runs `call` on one of the pool's connections and returns its answer. A call that
    /// fails for the connection's sake (`StoreError::Storage`) drops that connection.
    ///
    /// A pool of one connection called from a thread that drives no tokio tasks (the
    /// committer's) runs the call on the caller's thread, with the connection taken from
    /// its own: the writers' lock is held over a group's writes and commit, and two hops
    /// between threads a call, on two busy cores, are time no other server can write.
    /// Calls on a thread that does drive tasks go to the connection's thread (the module
    /// doc says why).
    pub(super) fn call<T: Send + 'static>(
        &self,
        call: impl FnOnce(&mut Session) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |session| {
            let result = session.and_then(call);
            let broken = matches!(&result, Err(StoreError::Storage { .. }));
            let _ = reply.send(result);
            broken
        });
        let open = self
            .jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        match &self.only {
            Some(slot) if open && tokio::runtime::Handle::try_current().is_err() => {
                slot.run(job);
            }
            _ => {
                let sent = match &*self.jobs.lock().unwrap_or_else(PoisonError::into_inner) {
                    Some(jobs) => jobs.send(job).is_ok(),
                    None => false,
                };
                if !sent {
                    return Err(failed("the database connections are closed".into()));
                }
            }
        }
        answer
            .recv()
            .map_err(|_| failed("a database thread stopped".into()))?
    }
}

impl Drop for Pool {
    /// Closes the queue and waits for the threads, which close the connections, so they
    /// (and an open, uncommitted transaction, rolled back) are gone when the engine is.
    fn drop(&mut self) {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        for thread in threads {
            let _ = thread.join();
        }
    }
}

/// A connection's thread: takes calls until the queue closes, then closes the connection
/// here. A client closes itself on its own small runtime, which panics on a thread that
/// drives tokio tasks, as the thread that drops the pool may.
fn serve(slot: &Slot, jobs: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let job = match jobs.lock().unwrap_or_else(PoisonError::into_inner).recv() {
            Ok(job) => job,
            Err(_) => break,
        };
        slot.run(job);
    }
    slot.session
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
}

impl Slot {
    /// Runs `job` on the connection, connecting as needed.
    fn run(&self, job: Job) {
        let mut session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        if session.as_ref().is_some_and(|s| s.client.is_closed()) {
            let lost_transaction = session.as_ref().is_some_and(|s| s.in_transaction);
            *session = None;
            // A transaction dies with its connection: its writes are rolled back, and
            // so is the writers' lock. A call made in it (the group's next batch, its
            // COMMIT) must fail, not run on a new connection outside it: a COMMIT there
            // would commit nothing and answer OK, and a batch would write without the
            // lock.
            if lost_transaction {
                job(Err(failed(
                    "the connection to the database was lost in a transaction, which is rolled back".into(),
                )));
                return;
            }
        }
        if session.is_none() {
            match Session::connect(&self.url, &self.setup, self.role) {
                Ok(opened) => *session = Some(opened),
                Err(e) => {
                    job(Err(e));
                    return;
                }
            }
        }
        let broken = job(Ok(session.as_mut().expect("connected")));
        if broken {
            // A transaction left open by a failed statement is aborted: the connection
            // is opened afresh rather than trusted again.
            *session = None;
        }
    }
}

/// A PostgreSQL error told as the store's, without the server's DETAIL line: it may
/// quote a key, and keys hold identity numbers.
pub(super) fn error(e: postgres::Error) -> StoreError {
    use postgres::error::SqlState;
    match e.as_db_error() {
        Some(db) => {
            let fault = match db.code() {
                c if *c == SqlState::DISK_FULL => StorageFault::DiskFull,
                c if *c == SqlState::READ_ONLY_SQL_TRANSACTION => StorageFault::ReadOnly,
                _ => StorageFault::Failed,
            };
            StoreError::Storage {
                fault,
                detail: format!("PostgreSQL {}: {}", db.code().code(), db.message()),
            }
        }
        None => failed(format!("PostgreSQL: {e}")),
    }
}

pub(super) fn failed(detail: String) -> StoreError {
    StoreError::Storage {
        fault: StorageFault::Failed,
        detail,
    }
}
