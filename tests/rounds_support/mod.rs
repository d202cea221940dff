//! What the title evaluation tests share: a client of the EvaluationService, a round of
//! FIRST_LEVEL with a committee of nine, applications.
#![allow(dead_code, unreachable_pub)]

use chrono::NaiveDate;
use teacher_registry::api::pb;
use teacher_registry::api::pb::evaluation_service_client::EvaluationServiceClient;
use tonic::transport::Channel;

pub use crate::common::{application_request, new_round};
use crate::common::{
    apply_for_title, create_round, error_info, today_cst, TestServer, ROUND_COUNTY,
};

pub type Rounds = EvaluationServiceClient<Channel>;

pub const COUNTY: &str = ROUND_COUNTY;
pub const OTHER_COUNTY: &str = "350721";

pub async fn rounds(server: &TestServer) -> Rounds {
    EvaluationServiceClient::connect(format!("http://{}", server.address))
        .await
        .unwrap()
}

pub fn today() -> NaiveDate {
    today_cst()
}

pub fn reason(status: &tonic::Status) -> String {
    error_info(status)["reason"].clone()
}

pub async fn open_round(client: &mut Rounds, deadline: NaiveDate) -> pb::EvaluationRound {
    create_round(client, new_round(deadline)).await
}

pub async fn apply(
    client: &mut Rounds,
    round: &pb::EvaluationRound,
    teacher: &pb::Teacher,
    on: NaiveDate,
) -> pb::TitleApplication {
    apply_for_title(client, application_request(round, teacher, on)).await
}
