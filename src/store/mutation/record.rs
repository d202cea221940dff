//! A teacher's record as staged: the record, its index entries and counters, its change
//! event, each as every write of a teacher stages it.
//!
//! Apart from the mutations' checks (`store::mutation`) because cases, evaluation, the
//! identity operations, restores and `verify` stage or check records the same way, while
//! the mutations' checks call into some of those (a new record's duplicate candidates, the
//! addressing of retired numbers): here the staging names only the keys and the codec.

use crate::domain::{ChangeEvent, DomainError, Teacher, TeacherFields, TeacherId};
use crate::store::writer::Staged;
use crate::store::{codec, keys, StoreError};

pub(crate) fn load_teacher(staged: &Staged<'_>, id: &TeacherId) -> Result<Teacher, StoreError> {
    let key = keys::record(id);
    match staged.get(&key)? {
        Some(bytes) => codec::decode(&key, &bytes),
        None => Err(DomainError::NotFound { what: "teacher" }.into()),
    }
}

/// One person, one record: an identity document already indexed (as a record's own or
/// former document) is ALREADY_EXISTS, unless it is `own`'s.
pub(crate) fn refuse_taken_identity(
    staged: &Staged<'_>,
    fields: &TeacherFields,
    own: Option<&TeacherId>,
) -> Result<(), StoreError> {
    let key = keys::identity(&fields.identity);
    match staged.get(&key)? {
        Some(bytes) => {
            let existing: TeacherId = codec::decode(&key, &bytes)?;
            if own == Some(&existing) {
                return Ok(());
            }
            Err(DomainError::AlreadyExists {
                what: "identity document",
                existing,
            }
            .into())
        }
        None => Ok(()),
    }
}

/// Stages a teacher's record, replacing `before`, with the index entries and counters
/// that change with it.
pub(crate) fn stage_record(
    staged: &mut Staged<'_>,
    before: Option<&Teacher>,
    after: &Teacher,
) -> Result<(), StoreError> {
    let record = codec::encode(after);
    let old_entries = before
        .map(|before| index_entries(before, &codec::encode(before)))
        .unwrap_or_default();
    let new_entries = index_entries(after, &record);
    for (key, _) in &old_entries {
        if !new_entries.iter().any(|(new_key, _)| new_key == key) {
            staged.remove(key.clone());
        }
    }
    for entry in new_entries {
        if !old_entries.contains(&entry) {
            staged.insert(entry.0, entry.1);
        }
    }
    let old_counters = before.map(counter_keys).unwrap_or_default();
    let new_counters = counter_keys(after);
    for key in &old_counters {
        if !new_counters.contains(key) {
            add_to_counter(staged, key, -1)?;
        }
    }
    for key in &new_counters {
        if !old_counters.contains(key) {
            add_to_counter(staged, key, 1)?;
        }
    }
    staged.insert(keys::record(&after.id), record);
    Ok(())
}

/// Stages the end of a record (merged into another): the record, its index entries and
/// its counts go, in the same write as whatever takes its place.
pub(crate) fn stage_removal(staged: &mut Staged<'_>, teacher: &Teacher) -> Result<(), StoreError> {
    for (key, _) in index_entries(teacher, &codec::encode(teacher)) {
        staged.remove(key);
    }
    for key in counter_keys(teacher) {
        add_to_counter(staged, &key, -1)?;
    }
    staged.remove(keys::record(&teacher.id));
    Ok(())
}

/// Stages a change event in the log, and in the change index of each county it concerns.
pub(crate) fn stage_change(staged: &mut Staged<'_>, event: &ChangeEvent) {
    staged.insert(keys::change(event.revision), codec::encode(event));
    staged.insert(
        keys::county_change(&event.county_after, event.revision),
        Vec::new(),
    );
    if let Some(before) = event
        .county_before
        .as_ref()
        .filter(|c| **c != event.county_after)
    {
        staged.insert(keys::county_change(before, event.revision), Vec::new());
    }
}

/// The counters a record counts in: its county's current tier, and the legacy title it
/// holds while it awaits the reform transition.
pub(crate) fn counter_keys(teacher: &Teacher) -> Vec<Vec<u8>> {
    let county = &teacher.fields.county_code;
    let mut counters = vec![keys::tier_counter(county, teacher.current_title())];
    if let Ok(plan) = teacher.plan_transition() {
        counters.push(keys::legacy_counter(county, plan.legacy_title));
    }
    counters
}

fn add_to_counter(staged: &mut Staged<'_>, key: &[u8], delta: i64) -> Result<(), StoreError> {
    let count: u64 = match staged.get(key)? {
        Some(bytes) => codec::decode(key, &bytes)?,
        None => 0,
    };
    let count = count
        .checked_add_signed(delta)
        .ok_or_else(|| StoreError::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            detail: format!("counter {count} cannot change by {delta}"),
        })?;
    if count == 0 {
        staged.remove(key.to_vec());
    } else {
        staged.insert(key.to_vec(), codec::encode(&count));
    }
    Ok(())
}

/// Every index entry a record owns, given the record as stored (`record`, its encoding).
/// A county entry holds a copy of the record (see [`keys::COUNTY`]); name and expiry
/// entries are presence keys with no value.
pub(crate) fn index_entries(teacher: &Teacher, record: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let id = codec::encode(&teacher.id);
    let mut entries = Vec::new();
    // Former documents find the record as its own does; former names are searched as
    // its own is (see `domain::former`).
    for document in teacher.all_documents() {
        entries.push((keys::identity(document), id.clone()));
    }
    entries.push((
        keys::county(
            &teacher.fields.county_code,
            &teacher.fields.school,
            &teacher.id,
        ),
        record.to_vec(),
    ));
    for key in name_keys(teacher) {
        entries.push((key, Vec::new()));
    }
    for certificate in &teacher.certificates {
        entries.push((keys::certificate(&certificate.number), id.clone()));
    }
    if let Some(pending) = &teacher.pending_transfer {
        for county in [&teacher.fields.county_code, &pending.to_county] {
            entries.push((keys::transfer(county, &teacher.id), Vec::new()));
        }
    }
    if let Some(expires_on) = teacher.registration_expiry() {
        entries.push((
            keys::registration_expiry(expires_on, &teacher.id),
            Vec::new(),
        ));
    }
    entries.extend(crate::store::identity::keys::block_entries(teacher));
    // Two names (or documents) of one record may share a key: it is one entry.
    let mut seen = std::collections::HashSet::new();
    entries.retain(|(key, _)| seen.insert(key.clone()));
    entries
}

/// The name index keys of a record: its name and former names, in its current county,
/// in that order, each once.
pub(crate) fn name_keys(teacher: &Teacher) -> Vec<Vec<u8>> {
    let mut keys_of: Vec<Vec<u8>> = Vec::new();
    for name in teacher.all_names() {
        let key = keys::name(&teacher.fields.county_code, name, &teacher.id);
        if !keys_of.contains(&key) {
            keys_of.push(key);
        }
    }
    keys_of
}
