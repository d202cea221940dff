//! The one mapping from registry errors to gRPC statuses.
//!
//! Field problems carry a `BadRequest` with a violation per field; conflicts carry an
//! `ErrorInfo` (domain `teacher-registry`) whose reason and metadata a client can act on
//! (`teacher_id` of the existing record, the current `etag`). Storage faults say which
//! kind they are (a full disk, a read-only directory) without the internal detail.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::auth::AuthError;
use crate::domain::DomainError;
use crate::store::{StorageFault, StoreError};

/// The ErrorInfo domain of every error this service sends.
pub(crate) const ERROR_DOMAIN: &str = "teacher-registry";

impl From<StoreError> for Status {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Rejected(refusal) => refusal.into(),
            StoreError::Storage { fault, detail } => storage_fault(fault, &detail),
            StoreError::Corrupt { key, detail } => {
                tracing::error!(%key, %detail, "corrupt stored value");
                Status::data_loss(
                    "a stored record could not be read; the operator has been alerted",
                )
            }
            StoreError::Closed => Status::unavailable("the registry is shutting down"),
        }
    }
}

impl From<AuthError> for Status {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Missing
            | AuthError::Malformed
            | AuthError::Unknown
            | AuthError::CertificateMismatch => Status::unauthenticated(error.to_string()),
        }
    }
}

impl From<DomainError> for Status {
    fn from(error: DomainError) -> Self {
        let message = error.to_string();
        match error {
            DomainError::Invalid { violations } => {
                let mut details = ErrorDetails::new();
                for violation in violations {
                    details.add_bad_request_violation(violation.field, violation.description);
                }
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            DomainError::NotFound { .. } => Status::not_found(message),
            DomainError::AlreadyExists { existing, .. } => with_info(
                Code::AlreadyExists,
                message,
                "ALREADY_EXISTS",
                [("teacher_id", existing.to_string())],
            ),
            DomainError::StaleEtag { current, .. } => with_info(
                Code::Aborted,
                message,
                "ETAG_MISMATCH",
                [("current_etag", current)],
            ),
            DomainError::RequestIdReused { request_id } => with_info(
                Code::FailedPrecondition,
                message,
                "REQUEST_ID_REUSED",
                [("request_id", request_id)],
            ),
            DomainError::RequestIdsExhausted { limit, retry_after } => {
                let mut details = ErrorDetails::with_retry_info(Some(retry_after));
                details.set_error_info(
                    "REQUEST_IDS_EXHAUSTED",
                    ERROR_DOMAIN,
                    HashMap::from([("limit".to_string(), limit.to_string())]),
                );
                Status::with_error_details(Code::ResourceExhausted, message, details)
            }
            DomainError::PermissionDenied { .. } => Status::permission_denied(message),
            DomainError::ResyncRequired { oldest_revision } => with_info(
                Code::FailedPrecondition,
                message,
                "RESYNC_REQUIRED",
                [("oldest_revision", oldest_revision.to_string())],
            ),
            DomainError::TeacherMerged { survivor, .. } => with_info(
                Code::FailedPrecondition,
                message,
                "TEACHER_MERGED",
                [("survivor_teacher_id", survivor.to_string())],
            ),
            DomainError::FailedPrecondition { reason, .. } => {
                with_info(Code::FailedPrecondition, message, reason, [])
            }
        }
    }
}

/// A full disk is RESOURCE_EXHAUSTED (gRPC's code for a file system out of space), any
/// other fault UNAVAILABLE; both say why, carry a reason to act on, and invite a retry
/// with the same request id, which cannot duplicate. The writer logs the fault once when
/// it starts; only faults of unknown kind are logged here, per request.
fn storage_fault(fault: StorageFault, detail: &str) -> Status {
    let (code, reason, message) = match fault {
        StorageFault::DiskFull => (
            Code::ResourceExhausted,
            "DISK_FULL",
            "the registry's disk is full: writes are refused until space is freed, reads \
             still work; retry later with the same request_id",
        ),
        StorageFault::ReadOnly => (
            Code::Unavailable,
            "STORAGE_READ_ONLY",
            "the registry's data directory cannot be written: writes are refused until it \
             can, reads still work; retry later with the same request_id",
        ),
        StorageFault::Failed => {
            tracing::error!(%detail, "storage failure");
            (
                Code::Unavailable,
                "STORAGE_FAILURE",
                "the registry could not use its storage; retry with the same request_id",
            )
        }
    };
    with_info(code, message.to_string(), reason, [])
}

fn with_info<const N: usize>(
    code: Code,
    message: String,
    reason: &str,
    metadata: [(&str, String); N],
) -> Status {
    let metadata: HashMap<String, String> = metadata
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
    )
}

/// The canonical name of a status code, e.g. `INVALID_ARGUMENT`: what the gRPC
/// documentation, the README and the rejects file call it (not tonic's `InvalidArgument`).
pub fn code_name(code: tonic::Code) -> String {
    let mut name = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_are_canonical() {
        assert_eq!(code_name(Code::InvalidArgument), "INVALID_ARGUMENT");
        assert_eq!(code_name(Code::AlreadyExists), "ALREADY_EXISTS");
        assert_eq!(code_name(Code::Ok), "OK");
    }
}
