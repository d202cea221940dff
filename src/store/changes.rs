//! The change log as a feed: reading changes after a revision (all, or one county's), and
//! planning how much of the log a retention policy lets go.
//!
//! Every read comes from the log on disk, so a reader that falls behind costs the writers
//! nothing and holds no memory; one that falls behind the retained log is told to resync.

use std::ops::Bound::{Included, Unbounded};
use std::time::Duration;

use crate::clock;
use crate::domain::{ChangeEvent, CountyCode, DomainError, Teacher};
use crate::store::cases::{self, CaseView};
use crate::store::engine::Engine;
use crate::store::writer::{Staged, MAX_TRIM};
use crate::store::{codec, keys, StoreError};

/// One change and the teacher's latest state (`None` if the record is gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEntry {
    pub event: ChangeEvent,
    pub teacher: Option<Teacher>,
    /// A case step's case, as it is now.
    pub case: Option<CaseView>,
}

/// A page of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePage {
    pub changes: Vec<ChangeEntry>,
    /// Continue after this revision. When `changes` is empty the reader is up to date here.
    pub next_revision: u64,
}

/// How much of the change log to keep. A change is trimmed once it is outside either
/// limit; with neither set, the log is kept whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep at most this many of the latest changes.
    pub max_changes: Option<u64>,
    /// Keep changes younger than this.
    pub max_age: Option<Duration>,
}

pub(crate) fn oldest_revision<E: Engine>(engine: &E) -> Result<u64, StoreError> {
    Ok(match engine.get(keys::META_OLDEST_REVISION)? {
        Some(bytes) => codec::decode(keys::META_OLDEST_REVISION, &bytes)?,
        None => 1,
    })
}

/// Changes after `after` up to `current`, the last revision known to be on disk (the
/// writer announces it after each flush; a change applied but not yet flushed is not
/// shown, so a crash can never take back a revision a reader has seen).
pub(crate) fn list<E: Engine>(
    engine: &E,
    current: u64,
    after: u64,
    limit: usize,
    county: Option<&CountyCode>,
    principal: Option<&str>,
) -> Result<ChangePage, StoreError> {
    if after > current {
        return Err(DomainError::invalid(
            "after_revision",
            format!("{after} is beyond the registry's revision {current}"),
        )
        .into());
    }
    let oldest = oldest_revision(engine)?;
    if after.saturating_add(1) < oldest {
        return Err(DomainError::ResyncRequired {
            oldest_revision: oldest,
        }
        .into());
    }
    let start = after.saturating_add(1);
    let revisions: Box<dyn Iterator<Item = Result<u64, StoreError>>> = match county {
        Some(county) => Box::new(
            engine
                .range(Included(&keys::county_change(county, start)), Unbounded)?
                .take_while(|entry| {
                    entry.as_ref().map_or(true, |(key, _)| {
                        key.starts_with(&keys::county_change_prefix(county))
                    })
                })
                .map(|entry| {
                    let (key, _) = entry?;
                    keys::revision_of_county_change(&key).ok_or_else(|| corrupt(&key))
                }),
        ),
        None => Box::new(
            engine
                .range(Included(&keys::change(start)), Unbounded)?
                .take_while(|entry| {
                    entry
                        .as_ref()
                        .map_or(true, |(key, _)| key.first() == Some(&keys::CHANGE))
                })
                .map(|entry| {
                    let (key, _) = entry?;
                    keys::revision_of_change(&key).ok_or_else(|| corrupt(&key))
                }),
        ),
    };

    // The revisions are taken in batches as large as the page still has room for, and each
    // batch's events, then their teachers, are read in one `get_many` apiece: on an engine
    // across a network, two round trips a batch instead of two a change.
    let mut revisions = revisions;
    let mut changes = Vec::new();
    let mut last_scanned = after;
    let mut full = false;
    loop {
        let room = limit - changes.len();
        let mut batch = Vec::with_capacity(room.min(MOST_BATCH));
        let mut exhausted = false;
        // At least one: with no room left, one more revision tells whether the page is full.
        while batch.len() < room.clamp(1, MOST_BATCH) {
            match revisions.next().transpose()? {
                Some(revision) if revision <= current => batch.push(revision),
                _ => {
                    exhausted = true;
                    break;
                }
            }
        }
        if room == 0 {
            full = !batch.is_empty();
            break;
        }
        for (revision, entry) in read_batch(engine, &batch, principal)? {
            changes.extend(entry);
            last_scanned = revision;
        }
        if exhausted {
            break;
        }
    }
    // A trim that committed while we scanned may have taken the start of the range: then
    // what we read is not contiguous with `after`.
    let oldest = oldest_revision(engine)?;
    if after.saturating_add(1) < oldest {
        return Err(DomainError::ResyncRequired {
            oldest_revision: oldest,
        }
        .into());
    }
    let next_revision = if full {
        last_scanned
    } else {
        current.max(after)
    };
    Ok(ChangePage {
        changes,
        next_revision,
    })
}

/// The most revisions a feed page reads in one batch (see [`list`]).
const MOST_BATCH: usize = 1024;

/// The changes at `revisions`, each with its teacher's and case's state now; `None` for a
/// change another principal made when `principal` asks for one's own.
fn read_batch<E: Engine>(
    engine: &E,
    revisions: &[u64],
    principal: Option<&str>,
) -> Result<Vec<(u64, Option<ChangeEntry>)>, StoreError> {
    let change_keys: Vec<Vec<u8>> = revisions.iter().map(|r| keys::change(*r)).collect();
    let mut events = Vec::with_capacity(revisions.len());
    for ((revision, key), bytes) in revisions
        .iter()
        .zip(&change_keys)
        .zip(engine.get_many(&change_keys)?)
    {
        let Some(bytes) = bytes else {
            let oldest = oldest_revision(engine)?;
            if *revision < oldest {
                // Trimmed while we read.
                return Err(DomainError::ResyncRequired {
                    oldest_revision: oldest,
                }
                .into());
            }
            return Err(StoreError::Corrupt {
                key: format!("l{revision}"),
                detail: "the change log has a gap".into(),
            });
        };
        let event: ChangeEvent = codec::decode(key, &bytes)?;
        let wanted = principal.is_none_or(|p| p == event.principal);
        events.push((*revision, wanted.then_some(event)));
    }
    let record_keys: Vec<Vec<u8>> = events
        .iter()
        .filter_map(|(_, event)| event.as_ref()?.teacher_id.as_ref())
        .map(keys::record)
        .collect();
    let mut records = engine.get_many(&record_keys)?.into_iter();
    let mut read = Vec::with_capacity(events.len());
    for (revision, event) in events {
        let Some(event) = event else {
            read.push((revision, None));
            continue;
        };
        let teacher = match &event.teacher_id {
            Some(id) => match records.next().flatten() {
                Some(bytes) => Some(codec::decode(&keys::record(id), &bytes)?),
                // A retired number's MERGED change carries the survivor.
                None if event.kind == crate::domain::ChangeKind::Merged => survivor_of(engine, id)?,
                None => None,
            },
            None => None,
        };
        let case = match &event.case_id {
            Some(id) => cases::get(engine, id)?.map(|case| CaseView { case, clock: None }),
            None => None,
        };
        read.push((
            revision,
            Some(ChangeEntry {
                event,
                teacher,
                case,
            }),
        ));
    }
    Ok(read)
}

/// The first revision the retention policy keeps (everything below it may go).
pub(crate) fn retention_cutoff<E: Engine>(
    engine: &E,
    retention: &Retention,
) -> Result<u64, StoreError> {
    let current = read_revision(engine)?;
    let mut keep_from = oldest_revision(engine)?;
    if let Some(max) = retention.max_changes {
        keep_from = keep_from.max(current.saturating_sub(max) + 1);
    }
    if let Some(age) = retention.max_age {
        let horizon = clock::now().0 - i64::try_from(age.as_micros()).unwrap_or(i64::MAX);
        let mut first_young = None;
        for entry in engine.range(Included(&keys::change(keep_from)), Unbounded)? {
            let (key, value) = entry?;
            if key.first() != Some(&keys::CHANGE) {
                break;
            }
            let event: ChangeEvent = codec::decode(&key, &value)?;
            if event.time.0 >= horizon {
                first_young = Some(event.revision);
                break;
            }
        }
        keep_from = keep_from.max(first_young.unwrap_or(current));
    }
    // The latest change always stays, so the feed can tell where it is.
    Ok(keep_from.min(current.max(1)))
}

fn corrupt(key: &[u8]) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(&key[..key.len().min(9)]).into_owned(),
        detail: "not a change-log key".into(),
    }
}

/// The record a retired number was merged into (see
/// [`crate::store::identity::retired::survivor_with`]).
pub(crate) fn survivor_of<E: Engine>(
    engine: &E,
    id: &crate::domain::TeacherId,
) -> Result<Option<Teacher>, StoreError> {
    crate::store::identity::retired::survivor_with(|key| engine.get(key), id)
}

/// The revision of the last committed change (0 for an empty registry).
pub(crate) fn read_revision<E: Engine>(engine: &E) -> Result<u64, StoreError> {
    revision_in(engine.get(keys::META_REVISION)?.as_deref())
}

/// The revision that `value`, read at the revision's key, holds (0 for none).
pub(crate) fn revision_in(value: Option<&[u8]>) -> Result<u64, StoreError> {
    Ok(match value {
        Some(bytes) => codec::decode(keys::META_REVISION, bytes)?,
        None => 0,
    })
}

/// Stages the removal of change-log entries below `keep_from`, with their county index
/// entries, up to [`MAX_TRIM`] of them, and the new oldest revision.
pub(crate) fn trim_changes(staged: &mut Staged<'_>, keep_from: u64) -> Result<u64, StoreError> {
    let oldest: u64 = match staged.get(keys::META_OLDEST_REVISION)? {
        Some(bytes) => codec::decode(keys::META_OLDEST_REVISION, &bytes)?,
        None => 1,
    };
    let until = keep_from
        .min(oldest.saturating_add(MAX_TRIM))
        .min(staged.revision().max(1));
    if until <= oldest {
        return Ok(oldest);
    }
    for revision in oldest..until {
        let key = keys::change(revision);
        if let Some(bytes) = staged.get(&key)? {
            let event: crate::domain::ChangeEvent = codec::decode(&key, &bytes)?;
            staged.remove(keys::county_change(&event.county_after, revision));
            if let Some(before) = &event.county_before {
                staged.remove(keys::county_change(before, revision));
            }
            staged.remove(key);
        }
    }
    staged.insert(keys::META_OLDEST_REVISION.to_vec(), codec::encode(&until));
    Ok(until)
}
