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

    let mut changes = Vec::new();
    let mut last_scanned = after;
    let mut full = false;
    for revision in revisions {
        let revision = revision?;
        if revision > current {
            break;
        }
        if changes.len() == limit {
            full = true;
            break;
        }
        let key = keys::change(revision);
        let Some(bytes) = engine.get(&key)? else {
            let oldest = oldest_revision(engine)?;
            if revision < oldest {
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
        let event: ChangeEvent = codec::decode(&key, &bytes)?;
        if principal.is_some_and(|p| p != event.principal) {
            last_scanned = revision;
            continue;
        }
        let teacher = match &event.teacher_id {
            Some(id) => {
                let record_key = keys::record(id);
                match engine.get(&record_key)? {
                    Some(bytes) => Some(codec::decode(&record_key, &bytes)?),
                    // A retired number's MERGED change carries the survivor.
                    None if event.kind == crate::domain::ChangeKind::Merged => {
                        survivor_of(engine, id)?
                    }
                    None => None,
                }
            }
            None => None,
        };
        let case = match &event.case_id {
            Some(id) => cases::get(engine, id)?.map(|case| CaseView { case, clock: None }),
            None => None,
        };
        changes.push(ChangeEntry {
            event,
            teacher,
            case,
        });
        last_scanned = revision;
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
    Ok(match engine.get(keys::META_REVISION)? {
        Some(bytes) => codec::decode(keys::META_REVISION, &bytes)?,
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
