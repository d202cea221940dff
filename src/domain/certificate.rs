//! Teacher qualification certificates (教师资格证书): kinds, numbers and the record of
//! every copy, registration and revocation. Nothing here is ever deleted.

use chrono::{Datelike, NaiveDate};

use crate::domain::{Gender, QualificationLoss};

/// Certificate kinds; `digit()` is digit 10 of the certificate number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateKind {
    Kindergarten,
    PrimarySchool,
    JuniorSecondary,
    SeniorSecondary,
    SecondaryVocational,
    SecondaryVocationalInternshipInstructor,
    HigherEducation,
}

impl CertificateKind {
    /// Every kind, in the order of their digits.
    pub const ALL: [CertificateKind; 7] = [
        Self::Kindergarten,
        Self::PrimarySchool,
        Self::JuniorSecondary,
        Self::SeniorSecondary,
        Self::SecondaryVocational,
        Self::SecondaryVocationalInternshipInstructor,
        Self::HigherEducation,
    ];

    /// The kind [`name`](Self::name) spells, e.g. `JUNIOR_SECONDARY`.
    pub fn from_name(name: &str) -> Option<CertificateKind> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The digit that stands at position 10 of this kind's certificate numbers.
    pub fn digit(self) -> u8 {
        match self {
            Self::Kindergarten => 1,
            Self::PrimarySchool => 2,
            Self::JuniorSecondary => 3,
            Self::SeniorSecondary => 4,
            Self::SecondaryVocational => 5,
            Self::SecondaryVocationalInternshipInstructor => 6,
            Self::HigherEducation => 7,
        }
    }

    /// The name the API and the files use, e.g. `JUNIOR_SECONDARY`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kindergarten => "KINDERGARTEN",
            Self::PrimarySchool => "PRIMARY_SCHOOL",
            Self::JuniorSecondary => "JUNIOR_SECONDARY",
            Self::SeniorSecondary => "SENIOR_SECONDARY",
            Self::SecondaryVocational => "SECONDARY_VOCATIONAL",
            Self::SecondaryVocationalInternshipInstructor => {
                "SECONDARY_VOCATIONAL_INTERNSHIP_INSTRUCTOR"
            }
            Self::HigherEducation => "HIGHER_EDUCATION",
        }
    }

    /// The kind as printed on the certificate (资格种类), for staff who read Chinese forms.
    pub fn label(self) -> &'static str {
        match self {
            Self::Kindergarten => "幼儿园",
            Self::PrimarySchool => "小学",
            Self::JuniorSecondary => "初级中学",
            Self::SeniorSecondary => "高级中学",
            Self::SecondaryVocational => "中等职业学校",
            Self::SecondaryVocationalInternshipInstructor => "中等职业学校实习指导",
            Self::HigherEducation => "高等学校",
        }
    }
}

/// Messages name a kind as the API does, with its Chinese name: `JUNIOR_SECONDARY (初级中学)`.
impl std::fmt::Display for CertificateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), self.label())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateStatus {
    Valid,
    Revoked,
    /// The holder lost the qualification (丧失, Teachers Law art. 14): void for good.
    Lost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReissueReason {
    Lost,
    Damaged,
    DetailsChanged,
}

/// The legal ground of a revocation (撤销教师资格, Regulations on Teacher Qualifications
/// art. 19). A revocation also carries the bureau's written finding (`reason`), which says
/// what happened; the ground says which rule it falls under, so that it can be counted and
/// searched without reading the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationGround {
    /// The qualification was obtained by fraud or deception (弄虚作假、骗取教师资格).
    Fraud,
    /// Bad conduct, or insulting students, with serious effect (品行不良、侮辱学生，影响恶劣).
    Misconduct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyState {
    Current,
    Void,
    Surrendered,
}

/// One physical copy of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateCopy {
    pub copy_number: u32,
    pub issued_on: NaiveDate,
    /// `None` for the original copy.
    pub reason: Option<ReissueReason>,
    pub declaration_ref: String,
    pub state: CopyState,
}

/// A periodic registration (定期注册).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub registered_on: NaiveDate,
    pub expires_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub revoked_on: NaiveDate,
    /// The written finding.
    pub reason: String,
    pub approval_document: String,
    /// `None` when the request named no ground, as every revocation recorded before
    /// grounds were kept.
    pub ground: Option<RevocationGround>,
}

/// A certificate with its whole history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub number: String,
    pub kind: CertificateKind,
    pub subject: String,
    pub issuing_authority: String,
    pub certified_on: NaiveDate,
    pub status: CertificateStatus,
    pub copies: Vec<CertificateCopy>,
    pub registrations: Vec<Registration>,
    pub revocation: Option<Revocation>,
    /// Set once the holder's qualification is lost (on every certificate of theirs).
    pub loss: Option<QualificationLoss>,
}

/// The first year in which qualification certificates of this kind were issued.
const FIRST_CERTIFICATION_YEAR: i32 = 1996;

/// Checks the form of a certificate number: 17 digits whose first four are a plausible
/// year of certification (1996 to `today`'s year). Returns the normalised number.
/// The kind digit is checked separately by [`check_kind_digit`].
pub fn parse_certificate_number(raw: &str, today: NaiveDate) -> Result<String, String> {
    let number = raw.trim();
    let len = number.chars().count();
    if len != 17 {
        return Err(format!(
            "a certificate number has 17 digits, got {len} characters"
        ));
    }
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a certificate number has only digits".into());
    }
    let year: i32 = number[..4].parse().expect("four digits");
    if !(FIRST_CERTIFICATION_YEAR..=today.year()).contains(&year) {
        return Err(format!(
            "digits 1-4 give the year of certification, {year} is not between {FIRST_CERTIFICATION_YEAR} and {}",
            today.year()
        ));
    }
    Ok(number.to_string())
}

/// The year from which sources agree on digit 11 of a certificate number: 1 for a male
/// holder, 2 for a female one. Before it, descriptions of the digit disagree.
const SEX_CODE_FROM: i32 = 2009;

/// Digits 5-6 of a new certificate number must be a GB/T 2260 province code. Checked on
/// new certificates only: a number already on record with another code stays readable
/// and findable (stored data is never refused for a rule it predates).
pub fn check_province_code(number: &str) -> Result<(), String> {
    let code = number.get(4..6).unwrap_or_default();
    if crate::domain::values::PROVINCE_CODES.contains(&code) {
        Ok(())
    } else {
        Err(format!(
            "digits 5-6 give the province (GB/T 2260), {code} is not a province code"
        ))
    }
}

/// A warning when digit 11 of a certificate number, read as a sex code (certificates of
/// 2009 on: 1 male, 2 female), disagrees with the holder's recorded sex. Never a refusal:
/// the meaning of the digit is not settled, and the record may be the one that is wrong.
pub fn sex_code_warning(number: &str, holder: Gender) -> Option<String> {
    let year: i32 = number.get(..4)?.parse().ok()?;
    let coded = match number.as_bytes().get(10)? {
        b'1' => Gender::Male,
        b'2' => Gender::Female,
        _ => return None,
    };
    (year >= SEX_CODE_FROM && coded != holder).then(|| {
        let (digit, said, recorded) = match coded {
            Gender::Male => ('1', "male", "female"),
            Gender::Female => ('2', "female", "male"),
        };
        format!(
            "certificate {number}: digit 11 is {digit} ({said}) but the holder is recorded as              {recorded}; accepted, check the certificate or the record"
        )
    })
}

/// Digit 10 of a certificate number must be its kind's digit.
pub fn check_kind_digit(number: &str, kind: CertificateKind) -> Result<(), String> {
    let digit = number.as_bytes()[9] - b'0';
    if digit == kind.digit() {
        Ok(())
    } else {
        Err(format!(
            "digit 10 is {digit} but a {kind} certificate has {}",
            kind.digit()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    #[test]
    fn digits_5_6_must_be_a_province_and_digit_11_only_warns() {
        assert!(check_province_code("20163500022000123").is_ok());
        assert!(check_province_code("20168100022000123").is_ok());
        let refused = check_province_code("20160000022000123").unwrap_err();
        assert!(refused.contains("00 is not a province code"), "{refused}");
        assert!(check_province_code("20162400022000123").is_err());
        // 2016, digit 11 = 2 (female).
        assert_eq!(sex_code_warning("20163500022000123", Gender::Female), None);
        let warning = sex_code_warning("20163500022000123", Gender::Male).unwrap();
        assert!(warning.contains("digit 11 is 2"), "{warning}");
        // Before 2009 the digit's meaning is disputed; other digits mean nothing known.
        assert_eq!(sex_code_warning("20053500022000123", Gender::Male), None);
        assert_eq!(sex_code_warning("20163500023000123", Gender::Male), None);
    }

    #[test]
    fn numbers_are_checked_for_form_and_year() {
        assert_eq!(
            parse_certificate_number(" 20163500012000123 ", today()).unwrap(),
            "20163500012000123"
        );
        assert!(parse_certificate_number("2016350001200012", today()).is_err());
        assert!(parse_certificate_number("2016350001200012A", today()).is_err());
        assert!(parse_certificate_number("19903500012000123", today()).is_err());
        assert!(parse_certificate_number("20303500012000123", today()).is_err());
    }

    #[test]
    fn kind_digit_must_match() {
        assert!(check_kind_digit("20163500022000123", CertificateKind::PrimarySchool).is_ok());
        assert!(check_kind_digit("20163500022000123", CertificateKind::HigherEducation).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = parse_certificate_number(&s, today());
        }
    }
}
