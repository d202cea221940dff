//! Starts the real server on 127.0.0.1:0 with a temporary data directory (or, with
//! `TEACHER_REGISTRY_TEST_POSTGRES=1`, on a database of a throwaway PostgreSQL cluster, see
//! [`location_for`]), and builds the requests the tests share.
#![allow(dead_code, unreachable_pub)]

mod answers;
mod binary;
mod calls;
pub mod identity;
pub mod serve_process;
mod title_requests;
mod transport;

// Not every test binary makes these calls; they are part of `common` all the same.
#[allow(unused_imports)]
pub use answers::{Answered, Carries};
#[allow(unused_imports)]
pub use binary::{
    run_binary, run_binary_here, run_binary_ok, server_for_a_transition, transition_args, Ran,
};
#[allow(unused_imports)]
pub use calls::*;
#[allow(unused_imports)]
pub use title_requests::{first_level_round, second_level_since_2015};
pub use transport::Transport;

use std::path::{Path, PathBuf};

use teacher_registry::api::pb;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::domain::resident_check_character;
use teacher_registry::server::{self, ServerOptions};
use teacher_registry::store::{Location, Store, StoreOptions, ThrowawayCluster};
use tokio::sync::oneshot;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

pub type Client = TeacherRegistryServiceClient<Channel>;

/// A connection calling as a principal (see [`TestServer::channel_as`]).
pub type Authed = InterceptedService<Channel, Token>;

/// A running server. Dropping it stops the server; `stop` waits until its data is closed.
pub struct TestServer {
    pub address: std::net::SocketAddr,
    pub client: Client,
    pub data_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _temp: Option<tempfile::TempDir>,
}

/// A server on a fresh, empty data directory.
pub async fn start_server() -> TestServer {
    let temp = tempfile::tempdir().expect("temp dir");
    let mut server = start_server_in(temp.path()).await;
    server._temp = Some(temp);
    server
}

/// A server on a fresh data directory with these options.
pub async fn start_server_with(options: ServerOptions) -> TestServer {
    let temp = tempfile::tempdir().expect("temp dir");
    let mut server = start_server_in_with(temp.path(), options).await;
    server._temp = Some(temp);
    server
}

/// Server options that authenticate by the auth file at `path`, the rest the defaults.
pub fn auth_options(path: &Path) -> ServerOptions {
    let authenticator = teacher_registry::auth::Authenticator::load(path).expect("auth file");
    ServerOptions {
        authenticator: Some(authenticator),
        ..ServerOptions::default()
    }
}

/// A server on a fresh data directory that authenticates by the auth file at `path`.
pub async fn start_server_with_auth(path: &Path) -> TestServer {
    start_server_with(auth_options(path)).await
}

/// A server on an existing data directory (for restarts).
pub async fn start_server_in(data_dir: &Path) -> TestServer {
    start_server_in_with(data_dir, ServerOptions::default()).await
}

/// Where a test's registry lives: its data directory, or, with
/// `TEACHER_REGISTRY_TEST_POSTGRES=1`, the database of the throwaway PostgreSQL cluster that
/// the directory names (the same directory, the same database: restarts find their data).
pub fn location_for(data_dir: &Path) -> Location {
    if std::env::var_os("TEACHER_REGISTRY_TEST_POSTGRES").is_some() {
        let cluster = ThrowawayCluster::get().expect("TEACHER_REGISTRY_TEST_POSTGRES: a cluster");
        Location::Postgres(cluster.database_for(data_dir))
    } else {
        Location::Directory(data_dir.to_path_buf())
    }
}

/// Whether the test runs on sled, saying why it is skipped when it does not: `what` is
/// the sled-only behaviour it checks.
pub fn on_sled(what: &str) -> bool {
    let on_postgres = std::env::var_os("TEACHER_REGISTRY_TEST_POSTGRES").is_some();
    if on_postgres {
        eprintln!("skipped on PostgreSQL: {what}");
    }
    !on_postgres
}

/// The arguments that name where a command builds a registry for `data_dir`: the
/// directory itself, or its database (see [`location_for`]).
pub fn registry_args(data_dir: &Path) -> Vec<String> {
    match location_for(data_dir) {
        Location::Directory(dir) => vec!["--data-dir".into(), dir.display().to_string()],
        Location::Postgres(url) => vec!["--postgres".into(), url],
    }
}

/// With `RUST_LOG` set, the in-process servers' log goes to the test's output (shown for a
/// failed test), filtered as it says: what a server said before it answered an error.
pub fn log_if_asked() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("RUST_LOG").is_some() {
        ONCE.call_once(|| {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        });
    }
}

/// Restores `backup` into the registry a server started on `data_dir` opens: the
/// directory itself, or its database (see [`location_for`]).
pub async fn restore_into(
    backup: &Path,
    data_dir: &Path,
) -> anyhow::Result<teacher_registry::cli::Restored> {
    teacher_registry::cli::run_restore_at(backup, &location_for(data_dir)).await
}

/// Restores `backup` into `data_dir` and checks that the restore found the registry
/// consistent; what the restore reports.
pub async fn restore_consistent(backup: &Path, data_dir: &Path) -> teacher_registry::cli::Restored {
    let restored = restore_into(backup, data_dir).await.expect("restore");
    assert!(
        restored.report.is_consistent(),
        "{:?}",
        restored.report.problems
    );
    restored
}

/// A server on a sled data directory whatever the tests run on: for tests of sled's own
/// data (its files, the formats earlier releases wrote, a move from sled).
pub async fn start_server_on_sled_in(data_dir: &Path, options: ServerOptions) -> TestServer {
    log_if_asked();
    let store = Store::open(data_dir, &StoreOptions::default()).expect("open store");
    serve(store, data_dir, options).await
}

/// A server on an existing data directory with these options.
pub async fn start_server_in_with(data_dir: &Path, options: ServerOptions) -> TestServer {
    log_if_asked();
    let store =
        Store::open_at(&location_for(data_dir), &StoreOptions::default()).expect("open store");
    serve(store, data_dir, options).await
}

/// A server on a store the test opened itself, from `data_dir`.
pub async fn serve(store: Store, data_dir: &Path, options: ServerOptions) -> TestServer {
    serve_at(store, data_dir, options, "127.0.0.1:0".parse().unwrap()).await
}

/// A server on an existing data directory at `address` (a restart on the same port).
pub async fn restart_at(
    data_dir: &Path,
    options: ServerOptions,
    address: std::net::SocketAddr,
) -> TestServer {
    let store =
        Store::open_at(&location_for(data_dir), &StoreOptions::default()).expect("open store");
    serve_at(store, data_dir, options, address).await
}

async fn serve_at(
    store: Store,
    data_dir: &Path,
    options: ServerOptions,
    address: std::net::SocketAddr,
) -> TestServer {
    let listener = tokio::net::TcpListener::bind(address).await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::run(listener, store, options, async move {
        let _ = stopped.await;
    }));
    // The listener is bound before the server task runs, so connecting cannot race it.
    let client = TeacherRegistryServiceClient::connect(format!("http://{address}"))
        .await
        .expect("connect");
    TestServer {
        address,
        client,
        data_dir: data_dir.to_path_buf(),
        shutdown: Some(shutdown),
        task: Some(task),
        _temp: None,
    }
}

impl TestServer {
    /// Stops the server gracefully and waits until the store is closed; returns the data
    /// directory's guard so a new server can be started on it.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        self.shutdown.take().map(|s| s.send(()));
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
        self._temp.take()
    }

    /// Asks the server to stop, as a signal would, without waiting for it.
    pub fn begin_stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// A new client on its own connection.
    pub async fn new_client(&self) -> Client {
        TeacherRegistryServiceClient::new(self.channel().await)
    }

    /// A new connection to the server, for a client of any of its services.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.address))
            .unwrap()
            .connect()
            .await
            .expect("connect")
    }

    /// A new connection that sends `Bearer token` with every request: a service's
    /// `Client::new` on it calls as that principal.
    pub async fn channel_as(&self, token: &str) -> Authed {
        InterceptedService::new(self.channel().await, Token::bearer(token))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A valid resident identity card number for a birth date and a sequence number.
pub fn resident_id(area: &str, birth: &str, sequence: u32) -> String {
    let first17 = format!("{area}{}{sequence:03}", birth.replace('-', ""));
    let check = resident_check_character(first17.as_bytes());
    format!("{first17}{check}")
}

/// A distinct valid teacher for each `n` below 14 million (a birth date per thousand,
/// a sequence number within it), active in `county`.
pub fn teacher(n: u32, county: &str) -> pb::Teacher {
    let born = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).unwrap()
        + chrono::Duration::days(i64::from(n / 1000 % 14_600));
    let birth = born.format("%Y-%m-%d").to_string();
    let sequence = n % 1000;
    pb::Teacher {
        id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
        national_id: resident_id("350702", &birth, sequence),
        name: format!("教师{n}"),
        gender: if sequence % 2 == 1 {
            pb::Gender::Male
        } else {
            pb::Gender::Female
        } as i32,
        birth_date: birth,
        county_code: county.to_string(),
        school: format!("第{}中学", n % 3 + 1),
        employment_status: pb::EmploymentStatus::Active as i32,
        ..Default::default()
    }
}

pub fn create_request(teacher: pb::Teacher, request_id: &str) -> pb::CreateTeacherRequest {
    pb::CreateTeacherRequest {
        teacher: Some(teacher),
        request_id: request_id.to_string(),
    }
}

/// The field paths of a status's BadRequest violations.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// Asserts that a call was refused with INVALID_ARGUMENT naming exactly `fields`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(answer: Result<T, tonic::Status>, fields: &[&str]) {
    let status = answer.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert_eq!(violated_fields(&status), fields);
}

/// The metadata of a status's ErrorInfo, with its reason under "reason".
pub fn error_info(status: &tonic::Status) -> std::collections::HashMap<String, String> {
    use tonic_types::StatusExt;
    let info = status.get_details_error_info().expect("ErrorInfo detail");
    let mut metadata = info.metadata;
    metadata.insert("reason".into(), info.reason);
    metadata
}

/// A primary-school certificate with this number, ready to issue.
pub fn certificate(number: &str) -> pb::Certificate {
    certificate_of_kind(number, pb::CertificateKind::PrimarySchool)
}

/// A certificate of `kind` with this number, Chinese, certified 2016-07-01 in Yanping.
pub fn certificate_of_kind(number: &str, kind: pb::CertificateKind) -> pb::Certificate {
    pb::Certificate {
        certificate_number: number.into(),
        kind: kind as i32,
        subject: "语文".into(),
        issuing_authority: "南平市延平区教育局".into(),
        certified_on: "2016-07-01".into(),
        ..Default::default()
    }
}

/// Issues the teacher certificate `number` (see [`certificate`]), not yet registered.
pub fn issue_request(teacher_id: &str, number: &str) -> pb::IssueCertificateRequest {
    pb::IssueCertificateRequest {
        teacher_id: teacher_id.into(),
        certificate: Some(certificate(number)),
        ..Default::default()
    }
}

/// Issues the teacher a junior-secondary mathematics certificate numbered `number` (its
/// kind digit, the tenth, is 3), not yet registered.
pub fn junior_issue_request(teacher_id: &str, number: &str) -> pb::IssueCertificateRequest {
    pb::IssueCertificateRequest {
        teacher_id: teacher_id.into(),
        certificate: Some(pb::Certificate {
            certificate_number: number.into(),
            kind: pb::CertificateKind::JuniorSecondary as i32,
            subject: "数学".into(),
            issuing_authority: "x".into(),
            certified_on: "2016-07-01".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// An ethics finding against the teacher (paid tutoring, found 2026-01-05) that vetoes
/// promotion until 2026-12-31.
pub fn ethics_finding_request(teacher_id: &str) -> pb::RecordEthicsFindingRequest {
    pb::RecordEthicsFindingRequest {
        finding: Some(pb::EthicsFinding {
            teacher_id: teacher_id.into(),
            found_on: "2026-01-05".into(),
            ground: "有偿补课".into(),
            vetoes_until: "2026-12-31".into(),
            reviewed_by: "另一位审核人".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// Today in China Standard Time, the registry's day.
pub fn today_cst() -> chrono::NaiveDate {
    let cst = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    chrono::Utc::now().with_timezone(&cst).date_naive()
}

/// Issues the teacher certificate `number`, first registered a year ago: a registration
/// in force today.
pub fn registered_a_year_ago(teacher_id: &str, number: &str) -> pb::IssueCertificateRequest {
    pb::IssueCertificateRequest {
        teacher_id: teacher_id.into(),
        certificate: Some(certificate(number)),
        first_registration_on: (today_cst() - chrono::Duration::days(365)).to_string(),
        ..Default::default()
    }
}

/// The county of the title evaluation rounds the tests open (see [`new_round`]).
pub const ROUND_COUNTY: &str = "350702";

/// A round of [`ROUND_COUNTY`] for FIRST_LEVEL, five years in the tier, a committee of
/// nine, taking applications until `deadline`.
pub fn new_round(deadline: chrono::NaiveDate) -> pb::CreateEvaluationRoundRequest {
    first_level_round(
        "2026年度中小学一级教师职称评审".into(),
        ROUND_COUNTY,
        deadline,
    )
}

/// A FIRST_LEVEL round of `county` taking applications until today, with a committee of
/// three: for the tests of who may open and work a round.
pub fn round_in(county: &str) -> pb::CreateEvaluationRoundRequest {
    pb::CreateEvaluationRoundRequest {
        round: Some(pb::EvaluationRound {
            name: "2026年度一级教师评审".into(),
            county_code: county.into(),
            target_tier: pb::TitleTier::FirstLevel as i32,
            application_deadline: today_cst().to_string(),
            committee: vec!["甲".into(), "乙".into(), "丙".into()],
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// `teacher`'s application to `round`, made on `on`.
pub fn application_request(
    round: &pb::EvaluationRound,
    teacher: &pb::Teacher,
    on: chrono::NaiveDate,
) -> pb::ApplyForTitleRequest {
    pb::ApplyForTitleRequest {
        round_id: round.round_id.clone(),
        teacher_id: teacher.teacher_id.clone(),
        applied_on: on.to_string(),
        ..Default::default()
    }
}

/// Issues the teacher a certificate numbered `number` (certified 2011, a 2011 number) and
/// registers it every five years, so it is registered without a break from 2011-09-01 to
/// 2026-09-01: promotions in that span meet the registration rule.
pub async fn register_for_promotion(client: &mut Client, teacher_id: &str, number: &str) {
    let mut issued = certificate(number);
    issued.certified_on = "2011-07-01".into();
    client
        .issue_certificate(pb::IssueCertificateRequest {
            teacher_id: teacher_id.into(),
            certificate: Some(issued),
            first_registration_on: "2011-09-01".into(),
            ..Default::default()
        })
        .await
        .expect("issue a certificate to register");
    for registered_on in ["2016-09-01", "2021-09-01"] {
        client
            .register_certificate(pb::RegisterCertificateRequest {
                certificate_number: number.into(),
                registered_on: registered_on.into(),
                ..Default::default()
            })
            .await
            .expect("register the certificate");
    }
}

/// Sends an `authorization` header with every request: `Bearer TOKEN`, a header exactly as
/// given (a garbled one, say), or none.
#[derive(Clone)]
pub struct Token(Option<MetadataValue<Ascii>>);

impl Token {
    pub fn bearer(token: &str) -> Token {
        Token::header(Some(&format!("Bearer {token}")))
    }

    pub fn header(raw: Option<&str>) -> Token {
        Token(raw.map(|h| h.parse().expect("a header value")))
    }
}

impl tonic::service::Interceptor for Token {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// The code of a rejected import row's `status` by its canonical name ("" for a row that
/// was not rejected), checked against the deprecated `error` kept for clients of earlier
/// releases, which must say the same.
pub fn row_code(row: &pb::ImportTeachersResponse) -> String {
    #[allow(deprecated)]
    let kept = row
        .error
        .as_ref()
        .map(|e| e.code.clone())
        .unwrap_or_default();
    let code = row
        .status
        .as_ref()
        .map(|s| teacher_registry::api::code_name(tonic::Code::from(s.code)))
        .unwrap_or_default();
    assert_eq!(
        code, kept,
        "the row's status and its kept error differ: {row:?}"
    );
    code
}

/// The field paths of a rejected import row's BadRequest, in its `status`, checked against
/// the deprecated `error`'s violations.
pub fn row_violated_fields(row: &pb::ImportTeachersResponse) -> Vec<String> {
    #[allow(deprecated)]
    let kept: Vec<String> = row
        .error
        .iter()
        .flat_map(|e| e.field_violations.iter().map(|v| v.field.clone()))
        .collect();
    let fields: Vec<String> = teacher_registry::cli::RowRefusal::of(row)
        .map(|refusal| {
            refusal
                .violations
                .into_iter()
                .map(|(field, _)| field)
                .collect()
        })
        .unwrap_or_default();
    assert!(row.status.is_some() || fields.is_empty(), "{row:?}");
    assert_eq!(
        fields, kept,
        "the row's status and its kept error differ: {row:?}"
    );
    fields
}

/// A certificate for `name` with its key and parameters: self-signed, or signed by the
/// issuer given as its parameters and key.
pub fn certificate_pair(
    name: &str,
    issuer: Option<(&rcgen::CertificateParams, &rcgen::KeyPair)>,
    ca: bool,
) -> (rcgen::Certificate, rcgen::KeyPair, rcgen::CertificateParams) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    if ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    let cert = match issuer {
        Some((issuer_params, issuer_key)) => params
            .signed_by(&key, &rcgen::Issuer::from_params(issuer_params, issuer_key))
            .unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    (cert, key, params)
}

/// A search for teachers named exactly `name`.
pub fn exact(name: &str) -> pb::SearchTeachersRequest {
    pb::SearchTeachersRequest {
        name: name.into(),
        name_match: pb::NameMatch::Exact as i32,
        ..Default::default()
    }
}

/// A search for teachers whose names start with `name`.
pub fn prefix(name: &str) -> pb::SearchTeachersRequest {
    pb::SearchTeachersRequest {
        name: name.into(),
        name_match: pb::NameMatch::Prefix as i32,
        ..Default::default()
    }
}
