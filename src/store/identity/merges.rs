//! Merges in the write path: two records of one person joined under the survivor's
//! number, and a merge undone (see [`crate::domain::merge`]).
//!
//! A merge is one write: the merged record and its index entries and counters go, the
//! survivor is staged with what it gained (so the merged record's documents and
//! certificates now find the survivor), the merge is kept under the retired number, and
//! two change events follow: the survivor's UPDATED, then the retired number's MERGED,
//! which names both counties so each mirror drops the retired record. An unmerge is the
//! same in reverse: the survivor's UPDATED, then the restored record's UNMERGED.

use crate::clock;
use crate::domain::merge::{self, MergeRecord, Unmerge};
use crate::domain::{ChangeEvent, ChangeKind, DomainError, Teacher, TeacherId, UnixMicros};
use crate::store::identity::duplicates::find_for;
use crate::store::identity::{keys, IdentityAnswer};
use crate::store::mutation::{self, load_teacher, WriteContext};
use crate::store::writer::Staged;
use crate::store::{codec, history, StoreError};

use super::types::Side;

/// Merges `merged` into `survivor`. NOT_FOUND for either record missing or outside the
/// caller's scope, ABORTED on a stale etag, INVALID_ARGUMENT for a record merged into
/// itself, FAILED_PRECONDITION (TRANSFER_PENDING) while either has a pending transfer.
pub(super) fn merge(
    staged: &mut Staged<'_>,
    survivor: &Side,
    merged: &Side,
    reason: &str,
    context: &WriteContext,
) -> Result<IdentityAnswer, StoreError> {
    let current = checked(staged, survivor, context)?;
    let gone = checked(staged, merged, context)?;
    // A pending transfer would be lost with the merged record, or cross the merge.
    if current.pending_transfer.is_some() || gone.pending_transfer.is_some() {
        return Err(DomainError::FailedPrecondition {
            reason: "TRANSFER_PENDING",
            message: "a transfer of one of the records is pending: accept or decline it first"
                .into(),
        }
        .into());
    }
    let now = clock::now();
    let (mut next, conflicts) = merge::merge(&current, &gone, now)?;
    // The merged record's entries go first: its documents and certificates are the
    // survivor's keys now.
    mutation::stage_removal(staged, &gone)?;
    next.update_time = now;
    next.revision = staged.next_revision();
    mutation::stage_record(staged, Some(&current), &next)?;
    find_for(staged, Some(&current), &next)?;
    history::stage_revision(staged, Some(&current), &next, ChangeKind::Updated, context)?;
    stage_event(
        staged,
        &next,
        Some(&current),
        ChangeKind::Updated,
        now,
        context,
    );
    let record = MergeRecord {
        survivor_id: current.id.clone(),
        survivor_before: current,
        merged: gone.clone(),
        reason: reason.to_string(),
        by: context.principal.clone(),
        at: now,
        conflicts: conflicts.clone(),
        undone: None,
    };
    staged.insert(keys::merge(&gone.id), codec::encode(&record));
    let revision = staged.next_revision();
    let event = ChangeEvent {
        revision,
        teacher_id: Some(gone.id.clone()),
        case_id: None,
        kind: ChangeKind::Merged,
        time: now,
        principal: context.principal.clone(),
        request_id: context.request_id.clone(),
        county_before: Some(gone.fields.county_code.clone()),
        county_after: next.fields.county_code.clone(),
    };
    mutation::stage_change(staged, &event);
    staged.insert(
        crate::store::keys::META_REVISION.to_vec(),
        codec::encode(&revision),
    );
    Ok(IdentityAnswer::Merged {
        survivor: next,
        conflicts,
    })
}

/// Undoes the merge that retired `merged_id`: the survivor gives back what the merge
/// brought, and the merged record is a record again under its own number; the pair is
/// dismissed with the reason, so it is not offered for merging again. NOT_FOUND for a
/// number no standing merge retired (or either record outside the caller's scope),
/// FAILED_PRECONDITION (SURVIVOR_MERGED) while the survivor is itself merged away.
pub(super) fn unmerge(
    staged: &mut Staged<'_>,
    merged_id: &TeacherId,
    reason: &str,
    context: &WriteContext,
) -> Result<IdentityAnswer, StoreError> {
    let key = keys::merge(merged_id);
    let mut record: MergeRecord = match staged.get(&key)? {
        Some(bytes) => codec::decode(&key, &bytes)?,
        None => return Err(not_merged()),
    };
    if record.undone.is_some() {
        return Err(not_merged());
    }
    let current = match load_teacher(staged, &record.survivor_id) {
        Ok(current) => current,
        Err(StoreError::Rejected(DomainError::NotFound { .. })) => {
            return Err(DomainError::FailedPrecondition {
                reason: "SURVIVOR_MERGED",
                message: format!(
                    "{} was merged into another record since: undo that merge first",
                    record.survivor_id
                ),
            }
            .into())
        }
        Err(e) => return Err(e),
    };
    // Both records are the caller's to act on: the survivor, and the one restored.
    if !context.in_scope(&current.fields.county_code)
        || !context.in_scope(&record.merged.fields.county_code)
    {
        return Err(not_merged());
    }
    let now = clock::now();
    let (mut kept, mut restored) =
        merge::unmerge(&current, &record.survivor_before, &record.merged);
    kept.update_time = now;
    kept.revision = staged.next_revision();
    mutation::stage_record(staged, Some(&current), &kept)?;
    history::stage_revision(staged, Some(&current), &kept, ChangeKind::Updated, context)?;
    stage_event(
        staged,
        &kept,
        Some(&current),
        ChangeKind::Updated,
        now,
        context,
    );
    // Whatever finds the restored record must be free now that the survivor let it go.
    for document in restored.all_documents() {
        let fields = crate::domain::TeacherFields {
            identity: document.clone(),
            ..restored.fields.clone()
        };
        mutation::refuse_taken_identity(staged, &fields, None)?;
    }
    restored.update_time = now;
    restored.revision = staged.next_revision();
    mutation::stage_record(staged, None, &restored)?;
    // Its history goes on from the revision it was merged at.
    history::stage_revision(
        staged,
        Some(&record.merged),
        &restored,
        ChangeKind::Unmerged,
        context,
    )?;
    stage_event(staged, &restored, None, ChangeKind::Unmerged, now, context);
    record.undone = Some(Unmerge {
        by: context.principal.clone(),
        at: now,
        reason: reason.to_string(),
    });
    staged.insert(key, codec::encode(&record));
    // Two people after all: the pair is not offered again.
    let pair = crate::domain::duplicates::ordered(&kept.id, &restored.id);
    let pair_key = keys::pair(&pair.0, &pair.1);
    if let Some(bytes) = staged.get(&pair_key)? {
        let mut stored: crate::domain::duplicates::CandidatePair =
            codec::decode(&pair_key, &bytes)?;
        if stored.dismissal.is_none() {
            stored.dismissal = Some(crate::domain::duplicates::Dismissal {
                by: context.principal.clone(),
                at: now,
                note: format!("unmerged: {reason}"),
            });
            staged.insert(pair_key, codec::encode(&stored));
        }
    }
    Ok(IdentityAnswer::Unmerged {
        survivor: kept,
        restored,
    })
}

/// The record of `side`, within the caller's scope and at the etag they read.
fn checked(
    staged: &Staged<'_>,
    side: &Side,
    context: &WriteContext,
) -> Result<Teacher, StoreError> {
    let teacher = super::retired::addressed(staged, &side.0, context)?;
    if !context.in_scope(&teacher.fields.county_code) {
        return Err(DomainError::NotFound { what: "teacher" }.into());
    }
    if let Some(given) = &side.1 {
        if *given != teacher.etag() {
            return Err(DomainError::StaleEtag {
                given: given.clone(),
                current: teacher.etag(),
            }
            .into());
        }
    }
    Ok(teacher)
}

fn stage_event(
    staged: &mut Staged<'_>,
    teacher: &Teacher,
    before: Option<&Teacher>,
    kind: ChangeKind,
    now: UnixMicros,
    context: &WriteContext,
) {
    let event = ChangeEvent {
        revision: teacher.revision,
        teacher_id: Some(teacher.id.clone()),
        case_id: None,
        kind,
        time: now,
        principal: context.principal.clone(),
        request_id: context.request_id.clone(),
        county_before: before.map(|t| t.fields.county_code.clone()),
        county_after: teacher.fields.county_code.clone(),
    };
    mutation::stage_change(staged, &event);
    staged.insert(
        crate::store::keys::META_REVISION.to_vec(),
        codec::encode(&teacher.revision),
    );
}

fn not_merged() -> StoreError {
    DomainError::NotFound {
        what: "merged teacher",
    }
    .into()
}

/// The merge that retired `id`, if one did and stands.
pub(crate) fn standing<E: crate::store::engine::Engine>(
    engine: &E,
    id: &TeacherId,
) -> Result<Option<MergeRecord>, StoreError> {
    let key = keys::merge(id);
    match engine.get(&key)? {
        Some(bytes) => {
            let record: MergeRecord = codec::decode(&key, &bytes)?;
            Ok(record.undone.is_none().then_some(record))
        }
        None => Ok(None),
    }
}

/// Checks every merge against the records: a standing merge's number has no record and
/// is listed as retired by the record its chain of survivors ends in; an undone merge's
/// number is a record again and listed by none; and every number a record lists as
/// retired has a standing merge. `retired` maps each listed number to its record.
pub(crate) fn verify<E: crate::store::engine::Engine>(
    engine: &E,
    retired: &std::collections::BTreeMap<TeacherId, TeacherId>,
    report: &mut crate::store::VerifyReport,
) -> Result<(), StoreError> {
    let mut merges = std::collections::BTreeSet::new();
    for entry in engine.scan_prefix(&[keys::MERGE])? {
        let (key, value) = entry?;
        report.index_entries += 1;
        let record: MergeRecord = match codec::decode(&key, &value) {
            Ok(record) => record,
            Err(e) => {
                report.problem(format!("a merge record: {e}"));
                continue;
            }
        };
        let id = record.merged.id.clone();
        if keys::merge(&id) != key.as_ref() {
            report.problem(format!("the merge record of {id} is under another number"));
            continue;
        }
        let has_record = engine.get(&crate::store::keys::record(&id))?.is_some();
        match (&record.undone, has_record) {
            (None, true) => report.problem(format!("merged number {id} still has a record")),
            (Some(_), false) => report.problem(format!("unmerged number {id} has no record")),
            _ => {}
        }
        if record.undone.is_some() {
            if let Some(holder) = retired.get(&id) {
                report.problem(format!("{holder} lists {id} as retired after its unmerge"));
            }
            continue;
        }
        merges.insert(id.clone());
        let end = crate::store::changes::survivor_of(engine, &id)?;
        match end {
            Some(survivor) if retired.get(&id) == Some(&survivor.id) => {}
            Some(survivor) => report.problem(format!(
                "merged number {id} answers {}, which does not list it",
                survivor.id
            )),
            None => report.problem(format!("merged number {id} answers no record")),
        }
    }
    for (id, holder) in retired {
        if !merges.contains(id) {
            report.problem(format!(
                "{holder} lists {id} as retired, but no merge stands"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::engine::Engine;
    use crate::store::fixtures::{assert_problem, create_numbered_teachers};
    use crate::store::{IdentityCommand, Store, StoreOptions};

    async fn merge(store: &Store, survivor: &TeacherId, merged: &TeacherId) {
        let command = IdentityCommand::Merge {
            survivor: (survivor.clone(), None),
            merged: (merged.clone(), None),
            reason: "同一人".into(),
        };
        store
            .identity_command(command, WriteContext::new("test", None))
            .await
            .unwrap();
    }

    /// A merged into B, then B into C: A answers C; A's merge waits for B's to be undone;
    /// `verify` follows the chain, and finds a merge record lost.
    #[tokio::test]
    async fn a_chain_of_merges_answers_its_end_and_unwinds_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let ids = create_numbered_teachers(&store, 3).await;
        let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
        merge(&store, b, a).await;
        merge(&store, c, b).await;
        let end = store.get_teacher_or_survivor(a).unwrap().unwrap();
        assert_eq!(end.id, *c);
        assert_eq!(end.former.retired_ids, [b.clone(), a.clone()]);
        let report = store.verify().unwrap();
        assert!(report.is_consistent(), "{:?}", report.problems);

        let unmerge = |merged: &TeacherId| IdentityCommand::Unmerge {
            merged: merged.clone(),
            reason: "两人".into(),
        };
        let refused = store
            .identity_command(unmerge(a), WriteContext::new("test", None))
            .await
            .unwrap_err();
        assert!(
            matches!(
                refused,
                StoreError::Rejected(DomainError::FailedPrecondition {
                    reason: "SURVIVOR_MERGED",
                    ..
                })
            ),
            "{refused:?}"
        );
        store
            .identity_command(unmerge(b), WriteContext::new("test", None))
            .await
            .unwrap();
        assert_eq!(store.get_teacher_or_survivor(a).unwrap().unwrap().id, *b);
        let report = store.verify().unwrap();
        assert!(report.is_consistent(), "{:?}", report.problems);

        // A lost merge record leaves a retired number no merge explains.
        store
            .engine()
            .apply(&[(keys::merge(a).as_slice(), None::<&[u8]>)])
            .unwrap();
        assert_problem(&store, |p| p.contains("no merge stands"));
    }
}
