//! Synthetic teachers of Nanping prefecture, for load tests and demonstrations: CSV with
//! the English header of [`column_names`](super::column_names), readable by
//! [`open_rows`](super::open_rows) and importable as is.
//!
//! Identities never repeat. Row `i` takes identity `shuffle(i)` from the space
//! county × birth date × sequence pair, where `shuffle` is a keyed permutation (a Feistel
//! network, cycle-walked into the space): distinct rows get distinct identities for any
//! count up to the space's size, with no set of used numbers to remember. A sequence pair
//! is an odd (male) and the next even (female) sequence, so the row's gender picks one
//! without ever meeting another row's number. Certificate numbers count up per year and
//! certifying office, so they never repeat either. Everything else is drawn from one
//! seeded generator: the same seed gives the same bytes.

use std::io::Write;

use anyhow::bail;
use chrono::{Datelike, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::column_names;
use super::rows::teacher_cells;
use crate::api::pb;
use crate::domain::resident_check_character;

/// Ages are taken on this day, fixed so a seed always gives the same file.
const REFERENCE_DATE: (i32, u32, u32) = (2026, 1, 1);
const YOUNGEST_AGE: i32 = 22;
const OLDEST_AGE: i32 = 60;
/// Sequence pairs (001, 002) … (997, 998) of a county and birth date.
const SEQUENCE_PAIRS: u64 = 499;
const FIRST_CERTIFICATE_YEAR: i32 = 1996;
const LAST_CERTIFICATE_YEAR: i32 = 2025;
const CERTIFICATE_YEARS: usize = (LAST_CERTIFICATE_YEAR - FIRST_CERTIFICATE_YEAR + 1) as usize;
/// Nanping's counties: code, name, and a few of their towns for school names.
const COUNTIES: [(&str, &str, [&str; 5]); 10] = [
    ("350702", "延平区", ["水南", "大横", "王台", "峡阳", "樟湖"]),
    ("350703", "建阳区", ["潭城", "麻沙", "莒口", "将口", "水吉"]),
    ("350721", "顺昌县", ["双溪", "建西", "洋口", "埔上", "大干"]),
    ("350722", "浦城县", ["南浦", "仙阳", "临江", "石陂", "富岭"]),
    ("350723", "光泽县", ["杭川", "寨里", "止马", "鸾凤", "崇仁"]),
    ("350724", "松溪县", ["松源", "郑墩", "渭田", "河东", "旧县"]),
    ("350725", "政和县", ["熊山", "东平", "石屯", "铁山", "镇前"]),
    (
        "350781",
        "邵武市",
        ["昭阳", "水北", "拿口", "和平", "大埠岗"],
    ),
    (
        "350782",
        "武夷山市",
        ["崇安", "星村", "兴田", "五夫", "吴屯"],
    ),
    ("350783", "建瓯市", ["建安", "瓯宁", "徐墩", "吉阳", "东游"]),
];
/// Common surnames, the most common in Fujian first (drawn with a lean to the front).
const SURNAMES: [&str; 40] = [
    "陈", "林", "黄", "张", "吴", "李", "王", "刘", "杨", "郑", "谢", "叶", "徐", "周", "詹", "江",
    "游", "范", "邱", "朱", "罗", "廖", "余", "何", "胡", "吕", "蔡", "肖", "赖", "魏", "丁", "彭",
    "潘", "翁", "童", "钟", "曾", "严", "熊", "傅",
];
const FEMALE_GIVEN: [&str; 34] = [
    "芳", "娟", "敏", "静", "丽", "艳", "秀", "英", "慧", "玲", "婷", "雪", "琳", "燕", "萍", "红",
    "霞", "莉", "倩", "颖", "洁", "晶", "佳", "欣", "怡", "雯", "梅", "兰", "琴", "云", "凤", "丹",
    "晓", "美",
];
const MALE_GIVEN: [&str; 36] = [
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "辉", "刚", "平", "建", "峰", "鹏",
    "宇", "浩", "鑫", "俊", "文", "志", "国", "波", "亮", "龙", "翔", "林", "华", "荣", "生", "金",
    "德", "成", "福", "清",
];
const NUMERALS: [&str; 8] = ["一", "二", "三", "四", "五", "六", "七", "八"];
const PRIMARY_SUBJECTS: [&str; 9] = [
    "语文",
    "数学",
    "英语",
    "科学",
    "音乐",
    "体育",
    "美术",
    "道德与法治",
    "信息技术",
];
const SECONDARY_SUBJECTS: [&str; 13] = [
    "语文",
    "数学",
    "英语",
    "物理",
    "化学",
    "生物",
    "历史",
    "地理",
    "思想政治",
    "体育",
    "音乐",
    "美术",
    "信息技术",
];
const VOCATIONAL_SUBJECTS: [&str; 6] = [
    "计算机应用",
    "机械加工技术",
    "电子技术应用",
    "会计",
    "旅游服务与管理",
    "汽车运用与维修",
];

/// Writes `count` synthetic teachers as CSV with the English header row. Every row has
/// a valid resident ID number (its birth date and sex digit agree with the row), an
/// active employment status and, for about 70%, a legacy title; about half hold a
/// qualification certificate with a valid number. ID and certificate numbers are unique
/// across the output. Fails when `count` exceeds the identities available (about 71
/// million) or `out` fails.
pub fn generate(count: u64, seed: u64, out: &mut impl Write) -> anyhow::Result<()> {
    let reference = reference_date();
    let (earliest, days) = birth_dates(reference);
    let capacity = COUNTIES.len() as u64 * days * SEQUENCE_PAIRS;
    if count > capacity {
        bail!(
            "cannot generate {count} teachers: only {capacity} distinct identities are available"
        );
    }
    let shuffle = Shuffle::new(seed, capacity);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut certificate_sequences = [[0u32; COUNTIES.len()]; CERTIFICATE_YEARS];
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(column_names().map(|(english, _)| english))?;
    for index in 0..count {
        let identity = shuffle.apply(index);
        let pair = identity % SEQUENCE_PAIRS;
        let day = (identity / SEQUENCE_PAIRS) % days;
        let county = (identity / SEQUENCE_PAIRS / days) as usize;
        let birth = earliest + chrono::Days::new(day);
        let female = rng.gen_bool(0.7);
        let gender = if female {
            pb::Gender::Female
        } else {
            pb::Gender::Male
        };
        let sequence = 2 * pair + if female { 2 } else { 1 };
        let (code, county_name, towns) = COUNTIES[county];
        let first17 = format!("{code}{}{sequence:03}", birth.format("%Y%m%d"));
        let check = resident_check_character(first17.as_bytes());

        let school = School::draw(&mut rng);
        let (legacy_title, limited_scope) = legacy_title(&mut rng, school, birth.year());
        let mut teacher = pb::Teacher {
            id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
            national_id: format!("{first17}{check}"),
            name: name(&mut rng, female),
            gender: gender as i32,
            birth_date: birth.format("%Y-%m-%d").to_string(),
            county_code: code.to_string(),
            school: school.name(&mut rng, county_name, &towns),
            employment_status: pb::EmploymentStatus::Active as i32,
            legacy_title: legacy_title as i32,
            legacy_title_limited_scope: limited_scope,
            ..Default::default()
        };
        if rng.gen_bool(0.5) {
            let kind = school.certificate_kind(&mut rng);
            let mut year = (birth.year() + rng.gen_range(20..=28))
                .clamp(FIRST_CERTIFICATE_YEAR, LAST_CERTIFICATE_YEAR);
            // A full year and office moves on to the next year with room. There are 300
            // years-and-offices of a million numbers each, more than there are identities,
            // so one always has.
            let sequence = loop {
                let slot =
                    &mut certificate_sequences[(year - FIRST_CERTIFICATE_YEAR) as usize][county];
                if *slot < 999_999 {
                    *slot += 1;
                    break *slot;
                }
                year = if year == LAST_CERTIFICATE_YEAR {
                    FIRST_CERTIFICATE_YEAR
                } else {
                    year + 1
                };
            };
            let number = format!(
                "{year}35{}{}{}{sequence:06}",
                &code[3..],
                kind as i32,
                if female { 2 } else { 1 }
            );
            teacher
                .certificates
                .push(certificate(&mut rng, number, kind, year, county_name));
        }
        writer.write_record(teacher_cells(&teacher))?;
    }
    writer.flush()?;
    Ok(())
}

fn reference_date() -> NaiveDate {
    let (year, month, day) = REFERENCE_DATE;
    NaiveDate::from_ymd_opt(year, month, day).expect("a real date")
}

/// The earliest birth date of someone aged at most `OLDEST_AGE` on `reference`, and the
/// number of birth dates up to the latest one of someone aged at least `YOUNGEST_AGE`.
fn birth_dates(reference: NaiveDate) -> (NaiveDate, u64) {
    let years_before = |years: i32| {
        reference
            .with_year(reference.year() - years)
            .expect("the reference date is not 29 February")
    };
    let earliest = years_before(OLDEST_AGE + 1).succ_opt().expect("a date");
    let latest = years_before(YOUNGEST_AGE);
    let days = (latest - earliest).num_days() as u64 + 1;
    (earliest, days)
}

fn name(rng: &mut StdRng, female: bool) -> String {
    // Squaring a uniform draw leans to the front of the list, where the common names are.
    let lean = |rng: &mut StdRng, len: usize| (rng.gen::<f64>().powi(2) * len as f64) as usize;
    let given: &[&str] = if female { &FEMALE_GIVEN } else { &MALE_GIVEN };
    let mut name = SURNAMES[lean(rng, SURNAMES.len())].to_string();
    for _ in 0..if rng.gen_bool(0.25) { 1 } else { 2 } {
        name.push_str(given[rng.gen_range(0..given.len())]);
    }
    name
}

#[derive(Debug, Clone, Copy)]
enum School {
    Kindergarten,
    Primary,
    Secondary,
    Vocational,
}

impl School {
    fn draw(rng: &mut StdRng) -> Self {
        match rng.gen_range(0..100) {
            0..10 => Self::Kindergarten,
            10..55 => Self::Primary,
            55..93 => Self::Secondary,
            _ => Self::Vocational,
        }
    }

    fn name(self, rng: &mut StdRng, county: &str, towns: &[&str]) -> String {
        let town = towns[rng.gen_range(0..towns.len())];
        let numeral = |rng: &mut StdRng, up_to: usize| NUMERALS[rng.gen_range(0..up_to)];
        let variant = rng.gen_range(0..3);
        match (self, variant) {
            (Self::Kindergarten, 0) => format!("{county}实验幼儿园"),
            (Self::Kindergarten, 1) => format!("{county}{town}中心幼儿园"),
            (Self::Kindergarten, _) => format!("{county}第{}幼儿园", numeral(rng, 3)),
            (Self::Primary, 0) => format!("{county}实验小学"),
            (Self::Primary, 1) => format!("{county}{town}中心小学"),
            (Self::Primary, _) => format!("{county}第{}小学", numeral(rng, 6)),
            (Self::Secondary, 0) => format!("{county}{town}中学"),
            (Self::Secondary, _) => format!("{county}第{}中学", numeral(rng, 8)),
            (Self::Vocational, _) => format!("{county}职业中专学校"),
        }
    }

    fn certificate_kind(self, rng: &mut StdRng) -> pb::CertificateKind {
        use pb::CertificateKind as Kind;
        let draw = rng.gen_range(0..100);
        match self {
            Self::Kindergarten => Kind::Kindergarten,
            Self::Primary if draw < 90 => Kind::PrimarySchool,
            Self::Primary => Kind::JuniorSecondary,
            Self::Secondary if draw < 55 => Kind::JuniorSecondary,
            Self::Secondary if draw < 98 => Kind::SeniorSecondary,
            Self::Secondary => Kind::HigherEducation,
            Self::Vocational if draw < 80 => Kind::SecondaryVocational,
            Self::Vocational => Kind::SecondaryVocationalInternshipInstructor,
        }
    }

    fn subjects(self) -> &'static [&'static str] {
        match self {
            Self::Kindergarten => &["幼儿园"],
            Self::Primary => &PRIMARY_SUBJECTS,
            Self::Secondary => &SECONDARY_SUBJECTS,
            Self::Vocational => &VOCATIONAL_SUBJECTS,
        }
    }
}

/// Legacy titles were held before the 2015 reform: none for those born after 1993, and
/// higher ones for older teachers; kindergartens used the primary series, vocational
/// schools the secondary one. About 70% of all rows get one, 5% of those limited in scope.
fn legacy_title(rng: &mut StdRng, school: School, born: i32) -> (pb::LegacyTitle, bool) {
    use pb::LegacyTitle as Title;
    // Weights of (senior, first, second, third) out of 100; the rest have none.
    let weights: [u32; 4] = match born {
        ..=1975 => [45, 40, 10, 0],
        1976..=1985 => [15, 50, 28, 2],
        1986..=1993 => [0, 15, 55, 20],
        _ => return (Title::Unspecified, false),
    };
    let series = match school {
        School::Kindergarten | School::Primary => [
            Title::PrimarySenior,
            Title::PrimaryFirst,
            Title::PrimarySecond,
            Title::PrimaryThird,
        ],
        School::Secondary | School::Vocational => [
            Title::SecondarySenior,
            Title::SecondaryFirst,
            Title::SecondarySecond,
            Title::SecondaryThird,
        ],
    };
    let mut draw = rng.gen_range(0..100);
    for (title, weight) in series.into_iter().zip(weights) {
        if draw < weight {
            return (title, rng.gen_bool(0.05));
        }
        draw -= weight;
    }
    (Title::Unspecified, false)
}

fn certificate(
    rng: &mut StdRng,
    number: String,
    kind: pb::CertificateKind,
    year: i32,
    county_name: &str,
) -> pb::Certificate {
    use pb::CertificateKind as Kind;
    let school = match kind {
        Kind::Kindergarten => School::Kindergarten,
        Kind::PrimarySchool => School::Primary,
        Kind::SecondaryVocational | Kind::SecondaryVocationalInternshipInstructor => {
            School::Vocational
        }
        _ => School::Secondary,
    };
    let subjects = school.subjects();
    let issuing_authority = match kind {
        Kind::Kindergarten | Kind::PrimarySchool | Kind::JuniorSecondary => {
            format!("{county_name}教育局")
        }
        Kind::HigherEducation => "福建省教育厅".to_string(),
        _ => "南平市教育局".to_string(),
    };
    let date = |rng: &mut StdRng, year: i32| {
        format!(
            "{year}-{:02}-{:02}",
            rng.gen_range(1..=12),
            rng.gen_range(1..=28)
        )
    };
    let certified_on = date(rng, year);
    let mut registrations = Vec::new();
    // Periodic registration began in 2016; most certified teachers have registered since.
    let first_registration = (year + 1).max(2016);
    if first_registration <= LAST_CERTIFICATE_YEAR && rng.gen_bool(0.7) {
        let registered = rng.gen_range(first_registration..=LAST_CERTIFICATE_YEAR);
        registrations.push(pb::CertificateRegistration {
            registered_on: date(rng, registered),
            expires_on: String::new(),
        });
    }
    pb::Certificate {
        certificate_number: number,
        kind: kind as i32,
        subject: subjects[rng.gen_range(0..subjects.len())].to_string(),
        issuing_authority,
        certified_on,
        registrations,
        ..Default::default()
    }
}

/// A keyed permutation of `0..len`: a balanced Feistel network on the fewest even
/// number of bits that covers `len`, applied again until the value falls inside `0..len`
/// (cycle walking keeps it a permutation, and takes under four rounds on average).
struct Shuffle {
    keys: [u64; 4],
    half_bits: u32,
    len: u64,
}

impl Shuffle {
    fn new(seed: u64, len: u64) -> Self {
        let bits = (u64::BITS - len.saturating_sub(1).leading_zeros()).max(2);
        let mut state = seed;
        let keys = std::array::from_fn(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            mix(state)
        });
        Self {
            keys,
            half_bits: bits.div_ceil(2),
            len,
        }
    }

    fn apply(&self, index: u64) -> u64 {
        debug_assert!(index < self.len);
        let mask = (1 << self.half_bits) - 1;
        let mut value = index;
        loop {
            let (mut left, mut right) = (value >> self.half_bits, value & mask);
            for key in self.keys {
                (left, right) = (right, left ^ (mix(right ^ key) & mask));
            }
            value = (left << self.half_bits) | right;
            if value < self.len {
                return value;
            }
        }
    }
}

/// The SplitMix64 finaliser: a good 64-bit mixing function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
