//! BackupRegistry: a consistent copy of the registry, streamed while writes go on.
//!
//! The order of reads that makes the copy consistent is explained in the store's backup
//! module; this handler walks it in its own task, a chunk per read on the blocking pool
//! (see `reads`), sending each chunk as it is read, so memory stays flat whatever the
//! registry's size and a slow client only slows its own backup.

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::api::json::{self, JsonLine};
use crate::api::pb;
use crate::api::pb::backup_registry_response::Entry;
use crate::api::reads::ReadPool;
use crate::api::service::RegistryService;
use crate::api::{backup_case, consultation_message};
use crate::auth::{Principal, Rpc};
use crate::domain::audit::AuditKind;
use crate::domain::case::{Case, CaseId};
use crate::domain::{DomainError, TeacherId};
use crate::store::{EvaluationKind, IdentityKind, RecordGroup, Snapshot, Store, StoreError};

/// Teachers or changes read and sent at a time.
const CHUNK: usize = 1000;
/// Catch-up rounds without holding the writer, while many teachers changed meanwhile.
const CATCH_UP_ROUNDS: usize = 3;
/// Changes few enough for the writer to read between two groups.
const FEW_CHANGES: u64 = 1000;
/// Messages buffered for a slow client.
const BACKUP_BUFFER: usize = 4;

pub(super) type BackupStream = ReceiverStream<Result<pb::BackupRegistryResponse, Status>>;

type Sender = mpsc::Sender<Result<pb::BackupRegistryResponse, Status>>;

/// Why sending a backup stopped.
enum Stop {
    /// The client went away; nobody to tell.
    Gone,
    Failed(Status),
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Self {
        Stop::Failed(error.into())
    }
}

impl From<Status> for Stop {
    fn from(status: Status) -> Self {
        Stop::Failed(status)
    }
}

impl RegistryService {
    pub(super) async fn backup(
        &self,
        principal: &Principal,
        _request: pb::BackupRegistryRequest,
    ) -> Result<BackupStream, Status> {
        let (sender, receiver) = mpsc::channel(BACKUP_BUFFER);
        let (store, reads) = (self.store.clone(), self.reads.clone());
        let (audit, name) = (self.audit.clone(), principal.name.clone());
        // The stream opens at once; nothing is sent on it before the read audit's entry is
        // on disk (a backup holds every identity number in full), and no entry, no backup.
        tokio::spawn(async move {
            let audited = audit
                .record(&name, AuditKind::Backup, Rpc::BackupRegistry, String::new())
                .await
                .map_err(Stop::Failed);
            let sent = match audited {
                Ok(()) => send_backup(&store, &reads, &sender).await,
                Err(stop) => Err(stop),
            };
            if let Err(Stop::Failed(status)) = sent {
                tracing::warn!(code = ?status.code(), message = status.message(), "backup failed");
                let _ = sender.send(Err(status)).await;
            }
        });
        Ok(ReceiverStream::new(receiver))
    }
}

/// Reads with `reads`; `store` only for what the writer or memory answers (the committed
/// revision, the final snapshot).
async fn send_backup(store: &Store, reads: &ReadPool, sender: &Sender) -> Result<(), Stop> {
    let started_at = store.committed_revision();
    let mut last: Option<TeacherId> = None;
    loop {
        let after = last.clone();
        let chunk = reads
            .read(move |s| s.teachers_after(after.as_ref(), CHUNK))
            .await?;
        let Some(tail) = chunk.last() else { break };
        last = Some(tail.id.clone());
        send_teachers(sender, &chunk).await?;
    }
    let mut last_case: Option<CaseId> = None;
    loop {
        let after = last_case.clone();
        let chunk = reads
            .read(move |s| s.cases_after(after.as_ref(), CHUNK))
            .await?;
        let Some(tail) = chunk.last() else { break };
        last_case = Some(tail.id.clone());
        send_cases(sender, &chunk).await?;
    }

    let mut seen = started_at;
    for _ in 0..CATCH_UP_ROUNDS {
        let now = store.committed_revision();
        if now.saturating_sub(seen) <= FEW_CHANGES {
            break;
        }
        let changed = reads.read(move |s| s.changed_records(seen, now)).await?;
        for chunk in changed.teachers.chunks(CHUNK) {
            send_teachers(sender, chunk).await?;
        }
        for chunk in changed.cases.chunks(CHUNK) {
            send_cases(sender, chunk).await?;
        }
        seen = now;
    }

    let snapshot = store.snapshot(seen).await?;
    for chunk in snapshot.teachers.chunks(CHUNK) {
        send_teachers(sender, chunk).await?;
    }
    for chunk in snapshot.cases.chunks(CHUNK) {
        send_cases(sender, chunk).await?;
    }
    let consultation_json = snapshot
        .consultations
        .iter()
        .map(|c| to_line(&consultation_message(c.clone())))
        .collect::<Result<_, _>>()?;
    send(
        sender,
        Entry::Consultations(pb::BackupConsultations { consultation_json }),
    )
    .await?;
    send(sender, Entry::Evaluation(evaluation_message(&snapshot))).await?;
    send(sender, Entry::Identity(identity_message(&snapshot))).await?;
    send(
        sender,
        Entry::Snapshot(pb::BackupSnapshot {
            revision: snapshot.revision,
            oldest_revision: snapshot.oldest_revision,
        }),
    )
    .await?;
    tracing::info!(revision = snapshot.revision, "backup snapshot taken");

    // The log up to the snapshot cannot change, only lose its oldest entries to a trim.
    let mut after = snapshot.oldest_revision.saturating_sub(1);
    while after < snapshot.revision {
        let until = snapshot.revision;
        let events = reads
            .read(move |s| s.change_events(after, until, CHUNK))
            .await?;
        let mut lines = Vec::with_capacity(events.len());
        for event in &events {
            if event.revision != after + 1 {
                return Err(resync_required(reads).await);
            }
            after = event.revision;
            lines.push(to_line(&pb::BackupChange::from(event.clone()))?);
        }
        if lines.is_empty() {
            return Err(resync_required(reads).await);
        }
        send(
            sender,
            Entry::Changes(pb::BackupChanges { change_json: lines }),
        )
        .await?;
    }
    send_revisions(reads, sender, snapshot.revision).await
}

/// The teachers' revision entries up to `until`: written once and never changed, so those
/// up to the snapshot's revision are its histories whenever they are read.
async fn send_revisions(reads: &ReadPool, sender: &Sender, until: u64) -> Result<(), Stop> {
    let mut after: Option<Vec<u8>> = None;
    loop {
        let from = after.clone();
        let (revision_record, last) = reads
            .read(move |s| s.history_entries_after(from.as_deref(), until, CHUNK))
            .await?;
        if !revision_record.is_empty() {
            send(
                sender,
                Entry::Revisions(pb::BackupRevisions { revision_record }),
            )
            .await?;
        }
        match last {
            Some(key) => after = Some(key),
            None => return Ok(()),
        }
    }
}

async fn send_teachers(sender: &Sender, teachers: &[crate::domain::Teacher]) -> Result<(), Stop> {
    let teacher_json = teachers
        .iter()
        .map(|teacher| to_line(&pb::Teacher::from(teacher.clone())))
        .collect::<Result<_, _>>()?;
    send(sender, Entry::Teachers(pb::BackupTeachers { teacher_json })).await
}

async fn send_cases(sender: &Sender, cases: &[Case]) -> Result<(), Stop> {
    let case_json = cases
        .iter()
        .map(|case| to_line(&backup_case(case.clone())))
        .collect::<Result<_, _>>()?;
    send(sender, Entry::Cases(pb::BackupCases { case_json })).await
}

fn evaluation_message(snapshot: &Snapshot) -> pb::BackupEvaluation {
    let mut message = pb::BackupEvaluation::default();
    for (kind, bytes) in snapshot.evaluation.encoded() {
        match kind {
            EvaluationKind::Round => message.round_record.push(bytes),
            EvaluationKind::Application => message.application_record.push(bytes),
            EvaluationKind::Findings => message.ethics_findings_record.push(bytes),
        }
    }
    message
}

fn identity_message(snapshot: &Snapshot) -> pb::BackupIdentity {
    let mut message = pb::BackupIdentity::default();
    for (kind, bytes) in snapshot.identity.encoded() {
        match kind {
            IdentityKind::Merge => message.merge_record.push(bytes),
            IdentityKind::Correction => message.correction_record.push(bytes),
            IdentityKind::Pair => message.pair_record.push(bytes),
        }
    }
    message
}

async fn send(sender: &Sender, entry: Entry) -> Result<(), Stop> {
    let response = pb::BackupRegistryResponse { entry: Some(entry) };
    sender.send(Ok(response)).await.map_err(|_| Stop::Gone)
}

/// A backup entry in the proto3 JSON mapping of its message: teachers in full, never masked.
fn to_line<M: JsonLine>(message: &M) -> Result<String, Stop> {
    json::to_line(message).map_err(|e| {
        Stop::Failed(Status::internal(format!(
            "cannot encode a backup entry: {e}"
        )))
    })
}

/// The log lost entries the backup needs to a trim: start again from the oldest kept.
async fn resync_required(reads: &ReadPool) -> Stop {
    match reads.read(|s| s.oldest_revision()).await {
        Ok(oldest_revision) => {
            StoreError::from(DomainError::ResyncRequired { oldest_revision }).into()
        }
        Err(status) => status.into(),
    }
}
