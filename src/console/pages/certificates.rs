//! A teacher's certificates (with their copies, registrations, revocation and loss of
//! qualification) and title history, as the teacher's page shows them.

use maud::{html, Markup};

use crate::api::pb;
use crate::console::labels::{self, label};
use crate::console::layout::Lang;

pub(super) fn certificates(lang: Lang, teacher: &pb::Teacher) -> Markup {
    html! {
        section aria-labelledby="certificates-h" {
            h2 #certificates-h { (lang.t("教师资格证书", "Certificates")) }
            @if teacher.certificates.is_empty() {
                p { (lang.t("无。", "None.")) }
            }
            @for c in &teacher.certificates {
                article.certificate {
                    h3 { (c.certificate_number) " · " (label(lang, labels::CERTIFICATE_KINDS, c.kind)) }
                    dl.details {
                        dt { (lang.t("任教学科", "Subject")) } dd { (c.subject) }
                        dt { (lang.t("发证机关", "Issuing authority")) } dd { (c.issuing_authority) }
                        dt { (lang.t("认定日期", "Certified on")) } dd { (c.certified_on) }
                        dt { (lang.t("状态", "Status")) } dd.status { (label(lang, labels::CERTIFICATE_STATUSES, c.status)) }
                    }
                    (copies(lang, c))
                    (registrations(lang, c))
                    @if let Some(r) = &c.revocation {
                        p.alert {
                            (lang.t("撤销：", "Revoked: ")) (r.revoked_on) " · "
                            @if r.ground == 0 { (lang.t("未载明依据", "no ground recorded")) } @else { (label(lang, labels::REVOCATION_GROUNDS, r.ground)) }
                            " · " (r.reason) " · " (r.approval_document)
                        }
                    }
                    @if let Some(l) = &c.qualification_loss {
                        p.alert { (lang.t("丧失资格：", "Qualification lost: ")) (l.lost_on) " · " (l.approval_document) " · " (l.note) }
                    }
                }
            }
        }
    }
}

fn copies(lang: Lang, c: &pb::Certificate) -> Markup {
    html! {
        table.copies {
            caption { (lang.t("证书副本", "Copies")) }
            thead { tr {
                th scope="col" { (lang.t("序号", "No.")) }
                th scope="col" { (lang.t("签发日期", "Issued on")) }
                th scope="col" { (lang.t("原因", "Reason")) }
                th scope="col" { (lang.t("声明编号", "Declaration")) }
                th scope="col" { (lang.t("状态", "State")) }
            } }
            tbody {
                @for copy in &c.copies {
                    tr {
                        td { (copy.copy_number) }
                        td { (copy.issued_on) }
                        td { @if copy.reason == 0 { (lang.t("首次签发", "First issue")) } @else { (label(lang, labels::REISSUE_REASONS, copy.reason)) } }
                        td { (copy.declaration_ref) }
                        td { (label(lang, labels::COPY_STATES, copy.state)) }
                    }
                }
            }
        }
    }
}

fn registrations(lang: Lang, c: &pb::Certificate) -> Markup {
    html! {
        table.registrations {
            caption { (lang.t("定期注册", "Registrations")) }
            thead { tr {
                th scope="col" { (lang.t("注册日期", "Registered on")) }
                th scope="col" { (lang.t("有效期至", "Expires on")) }
            } }
            tbody {
                @for r in &c.registrations {
                    tr { td { (r.registered_on) } td { (r.expires_on) } }
                }
                @if c.registrations.is_empty() {
                    tr { td colspan="2" { (lang.t("无", "None")) } }
                }
            }
        }
    }
}

pub(super) fn title_history(lang: Lang, teacher: &pb::Teacher) -> Markup {
    html! {
        section aria-labelledby="titles-h" {
            h2 #titles-h { (lang.t("职称记录", "Title history")) }
            table {
                thead { tr {
                    th scope="col" { (lang.t("职称", "Title")) }
                    th scope="col" { (lang.t("类别", "Kind")) }
                    th scope="col" { (lang.t("生效日期", "Effective")) }
                    th scope="col" { (lang.t("批准文号", "Approval")) }
                    th scope="col" { (lang.t("备注", "Note")) }
                    th scope="col" { (lang.t("记录人", "Recorded by")) }
                } }
                tbody {
                    @for e in &teacher.title_history {
                        tr {
                            td { (label(lang, labels::TITLE_TIERS, e.tier)) }
                            td { (label(lang, labels::TITLE_CHANGE_KINDS, e.kind)) }
                            td { (e.effective_date) }
                            td { (e.approval_document) }
                            td { (e.note) }
                            td { (e.recorded_by) }
                        }
                    }
                    @if teacher.title_history.is_empty() {
                        tr { td colspan="6" { (lang.t("无", "None")) } }
                    }
                }
            }
        }
    }
}
