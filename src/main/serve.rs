//! The `serve` command: its options, and the server's and the store's options built from
//! them before the server starts.
//!
//! Apart from `main.rs` because they are most of the binary's options and its only work
//! beyond handing a command to the library: `main.rs` stays the list of commands.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use teacher_registry::api::{default_rates, RateLimit, RoleRate, DEFAULT_REFUSAL_LIMIT};
use teacher_registry::auth::{Authenticator, Role};
use teacher_registry::cli::CountyNames;
use teacher_registry::connections::ConnectionLimits;
use teacher_registry::console::ConsoleOptions;
use teacher_registry::credential::SigningKey;
use teacher_registry::domain::case::WindowRules;
use teacher_registry::server::{self, ServerOptions, TlsFiles};
use teacher_registry::store::{Location, Retention, Store, StoreOptions};

/// `teacher-registry serve`.
#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        default_value = "127.0.0.1:50051",
        env = "TEACHER_REGISTRY_LISTEN"
    )]
    listen: SocketAddr,
    #[command(flatten)]
    registry: RegistryPlace,
    /// Serve reads and change feeds from this synchronous standby of the --postgres
    /// database; writes still go to the primary, and are acknowledged once the standby
    /// has applied them, so every read sees every acknowledged write.
    #[arg(
        long,
        value_name = "URL",
        env = "TEACHER_REGISTRY_POSTGRES_READS",
        requires = "postgres"
    )]
    postgres_reads: Option<String>,
    /// sled page cache size, in MiB (the default keeps a 1M-teacher server under 600 MB).
    #[arg(long, default_value_t = teacher_registry::store::DEFAULT_CACHE_MB)]
    cache_mb: u64,
    /// Disk space, in MiB, set aside in the data directory: freed when the disk fills,
    /// so reads go on while writes are refused, and taken back before writes resume.
    #[arg(long, default_value_t = 64)]
    disk_reserve_mb: u64,
    /// Serve Prometheus metrics on this address (`GET /metrics`).
    #[arg(long, env = "TEACHER_REGISTRY_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Keep at most this many of the latest changes in the change log.
    #[arg(long)]
    retain_changes: Option<u64>,
    /// Keep changes for this many days.
    #[arg(long)]
    retain_days: Option<u64>,
    /// How long, in days, a request id replays its first answer; after that a request
    /// with the same id is treated as new.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..))]
    retain_request_ids_days: u64,
    /// How many request ids one principal may keep within that window; a write with a
    /// new one beyond it is RESOURCE_EXHAUSTED until the oldest expire.
    #[arg(long, default_value_t = teacher_registry::store::DEFAULT_REQUEST_IDS_PER_PRINCIPAL, value_parser = clap::value_parser!(u64).range(1..))]
    request_ids_per_principal: u64,
    /// How long, in days, read-audit entries are kept (lookups by identity number,
    /// exports, backups, ...; see `teacher-registry audit`).
    #[arg(long, default_value_t = 180, value_parser = clap::value_parser!(u64).range(1..))]
    retain_audit_days: u64,
    /// At shutdown, seconds to keep serving with health NOT_SERVING before draining, so
    /// a load balancer stops sending work first (0: drain at once).
    #[arg(long, default_value_t = 0)]
    drain_secs: u64,
    /// How often, in seconds, the change log and request ids are trimmed.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    trim_interval_secs: u64,
    /// The service window's rules (TOML): public holidays and make-up working days per
    /// year, and each kind of case's committed and legal time limits in working days.
    /// Without it: weekends only, and the defaults in the README.
    #[arg(long, value_name = "FILE")]
    window_rules: Option<PathBuf>,
    /// Principals and token hashes (TOML). Without it, authentication is off and only
    /// loopback addresses may be served.
    #[arg(long, env = "TEACHER_REGISTRY_AUTH_FILE")]
    auth_file: Option<PathBuf>,
    /// Serve TLS with this certificate chain (PEM).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require client certificates signed by this CA (mutual TLS).
    #[arg(long, requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// Requests one principal may have in progress at once.
    #[arg(long, default_value_t = teacher_registry::api::DEFAULT_MAX_IN_FLIGHT)]
    max_in_flight: usize,
    /// Sign credentials with this Ed25519 key (PKCS#8 PEM, from `credential-key`).
    /// Without it credentials can be neither issued nor checked.
    #[arg(long, value_name = "FILE", env = "TEACHER_REGISTRY_CREDENTIAL_KEY")]
    credential_key: Option<PathBuf>,
    /// VerifyCertificate (public, no token needed) requests allowed per minute from
    /// one source address (an IPv6 /64); past it, RESOURCE_EXHAUSTED with RetryInfo.
    #[arg(long, value_name = "N", default_value_t = RateLimit::default().per_minute,
          value_parser = clap::value_parser!(u32).range(1..))]
    verify_per_minute: u32,
    /// VerifyCertificate requests one address may make at once after a pause.
    #[arg(long, value_name = "N", default_value_t = RateLimit::default().burst,
          value_parser = clap::value_parser!(u32).range(1..))]
    verify_burst: u32,
    /// Refusals (NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED) a principal other than
    /// an admin may meet per minute; past it, RESOURCE_EXHAUSTED with RetryInfo, so
    /// nobody can sweep numbers to learn which exist.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_REFUSAL_LIMIT.per_minute,
          value_parser = clap::value_parser!(u32).range(1..))]
    refusals_per_minute: u32,
    /// Connections open at once (lowered to fit `ulimit -n`); one more is closed as
    /// soon as it is accepted.
    #[arg(long, value_name = "N", default_value_t = ConnectionLimits::default().max_connections as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// Seconds a new connection has to begin its handshake (HTTP/2 preface or TLS).
    #[arg(long, value_name = "SECONDS",
          default_value_t = ConnectionLimits::default().handshake_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    handshake_timeout_secs: u64,
    /// Seconds a connection may go without a byte read or written before it is closed.
    #[arg(long, value_name = "SECONDS",
          default_value_t = ConnectionLimits::default().idle_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_secs: u64,
    /// A role's rate, repeatable: requests and rows (teachers or changes in pages) per
    /// second each of its principals may use, `ROLE=REQUESTS/ROWS`, 0 for no limit
    /// (default 100/10000 for every role but admin, which has none).
    #[arg(long = "rate", value_name = "ROLE=REQUESTS/ROWS", value_parser = parse_role_rate)]
    rates: Vec<(Role, RoleRate)>,
    /// Refusals a principal may meet at once after a pause.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_REFUSAL_LIMIT.burst,
          value_parser = clap::value_parser!(u32).range(1..))]
    refusal_burst: u32,
    /// Serve the web console (pages for the window and HR, and the public verification
    /// page) on this address. Off unless given.
    #[arg(long, env = "TEACHER_REGISTRY_CONSOLE_LISTEN")]
    console_listen: Option<SocketAddr>,
    /// Console sessions end after this many minutes without a request.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    console_idle_minutes: u64,
    /// Console sessions end this many hours after sign-in.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..))]
    console_session_hours: u64,
    /// The issuing office named on notices the console prints.
    #[arg(long, default_value = "教育局")]
    console_bureau: String,
    /// County names (CSV of code,name) the console shows beside county codes, beyond
    /// those the release knows: the same option (and variable) as `stats`'s.
    // `--console-county-names`, its earlier name, is still accepted (a hidden alias).
    #[arg(
        long = "county-names",
        alias = "console-county-names",
        value_name = "FILE",
        env = "TEACHER_REGISTRY_COUNTY_NAMES"
    )]
    console_county_names: Option<PathBuf>,
}

/// Where a registry is kept, for the commands that open it in process: `serve` and
/// `find-duplicates`.
#[derive(clap::Args)]
pub(crate) struct RegistryPlace {
    /// The registry's data directory, an embedded database (`serve` creates it if missing).
    #[arg(
        long,
        default_value = "./registry-data",
        env = "TEACHER_REGISTRY_DATA_DIR"
    )]
    data_dir: PathBuf,
    /// The registry's PostgreSQL database instead (a postgres:// URL, or a key=value
    /// connection string): any number of servers may share one, and may go on running
    /// while `find-duplicates` writes through the writers' lock as they do.
    #[arg(long, value_name = "URL", env = "TEACHER_REGISTRY_POSTGRES")]
    postgres: Option<String>,
}

impl RegistryPlace {
    pub(crate) fn location(self) -> Location {
        match self.postgres {
            Some(url) => Location::Postgres(url),
            None => Location::Directory(self.data_dir),
        }
    }
}

/// Builds the server's and the store's options from `args`, then serves until SIGINT or
/// SIGTERM.
pub(crate) fn run(args: ServeArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let ServeArgs {
        listen,
        registry,
        postgres_reads,
        cache_mb,
        disk_reserve_mb,
        metrics_listen,
        retain_changes,
        retain_days,
        retain_request_ids_days,
        request_ids_per_principal,
        retain_audit_days,
        trim_interval_secs,
        drain_secs,
        window_rules,
        auth_file,
        tls_cert,
        tls_key,
        tls_client_ca,
        max_in_flight,
        credential_key,
        verify_per_minute,
        verify_burst,
        refusals_per_minute,
        refusal_burst,
        max_connections,
        handshake_timeout_secs,
        idle_timeout_secs,
        rates,
        console_listen,
        console_idle_minutes,
        console_session_hours,
        console_bureau,
        console_county_names,
    } = args;
    let console = match console_listen {
        None => None,
        Some(listen) => Some(ConsoleOptions {
            session_idle: Duration::from_secs(console_idle_minutes * 60),
            session_max_age: Duration::from_secs(console_session_hours * 3600),
            county_names: match console_county_names {
                Some(path) => CountyNames::with_file(&path)?,
                None => CountyNames::known(),
            },
            bureau: console_bureau,
            ..ConsoleOptions::new(listen)
        }),
    };
    let authenticator = auth_file.as_deref().map(Authenticator::load).transpose()?;
    let credential_key = credential_key
        .as_deref()
        .map(SigningKey::load)
        .transpose()?;
    let tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert,
            key,
            client_ca: tls_client_ca,
        }),
        _ => None,
    };
    let options = ServerOptions {
        authenticator,
        tls,
        max_in_flight_per_principal: max_in_flight,
        public_rate_limit: RateLimit {
            per_minute: verify_per_minute,
            burst: verify_burst,
        },
        refusal_limit: RateLimit {
            per_minute: refusals_per_minute,
            burst: refusal_burst,
        },
        rates: {
            let mut all = default_rates();
            all.extend(rates);
            all
        },
        connections: ConnectionLimits {
            max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
            handshake_timeout: Duration::from_secs(handshake_timeout_secs),
            idle_timeout: Duration::from_secs(idle_timeout_secs),
        },
        metrics_listen,
        retention: Retention {
            max_changes: retain_changes,
            max_age: retain_days.map(|d| Duration::from_secs(d * 24 * 3600)),
        },
        trim_interval: Duration::from_secs(trim_interval_secs),
        credential_key: credential_key.map(std::sync::Arc::new),
        console,
        drain_delay: Duration::from_secs(drain_secs),
        ..ServerOptions::default()
    };
    let window_rules = match window_rules {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            WindowRules::parse(&text).with_context(|| format!("window rules {}", path.display()))?
        }
        None => WindowRules::default(),
    };
    let store_options = StoreOptions {
        cache_capacity: cache_mb * 1024 * 1024,
        disk_reserve_bytes: disk_reserve_mb * 1024 * 1024,
        request_id_retention: Duration::from_secs(retain_request_ids_days * 24 * 3600),
        request_ids_per_principal,
        audit_retention: Duration::from_secs(retain_audit_days * 24 * 3600),
        window_rules: std::sync::Arc::new(window_rules),
        standby_reads: postgres_reads,
    };
    runtime.block_on(serve(listen, registry.location(), store_options, options))
}

/// Binds the address and checks the options before opening the store, which creates the
/// data directory: a server that refuses to start leaves nothing behind.
async fn serve(
    listen: SocketAddr,
    location: Location,
    store_options: StoreOptions,
    options: ServerOptions,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    options.check(listener.local_addr()?)?;
    #[cfg(unix)]
    let reloads = match options.authenticator.clone() {
        Some(authenticator) => Some(server::reload_on_hangup(authenticator)?),
        None => None,
    };
    let store = Store::open_at(&location, &store_options)
        .with_context(|| format!("cannot open the registry in {location}"))?;
    #[cfg(unix)]
    if let Some(reloads) = reloads {
        tokio::spawn(reloads);
    }
    server::run(listener, store, options, shutdown_signal()).await
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

/// `ROLE=REQUESTS/ROWS` of `serve --rate`.
fn parse_role_rate(raw: &str) -> Result<(Role, RoleRate), String> {
    let (role, rate) = raw
        .split_once('=')
        .ok_or_else(|| format!("{raw:?}: expected ROLE=REQUESTS/ROWS, e.g. reader=100/10000"))?;
    let role = <Role as clap::ValueEnum>::from_str(role.trim(), true).map_err(|_| {
        format!("unknown role {role:?}: admin, hr, county, importer, reader or city")
    })?;
    Ok((role, RoleRate::parse(rate)?))
}
