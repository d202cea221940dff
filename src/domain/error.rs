//! The domain's refusals. Every rule the registry enforces ends in one of these variants,
//! and `api::status` maps each to exactly one gRPC status.

use crate::domain::TeacherId;

/// One bad field of a request: the path clients see (`teacher.name`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// The end of every `validate`: the value `parsed` assembles from the fields kept (`?` on
/// each, so a field left out by its violation gives `None`), or every violation found.
pub(crate) fn all_valid<T>(
    violations: Vec<FieldViolation>,
    parsed: impl FnOnce() -> Option<T>,
) -> Result<T, Vec<FieldViolation>> {
    match parsed() {
        Some(parsed) if violations.is_empty() => Ok(parsed),
        _ => Err(violations),
    }
}

/// A request the registry refuses. Carries no identity number in clear text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// One or more fields are malformed; nothing was changed.
    #[error("invalid request: {}", describe(violations))]
    Invalid { violations: Vec<FieldViolation> },
    /// The named thing does not exist.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// The identity document (or another unique key) already belongs to a teacher.
    #[error("{what} already belongs to teacher {existing}")]
    AlreadyExists {
        what: &'static str,
        existing: TeacherId,
    },
    /// The caller's etag no longer matches the record (AIP-154).
    #[error("etag {given:?} is stale: the record has changed (current etag {current:?})")]
    StaleEtag { given: String, current: String },
    /// A request_id was reused for a request with a different body (AIP-155).
    #[error("request_id {request_id:?} was already used for a different request")]
    RequestIdReused { request_id: String },
    /// The caller keeps as many request ids as it may (see `store::request_quota`): a
    /// request with a new one waits until the oldest expire.
    #[error(
        "this principal keeps {limit} request ids already, the most it may within the retention window; retry in {} s, or retry earlier requests with their own request_id",
        retry_after.as_secs()
    )]
    RequestIdsExhausted {
        limit: u64,
        retry_after: std::time::Duration,
    },
    /// The caller may not act on this teacher or county.
    #[error("{message}")]
    PermissionDenied { message: String },
    /// The caller asked for changes older than the retained change log.
    #[error(
        "changes before revision {oldest_revision} are no longer kept: resync from a fresh listing"
    )]
    ResyncRequired { oldest_revision: u64 },
    /// The registry number was retired by a merge: the person's record is now the
    /// survivor's, and a write must name that number (`TEACHER_MERGED`). Only ever made
    /// for a caller who may see the survivor; to anyone else the number is NOT_FOUND.
    #[error("teacher {retired} was merged into {survivor}: address {survivor} instead")]
    TeacherMerged {
        retired: TeacherId,
        survivor: TeacherId,
    },
    /// The request is well formed but the record's state does not allow it.
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
    },
}

impl DomainError {
    /// A refusal for a single bad field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::Invalid {
            violations: vec![FieldViolation::new(field, description)],
        }
    }
}

impl From<FieldViolation> for DomainError {
    fn from(violation: FieldViolation) -> Self {
        Self::Invalid {
            violations: vec![violation],
        }
    }
}

impl From<Vec<FieldViolation>> for DomainError {
    fn from(violations: Vec<FieldViolation>) -> Self {
        Self::Invalid { violations }
    }
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}
