//! The CaseService: cases at the service window (see [`crate::domain::case`]). Handlers
//! as elsewhere: extract, convert (every bad field reported at once), call the store,
//! convert back. Reads go through the read pool; steps through the one write path.

use tonic::Status;

use crate::api::case_convert::{all_known, new_case, present_case, required, MAX_DUE_WITHIN};
use crate::api::convert::WireEnum;
use crate::api::pb;
use crate::api::service::{
    optional_county, parse_page_size, parse_request_id, scoped_county, write_context,
    RegistryService, Violations,
};
use crate::auth::Principal;
use crate::clock;
use crate::domain::case::{CaseId, CaseKind, CaseState};
use crate::domain::{parse_date, DomainError, FieldViolation};
use crate::store::{CaseCommand, CaseQuery, CaseView};

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

impl RegistryService {
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
        let mut violations = Violations::default();
        let request_id = violations.take(parse_request_id(&request_id));
        let new = match case {
            None => {
                violations.push(FieldViolation::new("case", "is required"));
                None
            }
            Some(case) => violations.take_all(new_case(case, clock::today())),
        };
        let (new, request_id) = violations.finish(|| Some((new?, request_id?)))?;
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
        let mut violations = Violations::default();
        let county = violations.take(optional_county(&county_code));
        let states = violations.take(all_known::<CaseState>("states", states));
        let kind = match CaseKind::from_wire(kind) {
            crate::domain::Choice::Unset => Some(None),
            choice => violations.take(required("kind", choice).map(Some)),
        };
        let date = |field: &str, raw: &str| match raw.trim() {
            "" => Ok(None),
            raw => parse_date(raw)
                .map(Some)
                .map_err(|e| FieldViolation::new(field, e)),
        };
        let received_from = violations.take(date("received_from", &received_from));
        let received_to = violations.take(date("received_to", &received_to));
        let page_size =
            violations.take(parse_page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
        if due_within_working_days > MAX_DUE_WITHIN {
            violations.push(FieldViolation::new(
                "due_within_working_days",
                format!("at most {MAX_DUE_WITHIN} working days"),
            ));
        }
        let (county, states, kind, received_from, received_to, page_size) =
            violations.finish(|| {
                Some((
                    county?,
                    states?,
                    kind?,
                    received_from?,
                    received_to?,
                    page_size?,
                ))
            })?;
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
}
