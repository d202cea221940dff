//! Duplicate candidates: records that may be one person entered twice, under two
//! documents (a passport, then a resident identity card) or a mistyped number.
//!
//! Two records are compared only when they share a *block*: the same name (current or
//! former, in search form) with the same birth date and sex, or the same name on
//! certificates of the same kind, subject and certification date. A resident identity
//! card carries its holder's birth date and sex, so a card record also blocks under the
//! card's details when the personnel file's differ. Blocks keep the comparison linear:
//! each record meets only the few that share one, never the whole registry.
//!
//! Within a block, [`reasons`] says why the two may be one person, and [`score`] how
//! likely, from fixed weights: an identity card's own details agreeing with another
//! record is the strongest sign, a certificate of the same kind, subject and date next,
//! the same personnel details alone the weakest (namesakes born the same day exist).

use chrono::NaiveDate;

use crate::domain::{name_search_form, Gender, IdDocumentType, Teacher, TeacherId, UnixMicros};

/// A pair of records that may be one person: the lower registry number first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidatePair {
    pub first: TeacherId,
    pub second: TeacherId,
    pub reasons: Vec<DuplicateReason>,
    pub score: u32,
    /// Set once a reviewer marked the two as not the same person: never listed again.
    pub dismissal: Option<Dismissal>,
}

/// A reviewer's word that a pair is two people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dismissal {
    pub by: String,
    pub at: UnixMicros,
    pub note: String,
}

impl CandidatePair {
    /// The pair of `a` and `b` if they may be one person, in registry-number order.
    pub fn of(a: &Teacher, b: &Teacher) -> Option<CandidatePair> {
        let reasons = reasons(a, b);
        if reasons.is_empty() {
            return None;
        }
        let (first, second) = ordered(&a.id, &b.id);
        Some(CandidatePair {
            first,
            second,
            score: score(&reasons),
            reasons,
            dismissal: None,
        })
    }
}

/// Two registry numbers, lower first.
pub fn ordered(a: &TeacherId, b: &TeacherId) -> (TeacherId, TeacherId) {
    match a.as_str() <= b.as_str() {
        true => (a.clone(), b.clone()),
        false => (b.clone(), a.clone()),
    }
}

/// Why two records may be the same person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DuplicateReason {
    /// The same name (or a former name), birth date and gender.
    SamePersonDetails,
    /// One record's resident identity card carries the birth date and sex the other
    /// record (of another document type) gives, under a name both share.
    IdCardDetails,
    /// The same name on certificates of the same kind, subject and certification date.
    SameCertificateHolder,
}

impl DuplicateReason {
    fn weight(self) -> u32 {
        match self {
            DuplicateReason::SamePersonDetails => 60,
            DuplicateReason::IdCardDetails => 80,
            DuplicateReason::SameCertificateHolder => 70,
        }
    }
}

/// A block a record falls in, as bytes: records in one block are compared.
pub fn blocks(teacher: &Teacher) -> Vec<Vec<u8>> {
    let mut blocks = Vec::new();
    let details = person_details(teacher);
    for name in teacher.all_names() {
        let form = name_search_form(name);
        for (birth, gender) in &details {
            let mut block = vec![b'p'];
            block.extend_from_slice(form.as_bytes());
            block.push(1);
            block.extend_from_slice(birth.format("%Y%m%d").to_string().as_bytes());
            block.push(gender_byte(*gender));
            blocks.push(block);
        }
        for certificate in &teacher.certificates {
            let mut block = vec![b'h'];
            block.extend_from_slice(form.as_bytes());
            block.push(1);
            block.push(certificate.kind as u8);
            block.extend_from_slice(
                certificate
                    .certified_on
                    .format("%Y%m%d")
                    .to_string()
                    .as_bytes(),
            );
            block.extend_from_slice(certificate.subject.trim().as_bytes());
            blocks.push(block);
        }
    }
    blocks.sort();
    blocks.dedup();
    blocks
}

/// Why `a` and `b` may be one person (empty: they are not candidates), in order.
pub fn reasons(a: &Teacher, b: &Teacher) -> Vec<DuplicateReason> {
    let mut reasons = Vec::new();
    if a.id == b.id || !share_a_name(a, b) {
        return reasons;
    }
    let file = |t: &Teacher| (t.fields.birth_date, t.fields.gender);
    if file(a) == file(b) {
        reasons.push(DuplicateReason::SamePersonDetails);
    }
    let card_matches = |card: &Teacher, other: &Teacher| {
        card.fields.identity.doc_type() == IdDocumentType::ResidentIdCard
            && other.fields.identity.doc_type() != IdDocumentType::ResidentIdCard
            && card_details(card) == Some(file(other))
    };
    if card_matches(a, b) || card_matches(b, a) {
        reasons.push(DuplicateReason::IdCardDetails);
    }
    let same_certificate = a.certificates.iter().any(|x| {
        b.certificates.iter().any(|y| {
            x.kind == y.kind
                && x.certified_on == y.certified_on
                && x.subject.trim() == y.subject.trim()
        })
    });
    if same_certificate {
        reasons.push(DuplicateReason::SameCertificateHolder);
    }
    reasons
}

/// How likely the pair is one person, 0-100: the chance that not every sign is wrong,
/// each sign taken as independent.
pub fn score(reasons: &[DuplicateReason]) -> u32 {
    let mut wrong = 10_000u32; // in hundredths of a percent
    for reason in reasons {
        wrong = wrong * (100 - reason.weight()) / 100;
    }
    (10_000 - wrong) / 100
}

fn share_a_name(a: &Teacher, b: &Teacher) -> bool {
    let forms: Vec<String> = a.all_names().map(name_search_form).collect();
    b.all_names()
        .map(name_search_form)
        .any(|form| forms.contains(&form))
}

/// The (birth date, sex) pairs a record is known by: its personnel file's, and its
/// resident identity card's when they differ.
fn person_details(teacher: &Teacher) -> Vec<(NaiveDate, Gender)> {
    let mut details = vec![(teacher.fields.birth_date, teacher.fields.gender)];
    if let Some(card) = card_details(teacher) {
        if !details.contains(&card) {
            details.push(card);
        }
    }
    details
}

fn card_details(teacher: &Teacher) -> Option<(NaiveDate, Gender)> {
    Some((
        teacher.fields.identity.birth_date()?,
        teacher.fields.identity.gender()?,
    ))
}

fn gender_byte(gender: Gender) -> u8 {
    match gender {
        Gender::Male => b'm',
        Gender::Female => b'f',
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures;
    use crate::domain::IdentityDocument;
    use rand::SeedableRng;

    fn with(name: &str, doc: IdentityDocument, birth: &str, gender: Gender, seed: u64) -> Teacher {
        let mut t = fixtures::stored_teacher(None, false);
        t.id = TeacherId::generate(&mut rand::rngs::StdRng::seed_from_u64(seed));
        t.fields.name = name.into();
        t.fields.identity = doc;
        t.fields.birth_date = NaiveDate::parse_from_str(birth, "%Y-%m-%d").unwrap();
        t.fields.gender = gender;
        t
    }

    #[test]
    fn a_passport_and_an_identity_card_of_one_person_match() {
        let passport = with(
            "陈静",
            IdentityDocument::from_stored(IdDocumentType::Passport, "E12345678".into()),
            "1949-12-31",
            Gender::Female,
            1,
        );
        // The card says 1949-12-31, female; its personnel file says otherwise.
        let card = with(
            "陈静",
            IdentityDocument::from_stored(
                IdDocumentType::ResidentIdCard,
                "11010519491231002X".into(),
            ),
            "1950-01-01",
            Gender::Female,
            2,
        );
        assert_eq!(reasons(&passport, &card), [DuplicateReason::IdCardDetails]);
        assert!(blocks(&passport).iter().any(|b| blocks(&card).contains(b)));
        assert_eq!(score(&[DuplicateReason::IdCardDetails]), 80);
        assert_eq!(
            score(&[
                DuplicateReason::SamePersonDetails,
                DuplicateReason::IdCardDetails
            ]),
            92
        );

        let stranger = with(
            "陈晶",
            IdentityDocument::from_stored(IdDocumentType::Passport, "E1".into()),
            "1949-12-31",
            Gender::Female,
            3,
        );
        assert!(reasons(&passport, &stranger).is_empty());
    }
}
