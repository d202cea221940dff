//! The client commands of the `teacher-registry` binary, for HR staff and county bureaus:
//! each talks to a
//! running server over gRPC and prints a readable report to any writer, so tests can read
//! exactly what a person would see.

mod backup;
mod export;
mod failure;
mod generate;
mod import;
mod rows;
mod search;
mod show;
mod stats;
mod sync;
mod template;
mod tls_init;
mod transition;

pub use backup::{describe_backup, run_backup, run_restore, BackupFormat, Manifest, Restored};
pub use export::{run_export, ExportFormat};
pub use failure::{CommandError, Failure};
pub use generate::generate;
pub use import::{run_import, ImportArgs, ImportSummary};
pub use rows::{column_names, open_rows, HeaderProblem, RowProblem, Rows, RowsError, SourceRow};
pub use search::{run_search, SearchArgs};
pub use show::{run_show, write_page, ShowKey};
pub use stats::print_statistics;
pub use sync::{run_sync, SyncArgs};
pub use template::write_template;
pub use tls_init::{tls_init, TlsInitFiles, DEFAULT_TLS_HOSTS};
pub use transition::{run_transition, TransitionArgs};

use anyhow::Context;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;

/// The environment variable the commands take their bearer token from (never a flag, so
/// it stays out of shell history and process lists).
pub const TOKEN_VARIABLE: &str = "TEACHER_REGISTRY_TOKEN";

/// The environment variable naming a CA certificate (PEM) to trust for `https://` servers.
pub const CA_VARIABLE: &str = "TEACHER_REGISTRY_CA_FILE";

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
/// trusting the CA in `TEACHER_REGISTRY_CA_FILE`), with the token from
/// `TEACHER_REGISTRY_TOKEN` if set.
pub async fn connect(server: &str) -> anyhow::Result<Client> {
    let mut endpoint = Endpoint::from_shared(server.to_string()).map_err(|_| {
        CommandError::Usage(format!(
            "{server} is not a server address: expected http://host:port or https://host:port"
        ))
    })?;
    if server.starts_with("https://") {
        let mut tls = ClientTlsConfig::new().with_enabled_roots();
        if let Ok(ca) = std::env::var(CA_VARIABLE) {
            let pem = std::fs::read(&ca).with_context(|| format!("cannot read {ca}"))?;
            tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
        }
        endpoint = endpoint.tls_config(tls)?;
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(explain_tls)
        .with_context(|| format!("cannot connect to the registry at {server}"))?;
    let token = match std::env::var(TOKEN_VARIABLE) {
        Ok(token) if !token.trim().is_empty() => Some(
            format!("Bearer {}", token.trim())
                .parse()
                .with_context(|| format!("{TOKEN_VARIABLE} is not a valid token"))?,
        ),
        _ => None,
    };
    Ok(TeacherRegistryServiceClient::with_interceptor(
        channel,
        BearerToken(token),
    ))
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

/// The enum's name without its type prefix, e.g. `FIRST_LEVEL`.
fn short_name(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix).unwrap_or(full).to_string()
}

/// A gRPC status as one line for a person.
fn describe(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

/// An error status from the registry, under what it stopped.
fn refusal(status: tonic::Status, what: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(CommandError::Status(status)).context(what.into())
}

/// `1 row`, `2 rows`: a count with the noun that agrees with it.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
