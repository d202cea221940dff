//! A catalogue of malformed requests, each answered with its exact status, and the
//! registry unchanged afterwards.

mod common;

use std::future::Future;
use std::pin::Pin;

use common::*;
use prost_types::FieldMask;
use teacher_registry::api::pb;
use tonic::Code;

type Call = Pin<Box<dyn Future<Output = Result<(), tonic::Status>> + Send>>;

fn with(f: impl FnOnce(&mut pb::Teacher)) -> pb::Teacher {
    let mut t = teacher(1, "350702");
    f(&mut t);
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_request_is_refused_precisely_and_changes_nothing() {
    let server = start_server().await;
    let mut client = server.new_client().await;
    let existing = create(&mut client, teacher(100, "350702")).await;
    let before = client
        .list_teachers(pb::ListTeachersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .revision;

    let create_with = |t: pb::Teacher| -> Call {
        let mut c = client.clone();
        Box::pin(async move { c.create_teacher(create_request(t, "")).await.map(drop) })
    };
    let create_id = |id: &str| -> Call {
        let mut c = client.clone();
        let id = id.to_string();
        Box::pin(async move {
            c.create_teacher(create_request(teacher(2, "350702"), &id))
                .await
                .map(drop)
        })
    };
    let get = |id: &str| -> Call {
        let mut c = client.clone();
        let id = id.to_string();
        Box::pin(async move {
            c.get_teacher(pb::GetTeacherRequest {
                teacher_id: id,
                revision: None,
            })
            .await
            .map(drop)
        })
    };
    let list = |r: pb::ListTeachersRequest| -> Call {
        let mut c = client.clone();
        Box::pin(async move { c.list_teachers(r).await.map(drop) })
    };
    let update = |r: pb::UpdateTeacherRequest| -> Call {
        let mut c = client.clone();
        Box::pin(async move { c.update_teacher(r).await.map(drop) })
    };
    let changes = |r: pb::ListChangesRequest| -> Call {
        let mut c = client.clone();
        Box::pin(async move { c.list_changes(r).await.map(drop) })
    };
    let masked_update = |paths: &[&str]| {
        update(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: existing.teacher_id.clone(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            }),
            request_id: String::new(),
        })
    };
    let long = "长".repeat(200);

    let cases: Vec<(&str, Call, Code)> = vec![
        (
            "unknown document type number",
            create_with(with(|t| t.id_document_type = 99)),
            Code::InvalidArgument,
        ),
        (
            "negative enum number",
            create_with(with(|t| t.gender = -3)),
            Code::InvalidArgument,
        ),
        (
            "unknown gender number",
            create_with(with(|t| t.gender = 7)),
            Code::InvalidArgument,
        ),
        (
            "unknown employment status",
            create_with(with(|t| t.employment_status = 42)),
            Code::InvalidArgument,
        ),
        (
            "unknown legacy title",
            create_with(with(|t| t.legacy_title = 1000)),
            Code::InvalidArgument,
        ),
        (
            "unset gender",
            create_with(with(|t| t.gender = 0)),
            Code::InvalidArgument,
        ),
        (
            "oversized name",
            create_with(with(|t| t.name = long.clone())),
            Code::InvalidArgument,
        ),
        (
            "control character in name",
            create_with(with(|t| t.name = "a\u{1b}[2J".into())),
            Code::InvalidArgument,
        ),
        (
            "blank name",
            create_with(with(|t| t.name = " \t ".into())),
            Code::InvalidArgument,
        ),
        (
            "oversized school",
            create_with(with(|t| t.school = long.clone())),
            Code::InvalidArgument,
        ),
        (
            "birth date 30 February",
            create_with(with(|t| t.birth_date = "1990-02-30".into())),
            Code::InvalidArgument,
        ),
        (
            "birth date year 0",
            create_with(with(|t| t.birth_date = "0000-01-01".into())),
            Code::InvalidArgument,
        ),
        (
            "birth date far future",
            create_with(with(|t| t.birth_date = "9999-12-31".into())),
            Code::InvalidArgument,
        ),
        (
            "birth date not a date",
            create_with(with(|t| t.birth_date = "yesterday".into())),
            Code::InvalidArgument,
        ),
        (
            "birth date with time",
            create_with(with(|t| t.birth_date = "1990-01-01T00:00:00Z".into())),
            Code::InvalidArgument,
        ),
        (
            "county code letters",
            create_with(with(|t| t.county_code = "ABCDEF".into())),
            Code::InvalidArgument,
        ),
        (
            "county code prefecture",
            create_with(with(|t| t.county_code = "350700".into())),
            Code::InvalidArgument,
        ),
        (
            "county code no province",
            create_with(with(|t| t.county_code = "990101".into())),
            Code::InvalidArgument,
        ),
        (
            "ID wrong check character",
            create_with(with(|t| {
                let last = if t.national_id.ends_with('0') {
                    '1'
                } else {
                    '0'
                };
                t.national_id = format!("{}{last}", &t.national_id[..17]);
            })),
            Code::InvalidArgument,
        ),
        (
            "ID too short",
            create_with(with(|t| t.national_id = "1101051949".into())),
            Code::InvalidArgument,
        ),
        (
            "ID with letters",
            create_with(with(|t| t.national_id = "11010519491231ABCX".into())),
            Code::InvalidArgument,
        ),
        (
            "ID birth in future",
            create_with(with(|t| t.national_id = "110105209901010011".into())),
            Code::InvalidArgument,
        ),
        (
            "ID full-width digits",
            create_with(with(|t| {
                t.national_id = "１１０１０５１９４９１２３１００２X".into()
            })),
            Code::InvalidArgument,
        ),
        (
            "passport with spaces",
            create_with(with(|t| {
                t.id_document_type = pb::IdDocumentType::Passport as i32;
                t.national_id = "E 1234 5678".into();
            })),
            Code::InvalidArgument,
        ),
        (
            "certificates on create",
            create_with(with(|t| t.certificates.push(pb::Certificate::default()))),
            Code::InvalidArgument,
        ),
        (
            "title history on create",
            create_with(with(|t| t.title_history.push(pb::TitleEntry::default()))),
            Code::InvalidArgument,
        ),
        (
            "duplicate identity",
            create_with(teacher(100, "350702")),
            Code::AlreadyExists,
        ),
        (
            "oversized request id",
            create_id(&"r".repeat(200)),
            Code::InvalidArgument,
        ),
        (
            "request id with newline",
            create_id("a\nb"),
            Code::InvalidArgument,
        ),
        ("empty registry number", get(""), Code::InvalidArgument),
        (
            "registry number wrong check",
            get(&{
                let mut id = existing.teacher_id.clone().into_bytes();
                id[11] = if id[11] == b'0' { b'1' } else { b'0' };
                String::from_utf8(id).unwrap()
            }),
            Code::InvalidArgument,
        ),
        (
            "registry number with emoji",
            get("T😀😀😀😀😀😀😀😀😀😀X"),
            Code::InvalidArgument,
        ),
        (
            "registry number way too long",
            get(&"T".repeat(10_000)),
            Code::InvalidArgument,
        ),
        (
            "negative page size",
            list(pb::ListTeachersRequest {
                page_size: i32::MIN,
                ..Default::default()
            }),
            Code::InvalidArgument,
        ),
        (
            "forged page token",
            list(pb::ListTeachersRequest {
                page_token: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
                ..Default::default()
            }),
            Code::InvalidArgument,
        ),
        (
            "page token not base64",
            list(pb::ListTeachersRequest {
                page_token: "%%%".into(),
                ..Default::default()
            }),
            Code::InvalidArgument,
        ),
        (
            "huge page token",
            list(pb::ListTeachersRequest {
                page_token: "A".repeat(100_000),
                ..Default::default()
            }),
            Code::InvalidArgument,
        ),
        (
            "unknown title tier filter",
            list(pb::ListTeachersRequest {
                title_tier: 77,
                ..Default::default()
            }),
            Code::InvalidArgument,
        ),
        (
            "update without teacher",
            update(pb::UpdateTeacherRequest::default()),
            Code::InvalidArgument,
        ),
        (
            "update output-only path",
            masked_update(&["revision"]),
            Code::InvalidArgument,
        ),
        (
            "update unknown path",
            masked_update(&["teacher.name"]),
            Code::InvalidArgument,
        ),
        (
            "update nested path",
            masked_update(&["certificates.subject"]),
            Code::InvalidArgument,
        ),
        (
            "update with stale etag",
            update(pb::UpdateTeacherRequest {
                teacher: Some(pb::Teacher {
                    teacher_id: existing.teacher_id.clone(),
                    etag: "r999999".into(),
                    name: "x".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            Code::Aborted,
        ),
        (
            "changes after the future",
            changes(pb::ListChangesRequest {
                after_revision: u64::MAX,
                ..Default::default()
            }),
            Code::InvalidArgument,
        ),
        (
            "changes of a bad county",
            changes(pb::ListChangesRequest {
                county_code: "35".into(),
                ..Default::default()
            }),
            Code::InvalidArgument,
        ),
    ];
    assert!(cases.len() >= 40, "a catalogue of at least 40 kinds");
    for (name, call, code) in cases {
        let status = call.await.expect_err(name);
        assert_eq!(status.code(), code, "{name}: {status:?}");
        assert!(
            !status.message().contains(&existing.national_id),
            "{name} leaks an identity number"
        );
    }

    // An oversized message and a truncated stream are refused too.
    let mut c = client.clone();
    let huge = with(|t| t.school = "x".repeat(17 * 1024 * 1024));
    let status = c
        .create_teacher(create_request(huge, ""))
        .await
        .unwrap_err();
    assert!(
        matches!(
            status.code(),
            Code::ResourceExhausted | Code::OutOfRange | Code::InvalidArgument
        ),
        "{status:?}"
    );

    let after = client
        .list_teachers(pb::ListTeachersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.revision, before, "nothing changed");
    assert_eq!(after.teachers.len(), 1);
}
