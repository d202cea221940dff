//! The notices a window hands the applicant, as HTML pages ready to print (A4, in
//! Chinese): the acceptance receipt (受理通知书), the one notice of everything missing
//! (补正材料通知书) and the decision notice (决定书). HTML rather than PDF keeps the
//! build free of a PDF stack; every browser prints it, and a bureau can restyle it.
//! Everything the applicant or staff typed is escaped.

use super::case_labels::{CASE_KINDS, OUTCOMES, REGISTRATION_REASONS};
use super::CommandError;
use crate::api::pb;

/// Which notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Receipt,
    Supplement,
    Decision,
}

/// The notice of `case` as an HTML page, or a refusal if the case has not reached it
/// (no receipt before acceptance, no supplement notice without one, no decision notice
/// before the decision).
pub fn write_notice(case: &pb::Case, notice: Notice, bureau: &str) -> anyhow::Result<String> {
    let not_yet = |what: &str| -> anyhow::Error {
        CommandError::Refused(format!("case {} has no {what} to print yet", case.case_id)).into()
    };
    let kind = CASE_KINDS.chinese(case.kind).unwrap_or("办件");
    let (title, body) = match notice {
        Notice::Receipt => {
            if case.accepted_on.is_empty() {
                return Err(not_yet("acceptance"));
            }
            let body = format!(
                "<p>{name}：</p>\
                 <p>您于{received}提交的{kind}申请，本机关已于{accepted}受理。</p>\
                 <p>已收材料：</p>{materials}\
                 <p>本机关承诺于<strong>{due}</strong>前作出决定（法定期限{legal}），\
                 补正材料期间不计入办理时限。</p>",
                name = escape(&case.applicant_name),
                received = chinese_date(&case.received_on),
                accepted = chinese_date(&case.accepted_on),
                materials = list(&case.materials),
                due = chinese_date(&case.due_on),
                legal = chinese_date(&case.legal_due_on),
            );
            ("受理通知书", body)
        }
        Notice::Supplement => {
            let Some(pause) = case.pauses.first() else {
                return Err(not_yet("supplement notice"));
            };
            let body = format!(
                "<p>{name}：</p>\
                 <p>您于{received}提交的{kind}申请，材料尚不齐全。现一次性告知需补正的全部材料：</p>\
                 {missing}\
                 <p>请补正后再行提交。自本通知之日（{noticed}）起至收到补正材料之日止，\
                 不计入办理时限。</p>",
                name = escape(&case.applicant_name),
                received = chinese_date(&case.received_on),
                missing = list(&case.missing),
                noticed = chinese_date(&pause.start_date),
            );
            ("补正材料通知书", body)
        }
        Notice::Decision => {
            if case.decided_on.is_empty() {
                return Err(not_yet("decision"));
            }
            let outcome = OUTCOMES.chinese(case.outcome).unwrap_or("");
            let mut reasons: Vec<String> = case.reasons.clone();
            reasons.extend(
                case.registration_reasons
                    .iter()
                    .filter_map(|&r| REGISTRATION_REASONS.chinese(r))
                    .map(str::to_string),
            );
            let certificate = match case.certificate_number.as_str() {
                "" => String::new(),
                number if case.outcome == pb::CaseOutcome::Approved as i32 => {
                    format!("<p>证书号码：{}</p>", escape(number))
                }
                _ => String::new(),
            };
            let reasons = match reasons.is_empty() {
                true => String::new(),
                false => format!("<p>理由：</p>{}", list(&reasons)),
            };
            let body = format!(
                "<p>{name}：</p>\
                 <p>您于{received}提交的{kind}申请，经审查，本机关于{decided}决定：<strong>{outcome}</strong>。</p>\
                 {certificate}{reasons}\
                 <p>如不服本决定，可依法申请行政复议或提起行政诉讼。</p>",
                name = escape(&case.applicant_name),
                received = chinese_date(&case.received_on),
                decided = chinese_date(&case.decided_on),
            );
            ("决定书", body)
        }
    };
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title} {id}</title>\n\
         <style>@page {{ size: A4; margin: 25mm; }} body {{ font-family: serif; \
         font-size: 14pt; line-height: 1.8; }} h1 {{ text-align: center; font-size: 20pt; }} \
         .number {{ text-align: right; }} .seal {{ text-align: right; margin-top: 3em; }}</style>\n\
         </head>\n<body>\n<h1>{title}</h1>\n<p class=\"number\">办件编号：{id}</p>\n{body}\n\
         <p class=\"seal\">{bureau}<br>{today}</p>\n</body>\n</html>\n",
        id = escape(&case.case_id),
        bureau = escape(bureau),
        today = chinese_date(&crate::clock::today().to_string()),
    ))
}

fn list(items: &[String]) -> String {
    let items: String = items
        .iter()
        .map(|item| format!("<li>{}</li>", escape(item)))
        .collect();
    format!("<ol>{items}</ol>")
}

/// `2026-12-07` as `2026年12月7日`; anything else as written.
fn chinese_date(date: &str) -> String {
    let parts: Vec<&str> = date.split('-').collect();
    match parts.as_slice() {
        [year, month, day] => format!(
            "{year}年{}月{}日",
            month.trim_start_matches('0'),
            day.trim_start_matches('0')
        ),
        _ => escape(date),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted() -> pb::Case {
        pb::Case {
            case_id: "C5Z2K8W3M1QD".into(),
            kind: pb::CaseKind::Certification as i32,
            applicant_name: "王<小明>".into(),
            received_on: "2026-12-01".into(),
            accepted_on: "2026-12-02".into(),
            due_on: "2026-12-30".into(),
            legal_due_on: "2027-01-13".into(),
            materials: vec!["申请表".into()],
            ..Default::default()
        }
    }

    #[test]
    fn a_receipt_names_the_case_the_dates_and_the_materials_escaped() {
        let page = write_notice(&accepted(), Notice::Receipt, "延平区教育局").unwrap();
        assert!(page.contains("受理通知书"));
        assert!(page.contains("C5Z2K8W3M1QD"));
        assert!(page.contains("2026年12月30日"));
        assert!(page.contains("王&lt;小明&gt;"), "{page}");
        assert!(!page.contains("王<小明>"));
        assert!(page.contains("<li>申请表</li>"));
    }

    #[test]
    fn a_notice_the_case_has_not_reached_is_refused() {
        let case = accepted();
        assert!(write_notice(&case, Notice::Decision, "x").is_err());
        assert!(write_notice(&case, Notice::Supplement, "x").is_err());
        let received = pb::Case {
            accepted_on: String::new(),
            ..accepted()
        };
        assert!(write_notice(&received, Notice::Receipt, "x").is_err());
    }
}
