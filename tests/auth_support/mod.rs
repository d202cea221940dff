//! What the authorization tests share: a secured server with a principal of every role
//! (and a second county), a teacher with a certificate in each county, the literal role
//! table, and one call per RPC made through [`call_as`], the one place that knows which
//! service an RPC belongs to.
#![allow(dead_code, unreachable_pub)]

mod registry_calls;
mod service_calls;
pub mod table;

use std::path::Path;

use teacher_registry::api::pb;
use teacher_registry::api::pb::case_service_client::CaseServiceClient;
use teacher_registry::api::pb::credential_service_client::CredentialServiceClient;
use teacher_registry::api::pb::duplicate_service_client::DuplicateServiceClient;
use teacher_registry::api::pb::evaluation_service_client::EvaluationServiceClient;
use teacher_registry::api::pb::identity_service_client::IdentityServiceClient;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::api::pb::verification_service_client::VerificationServiceClient;
use teacher_registry::auth::{add_principal, Role, Rpc};
use teacher_registry::credential::SigningKey;
use teacher_registry::server::ServerOptions;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::common::{
    auth_options, create, issue_request, start_server_with, teacher, TestServer, Token,
};
use registry_calls::call_registry;
use service_calls::{
    call_case, call_credential, call_duplicates, call_evaluation, call_identity, call_public,
};

pub const A: &str = "350702";
pub const B: &str = "350721";

pub type AuthClient = TeacherRegistryServiceClient<InterceptedService<Channel, Token>>;
pub type AuthCases = CaseServiceClient<InterceptedService<Channel, Token>>;
pub type AuthCredentials = CredentialServiceClient<InterceptedService<Channel, Token>>;
pub type AuthEvaluation = EvaluationServiceClient<InterceptedService<Channel, Token>>;
pub type AuthIdentity = IdentityServiceClient<InterceptedService<Channel, Token>>;
pub type AuthDuplicates = DuplicateServiceClient<InterceptedService<Channel, Token>>;
pub type AuthVerification = VerificationServiceClient<InterceptedService<Channel, Token>>;

pub fn with_header(channel: Channel, header: Option<&str>) -> AuthClient {
    TeacherRegistryServiceClient::with_interceptor(channel, Token::header(header))
}

pub struct Principals {
    pub admin: String,
    pub hr: String,
    pub county_a: String,
    pub county_b: String,
    pub importer_a: String,
    pub reader: String,
    pub city: String,
}

pub fn principals(path: &Path) -> Principals {
    Principals {
        admin: add_principal(path, "root", Role::Admin, None).unwrap(),
        hr: add_principal(path, "hr-office", Role::Hr, None).unwrap(),
        county_a: add_principal(path, "yanping", Role::County, Some(A)).unwrap(),
        county_b: add_principal(path, "shunchang", Role::County, Some(B)).unwrap(),
        importer_a: add_principal(path, "loader", Role::Importer, Some(A)).unwrap(),
        reader: add_principal(path, "auditor", Role::Reader, None).unwrap(),
        city: add_principal(path, "nanping", Role::City, Some("350700")).unwrap(),
    }
}

pub async fn secured_server(dir: &Path) -> (TestServer, Principals) {
    let path = dir.join("auth.toml");
    let tokens = principals(&path);
    let server = start_server_with(ServerOptions {
        credential_key: Some(SigningKey::generate().into()),
        ..auth_options(&path)
    })
    .await;
    (server, tokens)
}

pub async fn channel(server: &TestServer) -> Channel {
    server.channel().await
}

pub async fn as_token(server: &TestServer, token: &str) -> AuthClient {
    with_header(channel(server).await, Some(&format!("Bearer {token}")))
}

pub async fn cases_as(server: &TestServer, token: &str) -> AuthCases {
    CaseServiceClient::with_interceptor(channel(server).await, Token::bearer(token))
}

pub async fn credentials_as(server: &TestServer, token: &str) -> AuthCredentials {
    CredentialServiceClient::with_interceptor(channel(server).await, Token::bearer(token))
}

pub const CERT_A: &str = "20163500022000123";

/// A teacher in A with a certificate, and one in B; returns their ids.
pub async fn seed(admin: &mut AuthClient) -> (pb::Teacher, pb::Teacher) {
    let a = create(admin, teacher(1, A)).await;
    let b = create(admin, teacher(2, B)).await;
    for (holder, number) in [(&a, CERT_A), (&b, "20163500022000456")] {
        admin
            .issue_certificate(issue_request(&holder.teacher_id, number))
            .await
            .unwrap();
    }
    (a, b)
}

/// A phone consultation about the conditions of certification, recorded in `county`.
pub fn phone_consultation(county: &str) -> pb::RecordConsultationRequest {
    pb::RecordConsultationRequest {
        consultation: Some(pb::Consultation {
            county_code: county.into(),
            topic: "认定条件".into(),
            channel: pb::ConsultationChannel::Phone as i32,
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// A well-formed registry number that no record holds.
pub fn nobody() -> String {
    teacher_registry::domain::TeacherId::generate(&mut rand::thread_rng()).to_string()
}

/// A client of every service, all sending one caller's `authorization` header (none
/// for `None`).
pub struct Clients {
    registry: AuthClient,
    cases: AuthCases,
    credentials: AuthCredentials,
    evaluation: AuthEvaluation,
    identity: AuthIdentity,
    duplicates: AuthDuplicates,
    verification: AuthVerification,
}

impl Clients {
    pub async fn new(server: &TestServer, token: Option<&str>) -> Clients {
        let channel = channel(server).await;
        let header = || match token {
            Some(token) => Token::bearer(token),
            None => Token::header(None),
        };
        Clients {
            registry: TeacherRegistryServiceClient::with_interceptor(channel.clone(), header()),
            cases: CaseServiceClient::with_interceptor(channel.clone(), header()),
            credentials: CredentialServiceClient::with_interceptor(channel.clone(), header()),
            evaluation: EvaluationServiceClient::with_interceptor(channel.clone(), header()),
            identity: IdentityServiceClient::with_interceptor(channel.clone(), header()),
            duplicates: DuplicateServiceClient::with_interceptor(channel.clone(), header()),
            verification: VerificationServiceClient::with_interceptor(channel, header()),
        }
    }
}

/// Calls `rpc` once (the `n`th call of a run, so what it creates is new) with a request
/// about county A's teacher `a`, or a record nobody holds; the status if it failed.
pub async fn call_as(
    clients: &mut Clients,
    rpc: Rpc,
    a: &pb::Teacher,
    n: u32,
) -> Result<(), tonic::Status> {
    use Rpc::*;
    match rpc {
        VerifyCertificate => call_public(&mut clients.verification, rpc, a).await,
        IssueCredential | CheckCredential | GetCredentialKey => {
            call_credential(&mut clients.credentials, rpc).await
        }
        ListDuplicateCandidates | DismissDuplicateCandidate => {
            call_duplicates(&mut clients.duplicates, rpc, a).await
        }
        GetCase | ListCases | GetCaseReport => call_case(&mut clients.cases, rpc).await,
        rpc if rpc.is_case_step() => call_case(&mut clients.cases, rpc).await,
        rpc if rpc.is_identity_operation() => call_identity(&mut clients.identity, rpc, a, n).await,
        rpc if rpc.is_evaluation_step() => call_evaluation(&mut clients.evaluation, rpc, a).await,
        GetEvaluationRound
        | ListEthicsFindings
        | GetTitleApplication
        | ListTitleApplications
        | CheckEligibility
        | GetRoundStatistics => call_evaluation(&mut clients.evaluation, rpc, a).await,
        rpc => call_registry(&mut clients.registry, rpc, a, n).await,
    }
}
