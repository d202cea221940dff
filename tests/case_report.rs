//! The case report over a real server, against a scenario counted by hand: cases of
//! three kinds in two counties, back-dated, refused at intake, decided on time and late
//! (one exactly on the legal limit), with a paused clock, a deferral, a withdrawal, open
//! cases past their limit and paused, and consultations. Every figure is asserted, by
//! month, quarter and year, for all counties and one; bad requests change nothing; the
//! CLI prints the table once.
//!
//! The server runs with the default rules: weekends only, certification 20 committed / 30
//! legal working days, reissue 10 / 20, registration 15 / 20. All dates are in 2026.

mod cli_support;
mod common;

use common::{
    accept_case, create, issue_request, open_case, start_server, teacher, violated_fields,
    TestServer,
};
use teacher_registry::api::pb;
use teacher_registry::api::pb::case_service_client::CaseServiceClient;
use tonic::transport::Channel;
use tonic::Code;

type Cases = CaseServiceClient<Channel>;

const A: &str = "350702";
const B: &str = "350721";
const CERT: i32 = pb::CaseKind::Certification as i32;
const REISSUE: i32 = pb::CaseKind::Reissue as i32;
const REGISTRATION: i32 = pb::CaseKind::Registration as i32;

async fn cases(server: &TestServer) -> Cases {
    CaseServiceClient::connect(format!("http://{}", server.address))
        .await
        .unwrap()
}

fn certification(n: u32, county: &str, received_on: &str) -> pb::Case {
    pb::Case {
        kind: CERT,
        county_code: county.into(),
        applicant: Some(teacher(n, county)),
        certificate_kind: pb::CertificateKind::PrimarySchool as i32,
        received_on: received_on.into(),
        ..Default::default()
    }
}

fn about(kind: i32, county: &str, number: &str, received_on: &str) -> pb::Case {
    pb::Case {
        kind,
        county_code: county.into(),
        certificate_number: number.into(),
        received_on: received_on.into(),
        ..Default::default()
    }
}

async fn accept(client: &mut Cases, case: &pb::Case, on: &str) -> pb::Case {
    let request = pb::AcceptCaseRequest {
        case_id: case.case_id.clone(),
        step_date: on.into(),
        ..Default::default()
    };
    accept_case(client, request).await
}

/// Opens the case and accepts it the day it was received.
async fn opened_and_accepted(client: &mut Cases, case: pb::Case) -> pb::Case {
    let on = case.received_on.clone();
    let case = open_case(client, case).await;
    accept(client, &case, &on).await
}

async fn decide(client: &mut Cases, request: pb::DecideCaseRequest) -> pb::Case {
    client
        .decide_case(request)
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap()
}

fn deny(case: &pb::Case, on: &str) -> pb::DecideCaseRequest {
    pb::DecideCaseRequest {
        case_id: case.case_id.clone(),
        outcome: pb::CaseOutcome::Denied as i32,
        reasons: vec!["学历不符合要求".into()],
        step_date: on.into(),
        ..Default::default()
    }
}

/// A teacher of `county` holding certificate `number`.
async fn holder(server: &TestServer, n: u32, county: &str, number: &str) {
    let mut registry = server.client.clone();
    let created = create(&mut registry, teacher(n, county)).await;
    registry
        .issue_certificate(issue_request(&created.teacher_id, number))
        .await
        .unwrap();
}

async fn consult(client: &mut Cases, county: &str, on: &str, channel: pb::ConsultationChannel) {
    let recorded = client
        .record_consultation(pb::RecordConsultationRequest {
            consultation: Some(pb::Consultation {
                consultation_date: on.into(),
                county_code: county.into(),
                topic: "认定条件".into(),
                channel: channel as i32,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .consultation
        .unwrap();
    if !on.is_empty() {
        assert_eq!(recorded.consultation_date, on);
    }
    assert!(recorded.revision > 0);
}

/// Builds the scenario; the working days of each decision are counted in the comments.
async fn scenario(server: &TestServer) {
    let mut client = cases(server).await;
    // County A, certification, received in March.
    // C1: accepted 03-02 (Mon), denied 03-16 (Mon): 10 working days, on time.
    let c1 = opened_and_accepted(&mut client, certification(1, A, "2026-03-02")).await;
    assert_eq!(
        decide(&mut client, deny(&c1, "2026-03-16"))
            .await
            .working_days_used,
        10
    );
    // C2: accepted 03-04 (Wed), denied 04-15 (Wed): 30 working days, past the committed
    // 20 but on the last day of the legal 30.
    let c2 = opened_and_accepted(&mut client, certification(2, A, "2026-03-04")).await;
    let c2 = decide(&mut client, deny(&c2, "2026-04-15")).await;
    assert_eq!(
        (c2.working_days_used, c2.overdue, c2.overdue_legal),
        (30, true, false)
    );
    // C3: refused at intake.
    let c3 = open_case(&mut client, certification(3, A, "2026-03-10")).await;
    client
        .refuse_case(pb::RefuseCaseRequest {
            case_id: c3.case_id,
            reason: "不属于本机关管辖".into(),
            step_date: "2026-03-10".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // C4: accepted 03-11, notice 03-12, materials 03-20, denied 04-08: 20 working days
    // from 03-12 to 04-08, less the 7 paused (03-12..03-20): 13, on time.
    let c4 = opened_and_accepted(&mut client, certification(4, A, "2026-03-11")).await;
    client
        .request_supplement(pb::RequestSupplementRequest {
            case_id: c4.case_id.clone(),
            missing: vec!["体检表".into()],
            step_date: "2026-03-12".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .receive_supplement(pb::ReceiveSupplementRequest {
            case_id: c4.case_id.clone(),
            materials: vec!["体检表".into()],
            step_date: "2026-03-20".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        decide(&mut client, deny(&c4, "2026-04-08"))
            .await
            .working_days_used,
        13
    );
    // County A, certification, received in June and still open: C5 past both limits
    // today; C6 waiting for materials, its clock standing still.
    opened_and_accepted(&mut client, certification(5, A, "2026-06-01")).await;
    let c6 = opened_and_accepted(&mut client, certification(6, A, "2026-06-02")).await;
    client
        .request_supplement(pb::RequestSupplementRequest {
            case_id: c6.case_id,
            missing: vec!["普通话证书".into()],
            step_date: "2026-06-03".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // County A, registration, May: R1 deferred after 4 working days (05-04 to 05-08),
    // R2 approved after 1 (05-05 to 05-06).
    holder(server, 11, A, "20163500022000123").await;
    holder(server, 12, A, "20163500022000124").await;
    let r1 = opened_and_accepted(
        &mut client,
        about(REGISTRATION, A, "20163500022000123", "2026-05-04"),
    )
    .await;
    decide(
        &mut client,
        pb::DecideCaseRequest {
            case_id: r1.case_id.clone(),
            outcome: pb::CaseOutcome::Deferred as i32,
            registration_reasons: vec![pb::RegistrationReason::TrainingHoursShort as i32],
            step_date: "2026-05-08".into(),
            ..Default::default()
        },
    )
    .await;
    let r2 = opened_and_accepted(
        &mut client,
        about(REGISTRATION, A, "20163500022000124", "2026-05-05"),
    )
    .await;
    decide(
        &mut client,
        pb::DecideCaseRequest {
            case_id: r2.case_id.clone(),
            outcome: pb::CaseOutcome::Approved as i32,
            step_date: "2026-05-06".into(),
            ..Default::default()
        },
    )
    .await;
    // County B, reissue, March: RI1 approved after 14 working days (03-02 to 03-20),
    // past the committed 10, within the legal 20; W1 withdrawn before acceptance.
    holder(server, 21, B, "20163500022000125").await;
    let ri1 = opened_and_accepted(
        &mut client,
        about(REISSUE, B, "20163500022000125", "2026-03-02"),
    )
    .await;
    decide(
        &mut client,
        pb::DecideCaseRequest {
            case_id: ri1.case_id.clone(),
            outcome: pb::CaseOutcome::Approved as i32,
            reissue_reason: pb::ReissueReason::Lost as i32,
            declaration_ref: "声明-2026-001".into(),
            step_date: "2026-03-20".into(),
            ..Default::default()
        },
    )
    .await;
    let w1 = open_case(
        &mut client,
        about(REISSUE, B, "20163500022000125", "2026-03-03"),
    )
    .await;
    client
        .withdraw_case(pb::WithdrawCaseRequest {
            case_id: w1.case_id,
            step_date: "2026-03-04".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // Consultations: A twice in March and once in July, B once in March.
    consult(
        &mut client,
        A,
        "2026-03-05",
        pb::ConsultationChannel::Window,
    )
    .await;
    consult(&mut client, A, "2026-03-06", pb::ConsultationChannel::Phone).await;
    consult(
        &mut client,
        A,
        "2026-07-01",
        pb::ConsultationChannel::Online,
    )
    .await;
    consult(
        &mut client,
        B,
        "2026-03-09",
        pb::ConsultationChannel::Letter,
    )
    .await;
}

async fn report(
    client: &mut Cases,
    county: &str,
    period: pb::ReportPeriod,
) -> pb::GetCaseReportResponse {
    client
        .get_case_report(pb::GetCaseReportRequest {
            year: 2026,
            county_code: county.into(),
            period: period as i32,
        })
        .await
        .unwrap()
        .into_inner()
}

/// A row as a tuple: (period, county, kind), then received, accepted, refused, approved,
/// denied, deferred, within committed, within legal, decided late, open overdue, open
/// overdue legal, median.
type Row = (u32, &'static str, i32, [u64; 11], Option<f64>);
/// A row as read back.
type Read = (u32, String, i32, [u64; 11], Option<f64>);

fn rows(report: &pb::GetCaseReportResponse) -> Vec<Read> {
    report
        .rows
        .iter()
        .map(|r| {
            (
                r.period,
                r.county_code.clone(),
                r.kind,
                [
                    r.received,
                    r.accepted,
                    r.refused,
                    r.approved,
                    r.denied,
                    r.deferred,
                    r.within_committed,
                    r.within_legal,
                    r.decided_late,
                    r.open_overdue,
                    r.open_overdue_legal,
                ],
                r.median_working_days,
            )
        })
        .collect()
}

fn expected(rows: &[Row]) -> Vec<Read> {
    rows.iter()
        .map(|(p, c, k, f, m)| (*p, c.to_string(), *k, *f, *m))
        .collect()
}

fn consultations(report: &pb::GetCaseReportResponse) -> Vec<(u32, String, u64)> {
    report
        .consultations
        .iter()
        .map(|c| (c.period, c.county_code.clone(), c.consultations))
        .collect()
}

#[tokio::test]
async fn the_report_matches_a_hand_counted_year() {
    let server = start_server().await;
    scenario(&server).await;
    let mut client = cases(&server).await;

    #[rustfmt::skip]
    let months: [Row; 5] = [
        //                 recv acc ref app den def onC onL late openL openLL
        (3, A, CERT,         [4, 3, 1, 0, 1, 0, 1, 1, 0, 0, 0], Some(10.0)),
        (3, B, REISSUE,      [2, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0], Some(14.0)),
        (4, A, CERT,         [0, 0, 0, 0, 2, 0, 1, 2, 1, 0, 0], Some(21.5)),
        (5, A, REGISTRATION, [2, 2, 0, 1, 0, 1, 2, 2, 0, 0, 0], Some(2.5)),
        (6, A, CERT,         [2, 2, 0, 0, 0, 0, 0, 0, 0, 1, 1], None),
    ];
    #[rustfmt::skip]
    let quarters: [Row; 4] = [
        (1, A, CERT,         [4, 3, 1, 0, 1, 0, 1, 1, 0, 0, 0], Some(10.0)),
        (1, B, REISSUE,      [2, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0], Some(14.0)),
        (2, A, CERT,         [2, 2, 0, 0, 2, 0, 1, 2, 1, 1, 1], Some(21.5)),
        (2, A, REGISTRATION, [2, 2, 0, 1, 0, 1, 2, 2, 0, 0, 0], Some(2.5)),
    ];
    #[rustfmt::skip]
    let year: [Row; 3] = [
        // Decisions of 10, 13 and 30 working days: the median is 13.
        (0, A, CERT,         [6, 5, 1, 0, 3, 0, 2, 3, 1, 1, 1], Some(13.0)),
        (0, A, REGISTRATION, [2, 2, 0, 1, 0, 1, 2, 2, 0, 0, 0], Some(2.5)),
        (0, B, REISSUE,      [2, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0], Some(14.0)),
    ];
    // The consultations by (period, county): in July a consultation only, no row.
    for (period, want, consulted) in [
        (
            pb::ReportPeriod::Month,
            &months[..],
            [(3, A, 2), (3, B, 1), (7, A, 1)].as_slice(),
        ),
        (
            pb::ReportPeriod::Quarter,
            &quarters[..],
            &[(1, A, 2), (1, B, 1), (3, A, 1)],
        ),
        (pb::ReportPeriod::Year, &year[..], &[(0, A, 3), (0, B, 1)]),
    ] {
        let read = report(&mut client, "", period).await;
        assert_eq!(rows(&read), expected(want), "{period:?}");
        let consulted: Vec<(u32, String, u64)> = consulted
            .iter()
            .map(|&(p, c, n)| (p, c.to_string(), n))
            .collect();
        assert_eq!(consultations(&read), consulted, "{period:?}");
    }

    // One county: only its rows; the default period is the month.
    let b_only = client
        .get_case_report(pb::GetCaseReportRequest {
            year: 2026,
            county_code: B.into(),
            period: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rows(&b_only), expected(&months[1..2]));
    assert_eq!(consultations(&b_only), [(3, B.to_string(), 1)]);

    // Another year counts nothing.
    let empty = client
        .get_case_report(pb::GetCaseReportRequest {
            year: 2025,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(empty.rows.is_empty() && empty.consultations.is_empty());

    // The CLI prints the year as a table, lines without trailing spaces.
    let run = cli_support::run(&[
        "case",
        "report",
        "--server",
        &format!("http://{}", server.address),
        "--year",
        "2026",
        "--by",
        "quarter",
    ])
    .await
    .ok();
    assert!(
        cli_support::trailing_space_lines(&run.stdout).is_empty(),
        "{}",
        run.stdout
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("2026 年办件统计 / case report 2026, by quarter"),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with("期间") && lines[1].contains("中位工作日"),
        "{}",
        run.stdout
    );
    assert!(
        lines[2].starts_with("period") && lines[2].ends_with("median_days"),
        "{}",
        run.stdout
    );
    let numbers = |line: &str| -> Vec<String> {
        line.split_whitespace()
            .skip(4)
            .map(str::to_string)
            .collect()
    };
    assert!(
        lines[3].starts_with("2026-Q1  350702  认定 cert"),
        "{}",
        run.stdout
    );
    assert_eq!(
        numbers(lines[3]),
        ["4", "3", "1", "0", "1", "0", "1", "1", "0", "0", "0", "10.0"]
    );
    assert!(
        lines[5].starts_with("2026-Q2  350702  认定 cert"),
        "{}",
        run.stdout
    );
    assert_eq!(
        numbers(lines[5]),
        ["2", "2", "0", "0", "2", "0", "1", "2", "1", "1", "1", "21.5"]
    );
    assert!(
        run.stdout.contains(
            "咨询 / consultations\n2026-Q1  350702  2\n2026-Q1  350721  1\n2026-Q3  350702  1\n"
        ),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn bad_requests_are_refused_by_field_and_change_nothing() {
    let server = start_server().await;
    let mut client = cases(&server).await;
    let mut registry = server.client.clone();
    let revision = || async {
        server
            .client
            .clone()
            .get_statistics(pb::GetStatisticsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .revision
    };
    let before = revision().await;
    let refused = |status: tonic::Status| {
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        violated_fields(&status)
    };
    for (year, county, period, field) in [
        (0, "", 0, "year"),
        (1989, "", 0, "year"),
        (9999, "", 0, "year"),
        (2026, "35070", 0, "county_code"),
        (2026, "", 99, "period"),
    ] {
        let status = client
            .get_case_report(pb::GetCaseReportRequest {
                year,
                county_code: county.into(),
                period,
            })
            .await
            .unwrap_err();
        assert_eq!(refused(status), [field]);
    }
    let consultation =
        |date: &str, county: &str, topic: &str, channel: i32| pb::RecordConsultationRequest {
            consultation: Some(pb::Consultation {
                consultation_date: date.into(),
                county_code: county.into(),
                topic: topic.into(),
                channel,
                ..Default::default()
            }),
            request_id: String::new(),
        };
    let window = pb::ConsultationChannel::Window as i32;
    let long_topic = "问".repeat(201);
    for (request, fields) in [
        (
            consultation("2999-01-01", A, "认定条件", window),
            vec!["consultation.consultation_date"],
        ),
        (
            consultation("", "", "认定条件", window),
            vec!["consultation.county_code"],
        ),
        (
            consultation("", A, "  ", window),
            vec!["consultation.topic"],
        ),
        (
            consultation("", A, &long_topic, window),
            vec!["consultation.topic"],
        ),
        (
            consultation("", A, "认定条件", 0),
            vec!["consultation.channel"],
        ),
        (
            consultation("", A, "认定条件", 42),
            vec!["consultation.channel"],
        ),
        (
            consultation("03/05/2026", "x", "", 0),
            vec![
                "consultation.consultation_date",
                "consultation.county_code",
                "consultation.topic",
                "consultation.channel",
            ],
        ),
        (
            pb::RecordConsultationRequest {
                consultation: None,
                request_id: String::new(),
            },
            vec!["consultation"],
        ),
    ] {
        let status = client.record_consultation(request).await.unwrap_err();
        assert_eq!(refused(status), fields);
    }
    assert_eq!(revision().await, before, "nothing was written");
    let empty = report(&mut client, "", pb::ReportPeriod::Year).await;
    assert!(empty.consultations.is_empty());

    // A good one is a write with its change event.
    consult(&mut client, A, "", pb::ConsultationChannel::Phone).await;
    let changes = common::all_changes(&mut registry).await;
    let last = changes.last().unwrap();
    assert_eq!(last.kind, pb::ChangeKind::ConsultationRecorded as i32);
    assert_eq!(last.revision, before + 1);
    assert!(last.teacher_id.is_empty() && last.case_id.is_empty());
}
