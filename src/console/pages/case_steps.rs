//! A case's next steps as forms, and the one handler that sends them: accept, refuse at
//! intake, request supplementary materials, receive them, forward, assign, withdraw and
//! decide (with a registration's reasons) (the CaseService RPCs of the same names). Which forms a case shows follows its state
//! and the caller's role (the RPC table); the service still decides every transition, and
//! a refusal comes back beside the fields of the form that was sent.

use maud::{html, Markup};
use serde::Deserialize;

use crate::api::pb::case_service_server::CaseService as _;
use crate::api::{pb, CaseService};
use crate::auth::{permits, Rpc};
use crate::console::call::{signed, Refusal};
use crate::console::labels;
use crate::console::layout::{form_tokens, step_section, FieldErrors, Fields, Lang, StepFields};
use crate::console::percent;
use crate::console::session::Session;

/// The steps, in the order their forms appear: the action's path segment, its RPC and
/// the case states it applies in.
pub(crate) const STEPS: [(&str, Rpc, &[pb::CaseState]); 8] = [
    ("accept", Rpc::AcceptCase, &[pb::CaseState::Received]),
    (
        "supplement",
        Rpc::RequestSupplement,
        &[pb::CaseState::Received],
    ),
    (
        "receive",
        Rpc::ReceiveSupplement,
        &[pb::CaseState::SupplementRequested],
    ),
    (
        "decide",
        Rpc::DecideCase,
        &[pb::CaseState::Accepted, pb::CaseState::Forwarded],
    ),
    ("forward", Rpc::ForwardCase, &[pb::CaseState::Accepted]),
    ("refuse", Rpc::RefuseCase, &[pb::CaseState::Received]),
    (
        "assign",
        Rpc::AssignCase,
        &[
            pb::CaseState::Received,
            pb::CaseState::Accepted,
            pb::CaseState::SupplementRequested,
            pb::CaseState::Forwarded,
        ],
    ),
    (
        "withdraw",
        Rpc::WithdrawCase,
        &[
            pb::CaseState::Received,
            pb::CaseState::Accepted,
            pb::CaseState::SupplementRequested,
            pb::CaseState::Forwarded,
        ],
    ),
];

/// The reasons a periodic registration is deferred or refused (RegistrationReason).
const REGISTRATION_REASONS: labels::Labels = &[
    (1, "继续教育学时不足", "Too few training hours"),
    (2, "无正当理由离岗", "Off duty without leave"),
    (3, "年度考核不合格", "Failed the annual assessment"),
    (4, "违反职业道德", "Ethics violation"),
    (5, "连续两年考核不合格", "Failed the assessment twice"),
    (6, "教师资格被撤销或丧失", "Qualification revoked or lost"),
];

const REVIEW_ITEMS: labels::Labels = &[
    (1, "学历", "Education"),
    (2, "普通话水平", "Mandarin level"),
    (3, "体检", "Physical examination"),
    (4, "教育教学能力", "Teaching ability"),
];

/// A step's form, as submitted (the fields of every step; each uses its own).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct StepForm {
    #[serde(flatten)]
    step: StepFields,
    /// Refusal at intake.
    reason: String,
    /// Forwarding: the county's opinion.
    opinion: String,
    /// One item a line: what is missing, or what arrived.
    missing: String,
    materials: String,
    outcome: String,
    /// One reason a line.
    reasons: String,
    reissue_reason: String,
    declaration_ref: String,
    certificate_number: String,
    certificate_kind: String,
    subject: String,
    issuing_authority: String,
    certified_on: String,
    /// The review items checked (certification): a checkbox each.
    review_1: String,
    review_2: String,
    review_3: String,
    review_4: String,
    /// Assignment: who handles the case.
    assignee: String,
    /// The registration reasons ticked (a registration deferred or refused).
    registration_reason_1: String,
    registration_reason_2: String,
    registration_reason_3: String,
    registration_reason_4: String,
    registration_reason_5: String,
    registration_reason_6: String,
}

impl StepForm {
    /// The review items whose boxes are ticked.
    fn review(&self) -> Vec<i32> {
        [
            &self.review_1,
            &self.review_2,
            &self.review_3,
            &self.review_4,
        ]
        .iter()
        .zip(1..)
        .filter(|(v, _)| !v.is_empty())
        .map(|(_, n)| n)
        .collect()
    }

    fn checked(&self, item: i32) -> bool {
        self.review().contains(&item)
    }

    /// The registration reasons whose boxes are ticked.
    fn registration_reasons(&self) -> Vec<i32> {
        [
            &self.registration_reason_1,
            &self.registration_reason_2,
            &self.registration_reason_3,
            &self.registration_reason_4,
            &self.registration_reason_5,
            &self.registration_reason_6,
        ]
        .iter()
        .zip(1..)
        .filter(|(v, _)| !v.is_empty())
        .map(|(_, n)| n)
        .collect()
    }
}

impl StepForm {
    pub(crate) fn fresh() -> StepForm {
        StepForm {
            step: StepFields::fresh(),
            ..StepForm::default()
        }
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// The request of `action` from the form.
pub(crate) async fn send(
    cases: &CaseService,
    session: &Session,
    id: &str,
    action: &str,
    f: &StepForm,
) -> Result<(), tonic::Status> {
    let case_id = id.to_string();
    let StepFields {
        request_id,
        etag,
        step_date,
        note,
    } = f.step.clone();
    match action {
        "accept" => {
            let r = pb::AcceptCaseRequest {
                case_id,
                etag,
                step_date,
                note,
                request_id,
            };
            cases.accept_case(signed(session, r)).await.map(drop)
        }
        "refuse" => {
            let reason = f.reason.clone();
            let r = pb::RefuseCaseRequest {
                case_id,
                reason,
                etag,
                step_date,
                note,
                request_id,
            };
            cases.refuse_case(signed(session, r)).await.map(drop)
        }
        "supplement" => {
            let missing = lines(&f.missing);
            let r = pb::RequestSupplementRequest {
                case_id,
                missing,
                etag,
                step_date,
                note,
                request_id,
            };
            cases.request_supplement(signed(session, r)).await.map(drop)
        }
        "receive" => {
            let materials = lines(&f.materials);
            let r = pb::ReceiveSupplementRequest {
                case_id,
                materials,
                etag,
                step_date,
                note,
                request_id,
            };
            cases.receive_supplement(signed(session, r)).await.map(drop)
        }
        "forward" => {
            let opinion = f.opinion.clone();
            let r = pb::ForwardCaseRequest {
                case_id,
                opinion,
                etag,
                step_date,
                note,
                request_id,
            };
            cases.forward_case(signed(session, r)).await.map(drop)
        }
        "assign" => {
            let r = pb::AssignCaseRequest {
                case_id,
                assignee: f.assignee.clone(),
                etag,
                note,
                request_id,
            };
            cases.assign_case(signed(session, r)).await.map(drop)
        }
        "withdraw" => {
            let r = pb::WithdrawCaseRequest {
                case_id,
                etag,
                step_date,
                note,
                request_id,
            };
            cases.withdraw_case(signed(session, r)).await.map(drop)
        }
        _ => {
            let certificate = (!f.certificate_number.trim().is_empty()).then(|| pb::Certificate {
                certificate_number: f.certificate_number.clone(),
                kind: f.certificate_kind.parse().unwrap_or(0),
                subject: f.subject.clone(),
                issuing_authority: f.issuing_authority.clone(),
                certified_on: f.certified_on.clone(),
                ..Default::default()
            });
            let r = pb::DecideCaseRequest {
                case_id,
                outcome: f.outcome.parse().unwrap_or(0),
                reasons: lines(&f.reasons),
                registration_reasons: f.registration_reasons(),
                certificate,
                review: f.review(),
                reissue_reason: f.reissue_reason.parse().unwrap_or(0),
                declaration_ref: f.declaration_ref.clone(),
                etag,
                step_date,
                note,
                request_id,
                ..Default::default()
            };
            cases.decide_case(signed(session, r)).await.map(drop)
        }
    }
}

/// The form last sent and the service's refusal of it.
#[derive(Clone, Copy)]
pub(crate) struct Sent<'a> {
    pub(crate) action: &'static str,
    pub(crate) form: &'a StepForm,
    pub(crate) refusal: &'a Refusal,
}

/// The forms of the steps `case` may take next that the caller's role may send.
pub(crate) fn forms(
    lang: Lang,
    session: &Session,
    case: &pb::Case,
    sent: Option<Sent<'_>>,
) -> Markup {
    let fresh = StepForm::fresh();
    let empty = FieldErrors::new();
    html! {
        @for (action, rpc, states) in STEPS {
            @if states.iter().any(|s| *s as i32 == case.state) && permits(session.principal.role, rpc) {
                @let mine = sent.filter(|s| s.action == action);
                @let form = mine.map_or(&fresh, |s| s.form);
                @let errors = mine.map_or(&empty, |s| &s.refusal.fields);
                (step_form(lang, session, case, action, form, errors, mine.map(|s| s.refusal)))
            }
        }
    }
}

fn step_form(
    lang: Lang,
    session: &Session,
    case: &pb::Case,
    action: &'static str,
    form: &StepForm,
    errors: &FieldErrors,
    refusal: Option<&Refusal>,
) -> Markup {
    let fields = Fields::new(action, errors);
    let (title, body, shown) = match action {
        "accept" => (lang.t("受理", "Accept"), html! {}, vec![]),
        "refuse" => (
            lang.t("不予受理", "Refuse at intake"),
            fields.text(lang.t("理由", "Reason"), "reason", &form.reason, "text"),
            vec!["reason"],
        ),
        "supplement" => (
            lang.t("一次性告知补正", "Request supplementary materials"),
            fields.textarea(
                lang.t(
                    "需补正的全部材料（每行一项）",
                    "Everything missing (one a line)",
                ),
                "missing",
                &form.missing,
            ),
            vec!["missing"],
        ),
        "receive" => (
            lang.t("收到补正材料", "Supplementary materials received"),
            fields.textarea(
                lang.t("收到的材料（每行一项）", "Materials received (one a line)"),
                "materials",
                &form.materials,
            ),
            vec!["materials"],
        ),
        "forward" => (
            lang.t("转报上级", "Forward to the city"),
            fields.text(
                lang.t("县级审查意见", "The county's opinion"),
                "opinion",
                &form.opinion,
                "text",
            ),
            vec!["opinion"],
        ),
        "assign" => (
            lang.t("分派经办人", "Assign"),
            fields.text(
                lang.t("经办人", "Assignee"),
                "assignee",
                &form.assignee,
                "text",
            ),
            vec!["assignee"],
        ),
        "withdraw" => (
            lang.t("申请人撤回", "Withdrawn by the applicant"),
            html! {},
            vec![],
        ),
        _ => decide_fields(lang, case, &fields, form),
    };
    let mut shown = shown;
    shown.extend(["step_date", "note"]);
    let alert = refusal.and_then(|r| r.alert(&shown));
    let own = html! {
        (body)
        @if action != "assign" {
            (fields.text(lang.t("日期（默认今天）", "Date (today if empty)"), "step_date", &form.step.step_date, "date"))
        }
        (fields.text(lang.t("说明", "Note"), "note", &form.step.note, "text"))
    };
    step_section(
        &format!("/cases/{}", percent(&case.case_id)),
        &case.etag,
        action,
        title,
        form_tokens(session, &form.step.request_id),
        alert.as_deref(),
        own,
    )
}

/// The decision's own fields: the outcome and reasons, and what the decision performs
/// for the case's kind (the copy of a reissue, the certificate of a certification).
fn decide_fields(
    lang: Lang,
    case: &pb::Case,
    fields: &Fields<'_>,
    form: &StepForm,
) -> (&'static str, Markup, Vec<&'static str>) {
    let kind = pb::CaseKind::try_from(case.kind).unwrap_or(pb::CaseKind::Unspecified);
    let mut shown = vec!["outcome", "reasons"];
    match kind {
        pb::CaseKind::Reissue => shown.extend(["reissue_reason", "declaration_ref"]),
        pb::CaseKind::Registration => shown.push("registration_reasons"),
        pb::CaseKind::Certification => shown.extend([
            "review",
            "certificate_number",
            "certificate_kind",
            "subject",
            "issuing_authority",
            "certified_on",
        ]),
        _ => {}
    }
    let body = html! {
        (fields.select(lang.t("决定", "Outcome"), "outcome", &labels::options(lang, labels::CASE_OUTCOMES), &form.outcome))
        @if kind == pb::CaseKind::Reissue {
            (fields.select(lang.t("补发换发原因", "Reissue reason"), "reissue_reason", &labels::options(lang, labels::REISSUE_REASONS), &form.reissue_reason))
            (fields.text(lang.t("遗失声明编号", "Self-declaration reference"), "declaration_ref", &form.declaration_ref, "text"))
        }
        @if kind == pb::CaseKind::Certification {
            (fields.text(lang.t("证书号码", "Certificate number"), "certificate_number", &form.certificate_number, "text"))
            (fields.select(lang.t("资格种类", "Kind"), "certificate_kind", &labels::options(lang, labels::CERTIFICATE_KINDS), &form.certificate_kind))
            (fields.text(lang.t("任教学科", "Subject"), "subject", &form.subject, "text"))
            (fields.text(lang.t("发证机关", "Issuing authority"), "issuing_authority", &form.issuing_authority, "text"))
            (fields.text(lang.t("认定日期", "Certified on"), "certified_on", &form.certified_on, "date"))
            fieldset {
                legend { (lang.t("审查项目（已核验的打勾）", "Review items checked")) }
                @for (n, zh, en) in REVIEW_ITEMS {
                    @let id = format!("decide-review_{n}");
                    div.check {
                        input type="checkbox" id=(id) name={ "review_" (n) } value="1" checked[form.checked(*n)];
                        label for=(id) { (lang.t(zh, en)) }
                    }
                }
                @if let Some(e) = fields.error("review") { span.error { (e) } }
            }
        }
        @if kind == pb::CaseKind::Registration {
            fieldset #registration-reasons {
                legend { (lang.t("暂缓或不予注册的情形（暂缓、不予时必选）", "Why deferred or refused (required then)")) }
                @for (n, zh, en) in REGISTRATION_REASONS {
                    @let id = format!("decide-registration_reason_{n}");
                    div.check {
                        input type="checkbox" id=(id) name={ "registration_reason_" (n) } value="1" checked[form.registration_reasons().contains(n)];
                        label for=(id) { (lang.t(zh, en)) }
                    }
                }
                @if let Some(e) = fields.error("registration_reasons") { span.error #decide-registration_reasons-error { (e) } }
            }
        }
        (fields.textarea(lang.t("理由（每行一条）", "Reasons (one a line)"), "reasons", &form.reasons))
    };
    (lang.t("作出决定", "Decide"), body, shown)
}
