//! The TeacherRegistryService handlers. Each one extracts the request, converts it to
//! domain terms (validation happens there, once), calls the store and converts back.
//! Every RPC runs inside [`traced`], which gives it a span and logs its status and latency.

use std::future::Future;
use std::time::Instant;

use tonic::{Code, Request, Response, Status};
use tracing::Instrument;

use crate::api::convert::{TeacherMessage, WireEnum};
use crate::api::pb;
use crate::api::pb::lookup_teacher_request::Key;
use crate::clock;
use crate::domain::{
    parse_certificate_number, Choice, CountyCode, DomainError, FieldViolation, IdDocumentType,
    IdentityDocument, Teacher, TeacherField, TeacherId, TitleTier,
};
use crate::store::{ListQuery, Store, TeacherUpdate, WriteContext};

const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 1000;
const MAX_REQUEST_ID_LEN: usize = 128;
/// The principal recorded in change events until authentication exists.
const ANONYMOUS: &str = "anonymous";

/// The registry's gRPC service.
#[derive(Clone)]
pub struct RegistryService {
    store: Store,
}

impl RegistryService {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl pb::teacher_registry_service_server::TeacherRegistryService for RegistryService {
    async fn create_teacher(
        &self,
        request: Request<pb::CreateTeacherRequest>,
    ) -> Result<Response<pb::CreateTeacherResponse>, Status> {
        traced("CreateTeacher", self.create(request.into_inner())).await
    }

    async fn get_teacher(
        &self,
        request: Request<pb::GetTeacherRequest>,
    ) -> Result<Response<pb::GetTeacherResponse>, Status> {
        traced("GetTeacher", self.get(request.into_inner())).await
    }

    async fn lookup_teacher(
        &self,
        request: Request<pb::LookupTeacherRequest>,
    ) -> Result<Response<pb::LookupTeacherResponse>, Status> {
        traced("LookupTeacher", self.lookup(request.into_inner())).await
    }

    async fn list_teachers(
        &self,
        request: Request<pb::ListTeachersRequest>,
    ) -> Result<Response<pb::ListTeachersResponse>, Status> {
        traced("ListTeachers", self.list(request.into_inner())).await
    }

    async fn update_teacher(
        &self,
        request: Request<pb::UpdateTeacherRequest>,
    ) -> Result<Response<pb::UpdateTeacherResponse>, Status> {
        traced("UpdateTeacher", self.update(request.into_inner())).await
    }
}

impl RegistryService {
    async fn create(
        &self,
        request: pb::CreateTeacherRequest,
    ) -> Result<pb::CreateTeacherResponse, Status> {
        let pb::CreateTeacherRequest {
            teacher,
            request_id,
        } = request;
        let mut violations = Vec::new();
        let request_id = collect(&mut violations, parse_request_id(&request_id));
        let validated = match teacher.map(TeacherMessage::from) {
            None => {
                violations.push(FieldViolation::new("teacher", "is required"));
                None
            }
            Some(message) => {
                violations.extend(message.refused);
                match message.input.validate(clock::today()) {
                    Ok(validated) => Some(validated),
                    Err(bad) => {
                        violations.extend(bad);
                        None
                    }
                }
            }
        };
        let (Some(validated), Some(request_id)) = (validated, request_id) else {
            return Err(DomainError::from(violations).into());
        };
        if !violations.is_empty() {
            return Err(DomainError::from(violations).into());
        }
        let outcome = self
            .store
            .create_teacher(validated, write_context(request_id))
            .await?;
        log_warnings(&outcome.teacher, &outcome.warnings);
        Ok(pb::CreateTeacherResponse {
            teacher: Some(outcome.teacher.into()),
            warnings: outcome.warnings,
        })
    }

    async fn get(&self, request: pb::GetTeacherRequest) -> Result<pb::GetTeacherResponse, Status> {
        let pb::GetTeacherRequest { teacher_id } = request;
        let id = parse_teacher_id("teacher_id", &teacher_id)?;
        let teacher = self.store.get_teacher(&id)?.ok_or_else(teacher_not_found)?;
        Ok(pb::GetTeacherResponse {
            teacher: Some(teacher.into()),
        })
    }

    async fn lookup(
        &self,
        request: pb::LookupTeacherRequest,
    ) -> Result<pb::LookupTeacherResponse, Status> {
        let pb::LookupTeacherRequest {
            key,
            id_document_type,
        } = request;
        let today = clock::today();
        let found = match key {
            None => {
                return Err(DomainError::invalid(
                    "key",
                    "one of national_id or certificate_number is required",
                )
                .into())
            }
            Some(Key::NationalId(number)) => {
                let types: Vec<IdDocumentType> = match IdDocumentType::from_wire(id_document_type) {
                    Choice::Known(doc_type) => vec![doc_type],
                    Choice::Unset => IdDocumentType::ALL.to_vec(),
                    Choice::Unknown(n) => {
                        return Err(DomainError::invalid(
                            "id_document_type",
                            format!("unknown value {n}"),
                        )
                        .into())
                    }
                };
                let mut documents = Vec::new();
                let mut last_error = String::new();
                for doc_type in types {
                    match IdentityDocument::parse(doc_type, &number, today) {
                        Ok(doc) => documents.push(doc),
                        Err(e) => last_error = e,
                    }
                }
                if documents.is_empty() {
                    return Err(DomainError::invalid("national_id", last_error).into());
                }
                let mut found = None;
                for doc in &documents {
                    found = self.store.find_by_identity(doc)?;
                    if found.is_some() {
                        break;
                    }
                }
                found
            }
            Some(Key::CertificateNumber(number)) => {
                let number = parse_certificate_number(&number, today)
                    .map_err(|e| DomainError::invalid("certificate_number", e))?;
                self.store.find_by_certificate(&number)?
            }
        };
        let teacher = found.ok_or_else(teacher_not_found)?;
        Ok(pb::LookupTeacherResponse {
            teacher: Some(teacher.into()),
        })
    }

    async fn list(
        &self,
        request: pb::ListTeachersRequest,
    ) -> Result<pb::ListTeachersResponse, Status> {
        let pb::ListTeachersRequest {
            page_size,
            page_token,
            county_code,
            title_tier,
            school,
        } = request;
        let mut violations = Vec::new();
        let page_size = match page_size {
            n if n < 0 => {
                violations.push(FieldViolation::new("page_size", "must not be negative"));
                0
            }
            0 => DEFAULT_PAGE_SIZE,
            n => (n as usize).min(MAX_PAGE_SIZE),
        };
        let county = match county_code.trim() {
            "" => None,
            code => collect(
                &mut violations,
                CountyCode::parse(code).map_err(|e| FieldViolation::new("county_code", e)),
            ),
        };
        let tier = match TitleTier::from_wire(title_tier) {
            Choice::Unset => None,
            Choice::Known(tier) => Some(tier),
            Choice::Unknown(n) => {
                violations.push(FieldViolation::new(
                    "title_tier",
                    format!("unknown value {n}"),
                ));
                None
            }
        };
        let school = Some(school.trim().to_string()).filter(|s| !s.is_empty());
        if !violations.is_empty() {
            return Err(DomainError::from(violations).into());
        }
        let query = ListQuery {
            county,
            school,
            tier,
        };
        let page = self.store.list_teachers(&query, page_size, &page_token)?;
        Ok(pb::ListTeachersResponse {
            teachers: page.teachers.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
            revision: page.revision,
        })
    }

    async fn update(
        &self,
        request: pb::UpdateTeacherRequest,
    ) -> Result<pb::UpdateTeacherResponse, Status> {
        let pb::UpdateTeacherRequest {
            teacher,
            update_mask,
            request_id,
        } = request;
        let mut violations = Vec::new();
        let request_id = collect(&mut violations, parse_request_id(&request_id));
        let Some(message) = teacher.map(TeacherMessage::from) else {
            violations.push(FieldViolation::new("teacher", "is required"));
            return Err(DomainError::from(violations).into());
        };
        violations.extend(message.refused.iter().cloned());
        let id = collect(
            &mut violations,
            TeacherId::parse(&message.teacher_id)
                .map_err(|e| FieldViolation::new("teacher.teacher_id", e.to_string())),
        );
        let paths = update_mask.map(|mask| mask.paths).unwrap_or_default();
        let mask = if paths.is_empty() {
            message.input.populated_fields()
        } else if paths == ["*"] {
            TeacherField::ALL.to_vec()
        } else {
            let mut mask = Vec::new();
            for path in &paths {
                match TeacherField::from_path(path) {
                    Ok(field) => mask.push(field),
                    Err(e) => violations.push(FieldViolation::new("update_mask", e)),
                }
            }
            mask
        };
        let (Some(id), Some(request_id), true) = (id, request_id, violations.is_empty()) else {
            return Err(DomainError::from(violations).into());
        };
        let update = TeacherUpdate {
            id,
            patch: message.input,
            mask,
            expected_etag: Some(message.etag).filter(|e| !e.is_empty()),
        };
        let outcome = self
            .store
            .update_teacher(update, write_context(request_id))
            .await?;
        log_warnings(&outcome.teacher, &outcome.warnings);
        Ok(pb::UpdateTeacherResponse {
            teacher: Some(outcome.teacher.into()),
            warnings: outcome.warnings,
        })
    }
}

/// Runs one RPC in its own span and logs its outcome: method, status code, latency.
/// Successes log at DEBUG (one line per request is too much at full load), client errors
/// at INFO and server errors at ERROR.
async fn traced<T>(
    method: &'static str,
    handler: impl Future<Output = Result<T, Status>>,
) -> Result<Response<T>, Status> {
    let span = tracing::info_span!("rpc", method);
    let started = Instant::now();
    let result = handler.instrument(span.clone()).await;
    let latency_us = started.elapsed().as_micros() as u64;
    let _entered = span.enter();
    match &result {
        Ok(_) => tracing::debug!(code = ?Code::Ok, latency_us, "rpc done"),
        Err(status) if is_server_fault(status.code()) => {
            tracing::error!(code = ?status.code(), latency_us, message = status.message(), "rpc failed")
        }
        Err(status) => {
            tracing::info!(code = ?status.code(), latency_us, message = status.message(), "rpc refused")
        }
    }
    result.map(Response::new)
}

fn is_server_fault(code: Code) -> bool {
    matches!(
        code,
        Code::Internal | Code::DataLoss | Code::Unavailable | Code::Unknown
    )
}

fn write_context(request_id: Option<String>) -> WriteContext {
    WriteContext {
        request_id,
        principal: ANONYMOUS.to_string(),
    }
}

fn log_warnings(teacher: &Teacher, warnings: &[String]) {
    for warning in warnings {
        tracing::info!(teacher_id = %teacher.id, %warning, "accepted with a warning");
    }
}

fn teacher_not_found() -> Status {
    DomainError::NotFound { what: "teacher" }.into()
}

fn parse_teacher_id(field: &str, raw: &str) -> Result<TeacherId, DomainError> {
    TeacherId::parse(raw).map_err(|e| DomainError::invalid(field, e.to_string()))
}

/// An AIP-155 request id: optional; when given, 1-128 printable characters.
fn parse_request_id(raw: &str) -> Result<Option<String>, FieldViolation> {
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

/// Keeps a field's value, or records its violation.
fn collect<T>(
    violations: &mut Vec<FieldViolation>,
    result: Result<T, FieldViolation>,
) -> Option<T> {
    result.map_err(|v| violations.push(v)).ok()
}
