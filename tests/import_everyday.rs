//! Import files as HR staff have them, through the real binary and a real server: sheets
//! with columns of their own, sheets missing a column, and a template that does not
//! overwrite a filled-in sheet.

mod common;

use std::path::Path;

use common::*;

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn run(args: &[&str]) -> Outcome {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        Outcome {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

async fn import(server: &TestServer, file: &Path, rejects: Option<&Path>) -> Outcome {
    let url = format!("http://{}", server.address);
    let mut args = vec!["import", file.to_str().unwrap(), "--server", &url];
    args.extend(["--mode", "upsert"]);
    if let Some(rejects) = rejects {
        args.extend(["--rejects", rejects.to_str().unwrap()]);
    }
    run(&args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_of_their_own_are_ignored_with_one_warning_in_every_format() {
    let server = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let header = [
        "序号",
        "姓名",
        "身份证件号码",
        "性别",
        "出生日期",
        "所在县区代码",
        "学校",
        "任职状态",
        "备注",
    ];
    let row = |n: u32, id_sequence| {
        let id = resident_id("350702", "1985-06-07", id_sequence);
        let cells = [
            &n.to_string(),
            "李娜",
            &id,
            "女",
            "1985-06-07",
            "350702",
            "一中",
            "在职",
            "新调入",
        ];
        cells.map(String::from)
    };
    let assert_one_warning = |outcome: &Outcome, created: &str| {
        assert_eq!(
            outcome.code,
            Some(0),
            "{}{}",
            outcome.stdout,
            outcome.stderr
        );
        assert!(outcome.stdout.contains(created), "{}", outcome.stdout);
        let warnings: Vec<&str> = outcome
            .stderr
            .lines()
            .filter(|l| l.contains("warning"))
            .collect();
        assert_eq!(warnings.len(), 1, "{}", outcome.stderr);
        assert!(
            warnings[0].contains("\"序号\"") && warnings[0].contains("\"备注\""),
            "{}",
            warnings[0]
        );
    };

    let csv = dir.path().join("numbered.csv");
    let text: Vec<String> = [header.map(String::from), row(1, 1), row(2, 2)]
        .iter()
        .map(|cells| cells.join(","))
        .collect();
    std::fs::write(&csv, text.join("\n")).unwrap();
    assert_one_warning(&import(&server, &csv, None).await, "2 created");

    let xlsx = dir.path().join("numbered.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, cells) in [header.map(String::from), row(1, 3), row(2, 4)]
        .iter()
        .enumerate()
    {
        for (c, cell) in cells.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, cell).unwrap();
        }
    }
    book.save(&xlsx).unwrap();
    assert_one_warning(&import(&server, &xlsx, None).await, "2 created");

    let jsonl = dir.path().join("numbered.jsonl");
    let lines: Vec<String> = [row(1, 5), row(2, 6)]
        .iter()
        .map(|cells| {
            let object: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .zip(cells)
                .map(|(key, value)| (key.to_string(), value.clone().into()))
                .collect();
            serde_json::Value::Object(object).to_string()
        })
        .collect();
    std::fs::write(&jsonl, lines.join("\n")).unwrap();
    assert_one_warning(&import(&server, &jsonl, None).await, "2 created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_without_a_required_column_is_refused_in_plain_words() {
    let server = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let header = [
        "姓名",
        "性别",
        "出生日期",
        "所在县区代码",
        "学校",
        "任职状态",
    ];
    let row = ["李娜", "女", "1985-06-07", "350702", "一中", "在职"];
    let csv = dir.path().join("no-id.csv");
    std::fs::write(&csv, format!("{}\n{}\n", header.join(","), row.join(","))).unwrap();
    let xlsx = dir.path().join("no-id.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, (name, value)) in header.iter().zip(row).enumerate() {
        sheet.write_string(0, c as u16, *name).unwrap();
        sheet.write_string(1, c as u16, value).unwrap();
    }
    book.save(&xlsx).unwrap();

    for file in [csv, xlsx] {
        let refused = import(&server, &file, None).await;
        assert_eq!(refused.code, Some(1), "{}", refused.stderr);
        assert!(
            refused
                .stderr
                .contains("has no column for 身份证件号码 or 身份证号 (national_id)"),
            "{}",
            refused.stderr
        );
        assert!(
            !refused.stderr.contains("cannot read"),
            "{}",
            refused.stderr
        );
    }
    let mut client = server.new_client().await;
    assert!(list_all(&mut client, Default::default()).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_keeps_a_filled_in_sheet_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["teachers.csv", "teachers.xlsx"] {
        let path = dir.path().join(name);
        let file = path.to_str().unwrap();
        assert_eq!(run(&["template", file]).await.code, Some(0));
        std::fs::write(&path, "filled in by hand").unwrap();

        let refused = run(&["template", file]).await;
        assert_eq!(refused.code, Some(1), "{name}: {}", refused.stderr);
        assert!(
            refused.stderr.contains("already exists") && refused.stderr.contains("--force"),
            "{}",
            refused.stderr
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "filled in by hand");

        let forced = run(&["template", file, "--force"]).await;
        assert_eq!(forced.code, Some(0), "{name}: {}", forced.stderr);
        assert_ne!(std::fs::read(&path).unwrap(), b"filled in by hand");
        assert_eq!(
            teacher_registry::cli::open_rows(&path).unwrap().count(),
            0,
            "{name}: an empty template again"
        );
    }
}
