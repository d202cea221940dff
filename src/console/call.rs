//! How pages call the service: in process, through the same tonic service methods the
//! gRPC server dispatches to, each request carrying the signed-in person's bearer token
//! exactly as a gRPC client's would. The gate authenticates and authorizes it, the
//! handlers validate, scope to the county and mask, and the write path checks etags and
//! request ids: the console skips no rule, and adds one only where a form asks a person
//! for more than the RPC requires of older clients (a revocation's legal ground, see
//! `pages::teacher_actions`).
//!
//! A refusal comes back as the service's status; [`Refusal`] keeps its code, message,
//! the rule it names (google.rpc.ErrorInfo's reason, e.g. `NOT_REGISTERED`) and the field
//! violations (google.rpc.BadRequest) so a form can show each beside its field.

use std::net::SocketAddr;

use axum::http::StatusCode;
use tonic::metadata::MetadataValue;
use tonic::transport::server::TcpConnectInfo;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::layout::FieldErrors;
use super::session::Session;

/// A request as `session`'s person would send it over gRPC.
pub(crate) fn signed<T>(session: &Session, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = MetadataValue::try_from(format!("Bearer {}", session.token)) {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// A request from a public caller at `peer`: the public RPCs limit callers by it, and a
/// browser on the console counts against the same bucket as over gRPC.
pub(crate) fn public<T>(peer: SocketAddr, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.extensions_mut().insert(TcpConnectInfo {
        local_addr: None,
        remote_addr: Some(peer),
    });
    request
}

/// The service's refusal of a call.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub(crate) code: Code,
    pub(crate) message: String,
    /// The rule a FAILED_PRECONDITION (or other refusal) names, if any.
    pub(crate) reason: String,
    /// Field violations by field name.
    pub(crate) fields: FieldErrors,
}

impl From<Status> for Refusal {
    fn from(status: Status) -> Refusal {
        let fields = status
            .get_details_bad_request()
            .map(|bad| {
                bad.field_violations
                    .into_iter()
                    .map(|v| (v.field, v.description))
                    .collect()
            })
            .unwrap_or_default();
        let reason = status
            .get_details_error_info()
            .map(|info| info.reason)
            .unwrap_or_default();
        Refusal {
            code: status.code(),
            message: status.message().to_string(),
            reason,
            fields,
        }
    }
}

impl Refusal {
    /// The HTTP status a page answering this refusal has.
    pub(crate) fn http_status(&self) -> StatusCode {
        match self.code {
            Code::InvalidArgument | Code::OutOfRange => StatusCode::UNPROCESSABLE_ENTITY,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => StatusCode::CONFLICT,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message with its gRPC code and rule, as a person reads it ("PERMISSION_DENIED:
    /// ...", "FAILED_PRECONDITION (NOT_REGISTERED): ...").
    pub(crate) fn describe(&self) -> String {
        let code = crate::api::code_name(self.code);
        match self.reason.as_str() {
            "" => format!("{code}: {}", self.message),
            reason => format!("{code} ({reason}): {}", self.message),
        }
    }

    /// What a form says at its top: the message and the violations of the fields not in
    /// `shown`; nothing when every violation stands by a field the form shows.
    pub(crate) fn alert(&self, shown: &[&str]) -> Option<String> {
        let unshown = self.unshown(shown);
        (self.fields.is_empty() || !unshown.is_empty()).then(|| {
            std::iter::once(self.describe())
                .chain(unshown)
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The violations of fields not in `shown`, as one line each, for the top of a form.
    pub(crate) fn unshown(&self, shown: &[&str]) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(field, _)| !shown.contains(&field.as_str()))
            .map(|(field, description)| format!("{field}: {description}"))
            .collect()
    }
}
