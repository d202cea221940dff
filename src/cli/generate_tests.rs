use std::collections::HashSet;

use super::*;
use crate::cli::open_rows;
use crate::domain::{IdDocumentType, IdentityDocument};

fn generated(count: u64, seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    generate(count, seed, &mut out).unwrap();
    out
}

fn teachers(count: u64, seed: u64) -> Vec<pb::Teacher> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("teachers.csv");
    std::fs::write(&path, generated(count, seed)).unwrap();
    open_rows(&path)
        .unwrap()
        .map(|row| {
            let row = row.unwrap();
            row.teacher
                .unwrap_or_else(|problems| panic!("line {}: {problems:?}", row.line))
        })
        .collect()
}

#[test]
fn rows_read_back_and_their_numbers_are_valid_and_unique() {
    let teachers = teachers(1000, 7);
    assert_eq!(teachers.len(), 1000);
    let today = reference_date();
    let mut ids = HashSet::new();
    let mut certificates = HashSet::new();
    for t in &teachers {
        let id = IdentityDocument::parse(IdDocumentType::ResidentIdCard, &t.national_id, today)
            .unwrap_or_else(|e| panic!("{}: {e}", t.national_id));
        assert_eq!(id.birth_date().unwrap().to_string(), t.birth_date);
        let male = t.gender() == pb::Gender::Male;
        assert_eq!(id.gender() == Some(crate::domain::Gender::Male), male);
        assert!(COUNTIES.iter().any(|(code, ..)| *code == t.county_code));
        assert!(
            ids.insert(t.national_id.clone()),
            "repeated {}",
            t.national_id
        );
        let age = today.years_since(id.birth_date().unwrap()).unwrap();
        assert!((22..=60).contains(&age), "age {age}");
        assert_eq!(t.employment_status(), pb::EmploymentStatus::Active);
        for c in &t.certificates {
            let number = crate::domain::parse_certificate_number(&c.certificate_number, today)
                .unwrap_or_else(|e| panic!("{}: {e}", c.certificate_number));
            assert_eq!(&number[4..6], "35");
            assert_eq!(i32::from(number.as_bytes()[9] - b'0'), c.kind);
            assert!(certificates.insert(number.clone()), "repeated {number}");
            assert!(c.certified_on.starts_with(&number[..4]));
            for r in &c.registrations {
                assert!(r.registered_on > c.certified_on);
            }
        }
    }
    let titled = teachers.iter().filter(|t| t.legacy_title != 0).count();
    assert!(
        (600..=800).contains(&titled),
        "{titled} of 1000 with a legacy title"
    );
    let certified = teachers
        .iter()
        .filter(|t| !t.certificates.is_empty())
        .count();
    assert!(
        (420..=580).contains(&certified),
        "{certified} of 1000 certified"
    );
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    assert_eq!(generated(300, 42), generated(300, 42));
    assert_ne!(generated(300, 42), generated(300, 43));
}

#[test]
fn the_header_is_english() {
    let out = generated(0, 1);
    let header: Vec<&str> = column_names().map(|(english, _)| english).collect();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("{}\n", header.join(","))
    );
}

#[test]
fn identities_never_repeat() {
    let (_, days) = birth_dates(reference_date());
    let capacity = COUNTIES.len() as u64 * days * SEQUENCE_PAIRS;
    assert!(capacity >= 10_000_000, "{capacity}");
    let shuffle = Shuffle::new(3, capacity);
    let mut seen = HashSet::new();
    // A sample of indices from across the range of ten million rows.
    for index in (0..10_000_000).step_by(37) {
        let identity = shuffle.apply(index);
        assert!(identity < capacity);
        assert!(seen.insert(identity), "index {index}");
    }
}

#[test]
fn the_shuffle_is_a_permutation() {
    // Cycle walking over a small range visits every value exactly once.
    let shuffle = Shuffle::new(9, 5000);
    let mut values: Vec<u64> = (0..5000).map(|i| shuffle.apply(i)).collect();
    values.sort_unstable();
    assert!(values.iter().copied().eq(0..5000));
}

#[test]
fn too_many_rows_are_refused_before_writing() {
    let mut out = Vec::new();
    let error = generate(u64::MAX, 1, &mut out).unwrap_err();
    assert!(error.to_string().contains("distinct identities"), "{error}");
    assert!(out.is_empty());
}
