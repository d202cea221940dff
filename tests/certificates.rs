//! The certificate lifecycle through a real server: issue, reissue (补发) and replacement
//! (换发), periodic registration, revocation, and every refusal.

mod common;

use common::*;
use teacher_registry::api::pb;
use tonic::Code;

const NUMBER: &str = "20163500022000123";

fn issue_request(teacher_id: &str, number: &str) -> pb::IssueCertificateRequest {
    pb::IssueCertificateRequest {
        teacher_id: teacher_id.into(),
        certificate: Some(certificate(number)),
        first_registration_on: "2016-09-01".into(),
        etag: String::new(),
        request_id: String::new(),
    }
}

async fn issue(client: &mut Client, teacher_id: &str, number: &str) -> pb::Teacher {
    client
        .issue_certificate(issue_request(teacher_id, number))
        .await
        .expect("issue")
        .into_inner()
        .teacher
        .unwrap()
}

fn reissue_request(reason: pb::ReissueReason, declaration: &str) -> pb::ReissueCertificateRequest {
    pb::ReissueCertificateRequest {
        certificate_number: NUMBER.into(),
        reason: reason as i32,
        declaration_ref: declaration.into(),
        ..Default::default()
    }
}

async fn get(client: &mut Client, teacher_id: &str) -> pb::Teacher {
    client
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: teacher_id.into(),
            revision: None,
        })
        .await
        .unwrap_teacher()
}

#[tokio::test]
async fn issue_records_the_certificate_and_indexes_its_number() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let holder = create(client, teacher(1, "350702")).await;
    let after = issue(client, &holder.teacher_id, NUMBER).await;
    assert_eq!(after.revision, holder.revision + 1, "one change event");
    let c = &after.certificates[0];
    assert_eq!(c.certificate_number, NUMBER);
    assert_eq!(c.status, pb::CertificateStatus::Valid as i32);
    assert_eq!(c.copies.len(), 1);
    assert_eq!(c.copies[0].state, pb::CopyState::Current as i32);
    assert_eq!(c.registrations[0].expires_on, "2021-09-01");

    let found = client
        .lookup_teacher(pb::LookupTeacherRequest {
            key: Some(pb::lookup_teacher_request::Key::CertificateNumber(
                NUMBER.into(),
            )),
            id_document_type: 0,
        })
        .await
        .unwrap_teacher();
    assert_eq!(found.teacher_id, holder.teacher_id);
}

#[tokio::test]
async fn issue_refusals_change_nothing() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let holder = create(client, teacher(1, "350702")).await;
    let other = create(client, teacher(2, "350702")).await;
    issue(client, &holder.teacher_id, NUMBER).await;

    let status = client
        .issue_certificate(issue_request(&other.teacher_id, NUMBER))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(error_info(&status)["teacher_id"], holder.teacher_id);

    let mut wrong_kind = issue_request(&other.teacher_id, "20163500022000124");
    wrong_kind.certificate.as_mut().unwrap().kind = pb::CertificateKind::HigherEducation as i32;
    let status = client.issue_certificate(wrong_kind).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["certificate.certificate_number"]);

    let mut bad = issue_request("T0000000000X", "1234");
    bad.certificate.as_mut().unwrap().subject = String::new();
    bad.certificate.as_mut().unwrap().certified_on = "2016-02-30".into();
    bad.first_registration_on = "2099-01-01".into();
    let status = client.issue_certificate(bad).await.unwrap_err();
    assert_eq!(
        violated_fields(&status),
        [
            "teacher_id",
            "certificate.certificate_number",
            "certificate.subject",
            "certificate.certified_on",
            "first_registration_on",
        ]
    );

    let mut missing = issue_request(&other.teacher_id, "20163500022000125");
    missing.certificate = None;
    let status = client.issue_certificate(missing).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["certificate"]);

    let mut stale = issue_request(&other.teacher_id, "20163500022000125");
    stale.etag = "r1".into();
    let status = client.issue_certificate(stale).await.unwrap_err();
    assert_eq!(status.code(), Code::Aborted);

    let unknown = teacher_registry::domain::TeacherId::generate(&mut rand::thread_rng());
    let status = client
        .issue_certificate(issue_request(unknown.as_str(), "20163500022000125"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    assert_eq!(
        get(client, &other.teacher_id).await,
        other,
        "nothing changed"
    );
}

#[tokio::test]
async fn a_lost_certificate_is_reissued_on_a_self_declaration() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let holder = create(client, teacher(1, "350702")).await;
    issue(client, &holder.teacher_id, NUMBER).await;

    assert_invalid(
        client
            .reissue_certificate(reissue_request(pb::ReissueReason::Lost, ""))
            .await,
        &["declaration_ref"],
    );

    let after = client
        .reissue_certificate(reissue_request(pb::ReissueReason::Lost, "SD-2026-0042"))
        .await
        .unwrap_teacher();
    let c = &after.certificates[0];
    assert_eq!(c.certificate_number, NUMBER, "the number is kept");
    assert_eq!(c.copies.len(), 2);
    assert_eq!(c.copies[0].state, pb::CopyState::Void as i32);
    assert_eq!(c.copies[1].state, pb::CopyState::Current as i32);
    assert_eq!(c.copies[1].reason, pb::ReissueReason::Lost as i32);
    assert_eq!(c.copies[1].declaration_ref, "SD-2026-0042");
}

#[tokio::test]
async fn a_replacement_surrenders_the_old_copy_and_can_rename_the_holder() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let holder = create(client, teacher(1, "350702")).await;
    issue(client, &holder.teacher_id, NUMBER).await;
    client
        .reissue_certificate(reissue_request(pb::ReissueReason::Damaged, ""))
        .await
        .unwrap();

    let mut renamed = reissue_request(pb::ReissueReason::Lost, "SD-1");
    renamed.new_name = "林小芳".into();
    let status = client
        .reissue_certificate(renamed.clone())
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["new_name"],
        "a name goes only with DETAILS_CHANGED"
    );

    renamed.reason = pb::ReissueReason::DetailsChanged as i32;
    let after = client.reissue_certificate(renamed).await.unwrap_teacher();
    assert_eq!(after.name, "林小芳", "applied in the same step");
    let states: Vec<i32> = after.certificates[0]
        .copies
        .iter()
        .map(|c| c.state)
        .collect();
    assert_eq!(
        states,
        [
            pb::CopyState::Surrendered as i32,
            pb::CopyState::Surrendered as i32,
            pb::CopyState::Current as i32
        ]
    );

    let status = client
        .reissue_certificate(pb::ReissueCertificateRequest {
            certificate_number: "20163500022000999".into(),
            ..reissue_request(pb::ReissueReason::Damaged, "")
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .reissue_certificate(reissue_request(pb::ReissueReason::Unspecified, ""))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["reason"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_racing_copies_of_one_reissue_make_one_copy() {
    let server = start_server().await;
    let mut client = server.new_client().await;
    let holder = create(&mut client, teacher(1, "350702")).await;
    issue(&mut client, &holder.teacher_id, NUMBER).await;
    let mut request = reissue_request(pb::ReissueReason::Lost, "SD-7");
    request.request_id = "reissue-once".into();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let mut client = server.new_client().await;
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            client
                .reissue_certificate(request)
                .await
                .unwrap()
                .into_inner()
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "one answer for all"
    );
    let after = get(&mut client, &holder.teacher_id).await;
    assert_eq!(
        after.certificates[0].copies.len(),
        2,
        "exactly one new copy"
    );
    assert_eq!(after.revision, holder.revision + 2);
}

#[tokio::test]
async fn registrations_last_five_years_and_can_be_listed_by_expiry() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let soon = create(client, teacher(1, "350702")).await;
    let later = create(client, teacher(2, "350721")).await;
    create(client, teacher(3, "350702")).await;
    issue(client, &soon.teacher_id, NUMBER).await;
    issue(client, &later.teacher_id, "20163500022000124").await;
    let registered = client
        .register_certificate(pb::RegisterCertificateRequest {
            certificate_number: "20163500022000124".into(),
            registered_on: "2024-05-01".into(),
            ..Default::default()
        })
        .await
        .unwrap_teacher();
    let registrations = &registered.certificates[0].registrations;
    assert_eq!(
        registrations.len(),
        2,
        "the first registration stays on file"
    );
    assert_eq!(registrations[1].expires_on, "2029-05-01");

    for (county, before, expected) in [
        ("", "2025-01-01", vec![soon.teacher_id.clone()]),
        (
            "",
            "2030-01-01",
            vec![soon.teacher_id.clone(), later.teacher_id.clone()],
        ),
        ("350721", "2030-01-01", vec![later.teacher_id.clone()]),
        ("", "2021-09-01", vec![]),
    ] {
        let listed: Vec<String> = list_all(
            client,
            pb::ListTeachersRequest {
                county_code: county.into(),
                registration_expires_before: before.into(),
                page_size: 1,
                ..Default::default()
            },
        )
        .await
        .into_iter()
        .map(|t| t.teacher_id)
        .collect();
        assert_eq!(listed, expected, "{county} {before}");
    }

    for (date, field) in [
        ("2024-05-01", "registered_on"),
        ("2015-01-01", "registered_on"),
        ("", "registered_on"),
    ] {
        let status = client
            .register_certificate(pb::RegisterCertificateRequest {
                certificate_number: "20163500022000124".into(),
                registered_on: date.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{date}");
        assert_eq!(violated_fields(&status), [field]);
    }
    let status = client
        .list_teachers(pb::ListTeachersRequest {
            registration_expires_before: "soon".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["registration_expires_before"]);
}

#[tokio::test]
async fn revocation_is_final_and_bars_new_certificates_for_five_years() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let holder = create(client, teacher(1, "350702")).await;
    issue(client, &holder.teacher_id, NUMBER).await;

    let status = client
        .revoke_certificate(pb::RevokeCertificateRequest {
            certificate_number: NUMBER.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["reason", "approval_document"]);

    let revoke = pb::RevokeCertificateRequest {
        certificate_number: NUMBER.into(),
        reason: "以欺骗手段取得".into(),
        approval_document: "Nan Jiao Ren [2026] No. 12".into(),
        ..Default::default()
    };
    let after = client
        .revoke_certificate(revoke.clone())
        .await
        .unwrap_teacher();
    let c = &after.certificates[0];
    assert_eq!(c.status, pb::CertificateStatus::Revoked as i32);
    let revocation = c.revocation.as_ref().unwrap();
    assert_eq!(revocation.approval_document, "Nan Jiao Ren [2026] No. 12");
    // A request without a ground, as clients sent before grounds were kept, still revokes.
    assert_eq!(revocation.ground, pb::RevocationGround::Unspecified as i32);
    assert_eq!(c.copies.len(), 1, "nothing removed");

    for status in [
        client.revoke_certificate(revoke).await.unwrap_err(),
        client
            .reissue_certificate(reissue_request(pb::ReissueReason::Damaged, ""))
            .await
            .unwrap_err(),
        client
            .register_certificate(pb::RegisterCertificateRequest {
                certificate_number: NUMBER.into(),
                registered_on: "2026-01-01".into(),
                ..Default::default()
            })
            .await
            .unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(error_info(&status)["reason"], "CERTIFICATE_REVOKED");
    }

    let mut again = issue_request(&holder.teacher_id, "20243500032000001");
    again.certificate.as_mut().unwrap().kind = pb::CertificateKind::JuniorSecondary as i32;
    again.certificate.as_mut().unwrap().certified_on = "2024-07-01".into();
    again.first_registration_on = String::new();
    let status = client.issue_certificate(again).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(error_info(&status)["reason"], "REAPPLICATION_BARRED");
    assert_eq!(
        get(client, &holder.teacher_id).await,
        after,
        "nothing changed"
    );
}

/// A revocation's legal ground (撤销教师资格, art. 19) is kept beside the written finding and
/// read back; a number the enum does not know is refused on `ground` and changes nothing;
/// the ground is part of what a request id remembers.
#[tokio::test]
async fn a_revocation_keeps_its_ground_and_an_unknown_ground_changes_nothing() {
    let mut server = start_server().await;
    let client = &mut server.client;
    let holder = create(client, teacher(1, "350702")).await;
    let issued = issue(client, &holder.teacher_id, NUMBER).await;

    let revoke = pb::RevokeCertificateRequest {
        certificate_number: NUMBER.into(),
        reason: "伪造学历证明，骗取教师资格".into(),
        approval_document: "Nan Jiao Ren [2026] No. 13".into(),
        revoked_on: "2026-03-02".into(),
        request_id: "revoke-fraud-1".into(),
        ground: 3,
        ..Default::default()
    };
    assert_invalid(client.revoke_certificate(revoke.clone()).await, &["ground"]);
    let unchanged = get(client, &holder.teacher_id).await;
    assert_eq!(unchanged.etag, issued.etag, "nothing changed");
    assert_eq!(unchanged, issued);

    let fraud = pb::RevokeCertificateRequest {
        ground: pb::RevocationGround::Fraud as i32,
        ..revoke
    };
    client.revoke_certificate(fraud.clone()).await.unwrap();
    let read = get(client, &holder.teacher_id).await;
    let revocation = read.certificates[0].revocation.as_ref().unwrap();
    assert_eq!(revocation.ground, pb::RevocationGround::Fraud as i32);
    assert_eq!(revocation.reason, "伪造学历证明，骗取教师资格");
    assert_eq!(revocation.revoked_on, "2026-03-02");

    // The same request again is a retry: the same answer, no second change.
    let retried = client
        .revoke_certificate(fraud.clone())
        .await
        .unwrap_teacher();
    assert_eq!(retried, read);
    // Another ground under the same request id is another request.
    let misconduct = pb::RevokeCertificateRequest {
        ground: pb::RevocationGround::Misconduct as i32,
        ..fraud
    };
    let reused = client.revoke_certificate(misconduct).await.unwrap_err();
    assert_eq!(reused.code(), Code::FailedPrecondition);
    assert_eq!(error_info(&reused)["reason"], "REQUEST_ID_REUSED");
    assert_eq!(get(client, &holder.teacher_id).await, read);
}
