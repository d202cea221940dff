//! The report's cells kept by the write path, consultations, and the report read from
//! them (see [`crate::domain::case::report`] for what counts where).
//!
//! Every case step replaces the case's old contributions with its new ones in the batch
//! that writes the case, so the cells never disagree with the records; a year's report
//! reads one range of cells, the same few hundred keys for 500 cases or 500,000. Only
//! "open past the limit now" depends on today: it reads the open cases the due-date index
//! holds under a day before today (see `stage`), not every open case.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::clock;
use crate::domain::case::report::{contributions, Cell};
use crate::domain::case::{Case, CaseFigures, CaseKind, Consultation, ReportPeriod, WindowRules};
use crate::domain::{ChangeEvent, ChangeKind, CountyCode, DomainError};
use crate::store::cases::NewConsultation;
use crate::store::engine::Engine;
use crate::store::format::{Fingerprint, Remembered};
use crate::store::mutation::{self, WriteContext};
use crate::store::requests::{self, Recall};
use crate::store::writer::Staged;
use crate::store::{codec, keys, StoreError};

/// Which report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    pub year: i32,
    /// `None`: every county.
    pub county: Option<CountyCode>,
    pub period: ReportPeriod,
}

/// One row: a period, county and kind.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    /// The month (1-12), the quarter (1-4), or 0 for the year (see [`ReportPeriod`]).
    pub period: u32,
    pub county: CountyCode,
    pub kind: CaseKind,
    pub figures: CaseFigures,
    /// Open cases received in the period that are past their committed limit today.
    pub open_overdue: u64,
    /// Of those, past the legal limit too.
    pub open_overdue_legal: u64,
}

/// Consultations of a period and county.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsultationRow {
    pub period: u32,
    pub county: CountyCode,
    pub consultations: u64,
}

/// A report: rows in (period, county, kind) order; only rows with something to count.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseReport {
    pub rows: Vec<ReportRow>,
    pub consultations: Vec<ConsultationRow>,
    /// The day "open past the limit now" was worked out for.
    pub as_of: NaiveDate,
}

/// Stages the change of the report's cells from `before`'s contributions to `after`'s.
pub(crate) fn stage_report(
    staged: &mut Staged<'_>,
    before: Option<&Case>,
    after: &Case,
) -> Result<(), StoreError> {
    let old = before.map(contributions).unwrap_or_default();
    let new = contributions(after);
    if old == new {
        return Ok(());
    }
    for (cell, figures) in old {
        add_to_cell(staged, &cell, &figures, true)?;
    }
    for (cell, figures) in new {
        add_to_cell(staged, &cell, &figures, false)?;
    }
    Ok(())
}

fn add_to_cell(
    staged: &mut Staged<'_>,
    cell: &Cell,
    figures: &CaseFigures,
    negative: bool,
) -> Result<(), StoreError> {
    let key = keys::report_cell(cell);
    let mut counts: CaseFigures = match staged.get(&key)? {
        Some(bytes) => codec::decode(&key, &bytes)?,
        None => CaseFigures::default(),
    };
    counts
        .combine(figures, negative)
        .ok_or_else(|| StoreError::Corrupt {
            key: String::from_utf8_lossy(&key).into_owned(),
            detail: "a report cell would count below zero".into(),
        })?;
    if counts.is_empty() {
        staged.remove(key);
    } else {
        staged.insert(key, codec::encode(&counts));
    }
    Ok(())
}

/// Records a consultation: its record, its cell and its change event, in one write.
pub(crate) fn record_consultation(
    staged: &mut Staged<'_>,
    new: NewConsultation,
    context: &WriteContext,
    request_window: &crate::store::request_quota::RequestWindow,
) -> Result<Consultation, StoreError> {
    context.check_scope(&new.county_code)?;
    // A retry with the request id gets the first answer (AIP-155), as every write does.
    let fingerprint = Fingerprint::of_consultation(&new);
    let request_id = context.request_id.as_ref().filter(|_| context.replayable);
    let remember_under = match requests::recall(
        staged,
        &context.principal,
        request_id,
        request_window,
        |record| match record.outcome {
            Remembered::Consultation(first) if record.fingerprint == fingerprint => Some(first),
            _ => None,
        },
    )? {
        Recall::Replay(first) => return Ok(first),
        Recall::New(key) => key,
    };
    let consultation = record_new_consultation(staged, new, context)?;
    if let (Some(key), Fingerprint::V2(fingerprint)) = (remember_under, fingerprint) {
        requests::remember(staged, key, request_window, |recorded_at| {
            codec::encode(&codec::NewConsultationRequest {
                fingerprint,
                consultation: &consultation,
                recorded_at,
            })
        })?;
    }
    Ok(consultation)
}

fn record_new_consultation(
    staged: &mut Staged<'_>,
    new: NewConsultation,
    context: &WriteContext,
) -> Result<Consultation, StoreError> {
    if new.on > clock::today() {
        return Err(DomainError::invalid(
            "consultation.consultation_date",
            format!("{} is in the future", new.on),
        )
        .into());
    }
    let consultation = Consultation {
        on: new.on,
        county_code: new.county_code,
        topic: new.topic,
        channel: new.channel,
        principal: context.principal.clone(),
        time: clock::now(),
        revision: staged.next_revision(),
    };
    stage_consultation(staged, &consultation)?;
    let event = ChangeEvent {
        revision: consultation.revision,
        teacher_id: None,
        case_id: None,
        kind: ChangeKind::ConsultationRecorded,
        time: consultation.time,
        principal: context.principal.clone(),
        request_id: context.request_id.clone(),
        county_before: None,
        county_after: consultation.county_code.clone(),
    };
    mutation::stage_change(staged, &event);
    staged.insert(
        keys::META_REVISION.to_vec(),
        codec::encode(&consultation.revision),
    );
    Ok(consultation)
}

/// Stages a consultation's record and its count in its cell (also for a restore).
pub(crate) fn stage_consultation(
    staged: &mut Staged<'_>,
    consultation: &Consultation,
) -> Result<(), StoreError> {
    let (cell, figures) = consultation.contribution();
    add_to_cell(staged, &cell, &figures, false)?;
    staged.insert(
        keys::consultation(consultation.on, consultation.revision),
        codec::encode(consultation),
    );
    Ok(())
}

/// Every consultation recorded, oldest day first (for backups: a bureau answers a few
/// hundred a year).
pub(crate) fn consultations<E: Engine>(engine: &E) -> Result<Vec<Consultation>, StoreError> {
    let mut all = Vec::new();
    for entry in engine.scan_prefix(&[keys::CONSULTATION])? {
        let (key, value) = entry?;
        all.push(codec::decode(&key, &value)?);
    }
    Ok(all)
}

/// The report `query` asks for, from the cells and (for open cases past their limit)
/// the open-case index, as of `today`.
pub(crate) fn report<E: Engine>(
    engine: &E,
    rules: &WindowRules,
    today: NaiveDate,
    query: &ReportQuery,
) -> Result<CaseReport, StoreError> {
    let mut rows: BTreeMap<(u32, CountyCode, CaseKind), ReportRow> = BTreeMap::new();
    let mut consultations: BTreeMap<(u32, CountyCode), u64> = BTreeMap::new();
    let prefix = keys::report_year_prefix(query.year, query.county.as_ref());
    for entry in engine.scan_prefix(&prefix)? {
        let (key, value) = entry?;
        let cell = keys::parse_report_cell(&key).ok_or_else(|| StoreError::Corrupt {
            key: String::from_utf8_lossy(&key).into_owned(),
            detail: "not a report cell key".into(),
        })?;
        let figures: CaseFigures = codec::decode(&key, &value)?;
        let period = query.period.of_month(cell.month);
        match cell.kind {
            None => {
                *consultations.entry((period, cell.county)).or_default() += figures.consultations
            }
            Some(kind) => {
                let row = rows
                    .entry((period, cell.county.clone(), kind))
                    .or_insert_with(|| empty_row(period, cell.county, kind));
                row.figures
                    .combine(&figures, false)
                    .ok_or_else(|| StoreError::Corrupt {
                        key: String::from_utf8_lossy(&key).into_owned(),
                        detail: "report counts overflow".into(),
                    })?;
            }
        }
    }
    // Only a case due before today can be past its limit today.
    let open = match today.pred_opt() {
        Some(yesterday) => super::list::due_by(engine, query.county.as_ref(), yesterday)?,
        None => Vec::new(),
    };
    for case in open {
        if case.received_on.year() != query.year {
            continue;
        }
        let Some(clock) = case.clock(rules, today).filter(|c| c.overdue) else {
            continue;
        };
        let period = query.period.of_month(case.received_on.month());
        let row = rows
            .entry((period, case.county_code.clone(), case.kind))
            .or_insert_with(|| empty_row(period, case.county_code.clone(), case.kind));
        row.open_overdue += 1;
        row.open_overdue_legal += u64::from(clock.overdue_legal);
    }
    Ok(CaseReport {
        rows: rows.into_values().collect(),
        consultations: consultations
            .into_iter()
            .map(|((period, county), consultations)| ConsultationRow {
                period,
                county,
                consultations,
            })
            .collect(),
        as_of: today,
    })
}

fn empty_row(period: u32, county: CountyCode, kind: CaseKind) -> ReportRow {
    ReportRow {
        period,
        county,
        kind,
        figures: CaseFigures::default(),
        open_overdue: 0,
        open_overdue_legal: 0,
    }
}

/// What every cell must hold, recomputed from the case and consultation records; with
/// the number of consultations read. Problems decoding a record are `report`ed and the
/// record skipped.
pub(crate) fn expected_cells<E: Engine>(
    engine: &E,
    mut problem: impl FnMut(String),
) -> Result<(BTreeMap<Vec<u8>, CaseFigures>, u64), StoreError> {
    let mut cells: BTreeMap<Vec<u8>, CaseFigures> = BTreeMap::new();
    let mut add = |cell: Cell, figures: CaseFigures| {
        let _ = cells
            .entry(keys::report_cell(&cell))
            .or_default()
            .combine(&figures, false);
    };
    for entry in engine.scan_prefix(&[keys::CASE])? {
        let (key, value) = entry?;
        // verify reports an undecodable case with the other case checks.
        if let Ok(case) = codec::decode::<Case>(&key, &value) {
            for (cell, figures) in contributions(&case) {
                add(cell, figures);
            }
        }
    }
    let mut consultations = 0;
    for entry in engine.scan_prefix(&[keys::CONSULTATION])? {
        let (key, value) = entry?;
        consultations += 1;
        match codec::decode::<Consultation>(&key, &value) {
            Ok(consultation) => {
                if keys::consultation(consultation.on, consultation.revision) != key.as_ref() {
                    problem(format!(
                        "consultation {} is stored under another date or revision",
                        String::from_utf8_lossy(&key)
                    ));
                }
                let (cell, figures) = consultation.contribution();
                add(cell, figures);
            }
            Err(e) => problem(format!("consultation: {e}")),
        }
    }
    Ok((cells, consultations))
}

/// Registries whose cases were written before the report (unreleased builds) have no
/// cells: counts every case once, from the records, as the registry opens; answers how
/// many cells it wrote. Cells already there are replaced, so a fill cut short is simply
/// done again at the next start (the marker comes last).
pub(crate) fn fill_report_cells<E: Engine>(engine: &E) -> Result<u64, StoreError> {
    if engine.get(keys::META_CASE_REPORT)?.is_some() {
        return Ok(0);
    }
    let mut batch: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
    for entry in engine.scan_prefix(&[keys::REPORT_CELL])? {
        let (key, _) = entry?;
        batch.push((key.to_vec(), None));
    }
    let (cells, _) = expected_cells(engine, |problem| {
        tracing::warn!(%problem, "a record the report cannot count");
    })?;
    let filled = cells.len() as u64;
    for (key, figures) in cells {
        batch.push((key, Some(codec::encode(&figures))));
    }
    batch.push((keys::META_CASE_REPORT.to_vec(), Some(codec::encode(&true))));
    engine.apply(&batch)?;
    engine.flush()?;
    if filled > 0 {
        tracing::warn!(
            filled,
            "report cells counted from the cases of an earlier build"
        );
    }
    Ok(filled)
}
