//! Wiring: the registry service with gRPC health, server reflection (v1 and v1alpha, so
//! grpcurl, buf curl and Postman work without the proto files), message limits, request
//! timeouts and graceful shutdown.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::api::pb::case_service_server::CaseServiceServer;
use crate::api::pb::credential_service_server::CredentialServiceServer;
use crate::api::pb::duplicate_service_server::DuplicateServiceServer;
use crate::api::pb::evaluation_service_server::EvaluationServiceServer;
use crate::api::pb::identity_service_server::IdentityServiceServer;
use crate::api::pb::teacher_registry_service_server::TeacherRegistryServiceServer;
use crate::api::pb::verification_service_server::VerificationServiceServer;
use crate::api::{
    pb, CaseService, CredentialService, DuplicateService, EvaluationService, Gate, IdentityService,
    RateLimit, RegistryService, VerificationService,
};
use crate::auth::Authenticator;
use crate::connections::{self, ConnectionLimits};
use crate::console::ConsoleOptions;
use crate::credential::SigningKey;
use crate::metrics::{self, Metrics};
use crate::open_services::{every_call, health_watch, Bounded, DEFAULT_MAX_OPEN_STREAMS};
use crate::store::{Retention, Store};
pub use crate::tls_files::TlsFiles;

/// HTTP/2 flow-control windows, in bytes (see `run`).
const STREAM_WINDOW: u32 = 32 * 1024;
const CONNECTION_WINDOW: u32 = 4 * 1024 * 1024;

/// Server limits, security and feed settings.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Who may call; `None` turns authentication off, which is allowed on loopback only.
    pub authenticator: Option<Authenticator>,
    /// Requests one principal may have in progress; more are RESOURCE_EXHAUSTED.
    pub max_in_flight_per_principal: usize,
    /// Public RPCs (VerifyCertificate) per source address; more are RESOURCE_EXHAUSTED.
    pub public_rate_limit: RateLimit,
    /// Refusals (NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED) per principal other than
    /// admins; past it the principal is RESOURCE_EXHAUSTED until it refills.
    pub refusal_limit: RateLimit,
    /// Entries of the read audit per principal other than admins; past it the principal
    /// is RESOURCE_EXHAUSTED until it refills.
    pub audit_budget: RateLimit,
    /// Concurrent HTTP/2 streams one connection may open.
    pub max_concurrent_streams: u32,
    /// Connections open at once, and how long one may take to begin its handshake or sit
    /// idle (see `connections`).
    pub connections: ConnectionLimits,
    /// Requests and rows per second each principal may use, by role (see
    /// `api::principal_rate`).
    pub rates: std::collections::HashMap<crate::auth::Role, crate::api::RoleRate>,
    /// Streams open at once on health (Watch) and reflection, for all callers together.
    pub max_open_streams: usize,
    /// Serve TLS (and mTLS) instead of plaintext.
    pub tls: Option<TlsFiles>,
    /// The largest message the server decodes or encodes.
    pub max_message_bytes: usize,
    /// How long one request may take before it is answered DEADLINE_EXCEEDED.
    pub request_timeout: Duration,
    /// How long an idle WatchChanges stream waits before a progress message.
    pub watch_progress_interval: Duration,
    /// How much of the change log to keep; trimmed in the background.
    pub retention: Retention,
    /// How often the background trim runs: request ids past their retention, and the
    /// change log when a retention limit is set.
    pub trim_interval: Duration,
    /// Where to serve Prometheus metrics (`GET /metrics`); none when `None`.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The key credentials are signed with; without it IssueCredential, CheckCredential
    /// and GetCredentialKey are FAILED_PRECONDITION.
    pub credential_key: Option<Arc<SigningKey>>,
    /// Serve the web console too (`serve --console-listen`).
    pub console: Option<ConsoleOptions>,
    /// At shutdown, how long the server keeps serving with its health NOT_SERVING before
    /// it stops taking requests and drains: time for a load balancer's health checks to
    /// see it going and send new work elsewhere.
    pub drain_delay: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            authenticator: None,
            max_in_flight_per_principal: crate::api::DEFAULT_MAX_IN_FLIGHT,
            public_rate_limit: RateLimit::default(),
            refusal_limit: crate::api::DEFAULT_REFUSAL_LIMIT,
            audit_budget: crate::api::DEFAULT_AUDIT_BUDGET,
            max_concurrent_streams: 256,
            connections: ConnectionLimits::default(),
            max_open_streams: DEFAULT_MAX_OPEN_STREAMS,
            rates: crate::api::default_rates(),
            tls: None,
            max_message_bytes: 16 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            watch_progress_interval: crate::api::DEFAULT_PROGRESS_INTERVAL,
            retention: Retention::default(),
            trim_interval: Duration::from_secs(60),
            metrics_listen: None,
            credential_key: None,
            console: None,
            drain_delay: Duration::ZERO,
        }
    }
}

impl ServerOptions {
    /// Whether these options can serve `address`: authentication, or a loopback address;
    /// TLS files that can be read. `serve` asks before it opens (and so creates) the data
    /// directory, so a server that refuses to start leaves nothing behind.
    pub fn check(&self, address: std::net::SocketAddr) -> anyhow::Result<()> {
        if self.authenticator.is_none() && !address.ip().is_loopback() {
            anyhow::bail!(
                "refusing to serve {address} without authentication: give --auth-file, or listen on a loopback address such as 127.0.0.1"
            );
        }
        if let Some(tls) = &self.tls {
            tls_config(tls)?;
        }
        if let Some(console) = &self.console {
            if self.authenticator.is_none() && !console.listen.ip().is_loopback() {
                anyhow::bail!(
                    "refusing to serve the console on {} without authentication: give --auth-file, or a loopback --console-listen",
                    console.listen
                );
            }
        }
        Ok(())
    }
}

/// The names health answers for: the whole server, then each service.
const SERVICE_NAMES: [&str; 7] = [
    "",
    <TeacherRegistryServiceServer<RegistryService> as tonic::server::NamedService>::NAME,
    <CaseServiceServer<CaseService> as tonic::server::NamedService>::NAME,
    <CredentialServiceServer<CredentialService> as tonic::server::NamedService>::NAME,
    <VerificationServiceServer<VerificationService> as tonic::server::NamedService>::NAME,
    <IdentityServiceServer<IdentityService> as tonic::server::NamedService>::NAME,
    <DuplicateServiceServer<DuplicateService> as tonic::server::NamedService>::NAME,
];

/// Serves the registry on `listener` until `shutdown` completes, then finishes the requests
/// in flight, stops the writer and waits for its final flush.
pub async fn run(
    listener: TcpListener,
    store: Store,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    options.check(address)?;
    if options.authenticator.is_none() {
        tracing::warn!(%address, "authentication is off: every caller is an anonymous admin (loopback only)");
    }
    if options.authenticator.is_some() && options.tls.is_none() && !address.ip().is_loopback() {
        tracing::warn!(
            %address,
            "tokens travel in plain text: serving an auth file without TLS on an address \
             other than loopback; give --tls-cert and --tls-key (see `tls-init`)"
        );
    }
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<TeacherRegistryServiceServer<RegistryService>>()
        .await;
    health.set_serving::<CaseServiceServer<CaseService>>().await;
    health
        .set_serving::<EvaluationServiceServer<EvaluationService>>()
        .await;
    health
        .set_serving::<CredentialServiceServer<CredentialService>>()
        .await;
    health
        .set_serving::<IdentityServiceServer<IdentityService>>()
        .await;
    health
        .set_serving::<DuplicateServiceServer<DuplicateService>>()
        .await;
    health
        .set_serving::<VerificationServiceServer<VerificationService>>()
        .await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let (stop_streams, streams_stopped) = watch::channel(false);
    let trimmer_stopped = streams_stopped.clone();
    let streams_stopped_console = streams_stopped.clone();
    let gate = Gate::new(
        options.authenticator.clone(),
        options.max_in_flight_per_principal,
    )
    .with_public_limit(options.public_rate_limit)
    .with_refusal_limit(options.refusal_limit)
    .with_audit_budget(options.audit_budget)
    .with_rates(options.rates.clone());
    let metrics = Arc::new(Metrics::default());
    if let Some(address) = options.metrics_listen {
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot serve metrics on {address}"))?;
        tracing::info!(address = %listener.local_addr()?, "serving metrics on /metrics");
        tokio::spawn(metrics::serve(
            listener,
            metrics.clone(),
            store.clone(),
            streams_stopped.clone(),
        ));
    }
    match &options.credential_key {
        // The public key is published; the private one is never logged.
        Some(key) => tracing::info!(
            key_id = key.public().id(),
            public_key = %key.public(),
            "signing credentials"
        ),
        None => tracing::info!("no credential key: credentials cannot be issued or checked"),
    }
    let service = RegistryService::new(store.clone(), gate, streams_stopped)
        .with_progress_interval(options.watch_progress_interval)
        .with_metrics(metrics)
        .with_credential_key(options.credential_key.clone());
    let console = match &options.console {
        None => None,
        Some(console) => {
            let listener = TcpListener::bind(console.listen)
                .await
                .with_context(|| format!("cannot serve the console on {}", console.listen))?;
            tracing::info!(address = %listener.local_addr()?, "serving the web console");
            let mut stopped = streams_stopped_console.clone();
            Some(tokio::spawn(crate::console::serve(
                listener,
                service.clone(),
                console.clone(),
                options.tls.as_ref(),
                async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                },
            )?))
        }
    };
    let verification = VerificationServiceServer::new(VerificationService::new(service.clone()))
        .max_decoding_message_size(options.max_message_bytes)
        .max_encoding_message_size(options.max_message_bytes);
    let cases = CaseServiceServer::new(CaseService::new(service.clone()))
        .max_decoding_message_size(options.max_message_bytes)
        .max_encoding_message_size(options.max_message_bytes);
    let evaluation = EvaluationServiceServer::new(EvaluationService::new(service.clone()))
        .max_decoding_message_size(options.max_message_bytes)
        .max_encoding_message_size(options.max_message_bytes);
    let identity = IdentityServiceServer::new(IdentityService::new(service.clone()))
        .max_decoding_message_size(options.max_message_bytes)
        .max_encoding_message_size(options.max_message_bytes);
    let duplicates = DuplicateServiceServer::new(DuplicateService::new(service.clone()))
        .max_decoding_message_size(options.max_message_bytes)
        .max_encoding_message_size(options.max_message_bytes);
    let credentials = CredentialServiceServer::new(CredentialService::new(service.clone()))
        .max_decoding_message_size(options.max_message_bytes)
        .max_encoding_message_size(options.max_message_bytes);
    let auditing = service.clone();
    let registry = TeacherRegistryServiceServer::new(service)
        .max_decoding_message_size(options.max_message_bytes)
        .max_encoding_message_size(options.max_message_bytes);

    let shutdown_health = health.clone();
    let drain_delay = options.drain_delay;
    let shutdown = async move {
        shutdown.await;
        tracing::info!(
            drain_delay_ms = drain_delay.as_millis() as u64,
            "shutting down: health NOT_SERVING, then finishing requests in flight"
        );
        // The whole server ("") and each service, so a check of either sees it going.
        for service in SERVICE_NAMES {
            shutdown_health
                .set_service_status(service, tonic_health::ServingStatus::NotServing)
                .await;
        }
        // Still taking requests, so nothing sent before a balancer notices is refused.
        tokio::time::sleep(drain_delay).await;
        // Change-feed streams never end by themselves: tell them to, so they do not hold
        // the shutdown up.
        let _ = stop_streams.send(true);
    };

    let trimmer = tokio::spawn(trim(
        store.clone(),
        options.retention,
        options.trim_interval,
        trimmer_stopped,
    ));

    let mut builder = Server::builder()
        .timeout(options.request_timeout)
        .max_concurrent_streams(options.max_concurrent_streams)
        // h2 closes a connection on which too many small DATA frames (under 256 bytes) wait
        // unread (GOAWAY ENHANCE_YOUR_CALM "too_many_data_frames"); its budget for them is
        // about half the connection window. A client that sends each import row in its own
        // frame (grpcio does) while the import applies backpressure queues as many frames
        // as the stream window lets it. A small stream window and a large connection window
        // keep one stalled stream far inside the budget. See tests/import_flood.rs.
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW);
    if let Some(tls) = &options.tls {
        builder = builder.tls_config(tls_config(tls)?)?;
    }
    tracing::info!(%address, tls = options.tls.is_some(), "serving the teacher registry");
    let open = Arc::new(tokio::sync::Semaphore::new(options.max_open_streams.max(1)));
    builder
        .add_service(Bounded::new(health_service, open.clone(), health_watch))
        .add_service(Bounded::new(reflection_v1, open.clone(), every_call))
        .add_service(Bounded::new(reflection_v1alpha, open, every_call))
        .add_service(registry)
        .add_service(cases)
        .add_service(evaluation)
        .add_service(identity)
        .add_service(duplicates)
        .add_service(credentials)
        .add_service(verification)
        // Nagle's algorithm would hold small responses back waiting for the client's
        // delayed ACK (tens of milliseconds at the tail); gRPC messages want out at once.
        .serve_with_incoming_shutdown(
            connections::guarded(listener, options.connections),
            shutdown,
        )
        .await?;

    trimmer.await?;
    if let Some(console) = console {
        console.await??;
    }
    // The last handle stops the writer, which commits what is queued and flushes; that
    // blocks, so it runs off the async workers.
    // Audit entries noted by the last answers are still on their way to the store.
    auditing.audit_notes_stored().await;
    drop(auditing);
    tokio::task::spawn_blocking(move || drop(store)).await?;
    tracing::info!("registry closed");
    Ok(())
}

/// Reads the auth file again on every SIGHUP, for as long as the returned future runs:
/// tokens added, revoked or rotated with `teacher-registry token` take effect without a
/// restart. A file that does not load is logged as an error (without its contents) and
/// the tokens already in force stay.
///
/// The handler is installed here, before the future is first polled, so a SIGHUP sent as
/// soon as the server answers is never met by the default action (ending the process).
#[cfg(unix)]
pub fn reload_on_hangup(
    authenticator: Authenticator,
) -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    Ok(async move {
        while hangups.recv().await.is_some() {
            let file = authenticator.path().display();
            match authenticator.reload() {
                Ok(principals) => tracing::info!(%file, principals, "auth file reloaded"),
                Err(error) => tracing::error!(
                    %file,
                    error = format!("{error:#}"),
                    kept = authenticator.len(),
                    "auth file not reloaded; the principals already loaded stay in force"
                ),
            }
        }
    })
}

/// Every `interval` until shutdown: forgets expired request ids and audit entries, and trims the change log
/// to the retention policy, if there is one.
async fn trim(
    store: Store,
    retention: Retention,
    interval: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        match store.trim_request_ids().await {
            Ok(forgotten) => tracing::debug!(forgotten, "expired request ids forgotten"),
            Err(e) => tracing::error!(error = %e, "forgetting expired request ids failed"),
        }
        match store.trim_audit().await {
            Ok(forgotten) => tracing::debug!(forgotten, "expired audit entries forgotten"),
            Err(e) => tracing::error!(error = %e, "forgetting expired audit entries failed"),
        }
        if retention == Retention::default() {
            continue;
        }
        match store.trim_change_log(&retention).await {
            Ok(oldest) => tracing::debug!(oldest, "change log trimmed"),
            Err(e) => tracing::error!(error = %e, "trimming the change log failed"),
        }
    }
}

fn tls_config(files: &TlsFiles) -> anyhow::Result<ServerTlsConfig> {
    let read = |path: &PathBuf| {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let cert = read(&files.cert)?;
    warn_if_ca(&files.cert, &cert);
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, read(&files.key)?));
    if let Some(ca) = &files.client_ca {
        config = config.client_ca_root(Certificate::from_pem(read(ca)?));
    }
    Ok(config)
}

/// Warns when the server's certificate (the first in `pem`) is a CA certificate, as the
/// usual one-line `openssl req -x509` makes it. rustls clients, this binary's own commands
/// among them, refuse it (`CaUsedAsEndEntity`); some OpenSSL-based clients accept it when
/// they trust it directly, so the server warns instead of refusing to start.
fn warn_if_ca(path: &std::path::Path, pem: &[u8]) {
    let Ok((_, block)) = x509_parser::pem::parse_x509_pem(pem) else {
        return; // not PEM: Identity::from_pem reports it when the server starts
    };
    if block.parse_x509().is_ok_and(|cert| cert.is_ca()) {
        tracing::warn!(
            certificate = %path.display(),
            "the TLS certificate is a CA certificate (basic constraints CA:TRUE): clients that \
             check it as a server certificate refuse it (CaUsedAsEndEntity); make a CA and a \
             server certificate signed by it with `teacher-registry tls-init DIR`"
        );
    }
}
