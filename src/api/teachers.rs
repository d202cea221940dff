//! Handlers of the teacher record RPCs: create, get, lookup, list, search, update.

use tonic::Status;

use crate::api::convert::{present, TeacherMessage, WireEnum};
use crate::api::pb;
use crate::api::pb::lookup_teacher_request::Key;
use crate::api::service::{
    audit_no_op, log_warnings, may_see, optional_county, optional_etag, parse_page_size,
    parse_request_id, parse_teacher_id, scoped_county, teacher_not_found, write_context,
    RegistryService, Violations,
};
use crate::auth::{Principal, Rpc};
use crate::clock;
use crate::domain::audit::AuditKind;
use crate::domain::{
    parse_certificate_number, parse_date, Choice, CountyCode, DomainError, FieldViolation,
    IdDocumentType, IdentityDocument, TeacherField, TitleTier,
};
use crate::store::{
    ListQuery, NameMatch, NameQuery, Page, Store, StoreError, Target, TeacherChange,
};

const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 1000;
/// Longer than any name the registry keeps, so a longer search finds nothing anyway; the
/// bound keeps the index key and the page-token digest small.
const MAX_NAME_SEARCH_LEN: usize = 200;

impl RegistryService {
    pub(super) async fn create(
        &self,
        principal: &Principal,
        request: pb::CreateTeacherRequest,
    ) -> Result<pb::CreateTeacherResponse, Status> {
        let pb::CreateTeacherRequest {
            teacher,
            request_id,
        } = request;
        let mut violations = Violations::default();
        let request_id = violations.take(parse_request_id(&request_id));
        let validated = match teacher.map(TeacherMessage::from) {
            None => {
                violations.push(FieldViolation::new("teacher", "is required"));
                None
            }
            Some(message) => {
                violations.extend(message.refused);
                violations.take_all(message.input.validate(clock::today()))
            }
        };
        let (validated, request_id) = violations.finish(|| Some((validated?, request_id?)))?;
        let outcome = self
            .store
            .create_teacher(validated, write_context(principal, request_id))
            .await?;
        log_warnings(&outcome.teacher, &outcome.warnings);
        Ok(pb::CreateTeacherResponse {
            teacher: Some(present(principal, outcome.teacher)),
            warnings: outcome.warnings,
        })
    }

    pub(super) async fn get(
        &self,
        principal: &Principal,
        request: pb::GetTeacherRequest,
    ) -> Result<pb::GetTeacherResponse, Status> {
        let pb::GetTeacherRequest {
            teacher_id,
            revision,
        } = request;
        let id = parse_teacher_id("teacher_id", &teacher_id).map_err(DomainError::from)?;
        if let Some(revision) = revision {
            return self.get_at_revision(principal, id, revision).await;
        }
        let teacher = self
            .reads
            .read(move |store| store.get_teacher_or_survivor(&id))
            .await?
            .filter(|t| may_see(principal, &t.fields.county_code))
            .ok_or_else(teacher_not_found)?;
        Ok(pb::GetTeacherResponse {
            teacher: Some(present(principal, teacher)),
        })
    }

    pub(super) async fn lookup(
        &self,
        principal: &Principal,
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
            Some(Key::NationalId(_)) if principal.sees_masked_identities() => {
                return Err(DomainError::PermissionDenied {
                    message: "readers may not look teachers up by identity number".into(),
                }
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
                // The read audit: who asked for which number (masked), whatever the
                // answer, on disk before the answer.
                self.audit
                    .record(
                        &principal.name,
                        AuditKind::IdentityLookup,
                        Rpc::LookupTeacher,
                        documents[0].masked(),
                    )
                    .await?;
                // Every type is searched for one the caller may see: another county's
                // holder of the same number under another type must not hide its own.
                let viewer = principal.clone();
                self.reads
                    .read(move |store| {
                        for doc in &documents {
                            if let Some(teacher) = store
                                .find_by_identity(doc)?
                                .filter(|t| may_see(&viewer, &t.fields.county_code))
                            {
                                return Ok(Some(teacher));
                            }
                        }
                        Ok(None)
                    })
                    .await?
            }
            Some(Key::CertificateNumber(number)) => {
                let number = parse_certificate_number(&number, today)
                    .map_err(|e| DomainError::invalid("certificate_number", e))?;
                self.reads
                    .read(move |store| store.find_by_certificate(&number))
                    .await?
            }
        };
        // Another county's teacher is NOT_FOUND to a county principal: existence is not
        // revealed.
        let teacher = found
            .filter(|t| may_see(principal, &t.fields.county_code))
            .ok_or_else(teacher_not_found)?;
        Ok(pb::LookupTeacherResponse {
            teacher: Some(present(principal, teacher)),
        })
    }

    pub(super) async fn list(
        &self,
        principal: &Principal,
        request: pb::ListTeachersRequest,
    ) -> Result<pb::ListTeachersResponse, Status> {
        let pb::ListTeachersRequest {
            page_size,
            page_token,
            county_code,
            title_tier,
            school,
            registration_expires_before,
        } = request;
        let mut violations = Violations::default();
        let (page_size, county) = take_listing(&mut violations, page_size, &county_code);
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
        let registration_expires_before = match registration_expires_before.trim() {
            "" => None,
            raw => violations.take(
                parse_date(raw).map_err(|e| FieldViolation::new("registration_expires_before", e)),
            ),
        };
        violations.finish(|| Some(()))?;
        let query = ListQuery {
            county: scoped_county(principal, county)?,
            school,
            tier,
            registration_expires_before,
        };
        self.gate.reserve_rows(principal, page_size)?;
        if page_token.is_empty() && !principal.sees_masked_identities() {
            // The read audit: a listing with identity numbers in full (an export), once,
            // at its first page.
            let scope = query.county.as_ref().map_or("every county", |c| c.as_str());
            self.audit
                .record(
                    &principal.name,
                    AuditKind::Listing,
                    Rpc::ListTeachers,
                    scope.to_string(),
                )
                .await?;
        }
        let (teachers, next_page_token, revision) = self
            .teacher_page(principal, page_size, move |store| {
                store.list_teachers(&query, page_size, &page_token)
            })
            .await?;
        Ok(pb::ListTeachersResponse {
            teachers,
            next_page_token,
            revision,
        })
    }

    /// Name search: the same scope as `list` (a county principal searches only its own
    /// county), the same page sizes and the same masking, through [`present`].
    pub(super) async fn search(
        &self,
        principal: &Principal,
        request: pb::SearchTeachersRequest,
    ) -> Result<pb::SearchTeachersResponse, Status> {
        let pb::SearchTeachersRequest {
            name,
            name_match,
            county_code,
            page_size,
            page_token,
        } = request;
        let mut violations = Violations::default();
        let (page_size, county) = take_listing(&mut violations, page_size, &county_code);
        let how = match pb::NameMatch::try_from(name_match) {
            Ok(pb::NameMatch::Unspecified | pb::NameMatch::Exact) => NameMatch::Exact,
            Ok(pb::NameMatch::Prefix) => NameMatch::Prefix,
            Err(_) => {
                violations.push(FieldViolation::new(
                    "name_match",
                    format!("unknown value {name_match}"),
                ));
                NameMatch::Exact
            }
        };
        if name.chars().count() > MAX_NAME_SEARCH_LEN {
            violations.push(FieldViolation::new(
                "name",
                format!("must be at most {MAX_NAME_SEARCH_LEN} characters"),
            ));
        }
        violations.finish(|| Some(()))?;
        let query = NameQuery::new(&name, how, scoped_county(principal, county)?)?;
        self.gate.reserve_rows(principal, page_size)?;
        let (teachers, next_page_token, revision) = self
            .teacher_page(principal, page_size, move |store| {
                store.search_teachers(&query, page_size, &page_token)
            })
            .await?;
        Ok(pb::SearchTeachersResponse {
            teachers,
            next_page_token,
            revision,
        })
    }

    /// Reads a page of teachers with `read`, gives back the rows reserved for it and not
    /// used, and answers the teachers as `principal` sees them, the next page's token and
    /// the revision read.
    async fn teacher_page(
        &self,
        principal: &Principal,
        page_size: usize,
        read: impl FnOnce(&Store) -> Result<Page, StoreError> + Send + 'static,
    ) -> Result<(Vec<pb::Teacher>, String, u64), Status> {
        let page = self.reads.read(read).await?;
        self.gate
            .refund_rows(principal, page_size.saturating_sub(page.teachers.len()));
        let teachers = page
            .teachers
            .into_iter()
            .map(|t| present(principal, t))
            .collect();
        Ok((teachers, page.next_page_token, page.revision))
    }

    pub(super) async fn update(
        &self,
        principal: &Principal,
        request: pb::UpdateTeacherRequest,
    ) -> Result<pb::UpdateTeacherResponse, Status> {
        let pb::UpdateTeacherRequest {
            teacher,
            update_mask,
            request_id,
        } = request;
        let mut violations = Violations::default();
        let request_id = violations.take(parse_request_id(&request_id));
        let Some(message) = teacher.map(TeacherMessage::from) else {
            violations.push(FieldViolation::new("teacher", "is required"));
            return violations.finish(|| None);
        };
        violations.extend(message.refused.iter().cloned());
        let id = violations.take(parse_teacher_id("teacher.teacher_id", &message.teacher_id));
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
        let (id, request_id) = violations.finish(|| Some((id?, request_id?)))?;
        let change = TeacherChange::Update {
            patch: message.input,
            mask,
        };
        let outcome = self
            .store
            .change_teacher(
                Target::Teacher(id),
                optional_etag(message.etag),
                change,
                write_context(principal, request_id),
            )
            .await?;
        audit_no_op(&self.audit, principal, Rpc::UpdateTeacher, &outcome);
        log_warnings(&outcome.teacher, &outcome.warnings);
        Ok(pb::UpdateTeacherResponse {
            teacher: Some(present(principal, outcome.teacher)),
            warnings: outcome.warnings,
        })
    }
}

/// What both teacher listings (List and Search) take first: the page size (0 once refused)
/// and the county filter (empty: all counties).
fn take_listing(
    violations: &mut Violations,
    page_size: i32,
    county_code: &str,
) -> (usize, Option<CountyCode>) {
    let page_size = violations
        .take(parse_page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE))
        .unwrap_or(0);
    let county = violations.take(optional_county(county_code)).flatten();
    (page_size, county)
}
