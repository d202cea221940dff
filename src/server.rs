//! Wiring: the registry service with gRPC health, server reflection (v1 and v1alpha, so
//! grpcurl, buf curl and Postman work without the proto files), message limits, request
//! timeouts and graceful shutdown.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

use crate::api::pb::teacher_registry_service_server::TeacherRegistryServiceServer;
use crate::api::{pb, RegistryService};
use crate::store::{Retention, Store};

/// Server limits.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The largest message the server decodes or encodes.
    pub max_message_bytes: usize,
    /// How long one request may take before it is answered DEADLINE_EXCEEDED.
    pub request_timeout: Duration,
    /// How long an idle WatchChanges stream waits before a progress message.
    pub watch_progress_interval: Duration,
    /// How much of the change log to keep; trimmed in the background.
    pub retention: Retention,
    /// How often the background trim runs when a retention limit is set.
    pub trim_interval: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            watch_progress_interval: crate::api::DEFAULT_PROGRESS_INTERVAL,
            retention: Retention::default(),
            trim_interval: Duration::from_secs(60),
        }
    }
}

/// Serves the registry on `listener` until `shutdown` completes, then finishes the requests
/// in flight, stops the writer and waits for its final flush.
pub async fn run(
    listener: TcpListener,
    store: Store,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<TeacherRegistryServiceServer<RegistryService>>()
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
    let service = RegistryService::new(store.clone(), streams_stopped)
        .with_progress_interval(options.watch_progress_interval);
    let registry = TeacherRegistryServiceServer::new(service)
        .max_decoding_message_size(options.max_message_bytes)
        .max_encoding_message_size(options.max_message_bytes);

    let shutdown_health = health.clone();
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        shutdown_health
            .set_not_serving::<TeacherRegistryServiceServer<RegistryService>>()
            .await;
        // Change-feed streams never end by themselves: tell them to, so they do not hold
        // the shutdown up.
        let _ = stop_streams.send(true);
    };

    let trimmer = (options.retention != Retention::default()).then(|| {
        tokio::spawn(trim_change_log(
            store.clone(),
            options.retention,
            options.trim_interval,
            trimmer_stopped,
        ))
    });

    tracing::info!(address = %listener.local_addr()?, "serving the teacher registry");
    Server::builder()
        .timeout(options.request_timeout)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(registry)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;

    if let Some(trimmer) = trimmer {
        trimmer.await?;
    }
    // The last handle stops the writer, which commits what is queued and flushes; that
    // blocks, so it runs off the async workers.
    tokio::task::spawn_blocking(move || drop(store)).await?;
    tracing::info!("registry closed");
    Ok(())
}

/// Trims the change log to the retention policy every `interval` until shutdown.
async fn trim_change_log(
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
        match store.trim_change_log(&retention).await {
            Ok(oldest) => tracing::debug!(oldest, "change log trimmed"),
            Err(e) => tracing::error!(error = %e, "trimming the change log failed"),
        }
    }
}
