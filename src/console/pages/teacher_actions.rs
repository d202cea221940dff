//! What the caller may do to a teacher, as forms on the teacher's page: a change of school
//! or employment status (UpdateTeacher, those two fields only), reissue or replace
//! (ReissueCertificate), periodic registration (RegisterCertificate), revocation
//! (RevokeCertificate), loss of qualification (LoseQualification), a new certificate
//! (IssueCertificate), a title change (ChangeTitle) and an ethics finding that vetoes
//! promotion (RecordEthicsFinding; the findings are listed by [`findings`]). A form is shown when the caller's
//! role may call its RPC (the RPC table) and, for the forms about a certificate, the
//! teacher has one; the service decides the rest (but for a revocation's ground, which
//! this form requires: see [`send`]),
//! and its refusal comes back beside the fields of the form that was sent. Each form
//! carries the record's etag (a change by someone else since is refused, not overwritten)
//! and a request id (sent twice, it is one change).

use maud::{html, Markup};
use serde::Deserialize;

use crate::api::pb;
use crate::api::pb::evaluation_service_server::EvaluationService as _;
use crate::api::pb::teacher_registry_service_server::TeacherRegistryService as _;
use crate::auth::{permits, Rpc};
use crate::clock;
use crate::console::call::{signed, Refusal};
use crate::console::labels::{self, label};
use crate::console::layout::{form_tokens, step_section, FieldErrors, Fields, Lang};
use crate::console::session::{random_token, Session};
use crate::console::{percent, Console};
use crate::domain::{Choice, DomainError, FieldViolation, RevocationRequest};

/// The actions: path segment and RPC, in the order their forms appear.
pub(crate) const ACTIONS: [(&str, Rpc); 9] = [
    ("update", Rpc::UpdateTeacher),
    ("reissue", Rpc::ReissueCertificate),
    ("register", Rpc::RegisterCertificate),
    ("revoke", Rpc::RevokeCertificate),
    ("lose", Rpc::LoseQualification),
    ("issue", Rpc::IssueCertificate),
    ("title", Rpc::ChangeTitle),
    ("finding", Rpc::RecordEthicsFinding),
    ("credential", Rpc::IssueCredential),
];

/// The fields the details form changes (UpdateTeacher's mask).
const UPDATED: [&str; 2] = ["school", "employment_status"];

/// Whether an action's form is about one of the teacher's certificates (chosen in it).
fn about_a_certificate(action: &str) -> bool {
    matches!(
        action,
        "reissue" | "register" | "revoke" | "lose" | "credential"
    )
}

/// An action's form, as submitted (the fields of every action; each uses its own).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct ActionForm {
    request_id: String,
    etag: String,
    pub(crate) certificate_number: String,
    /// Reissue: the ReissueReason number; revocation: the written finding.
    reason: String,
    declaration_ref: String,
    issued_on: String,
    new_name: String,
    registered_on: String,
    approval_document: String,
    revoked_on: String,
    /// Loss of qualification: the QualificationLossGround number; revocation: the
    /// RevocationGround number (required on this form).
    ground: String,
    lost_on: String,
    note: String,
    /// A new certificate (IssueCertificate): named as the request's fields.
    #[serde(rename = "certificate.certificate_number")]
    new_number: String,
    #[serde(rename = "certificate.kind")]
    new_kind: String,
    #[serde(rename = "certificate.subject")]
    new_subject: String,
    #[serde(rename = "certificate.issuing_authority")]
    new_authority: String,
    #[serde(rename = "certificate.certified_on")]
    new_certified_on: String,
    first_registration_on: String,
    /// A title change (ChangeTitle), named as the request's fields.
    #[serde(rename = "change.kind")]
    change_kind: String,
    #[serde(rename = "change.tier")]
    change_tier: String,
    #[serde(rename = "change.effective_date")]
    change_effective_date: String,
    #[serde(rename = "change.approval_document")]
    change_approval_document: String,
    #[serde(rename = "change.exceptional")]
    change_exceptional: String,
    #[serde(rename = "change.limited_scope")]
    change_limited_scope: String,
    #[serde(rename = "change.note")]
    change_note: String,
    /// A change of details (UpdateTeacher), named as the request's fields.
    #[serde(rename = "teacher.school")]
    school: String,
    #[serde(rename = "teacher.employment_status")]
    employment_status: String,
    /// An ethics finding (RecordEthicsFinding), named as the request's fields.
    #[serde(rename = "finding.found_on")]
    found_on: String,
    #[serde(rename = "finding.ground")]
    finding_ground: String,
    #[serde(rename = "finding.vetoes_until")]
    vetoes_until: String,
    #[serde(rename = "finding.reviewed_by")]
    reviewed_by: String,
}

/// The form last sent and the service's refusal of it.
#[derive(Clone, Copy)]
pub(crate) struct Sent<'a> {
    pub(crate) action: &'static str,
    pub(crate) form: &'a ActionForm,
    pub(crate) refusal: &'a Refusal,
}

pub(crate) async fn send(
    console: &Console,
    session: &Session,
    teacher_id: &str,
    action: &str,
    f: &ActionForm,
) -> Result<(), tonic::Status> {
    let registry = &console.registry;
    let (certificate_number, etag, request_id) = (
        f.certificate_number.clone(),
        f.etag.clone(),
        f.request_id.clone(),
    );
    match action {
        "update" => {
            let r = pb::UpdateTeacherRequest {
                teacher: Some(pb::Teacher {
                    teacher_id: teacher_id.to_string(),
                    school: f.school.clone(),
                    employment_status: f.employment_status.parse().unwrap_or(0),
                    etag,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: UPDATED.iter().map(|p| p.to_string()).collect(),
                }),
                request_id,
            };
            registry.update_teacher(signed(session, r)).await.map(drop)
        }
        "reissue" => {
            let r = pb::ReissueCertificateRequest {
                certificate_number,
                reason: f.reason.parse().unwrap_or(0),
                declaration_ref: f.declaration_ref.clone(),
                issued_on: f.issued_on.clone(),
                new_name: f.new_name.clone(),
                etag,
                request_id,
            };
            registry
                .reissue_certificate(signed(session, r))
                .await
                .map(drop)
        }
        "register" => {
            let r = pb::RegisterCertificateRequest {
                certificate_number,
                registered_on: f.registered_on.clone(),
                etag,
                request_id,
            };
            registry
                .register_certificate(signed(session, r))
                .await
                .map(drop)
        }
        "lose" => {
            let r = pb::LoseQualificationRequest {
                certificate_number,
                ground: f.ground.parse().unwrap_or(0),
                approval_document: f.approval_document.clone(),
                lost_on: f.lost_on.clone(),
                note: f.note.clone(),
                etag,
                request_id,
            };
            registry
                .lose_qualification(signed(session, r))
                .await
                .map(drop)
        }
        "issue" => {
            let r = pb::IssueCertificateRequest {
                teacher_id: teacher_id.to_string(),
                certificate: Some(pb::Certificate {
                    certificate_number: f.new_number.trim().to_string(),
                    kind: f.new_kind.parse().unwrap_or(0),
                    subject: f.new_subject.clone(),
                    issuing_authority: f.new_authority.clone(),
                    certified_on: f.new_certified_on.clone(),
                    ..Default::default()
                }),
                first_registration_on: f.first_registration_on.clone(),
                etag,
                request_id,
            };
            registry
                .issue_certificate(signed(session, r))
                .await
                .map(drop)
        }
        "title" => {
            let r = pb::ChangeTitleRequest {
                teacher_id: teacher_id.to_string(),
                change: Some(pb::TitleEntry {
                    tier: f.change_tier.parse().unwrap_or(0),
                    kind: f.change_kind.parse().unwrap_or(0),
                    effective_date: f.change_effective_date.clone(),
                    approval_document: f.change_approval_document.clone(),
                    limited_scope: f.change_limited_scope == "1",
                    exceptional: f.change_exceptional == "1",
                    note: f.change_note.clone(),
                    ..Default::default()
                }),
                etag,
                request_id,
            };
            registry.change_title(signed(session, r)).await.map(drop)
        }
        "finding" => {
            let r = pb::RecordEthicsFindingRequest {
                finding: Some(pb::EthicsFinding {
                    teacher_id: teacher_id.to_string(),
                    found_on: f.found_on.clone(),
                    ground: f.finding_ground.clone(),
                    vetoes_until: f.vetoes_until.clone(),
                    reviewed_by: f.reviewed_by.clone(),
                    ..Default::default()
                }),
                request_id,
            };
            console
                .evaluation
                .record_ethics_finding(signed(session, r))
                .await
                .map(drop)
        }
        _ => {
            let ground = match f.ground.trim().parse::<i32>() {
                Ok(ground) if ground != 0 => ground,
                // A caller the RPC table refuses hears that from the service, not this
                // form's rule.
                _ if !permits(session.principal.role, Rpc::RevokeCertificate) => 0,
                _ => return Err(ground_not_chosen(f)),
            };
            let r = pb::RevokeCertificateRequest {
                certificate_number,
                reason: f.reason.clone(),
                approval_document: f.approval_document.clone(),
                revoked_on: f.revoked_on.clone(),
                etag,
                request_id,
                ground,
            };
            registry
                .revoke_certificate(signed(session, r))
                .await
                .map(drop)
        }
    }
}

/// The console's one rule of its own: a revocation entered here names its legal ground.
/// The RPC still accepts one without, for the clients written before grounds were kept,
/// but a person recording a bureau's decision has its ground in front of them. The other
/// fields are checked as the service checks them (the same domain function), so every
/// error of the form shows at once.
fn ground_not_chosen(f: &ActionForm) -> tonic::Status {
    let mut violations = vec![FieldViolation::new(
        "ground",
        "is required: 弄虚作假、骗取教师资格 (FRAUD) or 品行不良、侮辱学生 (MISCONDUCT)",
    )];
    let rest = RevocationRequest::parse(
        Choice::Unset,
        &f.reason,
        &f.approval_document,
        &f.revoked_on,
        clock::today(),
    );
    violations.extend(rest.err().into_iter().flatten());
    DomainError::from(violations).into()
}

/// What a successful action's page says.
pub(crate) fn done(lang: Lang, action: &str) -> Option<&'static str> {
    match action {
        "update" => Some(lang.t("已更新基本信息。", "The details were updated.")),
        "reissue" => Some(lang.t("已补发换发证书。", "The certificate was reissued.")),
        "register" => Some(lang.t("已办理定期注册。", "The registration was recorded.")),
        "revoke" => Some(lang.t("已撤销证书。", "The certificate was revoked.")),
        "lose" => Some(lang.t(
            "已登记丧失教师资格。",
            "The loss of qualification was recorded.",
        )),
        "issue" => Some(lang.t("已颁发证书。", "The certificate was issued.")),
        "title" => Some(lang.t("已记录职称变更。", "The title change was recorded.")),
        "finding" => Some(lang.t("已登记师德失范认定。", "The ethics finding was recorded.")),
        _ => None,
    }
}

/// The forms of the actions the caller's role may take on `teacher`'s certificates.
pub(crate) fn forms(
    lang: Lang,
    session: &Session,
    teacher: &pb::Teacher,
    sent: Option<Sent<'_>>,
) -> Markup {
    let fresh = ActionForm {
        request_id: random_token(),
        ..ActionForm::default()
    };
    let empty = FieldErrors::new();
    html! {
        @for (action, rpc) in ACTIONS {
            @if permits(session.principal.role, rpc)
                && (!about_a_certificate(action) || !teacher.certificates.is_empty()) {
                @let mine = sent.filter(|s| s.action == action);
                (action_form(lang, session, teacher, action,
                    mine.map_or(&fresh, |s| s.form),
                    mine.map_or(&empty, |s| &s.refusal.fields),
                    mine.map(|s| s.refusal)))
            }
        }
    }
}

fn action_form(
    lang: Lang,
    session: &Session,
    teacher: &pb::Teacher,
    action: &'static str,
    form: &ActionForm,
    errors: &FieldErrors,
    refusal: Option<&Refusal>,
) -> Markup {
    let fields = Fields::new(action, errors);
    let numbers: Vec<(String, String)> = teacher
        .certificates
        .iter()
        .map(|c| {
            (
                c.certificate_number.clone(),
                format!(
                    "{} {}",
                    c.certificate_number,
                    label(lang, labels::CERTIFICATE_KINDS, c.kind)
                ),
            )
        })
        .collect();
    let chosen = match form.certificate_number.as_str() {
        "" => numbers.first().map(|(n, _)| n.clone()).unwrap_or_default(),
        n => n.to_string(),
    };
    // A fresh details form shows the record as it is; a refused one what was sent.
    let current = |sent: &str, now: &str| match refusal {
        Some(_) => sent.to_string(),
        None => now.to_string(),
    };
    let (title, body, shown): (&str, Markup, &[&str]) = match action {
        "update" => (
            lang.t("变更学校或任职状态", "Change school or employment status"),
            html! {
                (fields.text(lang.t("学校", "School"), "teacher.school", &current(&form.school, &teacher.school), "text"))
                (fields.select(lang.t("任职状态", "Employment status"), "teacher.employment_status", &labels::options(lang, labels::EMPLOYMENT_STATUSES), &current(&form.employment_status, &teacher.employment_status.to_string())))
            },
            &[
                "teacher",
                "teacher.school",
                "teacher.employment_status",
                "update_mask",
            ],
        ),
        "reissue" => (
            lang.t("补发换发证书", "Reissue a certificate"),
            html! {
                (fields.select(lang.t("原因", "Reason"), "reason", &labels::options(lang, labels::REISSUE_REASONS), &form.reason))
                (fields.text(lang.t("遗失声明（自愿声明）编号", "Self-declaration reference (for a lost certificate)"), "declaration_ref", &form.declaration_ref, "text"))
                (fields.text(lang.t("补发日期", "Issued on"), "issued_on", &form.issued_on, "date"))
                (fields.text(lang.t("新姓名（仅信息变更）", "New name (details changed only)"), "new_name", &form.new_name, "text"))
            },
            &["reason", "declaration_ref", "issued_on", "new_name"],
        ),
        "register" => (
            lang.t("定期注册", "Periodic registration"),
            fields.text(
                lang.t("注册日期", "Registered on"),
                "registered_on",
                &form.registered_on,
                "date",
            ),
            &["registered_on"],
        ),
        "lose" => (
            lang.t("丧失教师资格", "Loss of qualification"),
            html! {
                (fields.select(lang.t("依据", "Ground"), "ground", &labels::options(lang, labels::QUALIFICATION_LOSS_GROUNDS), &form.ground))
                (fields.text(lang.t("批准文号", "Approval document"), "approval_document", &form.approval_document, "text"))
                (fields.text(lang.t("丧失日期（空：今天）", "Lost on (empty: today)"), "lost_on", &form.lost_on, "date"))
                (fields.text(lang.t("备注（如判决书编号）", "Note (e.g. the judgment's number)"), "note", &form.note, "text"))
            },
            &["ground", "approval_document", "lost_on", "note"],
        ),
        "issue" => (
            lang.t("颁发证书", "Issue a certificate"),
            html! {
                (fields.text(lang.t("证书号码（17 位）", "Certificate number (17 digits)"), "certificate.certificate_number", &form.new_number, "text"))
                (fields.select(lang.t("资格种类", "Kind"), "certificate.kind", &labels::options(lang, labels::CERTIFICATE_KINDS), &form.new_kind))
                (fields.text(lang.t("任教学科", "Subject"), "certificate.subject", &form.new_subject, "text"))
                (fields.text(lang.t("发证机关", "Issuing authority"), "certificate.issuing_authority", &form.new_authority, "text"))
                (fields.text(lang.t("认定日期", "Certified on"), "certificate.certified_on", &form.new_certified_on, "date"))
                (fields.text(lang.t("首次注册日期（可空）", "First registration (optional)"), "first_registration_on", &form.first_registration_on, "date"))
            },
            &[
                "certificate",
                "certificate.certificate_number",
                "certificate.kind",
                "certificate.subject",
                "certificate.issuing_authority",
                "certificate.certified_on",
                "first_registration_on",
            ],
        ),
        "title" => (
            lang.t("职称变更", "Change the title"),
            html! {
                (fields.select(lang.t("变更类别", "Kind"), "change.kind", &labels::options(lang, labels::TITLE_CHANGE_KINDS), &form.change_kind))
                (fields.select(lang.t("职称等级（撤销时不选）", "Tier (none for a revocation)"), "change.tier", &labels::options(lang, labels::TITLE_TIERS), &form.change_tier))
                (fields.text(lang.t("生效日期", "Effective date"), "change.effective_date", &form.change_effective_date, "date"))
                (fields.text(lang.t("批准文号", "Approval document"), "change.approval_document", &form.change_approval_document, "text"))
                (check(lang.t("破格", "Exceptional (破格)"), "title-exceptional", "change.exceptional", &form.change_exceptional))
                (check(lang.t("小范围有效", "Limited scope"), "title-limited", "change.limited_scope", &form.change_limited_scope))
                (fields.text(lang.t("备注（更正时写明所更正之处）", "Note (a correction says what it corrects)"), "change.note", &form.change_note, "text"))
            },
            &[
                "change",
                "change.kind",
                "change.tier",
                "change.effective_date",
                "change.approval_document",
                "change.note",
                "change.exceptional",
                "change.limited_scope",
            ],
        ),
        "credential" => (
            lang.t("签发电子凭证", "Issue a signed credential"),
            html! {
                p.hint { (lang.t("为用人单位签发载有证书信息的电子凭证及二维码（不含身份证件号码）。", "A signed credential with its QR code for an employer: the certificate's facts, no identity number.")) }
            },
            &[],
        ),
        "finding" => (
            lang.t(
                "登记师德失范认定（一票否决）",
                "Record an ethics finding (vetoes promotion)",
            ),
            html! {
                (fields.text(lang.t("认定日期", "Found on"), "finding.found_on", &form.found_on, "date"))
                (fields.text(lang.t("认定事由及依据", "What was found, under which rule"), "finding.ground", &form.finding_ground, "text"))
                (fields.text(lang.t("否决晋升至（含）", "Vetoes promotion until (inclusive)"), "finding.vetoes_until", &form.vetoes_until, "date"))
                (fields.text(lang.t("审核人（非登记人本人）", "Reviewed by (not the one recording)"), "finding.reviewed_by", &form.reviewed_by, "text"))
            },
            &[
                "finding",
                "finding.found_on",
                "finding.ground",
                "finding.vetoes_until",
                "finding.reviewed_by",
            ],
        ),
        _ => (
            lang.t("撤销证书", "Revoke a certificate"),
            html! {
                (fields.select(lang.t("撤销依据", "Legal ground"), "ground", &labels::options(lang, labels::REVOCATION_GROUNDS), &form.ground))
                (fields.text(lang.t("认定事实", "Written finding"), "reason", &form.reason, "text"))
                (fields.text(lang.t("批准文号", "Approval document"), "approval_document", &form.approval_document, "text"))
                (fields.text(lang.t("撤销日期", "Revoked on"), "revoked_on", &form.revoked_on, "date"))
            },
            &["ground", "reason", "approval_document", "revoked_on"],
        ),
    };
    let mut shown = shown.to_vec();
    let chooses = about_a_certificate(action);
    if chooses {
        shown.push("certificate_number");
    }
    let alert = refusal.and_then(|r| r.alert(&shown));
    let own = html! {
        @if chooses {
            (fields.select(lang.t("证书", "Certificate"), "certificate_number", &numbers, &chosen))
        }
        (body)
    };
    step_section(
        &format!("/teachers/{}", percent(&teacher.teacher_id)),
        &teacher.etag,
        action,
        title,
        form_tokens(session, &form.request_id),
        alert.as_deref(),
        own,
    )
}

/// The teacher's ethics findings (ListEthicsFindings), when the caller's role may read
/// them: who found what, until when it vetoes promotion, who recorded and who reviewed it.
pub(crate) async fn findings(
    console: &Console,
    lang: Lang,
    session: &Session,
    teacher: &pb::Teacher,
) -> Markup {
    if !permits(session.principal.role, Rpc::ListEthicsFindings) {
        return html! {};
    }
    let request = pb::ListEthicsFindingsRequest {
        teacher_id: teacher.teacher_id.clone(),
    };
    let listed = console
        .evaluation
        .list_ethics_findings(signed(session, request))
        .await
        .map(|r| r.into_inner().findings);
    html! {
        section aria-labelledby="findings-h" {
            h2 #findings-h { (lang.t("师德失范认定", "Ethics findings")) }
            @match listed {
                Err(status) => {
                    p.alert role="alert" { (Refusal::from(status).describe()) }
                }
                Ok(list) if list.is_empty() => {
                    p #findings-none { (lang.t("无。", "None.")) }
                }
                Ok(list) => { table #findings {
                    thead { tr {
                        th scope="col" { (lang.t("认定日期", "Found on")) }
                        th scope="col" { (lang.t("事由及依据", "Ground")) }
                        th scope="col" { (lang.t("否决晋升至", "Vetoes until")) }
                        th scope="col" { (lang.t("登记人", "Recorded by")) }
                        th scope="col" { (lang.t("审核人", "Reviewed by")) }
                    } }
                    tbody {
                        @for f in &list {
                            tr {
                                td { (f.found_on) }
                                td { (f.ground) }
                                td { (f.vetoes_until) }
                                td { (f.recorded_by) }
                                td { (f.reviewed_by) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

/// A labelled checkbox sending `1` when ticked.
fn check(label: &str, id: &str, name: &str, value: &str) -> Markup {
    html! {
        div.field.check {
            input id=(id) name=(name) type="checkbox" value="1" checked[value == "1"];
            label for=(id) { (label) }
        }
    }
}
