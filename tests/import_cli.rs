//! The `import`, `template` and `generate` commands, run as the real binary against a
//! real server: CSV in UTF-8 and GBK, XLSX and JSON Lines, Chinese headers, the rejects
//! file and the exit code. (More in `import_cli_files.rs`.)

mod cli_support;
mod common;

use std::path::Path;

use cli_support::run_with;
use common::*;
use teacher_registry::api::pb;

/// Runs the binary with `args` (its log at warnings): whether it succeeded, its stdout
/// and its stderr.
async fn run(args: Vec<String>) -> (bool, String, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_with(&args, &[("RUST_LOG", "warn")]).await;
    (run.code == Some(0), run.stdout, run.stderr)
}

fn import_args(
    server: &TestServer,
    file: &Path,
    mode: &str,
    rejects: Option<&Path>,
) -> Vec<String> {
    let mut args = vec![
        "import".to_string(),
        file.display().to_string(),
        "--server".into(),
        format!("http://{}", server.address),
        "--mode".into(),
        mode.into(),
    ];
    if let Some(rejects) = rejects {
        args.push("--rejects".into());
        args.push(rejects.display().to_string());
    }
    args
}

async fn count(server: &TestServer) -> usize {
    let mut client = server.new_client().await;
    list_all(
        &mut client,
        pb::ListTeachersRequest {
            page_size: 1000,
            ..Default::default()
        },
    )
    .await
    .len()
}

/// Two valid rows and one with a wrong check character, with Chinese headers and labels.
fn chinese_csv() -> String {
    let good1 = resident_id("350702", "1980-03-04", 11);
    let good2 = resident_id("350702", "1985-06-07", 22);
    let valid = resident_id("350702", "1990-01-01", 33);
    let wrong_check = if valid.ends_with('0') { '1' } else { '0' };
    let bad = format!("{}{wrong_check}", &valid[..17]);
    format!(
        "姓名,身份证件号码,性别,出生日期,所在县区代码,学校,任职状态,原职称\n\
         张伟,{good1},男,1980-03-04,350702,延平区第一中学,在职,中学一级教师\n\
         李娜,{good2},女,1985/06/07,350702,延平区实验小学,在职,小学高级教师\n\
         王强,{bad},男,1990-01-01,350702,延平区第二中学,在职,\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_in_utf8_with_chinese_headers_and_a_rejects_file() {
    let server = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("teachers.csv");
    std::fs::write(&file, format!("\u{feff}{}", chinese_csv())).unwrap();
    let rejects = dir.path().join("rejects.csv");

    let (ok, out, _) = run(import_args(&server, &file, "create-only", Some(&rejects))).await;
    assert!(!ok, "a rejected row makes the command fail");
    assert!(
        out.contains("2 created") && out.contains("1 rejected"),
        "{out}"
    );
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<&str> = rejected.lines().collect();
    assert_eq!(
        lines[0],
        "\u{feff}line,code,reason,姓名,身份证件号码,性别,出生日期,所在县区代码,学校,任职状态,原职称"
    );
    assert!(lines[1].starts_with("4,INVALID_ARGUMENT,"), "{rejected}");
    assert!(lines[1].contains("teacher.national_id"), "{rejected}");
    assert_eq!(count(&server).await, 2);

    let (_, out, _) = run(import_args(&server, &file, "upsert", None)).await;
    assert!(
        out.contains("0 created, 0 updated, 2 unchanged, 1 rejected"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_in_gbk_as_chinese_spreadsheets_save_it() {
    let server = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gbk.csv");
    let text = chinese_csv();
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    std::fs::write(&file, bytes).unwrap();
    let (_, out, _) = run(import_args(&server, &file, "create-only", None)).await;
    assert!(out.contains("2 created"), "{out}");
    let mut client = server.new_client().await;
    let names: Vec<String> = list_all(&mut client, pb::ListTeachersRequest::default())
        .await
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(
        names.contains(&"张伟".to_string()) && names.contains(&"李娜".to_string()),
        "{names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xlsx_and_json_lines() {
    let server = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("teachers.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let headers = [
        "name",
        "national_id",
        "gender",
        "birth_date",
        "county_code",
        "school",
        "employment_status",
    ];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let id = resident_id("350702", "1979-11-12", 41);
    sheet.write_string(1, 0, "陈静").unwrap();
    sheet.write_string(1, 1, &id).unwrap();
    sheet.write_string(1, 2, "MALE").unwrap();
    sheet.write_string(1, 3, "1979-11-12").unwrap();
    sheet.write_number(1, 4, 350702.0).unwrap();
    sheet.write_string(1, 5, "一中").unwrap();
    sheet.write_string(1, 6, "ACTIVE").unwrap();
    book.save(&xlsx).unwrap();
    let (ok, out, err) = run(import_args(&server, &xlsx, "create-only", None)).await;
    assert!(ok, "{out} {err}");
    assert!(out.contains("1 created"), "{out}");

    let jsonl = dir.path().join("teachers.jsonl");
    let id2 = resident_id("350721", "1988-02-03", 52);
    std::fs::write(
        &jsonl,
        format!(
            "{{\"姓名\":\"周敏\",\"身份证件号码\":\"{id2}\",\"性别\":\"女\",\"出生日期\":\"1988-02-03\",\"所在县区代码\":\"350721\",\"学校\":\"顺昌一中\",\"任职状态\":\"在职\"}}\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = run(import_args(&server, &jsonl, "create-only", None)).await;
    assert!(ok, "{out} {err}");
    assert_eq!(count(&server).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_data_imports_cleanly_and_templates_open() {
    let server = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let (ok, csv, err) = run(vec![
        "generate".into(),
        "--count".into(),
        "300".into(),
        "--seed".into(),
        "7".into(),
    ])
    .await;
    assert!(ok, "{err}");
    let file = dir.path().join("generated.csv");
    std::fs::write(&file, &csv).unwrap();
    let (ok, out, err) = run(import_args(&server, &file, "create-only", None)).await;
    assert!(ok, "{out} {err}");
    assert!(out.contains("300 created"), "{out}");
    let (ok, out, _) = run(import_args(&server, &file, "upsert", None)).await;
    assert!(
        ok && out.contains("300 unchanged"),
        "a re-run changes nothing: {out}"
    );

    for name in ["template.csv", "template.xlsx"] {
        let template = dir.path().join(name);
        let (ok, _, err) = run(vec!["template".into(), template.display().to_string()]).await;
        assert!(ok, "{err}");
        let (ok, out, err) = run(import_args(&server, &template, "create-only", None)).await;
        assert!(ok, "an empty template imports nothing: {out} {err}");
        assert!(out.starts_with("0 rows"), "{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_every_teacher_as_json_lines() {
    let server = start_server().await;
    let mut client = server.new_client().await;
    for n in 0..25 {
        create(
            &mut client,
            teacher(n, if n % 5 == 0 { "350721" } else { "350702" }),
        )
        .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("all.jsonl");
    let url = format!("http://{}", server.address);
    let (ok, out, err) = run(vec![
        "export".into(),
        file.display().to_string(),
        "--server".into(),
        url.clone(),
    ])
    .await;
    assert!(ok, "{err}");
    assert!(out.starts_with("25 teachers"), "{out}");
    // Each line is the proto3 JSON mapping of a Teacher, in full.
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 25);
    assert!(lines
        .iter()
        .all(|t| t["nationalId"].as_str().unwrap().len() == 18
            && t["employmentStatus"] == "EMPLOYMENT_STATUS_ACTIVE"));
    let exported: Vec<pb::Teacher> = text
        .lines()
        .map(|l| teacher_registry::api::json::from_line(l).unwrap())
        .collect();
    assert_eq!(
        exported,
        list_all(&mut client, pb::ListTeachersRequest::default()).await
    );

    let county = dir.path().join("county.jsonl");
    let (ok, out, _) = run(vec![
        "export".into(),
        county.display().to_string(),
        "--server".into(),
        url,
        "--county".into(),
        "350721".into(),
    ])
    .await;
    assert!(ok && out.starts_with("5 teachers"), "{out}");
}
