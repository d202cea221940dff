//! The `teacher-registry` command: wiring only.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use teacher_registry::server::{self, ServerOptions};
use teacher_registry::store::{Store, StoreOptions};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "teacher-registry",
    version,
    about = "The authoritative registry of school teachers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the registry over gRPC from an embedded data directory.
    Serve {
        /// Address to listen on.
        #[arg(
            long,
            default_value = "127.0.0.1:50051",
            env = "TEACHER_REGISTRY_LISTEN"
        )]
        listen: SocketAddr,
        /// Directory of the embedded database (created if missing).
        #[arg(
            long,
            default_value = "./registry-data",
            env = "TEACHER_REGISTRY_DATA_DIR"
        )]
        data_dir: PathBuf,
        /// sled page cache size, in MiB.
        #[arg(long, default_value_t = 256)]
        cache_mb: u64,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Serve {
            listen,
            data_dir,
            cache_mb,
        } => runtime.block_on(serve(listen, data_dir, cache_mb)),
    }
}

async fn serve(listen: SocketAddr, data_dir: PathBuf, cache_mb: u64) -> anyhow::Result<()> {
    let options = StoreOptions {
        cache_capacity: cache_mb * 1024 * 1024,
    };
    let store = Store::open(&data_dir, &options)
        .with_context(|| format!("cannot open the registry in {}", data_dir.display()))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    server::run(listener, store, ServerOptions::default(), shutdown_signal()).await
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
