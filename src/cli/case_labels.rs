//! The labels of the case enums, in Chinese as the service window writes them and as
//! proto value names, read and written as the import's tables are (see `rows::labels`).

use super::rows::Choices;
use crate::api::pb;

pub(super) const CASE_KINDS: Choices = Choices {
    prefix: "CASE_KIND_",
    labels: &[
        ("资格认定", pb::CaseKind::Certification as i32),
        ("补发换发", pb::CaseKind::Reissue as i32),
        ("定期注册", pb::CaseKind::Registration as i32),
    ],
    name: |v| pb::CaseKind::try_from(v).ok().map(|e| e.as_str_name()),
};

pub(super) const STATES: Choices = Choices {
    prefix: "CASE_STATE_",
    labels: &[
        ("已收件", pb::CaseState::Received as i32),
        ("已受理", pb::CaseState::Accepted as i32),
        ("待补正", pb::CaseState::SupplementRequested as i32),
        ("已转报", pb::CaseState::Forwarded as i32),
        ("已办结", pb::CaseState::Decided as i32),
        ("不予受理", pb::CaseState::Refused as i32),
        ("已撤回", pb::CaseState::Withdrawn as i32),
    ],
    name: |v| pb::CaseState::try_from(v).ok().map(|e| e.as_str_name()),
};

pub(super) const OUTCOMES: Choices = Choices {
    prefix: "CASE_OUTCOME_",
    labels: &[
        ("准予", pb::CaseOutcome::Approved as i32),
        ("不予", pb::CaseOutcome::Denied as i32),
        ("暂缓", pb::CaseOutcome::Deferred as i32),
    ],
    name: |v| pb::CaseOutcome::try_from(v).ok().map(|e| e.as_str_name()),
};

pub(super) const REVIEW_ITEMS: Choices = Choices {
    prefix: "REVIEW_ITEM_",
    labels: &[
        ("学历", pb::ReviewItem::Education as i32),
        ("普通话水平", pb::ReviewItem::MandarinLevel as i32),
        ("体检", pb::ReviewItem::PhysicalExamination as i32),
        ("教育教学能力", pb::ReviewItem::TeachingAbility as i32),
    ],
    name: |v| pb::ReviewItem::try_from(v).ok().map(|e| e.as_str_name()),
};

pub(super) const REGISTRATION_REASONS: Choices = Choices {
    prefix: "REGISTRATION_REASON_",
    labels: &[
        (
            "培训学时不足",
            pb::RegistrationReason::TrainingHoursShort as i32,
        ),
        (
            "无故离岗超过一学期",
            pb::RegistrationReason::OffDutyWithoutLeave as i32,
        ),
        (
            "年度考核不合格",
            pb::RegistrationReason::FailedAnnualAssessment as i32,
        ),
        (
            "严重违反师德",
            pb::RegistrationReason::EthicsViolation as i32,
        ),
        (
            "连续两年考核不合格",
            pb::RegistrationReason::FailedAssessmentsTwice as i32,
        ),
        (
            "资格被撤销或丧失",
            pb::RegistrationReason::QualificationRevokedOrLost as i32,
        ),
    ],
    name: |v| {
        pb::RegistrationReason::try_from(v)
            .ok()
            .map(|e| e.as_str_name())
    },
};

pub(super) const REISSUE_REASONS: Choices = Choices {
    prefix: "REISSUE_REASON_",
    labels: &[
        ("遗失", pb::ReissueReason::Lost as i32),
        ("损毁", pb::ReissueReason::Damaged as i32),
        ("信息变更", pb::ReissueReason::DetailsChanged as i32),
    ],
    name: |v| pb::ReissueReason::try_from(v).ok().map(|e| e.as_str_name()),
};

pub(super) const ACTIONS: Choices = Choices {
    prefix: "CASE_ACTION_",
    labels: &[
        ("收件", pb::CaseAction::Opened as i32),
        ("受理", pb::CaseAction::Accepted as i32),
        ("不予受理", pb::CaseAction::Refused as i32),
        ("一次性告知补正", pb::CaseAction::SupplementRequested as i32),
        ("补正材料收到", pb::CaseAction::SupplementReceived as i32),
        ("转报", pb::CaseAction::Forwarded as i32),
        ("分派", pb::CaseAction::Assigned as i32),
        ("撤回", pb::CaseAction::Withdrawn as i32),
        ("决定", pb::CaseAction::Decided as i32),
    ],
    name: |v| pb::CaseAction::try_from(v).ok().map(|e| e.as_str_name()),
};
