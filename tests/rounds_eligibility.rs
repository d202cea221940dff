//! Who may apply in a round, over a real server: applicants without a registration, with
//! an ethics finding that vetoes promotion, or with a revoked certificate are refused with
//! their rules and nothing changes; the dry run lists who is eligible and why not; 破格
//! needs grounds and waives the years; request ids replay and stale etags abort.

mod common;
mod rounds_support;

use chrono::Duration;
use common::{
    apply_for_title, create, create_round, issue_request, list_ethics_findings, start_server,
    teacher,
};
use rounds_support::*;
use teacher_registry::api::pb;
use tonic::Code;

#[tokio::test]
async fn ineligible_applicants_are_refused_with_their_rules_and_nothing_changes() {
    let server = start_server().await;
    let mut registry = server.client.clone();
    let mut client = rounds(&server).await;
    let round = open_round(&mut client, today()).await;
    let on = today() - Duration::days(10);

    // No registration: a certificate issued without one.
    let unregistered = create(&mut registry, teacher(7_305_000 + 20, COUNTY)).await;
    registry
        .issue_certificate(issue_request(&unregistered.teacher_id, "20163500022000020"))
        .await
        .unwrap();

    // Vetoed: an ethics finding in force, recorded and reviewed by two people.
    let vetoed = common::eligible_teacher(&mut registry, 21, COUNTY).await;
    let finding = |reviewer: &str| pb::RecordEthicsFindingRequest {
        finding: Some(pb::EthicsFinding {
            teacher_id: vetoed.teacher_id.clone(),
            found_on: (today() - Duration::days(100)).to_string(),
            ground: "有偿补课 (《中小学教师违反职业道德行为处理办法》第四条)".into(),
            vetoes_until: (today() + Duration::days(300)).to_string(),
            reviewed_by: reviewer.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let same = client
        .record_ethics_finding(finding("anonymous"))
        .await
        .unwrap_err();
    assert_eq!(reason(&same), "SAME_REVIEWER");
    let recorded = client
        .record_ethics_finding(finding("李审核"))
        .await
        .unwrap()
        .into_inner()
        .finding
        .unwrap();
    assert_eq!(
        (recorded.recorded_by.as_str(), recorded.reviewed_by.as_str()),
        ("anonymous", "李审核")
    );
    let listed = list_ethics_findings(&mut client, &vetoed.teacher_id).await;
    assert_eq!(listed, std::slice::from_ref(&recorded));

    // Revoked: one certificate revoked, another still valid and registered.
    let revoked = common::eligible_teacher(&mut registry, 22, COUNTY).await;
    registry
        .issue_certificate(issue_request(&revoked.teacher_id, "20173500022000022"))
        .await
        .unwrap();
    registry
        .revoke_certificate(pb::RevokeCertificateRequest {
            certificate_number: "20173500022000022".into(),
            reason: "弄虚作假".into(),
            approval_document: "南教[2026]1号".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let eligible = common::eligible_teacher(&mut registry, 23, COUNTY).await;
    let before = common::all_changes(&mut registry).await.len();
    for (t, rule) in [
        (&unregistered, "NOT_REGISTERED"),
        (&vetoed, "ETHICS_VETO"),
        (&revoked, "QUALIFICATION_REVOKED"),
    ] {
        let refused = client
            .apply_for_title(application_request(&round, t, on))
            .await
            .unwrap_err();
        assert_eq!(
            (refused.code(), reason(&refused)),
            (Code::FailedPrecondition, rule.to_string())
        );
    }
    assert_eq!(
        common::all_changes(&mut registry).await.len(),
        before,
        "refusals change nothing"
    );
    let statistics = client
        .get_round_statistics(pb::GetRoundStatisticsRequest {
            round_id: round.round_id.clone(),
            county_code: COUNTY.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(statistics.figures.is_empty());

    // The dry run over the county says who is eligible and why not.
    let rows = client
        .check_eligibility(pb::CheckEligibilityRequest {
            round_id: round.round_id.clone(),
            county_code: COUNTY.into(),
            on: on.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .rows;
    let reasons = |t: &pb::Teacher| {
        rows.iter()
            .find(|r| r.teacher_id == t.teacher_id)
            .unwrap()
            .reasons
            .clone()
    };
    assert_eq!(reasons(&unregistered), ["NOT_REGISTERED", "NO_TITLE"]);
    assert_eq!(reasons(&vetoed), ["ETHICS_VETO"]);
    assert_eq!(reasons(&revoked), ["QUALIFICATION_REVOKED"]);
    assert!(reasons(&eligible).is_empty());
    assert_eq!(rows.iter().filter(|r| r.eligible).count(), 1);
    // Over one school: its teachers only.
    let school = rows
        .iter()
        .find(|r| r.teacher_id == eligible.teacher_id)
        .unwrap()
        .school
        .clone();
    let at_school = client
        .check_eligibility(pb::CheckEligibilityRequest {
            round_id: round.round_id.clone(),
            county_code: COUNTY.into(),
            school: school.clone(),
            on: on.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .rows;
    assert!(at_school
        .iter()
        .any(|r| r.teacher_id == eligible.teacher_id));
    assert!(at_school.iter().all(|r| r.school == school));
    assert!(at_school.len() < rows.len(), "{at_school:?}");

    // The eligible one applies; a retry with the same request id gets the same answer.
    let mut request = application_request(&round, &eligible, on);
    request.request_id = "apply-23".into();
    let first = client
        .apply_for_title(request.clone())
        .await
        .unwrap()
        .into_inner();
    let retry = client.apply_for_title(request).await.unwrap().into_inner();
    assert_eq!(first, retry);
    // A stale etag is ABORTED.
    let stale = client
        .close_title_application(pb::CloseTitleApplicationRequest {
            application_id: first.application.as_ref().unwrap().application_id.clone(),
            etag: "\"1\"".into(),
            reason: pb::CloseReason::Withdrawn as i32,
            note: "本人撤回".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
}

#[tokio::test]
async fn an_exceptional_application_needs_grounds_and_waives_the_years() {
    let server = start_server().await;
    let mut registry = server.client.clone();
    let mut client = rounds(&server).await;
    let mut senior = new_round(today());
    senior.round.as_mut().unwrap().target_tier = pb::TitleTier::Senior as i32;
    let round = create_round(&mut client, senior).await;
    let t = common::eligible_teacher(&mut registry, 30, COUNTY).await;
    let on = today() - Duration::days(3);
    let ordinary = client
        .apply_for_title(application_request(&round, &t, on))
        .await
        .unwrap_err();
    assert_eq!(reason(&ordinary), "NOT_NEXT_TIER");
    let mut exceptional = application_request(&round, &t, on);
    exceptional.exceptional_grounds = "省级教学成果奖一等奖".into();
    let application = apply_for_title(&mut client, exceptional).await;
    assert_eq!(application.exceptional_grounds, "省级教学成果奖一等奖");
    assert_eq!(application.target_tier, pb::TitleTier::Senior as i32);

    // Bad rounds are refused field by field.
    let mut bad = new_round(today());
    let r = bad.round.as_mut().unwrap();
    r.publicity_working_days = 3;
    r.committee = vec!["甲".into(), "甲".into()];
    r.target_tier = 0;
    let refused = client.create_evaluation_round(bad).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let mut fields = common::violated_fields(&refused);
    fields.sort();
    assert_eq!(
        fields,
        [
            "round.committee",
            "round.publicity_working_days",
            "round.target_tier"
        ]
    );
}
