//! Merging two records of one person, and undoing it.
//!
//! The survivor keeps its registry number and gains everything the merged record holds:
//! its identity document and former documents (as former documents of the survivor, so
//! they still find the person), its name and former names (as former names), its
//! certificates, its title history (merged in date order) and the numbers merged into it
//! before. Nothing is dropped: where the two disagree (birth dates, sexes, two title
//! entries of one date with different tiers) both are kept and the disagreement is
//! reported for a person to settle with an ordinary update. The merged number is retired
//! for good: it answers the survivor and is never given again.
//!
//! An unmerge takes back, from the survivor as it is then, exactly what the merge brought
//! (the merged record's certificates in their current state, with whatever happened to
//! them since), and restores the merged record under its own number.

use crate::domain::{DomainError, FormerDocumentReason, Teacher, TeacherId, UnixMicros};

/// A merge, kept under the retired number for as long as the registry lives: what both
/// records were just before it, so that it can be undone, and who did it and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRecord {
    pub survivor_id: TeacherId,
    /// The survivor as it was just before the merge.
    pub survivor_before: Teacher,
    /// The merged record as it was just before the merge (its number is `merged.id`).
    pub merged: Teacher,
    pub reason: String,
    pub by: String,
    pub at: UnixMicros,
    /// What disagreed between the two, as reported to whoever merged them.
    pub conflicts: Vec<String>,
    /// Set when the merge was undone: the number is a record again.
    pub undone: Option<Unmerge>,
}

/// Who undid a merge, when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmerge {
    pub by: String,
    pub at: UnixMicros,
    pub reason: String,
}

/// The most characters of a merge's or an unmerge's reason.
pub const MAX_REASON_CHARS: usize = 500;

/// The reason of a merge or an unmerge, trimmed: required, and at most
/// [`MAX_REASON_CHARS`].
pub fn check_reason(reason: &str) -> Result<String, crate::domain::FieldViolation> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(crate::domain::FieldViolation::new(
            "reason",
            "is required: why the two records are one person (or two)",
        ));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(crate::domain::FieldViolation::new(
            "reason",
            format!("is longer than {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(reason.to_string())
}

/// The survivor after taking in `merged`, and what disagreed.
pub fn merge(
    survivor: &Teacher,
    merged: &Teacher,
    at: UnixMicros,
) -> Result<(Teacher, Vec<String>), DomainError> {
    if survivor.id == merged.id {
        return Err(DomainError::invalid(
            "merged_teacher_id",
            "is the survivor itself",
        ));
    }
    let mut conflicts = Vec::new();
    let mut next = survivor.clone();
    let (a, b) = (&survivor.fields, &merged.fields);
    if a.birth_date != b.birth_date {
        conflicts.push(format!(
            "birth_date: the survivor says {}, the merged record {}",
            a.birth_date, b.birth_date
        ));
    }
    if a.gender != b.gender {
        conflicts.push("gender: the two records differ".to_string());
    }
    if a.county_code != b.county_code {
        conflicts.push(format!(
            "county_code: the merged record was in {}",
            b.county_code.as_str()
        ));
    }
    for document in merged.all_documents() {
        next.former
            .keep_document(document, at, FormerDocumentReason::Merged);
    }
    for name in merged.all_names() {
        if name != next.fields.name {
            next.former.keep_name(name, at);
        }
    }
    next.former.retired_ids.push(merged.id.clone());
    next.former
        .retired_ids
        .extend(merged.former.retired_ids.iter().cloned());
    next.certificates
        .extend(merged.certificates.iter().cloned());
    for entry in &merged.title_history {
        if let Some(clash) = next
            .title_history
            .iter()
            .find(|e| e.effective_date == entry.effective_date && e.tier != entry.tier)
        {
            conflicts.push(format!(
                "title_history: on {} the survivor has {:?}, the merged record {:?}; both kept",
                entry.effective_date, clash.tier, entry.tier
            ));
        }
        next.title_history.push(entry.clone());
    }
    // Stable: of one date, the survivor's entries first.
    next.title_history.sort_by_key(|e| e.effective_date);
    Ok((next, conflicts))
}

/// The survivor without what merging `merged` (as it was then) into `survivor_before`
/// brought, and the merged record restored with its certificates as the survivor holds
/// them now. What the survivor had before the merge, and what it gained since, stays.
pub fn unmerge(
    survivor: &Teacher,
    survivor_before: &Teacher,
    merged: &Teacher,
) -> (Teacher, Teacher) {
    let mut kept = survivor.clone();
    let mut restored = merged.clone();
    let brought: Vec<&str> = merged
        .certificates
        .iter()
        .map(|c| c.number.as_str())
        .collect();
    let (theirs, ours): (Vec<_>, Vec<_>) = kept
        .certificates
        .drain(..)
        .partition(|c| brought.contains(&c.number.as_str()));
    kept.certificates = ours;
    restored.certificates = theirs;
    for entry in &merged.title_history {
        if let Some(at) = kept.title_history.iter().rposition(|e| e == entry) {
            kept.title_history.remove(at);
        }
    }
    let documents: Vec<_> = merged.all_documents().cloned().collect();
    kept.former.documents.retain(|d| {
        !documents.contains(&d.identity) || survivor_before.former.had_document(&d.identity)
    });
    let names: Vec<&str> = merged.all_names().collect();
    let had_name = |name: &str| survivor_before.all_names().any(|n| n == name);
    kept.former
        .names
        .retain(|n| !names.contains(&n.name.as_str()) || had_name(&n.name));
    let retired: Vec<_> = std::iter::once(&merged.id)
        .chain(merged.former.retired_ids.iter())
        .collect();
    kept.former.retired_ids.retain(|id| !retired.contains(&id));
    (kept, restored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::stored_teacher;
    use crate::domain::{IdDocumentType, IdentityDocument};
    use rand::SeedableRng;

    fn two() -> (Teacher, Teacher) {
        let survivor = stored_teacher(None, false);
        let mut merged = stored_teacher(None, false);
        merged.id = TeacherId::generate(&mut rand::rngs::StdRng::seed_from_u64(2));
        merged.fields.identity =
            IdentityDocument::from_stored(IdDocumentType::Passport, "E12345678".into());
        merged.fields.name = "王晓明".into();
        (survivor, merged)
    }

    #[test]
    fn a_merge_brings_documents_names_and_the_number_and_an_unmerge_takes_them_back() {
        let (survivor, merged) = two();
        let (after, conflicts) = merge(&survivor, &merged, UnixMicros(5)).unwrap();
        assert!(conflicts.is_empty(), "{conflicts:?}");
        assert!(after.former.had_document(&merged.fields.identity));
        assert!(after.all_names().any(|n| n == "王晓明"));
        assert_eq!(after.former.retired_ids, std::slice::from_ref(&merged.id));
        let (kept, restored) = unmerge(&after, &survivor, &merged);
        assert_eq!(kept, survivor);
        assert_eq!(restored, merged);
    }

    #[test]
    fn disagreements_are_reported_and_a_record_is_not_merged_into_itself() {
        let (survivor, mut merged) = two();
        merged.fields.birth_date = merged.fields.birth_date.succ_opt().unwrap();
        let (_, conflicts) = merge(&survivor, &merged, UnixMicros(5)).unwrap();
        assert_eq!(conflicts.len(), 1);
        assert!(conflicts[0].starts_with("birth_date"), "{conflicts:?}");
        assert!(merge(&survivor, &survivor, UnixMicros(5)).is_err());
    }

    #[test]
    fn a_reason_is_required_and_bounded() {
        assert!(check_reason("  ").is_err());
        assert!(check_reason(&"x".repeat(MAX_REASON_CHARS + 1)).is_err());
        assert_eq!(check_reason(" 同一人 ").unwrap(), "同一人");
    }
}
