//! Duplicate candidates at scale (issue 22): the full pass over a large registry, timed,
//! with its memory, and what finding candidates on every write costs the create rate.
//!
//! ```text
//! cargo bench --bench duplicates [-- --teachers 1000000 --concurrency 256]
//! ```
//!
//! 1. Builds the registry through the store's write path in this process (a fresh
//!    temporary data directory): `--teachers` resident identity card records over ten
//!    Nanping counties, born 1960-2000, named from 20 surnames and 60 given-name characters
//!    (one or two), so namesakes born the same day occur as they do in life; and for one
//!    in a thousand a second record of the same person under a passport (the pairs the
//!    pass is for). Every create finds its candidates in its own write, so the create
//!    rate is the incremental cost's figure.
//! 2. Closes the registry and runs the full pass (`Store::find_duplicates`, what
//!    `teacher-registry find-duplicates` runs) in a child process of this binary, so its
//!    memory is its own: the child reports its resident set after opening the registry
//!    and its peak (VmHWM) after the pass.
//!
//! Server and client share the machine's CPUs, so compare figures only with runs on the
//! same machine.

mod common;

use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use teacher_registry::domain::{
    resident_check_character, Choice, EmploymentStatus, Gender, IdDocumentType, TeacherInput,
};
use teacher_registry::store::{Store, StoreOptions, WriteContext};

const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗";
const GIVEN: &str = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红丹建文辉力国庆云飞鹏宇浩然子轩梓涵欣怡雨婷晨阳佳琪思远嘉";
const COUNTIES: [&str; 10] = [
    "350702", "350703", "350721", "350722", "350723", "350724", "350725", "350781", "350782",
    "350783",
];
const DAYS: u32 = 14_600;

struct Args {
    teachers: u32,
    concurrency: u32,
}

fn args() -> anyhow::Result<Args> {
    let [teachers, concurrency] = common::number_flags(["--teachers", "--concurrency"])?;
    Ok(Args {
        teachers: teachers.map_or(1_000_000, |n: u32| n.max(1)),
        concurrency: concurrency.map_or(256, |n: u32| n.max(1)),
    })
}

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let result = match argv.next().as_deref() {
        Some("--pass") => pass(&argv.next().unwrap_or_default()),
        _ => run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("duplicates benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A number spread over `u64` from `n` and a salt (splitmix64).
fn mix(n: u64, salt: u64) -> u64 {
    let mut z = n.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(salt);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Teacher `n`'s resident identity card record, and for one in a thousand the same person
/// under a passport.
fn people(n: u32) -> Vec<TeacherInput> {
    let day = n % DAYS;
    let born = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).unwrap() + chrono::Days::new(day.into());
    let male = mix(n.into(), 1) % 2 == 1;
    // Unique per person: the day, then which of that day's people (at most 14M / 14600).
    let sequence = (n / DAYS) * 2 + u32::from(male);
    let surnames: Vec<char> = SURNAMES.chars().collect();
    let given: Vec<char> = GIVEN.chars().collect();
    let pick = |salt| given[(mix(n.into(), salt) % given.len() as u64) as usize];
    let mut name = String::from(surnames[(mix(n.into(), 2) % surnames.len() as u64) as usize]);
    name.push(pick(3));
    if !mix(n.into(), 5).is_multiple_of(3) {
        name.push(pick(4));
    }
    let county = COUNTIES[(mix(n.into(), 6) % COUNTIES.len() as u64) as usize];
    let first17 = format!("{county}{}{sequence:03}", born.format("%Y%m%d"));
    let card = TeacherInput {
        id_document_type: Choice::Known(IdDocumentType::ResidentIdCard),
        national_id: format!("{first17}{}", resident_check_character(first17.as_bytes())),
        name,
        gender: Choice::Known(if male { Gender::Male } else { Gender::Female }),
        birth_date: born.to_string(),
        county_code: county.into(),
        school: format!("第{}中学", n % 7 + 1),
        employment_status: Choice::Known(EmploymentStatus::Active),
        legacy_title: Choice::Unset,
        legacy_title_limited_scope: false,
    };
    let mut records = vec![card.clone()];
    if n % 1000 == 7 {
        records.push(TeacherInput {
            id_document_type: Choice::Known(IdDocumentType::Passport),
            national_id: format!("E{n:08}"),
            ..card
        });
    }
    records
}

fn run() -> anyhow::Result<()> {
    let args = args()?;
    println!(
        "machine   nproc {}, load average {} at start; {} teachers, {} in flight",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")?.trim(),
        args.teachers,
        args.concurrency
    );
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let today = chrono::Utc::now().date_naive();
    runtime.block_on(async {
        let store = Store::open(dir.path(), &StoreOptions::default())?;
        let next = Arc::new(AtomicU64::new(0));
        let created = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..args.concurrency {
            let (store, next, created) = (store.clone(), next.clone(), created.clone());
            let total = args.teachers;
            workers.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= u64::from(total) {
                        return anyhow::Ok(());
                    }
                    for input in people(n as u32) {
                        let validated = input
                            .validate(today)
                            .map_err(|v| anyhow::anyhow!("teacher {n} is invalid: {v:?}"))?;
                        store
                            .create_teacher(validated, WriteContext::new("bench", None))
                            .await
                            .with_context(|| format!("creating teacher {n}"))?;
                        created.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for worker in workers {
            worker.await??;
        }
        let seconds = started.elapsed().as_secs_f64();
        let created = created.load(Ordering::Relaxed);
        let candidates = store.list_candidates(None, 1000, "")?.0.len();
        println!(
            "create    {created} records in {seconds:.1} s: {:.0} creates/s, each finding its \
             candidates in its own write ({candidates}{} candidates listed on the first page)",
            created as f64 / seconds,
            if candidates == 1000 { "+" } else { "" }
        );
        drop(store);
        anyhow::Ok(())
    })?;
    drop(runtime);
    let size: u64 = walk(dir.path());
    println!("registry  {:.0} MiB on disk", size as f64 / 1048576.0);
    let output = Command::new(std::env::current_exe()?)
        .arg("--pass")
        .arg(dir.path())
        .output()
        .context("running the pass")?;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    if !output.status.success() {
        anyhow::bail!(
            "the pass failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

fn walk(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// The child: the full pass over the registry in `dir`, with this process's memory.
fn pass(dir: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Store::open(std::path::Path::new(dir), &StoreOptions::default())?;
        let opened = memory("VmRSS");
        let started = Instant::now();
        let figures = store.find_duplicates().await?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "pass      {} block entries in {} blocks, {} new candidates, in {seconds:.1} s",
            figures.entries, figures.blocks, figures.found
        );
        println!(
            "memory    pass process: VmRSS {:.0} MiB after opening, VmHWM {:.0} MiB after the pass",
            opened / 1024.0,
            memory("VmHWM") / 1024.0
        );
        anyhow::Ok(())
    })
}

/// A line of /proc/self/status, in KiB.
fn memory(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0)
}
