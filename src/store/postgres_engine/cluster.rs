//! A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` in a temporary
//! directory, a free port on 127.0.0.1, a socket directory of its own, and a database per
//! caller. One per process, started on first use; a watchdog process stops it
//! (`pg_ctl stop -m immediate`) and removes its directory once the process that started it
//! is gone, however it ended (Rust runs no destructors for statics).
//!
//! `initdb` refuses to run as root: as root (CI containers) the cluster is made and run as
//! the `postgres` user, through `runuser`. Where the server programs are not installed
//! ([`ThrowawayCluster::get`] answers why), tests that need one say so and pass.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A running cluster.
#[derive(Debug)]
pub struct ThrowawayCluster {
    port: u16,
    bin: PathBuf,
    dir: PathBuf,
}

static CLUSTER: OnceLock<Result<ThrowawayCluster, String>> = OnceLock::new();

impl ThrowawayCluster {
    /// This process's cluster, started on first use; Err says why there is none (no
    /// PostgreSQL installed, or it would not start).
    pub fn get() -> Result<&'static ThrowawayCluster, String> {
        CLUSTER
            .get_or_init(|| std::thread::spawn(start).join().expect("cluster start"))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The URL of the cluster's database `name`, made if it does not exist (a name of
    /// lower-case letters, digits and `_`).
    pub fn database(&self, name: &str) -> String {
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "database name {name:?}"
        );
        let exists = self.psql(
            "postgres",
            &format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
        );
        if exists.trim() != "1" {
            self.psql("postgres", &format!("CREATE DATABASE {name}"));
        }
        self.url(name)
    }

    /// A fresh, empty database with a name made from `hint` (any text) and a counter.
    pub fn fresh_database(&self, hint: &str) -> String {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        self.database(&database_name(hint, n))
    }

    /// The URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The database for a directory: the same directory, the same database.
    pub fn database_for(&self, dir: &Path) -> String {
        self.database(&database_name(&dir.to_string_lossy(), 0))
    }

    /// Runs one SQL command with psql on database `db`; its unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        psql_at(&self.bin, self.port, db, sql)
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
}

/// Runs one SQL command with psql on database `db` of the cluster on `port`; its unaligned
/// output. Panics if it fails (these clusters are for tests).
pub(super) fn psql_at(bin: &Path, port: u16, db: &str, sql: &str) -> String {
    let output = Command::new(bin.join("psql"))
        .args(["-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-U", "postgres"])
        .arg("-p")
        .arg(port.to_string())
        .args(["-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("run psql");
    assert!(
        output.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A database name for `hint`: a hash of it, so any text gives a valid, distinct name.
pub(super) fn database_name(hint: &str, n: u32) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    hint.hash(&mut hasher);
    n.hash(&mut hasher);
    std::process::id().hash(&mut hasher);
    format!("t_{:016x}", hasher.finish())
}

/// The directory of the server programs, if `initdb` is there.
pub(super) fn server_programs() -> Result<PathBuf, String> {
    let output = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .map_err(|e| format!("PostgreSQL is not installed (pg_config: {e})"))?;
    let bin = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if !bin.join("initdb").exists() {
        return Err(format!(
            "PostgreSQL's server programs are not installed (no initdb in {})",
            bin.display()
        ));
    }
    Ok(bin)
}

pub(super) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command that runs `program` as the cluster's owner: `postgres` when this is root.
pub(super) fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

pub(super) fn run(mut command: Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

fn start() -> Result<ThrowawayCluster, String> {
    let bin = server_programs()?;
    let dir = private_dir("registry-pg")?;
    let port = init_and_start(
        &bin,
        &dir.join("data"),
        &dir.join("socket"),
        &dir.join("log"),
    )?;
    watch_over(&bin, &dir, &[dir.join("data")])?;
    Ok(ThrowawayCluster { port, bin, dir })
}

/// A new temporary directory named from `prefix`, owned by the cluster's owner.
pub(super) fn private_dir(prefix: &str) -> Result<PathBuf, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("temporary directory: {e}"))?;
    if is_root() {
        let mut chown = Command::new("chown");
        chown.arg("postgres:postgres").arg(&dir);
        run(chown, "chown")?;
    }
    Ok(dir)
}

/// `initdb` in `data`, then starts it on a free port with its socket in `socket`; the port.
pub(super) fn init_and_start(
    bin: &Path,
    data: &Path,
    socket: &Path,
    log: &Path,
) -> Result<u16, String> {
    let mut initdb = as_owner(&bin.join("initdb"));
    initdb
        .arg("-D")
        .arg(data)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
    run(initdb, "initdb")?;
    configure_and_start(bin, data, socket, log)
}

/// Gives the cluster in `data` a free port and the socket directory `socket` (made here),
/// starts it and waits until it takes connections; the port.
pub(super) fn configure_and_start(
    bin: &Path,
    data: &Path,
    socket: &Path,
    log: &Path,
) -> Result<u16, String> {
    let port = free_port()?;
    let mut mkdir = as_owner(Path::new("/bin/mkdir"));
    mkdir.arg(socket);
    run(mkdir, "mkdir")?;
    let settings = format!(
        "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
         max_connections = 300\nshared_buffers = 64MB\n",
        socket.display()
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .and_then(|mut file| std::io::Write::write_all(&mut file, settings.as_bytes()))
        .map_err(|e| format!("postgresql.conf: {e}"))?;
    let mut pg_ctl = as_owner(&bin.join("pg_ctl"));
    pg_ctl
        .arg("-D")
        .arg(data)
        .arg("-l")
        .arg(log)
        .args(["-w", "start"]);
    run(pg_ctl, "pg_ctl start")?;
    Ok(port)
}

/// Starts the watchdog: once this process is gone, it stops the clusters in `datas` and
/// removes `dir`.
pub(super) fn watch_over(bin: &Path, dir: &Path, datas: &[PathBuf]) -> Result<(), String> {
    let owner = if is_root() {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let stops: String = datas
        .iter()
        .map(|data| {
            format!(
                "{owner}'{pg_ctl}' -D '{data}' -m immediate stop >/dev/null 2>&1; ",
                pg_ctl = bin.join("pg_ctl").display(),
                data = data.display(),
            )
        })
        .collect();
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stops}rm -rf '{dir}'",
        pid = std::process::id(),
        dir = dir.display(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the cluster's watchdog: {e}"))?;
    Ok(())
}

pub(super) fn free_port() -> Result<u16, String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}"))?;
    Ok(listener
        .local_addr()
        .map_err(|e| format!("free port: {e}"))?
        .port())
}
