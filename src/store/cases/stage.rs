//! A case's record and index entries, staged with every change of the case; and the
//! open cases' due-date index rebuilt as the registry opens.
//!
//! The open cases by due date ([`keys::OPEN_CASE_DUE`]): the write path keeps one entry
//! per open case, under the day its committed limit runs out, so that "what is overdue",
//! "what falls due by Friday" and the report's "open past the limit now" read the cases
//! due by a day instead of decoding every open case a county has.
//!
//! A due date is worked out from the case and the window rules, and the rules are the
//! operator's to correct (a holiday added to the calendar moves every due date after it).
//! So the store keeps the rules the entries were worked out under, and a registry opened
//! under other rules, or written by a release without the index, has it rebuilt from the
//! open cases as it opens. A case whose clock stands still (a supplement asked for) has no
//! due date, yet may have used up its limit before the clock stopped: it sits under day
//! zero, read by every question about overdue cases and left out by the reader's own test.
//! Every entry read is a candidate only: the reader decides from the case's clock, so the
//! answers are those the open cases themselves give.

use crate::domain::case::{Case, WindowRules};
use crate::store::engine::Engine;
use crate::store::writer::Staged;
use crate::store::{codec, keys, StoreError};

/// Entries rebuilt per batch, so a rebuild holds bounded memory.
const BATCH: usize = 10_000;

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
    if let Some(key) = rules.and_then(|rules| due_entry(case, rules)) {
        entries.push((key, Vec::new()));
    }
    entries
}

/// The due-date entry `case` owns under `rules`; none once it is closed.
pub(crate) fn due_entry(case: &Case, rules: &WindowRules) -> Option<Vec<u8>> {
    if case.state.is_closed() {
        return None;
    }
    // The due date does not depend on the day asked: only how much is used does.
    let clock = case.clock(rules, case.received_on)?;
    Some(keys::open_case_due(
        &case.county_code,
        clock.due_on,
        &case.id,
    ))
}

/// The rules the stored entries were worked out under, if they were built: `Err` with the
/// reason when the stored text does not read as rules.
pub(crate) fn stored_rules<E: Engine>(engine: &E) -> Result<Option<WindowRules>, String> {
    let text = match engine.get(keys::META_CASE_DUE_RULES) {
        Ok(Some(bytes)) => rules_text(&bytes).ok_or("the due-date index's rules do not decode")?,
        Ok(None) => return Ok(None),
        Err(e) => return Err(format!("the due-date index's rules: {e}")),
    };
    WindowRules::parse(&text)
        .map(Some)
        .map_err(|e| format!("the due-date index's rules: {e}"))
}

fn rules_text(bytes: &[u8]) -> Option<String> {
    let bytes: Vec<u8> = codec::decode(keys::META_CASE_DUE_RULES, bytes).ok()?;
    String::from_utf8(bytes).ok()
}

/// Builds the index as the registry opens, unless it was built under `rules` already: a
/// registry of an earlier release has none, and one opened under corrected rules has
/// entries under the old due dates. Answers how many entries it wrote. The rules are
/// removed first and written last, so a rebuild cut short is done again at the next open.
pub(crate) fn fill_due_index<E: Engine>(
    engine: &E,
    rules: &WindowRules,
) -> Result<u64, StoreError> {
    let text = rules.to_text();
    if let Some(bytes) = engine.get(keys::META_CASE_DUE_RULES)? {
        if rules_text(&bytes).as_deref() == Some(text.as_str()) {
            return Ok(0);
        }
    }
    let mut batch: Vec<(Vec<u8>, Option<Vec<u8>>)> =
        vec![(keys::META_CASE_DUE_RULES.to_vec(), None)];
    for entry in engine.scan_prefix(&[keys::OPEN_CASE_DUE])? {
        let (key, _) = entry?;
        batch.push((key.to_vec(), None));
        if batch.len() >= BATCH {
            engine.apply(&batch)?;
            batch.clear();
        }
    }
    engine.apply(&batch)?;
    batch.clear();
    let mut filled = 0;
    for entry in engine.scan_prefix(&[keys::OPEN_CASE])? {
        let (key, value) = entry?;
        // An open-case copy that does not decode is left for `verify` to report.
        let Ok(case) = codec::decode::<Case>(&key, &value) else {
            continue;
        };
        if let Some(due_key) = due_entry(&case, rules) {
            batch.push((due_key, Some(Vec::new())));
            filled += 1;
        }
        if batch.len() >= BATCH {
            engine.apply(&batch)?;
            batch.clear();
        }
    }
    batch.push((
        keys::META_CASE_DUE_RULES.to_vec(),
        Some(codec::encode(&text.into_bytes())),
    ));
    engine.apply(&batch)?;
    engine.flush()?;
    if filled > 0 {
        tracing::info!(
            filled,
            "open cases indexed by due date under the window rules"
        );
    }
    Ok(filled)
}
