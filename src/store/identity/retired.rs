//! Writes addressed to a registry number a merge retired.
//!
//! A retired number reads as its survivor (GetTeacher), but a write to it must not land
//! on the survivor unasked: the caller's client holds the old number and a picture of the
//! merged record, not of the survivor. So every write that names a teacher by number
//! loads it through [`addressed`], the one place that tells a retired number from a
//! missing one: FAILED_PRECONDITION (`TEACHER_MERGED`, naming the survivor) for a caller
//! who may see the survivor, and to anyone else exactly the NOT_FOUND a number that never
//! existed gets, so no answer tells another county's records apart. Nothing is staged.

use crate::domain::{DomainError, Teacher, TeacherId};
use crate::store::mutation::WriteContext;
use crate::store::writer::Staged;
use crate::store::{codec, keys as record_keys, StoreError};

/// The record `id` names, as stored, for a write (the caller still checks its scope, by
/// its own rule); for a number no record holds, why not: `TEACHER_MERGED` when a
/// standing merge retired it and the survivor is within the caller's scope, else
/// NOT_FOUND.
pub(crate) fn addressed(
    staged: &Staged<'_>,
    id: &TeacherId,
    context: &WriteContext,
) -> Result<Teacher, StoreError> {
    let key = record_keys::record(id);
    if let Some(bytes) = staged.get(&key)? {
        return codec::decode(&key, &bytes);
    }
    match survivor_with(|key| staged.get(key), id)? {
        Some(survivor) if context.in_scope(&survivor.fields.county_code) => {
            Err(DomainError::TeacherMerged {
                retired: id.clone(),
                survivor: survivor.id,
            }
            .into())
        }
        _ => Err(DomainError::NotFound { what: "teacher" }.into()),
    }
}

/// The record a retired number was merged into, following later merges of that one
/// (`None` for a number no standing merge retired), read through `get` (the engine, or a
/// writer's staged view). Each merge retires a number for good, so the chain is no longer
/// than the registry's merges; the bound only guards against a damaged store.
pub(crate) fn survivor_with<B: AsRef<[u8]>>(
    mut get: impl FnMut(&[u8]) -> Result<Option<B>, StoreError>,
    id: &TeacherId,
) -> Result<Option<Teacher>, StoreError> {
    let mut id = id.clone();
    for _ in 0..1000 {
        let merge_key = super::keys::merge(&id);
        let Some(bytes) = get(&merge_key)? else {
            return Ok(None);
        };
        let merge: crate::domain::merge::MergeRecord = codec::decode(&merge_key, bytes.as_ref())?;
        if merge.undone.is_some() {
            return Ok(None);
        }
        id = merge.survivor_id;
        let key = record_keys::record(&id);
        if let Some(bytes) = get(&key)? {
            return Ok(Some(codec::decode(&key, bytes.as_ref())?));
        }
    }
    Ok(None)
}
