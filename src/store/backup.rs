//! Backup and restore: a consistent copy of the registry taken while writes go on, and a
//! new registry built from one.
//!
//! The engine offers no snapshot reads (sled has none), and holding the writer for a whole
//! scan would stop every write for minutes. So a backup reads in three steps. It scans
//! every record without stopping anyone (each record it reads is committed, but they are
//! of different moments); then it re-reads the teachers the change log says changed since the scan
//! began, a few times while that list is long; last, the writer, between two groups,
//! when nothing can change, reads the few teachers changed since the previous step and
//! names its revision R. A teacher's latest copy in that sequence is its state at R:
//! one that changed after the scan began was read again after its last change up to R.
//! The change log up to R follows; it cannot change below R, only be trimmed, which the
//! backup detects.
//!
//! A restore goes through the writer too, staging records, index entries, counters and
//! change events with the same functions the mutations use, so a restored registry is
//! built exactly as a written one is, and `verify` can check it.

use std::collections::HashSet;
use std::ops::Bound::{Included, Unbounded};

use crate::domain::case::evaluation::{Application, EvaluationRound};
use crate::domain::case::{Case, CaseId, Consultation};
use crate::domain::ethics::EthicsFindings;
use crate::domain::{ChangeEvent, DomainError, Teacher, TeacherId};
use crate::store::backup_records::RecordGroup;
use crate::store::cases::{self, stage_case};
use crate::store::codec::{push_decoded, scan_all, tagged};
use crate::store::engine::Engine;
use crate::store::evaluation;
use crate::store::identity::backup::IdentityRecords;
use crate::store::mutation::{index_entries, stage_change, stage_record};
use crate::store::writer::Staged;
use crate::store::{changes, codec, history, keys, StoreError};

/// The teachers changed after a revision, read by the writer at `revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Nothing had changed after this revision when the teachers were read.
    pub revision: u64,
    /// The oldest revision in the change log at that moment.
    pub oldest_revision: u64,
    pub teachers: Vec<Teacher>,
    /// The cases changed after the revision asked for, as at `revision`.
    pub cases: Vec<Case>,
    /// Every consultation, as at `revision` (they are few, and never change).
    pub consultations: Vec<Consultation>,
    /// Every round, application and ethics finding, as at `revision`.
    pub evaluation: EvaluationRecords,
    /// Every merge, identity correction and candidate pair, as at `revision`.
    pub identity: IdentityRecords,
}

/// Title evaluation as a backup carries it: few records (a round a year, an application
/// per applicant, findings about a few teachers), read whole by the writer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvaluationRecords {
    pub rounds: Vec<EvaluationRound>,
    pub applications: Vec<Application>,
    /// One value per teacher with findings, as stored.
    pub findings: Vec<EthicsFindings>,
}

/// A record of [`EvaluationRecords`] in a backup file: its stored value, version byte
/// first, which every later release reads (stored formats evolve, never break) and which
/// keeps every field, the clock fields and the round's rules included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvaluationKind {
    Round,
    Application,
    Findings,
}

impl RecordGroup for EvaluationRecords {
    type Kind = EvaluationKind;
    const KINDS: &'static [(EvaluationKind, &'static str)] = &[
        (EvaluationKind::Round, "round"),
        (EvaluationKind::Application, "application"),
        (EvaluationKind::Findings, "ethics_findings"),
    ];
    const RECORD: &'static str = "an evaluation record";

    fn encoded(&self) -> Vec<(EvaluationKind, Vec<u8>)> {
        tagged(EvaluationKind::Round, &self.rounds)
            .chain(tagged(EvaluationKind::Application, &self.applications))
            .chain(tagged(EvaluationKind::Findings, &self.findings))
            .collect()
    }

    /// Every kind carries a revision: the latest finding's, for findings.
    fn push_encoded(
        &mut self,
        kind: EvaluationKind,
        bytes: &[u8],
    ) -> Result<Option<u64>, StoreError> {
        Ok(Some(match kind {
            EvaluationKind::Round => {
                push_decoded(&mut self.rounds, b"backup round", bytes)?.revision
            }
            EvaluationKind::Application => {
                push_decoded(&mut self.applications, b"backup application", bytes)?.revision
            }
            EvaluationKind::Findings => {
                let findings = push_decoded(&mut self.findings, b"backup findings", bytes)?;
                findings.0.iter().map(|f| f.revision).max().unwrap_or(0)
            }
        }))
    }

    fn len(&self) -> usize {
        self.rounds.len() + self.applications.len() + self.findings.len()
    }
}

impl From<EvaluationRecords> for RestorePart {
    fn from(records: EvaluationRecords) -> Self {
        RestorePart::Evaluation(records)
    }
}

impl From<IdentityRecords> for RestorePart {
    fn from(records: IdentityRecords) -> Self {
        RestorePart::Identity(records)
    }
}

/// Every round, application and ethics finding of the registry.
pub(crate) fn evaluation_records<E: Engine>(engine: &E) -> Result<EvaluationRecords, StoreError> {
    Ok(EvaluationRecords {
        rounds: scan_all(engine, keys::ROUND)?,
        applications: scan_all(engine, keys::APPLICATION)?,
        findings: scan_all(engine, keys::ETHICS_FINDING)?,
    })
}

/// The records changed in a stretch of the change log, as they are now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    pub teachers: Vec<Teacher>,
    pub cases: Vec<Case>,
}

/// One step of a restore, applied by the writer as one atomic group.
#[derive(Debug, Clone)]
pub enum RestorePart {
    /// Teachers to add; none may exist yet, nor hold a key another holds.
    Teachers(Vec<Teacher>),
    /// Cases to add; none may exist yet.
    Cases(Vec<Case>),
    /// Consultations to add, with their counts in the report's cells.
    Consultations(Vec<Consultation>),
    /// Rounds, applications (with their indexes and round figures) and ethics findings
    /// to add; none may exist yet.
    Evaluation(EvaluationRecords),
    /// Merges, identity corrections and candidate pairs to add; none may exist yet. The
    /// teachers come first: the block index is theirs.
    Identity(IdentityRecords),
    /// Change-log events to add.
    Changes(Vec<ChangeEvent>),
    /// Teachers' revision entries to add, in the stored format (see `store::history`).
    Revisions(Vec<Vec<u8>>),
    /// The registry's revision, and the oldest revision of its change log.
    Finish { revision: u64, oldest_revision: u64 },
}

/// Up to `limit` teachers in registry-number order, after `after`.
pub(crate) fn teachers_after<E: Engine>(
    engine: &E,
    after: Option<&TeacherId>,
    limit: usize,
) -> Result<Vec<Teacher>, StoreError> {
    let start = match after {
        Some(id) => {
            let mut key = keys::record(id);
            key.push(0);
            key
        }
        None => vec![keys::RECORD],
    };
    let mut teachers = Vec::new();
    for entry in engine.range(Included(&start), Unbounded)? {
        let (key, value) = entry?;
        if key.first() != Some(&keys::RECORD) || teachers.len() == limit {
            break;
        }
        teachers.push(codec::decode(&key, &value)?);
    }
    Ok(teachers)
}

/// Up to `limit` cases in case-number order, after `after`.
pub(crate) fn cases_after<E: Engine>(
    engine: &E,
    after: Option<&CaseId>,
    limit: usize,
) -> Result<Vec<Case>, StoreError> {
    let start = match after {
        Some(id) => {
            let mut key = keys::case(id);
            key.push(0);
            key
        }
        None => vec![keys::CASE],
    };
    let mut cases = Vec::new();
    for entry in engine.range(Included(&start), Unbounded)? {
        let (key, value) = entry?;
        if key.first() != Some(&keys::CASE) || cases.len() == limit {
            break;
        }
        cases.push(codec::decode(&key, &value)?);
    }
    Ok(cases)
}

/// The current records of the teachers and cases changed in (`after`, `until`], in the
/// order of their first change there. RESYNC_REQUIRED if the log no longer reaches back
/// to `after`.
pub(crate) fn changed_records<E: Engine>(
    engine: &E,
    after: u64,
    until: u64,
) -> Result<Changed, StoreError> {
    let mut seen = HashSet::new();
    let mut seen_cases = HashSet::new();
    let mut changed = Changed::default();
    for revision in after.saturating_add(1)..=until {
        let key = keys::change(revision);
        let Some(bytes) = engine.get(&key)? else {
            let oldest_revision = changes::oldest_revision(engine)?;
            if revision < oldest_revision {
                return Err(DomainError::ResyncRequired { oldest_revision }.into());
            }
            return Err(StoreError::Corrupt {
                key: format!("l{revision}"),
                detail: "the change log has a gap".into(),
            });
        };
        let event: ChangeEvent = codec::decode(&key, &bytes)?;
        if let Some(case_id) = event.case_id {
            if seen_cases.insert(case_id.clone()) {
                if let Some(case) = cases::get(engine, &case_id)? {
                    changed.cases.push(case);
                }
            }
        }
        let Some(teacher_id) = event.teacher_id else {
            continue;
        };
        if seen.insert(teacher_id.clone()) {
            let record_key = keys::record(&teacher_id);
            if let Some(bytes) = engine.get(&record_key)? {
                changed.teachers.push(codec::decode(&record_key, &bytes)?);
            }
        }
    }
    Ok(changed)
}

/// Change-log events in (`after`, `until`], at most `limit`.
pub(crate) fn change_events<E: Engine>(
    engine: &E,
    after: u64,
    until: u64,
    limit: usize,
) -> Result<Vec<ChangeEvent>, StoreError> {
    let mut events = Vec::new();
    let start = keys::change(after.saturating_add(1));
    for entry in engine.range(Included(&start), Unbounded)? {
        let (key, value) = entry?;
        if key.first() != Some(&keys::CHANGE) || events.len() == limit {
            break;
        }
        let event: ChangeEvent = codec::decode(&key, &value)?;
        if event.revision > until {
            break;
        }
        events.push(event);
    }
    Ok(events)
}

/// Stages one step of a restore.
pub(crate) fn stage_restore(
    staged: &mut Staged<'_>,
    part: RestorePart,
    rules: &crate::domain::case::WindowRules,
) -> Result<(), StoreError> {
    match part {
        RestorePart::Teachers(teachers) => {
            for teacher in &teachers {
                let mut taken = vec![keys::record(&teacher.id)];
                // Only the keys matter here, so no record copy is encoded.
                taken.extend(index_entries(teacher, &[]).into_iter().map(|(key, _)| key));
                for key in taken {
                    if staged.contains(&key)? {
                        return Err(StoreError::Corrupt {
                            key: String::from_utf8_lossy(&key).into_owned(),
                            detail: format!(
                                "teacher {} takes a key another restored teacher holds",
                                teacher.id
                            ),
                        });
                    }
                }
                stage_record(staged, None, teacher)?;
            }
        }
        RestorePart::Cases(restored) => {
            for case in &restored {
                if staged.contains(&keys::case(&case.id))? {
                    return Err(StoreError::Corrupt {
                        key: format!("a{}", case.id),
                        detail: "a case restored twice".into(),
                    });
                }
                // The due-date entries are derived, so not carried: built here.
                stage_case(staged, None, case, rules)?;
            }
        }
        RestorePart::Consultations(restored) => {
            for consultation in &restored {
                cases::stage_consultation(staged, consultation)?;
            }
        }
        RestorePart::Evaluation(restored) => {
            for round in &restored.rounds {
                evaluation::stage_round(staged, round)?;
            }
            for application in &restored.applications {
                evaluation::stage_application(staged, application)?;
            }
            for findings in &restored.findings {
                evaluation::stage_findings(staged, findings)?;
            }
        }
        RestorePart::Identity(restored) => {
            crate::store::identity::backup::stage_restored(staged, &restored)?;
        }
        RestorePart::Changes(events) => {
            for event in &events {
                stage_change(staged, event);
            }
        }
        RestorePart::Revisions(entries) => {
            for value in &entries {
                history::stage_entry(staged, &history::decode_entry(value)?);
            }
        }
        RestorePart::Finish {
            revision,
            oldest_revision,
        } => {
            staged.insert(keys::META_REVISION.to_vec(), codec::encode(&revision));
            if oldest_revision > 1 {
                staged.insert(
                    keys::META_OLDEST_REVISION.to_vec(),
                    codec::encode(&oldest_revision),
                );
            }
            staged.set_revision(revision);
        }
    }
    Ok(())
}
