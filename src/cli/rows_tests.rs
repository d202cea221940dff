use std::path::PathBuf;

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use std::io::{self, Read};

use encoding_rs::{GB18030, UTF_8};

use super::formats::{sniff_encoding, utf8_reader};
use super::*;
use crate::api::pb;

const CHINESE_CSV: &str = "\
证件类型,身份证件号码,姓名,性别,出生日期,所在县区代码,学校,任职状态,原职称,原职称小范围有效,教师资格证书号码,资格种类,任教学科,认定机构,认定日期,注册日期
居民身份证,11010519491231002X,王芳,女,1949/12/31,350702,延平区第一中学,退休,中学高级教师,是,20163500042000123,高级中学,语文,南平市教育局,20160701,2021-9-1
";

fn file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn rows(path: &Path) -> Vec<SourceRow> {
    open_rows(path).unwrap().map(Result::unwrap).collect()
}

fn teacher(row: &SourceRow) -> &pb::Teacher {
    row.teacher
        .as_ref()
        .unwrap_or_else(|problems| panic!("line {}: {problems:?}", row.line))
}

/// The teacher of `CHINESE_CSV`, whichever way it was written.
fn assert_wang_fang(row: &SourceRow) {
    let t = teacher(row);
    assert_eq!(t.id_document_type(), pb::IdDocumentType::ResidentIdCard);
    assert_eq!(t.national_id, "11010519491231002X");
    assert_eq!(t.name, "王芳");
    assert_eq!(t.gender(), pb::Gender::Female);
    assert_eq!(t.birth_date, "1949-12-31");
    assert_eq!(t.county_code, "350702");
    assert_eq!(t.school, "延平区第一中学");
    assert_eq!(t.employment_status(), pb::EmploymentStatus::Retired);
    assert_eq!(t.legacy_title(), pb::LegacyTitle::SecondarySenior);
    assert!(t.legacy_title_limited_scope);
    let expected = pb::Certificate {
        certificate_number: "20163500042000123".into(),
        kind: pb::CertificateKind::SeniorSecondary as i32,
        subject: "语文".into(),
        issuing_authority: "南平市教育局".into(),
        certified_on: "2016-07-01".into(),
        registrations: vec![pb::CertificateRegistration {
            registered_on: "2021-09-01".into(),
            expires_on: String::new(),
        }],
        ..Default::default()
    };
    assert_eq!(t.certificates, vec![expected]);
}

#[test]
fn csv_in_utf8_with_and_without_bom_and_in_gbk() {
    let dir = tempfile::tempdir().unwrap();
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), CHINESE_CSV.as_bytes()].concat();
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(CHINESE_CSV);
    assert!(!unmappable);
    for (name, bytes) in [
        ("plain.csv", CHINESE_CSV.as_bytes()),
        ("bom.CSV", &with_bom),
        ("gbk.csv", &gbk),
    ] {
        let rows = rows(&file(&dir, name, bytes));
        assert_eq!(rows.len(), 1, "{name}");
        assert_eq!(rows[0].line, 2, "{name}");
        assert_wang_fang(&rows[0]);
    }
}

#[test]
fn english_headers_and_proto_names_any_case() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "\
 NATIONAL_ID ,Name,gender,birth_date,county_code,employment_status,legacy_title,id_document_type
11010519491231002X,李明,male,19491231,350702,EMPLOYMENT_STATUS_ACTIVE,primary_senior,
E12345678,Tom,GENDER_MALE,1980-01-02,350703,left,,passport
";
    let rows = rows(&file(&dir, "english.csv", csv.as_bytes()));
    assert_eq!(rows.len(), 2);
    let (first, second) = (teacher(&rows[0]), teacher(&rows[1]));
    assert_eq!(first.id_document_type(), pb::IdDocumentType::ResidentIdCard);
    assert_eq!(first.gender(), pb::Gender::Male);
    assert_eq!(first.birth_date, "1949-12-31");
    assert_eq!(first.employment_status(), pb::EmploymentStatus::Active);
    assert_eq!(first.legacy_title(), pb::LegacyTitle::PrimarySenior);
    assert!(first.certificates.is_empty());
    assert_eq!(second.id_document_type(), pb::IdDocumentType::Passport);
    assert_eq!(second.legacy_title(), pb::LegacyTitle::Unspecified);
    assert_eq!(second.employment_status(), pb::EmploymentStatus::Left);
    assert_eq!(rows[1].line, 3);
}

#[test]
fn empty_rows_are_skipped_and_lines_count_as_a_person_sees_them() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "\n身份证号,姓名,性别,出生日期,所在县区代码,任职状态\n\n , \n11010519491231002X,王芳\r\n,\n";
    let rows = rows(&file(&dir, "gaps.csv", csv.as_bytes()));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].line, 5);
    assert_eq!(teacher(&rows[0]).name, "王芳");
}

#[test]
fn every_problem_of_a_row_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "\
性别,任职状态,原职称,原职称小范围有效,资格种类,证件类型,姓名,,身份证号,出生日期,所在县区代码
未知,在岗,高级教师,也许,大学,身份证,王芳,extra
";
    let rows = rows(&file(&dir, "bad.csv", csv.as_bytes()));
    let problems = rows[0].teacher.as_ref().unwrap_err();
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "",
            "id_document_type",
            "gender",
            "employment_status",
            "legacy_title",
            "legacy_title_limited_scope",
            "certificate_kind",
        ]
    );
    let gender = problems.iter().find(|p| p.field == "gender").unwrap();
    assert_eq!(
        gender.description,
        "unknown value \"未知\"; expected 男, 女, MALE or FEMALE"
    );
    let whole_row = problems.iter().find(|p| p.field.is_empty()).unwrap();
    assert_eq!(whole_row.description, "column 8 has a value but no header");
}

#[test]
fn unknown_columns_are_ignored_and_kept_with_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "序号,姓名,身份证号,性别,出生日期,所在县区代码,任职状态,shcool,备注\n\
               7,王芳,11010519491231002X,女,1949-12-31,350702,退休,一中,调入\n\
               8,,,,,,,,\n";
    let path = file(&dir, "extra.csv", csv.as_bytes());
    let rows_read = open_rows(&path).unwrap();
    assert_eq!(rows_read.ignored_columns(), ["序号", "shcool", "备注"]);
    assert_eq!(rows_read.columns()[..2], ["序号", "姓名"]);
    let rows: Vec<SourceRow> = rows_read.map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "a numbered row with nothing else is empty");
    assert_eq!(teacher(&rows[0]).name, "王芳");
    assert_eq!(teacher(&rows[0]).school, "", "shcool is not school");
    assert_eq!(
        rows[0].cells,
        csv.lines().nth(1).unwrap().split(',').collect::<Vec<_>>()
    );

    // The columns a rejects file adds are neither read, warned about, nor repeated.
    let rejects = "line,code,reason,姓名,身份证号,性别,出生日期,所在县区代码,任职状态\n\
                   3,INVALID_ARGUMENT,gender: unknown,王芳,11010519491231002X,女,1949-12-31,350702,退休\n";
    let rows_read = open_rows(&file(&dir, "rejects.csv", rejects.as_bytes())).unwrap();
    assert!(rows_read.ignored_columns().is_empty());
    assert_eq!(rows_read.columns()[0], "姓名");
    let rows: Vec<SourceRow> = rows_read.map(Result::unwrap).collect();
    assert_eq!(rows[0].cells[0], "王芳");
    assert_eq!(teacher(&rows[0]).gender(), pb::Gender::Female);
}

#[test]
fn missing_and_repeated_columns_fail_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = file(
        &dir,
        "missing.csv",
        "姓名,性 别,出生日期,所在县区代码,任职状态\n王芳,女\n".as_bytes(),
    );
    let error = open_rows(&missing).err().unwrap();
    assert!(matches!(
        error,
        RowsError::Header {
            problem: HeaderProblem::Missing { .. },
            ..
        }
    ));
    let message = error.to_string();
    assert!(
        message.ends_with(
            "missing.csv has no column for 身份证件号码 or 身份证号 (national_id), \
             性别 (gender); its columns \"性 别\" name no field"
        ),
        "{message}"
    );

    let twice = file(&dir, "twice.csv", "name,姓名\n王芳,王芳\n".as_bytes());
    let message = open_rows(&twice).err().unwrap().to_string();
    assert!(
        message.ends_with("has two columns for name: columns 1 and 2"),
        "{message}"
    );
}

#[test]
fn json_lines_ignore_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let text = "{\"序号\":1,\"name\":\"王芳\",\"gender\":\"女\"}\n\
                {\"name\":\"李明\",\"备注\":\"x\",\"序号\":2,\"姓名\":\"李明\"}\n";
    let mut rows_read = open_rows(&file(&dir, "extra.jsonl", text.as_bytes())).unwrap();
    let rows: Vec<SourceRow> = rows_read.by_ref().map(Result::unwrap).collect();
    assert_eq!(rows_read.ignored_columns(), ["序号", "备注"]);
    assert_eq!(teacher(&rows[0]).name, "王芳");
    assert_eq!(
        rows[0].cells[3], "女",
        "cells follow the columns: gender is the fourth"
    );
    let twice = rows[1].teacher.as_ref().unwrap_err();
    assert_eq!(twice[0].description, "gives name twice");
}

#[test]
fn crlf_and_blank_lines_are_numbered_as_an_editor_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let crlf = CHINESE_CSV.replace('\n', "\r\n");
    let with_blank = crlf.replacen("\r\n", "\r\n\r\n", 1);
    let (gbk, ..) = encoding_rs::GBK.encode(&crlf);
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), crlf.as_bytes()].concat();
    for (name, bytes, line) in [
        ("crlf.csv", crlf.as_bytes(), 2),
        ("bom.csv", &with_bom, 2),
        ("gbk.csv", &gbk, 2),
        ("blank.csv", with_blank.as_bytes(), 3),
    ] {
        let rows = rows(&file(&dir, name, bytes));
        assert_eq!(rows[0].line, line, "{name}");
        assert_wang_fang(&rows[0]);
    }
}

#[test]
fn other_extensions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "teachers.txt", b"name\n");
    let error = format!("{:#}", open_rows(&path).err().unwrap());
    assert!(error.contains(".csv, .xlsx, .jsonl or .ndjson"), "{error}");
}

#[test]
fn xlsx_numbers_and_dates_read_as_typed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("teachers.xlsx");
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let header: Vec<&str> = CHINESE_CSV.lines().next().unwrap().split(',').collect();
    let values: Vec<&str> = CHINESE_CSV.lines().nth(1).unwrap().split(',').collect();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (col, (name, value)) in (0u16..).zip(header.iter().zip(&values)) {
        sheet.write_string(0, col, *name).unwrap();
        match *name {
            "所在县区代码" => sheet.write_number(2, col, 350702.0),
            "出生日期" => {
                let birth = ExcelDateTime::from_ymd(1949, 12, 31).unwrap();
                sheet.write_datetime_with_format(2, col, &birth, &date)
            }
            _ => sheet.write_string(2, col, *value),
        }
        .unwrap();
    }
    // Row 4 holds an ID typed as a number, which has lost its last digits.
    sheet.write_string(3, 2, "李明").unwrap();
    sheet.write_number(3, 1, 350702199001011234.0).unwrap();
    book.save(&path).unwrap();

    let rows = rows(&path);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].line, 3);
    assert_wang_fang(&rows[0]);
    assert_eq!(rows[1].line, 4);
    let problems = rows[1].teacher.as_ref().unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, "national_id");
    assert!(problems[0]
        .description
        .contains("format the column as text"));
}

#[test]
fn json_lines_take_either_names_and_plain_values() {
    let dir = tempfile::tempdir().unwrap();
    let text = concat!(
        "\u{feff}{\"national_id\":\"11010519491231002X\",\"姓名\":\"王芳\",\"gender\":\"FEMALE\",",
        "\"county_code\":350702,\"legacy_title_limited_scope\":true,\"school\":null}\n",
        "\n",
        "[1,2]\n",
        "{\"name\":\"李明\",\"certificate_number\":20163500042000123,\"birth_date\":[1]}\n",
        "{}\n",
    );
    let rows = rows(&file(&dir, "teachers.ndjson", text.as_bytes()));
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 3, 4]);
    let first = teacher(&rows[0]);
    assert_eq!(first.name, "王芳");
    assert_eq!(first.county_code, "350702");
    assert!(first.legacy_title_limited_scope);
    let not_object = rows[1].teacher.as_ref().unwrap_err();
    assert_eq!(not_object[0].field, "");
    let problems = rows[2].teacher.as_ref().unwrap_err();
    assert_eq!(problems[0].field, "birth_date");
}

#[test]
fn encoding_is_sniffed_from_the_start() {
    let text = "姓名,学校\n王芳,延平区第一中学\n".as_bytes();
    assert_eq!(sniff_encoding(text, true), UTF_8);
    // A character cut by the end of the sniff is still UTF-8 …
    assert_eq!(sniff_encoding(&text[..4], false), UTF_8);
    // … but not when the file ends there.
    assert_eq!(sniff_encoding(&text[..4], true), GB18030);
    let (gbk, ..) = encoding_rs::GBK.encode("姓名,学校\n");
    assert_eq!(sniff_encoding(&gbk, true), GB18030);
}

/// A reader that hands out one byte at a time, the worst case for a streaming decoder.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.len().min(buf.len()).min(1);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn decoding_streams_across_any_boundary() {
    let text = CHINESE_CSV.repeat(50);
    let (gbk, ..) = encoding_rs::GBK.encode(&text);
    let mut decoded = String::new();
    utf8_reader(Trickle(&gbk), GB18030)
        .read_to_string(&mut decoded)
        .unwrap();
    assert_eq!(decoded, text);

    let mut reader = utf8_reader(Trickle(text.as_bytes()), UTF_8);
    let mut decoded = Vec::new();
    let mut small = [0u8; 3];
    loop {
        let n = reader.read(&mut small).unwrap();
        if n == 0 {
            break;
        }
        decoded.extend_from_slice(&small[..n]);
    }
    assert_eq!(decoded, text.as_bytes());
}

#[test]
fn dates_are_reshaped_only() {
    for (text, expected) in [
        ("1990-01-05", "1990-01-05"),
        ("1990/1/5", "1990-01-05"),
        ("19900105", "1990-01-05"),
        ("1990.01.05", "1990-01-05"),
        ("1990年1月5日", "1990-01-05"),
        ("1990-02-30", "1990-02-30"),
        ("5/1/1990", "5/1/1990"),
        ("", ""),
    ] {
        assert_eq!(reshape_date(text), expected, "{text}");
    }
}

#[test]
fn columns_follow_the_field_order() {
    for (position, column) in COLUMNS.iter().enumerate() {
        assert_eq!(column.field.index(), position, "{}", column.english);
    }
    assert_eq!(column_names().len(), 16);
    assert_eq!(
        column_names().next(),
        Some(("id_document_type", "证件类型"))
    );
}

#[test]
fn written_cells_read_back_as_the_same_teacher() {
    let dir = tempfile::tempdir().unwrap();
    let original = rows(&file(&dir, "in.csv", CHINESE_CSV.as_bytes())).remove(0);
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(column_names().map(|(english, _)| english))
        .unwrap();
    writer
        .write_record(teacher_cells(teacher(&original)))
        .unwrap();
    let bytes = writer.into_inner().unwrap();
    let copy = rows(&file(&dir, "out.csv", &bytes)).remove(0);
    assert_eq!(copy.teacher, original.teacher);
}

#[test]
fn rows_can_move_to_another_thread() {
    fn send<T: Send>() {}
    send::<Rows>();
}

#[test]
fn sheet_cells_are_in_chinese_and_read_back_as_the_same_teacher() {
    let dir = tempfile::tempdir().unwrap();
    let original = rows(&file(&dir, "in.csv", CHINESE_CSV.as_bytes())).remove(0);
    let cells = sheet_cells(teacher(&original));
    assert_eq!(cells[3], "女");
    assert_eq!(cells[7], "退休");
    assert_eq!(cells[9], "是");
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(column_names().map(|(_, chinese)| chinese))
        .unwrap();
    writer.write_record(cells).unwrap();
    let copy = rows(&file(&dir, "out.csv", &writer.into_inner().unwrap())).remove(0);
    assert_eq!(copy.teacher, original.teacher);
}

#[test]
fn json_lines_of_whole_teachers_are_read_as_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let original = rows(&file(&dir, "in.csv", CHINESE_CSV.as_bytes())).remove(0);
    let mut whole = teacher(&original).clone();
    whole.teacher_id = "T6P856YEKK0B".into();
    whole.title_history.push(pb::TitleEntry {
        tier: pb::TitleTier::FirstLevel as i32,
        kind: pb::TitleChangeKind::ReformTransition as i32,
        effective_date: "2016-09-01".into(),
        approval_document: "Nan Ren She [2016] No. 88".into(),
        ..Default::default()
    });
    let line = crate::api::json::to_line(&whole).unwrap();
    let mut numbered: serde_json::Value = serde_json::from_str(&line).unwrap();
    numbered["序号"] = 7.into();
    let bad = line.replace("GENDER_FEMALE", "女");
    let text = format!("{line}\n{numbered}\n{bad}\n");
    let mut read = open_rows(&file(&dir, "export.jsonl", text.as_bytes())).unwrap();
    let got: Vec<SourceRow> = read.by_ref().map(Result::unwrap).collect();
    assert_eq!(
        teacher(&got[0]),
        &whole,
        "certificates and title history kept"
    );
    assert_eq!(teacher(&got[1]), &whole, "a key of no field is ignored");
    assert_eq!(read.ignored_columns(), ["序号"]);
    let problems = got[2].teacher.as_ref().unwrap_err();
    assert!(
        problems[0].description.contains("proto3 JSON"),
        "{problems:?}"
    );
    assert_eq!(got[2].line, 3);
    assert_eq!(got[2].cells[2], "王芳", "its cells, for the rejects file");
    assert_eq!(got[0].cells.to_vec(), teacher_cells(&whole).to_vec());
}
