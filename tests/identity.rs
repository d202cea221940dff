//! One person, one record (issue 22), through a real server: a name change keeps the
//! former name and search finds it; an identity correction proposed by one principal and
//! approved by another (never the same), the old document still finding the teacher;
//! duplicate candidates across document types; a merge, the retired number answering the
//! survivor, a county mirror dropping it through `sync`, and an unmerge.

mod common;

use common::*;
use teacher_registry::api::pb;
use teacher_registry::store::{Store, StoreOptions};

const A: &str = "350702";

fn exact(name: &str) -> pb::SearchTeachersRequest {
    pb::SearchTeachersRequest {
        name: name.into(),
        name_match: pb::NameMatch::Exact as i32,
        ..Default::default()
    }
}

fn prefix(name: &str) -> pb::SearchTeachersRequest {
    pb::SearchTeachersRequest {
        name: name.into(),
        name_match: pb::NameMatch::Prefix as i32,
        ..Default::default()
    }
}

async fn search(client: &mut Client, request: pb::SearchTeachersRequest) -> Vec<pb::Teacher> {
    client
        .search_teachers(request)
        .await
        .expect("search")
        .into_inner()
        .teachers
}

fn former_names(teacher: &pb::Teacher) -> Vec<&str> {
    teacher
        .former_names
        .iter()
        .map(|n| n.name.as_str())
        .collect()
}

/// Every accepted write left the indexes (former names and documents among them) as
/// the records say.
async fn assert_consistent(server: TestServer) {
    let dir = server.data_dir.clone();
    let _temp = server.stop().await;
    let store = Store::open(&dir, &StoreOptions::default()).unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
}

#[tokio::test]
async fn a_name_change_keeps_the_former_name_and_search_finds_it() {
    let server = start_server().await;
    let mut client = server.client.clone();
    let teacher = create(
        &mut client,
        pb::Teacher {
            name: "王小明".into(),
            ..teacher(1, A)
        },
    )
    .await;

    // UpdateTeacher with a new name.
    let renamed = client
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                name: "王晓明".into(),
                ..teacher.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["name".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .teacher
        .unwrap();
    assert_eq!(renamed.name, "王晓明");
    assert_eq!(former_names(&renamed), ["王小明"]);
    assert!(renamed.former_names[0].until_time.is_some());

    // Found by the former name, and by the new one; once by a prefix both share.
    let by_former = search(&mut client, exact("王小明")).await;
    assert_eq!(by_former.len(), 1);
    assert_eq!(by_former[0].teacher_id, teacher.teacher_id);
    assert_eq!(by_former[0].name, "王晓明");
    assert_eq!(search(&mut client, exact("王晓明")).await.len(), 1);
    assert_eq!(search(&mut client, prefix("王")).await.len(), 1);

    // A DETAILS_CHANGED reissue with a new name keeps the name it replaces too.
    client
        .issue_certificate(pb::IssueCertificateRequest {
            teacher_id: teacher.teacher_id.clone(),
            certificate: Some(certificate("20163500022000123")),
            first_registration_on: "2016-09-01".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let reissued = client
        .reissue_certificate(pb::ReissueCertificateRequest {
            certificate_number: "20163500022000123".into(),
            reason: pb::ReissueReason::DetailsChanged as i32,
            new_name: "李晓明".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .teacher
        .unwrap();
    assert_eq!(former_names(&reissued), ["王小明", "王晓明"]);
    let found = search(&mut client, exact("王晓明")).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "李晓明");

    // A name changed back is listed once, and found once.
    let back = client
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: reissued.teacher_id.clone(),
                name: "王小明".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["name".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .teacher
        .unwrap();
    assert_eq!(former_names(&back), ["王小明", "王晓明", "李晓明"]);
    assert_eq!(search(&mut client, exact("王小明")).await.len(), 1);

    assert_consistent(server).await;
}
