//! CreateTeacher, GetTeacher, LookupTeacher and UpdateTeacher through a real server:
//! each success path and each refusal, and that a refusal changes nothing.

mod common;

use common::*;
use prost_types::FieldMask;
use teacher_registry::api::pb;
use teacher_registry::domain::TeacherId;
use tonic::Code;

const WORKED_EXAMPLE: &str = "11010519491231002X";

fn worked_example_teacher() -> pb::Teacher {
    pb::Teacher {
        id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
        national_id: "11010519491231002x".into(),
        name: " 王芳 ".into(),
        gender: pb::Gender::Female as i32,
        birth_date: "1949-12-31".into(),
        county_code: "350702".into(),
        employment_status: pb::EmploymentStatus::Retired as i32,
        legacy_title: pb::LegacyTitle::PrimarySenior as i32,
        legacy_title_limited_scope: true,
        ..Default::default()
    }
}

async fn revision(client: &mut Client) -> u64 {
    client
        .list_teachers(pb::ListTeachersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .revision
}

#[tokio::test]
async fn create_then_get_and_lookup() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let response = client
        .create_teacher(create_request(worked_example_teacher(), ""))
        .await
        .unwrap()
        .into_inner();
    assert!(response.warnings.is_empty(), "{:?}", response.warnings);
    let created = response.teacher.unwrap();
    assert!(TeacherId::parse(&created.teacher_id).is_ok());
    assert_eq!(created.national_id, WORKED_EXAMPLE, "stored upper-case");
    assert_eq!(created.name, "王芳", "trimmed");
    assert_eq!(created.revision, 1);
    assert!(!created.etag.is_empty());
    assert!(created.create_time.is_some());
    assert_eq!(created.legacy_title, pb::LegacyTitle::PrimarySenior as i32);
    assert!(created.legacy_title_limited_scope);
    assert_eq!(created.current_title, pb::TitleTier::Unspecified as i32);

    let got = get_teacher(client, &created.teacher_id.to_lowercase()).await;
    assert_eq!(got, created);

    for doc_type in [
        pb::IdDocumentType::ResidentIdCard,
        pb::IdDocumentType::Unspecified,
    ] {
        let found = client
            .lookup_teacher(pb::LookupTeacherRequest {
                key: Some(pb::lookup_teacher_request::Key::NationalId(
                    "11010519491231002x".into(),
                )),
                id_document_type: doc_type as i32,
            })
            .await
            .unwrap_teacher();
        assert_eq!(found.teacher_id, created.teacher_id);
    }
}

#[tokio::test]
async fn other_identity_documents_are_kept_apart_by_type() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let passport = pb::Teacher {
        id_document_type: pb::IdDocumentType::Passport as i32,
        national_id: "e12345678".into(),
        ..teacher(1, "350702")
    };
    let other = pb::Teacher {
        id_document_type: pb::IdDocumentType::Other as i32,
        national_id: "E12345678".into(),
        ..teacher(2, "350702")
    };
    let a = create(client, passport).await;
    let b = create(client, other).await;
    assert_ne!(a.teacher_id, b.teacher_id);
    let found = client
        .lookup_teacher(pb::LookupTeacherRequest {
            key: Some(pb::lookup_teacher_request::Key::NationalId(
                "E12345678".into(),
            )),
            id_document_type: pb::IdDocumentType::Other as i32,
        })
        .await
        .unwrap_teacher();
    assert_eq!(found.teacher_id, b.teacher_id);
}

#[tokio::test]
async fn a_second_record_for_one_identity_is_already_exists_with_the_existing_id() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let first = create(client, worked_example_teacher()).await;
    let again = pb::Teacher {
        name: "另一个人".into(),
        ..worked_example_teacher()
    };
    let status = client
        .create_teacher(create_request(again, ""))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    let info = error_info(&status);
    assert_eq!(info["teacher_id"], first.teacher_id);
    assert_eq!(info["reason"], "ALREADY_EXISTS");
    assert!(
        !status.message().contains(WORKED_EXAMPLE),
        "{}",
        status.message()
    );
    assert_eq!(revision(client).await, 1, "nothing changed");
}

#[tokio::test]
async fn every_bad_field_is_reported_and_nothing_changes() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let bad = pb::Teacher {
        id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
        national_id: "110105194912310021".into(),
        name: "\u{0}".into(),
        gender: 7,
        birth_date: "2030-01-01".into(),
        county_code: "ABC".into(),
        school: "".into(),
        employment_status: pb::EmploymentStatus::Active as i32,
        legacy_title: 42,
        certificates: vec![pb::Certificate::default()],
        ..Default::default()
    };
    let status = client
        .create_teacher(create_request(bad, "bad id with spaces"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let mut fields = violated_fields(&status);
    fields.sort();
    assert_eq!(
        fields,
        [
            "request_id",
            "teacher.birth_date",
            "teacher.certificates",
            "teacher.county_code",
            "teacher.gender",
            "teacher.legacy_title",
            "teacher.name",
            "teacher.national_id",
            "teacher.school",
        ]
    );
    let status = client
        .create_teacher(pb::CreateTeacherRequest::default())
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["teacher"]);
    assert_eq!(revision(client).await, 0, "nothing changed");
}

#[tokio::test]
async fn a_birth_date_unlike_the_identity_card_is_a_warning() {
    let mut server = start_server().await;
    let odd = pb::Teacher {
        birth_date: "1950-01-01".into(),
        ..worked_example_teacher()
    };
    let response = server
        .client
        .create_teacher(create_request(odd, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.teacher.unwrap().birth_date, "1950-01-01");
    assert_eq!(response.warnings.len(), 1, "{:?}", response.warnings);
    assert!(response.warnings[0].contains("birth_date"));
}

#[tokio::test]
async fn registry_numbers_with_a_wrong_check_character_are_invalid_not_unknown() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let created = create(client, teacher(1, "350702")).await;
    let mut typo = created.teacher_id.clone().into_bytes();
    typo[11] = if typo[11] == b'0' { b'1' } else { b'0' };
    let typo = String::from_utf8(typo).unwrap();
    for (id, code) in [
        (typo.as_str(), Code::InvalidArgument),
        ("", Code::InvalidArgument),
        ("T123", Code::InvalidArgument),
    ] {
        let status = client
            .get_teacher(pb::GetTeacherRequest {
                teacher_id: id.into(),
                revision: None,
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{id}");
        assert_eq!(violated_fields(&status), ["teacher_id"]);
    }
    // A well-formed number nobody holds.
    let unknown = loop {
        let id = TeacherId::generate(&mut rand::thread_rng());
        if id.as_str() != created.teacher_id {
            break id;
        }
    };
    let status = client
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: unknown.to_string(),
            revision: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn lookup_refusals() {
    let mut server = start_server().await;
    let client = &mut server.client;
    create(client, teacher(1, "350702")).await;
    use pb::lookup_teacher_request::Key;
    let cases = [
        (None, 0, Code::InvalidArgument),
        (
            Some(Key::NationalId("11010519491231002X".into())),
            0,
            Code::NotFound,
        ),
        (
            Some(Key::NationalId("110105194912310021".into())),
            1,
            Code::InvalidArgument,
        ),
        (Some(Key::NationalId("".into())), 0, Code::InvalidArgument),
        (
            Some(Key::NationalId("11010519491231002X".into())),
            99,
            Code::InvalidArgument,
        ),
        (
            Some(Key::CertificateNumber("123".into())),
            0,
            Code::InvalidArgument,
        ),
        (
            Some(Key::CertificateNumber("20163500022000123".into())),
            0,
            Code::NotFound,
        ),
    ];
    for (key, doc_type, code) in cases {
        let status = client
            .lookup_teacher(pb::LookupTeacherRequest {
                key: key.clone(),
                id_document_type: doc_type,
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{key:?} {doc_type}");
        assert!(!status.message().contains("11010519491231002X"));
    }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

fn update(teacher: pb::Teacher, paths: &[&str]) -> pb::UpdateTeacherRequest {
    pb::UpdateTeacherRequest {
        teacher: Some(teacher),
        update_mask: mask(paths),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn update_changes_only_the_masked_fields() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let created = create(client, teacher(1, "350702")).await;
    let patch = pb::Teacher {
        teacher_id: created.teacher_id.clone(),
        etag: created.etag.clone(),
        name: "新名字".into(),
        school: "not applied".into(),
        ..Default::default()
    };
    let response = client
        .update_teacher(update(patch, &["name"]))
        .await
        .unwrap()
        .into_inner();
    let updated = response.teacher.unwrap();
    assert_eq!(updated.name, "新名字");
    assert_eq!(updated.school, created.school);
    assert_eq!(updated.national_id, created.national_id);
    assert_ne!(updated.etag, created.etag);
    assert!(updated.revision > created.revision);
    assert_eq!(updated.create_time, created.create_time);

    // Without an etag the update is allowed; without a mask the set fields are the mask.
    let implied = pb::Teacher {
        teacher_id: created.teacher_id.clone(),
        county_code: "350721".into(),
        ..Default::default()
    };
    let moved = client
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(implied),
            update_mask: None,
            request_id: String::new(),
        })
        .await
        .unwrap_teacher();
    assert_eq!(moved.county_code, "350721");
    assert_eq!(moved.name, "新名字");
    let old_county = list_all(
        client,
        pb::ListTeachersRequest {
            county_code: "350702".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(old_county.is_empty(), "the county index follows the move");

    // An update that changes nothing writes nothing.
    let same = client
        .update_teacher(update(moved.clone(), &["name", "school"]))
        .await
        .unwrap_teacher();
    assert_eq!(same.revision, moved.revision);
}

#[tokio::test]
async fn update_refusals_change_nothing() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let created = create(client, teacher(1, "350702")).await;
    let other = create(client, teacher(2, "350702")).await;
    let base = pb::Teacher {
        teacher_id: created.teacher_id.clone(),
        ..Default::default()
    };

    let stale = pb::Teacher {
        etag: "r0".into(),
        name: "x".into(),
        ..base.clone()
    };
    let status = client
        .update_teacher(update(stale, &["name"]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    assert_eq!(error_info(&status)["current_etag"], created.etag);

    for (paths, field) in [
        (vec!["etag"], "update_mask"),
        (vec!["teacher_id"], "update_mask"),
        (vec!["current_title"], "update_mask"),
        (vec!["certificates"], "update_mask"),
        (vec!["no_such_field"], "update_mask"),
    ] {
        let status = client
            .update_teacher(update(base.clone(), &paths))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{paths:?}");
        assert_eq!(violated_fields(&status), [field], "{paths:?}");
    }

    let bad_values = pb::Teacher {
        name: "".into(),
        birth_date: "1990-02-30".into(),
        ..base.clone()
    };
    let status = client
        .update_teacher(update(bad_values, &["name", "birth_date"]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        ["teacher.name", "teacher.birth_date"]
    );

    let taken = pb::Teacher {
        national_id: other.national_id.clone(),
        ..base.clone()
    };
    let status = client
        .update_teacher(update(taken, &["national_id"]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(error_info(&status)["teacher_id"], other.teacher_id);

    let status = client
        .update_teacher(update(
            pb::Teacher {
                teacher_id: "nonsense".into(),
                ..Default::default()
            },
            &["name"],
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["teacher.teacher_id"]);

    let unknown = TeacherId::generate(&mut rand::thread_rng()).to_string();
    let status = client
        .update_teacher(update(
            pb::Teacher {
                teacher_id: unknown,
                name: "x".into(),
                ..Default::default()
            },
            &["name"],
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let status = client
        .update_teacher(pb::UpdateTeacherRequest::default())
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["teacher"]);

    let after = get_teacher(client, &created.teacher_id).await;
    assert_eq!(after, created, "no refusal changed the record");
    assert_eq!(revision(client).await, 2);
}

#[tokio::test]
async fn a_request_id_replays_its_first_answer_and_refuses_another_body() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let first = client
        .create_teacher(create_request(teacher(1, "350702"), "req-1"))
        .await
        .unwrap()
        .into_inner();
    let retry = client
        .create_teacher(create_request(teacher(1, "350702"), "req-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retry, first);

    let status = client
        .create_teacher(create_request(teacher(2, "350702"), "req-1"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(error_info(&status)["reason"], "REQUEST_ID_REUSED");
    assert_eq!(revision(client).await, 1);

    // Updates honour request ids too: a retry after success is not refused by its etag.
    let created = first.teacher.unwrap();
    let request = pb::UpdateTeacherRequest {
        teacher: Some(pb::Teacher {
            teacher_id: created.teacher_id.clone(),
            etag: created.etag.clone(),
            school: "第九中学".into(),
            ..Default::default()
        }),
        update_mask: mask(&["school"]),
        request_id: "req-2".into(),
    };
    let once = client
        .update_teacher(request.clone())
        .await
        .unwrap()
        .into_inner();
    let twice = client.update_teacher(request).await.unwrap().into_inner();
    assert_eq!(once, twice);
    assert_eq!(revision(client).await, 2);
}
