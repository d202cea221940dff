//! Issue 18, defect 12: `sync` mirrors were written with proto field names (`teacher_id`)
//! and `"current_title": "TITLE_TIER_UNSPECIFIED"` for a teacher without a title, while
//! gRPC JSON is lowerCamelCase. Through the real binary and a real server: exports and
//! mirrors are in the proto3 JSON mapping at every depth, a missing title is a missing
//! `currentTitle`, and a mirror written by an earlier release still resumes and is
//! rewritten in the current spelling.

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};
use teacher_registry::api::{json as proto_json, pb};

const COUNTY: &str = "350702";

fn run(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

async fn run_ok(args: Vec<String>) {
    let out = tokio::task::spawn_blocking(move || {
        run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Fails on a key with an underscore or a value `..._UNSPECIFIED`, at any depth.
fn assert_proto_json(value: &Value, path: &str) {
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                assert!(!key.contains('_'), "{path}.{key} is not lowerCamelCase");
                assert_proto_json(value, &format!("{path}.{key}"));
            }
        }
        Value::Array(items) => items.iter().for_each(|v| assert_proto_json(v, path)),
        Value::String(text) => assert!(!text.ends_with("_UNSPECIFIED"), "{path}: {text}"),
        _ => {}
    }
}

/// The county's teachers as the proto3 JSON mapping writes them, by registry number.
async fn expected(client: &mut Client) -> Vec<Value> {
    let request = pb::ListTeachersRequest {
        county_code: COUNTY.into(),
        ..Default::default()
    };
    let mut all: Vec<Value> = list_all(client, request)
        .await
        .iter()
        .map(|t| serde_json::from_str(&proto_json::to_line(t).unwrap()).unwrap())
        .collect();
    all.sort_by(|a, b| a["teacherId"].as_str().cmp(&b["teacherId"].as_str()));
    all
}

/// A teacher as a mirror line of releases up to issue 18 (`cli::sync::teacher_json` of
/// commit b3c0122), frozen here: proto field names, every field, `null` for no time.
fn earlier_release_line(t: &pb::Teacher) -> String {
    let time = |time: Option<&prost_types::Timestamp>| {
        time.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32))
            .map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
    };
    let certificates: Vec<Value> = t
        .certificates
        .iter()
        .map(|c| {
            json!({
                "certificate_number": c.certificate_number,
                "kind": c.kind().as_str_name(),
                "subject": c.subject,
                "issuing_authority": c.issuing_authority,
                "certified_on": c.certified_on,
                "status": c.status().as_str_name(),
                "copies": c.copies.iter().map(|copy| json!({
                    "copy_number": copy.copy_number,
                    "issued_on": copy.issued_on,
                    "reason": copy.reason().as_str_name(),
                    "declaration_ref": copy.declaration_ref,
                    "state": copy.state().as_str_name(),
                })).collect::<Vec<_>>(),
                "registrations": c.registrations.iter().map(|r| json!({
                    "registered_on": r.registered_on,
                    "expires_on": r.expires_on,
                })).collect::<Vec<_>>(),
                "revocation": c.revocation.as_ref().map(|r| json!({
                    "revoked_on": r.revoked_on,
                    "reason": r.reason,
                    "approval_document": r.approval_document,
                })),
            })
        })
        .collect();
    let titles: Vec<Value> = t
        .title_history
        .iter()
        .map(|e| {
            json!({
                "tier": e.tier().as_str_name(),
                "kind": e.kind().as_str_name(),
                "effective_date": e.effective_date,
                "approval_document": e.approval_document,
                "limited_scope": e.limited_scope,
                "exceptional": e.exceptional,
                "note": e.note,
                "recorded_by": e.recorded_by,
                "record_time": time(e.record_time.as_ref()),
            })
        })
        .collect();
    json!({
        "teacher_id": t.teacher_id,
        "id_document_type": t.id_document_type().as_str_name(),
        "national_id": t.national_id,
        "name": t.name,
        "gender": t.gender().as_str_name(),
        "birth_date": t.birth_date,
        "county_code": t.county_code,
        "school": t.school,
        "employment_status": t.employment_status().as_str_name(),
        "legacy_title": t.legacy_title().as_str_name(),
        "legacy_title_limited_scope": t.legacy_title_limited_scope,
        "current_title": t.current_title().as_str_name(),
        "certificates": certificates,
        "title_history": titles,
        "etag": t.etag,
        "revision": t.revision,
        "create_time": time(t.create_time.as_ref()),
        "update_time": time(t.update_time.as_ref()),
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_and_mirrors_use_the_proto_json_mapping_and_old_mirrors_resume() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let untitled = create(client, teacher(1, COUNTY)).await;
    let titled = create(client, teacher(2, COUNTY)).await;
    client
        .issue_certificate(pb::IssueCertificateRequest {
            teacher_id: titled.teacher_id.clone(),
            certificate: Some(certificate("20163500022000123")),
            first_registration_on: "2016-09-01".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .change_title(pb::ChangeTitleRequest {
            teacher_id: titled.teacher_id.clone(),
            change: Some(pb::TitleEntry {
                kind: pb::TitleChangeKind::Initial as i32,
                tier: pb::TitleTier::SecondLevel as i32,
                effective_date: "2018-09-01".into(),
                approval_document: "Nan Jiao Ren [2018] No. 3".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let url = format!("http://{}", server.address);
    let dir = tempfile::tempdir().unwrap();
    let (export, mirror) = (dir.path().join("all.jsonl"), dir.path().join("m.jsonl"));
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let export_args = vec![
        "export".into(),
        path(&export),
        "--server".into(),
        url.clone(),
    ];
    let sync_args: Vec<String> = ["sync", "--server", &url, "--county", COUNTY, "--mirror"]
        .iter()
        .map(|s| s.to_string())
        .chain([path(&mirror)])
        .collect();

    run_ok(export_args).await;
    run_ok(sync_args.clone()).await;
    let want = expected(client).await;
    assert_eq!(
        lines(&mirror),
        want,
        "the mirror is the listing in the mapping"
    );
    let mut exported = lines(&export);
    exported.sort_by(|a, b| a["teacherId"].as_str().cmp(&b["teacherId"].as_str()));
    assert_eq!(exported, want, "the export is the listing in the mapping");
    for (file, teachers) in [("export", &exported), ("mirror", &want)] {
        for teacher in teachers {
            assert_proto_json(teacher, file);
            let has_title = teacher["teacherId"] == titled.teacher_id.as_str();
            assert_eq!(teacher.get("currentTitle").is_some(), has_title, "{file}");
        }
        let untitled = teachers
            .iter()
            .find(|t| t["teacherId"] == untitled.teacher_id.as_str())
            .unwrap();
        assert!(
            untitled.get("legacyTitle").is_none(),
            "{file}: no legacy title"
        );
    }

    // A mirror as an earlier release left it resumes, and is rewritten in the mapping.
    let request = pb::ListTeachersRequest {
        county_code: COUNTY.into(),
        ..Default::default()
    };
    let listed = list_all(client, request).await;
    let old: Vec<String> = listed.iter().map(earlier_release_line).collect();
    assert!(old[0].contains("\"teacher_id\""), "{}", old[0]);
    std::fs::write(&mirror, old.join("\n") + "\n").unwrap();
    create(client, teacher(3, COUNTY)).await;
    run_ok(sync_args).await;
    assert_eq!(lines(&mirror), expected(client).await);
}
