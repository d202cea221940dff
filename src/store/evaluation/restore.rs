//! A restore's title evaluation: rounds, applications and ethics findings staged with
//! the keys the write path gives them, the indexes of each application and the round
//! figures recounted from the applications, exactly as `commit_application` keeps them,
//! so `verify` checks a restored registry as it checks a written one.

use crate::domain::case::evaluation::{Application, EvaluationRound, RoundFigures};
use crate::domain::ethics::EthicsFindings;
use crate::store::writer::Staged;
use crate::store::{codec, keys, StoreError};

/// Stages a restored round; none may exist under its number yet.
pub(crate) fn stage_round(
    staged: &mut Staged<'_>,
    round: &EvaluationRound,
) -> Result<(), StoreError> {
    let key = keys::round(&round.id);
    refuse_taken(staged, &key, "an evaluation round restored twice")?;
    staged.insert(key, codec::encode(round));
    Ok(())
}

/// Stages a restored application with its round listing, its applicant entry and its
/// share of the round's figures.
pub(crate) fn stage_application(
    staged: &mut Staged<'_>,
    application: &Application,
) -> Result<(), StoreError> {
    let key = keys::application(&application.id);
    refuse_taken(staged, &key, "a title application restored twice")?;
    let applicant = keys::round_applicant(&application.round_id, &application.teacher_id);
    refuse_taken(
        staged,
        &applicant,
        "a second application of a teacher in a round",
    )?;
    staged.insert(applicant, Vec::new());
    staged.insert(
        keys::round_application(&application.round_id, &application.id),
        Vec::new(),
    );
    let cell = keys::round_figures(
        &application.round_id,
        &application.county_code,
        application.target_tier,
    );
    let figures: RoundFigures = match staged.get(&cell)? {
        Some(bytes) => codec::decode(&cell, &bytes)?,
        None => RoundFigures::default(),
    };
    staged.insert(
        cell,
        codec::encode(&figures.add(RoundFigures::of(application), 1)),
    );
    staged.insert(key, codec::encode(application));
    Ok(())
}

/// Stages the restored findings about one teacher (all of them: one value per teacher).
pub(crate) fn stage_findings(
    staged: &mut Staged<'_>,
    findings: &EthicsFindings,
) -> Result<(), StoreError> {
    let Some(first) = findings.0.first() else {
        return Ok(());
    };
    let teacher_id = &first.teacher_id;
    if let Some(other) = findings.0.iter().find(|f| f.teacher_id != *teacher_id) {
        return Err(StoreError::Corrupt {
            key: format!("f{teacher_id}"),
            detail: format!(
                "the findings about {teacher_id} hold one about {}",
                other.teacher_id
            ),
        });
    }
    let key = keys::ethics_findings(teacher_id);
    refuse_taken(staged, &key, "the findings about a teacher restored twice")?;
    staged.insert(key, codec::encode(findings));
    Ok(())
}

fn refuse_taken(staged: &Staged<'_>, key: &[u8], detail: &str) -> Result<(), StoreError> {
    if staged.contains(key)? {
        return Err(StoreError::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            detail: detail.into(),
        });
    }
    Ok(())
}
