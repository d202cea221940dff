//! Import files as HR staff have them, through the real binary and a real server: sheets
//! saved by Excel (CRLF, GBK) whose rejects file points at the right rows and can be
//! corrected and imported again, sheets with columns of their own, sheets missing a
//! column, and a template that does not overwrite a filled-in sheet.

mod cli_support;
mod common;

use std::path::Path;

use cli_support::{run_with, Run};
use common::*;

/// Runs the binary with `args` (its log at warnings).
async fn run(args: &[&str]) -> Run {
    run_with(args, &[("RUST_LOG", "warn")]).await
}

async fn import(server: &TestServer, file: &Path, rejects: Option<&Path>) -> Run {
    let url = format!("http://{}", server.address);
    let mut args = vec!["import", file.to_str().unwrap(), "--server", &url];
    args.extend(["--mode", "upsert"]);
    if let Some(rejects) = rejects {
        args.extend(["--rejects", rejects.to_str().unwrap()]);
    }
    run(&args).await
}

/// A teacher's cells in the template's column order: document type, identity number,
/// name, gender, birth date, county, school, employment status, then blanks.
fn template_row(national_id: &str, name: &str, gender: &str, employment: &str) -> Vec<String> {
    let mut cells = vec![String::new(); 16];
    cells[1] = national_id.into();
    cells[2] = name.into();
    cells[3] = gender.into();
    cells[4] = "1980-03-04".into();
    cells[5] = "350702".into();
    cells[6] = "延平区第一中学".into();
    cells[7] = employment.into();
    cells
}

/// The records of a CSV file as written (a byte-order mark dropped).
fn records(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

/// Writes records as Excel saves a UTF-8 CSV: a byte-order mark and CRLF line endings.
fn write_as_excel(path: &Path, records: &[Vec<String>]) {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    for record in records {
        writer.write_record(record).unwrap();
    }
    std::fs::write(path, writer.into_inner().unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_point_at_crlf_lines_in_file_order_and_import_again_once_corrected() {
    let server = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("sheet.csv");
    let made = run(&["template", sheet.to_str().unwrap()]).await;
    assert_eq!(made.code, Some(0), "{}", made.stderr);
    let header = records(&sheet).remove(0);

    let id = |sequence| resident_id("350702", "1980-03-04", sequence);
    let valid = id(3);
    let wrong_check = format!(
        "{}{}",
        &valid[..17],
        if valid.ends_with('0') { 1 } else { 0 }
    );
    let rows = [
        template_row(&id(1), "张伟", "男", "在职"),       // line 2
        template_row(&wrong_check, "李娜", "女", "在职"), // line 3: the server rejects it
        template_row(&id(4), "王强", "未知", "在职"),     // line 4: rejected here
        template_row(&id(5), "赵敏", "女", "在职"),       // line 5
        template_row(&id(6), "陈静", "女", "在岗"),       // line 6: rejected here
    ];
    write_as_excel(&sheet, &[&[header.clone()][..], &rows].concat());
    let rejects = dir.path().join("rejects.csv");
    let first = import(&server, &sheet, Some(&rejects)).await;
    assert_eq!(first.code, Some(1), "{}{}", first.stdout, first.stderr);
    assert!(first.stdout.contains("2 created"), "{}", first.stdout);

    let rejected = records(&rejects);
    let lines: Vec<&str> = rejected[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(lines, ["3", "4", "6"], "the rows' lines, in file order");
    let mut expected_header = vec!["line".to_string(), "code".into(), "reason".into()];
    expected_header.extend(header.iter().cloned());
    assert_eq!(rejected[0], expected_header);
    assert!(rejected[1][2].contains("national_id"), "{:?}", rejected[1]);
    assert!(rejected[2][2].contains("gender"), "{:?}", rejected[2]);
    for (reject, row) in rejected[1..].iter().zip([&rows[1], &rows[2], &rows[4]]) {
        assert_eq!(&reject[3..], &row[..], "the row's own cells follow");
    }

    // The same sheet as Excel saves it in GBK: the same lines.
    let excel_text = std::fs::read_to_string(&sheet).unwrap();
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(excel_text.trim_start_matches('\u{feff}'));
    assert!(!unmappable);
    let gbk_sheet = dir.path().join("gbk.csv");
    std::fs::write(&gbk_sheet, gbk).unwrap();
    let gbk_rejects = dir.path().join("gbk-rejects.csv");
    import(&server, &gbk_sheet, Some(&gbk_rejects)).await;
    let lines: Vec<String> = records(&gbk_rejects)[1..]
        .iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(lines, ["3", "4", "6"]);

    // Staff correct the rows in the rejects file itself and import it.
    let mut corrected = rejected.clone();
    corrected[1][3 + 1] = valid.clone();
    corrected[2][3 + 3] = "男".into();
    corrected[3][3 + 7] = "在职".into();
    write_as_excel(&rejects, &corrected);
    let again = import(&server, &rejects, Some(&dir.path().join("rejects-2.csv"))).await;
    assert_eq!(again.code, Some(0), "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("3 created"), "{}", again.stdout);
    assert!(!again.stderr.contains("warning"), "{}", again.stderr);
    let mut client = server.new_client().await;
    assert_eq!(list_all(&mut client, Default::default()).await.len(), 5);
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
    let assert_one_warning = |outcome: &Run, created: &str| {
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
