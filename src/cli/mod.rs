//! The commands of the `teacher-registry` binary other than `serve`: the client commands
//! for HR staff and county bureaus, each talking to a running server over gRPC, and the
//! operator's commands on files (`token`, `verify`, `compact`). Each prints a readable
//! report to any writer, so tests can read exactly what a person would see.
//!
//! Messages are for the person at the command line: a refusal names its gRPC code as the
//! documentation does (`PERMISSION_DENIED`), and where the server's words are meant for a
//! program (send this header) the command says what the person can do (set this
//! variable), see `describe`.

mod audit;
mod backup;
mod case;
mod case_args;
mod case_labels;
mod case_print;
mod case_report;
mod committee_file;
mod correction;
mod counties;
mod credential;
mod duplicates;
mod export;
mod failure;
mod generate;
mod history;
mod import;
mod maintenance;
mod round;
mod round_args;
mod rows;
mod search;
mod show;
mod stats;
mod step_args;
mod sync;
mod template;
mod tls_init;
mod token;
mod transfer;
mod transition;

pub use audit::{print_audit, AuditArgs};
pub use backup::{
    describe_backup, run_backup, run_restore, run_restore_at, BackupFormat, Manifest, Restored,
};
pub use case::run_case;
pub use case_args::{CaseCommand, DecideArgs, ListArgs, OpenArgs, StepArgs};
pub use case_print::{write_notice, Notice};
pub use case_report::{print_case_report, CaseReportArgs, ReportBy};
pub use committee_file::{read_committee_bytes, read_committee_file};
pub use correction::{run_correction, CorrectionCommand};
pub use counties::CountyNames;
pub use credential::{
    run_credential, run_credential_key, run_verify_credential, CredentialCommand,
    CredentialKeyArgs, VerifyCredentialArgs,
};
pub use duplicates::{run_duplicates, run_find_duplicates, DuplicatesCommand};
pub use export::{run_export, ExportFormat};
pub use failure::{CommandError, Failure};
pub use generate::generate;
pub use history::run_history;
pub use import::{run_import, ImportArgs, ImportSummary, Mode as ImportMode, RowRefusal};
pub use maintenance::{print_report, run_compact, run_migrate, run_verify, run_verify_database};
pub use round::run_round;
pub use round_args::{ApplicationStepArgs, RoundCommand};
pub(crate) use rows::ANNOTATIONS;
pub use rows::{column_names, open_rows, HeaderProblem, RowProblem, Rows, RowsError, SourceRow};
pub use search::{run_search, SearchArgs};
pub use show::{run_show, write_page, ShowKey};
pub use stats::print_statistics;
pub use step_args::StepOptions;
pub use sync::{run_sync, SyncArgs};
pub use template::write_template;
pub use tls_init::{tls_init, TlsInitFiles, DEFAULT_TLS_HOSTS};
pub use token::{run_token, TokenAction};
pub use transfer::{run_transfer, TransferCommand};
pub use transition::{run_transition, TransitionArgs};

use anyhow::Context;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::api::pb::case_service_client::CaseServiceClient;
use crate::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;

/// The registry the client commands talk to unless told otherwise.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

/// The environment variable the commands take their bearer token from (never a flag, so
/// it stays out of shell history and process lists).
pub const TOKEN_VARIABLE: &str = "TEACHER_REGISTRY_TOKEN";

/// The environment variable naming a CA certificate (PEM) to trust for `https://` servers.
pub const CA_VARIABLE: &str = "TEACHER_REGISTRY_CA_FILE";

/// The environment variables naming a client certificate and its key (PEM), presented to
/// `https://` servers that ask for one (`serve --tls-client-ca`, mutual TLS).
pub const CLIENT_CERT_VARIABLE: &str = "TEACHER_REGISTRY_CLIENT_CERT";
pub const CLIENT_KEY_VARIABLE: &str = "TEACHER_REGISTRY_CLIENT_KEY";

/// A registry client that sends the caller's bearer token, if any, with every request.
pub type Client = TeacherRegistryServiceClient<InterceptedService<Channel, BearerToken>>;

/// Adds `authorization: Bearer <token>` to each request.
#[derive(Clone)]
pub struct BearerToken(Option<MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for BearerToken {
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

/// Connects to the registry at `server` (`http://host:port`, or `https://` for TLS,
/// trusting the CA in `TEACHER_REGISTRY_CA_FILE`; a bare `host:port` is `http://`), with
/// the token from `TEACHER_REGISTRY_TOKEN` if set.
pub async fn connect(server: &str) -> anyhow::Result<Client> {
    let (channel, token) = connect_channel(server).await?;
    Ok(TeacherRegistryServiceClient::with_interceptor(
        channel, token,
    ))
}

/// A CaseService client, connected as [`connect`] connects.
pub async fn connect_cases(server: &str) -> anyhow::Result<CaseClient> {
    let (channel, token) = connect_channel(server).await?;
    Ok(CaseServiceClient::with_interceptor(channel, token))
}

/// A case client that sends the caller's bearer token, if any.
pub type CaseClient = CaseServiceClient<InterceptedService<Channel, BearerToken>>;

/// The connection and the token every client of the commands uses.
pub(crate) async fn connect_channel(server: &str) -> anyhow::Result<(Channel, BearerToken)> {
    let url = server_url(server);
    let mut endpoint = Endpoint::from_shared(url.clone()).map_err(|_| {
        CommandError::Usage(format!(
            "{server} is not a server address: expected host:port, http://host:port or \
             https://host:port"
        ))
    })?;
    let token = token_from_environment()?;
    let https = url.starts_with("https://");
    if token.is_some() && !https && !is_loopback(endpoint.uri().host().unwrap_or_default()) {
        return Err(CommandError::Usage(format!(
            "refusing to send the token in {TOKEN_VARIABLE} over plain http to {url}: anyone \
             on the way could read it; give the address as {} (with its CA in {CA_VARIABLE})",
            url.replacen("http://", "https://", 1)
        ))
        .into());
    }
    if https {
        let mut tls = ClientTlsConfig::new().with_enabled_roots();
        if let Ok(ca) = std::env::var(CA_VARIABLE) {
            let pem = std::fs::read(&ca).with_context(|| format!("cannot read {ca}"))?;
            tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
        }
        if let Some(identity) = client_identity()? {
            tls = tls.identity(identity);
        }
        endpoint = endpoint.tls_config(tls)?;
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(explain_tls)
        .with_context(|| format!("cannot connect to the registry at {url}"))?;
    if !url.starts_with("https://") && speaks_tls(&channel, &url).await {
        return Err(CommandError::Usage(format!(
            "{url} serves TLS: give the address as {} (and its CA in {CA_VARIABLE})",
            url.replacen("http://", "https://", 1)
        ))
        .into());
    }
    Ok((channel, BearerToken(token)))
}

/// The `authorization` header of the token in `TEACHER_REGISTRY_TOKEN`, if one is set.
fn token_from_environment() -> anyhow::Result<Option<MetadataValue<tonic::metadata::Ascii>>> {
    match std::env::var(TOKEN_VARIABLE) {
        Ok(token) if !token.trim().is_empty() => Ok(Some(
            format!("Bearer {}", token.trim())
                .parse()
                .with_context(|| format!("{TOKEN_VARIABLE} is not a valid token"))?,
        )),
        _ => Ok(None),
    }
}

/// Whether `host` (as a URI spells it) is this machine: a token may cross only that in
/// plain text.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The client certificate and key named by `TEACHER_REGISTRY_CLIENT_CERT` and
/// `TEACHER_REGISTRY_CLIENT_KEY`, for mutual TLS: both or neither.
fn client_identity() -> anyhow::Result<Option<tonic::transport::Identity>> {
    let cert = std::env::var(CLIENT_CERT_VARIABLE)
        .ok()
        .filter(|v| !v.is_empty());
    let key = std::env::var(CLIENT_KEY_VARIABLE)
        .ok()
        .filter(|v| !v.is_empty());
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => {
            let read =
                |path: &str| std::fs::read(path).with_context(|| format!("cannot read {path}"));
            Ok(Some(tonic::transport::Identity::from_pem(
                read(&cert)?,
                read(&key)?,
            )))
        }
        _ => Err(CommandError::Usage(format!(
            "a client certificate needs both {CLIENT_CERT_VARIABLE} and {CLIENT_KEY_VARIABLE}"
        ))
        .into()),
    }
}

/// A failed connection, with what to do where the cause is a known TLS mistake: a CA
/// certificate served as the server's own. rustls names that only in a nested error's
/// text (`CaUsedAsEndEntity`), so the chain's text is searched for it.
fn explain_tls(error: tonic::transport::Error) -> anyhow::Error {
    let error = anyhow::Error::new(error);
    let ca_as_server = error
        .chain()
        .any(|cause| cause.to_string().contains("CaUsedAsEndEntity"));
    if !ca_as_server {
        return error;
    }
    error.context(
        "the server's TLS certificate is a CA certificate, which clients refuse as a \
         server's own (CaUsedAsEndEntity): the server needs a certificate signed by a CA; \
         `teacher-registry tls-init DIR` makes both (serve with DIR/server.pem and \
         DIR/server.key, and set TEACHER_REGISTRY_CA_FILE=DIR/ca.pem)",
    )
}

/// Whether the server behind a plain-text `channel` in fact speaks TLS. A plain-text
/// request to a TLS port fails with whatever the TLS alert looks like as HTTP/2 ("h2
/// protocol error", "operation was canceled"), which tells a person nothing; so a plain
/// connection first asks for the gRPC health (open to all), and only if that fails, tries
/// a TLS handshake at the same address: a handshake that gets as far as the server's
/// certificate means TLS. Any other outcome leaves the command to report its own error.
async fn speaks_tls(channel: &Channel, url: &str) -> bool {
    use tonic_health::pb::health_client::HealthClient;
    let mut health = HealthClient::new(channel.clone());
    let check = health.check(tonic_health::pb::HealthCheckRequest::default());
    if let Ok(Ok(_)) = tokio::time::timeout(PROBE_TIMEOUT, check).await {
        return false;
    }
    let Ok(endpoint) = Endpoint::from_shared(url.replacen("http://", "https://", 1)) else {
        return false;
    };
    let Ok(endpoint) = endpoint.tls_config(ClientTlsConfig::new().with_enabled_roots()) else {
        return false;
    };
    match tokio::time::timeout(PROBE_TIMEOUT, endpoint.connect()).await {
        Ok(Ok(_)) => true,
        Ok(Err(error)) => {
            let error = anyhow::Error::new(error);
            format!("{error:#}").to_lowercase().contains("certificate")
        }
        Err(_) => false,
    }
}

/// How long each step of [`speaks_tls`] may take.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The server's URL: as given when it has a scheme, else `http://` in front, so
/// `127.0.0.1:50051` works as people write it.
fn server_url(server: &str) -> String {
    let server = server.trim();
    if server.contains("://") {
        server.to_string()
    } else {
        format!("http://{server}")
    }
}

/// The enum's name without its type prefix, e.g. `FIRST_LEVEL`.
fn short_name(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix).unwrap_or(full).to_string()
}

/// A gRPC status as one line for the person at the command line: its canonical code
/// name, then what to do about it where the server's own words are meant for a program
/// (a missing token, a TLS port spoken to in plain text), else the server's message.
fn describe(status: &tonic::Status) -> String {
    let code = crate::api::code_name(status.code());
    let message = status.message();
    if status.code() == tonic::Code::Unauthenticated {
        let token_set = std::env::var(TOKEN_VARIABLE).is_ok_and(|t| !t.trim().is_empty());
        return if token_set {
            format!(
                "{code}: the registry did not accept the token in {TOKEN_VARIABLE} ({message}): \
                 ask its administrator for a new one"
            )
        } else {
            format!(
                "{code}: the registry needs a token: set {TOKEN_VARIABLE} to the one its \
                 administrator made for you with `teacher-registry token`"
            )
        };
    }
    if message.contains("h2 protocol error") {
        return format!(
            "{code}: the server does not speak plain gRPC ({message}): if it serves TLS, \
             give its address as https://host:port (and its CA in {CA_VARIABLE})"
        );
    }
    format!("{code}: {message}")
}

/// An error status from the registry, under what it stopped.
fn refusal(status: tonic::Status, what: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(CommandError::Status(status)).context(what.into())
}

/// `1 row`, `2 rows`: a count with the noun that agrees with it.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
