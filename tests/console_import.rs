//! The console's import page over a real socket: a CSV uploaded with rows created, one
//! malformed (refused as read, as the command refuses it) and one of another county
//! (refused by the registry for a county user); the per-row results streamed; the rejects
//! downloaded as CSV by the session that imported, and by no other; a file of the wrong
//! kind refused beside the file field; a form without its CSRF token and a reader's
//! upload changing nothing. Everything imported is checked over gRPC.

mod common;
mod console_support;

use console_support::*;
use teacher_registry::api::pb;

const HEADER: &str = "姓名,身份证号,性别,出生日期,所在县区代码,学校,任职状态";

fn row(t: &pb::Teacher, county: &str) -> String {
    format!(
        "{},{},女,{},{county},{},在职",
        t.name, t.national_id, t.birth_date, t.school
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_file_is_imported_row_by_row_with_its_rejects_to_download() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let (new_a, other_b) = (common::teacher(51, A), common::teacher(52, B));
    let mut malformed = common::teacher(53, A);
    malformed.birth_date = "1980-02-30".into();
    let csv = format!(
        "{HEADER}\n{}\n{}\n{}\n",
        row(&new_a, A),
        row(&malformed, A),
        row(&other_b, B)
    );

    let mut http = fx.signed_in(&fx.tokens.county_a).await;
    let form = http.get("/import").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("enctype=\"multipart/form-data\""));
    let csrf = form.input("csrf").unwrap();

    // No CSRF token: refused, nothing imported.
    let refused = http
        .post_file(
            "/import",
            &[("mode", "upsert")],
            ("file", "t.csv", csv.as_bytes()),
        )
        .await;
    assert_eq!(refused.status, 403);
    // A file of the wrong kind: the error beside the file field.
    let wrong = http
        .post_file(
            "/import",
            &[("csrf", &csrf), ("mode", "upsert")],
            ("file", "teachers.txt", b"hello"),
        )
        .await;
    wrong.assert_field_error("file");

    let done = http
        .post_file(
            "/import",
            &[("csrf", &csrf), ("mode", "create_only")],
            ("file", "teachers.csv", csv.as_bytes()),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let results = &done.body[done.body.find("id=\"import-results\"").unwrap()..];
    let summary = &done.body[done.body.find("id=\"import-summary\"").unwrap()..];
    assert!(
        summary.starts_with(
            "id=\"import-summary\" role=\"status\">共3 行：新建 1，更新 0，无变化 0，拒绝 2"
        ),
        "{summary}"
    );
    // Line 2 created, line 3 refused as read, line 4 refused by the registry.
    assert!(results.contains("<td>2</td><td>新建</td>"), "{results}");
    assert!(results.contains("<td>3</td><td>拒绝</td>"), "{results}");
    assert!(results.contains("<td>4</td><td>拒绝</td>"), "{results}");
    assert!(results.contains("PERMISSION_DENIED"), "{results}");

    let link = done.body.split("id=\"rejects\" href=\"").nth(1).unwrap();
    let link = &link[..link.find('"').unwrap()];
    let rejects = http.get(link).await;
    assert_eq!(rejects.status, 200);
    assert_eq!(
        rejects.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    let lines: Vec<&str> = rejects
        .body
        .trim_start_matches('\u{feff}')
        .lines()
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with("line,code,reason,姓名,身份证号"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("3,INVALID_ARGUMENT,") && lines[1].contains(&malformed.national_id)
    );
    assert!(
        lines[2].starts_with("4,PERMISSION_DENIED,") && lines[2].contains(&other_b.national_id)
    );
    // Another session cannot download them.
    let mut other = fx.signed_in(&fx.tokens.admin).await;
    assert_eq!(other.get(link).await.status, 404);

    // The registry has the new teacher, and not the others.
    let search = other.get(&format!("/search?q={}", new_a.national_id)).await;
    assert!(search.body.contains("/teachers/T"), "{}", search.body);
    for absent in [&malformed, &other_b] {
        let search = other
            .get(&format!("/search?q={}", absent.national_id))
            .await;
        assert!(
            !search.body.contains("href=\"/teachers/T"),
            "{}",
            search.body
        );
    }

    // A reader may not import: the registry refuses, nothing changes.
    let mut reader = fx.signed_in(&fx.tokens.reader).await;
    let form = reader.get("/import").await;
    let csrf = form.input("csrf").unwrap();
    let mut fresh = common::teacher(54, A);
    fresh.name = "王五".into();
    let csv = format!("{HEADER}\n{}\n", row(&fresh, A));
    let refused = reader
        .post_file(
            "/import",
            &[("csrf", &csrf), ("mode", "upsert")],
            ("file", "t.csv", csv.as_bytes()),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let search = other.get(&format!("/search?q={}", fresh.national_id)).await;
    assert!(!search.body.contains("href=\"/teachers/T"));
}
