//! Messages as lines of JSON in the proto3 JSON mapping, for the files that leave the
//! registry: backups (BackupRegistry, `backup` and `restore`), exports (`export`, whose
//! lines `import` reads back) and sync mirrors (`sync`).
//!
//! The JSON is derived from the descriptors of the proto files (the descriptor set the
//! build embeds for server reflection) by prost-reflect, never written field by field, so
//! a field added to the proto is in every backup and export from the next build on, and
//! the files change when the proto does, not when a domain type does. Reading refuses a
//! field the descriptors do not know: an older binary refuses a newer file instead of
//! dropping what it cannot hold.

use std::sync::LazyLock;

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};

use crate::api::pb;

/// A generated message that is written and read as a JSON line.
pub trait JsonLine: prost::Message + Default {
    /// The message's full name in the proto files.
    const FULL_NAME: &'static str;
}

impl JsonLine for pb::Teacher {
    const FULL_NAME: &'static str = "teacher_registry.v1.Teacher";
}

impl JsonLine for pb::Consultation {
    const FULL_NAME: &'static str = "teacher_registry.v1.Consultation";
}

impl JsonLine for pb::Case {
    const FULL_NAME: &'static str = "teacher_registry.v1.Case";
}

impl JsonLine for pb::BackupChange {
    const FULL_NAME: &'static str = "teacher_registry.v1.BackupChange";
}

/// Why a message cannot be written or read as a JSON line.
#[derive(Debug, thiserror::Error)]
pub enum JsonLineError {
    #[error("the embedded descriptor set cannot be read: {0}")]
    Descriptors(String),
    #[error("the embedded descriptor set has no message {0}")]
    NoDescriptor(&'static str),
    #[error("a {name} cannot be written as JSON: {source}")]
    Encode {
        name: &'static str,
        source: serde_json::Error,
    },
    #[error("not a {name} in the proto3 JSON mapping: {source}")]
    Decode {
        name: &'static str,
        source: serde_json::Error,
    },
    #[error("a {name} does not match its generated type: {source}")]
    Transcode {
        name: &'static str,
        source: prost::DecodeError,
    },
}

/// The descriptors of the registry's proto files, decoded once.
static DESCRIPTORS: LazyLock<Result<DescriptorPool, String>> =
    LazyLock::new(|| DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string()));

/// The descriptor of `M`.
fn descriptor<M: JsonLine>() -> Result<MessageDescriptor, JsonLineError> {
    let pool = DESCRIPTORS
        .as_ref()
        .map_err(|e| JsonLineError::Descriptors(e.clone()))?;
    pool.get_message_by_name(M::FULL_NAME)
        .ok_or(JsonLineError::NoDescriptor(M::FULL_NAME))
}

/// `message` in the proto3 JSON mapping (lowerCamelCase names, enum value names, 64-bit
/// integers as strings, RFC 3339 times, default values left out), on one line.
pub fn to_line<M: JsonLine>(message: &M) -> Result<String, JsonLineError> {
    let mut dynamic = DynamicMessage::new(descriptor::<M>()?);
    dynamic
        .transcode_from(message)
        .map_err(|source| JsonLineError::Transcode {
            name: M::FULL_NAME,
            source,
        })?;
    serde_json::to_string(&dynamic).map_err(|source| JsonLineError::Encode {
        name: M::FULL_NAME,
        source,
    })
}

/// Reads a message that `to_line` wrote (or any JSON of it in the proto3 mapping, proto
/// field names included); refuses unknown fields and anything after the object.
pub fn from_line<M: JsonLine>(line: &str) -> Result<M, JsonLineError> {
    let decode = |source| JsonLineError::Decode {
        name: M::FULL_NAME,
        source,
    };
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let dynamic =
        DynamicMessage::deserialize(descriptor::<M>()?, &mut deserializer).map_err(decode)?;
    deserializer.end().map_err(decode)?;
    dynamic
        .transcode_to::<M>()
        .map_err(|source| JsonLineError::Transcode {
            name: M::FULL_NAME,
            source,
        })
}

/// Reads a message from a JSON value in the proto3 JSON mapping (as [`from_line`] does).
pub fn from_value<M: JsonLine>(value: serde_json::Value) -> Result<M, JsonLineError> {
    let dynamic = DynamicMessage::deserialize(descriptor::<M>()?, value).map_err(|source| {
        JsonLineError::Decode {
            name: M::FULL_NAME,
            source,
        }
    })?;
    dynamic
        .transcode_to::<M>()
        .map_err(|source| JsonLineError::Transcode {
            name: M::FULL_NAME,
            source,
        })
}

/// The proto field name of `M`'s field that `key` names in JSON, by its JSON name
/// (`nationalId`) or its proto name (`national_id`), as the proto3 JSON mapping accepts
/// both; `None` when `key` names no field of `M`.
pub fn field_name<M: JsonLine>(key: &str) -> Option<String> {
    let descriptor = descriptor::<M>().ok()?;
    descriptor
        .get_field_by_json_name(key)
        .or_else(|| descriptor.get_field_by_name(key))
        .map(|field| field.name().to_string())
}

#[cfg(test)]
mod tests {
    use prost_reflect::{Kind, ReflectMessage, Value};
    use prost_types::Timestamp;

    use super::*;

    fn time(seconds: i64) -> Option<Timestamp> {
        Some(Timestamp {
            seconds,
            nanos: 123_456_000,
        })
    }

    fn title_entry(tier: pb::TitleTier, kind: pb::TitleChangeKind) -> pb::TitleEntry {
        pb::TitleEntry {
            tier: tier as i32,
            kind: kind as i32,
            effective_date: "2016-01-01".into(),
            approval_document: "Nan Jiao Ren [2016] No. 5".into(),
            limited_scope: true,
            exceptional: true,
            note: "破格".into(),
            recorded_by: "hr-yanping".into(),
            record_time: time(1_700_000_000),
        }
    }

    /// A teacher with every field, and every field of every nested message, set to a value
    /// other than its default, consistent with itself (etag and current title derived).
    pub(crate) fn teacher_with_every_field() -> pb::Teacher {
        pb::Teacher {
            teacher_id: "T6P856YEKK0B".into(),
            id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
            national_id: "11010519491231002X".into(),
            name: "陈静".into(),
            gender: pb::Gender::Female as i32,
            birth_date: "1979-11-12".into(),
            county_code: "350702".into(),
            school: "南平一中".into(),
            employment_status: pb::EmploymentStatus::Active as i32,
            legacy_title: pb::LegacyTitle::SecondaryFirst as i32,
            legacy_title_limited_scope: true,
            current_title: pb::TitleTier::Senior as i32,
            certificates: vec![pb::Certificate {
                certificate_number: "20163500022000123".into(),
                kind: pb::CertificateKind::PrimarySchool as i32,
                subject: "语文".into(),
                issuing_authority: "南平市延平区教育局".into(),
                certified_on: "2016-07-01".into(),
                status: pb::CertificateStatus::Lost as i32,
                copies: vec![pb::CertificateCopy {
                    copy_number: 2,
                    issued_on: "2020-03-01".into(),
                    reason: pb::ReissueReason::Lost as i32,
                    declaration_ref: "SD-2020-0042".into(),
                    state: pb::CopyState::Surrendered as i32,
                }],
                registrations: vec![pb::CertificateRegistration {
                    registered_on: "2016-09-01".into(),
                    expires_on: "2021-09-01".into(),
                }],
                revocation: Some(pb::CertificateRevocation {
                    revoked_on: "2024-06-01".into(),
                    reason: "以欺骗手段取得".into(),
                    approval_document: "Nan Jiao Ren [2024] No. 12".into(),
                    ground: pb::RevocationGround::Fraud as i32,
                }),
                qualification_loss: Some(pb::QualificationLoss {
                    lost_on: "2025-03-04".into(),
                    ground: pb::QualificationLossGround::IntentionalCrimeSentence as i32,
                    approval_document: "Nan Jiao Ren [2025] No. 3".into(),
                    note: "判决书".into(),
                }),
            }],
            title_history: vec![
                title_entry(
                    pb::TitleTier::FirstLevel,
                    pb::TitleChangeKind::ReformTransition,
                ),
                title_entry(pb::TitleTier::Senior, pb::TitleChangeKind::Promotion),
            ],
            etag: "r42".into(),
            revision: 42,
            create_time: time(1_600_000_000),
            update_time: time(1_700_000_001),
            former_names: vec![pb::FormerName {
                name: "陈晶".into(),
                until_time: time(1_650_000_000),
            }],
            former_documents: vec![pb::FormerDocument {
                id_document_type: pb::IdDocumentType::Passport as i32,
                national_id: "E12345678".into(),
                until_time: time(1_650_000_001),
                reason: pb::FormerDocumentReason::Merged as i32,
            }],
            retired_teacher_ids: vec!["T6P856YEKK0B".into()],
            pending_transfer: Some(pb::PendingTransfer {
                to_county_code: "350721".into(),
                reason: "工作调动".into(),
                proposed_by: "yanping".into(),
                propose_time: time(1_700_000_000),
            }),
        }
    }

    /// Fails on the first field, at any depth, that holds its default value: a field added
    /// to the proto fails here until the fixtures above set it.
    fn assert_every_field_set(message: &DynamicMessage, path: &str) {
        for field in message.descriptor().fields() {
            let path = format!("{path}.{}", field.name());
            assert!(message.has_field(&field), "{path} is not set");
            let value = message.get_field(&field);
            let items = match value.as_ref() {
                Value::List(items) => items.iter().collect::<Vec<_>>(),
                other => vec![other],
            };
            for item in items {
                if let (Kind::Message(_), Value::Message(nested)) = (field.kind(), item) {
                    assert_every_field_set(nested, &path);
                }
            }
        }
    }

    fn dynamic<M: JsonLine>(message: &M) -> DynamicMessage {
        let mut dynamic = DynamicMessage::new(descriptor::<M>().unwrap());
        dynamic.transcode_from(message).unwrap();
        dynamic
    }

    #[test]
    fn a_teacher_with_every_field_set_survives_json() {
        let teacher = teacher_with_every_field();
        assert_every_field_set(&dynamic(&teacher), "teacher");
        let line = to_line(&teacher).unwrap();
        assert!(!line.contains('\n'), "{line}");
        assert_eq!(from_line::<pb::Teacher>(&line).unwrap(), teacher);
    }

    /// A case with every field set (the feed's form of it, clock included).
    fn case_with_every_field() -> pb::Case {
        pb::Case {
            case_id: "C5Z2K8W3M1QD".into(),
            kind: pb::CaseKind::Certification as i32,
            state: pb::CaseState::Decided as i32,
            outcome: pb::CaseOutcome::Approved as i32,
            county_code: "350702".into(),
            teacher_id: "T6P856YEKK0B".into(),
            applicant: Some(teacher_with_every_field()),
            applicant_name: "陈静".into(),
            certificate_kind: pb::CertificateKind::SeniorSecondary as i32,
            certificate_number: "20163500042000123".into(),
            materials: vec!["申请表".into(), "体检表".into()],
            missing: vec!["体检表".into()],
            received_on: "2026-03-02".into(),
            accepted_on: "2026-03-03".into(),
            pauses: vec![pb::CasePause {
                start_date: "2026-03-04".into(),
                end_date: "2026-03-09".into(),
            }],
            forwarded_on: "2026-03-10".into(),
            county_opinion: "同意".into(),
            assignee: "clerk-2".into(),
            decided_on: "2026-03-20".into(),
            reasons: vec!["材料齐全".into()],
            registration_reasons: vec![pb::RegistrationReason::TrainingHoursShort as i32],
            review: vec![pb::ReviewItem::Education as i32],
            steps: vec![pb::CaseStep {
                action: pb::CaseAction::Opened as i32,
                principal: "window-1".into(),
                step_time: time(1_700_000_000),
                step_date: "2026-03-02".into(),
                note: "窗口收件".into(),
            }],
            due_on: "2026-03-31".into(),
            legal_due_on: "2026-04-14".into(),
            working_days_used: 13,
            overdue: true,
            overdue_legal: true,
            etag: "\"42\"".into(),
            create_time: time(1_700_000_000),
            update_time: time(1_700_000_001),
        }
    }

    #[test]
    fn a_backup_change_with_every_field_set_survives_json() {
        let change = pb::BackupChange {
            change: Some(pb::Change {
                revision: 42,
                teacher_id: "T6P856YEKK0B".into(),
                kind: pb::ChangeKind::Updated as i32,
                change_time: time(1_700_000_001),
                principal: "hr-yanping".into(),
                request_id: "move-1".into(),
                teacher: Some(teacher_with_every_field()),
                case_id: "C5Z2K8W3M1QD".into(),
                case: Some(case_with_every_field()),
            }),
            county_code_before: "350702".into(),
            county_code_after: "350721".into(),
        };
        assert_every_field_set(&dynamic(&change), "backup_change");
        let line = to_line(&change).unwrap();
        assert_eq!(from_line::<pb::BackupChange>(&line).unwrap(), change);
    }

    #[test]
    #[should_panic(expected = "teacher.title_history.note is not set")]
    fn a_field_left_at_its_default_is_found_at_any_depth() {
        let mut teacher = teacher_with_every_field();
        teacher.title_history[1].note.clear();
        assert_every_field_set(&dynamic(&teacher), "teacher");
    }

    #[test]
    fn a_teacher_with_every_field_set_survives_a_restore() {
        let teacher = teacher_with_every_field();
        let line = to_line(&teacher).unwrap();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let stored = crate::api::stored_teacher(from_line(&line).unwrap(), today).unwrap();
        assert_eq!(pb::Teacher::from(stored), teacher);
    }

    #[test]
    fn a_change_survives_a_restore() {
        for (kind, before) in [
            (pb::ChangeKind::Created, ""),
            (pb::ChangeKind::TitleTransitioned, "350721"),
        ] {
            let change = pb::BackupChange {
                change: Some(pb::Change {
                    revision: 42,
                    teacher_id: "T6P856YEKK0B".into(),
                    kind: kind as i32,
                    change_time: time(1_700_000_001),
                    principal: "hr-yanping".into(),
                    request_id: "move-1".into(),
                    teacher: None,
                    case_id: String::new(),
                    case: None,
                }),
                county_code_before: before.into(),
                county_code_after: "350702".into(),
            };
            let line = to_line(&change).unwrap();
            let event = crate::api::stored_change(from_line(&line).unwrap()).unwrap();
            assert_eq!(pb::BackupChange::from(event), change);
        }
    }

    #[test]
    fn lines_follow_the_proto3_json_mapping() {
        let line = to_line(&teacher_with_every_field()).unwrap();
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["teacherId"], "T6P856YEKK0B");
        assert_eq!(json["nationalId"], "11010519491231002X");
        assert_eq!(json["gender"], "GENDER_FEMALE");
        assert_eq!(json["revision"], "42");
        assert_eq!(json["createTime"], "2020-09-13T12:26:40.123456Z");
        assert_eq!(
            json["certificates"][0]["copies"][0]["state"],
            "COPY_STATE_SURRENDERED"
        );
        let sparse = to_line(&pb::Teacher {
            teacher_id: "T6P856YEKK0B".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(sparse, r#"{"teacherId":"T6P856YEKK0B"}"#);
    }

    #[test]
    fn proto_field_names_are_read_and_unknown_fields_refused() {
        let teacher: pb::Teacher =
            from_line(r#"{"teacher_id":"T6P856YEKK0B","gender":"GENDER_MALE"}"#).unwrap();
        assert_eq!(teacher.teacher_id, "T6P856YEKK0B");
        assert_eq!(teacher.gender(), pb::Gender::Male);
        for refused in [
            r#"{"teacherId":"T6P856YEKK0B","nickname":"x"}"#,
            r#"{"id":"T6P856YEKK0B"}"#,
            r#"{"teacherId":"T6P856YEKK0B"} {}"#,
            r#"{"revision":"-1"}"#,
            "",
        ] {
            let error = from_line::<pb::Teacher>(refused).unwrap_err();
            assert!(
                matches!(error, JsonLineError::Decode { .. }),
                "{refused}: {error}"
            );
        }
    }
}
