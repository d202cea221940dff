//! One person, one record (issue 22), through a real server: a name change keeps the
//! former name and search finds it; an identity correction proposed by one principal and
//! approved by another (never the same), the old document still finding the teacher;
//! duplicate candidates across document types; a merge, the retired number answering the
//! survivor, a county mirror dropping it through `sync`, and an unmerge.

mod common;

use common::identity::{passport_and_card, server_with_principals};
use common::*;
use teacher_registry::api::pb;
use teacher_registry::store::{Store, StoreOptions};

const A: &str = "350702";

async fn search(client: &mut Client, request: pb::SearchTeachersRequest) -> Vec<pb::Teacher> {
    client
        .search_teachers(request)
        .await
        .expect("search")
        .into_inner()
        .teachers
}

fn former_names(teacher: &pb::Teacher) -> Vec<&str> {
    teacher
        .former_names
        .iter()
        .map(|n| n.name.as_str())
        .collect()
}

/// Every accepted write left the indexes (former names and documents among them) as
/// the records say.
async fn assert_consistent(server: TestServer) {
    let dir = server.data_dir.clone();
    let _temp = server.stop().await;
    let store = Store::open_at(&common::location_for(&dir), &StoreOptions::default()).unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
}

#[tokio::test]
async fn a_name_change_keeps_the_former_name_and_search_finds_it() {
    let server = start_server().await;
    let mut client = server.client.clone();
    let teacher = create(
        &mut client,
        pb::Teacher {
            name: "王小明".into(),
            ..teacher(1, A)
        },
    )
    .await;

    // UpdateTeacher with a new name.
    let renamed = client
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                name: "王晓明".into(),
                ..teacher.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["name".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap_teacher();
    assert_eq!(renamed.name, "王晓明");
    assert_eq!(former_names(&renamed), ["王小明"]);
    assert!(renamed.former_names[0].until_time.is_some());

    // Found by the former name, and by the new one; once by a prefix both share.
    let by_former = search(&mut client, exact("王小明")).await;
    assert_eq!(by_former.len(), 1);
    assert_eq!(by_former[0].teacher_id, teacher.teacher_id);
    assert_eq!(by_former[0].name, "王晓明");
    assert_eq!(search(&mut client, exact("王晓明")).await.len(), 1);
    assert_eq!(search(&mut client, prefix("王")).await.len(), 1);

    // A DETAILS_CHANGED reissue with a new name keeps the name it replaces too.
    client
        .issue_certificate(pb::IssueCertificateRequest {
            teacher_id: teacher.teacher_id.clone(),
            certificate: Some(certificate("20163500022000123")),
            first_registration_on: "2016-09-01".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let reissued = client
        .reissue_certificate(pb::ReissueCertificateRequest {
            certificate_number: "20163500022000123".into(),
            reason: pb::ReissueReason::DetailsChanged as i32,
            new_name: "李晓明".into(),
            ..Default::default()
        })
        .await
        .unwrap_teacher();
    assert_eq!(former_names(&reissued), ["王小明", "王晓明"]);
    let found = search(&mut client, exact("王晓明")).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "李晓明");

    // A name changed back is listed once, and found once.
    let back = client
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: reissued.teacher_id.clone(),
                name: "王小明".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["name".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap_teacher();
    assert_eq!(former_names(&back), ["王小明", "王晓明", "李晓明"]);
    assert_eq!(search(&mut client, exact("王小明")).await.len(), 1);

    assert_consistent(server).await;
}

type Identity = teacher_registry::api::pb::identity_service_client::IdentityServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Token>,
>;
type Registry =
    teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient<
        tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Token>,
    >;

async fn identity_as(server: &TestServer, token: &str) -> Identity {
    pb::identity_service_client::IdentityServiceClient::with_interceptor(
        server.channel().await,
        Token::bearer(token),
    )
}

async fn registry_as(server: &TestServer, token: &str) -> Registry {
    pb::teacher_registry_service_client::TeacherRegistryServiceClient::with_interceptor(
        server.channel().await,
        Token::bearer(token),
    )
}

fn lookup(national_id: &str) -> pb::LookupTeacherRequest {
    pb::LookupTeacherRequest {
        key: Some(pb::lookup_teacher_request::Key::NationalId(
            national_id.into(),
        )),
        id_document_type: 0,
    }
}

#[tokio::test]
async fn an_identity_correction_is_approved_by_a_second_principal_only() {
    let (server, who, _dir) = server_with_principals().await;
    let mut admin = registry_as(&server, &who.admin).await;
    // Entered with a passport; the teacher now holds a resident identity card.
    let passport = create(
        &mut admin,
        pb::Teacher {
            id_document_type: pb::IdDocumentType::Passport as i32,
            national_id: "E12345678".into(),
            ..teacher(1, A)
        },
    )
    .await;
    let card = resident_id("350702", &passport.birth_date, 11);
    let someone_else = create(&mut admin, teacher(2, A)).await;

    let mut clerk = identity_as(&server, &who.clerk).await;
    let propose = |national_id: &str, request_id: &str| pb::ProposeIdentityCorrectionRequest {
        teacher_id: passport.teacher_id.clone(),
        id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
        national_id: national_id.into(),
        reason: "持护照登记，现换领居民身份证".into(),
        evidence_ref: "扫描件 2026-118".into(),
        request_id: request_id.into(),
    };

    // Another person's number is refused, naming nobody's document in clear.
    let taken = clerk
        .propose_identity_correction(propose(&someone_else.national_id, ""))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), tonic::Code::AlreadyExists);
    assert!(taken.message().contains(&someone_else.teacher_id));
    // Reason and evidence are required.
    let bare = clerk
        .propose_identity_correction(pb::ProposeIdentityCorrectionRequest {
            reason: String::new(),
            evidence_ref: " ".into(),
            ..propose(&card, "")
        })
        .await
        .unwrap_err();
    assert_eq!(bare.code(), tonic::Code::InvalidArgument);
    assert_eq!(violated_fields(&bare), ["reason", "evidence_ref"]);
    // Another county's clerk cannot see the teacher.
    let mut other = identity_as(&server, &who.other_county).await;
    assert_eq!(
        other
            .propose_identity_correction(propose(&card, ""))
            .await
            .unwrap_err()
            .code(),
        tonic::Code::NotFound
    );

    let proposed = clerk
        .propose_identity_correction(propose(&card, "req-propose"))
        .await
        .unwrap_correction();
    assert_eq!(proposed.state, pb::CorrectionState::Pending as i32);
    assert_eq!(proposed.previous_national_id, "E12345678");
    assert_eq!(proposed.proposed_by, "clerk-a");
    // A retry with the same request id answers the same correction.
    let again = clerk
        .propose_identity_correction(propose(&card, "req-propose"))
        .await
        .unwrap_correction();
    assert_eq!(again, proposed);
    // Nothing changed on the record yet.
    let unchanged = get_teacher(&mut admin, &passport.teacher_id).await;
    assert_eq!(unchanged.national_id, "E12345678");

    // The proposer may not approve it.
    let approve = |etag: &str| pb::ApproveIdentityCorrectionRequest {
        correction_id: proposed.correction_id.clone(),
        etag: etag.into(),
        note: "核对无误".into(),
        request_id: String::new(),
    };
    let same = clerk
        .approve_identity_correction(approve(&proposed.etag))
        .await
        .unwrap_err();
    assert_eq!(same.code(), tonic::Code::FailedPrecondition);
    assert_eq!(error_info(&same)["reason"], "SAME_REVIEWER");
    // A reader may not touch it at all.
    let mut reader = identity_as(&server, &who.reader).await;
    assert_eq!(
        reader
            .approve_identity_correction(approve(""))
            .await
            .unwrap_err()
            .code(),
        tonic::Code::PermissionDenied
    );

    // A second principal reads it and approves it.
    let mut chief = identity_as(&server, &who.chief).await;
    let read = get_identity_correction(&mut chief, &proposed.correction_id).await;
    assert_eq!(read, proposed);
    assert_eq!(
        chief
            .approve_identity_correction(approve("r1"))
            .await
            .unwrap_err()
            .code(),
        tonic::Code::Aborted,
        "a stale etag"
    );
    let approved = chief
        .approve_identity_correction(approve(&proposed.etag))
        .await
        .unwrap()
        .into_inner();
    let correction = approved.correction.unwrap();
    assert_eq!(correction.state, pb::CorrectionState::Approved as i32);
    assert_eq!(correction.reviewed_by, "chief-a");
    let corrected = approved.teacher.unwrap();
    assert_eq!(
        corrected.teacher_id, passport.teacher_id,
        "the number stays"
    );
    assert_eq!(corrected.national_id, card);
    assert_eq!(
        corrected.id_document_type,
        pb::IdDocumentType::ResidentIdCard as i32
    );
    assert_eq!(corrected.former_documents.len(), 1);
    assert_eq!(corrected.former_documents[0].national_id, "E12345678");
    assert_eq!(
        corrected.former_documents[0].reason,
        pb::FormerDocumentReason::Corrected as i32
    );
    // Reviewed once only.
    assert_eq!(
        chief
            .reject_identity_correction(pb::RejectIdentityCorrectionRequest {
                correction_id: proposed.correction_id.clone(),
                note: "再审".into(),
                ..Default::default()
            })
            .await
            .unwrap_err()
            .code(),
        tonic::Code::FailedPrecondition
    );

    // The `correction` command shows it as staff read it.
    let (code, shown, _) = cli(
        &server,
        &who.chief,
        &["correction", "show", &proposed.correction_id],
    )
    .await;
    assert_eq!(code, 0);
    assert!(shown.contains("已批准 APPROVED"), "{shown}");
    assert!(shown.contains("审核人 reviewed by  chief-a"), "{shown}");
    assert!(shown.contains(&card), "{shown}");

    // Both documents find the same teacher.
    for number in ["E12345678", card.as_str()] {
        let found = admin.lookup_teacher(lookup(number)).await.unwrap_teacher();
        assert_eq!(found.teacher_id, passport.teacher_id);
    }
    // The old document is no one else's to take.
    let reuse = admin
        .create_teacher(create_request(
            pb::Teacher {
                id_document_type: pb::IdDocumentType::Passport as i32,
                national_id: "E12345678".into(),
                ..teacher(3, A)
            },
            "",
        ))
        .await
        .unwrap_err();
    assert_eq!(reuse.code(), tonic::Code::AlreadyExists);

    // A rejection keeps the record as it is, and says why.
    let second = clerk
        .propose_identity_correction(pb::ProposeIdentityCorrectionRequest {
            national_id: resident_id("350702", &passport.birth_date, 13),
            ..propose(&card, "")
        })
        .await
        .unwrap_correction();
    // Through the command too: its proposer may not review it, another principal may.
    let (code, _, said) = cli(
        &server,
        &who.clerk,
        &[
            "correction",
            "reject",
            &second.correction_id,
            "--note",
            "撤回",
        ],
    )
    .await;
    assert_ne!(code, 0);
    assert!(
        said.contains("SAME_REVIEWER") || said.contains("another principal"),
        "{said}"
    );
    let (code, shown, said) = cli(
        &server,
        &who.chief,
        &[
            "correction",
            "reject",
            &second.correction_id,
            "--note",
            "证件号码与扫描件不符",
        ],
    )
    .await;
    assert_eq!(code, 0, "{said}");
    assert!(shown.contains("已驳回 REJECTED"), "{shown}");
    assert_eq!(
        get_teacher(&mut admin, &passport.teacher_id)
            .await
            .national_id,
        card
    );

    // Every step is in the change log, under its principal.
    let changes = all_changes(&mut admin).await;
    let steps: Vec<(i32, &str)> = changes
        .iter()
        .filter(|c| c.case_id == proposed.correction_id || c.case_id == second.correction_id)
        .map(|c| (c.kind, c.principal.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (pb::ChangeKind::IdentityCorrectionChanged as i32, "clerk-a"),
            (pb::ChangeKind::IdentityCorrected as i32, "chief-a"),
            (pb::ChangeKind::IdentityCorrectionChanged as i32, "clerk-a"),
            (pb::ChangeKind::IdentityCorrectionChanged as i32, "chief-a"),
        ]
    );

    assert_consistent(server).await;
}

/// Runs the binary as the principal of `token`; its exit code, stdout and stderr.
async fn cli(server: &TestServer, token: &str, args: &[&str]) -> (i32, String, String) {
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    args.extend(["--server".into(), server.address.to_string()]);
    let ran = run_binary(args, Some(token)).await;
    (ran.code, ran.stdout, ran.stderr)
}

type Duplicates = pb::duplicate_service_client::DuplicateServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Token>,
>;

async fn duplicates_as(server: &TestServer, token: &str) -> Duplicates {
    pb::duplicate_service_client::DuplicateServiceClient::with_interceptor(
        server.channel().await,
        Token::bearer(token),
    )
}

async fn candidates(client: &mut Duplicates, county: &str) -> Vec<pb::DuplicateCandidate> {
    client
        .list_duplicate_candidates(pb::ListDuplicateCandidatesRequest {
            county_code: county.into(),
            ..Default::default()
        })
        .await
        .expect("list candidates")
        .into_inner()
        .candidates
}

/// A passport record in A and a resident identity card record in B of one person.

#[tokio::test]
async fn a_passport_and_an_identity_card_of_one_person_are_found_and_namesakes_dismissed() {
    let (server, who, _dir) = server_with_principals().await;
    let mut admin = registry_as(&server, &who.admin).await;
    let (passport, card) = passport_and_card(&mut admin).await;

    // Found as the second record was written.
    let mut all = duplicates_as(&server, &who.admin).await;
    let found = candidates(&mut all, "").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let pair = &found[0];
    let mut ids = [passport.teacher_id.clone(), card.teacher_id.clone()];
    ids.sort();
    assert_eq!(
        [pair.teacher_id.clone(), pair.other_teacher_id.clone()],
        ids
    );
    assert_eq!(pair.reasons, [pb::DuplicateReason::IdCardDetails as i32]);
    assert_eq!(pair.score, 80);

    // County staff see the pairs touching their county, the other county's record by
    // its number only.
    let mut clerk = duplicates_as(&server, &who.clerk).await;
    let seen = candidates(&mut clerk, "").await;
    assert_eq!(seen.len(), 1);
    let shown: Vec<&str> = [&seen[0].teacher, &seen[0].other_teacher]
        .into_iter()
        .flatten()
        .map(|t| t.teacher_id.as_str())
        .collect();
    assert_eq!(shown, [passport.teacher_id.as_str()]);
    assert_eq!(
        clerk
            .list_duplicate_candidates(pb::ListDuplicateCandidatesRequest {
                county_code: "350722".into(),
                ..Default::default()
            })
            .await
            .unwrap_err()
            .code(),
        tonic::Code::PermissionDenied
    );
    let mut reader = duplicates_as(&server, &who.reader).await;
    assert_eq!(
        reader
            .list_duplicate_candidates(pb::ListDuplicateCandidatesRequest::default())
            .await
            .unwrap_err()
            .code(),
        tonic::Code::PermissionDenied
    );

    // Two namesakes born the same day in A: a candidate until a reviewer says otherwise.
    let namesake = |n: u32, sequence: u32| pb::Teacher {
        national_id: resident_id("350702", "1990-06-01", sequence),
        name: "王伟".into(),
        gender: pb::Gender::Male as i32,
        birth_date: "1990-06-01".into(),
        ..teacher(n, A)
    };
    let one = create(&mut admin, namesake(20, 1)).await;
    let two = create(&mut admin, namesake(21, 3)).await;
    let listed = candidates(&mut clerk, A).await;
    assert_eq!(listed.len(), 2);
    let namesakes = listed
        .iter()
        .find(|c| c.reasons == [pb::DuplicateReason::SamePersonDetails as i32])
        .expect("the namesakes");
    assert_eq!(namesakes.score, 60);
    let unexplained = clerk
        .dismiss_duplicate_candidate(pb::DismissDuplicateCandidateRequest {
            teacher_id: one.teacher_id.clone(),
            other_teacher_id: two.teacher_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&unexplained), ["note"]);
    clerk
        .dismiss_duplicate_candidate(pb::DismissDuplicateCandidateRequest {
            teacher_id: two.teacher_id.clone(),
            other_teacher_id: one.teacher_id.clone(),
            note: "二人身份证号码不同，经电话核实为两人".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(candidates(&mut clerk, A).await.len(), 1);
    // A change to one of them does not bring the pair back.
    admin
        .update_teacher(pb::UpdateTeacherRequest {
            teacher: Some(pb::Teacher {
                teacher_id: one.teacher_id.clone(),
                school: "第九中学".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(candidates(&mut clerk, A).await.len(), 1);

    // The full pass, on the stopped registry, finds nothing new and keeps the dismissal;
    // `verify` checks the block index.
    let dir = server.data_dir.clone();
    let _temp = server.stop().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
        .arg("find-duplicates")
        .args(common::registry_args(&dir))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{said}");
    assert!(said.contains(" 0 new duplicate candidates"), "{said}");
    let store = Store::open_at(&common::location_for(&dir), &StoreOptions::default()).unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    assert_eq!(store.list_candidates(None, 10, "").unwrap().0.len(), 1);
}
