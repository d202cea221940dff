//! `teacher-registry sync`: a county's JSON Lines mirror, kept in step by the change feed.
//!
//! The mirror file holds one teacher per line, ordered by registry number, each in the
//! proto3 JSON mapping of `teacher_registry.v1.Teacher` as an export writes it
//! (`api::json`): lowerCamelCase names, enum value names, fields at their default left
//! out, so a teacher without a title has no `currentTitle`. Earlier releases wrote proto
//! field names and every field (`"current_title": "TITLE_TIER_UNSPECIFIED"`); the mapping
//! reads those too, so a mirror they wrote resumes, and is rewritten in the current
//! spelling when next saved. Beside the mirror,
//! `FILE.revision` holds the revision the mirror reflects. A run resumes from that
//! revision; without it, or when the registry no longer keeps changes that old
//! (RESYNC_REQUIRED), it lists the county afresh and follows the feed from the listing's
//! revision. Both files are replaced atomically (written aside, then renamed), the mirror
//! first: after a crash the revision may be older than the mirror, and replaying changes
//! onto a mirror is harmless because each change carries the teacher's latest state.
//!
//! Following, it prints a line when the mirror took changes, not on the server's idle
//! progress messages (every 10 s): those only move the saved revision on, quietly, so a
//! log of a quiet night is not thousands of identical lines. A following sync outlives the
//! server: when the watch breaks (a restart, a network fault) it saves the mirror and
//! watches again from its revision, waiting 0.5 s, then twice as long after each failed
//! try up to 30 s; only a refusal ends it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tonic::Code;
use tonic_types::StatusExt;

use super::{connect, count, refusal, Client};
use crate::api::pb::watch_changes_response::Event;
use crate::api::{json, pb};
use crate::private_files::create_private_file;

/// How often a following sync saves its mirror while changes stream in.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// What to mirror and where.
#[derive(Debug, Clone, clap::Args)]
pub struct SyncArgs {
    /// The registry: host:port, http://host:port, or https://host:port for TLS.
    #[arg(long, default_value = super::DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
    pub server: String,
    /// The county to mirror.
    #[arg(long)]
    pub county: String,
    /// The mirror file; its revision is kept in FILE.revision.
    #[arg(long)]
    pub mirror: PathBuf,
    /// Keep watching for changes after catching up.
    #[arg(long)]
    pub follow: bool,
}

/// A county's teachers, by registry number, and the revision they reflect.
struct Mirror {
    teachers: BTreeMap<String, pb::Teacher>,
    revision: u64,
    path: PathBuf,
}

/// Brings the mirror up to date (and, with `follow`, keeps it so), reporting to `out`.
pub async fn run_sync(args: &SyncArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let mut client = connect(&args.server).await?;
    let mut mirror = match Mirror::load(&args.mirror)? {
        Some(mirror) => mirror,
        None => resync(&mut client, args, out).await?,
    };
    loop {
        let request = pb::ListChangesRequest {
            after_revision: mirror.revision,
            page_size: 1000,
            county_code: args.county.clone(),
            principal: String::new(),
        };
        let page = match client.list_changes(request).await {
            Ok(page) => page.into_inner(),
            Err(status) if is_resync(&status) => {
                writeln!(
                    out,
                    "the registry no longer keeps revision {}: resyncing",
                    mirror.revision
                )?;
                mirror = resync(&mut client, args, out).await?;
                continue;
            }
            Err(status) => return Err(refusal(status, "listing changes failed")),
        };
        let caught_up = page.changes.is_empty();
        for change in &page.changes {
            mirror.apply(change);
        }
        mirror.revision = page.next_revision;
        if caught_up {
            break;
        }
    }
    mirror.save()?;
    writeln!(
        out,
        "mirror of {} up to date at revision {}: {}",
        args.county,
        mirror.revision,
        mirror.teachers()
    )?;
    if args.follow {
        follow(&mut client, args, &mut mirror, out).await?;
    }
    Ok(())
}

/// Follows the feed for good: when the server goes away (a restart, a network fault) the
/// watch resumes from the mirror's revision once it answers again, waiting longer after
/// each failed try, as the server asks watchers to. A refusal (a revoked token, a county
/// out of scope) ends the sync; a revision the registry no longer keeps resyncs.
async fn follow(
    client: &mut Client,
    args: &SyncArgs,
    mirror: &mut Mirror,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut backoff = Backoff::default();
    loop {
        let stopped = match watch(client, args, mirror, &mut backoff, out).await? {
            Stopped::Resync => {
                writeln!(
                    out,
                    "the registry no longer keeps revision {}: resyncing",
                    mirror.revision
                )?;
                *mirror = resync(client, args, out).await?;
                mirror.save()?;
                continue;
            }
            Stopped::Gone(why) => why,
        };
        mirror.save()?;
        let wait = backoff.next();
        if backoff.failures == 1 {
            writeln!(
                out,
                "the watch stopped at revision {} ({stopped}); resuming when the registry answers",
                mirror.revision
            )?;
        }
        tokio::time::sleep(wait).await;
    }
}

/// Why a watch ended without an error to give up on.
enum Stopped {
    /// The registry went away: try again later.
    Gone(String),
    /// The mirror's revision is older than the registry keeps.
    Resync,
}

/// One watch from the mirror's revision, until it stops.
async fn watch(
    client: &mut Client,
    args: &SyncArgs,
    mirror: &mut Mirror,
    backoff: &mut Backoff,
    out: &mut impl Write,
) -> anyhow::Result<Stopped> {
    let request = pb::WatchChangesRequest {
        after_revision: mirror.revision,
        county_code: args.county.clone(),
    };
    let mut stream = match client.watch_changes(request).await {
        Ok(stream) => stream.into_inner(),
        Err(status) if is_resync(&status) => return Ok(Stopped::Resync),
        Err(status) if is_transient(&status) => return Ok(Stopped::Gone(describe(&status))),
        Err(status) => return Err(refusal(status, "watching changes failed")),
    };
    let mut saved = Instant::now();
    // Changes applied since the last line printed.
    let mut unreported = false;
    loop {
        let message = match stream.message().await {
            Ok(Some(message)) => message,
            Ok(None) => return Ok(Stopped::Gone("the registry ended the watch".into())),
            Err(status) if is_resync(&status) => return Ok(Stopped::Resync),
            Err(status) if is_transient(&status) => return Ok(Stopped::Gone(describe(&status))),
            Err(status) => {
                mirror.save()?;
                let stopped = format!(
                    "the watch stopped at revision {}; run sync again to resume",
                    mirror.revision
                );
                return Err(refusal(status, stopped));
            }
        };
        if backoff.failures > 0 {
            writeln!(out, "resumed at revision {}", mirror.revision)?;
            *backoff = Backoff::default();
        }
        let idle = match message.event {
            Some(Event::Change(change)) => {
                mirror.apply(&change);
                mirror.revision = change.revision;
                unreported = true;
                false
            }
            Some(Event::Progress(progress)) => {
                mirror.revision = progress.revision;
                true
            }
            None => continue,
        };
        if idle || saved.elapsed() >= SAVE_EVERY {
            mirror.save()?;
            saved = Instant::now();
            if unreported {
                writeln!(out, "revision {}: {}", mirror.revision, mirror.teachers())?;
                unreported = false;
            }
        }
    }
}

/// Whether a watch that failed this way may succeed later as it is: the server shutting
/// down (UNAVAILABLE), a connection cut (UNKNOWN or CANCELLED from the transport), a
/// deadline.
fn is_transient(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded
    )
}

fn describe(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

/// Waits between tries: 0.5 s, doubling to at most 30 s.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(500);
    const LONGEST: Duration = Duration::from_secs(30);

    fn next(&mut self) -> Duration {
        self.failures += 1;
        Self::FIRST
            .saturating_mul(1 << (self.failures - 1).min(10))
            .min(Self::LONGEST)
    }
}

/// Lists the county afresh and starts the mirror at the listing's revision.
async fn resync(
    client: &mut Client,
    args: &SyncArgs,
    out: &mut impl Write,
) -> anyhow::Result<Mirror> {
    let mut mirror = Mirror {
        teachers: BTreeMap::new(),
        revision: 0,
        path: args.mirror.clone(),
    };
    let mut token = String::new();
    let mut first = true;
    loop {
        let request = pb::ListTeachersRequest {
            page_size: 1000,
            page_token: token.clone(),
            county_code: args.county.clone(),
            ..Default::default()
        };
        let page = match client.list_teachers(request).await {
            Ok(page) => page.into_inner(),
            Err(status) => return Err(refusal(status, "listing the county failed")),
        };
        if first {
            // Changes after the first page's revision are replayed afterwards, so the
            // listing and the feed leave no gap between them.
            mirror.revision = page.revision;
            first = false;
        }
        for teacher in &page.teachers {
            mirror
                .teachers
                .insert(teacher.teacher_id.clone(), teacher.clone());
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    writeln!(
        out,
        "listed {} of {} at revision {}",
        mirror.teachers(),
        args.county,
        mirror.revision
    )?;
    Ok(mirror)
}

fn is_resync(status: &tonic::Status) -> bool {
    status.code() == Code::FailedPrecondition
        && status
            .get_details_error_info()
            .is_some_and(|info| info.reason == "RESYNC_REQUIRED")
}

impl Mirror {
    /// `1 teacher`, `2 teachers`.
    fn teachers(&self) -> String {
        count(self.teachers.len() as u64, "teacher", "teachers")
    }

    fn load(path: &Path) -> anyhow::Result<Option<Mirror>> {
        let state = revision_path(path);
        if !path.exists() || !state.exists() {
            return Ok(None);
        }
        let revision: u64 = std::fs::read_to_string(&state)
            .with_context(|| format!("cannot read {}", state.display()))?
            .trim()
            .parse()
            .with_context(|| format!("{} does not hold a revision", state.display()))?;
        let mut teachers = BTreeMap::new();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let teacher: pb::Teacher = json::from_line(line)
                .with_context(|| format!("{} line {} is not a teacher", path.display(), n + 1))?;
            if teacher.teacher_id.is_empty() {
                bail!("{} line {} has no teacherId", path.display(), n + 1);
            }
            teachers.insert(teacher.teacher_id.clone(), teacher);
        }
        Ok(Some(Mirror {
            teachers,
            revision,
            path: path.to_path_buf(),
        }))
    }

    /// A change with the teacher's state updates the mirror; MOVED_OUT drops the teacher.
    /// MERGED drops the retired number and, when the survivor is in the county, takes
    /// the survivor's state (it comes with the change, under its own number).
    fn apply(&mut self, change: &pb::Change) {
        if change.kind() == pb::ChangeKind::MovedOut {
            self.teachers.remove(&change.teacher_id);
        } else if change.kind() == pb::ChangeKind::Merged {
            self.teachers.remove(&change.teacher_id);
            if let Some(survivor) = &change.teacher {
                self.teachers
                    .insert(survivor.teacher_id.clone(), survivor.clone());
            }
        } else if let Some(teacher) = &change.teacher {
            self.teachers
                .insert(change.teacher_id.clone(), teacher.clone());
        }
    }

    fn save(&self) -> anyhow::Result<()> {
        let mut text = String::new();
        for teacher in self.teachers.values() {
            text.push_str(&json::to_line(teacher)?);
            text.push('\n');
        }
        replace_file(&self.path, text.as_bytes())?;
        replace_file(
            &revision_path(&self.path),
            format!("{}\n", self.revision).as_bytes(),
        )
    }
}

fn revision_path(mirror: &Path) -> PathBuf {
    let mut name = mirror.as_os_str().to_owned();
    name.push(".revision");
    PathBuf::from(name)
}

/// Writes `bytes` beside `path` (a file of its owner's alone: mirrors hold identity
/// numbers), syncs, then renames over it.
fn replace_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".tmp");
    let aside = PathBuf::from(aside);
    let mut file =
        create_private_file(&aside).with_context(|| format!("cannot write {}", aside.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&aside, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_thirty_seconds() {
        let mut backoff = Backoff::default();
        let waits: Vec<u64> = (0..9).map(|_| backoff.next().as_millis() as u64).collect();
        assert_eq!(
            waits,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
    }
}
