//! A throwaway primary with a synchronous hot standby, for failover tests: the primary as
//! in [`super::cluster`], a standby copied from it with `pg_basebackup -R -X stream` into a
//! directory of its own and started on its own free port, and `synchronous_standby_names`
//! set on the primary, so a commit returns only once the standby has the commit's WAL on
//! its disk (`synchronous_commit` is on, PostgreSQL's default).
//!
//! Unlike the process-wide [`super::cluster::ThrowawayCluster`], each test makes its own
//! pair (a test stops and promotes it), and the pair is stopped and removed when dropped;
//! a watchdog does the same if the process ends without running destructors.
//!
//! Servers reach the pair through one multi-host URL ([`ReplicatedCluster::url`]) with
//! `target_session_attrs=read-write`: the `postgres` crate tries the hosts in order and
//! keeps the first that takes writes, so the same URL finds the promoted standby.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::cluster::{
    as_owner, configure_and_start, init_and_start, private_dir, psql_at, run, server_programs,
    watch_over,
};

/// A primary and its synchronous standby.
#[derive(Debug)]
pub struct ReplicatedCluster {
    bin: PathBuf,
    dir: PathBuf,
    primary_port: u16,
    standby_port: u16,
}

/// How long the standby may take to connect to the primary and be its synchronous one.
const STANDBY_READY: Duration = Duration::from_secs(60);

impl ReplicatedCluster {
    /// Starts a primary, copies it into a standby, starts that, and makes the primary's
    /// commits wait for it. Err says why not (no PostgreSQL installed, or a step failed).
    pub fn start() -> Result<ReplicatedCluster, String> {
        let bin = server_programs()?;
        let dir = private_dir("registry-pg-pair")?;
        let primary = dir.join("primary");
        let standby = dir.join("standby");
        watch_over(&bin, &dir, &[primary.clone(), standby.clone()])?;
        let primary_port = init_and_start(
            &bin,
            &primary,
            &dir.join("primary-socket"),
            &dir.join("primary.log"),
        )?;
        let mut basebackup = as_owner(&bin.join("pg_basebackup"));
        basebackup
            .arg("-D")
            .arg(&standby)
            .args(["-R", "-X", "stream", "--checkpoint=fast", "--no-sync"])
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(primary_port.to_string());
        run(basebackup, "pg_basebackup")?;
        // The copy's postgresql.conf names the primary's port and socket; the settings
        // appended here come later and win.
        let standby_port = configure_and_start(
            &bin,
            &standby,
            &dir.join("standby-socket"),
            &dir.join("standby.log"),
        )?;
        let cluster = ReplicatedCluster {
            bin,
            dir,
            primary_port,
            standby_port,
        };
        cluster.psql_primary(
            "postgres",
            "ALTER SYSTEM SET synchronous_standby_names = '*'",
        );
        cluster.psql_primary("postgres", "SELECT pg_reload_conf()");
        let deadline = Instant::now() + STANDBY_READY;
        loop {
            let state = cluster.psql_primary(
                "postgres",
                "SELECT sync_state FROM pg_stat_replication WHERE state = 'streaming'",
            );
            if state.trim() == "sync" {
                return Ok(cluster);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the standby did not become synchronous (sync_state {state:?})"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The URL of database `name` on both: the one of the two that takes writes.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/{name}?target_session_attrs=read-write",
            self.primary_port, self.standby_port
        )
    }

    /// The URL of database `name` on the primary alone.
    pub fn primary_url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.primary_port)
    }

    /// The URL of database `name` on the standby alone.
    pub fn standby_url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.standby_port)
    }

    /// Creates database `name` (lower-case letters, digits, `_`) on the primary; the
    /// standby replays it.
    pub fn create_database(&self, name: &str) {
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "database name {name:?}"
        );
        self.psql_primary("postgres", &format!("CREATE DATABASE {name}"));
    }

    /// Runs one SQL command on the primary's database `db`; its unaligned output.
    pub fn psql_primary(&self, db: &str, sql: &str) -> String {
        psql_at(&self.bin, self.primary_port, db, sql)
    }

    /// Runs one SQL command on the standby's database `db`; its unaligned output.
    pub fn psql_standby(&self, db: &str, sql: &str) -> String {
        psql_at(&self.bin, self.standby_port, db, sql)
    }

    /// Stops the primary as a crash would (`pg_ctl stop -m immediate`: no checkpoint, its
    /// connections cut).
    pub fn stop_primary(&self) -> Result<(), String> {
        self.pg_ctl("primary", &["-m", "immediate", "stop"])
    }

    /// Promotes the standby (`pg_ctl promote`, waiting until it takes writes).
    pub fn promote_standby(&self) -> Result<(), String> {
        self.pg_ctl("standby", &["-w", "promote"])
    }

    fn pg_ctl(&self, which: &str, args: &[&str]) -> Result<(), String> {
        let mut pg_ctl = as_owner(&self.bin.join("pg_ctl"));
        pg_ctl.arg("-D").arg(self.dir.join(which)).args(args);
        run(pg_ctl, &format!("pg_ctl {} on the {which}", args.join(" ")))
    }
}

impl Drop for ReplicatedCluster {
    fn drop(&mut self) {
        for which in ["standby", "primary"] {
            let _ = self.pg_ctl(which, &["-m", "immediate", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
