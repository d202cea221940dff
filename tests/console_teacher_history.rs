//! A teacher's page shows their past, over a real socket: the former name and identity
//! document an update left (曾用名, 曾用证件), and the revisions newest first with the
//! fields each changed, page by page. As the API gives them: a reader sees the former
//! document's number concealed and no principal; an admin sees who changed what; a county
//! principal cannot open another county's teacher's page, so none of their past either.

mod common;
mod console_support;

use console_support::*;
use teacher_registry::api::pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_teacher_page_shows_former_names_documents_and_revisions_as_the_api_does() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let (mut registry, _) = clients(&fx).await;
    let old = fx.teacher_a.clone();
    let new_number = common::teacher(3, A).national_id;
    registry
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: old.teacher_id.clone(),
                name: "张叁".into(),
                national_id: new_number.clone(),
                id_document_type: old.id_document_type,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["name".into(), "national_id".into()],
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    // Enough changes for a second page of revisions (twenty a page).
    for n in 0..20 {
        registry
            .update_teacher(pb::UpdateTeacherRequest {
                teacher: Some(pb::Teacher {
                    teacher_id: old.teacher_id.clone(),
                    school: format!("第{n}小学"),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["school".into()],
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
    }
    let path = format!("/teachers/{}", old.teacher_id);

    let mut admin = fx.signed_in(&fx.tokens.admin).await;
    let page = admin.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let names = element(&page.body, "former-names");
    assert!(names.contains("<td>张三</td>"), "{names}");
    let documents = element(&page.body, "former-documents");
    assert!(
        documents.contains(&old.national_id),
        "an admin sees it: {documents}"
    );
    assert!(documents.contains("经修改替换"), "{documents}");
    let revisions = element(&page.body, "revisions");
    assert_eq!(
        revisions.matches("data-revision=").count(),
        20,
        "{revisions}"
    );
    assert!(
        revisions.contains("第19小学"),
        "the newest first: {revisions}"
    );
    assert!(
        revisions.contains("<td>root</td>"),
        "admins see who: {revisions}"
    );
    assert!(
        !revisions.contains("建档"),
        "the creation is on the next page"
    );
    let older = page.body.find("id=\"revisions-older\"").map(|at| {
        let rest = &page.body[at..];
        let href = &rest[rest.find("href=\"").unwrap() + 6..];
        unescape(&href[..href.find('"').unwrap()])
    });
    let older = admin.get(&older.expect("a link to older revisions")).await;
    assert_eq!(older.status, 200, "{}", older.body);
    let revisions = element(&older.body, "revisions");
    assert!(revisions.contains("建档"), "{revisions}");
    assert!(revisions.contains("张叁"), "the name change: {revisions}");
    assert!(older.body.contains("id=\"revisions-newest\""));

    let mut reader = fx.signed_in(&fx.tokens.reader).await;
    let page = reader.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(element(&page.body, "former-names").contains("张三"));
    assert!(
        !page.body.contains(&old.national_id) && !page.body.contains(&new_number),
        "concealed for readers, in the documents and the changes alike"
    );
    assert!(element(&page.body, "former-documents").contains("经修改替换"));
    let revisions = element(&page.body, "revisions");
    assert!(
        !revisions.contains("root"),
        "only admins see who: {revisions}"
    );

    let mut county = fx.signed_in(&fx.tokens.county_a).await;
    let own = county.get(&path).await;
    assert_eq!(own.status, 200);
    assert!(own.body.contains("id=\"revisions\""));
    let other = county
        .get(&format!(
            "/teachers/{}?revisions=x",
            fx.teacher_b.teacher_id
        ))
        .await;
    assert_eq!(other.status, 404, "as GetTeacher answers");
    assert!(!other.body.contains("李四") && !other.body.contains("id=\"revisions\""));
}
