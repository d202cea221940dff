//! Where the TLS certificate and key are, for the gRPC listener and the console's alike; a
//! module of its own so that the console, which the server starts, names no part of the
//! server.

use std::path::PathBuf;

/// Certificate and key files for TLS, and optionally the CA that client certificates must
/// chain to (mutual TLS).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}
