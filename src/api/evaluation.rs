//! The EvaluationService's handlers (see [`crate::domain::case::evaluation`]): extract,
//! convert (every bad field reported at once), call the store, convert back. Single steps
//! are replayable by request id; the batch operations (open publicity, the committee's
//! results, confirmation) write each application on its own, answering an outcome per
//! application as TransitionTitles does per teacher.

use tonic::Status;

use crate::api::convert::WireEnum;
use crate::api::evaluation_convert::{
    application_message, figures_message, figures_row, finding_message, new_finding, new_round,
    optional_date, parse_id, round_message, sees_principals, take_step_fields,
};
use crate::api::pb;
use crate::api::service::{
    optional_county, optional_etag, parse_page_size, parse_request_id, parse_teacher_id,
    scoped_county, write_context, RegistryService, Violations,
};
use crate::auth::Principal;
use crate::clock;
use crate::domain::case::evaluation::{Application, CloseReason, EvaluationRound, RoundFigures};
use crate::domain::case::CaseId;
use crate::domain::{Choice, CountyCode, DomainError, FieldViolation};
use crate::store::{
    ApplicationStepRequest, EvaluationAnswer, EvaluationCommand, StoreError, WriteContext,
};

/// Applications per page of ListTitleApplications unless the caller asks (AIP-158).
const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 1000;

/// Whether `principal` may see an application: county principals their county's.
fn may_see(principal: &Principal, application: &Application) -> bool {
    may_see_county(principal, &application.county_code)
}

fn may_see_county(principal: &Principal, county: &CountyCode) -> bool {
    principal.county.as_ref().is_none_or(|own| own == county)
}

fn invalid(violations: Vec<FieldViolation>) -> Status {
    DomainError::from(violations).into()
}

/// The application of a step's answer.
pub(super) fn answered(answer: EvaluationAnswer) -> Result<Application, StoreError> {
    match answer {
        EvaluationAnswer::Application { application, .. } => Ok(application),
        other => Err(StoreError::Corrupt {
            key: "evaluation answer".into(),
            detail: format!("a step answered {other:?}"),
        }),
    }
}

impl RegistryService {
    async fn evaluate(
        &self,
        command: EvaluationCommand,
        context: WriteContext,
    ) -> Result<EvaluationAnswer, Status> {
        Ok(self.store.evaluation_command(command, context).await?)
    }

    pub(super) async fn round(&self, id: CaseId) -> Result<EvaluationRound, Status> {
        self.reads
            .read(move |store| store.get_round(&id))
            .await?
            .ok_or_else(|| {
                DomainError::NotFound {
                    what: "evaluation round",
                }
                .into()
            })
    }

    /// Every single-step RPC on one application (RecordObjection, HandleObjection,
    /// CloseTitleApplication): parses `request` whole (its own fields, then the common
    /// ones), takes the step, replayable by its request id, and answers the application.
    pub(super) async fn application_step<M: ApplicationStepMessage>(
        &self,
        principal: &Principal,
        request: M,
    ) -> Result<M::Response, Status> {
        let mut violations = Violations::default();
        let (sent, step) = request.split(&mut violations);
        let id = violations.take(parse_id("application_id", &sent.application_id));
        let (on, request_id) = take_step_fields(&mut violations, &sent.step_date, &sent.request_id);
        let (id, on, request_id, step) =
            violations.finish(|| Some((id?, on?, request_id?, step?)))?;
        let command = EvaluationCommand::Step {
            application_id: id,
            expected_etag: optional_etag(sent.etag),
            on,
            note: sent.note.trim().to_string(),
            step,
        };
        let application = answered(
            self.store
                .evaluation_command(command, write_context(principal, request_id))
                .await?,
        )?;
        let round = self.round(application.round_id.clone()).await?;
        Ok(M::answer(application_message(
            application,
            Some(round.rules.pass_ratio),
            sees_principals(principal),
        )))
    }

    pub(super) async fn create_evaluation_round(
        &self,
        principal: &Principal,
        request: pb::CreateEvaluationRoundRequest,
    ) -> Result<pb::CreateEvaluationRoundResponse, Status> {
        let pb::CreateEvaluationRoundRequest { round, request_id } = request;
        let request_id = parse_request_id(&request_id).map_err(|v| invalid(vec![v]))?;
        let round =
            round.ok_or_else(|| invalid(vec![FieldViolation::new("round", "is required")]))?;
        let new = new_round(round)?;
        match self
            .evaluate(
                EvaluationCommand::OpenRound { new },
                write_context(principal, request_id),
            )
            .await?
        {
            EvaluationAnswer::Round(round) => Ok(pb::CreateEvaluationRoundResponse {
                round: Some(round_message(round)),
            }),
            other => Err(Status::internal(format!("unexpected answer {other:?}"))),
        }
    }

    pub(super) async fn get_evaluation_round(
        &self,
        _principal: &Principal,
        request: pb::GetEvaluationRoundRequest,
    ) -> Result<pb::GetEvaluationRoundResponse, Status> {
        let id = parse_id("round_id", &request.round_id).map_err(|v| invalid(vec![v]))?;
        Ok(pb::GetEvaluationRoundResponse {
            round: Some(round_message(self.round(id).await?)),
        })
    }

    pub(super) async fn record_ethics_finding(
        &self,
        principal: &Principal,
        request: pb::RecordEthicsFindingRequest,
    ) -> Result<pb::RecordEthicsFindingResponse, Status> {
        let pb::RecordEthicsFindingRequest {
            finding,
            request_id,
        } = request;
        let request_id = parse_request_id(&request_id).map_err(|v| invalid(vec![v]))?;
        let (teacher_id, finding) = new_finding(finding)?;
        match self
            .evaluate(
                EvaluationCommand::RecordFinding {
                    teacher_id,
                    finding,
                },
                write_context(principal, request_id),
            )
            .await?
        {
            EvaluationAnswer::Finding(finding) => Ok(pb::RecordEthicsFindingResponse {
                finding: Some(finding_message(finding, sees_principals(principal))),
            }),
            other => Err(Status::internal(format!("unexpected answer {other:?}"))),
        }
    }

    pub(super) async fn list_ethics_findings(
        &self,
        principal: &Principal,
        request: pb::ListEthicsFindingsRequest,
    ) -> Result<pb::ListEthicsFindingsResponse, Status> {
        let id =
            parse_teacher_id("teacher_id", &request.teacher_id).map_err(|v| invalid(vec![v]))?;
        let (teacher, findings) = self
            .reads
            .read(move |store| Ok((store.get_teacher(&id)?, store.ethics_findings(&id)?)))
            .await?;
        // A county sees only its own teachers, and what was found about them.
        match teacher {
            Some(t) if may_see_county(principal, &t.fields.county_code) => {}
            _ => return Err(DomainError::NotFound { what: "teacher" }.into()),
        }
        Ok(pb::ListEthicsFindingsResponse {
            findings: findings
                .into_iter()
                .map(|finding| finding_message(finding, sees_principals(principal)))
                .collect(),
        })
    }

    pub(super) async fn apply_for_title(
        &self,
        principal: &Principal,
        request: pb::ApplyForTitleRequest,
    ) -> Result<pb::ApplyForTitleResponse, Status> {
        let pb::ApplyForTitleRequest {
            round_id,
            teacher_id,
            exceptional_grounds,
            applied_on,
            note,
            request_id,
        } = request;
        let mut violations = Violations::default();
        let round_id = violations.take(parse_id("round_id", &round_id));
        let teacher_id = violations.take(parse_teacher_id("teacher_id", &teacher_id));
        let on = violations.take(optional_date("applied_on", &applied_on));
        let request_id = violations.take(parse_request_id(&request_id));
        let (round_id, teacher_id, on, request_id) =
            violations.finish(|| Some((round_id?, teacher_id?, on?, request_id?)))?;
        let command = EvaluationCommand::Apply {
            round_id,
            teacher_id,
            exceptional_grounds: Some(exceptional_grounds.trim().to_string())
                .filter(|g| !g.is_empty()),
            on,
            note: note.trim().to_string(),
        };
        let application = answered(
            self.evaluate(command, write_context(principal, request_id))
                .await?,
        )?;
        Ok(pb::ApplyForTitleResponse {
            application: Some(application_message(
                application,
                None,
                sees_principals(principal),
            )),
        })
    }

    pub(super) async fn get_title_application(
        &self,
        principal: &Principal,
        request: pb::GetTitleApplicationRequest,
    ) -> Result<pb::GetTitleApplicationResponse, Status> {
        let id =
            parse_id("application_id", &request.application_id).map_err(|v| invalid(vec![v]))?;
        let application = self
            .reads
            .read(move |store| store.get_application(&id))
            .await?
            .filter(|a| may_see(principal, a))
            .ok_or_else(|| {
                Status::from(DomainError::NotFound {
                    what: "title application",
                })
            })?;
        let round = self.round(application.round_id.clone()).await?;
        Ok(pb::GetTitleApplicationResponse {
            application: Some(application_message(
                application,
                Some(round.rules.pass_ratio),
                sees_principals(principal),
            )),
        })
    }

    /// The round and its applications `principal` may see, of `county` if given.
    pub(super) async fn round_applications(
        &self,
        principal: &Principal,
        round_id: &str,
        county_code: &str,
    ) -> Result<(EvaluationRound, Vec<Application>), Status> {
        let mut violations = Violations::default();
        let id = violations.take(parse_id("round_id", round_id));
        let county = violations.take(optional_county(county_code));
        let (id, county) = violations.finish(|| Some((id?, county?)))?;
        let county = scoped_county(principal, county)?;
        let round = self.round(id.clone()).await?;
        let applications = self
            .reads
            .read(move |store| store.round_applications(&id, county.as_ref()))
            .await?;
        Ok((round, applications))
    }

    pub(super) async fn list_title_applications(
        &self,
        principal: &Principal,
        request: pb::ListTitleApplicationsRequest,
    ) -> Result<pb::ListTitleApplicationsResponse, Status> {
        let pb::ListTitleApplicationsRequest {
            round_id,
            county_code,
            page_size,
            page_token,
        } = request;
        let mut violations = Violations::default();
        let id = violations.take(parse_id("round_id", &round_id));
        let county = violations.take(optional_county(&county_code));
        let page_size =
            violations.take(parse_page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
        let (id, county, page_size) = violations.finish(|| Some((id?, county?, page_size?)))?;
        let county = scoped_county(principal, county)?;
        let round = self.round(id.clone()).await?;
        // A page's rows are reserved before it is read, as every paged listing's are.
        self.gate.reserve_rows(principal, page_size)?;
        let page = self
            .reads
            .read(move |store| {
                store.round_applications_page(&id, county.as_ref(), page_size, &page_token)
            })
            .await?;
        self.gate
            .refund_rows(principal, page_size.saturating_sub(page.applications.len()));
        let ratio = round.rules.pass_ratio;
        Ok(pb::ListTitleApplicationsResponse {
            applications: page
                .applications
                .into_iter()
                .map(|a| application_message(a, Some(ratio), sees_principals(principal)))
                .collect(),
            next_page_token: page.next_page_token,
        })
    }

    pub(super) async fn check_eligibility(
        &self,
        principal: &Principal,
        request: pb::CheckEligibilityRequest,
    ) -> Result<pb::CheckEligibilityResponse, Status> {
        let pb::CheckEligibilityRequest {
            round_id,
            county_code,
            school,
            on,
        } = request;
        let mut violations = Violations::default();
        let id = violations.take(parse_id("round_id", &round_id));
        let county = violations.take(optional_county(&county_code));
        let on = violations.take(optional_date("on", &on));
        let (id, county, on) = violations.finish(|| Some((id?, county?, on?)))?;
        let Some(county) = scoped_county(principal, county)? else {
            return Err(invalid(vec![FieldViolation::new(
                "county_code",
                "is required: the dry run covers one county or school",
            )]));
        };
        let on = on.unwrap_or_else(clock::today);
        let school = Some(school.trim().to_string()).filter(|s| !s.is_empty());
        // One row per teacher of the county, unpaged: charged to the rate of rows (#21,
        // finding 9: before, a reader's dry runs of a large county were a way round it).
        self.gate.reserve_rows(principal, 0)?;
        let rows = self
            .reads
            .read(move |store| store.eligibility_dry_run(&id, &county, school.as_deref(), on))
            .await?;
        self.gate.take_rows(principal, rows.len());
        Ok(pb::CheckEligibilityResponse {
            rows: rows
                .into_iter()
                .map(|row| pb::EligibilityRow {
                    teacher_id: row.teacher.id.as_str().to_string(),
                    current_tier: row.teacher.current_title().map_or(0, |t| t.to_wire()),
                    name: row.teacher.fields.name,
                    school: row.teacher.fields.school,
                    eligible: row.failed.is_empty(),
                    reasons: row.failed.iter().map(|r| r.reason().to_string()).collect(),
                })
                .collect(),
        })
    }

    pub(super) async fn get_round_statistics(
        &self,
        principal: &Principal,
        request: pb::GetRoundStatisticsRequest,
    ) -> Result<pb::GetRoundStatisticsResponse, Status> {
        let pb::GetRoundStatisticsRequest {
            round_id,
            county_code,
        } = request;
        let mut violations = Violations::default();
        let id = violations.take(parse_id("round_id", &round_id));
        let county = violations.take(optional_county(&county_code));
        let (id, county) = violations.finish(|| Some((id?, county?)))?;
        let county = scoped_county(principal, county)?;
        self.round(id.clone()).await?;
        let rows = self
            .reads
            .read(move |store| store.round_figures(&id, county.as_ref()))
            .await?;
        let total = rows
            .iter()
            .fold(RoundFigures::default(), |sum, row| sum.add(row.figures, 1));
        Ok(pb::GetRoundStatisticsResponse {
            figures: rows.into_iter().map(figures_row).collect(),
            total: Some(figures_message(String::new(), None, total)),
        })
    }
}

/// The fields every single-step request on an application carries, as sent.
pub(super) struct StepSent {
    application_id: String,
    etag: String,
    step_date: String,
    note: String,
    request_id: String,
}

/// A single-step RPC's request: its common fields, and the step it asks for (`None` when a
/// field of its own is bad, each recorded in `violations`); and its response.
pub(super) trait ApplicationStepMessage {
    type Response;
    fn split(self, violations: &mut Violations) -> (StepSent, Option<ApplicationStepRequest>);
    fn answer(application: pb::TitleApplication) -> Self::Response;
}

/// `ApplicationStepMessage` for a request: destructured whole, so a field added to the
/// proto breaks the build here until it is handled; `$step` reads the request's own fields
/// (and its `$note`), recording a bad one in `$violations`.
macro_rules! application_step_message {
    (
        $request:ident,
        $response:ident { $($own:ident),* },
        |$violations:ident, $note:ident| $step:expr
    ) => {
        impl ApplicationStepMessage for pb::$request {
            type Response = pb::$response;

            fn split(
                self,
                $violations: &mut Violations,
            ) -> (StepSent, Option<ApplicationStepRequest>) {
                let pb::$request {
                    $($own,)*
                    application_id,
                    etag,
                    step_date,
                    note,
                    request_id,
                } = self;
                let $note = &note;
                let step = $step;
                let sent = StepSent {
                    application_id,
                    etag,
                    step_date,
                    note,
                    request_id,
                };
                (sent, step)
            }

            fn answer(application: pb::TitleApplication) -> pb::$response {
                pb::$response {
                    application: Some(application),
                }
            }
        }
    };
}

application_step_message!(
    RecordObjectionRequest,
    RecordObjectionResponse { text },
    |_violations, _note| Some(ApplicationStepRequest::RecordObjection { text })
);

application_step_message!(
    HandleObjectionRequest,
    HandleObjectionResponse {
        objection_index,
        upheld
    },
    |violations, note| {
        if note.trim().is_empty() {
            violations.push(FieldViolation::new(
                "note",
                "say how the objection was looked into",
            ));
        }
        Some(ApplicationStepRequest::HandleObjection {
            index: objection_index,
            upheld,
        })
    }
);

application_step_message!(
    CloseTitleApplicationRequest,
    CloseTitleApplicationResponse { reason },
    |violations, _note| match CloseReason::from_wire(reason) {
        Choice::Known(reason) => Some(ApplicationStepRequest::Close { reason }),
        _ => {
            violations.push(FieldViolation::new("reason", "WITHDRAWN or INELIGIBLE"));
            None
        }
    }
);
