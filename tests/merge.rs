//! Merges through a real server (issue 22 item 4): a passport record and a resident
//! identity card record of one person, found as a duplicate candidate and merged; the
//! retired number answering the survivor; each county's mirror following through `sync`
//! (the merged county's dropping the retired record); an unmerge restoring both; refusals
//! that change nothing; `verify` on the stopped registry.

mod common;

use std::path::Path;

use common::identity::{passport_and_card, server_with_principals};
use common::*;
use teacher_registry::api::pb;
use teacher_registry::store::{Store, StoreOptions};

const A: &str = "350702";
const B: &str = "350721";

type Identity = pb::identity_service_client::IdentityServiceClient<Authed>;
type Registry = pb::teacher_registry_service_client::TeacherRegistryServiceClient<Authed>;
type Duplicates = pb::duplicate_service_client::DuplicateServiceClient<Authed>;

/// Runs the binary against the server as the principal of `token`: whether it
/// succeeded, and its output (stdout, then stderr).
async fn cli(server: &TestServer, token: &str, args: &[&str]) -> (bool, String) {
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    args.extend(["--server".into(), server.address.to_string()]);
    let ran = run_binary(args, Some(token)).await;
    (ran.code == 0, ran.stdout + &ran.stderr)
}

/// Runs `teacher-registry sync` for `county` into `mirror`; the registry numbers the
/// mirror then holds.
async fn sync(server: &TestServer, token: &str, county: &str, mirror: &Path) -> Vec<String> {
    let mirror_arg = mirror.display().to_string();
    let (ok, said) = cli(
        server,
        token,
        &["sync", "--county", county, "--mirror", &mirror_arg],
    )
    .await;
    assert!(ok, "{said}");
    std::fs::read_to_string(mirror)
        .unwrap()
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["teacherId"].as_str().unwrap().to_string()
        })
        .collect()
}

async fn get(client: &mut Registry, teacher_id: &str) -> Result<pb::Teacher, tonic::Status> {
    client
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: teacher_id.into(),
            revision: None,
        })
        .await
        .map(|r| r.into_inner().teacher.unwrap())
}

fn merge_request(survivor: &str, merged: &str, reason: &str) -> pb::MergeTeachersRequest {
    pb::MergeTeachersRequest {
        survivor_teacher_id: survivor.into(),
        merged_teacher_id: merged.into(),
        reason: reason.into(),
        ..Default::default()
    }
}

fn unmerge_request(merged: &str, reason: &str) -> pb::UnmergeTeachersRequest {
    pb::UnmergeTeachersRequest {
        merged_teacher_id: merged.into(),
        reason: reason.into(),
        ..Default::default()
    }
}

fn documents(teacher: &pb::Teacher) -> Vec<&str> {
    teacher
        .former_documents
        .iter()
        .map(|d| d.national_id.as_str())
        .collect()
}

fn certificates(teacher: &pb::Teacher) -> Vec<&str> {
    teacher
        .certificates
        .iter()
        .map(|c| c.certificate_number.as_str())
        .collect()
}

async fn candidates(client: &mut Duplicates) -> Vec<pb::DuplicateCandidate> {
    client
        .list_duplicate_candidates(pb::ListDuplicateCandidatesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .candidates
}

#[tokio::test]
async fn a_passport_and_an_identity_card_of_one_person_are_merged_mirrored_and_unmerged() {
    let (server, who, dir) = server_with_principals().await;
    let mut admin = Registry::new(server.channel_as(&who.admin).await);
    let mut identity = Identity::new(server.channel_as(&who.admin).await);
    let mut duplicates = Duplicates::new(server.channel_as(&who.admin).await);

    // One person: a passport record in A, a resident identity card record in B holding
    // a certificate and a title.
    let (passport, card) = passport_and_card(&mut admin).await;
    let card_number = resident_id("350702", "1985-03-02", 2);
    admin
        .issue_certificate(issue_request(&card.teacher_id, "20163500022000042"))
        .await
        .unwrap();
    let card = admin
        .change_title(second_level_since_2015(&card.teacher_id))
        .await
        .unwrap_teacher();

    let mirrors = tempfile::tempdir().unwrap();
    let (mirror_a, mirror_b) = (
        mirrors.path().join("a.jsonl"),
        mirrors.path().join("b.jsonl"),
    );
    assert_eq!(
        sync(&server, &who.admin, A, &mirror_a).await,
        [passport.teacher_id.as_str()]
    );
    assert_eq!(
        sync(&server, &who.admin, B, &mirror_b).await,
        [card.teacher_id.as_str()]
    );

    // Found as a candidate pair.
    let found = candidates(&mut duplicates).await;
    assert_eq!(found.len(), 1, "{found:?}");

    // Refusals change nothing: no reason, a record merged into itself, a stale etag, a
    // clerk of A reaching for B's record, a reader.
    let refused = identity
        .merge_teachers(merge_request(
            &passport.teacher_id,
            &passport.teacher_id,
            " ",
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert_eq!(violated_fields(&refused), ["merged_teacher_id", "reason"]);
    let stale = identity
        .merge_teachers(pb::MergeTeachersRequest {
            merged_etag: passport.etag.clone(),
            ..merge_request(&passport.teacher_id, &card.teacher_id, "同一人")
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), tonic::Code::Aborted);
    // A clerk of A does not see B's card; a reader may not merge.
    let attempt = merge_request(&passport.teacher_id, &card.teacher_id, "同一人");
    for (role, token, code) in [
        ("clerk", &who.clerk, tonic::Code::NotFound),
        ("reader", &who.reader, tonic::Code::PermissionDenied),
    ] {
        let mut identity = Identity::new(server.channel_as(token).await);
        let refused = identity.merge_teachers(attempt.clone()).await.unwrap_err();
        assert_eq!(refused.code(), code, "{role}: {refused:?}");
    }
    assert_eq!(get(&mut admin, &card.teacher_id).await.unwrap(), card);

    // The merge: the passport record survives and gains the card, the certificate and
    // the title; the disagreements are reported, both sides kept.
    let request = pb::MergeTeachersRequest {
        survivor_etag: passport.etag.clone(),
        merged_etag: card.etag.clone(),
        request_id: "6f1c1f0e-6f4b-4c55-9a43-1d2a3b4c5d6e".into(),
        ..merge_request(
            &passport.teacher_id,
            &card.teacher_id,
            "护照与身份证为同一人",
        )
    };
    let merged = identity
        .merge_teachers(request.clone())
        .await
        .unwrap()
        .into_inner();
    let survivor = merged.survivor.clone().unwrap();
    assert_eq!(survivor.teacher_id, passport.teacher_id);
    assert_eq!(survivor.national_id, "E55555555");
    assert_eq!(documents(&survivor), [card_number.as_str()]);
    assert_eq!(certificates(&survivor), ["20163500022000042"]);
    assert_eq!(survivor.current_title, pb::TitleTier::SecondLevel as i32);
    assert_eq!(survivor.retired_teacher_ids, [card.teacher_id.as_str()]);
    let reported: Vec<&str> = merged
        .conflicts
        .iter()
        .map(|c| c.split(':').next().unwrap())
        .collect();
    assert_eq!(reported, ["birth_date", "county_code"]);
    // A retry with the request id gets the first answer.
    let retried = identity.merge_teachers(request).await.unwrap().into_inner();
    assert_eq!(retried, merged);

    // The retired number answers the survivor; the card and the certificate find it.
    assert_eq!(get(&mut admin, &card.teacher_id).await.unwrap(), survivor);
    let by_card = lookup_teacher(
        &mut admin,
        pb::lookup_teacher_request::Key::NationalId(card_number.clone()),
    )
    .await;
    assert_eq!(by_card.teacher_id, passport.teacher_id);
    assert!(candidates(&mut duplicates).await.is_empty());
    // A retired number cannot be merged again (it names its survivor; see
    // tests/merge_writes.rs), nor a merge undone twice below.
    let again = identity
        .merge_teachers(merge_request(
            &passport.teacher_id,
            &card.teacher_id,
            "再次",
        ))
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::FailedPrecondition);
    assert_eq!(
        error_info(&again)["survivor_teacher_id"],
        passport.teacher_id
    );

    // The feed says MERGED for the retired number in both counties' feeds; B's mirror
    // drops it, A's takes the survivor as it is now.
    let b_changes = admin
        .list_changes(pb::ListChangesRequest {
            county_code: B.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .changes;
    let last = b_changes.last().unwrap();
    assert_eq!(
        (last.kind(), last.teacher_id.as_str()),
        (pb::ChangeKind::Merged, card.teacher_id.as_str())
    );
    assert!(sync(&server, &who.admin, B, &mirror_b).await.is_empty());
    assert_eq!(
        sync(&server, &who.admin, A, &mirror_a).await,
        [passport.teacher_id.as_str()]
    );
    let mirrored = std::fs::read_to_string(&mirror_a).unwrap();
    assert!(mirrored.contains(&card.teacher_id), "{mirrored}");

    // The unmerge restores both.
    let refused = identity
        .unmerge_teachers(unmerge_request(&card.teacher_id, ""))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&refused), ["reason"]);
    let unmerged = identity
        .unmerge_teachers(unmerge_request(&card.teacher_id, "经核实为两人"))
        .await
        .unwrap()
        .into_inner();
    let (kept, restored) = (unmerged.survivor.unwrap(), unmerged.restored.unwrap());
    assert!(documents(&kept).is_empty());
    assert!(certificates(&kept).is_empty());
    assert!(kept.retired_teacher_ids.is_empty());
    assert_eq!(kept.current_title, 0);
    assert_eq!(restored.teacher_id, card.teacher_id);
    assert_eq!(restored.national_id, card_number);
    assert_eq!(restored.county_code, B);
    assert_eq!(certificates(&restored), ["20163500022000042"]);
    assert_eq!(restored.current_title, pb::TitleTier::SecondLevel as i32);
    assert_eq!(get(&mut admin, &card.teacher_id).await.unwrap(), restored);
    assert_eq!(
        identity
            .unmerge_teachers(unmerge_request(&card.teacher_id, "再次"))
            .await
            .unwrap_err()
            .code(),
        tonic::Code::NotFound
    );
    // Two people after all: the pair is not offered again.
    assert!(candidates(&mut duplicates).await.is_empty());
    assert_eq!(
        sync(&server, &who.admin, B, &mirror_b).await,
        [card.teacher_id.as_str()]
    );
    assert_eq!(
        sync(&server, &who.admin, A, &mirror_a).await,
        [passport.teacher_id.as_str()]
    );

    // Merged again from a terminal: the standing merge, and the one undone before it, are
    // what `verify` checks against the records.
    let (ok, said) = cli(
        &server,
        &who.admin,
        &[
            "duplicates",
            "merge",
            &passport.teacher_id,
            &card.teacher_id,
            "--reason",
            "复核后确认为同一人",
        ],
    )
    .await;
    assert!(ok, "{said}");
    assert!(said.contains("to settle: birth_date"), "{said}");
    assert_eq!(
        get(&mut admin, &card.teacher_id).await.unwrap().teacher_id,
        passport.teacher_id
    );
    let (ok, said) = cli(
        &server,
        &who.clerk,
        &[
            "duplicates",
            "unmerge",
            &card.teacher_id,
            "--reason",
            "两人",
        ],
    )
    .await;
    assert!(!ok && said.contains("the merge was not undone"), "{said}");
    let data_dir = server.data_dir.clone();
    let _temp = server.stop().await;
    let store = Store::open_at(&location_for(&data_dir), &StoreOptions::default()).unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    drop(dir);
}

/// A backup carries what joins, corrects and compares records of one person (the fix of
/// issue 22's backup gap): restored, a merge still stands (the registry verifies, the
/// retired number answers the survivor, and the merge can still be undone), a pending
/// correction can still be approved, and a dismissed pair stays dismissed.
#[tokio::test]
async fn a_backup_and_restore_keep_merges_corrections_and_dismissed_pairs() {
    use teacher_registry::auth::Authenticator;
    let (server, who, dir) = server_with_principals().await;
    let mut admin = Registry::new(server.channel_as(&who.admin).await);
    let mut identity = Identity::new(server.channel_as(&who.admin).await);
    let mut duplicates = Duplicates::new(server.channel_as(&who.admin).await);
    let person = |n: u32, document: pb::IdDocumentType, national_id: String, name: &str| {
        let born = if name == "陈静" {
            "1985-03-02"
        } else {
            "1979-05-06"
        };
        pb::Teacher {
            id_document_type: document as i32,
            national_id,
            name: name.into(),
            gender: if name == "陈静" {
                pb::Gender::Female
            } else {
                pb::Gender::Male
            } as i32,
            birth_date: born.into(),
            ..teacher(n, A)
        }
    };
    // One person twice (merged), two people alike (dismissed), one record corrected.
    let passport = person(10, pb::IdDocumentType::Passport, "E55555555".into(), "陈静");
    let passport = create(&mut admin, passport).await;
    let card_number = resident_id(A, "1985-03-02", 2);
    let card = person(11, pb::IdDocumentType::ResidentIdCard, card_number, "陈静");
    let card = create(&mut admin, card).await;
    let alike = person(20, pb::IdDocumentType::Passport, "E66666666".into(), "李强");
    let alike = create(&mut admin, alike).await;
    let other_number = resident_id(A, "1979-05-06", 1);
    let other = person(21, pb::IdDocumentType::ResidentIdCard, other_number, "李强");
    let other = create(&mut admin, other).await;
    let corrected = create(&mut admin, teacher(30, A)).await;
    assert_eq!(candidates(&mut duplicates).await.len(), 2);
    duplicates
        .dismiss_duplicate_candidate(pb::DismissDuplicateCandidateRequest {
            teacher_id: alike.teacher_id.clone(),
            other_teacher_id: other.teacher_id.clone(),
            note: "父子同名，出生日期相同属巧合".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let survivor = identity
        .merge_teachers(merge_request(
            &passport.teacher_id,
            &card.teacher_id,
            "护照与身份证为同一人",
        ))
        .await
        .unwrap()
        .into_inner()
        .survivor
        .unwrap();
    let typo = resident_id(A, &corrected.birth_date, 913);
    let proposed = identity
        .propose_identity_correction(pb::ProposeIdentityCorrectionRequest {
            teacher_id: corrected.teacher_id.clone(),
            id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
            national_id: typo.clone(),
            reason: "录入时顺序码有误".into(),
            evidence_ref: "扫描件 2026-201".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_correction();

    let temp = tempfile::tempdir().unwrap();
    let backup = temp.path().join("backup");
    let (ok, said) = cli(&server, &who.admin, &["backup", backup.to_str().unwrap()]).await;
    assert!(ok, "{said}");
    assert!(said.contains("4 identity records"), "{said}");
    let _source = server.stop().await;
    let restored_dir = temp.path().join("restored");
    let restored = common::restore_consistent(&backup, &restored_dir).await;
    assert_eq!(restored.manifest.identity, 4);

    let copy = start_server_in_with(
        &restored_dir,
        teacher_registry::server::ServerOptions {
            authenticator: Some(Authenticator::load(&dir.path().join("auth.toml")).unwrap()),
            ..Default::default()
        },
    )
    .await;
    let mut admin = Registry::new(copy.channel_as(&who.admin).await);
    let mut identity = Identity::new(copy.channel_as(&who.admin).await);
    let mut duplicates = Duplicates::new(copy.channel_as(&who.admin).await);
    // The retired number answers the survivor; the dismissed pair does not come back,
    // nor the merged one.
    assert_eq!(get(&mut admin, &card.teacher_id).await.unwrap(), survivor);
    assert!(candidates(&mut duplicates).await.is_empty());
    // The pending correction is there, and a second principal approves it.
    let mut clerk = Identity::new(copy.channel_as(&who.clerk).await);
    let read = get_identity_correction(&mut clerk, &proposed.correction_id).await;
    assert_eq!(read, proposed);
    let approved = clerk
        .approve_identity_correction(pb::ApproveIdentityCorrectionRequest {
            correction_id: proposed.correction_id.clone(),
            etag: proposed.etag.clone(),
            note: "核对无误".into(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(approved.teacher.unwrap().national_id, typo);
    // The merge can still be undone: both records as they were.
    let unmerged = identity
        .unmerge_teachers(unmerge_request(&card.teacher_id, "经核实为两人"))
        .await
        .unwrap()
        .into_inner();
    let restored_card = unmerged.restored.unwrap();
    assert_eq!(restored_card.teacher_id, card.teacher_id);
    assert_eq!(restored_card.national_id, card.national_id);
    assert!(unmerged.survivor.unwrap().retired_teacher_ids.is_empty());
    assert!(candidates(&mut duplicates).await.is_empty());

    let data_dir = copy.data_dir.clone();
    let _copy = copy.stop().await;
    let store = Store::open_at(&location_for(&data_dir), &StoreOptions::default()).unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
}
