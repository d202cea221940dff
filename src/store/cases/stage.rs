//! A case's record and index entries, staged with every change of the case.

use crate::domain::case::{Case, WindowRules};
use crate::store::writer::Staged;
use crate::store::{codec, keys, StoreError};

/// Stages `after` in place of `before`: the record, its county-and-date entry, its
/// open-case copy and due-date entry while it is open (removed when it closes, moved when
/// a step moves the due date), and the report's cells. `rules` are the writer's, which
/// the due-date index was built under as the registry opened.
pub(crate) fn stage_case(
    staged: &mut Staged<'_>,
    before: Option<&Case>,
    after: &Case,
    rules: &WindowRules,
) -> Result<(), StoreError> {
    super::report::stage_report(staged, before, after)?;
    let record = codec::encode(after);
    let old_entries = before
        .map(|before| case_index_entries(before, &[], Some(rules)))
        .unwrap_or_default();
    let new_entries = case_index_entries(after, &record, Some(rules));
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

/// Every index entry a case owns, given its record as stored; its due-date entry only
/// with the rules it is worked out under.
pub(crate) fn case_index_entries(
    case: &Case,
    record: &[u8],
    rules: Option<&WindowRules>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
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
    if let Some(key) = rules.and_then(|rules| super::due::due_entry(case, rules)) {
        entries.push((key, Vec::new()));
    }
    entries
}
