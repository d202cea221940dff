//! The CaseService's step RPCs (AcceptCase, RefuseCase, RequestSupplement,
//! ReceiveSupplement, ForwardCase, AssignCase, WithdrawCase, DecideCase). Every step request
//! carries the same fields (the case, its etag, the step's date, a note, a request id) beside
//! its own, so each request type says only how it splits into those and its step
//! ([`StepMessage`]), and one path parses them, reports every bad field of both at once, and
//! sends the step down the one write path.

use tonic::Status;

use crate::api::case_convert::{all_known, present_case, required, step_date};
use crate::api::certificate_convert::certificate_input;
use crate::api::convert::{present, WireEnum};
use crate::api::pb;
use crate::api::service::{
    optional_etag, parse_request_id, write_context, RegistryService, Violations,
};
use crate::auth::Principal;
use crate::clock;
use crate::domain::case::{CaseId, CaseOutcome, Decision};
use crate::domain::{Choice, FieldViolation, Reissue, ReissueReason};
use crate::store::{CaseCommand, CaseStepRequest, CaseView, DecisionEffect};

/// The fields every step request carries, as sent.
pub(super) struct Common {
    case_id: String,
    etag: String,
    /// Empty for a step without a date of its own (AssignCase).
    step_date: String,
    note: String,
    request_id: String,
}

/// A step request's common fields, parsed.
struct StepFields {
    case_id: CaseId,
    expected_etag: Option<String>,
    on: Option<chrono::NaiveDate>,
    note: String,
    request_id: Option<String>,
}

impl Common {
    /// The parsed fields, or `None` with each bad one recorded in `violations`.
    fn parse(self, violations: &mut Violations) -> Option<StepFields> {
        let case_id = violations.take(
            CaseId::parse(&self.case_id).map_err(|e| FieldViolation::new("case_id", e.to_string())),
        );
        let on = violations.take(step_date("step_date", &self.step_date, clock::today()));
        let request_id = violations.take(parse_request_id(&self.request_id));
        Some(StepFields {
            case_id: case_id?,
            expected_etag: optional_etag(self.etag),
            on: on?,
            note: self.note.trim().to_string(),
            request_id: request_id?,
        })
    }
}

/// A step RPC's request: its common fields, and the step it asks for (`None` when a field
/// of its own is bad, each recorded in `violations`); and its response, from the case as
/// the caller may see it and the teacher the step wrote, if any.
pub(super) trait StepMessage {
    type Response;
    fn split(self, violations: &mut Violations) -> (Common, Option<CaseStepRequest>);
    fn answer(case: pb::Case, teacher: Option<pb::Teacher>) -> Self::Response;
}

impl RegistryService {
    /// Every step RPC: parses `request` whole, then takes its step on the one write path;
    /// answers the case as `principal` may see it, and the teacher when the step wrote one
    /// (a decision that issues a certificate).
    pub(super) async fn case_step<M: StepMessage>(
        &self,
        principal: &Principal,
        request: M,
    ) -> Result<M::Response, Status> {
        let mut violations = Violations::default();
        let (common, step) = request.split(&mut violations);
        let fields = common.parse(&mut violations);
        let (fields, step) = violations.finish(|| Some((fields?, step?)))?;
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
        Ok(M::answer(
            case,
            answer.teacher.map(|t| present(principal, t)),
        ))
    }
}

/// `StepMessage` for a request destructured whole, so a field added to the proto breaks
/// the build here until it is handled: `$step` makes the step of the request's own fields,
/// recording a bad one in `$violations`, and `$answer` the response of the case (`$case`)
/// and the teacher the step wrote (`$teacher`). The short form is for a request whose own
/// fields go into its step as they are, answered with the case.
macro_rules! step_message {
    ($request:ident, $response:ident { $($own:ident),* } => $step:expr) => {
        step_message!(
            $request,
            $response { $($own),* },
            |_violations| Some($step),
            |case, _teacher| pb::$response { case: Some(case) }
        );
    };
    (
        $request:ident,
        $response:ident { $($own:ident),* },
        |$violations:ident| $step:expr,
        |$case:ident, $teacher:ident| $answer:expr
    ) => {
        impl StepMessage for pb::$request {
            type Response = pb::$response;

            fn answer($case: pb::Case, $teacher: Option<pb::Teacher>) -> pb::$response {
                $answer
            }

            fn split(self, $violations: &mut Violations) -> (Common, Option<CaseStepRequest>) {
                let pb::$request {
                    $($own,)*
                    case_id,
                    etag,
                    step_date,
                    note,
                    request_id,
                } = self;
                let step = $step;
                let common = Common {
                    case_id,
                    etag,
                    step_date,
                    note,
                    request_id,
                };
                (common, step)
            }
        }
    };
}

step_message!(AcceptCaseRequest, AcceptCaseResponse {} => CaseStepRequest::Accept);
step_message!(RefuseCaseRequest, RefuseCaseResponse { reason } => CaseStepRequest::Refuse { reason });
step_message!(RequestSupplementRequest, RequestSupplementResponse { missing } => CaseStepRequest::RequestSupplement { missing });
step_message!(ReceiveSupplementRequest, ReceiveSupplementResponse { materials } => CaseStepRequest::ReceiveSupplement { materials });
step_message!(ForwardCaseRequest, ForwardCaseResponse { opinion } => CaseStepRequest::Forward { opinion });
step_message!(WithdrawCaseRequest, WithdrawCaseResponse {} => CaseStepRequest::Withdraw);

/// AssignCase has no step date: an assignment does not move the case's clock.
impl StepMessage for pb::AssignCaseRequest {
    type Response = pb::AssignCaseResponse;

    fn answer(case: pb::Case, _: Option<pb::Teacher>) -> pb::AssignCaseResponse {
        pb::AssignCaseResponse { case: Some(case) }
    }

    fn split(self, _: &mut Violations) -> (Common, Option<CaseStepRequest>) {
        let pb::AssignCaseRequest {
            case_id,
            assignee,
            etag,
            note,
            request_id,
        } = self;
        let common = Common {
            case_id,
            etag,
            step_date: String::new(),
            note,
            request_id,
        };
        (common, Some(CaseStepRequest::Assign { assignee }))
    }
}

// The decision, and what it issues: a certificate (certification) or a copy (reissue),
// never both.
step_message!(
    DecideCaseRequest,
    DecideCaseResponse {
        outcome,
        reasons,
        registration_reasons,
        review,
        certificate,
        reissue_reason,
        declaration_ref,
        new_name
    },
    |violations| {
        let today = clock::today();
        let outcome = violations.take(required("outcome", CaseOutcome::from_wire(outcome)));
        let registration_reasons =
            violations.take(all_known("registration_reasons", registration_reasons));
        let review = violations.take(all_known("review", review));
        let certify = match certificate {
            None => Some(None),
            Some(certificate) => violations
                .take_all(certificate_input(certificate, String::new()).validate(today))
                .map(|new| Some(DecisionEffect::Certify(new))),
        };
        let reissue = match ReissueReason::from_wire(reissue_reason) {
            Choice::Unset => Some(None),
            reason => violations
                .take_all(Reissue::parse(
                    reason,
                    &declaration_ref,
                    "",
                    &new_name,
                    today,
                ))
                .map(|r| Some(DecisionEffect::Reissue(r))),
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
        (|| {
            Some(CaseStepRequest::Decide {
                decision: Decision {
                    outcome: outcome?,
                    reasons,
                    registration_reasons: registration_reasons?,
                    review: review?,
                },
                effect: effect?,
            })
        })()
    },
    |case, teacher| pb::DecideCaseResponse {
        case: Some(case),
        teacher,
    }
);
