//! The fingerprint's tests: the golden fingerprints of format 2, and the requests added
//! after it (a loss of qualification, a revocation's ground) fingerprinted without changing
//! the fingerprints of requests that do not use them.

use super::*;
use crate::store::format::samples;

/// Fingerprints must never change for the same request: a retry after an upgrade
/// would be refused as REQUEST_ID_REUSED. These were computed when format 2 was made.
#[test]
fn fingerprints_stay_what_they_were() {
    let hex = |bytes: [u8; 32]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let fingerprints: Vec<String> = samples::mutations()
        .iter()
        .map(|m| hex(fingerprint(m).unwrap()))
        .collect();
    let expected: Vec<&str> = include_str!("golden-v2-fingerprints.txt").lines().collect();
    assert_eq!(fingerprints, expected);
}

#[test]
fn different_requests_have_different_fingerprints() {
    let fingerprints: std::collections::HashSet<_> = samples::mutations()
        .iter()
        .map(|m| fingerprint(m).unwrap())
        .collect();
    assert_eq!(fingerprints.len(), samples::mutations().len());
}

/// A revocation's ground came after both golden lists. A revocation without one keeps
/// the fingerprint it had before (the golden line of the sample revocation, computed
/// when format 2 was made), so its request id, remembered by an earlier release, still
/// replays; with a ground the request is another one, under either release's fingerprint.
#[test]
fn a_revocation_without_a_ground_keeps_its_fingerprint() {
    use crate::domain::RevocationGround;
    let hex = |bytes: [u8; 32]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let without = samples::mutations().swap_remove(5);
    let Mutation::ChangeTeacher {
        change: TeacherChange::RevokeCertificate { request, .. },
        ..
    } = &without
    else {
        panic!("the sixth sample is a revocation: {without:?}");
    };
    assert_eq!(request.ground, None);
    assert_eq!(
        hex(fingerprint(&without).unwrap()),
        "82b18908e743d568c7dedec4568eb21b51065eaca0fc64a19024591d742df67f"
    );
    let with = |ground| {
        let mut mutation = without.clone();
        if let Mutation::ChangeTeacher {
            change: TeacherChange::RevokeCertificate { request, .. },
            ..
        } = &mut mutation
        {
            request.ground = Some(ground);
        }
        mutation
    };
    let fraud = fingerprint(&with(RevocationGround::Fraud));
    assert_ne!(fraud, fingerprint(&without));
    assert_ne!(fraud, fingerprint(&with(RevocationGround::Misconduct)));
    assert!(super::super::v1::fingerprint(&without).is_some());
    assert_eq!(
        super::super::v1::fingerprint(&with(RevocationGround::Fraud)),
        None
    );
}

/// A loss of qualification came after both golden lists: it has a fingerprint of its
/// own, which tells apart two losses that differ in any field, and release 0.1's
/// fingerprint never matches it.
#[test]
fn losses_of_qualification_are_fingerprinted() {
    use crate::domain::{LossGround, QualificationLoss};
    let lose = |ground, note: &str| Mutation::ChangeTeacher {
        target: Target::Certificate("20163500022000123".into()),
        expected_etag: None,
        change: TeacherChange::LoseQualification {
            number: "20163500022000123".into(),
            loss: QualificationLoss {
                lost_on: chrono::NaiveDate::from_ymd_opt(2025, 3, 4).unwrap(),
                ground,
                approval_document: "d".into(),
                note: note.into(),
            },
        },
    };
    let first = lose(LossGround::IntentionalCrimeSentence, "");
    let print = fingerprint(&first).unwrap();
    assert_eq!(fingerprint(&first), Some(print));
    assert_ne!(
        fingerprint(&lose(LossGround::DeprivationOfPoliticalRights, "")),
        Some(print)
    );
    assert_ne!(
        fingerprint(&lose(LossGround::IntentionalCrimeSentence, "n")),
        Some(print)
    );
    assert!(samples::mutations()
        .iter()
        .all(|m| fingerprint(m) != Some(print)));
    assert_eq!(super::super::v1::fingerprint(&first), None);
}
