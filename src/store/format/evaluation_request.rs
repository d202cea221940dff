//! The fingerprint of a title evaluation request, for its request id (AIP-155): SHA-256 of
//! a storage-only message holding the action and every argument, flattened, so a retry
//! with the same id and body replays and one with another body is REQUEST_ID_REUSED.

use prost::Message;
use sha2::{Digest, Sha256};

use super::codes::Coded;
use super::v2::days;
use crate::store::evaluation::{ApplicationStepRequest, EvaluationCommand};

/// What identifies an evaluation request for its request id: the action and every
/// argument, flattened.
#[derive(Clone, PartialEq, Message)]
struct EvaluationRequestRecord {
    #[prost(string, tag = "1")]
    action: String,
    #[prost(string, tag = "2")]
    target: String,
    #[prost(string, optional, tag = "3")]
    expected_etag: Option<String>,
    #[prost(int32, optional, tag = "4")]
    on: Option<i32>,
    #[prost(string, tag = "5")]
    note: String,
    #[prost(string, repeated, tag = "6")]
    texts: Vec<String>,
    #[prost(int64, repeated, tag = "7")]
    numbers: Vec<i64>,
}

/// The fingerprint of an evaluation command, for its request id.
pub(crate) fn fingerprint(command: &EvaluationCommand) -> [u8; 32] {
    let mut record = EvaluationRequestRecord::default();
    match command {
        EvaluationCommand::OpenRound { new } => {
            record.action = "open_round".into();
            record.target = new.county_code.as_str().to_string();
            record.texts = vec![new.name.clone()];
            record.texts.extend(new.committee.iter().cloned());
            let rules = new.rules;
            record.numbers = vec![
                i64::from(new.target_tier.number()),
                i64::from(days(new.application_deadline)),
                i64::from(rules.publicity_working_days),
                i64::from(rules.pass_ratio.numerator),
                i64::from(rules.pass_ratio.denominator),
                i64::from(rules.years_in_tier),
                i64::from(rules.retirement_age),
            ];
        }
        EvaluationCommand::RecordFinding {
            teacher_id,
            finding,
        } => {
            record.action = "record_finding".into();
            record.target = teacher_id.as_str().to_string();
            record.texts = vec![finding.ground.clone(), finding.reviewed_by.clone()];
            record.numbers = vec![
                i64::from(days(finding.found_on)),
                i64::from(days(finding.vetoes_until)),
            ];
        }
        EvaluationCommand::Apply {
            round_id,
            teacher_id,
            exceptional_grounds,
            on,
            note,
        } => {
            record.action = "apply".into();
            record.target = format!("{}/{}", round_id.as_str(), teacher_id.as_str());
            record.texts = exceptional_grounds.iter().cloned().collect();
            record.on = on.map(days);
            record.note = note.clone();
        }
        EvaluationCommand::Step {
            application_id,
            expected_etag,
            on,
            note,
            step,
        } => {
            record.target = application_id.as_str().to_string();
            record.expected_etag = expected_etag.clone();
            record.on = on.map(days);
            record.note = note.clone();
            let (action, texts, numbers) = match step {
                ApplicationStepRequest::OpenPublicity => ("open_publicity", vec![], vec![]),
                ApplicationStepRequest::RecordObjection { text } => {
                    ("record_objection", vec![text.clone()], vec![])
                }
                ApplicationStepRequest::HandleObjection { index, upheld } => (
                    "handle_objection",
                    vec![],
                    vec![i64::from(*index), i64::from(*upheld)],
                ),
                ApplicationStepRequest::RecordVote { vote } => (
                    "record_vote",
                    vec![],
                    vec![
                        i64::from(vote.votes_for),
                        i64::from(vote.against),
                        i64::from(vote.abstain),
                        i64::from(vote.present),
                    ],
                ),
                ApplicationStepRequest::Confirm { approval_document } => {
                    ("confirm", vec![approval_document.clone()], vec![])
                }
                ApplicationStepRequest::Close { reason } => {
                    ("close", vec![], vec![i64::from(reason.number())])
                }
            };
            record.action = action.into();
            record.texts = texts;
            record.numbers = numbers;
        }
    }
    Sha256::digest(record.encode_to_vec()).into()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::domain::case::CaseId;

    fn id(seed: u64) -> CaseId {
        CaseId::generate(&mut rand::rngs::StdRng::seed_from_u64(seed))
    }

    #[test]
    fn fingerprints_tell_requests_apart() {
        let step = |upheld| EvaluationCommand::Step {
            application_id: id(1),
            expected_etag: None,
            on: None,
            note: String::new(),
            step: ApplicationStepRequest::HandleObjection { index: 0, upheld },
        };
        assert_eq!(fingerprint(&step(true)), fingerprint(&step(true)));
        assert_ne!(fingerprint(&step(true)), fingerprint(&step(false)));
    }
}
