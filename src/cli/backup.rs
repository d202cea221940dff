//! `teacher-registry backup` and `restore`: a consistent copy of a running registry in a
//! directory of plain files, and a new registry built from one.
//!
//! A backup directory holds `teachers.jsonl` (one teacher per line, exactly as at the
//! snapshot revision), `changes.jsonl` (the change log up to that revision) and
//! `cases.jsonl` (the service window's cases, as at the snapshot revision; absent from
//! backups taken before cases existed, which restore without), `consultations.jsonl`,
//! `evaluation.jsonl` (rounds, title applications and ethics findings; see
//! `backup/records.rs`), `revisions.jsonl` (the teachers' histories; see
//! `backup/revisions.rs`), `identity.jsonl` (merges, identity corrections and duplicate
//! candidate pairs; see `backup/records.rs`) and
//! `manifest.json` (the format, revision, counts and SHA-256 of the files), written last:
//! a directory without a manifest is an unfinished backup. The files are JSON so that an
//! operator can read them with everyday tools; they hold full identity numbers, so the
//! directory and its files are its owner's alone (0700 and 0600), like the data
//! directory. Request-id records are not copied: after a restore, a retried create finds
//! the teacher by identity (ALREADY_EXISTS) instead of replaying its first answer.
//!
//! Format 2 lines are the proto3 JSON mapping of `Teacher` and `BackupChange` (see
//! `api::json`), so the files follow the proto, which changes only compatibly, rather
//! than the domain types. `restore` still reads format 1, through `backup/legacy_v1.rs`
//! alone.

mod files;
mod legacy_v1;
mod manifest;
mod records;
mod revisions;

use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use anyhow::{bail, ensure, Context};
use chrono::NaiveDate;
use serde::Deserialize;

use super::{connect, refusal, CommandError};
use crate::api::pb::backup_registry_response::Entry;
use crate::api::{json, pb, stored_case, stored_consultation};
use crate::store::{
    compact, Compacted, EvaluationRecords, IdentityRecords, Location, RestorePart, Store,
    StoreOptions, VerifyReport,
};
use files::{
    create, first_missing, open, prepare_empty_dir, refuse_non_empty_dir, remove_unfinished,
    sha256_of, HashingWriter,
};
pub use manifest::{BackupFormat, Manifest};

const TEACHERS: &str = "teachers.jsonl";
const CHANGES: &str = "changes.jsonl";
const CASES: &str = "cases.jsonl";
const CONSULTATIONS: &str = "consultations.jsonl";
const MANIFEST: &str = "manifest.json";
/// Teachers or changes restored per atomic step.
const RESTORE_BATCH: usize = 1000;

/// Takes a backup of the registry at `server` into `dir` (new, or empty).
///
/// Nothing is created until the server has accepted the backup: a refused one (a token
/// that may not, a server that is not there) leaves no directory behind. A backup that
/// fails once begun takes away what it wrote, and the directories it made.
pub async fn run_backup(server: &str, dir: &Path) -> anyhow::Result<Manifest> {
    refuse_non_empty_dir(dir)?;
    let mut client = connect(server).await?;
    let stream = match client.backup_registry(pb::BackupRegistryRequest {}).await {
        Ok(response) => response.into_inner(),
        Err(status) => return Err(refusal(status, "the backup was refused")),
    };
    let made = first_missing(dir);
    prepare_empty_dir(dir)?;
    let written = write_backup(dir, stream).await;
    if written.is_err() {
        let partial_teachers = format!("{TEACHERS}.partial");
        let partial_manifest = format!("{MANIFEST}.partial");
        let names = [
            TEACHERS,
            &partial_teachers,
            CHANGES,
            CASES,
            CONSULTATIONS,
            records::EVALUATION,
            revisions::REVISIONS,
            records::IDENTITY,
            &partial_manifest,
        ];
        remove_unfinished(dir, made.as_deref(), &names);
    }
    written
}

/// Writes the backup `stream` sends into the empty directory `dir`.
async fn write_backup(
    dir: &Path,
    mut stream: tonic::Streaming<pb::BackupRegistryResponse>,
) -> anyhow::Result<Manifest> {
    // Teachers arrive in scan order, then again as they changed during the scan: the
    // last copy of each is the one as at the snapshot. Write them all, then keep the last.
    let scanned = dir.join(format!("{TEACHERS}.partial"));
    let mut scan_out = BufWriter::new(create(&scanned)?);
    let mut last_line: HashMap<String, u64> = HashMap::new();
    let mut lines = 0u64;
    let mut changes = HashingWriter::create(&dir.join(CHANGES))?;
    // Cases arrive as teachers do; few enough to keep the last copy of each in memory.
    let mut cases: Vec<String> = Vec::new();
    let mut last_case: HashMap<String, usize> = HashMap::new();
    let mut consultations = HashingWriter::create(&dir.join(CONSULTATIONS))?;
    let mut evaluation_file = HashingWriter::create(&dir.join(records::EVALUATION))?;
    let mut revisions_file = HashingWriter::create(&dir.join(revisions::REVISIONS))?;
    let mut identity_file = HashingWriter::create(&dir.join(records::IDENTITY))?;
    let mut snapshot = None;
    loop {
        let message = match stream.message().await {
            Ok(Some(message)) => message,
            Ok(None) => break,
            Err(status) => return Err(refusal(status, "the backup stopped")),
        };
        match message.entry {
            Some(Entry::Teachers(batch)) => {
                ensure!(
                    snapshot.is_none(),
                    "the server sent teachers after the snapshot"
                );
                for line in batch.teacher_json {
                    last_line.insert(sent_teacher(&line)?.teacher_id, lines);
                    writeln!(scan_out, "{line}")?;
                    lines += 1;
                }
            }
            Some(Entry::Cases(batch)) => {
                ensure!(
                    snapshot.is_none(),
                    "the server sent cases after the snapshot"
                );
                for line in batch.case_json {
                    let case: pb::Case = json::from_line(&line)
                        .with_context(|| "the server sent a case that is not a Case")?;
                    last_case.insert(case.case_id, cases.len());
                    cases.push(line);
                }
            }
            Some(Entry::Consultations(batch)) => {
                ensure!(
                    snapshot.is_none(),
                    "the server sent consultations after the snapshot"
                );
                for line in batch.consultation_json {
                    json::from_line::<pb::Consultation>(&line)
                        .with_context(|| "the server sent a consultation that is not one")?;
                    consultations.line(&line)?;
                }
            }
            Some(Entry::Evaluation(batch)) => {
                ensure!(
                    snapshot.is_none(),
                    "the server sent evaluation records after the snapshot"
                );
                records::write::<EvaluationRecords>(
                    &mut evaluation_file,
                    records::evaluation(batch),
                )?;
            }
            Some(Entry::Identity(batch)) => {
                ensure!(
                    snapshot.is_none(),
                    "the server sent identity records after the snapshot"
                );
                records::write::<IdentityRecords>(&mut identity_file, records::identity(batch))?;
            }
            Some(Entry::Snapshot(taken)) => snapshot = Some(taken),
            Some(Entry::Revisions(batch)) => {
                ensure!(
                    snapshot.is_some(),
                    "the server sent revision entries before the snapshot"
                );
                revisions::write(&mut revisions_file, batch)?;
            }
            Some(Entry::Changes(batch)) => {
                ensure!(
                    snapshot.is_some(),
                    "the server sent changes before the snapshot"
                );
                for line in batch.change_json {
                    sent_change(&line)?;
                    changes.line(&line)?;
                }
            }
            None => bail!("the server sent an empty backup message"),
        }
    }
    let Some(snapshot) = snapshot else {
        bail!("the backup ended before its snapshot");
    };
    drop(
        scan_out
            .into_inner()
            .context("cannot write the scanned teachers")?,
    );

    let mut teachers = HashingWriter::create(&dir.join(TEACHERS))?;
    let scan = std::io::BufReader::new(open(&scanned)?);
    for (number, line) in scan.lines().enumerate() {
        let line = line?;
        if last_line.get(&teacher_id_of(&line)?) == Some(&(number as u64)) {
            teachers.line(&line)?;
        }
    }
    std::fs::remove_file(&scanned)?;
    let (teacher_count, teachers_sha256) = teachers.finish()?;
    let (change_count, changes_sha256) = changes.finish()?;
    let mut case_file = HashingWriter::create(&dir.join(CASES))?;
    let mut kept: Vec<usize> = last_case.into_values().collect();
    kept.sort_unstable();
    for at in kept {
        case_file.line(&cases[at])?;
    }
    let (case_count, cases_sha256) = case_file.finish()?;
    let (consultation_count, consultations_sha256) = consultations.finish()?;
    let (evaluation_count, evaluation_sha256) = evaluation_file.finish()?;
    let (revision_count, revisions_sha256) = revisions_file.finish()?;
    let (identity_count, identity_sha256) = identity_file.finish()?;
    let expected_changes = (snapshot.revision + 1).saturating_sub(snapshot.oldest_revision);
    ensure!(
        change_count == expected_changes,
        "the server sent {change_count} changes for revisions {}..={}",
        snapshot.oldest_revision,
        snapshot.revision
    );

    let manifest = Manifest {
        format: BackupFormat::WRITTEN.name().into(),
        revision: snapshot.revision,
        oldest_revision: snapshot.oldest_revision,
        teachers: teacher_count,
        changes: change_count,
        teachers_sha256,
        changes_sha256,
        cases: case_count,
        cases_sha256: Some(cases_sha256),
        consultations: consultation_count,
        consultations_sha256: Some(consultations_sha256),
        evaluation: evaluation_count,
        evaluation_sha256: Some(evaluation_sha256),
        revisions: revision_count,
        revisions_sha256: Some(revisions_sha256),
        identity: identity_count,
        identity_sha256: Some(identity_sha256),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let aside = dir.join(format!("{MANIFEST}.partial"));
    let mut file = create(&aside)?;
    serde_json::to_writer_pretty(&mut file, &manifest)?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    std::fs::rename(&aside, dir.join(MANIFEST))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(manifest)
}

/// What a restore built.
#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    /// `verify` of the new registry.
    pub report: VerifyReport,
    /// The new data directory's compaction (none for a PostgreSQL database).
    pub compacted: Option<Compacted>,
}

/// Builds a new registry in `data_dir` (new, or empty) from the backup in `dir`, then
/// verifies it. Refuses a backup whose files do not match their manifest.
pub async fn run_restore(dir: &Path, data_dir: &Path) -> anyhow::Result<Restored> {
    run_restore_at(dir, &Location::Directory(data_dir.to_path_buf())).await
}

/// [`run_restore`] into a data directory or a PostgreSQL database without a registry.
pub async fn run_restore_at(dir: &Path, to: &Location) -> anyhow::Result<Restored> {
    let manifest: Manifest = serde_json::from_reader(open(&dir.join(MANIFEST))?)
        .with_context(|| format!("{} is not a backup manifest", dir.join(MANIFEST).display()))?;
    let Some(format) = BackupFormat::named(&manifest.format) else {
        bail!(
            "unknown backup format {:?}: this release reads {} and {}",
            manifest.format,
            BackupFormat::LegacyV1.name(),
            BackupFormat::ProtoJson.name()
        );
    };
    let mut files = vec![
        (TEACHERS, &manifest.teachers_sha256),
        (CHANGES, &manifest.changes_sha256),
    ];
    if let Some(sha256) = &manifest.cases_sha256 {
        files.push((CASES, sha256));
    }
    if let Some(sha256) = &manifest.consultations_sha256 {
        files.push((CONSULTATIONS, sha256));
    }
    if let Some(sha256) = &manifest.evaluation_sha256 {
        files.push((records::EVALUATION, sha256));
    }
    if let Some(sha256) = &manifest.revisions_sha256 {
        files.push((revisions::REVISIONS, sha256));
    }
    if let Some(sha256) = &manifest.identity_sha256 {
        files.push((records::IDENTITY, sha256));
    }
    for (name, expected) in files {
        let actual = sha256_of(&dir.join(name))?;
        ensure!(
            &actual == expected,
            "{name} does not match the manifest (SHA-256 {actual}, expected {expected}): \
             the backup is damaged"
        );
    }
    match to {
        Location::Directory(data_dir) => prepare_empty_dir(data_dir)?,
        Location::Postgres(_) => crate::store::ensure_empty(to, &StoreOptions::default())
            .map_err(|e| CommandError::Refused(e.to_string()))?,
    }
    let store = Store::open_at(to, &StoreOptions::default())
        .with_context(|| format!("cannot create a registry in {to}"))?;

    let today = crate::clock::today();
    let mut count = 0u64;
    let mut batch = Vec::with_capacity(RESTORE_BATCH);
    for (number, line) in std::io::BufReader::new(open(&dir.join(TEACHERS))?)
        .lines()
        .enumerate()
    {
        let teacher = format
            .teacher(&line?, today)
            .with_context(|| format!("{TEACHERS} line {}", number + 1))?;
        ensure!(
            teacher.revision <= manifest.revision,
            "teacher {} is of revision {}, after the backup's",
            teacher.id,
            teacher.revision
        );
        batch.push(teacher);
        count += 1;
        if batch.len() == RESTORE_BATCH {
            store
                .restore(RestorePart::Teachers(std::mem::take(&mut batch)))
                .await?;
        }
    }
    store.restore(RestorePart::Teachers(batch)).await?;
    ensure!(
        count == manifest.teachers,
        "teachers.jsonl holds {count} teachers"
    );

    let restored_cases = match manifest.cases_sha256 {
        Some(_) => restore_cases(&store, &dir.join(CASES), &manifest, today).await?,
        None => 0,
    };
    ensure!(
        restored_cases == manifest.cases,
        "cases.jsonl holds {restored_cases} cases, the manifest says {}",
        manifest.cases
    );
    let restored_consultations = match manifest.consultations_sha256 {
        Some(_) => restore_consultations(&store, &dir.join(CONSULTATIONS), &manifest).await?,
        None => 0,
    };
    ensure!(
        restored_consultations == manifest.consultations,
        "consultations.jsonl holds {restored_consultations} consultations, the manifest says {}",
        manifest.consultations
    );
    let restored_evaluation = match manifest.evaluation_sha256 {
        Some(_) => {
            records::restore::<EvaluationRecords>(&store, dir, records::EVALUATION, &manifest)
                .await?
        }
        None => 0,
    };
    ensure!(
        restored_evaluation == manifest.evaluation,
        "{} holds {restored_evaluation} records, the manifest says {}",
        records::EVALUATION,
        manifest.evaluation
    );

    let restored_identity = match manifest.identity_sha256 {
        Some(_) => {
            records::restore::<IdentityRecords>(&store, dir, records::IDENTITY, &manifest).await?
        }
        None => 0,
    };
    ensure!(
        restored_identity == manifest.identity,
        "{} holds {restored_identity} identity records, the manifest says {}",
        records::IDENTITY,
        manifest.identity
    );

    let restored_revisions = match manifest.revisions_sha256 {
        Some(_) => revisions::restore(&store, &dir.join(revisions::REVISIONS), &manifest).await?,
        None => 0,
    };
    ensure!(
        restored_revisions == manifest.revisions,
        "{} holds {restored_revisions} revision entries, the manifest says {}",
        revisions::REVISIONS,
        manifest.revisions
    );

    let mut expected = manifest.oldest_revision;
    let mut batch = Vec::with_capacity(RESTORE_BATCH);
    for (number, line) in std::io::BufReader::new(open(&dir.join(CHANGES))?)
        .lines()
        .enumerate()
    {
        let event = format
            .change(&line?)
            .with_context(|| format!("{CHANGES} line {}", number + 1))?;
        ensure!(
            event.revision == expected,
            "changes.jsonl jumps from revision {} to {}",
            expected.saturating_sub(1),
            event.revision
        );
        expected += 1;
        batch.push(event);
        if batch.len() == RESTORE_BATCH {
            store
                .restore(RestorePart::Changes(std::mem::take(&mut batch)))
                .await?;
        }
    }
    store.restore(RestorePart::Changes(batch)).await?;
    ensure!(
        expected == manifest.revision + 1,
        "changes.jsonl ends at revision {}, the backup is of {}",
        expected.saturating_sub(1),
        manifest.revision
    );
    store
        .restore(RestorePart::Finish {
            revision: manifest.revision,
            oldest_revision: manifest.oldest_revision,
        })
        .await?;

    let report = store.verify()?;
    ensure!(
        report.records == manifest.teachers
            && report.cases == manifest.cases
            && report.revision == manifest.revision
            && report.revision_entries == manifest.revisions,
        "the new registry holds {} teachers at revision {}, the backup {} at {}",
        report.records,
        report.revision,
        manifest.teachers,
        manifest.revision
    );
    // Closing writes sled's recovery snapshot; compacting then rewrites the files in key
    // order, a fraction of the size the restore's writes left.
    drop(store);
    let compacted = match to {
        Location::Directory(data_dir) => Some(compact(data_dir).with_context(|| {
            format!("cannot compact the new registry in {}", data_dir.display())
        })?),
        Location::Postgres(_) => None,
    };
    Ok(Restored {
        manifest,
        report,
        compacted,
    })
}

/// Restores the cases of `path`, a batch per atomic step; answers how many.
async fn restore_cases(
    store: &Store,
    path: &Path,
    manifest: &Manifest,
    today: NaiveDate,
) -> anyhow::Result<u64> {
    let mut count = 0u64;
    let mut batch = Vec::with_capacity(RESTORE_BATCH);
    for (number, line) in std::io::BufReader::new(open(path)?).lines().enumerate() {
        let line = line?;
        let case = json::from_line::<pb::Case>(&line)
            .map_err(anyhow::Error::from)
            .and_then(|message| stored_case(message, today).map_err(anyhow::Error::from))
            .with_context(|| format!("{CASES} line {}", number + 1))?;
        ensure!(
            case.revision <= manifest.revision,
            "case {} is of revision {}, after the backup's",
            case.id,
            case.revision
        );
        batch.push(case);
        count += 1;
        if batch.len() == RESTORE_BATCH {
            store
                .restore(RestorePart::Cases(std::mem::take(&mut batch)))
                .await?;
        }
    }
    store.restore(RestorePart::Cases(batch)).await?;
    Ok(count)
}

/// Restores the consultations of `path` in one atomic step (a bureau records a few
/// hundred a year); answers how many.
async fn restore_consultations(
    store: &Store,
    path: &Path,
    manifest: &Manifest,
) -> anyhow::Result<u64> {
    let mut all = Vec::new();
    for (number, line) in std::io::BufReader::new(open(path)?).lines().enumerate() {
        let line = line?;
        let consultation = json::from_line::<pb::Consultation>(&line)
            .map_err(anyhow::Error::from)
            .and_then(|message| stored_consultation(message).map_err(anyhow::Error::from))
            .with_context(|| format!("{CONSULTATIONS} line {}", number + 1))?;
        ensure!(
            consultation.revision <= manifest.revision,
            "a consultation of revision {} is after the backup's",
            consultation.revision
        );
        all.push(consultation);
    }
    let count = all.len() as u64;
    store.restore(RestorePart::Consultations(all)).await?;
    Ok(count)
}

/// A teacher line from the server, read as a message of the format the manifest will name,
/// so that a server that writes another format is refused now rather than at the restore.
fn sent_teacher(line: &str) -> anyhow::Result<pb::Teacher> {
    json::from_line(line).with_context(|| {
        format!(
            "the server sent a teacher that is not of backup format {}",
            BackupFormat::WRITTEN.name()
        )
    })
}

/// The registry number of a teacher line that [`sent_teacher`] has read in full.
fn teacher_id_of(line: &str) -> anyhow::Result<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct IdOnly {
        teacher_id: String,
    }
    Ok(serde_json::from_str::<IdOnly>(line)
        .context("a scanned teacher without a teacherId")?
        .teacher_id)
}

/// A change line from the server, checked like [`sent_teacher`].
fn sent_change(line: &str) -> anyhow::Result<pb::BackupChange> {
    json::from_line(line).with_context(|| {
        format!(
            "the server sent a change that is not of backup format {}",
            BackupFormat::WRITTEN.name()
        )
    })
}

/// One line on what a backup holds.
pub fn describe_backup(dir: &Path, manifest: &Manifest) -> String {
    let cases = match manifest.cases {
        0 => String::new(),
        n => format!(" and {}", super::count(n, "case", "cases")),
    };
    let evaluation = match manifest.evaluation {
        0 => String::new(),
        n => format!(
            " and {}",
            super::count(n, "evaluation record", "evaluation records")
        ),
    };
    let identity = match manifest.identity {
        0 => String::new(),
        n => format!(
            " and {}",
            super::count(n, "identity record", "identity records")
        ),
    };
    format!(
        "{}{cases}{evaluation}{identity} as at revision {}, and changes {}..={} ({}), in {}",
        super::count(manifest.teachers, "teacher", "teachers"),
        manifest.revision,
        manifest.oldest_revision,
        manifest.revision,
        manifest.changes,
        dir.display()
    )
}
