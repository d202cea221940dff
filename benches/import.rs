//! Bulk import end to end, against raw sled doing the same writes.
//!
//! ```text
//! cargo bench --bench import -- [--rows 1000000] [--seed 1] [--runs 1] [--what-if]
//!     [--whole-groups] [--key-order]
//! cargo bench --bench import -- --postgres [--rows 1000000] [--runs 1]
//! ```
//!
//! With `--postgres` the server keeps the registry in a fresh database of a throwaway
//! PostgreSQL cluster (`store::ThrowawayCluster`, fsync on) instead of a data directory,
//! and steps 1-3 are the whole run: there is no raw-sled baseline to compare with, the
//! figure to compare is the import rate of a run without it.
//!
//! 1. Generates `rows` teachers as CSV (`teacher-registry generate`).
//! 2. Starts the real server binary in its own process (so its peak RSS is its own) with
//!    metrics on, and imports the CSV through the ImportTeachers RPC with the `import`
//!    command's own code, in this process: CSV parsing, gRPC, validation, group commit.
//! 3. Reads the writer's groups and commands from the metrics endpoint, and the server's
//!    peak RSS (VmHWM), then stops it.
//! 4. Opens the data directory with sled directly, takes every key and value the import
//!    left, and writes them into a fresh sled database with the same cache size, in
//!    groups as large as the server's (commands per group × keys per row), one flush per
//!    group:
//!    - **in import order, in chunks**: row after row in revision order, each row's
//!      record, index entries and change event together, as the server wrote them
//!      (counters and metadata first), each group applied in batches of
//!      [`CHUNK_KEYS`] keys as the server's committer applies it. This is the baseline
//!      the import is compared with: the same keys and values, in the same order, group
//!      sizes and batches, with nothing else to do;
//!    - with `--what-if`, the baseline again with parts of each row left out (the county
//!      entries' record copies, the county change entries, every value, all but the record
//!      and identity entries), each against the baseline: what each part costs sled;
//!    - with `--whole-groups`, **in import order, one batch per group**, as the server
//!      applied groups before it had a committer thread (mind the memory: see below);
//!    - with `--key-order`, **in key order**, one batch per group: sled's best case, for
//!      reference (mind the memory: see below).
//!
//!    (sled holds far more memory than the server while applying such large batches: in
//!    import order about 24 GB at 1M rows in groups of 2,048 rows, the server's since it has
//!    a committer thread, enough to be killed for it on a 24 GB machine; in key order more
//!    still.) The baseline writes each key once, while
//!    the server also rewrites a few counters and the revision in every group, so it is
//!    slightly flattering to sled.
//!
//! The benchmark allocates with mimalloc, as the binary does, so the import's client and
//! the baseline run on the same allocator as the server.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use teacher_registry::cli::{generate, run_import, ImportArgs};
use teacher_registry::store::{ThrowawayCluster, CHUNK_KEYS};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The server's sled cache (its default), and the baseline's.
const CACHE_MB: u64 = teacher_registry::store::DEFAULT_CACHE_MB;

#[derive(Parser, Debug)]
#[command(about = "Bulk import through the RPC, against raw sled")]
struct Args {
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Import and baseline this many times (a fresh registry each), for medians.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Also replay in import order with one batch per group, as the server wrote before it
    /// had a committer thread. sled held about 24 GB doing so at 1M rows.
    #[arg(long)]
    whole_groups: bool,
    /// Also replay in key order, sled's best case. sled holds a great deal of memory
    /// doing so: more than the 24 GB of this machine at 1M rows in the server's groups.
    #[arg(long)]
    key_order: bool,
    /// Also replay the baseline with parts of each row left out (the county entries'
    /// record copies, the county change entries, every value, all but the record and
    /// identity entries), to show what each part of a row costs sled.
    #[arg(long)]
    what_if: bool,
    /// Keep the registry in PostgreSQL (a throwaway cluster) and skip the sled baselines.
    #[arg(long, conflicts_with_all = ["what_if", "whole_groups", "key_order"])]
    postgres: bool,
    /// Added by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

struct Figures {
    import_rate: f64,
    peak_rss_mib: f64,
    commands_per_group: f64,
    keys_per_row: f64,
    /// None unless asked for.
    sorted_rate: Option<f64>,
    import_order_rate: f64,
    /// None unless asked for.
    whole_groups_rate: Option<f64>,
}

fn run(args: &Args) -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let csv = work.path().join("teachers.csv");
    generate(
        args.rows,
        args.seed,
        &mut std::io::BufWriter::new(std::fs::File::create(&csv)?),
    )?;
    println!(
        "machine   nproc {}, load average {} at start; {} rows, CSV {:.0} MB",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average(),
        args.rows,
        std::fs::metadata(&csv)?.len() as f64 / 1e6
    );
    if args.postgres {
        return run_on_postgres(&csv, args);
    }
    let mut all = Vec::new();
    for run in 1..=args.runs {
        let data = work.path().join(format!("data-{run}"));
        let figures = measure(&csv, &data, args.rows, args)?;
        println!(
            "run {run}    load {}: import {:.0} rows/s, server peak RSS {:.0} MiB, {:.1} commands per group, \
             {:.1} keys per row; raw sled {:.0} rows/s in import order in chunks, {:.0} in \
             import order one batch per group, {:.0} in key order; import/raw {:.2} (import \
             order, chunks), {:.2} (import order, groups), {:.2} (key order)",
            load_average(),
            figures.import_rate,
            figures.peak_rss_mib,
            figures.commands_per_group,
            figures.keys_per_row,
            figures.import_order_rate,
            figures.whole_groups_rate.unwrap_or(f64::NAN),
            figures.sorted_rate.unwrap_or(f64::NAN),
            figures.import_rate / figures.import_order_rate,
            figures.import_rate / figures.whole_groups_rate.unwrap_or(f64::NAN),
            figures.import_rate / figures.sorted_rate.unwrap_or(f64::NAN),
        );
        std::fs::remove_dir_all(&data)?;
        all.push(figures);
    }
    let median = |f: fn(&Figures) -> f64| {
        let mut values: Vec<f64> = all.iter().map(f).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    println!(
        "median    import {:.0} rows/s; raw sled {:.0} (import order, chunks) / {:.0} (import \
         order, groups) / {:.0} (key order) rows/s; ratios {:.2} / {:.2} / {:.2}; peak RSS {:.0} MiB",
        median(|f| f.import_rate),
        median(|f| f.import_order_rate),
        median(|f| f.whole_groups_rate.unwrap_or(f64::NAN)),
        median(|f| f.sorted_rate.unwrap_or(f64::NAN)),
        median(|f| f.import_rate / f.import_order_rate),
        median(|f| f.import_rate / f.whole_groups_rate.unwrap_or(f64::NAN)),
        median(|f| f.import_rate / f.sorted_rate.unwrap_or(f64::NAN)),
        median(|f| f.peak_rss_mib),
    );
    Ok(())
}

/// Imports on PostgreSQL, `--runs` times, each into a fresh database: the rates and their
/// median.
fn run_on_postgres(csv: &Path, args: &Args) -> anyhow::Result<()> {
    let cluster = ThrowawayCluster::get().map_err(anyhow::Error::msg)?;
    let mut rates = Vec::new();
    for run in 1..=args.runs {
        let url = cluster.fresh_database(&format!("import{run}"));
        let imported = import(csv, args.rows, &["--postgres", &url])?;
        let rate = args.rows as f64 / imported.elapsed.as_secs_f64();
        println!(
            "run {run}    load {}: import on PostgreSQL {rate:.0} rows/s, server peak RSS {:.0} MiB, \
             {:.1} commands per group",
            load_average(),
            imported.peak_rss_mib,
            imported.commands_per_group,
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "median    import on PostgreSQL {:.0} rows/s",
        rates[rates.len() / 2]
    );
    Ok(())
}

/// What one import through the server did.
struct Imported {
    elapsed: Duration,
    peak_rss_mib: f64,
    commands_per_group: f64,
}

/// Starts the server on the registry `location` names (`--data-dir DIR` or `--postgres
/// URL`), imports the CSV through it, and stops it.
fn import(csv: &Path, rows: u64, location: &[&str]) -> anyhow::Result<Imported> {
    let port = free_port()?;
    let metrics_port = free_port()?;
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
            .args([
                "--cache-mb",
                &CACHE_MB.to_string(),
                "--disk-reserve-mb",
                "0",
            ])
            .args(location)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .context("starting the server")?,
    );
    let runtime = tokio::runtime::Runtime::new()?;
    let url = format!("http://127.0.0.1:{port}");
    runtime.block_on(wait_until_up(metrics_port))?;

    let started = Instant::now();
    let summary = runtime.block_on(run_import(
        &ImportArgs {
            server: url,
            file: csv.to_path_buf(),
            mode: teacher_registry::cli::ImportMode::CreateOnly,
            rejects: None,
        },
        &mut std::io::sink(),
    ))?;
    let elapsed = started.elapsed();
    if summary.created != rows {
        bail!("the import created {} of {rows} rows", summary.created);
    }
    let metrics = scrape(metrics_port)?;
    let groups = sample(&metrics, "teacher_registry_write_groups_total")?;
    let commands = sample(&metrics, "teacher_registry_write_commands_total")?;
    let peak_rss_mib = peak_rss_kib(server.0.id())? as f64 / 1024.0;
    server.stop()?;
    Ok(Imported {
        elapsed,
        peak_rss_mib,
        commands_per_group: commands / groups,
    })
}

fn measure(csv: &Path, data: &Path, rows: u64, args: &Args) -> anyhow::Result<Figures> {
    let data_dir = data.display().to_string();
    let Imported {
        elapsed,
        peak_rss_mib,
        commands_per_group,
    } = import(csv, rows, &["--data-dir", &data_dir])?;

    let pairs = read_pairs(data)?;
    let keys_per_row = pairs.len() as f64 / rows as f64;
    let batch = group_keys(commands_per_group, keys_per_row);
    let sorted = args
        .key_order
        .then(|| replay(&pairs, batch, batch, &data.with_extension("sorted")))
        .transpose()?;
    let in_import_order = import_order(pairs)?;
    let import_order = replay(
        &in_import_order,
        batch,
        CHUNK_KEYS,
        &data.with_extension("ordered"),
    )?;
    if args.what_if {
        what_if(
            &in_import_order,
            commands_per_group,
            rows,
            import_order,
            data,
        )?;
    }
    let whole_groups = args
        .whole_groups
        .then(|| {
            replay(
                &in_import_order,
                batch,
                batch,
                &data.with_extension("groups"),
            )
        })
        .transpose()?;
    Ok(Figures {
        import_rate: rows as f64 / elapsed.as_secs_f64(),
        peak_rss_mib,
        commands_per_group,
        keys_per_row,
        sorted_rate: sorted.map(|time| rows as f64 / time.as_secs_f64()),
        import_order_rate: rows as f64 / import_order.as_secs_f64(),
        whole_groups_rate: whole_groups.map(|time| rows as f64 / time.as_secs_f64()),
    })
}

/// The baseline again with parts of each row left out, in groups of as many rows as the
/// server's: what the import's writes would cost sled without them.
fn what_if(
    pairs: &[Pair],
    rows_per_group: f64,
    rows: u64,
    baseline: Duration,
    data: &Path,
) -> anyhow::Result<()> {
    type Change = fn(&Pair) -> Option<Pair>;
    let variants: [(&str, Change); 4] = [
        (
            "without the county entries' record copies",
            |(key, value)| {
                let value = if key[0] == b'c' {
                    Vec::new()
                } else {
                    value.clone()
                };
                Some((key.clone(), value))
            },
        ),
        ("without the county change entries", |(key, value)| {
            (key[0] != b'g').then(|| (key.clone(), value.clone()))
        }),
        ("without any value", |(key, _)| {
            Some((key.clone(), Vec::new()))
        }),
        ("record and identity entries only", |(key, value)| {
            matches!(key[0], b'r' | b'i').then(|| (key.clone(), value.clone()))
        }),
    ];
    for (name, change) in variants {
        let changed: Vec<Pair> = pairs.iter().filter_map(change).collect();
        let keys_per_row = changed.len() as f64 / rows as f64;
        let group = group_keys(rows_per_group, keys_per_row);
        let time = replay(&changed, group, CHUNK_KEYS, &data.with_extension("what-if"))?;
        println!(
            "what if   {name}: {keys_per_row:.1} keys per row, raw sled {:.0} rows/s, {:.2}x the baseline",
            rows as f64 / time.as_secs_f64(),
            baseline.as_secs_f64() / time.as_secs_f64()
        );
    }
    Ok(())
}

/// The keys in a group of `rows_per_group` rows of `keys_per_row` keys each.
fn group_keys(rows_per_group: f64, keys_per_row: f64) -> usize {
    ((rows_per_group * keys_per_row).round() as usize).max(1)
}

/// A key and its value, owned (as the server's writes are), so they keep no page of the
/// database they were read from alive.
type Pair = (Vec<u8>, Vec<u8>);

/// Every key and value of the registry's tree.
fn read_pairs(data: &Path) -> anyhow::Result<Vec<Pair>> {
    let db = sled::open(data)?;
    let tree = db.open_tree("registry")?;
    let mut pairs = Vec::with_capacity(tree.len());
    for pair in tree.iter() {
        let (key, value) = pair?;
        pairs.push((key.to_vec(), value.to_vec()));
    }
    Ok(pairs)
}

/// The pairs (in key order) rearranged as the import wrote them: counters and metadata,
/// then for each change event in revision order its teacher's record and index entries,
/// the county change entries of that revision, and the event. Keys are those of
/// `src/store/keys.rs`; a teacher's registry number ends its record, county and expiry
/// keys, and ends the value of its identity and certificate entries.
fn import_order(pairs: Vec<Pair>) -> anyhow::Result<Vec<Pair>> {
    const ID_LEN: usize = teacher_registry::domain::TEACHER_ID_LEN;
    let total = pairs.len();
    let mut first = Vec::new();
    let mut events = Vec::new();
    let mut by_teacher: HashMap<Vec<u8>, Vec<Pair>> = HashMap::new();
    let mut by_revision: HashMap<Vec<u8>, Vec<Pair>> = HashMap::new();
    for (key, value) in pairs {
        let tail = |bytes: &[u8]| bytes[bytes.len().saturating_sub(ID_LEN)..].to_vec();
        match key[0] {
            b'r' | b'c' | b'x' => by_teacher.entry(tail(&key)).or_default().push((key, value)),
            b'i' | b'k' => by_teacher
                .entry(tail(&value))
                .or_default()
                .push((key, value)),
            b'g' => by_revision
                .entry(key[key.len() - 8..].to_vec())
                .or_default()
                .push((key, value)),
            b'l' => events.push((key, value)),
            _ => first.push((key, value)),
        }
    }
    let mut ordered = first;
    for (key, value) in events {
        let event = teacher_registry::store::decode_change_value(&value)
            .with_context(|| format!("change event at {key:?}"))?;
        if let Some(id) = &event.teacher_id {
            ordered.extend(
                by_teacher
                    .remove(id.as_str().as_bytes())
                    .unwrap_or_default(),
            );
        }
        ordered.extend(by_revision.remove(&key[1..]).unwrap_or_default());
        ordered.push((key, value));
    }
    if ordered.len() != total {
        bail!(
            "{} of {total} keys could not be placed in import order",
            total - ordered.len()
        );
    }
    Ok(ordered)
}

/// Writes `pairs` into a fresh database in groups of `group` keys, each applied in batches
/// of `chunk` keys and flushed; the time.
fn replay(pairs: &[Pair], group: usize, chunk: usize, dir: &Path) -> anyhow::Result<Duration> {
    let db = sled::Config::new()
        .path(dir)
        .cache_capacity(CACHE_MB * 1024 * 1024)
        .open()?;
    let tree = db.open_tree("registry")?;
    let started = Instant::now();
    for group in pairs.chunks(group) {
        for chunk in group.chunks(chunk) {
            let mut writes = sled::Batch::default();
            for (key, value) in chunk {
                writes.insert(key.as_slice(), value.as_slice());
            }
            tree.apply_batch(writes)?;
        }
        tree.flush()?;
    }
    let elapsed = started.elapsed();
    drop(tree);
    drop(db);
    std::fs::remove_dir_all(dir)?;
    Ok(elapsed)
}

/// The server process, killed if the benchmark stops early.
struct Server(Child);

impl Server {
    fn stop(&mut self) -> anyhow::Result<()> {
        Command::new("kill").arg(self.0.id().to_string()).status()?;
        self.0.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

async fn wait_until_up(metrics_port: u16) -> anyhow::Result<()> {
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(("127.0.0.1", metrics_port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    bail!("the server did not come up")
}

/// One request on its own connection, closed after the answer (the server keeps
/// connections alive otherwise, and the read would wait for the end).
fn scrape(port: u16) -> anyhow::Result<String> {
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", port))?;
    socket.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")?;
    let mut response = String::new();
    socket.read_to_string(&mut response)?;
    Ok(response)
}

fn sample(metrics: &str, name: &str) -> anyhow::Result<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .with_context(|| format!("no {name} in the metrics"))
}

fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmHWM:")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .context("no VmHWM")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("unknown")
        .to_string()
}
