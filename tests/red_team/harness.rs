//! A server with an auth file and every role, clients that send a role's token, and the
//! server's log kept where a test can read it.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use teacher_registry::api::pb;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::auth::{add_principal, Authenticator, Role};
use teacher_registry::server::ServerOptions;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

/// Creates `teacher` as the client's principal.
pub(crate) use crate::common::create as create_as;
pub(crate) use crate::common::Token;
use crate::common::{serve, start_server_with, TestServer};
use teacher_registry::store::Store;

pub(crate) const A: &str = "350702";
pub(crate) const B: &str = "350721";

pub(crate) type As = TeacherRegistryServiceClient<InterceptedService<Channel, Token>>;

/// The tokens of each role: an admin, a county clerk of A and of B, a reader.
pub(crate) struct Tokens {
    pub admin: String,
    pub county_a: String,
    pub county_b: String,
    pub reader: String,
}

/// A server with principals of every role the attacks need, and `options`.
pub(crate) async fn secured(dir: &Path, options: ServerOptions) -> (TestServer, Tokens) {
    let (authenticator, tokens) = principals(dir);
    let server = start_server_with(ServerOptions {
        authenticator: Some(authenticator),
        ..options
    })
    .await;
    (server, tokens)
}

/// As [`secured`], on a store the test opened itself (in `data_dir`), so it can look at it.
pub(crate) async fn secured_on(
    dir: &Path,
    store: Store,
    data_dir: &Path,
    options: ServerOptions,
) -> (TestServer, Tokens) {
    let (authenticator, tokens) = principals(dir);
    let options = ServerOptions {
        authenticator: Some(authenticator),
        ..options
    };
    (serve(store, data_dir, options).await, tokens)
}

/// An auth file in `dir` with a principal of every role.
pub(crate) fn principals(dir: &Path) -> (Authenticator, Tokens) {
    let path = dir.join("auth.toml");
    let tokens = Tokens {
        admin: add_principal(&path, "root", Role::Admin, None).unwrap(),
        county_a: add_principal(&path, "yanping", Role::County, Some(A)).unwrap(),
        county_b: add_principal(&path, "shunchang", Role::County, Some(B)).unwrap(),
        reader: add_principal(&path, "auditor", Role::Reader, None).unwrap(),
    };
    (Authenticator::load(&path).unwrap(), tokens)
}

/// A client on its own connection that sends `token`.
pub(crate) async fn as_token(server: &TestServer, token: &str) -> As {
    let channel = Endpoint::from_shared(format!("http://{}", server.address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    TeacherRegistryServiceClient::with_interceptor(channel, Token::bearer(token))
}

/// The log of every server this test binary runs, from the first call on (INFO and up).
pub(crate) fn server_log() -> String {
    let buffer = log_buffer();
    let bytes = buffer.lock().unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn log_buffer() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .init();
        buffer
    })
    .clone()
}

/// Starts keeping the log (call before the server starts).
pub(crate) fn keep_log() {
    let _ = log_buffer();
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The duplicates revealed to county A's principal ("yanping"), as the admin reads them
/// (see [`audited`]).
pub(crate) async fn revealed_to_county_a(
    server: &TestServer,
    tokens: &Tokens,
    at_least: usize,
) -> Vec<pb::AuditEntry> {
    audited(
        server,
        &tokens.admin,
        pb::AuditKind::DuplicateRevealed,
        "yanping",
        at_least,
    )
    .await
}

/// The read audit's entries of `kind` by `principal`, as an admin lists them, once there
/// are at least `at_least` (entries of answers already sent are stored a moment later);
/// whatever there is after two seconds.
pub(crate) async fn audited(
    server: &TestServer,
    admin_token: &str,
    kind: pb::AuditKind,
    principal: &str,
    at_least: usize,
) -> Vec<pb::AuditEntry> {
    let mut admin = as_token(server, admin_token).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let entries = admin
            .list_audit_entries(pb::ListAuditEntriesRequest {
                principal: principal.into(),
                kind: kind as i32,
                page_size: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .entries;
        if entries.len() >= at_least || std::time::Instant::now() > deadline {
            return entries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
