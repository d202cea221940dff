//! What every handler does with a request before the store sees it: parse ids, page sizes
//! and request ids into domain terms, collect field violations into one status, and scope
//! a principal's writes and reads to its county.
//!
//! Apart from `service.rs` so that the stream handlers (`changes`, `import`, `backup`,
//! `titles`, `audit`) can use these helpers without importing the service that names their
//! stream types: every arrow between them points one way, to here.

use tonic::Status;

use crate::auth::{Principal, Role};
use crate::domain::case::CaseKind;
use crate::domain::{CountyCode, DomainError, FieldViolation, Teacher, TeacherId};
use crate::store::WriteContext;

const MAX_REQUEST_ID_LEN: usize = 128;

/// The context of a single mutation by `principal`: recorded in its change event, and
/// limited to the principal's county if it has one.
pub(super) fn write_context(principal: &Principal, request_id: Option<String>) -> WriteContext {
    WriteContext::new(&principal.name, request_id)
        .within(principal.county.clone())
        .within_city(principal.city.clone())
        .for_case_kinds(case_kinds(principal))
}

/// The kinds of case a principal may work, if not all: HR staff handle registration.
pub(super) fn case_kinds(principal: &Principal) -> Option<Vec<CaseKind>> {
    (principal.role == Role::Hr).then(|| vec![CaseKind::Registration])
}

/// The context of each mutation of a batch request (request id recorded, not replayed).
pub(super) fn batch_context(principal: &Principal, request_id: Option<String>) -> WriteContext {
    WriteContext::batch(&principal.name, request_id).within(principal.county.clone())
}

/// A county code that may be left empty (none).
pub(super) fn optional_county(raw: &str) -> Result<Option<CountyCode>, FieldViolation> {
    match raw.trim() {
        "" => Ok(None),
        raw => CountyCode::parse(raw)
            .map(Some)
            .map_err(|e| FieldViolation::new("county_code", e)),
    }
}

/// Whether a county-scoped principal may see a teacher of `county` (others see all).
pub(super) fn may_see(principal: &Principal, county: &CountyCode) -> bool {
    principal.county.as_ref().is_none_or(|own| own == county)
}

/// The county a listing or feed is limited to: the caller's own for county-scoped
/// principals (asking for another county is PERMISSION_DENIED), else what was asked.
pub(super) fn scoped_county(
    principal: &Principal,
    asked: Option<CountyCode>,
) -> Result<Option<CountyCode>, Status> {
    match (&principal.county, asked) {
        (None, asked) => Ok(asked),
        (Some(own), None) => Ok(Some(own.clone())),
        (Some(own), Some(asked)) if *own == asked => Ok(Some(asked)),
        (Some(_), Some(_)) => Err(DomainError::PermissionDenied {
            message: "this principal may only see its own county".into(),
        }
        .into()),
    }
}

/// The county a read asks for in its `county_code` (empty: all), as
/// [`scoped_county`] lets `principal` see it.
pub(super) fn asked_county(
    principal: &Principal,
    county_code: &str,
) -> Result<Option<CountyCode>, Status> {
    let asked = optional_county(county_code).map_err(DomainError::from)?;
    scoped_county(principal, asked)
}

pub(super) fn log_warnings(teacher: &Teacher, warnings: &[String]) {
    for warning in warnings {
        tracing::info!(teacher_id = %teacher.id, %warning, "accepted with a warning");
    }
}

pub(super) fn teacher_not_found() -> Status {
    DomainError::NotFound { what: "teacher" }.into()
}

pub(super) fn parse_teacher_id(field: &str, raw: &str) -> Result<TeacherId, FieldViolation> {
    TeacherId::parse(raw).map_err(|e| FieldViolation::new(field, e.to_string()))
}

/// An AIP-155 request id: optional; when given, 1-128 printable characters.
pub(super) fn parse_request_id(raw: &str) -> Result<Option<String>, FieldViolation> {
    if raw.is_empty() {
        return Ok(None);
    }
    let len = raw.chars().count();
    if len > MAX_REQUEST_ID_LEN {
        return Err(FieldViolation::new(
            "request_id",
            format!("must be at most {MAX_REQUEST_ID_LEN} characters, got {len}"),
        ));
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(FieldViolation::new(
            "request_id",
            "must not contain spaces or control characters",
        ));
    }
    Ok(Some(raw.to_string()))
}

/// A page size (AIP-158): 0 means `default`, larger than `max` is clamped, negative is a
/// violation.
pub(super) fn parse_page_size(
    raw: i32,
    default: usize,
    max: usize,
) -> Result<usize, FieldViolation> {
    match raw {
        n if n < 0 => Err(FieldViolation::new("page_size", "must not be negative")),
        0 => Ok(default),
        n => Ok((n as usize).min(max)),
    }
}

/// An optional etag: empty means "whatever is current".
pub(super) fn optional_etag(etag: String) -> Option<String> {
    Some(etag).filter(|e| !e.is_empty())
}

/// The field errors of one request, collected as each field is read so the caller hears
/// of every bad field at once, then [`Violations::finish`]ed: the one way a handler says
/// "collect the field errors, then fail".
#[derive(Debug, Default)]
pub(super) struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Keeps a field's value, or records its violation.
    pub(super) fn take<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        result.map_err(|v| self.0.push(v)).ok()
    }

    /// Reads what a write naming one teacher starts with, in this order: its request id
    /// and the teacher id (field `teacher_id`), each kept or recorded as a violation.
    pub(super) fn take_teacher_write(
        &mut self,
        request_id: &str,
        teacher_id: &str,
    ) -> (Option<Option<String>>, Option<TeacherId>) {
        let request_id = self.take(parse_request_id(request_id));
        let id = self.take(parse_teacher_id("teacher_id", teacher_id));
        (request_id, id)
    }

    /// Keeps a value checked as a whole (a domain input's `validate`), or records every
    /// violation it found.
    pub(super) fn take_all<T>(&mut self, result: Result<T, Vec<FieldViolation>>) -> Option<T> {
        result.map_err(|bad| self.0.extend(bad)).ok()
    }

    /// Records a violation found by a rule of the handler's own (a required field).
    pub(super) fn push(&mut self, violation: FieldViolation) {
        self.0.push(violation);
    }

    /// Records violations found elsewhere (a message's fields refused while converting).
    pub(super) fn extend(&mut self, violations: impl IntoIterator<Item = FieldViolation>) {
        self.0.extend(violations);
    }

    /// The parsed request, which `parsed` assembles from the kept values (`?` on each);
    /// or INVALID_ARGUMENT naming every violation recorded, if there was any or a value is
    /// missing.
    pub(super) fn finish<T>(self, parsed: impl FnOnce() -> Option<T>) -> Result<T, Status> {
        self.finish_fields(parsed)
            .map_err(|violations| DomainError::from(violations).into())
    }

    /// As [`Violations::finish`], the refusal left as the violations themselves: for a
    /// conversion that answers them to its caller, or a refusal that is part of an answer
    /// rather than the call's status (an imported row's).
    pub(super) fn finish_fields<T>(
        self,
        parsed: impl FnOnce() -> Option<T>,
    ) -> Result<T, Vec<FieldViolation>> {
        match parsed() {
            Some(parsed) if self.0.is_empty() => Ok(parsed),
            _ => Err(self.0),
        }
    }
}
