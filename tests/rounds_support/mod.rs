//! What the title evaluation tests share: a client of the EvaluationService, a round of
//! FIRST_LEVEL with a committee of nine, applications.
#![allow(dead_code, unreachable_pub)]

use chrono::NaiveDate;
use teacher_registry::api::pb;
use teacher_registry::api::pb::evaluation_service_client::EvaluationServiceClient;
use tonic::transport::Channel;

use crate::common::{error_info, TestServer};

pub type Rounds = EvaluationServiceClient<Channel>;

pub const COUNTY: &str = "350702";
pub const OTHER_COUNTY: &str = "350721";

pub async fn rounds(server: &TestServer) -> Rounds {
    EvaluationServiceClient::connect(format!("http://{}", server.address))
        .await
        .unwrap()
}

pub fn today() -> NaiveDate {
    let cst = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    chrono::Utc::now().with_timezone(&cst).date_naive()
}

pub fn reason(status: &tonic::Status) -> String {
    error_info(status)["reason"].clone()
}

pub fn new_round(deadline: NaiveDate) -> pb::CreateEvaluationRoundRequest {
    pb::CreateEvaluationRoundRequest {
        round: Some(pb::EvaluationRound {
            name: "2026年度中小学一级教师职称评审".into(),
            county_code: COUNTY.into(),
            target_tier: pb::TitleTier::FirstLevel as i32,
            application_deadline: deadline.to_string(),
            years_in_tier: 5,
            committee: (1..=9).map(|m| format!("委员{m}")).collect(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

pub async fn open_round(client: &mut Rounds, deadline: NaiveDate) -> pb::EvaluationRound {
    client
        .create_evaluation_round(new_round(deadline))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap()
}

pub fn application_request(
    round: &pb::EvaluationRound,
    teacher: &pb::Teacher,
    on: NaiveDate,
) -> pb::ApplyForTitleRequest {
    pb::ApplyForTitleRequest {
        round_id: round.round_id.clone(),
        teacher_id: teacher.teacher_id.clone(),
        applied_on: on.to_string(),
        ..Default::default()
    }
}

pub async fn apply(
    client: &mut Rounds,
    round: &pb::EvaluationRound,
    teacher: &pb::Teacher,
    on: NaiveDate,
) -> pb::TitleApplication {
    client
        .apply_for_title(application_request(round, teacher, on))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap()
}
