//! What each mutation does, checked against the current state inside the writer.
//!
//! Every accepted mutation ends in [`commit_record`], the one place that writes a teacher
//! record together with its index entries, its change event and the new revision.

use crate::clock;

use crate::domain::{
    sex_code_warning, ChangeEvent, ChangeKind, DomainError, FormerDocumentReason, ImportMode,
    ImportRow, Teacher, TeacherFields, TeacherId,
};
use crate::store::codec::NewRequest;
use crate::store::format::{Fingerprint, Remembered};
use crate::store::requests::{self, Recall};
use crate::store::writer::Staged;
use crate::store::{codec, history, keys, transfers, StoreError};

mod record;
mod types;

pub(crate) use record::{
    counter_keys, index_entries, load_teacher, name_keys, refuse_taken_identity, stage_change,
    stage_record, stage_removal,
};
pub(crate) use types::Mutation;
pub use types::{Effect, Outcome, Target, TeacherChange, WriteContext};

/// Applies `mutation` to `staged`. A request id recorded inside `window`
/// replays its first answer; an older one has expired, and the request is treated as new.
pub(crate) fn apply(
    staged: &mut Staged<'_>,
    mutation: Mutation,
    context: &WriteContext,
    window: &crate::store::request_quota::RequestWindow,
) -> Result<Outcome, StoreError> {
    let fingerprint = Fingerprint::of(&mutation);
    // Import rows have no fingerprint: they are never replayed by request id.
    let request_id = context
        .request_id
        .as_ref()
        .filter(|_| context.replayable && fingerprint.is_some());
    let remember_under = match requests::recall(
        staged,
        &context.principal,
        request_id,
        window,
        |record| match record.outcome {
            Remembered::Teacher(outcome) if record.fingerprint.matches(&mutation) => Some(outcome),
            _ => None,
        },
    )? {
        Recall::Replay(outcome) => return Ok(outcome),
        Recall::New(key) => key,
    };

    let outcome = match mutation {
        Mutation::CreateTeacher { fields, warnings } => {
            create_teacher(staged, fields, warnings, context)?
        }
        Mutation::ChangeTeacher {
            target,
            expected_etag,
            change,
        } => change_teacher(staged, &target, expected_etag, change, context)?,
        Mutation::Import { row, mode } => import_row(staged, row, mode, context)?,
    };

    if let (Some(key), Some(Fingerprint::V2(fingerprint))) = (remember_under, fingerprint) {
        requests::remember(staged, key, window, |recorded_at| {
            codec::encode(&NewRequest {
                fingerprint,
                outcome: &outcome,
                recorded_at,
            })
        })?;
    }
    Ok(outcome)
}

pub(super) fn create_teacher(
    staged: &mut Staged<'_>,
    fields: TeacherFields,
    warnings: Vec<String>,
    context: &WriteContext,
) -> Result<Outcome, StoreError> {
    context.check_scope(&fields.county_code)?;
    refuse_taken_identity(staged, &fields, None)?;
    let id = unused_teacher_id(staged)?;
    let now = clock::now();
    let teacher = Teacher {
        id,
        fields,
        certificates: Vec::new(),
        title_history: Vec::new(),
        former: crate::domain::Former::default(),
        revision: staged.next_revision(),
        create_time: now,
        update_time: now,
        pending_transfer: None,
    };
    commit_record(staged, None, &teacher, ChangeKind::Created, context)?;
    Ok(Outcome {
        teacher,
        warnings,
        effect: Effect::Created,
    })
}

fn import_row(
    staged: &mut Staged<'_>,
    row: ImportRow,
    mode: ImportMode,
    context: &WriteContext,
) -> Result<Outcome, StoreError> {
    context.check_scope(&row.fields.county_code)?;
    let identity_key = keys::identity(&row.fields.identity);
    let existing: Option<TeacherId> = match staged.get(&identity_key)? {
        Some(bytes) => Some(codec::decode(&identity_key, &bytes)?),
        None => None,
    };
    let now = clock::now();
    let current = match (existing, mode) {
        (Some(existing), ImportMode::CreateOnly) => {
            return Err(DomainError::AlreadyExists {
                what: "identity document",
                existing,
            }
            .into())
        }
        (Some(id), ImportMode::Upsert) => {
            let current = load_teacher(staged, &id)?;
            // A former document of the record: the row would undo its correction.
            if current.fields.identity != row.fields.identity {
                return Err(DomainError::AlreadyExists {
                    what: "identity document",
                    existing: id,
                }
                .into());
            }
            // Another county's holder: the duplicate a create would meet, and no more
            // (PERMISSION_DENIED here would tell an upsert from a create-only row).
            if !context.in_scope(&current.fields.county_code) {
                return Err(DomainError::AlreadyExists {
                    what: "identity document",
                    existing: id,
                }
                .into());
            }
            Some(current)
        }
        (None, _) => None,
    };
    let mut next = match &current {
        Some(current) => current.clone(),
        None => Teacher {
            id: unused_teacher_id(staged)?,
            fields: row.fields.clone(),
            certificates: Vec::new(),
            title_history: Vec::new(),
            former: crate::domain::Former::default(),
            revision: 0,
            create_time: now,
            update_time: now,
            pending_transfer: None,
        },
    };
    for imported in &row.certificates {
        if !next
            .certificates
            .iter()
            .any(|c| c.number == imported.certificate.number)
        {
            refuse_taken_certificate(staged, &imported.certificate.number)?;
        }
    }
    next.merge_import(&row, &context.principal, now)?;
    // An imported former document finds the record as its own does: one that finds
    // another person is refused as its own document would be.
    for former in &next.former.documents {
        let key = keys::identity(&former.identity);
        if let Some(bytes) = staged.get(&key)? {
            let existing: TeacherId = codec::decode(&key, &bytes)?;
            if existing != next.id {
                return Err(DomainError::AlreadyExists {
                    what: "former identity document",
                    existing,
                }
                .into());
            }
        }
    }
    if current
        .as_ref()
        .is_some_and(|c| c.fields.county_code != next.fields.county_code)
    {
        next.pending_transfer = None;
    }
    let (kind, effect) = match &current {
        None => (ChangeKind::Created, Effect::Created),
        Some(current) if *current == next => {
            return Ok(Outcome {
                teacher: next,
                warnings: row.warnings,
                effect: Effect::Unchanged,
            })
        }
        Some(_) => (ChangeKind::Updated, Effect::Updated),
    };
    if let Some(current) = &current {
        next.keep_former_of(current, now, FormerDocumentReason::Updated);
    }
    next.revision = staged.next_revision();
    next.update_time = now;
    commit_record(staged, current.as_ref(), &next, kind, context)?;
    Ok(Outcome {
        teacher: next,
        warnings: row.warnings,
        effect,
    })
}

/// A fresh registry number that no record holds and no merge retired.
pub(crate) fn unused_teacher_id(staged: &Staged<'_>) -> Result<TeacherId, StoreError> {
    loop {
        let id = staged.draw(|rng| TeacherId::generate(rng));
        if !staged.contains(&keys::record(&id))?
            && !staged.contains(&crate::store::identity::keys::merge(&id))?
        {
            return Ok(id);
        }
    }
}

pub(super) fn change_teacher(
    staged: &mut Staged<'_>,
    target: &Target,
    expected_etag: Option<String>,
    change: TeacherChange,
    context: &WriteContext,
) -> Result<Outcome, StoreError> {
    let current = match target {
        Target::Teacher(id) => crate::store::identity::retired::addressed(staged, id, context)?,
        Target::Certificate(number) => {
            let key = keys::certificate(number);
            let id: TeacherId = match staged.get(&key)? {
                Some(bytes) => codec::decode(&key, &bytes)?,
                None => {
                    return Err(DomainError::NotFound {
                        what: "certificate",
                    }
                    .into())
                }
            };
            load_teacher(staged, &id)?
        }
    };
    // Another county's teacher is one this caller may not act on: it answers as a missing
    // one would, before its etag is looked at, so no answer tells it exists. A transfer is
    // answered by the county it would go to.
    if matches!(
        change,
        TeacherChange::AcceptTransfer { .. } | TeacherChange::DeclineTransfer
    ) {
        transfers::check_receiving_county(context, &current)?;
    } else if !context.in_scope(&current.fields.county_code) {
        let what = match target {
            Target::Teacher(_) => "teacher",
            Target::Certificate(_) => "certificate",
        };
        return Err(DomainError::NotFound { what }.into());
    }
    crate::domain::check_etag(expected_etag, current.etag())?;

    let today = clock::today();
    let mut next = current.clone();
    let mut warnings = Vec::new();
    let kind = match change {
        TeacherChange::Update { patch, mask } => {
            let validated = current
                .fields
                .to_input()
                .patched(&patch, &mask)
                .validate(today)
                .map_err(DomainError::from)?;
            if validated.fields.county_code != current.fields.county_code {
                if context.scope.is_some() {
                    return Err(DomainError::PermissionDenied {
                        message: "a county may not move a teacher to another county by \
                                  itself: propose a transfer (ProposeTransfer), which the \
                                  receiving county accepts or declines"
                            .into(),
                    }
                    .into());
                }
                // An admin's direct move ends any pending transfer.
                next.pending_transfer = None;
            }
            next.fields = validated.fields;
            warnings = validated.warnings;
            ChangeKind::Updated
        }
        TeacherChange::IssueCertificate(new) => {
            refuse_taken_certificate(staged, &new.number)?;
            warnings.extend(sex_code_warning(&new.number, next.fields.gender));
            next.issue_certificate(new)?;
            ChangeKind::CertificateIssued
        }
        TeacherChange::ReissueCertificate { number, reissue } => {
            next.reissue_certificate(&number, &reissue, today)?;
            ChangeKind::CertificateReissued
        }
        TeacherChange::RegisterCertificate {
            number,
            registered_on,
        } => {
            next.register_certificate(&number, registered_on)?;
            ChangeKind::CertificateRegistered
        }
        TeacherChange::RevokeCertificate { number, request } => {
            next.revoke_certificate(&number, &request, today)?;
            ChangeKind::CertificateRevoked
        }
        TeacherChange::LoseQualification { number, loss } => {
            next.lose_qualification(&number, &loss)?;
            ChangeKind::QualificationLost
        }
        TeacherChange::ChangeTitle(change) => {
            next.change_title(change, &context.principal, clock::now())?;
            ChangeKind::TitleChanged
        }
        TeacherChange::ReformTransition {
            effective_date,
            approval_document,
        } => {
            next.apply_transition(
                effective_date,
                &approval_document,
                &context.principal,
                clock::now(),
            )?;
            ChangeKind::TitleTransitioned
        }
        TeacherChange::ProposeTransfer(proposal) => {
            next.propose_transfer(proposal, &context.principal, clock::now())?;
            ChangeKind::TransferProposed
        }
        TeacherChange::AcceptTransfer { school } => {
            next.accept_transfer(school)?;
            ChangeKind::TransferAccepted
        }
        TeacherChange::DeclineTransfer => {
            next.decline_transfer()?;
            ChangeKind::TransferDeclined
        }
    };
    if next == current {
        return Ok(Outcome {
            teacher: current,
            warnings,
            effect: Effect::Unchanged,
        });
    }
    if next.fields.identity != current.fields.identity {
        refuse_taken_identity(staged, &next.fields, Some(&current.id))?;
    }
    next.update_time = clock::now();
    next.keep_former_of(&current, next.update_time, FormerDocumentReason::Updated);
    next.revision = staged.next_revision();
    commit_record(staged, Some(&current), &next, kind, context)?;
    Ok(Outcome {
        teacher: next,
        warnings,
        effect: Effect::Updated,
    })
}

/// Certificate numbers are unique across the registry: a taken one is ALREADY_EXISTS
/// naming its holder.
fn refuse_taken_certificate(staged: &Staged<'_>, number: &str) -> Result<(), StoreError> {
    let key = keys::certificate(number);
    match staged.get(&key)? {
        Some(bytes) => Err(DomainError::AlreadyExists {
            what: "certificate number",
            existing: codec::decode(&key, &bytes)?,
        }
        .into()),
        None => Ok(()),
    }
}

/// The single write step of every accepted mutation: the record, every index entry and
/// counter that changed, the change event, the record's revision entry (what changed,
/// field by field: see [`crate::store::history`]) and the revision, staged together.
pub(crate) fn commit_record(
    staged: &mut Staged<'_>,
    before: Option<&Teacher>,
    after: &Teacher,
    kind: ChangeKind,
    context: &WriteContext,
) -> Result<(), StoreError> {
    stage_record(staged, before, after)?;
    crate::store::identity::duplicates::find_for(staged, before, after)?;
    history::stage_revision(staged, before, after, kind, context)?;
    let event = ChangeEvent {
        revision: after.revision,
        teacher_id: Some(after.id.clone()),
        case_id: None,
        kind,
        time: after.update_time,
        principal: context.principal.clone(),
        request_id: context.request_id.clone(),
        county_before: before.map(|t| t.fields.county_code.clone()),
        county_after: after.fields.county_code.clone(),
    };
    stage_change(staged, &event);
    staged.insert(keys::META_REVISION.to_vec(), codec::encode(&after.revision));
    Ok(())
}
