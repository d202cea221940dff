//! Issue 18, defect 2: an export could not be imported again (`export c.jsonl` then
//! `import c.jsonl --mode upsert` failed with `unknown column "certificates"`), and staff
//! who work in Excel had no sheet to export. Through the real binary and real servers:
//! a JSON Lines export imports into the same registry as UNCHANGED rows and into an empty
//! one as the same records (certificates with copies, registrations and revocations,
//! title history, former names and documents, revocation grounds; a file without the
//! latter, as earlier releases wrote, still imports); a CSV or XLSX export has the template's header, imports again
//! unchanged, and an edited cell imports as that one update.

mod cli_support;
mod common;

use std::path::Path;

use cli_support::{run_with, Run};
use common::*;
use teacher_registry::api::pb;

/// Runs the binary with `args` (its log at warnings).
async fn run(args: &[&str]) -> Run {
    run_with(args, &[("RUST_LOG", "warn")]).await
}

fn url(server: &TestServer) -> String {
    format!("http://{}", server.address)
}

async fn export(server: &TestServer, file: &Path, extra: &[&str]) {
    let url = url(server);
    let mut args = vec!["export", file.to_str().unwrap(), "--server", &url];
    args.extend(extra);
    let out = run(&args).await;
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
}

/// Imports in upsert mode; the summary line.
async fn import(server: &TestServer, file: &Path) -> String {
    let url = url(server);
    let out = run(&[
        "import",
        file.to_str().unwrap(),
        "--server",
        &url,
        "--mode",
        "upsert",
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    out.stdout
}

fn counts(created: u32, updated: u32, unchanged: u32) -> String {
    format!("{created} created, {updated} updated, {unchanged} unchanged, 0 rejected")
}

fn number(kind: u8, sequence: u32) -> String {
    format!("201635000{kind}2{sequence:06}")
}

fn title(kind: pb::TitleChangeKind, tier: pb::TitleTier, date: &str) -> pb::TitleEntry {
    pb::TitleEntry {
        kind: kind as i32,
        tier: tier as i32,
        effective_date: date.into(),
        approval_document: format!("Nan Jiao Ren [{}] No. 7", &date[..4]),
        ..Default::default()
    }
}

/// Four teachers whose records use every kind of history entry: certificates reissued
/// (lost, damaged, details changed), registered twice, revoked; a legacy title moved by
/// the reform, promoted, the promotion revoked, then corrected; one without any title.
async fn fill(client: &mut Client) {
    use pb::{CertificateKind as Kind, ReissueReason as Reason, TitleChangeKind as Change};
    let first = create(
        client,
        pb::Teacher {
            legacy_title: pb::LegacyTitle::PrimarySenior as i32,
            legacy_title_limited_scope: true,
            ..teacher(1, "350702")
        },
    )
    .await;
    let second = create(client, teacher(2, "350702")).await;
    // A new identity card: the one it replaces is kept as a former document.
    client
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: second.teacher_id.clone(),
                national_id: resident_id("350702", &second.birth_date, 502),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["national_id".into()],
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    create(client, teacher(3, "350702")).await;
    let fourth = create(client, teacher(4, "350721")).await;

    let (a, b, c) = (number(2, 1), number(3, 2), number(2, 3));
    for (holder, number, kind) in [
        (&first, &a, Kind::PrimarySchool),
        (&first, &b, Kind::JuniorSecondary),
        (&fourth, &c, Kind::PrimarySchool),
    ] {
        client
            .issue_certificate(pb::IssueCertificateRequest {
                teacher_id: holder.teacher_id.clone(),
                certificate: Some(certificate_of_kind(number, kind)),
                first_registration_on: "2016-09-01".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    client
        .register_certificate(pb::RegisterCertificateRequest {
            certificate_number: a.clone(),
            registered_on: "2021-08-20".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    for (number, reason, declaration, issued_on, new_name) in [
        (&a, Reason::Lost, "SD-2019-0042", "2019-03-01", ""),
        (&a, Reason::Damaged, "", "2022-05-10", ""),
        (&c, Reason::DetailsChanged, "", "2020-01-15", "林小芳"),
    ] {
        client
            .reissue_certificate(pb::ReissueCertificateRequest {
                certificate_number: number.clone(),
                reason: reason as i32,
                declaration_ref: declaration.into(),
                issued_on: issued_on.into(),
                new_name: new_name.into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    client
        .revoke_certificate(pb::RevokeCertificateRequest {
            certificate_number: b,
            reason: "以欺骗手段取得".into(),
            approval_document: "Nan Jiao Ren [2023] No. 12".into(),
            revoked_on: "2023-04-01".into(),
            ground: pb::RevocationGround::Fraud as i32,
            ..Default::default()
        })
        .await
        .unwrap();

    let mut transition = client
        .transition_titles(pb::TransitionTitlesRequest {
            teacher_ids: vec![first.teacher_id.clone()],
            effective_date: "2016-09-01".into(),
            approval_document: "Nan Ren She [2016] No. 88".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    while transition.message().await.unwrap().is_some() {}
    let revocation = pb::TitleEntry {
        tier: 0,
        ..title(Change::Revocation, pb::TitleTier::Unspecified, "2022-01-01")
    };
    let correction = pb::TitleEntry {
        note: "职称证书号更正".into(),
        ..title(Change::Correction, pb::TitleTier::FirstLevel, "2022-06-01")
    };
    for (holder, change) in [
        (
            &first,
            title(Change::Promotion, pb::TitleTier::Senior, "2021-09-01"),
        ),
        (&first, revocation),
        (&first, correction),
        (
            &second,
            title(Change::Initial, pb::TitleTier::ThirdLevel, "2018-09-01"),
        ),
    ] {
        client
            .change_title(pb::ChangeTitleRequest {
                teacher_id: holder.teacher_id.clone(),
                change: Some(change),
                ..Default::default()
            })
            .await
            .unwrap();
    }
}

/// A record without what belongs to the registry that holds it: its number, etag,
/// revision and times, and who recorded each title entry when.
fn portable(mut teacher: pb::Teacher) -> pb::Teacher {
    teacher.teacher_id.clear();
    teacher.etag.clear();
    teacher.revision = 0;
    teacher.create_time = None;
    teacher.update_time = None;
    // Former names and documents go with the person; the numbers merges retired are the
    // registry's own (none here).
    teacher.retired_teacher_ids.clear();
    for entry in &mut teacher.title_history {
        entry.recorded_by.clear();
        entry.record_time = None;
    }
    teacher
}

async fn records(client: &mut Client) -> Vec<pb::Teacher> {
    let mut all: Vec<pb::Teacher> = list_all(client, Default::default())
        .await
        .into_iter()
        .map(portable)
        .collect();
    all.sort_by(|a, b| a.national_id.cmp(&b.national_id));
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_lines_export_imports_again_whole() {
    let mut server = start_server().await;
    fill(&mut server.client).await;
    let before = records(&mut server.client).await;
    let ground = |c: &pb::Certificate| c.revocation.as_ref().map(|r| r.ground);
    assert!(before[0]
        .certificates
        .iter()
        .any(|c| ground(c) == Some(pb::RevocationGround::Fraud as i32)));
    assert!(before[0].title_history.len() >= 4);
    // The DETAILS_CHANGED reissue's former name and the update's former document.
    let former_name = before.iter().find(|t| !t.former_names.is_empty()).unwrap();
    assert_eq!(former_name.former_names[0].name, "教师4");
    assert!(before.iter().any(|t| !t.former_documents.is_empty()));
    let changes = all_changes(&mut server.client).await.len();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.jsonl");
    export(&server, &file, &[]).await;

    let again = import(&server, &file).await;
    assert!(again.contains(&counts(0, 0, 4)), "{again}");
    assert_eq!(all_changes(&mut server.client).await.len(), changes);

    let mut empty = start_server().await;
    let rebuilt = import(&empty, &file).await;
    assert!(rebuilt.contains(&counts(4, 0, 0)), "{rebuilt}");
    assert_eq!(records(&mut empty.client).await, before);
    let twice = import(&empty, &file).await;
    assert!(twice.contains(&counts(0, 0, 4)), "{twice}");

    // An imported former name finds duplicates as a kept one does: a new record under
    // the old name, with the same birth date and sex, is a candidate pair with it.
    let namesake = create(
        &mut empty.client,
        pb::Teacher {
            name: "教师4".into(),
            birth_date: former_name.birth_date.clone(),
            gender: former_name.gender,
            national_id: resident_id("350702", &former_name.birth_date, 604),
            ..teacher(6, "350721")
        },
    )
    .await;
    let mut duplicates = pb::duplicate_service_client::DuplicateServiceClient::connect(url(&empty))
        .await
        .unwrap();
    let pairs = duplicates
        .list_duplicate_candidates(pb::ListDuplicateCandidatesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .candidates;
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    let pair = [&pairs[0].teacher_id, &pairs[0].other_teacher_id];
    assert!(pair.contains(&&namesake.teacher_id), "{pairs:?}");

    // A file written before former names and documents were exported, and revocation
    // grounds kept, imports as it did: the people, without their past, their revocations
    // without a ground.
    let old = dir.path().join("old.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            let object = value.as_object_mut().unwrap();
            object.remove("formerNames");
            object.remove("formerDocuments");
            let certificates = object
                .get_mut("certificates")
                .and_then(|c| c.as_array_mut());
            for certificate in certificates.into_iter().flatten() {
                if let Some(revocation) = certificate.get_mut("revocation") {
                    revocation.as_object_mut().unwrap().remove("ground");
                }
            }
            value.to_string()
        })
        .collect();
    assert!(!lines.iter().any(|l| l.contains("formerNames")));
    assert!(!lines.iter().any(|l| l.contains("REVOCATION_GROUND")));
    std::fs::write(&old, lines.join("\n") + "\n").unwrap();
    let mut earlier = start_server().await;
    let imported = import(&earlier, &old).await;
    assert!(imported.contains(&counts(4, 0, 0)), "{imported}");
    let without_past: Vec<pb::Teacher> = before
        .iter()
        .cloned()
        .map(|mut t| {
            t.former_names.clear();
            t.former_documents.clear();
            for revocation in t
                .certificates
                .iter_mut()
                .filter_map(|c| c.revocation.as_mut())
            {
                revocation.ground = pb::RevocationGround::Unspecified as i32;
            }
            t
        })
        .collect();
    assert_eq!(records(&mut earlier.client).await, without_past);
}

/// A sheet's records, header first, as any reader of the format sees them.
fn sheet(path: &Path) -> Vec<Vec<String>> {
    if path.extension().is_some_and(|e| e == "xlsx") {
        use calamine::Reader;
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(path).unwrap();
        let range = book.worksheet_range_at(0).unwrap().unwrap();
        return range
            .rows()
            .map(|row| row.iter().map(|cell| cell.to_string()).collect())
            .collect();
    }
    let bytes = std::fs::read(path).unwrap();
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap()).unwrap();
    assert!(text.ends_with("\r\n"), "CRLF, as Excel saves CSV");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

fn write_sheet(path: &Path, rows: &[Vec<String>]) {
    if path.extension().is_some_and(|e| e == "xlsx") {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, cell).unwrap();
            }
        }
        book.save(path).unwrap();
        return;
    }
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    for row in rows {
        writer.write_record(row).unwrap();
    }
    std::fs::write(path, writer.into_inner().unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sheet_export_has_the_template_columns_and_imports_again() {
    let mut server = start_server().await;
    fill(&mut server.client).await;
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.csv");
    assert_eq!(
        run(&["template", template.to_str().unwrap()]).await.code,
        Some(0)
    );
    let header = sheet(&template).remove(0);

    for (name, flags) in [
        ("sheet.csv", &[][..]),
        ("sheet.xlsx", &["--format", "xlsx"][..]),
    ] {
        let file = dir.path().join(name);
        export(&server, &file, flags).await;
        let mut rows = sheet(&file);
        assert_eq!(rows[0], header, "{name}: the template's header");
        assert_eq!(rows.len(), 5, "{name}: a row per teacher");
        let again = import(&server, &file).await;
        assert!(again.contains(&counts(0, 0, 4)), "{name}: {again}");

        // Into an empty registry: the same people, each with the certificate in force.
        let mut empty = start_server().await;
        let created = import(&empty, &file).await;
        assert!(created.contains(&counts(4, 0, 0)), "{name}: {created}");
        let registry = records(&mut server.client).await;
        for (copy, original) in records(&mut empty.client).await.iter().zip(&registry) {
            // A sheet row is the person as they are now: no past.
            let fields = |t: &pb::Teacher| pb::Teacher {
                certificates: Vec::new(),
                title_history: Vec::new(),
                current_title: 0,
                former_names: Vec::new(),
                former_documents: Vec::new(),
                ..t.clone()
            };
            assert_eq!(fields(copy), fields(original), "{name}");
            for certificate in &copy.certificates {
                let known = original
                    .certificates
                    .iter()
                    .find(|c| c.certificate_number == certificate.certificate_number)
                    .unwrap();
                assert_eq!(known.status(), pb::CertificateStatus::Valid);
                assert_eq!(known.registrations.last(), certificate.registrations.last());
            }
        }

        // A clerk changes one school in Excel: one row updated, the rest unchanged.
        let school = header.iter().position(|h| h == "学校").unwrap();
        let national_id = header.iter().position(|h| h == "身份证件号码").unwrap();
        rows[1][school] = format!("{name} 延平区第二中学");
        write_sheet(&file, &rows);
        let edited = import(&server, &file).await;
        assert!(edited.contains(&counts(0, 1, 3)), "{name}: {edited}");
        let moved = list_all(&mut server.client, Default::default())
            .await
            .into_iter()
            .find(|t| t.national_id == rows[1][national_id])
            .unwrap();
        assert_eq!(moved.school, rows[1][school]);
    }
}
