//! Durability: everything acknowledged is found again after a restart, page tokens stay
//! valid, and revisions go on from where they were.

mod common;

use common::*;
use teacher_registry::api::pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_finds_every_record() {
    let server = start_server().await;
    let mut client = server.client.clone();
    let mut created = Vec::new();
    let mut tasks = Vec::new();
    for n in 0..200u32 {
        let mut client = server.new_client().await;
        tasks.push(tokio::spawn(async move {
            create(
                &mut client,
                teacher(n, if n % 2 == 0 { "350702" } else { "350721" }),
            )
            .await
        }));
    }
    for task in tasks {
        created.push(task.await.unwrap());
    }
    let token = client
        .list_teachers(pb::ListTeachersRequest {
            page_size: 10,
            county_code: "350702".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .next_page_token;

    let dir = server.stop().await;
    let server = start_server_in(dir.as_ref().unwrap().path()).await;
    let mut client = server.client.clone();
    for before in &created {
        let after = client
            .get_teacher(pb::GetTeacherRequest {
                teacher_id: before.teacher_id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .teacher
            .unwrap();
        assert_eq!(&after, before);
    }
    let page = client
        .list_teachers(pb::ListTeachersRequest {
            page_size: 10,
            page_token: token,
            county_code: "350702".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        page.teachers.len(),
        10,
        "a token from before the restart still works"
    );
    assert_eq!(page.revision, 200);
    let next = create(&mut client, teacher(500, "350702")).await;
    assert_eq!(next.revision, 201);
    server.stop().await;
    drop(dir);
}
