//! Release 0.1's mutations as it serialized them, to compute its fingerprint of a request:
//! a retry of a request first made before an upgrade is recognised by recomputing the
//! fingerprint that release stored, from the mirrors of [`crate::store::format::v1`].
//!
//! Apart from the mirrors that read format 1's values because it runs the other way (from
//! today's mutations to 0.1's bytes) and only for this: nothing is ever decoded from it.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Fields, Identity, Variant};
use crate::domain::{
    self, CertificateKind, EmploymentStatus, Gender, IdDocumentType, LegacyTitle, ReissueReason,
    TeacherField, TitleChangeKind, TitleTier,
};
use crate::store::format::codes::Coded;
use crate::store::mutation::{Mutation, Target, TeacherChange};

/// Release 0.1's fingerprint of a request: SHA-256 of the value it would have stored, the
/// format byte 1 and the postcard of the mutation.
/// `None` for an import row (never replayed by request id, so 0.1 kept none) and for a
/// change that release did not have, a revocation with a ground among them (no request of
/// 0.1 can be a retry of it).
pub(crate) fn fingerprint(mutation: &Mutation) -> Option<[u8; 32]> {
    let bytes = match mutation {
        Mutation::CreateTeacher { fields, warnings } => postcard::to_extend(
            &MutationV1::CreateTeacher {
                fields: Fields::of(fields),
                warnings,
            },
            vec![1],
        ),
        Mutation::ChangeTeacher {
            target,
            expected_etag,
            change,
        } => postcard::to_extend(
            &MutationV1::ChangeTeacher {
                target: match target {
                    Target::Teacher(id) => TargetV1::Teacher(id.as_str()),
                    Target::Certificate(number) => TargetV1::Certificate(number),
                },
                expected_etag: expected_etag.as_deref(),
                change: ChangeV1::of(change)?,
            },
            vec![1],
        ),
        Mutation::Import { .. } => return None,
    };
    Some(Sha256::digest(bytes.expect("in-memory serialization cannot fail")).into())
}

#[derive(Serialize)]
enum MutationV1<'a> {
    CreateTeacher {
        fields: Fields,
        warnings: &'a [String],
    },
    ChangeTeacher {
        target: TargetV1<'a>,
        expected_etag: Option<&'a str>,
        change: ChangeV1<'a>,
    },
}

#[derive(Serialize)]
enum TargetV1<'a> {
    Teacher(&'a str),
    Certificate(&'a str),
}

#[derive(Serialize)]
enum ChangeV1<'a> {
    Update {
        patch: Input<'a>,
        mask: Vec<Variant<TeacherField>>,
    },
    IssueCertificate(NewCertificate<'a>),
    ReissueCertificate {
        number: &'a str,
        reissue: Reissue<'a>,
    },
    RegisterCertificate {
        number: &'a str,
        registered_on: String,
    },
    RevokeCertificate {
        number: &'a str,
        request: RevocationRequest<'a>,
    },
    ChangeTitle(TitleChange<'a>),
    ReformTransition {
        effective_date: String,
        approval_document: &'a str,
    },
}

#[derive(Serialize)]
struct Input<'a> {
    id_document_type: Choice<Variant<IdDocumentType>>,
    national_id: &'a str,
    name: &'a str,
    gender: Choice<Variant<Gender>>,
    birth_date: &'a str,
    county_code: &'a str,
    school: &'a str,
    employment_status: Choice<Variant<EmploymentStatus>>,
    legacy_title: Choice<Variant<LegacyTitle>>,
    legacy_title_limited_scope: bool,
}

#[derive(Serialize)]
struct NewCertificate<'a> {
    number: &'a str,
    kind: Variant<CertificateKind>,
    subject: &'a str,
    issuing_authority: &'a str,
    certified_on: String,
    first_registration_on: Option<String>,
}

#[derive(Serialize)]
struct Reissue<'a> {
    reason: Variant<ReissueReason>,
    declaration_ref: &'a str,
    issued_on: Option<String>,
    new_name: Option<&'a str>,
}

#[derive(Serialize)]
struct RevocationRequest<'a> {
    reason: &'a str,
    approval_document: &'a str,
    revoked_on: Option<String>,
}

#[derive(Serialize)]
struct TitleChange<'a> {
    tier: Option<Variant<TitleTier>>,
    kind: Variant<TitleChangeKind>,
    effective_date: String,
    approval_document: &'a str,
    limited_scope: bool,
    exceptional: bool,
    note: &'a str,
}

impl<'a> ChangeV1<'a> {
    fn of(change: &'a TeacherChange) -> Option<Self> {
        Some(match change {
            TeacherChange::Update { patch, mask } => ChangeV1::Update {
                patch: Input {
                    id_document_type: choice(patch.id_document_type),
                    national_id: &patch.national_id,
                    name: &patch.name,
                    gender: choice(patch.gender),
                    birth_date: &patch.birth_date,
                    county_code: &patch.county_code,
                    school: &patch.school,
                    employment_status: choice(patch.employment_status),
                    legacy_title: choice(patch.legacy_title),
                    legacy_title_limited_scope: patch.legacy_title_limited_scope,
                },
                mask: mask.iter().map(|field| Variant(*field)).collect(),
            },
            TeacherChange::IssueCertificate(new) => ChangeV1::IssueCertificate(NewCertificate {
                number: &new.number,
                kind: Variant(new.kind),
                subject: &new.subject,
                issuing_authority: &new.issuing_authority,
                certified_on: new.certified_on.to_string(),
                first_registration_on: new.first_registration_on.map(|d| d.to_string()),
            }),
            TeacherChange::ReissueCertificate { number, reissue } => ChangeV1::ReissueCertificate {
                number,
                reissue: Reissue {
                    reason: Variant(reissue.reason),
                    declaration_ref: &reissue.declaration_ref,
                    issued_on: reissue.issued_on.map(|d| d.to_string()),
                    new_name: reissue.new_name.as_deref(),
                },
            },
            TeacherChange::RegisterCertificate {
                number,
                registered_on,
            } => ChangeV1::RegisterCertificate {
                number,
                registered_on: registered_on.to_string(),
            },
            // 0.1 kept no ground: a revocation naming one was not a request of that release.
            TeacherChange::RevokeCertificate { request, .. } if request.ground.is_some() => {
                return None
            }
            TeacherChange::RevokeCertificate { number, request } => ChangeV1::RevokeCertificate {
                number,
                request: RevocationRequest {
                    reason: &request.reason,
                    approval_document: &request.approval_document,
                    revoked_on: request.revoked_on.map(|d| d.to_string()),
                },
            },
            TeacherChange::ChangeTitle(change) => ChangeV1::ChangeTitle(TitleChange {
                tier: change.tier.map(Variant),
                kind: Variant(change.kind),
                effective_date: change.effective_date.to_string(),
                approval_document: &change.approval_document,
                limited_scope: change.limited_scope,
                exceptional: change.exceptional,
                note: &change.note,
            }),
            TeacherChange::ReformTransition {
                effective_date,
                approval_document,
            } => ChangeV1::ReformTransition {
                effective_date: effective_date.to_string(),
                approval_document,
            },
            TeacherChange::LoseQualification { .. }
            | TeacherChange::ProposeTransfer(_)
            | TeacherChange::AcceptTransfer { .. }
            | TeacherChange::DeclineTransfer => return None,
        })
    }
}

fn choice<T: Coded>(value: domain::Choice<T>) -> Choice<Variant<T>> {
    match value {
        domain::Choice::Unset => Choice::Unset,
        domain::Choice::Known(known) => Choice::Known(Variant(known)),
        domain::Choice::Unknown(number) => Choice::Unknown(number),
    }
}

/// `domain::Choice` as format 1 wrote it.
#[derive(Serialize)]
enum Choice<T> {
    Unset,
    Known(T),
    Unknown(i32),
}

impl Fields {
    fn of(fields: &domain::TeacherFields) -> Fields {
        Fields {
            identity: Identity {
                doc_type: Variant(fields.identity.doc_type()),
                number: fields.identity.number().to_string(),
            },
            name: fields.name.clone(),
            gender: Variant(fields.gender),
            birth_date: fields.birth_date.to_string(),
            county_code: fields.county_code.as_str().to_string(),
            school: fields.school.clone(),
            employment_status: Variant(fields.employment_status),
            legacy_title: fields.legacy_title.map(Variant),
            legacy_title_limited_scope: fields.legacy_title_limited_scope,
        }
    }
}
