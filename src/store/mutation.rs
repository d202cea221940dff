//! What each mutation does, checked against the current state inside the writer.
//!
//! Every accepted mutation ends in [`commit_record`], the one place that writes a teacher
//! record together with its index entries, its change event and the new revision.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock;
use crate::domain::{
    ChangeEvent, ChangeKind, DomainError, Teacher, TeacherField, TeacherFields, TeacherId,
    TeacherInput,
};
use crate::store::writer::Staged;
use crate::store::{codec, keys, StoreError};

/// A change to the registry, as queued for the writer.
#[derive(Debug, Clone, Serialize)]
pub(crate) enum Mutation {
    CreateTeacher {
        fields: TeacherFields,
        warnings: Vec<String>,
    },
    UpdateTeacher {
        id: TeacherId,
        patch: TeacherInput,
        mask: Vec<TeacherField>,
        expected_etag: Option<String>,
    },
}

/// Who asks, and under which idempotency key.
#[derive(Debug, Clone, Default)]
pub struct WriteContext {
    /// AIP-155 request id; a retry with the same id gets the first outcome.
    pub request_id: Option<String>,
    /// The caller, recorded in the change event.
    pub principal: String,
}

/// The answer to an accepted mutation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub teacher: Teacher,
    pub warnings: Vec<String>,
}

/// What the registry remembers of a request_id: the request's fingerprint and its answer.
#[derive(Serialize, Deserialize)]
struct RequestRecord {
    fingerprint: [u8; 32],
    outcome: Outcome,
}

pub(crate) fn apply(
    staged: &mut Staged<'_>,
    mutation: Mutation,
    context: &WriteContext,
) -> Result<Outcome, StoreError> {
    let remembered = match &context.request_id {
        Some(request_id) => {
            let fingerprint = fingerprint(&mutation);
            let key = keys::request(request_id);
            if let Some(bytes) = staged.get(&key)? {
                let record: RequestRecord = codec::decode(&key, &bytes)?;
                return if record.fingerprint == fingerprint {
                    Ok(record.outcome)
                } else {
                    Err(DomainError::RequestIdReused {
                        request_id: request_id.clone(),
                    }
                    .into())
                };
            }
            Some((key, fingerprint))
        }
        None => None,
    };

    let outcome = match mutation {
        Mutation::CreateTeacher { fields, warnings } => {
            create_teacher(staged, fields, warnings, context)?
        }
        Mutation::UpdateTeacher {
            id,
            patch,
            mask,
            expected_etag,
        } => update_teacher(staged, &id, &patch, &mask, expected_etag, context)?,
    };

    if let Some((key, fingerprint)) = remembered {
        let record = RequestRecord {
            fingerprint,
            outcome: outcome.clone(),
        };
        staged.insert(key, codec::encode(&record));
    }
    Ok(outcome)
}

fn create_teacher(
    staged: &mut Staged<'_>,
    fields: TeacherFields,
    warnings: Vec<String>,
    context: &WriteContext,
) -> Result<Outcome, StoreError> {
    refuse_taken_identity(staged, &fields)?;
    let id = loop {
        let id = TeacherId::generate(&mut rand::thread_rng());
        if !staged.contains(&keys::record(&id))? {
            break id;
        }
    };
    let now = clock::now();
    let teacher = Teacher {
        id,
        fields,
        certificates: Vec::new(),
        title_history: Vec::new(),
        revision: staged.next_revision(),
        create_time: now,
        update_time: now,
    };
    commit_record(staged, None, &teacher, ChangeKind::Created, context);
    Ok(Outcome { teacher, warnings })
}

fn update_teacher(
    staged: &mut Staged<'_>,
    id: &TeacherId,
    patch: &TeacherInput,
    mask: &[TeacherField],
    expected_etag: Option<String>,
    context: &WriteContext,
) -> Result<Outcome, StoreError> {
    let current = load_teacher(staged, id)?;
    if let Some(given) = expected_etag {
        if given != current.etag() {
            return Err(DomainError::StaleEtag {
                given,
                current: current.etag(),
            }
            .into());
        }
    }
    let validated = current
        .fields
        .to_input()
        .patched(patch, mask)
        .validate(clock::today())
        .map_err(DomainError::from)?;
    if validated.fields == current.fields {
        return Ok(Outcome {
            teacher: current,
            warnings: validated.warnings,
        });
    }
    if validated.fields.identity != current.fields.identity {
        refuse_taken_identity(staged, &validated.fields)?;
    }
    let teacher = Teacher {
        fields: validated.fields,
        revision: staged.next_revision(),
        update_time: clock::now(),
        ..current.clone()
    };
    commit_record(
        staged,
        Some(&current),
        &teacher,
        ChangeKind::Updated,
        context,
    );
    Ok(Outcome {
        teacher,
        warnings: validated.warnings,
    })
}

fn load_teacher(staged: &Staged<'_>, id: &TeacherId) -> Result<Teacher, StoreError> {
    let key = keys::record(id);
    match staged.get(&key)? {
        Some(bytes) => codec::decode(&key, &bytes),
        None => Err(DomainError::NotFound { what: "teacher" }.into()),
    }
}

/// One person, one record: an identity document already indexed is ALREADY_EXISTS.
fn refuse_taken_identity(staged: &Staged<'_>, fields: &TeacherFields) -> Result<(), StoreError> {
    let key = keys::identity(&fields.identity);
    match staged.get(&key)? {
        Some(bytes) => Err(DomainError::AlreadyExists {
            what: "identity document",
            existing: codec::decode(&key, &bytes)?,
        }
        .into()),
        None => Ok(()),
    }
}

/// The single write step of every accepted mutation: the record, every index entry that
/// changed, the change event, and the revision, staged together.
fn commit_record(
    staged: &mut Staged<'_>,
    before: Option<&Teacher>,
    after: &Teacher,
    kind: ChangeKind,
    context: &WriteContext,
) {
    let old_entries = before.map(index_entries).unwrap_or_default();
    let new_entries = index_entries(after);
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
    staged.insert(keys::record(&after.id), codec::encode(after));
    let event = ChangeEvent {
        revision: after.revision,
        teacher_id: after.id.clone(),
        kind,
        time: after.update_time,
        principal: context.principal.clone(),
        request_id: context.request_id.clone(),
        county_before: before.map(|t| t.fields.county_code.clone()),
        county_after: after.fields.county_code.clone(),
    };
    staged.insert(keys::change(after.revision), codec::encode(&event));
    staged.insert(keys::META_REVISION.to_vec(), codec::encode(&after.revision));
}

/// Every index entry a record owns. County entries are presence keys with no value.
pub(crate) fn index_entries(teacher: &Teacher) -> Vec<(Vec<u8>, Vec<u8>)> {
    let id = codec::encode(&teacher.id);
    let mut entries = vec![
        (keys::identity(&teacher.fields.identity), id.clone()),
        (
            keys::county(
                &teacher.fields.county_code,
                &teacher.fields.school,
                &teacher.id,
            ),
            Vec::new(),
        ),
    ];
    for certificate in &teacher.certificates {
        entries.push((keys::certificate(&certificate.number), id.clone()));
    }
    entries
}

fn fingerprint(mutation: &Mutation) -> [u8; 32] {
    Sha256::digest(codec::encode(mutation)).into()
}
