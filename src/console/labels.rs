//! The names of the proto enums on the pages, in Chinese and English, by wire number.
//! An unknown number shows as itself, never as a wrong name.

use super::layout::Lang;

/// `(number, Chinese, English)` rows of one enum.
pub(crate) type Labels = &'static [(i32, &'static str, &'static str)];

/// The name of `value` in `lang`.
pub(crate) fn label(lang: Lang, labels: Labels, value: i32) -> String {
    labels
        .iter()
        .find(|(n, _, _)| *n == value)
        .map(|(_, zh, en)| lang.t(zh, en).to_string())
        .unwrap_or_else(|| value.to_string())
}

/// The options of a select over `labels` (unspecified first, as "—").
pub(crate) fn options(lang: Lang, labels: Labels) -> Vec<(String, String)> {
    std::iter::once((String::new(), "—".to_string()))
        .chain(
            labels
                .iter()
                .map(|(n, zh, en)| (n.to_string(), lang.t(zh, en).to_string())),
        )
        .collect()
}

pub(crate) const CERTIFICATE_KINDS: Labels = &[
    (1, "幼儿园教师资格", "Kindergarten"),
    (2, "小学教师资格", "Primary school"),
    (3, "初级中学教师资格", "Junior secondary"),
    (4, "高级中学教师资格", "Senior secondary"),
    (5, "中等职业学校教师资格", "Secondary vocational"),
    (
        6,
        "中等职业学校实习指导教师资格",
        "Secondary vocational internship instructor",
    ),
    (7, "高等学校教师资格", "Higher education"),
];

pub(crate) const CERTIFICATE_STATUSES: Labels = &[
    (1, "有效", "Valid"),
    (2, "已撤销", "Revoked"),
    (3, "已丧失", "Lost"),
];

pub(crate) const TITLE_TIERS: Labels = &[
    (0, "未定级", "None"),
    (1, "三级教师", "Third level"),
    (2, "二级教师", "Second level"),
    (3, "一级教师", "First level"),
    (4, "高级教师", "Senior"),
    (5, "正高级教师", "Full senior"),
];

pub(crate) const TITLE_CHANGE_KINDS: Labels = &[
    (1, "初次评定", "Initial"),
    (2, "改革过渡", "Reform transition"),
    (3, "晋升", "Promotion"),
    (4, "更正", "Correction"),
    (5, "撤销", "Revocation"),
];

pub(crate) const QUALIFICATION_LOSS_GROUNDS: Labels = &[
    (1, "被剥夺政治权利", "Deprived of political rights"),
    (
        2,
        "故意犯罪受到有期徒刑以上刑事处罚",
        "Sentenced to a fixed term or more for an intentional crime",
    ),
];

pub(crate) const REVOCATION_GROUNDS: Labels = &[
    (
        1,
        "弄虚作假、骗取教师资格",
        "Obtained by fraud or deception",
    ),
    (
        2,
        "品行不良、侮辱学生，影响恶劣",
        "Bad conduct or insulting students, with serious effect",
    ),
];

pub(crate) const REISSUE_REASONS: Labels = &[
    (1, "遗失", "Lost"),
    (2, "损毁", "Damaged"),
    (3, "信息变更", "Details changed"),
];

pub(crate) const COPY_STATES: Labels = &[
    (1, "现行", "Current"),
    (2, "作废", "Void"),
    (3, "已交回", "Surrendered"),
];

pub(crate) const EMPLOYMENT_STATUSES: Labels = &[
    (1, "在职", "Active"),
    (2, "调出", "Transferred"),
    (3, "退休", "Retired"),
    (4, "离职", "Left"),
];

pub(crate) const GENDERS: Labels = &[(1, "男", "Male"), (2, "女", "Female")];

pub(crate) const CASE_KINDS: Labels = &[
    (1, "资格认定", "Certification"),
    (2, "补发换发", "Reissue"),
    (3, "定期注册", "Registration"),
];

pub(crate) const CASE_STATES: Labels = &[
    (1, "已收件", "Received"),
    (2, "已受理", "Accepted"),
    (3, "待补正", "Supplement requested"),
    (4, "已转报", "Forwarded"),
    (5, "已办结", "Decided"),
    (6, "不予受理", "Refused"),
    (7, "已撤回", "Withdrawn"),
];

pub(crate) const CASE_OUTCOMES: Labels = &[
    (1, "准予", "Approved"),
    (2, "不予", "Denied"),
    (3, "暂缓", "Deferred"),
];

pub(crate) const CASE_ACTIONS: Labels = &[
    (1, "收件", "Opened"),
    (2, "受理", "Accepted"),
    (3, "不予受理", "Refused"),
    (4, "一次性告知补正", "Supplement requested"),
    (5, "收到补正材料", "Supplement received"),
    (6, "转报", "Forwarded"),
    (7, "分派", "Assigned"),
    (8, "撤回", "Withdrawn"),
    (9, "决定", "Decided"),
];

pub(crate) const VERIFY_STATUSES: Labels = CERTIFICATE_STATUSES;

pub(crate) const LEGACY_TITLES: Labels = &[
    (1, "中学高级教师", "Secondary senior"),
    (2, "中学一级教师", "Secondary first"),
    (3, "小学高级教师", "Primary senior"),
    (4, "中学二级教师", "Secondary second"),
    (5, "小学一级教师", "Primary first"),
    (6, "中学三级教师", "Secondary third"),
    (7, "小学二级教师", "Primary second"),
    (8, "小学三级教师", "Primary third"),
];

pub(crate) const TRANSITION_OUTCOMES: Labels = &[
    (1, "已过渡", "Transitioned"),
    (2, "将过渡", "Would transition"),
    (3, "跳过", "Skipped"),
    (4, "失败", "Failed"),
];

pub(crate) const TRANSITION_SKIP_REASONS: Labels = &[
    (1, "无旧职称", "No legacy title"),
    (2, "已过渡", "Already transitioned"),
    (3, "已有新职称", "Has a new title"),
    (4, "未找到", "Not found"),
    (5, "已合并", "Merged"),
];

pub(crate) const APPLICATION_STATES: Labels = &[
    (1, "已申报", "Applied"),
    (2, "校内公示", "School publicity"),
    (3, "评审通过", "Passed by the committee"),
    (4, "结果公示", "Result publicity"),
    (5, "已确认", "Confirmed"),
    (6, "已关闭", "Closed"),
];

pub(crate) const CLOSE_REASONS: Labels = &[
    (1, "本人撤回", "Withdrawn"),
    (2, "不符合申报条件", "Ineligible"),
    (3, "异议成立", "Objection upheld"),
    (4, "评审未通过", "Rejected by the committee"),
];

pub(crate) const PUBLICITY_STAGES: Labels = &[
    (1, "校内公示", "School publicity"),
    (2, "结果公示", "Result publicity"),
];

pub(crate) const APPLICATION_ACTIONS: Labels = &[
    (1, "申报", "Applied"),
    (2, "开始公示", "Publicity opened"),
    (3, "登记异议", "Objection recorded"),
    (4, "异议处理", "Objection handled"),
    (5, "登记评审结果", "Vote recorded"),
    (6, "确认", "Confirmed"),
    (7, "关闭", "Closed"),
];

pub(crate) const IMPORT_OUTCOMES: Labels = &[
    (1, "新建", "Created"),
    (2, "更新", "Updated"),
    (3, "无变化", "Unchanged"),
    (4, "拒绝", "Rejected"),
];

/// What a change did to a teacher's record (the kinds a teacher's revisions carry).
pub(crate) const CHANGE_KINDS: Labels = &[
    (1, "建档", "Created"),
    (2, "修改信息", "Updated"),
    (3, "颁发证书", "Certificate issued"),
    (4, "补发证书", "Certificate reissued"),
    (5, "定期注册", "Certificate registered"),
    (6, "撤销证书", "Certificate revoked"),
    (7, "职称变更", "Title changed"),
    (8, "职称过渡", "Title transitioned"),
    (9, "调出", "Moved out"),
    (10, "作废", "Voided"),
    (11, "办件", "Case changed"),
    (12, "丧失资格", "Qualification lost"),
    (14, "师德认定", "Ethics finding recorded"),
    (16, "职称申报", "Title application changed"),
    (17, "提出调动", "Transfer proposed"),
    (18, "接收调动", "Transfer accepted"),
    (19, "拒绝调动", "Transfer declined"),
    (20, "身份信息更正申请", "Identity correction changed"),
    (21, "身份信息更正", "Identity corrected"),
    (22, "合并档案", "Merged"),
    (23, "撤销合并", "Unmerged"),
];

pub(crate) const ID_DOCUMENT_TYPES: Labels = &[
    (1, "居民身份证", "Resident ID card"),
    (2, "护照", "Passport"),
    (3, "港澳居民来往内地通行证", "Home Return Permit (HK/Macao)"),
    (
        4,
        "台湾居民来往大陆通行证",
        "Mainland Travel Permit (Taiwan)",
    ),
    (5, "其他证件", "Other document"),
];

/// Why an identity document no longer keys the record.
pub(crate) const FORMER_DOCUMENT_REASONS: Labels = &[
    (1, "经更正替换", "Replaced by a correction"),
    (2, "经修改替换", "Replaced by an update"),
    (3, "并入档案的证件", "Of a merged record"),
];
