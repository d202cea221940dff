//! Backup and restore: a consistent copy of the registry taken while writes go on, and a
//! new registry built from one.
//!
//! The engine offers no snapshot reads (sled has none), and holding the writer for a whole
//! scan would stop every write for minutes. So a backup reads in three steps. It scans
//! every record without stopping anyone (each record it reads is committed, but they are
//! of different moments); then it re-reads the teachers the change log says changed since the scan
//! began, a few times while that list is long; last, the writer, between two groups,
//! when nothing can change, reads the few teachers changed since the previous step and
//! names its revision R. A teacher's latest copy in that sequence is its state at R:
//! one that changed after the scan began was read again after its last change up to R.
//! The change log up to R follows; it cannot change below R, only be trimmed, which the
//! backup detects.
//!
//! A restore goes through the writer too, staging records, index entries, counters and
//! change events with the same functions the mutations use, so a restored registry is
//! built exactly as a written one is, and `verify` can check it.

use std::collections::HashSet;
use std::ops::Bound::{Included, Unbounded};

use crate::domain::{ChangeEvent, DomainError, Teacher, TeacherId};
use crate::store::engine::Engine;
use crate::store::mutation::{index_entries, stage_change, stage_record};
use crate::store::writer::Staged;
use crate::store::{changes, codec, keys, StoreError};

/// The teachers changed after a revision, read by the writer at `revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Nothing had changed after this revision when the teachers were read.
    pub revision: u64,
    /// The oldest revision in the change log at that moment.
    pub oldest_revision: u64,
    pub teachers: Vec<Teacher>,
}

/// One step of a restore, applied by the writer as one atomic group.
#[derive(Debug, Clone)]
pub enum RestorePart {
    /// Teachers to add; none may exist yet, nor hold a key another holds.
    Teachers(Vec<Teacher>),
    /// Change-log events to add.
    Changes(Vec<ChangeEvent>),
    /// The registry's revision, and the oldest revision of its change log.
    Finish { revision: u64, oldest_revision: u64 },
}

/// Up to `limit` teachers in registry-number order, after `after`.
pub(crate) fn teachers_after<E: Engine>(
    engine: &E,
    after: Option<&TeacherId>,
    limit: usize,
) -> Result<Vec<Teacher>, StoreError> {
    let start = match after {
        Some(id) => {
            let mut key = keys::record(id);
            key.push(0);
            key
        }
        None => vec![keys::RECORD],
    };
    let mut teachers = Vec::new();
    for entry in engine.range(Included(&start), Unbounded)? {
        let (key, value) = entry?;
        if key.first() != Some(&keys::RECORD) || teachers.len() == limit {
            break;
        }
        teachers.push(codec::decode(&key, &value)?);
    }
    Ok(teachers)
}

/// The current records of the teachers changed in (`after`, `until`], in the order of
/// their first change there. RESYNC_REQUIRED if the log no longer reaches back to `after`.
pub(crate) fn changed_teachers<E: Engine>(
    engine: &E,
    after: u64,
    until: u64,
) -> Result<Vec<Teacher>, StoreError> {
    let mut seen = HashSet::new();
    let mut teachers = Vec::new();
    for revision in after.saturating_add(1)..=until {
        let key = keys::change(revision);
        let Some(bytes) = engine.get(&key)? else {
            let oldest_revision = changes::oldest_revision(engine)?;
            if revision < oldest_revision {
                return Err(DomainError::ResyncRequired { oldest_revision }.into());
            }
            return Err(StoreError::Corrupt {
                key: format!("l{revision}"),
                detail: "the change log has a gap".into(),
            });
        };
        let event: ChangeEvent = codec::decode(&key, &bytes)?;
        let Some(teacher_id) = event.teacher_id else {
            continue;
        };
        if seen.insert(teacher_id.clone()) {
            let record_key = keys::record(&teacher_id);
            if let Some(bytes) = engine.get(&record_key)? {
                teachers.push(codec::decode(&record_key, &bytes)?);
            }
        }
    }
    Ok(teachers)
}

/// Change-log events in (`after`, `until`], at most `limit`.
pub(crate) fn change_events<E: Engine>(
    engine: &E,
    after: u64,
    until: u64,
    limit: usize,
) -> Result<Vec<ChangeEvent>, StoreError> {
    let mut events = Vec::new();
    let start = keys::change(after.saturating_add(1));
    for entry in engine.range(Included(&start), Unbounded)? {
        let (key, value) = entry?;
        if key.first() != Some(&keys::CHANGE) || events.len() == limit {
            break;
        }
        let event: ChangeEvent = codec::decode(&key, &value)?;
        if event.revision > until {
            break;
        }
        events.push(event);
    }
    Ok(events)
}

/// Stages one step of a restore.
pub(crate) fn stage_restore(staged: &mut Staged<'_>, part: RestorePart) -> Result<(), StoreError> {
    match part {
        RestorePart::Teachers(teachers) => {
            for teacher in &teachers {
                let mut taken = vec![keys::record(&teacher.id)];
                // Only the keys matter here, so no record copy is encoded.
                taken.extend(index_entries(teacher, &[]).into_iter().map(|(key, _)| key));
                for key in taken {
                    if staged.contains(&key)? {
                        return Err(StoreError::Corrupt {
                            key: String::from_utf8_lossy(&key).into_owned(),
                            detail: format!(
                                "teacher {} takes a key another restored teacher holds",
                                teacher.id
                            ),
                        });
                    }
                }
                stage_record(staged, None, teacher)?;
            }
        }
        RestorePart::Changes(events) => {
            for event in &events {
                stage_change(staged, event);
            }
        }
        RestorePart::Finish {
            revision,
            oldest_revision,
        } => {
            staged.insert(keys::META_REVISION.to_vec(), codec::encode(&revision));
            if oldest_revision > 1 {
                staged.insert(
                    keys::META_OLDEST_REVISION.to_vec(),
                    codec::encode(&oldest_revision),
                );
            }
            staged.set_revision(revision);
        }
    }
    Ok(())
}
