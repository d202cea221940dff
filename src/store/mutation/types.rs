//! The store's write requests and answers as plain data: a [`Mutation`], whom it is for,
//! who asks, and what it did.
//!
//! Apart from what a mutation does (`store::mutation`) because nearly every part of the
//! store names these types, the stored formats included (`store::format`), while the
//! mutation's checks call into those parts: here the types name nothing of the store.

use chrono::NaiveDate;

use crate::domain::case::{CaseKind, StepContext};
use crate::domain::{
    CityCode, CountyCode, DomainError, ImportMode, ImportRow, NewCertificate, QualificationLoss,
    Reissue, RevocationRequest, Teacher, TeacherField, TeacherFields, TeacherId, TeacherInput,
    TitleChange, TransferProposal,
};

/// A change to the registry, as queued for the writer.
#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    CreateTeacher {
        fields: TeacherFields,
        warnings: Vec<String>,
    },
    ChangeTeacher {
        target: Target,
        expected_etag: Option<String>,
        change: TeacherChange,
    },
    /// One bulk-import row: a new teacher, or (upsert) an update of the one with the
    /// row's identity document.
    Import { row: ImportRow, mode: ImportMode },
}

/// Which teacher a change is for.
#[derive(Debug, Clone)]
pub enum Target {
    /// By registry number.
    Teacher(TeacherId),
    /// The holder of a certificate number.
    Certificate(String),
}

/// A change to an existing teacher's record.
#[derive(Debug, Clone)]
pub enum TeacherChange {
    /// Only the masked fields are taken from `patch`; the result is validated again.
    Update {
        patch: TeacherInput,
        mask: Vec<TeacherField>,
    },
    IssueCertificate(NewCertificate),
    ReissueCertificate {
        number: String,
        reissue: Reissue,
    },
    RegisterCertificate {
        number: String,
        registered_on: NaiveDate,
    },
    RevokeCertificate {
        number: String,
        request: RevocationRequest,
    },
    /// The holder of certificate `number` loses the qualification (all their certificates).
    LoseQualification {
        number: String,
        loss: QualificationLoss,
    },
    ChangeTitle(TitleChange),
    /// The 2015 reform transition of one teacher.
    ReformTransition {
        effective_date: NaiveDate,
        approval_document: String,
    },
    /// The teacher's county proposes a transfer to another county.
    ProposeTransfer(TransferProposal),
    /// The receiving county accepts the pending transfer; the teacher joins `school`.
    AcceptTransfer {
        school: String,
    },
    /// The receiving county declines the pending transfer.
    DeclineTransfer,
}

/// Who asks, and under which request id.
#[derive(Debug, Clone, Default)]
pub struct WriteContext {
    /// The caller, recorded in the change event.
    pub principal: String,
    /// The AIP-155 request id, recorded in the change event.
    pub request_id: Option<String>,
    /// Whether the request id is this mutation's own idempotency key: the outcome is kept
    /// and a retry gets it back. Not so for the many mutations of one batch request, whose
    /// request id is recorded for audit only (their retries are safe by their own rules).
    pub replayable: bool,
    /// For county-scoped callers: the only county whose teachers they may create or change.
    pub scope: Option<CountyCode>,
    /// For city callers: the city whose counties' forwarded cases they may work.
    pub city: Option<CityCode>,
    /// For callers limited to some kinds of case (HR: registration).
    pub case_kinds: Option<Vec<CaseKind>>,
}

impl WriteContext {
    /// The context of a case's or an application's step taken now under this write,
    /// counting for `today`, with `note`.
    pub(crate) fn step_at<'a>(&'a self, today: NaiveDate, note: &'a str) -> StepContext<'a> {
        StepContext {
            principal: &self.principal,
            time: crate::clock::now(),
            today,
            note,
        }
    }

    /// A single request: a retry with the same request id gets the first outcome.
    pub fn new(principal: &str, request_id: Option<String>) -> Self {
        Self {
            principal: principal.to_string(),
            request_id,
            replayable: true,
            scope: None,
            city: None,
            case_kinds: None,
        }
    }

    /// One of the many mutations of a batch request: its request id is recorded only.
    pub fn batch(principal: &str, request_id: Option<String>) -> Self {
        Self {
            principal: principal.to_string(),
            request_id,
            replayable: false,
            scope: None,
            city: None,
            case_kinds: None,
        }
    }

    /// Limits case steps to the forwarded cases of `city`'s counties (no limit for `None`).
    pub fn within_city(mut self, city: Option<CityCode>) -> Self {
        self.city = city;
        self
    }

    /// Limits case steps to cases of these kinds (no limit for `None`).
    pub fn for_case_kinds(mut self, kinds: Option<Vec<CaseKind>>) -> Self {
        self.case_kinds = kinds;
        self
    }

    /// Limits the mutation to teachers of `scope` (no limit for `None`).
    pub fn within(mut self, scope: Option<CountyCode>) -> Self {
        self.scope = scope;
        self
    }

    /// Whether a teacher of `county` is within this caller's scope.
    pub(crate) fn in_scope(&self, county: &CountyCode) -> bool {
        self.scope.as_ref().is_none_or(|scope| scope == county)
    }

    /// PERMISSION_DENIED unless a teacher of `county` is within this caller's scope.
    pub(crate) fn check_scope(&self, county: &CountyCode) -> Result<(), DomainError> {
        match &self.scope {
            Some(scope) if scope != county => Err(DomainError::PermissionDenied {
                message: format!(
                    "this principal may only change teachers of county {}",
                    scope.as_str()
                ),
            }),
            _ => Ok(()),
        }
    }
}

/// The answer to an accepted mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub teacher: Teacher,
    pub warnings: Vec<String>,
    pub effect: Effect,
}

/// What an accepted mutation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Created,
    Updated,
    /// Nothing differed; nothing was written.
    Unchanged,
}
