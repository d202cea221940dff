//! The CaseService: cases at the service window (see [`crate::domain::case`]). Handlers
//! as elsewhere: extract, convert (every bad field reported at once), call the store,
//! convert back. Reads go through the read pool; steps through the one write path.

use tonic::Status;

use crate::api::case_convert::{
    all_known, new_case, present_case, required, step_date, MAX_DUE_WITHIN,
};
use crate::api::convert::{certificate_input, present, WireEnum};
use crate::api::pb;
use crate::api::service::{
    collect, optional_etag, parse_page_size, parse_request_id, scoped_county, write_context,
    RegistryService,
};
use crate::auth::Principal;
use crate::clock;
use crate::domain::case::{CaseId, CaseKind, CaseOutcome, CaseState, Decision};
use crate::domain::{parse_date, CountyCode, DomainError, FieldViolation, Reissue, ReissueReason};
use crate::store::{CaseCommand, CaseQuery, CaseStepRequest, CaseView, DecisionEffect};

const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 1000;

/// Whether `principal` may see `case`: a county principal its county's, a city principal
/// those its counties forwarded, everyone else all.
fn may_see_case(principal: &Principal, case: &crate::domain::case::Case) -> bool {
    principal
        .county
        .as_ref()
        .is_none_or(|own| *own == case.county_code)
        && principal
            .city
            .as_ref()
            .is_none_or(|city| city.contains(&case.county_code) && case.forwarded_on.is_some())
}

/// A step's common fields, parsed.
struct StepFields {
    case_id: CaseId,
    expected_etag: Option<String>,
    on: Option<chrono::NaiveDate>,
    note: String,
    request_id: Option<String>,
}

/// Parses a step's common fields, adding every violation to `violations`.
fn step_fields(
    violations: &mut Vec<FieldViolation>,
    case_id: &str,
    etag: String,
    on: &str,
    note: String,
    request_id: &str,
) -> Option<StepFields> {
    let id = collect(
        violations,
        CaseId::parse(case_id).map_err(|e| FieldViolation::new("case_id", e.to_string())),
    );
    let on = collect(violations, step_date("step_date", on, clock::today()));
    let request_id = collect(violations, parse_request_id(request_id));
    Some(StepFields {
        case_id: id?,
        expected_etag: optional_etag(etag),
        on: on?,
        note: note.trim().to_string(),
        request_id: request_id?,
    })
}

impl RegistryService {
    async fn case_step(
        &self,
        principal: &Principal,
        fields: Option<StepFields>,
        step: Option<CaseStepRequest>,
        mut violations: Vec<FieldViolation>,
    ) -> Result<(pb::Case, Option<pb::Teacher>), Status> {
        let (Some(fields), Some(step)) = (fields, step) else {
            return Err(DomainError::from(violations).into());
        };
        if !violations.is_empty() {
            return Err(DomainError::from(std::mem::take(&mut violations)).into());
        }
        let command = CaseCommand::Step {
            case_id: fields.case_id,
            expected_etag: fields.expected_etag,
            on: fields.on,
            note: fields.note,
            step,
        };
        let answer = self
            .store
            .case_command(command, write_context(principal, fields.request_id))
            .await?;
        let clock = answer.case.clock(self.store.window_rules(), clock::today());
        let case = present_case(
            principal,
            CaseView {
                case: answer.case,
                clock,
            },
        );
        Ok((case, answer.teacher.map(|t| present(principal, t))))
    }

    pub(super) async fn open_case(
        &self,
        principal: &Principal,
        request: pb::OpenCaseRequest,
    ) -> Result<pb::OpenCaseResponse, Status> {
        let pb::OpenCaseRequest {
            case,
            note,
            request_id,
        } = request;
        let mut violations = Vec::new();
        let request_id = collect(&mut violations, parse_request_id(&request_id));
        let new = match case {
            None => {
                violations.push(FieldViolation::new("case", "is required"));
                None
            }
            Some(case) => new_case(case, clock::today())
                .map_err(|bad| violations.extend(bad))
                .ok(),
        };
        let (Some(new), Some(request_id)) = (new, request_id) else {
            return Err(DomainError::from(violations).into());
        };
        if !violations.is_empty() {
            return Err(DomainError::from(violations).into());
        }
        let command = CaseCommand::Open {
            new,
            note: note.trim().to_string(),
        };
        let answer = self
            .store
            .case_command(command, write_context(principal, request_id))
            .await?;
        let clock = answer.case.clock(self.store.window_rules(), clock::today());
        Ok(pb::OpenCaseResponse {
            case: Some(present_case(
                principal,
                CaseView {
                    case: answer.case,
                    clock,
                },
            )),
        })
    }

    pub(super) async fn get_case(
        &self,
        principal: &Principal,
        request: pb::GetCaseRequest,
    ) -> Result<pb::GetCaseResponse, Status> {
        let id = CaseId::parse(&request.case_id)
            .map_err(|e| DomainError::invalid("case_id", e.to_string()))?;
        let view = self
            .reads
            .read(move |store| store.get_case(&id))
            .await?
            .filter(|view| may_see_case(principal, &view.case))
            .ok_or_else(|| Status::from(DomainError::NotFound { what: "case" }))?;
        Ok(pb::GetCaseResponse {
            case: Some(present_case(principal, view)),
        })
    }

    pub(super) async fn list_cases(
        &self,
        principal: &Principal,
        request: pb::ListCasesRequest,
    ) -> Result<pb::ListCasesResponse, Status> {
        let pb::ListCasesRequest {
            county_code,
            states,
            kind,
            assignee,
            received_from,
            received_to,
            overdue,
            due_within_working_days,
            page_size,
            page_token,
        } = request;
        let mut violations = Vec::new();
        let county = match county_code.trim() {
            "" => Some(None),
            raw => collect(
                &mut violations,
                CountyCode::parse(raw)
                    .map(Some)
                    .map_err(|e| FieldViolation::new("county_code", e)),
            ),
        };
        let states = collect(&mut violations, all_known::<CaseState>("states", states));
        let kind = match CaseKind::from_wire(kind) {
            crate::domain::Choice::Unset => Some(None),
            choice => collect(&mut violations, required("kind", choice).map(Some)),
        };
        let date = |field: &str, raw: &str| match raw.trim() {
            "" => Ok(None),
            raw => parse_date(raw)
                .map(Some)
                .map_err(|e| FieldViolation::new(field, e)),
        };
        let received_from = collect(&mut violations, date("received_from", &received_from));
        let received_to = collect(&mut violations, date("received_to", &received_to));
        let page_size = collect(
            &mut violations,
            parse_page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
        );
        if due_within_working_days > MAX_DUE_WITHIN {
            violations.push(FieldViolation::new(
                "due_within_working_days",
                format!("at most {MAX_DUE_WITHIN} working days"),
            ));
        }
        let (
            Some(county),
            Some(states),
            Some(kind),
            Some(received_from),
            Some(received_to),
            Some(page_size),
        ) = (county, states, kind, received_from, received_to, page_size)
        else {
            return Err(DomainError::from(violations).into());
        };
        if !violations.is_empty() {
            return Err(DomainError::from(violations).into());
        }
        if let (Some(city), Some(county)) = (&principal.city, &county) {
            if !city.contains(county) {
                return Err(DomainError::PermissionDenied {
                    message: format!("county {} is not one of city {city}'s", county.as_str()),
                }
                .into());
            }
        }
        let query = CaseQuery {
            forwarded_to: principal.city.clone(),
            county: scoped_county(principal, county)?,
            states,
            kind,
            assignee: Some(assignee.trim().to_string()).filter(|a| !a.is_empty()),
            received_from,
            received_to,
            overdue,
            due_within: Some(due_within_working_days).filter(|n| *n > 0),
        };
        // A page's rows are reserved before it is read, as ListTeachers' are (#21,
        // finding 9: without it, pages of cases were a way round the rate of rows).
        self.gate.reserve_rows(principal, page_size)?;
        let page = self
            .reads
            .read(move |store| store.list_cases(&query, page_size, &page_token))
            .await?;
        self.gate
            .refund_rows(principal, page_size.saturating_sub(page.cases.len()));
        Ok(pb::ListCasesResponse {
            cases: page
                .cases
                .into_iter()
                .map(|view| present_case(principal, view))
                .collect(),
            next_page_token: page.next_page_token,
        })
    }

    pub(super) async fn accept_case(
        &self,
        principal: &Principal,
        request: pb::AcceptCaseRequest,
    ) -> Result<pb::AcceptCaseResponse, Status> {
        let pb::AcceptCaseRequest {
            case_id,
            etag,
            step_date,
            note,
            request_id,
        } = request;
        let mut violations = Vec::new();
        let fields = step_fields(
            &mut violations,
            &case_id,
            etag,
            &step_date,
            note,
            &request_id,
        );
        let (case, _) = self
            .case_step(principal, fields, Some(CaseStepRequest::Accept), violations)
            .await?;
        Ok(pb::AcceptCaseResponse { case: Some(case) })
    }

    pub(super) async fn refuse_case(
        &self,
        principal: &Principal,
        request: pb::RefuseCaseRequest,
    ) -> Result<pb::RefuseCaseResponse, Status> {
        let pb::RefuseCaseRequest {
            case_id,
            reason,
            etag,
            step_date,
            note,
            request_id,
        } = request;
        let mut violations = Vec::new();
        let fields = step_fields(
            &mut violations,
            &case_id,
            etag,
            &step_date,
            note,
            &request_id,
        );
        let step = CaseStepRequest::Refuse { reason };
        let (case, _) = self
            .case_step(principal, fields, Some(step), violations)
            .await?;
        Ok(pb::RefuseCaseResponse { case: Some(case) })
    }

    pub(super) async fn request_supplement(
        &self,
        principal: &Principal,
        request: pb::RequestSupplementRequest,
    ) -> Result<pb::RequestSupplementResponse, Status> {
        let pb::RequestSupplementRequest {
            case_id,
            missing,
            etag,
            step_date,
            note,
            request_id,
        } = request;
        let mut violations = Vec::new();
        let fields = step_fields(
            &mut violations,
            &case_id,
            etag,
            &step_date,
            note,
            &request_id,
        );
        let step = CaseStepRequest::RequestSupplement { missing };
        let (case, _) = self
            .case_step(principal, fields, Some(step), violations)
            .await?;
        Ok(pb::RequestSupplementResponse { case: Some(case) })
    }

    pub(super) async fn receive_supplement(
        &self,
        principal: &Principal,
        request: pb::ReceiveSupplementRequest,
    ) -> Result<pb::ReceiveSupplementResponse, Status> {
        let pb::ReceiveSupplementRequest {
            case_id,
            materials,
            etag,
            step_date,
            note,
            request_id,
        } = request;
        let mut violations = Vec::new();
        let fields = step_fields(
            &mut violations,
            &case_id,
            etag,
            &step_date,
            note,
            &request_id,
        );
        let step = CaseStepRequest::ReceiveSupplement { materials };
        let (case, _) = self
            .case_step(principal, fields, Some(step), violations)
            .await?;
        Ok(pb::ReceiveSupplementResponse { case: Some(case) })
    }

    pub(super) async fn forward_case(
        &self,
        principal: &Principal,
        request: pb::ForwardCaseRequest,
    ) -> Result<pb::ForwardCaseResponse, Status> {
        let pb::ForwardCaseRequest {
            case_id,
            opinion,
            etag,
            step_date,
            note,
            request_id,
        } = request;
        let mut violations = Vec::new();
        let fields = step_fields(
            &mut violations,
            &case_id,
            etag,
            &step_date,
            note,
            &request_id,
        );
        let step = CaseStepRequest::Forward { opinion };
        let (case, _) = self
            .case_step(principal, fields, Some(step), violations)
            .await?;
        Ok(pb::ForwardCaseResponse { case: Some(case) })
    }

    pub(super) async fn assign_case(
        &self,
        principal: &Principal,
        request: pb::AssignCaseRequest,
    ) -> Result<pb::AssignCaseResponse, Status> {
        let pb::AssignCaseRequest {
            case_id,
            assignee,
            etag,
            note,
            request_id,
        } = request;
        let mut violations = Vec::new();
        let fields = step_fields(&mut violations, &case_id, etag, "", note, &request_id);
        let step = CaseStepRequest::Assign { assignee };
        let (case, _) = self
            .case_step(principal, fields, Some(step), violations)
            .await?;
        Ok(pb::AssignCaseResponse { case: Some(case) })
    }

    pub(super) async fn withdraw_case(
        &self,
        principal: &Principal,
        request: pb::WithdrawCaseRequest,
    ) -> Result<pb::WithdrawCaseResponse, Status> {
        let pb::WithdrawCaseRequest {
            case_id,
            etag,
            step_date,
            note,
            request_id,
        } = request;
        let mut violations = Vec::new();
        let fields = step_fields(
            &mut violations,
            &case_id,
            etag,
            &step_date,
            note,
            &request_id,
        );
        let (case, _) = self
            .case_step(
                principal,
                fields,
                Some(CaseStepRequest::Withdraw),
                violations,
            )
            .await?;
        Ok(pb::WithdrawCaseResponse { case: Some(case) })
    }

    pub(super) async fn decide_case(
        &self,
        principal: &Principal,
        request: pb::DecideCaseRequest,
    ) -> Result<pb::DecideCaseResponse, Status> {
        let pb::DecideCaseRequest {
            case_id,
            outcome,
            reasons,
            registration_reasons,
            review,
            certificate,
            reissue_reason,
            declaration_ref,
            new_name,
            etag,
            step_date,
            note,
            request_id,
        } = request;
        let today = clock::today();
        let mut violations = Vec::new();
        let fields = step_fields(
            &mut violations,
            &case_id,
            etag,
            &step_date,
            note,
            &request_id,
        );
        let outcome = collect(
            &mut violations,
            required("outcome", CaseOutcome::from_wire(outcome)),
        );
        let registration_reasons = collect(
            &mut violations,
            all_known("registration_reasons", registration_reasons),
        );
        let review = collect(&mut violations, all_known("review", review));
        let certify = match certificate {
            None => Some(None),
            Some(certificate) => certificate_input(certificate, String::new())
                .validate(today)
                .map(|new| Some(DecisionEffect::Certify(new)))
                .map_err(|bad| violations.extend(bad))
                .ok(),
        };
        let reissue = match ReissueReason::from_wire(reissue_reason) {
            crate::domain::Choice::Unset => Some(None),
            reason => Reissue::parse(reason, &declaration_ref, "", &new_name, today)
                .map(|r| Some(DecisionEffect::Reissue(r)))
                .map_err(|bad| violations.extend(bad))
                .ok(),
        };
        let effect = match (certify, reissue) {
            (Some(Some(_)), Some(Some(_))) => {
                violations.push(FieldViolation::new(
                    "reissue_reason",
                    "a decision issues a certificate or a copy, not both",
                ));
                None
            }
            (Some(certify), Some(reissue)) => Some(certify.or(reissue)),
            _ => None,
        };
        let step = match (outcome, registration_reasons, review, effect) {
            (Some(outcome), Some(registration_reasons), Some(review), Some(effect)) => {
                Some(CaseStepRequest::Decide {
                    decision: Decision {
                        outcome,
                        reasons,
                        registration_reasons,
                        review,
                    },
                    effect,
                })
            }
            _ => None,
        };
        let (case, teacher) = self.case_step(principal, fields, step, violations).await?;
        Ok(pb::DecideCaseResponse {
            case: Some(case),
            teacher,
        })
    }
}
