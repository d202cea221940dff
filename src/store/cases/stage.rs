//! A case's record and index entries, staged with every change of the case.

use crate::domain::case::Case;
use crate::store::writer::Staged;
use crate::store::{codec, keys, StoreError};

/// Stages `after` in place of `before`: the record, its county-and-date entry, its
/// open-case copy while it is open (removed when it closes), and the report's cells.
pub(crate) fn stage_case(
    staged: &mut Staged<'_>,
    before: Option<&Case>,
    after: &Case,
) -> Result<(), StoreError> {
    super::report::stage_report(staged, before, after)?;
    let record = codec::encode(after);
    let old_entries = before
        .map(|before| case_index_entries(before, &[]))
        .unwrap_or_default();
    let new_entries = case_index_entries(after, &record);
    for (key, _) in &old_entries {
        if !new_entries.iter().any(|(new_key, _)| new_key == key) {
            staged.remove(key.clone());
        }
    }
    for entry in new_entries {
        staged.insert(entry.0, entry.1);
    }
    staged.insert(keys::case(&after.id), record);
    Ok(())
}

/// Every index entry a case owns, given its record as stored.
pub(crate) fn case_index_entries(case: &Case, record: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut entries = vec![(
        keys::county_case(&case.county_code, case.received_on, &case.id),
        Vec::new(),
    )];
    if !case.state.is_closed() {
        entries.push((
            keys::open_case(&case.county_code, &case.id),
            record.to_vec(),
        ));
    }
    entries
}
