//! ListTeachers (AIP-158): page sizes, opaque tokens, stable order, county and school
//! filters.

mod common;

use std::collections::HashSet;

use common::*;
use teacher_registry::api::pb;
use tonic::Code;

async fn populate(client: &mut Client, count: u32, county: &str, offset: u32) -> Vec<pb::Teacher> {
    let mut created = Vec::new();
    for n in offset..offset + count {
        created.push(create(client, teacher(n, county)).await);
    }
    created
}

#[tokio::test]
async fn page_sizes_default_clamp_and_refuse_negatives() {
    let mut server = start_server().await;
    let client = &mut server.client;
    populate(client, 60, "350702", 0).await;

    let page = client
        .list_teachers(pb::ListTeachersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.teachers.len(), 50, "default page size");
    assert!(!page.next_page_token.is_empty());
    assert_eq!(page.revision, 60);

    let page = client
        .list_teachers(pb::ListTeachersRequest {
            page_size: 1_000_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.teachers.len(), 60, "clamped to 1000, all fit");
    assert!(page.next_page_token.is_empty());

    assert_invalid(
        client
            .list_teachers(pb::ListTeachersRequest {
                page_size: -1,
                ..Default::default()
            })
            .await,
        &["page_size"],
    );
}

#[tokio::test]
async fn pages_cover_everyone_once_in_a_stable_order() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let created = populate(client, 45, "350702", 0).await;
    let request = pb::ListTeachersRequest {
        page_size: 7,
        ..Default::default()
    };
    let first = list_all(client, request.clone()).await;
    let second = list_all(client, request).await;
    let ids: Vec<_> = first.iter().map(|t| t.teacher_id.clone()).collect();
    assert_eq!(
        ids,
        second
            .iter()
            .map(|t| t.teacher_id.clone())
            .collect::<Vec<_>>()
    );
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), created.len());
}

#[tokio::test]
async fn county_and_school_filters() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let here = populate(client, 30, "350702", 0).await;
    populate(client, 20, "350721", 100).await;

    let county = list_all(
        client,
        pb::ListTeachersRequest {
            page_size: 4,
            county_code: "350702".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(county.len(), here.len());
    assert!(county.iter().all(|t| t.county_code == "350702"));
    let order: Vec<_> = county
        .iter()
        .map(|t| (t.school.clone(), t.teacher_id.clone()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(
        order, sorted,
        "county listings are ordered by school, then number"
    );

    let school = list_all(
        client,
        pb::ListTeachersRequest {
            page_size: 3,
            county_code: "350702".into(),
            school: "第1中学".into(),
            ..Default::default()
        },
    )
    .await;
    let expected = here.iter().filter(|t| t.school == "第1中学").count();
    assert_eq!(school.len(), expected);
    assert!(school.iter().all(|t| t.school == "第1中学"));

    let school_anywhere = list_all(
        client,
        pb::ListTeachersRequest {
            school: "第1中学".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(school_anywhere.len() > school.len());

    let none = list_all(
        client,
        pb::ListTeachersRequest {
            county_code: "350722".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn forged_and_foreign_tokens_are_invalid() {
    let mut server = start_server().await;
    let client = &mut server.client;
    populate(client, 5, "350702", 0).await;
    let page = client
        .list_teachers(pb::ListTeachersRequest {
            page_size: 2,
            county_code: "350702".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let token = page.next_page_token;
    let mut forged = token.clone().into_bytes();
    forged[4] = if forged[4] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let cases = [
        (forged.as_str(), "350702"),
        ("garbage!", "350702"),
        ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "350702"),
        (token.as_str(), "350721"),
        (token.as_str(), ""),
    ];
    for (page_token, county) in cases {
        let status = client
            .list_teachers(pb::ListTeachersRequest {
                page_size: 2,
                page_token: page_token.into(),
                county_code: county.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{page_token} {county}"
        );
        assert_eq!(violated_fields(&status), ["page_token"]);
    }
}

#[tokio::test]
async fn bad_filters_are_invalid() {
    let mut server = start_server().await;
    let status = server
        .client
        .list_teachers(pb::ListTeachersRequest {
            county_code: "35070".into(),
            title_tier: 17,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["county_code", "title_tier"]);
}

/// A county listing reads the copy of each record its index entry carries: after edits,
/// a move to another school and a move to another county, every listed teacher must be
/// exactly what GetTeacher answers, and the county must list exactly its own teachers.
#[tokio::test]
async fn county_listings_show_each_teacher_as_get_does_after_changes() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let here = populate(client, 12, "350702", 0).await;
    let there = populate(client, 3, "350721", 100).await;

    let edit = |t: &pb::Teacher, paths: &[&str], change: &dyn Fn(&mut pb::Teacher)| {
        let mut patch = pb::Teacher {
            teacher_id: t.teacher_id.clone(),
            etag: t.etag.clone(),
            ..Default::default()
        };
        change(&mut patch);
        pb::UpdateTeacherRequest {
            teacher: Some(patch),
            update_mask: Some(prost_types::FieldMask {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            }),
            request_id: String::new(),
        }
    };
    let requests = [
        edit(&here[0], &["name"], &|t| t.name = "林改名".into()),
        edit(&here[1], &["name"], &|t| t.name = "陈改名".into()),
        edit(&here[2], &["school"], &|t| t.school = "第9中学".into()),
        edit(&here[3], &["county_code", "school"], &|t| {
            t.county_code = "350721".into();
            t.school = "第1中学".into();
        }),
        edit(&there[0], &["county_code"], &|t| {
            t.county_code = "350702".into()
        }),
    ];
    for request in requests {
        client.update_teacher(request).await.expect("update");
    }

    for (county, expected) in [("350702", 12), ("350721", 3)] {
        let listed = list_all(
            client,
            pb::ListTeachersRequest {
                page_size: 5,
                county_code: county.into(),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(listed.len(), expected, "{county}");
        for teacher in listed {
            let got = get_teacher(client, &teacher.teacher_id).await;
            assert_eq!(teacher, got, "{county}");
        }
    }
    let moved_in = &there[0].teacher_id;
    let renamed = list_all(
        client,
        pb::ListTeachersRequest {
            county_code: "350702".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(renamed.iter().any(|t| &t.teacher_id == moved_in));
    assert!(renamed.iter().any(|t| t.name == "林改名"));
    assert!(renamed.iter().all(|t| t.teacher_id != here[3].teacher_id));
}
