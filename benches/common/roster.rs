//! The n-th teacher of a bench run: distinct, valid, and consistent with its identity card.
//! `load` sends them over gRPC and `request_ids` writes them through the store, the same
//! people in both, so that the two benches' figures speak of the same records.

use chrono::{Days, NaiveDate};
use teacher_registry::domain::resident_check_character;

/// County codes of Nanping, Fujian, and the county names used in school names.
pub const COUNTIES: [(&str, &str); 10] = [
    ("350702", "延平区"),
    ("350721", "顺昌县"),
    ("350722", "浦城县"),
    ("350723", "光泽县"),
    ("350724", "松溪县"),
    ("350725", "政和县"),
    ("350781", "邵武市"),
    ("350782", "武夷山市"),
    ("350783", "建瓯市"),
    ("350784", "建阳市"),
];
const SCHOOLS: [&str; 6] = [
    "第一中学",
    "第二中学",
    "第三中学",
    "实验小学",
    "第一小学",
    "第二小学",
];
const SURNAMES: [&str; 12] = [
    "陈", "林", "黄", "张", "李", "王", "吴", "刘", "蔡", "杨", "郑", "许",
];
const GIVEN_NAMES: [&str; 14] = [
    "志明", "秀英", "建华", "丽萍", "伟", "芳", "海燕", "国强", "晓东", "雪梅", "文斌", "玉兰",
    "振宇", "婷",
];
/// Birth dates from 1960-01-01 to 2000-12-31.
const FIRST_BIRTH: NaiveDate = NaiveDate::from_ymd_opt(1960, 1, 1).expect("a date");
const BIRTH_DAYS: u64 = 14_976;
/// Every (county, birth date, sequence) triple once.
pub const CAPACITY: u64 = COUNTIES.len() as u64 * BIRTH_DAYS * 1000;

/// A teacher of the roster, in the words each bench turns into its own request.
pub struct Person {
    pub national_id: String,
    pub name: String,
    pub male: bool,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub county_code: String,
    pub school: String,
    /// On one in three: the legacy title's place in the reform table's order
    /// (`LegacyTitle::ALL`, `api::LEGACY_TITLES`).
    pub legacy_title: Option<usize>,
}

/// Teacher `n`: county `n % 10`; the rest of `n` picks a sequence number and a birth date,
/// the date shifted by the sequence so that small runs still spread over the years. For one
/// sequence number, distinct `n` give distinct dates, so identity card numbers never repeat
/// below [`CAPACITY`].
pub fn person(n: u64) -> Person {
    let (county, county_name) = COUNTIES[(n % COUNTIES.len() as u64) as usize];
    let rest = n / COUNTIES.len() as u64;
    let sequence = rest % 1000;
    let day = (rest / 1000 + sequence * 37) % BIRTH_DAYS;
    let birth = FIRST_BIRTH + Days::new(day);
    let first17 = format!("{county}{}{sequence:03}", birth.format("%Y%m%d"));
    let check = resident_check_character(first17.as_bytes());
    Person {
        national_id: format!("{first17}{check}"),
        name: format!(
            "{}{}",
            SURNAMES[(n % 12) as usize],
            GIVEN_NAMES[(n / 12 % 14) as usize]
        ),
        male: sequence % 2 == 1,
        birth_date: birth.format("%Y-%m-%d").to_string(),
        county_code: county.to_string(),
        school: format!("{county_name}{}", SCHOOLS[(rest % 6) as usize]),
        legacy_title: n.is_multiple_of(3).then_some((n / 3 % 8) as usize),
    }
}
