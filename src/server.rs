//! Wiring: the registry service with gRPC health, server reflection (v1 and v1alpha, so
//! grpcurl, buf curl and Postman work without the proto files), message limits, request
//! timeouts and graceful shutdown.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

use crate::api::pb::teacher_registry_service_server::TeacherRegistryServiceServer;
use crate::api::{pb, RegistryService};
use crate::store::Store;

/// Server limits.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The largest message the server decodes or encodes.
    pub max_message_bytes: usize,
    /// How long one request may take before it is answered DEADLINE_EXCEEDED.
    pub request_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
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
    let registry = TeacherRegistryServiceServer::new(RegistryService::new(store.clone()))
        .max_decoding_message_size(options.max_message_bytes)
        .max_encoding_message_size(options.max_message_bytes);

    let shutdown_health = health.clone();
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        shutdown_health
            .set_not_serving::<TeacherRegistryServiceServer<RegistryService>>()
            .await;
    };

    tracing::info!(address = %listener.local_addr()?, "serving the teacher registry");
    Server::builder()
        .timeout(options.request_timeout)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(registry)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;

    // The last handle stops the writer, which commits what is queued and flushes; that
    // blocks, so it runs off the async workers.
    tokio::task::spawn_blocking(move || drop(store)).await?;
    tracing::info!("registry closed");
    Ok(())
}
