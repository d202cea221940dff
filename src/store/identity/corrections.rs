//! Identity corrections in the write path: a proposal, then its approval or rejection by
//! another principal (see [`crate::domain::correction`]).

use crate::clock;
use crate::domain::case::CaseId;
use crate::domain::{
    ChangeEvent, ChangeKind, CorrectionState, DomainError, FormerDocumentReason,
    IdentityCorrection, NewCorrection, TeacherFields,
};
use crate::store::identity::retired::addressed;
use crate::store::identity::{keys, IdentityAnswer};
use crate::store::mutation::{self, refuse_taken_identity, WriteContext};
use crate::store::writer::Staged;
use crate::store::{codec, StoreError};

/// Proposes a correction of a record within the caller's scope. ALREADY_EXISTS when the
/// new document finds another person (their own or former document).
pub(super) fn propose(
    staged: &mut Staged<'_>,
    new: NewCorrection,
    context: &WriteContext,
) -> Result<IdentityAnswer, StoreError> {
    let teacher = addressed(staged, &new.teacher_id, context)?;
    if !context.in_scope(&teacher.fields.county_code) {
        return Err(DomainError::NotFound { what: "teacher" }.into());
    }
    refuse_taken(staged, &new, &teacher.fields)?;
    let id = unused_correction_id(staged)?;
    let now = clock::now();
    let mut correction =
        IdentityCorrection::propose(id, new, &teacher.fields.identity, &context.principal, now)?;
    correction.revision = staged.next_revision();
    stage(
        staged,
        &correction,
        ChangeKind::IdentityCorrectionChanged,
        &teacher.fields,
        now,
        context,
    );
    Ok(IdentityAnswer::Correction {
        correction,
        teacher: None,
    })
}

/// Approves or rejects a pending correction. On approval the record takes the proposed
/// document and keeps the one it replaces as a former document, in the same write.
pub(super) fn review(
    staged: &mut Staged<'_>,
    id: &CaseId,
    approve: bool,
    expected_etag: Option<String>,
    note: &str,
    context: &WriteContext,
) -> Result<IdentityAnswer, StoreError> {
    let key = keys::correction(id);
    let mut correction: IdentityCorrection = match staged.get(&key)? {
        Some(bytes) => codec::decode(&key, &bytes)?,
        None => {
            return Err(DomainError::NotFound {
                what: "identity correction",
            }
            .into())
        }
    };
    let current = addressed(staged, &correction.teacher_id, context)?;
    if !context.in_scope(&current.fields.county_code) {
        return Err(DomainError::NotFound {
            what: "identity correction",
        }
        .into());
    }
    crate::domain::check_etag(expected_etag, correction.etag())?;
    let now = clock::now();
    correction.review(approve, note, &context.principal, now)?;
    if correction.state == CorrectionState::Rejected {
        correction.revision = staged.next_revision();
        stage(
            staged,
            &correction,
            ChangeKind::IdentityCorrectionChanged,
            &current.fields,
            now,
            context,
        );
        return Ok(IdentityAnswer::Correction {
            correction,
            teacher: None,
        });
    }
    // The record may have changed since the proposal: the correction is of the document
    // it had then.
    if current.fields.identity != correction.previous {
        return Err(DomainError::FailedPrecondition {
            reason: "DOCUMENT_CHANGED",
            message: format!(
                "the teacher's identity document changed after correction {} was proposed",
                correction.id
            ),
        }
        .into());
    }
    let mut next = current.clone();
    next.fields.identity = correction.proposed.clone();
    refuse_taken_identity(staged, &next.fields, Some(&current.id))?;
    next.update_time = now;
    next.keep_former_of(&current, now, FormerDocumentReason::Corrected);
    next.revision = staged.next_revision();
    correction.revision = next.revision;
    mutation::stage_record(staged, Some(&current), &next)?;
    crate::store::history::stage_revision(
        staged,
        Some(&current),
        &next,
        ChangeKind::IdentityCorrected,
        context,
    )?;
    stage(
        staged,
        &correction,
        ChangeKind::IdentityCorrected,
        &next.fields,
        now,
        context,
    );
    Ok(IdentityAnswer::Correction {
        correction,
        teacher: Some(next),
    })
}

/// A new document already finding another person is ALREADY_EXISTS naming them.
fn refuse_taken(
    staged: &Staged<'_>,
    new: &NewCorrection,
    fields: &TeacherFields,
) -> Result<(), StoreError> {
    let proposed = TeacherFields {
        identity: new.identity.clone(),
        ..fields.clone()
    };
    refuse_taken_identity(staged, &proposed, Some(&new.teacher_id))
}

/// Stages the correction and its change event at the correction's revision.
fn stage(
    staged: &mut Staged<'_>,
    correction: &IdentityCorrection,
    kind: ChangeKind,
    fields: &TeacherFields,
    now: crate::domain::UnixMicros,
    context: &WriteContext,
) {
    staged.insert(keys::correction(&correction.id), codec::encode(correction));
    let event = ChangeEvent {
        revision: correction.revision,
        teacher_id: Some(correction.teacher_id.clone()),
        case_id: Some(correction.id.clone()),
        kind,
        time: now,
        principal: context.principal.clone(),
        request_id: context.request_id.clone(),
        county_before: Some(fields.county_code.clone()),
        county_after: fields.county_code.clone(),
    };
    mutation::stage_change(staged, &event);
    staged.insert(
        crate::store::keys::META_REVISION.to_vec(),
        codec::encode(&correction.revision),
    );
}

fn unused_correction_id(staged: &Staged<'_>) -> Result<CaseId, StoreError> {
    loop {
        let id = staged.draw(|rng| CaseId::generate(rng));
        if !staged.contains(&keys::correction(&id))?
            && !staged.contains(&crate::store::keys::case(&id))?
        {
            return Ok(id);
        }
    }
}
