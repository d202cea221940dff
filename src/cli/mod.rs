//! The client commands of the `teacher-registry` binary, for HR staff and county bureaus:
//! each talks to a
//! running server over gRPC and prints a readable report to any writer, so tests can read
//! exactly what a person would see.

mod stats;
mod sync;
mod transition;

pub use stats::print_statistics;
pub use sync::{run_sync, teacher_json, SyncArgs};
pub use transition::{run_transition, TransitionArgs};

use anyhow::Context;
use tonic::transport::Channel;

use crate::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;

/// Connects to the registry at `server` (for example `http://127.0.0.1:50051`).
pub async fn connect(server: &str) -> anyhow::Result<TeacherRegistryServiceClient<Channel>> {
    TeacherRegistryServiceClient::connect(server.to_string())
        .await
        .with_context(|| format!("cannot connect to the registry at {server}"))
}

/// The enum's name without its type prefix, e.g. `FIRST_LEVEL`.
fn short_name(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix).unwrap_or(full).to_string()
}

/// A gRPC status as one line for a person.
fn describe(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}
