//! `teacher-registry show ID|NATIONAL_ID|CERTIFICATE_NUMBER`: one teacher's record as a
//! page a person reads at a service window: the fields with Chinese and English labels,
//! then each certificate with its copies, registrations and revocation, then the title
//! history, oldest first.
//!
//! Which RPC answers depends on the argument's shape, so staff can paste whatever number
//! they hold: a registry number (`T` and eleven symbols whose check character matches)
//! goes to GetTeacher, seventeen digits (a certificate number) to LookupTeacher by
//! certificate, anything else to LookupTeacher by identity document, of any type. A
//! number shaped like a registry number whose check character does not match is refused
//! as mistyped, as the server would refuse it, rather than looked up as something else.
//! The server applies the caller's county scope and masking; this only prints.

use std::io::Write;

use super::rows::{CERTIFICATE_KINDS, DOCUMENT_TYPES, EMPLOYMENT, GENDERS, LEGACY_TITLES};
use super::search::display_width;
use super::{connect, refusal, short_name, CommandError};
use crate::api::pb;
use crate::api::pb::lookup_teacher_request::Key;
use crate::domain::{TeacherId, TeacherIdError};

/// The lookup an argument of `show` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShowKey {
    /// A registry number (GetTeacher).
    Teacher(String),
    /// A certificate number (LookupTeacher).
    Certificate(String),
    /// An identity document number of any type (LookupTeacher).
    Identity(String),
}

impl ShowKey {
    /// Chooses the lookup by the argument's shape (see the module documentation); a
    /// registry number with a wrong check character is a usage error.
    pub fn of(argument: &str) -> Result<ShowKey, CommandError> {
        let argument = argument.trim();
        match TeacherId::parse(argument) {
            Ok(id) => return Ok(ShowKey::Teacher(id.as_str().to_string())),
            Err(TeacherIdError::Check) => {
                return Err(CommandError::Usage(format!(
                    "{argument} looks like a registry number, but its check character does not \
                     match: it is mistyped"
                )))
            }
            Err(_) => {}
        }
        if argument.len() == 17 && argument.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(ShowKey::Certificate(argument.to_string()));
        }
        Ok(ShowKey::Identity(argument.to_string()))
    }
}

/// Looks the teacher up and prints the record page.
pub async fn run_show(server: &str, argument: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let key = ShowKey::of(argument)?;
    let mut client = connect(server).await?;
    let answer = match key {
        ShowKey::Teacher(teacher_id) => client
            .get_teacher(pb::GetTeacherRequest {
                teacher_id,
                revision: None,
            })
            .await
            .map(|r| r.into_inner().teacher),
        ShowKey::Certificate(number) => client
            .lookup_teacher(pb::LookupTeacherRequest {
                key: Some(Key::CertificateNumber(number)),
                id_document_type: 0,
            })
            .await
            .map(|r| r.into_inner().teacher),
        ShowKey::Identity(number) => client
            .lookup_teacher(pb::LookupTeacherRequest {
                key: Some(Key::NationalId(number)),
                id_document_type: 0,
            })
            .await
            .map(|r| r.into_inner().teacher),
    };
    let teacher = answer
        .map_err(|status| refusal(status, "the registry did not show the teacher"))?
        .ok_or_else(|| CommandError::Refused("the registry answered without a teacher".into()))?;
    write_page(&teacher, out)?;
    Ok(())
}

/// `中文 english` label, then the value, aligned.
struct Fields<'a, W: Write> {
    out: &'a mut W,
    indent: &'static str,
}

const LABEL_WIDTH: usize = 36;

impl<W: Write> Fields<'_, W> {
    fn field(&mut self, chinese: &str, english: &str, value: &str) -> std::io::Result<()> {
        let label = format!("{chinese} {english}");
        let pad = LABEL_WIDTH.saturating_sub(display_width(&label) + self.indent.len());
        let value = if value.is_empty() { "-" } else { value };
        writeln!(
            self.out,
            "{}{label}{}  {value}",
            self.indent,
            " ".repeat(pad)
        )
    }
}

/// The record of `teacher` as a page.
pub fn write_page(teacher: &pb::Teacher, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{}  {}", teacher.name, teacher.teacher_id)?;
    writeln!(out)?;
    let mut fields = Fields { out, indent: "" };
    fields.field("教师编号", "registry number", &teacher.teacher_id)?;
    fields.field("姓名", "name", &teacher.name)?;
    fields.field(
        "证件类型",
        "document type",
        &DOCUMENT_TYPES.labelled(teacher.id_document_type),
    )?;
    fields.field("身份证件号码", "identity number", &teacher.national_id)?;
    // Shown only when the record has them, so most pages read as they always did.
    if !teacher.former_names.is_empty() {
        let names: Vec<&str> = teacher
            .former_names
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        fields.field("曾用名", "former names", &names.join("、"))?;
    }
    for document in &teacher.former_documents {
        let shown = format!(
            "{} {}",
            DOCUMENT_TYPES.labelled(document.id_document_type),
            document.national_id
        );
        fields.field("原证件", "former document", &shown)?;
    }
    if !teacher.retired_teacher_ids.is_empty() {
        fields.field(
            "已并入编号",
            "merged numbers",
            &teacher.retired_teacher_ids.join(", "),
        )?;
    }
    fields.field("性别", "gender", &GENDERS.labelled(teacher.gender))?;
    fields.field("出生日期", "birth date", &teacher.birth_date)?;
    fields.field("所在县区代码", "county", &teacher.county_code)?;
    fields.field("学校", "school", &teacher.school)?;
    fields.field(
        "任职状态",
        "employment",
        &EMPLOYMENT.labelled(teacher.employment_status),
    )?;
    let mut legacy = LEGACY_TITLES.labelled(teacher.legacy_title);
    if teacher.legacy_title_limited_scope && !legacy.is_empty() {
        legacy.push_str(" (小范围有效 limited scope)");
    }
    fields.field("原职称", "legacy title", &legacy)?;
    fields.field("现职称", "current title", &tier(teacher.current_title()))?;
    fields.field("版本", "revision", &teacher.revision.to_string())?;
    fields.field("登记时间", "created", &time(teacher.create_time.as_ref()))?;
    fields.field("更新时间", "updated", &time(teacher.update_time.as_ref()))?;

    writeln!(out)?;
    writeln!(
        out,
        "教师资格证书 certificates ({})",
        teacher.certificates.len()
    )?;
    for certificate in &teacher.certificates {
        write_certificate(certificate, out)?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "职称记录 title history ({})",
        teacher.title_history.len()
    )?;
    for entry in &teacher.title_history {
        write_title_entry(entry, out)?;
    }
    Ok(())
}

fn write_certificate(certificate: &pb::Certificate, out: &mut impl Write) -> std::io::Result<()> {
    let status = match certificate.status() {
        pb::CertificateStatus::Valid => "有效 VALID",
        pb::CertificateStatus::Revoked => "已撤销 REVOKED",
        pb::CertificateStatus::Lost => "已丧失 LOST",
        pb::CertificateStatus::Unspecified => "-",
    };
    writeln!(out, "  {}  {status}", certificate.certificate_number)?;
    let mut fields = Fields {
        out: &mut *out,
        indent: "    ",
    };
    fields.field(
        "资格种类",
        "kind",
        &CERTIFICATE_KINDS.labelled(certificate.kind),
    )?;
    fields.field("任教学科", "subject", &certificate.subject)?;
    fields.field(
        "认定机构",
        "issuing authority",
        &certificate.issuing_authority,
    )?;
    fields.field("认定日期", "certified on", &certificate.certified_on)?;
    for copy in &certificate.copies {
        let state = match copy.state() {
            pb::CopyState::Current => "现行 CURRENT",
            pb::CopyState::Void => "作废 VOID",
            pb::CopyState::Surrendered => "已交回 SURRENDERED",
            pb::CopyState::Unspecified => "-",
        };
        let reason = match copy.reason() {
            pb::ReissueReason::Unspecified => "首次颁发 first issue".to_string(),
            pb::ReissueReason::Lost => "补发 reissued, lost".to_string(),
            pb::ReissueReason::Damaged => "换发 replaced, damaged".to_string(),
            pb::ReissueReason::DetailsChanged => "换发 replaced, details changed".to_string(),
        };
        let mut value = format!("{}  {state}  {reason}", copy.issued_on);
        if !copy.declaration_ref.is_empty() {
            value.push_str(&format!("  声明 declaration {}", copy.declaration_ref));
        }
        fields.field("证书 copy", &format!("#{}", copy.copy_number), &value)?;
    }
    for registration in &certificate.registrations {
        fields.field(
            "注册",
            "registration",
            &format!(
                "{}, valid until {}",
                registration.registered_on, registration.expires_on
            ),
        )?;
    }
    if let Some(revocation) = &certificate.revocation {
        let ground = match revocation.ground() {
            pb::RevocationGround::Fraud => "弄虚作假、骗取教师资格 obtained by fraud or deception",
            pb::RevocationGround::Misconduct => {
                "品行不良、侮辱学生 bad conduct or insulting students, with serious effect"
            }
            pb::RevocationGround::Unspecified => "未载明依据 no ground recorded",
        };
        fields.field(
            "撤销",
            "revocation",
            &format!(
                "{}  {ground}  {}  ({})",
                revocation.revoked_on, revocation.reason, revocation.approval_document
            ),
        )?;
    }
    if let Some(loss) = &certificate.qualification_loss {
        let ground = match loss.ground() {
            pb::QualificationLossGround::DeprivationOfPoliticalRights => {
                "剥夺政治权利 deprivation of political rights"
            }
            pb::QualificationLossGround::IntentionalCrimeSentence => {
                "故意犯罪受有期徒刑以上刑事处罚 sentence for an intentional crime"
            }
            pb::QualificationLossGround::Unspecified => "-",
        };
        let mut value = format!("{}  {ground}  ({})", loss.lost_on, loss.approval_document);
        if !loss.note.is_empty() {
            value.push_str(&format!("  {}", loss.note));
        }
        fields.field("丧失资格", "qualification lost", &value)?;
    }
    Ok(())
}

fn write_title_entry(entry: &pb::TitleEntry, out: &mut impl Write) -> std::io::Result<()> {
    let kind = match entry.kind() {
        pb::TitleChangeKind::Initial => "首次 INITIAL",
        pb::TitleChangeKind::ReformTransition => "改革过渡 REFORM_TRANSITION",
        pb::TitleChangeKind::Promotion => "晋升 PROMOTION",
        pb::TitleChangeKind::Correction => "更正 CORRECTION",
        pb::TitleChangeKind::Revocation => "撤销 REVOCATION",
        pb::TitleChangeKind::Unspecified => "-",
    };
    let mut flags = String::new();
    if entry.limited_scope {
        flags.push_str("  小范围有效 limited scope");
    }
    if entry.exceptional {
        flags.push_str("  破格 exceptional");
    }
    writeln!(
        out,
        "  {}  {kind}  {}{flags}",
        entry.effective_date,
        tier(entry.tier())
    )?;
    let mut fields = Fields {
        out: &mut *out,
        indent: "    ",
    };
    fields.field("批准文号", "approval document", &entry.approval_document)?;
    if !entry.note.is_empty() {
        fields.field("备注", "note", &entry.note)?;
    }
    fields.field(
        "记录",
        "recorded",
        &format!("{} {}", entry.recorded_by, time(entry.record_time.as_ref())),
    )
}

/// A tier in Chinese and English; `无 none` for no title.
fn tier(tier: pb::TitleTier) -> String {
    let chinese = match tier {
        pb::TitleTier::ThirdLevel => "三级教师",
        pb::TitleTier::SecondLevel => "二级教师",
        pb::TitleTier::FirstLevel => "一级教师",
        pb::TitleTier::Senior => "高级教师",
        pb::TitleTier::FullSenior => "正高级教师",
        pb::TitleTier::Unspecified => return "无 none".into(),
    };
    format!(
        "{chinese} {}",
        short_name(tier.as_str_name(), "TITLE_TIER_")
    )
}

fn time(time: Option<&prost_types::Timestamp>) -> String {
    time.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_argument_s_shape_chooses_the_lookup() {
        let id = TeacherId::generate(&mut rand::thread_rng());
        assert_eq!(
            ShowKey::of(&id.as_str().to_ascii_lowercase()).unwrap(),
            ShowKey::Teacher(id.as_str().into())
        );
        assert_eq!(
            ShowKey::of("20163500022000123").unwrap(),
            ShowKey::Certificate("20163500022000123".into())
        );
        assert_eq!(
            ShowKey::of("11010519491231002X").unwrap(),
            ShowKey::Identity("11010519491231002X".into())
        );
        assert_eq!(
            ShowKey::of("E12345678").unwrap(),
            ShowKey::Identity("E12345678".into())
        );
        // One character changed: the check character no longer matches.
        let mut typo = id.as_str().to_string();
        let last = typo.pop().unwrap();
        typo.push(if last == '0' { '1' } else { '0' });
        assert!(matches!(ShowKey::of(&typo), Err(CommandError::Usage(_))));
    }

    /// A revocation's line names its ground in both languages, or says none was recorded
    /// (every revocation recorded before grounds were kept).
    #[test]
    fn a_revocation_shows_its_ground() {
        let page = |ground: pb::RevocationGround| {
            let teacher = pb::Teacher {
                certificates: vec![pb::Certificate {
                    certificate_number: "20163500022000123".into(),
                    status: pb::CertificateStatus::Revoked as i32,
                    revocation: Some(pb::CertificateRevocation {
                        revoked_on: "2024-06-01".into(),
                        reason: "伪造学历证明".into(),
                        approval_document: "Nan Jiao Ren [2024] No. 12".into(),
                        ground: ground as i32,
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            };
            let mut out = Vec::new();
            write_page(&teacher, &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        let fraud = page(pb::RevocationGround::Fraud);
        assert!(
            fraud.contains("2024-06-01  弄虚作假、骗取教师资格 obtained by fraud or deception  伪造学历证明  (Nan Jiao Ren [2024] No. 12)"),
            "{fraud}"
        );
        let misconduct = page(pb::RevocationGround::Misconduct);
        assert!(
            misconduct.contains("品行不良、侮辱学生 bad conduct"),
            "{misconduct}"
        );
        let none = page(pb::RevocationGround::Unspecified);
        assert!(
            none.contains("2024-06-01  未载明依据 no ground recorded  伪造学历证明"),
            "{none}"
        );
    }
}
