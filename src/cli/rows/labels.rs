//! The labels a cell may hold for each proto enum, in Chinese as spreadsheets write
//! them and as proto value names, and for yes/no flags: one table per enum, used both to
//! read cells and to write them.

use crate::api::pb;

/// The labels of one proto enum: its Chinese labels, and its proto value names.
pub(in crate::cli) struct Choices {
    /// The proto value names' common prefix, e.g. `GENDER_`.
    pub(in crate::cli) prefix: &'static str,
    /// Chinese labels and the values they stand for.
    pub(in crate::cli) labels: &'static [(&'static str, i32)],
    /// The enum's `as_str_name` for a value.
    pub(in crate::cli) name: fn(i32) -> Option<&'static str>,
}

impl Choices {
    /// Accepts a Chinese label, or the proto name with or without its prefix, any case.
    pub(in crate::cli) fn parse(&self, text: &str) -> Result<i32, String> {
        let upper = text.to_ascii_uppercase();
        let suffix = upper.strip_prefix(self.prefix).unwrap_or(&upper);
        self.labels
            .iter()
            .find(|&&(chinese, value)| chinese == text || self.suffix(value) == Some(suffix))
            .map(|&(_, value)| value)
            .ok_or_else(|| {
                let chinese = self.labels.iter().map(|&(chinese, _)| chinese);
                let names = self.labels.iter().filter_map(|&(_, v)| self.suffix(v));
                unknown_value(text, &chinese.chain(names).collect::<Vec<_>>())
            })
    }

    /// The Chinese label of a value, as sheets show it; `None` for the unset zero.
    pub(in crate::cli) fn chinese(&self, value: i32) -> Option<&'static str> {
        self.labels
            .iter()
            .find(|&&(_, v)| v == value)
            .map(|&(chinese, _)| chinese)
    }

    /// `中文 NAME` for `value` (e.g. `女 FEMALE`), as record pages show it; blank for a
    /// value without a label (the `_UNSPECIFIED` zero).
    pub(in crate::cli) fn labelled(&self, value: i32) -> String {
        let chinese = self.labels.iter().find(|&&(_, v)| v == value);
        match (chinese, self.suffix(value)) {
            (Some((chinese, _)), Some(name)) => format!("{chinese} {name}"),
            _ => String::new(),
        }
    }

    fn suffix(&self, value: i32) -> Option<&'static str> {
        (self.name)(value).and_then(|name| name.strip_prefix(self.prefix))
    }
}

pub(super) fn unknown_value(text: &str, expected: &[&str]) -> String {
    let (last, rest) = expected.split_last().expect("labels");
    format!(
        "unknown value {text:?}; expected {} or {last}",
        rest.join(", ")
    )
}

pub(in crate::cli) const DOCUMENT_TYPES: Choices = Choices {
    prefix: "ID_DOCUMENT_TYPE_",
    labels: &[
        ("居民身份证", pb::IdDocumentType::ResidentIdCard as i32),
        ("护照", pb::IdDocumentType::Passport as i32),
        (
            "港澳居民来往内地通行证",
            pb::IdDocumentType::HkMacaoPermit as i32,
        ),
        (
            "台湾居民来往大陆通行证",
            pb::IdDocumentType::TaiwanPermit as i32,
        ),
        ("其他", pb::IdDocumentType::Other as i32),
    ],
    name: |v| {
        pb::IdDocumentType::try_from(v)
            .ok()
            .map(|e| e.as_str_name())
    },
};

pub(in crate::cli) const GENDERS: Choices = Choices {
    prefix: "GENDER_",
    labels: &[
        ("男", pb::Gender::Male as i32),
        ("女", pb::Gender::Female as i32),
    ],
    name: |v| pb::Gender::try_from(v).ok().map(|e| e.as_str_name()),
};

pub(in crate::cli) const EMPLOYMENT: Choices = Choices {
    prefix: "EMPLOYMENT_STATUS_",
    labels: &[
        ("在职", pb::EmploymentStatus::Active as i32),
        ("调出", pb::EmploymentStatus::Transferred as i32),
        ("退休", pb::EmploymentStatus::Retired as i32),
        ("离职", pb::EmploymentStatus::Left as i32),
        ("待聘", pb::EmploymentStatus::NotEmployed as i32),
    ],
    name: |v| {
        pb::EmploymentStatus::try_from(v)
            .ok()
            .map(|e| e.as_str_name())
    },
};

pub(in crate::cli) const LEGACY_TITLES: Choices = Choices {
    prefix: "LEGACY_TITLE_",
    labels: &[
        ("中学高级教师", pb::LegacyTitle::SecondarySenior as i32),
        ("中学一级教师", pb::LegacyTitle::SecondaryFirst as i32),
        ("小学高级教师", pb::LegacyTitle::PrimarySenior as i32),
        ("中学二级教师", pb::LegacyTitle::SecondarySecond as i32),
        ("小学一级教师", pb::LegacyTitle::PrimaryFirst as i32),
        ("中学三级教师", pb::LegacyTitle::SecondaryThird as i32),
        ("小学二级教师", pb::LegacyTitle::PrimarySecond as i32),
        ("小学三级教师", pb::LegacyTitle::PrimaryThird as i32),
    ],
    name: |v| pb::LegacyTitle::try_from(v).ok().map(|e| e.as_str_name()),
};

pub(in crate::cli) const CERTIFICATE_KINDS: Choices = Choices {
    prefix: "CERTIFICATE_KIND_",
    labels: &[
        ("幼儿园", pb::CertificateKind::Kindergarten as i32),
        ("小学", pb::CertificateKind::PrimarySchool as i32),
        ("初级中学", pb::CertificateKind::JuniorSecondary as i32),
        ("高级中学", pb::CertificateKind::SeniorSecondary as i32),
        (
            "中等职业学校",
            pb::CertificateKind::SecondaryVocational as i32,
        ),
        (
            "中等职业学校实习指导",
            pb::CertificateKind::SecondaryVocationalInternshipInstructor as i32,
        ),
        ("高等学校", pb::CertificateKind::HigherEducation as i32),
    ],
    name: |v| {
        pb::CertificateKind::try_from(v)
            .ok()
            .map(|e| e.as_str_name())
    },
};

pub(super) const BOOLEANS: [(&str, bool); 10] = [
    ("是", true),
    ("否", false),
    ("true", true),
    ("false", false),
    ("yes", true),
    ("no", false),
    ("1", true),
    ("0", false),
    ("y", true),
    ("n", false),
];
