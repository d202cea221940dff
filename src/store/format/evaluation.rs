//! Format 2 of title evaluation: rounds, applications, ethics findings, a round's figures
//! and the first answers of their requests, as storage-only protobuf messages under the
//! rules of [`super::v2`] (new fields take new tags, enums by their stable numbers).

use prost::Message;

use super::case::StepRecord;
use super::codes::Coded;
use super::v2::{date, days, known, optional, TeacherRecord};
use crate::domain::case::evaluation::{
    Application, EvaluationRound, Objection, PassRatio, Publicity, RoundFigures, RoundRules, Vote,
};
use crate::domain::case::CaseId;
use crate::domain::ethics::{EthicsFinding, EthicsFindings};
use crate::domain::{CountyCode, TeacherId, UnixMicros};
use crate::store::evaluation::EvaluationAnswer;

#[derive(Clone, PartialEq, Message)]
pub(crate) struct RoundRecord {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(string, tag = "3")]
    county_code: String,
    #[prost(int32, tag = "4")]
    target_tier: i32,
    #[prost(int32, tag = "5")]
    application_deadline: i32,
    #[prost(uint32, tag = "6")]
    publicity_working_days: u32,
    #[prost(uint32, tag = "7")]
    pass_numerator: u32,
    #[prost(uint32, tag = "8")]
    pass_denominator: u32,
    #[prost(uint32, tag = "9")]
    years_in_tier: u32,
    #[prost(uint32, tag = "10")]
    retirement_age: u32,
    #[prost(string, repeated, tag = "11")]
    committee: Vec<String>,
    #[prost(string, tag = "12")]
    created_by: String,
    #[prost(uint64, tag = "13")]
    revision: u64,
    #[prost(int64, tag = "14")]
    create_time: i64,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct PublicityRecord {
    #[prost(int32, tag = "1")]
    stage: i32,
    #[prost(int32, tag = "2")]
    starts_on: i32,
    #[prost(int32, tag = "3")]
    ends_on: i32,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct ObjectionRecord {
    #[prost(int32, tag = "1")]
    stage: i32,
    #[prost(int32, tag = "2")]
    raised_on: i32,
    #[prost(string, tag = "3")]
    text: String,
    #[prost(string, tag = "4")]
    recorded_by: String,
    #[prost(bool, optional, tag = "5")]
    upheld: Option<bool>,
    #[prost(int32, optional, tag = "6")]
    handled_on: Option<i32>,
    #[prost(string, optional, tag = "7")]
    handled_by: Option<String>,
    #[prost(string, tag = "8")]
    handling_note: String,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct VoteRecord {
    #[prost(uint32, tag = "1")]
    votes_for: u32,
    #[prost(uint32, tag = "2")]
    against: u32,
    #[prost(uint32, tag = "3")]
    abstain: u32,
    #[prost(uint32, tag = "4")]
    present: u32,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct ApplicationRecord {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    round_id: String,
    #[prost(string, tag = "3")]
    teacher_id: String,
    #[prost(string, tag = "4")]
    county_code: String,
    #[prost(string, tag = "5")]
    school: String,
    #[prost(string, tag = "6")]
    applicant_name: String,
    #[prost(int32, tag = "7")]
    from_tier: i32,
    #[prost(int32, tag = "8")]
    target_tier: i32,
    #[prost(string, optional, tag = "9")]
    exceptional_grounds: Option<String>,
    #[prost(int32, tag = "10")]
    state: i32,
    #[prost(int32, tag = "11")]
    applied_on: i32,
    #[prost(message, repeated, tag = "12")]
    publicity: Vec<PublicityRecord>,
    #[prost(message, repeated, tag = "13")]
    objections: Vec<ObjectionRecord>,
    #[prost(message, optional, tag = "14")]
    vote: Option<VoteRecord>,
    /// 0: not closed.
    #[prost(int32, tag = "15")]
    close_reason: i32,
    #[prost(int32, optional, tag = "16")]
    confirmed_on: Option<i32>,
    #[prost(string, tag = "17")]
    approval_document: String,
    #[prost(message, repeated, tag = "18")]
    /// Stored as a case's steps are.
    steps: Vec<StepRecord>,
    #[prost(uint64, tag = "19")]
    revision: u64,
    #[prost(int64, tag = "20")]
    create_time: i64,
    #[prost(int64, tag = "21")]
    update_time: i64,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct FindingRecord {
    #[prost(string, tag = "1")]
    teacher_id: String,
    #[prost(int32, tag = "2")]
    found_on: i32,
    #[prost(string, tag = "3")]
    ground: String,
    #[prost(int32, tag = "4")]
    vetoes_until: i32,
    #[prost(string, tag = "5")]
    recorded_by: String,
    #[prost(string, tag = "6")]
    reviewed_by: String,
    #[prost(int64, tag = "7")]
    record_time: i64,
    #[prost(uint64, tag = "8")]
    revision: u64,
}

/// The findings about one teacher.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct FindingsRecord {
    #[prost(message, repeated, tag = "1")]
    findings: Vec<FindingRecord>,
}

impl FindingsRecord {
    pub(crate) fn of(findings: &EthicsFindings) -> Self {
        FindingsRecord {
            findings: findings.0.iter().map(FindingRecord::of).collect(),
        }
    }

    pub(crate) fn into_domain(self) -> Result<EthicsFindings, String> {
        Ok(EthicsFindings(
            self.findings
                .into_iter()
                .map(FindingRecord::into_domain)
                .collect::<Result<_, _>>()?,
        ))
    }
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct RoundFiguresRecord {
    #[prost(uint64, tag = "1")]
    applied: u64,
    #[prost(uint64, tag = "2")]
    eligible: u64,
    #[prost(uint64, tag = "3")]
    objected: u64,
    #[prost(uint64, tag = "4")]
    passed: u64,
    #[prost(uint64, tag = "5")]
    confirmed: u64,
}

/// The first answer of an evaluation request, kept under its request id.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct EvaluationAnswerRecord {
    #[prost(message, optional, tag = "1")]
    round: Option<RoundRecord>,
    #[prost(message, optional, tag = "2")]
    finding: Option<FindingRecord>,
    #[prost(message, optional, tag = "3")]
    application: Option<ApplicationRecord>,
    /// The teacher after a confirmation's promotion.
    #[prost(message, optional, tag = "4")]
    teacher: Option<TeacherRecord>,
}

impl RoundRecord {
    pub(crate) fn of(round: &EvaluationRound) -> Self {
        RoundRecord {
            id: round.id.as_str().to_string(),
            name: round.name.clone(),
            county_code: round.county_code.as_str().to_string(),
            target_tier: round.target_tier.number(),
            application_deadline: days(round.application_deadline),
            publicity_working_days: round.rules.publicity_working_days,
            pass_numerator: round.rules.pass_ratio.numerator,
            pass_denominator: round.rules.pass_ratio.denominator,
            years_in_tier: round.rules.years_in_tier,
            retirement_age: round.rules.retirement_age,
            committee: round.committee.clone(),
            created_by: round.created_by.clone(),
            revision: round.revision,
            create_time: round.create_time.0,
        }
    }

    pub(crate) fn into_domain(self) -> Result<EvaluationRound, String> {
        Ok(EvaluationRound {
            id: CaseId::try_from(self.id)?,
            name: self.name,
            county_code: CountyCode::try_from(self.county_code)?,
            target_tier: known(self.target_tier, "title tier")?,
            application_deadline: date(self.application_deadline)?,
            rules: RoundRules {
                publicity_working_days: self.publicity_working_days,
                pass_ratio: PassRatio {
                    numerator: self.pass_numerator,
                    denominator: self.pass_denominator,
                },
                years_in_tier: self.years_in_tier,
                retirement_age: self.retirement_age,
            },
            committee: self.committee,
            created_by: self.created_by,
            revision: self.revision,
            create_time: UnixMicros(self.create_time),
        })
    }
}

impl ApplicationRecord {
    pub(crate) fn of(a: &Application) -> Self {
        ApplicationRecord {
            id: a.id.as_str().to_string(),
            round_id: a.round_id.as_str().to_string(),
            teacher_id: a.teacher_id.as_str().to_string(),
            county_code: a.county_code.as_str().to_string(),
            school: a.school.clone(),
            applicant_name: a.applicant_name.clone(),
            from_tier: a.from_tier.number(),
            target_tier: a.target_tier.number(),
            exceptional_grounds: a.exceptional_grounds.clone(),
            state: a.state.number(),
            applied_on: days(a.applied_on),
            publicity: a
                .publicity
                .iter()
                .map(|p| PublicityRecord {
                    stage: p.stage.number(),
                    starts_on: days(p.starts_on),
                    ends_on: days(p.ends_on),
                })
                .collect(),
            objections: a
                .objections
                .iter()
                .map(|o| ObjectionRecord {
                    stage: o.stage.number(),
                    raised_on: days(o.raised_on),
                    text: o.text.clone(),
                    recorded_by: o.recorded_by.clone(),
                    upheld: o.upheld,
                    handled_on: o.handled_on.map(days),
                    handled_by: o.handled_by.clone(),
                    handling_note: o.handling_note.clone(),
                })
                .collect(),
            vote: a.vote.map(|v| VoteRecord {
                votes_for: v.votes_for,
                against: v.against,
                abstain: v.abstain,
                present: v.present,
            }),
            close_reason: a.close_reason.map_or(0, Coded::number),
            confirmed_on: a.confirmed_on.map(days),
            approval_document: a.approval_document.clone(),
            steps: a.steps.iter().map(StepRecord::of).collect(),
            revision: a.revision,
            create_time: a.create_time.0,
            update_time: a.update_time.0,
        }
    }

    pub(crate) fn into_domain(self) -> Result<Application, String> {
        Ok(Application {
            id: CaseId::try_from(self.id)?,
            round_id: CaseId::try_from(self.round_id)?,
            teacher_id: TeacherId::try_from(self.teacher_id)?,
            county_code: CountyCode::try_from(self.county_code)?,
            school: self.school,
            applicant_name: self.applicant_name,
            from_tier: known(self.from_tier, "title tier")?,
            target_tier: known(self.target_tier, "title tier")?,
            exceptional_grounds: self.exceptional_grounds,
            state: known(self.state, "application state")?,
            applied_on: date(self.applied_on)?,
            publicity: self
                .publicity
                .into_iter()
                .map(|p| {
                    Ok(Publicity {
                        stage: known(p.stage, "publicity stage")?,
                        starts_on: date(p.starts_on)?,
                        ends_on: date(p.ends_on)?,
                    })
                })
                .collect::<Result<_, String>>()?,
            objections: self
                .objections
                .into_iter()
                .map(|o| {
                    Ok(Objection {
                        stage: known(o.stage, "publicity stage")?,
                        raised_on: date(o.raised_on)?,
                        text: o.text,
                        recorded_by: o.recorded_by,
                        upheld: o.upheld,
                        handled_on: o.handled_on.map(date).transpose()?,
                        handled_by: o.handled_by,
                        handling_note: o.handling_note,
                    })
                })
                .collect::<Result<_, String>>()?,
            vote: self.vote.map(|v| Vote {
                votes_for: v.votes_for,
                against: v.against,
                abstain: v.abstain,
                present: v.present,
            }),
            close_reason: optional(self.close_reason, "close reason")?,
            confirmed_on: self.confirmed_on.map(date).transpose()?,
            approval_document: self.approval_document,
            steps: self
                .steps
                .into_iter()
                .map(|s| s.into_domain("application action"))
                .collect::<Result<_, String>>()?,
            revision: self.revision,
            create_time: UnixMicros(self.create_time),
            update_time: UnixMicros(self.update_time),
        })
    }
}

impl FindingRecord {
    pub(crate) fn of(f: &EthicsFinding) -> Self {
        FindingRecord {
            teacher_id: f.teacher_id.as_str().to_string(),
            found_on: days(f.found_on),
            ground: f.ground.clone(),
            vetoes_until: days(f.vetoes_until),
            recorded_by: f.recorded_by.clone(),
            reviewed_by: f.reviewed_by.clone(),
            record_time: f.record_time.0,
            revision: f.revision,
        }
    }

    pub(crate) fn into_domain(self) -> Result<EthicsFinding, String> {
        Ok(EthicsFinding {
            teacher_id: TeacherId::try_from(self.teacher_id)?,
            found_on: date(self.found_on)?,
            ground: self.ground,
            vetoes_until: date(self.vetoes_until)?,
            recorded_by: self.recorded_by,
            reviewed_by: self.reviewed_by,
            record_time: UnixMicros(self.record_time),
            revision: self.revision,
        })
    }
}

impl RoundFiguresRecord {
    pub(crate) fn of(f: &RoundFigures) -> Self {
        RoundFiguresRecord {
            applied: f.applied,
            eligible: f.eligible,
            objected: f.objected,
            passed: f.passed,
            confirmed: f.confirmed,
        }
    }

    pub(crate) fn into_domain(self) -> RoundFigures {
        RoundFigures {
            applied: self.applied,
            eligible: self.eligible,
            objected: self.objected,
            passed: self.passed,
            confirmed: self.confirmed,
        }
    }
}

impl EvaluationAnswerRecord {
    pub(crate) fn of(answer: &EvaluationAnswer) -> Self {
        let mut record = EvaluationAnswerRecord::default();
        match answer {
            EvaluationAnswer::Round(round) => record.round = Some(RoundRecord::of(round)),
            EvaluationAnswer::Finding(f) => record.finding = Some(FindingRecord::of(f)),
            EvaluationAnswer::Application {
                application,
                teacher,
            } => {
                record.application = Some(ApplicationRecord::of(application));
                record.teacher = teacher.as_ref().map(TeacherRecord::of);
            }
        }
        record
    }

    pub(crate) fn into_domain(self) -> Result<EvaluationAnswer, String> {
        Ok(match (self.round, self.finding, self.application) {
            (Some(round), None, None) => EvaluationAnswer::Round(round.into_domain()?),
            (None, Some(finding), None) => EvaluationAnswer::Finding(finding.into_domain()?),
            (None, None, Some(application)) => EvaluationAnswer::Application {
                application: application.into_domain()?,
                teacher: self.teacher.map(TeacherRecord::into_domain).transpose()?,
            },
            _ => return Err("an evaluation answer of no one kind".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use rand::SeedableRng;

    use super::*;
    use crate::domain::case::evaluation::{
        ApplicationAction, ApplicationState, ApplicationStep, CloseReason, PublicityStage,
    };
    use crate::store::codec;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn id(seed: u64) -> CaseId {
        CaseId::generate(&mut rand::rngs::StdRng::seed_from_u64(seed))
    }

    /// An application with every field set, as after an objection, a vote and a close.
    fn application() -> Application {
        Application {
            id: id(1),
            round_id: id(2),
            teacher_id: TeacherId::generate(&mut rand::rngs::StdRng::seed_from_u64(3)),
            county_code: CountyCode::parse("350702").unwrap(),
            school: "一中".into(),
            applicant_name: "王芳".into(),
            from_tier: crate::domain::TitleTier::SecondLevel,
            target_tier: crate::domain::TitleTier::FirstLevel,
            exceptional_grounds: Some("省级教学成果奖".into()),
            state: ApplicationState::Closed,
            applied_on: d("2026-10-01"),
            publicity: vec![Publicity {
                stage: PublicityStage::School,
                starts_on: d("2026-10-02"),
                ends_on: d("2026-10-08"),
            }],
            objections: vec![Objection {
                stage: PublicityStage::School,
                raised_on: d("2026-10-03"),
                text: "异议".into(),
                recorded_by: "county".into(),
                upheld: Some(false),
                handled_on: Some(d("2026-10-05")),
                handled_by: Some("hr".into()),
                handling_note: "不属实".into(),
            }],
            vote: Some(Vote {
                votes_for: 5,
                against: 3,
                abstain: 0,
                present: 8,
            }),
            close_reason: Some(CloseReason::CommitteeRejected),
            confirmed_on: None,
            approval_document: String::new(),
            steps: vec![ApplicationStep {
                action: ApplicationAction::Closed,
                principal: "hr".into(),
                time: UnixMicros(7),
                on: d("2026-10-09"),
                note: "n".into(),
            }],
            revision: 9,
            create_time: UnixMicros(1),
            update_time: UnixMicros(7),
        }
    }

    #[test]
    fn records_round_trip() {
        let a = application();
        assert_eq!(
            codec::decode::<Application>(b"p", &codec::encode(&a)).unwrap(),
            a
        );
        let findings = EthicsFindings(vec![EthicsFinding {
            teacher_id: a.teacher_id.clone(),
            found_on: d("2026-03-01"),
            ground: "有偿补课".into(),
            vetoes_until: d("2027-02-28"),
            recorded_by: "a".into(),
            reviewed_by: "b".into(),
            record_time: UnixMicros(5),
            revision: 4,
        }]);
        let bytes = codec::encode(&findings);
        assert_eq!(
            codec::decode::<EthicsFindings>(b"f", &bytes).unwrap(),
            findings
        );
        let answer = EvaluationAnswer::Application {
            application: a,
            teacher: None,
        };
        let record = EvaluationAnswerRecord::of(&answer);
        assert_eq!(record.into_domain().unwrap(), answer);
    }

    #[test]
    fn unknown_codes_are_corrupt_not_guessed() {
        let mut record = ApplicationRecord::of(&application());
        record.state = 99;
        assert!(record
            .into_domain()
            .unwrap_err()
            .contains("application state"));
    }
}
