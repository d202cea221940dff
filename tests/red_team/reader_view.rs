//! Finding 1: the reader's view must not give the identity number back.
//!
//! The old mask (`350702********0013`) hid exactly the 8 birth digits and the record
//! showed `birth_date` in clear, so every number was rebuilt by filling one into the
//! other; where they differed, LookupTeacher by number confirmed each guess.

use chrono::{Datelike, NaiveDate};
use teacher_registry::api::pb;
use teacher_registry::api::pb::lookup_teacher_request::Key;
use teacher_registry::domain::resident_check_character;
use tonic::Code;

use super::harness::{as_token, create_as, secured, A};
use crate::cli_support::run_with;
use crate::common::{get_teacher, teacher};

/// The attack as it was run: the masked digits filled with the birth date shown.
fn rebuild(national_id: &str, birth_date: &str) -> Option<String> {
    let digits = birth_date.replace('-', "");
    let stars = national_id.chars().filter(|&c| c == '*').count();
    (stars == digits.len() && national_id.get(6..14) == Some("********"))
        .then(|| national_id.replacen("********", &digits, 1))
}

/// The numbers that fit what a reader sees, for an attacker who also guesses the county
/// of birth is the county of work: every date of the year shown, every hidden sequence
/// digit, kept where the check character matches.
fn candidates(national_id: &str, birth_year: &str, area: &str) -> Vec<String> {
    assert_eq!(national_id.len(), 18, "{national_id}");
    let (head, tail) = (&national_id[..2], &national_id[16..]);
    assert!(area.starts_with(head));
    let year: i32 = birth_year.parse().expect("a year");
    let mut out = Vec::new();
    let mut day = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
    while day.year() == year {
        for sequence in 0..100 {
            let first17 = format!("{area}{}{sequence:02}{}", day.format("%Y%m%d"), &tail[..1]);
            if resident_check_character(first17.as_bytes()).to_string() == tail[1..] {
                out.push(format!("{first17}{}", &tail[1..]));
            }
        }
        day = day.succ_opt().unwrap();
    }
    out
}

#[tokio::test]
async fn a_reader_cannot_rebuild_identity_numbers_from_any_view() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured(dir.path(), Default::default()).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let mut whole = Vec::new();
    for n in [1, 2_003, 7_250] {
        whole.push(create_as(&mut admin, teacher(n, A)).await);
    }
    let mut reader = as_token(&server, &tokens.reader).await;
    let listed = reader
        .list_teachers(pb::ListTeachersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .teachers;
    let searched = reader
        .search_teachers(pb::SearchTeachersRequest {
            name: "教师".into(),
            name_match: pb::NameMatch::Prefix as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .teachers;
    let fed: Vec<pb::Teacher> = reader
        .list_changes(pb::ListChangesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .changes
        .into_iter()
        .filter_map(|c| c.teacher)
        .collect();
    let mut got = Vec::new();
    for t in &whole {
        let one = get_teacher(&mut reader, &t.teacher_id).await;
        got.push(one);
    }
    assert_eq!((listed.len(), searched.len(), fed.len()), (3, 3, 3));
    for seen in listed.iter().chain(&searched).chain(&fed).chain(&got) {
        let full = whole
            .iter()
            .find(|t| t.teacher_id == seen.teacher_id)
            .unwrap();
        assert_eq!(rebuild(&seen.national_id, &seen.birth_date), None);
        assert_eq!(seen.birth_date, full.birth_date[..4], "the year only");
        assert_eq!(
            seen.national_id,
            format!(
                "{}**************{}",
                &full.national_id[..2],
                &full.national_id[16..]
            )
        );
        // Even knowing the county of birth, thousands of numbers fit, and the right one
        // is among them: the view is consistent, just not enough.
        let fits = candidates(&seen.national_id, &seen.birth_date, A);
        assert!(fits.contains(&full.national_id));
        assert!(fits.len() > 1_000, "{} candidates", fits.len());
    }
    // Admins still see the whole record.
    let full = get_teacher(&mut admin, &whole[0].teacher_id).await;
    assert_eq!(full.national_id, whole[0].national_id);
    assert_eq!(full.birth_date, whole[0].birth_date);
}

#[tokio::test]
async fn a_reader_cannot_test_guesses_by_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured(dir.path(), Default::default()).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let target = create_as(&mut admin, teacher(5, A)).await;
    let mut reader = as_token(&server, &tokens.reader).await;
    // The right number and a wrong one, of every type: the same refusal, nothing found.
    let wrong = teacher(6, A).national_id;
    for number in [&target.national_id, &wrong] {
        for doc_type in [0, pb::IdDocumentType::ResidentIdCard as i32] {
            let status = reader
                .lookup_teacher(pb::LookupTeacherRequest {
                    key: Some(Key::NationalId(number.clone())),
                    id_document_type: doc_type,
                })
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::PermissionDenied);
            assert!(!status.message().contains(number.as_str()));
        }
    }
}

#[tokio::test]
async fn a_readers_export_holds_the_readers_view_only() {
    let dir = tempfile::tempdir().unwrap();
    let (server, tokens) = secured(dir.path(), Default::default()).await;
    let mut admin = as_token(&server, &tokens.admin).await;
    let whole = create_as(&mut admin, teacher(9_125, A)).await;
    for format in ["jsonl", "csv"] {
        let file = dir.path().join(format!("export.{format}"));
        let url = format!("http://{}", server.address);
        let run = run_with(
            &[
                "export",
                file.to_str().unwrap(),
                "--server",
                &url,
                "--format",
                format,
            ],
            &[("TEACHER_REGISTRY_TOKEN", &tokens.reader)],
        )
        .await;
        assert_eq!(run.code, Some(0), "{run:#?}");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(&whole.name), "{text}");
        assert!(!text.contains(&whole.national_id), "{format}: the number");
        assert!(
            !text.contains(&whole.birth_date),
            "{format}: the birth date"
        );
        assert!(
            !text.contains(&whole.national_id[6..14]),
            "{format}: the birth digits"
        );
    }
}
