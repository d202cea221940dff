//! Certificate numbers, stricter (#22 item 6): digits 5-6 of a new certificate's number
//! must be a GB/T 2260 province code; digit 11 read as a sex code that disagrees with the
//! holder's recorded sex is a warning in the answer, never a refusal; and a number already
//! stored with another province code still opens, reads and is found.

mod common;

use common::*;
use sha2::{Digest, Sha256};
use teacher_registry::api::pb;
use teacher_registry::cli::run_backup;
use tonic::Code;

fn issue(teacher: &pb::Teacher, number: &str) -> pb::IssueCertificateRequest {
    issue_request(&teacher.teacher_id, number)
}

#[tokio::test]
async fn a_new_number_needs_a_province_code_and_a_sex_digit_only_warns() {
    let server = start_server().await;
    let mut client = server.client.clone();
    // teacher(1) is male, teacher(2) female (common::teacher).
    let male = create(&mut client, teacher(1, "350702")).await;
    let female = create(&mut client, teacher(2, "350702")).await;
    assert_eq!(male.gender, pb::Gender::Male as i32);

    // Digits 5-6 "00": no province. Refused, naming the field; nothing written.
    let refused = client
        .issue_certificate(issue(&male, "20160000022000123"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&refused),
        ["certificate.certificate_number"]
    );
    assert!(
        refused.message().contains("province"),
        "{}",
        refused.message()
    );
    let unchanged = get_teacher(&mut client, &male.teacher_id).await;
    assert_eq!(unchanged.revision, male.revision);

    // 2016, digit 11 = 2 (female), to a man: accepted, with a warning.
    let answer = client
        .issue_certificate(issue(&male, "20163500022000123"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.teacher.unwrap().certificates.len(), 1);
    assert_eq!(answer.warnings.len(), 1, "{:?}", answer.warnings);
    assert!(
        answer.warnings[0].contains("digit 11"),
        "{:?}",
        answer.warnings
    );
    // The same digit for a woman, and any digit before 2009: no warning.
    for (holder, number) in [
        (&female, "20163500022000124"),
        (&female, "20053500021000125"),
    ] {
        let answer = client
            .issue_certificate(issue(holder, number))
            .await
            .unwrap()
            .into_inner();
        assert!(
            answer.warnings.is_empty(),
            "{number}: {:?}",
            answer.warnings
        );
    }
}

#[tokio::test]
async fn a_stored_number_without_a_province_code_still_opens_and_is_found() {
    let server = start_server().await;
    let mut client = server.client.clone();
    let holder = create(&mut client, teacher(3, "350702")).await;
    client
        .issue_certificate(issue(&holder, "20163500021000777"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup");
    run_backup(&format!("http://{}", server.address), &backup)
        .await
        .unwrap();

    // The number as an older registry may hold it: digits 5-6 "00". The backup is
    // rewritten to hold it (and its manifest to match), as a release before histories
    // wrote it (no revisions.jsonl: a history would not fit the rewritten record), then
    // restored.
    let old_number = "20160000021000777";
    let teachers = backup.join("teachers.jsonl");
    let text = std::fs::read_to_string(&teachers)
        .unwrap()
        .replace("20163500021000777", old_number);
    std::fs::write(&teachers, &text).unwrap();
    let manifest_path = backup.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["teachers_sha256"] = hex::encode(Sha256::digest(text.as_bytes())).into();
    manifest["revisions"] = 0.into();
    manifest.as_object_mut().unwrap().remove("revisions_sha256");
    std::fs::remove_file(backup.join("revisions.jsonl")).unwrap();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let data = dir.path().join("restored");
    common::restore_consistent(&backup, &data).await;

    let again = start_server_in(&data).await;
    let mut client = again.client.clone();
    let found = lookup_teacher(
        &mut client,
        pb::lookup_teacher_request::Key::CertificateNumber(old_number.into()),
    )
    .await;
    assert_eq!(found.teacher_id, holder.teacher_id);
    assert_eq!(found.certificates[0].certificate_number, old_number);
    // Its lifecycle goes on: it is registered like any other.
    client
        .register_certificate(pb::RegisterCertificateRequest {
            certificate_number: old_number.into(),
            registered_on: "2021-09-01".into(),
            ..Default::default()
        })
        .await
        .unwrap();
}
