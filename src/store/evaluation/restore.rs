//! A restore's title evaluation: rounds, applications and ethics findings staged with
//! the keys the write path gives them, the indexes of each application and the round
//! figures recounted from the applications, exactly as `commit_application` keeps them,
//! so `verify` checks a restored registry as it checks a written one.

use crate::domain::case::evaluation::{
    Application, ApplicationState, EvaluationRound, RoundFigures,
};
use crate::domain::case::CaseId;
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
    // The applicant entry names the teacher's application in the round that is still
    // open, if one is (at most one may be): a closed one never blocks another.
    let applicant = keys::round_applicant(&application.round_id, &application.teacher_id);
    let named = match staged.get(&applicant)? {
        Some(id) => Some(read_application(staged, &id)?),
        None => None,
    };
    let open = |a: &Application| a.state != ApplicationState::Closed;
    if let Some(named) = &named {
        if open(named) && open(application) {
            return Err(StoreError::Corrupt {
                key: String::from_utf8_lossy(&applicant).into_owned(),
                detail: format!(
                    "applications {} and {} of one teacher both open in a round",
                    named.id, application.id
                ),
            });
        }
    }
    if named.is_none() || open(application) {
        staged.insert(applicant, application.id.as_str().as_bytes().to_vec());
    }
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

/// The application an applicant entry names (restored before it).
fn read_application(staged: &Staged<'_>, id: &[u8]) -> Result<Application, StoreError> {
    let key = keys::application(&CaseId::parse(&String::from_utf8_lossy(id)).map_err(|_| {
        StoreError::Corrupt {
            key: String::from_utf8_lossy(id).into_owned(),
            detail: "an applicant entry that names no application".into(),
        }
    })?);
    match staged.get(&key)? {
        Some(bytes) => codec::decode(&key, &bytes),
        None => Err(StoreError::Corrupt {
            key: String::from_utf8_lossy(&key).into_owned(),
            detail: "an applicant entry names an application not restored".into(),
        }),
    }
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
