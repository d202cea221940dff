//! What `verify` checks of title evaluation: every application decodes, belongs to a
//! round that exists, is listed under it (and its applicant under it once), and the
//! round's figures equal the counts recomputed from the applications.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::case::evaluation::{Application, RoundFigures};
use crate::store::engine::Engine;
use crate::store::verify::VerifyReport;
use crate::store::{codec, keys, StoreError};

/// Checks the applications and the figures, adding problems to `report`.
pub(crate) fn verify_evaluation<E: Engine>(
    engine: &E,
    report: &mut VerifyReport,
) -> Result<(), StoreError> {
    let mut expected: BTreeMap<Vec<u8>, RoundFigures> = BTreeMap::new();
    for entry in engine.scan_prefix(&[keys::APPLICATION])? {
        let (key, value) = entry?;
        report.applications += 1;
        let application: Application = match codec::decode(&key, &value) {
            Ok(application) => application,
            Err(e) => {
                report.problem(format!("title application: {e}"));
                continue;
            }
        };
        let id = &application.id;
        if engine.get(&keys::round(&application.round_id))?.is_none() {
            report.problem(format!(
                "application {id} names round {}, which has no record",
                application.round_id
            ));
        }
        for (what, index) in [
            (
                "round listing",
                keys::round_application(&application.round_id, id),
            ),
            (
                "applicant entry",
                keys::round_applicant(&application.round_id, &application.teacher_id),
            ),
        ] {
            report.index_entries += 1;
            if engine.get(&index)?.is_none() {
                report.problem(format!("application {id} has no {what}"));
            }
        }
        let cell = keys::round_figures(
            &application.round_id,
            &application.county_code,
            application.target_tier,
        );
        let sum = expected.entry(cell).or_default();
        *sum = sum.add(RoundFigures::of(&application), 1);
    }
    let mut stored = BTreeMap::new();
    for entry in engine.scan_prefix(&[keys::ROUND_FIGURES])? {
        let (key, value) = entry?;
        report.counters += 1;
        match codec::decode::<RoundFigures>(&key, &value) {
            Ok(figures) => {
                stored.insert(key.to_vec(), figures);
            }
            Err(e) => report.problem(format!("round figures: {e}")),
        }
    }
    let nothing = RoundFigures::default();
    for key in stored
        .keys()
        .chain(expected.keys())
        .collect::<BTreeSet<_>>()
    {
        let (is, should) = (
            stored.get(key).unwrap_or(&nothing),
            expected.get(key).unwrap_or(&nothing),
        );
        if is != should {
            report.problem(format!(
                "round figures {} are {is:?}, the applications count {should:?}",
                String::from_utf8_lossy(key)
            ));
        }
    }
    Ok(())
}
