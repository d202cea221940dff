//! # teacher-registry
//!
//! The authoritative register of a region's school teachers: one record and one registry
//! number per person, their qualification certificates and their title history, served
//! over gRPC and kept in an embedded sled database.
//!
//! # Layout
//! - [`domain`]: pure types and rules (validation, identity and registry numbers, titles,
//!   certificates); no I/O.
//! - [`store`]: keys, value codec, the single atomic write path with group commit, reads,
//!   pagination and name search, the operations that span many teachers (the title
//!   transition's run), over a small key-value engine interface; sled, behind it, is touched
//!   only in `store::sled_engine`.
//! - [`api`]: thin tonic handlers, proto conversions and the one mapping of errors to
//!   `tonic::Status`; the generated code is fenced in `api::pb`.
//! - [`auth`]: principals, bearer tokens, roles and the RPC authorization table.
//! - [`cli`]: the client commands for HR staff (transition, stats, search, show, import...),
//!   printing tables and record pages.
//! - [`console`]: the web console for the window and HR staff, and the public
//!   verification page, calling the api layer's services in process.
//! - [`credential`]: signed credentials for certificates (Ed25519, a text form and its QR
//!   code) that employers check offline with the registry's public key, or online.
//! - [`connections`]: the accept loop's bounds: a connection cap, handshake and idle
//!   timeouts, a pause after a failed accept.
//! - [`clock`]: the current time and today's date in China Standard Time.
//! - [`metrics`]: request and write counters, and the Prometheus `/metrics` endpoint.
//! - [`open_services`]: health and reflection, open to callers without a token, with
//!   their streams bounded.
//! - [`private_files`]: files and directories readable by their owner only, for anything
//!   that holds identity numbers.
//! - [`server`]: wiring: health, reflection, limits, tracing, graceful shutdown.
//! - [`tls_files`]: where the TLS certificate, key and client CA are, for both listeners.

pub mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod connections;
pub mod console;
pub mod credential;
pub mod domain;
pub mod metrics;
pub mod open_services;
pub mod private_files;
pub mod server;
pub mod store;
pub mod tls_files;
