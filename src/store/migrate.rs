//! Moving a registry between engines: sled to PostgreSQL as a city grows, or back.
//!
//! Both engines hold the same pairs (the same keys and versioned values, see
//! [`super::keys`] and [`super::codec`]), so a move is a copy of every pair in key order,
//! in batches, into an empty destination, flushed along the way and at the end. Then it
//! is checked twice: both are read again side by side and must hold exactly the same pairs,
//! and the destination must pass [`super::verify`] (every record, index, counter and the
//! change log).
//!
//! The source must not change while it is copied. A sled directory is locked by whoever
//! has it open, so a running server's is refused; on PostgreSQL the copy holds the writers'
//! lock (see [`Engine::begin_group`]) for its whole length, so servers on it wait.

use std::ops::Bound::Unbounded;

use super::engine::Engine;
use super::{verify, Backend, Location, StoreError, StoreOptions, VerifyReport};

/// Pairs per batch of the copy.
const BATCH: usize = 2_000;
/// Batches between two flushes of the destination.
const BATCHES_PER_FLUSH: usize = 25;

/// What a move copied, and the destination's verify report.
#[derive(Debug)]
pub struct Migrated {
    pub pairs: u64,
    pub bytes: u64,
    pub report: VerifyReport,
}

/// Why a move did not happen or did not check out.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("cannot open {location}: {error}")]
    Open { location: String, error: StoreError },
    #[error("{0} is not empty: a registry moves only into an empty place")]
    NotEmpty(String),
    #[error("the copy differs from the source at pair {0} (key space {1:?})")]
    Differs(u64, char),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Refuses a place that already holds pairs: a registry is built or moved only into an
/// empty one.
pub fn ensure_empty(location: &Location, options: &StoreOptions) -> Result<(), MigrateError> {
    let engine = Backend::open_at(location, options).map_err(|error| MigrateError::Open {
        location: location.to_string(),
        error,
    })?;
    if engine.range(Unbounded, Unbounded)?.next().is_some() {
        return Err(MigrateError::NotEmpty(location.to_string()));
    }
    Ok(())
}

/// Checks the registry at `location` with no server writing meanwhile: on PostgreSQL the
/// check holds the writers' lock, so every server's writes wait until it is done (and a
/// check of a million records takes the better part of a minute).
pub fn verify_at(
    location: &Location,
    options: &StoreOptions,
) -> Result<VerifyReport, MigrateError> {
    let engine = Backend::open_at(location, options).map_err(|error| MigrateError::Open {
        location: location.to_string(),
        error,
    })?;
    engine.begin_group()?;
    let report = verify::verify(&engine);
    // Lets the writers in again (an empty transaction's commit on PostgreSQL).
    engine.flush()?;
    Ok(report?)
}

/// Copies the registry at `from` into the empty `to`, then checks the copy.
pub fn migrate(
    from: &Location,
    to: &Location,
    options: &StoreOptions,
) -> Result<Migrated, MigrateError> {
    let open = |location: &Location| {
        Backend::open_at(location, options).map_err(|error| MigrateError::Open {
            location: location.to_string(),
            error,
        })
    };
    let source = open(from)?;
    let destination = open(to)?;
    if destination.range(Unbounded, Unbounded)?.next().is_some() {
        return Err(MigrateError::NotEmpty(to.to_string()));
    }
    source.begin_group()?;
    let copied = copy(&source, &destination);
    // Lets the source's writers in again (an empty transaction's commit on PostgreSQL).
    source.flush()?;
    let (pairs, bytes) = copied?;
    compare(&source, &destination)?;
    let report = verify::verify(&destination)?;
    Ok(Migrated {
        pairs,
        bytes,
        report,
    })
}

fn copy(source: &Backend, destination: &Backend) -> Result<(u64, u64), StoreError> {
    let mut batch: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::with_capacity(BATCH);
    let (mut pairs, mut bytes, mut batches) = (0u64, 0u64, 0usize);
    for pair in source.range(Unbounded, Unbounded)? {
        let (key, value) = pair?;
        pairs += 1;
        bytes += (key.len() + value.len()) as u64;
        batch.push((key.to_vec(), Some(value.to_vec())));
        if batch.len() == BATCH {
            destination.apply(&batch)?;
            batch.clear();
            batches += 1;
            if batches % BATCHES_PER_FLUSH == 0 {
                destination.flush()?;
            }
        }
    }
    destination.apply(&batch)?;
    destination.flush()?;
    Ok((pairs, bytes))
}

/// Reads both again, side by side: the same pairs, in the same order.
fn compare(source: &Backend, destination: &Backend) -> Result<(), MigrateError> {
    let mut theirs = destination.range(Unbounded, Unbounded)?;
    let mut at = 0u64;
    for pair in source.range(Unbounded, Unbounded)? {
        let (key, value) = pair?;
        let space = key.first().map_or('?', |&b| char::from(b));
        match theirs.next().transpose()? {
            Some((k, v)) if *k == *key && *v == *value => {}
            _ => return Err(MigrateError::Differs(at, space)),
        }
        at += 1;
    }
    match theirs.next().transpose()? {
        None => Ok(()),
        Some((key, _)) => Err(MigrateError::Differs(
            at,
            key.first().map_or('?', |&b| char::from(b)),
        )),
    }
}
